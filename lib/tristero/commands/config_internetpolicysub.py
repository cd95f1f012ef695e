"""CONFIG INTERNETPOLICYSUB 0|1|2: when a subscription is confirmed by a cookie."""

from tristero.commands.grammar import Words
from tristero.commands.registry import Audience, Command, register


@register
class ConfigInternetPolicySub(Command):
    names = ("CONFIG INTERNETPOLICYSUB",)
    usage = "CONFIG INTERNETPOLICYSUB 0|1|2"
    help = ("Set the confirmation policy: 0 none beyond the list's own, 1 a subscription made for "
            "another address, 2 also every address outside the site's domains.")
    audience = Audience.SUPERUSER
    order = 2
    grammar = (Words("level", least=1, most=1),)
    texts = {"config.internetpolicysub.done": "InternetPolicySub = {level}"}

    def run(self, s, args):
        level = args.level[0]
        if level not in ("0", "1", "2"):
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        s.ctx.state.set_config("Security", "InternetPolicySub", level)
        s.result("ok", s.text("config.internetpolicysub.done", level=level))
