"""Posting: a message to a list, checked, given the list's headers, sent to its members.

Each step takes the Context and the Post (what the steps learn about it) and either
returns None (go on) or a Result that ends the posting. The order is the table STEPS,
read top to bottom, as in the pipeline. A post that passes every step was posted.
"""

from __future__ import annotations

import email.utils
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from tristero.core import messages, outbound, redact, streams
from tristero.core.kinds import AutoReason
from tristero.mail import listbot, merge, mitigation, screening
from tristero.model import audit, lists, members, signing
from tristero.policy import authresults, bounces, rights
from tristero.services import archive, folders, headers, majordomo, moderation, nesting, proxy
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
    hold: str = ""                   # why the post is held for the moderators ("": it is not)
    override: Optional[str] = None   # the subject, when OverRideSubject skips the list's settings
    head: bytes = b""                # the header block members get (without List-Unsubscribe)
    body: Optional[memoryview] = None   # the body, a view of the inbound bytes (never copied unless re-encoded)
    eight_bit: bool = False          # its data is 8-bit (the outbound gate says)
    author_options: str = ""         # the author's member options on the list (NOREPRO, ACK), once read
    sender: str = ""                 # the envelope sender: owner-LIST@
    recipients: Iterable[str] = ()   # the members it goes to, streamed (see State.recipients)
    envelopes: Iterable = ()         # (sender, recipients, data) of each envelope, streamed
    count: int = 0                   # the recipients it was sent to
    remote: Optional[str] = None     # why it is the post of the remote list the list is a client of
    merge: bool = False              # sent to LIST-merge@ (mail.merge)
    copy: str = ""                   # P or M: one envelope per recipient (mail.merge.method)
    merged: bool = False             # personalised with the place-holders (owner, privileged)
    tree: Optional[nesting.Tree] = None  # the lists it reaches (lists within lists)


def post(ctx: Context, m: Inbound, listname: str) -> Result:
    """Send m to the members of listname, or refuse it with the reason."""
    return run(ctx, Post(m, listname))


def merge_post(ctx: Context, m: Inbound, listname: str) -> Result:
    """A post to LIST-merge@: personalised for each member (mail.merge)."""
    return run(ctx, Post(m, listname, merge=True))


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
        r = proxy.of(ctx, post.listname)
        if r is not None and m.automatic.reason == AutoReason.AUTO_SUBMITTED \
                and m.author.rpartition("@")[2].lower() == r.host:
            # The remote robot's answer to a PROXY command: the owner reads it (as LIST-owner@ would).
            owner = lists.owner(ctx.config, post.listname)
            mark = lists.address(ctx.config, post.listname).encode("ascii", "replace")
            ctx.send("", [owner], b"X-Loop: " + mark + b"\n" + (redact.stored(m) or m.raw).replace(b"\r\n", b"\n"))
            ctx.act("automatic mail from %s to %s, a client of %s: forwarded to %s"
                    % (m.author, post.listname, r.address, owner), m.automatic)
            return Result.REFUSED
        ctx.act("automatic mail to %s not posted" % post.listname, m.automatic)
        return Result.REFUSED
    return None


def may_post(ctx: Context, post: Post) -> Optional[Result]:
    """Who may post (rights.may); a post refused to a Moderated list, or made to a list
    or by a member set to moderate, is held for the moderators (see moderation)."""
    if nesting.sub_list(ctx, post.m.author):
        # A list of the site a member of another gets its posts expanded in the run, never
        # by mail: mail that claims to come from a list's address is forged (or a loop).
        ctx.act("post to %s from %s, a list of this site: not posted" % (post.listname, post.m.author),
                "lists within lists")
        return Result.REFUSED
    post.remote = proxy.from_remote(ctx, post.m, post.listname)
    if post.remote:
        post.rule = post.remote
        return None     # the remote list's post, for the list that is its client (Proxy)
    ok, post.rule = rights.may(ctx, post.m.author, "post", post.listname)
    if ok and post.m.hold and ctx.config.list_value(post.listname, "HoldInsteadOfDrop"):
        post.hold = ctx.text("moderation.reason-filter", post.m.author)
        ctx.act("held: %s" % post.m.hold, "HoldInsteadOfDrop")
        return None
    if ok:
        if moderation.needs_moderation(ctx, post.m.author, post.listname) and not _list_approved(ctx, post):
            post.hold = ctx.text("moderation.reason-moderate", post.m.author, list=post.listname)
        return None
    if _moderated(ctx, post.m, post.listname):
        if not _list_approved(ctx, post):
            post.hold = str(post.rule)
        return None
    return refuse(ctx, post.m, post.listname, post.rule)


