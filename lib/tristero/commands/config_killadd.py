"""CONFIG KILLADD subject: one more [Kill Subjects] entry, the section's comments kept."""

from tristero.commands.grammar import Rest
from tristero.commands.registry import Audience, Command, register
from tristero.core import fields, messages
from tristero.core.patterns import entry_problem


@register
class ConfigKillAdd(Command):
    names = ("CONFIG KILLADD",)
    usage = "CONFIG KILLADD subject"
    help = "Add an entry to [Kill Subjects] (#{ anchors it at the start of the subject, }# at the end)."
    audience = Audience.SUPERUSER
    order = 3
    grammar = (Rest("entry", join=True),)
    texts = {
        "config.killadd.usage": "usage: CONFIG KILLADD subject (#{{ anchors the start, }}# the end)",
        "config.killadd.too-long": "longer than 200 characters",
        "config.killadd.already": "already in [Kill Subjects]: {entry}",
        "config.killadd.done": "added to [Kill Subjects]: {entry} ({count} entries)",
    }

    def run(self, s, args):
        entry = args.entry.strip()
        if not entry:
            s.result("error", s.text("config.killadd.usage"))
            return
        why = s.text("config.killadd.too-long") if len(entry) > 200 else entry_problem(entry) or fields.problem(entry)
        if why:
            s.result("error", s.text("admin.problem", what=messages.clean(entry, 80), why=why))
            return
        entries = list(s.ctx.config.patterns["Kill Subjects"])
        if any(e.lower() == entry.lower() for e in entries):
            s.result("ok", s.text("config.killadd.already", entry=entry))
            return
        s.ctx.state.set_patterns("Kill Subjects", entries + [entry])
        s.result("ok", s.text("config.killadd.done", entry=entry, count=len(entries) + 1))
        s.ctx.act("[Kill Subjects] entry added: %s" % entry, "CONFIG KILLADD")
