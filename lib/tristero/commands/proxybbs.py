"""PROXYBBS list SUB|UNSUB folder: the new mail of a folder under the site's Folders root
(an IMAP shared folder people write into) is posted to the list at each run (the
manual's "Gatewaying Internet Mail to Bulletin Boards", services.folders)."""

from tristero.commands.grammar import ListName, Word
from tristero.commands.registry import Audience, Command, register
from tristero.services import folders


@register
class ProxyBbs(Command):
    names = ("PROXYBBS",)
    order = 250
    usage = "PROXYBBS list SUB|UNSUB folder"
    help = "Post the new mail of a folder under the site's Folders root to the list at each run (UNSUB: stop)."
    audience = Audience.OWNER
    right = "manage"
    grammar = (ListName(), Word("word", choices=("SUB", "UNSUB")), Word("folder", upper=False))

    def run(self, s, args):
        if args.rest:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        rel = args.folder.lstrip("#").rstrip("/")
        folders.feed(s, args.list, args.word, rel)
