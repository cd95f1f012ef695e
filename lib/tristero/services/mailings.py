"""Scheduled, personalised mailings (LISTSERV Maestro's jobs): a folder per mailing,
SITE/mailings/NAME/, hand-editable:

    mailing.ini       [Mailing] From, ReplyTo, Bounce (the envelope sender; default
                      a return path per copy that brings its failures to the
                      delivery's report, services/reports.py), Subject, Recipients (a file of the folder, or
                      list:LISTNAME), Schedule, Approvers (1 or 2), State, ApprovedBy
    message.txt       the text; message.html, when there, its HTML alternative;
                      attachments/ the files attached
    recipients.csv    a header row naming the columns (EMAIL among them), then a row a
                      recipient, comma- or tab-separated (.tsv, or tabs in the header)
    deliveries.csv    written by Tristero: a row per delivery made (its number, the time
                      it was due, the run's time, recipients attempted)
    sent-K.txt, failures-K.txt, report-K.csv
                      written by Tristero: delivery K's recipients, the failures
                      reported for it, its report (services/reports.py)

{{COLUMN}} in the subject and in every text and HTML part is the recipient's value
(escaped in HTML); a field with no column is an error found before anything is sent.
A list's members (but those set NOMAIL, and addresses Tristero answers: lists within
the list) have the columns EMAIL and NAME (their NAME option, else empty), and
the manual's %% place-holders (services/placeholders.py: %%N, %%A, %%K ...) are filled
for each member too, in the same pass (a value is never read again for either).

Schedule: "now"; "at 2026-12-01T09:00"; "every N hours|days|weeks|months from TIME
[until TIME | count N]". Delivery k (from 0) is due at from + k intervals; each is made
once, in the first run at or after its time (--now governs), in a unit of work that
writes its outbound files and its row of deliveries.csv together: a run missed sends
what fell due in the next; a run killed before its commit sends it again whole, after
it never. State: draft, approved (sent when due), paused, cancelled, done (written
when the schedule has no delivery left). Approvers = 2: two different people APPROVE.
"""

import calendar
import configparser
import csv
import datetime
import email.utils
import hashlib
import io
import os
import re

from tristero.core import messages, personalise
from tristero.core.kinds import Handler
from tristero.model import lists, members, spools
from tristero.policy import addresses, bounces
from tristero.services import placeholders, repository

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
STATES = ("draft", "approved", "paused", "cancelled", "done")
UNITS = {"hour": "hours", "hours": "hours", "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
         "month": "months", "months": "months"}
# Deliveries made in one run for one mailing at the most (a schedule every hour, the
# site's runs stopped for a month: the rest follows in the next runs).
MAX_PER_RUN = 24
MAX_RECIPIENTS = 1000000
MAX_FILE = 512 << 20    # bytes of one file of a mailing's folder (a recipients table of a million)
JOB = "job-"            # the names of the mailings DISTRIBUTE jobs with ACK= are kept as


class MailingError(Exception):
    """A mailing that cannot go out as it is written: why."""


def folder(site, name):
    return os.path.join(site.home, "mailings", name)


def names(site):
    try:
        found = sorted(os.listdir(os.path.join(site.home, "mailings")))
    except FileNotFoundError:
        return []
    return [n for n in found if NAME.fullmatch(n) and os.path.isfile(os.path.join(folder(site, n), "mailing.ini"))]


def parse_time(text):
    """A time of a schedule: the site's local time, as --now and the runs count it."""
    try:
        t = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise MailingError("%r is not a time (2026-12-01T09:00)" % text.strip()[:40])
    if t.tzinfo is not None:
        # Dropped, it would be another hour than the one meant; converted, to which zone?
        raise MailingError("%r: a schedule's times are the site's local time, without an offset "
                           "(2026-12-01T09:00)" % text.strip()[:40])
    return t


