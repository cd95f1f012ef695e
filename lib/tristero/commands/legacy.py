"""The robot's commands: one function each, and the table that names them.

Each function takes the Session and the Command, does its work through the
State (so a failing message is rolled back) and says its result with
session.result(). Who may do what is asked of rights.may().
"""

import datetime
import os

from tristero.commands.registry import Audience, Command, register
from tristero.core import fields, messages
from tristero.core.patterns import entry_problem
from tristero.model import access, audit, config, cookies, lists, members
from tristero.policy import addresses, rights
from tristero.policy.bounces import record_sent
from tristero.services import archive, repository, session
from tristero.services.membership import announce as _announce
from tristero.services.membership import outranks_or_is as _outranks_or_is
from tristero.services.membership import quoted as _quoted

# --- helpers ----------------------------------------------------------------

def _attachments_dir_files(folder):
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [n for n in names if os.path.isfile(os.path.join(folder, n))
            and not os.path.islink(os.path.join(folder, n))]


# --- list owners --------------------------------------------------------------

def announce(s, cmd):
    """ANNOUNCE list [recipient] [NEW-LIST]: the list announced, with its readme.txt and the
    files of readme/, to the AnnounceList, another list or an address."""
    listname, rest = session.list_arg(s, cmd)
    if listname is None:
        return
    new_list = bool(rest) and rest[-1].upper() == "NEW-LIST"
    rest = rest[:-1] if new_list else rest
    if len(rest) > 1:
        s.result("error", "usage: " + cmd.usage)
        return
    if not session.allowed(s, "manage", listname, "ANNOUNCE"):
        return
    ctx, cfg = s.ctx, s.ctx.config
    target = rest[0] if rest else cfg.globals("AnnounceList")
    if not target:
        s.result("error", "name a list or an address: no AnnounceList is set")
        return
    to_list = session.find_list(s, target)
    if to_list is None and (not messages.is_address(target) or session.address_problem(s, target)):
        s.result("error", "%s is neither a list here nor a mail address outside the robot's"
                 % messages.clean(target, 80))
        return
    if to_list is not None and not session.allowed(s, "post", to_list, "ANNOUNCE to %s" % to_list):
        return
    root = repository.folder(ctx, listname)
    subject, text = _announcement(s, listname, repository.text_file(root, "readme.txt", ctx=ctx), new_list)
    msg = ctx.message(lists.address(cfg, to_list) if to_list else target, subject, text, kind="auto-generated")
    files = repository.folder_files(ctx, root, "readme")
    if files:
        messages.attach(msg, files)
    if to_list is not None:
        data = messages.serialize(msg)
        ctx.send("owner-%s@%s" % (lists.local_part(to_list), ctx.domain), members.recipients(session.members_of(s, to_list)), data)
        record_sent(ctx, to_list, data, "announcement")
        told = "the %d member(s) of %s" % (sum(1 for _ in members.recipients(session.members_of(s, to_list))), to_list)
    else:
        ctx.send_message(msg, [target])
        told = target
    s.result("ok", "%s announced to %s%s" % (listname, told, " (%d file(s) attached)" % len(files) if files else ""))
    ctx.act("%s announced to %s by %s" % (listname, told, s.sender), "ANNOUNCE")


def _announcement(s, listname, readme, new_list):
    """(subject, text) of an announcement; new_list: the NEW-LIST mailing list's format."""
    ctx, cfg = s.ctx, s.ctx.config
    sec = lists.section(listname)
    address = lists.address(cfg, listname)
    description = cfg.raw(sec, "Description") or ""
    owner = cfg.raw(sec, "Owner") or cfg.globals("SuperUser")
    robot = ctx.robot_address()
    readme = ("\n" + readme.strip("\n") + "\n") if readme else ""
    if new_list:
        head = "%s on %s" % (address, cfg.globals("ServerName"))
        text = ("%s\n%s\n%s\nTo subscribe, send the following command in the body of a message to\n%s:\n\n"
                "     SUBSCRIBE %s Firstname Lastname\n\nOwner: %s\n"
                % (head.center(72).rstrip(), description.center(72).rstrip(), readme, robot, _quoted(listname),
                   owner))
        if cfg.globals("ArchiveURL"):
            text += "Archives: %s\n" % cfg.globals("ArchiveURL").replace("{list}", lists.local_part(listname))
        return "NEW: %s%s" % (address, " - " + description if description else ""), text
    text = ("The list %s (%s)%s.\n%s\nTo join, send SUBSCRIBE %s to %s.\nIts owner: %s\n"
            % (listname, address, ": " + description if description else "", readme, _quoted(listname), robot,
               owner))
    return "The list %s" % listname, text