def moderation_step(ctx: Context, post: Post) -> Optional[Result]:
    """Manual, "Moderated Lists", with a queue: a post that needs approval is held in
    the list's folder (held/) and its author told; the moderators get one message per
    run listing the posts held in it (services.moderation)."""
    if not post.hold:
        return None
    moderation.hold(ctx, post.m, post.listname, post.hold)
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
        if ctx.config.list_value(listname, "HoldInsteadOfDrop"):
            moderation.hold(ctx, m, listname, ctx.text("posting.too-big", m.author, size=len(m.raw), limit=limit))
            return Result.HELD
        return refuse(ctx, m, listname, "the message is %d bytes, more than the %d this list takes "
                                        "(MaxMessageSize)" % (len(m.raw), limit),
                      ctx.text("posting.too-big", m.author, size=len(m.raw), limit=limit))
    return None


def mail_merge(ctx: Context, post: Post) -> Optional[Result]:
    """CopyMethod P or M, or LIST-merge@: one envelope per member (mail.merge). Only the
    list's owner and the privileged (with their password, when one is set) merge: a
    merge from anyone else is refused; their post to a P or M list goes out as written."""
    post.copy = merge.method(ctx.config, post.listname, post.merge)
    if not post.copy:
        return None
    post.merged = rights.privileged(ctx, post.m.author, post.listname) and _approved(ctx, post.m)
    if post.merge and not post.merged:
        return refuse(ctx, post.m, post.listname, "only the list's owner and the privileged may send a mail "
                                                  "merge (%s-merge@)" % lists.local_part(post.listname),
                      ctx.text("merge.not-allowed", post.m.author, list=post.listname))
    return None


def majordomo_rules(ctx: Context, post: Post) -> Optional[Result]:
    """Majordomo's restrict_post, taboo_headers, taboo_body and maxlength: a post they
    stop goes to the list's owner ("BOUNCE"), and its author is told why."""
    m, listname = post.m, post.listname
    why = None
    names = majordomo.restricted(ctx, m.author, listname)
    if names is not None:
        why = ctx.text("majordomo.why-restricted", m.author, names=names)
    else:
        found = majordomo.taboo(ctx, m, listname)
        if found:
            why = ctx.text("majordomo.why-taboo", m.author, setting=found[0], pattern=found[1])
        else:
            length = majordomo.body_too_long(ctx, m, listname)
            if length is not None:
                why = ctx.text("majordomo.why-maxlength", m.author, length=length,
                               limit=ctx.config.list_value(listname, "maxlength"))
    if why is None:
        return None
    majordomo.bounce_to_owner(ctx, m, listname, why)
    return refuse(ctx, m, listname, why)


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
    # Lists within lists: each sub-list the post reaches marks it as well, so that a copy
    # coming back to a sub-list's address (through a remote list) is dropped there; but
    # for one LISTS does not show (Hidden, Internal), whose address members must not learn.
    post.tree = nesting.walk(ctx, post.listname)
    post.head += b"".join(b"X-Loop: " + lists.address(ctx.config, name).encode("ascii", "replace") + b"\n"
                          for name in post.tree.reached[1:] if not lists.hidden(ctx.config, name))
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
    if ours and ctx.signer is not None and not post.merged:
        # (A merge's copies each have their own body: one seal over the template would not verify.)
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
    tree = post.tree or nesting.walk(ctx, listname)
    skip, proxied = _remote_lists(ctx, post, tree)
    post.count, post.recipients = nesting.recipients(ctx, listname, skip, tree)   # its sub-lists' members too
    number = lists.number(cfg, listname)
    # The author's options (NOREPRO, ACK): read from the member file only when it holds
    # either word as an option somewhere (a search of its text: jack@ is no ACK), not
    # parsed for every post.
    entry = ctx.state.member(number, post.m.author) \
        if ctx.state.holds_option(number, "norepro") or ctx.state.holds_option(number, "ack") else None
    post.author_options = entry[1] if entry else ""
    if members.option_word(post.author_options, "NOREPRO") and members.receives_posts(entry[1]):
        # LISTSERV's NOREPRO: the author does not get their own post.
        post.count, post.recipients = post.count - 1, _Without(post.recipients, entry[0])
    personal = bool(cfg.globals("UnsubscribeURL"))
    verp = cfg.list_value(listname, "VERP")
    if post.copy:
        post.envelopes = merge.copies(ctx, post, post.copy, post.merged)
    elif personal or verp:
        post.envelopes = _each_own(ctx, post, personal, verp)
    else:
        post.envelopes = [(post.sender, post.recipients,
                           streams.Pieces(post.head + headers.unsubscribe_fields(ctx, listname, None) + b"\n",
                                          post.body, eight_bit=post.eight_bit))]
    if proxied:
        # ProxyReply: the remote lists among the members get their copy with its reply type.
        kind = cfg.list_value(listname, "ProxyReply")
        head = _with_reply_to(post.head, reply_to(ctx, post.m, listname, kind)
                              or messages.header(post.m.msg, "Reply-To"))
        post.envelopes = itertools.chain(post.envelopes, [(post.sender, proxied, streams.Pieces(
            head + headers.unsubscribe_fields(ctx, listname, None) + b"\n", post.body, eight_bit=post.eight_bit))])
        post.count += len(proxied)
    return None


