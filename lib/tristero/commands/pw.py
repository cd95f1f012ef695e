"""PW ADD newpw | PW REP newpw [PW=old] | PW RESET: a personal password, LISTSERV's way
(the change waits for the user's OK, except PW REP with the old password)."""

from tristero.commands.grammar import End, Word
from tristero.commands.registry import Command, Dialect, register
from tristero.model import audit
from tristero.policy import rights
from tristero.services import passwords


@register
class Pw(Command):
    names = ("PW",)
    dialect = Dialect.LISTSERV
    order = 255
    usage = "PW ADD newpassword | PW REP newpassword [PW=oldpassword] | PW RESET"
    help = ("Set (ADD), replace (REP) or remove (RESET) your personal password; you confirm the change by "
            "answering OK to the mail that asks, unless PW REP gives the old password (PW=old).")
    membership = True
    grammar = (Word("action", choices=("ADD", "REP", "RESET")), Word("new", optional=True, upper=False), End())
    texts = {
        "pw.has-one": "you have a password already: PW REP newpassword PW=oldpassword replaces it",
        "pw.none": "you have no personal password",
    }

    def run(self, s, args):
        if (args.action == "RESET") != (args.new is None):
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if args.new is not None:
            why = rights.password_problem(args.new)
            if why:
                s.result("error", s.text(why))
                return
        mine = passwords.personal_rule(s.ctx, s.sender)
        if args.action == "ADD" and mine is not None:
            s.result("refused", s.text("pw.has-one"))
            return
        if args.action == "RESET" and mine is None:
            s.result("ok", s.text("pw.none"))
            return
        new_hash = rights.hash_password(args.new) if args.new is not None else ""
        old = s.password_now()
        if args.action == "REP" and mine is not None and old:
            why = rights.password_refusal(s.ctx, s.sender, old)
            if why:
                s.result("refused", why)
                audit.security(s.ctx, s.sender, None, "PW REP", "refused: " + why)
                return
            passwords.set_now(s, s.sender, new_hash, "PW REP")
            return
        passwords.ask(s, args.action, new_hash)
