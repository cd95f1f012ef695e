"""access.ini: explicit rights, one CSV rule per line (the manual's ACCESS.INI).

    user,status,list,language,encrypted_password,flag

``user`` is an address with at most one ``*``; ``status`` a privilege name
(SuperUser ... Barred) or a custom flag string; ``list`` a list name, ``*``,
or empty (every list). Rights are the twelve flags of the manual, written in
the fixed order ``CDGILMOPRSUW``: a letter grants, ``-`` leaves alone, ``X``
masks the right whatever else gives it. A custom status may also be letters
alone (``W``, ``RM``), as GRANT writes them in the manual.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection

from tristero.core import fields

FLAGS = "CDGILMOPRSUW"

MACROS = {
    "SuperUser":    "CDGILMOPRSUW",
    "PostMaster":   "CDGILMOPR-UW",
    "ListOwner":    "CDGILMO-R-UW",
    "Member":       "CDGI-MO-R-UW",
    "Poster":       "C---------UW",
    "Recipient":    "CDGI-MO-R---",
    "Subscriber":   "C--I-M--R---",
    "Distribution": "CDGI----R-UW",
    "FTP":          "CDGI------U-",
    "AnonFTP":      "CDGI--------",
    "None":         "C-----------",
    "Barred":       "------------",
}
_MACRO_NAMES = {k.lower(): k for k in MACROS}


def parse_status(status: str) -> tuple[frozenset[str], frozenset[str]]:
    """(granted, masked) flag sets of a status; raises ValueError when it is not one.

    Barred masks every right: it "takes every right away, the robot's answer
    included", whatever else gives them.
    """
    s = status.strip()
    if not s:
        return frozenset(), frozenset()
    name = _MACRO_NAMES.get(s.lower())
    if name == "Barred":
        return frozenset(), frozenset(FLAGS)
    if name:
        return frozenset(c for c in MACROS[name] if c != "-"), frozenset()
    if len(s) == len(FLAGS) and all(c.upper() in (f, "-", "X") for c, f in zip(s, FLAGS)):
        granted = {f for c, f in zip(s, FLAGS) if c.upper() == f}
        masked = {f for c, f in zip(s, FLAGS) if c.upper() == "X"}
        return frozenset(granted), frozenset(masked)
    letters = s.upper()
    if letters and all(c in FLAGS for c in letters):
        return frozenset(letters), frozenset()
    raise ValueError("%r is neither a privilege (%s) nor a flag string such as CDGI-MO-R-UW"
                     % (status, ", ".join(MACROS)))


def status_string(granted: Collection[str], masked: Collection[str] = frozenset()) -> str:
    """The status to write for these flags: a macro's name when one fits exactly."""
    if masked == frozenset(FLAGS) and not granted:
        return "Barred"
    if not masked:
        for name, flags in MACROS.items():
            if name != "Barred" and set(flags) - {"-"} == set(granted):
                return name
    return "".join("X" if f in masked else f if f in granted else "-" for f in FLAGS)


def flag_string(flags: Collection[str]) -> str:
    return "".join(f if f in flags else "-" for f in FLAGS)


class Rule:
    """One line of access.ini."""

    def __init__(self, user: str, status: str = "", listname: str = "", language: str = "", password: str = "",
                 flag: str = "", line: int | None = None, broken: str | None = None) -> None:
        self.broken = broken      # why the line as written did not read (it then bars)
        self.user = user.strip()
        self.status = status.strip()
        self.list = listname.strip()
        self.language = language.strip()
        self.password = password.strip()
        self.flag = flag.strip()
        self.line = line
        self.granted, self.masked = parse_status(self.status)

    def fields(self) -> list[str]:
        return [self.user, self.status, self.list, self.language, self.password, self.flag]

    def same_target(self, user: str, listname: str) -> bool:
        return self.user.lower() == user.lower() and _list_key(self.list) == _list_key(listname)

    def priority(self, address: str, listname: str | None) -> int | None:
        """The manual's priority (1 most specific .. 6) of this rule for address and
        list, or None when it does not apply."""
        if not user_matches(self.user, address):
            return None
        exact_list = bool(self.list) and self.list != "*"
        if exact_list and (listname is None or self.list.lower() != listname.lower()):
            return None
        if "*" not in self.user:
            rank = 0
        elif self.user in ("*", "*@*"):
            rank = 4
        else:
            rank = 2
        return rank + (1 if exact_list else 2)


def _list_key(name):
    name = (name or "").strip()
    return "*" if name in ("", "*") else name.lower()


