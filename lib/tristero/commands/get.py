"""GET [list] file ...: files of a folder, attached to the reply."""

from tristero.commands.grammar import Folder, Words
from tristero.commands.registry import Command, register
from tristero.services import majordomo, repository


@register
class Get(Command):
    names = ("GET", "ATTACH")
    order = 120
    usage = "GET [list] file ..."
    help = "Files of a list, attached to the reply (a day's posts: GET list YYYYMMDD)."
    right = "download"
    grammar = (Folder(1), Words("names", least=1, problem="get.usage"))
    texts = {
        "get.usage": "usage: GET [list] file (INDEX [list] shows the files)",
        "get.done": "{count} file(s) of {list} attached",
        "get.done-files": "{count} file(s) of {list} attached: {files}",
        "get.file": "{name} ({size})",
    }

    def run(self, s, args):
        listname = args.list
        if not majordomo.access(s, listname, "get_access", "GET"):
            return
        got, failed, notes, over = repository.fetch_files(s, args.folder, args.names,
                                                          lambda name, data: repository.carried(len(data)))
        s.attachments.extend(got)
        if got or failed:
            label = repository.named(s, listname)
            repository.report(s, got, failed, s.text(
                "get.done-files", count=len(got), list=label, files=", ".join(
                    s.text("get.file", name=n, size=repository.size_text(len(d))) for n, d in got))
                if got else s.text("get.done", count=0, list=label))
        for name, e in notes:
            repository.refused_name(s, listname, "GET", name, e)
        repository.over_files(s, "GET", over)
        if got:
            s.ctx.act("GET %s from %s by %s" % (", ".join(n for n, _ in got), repository.label(listname), s.sender),
                      "GET")
