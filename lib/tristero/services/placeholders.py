"""The manual's %% place-holders (its "Mail Merge & Prebuilt List Commands"): %%N, %%A,
%%K ... in a text, each the recipient's value, for a mail merge to a list's members
(mail/merge.py) and a scheduled mailing whose recipients are a list (services/mailings.py).

A value is put in once, never read again for place-holders (a member's name that holds
%%K stays that text). %%K is a fresh cookie of the site for the recipient on the list,
good for every cookie-controlled function (SUBSCRIBE's confirmation ...) for 7 days.
In an HTML part each value is HTML-escaped.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping

from tristero.core import messages, personalise
from tristero.model import access, cookies, lists
from tristero.policy import rights

# The manual's place-holders: letter -> what it stands for (for HELP, the README and
# other merges). %%% is a literal %%.
PLACEHOLDERS = {
    "A": "the recipient's address",
    "B": "the robot's address of the site",
    "C": "the recipient's first name (their name's first word; else their address's local part)",
    "D": "the posting date (YYYY-MM-DD)",
    "F": "the recipient's full address as the member file holds it (Name <address>)",
    "G": "the server's name (ServerName)",
    "I": "the site's domain (Domain)",
    "K": "a new cookie for the recipient on the list, valid for 7 days",
    "L": "the list's name",
    "N": "the recipient's full name (else their address)",
    "O": "the list's owner",
    "P": "the recipient's post office (their address's domain)",
    "R": "the recipient's access rights on the list (access flags)",
    "S": "the recipient's surname (their name's last word)",
    "T": "the time of posting (HH:MM, UTC)",
}
COOKIE_DAYS = 7
# %%% (a literal %%), %%X, and the manual's example's single-% forms %F and %L where
# they stand as a word of their own (not "50%For").
_PLACE = re.compile(r"%%%|%%([A-Z])|(?<![%\w])%([FL])(?!\w)")


def wanted(text: str) -> bool:
    """Might text hold a place-holder?"""
    return "%" in text


def substitute(text: str, values: Mapping[str, str], subtype: str = "plain") -> str:
    """text with each place-holder replaced by its value (an unknown letter left as it is;
    in an HTML part, the value escaped: a member's name is text, never markup)."""
    quote = personalise.quoting(subtype)

    def one(match):
        letter = match.group(1) or match.group(2)
        if letter is None:
            return "%%"
        return quote(values[letter]) if letter in values else match.group(0)
    return _PLACE.sub(one, text)


def used(*texts: str) -> set[str]:
    """The place-holder letters texts use (values() makes only those)."""
    return {a or b for text in texts for a, b in _PLACE.findall(text)} - {""}


def values(ctx, listname: str, address: str, name: str = "", letters=None) -> dict[str, str]:
    """The place-holders' values for address (a member of listname named name) now;
    letters: only these (used()), None: all. %%K (a cookie) and %%R (the rights) cost
    a computation each, made only when asked."""
    cfg = ctx.config
    want = set(PLACEHOLDERS) if letters is None else set(letters)
    name = messages.clean(name, 200)
    words = name.split()
    local, _, domain = address.rpartition("@")
    out = {
        "A": address, "B": ctx.robot_address(), "C": words[0] if words else local,
        "D": ctx.now.strftime("%Y-%m-%d"), "F": "%s <%s>" % (name, address) if name else address,
        "G": cfg.globals("ServerName") or ctx.domain, "I": ctx.domain, "L": listname,
        "N": name or address, "O": lists.owner(cfg, listname), "P": domain,
        "S": words[-1] if len(words) > 1 else "", "T": ctx.now.strftime("%H:%M"),
    }
    if "R" in want:
        out["R"] = access.flag_string(rights.flags(ctx, address, listname))
    if "K" in want:
        out["K"] = cookies.bake(ctx.cookie_key(), "*", listname, address,
                                ctx.now.date() + datetime.timedelta(days=COOKIE_DAYS))
    return out


_FIELD_OR_PLACE = re.compile(personalise.FIELD.pattern + "|" + _PLACE.pattern)


def fill(text: str, row: Mapping[str, str], vals: Mapping[str, str], subtype: str = "plain") -> str:
    """text with its {{COLUMN}} fields (row's, as personalise.fill) and its place-holders
    (vals, as substitute) filled in one pass: no value is read again for either."""
    quote = personalise.quoting(subtype)

    def one(match):
        column = match.group(1)
        if column is None:
            return substitute(match.group(0), vals, subtype)
        return quote(row[column.upper()]) if column.upper() in row else match.group(0)
    return _FIELD_OR_PLACE.sub(one, text)
