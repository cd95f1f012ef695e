"""Screening (README "Filters and bounces"): kill filters, admin subjects, prescan, spam list, loops."""

import csv
import os

import pytest

from conftest import growth, mail
from tristero.core import patterns
from tristero.mail import screening

GLOBALS = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
MaxRecipients = 10
LogLevel = 2

[Security]
BounceList = bounced
SpamCheckList = spammers
"""

LISTS = """
[LIST news]
Owner = editor@example.net
MemberFile = 00000001

[LIST staff]
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
"""

MEMBERS = {"00000001": ["carol@example.com", "pig.bodine@waste.com", "spammy@example.com"],
           "00000002": ["pig.bodine@waste.com", "dave@example.net"], "00000003": [], "00000004": []}


def build(site, security="", patterns="", lists=LISTS, spammers=()):
    site.write_ini(GLOBALS + security + lists + patterns)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, addresses in dict(MEMBERS, **{"00000004": list(spammers)}).items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join(a + " =\n" for a in addresses))


def members_of(site, number):
    from tristero.model.members import load
    return {a: o for a, o in load(number, site.path("lists", number + ".ini")).items()}


def posts(site):
    return [b for b in site.outbound() if b.sender == "owner-news@example.org"]


def ini(site):
    with open(site.path("tristero.ini")) as f:
        return f.read()


def reply_to(site, address):
    return [m for m in site.messages_to(address) if m["Subject"].startswith("Re:")]


def section(entries, prescan=False):
    return patterns.Section(entries, prescan)


def matched(entries, text):
    hit = section(entries).first(text.lower())
    return hit[0].text if hit else None


# --- patterns (unit) ---------------------------------------------------------------

@pytest.mark.parametrize("entry, text, expected", [
    ("AOL.COM", "joe@aol.com", True),                  # anywhere, case ignored
    ("aol.com", "JOE@AOL.COM.example", True),
    ("#{mailer", "MAILER-DAEMON@example.net", True),   # start
    ("#{mailer", "x-mailer@example.net", False),
    ("error}#", "Delivery error", True),               # end
    ("error}#", "error in delivery", False),
    ("#{test}#", "test", True),                        # the whole field
    ("#{test}#", "Re: test", False),
    ("#{test}#", "test 2", False),
    ("Delivery  failure", "delivery\tfailure notice", True),   # runs of blanks
    ("a.c", "abc", False),                              # no regular expressions
])
def test_entries_match_anywhere_unless_anchored_case_ignored(entry, text, expected):
    assert (matched([entry], text) == entry) is expected


def test_the_first_matching_entry_in_file_order_names_the_rule():
    assert matched(["money", "#{make money", "fast"], "make money fast") == "money"


def test_a_thousand_entries_match_as_one_does():
    entries = ["offer %d today" % i for i in range(1000)] + ["#{subject %d}#" % i for i in range(1000)]
    sec = section(entries)
    assert sec.first("cheap offer 517 today only")[0].text == "offer 517 today"
    assert sec.first("subject 999")[0].text == "#{subject 999}#"
    assert sec.first("subject 9999") is None
    assert sec.first("an ordinary subject") is None


def test_a_pathological_set_of_entries_still_compiles():
    entries = ["x" * i + "a" for i in range(1, 400)]
    assert section(entries).first("xxxxxxxa")[0].text == "xa"


@pytest.mark.parametrize("text, expected", [
    ("550 <Pig.Bodine@Waste.com> User Unknown", "Pig.Bodine@Waste.com"),
    ("550 pig.bodine@waste.com user   unknown", "pig.bodine@waste.com"),
])
def test_prescan_percent_one_captures_the_address_with_or_without_brackets(text, expected):
    sec = section(["BOUNCE,550 %1 User Unknown"], prescan=True)
    entry, found = sec.first(text.lower())
    assert screening._captured(found, text, text.lower()) == expected


@pytest.mark.parametrize("entry, start, repeat, n", [
    ("BOUNCE,550 %1 User Unknown", "550 ", "a@", 20000),      # an "@" in %1 split it in every way
    ("BOUNCE,%1 User Unknown", "", "a", 50000),               # %1 first: tried at every character
    ("BOUNCE,%1 User Unknown", "", "a@", 1000),               # both: its cube (12 s before the fix)
])
def test_prescan_percent_one_costs_a_long_line_no_more_than_its_length(entry, start, repeat, n):
    # A line ten times as long costs about ten times as much (its square: 100, its cube: 1000).
    sec = section([entry], prescan=True)
    assert sec.first(start + repeat * n) is None
    assert growth(sec.first, start + repeat * (n // 10), start + repeat * n) < 30


@pytest.mark.parametrize("text, expected", [
    ("xbob@example.com user unknown", "xbob@example.com"),
    ("a@bob@example.com: user unknown", "bob@example.com"),
])
def test_prescan_percent_one_first_in_an_entry_still_finds_the_whole_address(text, expected):
    entry, found = section(["BOUNCE,%1 User Unknown"], prescan=True).first(text)
    assert screening._captured(found, text, text) == expected


def test_prescan_anchors_apply_to_each_line():
    sec = section(["ADMIN,#{unsubscribe}#"], prescan=True)
    assert sec.first("hello\nunsubscribe\nthanks") is not None
    assert sec.first("hello\nplease unsubscribe me") is None


@pytest.mark.parametrize("entry, prescan, problem", [
    (";comment", False, "comment"),
    ("[Globals]", False, "section header"),
    ("#{}#", False, "nothing to match"),
    ("BOUNCE,User Unknown", True, "%1"),
    ("REJECT,money", True, "ACTION"),
    ("make money fast", True, "ACTION"),
    ("BOUNCE,%1:%1 User Unknown", True, "%1 more than once"),
])
def test_entries_that_cannot_work_are_reported(entry, prescan, problem):
    assert problem in patterns.entry_problem(entry, prescan)


def test_check_reports_a_broken_prescan_line_with_its_number(site):
    build(site, patterns="\n[PreScan Strings]\nBOUNCE,User Unknown\n")
    p = site.tristero("check", check=False)
    out = p.stdout.decode() + p.stderr.decode()
    assert "BOUNCE needs %1" in out
    assert ":%d:" % (ini(site).splitlines().index("BOUNCE,User Unknown") + 1) in out


# --- kill subjects and authors ------------------------------------------------------

def test_killed_subject_is_dropped_and_logged_with_its_rule(site):
    build(site, patterns="\n[Kill Subjects]\n#{DELIVERY ERROR}#\n")
    site.drop(mail(to="news@example.org", subject="Delivery Error", body="x\n"))
    site.run()
    assert site.outbound() == []
    assert 'killed: subject "Delivery Error" matches "#{DELIVERY ERROR}#" [[Kill Subjects] #{DELIVERY ERROR}#]' \
        in site.log()


def test_local_author_of_killed_mail_is_warned(site):
    build(site, patterns="\n[Kill Subjects]\nwaiting mail\n")
    site.drop(mail(frm="frank@example.org", to="news@example.org", subject="Waiting Mail", body="x\n"))
    site.run()
    assert not posts(site)
    [warning] = site.messages_to("frank@example.org")
    assert "Waiting Mail" in warning.get_content() and "waiting mail" in warning.get_content()


def test_outside_author_of_killed_mail_is_not_warned(site):
    build(site, patterns="\n[Kill Subjects]\nwaiting mail\n")
    site.drop(mail(frm="frank@example.net", to="news@example.org", subject="Waiting Mail", body="x\n"))
    site.run()
    assert site.outbound() == []


def test_killed_author_is_dropped_even_at_the_robot(site):
    build(site, patterns="\n[Kill Authors]\nhacker@spam.net\n")
    site.drop(mail(frm="Hacker@Spam.net", to="tristero@example.org", body="subscribe news\n"))
    site.run()
    assert site.outbound() == []
    assert "Hacker@Spam.net" not in members_of(site, "00000001")
    assert "[Kill Authors] hacker@spam.net" in site.log()


def test_superuser_commands_pass_a_filter_that_would_lock_them_out(site):
    build(site, patterns="\n[Kill Authors]\nexample.net\n")
    site.drop(mail(frm="boss@example.net", to="tristero@example.org", body="config killlist\n"))
    site.run()
    [reply] = reply_to(site, "boss@example.net")
    assert "example.net" in reply.get_content()


# --- CONFIG KILLADD, KILLLIST ---------------------------------------------------------

KILL_SECTION = "\n# kill these\n[Kill Subjects]\n; bounce subjects\nWaiting Mail\n; more below\n"


def test_config_killadd_adds_an_entry_keeping_the_sections_comments(site):
    build(site, patterns=KILL_SECTION)
    site.drop(mail(frm="boss@example.net", body="config killadd #{Out of Office\n"))
    site.run()
    assert "OK: added to [Kill Subjects]: #{Out of Office" in reply_to(site, "boss@example.net")[0].get_content()
    assert ini(site).endswith("# kill these\n[Kill Subjects]\n; bounce subjects\nWaiting Mail\n"
                              "#{Out of Office\n; more below\n")


def test_config_killadd_applies_from_the_next_message_of_the_same_run(site):
    build(site, patterns=KILL_SECTION)
    site.drop(mail(frm="boss@example.net", body="config killadd buy now\n"))
    site.drop(mail(to="news@example.org", subject="BUY NOW cheap", body="x\n"))
    site.run()
    assert not posts(site)
    assert "[Kill Subjects] buy now" in site.log()


def test_config_killadd_twice_on_a_site_without_the_section_writes_one_valid_section(site):
    """The first KILLADD creates [Kill Subjects]; the second must keep its header (it was
    lost, and the next run refused the file with exit 78)."""
    build(site)
    site.drop(mail(frm="boss@example.net", body="config killadd first thing\nconfig killadd second thing\n"))
    site.run()
    assert ini(site).endswith("\n\n[Kill Subjects]\nfirst thing\nsecond thing\n")
    site.drop(mail(to="news@example.org", subject="the SECOND THING again", body="x\n"))
    assert site.run().returncode == 0
    assert not posts(site)


def test_config_killlist_lists_the_kill_entries(site):
    build(site, patterns=KILL_SECTION + "\n[Kill Authors]\n#{MAILER-DAEMON\n")
    site.drop(mail(frm="boss@example.net", body="config killlist\n"))
    site.run()
    text = reply_to(site, "boss@example.net")[0].get_content()
    assert "OK: 1 kill subject(s), 1 kill author(s)" in text
    assert "    Waiting Mail" in text and "    #{MAILER-DAEMON" in text


def test_config_security_reports_the_filter_settings(site):
    build(site, security="PreScanMode = 2\n", patterns=KILL_SECTION)
    site.drop(mail(frm="boss@example.net", body="config security\n"))
    site.run()
    text = reply_to(site, "boss@example.net")[0].get_content()
    assert "PreScanMode:       2" in text and "BounceList:        bounced" in text
    assert "[Kill Subjects] 1" in text


def test_config_killadd_is_for_the_superuser_only(site):
    build(site, patterns=KILL_SECTION)
    before = ini(site)
    site.drop(mail(frm="carol@example.com", body="config killadd news\n"))
    site.run()
    assert "REFUSED: only the SuperUser may do this" in reply_to(site, "carol@example.com")[0].get_content()
    assert ini(site) == before


def test_config_killadd_refuses_an_entry_that_would_read_as_a_section(site):
    build(site, patterns=KILL_SECTION)
    before = ini(site)
    site.drop(mail(frm="boss@example.net", body="config killadd [Globals]\n"))
    site.run()
    assert "would read as a section header" in reply_to(site, "boss@example.net")[0].get_content()
    assert ini(site) == before


# --- admin subjects -------------------------------------------------------------------

def test_admin_subject_to_a_list_goes_to_the_robot_with_the_list_filled_in(site):
    build(site, patterns="\n[Admin Subjects]\n#{subscribe\n")
    site.drop(mail(frm="frank@example.net", to="news@example.org", subject="subscribe", body=""))
    site.run()
    assert not posts(site)
    assert "frank@example.net" in members_of(site, "00000001")
    assert "admin subject: sent to the robot instead of news ([Admin Subjects] #{subscribe)" in site.log()


def test_admin_subject_to_a_proxy_list_is_filtered_out(site):
    build(site, patterns="\n[Admin Subjects]\n#{subscribe\n",
          lists=LISTS.replace("MemberFile = 00000001", "MemberFile = 00000001\nProxy = news@remote.example.net"))
    site.drop(mail(frm="frank@example.net", to="news@example.org", subject="Subscribe me", body="subscribe news\n"))
    site.run()
    assert site.outbound() == []
    assert "frank@example.net" not in members_of(site, "00000001")
    assert "admin subject to news, a client of news@remote.example.net: filtered out" in site.log()


# --- prescan --------------------------------------------------------------------------

def report_mentioning(address, to="owner-news@example.org", quoting="<post-1@example.net>"):
    return mail(frm="MAILER-DAEMON@mx.waste.com", to=to, subject="failure notice", headers="Return-Path: <>\n",
                body="Sorry.\n550 <%s> User Unknown\n\n--- Below this line is a copy of the message.\n\n"
                     "From: carol@example.com\nTo: news@example.org\nMessage-ID: %s\n\nHello\n"
                     % (address, quoting))


def post_sent(site, message_id="<post-1@example.net>"):
    """news sends a post with message_id, the one a true report quotes; its copies are taken away."""
    site.drop("From: carol@example.com\nTo: news@example.org\nSubject: hello\nMessage-ID: %s\n\nHello\n"
              % message_id)
    site.run(now="2026-11-21T08:00:00")
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def test_prescan_bounce_charges_the_failure_on_every_list_of_the_address(site):
    # The manual: the address leaves every list and joins the BounceList, here through the
    # bounce score, and only for a report that quotes a post news sent.
    build(site, patterns="\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n")
    post_sent(site)
    site.drop(report_mentioning("pig.bodine@waste.com"))
    site.run()
    assert members_of(site, "00000001")["pig.bodine@waste.com"] == "BOUNCE 1 2026-11-21"
    assert members_of(site, "00000002")["pig.bodine@waste.com"] == "BOUNCE 1 2026-11-21"
    assert members_of(site, "00000003") == {}
    with open(site.path("logs", "security.at")) as f:
        assert "PRESCAN BOUNCE pig.bodine@waste.com" in f.read()
    assert "prescan BOUNCE: pig.bodine@waste.com charged a permanent failure on news, staff" in site.log()


def test_prescan_bounce_at_bounce_score_moves_the_address_to_the_bounce_list(site):
    build(site, security="BounceScore = 1\n", patterns="\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n")
    post_sent(site)
    site.drop(report_mentioning("pig.bodine@waste.com"))
    site.run()
    assert "pig.bodine@waste.com" not in members_of(site, "00000001")
    assert "pig.bodine@waste.com" not in members_of(site, "00000002")
    assert members_of(site, "00000003") == {"pig.bodine@waste.com": "NOMAIL"}
    for number in ("00000001", "00000002"):
        with open(site.path("logs", number + ".csv")) as f:
            assert [r[2:6] for r in csv.reader(f)] == [["remove", "pig.bodine@waste.com", "tristero@example.org",
                                                        "bounces"]]


@pytest.mark.parametrize("frm, to, headers", [
    ("MAILER-DAEMON@evil.example", "tristero@example.org", ""),                    # /tmp/sec/t3.py
    ("mallory@evil.example", "tristero@example.org", "X-Failed-Recipients: pig.bodine@waste.com\n"),
    ("postmaster@evil.example", "news@example.org", ""),
    ("MAILER-DAEMON@evil.example", "owner-news@example.org", ""),                  # bounce address, a sender
    ("MAILER-DAEMON@evil.example", "tristero@example.org", "Return-Path: <>\n"),   # null sender, no bounce address
])
def test_a_forged_delivery_report_removes_nobody(site, frm, to, headers):
    build(site, security="PreScanMode = 3\nBounceScore = 1\n",
          patterns="\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n")
    site.drop(mail(frm=frm, to=to, subject="failure notice", headers=headers,
                   body="550 <pig.bodine@waste.com> User Unknown\n"))
    site.run()
    assert members_of(site, "00000001")["pig.bodine@waste.com"] == ""
    assert members_of(site, "00000002")["pig.bodine@waste.com"] == ""
    assert members_of(site, "00000003") == {}


def test_prescan_bounce_on_a_verp_list_charges_only_the_member_its_address_names(site):
    from tristero.policy import bounces
    build(site, lists=LISTS.replace("MemberFile = 00000001\n", "MemberFile = 00000001\nVERP = Y\n"),
          patterns="\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n")
    post_sent(site)     # the site's key made, the carol's VERP address with it
    with open(site.path("tristero.key"), "rb") as f:
        key = f.read()
    ctx = type("Ctx", (), {"domain": "example.org", "cookie_key": lambda self: key})()
    site.drop(report_mentioning("pig.bodine@waste.com", to=bounces.envelope_sender(ctx, "news", "carol@example.com")))
    site.run()
    assert members_of(site, "00000001")["pig.bodine@waste.com"] == ""
    assert "the report came back from carol@example.com: nothing charged on news" in site.log()


def test_prescan_bounce_believes_only_delivery_reports(site):
    build(site, security="PreScanMode = 3\n", patterns="\n[PreScan Strings]\nBOUNCE,550 %1 User Unknown\n")
    site.drop(mail(frm="mallory@example.net", to="news@example.org", subject="hi",
                   body="550 <pig.bodine@waste.com> User Unknown\n"))
    site.run()
    assert "pig.bodine@waste.com" in members_of(site, "00000001")


def test_prescan_spam_drops_the_post_and_moves_its_author_to_the_spam_list(site):
    build(site, security="PreScanMode = 2\n", patterns="\n[PreScan Strings]\nSPAM,make money fast\n")
    site.drop(mail(frm="spammy@example.com", to="news@example.org", subject="hi",
                   body="Dear friend,\nMAKE MONEY  FAST!!!\n"))
    site.run()
    assert not posts(site)
    assert "spammy@example.com" not in members_of(site, "00000001")
    assert members_of(site, "00000004") == {"spammy@example.com": "NOMAIL"}
    assert "[PreScan Strings] SPAM,make money fast" in site.log()


def test_prescan_spam_takes_the_author_only_off_the_lists_it_wrote_to(site):
    build(site, security="PreScanMode = 2\n", patterns="\n[PreScan Strings]\nSPAM,make money fast\n")
    site.drop(mail(frm="pig.bodine@waste.com", to="news@example.org", subject="hi", body="make money fast\n"))
    site.run()
    assert "pig.bodine@waste.com" not in members_of(site, "00000001")
    assert "pig.bodine@waste.com" in members_of(site, "00000002")
    assert members_of(site, "00000004") == {"pig.bodine@waste.com": "NOMAIL"}


def test_prescan_spam_never_acts_on_what_looks_like_a_delivery_report(site):
    # /tmp/sec/t3.py: the victim's address in From, a header anyone can write, mail to the robot.
    build(site, patterns="\n[PreScan Strings]\nSPAM,make money fast\n")
    site.drop(mail(frm="carol@example.com", to="tristero@example.org", subject="hi", body="make money fast\n",
                   headers="X-Failed-Recipients: nobody@evil.example\n"))
    site.run()
    assert "carol@example.com" in members_of(site, "00000001")
    assert members_of(site, "00000004") == {}


def test_prescan_admin_sends_a_post_to_the_robot(site):
    build(site, security="PreScanMode = 2\n", patterns="\n[PreScan Strings]\nADMIN,#{unsubscribe\n")
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="please", body="unsubscribe\n"))
    site.run()
    assert not posts(site)
    assert "carol@example.com" not in members_of(site, "00000001")
    assert "prescan: sent to the robot instead of news" in site.log()


def test_prescan_drop_drops(site):
    build(site, security="PreScanMode = 3\n", patterns="\n[PreScan Strings]\nDROP,send $5 to each\n")
    site.drop(mail(frm="frank@example.net", to="tristero@example.org", body="lists\nsend $5 to each name\n"))
    site.run()
    assert site.outbound() == []
    assert "prescan DROP [[PreScan Strings] DROP,send $5 to each]" in site.log()


def test_prescan_mode_1_leaves_mail_that_is_no_report_alone(site):
    build(site, patterns="\n[PreScan Strings]\nDROP,make money\n")
    site.drop(mail(to="news@example.org", subject="hi", body="make money\n"))
    site.run()
    assert len(posts(site)) == 1


def test_prescan_reads_no_more_than_998_characters_of_a_line(site, monkeypatch):
    # An address after a character that can be one of its own is tried at each repeat:
    # a 90,000-character line would cost its square; cut to 998 it costs nothing.
    build(site, security="PreScanMode = 3\n", patterns="\n[PreScan Strings]\nDROP,to:%1 was here\n")
    site.drop(mail(to="news@example.org", subject="hi", body=("to:" * 30000 + "\n") * 4))
    searched = []     # what the run gives the patterns to search
    first = patterns.Section.first
    monkeypatch.setattr(patterns.Section, "first",
                        lambda self, text, allowed=None: searched.append(text) or first(self, text, allowed))
    site.run(subprocess=False)
    assert len(posts(site)) == 1
    [text] = [t for t in searched if "to:to:" in t]
    assert [len(line) for line in text.split("\n")] == [998] * 4


def test_prescan_reads_only_the_first_prescan_limit_lines(site):
    build(site, security="PreScanMode = 3\nPreScanLimit = 5\n", patterns="\n[PreScan Strings]\nDROP,make money\n")
    site.drop(mail(to="news@example.org", subject="hi", body="line\n" * 5 + "make money\n"))
    site.run()
    assert len(posts(site)) == 1


# --- spam list --------------------------------------------------------------------------

def test_mail_from_a_spam_list_member_is_dropped_as_a_kill_is(site):
    build(site, spammers=["junk@example.biz"])
    site.drop(mail(frm="junk@example.biz", to="news@example.org", subject="hi", body="x\n"))
    site.run()
    assert site.outbound() == []
    assert "author junk@example.biz is on the spam list spammers [SpamCheckList spammers]" in site.log()


def test_spam_check_gateways_narrow_the_check_to_their_domains(site):
    build(site, security="SpamCheckGateways = example.info\n",
          spammers=["junk@example.biz", "junk@mail.example.info"])
    site.drop(mail(frm="junk@example.biz", to="news@example.org", subject="one", body="x\n"))
    site.drop(mail(frm="junk@mail.example.info", to="news@example.org", subject="two", body="x\n"))
    site.run()
    assert [p.data.count(b"Subject: one") for p in posts(site)] == [1]


def test_the_spam_list_is_an_ordinary_list_its_owner_adds_to(site):
    build(site)
    site.drop(mail(frm="editor@example.net", body="add spammers junk@example.biz HIDE\n"))
    site.drop(mail(frm="junk@example.biz", to="news@example.org", subject="hi", body="x\n"))
    site.run()
    assert "junk@example.biz" in members_of(site, "00000004")
    assert not posts(site)


# --- invalid senders ---------------------------------------------------------------------

GATEWAYED = ("From: Joe Bloggs at CCMAIL1\nTo: news@example.org\nSubject: gatewayed\n"
             "Message-ID: <gw-1@example.net>\n\n")


def test_sender_is_recovered_from_the_header_quoted_in_the_body(site):
    build(site)
    site.drop(GATEWAYED + "Date: Sat, 21 Nov 2026 09:00:00 +0000\nFrom: Joe Bloggs <joe@example.net>\n\nHello\n")
    site.run()
    assert len(posts(site)) == 1
    log = site.log()
    assert "from=<joe@example.net>" in log
    assert "author joe@example.net found in the body" in log


def test_mail_with_no_sender_anywhere_goes_to_failed_with_the_reason(site):
    build(site)
    site.drop(GATEWAYED + "Hello, no header here.\n")
    site.run()
    assert len(site.listdir("spool", "failed", "new")) == 1
    assert "no valid From address, nor a From: line within the body's first PreScanLimit lines" in site.log()


# --- loops --------------------------------------------------------------------------------

def test_the_robots_own_reply_sent_back_to_the_robot_goes_to_the_superuser(site):
    build(site)
    site.drop("From: Tristero <tristero@example.org>\nTo: tristero@example.org\nSubject: Re: commands\n"
              "Auto-Submitted: auto-replied\nX-Loop: tristero@example.org\nMessage-ID: <r1@example.org>\n\n"
              "Results of your commands:\n\n> subscribe news\nOK: done\n")
    site.run()
    [out] = site.outbound()
    assert out.recipients == ["boss@example.net"]
    assert "tristero@example.org" not in members_of(site, "00000001")


def test_mail_from_the_robot_is_never_posted_even_without_its_loop_header(site):
    build(site)
    site.drop(mail(frm="tristero@example.org", to="news@example.org", subject="Welcome", body="hi\n"))
    site.run()
    assert site.outbound() == []
    assert "dropped: mail from tristero@example.org, an address of this site, not posted" in site.log()
