"""THANKS: LISTSERV's courtesy answered in kind."""

from tristero.commands.grammar import Rest
from tristero.commands.registry import Command, Dialect, register


@register
class Thanks(Command):
    names = ("THANKS", "THANK")
    dialect = Dialect.LISTSERV
    order = 340
    usage = "THANKS"
    help = "A courtesy, answered in kind."
    grammar = (Rest("words"),)
    texts = {"thanks.welcome": "you are welcome!"}

    def run(self, s, args):
        s.result("ok", s.text("thanks.welcome"))
