"""DKIM signing (RFC 6376) of every outbound message, with dkimpy, as it is written.

``[DKIM] Selector`` and ``KeyFile`` set: each message that goes into the export spool
gets a DKIM-Signature field on top (relaxed/relaxed; the fields of SIGNED that it
carries, each signed once more than it occurs so that none can be added, and those of
SIGNED_ABSENT that it lacks signed as absent). The body
hash is computed as the message is written (LF lines, a bare CR a line end, as the
export spool carries it) and kept for the last body seen, so a post sent in many
envelopes, or with a header of its own per recipient, hashes its body once.

The key is a secret: it is read from KeyFile, which must be a plain file readable by
its owner only; it never reaches a log or a reply. ``t=`` is the run's clock, so the
same input and the same ``--now`` give the same files.

ARC (RFC 8617) sealing uses the same key: ``seal``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import re
import stat
import subprocess
from collections.abc import Iterable, Iterator

import dkim
from dkim import crypto as dkim_crypto
from dkim.canonicalization import CanonicalizationPolicy

try:        # dkimpy's extras (dkimpy[ARC,ed25519]): ARC needs authres, ed25519 PyNaCl
    import authres
except ImportError:
    authres = None
try:
    import nacl.encoding
    import nacl.exceptions
    import nacl.signing
except ImportError:
    nacl = None

from tristero.core import streams
from tristero.model.config import Config
from tristero.model.site import Site

ALGORITHMS = ("rsa-sha256", "ed25519-sha256")
RSA_BITS = 2048

# The fields signed when present (RFC 8058 §4 asks for List-Unsubscribe and -Post; RFC
# 6376 5.4.1 for those that say where a reply goes and how the body reads).
SIGNED = ("From", "To", "Subject", "Date", "Message-ID", "Reply-To", "Cc", "In-Reply-To", "References",
          "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Id", "List-Unsubscribe",
          "List-Unsubscribe-Post")
# Of those, the ones signed even when absent (named once in h=: none may be added on the
# way): a Reply-To or a Content-Type added to a signed copy would pass otherwise. No mail
# server adds them (unlike Date, Message-ID or To, which a server may supply).
SIGNED_ABSENT = ("Subject", "Reply-To", "Cc", "In-Reply-To", "References", "MIME-Version", "Content-Type",
                 "Content-Transfer-Encoding", "List-Unsubscribe", "List-Unsubscribe-Post")

_CANON = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
# A blank line, line ends read as the export spool writes them (CR LF, a bare CR, LF).
_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


class KeyProblem(Exception):
    """The DKIM key cannot be used (missing, readable by others, not a key)."""


class SealError(Exception):
    """dkimpy could not seal a message with ARC."""


def configured(config: Config) -> bool:
    """True when [DKIM] asks for signing (Selector and KeyFile set)."""
    return bool(config.get("DKIM", "Selector") and config.get("DKIM", "KeyFile"))


def key_path(site: Site, config: Config) -> str:
    """KeyFile, relative to the site's folder unless absolute."""
    return os.path.join(site.home, os.path.expanduser(config.get("DKIM", "KeyFile")))


