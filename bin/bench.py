#!/usr/bin/env python3
"""Benchmarks: throughput and peak memory of real batch runs. Prints figures.

Usage: python3 bin/bench.py [--quick] [--only NAME[,NAME...]] [--repeat N] [--keep] [--tmp DIR]

Each scenario builds a fresh site in a temporary folder, writes its mail into
spool/in/new (distinct names and mtimes, oldest first), then runs

    python tristero.py run --home SITE --now 2026-11-21T10:00:00

as a subprocess (with the python of .venv) and measures that process alone:
wall time (interpreter start-up included; see the "startup" row), CPU time
(user + sys, steadier than wall time on a busy machine) and peak resident
memory (its own ru_maxrss, from os.wait4 on its pid, started by a small
launcher process: see LAUNCHER). The output is checked after each run (exit
status, nothing left or failed, the expected number of outbound files; for
posts every member not NOMAIL exactly once, in envelopes of at most
MaxRecipients), and a small fan-out is checked end to end before anything is
measured: a benchmark of a broken run is worth nothing.

Scenarios: startup (empty spool), drain (10,000 messages with the command
LISTS: 10,000 replies), commands (10,000 SUBSCRIBE, UNSUBSCRIBE, WHO, INFO in
turn to a 100-member list), post-10k/100k/1m (one post to a list of that
many members; aliases fanout-100k, fanout-1m), load-1m (INFO to a 1,000,000
member list: the list loaded, nothing saved; the baseline for the fan-out's
memory) and subscribe-1m (one SUBSCRIBE to it: load and save); then
filters-*, digest-1k-10k, search-year and delivery-100k (run + deliver to
bin/sink.py, a counting SMTP sink, beside mlmmj-send: see their functions'
docstrings); and
DKIM: drain-dkim-rsa and drain-dkim-ed25519 (drain with every reply signed: the
cost per signed message against drain), post-100k-dkim-rsa (the post signed once),
post-100k-oneclick (one envelope per recipient with their own one-click link) and
post-100k-oneclick-rsa/-ed25519 (each of those copies signed); post-nested-1m (a post
to a list of 500,000 members and two sub-lists of 500,000 each, overlapping: 1,000,000
distinct recipients merged from three member files, against post-1m); merge-10k (a mail
merge, LIST-merge@, to 10,000 members: one personalised envelope each); LISTSERV's bulk
import: import-100k and import-100k-into-1m (ADD list DD=USERS IMPORT of 100,000
addresses in one message, into an empty list and into one of 1,000,000);
import-majordomo-1k (tristero.py import majordomo of a folder of 1,000 lists); mailing-50k
(a scheduled mailing merged for 50,000 rows); mailing-list-50k (the same to a list of
50,000 members, with the manual's %% place-holders, a %%K cookie each).

This is not a test: nothing is asserted about speed. --quick divides every
size by 10 (a smoke run); --only NAME[,NAME...] runs those scenarios; --repeat N runs each
N times and prints medians; --keep leaves the site folders in place.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

BIN = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BIN)
import setup  # noqa: E402  (bin/setup.py)

REPO = setup.REPO
TRISTERO = os.path.join(REPO, "tristero.py")
NOW = "2026-11-21T10:00:00"
DOMAIN = "example.org"
LIST = "news"
LIST_NUMBER = "00000001"
MAX_RECIPIENTS = 100
# Inbound mail arrived during the day before --now (older than KeepDays would be
# removed by the day's housekeeping as soon as it is processed).
MAIL_EPOCH = int(datetime.datetime.fromisoformat(NOW).astimezone().timestamp()) - 86400
DOMAINS = 1000                 # distinct member domains
VERIFY_MEMBERS = 2345          # the end-to-end fan-out check (not a multiple of MaxRecipients)

INI = """\
[Globals]
Domain = {domain}
SuperUser = boss@{domain}
MaxRecipients = {maxr}

[LIST {list}]
Type = Open
Owner = owner@{domain}
Description = Bench list
MemberFile = {number}
"""

BODY = ("This is a post of a realistic size: a few paragraphs of plain text.\n\n" +
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\n"
        "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis\n"
        "nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.\n\n" * 6 +
        ".a line that starts with a dot (dot-stuffed in BSMTP)\n\n-- \nAlice\n")


def python_for_tristero():
    """The python of .venv (set up if needed); re-exec this script under it."""
    python = setup.ensure(quiet=True)
    if (os.path.realpath(sys.prefix) != os.path.realpath(setup.VENV)
            and not os.environ.get("TRISTERO_BENCH_REEXEC")):
        os.environ["TRISTERO_BENCH_REEXEC"] = "1"
        os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])
    return python


# --- sites ------------------------------------------------------------------

class Site:
    def __init__(self, root, keep=False):
        self.home = tempfile.mkdtemp(prefix="tristero-bench-", dir=root)
        self.keep = keep
        self.seq = 0
        for d in ("lists", "logs", "archive/" + LIST_NUMBER, "spool/in/new", "spool/in/cur",
                  "spool/in/tmp", "spool/out/new", "spool/out/cur", "spool/out/tmp"):
            os.makedirs(self.path(d), exist_ok=True)
        with open(self.path("tristero.ini"), "w") as f:
            f.write(INI.format(domain=DOMAIN, maxr=MAX_RECIPIENTS, list=LIST, number=LIST_NUMBER))
        for name, text in (("welcome", "Welcome to the bench list.\n"),
                           ("farewell", "Goodbye from the bench list.\n")):
            with open(self.path("archive", LIST_NUMBER, name + ".txt"), "w") as f:
                f.write(text)

    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def drop(self, data):
        """A message into spool/in/new; names and mtimes both increase."""
        self.seq += 1
        t = MAIL_EPOCH + self.seq
        name = "%d.M%06dP1.bench" % (t, self.seq)
        path = self.path("spool", "in", "new", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (t, t))

    def write_members(self, n):
        """lists/00000001.ini with n members, in the order the program writes it.

        Every 10th member has a NAME, every 100th is NOMAIL. Returns the set of
        addresses a post must reach.
        """
        rows = []
        for i in range(n):
            d = i % DOMAINS
            local = "user%d" % i
            if i % 100 == 99:
                opts = "NOMAIL"
            elif i % 10 == 3:
                opts = "NAME User %d" % i
            else:
                opts = ""
            rows.append(("domain%d.example" % d, "%s@domain%d.example" % (local, d), opts))
        rows.sort()      # members.domain_order: the domain, then the whole address
        reach = set()
        with open(self.path("lists", LIST_NUMBER + ".ini"), "w", encoding="utf-8") as f:
            f.write("; Members: one per line, \"address = options\" (see README).\n[Members]\n")
            chunk = []
            for _, address, opts in rows:
                chunk.append("%s = %s\n" % (address, opts) if opts else "%s =\n" % address)
                if opts != "NOMAIL":
                    reach.add(address)
                if len(chunk) >= 10000:
                    f.write("".join(chunk))
                    chunk = []
            f.write("".join(chunk))
        return reach

    def count(self, *parts):
        try:
            return len([n for n in os.listdir(self.path(*parts)) if not n.startswith(".")])
        except FileNotFoundError:
            return 0

    def remove(self):
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)


def mail(i, frm, to, subject, body, extra=""):
    return ("Return-Path: <{frm}>\n"
            "Delivered-To: {to}\n"
            "Received: from mx.example.net (mx.example.net [192.0.2.1])\n"
            "\tby mx.{domain} (Postfix) with ESMTPS id 4Q{i:08X}\n"
            "\tfor <{to}>; Sat, 21 Nov 2026 09:00:00 +0000 (UTC)\n"
            "From: {frm}\nTo: {to}\nSubject: {subject}\n"
            "Message-ID: <{i}.bench@example.net>\n"
            "Date: Sat, 21 Nov 2026 09:00:00 +0000\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n"
            "{extra}\n{body}").format(frm=frm, to=to, subject=subject, body=body, i=i,
                                      domain=DOMAIN, extra=extra).encode()


# --- running and checking ---------------------------------------------------

class Failed(Exception):
    pass


# The measured runs are started by a small helper process, not by this one: a
# child's ru_maxrss starts from the RSS of the process it was forked from (Linux
# keeps the high-water mark of the address space exec replaces), and this
# process holds large test data (a million addresses to check against). The
# helper is started first, while this process is still small, and stays small.
LAUNCHER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(job["cmd"], stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=job["env"])
        _, status, ru = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)   # reaped here: tell Popen
    print(json.dumps({"status": p.returncode, "seconds": seconds, "cpu": ru.ru_utime + ru.ru_stime,
                      "maxrss": ru.ru_maxrss}), flush=True)
"""


