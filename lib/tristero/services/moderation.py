"""Moderation with a queue: posts held in the list's folder (held/), decided by its moderators.

A held post is one file, held/YYYYMMDD-HASH, written through the run's
transaction like every other file: the post as it arrived, after one first line
"X-Tristero-Held: author" (the author the pipeline read, so that the decision
does not read it again). A decision replaces it by held/ID.decided, which says
who decided what: the first decision wins, a later one is told "already
approved by X". Moderators (the LIST-approval list's members, Majordomo's
``moderator``, else the list's owner) get one message per run listing the posts
held in it, numbered, with a prebuilt block: a HELD line for each number (the
post's id and a cookie bound to the post, the list and that moderator), to which
they add APPROVE 1 3, REJECT 2 "why", DISCARD 4, BAN 5, APPROVE 6 ALWAYS.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re

from tristero.core import messages, redact
from tristero.model import access, cookies, lists, members
from tristero.policy import rights
from tristero.services import repository

HELD = repository.HELD
FIRST = b"X-Tristero-Held: "
DECIDED = ".decided"
ID = re.compile(r"\d{8}-[0-9a-f]{12}")
VERBS = {"APPROVE": "moderation.verb.approve", "ALWAYS": "moderation.verb.always",
         "REJECT": "moderation.verb.reject", "DISCARD": "moderation.verb.discard", "BAN": "moderation.verb.ban"}
PREVIEW_LINES = 5
MAX_LISTED = 200          # posts one listing shows (the rest: HELD list, once those are decided)
PREVIEW_WIDTH = 72
MAX_READ = 1 << 30        # a held post is read whole only to be posted (MaxMessageSize bounds it)


def folder(ctx, listname):
    return os.path.join(repository.folder(ctx, listname), HELD)


def path(ctx, listname, post_id):
    return os.path.join(folder(ctx, listname), post_id)


def moderators(ctx, listname):
    """The moderators of listname, sorted: Majordomo's moderator, the LIST-approval
    list's members (any type: a Closed one too), else the owner."""
    cfg = ctx.config
    found = set()
    named = cfg.list_value(listname, "moderator")
    if named:
        found.add(named.lower())
    approval = lists.find(cfg, listname + "-approval")
    if approval and lists.number(cfg, approval):
        found.update(a.lower() for a in ctx.state.recipients(lists.number(cfg, approval))[1])
    if not found:
        owner = lists.owner(cfg, listname)
        if owner:
            found.add(owner.lower())
    return sorted(found)


def is_moderator(ctx, who, listname):
    return not rights.unproven(ctx, who) and (
        who.lower() in moderators(ctx, listname) or rights.is_owner(ctx.config, who, listname)
        or rights.is_superuser(ctx.config, who))


def needs_moderation(ctx, author, listname):
    """True when a post by author to listname is held though its author may post: the
    list is set moderate (Majordomo's moderate = yes), or the member MODERATE; never a
    moderator's. A member file that holds the word nowhere is not loaded (a big list)."""
    if ctx.config.list_value(listname, "moderate") == "yes":
        return not is_moderator(ctx, author, listname)
    number = lists.number(ctx.config, listname)
    if not number or not ctx.state.holds_option(number, "moderate"):
        return False
    entry = ctx.state.members(number).get(author)
    return entry is not None and members.option_word(entry[1], "MODERATE") is not None \
        and not is_moderator(ctx, author, listname)


def post_id(ctx, m):
    day = ctx.now.strftime("%Y%m%d")
    return "%s-%s" % (day, hashlib.sha256(m.name.encode() + b"\0" + m.raw).hexdigest()[:12])


def hold(ctx, m, listname, reason):
    """Hold m for listname's moderators; tell its author (unless automatic mail)."""
    pid = post_id(ctx, m)
    # Passwords (an Approved: field, a first-line approval) starred: they never reach a moderator.
    kept = redact.stored(m) or m.raw
    ctx.write(path(ctx, listname, pid), FIRST + m.author.encode("ascii", "replace") + b"\n" + kept)
    held_now(ctx).append((listname, pid))
    ctx.act("post to %s held for moderation as %s: %s" % (listname, pid, reason), "moderation")
    if not m.automatic:
        ctx.reply(m, ctx.text("moderation.held", m.author, list=listname, reason=reason,
                              days=ctx.config.list_value(listname, "HoldDays")) + "\n",
                  subject=ctx.text("moderation.held-subject", m.author, subject=m.subject()[:60] or listname))


def held_now(ctx):
    """The (list, id) held in this run (the moderators' message at its end)."""
    return ctx.moderation_held


