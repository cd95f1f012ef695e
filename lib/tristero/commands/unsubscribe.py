"""UNSUBSCRIBE list|* [address]: leave a list, or every list."""

from tristero.commands.grammar import Address, ListOrAll
from tristero.commands.registry import Command, register
from tristero.model.members import address_key
from tristero.services import membership, session


@register
class Unsubscribe(Command):
    names = ("UNSUBSCRIBE", "UNSUB", "SIGNOFF", "LEAVE")
    order = 50
    usage = "UNSUBSCRIBE list|*"
    help = "Leave a list, or every list (*)."
    membership = True
    grammar = (ListOrAll(), Address())
    texts = {
        "unsubscribe.only-yourself": "you may only unsubscribe yourself (the list owner may REMOVE others)",
        "unsubscribe.in-no-list": "{address} is not a member of any list",
    }

    def run(self, s, args):
        everything = args.list == "*"
        listname = None if everything else args.list
        target = args.address or s.sender
        if address_key(target) != address_key(s.sender) and (
                everything or not session.allowed(s, "manage", listname, "UNSUBSCRIBE of another address")):
            s.result("refused", s.text("unsubscribe.only-yourself"))
            return
        if everything:
            names = [n for n in s.ctx.config.list_names() if target in session.members_of(s, n)]
            if not names:
                s.result("ok", s.text("unsubscribe.in-no-list", address=target))
            for n in names:
                membership.leave(s, n, target)
            return
        if target not in session.members_of(s, listname):
            s.result("ok", s.text("membership.not-member", address=target, list=listname))
            return
        membership.leave(s, listname, session.members_of(s, listname).get(target)[0])
