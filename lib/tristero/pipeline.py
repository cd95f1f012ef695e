"""The pipeline: what happens to one inbound message, step by step.

Each step takes the Context and the Inbound message and either returns None
(go on) or a Disposition that ends the message's journey. The order is the
table STEPS, read top to bottom. Nothing here writes to disk: steps and the
handlers they call collect an Outcome (mail to send, files to write, lines
to log) that the batch commits in one place.
"""

import collections
import email.utils

from . import lists, logbook, messages, quotas, redact, rights, routing, screening
from .messages import clean


class Disposition:
    """How a message's journey ended: kind is done, dropped or failed."""

    def __init__(self, kind, action, rule):
        self.kind, self.action, self.rule = kind, action, rule


def failed(reason, rule):
    return Disposition("failed", reason, rule)


class Outgoing:
    """One message to send: envelope sender, recipients (may be a lazy iterable), bytes."""

    def __init__(self, sender, recipients, data):
        self.sender, self.recipients, self.data = sender, recipients, data


class Outcome:
    """Everything one message causes, collected before anything is written."""

    def __init__(self):
        self.mails = []
        self.appends = []      # (path, bytes)
        self.writes = []       # (path, bytes)
        self.deletes = []      # paths
        self.folders = []      # paths of folders to create
        self.actions = []      # (what was done, the rule or setting that decided it)


class Inbound:
    """An inbound message and what the pipeline learns about it."""

    def __init__(self, name, raw):
        self.name = name
        self.raw = raw
        self.msg = None
        self.id = name
        self.author = ""
        self.author_name = ""
        self.author_recovered = False  # the author was read from the text (rights.unproven)
        self.return_path = None
        self.destinations = []
        self.automatic = None      # why it is automatic mail, or None
        self.own = None            # why it is mail the site itself sent, come back (loops)
        self.redirects = {}        # destination -> (handler, list) chosen by screening
        self.report = None         # whether it looks like a delivery report (bounces.is_report)
        self.notes = []            # what reading it taught (charset guesses ...)
        self.too_many_parts = None  # (why, rule) it was not read whole (MaxParts), or None
        self._text = None
        self._subject = None

    def text(self):
        """The message's readable text (decoded once)."""
        if self._text is None:
            self._text = messages.body_text(self.msg, self.notes)
        return self._text

    def subject(self):
        if self._subject is None:
            self._subject = messages.header(self.msg, "Subject")
        return self._subject


# Characters of a reply's subject when it goes to a stranger (Context.stranger).
STRANGER_SUBJECT = 60


