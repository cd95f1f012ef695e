"""Nothing from mail can stop the site (issue 9, hole 2).

A value from mail is written at commit: a member's name, a list's description,
an ini value, an access.ini user. Three walls keep one that no file can hold
(a lone surrogate, a line break, a control character) from stopping every
later run: only real mail charsets are decoded, each value is checked where it
is accepted (with a reply that says why), and a commit that fails all the same
is redone one message at a time, the culprit set aside whole in spool/failed/.
Each attack through the front door; the walls behind the first are shown with
the ones before them taken away (monkeypatched, in an in-process run).
"""

import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import BASE_INI, REPO, mail
from conftest import TestSite as SiteDir
from test_crash import check_invariants, check_same, snapshot
from test_crash import files as files_in
from tristero import cli
from tristero.core import fields, messages
from tristero.model.site import Site
from tristero.runtime import batch, housekeeping

INI = BASE_INI + """\
LogLevel = 2

[LIST news]
Type = Open
Owner = boss@example.org
MemberFile = 00000001
"""

NOW = "2026-11-21T10:00:00"


@pytest.fixture
def site(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nbob@example.net =\n")
    return site


def raw_mail(frm, body, charset="utf-8", subject="commands"):
    """A message whose body is bytes in the declared charset (the attack's own)."""
    head = ("From: %s\nTo: tristero@example.org\nSubject: %s\nMessage-ID: <%s.%d@example.net>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=%s\n\n"
            % (frm, subject, frm.split("@")[0], len(body), charset))
    return head.encode() + body


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def member_file(site):
    """The member file of news, which must be strict UTF-8."""
    with open(site.path("lists", "00000001.ini"), "rb") as f:
        return f.read().decode("utf-8")


def reply(site, to):
    found = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    assert len(found) == 1, [m["Subject"] for m in site.messages_to(to)]
    return found[0].get_content()


def run_ok(site):
    p = site.run(now=NOW)
    assert p.returncode == 0 and p.stderr == b"", p.stderr
    return p


def check_next_run(site):
    """A later run exits 0 and answers the mail that came since."""
    for name in site.listdir("spool", "out", "new"):
        os.unlink(site.path("spool", "out", "new", name))
    site.drop(mail(frm="zoe@example.net", subject="later", body="lists\n"))
    run_ok(site)
    assert site.listdir("spool", "in", "new") == []
    assert "OK: 1 list(s)" in reply(site, "zoe@example.net")


def run_inside(site):
    """A run in this process (so that a wall can be taken away with monkeypatch)."""
    return batch.run(Site(site.home), cli.parse_time(NOW))


# --- the first wall: only mail charsets are decoded ------------------------------------

# The review's attack: the lone surrogate stands after 200 characters, where the
# reply's echo of the command is cut, so that only the member file gets it.
PAD = b"A" * 200


@pytest.mark.parametrize("charset, body", [
    ("utf-7", b"SUBSCRIBE news " + PAD + b" +2AA-\n"),
    ("unicode_escape", b"SUBSCRIBE news " + PAD + b" \\ud800\n"),
    ("raw_unicode_escape", b"SUBSCRIBE news " + PAD + b" \\ud800\n"),
])
def test_a_subscribe_in_a_codec_that_is_no_charset_cannot_stop_the_site(site, charset, body):
    site.drop(raw_mail("alice@example.net", body, charset))
    site.drop(mail(frm="carol@example.net", subject="after", body="subscribe news Carol\n"))
    run_ok(site)
    text = member_file(site)
    # Read as the undeclared ASCII it is: the name is kept as written.
    assert "alice@example.net = NAME %s %s" % (PAD.decode(), body.split()[-1].decode()) in text
    assert "carol@example.net = NAME Carol" in text
    assert "OK: alice@example.net is now a member of news" in reply(site, "alice@example.net")
    assert "declared charset %s is not a mail charset: read as undeclared text" % charset in site.log()
    assert site.listdir("spool", "failed", "new") == [] and site.listdir("spool", "txn") == []
    check_next_run(site)


def test_a_subject_command_in_utf7_encoded_words_is_read_as_the_bytes_it_is(site):
    site.drop(b"From: alice@example.net\nTo: tristero@example.org\nMessage-ID: <s@example.net>\n"
              b"Subject: =?utf-7?q?subscribe_news_Al+2AA-?=\n\n")
    run_ok(site)
    assert "alice@example.net = NAME Al+2AA-" in member_file(site)
    check_next_run(site)


@pytest.mark.parametrize("name", ["utf-7", "UNICODE-1-1-UTF-7", "unicode_escape", "raw-unicode-escape",
                                  "punycode", "idna", "rot13", "base64_codec", "zlib", "hex", "undefined",
                                  "charmap", "cp037", "palmos", "x-unknown", "utf-8\x00", ""])
def test_codecs_that_are_no_mail_charset_are_not_believed(name):
    assert messages.mail_charset(name) is None


@pytest.mark.parametrize("name, codec", [("UTF-8", "utf-8"), ("utf8", "utf-8"), ("us-ascii", "ascii"),
                                         ("latin1", "iso8859-1"), ("ISO-8859-15", "iso8859-15"),
                                         ("windows-1252", "cp1252"), ("koi8-r", "koi8-r"),
                                         ("ISO-2022-JP", "iso2022_jp"), ("Shift_JIS", "shift_jis"),
                                         ("GB18030", "gb18030"), ("big5", "big5"), ("UTF-16", "utf-16")])
def test_mail_charsets_are_read_under_any_of_their_names(name, codec):
    assert messages.mail_charset(name) == codec


@pytest.mark.parametrize("charset, data", [
    ("utf-7", b"+2AA- +3AA-"), ("unicode_escape", b"\\ud800 \\udfff"), ("utf-8", b"\xed\xa0\x80 ok"),
    ("utf-16-le", b"\x00\xd8"), (None, b"\xed\xa0\x80 \xff\xfe"), ("x-bogus", b"\xed\xa0\x80"),
])
def test_decoded_text_never_holds_a_lone_surrogate(charset, data):
    head = "Content-Type: text/plain%s\n\n" % ("; charset=" + charset if charset else "")
    part = messages.parse(head.encode() + data)
    text = messages.decode_part(part, [])
    assert not any("\ud800" <= c <= "\udfff" for c in text) and text.encode("utf-8")


# --- the second wall: each value is checked where it is accepted ------------------------

def test_a_name_with_control_characters_is_refused_with_the_reason(site):
    site.drop(mail(frm="eve@example.net", body="subscribe news Eve\x1b]0;owned\x07\n"))
    run_ok(site)
    assert "REFUSED: the name Eve ]0;owned cannot be kept: it holds a control character or line break " \
           "(U+001B)" in reply(site, "eve@example.net")
    assert "eve@" not in member_file(site)
    check_next_run(site)


def test_a_create_description_with_a_control_character_is_refused(site):
    before = read(site.path("tristero.ini"))
    site.drop(mail(frm="boss@example.org", body="create games Play\x1b[2J together\n"))
    run_ok(site)
    assert "ERROR: Description: it holds a control character or line break (U+001B)" \
        in reply(site, "boss@example.org")
    assert read(site.path("tristero.ini")) == before
    check_next_run(site)


def test_set_forwardprefix_with_a_control_character_is_refused(site):
    before = read(site.path("tristero.ini"))
    site.drop(mail(frm="boss@example.org", body="set news forwardprefix [news]\x00\x1b[1m\n"))
    run_ok(site)
    assert "ERROR: ForwardPrefix: it holds a control character or line break (U+0000)" \
        in reply(site, "boss@example.org")
    assert read(site.path("tristero.ini")) == before
    check_next_run(site)


def test_grant_to_a_user_with_a_control_character_is_refused(site):
    site.drop(mail(frm="boss@example.org", body="grant member to ev\x1bil@example.net for news\n"))
    run_ok(site)
    assert "it holds a control character or line break (U+001B)" in reply(site, "boss@example.org")
    assert not os.path.exists(site.path("access.ini"))
    check_next_run(site)


def test_a_kill_subject_with_a_control_character_is_refused(site):
    site.drop(mail(frm="boss@example.org", body="config killadd buy\x1bnow\n"))
    run_ok(site)
    assert "it holds a control character or line break (U+001B)" in reply(site, "boss@example.org")
    assert "buy" not in read(site.path("tristero.ini"))
    check_next_run(site)


def _naive_decoding(monkeypatch):
    """Take the first wall away: the declared codec is believed, whatever it is."""
    monkeypatch.setattr(messages, "decode_part", lambda part, notes=None: part.get_payload(decode=True).decode(
        part.get_content_charset() or "ascii"))


@pytest.mark.parametrize("frm, command, said", [
    ("alice@example.net", b"subscribe news Al+2AA-ice",
     "REFUSED: the name Al\ufffdice cannot be kept: it holds U+D800, a lone surrogate"),
    ("boss@example.org", b"create games Play +2AA-",
     "ERROR: Description: it holds U+D800, a lone surrogate"),
    ("boss@example.org", b"set news forwardprefix [news+2AA-]",
     "ERROR: ForwardPrefix: it holds U+D800, a lone surrogate"),
    ("boss@example.org", b"grant member to ev+2AA-il@example.net for news",
     "it holds U+D800, a lone surrogate"),
])
def test_a_lone_surrogate_that_got_past_decoding_is_refused_where_it_is_accepted(site, monkeypatch,
                                                                              frm, command, said):
    _naive_decoding(monkeypatch)
    before = {n: read(site.path(*n.split("/")), "rb") for n in ("tristero.ini", "lists/00000001.ini")}
    site.drop(raw_mail(frm, command + b"\n", "utf-7"))
    assert run_inside(site) == 0
    assert said in reply(site, frm)
    for n, data in before.items():
        assert read(site.path(*n.split("/")), "rb") == data
    assert not os.path.exists(site.path("access.ini"))
    monkeypatch.undo()
    check_next_run(site)


# --- the third wall: a commit that fails is redone one message at a time -------------------

def _no_walls(monkeypatch):
    """Take the first two walls away, as a hole in them would."""
    _naive_decoding(monkeypatch)
    monkeypatch.setattr(fields, "problem", lambda value: None)


def test_a_commit_that_fails_sets_its_culprit_aside_whole_and_the_batch_goes_on(site, monkeypatch):
    _no_walls(monkeypatch)
    first = site.drop(mail(frm="carol@example.net", subject="before", body="subscribe news Carol\n"))
    attack = raw_mail("alice@example.net", b"subscribe news Al+2AA-ice\n", "utf-7")
    culprit = site.drop(attack)
    last = site.drop(mail(frm="dave@example.net", subject="after", body="subscribe news Dave\n"))
    assert run_inside(site) == 0
    # All three were in one transaction (CommitEvery 500); the culprit alone is set aside.
    assert site.listdir("spool", "failed", "new") == [culprit]
    with open(site.path("spool", "failed", "new", culprit), "rb") as f:
        assert f.read() == attack
    assert site.listdir("spool", "in", "new") == [] and site.listdir("spool", "txn") == []
    text = member_file(site)
    assert "carol@example.net = NAME Carol" in text and "dave@example.net = NAME Dave" in text
    assert "alice@" not in text
    # Each of the others answered exactly once; the culprit's reply went with its commit.
    assert "OK: carol@example.net is now a member of news" in reply(site, "carol@example.net")
    assert "OK: dave@example.net is now a member of news" in reply(site, "dave@example.net")
    assert site.messages_to("alice@example.net") == []
    notices = site.messages_to("boss@example.org")
    assert [n["Subject"] for n in notices] == ["Tristero: 1 message(s) moved to spool/failed"]
    assert "%s: its changes could not be committed: UnicodeEncodeError" % culprit in notices[0].get_content()
    log = site.log()
    assert "a commit failed (UnicodeEncodeError" in log and "its 3 message(s) are redone one at a time" in log
    for name in (first, last):
        lines = [line for line in log.splitlines() if name in line]
        assert len(lines) == 1 and "subscribed to news" in lines[0]
    monkeypatch.undo()
    check_next_run(site)


def test_housekeeping_whose_commit_fails_is_skipped_for_the_day_and_the_mail_is_processed(site, monkeypatch):
    def bad_step(b):
        b.state.set_config("LIST news", "Description", "bad \ud800")
        return ()
    monkeypatch.setattr(fields, "problem", lambda value: None)
    monkeypatch.setattr(housekeeping, "STEPS", housekeeping.STEPS + (("bad", bad_step),))
    good = site.drop(mail(frm="carol@example.net", body="subscribe news Carol\n"))
    assert run_inside(site) == 0
    assert good + ":2,S" in site.listdir("spool", "in", "cur")
    assert "carol@example.net = NAME Carol" in member_file(site)
    assert "bad" not in read(site.path("tristero.ini"))
    notices = site.messages_to("boss@example.org")
    assert [n["Subject"] for n in notices] == ["Tristero: the housekeeping of 2026-11-21 could not be committed"]
    # Done for the day: not tried (and reported) again by every run.
    assert read(housekeeping.stamp_path(Site(site.home))) == "2026-11-21\n"
    monkeypatch.undo()
    check_next_run(site)


# --- the third wall under kills: exactly once still ------------------------------------------

WRAPPER = """\
import sys
sys.path.insert(0, %r)
from tristero import cli
from tristero.core import fields, messages
fields.problem = lambda value: None
messages.decode_part = lambda part, notes=None: part.get_payload(decode=True).decode(
    part.get_content_charset() or "ascii")
sys.exit(cli.main(sys.argv[1:]))
"""

CRASH_NOW = "2023-11-15T10:00:00"     # a day after the drops' mtimes: nothing inbound expires


def test_a_redone_batch_killed_at_any_step_then_run_again_ends_as_if_never_killed(tmp_path):
    """The redo commits one message at a time: every step of it is a kill point
    (durable.py's TRISTERO_CRASH_AFTER), and the run after the kill must leave
    what the uninterrupted run leaves, each message done once."""
    wrapper = str(tmp_path / "walls_down.py")
    with open(wrapper, "w") as f:
        f.write(WRAPPER % os.path.join(REPO, "lib"))

    def run(home, crash_after=None):
        env = dict(os.environ)
        env.pop("TRISTERO_HOME", None)
        env.pop("TRISTERO_CRASH_AFTER", None)
        if crash_after:
            env["TRISTERO_CRASH_AFTER"] = str(crash_after)
        return subprocess.run([sys.executable, wrapper, "run", "--home", home, "--now", CRASH_NOW],
                              capture_output=True, env=env, timeout=120)

    def result(home):
        snap = snapshot(home)
        for key, value in snap.items():
            if key.startswith("logs/") and isinstance(value, list):
                snap[key] = [line for line in value if "a commit failed (" not in line]
        return snap

    pristine = SiteDir(tmp_path / "pristine")
    os.makedirs(pristine.home)
    pristine.write_ini(INI)
    os.makedirs(pristine.path("lists"))
    with open(pristine.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nbob@example.net =\n")
    pristine.drop(mail(frm="carol@example.net", subject="before", body="subscribe news Carol\n"))
    culprit = pristine.drop(raw_mail("alice@example.net", b"subscribe news Al+2AA-ice\n", "utf-7"))
    pristine.drop(mail(frm="dave@example.net", subject="after", body="subscribe news Dave\n"))
    names = pristine.listdir("spool", "in", "new")

    reference = str(tmp_path / "reference")
    shutil.copytree(pristine.home, reference)
    assert run(reference).returncode == 0
    log = snapshot(reference)["logs/tristero-2023-11-15.log"]
    assert any("its 3 message(s) are redone one at a time" in line for line in log)
    want = result(reference)
    assert files_in(want, "spool/failed/new") == [culprit]

    def killed_at(n):
        home = str(tmp_path / ("kill%d" % n))
        shutil.copytree(pristine.home, home)
        try:
            p = run(home, n)
            if p.returncode == 0:
                return False
            assert p.returncode == -signal.SIGKILL and b"Traceback" not in p.stderr, (n, p.stderr)
            check_invariants(SiteDir(home), names)
            assert run(home).returncode == 0
            check_same(result(home), want)
            return True
        finally:
            shutil.rmtree(home, ignore_errors=True)

    # Every step from the first until the run takes no more (the run then ends with 0).
    killed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        while all(killed):
            killed += pool.map(killed_at, range(len(killed) + 1, len(killed) + 9))
    steps = killed.index(False)
    assert steps > 20 and not any(killed[steps:]), killed
