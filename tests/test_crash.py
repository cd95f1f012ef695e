"""Exactly once: a real `tristero.py run` killed at any instant, then run again,
leaves what a run that was never interrupted leaves.

The kills are real SIGKILLs of real processes. Most land at an exact step:
durable.py's testing hook (TRISTERO_CRASH_AFTER=N) makes the run kill itself
right after its N-th change to the disk, and N takes every value from the
first step of the batch to its last (about a hundred), so every instant
between two changes to the disk is covered once: while staging, inside a
commit, inside apply, while removing a finished transaction. Where a kill
leaves a committed transaction, every other time the run that finishes it
is killed as well. A few more kills land at random times (fixed seed).
The appends that a repeated apply must not repeat are tested on their own.
Then full disks: a file size limit (RLIMIT_FSIZE) at many sizes and, where
this machine lets us mount one, a tmpfs that is really full, then read-only.
"""

import concurrent.futures
import difflib
import errno
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import INTERPRETER_WRITES_NOTHING, TRISTERO, TestSite, mail
from tristero.model import durable, journal
from tristero.model.spools import BsmtpFile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rlimits")


def Site(home):
    """A site whose every run is a real process: killed, limited, on a full disk (and
    run from the sweep's threads)."""
    return TestSite(home, subprocess=True)

NOW = "2023-11-15T10:00:00"     # a day after the drops' mtimes: nothing inbound expires

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 3
CommitEvery = 3
LogLevel = 2
# No reserve: these runs test the wall behind it, a disk that fills up (exit 74).
DiskReserve = 0