class Schedule:
    """When the deliveries are due: start, every (count, unit) or None, until, count."""

    def __init__(self, text, now=None):
        words = text.split()
        self.every, self.until, self.count = None, None, None
        if not words:
            raise MailingError("no Schedule")
        head = words[0].lower()
        if head == "now":
            if len(words) != 1:
                raise MailingError("Schedule = now takes nothing after it")
            self.start, self.count = None, 1
        elif head == "at" and len(words) == 2:
            self.start, self.count = parse_time(words[1]), 1
        elif head == "every" and len(words) >= 5 and words[3].lower() == "from":
            if not words[1].isdigit() or int(words[1]) < 1 or words[2].lower() not in UNITS:
                raise MailingError("every N hours, days, weeks or months")
            self.every = (int(words[1]), UNITS[words[2].lower()])
            self.start = parse_time(words[4])
            rest = words[5:]
            if rest and rest[0].lower() == "until" and len(rest) == 2:
                self.until = parse_time(rest[1])
                if self.until < self.start:
                    raise MailingError("until is before the start: no delivery would be made")
            elif rest and rest[0].lower() == "count" and len(rest) == 2 and rest[1].isdigit() and int(rest[1]) > 0:
                self.count = int(rest[1])
            elif rest:
                raise MailingError("after the start: until TIME or count N (N at least 1)")
        else:
            raise MailingError("Schedule is now, at TIME, or every N UNITS from TIME [until TIME | count N]")

    def time(self, k, approved_at=None):
        """When delivery k (from 0) is due, or None when the schedule has none."""
        if self.count is not None and k >= self.count:
            return None
        if self.start is None:          # now: when it was approved
            return approved_at
        if self.every is None:
            return self.start
        n, unit = self.every
        try:
            if unit == "months":
                months = self.start.month - 1 + n * k
                year, month = self.start.year + months // 12, months % 12 + 1
                t = self.start.replace(year=year, month=month,
                                       day=min(self.start.day, calendar.monthrange(year, month)[1]))
            else:
                t = self.start + datetime.timedelta(**{unit: n * k})
        except (OverflowError, ValueError):
            return None                 # past the calendar's end (year 9999): no delivery left
        if self.until is not None and t > self.until:
            return None
        return t


class Rows:
    """Rows made again by make() at each pass, never all held; len: how many."""

    def __init__(self, make):
        self.make = make
        self.count = sum(1 for _ in make())

    def __iter__(self):
        return self.make()

    def __len__(self):
        return self.count


