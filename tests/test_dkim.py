"""DKIM signing of everything the site sends (README "DKIM, ARC and one-click
unsubscribe"): every file in the export spool verifies with dkimpy against the key a
real DNS server publishes; the key is a secret; check and dkim-keygen."""

import datetime
import os
import re
import shutil

import dkim
import pytest

from conftest import BASE_INI, NEWS_LIST, mail
from dnsserver import DnsServer
from tristero.core import nameservers
from tristero.model import signing

SELECTOR = "s2026"
NAME = "%s._domainkey.example.org" % SELECTOR


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    """One 2048-bit key for the module (openssl genrsa takes a while)."""
    path = str(tmp_path_factory.mktemp("keys") / "rsa.key")
    signing.generate(path)
    return path


def public_record(path):
    with open(path, "rb") as f:
        return signing.Signer("example.org", SELECTOR, f.read(), "rsa-sha256",
                              datetime.datetime(2026, 1, 1).astimezone()).public_record()


def dkim_site(site, key, dns, members=("carol@example.com", "dave@example.net"), extra="", dkim_extra=""):
    shutil.copy(key, site.path("dkim.key"))
    os.chmod(site.path("dkim.key"), 0o600)
    site.write_ini(BASE_INI + "Nameservers = %s\n" % dns.setting + extra + "\n" + NEWS_LIST
                   + "\n[DKIM]\nSelector = %s\nKeyFile = dkim.key\n" % SELECTOR + dkim_extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join((m if "=" in m else m + " =") + "\n" for m in members))


def lookup(dns):
    """dkimpy's dnsfunc, through the site's own resolver code and the test's DNS server."""
    resolver = nameservers.resolver(dns.setting)

    def txt(name, timeout=5):
        found = nameservers.txt(resolver, name.decode().rstrip("."))
        return found[0].encode() if found else None
    return txt


def wire(b):
    """The message as the mail server sends it from a BSMTP file: CR LF lines."""
    return b.data.replace(b"\n", b"\r\n")


@pytest.fixture
def dns(rsa_key):
    server = DnsServer({NAME: [public_record(rsa_key)]}).start()
    yield server
    server.stop()


