"""PUT [list] [folder] [FORCE]: store the files attached to the command message."""

import os

from tristero.commands.grammar import Folder, Trailing, Words
from tristero.commands.registry import Command, register
from tristero.policy import rights
from tristero.services import repository


@register
class Put(Command):
    names = ("PUT",)
    order = 160
    usage = "PUT [list] [folder] [FORCE]"
    help = "Store the files attached to this message in a list's folder (FORCE replaces)."
    right = "upload"
    grammar = (Trailing("FORCE"), Folder(0), Words("sub", most=1, problem="put.usage"))
    texts = {
        "put.usage": "usage: PUT [list] [folder] [FORCE] (the files attached to this message)",
        "put.no-files": "PUT stores the files attached to the command message; this message has none",
        "put.only": "{why}: only {who} may write it",
        "put.only-postmaster": "a PostMaster or the SuperUser",
        "put.only-owner": "the list's owner, a PostMaster or the SuperUser",
        "put.folder": "{name} is a folder",
        "put.kept": "{name} exists and was kept (PUT ... FORCE replaces it)",
        "put.no-replace": "{name} exists: only the list's owner, a PostMaster or the SuperUser may replace it",
        "put.file": "{name} ({size})",
        "put.file-replaced": "{name} ({size}, replaced)",
        "put.done": "{count} file(s) stored in {list}",
        "put.done-files": "{count} file(s) stored in {list}: {files}",
    }

    def run(self, s, args):
        listname, root = args.list, args.folder
        sub = args.sub[0] if args.sub else ""
        files = repository.attachments_of(s.m.msg)
        if not files:
            s.result("error", s.text("put.no-files"))
            return
        ctx = s.ctx
        done, failed, notes = [], [], []
        for name, data in files:
            try:
                if not name:
                    raise repository.Missing(s.text("files.no-name"))
                repository.check_name(name, single=True)
                target = (sub.strip("/") + "/" + name) if sub else name
                parts = repository.check_name(target)
                why = repository.archive_name_problem(parts)
                if why:
                    raise repository.Refused(why)
                path = repository.place(s, root, target, len(data), target)
                action, why = repository.upload_action(s, parts)
                if action and not rights.may(ctx, s.sender, action, listname, s.password_now())[0]:
                    raise repository.Refused(s.text("put.only", why=why, who=s.text(
                        "put.only-postmaster" if action == "postmaster" else "put.only-owner")))
                exists = repository.present(ctx, path)
                if exists and os.path.isdir(path):
                    raise repository.Refused(s.text("put.folder", name=target))
                if exists and not args.force:
                    raise repository.Missing(s.text("put.kept", name=target))
                if exists and not rights.may(ctx, s.sender, "delete", listname, s.password_now())[0]:
                    raise repository.Refused(s.text("put.no-replace", name=target))
            except repository.Refused as e:
                failed.append(e)
                notes.append((name or s.text("files.no-name-shown"), e))
                continue
            ctx.write(path, data)
            done.append(s.text("put.file-replaced" if exists else "put.file", name=target,
                               size=repository.size_text(len(data))))
        label = repository.named(s, listname)
        repository.report(s, done, failed, s.text("put.done-files", count=len(done), list=label, files=", ".join(done))
                          if done else s.text("put.done", count=0, list=label))
        for name, e in notes:
            repository.refused_name(s, listname, "PUT", name, e)
        if done:
            ctx.act("PUT %s into %s by %s" % (", ".join(done), repository.label(listname), s.sender), "PUT")
