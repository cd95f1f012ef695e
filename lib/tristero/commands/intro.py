"""INTRO list (Majordomo): the list's introduction (intro.txt; NEWINTRO sets it), for
those INFO is open to (info_access)."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, Dialect, register
from tristero.services import majordomo, repository


@register
class Intro(Command):
    names = ("INTRO",)
    dialect = Dialect.MAJORDOMO
    order = 31
    usage = "INTRO list"
    help = "The introduction of a list (what its members get to know it)."
    grammar = (ListName(),)
    texts = {"intro.title": "the introduction of {list}"}

    def run(self, s, args):
        listname = args.list
        if not majordomo.access(s, listname, "info_access", "INTRO"):
            return
        try:
            text = repository.text_file(repository.folder(s.ctx, listname), "intro.txt", ctx=s.ctx)
        except repository.Refused as e:
            s.result("refused", repository.reason(s, e))
            return
        if not text:
            s.result("ok", s.text("majordomo.no-intro", list=listname))
            return
        s.result("ok", s.text("intro.title", list=listname))
        s.say(text.rstrip())
