"""Member files: lists/NNNNNNNN.ini, one member per line, read and written fast.

The file is an INI file with one section, ``[Members]``; each line is
``address = options``. The options are comma-separated words (``NOMAIL``,
``NAME Joe Bloggs``); they never contain ``=``, so a line splits at its last
``=``, and an address such as ``a=b@example.org`` needs no quoting. A line
with no ``=`` is a member with default options. Lines above ``[Members]``
(comments) are kept; the members are written back sorted by domain, which
keeps the recipients of each outbound envelope bunched by mail server.
Addresses are stored as given and compared without regard to case.

A person's mistakes never drop anyone silently: a line that is not one
address is kept in the file as written (after the members) and reported,
with its line number, in ``problems``; so is an address listed twice (the
first line wins) and a file without ``[Members]`` (read as if it had it).
``Name <address>`` is read as that member, with the option ``NAME Name``.
"""

from __future__ import annotations

import io
import itertools
import operator
import re
from collections.abc import Iterable, Iterator, ValuesView
from typing import BinaryIO

from tristero.core import fields
from tristero.model import durable, spools

HEADER = "[Members]"
_NAMED = re.compile(r"^(.*?)\s*<([^<>\s]+)>$")

# The ASCII an address in an envelope may hold (see spools.valid_envelope_address), with
# the line end that separates addresses; a domain holds only letters, digits, '.' and '-'.
_ENVELOPE_BYTES = bytes(c for c in range(0x21, 0x7f) if chr(c) not in '<>"(),;:\\[]') + b"\n"
_DOMAIN_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789.-"
# A domain label that is empty or begins with '-' (as spools.valid_envelope_address refuses).
_BAD_LABEL = re.compile(r"(?:^|\.)(?:[-.]|$)", re.M)
_READ = 1 << 18         # characters of a member file read at a time when it streams


def address_key(address: str) -> str:
    """What two spellings of one address have in common: case ignored.

    The domain's case never matters; the local part's may, by the letter of
    RFC 5321, but no mail service a list reaches treats Alice@ and alice@ as
    two people, and telling them apart would send two copies to one mailbox
    and let an unsubscription in the other case fail.
    """
    low = address.lower()
    # The address itself when already in lower case: one string per member, not two.
    return address if low == address else low


def domain_order(key: str) -> tuple[str, str]:
    """Sort key of a member: by domain (the envelopes of the export spool list their recipients by domain),
    then by the whole key."""
    return (key.rpartition("@")[2], key)


def sorted_keys(keys: Iterable[str]) -> list[str]:
    """keys in domain_order, without a key tuple per member: grouped by domain,
    the domains sorted, each group sorted as plain strings."""
    groups = {}
    for key in keys:
        groups.setdefault(key.rpartition("@")[2], []).append(key)
    out = []
    for domain in sorted(groups):
        group = groups.pop(domain)
        group.sort()
        out.extend(group)
    return out


def clean_options(words: Iterable[str]) -> str:
    """Options as stored: comma-separated, with no '=' or line breaks in them."""
    out = []
    for w in words:
        w = " ".join(w.replace("=", " ").replace(",", " ").split())
        if w:
            out.append(w)
    return ", ".join(out)


def entry_problem(address: str, options: str) -> str | None:
    """Why a member (address, options) cannot be written as a line of a member file, or None."""
    if not address or address != address.strip().strip('"') or address[0] in "[;#":
        return "%r cannot stand first on a member line" % address
    if "=" in options:
        return "options may not contain '='"
    why = fields.problem(address) or fields.problem(options)
    return why and "%s: %s" % (address, why)


def _unusable(address):
    """Why address, read from a member line, cannot be a member, or None."""
    if not address.isascii():
        return "%s has characters beyond ASCII, which this site cannot send to" % address
    if not spools.valid_envelope_address(address) or "@" not in address:
        return "not one mail address"
    return None


def options_list(options: str) -> list[str]:
    return [o.strip() for o in options.split(",") if o.strip()]


def option_word(options: str, word: str) -> str | None:
    """The option starting with word (case ignored), e.g. 'NAME Joe', or None."""
    word = word.upper()
    for o in options_list(options):
        head = o.split(None, 1)[0].upper()
        if head == word:
            return o
    return None


