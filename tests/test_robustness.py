"""Robustness (issue 11): no file replaces another, a run reads its own writes, a message
that kills the process is set aside, degenerate delivery reports are read."""

import os
import signal

import pytest

from conftest import mail
from test_repository import put_file, read, reply, with_files
from tristero.model import cookies
from tristero.model.site import Site
from tristero.policy import bounces

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 10
MaxFileSize = 64
MaxReplySize = 128

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org
Description = News of the day
"""

NOW = "2026-11-21T10:00:00"


@pytest.fixture
def rsite(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")
    for number in ("00000000", "00000001"):
        os.makedirs(site.path("archive", number))
    return site


def replies(site, to):
    """The robot's replies to `to`, as (text, [(file name, content)]), in order."""
    out = []
    for msg in site.messages_to(to):
        if msg["Subject"].startswith("Re:"):
            files = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
            out.append((msg.get_body(("plain",)).get_content(), files))
    return out


# --- no file replaces another -------------------------------------------------------

def test_the_same_inbound_name_twice_at_the_same_second_leaves_both_outbound_files(rsite):
    # A replay, or a mail server that reuses names: the first answer is not delivered yet.
    rsite.drop(mail(frm="alice@example.net", body="lists\n"), name="1700000001.M1P1.mx")
    rsite.run(now=NOW)
    first = rsite.listdir("spool", "out", "new")
    rsite.drop(mail(frm="bob@example.net", body="lists\n"), name="1700000001.M1P1.mx")
    rsite.run(now=NOW)
    files = rsite.listdir("spool", "out", "new")
    assert len(first) == 1 and len(files) == 2 and first[0] in files
    assert sorted(r for b in rsite.outbound() for r in b.recipients) == ["alice@example.net", "bob@example.net"]
    # Both inbound messages are kept too, each under a name of its own.
    assert rsite.listdir("spool", "in", "cur") == ["1700000001.M1P1-2.mx:2,S", "1700000001.M1P1.mx:2,S"]


def test_an_outbound_name_already_delivered_is_not_used_again(rsite):
    rsite.drop(mail(frm="alice@example.net", body="lists\n"), name="1700000001.M1P1.mx")
    rsite.run(now=NOW)
    [name] = rsite.listdir("spool", "out", "new")
    os.rename(rsite.path("spool", "out", "new", name), rsite.path("spool", "out", "cur", name + ":2,S"))
    rsite.drop(mail(frm="bob@example.net", body="lists\n"), name="1700000001.M1P1.mx")
    rsite.run(now=NOW)
    [again] = rsite.listdir("spool", "out", "new")
    assert again != name and rsite.listdir("spool", "out", "cur") == [name + ":2,S"]


def test_the_same_name_failing_twice_leaves_both_messages_in_failed(rsite):
    for body in (b"", b"\n\n"):
        rsite.drop(body, name="1700000001.M1P1.mx")
        rsite.run(now=NOW)
    assert rsite.listdir("spool", "failed", "new") == ["1700000001.M1P1-2.mx", "1700000001.M1P1.mx"]
    notices = [m.get_body(("plain",)).get_content() for m in rsite.messages_to("boss@example.org")]
    assert len(notices) == 2 and any("  1700000001.M1P1-2.mx: empty file" in n for n in notices)


def attachment_post(text, data, message_id="<same@example.net>"):
    return ("From: carol@example.com\nTo: news@example.org\nSubject: minutes\nMessage-ID: %s\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\n"
            "Content-Type: text/plain\n\n%s\n--B\nContent-Type: application/pdf\n"
            "Content-Disposition: attachment; filename=minutes.pdf\n\n%s\n--B--\n"
            % (message_id, text, data))


