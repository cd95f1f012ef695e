"""DMARC mitigation (RFC 7960): a post whose author's domain asks receivers to refuse
or quarantine mail it did not send goes out in the list's name.

The list's ``DmarcMitigation``:

* ``munge`` (the default): when the author domain's policy (policy.dmarc) is
  quarantine or reject, From becomes ``"Author Name via LIST" <LIST@Domain>``,
  the author is kept in an RFC 9057 ``Author:`` field, and in Reply-To or Cc
  as the list's reply type says (reply_fields);
* ``wrap``: under the same policies, the post goes out as a ``message/rfc822``
  attachment, unchanged, of a message from the list (From as munge makes it)
  with a short text saying why;
* ``always``: every post munged, whatever the policy (no look-up);
* ``none``: From as the author wrote it.

Only what members receive changes: the archive, and the digests made from it,
keep the author's own From.
"""

from __future__ import annotations

import hashlib
from email import headerregistry

from tristero.core import messages
from tristero.model import lists, logbook
from tristero.policy import dmarc

MUNGE, WRAP, ALWAYS, NONE = "munge", "wrap", "always", "none"
MODES = (MUNGE, WRAP, ALWAYS, NONE)
NAME_LIMIT = 60     # characters of the author's name kept in the munged From
CHUNK = 1 << 20     # bytes of a wrapped post's body checked at a time

# Reply types whose Reply-To already names the poster (posting.reply_to), and those
# where it is the poster's own Reply-To or none: the author is in Reply-To then.
_POSTER_NAMED = ("PosterPlus", "ListPlus")
_POSTER_ONLY = ("Poster", "Forwarded")
# Fields of the original left out of the attached copy: the site's mail server wrote
# them for its own delivery, and a password never leaves (redact.public took the rest).
_TRACE = {"return-path", "delivered-to", "x-original-to", "envelope-to", "approved", "approve"}
_CONTENT = ("content-", "mime-version")


def mitigate(ctx, post) -> None:
    """Apply the list's DmarcMitigation to post (its head, and with wrap its body)."""
    listname, m = post.listname, post.m
    mode = ctx.config.list_value(listname, "DmarcMitigation")
    if mode == NONE:
        return
    if m.author_recovered:
        # No domain to look up, and a From without an address is refused by many receivers.
        why = "the From field names no address (its author was read from the text)"
    elif mode == ALWAYS:
        why = "DmarcMitigation = always"
    else:
        found = dmarc.policy(ctx, m.author)
        ctx.log.log(logbook.ACTION, "  DMARC policy of %s: %s (%s)" % (found.domain, found.policy, found.why))
        if not found.strict:
            return
        why = "DMARC %s: %s" % (found.policy, found.why)
    if mode == WRAP:
        post.head, post.body = wrapped(ctx, post)
        ctx.act("post sent on attached to a message from %s" % listname, why)
    else:
        post.head = munged(ctx, post, post.head)
        ctx.act("From of the post is %s's%s" % (listname, "" if m.author_recovered else ", the author in Author:"),
                why)


def from_list(ctx, listname: str, name: str, author: str) -> bytes:
    """The munged From field: "Author Name via LIST" <LIST@Domain> (author "": LIST)."""
    who = messages.clean(name, NAME_LIMIT) or author.replace("@", " at ")
    local, _, domain = lists.address(ctx.config, listname).rpartition("@")
    return _address_field("From", "%s via %s" % (who, listname) if who else listname, local, domain)


def munged(ctx, post, head: bytes) -> bytes:
    """head with the list's From, the author in Author: and in Reply-To or Cc; an
    author read from the text (nothing proves it) in none of them."""
    m, listname = post.m, post.listname
    if m.author_recovered:
        return b"".join([from_list(ctx, listname, "", "")] + [
            raw for field, raw in messages.raw_headers(head) if field.lower() != "from"])
    name = _author_name(head, m)
    # Written as an address field is (RFC 9057): an encoded word never holds the address.
    local, _, domain = m.author.rpartition("@")
    # The author's mailbox, ASCII, folded inside (never at its start: a fold there
    # after "Cc: a@b.example," would end the header with a blank line).
    value = b" " + _address_field("From", name, local, domain)[5:].strip() + b"\n"
    author = b"Author:" + value
    where = reply_fields(ctx, post)
    out, has_reply_to, has_cc = [from_list(ctx, listname, name, m.author) + author], False, False
    for field, raw in messages.raw_headers(head):
        low = field.lower()
        if low == "from":
            continue
        if low == "author":
            continue            # the poster's own claim: replaced by ours
        if low == "reply-to":
            has_reply_to = True
        if low == "cc" and where == "Cc":
            has_cc = True
            if m.author.lower().encode() not in raw.lower():
                raw = raw.rstrip(b"\r\n") + b",\n" + value
        out.append(raw)
    if where == "Reply-To" and not has_reply_to:
        out.append(b"Reply-To:" + value)
    elif where == "Cc" and not has_cc:
        out.append(b"Cc:" + value)
    return b"".join(out)


