"""The spools: inbound maildir, export spool of BSMTP files, failed maildir
(maildirs spool/in and spool/failed; BSMTP files in spool/out/new, written whole then renamed)."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable

from tristero.core import streams
from tristero.model.site import Site

# What may stand between the angle brackets of MAIL FROM / RCPT TO.
_ENVELOPE_RE = re.compile(r"[^\s<>\"(),;:\\\[\]\x00-\x1f\x7f]+@[A-Za-z0-9.-]+|")


def inbound(site: Site) -> list[str]:
    """Names of the messages in spool/in/new, oldest first (mtime, then name)."""
    folder = os.path.join(site.inbox, "new")
    entries = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                try:
                    entries.append((e.stat(follow_symlinks=False).st_mtime_ns, e.name))
                except FileNotFoundError:
                    continue
    except FileNotFoundError:
        return []
    entries.sort()
    return [name for _, name in entries]


def processed_name(name: str) -> str:
    """The name a processed message takes in a maildir's cur/ (flag: seen)."""
    base = name.split(":", 1)[0]
    return base + ":2,S"


def valid_envelope_address(address: str) -> bool:
    """True when address can go into MAIL FROM/RCPT TO as it is (empty: null sender).

    ASCII only: the export spool does not offer SMTPUTF8.
    """
    return address.isascii() and bool(_ENVELOPE_RE.fullmatch(address))


def dot_stuff(data: bytes | streams.Pieces) -> bytes | streams.Stream:
    """The message as BSMTP carries it: LF lines, '.' doubled at line starts, LF at the end.

    data is bytes, or streams.Pieces (a big post), for which a streams.Stream
    is returned that stuffs while it is written.

    A bare CR ends a line too, as mail software reads it (RFC 5321 forbids it
    in DATA): passed on, it could start a line with an unstuffed "." or a
    header field of its own behind the parser's back (SMTP smuggling).
    """
    if isinstance(data, streams.Pieces):
        # A big post: stuffed while it is written, never copied whole.
        return streams.Stream(lambda: streams.stuffed(data.pieces))
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    return re.sub(rb"(?m)^\.", b"..", data)


def unstuff(data: bytes) -> bytes:
    """Undo dot_stuff: the message as SMTP DATA should carry it (LF lines)."""
    return re.sub(rb"(?m)^\.\.", b".", data)


def bsmtp(sender: str, recipients: Iterable[str], stuffed: bytes | streams.Stream) -> bytes | streams.Stream:
    """One BSMTP file: the envelope, then the dot-stuffed message."""
    head = ["MAIL FROM:<%s>" % sender]
    head.extend("RCPT TO:<%s>" % r for r in recipients)
    head.append("DATA")
    envelope = ("\n".join(head) + "\n").encode("ascii", "strict")
    if isinstance(stuffed, streams.Stream):
        return streams.Stream(lambda: itertools.chain((envelope,), stuffed.make(), (b".\nQUIT\n",)))
    return envelope + stuffed + b".\nQUIT\n"


class BsmtpFile:
    """A BSMTP file read back from the export spool."""

    def __init__(self, sender: str, recipients: list[str], data: bytes, eight_bit: bool = False) -> None:
        self.sender = sender
        self.recipients = recipients
        self.data = data          # the message, unstuffed, LF lines
        self.eight_bit = eight_bit    # the MAIL FROM line says BODY=8BITMIME

    @classmethod
    def parse(cls, raw: bytes) -> BsmtpFile:
        """Read a BSMTP file; raises ValueError when it is not one."""
        pos = 0
        sender = None
        recipients = []
        eight_bit = False
        while True:
            end = raw.find(b"\n", pos)
            if end < 0:
                raise ValueError("no DATA line")
            line = raw[pos:end].rstrip(b"\r").decode("ascii", "replace")
            pos = end + 1
            upper = line.upper()
            if upper.startswith("MAIL FROM:"):
                sender = _angle(line[10:])
                eight_bit = "BODY=8BITMIME" in line[10:].rpartition(">")[2].upper().split()
            elif upper.startswith("RCPT TO:"):
                recipients.append(_angle(line[8:]))
            elif upper == "DATA":
                break
            elif line.strip():
                raise ValueError("unexpected line %r" % line[:80])
        if sender is None or not recipients:
            raise ValueError("no MAIL FROM or no RCPT TO")
        body = raw[pos:].replace(b"\r\n", b"\n")
        if body.endswith(b"\nQUIT\n"):
            body = body[:-5]
        if body == b".\n":
            body = b""
        elif body.endswith(b"\n.\n"):
            body = body[:-2]
        else:
            raise ValueError("no final '.' line")
        return cls(sender, recipients, unstuff(body), eight_bit)


def _angle(text):
    text = text.strip()
    if text.startswith("<"):
        text = text[1:text.index(">")] if ">" in text else text[1:]
    return text.split()[0] if text.split() else ""
