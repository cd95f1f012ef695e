"""Delivery: hands the export spool (spool/out/new) to the mail server.

Each recipient of a BSMTP file ends one of three ways. *Delivered*: the server
(or the sendmail program) took it. *Deferred*: a 4xx answer, a dropped
connection, a timeout or exit status 75; the file keeps only the deferred
recipients (its age kept too) and the next deliver tries them again. *Failed*:
a 5xx answer, any other exit status, or still deferred RetryDays after the
file was written; a delivery report (RFC 3464, from <>) goes to the file's
envelope sender, or to the SuperUser when that sender is null, and the
recipient is never tried again. A file with nobody deferred moves to
spool/out/cur. A file that is not BSMTP moves to spool/out/bad, unsent.
A server that cannot be reached stops the run, leaves every file as it is and
makes deliver exit 75 (try again later) with one line on stderr.

Delivery is at-least-once with a bound: the moment a transaction's outcome is
known it is recorded durably (spool/out/new/.NAME.done, beside the file), and
the file's move or rewrite follows. A deliver killed at any instant finishes
every recorded outcome on its next start without sending again, so the most
a kill can send twice is the one transaction that was on the wire.
"""

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
import smtplib
import ssl
import subprocess
import sys
from email.message import EmailMessage, Message

from tristero.core import messages, text
from tristero.core.exits import EX_IOERR, EX_OK, EX_TEMPFAIL
from tristero.model import config, durable, locks, logbook, spools

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


def _smtp_reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Reply(code, text)


def _why(e):
    """An exception as a log reads it."""
    if isinstance(e, smtplib.SMTPResponseException):
        return str(_smtp_reply(e.smtp_code, e.smtp_error))
    return messages.clean(e, 300) or type(e).__name__


def unsendable(address):
    """A Reply when address cannot go into MAIL FROM or RCPT TO at all, else None."""
    if not address or not address.isascii() or not spools.valid_envelope_address(address):
        return Reply(553, "5.1.3 not a valid envelope address (not sent)")
    return None


