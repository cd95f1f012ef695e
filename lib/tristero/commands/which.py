"""WHICH [address]: the lists an address is in (*part* for addresses that hold part)."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, register
from tristero.model.members import address_key
from tristero.services import majordomo, session


@register
class Which(Command):
    names = ("WHICH",)
    order = 70
    usage = "WHICH [address]"
    help = "The lists you (or an address) are in."
    membership = True
    grammar = (Word("address", optional=True, upper=False),)
    texts = {
        "which.title": "{address} is in {count} list(s)",
        "which.match": "{list}: {address}",
    }

    def run(self, s, args):
        target = args.address if args.address is not None else s.sender
        cfg = s.ctx.config
        other = address_key(target) != address_key(s.sender)
        if other and not session.allowed(s, "postmaster", None, "WHICH of another address"):
            return
        fuzzy = len(target) > 2 and target.startswith("*") and target.endswith("*")
        needle = target.strip("*").lower()
        found = []
        for n in cfg.list_names():
            if not majordomo.visible(s, n, "which_access"):
                continue
            roster = session.members_of(s, n)
            if fuzzy:
                found += [s.text("which.match", list=n, address=a) for a, _ in roster.items() if needle in a.lower()]
            elif target in roster:
                found.append(n)
        s.result("ok", s.text("which.title", address=target, count=len(found)))
        for f in found:
            s.say("  " + f)
