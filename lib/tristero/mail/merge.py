"""Mail merge (the manual's "Mail Merge & Prebuilt List Commands"): a post to LIST-merge@,
or to a list whose CopyMethod is P or M, goes to each member in an envelope of its own;
from the list's owner or a privileged user, its text parts (and Subject) are personalised
for each recipient with the place-holders of PLACEHOLDERS (core.personalise renders the
copies: a place-holder in a quoted-printable or base64 part is found in the decoded text).

    P (Personal): each copy is addressed to its recipient in To.
    M (Mass): each copy keeps the post's To (Bcc-style: the recipient is not named).

A value is put in once, never read again for place-holders (a member's name that holds
%%K stays that text). %%K is a fresh cookie of the site for the recipient on the list,
good for every cookie-controlled function (SUBSCRIBE's confirmation ...) for 7 days.
Other code that merges (DISTRIBUTE's list sources) uses values() and substitute().
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator, Mapping

from tristero.core import messages, personalise, streams
from tristero.model import access, cookies, lists, members
from tristero.policy import bounces, rights
from tristero.services import headers

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
    """text with each place-holder replaced by its value (an unknown letter left as it
    is); in an HTML part (subtype html) each value HTML-escaped: a member's name is text."""
    quote = html.escape if subtype == "html" else str

    def one(match):
        letter = match.group(1) or match.group(2)
        if letter is None:
            return "%%"
        return quote(values[letter]) if letter in values else match.group(0)
    return _PLACE.sub(one, text)


def used(*texts: str) -> set[str]:
    """The place-holder letters texts use (values() makes only those)."""
    return {a or b for text in texts for a, b in _PLACE.findall(text)} - {""}


def values(ctx, listname: str, address: str, options: str = "", letters=None) -> dict[str, str]:
    """The place-holders' values for address (a member of listname with options) now;
    letters: only these (used()), None: all. %%K (a cookie) and %%R (the rights) cost
    a computation each, made only when asked."""
    cfg = ctx.config
    want = set(PLACEHOLDERS) if letters is None else set(letters)
    name_option = members.option_word(options, "NAME") or ""
    name = messages.clean(name_option[5:].strip(), 200)
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


def method(config, listname: str, merge: bool) -> str:
    """How a post to listname is copied: "P", "M" or "" (one envelope for many). A post to
    LIST-merge@ is P unless the list's CopyMethod says M."""
    own = config.list_value(listname, "CopyMethod")
    letter = "M" if "M" in own else "P" if "P" in own else ""
    return letter or ("P" if merge else "")


def copies(ctx, post, how: str, merged: bool) -> Iterator[tuple[str, list[str], streams.Pieces]]:
    """The envelopes of post (mail.posting.Post), one per recipient: P names the recipient
    in To; merged: its text parts and Subject personalised (substitute, values)."""
    listname = post.listname
    verp = ctx.config.list_value(listname, "VERP")
    raw = post.head + b"\n" + bytes(post.body)
    fields = ("To",) if how == "P" else ()
    subject = ""
    if merged:
        subject = messages.parse(post.head + b"\n").get("Subject") or ""
        if wanted(subject):
            fields += ("Subject",)
    template = personalise.Template(raw, wanted=wanted if merged else (lambda text: False), fields=fields)
    letters = used(subject, *(text for _, text in template.texts))
    roster = ctx.state.members(lists.number(ctx.config, listname)) if merged else None
    for address in post.recipients:
        given = {}
        edit = None
        if merged:
            entry = roster.get(address)
            vals = values(ctx, listname, address, entry[1] if entry else "", letters)
            edit = (lambda text, subtype, vals=vals: substitute(text, vals, subtype))
            if "Subject" in fields:
                given["Subject"] = substitute(str(subject), vals)
        if how == "P":
            given["To"] = address
        data = template.render(edit, given)
        head, _, body = data.partition(b"\n\n")
        reverse = bounces.envelope_sender(ctx, listname, address) if verp else post.sender
        yield reverse, [address], streams.Pieces(
            head + b"\n", headers.unsubscribe_fields(ctx, listname, address) + b"\n", body,
            eight_bit=post.eight_bit)


def for_folder(ctx, post, data: bytes) -> bytes:
    """data (a merged post as its folder members get it) filled in for the list's own
    address, as the board a folder is: no cookie (%%K) and no rights (%%R), which would
    be nobody's, and no place-holder left as written."""
    subject = messages.parse(post.head + b"\n").get("Subject") or ""
    fields = ("Subject",) if wanted(subject) else ()
    template = personalise.Template(data, wanted=wanted, fields=fields)
    letters = used(subject, *(text for _, text in template.texts)) - {"K", "R"}
    vals = dict(values(ctx, post.listname, lists.address(ctx.config, post.listname), "", letters), K="", R="")
    return template.render(lambda text, subtype: substitute(text, vals, subtype),
                           {"Subject": substitute(str(subject), vals)})
