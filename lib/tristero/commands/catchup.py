"""CATCHUP list: a digest member skips the digests not yet sent; the next starts with today's posts."""

import datetime

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, register
from tristero.services import membership


@register
class Catchup(Command):
    names = ("CATCHUP",)
    order = 100
    usage = "CATCHUP list"
    help = "Skip the digests of a list not yet sent: the next starts with today's posts."
    membership = True
    grammar = (ListName(),)

    def run(self, s, args):
        found = membership.digest_member(s, args.list, "CATCHUP")
        if found is None:
            return
        entry, c = found
        c.last = s.ctx.now.date() - datetime.timedelta(days=1)
        membership.set_digest_choice(s, args.list, entry, c)
        s.result("ok", s.text("membership.next-digest", list=args.list, day=s.ctx.now.date().isoformat()))