class Launcher:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, cmd, env, stdout, stderr):
        self.proc.stdin.write(json.dumps({"cmd": cmd, "env": env, "stdout": stdout,
                                          "stderr": stderr}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise Failed("the launcher process died")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


LAUNCH = None


def run_batch(python, site):
    """Run one batch; returns (seconds, CPU seconds, peak RSS in MB) of that process alone."""
    cmd = [python, TRISTERO, "run", "--home", site.home, "--now", NOW]
    env = dict(os.environ)
    env.pop("TRISTERO_HOME", None)
    r = LAUNCH.run(cmd, env, site.path("bench.stdout"), site.path("bench.stderr"))
    if r["status"] != 0:
        with open(site.path("bench.stderr"), errors="replace") as f:
            raise Failed("tristero run exited %d: %s" % (r["status"], f.read()[-2000:]))
    # ru_maxrss: kilobytes on Linux, bytes on macOS.
    peak = r["maxrss"] / (1024.0 * 1024 if sys.platform == "darwin" else 1024.0)
    return r["seconds"], r["cpu"], peak


def check_drained(site, n, files):
    """All n messages processed, none failed, exactly files outbound files."""
    left, done, failed = site.count("spool", "in", "new"), site.count("spool", "in", "cur"), \
        site.count("spool", "failed", "new")
    out = site.count("spool", "out", "new")
    if left or failed or done != n or (files is not None and out != files):
        raise Failed("expected %d processed, 0 left, 0 failed, %s outbound; found %d processed, "
                     "%d left, %d failed, %d outbound" % (n, files, done, left, failed, out))
    return out


def read_envelopes(site):
    """(sender, recipients, message bytes) of every BSMTP file in spool/out/new."""
    folder = site.path("spool", "out", "new")
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            raw = f.read()
        head, sep, data = raw.partition(b"\nDATA\n")
        if not sep:
            raise Failed("%s: no DATA line" % name)
        lines = head.decode("ascii").split("\n")
        if not lines[0].startswith("MAIL FROM:<"):
            raise Failed("%s: no MAIL FROM" % name)
        rcpts = [l[len("RCPT TO:<"):-1] for l in lines[1:]]
        if any(not l.startswith("RCPT TO:<") or not l.endswith(">") for l in lines[1:]):
            raise Failed("%s: a bad envelope line" % name)
        yield lines[0][len("MAIL FROM:<"):-1], rcpts, data


def check_post(site, reach, each=False, signed=False):
    """Every member not NOMAIL got the post exactly once, in envelopes of <= MaxRecipients
    (each: one envelope per recipient, with their own one-click link; signed: every file
    starts with a DKIM-Signature)."""
    check_drained(site, 1, None)
    seen = set()
    total = files = 0
    want_sender = "owner-%s@%s" % (LIST, DOMAIN)
    for sender, rcpts, data in read_envelopes(site):
        files += 1
        if sender != want_sender:
            raise Failed("a post envelope from %r, not %s" % (sender, want_sender))
        if not 0 < len(rcpts) <= MAX_RECIPIENTS:
            raise Failed("an envelope with %d recipients (MaxRecipients %d)" % (len(rcpts), MAX_RECIPIENTS))
        if b"\nSubject: Bench post\n" not in data or b"\n..a line that starts with a dot" not in data \
                or not data.endswith(b"\n.\nQUIT\n"):
            raise Failed("a post file without the post (subject, dot-stuffed body or end)")
        if signed and not data.startswith(b"DKIM-Signature: v=1; a="):
            raise Failed("a post file without a DKIM-Signature on top")
        if each and (len(rcpts) != 1 or b"address=" + rcpts[0].replace("@", "%40").encode() not in data
                     or b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" not in data):
            raise Failed("a one-click post file that is not one recipient's with their own link")
        total += len(rcpts)
        seen.update(rcpts)
    if total != len(reach) or seen != reach:
        raise Failed("the post reached %d recipient line(s), %d distinct; expected exactly the %d "
                     "members not NOMAIL (missing %d, unexpected %d)"
                     % (total, len(seen), len(reach), len(reach - seen), len(seen - reach)))
    expected_files = len(reach) if each else -(-len(reach) // MAX_RECIPIENTS)
    if files != expected_files:
        raise Failed("%d post files; expected %d" % (files, expected_files))
    return files


# --- scenarios ----------------------------------------------------------------
# Each takes (python, site, scale) and returns (count, unit, (seconds, cpu, peak MB), files).

def post_message(i=0):
    return mail(i, "alice@example.net", "%s@%s" % (LIST, DOMAIN), "Bench post", BODY)


def scenario_startup(python, site, scale):
    """An empty spool: interpreter start-up, configuration, lock, housekeeping."""
    measured = run_batch(python, site)
    return 0, "-", measured, check_drained(site, 0, 0)


def scenario_drain(python, site, scale):
    """n messages to the robot, each with the command LISTS: n replies."""
    n = 10000 // scale
    for i in range(n):
        site.drop(mail(i, "user%d@example.net" % i, "tristero@" + DOMAIN, "", "lists\n"))
    measured = run_batch(python, site)
    return n, "messages", measured, check_drained(site, n, n)


def scenario_commands(python, site, scale):
    """n command messages to a 100-member list: SUBSCRIBE, UNSUBSCRIBE, WHO, INFO in turn.

    Each SUBSCRIBE is undone by the next message's UNSUBSCRIBE, so the list
    stays near 100 members; replies plus welcome and farewell messages.
    """
    n = 10000 // scale
    site.write_members(100)
    for i in range(n):
        kind = i % 4
        if kind == 0:
            frm, body = "sub%d@example.net" % i, "subscribe %s Jo Bench\n" % LIST
        elif kind == 1:
            frm, body = "sub%d@example.net" % (i - 1), "unsubscribe %s\n" % LIST
        elif kind == 2:
            frm, body = "user%d@example.net" % i, "who %s\n" % LIST
        else:
            frm, body = "user%d@example.net" % i, "info %s\n" % LIST
        site.drop(mail(i, frm, "tristero@" + DOMAIN, "", body))
    measured = run_batch(python, site)
    subs = (n + 3) // 4
    unsubs = (n + 2) // 4
    files = check_drained(site, n, n + subs + unsubs)     # replies, welcomes, farewells
    return n, "messages", measured, files


def write_rules(site, n):
    """access.ini with n rules for other people and lists, and one for the
    poster's domain on every list: the rights check reads them all."""
    with open(site.path("access.ini"), "w") as f:
        f.write("user,status,list,language,encrypted_password,flag\n")
        for i in range(n - 1):
            f.write('"user%d@rules%d.example","%s","list%d","","",""\n'
                    % (i, i % 50, ("Member", "Poster", "--X---------", "Recipient")[i % 4], i % 20))
        f.write('"*@example.net","Poster","*","","",""\n')


def post_scenario(members, rules=0):
    def scenario(python, site, scale):
        n = members // scale
        if rules:
            write_rules(site, rules)
        reach = site.write_members(n)
        site.drop(post_message())
        measured = run_batch(python, site)
        files = check_post(site, reach)
        return len(reach), "recipients", measured, files
    scenario.__doc__ = "one post to a list of %d members (1%% NOMAIL), MaxRecipients %d%s" % (
        members, MAX_RECIPIENTS, ", %d rules in access.ini" % rules if rules else "")
    return scenario


def use_dkim(python, site, algorithm):
    """[DKIM] on, with a key dkim-keygen writes (not measured)."""
    env = dict(os.environ)
    env.pop("TRISTERO_HOME", None)
    subprocess.run([python, TRISTERO, "dkim-keygen", "--home", site.home, "--algorithm", algorithm],
                   check=True, capture_output=True, env=env)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[DKIM]\nSelector = bench\nKeyFile = dkim.key\nAlgorithm = %s\n" % algorithm)


def use_oneclick(site):
    """UnsubscribeURL set: each recipient's own signed one-click link, one envelope each."""
    with open(site.path("tristero.ini")) as f:
        text = f.read()
    with open(site.path("tristero.ini"), "w") as f:
        f.write(text.replace("[Globals]\n", "[Globals]\nUnsubscribeURL = https://%s/unsubscribe\n" % DOMAIN, 1))


def signed_post_scenario(members, algorithm=None, oneclick=False):
    def scenario(python, site, scale):
        n = members // scale
        if oneclick:
            use_oneclick(site)
        if algorithm:
            use_dkim(python, site, algorithm)
        reach = site.write_members(n)
        site.drop(post_message())
        measured = run_batch(python, site)
        files = check_post(site, reach, each=oneclick, signed=bool(algorithm))
        return len(reach), "recipients", measured, files
    scenario.__doc__ = "one post to a list of %d members%s%s" % (
        members, ", DKIM %s" % algorithm if algorithm else "",
        ", one-click links (one envelope each)" if oneclick else "")
    return scenario


def signed_drain_scenario(algorithm):
    def scenario(python, site, scale):
        """drain with [DKIM] on: n replies, each signed (its own header and body)."""
        use_dkim(python, site, algorithm)
        n = 10000 // scale
        for i in range(n):
            site.drop(mail(i, "user%d@example.net" % i, "tristero@" + DOMAIN, "", "lists\n"))
        measured = run_batch(python, site)
        return n, "messages", measured, check_drained(site, n, n)
    return scenario


def scenario_merge(python, site, scale):
    """A mail merge (issue 14): the owner's post to news-merge@ with place-holders
    (%%N, %%A, %%K: a cookie per member) to a list of 10,000 members: one envelope each,
    each its member's own text."""
    n = 10000 // scale
    reach = site.write_members(n)
    site.drop(mail(0, "owner@%s" % DOMAIN, "%s-merge@%s" % (LIST, DOMAIN), "Bench post",
                   "Dear %%N (%%A),\nyour cookie: %%K\n\n" + BODY))
    measured = run_batch(python, site)
    check_drained(site, 1, len(reach))
    seen = set()
    for _sender, rcpts, data in read_envelopes(site):
        if len(rcpts) != 1 or ("(%s)" % rcpts[0]).encode() not in data or b"%%" in data:
            raise Failed("a merge file that is not one member's own copy")
        seen.add(rcpts[0])
    if seen != reach:
        raise Failed("the merge reached %d members; expected the %d not NOMAIL" % (len(seen), len(reach)))
    return len(reach), "recipients", measured, len(reach)


def scenario_load_1m(python, site, scale):
    """INFO to a list of 1,000,000 members: the member list loaded, nothing saved."""
    n = 1000000 // scale
    site.write_members(n)
    site.drop(mail(0, "someone@example.net", "tristero@" + DOMAIN, "", "info %s\n" % LIST))
    measured = run_batch(python, site)
    return n, "members", measured, check_drained(site, 1, 1)


def scenario_mailing_50k(python, site, scale):
    """A scheduled mailing due now, merged for 50,000 recipient rows ({{NAME}} and
    {{CODE}} in subject and text): one personal copy, one envelope each."""
    n = 50000 // scale
    home = site.path("mailings", "bench")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "mailing.ini"), "w") as f:
        f.write("[Mailing]\nFrom = Bench <bench@example.net>\nSubject = News for {{NAME}}\n"
                "Schedule = now\nState = approved\nApprovedBy = bench@example.net\nApprovedAt = %s\n" % NOW)
    with open(os.path.join(home, "message.txt"), "w") as f:
        f.write("Hello {{NAME}},\n\nyour code is {{CODE}}.\n" + "A line of the news.\n" * 40)
    with open(os.path.join(home, "recipients.csv"), "w") as f:
        f.write("EMAIL,NAME,CODE\n")
        f.writelines("r%d@example.com,Reader %d,C%06d\n" % (i, i, i) for i in range(n))
    measured = run_batch(python, site)
    out = site.count("spool", "out", "new")
    if out != n:
        raise Failed("expected %d outbound files, found %d" % (n, out))
    return n, "recipients", measured, out


def scenario_mailing_list_50k(python, site, scale):
    """A scheduled mailing due now to a list of 50,000 members (Recipients = list:news),
    with {{NAME}} and the manual's %%N, %%A and %%K (a cookie made for each member)."""
    n = 50000 // scale
    reach = site.write_members(n)
    home = site.path("mailings", "bench")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "mailing.ini"), "w") as f:
        f.write("[Mailing]\nFrom = Bench <bench@example.net>\nSubject = News for %%N\nRecipients = list:news\n"
                "Schedule = now\nState = approved\nApprovedBy = bench@example.net\nApprovedAt = %s\n" % NOW)
    with open(os.path.join(home, "message.txt"), "w") as f:
        f.write("Hello {{NAME}} (%%A),\n\nto leave: %%K\n" + "A line of the news.\n" * 40)
    measured = run_batch(python, site)
    out = site.count("spool", "out", "new")
    if out != len(reach):       # every member but the NOMAIL ones
        raise Failed("expected %d outbound files, found %d" % (len(reach), out))
    return n, "members", measured, out


