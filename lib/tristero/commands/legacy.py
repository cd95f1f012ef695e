"""The robot's commands: one function each, and the table that names them.

Each function takes the Session and the Command, does its work through the
State (so a failing message is rolled back) and says its result with
session.result(). Who may do what is asked of rights.may().
"""

import datetime

from tristero.commands.registry import Audience, Command, register
from tristero.core import fields, messages
from tristero.model import access, audit, cookies, lists, members
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import digests, repository, session

MAX_SHOWN = 5000     # members listed in one MEMBERS answer


# --- helpers ----------------------------------------------------------------

def _friendly(s, listname, name, to, subject, lead=""):
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


def _quoted(name):
    return '"%s"' % name if " " in name else name


# --- anyone -----------------------------------------------------------------

def lists_(s, cmd):
    cfg = s.ctx.config
    if cmd.args:
        which(s, cmd)
        return
    shown = [n for n in cfg.list_names() if not lists.hidden(cfg, n)]
    s.result("ok", "%d list(s) at %s" % (len(shown), s.ctx.domain))
    for n in shown:
        desc = cfg.raw(lists.section(n), "Description") or ""
        s.say("  %-24s %s (%s)" % (lists.address(cfg, n), desc, cfg.list_value(n, "Type")))


def info(s, cmd):
    listname, _ = session.list_arg(s, cmd)
    if listname is None:
        return
    cfg = s.ctx.config
    sec = lists.section(listname)
    s.result("ok", "about %s" % listname)
    s.say("  Address:     %s" % lists.address(cfg, listname))
    s.say("  Description: %s" % (cfg.raw(sec, "Description") or ""))
    s.say("  Type:        %s" % cfg.list_value(listname, "Type"))
    s.say("  Owner:       %s" % (cfg.raw(sec, "Owner") or cfg.globals("SuperUser")))
    s.say("  Members:     %d" % len(session.members_of(s, listname)))
    root = repository.folder(s.ctx, listname)
    readme = repository.text_file(root, "readme.txt", ctx=s.ctx)
    if readme:
        s.say("")
        s.say(readme.rstrip())
    files = repository.folder_files(s.ctx, root, "readme")
    if files:
        s.attachments.extend(files)
        s.say("")
        s.say("Attached: " + ", ".join(n for n, _ in files))


def subscribe(s, cmd):
    listname, rest = session.list_arg(s, cmd)
    if listname is None:
        return
    # Majordomo: subscribe list address
    target, rest = session.address_in(rest)
    target = target or s.sender
    if not _may_join(s, listname, target, rest):
        return
    ctx, cfg = s.ctx, s.ctx.config
    other = address_key(target) != address_key(s.sender)
    if other and rights.privileged(ctx, s.sender, listname) and session.allowed(s, "manage", listname, "SUBSCRIBE"):
        _subscribed(s, listname, target, rest, "by the owner")
        return
    ok, rule = rights.may(ctx, target, "subscribe", listname)
    policy = cfg.list_value(listname, "SubscribePolicy")
    confirm_others = cfg.get("Security", "InternetPolicySub") >= 1
    if not ok or policy.startswith("closed") or (other and not policy.startswith("auto") and not confirm_others):
        _hold_for_owner(s, listname, target, " ".join(rest))
        return
    limit = cfg.get("Security", "MaxSessionSubs")
    if limit and ctx.session_subs[address_key(s.sender)] >= limit:
        s.result("refused", "at most %d subscriptions from one sender at a time (MaxSessionSubs); "
                            "send the rest later" % limit)
        audit.security(ctx, s.sender, listname, "SUBSCRIBE", "refused: MaxSessionSubs")
        return
    ctx.session_subs[address_key(s.sender)] += 1
    if address_key(target) in ctx.confirmations_sent:
        s.result("held", "a confirmation was already sent to %s in this run" % target)
        return
    if _needs_confirmation(s, listname, target, other, policy) and not cookies.valid(
            ctx.cookie_key(), s.cookie or "", "SUB", listname, target, ctx.now.date()):
        _ask_confirmation(s, listname, target, rest)
        return
    _subscribed(s, listname, target, rest, rule)


def _needs_confirmation(s, listname, target, other, policy):
    """Cookie confirmation: +confirm policies, InternetPolicySub 1 (for another address)
    and 2 (also for every address outside the site's domains)."""
    level = s.ctx.config.get("Security", "InternetPolicySub")
    return policy.endswith("+confirm") or (other and level >= 1) or (level >= 2 and not s.ctx.ours(target))


