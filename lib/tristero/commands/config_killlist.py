"""CONFIG KILLLIST: the entries of [Kill Subjects] and [Kill Authors]."""

from tristero.commands.registry import Audience, Command, register


@register
class ConfigKillList(Command):
    names = ("CONFIG KILLLIST",)
    usage = "CONFIG KILLLIST"
    help = "The entries of [Kill Subjects] and [Kill Authors]."
    audience = Audience.SUPERUSER
    order = 4
    texts = {
        "config.killlist.done": "{subjects} kill subject(s), {authors} kill author(s)",
        "config.killlist.section": "  [{name}]",
        "config.killlist.entry": "    {entry}",
    }

    def run(self, s, args):
        patterns = s.ctx.config.patterns
        s.result("ok", s.text("config.killlist.done", subjects=len(patterns["Kill Subjects"]),
                              authors=len(patterns["Kill Authors"])))
        for name in ("Kill Subjects", "Kill Authors"):
            s.say(s.text("config.killlist.section", name=name))
            for entry in patterns[name]:
                s.say(s.text("config.killlist.entry", entry=entry))