class Mailing:
    """One mailing's folder, read; with ctx, as the run's changes not yet committed leave
    it (an earlier command of the same message: CREATE then APPROVE, PAUSE then
    SCHEDULE), through repository.read (no link followed, no file past MAX_FILE)."""

    ctx = None

    def __init__(self, site, name, ctx=None):
        if not NAME.fullmatch(name or ""):
            raise MailingError("a mailing's name is lower-case letters, digits, - and _ (at most 40)")
        self.site, self.name, self.path, self.ctx = site, name, folder(site, name), ctx
        self.ini = configparser.ConfigParser(interpolation=None)
        self.ini.optionxform = str
        data = self.file("mailing.ini")
        if data is None:
            raise MailingError("no mailing %s (no %s)" % (name, os.path.join("mailings", name, "mailing.ini")))
        try:
            self.ini.read_string(data.decode("utf-8"))
        except (configparser.Error, UnicodeDecodeError) as e:
            raise MailingError("mailing.ini does not read: %s" % messages.clean(e, 200))
        if not self.ini.has_section("Mailing"):
            raise MailingError("mailing.ini has no [Mailing] section")

    listname = None         # the list of Recipients = list:NAME (recipients() finds it)
    letters = frozenset()   # the %% place-holders the message uses, for a list (check())

    def get(self, key, default=""):
        return self.ini.get("Mailing", key, fallback=default).strip()

    @property
    def state(self):
        return self.get("State", "draft").lower()

    def approvers(self):
        return [a for a in self.get("ApprovedBy").replace(",", " ").split() if a]

    def needed(self):
        value = self.get("Approvers", "1")
        if value not in ("1", "2"):
            raise MailingError("Approvers is 1 or 2")
        return int(value)

    def approved_at(self):
        """When it was approved; for one set approved by hand without ApprovedAt, the
        earliest time (a schedule of now is then due at once, not never)."""
        text = self.get("ApprovedAt")
        if text:
            return parse_time(text)
        return datetime.datetime.min if self.state == "approved" else None

    def schedule(self):
        return Schedule(self.get("Schedule", "now"))

    def ini_text(self, **changes):
        """mailing.ini with changes (key: value; None removes the key), as text."""
        for key, value in changes.items():
            if value is None:
                self.ini.remove_option("Mailing", key)
            else:
                self.ini.set("Mailing", key, value)
        out = io.StringIO()
        self.ini.write(out)
        return out.getvalue()

    def file(self, name):
        """The bytes of a file of the folder, or None."""
        try:
            return repository.read(os.path.join(self.path, name), MAX_FILE, name, self.ctx)
        except repository.Missing:
            return None
        except repository.Refused as e:
            raise MailingError(str(e))

    def deliveries(self):
        """The rows of deliveries.csv: [number, due, sent, attempted]."""
        data = self.file("deliveries.csv")
        if not data:
            return []
        rows = list(csv.reader(io.StringIO(data.decode("utf-8", "replace"))))
        return [r for r in rows[1:] if r]

    # --- what goes out ---

    def recipients(self, ctx):
        """(columns, rows) of the recipients: rows gives {COLUMN: value} a row (a list's
        members are made again from its roster at each pass: the list is held once)."""
        source = self.get("Recipients", "recipients.csv")
        if source.lower().startswith("list:"):
            listname = lists.find(ctx.config, source[5:].strip())
            if not listname:
                raise MailingError("Recipients: no list %s" % messages.clean(source[5:], 60))
            self.listname = listname
            roster = ctx.state.members(lists.number(ctx.config, listname))
            return ["EMAIL", "NAME"], Rows(lambda: (
                {"EMAIL": address, "NAME": members.name_of(options)}
                for address, options in roster.items() if reached(ctx, address, options)))
        if "/" in source or source.startswith("."):
            raise MailingError("Recipients is a file of the mailing's folder or list:NAME")
        data = self.file(source)
        if data is None:
            raise MailingError("no recipients file %s" % source)
        text = data.decode("utf-8-sig", "replace")
        first = text.split("\n", 1)[0]
        delimiter = "\t" if source.endswith(".tsv") or "\t" in first else ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            return self._rows(ctx, reader, source)
        except csv.Error as e:          # a field past csv's limit (128 KiB), a NUL
            raise MailingError("%s, line %d: %s" % (source, reader.line_num, messages.clean(str(e), 100)))

    @staticmethod
    def _rows(ctx, reader, source):
        """(header, rows) of a recipients table: an address given twice gets the first of
        its rows (one copy, as DISTRIBUTE's); an address Tristero answers is an error."""
        header = [h.strip().upper() for h in next(reader, [])]
        if "EMAIL" not in header:
            raise MailingError("the first row of %s names the columns, and none is EMAIL" % source)
        rows = {}
        for number, row in enumerate(reader, 2):
            if not any(v.strip() for v in row):
                continue
            if len(row) != len(header):
                raise MailingError("%s, line %d: %d value(s) for %d column(s)" % (source, number, len(row),
                                                                                  len(header)))
            values = dict(zip(header, (v.strip() for v in row)))
            if not messages.is_address(values["EMAIL"]) or not spools.valid_envelope_address(values["EMAIL"]):
                raise MailingError("%s, line %d: %s is not a mail address" % (source, number,
                                                                             messages.clean(values["EMAIL"], 80)))
            if answered(ctx, values["EMAIL"]):
                raise MailingError("%s, line %d: %s is an address of this site (a list's, its robot's): "
                                   "DISTRIBUTE POST posts to a list" % (source, number, values["EMAIL"]))
            rows.setdefault(members.address_key(values["EMAIL"]), values)
            if len(rows) > MAX_RECIPIENTS:
                raise MailingError("at most %d recipients" % MAX_RECIPIENTS)
        return header, list(rows.values())

    def message(self, ctx):
        """The message's bytes, made once (To: and Subject: left to each copy)."""
        text = self.file("message.txt")
        if text is None:
            raise MailingError("no message.txt")
        sender = self.get("From")
        if not address_of(sender):
            raise MailingError("From is not an address")
        headers = [("Reply-To", self.get("ReplyTo"))] if self.get("ReplyTo") else []
        msg = messages.new_message(sender, "undisclosed-recipients:;", self.get("Subject"),
                                   text.decode("utf-8", "replace"), ctx.now,
                                   ctx.ids.message_id(ctx.ids.next()), headers)
        page = self.file("message.html")
        if page is not None:
            msg.add_alternative(page.decode("utf-8", "replace"), subtype="html")
        attached = os.path.join(self.path, "attachments")
        if os.path.isdir(attached):
            files = []
            for name in sorted(os.listdir(attached)):
                with open(os.path.join(attached, name), "rb") as f:
                    files.append((name, f.read()))
            messages.attach(msg, files)
        return messages.serialize(msg)

    def check(self, ctx):
        """(template, columns, rows) ready to send; MailingError for what is wrong."""
        self.needed()
        self.schedule()
        bounce = self.get("Bounce")
        if bounce and not (messages.is_address(bounce) and spools.valid_envelope_address(bounce)):
            raise MailingError("Bounce is not an address")
        columns, rows = self.recipients(ctx)
        raw = self.message(ctx)
        template = personalise.Template(raw, wanted=lambda text: True, fields=("To", "Subject"))
        used = personalise.columns(self.get("Subject"))
        for _, text in template.texts:
            used |= personalise.columns(text)
        missing = sorted(used - set(columns))
        if missing:
            raise MailingError("the message uses {{%s}}, and the recipients have no such column" % missing[0])
        if self.listname:
            self.letters = frozenset(placeholders.used(self.get("Subject"), *(text for _, text in template.texts)))
        return template, columns, rows

    def envelope_sender(self):
        bounce = self.get("Bounce")
        if bounce:
            return bounce
        return address_of(self.get("From"))

    def send(self, ctx, template, rows, only=None, delivery=None):
        """A copy for each row (only: to that address instead of the row's); the count.
        A delivery's copies (delivery: its number) each have a return path of their own
        that names it and the recipient (services/reports.py), unless Bounce names
        another (whose failures the report then does not see)."""
        subject = self.get("Subject")
        sender = self.envelope_sender()
        for row in rows:
            to = only or row["EMAIL"]
            name = row.get("NAME", "")
            edit = self.merge(ctx, row, to)
            copy = template.render(edit, {"To": personalise.recipient(name, to),
                                          "Subject": edit(subject, "plain")})
            verp = delivery and not self.get("Bounce") and bounces.mailing_sender(ctx, self.name, delivery, to)
            ctx.send(verp or sender, [to], copy)
        return len(rows)


    def merge(self, ctx, row, to):
        """The fill of row's copy to address to: its {{COLUMN}} fields, and for a list its
        %% place-holders (a test copy's cookie and rights are the tester's, not the member's)."""
        if not self.listname:
            return lambda text, subtype: personalise.fill(text, row, subtype)
        vals = placeholders.values(ctx, self.listname, row["EMAIL"], row["NAME"], self.letters)
        if to.lower() != row["EMAIL"].lower() and self.letters & {"K", "R"}:
            vals.update({k: v for k, v in placeholders.values(ctx, self.listname, to, "", self.letters).items()
                         if k in ("K", "R")})
        return lambda text, subtype: placeholders.fill(text, row, vals, subtype)


