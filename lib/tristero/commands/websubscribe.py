"""WEBSUBSCRIBE list: ask to join a list, always by a confirmation mailed to the sender
(what the web endpoint's subscribe form writes: its From is only what someone typed)."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, register
from tristero.model import audit
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import membership


@register
class WebSubscribe(Command):
    names = ("WEBSUBSCRIBE",)
    order = 270
    usage = "WEBSUBSCRIBE list"
    help = ("Ask to join a list open to everyone: a confirmation goes to your address, and only "
            "the reply to it subscribes you (what the web form sends).")
    membership = True
    grammar = (ListName(),)
    texts = {
        "websubscribe.not-open": "{list} takes no subscription requests from the web form; "
                                 "SUBSCRIBE {quoted} asks its owner",
        "websubscribe.barred": "{why}",
        "websubscribe.confirmation-pending": "a confirmation was already sent to {address} in this run",
    }

    def run(self, s, args):
        # Nothing proves that the sender wrote this: the From is what a web form was
        # given. So nothing is done but a confirmation mailed to that address; the reply
        # to it (COOKIE and SUBSCRIBE) is what subscribes.
        ctx, listname, target = s.ctx, args.list, s.sender
        if not rights.open_to_strangers(ctx.config, listname):
            s.result("refused", s.text("websubscribe.not-open", list=listname,
                                       quoted=membership.quoted(listname)))
            return
        if not membership.may_join(s, listname, target):
            return
        ok, why = rights.may(ctx, target, "subscribe", listname)
        if not ok:
            s.result("refused", s.text("websubscribe.barred", why=why))
            audit.security(ctx, target, listname, "WEBSUBSCRIBE", "refused: " + why)
            return
        if address_key(target) in ctx.confirmations_sent:
            s.result("held", s.text("websubscribe.confirmation-pending", address=target))
            return
        membership.ask_confirmation(s, listname, target)
        s.answered = True
