"""Feedback loops: a receiver's complaint report (RFC 5965 ARF) about a post the site sent.

A mailbox provider whose user pressed "this is spam" sends the sender a report:
``multipart/report; report-type=feedback-report``, a text for people, a
``message/feedback-report`` part of fields (``Feedback-Type: abuse``,
``Original-Mail-From``, ``Original-Rcpt-To``, ...) and the post itself (or
its header) quoted. Such a report is read where delivery reports are (the
list's bounce address ``owner-LIST@``, its VERP form), and at the robot's
addresses, where a provider's feedback loop is most often registered for a
whole site; nothing else reads it.

Nothing a report says is believed without proof (it may come from anyone):

* that it is about mail of the list: it quotes a Message-ID that list sent in
  the last BounceDays (the sent index, see bounces); else it changes nothing;
* who complained: a keyed value only the site makes, which the quoted post
  carried to that one recipient: the VERP tag of its return path (quoted as
  ``Return-Path`` or as ``Original-Mail-From``, or the address the report
  came to), or the token of its one-click unsubscription link (oneclick).
  Original-Rcpt-To, a report's own claim, names nobody: any member knows a
  post's Message-ID and could name another member there.

A complaint (Feedback-Type abuse or fraud) proven so removes the member from the
list (in its audit trail, "feedback report") and tells the owner; the member is
sent nothing (they asked for no more mail). A complaint about a post of the
list whose recipient nothing proves is told to the owner, nothing changes.
Other feedback types (not-spam, virus, other) are logged.
"""

from __future__ import annotations

import email.parser
import hmac
import re
from urllib.parse import urlsplit

from tristero.core import messages
from tristero.model import audit, lists, oneclick
from tristero.policy import addresses, bounces

COMPLAINTS = ("abuse", "fraud")
_URL = re.compile(r"<(https?://[^<>\s]{1,2000})>", re.I)
MAX_URLS = 5         # links of a quoted List-Unsubscribe tried


def is_feedback(m) -> bool:
    """True when m is an ARF report: multipart/report; report-type=feedback-report."""
    msg = m.msg
    return (msg.get_content_type() == "multipart/report"
            and str(msg.get_param("report-type", "")).lower() == "feedback-report")


class Feedback:
    """What a report says: its type, its fields' claims, the quoted post's header."""

    def __init__(self, kind: str, fields, quoted) -> None:
        self.kind = kind            # Feedback-Type, lower case ("" when missing)
        self.fields = fields        # the feedback-report fields (a Message), or None
        self.quoted = quoted        # the quoted post's header fields (a Message), or None

    def field(self, name: str) -> str:
        return messages.header(self.fields, name) if self.fields is not None else ""

    def original(self, name: str) -> str:
        return messages.header(self.quoted, name) if self.quoted is not None else ""


def read(msg) -> Feedback:
    """The Feedback of an ARF report's parts."""
    fields = quoted = None
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report" and fields is None:
            fields = _headers(part)
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers") and quoted is None:
            quoted = _headers(part)
    kind = messages.header(fields, "Feedback-Type").lower() if fields is not None else ""
    return Feedback(kind.split()[0] if kind else "", fields, quoted)


