"""Web forms by mail (the manual's "Web Form Interface"): a form's mailto: action sends
its fields as CGI parameters, either as the local part of the robot's address
(cgi?action=subscribe&list=news@DOMAIN) or as the first line of the body (a browser's
mailto: POST). The four parameters, each with its synonym, make one command line, in
this order: Action (1), List (2), Address (3), Option (4); "+" is a space and %XX a
character (an address's @ is %40). Each such request is logged (the rule WEB_FORM) and
counted in the run's summary.

    action=ADD&List=news-l&Address=New+User&Option=Hide  ->  ADD news-l New User Hide
"""

from __future__ import annotations

import re
import urllib.parse

from tristero.core import redact

RULE = "web form by mail"
_ORDER = ("action", "list", "address", "option")
_SYNONYMS = {"1": "action", "2": "list", "3": "address", "4": "option"}
# A line of CGI parameters: name=value pairs joined by &, no blanks.
_QUERY = re.compile(r"[A-Za-z0-9_]+=[^&\s]*(?:&[A-Za-z0-9_]+=[^&\s]*)*")
MAX_LINE = 1000


def is_form_address(local: str) -> bool:
    """Is local (a local part of the site) the manual's CGI command address?"""
    low = local.lower()
    return low == "cgi" or low.startswith("cgi?")


def command_line(query: str) -> str | None:
    """The command line a form's parameters make, or None when they name no action.
    A parameter given twice counts once (the first); others are left out."""
    if len(query) > MAX_LINE or not _QUERY.fullmatch(query):
        return None
    found = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        name = _SYNONYMS.get(name, name.lower())
        if name in _ORDER and name not in found:
            found[name] = " ".join(urllib.parse.unquote_plus(value, errors="replace").split())
    if not found.get("action"):
        return None
    return " ".join(found[n] for n in _ORDER if found.get(n))


def from_address(local: str) -> str | None:
    """The command line of a CGI command address's local part (cgi?...), or None."""
    return command_line(local.partition("?")[2]) if is_form_address(local) else None


def from_body(text: str) -> str | None:
    """The body with its first line of CGI parameters made a command line (the rest of
    the body after it is not read: a form sends one request), or None when the first
    line that is not blank is no such line."""
    for line in text.splitlines():
        if line.strip():
            return command_line(line.strip())
    return None


def with_secret(line: str) -> bool:
    """Does a form's command line hold a password (approve PW ..., PW=)? One is not
    taken: it stood in an address or a line every mail server on the way may log."""
    return redact.has_secret(line)


def queries(m) -> list[str]:
    """The parameters of m's form as written (its CGI address's, its body's first line)
    whose command line holds a password: what is starred where m is kept or logged."""
    found = [d.rpartition("@")[0].partition("?")[2] for d in m.destinations
             if is_form_address(d.rpartition("@")[0])]
    found += [line.strip() for line in m.text().splitlines() if line.strip()][:1]
    return [q for q in found if with_secret(command_line(q) or "")]
