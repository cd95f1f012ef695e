#!/usr/bin/env python3
"""Hostile mail of a costly shape: time and peak memory of a run that reads it.

Usage: python3 bin/hostile.py [--tristero PATH] [--ceiling MB] [--timeout S]
                              [--max-parts N] [--keep] [--json] [NAME ...]

Each case builds a fresh site in a temporary folder (an Open list "news" with
Archive = Y), drops one message into spool/in/new, and runs

    python PATH run --home SITE --now 2026-11-21T10:00:00

(PATH: this tree's tristero.py unless --tristero names another, e.g. an older
checkout's) under a ceiling on its address space (RLIMIT_AS, --ceiling MB,
default 4096: the cases of the review grow to tens of gigabytes, which would
take the machine down) and a timeout (--timeout, default 300 s; the run is
killed after it). It prints, for each case, the size of the message, the
run's exit status, wall and CPU seconds, peak resident memory (ru_maxrss, from
os.wait4), peak virtual size (VmPeak) and where the message ended: failed
(spool/failed/new), refused (a reply to its author says why), done (posted)
or left (still in spool/in/new: the run died).

Cases (NAME): from-N, to-N, cc-N, ctype-N: From, To, Cc or Content-Type made
of N RFC 2047 encoded words, each separated from the next by a space;
parts-N: a post of N tiny attachments; mime-N: N attachments whose
Content-Type is 4 KB of comments, each a different one; short-N: N
attachments whose Content-Type and Content-Disposition are 250 bytes of
comments; dots-N: a From whose name is N bytes of "a."; commas-N: a To of N
commas; nest-N: multiparts N deep; rfc822-N: messages N deep. N is written
2k, 100k ... Without NAME: the review's cases (2k, 8k, 25k, 100k encoded
words in each field, 25k and 100k parts) and "plain", a small post (the
baseline).

This is not a test (tests/test_limits.py is): nothing is asserted.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = "2026-11-21T10:00:00"
PYTHON = os.path.join(REPO, ".venv", "bin", "python")

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org

[LIST news]
Type = Open
Owner = editor@example.org
Description = News
MemberFile = 00000001
Archive = Y
"""

MEMBERS = "[Members]\nalice@example.net =\nbob@example.com =\n"

