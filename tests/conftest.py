"""Shared test tools: a site in a temporary folder, driven through tristero.py."""

import hashlib
import os
import subprocess
import sys
import textwrap

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


class TestSite:
    """A site folder with helpers to drop mail, run, and read what came out."""

    def __init__(self, home):
        self.home = str(home)
        self.seq = 0

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

    def tristero(self, *args, check=True, env=None, timeout=300, **kw):
        """Run tristero.py with --home this site; returns the CompletedProcess."""
        cmd = [sys.executable, TRISTERO] + list(args[:1]) + ["--home", self.home] + list(args[1:])
        e = dict(os.environ)
        e.pop("TRISTERO_HOME", None)
        if env:
            e.update(env)
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=e, **kw)
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
        """Parsed messages (email.message.EmailMessage) whose envelope reaches address."""
        import email
        from email import policy
        return [email.message_from_bytes(b.data, policy=policy.default)
                for b in self.outbound() if address in b.recipients]

    def log(self):
        text = ""
        for name in self.listdir("logs"):
            if name.endswith(".log"):
                with open(self.path("logs", name), encoding="utf-8") as f:
                    text += f.read()
        return text


@pytest.fixture
def site(tmp_path):
    s = TestSite(tmp_path / "site")
    os.makedirs(s.home)
    s.write_ini(BASE_INI)
    return s


def mail(frm="alice@example.net", to="tristero@example.org", subject="test", body="", headers=""):
    """A small RFC 5322 message as text."""
    digest = hashlib.sha256(("%s|%s|%s|%s" % (frm, to, subject, body)).encode()).hexdigest()[:16]
    return ("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@example.net>\n"
            "Date: Sat, 21 Nov 2026 09:00:00 +0000\n%s\n%s" % (frm, to, subject, digest, headers, body))
