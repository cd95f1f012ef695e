"""DMARC-safe posting (README "DMARC"): the author domain's policy, looked up on a real
DNS server on loopback, and what each DmarcMitigation makes of a post."""

import email
import os

import pytest

from conftest import BASE_INI, NEWS_LIST, mail
from dnsserver import DnsServer

RECORDS = {
    "_dmarc.reject.example": ["v=DMARC1; p=reject"],
    "_dmarc.quarantine.example": ["v=DMARC1; p=quarantine; rua=mailto:d@quarantine.example"],
    "_dmarc.relaxed.example": ["v=DMARC1; p=none"],
    # The organisational domain's record: p for itself, sp for the domains below it.
    "_dmarc.org.example": ["v=DMARC1; p=none; sp=reject"],
    "_dmarc.parent.example": ["v=DMARC1; p=quarantine"],
    # The tree walk (DMARCbis): a record between the author domain and its organisational domain.
    "_dmarc.b.walk.example": ["v=DMARC1; p=reject"],
    "_dmarc.walk.example": ["v=DMARC1; p=none"],
    # A public suffix's own policy counts only when it says psd=y.
    "_dmarc.gov.uk": ["v=DMARC1; p=reject; psd=y"],
    "_dmarc.uk": ["v=DMARC1; p=reject"],
    # Two records at one name: none (RFC 7489).
    "_dmarc.twice.example": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
    # Not a DMARC record.
    "_dmarc.spf.example": ["v=spf1 -all"],
}
MEMBERS = ["carol@example.com", "dave@example.net"]


@pytest.fixture
def dns():
    with DnsServer(RECORDS) as server:
        server.fail.add("_dmarc.broken.example")
        yield server


def build(site, dns, options="", globals_=""):
    site.write_ini(BASE_INI + "Nameservers = %s\n" % dns.setting + globals_ + "\n" + NEWS_LIST + options)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join(m + " =\n" for m in MEMBERS))


def post(site, frm, subject="Meeting", body="See you at noon.\n", headers=""):
    site.drop(mail(frm=frm, to="news@example.org", subject=subject, body=body, headers=headers))


def received(site):
    """The posts carol@example.com received, in order."""
    return [m for m in site.messages_to("carol@example.com") if "news" in str(m["List-Id"])]


def one(site, frm, **kw):
    post(site, frm, **kw)
    site.run()
    [copy] = received(site)
    return copy


LIST_FROM = "news@example.org"


def author_of(copy):
    """(name, address) of the RFC 9057 Author field (the email package reads it as text)."""
    [found] = email.utils.getaddresses([str(copy["Author"])])
    return found


# --- the policy --------------------------------------------------------------------

@pytest.mark.parametrize("author, munged", [
    ("Alice <alice@reject.example>", True),
    ("alice@quarantine.example", True),
    ("alice@relaxed.example", False),              # p=none
    ("alice@nowhere.example", False),              # no record at all
    ("alice@org.example", False),                  # the organisational domain's own p=none
    ("alice@mail.org.example", True),              # a subdomain takes its sp=reject
    ("alice@a.b.parent.example", True),            # the organisational domain's p, no sp
    ("alice@a.b.walk.example", True),              # the tree walk finds b.walk.example first
    ("alice@dept.gov.uk", True),                   # a public suffix's psd=y record
    ("alice@shop.co.uk", False),                   # _dmarc.uk says no psd=y: not counted
    ("alice@twice.example", False),                # two records: none
    ("alice@spf.example", False),                  # not a DMARC record
    ("alice@broken.example", True),                # SERVFAIL counts as strict
])
def test_the_author_domains_policy_decides_whether_from_is_munged(site, dns, author, munged):
    build(site, dns)
    copy = one(site, author)
    address = email.utils.parseaddr(author)[1]
    if munged:
        assert copy["From"].addresses[0].addr_spec == LIST_FROM
        assert author_of(copy)[1] == address
    else:
        assert copy["From"].addresses[0].addr_spec == address
        assert "Author" not in copy


