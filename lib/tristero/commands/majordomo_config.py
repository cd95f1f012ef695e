"""CONFIG list password (Majordomo): the list's settings as Majordomo's commented text.
CONFIG's first word naming a list, not a subcommand, brings a command line here
(CONFIG's list_form)."""

from tristero.commands.grammar import End, ListName, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.services import majordomo


@register
class MajordomoConfig(Command):
    names = ("MAJORDOMO CONFIG",)
    dialect = Dialect.MAJORDOMO
    usage = "CONFIG list password"
    help = "The list's Majordomo settings as Majordomo's commented text (NEWCONFIG sends them back)."
    audience = Audience.OWNER
    grammar = (ListName(), Word("password", upper=False), End())
    texts = {"majordomo.config.done": "the settings of {list} follow"}

    def run(self, s, args):
        if not majordomo.admin(s, args.list, args.password, "CONFIG"):
            return
        s.result("ok", s.text("majordomo.config.done", list=args.list))
        s.say(majordomo.config_text(s, args.list))
