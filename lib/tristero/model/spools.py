"""The spools: inbound maildir, export spool of BSMTP files, failed maildir
(maildirs spool/in and spool/failed; BSMTP files in spool/out/new, written whole then renamed)."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable

from tristero.core import streams
from tristero.model import durable
from tristero.model.site import Site

# What may stand between the angle brackets of MAIL FROM / RCPT TO: one '@', a domain of
# dot-separated labels that begin with a letter or digit (exim -bS refuses a batch whose
# one RCPT TO is x@a..b, x@-a, x@a. or a@b@c: every recipient of the file would fail).
_ENVELOPE_RE = re.compile(r"[^\s<>\"(),;:\\\[\]@\x00-\x1f\x7f]+"
                          r"@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)*|")


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


def deliver_inbound(site: Site, data: bytes) -> str:
    """Put a message into spool/in/new as a maildir writer must (the web endpoint's command
    mail): written whole under a unique name in spool/in/tmp, fsynced, then moved to new/
    (a link, so that no file there is ever replaced) and the folder fsynced. Returns its name."""
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64] or "localhost"
    now = time.time()
    name = "%d.M%06dP%dR%s.%s" % (int(now), int(now % 1 * 1e6), os.getpid(), secrets.token_hex(8), host)
    tmp = os.path.join(site.inbox, "tmp", name)
    new = os.path.join(site.inbox, "new", name)
    durable.make_dirs(os.path.dirname(tmp))
    durable.make_dirs(os.path.dirname(new))
    try:
        durable.write_file(tmp, data)
        os.link(tmp, new)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    durable.fsync_dir(os.path.dirname(new))
    return name


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
    """One BSMTP file: the envelope, then the dot-stuffed message.

    MAIL FROM carries no parameter, not even BODY=8BITMIME for 8-bit data: Exim's
    ``exim -bS``, the common reader of BSMTP files, refuses every MAIL parameter
    ("501 malformed address: BODY=8BITMIME may not follow <...>"), while it takes
    8-bit data as it is. Delivery declares 8-bit data over SMTP (BsmtpFile.eight_bit).
    """
    head = ["MAIL FROM:<%s>" % sender]
    head.extend("RCPT TO:<%s>" % r for r in recipients)
    head.append("DATA")
    envelope = ("\n".join(head) + "\n").encode("ascii", "strict")
    if isinstance(stuffed, streams.Stream):
        return streams.Stream(lambda: itertools.chain((envelope,), stuffed.make(), (b".\nQUIT\n",)))
    return envelope + stuffed + b".\nQUIT\n"


class BsmtpFile:
    """A BSMTP file read back from the export spool."""

    def __init__(self, sender: str, recipients: list[str], data: bytes) -> None:
        self.sender = sender
        self.recipients = recipients
        self.data = data          # the message, unstuffed, LF lines

    @property
    def eight_bit(self) -> bool:
        """Its data is 8-bit: sent with BODY=8BITMIME (RFC 6152)."""
        return not self.data.isascii()

    @classmethod
    def parse(cls, raw: bytes) -> BsmtpFile:
        """Read a BSMTP file; raises ValueError when it is not one."""
        pos = 0
        sender = None
        recipients = []
        while True:
            end = raw.find(b"\n", pos)
            if end < 0:
                raise ValueError("no DATA line")
            line = raw[pos:end].rstrip(b"\r").decode("ascii", "replace")
            pos = end + 1
            upper = line.upper()
            if upper.startswith("MAIL FROM:"):
                sender = _angle(line[10:])
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
        return cls(sender, recipients, unstuff(body))


def _angle(text):
    text = text.strip()
    if text.startswith("<"):
        text = text[1:text.index(">")] if ">" in text else text[1:]
    return text.split()[0] if text.split() else ""
