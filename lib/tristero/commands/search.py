"""SEARCH [list] text: the posts of a list's archive that hold text (case ignored), newest first."""

from tristero.commands.grammar import Folder, Words
from tristero.commands.registry import Command, register
from tristero.core import messages
from tristero.services import archive, membership, repository


@register
class Search(Command):
    names = ("SEARCH", "GREP", "FIND")
    order = 140
    usage = "SEARCH [list] text"
    help = "The posts of a list's archive that hold text (case ignored), newest first."
    right = "search"
    grammar = (Folder(1), Words("text", join=True, shortest=2, longest=200, problem="search.usage"))
    texts = {
        "search.usage": "usage: SEARCH [list] text (2 to 200 characters)",
        "search.too-many": "at most {limit} searches are run from one message",
        "search.where-list": "the archive of {list}",
        "search.where-default": "the default archive",
        "search.done": "{count} post(s) hold \"{text}\" in {where} ({searched} day file(s) searched, newest first)",
        "search.post": "  {day}  {author}: {subject}",
        "search.no-subject": "(no subject)",
        "search.line": "    | {line}",
        "search.more": "  ... and {count} more post(s); a longer text narrows the search",
        "search.lines": "{count} line(s) of the results",
        "search.hint": "GET {prefix}YYYYMMDD.txt sends the posts of a day.",
    }

    def run(self, s, args):
        listname = args.list
        s.searches += 1
        if s.searches > archive.MAX_SEARCHES:
            s.result("refused", s.text("search.too-many", limit=archive.MAX_SEARCHES))
            return
        found, searched, more = archive.search_files(args.folder, args.text, ctx=s.ctx)
        where = s.text("search.where-list", list=listname) if listname else s.text("search.where-default")
        s.result("ok", s.text("search.done", count=len(found) + more, text=messages.clean(args.text, 200),
                              where=where, searched=searched))
        out = []
        for day, author, subject, lines in found:
            out.append(s.text("search.post", day=day.isoformat(), author=author,
                              subject=subject or s.text("search.no-subject")))
            out.extend(s.text("search.line", line=line) for line in lines)
        if more:
            out.append(s.text("search.more", count=more))
        shown = repository.fitting(s, out)
        for line in out[:shown]:
            s.say(line)
        if shown < len(out):
            repository.over_budget(s, "SEARCH", s.text("search.lines", count=len(out) - shown))
        if found:
            s.say(s.text("search.hint", prefix=membership.quoted(listname) + " " if listname else ""))