def _ask_confirmation(s, listname, target, name_words):
    ctx = s.ctx
    days = ctx.config.get("Security", "CookieDays")
    code = cookies.bake(ctx.cookie_key(), "SUB", listname, target,
                        ctx.now.date() + datetime.timedelta(days=days))
    # The name is not repeated: a confirmation goes to an address the requester
    # chose, and must carry nothing of theirs. The name can be given in the reply.
    command = "SUBSCRIBE %s" % _quoted(listname)
    text = ("Dear %s,\n\n"
            "To validate your address and your wish to be a member of the list %s, this\n"
            "message was sent in answer to a subscription request%s. To finish it, reply\n"
            "to this message within %d days with the commands below in your reply. They\n"
            "hold a cookie that lets you join this list, and is worth nothing to anyone\n"
            "else or for another list. If you did not ask to join, do nothing.\n\n"
            "---\nSTART\nCOOKIE %s\n%s\nSTOP\n"
            % (target, listname, " from %s" % s.sender if address_key(target) != address_key(s.sender) else "",
               days, code, command))
    msg = ctx.message(target, "Confirm your subscription to %s" % listname, text,
                      kind="auto-replied", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [target])
    ctx.confirmations_sent.add(address_key(target))
    s.result("held", "a confirmation was sent to %s; the subscription is made when it is answered" % target)
    ctx.act("confirmation of %s for %s sent" % (target, listname), "cookie")


def _subscribed(s, listname, target, name_words, rule):
    _join(s, listname, target, name_words)
    s.result("ok", "%s is now a member of %s" % (target, listname))
    s.ctx.act("%s subscribed to %s" % (target, listname), rule)
    if not s.ctx.config.globals("SilentAdd"):
        _friendly(s, listname, "welcome", target, "Welcome to %s" % listname)


def _may_join(s, listname, target, name_words=()):
    """True when target (called name_words) can become a member of listname; else says why not."""
    name = " ".join(name_words)
    why = session.address_problem(s, target, listname)
    if not why and fields.problem(name):
        why = "the name %s cannot be kept: %s" % (messages.clean(name, 80), fields.problem(name))
    if why:
        s.result("refused", why)
        return False
    if target in session.members_of(s, listname):
        s.result("ok", "%s is already a member of %s" % (target, listname))
        return False
    return True


def _join(s, listname, target, name_words):
    options = members.clean_options(["NAME " + " ".join(name_words)] if name_words else [])
    number = lists.number(s.ctx.config, listname)
    s.ctx.state.add_member(number, target, options)
    audit.list_event(s.ctx, number, "subscribe", target, s.sender)


def _hold_for_owner(s, listname, target, name):
    """Pass a subscription to the owner in a form the owner only has to reply to."""
    cfg = s.ctx.config
    owner = cfg.raw(lists.section(listname), "Owner") or cfg.globals("SuperUser")
    if not owner:
        s.result("refused", "%s is closed to subscription and has no owner to ask" % listname)
        return
    add = "ADD %s %s%s" % (_quoted(listname), target, " " + name if name else "")
    text = ("%s asks for %s to join %s (%s list).\n\n"
            "To accept, reply to this message keeping the lines below in your reply;\n"
            "to refuse, do nothing.\n\n---\nSTART\n%s\nSTOP\n"
            % (s.sender, target, listname, cfg.list_value(listname, "Type"), add))
    msg = s.ctx.message(owner, "Subscription request: %s to %s" % (target, listname), text,
                        kind="auto-generated", headers=[("Reply-To", s.ctx.robot_address())])
    s.ctx.send_message(msg, [owner])
    s.result("held", "%s does not take subscriptions by mail from you; your request was sent to "
                     "its owner" % listname)
    s.ctx.act("subscription of %s to %s passed to %s" % (target, listname, owner), "list type")


def unsubscribe(s, cmd):
    cfg = s.ctx.config
    everything = bool(cmd.args) and cmd.args[0] == "*"
    if everything:
        listname, rest = None, cmd.args[1:]
    else:
        listname, rest = session.list_arg(s, cmd)
        if listname is None:
            return
    target = session.address_in(rest)[0] or s.sender
    if address_key(target) != address_key(s.sender) and (
            everything or not session.allowed(s, "manage", listname, "UNSUBSCRIBE of another address")):
        s.result("refused", "you may only unsubscribe yourself (the list owner may REMOVE others)")
        return
    if everything:
        names = [n for n in cfg.list_names() if target in session.members_of(s, n)]
        if not names:
            s.result("ok", "%s is not a member of any list" % target)
        for n in names:
            _leave(s, n, target)
        return
    if target not in session.members_of(s, listname):
        s.result("ok", "%s is not a member of %s" % (target, listname))
        return
    _leave(s, listname, session.members_of(s, listname).get(target)[0])


