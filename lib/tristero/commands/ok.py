"""OK [code]: LISTSERV's confirmation, the answer to a mail that asks to confirm a command
(the code is in its subject, which a reply keeps)."""

from tristero.commands.grammar import End, Word
from tristero.commands.registry import Command, Dialect, register
from tristero.services import passwords


@register
class Ok(Command):
    names = ("OK",)
    dialect = Dialect.LISTSERV
    order = 256
    usage = "OK [code]"
    help = "Confirm a command, in a reply to the mail that asks you to (the code is in its subject)."
    membership = True
    grammar = (Word("code", optional=True, upper=False), End())
    texts = {
        "ok.nothing": "no request of yours waits for this confirmation (it may have expired, or been "
                      "replaced by a newer one): send the command again",
    }

    def run(self, s, args):
        code = args.code or passwords.code_in(s.m.subject())
        entry = passwords.waiting(s, code)
        if entry is None:
            s.result("refused", s.text("ok.nothing"))
            return
        passwords.confirm(s, entry)