# Runs tristero.py as __main__ and, at exit, writes the process's peak virtual
# size (VmPeak, kB) to the file named by $HOSTILE_VMPEAK.
WRAP = r"""
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                with open(os.environ["HOSTILE_VMPEAK"], "w") as out:
                    out.write(line.split()[1])
atexit.register(peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

HEAD = ("Message-ID: <hostile@example.net>\nDate: Sat, 21 Nov 2026 09:00:00 +0000\n"
        "Subject: hostile\n")
WORD = "=?utf-8?q?a?="


def words(n):
    return " ".join([WORD] * n)


def message(kind, n):
    """The hostile message of a case, as bytes."""
    frm, to, extra = "alice@example.net", "news@example.org", ""
    if kind == "from":
        frm = "%s <alice@example.net>" % words(n)
    elif kind == "to":
        to = "%s <news@example.org>" % words(n)
    elif kind == "cc":
        extra = "Cc: %s <carol@example.net>\n" % words(n)
    elif kind == "ctype":
        extra = 'MIME-Version: 1.0\nContent-Type: text/plain; name="%s"\n' % words(n)
    elif kind in ("parts", "mime", "short"):
        extra = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n'
    elif kind == "dots":
        frm = "%s <alice@example.net>" % ("a." * (n // 2))
    elif kind == "commas":
        to = "news@example.org%s" % ("," * n)
    elif kind == "nest":
        extra = "MIME-Version: 1.0\n"
    elif kind == "rfc822":
        extra = "MIME-Version: 1.0\nContent-Type: message/rfc822\n"
    elif kind != "plain":
        raise ValueError(kind)
    head = "From: %s\nTo: %s\n%s%s" % (frm, to, HEAD, extra)
    if kind == "parts":
        body = "--b\nContent-Type: text/plain\n\nhello\n" + \
            "--b\nContent-Type: application/octet-stream\n\nx\n" * n + "--b--\n"
    elif kind == "mime":
        # Parts whose Content-Type is 4 KB of comments, each its own (the parser's worst).
        body = "--b\nContent-Type: text/plain\n\nhello\n" + "".join(
            "--b\nContent-Type: application/x-%d; name=%s\n\nx\n" % (i, "(a)" * 1340) for i in range(n)) + "--b--\n"
    elif kind == "short":
        # Parts whose Content-Type is 250 bytes of comments, each its own.
        body = "--b\nContent-Type: text/plain\n\nhello\n" + "".join(
            "--b\nContent-Type: application/x-%03d; name=%s\nContent-Disposition: attachment; x=%s\n\nx\n"
            % (i, "(a)" * 68, "(a)" * 72) for i in range(n)) + "--b--\n"
    elif kind == "nest":
        # Multiparts n deep, each in the one before.
        body = "".join('--b%d\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % (i, i + 1) for i in range(n))
        head += 'Content-Type: multipart/mixed; boundary="b0"\n'
        body += "--b%d\nContent-Type: text/plain\n\nhello\n" % n
    elif kind == "rfc822":
        # Messages n deep, each in the one before.
        body = "Content-Type: message/rfc822\n\n" * n + "Subject: inner\n\nhello\n"
    else:
        body = "hello\n"
    return (head + "\n" + body).encode()


def size_of(text):
    """2k -> 2000, 100k -> 100000, 25 -> 25."""
    return int(text[:-1]) * 1000 if text.endswith("k") else int(text)


def build(home, data, max_parts=None):
    for d in ("spool/in/new", "spool/in/tmp", "spool/in/cur", "lists"):
        os.makedirs(os.path.join(home, d))
    with open(os.path.join(home, "tristero.ini"), "w") as f:
        f.write(INI.replace("[LIST", "MaxParts = %d\n\n[LIST" % max_parts, 1) if max_parts else INI)
    with open(os.path.join(home, "lists", "00000001.ini"), "w") as f:
        f.write(MEMBERS)
    with open(os.path.join(home, "spool", "in", "new", "1700000001.M1P1.hostile"), "wb") as f:
        f.write(data)


def launch(cmd, env, ceiling_mb, timeout):
    """(exit status, seconds, CPU seconds, peak RSS MB, killed) of cmd run alone."""
    import resource

    def limit():
        if ceiling_mb:
            resource.setrlimit(resource.RLIMIT_AS, (ceiling_mb << 20, ceiling_mb << 20))

    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, preexec_fn=limit)
    killed = []

    def kill():
        killed.append(True)
        p.kill()
    timer = threading.Timer(timeout, kill)
    timer.start()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    seconds = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, seconds, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, bool(killed), err


def where(home):
    def names(*parts):
        try:
            return os.listdir(os.path.join(home, *parts))
        except FileNotFoundError:
            return []
    if names("spool", "in", "new"):
        return "left"
    out = []
    for name in names("spool", "out", "new"):
        with open(os.path.join(home, "spool", "out", "new", name), "rb") as f:
            out.append(f.read())
    if names("spool", "failed", "new"):
        return "failed"
    if any(b"Not posted" in d or b"not sent to the list" in d or b"was refused" in d or b"Not read" in d for d in out):
        return "refused"
    return "done" if out else "dropped"


def case(name, tristero, ceiling, timeout, keep, max_parts=None):
    kind, _, n = name.partition("-")
    data = message(kind, size_of(n) if n else 0)
    tmp = tempfile.mkdtemp(prefix="tristero-hostile-")
    home = os.path.join(tmp, "site")
    try:
        build(home, data, max_parts)
        vmpeak = os.path.join(tmp, "vmpeak")
        env = dict(os.environ, HOSTILE_VMPEAK=vmpeak)
        env.pop("TRISTERO_HOME", None)
        cmd = [PYTHON, "-c", WRAP, tristero, "run", "--home", home, "--now", NOW]
        status, seconds, cpu, rss, killed, err = launch(cmd, env, ceiling, timeout)
        try:
            with open(vmpeak) as f:
                vm = int(f.read()) / 1024
        except (FileNotFoundError, ValueError):
            vm = None
        log = ""
        logs = os.path.join(home, "logs")
        for logname in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(home, "logs", logname), errors="replace") as f:
                log += f.read()
        why = [l for l in log.splitlines() if "hostile" in l or "failed" in l][:1]
        return {"case": name, "bytes": len(data), "status": "killed" if killed else status,
                "seconds": round(seconds, 2), "cpu": round(cpu, 2), "maxrss_mb": round(rss),
                "vmpeak_mb": round(vm) if vm else None, "ended": where(home),
                "log": why[0][:200] if why else "", "stderr": err.decode(errors="replace")[-300:]}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


DEFAULT = (["plain"] + ["%s-%s" % (k, n) for k in ("from", "to", "cc", "ctype")
                        for n in ("2k", "8k", "25k", "100k")] + ["parts-25k", "parts-100k"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", metavar="NAME")
    ap.add_argument("--tristero", default=os.path.join(REPO, "tristero.py"))
    ap.add_argument("--ceiling", type=int, default=4096, help="RLIMIT_AS in MB (0: none)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--keep", action="store_true", help="leave the site folders in place")
    ap.add_argument("--max-parts", type=int, help="MaxParts in the site's tristero.ini (default: "
                    "not set, the example's)")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    args = ap.parse_args()
    print("%-12s %9s %7s %8s %7s %9s %9s  %s" % ("case", "bytes", "exit", "seconds", "cpu",
                                                 "rss MB", "vm MB", "ended"), flush=True)
    for name in args.names or DEFAULT:
        r = case(name, os.path.abspath(args.tristero), args.ceiling, args.timeout, args.keep, args.max_parts)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print("%-12s %9d %7s %8.2f %7.2f %9d %9s  %s" % (
                r["case"], r["bytes"], r["status"], r["seconds"], r["cpu"], r["maxrss_mb"],
                r["vmpeak_mb"] or "-", r["ended"]), flush=True)
            if r["status"] != 0 and r["stderr"]:
                print("    stderr: " + r["stderr"].strip().splitlines()[-1][:150], flush=True)
            if r["log"]:
                print("    log: " + r["log"][:150], flush=True)


if __name__ == "__main__":
    sys.exit(main())
