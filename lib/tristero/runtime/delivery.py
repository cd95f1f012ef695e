"""Delivery: hands the export spool (spool/out/new) to the mail server.

Each recipient of a BSMTP file ends one of three ways. *Delivered*: the server
(or the sendmail program) took it. *Deferred*: a 4xx answer, a dropped
connection, a timeout or exit status 75; the file keeps only the deferred
recipients (its age kept too) and the next deliver tries them again. *Failed*:
a 5xx answer, any other exit status, or still deferred RetryDays after the
file was written; a delivery report (RFC 3464, from <>) goes to the file's
envelope sender, or to the SuperUser when that sender is null, and the
recipient is never tried again; but a refusal of the message itself (at MAIL
FROM, after DATA, or alike for every recipient and naming the message or its
sender) is charged to the post: one report to the list's owner (the SuperUser
for robot mail), none to the bounce address, so no member is charged (an
envelope of one recipient from a return path of the probe form, a mailing's
copy or a PROBE, gets the usual report there: its refusal is that recipient's
failure). A file
with nobody deferred moves to spool/out/cur. A file that is not BSMTP moves to
spool/out/bad, unsent. A server that cannot be reached stops the run, leaves
every file as it is and makes deliver exit 75 (try again later) with one line
on stderr.

The files are shared out, oldest first, among [Delivery] Connections SMTP
sessions on one asyncio loop, each pipelining (RFC 2920) when the server offers
it and keeping its connection with RSET between transactions; a 421 or a lost
connection is answered by connecting again and sending the file again, once.

Delivery is at-least-once with a bound: the moment a transaction's outcome is
known it is recorded (a line of the batch's journal, spool/out/new/.NAME.done),
and the file's move or rewrite follows with its batch (see Run.settle). A
deliver killed at any instant finishes every recorded outcome on its next start
without sending again, so the most a kill can send twice is the transaction
that was on the wire in each session.
"""

import asyncio
import base64
import concurrent.futures
import datetime
import email.utils
import errno
import functools
import hashlib
import ipaddress
import json
import os
import re
import select
import shlex
import ssl
import subprocess
import sys
from email.message import EmailMessage, Message

from tristero.core import messages, text
from tristero.core.exits import EX_IOERR, EX_OK, EX_TEMPFAIL
from tristero.model import config, durable, lists, locks, logbook, spools
from tristero.policy import bounces

# A disk that fails like this fails for every file: stop the run, exit 74.
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG}


class Unreachable(Exception):
    """The mail server or the sendmail program cannot be used at all."""