# --- PostMaster and SuperUser -----------------------------------------------------

def create(s, cmd):
    if not cmd.args:
        s.result("error", "usage: " + cmd.usage)
        return
    name = cmd.args[0]
    why = lists.name_problem(name)
    if why:
        s.result("error", "%s is not a list name: %s" % (messages.clean(name, 80), why))
        return
    if not session.allowed(s, "create", None, "CREATE"):
        return
    cfg = s.ctx.config
    words = cmd.args[1:]
    hide = bool(words) and words[-1].upper() == "HIDE"
    if hide:
        words = words[:-1]
    taken = lists.find(cfg, name) or lists.by_local(cfg, lists.local_part(name))
    if taken or addresses.resolve(cfg, lists.local_part(name))[0] != "unknown":
        s.result("error", "the name %s is taken" % name)
        return
    description = " ".join(words)
    if len(words) == 1 and messages.is_address(words[0]):
        s.result("error", "client lists of a remote list (CREATE list remote-address) are not "
                          "supported yet; give a description")
        return
    for key, value in (("Owner", s.sender), ("Description", description)):
        why = config.value_problem(lists.section(name), key, value)
        if why:
            s.result("error", "%s: %s" % (key, why))
            return
    number = lists.next_number(cfg, s.ctx.site)
    s.ctx.state.add_section(lists.section(name), {
        "Type": cfg.globals("Type"), "Owner": s.sender, "Description": description, "MemberFile": number})
    s.ctx.state.clear_list(number)
    s.ctx.state.add_member(number, s.sender)
    audit.list_event(s.ctx, number, "create", s.sender, s.sender)
    _copy_defaults(s, number)
    s.result("ok", "created %s (%s), owned by %s, with you as its first member"
             % (name, lists.address(cfg, name), s.sender))
    s.ctx.act("list %s created as %s by %s" % (name, number, s.sender), "CREATE")
    if not hide and not cfg.globals("SilentCreate"):
        _announce(s, "New list: %s" % name,
                  "A new list has been created: %s\n\n  %s\n\nTo join, send SUBSCRIBE %s to %s.\n"
                  % (lists.address(cfg, name), description, _quoted(name), s.ctx.robot_address()),
                  exclude=name)


