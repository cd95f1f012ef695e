"""CONFIG ATTACH file: a file of the site, attached to the reply."""

import os

from tristero.commands.grammar import Words
from tristero.commands.registry import Audience, Command, register
from tristero.services import repository


@register
class ConfigAttach(Command):
    names = ("CONFIG ATTACH",)
    usage = "CONFIG ATTACH file"
    help = "A file of the site (relative to its folder), attached to the reply."
    audience = Audience.SUPERUSER
    order = 5
    grammar = (Words("file", least=1, problem="config.attach.usage"),)
    texts = {
        "config.attach.usage": "usage: CONFIG ATTACH file (relative to the site's folder)",
        "config.attach.done": "{name} attached ({size})",
    }

    def run(self, s, args):
        try:
            name, path = repository.home_path(s, args.file[0])
            data = repository.read_site_file(path, repository.max_reply(s.ctx), name, s.ctx)
        except repository.Refused as e:
            s.result(e.status, repository.reason(s, e))
            return
        if not repository.afford(s, repository.carried(len(data))):
            repository.over_budget(s, "CONFIG ATTACH", name)
            return
        s.attachments.append((os.path.basename(path), data))
        s.result("ok", s.text("config.attach.done", name=name, size=repository.size_text(len(data))))
