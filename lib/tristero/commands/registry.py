"""The command registry: each command is a class, one file in this package, found here.

A command class says its names (the first is its name, the rest synonyms), the
dialect it belongs to, its usage line, what it does (HELP's text), whom HELP
lists it for, the right it needs (rights.may's action, checked here, once, for
the list its arguments name), its argument grammar (see grammar) and its own
English texts. HELP and HELP command are made from these, so they cannot drift.

To add a command: write lib/tristero/commands/NAME.py with a subclass of Command
decorated with @register. The package imports every module in it.
"""

import enum
import re

from tristero.commands import grammar
from tristero.core import text
from tristero.model import audit
from tristero.policy import rights
from tristero.services import session as sessions


class Dialect(enum.Enum):
    TRISTERO = "Tristero"
    MAJORDOMO = "Majordomo"
    LISTSERV = "LISTSERV"


class Audience(enum.Enum):
    """Whom HELP lists a command for, in this order."""
    ANYONE = "anyone"
    OWNER = "list owner"
    POSTMASTER = "PostMaster"
    SUPERUSER = "SuperUser"


class Command:
    """One command. Subclasses set the class attributes and write run()."""

    names = ()                  # ("SUBSCRIBE", "JOIN", "SUB"): the name first, then synonyms
    dialect = Dialect.TRISTERO
    usage = ""                  # "SUBSCRIBE list [your name]"
    help = ""                   # what it does; HELP's list shows the first sentence
    audience = Audience.ANYONE
    # rights.may's action checked before run() for the list the arguments name (None: the
    # command checks what it needs itself, when that depends on its arguments).
    right = None
    # Changes or shows memberships: never run for an author read from the text of a
    # message (rights.unproven), whose address proves nothing.
    membership = False
    grammar = ()                # grammar elements, parsed into run()'s args
    texts = {}                  # its own English texts: {key: template}

    @property
    def name(self):
        return self.names[0]

    def run(self, s, args):
        raise NotImplementedError


COMMANDS = {}                   # name -> Command instance, in the order registered
_NAMES = {}                     # every name and synonym -> name


def register(cls):
    """Class decorator: put a command in the registry (its texts into the English catalog)."""
    command = cls()
    for name in command.names:
        if name in _NAMES:
            raise ValueError("the command name %s is taken by %s" % (name, _NAMES[name]))
        _NAMES[name] = command.name
    COMMANDS[command.name] = command
    # Its description is a text like the others (braces in it are no fields).
    text.add_builtin(text.DEFAULT, dict(command.texts, **{
        "help." + command.name.lower(): command.help.replace("{", "{{").replace("}", "}}")}))
    return cls


def lookup(verb):
    """The command a verb names (a name or a synonym, any case), or None."""
    name = _NAMES.get(verb.upper())
    return COMMANDS[name] if name else None


def known(verb):
    """Is verb a command (or a synonym of one)?"""
    return lookup(verb) is not None


def in_order():
    """The commands, for HELP: by audience, then by name."""
    order = list(Audience)
    return sorted(COMMANDS.values(), key=lambda c: (order.index(c.audience), c.name))


def run(s, cmd):
    """Run one command line: find the command, parse its arguments, check its right, run it."""
    s.command = cmd
    command = lookup(cmd.verb)
    if command is None:
        s.result("error", s.text("robot.unknown-command"))
        s.unknown += 1
        return
    cmd.usage = command.usage
    if command.membership and rights.unproven(s.ctx, s.sender):
        s.result("refused", rights.refusal(s.ctx, s.sender, rights.UNPROVEN_AUTHOR))
        audit.security(s.ctx, s.sender, None, command.name, "refused: author read from the text")
        return
    try:
        args = grammar.parse(s, cmd, command.grammar)
    except grammar.Unusable as e:
        if e.why is not None:
            s.result(e.status, e.why)
        return
    if command.right is not None and not sessions.allowed(s, command.right, getattr(args, "list", None),
                                                          command.name):
        return
    command.run(s, args)


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\.(\s|$)")


def first_sentence(words):
    """The first sentence of words, without its full stop (never cut at "e.g." or "i.e.")."""
    end = _SENTENCE_END.search(words)
    return words[:end.start()] if end else words