def _copy_defaults(s, number):
    """The default archive's friendlier-message files, copied into a new list's folder."""
    site = s.ctx.site
    source = site.archive_dir("00000000")
    target = site.archive_dir(number)
    s.ctx.mkdir(target)
    for name in ("readme.txt", "welcome.txt", "farewell.txt", "index.txt"):
        path = os.path.join(source, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                s.ctx.write(os.path.join(target, name), f.read())
    for sub in ("readme", "welcome", "farewell"):
        for name in _attachments_dir_files(os.path.join(source, sub)):
            with open(os.path.join(source, sub, name), "rb") as f:
                s.ctx.write(os.path.join(target, sub, name), f.read())


def destroy(s, cmd):
    listname, _ = session.list_arg(s, cmd)
    if listname is None or not session.allowed(s, "postmaster", listname, "DESTROY"):
        return
    cfg = s.ctx.config
    number = lists.number(cfg, listname)
    roster = session.members_of(s, listname)
    addresses = [a for a, _ in roster.items()]
    if addresses:
        ctx = s.ctx
        msg = ctx.message(lists.address(cfg, listname), "The list %s has been closed" % listname,
                          "The list %s (%s) has been closed by %s.\nYour subscription to it has ended.\n"
                          % (listname, lists.address(cfg, listname), s.sender), kind="auto-generated")
        ctx.send_message(msg, addresses)
    s.ctx.state.drop_list(number)
    s.ctx.state.del_section(lists.section(listname))
    s.result("ok", "%s destroyed; its %d member(s) were told; its archive folder %s is kept"
             % (listname, len(addresses), number))
    s.ctx.act("list %s (%s) destroyed by %s" % (listname, number, s.sender), "DESTROY")
    _announce(s, "List closed: %s" % listname, "The list %s has been closed.\n" % listname)


# --- rights, passwords, cookies, audit ------------------------------------------------

def _grant_args(s, cmd, keyword):
    """(granted, masked, user, list, a privilege's name?) of GRANT right [TO] user
    [[FOR] list] (FROM for REVOKE)."""
    words = [w for w in cmd.args]
    if len(words) >= 2 and words[1].upper() == keyword:
        del words[1]
    listname = "*"
    if len(words) >= 3 and words[2].upper() == "FOR":
        del words[2]
    if len(words) == 3:
        listname = words[2]
    elif len(words) != 2:
        s.result("error", "usage: " + cmd.usage)
        return None
    right, user = words[0], words[1]
    try:
        granted, masked = access.parse_status(right)
    except ValueError as e:
        s.result("error", str(e))
        return None
    why = access.valid_pattern(user)
    if why:
        s.result("error", "%s: %s" % (messages.clean(user, 80), why))
        return None
    if listname != "*":
        found = session.find_list(s, listname)
        if found is None:
            s.result("error", "there is no list called %s" % listname)
            return None
        listname = found
    return set(granted), set(masked), user, listname, right.lower() in {m.lower() for m in access.MACROS}


def _may_grant(s, granting, masking, user, listname, verb):
    """Nobody grants above their own rights, only a SuperUser grants S, and only a
    SuperUser takes rights from (or gives back rights masked to) a PostMaster or
    SuperUser, or a pattern that could cover one. Adding rights to such a pattern
    (the manual's GRANT W TO * FOR list) lowers nobody: it stays open to owners."""
    scope = None if listname == "*" else listname
    if not session.allowed(s, "postmaster" if scope is None else "manage", scope, verb):
        return False
    ctx = s.ctx
    superuser = rights.is_superuser(ctx.config, s.sender)
    held = rights.flags(ctx, s.sender, scope)
    above = granting - held
    if "S" in granting and not superuser and "S" not in held:
        above.add("S")
    why = None
    rule = _rule(s, user, listname)
    lifted = granting & set(rule.masked if rule else ())
    covered = None if superuser or not (masking or lifted) else _outranks_or_is(s, user)
    if above:
        why = "you cannot grant rights you do not hold yourself (%s)" % (
            "".join(sorted(above, key=access.FLAGS.index)))
    elif covered:
        # A wildcard too: GRANT Barred TO *@example.net would bar a SuperUser there,
        # who could then not undo it by mail.
        why = "only the SuperUser %s %s, a PostMaster or the SuperUser%s" % (
            "takes rights from" if masking else "gives back rights masked to", covered,
            "" if covered.lower() == user.lower() else ", whom %s covers" % user)
    if why:
        s.result("refused", why)
        audit.security(ctx, s.sender, scope, verb, "refused: " + why)
        return False
    return True


def _repair_note(s):
    for line, why in s.ctx.state.access_problems:
        s.ctx.act("access.ini line %d did not read (%s); rewritten as Barred" % (line, why), "access.ini")
    s.ctx.state.access_problems = []


def _rule(s, user, listname):
    """The rule of access.ini for exactly this user and list, or None."""
    return next((r for r in s.ctx.state.access() if r.same_target(user, listname)), None)


def grant(s, cmd):
    _change_rights(s, cmd, True)


def revoke(s, cmd):
    _change_rights(s, cmd, False)


def _change_rights(s, cmd, give):
    """GRANT (give) or REVOKE: change the rule for exactly that user and list."""
    verb = "GRANT" if give else "REVOKE"
    args = _grant_args(s, cmd, "TO" if give else "FROM")
    if args is None:
        return
    add, remove, user, listname, macro = args
    if not give:
        add, remove = set(), add | remove
        if macro:
            # Revoking a privilege leaves the robot's answer: name C (or GRANT
            # Barred) to take that away too.
            remove.discard("C")
    if not _may_grant(s, add, remove, user, listname, verb):
        return
    flags = add | remove
    rule = _rule(s, user, listname)
    granted = set(rule.granted if rule else ())
    masked = set(rule.masked if rule else ())
    # An X takes the right away whatever else gives it (type, membership).
    granted, masked = (granted | add) - remove, (masked - add) | remove
    _repair_note(s)
    status = access.status_string(granted, masked)
    s.ctx.state.set_rule(user, rule.list if rule else listname, status=status)
    if give:
        s.result("ok", "%s now holds %s on %s" % (user, status, listname))
    else:
        s.result("ok", "%s no longer holds %s on %s" % (user, access.flag_string(flags), listname))
    s.ctx.act("%s %s %s %s for %s by %s" % (verb, access.flag_string(flags), "to" if give else "from",
                                            user, listname, s.sender), verb)


def bake(s, cmd):
    """BAKE [function] FOR list TO user [USE BY n [DAYS]]; BAKE * is all wildcards."""
    words = [w for w in cmd.args]
    function, listname, user, days = "SUB", "*", "*", 7
    upper = [w.upper() for w in words]
    try:
        if "USE" in upper:
            at = upper.index("USE")
            if upper[at + 1] != "BY":
                raise ValueError
            days = int(words[at + 2])
            words, upper = words[:at], upper[:at]
        if "TO" in upper:
            at = upper.index("TO")
            user = words[at + 1]
            words, upper = words[:at] + words[at + 2:], upper[:at] + upper[at + 2:]
        if "FOR" in upper:
            at = upper.index("FOR")
            listname = words[at + 1]
            words, upper = words[:at] + words[at + 2:], upper[:at] + upper[at + 2:]
        if len(words) > 1:
            raise ValueError
        if words:
            function = words[0].upper() if words[0] != "*" else "*"
    except (ValueError, IndexError):
        s.result("error", "usage: " + cmd.usage)
        return
    if not 1 <= days <= 366:
        s.result("error", "a cookie lasts 1 to 366 days")
        return
    if listname != "*":
        found = session.find_list(s, listname)
        if found is None:
            s.result("error", "there is no list called %s" % listname)
            return
        listname = found
    if user != "*" and not messages.is_address(user):
        s.result("error", "%s is not a mail address" % messages.clean(user, 80))
        return
    if not session.allowed(s, "postmaster", None, "BAKE"):
        return
    expires = s.ctx.now.date() + datetime.timedelta(days=days)
    code = cookies.bake(s.ctx.cookie_key(), function, listname, user, expires)
    s.result("ok", "cookie for %s on %s by %s, valid to %s:" % (function, listname, user, expires.isoformat()))
    s.say("  " + code)
    s.ctx.act("cookie baked for %s %s %s" % (function, listname, user), "BAKE")


def audit_(s, cmd):
    args = cmd.args
    ctx = s.ctx
    if args and args[0].upper() == "SECURITY":
        since = _since(ctx, args[1] if len(args) > 1 else None)
        if since is False:
            s.result("error", "usage: " + cmd.usage)
            return
        if not session.allowed(s, "superuser", None, "AUDIT SECURITY"):
            return
        rows = audit.read(audit.security_file(ctx.site), since)
        s.result("ok", "%d security event(s)%s" % (len(rows), " since " + since if since else ""))
        s.say("  " + ",".join(audit.SECURITY_COLUMNS))
    else:
        listname, _ = session.list_arg(s, cmd)
        if listname is None or not session.allowed(s, "manage", listname, "AUDIT"):
            return
        rows = audit.read(audit.list_file(ctx.site, lists.number(ctx.config, listname)))
        s.result("ok", "%d audit record(s) of %s" % (len(rows), listname))
        s.say("  " + ",".join(audit.LIST_COLUMNS))
    for row in rows:
        s.say("  " + ",".join(row))


def _since(ctx, word):
    """The first date (YYYY-MM-DD) of AUDIT SECURITY [WEEK|MONTH|date], None for all, False if bad."""
    if word is None:
        return None
    w = word.upper()
    if w in ("WEEK", "MONTH"):
        return (ctx.now.date() - datetime.timedelta(days=7 if w == "WEEK" else 31)).isoformat()
    try:
        return datetime.date.fromisoformat(word).isoformat()
    except ValueError:
        return False


def config_(s, cmd):
    sub = cmd.args[0].upper() if cmd.args else ""
    ctx = s.ctx
    if sub not in CONFIG:
        s.result("error", "CONFIG %s is not known; CONFIG %s" % (messages.clean(sub, 30), "|".join(CONFIG)))
        return
    if not session.allowed(s, "superuser", None, "CONFIG " + sub):
        return
    CONFIG[sub](s, cmd.args[1:])
    ctx.act("CONFIG %s by %s" % (sub, s.sender), "CONFIG")


def _config_security(s, args):
    ctx, cfg = s.ctx, s.ctx.config
    s.result("ok", "security settings")
    s.say("  SuperUser:         %s" % cfg.globals("SuperUser"))
    for key in ("SecurePost", "InternetPolicySub", "CookieDays", "MaxSessionSubs", "OpenReview"):
        s.say("  %-18s %s" % (key + ":", cfg.raw("Security", key, cfg.get("Security", key))))
    s.say("  OverRideSubject:   %s" % ("set" if cfg.get("Security", "OverRideSubject") else "off"))
    for key in ("PreScanMode", "PreScanLimit", "SpamCheckList", "SpamCheckGateways", "BounceList",
                "BounceScore", "BounceDays", "TrustedAuthservIds"):
        value = cfg.get("Security", key)
        s.say("  %-18s %s" % (key + ":", ", ".join(value) if isinstance(value, list) else value))
    s.say("  Filters: %s" % ", ".join("[%s] %d" % (n, len(cfg.patterns[n])) for n in cfg.patterns))
    rules = ctx.state.access()
    s.say("  access.ini: %d rule(s)  (user, rights %s, list, language, password)" % (len(rules), access.FLAGS))
    for r in rules:
        s.say("    %s, %s, %s, %s, %s" % (r.user, r.status or access.flag_string(r.granted), r.list or "*",
                                        r.language or "-", "set" if r.password else "-"))
    for line, why in ctx.state.access_problems:
        s.say("    line %d did not read (%s): it bars its user" % (line, why))


def _config_internetpolicysub(s, args):
    if len(args) != 1 or args[0] not in ("0", "1", "2"):
        s.result("error", "usage: CONFIG INTERNETPOLICYSUB 0|1|2")
        return
    s.ctx.state.set_config("Security", "InternetPolicySub", args[0])
    s.result("ok", "InternetPolicySub = %s" % args[0])


# --- CONFIG KILLADD, CONFIG KILLLIST (commands.CONFIG) ---------------------------------

def config_killadd(s, args):
    """CONFIG KILLADD subject: one more [Kill Subjects] entry, the section's comments kept."""
    entry = " ".join(args).strip()
    if not entry:
        s.result("error", "usage: CONFIG KILLADD subject (#{ anchors the start, }# the end)")
        return
    why = "longer than 200 characters" if len(entry) > 200 else entry_problem(entry) or fields.problem(entry)
    if why:
        s.result("error", "%s: %s" % (messages.clean(entry, 80), why))
        return
    entries = list(s.ctx.config.patterns["Kill Subjects"])
    if any(e.lower() == entry.lower() for e in entries):
        s.result("ok", "already in [Kill Subjects]: %s" % entry)
        return
    s.ctx.state.set_patterns("Kill Subjects", entries + [entry])
    s.result("ok", "added to [Kill Subjects]: %s (%d entries)" % (entry, len(entries) + 1))
    s.ctx.act("[Kill Subjects] entry added: %s" % entry, "CONFIG KILLADD")


def config_killlist(s, args):
    """CONFIG KILLLIST: the entries of [Kill Subjects] and [Kill Authors]."""
    patterns = s.ctx.config.patterns
    s.result("ok", "%d kill subject(s), %d kill author(s)" % (
        len(patterns["Kill Subjects"]), len(patterns["Kill Authors"])))
    for name in ("Kill Subjects", "Kill Authors"):
        s.say("  [%s]" % name)
        for entry in patterns[name]:
            s.say("    " + entry)


CONFIG = {"SECURITY": _config_security, "INTERNETPOLICYSUB": _config_internetpolicysub,
          "ATTACH": repository.config_attach, "SENDFILE": repository.config_sendfile,
          "PUTFILE": repository.config_putfile,
          "KILLADD": config_killadd, "KILLLIST": config_killlist}


# Commands that change (or show) memberships: never run for an author read from the
# text of a message (rights.unproven), whose address proves nothing.
MEMBERSHIP = {"SUBSCRIBE", "UNSUBSCRIBE", "SET", "REWIND", "CATCHUP", "ADD", "REMOVE", "CHANGE", "WHICH"}


class Spec:
    def __init__(self, names, fn, usage, text, who="anyone"):
        self.names, self.fn, self.usage, self.text, self.who = names, fn, usage, text, who


# The command table: verb and synonyms, function, usage, what it does, who may.
SPECS = {spec.names[0]: spec for spec in (
    Spec(("INDEX",), repository.index, "INDEX [list] [keyword]",
         "The files of a list (no list: the default archive), with sizes, dates and descriptions."),
    Spec(("GET", "ATTACH"), repository.get, "GET [list] file ...",
         "Files of a list, attached to the reply (a day's posts: GET list YYYYMMDD)."),
    Spec(("FETCH", "SEND", "SENDFILE", "FTP"), repository.fetch, "FETCH [list] file ...",
         "Files of a list, each as a message of its own."),
    Spec(("SEARCH", "GREP", "FIND"), archive.search, "SEARCH [list] text",
         "The posts of a list's archive that hold text (case ignored), newest first."),
    Spec(("CD", "CHDIR"), repository.cd, "CD [list]",
         "The list the file commands after it in the message use (CD alone: the default archive)."),
    Spec(("PUT",), repository.put, "PUT [list] [folder] [FORCE]",
         "Store the files attached to this message in a list's folder (FORCE replaces)."),
    Spec(("KILL",), repository.kill, "KILL list file ...", "Remove files from a list's folder.", "list owner"),
    Spec(("ANNOUNCE",), announce, "ANNOUNCE list [recipient] [NEW-LIST]",
         "Announce a list, with its readme, to the AnnounceList or a list or address "
         "(NEW-LIST: in the NEW-LIST format).", "list owner"),
    Spec(("GRANT",), grant, "GRANT right [TO] user [FOR list]",
         "Give a privilege or flags (e.g. Member, W, CDGI-MO-R-UW) on a list (default: every list).",
         "list owner"),
    Spec(("REVOKE",), revoke, "REVOKE right [FROM] user [FOR list]",
         "Take rights away, whatever else gives them.", "list owner"),
    Spec(("AUDIT",), audit_, "AUDIT list | AUDIT SECURITY [WEEK|MONTH|date]",
         "The list's membership trail; the SuperUser: the security trail.", "list owner"),
    Spec(("CREATE",), create, "CREATE list description [HIDE]",
         "Create a list, with you as owner and first member.", "PostMaster"),
    Spec(("DESTROY",), destroy, "DESTROY list", "Close a list; its members are told.", "PostMaster"),
    Spec(("BAKE",), bake, "BAKE [function] FOR list TO user [USE BY n DAYS]",
         "Make a cookie in advance (default: SUB, 7 days; * for any).", "PostMaster"),
    Spec(("CONFIG",), config_, "CONFIG SECURITY | INTERNETPOLICYSUB 0|1|2 | KILLADD subject | KILLLIST | "
         "ATTACH file | SENDFILE file [address] | SENDFILE LIST name [address] | PUTFILE folder [FORCE]",
         "Report the security settings; set the confirmation policy; add to and list the kill "
         "subjects; send a file of the site (attached, or as a message of its own); store the "
         "attached files under archive/.", "SuperUser"),
)}

# Each row a command of the registry, until it has a file of its own.
for _spec in SPECS.values():
    register(type(_spec.names[0].title(), (Command,), {
        "names": _spec.names, "usage": _spec.usage, "help": _spec.text,
        "audience": Audience(_spec.who), "membership": _spec.names[0] in MEMBERSHIP,
        "run": (lambda fn: lambda self, s, args: fn(s, s.command))(_spec.fn)}))
