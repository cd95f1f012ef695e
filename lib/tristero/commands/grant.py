"""GRANT right [TO] user [FOR list]: give a privilege or flags, for exactly that user and
list (REVOKE, revoke.py, is this command taking them away)."""

from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import access, audit
from tristero.policy import rights
from tristero.services import membership, session


@register
class Grant(Command):
    names = ("GRANT",)
    order = 270
    usage = "GRANT right [TO] user [FOR list]"
    help = "Give a privilege or flags (e.g. Member, W, CDGI-MO-R-UW) on a list (default: every list)."
    audience = Audience.OWNER
    give = True                 # False: REVOKE
    keyword = "TO"              # the optional word before the user
    texts = {
        "grant.above": "you cannot grant rights you do not hold yourself ({flags})",
        "grant.outranked-take": "only the SuperUser takes rights from {user}, a PostMaster or the SuperUser{covers}",
        "grant.outranked-give": "only the SuperUser gives back rights masked to {user}, a PostMaster or the "
                                "SuperUser{covers}",
        "grant.covers": ", whom {pattern} covers",
        "grant.done": "{user} now holds {rights} on {list}",
        "revoke.done": "{user} no longer holds {rights} on {list}",
    }

    def run(self, s, args):
        """Change the rule of access.ini for exactly that user and list (who may: _may_grant)."""
        verb = self.name
        parsed = self.parse(s, args.words)
        if parsed is None:
            return
        add, remove, user, listname, macro = parsed
        if not self.give:
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
        if self.give:
            s.result("ok", s.text("grant.done", user=user, rights=status, list=listname))
        else:
            s.result("ok", s.text("revoke.done", user=user, rights=access.flag_string(flags), list=listname))
        s.ctx.act("%s %s %s %s for %s by %s" % (verb, access.flag_string(flags), "to" if self.give else "from",
                                                user, listname, s.sender), verb)

    def parse(self, s, words):
        """(granted, masked, user, list, a privilege's name?) of right [TO] user [[FOR] list]
        (FROM for REVOKE); None after saying why not."""
        words = list(words)
        if len(words) >= 2 and words[1].upper() == self.keyword:
            del words[1]
        listname = "*"
        if len(words) >= 3 and words[2].upper() == "FOR":
            del words[2]
        if len(words) == 3:
            listname = words[2]
        elif len(words) != 2:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return None
        right, user = words[0], words[1]
        try:
            granted, masked = access.parse_status(right)
        except ValueError as e:
            s.result("error", str(e))
            return None
        why = access.valid_pattern(user)
        if why:
            s.result("error", s.text("admin.problem", what=messages.clean(user, 80), why=why))
            return None
        if listname != "*":
            found = session.find_list(s, listname)
            if found is None:
                s.result("error", s.text("admin.no-list", list=listname))
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
    covered = None if superuser or not (masking or lifted) else membership.outranks_or_is(s, user)
    if above:
        why = s.text("grant.above", flags="".join(sorted(above, key=access.FLAGS.index)))
    elif covered:
        # A wildcard too: GRANT Barred TO *@example.net would bar a SuperUser there,
        # who could then not undo it by mail.
        why = s.text("grant.outranked-take" if masking else "grant.outranked-give", user=covered,
                     covers="" if covered.lower() == user.lower() else s.text("grant.covers", pattern=user))
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
