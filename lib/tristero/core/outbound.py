"""The outbound lint gate: a message in the form every standard MTA takes, checked once
per distinct message before its files are written.

lint(head, body) reads a message (its header block, LF line ends, and its body) and
returns a Verdict: the message repaired where it can be (a second Subject or
Message-ID dropped, the first kept; a part with a line over 998 octets, or 8-bit text
labelled us-ascii, re-encoded in quoted-printable, or base64 for what is not text; a
field in raw 8-bit text written again in encoded words), each repair named by its
rule; or the rule that refuses it (a broken encoded word, a header line over 998
octets); and whether its data is
8-bit (BODY=8BITMIME in the envelope). The body is read in pieces and not copied
unless a part must be re-encoded.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from dataclasses import dataclass, field

from tristero.core import messages, streams

MAX_LINE = 998          # octets of a line, its CR LF aside (RFC 5321 4.5.3.1.6)
MAX_LOCAL = 64          # octets of an envelope address's local part (RFC 5321 4.5.3.1.1)
MAX_PARTS = 1000        # parts a repaired message may have (it was read once within MaxParts)

# Fields a message has at most once (RFC 5322 3.6).
SINGLE = frozenset(("date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id",
                    "in-reply-to", "references", "subject"))

DUPLICATE, ENCODED_WORD, LONG_LINE, MISLABELLED, HEADER_LINE, HEADER_8BIT, VERP = (
    "duplicate field", "broken encoded word", "line over 998 octets", "8-bit body labelled us-ascii",
    "header line over 998 octets", "8-bit header", "VERP local part over 64 octets")

# What looks like an encoded word, and what one must be (RFC 2047 2, 4, 5).
_LOOKS = re.compile(rb"=\?[^?\s]*\?[^?\s]*\?[^\s]*?\?=|=\?[^?\s]+\?[bBqQ]\?[^?\s]*(?=\s|$)")
_WORD = re.compile(rb"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_Q = re.compile(rb"(?:[!->@-~]|=[0-9A-Fa-f]{2})*")


@dataclass
class Verdict:
    head: bytes
    body: bytes | memoryview
    repairs: list[tuple[str, str]] = field(default_factory=list)   # (rule, what was done)
    refusal: tuple[str, str] | None = None                          # (rule, why)
    eight_bit: bool = False


def lint(head: bytes, body: bytes | memoryview) -> Verdict:
    """The gate's verdict on the message head + body (see the module's text)."""
    v = Verdict(head, body)
    fields = messages.raw_headers(head)
    seen, kept = set(), []
    for name, raw in fields:
        lname = name.lower()
        if lname in SINGLE and lname in seen:
            v.repairs.append((DUPLICATE, "a second %s field dropped, the first kept" % name))
            continue
        seen.add(lname)
        if not raw.isascii():
            # Decoded and written again in RFC 2047 encoded words, as a post's fields are.
            raw = messages.ascii_field(name, raw)
            v.repairs.append((HEADER_8BIT, "the %s field written again in ASCII" % name if raw else
                              "a field whose name is not ASCII dropped"))
            if not raw:
                continue
        kept.append(raw)
        if any(len(line) > MAX_LINE for line in raw.rstrip(b"\n").split(b"\n")):
            v.refusal = (HEADER_LINE, "a line of the %s field is longer than %d octets" % (name, MAX_LINE))
            return v
        why = _broken_word(raw.partition(b":")[2])
        if why:
            v.refusal = (ENCODED_WORD, "the %s field has a broken encoded word: %s" % (name, why))
            return v
    if v.repairs:
        v.head = b"".join(kept)
    long_line, eight_bit = _scan(body)
    mislabelled = eight_bit and _says_ascii(v.head)
    if long_line or mislabelled or (eight_bit and _multipart(v.head)):
        repaired = _reencode(v.head, body)
        if repaired is not None:
            v.head, v.body, done = repaired
            v.repairs += done
            long_line, eight_bit = _scan(v.body)
    if long_line:
        v.refusal = (LONG_LINE, "a line of the body is longer than %d octets and no part holds it" % MAX_LINE)
        return v
    v.eight_bit = eight_bit
    return v


def verp_problem(sender: str) -> str | None:
    """Why an envelope sender cannot go out (a local part over 64 octets), or None."""
    local = sender.rpartition("@")[0]
    if len(local.encode("utf-8", "replace")) > MAX_LOCAL:
        return "the local part of %s is longer than %d octets" % (sender, MAX_LOCAL)
    return None


def _broken_word(value):
    """Why an encoded word in a field's value does not decode, or None."""
    for found in _LOOKS.finditer(value):
        word = _WORD.fullmatch(found.group())
        if not word:
            return "%r is not an encoded word" % found.group()[:60].decode("ascii", "replace")
        charset, kind, text = word.group(1).decode("ascii"), word.group(2).upper(), word.group(3)
        try:
            codecs.lookup(charset)
        except LookupError:
            return "%s is no charset" % charset[:60]
        try:
            if kind == b"B":
                data = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
            else:
                if not _Q.fullmatch(text):
                    raise ValueError("not quoted-printable")
                data = quopri.decodestring(text.replace(b"_", b" "), header=False)
            data.decode(charset)
        except (ValueError, binascii.Error, UnicodeDecodeError, LookupError):
            return "%r does not decode" % found.group()[:60].decode("ascii", "replace")
    return None


