"""LISTS [address]: the lists here (with an address: WHICH address)."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, lookup, refused_unproven, register
from tristero.model import lists


@register
class Lists(Command):
    names = ("LISTS", "LIST")
    order = 20
    usage = "LISTS [address] | LIST [GLOBAL|SUMMARY]"
    help = "The lists here (or those an address is in)."
    grammar = (Word("address", optional=True, upper=False),)
    texts = {
        "lists.title": "{count} list(s) at {domain}",
        "lists.line": "{address:<24} {description} ({type})",
    }

    def run(self, s, args):
        if args.address is not None and args.address.upper() in ("GLOBAL", "SUMMARY", "DETAILED", "SHORT"):
            # LISTSERV's LIST GLOBAL|SUMMARY: this site's lists, as LISTS.
            args.address = None
        if args.address is not None:
            # LISTS address is WHICH address, refused where WHICH is.
            which = lookup("WHICH")
            if not refused_unproven(s, which):
                which.run(s, args)
            return
        cfg = s.ctx.config
        shown = [n for n in cfg.list_names() if not lists.hidden(cfg, n)]
        s.result("ok", s.text("lists.title", count=len(shown), domain=s.ctx.domain))
        for n in shown:
            s.say("  " + s.text("lists.line", address=lists.address(cfg, n),
                                description=cfg.list_value(n, "Description"),
                                type=cfg.list_value(n, "Type")))
