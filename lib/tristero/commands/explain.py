"""EXPLAIN message-id: what the site did with a message, each step and the rule that decided
it, read from the daily logs (LogDays of them). For the message's author, the owner of a
list it was sent to, and the privileged; to anyone else a message is one the logs do not
know (whether it passed here is not told)."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import lists, logbook
from tristero.model.members import address_key
from tristero.policy import rights

MAX_EXPLAINS = 3         # EXPLAIN commands run from one message


def explained(site, config, message_id, today):
    """(the Message-ID as the logs write it, their lines about it) for message_id as a person
    types it, with or without its angle brackets."""
    bare = message_id.strip().strip("<>")
    for form in ("<%s>" % bare, bare):
        found = logbook.lines_about(site, messages.clean(form, 200), today, config.globals("LogDays"))
        if found:
            return form, found
    return "<%s>" % bare, []


def may_see(ctx, who, message_id, found):
    """Is who the author of the message, the owner of a list it went to, or privileged?"""
    if rights.privileged(ctx, who):
        return True
    for line in found:
        seen = logbook.message_line(line, message_id)
        if seen is None:
            continue
        author, destinations = seen
        if author and address_key(author) == address_key(who):
            return True
        for address in destinations:
            local, _, domain = address.rpartition("@")
            name = lists.by_local(ctx.config, local.split("+")[0].removeprefix("owner-")) \
                if domain.lower() in ctx.domains() else None
            if name and rights.privileged(ctx, who, name):
                return True
    return False


@register
class Explain(Command):
    names = ("EXPLAIN",)
    order = 75
    usage = "EXPLAIN message-id"
    help = ("What the site did with a message (yours, or one sent to a list you own): each step "
            "and the rule or setting that decided it.")
    audience = Audience.ANYONE
    grammar = (Word("message_id", upper=False),)
    texts = {
        "explain.title": "what the site did with {id} ({count} line(s) of the logs):",
        "explain.too-many": "at most {limit} EXPLAIN commands are run from one message",
        "explain.unknown": "the logs of the last {days} day(s) know of no message {id} that you may ask about "
                           "(yours, or one sent to a list you own)",
    }

    def run(self, s, args):
        ctx = s.ctx
        if sum(1 for r in s.records if r.command == "EXPLAIN") > MAX_EXPLAINS:
            # Each reads up to LogDays days of logs: a message may not make a run read them over and over.
            s.result("refused", s.text("explain.too-many", limit=MAX_EXPLAINS))
            return
        form, found = explained(ctx.site, ctx.config, args.message_id, ctx.now.date())
        shown = messages.clean(form, 200)
        if not found or not may_see(ctx, s.sender, messages.clean(form, 200), found):
            s.result("error", s.text("explain.unknown", id=shown, days=ctx.config.globals("LogDays")))
            return
        s.result("ok", s.text("explain.title", id=shown, count=len(found)))
        for line in found:
            s.say("  " + line)