def _headers(part):
    """The header fields a part holds: a message/* part's parsed message, else its text
    (decoded) read as a header block."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload else None
    text = messages.decode_part(part)[:messages.HEADER_LIMIT * 16]
    return email.parser.HeaderParser(policy=messages.PARSE_POLICY).parsestr(text.replace("\r\n", "\n"))


def handle(ctx, m, listname: str | None, address: str) -> None:
    """Act on the ARF report m, which came to address (listname: the list whose address
    it is, or None for the robot's)."""
    rule = "feedback report to %s" % address.lower()
    report = read(m.msg)
    listname = listname or _list_of(ctx, report)
    if not listname:
        ctx.act("feedback report changes nothing: it names no list of this site", rule)
        return
    quoted = bounces.sent_quoted(ctx, listname, m.raw)
    if not quoted:
        ctx.act("feedback report changes nothing: it quotes no Message-ID of mail %s sent in the last %d days"
                % (listname, ctx.config.get("Security", "BounceDays")), rule)
        return
    kind = report.kind or "(none)"
    if report.kind not in COMPLAINTS:
        ctx.act("feedback report (%s) about %s of %s noted" % (kind, quoted, listname), rule)
        return
    member, proof = _complainer(ctx, listname, report, address)
    if member is None:
        claimed = messages.clean(report.field("Original-Rcpt-To"), 200) or "nobody"
        ctx.act("complaint (%s) about %s of %s: it names %s, which nothing proves: no one removed"
                % (kind, quoted, listname, claimed), rule)
        _tell_owner(ctx, listname, "feedback.unproven", "feedback.unproven.subject", claimed=claimed,
                    message_id=quoted, kind=kind, reporter=_reporter(m, report))
        return
    number = lists.number(ctx.config, listname)
    removed = ctx.state.remove_member(number, member)
    if removed is None:
        ctx.act("complaint (%s) about %s of %s from %s (%s), who is no longer a member"
                % (kind, quoted, listname, member, proof), rule)
        return
    audit.list_event(ctx, number, "remove", removed[0], ctx.robot_address(), "feedback report")
    ctx.act("complaint (%s) about %s: %s removed from %s (%s)" % (kind, quoted, removed[0], listname, proof), rule)
    _tell_owner(ctx, listname, "feedback.removed", "feedback.removed.subject", address=removed[0],
                message_id=quoted, kind=kind, reporter=_reporter(m, report))


def _list_of(ctx, report):
    """The list a report to the robot is about: the one whose bounce address or list
    address the quoted post names (its return path, its X-Loop); None when none does.
    Only a guess, checked against the sent index next."""
    cfg = ctx.config
    for value in (report.original("Return-Path"), report.field("Original-Mail-From"),
                  report.original("X-Loop"), report.original("List-Post")):
        address = value.strip().strip("<>").removeprefix("mailto:")
        if not ctx.ours(address):
            continue
        _, name = addresses.resolve(cfg, address.rpartition("@")[0])
        if name:
            return name
    return None


def _complainer(ctx, listname, report, address):
    """(member, proof) the report proves was the recipient, or (None, "")."""
    base = "owner-%s+" % lists.local_part(listname)
    for value in (address, report.original("Return-Path"), report.field("Original-Mail-From")):
        value = value.strip().strip("<>")
        parts = bounces.verp_parts(value)
        if not parts or parts[1] is None or not value.lower().startswith(base) or not ctx.ours(value):
            continue
        recipient, tag = parts
        if hmac.compare_digest(tag.lower(), bounces.verp_tag(ctx, listname, recipient)):
            return recipient, "the VERP tag of %s" % recipient
    today = ctx.now.date()
    for url in _URL.findall(report.original("List-Unsubscribe"))[:MAX_URLS]:
        found = oneclick.check(ctx.cookie_key(), urlsplit(url).query, today)
        if found and lists.find(ctx.config, found[0]) == listname:
            return found[1], "the one-click token for %s" % found[1]
    return None, ""


def _reporter(m, report):
    """Who sent the report, as it says (for the owner; proves nothing)."""
    agent = messages.clean(report.field("User-Agent"), 100)
    return messages.clean(m.author, 200) + (" (%s)" % agent if agent else "")


def _tell_owner(ctx, listname, key, subject, **fields):
    cfg = ctx.config
    owner = cfg.raw(lists.section(listname), "Owner") or cfg.globals("SuperUser")
    if not owner:
        return
    text = ctx.text(key, owner, list=listname, list_address=lists.address(cfg, listname),
                    date=ctx.now.date().isoformat(), robot=ctx.robot_address(),
                    quoted='"%s"' % listname if " " in listname else listname, **fields) + "\n"
    msg = ctx.message(owner, ctx.text(subject, owner, list=listname, **fields), text,
                      kind="auto-generated")
    ctx.send_message(msg, [owner])
    ctx.act("owner %s told" % owner, "feedback report")