def scenario_subscribe_1m(python, site, scale):
    """SUBSCRIBE one new address to a list of 1,000,000 members: load and save."""
    n = 1000000 // scale
    site.write_members(n)
    site.drop(mail(0, "newcomer@example.net", "tristero@" + DOMAIN, "", "subscribe %s\n" % LIST))
    before = os.path.getsize(site.path("lists", LIST_NUMBER + ".ini"))
    measured = run_batch(python, site)
    files = check_drained(site, 1, 2)        # the reply and the welcome
    with open(site.path("lists", LIST_NUMBER + ".ini"), "rb") as f:
        text = f.read()
    if text.count(b"\n") != n + 3 or b"\nnewcomer@example.net =\n" not in text \
            or len(text) <= before:
        raise Failed("the member file was not saved with the new member")
    return n, "members", measured, files


def import_scenario(existing):
    """LISTSERV's bulk ADD news DD=USERS IMPORT of 100,000 addresses (with names, over
    many domains) from a //USERS DD * block of one message, into a list of existing
    members: one state change, the member file written once."""
    def scenario(python, site, scale):
        n, have = 100000 // scale, existing // scale
        site.write_members(have)
        rows = "".join("new%d@import%d.example New Member %d\n" % (i, i % DOMAINS, i) for i in range(n))
        site.drop(mail(0, "owner@" + DOMAIN, "listserv@" + DOMAIN, "import",
                       "ADD %s DD=USERS IMPORT\n//USERS DD *\n%s/*\n" % (LIST, rows)))
        measured = run_batch(python, site)
        files = check_drained(site, 1, 1)        # the reply; IMPORT welcomes nobody
        with open(site.path("lists", LIST_NUMBER + ".ini"), "rb") as f:
            text = f.read()
        if text.count(b"\n") != have + n + 2 or b"\nnew42@import42.example = NAME New Member 42\n" not in text:
            raise Failed("the member file was not saved with the imported members")
        return n, "addresses", measured, files
    return scenario


