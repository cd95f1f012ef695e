#!/usr/bin/env python3
"""Set up Tristero, build a demo site in ./demo, put sample mail in its spool,
run one batch, and show what the batch did and where its output lies.

Usage: python3 bin/demo.py
"""

import email
import os
import shutil
import subprocess
import sys
from email import policy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import setup  # noqa: E402  (bin/setup.py)

HOME = os.path.join(setup.REPO, "demo")

INI = """\
# The demo site's configuration (see tristero.ini.example for every key).
[Globals]
Domain = example.org
SuperUser = oedipa@example.org
MaxRecipients = 2
AnnounceList = announce

[LIST news]
MemberFile = 00000001
Type = Open
Owner = oedipa@example.org
Description = News from San Narciso
Reply = List
ForwardPrefix = [news]

[LIST staff]
MemberFile = 00000002
Type = Closed
Owner = oedipa@example.org
Description = Staff only

[LIST announce]
MemberFile = 00000003
Type = Broadcast
Owner = oedipa@example.org
Description = New lists are announced here
"""

MEMBERS = {
    "news": ["oedipa@example.org", "mucho@kcuf.example.com", "metzger@law.example.net",
             "genghis@example.net = NOMAIL"],
    "staff": ["oedipa@example.org"],
    "announce": ["mucho@kcuf.example.com", "metzger@law.example.net"],
}

MAIL = [
    ("From: Dr Hilarius <hilarius@example.com>\nTo: tristero@example.org\nSubject: commands\n"
     "Message-ID: <demo1@example.com>\n\nlists\nsubscribe news Dr Hilarius\ninfo news\nfrobnicate\n"),
    ("From: Mucho Maas <mucho@kcuf.example.com>\nTo: news@example.org\nSubject: Tristero sighted\n"
     "Message-ID: <demo2@example.com>\nReturn-Receipt-To: mucho@kcuf.example.com\n\n"
     "A muted post horn, chalked on a wall in the Scope.\n"),
    ("From: Randolph Driblette <randolph@example.net>\nTo: staff@example.org\nSubject: let me in\n"
     "Message-ID: <demo3@example.net>\n\nI am not a member, but here is my post.\n"),
    ("From: Stanley Koteks <koteks@yoyodyne.example.com>\nTo: staff-request@example.org\n"
     "Subject: subscribe\nMessage-ID: <demo4@example.com>\n\n"),
    ("From: Oedipa Maas <oedipa@example.org>\nTo: tristero@example.org\nSubject: admin\n"
     "Message-ID: <demo5@example.org>\n\ncreate lot49 Crying of the lots\nadd news fallopian@example.net\n"),
    ("To: news@example.org\nSubject: no sender at all\n\nThis one has no From and goes to spool/failed.\n"),
    ("From: Genghis Cohen <genghis@example.net>\nTo: nobody-here@example.org\nSubject: stamps\n"
     "Message-ID: <demo6@example.net>\n\nIs this the philatelist's list?\n"),
]


def build():
    if os.path.exists(HOME):
        shutil.rmtree(HOME)
    for d in ("lists", "archive/00000000", "logs", "spool/in/tmp", "spool/in/new", "spool/in/cur"):
        os.makedirs(os.path.join(HOME, d))
    with open(os.path.join(HOME, "tristero.ini"), "w") as f:
        f.write(INI)
    with open(os.path.join(HOME, "archive", "00000000", "welcome.txt"), "w") as f:
        f.write("Welcome! Send HELP to tristero@example.org for the commands.\n")
    for n, (_name, members) in enumerate(MEMBERS.items(), 1):
        with open(os.path.join(HOME, "lists", "%08d.ini" % n), "w") as f:
            f.write("[Members]\n" + "".join(m + ("\n" if "=" in m else " =\n") for m in members))
    for i, text in enumerate(MAIL):
        path = os.path.join(HOME, "spool", "in", "new", "17000000%02d.demo%d.example" % (i, i))
        with open(path, "w") as f:
            f.write(text)
        os.utime(path, (1700000000 + i, 1700000000 + i))


def summary():
    out = os.path.join(HOME, "spool", "out", "new")
    print("\nWhat the batch wrote to %s (one BSMTP file per envelope):" % os.path.relpath(out))
    sys.path.insert(0, os.path.join(setup.REPO, "lib"))
    from tristero.model.spools import BsmtpFile
    for name in sorted(os.listdir(out)):
        with open(os.path.join(out, name), "rb") as f:
            b = BsmtpFile.parse(f.read())
        msg = email.message_from_bytes(b.data, policy=policy.default)
        print("  %-34s from <%s> to %s" % ('"%s"' % msg["Subject"][:32], b.sender, ", ".join(b.recipients)))
    failed = os.listdir(os.path.join(HOME, "spool", "failed", "new"))
    print("\nSet aside whole in spool/failed/new: %s" % (", ".join(failed) or "nothing"))
    kept = os.listdir(os.path.join(HOME, "spool", "in", "cur"))
    print("Processed mail kept in spool/in/cur: %d message(s)" % len(kept))
    print("\nThe log, one line per message (%s):" % os.path.relpath(os.path.join(HOME, "logs")))
    for name in sorted(n for n in os.listdir(os.path.join(HOME, "logs")) if n.startswith("tristero-")):
        with open(os.path.join(HOME, "logs", name)) as f:
            for line in f:
                print("  " + line.rstrip()[20:])
    print("\nLook around: the site is %s (tristero.ini, lists/, archive/, spool/)." % os.path.relpath(HOME))
    print("Run it again with: python3 tristero.py run --home demo -v")


def main():
    python = setup.ensure(quiet=True)
    build()
    print("Demo site built in %s with %d messages in spool/in/new; running one batch:\n"
          % (os.path.relpath(HOME), len(MAIL)))
    subprocess.check_call([python, os.path.join(setup.REPO, "tristero.py"), "run", "--home", HOME,
                           "--now", "2026-11-21T10:00:00"])
    summary()


if __name__ == "__main__":
    main()
