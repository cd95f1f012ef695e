"""Mail merge (the manual's "Mail Merge & Prebuilt List Commands"): a post to LIST-merge@,
or to a list whose CopyMethod is P or M, goes to each member in an envelope of its own;
from the list's owner or a privileged user, its text parts (and Subject) are personalised
for each recipient with the place-holders of services/placeholders.py (core.personalise
renders the copies: a place-holder in a quoted-printable or base64 part is found in the
decoded text).

    P (Personal): each copy is addressed to its recipient in To.
    M (Mass): each copy keeps the post's To (Bcc-style: the recipient is not named).
"""

from __future__ import annotations

from collections.abc import Iterator

from tristero.core import messages, personalise, streams
from tristero.model import lists, members
from tristero.policy import bounces
from tristero.services import headers, placeholders


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
        if placeholders.wanted(subject):
            fields += ("Subject",)
    template = personalise.Template(raw, wanted=placeholders.wanted if merged else (lambda text: False),
                                    fields=fields)
    letters = placeholders.used(subject, *(text for _, text in template.texts))
    roster = ctx.state.members(lists.number(ctx.config, listname)) if merged else None
    for address in post.recipients:
        given = {}
        edit = None
        if merged:
            entry = roster.get(address)
            vals = placeholders.values(ctx, listname, address, members.name_of(entry[1]) if entry else "", letters)
            edit = (lambda text, subtype, vals=vals: placeholders.substitute(text, vals, subtype))
            if "Subject" in fields:
                given["Subject"] = placeholders.substitute(str(subject), vals)
        if how == "P":
            given["To"] = address
        data = template.render(edit, given)
        head, _, body = data.partition(b"\n\n")
        reverse = bounces.envelope_sender(ctx, listname, address) if verp else post.sender
        yield reverse, [address], streams.Pieces(
            head + b"\n", headers.unsubscribe_fields(ctx, listname, address) + b"\n", body,
            eight_bit=post.eight_bit)


def folder_copy(ctx, post, data: bytes) -> bytes:
    """data (a merged post as a folder gets it) with its place-holders filled for a folder,
    which everyone on the list reads: the recipient is the list itself (%%A its address,
    %%N its name), and %%K (a cookie is personal) and %%R are left empty."""
    listname = post.listname
    subject = messages.parse(post.head + b"\n").get("Subject") or ""
    fields = ("Subject",) if placeholders.wanted(subject) else ()
    template = personalise.Template(data, wanted=placeholders.wanted, fields=fields)
    letters = placeholders.used(subject, *(text for _, text in template.texts)) - {"K", "R"}
    address = lists.address(ctx.config, listname)
    vals = dict(placeholders.values(ctx, listname, address, listname, letters), K="", R="")
    given = {"Subject": placeholders.substitute(str(subject), vals)} if template.fields else {}
    return template.render(lambda text, subtype: placeholders.substitute(text, vals, subtype), given)