def _scan(body):
    """(a line over MAX_LINE octets, 8-bit bytes) in body, read in pieces."""
    long_line = eight_bit = False
    for chunk in streams.chunks((body,)):
        if not eight_bit and not chunk.isascii():
            eight_bit = True
        if not long_line and len(chunk) > MAX_LINE:
            long_line = max(map(len, chunk.replace(b"\r", b"\n").split(b"\n"))) > MAX_LINE
        if long_line and eight_bit:
            break
    return long_line, eight_bit


_CONTENT_TYPE = re.compile(rb"^content-type:([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.M)


def _content_type(head):
    found = _CONTENT_TYPE.search(head)
    return found.group(1).decode("ascii", "replace").lower() if found else ""


def _multipart(head):
    return "multipart/" in _content_type(head)


def _says_ascii(head):
    """True when the message's one part is text whose charset is us-ascii (said, or
    meant by saying none)."""
    ctype = _content_type(head)
    if "multipart/" in ctype or (ctype.strip() and "text/" not in ctype):
        return False
    charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", ctype)
    return charset is None or charset.group(1) in ("us-ascii", "ascii", "ansi_x3.4-1968")


def _reencode(head, body):
    """(head, body, repairs) with each part that holds a line over MAX_LINE octets, or
    8-bit text labelled us-ascii, re-encoded; None when the message does not read."""
    try:
        msg = messages.read(head + b"\n" + bytes(body), MAX_PARTS)
    except Exception:
        return None
    done = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        # The part as it travels: 8-bit text is what its (identity) encoding decodes to.
        raw = part.get_payload(decode=False)
        raw = raw.encode("ascii") if isinstance(raw, str) and raw.isascii() else part.get_payload(decode=True) or b""
        long_line = any(len(line) > MAX_LINE for line in raw.replace(b"\r", b"\n").split(b"\n"))
        cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
        text = part.get_content_maintype() == "text"
        mislabelled = text and not raw.isascii() and cte in ("7bit", "8bit", "binary") \
            and (part.get_param("charset") or "us-ascii").lower() in ("us-ascii", "ascii")
        if not long_line and not mislabelled:
            continue
        data = part.get_payload(decode=True) or b""
        del part["Content-Transfer-Encoding"]
        if text:
            if mislabelled:
                # Said to be ASCII, it is not: read as UTF-8, else as its bytes suggest.
                data = messages.decode_header_bytes(data).encode("utf-8")
                part.set_param("charset", "utf-8")
            part.set_payload(quopri.encodestring(data).decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
            how = "quoted-printable"
        else:
            part.set_payload(base64.encodebytes(data).decode("ascii"))
            part["Content-Transfer-Encoding"] = "base64"
            how = "base64"
        done.append((MISLABELLED if mislabelled else LONG_LINE,
                     "a %s part re-encoded in %s%s" % (part.get_content_type(), how,
                                                       ", its charset said as utf-8" if mislabelled else "")))
    if not done:
        return None
    data = messages.serialize(msg)
    new_head, _, new_body = data.partition(b"\n\n")
    return new_head + b"\n", new_body, done