def read_key(path: str) -> bytes:
    """The key file's bytes; KeyProblem when it is missing, not a plain file, or readable
    or writable by anyone but its owner (a secret)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        raise KeyProblem("KeyFile %s cannot be read: %s" % (path, e.strerror or e)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyProblem("KeyFile %s is not a plain file" % path)
        if st.st_mode & 0o077:
            raise KeyProblem("KeyFile %s is readable by others (mode %o): the key is a secret; "
                            "chmod 600 %s" % (path, stat.S_IMODE(st.st_mode), path))
        with os.fdopen(fd, "rb") as f:
            fd = None
            return f.read(65536)
    finally:
        if fd is not None:
            os.close(fd)


class Signer:
    """Signs messages for one domain and selector with one key."""

    def __init__(self, domain: str, selector: str, key: bytes, algorithm: str,
                 now: datetime.datetime) -> None:
        self.domain = domain.encode("ascii")
        self.selector = selector.encode("ascii")
        self.algorithm = algorithm.encode("ascii")
        self.key_bytes = key
        self.timestamp = int(now.timestamp())
        if algorithm == "rsa-sha256":
            try:
                self.pk = dkim_crypto.parse_pem_private_key(key)
            except (dkim_crypto.UnparsableKeyError, ValueError, IndexError) as e:
                raise KeyProblem("the key is not an RSA private key in PEM form (%s)" % str(e).split("\n")[0]) \
                    from None
            if self.pk["modulus"].bit_length() < 1024:
                raise KeyProblem("the RSA key has fewer than 1024 bits")
        elif nacl is None:
            raise KeyProblem("ed25519-sha256 needs PyNaCl (pip install 'dkimpy[ed25519]')")
        else:
            try:
                self.pk = nacl.signing.SigningKey(b"".join(key.split()), encoder=nacl.encoding.Base64Encoder)
            except (nacl.exceptions.ValueError, nacl.exceptions.TypeError, ValueError):
                raise KeyProblem("the key is not an ed25519 private key (32 octets in base64)") from None
        self._last_body = None      # (the body's pieces, their hash): a post hashes its body once
        self.signed = 0

    @classmethod
    def from_config(cls, site: Site, config: Config, now: datetime.datetime) -> Signer | None:
        """The site's signer, or None when [DKIM] is not set; KeyProblem when its key is bad."""
        if not configured(config):
            return None
        return cls(config.get("DKIM", "Domain") or config.globals("Domain"), config.get("DKIM", "Selector"),
                   read_key(key_path(site, config)), config.get("DKIM", "Algorithm"), now)

    # --- the public key, as DNS publishes it ---

    def public_record(self) -> str:
        """The TXT record to publish at SELECTOR._domainkey.DOMAIN."""
        if self.algorithm == b"ed25519-sha256":
            return "v=DKIM1; k=ed25519; p=%s" % base64.b64encode(bytes(self.pk.verify_key)).decode("ascii")
        return "v=DKIM1; k=rsa; p=%s" % base64.b64encode(_spki(self.pk)).decode("ascii")

    def matches(self, record: str) -> bool:
        """True when a published TXT record holds this key's public half."""
        tags = dict((k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in record.split(";")))
        if tags.get("k", "rsa") != self.algorithm.decode().split("-")[0] or not tags.get("p"):
            return False
        if self.algorithm == b"ed25519-sha256":
            return "".join(tags["p"].split()) == base64.b64encode(bytes(self.pk.verify_key)).decode("ascii")
        try:
            pub = dkim_crypto.parse_public_key(base64.b64decode("".join(tags["p"].split())))
        except Exception:
            return False
        return pub["modulus"] == self.pk["modulus"] and pub["publicExponent"] == self.pk["publicExponent"]

    # --- signing ---

    def sign(self, data: bytes | streams.Pieces) -> bytes | streams.Pieces:
        """data with a DKIM-Signature field on top."""
        head, body = _split(data)
        field = self.signature(head, self._body_hash(body))
        self.signed += 1
        if isinstance(data, streams.Pieces):
            return streams.Pieces(field, *data.pieces)
        return field + data

    def signature(self, head: bytes, body_hash: bytes) -> bytes:
        """The DKIM-Signature field (LF lines) for a header block and a body hash."""
        headers = _fields(head)
        present = [name.lower() for name, _ in headers]
        include = []
        for name in SIGNED:
            n = present.count(name.lower().encode("ascii"))
            if n or name in SIGNED_ABSENT:
                include += [name.lower().encode("ascii")] * (n + 1)
        signer = dkim.DKIM(linesep=b"\n", signature_algorithm=self.algorithm)
        signer.headers = headers
        signer.hasher = hashlib.sha256
        fields = [(b"v", b"1"), (b"a", self.algorithm), (b"c", b"relaxed/relaxed"), (b"d", self.domain),
                  (b"s", self.selector), (b"t", str(self.timestamp).encode("ascii")),
                  (b"h", b" : ".join(include)), (b"bh", base64.b64encode(body_hash)), (b"b", b"0" * 60)]
        value = signer.gen_header(fields, include, _CANON, b"DKIM-Signature", self.pk)
        return b"DKIM-Signature: " + value.replace(b"\r\n", b"\n")

    def _body_hash(self, body: tuple) -> bytes:
        last = self._last_body
        if last is not None and len(last[0]) == len(body) and all(a is b for a, b in zip(last[0], body)):
            return last[1]
        digest = body_hash(body)
        self._last_body = (body, digest)
        return digest

    # --- ARC ---

    def seal(self, message: bytes, authserv_id: str) -> bytes:
        """The ARC set (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, LF
        lines) that seals message with the results of authserv_id; b"" when dkimpy finds
        nothing to seal."""
        if authres is None:
            raise SealError("ARC needs the authres package (pip install 'dkimpy[ARC]')")
        if self.algorithm != b"rsa-sha256":
            raise SealError("ARC signs with rsa-sha256 only (RFC 8617), the key is %s"
                            % self.algorithm.decode())
        try:
            fields = dkim.arc_sign(message.replace(b"\r\n", b"\n"), self.selector, self.domain, self.key_bytes,
                                   authserv_id.encode("ascii"), timestamp=self.timestamp,
                                   linesep=b"\n")
        except (dkim.DKIMException, ValueError, UnicodeError) as e:
            raise SealError("%s: %s" % (type(e).__name__, str(e).split("\n")[0])) from None
        return b"".join(fields)