def test_the_log_names_the_record_that_decided(site, dns):
    build(site, dns, globals_="LogLevel = 2\n")
    post(site, "alice@mail.org.example")
    post(site, "bob@broken.example")
    site.run()
    log = site.log()
    assert "DMARC policy of mail.org.example: reject (sp=reject of _dmarc.org.example)" in log
    assert "DMARC policy of broken.example: reject (no answer (_dmarc.broken.example" in log


def test_each_name_is_asked_once_per_run(site, dns):
    build(site, dns)
    for n in range(5):
        post(site, "alice%d@reject.example" % n, subject="Meeting %d" % n)
        post(site, "bob%d@mail.org.example" % n, subject="Lunch %d" % n)
    site.run()
    assert len(received(site)) == 10
    assert dns.asked["_dmarc.reject.example"] == 1
    assert dns.asked["_dmarc.mail.org.example"] == 1
    assert dns.asked["_dmarc.org.example"] == 1
    # A new run asks again (the cache is the run's).
    post(site, "carl@reject.example", subject="Again")
    site.run(now="2026-11-21T11:00:00")
    assert dns.asked["_dmarc.reject.example"] == 2


# --- munge -----------------------------------------------------------------------

def test_munge_with_reply_poster_puts_the_author_in_reply_to(site, dns):
    build(site, dns)
    copy = one(site, "Alice Liddell <alice@reject.example>")
    assert copy["From"].addresses[0].display_name == "Alice Liddell via news"
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    assert str(copy["Author"]) == "Alice Liddell <alice@reject.example>"
    assert str(copy["Reply-To"]) == "Alice Liddell <alice@reject.example>"
    assert "Cc" not in copy
    assert str(copy["Sender"]) == "owner-news@example.org"


def test_munge_keeps_the_posters_own_reply_to(site, dns):
    build(site, dns)
    copy = one(site, "Alice <alice@reject.example>", headers="Reply-To: alice@home.example\n")
    assert str(copy["Reply-To"]) == "alice@home.example"
    assert copy.get_all("Reply-To") == ["alice@home.example"]


@pytest.mark.parametrize("reply", ["List", "Owner", "Tristero", "someone@example.org"])
def test_munge_with_replies_going_elsewhere_puts_the_author_in_cc(site, dns, reply):
    build(site, dns, options="Reply = %s\n" % reply)
    copy = one(site, "Alice <alice@reject.example>")
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    assert len(copy.get_all("Reply-To")) == 1
    assert "alice@reject.example" not in str(copy["Reply-To"])
    assert [a.addr_spec for a in copy["Cc"].addresses] == ["alice@reject.example"]


def test_munge_adds_the_author_to_an_existing_cc(site, dns):
    build(site, dns, options="Reply = List\n")
    copy = one(site, "Alice <alice@reject.example>", headers="Cc: Bob <bob@example.net>\n")
    assert copy.get_all("Cc") and len(copy.get_all("Cc")) == 1
    assert [a.addr_spec for a in copy["Cc"].addresses] == ["bob@example.net", "alice@reject.example"]


@pytest.mark.parametrize("reply", ["PosterPlus", "ListPlus"])
def test_munge_with_reply_naming_the_poster_adds_nothing(site, dns, reply):
    build(site, dns, options="Reply = %s\n" % reply)
    copy = one(site, "Alice <alice@reject.example>")
    assert "alice@reject.example" in str(copy["Reply-To"])
    assert "news@example.org" in str(copy["Reply-To"])
    assert "Cc" not in copy


def test_munge_encodes_a_name_that_is_not_ascii(site, dns):
    build(site, dns)
    copy = one(site, "=?utf-8?q?Zo=C3=AB_=C3=9Cnder?= <zoe@reject.example>")
    assert copy["From"].addresses[0].display_name == "Zoë Ünder via news"
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    assert author_of(copy)[0] == "Zoë Ünder"
    raw = [b for b in site.outbound() if "carol@example.com" in b.recipients][0].data
    assert raw.isascii()