@pytest.mark.parametrize("runs", [1, 2])
def test_a_post_never_replaces_the_attachment_another_post_left_in_the_archive(rsite, runs):
    # Two posts with the same Message-ID (a forger's, or a resend) and an attachment of the same name.
    with open(rsite.path("tristero.ini"), "a") as f:
        f.write("Archive = FILEONLY\n")
    rsite.drop(attachment_post("first", "PDF-ONE"))
    if runs == 2:
        rsite.run(now=NOW)
    rsite.drop(attachment_post("second", "PDF-TWO"))
    rsite.run(now=NOW)
    folder = rsite.path("archive", "00000001", "files", "20261121")
    names = sorted(os.listdir(folder), key=len)
    assert len(names) == 2 and names[1] == names[0].replace(".pdf", "-2.pdf")
    assert [read(os.path.join(folder, n)).strip() for n in names] == [b"PDF-ONE", b"PDF-TWO"]
    day = read(rsite.path("archive", "00000001", "20261121.txt")).decode()
    assert "GET news files/20261121/%s]" % names[0] in day and "GET news files/20261121/%s]" % names[1] in day


# --- read your writes ------------------------------------------------------------------

def test_a_file_put_is_there_for_the_rest_of_the_message(rsite):
    rsite.drop(with_files("put news\nindex news\nget news notes.txt\nfetch news notes.txt\n",
                          [("notes.txt", b"minutes of the meeting\n")]))
    rsite.run(now=NOW)
    text, files = reply(rsite, "owner@example.org")
    assert "OK: 1 file(s) stored in news: notes.txt (23 bytes)" in text
    assert "OK: 1 file(s) in news" in text and "2026-11-21          23  notes.txt" in text
    assert "OK: 1 file(s) of news attached: notes.txt (23 bytes)" in text
    assert "OK: 1 file(s) of news sent, each as a message of its own: notes.txt" in text
    assert files == [("notes.txt", "minutes of the meeting\n", "text/plain")]


def test_a_file_put_is_there_for_the_next_messages_of_the_run(rsite):
    rsite.drop(with_files("put news", [("notes.txt", b"minutes\n")]))
    rsite.drop(mail(frm="carol@example.com", body="index news\nget news notes.txt\n"))
    rsite.drop(with_files("put news", [("notes.txt", b"other minutes\n")], frm="carol@example.com",
                          subject="again"))
    rsite.run(now=NOW)
    [(index, files), (again, _)] = sorted(replies(rsite, "carol@example.com"), key=lambda r: "index" not in r[0])
    assert "  2026-11-21           8  notes.txt" in index and files == [("notes.txt", "minutes\n")]
    assert "notes.txt exists and was kept (PUT ... FORCE replaces it)" in again
    assert read(rsite.path("archive", "00000001", "notes.txt")) == b"minutes\n"


def test_a_file_killed_is_gone_for_the_rest_of_the_message_and_the_run(rsite):
    put_file(rsite, "00000001/old.txt", b"old\n")
    rsite.drop(with_files("put news\nkill news new.txt old.txt\nget news new.txt old.txt\nindex news\n",
                          [("new.txt", b"new\n")]))
    rsite.drop(with_files("put news\n", [("old.txt", b"old, again\n")], subject="again"))
    rsite.run(now=NOW)
    [(text, files), (again, _)] = sorted(replies(rsite, "owner@example.org"), key=lambda r: "kill" not in r[0])
    assert "OK: 2 file(s) removed from news: new.txt, old.txt" in text
    assert "new.txt: there is no file new.txt" in text and "old.txt: there is no file old.txt" in text
    assert "OK: 0 file(s) in news" in text and files == []
    # Stored without FORCE: the file it would replace is gone.
    assert "OK: 1 file(s) stored in news: old.txt (11 bytes)" in again
    assert rsite.listdir("archive", "00000001") == ["old.txt"]


def test_a_file_killed_then_put_again_in_one_message_is_kept(rsite):
    put_file(rsite, "00000001/a.txt", b"old\n")
    rsite.drop(with_files("kill news a.txt\nput news\nget news a.txt\n", [("a.txt", b"new\n")]))
    rsite.run(now=NOW)
    text, files = reply(rsite, "owner@example.org")
    assert files == [("a.txt", "new\n", "text/plain")]
    assert read(rsite.path("archive", "00000001", "a.txt")) == b"new\n"