def name_of(options: str) -> str:
    """The member's name its options hold (NAME Joe Bloggs), or ""."""
    return (option_word(options, "NAME") or "")[5:].strip()


def receives_posts(options: str) -> bool:
    """True when a member with these options gets each post by mail (neither NOMAIL nor DIGEST)."""
    return not options or (option_word(options, "NOMAIL") is None and option_word(options, "DIGEST") is None)


def with_option(options: str, word: str, value: str | None = None) -> str:
    """options with the option word set (value after it) or removed (value None)."""
    kept = [o for o in options_list(options) if o.split(None, 1)[0].upper() != word.upper()]
    if value is not None:
        kept.append((word + " " + value).strip())
    return clean_options(kept)


class MemberList:
    """The members of one list: key -> (address as given, options)."""

    def __init__(self, number: str) -> None:
        self.number = number
        self.header = ["; Members: one per line, \"address = options\" (see README)."]
        self.members = {}
        self.unread = []           # lines that are no member, kept as written
        self.problems = []         # (line number, why) of what was read amiss

    def __len__(self):
        return len(self.members)

    def __contains__(self, address):
        return address_key(address) in self.members

    def get(self, address: str) -> tuple[str, str] | None:
        """(address, options) of a member, or None."""
        return self.members.get(address_key(address))

    def items(self) -> ValuesView[tuple[str, str]]:
        """(address, options) of every member, in file order."""
        return self.members.values()

    def parse(self, lines: Iterable[str]) -> MemberList:
        """Read the file's lines (any iterable of str, so a file streams).

        The members are kept in domain order (see write); a file a person
        edited out of order is put in order once, here.
        """
        members = self.members
        in_order = True
        last = last_domain = None
        for n, line, address, options in self.read(lines):
            if address is None:
                self.unread.append(line.rstrip("\n"))
                continue
            key = address_key(address)
            if key in members:
                first = members[key]
                self.problems.append((n, "%s is listed twice%s; the first line, %s, is the one used"
                                      % (address, " with other options" if first[1] != options else "",
                                         "%s = %s" % first if first[1] else "%s =" % first[0])))
                continue
            members[key] = (address, options)
            if in_order:
                domain = key.rpartition("@")[2]
                in_order = last is None or (domain, key) >= (last_domain, last)
                last, last_domain = key, domain
        if not in_order:
            self.members = {k: members[k] for k in sorted_keys(members)}
        return self

    def read(self, lines: Iterable[str]) -> Iterator[tuple[int, str, str | None, str]]:
        """(line number, line, address, options) of each member line of the file's lines,
        streamed; address None for a line that is no member (problems says why). The
        lines above [Members] become the header."""
        header = []
        seen_header = False
        for n, line in enumerate(lines, 1):
            s = line.strip()
            if not seen_header:
                if s.lower() == HEADER.lower():
                    seen_header = True
                    continue
                if not s or s[0] in ";#" or "@" not in s:
                    header.append(line.rstrip("\n"))
                    continue
                # A member line before any [Members]: the intent is plain.
                seen_header = True
                self.problems.append((n, "no [Members] line above the members: read as if it were there"))
            if not s or s[0] in ";#":
                continue
            if s[0] == "[":
                break
            address, eq, options = s.rpartition("=")
            if not eq or ("@" not in address and "@" in options):
                # No options, or a bare address that holds '=' itself (srs=a=b@example.net).
                address, options = s, ""
            address, options = address.strip().strip('"').strip(), options.strip()
            named = _NAMED.match(address) if "<" in address else None
            if named:
                address = named.group(2)
                name = " ".join(named.group(1).strip('"').replace(",", " ").split())
                if name and option_word(options, "NAME") is None:
                    options = with_option(options, "NAME", name)
            why = _unusable(address)
            if why:
                self.problems.append((n, "%s: %s; the line is kept as it is and gets no mail" % (s, why)))
                yield n, line, None, ""
                continue
            yield n, line, address, options
        if header:
            self.header = header

    def write(self, f: BinaryIO) -> None:
        """Write the file to the binary file f, streaming (a list may be large).

        Members are written sorted by domain, and the list in memory takes the
        same order: a post fans out in member order, so a run redone after a
        crash (which reads the file back) sends exactly the same envelopes as
        one that was never cut.
        """
        out = io.TextIOWrapper(f, encoding="utf-8", newline="\n", write_through=False)
        for line in self.header:
            out.write(line + "\n")
        out.write(HEADER + "\n")
        members = self.members
        order = sorted_keys(members)
        for key in order:
            address, options = members[key]
            out.write("%s = %s\n" % (address, options) if options else "%s =\n" % address)
        for line in self.unread:
            out.write(line + "\n")
        out.flush()
        out.detach()
        self.members = {key: members[key] for key in order}


