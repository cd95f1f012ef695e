"""ONECLICK list address token: leave a list by a one-click link's token (RFC 8058; what
the web endpoint writes when the link is used). The token, not the From, proves the
address: it is checked again here, so a forged mail with a bad token changes nothing."""

from tristero.commands.grammar import Address, ListName, Word
from tristero.commands.registry import Command, register
from tristero.model import audit, cookies, lists, oneclick
from tristero.services import membership, session


@register
class OneClick(Command):
    names = ("ONECLICK",)
    order = 280
    usage = "ONECLICK list address token"
    help = ("Leave a list by the token of a one-click unsubscription link (what the web "
            "endpoint sends when the link is used).")
    membership = True
    grammar = (ListName(), Address(optional=False), Word("token", upper=False))
    texts = {
        "oneclick.bad-token": "this one-click token is not valid for {address} on {list} "
                              "(expired, or made for another list or address): nothing was changed",
    }

    def run(self, s, args):
        ctx, listname, target = s.ctx, args.list, args.address
        # A link names the list as the configuration spells it, or by its address's local part.
        if not any(cookies.valid(ctx.cookie_key(), args.token, oneclick.FUNCTION, name, target, ctx.now.date())
                   for name in (listname, lists.local_part(listname))):
            s.result("refused", s.text("oneclick.bad-token", address=target, list=listname))
            audit.security(ctx, s.sender, listname, "ONECLICK", "refused: bad token for %s" % target)
            ctx.act("one-click unsubscription of %s from %s refused: bad token" % (target, listname), "one-click")
            return
        entry = session.members_of(s, listname).get(target)
        if entry is None:
            # Not answered when it is the mail's only command (s.answered): a link used
            # again and again (a leaked one, POSTed from run to run) must not mail its
            # member each time; the one that unsubscribed was answered.
            s.result("ok", s.text("membership.not-member", address=target, list=listname))
            s.answered = True
            return
        membership.leave(s, listname, entry[0], how="one-click")
