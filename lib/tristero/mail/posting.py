"""Posting: a message to a list, checked, given the list's headers, sent to its members.

Each step takes the Context and the Post (what the steps learn about it) and either
returns None (go on) or a Result that ends the posting. The order is the table STEPS,
read top to bottom, as in the pipeline. A post that passes every step was posted.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from tristero.core import messages, outbound, redact, streams
from tristero.core.kinds import AutoReason
from tristero.mail import listbot, mitigation
from tristero.model import audit, lists, members, signing
from tristero.policy import authresults, bounces, rights
from tristero.services import archive, headers
from tristero.services.context import Context, Inbound

# Fields of the original that a list replaces or must not pass on.
_DROP = messages.MTA_TRACE | {
    "precedence", "list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-unsubscribe-post",
    "list-post", "list-owner", "list-archive", "sender", "errors-to",
    "return-receipt-to", "disposition-notification-to", "approved", "approve"}
_FIELD_NAME = re.compile(r"[!-9;-~]+")   # RFC 5322 field-name
_PRIORITY_FIELDS = {"x-priority", "priority", "importance", "x-msmail-priority"}
_PRIORITY = {"Low": ("5", "low"), "Normal": ("3", "normal"), "Urgent": ("1", "high")}


# Automatic mail that must never reach a list's members (auto-replies, bounces).
_NOT_POSTS = (AutoReason.AUTO_SUBMITTED, AutoReason.NULL_SENDER, AutoReason.MAILER_DAEMON, AutoReason.REPORT)


class Result(Enum):
    """How a posting ended: refused (its author told why, unless the mail was automatic
    or the author Barred), held (sent on to the list's moderators), done (posted, or
    answered by an Executable list)."""

    REFUSED = "refused"
    HELD = "held"
    DONE = "done"


@dataclass
class Post:
    """One post to one list, and what the steps learn about it as they go."""

    m: Inbound                       # the message (from "redact" on, as members get it)
    listname: str
    rule: str = ""                   # what rights.may said: the rule that lets it through, or why not
    approval: Optional[str] = None   # the LIST-approval list a refused post goes to
    override: Optional[str] = None   # the subject, when OverRideSubject skips the list's settings
    head: bytes = b""                # the header block members get (without List-Unsubscribe)
    body: Optional[memoryview] = None   # the body, a view of the inbound bytes (never copied unless re-encoded)
    eight_bit: bool = False          # its data is 8-bit (the outbound gate says)
    author_options: str = ""         # the author's member options on the list (NOREPRO, ACK), once read
    sender: str = ""                 # the envelope sender: owner-LIST@
    recipients: Iterable[str] = ()   # the members it goes to, streamed (see State.recipients)
    envelopes: Iterable = ()         # (sender, recipients, data) of each envelope, streamed
    count: int = 0                   # the recipients it was sent to


def post(ctx: Context, m: Inbound, listname: str) -> Result:
    """Send m to the members of listname, or refuse it with the reason."""
    return run(ctx, Post(m, listname))


def run(ctx: Context, post: Post) -> Result:
    """Run the steps over post; how its posting ended."""
    for _, step in STEPS:
        result = step(ctx, post)
        if result is not None:
            return result
    return Result.DONE


# --- the steps ---

def not_automatic(ctx: Context, post: Post) -> Optional[Result]:
    """Automatic mail (auto-replies, bounces) never reaches a list's members."""
    m = post.m
    if m.automatic and m.automatic.reason in _NOT_POSTS:
        ctx.act("automatic mail to %s not posted" % post.listname, m.automatic)
        return Result.REFUSED
    return None


def may_post(ctx: Context, post: Post) -> Optional[Result]:
    """Who may post (rights.may); a post refused to a Moderated list goes on to moderation."""
    ok, post.rule = rights.may(ctx, post.m.author, "post", post.listname)
    if ok:
        return None
    post.approval = _approval_list(ctx, post.m, post.listname)
    if post.approval:
        return None
    return refuse(ctx, post.m, post.listname, post.rule)


