"""DISTRIBUTE type [DD=name] [TO addr ... | TO DD=name] [options] PW=password: a ready
message, from a data set of the job it is in (services/jobs.py), sent to a recipient set
(LISTSERV's RFDR; LISTSERV Maestro's way in).

Types: MAIL (recipients from TO; each copy's To: is its recipient, "Name <address>"),
MAIL-MERGE (TO DD= is a table: a header row naming its columns, EMAIL among them, then
one row a recipient, tab- or comma-separated; {{COLUMN}} in the subject and every text
part is replaced by the recipient's value), RFC822 (recipients from the data's To: and
Cc:, the data sent as it is), POST (the data posted to each list of TO, LISTSERV
Maestro's way of posting: as a post of the author the job's password proved, through
all the list's rules, a Moderated list holding it for its moderators; with a PostMaster's
PRE-APPROVED=YES as if a moderator had approved it, the list's size limit still
applying). FILE (z/VM's) is not offered.

TO DD=name (default TO DD=TO): one recipient a line, "address [name] [BSMTP|PROBE]".
BSMTP recipients share one multi-recipient envelope (and one copy, its To: as the data
has it); others have an envelope and a copy each; a PROBE envelope's return path is a
tagged VERP address of the robot (policy.bounces.probe_sender), whose bounce names that
recipient to the job's sender.

Options: ACK=NONE|MAIL|MSG (MAIL, MSG: the reply carries a delivery summary), CANON=YES
(TO lines are addresses only), DEBUG=YES (the plan told, nothing sent), TRACE=YES (sent,
and the plan told), DKIM=YES|NO (sign with [DKIM]'s key or not; default YES when one is
set), PRIO=*|0-99 and INFORM=MSG|MAIL (accepted; nothing to do for mail); a PostMaster's
FROM=address or FROM=DD=name (the envelope sender: where bounces go; not for POST, whose
copies go out from the list's own bounce address) and PRE-APPROVED=YES (POST only).

Rights: [Security] DIST_ALLOWED_USERS, PostMasters and the SuperUser, always with their
personal password (SETPASS); anyone else is refused and the attempt audited.
"""

import csv
import email.utils
import hashlib
import io

from tristero.commands.grammar import Rest
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.core import messages, personalise
from tristero.model import audit, lists, spools
from tristero.policy import bounces, rights
from tristero.services import mailings

TYPES = ("MAIL", "MAIL-MERGE", "RFC822", "POST", "FILE")
OPTIONS = {"ACK": ("NONE", "MAIL", "MSG"), "CANON": ("YES", "NO"), "DEBUG": ("YES", "NO"),
           "TRACE": ("YES", "NO"), "DKIM": ("YES", "NO"), "INFORM": ("MSG", "MAIL"),
           "PRE-APPROVED": ("YES", "NO"), "PRIO": None, "PRIOR": None, "FROM": None, "AV": None}
POSTMASTER_OPTIONS = ("FROM", "PRE-APPROVED")
ANYWHERE = {"PRIO", "PRIOR", "INFORM"}
# Recipients of one job at the most.
MAX_RECIPIENTS = 100000
# Plan lines told (DEBUG, TRACE) at the most.
MAX_PLAN = 200
# Fields that name, beside From, who a message is sent by ("on behalf of").
BEHALF = ("Sender", "Resent-From", "Resent-Sender")


