"""AUTH code command... (Majordomo 1.94): run command with the confirmation code the
site sent (a cookie: the same as COOKIE code, then the command)."""

from tristero.commands import registry
from tristero.commands.grammar import Rest, Word
from tristero.commands.registry import Command, Dialect, register
from tristero.services.session import Command as CommandLine


@register
class Auth(Command):
    names = ("AUTH",)
    dialect = Dialect.MAJORDOMO
    order = 261
    usage = "AUTH code command"
    help = "Run a command with the confirmation code the site sent you (Majordomo's auth)."
    grammar = (Word("code", upper=False), Rest("command"))
    texts = {"auth.no-command": "AUTH needs the command after the code (AUTH code SUBSCRIBE list)"}

    def run(self, s, args):
        if not args.command or not registry.known(args.command[0]) or \
                registry.lookup(args.command[0]).name == self.name:
            s.result("error", s.text("auth.no-command"))
            return
        s.cookie = args.code
        line = s.command
        registry.run(s, CommandLine(line.line, list(args.command), line.password))