def test_the_days_posts_are_there_for_the_next_messages_of_the_run(rsite):
    rsite.drop(mail(frm="carol@example.com", to="news@example.org", subject="Picnic", body="Bring a kite.\n"))
    rsite.drop(mail(frm="dave@example.net", body="search news kite\nget news 20261121\nindex news\n"))
    rsite.run(now=NOW)
    [(text, files)] = replies(rsite, "dave@example.net")
    assert 'OK: 1 post(s) hold "kite" in the archive of news' in text
    assert "  2026-11-21  carol@example.com: Picnic\n    | Bring a kite." in text
    assert [n for n, _ in files] == ["20261121.txt"] and "Bring a kite." in files[0][1]
    assert "20261121.txt" in text.split("file(s) in news", 1)[1]


def test_the_welcome_put_is_the_one_a_member_added_later_in_the_message_gets(rsite):
    rsite.drop(with_files("put news FORCE\nadd news erin@example.net\n", [("welcome.txt", b"Hello from news!\n")]))
    rsite.run(now=NOW)
    [welcome] = rsite.messages_to("erin@example.net")
    assert "Hello from news!" in welcome.get_body(("plain",)).get_content()


def test_a_day_file_killed_then_posted_to_holds_only_the_new_post_all_along(rsite):
    put_file(rsite, "00000001/20261121.txt", b"From a@example.net Sat Nov 21 09:00:00 2026\nSubject: x\n\nOLD-POST\n\n")
    rsite.drop(mail(frm="owner@example.org", body="kill news 20261121\n"))
    rsite.drop(mail(frm="carol@example.com", to="news@example.org", subject="New", body="NEW-POST\n"))
    rsite.drop(mail(frm="dave@example.net", body="get news 20261121\n"))
    rsite.run(now=NOW)
    [(_, [(name, text)])] = replies(rsite, "dave@example.net")
    on_disk = read(rsite.path("archive", "00000001", "20261121.txt")).decode()
    assert text == on_disk and "NEW-POST" in text and "OLD-POST" not in text


# --- a message that kills the process ----------------------------------------------------

PILL = "POISON-PILL"
SOON = "2023-11-15T10:00:00"    # a day after the drops' times: no processed mail expires


def killed(site):
    """Run with the testing hook: a message that holds PILL kills the run (SIGKILL)."""
    p = site.run(now=SOON, check=False, env={"TRISTERO_CRASH_ON": PILL}, subprocess=True)
    assert b"Traceback" not in p.stderr
    return p.returncode == -signal.SIGKILL


def test_a_message_that_kills_every_run_is_set_aside_after_the_third(rsite):
    first = rsite.drop(mail(frm="alice@example.net", body="lists\n"))
    pill = rsite.drop(mail(frm="mallory@example.net", to="news@example.org", subject="x", body=PILL + "\n"))
    last = rsite.drop(mail(frm="bob@example.net", body="lists\n"))
    with open(rsite.path("spool", "in", "new", pill), "rb") as f:
        whole = f.read()
    assert killed(rsite)
    # Written once for the transaction, before its first message: nothing per message.
    with open(rsite.path("spool", "processing")) as f:
        assert f.read() == "transaction 500 %s\n" % first
    assert killed(rsite)
    # The first death was in a transaction: each of its messages was noted before it was processed.
    with open(rsite.path("spool", "processing")) as f:
        assert f.read() == "alone 1 %s\n" % pill
    assert killed(rsite)
    assert rsite.listdir("spool", "in", "new") == sorted([first, pill, last])
    assert not killed(rsite)
    assert rsite.listdir("spool", "failed", "new") == [pill]
    with open(rsite.path("spool", "failed", "new", pill), "rb") as f:
        assert f.read() == whole
    assert rsite.listdir("spool", "in", "cur") == sorted([first + ":2,S", last + ":2,S"])
    [notice] = [m.get_body(("plain",)).get_content() for m in rsite.messages_to("boss@example.org")]
    assert "  %s: 3 runs died while processing it" % pill in notice
    assert {r for b in rsite.outbound() for r in b.recipients} == {
        "alice@example.net", "bob@example.net", "boss@example.org"}
    assert not [n for n in rsite.listdir("spool") if n.startswith("processing")]
    log = rsite.log()
    assert "recovered: the last run died in a transaction of 3 message(s) from %s on" % first in log
    assert "recovered: the last run died while processing %s (2 of 3 times)" % pill in log
    assert "recovered: the last run died while processing %s (3 of 3 times)" % pill in log


