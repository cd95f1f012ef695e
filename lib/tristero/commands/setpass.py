"""SETPASS password [FOR user]: change one's own password (after PASSWORD old); a
PostMaster sets anyone's below their rank (wildcards allowed)."""

from tristero.commands.grammar import End, Keyword, Word
from tristero.commands.registry import Command, register
from tristero.core import messages
from tristero.model import access, audit
from tristero.policy import rights
from tristero.services import membership, session


@register
class Setpass(Command):
    names = ("SETPASS",)
    order = 250
    usage = "SETPASS password [FOR user]"
    help = "Change your password (after PASSWORD old); PostMasters set others' (wildcards allowed)."
    grammar = (Word("new", upper=False), Keyword("FOR"), Word("user", optional=True, upper=False), End())
    texts = {
        "setpass.bad-user": "{user}: {why}",
        "setpass.above-rank": "only the SuperUser sets the password of a PostMaster or the SuperUser",
        "setpass.first": "no password is set for you yet; a PostMaster sets the first one "
                         "(SETPASS password FOR {address})",
        "setpass.old-needed": "send PASSWORD oldpassword before SETPASS",
        "setpass.done": "password set for {user}",
        "setpass.above-rank-notice": "SETPASS FOR {user}: above own rank",
    }

    def run(self, s, args):
        if getattr(args, "for") != (args.user is not None):
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        new = args.new
        why = rights.password_problem(new)
        if why:
            s.result("error", s.text(why))
            return
        if args.user is not None:
            user = args.user
            why = access.valid_pattern(user)
            if why:
                s.result("error", s.text("setpass.bad-user", user=messages.clean(user, 80), why=why))
                return
            if not session.allowed(s, "postmaster", None, "SETPASS FOR %s" % user):
                return
            if not rights.is_superuser(s.ctx.config, s.sender) and membership.outranks_or_is(s, user):
                s.result("refused", s.text("setpass.above-rank"))
                audit.security(s.ctx, s.sender, None, "SETPASS FOR %s" % user, "refused: above own rank")
                s.refused_privileged.append(s.ctx.text("setpass.above-rank-notice",
                                                       s.ctx.config.globals("SuperUser") or None, user=user))
                return
        else:
            user = s.sender
            stored = rights.password_of(s.ctx, user)
            if not stored:
                s.result("refused", s.text("setpass.first", address=user))
                return
            why = rights.password_refusal(s.ctx, s.sender, s.password_now())
            if why:
                why = s.text("setpass.old-needed") if why.key == rights.PASSWORD_NEEDED else why
                s.result("refused", why)
                audit.security(s.ctx, s.sender, None, "SETPASS", "refused: " + why)
                return
            audit.security(s.ctx, s.sender, None, "SETPASS", "done")
        s.ctx.state.set_rule(user, "", password=rights.hash_password(new))
        s.result("ok", s.text("setpass.done", user=user))
        s.ctx.act("password set for %s by %s" % (user, s.sender), "SETPASS")