def _remote_lists(ctx, post, tree):
    """(the address keys of the remote lists among the members that do not get this post,
    the remote lists that get it in a copy of their own (ProxyReply), or [])): a remote
    list ([list@remote], proxy.REMOTE) never gets a post that came from its own host,
    a member of a sub-list (tree: the lists the post reaches) as well."""
    found = {}
    for name in tree.reached:
        for address in proxy.remote_members(ctx, name):
            found.setdefault(members.address_key(address), address)
    remote = list(found.values())
    if not remote:
        return frozenset(), []
    hosts = proxy.origin_hosts(post.m, proxy.of(ctx, post.listname) if post.remote else None)
    kept = [a for a in remote if a.rpartition("@")[2].lower() not in hosts]
    for address in remote:
        if address not in kept:
            ctx.act("not sent to %s: the post came from its host" % address, "remote list member")
    own = bool(kept) and bool(ctx.config.list_value(post.listname, "ProxyReply"))
    skip = frozenset(members.address_key(a) for a in remote if own or a not in kept)
    return skip, kept if own else []


def _with_reply_to(head, answer_to):
    """head with its Reply-To fields replaced by answer_to (empty: none)."""
    fields = messages.raw_headers(head)
    return b"".join(raw for name, raw in fields if name.lower() != "reply-to") + (
        _field("Reply-To", answer_to) if answer_to else b"")


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
        # A sub-list's member (nesting.Via): the link and the return path name that list.
        own = getattr(address, "via", listname)
        # The header block shared, not copied: only the recipient's own field is new.
        data = streams.Pieces(post.head, headers.unsubscribe_fields(ctx, own, address) + b"\n", post.body,
                              eight_bit=post.eight_bit) \
            if personal else shared
        reverse = bounces.envelope_sender(ctx, own, address) if verp else sender
        if verp and reverse == sender:
            ctx.act("VERP: the return path for %s would pass 64 octets: sent from %s" % (address, sender), "VERP")
        yield reverse, [address], data


def fan_out(ctx: Context, post: Post) -> Optional[Result]:
    """Send the envelopes; note the Message-ID a true delivery report to owner-LIST@
    quotes (see bounces)."""
    deliver_to = folders.extension(ctx, post.listname)     # CopyMethod F: member+LIST@
    for sender, recipients, data in post.envelopes:
        ctx.send(sender, map(deliver_to, recipients) if deliver_to else recipients, data)
    bounces.record_sent(ctx, post.listname, post.head, "post")
    ctx.act("posted to %s, %d recipient(s)" % (post.listname, post.count), post.rule)
    return None


def folder_copies(ctx: Context, post: Post) -> Optional[Result]:
    """The post written into each folder member's maildir (services.folders), once."""
    if ctx.config.list_value(post.listname, "FolderMembers"):
        data = bytes(streams.Pieces(post.head + headers.unsubscribe_fields(ctx, post.listname, None) + b"\n",
                                    post.body))
        if post.merged:
            data = merge.folder_copy(ctx, post, data)
        count = folders.deliver(ctx, post.listname, data)
        ctx.act("posted to %s, %d folder(s)" % (post.listname, count), "FolderMembers")
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
    ("size", size),
    ("majordomo", majordomo_rules),
    ("moderation", moderation_step),
    ("password", password),
    ("merge", mail_merge),
    ("executable", executable),
    ("override", override_subject),
    ("redact", redact_password),
    ("headers", compose_headers),
    ("dmarc", dmarc),
    ("outbound form", outbound_form),
    ("arc", arc_seal),
    ("envelopes", envelopes),
    ("fan-out", fan_out),
    ("folders", folder_copies),
    ("archive", archive_copy),
    ("receipt", receipt),
)


def _moderated(ctx, m, listname):
    """True when a post its author may not make to listname goes to moderators: the
    list is Moderated and has some (a rule of access.ini that takes W away still refuses)."""
    if ctx.config.list_value(listname, "Type") != "Moderated" and ctx.config.list_value(listname, "moderate") != "yes":
        return False
    if "W" in rights.rule_flags(ctx, m.author, listname)[1]:
        return False
    return bool(moderation.moderators(ctx, listname))


