"""The command registry: each command is a class, one file in this package, found here.

A command class says its names (the first is its name, the rest synonyms), the
dialect it belongs to, its usage line, what it does (HELP's text), whom HELP
lists it for, the right it needs (rights.may's action, checked here, once, for
the list its arguments name), its argument grammar (see grammar) and its own
English texts. HELP and HELP command are made from these, so they cannot drift.

To add a command: write lib/tristero/commands/NAME.py with a subclass of Command
decorated with @register. The package imports every module in it. Its order
places it in HELP's list (the commands of the old table are 10, 20 ... 330).

A subcommand (CONFIG SECURITY) is a command like the others whose name is its
parent's name, a space and its own word: "CONFIG KILLADD x" runs the command
"CONFIG KILLADD" with the words after KILLADD. The parent's right is the
group's: checked for the subcommand before its words are read; a first word
that names none of the subcommands is an error that lists them. HELP shows the
parent (its usage made of its subcommands' usages); HELP CONFIG KILLADD the one.
"""

import enum
import re

from tristero.commands import grammar, words
from tristero.core import messages, text
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
    # command checks what it needs itself, when that depends on its arguments). A command
    # made of subcommands: the right of each, checked before the subcommand's words are read.
    right = None
    # Changes or shows memberships: never run for an author read from the text of a
    # message (rights.unproven), whose address proves nothing.
    membership = False
    grammar = ()                # grammar elements, parsed into run()'s args
    abbreviations = {}          # LISTSERV's abbreviations: {name or synonym: the fewest letters that
                                # name it} ({"REVIEW": 3}: REV, REVI ... REVIEW); a full name wins
    texts = {}                  # its own English texts: {key: template}
    takes_text = False          # the lines after its command line, up to EOF, are its text (cmd.text;
                                # Majordomo's NEWCONFIG, NEWINFO, NEWINTRO); or the first words
                                # after the command's that take a text ({"CREATE"}: MAILING CREATE)
    list_form = None            # a command of subcommands: the command run when its first word is
                                # no subcommand but a list (CONFIG list password: Majordomo's)
    order = 1000                # its place in HELP's list of its audience, a subcommand's among its
                                # parent's (then by name; unset: after those that set it)

    @property
    def name(self):
        return self.names[0]

    @property
    def parent(self):
        """The name of the command this one is a subcommand of, or None."""
        return self.name.split(" ", 1)[0] if " " in self.name else None

    def run(self, s, args):
        raise NotImplementedError


COMMANDS = {}                   # name -> Command instance, in the order registered
_NAMES = {}                     # every name and synonym -> name
_ABBREVIATIONS = {}             # word -> (fewest letters, name): Command.abbreviations


def register(cls):
    """Class decorator: put a command in the registry (its texts into the English catalog)."""
    command = cls()
    for name in command.names:
        if name in _NAMES:
            raise ValueError("the command name %s is taken by %s" % (name, _NAMES[name]))
        if name in words.WORDS and words.WORDS[name][0] != command.name:
            raise ValueError("the command name %s is a word of %s (commands/words.py)"
                             % (name, "/".join(words.WORDS[name])))
        _NAMES[name] = command.name
    for word, least in command.abbreviations.items():
        _ABBREVIATIONS[word] = (least, command.name)
    COMMANDS[command.name] = command
    # Its description is a text like the others (braces in it are no fields).
    text.add_builtin(text.DEFAULT, dict(command.texts, **{
        help_key(command): command.help.replace("{", "{{").replace("}", "}}")}))
    if not isinstance(getattr(cls, "usage", None), property):
        # Its usage line too (a group's, made of its subcommands' lines, has none).
        text.add_builtin(text.DEFAULT, {usage_key(command): command.usage.replace("{", "{{").replace("}", "}}")})
    return cls


def help_key(command):
    """The key of a command's description (help.config.killadd for CONFIG KILLADD)."""
    return "help." + command.name.lower().replace(" ", ".")


def usage_key(command):
    """The key of a command's usage line as HELP shows it (gaps.usage.config.killadd): the
    English is the class's usage, other languages' in their gaps.txt."""
    return "gaps.usage." + command.name.lower().replace(" ", ".")


def usage_text(s, command):
    """command's usage line in the language of the Session s's sender; a group's made of
    its subcommands' lines."""
    if isinstance(getattr(type(command), "usage", None), property):
        return group_usage(command.name, lambda c: usage_text(s, c))
    return s.text(usage_key(command))


