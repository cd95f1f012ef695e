"""INFO list: about a list, with its readme; INFO topic (LISTSERV): the text
info/TOPIC.txt of the default archive; INFO ?: the topics."""

import os
import re

from tristero.commands.grammar import Rest
from tristero.commands.registry import Command, register
from tristero.model import lists
from tristero.services import majordomo, repository, session

TOPICS = "info"                                 # the folder of topics in the default archive
_TOPIC = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


@register
class Info(Command):
    names = ("INFO",)
    order = 30
    usage = "INFO list | INFO topic | INFO ?"
    help = "About a list, with its readme."
    grammar = (Rest("words"),)
    texts = {
        "info.title": "about {list}",
        "info.details": ("  Address:     {address}\n"
                         "  Description: {description}\n"
                         "  Type:        {type}\n"
                         "  Owner:       {owner}\n"
                         "  Members:     {count}"),
        "info.attached": "Attached: {files}",
        "info.topics": "{count} topic(s): INFO topic sends one",
        "info.topic": "{topic}",
    }

    def run(self, s, args):
        words = args.words
        if words and (words[0] == "?" or session.find_list(s, words[0]) is None) and self.topic(s, words[0]):
            return
        listname, _ = session.list_arg(s, s.command, words)
        if listname is None:
            return
        cfg = s.ctx.config
        sec = lists.section(listname)
        if not majordomo.access(s, listname, "info_access", "INFO"):
            return
        s.result("ok", s.text("info.title", list=listname))
        s.say(s.text("info.details", address=lists.address(cfg, listname),
                     description=cfg.list_value(listname, "Description"), type=cfg.list_value(listname, "Type"),
                     owner=cfg.raw(sec, "Owner") or cfg.globals("SuperUser"),
                     count=len(session.members_of(s, listname))))
        root = repository.folder(s.ctx, listname)
        readme = repository.text_file(root, "readme.txt", ctx=s.ctx)
        if readme:
            s.say("")
            s.say(readme.rstrip())
        files = repository.folder_files(s.ctx, root, "readme")
        if files:
            s.attachments.extend(files)
            s.say("")
            s.say(s.text("info.attached", files=", ".join(n for n, _ in files)))

    def topic(self, s, word):
        """INFO topic or INFO ?: True when answered (a topic file, or the topics)."""
        try:
            root = os.path.join(repository.folder(s.ctx, None), TOPICS)
        except repository.Refused:
            return False
        if word == "?":
            names = [n[:-4] for n, _, _ in repository.listing(root, s.ctx) if n.endswith(".txt") and "/" not in n]
            s.result("ok", s.text("info.topics", count=len(names)))
            for n in names[:200]:
                s.say("  " + s.text("info.topic", topic=n))
            return True
        if not _TOPIC.fullmatch(word):
            return False
        found = repository.text_file(root, word.lower() + ".txt", ctx=s.ctx)
        if found is None:
            return False
        s.result("ok", s.text("info.topic", topic=word.upper()))
        s.say(found.rstrip())
        return True