class Context:
    """What the steps and handlers work with: the site, its state, the clock, the outcome."""

    def __init__(self, site, config, state, now, log, ids, dry_run=False):
        self.site = site
        self.dry_run = dry_run
        self._cookie_key = None
        self.config = config
        self.state = state
        self.now = now
        self.log = log
        self.ids = ids
        self.outcome = Outcome()
        self.txn = None            # the open transaction (read by repository: read your writes)
        # Subscriptions made by each sender in this run (MaxSessionSubs), and
        # the addresses sent a confirmation (one each per run: no mail bombing).
        self.session_subs = collections.Counter()
        self.confirmations_sent = set()
        # The pattern sections compiled, built once per run (see screening).
        self.compiled = {}
        # Of the message being processed: its author when read from its text
        # (rights.unproven), and the users whose password it gave wrong (rights).
        self.unproven = None
        self.password_failed = set()
        # The sent index (see bounces): read when a report first needs it; what this run sent.
        self.sent_index = None
        self.sent_now = set()

    def cookie_key(self):
        """The site's cookie secret; a dry run that finds none uses a throw-away one
        rather than write tristero.key."""
        if self._cookie_key is None:
            import os
            import secrets
            from . import cookies
            if self.dry_run and not os.path.exists(cookies.key_path(self.site)):
                self._cookie_key = secrets.token_bytes(32)
            else:
                self._cookie_key = cookies.key(self.site)
        return self._cookie_key

    @property
    def domain(self):
        return self.config.globals("Domain")

    def domains(self):
        return [self.domain] + self.config.globals("Domains")

    def robot_address(self):
        return "%s@%s" % (self.config.globals("ListProcName")[0].lower(), self.domain)

    def robot_from(self):
        return email.utils.formataddr((self.config.globals("ServerName"), self.robot_address()))

    def ours(self, address):
        return address.rpartition("@")[2].lower() in self.domains()

    # --- collecting the outcome ---

    def act(self, action, rule):
        """Record what was done and which rule or setting decided it."""
        self.outcome.actions.append((action, rule))
        self.log.log(logbook.ACTION, "  %s (%s)" % (action, rule))

    def send(self, sender, recipients, data):
        self.outcome.mails.append(Outgoing(sender, recipients, data))

    def append(self, path, data):
        self.outcome.appends.append((path, data))

    def write(self, path, data):
        # The commit stages writes before deletes: a file written after its
        # removal (KILL, then PUT) must not be removed with the old one.
        if path in self.outcome.deletes:
            self.outcome.deletes.remove(path)
        self.outcome.writes.append((path, data))

    def delete(self, path):
        self.outcome.deletes.append(path)

    def mkdir(self, path):
        self.outcome.folders.append(path)

    def message(self, to, subject, text, in_reply_to=None, kind="auto-replied", headers=()):
        """A message from the robot (RFC 3834 marked), as an EmailMessage."""
        extra = [("Auto-Submitted", kind), ("X-Loop", self.robot_address())]
        in_reply_to = messages.message_id_text(in_reply_to)
        if in_reply_to:
            extra += [("In-Reply-To", in_reply_to), ("References", in_reply_to)]
        return messages.new_message(self.robot_from(), to, subject, text, self.now,
                                    self.ids.message_id(self.ids.next()), extra + list(headers))

    def send_message(self, msg, recipients, sender=""):
        """Send an EmailMessage; robot mail goes with the null sender (RFC 3834)."""
        self.send(sender, list(recipients), messages.serialize(msg))

    def stranger(self, who):
        """True when who is neither a member nor the owner of a list here, nor a PostMaster
        or the SuperUser (an author read from the text is a stranger): a From anyone
        can forge, whom replies must not flood (MaxStrangerReplies)."""
        if rights.unproven(self, who):
            return True
        if rights.privileged(self, who):
            return False
        for name in self.config.list_names():
            if rights.is_owner(self.config, who, name) or (
                    lists.number(self.config, name) and rights.is_member(self.state, self.config, who, name)):
                return False
        return True

    def reply(self, inbound, text, subject=None, attachments=()):
        """Answer the author of inbound (never automatic mail); attachments: [(name, bytes)].

        A stranger (see stranger) gets at most MaxStrangerReplies replies a day,
        their subjects cut to STRANGER_SUBJECT characters; beyond, no reply (logged).
        """
        if inbound.automatic:
            self.act("no reply to automatic mail", inbound.automatic)
            return False
        stranger = self.stranger(inbound.author)
        if stranger:
            if not quotas.stranger_reply(self, inbound.author):
                self.act("no reply to %s: %d replies went today to this address, which is not a "
                         "member of a list here" % (inbound.author, self.config.globals("MaxStrangerReplies")),
                         "MaxStrangerReplies")
                return False
        if not subject:
            original = inbound.subject() or "your message"
            subject = original if original.lower().startswith("re:") else "Re: " + original
        if stranger:
            subject = messages.clean(subject, STRANGER_SUBJECT)
        # A subject may hold a command and its password (approve pw ...): never echoed.
        msg = self.message(inbound.author, redact.subject(subject), text, inbound.id)
        if attachments:
            messages.attach(msg, attachments)
        self.send_message(msg, [inbound.author])
        return True

    def notify(self, subject, text):
        """Tell the SuperUser (if there is one)."""
        superuser = self.config.globals("SuperUser")
        if superuser:
            msg = self.message(superuser, subject, text, kind="auto-generated")
            self.send_message(msg, [superuser])


