"""Argument grammars: what a command's words mean, parsed and checked before it runs.

A command's grammar is a tuple of elements, read left to right over its words;
each takes what it needs and sets an attribute of the Args that run() gets.
What no element took is args.rest. A word that does not fit ends the command
with an error that says why and shows its usage (the texts grammar.*).

    grammar = (ListName(), Word("option", choices=("MAIL", "NOMAIL"))), Rest("value"))
"""

from tristero.core import messages
from tristero.services import repository
from tristero.services import session as sessions


class Unusable(Exception):
    """The words do not fit the grammar: why (None when it was said already) and the
    result's status."""

    def __init__(self, why=None, status="error"):
        super().__init__(why)
        self.why, self.status = why, status


class Args:
    """The parsed arguments: one attribute per element, rest, and words (all of them)."""

    def __init__(self, words):
        self.words = list(words)
        self.rest = []

    def __repr__(self):
        return "Args(%r)" % vars(self)


def parse(s, cmd, elements):
    args = Args(cmd.args)
    words = list(cmd.args)
    for element in elements:
        words = element.take(s, cmd, args, words)
    args.rest = words
    return args


def usage_error(s, cmd):
    return Unusable(s.text("grammar.usage", usage=cmd.usage))


class Element:
    def __init__(self, name, optional=False, default=None):
        self.name, self.optional, self.default = name, optional, default

    def take(self, s, cmd, args, words):
        """Set args.<name> from the start of words; return the words left."""
        raise NotImplementedError

    def absent(self, s, cmd, args, words):
        """No word for this element: its default when it is optional, else the usage."""
        if not self.optional:
            raise usage_error(s, cmd)
        setattr(args, self.name, self.default)
        return words


class ListName(Element):
    """A list of the site the sender may see (session.list_arg): first word, or, at a
    list-request address, the list of the address when the first word names none."""

    def __init__(self, name="list"):
        super().__init__(name)

    def take(self, s, cmd, args, words):
        listname, left = sessions.list_arg(s, cmd, words)
        if listname is None:
            raise Unusable()
        setattr(args, self.name, listname)
        return list(left)


class Word(Element):
    """One word, upper-cased when upper; with choices, it must be one of them."""

    def __init__(self, name, choices=None, optional=False, default=None, upper=True):
        super().__init__(name, optional, default)
        self.choices, self.upper = choices, upper

    def take(self, s, cmd, args, words):
        if not words:
            return self.absent(s, cmd, args, words)
        word = words[0].upper() if self.upper else words[0]
        if self.choices is not None and word not in self.choices:
            if self.optional:
                return self.absent(s, cmd, args, words)
            raise Unusable(s.text("grammar.choice", word=messages.clean(words[0], 40),
                                  choices=", ".join(self.choices), usage=cmd.usage))
        setattr(args, self.name, word)
        return words[1:]


class Keyword(Element):
    """An optional literal word (TO, FOR): taken when it is there; args.<name> says whether."""

    def __init__(self, word):
        super().__init__(word.lower())
        self.word = word.upper()

    def take(self, s, cmd, args, words):
        there = bool(words) and words[0].upper() == self.word
        setattr(args, self.name, there)
        return words[1:] if there else words


class Number(Element):
    """A whole number between low and high."""

    def __init__(self, name, low=None, high=None, optional=False, default=None):
        super().__init__(name, optional, default)
        self.low, self.high = low, high

    def take(self, s, cmd, args, words):
        if not words:
            return self.absent(s, cmd, args, words)
        word = words[0]
        if not (word.isascii() and word.isdigit()) or (self.low is not None and int(word) < self.low) or (
                self.high is not None and int(word) > self.high):
            raise Unusable(s.text("grammar.number", word=messages.clean(word, 40),
                                  low=self.low if self.low is not None else 0,
                                  high=self.high if self.high is not None else "any", usage=cmd.usage))
        setattr(args, self.name, int(word))
        return words[1:]


class Address(Element):
    """A mail address among the words, written bare, <in brackets> or after a "quoted
    name" (session.address_in); the other words are left in place."""

    def __init__(self, name="address", optional=True):
        super().__init__(name, optional)

    def take(self, s, cmd, args, words):
        address, left = sessions.address_in(words)
        if address is None and not self.optional:
            raise usage_error(s, cmd)
        setattr(args, self.name, address)
        return list(left)


class Rest(Element):
    """Every word left, as a list (joined with spaces when join)."""

    def __init__(self, name, join=False, optional=True):
        super().__init__(name, optional)
        self.join = join

    def take(self, s, cmd, args, words):
        if not words and not self.optional:
            raise usage_error(s, cmd)
        setattr(args, self.name, " ".join(words) if self.join else list(words))
        return []


class Folder(Element):
    """The folder a file command works in (repository.where): the list the first word
    names when more than need words are given, else the one CD chose, else the list
    of a LIST-request address, else the default archive. Sets args.list (None: the
    default archive) and args.folder (its path); a folder that cannot be used is
    refused."""

    def __init__(self, need=0):
        super().__init__("folder")
        self.need = need

    def take(self, s, cmd, args, words):
        args.list, args.folder, left = repository.where(s, words, self.need)
        if args.folder is None:
            raise Unusable()
        return list(left)


class ListOrAll(ListName):
    """A list (as ListName), or * for every list: args.<name> is then "*"."""

    def take(self, s, cmd, args, words):
        if words and words[0] == "*":
            setattr(args, self.name, "*")
            return words[1:]
        return super().take(s, cmd, args, words)


class Trailing(Element):
    """An optional literal word (HIDE, NEW-LIST) as the last of the words left: taken when
    it is there; args.<name> says whether."""

    def __init__(self, word, name=None):
        super().__init__(name or word.lower().replace("-", "_"))
        self.word = word.upper()

    def take(self, s, cmd, args, words):
        there = bool(words) and words[-1].upper() == self.word
        setattr(args, self.name, there)
        return words[:-1] if there else words


class Words(Element):
    """The words left: at least least and at most most of them (None: any number), and,
    joined with spaces, from shortest to longest characters; args.<name> is the list
    (the text, when join). Otherwise the error is the text problem (its field: usage)."""

    def __init__(self, name, least=0, most=None, join=False, shortest=0, longest=None, problem="grammar.usage"):
        super().__init__(name)
        self.least, self.most, self.join = least, most, join
        self.shortest, self.longest, self.problem = shortest, longest, problem

    def take(self, s, cmd, args, words):
        joined = " ".join(words)
        if len(words) < self.least or (self.most is not None and len(words) > self.most) or \
                len(joined) < self.shortest or (self.longest is not None and len(joined) > self.longest):
            raise Unusable(s.text(self.problem, usage=cmd.usage))
        setattr(args, self.name, joined if self.join else list(words))
        return []


class AtLeast(Element):
    """A check, taking nothing: at least count words are left, else the usage."""

    def __init__(self, count):
        super().__init__(None)
        self.count = count

    def take(self, s, cmd, args, words):
        if len(words) < self.count:
            raise usage_error(s, cmd)
        return words


class End(Element):
    """A check, taking nothing: no word is left, else the usage."""

    def __init__(self):
        super().__init__(None)

    def take(self, s, cmd, args, words):
        if words:
            raise usage_error(s, cmd)
        return words
