"""Bounded work per message: header fields the email package would take hours or
gigabytes to parse, and posts of thousands of parts (issue 9, holes 3 and 7).

The attacks run in a real batch whose address space is capped (RLIMIT_AS) at
the virtual size of a normal run plus 200 MB; each run must exit 0 with every
message set aside or refused for the right reason, its peak memory measured."""

import os
import subprocess
import sys

import pytest

from conftest import NEWS_LIST, TRISTERO, mail, peak_memory
from tristero.core import messages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")

NOW = "2026-11-21T10:00:00"
MB = 1 << 20
HEADROOM = 200 * MB

# Runs tristero.py as __main__ and writes its peak virtual size (VmPeak, kB) to argv[1].
_VMPEAK = r"""
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as f:
        line = [l for l in f if l.startswith("VmPeak:")][0]
    with open(out, "w") as f:
        f.write(line.split()[1])
atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

_baseline = []


def run_capped(site, ceiling=None):
    """Run a batch under RLIMIT_AS = ceiling; returns (exit status, peak RSS in bytes, its output)."""
    env = dict(os.environ)
    env.pop("TRISTERO_HOME", None)
    cmd = [sys.executable, TRISTERO, "run", "--home", site.home, "--now", NOW]
    output = site.path("..", "stderr")
    status, peak = peak_memory(cmd, output=output, address_space=ceiling, env=env)
    with open(output, "rb") as err:
        return status, peak * 1024, err.read().decode(errors="replace")


def ceiling(tmp_path_factory):
    """The virtual size of a normal run (one post, archived), plus 200 MB."""
    if not _baseline:
        from conftest import BASE_INI, TestSite
        site = TestSite(tmp_path_factory.mktemp("baseline") / "site")
        os.makedirs(site.home)
        site.write_ini(BASE_INI + NEWS_LIST)
        site.drop(mail(to="news@example.org", subject="hello", body="Hello.\n"))
        out = site.path("..", "vmpeak")
        env = dict(os.environ)
        env.pop("TRISTERO_HOME", None)
        subprocess.run([sys.executable, "-c", _VMPEAK, out, TRISTERO, "run", "--home", site.home,
                        "--now", NOW], check=True, env=env, capture_output=True)
        with open(out) as f:
            _baseline.append(int(f.read()) * 1024)
    return _baseline[0] + HEADROOM


def words(n):
    return " ".join(["=?utf-8?q?a?="] * n)


def hostile(field, n, i):
    """A post to news whose field is made of n encoded words."""
    frm, to, extra = "alice@example.net", "news@example.org", ""
    if field == "From":
        frm = "%s <alice@example.net>" % words(n)
    elif field == "To":
        to = "%s <news@example.org>" % words(n)
    elif field == "Cc":
        extra = "Cc: %s <carol@example.net>\n" % words(n)
    else:
        extra = 'MIME-Version: 1.0\nContent-Type: text/plain; name="%s"\n' % words(n)
    return ("From: %s\nTo: %s\nSubject: words %d\nMessage-ID: <w%d@example.net>\n%s\nHello.\n"
            % (frm, to, n, i, extra)).encode()


def many_parts(n, i, headers=""):
    """A post to news of n tiny attachments (n + 2 MIME parts with the text and the whole)."""
    head = ("From: alice@example.net\nTo: news@example.org\nSubject: parts %d\nMessage-ID: <p%d@example.net>\n"
            'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n%s\n' % (n, i, headers))
    return (head + "--b\nContent-Type: text/plain\n\nHello.\n"
            + "--b\nContent-Type: application/octet-stream\n\nx\n" * n + "--b--\n").encode()


def ini(site):
    with open(site.path("tristero.ini")) as f:
        return f.read()


@pytest.fixture
def news(site):
    site.write_ini(ini(site) + NEWS_LIST)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nalice@example.net =\nbob@example.com =\n")
    return site


def test_thousands_of_encoded_words_in_a_header_field_set_the_message_aside_unparsed(news, tmp_path_factory):
    cases = [(field, n) for field in ("From", "To", "Cc", "Content-Type") for n in (2000, 100000)]
    cases += [("From", 8000), ("Content-Type", 25000)]
    names = {}
    for i, (field, n) in enumerate(cases):
        names[news.drop(hostile(field, n, i))] = (field, n)
    status, peak, err = run_capped(news, ceiling(tmp_path_factory))
    assert status == 0, err
    assert peak < 200 * MB
    assert sorted(news.listdir("spool", "failed", "new")) == sorted(names)
    assert news.listdir("spool", "in", "new") == []
    log = news.log()
    for name, (field, n) in names.items():
        line = [l for l in log.splitlines() if name in l and "moved to spool/failed" in l]
        assert line, (field, n)
        # Refused by the bounds, not by running out of memory on the way.
        assert "not read:" in line[0] and "MemoryError" not in line[0], line[0]
        assert ("encoded words" in line[0] or "bytes" in line[0]), line[0]
    # Nothing reached the list; the SuperUser heard of each.
    assert news.messages_to("bob@example.com") == []
    notice = news.messages_to("boss@example.org")[0].get_content()
    assert all(name in notice for name in names)


def test_a_post_of_thousands_of_parts_is_refused_to_its_author_unread(news, tmp_path_factory):
    news.drop(many_parts(25000, 1))
    news.drop(many_parts(100000, 2))
    # Automatic mail is refused too, and not answered.
    news.drop(many_parts(25000, 3, headers="Auto-Submitted: auto-generated\n").replace(
        b"From: alice@", b"From: robot@"))
    status, peak, err = run_capped(news, ceiling(tmp_path_factory))
    assert status == 0, err
    assert peak < 200 * MB
    assert news.listdir("spool", "failed", "new") == []
    assert len(news.listdir("spool", "in", "cur")) == 3
    assert news.messages_to("bob@example.com") == []
    replies = [m for m in news.messages_to("alice@example.net") if m["Subject"].startswith("Not read")]
    assert sorted(r["Subject"] for r in replies) == ["Not read: parts 100000", "Not read: parts 25000"]
    for r in replies:
        assert "more than 500 MIME parts (MaxParts)" in r.get_content()
    assert news.messages_to("robot@example.net") == []
    assert news.log().count("refused: more than 500 MIME parts (MaxParts)") == 3
    assert not os.path.exists(news.path("archive", "00000001"))


def test_a_post_of_as_many_parts_as_allowed_is_posted_and_archived(news, tmp_path_factory):
    news.drop(many_parts(498, 1))           # 500 parts: the text, 498 files, the whole
    status, peak, err = run_capped(news, ceiling(tmp_path_factory))
    assert status == 0, err
    assert peak < 200 * MB
    [post] = news.messages_to("bob@example.com")
    assert len(list(post.iter_attachments())) == 498
    [day] = news.listdir("archive", "00000001")
    with open(news.path("archive", "00000001", day), encoding="utf-8") as f:
        text = f.read()
    assert text.count("not kept in the archive]") == 498


def test_max_parts_is_a_setting(news):
    news.write_ini(ini(news).replace(
        "MaxRecipients = 3\n", "MaxRecipients = 3\nMaxParts = 4\n"))
    news.drop(many_parts(2, 1))             # 4 parts: posted
    news.drop(many_parts(3, 2))             # 5 parts: refused
    news.run()
    [post] = news.messages_to("bob@example.com")
    assert post["Subject"] == "parts 2"
    [reply] = [m for m in news.messages_to("alice@example.net") if m["Subject"].startswith("Not read")]
    assert reply["Subject"] == "Not read: parts 3"
    assert "more than 4 MIME parts (MaxParts)" in reply.get_content()


def test_parts_nested_too_deep_are_refused(news):
    depth = messages.MAX_DEPTH + 5
    body = "".join('--b%d\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % (i, i + 1) for i in range(depth))
    news.drop("From: alice@example.net\nTo: news@example.org\nSubject: deep\nMIME-Version: 1.0\n"
              'Content-Type: multipart/mixed; boundary="b0"\n\n' + body + "--b%d\n\nHello.\n" % depth)
    news.run()
    assert news.messages_to("bob@example.com") == []
    [reply] = [m for m in news.messages_to("alice@example.net") if m["Subject"] == "Not read: deep"]
    assert "parts nested %d deep (at most %d) (MIME nesting)" % (depth + 1, messages.MAX_DEPTH) \
        in reply.get_content()


# --- the bounds, one by one (messages.read) ---

def read(raw, max_parts=500):
    return messages.read(raw.encode() if isinstance(raw, str) else raw, max_parts)


def test_a_field_beyond_the_bounds_is_refused_before_it_is_parsed(monkeypatch):
    from email import headerregistry
    parsed = []
    real = headerregistry.HeaderRegistry.__call__
    monkeypatch.setattr(headerregistry.HeaderRegistry, "__call__",
                        lambda self, name, value: parsed.append(name) or real(self, name, value))
    cases = {
        "From: %s <a@example.net>\n" % ("x" * messages.MAX_FIELD): r"header field From is \d+ bytes",
        "From: %s <a@example.net>\n" % words(messages.MAX_ENCODED_WORDS + 1): "holds 201 encoded words",
        "Content-Type: text/plain; name=%s\n" % ("x" * messages.MAX_MIME_FIELD): "Content-Type is",
        "".join("X-%d: %s\n" % (i, "y" * 60000) for i in range(5)): "its header is",
    }
    for head, why in cases.items():
        with pytest.raises(messages.Unreadable, match=why):
            read(head + "To: b@example.org\n\nHello.\n")
    assert parsed == []


def test_a_part_header_beyond_the_bounds_is_refused(monkeypatch):
    head = 'From: a@example.net\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
    # A file name of encoded words, in a part: the email package would parse it on the way.
    with pytest.raises(messages.Unreadable, match="Content-Disposition holds 250 encoded words"):
        read(head + "--b\nContent-Disposition: attachment; filename=\"%s\"\n\nx\n--b--\n"
             % " ".join(["=?a?q?b?="] * 250))
    # Long Content-* fields, each under the bound, all together over it.
    part = "--b\nContent-Type: application/x-a; name=%s\n\nx\n" % ("x" * 3900)
    with pytest.raises(messages.Unreadable, match="Content-. fields of over 256 bytes"):
        read(head + part * 20 + "--b--\n")
    # A part's header block over MAX_HEADER.
    with pytest.raises(messages.Unreadable, match="a header block is over"):
        read(head + "--b\n" + "X-A: %s\n" % ("y" * 60000) * 5 + "\nx\n--b--\n")


def test_mail_people_send_is_within_the_bounds():
    # 1,500 recipients in To (50 KB), a long file name in RFC 2231 form, names in encoded words.
    to = ", ".join('"Person %d" <p%d@example.org>' % (i, i) for i in range(1500))
    name = "%E6%97%A5%E6%9C%AC" * 60
    msg = read("From: =?utf-8?q?Jos=C3=A9?= <jose@example.net>\nTo: %s\nSubject: =?utf-8?q?Caf=C3=A9?=\n"
               'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
               "--b\nContent-Type: text/plain\n\nHello.\n"
               "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''%s\n"
               "Content-Transfer-Encoding: base64\n\nAAAA\n--b--\n" % (to, name))
    assert messages.first_address(msg, "From") == ("José", "jose@example.net")
    assert len(messages.addresses(msg, "To")) == 1500
    assert messages.addresses(msg, "To")[1499] == ("Person 1499", "p1499@example.org")
    assert len(list(msg.iter_attachments())) == 1


def test_addresses_are_read_without_the_packages_address_parser(monkeypatch):
    # Its time grows with the square of the field: 60 KB of "a." in a name took 48 s.
    from email import headerregistry
    monkeypatch.setattr(headerregistry.AddressHeader, "parse",
                        classmethod(lambda cls, value, kw: pytest.fail("address parser used")))
    msg = read("From: %s <alice@example.net>\nTo: news@example.org,%s\n\nHello.\n" % ("a." * 30000, "," * 30000))
    assert messages.first_address(msg, "From")[1] == "alice@example.net"
    assert messages.addresses(msg, "To") == [("", "news@example.org")]


def test_reading_stops_at_max_parts(monkeypatch):
    from email.message import EmailMessage
    made = []
    real = EmailMessage.__init__

    def counting(self, *a, **kw):
        made.append(1)
        real(self, *a, **kw)
    monkeypatch.setattr(EmailMessage, "__init__", counting)
    with pytest.raises(messages.TooManyParts, match="more than 500 MIME parts"):
        read(many_parts(100000, 1))
    assert len(made) == 500