def _list_approved(ctx, post):
    """Majordomo's Approved: header (or first body line) with the list's approve_passwd
    (a hash) approves the post without holding it."""
    stored = ctx.config.raw(lists.section(post.listname), "approve_passwd")
    m = post.m
    given = messages.header(m.msg, "Approved") or messages.header(m.msg, "Approve") \
        or redact.body_approval(m.msg)
    if not stored or not given:
        return False
    if rights.verify(given.strip(), stored):
        ctx.act("post to %s approved by its Approved: password" % post.listname, "approve_passwd")
        return True
    audit.security(ctx, m.author, post.listname, "Approved: header", "refused: not the list's approve_passwd")
    return False


def release(ctx: Context, listname: str, author: str, raw: bytes, name: str) -> Result:
    """Post a held post a moderator approved: the steps after moderation and the
    password (from merge on: a P or M list's copies), with the original author in From.
    Its size was checked before it was held."""
    return _approved_steps(ctx, Post(_made(ctx, author, raw, name), listname, rule="approved by a moderator"))


def distributed(ctx: Context, listname: str, author: str, raw: bytes, name: str, pre_approved: bool) -> Result:
    """DISTRIBUTE POST: raw (a job's data set) posted to listname by author, whom the
    job's password proved, after the site's filters of authors and subjects
    (SpamCheckList, [Kill Authors], [Kill Subjects]: a refusal told to the author).
    Pre-approved (a PostMaster's PRE-APPROVED=YES): as if a moderator had approved it
    (the list's size limit was checked by the command, which answers the job's sender);
    else every step, as the author's post (a Moderated list holds it for its moderators)."""
    post = Post(_made(ctx, author, raw, name), listname)
    post.m.destinations = [lists.address(ctx.config, listname)]
    for screen in (screening.spam_list, screening.kill_authors, screening.kill_subjects):
        end = screen(ctx, post.m, warn=False)
        if end is not None:
            return refuse(ctx, post.m, listname, "%s (%s)" % (end.action, end.rule))
    if not pre_approved:
        return run(ctx, post)
    post.rule = "pre-approved (DISTRIBUTE POST PRE-APPROVED=YES)"
    return _approved_steps(ctx, post)


def _made(ctx: Context, author: str, raw: bytes, name: str) -> Inbound:
    """A message the site holds (a held post, a job's data set) as an Inbound by author."""
    m = Inbound(name, raw)
    m.msg = moderation.parsed(ctx, raw)
    m.id = messages.header(m.msg, "Message-ID") or name
    m.author = author
    return m


def _approved_steps(ctx: Context, post: Post) -> Result:
    """The steps from merge on (after who may post, moderation and the password)."""
    start = [name for name, _ in STEPS].index("merge")
    for _, step in STEPS[start:]:
        result = step(ctx, post)
        if result is not None:
            return result
    return Result.DONE


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


def reply_to(ctx: Context, m: Inbound, listname: str, kind: Optional[str] = None) -> Optional[str]:
    """The Reply-To (or None to leave the poster's own) for the list's reply type (or kind)."""
    kind = kind or ctx.config.list_value(listname, "Reply")
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
        # Lists within lists: a post goes out once, from the list it was sent to (the top
        # list), to the members of every list below it (services.nesting).
        "TopList": list_addr,
        "TopListPlus": "%s, %s" % (list_addr, poster),
        "ToList": None,
        "ToListPlus": "%s, %s" % (poster, list_addr),
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
    if not skip and cfg.list_value(listname, "Reply") in ("ToList", "ToListPlus"):
        out = _to_list(out, list_addr)
    if "Message-ID" not in m.msg:
        # Every post carries one: a delivery report is believed by the Message-ID it quotes.
        fields.append(("Message-ID", ctx.ids.message_id(ctx.ids.next())))
    new = b"".join(_field(n, v) for n, v in fields)
    return b"".join(out) + new + headers.list_fields(ctx, listname), body


def _to_list(out, list_addr):
    """ToList, ToListPlus: the header lines with the top list added to To (the original
    line kept as written, the list on a folded line of its own; a To made when there is
    none), unless it is there already, so that a reply to all reaches the list."""
    lines, done = [], False
    for line in out:
        if not done and line.split(b":", 1)[0].strip().lower() == b"to":
            done = True
            value = line.split(b":", 1)[1].decode("ascii", "replace")
            if list_addr.lower() not in [a.lower() for _, a in email.utils.getaddresses([value])]:
                end = b"\r\n" if line.endswith(b"\r\n") else b"\n"
                line = line[:len(line) - len(end)] if line.endswith(end) else line
                line += b",\n " + list_addr.encode("ascii") + b"\n"
        lines.append(line)
    if not done:
        lines.append(_field("To", list_addr))
    return lines


def _field(name, value):
    """A field whose text may not be ASCII (Subject, Reply-To): RFC 2047 where needed, folded."""
    policy = messages.POLICY
    return policy.header_factory(name, messages.clean(value)).fold(policy=policy).encode("ascii")
