"""tristero.py watch: the real program, real file events, real signals."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import BASE_INI, TRISTERO, mail

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Watch:
    """A running `tristero.py watch`, its stderr collected line by line."""

    def __init__(self, site, *args):
        env = dict(os.environ)
        env.pop("TRISTERO_HOME", None)
        self.proc = subprocess.Popen([sys.executable, TRISTERO, "watch", "--home", site.home] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace"))

    def stderr(self):
        return "".join(self.lines)

    def count(self, text):
        return sum(text in line for line in self.lines)

    def wait_for(self, text, count=1, timeout=20):
        """Wait until count lines of stderr contain text."""
        deadline = time.monotonic() + timeout
        while self.count(text) < count:
            assert self.proc.poll() is None, "watch exited %s\n%s" % (self.proc.returncode, self.stderr())
            assert time.monotonic() < deadline, "no %r in stderr after %d s:\n%s" % (text, timeout, self.stderr())
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send sig and return the exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail("watch still running %d s after signal %d:\n%s" % (timeout, sig, self.stderr()))

    def close(self):
        """Kill (if still running) and reap the process; keep what it wrote to stdout."""
        if self.proc.stdout.closed:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)
        self.stdout = self.proc.stdout.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def start(site):
    """start(*args): run watch on the site; every watcher is killed and reaped at the end."""
    started = []

    def start(*args):
        w = Watch(site, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()


def names(site, *folder):
    """Names of the messages in a maildir folder, without the ':2,' info of cur/."""
    return {n.split(":")[0] for n in site.listdir(*folder)}


def processed(site):
    return (names(site, "spool", "in", "cur") | names(site, "spool", "failed", "new")
            | names(site, "spool", "failed", "cur"))


def wait_processed(site, expected, w, timeout=20):
    """Wait until spool/in/new is empty and every expected message has left it."""
    deadline = time.monotonic() + timeout
    while names(site, "spool", "in", "new") or not set(expected) <= processed(site):
        assert time.monotonic() < deadline, "mail not processed after %d s:\n%s" % (timeout, w.stderr())
        time.sleep(0.1)


def test_mail_arriving_while_watching_is_processed_in_one_batch(site, start):
    w = start("-v")
    w.wait_for("watching")
    w.wait_for("batch finished")       # the start-up batch
    dropped = [site.drop(mail(body="help", subject="n%d" % i)) for i in range(3)]
    wait_processed(site, dropped, w, timeout=15)   # well before the timer's rescan: events did it
    w.wait_for("batch finished", count=2)
    assert w.stop() == 0
    assert w.count("batch started") == 2, w.stderr()


def test_mail_waiting_at_start_is_processed_at_start_up(site, start):
    dropped = [site.drop(mail(body="help")), site.drop(mail(body="help", subject="two"))]
    w = start("-v")
    wait_processed(site, dropped, w, timeout=15)
    assert w.stop() == 0
    assert w.count("batch started, 2 message(s) waiting") == 1, w.stderr()


def test_watch_prints_nothing_without_verbose_and_stops_on_sigint(site, start):
    w = start()
    dropped = site.drop(mail(body="help"))
    wait_processed(site, [dropped], w)
    assert w.stop(signal.SIGINT) == 0
    w.close()
    assert w.stderr() == "" and w.stdout == ""


def test_stop_during_a_batch_lets_the_batch_finish(site, start):
    dropped = [site.drop(mail(body="help", subject="m%d" % i)) for i in range(200)]
    w = start("-v")
    w.wait_for("batch started, 200 message(s) waiting")
    assert w.stop(timeout=60) == 0
    assert "batch finished, exit 0" in w.stderr()
    assert names(site, "spool", "in", "new") == set()
    assert processed(site) == set(dropped)
    assert [n for n in site.listdir("spool", "txn") if n.endswith(".tmp")] == []


def test_invalid_configuration_does_not_stop_the_watcher(site, start):
    site.write_ini(BASE_INI.replace("MaxRecipients = 3", "MaxRecipients = lots"))
    first = site.drop(mail(body="help"))
    w = start()
    w.wait_for("exit 78")
    assert w.proc.poll() is None
    assert first in names(site, "spool", "in", "new")
    site.write_ini(BASE_INI)
    second = site.drop(mail(body="help", subject="again"))
    wait_processed(site, [first, second], w)
    assert w.stop() == 0
