"""Bounces: delivery reports read for the recipients that failed, each failure charged fairly.

A report that comes back to a list's bounce address (``owner-LIST@Domain``, or
``owner-LIST+local=domain+TAG@Domain`` with VERP) is read for its failed
recipients: an RFC 3464 report (multipart/report, message/delivery-status)
field by field (Action, Status, Diagnostic-Code); the other common formats
(qmail, classic Exim and Postfix, old Exchange, ...), and an RFC 3464 report
whose fields name no failed recipient, with flufl.bounce, and the text around
each address for the reason. With VERP on for the
list, the bounce address itself names the member, whatever the report says.

Only a report that came with the null envelope sender (RFC 5321 4.5.5; the
receiving mail server writes it as ``Return-Path: <>``, a sender cannot) is
charged to anyone: From MAILER-DAEMON, X-Failed-Recipients and
multipart/report are written by whoever sends the mail, and would let anybody
remove a member. Nor is the null sender proof enough (anyone can send with
it): a report is believed only when it proves that the site sent mail there
(see believe):

* at a VERP address, the TAG: a keyed code (HMAC under the site's key) of
  list and recipient, which only the site can make;
* at ``owner-LIST@`` (and the old untagged VERP form), a Message-ID the
  report quotes that is in the sent index: the Message-ID of every post,
  digest and announcement a list sent in the last BounceDays, one line per
  message (not per recipient) in ``spool/sent/YYYYMMDD.txt``. The member it
  charges must be on the list now, and is charged once for that message at
  the most (a line "KEY LIST charged:MEMBER" in the sent index): anybody may
  post to an Open list with a Message-ID of their choosing, and then forge
  reports quoting it; each charge then costs them a post, seen by the list.

Each failure is one of:

* permanent: charged to the member, at most once a day. The member's score
  (the member option ``BOUNCE n YYYY-MM-DD``) grows by one when the failure
  comes within BounceDays of the one before and starts again at 1 when it
  does not; at BounceScore the member leaves the list for the BounceList and
  the owner is told. A report that the sending server gave up (Action:
  failed) is permanent whatever its status class.
* policy: a refusal of the post rather than of the address (enhanced status
  x.7.x security or policy, x.6.x content, x.3.4 and x.2.3 too big; DMARC,
  SPF, DKIM, spam, block lists, viruses in the diagnostic): charged to the
  post, in the log, never to the member.
* temporary: a delay notice (Action: delayed) or a failure the sender still
  retries: not a failure at all.
"""

from __future__ import annotations

import base64
import datetime
import email.parser
import hashlib
import hmac
import os
import re
from email.message import EmailMessage

import flufl.bounce

from tristero.core import messages
from tristero.model import audit, lists, members
from tristero.model.site import Site
from tristero.policy import addresses

PERMANENT, POLICY, TEMPORARY = "permanent", "policy", "temporary"

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]\d)")
_BASIC = re.compile(r"(?<![\d.#])([245])\d\d(?=[ \t-])")
# Enhanced status (subject, detail) that blame the message, not the mailbox
# (RFC 3463): x.7.x security and policy, x.6.x content, x.3.4 and x.2.3 size.
_POST_SUBJECTS = {"6", "7"}
_POST_CODES = {("3", "4"), ("2", "3")}
_POLICY_WORDS = re.compile(
    r"dmarc|\bspf\b|dkim|spam|\bpolic(?:y|ies)\b|reputation|unsolicited|\brbl\b|\bdnsbl\b|"
    r"block ?list|black ?list|deny ?list|\bblocked\b|virus|malware|phish|content rejected|"
    r"message content|too (?:large|big)|message size", re.I)
_DELAY_WORDS = re.compile(
    r"\bdelayed\b|not yet been delivered|will (?:continue|keep) (?:to )?try|still (?:being )?"
    r"(?:re)?tr(?:y|ying|ied)\b|will be retried|will retry|\bdeferred\b|try again later|"
    r"temporar(?:y|ily)", re.I)
