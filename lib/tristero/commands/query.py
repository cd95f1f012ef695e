"""QUERY list|*: the sender's options on a list, or on every list they are in (LISTSERV)."""

from tristero.commands.grammar import End, ListOrAll
from tristero.commands.registry import Command, Dialect, register
from tristero.model import members
from tristero.services import session


@register
class Query(Command):
    names = ("QUERY",)
    abbreviations = {"QUERY": 1}
    dialect = Dialect.LISTSERV
    order = 75
    usage = "QUERY list|*"
    help = "Your options on a list, or on every list you are in (*)."
    membership = True
    grammar = (ListOrAll(), End())
    texts = {
        "query.options": "{list}: {address}, {options}",
        "query.none": "you are in no list here",
    }

    def run(self, s, args):
        names = s.ctx.config.list_names() if args.list == "*" else [args.list]
        found = [(n, session.members_of(s, n).get(s.sender)) for n in names]
        found = [(n, entry) for n, entry in found if entry is not None]
        if args.list != "*" and not found:
            s.result("error", s.text("membership.not-member", address=s.sender, list=args.list))
            return
        if not found:
            s.result("ok", s.text("query.none"))
            return
        first = True
        for n, (address, options) in found:
            line = s.text("query.options", list=n, address=address, options=describe(options))
            if first:
                s.result("ok", line)
                first = False
            else:
                s.say("    " + line)


def describe(options):
    """A member's options as LISTSERV names them: MAIL or NOMAIL or DIGEST ..., ACK or NOACK,
    REPRO or NOREPRO, CONCEAL or NOCONCEAL, and the name."""
    words = [members.option_word(options, "DIGEST") or ("NOMAIL" if members.option_word(options, "NOMAIL")
                                                         else "MAIL"),
             "ACK" if members.option_word(options, "ACK") else "NOACK",
             "NOREPRO" if members.option_word(options, "NOREPRO") else "REPRO",
             "CONCEAL" if members.option_word(options, "CONCEAL") else "NOCONCEAL"]
    name = members.option_word(options, "NAME")
    return " ".join(words) + (", " + name if name else "")
