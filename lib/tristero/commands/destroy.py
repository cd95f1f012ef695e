"""DESTROY list: close a list; its members are told, its archive folder is kept."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Audience, Command, register
from tristero.model import lists
from tristero.services import membership, nesting, session


@register
class Destroy(Command):
    names = ("DESTROY",)
    order = 310
    usage = "DESTROY list"
    help = "Close a list; its members are told."
    audience = Audience.POSTMASTER
    right = "postmaster"
    grammar = (ListName(),)
    texts = {
        "destroy.notice.subject": "The list {list} has been closed",
        "destroy.notice": "The list {list} ({address}) has been closed by {by}.\nYour subscription to it has ended.",
        "destroy.done": "{list} destroyed; its {count} member(s) were told; its archive folder {number} is kept",
        "destroy.announce.subject": "List closed: {list}",
        "destroy.announce": "The list {list} has been closed.",
    }

    def run(self, s, args):
        listname = args.list
        ctx, cfg = s.ctx, s.ctx.config
        number = lists.number(cfg, listname)
        roster = session.members_of(s, listname)
        addresses = [a for a, _ in roster.items()]
        if addresses:
            msg = ctx.message(lists.address(cfg, listname), ctx.list_text(listname, "destroy.notice.subject",
                                                                          list=listname),
                              ctx.list_text(listname, "destroy.notice", list=listname,
                                            address=lists.address(cfg, listname), by=s.sender) + "\n",
                              kind="auto-generated")
            ctx.send_message(msg, addresses)
        _leave_lists(ctx, listname)
        ctx.state.drop_list(number)
        ctx.state.del_section(lists.section(listname))
        s.result("ok", s.text("destroy.done", list=listname, count=len(addresses), number=number))
        ctx.act("list %s (%s) destroyed by %s" % (listname, number, s.sender), "DESTROY")
        membership.announce(s, ctx.text("destroy.announce.subject", list=listname),
                            ctx.text("destroy.announce", list=listname) + "\n")


def _leave_lists(ctx, listname):
    """Lists within lists: the list leaves every list it is a member of, or a list created
    later under its name would get their posts without their owners' word."""
    for other, number, address in nesting.holders(ctx, listname):
        ctx.state.remove_member(number, address)
        ctx.act("%s left %s (the list was destroyed)" % (address, other), "DESTROY")
