"""CONFIG SENDFILE file [address] | CONFIG SENDFILE LIST name [address]: a file of the site
as a message of its own, for a SuperUser with a password only (a forged From must not
mail the site's files anywhere)."""

import os

from tristero.commands.grammar import Keyword, Words
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import audit, lists
from tristero.policy import rights
from tristero.services import repository


@register
class ConfigSendFile(Command):
    names = ("CONFIG SENDFILE",)
    usage = "CONFIG SENDFILE file [address] | CONFIG SENDFILE LIST name [address]"
    help = ("A file of the site, or the member file of a list, sent as a message of its own to you "
            "or an address (a SuperUser with a password only).")
    audience = Audience.SUPERUSER
    order = 6
    grammar = (Keyword("LIST"), Words("words", least=1, most=2))
    texts = {
        "config.sendfile.no-password": "CONFIG SENDFILE is only for a SuperUser with a password (SETPASS "
                                       "password FOR {address} first), so that a forged From cannot mail the "
                                       "site's files away",
        "config.sendfile.subject": "{name} from {server}",
        "config.sendfile.message": "The file {name} of the site, sent by its SuperUser (CONFIG SENDFILE).",
        "config.sendfile.done": "{name} ({size}) sent to {address} as a message of its own",
    }

    def run(self, s, args):
        by_list, words = args.list, args.words
        ctx = s.ctx
        if not rights.password_of(ctx, s.sender):
            s.result("refused", s.text("config.sendfile.no-password", address=s.sender))
            audit.security(ctx, s.sender, None, "CONFIG SENDFILE", "refused: no password is set")
            return
        to = words[1] if len(words) > 1 else s.sender
        if not messages.is_address(to):
            s.result("error", s.text("admin.not-address", address=messages.clean(to, 80)))
            return
        try:
            if by_list:
                listname = lists.find(ctx.config, words[0])
                if listname is None:
                    raise repository.Missing(s.text("admin.no-list", list=messages.clean(words[0], 80)))
                name = "lists/%s.ini" % lists.number(ctx.config, listname)
                path = repository.resolve(ctx.site.home, name)
            else:
                name, path = repository.home_path(s, words[0])
                rel = os.path.relpath(path, ctx.site.home).replace(os.sep, "/")
                why = repository.never_sent(s, name) or repository.never_sent(s, rel)
                if why:
                    raise repository.Refused(why)
            data = repository.read_site_file(path, repository.max_reply(ctx), name, ctx)
        except repository.Refused as e:
            s.result(e.status, repository.reason(s, e))
            if e.status == "refused":
                audit.security(ctx, s.sender, None, "CONFIG SENDFILE", "refused: " + str(e))
            return
        msg = messages.serialize(repository.file_message(
            ctx, to, ctx.text("config.sendfile.subject", to, name=name, server=ctx.config.globals("ServerName")),
            os.path.basename(path), data,
            text=ctx.text("config.sendfile.message", to, name=messages.clean(name, 200)) + "\n"))
        if not repository.afford(s, len(msg)):
            repository.over_budget(s, "CONFIG SENDFILE", name)
            return
        ctx.send("", [to], msg)
        s.result("ok", s.text("config.sendfile.done", name=name, size=repository.size_text(len(data)), address=to))