def _leave(s, listname, target, by=None):
    number = lists.number(s.ctx.config, listname)
    s.ctx.state.remove_member(number, target)
    audit.list_event(s.ctx, number, "unsubscribe", target, s.sender)
    s.result("ok", "%s has left %s" % (target, listname))
    s.ctx.act("%s left %s" % (target, listname), "removed by " + by if by else "unsubscribe")
    if not s.ctx.config.globals("SilentAdd"):
        _friendly(s, listname, "farewell", target, "Farewell from %s" % listname)


def members_(s, cmd):
    listname, _ = session.list_arg(s, cmd)
    if listname is None or not session.allowed(s, "review", listname, "MEMBERS"):
        return
    roster = session.members_of(s, listname)
    s.result("ok", "%d member(s) of %s" % (len(roster), listname))
    for i, (address, options) in enumerate(roster.items()):
        if i == MAX_SHOWN:
            s.say("  ... and %d more" % (len(roster) - MAX_SHOWN))
            break
        nomail = options and members.option_word(options, "NOMAIL")
        s.say("  %s%s" % (address, "  (NOMAIL)" if nomail else ""))


def which(s, cmd):
    target = cmd.args[0] if cmd.args else s.sender
    cfg = s.ctx.config
    other = address_key(target) != address_key(s.sender)
    if other and not session.allowed(s, "postmaster", None, "WHICH of another address"):
        return
    fuzzy = len(target) > 2 and target.startswith("*") and target.endswith("*")
    needle = target.strip("*").lower()
    found = []
    for n in cfg.list_names():
        roster = session.members_of(s, n)
        if fuzzy:
            found += ["%s: %s" % (n, a) for a, _ in roster.items() if needle in a.lower()]
        elif target in roster:
            found.append(n)
    s.result("ok", "%s is in %d list(s)" % (target, len(found)))
    for f in found:
        s.say("  " + f)


def set_(s, cmd):
    args = cmd.args
    if len(args) < 2:
        s.result("error", "usage: " + cmd.usage)
        return
    option = args[1].upper()
    value = " ".join(args[2:])
    if args[0] == "*":
        _set_global(s, option, value)
        return
    listname, _ = session.list_arg(s, cmd)
    if listname is None:
        return
    number = lists.number(s.ctx.config, listname)
    if option in ("MAIL", "NOMAIL"):
        entry = session.members_of(s, listname).get(s.sender)
        if entry is None:
            s.result("error", "you are not a member of %s" % listname)
            return
        if not session.allowed(s, "options", listname, "SET " + option):
            return
        options = members.with_option(entry[1], "DIGEST")
        options = members.with_option(options, "NOMAIL", "" if option == "NOMAIL" else None)
        s.ctx.state.set_options(number, s.sender, options)
        s.result("ok", "%s: %s for %s" % (listname, option, s.sender))
        return
    if option == "DIGEST":
        digests.set_digest(s, listname, args[2:])
        return
    key = LIST_OPTIONS.get(option)
    if key is None:
        s.result("error", "unknown option %s (MAIL, NOMAIL, DIGEST, %s)" % (option, ", ".join(LIST_OPTIONS)))
        return
    if not session.allowed(s, "postmaster" if key == "Type" else "manage", listname, "SET " + option):
        return
    if _set_value(s, lists.section(listname), key, value, listname) and key == "Archive":
        _archive_changed(s, [listname])


def _archive_changed(s, names):
    """Archiving turned off: the digest members of those lists go back to mail, told."""
    for n in names:
        if not s.ctx.config.list_value(n, "Archive"):
            moved = digests.archive_off(s.ctx, n, "SET ARCHIVE by %s" % s.sender)
            if moved:
                s.say("  %s: %d digest member(s) now receive each post, and were told" % (n, moved))


LIST_OPTIONS = {"REPLY": "Reply", "TYPE": "Type", "FORWARDPREFIX": "ForwardPrefix",
                "FORCEPRIORITY": "ForcePriority", "ARCHIVE": "Archive", "ARCHIVEDAYS": "ArchiveDays"}