def moderation(ctx: Context, post: Post) -> Optional[Result]:
    """Manual, "Moderated Lists": a post its author may not make goes to the moderators
    (LIST-approval), who forward what they approve."""
    if not post.approval:
        return None
    ctx.act("post to %s sent to %s for moderation" % (post.listname, post.approval), "Type=Moderated")
    run(ctx, Post(post.m, post.approval))
    return Result.HELD


def password(ctx: Context, post: Post) -> Optional[Result]:
    """A list only the privileged post to needs the poster's password (Approved:)."""
    m, listname = post.m, post.listname
    if rights.posts_closed(ctx.config.list_value(listname, "Type")) and not _approved(ctx, m):
        return refuse(ctx, m, listname, "a password is set for %s: a post only the privileged may make needs "
                                        "it in an Approved: header" % m.author,
                      ctx.text("posting.password-needed", m.author, author=m.author))
    return None


def size(ctx: Context, post: Post) -> Optional[Result]:
    """No post larger than the list's MaxMessageSize."""
    m, listname = post.m, post.listname
    limit = ctx.config.list_value(listname, "MaxMessageSize")
    if len(m.raw) > limit:
        return refuse(ctx, m, listname, "the message is %d bytes, more than the %d this list takes "
                                        "(MaxMessageSize)" % (len(m.raw), limit),
                      ctx.text("posting.too-big", m.author, size=len(m.raw), limit=limit))
    return None


def executable(ctx: Context, post: Post) -> Optional[Result]:
    """Files on demand: a message to an Executable list is answered with files or
    commands (listbot), never passed on."""
    if ctx.config.list_value(post.listname, "Type") != "Executable":
        return None
    listbot.executable(ctx, post.m, post.listname, post.rule)
    return Result.DONE


def override_subject(ctx: Context, post: Post) -> Optional[Result]:
    """OverRideSubject: a privileged poster skips the list's subject prefix, priority and
    reply type."""
    post.override = _override(ctx, post.m, post.listname)
    return None


def redact_password(ctx: Context, post: Post) -> Optional[Result]:
    """From here on the post as members and the archive get it: no password in it."""
    post.m = redact.public(post.m)
    return None


def compose_headers(ctx: Context, post: Post) -> Optional[Result]:
    """The header block members get (compose) and the body, a view of the inbound bytes."""
    post.head, post.body = compose(ctx, post.m, post.listname, post.override)
    return None


def dmarc(ctx: Context, post: Post) -> Optional[Result]:
    """A post whose author's domain has a strict DMARC policy goes out in the list's
    name (DmarcMitigation: mail.mitigation); the archive keeps the author's From."""
    mitigation.mitigate(ctx, post)
    return None


def outbound_form(ctx: Context, post: Post) -> Optional[Result]:
    """The outbound lint gate (core.outbound), once for all the post's envelopes: what
    can be repaired is (each repair logged with its rule), the rest refused to the author."""
    verdict = outbound.lint(post.head, post.body)
    for rule, what in verdict.repairs:
        ctx.act(what, "outbound lint: " + rule)
    if verdict.refusal is not None:
        rule, why = verdict.refusal
        return refuse(ctx, post.m, post.listname, "%s (outbound lint: %s)" % (why, rule),
                      ctx.text("posting.outbound-refused", post.m.author, why=why))
    post.head, post.body, post.eight_bit = verdict.head, verdict.body, verdict.eight_bit
    return None


