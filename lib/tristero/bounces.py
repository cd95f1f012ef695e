"""Bounces: delivery reports read for the recipients that failed, each failure charged fairly.

A report that comes back to a list's bounce address (``owner-LIST@Domain``, or
``owner-LIST+local=domain@Domain`` with VERP) is read for its failed
recipients: an RFC 3464 report (multipart/report, message/delivery-status)
field by field (Action, Status, Diagnostic-Code); the other common formats
(qmail, classic Exim and Postfix, old Exchange, ...) with flufl.bounce, and
the text around each address for the reason. With VERP on for the
list, the bounce address itself names the member, whatever the report says.

Only a report that came with the null envelope sender (RFC 5321 4.5.5; the
receiving mail server writes it as ``Return-Path: <>``, a sender cannot) is
charged to anyone: From MAILER-DAEMON, X-Failed-Recipients and
multipart/report are written by whoever sends the mail, and would let anybody
remove a member. Each failure is one of:

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

import datetime
import email.parser
import re

import flufl.bounce

from . import audit, lists, members, messages, routing

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
    r"message content|too (?:large|big)|message size exceeds", re.I)
_DELAY_WORDS = re.compile(
    r"\bdelayed\b|not yet been delivered|will (?:continue|keep) (?:to )?try|still (?:being )?"
    r"(?:re)?tr(?:y|ying|ied)\b|will be retried|will retry|\bdeferred\b|try again later|"
    r"temporar(?:y|ily)", re.I)
_FAIL_WORDS = re.compile(
    r"undeliverable|could not be delivered|couldn't be delivered|not delivered|delivery failed|"
    r"failed permanently|permanent(?:ly)? (?:error|failure|fatal)|does not exist|doesn't exist|"
    r"user unknown|unknown user|no such user|mailbox unavailable|address rejected", re.I)
_URL = re.compile(r"\b(?:https?|ftp)://\S+", re.I)
# No "@" in either part, and an address begins only where a word does: each start
# costs one scan of its word, never a retry from every character of it.
_ADDRESS_IN_TEXT = re.compile(r"(?<![^\s<>()\"',;:@])<?[^\s<>()\"',;:@]+@[^\s<>()\"',;@]+>?")
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]{1,250}>)", re.I | re.M)


class Failure:
    """One recipient a report names: address, kind (PERMANENT, POLICY, TEMPORARY), reason."""

    def __init__(self, address, kind, reason):
        self.address, self.kind, self.reason = address, kind, reason


class Report:
    """What a delivery report says: its failures, and the post it is about."""

    def __init__(self, failures, original, standard):
        self.failures = failures      # [Failure], one per address
        self.original = original      # Message-ID of the post that failed, or ""
        self.standard = standard      # True: read from RFC 3464 fields

    def verdict(self):
        """The one kind that stands for the whole report (VERP): policy first, never
        charging a member for a refusal of the post."""
        kinds = {f.kind for f in self.failures}
        for kind in (POLICY, PERMANENT, TEMPORARY):
            if kind in kinds:
                return next(f for f in self.failures if f.kind == kind)
        return None


# --- reading reports ------------------------------------------------------------

def null_sender(m):
    """True when m came with the null envelope sender, as delivery reports do.

    The only sign of a report a sender cannot forge: the mail server that
    delivered m wrote its Return-Path.
    """
    return m.return_path == ""


def is_report(m):
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


def read(msg, raw=b""):
    """The Report of a message: RFC 3464 fields when it has them, else flufl.bounce's finds."""
    original = _original_id(raw)
    blocks = [b for part in msg.walk() if part.get_content_type() in
              ("message/delivery-status", "message/global-delivery-status")
              for b in _status_blocks(part)]
    failures = {}
    for block in blocks:
        failure = _from_block(block)
        if failure is not None:
            key = members.address_key(failure.address)
            # Two blocks for one address: a refusal of the post outranks a failure of the
            # address, which outranks a delay (never charge a member for the post's fault).
            if key not in failures or _rank(failure) < _rank(failures[key]):
                failures[key] = failure
    if blocks:
        return Report(list(failures.values()), original, True)
    return Report(_heuristic(msg), original, False)


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


def _from_block(block):
    address = (_recipient(_field(block, "Original-Recipient")) or _recipient(_field(block, "Final-Recipient"))
               or _recipient(_field(block, "X-Actual-Recipient")))
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