def filter_patterns(kills, prescans):
    """The pattern sections of a filter benchmark: kills entries split between [Kill
    Subjects] and [Kill Authors] (anchored and not), prescans [PreScan Strings] of every
    action; none matches the benchmark's mail, so every message meets every entry."""
    subjects = ["cheap watches offer %d", "#{ADV: promo %d", "weekly digest %d}#", "#{auto-reply %d}#"]
    authors = ["spammer%d@junk.example", "#{bulk%d-", "@promo%d.example}#", "#{kook%d@example.com}#"]
    prescan = ["SPAM,make money fast offer %d", "DROP,send $%d to each name", "ADMIN,#{remove me %d}#",
               "BOUNCE,550 %%1 unknown user %d"]
    lines = ["", "[Kill Subjects]"] + [subjects[i % 4] % i for i in range(0, kills, 2)]
    lines += ["", "[Kill Authors]"] + [authors[i % 4] % i for i in range(1, kills, 2)]
    lines += ["", "[PreScan Strings]"] + [prescan[i % 4] % i for i in range(prescans)]
    return "\n".join(lines) + "\n"


def filter_scenario(kills, prescans):
    def scenario(python, site, scale):
        n = 10000 // scale
        site.write_members(10)
        with open(site.path("tristero.ini"), "a") as f:
            f.write("\n[Security]\nPreScanMode = 3\nPreScanLimit = 50\n")
            if kills or prescans:
                f.write(filter_patterns(kills, prescans))
        for i in range(n):
            site.drop(mail(i, "user%d@example.net" % i, "%s@%s" % (LIST, DOMAIN), "Bench post %d" % i, BODY))
        measured = run_batch(python, site)
        # Every post passed every filter: one envelope each (10 members, MaxRecipients 100).
        return n, "messages", measured, check_drained(site, n, n)
    scenario.__doc__ = ("10,000 posts to a 10-member list, PreScanMode 3, against %d kill patterns and %d "
                        "prescan strings (none matching)" % (kills, prescans))
    return scenario


