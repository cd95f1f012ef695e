"""COOKIE code: a cookie (a confirmation, or one BAKE made) for the commands after it."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, register


@register
class Cookie(Command):
    names = ("COOKIE",)
    order = 260
    usage = "COOKIE code"
    help = "Give a cookie for the commands after it."
    grammar = (Word("code", upper=False),)
    texts = {"cookie.noted": "cookie noted for the commands that follow"}

    def run(self, s, args):
        s.cookie = args.code
        s.result("ok", s.text("cookie.noted"))