[LIST news]
Type = Open
Owner = boss@example.org
Description = News of the site
MemberFile = 00000001
"""

NEWS = ["bob@example.net", "carol@example.com = NAME Carol Stone", "dave@example.org",
        "ed@b.example.com = NOMAIL", "hal@example.com"]

# (author, to, subject, body), CommitEvery = 3: robot commands that change
# member files and tristero.ini (CREATE and SET by the SuperUser), posts that
# fan out to several envelopes and are archived, two messages that fail (each
# failure notice in another transaction), housekeeping in the last one; one
# gives a password, so it is kept in spool/in/cur rewritten (redact.stored).
WORKLOAD = [
    ("alice@example.net", "tristero@example.org", "join", "subscribe news Alice Liddell\n"),
    ("bob@example.net", "news@example.org", "First post", "Hello, news.\n.\n..dots\n"),
    (None, "tristero@example.org", "no author", "help\n"),
    ("boss@example.org", "tristero@example.org", "", "password S3cretPw\ncreate sports Sports talk\n"),
    ("dave@example.org", "tristero@example.org", "", "set news nomail\nsubscribe sports\n"),
    ("carol@example.com", "tristero@example.org", "", "unsubscribe news\n"),
    ("dave@example.org", "sports@example.org", "Match report", "We won.\n"),
    ("", "", "", ""),
    ("boss@example.org", "tristero@example.org", "", "set news forwardprefix [news]\n"),
    ("bob@example.net", "news@example.org", "Second post", "Prefixed.\n"),
    ("hal@example.com", "tristero@example.org", "", "unsubscribe *\nlists\n"),
]
FAILING = (2, 7)        # no From; an empty file


def build(site):
    """The pristine site of the workload (nothing run yet)."""
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join(m + ("\n" if "=" in m else " =\n") for m in NEWS))
    default = site.path("archive", "00000000")
    os.makedirs(default)
    for name, text in (("welcome.txt", "Welcome!\n"), ("farewell.txt", "Goodbye.\n"),
                       ("readme.txt", "About this list.\n")):
        with open(os.path.join(default, name), "w") as f:
            f.write(text)
    # Housekeeping has a processed message and a daily log to remove.
    os.makedirs(site.path("spool", "in", "cur"))
    old = site.path("spool", "in", "cur", "1500000000.M1P1.old:2,S")
    with open(old, "w") as f:
        f.write(mail(subject="old"))
    os.utime(old, (1500000000, 1500000000))
    os.makedirs(site.path("logs"))
    with open(site.path("logs", "tristero-2023-09-01.log"), "w") as f:
        f.write("2023-09-01 10:00:00 an old day\n")
    for frm, to, subject, body in WORKLOAD:
        if frm is None:
            site.drop("To: %s\nSubject: %s\nMessage-ID: <nofrom@example.net>\n\n%s" % (to, subject, body))
        elif not frm:
            site.drop(b"")
        else:
            site.drop(mail(frm=frm, to=to, subject=subject, body=body))


def snapshot(home):
    """Everything a run leaves in the site, comparable between runs.

    Files by relative path with their bytes (the site's own path, which the
    failure notice names, made HOME); folders as path/ with None; the daily
    logs as their lines about messages (what a recovery or a stopped run adds
    about itself is left out: 'run:', 'recovered:', disk failures).
    """
    out = {}
    home = os.path.abspath(home)
    for folder, dirs, files in os.walk(home):
        rel = os.path.relpath(folder, home)
        for d in dirs:
            out[os.path.normpath(os.path.join(rel, d)) + "/"] = None
        for name in files:
            path = os.path.join(rel, name)
            if path == os.path.join("spool", "tristero.lock"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read().replace(home.encode(), b"HOME")
            if rel == "logs":
                data = [l for l in data.decode().splitlines()
                        if not l[20:].startswith(("run: ", "recovered: ", "disk failure"))]
            out[os.path.normpath(path)] = data
    return out


def check_same(got, want):
    """Assert two snapshots are equal, showing the first difference."""
    for key in sorted(set(got) | set(want)):
        g, w = got.get(key, "<absent>"), want.get(key, "<absent>")
        if g != w:
            if isinstance(g, bytes) and isinstance(w, bytes):
                g, w = g.decode("utf-8", "replace").splitlines(), w.decode("utf-8", "replace").splitlines()
            if isinstance(g, list) and isinstance(w, list):
                diff = list(difflib.unified_diff(w, g, "want", "got", lineterm="", n=1))
                raise AssertionError("%s differs:\n%s" % (key, "\n".join(diff[:40])))
            raise AssertionError("%s differs: got %r, want %r" % (key, g, w))


def check_invariants(site, names):
    """What must hold at any instant: every inbound message in exactly one place
    (new, cur or failed); only whole BSMTP files in spool/out/new."""
    where = {n: [d for d, found in (("new", site.path("spool", "in", "new", n)),
                                    ("cur", site.path("spool", "in", "cur", n + ":2,S")),
                                    ("failed", site.path("spool", "failed", "new", n)))
                 if os.path.lexists(found)]
             for n in names}
    assert all(len(w) == 1 for w in where.values()), where
    for name in site.listdir("spool", "out", "new"):
        with open(site.path("spool", "out", "new", name), "rb") as f:
            BsmtpFile.parse(f.read())


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    """(pristine site, inbound names, snapshot of the uninterrupted run, its number
    of steps, a folder for copies)."""
    base = tmp_path_factory.mktemp("crash")
    pristine = Site(base / "pristine")
    os.makedirs(pristine.home)
    build(pristine)
    names = pristine.listdir("spool", "in", "new")
    reference = Site(base / "reference")
    shutil.copytree(pristine.home, reference.home, symlinks=True)
    reference.run(now=NOW)
    want = snapshot(reference.home)
    # How many steps the uninterrupted run takes: the first N that it survives.
    lo, hi = 1, 4096
    while lo < hi:
        mid = (lo + hi) // 2
        trial = Site(base / ("count%d" % mid))
        shutil.copytree(pristine.home, trial.home, symlinks=True)
        p = trial.run(now=NOW, check=False, env={"TRISTERO_CRASH_AFTER": str(mid)})
        assert p.returncode in (0, -signal.SIGKILL), p.stderr
        if p.returncode == 0:
            hi = mid
        else:
            lo = mid + 1
        shutil.rmtree(trial.home)
    return pristine, names, want, lo - 1, base


def files(snap, folder):
    """Names of the files directly in folder in a snapshot."""
    return sorted(k[len(folder) + 1:] for k, v in snap.items()
                  if v is not None and os.path.dirname(k) == folder)


def test_the_reference_run_does_the_whole_workload(workload):
    """The uninterrupted run commits several transactions and does every kind of work."""
    pristine, names, want, steps, _ = workload
    log = [l for k, v in want.items() if k.startswith("logs/") and v for l in v]
    assert len(names) == len(WORKLOAD) and files(want, "spool/in/new") == []
    assert files(want, "spool/in/cur") == sorted(n + ":2,S" for i, n in enumerate(names) if i not in FAILING)
    assert files(want, "spool/failed/new") == [names[i] for i in FAILING]
    kept = want["spool/in/cur/%s:2,S" % names[3]]
    assert b"password ********\ncreate sports" in kept and b"S3cretPw" not in kept
    assert "tristero-2023-11-15.log" in files(want, "logs")
    assert "tristero-2023-09-01.log" not in files(want, "logs")
    assert [k for k in want if k.startswith("spool/txn/")] == ["spool/txn/"]
    outbound = [want["spool/out/new/" + n] for n in files(want, "spool/out/new")]
    posts = [o for o in outbound if o.startswith(b"MAIL FROM:<owner-news@")]
    assert len(posts) == 3 and sum(o.count(b"RCPT TO:") for o in posts) == 5 + 3
    assert sum(b"moved to spool/failed" in o for o in outbound) == 2
    members = want["lists/00000001.ini"].decode()
    assert "alice@example.net = NAME Alice Liddell" in members and "carol@" not in members
    assert "dave@example.org = NOMAIL" in members and "hal@" not in members
    assert "ForwardPrefix = [news]" in want["tristero.ini"].decode()
    assert "[LIST sports]" in want["tristero.ini"].decode()
    assert "dave@example.org =" in want["lists/00000002.ini"].decode()
    assert want["archive/00000002/welcome.txt"] == b"Welcome!\n"
    assert "We won." in want["archive/00000002/20231115.txt"].decode()
    assert "Prefixed." in want["archive/00000001/20231115.txt"].decode()
    assert sum("moved to spool/failed" in l for l in log) == 2
    assert sum("housekeeping: " in l and "1 removed" in l for l in log) == 2
    lines = [l for l in log if " from=<" in l]
    assert len(lines) == len(set(lines)) == len(WORKLOAD)
    assert 60 < steps < 250, steps      # every one is a kill point: keep the sweep affordable


def _kill_then_finish(workload, label, kill, recovery_kill=None):
    """Copy the pristine site and run it, killed by kill; when that leaves a committed
    transaction to finish and recovery_kill is given, run it again killed by that;
    then run it to the end. Returns (snapshot, a committed transaction was pending,
    the recovery was killed)."""
    pristine, names, want, steps, base = workload
    site = Site(base / label.replace(" ", "_").replace(",", ""))
    shutil.copytree(pristine.home, site.home, symlinks=True)
    try:
        kill(site)
        check_invariants(site, names)
        pending = bool(journal.pending(site.home))
        twice = False
        if pending and recovery_kill:
            twice = recovery_kill(site)
            check_invariants(site, names)
        site.run(now=NOW)
        got = snapshot(site.home)
        assert not site.listdir("spool", "in", "new")
        assert not site.listdir("spool", "txn")
        return got, pending, twice
    finally:
        shutil.rmtree(site.home, ignore_errors=True)


def at_step(n, surely=True):
    """A kill: the run kills itself (SIGKILL) right after its n-th step (if it
    takes that many, unless surely). Returns whether it was killed."""
    def kill(site):
        p = site.run(now=NOW, check=False, env={"TRISTERO_CRASH_AFTER": str(n)})
        assert p.returncode == -signal.SIGKILL or not surely and p.returncode == 0, (n, p.returncode, p.stderr)
        assert b"Traceback" not in p.stderr
        return p.returncode != 0
    return kill


def after(seconds):
    """A kill: SIGKILL from outside, seconds after the run started."""
    def kill(site):
        cmd = [sys.executable, TRISTERO, "run", "--home", site.home, "--now", NOW]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(seconds)
        p.send_signal(signal.SIGKILL)
        _, err = p.communicate()
        assert p.returncode in (0, -signal.SIGKILL) and b"Traceback" not in err
    return kill


def sweep(workload, cases):
    """_kill_then_finish for each (label, kill, recovery_kill), in parallel; each result
    must equal the uninterrupted run (the first difference fails the test).
    Returns [(label, pending, recovery killed)]."""
    want = workload[2]
    out = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {pool.submit(_kill_then_finish, workload, *case): case[0] for case in cases}
        try:
            for f in concurrent.futures.as_completed(futures):
                try:
                    got, pending, twice = f.result()
                    check_same(got, want)
                except AssertionError as e:
                    raise AssertionError("%s: %s" % (futures[f], e)) from None
                out.append((futures[f], pending, twice))
        finally:
            pool.shutdown(cancel_futures=True)
    return out


def test_a_run_killed_after_any_step_then_run_again_ends_as_if_never_killed(workload):
    """Every step of the run, from the first to the last, is a kill point; where the
    kill leaves a committed transaction, every other time the run that finishes it
    is killed too (after its first, second or third step)."""
    steps = workload[3]
    results = sweep(workload, [("killed after step %d of %d" % (n, steps), at_step(n),
                                at_step(1 + n // 2 % 3, surely=False) if n % 2 == 0 else None)
                               for n in range(1, steps + 1)])
    assert len(results) == steps
    inside_apply = [r for r in results if r[1]]
    assert len(inside_apply) > steps // 4, inside_apply
    assert len([r for r in results if r[2]]) > steps // 10


def test_a_run_killed_at_random_times_then_run_again_ends_as_if_never_killed(workload):
    """Kills from outside, at wall-clock times nobody chose (a fixed seed keeps them repeatable)."""
    pristine, base = workload[0], workload[4]
    timing = Site(base / "timing")
    shutil.copytree(pristine.home, timing.home, symlinks=True)
    started = time.monotonic()
    timing.run(now=NOW)
    took = time.monotonic() - started
    rng = random.Random(1984)
    sweep(workload, [("killed after %.3f s" % d, after(d)) for d in (rng.uniform(0.05, took) for _ in range(6))])


def test_per_recipient_copies_are_the_same_files_whether_or_not_the_run_was_cut(tmp_path):
    """A run cut after its first transaction (as a crash there would) and run again
    writes the same files as one run, with one-click unsubscribe links per recipient."""
    sites = [TestSite(tmp_path / "one"), TestSite(tmp_path / "cut")]
    for site in sites:
        os.makedirs(site.home)
        site.write_ini(INI.replace("CommitEvery = 3", "UnsubscribeURL = https://example.org/u"))
        os.makedirs(site.path("lists"))
        with open(site.path("lists", "00000001.ini"), "w") as f:
            f.write("[Members]\nzed@example.net =\nbob@example.com =\n")
        # The same site key: the one-click links are signed with it.
        with open(site.path("tristero.key"), "wb") as f:
            f.write(b"k" * 32)
        os.chmod(site.path("tristero.key"), 0o600)
    join = mail(frm="alice@example.org", body="subscribe news\n")
    post = mail(frm="bob@example.com", to="news@example.org", subject="hi", body="Hello.\n")
    one, cut = sites
    one.drop(join)
    one.drop(post)
    one.run(now=NOW)
    cut.drop(join)
    cut.run(now=NOW)
    cut.drop(post)
    cut.run(now=NOW)
    got, want = snapshot(cut.home), snapshot(one.home)
    assert files(got, "spool/out/new") == files(want, "spool/out/new")
    for name in files(want, "spool/out/new"):
        assert got["spool/out/new/" + name] == want["spool/out/new/" + name], name


# --- appends repeated after a crash (durable.append_at) ---

def test_an_append_torn_by_a_power_loss_is_written_whole_once_when_redone(tmp_path):
    log = tmp_path / "day.log"
    log.write_bytes(b"line 1\n")
    data = b"line 2\nline 3\n"
    log.write_bytes(b"line 1\n" + data[:9])
    assert durable.append_at(str(log), 7, data) == 7 + len(data)
    assert durable.append_at(str(log), 7, data) == 7 + len(data)
    assert log.read_bytes() == b"line 1\n" + data


def test_an_append_redone_after_a_line_was_logged_directly_keeps_both_lines_once(tmp_path):
    log = tmp_path / "day.log"
    log.write_bytes(b"line 1\n")
    first, second = b"message a\n", b"message b\n"
    # Planned at offset 7; a line logged directly (a disk failure, a deliver)
    # came in before the transaction was applied.
    with open(log, "ab") as f:
        f.write(b"deliver: a rather long line about something else\n")
    end = durable.append_at(str(log), 7, first)
    durable.append_at(str(log), 7 + len(first), second, end)
    whole = log.read_bytes()
    end = durable.append_at(str(log), 7, first)
    durable.append_at(str(log), 7 + len(first), second, end)
    assert log.read_bytes() == whole == (b"line 1\ndeliver: a rather long line about something else\n"
                                         + first + second)


def test_an_append_after_a_line_a_full_disk_cut_short_starts_a_line_of_its_own(tmp_path):
    log = tmp_path / "day.log"
    log.write_bytes(b"line 1\ndisk failure, batch sto")
    for _ in range(2):
        durable.append_at(str(log), 7, b"message a\n")
    assert log.read_bytes() == b"line 1\ndisk failure, batch sto\nmessage a\n"


def test_an_append_planned_after_a_line_cut_short_starts_a_line_of_its_own(tmp_path):
    log = tmp_path / "day.log"
    log.write_bytes(b"line 1\ndisk failure, batch sto")
    for _ in range(2):
        durable.append_at(str(log), 30, b"message a\n")
    assert log.read_bytes() == b"line 1\ndisk failure, batch sto\nmessage a\n"


def test_two_equal_appends_in_one_transaction_are_both_kept(tmp_path):
    archive = tmp_path / "20231115.txt"
    post = b"From a@example.net Wed Nov 15 10:00:00 2023\n\nsame\n\n"
    for _ in range(2):
        end = durable.append_at(str(archive), 0, post)
        durable.append_at(str(archive), len(post), post, end)
    assert archive.read_bytes() == post * 2


def test_an_append_to_a_file_a_person_cut_short_goes_at_its_end(tmp_path):
    log = tmp_path / "day.log"
    log.write_bytes(b"kept\n")
    assert durable.append_at(str(log), 500, b"new\n") == 9
    assert log.read_bytes() == b"kept\nnew\n"


def test_a_transaction_whose_removal_was_cut_short_is_not_applied_again(tmp_path):
    site = Site(tmp_path / "site")
    folder = os.path.join(site.home, journal.TXN_DIR, "00000001-1")
    os.makedirs(folder)
    with open(os.path.join(folder, "000001"), "wb") as f:
        f.write(b"staged\n")
    assert journal.recover(site.home) == (0, 0)
    assert os.listdir(os.path.join(site.home, journal.TXN_DIR)) == []


# --- full disks ---

def _limited(limit):
    """preexec_fn: no file may grow past limit bytes (writes past it fail with EFBIG)."""
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def _check_stopped(p, want, site, names):
    """A run stopped by its disk: exit 74, one clear line, no traceback, nothing lost,
    and only whole files in spool/out/new, each exactly as the uninterrupted run wrote it."""
    err = p.stderr.decode()
    assert p.returncode == 74, (p.returncode, err)
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("tristero: disk failure") and "nothing lost; run again" in err
    check_invariants(site, names)
    got = snapshot(site.home)
    for name in files(got, "spool/out/new"):
        assert got["spool/out/new/" + name] == want["spool/out/new/" + name]


def test_a_run_that_fills_the_disk_stops_with_74_and_the_next_ends_as_if_never_stopped(workload):
    """The largest file a run may write is limited (RLIMIT_FSIZE), at sizes that make
    it fail while staging and while applying; then the limit goes ("space is freed")."""
    pristine, names, want, steps, base = workload
    stopped = {}
    # The day's log only grows as transactions are applied: a limit below its
    # final size stops some apply; a limit of 0 stops the first staged file.
    final = sum(len(l.encode()) + 1 for l in want["logs/tristero-2023-11-15.log"])
    for limit in [0, 300] + [final * k // 8 for k in range(1, 8)]:
        site = Site(base / ("limit%d" % limit))
        shutil.copytree(pristine.home, site.home, symlinks=True)
        p = site.run(now=NOW, check=False, preexec_fn=_limited(limit), env=INTERPRETER_WRITES_NOTHING)
        _check_stopped(p, want, site, names)
        assert "File too large" in p.stderr.decode()
        stopped[limit] = (bool(journal.pending(site.home)), len(site.listdir("spool", "in", "new")))
        site.run(now=NOW)
        check_same(snapshot(site.home), want)
        shutil.rmtree(site.home)
    # Some stopped while staging (nothing committed was left), some inside apply
    # (a committed transaction was), at different points of the workload.
    assert {pending for pending, _ in stopped.values()} == {False, True}, stopped
    assert len({left for _, left in stopped.values()}) >= 4, stopped


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs of our own (mount needs root; skipped where it cannot be had)."""
    path = str(tmp_path / "tmpfs")
    os.makedirs(path)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tristero-test", path],
                       capture_output=True)
    if p.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % p.stderr.decode(errors="replace").strip())
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path], capture_output=True)


