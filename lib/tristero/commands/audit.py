"""AUDIT list | AUDIT SECURITY [WEEK|MONTH|date]: a list's membership trail, or the
site's security trail (the SuperUser)."""

import datetime

from tristero.commands.registry import Audience, Command, register
from tristero.model import audit, lists
from tristero.services import session


@register
class Audit(Command):
    names = ("AUDIT",)
    order = 290
    usage = "AUDIT list | AUDIT SECURITY [WEEK|MONTH|date]"
    help = "The list's membership trail; the SuperUser: the security trail."
    audience = Audience.OWNER
    texts = {
        "audit.security": "{count} security event(s)",
        "audit.security-since": "{count} security event(s) since {since}",
        "audit.list": "{count} audit record(s) of {list}",
        "audit.row": "  {row}",
    }

    def run(self, s, args):
        # Which right it needs depends on its first word: it asks itself.
        words = args.words
        ctx = s.ctx
        if words and words[0].upper() == "SECURITY":
            since = _since(ctx, words[1] if len(words) > 1 else None)
            if since is False:
                s.result("error", s.text("grammar.usage", usage=self.usage))
                return
            if not session.allowed(s, "superuser", None, "AUDIT SECURITY"):
                return
            rows = audit.read(audit.security_file(ctx.site), since)
            s.result("ok", s.text("audit.security-since", count=len(rows), since=since) if since
                     else s.text("audit.security", count=len(rows)))
            s.say(s.text("audit.row", row=",".join(audit.SECURITY_COLUMNS)))
        else:
            listname, _ = session.list_arg(s, s.command, words)
            if listname is None or not session.allowed(s, "manage", listname, "AUDIT"):
                return
            rows = audit.read(audit.list_file(ctx.site, lists.number(ctx.config, listname)))
            s.result("ok", s.text("audit.list", count=len(rows), list=listname))
            s.say(s.text("audit.row", row=",".join(audit.LIST_COLUMNS)))
        for row in rows:
            s.say(s.text("audit.row", row=",".join(row)))


def _since(ctx, word):
    """The first date (YYYY-MM-DD) of AUDIT SECURITY [WEEK|MONTH|date], None for all, False if bad."""
    if word is None:
        return None
    w = word.upper()
    if w in ("WEEK", "MONTH"):
        return (ctx.now.date() - datetime.timedelta(days=7 if w == "WEEK" else 31)).isoformat()
    try:
        return datetime.date.fromisoformat(word).isoformat()
    except ValueError:
        return False
