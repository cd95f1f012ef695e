"""RENAMELIST old new: a list renamed, with its members, settings and folder (the
manual's resubscription exercise); its access.ini rules, its LIST-approval list (the
moderators) and its membership of other lists go along, or the old name would keep
them for a list created later under it (and the renamed list would lose them)."""

from tristero.commands.clone import settings
from tristero.commands.create import name_refused
from tristero.commands.grammar import ListName, Word
from tristero.commands.registry import Audience, Command, register
from tristero.model import lists
from tristero.services import nesting


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
        for old, new in ((args.list, args.new),) + (((approval, args.new + "-approval"),) if approval else ()):
            rename(ctx, old, new)
            ctx.act("list %s renamed %s by %s" % (old, new, s.sender), "RENAMELIST")
        s.result("ok", s.text("renamelist.done", list=args.list, new=args.new, address=lists.address(cfg, args.new)))


def rename(ctx, old, new):
    """The section of list old as new's; old's access.ini rules and its address in other
    lists (on each domain of the site) made new's."""
    cfg = ctx.config
    values = settings(cfg, old)
    ctx.state.del_section(lists.section(old))
    ctx.state.add_section(lists.section(new), values)
    ctx.state.rename_rules(old, new)
    for _, number, address in nesting.holders(ctx, old):
        entry = ctx.state.remove_member(number, address)
        ctx.state.add_member(number, "%s@%s" % (lists.local_part(new), address.rpartition("@")[2]), entry[1])