# MAILING CREATE's settings (their key in mailing.ini) and the longest value taken.
SETTINGS = {"SUBJECT": "Subject", "FROM": "From", "REPLY-TO": "ReplyTo", "REPLYTO": "ReplyTo",
            "SCHEDULE": "Schedule", "RECIPIENTS": "Recipients", "APPROVERS": "Approvers"}
MAX_VALUE = 900
MAX_ATTACHMENTS = 20    # files a MAILING CREATE attaches to the message at the most


class Draft(Mailing):
    """A new mailing (MAILING CREATE by mail, tristero.py mailing create), in memory until
    create() writes it: lines are KEY = value settings, a blank line, then the text;
    attachments [(file name, bytes)]: a .csv or .tsv file the recipients (unless
    Recipients says otherwise), an .html file the text's HTML alternative. text(key,
    **fields): a refusal's text, in its reader's language. MailingError: what is wrong."""

    def __init__(self, site, name, lines, attachments, text):
        if not NAME.fullmatch(name or ""):
            raise MailingError("a mailing's name is lower-case letters, digits, - and _ (at most 40)")
        if name.startswith(JOB):
            # record_job's: one made ahead would take a job's report (and tell its From).
            raise MailingError("names starting with %s are DISTRIBUTE jobs' (ACK=)" % JOB)
        self.site, self.name, self.path = site, name, folder(site, name)
        if lines is None:
            raise MailingError(text("create.mailing-no-text"))
        self.ini = configparser.ConfigParser(interpolation=None)
        self.ini.optionxform = str
        self.ini.add_section("Mailing")
        i = 0
        while i < len(lines) and lines[i].strip():
            key, eq, value = lines[i].partition("=")
            key, value = key.strip().upper(), value.strip()
            if not eq or key not in SETTINGS:
                raise MailingError(text("create.mailing-bad-line", line=messages.clean(lines[i], 60)))
            if len(value) > MAX_VALUE or any(ord(c) < 32 or ord(c) == 127 for c in value):
                raise MailingError(text("create.mailing-bad-value", setting=SETTINGS[key]))
            if self.ini.has_option("Mailing", SETTINGS[key]):
                raise MailingError(text("create.mailing-twice", setting=SETTINGS[key]))
            self.ini.set("Mailing", SETTINGS[key], value)
            i += 1
        for key in ("From", "Subject"):
            if not self.get(key):
                raise MailingError(text("create.mailing-needs", setting=key))
        self.ini.set("Mailing", "Schedule", self.get("Schedule") or "now")
        self.ini.set("Mailing", "State", "draft")
        body = "\n".join(lines[i:]).strip("\n")
        if not body:
            raise MailingError(text("create.mailing-no-text"))
        self.files = {"message.txt": (body + "\n").encode("utf-8")}
        for file, data in attachments:
            low = (file or "").lower()
            if low.endswith((".csv", ".tsv")) and not self.get("Recipients"):
                source = "recipients.tsv" if low.endswith(".tsv") else "recipients.csv"
                self.files[source] = data
                self.ini.set("Mailing", "Recipients", source)
            elif low.endswith((".html", ".htm")) and "message.html" not in self.files:
                self.files["message.html"] = data
            else:
                self.attach(file, data, text)
        source = self.get("Recipients")
        if not source or not source.lower().startswith("list:") and source not in self.files:
            raise MailingError(text("create.mailing-no-recipients"))

    def attach(self, file, data, text):
        """Another attached file: one of the message's attachments (attachments/NAME)."""
        try:
            repository.check_name(file or "", single=True)
        except repository.Refused as e:
            raise MailingError(text("create.mailing-bad-attachment", why=e.why if isinstance(e.why, str)
                                    else text(e.why)))
        if sum(1 for f in self.files if f.startswith("attachments/")) >= MAX_ATTACHMENTS:
            raise MailingError(text("create.mailing-attachments", limit=MAX_ATTACHMENTS))
        self.files["attachments/" + file] = data

    def file(self, name):
        return self.files.get(name)


