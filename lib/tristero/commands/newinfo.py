"""NEWINFO list password and NEWINTRO list password (Majordomo), the text following up to
EOF: the list's information (readme.txt, which INFO shows) or introduction (intro.txt,
which INTRO shows)."""

from tristero.commands.grammar import End, ListName, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.services import majordomo, repository


class _NewText(Command):
    dialect = Dialect.MAJORDOMO
    audience = Audience.OWNER
    takes_text = True
    grammar = (ListName(), Word("password", upper=False), End())
    file = ""

    def run(self, s, args):
        listname, lines = args.list, s.command.text
        if not majordomo.admin(s, listname, args.password, self.name):
            return
        if lines is None:
            s.result("error", s.text("majordomo.no-text"))
            return
        data = ("\n".join(lines).strip("\n") + "\n").encode("utf-8")
        try:
            root = repository.folder(s.ctx, listname)
            path = repository.place(s, root, self.file, len(data), self.file)
        except repository.Refused as e:
            s.result("refused", repository.reason(s, e))
            return
        s.ctx.write(path, data)
        s.result("ok", s.text("majordomo.text-stored", file=self.file, list=listname,
                              size=repository.size_text(len(data))))
        s.ctx.act("%s %s by %s" % (self.name, listname, s.sender), self.name)


@register
class Newinfo(_NewText):
    names = ("NEWINFO",)
    order = 228
    usage = "NEWINFO list password (the text follows, then a line EOF)"
    help = "Replace a list's information (what INFO shows) with the text that follows, up to a line EOF."
    file = "readme.txt"


@register
class Newintro(_NewText):
    names = ("NEWINTRO",)
    order = 229
    usage = "NEWINTRO list password (the text follows, then a line EOF)"
    help = "Replace a list's introduction (what INTRO shows) with the text that follows, up to a line EOF."
    file = "intro.txt"
