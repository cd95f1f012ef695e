"""The fan-out (issue 12, part 3): a post to a large list streams its member file.

A member file as the program writes it (one "address = options" line per member,
sorted by domain) is never loaded for a post: its order is checked in one streaming
pass and the recipients are read from it in pieces. Whatever the file, the envelopes
are the ones the loaded list gives, byte for byte."""

import os
import resource
import subprocess
import sys

import pytest

from conftest import BASE_INI, NEWS_LIST, TRISTERO, TestSite, mail
from test_limits import _VMPEAK
from tristero.model import members

NOW = "2026-11-21T10:00:00"


def member_lines(n, digest=True):
    """n members over 7 domains, sorted as the program writes them: some NOMAIL, some
    with a NAME, some DIGEST (unless not digest), one with '=' in its address, some in
    capitals."""
    rows = []
    for i in range(n):
        local = ("User%d" if i % 11 == 5 else "user%d") % i
        if i == 17:
            local = "srs0=ab=cd=example.com=joe%d" % i
        address = "%s@dom%d.example" % (local, i % 7)
        opts = "NOMAIL" if i % 10 == 9 else "NAME Jörg %d" % i if i % 10 == 3 else \
            "DIGEST DAILY" if i % 13 == 4 and digest else ""
        rows.append((members.domain_order(address.lower()), address, opts))
    rows.sort()
    return ["%s = %s\n" % (a, o) if o else "%s =\n" % a for _, a, o in rows]


def write_members(site, lines, head="; Members: one per line, \"address = options\" (see README).\n[Members]\n"):
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w", encoding="utf-8") as f:
        f.write(head + "".join(lines))


def news_site(path, maxr=3):
    site = TestSite(path)
    os.makedirs(site.home)
    site.write_ini(BASE_INI.replace("MaxRecipients = 3", "MaxRecipients = %d" % maxr) + NEWS_LIST)
    return site


def outbound_bytes(site):
    folder = site.path("spool", "out", "new")
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            out[name] = f.read()
    return out