def load(number: str, path: str) -> MemberList:
    """The member list stored at path (empty if there is no file)."""
    ml = MemberList(number)
    try:
        f = open(path, encoding="utf-8", errors="replace", newline=None)
    except FileNotFoundError:
        return ml
    with f:
        return ml.parse(f)


def recipients(roster: MemberList) -> Iterator[str]:
    """The addresses a post goes to: every member but those set NOMAIL or DIGEST, in file
    order (streamed)."""
    for address, options in roster.items():
        if not options or receives_posts(options):
            yield address


def _open(path):
    return open(path, encoding="utf-8", errors="replace", newline=None)


def _pieces(path: str) -> Iterator[str | None]:
    """The file at path in lower case, read in pieces of about _READ characters cut at
    line ends (a text without a line end is never cut in two); None for a line longer
    than a piece (the caller then answers "maybe"). Nothing when there is no file."""
    try:
        f = _open(path)
    except FileNotFoundError:
        return
    with f:
        tail = ""
        while True:
            piece = f.read(_READ)
            if not piece:
                if tail:
                    yield tail
                return
            piece = tail + piece.lower()
            cut = piece.rfind("\n") + 1
            if not cut and len(piece) > _READ:
                yield None
                return
            tail = piece[cut:]
            if cut:
                yield piece[:cut]


def mentions(path: str, text: str) -> bool:
    """False when the file at path holds text (in lower case) nowhere, case ignored: read
    in pieces at the speed of a search, never loaded (True may also mean a line too long
    to search: the caller reads the file, as it would without this search)."""
    return any(piece is None or text in piece for piece in _pieces(path))


def holds_option(path: str, word: str) -> bool:
    """False when no member line of the file at path can hold an option whose first word
    is word (case ignored): the word stands nowhere right after a line's '=' or a ','
    (blanks between) and before a blank, a ',' or the line's end. An address that holds
    the word (jack@ for ACK) does not count. Read in pieces as mentions reads (a piece
    searched for the word first)."""
    word = word.lower()
    option = re.compile(r"[=,][^\S\n]*%s(?:[^\S\n]|,|$)" % re.escape(word), re.M)
    return any(piece is None or word in piece and option.search(piece) for piece in _pieces(path))


def find(path: str, address: str) -> tuple[str, str] | None:
    """(address, options) of a member of the file at path, or None: what
    load(...).get(address) says, without loading the list. The file streams; one
    that does not hold the address in any spelling is read at the speed of a search."""
    key = address_key(address)
    if not key or not mentions(path, key):
        return None
    # Somewhere in it: the lines read as load reads them, the first that is the member.
    with _open(path) as f:
        for _, _, found, options in MemberList("").read(f):
            if found is not None and address_key(found) == key:
                return found, options
    return None


