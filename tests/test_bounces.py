"""Bounces (README "Filters and bounces"): reports of real mail servers read, failures charged fairly."""

import csv
import os

import pytest

from conftest import REPO, growth, mail
from tristero.core import messages
from tristero.policy import bounces

DATA = os.path.join(REPO, "tests", "data", "bounces")
P, POLICY, T = bounces.PERMANENT, bounces.POLICY, bounces.TEMPORARY

# Each sample is written in the format its server sends: (file, {failed address: kind}).
SAMPLES = [
    ("postfix_user_unknown.eml", {"bob@example.com": P}),
    ("postfix_delayed.eml", {"dave@example.net": T}),
    ("postfix_spam_rejected.eml", {"erin@example.com": POLICY}),
    ("exim_classic.eml", {"carol@example.net": P}),
    ("exim_dsn.eml", {"frank@example.net": P}),
    ("exim_delayed.eml", {"grace@example.net": T}),
    ("sendmail_user_unknown.eml", {"heidi@example.net": P, "ivan@example.net": P}),
    ("qmail_user_unknown.eml", {"judy@example.com": P}),
    ("qmail_blocked.eml", {"mallory@example.com": POLICY}),
    ("exchange_not_found.eml", {"kim@corp.example.com": P}),
    ("exchange_dmarc.eml", {"liam@outlook.com": POLICY}),
    ("exchange_2003_legacy.eml", {"quentin@old.example.com": P}),
    ("gmail_no_such_user.eml", {"nina@gmail.com": P}),
    ("gmail_dmarc.eml", {"oscar@gmail.com": POLICY}),
    ("gmail_delayed.eml", {"peggy@example.co.uk": T}),
    ("vacation_autoreply.eml", {}),
]