def _fill(path, leave):
    """Fill the file system of path, leaving about leave bytes free."""
    ballast = os.path.join(path, "ballast")
    with open(ballast, "wb") as f:
        chunk = b"\0" * 4096
        while True:
            st = os.statvfs(path)
            if st.f_bavail * st.f_frsize <= leave:
                break
            try:
                f.write(chunk)
                f.flush()
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    return ballast


def test_a_run_on_a_really_full_disk_stops_with_74_and_the_next_ends_as_if_never_stopped(workload, tmpfs):
    pristine, names, want, steps, base = workload
    stopped = 0
    for leave in (0, 8192, 16384, 32768, 49152, 81920):
        site = Site(os.path.join(tmpfs, "site%d" % leave))
        shutil.copytree(pristine.home, site.home, symlinks=True)
        ballast = _fill(tmpfs, leave)
        p = site.run(now=NOW, check=False, env=INTERPRETER_WRITES_NOTHING)
        if p.returncode != 0:
            _check_stopped(p, want, site, names)
            assert "No space left on device" in p.stderr.decode()
            stopped += 1
        os.unlink(ballast)
        site.run(now=NOW)
        check_same(snapshot(site.home), want)
        shutil.rmtree(site.home)
    assert stopped >= 3


def test_a_run_on_a_read_only_disk_stops_with_74_and_changes_nothing(workload, tmpfs):
    pristine, names, want, steps, base = workload
    site = Site(os.path.join(tmpfs, "site"))
    shutil.copytree(pristine.home, site.home, symlinks=True)
    before = snapshot(site.home)
    subprocess.run(["mount", "-o", "remount,ro", tmpfs], check=True)
    try:
        p = site.run(now=NOW, check=False, env=INTERPRETER_WRITES_NOTHING)
    finally:
        subprocess.run(["mount", "-o", "remount,rw", tmpfs], check=True)
    _check_stopped(p, want, site, names)
    assert "Read-only file system" in p.stderr.decode()
    assert snapshot(site.home) == before
    site.run(now=NOW)
    check_same(snapshot(site.home), want)
