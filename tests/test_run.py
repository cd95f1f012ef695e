"""The batch run through the front door: lock, order, --now, --dry-run, output, housekeeping."""

import os
import subprocess
import sys

from conftest import TRISTERO, mail


def test_a_quiet_run_prints_nothing(site):
    site.drop(mail(body="help"))
    p = site.run()
    assert p.stdout == b"" and p.stderr == b""


def test_verbose_run_prints_a_one_line_summary(site):
    site.drop(mail(body="help"))
    p = site.run("-v")
    assert b"1 message(s): 1 done, 0 dropped, 0 failed; 1 outbound file(s) to 1 recipient(s)" in p.stderr


def test_messages_are_taken_oldest_first(site):
    site.write_ini("""\
        [Globals]
        Domain = example.org
        SuperUser = boss@example.org
        [LIST news]
        MemberFile = 00000001
        Type = Closed
        Owner = boss@example.org
        """)
    # The subscription arrives first, so the post that follows is accepted.
    site.drop(mail(frm="zed@example.net", to="boss@example.org", subject="x"), name="zzz-first")
    site.drop(mail(frm="boss@example.org", body="add news zed@example.net HIDE"), name="mmm-second")
    site.drop(mail(frm="zed@example.net", to="news@example.org", subject="hello"), name="aaa-third")
    site.run()
    log = site.log()
    assert log.index("zzz-first") < log.index("mmm-second") < log.index("aaa-third")
    assert "posted to news, 2 recipient(s)" not in log  # boss is not a member: 1 recipient
    assert "posted to news, 1 recipient(s)" in log


def test_processed_mail_moves_to_cur_with_the_seen_flag(site):
    name = site.drop(mail(body="help"))
    site.run()
    assert site.listdir("spool", "in", "new") == []
    assert site.listdir("spool", "in", "cur") == [name + ":2,S"]


def test_a_second_run_while_one_holds_the_lock_exits_75_and_does_nothing(site):
    from tristero.model.locks import hold
    name = site.drop(mail(body="help"))
    os.makedirs(site.path("spool"), exist_ok=True)
    with hold(site.path("spool", "tristero.lock")):
        p = site.run(check=False)
    assert p.returncode == 75
    assert site.listdir("spool", "in", "new") == [name]


def test_now_sets_every_date_the_run_writes(site):
    site.drop(mail(body="help"))
    site.run(now="2031-02-03T04:05:06")
    assert site.listdir("logs") == ["tristero-2031-02-03.log"]
    reply = site.messages_to("alice@example.net")[0]
    assert reply["Date"].datetime.year == 2031
    assert "20310203040506" in reply["Message-ID"]


def test_the_same_input_and_now_give_the_same_output_files(site, tmp_path):
    import shutil
    site.drop(mail(body="help\nlists"))
    site.drop(mail(frm="bob@example.net", body="which"))
    copy = str(tmp_path / "copy")
    shutil.copytree(site.home, copy)
    site.run()
    subprocess.run([sys.executable, TRISTERO, "run", "--home", copy, "--now", "2026-11-21T10:00:00"], check=True)
    names = site.listdir("spool", "out", "new")
    assert names == sorted(os.listdir(os.path.join(copy, "spool", "out", "new")))
    for n in names:
        with open(site.path("spool", "out", "new", n), "rb") as a, \
                open(os.path.join(copy, "spool", "out", "new", n), "rb") as b:
            assert a.read() == b.read()


def test_dry_run_reports_and_changes_nothing(site):
    site.drop(mail(body="help"))
    before = sorted(os.walk(site.home))
    p = site.run("--dry-run")
    out = p.stdout.decode()
    assert "robot: 1 command(s)" in out
    assert "would write spool/out/new/" in out
    assert "would move" in out
    assert sorted(os.walk(site.home)) == before