def create(ctx, draft, text):
    """draft's folder written (in the caller's unit of work) once it checks as it will be
    sent: the recipients it has now. MailingError: why not."""
    if os.path.exists(draft.path) or repository.present(ctx, os.path.join(draft.path, "mailing.ini")):
        raise MailingError(text("create.mailing-taken", name=draft.name))
    _, _, rows = draft.check(ctx)
    for file, data in sorted(draft.files.items()):
        ctx.write(os.path.join(draft.path, file), data)
    ctx.write(os.path.join(draft.path, "mailing.ini"), draft.ini_text().encode("utf-8"))
    return len(rows)


def set_schedule(ctx, name, schedule, text):
    """SCHEDULE: mailing name (a draft or paused) gets schedule, and is a draft again
    without its approvals (what was approved was the old schedule: PAUSE, SCHEDULE every
    hour, RESUME by one person would pass the two-person rule); what to say. MailingError."""
    mailing = Mailing(ctx.site, name, ctx)
    Schedule(schedule)
    if mailing.state not in ("draft", "paused"):
        raise MailingError(text("mailing.schedule-state", state=mailing.state))
    ctx.write(os.path.join(mailing.path, "mailing.ini"), mailing.ini_text(
        Schedule=schedule, State="draft", ApprovedBy=None, ApprovedAt=None).encode("utf-8"))
    return text("mailing.scheduled", name=name, schedule=schedule)


