"""MEMBERS list: the members of a list (at most MAX_SHOWN of them); a list with lists
among its members is shown as an indented tree (services.nesting), to MaxListDepth."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, register
from tristero.model import members
from tristero.policy import rights
from tristero.services import majordomo, nesting, proxy, session

MAX_SHOWN = 5000     # members listed in one MEMBERS answer

_KINDS = {"list": "nesting.sub-list", "loop": "nesting.loop-member", "deeper": "nesting.deeper",
          "closed": "nesting.closed", "blocked": "nesting.blocked"}


@register
class Members(Command):
    names = ("MEMBERS", "RECIPIENTS", "REVIEW", "WHO")
    order = 60
    usage = "MEMBERS list"
    help = "The members of a list."
    right = "review"
    grammar = (ListName(),)
    texts = {
        "members.title": "{count} member(s) of {list}",
        "members.more": "... and {count} more",
        "members.nomail": "{address}  (NOMAIL)",
    }

    def run(self, s, args):
        if not majordomo.access(s, args.list, "who_access", "WHO"):
            return
        roster = session.members_of(s, args.list)
        s.result("ok", s.text("members.title", count=len(roster), list=args.list))
        if nesting.holds_lists(s.ctx, args.list):
            self.tree(s, args.list)
            return
        for i, (address, options) in enumerate(roster.items()):
            if i == MAX_SHOWN:
                s.say("  " + s.text("members.more", count=len(roster) - MAX_SHOWN))
                break
            s.say("  " + _shown(s, address, options))

    def tree(self, s, listname):
        """Lists within lists: each sub-list's members indented below it, to MaxListDepth;
        a loop named (and logged), a list the sender may not review not opened."""
        ctx = s.ctx

        def may_open(name):
            return rights.may(ctx, s.sender, "review", name, s.password_now())[0]

        shown = 0
        for level, address, options, kind in nesting.tree_lines(
                ctx, listname, ctx.config.globals("MaxListDepth"), MAX_SHOWN + 1, may_open):
            if shown == MAX_SHOWN:
                s.say("  " + s.text("nesting.tree-more"))
                break
            shown += 1
            line = _shown(s, address, options)
            # A Hidden list is, to one who may not see it, an address like any other.
            if kind and rights.sees(ctx, s.sender, nesting.sub_list(ctx, address)):
                line += "  " + s.text(_KINDS[kind], list=nesting.sub_list(ctx, address))
            s.say("  " * (level + 1) + line)
            if kind == "loop":
                ctx.act("loop of lists: %s is a member of a list below it (MEMBERS %s)"
                        % (nesting.sub_list(ctx, address), listname), "lists within lists")


def _shown(s, address, options):
    """A member as MEMBERS shows it: a remote list in brackets (ADD list [list@remote]), NOMAIL said."""
    if options and members.option_word(options, proxy.REMOTE):
        address = "[%s]" % address
    if options and members.option_word(options, "NOMAIL"):
        return s.text("members.nomail", address=address)
    return address