def sample(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


# --- reading reports (unit) ------------------------------------------------------

@pytest.mark.parametrize("name, expected", SAMPLES)
def test_each_servers_report_names_the_failed_address_and_the_kind_of_failure(name, expected):
    raw = sample(name)
    report = bounces.read(messages.parse(raw), raw)
    assert {f.address: f.kind for f in report.failures} == expected


def test_every_sample_is_in_the_table():
    assert sorted(os.listdir(DATA)) == sorted(name for name, _ in SAMPLES)


def test_reading_a_long_word_costs_no_more_than_its_length():
    # An address in the text is tried where a word begins, not at each of its characters:
    # a word ten times as long costs about ten times as much (tried at each character: 100).
    assert not bounces.blames_post("a" * 50000)
    assert growth(bounces.blames_post, "a" * 5000, "a" * 50000) < 30


def test_addresses_in_a_diagnostic_are_not_read_as_its_reason():
    assert not bounces.blames_post("550 5.1.1 <spam@example.com>: user unknown")
    assert not bounces.blames_post("550 5.1.1 x<spam@example.com>: user unknown")
    assert bounces.blames_post("550 rejected as spam by <postmaster@example.com>")


def test_a_report_names_the_post_it_is_about():
    raw = sample("qmail_user_unknown.eml")
    assert bounces.read(messages.parse(raw), raw).original == "<post-1@example.net>"


@pytest.mark.parametrize("status, diagnostic", [
    ("5.7.1", "smtp; 554 5.7.1 Service unavailable"),
    ("5.0.0", "smtp; 550 5.7.26 This message does not pass authentication checks"),
    ("5.6.0", "smtp; 554 5.6.0 Message contains invalid header"),
    ("5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed limit"),
    ("5.0.0", "smtp; 550 Rejected by DMARC policy"),
    ("5.0.0", "smtp; 550 High probability of spam"),
    ("5.0.0", "smtp; 554 rejected: listed at zen.spamhaus.org"),
])
def test_policy_and_content_refusals_are_charged_to_the_post(status, diagnostic):
    assert bounces.classify("failed", status, diagnostic) == POLICY


@pytest.mark.parametrize("status, diagnostic", [
    ("5.1.1", "smtp; 550 5.1.1 <spam@example.com>: Recipient address rejected: User unknown"),
    ("5.1.1", "smtp; 550 5.1.1 No such user, see https://example.com/policy/nosuchuser"),
    ("5.2.1", "smtp; 550 5.2.1 The email account that you tried to reach is disabled"),
    ("5.2.2", "smtp; 552 5.2.2 Mailbox full"),
    ("4.4.7", "smtp; 421 4.4.7 Delivery time expired"),
])
def test_failures_of_the_address_count_against_the_member(status, diagnostic):
    assert bounces.classify("failed", status, diagnostic) == P


@pytest.mark.parametrize("action, status", [
    ("delayed", "4.4.1"), ("delivered", "2.0.0"), ("relayed", "2.0.0"), ("expanded", "2.0.0"), ("", "4.2.0")])
def test_delays_and_successes_are_not_failures(action, status):
    assert bounces.classify(action, status, "") in (T, None)


KEY = bytes(range(32))


class _Ctx:
    domain = "example.org"

    def __init__(self, key=KEY):
        self.key = key

    def cookie_key(self):
        return self.key


def tag(listname, address, key=KEY):
    return bounces.verp_tag(_Ctx(key), listname, address)


def test_verp_sender_names_the_recipient_and_reads_back():
    sender = bounces.envelope_sender(_Ctx(), "news", "bob+tag@example.com")
    assert sender == "owner-news+bob+tag=example.com+%s@example.org" % tag("news", "bob+tag@example.com")
    assert bounces.verp_parts(sender) == ("bob+tag@example.com", tag("news", "bob+tag@example.com"))
    assert bounces.verp_recipient(sender) == "bob+tag@example.com"


def test_the_verp_tag_is_short_lower_case_and_keyed_to_list_recipient_and_site():
    t = tag("news", "bob@example.com")
    assert len(t) == 8 and t == t.lower() and set(t) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert tag("news", "Bob@Example.COM") == t            # a mail server may change the case
    assert len({t, tag("chat", "bob@example.com"), tag("news", "carol@example.com"),
                tag("news", "bob@example.com", key=b"k" * 32)}) == 4


def test_the_old_untagged_verp_form_still_reads():
    assert bounces.verp_parts("owner-news+bob=example.com@example.org") == ("bob@example.com", None)
    assert bounces.verp_parts("owner-news+bob+x=example.com@example.org") == ("bob+x@example.com", None)
    # A recipient whose local part ends like a tag is not taken for one: the tag follows the domain.
    assert bounces.verp_parts("owner-news+bob+abcdefgh=example.com@example.org") == (
        "bob+abcdefgh@example.com", None)
    assert bounces.verp_parts("owner-news@example.org") is None


def test_verp_falls_back_to_the_list_sender_past_64_octets():
    assert bounces.envelope_sender(_Ctx(), "news", "a" * 50 + "@example.com") == "owner-news@example.org"
    # The tag counts: 64 octets with it, the largest that still fits.
    fits = "a" * (64 - len("owner-news+=example.com+12345678")) + "@example.com"
    assert len(bounces.envelope_sender(_Ctx(), "news", fits).rpartition("@")[0]) == 64
    assert bounces.envelope_sender(_Ctx(), "news", "a" + fits) == "owner-news@example.org"


# --- charging failures (through the front door) ------------------------------------------

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
LogLevel = 2

[Security]
BounceList = bounced
BounceScore = 3
BounceDays = 7

[LIST news]
Owner = editor@example.net
MemberFile = 00000001

[LIST bounced]
Type = Passive
Owner = editor@example.net
MemberFile = 00000002
"""

MEMBERS = ["bob@example.com", "dave@example.net", "oscar@gmail.com", "carol@example.net", "alice@example.net"]


def build(site, bob="", extra=""):
    site.write_ini(INI.replace("[LIST news]\n", "[LIST news]\n" + extra))
    with open(site.path("tristero.key"), "wb") as f:
        f.write(KEY)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s = %s\n" % (a, bob if a.startswith("bob") else "") for a in MEMBERS))
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\n")


def members_of(site, number):
    from tristero.model.members import load
    return {a: o for a, o in load(number, site.path("lists", number + ".ini")).items()}


def sent(site, message_id="<post-1@example.net>", now="2026-11-21T08:00:00"):
    """news sends a post with message_id (the one the sample reports quote); its copies
    are taken out of the export spool."""
    site.drop("From: alice@example.net\nTo: news@example.org\nSubject: Meeting\nMessage-ID: %s\n"
              "Date: Sat, 21 Nov 2026 07:00:00 +0000\n\nNoon.\n" % message_id)
    site.run(now=now)
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def test_a_permanent_failure_counts_against_the_member(site):
    build(site)
    sent(site)
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"
    assert "bounce: bob@example.com failed permanently (5.1.1 smtp; 550 5.1.1" in site.log()
    assert site.outbound() == []


def test_a_second_failure_on_the_same_day_is_not_counted_again(site):
    build(site)
    sent(site)
    sent(site, message_id="<post-2@example.net>")
    site.drop(sample("postfix_user_unknown.eml"))
    site.drop(sample("postfix_user_unknown.eml").replace(b"<post-1@example.net>", b"<post-2@example.net>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"
    assert "already counted today" in site.log()


def test_a_member_is_charged_once_for_a_post_whatever_the_reports_quoting_it(site):
    # Reports proven by the Message-ID they quote: whoever posted it may forge them.
    build(site)
    sent(site)
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    site.drop(sample("postfix_user_unknown.eml"))
    site.run(now="2026-11-22T10:00:00")
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"
    assert "already counted for <post-1@example.net>" in site.log()


def test_failures_within_bounce_days_add_up(site):
    build(site, bob="BOUNCE 1 2026-11-15")
    sent(site)
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 2 2026-11-21"


def test_the_score_starts_again_after_bounce_days_without_a_failure(site):
    build(site, bob="BOUNCE 2 2026-11-01")
    sent(site)
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"


def test_a_member_reaching_bounce_score_moves_to_the_bounce_list_and_the_owner_is_told(site):
    build(site, bob="NAME Bob, BOUNCE 2 2026-11-20")
    sent(site)
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    assert "bob@example.com" not in members_of(site, "00000001")
    assert members_of(site, "00000002") == {"bob@example.com": "NOMAIL"}
    [notice] = site.messages_to("editor@example.net")
    assert "bob@example.com removed after 3 delivery failures" in notice["Subject"]
    assert "550 5.1.1" in notice.get_content() and "ADD news bob@example.com" in notice.get_content()
    with open(site.path("logs", "00000001.csv")) as f:
        assert [r[2:] for r in csv.reader(f)] == [["remove", "bob@example.com", "tristero@example.org", "bounces"]]


def test_delay_notices_are_not_failures(site):
    build(site)
    sent(site)
    site.drop(sample("postfix_delayed.eml"))
    site.run()
    assert members_of(site, "00000001")["dave@example.net"] == ""
    assert "bounce: dave@example.net delayed or failed temporarily" in site.log()


def test_a_dmarc_rejection_is_charged_to_the_post_not_to_the_member(site):
    build(site)
    sent(site)
    site.drop(sample("gmail_dmarc.eml"))
    site.run()
    assert members_of(site, "00000001")["oscar@gmail.com"] == ""
    assert ("bounce: oscar@gmail.com refused the post <post-1@example.net> of news for policy or content "
            "(5.7.26") in site.log()


def test_a_failure_of_an_address_that_is_no_member_changes_nothing(site):
    build(site)
    sent(site)
    site.drop(sample("gmail_no_such_user.eml"))
    site.run()
    assert "bounce: nina@gmail.com failed permanently" in site.log()
    assert "is not a member of news: nothing charged" in site.log()


def test_an_auto_reply_to_the_bounce_address_is_noted_not_forwarded(site):
    build(site)
    site.drop(sample("vacation_autoreply.eml"))
    site.run()
    assert site.outbound() == []
    assert members_of(site, "00000001")["bob@example.com"] == ""
    # It quotes no Message-ID the list sent, so it is not even read for failures.
    assert "not read as a bounce: it quotes no Message-ID of mail news sent in the last 7 days" in site.log()


@pytest.mark.parametrize("return_path", [None, b"<mallory@evil.example>"])
def test_a_report_without_the_null_envelope_sender_charges_nobody(site, return_path):
    # From MAILER-DAEMON, multipart/report, delivery-status fields: all anyone's to write.
    build(site, bob="BOUNCE 2 2026-11-20")
    raw = sample("postfix_user_unknown.eml")
    raw = raw.replace(b"Return-Path: <>\n", b"" if return_path is None else b"Return-Path: " + return_path + b"\n",
                      1)
    site.drop(raw)
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 2 2026-11-20"
    assert members_of(site, "00000002") == {}
    assert "not read as a bounce: it did not come with the null envelope sender" in site.log()


def test_reports_are_read_even_when_a_kill_subject_matches_them(site):
    build(site)
    sent(site)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[Kill Subjects]\nUndelivered Mail\n")
    site.drop(sample("postfix_user_unknown.eml"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"


def test_the_sites_own_delivery_report_counts(site):
    build(site)
    sent(site)
    site.drop(sample("postfix_user_unknown.eml").replace(
        b"From: MAILER-DAEMON@mail.example.org (Mail Delivery System)",
        b"From: Mail Delivery System <tristero@example.org>"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"


def test_a_post_that_comes_back_whole_to_the_bounce_address_is_no_bounce(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="owner-news@example.org", subject="Meeting",
                   body="550 5.1.1 <bob@example.com>: user unknown\n",
                   headers="Return-Path: <>\nX-Loop: news@example.org\nPrecedence: list\n"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert "not read as a bounce: it carries this site's X-Loop" in site.log()


# --- VERP ----------------------------------------------------------------------------------

def test_with_verp_each_member_gets_an_envelope_whose_sender_names_them(site):
    build(site, extra="VERP = Y\n")
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Meeting", body="Noon.\n"))
    site.run()
    envelopes = sorted((b.sender, tuple(b.recipients)) for b in site.outbound())
    assert envelopes == sorted(("owner-news+%s=%s+%s@example.org" % (tuple(a.split("@")) + (tag("news", a),)), (a,))
                               for a in MEMBERS)


def verp_address(address, listname="news"):
    return "owner-%s+%s=%s+%s@example.org" % ((listname,) + tuple(address.split("@")) + (tag(listname, address),))


def verp_report(to=None, headers="Return-Path: <>\n"):
    to = to or verp_address("bob@example.com")
    return mail(frm="MAILER-DAEMON@relay.example.net", to=to, subject="Nondeliverable", headers=headers,
                body="Sorry, your message to the forwarding address could not be delivered.\n"
                     "Reason: 550 mailbox unavailable\n")


def test_a_verp_address_names_nobody_on_a_list_without_verp(site):
    # /tmp/sec/t15.py: the list never sent from owner-news+bob=example.com@, so a report there is made up.
    build(site)
    site.drop(verp_report(to="owner-news+bob=example.com@example.org"))
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == ""


def test_forged_reports_to_a_verp_address_remove_nobody(site):
    # /tmp/sec/t15.py: one a day, until BounceScore, but none with the null envelope sender.
    build(site, extra="VERP = Y\n")
    for day in range(21, 25):
        site.drop(verp_report(headers=""))
        site.run(now="2026-11-%dT10:00:00" % day)
    assert members_of(site, "00000001")["bob@example.com"] == ""
    assert members_of(site, "00000002") == {}


def test_a_report_to_a_verp_address_charges_the_member_it_names_whatever_its_format(site):
    build(site, extra="VERP = Y\n")
    site.drop(verp_report())
    site.run()
    assert members_of(site, "00000001")["bob@example.com"] == "BOUNCE 1 2026-11-21"
