"""CONFIRM list (LISTSERV: renews one's subscription) | CONFIRM code (Majordomo's confirm:
the code a confirmation mail carries)."""

from tristero.commands import registry
from tristero.commands.grammar import End, Word
from tristero.commands.registry import Command, Dialect, register
from tristero.model import cookies, lists
from tristero.services import passwords, session


@register
class Confirm(Command):
    names = ("CONFIRM",)
    dialect = Dialect.LISTSERV
    order = 258
    usage = "CONFIRM list | CONFIRM code"
    help = ("Renew your subscription to a list (LISTSERV), or give the code of a confirmation mail "
            "(Majordomo).")
    membership = True
    grammar = (Word("word", upper=False), End())
    texts = {
        "confirm.renewed": "your subscription to {list} ({address}) is confirmed",
        "confirm.unknown": "{word} is neither a list here nor a confirmation code of yours (it may have expired)",
    }

    def run(self, s, args):
        ctx, word = s.ctx, args.word
        listname = session.find_list(s, word) if not lists.name_problem(word) else None
        if listname is not None:
            if s.sender not in session.members_of(s, listname):
                s.result("error", s.text("membership.not-member", address=s.sender, list=listname))
                return
            s.result("ok", s.text("confirm.renewed", list=listname, address=s.sender))
            ctx.act("%s renewed %s" % (s.sender, listname), "CONFIRM")
            return
        entry = passwords.waiting(s, word)
        if entry is not None:
            passwords.confirm(s, entry)
            return
        today = ctx.now.date()
        for n in ctx.config.list_names():
            if cookies.valid(ctx.cookie_key(), word, "SUB", n, s.sender, today) and session.find_list(s, n):
                # The cookie of a confirmation mail: the subscription it confirms.
                s.cookie = word
                registry.run(s, session.Command(s.command.line, ["SUBSCRIBE", n], s.command.password))
                return
        s.result("refused", s.text("confirm.unknown", word=word[:40]))
