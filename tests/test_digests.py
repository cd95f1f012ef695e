"""Digests and the archive (README "Archive, files and digests"): daily, weekly and monthly
digests sent by the first run of a day, topics du jour, MIME and RFC 1153 forms, REWIND
and CATCHUP, archive modes, archiving turned off, expiry."""

import base64
import datetime
import email
import os

import pytest

from conftest import mail
from tristero.services import digests

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 10

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org
ForwardPrefix = [news]
"""


def build(site, members, ini=INI):
    site.write_ini(ini)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join(m + "\n" for m in members))
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    return site


def day_file(site, ymd, posts):
    """An archive day file as posting writes it: [(author, subject, body)]."""
    with open(site.path("archive", "00000001", ymd + ".txt"), "wb") as f:
        for i, (frm, subject, body) in enumerate(posts):
            f.write(("From %s Fri Nov 20 10:00:00 2026\nFrom: %s\nSubject: %s\nMessage-ID: <%s.%d@example.net>\n"
                     "Date: Fri, 20 Nov 2026 10:00:00 +0000\n\n%s\n\n" % (frm, frm, subject, ymd, i, body)).encode())


def digests_to(site, address):
    return [m for m in site.messages_to(address) if m["Subject"].startswith(("news digest", "news Digest"))]


def one_digest(site, address):
    found = digests_to(site, address)
    assert len(found) == 1, [m["Subject"] for m in site.messages_to(address)]
    return found[0]


def summary(msg):
    return msg.get_body(("plain",)).get_content()


def fresh(site):
    n = len(site.listdir("spool", "out"))
    os.rename(site.path("spool", "out", "new"), site.path("spool", "out", "seen%d" % n))
    os.makedirs(site.path("spool", "out", "new"))


def options_of(site, address):
    from tristero.model.members import load
    return load("00000001", site.path("lists", "00000001.ini")).get(address)[1]


def reply_text(site, to):
    [m] = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    return m.get_body(("plain",)).get_content()


DAY = datetime.date(2026, 11, 21)        # a Saturday


# --- the week ------------------------------------------------------------------------

def test_a_daily_digest_each_morning_and_a_weekly_one_on_mondays_as_now_steps_day_by_day(site):
    build(site, ["daily@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20",
                 "weekly@example.com = DIGEST WEEKLY SUMMARY MIME 2026-11-20"])
    daily, weekly = {}, {}
    for i in range(10):                          # Saturday 21 to Monday 30 November
        today = DAY + datetime.timedelta(days=i)
        for n in range(i % 3 + 1):
            site.drop(mail(frm="alice@example.net", to="news@example.org",
                           subject=("Re: " if n else "") + "Day %d" % i, body="post %d of day %d\n" % (n, i)))
        site.run(now=today.isoformat() + "T10:00:00")
        daily[today] = [summary(m).split("\n", 2)[:2] for m in digests_to(site, "daily@example.com")]
        weekly[today] = [m["Subject"] for m in digests_to(site, "weekly@example.com")]
        fresh(site)
    assert daily[DAY] == []                      # nothing was posted on the 20th
    for i in range(1, 10):
        today = DAY + datetime.timedelta(days=i)
        posts = (i - 1) % 3 + 1
        assert daily[today] == [["news digest, %s" % (today - datetime.timedelta(days=1)).isoformat(),
                                 "%d message(s), 1 subject(s)." % posts]], today
    assert {d: s for d, s in weekly.items() if s} == {
        datetime.date(2026, 11, 23): ["news digest, 2026-11-21 to 2026-11-22 (3 messages)"],
        datetime.date(2026, 11, 30): ["news digest, 2026-11-23 to 2026-11-29 (15 messages)"]}
    assert options_of(site, "weekly@example.com") == "DIGEST WEEKLY SUMMARY MIME 2026-11-29"


def test_digest_members_do_not_get_each_post(site):
    build(site, ["daily@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20", "mail@example.com ="])
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Hello"))
    site.run()
    assert [b.recipients for b in site.outbound()] == [["mail@example.com"]]


def test_a_digest_goes_once_a_day(site):
    build(site, ["daily@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "One", "x")])
    site.run(now="2026-11-21T02:00:00")
    site.run(now="2026-11-21T03:00:00")
    assert len(digests_to(site, "daily@example.com")) == 1


def test_a_monthly_digest_goes_on_the_first_with_the_month_before(site):
    build(site, ["m@example.com = DIGEST MONTHLY SUMMARY MIME 2026-10-31"])
    day_file(site, "20261103", [("a@example.net", "Early", "x")])
    day_file(site, "20261130", [("a@example.net", "Late", "x")])
    site.run(now="2026-11-30T02:00:00")
    assert digests_to(site, "m@example.com") == []
    site.run(now="2026-12-01T02:00:00")
    assert one_digest(site, "m@example.com")["Subject"] == "news digest, 2026-11-01 to 2026-11-30 (2 messages)"


# --- what a digest holds ---------------------------------------------------------------------

def test_topics_du_jour_are_the_subjects_in_order_with_counts_reply_marks_ignored():
    subjects = ["Budget", "Re: Budget", "Picnic", "RE: [news] Re [3]: budget", "AW: Picnic", "Fwd: Re[2]: Picnic",
                "", "Re:", "New topic"]
    assert digests.topics(subjects, "[news]") == [("Budget", 3), ("Picnic", 3), ("(no subject)", 2),
                                                    ("New topic", 1)]


def test_the_summary_has_the_tally_and_the_topics_du_jour(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "Budget", "x"), ("b@example.net", "Re: [news] Budget", "y"),
                                ("c@example.net", "Picnic", "z")])
    site.run()
    assert summary(one_digest(site, "d@example.com")).startswith(
        "news digest, 2026-11-20\n3 message(s), 2 subject(s).\n\nTopics du jour:\n  Budget (2)\n  Picnic\n")


def test_a_mime_digest_carries_a_days_posts_as_multipart_digest(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "One", "first"), ("b@example.net", "Two", "second")])
    site.run()
    msg = one_digest(site, "d@example.com")
    assert msg.get_content_type() == "multipart/mixed"
    text, digest = msg.iter_parts()
    assert digest.get_content_type() == "multipart/digest"
    posts = [p.get_content() for p in digest.iter_parts()]
    assert [(p["Subject"], p.get_content()) for p in posts] == [("One", "first\n"), ("Two", "second\n")]
    assert msg["List-Id"] == "news <news.example.org>" and msg["Precedence"] == "list"
    assert msg["Reply-To"] == "news@example.org"
    assert site.outbound()[0].sender == "owner-news@example.org"


def test_a_day_over_20_kb_is_attached_as_a_file(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "Long %d" % i, "x" * 1000) for i in range(25)])
    site.run()
    msg = one_digest(site, "d@example.com")
    [attached] = list(msg.iter_attachments())
    assert attached.get_filename() == "news-20261120.txt"
    with open(site.path("archive", "00000001", "20261120.txt"), "rb") as f:
        assert attached.get_content().encode() == f.read()
    assert "The 25 post(s) of 2026-11-20 (28.3 KB) are attached as news-20261120.txt." in summary(msg)


def test_a_plain_digest_follows_rfc_1153(site):
    build(site, ["p@example.com = DIGEST DAILY SUMMARY PLAIN 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "One", "first\n" + "-" * 30 + "\nafter"),
                                ("b@example.net", "Re: One", "second")])
    site.run()
    msg = one_digest(site, "p@example.com")
    assert msg["Subject"] == "news Digest V2026 #324" and msg.get_content_type() == "text/plain"
    text = msg.get_content()
    assert text.startswith("news Digest                   Fri, 20 Nov 2026   Volume 2026 : Issue 324\n")
    assert "\nToday's Topics:\n\n   One (2 msgs)\n" in text
    assert "\n" + "-" * 70 + "\n\nDate: Fri, 20 Nov 2026 10:00:00 +0000\nFrom: a@example.net\nSubject: One\n" in text
    assert "\nfirst\n " + "-" * 30 + "\nafter\n\n" + "-" * 30 + "\n\n" in text
    assert text.endswith("\nEnd of news Digest V2026 Issue #324\n" + "*" * 35 + "\n")


def test_a_nosummary_digest_has_no_tally_and_no_topics(site):
    build(site, ["n@example.com = DIGEST DAILY NOSUMMARY MIME 2026-11-19"])
    day_file(site, "20261120", [("a@example.net", "One", "first")])
    site.run()
    text = summary(one_digest(site, "n@example.com"))
    assert text.startswith("news digest, 2026-11-20\n\n") and "Topics du jour" not in text


def test_a_summaryonly_digest_ends_with_get_commands_that_work_when_replied_to(site):
    build(site, ["s@example.com = DIGEST WEEKLY SUMMARYONLY MIME 2026-11-20"])
    day_file(site, "20261121", [("a@example.net", "Sat", "x")])
    day_file(site, "20261122", [("a@example.net", "Sun", "y")])
    site.run(now="2026-11-23T02:00:00")
    msg = one_digest(site, "s@example.com")
    assert msg.get_content_type() == "text/plain" and msg["Reply-To"] == "news-request@example.org"
    assert "---\nSTART\nGET news 20261121.txt\nGET news 20261122.txt\nSTOP\n" in msg.get_content()
    fresh(site)
    quoted = "".join("> " + line + "\n" for line in msg.get_content().splitlines())
    site.drop(mail(frm="s@example.com", to="news-request@example.org", subject="Re: " + msg["Subject"],
                   body="Please.\n\n" + quoted))
    site.run(now="2026-11-23T09:00:00")
    [r] = site.messages_to("s@example.com")
    assert [p.get_filename() for p in r.iter_attachments()] == ["20261121.txt", "20261122.txt"]
    assert "2 command(s): 2 ok" in r.get_body(("plain",)).get_content()


def test_days_beyond_max_reply_size_are_left_for_get(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-18"],
          ini=INI.replace("MaxRecipients = 10", "MaxRecipients = 10\nMaxReplySize = 30"))
    day_file(site, "20261119", [("a@example.net", "Big %d" % i, "x" * 1000) for i in range(25)])
    day_file(site, "20261120", [("a@example.net", "Big %d" % i, "x" * 1000) for i in range(25)])
    site.run()
    msg = one_digest(site, "d@example.com")
    assert [p.get_filename() for p in msg.iter_attachments()] == ["news-20261119.txt"]
    assert ("The posts of 2026-11-20 (28.3 KB) are too many for one message (MaxReplySize): "
            "GET news 20261120.txt") in summary(msg)


def test_members_with_the_same_choice_share_one_message(site):
    build(site, ["a@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19",
                 "b@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19",
                 "c@example.com = DIGEST DAILY SUMMARY PLAIN 2026-11-19"])
    day_file(site, "20261120", [("x@example.net", "One", "first")])
    site.run()
    assert sorted(b.recipients for b in site.outbound()) == [["a@example.com", "b@example.com"], ["c@example.com"]]


def test_digests_are_the_same_bytes_for_the_same_input_and_now(site, tmp_path):
    import conftest
    other = conftest.TestSite(tmp_path / "other")
    os.makedirs(other.home)
    out = []
    for s in (site, other):
        build(s, ["a@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"])
        day_file(s, "20261120", [("x@example.net", "One", "first")] * 30)
        s.run()
        out.append([(b.sender, b.recipients, b.data) for b in s.outbound()] + s.listdir("spool", "out", "new"))
    assert out[0] == out[1] and len(out[0]) == 2


# --- the members' commands -----------------------------------------------------------

def test_set_digest_keeps_the_choice_in_the_member_file(site):
    build(site, ["m@example.com = NOMAIL"])
    site.drop(mail(frm="m@example.com", body="set news digest weekly summaryonly plain"))
    site.run()
    assert "OK: news: WEEKLY SUMMARYONLY PLAIN digest for m@example.com, from the posts of 2026-11-21 on" \
        in reply_text(site, "m@example.com")
    assert options_of(site, "m@example.com") == "DIGEST WEEKLY SUMMARYONLY PLAIN 2026-11-20"


def test_set_mail_and_set_nomail_end_the_digest(site):
    build(site, ["m@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20", "n@example.com = DIGEST"])
    site.drop(mail(frm="m@example.com", body="set news mail"))
    site.drop(mail(frm="n@example.com", body="set news nomail"))
    site.run()
    assert options_of(site, "m@example.com") == "" and options_of(site, "n@example.com") == "NOMAIL"


def test_set_digest_needs_an_archive(site):
    build(site, ["m@example.com ="], ini=INI + "Archive = N\n")
    site.drop(mail(frm="m@example.com", body="set news digest"))
    site.run()
    assert "REFUSED: news keeps no archive (Archive = N), so it sends no digests" in reply_text(site, "m@example.com")


def test_a_bad_digest_word_is_an_error(site):
    build(site, ["m@example.com ="])
    site.drop(mail(frm="m@example.com", body="set news digest hourly"))
    site.run()
    assert "ERROR: hourly is not a digest option" in reply_text(site, "m@example.com")


def test_rewind_sends_earlier_days_again(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20"])
    for ymd in ("20261118", "20261119", "20261120", "20261121"):
        day_file(site, ymd, [("a@example.net", "Day " + ymd, "x")])
    site.run(now="2026-11-21T02:00:00")           # the day's digests are out
    site.drop(mail(frm="d@example.com", body="rewind news 2"))
    site.run()
    assert "OK: news: your next digest starts with the posts of 2026-11-19" in reply_text(site, "d@example.com")
    site.run(now="2026-11-22T02:00:00")
    assert one_digest(site, "d@example.com")["Subject"] == "news digest, 2026-11-19 to 2026-11-21 (3 messages)"


def test_catchup_skips_the_days_not_yet_sent(site):
    build(site, ["w@example.com = DIGEST WEEKLY SUMMARY MIME 2026-11-15"])
    for ymd in ("20261116", "20261117", "20261123"):
        day_file(site, ymd, [("a@example.net", "Day " + ymd, "x")])
    site.drop(mail(frm="w@example.com", body="catchup news"))
    site.run(now="2026-11-19T10:00:00")
    site.run(now="2026-11-30T02:00:00")
    assert one_digest(site, "w@example.com")["Subject"] == "news digest, 2026-11-19 to 2026-11-29 (1 message)"


def test_rewind_is_for_digest_members(site):
    build(site, ["m@example.com ="])
    site.drop(mail(frm="m@example.com", body="rewind news"))
    site.run()
    assert "ERROR: you do not receive digests of news (SET news DIGEST)" in reply_text(site, "m@example.com")


# --- the archive's modes and archiving turned off ------------------------------------------------

def post_with_attachment(site):
    msg = email.message.EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "alice@example.net", "news@example.org", "Report"
    msg["Message-ID"] = "<report@example.net>"
    msg.set_content("See the report.\n")
    msg.add_attachment(b"%PDF-report", maintype="application", subtype="pdf", filename="report.pdf")
    site.drop(msg.as_bytes())


def archived(site, ymd="20261120"):
    with open(site.path("archive", "00000001", ymd + ".txt"), "rb") as f:
        return f.read()


def test_archive_y_keeps_the_text_and_names_each_attachment(site):
    build(site, ["m@example.com ="])
    post_with_attachment(site)
    site.run(now="2026-11-20T10:00:00")
    data = archived(site)
    assert b"See the report." in data and base64.b64encode(b"%PDF-report") not in data
    assert b"[Attachment report.pdf (application/pdf, 11 bytes) not kept in the archive]" in data


def test_archive_complete_keeps_attachments_and_the_digest_adds_them(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"], ini=INI + "Archive = COMPLETE\n")
    post_with_attachment(site)
    site.run(now="2026-11-20T10:00:00")
    assert base64.b64encode(b"%PDF-report") in archived(site)
    site.run(now="2026-11-21T02:00:00")
    msg = one_digest(site, "d@example.com")
    assert [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()
            if p.get_filename()] == [("report.pdf", b"%PDF-report")]
    assert "1 file(s) attached to the posts are added at the end." in summary(msg)


def test_archive_fileonly_keeps_attachments_as_files_and_the_digest_adds_them(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"], ini=INI + "Archive = FILEONLY\n")
    post_with_attachment(site)
    site.run(now="2026-11-20T10:00:00")
    [stored] = site.listdir("archive", "00000001", "files", "20261120")
    assert stored.endswith("-report.pdf")
    assert b"kept in the archive: GET news files/20261120/%s]" % stored.encode() in archived(site)
    site.run(now="2026-11-21T02:00:00")
    msg = one_digest(site, "d@example.com")
    assert [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()
            if p.get_filename()] == [("report.pdf", b"%PDF-report")]


def test_a_summaryonly_digest_adds_no_attachments(site):
    build(site, ["s@example.com = DIGEST DAILY SUMMARYONLY MIME 2026-11-19"], ini=INI + "Archive = COMPLETE\n")
    post_with_attachment(site)
    site.run(now="2026-11-20T10:00:00")
    site.run(now="2026-11-21T02:00:00")
    assert one_digest(site, "s@example.com").get_content_type() == "text/plain"


def test_set_archive_n_moves_digest_members_back_to_mail_each_told(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20",
                 "w@example.com = DIGEST WEEKLY SUMMARY MIME 2026-11-20", "m@example.com ="])
    site.drop(mail(frm="owner@example.org", body="set news archive n"))
    site.run()
    assert "news: 2 digest member(s) now receive each post, and were told" in reply_text(site, "owner@example.org")
    [notice] = [b for b in site.outbound() if "d@example.com" in b.recipients]
    assert notice.recipients == ["d@example.com", "w@example.com"]
    assert b"Subject: Your digest of news has ended" in notice.data
    assert options_of(site, "d@example.com") == "" and options_of(site, "w@example.com") == ""


def test_archive_turned_off_by_hand_moves_digest_members_back_at_housekeeping(site):
    build(site, ["d@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"], ini=INI + "Archive = N\n")
    day_file(site, "20261120", [("a@example.net", "One", "x")])
    site.run()
    [notice] = site.messages_to("d@example.com")
    assert notice["Subject"] == "Your digest of news has ended"
    assert options_of(site, "d@example.com") == ""


def test_set_archive_takes_complete_and_fileonly(site):
    build(site, ["m@example.com ="])
    site.drop(mail(frm="owner@example.org", body="set news archive complete\nset news archive sometimes\n"))
    site.run()
    text = reply_text(site, "owner@example.org")
    assert "OK: news Archive = complete" in text
    assert "ERROR: Archive: 'sometimes' is not Y, N, COMPLETE or FILEONLY" in text


# --- expiry ---------------------------------------------------------------------------

@pytest.mark.parametrize("keep, left", [(0, ["20261010.txt", "20261113.txt", "20261114.txt", "20261120.txt"]),
                                        (7, ["20261114.txt", "20261120.txt"])])
def test_housekeeping_removes_day_files_older_than_archive_days(site, keep, left):
    build(site, [], ini=INI + "ArchiveDays = %d\n" % keep)
    for ymd in ("20261010", "20261113", "20261114", "20261120"):
        day_file(site, ymd, [("a@example.net", "x", "y")])
    with open(site.path("archive", "00000001", "readme.txt"), "w") as f:
        f.write("kept\n")
    site.run()
    assert site.listdir("archive", "00000001") == left + ["readme.txt"]


def test_a_digest_for_many_leaves_out_the_one_click_link_that_names_its_recipient(site):
    # Was: a {list}/{address} template in UnsubscribeURL; now each post's link is signed
    # for its recipient, and a digest (one copy for many) has the mailto form only.
    build(site, ["a@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19"],
          ini=INI.replace("MaxRecipients = 10", "MaxRecipients = 10\n"
                          "UnsubscribeURL = https://lists.example.org/u"))
    day_file(site, "20261120", [("x@example.net", "One", "first")])
    site.run()
    msg = one_digest(site, "a@example.com")
    assert msg["List-Unsubscribe"] == "<mailto:news-request@example.org?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None