def _author_name(head: bytes, m) -> str:
    """The author's name as the From field of head has it (a name sent in raw 8-bit
    text was decoded there, see messages.ascii_field), else as the pipeline read it."""
    for name, raw in messages.raw_headers(head):
        if name.lower() == "from":
            found = messages.addresses(messages.parse(raw + b"\n"), "From")
            if len(found) == 1 and found[0][1] == m.author:
                return messages.clean(found[0][0], 200)
    return messages.clean(m.author_name, 200)


def reply_fields(ctx, post) -> str:
    """Where the author goes, so that a reply still reaches them: "Reply-To" for the
    reply types that leave Reply-To to the poster (Poster, Forwarded, and a
    privileged poster's OverRideSubject), "" for those whose Reply-To names the
    poster already (PosterPlus, ListPlus), "Cc" for those that send replies
    elsewhere (List, Owner, Tristero, a fixed address): "reply" goes there, "reply
    all" reaches the author too."""
    kind = "Poster" if post.override is not None else ctx.config.list_value(post.listname, "Reply")
    if kind in _POSTER_ONLY:
        return "Reply-To"
    if kind in _POSTER_NAMED:
        return ""
    return "Cc"


def wrapped(ctx, post) -> tuple[bytes, bytes]:
    """(head, body) of a message from the list that carries the post, unchanged, as a
    message/rfc822 attachment (RFC 7960 4.1.3): its header fields as members get them
    (the list's From, Subject prefix, List-*), its content a text saying why, then
    the post as it came (but for the site's delivery fields and passwords)."""
    m, listname = post.m, post.listname
    outer = b"".join(raw for name, raw in messages.raw_headers(post.head)
                     if not name.lower().startswith(_CONTENT))
    block, body = messages.split_view(m.raw)
    inner = b"".join(raw for name, raw in messages.raw_headers(block) if name.lower() not in _TRACE)
    boundary = _boundary(m.raw)
    text = ctx.text("dmarc.wrapped", None, list=listname, author=m.author,
                    domain=m.author.rpartition("@")[2]) + "\n"
    data = text.encode("utf-8")
    eight_bit = not (inner.isascii() and all(bytes(body[i:i + CHUNK]).isascii()
                                             for i in range(0, len(body), CHUNK)))
    head = munged(ctx, post, outer) + (
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"%s\"\n" % boundary).encode("ascii")
    parts = b"".join((
        b"This is a message in MIME format.\n\n--", boundary.encode(), b"\n",
        b"Content-Type: text/plain; charset=utf-8\n",
        b"Content-Transfer-Encoding: ", b"7bit" if data.isascii() else b"8bit", b"\n\n", data,
        b"\n--", boundary.encode(), b"\n",
        b"Content-Type: message/rfc822\nContent-Disposition: inline\n",
        b"Content-Transfer-Encoding: 8bit\n" if eight_bit else b"", b"\n",
        inner, b"\n", body, b"" if bytes(body[-1:]) == b"\n" else b"\n",
        b"\n--", boundary.encode(), b"--\n"))
    return head, parts


def _boundary(raw: bytes) -> str:
    """A MIME boundary found nowhere in raw (made from its hash: the same post, the same
    boundary)."""
    n = 0
    while True:
        boundary = "=_tristero_" + hashlib.sha256(raw + str(n).encode()).hexdigest()[:24]
        if boundary.encode() not in raw:
            return boundary
        n += 1


def _address_field(field: str, name: str, local: str, domain: str) -> bytes:
    """An address field of one mailbox, its name quoted or in RFC 2047 encoded words as
    it needs, folded; the address itself never encoded."""
    policy = messages.POLICY
    mailbox = headerregistry.Address(display_name=name, username=local, domain=domain)
    return policy.header_factory(field, str(mailbox)).fold(policy=policy).encode("ascii")