def lookup(verb):
    """The command a verb names (a name or a synonym, any case, a word of another language
    (commands.words) or LISTSERV's abbreviation of a name; "CONFIG KILLADD" names a
    subcommand), or None."""
    verb = verb.upper()
    name = _NAMES.get(verb) or words.WORDS.get(verb, (None,))[0]
    if name is None:
        name = next((n for word, (least, n) in _ABBREVIATIONS.items() if len(verb) >= least and word.startswith(verb)),
                    None)
    return COMMANDS.get(name) if name else None


def language_of(verb):
    """The language of a command word of another language (commands.words: HILFE is
    German), or None."""
    found = words.WORDS.get(verb.upper())
    return found[1] if found and lookup(verb) is not None else None


def known(verb):
    """Is verb a command (or a synonym of one) a command line may begin with? A
    subcommand's name is none: "CONFIG KILLADD" in quotes, one word, would pass by its
    parent's right."""
    command = lookup(verb)
    return command is not None and command.parent is None


def in_order():
    """The commands, for HELP: by audience, then by order, then by name (subcommands are
    their parent's)."""
    order = list(Audience)
    return sorted((c for c in COMMANDS.values() if c.parent is None),
                  key=lambda c: (order.index(c.audience), c.order, c.name))


def subcommands(parent):
    """The subcommands of the command called parent, in their order."""
    return sorted((c for c in COMMANDS.values() if c.parent == parent), key=lambda c: (c.order, c.name))


def group_usage(parent, usage_of=lambda c: c.usage):
    """The usage line of a command made of subcommands: CONFIG A | B x | C [y] (usage_of:
    a subcommand's line, HELP's in the reader's language)."""
    prefix = parent + " "
    return prefix + " | ".join(way[len(prefix):] if way.startswith(prefix) else way
                               for c in subcommands(parent) for way in usage_of(c).split(" | "))


def _subcommand(s, cmd, command):
    """(the command line as its subcommand's, the subcommand) named by cmd's first word,
    its parent's right checked; (None, None) after saying why not."""
    word = cmd.args[0].upper() if cmd.args else ""
    sub = COMMANDS.get("%s %s" % (command.name, word))
    if sub is None:
        s.result("error", s.text("commands.unknown-subcommand", command=command.name,
                                 word=messages.clean(word, 30),
                                 choices="|".join(c.name.split(" ", 1)[1] for c in subcommands(command.name))))
        return None, None
    cmd = sessions.Command(cmd.line, [sub.name] + cmd.args[1:], cmd.password)
    s.command = cmd
    if command.right is not None and not sessions.allowed(s, command.right, None, sub.name):
        return None, None
    return cmd, sub


def refused_unproven(s, command):
    """True, the refusal said and audited, when command changes or shows memberships and
    the sender is an author read from the text of the message (rights.unproven)."""
    if not (command.membership and rights.unproven(s.ctx, s.sender)):
        return False
    s.result("refused", rights.refusal(s.ctx, s.sender, rights.UNPROVEN_AUTHOR))
    audit.security(s.ctx, s.sender, None, command.name, "refused: author read from the text")
    return True


def run(s, cmd):
    """Run one command line: find the command, parse its arguments, check its right, run it."""
    s.command, s.args = cmd, None
    command = lookup(cmd.verb) if known(cmd.verb) else None
    if command is None:
        s.result("error", s.text("robot.unknown-command"))
        s.unknown += 1
        return
    if subcommands(command.name) and command.list_form and cmd.args and \
            "%s %s" % (command.name, cmd.args[0].upper()) not in COMMANDS and sessions.find_list(s, cmd.args[0]):
        command = COMMANDS[command.list_form]
    elif subcommands(command.name):
        cmd, command = _subcommand(s, cmd, command)
        if command is None:
            return
    cmd.usage = usage_text(s, command)     # in the sender's language, for the lines that name it
    if refused_unproven(s, command):
        return
    try:
        args = grammar.parse(s, cmd, command.grammar)
    except grammar.Unusable as e:
        if e.why is not None:
            s.result(e.status, e.why)
        args = None
    s.args = args
    if args is not None:
        if command.right is not None and not sessions.allowed(s, command.right, getattr(args, "list", None),
                                                              command.name):
            return
        command.run(s, args)
    if command.parent is not None:
        # A subcommand its parent's right let through is logged, whatever its words.
        s.ctx.act("%s by %s" % (command.name, s.sender), command.parent)


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)\.(\s|$)")


def first_sentence(words):
    """The first sentence of words, without its full stop (never cut at "e.g." or "i.e.")."""
    end = _SENTENCE_END.search(words)
    return words[:end.start()] if end else words
