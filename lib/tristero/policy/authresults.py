"""Authentication-Results (RFC 8601): does the site's own mail server vouch for a From?

Every such field is anyone's to write, so only one whose authserv-id is in
``[Security] TrustedAuthservIds`` (the ids the site's mail server writes, and
removes from arriving mail) is read, and it is read strictly: a field that
does not follow the grammar proves nothing. The From is vouched for when at
least one trusted field reports DMARC and every DMARC result of the trusted
fields is ``pass`` with ``header.from`` the From address's domain.

The grammar read (RFC 8601 2.2, comments removed first; CFWS around "/" and
"." is not taken):

    authserv-id [version] ( "; none" / 1*( ";" method[/version] "=" result
                            [reason "=" value] *( ptype.property "=" value ) ) )
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from tristero.core import messages
from tristero.model.config import Config

MAX_FIELD = 4096        # a longer field is no server's: not read
MAX_FIELDS = 50         # Authentication-Results fields of one message read at most

_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_METHOD = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:/\d+)?")
_PROPERTY = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\.([A-Za-z0-9_-]+)")
# RFC 2045 token characters, and what a pvalue adds: "@" and "." of an address or a domain.
_WORD = re.compile(r"[!#-'*+\-./0-9:<>?-Z\[\]^-~]+")
_SPECIALS = ";="


class Unreadable(Exception):
    """The field does not follow RFC 8601's grammar."""


def _uncomment(text):
    """text with each comment (nested parentheses, quoted pairs) made one blank; quoted
    strings kept whole."""
    out = []
    depth = 0
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and (depth or quoted):
            if i + 1 >= len(text):
                raise Unreadable("a backslash at the end")
            if quoted:
                out.append(text[i:i + 2])
            i += 2
            continue
        if quoted:
            out.append(c)
            quoted = c != '"'
        elif c == "(":
            if not depth:
                out.append(" ")
            depth += 1
        elif c == ")":
            if not depth:
                raise Unreadable("a ) without its (")
            depth -= 1
        elif not depth:
            out.append(c)
            quoted = c == '"'
        i += 1
    if depth or quoted:
        raise Unreadable("a comment or a quoted string left open")
    return "".join(out)


def _tokens(text):
    """The words of text (comments removed), quoted strings as ('"', text), and ";" "="."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in _SPECIALS:
            out.append(c)
            i += 1
        elif c == '"':
            value = []
            i += 1
            while text[i] != '"':       # _uncomment saw it closed
                if text[i] == "\\":
                    i += 1
                value.append(text[i])
                i += 1
            out.append(('"', "".join(value)))
            i += 1
        else:
            found = _WORD.match(text, i)
            if not found:
                raise Unreadable("unexpected character %r" % c)
            out.append(found.group(0))
            i = found.end()
    return out


def _word(tokens, i, pattern=None, what="a word"):
    """The word at tokens[i] (matching pattern, when given); Unreadable if there is none."""
    token = tokens[i] if i < len(tokens) else None
    if not isinstance(token, str) or token in _SPECIALS or (pattern and not pattern.fullmatch(token)):
        raise Unreadable("%s expected, %s found" % (what, "the end" if token is None else repr(token)))
    return token


def _value(tokens, i):
    """The text of the value (a word or a quoted string) at tokens[i]."""
    token = tokens[i] if i < len(tokens) else None
    return token[1] if isinstance(token, tuple) else _word(tokens, i)


def _expect(tokens, i, special):
    if i >= len(tokens) or tokens[i] != special:
        raise Unreadable("%r expected" % special)


def parse(text: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """(authserv-id in lower case, [(method, result, {ptype.property: value})]) of an
    Authentication-Results field's value; raises Unreadable."""
    if len(text) > MAX_FIELD:
        raise Unreadable("longer than %d characters" % MAX_FIELD)
    tokens = _tokens(_uncomment(text))
    authserv = _value(tokens, 0).lower()
    i = 1
    if i < len(tokens) and isinstance(tokens[i], str) and tokens[i].isdigit():
        i += 1          # authres-version
    rest = [t.lower() if isinstance(t, str) else t for t in tokens[i:]]
    if rest == [";", "none"]:
        return authserv, []
    if not rest:
        raise Unreadable("no result")
    results = []
    while i < len(tokens):
        _expect(tokens, i, ";")
        method = _METHOD.fullmatch(_word(tokens, i + 1, _METHOD, "a method")).group(1).lower()
        _expect(tokens, i + 2, "=")
        result = _word(tokens, i + 3, _KEYWORD, "a result").lower()
        i += 4
        if i < len(tokens) and isinstance(tokens[i], str) and tokens[i].lower() == "reason":
            _expect(tokens, i + 1, "=")
            _value(tokens, i + 2)
            i += 3
        properties = {}
        while i < len(tokens) and tokens[i] != ";":
            prop = _PROPERTY.fullmatch(_word(tokens, i, _PROPERTY, "ptype.property"))
            _expect(tokens, i + 1, "=")
            properties["%s.%s" % (prop.group(1).lower(), prop.group(2).lower())] = _value(tokens, i + 2)
            i += 3
        results.append((method, result, properties))
    return authserv, results


