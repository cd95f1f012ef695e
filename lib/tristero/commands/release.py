"""RELEASE: which list server this is (LISTSERV's RELEASE)."""

from tristero.commands.grammar import End
from tristero.commands.registry import Command, Dialect, register


@register
class Release(Command):
    names = ("RELEASE",)
    abbreviations = {"RELEASE": 3}
    dialect = Dialect.LISTSERV
    order = 345
    usage = "RELEASE"
    help = "Which list server this is, and where."
    grammar = (End(),)
    texts = {"release.this": "{server} at {domain}: Tristero, a batch list manager that answers the commands "
                             "of Listproc, LISTSERV and Majordomo"}

    def run(self, s, args):
        s.result("ok", s.text("release.this", server=s.ctx.config.globals("ServerName"), domain=s.ctx.domain))
