"""MEMBERS list: the members of a list (at most MAX_SHOWN of them)."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, register
from tristero.model import members
from tristero.services import majordomo, session

MAX_SHOWN = 5000     # members listed in one MEMBERS answer


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
        for i, (address, options) in enumerate(roster.items()):
            if i == MAX_SHOWN:
                s.say("  " + s.text("members.more", count=len(roster) - MAX_SHOWN))
                break
            nomail = options and members.option_word(options, "NOMAIL")
            s.say("  " + (s.text("members.nomail", address=address) if nomail else address))
