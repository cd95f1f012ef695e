"""INFO list: about a list, with its readme."""

from tristero.commands.grammar import ListName
from tristero.commands.registry import Command, register
from tristero.model import lists
from tristero.services import majordomo, repository, session


@register
class Info(Command):
    names = ("INFO",)
    order = 30
    usage = "INFO list"
    help = "About a list, with its readme."
    grammar = (ListName(),)
    texts = {
        "info.title": "about {list}",
        "info.details": ("  Address:     {address}\n"
                         "  Description: {description}\n"
                         "  Type:        {type}\n"
                         "  Owner:       {owner}\n"
                         "  Members:     {count}"),
        "info.attached": "Attached: {files}",
    }

    def run(self, s, args):
        listname = args.list
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