def _set_value(s, section, key, value, what):
    try:
        s.ctx.state.set_config(section, key, value)
    except ValueError as e:
        s.result("error", str(e))
        return False
    s.result("ok", "%s %s = %s" % (what, key, value))
    s.ctx.act("%s %s set to %r by %s" % (what, key, value, s.sender), "SET")
    return True


def _set_global(s, option, value):
    if option in ("MAIL", "NOMAIL"):
        cfg = s.ctx.config
        names = [n for n in cfg.list_names() if s.sender in session.members_of(s, n)]
        for n in names:
            entry = session.members_of(s, n).get(s.sender)
            options = members.with_option(entry[1], "DIGEST")
            s.ctx.state.set_options(lists.number(cfg, n), s.sender,
                                    members.with_option(options, "NOMAIL", "" if option == "NOMAIL" else None))
        s.result("ok", "%s for %s on %d list(s)" % (option, s.sender, len(names)))
        return
    key = LIST_OPTIONS.get(option)
    if key is None:
        s.result("error", "unknown option %s (%s)" % (option, ", ".join(LIST_OPTIONS)))
        return
    if session.allowed(s, "postmaster", None, "SET *") and _set_value(s, "Globals", key, value, "every list:") \
            and key == "Archive":
        _archive_changed(s, s.ctx.config.list_names())


# --- list owners --------------------------------------------------------------

def add(s, cmd):
    listname, rest = session.list_arg(s, cmd)
    if listname is None or not session.allowed(s, "manage", listname, "ADD"):
        return
    if not rest:
        s.result("error", "usage: " + cmd.usage)
        return
    target, rest = session.address_in(rest)
    hide = bool(rest) and rest[-1].upper() == "HIDE"
    if hide:
        rest = rest[:-1]
    if target is None:
        s.result("refused", "%s is not a mail address (local@domain)" % messages.clean(" ".join(rest), 80))
        return
    if not _may_join(s, listname, target, rest):
        return
    _join(s, listname, target, rest)
    s.result("ok", "%s added to %s" % (target, listname))
    s.ctx.act("%s added to %s by %s" % (target, listname, s.sender), "ADD")
    if not hide and not s.ctx.config.globals("SilentAdd"):
        _friendly(s, listname, "welcome", target, "Welcome to %s" % listname,
                  "You have been added to the list %s (%s) by %s.\nTo leave it, send "
                  "UNSUBSCRIBE %s to %s.\n" % (listname, lists.address(s.ctx.config, listname), s.sender,
                                               _quoted(listname), s.ctx.robot_address()))


def remove(s, cmd):
    listname, rest = session.list_arg(s, cmd)
    if listname is None or not session.allowed(s, "manage", listname, "REMOVE"):
        return
    if not rest:
        s.result("error", "usage: " + cmd.usage)
        return
    target = rest[0].strip("<>\"'")
    roster = session.members_of(s, listname)
    if len(target) > 2 and target.startswith("*") and target.endswith("*"):
        needle = target[1:-1].lower()
        matches = [a for a, _ in roster.items() if needle in a.lower()]
        if len(matches) != 1:
            s.result("error", "%d members match %s%s" % (
                len(matches), target, ": " + ", ".join(matches[:20]) + "; name one" if matches else ""))
            return
        target = matches[0]
    if target not in roster:
        s.result("error", "%s is not a member of %s" % (target, listname))
        return
    _leave(s, listname, roster.get(target)[0], by=s.sender)


def change(s, cmd):
    if len(cmd.args) < 2:
        s.result("error", "usage: " + cmd.usage)
        return
    old, new = cmd.args[0], cmd.args[1]
    scope = cmd.args[2] if len(cmd.args) > 2 else "*"
    cfg = s.ctx.config
    why = session.address_problem(s, new)
    if why:
        s.result("refused", why)
        return
    if scope == "*":
        names = [n for n in cfg.list_names() if old in session.members_of(s, n)]
        names = [n for n in names if rights.may(s.ctx, s.sender, "manage", n, s.password_now())[0]]
    else:
        listname = session.find_list(s, scope)
        if listname is None:
            s.result("error", "there is no list called %s" % scope)
            return
        if not session.allowed(s, "manage", listname, "CHANGE"):
            return
        names = [listname] if old in session.members_of(s, listname) else []
    if not names:
        s.result("error", "%s is not a member of any list you manage" % old)
        return
    taken = [n for n in names if new in session.members_of(s, n)]
    if taken and address_key(new) != address_key(old):
        s.result("error", "%s is already a member of %s; REMOVE one of them first" % (new, ", ".join(taken)))
        return
    for n in names:
        number = lists.number(cfg, n)
        _, options = s.ctx.state.remove_member(number, old)
        s.ctx.state.add_member(number, new, options)
        audit.list_event(s.ctx, number, "change %s" % old, new, s.sender)
        audit.security(s.ctx, s.sender, n, "CHANGE %s %s" % (old, new), "done")
        s.ctx.act("%s changed to %s in %s by %s" % (old, new, n, s.sender), "CHANGE")
    moved = _move_rules(s, old, new, names)
    s.result("ok", "%s is now %s in %s%s" % (old, new, ", ".join(names),
                                               "; its rights and password go with it" if moved else ""))