def test_every_outbound_file_verifies_against_the_published_key(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    site.drop(mail(to="news@example.org", subject="Meeting", body="See you at noon.  \n\n.dot line\n\n\n"))
    site.drop(mail(frm="zed@example.net", to="tristero@example.org", subject="", body="help\n"))
    site.drop(mail(frm="yan@example.net", to="tristero@example.org", subject="", body="subscribe news Yan\n"))
    site.run()
    files = site.outbound()
    assert len(files) >= 3
    for b in files:
        assert b.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;")
        assert dkim.verify(wire(b), dnsfunc=lookup(dns)), b.data[:600]
        assert dkim.verify(b.data, dnsfunc=lookup(dns))


def test_a_field_changed_after_signing_fails_verification(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    site.drop(mail(to="news@example.org", subject="Meeting", body="See you at noon.\n"))
    site.run()
    b = site.outbound()[0]
    assert dkim.verify(wire(b), dnsfunc=lookup(dns))
    for before, after in ((b"Subject: Meeting", b"Subject: Meeting moved"),
                          (b"See you at noon.", b"See you at one."),
                          (b"List-Id: ", b"List-Id: Other ")):
        assert before in b.data
        assert not dkim.verify(wire(b).replace(before, after, 1), dnsfunc=lookup(dns))
    # A second From added above the signed one: From is signed once more than it occurs.
    assert not dkim.verify(b"From: mallory@example.net\r\n" + wire(b), dnsfunc=lookup(dns))


def test_the_signed_fields_are_those_present_and_the_time_is_the_runs(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
    site.run(now="2026-11-21T10:00:00+00:00")
    field = site.outbound()[0].data.decode().split("DKIM-Signature:", 1)[1].split("b=", 2)[0]
    sig = re.sub(r"\s+", "", field)
    h = re.search(r";h=([^;]*);", sig).group(1).split(":")
    # Each field present signed once more than it occurs; those absent that no server adds
    # signed as absent (once), so none can be added.
    present = ["date", "from", "list-id", "list-unsubscribe", "message-id", "subject", "to"]
    absent = ["cc", "content-transfer-encoding", "content-type", "in-reply-to", "list-unsubscribe-post",
              "mime-version", "references", "reply-to"]
    assert sorted(set(h)) == sorted(present + absent)
    assert all(h.count(n) == 2 for n in present) and all(h.count(n) == 1 for n in absent), h
    assert ";t=%d;" % datetime.datetime(2026, 11, 21, 10, tzinfo=datetime.timezone.utc).timestamp() in sig


def test_a_post_in_several_envelopes_is_signed_once(site, rsa_key, dns):
    members = ["m%d@example.com" % i for i in range(7)]
    dkim_site(site, rsa_key, dns, members=members)      # MaxRecipients = 3: three envelopes
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
    site.run()
    posts = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert len(posts) == 3
    assert len({b.data for b in posts}) == 1
    assert all(dkim.verify(wire(b), dnsfunc=lookup(dns)) for b in posts)


def test_same_input_and_now_give_byte_identical_signed_files(tmp_path, rsa_key, dns):
    from conftest import TestSite
    outs = []
    for n in (1, 2):
        s = TestSite(tmp_path / ("s%d" % n))
        os.makedirs(s.home)
        dkim_site(s, rsa_key, dns)
        s.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
        s.run()
        outs.append([b.data for b in s.outbound()])
    assert outs[0] == outs[1]


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_a_key_file_others_may_read_is_refused_by_run_and_by_check(site, rsa_key, dns, mode):
    dkim_site(site, rsa_key, dns)
    os.chmod(site.path("dkim.key"), mode)
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
    with open(rsa_key, "rb") as f:
        secret = f.read().decode().splitlines()[1]
    for command in (("run",), ("check",)):
        p = site.tristero(*command, check=False)
        err = p.stderr.decode()
        assert p.returncode == 78, err
        assert "readable by others" in err and "chmod 600" in err
        assert secret not in err + p.stdout.decode()
    assert site.listdir("spool", "out", "new") == []
    assert len(site.listdir("spool", "in", "new")) == 1     # nothing lost: the next run sends it
    os.chmod(site.path("dkim.key"), 0o600)
    site.run()
    assert site.outbound()
    assert secret not in site.log()


def test_a_missing_or_broken_key_stops_the_run_with_a_clear_error(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    with open(site.path("dkim.key"), "w") as f:
        f.write("not a key\n")
    p = site.tristero("run", check=False)
    assert p.returncode == 78 and "[DKIM]" in p.stderr.decode() and "not an RSA private key" in p.stderr.decode()
    os.remove(site.path("dkim.key"))
    p = site.tristero("check", check=False)
    assert p.returncode == 78 and "cannot be read" in p.stderr.decode()


def test_check_says_whether_dns_publishes_the_key(site, rsa_key, dns, tmp_path):
    dkim_site(site, rsa_key, dns)
    p = site.tristero("check")
    assert "the DKIM record at %s matches the key" % NAME in p.stdout.decode()

    other = str(tmp_path / "other.key")
    signing.generate(other)
    dns.records[NAME] = [public_record(other)]
    p = site.tristero("check")
    err = p.stderr.decode()
    assert "is a different key" in err and public_record(rsa_key) in err and "matches" not in p.stdout.decode()

    del dns.records[NAME]
    p = site.tristero("check")
    assert "no DKIM record is published at %s" % NAME in p.stderr.decode()

    dns.fail.add(NAME)
    p = site.tristero("check")
    assert "could not be looked up" in p.stderr.decode()


def test_dkim_keygen_writes_an_owner_only_key_and_prints_the_record(site, dns):
    p = site.tristero("dkim-keygen")
    out = p.stdout.decode()
    path = site.path("dkim.key")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert public_record(path) in out
    assert "SELECTOR._domainkey.example.org" in out and "KeyFile = dkim.key" in out
    with open(path, "rb") as f:
        assert f.read().decode().splitlines()[1] not in out
    # Never over an existing key.
    before = os.stat(path).st_mtime_ns
    p = site.tristero("dkim-keygen", check=False)
    assert p.returncode == 78 and "never overwritten" in p.stderr.decode()
    assert os.stat(path).st_mtime_ns == before


def test_keygen_record_verifies_with_dkimpy_end_to_end(site):
    """dkim-keygen's key and record, published as printed, verify a signed post."""
    p = site.tristero("dkim-keygen")
    record = re.search(r"^(v=DKIM1;.*)$", p.stdout.decode(), re.M).group(1)
    with DnsServer({NAME: [record]}) as server:
        dkim_site_from_home(site, server)
        site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
        site.run()
        for b in site.outbound():
            assert dkim.verify(wire(b), dnsfunc=lookup(server))


def dkim_site_from_home(site, dns):
    site.write_ini(BASE_INI + "Nameservers = %s\n\n" % dns.setting + NEWS_LIST
                   + "\n[DKIM]\nSelector = %s\nKeyFile = dkim.key\n" % SELECTOR)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")


def test_without_dkim_nothing_is_signed(site):
    site.write_ini(BASE_INI + "\n" + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
    site.run()
    assert site.outbound() and not any(b"DKIM-Signature" in b.data for b in site.outbound())


# --- ARC (RFC 8617) --------------------------------------------------------------------

def need(module):
    """dkimpy's extras (ARC: authres; ed25519: PyNaCl): skip without them, unless the
    environment requires everything (TRISTERO_REQUIRE_SERVERS=1, as CI sets it)."""
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("TRISTERO_REQUIRE_SERVERS") == "1":
            pytest.fail("%s is not installed (pip install 'dkimpy[ARC,ed25519]')" % module)
        pytest.skip("%s is not installed (pip install 'dkimpy[ARC,ed25519]')" % module)


OURS = ("Authentication-Results: mx.example.org; dkim=pass header.d=example.net;\n"
        " spf=pass smtp.mailfrom=example.net; dmarc=pass header.from=example.net\n"
        "Received: from mail.example.net by mx.example.org; Sat, 21 Nov 2026 09:00:01 +0000\n")
FORGED = "Authentication-Results: mx.example.org; dmarc=pass header.from=bank.example\n"
OTHER = "Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=example.net\n"


def arc_post(site, top=OURS):
    site.drop(top + mail(to="news@example.org", subject="Meeting", body="See you at noon.\n",
                         headers=FORGED + OTHER))
    site.run()
    return [b for b in site.outbound() if b.sender == "owner-news@example.org"]


def test_a_post_the_mta_authenticated_is_sealed_with_arc_and_forged_results_removed(site, rsa_key, dns):
    need("authres")
    dkim_site(site, rsa_key, dns, extra="", dkim_extra="")
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[Security]\nTrustedAuthservIds = mx.example.org\n")
    posts = arc_post(site)
    assert posts
    for b in posts:
        cv, results, why = dkim.arc_verify(wire(b), dnsfunc=lookup(dns))
        assert cv == b"pass", why
        assert b"dmarc=pass header.from=example.net" in results[0]["aar-value"]
        assert dkim.verify(wire(b), dnsfunc=lookup(dns))
        assert b"bank.example" not in b.data                     # the forged field is gone
        assert OTHER.strip().encode() in b.data                  # another authserv-id's: kept, not believed
        assert b.data.count(b"Authentication-Results: mx.example.org") == 1
    assert "1 Authentication-Results field(s) removed" in site.log()


def test_forged_results_alone_are_removed_and_nothing_is_sealed(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[Security]\nTrustedAuthservIds = mx.example.org\n")
    # The attacker's field on top, but below the site's server's Received field.
    posts = arc_post(site, top="Received: from evil.example by mx.example.org; Sat, 21 Nov 2026 09:00:01 +0000\n"
                               + FORGED.replace("bank", "top"))
    for b in posts:
        assert b"ARC-" not in b.data
        assert b"bank.example" not in b.data and b"top.example" not in b.data
        assert dkim.verify(wire(b), dnsfunc=lookup(dns))


def test_without_trusted_authserv_ids_nothing_is_removed_or_sealed(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    for b in arc_post(site):
        assert b"ARC-" not in b.data and b"bank.example" in b.data


# --- ed25519 (RFC 8463) ----------------------------------------------------------------

def test_ed25519_keygen_signs_and_verifies(site):
    need("nacl")
    p = site.tristero("dkim-keygen", "--algorithm", "ed25519-sha256")
    record = re.search(r"^(v=DKIM1; k=ed25519;.*)$", p.stdout.decode(), re.M).group(1)
    assert "Algorithm = ed25519-sha256" in p.stdout.decode()
    assert os.stat(site.path("dkim.key")).st_mode & 0o777 == 0o600
    with DnsServer({NAME: [record]}) as server:
        dkim_site_from_home(site, server)
        with open(site.path("tristero.ini"), "a") as f:
            f.write("Algorithm = ed25519-sha256\n")
        site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
        site.drop(mail(frm="zed@example.net", to="tristero@example.org", subject="", body="help\n"))
        site.run()
        files = site.outbound()
        assert len(files) >= 2
        for b in files:
            assert b.data.startswith(b"DKIM-Signature: v=1; a=ed25519-sha256;")
            assert dkim.verify(wire(b), dnsfunc=lookup(server))
            assert not dkim.verify(wire(b).replace(b"Subject: ", b"Subject: Re: ", 1), dnsfunc=lookup(server))
        assert "matches the key" in site.tristero("check").stdout.decode()


# --- one-click unsubscribe (RFC 8058) --------------------------------------------------

URL = "https://lists.example.org/unsubscribe"


def test_each_recipient_gets_a_signed_one_click_link_of_their_own(site, rsa_key, dns):
    from tristero.model import cookies, oneclick
    from tristero.model.site import Site
    members = ["carol@example.com", "dave@example.net", "frank+lists@example.com", "gus@example.org"]
    dkim_site(site, rsa_key, dns, members=members, extra="UnsubscribeURL = %s\n" % URL)
    site.drop(mail(to="news@example.org", subject="Meeting", body="See you at noon.\n"))
    site.run()
    posts = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert sorted(r for b in posts for r in b.recipients) == sorted(members)      # one envelope each
    key = cookies.key(Site(site.home))
    today = datetime.date(2026, 11, 21)
    queries = {}
    for b in posts:
        [rcpt] = b.recipients
        assert dkim.verify(wire(b), dnsfunc=lookup(dns))
        h = re.search(rb"h=([^;]*);", b.data).group(1).replace(b"\n", b"").replace(b" ", b"").split(b":")
        assert b"list-unsubscribe" in h and b"list-unsubscribe-post" in h
        assert b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in b.data
        unfolded = b.data.replace(b"\n ", b" ")
        field = re.search(rb"\nList-Unsubscribe: <([^>]*)>, <mailto:news-request@example.org\?subject=unsubscribe>\n",
                          unfolded).group(1).decode()
        assert field.startswith(URL + "?list=news&address=")
        queries[rcpt] = field.split("?", 1)[1]
        # The link may not be changed to name someone else: the signature breaks.
        other = wire(b).replace(field.encode(), field.replace("list=news", "list=newz").encode())
        assert not dkim.verify(other, dnsfunc=lookup(dns))
    assert len(set(queries.values())) == len(members)
    for rcpt, query in queries.items():
        assert oneclick.check(key, query, today) == ("news", rcpt)
        for someone in members:
            if someone != rcpt:
                forged = query.replace(quote_address(rcpt), quote_address(someone))
                assert oneclick.check(key, forged, today) is None


def quote_address(address):
    from urllib.parse import quote_plus
    return quote_plus(address)


def test_without_an_unsubscribe_url_only_mailto_and_no_post_field(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns, members=["carol@example.com", "dave@example.net"])
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n"))
    site.run()
    [b] = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert sorted(b.recipients) == ["carol@example.com", "dave@example.net"]     # one shared envelope
    assert b"\nList-Unsubscribe: <mailto:news-request@example.org?subject=unsubscribe>\n" in b.data
    assert b"List-Unsubscribe-Post" not in b.data
    assert dkim.verify(wire(b), dnsfunc=lookup(dns))


def test_a_digest_gets_the_mailto_form_only_and_is_signed(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns, members=["daily@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19",
                                           "weekly@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"],
              extra="UnsubscribeURL = %s\n" % URL)
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "20261120.txt"), "wb") as f:
        f.write(b"From a@example.net Fri Nov 20 10:00:00 2026\nFrom: a@example.net\nSubject: One\n"
                b"Message-ID: <1@example.net>\nDate: Fri, 20 Nov 2026 10:00:00 +0000\n\nx\n\n")
    site.run(now="2026-11-21T02:00:00")
    digests = [b for b in site.outbound() if b"Subject: news digest" in b.data]
    assert digests and sorted(r for b in digests for r in b.recipients) == ["daily@example.com",
                                                                           "weekly@example.com"]
    for b in digests:
        assert b"\nList-Unsubscribe: <mailto:news-request@example.org?subject=unsubscribe>\n" in b.data
        assert b"List-Unsubscribe-Post" not in b.data and b"token=" not in b.data
        assert dkim.verify(wire(b), dnsfunc=lookup(dns))


def test_a_post_with_lines_that_are_no_field_is_sent_signed_without_them(site, rsa_key, dns):
    dkim_site(site, rsa_key, dns)
    site.drop(mail(to="news@example.org", subject="Meeting", body="x\n",
                   headers="X Bad Name: y\n\x01Odd: z\nX-Fine:\n continued\n"))
    site.run()
    posts = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert posts and site.listdir("spool", "failed", "new") == []
    for b in posts:
        assert dkim.verify(wire(b), dnsfunc=lookup(dns))
        assert b"X Bad Name" not in b.data and b"Odd: z" not in b.data and b"X-Fine:\n continued\n" in b.data


def test_a_reply_to_cc_or_content_type_added_or_changed_after_signing_fails(site, rsa_key, dns):
    """The attack: a signed post replayed with a Reply-To or Cc added (replies go to
    the attacker), or its Content-Type changed or added (a text post shown as HTML),
    the list's DKIM signature still passing. Fields that change what a reader sees or
    where a reply goes are signed, and those absent signed as absent."""
    dkim_site(site, rsa_key, dns)
    site.drop(mail(to="news@example.org", subject="Plain", body="<a href=x>click</a>\n"))
    site.drop(mail(to="news@example.org", subject="Typed", body="Hello.\n",
                   headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
                           "Content-Transfer-Encoding: 7bit\n"))
    site.run()
    posts = [wire(b) for b in site.outbound() if b.sender == "owner-news@example.org"]
    [plain] = [p for p in posts if b"Plain" in p]
    [typed] = [p for p in posts if b"Typed" in p]
    assert dkim.verify(plain, dnsfunc=lookup(dns)) and dkim.verify(typed, dnsfunc=lookup(dns))
    for added in (b"Reply-To: mallory@example.net\r\n", b"Cc: mallory@example.net\r\n",
                  b"Content-Type: text/html\r\n", b"MIME-Version: 1.0\r\n",
                  b"In-Reply-To: <x@example.net>\r\n", b"References: <x@example.net>\r\n"):
        assert not dkim.verify(added + plain, dnsfunc=lookup(dns)), added
    for before, after in ((b"Content-Type: text/plain; charset=us-ascii", b"Content-Type: text/html"),
                          (b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: base64")):
        assert before in typed
        assert not dkim.verify(typed.replace(before, after, 1), dnsfunc=lookup(dns)), before
    assert not dkim.verify(b"Content-Type: text/html\r\n" + typed, dnsfunc=lookup(dns))


def test_a_forged_result_our_reader_cannot_read_is_removed_not_sealed_into_arc(site, rsa_key, dns):
    """The attack: below the server's Received field, a field claiming the server's
    authserv-id behind a comment and off RFC 8601's grammar ("action=none" is no
    ptype.property), which dkimpy's ARC signer still reads as the server's: it must be
    removed, not sealed into the list's ARC-Authentication-Results as a DMARC pass."""
    need("authres")
    dkim_site(site, rsa_key, dns)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[Security]\nTrustedAuthservIds = mx.example.org\n")
    forged = ("Authentication-Results: (x) mx.example.org; dmarc=pass action=none header.from=bank.example\n"
              "Authentication-Results: (a;b) mx.example.org; dkim=pass header.d=bank.example;\n")
    site.drop(OURS + mail(to="news@example.org", subject="Meeting", body="See you at noon.\n", headers=forged))
    site.run()
    posts = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert posts
    for b in posts:
        cv, results, why = dkim.arc_verify(wire(b), dnsfunc=lookup(dns))
        assert cv == b"pass", why
        assert b"bank.example" not in results[0]["aar-value"]
        assert b"bank.example" not in b.data
    assert "2 Authentication-Results field(s) removed" in site.log()


def test_config_attach_never_mails_the_dkim_key(site, rsa_key, dns):
    """The attack: a mail From the SuperUser (a From anyone can write) asking CONFIG
    ATTACH for the DKIM private key, by its name or its absolute path: only tristero.key
    was the site's secret, so the key went out in the reply. It is a secret too, under
    whatever name KeyFile gives it."""
    dkim_site(site, rsa_key, dns)
    with open(rsa_key, "rb") as f:
        secret = f.read().split(b"\n")[1]
    site.drop(mail(frm="boss@example.org", body="config attach dkim.key\nconfig attach ./dkim.key\n"
                                                "config attach %s\n" % site.path("dkim.key")))
    site.run()
    [answer] = site.messages_to("boss@example.org")
    assert answer.get_content().count("REFUSED: ") == 3, answer.get_content()
    assert answer.get_content().count("dkim.key is the site's secret and is never sent by mail") == 2
    assert not any(secret in b.data for b in site.outbound())
    # Under another name, KeyFile's.
    os.rename(site.path("dkim.key"), site.path("signing.pem"))
    with open(site.path("tristero.ini")) as f:
        ini = f.read().replace("KeyFile = dkim.key", "KeyFile = signing.pem")
    site.write_ini(ini)
    site.drop(mail(frm="boss@example.org", subject="again", body="config attach signing.pem\n"))
    site.run()
    assert not any(secret in b.data for b in site.outbound())
    assert any("signing.pem is the site's secret" in m.get_content() for m in site.messages_to("boss@example.org"))