class Reply:
    """What the server, or the sendmail program, answered about one recipient."""

    def __init__(self, code, text, kind="smtp"):
        self.code = code
        self.text = messages.clean(text, 500)
        self.kind = kind          # "smtp" or "x-unix" (RFC 3464 diagnostic types)

    @property
    def permanent(self):
        return self.code >= 500

    def status(self):
        """The RFC 3463 status: the one the server's text starts with, else X.0.0."""
        m = re.match(r"([245])\.\d{1,3}\.\d{1,3}\b", self.text)
        if m and m.group(1) == str(self.code)[0]:
            return m.group(0)
        return "%d.0.0" % (self.code // 100)

    def __str__(self):
        return "%d %s" % (self.code, self.text) if self.kind == "smtp" else self.text


class Attempt:
    """The fate of one file's recipients after one try."""

    def __init__(self):
        self.delivered = []
        self.deferred = {}        # address -> Reply: try again next deliver
        self.failed = {}          # address -> Reply: report, never try again
        self.expired = False      # the failures include recipients given up after RetryDays
        self.whole = None         # a Refusal: the server refused the message itself, not its recipients

    def add(self, address, reply):
        (self.failed if reply.permanent else self.deferred)[address] = reply

    def merge(self, other):
        self.delivered += other.delivered
        self.deferred.update(other.deferred)
        self.failed.update(other.failed)

    @classmethod
    def of(cls, recipients, replies, rest=None):
        """Recipients with a reply get it; the others get rest, or are delivered when rest is None."""
        attempt = cls()
        for r in recipients:
            reply = replies.get(r, rest)
            if reply is None:
                attempt.delivered.append(r)
            else:
                attempt.add(r, reply)
        return attempt

    def give_up(self):
        self.failed.update(self.deferred)
        self.deferred = {}
        self.expired = True


def _why(e):
    """An exception as a log reads it."""
    return messages.clean(e, 300) or type(e).__name__


def unsendable(address):
    """A Reply when address cannot go into MAIL FROM or RCPT TO at all, else None."""
    if not address or not address.isascii() or not spools.valid_envelope_address(address):
        return Reply(553, "5.1.3 not a valid envelope address (not sent)")
    return None


# --- SMTP on asyncio streams -------------------------------------------------------
#
# The client is written here on asyncio streams, not taken from aiosmtplib: aiosmtplib
# (1.x and 2.x) sends MAIL, each RCPT and DATA one at a time and waits for each reply;
# it has no RFC 2920 pipelining, which is the whole gain on a list's envelopes.

MAX_REPLY_LINE = 4096       # octets in one reply line (RFC 5321 says 512)
MAX_REPLY_LINES = 100       # lines in one multi-line reply


class Dropped(Exception):
    """The connection went away (closed, reset, timed out, answered 421): what was on
    the wire is unknown; connect again and send the transaction again."""


class Refusal:
    """A refusal of the whole message, not of its recipients: where (mail, rcpt, data), the reply."""

    def __init__(self, stage, reply):
        self.stage, self.reply = stage, reply


class SmtpSession:
    """One SMTP connection to [Delivery] SmtpHost, opened when first needed and kept:
    transactions pipelined when the server offers PIPELINING, RSET between them."""

    def __init__(self, cfg):
        self.host = cfg.get("Delivery", "SmtpHost")
        self.port = cfg.get("Delivery", "SmtpPort")
        self.starttls = cfg.get("Delivery", "SmtpStartTLS")
        self.user = cfg.get("Delivery", "SmtpUser")
        self.password = cfg.get("Delivery", "SmtpPassword")
        self.timeout = cfg.get("Delivery", "SmtpTimeout") or None
        self.helo = cfg.globals("Domain")
        self.where = "%s:%s" % (self.host, self.port)
        self.reader = self.writer = None
        self.rbuf = b""          # what the server sent beyond the replies read so far
        self.extensions = {}
        self.used = False        # a transaction ran on this connection: RSET first

    def refuses(self, address):
        """A Reply when address cannot be given to the server at all, else None."""
        return unsendable(address)

    async def send(self, sender, recipients, data, eight_bit=False):
        """Send data (LF lines, not dot-stuffed) to recipients; returns an Attempt. A 421 or
        a dropped connection is answered by connecting again and sending the transaction
        again, once; raises Unreachable when the server cannot be reached."""
        why = None
        for _ in range(2):
            if self.writer is None:
                await self.connect()
            try:
                return await self.transaction(sender, recipients, data, eight_bit)
            except (Dropped, OSError, EOFError, ValueError) as e:
                why = messages.clean(e, 300) or type(e).__name__
                self.close()
        return Attempt.of(recipients, {}, Reply(451, "4.4.2 connection lost: %s" % why))

    async def transaction(self, sender, recipients, data, eight_bit):
        if eight_bit and "8BITMIME" not in self.extensions:
            return Attempt.of(recipients, {}, Reply(
                451, "4.6.3 the message is 8-bit and %s does not offer 8BITMIME: not sent" % self.where))
        commands = ["RSET"] if self.used else []
        commands.append("MAIL FROM:<%s>%s" % (sender, " BODY=8BITMIME" if eight_bit else ""))
        commands += ["RCPT TO:<%s>" % r for r in recipients]
        commands.append("DATA")
        self.used = True
        if "PIPELINING" in self.extensions:
            # RFC 2920: the whole group at once, the replies read in order.
            self._write(*commands)
            replies = await self._replies(len(commands))
        else:
            replies = []
            last_rcpt = len(commands) - 2
            for i, command in enumerate(commands):
                self._write(command)
                replies.append(await self._reply())
                if command.startswith("MAIL") and replies[-1][0] >= 300:
                    break       # no recipient without a sender
                if i == last_rcpt and all(c >= 300 for c, _ in replies[-len(recipients):]):
                    break       # nobody accepted: no DATA
        if commands[0] == "RSET":
            if replies.pop(0)[0] >= 300:
                raise Dropped("RSET refused")
        mail, rcpts, last = replies[0], replies[1:1 + len(recipients)], replies[1 + len(recipients):]
        if mail[0] >= 300:
            if last and last[0][0] == 354:
                raise Dropped("DATA taken after a refused MAIL FROM")
            reply = Reply(*mail)
            attempt = Attempt.of(recipients, {}, reply)
            attempt.whole = Refusal("mail", reply) if reply.permanent else None
            return attempt
        refused = {r: Reply(c, t) for r, (c, t) in zip(recipients, rcpts) if c >= 300}
        accepted = [r for r in recipients if r not in refused]
        if not accepted:
            if last and last[0][0] == 354:
                raise Dropped("DATA taken without a recipient")
            attempt = Attempt.of(recipients, refused)
            attempt.whole = whole_refusal(refused)
            return attempt
        code, text = last[0] if last else (451, "4.4.0 DATA not sent")
        if code == 354:
            self.writer.write(payload(data))
            code, text = await self._reply()
        if code < 300:
            return Attempt.of(recipients, refused)
        reply = Reply(code, text)
        attempt = Attempt.of(recipients, refused, reply)
        attempt.whole = Refusal("data", reply) if reply.permanent else None
        return attempt

    def _write(self, *lines):
        self.writer.write(b"".join(line.encode("ascii") + b"\r\n" for line in lines))

    async def _reply(self):
        """(code, text) of the server's next reply; a 421 raises Dropped."""
        return (await self._replies(1))[0]

    async def _replies(self, n):
        """The server's next n replies, [(code, text)], read in as few reads as they come;
        a 421, a closed connection, a time-out or a line that is not SMTP raise Dropped."""
        replies, texts = [], []
        buf, pos = self.rbuf, 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    eol = buf.find(b"\n", pos)
                    if eol < 0:
                        if len(buf) - pos > MAX_REPLY_LINE:
                            raise Dropped("%s sent a line of more than %d octets" % (self.where, MAX_REPLY_LINE))
                        chunk = await self.reader.read(65536)
                        if not chunk:
                            raise Dropped("%s closed the connection" % self.where)
                        buf, pos = buf[pos:] + chunk, 0
                        continue
                    line = buf[pos:eol].rstrip(b"\r").decode("utf-8", "replace")
                    pos = eol + 1
                    if not _REPLY_LINE.match(line) or len(texts) >= MAX_REPLY_LINES:
                        raise Dropped("%s answered outside SMTP: %s" % (self.where, messages.clean(line, 80)))
                    texts.append(line[4:])
                    if line[3:4] == "-":
                        continue
                    code = int(line[:3])
                    if code == 421:
                        raise Dropped("%d %s" % (code, messages.clean(" ".join(texts), 200)))
                    replies.append((code, "\n".join(texts)))
                    texts = []
                    if len(replies) == n:
                        self.rbuf = buf[pos:]
                        return replies
        except asyncio.TimeoutError:
            raise Dropped("no answer from %s in %s seconds" % (self.where, self.timeout))

    async def connect(self):
        """Connect, EHLO, STARTTLS and AUTH as configured; raises Unreachable."""
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=MAX_REPLY_LINE), self.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise Unreachable("cannot connect to %s: %s" % (self.where, _why(e)))
        try:
            code, text = await self._reply()
            if code != 220:
                raise Unreachable("%s: %d %s" % (self.where, code, messages.clean(text, 200)))
            await self._ehlo()
            if self.starttls:
                await self._expect(220, "STARTTLS")
                await asyncio.wait_for(self.writer.start_tls(ssl.create_default_context()), self.timeout)
                await self._ehlo()
            if self.user:
                if not self.starttls and not _loopback(self.writer):
                    raise Unreachable("will not send SmtpPassword to %s without TLS (set SmtpStartTLS = Y)"
                                      % self.where)
                await self._login()
        except Unreachable:
            self.close()
            raise
        except (Dropped, OSError, EOFError, ValueError, asyncio.TimeoutError) as e:
            self.close()
            raise Unreachable("%s: %s" % (self.where, _why(e)))
        self.used = False

    async def _expect(self, want, command, shown=None):
        self._write(command)
        code, text = await self._reply()
        if code != want:
            raise Unreachable("%s: %s: %d %s" % (self.where, shown or command, code, messages.clean(text, 200)))
        return text

    async def _ehlo(self):
        self._write("EHLO " + self.helo)
        code, text = await self._reply()
        if code == 250:
            self.extensions = {line.split()[0].upper(): line for line in text.split("\n")[1:] if line.split()}
        else:
            await self._expect(250, "HELO " + self.helo)
            self.extensions = {}

    async def _login(self):
        methods = self.extensions.get("AUTH", "").upper().split()[1:]
        user, password = self.user.encode("utf-8"), self.password.encode("utf-8")
        if "PLAIN" in methods or "LOGIN" not in methods:
            secret = base64.b64encode(b"\0" + user + b"\0" + password).decode("ascii")
            await self._expect(235, "AUTH PLAIN " + secret, "AUTH PLAIN")
        else:
            await self._expect(334, "AUTH LOGIN")
            await self._expect(334, base64.b64encode(user).decode("ascii"), "AUTH LOGIN (user)")
            await self._expect(235, base64.b64encode(password).decode("ascii"), "AUTH LOGIN (password)")

    def close(self):
        """Drop the connection at once (mid-transaction, or after trouble)."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
        self.rbuf = b""

    async def quit(self):
        """QUIT politely at the end of the run."""
        if self.writer is not None:
            try:
                self._write("QUIT")
                await asyncio.wait_for(self.reader.readline(), min(self.timeout or 5, 5))
            except (OSError, asyncio.TimeoutError, ValueError):
                pass
            self.close()


def payload(data):
    """The DATA of a message (LF lines, not stuffed): CRLF lines, dots doubled, the final dot."""
    return spools.dot_stuff(data).replace(b"\n", b"\r\n") + b".\r\n"


# Words of a refusal that name the message or its sender, not the mailbox: an answer
# every recipient gets alike with one of these is the message's (see whole_refusal).
_MESSAGE_WORDS = re.compile(
    r"lines? (?:is |are )?too long|line length|administrative prohibition|sender|relay|"
    r"content|too (?:large|big)|size|8-?bit|header|spam|policy", re.I)
_ADDRESS = re.compile(r"<[^<>]*>|\S+@\S+")
_REPLY_LINE = re.compile(r"[2-5]\d\d(?:[ -]|$)")


def whole_refusal(refused):
    """A Refusal when every recipient was refused with the same permanent answer, and
    that answer names the message or its sender (5.7.x, 5.6.x, 5.3.4, words); else None."""
    replies = list(refused.values())
    if not replies or not all(r.permanent for r in replies):
        return None
    said = {(r.code, _ADDRESS.sub("<>", r.text)) for r in replies}
    if len(said) != 1:
        return None
    reply = replies[0]
    if re.match(r"5\.[67]\.\d+$|5\.3\.4$", reply.status()) or bounces.blames_post(reply.text) \
            or _MESSAGE_WORDS.search(_ADDRESS.sub(" ", reply.text)):
        return Refusal("rcpt", reply)
    return None


def _loopback(writer):
    """True when the peer is this machine (a password may then travel in clear)."""
    try:
        ip = ipaddress.ip_address(writer.get_extra_info("peername")[0].split("%")[0])
    except (OSError, ValueError, AttributeError, TypeError):
        return False
    return ip.is_loopback or bool(getattr(ip, "ipv4_mapped", None) and ip.ipv4_mapped.is_loopback)


class CommandTransport:
    """A sendmail-compatible program, run once per file without a shell."""

    def __init__(self, cfg):
        self.timeout = cfg.get("Delivery", "SmtpTimeout") or None
        try:
            self.template = shlex.split(cfg.get("Delivery", "SendmailCommand"))
        except ValueError as e:
            raise config.ConfigError([config.Problem(
                cfg.path, cfg.line_of("Delivery", "SendmailCommand"), "SendmailCommand: %s" % e)])

    def refuses(self, address):
        if address.startswith("-"):
            # The program would read it as an option (sendmail -X FILE logs everything to FILE).
            return Reply(553, "5.1.3 an address starting with '-' is not given to the sendmail program")
        return unsendable(address)

    async def send(self, sender, recipients, data, eight_bit=False):
        """Run the program with data on its stdin (one at a time: the run has one
        session of this transport); returns an Attempt."""
        argv = command_line(self.template, sender, recipients)
        name = os.path.basename(argv[0]) if argv else "SendmailCommand"
        try:
            p = subprocess.run(argv, input=data, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            late = Reply(451, "%s ran longer than %s seconds" % (name, self.timeout), "x-unix")
            return Attempt.of(recipients, {}, late)
        except OSError as e:
            raise Unreachable("cannot run SendmailCommand: %s" % (getattr(e, "strerror", None) or e))
        if p.returncode == 0:
            return Attempt.of(recipients, {})
        said = (p.stderr or p.stdout).decode("utf-8", "replace").strip()
        text = "%s exited with status %d%s" % (name, p.returncode, ": " + said if said else "")
        # Killed by a signal (negative status) is no verdict on the mail: try again.
        code = 451 if p.returncode == EX_TEMPFAIL or p.returncode < 0 else 554
        return Attempt.of(recipients, {}, Reply(code, text, "x-unix"))

    def close(self):
        pass

    async def quit(self):
        pass


def command_line(template, sender, recipients):
    """The program's argv: {sender} replaced ("<>" for the null sender), an argument
    {recipients} replaced by one argument per recipient (appended when absent)."""
    argv = []
    for arg in template:
        if arg == "{recipients}":
            argv.extend(recipients)
        else:
            argv.append(arg.replace("{sender}", sender or "<>"))
    if "{recipients}" not in template:
        argv.extend(recipients)
    return argv


def _outcome(attempt):
    """An Attempt as its record says it (JSON)."""
    def replies(d):
        return {r: [reply.code, reply.text, reply.kind] for r, reply in d.items()}
    whole = attempt.whole and [attempt.whole.stage, attempt.whole.reply.code, attempt.whole.reply.text]
    return {"delivered": attempt.delivered, "deferred": replies(attempt.deferred),
            "failed": replies(attempt.failed), "expired": attempt.expired, "whole": whole}


class Run:
    """One deliver: the files of spool/out/new, shared out oldest first among
    [Delivery] Connections sessions (one for SendmailCommand)."""

    def __init__(self, site, cfg, log, now, sessions):
        self.site, self.cfg, self.log, self.now = site, cfg, log, now
        self.sessions = sessions
        self.texts = text.Texts(site.templates)
        self.new = os.path.join(site.outbox, "new")
        self.queue = sorted(n for n in os.listdir(self.new) if not n.startswith("."))
        self.counts = {"files": 0, "delivered": 0, "deferred": 0, "failed": 0}
        self.reports = 0
        self.refusals = set()      # keys of the whole-message refusals reported in this run
        self.unreachable = None    # why the server could not be used, when it could not
        self.stopped = []          # the files left whole because the server could not be reached
        self.disk = None           # the disk failure that stops the run
        self.working = 0           # sessions still taking files
        self.batch = None          # (journal fd, journal path, [(name, path, st, env, attempt)]) being filled
        self.committer = None      # the task committing batches
        self.pool = None           # the one thread that commits them (the sessions go on meanwhile)

    def run(self):
        """Try every file; stops at an unreachable server, raises OSError when the disk fails."""
        self.finish_recorded()
        if self.queue:
            asyncio.run(self._run())
        if self.disk is not None:
            raise self.disk
        if self.unreachable:
            left = len(self.queue) + len(self.stopped)
            self.unreachable = "%s; %d file(s) stay queued for the next deliver" % (self.unreachable, left)
            self.log.direct(logbook.ERROR, "deliver: " + self.unreachable)

    async def _run(self):
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            while True:
                self.working = len(self.sessions)
                await asyncio.gather(*(self._work(session) for session in self.sessions))
                if self.committer is not None:
                    await self.committer
                # Delivery reports the last batches queued are sent in this run too.
                if not self.queue or self.unreachable or self.disk:
                    break
        finally:
            if self.committer is not None and not self.committer.done():
                await asyncio.wait([self.committer])
            self.pool.shutdown()
            await asyncio.gather(*(session.quit() for session in self.sessions))

    async def _work(self, session):
        """One session's share: the oldest file not yet taken, until none is left."""
        try:
            while self.queue and not (self.unreachable or self.disk):
                name = self.queue.pop(0)
                try:
                    await self.deliver_file(name, session)
                except Unreachable as e:
                    if self.working > 1:
                        # The server may take fewer sessions than Connections: the others
                        # go on; the last one left says the server cannot be reached.
                        self.queue.insert(0, name)
                        self.log.direct(logbook.MESSAGE, "deliver: one session fewer: %s" % e)
                        return
                    self.unreachable = self.unreachable or str(e)
                    self.stopped.append(name)
                except OSError as e:
                    if e.errno in DISK_ERRNOS:
                        self.disk = e
                        return
                    self.log.direct(logbook.ERROR, "deliver: %s: %s; the file stays" % (name, e))
                except Exception as e:
                    # One file's trouble never stops the run; the file stays for a later try,
                    # and the connection, which may be mid-transaction, is opened afresh.
                    session.close()
                    self.log.direct(logbook.ERROR, "deliver: %s: internal error %s: %s; the file stays"
                                    % (name, type(e).__name__, messages.clean(e, 300)))
        finally:
            self.working -= 1

    async def deliver_file(self, name, session):
        path = os.path.join(self.new, name)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                raw = f.read()
        except FileNotFoundError:
            return
        self.counts["files"] += 1
        try:
            env = spools.BsmtpFile.parse(raw)
            if env.sender and unsendable(env.sender):
                raise ValueError("bad sender <%s>" % env.sender)
        except ValueError as e:
            self.set_aside(name, path, e)
            return
        attempt = await self.attempt(env, session)
        if attempt.deferred and self.now.timestamp() - st.st_mtime > self.cfg.get("Delivery", "RetryDays") * 86400:
            attempt.give_up()
        self.settle(name, path, st, env, attempt)

    # --- outcomes recorded the moment they are known (see the module's docstring) ---
    #
    # Group commit: each outcome is appended, the moment it is known, to the journal of
    # the current batch (spool/out/new/.NAME.done, NAME its first file), one line in one
    # write, so that a kill from then on cannot send that file again. The session goes
    # on with the next file at once. One thread takes the batches in turn: the journal
    # fsynced, every file of the batch moved or rewritten, each folder fsynced once,
    # the journal removed. A power failure can repeat, besides the transactions on the
    # wire, the files of the batch whose journal was not yet fsynced.

    def settle(self, name, path, st, env, attempt):
        """Record one file's outcome now; it is committed with its batch."""
        if self.batch is None:
            marker = self._marker(name)
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
            self.batch = (fd, marker, [])
        fd, _, items = self.batch
        # One write: a line cut short by a kill does not read, and its file is then
        # tried again, as the transaction on the wire would be.
        durable.append_record(fd, (json.dumps(dict(_outcome(attempt), name=name)) + "\n").encode("utf-8"))
        items.append((name, path, st, env, attempt))
        if self.committer is None or self.committer.done():
            self.committer = asyncio.ensure_future(self._commit_batches())

    async def _commit_batches(self):
        loop = asyncio.get_running_loop()
        while self.batch is not None:
            batch, self.batch = self.batch, None
            try:
                await loop.run_in_executor(self.pool, self.commit_batch, *batch)
            except OSError as e:
                self.disk = self.disk or e

    def commit_batch(self, fd, marker, items):
        """Commit the files of one batch (in the committing thread)."""
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        durable.fsync_dir(self.new)
        for name, path, st, env, attempt in items:
            try:
                self.commit(name, path, st, env, attempt, sync=False)
            except OSError as e:
                if e.errno in DISK_ERRNOS:
                    raise
                self.log.direct(logbook.ERROR, "deliver: %s: %s; the file stays" % (name, e))
            except Exception as e:
                self.log.direct(logbook.ERROR, "deliver: %s: internal error %s: %s; the file stays"
                                % (name, type(e).__name__, messages.clean(e, 300)))
        durable.fsync_dir(os.path.join(self.site.outbox, "cur"))
        durable.fsync_dir(self.new)
        durable.remove(marker)

    def _marker(self, name):
        return os.path.join(self.new, ".%s.done" % name)

    def finish_recorded(self):
        """Finish the outcomes a killed deliver recorded but did not apply: never sent again.
        Half-written rewrites it left (.NAME.tmpPID) are removed: the file itself is whole."""
        for stale in [n for n in os.listdir(self.new) if re.fullmatch(r"\..+\.tmp\d+", n)]:
            durable.remove(os.path.join(self.new, stale))
        for marker in sorted(n for n in os.listdir(self.new) if n.startswith(".") and n.endswith(".done")):
            with open(os.path.join(self.new, marker), "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            saved = {}
            for line in lines:
                try:
                    outcome = json.loads(line)
                    # A batch's journal names each file; an older deliver's record, the marker.
                    saved[outcome.get("name") or marker[1:-len(".done")]] = outcome
                except (ValueError, AttributeError) as e:
                    self.log.direct(logbook.ERROR, "deliver: a record in %s does not read (%s); its file is "
                                    "tried again" % (marker, e))
            for name, outcome in saved.items():
                self.finish_one(name, outcome)
            durable.fsync_dir(os.path.join(self.site.outbox, "cur"))
            durable.fsync_dir(self.new)
            durable.remove(os.path.join(self.new, marker))

    def finish_one(self, name, saved):
        path = os.path.join(self.new, name)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                env = spools.BsmtpFile.parse(f.read())
        except FileNotFoundError:
            return      # moved to cur/ before the kill: only the record was left
        except ValueError as e:
            self.log.direct(logbook.ERROR, "deliver: cannot read %s again (%s); it is tried again" % (name, e))
            return
        try:
            attempt = Attempt()
            attempt.delivered = list(saved["delivered"])
            attempt.deferred = {r: Reply(*v) for r, v in saved["deferred"].items()}
            attempt.failed = {r: Reply(*v) for r, v in saved["failed"].items()}
            attempt.expired = saved["expired"]
            if saved.get("whole"):
                stage, code, said = saved["whole"]
                attempt.whole = Refusal(stage, Reply(code, said))
        except (ValueError, KeyError, TypeError) as e:
            self.log.direct(logbook.ERROR, "deliver: cannot read the record of %s (%s); it is tried again"
                            % (name, e))
            return
        # The file may already hold only the deferred recipients (rewritten before the kill).
        if set(env.recipients) != set(attempt.deferred):
            self.log.direct(logbook.MESSAGE, "deliver: %s was sent before a deliver stopped; "
                            "finishing it, not sending it again" % name)
            self.commit(name, path, st, env, attempt, sync=False)
        if name in self.queue:
            self.queue.remove(name)     # its deferred recipients wait for the next deliver

    async def attempt(self, env, session):
        """Send env to every recipient the session takes; returns the Attempt."""
        attempt = Attempt()
        for r in env.recipients:
            reply = session.refuses(r)
            if reply:
                attempt.add(r, reply)
        rest = [r for r in env.recipients if r not in attempt.failed]
        if rest:
            sent = await session.send(env.sender, rest, env.data, env.eight_bit)
            attempt.merge(sent)
            attempt.whole = sent.whole
        return attempt

    def commit(self, name, path, st, env, attempt, sync=True):
        """Log and write the outcome: the report first (a crash then repeats, never
        loses, it), then the file rewritten for its deferred recipients or moved to cur/."""
        self.log_attempt(name, env, attempt)
        try:
            if attempt.whole and not self.per_recipient(env.sender):
                report, key = self.refusal_report(name, env, attempt.whole)
            else:
                report, key = self.report(env, attempt) if attempt.failed else None, [name] + sorted(attempt.failed)
        except Exception as e:
            # The mail went out: a report that cannot be made must not make it go out twice.
            self.log.direct(logbook.ERROR, "deliver: no delivery report about %s: %s %s"
                            % (name, type(e).__name__, messages.clean(e, 300)))
            report = None
        if report:
            self.write_report(name, key, *report)
        if attempt.deferred and len(attempt.deferred) < len(env.recipients):
            data = spools.bsmtp(env.sender, list(attempt.deferred), spools.dot_stuff(env.data))
            durable.atomic_write(path, data)
            # The file's age is its first try's: RetryDays counts from there.
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        elif not attempt.deferred:
            cur = os.path.join(self.site.outbox, "cur")
            os.rename(path, os.path.join(cur, spools.processed_name(name)))
            if sync:
                durable.fsync_dir(cur)
                durable.fsync_dir(self.new)

    def log_attempt(self, name, env, attempt):
        self.counts["delivered"] += len(attempt.delivered)
        self.counts["deferred"] += len(attempt.deferred)
        self.counts["failed"] += len(attempt.failed)
        if attempt.delivered:
            self.log.direct(logbook.ACTION, "deliver: %s from <%s> delivered to %d recipient(s)"
                            % (name, env.sender, len(attempt.delivered)))
        if attempt.deferred:
            first, reply = next(iter(attempt.deferred.items()))
            self.log.direct(logbook.MESSAGE, "deliver: %s from <%s> deferred for %d recipient(s), <%s>: %s"
                            % (name, env.sender, len(attempt.deferred), first, reply))
        for r, reply in attempt.failed.items():
            self.log.direct(logbook.ERROR, "deliver: %s from <%s> failed for <%s>: %s%s"
                            % (name, env.sender, r, reply, " (given up)" if attempt.expired else ""))

    def set_aside(self, name, path, why):
        bad = os.path.join(self.site.outbox, "bad")
        os.makedirs(bad, exist_ok=True)
        os.rename(path, os.path.join(bad, name))
        durable.fsync_dir(bad)
        self.log.direct(logbook.ERROR, "deliver: %s is not a BSMTP file (%s); moved to spool/out/bad"
                        % (name, why))

    def report(self, env, attempt):
        """(recipient, message bytes) of the delivery report about attempt's failures,
        or None when nobody may have one (logged)."""
        superuser = self.cfg.globals("SuperUser")
        to = env.sender
        if not to:
            # A null sender never gets mail: the SuperUser hears of it, unless the
            # failed mail was for the SuperUser (a report about a report: no loop).
            failed = {r.lower() for r in attempt.failed}
            to = superuser if superuser and superuser.lower() not in failed else ""
        if not to:
            self.log.direct(logbook.ERROR, "deliver: no delivery report: the failed mail had a null sender")
            return None
        return to, delivery_report(self.cfg, self.now, env, attempt, to, self.texts)

    def per_recipient(self, sender):
        """Is sender a return path of the probe form (ROBOT-probe+...: a mailing's copy, a
        DISTRIBUTE PROBE)? Such an envelope is one recipient's: a refusal of its message
        is that recipient's failure, reported to the return path that names them (the
        delivery report, the PROBE's notice), no list member charged."""
        return sender.rpartition("@")[0].lower().startswith(bounces.probe_base(self.cfg) + "+")

    def refusal_report(self, name, env, whole):
        """((recipient, message bytes) or None, key) of the one report about a whole-message
        refusal: to the list's owner for a post (from owner-LIST@), else to the SuperUser;
        never to the bounce address, so that no member is charged."""
        listname = list_of(self.cfg, env.sender)
        owner = listname and self.cfg.raw(lists.section(listname), "Owner")
        to = owner or self.cfg.globals("SuperUser") or ""
        head = messages.parse(env.data.split(b"\n\n", 1)[0] + b"\n")
        key = ["refused", to.lower(), messages.header(head, "Message-ID") or name,
               whole.reply.code, _ADDRESS.sub("<>", whole.reply.text)]
        where = "the owner of %s" % listname if owner else "the SuperUser"
        rule = "%s refused the message %s: %s" % (self.cfg.get("Delivery", "SmtpHost"), whole.stage, whole.reply)
        if not to or to.lower() in {r.lower() for r in env.recipients}:
            self.log.direct(logbook.ERROR, "deliver: %s: %s; no report (nobody to tell)" % (name, rule))
            return None, key
        if json.dumps(key) in self.refusals:
            self.log.direct(logbook.ACTION, "deliver: %s: %s; already reported to %s" % (name, rule, where))
            return None, key
        self.refusals.add(json.dumps(key))
        self.log.direct(logbook.ERROR, "deliver: %s: %s; charged to the post, reported to %s <%s>; "
                        "no bounce counted" % (name, rule, where, to))
        return (to, refusal_report(self.cfg, self.now, env, whole, listname, to, self.texts)), key

    def write_report(self, name, key, to, message):
        self.reports += 1
        # Named after the file and its failures (or the post and its refusal), so that
        # finishing a recorded outcome again after a kill rewrites the same report
        # instead of sending a second one.
        key = hashlib.sha256(json.dumps(key).encode("utf-8")).hexdigest()[:16]
        report = "%s.R%s.tristero" % (name.split(".", 1)[0], key)
        if report in self.queue or os.path.exists(os.path.join(self.new, report)):
            self.log.direct(logbook.ACTION, "deliver: delivery report about %s already queued as %s" % (name, report))
            if report not in self.queue:
                self.queue.append(report)
            return
        tmp = os.path.join(self.site.outbox, "tmp", report)
        durable.write_file(tmp, spools.bsmtp("", [to], spools.dot_stuff(message)))
        os.rename(tmp, os.path.join(self.new, report))
        durable.fsync_dir(self.new)
        # Sent in this run too, after the files that were there first.
        self.queue.append(report)
        self.log.direct(logbook.ACTION, "deliver: delivery report about %s to <%s> as %s" % (name, to, report))

    def summary(self):
        c = self.counts
        return ("deliver: %d files, %d recipients delivered, %d deferred, %d failed"
                % (c["files"], c["delivered"], c["deferred"], c["failed"]))


def _report(cfg, now, env, to, texts, subject_keys, auto):
    """What the site's reports about a message share: (the message with its From, To,
    Subject (subject_keys: with the original's subject, without one), Date, Message-ID
    and Auto-Submitted; say; the original's header block; it parsed)."""
    say = functools.partial((texts or text.Texts()).get, lang=cfg.globals("Language"))
    domain = cfg.globals("Domain")
    head = env.data.split(b"\n\n", 1)[0] + b"\n"
    original = messages.parse(head)
    subject = messages.header(original, "Subject")
    msg = EmailMessage(policy=messages.POLICY)
    msg["From"] = email.utils.formataddr((say("delivery.report.from"),
                                          "%s@%s" % (cfg.globals("ListProcName")[0].lower(), domain)))
    msg["To"] = to
    msg["Subject"] = messages.clean(say(subject_keys[0], subject=subject) if subject
                                    else say(subject_keys[1]), 200)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    msg["Auto-Submitted"] = auto
    return msg, say, head, original


def _headers_part(head):
    part = EmailMessage(policy=messages.POLICY)
    part.set_content(head.decode("utf-8", "replace"), subtype="rfc822-headers")
    return part


def delivery_report(cfg, now, env, attempt, to, texts=None):
    """An RFC 3464 delivery report (multipart/report) as bytes with LF lines: a text for
    people (texts: the site's, text.Texts; in its Language), the delivery-status fields
    for bounce processing, the original's headers."""
    msg, say, head, original = _report(cfg, now, env, to, texts,
                                       ("delivery.report.subject", "delivery.report.subject-none"), "auto-replied")
    domain = cfg.globals("Domain")
    msg.set_content(_report_text(say, domain, original, attempt, cfg.get("Delivery", "RetryDays")))
    msg.make_mixed()
    msg.set_type("multipart/report")
    msg.set_param("report-type", "delivery-status")
    msg.attach(_delivery_status(domain, attempt))
    msg.attach(_headers_part(head))
    return msg.as_bytes()


# Where a whole-message refusal came: the text that says it, by Refusal.stage.
_STAGES = {"mail": "delivery.refused.mail", "rcpt": "delivery.refused.rcpt", "data": "delivery.refused.data"}


def list_of(cfg, sender):
    """The list whose bounce address (owner-LIST@, owner-LIST+...@) sender is, or None."""
    local = sender.rpartition("@")[0].lower()
    if not local.startswith("owner-"):
        return None
    return lists.by_local(cfg, local[len("owner-"):].partition("+")[0])


def refusal_report(cfg, now, env, whole, listname, to, texts=None):
    """The report (bytes, LF lines) to a person about a message the server refused whole:
    the reason, where it was refused, the original's headers attached."""
    msg, say, head, original = _report(cfg, now, env, to, texts,
                                       ("delivery.refused.subject", "delivery.refused.subject-none"), "auto-generated")
    lines = [say("delivery.refused", domain=cfg.globals("Domain"), where=say(_STAGES[whole.stage]),
                 reply=str(whole.reply), count=len(env.recipients))]
    if listname:
        lines += ["", say("delivery.refused.list", list=listname)]
    message_id = messages.header(original, "Message-ID")
    lines += ["", say("delivery.report.end", message_id=message_id) if message_id
              else say("delivery.report.end-no-id")]
    msg.set_content("\n".join(lines) + "\n")
    msg.make_mixed()
    msg.attach(_headers_part(head))
    return msg.as_bytes()


def _report_text(say, domain, original, attempt, days):
    lines = [say("delivery.report", domain=domain)]
    if attempt.expired:
        lines.append(say("delivery.report.expired", days=days))
    lines.append("")
    lines += ["<%s>: %s" % (r, reply) for r, reply in attempt.failed.items()]
    message_id = messages.header(original, "Message-ID")
    lines += ["", say("delivery.report.end", message_id=message_id) if message_id
              else say("delivery.report.end-no-id")]
    return "\n".join(lines) + "\n"


def _delivery_status(domain, attempt):
    """The message/delivery-status part: one field block for the report, one per recipient."""
    part = EmailMessage(policy=messages.POLICY)
    part["Content-Type"] = "message/delivery-status"
    blocks = [Message(policy=messages.POLICY)]
    blocks[0]["Reporting-MTA"] = "dns; " + domain
    for r, reply in attempt.failed.items():
        b = Message(policy=messages.POLICY)
        b["Final-Recipient"] = "rfc822; " + r
        b["Action"] = "failed"
        b["Status"] = "4.4.7" if attempt.expired and not reply.permanent else reply.status()
        b["Diagnostic-Code"] = "%s; %s" % (reply.kind, reply)
        blocks.append(b)
    part.set_payload(blocks)
    return part


def sessions_for(cfg):
    """The run's sessions: one DeliverCommand when it is set, else one SendmailCommand
    when it is set, else Connections SMTP sessions."""
    if cfg.get("Delivery", "DeliverCommand"):
        return [BsmtpCommandTransport(cfg)]
    if cfg.get("Delivery", "SendmailCommand"):
        return [CommandTransport(cfg)]
    return [SmtpSession(cfg) for _ in range(cfg.get("Delivery", "Connections"))]


def deliver(site, verbose=False, follow=None):
    """tristero.py deliver: hand spool/out/new to the mail server; returns the exit code.

    follow: the stream of a pipe from the run that started this deliver (run --deliver):
    the files are taken again and again as the run commits them, until the pipe closes
    (the run has ended) and one last pass has drained the spool."""
    now = datetime.datetime.now().astimezone()
    try:
        cfg = config.load(site.home)
    except OSError as e:
        sys.stderr.write("tristero: deliver: %s\n" % e)
        return EX_IOERR
    log = logbook.Logbook(site, now, cfg.globals("LogLevel"), cfg.globals("LogScreen"), echo=verbose)
    sessions = sessions_for(cfg)
    follow = Follow(follow) if follow is not None else None
    try:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(site.outbox, sub), exist_ok=True)
        with _deliver_lock(site, follow):
            counts, tried = {}, set()
            while True:
                last = follow is None or follow.ended
                run = Run(site, cfg, log, now, sessions)
                # Each file once per deliver: one deferred waits for the next, not the next pass.
                run.queue = [n for n in run.queue if n not in tried]
                tried.update(run.queue)
                run.run()
                for k, n in run.counts.items():
                    counts[k] = counts.get(k, 0) + n
                if run.unreachable or last:
                    break
                follow.wait(FOLLOW_POLL)
                now = datetime.datetime.now().astimezone()
            run.counts = counts
    except locks.Busy:
        if verbose:
            sys.stderr.write("tristero: another deliver is running\n")
        return EX_TEMPFAIL
    except OSError as e:
        log.direct(logbook.ERROR, "deliver: %s" % e)
        sys.stderr.write("tristero: deliver: %s\n" % e)
        return EX_IOERR
    if verbose:
        sys.stderr.write(run.summary() + "\n")
    if run.unreachable:
        # Try again later, and say so: cron mails this line to someone.
        sys.stderr.write("tristero: deliver: %s\n" % run.unreachable)
        return EX_TEMPFAIL
    return EX_OK