def _move_rules(s, old, new, names):
    """The access.ini rules written for exactly old on the lists names now apply to
    new (CHANGE keeps rights, manual: "Dealing With Internet Addresses"); rules for
    every list move only for a PostMaster, or an owner could take a PostMaster's
    rights for an address of their own. Returns how many moved."""
    state = s.ctx.state
    lists_changed = {n.lower() for n in names}
    everywhere = rights.has(rights.flags(s.ctx, s.sender), "P")
    rules = [r for r in state.access() if address_key(r.user) == address_key(old)
             and (r.list.lower() in lists_changed or (everywhere and r.list in ("", "*")))]
    for r in rules:
        state.set_rule(new, r.list, status=r.status, password=r.password, language=r.language)
        state.set_rule(r.user, r.list, status="", password="", language="")
    return len(rules)


# --- rights, passwords, cookies, audit ------------------------------------------------

def rights_(s, cmd):
    target = cmd.args[0] if cmd.args else s.sender
    if address_key(target) != address_key(s.sender) and not session.allowed(s, "postmaster", None, "RIGHTS of another"):
        return
    ctx = s.ctx
    s.result("ok", "rights of %s (%s)" % (target, access.FLAGS))
    s.say("  %-24s %s" % ("(site)", access.flag_string(rights.flags(ctx, target))))
    for n in ctx.config.list_names():
        if lists.hidden(ctx.config, n) and not rights.member(ctx, target, n) \
                and not rights.privileged(ctx, s.sender, n):
            continue
        s.say("  %-24s %s" % (n, access.flag_string(rights.flags(ctx, target, n))))
    s.say("  Password: %s" % ("set" if rights.password_of(ctx, target) else "none"))


def password(s, cmd):
    if not cmd.args:
        s.result("error", "usage: " + cmd.usage)
        return
    stored = rights.password_of(s.ctx, s.sender)
    why = rights.password_refusal(s.ctx, s.sender, cmd.args[0])
    if why:
        s.result("refused", why)
        audit.security(s.ctx, s.sender, None, "PASSWORD", "refused: " + why)
        if not isinstance(why, rights.Locked):
            s.refused_privileged.append("PASSWORD: " + why)
        return
    s.password = cmd.args[0]
    s.result("ok", "password accepted for the commands that follow" if stored else
             "no password is set for you; none is needed")


def setpass(s, cmd):
    args = cmd.args
    if len(args) not in (1, 3) or (len(args) == 3 and args[1].upper() != "FOR"):
        s.result("error", "usage: " + cmd.usage)
        return
    new = args[0]
    why = rights.password_problem(new)
    if why:
        s.result("error", why)
        return
    if len(args) == 3:
        user = args[2]
        why = access.valid_pattern(user)
        if why:
            s.result("error", "%s: %s" % (messages.clean(user, 80), why))
            return
        if not session.allowed(s, "postmaster", None, "SETPASS FOR %s" % user):
            return
        if not rights.is_superuser(s.ctx.config, s.sender) and _outranks_or_is(s, user):
            s.result("refused", "only the SuperUser sets the password of a PostMaster or the SuperUser")
            audit.security(s.ctx, s.sender, None, "SETPASS FOR %s" % user, "refused: above own rank")
            s.refused_privileged.append("SETPASS FOR %s: above own rank" % user)
            return
    else:
        user = s.sender
        stored = rights.password_of(s.ctx, user)
        if not stored:
            s.result("refused", "no password is set for you yet; a PostMaster sets the first one "
                                "(SETPASS password FOR %s)" % user)
            return
        why = rights.password_refusal(s.ctx, s.sender, s.password_now())
        if why:
            why = "send PASSWORD oldpassword before SETPASS" if why.key == rights.PASSWORD_NEEDED else why
            s.result("refused", why)
            audit.security(s.ctx, s.sender, None, "SETPASS", "refused: " + why)
            return
        audit.security(s.ctx, s.sender, None, "SETPASS", "done")
    s.ctx.state.set_rule(user, "", password=rights.hash_password(new))
    s.result("ok", "password set for %s" % user)
    s.ctx.act("password set for %s by %s" % (user, s.sender), "SETPASS")


