"""PASSWORD password: the sender's password, for the privileged commands after it."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, register
from tristero.model import audit
from tristero.policy import rights


@register
class Password(Command):
    names = ("PASSWORD",)
    order = 240
    usage = "PASSWORD password"
    help = "Give your password for the commands after it."
    grammar = (Word("password", upper=False),)
    texts = {
        "password.accepted": "password accepted for the commands that follow",
        "password.none-needed": "no password is set for you; none is needed",
    }

    def run(self, s, args):
        stored = rights.password_of(s.ctx, s.sender)
        why = rights.password_refusal(s.ctx, s.sender, args.password)
        if why:
            s.result("refused", why)
            audit.security(s.ctx, s.sender, None, "PASSWORD", "refused: " + why)
            if not isinstance(why, rights.Locked):
                s.refused_privileged.append("PASSWORD: " + why)
            return
        s.password = args.password
        s.result("ok", s.text("password.accepted" if stored else "password.none-needed"))
