"""APPROVE n ... [ALWAYS]: a moderator approves held posts by the numbers a HELD line of the
same message gave (the prebuilt block of the moderators' message); ALWAYS: their
authors post freely from then on. REJECT, DISCARD and BAN decide the same way."""

from tristero.commands.grammar import Words
from tristero.commands.held import keys
from tristero.commands.registry import Audience, Command, register
from tristero.services import moderation

MAX_NUMBERS = 500


@register
class Approve(Command):
    names = ("APPROVE",)
    order = 292
    audience = Audience.OWNER
    usage = "APPROVE n ... [ALWAYS]"
    help = ("Approve posts held for moderation, by their numbers in the moderators' message "
            "(after its HELD lines); ALWAYS lets their authors post freely from now on.")
    grammar = (Words("words", least=1),)
    verb = "APPROVE"

    def split(self, words):
        """(numbers, the rest: ALWAYS or a reason)."""
        numbers = []
        for i, w in enumerate(words):
            if not w.isdigit():
                return numbers, words[i:]
            numbers.append(int(w))
        return numbers, []

    def run(self, s, args):
        numbers, rest = self.split(args.words)
        verb, why = self.verb, " ".join(rest)
        if self.verb == "APPROVE":
            if [w.upper() for w in rest] == ["ALWAYS"]:
                verb, why = "ALWAYS", ""
            elif rest:
                numbers = []
        if not numbers or len(numbers) > MAX_NUMBERS:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        given = keys(s)
        for n in numbers:
            if n not in given:
                s.result("error", s.text("moderation.no-number", n=n))
                continue
            listname, post_id, code = given[n]
            if not moderation.is_moderator(s.ctx, s.sender, listname):
                s.result("refused", s.text("moderation.not-moderator", list=listname))
                continue
            if not moderation.key_valid(s.ctx, listname, post_id, s.sender.lower(), code):
                s.ctx.act("%s %d (%s of %s) by %s refused: its key is not valid for them" % (
                    self.verb, n, post_id, listname, s.sender), "moderation")
                s.result("refused", s.text("moderation.bad-cookie", n=n, list=listname))
                continue
            done, said = moderation.decide(s.ctx, listname, post_id, verb, s.sender.lower(), why, n)
            s.result("ok" if done else "refused", said)
