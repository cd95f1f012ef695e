"""INDEX [list] [keyword]: the files of a folder, with sizes, dates and descriptions."""

import datetime

from tristero.commands.grammar import Folder, Rest
from tristero.commands.registry import Command, register
from tristero.core import messages
from tristero.services import majordomo, membership, repository

MAX_LISTED = 2000          # files an INDEX shows


@register
class Index(Command):
    names = ("INDEX",)
    abbreviations = {"INDEX": 3}
    order = 110
    usage = "INDEX [list] [keyword]"
    help = "The files of a list (no list: the default archive), with sizes, dates and descriptions."
    right = "index"
    grammar = (Folder(0), Rest("keyword", join=True))
    texts = {
        "index.done": "{count} file(s) in {list}",
        "index.done-matching": "{count} file(s) in {list} matching {keyword}",
        "index.other": "  {line}",
        "index.file": "  {day} {size:>11}  {name}",
        "index.file-described": "  {day} {size:>11}  {name}  {description}",
        "index.more": "  ... and {count} more",
        "index.lines": "{count} line(s) of the listing",
        "index.hint": "GET {prefix}file attaches a file to the reply; FETCH {prefix}file sends it on its own.",
    }

    def run(self, s, args):
        listname, root = args.list, args.folder
        keyword = args.keyword.lower()
        if not majordomo.access(s, listname, "index_access", "INDEX"):
            return
        files = repository.listing(root, s.ctx)
        found, other = repository.descriptions(root, [n for n, _, _ in files], s.ctx)
        if keyword:
            files = [f for f in files if keyword in f[0].lower() or keyword in found.get(f[0], "").lower()]
            s.result("ok", s.text("index.done-matching", count=len(files), list=repository.named(s, listname),
                                  keyword=messages.clean(keyword, 80)))
        else:
            s.result("ok", s.text("index.done", count=len(files), list=repository.named(s, listname)))
        lines = [s.text("index.other", line=messages.clean(line, 200)) for line in other[:100]] if not keyword else []
        tz = s.ctx.now.tzinfo
        for name, size, mtime in files[:MAX_LISTED]:
            day = datetime.datetime.fromtimestamp(mtime, tz).strftime("%Y-%m-%d")
            desc = found.get(name, "")
            fields = dict(day=day, size="{:,}".format(size), name=messages.clean(name, 200))
            if desc:
                lines.append(s.text("index.file-described", description=messages.clean(desc, 200), **fields))
            else:
                lines.append(s.text("index.file", **fields))
        if len(files) > MAX_LISTED:
            lines.append(s.text("index.more", count=len(files) - MAX_LISTED))
        shown = repository.fitting(s, lines)
        for line in lines[:shown]:
            s.say(line)
        if shown < len(lines):
            repository.over_budget(s, "INDEX", s.text("index.lines", count=len(lines) - shown))
        if files:
            s.say(s.text("index.hint", prefix=membership.quoted(listname) + " " if listname else ""))