_FAIL_WORDS = re.compile(
    r"undeliverable|could not be delivered|couldn't be delivered|not delivered|delivery failed|"
    r"failed permanently|permanent(?:ly)? (?:error|failure|fatal)|does not exist|doesn't exist|"
    r"user unknown|unknown user|no such user|mailbox unavailable|address rejected", re.I)
# A server that stopped trying: its 4.x.x status was temporary, the failure is not.
_GAVE_UP = re.compile(r"not (?:going to|gonna) try again|giving up|gave up|in the queue too long", re.I)
_URL = re.compile(r"\b(?:https?|ftp)://\S+", re.I)
# No "@" in either part, and an address begins only where a word does: each start
# costs one scan of its word, never a retry from every character of it.
_ADDRESS_IN_TEXT = re.compile(r"(?<![^\s<>()\"',;:@])<?[^\s<>()\"',;:@]+@[^\s<>()\"',;@]+>?")
# A Message-ID field, folded or not, as a report quotes the post's header.
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[!-;=?-~]{1,250}>)", re.I | re.M)
MAX_QUOTED = 20         # Message-IDs of a report looked up in the sent index


class Failure:
    """One recipient a report names: address, kind (PERMANENT, POLICY, TEMPORARY), reason."""

    def __init__(self, address: str, kind: str, reason: str) -> None:
        self.address, self.kind, self.reason = address, kind, reason


class Report:
    """What a delivery report says: its failures, and the post it is about."""

    def __init__(self, failures: list[Failure], original: str, standard: bool) -> None:
        self.failures = failures      # [Failure], one per address
        self.original = original      # Message-ID of the post that failed, or ""
        self.standard = standard      # True: read from RFC 3464 fields

    def verdict(self) -> Failure | None:
        """The one kind that stands for the whole report (VERP): policy first, never
        charging a member for a refusal of the post."""
        kinds = {f.kind for f in self.failures}
        for kind in (POLICY, PERMANENT, TEMPORARY):
            if kind in kinds:
                return next(f for f in self.failures if f.kind == kind)
        return None


# --- reading reports ------------------------------------------------------------

def null_sender(m) -> bool:
    """True when m came with the null envelope sender, as delivery reports do.

    The only sign of a report a sender cannot forge: the mail server that
    delivered m wrote its Return-Path.
    """
    return m.return_path == ""


def is_report(m) -> bool:
    """True when m looks like a delivery report (not merely automatic mail).

    Every sign but the null sender is forgeable: enough not to answer m, never
    enough to act on what it says (null_sender).
    """
    if m.report is None:
        msg = m.msg
        # The raw fields: parsing Content-Type for every message would cost more than all the filters.
        m.report = (m.return_path == "" or m.author.split("@")[0].lower() in ("mailer-daemon", "mailer_daemon",
                                                                               "postmaster")
                    or any(n.lower() == "x-failed-recipients" or (
                        n.lower() == "content-type" and "multipart/report" in str(v).lower())
                        for n, v in msg.raw_items()))
    return m.report


def read(msg: EmailMessage, raw: bytes = b"") -> Report:
    """The Report of a message: RFC 3464 fields when it has them, else flufl.bounce's finds."""
    original = _original_id(raw)
    blocks = [b for part in msg.walk() if part.get_content_type() in
              ("message/delivery-status", "message/global-delivery-status")
              for b in _status_blocks(part)]
    failures = {}
    delivered = False
    for block in blocks:
        failure = _from_block(block)
        delivered = delivered or (failure is None and _delivered(block))
        if failure is not None:
            key = members.address_key(failure.address)
            # Two blocks for one address: a refusal of the post outranks a failure of the
            # address, which outranks a delay (never charge a member for the post's fault).
            if key not in failures or _rank(failure) < _rank(failures[key]):
                failures[key] = failure
    if failures or delivered:
        return Report(list(failures.values()), original, True)
    # No block names a failed recipient (a part with nothing but Reporting-MTA,
    # "Message removed" where the fields should be): the other formats' reading
    # may still find one in the text.
    return Report(_heuristic(msg), original, False)