class Refused(Exception):
    """The job's DISTRIBUTE cannot be done: status and why."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status, self.why = status, why


def allowed_users(cfg):
    return {a.lower() for a in cfg.get("Security", "DIST_ALLOWED_USERS")}


def may_distribute(ctx, who, password):
    """None when who may distribute with password, else why not (audited by the caller)."""
    if rights.unproven(ctx, who):
        return ctx.text(rights.UNPROVEN_AUTHOR, who)
    if who.lower() not in allowed_users(ctx.config) and not rights.privileged(ctx, who):
        return ctx.text("distribute.not-allowed", who)
    if not rights.password_of(ctx, who):
        return ctx.text("distribute.no-password", who, address=who)
    return rights.password_refusal(ctx, who, password)


@register
class Distribute(Command):
    names = ("DISTRIBUTE", "DISTRIBUT", "DIST")
    dialect = Dialect.LISTSERV
    order = 340
    usage = "DISTRIBUTE type [DD=name] [TO addr ... | TO DD=name] [options] PW=password"
    help = ("Send a message from a data set of a command job to a set of recipients (MAIL, "
            "MAIL-MERGE, RFC822) or post it to lists (POST); for DIST_ALLOWED_USERS and PostMasters, "
            "with their password.")
    audience = Audience.POSTMASTER
    grammar = (Rest("words"),)
    texts = {
        "distribute.not-allowed": "only the addresses of [Security] DIST_ALLOWED_USERS and the PostMasters "
                                  "may DISTRIBUTE",
        "distribute.no-password": "DISTRIBUTE needs your personal password, and none is set for {address} "
                                  "(a PostMaster sets one: SETPASS password FOR {address})",
        "distribute.no-job": "DISTRIBUTE sends a data set of a command job: send it in a job "
                             "(//name JOB Echo=No, the command, then //DATA DD *,EOF ... EOF)",
        "distribute.bad-word": "{word}: {why}",
        "distribute.type": "the type is MAIL, MAIL-MERGE, RFC822 or POST",
        "distribute.not-offered": "DISTRIBUTE {type} is not offered here (MAIL, MAIL-MERGE, RFC822 and POST are)",
        "distribute.not-a-list": "{name}: DISTRIBUTE POST sends to lists, and this site has no list {name}",
        "distribute.post-only": "{option}= is for DISTRIBUTE POST only",
        "distribute.not-for-post": "{option}= does not apply to DISTRIBUTE POST (a list's post goes out "
                                   "from the list's own bounce address)",
        "distribute.post-plan": "POST to {list} ({address}): {how}",
        "distribute.post-pre-approved": "pre-approved: its moderators are passed over",
        "distribute.post-as-author": "as a post of {author}: the list's rules and moderators apply",
        "distribute.post-as-other": "the data's From ({author}) is not your address: a post as another goes "
                                    "with PRE-APPROVED=YES (without it the list's answers would go to them)",
        "distribute.post-again": "{list}: this message posts the same data set there already",
        "distribute.posted": "POST distribution: handed to {count} list(s): {lists}",
        "distribute.option": "not an option of DISTRIBUTE (ACK, CANON, DEBUG, TRACE, DKIM, PRIO, INFORM, FROM, "
                             "PRE-APPROVED)",
        "distribute.value": "{option} is one of {values}",
        "distribute.postmaster-option": "{option}= is for PostMasters",
        "distribute.no-dataset": "the job holds no data set {name}",
        "distribute.no-dkim": "DKIM=YES: the site has no [DKIM] key to sign with",
        "distribute.bad-recipient": "data set {name}, line {number}: {why}",
        "distribute.not-address": "{address} is not a mail address this site can send to",
        "distribute.bsmtp-probe": "BSMTP and PROBE exclude each other",
        "distribute.no-recipients": "no recipient: nothing to send",
        "distribute.too-many": "at most {limit} recipients in one job",
        "distribute.bad-data": "the data set {name} is not a mail message: {why}",
        "distribute.forged": "the data's From or Sender ({author}) is not your address: only a PostMaster sends "
                             "a message as another",
        "distribute.no-email-column": "the first line of {name} names the columns, and none is EMAIL",
        "distribute.missing-column": "the message uses {{{{{column}}}}}, and {name} has no such column",
        "distribute.row-width": "data set {name}, line {number}: {found} value(s) for {wanted} column(s)",
        "distribute.plan": "{kind} envelope from <{sender}> to {count} recipient(s): {recipients}",
        "distribute.debug": "DEBUG=YES: nothing was sent.",
        "distribute.done": "{type} distribution: {copies} cop(y/ies) in {envelopes} envelope(s) "
                           "to {count} recipient(s)",
        "distribute.ack": "Delivery summary: {count} recipient(s), {bsmtp} in one BSMTP envelope, "
                          "{single} in envelopes of their own, {probes} probed ({sender} takes the bounces)",
    }

    def run(self, s, args):
        ctx = s.ctx
        what = "DISTRIBUTE " + " ".join(messages.clean(w, 60) for w in args.words[:1])
        why = may_distribute(ctx, s.sender, s.password_now())
        if why:
            s.result("refused", why)
            audit.security(ctx, s.sender, None, what, "refused: " + why)
            ctx.act("refused %s to %s: %s" % (what, s.sender, why), "rights")
            return
        try:
            plan = self.plan(s, list(args.words))
        except Refused as e:
            s.result(e.status, e.why)
            audit.security(ctx, s.sender, None, what, "%s: %s" % (e.status, e.why))
            return
        audit.security(ctx, s.sender, None, what, "done")
        if plan.options.get("DEBUG") == "YES" or plan.options.get("TRACE") == "YES":
            for line in plan.lines(s)[:MAX_PLAN]:
                s.say(line)
        if plan.options.get("DEBUG") == "YES":
            s.result("ok", s.text("distribute.debug"))
            return
        if plan.type == "POST":
            self.post(s, plan)
            return
        job = None
        if plan.options.get("ACK", "NONE") != "NONE":
            # A report of this delivery, as of a mailing's: each copy of its own with a
            # return path that names the job and the recipient, unless FROM= said where.
            recipients = [a for a, _, _ in plan.recipients]
            job = mailings.record_job(ctx, s.sender, plan.message.get("Subject", ""), recipients, plan.sender)
            if job and plan.sender.lower() == s.sender.lower():
                plan.report = lambda address: bounces.mailing_sender(ctx, job, 1, address)
            if job:     # a PROBE's failure is told at once, and noted in the report too
                plan.probe = lambda address, record: bounces.probe_sender(ctx, s.sender, address, job, record)
        copies = plan.send(ctx)
        if plan.options.get("ACK", "NONE") != "NONE":
            s.say(plan.ack(s))
            if job:
                s.say(s.text("reports.job", report="mailings/%s/report-1.csv" % job))
        s.result("ok", s.text("distribute.done", type=plan.type, copies=copies, envelopes=plan.envelopes(),
                              count=len(plan.recipients)))
        ctx.act("DISTRIBUTE %s by %s: %d recipient(s)" % (plan.type, s.sender, len(plan.recipients)), "DISTRIBUTE")

    @staticmethod
    def post(s, plan):
        """Each list's post handed to the posting steps (mail.routing, after the commands);
        what comes of it (sent, held, refused) its author is told as of any post."""
        ctx = s.ctx
        pre = plan.options.get("PRE-APPROVED") == "YES"
        # Named by the list and the data set as given: the same POST repeated in a message
        # (up to MaxCommands) is posted once, not once a command.
        handed = {name for _, _, _, name, _ in ctx.outcome.distributed_posts}
        again, done, big = [], [], []
        for listname in plan.lists:
            name = "distribute/%s/%s" % (s.m.name, hashlib.sha256(listname.encode("utf-8") + b"\0" + plan.given)
                                         .hexdigest()[:16])
            if name in handed:
                again.append(listname)
                continue
            limit = ctx.config.list_value(listname, "MaxMessageSize")
            if pre and len(plan.data) > limit:
                # Told here: the posting steps would tell the data's From, who may not be the sender.
                big.append(s.text("distribute.bad-word", word=listname, why=s.text(
                    "posting.too-big", size=len(plan.data), limit=limit)))
                continue
            ctx.outcome.distributed_posts.append((listname, plan.author, plan.data, name, pre))
            done.append(listname)
            ctx.act("DISTRIBUTE POST to %s by %s%s" % (listname, s.sender, " (pre-approved)" if pre else ""),
                    "DISTRIBUTE")
        if not done:
            s.result("error", "\n".join(big + ([s.text("distribute.post-again", list=", ".join(again))]
                                               if again else [])))
            return
        for line in big:
            s.say(line)
        for listname in again:
            s.say(s.text("distribute.post-again", list=listname))
        s.result("ok", s.text("distribute.posted", count=len(done), lists=", ".join(done)))

    def plan(self, s, words):
        """The Plan words make (type, source, dest, options), every check done; Refused."""
        ctx = s.ctx
        job = getattr(s, "job", None)
        if job is None:
            raise Refused("error", s.text("distribute.no-job"))
        if not words or words[0].upper() not in TYPES:
            raise Refused("error", s.text("distribute.type"))
        kind = words[0].upper()
        if kind == "FILE":
            raise Refused("error", s.text("distribute.not-offered", type=kind))
        source, dest, names, options = "DATA", None, [], {}
        rest = words[1:]
        in_to = False
        for word in rest:
            key, eq, value = word.partition("=")
            key = key.upper()
            if eq and key == "DD" and not in_to and dest is None and not names:
                source = value.upper()
                continue
            # PRIO(R)= and INFORM= may stand anywhere (the manual); other options follow TO.
            if word.upper() == "TO" and dest is None and not names and not set(options) - ANYWHERE:
                in_to = True
                continue
            if in_to and eq and key == "DD" and not names and dest is None:
                dest = value.upper()
                continue
            if in_to and not eq:
                names += [w for w in word.split(",") if w]
                continue
            in_to = False
            if not eq or key not in OPTIONS:
                raise Refused("error", s.text("distribute.bad-word", word=messages.clean(word, 60),
                                              why=s.text("distribute.option")))
            value = value.upper() if key != "FROM" or not value.upper().startswith("DD=") else value
            choices = OPTIONS[key]
            if key in ("PRIO", "PRIOR") and not (value == "*" or (value.isdigit() and int(value) <= 99)):
                choices = ("*", "0-99")
            if key == "AV":
                raise Refused("error", s.text("distribute.value", option="AV", values="NO"))
            if choices and value not in choices:
                raise Refused("error", s.text("distribute.value", option=key, values="|".join(choices)))
            if key in POSTMASTER_OPTIONS and not rights.privileged(ctx, s.sender):
                raise Refused("refused", s.text("distribute.postmaster-option", option=key))
            options[key] = word.partition("=")[2] if key == "FROM" else value
        if dest is None and not names:
            dest = "TO"
        if "PRE-APPROVED" in options and kind != "POST":
            raise Refused("error", s.text("distribute.post-only", option="PRE-APPROVED"))
        if "FROM" in options and kind == "POST":
            raise Refused("error", s.text("distribute.not-for-post", option="FROM"))
        if options.get("DKIM") == "YES" and not getattr(ctx, "signer", None):
            raise Refused("error", s.text("distribute.no-dkim"))
        data = self.dataset(s, job, source)
        plan = Plan(kind, options, "\n".join(data) + "\n")
        # A Bcc: names recipients the others must not see: never written in a copy.
        block, body = messages.split_raw(plan.data)
        plan.data = b"".join(raw for name, raw in messages.raw_headers(block)
                             if name.lower() not in ("bcc", "resent-bcc")) + b"\n" + body
        try:
            plan.message = messages.parse(plan.data)
        except Exception as e:
            raise Refused("error", s.text("distribute.bad-data", name=source, why=messages.clean(str(e), 100)))
        if not plan.message.get("From") or not plan.data.split(b"\n\n", 1)[1:]:
            raise Refused("error", s.text("distribute.bad-data", name=source, why="no From: field, or no body"))
        authors = messages.addresses(plan.message, "From")
        author = authors[0][1] if authors else ""
        # Every address of From (not only the first), and of the fields mail readers show
        # as "on behalf of", is the sender's, but for a PostMaster.
        others = [a for _, a in authors + messages.addresses(plan.message, *BEHALF)
                  if a.lower() != s.sender.lower()]
        if (others or not authors) and not rights.privileged(ctx, s.sender):
            raise Refused("refused", s.text("distribute.forged", author=messages.clean((others or [author])[0], 80)))
        plan.author = author
        plan.sender = self.sender(s, job, options.get("FROM")) or s.sender
        if kind == "POST":
            if author.lower() != s.sender.lower() and options.get("PRE-APPROVED") != "YES":
                # A post that is its author's gets its answers (held, refused) to them.
                raise Refused("error", s.text("distribute.post-as-other", author=messages.clean(author, 80)))
            plan.lists = self.lists(s, self.dataset(s, job, dest) if dest else names, dest or "TO")
            plan.given = plan.data
            plan.data = for_posting(ctx, plan.data)
            return plan
        if kind == "RFC822":
            plan.recipients = [(a, "", "BSMTP") for _, a in messages.addresses(plan.message, "To", "Cc")]
        elif kind == "MAIL-MERGE":
            if dest is None:
                raise Refused("error", s.text("distribute.no-dataset", name="TO DD="))
            plan.recipients, plan.rows, columns = self.table(s, self.dataset(s, job, dest), dest)
            used = personalise.columns(plan.data.decode("utf-8", "replace"))
            for part in plan.message.walk():
                if not part.is_multipart() and part.get_content_maintype() == "text":
                    used |= personalise.columns(messages.decode_part(part))
            missing = sorted(used - set(columns))
            if missing:
                raise Refused("error", s.text("distribute.missing-column", column=missing[0], name=dest))
        else:
            lines = self.dataset(s, job, dest) if dest else names
            plan.recipients = self.recipients(s, lines, dest or "TO", options.get("CANON") == "YES" or not dest)
        for address, _, _ in plan.recipients:
            if not messages.is_address(address) or not spools.valid_envelope_address(address):
                raise Refused("error", s.text("distribute.not-address", address=messages.clean(address, 80)))
        # An address named twice gets one copy (its first line's), not one a line.
        first = {}
        for i, (address, _, _) in enumerate(plan.recipients):
            first.setdefault(address.lower(), i)
        kept = sorted(first.values())
        plan.recipients = [plan.recipients[i] for i in kept]
        plan.rows = [plan.rows[i] for i in kept] if plan.rows else plan.rows
        if not plan.recipients:
            raise Refused("error", s.text("distribute.no-recipients"))
        if len(plan.recipients) > MAX_RECIPIENTS:
            raise Refused("error", s.text("distribute.too-many", limit=MAX_RECIPIENTS))
        plan.sign = options.get("DKIM", "YES") == "YES"
        plan.probe = lambda address, record: bounces.probe_sender(ctx, s.sender, address, record=record)
        return plan

    @staticmethod
    def dataset(s, job, name):
        data = job.dataset(name)
        if data is None:
            raise Refused("error", s.text("distribute.no-dataset", name=messages.clean(name, 20)))
        return data

    def sender(self, s, job, given):
        """The envelope sender FROM= names (an address, or DD=name whose first line starts
        with one), or None."""
        if not given:
            return None
        if given.upper().startswith("DD="):
            lines = self.dataset(s, job, given[3:])
            given = lines[0].split()[0] if lines and lines[0].split() else ""
        if not messages.is_address(given) or not spools.valid_envelope_address(given):
            raise Refused("error", s.text("distribute.not-address", address=messages.clean(given, 80)))
        return given

    @staticmethod
    def lists(s, lines, name):
        """The lists (once each) TO lines name, by name or by address on a domain of the
        site; one the sender may not see is no list to them."""
        ctx, found = s.ctx, []
        for number, line in enumerate(lines, 1):
            for word in line.split():
                local, at, domain = word.rpartition("@")
                listname = lists.find(ctx.config, local if at else word) \
                    if not at or domain.lower() in (d.lower() for d in ctx.domains()) else None
                if not listname or not rights.sees(ctx, s.sender, listname):
                    raise Refused("error", s.text("distribute.bad-recipient", name=name, number=number, why=s.text(
                        "distribute.not-a-list", name=messages.clean(word, 80))))
                if listname not in found:
                    found.append(listname)
        if not found:
            raise Refused("error", s.text("distribute.no-recipients"))
        return found

    @staticmethod
    def recipients(s, lines, name, canon):
        """[(address, name, "BSMTP"|"PROBE"|"")] of TO lines: "address [name] [BSMTP|PROBE]"
        (canon: every word an address)."""
        found = []
        for number, line in enumerate(lines, 1):
            words = line.split()
            if not words:
                continue
            if canon:
                found += [(w, "", "") for w in words]
                continue
            how = ""
            while len(words) > 1 and words[-1].upper() in ("BSMTP", "PROBE"):
                if how and how != words[-1].upper():
                    raise Refused("error", s.text("distribute.bad-recipient", name=name, number=number,
                                                  why=s.text("distribute.bsmtp-probe")))
                how = words.pop().upper()
            found.append((words[0], " ".join(words[1:]), how))
            if len(found) > MAX_RECIPIENTS:
                raise Refused("error", s.text("distribute.too-many", limit=MAX_RECIPIENTS))
        return found

    @staticmethod
    def table(s, lines, name):
        """(recipients, rows) of a MAIL-MERGE table: a header row, then one row a recipient."""
        lines = [l for l in lines if l.strip()]
        if not lines:
            raise Refused("error", s.text("distribute.no-recipients"))
        delimiter = "\t" if "\t" in lines[0] else ","
        reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        try:
            return Distribute._rows(s, reader, name)
        except csv.Error as e:          # a field past csv's limit (128 KiB), a NUL
            raise Refused("error", s.text("distribute.bad-recipient", name=name, number=reader.line_num,
                                          why=messages.clean(str(e), 100)))

    @staticmethod
    def _rows(s, reader, name):
        header = [h.strip().upper() for h in next(reader)]
        if "EMAIL" not in header:
            raise Refused("error", s.text("distribute.no-email-column", name=name))
        rows, recipients = [], []
        for number, row in enumerate(reader, 2):
            if len(row) != len(header):
                raise Refused("error", s.text("distribute.row-width", name=name, number=number, found=len(row),
                                              wanted=len(header)))
            values = dict(zip(header, (v.strip() for v in row)))
            rows.append(values)
            recipients.append((values["EMAIL"], values.get("NAME", ""), ""))
            if len(rows) > MAX_RECIPIENTS:
                raise Refused("error", s.text("distribute.too-many", limit=MAX_RECIPIENTS))
        return recipients, rows, header


class Plan:
    """What one DISTRIBUTE sends: the data, the recipients, the envelopes."""

    def __init__(self, kind, options, data):
        self.type, self.options = kind, options
        self.data = data.encode("utf-8")
        self.message = None
        self.sender = ""
        self.recipients = []       # (address, name, "BSMTP" | "PROBE" | "")
        self.rows = []             # MAIL-MERGE: one row ({COLUMN: value}) a recipient
        self.sign = True
        self.probe = None
        self.report = None         # ACK=: the return path of a copy of its own, by recipient
        self.author = ""           # the address of the data's From
        self.lists = []            # POST: the lists it is posted to
        self.given = b""           # POST: the data as the job gave it (before for_posting)

    def groups(self, record=False):
        """[(kind, envelope sender, [(address, name, row)])]: the BSMTP recipients in one
        envelope, each other one alone (a PROBE with its VERP return path)."""
        shared = [(a, n, None) for a, n, how in self.recipients if how == "BSMTP"] if self.type != "MAIL-MERGE" else []
        out = [("BSMTP", self.sender, shared)] if shared else []
        for i, (address, name, how) in enumerate(self.recipients):
            if how == "BSMTP" and self.type != "MAIL-MERGE":
                continue
            row = self.rows[i] if self.rows else None
            if how == "PROBE":
                out.append(("PROBE", self.probe(address, record) or self.sender, [(address, name, row)]))
            else:
                out.append(("single", (self.report and self.report(address)) or self.sender,
                            [(address, name, row)]))
        return out

    def envelopes(self):
        return len(self.groups())

    def lines(self, s):
        if self.type == "POST":
            how = s.text("distribute.post-pre-approved") if self.options.get("PRE-APPROVED") == "YES" \
                else s.text("distribute.post-as-author", author=self.author)
            return [s.text("distribute.post-plan", list=n, address=lists.address(s.ctx.config, n), how=how)
                    for n in self.lists]
        out = []
        for kind, sender, recipients in self.groups():
            shown = ", ".join(a for a, _, _ in recipients[:5]) + (" ..." if len(recipients) > 5 else "")
            out.append(s.text("distribute.plan", kind=kind, sender=sender, count=len(recipients), recipients=shown))
        return out

    def ack(self, s):
        count = {k: 0 for k in ("BSMTP", "PROBE", "")}
        for _, _, how in self.recipients:
            count[how] += 1
        return s.text("distribute.ack", count=len(self.recipients), bsmtp=count["BSMTP"], single=count[""],
                      probes=count["PROBE"], sender=self.sender)

    def send(self, ctx):
        """Hand every envelope to ctx.send; the number of copies made."""
        if self.type == "RFC822":
            ctx.send(self.sender, [a for a, _, _ in self.recipients], self.data, sign=self.sign)
            return 1
        merging = self.type == "MAIL-MERGE"
        fields = ("To", "Subject") if merging else ("To",)
        template = personalise.Template(self.data, wanted=(lambda text: "{{" in text) if merging else
                                        (lambda text: False), fields=fields)
        subject = self.message.get("Subject", "")
        written_to = self.message.get("To", "").strip()
        copies = 0
        for kind, sender, recipients in self.groups(record=True):
            if kind == "BSMTP":
                to = written_to or "undisclosed-recipients:;"
                copy = template.render(None, {"To": to})
            else:
                address, name, row = recipients[0]
                to = personalise.recipient(name, address)
                if merging:
                    copy = template.render(lambda text, subtype, row=row: personalise.fill(text, row, subtype),
                                           {"To": to, "Subject": personalise.fill(subject, row)})
                else:
                    copy = template.render(None, {"To": to})
            ctx.send(sender, [a for a, _, _ in recipients], copy, sign=self.sign)
            copies += 1
        return copies


# Fields of a DISTRIBUTE POST's data that only the site's own mail server may write
# (results it checked, seals over them): a job's author could forge them.
MTA_FIELDS = messages.MTA_TRACE | {"authentication-results", "arc-seal", "arc-message-signature",
                                   "arc-authentication-results", "received"}


def for_posting(ctx, data):
    """A POST's data as the posting steps take it: the fields of MTA_FIELDS removed, a
    Message-ID and a Date given when it has none."""
    block, body = messages.split_raw(data)
    kept = [(name, raw) for name, raw in messages.raw_headers(block) if name.lower() not in MTA_FIELDS]
    have = {name.lower() for name, _ in kept}
    added = b""
    if "message-id" not in have:
        added += b"Message-ID: " + ctx.ids.message_id(ctx.ids.next()).encode("ascii") + b"\n"
    if "date" not in have:
        added += b"Date: " + email.utils.format_datetime(ctx.now).encode("ascii") + b"\n"
    return added + b"".join(raw for _, raw in kept) + b"\n" + body