def read(ctx, listname, pid):
    """(author, raw) of a held post, or None when it is not held (decided, expired, never)."""
    p = path(ctx, listname, pid)
    if not repository.present(ctx, p):
        return None
    try:
        data = repository.read(p, MAX_READ, ctx=ctx)
    except repository.Refused:
        return None
    if not data.startswith(FIRST):
        return None
    first, _, raw = data.partition(b"\n")
    return first[len(FIRST):].decode("ascii", "replace"), raw


def decided(ctx, listname, pid):
    """(verb, moderator) of a decision made, or None."""
    p = path(ctx, listname, pid) + DECIDED
    if not repository.present(ctx, p):
        return None
    try:
        verb, _, who = repository.read(p, 4096, ctx=ctx).decode("utf-8", "replace").strip().partition(" ")
    except repository.Refused:
        return None
    return verb, who


def queue(ctx, listname):
    """The ids held for listname, oldest first."""
    root = folder(ctx, listname)
    return [name for name, _, _ in repository.listing(root, ctx) if ID.fullmatch(name)]


def parsed(ctx, raw):
    """A held post read as the pipeline read it (MaxParts); one that does not read so,
    its header only."""
    try:
        return messages.read(raw, ctx.config.globals("MaxParts"))
    except (messages.Unreadable, messages.TooManyParts):
        return messages.read(messages.split_raw(raw)[0] + b"\n", 0)


def summary(ctx, raw, reader):
    """subject, size and first lines of a held post, as a moderator reads them."""
    msg = parsed(ctx, raw) if raw else None
    subject = redact.subject(messages.clean(messages.header(msg, "Subject"), 80)) if msg is not None else ""
    lines = []
    if msg is not None:
        text = messages.body_text(msg, [])
        for line in text.splitlines():
            if line.strip():
                lines.append("    " + messages.clean(line, PREVIEW_WIDTH))
            if len(lines) >= PREVIEW_LINES:
                break
    return subject, len(raw), "\n".join(lines)


def key(ctx, listname, pid, moderator):
    """The cookie that lets moderator decide post pid of listname (until it expires)."""
    expires = _held_day(pid) + datetime.timedelta(days=ctx.config.list_value(listname, "HoldDays") + 1)
    return cookies.bake(ctx.cookie_key(), "MODERATE " + pid, listname, moderator, expires)


def key_valid(ctx, listname, pid, moderator, code):
    return bool(ID.fullmatch(pid)) and cookies.valid(ctx.cookie_key(), code, "MODERATE " + pid, listname,
                                                     moderator, ctx.now.date(), exact=True)


def _held_day(pid):
    return datetime.date(int(pid[:4]), int(pid[4:6]), int(pid[6:8]))


def listing(ctx, listname, ids, moderator):
    """The numbered listing of ids (the first MAX_LISTED of them) and its prebuilt block,
    for moderator."""
    entries, block = [], []
    for n, pid in enumerate(ids[:MAX_LISTED], 1):
        held = read(ctx, listname, pid)
        if held is None:
            continue
        author, raw = held
        subject, size, first = summary(ctx, raw, moderator)
        entries.append(ctx.text("moderation.entry", moderator, n=n, author=author, subject=subject,
                                size=repository.size_text(size), lines=first, id=pid))
        block.append("HELD %s %d=%s/%s" % (_word(listname), n, pid, key(ctx, listname, pid, moderator)))
    return entries, block


def _word(listname):
    return '"%s"' % listname if " " in listname else listname


def announce(ctx, listname, ids):
    """Tell each moderator of listname about the posts ids, newly held: one message each."""
    for moderator in moderators(ctx, listname):
        entries, block = listing(ctx, listname, ids, moderator)
        if not entries:
            continue
        if len(ids) > len(entries):
            entries.append(ctx.text("moderation.more", moderator, count=len(ids) - len(entries), list=listname))
        body = ctx.text("moderation.notice", moderator, list=listname, count=len(ids),
                        entries="\n\n".join(entries), block="\n".join(["START"] + block + ["STOP"]),
                        robot=ctx.robot_address(), days=ctx.config.list_value(listname, "HoldDays"))
        msg = ctx.message(moderator, ctx.text("moderation.notice-subject", moderator, list=listname,
                                              count=len(ids)), body + "\n", kind="auto-generated")
        ctx.send_message(msg, [moderator])
    ctx.act("moderators of %s told of %d held post(s)" % (listname, len(ids)), "moderation")


