"""GET [list] file ...: files of a folder, attached to the reply (LISTSERV's GET fn ft:
the file fn.ft, when neither fn nor ft is one)."""

import os

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
        # GET NEWS FAQ: the first word named the list, yet may be LISTSERV's fn.
        words = [args.words[0]] + args.names if len(args.words) == 2 and len(args.names) == 1 and listname \
            and args.words[0].lower() == listname.lower() else args.names
        joined = _listserv_name(args.folder, words)
        if joined != words:
            args.names = joined
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


def _listserv_name(folder, names):
    """names, or [fn.ft] for LISTSERV's two words fn ft when neither is a file of folder
    and fn.ft (or fn.ft in lower case) is."""
    if len(names) != 2 or any(not n or "." in n or "/" in n for n in names):
        return names
    if any(os.path.isfile(os.path.join(folder, n)) for n in names):
        return names
    joined = "%s.%s" % tuple(names)
    for name in (joined, joined.lower()):
        if os.path.isfile(os.path.join(folder, name)) and not os.path.islink(os.path.join(folder, name)):
            return [name]
    return names