def arc_seal(ctx: Context, post: Post) -> Optional[Result]:
    """Authentication-Results: the fields that claim an authserv-id of TrustedAuthservIds
    but were not written by the site's mail server (authresults.mta_fields) are removed;
    with a DKIM key, the results the server wrote are sealed into an ARC set (RFC 8617)
    on top of the post, so receivers can see the author's authentication survived the
    list's changes. A line that is no field (a name with a space ...) goes too: DKIM
    verifiers refuse a message that holds one."""
    fields = messages.raw_headers(post.head)
    ours, forged = authresults.mta_fields(ctx.config, [
        (name, raw.decode("ascii", "replace").split(":", 1)[1]) for name, raw in fields])
    broken = [i for i, (name, _) in enumerate(fields) if not _FIELD_NAME.fullmatch(name)
              or not fields[i][1].startswith(name.encode("ascii", "replace") + b":")]
    if forged or broken:
        gone = set(forged) | set(broken)
        post.head = b"".join(raw for i, (_, raw) in enumerate(fields) if i not in gone)
    if broken:
        ctx.act("%d header line(s) that are no field removed" % len(broken), "RFC 5322")
    if forged:
        ctx.act("%d Authentication-Results field(s) removed: they claim a trusted authserv-id but "
                "were not written by the site's mail server" % len(forged), "TrustedAuthservIds")
    if ours and ctx.signer is not None:
        try:
            arc = ctx.signer.seal(post.head + b"\n" + bytes(post.body), ours[0])
        except signing.SealError as e:
            ctx.act("not sealed with ARC: %s" % messages.clean(e, 200), "[DKIM]")
        else:
            if arc:
                post.head = arc + post.head
                ctx.act("sealed with ARC, results of %s" % ours[0], "TrustedAuthservIds")
    return None


def envelopes(ctx: Context, post: Post) -> Optional[Result]:
    """The envelopes the post goes out in, streamed from the member file (never a copy
    of it): one for all, or with VERP (or with UnsubscribeURL: each recipient's own
    signed one-click link) one for each recipient.

    Recipients stream from the member file's order, which every write keeps sorted by
    domain, so envelopes bunch by mail server; each envelope is sorted again when
    written (a file edited by hand may be in any order).
    """
    cfg, listname = ctx.config, post.listname
    post.sender = "owner-%s@%s" % (lists.local_part(listname), ctx.domain)
    number = lists.number(cfg, listname)
    post.count, post.recipients = ctx.state.recipients(number)
    entry = ctx.state.member(number, post.m.author)
    post.author_options = entry[1] if entry else ""
    if members.option_word(post.author_options, "NOREPRO") and members.receives_posts(entry[1]):
        # LISTSERV's NOREPRO: the author does not get their own post.
        post.count, post.recipients = post.count - 1, _Without(post.recipients, entry[0])
    personal = bool(cfg.globals("UnsubscribeURL"))
    verp = cfg.list_value(listname, "VERP")
    if personal or verp:
        post.envelopes = _each_own(ctx, post, personal, verp)
    else:
        post.envelopes = [(post.sender, post.recipients,
                           streams.Pieces(post.head + headers.unsubscribe_fields(ctx, listname, None) + b"\n",
                                          post.body, eight_bit=post.eight_bit))]
    return None


class _Without:
    """The recipients but one address (case ignored), streamed as often as asked."""

    def __init__(self, recipients, address):
        self.recipients, self.key = recipients, members.address_key(address)
        # Addresses a member file vouches for stay vouched for (see Batch.stage_mail).
        self.checked = getattr(recipients, "checked", False)

    def __iter__(self):
        key = self.key
        return (a for a in self.recipients if members.address_key(a) != key)


def _each_own(ctx, post, personal, verp):
    """An envelope of its own for each recipient: a one-click link names its recipient,
    so each gets a copy of their own; with VERP the envelope's sender names them."""
    listname, sender = post.listname, post.sender
    shared = streams.Pieces(post.head + headers.unsubscribe_fields(ctx, listname, None) + b"\n", post.body,
                            eight_bit=post.eight_bit)
    for address in post.recipients:
        # The header block shared, not copied: only the recipient's own field is new.
        data = streams.Pieces(post.head, headers.unsubscribe_fields(ctx, listname, address) + b"\n", post.body,
                              eight_bit=post.eight_bit) \
            if personal else shared
        reverse = bounces.envelope_sender(ctx, listname, address) if verp else sender
        if verp and reverse == sender:
            ctx.act("VERP: the return path for %s would pass 64 octets: sent from %s" % (address, sender), "VERP")
        yield reverse, [address], data


