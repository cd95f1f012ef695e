"""Memberships as the commands change them: joining and leaving a list, the cookie
confirmation, a request held for the owner, the welcome and farewell files, the
AnnounceList, list settings set by mail, a digest member's entry, and who outranks a
user. Shared by several commands (SUBSCRIBE, ADD, UNSUBSCRIBE, REMOVE, SET, REWIND,
CATCHUP, SETPASS, GRANT, CREATE ...); each says its result on the Session, in texts
of the area membership (templates/en/membership.txt).
"""

import datetime

from tristero.core import fields, messages
from tristero.model import access, audit, cookies, lists, members, quotas
from tristero.model.members import address_key
from tristero.policy.bounces import record_sent
from tristero.services import digests, majordomo, repository, session

# SET list OPTION value: the list settings an owner sets by mail (TYPE: a PostMaster).
LIST_OPTIONS = {"REPLY": "Reply", "TYPE": "Type", "FORWARDPREFIX": "ForwardPrefix",
                "FORCEPRIORITY": "ForcePriority", "ARCHIVE": "Archive", "ARCHIVEDAYS": "ArchiveDays",
                "COPYMETHOD": "CopyMethod", "MODERATE": "moderate"}
LIST_OPTIONS.update({"PROXY": "Proxy", "PROXY-REPLY": "ProxyReply"})      # proxy lists (services.proxy)


def quoted(name):
    """A list's name as a command word: in double quotes when it holds a space."""
    return '"%s"' % name if " " in name else name


# --- joining and leaving ---------------------------------------------------------------

def may_join(s, listname, target, name_words=()):
    """True when target (called name_words) can become a member of listname; else says why not."""
    name = " ".join(name_words)
    why = session.address_problem(s, target, listname)
    if not why and fields.problem(name):
        why = s.text("membership.bad-name", name=messages.clean(name, 80), why=fields.problem(name))
    if why:
        s.result("refused", why)
        return False
    if target in session.members_of(s, listname):
        s.result("ok", s.text("membership.already-member", address=target, list=listname))
        return False
    return True


def join(s, listname, target, name_words):
    """Make target (called name_words) a member of listname, audited."""
    options = members.clean_options(["NAME " + " ".join(name_words)] if name_words else [])
    number = lists.number(s.ctx.config, listname)
    s.ctx.state.add_member(number, target, options)
    audit.list_event(s.ctx, number, "subscribe", target, s.sender)
    # Who joins in a language's command words (SUSCRIBIR) reads that language from then on.
    spoken = s.ctx.spoken.get(target.lower())
    if spoken and address_key(target) == address_key(s.sender) and "*" not in target and \
            spoken != (s.ctx.own_language(target, listname) or s.ctx.language(None, listname)):
        try:
            s.ctx.state.set_rule(target, listname, language=spoken)
        except ValueError as e:     # an address access.ini cannot hold: the site's Language, then
            s.ctx.act("%s keeps the list's language: %s" % (target, e), "access.ini")
        else:
            s.ctx.act("%s reads %s in %s" % (target, listname, spoken), "the language of the command")


def leave(s, listname, target, by=None, how=None, quiet=False):
    """target leaves listname (by: the owner who removed them; how: the audit's word for
    how, when not the sender's own wish or the owner's), told with the farewell (unless
    quiet: a list, whose members would read it as a post)."""
    number = lists.number(s.ctx.config, listname)
    s.ctx.state.remove_member(number, target)
    audit.list_event(s.ctx, number, "unsubscribe", target, s.sender, how)
    s.result("ok", s.text("membership.left", address=target, list=listname))
    s.ctx.act("%s left %s" % (target, listname), "removed by " + by if by else how or "unsubscribe")
    if not s.ctx.config.globals("SilentAdd") and not quiet:
        friendly(s, listname, "farewell", target,
                 s.ctx.list_text(listname, "membership.farewell.subject", target, list=listname))
    # The language chosen for the list (SET list LANGUAGE) leaves with the member: no
    # address stays behind in access.ini for it (the rest of this answer keeps it).
    if any(r.language and r.same_target(target, listname) for r in s.ctx.state.access()):
        s.ctx.spoken.setdefault(target.lower(), s.ctx.own_language(target, listname))
        s.ctx.state.set_rule(target, listname, language="")


