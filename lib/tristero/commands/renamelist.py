"""RENAMELIST old new: a list renamed, with its members, settings and folder (the
manual's resubscription exercise)."""

from tristero.commands.clone import name_refused, settings
from tristero.commands.grammar import ListName, Word
from tristero.commands.registry import Audience, Command, register
from tristero.model import lists


@register
class RenameList(Command):
    names = ("RENAMELIST",)
    order = 314
    usage = "RENAMELIST list new"
    help = "Give a list a new name (and address); its members, settings and files stay."
    audience = Audience.POSTMASTER
    right = "postmaster"
    grammar = (ListName(), Word("new", upper=False))
    texts = {
        "renamelist.done": "{list} is now {new} ({address})",
    }

    def run(self, s, args):
        if args.rest:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if name_refused(s, args.new):
            return
        ctx, cfg = s.ctx, s.ctx.config
        values = settings(cfg, args.list)
        ctx.state.del_section(lists.section(args.list))
        ctx.state.add_section(lists.section(args.new), values)
        s.result("ok", s.text("renamelist.done", list=args.list, new=args.new, address=lists.address(cfg, args.new)))
        ctx.act("list %s renamed %s by %s" % (args.list, args.new, s.sender), "RENAMELIST")
