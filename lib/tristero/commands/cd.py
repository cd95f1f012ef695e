"""CD [list]: the folder of the file commands for the rest of the message."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Command, register
from tristero.core import messages
from tristero.services import session


@register
class Cd(Command):
    names = ("CD", "CHDIR")
    order = 150
    usage = "CD [list]"
    help = "The list the file commands after it in the message use (CD alone: the default archive)."
    grammar = (Word("list", optional=True, upper=False),)
    texts = {
        "cd.default": "file commands now use the default archive",
        "cd.no-list": "there is no list called {list} (send LISTS for the lists here)",
        "cd.done": "file commands now use the folder of {list}",
    }

    def run(self, s, args):
        if args.list is None:
            s.folder = ""
            s.result("ok", s.text("cd.default"))
            return
        found = session.find_list(s, args.list)
        if found is None:
            s.result("error", s.text("cd.no-list", list=messages.clean(args.list, 80)))
            return
        s.folder = found
        s.result("ok", s.text("cd.done", list=found))