def _delivered(block):
    """True when a delivery-status block reports a recipient reached (delivered, relayed,
    expanded): a report of success, never read as a failure by the text around it."""
    return (_block_recipient(block) is not None
            and _field(block, "Action").strip().lower().startswith(("delivered", "relayed", "expanded")))


def _rank(failure):
    return (POLICY, PERMANENT, TEMPORARY).index(failure.kind)


def _status_blocks(part):
    """The field blocks of a delivery-status part (the first is about the report itself)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload
    # Sent encoded (base64, quoted-printable) or of a type the parser does not split.
    text = messages.decode_part(part)
    parser = email.parser.HeaderParser(policy=messages.PARSE_POLICY)
    return [parser.parsestr(chunk + "\n") for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))
            if chunk.strip()]


def _field(block, name):
    # Cut before it is parsed (messages.header): a status part sent encoded was not
    # seen by the bounds inbound mail is read within.
    return messages.header(block, name)


def _recipient(value):
    """The address of an Original-Recipient or Final-Recipient field ("rfc822; a@b")."""
    kind, semi, address = value.partition(";")
    address = (address if semi else kind).strip().strip("<>").strip()
    return address if messages.is_address(address) else None


def _block_recipient(block):
    return (_recipient(_field(block, "Original-Recipient")) or _recipient(_field(block, "Final-Recipient"))
            or _recipient(_field(block, "X-Actual-Recipient")))


def _from_block(block):
    address = _block_recipient(block)
    if address is None:
        return None
    action = _field(block, "Action").lower()
    status = _field(block, "Status")
    diagnostic = _field(block, "Diagnostic-Code")
    kind = classify(action, status, diagnostic)
    if kind is None:
        return None
    reason = " ".join(p for p in (status.split()[0] if status else "", diagnostic) if p) or action
    return Failure(address, kind, messages.clean(reason, 300))


def classify(action: str, status: str, diagnostic: str) -> str | None:
    """PERMANENT, POLICY or TEMPORARY for one recipient of an RFC 3464 report; None when
    it reports no failure (delivered, relayed, expanded)."""
    action = action.strip().lower()
    if action.startswith(("delivered", "relayed", "expanded")):
        return None
    if action.startswith("delayed"):
        return TEMPORARY
    failed = action.startswith(("fail", "error")) or (not action and status.strip().startswith("5"))
    if not failed:
        return TEMPORARY if status.strip().startswith("4") else None
    return POLICY if blames_post(status + " " + diagnostic) else PERMANENT


def blames_post(text: str) -> bool:
    """True when a failure's text is a refusal of the post for policy or content."""
    for _, subject, detail in _ENHANCED.findall(text):
        if subject in _POST_SUBJECTS or (subject, detail) in _POST_CODES:
            return True
    # Addresses and links are not the reason: spam@example.com is a mailbox like another.
    words = _URL.sub(" ", _ADDRESS_IN_TEXT.sub(" ", text))
    return bool(_POLICY_WORDS.search(words))


def classify_text(text: str, temporary: bool = False) -> str | None:
    """The kind of failure a report's free text describes (around one address, or the whole
    text of a report to a VERP address); None when it shows no failure."""
    if not temporary and not (_FAIL_WORDS.search(text) or _ENHANCED.search(text) or _BASIC.search(text)
                              or _DELAY_WORDS.search(text)):
        return None
    if blames_post(text):
        return POLICY
    classes = {c for c, _, _ in _ENHANCED.findall(text)} | set(_BASIC.findall(text))
    if temporary or ("5" not in classes and ("4" in classes or _DELAY_WORDS.search(text))
                     and not _GAVE_UP.search(text)):
        return TEMPORARY
    return PERMANENT


def _heuristic(msg):
    """Failures of a report in another format: flufl.bounce finds the addresses, the
    lines around each in the text say why."""
    try:
        temporary, permanent = flufl.bounce.all_failures(msg)
    except Exception:
        # A detector choking on a strange message must not fail the message.
        return []
    text = messages.body_text(msg)
    found = []
    for raw, is_temp in [(a, True) for a in sorted(temporary)] + [(a, False) for a in sorted(permanent)]:
        address = raw.decode("ascii", "replace").strip().strip("<>")
        if not messages.is_address(address):
            continue
        context = _context(text, address)
        kind = classify_text(context, temporary=is_temp) or PERMANENT
        found.append(Failure(address, kind, messages.clean(context, 300) or "(no reason given)"))
    return found


