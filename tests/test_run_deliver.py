"""run --deliver: the files reach the mail server while the batch is still going on."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import BASE_INI, TestSite, mail
from exim import free_port
from tristero.runtime import batch

MEMBERS = ["m%02d@example.net" % i for i in range(30)]

# An SMTP server in a process of its own (a run in this process must find the process's
# open files as it left them): one line per transaction in the file it is given.
SINK = """\
import sys, time
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(sys.argv[2], "a") as f:
            f.write(" ".join(envelope.rcpt_tos) + "\\n")
        return "250 OK"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


@pytest.fixture
def sink(tmp_path):
    """(port, the file of transactions) of an SMTP server that takes everything."""
    port, seen = free_port(), tmp_path / "transactions"
    seen.write_text("")
    p = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(seen)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    yield port, seen
    p.stdin.close()
    p.wait(30)
    p.stdout.close()


def transactions(seen):
    return [line.split() for line in seen.read_text().splitlines()]


def test_run_deliver_puts_a_posts_first_envelope_on_the_wire_before_the_batch_ends(site, sink, monkeypatch):
    port, seen = sink
    site.write_ini(BASE_INI + "CommitEvery = 1\n[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\n"
                   "[LIST news]\nOwner = editor@example.org\nMemberFile = 00000001\n" % port)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in MEMBERS))
    events = []
    commit = batch.Batch.commit

    def noted_commit(self):
        commit(self)
        events.append("commit")
        if events.count("commit") == 1:
            # The batch goes on once the first post is on the wire, or after a minute
            # (then delivery waited for the batch, and the order below says so).
            for _ in range(600):
                if transactions(seen):
                    events.append("envelope")
                    break
                time.sleep(0.1)

    monkeypatch.setattr(batch.Batch, "commit", noted_commit)
    for i in range(3):
        site.drop(mail(frm=MEMBERS[0], to="news@example.org", subject="Post %d" % i, body="Big news.\n"))
    site.run("--deliver")
    events.append("batch ended")
    assert events.index("envelope") < events.index("commit", 1) < events.index("batch ended")
    # Everything the batch wrote went out, including what it committed last.
    assert site.listdir("spool", "out", "new") == []
    assert sorted(r for t in transactions(seen) for r in t) == sorted(MEMBERS * 3)


def test_run_deliver_reports_a_mail_server_it_cannot_reach_and_keeps_the_files(site):
    port = free_port()          # nobody listens there
    site.write_ini(BASE_INI + "[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\nSmtpTimeout = 5\n" % port)
    site.drop(mail(frm="alice@example.net", body="lists\n"))
    p = site.run("--deliver", check=False)
    assert p.returncode == 75
    assert b"cannot connect to 127.0.0.1:%d" % port in p.stderr
    assert len(site.listdir("spool", "out", "new")) == 1


def test_run_deliver_while_another_deliver_holds_the_lock_leaves_the_files_to_it(site, sink):
    from tristero.model import locks
    port, seen = sink
    site.write_ini(BASE_INI + "[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\n" % port)
    site.drop(mail(frm="alice@example.net", body="lists\n"))
    os.makedirs(site.path("spool"), exist_ok=True)
    with locks.hold(site.path("spool", "deliver.lock")):
        p = site.run("--deliver", "-v", check=False, subprocess=True)
    # The batch was done; its file waits for the deliver that holds the lock (or the next one).
    assert p.returncode == 75
    assert b"another deliver is running" in p.stderr
    assert len(site.listdir("spool", "out", "new")) == 1
    assert transactions(seen) == []


# --- a large message's files streamed (StreamFiles) -------------------------------------

BIG = ["b%02d@example.net" % i for i in range(12)]


def big_list(site, extra="", members=BIG, every=3):
    """news with members; one recipient a file, committed every files at a time."""
    site.write_ini(BASE_INI.replace("MaxRecipients = 3\n", "MaxRecipients = 1\nStreamFiles = %d\n" % every)
                   + extra + "[LIST news]\nOwner = editor@example.org\nMemberFile = 00000001\n")
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in members))


def test_run_deliver_puts_one_posts_first_envelopes_on_the_wire_before_its_last_are_written(site, sink,
                                                                                            monkeypatch):
    port, seen = sink
    big_list(site, "[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\n" % port)
    events = []
    stream_out = batch.Batch.stream_out

    def noted(self, stream):
        stream_out(self, stream)
        events.append("streamed")
        if events.count("streamed") == 1:
            # The post goes on once its first envelopes are on the wire (or after a minute).
            for _ in range(600):
                if transactions(seen):
                    # By name (a file delivered between the two listings is in both).
                    written = {n.split(":", 1)[0] for d in ("new", "cur") for n in site.listdir("spool", "out", d)
                               if not n.startswith(".")}
                    events.append("envelope, with %d of the post's files written" % len(written))
                    break
                time.sleep(0.1)

    monkeypatch.setattr(batch.Batch, "stream_out", noted)
    site.drop(mail(frm=BIG[0], to="news@example.org", subject="One post", body="Big news.\n"))
    site.run("--deliver")
    assert events[:2] == ["streamed", "envelope, with 3 of the post's files written"]
    assert sorted(r for t in transactions(seen) for r in t) == sorted(BIG)
    assert site.listdir("spool", "streamed") == []


def test_a_run_killed_between_a_posts_commits_sends_each_member_one_copy_in_all(tmp_path):
    """Killed after each of its disk steps in turn (TRISTERO_CRASH_AFTER), then run again:
    the files committed before the kill and those the next run writes hold each member
    once; at some kill the post's first files were committed while the post itself was not."""
    base = TestSite(tmp_path / "base", subprocess=True)
    os.makedirs(base.home)
    few = BIG[:5]       # files committed 2, 2, then 1 with the post
    big_list(base, members=few, every=2)
    base.run(subprocess=False)      # the day's housekeeping done: the kills land on the post
    base.drop(mail(frm=few[0], to="news@example.org", subject="One post", body="Big news.\n"))
    n, killed, streamed_before_post = 0, True, 0
    while killed:
        n += 1
        trial = TestSite(tmp_path / ("t%d" % n), subprocess=True)
        shutil.copytree(base.home, trial.home)
        p = trial.run(check=False, env={"TRISTERO_CRASH_AFTER": str(n)})
        assert p.returncode in (0, -signal.SIGKILL), p.stderr
        killed = p.returncode != 0
        if killed and trial.listdir("spool", "in", "new") and trial.listdir("spool", "out", "new"):
            streamed_before_post += 1
        trial.run(subprocess=False)
        got = sorted(r for b in trial.outbound() for r in b.recipients if r in BIG)
        assert got == sorted(few), n
        assert not trial.listdir("spool", "in", "new") and not trial.listdir("spool", "streamed")
        shutil.rmtree(trial.home)
    assert streamed_before_post >= 2