_NAME = re.compile(rb"([!-9;-~]+):")


def _fields(head: bytes) -> list[list[bytes]]:
    """[name, value with CR LF line ends] of a header block, as dkimpy reads one; a line
    that is neither a field nor a continuation (mail is hostile) is passed over: no
    signed field is among such lines, and one bad line must not stop the signature."""
    fields = []
    for line in head.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if fields:
                fields[-1][1] += line + b"\r\n"
            continue
        found = _NAME.match(line)
        if found:
            fields.append([found.group(1), line[found.end():] + b"\r\n"])
    return fields


def _split(data):
    """(header block, body pieces) of a message given as bytes or Pieces: the body pieces
    are the message's own objects where the header ends at a piece's end (a post)."""
    pieces = data.pieces if isinstance(data, streams.Pieces) else (data,)
    head = b""
    for i, piece in enumerate(pieces):
        probe = bytes(piece[:1 << 20])
        found = _END.search(head + probe)
        if found is None and len(probe) < len(piece):
            probe = bytes(piece)
            found = _END.search(head + probe)
        if found:
            cut = found.end() - len(head)
            rest = (memoryview(piece)[cut:],) if cut < len(piece) else ()
            return (head + probe)[:found.end()], rest + tuple(pieces[i + 1:])
        head += probe
    return head, ()


def body_hash(pieces: Iterable[bytes | memoryview]) -> bytes:
    """SHA-256 of the body in relaxed canonical form (RFC 6376 3.4.4), the body read as
    the export spool writes it (streams.stuffed: CR LF and a bare CR made LF)."""
    h = hashlib.sha256()
    for chunk in _relaxed_lines(streams.stuffed(pieces)):
        h.update(chunk)
    return h.digest()


def _relaxed_lines(stuffed: Iterator[bytes]) -> Iterator[bytes]:
    """The canonical body, in CR LF lines, of a dot-stuffed LF body; empty lines at the end
    left out."""
    pending = b""       # a line not ended yet
    blanks = 0          # empty lines held back (they count only if more text follows)
    for chunk in stuffed:
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if not cut:
            continue
        block = re.sub(rb"(?m)^\.", b"", data[:cut])
        block = re.sub(rb"[ \t]+\n", b"\n", re.sub(rb"[ \t]+", b" ", block))
        text = block.rstrip(b"\n")
        if not text:
            blanks += len(block)
            continue
        yield b"\r\n" * blanks + text.replace(b"\n", b"\r\n") + b"\r\n"
        blanks = len(block) - len(text) - 1
    if pending:
        yield from _relaxed_lines(iter([pending + b"\n"]))


def _spki(pk) -> bytes:
    """The DER SubjectPublicKeyInfo of an RSA key (what DKIM's p= carries)."""
    def der(tag, content):
        n = len(content)
        if n < 0x80:
            length = bytes([n])
        else:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
            length = bytes([0x80 | len(raw)]) + raw
        return bytes([tag]) + length + content

    def integer(value):
        raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
        return der(0x02, raw)

    rsa = der(0x30, integer(pk["modulus"]) + integer(pk["publicExponent"]))
    algorithm = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b""))
    return der(0x30, algorithm + der(0x03, b"\x00" + rsa))


def generate(path: str, algorithm: str = "rsa-sha256") -> bytes:
    """A new private key written to path (mode 0600, never over an existing file); its bytes."""
    if algorithm == "ed25519-sha256":
        if nacl is None:
            raise KeyProblem("ed25519-sha256 needs PyNaCl (pip install 'dkimpy[ed25519]')")
        out = nacl.signing.SigningKey.generate().encode(encoder=nacl.encoding.Base64Encoder) + b"\n"
    else:
        try:
            out = subprocess.run(["openssl", "genrsa", str(RSA_BITS)], capture_output=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise KeyProblem("openssl genrsa failed: %s" % e) from None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(out)
    return out
