"""PWC ADD|REP address newpassword | PWC DEL address [PW=createpw]: the PostMaster sets,
replaces or removes anyone's personal password, with [Security] CreatePassword or their own."""

from tristero.commands.grammar import End, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.core import messages
from tristero.model import audit, lockouts
from tristero.policy import rights
from tristero.services import membership, passwords, session

# The lockout entry (model.lockouts) that counts wrong CreatePasswords.
CREATE_USER = "[createpassword]"


@register
class Pwc(Command):
    names = ("PWC",)
    dialect = Dialect.LISTSERV
    order = 257
    usage = "PWC ADD|REP address newpassword PW=createpassword | PWC DEL address PW=createpassword"
    help = ("Set (ADD, REP) or remove (DEL) anyone's personal password, with the site's CreatePassword "
            "or your own.")
    audience = Audience.POSTMASTER
    membership = True
    grammar = (Word("action", choices=("ADD", "REP", "DEL")), Word("user", upper=False),
               Word("new", optional=True, upper=False), End())
    texts = {
        "pwc.not-address": "{user} is not a mail address",
        "pwc.create-wrong": "PW= must give the site's CreatePassword or your own password",
        "pwc.exists": "{user} has a password already (PWC REP replaces it)",
    }

    def run(self, s, args):
        ctx, user = s.ctx, args.user.strip("<>")
        if (args.action == "DEL") != (args.new is None):
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if not messages.is_address(user):
            s.result("error", s.text("pwc.not-address", user=messages.clean(user, 80)))
            return
        if args.new is not None:
            why = rights.password_problem(args.new)
            if why:
                s.result("error", s.text(why))
                return
        what = "PWC %s %s" % (args.action, user)
        if not self.allowed(s, what):
            return
        if not rights.is_superuser(ctx.config, s.sender) and membership.outranks_or_is(s, user):
            s.result("refused", s.text("setpass.above-rank"))
            audit.security(ctx, s.sender, None, what, "refused: above own rank")
            return
        if args.action == "ADD" and passwords.personal_rule(ctx, user) is not None:
            s.result("refused", s.text("pwc.exists", user=user))
            return
        passwords.set_now(s, user, rights.hash_password(args.new) if args.new else "", what)

    def allowed(self, s, what):
        """May the sender (a PostMaster) do this: PW= gives the CreatePassword, or, when the
        site has none (or the sender has a password of their own), their own password."""
        ctx = s.ctx
        create = ctx.config.get("Security", "CreatePassword")
        given = s.password_now()
        if not rights.privileged(ctx, s.sender) or rights.unproven(ctx, s.sender) or not create:
            return session.allowed(s, "postmaster", None, what)
        until = lockouts.locked_until(ctx, CREATE_USER)
        if until is None and given and rights.verify(given, create):
            audit.security(ctx, s.sender, None, what, "done (CreatePassword)")
            return True
        if rights.password_of(ctx, s.sender) is not None:
            return session.allowed(s, "postmaster", None, what)
        if until is None and given:
            lockouts.failed(ctx, CREATE_USER)
        s.result("refused", s.text("pwc.create-wrong"))
        audit.security(ctx, s.sender, None, what, "refused: CreatePassword wrong or missing")
        s.refused_privileged.append("%s: CreatePassword wrong or missing" % what)
        return False