# deliver --follow looks for newly committed files this often (seconds).
FOLLOW_POLL = 0.2


class Follow:
    """The pipe from the run that started a deliver --follow: open while the run goes on."""

    def __init__(self, stream):
        self.fd = stream.fileno()
        self.ended = False

    def wait(self, seconds):
        """Wait up to seconds, less when the run ends; returns True once it has ended."""
        if not self.ended:
            ready, _, _ = select.select([self.fd], [], [], seconds)
            # The run writes nothing: readable means closed (a stray byte is read and ignored).
            if ready and not os.read(self.fd, 4096):
                self.ended = True
        return self.ended


def _deliver_lock(site, follow):
    """spool/deliver.lock, taken at once; deliver --follow waits for it while its run goes on."""
    path = os.path.join(site.spool, "deliver.lock")
    while True:
        try:
            return locks.hold(path)
        except locks.Busy:
            if follow is None or follow.ended:
                raise
            follow.wait(1.0)

class BsmtpCommandTransport:
    """[Delivery] DeliverCommand: a program that takes a whole BSMTP file on its stdin
    (exim -bS), run once per file without a shell; its argv is the setting split as a
    shell would (shlex), nothing in it comes from mail.

    Exit 0: every recipient taken. Otherwise the program's verdict is the SMTP answer
    on the first line of its stdout, as exim -bS writes it ("501 ...", then where the
    error was): 4xx defers, 5xx fails the file's recipients. Without such an answer
    (any other failure, a signal, SmtpTimeout) nothing is known of the mail: deferred."""

    def __init__(self, cfg):
        self.timeout = cfg.get("Delivery", "SmtpTimeout") or None
        try:
            self.argv = shlex.split(cfg.get("Delivery", "DeliverCommand"))
        except ValueError as e:
            raise config.ConfigError([config.Problem(
                cfg.path, cfg.line_of("Delivery", "DeliverCommand"), "DeliverCommand: %s" % e)])

    def refuses(self, address):
        return unsendable(address)

    async def send(self, sender, recipients, data, eight_bit=False):
        """The BSMTP file of sender, recipients and data to the program (one at a time:
        the run has one session of this transport); returns an Attempt."""
        name = os.path.basename(self.argv[0])
        batch = spools.bsmtp(sender, recipients, spools.dot_stuff(data))
        try:
            p = subprocess.run(self.argv, input=batch, capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            late = Reply(451, "%s ran longer than %s seconds" % (name, self.timeout), "x-unix")
            return Attempt.of(recipients, {}, late)
        except OSError as e:
            raise Unreachable("cannot run DeliverCommand: %s" % (getattr(e, "strerror", None) or e))
        if p.returncode == 0:
            return Attempt.of(recipients, {})
        said = p.stdout.decode("utf-8", "replace").strip()
        answer = re.match(r"([45]\d\d)[ -](.*)", said)
        if answer:
            return Attempt.of(recipients, {}, Reply(int(answer.group(1)), answer.group(2)))
        said = said or p.stderr.decode("utf-8", "replace").strip()
        return Attempt.of(recipients, {}, Reply(451, "%s exited with status %d%s" % (
            name, p.returncode, ": " + said if said else ""), "x-unix"))

    def close(self):
        pass

    async def quit(self):
        pass
