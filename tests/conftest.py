"""Shared test tools: a site in a temporary folder, driven through tristero.py's entry point.

A scenario runs in this process by default: site.tristero() calls tristero.cli.main,
the function tristero.py hands its arguments to, with stdout, stderr and the
environment as a process of its own would have them, and returns what
subprocess.run would. A test where the process itself is the point (exit by a signal,
resource limits, the crash hooks of durable.py, the interpreter's start) asks for a
real process: site.tristero(..., subprocess=True), TestSite(home, subprocess=True),
or @pytest.mark.subprocess on a test that uses the site fixture. "pytest --subprocess"
runs every scenario as a real process, as before.
"""

import email.contentmanager
import email.policy
import hashlib
import io
import locale
import logging
import os
import shutil
import signal
import subprocess as _subprocess
import sys
import textwrap
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRISTERO = os.path.join(REPO, "tristero.py")
sys.path.insert(0, os.path.join(REPO, "lib"))

BASE_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 3
"""

NEWS_LIST = """\
[LIST news]
Owner = editor@example.org
Description = News of the site
MemberFile = 00000001
"""


# durable.py reads these when it is imported, and each ends the process (SIGKILL).
CRASH_HOOKS = ("TRISTERO_CRASH_AFTER", "TRISTERO_CRASH_ON")
EVERY_RUN_A_PROCESS = False     # pytest --subprocess
# For a process whose disk is made to fail: the interpreter writes nothing of its own
# (byte code; coverage's data when the suite is measured), which would fail as well.
INTERPRETER_WRITES_NOTHING = {"PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_PROCESS_CONFIG": None,
                              "COVERAGE_PROCESS_START": None}


def pytest_addoption(parser):
    parser.addoption("--subprocess", action="store_true",
                     help="run every tristero.py scenario as a real process (slower; as a check of the harness)")


def pytest_configure(config):
    global EVERY_RUN_A_PROCESS
    EVERY_RUN_A_PROCESS = config.getoption("--subprocess")
    config.addinivalue_line("markers", "subprocess: the site fixture runs tristero.py as a real process")


def _exit_status(code):
    """What the interpreter makes of sys.exit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write("%s\n" % code)
    return 1


def _process_state():
    """What a run in this process must leave as it found it."""
    umask = os.umask(0o022)
    os.umask(umask)
    fds = "/proc/self/fd"
    return {"cwd": os.getcwd(), "umask": umask,
            "open files": sorted(os.listdir(fds)) if os.path.isdir(fds) else None,
            "signals": {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                                         signal.SIGPIPE, signal.SIGALRM)},
            "logging": {name: list(logging.getLogger(name).handlers) for name in ("", "watchdog")},
            "streams": (sys.stdin, sys.stdout, sys.stderr)}