def fan_out(ctx: Context, post: Post) -> Optional[Result]:
    """Send the envelopes; note the Message-ID a true delivery report to owner-LIST@
    quotes (see bounces)."""
    for sender, recipients, data in post.envelopes:
        ctx.send(sender, recipients, data)
    bounces.record_sent(ctx, post.listname, post.head, "post")
    ctx.act("posted to %s, %d recipient(s)" % (post.listname, post.count), post.rule)
    return None


def archive_copy(ctx: Context, post: Post) -> Optional[Result]:
    """The post appended to the list's archive, as its Archive mode says."""
    mode = ctx.config.list_value(post.listname, "Archive")
    if mode:
        archive.append(ctx, post.m, post.listname, mode)
    return None


def receipt(ctx: Context, post: Post) -> Optional[Result]:
    """A receipt to a poster who asked for one (Return-Receipt-To, Disposition-Notification-To,
    the member option ACK)."""
    m, listname = post.m, post.listname
    # LISTSERV's ACK (a member option) asks for one on every post.
    if m.msg.get("Return-Receipt-To") or m.msg.get("Disposition-Notification-To") or \
            members.option_word(post.author_options, "ACK"):
        ctx.reply(m, ctx.text("posting.receipt", m.author, subject=redact.subject(messages.clean(m.subject(), 80)),
                              count=post.count, list=listname) + "\n",
                  subject=ctx.text("posting.receipt-subject", m.author, subject=m.subject() or listname))
        ctx.act("receipt sent", "receipt requested")
    return None


STEPS = (
    ("automatic", not_automatic),
    ("who may post", may_post),
    ("moderation", moderation),
    ("password", password),
    ("size", size),
    ("executable", executable),
    ("override", override_subject),
    ("redact", redact_password),
    ("headers", compose_headers),
    ("dmarc", dmarc),
    ("outbound form", outbound_form),
    ("arc", arc_seal),
    ("envelopes", envelopes),
    ("fan-out", fan_out),
    ("archive", archive_copy),
    ("receipt", receipt),
)


def _approval_list(ctx, m, listname):
    """The LIST-approval list a refused post to a Moderated list goes to, or None."""
    if ctx.config.list_value(listname, "Type") != "Moderated":
        return None
    approval = lists.find(ctx.config, listname + "-approval")
    if approval and rights.may(ctx, m.author, "post", approval)[0]:
        return approval
    return None


def refuse(ctx: Context, m: Inbound, listname: str, reason: str, said: Optional[str] = None) -> Result:
    """Refuse m: reason is logged, and the author is told it (said: as the author reads it,
    when the log's wording is not the reader's text)."""
    ctx.act("post to %s refused: %s" % (listname, reason), "rights")
    if getattr(reason, "key", None) == rights.BARRED:
        return Result.REFUSED  # Barred takes the robot's answer away too
    ctx.reply(m, ctx.text("posting.refused", m.author, address=lists.address(ctx.config, listname),
                          reason=reason if said is None else said, list=_quoted(listname),
                          robot=ctx.robot_address()) + "\n",
              subject=ctx.text("posting.refused-subject", m.author, subject=m.subject()[:60] or listname))
    return Result.REFUSED


def _quoted(name):
    return '"%s"' % name if " " in name else name


def reply_to(ctx: Context, m: Inbound, listname: str) -> Optional[str]:
    """The Reply-To (or None to leave the poster's own) for the list's reply type."""
    kind = ctx.config.list_value(listname, "Reply")
    list_addr = lists.address(ctx.config, listname)
    poster = messages.header(m.msg, "Reply-To") or m.author
    owner = lists.owner(ctx.config, listname)
    return {
        "Poster": None,
        "Forwarded": None,
        "PosterPlus": "%s, %s" % (poster, list_addr),
        "List": list_addr,
        "ListPlus": "%s, %s" % (list_addr, poster),
        "Owner": owner,
        "Tristero": ctx.robot_address(),
    }.get(kind, kind)