def test_a_sorted_member_file_gives_byte_for_byte_the_envelopes_of_the_loaded_list(tmp_path, monkeypatch):
    lines = member_lines(400, digest=False)
    post = mail(to="news@example.org", subject="Hello all", body="Hello.\n")
    streamed, loaded = news_site(tmp_path / "streamed"), news_site(tmp_path / "loaded")
    write_members(streamed, lines)
    # A comment among the members: the file is no longer as the program writes it, so
    # it is loaded (the way every post went before), and the comment changes nothing.
    write_members(loaded, lines[:200] + ["; a note by hand\n"] + lines[200:])
    loads = []
    load = members.load
    monkeypatch.setattr(members, "load", lambda number, path: loads.append(path) or load(number, path))
    for site in (streamed, loaded):
        site.drop(post)
        site.run()
    assert loads == [loaded.path("lists", "00000001.ini")]     # the streamed list was never loaded
    a, b = outbound_bytes(streamed), outbound_bytes(loaded)
    reached = sum(1 for line in lines if "NOMAIL" not in line and "DIGEST" not in line)
    assert len(a) == -(-reached // 3)
    assert a == b
    assert "posted to news, %d recipient(s)" % reached in streamed.log()


@pytest.mark.parametrize("edit", ["shuffled", "twice", "case twice", "named", "blank", "comment", "above",
                                  "section", "equals in options", "bad address", "kelvin", "hash", "no header"])
def test_a_member_file_edited_by_hand_is_loaded_as_ever(tmp_path, edit):
    lines = member_lines(60)
    if edit == "shuffled":
        lines = lines[1::2] + lines[::2]
    elif edit == "twice":
        lines = lines[:30] + [lines[30]] + lines[30:]
    elif edit == "case twice":
        lines = lines[:30] + [lines[30].replace(" =", " = NOMAIL").upper().replace("@", "@", 1)] + lines[30:]
    elif edit == "named":
        lines[12] = "Jo Bloggs <%s>\n" % lines[12].split(" =")[0]
    elif edit == "blank":
        lines.insert(20, "\n")
    elif edit == "comment":
        lines.insert(20, "# nobody@dom1.example =\n")
    elif edit == "above":
        pass
    elif edit == "section":
        lines.insert(40, "[Other]\n")
    elif edit == "equals in options":
        lines[8] = lines[8].rstrip("\n") + " = NOMAIL\n"
    elif edit == "bad address":
        lines[8] = "not an address =\n"
    elif edit == "kelvin":
        lines[8] = "\u212aim@dom1.example =\n"
    elif edit == "hash":
        lines[0] = "#x@dom0.example =\n"
    head = "[Members]\n"
    if edit == "above":
        head = "someone@dom3.example =\n[Members]\n"
    elif edit == "no header":
        head = ""
    path = tmp_path / "00000001.ini"
    path.write_text(head + "".join(lines), encoding="utf-8")
    # Not streamed: the post loads the list, which puts it in order and reports what it finds.
    assert not members.FileRecipients(str(path)).check()
    # A question about one member is answered as the loaded list answers it.
    for line in lines[:12] + ["nobody@dom1.example =\n", "KIM@dom1.example =\n"]:
        address = line.split(" =")[0].strip()
        assert members.find(str(path), address) == members.load("1", str(path)).get(address), address


def test_a_file_the_program_wrote_streams_and_agrees_with_the_loaded_list(tmp_path):
    path = tmp_path / "00000001.ini"
    ml = members.MemberList("00000001")
    for line in member_lines(3000):
        address, _, options = line.rstrip("\n").partition(" =")
        ml.members[members.address_key(address)] = (address, options.strip())
    with open(path, "wb") as f:
        ml.write(f)
    stream = members.FileRecipients(str(path))
    assert stream.check()
    loaded = list(members.recipients(members.load("1", str(path))))
    assert list(stream) == loaded and stream.count == len(loaded)
    for address in ("user0@dom0.example", "USER0@DOM0.EXAMPLE", "User5@dom5.example", "user5@dom5.example",
                    "srs0=ab=cd=example.com=joe17@dom3.example", "nobody@dom0.example", "dom0.example"):
        assert members.find(str(path), address) == members.load("1", str(path)).get(address)


def run_measured(site, ceiling=None):
    """A batch in a process of its own, its address space capped at ceiling (bytes):
    (exit status, its peak virtual size in bytes)."""
    env = dict(os.environ)
    env.pop("TRISTERO_HOME", None)
    out = site.path("..", "vmpeak")

    def cap():
        if ceiling:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))

    p = subprocess.run([sys.executable, "-c", _VMPEAK, out, TRISTERO, "run", "--home", site.home, "--now", NOW],
                       env=env, capture_output=True, preexec_fn=cap)
    try:
        with open(out) as f:
            peak = int(f.read()) * 1024
    except (FileNotFoundError, ValueError):
        peak = None
    return p.returncode, peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_a_post_to_a_large_list_fans_out_in_twice_the_member_file_size(tmp_path):
    """A list of 150,000 members: loaded, it takes some 40 MB more than a list of ten;
    streamed, the post is sent within twice its member file's size of the address
    space of a post to ten members (the cap is set there: a load would fail)."""
    small, large = news_site(tmp_path / "small", maxr=5000), news_site(tmp_path / "large", maxr=5000)
    write_members(small, member_lines(10, digest=False))
    n = 150000
    rows = sorted(("d%d.example" % (i % 50), "member%d@d%d.example" % (i, i % 50)) for i in range(n))
    write_members(large, ["%s =\n" % a for _, a in rows])
    size = os.path.getsize(large.path("lists", "00000001.ini"))
    post = mail(to="news@example.org", subject="Hello all", body="Hello.\n" * 50)
    small.drop(post)
    status, baseline = run_measured(small)
    assert status == 0 and baseline
    large.drop(post)
    status, peak = run_measured(large, ceiling=baseline + 2 * size)
    assert status == 0
    assert large.listdir("spool", "failed", "new") == [] and large.listdir("spool", "in", "new") == []
    sent = [r for b in large.outbound() for r in b.recipients]
    assert len(sent) == n and set(sent) == {a for _, a in rows}
    assert peak - baseline <= 2 * size
