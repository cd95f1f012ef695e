"""MKDIGEST list password (Majordomo): send the list's digest members their digest now,
due or not (the posts up to yesterday: today's go in the next one)."""

from tristero.commands.grammar import End, ListName, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.services import digests, majordomo


@register
class Mkdigest(Command):
    names = ("MKDIGEST",)
    dialect = Dialect.MAJORDOMO
    order = 230
    usage = "MKDIGEST list password"
    help = "Send the list's digest members their digest now, due or not (the posts up to yesterday)."
    audience = Audience.OWNER
    grammar = (ListName(), Word("password", upper=False), End())
    texts = {"mkdigest.done": "a digest of {list} went to {count} member(s)"}

    def run(self, s, args):
        if not majordomo.admin(s, args.list, args.password, "MKDIGEST"):
            return
        count = digests.list_digests(s.ctx, args.list, s.ctx.now.date(), now=True)
        s.result("ok", s.text("mkdigest.done", list=args.list, count=count))
        s.ctx.act("MKDIGEST %s by %s: %d digest(s)" % (args.list, s.sender, count), "MKDIGEST")