def user_matches(pattern: str, address: str) -> bool:
    """Does a user pattern (at most one '*'; '*@*' any address) match address?"""
    p = pattern.lower()
    a = address.lower()
    if p in ("*", "*@*"):
        return True
    if "*" not in p:
        return p == a
    head, _, tail = p.partition("*")
    return len(a) >= len(head) + len(tail) and a.startswith(head) and a.endswith(tail)


def patterns_overlap(p: str, q: str) -> bool:
    """Could one address match both user patterns p and q (addresses or patterns with one '*')?

    Two patterns with one '*' each overlap unless their fixed parts rule it out:
    the heads must agree (one a prefix of the other) and the tails too (one a
    suffix of the other); then head + anything + tail, long enough, matches both.
    """
    p, q = p.lower(), q.lower()
    if p in ("*", "*@*") or q in ("*", "*@*"):
        return True
    if "*" not in p:
        return user_matches(q, p)
    if "*" not in q:
        return user_matches(p, q)
    ph, _, pt = p.partition("*")
    qh, _, qt = q.partition("*")
    heads = ph.startswith(qh) or qh.startswith(ph)
    tails = pt.endswith(qt) or qt.endswith(pt)
    return heads and tails


def valid_pattern(pattern: str) -> str | None:
    """Why pattern cannot be a user pattern, or None."""
    if not pattern or (pattern.count("*") > 1 and pattern != "*@*"):
        return "a user is an address with at most one '*' wildcard (or *@*)"
    if any(c in pattern for c in ' ,"\n\r\t\x00'):
        return "a user may not contain blanks, commas or quotes"
    return fields.problem(pattern)


def parse(text: str) -> tuple[list[Rule], list[tuple[int, str]]]:
    """(rules, problems) of access.ini's text; problems are (line number, why).

    A line that does not read is reported, and fails closed: when its user can
    still be read, it bars that user (on its list) rather than grant anything.
    """
    rules, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        s = split_comment(line)[0].strip()
        if not s or s.startswith((";", "#")):
            continue
        try:
            fields = next(csv.reader([s], skipinitialspace=True, strict=True))
        except csv.Error as e:
            problems.append((n, "not a CSV line: %s" % e))
            continue
        if n == 1 and [f.strip().lower() for f in fields[:2]] == ["user", "status"]:
            continue  # the header line the manual shows
        fields += [""] * (6 - len(fields))
        try:
            if len(fields) > 6:
                raise ValueError("%d fields, 6 expected" % len(fields))
            why = valid_pattern(fields[0].strip())
            if why:
                raise ValueError(why)
            rules.append(Rule(*fields[:6], line=n))
        except ValueError as e:
            problems.append((n, str(e)))
            user = fields[0].strip()
            if user and not valid_pattern(user):
                # The password stays: a broken line must not drop what protects its user.
                rules.append(Rule(user, "Barred", fields[2], password=fields[4], line=n, broken=str(e)))
    return rules, problems


def split_comment(line: str) -> tuple[str, str]:
    """(content, comment) of a line: a comment is a line whose first non-blank character
    is ';' or '#', or what follows " ;" or " #" outside double quotes (with the blanks
    before it, as typed); comment is "" when there is none."""
    if line.lstrip().startswith((";", "#")):
        return "", line
    quoted = False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        elif c in ";#" and not quoted and i > 0 and line[i - 1] in " \t":
            cut = len(line[:i].rstrip(" \t"))
            return line[:cut], line[cut:]
    return line, ""


def _line(rule):
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="").writerow(rule.fields())
    return out.getvalue()


def render(rules: list[Rule], old_text: str = "") -> str:
    """access.ini's text for rules (quoted the way the manual writes them), laid out as
    old_text (the file as it is) was: its comments, blank lines and header stay where
    they stand, each rule takes the place of the line that held its user and list
    (with that line's inline comment), and new rules follow at the end."""
    todo = list(rules)
    out = []
    for n, line in enumerate(old_text.splitlines(), 1):
        content, comment = split_comment(line)
        if not content.strip():
            out.append(line)
            continue
        try:
            fields = next(csv.reader([content.strip()], skipinitialspace=True))
        except csv.Error:
            fields = []
        if n == 1 and [f.strip().lower() for f in fields[:2]] == ["user", "status"]:
            out.append(line)
            continue
        fields += [""] * 3
        match = next((r for r in todo if r.same_target(fields[0].strip(), fields[2])), None)
        if match is not None:
            todo.remove(match)
            out.append(_line(match) + comment)
        elif comment.strip():
            out.append(comment.lstrip())       # the rule is gone; what was said of it stays
    if not out:
        out.append("user,status,list,language,encrypted_password,flag")
    out.extend(_line(r) for r in todo)
    return "\n".join(out) + "\n"


def load(path: str) -> tuple[list[Rule], list[tuple[int, str]]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse(f.read())
    except FileNotFoundError:
        return [], []