def _outranks_or_is(s, pattern):
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


def cookie(s, cmd):
    if not cmd.args:
        s.result("error", "usage: " + cmd.usage)
        return
    s.cookie = cmd.args[0]
    s.result("ok", "cookie noted for the commands that follow")


def start(s, cmd):
    s.result("ok", "START")


# Commands that change (or show) memberships: never run for an author read from the
# text of a message (rights.unproven), whose address proves nothing.
MEMBERSHIP = {"SUBSCRIBE", "UNSUBSCRIBE", "SET", "REWIND", "CATCHUP", "ADD", "REMOVE", "CHANGE", "WHICH"}


class Spec:
    def __init__(self, names, fn, usage, text, who="anyone"):
        self.names, self.fn, self.usage, self.text, self.who = names, fn, usage, text, who


# The command table: verb and synonyms, function, usage, what it does, who may.
SPECS = {spec.names[0]: spec for spec in (
    Spec(("LISTS",), lists_, "LISTS [address]", "The lists here (or those an address is in)."),
    Spec(("INFO",), info, "INFO list", "About a list, with its readme."),
    Spec(("SUBSCRIBE", "JOIN", "SUB"), subscribe, "SUBSCRIBE list [your name]",
         "Join a list. Majordomo's SUBSCRIBE list address works too."),
    Spec(("UNSUBSCRIBE", "UNSUB", "SIGNOFF", "LEAVE"), unsubscribe, "UNSUBSCRIBE list|*",
         "Leave a list, or every list (*)."),
    Spec(("MEMBERS", "RECIPIENTS", "REVIEW", "WHO"), members_, "MEMBERS list", "The members of a list."),
    Spec(("WHICH",), which, "WHICH [address]", "The lists you (or an address) are in."),
    Spec(("SET",), set_, "SET list MAIL|NOMAIL|DIGEST [DAILY|WEEKLY|MONTHLY] [SUMMARY|NOSUMMARY|SUMMARYONLY] "
         "[MIME|PLAIN]",
         "Receive a list's posts one by one (MAIL), not at all (NOMAIL) or in digests (DIGEST). Owners: "
         "SET list REPLY|TYPE|FORWARDPREFIX|FORCEPRIORITY|ARCHIVE|ARCHIVEDAYS value; SET * ... for every list."),
    Spec(("REWIND",), digests.rewind, "REWIND list [days]",
         "Your next digest of a list starts days (default 1) earlier."),
    Spec(("CATCHUP",), digests.catchup, "CATCHUP list",
         "Skip the digests of a list not yet sent: the next starts with today's posts."),
    Spec(("START",), start, "START", "Commands follow (after a --- line)."),
    Spec(("ADD",), add, "ADD list address [name] [HIDE]", "Add a member (HIDE: tell them nothing).",
         "list owner"),
    Spec(("REMOVE", "DELETE"), remove, "REMOVE list address|*part*", "Remove a member.", "list owner"),
    Spec(("CHANGE",), change, "CHANGE old new [list|*]",
         "Change a member's address, keeping options.", "list owner"),
    Spec(("RIGHTS",), rights_, "RIGHTS [address]", "Your rights (flags %s) on each list." % access.FLAGS),
    Spec(("PASSWORD",), password, "PASSWORD password", "Give your password for the commands after it."),
    Spec(("SETPASS",), setpass, "SETPASS password [FOR user]",
         "Change your password (after PASSWORD old); PostMasters set others' (wildcards allowed)."),
    Spec(("COOKIE",), cookie, "COOKIE code", "Give a cookie for the commands after it."),
)}

# Each row a command of the registry, until it has a file of its own.
for _spec in SPECS.values():
    register(type(_spec.names[0].title(), (Command,), {
        "names": _spec.names, "usage": _spec.usage, "help": _spec.text,
        "audience": Audience(_spec.who), "membership": _spec.names[0] in MEMBERSHIP,
        "run": (lambda fn: lambda self, s, args: fn(s, s.command))(_spec.fn)}))