def record_job(ctx, sender, subject, recipients, bounce):
    """A DISTRIBUTE job with ACK=MAIL|MSG kept as a mailing made once (State = done),
    mailings/job-ID/, so that its delivery gets its report (services/reports.py) like a
    mailing's; ID from the run's clock, the sender and the recipients (the same job
    at the same --now makes the same folder). The name, or None when one exists."""
    key = "\0".join([ctx.now.isoformat(), sender.lower()] + list(recipients))
    name = JOB + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    path = folder(ctx.site, name)
    if os.path.exists(path):
        return None
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    now = ctx.now.replace(tzinfo=None).isoformat()
    ini["Mailing"] = {"From": sender, "Bounce": bounce, "Subject": messages.clean(subject, 200),
                      "Recipients": "sent-1.txt", "Schedule": "at " + now, "State": "done", "MadeBy": "DISTRIBUTE"}
    out = io.StringIO()
    ini.write(out)
    ctx.write(os.path.join(path, "mailing.ini"), out.getvalue().encode("utf-8"))
    ctx.write(os.path.join(path, "deliveries.csv"),
              ("delivery,due,sent,attempted\n1,%s,%s,%d\n" % (now, now, len(recipients))).encode("utf-8"))
    ctx.write(os.path.join(path, "sent-1.txt"), "".join(a + "\n" for a in recipients).encode("utf-8"))
    return name


def reached(ctx, address, options):
    """Does a list mailing go to this member? Not to one set NOMAIL, nor to an address
    Tristero itself answers (a list within the list, the robot: the copy would come back
    in as mail; a person's mailbox on the site's domain is reached), nor to an entry that
    is no mail address ([list@remote])."""
    return members.option_word(options, "NOMAIL") is None and not answered(ctx, address) \
        and messages.is_address(address) and spools.valid_envelope_address(address)


def answered(ctx, address):
    """Is address one Tristero answers (a list's, its robot's, a list's -request@ ...)?"""
    local, _, _ = address.rpartition("@")
    return ctx.ours(address) and addresses.resolve(ctx.config, local)[0] != Handler.UNKNOWN


def delivery_file(mailing, kind, k):
    """A file of delivery k in the mailing's folder: sent-K.txt (the recipients attempted),
    failures-K.txt (the failures reported), report-K.csv (services/reports.py)."""
    return os.path.join(mailing.path, "%s-%d.%s" % (kind, k, "csv" if kind == "report" else "txt"))


def address_of(text):
    """The address of a From-like value ("Name <a@b>" or a@b), or ""."""
    found = email.utils.getaddresses([text])
    address = found[0][1] if len(found) == 1 else ""
    return address if messages.is_address(address) and spools.valid_envelope_address(address) else ""


def due(mailing, now):
    """[(k, time)] of the deliveries due at now and not made (at most MAX_PER_RUN)."""
    return _due(mailing, now, mailing.approved_at()) if mailing.state == "approved" else []


def overdue(mailing, now, approved_at=None):
    """How many deliveries of mailing's schedule are due at now and not made (at most
    MAX_PER_RUN), as if approved at approved_at (default: when it was), whatever its state."""
    return len(_due(mailing, now, approved_at or mailing.approved_at()))


def _due(mailing, now, approved_at):
    schedule = mailing.schedule()
    out = []
    k = len(mailing.deliveries())
    while len(out) < MAX_PER_RUN:
        t = schedule.time(k, approved_at)
        if t is None or t > now:
            break
        out.append((k, t))
        k += 1
    return out


def finished(mailing, made):
    return mailing.schedule().time(made, mailing.approved_at()) is None


