"""The pattern sections of tristero.ini ([Kill Subjects], [Kill Authors], [Admin
Subjects], [PreScan Strings]): their syntax, and their entries compiled.

Each section is compiled into two regular expressions, a trie of all its entries
(one for the entries anchored at the start, one for the rest), so that what a
message costs does not grow with the number of entries; which entry matched is
looked for only in a message that matched. An entry matches anywhere in its
field, case ignored, a run of blanks matching any run of blanks; "#{" before it
anchors it at the start of the field (of a line, in prescanning), "}#" after it
at the end, both: the whole field; "%1" in a prescan entry stands for an
address, <> or not. No pattern can try an address at a place more than one way
("@" is in no part of %1; one entry holds %1 once).
"""

from __future__ import annotations

import re
from collections.abc import Container

ACTIONS = ("BOUNCE", "SPAM", "ADMIN", "DROP")
MAX_ENTRY = 500
MAX_LINE = 998          # RFC 5321 4.5.3.1.6: a longer line is no mail a server sent

_BLANKS = r"[^\S\n]+"
# Neither part may hold "@": with it, "a@a@a@..." splits into an address in as many
# ways as it has "@", and a search tries each of them at each of its characters.
_ADDRESS = r"<?[^\s<>()\"',;@]+@[^\s<>()\"',;@]+>?"
_ADDRESS_CAPTURE = r"<?(?P<address>[^\s<>()\"',;@]+@[^\s<>()\"',;@]+)>?"
# %1 first in an entry begins only where a word does: the same matches (a later start
# in the word has the word's own "@" ahead of it), each word scanned once, not once a character.
_ADDRESS_AT_WORD = r"(?<![^\s<>()\"',;@])" + _ADDRESS
_SECTION_LIKE = re.compile(r"^\s*\[.*\]\s*(#.*)?$")


# --- patterns -----------------------------------------------------------------------

def entry_problem(text: str, prescan: bool = False) -> str | None:
    """Why a line of a pattern section cannot work as an entry, or None."""
    if len(text) > MAX_ENTRY:
        return "longer than %d characters" % MAX_ENTRY
    if text.startswith(";"):
        return "would read as a comment"
    if _SECTION_LIKE.match(text):
        return "would read as a section header"
    if prescan:
        action, comma, text = text.partition(",")
        if not comma or action.strip().upper() not in ACTIONS:
            return "not ACTION,text (ACTION one of %s)" % ", ".join(ACTIONS)
        if action.strip().upper() == "BOUNCE" and "%1" not in text:
            return "BOUNCE needs %1 where the failed address stands"
        if text.count("%1") > 1:
            # Two addresses joined by a character of an address split a line in
            # as many ways as it is long: a search would take its square, or worse.
            return "%1 more than once"
    if not _anchors(text.strip())[2].strip():
        return "nothing to match"
    return None


def _anchors(text):
    """(anchored at the start, anchored at the end, what is left to match) of an entry."""
    start = text.startswith("#{")
    if start:
        text = text[2:]
    end = text.endswith("}#")
    if end:
        text = text[:-2]
    return start, end, text


def _tokens(text, prescan):
    """An entry's text as regular-expression pieces: one per character, a run of blanks, %1."""
    out = []
    for piece in re.split(r"(\s+|%1)" if prescan else r"(\s+)", text):
        if not piece:
            continue
        if piece.isspace():
            out.append(_BLANKS)
        elif piece == "%1":
            out.append(_ADDRESS if out else _ADDRESS_AT_WORD)
        else:
            out.extend(re.escape(ch) for ch in piece)
    return out


class Entry:
    """One entry of a pattern section: as written, its action (prescan), how it matches."""

    def __init__(self, text: str, prescan: bool = False) -> None:
        self.text = text
        self.action = None
        body = text
        if prescan:
            action, _, body = text.partition(",")
            self.action = action.strip().upper()
            body = body.strip()
        self.start, self.end, body = _anchors(body)
        self.tokens = _tokens(body.lower(), prescan) + (["$"] if self.end else [])
        # Only this entry, with the address captured: used once a message has matched.
        own = "".join(self.tokens).replace(_ADDRESS, _ADDRESS_CAPTURE, 1)
        self.regex = re.compile(("^" if self.start else "") + own, re.M)


def _trie(sequences):
    """One regular expression matching any of the token sequences, prefixes shared."""
    root = {}
    for seq in sequences:
        node = root
        for token in seq:
            node = node.setdefault(token, {})
        node[None] = {}
    return _emit(root)


def _emit(node):
    if None in node:
        return ""        # an entry ends here: whatever longer ones follow, this one matched
    alternatives = [token + _emit(child) for token, child in node.items()]
    return alternatives[0] if len(alternatives) == 1 else "(?:%s)" % "|".join(alternatives)


def _compile(entries, start):
    if not entries:
        return None
    prefix = "^" if start else ""
    try:
        return re.compile(prefix + _trie([e.tokens for e in entries]), re.M)
    except (RecursionError, re.error, OverflowError):
        # A pathological set nests too deep for the trie: a plain alternation still works.
        return re.compile("%s(?:%s)" % (prefix, "|".join("".join(e.tokens) for e in entries)), re.M)


class Section:
    """A pattern section, compiled: does anything match, and which entry first."""

    def __init__(self, source: list[str], prescan: bool = False) -> None:
        self.source = source          # the configuration's list, to know when it changed
        self.entries = [Entry(t, prescan) for t in source if not entry_problem(t, prescan)]
        self._anywhere = _compile([e for e in self.entries if not e.start], False)
        self._start = _compile([e for e in self.entries if e.start], True)

    def matches(self, text: str) -> bool:
        """True when some entry matches text (in lower case)."""
        return bool((self._anywhere and self._anywhere.search(text)) or (self._start and self._start.search(text)))

    def first(self, text: str, allowed: Container[str] | None = None) -> tuple[Entry, re.Match] | None:
        """(entry, match) of the first entry in file order that matches text (lower case)
        and whose action is allowed (None: any); None when none does."""
        if not self.matches(text):
            return None
        for entry in self.entries:
            if allowed is not None and entry.action not in allowed:
                continue
            found = entry.regex.search(text)
            if found:
                return entry, found
        return None


def compiled(ctx, name: str) -> Section:
    """The pattern section name, compiled once per run (again after CONFIG KILLADD)."""
    source = ctx.config.patterns[name]
    section = ctx.compiled.get(name)
    if section is None or section.source is not source:
        section = ctx.compiled[name] = Section(source, name == "PreScan Strings")
    return section
