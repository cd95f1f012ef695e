"""START: commands follow (the line after a --- line that begins them)."""

from tristero.commands.registry import Command, register


@register
class Start(Command):
    names = ("START",)
    order = 190
    usage = "START"
    help = "Commands follow (after a --- line)."
    texts = {"start.done": "START"}

    def run(self, s, args):
        s.result("ok", s.text("start.done"))
