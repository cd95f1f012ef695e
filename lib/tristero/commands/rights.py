"""RIGHTS [address]: the rights (access flags) of the sender, or of an address, on each list."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, register
from tristero.model import access, lists
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import session


@register
class Rights(Command):
    names = ("RIGHTS",)
    order = 230
    usage = "RIGHTS [address]"
    help = "Your rights (flags %s) on each list." % access.FLAGS
    grammar = (Word("address", optional=True, upper=False),)
    texts = {
        "rights.report": "rights of {address} ({flags})",
        "rights.report-line": "{list:<24} {flags}",
        "rights.report-site": "(site)",
        "rights.report-password": "Password: set",
        "rights.report-no-password": "Password: none",
    }

    def run(self, s, args):
        target = args.address if args.address is not None else s.sender
        if address_key(target) != address_key(s.sender) and not session.allowed(s, "postmaster", None,
                                                                                "RIGHTS of another"):
            return
        ctx = s.ctx
        s.result("ok", s.text("rights.report", address=target, flags=access.FLAGS))
        s.say("  " + s.text("rights.report-line", list=s.text("rights.report-site"),
                            flags=access.flag_string(rights.flags(ctx, target))))
        for n in ctx.config.list_names():
            if lists.hidden(ctx.config, n) and not rights.member(ctx, target, n) \
                    and not rights.privileged(ctx, s.sender, n):
                continue
            s.say("  " + s.text("rights.report-line", list=n, flags=access.flag_string(rights.flags(ctx, target, n))))
        s.say("  " + s.text("rights.report-password" if rights.password_of(ctx, target) else
                            "rights.report-no-password"))
