"""Personal copies of one message: the message made once into a Template, each
recipient's copy rendered from it by substituting in the decoded text of its text
parts and in chosen header fields (mail merge, DISTRIBUTE MAIL-MERGE, mailings).

Encoding-safe: a text part a substitution may change (wanted(text) says which) is
written once, in the template, as UTF-8 quoted-printable, whatever its charset and
transfer encoding were, so that a value in any script fits and a place-holder inside
a base64 or quoted-printable part is found in the decoded text. An attachment (a part
with Content-Disposition: attachment) is never touched. The message is parsed and
written once; a copy costs the substitution and the encoding of the changed parts.

    t = Template(raw, wanted=lambda text: "%%" in text, fields=("To", "Subject"))
    copy = t.render(lambda text, subtype: text.replace("%%N", name),
                    {"To": address, "Subject": subject})
"""

import html
import quopri
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from email.errors import HeaderParseError
from email.headerregistry import Address

from tristero.core import messages

# {{COLUMN}}: a column of a recipient table (DISTRIBUTE MAIL-MERGE, mailings).
FIELD = re.compile(r"\{\{([A-Za-z0-9_-]{1,64})\}\}")


def quoting(subtype: str) -> Callable[[str], str]:
    """How a value is put into a text part of subtype: escaped in HTML, as it is elsewhere."""
    return html.escape if subtype == "html" else str


def columns(text: str) -> set[str]:
    """The column names (upper case) text's {{COLUMN}} fields use."""
    return {m.upper() for m in FIELD.findall(text)}


def fill(text: str, values: Mapping[str, str], subtype: str = "plain") -> str:
    """text with each {{COLUMN}} replaced by values[COLUMN] (column names in upper case;
    a column not in values left as it is; in HTML, the value escaped)."""
    quote = quoting(subtype)
    return FIELD.sub(lambda m: quote(values.get(m.group(1).upper(), m.group(0))), text)


def _disposition(part) -> str:
    return (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()


def recipient(name: str, address: str) -> str:
    """A To: value naming address as name ("Name <address>"), for fold: the name left
    as text (fold writes its RFC 2047 words; formataddr's own, folded again, came out
    as "= ?utf-8?q?...", which no reader decodes)."""
    name = messages.clean(name)
    try:
        return str(Address(display_name=name, addr_spec=address)) if name else address
    except (ValueError, HeaderParseError):
        return address          # an address the parser will not take: without the name


def fold(name: str, value: str) -> bytes:
    """One header field, name: value, as Tristero writes it: RFC 2047 words where the
    value is not ASCII, folded, LF line end."""
    value = messages.clean(value)
    try:
        return messages.POLICY.header_factory(name, value).fold(policy=messages.POLICY).encode("ascii")
    except Exception:
        # Not readable as the structured field its name says (an address field with no
        # address): written as text.
        return messages.ascii_field(name, ("%s: %s\n" % (name, value)).encode("utf-8"))


class Template:
    """raw (a message's bytes) made ready for render(): the text parts wanted(text)
    picks (default: every one) and the header fields named in fields are left open."""

    def __init__(self, raw: bytes, wanted: Callable[[str], bool] = lambda text: True,
                 fields: Iterable[str] = ()):
        msg = messages.parse(raw)
        token = "tristero-personalise-" + secrets.token_hex(16)   # in no message by chance
        self.texts: list[tuple[str, str]] = []    # (subtype, decoded text) of each open part
        marks: dict[bytes, tuple[str, object]] = {}
        for part in msg.walk():
            if part.is_multipart() or part.get_content_maintype() != "text" or _disposition(part) == "attachment":
                continue
            text = messages.decode_part(part)
            if not wanted(text):
                continue
            mark = "%s-part-%d" % (token, len(self.texts))
            self.texts.append((part.get_content_subtype(), text))
            marks[mark.encode("ascii")] = ("part", len(self.texts) - 1)
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "quoted-printable"
            part.set_param("charset", "utf-8")
            part.set_payload(mark)
        self.fields = tuple(fields)
        for name in self.fields:
            mark = "%s-field-%d" % (token, len(marks))
            del msg[name]
            msg[name] = mark
            marks[("%s: %s\n" % (name, mark)).encode("ascii")] = ("field", name)
        data = messages.serialize(msg)
        # The bytes between the marks, and what goes in each mark's place, in order.
        self._pieces: list[bytes | tuple[str, object]] = []
        while True:
            found = [(data.find(m), m) for m in marks if data.find(m) >= 0]
            if not found:
                break
            at, mark = min(found)
            self._pieces += [data[:at], marks.pop(mark)]
            data = data[at + len(mark):]
        self._pieces.append(data)

    def render(self, edit: Callable[[str, str], str] | None = None, fields: Mapping[str, str] | None = None) -> bytes:
        """One copy: each open part's text as edit(text, subtype) makes it (None: as it
        was), each open field with its value from fields (a field left out: not written)."""
        fields = fields or {}
        out = []
        for piece in self._pieces:
            if isinstance(piece, bytes):
                out.append(piece)
            elif piece[0] == "part":
                subtype, text = self.texts[piece[1]]
                text = edit(text, subtype) if edit else text
                out.append(quopri.encodestring(text.replace("\r\n", "\n").encode("utf-8")))
            elif piece[1] in fields:
                out.append(fold(piece[1], fields[piece[1]]))
        return b"".join(out)
