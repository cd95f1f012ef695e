"""CONFIG PUTFILE folder [FORCE]: store the attached files in a folder under archive/."""

import os
import re

from tristero.commands.grammar import Trailing, Words
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.services import repository


@register
class ConfigPutFile(Command):
    names = ("CONFIG PUTFILE",)
    usage = "CONFIG PUTFILE folder [FORCE]"
    help = "Store the files attached to this message in a folder under archive/ (FORCE replaces)."
    audience = Audience.SUPERUSER
    order = 7
    grammar = (Trailing("FORCE"), Words("folder", least=1, most=1, problem="config.putfile.usage"))
    texts = {
        "config.putfile.usage": "usage: CONFIG PUTFILE folder [FORCE] (a folder under archive/)",
        "config.putfile.archive-only": "CONFIG PUTFILE stores files under archive/ only; the configuration, "
                                       "member files, logs and spools change through their own commands",
        "config.putfile.no-files": "CONFIG PUTFILE stores the files attached to the command message; there are none",
        "config.putfile.kept": "{name} exists and was kept (FORCE replaces it)",
        "config.putfile.file": "{folder}/{name} ({size})",
        "config.putfile.done": "{count} file(s) stored",
        "config.putfile.done-files": "{count} file(s) stored: {files}",
    }

    def run(self, s, args):
        ctx = s.ctx
        home = ctx.site.home
        try:
            folder_name, _ = repository.home_path(s, args.folder[0].rstrip("/"))
        except repository.Refused as e:
            s.result("refused", repository.reason(s, e))
            return
        if folder_name.split("/")[0] != "archive":
            s.result("refused", s.text("config.putfile.archive-only"))
            return
        files = repository.attachments_of(s.m.msg)
        if not files:
            s.result("error", s.text("config.putfile.no-files"))
            return
        done, failed = [], []
        for name, data in files:
            try:
                if not name:
                    raise repository.Missing(s.text("files.no-name"))
                repository.check_name(name, single=True)
                rel = folder_name + "/" + name
                parts = rel.split("/")
                if len(parts) > 2 and re.fullmatch(r"\d{8}", parts[1]):
                    why = repository.archive_name_problem(parts[2:])
                    if why:
                        raise repository.Refused(why)
                path = repository.place(s, home, rel, len(data), name)
                exists = repository.present(ctx, path)
                if exists and (os.path.isdir(path) or not args.force):
                    raise repository.Missing(s.text("config.putfile.kept", name=name))
            except repository.Refused as e:
                failed.append((name or s.text("files.no-name-shown"), e))
                continue
            ctx.write(path, data)
            done.append(s.text("config.putfile.file", folder=folder_name, name=name,
                               size=repository.size_text(len(data))))
        repository.report(s, done, [e for _, e in failed],
                          s.text("config.putfile.done-files", count=len(done), files=", ".join(done))
                          if done else s.text("config.putfile.done", count=0))
        for name, e in failed:
            s.say(s.text("files.refused-name", name=messages.clean(name, 80), why=repository.reason(s, e)))