def _addresses(lines, order=True):
    """The addresses of lines of a member file (no line end) when each is "address ="
    or "address = options" as write() makes them, the address one an envelope takes
    and not read as a comment (parse would read it so), the options without '=':
    (addresses, where each line's " =" is, those lines' sort keys "domain key" or None
    unless order); None when a line is not such a line. Whole lists at once, with the
    string methods mapped over them (no Python code runs per line)."""
    repeat = itertools.repeat
    cut = list(map(str.find, lines, repeat(" =")))
    if -1 in cut:
        return None
    addresses = list(map(str.__getitem__, lines, map(slice, cut)))
    if sum(map(str.count, lines, repeat("="))) != len(lines) and any(
            line.rfind("=") != i + 1 for line, i in zip(lines, cut)):
        return None     # a '=' in options: the line splits elsewhere
    joined = "\n".join(addresses)
    if not joined.isascii() or joined.encode("ascii").translate(None, _ENVELOPE_BYTES) \
            or joined.startswith("#") or "\n#" in joined or joined.count("@") != len(lines):
        return None
    if not order:
        return addresses, cut, None
    keys = joined.lower().split("\n")
    domains = list(map(str.__getitem__, keys, map(slice, map((1).__add__, map(str.rfind, keys, repeat("@"))),
                                                          repeat(None))))
    # Each key has an '@' after a local part: at least two characters more than its domain.
    if min(map(operator.sub, map(len, keys), map(len, domains)), default=2) < 2 or "" in domains \
            or "".join(domains).encode("ascii").translate(None, _DOMAIN_BYTES) \
            or _BAD_LABEL.search("\n".join(domains)):
        return None
    # A space sorts before every character of a domain: "domain key" sorts as domain_order.
    return addresses, cut, list(map(operator.add, map(operator.add, domains, repeat(" ")), keys))


def _taking_posts(lines, addresses, cut):
    """The addresses of lines (see _addresses) whose members take posts by mail."""
    # A line longer than its address and " =" has options: few do.
    optioned = list(map((2).__lt__, map(operator.sub, map(len, lines), cut)))
    if not any(optioned):
        return addresses
    keep = [True] * len(lines)
    for n in itertools.compress(range(len(lines)), optioned):
        line = lines[n]
        if not _receives(line[cut[n] + 2:]):
            keep[n] = False
    return list(itertools.compress(addresses, keep))


def _receives(options):
    upper = options.upper()
    return ("NOMAIL" not in upper and "DIGEST" not in upper) or receives_posts(options)


class FileRecipients:
    """The recipients of a post (members neither NOMAIL nor DIGEST) streamed from a
    member file that reads exactly as write() makes it, already in domain order: the
    list is never loaded, nor sorted, and the file is read in pieces (a list of a
    million members costs a few megabytes, not hundreds). check() says whether the
    file is such a file; a file edited by hand (a comment, a line amiss, an address
    twice, out of order) is loaded as ever (load), which reports what it finds.

    Each address it yields is one an envelope takes (spools.valid_envelope_address),
    in envelope order (checked).
    """

    checked = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self._print = None

    def check(self) -> bool:
        """True when the file reads as write() makes it, in order; counts the recipients
        (count). One streaming pass."""
        self._print = durable.fingerprint(self.path)
        count = 0
        for part in self._parts():
            if part is None:
                return False
            count += len(part)
        self.count = count
        return True

    def __iter__(self) -> Iterator[str]:
        if durable.fingerprint(self.path) != self._print:
            # Edited since check(): read as any member file is.
            yield from recipients(load("", self.path))
            return
        for part in self._parts(checked=True):
            if part is None:
                raise ValueError("%s changed while a post was sent to its members" % self.path)
            yield from part

    def _parts(self, checked=False):
        """The recipients of the file, a list per piece read; None (and the end) at the
        first line that is not as write() makes it, or (unless checked: the order was
        checked already) out of order or listed twice."""
        try:
            f = _open(self.path)
        except FileNotFoundError:
            return
        with f:
            while True:
                line = f.readline()
                if not line:
                    return      # no [Members]: no members
                s = line.strip()
                if s.lower() == HEADER.lower():
                    break
                if s and s[0] not in ";#" and "@" in s:
                    yield None      # a member above [Members]
                    return
            last = ""
            rest = ""
            while True:
                text = f.read(_READ)
                if not text and not rest:
                    return
                lines = (rest + text).split("\n") if text else [rest]
                rest = lines.pop() if text else ""
                if not lines:
                    continue
                found = _addresses(lines, order=not checked)
                if found is None:
                    yield None
                    return
                addresses, cut, keys = found
                if not checked:
                    # Strictly in order: no address twice, and none out of place.
                    if not last < keys[0] or not all(map(operator.lt, keys, itertools.islice(keys, 1, None))):
                        yield None
                        return
                    last = keys[-1]
                yield _taking_posts(lines, addresses, cut)
