"""The fields every mail of a list carries: Sender, List-* (RFC 2369, RFC 2919, RFC 8058),
Precedence and X-Loop."""

import email.charset
import string
from urllib.parse import quote

from tristero.core import messages
from tristero.model import lists, oneclick
from tristero.policy import rights


def list_fields(ctx, listname):
    """The fields every mail of a list carries (posts, digests): Sender, List-* (RFC 2369,
    RFC 2919, without List-Unsubscribe), Precedence and X-Loop, as bytes."""
    cfg = ctx.config
    list_addr = lists.address(cfg, listname)
    local = lists.local_part(listname)
    description = messages.clean(cfg.raw(lists.section(listname), "Description") or listname, 200)
    list_id = ".".join(p for p in local.replace("_", "-").split(".") if p)
    robot = ctx.robot_address()
    fields = [
        ("Sender", "owner-%s@%s" % (local, ctx.domain)),
        ("List-Id", "%s <%s.%s>" % (_phrase(description), list_id, ctx.domain)),
        ("List-Help", "<mailto:%s?subject=help>" % robot),
        ("List-Subscribe", "<mailto:%s-request@%s?subject=subscribe>" % (local, ctx.domain)),
        ("List-Post", "<mailto:%s>" % list_addr if not rights.posts_closed(cfg.list_value(listname, "Type"))
         else "NO"),
        ("List-Owner", "<mailto:%s-owner@%s>" % (local, ctx.domain)),
        ("Precedence", "list"),
        ("X-Loop", list_addr),
    ]
    if cfg.globals("ArchiveURL"):
        fields.append(("List-Archive", "<%s>" % _url(cfg.globals("ArchiveURL").replace("{list}", local))))
    return b"".join(_list_field(n, v) for n, v in fields)


def _list_field(name, value):
    """A field of ASCII we built (List-*, RFC 2369/2919), folded only at its spaces.

    Never through the email package's folding: that turns a URL longer than a
    line into encoded words, which no mail client reads as a link.
    """
    lines = [name + ":"]
    for word in value.split():
        # Never between the name and the first word (a one-click link is longer than a line).
        if len(lines[-1]) + 1 + len(word) > 78 and lines[-1].strip() and lines[-1] != name + ":":
            lines.append("")
        lines[-1] += " " + word
    return ("\n".join(lines) + "\n").encode("ascii", "replace")


_SPECIALS = set('()<>[]:;@\\,."')


def _phrase(text):
    """text as the display-name phrase of List-Id: as it is, quoted, or in encoded words."""
    if not text.isascii():
        utf8 = email.charset.Charset("utf-8")
        # Short pieces keep each encoded word under RFC 2047's 75 characters.
        return " ".join(utf8.header_encode(text[i:i + 10]) for i in range(0, len(text), 10))
    if _SPECIALS & set(text):
        return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')
    return text


def _url(url):
    """A configured URL made ASCII (any non-ASCII character percent-encoded)."""
    return quote(url, safe=string.punctuation)


def unsubscribe_fields(ctx, listname, address):
    """List-Unsubscribe (RFC 2369): with UnsubscribeURL, the recipient's own signed
    one-click link (oneclick.link: a URL that names a recipient without proof would let
    anyone unsubscribe anyone) before the mailto form, and with an https URL
    List-Unsubscribe-Post (RFC 8058).

    address None: a copy for many (a digest): the mailto form only.
    """
    local = lists.local_part(listname)
    value = "<mailto:%s-request@%s?subject=unsubscribe>" % (local, ctx.domain)
    url = ctx.config.globals("UnsubscribeURL")
    out = b""
    if url and address is not None:
        link = oneclick.link(_url(url), ctx.cookie_key(), listname, address, ctx.now.date())
        value = "<%s>, %s" % (link, value)
        if url.startswith("https:"):
            out = _list_field("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    return _list_field("List-Unsubscribe", value) + out
