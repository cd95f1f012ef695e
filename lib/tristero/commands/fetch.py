"""FETCH [list] file ...: files of a folder, each as a message of its own."""

from tristero.commands.grammar import Folder, Words
from tristero.commands.registry import Command, register
from tristero.core import messages
from tristero.services import repository


@register
class Fetch(Command):
    names = ("FETCH", "SEND", "SENDFILE", "FTP")
    order = 130
    usage = "FETCH [list] file ..."
    help = "Files of a list, each as a message of its own."
    right = "download"
    grammar = (Folder(1), Words("names", least=1, problem="fetch.usage"))
    texts = {
        "fetch.usage": "usage: FETCH [list] file (INDEX [list] shows the files)",
        "fetch.automatic": "files are not sent in answer to automatic mail ({why})",
        "fetch.subject": "{list}: {name}",
        "fetch.message": "The file {name} of {list}, as you asked (FETCH {name}).",
        "fetch.done": "{count} file(s) of {list} sent, each as a message of its own",
        "fetch.done-files": "{count} file(s) of {list} sent, each as a message of its own: {files}",
    }

    def run(self, s, args):
        listname = args.list
        if s.m.automatic:
            s.result("refused", s.text("fetch.automatic", why=s.m.automatic))
            return
        label = repository.named(s, listname)
        made = []

        def cost(name, data):
            # The message is made to be measured: what it takes is what is sent.
            text = s.text("fetch.message", name=messages.clean(name, 200), list=label) + "\n"
            made.append(messages.serialize(repository.file_message(
                s.ctx, s.sender, s.text("fetch.subject", list=label, name=name), name, data, s.m.id, text)))
            return len(made[-1])

        got, failed, notes, over = repository.fetch_files(s, args.folder, args.names, cost)
        for data in made[:len(got)]:
            s.ctx.send("", [s.sender], data)
        if got or failed:
            repository.report(s, got, failed, s.text(
                "fetch.done-files", count=len(got), list=label, files=", ".join(n for n, _ in got))
                if got else s.text("fetch.done", count=0, list=label))
        for name, e in notes:
            repository.refused_name(s, listname, "FETCH", name, e)
        repository.over_files(s, "FETCH", over)
        if got:
            s.ctx.act("FETCH %s from %s by %s" % (", ".join(n for n, _ in got), repository.label(listname),
                                                   s.sender), "FETCH")