def classify(action, status, diagnostic):
    """PERMANENT, POLICY or TEMPORARY for one recipient of an RFC 3464 report; None when
    it reports no failure (delivered, relayed, expanded)."""
    action = action.strip().lower()
    if action.startswith(("delivered", "relayed", "expanded")):
        return None
    if action.startswith("delayed"):
        return TEMPORARY
    failed = action.startswith(("failed", "error")) or (not action and status.strip().startswith("5"))
    if not failed:
        return TEMPORARY if status.strip().startswith("4") else None
    return POLICY if blames_post(status + " " + diagnostic) else PERMANENT


def blames_post(text):
    """True when a failure's text is a refusal of the post for policy or content."""
    for _, subject, detail in _ENHANCED.findall(text):
        if subject in _POST_SUBJECTS or (subject, detail) in _POST_CODES:
            return True
    # Addresses and links are not the reason: spam@example.com is a mailbox like another.
    words = _URL.sub(" ", _ADDRESS_IN_TEXT.sub(" ", text))
    return bool(_POLICY_WORDS.search(words))


def classify_text(text, temporary=False):
    """The kind of failure a report's free text describes (around one address, or the whole
    text of a report to a VERP address); None when it shows no failure."""
    if not temporary and not (_FAIL_WORDS.search(text) or _ENHANCED.search(text) or _BASIC.search(text)
                              or _DELAY_WORDS.search(text)):
        return None
    if blames_post(text):
        return POLICY
    classes = {c for c, _, _ in _ENHANCED.findall(text)} | set(_BASIC.findall(text))
    if temporary or ("5" not in classes and ("4" in classes or _DELAY_WORDS.search(text))):
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
    head_end = raw.find(b"\n\n")
    found = _MESSAGE_ID.search(raw, head_end + 2 if head_end >= 0 else len(raw))
    return found.group(1).decode("ascii", "replace") if found else ""


# --- VERP ---------------------------------------------------------------------

def envelope_sender(ctx, listname, recipient):
    """The reverse path of a post to recipient: owner-LIST+local=domain@Domain (VERP), or
    owner-LIST@Domain when that local part would pass RFC 5321's 64 octets."""
    base = "owner-" + lists.local_part(listname)
    local, at, domain = recipient.rpartition("@")
    verp = "%s+%s=%s" % (base, local, domain)
    if at and len(verp.encode("utf-8")) <= 64:
        return "%s@%s" % (verp, ctx.domain)
    return "%s@%s" % (base, ctx.domain)


def verp_recipient(address):
    """The member a VERP bounce address names (owner-LIST+local=domain@...), or None."""
    local = address.rpartition("@")[0]
    if "+" not in local:
        return None
    tag = local.split("+", 1)[1]
    left, eq, domain = tag.rpartition("=")
    candidate = "%s@%s" % (left, domain)
    return candidate if eq and messages.is_address(candidate) else None


# --- charging failures ------------------------------------------------------------

def verp_member(ctx, listname, address):
    """The member listname's bounce address names, when the list sends with VERP; else None.

    A list without VERP never sent from such an address: one there is made up.
    """
    return verp_recipient(address) if ctx.config.list_value(listname, "VERP") else None


def handle(ctx, m, listname, address):
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
    if any(ctx.ours(a) for a in routing.loop_marks(m)):
        # The site's own mail came back whole (a broken forwarder): a report never carries it.
        ctx.act("not read as a bounce: it carries this site's X-Loop", rule)
        return True
    report = read(m.msg, m.raw)
    member = verp_member(ctx, listname, address)
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
        charge(ctx, listname, failure, report.original)
    return True


def charge(ctx, listname, failure, original=""):
    """Charge one failure: to the member (permanent), to the post (policy), to nobody."""
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


def score_of(options):
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
    owner = cfg.raw(lists.section(listname), "Owner") or cfg.globals("SuperUser")
    if not owner:
        return
    text = ("%s was removed from the list %s (%s) on %s: mail to it failed permanently on %d days,\n"
            "each within %d days of the one before (BounceScore %d, BounceDays %d).\n\n"
            "The last report said:\n  %s\n\n%s"
            "To take it back, send ADD %s %s to %s.\n" % (
                address, listname, lists.address(cfg, listname), ctx.now.date(), score, days, score, days,
                failure.reason, "It is now a member of %s (BounceList).\n\n" % target if target else "",
                '"%s"' % listname if " " in listname else listname, address, ctx.robot_address()))
    msg = ctx.message(owner, "%s: %s removed after %d delivery failures" % (listname, address, score), text,
                      kind="auto-generated")
    ctx.send_message(msg, [owner])
    ctx.act("owner %s told" % owner, "BounceScore")


def move(ctx, address, names, target_key, how):
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