def deliver_due(ctx, name):
    """The deliveries of mailing name due now, each sent and recorded (deliveries.csv, and
    State = done after the last) in the caller's unit of work. The count made."""
    mailing = Mailing(ctx.site, name, ctx)
    now = ctx.now.replace(tzinfo=None)
    todo = due(mailing, now)
    if not todo:
        return 0
    template, _, rows = mailing.check(ctx)
    rows_out = mailing.deliveries()
    for k, t in todo:
        count = mailing.send(ctx, template, rows, delivery=k + 1)
        ctx.write(delivery_file(mailing, "sent", k + 1), "".join(r["EMAIL"] + "\n" for r in rows).encode("utf-8"))
        rows_out.append([str(k + 1), t.isoformat(), now.isoformat(), str(count)])
        ctx.act("mailing %s: delivery %d (due %s) to %d recipient(s)" % (name, k + 1, t.isoformat(), count),
                "mailings/%s" % name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["delivery", "due", "sent", "attempted"])
    writer.writerows(rows_out)
    ctx.write(os.path.join(mailing.path, "deliveries.csv"), out.getvalue().encode("utf-8"))
    if finished(mailing, len(rows_out)):
        ctx.write(os.path.join(mailing.path, "mailing.ini"), mailing.ini_text(State="done").encode("utf-8"))
    return len(todo)


def approve(ctx, name, who):
    """who approves mailing name: (done, what to say). The second of two approvals (or
    the one of one) makes it approved; the same person twice counts once."""
    mailing = Mailing(ctx.site, name, ctx)
    if mailing.state not in ("draft",):
        return False, "mailing %s is %s, not a draft" % (name, mailing.state)
    mailing.check(ctx)
    by = mailing.approvers()
    if who.lower() in (a.lower() for a in by):
        return False, "mailing %s: %s approved it already; Approvers = %d" % (name, who, mailing.needed())
    by.append(who)
    changes = {"ApprovedBy": ", ".join(by)}
    if len(by) >= mailing.needed():
        changes.update(State="approved", ApprovedAt=ctx.now.replace(tzinfo=None).isoformat(timespec="seconds"))
        said = "mailing %s approved by %s: it goes out as scheduled (%s)" % (name, ", ".join(by),
                                                                             mailing.get("Schedule", "now"))
    else:
        said = "mailing %s: approval 1 of %d, by %s" % (name, mailing.needed(), who)
    ctx.write(os.path.join(mailing.path, "mailing.ini"), mailing.ini_text(**changes).encode("utf-8"))
    return True, said


TRANSITIONS = {"pause": (("approved",), "paused"), "resume": (("paused",), "approved"),
               "cancel": (("draft", "approved", "paused"), "cancelled")}


def change_state(ctx, name, action):
    """PAUSE, RESUME or CANCEL mailing name: (done, what to say)."""
    mailing = Mailing(ctx.site, name, ctx)
    sources, target = TRANSITIONS[action]
    if mailing.state not in sources:
        return False, "mailing %s is %s: %s does not apply" % (name, mailing.state, action.upper())
    ctx.write(os.path.join(mailing.path, "mailing.ini"), mailing.ini_text(State=target).encode("utf-8"))
    return True, "mailing %s is %s" % (name, target)


def show(site, name, ctx=None):
    """Lines describing mailing name (with ctx: as the run's changes leave it)."""
    mailing = Mailing(site, name, ctx)
    made = mailing.deliveries()
    lines = ["mailing %s: %s" % (name, mailing.state),
             "  From: %s" % mailing.get("From"), "  Subject: %s" % mailing.get("Subject"),
             "  Recipients: %s" % mailing.get("Recipients", "recipients.csv"),
             "  Schedule: %s" % mailing.get("Schedule", "now"),
             "  Approvers: %s; approved by: %s" % (mailing.get("Approvers", "1"),
                                                   ", ".join(mailing.approvers()) or "-"),
             "  deliveries made: %d" % len(made)]
    try:
        nxt = mailing.schedule().time(len(made), mailing.approved_at())
        lines.append("  next delivery: %s" % (nxt.isoformat() if nxt else "none"))
    except MailingError as e:
        lines.append("  problem: %s" % e)
    return lines


def test(ctx, name, address):
    """TEST: one merged copy, of the row for address (else the first row), to address."""
    mailing = Mailing(ctx.site, name, ctx)
    template, _, rows = mailing.check(ctx)
    if not rows:
        raise MailingError("no recipient")
    row = next((r for r in rows if r["EMAIL"].lower() == address.lower()), None) or next(iter(rows))
    mailing.send(ctx, template, [row], only=address)
    return "mailing %s: a test copy (the row of %s) went to %s" % (name, row["EMAIL"], address)
