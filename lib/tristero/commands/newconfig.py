"""NEWCONFIG list password (Majordomo), the text following up to EOF: the list's new
Majordomo settings, every line checked before any is applied."""

from tristero.commands.grammar import End, ListName, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.model import lists
from tristero.services import majordomo

MAX_BAD_SHOWN = 50      # bad lines answered one by one


@register
class Newconfig(Command):
    names = ("NEWCONFIG",)
    dialect = Dialect.MAJORDOMO
    order = 226
    usage = "NEWCONFIG list password (the settings follow, then a line EOF)"
    help = ("Replace a list's Majordomo settings with the text that follows, up to a line EOF; "
            "nothing is changed unless every line is right.")
    audience = Audience.OWNER
    takes_text = True
    grammar = (ListName(), Word("password", upper=False), End())

    def run(self, s, args):
        listname, lines = args.list, s.command.text
        if not majordomo.admin(s, listname, args.password, "NEWCONFIG"):
            return
        if lines is None:
            s.result("error", s.text("majordomo.no-text"))
            return
        values, bad = majordomo.read_config(s, listname, lines)
        if bad:
            s.result("error", s.text("majordomo.config-refused", count=len(bad)))
            for n, why in bad[:MAX_BAD_SHOWN]:
                s.say("  " + s.text("majordomo.config-line", line=n, why=why))
            return
        section = lists.section(listname)
        changed = {k: v for k, v in values.items() if majordomo.shown(s.ctx.config, listname, k) != v}
        for key, value in changed.items():
            s.ctx.state.set_config(section, key, value)
        s.result("ok", s.text("majordomo.config-applied", count=len(changed), list=listname))
        s.ctx.act("NEWCONFIG %s by %s: %s" % (listname, s.sender, ", ".join(sorted(changed)) or "no change"),
                  "NEWCONFIG")