def archive_day(site, day, posts, needle_every=0):
    """archive/LIST/YYYYMMDD.txt of day (a date) with posts posts, as posting writes them:
    subjects from 50 topics, most of them replies ("Re: ", "Re[2]: "); every
    needle_every-th post (0: none) mentions the quarterly budget."""
    stamp = day.strftime("%a %b %d 10:00:00 %Y")
    chunks = []
    for i in range(posts):
        topic = "Topic %d of the day" % (i % 50)
        subject = ("", "Re: ", "Re[2]: ", "AW: ")[i % 4] + topic
        body = BODY + ("We must settle the quarterly budget first.\n" if needle_every and i % needle_every == 0
                       else "")
        chunks.append("From user%d@example.net %s\nFrom: user%d@example.net\nTo: %s@%s\nSubject: %s\n"
                      "Message-ID: <%s.%d.bench@example.net>\nDate: %s\nMIME-Version: 1.0\n"
                      "Content-Type: text/plain; charset=us-ascii\n\n%s\n"
                      % (i, stamp, i, LIST, DOMAIN, subject, day.isoformat(), i, stamp,
                         body.replace("\nFrom ", "\n>From ")))
    with open(site.path("archive", LIST_NUMBER, day.strftime("%Y%m%d") + ".txt"), "w") as f:
        f.write("".join(chunks))


