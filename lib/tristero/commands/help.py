"""HELP [command [subcommand]]: the commands, or more on one, made from the registry."""

from tristero.commands import words
from tristero.commands.grammar import Word
from tristero.commands.registry import (
    Audience,
    Command,
    first_sentence,
    help_key,
    in_order,
    lookup,
    register,
    subcommands,
    usage_text,
)
from tristero.core import messages


@register
class Help(Command):
    names = ("HELP", "AYUDA")
    order = 10
    usage = "HELP [command]"
    help = "This help, or more on one command."
    grammar = (Word("about", optional=True, upper=False), Word("sub", optional=True))

    def run(self, s, args):
        if args.about:
            command = lookup(args.about)
            if command is None:
                s.result("error", s.text("help.no-command", name=messages.clean(args.about, 40)))
                return
            if args.sub and subcommands(command.name):
                command = lookup("%s %s" % (command.name, args.sub)) or command
            s.result("ok", usage_text(s, command))
            s.say("  " + s.text(help_key(command)))
            also = list(command.names[1:]) + [w for w in words.words_of(command.name) if w not in command.names]
            if also:
                s.say(s.text("help.also", names=", ".join(also)))
            return
        s.result("ok", s.text("help.title"))
        commands = in_order()
        for audience in Audience:
            s.say("")
            s.say(s.text("help.for-" + audience.value.lower().replace(" ", "-")))
            for command in commands:
                if command.audience is audience:
                    s.say(s.text("help.line", usage=usage_text(s, command),
                                 summary=first_sentence(s.text(help_key(command)))))
        s.say("")
        s.say(s.text("help.footer"))