def welcome(s, listname, target, lead=""):
    """The list's welcome (welcome.txt and welcome/) to a new member, unless SilentAdd."""
    if not s.ctx.config.globals("SilentAdd") and majordomo.welcome_on(s.ctx, listname):
        friendly(s, listname, "welcome", target,
                 s.ctx.list_text(listname, "membership.welcome.subject", target, list=listname),
                 lead)


def friendly(s, listname, name, to, subject, lead=""):
    """Send the list's name.txt (welcome, farewell) to, with lead text before it and the
    files of the list's name/ folder attached."""
    root = repository.folder(s.ctx, listname)
    text = repository.text_file(root, name + ".txt", ctx=s.ctx)
    files = repository.folder_files(s.ctx, root, name)
    if text is None and not lead and not files:
        return
    ctx = s.ctx
    msg = ctx.message(to, subject, lead + ("\n" + text if text else ""), kind="auto-generated")
    if files:
        messages.attach(msg, files)
    ctx.send_message(msg, [to])


# --- confirmation and the owner's consent ------------------------------------------------

def needs_confirmation(s, listname, target, other, policy):
    """Cookie confirmation: +confirm policies, InternetPolicySub 1 (for another address)
    and 2 (also for every address outside the site's domains)."""
    level = s.ctx.config.get("Security", "InternetPolicySub")
    return policy.endswith("+confirm") or (other and level >= 1) or (level >= 2 and not s.ctx.ours(target))


def confirmed(s, listname, target):
    """Did the sender give (COOKIE) a valid cookie for target joining listname?"""
    ctx = s.ctx
    return cookies.valid(ctx.cookie_key(), s.cookie or "", "SUB", listname, target, ctx.now.date())


def ask_confirmation(s, listname, target, verb="SUBSCRIBE"):
    """Send target a cookie to join listname with; the subscription waits for the reply
    (its commands: COOKIE, then verb, the word of SUBSCRIBE the sender used: SUSCRIBIR
    keeps its language for the member)."""
    ctx = s.ctx
    # Anyone may ask for anyone (the web form, a forged From), run after run: an
    # address that is a stranger here gets at most MaxStrangerReplies mails a day.
    if ctx.stranger(target) and not quotas.stranger_reply(ctx, target):
        limit = ctx.config.globals("MaxStrangerReplies")
        s.result("refused", s.text("membership.confirm-limit", address=target, limit=limit))
        ctx.act("no confirmation to %s: %d mails went today to this address, which is not a member of a "
                "list here" % (target, limit), "MaxStrangerReplies")
        return
    days = ctx.config.get("Security", "CookieDays")
    code = cookies.bake(ctx.cookie_key(), "SUB", listname, target,
                        ctx.now.date() + datetime.timedelta(days=days))
    # The name is not repeated: a confirmation goes to an address the requester
    # chose, and must carry nothing of theirs. The name can be given in the reply.
    other = address_key(target) != address_key(s.sender)
    command = "%s %s" % ("SUBSCRIBE" if other else verb, quoted(listname))
    text = ctx.list_text(listname, "membership.confirm-other" if other else "membership.confirm", target,
                         address=target, list=listname, requester=s.sender, days=days)
    # The commands a reply sends back (robot.parse: "---", then START).
    text += "\n\n---\nSTART\nCOOKIE %s\n%s\nSTOP\n" % (code, command)
    msg = ctx.message(target, ctx.list_text(listname, "membership.confirm.subject", target, list=listname), text,
                      kind="auto-replied", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [target])
    ctx.confirmations_sent.add(address_key(target))
    s.result("held", s.text("membership.confirm-sent", address=target))
    if not other:
        # The reply goes to the mailbox the cookie went to: its JSON part may name it.
        s.issued(code)
    ctx.act("confirmation of %s for %s sent" % (target, listname), "cookie")


def hold_for_owner(s, listname, target, name):
    """Pass a subscription to the owner in a form the owner only has to reply to."""
    cfg = s.ctx.config
    owner = lists.owner(cfg, listname)
    if not owner:
        s.result("refused", s.text("membership.no-owner", list=listname))
        return
    add = "ADD %s %s%s" % (quoted(listname), target, " " + name if name else "")
    ctx = s.ctx
    text = ctx.list_text(listname, "membership.owner-request", owner, requester=s.sender, address=target,
                         list=listname, type=cfg.list_value(listname, "Type"))
    text += "\n\n---\nSTART\n%s\nSTOP\n" % add
    msg = ctx.message(owner, ctx.list_text(listname, "membership.owner-request.subject", owner, address=target,
                                           list=listname),
                      text, kind="auto-generated", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [owner])
    s.result("held", s.text("membership.held-for-owner", list=listname))
    ctx.act("subscription of %s to %s passed to %s" % (target, listname, owner), "list type")