def test_munge_without_a_name_uses_the_address(site, dns):
    build(site, dns)
    copy = one(site, "alice@reject.example")
    assert copy["From"].addresses[0].display_name == "alice at reject.example via news"


def test_a_posters_own_author_field_is_replaced(site, dns):
    build(site, dns)
    copy = one(site, "alice@reject.example", headers="Author: The Queen <queen@example.org>\n")
    assert copy.get_all("Author") == ["alice@reject.example"]


def test_the_archive_keeps_the_authors_from(site, dns):
    build(site, dns)
    copy = one(site, "Alice <alice@reject.example>")
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    with open(site.path("archive", "00000001", "20261121.txt"), "rb") as f:
        archived = f.read()
    assert b"alice@reject.example" in archived
    assert b"via news" not in archived


def test_always_munges_every_post_without_asking(site, dns):
    build(site, dns, options="DmarcMitigation = always\n")
    copy = one(site, "alice@relaxed.example")
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    assert sum(dns.asked.values()) == 0


def test_none_leaves_from_alone_and_asks_nothing(site, dns):
    build(site, dns, options="DmarcMitigation = none\n")
    copy = one(site, "alice@reject.example")
    assert copy["From"].addresses[0].addr_spec == "alice@reject.example"
    assert sum(dns.asked.values()) == 0


def test_the_site_default_applies_to_every_list(site, dns):
    build(site, dns, globals_="DmarcMitigation = none\n")
    copy = one(site, "alice@reject.example")
    assert copy["From"].addresses[0].addr_spec == "alice@reject.example"


# --- wrap ------------------------------------------------------------------------

def test_wrap_attaches_the_post_unchanged_to_a_message_from_the_list(site, dns):
    build(site, dns, options="DmarcMitigation = wrap\nForwardPrefix = [news]\n")
    copy = one(site, "Alice <alice@reject.example>", subject="Meeting", body="See you at noon.\n",
               headers="DKIM-Signature: v=1; d=reject.example; s=s; b=abc\n")
    assert copy.get_content_type() == "multipart/mixed"
    assert copy["From"].addresses[0].addr_spec == LIST_FROM
    assert str(copy["Subject"]) == "[news] Meeting"
    assert str(copy["Reply-To"]) == "Alice <alice@reject.example>"
    assert "List-Id" in copy and "List-Unsubscribe" in copy
    text, attached = list(copy.iter_parts())
    assert text.get_content_type() == "text/plain"
    assert "alice@reject.example" in text.get_content() and "news" in text.get_content()
    assert attached.get_content_type() == "message/rfc822"
    [original] = attached.get_payload()
    assert str(original["From"]) == "Alice <alice@reject.example>"
    assert str(original["Subject"]) == "Meeting"
    assert original["DKIM-Signature"] is not None
    assert original.get_content() == "See you at noon.\n"
    assert "Return-Path" not in original and "List-Id" not in original


def test_wrap_leaves_a_post_of_a_relaxed_domain_alone(site, dns):
    build(site, dns, options="DmarcMitigation = wrap\n")
    copy = one(site, "alice@relaxed.example")
    assert copy.get_content_type() == "text/plain"
    assert copy["From"].addresses[0].addr_spec == "alice@relaxed.example"


def test_wrap_keeps_a_multipart_post_whole(site, dns):
    build(site, dns, options="DmarcMitigation = wrap\n")
    body = ("--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Grüße\n--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
            "AAEC\n--XX--\n")
    copy = one(site, "alice@reject.example", body=body,
               headers='MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n')
    [original] = list(copy.iter_parts())[1].get_payload()
    parts = list(original.iter_parts())
    assert parts[0].get_content() == "Grüße"
    assert parts[1].get_content() == b"\x00\x01\x02"


def test_a_long_name_added_to_a_long_cc_keeps_the_header_whole(site, dns):
    build(site, dns, options="Reply = List\n")
    cc = ", ".join('"Person Number %d" <p%d@example.net>' % (n, n) for n in range(4))
    copy = one(site, '"%s" <alice@reject.example>' % ("Ålice " * 12).strip(), headers="Cc: %s\n" % cc)
    assert [a.addr_spec for a in copy["Cc"].addresses][-1] == "alice@reject.example"
    assert "List-Id" in copy and copy.get_content() == "See you at noon.\n"


