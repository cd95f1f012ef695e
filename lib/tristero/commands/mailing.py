"""MAILING SHOW|TEST|APPROVE|SCHEDULE|PAUSE|RESUME|CANCEL name: a scheduled mailing
(services/mailings.py) by mail, for [Security] DIST_ALLOWED_USERS and PostMasters (with
their personal password, as DISTRIBUTE) and for the owner of the list a mailing is sent
to (Recipients = list:NAME; the right to manage it)."""

import os

from tristero.commands.distribute import may_distribute
from tristero.commands.grammar import Rest, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.core import messages
from tristero.model import audit, lists
from tristero.services import mailings, session

ACTIONS = ("SHOW", "TEST", "APPROVE", "SCHEDULE", "PAUSE", "RESUME", "CANCEL")


@register
class Mailing(Command):
    names = ("MAILING",)
    dialect = Dialect.LISTSERV
    order = 345
    usage = "MAILING SHOW|TEST address|APPROVE|SCHEDULE schedule|PAUSE|RESUME|CANCEL name"
    help = ("Show, test, approve, schedule, pause, resume or cancel a scheduled mailing "
            "(mailings/NAME/); for DIST_ALLOWED_USERS, PostMasters and the owner of its list.")
    audience = Audience.POSTMASTER
    grammar = (Word("action", choices=ACTIONS), Word("name", upper=False), Rest("more"))
    texts = {
        "mailing.problem": "mailing {name}: {why}",
        "mailing.test-needs": "MAILING TEST name address",
        "mailing.schedule-needs": "MAILING SCHEDULE name now | at TIME | every N UNITS from TIME "
                                  "[until TIME | count N]",
        "mailing.schedule-state": "mailing {name} is {state}: its schedule changes while it is a draft or paused",
        "mailing.scheduled": "mailing {name}: Schedule = {schedule}",
    }

    def run(self, s, args):
        ctx = s.ctx
        name = args.name.lower()
        what = "MAILING %s %s" % (args.action, messages.clean(name, 40))
        try:
            mailing = mailings.Mailing(ctx.site, name)
        except mailings.MailingError as e:
            s.result("error", s.text("mailing.problem", name=messages.clean(name, 40), why=e))
            return
        if not self.may(s, mailing, what):
            return
        try:
            if args.action == "SHOW":
                for line in mailings.show(ctx.site, name):
                    s.say(line)
                s.result("ok", what)
                return
            if args.action == "TEST":
                if len(args.more) != 1 or not messages.is_address(args.more[0]):
                    s.result("error", s.text("mailing.test-needs"))
                    return
                s.result("ok", mailings.test(ctx, name, args.more[0]))
            elif args.action == "APPROVE":
                done, said = mailings.approve(ctx, name, s.sender)
                s.result("ok" if done else "error", said)
            elif args.action == "SCHEDULE":
                text = " ".join(args.more)
                if not text:
                    s.result("error", s.text("mailing.schedule-needs"))
                    return
                mailings.Schedule(text)
                if mailing.state not in ("draft", "paused"):
                    s.result("error", s.text("mailing.schedule-state", name=name, state=mailing.state))
                    return
                ctx.write(os.path.join(mailing.path, "mailing.ini"), mailing.ini_text(Schedule=text).encode("utf-8"))
                s.result("ok", s.text("mailing.scheduled", name=name, schedule=text))
            else:
                done, said = mailings.change_state(ctx, name, args.action.lower())
                s.result("ok" if done else "error", said)
        except mailings.MailingError as e:
            s.result("error", s.text("mailing.problem", name=name, why=e))
            return
        audit.security(ctx, s.sender, None, what, "done")
        ctx.act("%s by %s" % (what, s.sender), "MAILING")

    @staticmethod
    def may(s, mailing, what):
        """May the sender act on mailing? A refusal said and audited."""
        ctx = s.ctx
        source = mailing.get("Recipients")
        listname = lists.find(ctx.config, source[5:].strip()) if source.lower().startswith("list:") else None
        if listname and s.sender.lower() == (lists.owner(ctx.config, listname) or "").lower():
            return session.allowed(s, "manage", listname, what)
        why = may_distribute(ctx, s.sender, s.password_now())
        if why:
            s.result("refused", why)
            audit.security(ctx, s.sender, None, what, "refused: " + why)
            return False
        return True