# --- the AnnounceList ---------------------------------------------------------------------

def announce(s, subject, text, exclude=None):
    """Tell the members of the AnnounceList, if one is set."""
    cfg = s.ctx.config
    name = cfg.globals("AnnounceList")
    listname = lists.find(cfg, name) if name else None
    if listname is None or listname == exclude:
        return
    ctx = s.ctx
    msg = ctx.message(lists.address(cfg, listname), subject, text, kind="auto-generated")
    data = messages.serialize(msg)
    ctx.send("owner-%s@%s" % (lists.local_part(listname), ctx.domain),
             members.recipients(session.members_of(s, listname)), data)
    record_sent(ctx, listname, data, "announcement")
    ctx.act("announced to %s" % listname, "AnnounceList")


# --- options and settings set by mail -----------------------------------------------------

def mail_options(options, option):
    """A member's options for SET MAIL (each post) or NOMAIL (none): no digest either way."""
    options = members.with_option(options, "DIGEST")
    return members.with_option(options, "NOMAIL", "" if option == "NOMAIL" else None)


def set_value(s, section, key, value, what):
    """Set key of section to value (the file's checks apply); says the result."""
    try:
        s.ctx.state.set_config(section, key, value)
    except ValueError as e:
        s.result("error", str(e))
        return False
    s.result("ok", s.text("membership.set-value", what=what, setting=key, value=value))
    s.ctx.act("%s %s set to %r by %s" % (what, key, value, s.sender), "SET")
    return True


def set_global(s, option, value):
    """SET * MAIL|NOMAIL (the sender, on every list) or SET * OPTION value (every list)."""
    if option in ("MAIL", "NOMAIL"):
        cfg = s.ctx.config
        names = [n for n in cfg.list_names() if s.sender in session.members_of(s, n)]
        for n in names:
            entry = session.members_of(s, n).get(s.sender)
            s.ctx.state.set_options(lists.number(cfg, n), s.sender, mail_options(entry[1], option))
        s.result("ok", s.text("membership.set-everywhere", option=option, address=s.sender, count=len(names)))
        return
    key = LIST_OPTIONS.get(option)
    if key is None:
        s.result("error", s.text("membership.unknown-option", option=option, options=", ".join(LIST_OPTIONS)))
        return
    if session.allowed(s, "postmaster", None, "SET *") and \
            set_value(s, "Globals", key, value, s.text("membership.every-list")) and key == "Archive":
        archive_changed(s, s.ctx.config.list_names())


def archive_changed(s, names):
    """Archiving turned off: the digest members of those lists go back to mail, told."""
    for n in names:
        if not s.ctx.config.list_value(n, "Archive"):
            moved = digests.archive_off(s.ctx, n, "SET ARCHIVE by %s" % s.sender)
            if moved:
                s.say("  " + s.text("membership.digests-ended", list=n, count=moved))


# --- digest members -------------------------------------------------------------------------

def digest_member(s, listname, verb):
    """(member entry, digests.Choice) of the sender on listname for REWIND or CATCHUP (verb),
    or None after saying why."""
    entry = s.ctx.state.members(lists.number(s.ctx.config, listname)).get(s.sender)
    c = digests.choice_of(entry[1]) if entry else None
    if c is None:
        s.result("error", s.text("membership.no-digest", list=listname, quoted=quoted(listname)))
        return None
    if not session.allowed(s, "options", listname, verb):
        return None
    return entry, c


def set_digest_choice(s, listname, entry, c):
    """Store the sender's digest Choice c on listname (entry: the member's)."""
    s.ctx.state.set_options(lists.number(s.ctx.config, listname), s.sender,
                            members.with_option(entry[1], "DIGEST", c.value()))


# --- rank ----------------------------------------------------------------------------------------

def outranks_or_is(s, pattern):
    """The SuperUser, or a user (address or pattern) access.ini makes PostMaster or
    SuperUser, that pattern could cover (access.patterns_overlap); None when none."""
    cfg = s.ctx.config
    superuser = cfg.globals("SuperUser")
    if superuser and access.user_matches(pattern, superuser):
        return superuser
    for r in s.ctx.state.access():
        if r.granted & {"P", "S"} and access.patterns_overlap(pattern, r.user):
            return r.user
    return None
