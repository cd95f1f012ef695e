"""Bounces that cannot be forged (issue 9, hole 5; README "Filters and bounces").

A delivery report is believed only with a proof that the site sent mail
there: the keyed tag of a VERP address, or the Message-ID of mail the list
sent in the last BounceDays (the sent index). The null envelope sender
alone, which anyone can send, proves nothing. PreScan BOUNCE and SPAM act on
every list only on such proof.
"""

import os

import pytest

from conftest import mail
from tristero.policy import authresults

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
LogLevel = 2
MaxRecipients = 50

[Security]
BounceList = bounced
SpamCheckList = spammers
BounceScore = {score}
BounceDays = {days}
{security}
[LIST news]
Owner = editor@example.net
MemberFile = 00000001
{news}
[LIST chat]
Owner = editor@example.net
MemberFile = 00000002

[LIST bounced]
Type = Passive
Owner = editor@example.net
MemberFile = 00000003

[LIST spammers]
Type = Passive
Owner = editor@example.net
MemberFile = 00000004
{patterns}"""

NEWS = ["editor@example.net", "bob@example.com", "carol@example.net"]
CHAT = ["bob@example.com", "dave@example.net"]
DAYS = ["2026-11-%02dT10:00:00" % d for d in range(21, 26)]


def build(site, security="", news="", patterns="", members=None, days=14, score=5):
    site.write_ini(INI.format(security=security, news=news, patterns=patterns, days=days, score=score))
    os.makedirs(site.path("lists"), exist_ok=True)
    lists = members or {"00000001": NEWS, "00000002": CHAT, "00000003": [], "00000004": []}
    for number, addresses in lists.items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join("%s =\n" % a for a in addresses))


def members_of(site, number):
    from tristero.model.members import load
    return {a: o for a, o in load(number, site.path("lists", number + ".ini")).items()}


def post(site, to="news@example.org", message_id="<post-1@example.net>", now="2026-11-21T08:00:00",
         frm="alice@example.net"):
    """A post the list sends (to the site's members); returns its BSMTP files and empties the export spool."""
    site.drop("From: %s\nTo: %s\nSubject: Meeting\nMessage-ID: %s\nDate: Sat, 21 Nov 2026 07:00:00 +0000\n\n"
              "Noon.\n" % (frm, to, message_id))
    site.run(now=now)
    out = site.outbound()
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))
    return out


def report(recipient, to="owner-news@example.org", quoting="<forged-1@evil.example>", n=1):
    """A standard RFC 3464 report with the null envelope sender, as anyone can send one."""
    return """\
Return-Path: <>
X-Original-To: {to}
Delivered-To: {to}
From: MAILER-DAEMON@mx.evil.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Date: Sat, 21 Nov 2026 09:14:02 +0000
Message-ID: <report-{n}-{recipient}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain

<{recipient}>: host mx.example.com said: 550 5.1.1 User unknown

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.evil.example

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown

--B0UND
Content-Type: text/rfc822-headers

From: alice@example.net
To: news@example.org
Subject: Meeting
Message-ID: {quoting}

--B0UND--
""".format(to=to, recipient=recipient, quoting=quoting, n=n)


def sender_for(files, address):
    """The reverse path of the envelope that carried a post to address."""
    [sender] = {b.sender for b in files if address in b.recipients}
    return sender


# --- the forged report series ---------------------------------------------------------

def test_five_forged_reports_one_a_day_remove_nobody_the_owner_included(site):
    # The review's attack: a standard report for every member, the null sender, one a day,
    # BounceScore times. It quotes no Message-ID the list sent: it proves nothing.
    build(site)
    post(site)
    for n, day in enumerate(DAYS, 1):
        for address in NEWS:
            site.drop(report(address, n=n))
        site.run(now=day)
    assert members_of(site, "00000001") == {a: "" for a in NEWS}
    assert members_of(site, "00000003") == {}
    assert "editor@example.net" in members_of(site, "00000001")
    assert site.log().count("not read as a bounce: it quotes no Message-ID of mail news sent in the last 14 "
                            "days (bounce address owner-news@example.org)") == 5 * len(NEWS)
    assert site.outbound() == []


