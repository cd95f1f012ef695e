"""The site's DNS look-ups (core/nameservers) against a real DNS server on loopback."""

import os

import pytest

from conftest import NEWS_LIST, mail
from dnsserver import DnsServer
from tristero.core import nameservers


def test_txt_answers_records_absence_and_failure():
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 400          # more than one 255-octet string
    with DnsServer({"_dmarc.example.com": ["v=DMARC1; p=reject"], "k._domainkey.example.com": [long_value]}) as srv:
        srv.fail.add("broken.example.com")
        srv.silent.add("silent.example.com")
        r = nameservers.resolver(srv.setting, timeout=1)
        assert nameservers.txt(r, "_dmarc.example.com") == ["v=DMARC1; p=reject"]
        assert nameservers.txt(r, "K._DOMAINKEY.example.com") == [long_value]
        assert nameservers.txt(r, "_dmarc.nowhere.example") == []
        for name in ("broken.example.com", "silent.example.com"):
            with pytest.raises(nameservers.LookupFailed):
                nameservers.txt(r, name)


@pytest.mark.parametrize("setting, servers", [
    ("127.0.0.1", [("127.0.0.1", 53)]),
    ("127.0.0.1:5353, 10.0.0.1", [("127.0.0.1", 5353), ("10.0.0.1", 53)]),
    ("[::1]:5300", [("::1", 5300)]),
])
def test_parse(setting, servers):
    assert nameservers.parse(setting) == servers


@pytest.mark.parametrize("bad", ["127.0.0.1:0", "host:99999", ":53", "127.0.0.1:x"])
def test_parse_refuses(bad):
    with pytest.raises(ValueError):
        nameservers.parse(bad)


@pytest.mark.subprocess
def test_a_run_in_a_process_of_its_own_asks_the_tests_loopback_dns_not_the_worlds(site, quiet_dns):
    # A post from example.com makes the run ask for its DMARC policy (the posting step
    # dmarc): without [Globals] Nameservers, a process of its own asks quiet_dns.
    site.write_ini(site_ini(site) + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\ndave@example.net =\n")
    before = quiet_dns.asked["_dmarc.example.com"]
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Hi", body="hello\n"))
    site.run()
    assert quiet_dns.asked["_dmarc.example.com"] > before


def site_ini(site):
    with open(site.path("tristero.ini")) as f:
        return f.read() + "\n"
