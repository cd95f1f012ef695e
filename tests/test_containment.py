"""Containment: mail the pipeline cannot process goes whole to spool/failed/new,
with the reason in the log and a notice to the SuperUser, and the batch goes on
(exit 0); odd mail it can process is processed. Each case through the front
door: mail dropped in spool/in/new, a real run, the spools read back. In every
test a good message dropped after the bad one must still be answered.
(A full disk stops the batch instead: see the end of this file and test_crash.py.)
"""

import base64
import codecs
import datetime
import email
import os
import random
import re
import resource
import stat
import subprocess
import sys
from email import policy

import pytest

from conftest import BASE_INI, INTERPRETER_WRITES_NOTHING, NEWS_LIST, TRISTERO, mail, peak_memory
from tristero.model import spools
from tristero.model.site import Site
from tristero.runtime import batch

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, symlinks, rlimits")

INI = BASE_INI + """\
LogLevel = 2

[LIST news]
Type = Open
Owner = boss@example.org
MemberFile = 00000001
"""


@pytest.fixture
def site(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nbob@example.net =\n")
    return site


def drop_good(site):
    """A message that must be answered whatever came before it."""
    return site.drop(mail(frm="zoe@example.net", subject="after", body="lists\n"))


def check_went_on(site, good):
    assert site.listdir("spool", "in", "new") == []
    assert good + ":2,S" in site.listdir("spool", "in", "cur")
    replies = site.messages_to("zoe@example.net")
    assert len(replies) == 1 and "OK: 1 list(s)" in replies[0].get_content()


def check_failed_whole(site, name, data, reason):
    """name is in spool/failed/new with exactly its bytes, the log says why, the SuperUser was told."""
    assert site.listdir("spool", "failed", "new") == [name]
    with open(site.path("spool", "failed", "new", name), "rb") as f:
        assert f.read() == data
    assert name not in site.listdir("spool", "in", "cur")
    lines = [l for l in site.log().splitlines() if name in l]
    assert len(lines) == 1 and "moved to spool/failed: " + reason in lines[0], lines
    notices = site.messages_to("boss@example.org")
    assert len(notices) == 1
    assert notices[0]["Subject"] == "Tristero: 1 message(s) moved to spool/failed"
    assert notices[0]["Auto-Submitted"] == "auto-generated"
    assert "%s: %s" % (name, reason) in notices[0].get_content()


def run_ok(site):
    p = site.run()
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b""
    return p


def reply_to(site, address):
    replies = site.messages_to(address)
    assert len(replies) == 1, [r["Subject"] for r in replies]
    return replies[0]


# --- mail that cannot be processed ---

def test_an_empty_file_goes_whole_to_failed(site):
    bad = site.drop(b"")
    good = drop_good(site)
    run_ok(site)
    check_failed_whole(site, bad, b"", "empty file")
    check_went_on(site, good)


def test_a_file_of_blank_lines_goes_whole_to_failed(site):
    bad = site.drop(b"\n\r\n \t\n")
    good = drop_good(site)
    run_ok(site)
    check_failed_whole(site, bad, b"\n\r\n \t\n", "empty file")
    check_went_on(site, good)


def test_a_binary_blob_goes_whole_to_failed(site):
    blob = bytes(random.Random(7).getrandbits(8) for _ in range(20000)) + b"\0\0\xff"
    assert b"\0" in blob and b":" not in blob[:200]
    bad = site.drop(blob)
    good = drop_good(site)
    run_ok(site)
    check_failed_whole(site, bad, blob, "no header fields")
    check_went_on(site, good)


def test_a_message_with_no_from_goes_whole_to_failed(site):
    data = b"To: tristero@example.org\nSubject: help\nMessage-ID: <x@example.net>\n\nhelp\n"
    bad = site.drop(data)
    good = drop_good(site)
    run_ok(site)
    check_failed_whole(site, bad, data, "no valid From address")
    check_went_on(site, good)


def test_a_message_with_an_unreadable_from_goes_whole_to_failed(site):
    data = b"From: =?utf-8?b?////?= <not an address>\nTo: tristero@example.org\n\nhelp\n"
    bad = site.drop(data)
    good = drop_good(site)
    run_ok(site)
    check_failed_whole(site, bad, data, "no valid From address")
    check_went_on(site, good)


def test_several_failures_in_one_run_make_one_notice_listing_each(site):
    bad = [site.drop(b""), site.drop(b"\0\1\2\3"), site.drop(b"To: tristero@example.org\n\nhelp\n")]
    good = drop_good(site)
    run_ok(site)
    assert site.listdir("spool", "failed", "new") == sorted(bad)
    notices = site.messages_to("boss@example.org")
    assert len(notices) == 1 and notices[0]["Subject"] == "Tristero: 3 message(s) moved to spool/failed"
    text = notices[0].get_content()
    assert all(name in text for name in bad)
    check_went_on(site, good)


# --- odd mail that is processed ---

def test_a_message_of_headers_only_is_answered_from_its_subject(site):
    data = b"From: a@example.net\nTo: tristero@example.org\nSubject: help\n"
    name = site.drop(data)
    good = drop_good(site)
    run_ok(site)
    assert name + ":2,S" in site.listdir("spool", "in", "cur")
    reply = reply_to(site, "a@example.net")
    text = reply.get_content()
    assert "> help" in text and "OK: the commands" in text and "SUBSCRIBE" in text
    check_went_on(site, good)


def test_undeclared_8bit_text_is_decoded_by_chardet_and_the_guess_is_logged(site):
    body = ("subscribe news Hélène Dupré\nend\n\nBonjour, je voudrais m'abonner à la liste des "
            "nouvelles. Merci beaucoup et à très bientôt, Hélène, élève à l'école.\n")
    data = (b"From: helene@example.fr\nTo: tristero@example.org\nSubject: abonnement\n"
            b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n" + body.encode("cp1252"))
    site.drop(data)
    good = drop_good(site)
    run_ok(site)
    with open(site.path("lists", "00000001.ini"), encoding="utf-8") as f:
        assert "helene@example.fr = NAME Hélène Dupré" in f.read()
    assert "OK: helene@example.fr is now a member of news" in reply_to(site, "helene@example.fr").get_content()
    guess = re.search(r"charset guessed by chardet: (\S+) \(confidence ([0-9.]+)\)", site.log())
    western = {codecs.lookup(c).name for c in ("cp1252", "latin-1", "iso8859-15")}
    assert guess and codecs.lookup(guess.group(1)).name in western, guess.group(0)
    check_went_on(site, good)


def test_a_50_mb_attachment_to_the_robot_gets_a_small_reply_in_bounded_memory(site, tmp_path):
    attachment = base64.encodebytes(os.urandom(50 * 1024 * 1024))
    data = (b"From: alice@example.net\nTo: tristero@example.org\nSubject: commands\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
            b"--b1\nContent-Type: text/plain\n\nhelp\n"
            b"--b1\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=big.bin\n"
            b"Content-Transfer-Encoding: base64\n\n" + attachment + b"--b1--\n")
    del attachment
    name = site.drop(data)
    good = drop_good(site)
    status, peak = peak_memory([sys.executable, TRISTERO, "run", "--home", site.home, "--now", "2026-11-21T10:00:00"],
                               output=str(tmp_path / "output"))
    assert status == 0 and (tmp_path / "output").read_bytes() == b""
    assert os.path.getsize(site.path("spool", "in", "cur", name + ":2,S")) == len(data)
    replies = [n for n in site.listdir("spool", "out", "new")
               if os.path.getsize(site.path("spool", "out", "new", n)) > 20000]
    assert replies == []
    reply = reply_to(site, "alice@example.net")
    # Its text and the JSON part of its results, nothing of the attachment.
    assert "OK: the commands" in reply.get_content() and not list(reply.iter_attachments())
    assert [p.get_content_type() for p in reply.walk()] == ["multipart/alternative", "text/plain", "application/json"]
    # About 10 times the message today (the email parser's copies); 1 GiB is the bound.
    assert peak * 1024 < 1 << 30, peak
    check_went_on(site, good)


def test_10000_lines_of_commands_run_at_most_maxcommands_and_the_reply_says_so(site):
    body = "".join("which\n" for _ in range(10000))
    # A member without privilege: a stranger's message runs 3 commands at most
    # (test_output_bounds); the privileged are not held to MaxCommands (test_operators).
    site.write_ini(BASE_INI + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nmember@example.net =\n")
    site.drop(mail(frm="member@example.net", subject="many", body=body))
    good = drop_good(site)
    run_ok(site)
    text = reply_to(site, "member@example.net").get_content()
    assert text.count("> which") == 100
    assert "9900 more command line(s) were not run: at most 100 commands are run from one message" in text
    assert "100 command(s): 100 ok" in text
    check_went_on(site, good)


INJECTED = (b"From: eve@example.net\n"
            b"To: tristero@example.org\n"
            b"Subject: =?utf-8?q?help=0D=0ABcc=3A_evil=40example=2Ecom?=\n"
            b"Message-ID: <inj@example.net>\r\nX-Evil: 1\rBcc: evil2@example.com\n"
            b"In-Reply-To: <a@b>\r\nCc: evil3@example.com\n"
            b"\nhelp\n")


def _header_fields(raw):
    head = raw.split(b"\n\n", 1)[0]
    return [l.split(b":", 1)[0].lower() for l in head.split(b"\n") if l and l[:1] not in (b" ", b"\t")]


def test_crlf_injected_into_headers_reaches_no_reply_header_and_no_log_line(site):
    name = site.drop(INJECTED)
    good = drop_good(site)
    run_ok(site)
    assert name + ":2,S" in site.listdir("spool", "in", "cur")
    for n in site.listdir("spool", "out", "new"):
        with open(site.path("spool", "out", "new", n), "rb") as f:
            raw = f.read()
        assert b"\r" not in raw
        assert b"evil" not in raw.split(b"DATA\n", 1)[0]
    envelopes = [b for b in site.outbound() if "eve@example.net" in b.recipients]
    assert len(envelopes) == 1 and envelopes[0].recipients == ["eve@example.net"]
    fields = _header_fields(envelopes[0].data)
    assert b"bcc" not in fields and b"cc" not in fields and b"x-evil" not in fields
    assert fields.count(b"to") == 1 and fields.count(b"subject") == 1
    reply = email.message_from_bytes(envelopes[0].data, policy=policy.default)
    assert reply["To"] == "eve@example.net"
    assert "\n" not in reply["Subject"] and "\r" not in reply["Subject"]
    # The log: one line per message and action, each starting with the date.
    log = site.log()
    assert "\r" not in log and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", l) for l in log.splitlines())
    assert len([l for l in log.splitlines() if name in l]) == 1
    check_went_on(site, good)


def test_a_post_with_bare_crs_reaches_the_export_spool_with_lf_lines_only(site):
    site.drop(b"From: bob@example.net\nTo: news@example.org\nSubject: cr\rBcc: evil@example.com\n"
              b"\nfirst\r.\rsecond\r\n.\r\nthird\n")
    good = drop_good(site)
    run_ok(site)
    posts = [b for b in site.outbound() if b.sender == "owner-news@example.org"]
    assert len(posts) == 1
    for n in site.listdir("spool", "out", "new"):
        with open(site.path("spool", "out", "new", n), "rb") as f:
            raw = f.read()
        assert b"\r" not in raw
        # Every line that begins with a dot is stuffed, however the line was ended.
        assert [l for l in raw.split(b"\n") if l.startswith(b".") and not l.startswith(b"..")] == [b"."]
    assert posts[0].data.split(b"\n\n", 1)[1] == b"first\n.\nsecond\n.\nthird\n"
    check_went_on(site, good)


# --- files that vanish or cannot be read ---

def test_a_file_that_vanishes_between_listing_and_reading_is_logged_and_the_run_goes_on(site, monkeypatch):
    gone = site.drop(mail(frm="gone@example.net", body="help"))
    good = drop_good(site)
    listing = spools.inbound

    def inbound_then_vanish(s):
        names = listing(s)
        os.unlink(site.path("spool", "in", "new", gone))
        return names

    monkeypatch.setattr(spools, "inbound", inbound_then_vanish)
    now = datetime.datetime(2026, 11, 21, 10, 0, tzinfo=datetime.timezone.utc)
    assert batch.run(Site(site.home), now) == 0
    log = site.log()
    assert "%s vanished from spool/in/new before it was read" % gone in log
    assert "1 vanished" in log
    assert site.listdir("spool", "failed", "new") == []
    assert site.messages_to("gone@example.net") == []
    check_went_on(site, good)


def _place(site, make):
    """Put something made by make(path) into spool/in/new as the next-oldest entry."""
    site.seq += 1
    name = "%010d.M%dP1.odd" % (1700000000 + site.seq, site.seq)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(site.path("spool", "in", sub), exist_ok=True)
    path = site.path("spool", "in", "new", name)
    make(path)
    t = 1700000000 + site.seq
    os.utime(path, (t, t), follow_symlinks=False)
    return name


def test_a_folder_a_fifo_and_a_link_in_the_spool_go_to_failed_untouched_and_the_run_goes_on(site, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"From: a@example.net\nTo: tristero@example.org\n\nwho news\n")

    def folder(path):
        os.mkdir(path)
        with open(os.path.join(path, "inside"), "w") as f:
            f.write("kept\n")

    folder_name = _place(site, folder)
    fifo = _place(site, os.mkfifo)
    link = _place(site, lambda path: os.symlink(str(secret), path))
    dangling = _place(site, lambda path: os.symlink("/nonexistent/nothing", path))
    good = drop_good(site)
    # A FIFO nobody writes to would block a reader forever: the run must not wait.
    run = subprocess.run([sys.executable, TRISTERO, "run", "--home", site.home, "--now", "2026-11-21T10:00:00"],
                         capture_output=True, timeout=60)
    assert run.returncode == 0 and run.stderr == b""
    failed = site.path("spool", "failed", "new")
    assert sorted(os.listdir(failed)) == sorted([folder_name, fifo, link, dangling])
    with open(os.path.join(failed, folder_name, "inside")) as f:
        assert f.read() == "kept\n"
    assert os.path.islink(os.path.join(failed, link)) and os.readlink(os.path.join(failed, link)) == str(secret)
    assert os.readlink(os.path.join(failed, dangling)) == "/nonexistent/nothing"
    assert secret.read_bytes().endswith(b"who news\n")
    assert site.messages_to("a@example.net") == []
    assert stat.S_ISFIFO(os.lstat(os.path.join(failed, fifo)).st_mode)
    log = site.log()
    for name, reason in ((folder_name, "not a regular file (a folder)"), (fifo, "not a regular file (a FIFO)"),
                         (link, "a symbolic link, not a message"), (dangling, "a symbolic link, not a message")):
        lines = [l for l in log.splitlines() if name in l]
        assert len(lines) == 1 and "moved to spool/failed: cannot be read: " + reason in lines[0], lines
    notices = site.messages_to("boss@example.org")
    assert len(notices) == 1 and "4 message(s)" in notices[0]["Subject"]
    check_went_on(site, good)


def test_a_file_the_run_may_not_read_goes_to_failed_whole(site):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    data = mail(body="help").encode()
    bad = site.drop(data)
    os.chmod(site.path("spool", "in", "new", bad), 0)
    good = drop_good(site)
    run_ok(site)
    os.chmod(site.path("spool", "failed", "new", bad), 0o600)
    check_failed_whole(site, bad, data, "cannot be read: Permission denied")
    check_went_on(site, good)


# --- a full disk stops the batch instead (more in test_crash.py) ---

def test_a_full_disk_stops_the_batch_with_74_and_loses_nothing(site):
    names = [site.drop(mail(frm="p%d@example.net" % i, body="help")) for i in range(3)]

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))

    p = site.run(check=False, preexec_fn=small_files, env=INTERPRETER_WRITES_NOTHING, subprocess=True)
    assert p.returncode == 74 and b"Traceback" not in p.stderr
    assert p.stderr.splitlines()[-1].startswith(b"tristero: disk failure, batch stopped (nothing lost; run again): ")
    assert b"File too large" in p.stderr
    assert site.listdir("spool", "in", "new") == names and site.listdir("spool", "out", "new") == []
    assert site.listdir("spool", "txn") == []
    run_ok(site)
    assert len(site.listdir("spool", "in", "cur")) == 3
    assert all(len(site.messages_to("p%d@example.net" % i)) == 1 for i in range(3))
