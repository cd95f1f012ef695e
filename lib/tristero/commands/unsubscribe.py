"""UNSUBSCRIBE list|* [address]: leave a list, or every list."""

from tristero.commands.grammar import Address, ListOrAll
from tristero.commands.registry import Command, register
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import majordomo, membership, session


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
        other = address_key(target) != address_key(s.sender)
        if other and everything:
            s.result("refused", s.text("unsubscribe.only-yourself"))
            return
        if not everything:
            # Majordomo's unsubscribe_policy: auto lets anyone unsubscribe anyone; open
            # passes another address's unsubscription to the owner; closed passes all.
            policy = s.ctx.config.list_value(listname, "unsubscribe_policy")
            owner = rights.privileged(s.ctx, s.sender, listname, s.password_now())
            if owner and other and not session.allowed(s, "manage", listname, "UNSUBSCRIBE of another address"):
                return
            if not owner and (policy.startswith("closed") or other and not policy.startswith("auto")):
                # Whether another address is a member is the owner's to see (who_access).
                if not other and target not in session.members_of(s, listname):
                    s.result("ok", s.text("membership.not-member", address=target, list=listname))
                    return
                majordomo.hold_departure(s, listname, target)
                return
            if not owner and policy.endswith("+confirm") and target in session.members_of(s, listname) \
                    and not majordomo.departure_confirmed(s, listname, target):
                majordomo.ask_departure(s, listname, target)
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
        majordomo.tell_owner(s, listname, "unsubscribe", target)