def test_munge_reads_a_name_sent_in_raw_utf8(site, dns):
    build(site, dns)
    copy = one(site, "Zoë <alice@reject.example>")
    assert copy["From"].addresses[0].display_name == "Zoë via news"
    assert author_of(copy) == ("Zoë", "alice@reject.example")


def test_a_post_whose_from_names_no_address_goes_out_from_the_list_claiming_no_author(site, dns):
    build(site, dns)
    site.drop("From: Joe Bloggs at CCMAIL1\nTo: news@example.org\nSubject: gatewayed\n"
              "Message-ID: <gw-1@example.net>\n\nDate: Sat, 21 Nov 2026 09:00:00 +0000\n"
              "From: Joe Bloggs <joe@relaxed.example>\n\nHello\n")
    site.run()
    [copy] = received(site)
    assert copy.get_all("From") == ["news <news@example.org>"]
    assert "Author" not in copy and "Reply-To" not in copy
    assert sum(dns.asked.values()) == 0


# --- bounds ----------------------------------------------------------------------------

def test_after_ten_failed_questions_a_run_asks_no_more():
    """Posts from domains whose servers never answer cost a run at most MAX_FAILURES
    time-outs; each later domain counts as strict without a question."""
    import types

    from tristero.core import nameservers
    from tristero.policy import dmarc as policy

    with DnsServer(RECORDS) as server:
        names = ["silent%d.example" % n for n in range(policy.MAX_FAILURES + 3)]
        server.silent.update("_dmarc." + n for n in names)
        ctx = types.SimpleNamespace(dns=nameservers.resolver(server.setting, timeout=0.1), dmarc_answers={},
                                    dmarc_failures=0, config=None)
        found = [policy.policy(ctx, "a@" + n) for n in names]
        assert all(p.policy == policy.REJECT for p in found)
        assert [server.asked["_dmarc." + n] > 0 for n in names] == \
            [True] * policy.MAX_FAILURES + [False] * 3
        assert "not asked: 10 DNS questions failed in this run" in found[-1].why
        # An answer already in hand is still used.
        ctx.dmarc_answers["_dmarc.reject.example"] = ["v=DMARC1; p=none"]
        assert policy.policy(ctx, "a@reject.example").policy == policy.NONE


@pytest.mark.parametrize("address, policy_", [
    ("a@[192.0.2.1]", "reject"),                       # an address literal: no name to ask
    ("a@" + "x" * 64 + ".example", "reject"),          # a label DNS cannot carry
])
def test_a_domain_dns_cannot_ask_about_counts_as_strict(address, policy_):
    import types

    from tristero.policy import dmarc as policy
    ctx = types.SimpleNamespace(dns=None, dmarc_answers={}, dmarc_failures=0, config=None)
    assert policy.policy(ctx, address).policy == policy_


def test_the_walk_stops_at_eight_labels():
    from tristero.policy import dmarc as policy
    names = [n for n, _ in policy.walk("a.b.c.d.e.f.g.h.i.example.com")]
    assert names[0] == "a.b.c.d.e.f.g.h.i.example.com"
    assert names[1] == "e.f.g.h.i.example.com"           # jumped to 7 labels (DMARCbis)
    assert names[-2:] == ["example.com", "com"]
    assert [s for _, s in policy.walk("x.example.co.uk")] == [False, False, True, True]


def test_a_test_site_without_nameservers_never_asks_the_machines_dns(site, quiet_dns):
    """The harness (conftest.no_outside_dns): the world's DNS does not decide a test."""
    site.write_ini(BASE_INI + "\n" + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")
    before = quiet_dns.asked["_dmarc.example.net"]
    copy = one(site, "Alice <alice@example.net>")
    assert quiet_dns.asked["_dmarc.example.net"] == before + 1
    assert copy["From"].addresses[0].addr_spec == "alice@example.net"