def run_main(argv, env=None):
    """tristero.py's entry point (tristero.cli.main) in this process, as tristero.py would
    run it: returns a CompletedProcess with stdout and stderr as bytes. env: variables to
    set (None: to unset) for the call; TRISTERO_HOME is unset. An exception that escapes
    main() is raised here, with its traceback."""
    from tristero.cli import main
    # The streams and the environment are the process's: one run at a time, from the main thread.
    assert threading.current_thread() is threading.main_thread(), "a run in process from another thread"
    before = _process_state()
    saved_env = dict(os.environ)
    encoding = locale.getpreferredencoding(False)
    out, err = io.BytesIO(), io.BytesIO()
    # As in a process whose output is a pipe: stderr escapes what it cannot encode.
    stdout = io.TextIOWrapper(out, encoding=encoding, errors="strict", write_through=True)
    stderr = io.TextIOWrapper(err, encoding=encoding, errors="backslashreplace", write_through=True)
    os.environ.pop("TRISTERO_HOME", None)
    for key, value in (env or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    sys.stdout, sys.stderr = stdout, stderr
    try:
        try:
            code = _exit_status(main(list(argv)))
        except SystemExit as e:       # argparse: --help, --version, a wrong argument
            code = _exit_status(e.code)
        stdout.flush()
        stderr.flush()
        result = _subprocess.CompletedProcess(["tristero.py"] + list(argv), code, out.getvalue(), err.getvalue())
    finally:
        sys.stdin, sys.stdout, sys.stderr = before["streams"]
        os.environ.clear()
        os.environ.update(saved_env)
    after = _process_state()
    assert after == before, "a run in process left the process changed: %r" % {
        k: (before[k], after[k]) for k in before if before[k] != after[k]}
    return result


def _text_of_mixed(msg, *args, **kw):
    """get_content() of a multipart: its text body (a robot reply is its text part and its
    application/json part; the tests read the text)."""
    body = msg.get_body(("plain",))
    if body is None or body is msg:
        raise KeyError(msg.get_content_type())
    return body.get_content(*args, **kw)


_CONTENT = email.contentmanager.ContentManager()
for _key, _getter in email.contentmanager.raw_data_manager.get_handlers.items():
    _CONTENT.add_get_handler(_key, _getter)
_CONTENT.set_handlers = email.contentmanager.raw_data_manager.set_handlers
_CONTENT.add_get_handler("multipart", _text_of_mixed)
READING = email.policy.default.clone(content_manager=_CONTENT)


class TestSite:
    """A site folder with helpers to drop mail, run, and read what came out.

    subprocess: True to run tristero.py as a real process, False in this process, None
    as pytest was asked (--subprocess; else in this process; see the top)."""

    __test__ = False        # a helper, not a class of tests, wherever a test module imports it

    def __init__(self, home, subprocess=None):
        self.home = str(home)
        self.seq = 0
        self.subprocess = subprocess

    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def write_ini(self, text):
        with open(self.path("tristero.ini"), "w") as f:
            f.write(textwrap.dedent(text))

    def drop(self, message, name=None):
        """Put a message (str or bytes) into spool/in/new, oldest first by order of drops."""
        self.seq += 1
        name = name or "%010d.M%dP1.test" % (1700000000 + self.seq, self.seq)
        new = self.path("spool", "in", "new")
        os.makedirs(new, exist_ok=True)
        os.makedirs(self.path("spool", "in", "tmp"), exist_ok=True)
        os.makedirs(self.path("spool", "in", "cur"), exist_ok=True)
        data = message.encode() if isinstance(message, str) else message
        tmp = self.path("spool", "in", "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        t = 1700000000 + self.seq
        os.utime(tmp, (t, t))
        os.rename(tmp, os.path.join(new, name))
        return name

    def tristero(self, *args, check=True, env=None, timeout=300, subprocess=None, **kw):
        """Run tristero.py with --home this site; returns the CompletedProcess.

        subprocess: True for a real process, False in this process (a test that
        monkeypatches), None as the site says; kw go to subprocess.run, so they need a
        process (preexec_fn, ...), as do durable.py's crash hooks."""
        argv = list(args[:1]) + ["--home", self.home] + list(args[1:])
        if subprocess is None:
            subprocess = self.subprocess
        if subprocess is None:
            subprocess = EVERY_RUN_A_PROCESS
        if subprocess:
            e = dict(os.environ)
            e.pop("TRISTERO_HOME", None)
            e.update(env or {})
            p = _subprocess.run([sys.executable, TRISTERO] + argv, capture_output=True, timeout=timeout,
                                env={k: v for k, v in e.items() if v is not None}, **kw)
        else:
            hooks = set(env or ()) & set(CRASH_HOOKS)
            if kw or hooks:
                raise TypeError("%s need(s) a process of its own: pass subprocess=True"
                                % ", ".join(sorted(set(kw) | hooks)))
            p = run_main(argv, env)
        if check and p.returncode != 0:
            raise AssertionError("tristero %s exited %d\nstdout:%s\nstderr:%s"
                                 % (" ".join(args), p.returncode, p.stdout.decode(errors="replace"),
                                    p.stderr.decode(errors="replace")))
        return p

    def run(self, *args, **kw):
        return self.tristero("run", "--now", kw.pop("now", "2026-11-21T10:00:00"), *args, **kw)

    def listdir(self, *parts):
        try:
            return sorted(os.listdir(self.path(*parts)))
        except FileNotFoundError:
            return []

    def outbound(self):
        """The BSMTP files in spool/out/new, parsed, in name order."""
        from tristero.model.spools import BsmtpFile
        out = []
        for name in self.listdir("spool", "out", "new"):
            with open(self.path("spool", "out", "new", name), "rb") as f:
                out.append(BsmtpFile.parse(f.read()))
        return out

    def messages_to(self, address):
        """Parsed messages (email.message.EmailMessage) whose envelope reaches address; a
        robot reply's get_content() is its text part (beside it goes the JSON part)."""
        import email
        return [email.message_from_bytes(b.data, policy=READING)
                for b in self.outbound() if address in b.recipients]

    def log(self):
        text = ""
        for name in self.listdir("logs"):
            if name.endswith(".log"):
                with open(self.path("logs", name), encoding="utf-8") as f:
                    text += f.read()
        return text


@pytest.fixture(scope="session")
def quiet_dns():
    """A DNS server on loopback that knows no name (every question: NXDOMAIN). Python
    processes the tests start ask it too (tests/pysite/sitecustomize.py)."""
    from dnsserver import DnsServer
    with DnsServer({}) as server:
        saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TRISTERO_TEST_DNS")}
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [os.path.join(os.path.dirname(os.path.abspath(__file__)), "pysite")]
            + ([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else []))
        os.environ["TRISTERO_TEST_DNS"] = server.setting
        yield server
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(autouse=True)
def no_outside_dns(quiet_dns, monkeypatch):
    """No test asks the machine's DNS, whose answers are the world's and change (a post
    from example.com is munged where _dmarc.example.com says p=reject): a site without
    [Globals] Nameservers asks quiet_dns instead, in a run in this process, and in a
    run as a process of its own (quiet_dns)."""
    from tristero.core import nameservers
    system = nameservers.resolver

    def resolver(setting="", timeout=nameservers.TIMEOUT):
        return system(setting or quiet_dns.setting, timeout)
    monkeypatch.setattr(nameservers, "resolver", resolver)


@pytest.fixture
def site(tmp_path, request):
    s = TestSite(tmp_path / "site", subprocess=True if request.node.get_closest_marker("subprocess") else None)
    os.makedirs(s.home)
    s.write_ini(BASE_INI)
    return s


def growth(work, small, large, tries=5):
    """How many times the work of work(large) is that of work(small), measured in CPU time
    (the best of tries, so that the machine being busy counts for neither): for work
    that grows with the length of its input, about len(large) / len(small); with its
    square, the square of that. For code that Python cannot count the steps of (a
    regular expression): compare it with a bound halfway, never with a time."""
    def best(arg):
        spent = []
        for _ in range(tries):
            start = time.process_time()
            work(arg)
            spent.append(time.process_time() - start)
        return min(spent)
    return best(large) / max(best(small), 1e-9)


# Runs argv as the child of a small, fresh Python and prints its exit status and peak
# memory. Measured from the test process itself, a child's ru_maxrss would start at the
# test process's own (Linux carries the memory high-water mark of the process that
# forks across exec), and pytest's process grows with the suite.
_MEASURE = ("import os, resource, subprocess, sys\n"
            "output, limit = sys.argv[1], int(sys.argv[2])\n"
            "def cap():\n"
            "    if limit:\n"
            "        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
            "out = open(output, 'wb') if output else subprocess.DEVNULL\n"
            "p = subprocess.Popen(sys.argv[3:], stdin=subprocess.DEVNULL, stdout=out, stderr=out, preexec_fn=cap)\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")


def peak_memory(argv, output=None, address_space=None, env=None):
    """(exit status, peak memory in KB) of a process running argv; its stdout and stderr
    written to the file output (None: thrown away), under RLIMIT_AS = address_space."""
    out = _subprocess.run([sys.executable, "-c", _MEASURE, output or "", str(address_space or 0)] + list(argv),
                          capture_output=True, check=True, env=env)
    status, peak = out.stdout.split()
    return int(status), int(peak)


def mail(frm="alice@example.net", to="tristero@example.org", subject="test", body="", headers=""):
    """A small RFC 5322 message as text."""
    digest = hashlib.sha256(("%s|%s|%s|%s" % (frm, to, subject, body)).encode()).hexdigest()[:16]
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@example.net>\n"
            "Date: Sat, 21 Nov 2026 09:00:00 +0000\n%s\n%s" % (frm, to, subject, digest, headers, body))


def server_program(*candidates):
    """The path of the first of candidates (a path, or a name looked up on PATH) that is
    there: a real server program a test runs (exim, slapd, chromium). When none is, the
    test skips with the reason, or fails where TRISTERO_REQUIRE_SERVERS=1 (CI)."""
    for name in candidates:
        found = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
        if found:
            return found
    why = "none of %s is installed" % ", ".join(candidates)
    if os.environ.get("TRISTERO_REQUIRE_SERVERS") == "1":
        pytest.fail(why + " (TRISTERO_REQUIRE_SERVERS=1)")
    pytest.skip(why)