def test_five_reports_quoting_posts_the_list_sent_count_and_remove_the_member(site):
    build(site)
    for n in range(1, 6):
        post(site, message_id="<post-%d@example.net>" % n)
    for n, day in enumerate(DAYS, 1):
        site.drop(report("bob@example.com", quoting="<post-%d@example.net>" % n, n=n))
        site.run(now=day)
        if n < 5:
            assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE %d %s" % (n, day[:10])
    assert "bob@example.com" not in members_of(site, "00000001")
    assert members_of(site, "00000003") == {"bob@example.com": "NOMAIL"}
    assert "bob@example.com" in members_of(site, "00000002")      # a report to news is about news
    [notice] = site.messages_to("editor@example.net")
    assert "bob@example.com removed after 5 delivery failures" in notice["Subject"]


def test_a_report_quoting_a_post_of_another_list_is_not_believed(site):
    build(site)
    post(site, to="chat@example.org", message_id="<chat-1@example.net>")
    site.drop(report("bob@example.com", quoting="<chat-1@example.net>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert "not read as a bounce: it quotes no Message-ID of mail news sent" in site.log()


def test_a_report_charges_only_members_of_the_list_whose_post_it_quotes(site):
    build(site)
    post(site)
    site.drop(report("dave@example.net", quoting="<post-1@example.net>"))
    site.run()
    assert members_of(site, "00000002")["dave@example.net"] == ""
    assert "dave@example.net failed permanently" in site.log() and "is not a member of news" in site.log()


def test_a_report_quoting_a_post_older_than_bounce_days_is_not_believed(site):
    build(site, days=3)
    post(site, now="2026-11-21T08:00:00")
    assert site.listdir("spool", "sent") == ["20261121.txt"]
    site.drop(report("bob@example.com", quoting="<post-1@example.net>"))
    site.run(now="2026-11-25T10:00:00")
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert "it quotes no Message-ID of mail news sent in the last 3 days" in site.log()
    assert site.listdir("spool", "sent") == []         # housekeeping expired the day
    assert "housekeeping: expire sent index: 1 removed" in site.log()


# --- the sent index ---------------------------------------------------------------------

def test_the_sent_index_keeps_one_line_per_message_not_per_recipient(site):
    many = ["m%04d@example.com" % i for i in range(300)]
    build(site, members={"00000001": NEWS + many, "00000002": CHAT,
                         "00000003": [], "00000004": []})
    with open(site.path("lists", "00000001.ini"), "a") as f:
        f.write("dora@example.net = DIGEST\n")
    files = post(site, message_id="<post-1@example.net>", now="2026-11-21T08:00:00")
    assert sum(len(b.recipients) for b in files) == len(NEWS) + 300
    with open(site.path("spool", "sent", "20261121.txt")) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1
    key, listname, kind = lines[0].split()
    assert (len(key), listname, kind) == (16, "news", "post")
    # The next day's digest, to dora alone, is recorded too; a report of it is believed.
    site.run(now="2026-11-22T08:00:00")
    [digest] = site.messages_to("dora@example.net")
    with open(site.path("spool", "sent", "20261122.txt")) as f:
        assert f.read().split()[1:] == ["news", "digest"]
    site.drop(report("dora@example.net", quoting=digest["Message-ID"]))
    site.run(now="2026-11-22T10:00:00")
    assert members_of(site, "00000001")["dora@example.net"].startswith("DIGEST") and \
        "BOUNCE 1 2026-11-22" in members_of(site, "00000001")["dora@example.net"]


def test_a_post_without_a_message_id_gets_one_and_reports_quoting_it_count(site):
    build(site)
    site.drop("From: alice@example.net\nTo: news@example.org\nSubject: no id\n\nHello\n")
    site.run(now="2026-11-21T08:00:00")
    [copy] = site.messages_to("bob@example.com")
    assert copy["Message-ID"].endswith("@example.org>")
    site.drop(report("bob@example.com", quoting=copy["Message-ID"]))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"


# --- VERP -----------------------------------------------------------------------------

def test_a_report_to_a_verp_address_with_the_right_tag_counts_whatever_it_quotes(site):
    build(site, news="VERP = Y\n")
    files = post(site)
    verp = sender_for(files, "bob@example.com")
    local = verp.rpartition("@")[0]
    assert local.startswith("owner-news+bob=example.com+") and len(local.rpartition("+")[2]) == 8
    site.drop(report("someone@else.example", to=verp, quoting="<not-ours@example.net>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"


@pytest.mark.parametrize("mangle", [
    lambda a: a[:a.rindex("+") + 1] + "aaaaaaaa" + a[a.index("@"):],          # a wrong tag
    lambda a: a[:a.rindex("+")] + a[a.index("@"):],                            # no tag
    lambda a: a.replace("+bob=example.com+", "+carol=example.net+"),           # bob's tag on carol's address
])
def test_a_report_to_a_verp_address_without_its_own_tag_changes_nothing(site, mangle):
    # MEMBERS gives the addresses away; the tags only the site can make.
    build(site, news="VERP = Y\n", score=1)
    verp = mangle(sender_for(post(site), "bob@example.com"))
    site.drop(report("bob@example.com", to=verp))
    site.drop(report("carol@example.net", to=verp, n=2))
    site.run()
    assert members_of(site, "00000001") == {a: "" for a in NEWS}
    assert members_of(site, "00000003") == {}
    assert "not read as a bounce: %s carries " % verp in site.log()


def test_a_mail_server_that_lowers_the_local_part_keeps_the_tag_valid(site):
    build(site, news="VERP = Y\n", members={"00000001": ["Dave.Smith@Example.net"], "00000002": [],
                                            "00000003": [], "00000004": []})
    verp = sender_for(post(site), "Dave.Smith@Example.net")
    site.drop(report("dave.smith@example.net", to=verp.lower()))
    site.run()
    assert members_of(site, "00000001")["Dave.Smith@Example.net"] == "BOUNCE 1 2026-11-21"


def test_the_old_untagged_verp_form_counts_only_when_it_quotes_mail_the_list_sent(site):
    # CONTRACT 7: the old form is still read; it proves nothing by itself, so it needs
    # what owner-news@ needs: a Message-ID of mail news sent in the last BounceDays.
    build(site, news="VERP = Y\n")
    post(site, message_id="<post-1@example.net>")
    old = "owner-news+bob=example.com@example.org"
    site.drop(report("nobody@else.example", to=old, quoting="<made-up@evil.example>"))
    site.run(now="2026-11-21T10:00:00")
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert "%s carries no VERP tag, and the report quotes no Message-ID of mail news sent" % old in site.log()
    site.drop(report("nobody@else.example", to=old, quoting="<post-1@example.net>", n=2))
    site.run(now="2026-11-22T10:00:00")
    # The address names the member, whatever the report says.
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-22"


def test_a_verp_address_past_64_octets_falls_back_to_the_plain_return_path_logged(site):
    long = "a" * 40 + "@example.com"
    build(site, news="VERP = Y\n", members={"00000001": ["bob@example.com", long], "00000002": [],
                                            "00000003": [], "00000004": []})
    files = post(site)
    assert sender_for(files, long) == "owner-news@example.org"
    assert sender_for(files, "bob@example.com") != "owner-news@example.org"
    assert "VERP: the return path for %s would pass 64 octets: sent from owner-news@example.org" % long \
        in site.log()
    site.drop(report(long, quoting="<post-1@example.net>"))
    site.run()
    assert members_of(site, "00000001")[long] == "BOUNCE 1 2026-11-21"


# --- PreScan BOUNCE ---------------------------------------------------------------------

PRESCAN_BOUNCE = "\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n"


def text_report(recipient, to="owner-news@example.org", quoting="<post-1@example.net>"):
    """A report in no standard form, read by the prescan entry."""
    return mail(frm="MAILER-DAEMON@mx.example.com", to=to, subject="failure notice", headers="Return-Path: <>\n",
                body="Hi. This is the qmail-send program.\n550 <%s> User Unknown\n\n--- Copy:\n\n"
                     "From: alice@example.net\nMessage-ID: %s\n\nNoon.\n" % (recipient, quoting))


def test_prescan_bounce_counts_on_every_list_and_at_bounce_score_the_address_joins_the_bounce_list(site):
    build(site, patterns=PRESCAN_BOUNCE)
    post(site)
    for n, day in enumerate(DAYS, 1):
        site.drop(text_report("bob@example.com"))
        site.run(now=day)
        if n < 5:
            assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE %d %s" % (n, day[:10])
            assert members_of(site, "00000002")["bob@example.com"] == "BOUNCE %d %s" % (n, day[:10])
    assert "bob@example.com" not in members_of(site, "00000001")
    assert "bob@example.com" not in members_of(site, "00000002")
    assert members_of(site, "00000003") == {"bob@example.com": "NOMAIL"}


def test_prescan_bounce_on_a_forged_report_charges_nobody(site):
    build(site, patterns=PRESCAN_BOUNCE, score=1)
    post(site)
    site.drop(text_report("bob@example.com", quoting="<made-up@evil.example>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert members_of(site, "00000002")["bob@example.com"] == ""
    assert "but the report to owner-news@example.org is not believed" in site.log()
    assert "prescan BOUNCE: bob@example.com charged a permanent failure on no list" in site.log()


def test_prescan_bounce_at_a_verp_address_with_its_tag_counts_on_every_list(site):
    build(site, patterns=PRESCAN_BOUNCE, news="VERP = Y\n")
    verp = sender_for(post(site), "bob@example.com")
    site.drop(text_report("bob@example.com", to=verp, quoting="<anything@example.net>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"
    assert members_of(site, "00000002")["bob@example.com"] == "BOUNCE 1 2026-11-21"


# --- PreScan SPAM -----------------------------------------------------------------------

PRESCAN_SPAM = "\n[PreScan Strings]\nSPAM,make money fast\n"
TRUSTED = "PreScanMode = 2\nTrustedAuthservIds = mx.example.org\n"


def spam(results=()):
    return mail(frm="bob@example.com", to="news@example.org", subject="offer", body="make money fast\n",
                headers="".join("Authentication-Results: %s\n" % r for r in results))


def test_prescan_spam_vouched_for_by_the_sites_mail_server_removes_the_author_from_every_list(site):
    build(site, security=TRUSTED, patterns=PRESCAN_SPAM)
    site.drop(spam(["mx.example.org;\n\tspf=pass smtp.mailfrom=bob@example.com;\n"
                    "\tdmarc=pass (p=reject dis=none) header.from=example.com"]))
    site.run()
    assert "bob@example.com" not in members_of(site, "00000001")
    assert "bob@example.com" not in members_of(site, "00000002")
    assert members_of(site, "00000004") == {"bob@example.com": "NOMAIL"}
    assert "left 2 list(s): news, chat; now on spammers (every list: DMARC pass for its From by mx.example.org)" \
        in site.log()


@pytest.mark.parametrize("results, why", [
    ([], "no trusted Authentication-Results field reports DMARC"),
    (["mx.evil.example; dmarc=pass header.from=example.com"], "no trusted"),          # not our server
    (["mx.example.org; dmarc=fail header.from=example.com"], "dmarc=fail"),
    (["mx.example.org; dmarc=pass header.from=example.net"], "dmarc=pass for example.net"),
    (["mx.example.org; dmarc=pass header.from=example.com",                            # forged above the real
      "mx.example.org; dmarc=fail header.from=example.com"], "dmarc=fail"),
    (["mx.example.org; dmarc=pass header.from=example.com;"], "does not read"),
])
def test_prescan_spam_not_vouched_for_removes_the_author_only_from_the_lists_it_wrote_to(site, results, why):
    build(site, security=TRUSTED, patterns=PRESCAN_SPAM)
    site.drop(spam(results))
    site.run()
    assert "bob@example.com" not in members_of(site, "00000001")
    assert "bob@example.com" in members_of(site, "00000002")
    assert members_of(site, "00000004") == {"bob@example.com": "NOMAIL"}
    assert "left 1 list(s): news; now on spammers (the lists it wrote to: From not vouched for" in site.log()
    assert why in site.log()


def test_prescan_spam_believes_no_authentication_results_without_trusted_authserv_ids(site):
    build(site, security="PreScanMode = 2\n", patterns=PRESCAN_SPAM)
    site.drop(spam(["mx.example.org; dmarc=pass header.from=example.com"]))
    site.run()
    assert "bob@example.com" in members_of(site, "00000002")
    assert "From not vouched for (no TrustedAuthservIds)" in site.log()


# --- the Authentication-Results reader (unit) ---------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("mx.example.org; dmarc=pass (p=none dis=none) header.from=example.com",
     ("mx.example.org", [("dmarc", "pass", {"header.from": "example.com"})])),
    ("mx.google.com;\n       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab/c+;\n"
     "       spf=pass (google.com: domain of x@example.com designates 192.0.2.1 as permitted sender) "
     "smtp.mailfrom=x@example.com;\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com",
     ("mx.google.com", [("dkim", "pass", {"header.i": "@example.com", "header.s": "20230601", "header.b": "Ab/c+"}),
                        ("spf", "pass", {"smtp.mailfrom": "x@example.com"}),
                        ("dmarc", "pass", {"header.from": "example.com"})])),
    ('mx.example.org 1; dmarc=pass reason="aligned (both)" header.from="Example.COM" (policy=reject)',
     ("mx.example.org", [("dmarc", "pass", {"header.from": "Example.COM"})])),
    ("MX.Example.org; none", ("mx.example.org", [])),
])
def test_authentication_results_fields_are_read_by_rfc_8601(text, expected):
    assert authresults.parse(text) == expected


@pytest.mark.parametrize("text", [
    "",
    "dmarc=pass header.from=example.com",                                   # no authserv-id
    "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dmarc=pass action=none header.from=example.com",
    "mx.example.org;",
    "mx.example.org; dmarc=pass header.from=example.com;",
    "mx.example.org; dmarc=pass header.from",
    "mx.example.org; dmarc=pass (unclosed header.from=example.com",
    "mx.example.org; dmarc pass header.from=example.com",
    "mx.example.org; dmarc=pass header.from=example.com" + " x.y=z" * 1000,  # too long
])
def test_authentication_results_fields_off_the_grammar_prove_nothing(text):
    with pytest.raises(authresults.Unreadable):
        authresults.parse(text)


def test_config_security_shows_the_trusted_authserv_ids(site):
    build(site, security="TrustedAuthservIds = mx.example.org, MX2.example.org\n")
    site.drop(mail(frm="boss@example.net", body="config security\n"))
    site.run()
    [answer] = [m for m in site.messages_to("boss@example.net") if m["Subject"].startswith("Re:")]
    assert "TrustedAuthservIds: mx.example.org, mx2.example.org" in answer.get_content()


# ("mx" in quotes is the value mx: quotes hold a value with " ;" or " #" in it.)
@pytest.mark.parametrize("value", ["mx example.org", "mx;x", "\"mx example.org\""])
def test_a_trusted_authserv_id_must_be_a_token(site, value):
    build(site, security="TrustedAuthservIds = %s\n" % value)
    p = site.tristero("check", check=False)
    assert p.returncode != 0 and b"TrustedAuthservIds" in p.stdout + p.stderr


def test_prescan_spam_with_a_forged_dmarc_pass_below_the_servers_received_field_is_not_vouched_for(site):
    """The attack: spam From a member, carrying its own "Authentication-Results:
    mx.example.org; dmarc=pass" in a header where the site's server wrote only an SPF
    result above its Received field. Only the fields above that Received field are the
    server's (as for ARC): the forged pass must not take the member off every list."""
    build(site, security=TRUSTED, patterns=PRESCAN_SPAM)
    site.drop("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=evil.example\n"
              "Received: from evil.example by mx.example.org; Sat, 21 Nov 2026 09:00:01 +0000\n"
              + spam(["mx.example.org; dmarc=pass header.from=example.com"]))
    site.run()
    assert "bob@example.com" in members_of(site, "00000002")
    assert "left 1 list(s): news; now on spammers (the lists it wrote to: From not vouched for" in site.log()
