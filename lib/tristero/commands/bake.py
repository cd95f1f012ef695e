"""BAKE [function] FOR list TO user [USE BY n [DAYS]]: a cookie made in advance."""

import datetime

from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import cookies
from tristero.services import session


@register
class Bake(Command):
    names = ("BAKE",)
    order = 320
    usage = "BAKE [function] FOR list TO user [USE BY n DAYS]"
    help = "Make a cookie in advance (default: SUB, 7 days; * for any)."
    audience = Audience.POSTMASTER
    texts = {
        "bake.days": "a cookie lasts 1 to 366 days",
        "bake.done": "cookie for {function} on {list} by {user}, valid to {expires}:",
        "bake.code": "  {code}",
    }

    def run(self, s, args):
        # BAKE * is all wildcards; its words come in any order, so they are read here.
        baked = _words(args.words)
        if baked is None:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        function, listname, user, days = baked
        if not 1 <= days <= 366:
            s.result("error", s.text("bake.days"))
            return
        if listname != "*":
            found = session.find_list(s, listname)
            if found is None:
                s.result("error", s.text("admin.no-list", list=listname))
                return
            listname = found
        if user != "*" and not messages.is_address(user):
            s.result("error", s.text("admin.not-address", address=messages.clean(user, 80)))
            return
        if not session.allowed(s, "postmaster", None, "BAKE"):
            return
        expires = s.ctx.now.date() + datetime.timedelta(days=days)
        code = cookies.bake(s.ctx.cookie_key(), function, listname, user, expires)
        s.result("ok", s.text("bake.done", function=function, list=listname, user=user, expires=expires.isoformat()))
        s.say(s.text("bake.code", code=code))
        s.issued(code)
        s.ctx.act("cookie baked for %s %s %s" % (function, listname, user), "BAKE")


def _words(words):
    """(function, list, user, days) of BAKE's words, or None when they do not read."""
    words = list(words)
    function, listname, user, days = "SUB", "*", "*", 7
    upper = [w.upper() for w in words]
    try:
        if "USE" in upper:
            at = upper.index("USE")
            if upper[at + 1] != "BY":
                raise ValueError
            days = int(words[at + 2])
            words, upper = words[:at], upper[:at]
        if "TO" in upper:
            at = upper.index("TO")
            user = words[at + 1]
            words, upper = words[:at] + words[at + 2:], upper[:at] + upper[at + 2:]
        if "FOR" in upper:
            at = upper.index("FOR")
            listname = words[at + 1]
            words, upper = words[:at] + words[at + 2:], upper[:at] + upper[at + 2:]
        if len(words) > 1:
            raise ValueError
        if words:
            function = words[0].upper() if words[0] != "*" else "*"
    except (ValueError, IndexError):
        return None
    return function, listname, user, days