def test_dry_run_on_a_new_site_writes_no_ini(site):
    os.unlink(site.path("tristero.ini"))
    site.run("--dry-run")
    assert not os.path.exists(site.path("tristero.ini"))


def test_each_message_gets_a_log_line_naming_what_decided_it(site):
    site.drop(mail(body="lists"))
    site.drop(mail(to="nobody@example.org", subject="hi"))
    site.run()
    log = site.log()
    assert "from=<alice@example.net> to=<tristero@example.org>: robot: 1 command(s)" in log
    assert "to=<nobody@example.org>: unknown address nobody@example.org [routing]" in log
    assert "run: 2 message(s): 2 done" in log


def test_housekeeping_expires_old_logs_and_processed_mail_once_a_day(site):
    os.makedirs(site.path("logs"))
    for day in ("2026-10-01", "2026-11-20"):
        with open(site.path("logs", "tristero-%s.log" % day), "w") as f:
            f.write("old\n")
    name = site.drop(mail(body="help"))
    site.run(now="2026-11-01T10:00:00")
    old = site.path("spool", "in", "cur", name + ":2,S")
    os.utime(old, (1700000000, 1700000000))  # 2023: far older than KeepDays
    site.run(now="2026-11-01T11:00:00")      # same day: housekeeping already done
    assert os.path.exists(old)
    site.run(now="2026-11-21T10:00:00")      # a new day: LogDays 30, KeepDays 7
    assert not os.path.exists(old)
    assert "tristero-2026-10-01.log" not in site.listdir("logs")
    assert "tristero-2026-11-20.log" in site.listdir("logs")
    assert "housekeeping: expire processed mail: 1 removed" in site.log()


def test_housekeeping_removes_a_streamed_count_only_when_its_message_is_nowhere_waiting(site):
    # Counts of files a message streamed (StreamFiles) before a kill: kept while the
    # message waits in spool/in/new or spool/failed (re-queued, it sends only the rest).
    waiting = site.drop(mail(body="help"))
    failed = site.drop(b"")
    os.makedirs(site.path("spool", "streamed"))
    for name in (waiting, failed, "1700000000.M9P9.gone"):
        with open(site.path("spool", "streamed", name), "w") as f:
            f.write("3\n")
    # The day's housekeeping comes before the drain: the count of no message goes, the
    # waiting message's is its own to use and remove, the failed message's stays.
    site.run(now="2026-11-01T10:00:00")
    assert "housekeeping: expire streamed counts: 1 removed" in site.log()
    assert site.listdir("spool", "streamed") == [failed]
    site.run(now="2026-11-02T10:00:00")
    assert site.listdir("spool", "streamed") == [failed]


def test_failed_mail_is_never_expired(site):
    site.drop(b"")
    site.run(now="2026-11-01T10:00:00")
    site.run(now="2027-11-01T10:00:00")
    assert len(site.listdir("spool", "failed", "new")) == 1


def test_home_defaults_to_the_environment_variable(site):
    site.drop(mail(body="help"))
    env = dict(os.environ, TRISTERO_HOME=site.home)
    subprocess.run([sys.executable, TRISTERO, "run", "--now", "2026-11-21T10:00:00"], env=env, check=True)
    assert len(site.listdir("spool", "out", "new")) == 1


def test_help_describes_every_command_and_the_exit_codes():
    p = subprocess.run([sys.executable, TRISTERO, "--help"], capture_output=True, check=True)
    out = p.stdout.decode()
    for word in ("run", "deliver", "watch", "check", "75", "78"):
        assert word in out
    p = subprocess.run([sys.executable, TRISTERO, "run", "--help"], capture_output=True, check=True)
    assert b"--dry-run" in p.stdout and b"--now" in p.stdout


def test_a_bad_now_is_a_usage_error(site):
    p = site.tristero("run", "--now", "yesterday", check=False, subprocess=True)
    assert p.returncode == 2
    assert b"is not an ISO 8601 time" in p.stderr
