"""Posting: a message to a list, checked, given the list's headers, sent to its members."""

import email.utils

from tristero.core import messages, redact, streams
from tristero.core.kinds import AutoReason
from tristero.mail import listbot
from tristero.model import audit, lists, members
from tristero.policy import bounces, rights
from tristero.services import archive, headers

# Fields of the original that a list replaces or must not pass on.
_DROP = {"return-path", "delivered-to", "x-original-to", "envelope-to", "precedence",
         "list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-unsubscribe-post",
         "list-post", "list-owner", "list-archive", "sender", "errors-to",
         "return-receipt-to", "disposition-notification-to", "approved", "approve"}
_PRIORITY_FIELDS = {"x-priority", "priority", "importance", "x-msmail-priority"}
_PRIORITY = {"Low": ("5", "low"), "Normal": ("3", "normal"), "Urgent": ("1", "high")}


# Automatic mail that must never reach a list's members (auto-replies, bounces).
_NOT_POSTS = (AutoReason.AUTO_SUBMITTED, AutoReason.NULL_SENDER, AutoReason.MAILER_DAEMON, AutoReason.REPORT)


def post(ctx, m, listname):
    """Send m to the members of listname, or refuse it with the reason."""
    if m.automatic and m.automatic.reason in _NOT_POSTS:
        ctx.act("automatic mail to %s not posted" % listname, m.automatic)
        return
    ok, rule = rights.may(ctx, m.author, "post", listname)
    if not ok:
        approval = _approval_list(ctx, m, listname)
        if approval:
            # Manual, "Moderated Lists": the post goes to the moderators, who
            # forward what they approve.
            ctx.act("post to %s sent to %s for moderation" % (listname, approval), "Type=Moderated")
            post(ctx, m, approval)
            return
        refuse(ctx, m, listname, rule)
        return
    if rights.posts_closed(ctx.config.list_value(listname, "Type")) and not _approved(ctx, m):
        refuse(ctx, m, listname, "a password is set for %s: a post only the privileged may make needs "
                                 "it in an Approved: header" % m.author)
        return
    cfg = ctx.config
    limit = cfg.list_value(listname, "MaxMessageSize")
    if len(m.raw) > limit:
        refuse(ctx, m, listname, "the message is %d bytes, more than the %d this list takes (MaxMessageSize)"
               % (len(m.raw), limit))
        return
    if cfg.list_value(listname, "Type") == "Executable":
        # Files on demand: answered with files or commands, never passed on.
        listbot.executable(ctx, m, listname, rule)
        return
    number = lists.number(cfg, listname)
    override = _override(ctx, m, listname)
    # From here on the post as members and the archive get it: no password in it.
    m = redact.public(m)
    head, body = compose(ctx, m, listname, override)
    sender = "owner-%s@%s" % (lists.local_part(listname), ctx.domain)
    roster = ctx.state.members(number)
    # Recipients stream from the member file's order, which every write keeps
    # sorted by domain, so envelopes bunch by mail server; each envelope is
    # sorted again when written (a file edited by hand may be in any order).
    personal = "{address}" in cfg.globals("UnsubscribeURL")
    verp = cfg.list_value(listname, "VERP")
    if personal or verp:
        # A one-click link names its recipient, so each gets a copy of their own;
        # with VERP each gets an envelope of its own, whose sender names them.
        shared = streams.Pieces(head + headers.unsubscribe_fields(ctx, listname, None) + b"\n", body)
        for address in members.recipients(roster):
            data = streams.Pieces(head + headers.unsubscribe_fields(ctx, listname, address) + b"\n", body) \
                if personal else shared
            reverse = bounces.envelope_sender(ctx, listname, address) if verp else sender
            if verp and reverse == sender:
                ctx.act("VERP: the return path for %s would pass 64 octets: sent from %s" % (address, sender),
                        "VERP")
            ctx.send(reverse, [address], data)
    else:
        ctx.send(sender, members.recipients(roster), streams.Pieces(head + headers.unsubscribe_fields(ctx, listname, None)
                                                            + b"\n", body))
    # The Message-ID a true delivery report to owner-LIST@ quotes (see bounces).
    bounces.record_sent(ctx, listname, head, "post")
    count = sum(1 for _ in members.recipients(roster))
    ctx.act("posted to %s, %d recipient(s)" % (listname, count), rule)
    if cfg.list_value(listname, "Archive"):
        archive.append(ctx, m, listname, cfg.list_value(listname, "Archive"))
    if m.msg.get("Return-Receipt-To") or m.msg.get("Disposition-Notification-To"):
        ctx.reply(m, "Your message \"%s\" was sent to the %d recipient(s) of %s.\n"
                  % (redact.subject(messages.clean(m.subject(), 80)), count, listname),
                  subject="Receipt: " + (m.subject() or listname))
        ctx.act("receipt sent", "receipt requested")


def _approval_list(ctx, m, listname):
    """The LIST-approval list a refused post to a Moderated list goes to, or None."""
    if ctx.config.list_value(listname, "Type") != "Moderated":
        return None
    approval = lists.find(ctx.config, listname + "-approval")
    if approval and rights.may(ctx, m.author, "post", approval)[0]:
        return approval
    return None


def refuse(ctx, m, listname, reason):
    ctx.act("post to %s refused: %s" % (listname, reason), "rights")
    if reason == "barred":
        return  # Barred takes the robot's answer away too
    ctx.reply(m, "Your message to %s was not sent to the list:\n\n  %s\n\n"
                 "Send INFO %s to %s for how to join.\n"
              % (lists.address(ctx.config, listname), reason, _quoted(listname), ctx.robot_address()),
              subject="Not posted: " + (m.subject()[:60] or listname))


def _quoted(name):
    return '"%s"' % name if " " in name else name


def reply_to(ctx, m, listname):
    """The Reply-To (or None to leave the poster's own) for the list's reply type."""
    kind = ctx.config.list_value(listname, "Reply")
    list_addr = lists.address(ctx.config, listname)
    poster = messages.header(m.msg, "Reply-To") or m.author
    owner = ctx.config.raw(lists.section(listname), "Owner") or ctx.config.globals("SuperUser")
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
    if why == rights.WRONG or (given and isinstance(why, rights.Locked)):
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


def compose(ctx, m, listname, override=None):
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