class SmtpTransport:
    """One SMTP connection to [Delivery] SmtpHost, opened when first needed and reused."""

    def __init__(self, cfg):
        self.host = cfg.get("Delivery", "SmtpHost")
        self.port = cfg.get("Delivery", "SmtpPort")
        self.starttls = cfg.get("Delivery", "SmtpStartTLS")
        self.user = cfg.get("Delivery", "SmtpUser")
        self.password = cfg.get("Delivery", "SmtpPassword")
        self.timeout = cfg.get("Delivery", "SmtpTimeout") or None
        self.helo = cfg.globals("Domain")
        self.conn = None

    def refuses(self, address):
        """A Reply when address cannot be given to the server at all, else None."""
        return unsendable(address)

    def send(self, sender, recipients, data):
        """Send data (LF lines, not dot-stuffed) to recipients; returns an Attempt."""
        conn = self._session()
        options = ["BODY=8BITMIME"] if conn.has_extn("8bitmime") and not data.isascii() else []
        try:
            # SMTP wants CRLF; smtplib leaves the line ends of bytes alone but stuffs the dots.
            refused = conn.sendmail(sender, recipients, data.replace(b"\n", b"\r\n"), options)
        except smtplib.SMTPRecipientsRefused as e:
            # No DATA was sent: whoever was not refused for good is tried again.
            replies = {r: _smtp_reply(*v) for r, v in e.recipients.items()}
            return Attempt.of(recipients, replies, Reply(451, "4.4.0 not sent: the other recipients were refused"))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            return Attempt.of(recipients, {}, _smtp_reply(e.smtp_code, e.smtp_error))
        except (smtplib.SMTPException, OSError) as e:
            self.close()
            return Attempt.of(recipients, {}, Reply(451, "4.4.2 connection lost: %s" % _why(e)))
        return Attempt.of(recipients, {r: _smtp_reply(*v) for r, v in refused.items()})

    def _session(self):
        """The open connection if it still answers NOOP, else a new one."""
        if self.conn is not None:
            try:
                if self.conn.noop()[0] == 250:
                    return self.conn
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        self.conn = self._connect()
        return self.conn

    def _connect(self):
        where = "%s:%s" % (self.host, self.port)
        try:
            conn = smtplib.SMTP(self.host, self.port, local_hostname=self.helo, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as e:
            raise Unreachable("cannot connect to %s: %s" % (where, _why(e)))
        try:
            conn.ehlo_or_helo_if_needed()
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if self.user:
                if not self.starttls and not _loopback(conn):
                    raise Unreachable("will not send SmtpPassword to %s without TLS (set SmtpStartTLS = Y)" % where)
                conn.login(self.user, self.password)
        except Unreachable:
            conn.close()
            raise
        except (smtplib.SMTPException, OSError) as e:
            conn.close()
            raise Unreachable("%s: %s" % (where, _why(e)))
        return conn

    def close(self):
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None


def _loopback(conn):
    """True when conn's peer is this machine (a password may then travel in clear)."""
    try:
        ip = ipaddress.ip_address(conn.sock.getpeername()[0].split("%")[0])
    except (OSError, ValueError, AttributeError):
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

    def send(self, sender, recipients, data):
        """Run the program with data on its stdin; returns an Attempt."""
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


class Run:
    """One deliver: the files of spool/out/new, tried in name order."""

    def __init__(self, site, cfg, log, now, transport):
        self.site, self.cfg, self.log, self.now, self.transport = site, cfg, log, now, transport
        self.texts = text.Texts(site.templates)
        self.new = os.path.join(site.outbox, "new")
        self.queue = sorted(n for n in os.listdir(self.new) if not n.startswith("."))
        self.counts = {"files": 0, "delivered": 0, "deferred": 0, "failed": 0}
        self.reports = 0
        self.unreachable = None    # why the server could not be used, when it could not

    def run(self):
        """Try every file; stops at an unreachable server, raises OSError when the disk fails."""
        self.finish_recorded()
        while self.queue:
            name = self.queue.pop(0)
            try:
                self.deliver_file(name)
            except Unreachable as e:
                self.unreachable = "%s; %d file(s) stay queued for the next deliver" % (e, len(self.queue) + 1)
                self.log.direct(logbook.ERROR, "deliver: " + self.unreachable)
                break
            except OSError as e:
                if e.errno in DISK_ERRNOS:
                    raise
                self.log.direct(logbook.ERROR, "deliver: %s: %s; the file stays" % (name, e))
            except Exception as e:
                # One file's trouble never stops the run; the file stays for a later try,
                # and the connection, which may be mid-transaction, is opened afresh.
                self.transport.close()
                self.log.direct(logbook.ERROR, "deliver: %s: internal error %s: %s; the file stays"
                                % (name, type(e).__name__, messages.clean(e, 300)))

    def deliver_file(self, name):
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
        attempt = self.attempt(env)
        if attempt.deferred and self.now.timestamp() - st.st_mtime > self.cfg.get("Delivery", "RetryDays") * 86400:
            attempt.give_up()
        self.record(name, attempt)
        self.commit(name, path, st, env, attempt)
        self.forget(name)

    # --- outcomes recorded the moment they are known (see the module's docstring) ---

    def _marker(self, name):
        return os.path.join(self.new, ".%s.done" % name)

    def record(self, name, attempt):
        """Write attempt's outcome for file name durably, before anything else is done."""
        def replies(d):
            return {r: [reply.code, reply.text, reply.kind] for r, reply in d.items()}
        data = json.dumps({"delivered": attempt.delivered, "deferred": replies(attempt.deferred),
                           "failed": replies(attempt.failed), "expired": attempt.expired})
        # One write, no rename: a record cut short by a kill does not read, and its
        # file is then tried again, as the transaction on the wire would be.
        durable.write_file(self._marker(name), data.encode("utf-8"))
        durable.fsync_dir(self.new)

    def forget(self, name):
        durable.remove(self._marker(name))

    def finish_recorded(self):
        """Finish the outcomes a killed deliver recorded but did not apply: never sent again.
        Half-written rewrites it left (.NAME.tmpPID) are removed: the file itself is whole."""
        for stale in [n for n in os.listdir(self.new) if re.fullmatch(r"\..+\.tmp\d+", n)]:
            durable.remove(os.path.join(self.new, stale))
        for marker in sorted(n for n in os.listdir(self.new) if n.startswith(".") and n.endswith(".done")):
            name = marker[1:-len(".done")]
            path = os.path.join(self.new, name)
            try:
                with open(os.path.join(self.new, marker), "rb") as f:
                    saved = json.loads(f.read().decode("utf-8"))
                with open(path, "rb") as f:
                    st = os.fstat(f.fileno())
                    env = spools.BsmtpFile.parse(f.read())
            except FileNotFoundError:
                pass        # moved to cur/ before the kill: only the record was left
            except (ValueError, KeyError) as e:
                self.log.direct(logbook.ERROR, "deliver: cannot read the record %s (%s); the file is tried again"
                                % (marker, e))
            else:
                attempt = Attempt()
                attempt.delivered = list(saved["delivered"])
                attempt.deferred = {r: Reply(*v) for r, v in saved["deferred"].items()}
                attempt.failed = {r: Reply(*v) for r, v in saved["failed"].items()}
                attempt.expired = saved["expired"]
                # The file may already hold only the deferred recipients (rewritten before the kill).
                if set(env.recipients) != set(attempt.deferred):
                    self.log.direct(logbook.MESSAGE, "deliver: %s was sent before a deliver stopped; "
                                    "finishing it, not sending it again" % name)
                    self.commit(name, path, st, env, attempt)
                if name in self.queue:
                    self.queue.remove(name)     # its deferred recipients wait for the next deliver
            self.forget(name)

    def attempt(self, env):
        """Send env to every recipient the transport takes; returns the Attempt."""
        attempt = Attempt()
        for r in env.recipients:
            reply = self.transport.refuses(r)
            if reply:
                attempt.add(r, reply)
        rest = [r for r in env.recipients if r not in attempt.failed]
        if rest:
            attempt.merge(self.transport.send(env.sender, rest, env.data))
        return attempt

    def commit(self, name, path, st, env, attempt):
        """Log and write the outcome: the report first (a crash then repeats, never
        loses, it), then the file rewritten for its deferred recipients or moved to cur/."""
        self.log_attempt(name, env, attempt)
        try:
            report = self.report(env, attempt) if attempt.failed else None
        except Exception as e:
            # The mail went out: a report that cannot be made must not make it go out twice.
            self.log.direct(logbook.ERROR, "deliver: no delivery report about %s: %s %s"
                            % (name, type(e).__name__, messages.clean(e, 300)))
            report = None
        if report:
            self.write_report(name, list(attempt.failed), *report)
        if attempt.deferred and len(attempt.deferred) < len(env.recipients):
            data = spools.bsmtp(env.sender, list(attempt.deferred), spools.dot_stuff(env.data))
            durable.atomic_write(path, data)
            # The file's age is its first try's: RetryDays counts from there.
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        elif not attempt.deferred:
            cur = os.path.join(self.site.outbox, "cur")
            os.rename(path, os.path.join(cur, spools.processed_name(name)))
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

    def write_report(self, name, failed, to, message):
        self.reports += 1
        # Named after the file and its failures, so that finishing a recorded outcome
        # again after a kill rewrites the same report instead of sending a second one.
        key = hashlib.sha256(json.dumps([name] + sorted(failed)).encode("utf-8")).hexdigest()[:16]
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


def delivery_report(cfg, now, env, attempt, to, texts=None):
    """An RFC 3464 delivery report (multipart/report) as bytes with LF lines: a text for
    people (texts: the site's, text.Texts; in its Language), the delivery-status fields
    for bounce processing, the original's headers."""
    say = functools.partial((texts or text.Texts()).get, lang=cfg.globals("Language"))
    domain = cfg.globals("Domain")
    head = env.data.split(b"\n\n", 1)[0] + b"\n"
    original = messages.parse(head)
    subject = messages.header(original, "Subject")
    msg = EmailMessage(policy=messages.POLICY)
    msg["From"] = email.utils.formataddr((say("delivery.report.from"),
                                          "%s@%s" % (cfg.globals("ListProcName")[0].lower(), domain)))
    msg["To"] = to
    msg["Subject"] = messages.clean(say("delivery.report.subject", subject=subject) if subject
                                    else say("delivery.report.subject-none"), 200)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(_report_text(say, domain, original, attempt, cfg.get("Delivery", "RetryDays")))
    msg.make_mixed()
    msg.set_type("multipart/report")
    msg.set_param("report-type", "delivery-status")
    msg.attach(_delivery_status(domain, attempt))
    headers = EmailMessage(policy=messages.POLICY)
    headers.set_content(head.decode("utf-8", "replace"), subtype="rfc822-headers")
    msg.attach(headers)
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


def transport_for(cfg):
    """DeliverCommand when it is set, else SendmailCommand when it is set, else SMTP."""
    if cfg.get("Delivery", "DeliverCommand"):
        return BsmtpCommandTransport(cfg)
    if cfg.get("Delivery", "SendmailCommand"):
        return CommandTransport(cfg)
    return SmtpTransport(cfg)


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
    transport = transport_for(cfg)
    follow = Follow(follow) if follow is not None else None
    try:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(site.outbox, sub), exist_ok=True)
        with _deliver_lock(site, follow):
            counts, tried = {}, set()
            try:
                while True:
                    last = follow is None or follow.ended
                    run = Run(site, cfg, log, now, transport)
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
            finally:
                transport.close()
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

    def send(self, sender, recipients, data):
        """The BSMTP file of sender, recipients and data to the program; returns an Attempt."""
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
