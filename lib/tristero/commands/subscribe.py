"""SUBSCRIBE list [your name] (Majordomo: SUBSCRIBE list address): join a list, as its
type and the site's confirmation policy allow."""

from tristero.commands.grammar import Address, ListName, Rest
from tristero.commands.registry import Command, language_of, register
from tristero.model import audit
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import majordomo, membership, session


@register
class Subscribe(Command):
    names = ("SUBSCRIBE", "JOIN", "SUB")
    abbreviations = {"SUBSCRIBE": 3}
    order = 40
    usage = "SUBSCRIBE list [your name]"
    help = "Join a list. Majordomo's SUBSCRIBE list address works too."
    membership = True
    grammar = (ListName(), Address(), Rest("name"))
    texts = {
        "subscribe.session-limit": "at most {limit} subscriptions from one sender at a time (MaxSessionSubs); "
                                   "send the rest later",
        "subscribe.confirmation-pending": "a confirmation was already sent to {address} in this run",
        "subscribe.done": "{address} is now a member of {list}",
    }

    def run(self, s, args):
        listname, rest = args.list, args.name
        target = args.address or s.sender
        if not membership.may_join(s, listname, target, rest):
            return
        ctx, cfg = s.ctx, s.ctx.config
        other = address_key(target) != address_key(s.sender)
        if other and rights.privileged(ctx, s.sender, listname, s.password_now()) and \
                session.allowed(s, "manage", listname, "SUBSCRIBE"):
            self.subscribed(s, listname, target, rest, "by the owner")
            return
        ok, rule = rights.may(ctx, target, "subscribe", listname)
        policy = cfg.list_value(listname, "SubscribePolicy")
        confirm_others = cfg.get("Security", "InternetPolicySub") >= 1
        if not ok or policy.startswith("closed") or (other and not policy.startswith("auto") and not confirm_others):
            membership.hold_for_owner(s, listname, target, " ".join(rest))
            return
        limit = cfg.get("Security", "MaxSessionSubs")
        if limit and ctx.session_subs[address_key(s.sender)] >= limit:
            s.result("refused", s.text("subscribe.session-limit", limit=limit))
            audit.security(ctx, s.sender, listname, "SUBSCRIBE", "refused: MaxSessionSubs")
            return
        ctx.session_subs[address_key(s.sender)] += 1
        if address_key(target) in ctx.confirmations_sent:
            s.result("held", s.text("subscribe.confirmation-pending", address=target))
            return
        if membership.needs_confirmation(s, listname, target, other, policy) and not membership.confirmed(
                s, listname, target):
            membership.ask_confirmation(s, listname, target,
                                        s.command.verb if language_of(s.command.verb) else "SUBSCRIBE")
            return
        self.subscribed(s, listname, target, rest, rule)

    def subscribed(self, s, listname, target, name_words, rule):
        membership.join(s, listname, target, name_words)
        s.result("ok", s.text("subscribe.done", address=target, list=listname))
        s.ctx.act("%s subscribed to %s" % (target, listname), rule)
        membership.welcome(s, listname, target)
        majordomo.tell_owner(s, listname, "subscribe", target)