def _approved(ctx, m):
    """False when a password is set for the author and the post does not carry it in
    an Approved: header or as Majordomo's first line of the body (Approved: pw), so a
    forged From cannot post as the privileged; a wrong one counts as a wrong password
    (rights.password_refusal: lockouts), and an author read from the text is never
    approved. Neither form reaches the members or the archive (redact.public)."""
    given = messages.header(m.msg, "Approved") or messages.header(m.msg, "Approve") \
        or redact.body_approval(m.msg)
    why = rights.password_refusal(ctx, m.author, given or None)
    if (why is not None and why.key == rights.WRONG_PASSWORD) or (given and isinstance(why, rights.Locked)):
        audit.security(ctx, m.author, None, "Approved: header", "refused: " + why)
    return why is None


def _override(ctx, m, listname):
    """The subject without the OverRideSubject word when a privileged poster used it, else None."""
    word = ctx.config.get("Security", "OverRideSubject")
    subject = m.subject()
    if not word or word not in subject or not rights.privileged(ctx, m.author, listname) \
            or not _approved(ctx, m):
        return None
    ctx.act("list settings skipped for this post", "OverRideSubject")
    return " ".join(subject.replace(word, " ").split())


def compose(ctx: Context, m: Inbound, listname: str,
            override: Optional[str] = None) -> tuple[bytes, memoryview]:
    """The post as members receive it (without List-Unsubscribe): (its header block, its
    body), the body a view of the inbound bytes (a big post is not copied).

    override: the subject to use when a privileged poster skips the list's
    subject prefix, priority and reply type (OverRideSubject).
    """
    cfg = ctx.config
    list_addr = lists.address(cfg, listname)
    skip = override is not None
    prefix = "" if skip else cfg.list_value(listname, "ForwardPrefix")
    priority = "" if skip else cfg.list_value(listname, "ForcePriority")
    answer_to = None if skip else reply_to(ctx, m, listname)
    block, body = messages.split_view(m.raw)
    out = []
    for name, raw in messages.raw_headers(block):
        lname = name.lower()
        if lname in _DROP or (priority and lname in _PRIORITY_FIELDS):
            continue
        if lname == "reply-to" and answer_to is not None:
            continue
        if lname == "subject" and (skip or prefix and prefix.lower() not in m.subject().lower()):
            continue
        # A field in raw 8-bit text is decoded and written again in ASCII.
        out.append(messages.ascii_field(name, raw))
    fields = []
    if skip:
        fields.append(("Subject", override))
    elif prefix and prefix.lower() not in m.subject().lower():
        fields.append(("Subject", "%s %s" % (prefix, m.subject())))
    if answer_to is not None:
        fields.append(("Reply-To", answer_to))
    if cfg.list_value(listname, "Reply") == "Forwarded":
        fields += [("Resent-From", list_addr), ("Resent-Date", email.utils.format_datetime(ctx.now)),
                   ("Resent-Message-ID", ctx.ids.message_id(ctx.ids.next()))]
    if priority:
        fields += [("X-Priority", _PRIORITY[priority][0]), ("Importance", _PRIORITY[priority][1])]
    if "Message-ID" not in m.msg:
        # Every post carries one: a delivery report is believed by the Message-ID it quotes.
        fields.append(("Message-ID", ctx.ids.message_id(ctx.ids.next())))
    new = b"".join(_field(n, v) for n, v in fields)
    return b"".join(out) + new + headers.list_fields(ctx, listname), body


def _field(name, value):
    """A field whose text may not be ASCII (Subject, Reply-To): RFC 2047 where needed, folded."""
    policy = messages.POLICY
    return policy.header_factory(name, messages.clean(value)).fold(policy=policy).encode("ascii")