def dmarc_vouches(config: Config, msg: EmailMessage, author: str) -> tuple[bool, str]:
    """(True, authserv-id) when a trusted Authentication-Results field of msg reports a
    DMARC pass for author's domain and none reports anything else; else (False, why).
    Only the fields above the first Received field are read (the server's own)."""
    trusted = config.get("Security", "TrustedAuthservIds")
    if not trusted:
        return False, "no TrustedAuthservIds"
    from_addresses = messages.addresses(msg, "From")
    if len(from_addresses) != 1 or from_addresses[0][1].lower() != author.lower():
        return False, "From does not hold the author's address alone"
    domain = author.rpartition("@")[2].lower().rstrip(".")
    passed = None
    fields = _above_received(msg.raw_items())[:MAX_FIELDS]
    for raw in fields:
        text = re.sub(r"\r?\n(?=[ \t])", "", raw)
        try:
            authserv, results = parse(text)
        except Unreadable as e:
            claimed = _first_word(text)
            if claimed in trusted:
                return False, "a field of %s does not read (%s)" % (claimed, messages.clean(e, 100))
            continue
        if authserv not in trusted:
            continue
        for method, result, properties in results:
            if method != "dmarc":
                continue
            said = properties.get("header.from", "").lower().rstrip(".")
            if result != "pass" or said != domain:
                return False, "%s reports dmarc=%s for %s" % (authserv, result,
                                                            messages.clean(said, 100) or "no domain")
            passed = passed or authserv
    if passed is None:
        return False, "no trusted Authentication-Results field reports DMARC for it"
    return True, passed


def _above_received(items) -> list[str]:
    """The Authentication-Results fields of a header above its first Received field: the
    only ones the site's own server can have written (see mta_fields); any below came with
    the message, whoever wrote them."""
    found = []
    for name, value in items:
        if name.lower() == "received":
            break
        if name.lower() == "authentication-results":
            found.append(str(value))
    return found


def claimed_id(text: str) -> str:
    """The authserv-id a field's value claims, in lower case, read even when the rest of
    the field does not follow the grammar."""
    text = re.sub(r"\r?\n(?=[ \t])", "", text)
    try:
        return parse(text)[0]
    except Unreadable:
        return _first_word(text)


def _first_word(text):
    """The first word before ";" once comments are taken out leniently (an unclosed one
    runs to the end): what other readers (dkimpy's ARC signer) take for the authserv-id
    of a field off the grammar, "(x) mx.example.org; ..." included."""
    out, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and depth:
            i += 2
            continue
        if c == "(":
            depth += 1
            out.append(" ")
        elif c == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
        i += 1
    return ("".join(out).split(";", 1)[0].split() or [""])[0].strip('"').lower()


def mta_fields(config: Config, fields: list[tuple[str, str]]) -> tuple[list[str], list[int]]:
    """Which Authentication-Results fields of a header (fields: (name, value) in order)
    the site's own mail server wrote: (their authserv-ids, in order; the indexes of the
    fields that claim a trusted authserv-id but are not its, to be removed).

    The server adds its fields on top of the message it receives (a milter, or Exim's
    ``add_header = :at_start:``), above its own Received field or beside it. So only
    the fields with a trusted authserv-id above the first Received field are its: any
    below it came with the message, whoever wrote them, since no Received field of the
    site's server lies between them and the sender. Fields of other authserv-ids are
    neither believed nor removed.
    """
    trusted = config.get("Security", "TrustedAuthservIds")
    ours, forged = [], []
    above = True
    for i, (name, value) in enumerate(fields):
        lname = name.lower()
        if lname == "received":
            above = False
        elif lname == "authentication-results" and trusted:
            claimed = claimed_id(value)
            if claimed in trusted:
                if above and len(value) <= MAX_FIELD:
                    ours.append(claimed)
                else:
                    forged.append(i)
    return ours, forged


def domain_vouched(config: Config, msg: EmailMessage, domain: str,
                   methods: tuple[str, ...] = ("spf", "dkim")) -> tuple[bool, str]:
    """(True, authserv-id) when a trusted Authentication-Results field of msg reports an
    SPF pass for an envelope sender at domain (smtp.mailfrom) or a DKIM pass for a
    signature of domain (header.d), of methods; else (False, why). For mail that stands
    for a server rather than a person (a remote list's posts, proxy lists), whose From is
    its author's."""
    trusted = config.get("Security", "TrustedAuthservIds")
    if not trusted:
        return False, "no TrustedAuthservIds"
    domain = domain.lower().rstrip(".")
    for raw in _above_received(msg.raw_items())[:MAX_FIELDS]:
        try:
            authserv, results = parse(re.sub(r"\r?\n(?=[ \t])", "", raw))
        except Unreadable:
            continue
        if authserv not in trusted:
            continue
        for method, result, properties in results:
            said = properties.get("smtp.mailfrom" if method == "spf" else "header.d", "")
            said = said.rpartition("@")[2].lower().rstrip(".")
            if method in methods and result == "pass" and said == domain:
                return True, authserv
    return False, "no trusted Authentication-Results field reports %s pass for %s" % (
        " or ".join(m.upper() for m in methods), domain)