def decide(ctx, listname, pid, verb, who, why="", number=None):
    """Settle held post pid of listname: verb is APPROVE, ALWAYS, REJECT, DISCARD or BAN.
    Returns (done, text for who): an approved post is handed to the posting steps
    (ctx.outcome's release list, read by routing)."""
    n = pid if number is None else number
    held = read(ctx, listname, pid)
    if held is None:
        before = decided(ctx, listname, pid)
        if before:
            return False, ctx.text("moderation.already", who, n=n, verb=ctx.text(
                VERBS.get(before[0], VERBS["APPROVE"]), who), who=before[1])
        return False, ctx.text("moderation.gone", who, n=n)
    author, raw = held
    p = path(ctx, listname, pid)
    ctx.delete(p)
    ctx.write(p + DECIDED, ("%s %s\n" % (verb, who)).encode("utf-8"))
    subject = messages.clean(messages.header(parsed(ctx, raw), "Subject"), 60)
    if verb in ("APPROVE", "ALWAYS"):
        released(ctx).append((listname, author, raw, pid))
        if verb == "ALWAYS":
            _set_rule(ctx, author, listname, grant="W")
    elif verb == "REJECT":
        msg = ctx.message(author, ctx.text("moderation.rejected-subject", author, subject=subject or listname),
                          ctx.text("moderation.rejected", author, list=listname, subject=subject,
                                   why=why or ctx.text("moderation.no-reason", author)) + "\n")
        ctx.send_message(msg, [author])
    elif verb == "BAN":
        _set_rule(ctx, author, listname, mask="W")
    ctx.act("held post %s to %s (%s): %s by %s" % (pid, listname, author, verb.lower(), who), "moderation")
    decisions(ctx).append((listname, pid, verb, who, author, subject))
    return True, ctx.text("moderation.done", who, n=n, author=author,
                          verb=ctx.text(VERBS[verb], who))


def _set_rule(ctx, user, listname, grant="", mask=""):
    rule = next((r for r in ctx.state.access() if r.same_target(user, listname)), None)
    granted = (set(rule.granted) if rule else set()) | set(grant)
    masked = (set(rule.masked) if rule else set()) | set(mask)
    granted -= set(mask)
    masked -= set(grant)
    ctx.state.set_rule(user, listname, status=access.status_string(granted, masked))


def released(ctx):
    """[(list, author, raw, id)] approved in this unit, for the posting steps."""
    return ctx.outcome.moderation_released


def decisions(ctx):
    """[(list, id, verb, moderator, author, subject)] made in this unit: every moderator told."""
    return ctx.outcome.moderation_decisions


def tell_moderators(ctx):
    """One message to each moderator of each list decided on in this unit."""
    by_list = {}
    for entry in decisions(ctx):
        by_list.setdefault(entry[0], []).append(entry)
    for listname, entries in by_list.items():
        for moderator in moderators(ctx, listname):
            lines = [ctx.text("moderation.outcome-line", moderator, id=pid, author=author, subject=subject,
                              who=who, verb=ctx.text(VERBS[verb], moderator))
                     for _, pid, verb, who, author, subject in entries]
            msg = ctx.message(moderator, ctx.text("moderation.outcome-subject", moderator, list=listname),
                              ctx.text("moderation.outcome", moderator, list=listname, lines="\n".join(lines))
                              + "\n", kind="auto-generated")
            ctx.send_message(msg, [moderator])
    decisions(ctx).clear()


def expired(ctx, listname):
    """Held posts (and decisions) of listname older than HoldDays: the paths to remove;
    each post's author is told."""
    keep = ctx.config.list_value(listname, "HoldDays")
    cutoff = (ctx.now.date() - datetime.timedelta(days=keep)).strftime("%Y%m%d")
    try:
        root = folder(ctx, listname)
    except repository.Refused:
        return
    for name, _, _ in repository.listing(root, ctx):
        pid = name[:-len(DECIDED)] if name.endswith(DECIDED) else name
        if not ID.fullmatch(pid) or pid[:8] >= cutoff:
            continue
        if name == pid:
            held = read(ctx, listname, pid)
            if held is not None:
                author, raw = held
                subject = messages.clean(messages.header(parsed(ctx, raw), "Subject"), 60)
                msg = ctx.message(author, ctx.text("moderation.expired-subject", author, subject=subject or listname),
                                  ctx.text("moderation.expired", author, list=listname, subject=subject,
                                           days=keep) + "\n")
                ctx.send_message(msg, [author])
                ctx.act("held post %s to %s expired (HoldDays), %s told" % (pid, listname, author), "HoldDays")
        yield os.path.join(root, name)
