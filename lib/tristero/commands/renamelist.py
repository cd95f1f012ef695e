"""RENAMELIST old new: a list renamed, with its members, settings and folder (the
manual's resubscription exercise), the rules of access.ini that name it, and its
moderators' list (old-approval becomes new-approval)."""

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
        approval = lists.find(cfg, args.list + "-approval")
        if approval and name_refused(s, args.new + "-approval"):
            return
        for old, new in [(args.list, args.new)] + ([(approval, args.new + "-approval")] if approval else []):
            values = settings(cfg, old)
            ctx.state.del_section(lists.section(old))
            ctx.state.add_section(lists.section(new), values)
            ctx.state.rename_rules(old, new)
        s.result("ok", s.text("renamelist.done", list=args.list, new=args.new, address=lists.address(cfg, args.new)))
        ctx.act("list %s renamed %s by %s" % (args.list, args.new, s.sender), "RENAMELIST")
