"""WRITECONFIG list password (Majordomo): write the list's configuration in standard form:
every Majordomo setting in the list's section, those not set with their default."""

from tristero.commands.grammar import End, ListName, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.model import config as configs
from tristero.model import lists
from tristero.services import majordomo


@register
class Writeconfig(Command):
    names = ("WRITECONFIG",)
    dialect = Dialect.MAJORDOMO
    order = 227
    usage = "WRITECONFIG list password"
    help = "Write every Majordomo setting of a list into its section, those not set with their default."
    audience = Audience.OWNER
    grammar = (ListName(), Word("password", upper=False), End())

    def run(self, s, args):
        listname = args.list
        if not majordomo.admin(s, listname, args.password, "WRITECONFIG"):
            return
        section = lists.section(listname)
        sec = s.ctx.config.sections.get(section, {})
        added = [k for k in configs.MAJORDOMO_KEYS if k not in sec and configs.MAJORDOMO_DEFAULTS[k]
                 and k not in ("admin_passwd", "approve_passwd")]
        for key in added:
            s.ctx.state.set_config(section, key, configs.MAJORDOMO_DEFAULTS[key])
        s.result("ok", s.text("majordomo.config-applied", count=len(added), list=listname))
        s.ctx.act("WRITECONFIG %s by %s" % (listname, s.sender), "WRITECONFIG")