def test_a_message_in_hand_once_when_a_run_died_is_processed_by_the_next(rsite):
    rsite.drop(mail(frm="alice@example.net", body="lists\n"))
    rsite.drop(mail(frm="carol@example.com", to="news@example.org", subject="x", body=PILL + "\n"))
    assert killed(rsite) and killed(rsite)
    rsite.run(now=SOON)
    assert rsite.listdir("spool", "failed", "new") == [] and rsite.listdir("spool", "in", "new") == []
    assert not [n for n in rsite.listdir("spool") if n.startswith("processing")]
    assert [b.recipients for b in rsite.outbound() if "carol@example.com" in b.recipients] == [
        ["carol@example.com"]]


def test_an_orderly_run_leaves_no_note_of_what_it_had_in_hand(rsite):
    rsite.drop(mail(frm="alice@example.net", body="lists\n"))
    rsite.run(now=SOON)
    assert not [n for n in rsite.listdir("spool") if n.startswith("processing")]


# --- delivery reports whose status part names nobody ------------------------------------

def verp_address(tsite, member):
    """The VERP return path news gives member, tag included."""
    class Ctx:
        site = Site(tsite.home)
        domain = "example.org"

        def cookie_key(self):
            return cookies.key(self.site)
    local, domain = member.split("@")
    return "owner-news+%s=%s+%s@example.org" % (local, domain, bounces.verp_tag(Ctx(), "news", member))


@pytest.mark.parametrize("sample, member, option", [
    ("simple_13.txt", "userx@example.fr", "BOUNCE 1 2026-11-21"),      # "Message removed"
    ("netscape_01.txt", "aaaaa@corel.com", "BOUNCE 1 2026-11-21"),     # "not delivered within 2 days"
    ("dsn_03.txt", "userx@example.be", ""),                            # a size refusal: the post's fault
])
def test_a_report_whose_status_part_names_nobody_is_read_for_its_failures(rsite, sample, member, option):
    with open(rsite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n%s =\n" % member)
    with open(os.path.join(os.path.dirname(__file__), "data", "flufl-bounce", sample), "rb") as f:
        raw = f.read()
    # As the site's mail server delivers it (a report comes with the null sender), to
    # the member's tagged VERP address: these reports quote no Message-ID of the post,
    # so the tag is their proof (see test_forged_bounces).
    lines = [l for l in raw.split(b"\n") if not l.lower().startswith((b"return-path:", b"delivered-to:"))]
    envelope = b"Return-Path: <>\nX-Original-To: %s\n" % verp_address(rsite, member).encode()
    if not any(l.lower().startswith(b"from:") for l in lines[:lines.index(b"")]):
        envelope += b"From: MAILER-DAEMON@mx.example.net\n"
    rsite.drop(envelope + b"\n".join(lines))
    rsite.run(now=NOW)
    with open(rsite.path("lists", "00000001.ini")) as f:
        assert ("%s = %s" % (member, option)).rstrip() in f.read().splitlines()
    assert "no failed recipient" not in rsite.log()
    assert ("charged to the post" in rsite.log()) == (not option)