def scenario_digest(python, site, scale):
    """The day's digests: yesterday's 1,000 posts in one daily digest (MIME, summary;
    the day goes as a file) to 10,000 digest members, whose member file is rewritten."""
    posts, n = 1000 // scale, 10000 // scale
    today = datetime.date.fromisoformat(NOW[:10])
    yesterday = today - datetime.timedelta(days=1)
    archive_day(site, yesterday, posts)
    with open(site.path("lists", LIST_NUMBER + ".ini"), "w") as f:
        f.write("[Members]\n" + "".join("user%d@domain%d.example = DIGEST DAILY SUMMARY MIME %s\n"
                                         % (i, i % DOMAINS, (yesterday - datetime.timedelta(days=1)).isoformat())
                                         for i in range(n)))
    measured = run_batch(python, site)
    files = check_drained(site, 0, -(-n // MAX_RECIPIENTS))
    seen = []
    subject = b"\nSubject: %s digest, %s (%d messages)\n" % (LIST.encode(), yesterday.isoformat().encode(), posts)
    for sender, rcpts, data in read_envelopes(site):
        if sender != "owner-%s@%s" % (LIST, DOMAIN) or subject not in data or b"Topics du jour:" not in data:
            raise Failed("an export file that is not the digest")
        seen += rcpts
    if sorted(seen) != sorted("user%d@domain%d.example" % (i, i % DOMAINS) for i in range(n)):
        raise Failed("the digest did not reach every digest member exactly once")
    with open(site.path("lists", LIST_NUMBER + ".ini")) as f:
        if f.read().count("DIGEST DAILY SUMMARY MIME %s\n" % yesterday.isoformat()) != n:
            raise Failed("the members' last digest day was not moved on")
    return n, "recipients", measured, files


def scenario_search(python, site, scale):
    """SEARCH over a year of the archive: 365 daily files of 100 posts (55 MB), one post in
    ten holding the text; the 100 newest matches shown."""
    posts = 100 // scale
    today = datetime.date.fromisoformat(NOW[:10])
    for d in range(1, 366):
        archive_day(site, today - datetime.timedelta(days=d), posts, needle_every=10)
    site.drop(mail(0, "reader@example.net", "tristero@" + DOMAIN, "", "search %s quarterly budget\n" % LIST))
    measured = run_batch(python, site)
    files = check_drained(site, 1, 1)
    [(_, _, data)] = list(read_envelopes(site))
    want = b'OK: %d post(s) hold "quarterly budget" in the archive of %s (365 day file(s) searched' % (
        365 * -(-posts // 10), LIST.encode())
    if want not in data.replace(b"=\n", b""):
        raise Failed("the SEARCH reply does not report every match: %r" % data[:600])
    return 365, "day files", measured, files


def directory_site(site, n, depts, domains, changed=0):
    """A site with 200 AutoAll lists (Owner ADE) and people.ldif of n people; changed: of
    every 100 people, that many renamed (a new address) and as many moved to the next
    department."""
    if not os.path.exists(site.path("people.ldif")):
        with open(site.path("tristero.ini"), "a") as f:
            f.write("\n[Directory]\nSource = people.ldif\nAutoAllSelect = PB\nGroupAttributes = ou\n"
                    "MaxSyncRemovals = 100\n")
            for d in range(depts):
                f.write("\n[LIST All-Dept%03d]\nOwner = ADE\nMemberFile = %08d\n" % (d, 100 + d))
            for d in range(domains):
                f.write("\n[LIST All-dir%d.example]\nOwner = ADE\nMemberFile = %08d\n" % (d, 100 + depts + d))
    with open(site.path("people.ldif"), "w") as f:
        f.write("version: 1\n")
        chunk = []
        for i in range(n):
            renamed = i % 100 < changed
            moved = changed <= i % 100 < 2 * changed
            dept = (i + moved) % depts
            chunk.append("\ndn: uid=u%06d,ou=Dept%03d,dc=corp,dc=example\nobjectClass: inetOrgPerson\n"
                         "uid: u%06d\nmail: %su%06d@dir%d.example\ncn: User %d\nou: Dept%03d\n"
                         % (i, dept, i, "new." if renamed else "", i, i % domains, i, dept))
            if len(chunk) >= 10000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def scenario_directory(python, site, scale):
    """The directory sync: an LDIF export of 100,000 people (Source) into 200 AutoAll lists,
    190 departments and 10 mail domains, every list filled from empty."""
    n, depts, domains = 100000 // scale, 190, 10
    directory_site(site, n, depts, domains)
    measured = run_batch(python, site)
    total = 0
    for number in range(100, 100 + depts + domains):
        with open(site.path("lists", "%08d.ini" % number)) as f:
            total += sum(1 for line in f if "@" in line)
    if total != 2 * n:
        raise Failed("the AutoAll lists hold %d members, not %d (each person in two)" % (total, 2 * n))
    return n, "people", measured, check_drained(site, 0, 0)


def scenario_directory_again(python, site, scale):
    """The next export of the same 100,000 people: 1 % renamed (options kept), 1 % moved to
    another department; only the second run is measured."""
    n, depts, domains = 100000 // scale, 190, 10
    directory_site(site, n, depts, domains)
    run_batch(python, site)
    directory_site(site, n, depts, domains, changed=1)
    measured = run_batch(python, site)
    with open(site.path("lists", "%08d.ini" % 100)) as f:
        text = f.read()
    if "new.u000000@dir0.example" not in text or "\nu000000@" in text:
        raise Failed("the rename of u000000 was not applied")
    return n, "people", measured, check_drained(site, 0, 0)


# --- delivery: run + deliver to a counting SMTP sink, and the same post through mlmmj ---

SINK = os.path.join(BIN, "sink.py")
MLMMJ_SEND = "/usr/bin/mlmmj-send"
NOTES = []          # lines printed after the table


class Sink:
    """bin/sink.py as a process of its own: .port; stop() returns its counts and CPU."""

    def __init__(self, python):
        self.proc = subprocess.Popen([python, SINK], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if line[:2] != ["listening", "127.0.0.1"]:
            self.proc.kill()
            raise Failed("the sink did not start: %r" % line)
        self.port = int(line[2])

    def stop(self):
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def run_command(site, cmd, what):
    """Run cmd through the launcher; returns (seconds, cpu, peak MB); raises Failed on a bad exit."""
    env = dict(os.environ)
    env.pop("TRISTERO_HOME", None)
    r = LAUNCH.run(cmd, env, site.path("bench.stdout"), site.path("bench.stderr"))
    if r["status"] != 0:
        with open(site.path("bench.stderr"), errors="replace") as f:
            raise Failed("%s exited %d: %s" % (what, r["status"], f.read()[-2000:]))
    return r["seconds"], r["cpu"], r["maxrss"] / (1024.0 * 1024 if sys.platform == "darwin" else 1024.0)


def deliver_site(site, port):
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\nSmtpTimeout = 60\n" % port)


def check_sunk(counts, files, reach, what):
    if counts["messages"] != files or counts["recipients"] != len(reach):
        raise Failed("%s: the sink took %d message(s) for %d recipient(s); expected %d for %d"
                     % (what, counts["messages"], counts["recipients"], files, len(reach)))


def run_with_deliver(python, site):
    """'tristero.py run --deliver' (a run that hands files to the server as it commits them),
    measured like run_batch; None when this tree has no such option yet."""
    helped = subprocess.run([python, TRISTERO, "run", "--help"], capture_output=True, text=True).stdout
    if "--deliver" not in helped:
        return None
    return run_command(site, [python, TRISTERO, "run", "--deliver", "--home", site.home, "--now", NOW],
                       "tristero run --deliver")


def mlmmj_list(root, members, port):
    """An mlmmj list folder in root for the same members, batched (control/verp empty,
    maxverprecips MaxRecipients) to the sink; returns its path."""
    ml = os.path.join(root, "mlmmj-news")
    for d in ("incoming", "queue/discarded", "archive", "text", "subconf", "unsubconf", "bounce", "control",
              "moderation", "subscribers.d", "digesters.d", "requeue", "nomailsubs.d"):
        os.makedirs(os.path.join(ml, d), exist_ok=True)
    for name, value in (("listaddress", "%s@%s" % (LIST, DOMAIN)), ("verp", None),
                        ("maxverprecips", str(MAX_RECIPIENTS)), ("relayhost", "127.0.0.1"),
                        ("smtpport", str(port))):
        with open(os.path.join(ml, "control", name), "w") as f:
            f.write(value + "\n" if value is not None else "")
    by_letter = {}
    for address in sorted(members):
        by_letter.setdefault(address[0], []).append(address)
    for letter, addresses in by_letter.items():
        with open(os.path.join(ml, "subscribers.d", letter), "w") as f:
            f.write("".join(a + "\n" for a in addresses))
    return ml


def scenario_delivery(python, site, scale):
    """one post to 100,000 members (1% NOMAIL), MaxRecipients 100: 'run' then 'deliver' to
    bin/sink.py on loopback ([Delivery] Connections at its default); then 'run --deliver' when
    the tree has it; then the same post through mlmmj-send (batched: control/verp empty,
    maxverprecips 100) to a fresh sink, for the ratio"""
    n = 100000 // scale
    reach = site.write_members(n)
    site.drop(post_message())
    sink = Sink(python)
    try:
        deliver_site(site, sink.port)
        ran = run_batch(python, site)
        files = check_post(site, reach)
        delivered = run_command(site, [python, TRISTERO, "deliver", "--home", site.home], "tristero deliver")
    finally:
        counts = sink.stop()
    check_sunk(counts, files, reach, "run + deliver")
    if site.count("spool", "out", "new"):
        raise Failed("deliver left %d file(s) in spool/out/new" % site.count("spool", "out", "new"))
    ours = ran[0] + delivered[0]
    NOTES.append("delivery-100k: run %.2f s + deliver %.2f s = %.2f s wall (cpu %.2f + %.2f s); "
                 "sink: %d messages, %d recipients, %d bytes, %d connections, its cpu %.2f s"
                 % (ran[0], delivered[0], ours, ran[1], delivered[1], counts["messages"], counts["recipients"],
                    counts["bytes"], counts["connections"], counts["cpu"]))
    together = Site(os.path.dirname(site.home), keep=site.keep)
    try:
        together.write_members(n)
        together.drop(post_message())
        sink = Sink(python)
        try:
            deliver_site(together, sink.port)
            measured = run_with_deliver(python, together)
        finally:
            counts = sink.stop()
        if measured is None:
            NOTES.append("delivery-100k: run --deliver: not in this tree")
        else:
            NOTES.append("delivery-100k: run --deliver %.2f s wall (cpu %.2f s); sink took %d messages, "
                         "%d recipients" % (measured[0], measured[1], counts["messages"], counts["recipients"]))
    finally:
        together.remove()
    if os.path.exists(MLMMJ_SEND):
        sink = Sink(python)
        try:
            ml = mlmmj_list(site.home, reach, sink.port)
            with open(os.path.join(ml, "queue", "post"), "wb") as f:
                f.write(post_message())
            theirs = run_command(site, [MLMMJ_SEND, "-L", ml, "-m", os.path.join(ml, "queue", "post"), "-a"],
                                 "mlmmj-send")
        finally:
            counts = sink.stop()
        check_sunk(counts, files, reach, "mlmmj-send")
        NOTES.append("delivery-100k: mlmmj-send %.2f s wall (cpu %.2f s); sink: %d messages, %d recipients, "
                     "%d connections, its cpu %.2f s" % (theirs[0], theirs[1], counts["messages"],
                                                         counts["recipients"], counts["connections"], counts["cpu"]))
        NOTES.append("delivery-100k: Tristero run + deliver is %.2fx mlmmj's speed (mlmmj %.2f s / ours %.2f s)"
                     % (theirs[0] / ours, theirs[0], ours))
    else:
        NOTES.append("delivery-100k: mlmmj-send is not installed: no side-by-side figure")
    return len(reach), "recipients", (ours, ran[1] + delivered[1], max(ran[2], delivered[2])), files


def write_member_file(site, number, indices, lists=()):
    """lists/NUMBER.ini holding the bench members of indices (as Site.write_members
    writes them: every 100th NOMAIL) and the addresses of the site's lists named, in
    the order the program writes it; returns the addresses a post to it reaches."""
    rows = [("domain%d.example" % (i % DOMAINS), "user%d@domain%d.example" % (i, i % DOMAINS),
             "NOMAIL" if i % 100 == 99 else "") for i in indices]
    rows += [(DOMAIN, "%s@%s" % (name, DOMAIN), "") for name in lists]
    rows.sort()
    with open(site.path("lists", number + ".ini"), "w", encoding="utf-8") as f:
        f.write("; Members: one per line, \"address = options\" (see README).\n[Members]\n")
        for start in range(0, len(rows), 10000):
            f.write("".join("%s = %s\n" % (a, o) if o else "%s =\n" % a for _, a, o in rows[start:start + 10000]))
    return {a for _, a, o in rows if o != "NOMAIL" and not a.endswith("@" + DOMAIN)}


def nested_post_scenario(members):
    """Lists within lists: one post to a list of members/2 members and two sub-lists
    (sub-a, sub-b) of members/2 each, overlapping by half: members distinct addresses,
    each reached once, the member files merged as sorted streams (against post-1m: the
    same recipients from one file)."""
    def scenario(python, site, scale):
        n = members // scale
        with open(site.path("tristero.ini"), "a") as f:
            for i, name in enumerate(("sub-a", "sub-b"), 2):
                f.write("\n[LIST %s]\nType = Closed\nOwner = owner@%s\nMemberFile = %08d\n" % (name, DOMAIN, i))
        reach = write_member_file(site, LIST_NUMBER, range(0, n // 2), ("sub-a", "sub-b"))
        reach |= write_member_file(site, "00000002", range(n // 4, 3 * n // 4))
        reach |= write_member_file(site, "00000003", range(n // 2, n))
        site.drop(post_message())
        measured = run_batch(python, site)
        files = check_post(site, reach)
        return len(reach), "recipients", measured, files
    scenario.__doc__ = nested_post_scenario.__doc__.replace("members", "%d members" % members, 1)
    return scenario


MAJORDOMO_CONFIG = """\
admin_passwd = admin-{name}
approve_passwd = approve-{name}
description = The list {name}
subscribe_policy = open+confirm
unsubscribe_policy = open
who_access = list
get_access = open
reply_to = {name}@example.org
subject_prefix = [$LIST]
maxlength = 40000
welcome = yes
announcements = yes
digest_name = {name}
resend_host = example.org
"""


def majordomo_folder(root, lists, members, posts):
    """A Majordomo lists folder: lists lists, each with members members, a config of 14
    keys (two passwords, one key with no counterpart), info, intro, passwd, and an archive of
    posts posts over two months."""
    folder = os.path.join(root, "majordomo")
    os.makedirs(folder)
    for i in range(lists):
        name = "list%04d" % i
        at = lambda suffix, name=name: os.path.join(folder, name + suffix)
        with open(at(""), "w") as f:
            f.writelines("Member %d <m%d-%d@example.net>\n" % (j, i, j) for j in range(members))
        with open(at(".config"), "w") as f:
            f.write(MAJORDOMO_CONFIG.format(name=name))
        for suffix, text in ((".info", "About %s.\n" % name), (".intro", "Welcome to %s.\n" % name),
                             (".passwd", "old-%s\n" % name)):
            with open(at(suffix), "w") as f:
                f.write(text)
        os.makedirs(at(".archive"))
        with open(os.path.join(at(".archive"), name + ".9803"), "w") as f:
            for k in range(posts):
                f.write("From a%d@example.com Tue Mar  3 10:00:00 1998\nFrom: a%d@example.com\n"
                        "Subject: post %d\nDate: %s, %d %s 1998 10:00:00 +0000\n\nText %d.\n\n"
                        % (k, k, k, "Tue", 1 + k % 28, ("Mar", "Apr")[k % 2], k))
    return folder


def scenario_import_majordomo(python, site, scale):
    """import majordomo of a folder of 1,000 lists (20 members, 14 config keys with two
    passwords hashed, info, intro, passwd, 10 archived posts each) into an empty site; then
    the same import again (nothing to change: a note)."""
    n = 1000 // scale
    folder = majordomo_folder(site.home, n, 20, 10)
    cmd = [python, TRISTERO, "import", "--home", site.home, "majordomo", folder]
    before = len(os.listdir(site.path("lists")))
    measured = run_command(site, cmd, "tristero import majordomo")
    with open(site.path("tristero.ini")) as f:
        made = f.read().count("[LIST list")
    if made != n:
        raise Failed("import majordomo made %d lists of %d" % (made, n))
    again = run_command(site, cmd, "tristero import majordomo (again)")
    with open(site.path("bench.stdout")) as f:
        unchanged = f.read().count(" unchanged")
    if unchanged != n:
        raise Failed("the second import changed %d lists" % (n - unchanged))
    NOTES.append("import-majordomo-1k: again (nothing to change) %.2f s wall (cpu %.2f s), peak %.1f MB"
                 % again)
    return n, "lists", measured, len(os.listdir(site.path("lists"))) - before


SCENARIOS = [
    ("startup", scenario_startup),
    ("drain", scenario_drain),
    ("commands", scenario_commands),
    ("post-10k", post_scenario(10000)),
    ("post-100k", post_scenario(100000)),
    ("post-100k-rules", post_scenario(100000, rules=1000)),
    ("post-1m", post_scenario(1000000)),
    ("load-1m", scenario_load_1m),
    ("subscribe-1m", scenario_subscribe_1m),
    ("filters-none", filter_scenario(0, 0)),
    ("filters-10", filter_scenario(10, 100)),
    ("filters-1000", filter_scenario(1000, 100)),
    ("digest-1k-10k", scenario_digest),
    ("search-year", scenario_search),
    # DKIM (issue 13): signing cost per message (drain-dkim-* against drain), and the
    # 100,000-member post signed, and with one-click links (one signature per recipient).
    ("drain-dkim-rsa", signed_drain_scenario("rsa-sha256")),
    ("drain-dkim-ed25519", signed_drain_scenario("ed25519-sha256")),
    ("post-100k-dkim-rsa", signed_post_scenario(100000, "rsa-sha256")),
    ("post-100k-oneclick", signed_post_scenario(100000, None, oneclick=True)),
    ("post-100k-oneclick-rsa", signed_post_scenario(100000, "rsa-sha256", oneclick=True)),
    ("post-100k-oneclick-ed25519", signed_post_scenario(100000, "ed25519-sha256", oneclick=True)),
    ("directory-100k", scenario_directory),
    ("directory-100k-again", scenario_directory_again),
    ("delivery-100k", scenario_delivery),
    # Lists within lists (issue 14.2): the top list and two sub-lists merged, 1,000,000 distinct.
    ("post-nested-1m", nested_post_scenario(1000000)),
    ("merge-10k", scenario_merge),
    # LISTSERV (issue 15): bulk ADD ... DD=USERS IMPORT of 100,000 addresses in one message.
    ("import-100k", import_scenario(0)),
    ("import-100k-into-1m", import_scenario(1000000)),
    ("import-majordomo-1k", scenario_import_majordomo),
    # Issue 16: a scheduled mailing merged for 50,000 rows.
    ("mailing-50k", scenario_mailing_50k),
    ("mailing-list-50k", scenario_mailing_list_50k),
]
ALIASES = {"fanout-100k": "post-100k", "fanout-1m": "post-1m"}


def verify(python, root):
    """A small fan-out end to end: every recipient exactly once. Returns a line to print."""
    site = Site(root)
    try:
        reach = site.write_members(VERIFY_MEMBERS)
        site.drop(post_message())
        run_batch(python, site)
        files = check_post(site, reach)
        return "fan-out check: %d members, %d recipients in %d BSMTP files, each once: ok" % (
            VERIFY_MEMBERS, len(reach), files)
    finally:
        site.remove()


def describe_tree():
    """The commit measured, and the files changed since it (read-only git calls)."""
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "--no-optional-locks", "-C", REPO, "status", "--porcelain",
                                  "--untracked-files=no", "--", "lib", "tristero.py"],
                                 capture_output=True, text=True).stdout.split("\n")
    except OSError:
        return "? (no git)"
    changed = [line[3:] for line in changed if line.strip()]
    if not commit:
        return "? (not a git checkout)"
    return commit + (" + uncommitted changes to %s" % ", ".join(changed) if changed else "")


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def main():
    names = [n for n, _ in SCENARIOS]
    parser = argparse.ArgumentParser(description="Throughput and peak memory of Tristero batch runs.",
                                     epilog="scenarios: %s (aliases: %s)" % (
                                         ", ".join(names),
                                         ", ".join("%s=%s" % kv for kv in ALIASES.items())))
    parser.add_argument("--quick", action="store_true", help="every size divided by 10 (smoke run)")
    parser.add_argument("--only", metavar="NAME[,NAME...]", help="run these scenarios only")
    parser.add_argument("--repeat", metavar="N", type=int, default=1,
                        help="run each scenario N times on fresh sites; print the medians "
                             "(and the highest peak)")
    parser.add_argument("--keep", action="store_true", help="keep the site folders")
    parser.add_argument("--tmp", metavar="DIR", help="where the sites go (default: the system's temp)")
    args = parser.parse_args()
    only = [ALIASES.get(n, n) for n in args.only.split(",")] if args.only else []
    for n in only:
        if n not in names:
            parser.error("no scenario %r; one of %s" % (n, ", ".join(names + list(ALIASES))))
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    python = python_for_tristero()
    scale = 10 if args.quick else 1
    global LAUNCH
    LAUNCH = Launcher()       # first, while this process is small (see LAUNCHER)

    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print("Tristero benchmark, %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"))
    print("machine: %s %s, %d CPU(s), Python %s (%s), load average %.2f" % (
        platform.system(), platform.machine(), os.cpu_count() or 0, version, python, os.getloadavg()[0]))
    print("code: %s" % describe_tree())
    print("reproduce: python3 bin/bench.py%s%s%s" % (
        " --quick" if args.quick else "", " --only " + args.only if args.only else "",
        " --repeat %d" % args.repeat if args.repeat > 1 else ""))
    print("each row: one 'tristero.py run --now %s' process (start-up included), its wall time, CPU time"
          % NOW)
    print("(user+sys) and own peak RSS%s; MaxRecipients %d, members over %d domains, 1%% NOMAIL%s" % (
        "; medians of %d runs, highest peak" % args.repeat if args.repeat > 1 else "",
        MAX_RECIPIENTS, DOMAINS, "; --quick: sizes / 10" if args.quick else ""))
    sys.stdout.flush()

    root = args.tmp or None
    try:
        print(verify(python, root))
    except Failed as e:
        print("fan-out check FAILED: %s" % e)
        return 1
    print()
    print("%-26s %9s %-10s %9s %8s %12s %9s %7s" % ("scenario", "count", "unit", "seconds", "cpu s",
                                                      "per second", "peak MB", "files"))
    sys.stdout.flush()
    results = {}
    for name, fn in SCENARIOS:
        if only and name not in only:
            continue
        runs = []
        for _ in range(args.repeat):
            site = Site(root, keep=args.keep)
            try:
                count, unit, measured, files = fn(python, site, scale)
            except Failed as e:
                print("%-26s FAILED: %s (site kept: %s)" % (name, e, site.home))
                site.keep = True
                break
            finally:
                site.remove()
            runs.append(measured)
        else:
            seconds = median([r[0] for r in runs])
            cpu = median([r[1] for r in runs])
            peak = max(r[2] for r in runs)
            results[name] = (count, seconds, peak, cpu)
            rate = "%12.0f" % (count / seconds) if count else "%12s" % "-"
            print("%-26s %9d %-10s %9.2f %8.2f %s %9.1f %7d%s" % (
                name, count, unit, seconds, cpu, rate, peak, files,
                "  (site: %s)" % site.home if args.keep else ""))
            sys.stdout.flush()

    print()
    for line in NOTES:
        print(line)
    if "post-1m" in results and "load-1m" in results:
        post, load = results["post-1m"][2], results["load-1m"][2]
        print("fan-out memory: post-1m peak %.1f MB; the member list alone (load-1m) %.1f MB: "
              "%+.1f MB for the fan-out%s" % (
                  post, load, post - load,
                  "; subscribe-1m (load + save) %.1f MB" % results["subscribe-1m"][2]
                  if "subscribe-1m" in results else ""))
    for algorithm in ("rsa", "ed25519"):
        name = "drain-dkim-" + algorithm
        if name in results and "drain" in results:
            print("DKIM %s: %.2f ms CPU per signed reply (%s against drain)" % (
                algorithm, 1000.0 * (results[name][3] - results["drain"][3]) / results[name][0], name))
    if "startup" in results:
        print("start-up: %.2f s and %.1f MB of every row are the empty run's" % (
            results["startup"][1], results["startup"][2]))
    print("load average at the end: %.2f (other work on the machine makes wall times noisy; "
          "cpu s is steadier)" % os.getloadavg()[0])
    LAUNCH.close()
    return 1 if len(results) < len([n for n in names if not only or n in only]) else 0


if __name__ == "__main__":
    sys.exit(main())