# --- the steps ---

def read(ctx, m):
    if not m.raw or m.raw.isspace():
        return failed("empty file", "not a message")
    try:
        m.msg = messages.read(m.raw, ctx.config.globals("MaxParts"))
    except messages.Unreadable as e:
        return failed("not read: %s" % e, "header bounds")
    except messages.TooManyParts as e:
        # Only its header is read: enough to answer its author (see too_many_parts).
        m.too_many_parts = (str(e), e.rule)
        m.msg = messages.read(messages.split_raw(m.raw)[0] + b"\n", 0)
    if not m.msg.keys():
        return failed("no header fields", "not a message")
    m.id = messages.header(m.msg, "Message-ID") or m.name
    return None


def identify_author(ctx, m):
    found = messages.addresses(m.msg, "From")
    m.author_name, m.author = found[0] if found else ("", "")
    raw = " ".join(_from_fields(m.msg))
    written = "" if m.author else _address_written(m.msg)
    if written and not any(a in raw for a in _AT):
        # "From: =?utf-8?q?boss=40example.org?=": RFC 2047 forbids an address in an
        # encoded word, and the mail server's checks (DMARC) never saw this one.
        return failed("the From field's address %s is not written in it as such (an encoded word, "
                      "where RFC 2047 forbids one)" % written, "author")
    if "=?" in m.author:
        # An encoded word as a local part (=?utf-8?q?j=C3=B6hn?=@...) is no address.
        return failed("the From field holds an address this site cannot use (%s)" % m.author, "author")
    if len(found) > 1:
        # "From: carol@example.com <mallory@evil.example>" reads as two mailboxes; the
        # mail server checked the one in brackets. Which one wrote is not plain: neither.
        return failed("the From field names %d addresses (%s): which one wrote is not plain"
                      % (len(found), ", ".join(a for _, a in found[:3])), "author")
    if not m.author:
        if written:
            # Not answered: the address cannot be used, and Return-Path is anyone's
            # to write (an answer there would be reflected at a stranger). Nor is a
            # From: line of the text read instead: it would pass for the author the
            # mail server checked (DMARC, DKIM) in the From field.
            return failed("the From field holds an address this site cannot use (%s)" % written, "author")
        # The manual's gateway case: a From field with no address at all; the sender
        # is sought in the RFC 822 header quoted in the body. Nothing proves it.
        m.author_name, m.author = screening.recovered_author(ctx, m)
        if not m.author:
            return failed("no valid From address, nor a From: line within the body's first "
                          "PreScanLimit lines", "author")
        m.author_recovered = True
        ctx.unproven = m.author
    rp = m.msg.get("Return-Path")
    if rp is not None:
        rp = clean(rp).strip()
        m.return_path = email.utils.parseaddr(rp)[1] if rp not in ("<>", "") else ""
    return None


def find_destinations(ctx, m):
    """CONTRACT §3: X-Original-To, the topmost Delivered-To, Envelope-To; else To/Cc/Resent-To."""
    # The first of them that names an address of the site: with aliases,
    # X-Original-To may hold the address before the mail server rewrote it.
    envelope = [(name, found[0][1]) for name in ("X-Original-To", "Delivered-To", "Envelope-To")
                for found in [messages.addresses(m.msg, name)] if found]
    for name, address in envelope:
        if ctx.ours(address):
            m.destinations = [address]
            return None
    if envelope:
        return failed("%s says %s, not an address of this site" % envelope[0], "envelope")
    # Every domain of the site has the same addresses: one list at two of them is one list.
    seen = set()
    for _, addr in messages.addresses(m.msg, "To", "Cc", "Resent-To"):
        local = addr.rpartition("@")[0].lower()
        if ctx.ours(addr) and local not in seen:
            seen.add(local)
            m.destinations.append(addr)
    if not m.destinations:
        return failed("no recipient of this site in the headers", "envelope")
    return None


