"""REWIND list [days]: a digest member's next digest starts days (default 1) earlier."""

import datetime

from tristero.commands.grammar import ListName, Rest
from tristero.commands.registry import Command, register
from tristero.services import digests, membership

_ONE = datetime.timedelta(days=1)


@register
class Rewind(Command):
    names = ("REWIND",)
    order = 90
    usage = "REWIND list [days]"
    help = "Your next digest of a list starts days (default 1) earlier."
    membership = True
    grammar = (ListName(), Rest("days"))
    texts = {"rewind.days": "usage: {usage} (1 to {most})"}

    def run(self, s, args):
        listname = args.list
        found = membership.digest_member(s, listname, "REWIND")
        if found is None:
            return
        entry, c = found
        # The days are read after the member and the right are checked (so a stranger
        # or a member without digests is told that, whatever the days).
        try:
            days = int(args.days[0]) if args.days else 1
        except ValueError:
            days = 0
        if not 1 <= days <= digests.MAX_DAYS:
            s.result("error", s.text("rewind.days", usage=self.usage, most=digests.MAX_DAYS))
            return
        today = s.ctx.now.date()
        c.last = max(min(digests.last_day(c, today), today - _ONE) - datetime.timedelta(days=days),
                     today - datetime.timedelta(days=digests.MAX_DAYS + 1))
        membership.set_digest_choice(s, listname, entry, c)
        s.result("ok", s.text("membership.next-digest", list=listname, day=(c.last + _ONE).isoformat()))
