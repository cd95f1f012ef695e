"""CLONE list copy: a new list with the settings of list (and the files of its folder),
with no members (the manual's "Cloning Lists", and its resubscription exercise)."""

from tristero.commands import create
from tristero.commands.grammar import ListName, Word
from tristero.commands.registry import Audience, Command, register
from tristero.model import audit, lists

MEMBERS = ("foldermembers", "feedfolders")


def settings(config, listname):
    """The values a list's section sets, as written (its MemberFile too)."""
    section = lists.section(listname)
    return {key: config.raw(section, key) for key in config.sections[section]}


@register
class Clone(Command):
    names = ("CLONE",)
    order = 312
    usage = "CLONE list copy"
    help = "Create the list copy with the settings and files of list, and no members."
    audience = Audience.POSTMASTER
    right = "postmaster"
    grammar = (ListName(), Word("copy", upper=False))
    texts = {
        "clone.done": "created {copy} ({address}) with the settings of {list}, and no members",
    }

    def run(self, s, args):
        if args.rest:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if create.name_refused(s, args.copy):
            return
        ctx, cfg = s.ctx, s.ctx.config
        # Folders are members (services.folders): the copy has none, and feeds from none.
        values = {k: v for k, v in settings(cfg, args.list).items() if k.lower() not in MEMBERS}
        source = lists.number(cfg, args.list)
        number = values["MemberFile"] = lists.next_number(cfg, ctx.site)
        ctx.state.add_section(lists.section(args.copy), values)
        ctx.state.drop_rules(args.copy)         # a destroyed list's, left under the name (as CREATE)
        ctx.state.clear_list(number)
        audit.list_event(ctx, number, "create", s.sender, s.sender)
        create.copy_files(s, number, source)
        s.result("ok", s.text("clone.done", copy=args.copy, list=args.list, address=lists.address(cfg, args.copy)))
        ctx.act("list %s created as %s, a copy of %s, by %s" % (args.copy, number, args.list, s.sender), "CLONE")