# "@" and the forms of it a From field may show decoded: any of them is an address written.
_AT = ("@", "\uff20", "\ufe6b")


def _from_fields(msg):
    """The From fields' values as written (encoded words not decoded)."""
    try:
        return [str(raw) for key, raw in msg.raw_items() if key.lower() == "from"]
    except Exception:
        return []


def _address_written(msg):
    """What stands in the From fields when one holds an address, however unusable ("" when
    none holds any: none at all, or no "@" in any, raw or decoded). A field too long to be
    a gateway's name, or that does not decode, counts as one holding an address."""
    for raw in _from_fields(msg):
        if len(raw) > messages.HEADER_LIMIT:
            return "a field of %d characters" % len(raw)
        try:
            decoded = str(msg.policy.header_fetch_parse("From", raw))
        except Exception:
            return "unreadable"
        if any(a in raw or a in decoded for a in _AT):
            return messages.clean(decoded.encode("utf-8", "replace").decode("utf-8"), 80)
    return ""


_BULK = ("bulk", "junk", "list")


def detect_automatic(ctx, m):
    """RFC 3834: mail a robot must never answer."""
    msg = m.msg
    auto = messages.header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        m.automatic = "Auto-Submitted: " + auto
    elif messages.header(msg, "Precedence").lower() in _BULK:
        m.automatic = "Precedence: " + messages.header(msg, "Precedence").lower()
    elif m.return_path == "":
        m.automatic = "empty Return-Path"
    elif m.author.split("@")[0].lower() in ("mailer-daemon", "mailer_daemon"):
        m.automatic = "from MAILER-DAEMON"
    elif msg.get_content_type() == "multipart/report":
        m.automatic = "delivery report"
    elif "List-Id" in msg:
        m.automatic = "mail from a list (List-Id)"
    return None


def too_many_parts(ctx, m):
    """A message of more than MaxParts MIME parts (or of parts nested too deep) is not
    read: its author is told why."""
    if m.too_many_parts is None:
        return None
    why, rule = m.too_many_parts
    ctx.reply(m, "Your message was not read: it has %s (%s). Nothing in it was done\n"
                 "or sent on; send it again with fewer parts, its files in one archive\n"
                 "(zip, tar) if it has many.\n" % (why, rule),
              subject="Not read: " + (m.subject()[:60] or "your message"))
    return Disposition("done", "refused: %s (%s)" % (why, rule), rule)


def dispatch(ctx, m):
    """Hand the message to the handler of each address it was sent to."""
    handled = [routing.route(ctx, m, address) for address in m.destinations]
    return Disposition("done" if any(handled) else "dropped",
                       "; ".join(a for a, _ in ctx.outcome.actions[:3]) or "nothing to do",
                       ", ".join(sorted({r for _, r in ctx.outcome.actions})) or "routing")


STEPS = (
    ("read", read),
    ("author", identify_author),
    ("envelope", find_destinations),
    ("automatic", detect_automatic),
    ("loops", screening.own_mail),
    ("parts", too_many_parts),
    ("prescan", screening.prescan),
    ("spam list", screening.spam_list),
    ("kill authors", screening.kill_authors),
    ("kill subjects", screening.kill_subjects),
    ("admin subjects", screening.admin_subjects),
    ("dispatch", dispatch),
)


def process(ctx, m):
    """Run the steps over m; returns its Disposition (the outcome is in ctx.outcome)."""
    ctx.unproven, ctx.password_failed = None, set()
    try:
        for name, step in STEPS:
            result = step(ctx, m)
            if result is not None:
                return result
        return failed("no step decided", "pipeline")
    finally:
        ctx.unproven, ctx.password_failed = None, set()