def _context(text, address):
    """The lines of text from the first one naming address to the next blank line (at most 8)."""
    lines = text.splitlines()
    low = address.lower()
    for i, line in enumerate(lines):
        if low in line.lower():
            out = []
            for l in lines[i:i + 8]:
                if out and not l.strip():
                    break
                out.append(l.strip())
            return " ".join(out)
    return ""


def _original_id(raw):
    """The Message-ID of the post a report returns (in its body), or ""."""
    found = quoted_ids(raw, 1)
    return found[0] if found else ""


def quoted_ids(raw: bytes, limit: int = MAX_QUOTED) -> list[str]:
    """The Message-IDs a report quotes in its body (the returned post's header), at most limit."""
    head_end = raw.find(b"\n\n")
    start = head_end + 2 if head_end >= 0 else len(raw)
    found = []
    for match in _MESSAGE_ID.finditer(raw, start):
        found.append(match.group(1).decode("ascii", "replace"))
        if len(found) >= limit:
            break
    return found


# --- VERP ---------------------------------------------------------------------

TAG_LENGTH = 8
_TAG = re.compile(r"[a-z2-7]{%d}" % TAG_LENGTH, re.I)


def verp_tag(ctx, listname: str, recipient: str) -> str:
    """The keyed tag of listname's VERP address for recipient: 8 characters of base32
    (lower case, so that a mail server that lowers local parts keeps it valid)
    from an HMAC-SHA256 under the site's key of the list and the address (case
    ignored). Nobody without tristero.key can make one."""
    text = "\0".join(("VERP", lists.local_part(listname), members.address_key(recipient)))
    digest = hmac.new(ctx.cookie_key(), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


def envelope_sender(ctx, listname: str, recipient: str) -> str:
    """The reverse path of a post to recipient: owner-LIST+local=domain+TAG@Domain (VERP),
    or owner-LIST@Domain when that local part would pass RFC 5321's 64 octets."""
    base = "owner-" + lists.local_part(listname)
    local, at, domain = recipient.rpartition("@")
    verp = "%s+%s=%s+%s" % (base, local, domain, verp_tag(ctx, listname, recipient))
    if at and len(verp.encode("utf-8")) <= 64:
        return "%s@%s" % (verp, ctx.domain)
    return "%s@%s" % (base, ctx.domain)


def verp_parts(address: str) -> tuple[str, str | None] | None:
    """(recipient, tag or None) of a VERP bounce address: owner-LIST+local=domain+TAG@...
    or the old untagged owner-LIST+local=domain@...; None when it is neither."""
    local = address.rpartition("@")[0]
    rest = local.partition("+")[2]
    if not rest:
        return None
    # A domain holds no "+" and a tag no "=": the last "+" is the tag's only when
    # what follows it has the tag's form.
    named, plus, tag = rest.rpartition("+")
    if plus and "=" in named and _TAG.fullmatch(tag):
        rest = named
    else:
        tag = None
    left, eq, domain = rest.rpartition("=")
    candidate = "%s@%s" % (left, domain)
    return (candidate, tag) if eq and messages.is_address(candidate) else None


def verp_recipient(address: str) -> str | None:
    """The member a VERP bounce address names (tag or no tag), or None."""
    parts = verp_parts(address)
    return parts[0] if parts else None


# --- DISTRIBUTE's PROBE envelopes ----------------------------------------------------

def probe_base(config) -> str:
    """The local part (before its +suffix) of the return paths of PROBE envelopes."""
    return config.globals("ListProcName")[0].lower() + "-probe"


def probes_file(ctx) -> str:
    """Where each PROBE is recorded: tag, recipient, the job's sender, date and, for a job
    with a delivery report (ACK=), the job's mailing (tab-separated)."""
    return os.path.join(ctx.site.home, "distribute", "probes.txt")


def probe_tag(ctx, invoker: str, recipient: str) -> str:
    text = "\0".join(("PROBE", members.address_key(invoker), members.address_key(recipient)))
    digest = hmac.new(ctx.cookie_key(), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


def probe_sender(ctx, invoker: str, recipient: str, job: str = "", record: bool = True) -> str | None:
    """The reverse path of a PROBE envelope of invoker's DISTRIBUTE to recipient:
    ROBOT-probe+local=domain+TAG@Domain (record: the probe recorded, with the job's
    mailing when it has a report; a plan told, not sent, records nothing), or None when
    it would pass RFC 5321's 64 octets."""
    local, at, domain = recipient.rpartition("@")
    tag = probe_tag(ctx, invoker, recipient)
    verp = "%s+%s=%s+%s" % (probe_base(ctx.config), local, domain, tag)
    if not at or len(verp.encode("utf-8")) > 64:
        return None
    if record:
        ctx.append(probes_file(ctx), ("%s\t%s\t%s\t%s%s\n" % (tag, recipient, invoker, ctx.now.date(),
                                                             "\t" + job if job else "")).encode("utf-8"))
    return "%s@%s" % (verp, ctx.domain)


def is_probe_address(ctx, local: str) -> bool:
    """Is local the local part of a PROBE return path (or of its base, ROBOT-probe)?"""
    base = probe_base(ctx.config)
    return local.lower() == base or local.lower().startswith(base + "+")


def handle_probe(ctx, m, address: str) -> tuple[str, Failure] | None:
    """A report to a PROBE return path: believed when its tag is one a DISTRIBUTE of this
    site recorded (probes_file) for the recipient it names; its failure is told to that
    job's sender. Anything else is dropped, and logged. (the job's mailing, the failure)
    when the job has a delivery report, for the caller to note it there; else None."""
    rule = "PROBE address %s" % address.lower()
    parts = verp_parts(address)
    if not null_sender(m) or not parts or parts[1] is None:
        ctx.act("dropped: not a delivery report of a PROBE envelope", rule)
        return None
    recipient, tag = parts
    invoker = job = None
    try:
        with open(probes_file(ctx), encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) in (4, 5) and fields[0] == tag.lower() and fields[1].lower() == recipient.lower() \
                        and hmac.compare_digest(tag.lower(), probe_tag(ctx, fields[2], recipient)):
                    invoker, job = fields[2], fields[4] if len(fields) == 5 else None
    except FileNotFoundError:
        pass
    if invoker is None:
        ctx.act("dropped: %s carries a tag no DISTRIBUTE here made" % address, rule)
        return None
    report = read(m.msg, m.raw)
    failure = report.verdict()
    if failure is None:
        kind = classify_text(m.text())
        failure = kind and Failure(recipient, kind, "report not in a known format; the PROBE names the recipient")
    if failure is None:
        ctx.act("delivery report of a PROBE to %s noted: no failure in it" % recipient, rule)
        return None
    msg = ctx.message(invoker, ctx.text("distribute.probe.subject", invoker, address=recipient),
                      ctx.text("distribute.probe", invoker, address=recipient, kind=failure.kind,
                               reason=messages.clean(failure.reason, 300)) + "\n", kind="auto-generated")
    ctx.send_message(msg, [invoker])
    ctx.act("PROBE: %s failed (%s, %s); %s told" % (recipient, failure.kind, failure.reason, invoker), rule)
    return (job, Failure(recipient, failure.kind, failure.reason)) if job else None


def mailing_tag(ctx, name, k, recipient):
    text = "\0".join(("MAILING", name, str(k), members.address_key(recipient)))
    digest = hmac.new(ctx.cookie_key(), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:5]).decode("ascii").lower()


def mailing_sender(ctx, name, k, recipient):
    """The return path of delivery k of mailing name (services/reports.py) to recipient:
    ROBOT-probe+local=domain+TAG@Domain, TAG keyed on the mailing, k and the recipient;
    None when it would pass RFC 5321's 64 octets."""
    local, at, domain = recipient.rpartition("@")
    verp = "%s+%s=%s+%s" % (probe_base(ctx.config), local, domain, mailing_tag(ctx, name, k, recipient))
    if not at or len(verp.encode("utf-8")) > 64:
        return None
    return "%s@%s" % (verp, ctx.domain)


# --- the sent index ---------------------------------------------------------------

_DAY_FILE = re.compile(r"\d{8}\.txt")


def sent_folder(site: Site) -> str:
    return os.path.join(site.spool, "sent")


def _id_key(message_id):
    """What the sent index keeps of a Message-ID: 16 hex digits of its SHA-256 (case ignored)."""
    return hashlib.sha256(message_id.lower().encode("utf-8", "replace")).hexdigest()[:16]


def record_sent(ctx, listname: str, data: bytes, kind: str) -> None:
    """Note in today's sent index that listname sent data (the message's bytes, or its
    header) to its members: one line "KEY LIST KIND", appended in the batch's transaction.

    One line per message whatever the number of recipients; kind (post, digest,
    announcement) is for the person who reads the file.
    """
    end = data.find(b"\n\n")
    found = _MESSAGE_ID.search(data if end < 0 else data[:end + 1])
    local = lists.local_part(listname)
    if not found:
        ctx.act("%s of %s not in the sent index: it has no Message-ID" % (kind, listname), "sent index")
        return
    key = _id_key(found.group(1).decode("ascii", "replace"))
    ctx.append(os.path.join(sent_folder(ctx.site), ctx.now.strftime("%Y%m%d") + ".txt"),
               ("%s %s %s\n" % (key, local, kind)).encode("utf-8", "replace"))
    ctx.sent_now.add((local, key))


def _sent_days(site, today, days):
    """[(keep, path)] of the sent index's day files: keep is True for those of the last
    days (and today), False for the older ones."""
    try:
        cutoff = (today - datetime.timedelta(days=max(days, 0))).strftime("%Y%m%d")
    except OverflowError:
        cutoff = ""
    folder = sent_folder(site)
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [(name[:8] >= cutoff, os.path.join(folder, name)) for name in names if _DAY_FILE.fullmatch(name)]


def _sent_index(ctx):
    """{(list local part, key)} of the sent index's last BounceDays days (read once a run)."""
    if ctx.sent_index is None:
        index = set()
        for keep, path in _sent_days(ctx.site, ctx.now.date(), ctx.config.get("Security", "BounceDays")):
            if not keep:
                continue
            try:
                with open(path, "rb") as f:
                    for line in f:
                        words = line.decode("utf-8", "replace").split()
                        if len(words) >= 3 and words[2].startswith("charged:"):
                            ctx.sent_charged.add((words[1], words[0], words[2][8:]))
                        elif len(words) >= 2:
                            index.add((words[1], words[0]))
            except OSError:
                continue        # a file that cannot be read proves nothing
        ctx.sent_index = index
    return ctx.sent_index


def _charge_once(ctx, listname, address, quoted):
    """False when address was charged for the message quoted already; else True, and the
    charge noted in today's sent index."""
    local = lists.local_part(listname)
    mark = (local, _id_key(quoted), _id_key(members.address_key(address)))
    _sent_index(ctx)
    if mark in ctx.sent_charged:
        return False
    ctx.sent_charged.add(mark)
    ctx.append(os.path.join(sent_folder(ctx.site), ctx.now.strftime("%Y%m%d") + ".txt"),
               ("%s %s charged:%s\n" % (mark[1], local, mark[2])).encode("utf-8"))
    return True


def sent_quoted(ctx, listname: str, raw: bytes) -> str | None:
    """The first Message-ID the report raw quotes that listname sent in the last
    BounceDays (the sent index), or None."""
    local = lists.local_part(listname)
    for message_id in quoted_ids(raw):
        entry = (local, _id_key(message_id))
        if entry in ctx.sent_now or entry in _sent_index(ctx):
            return message_id
    return None


def expired_sent(site: Site, today: datetime.date, days: int) -> list[str]:
    """The files of the sent index older than days (BounceDays)."""
    return [path for keep, path in _sent_days(site, today, days) if not keep]


# --- believing a report -----------------------------------------------------------

class Proof:
    """Why a report to a bounce address is believed (ok), or why not; member: the
    recipient its VERP address names, or None (the report names the failures)."""

    def __init__(self, ok: bool, why: str, member: str | None = None, quoted: str | None = None) -> None:
        self.ok, self.why, self.member = ok, why, member
        self.quoted = quoted        # the Message-ID that proves it (not a VERP tag), or None


def believe(ctx, m, listname: str, address: str) -> Proof:
    """Is the report m, sent to listname's bounce address, about mail the site sent there?

    * a VERP address with a tag: believed when the tag is the one the site
      makes for that list and recipient (whatever VERP says now: the list
      may have sent before it was turned off); a wrong tag changes nothing;
    * the old untagged VERP form (lists with VERP = Y), and owner-LIST@: believed
      only when the report quotes the Message-ID of mail the list sent in the
      last BounceDays (the sent index). A forger must know such a Message-ID;
      the untagged form then still names the member.
    """
    parts = verp_parts(address)
    days = ctx.config.get("Security", "BounceDays")
    if parts:
        recipient, tag = parts
        if tag is not None:
            if hmac.compare_digest(tag.lower(), verp_tag(ctx, listname, recipient)):
                return Proof(True, "VERP tag of %s" % recipient, recipient)
            return Proof(False, "%s carries a wrong VERP tag" % address)
        if ctx.config.list_value(listname, "VERP"):
            quoted = sent_quoted(ctx, listname, m.raw)
            if quoted:
                return Proof(True, "untagged VERP address, but it quotes %s, sent by %s" % (quoted, listname),
                             recipient, quoted)
            return Proof(False, "%s carries no VERP tag, and the report quotes no Message-ID of mail %s "
                                "sent in the last %d days" % (address, listname, days))
        # A list without VERP never sent from an untagged VERP address: the address names nobody.
    quoted = sent_quoted(ctx, listname, m.raw)
    if quoted:
        return Proof(True, "it quotes %s, sent by %s" % (quoted, listname), quoted=quoted)
    return Proof(False, "it quotes no Message-ID of mail %s sent in the last %d days" % (listname, days))


# --- charging failures ------------------------------------------------------------

def handle(ctx, m, listname: str, address: str) -> bool:
    """Read m, sent to listname's bounce address, and charge what it reports.

    Returns False when m is no report (a person wrote to owner-LIST: the caller
    passes it to the owner).
    """
    if not (m.automatic or is_report(m)):
        return False
    rule = "bounce address %s" % address.lower()
    if not null_sender(m):
        ctx.act("not read as a bounce: it did not come with the null envelope sender (Return-Path <>)", rule)
        return True
    if any(ctx.ours(a) for a in addresses.loop_marks(m)):
        # The site's own mail came back whole (a broken forwarder): a report never carries it.
        ctx.act("not read as a bounce: it carries this site's X-Loop", rule)
        return True
    proof = believe(ctx, m, listname, address)
    if not proof.ok:
        ctx.act("not read as a bounce: %s" % proof.why, rule)
        return True
    report = read(m.msg, m.raw)
    member = proof.member
    if member:
        failure = report.verdict()
        if failure is None and is_report(m):
            kind = classify_text(m.text())
            failure = kind and Failure(member, kind, "report not in a known format; VERP names the member")
        failures = [Failure(member, failure.kind, failure.reason)] if failure else []
    else:
        failures = [f for f in report.failures if not ctx.ours(f.address)]
    if not failures:
        ctx.act("delivery report for %s noted: no failed recipient in it" % listname, rule)
        return True
    for failure in failures:
        charge(ctx, listname, failure, report.original, proof.quoted)
    return True


def charge(ctx, listname: str, failure: Failure, original: str = "", quoted: str | None = None) -> None:
    """Charge one failure: to the member (permanent), to the post (policy), to nobody.
    quoted: the Message-ID that proved the report, for which a member is charged once."""
    who = failure.address
    if failure.kind == TEMPORARY:
        ctx.act("bounce: %s delayed or failed temporarily (%s): not counted" % (who, failure.reason),
                "delivery report (temporary)")
        return
    if failure.kind == POLICY:
        ctx.act("bounce: %s refused the post%s of %s for policy or content (%s): charged to the post, "
                "not to the member" % (who, " " + original if original else "", listname, failure.reason),
                "policy rejection")
        return
    cfg = ctx.config
    number = lists.number(cfg, listname)
    entry = ctx.state.members(number).get(who)
    if entry is None:
        ctx.act("bounce: %s failed permanently (%s) but is not a member of %s: nothing charged"
                % (who, failure.reason, listname), "delivery report")
        return
    address, options = entry
    if quoted and not _charge_once(ctx, listname, address, quoted):
        ctx.act("bounce: %s failed permanently (%s): already counted for %s on %s"
                % (address, failure.reason, quoted, listname), "BounceScore (once a post)")
        return
    today = ctx.now.date()
    score, last = score_of(options)
    if last == today:
        ctx.act("bounce: %s failed permanently again (%s): already counted today, score %d on %s"
                % (address, failure.reason, score, listname), "BounceScore (once a day)")
        return
    if last is None or (today - last).days > cfg.get("Security", "BounceDays"):
        score = 0
    score += 1
    limit = cfg.get("Security", "BounceScore")
    bounce_list = lists.find(cfg, cfg.get("Security", "BounceList") or "")
    if limit and score >= limit and bounce_list != listname:
        _remove(ctx, listname, address, score, failure)
        return
    ctx.state.set_options(number, address, members.with_option(options, "BOUNCE", "%d %s" % (score, today)))
    ctx.act("bounce: %s failed permanently (%s): score %d of %s on %s"
            % (address, failure.reason, score, limit or "no limit", listname), "BounceScore")


def score_of(options: str | None) -> tuple[int, datetime.date | None]:
    """(score, date of the last failure or None) from a member's BOUNCE option."""
    option = members.option_word(options or "", "BOUNCE")
    words = option.split() if option else []
    try:
        return int(words[1]), datetime.date.fromisoformat(words[2])
    except (IndexError, ValueError):
        return 0, None


def _remove(ctx, listname, address, score, failure):
    cfg = ctx.config
    days = cfg.get("Security", "BounceDays")
    left, target = move(ctx, address, [listname], "BounceList", "bounces")
    ctx.act("bounce: %s removed from %s after %d permanent failures%s" % (
        address, listname, score, "; now on %s" % target if target else ""), "BounceScore")
    owner = lists.owner(cfg, listname)
    if not owner:
        return
    text = ctx.text("bounces.removed", owner, address=address, list=listname, list_address=lists.address(cfg, listname),
                    date=ctx.now.date().isoformat(), score=score, days=days, reason=failure.reason,
                    moved=ctx.text("bounces.removed.moved", owner, list=target) + "\n\n" if target else "",
                    quoted='"%s"' % listname if " " in listname else listname, robot=ctx.robot_address()) + "\n"
    msg = ctx.message(owner, ctx.text("bounces.removed.subject", owner, list=listname, address=address, score=score),
                      text, kind="auto-generated")
    ctx.send_message(msg, [owner])
    ctx.act("owner %s told" % owner, "BounceScore")


def move(ctx, address: str, names: list[str], target_key: str, how: str) -> tuple[list[str], str | None]:
    """address leaves each list of names and joins the list [Security] target_key names
    (BounceList, SpamCheckList; with NOMAIL: nothing is sent to it there).

    Each change is in the lists' audit trails. Returns (lists left, the list joined or None).
    """
    cfg = ctx.config
    target = lists.find(cfg, cfg.get("Security", target_key) or "")
    by = ctx.robot_address()
    left = []
    for name in names:
        if name == target:
            continue
        number = lists.number(cfg, name)
        removed = ctx.state.remove_member(number, address)
        if removed is not None:
            left.append(name)
            audit.list_event(ctx, number, "remove", removed[0], by, how)
    if target:
        number = lists.number(cfg, target)
        if address not in ctx.state.members(number):
            ctx.state.add_member(number, address, "NOMAIL")
            audit.list_event(ctx, number, "add", address, by, how)
    return left, target
