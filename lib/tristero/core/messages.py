"""Messages: reading inbound mail's parts and text, and making the mail Tristero sends."""

from __future__ import annotations

import binascii
import codecs
import datetime
import email
import email.header
import email.utils
import hashlib
import html.parser
import mimetypes
import re
import secrets
from collections.abc import Iterable
from email import policy
from email.message import EmailMessage

import chardet

# Fields of a message read from mail are written back as they came (refold_source):
# folding one again would parse it, in time that grows with the square of its size.
POLICY = policy.default.clone(linesep="\n", max_line_length=78, refold_source="none")
# Parsing must never raise on hostile input: defects are recorded, not thrown.
PARSE_POLICY = policy.default.clone(linesep="\n", raise_on_defect=False)

_ADDRESS_RE = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@"
                         r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+")


def parse(raw: bytes, like: EmailMessage | None = None) -> EmailMessage:
    """raw bytes as an EmailMessage; never raises on hostile input (see read for the
    bounds inbound mail is read within). like: a message read from the same bytes,
    whose fields, parsed once, serve again."""
    guarded = like is not None and isinstance(like.policy, _GuardedPolicy)
    return email.message_from_bytes(raw, policy=like.policy if guarded else _Guard(0, checked=False).policy)


# What a header's raw value may hold before decoding: decoding is quadratic in
# the number of encoded words, and no header Tristero reads needs more.
# Fields a receiving MTA adds for its own delivery (trace of one mailbox's copy): never
# passed on in a post, never kept in an archive.
MTA_TRACE = frozenset(("return-path", "delivered-to", "x-original-to", "envelope-to", "delivery-date"))

HEADER_LIMIT = 4096
# Text read for commands and filters (an HTML part is turned to text first).
TEXT_LIMIT = 1 << 20
HTML_LIMIT = 256 << 10


# --- what one message may make the parser do ---
#
# The email package reads a structured header field (addresses, Content-Type)
# in time that grows with the square of its size, and each encoded word
# ("=?...?=") costs it more: a From of 8,000 encoded words takes 919 MB, one of
# 100,000 (1.4 MB of mail) 24 GB. It also reads the Content-* fields of every
# part, again and again, as it walks the parts. So inbound mail is read (see
# read) within these bounds, checked on each field as it comes out of the
# message, before anything in it is parsed; a message beyond them is not read
# at all (it goes whole to spool/failed/). No mail a person sends comes near them.
MAX_FIELD = 64 << 10           # bytes of one header field, name and folded lines included
MAX_ENCODED_WORDS = 200        # "=?" in one header field
MAX_HEADER = 256 << 10         # bytes of one header block (the message's, or a part's)
MAX_MIME_FIELD = 4 << 10       # bytes of one Content-* field (the package parses those itself)
MIME_SHORT = 256               # a Content-* field of more bytes is long: those are counted ...
MAX_MIME_LONG = 64 << 10       # ... and all together may hold this many bytes
MAX_DEPTH = 64                 # parts in parts (or messages in messages): no deeper


class Unreadable(ValueError):
    """A message whose header is beyond the bounds above: the reason is the message."""


class TooManyParts(ValueError):
    """A message of more MIME parts than the limit given to read (rule "MaxParts"), or of
    parts nested deeper than MAX_DEPTH (rule "MIME nesting"): the reason is the message."""

    def __init__(self, reason: str, rule: str) -> None:
        super().__init__(reason)
        self.rule = rule


def field_problem(name: str, value: str | bytes) -> str | None:
    """Why a header field is not given to the parser (beyond MAX_FIELD, MAX_ENCODED_WORDS
    or MAX_MIME_FIELD), or None. name: str; value: the field as written (str or bytes)."""
    what = "header field %s" % clean(name, 40)
    size = len(value)
    if size > MAX_FIELD:
        return "%s is %d bytes (at most %d are read)" % (what, size, MAX_FIELD)
    if size > MAX_MIME_FIELD and name.strip().lower().startswith("content-"):
        return "%s is %d bytes (at most %d are read)" % (what, size, MAX_MIME_FIELD)
    words = value.count(b"=?" if isinstance(value, bytes) else "=?")
    if words > MAX_ENCODED_WORDS:
        return "%s holds %d encoded words (at most %d are read)" % (what, words, MAX_ENCODED_WORDS)
    return None


class _GuardedPolicy(policy.EmailPolicy):
    """The parsing policy of one message (see _Guard): every header field passes the
    guard as the parser takes it out of the message, before anything parses it, and
    a field's parsed form is made once (the package asks for a part's Content-Type
    once for every part of it it reads, and again at every walk)."""

    guard = None

    def header_source_parse(self, sourcelines):
        self.guard.field(sourcelines)
        return super().header_source_parse(sourcelines)

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        key = (name, value)
        found = self.guard.parsed.get(key)
        if found is None:
            found = self.guard.parsed[key] = super().header_fetch_parse(name, value)
        return found


class _Guard:
    """What reading one message costs so far: parts made, bytes of the header block
    being read, bytes of Content-* fields; raises Unreadable or TooManyParts as soon
    as a bound is passed (when checked; otherwise it only keeps the parsed fields)."""

    def __init__(self, max_parts, checked=True):
        self.max_parts = max_parts
        self.checked = checked
        self.parts = 0
        self.block = 0
        self.mime = 0
        self.parsed = {}
        self.policy = _PARSE_GUARDED.clone(guard=self, message_factory=self.part)

    def part(self, policy=None):
        self.count()
        return EmailMessage(policy=policy or self.policy)

    def count(self):
        """One part more: TooManyParts past max_parts."""
        if self.checked:
            self.parts += 1
            if self.max_parts and self.parts > self.max_parts:
                raise TooManyParts("more than %d MIME parts" % self.max_parts, "MaxParts")
            self.block = 0

    def field(self, lines):
        if not self.checked:
            return
        value = "".join(lines)
        name = value.split(":", 1)[0]
        self.block += len(value)
        if len(value) > MIME_SHORT and name.strip().lower().startswith("content-"):
            self.mime += len(value)
        problem = field_problem(name, value)
        if problem is None and self.block > MAX_HEADER:
            problem = "a header block is over %d bytes" % MAX_HEADER
        if problem is None and self.mime > MAX_MIME_LONG:
            problem = "its Content-* fields of over %d bytes hold over %d bytes together" % (
                MIME_SHORT, MAX_MIME_LONG)
        if problem:
            raise Unreadable(problem)


_PARSE_GUARDED = _GuardedPolicy(linesep="\n", raise_on_defect=False)
# The header block as the parser reads it (email.feedparser's headerRE): the lines up
# to the first that is neither a field, a continuation nor a Unix From line.
_HEADER_LINES = re.compile(rb"(?:(?:From |[!-9;-~]*:|[ \t])[^\n]*(?:\n|\Z))*")


def read(raw: bytes, max_parts: int, like: EmailMessage | None = None) -> EmailMessage:
    """raw inbound mail as an EmailMessage, read within the bounds above and at most
    max_parts MIME parts (the message itself and every part and message in it
    count; 0: no limit) nested at most MAX_DEPTH deep. Raises Unreadable (the
    reason is the message) before the parser parses a field beyond the bounds,
    TooManyParts before it makes one part too many (or when the parts are nested
    too deep); either way what was read is dropped. A message over BIG_MESSAGE
    keeps the bodies of its big parts in raw (see _BigPart): a 50 MB attachment
    costs no more than the inbound bytes themselves. like: a message read from
    the same bytes, whose fields, parsed once, serve again."""
    # The parser holds a header block's lines before it hands out a field: the
    # message's own is measured first (a part's are, field by field, by the guard).
    if _HEADER_LINES.match(raw, 0, MAX_HEADER + 1).end() > MAX_HEADER:
        raise Unreadable("its header is over %d bytes" % MAX_HEADER)
    guard = _Guard(max_parts)
    if like is not None and isinstance(like.policy, _GuardedPolicy):
        guard.parsed = like.policy.guard.parsed
    source, spans, mark = raw, None, None
    if len(raw) > BIG_MESSAGE:
        mark = "X-Tristero-Part-%s" % secrets.token_hex(8)
        out, spans = [], []
        _skeleton(raw, 0, len(raw), out, spans, mark.encode(), guard=_Guard(max_parts))
        source = b"".join(out)
    msg = email.message_from_bytes(source, policy=guard.policy)
    guard.checked = False
    # Deeper, a message could not be written again (the package recurses for each level).
    deepest, todo = 0, [(msg, 0)]
    while todo:
        part, depth = todo.pop()
        deepest = max(deepest, depth)
        if part.is_multipart():
            todo.extend((sub, depth + 1) for sub in part.get_payload())
    if deepest > MAX_DEPTH:
        raise TooManyParts("parts nested %d deep (at most %d)" % (deepest, MAX_DEPTH), "MIME nesting")
    if spans:
        _leave_in_raw(msg, raw, spans, mark)
    return msg


def clean(value: object, limit: int = 998) -> str:
    """A header value safe to reuse: one line, no control characters, bounded, and
    no encoded word left: the email package would decode "=?...?=" again when the
    value is set into a header (a second level of RFC 2047 could carry CR/LF and
    forge header lines, CVE-2024-6923), so "=?" becomes "= ?"."""
    text = scrub("" if value is None else str(value))
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", text)
    return " ".join(text.split())[:limit].replace("=?", "= ?")


def header(msg: EmailMessage, name: str) -> str:
    """A header's decoded value, cleaned (see clean); "" when absent or unreadable."""
    want = name.lower()
    try:
        for key, raw in msg.raw_items():
            if key.lower() == want:
                return clean(msg.policy.header_fetch_parse(key, mail_words(str(raw)[:HEADER_LIMIT])))
    except Exception:
        return ""
    return ""


def message_id_text(value: str | None) -> str:
    """value as a Message-ID to put in In-Reply-To or References, or "" when it is not one."""
    value = (value or "").strip()
    if re.fullmatch(r"<[!-;=?-~]{1,250}>", value) and "=?" not in value:
        return value
    return ""


def is_address(text: str) -> bool:
    """True when text is a plain mail address local@domain (no name, no brackets),
    in ASCII (the export spool does not offer SMTPUTF8)."""
    return bool(text) and len(text) <= 254 and text.isascii() and bool(_ADDRESS_RE.fullmatch(text))


def addresses(msg: EmailMessage, *names: str) -> list[tuple[str, str]]:
    """Every (name, address) in the named headers, as written (bad entries skipped).

    The fields are split as written (email.utils.getaddresses, in time linear in
    their size; the email package's own address parser takes the square of it),
    and only then is each name's encoded words decoded."""
    values = []
    try:
        fields = list(msg.raw_items())
    except Exception:
        return []
    for n in names:
        values += [re.sub(r"[\r\n]+", "", str(raw))[:MAX_FIELD] for key, raw in fields if key.lower() == n.lower()]
    try:
        found = email.utils.getaddresses(values)
    except Exception:       # RecursionError: thousands of nested comments
        return []
    out = []
    for realname, addr in found:
        addr = addr.strip()
        if is_address(addr):
            out.append((clean(_decoded(msg, realname[:1000]), 200), addr))
    return out


def _decoded(msg, text):
    """text with its encoded words decoded (as the fields Tristero reads are)."""
    if "=?" not in text:
        return text
    try:
        return str(msg.policy.header_fetch_parse("Subject", text))
    except Exception:
        return text


def first_address(msg: EmailMessage, name: str) -> tuple[str, str]:
    found = addresses(msg, name)
    return found[0] if found else ("", "")


# --- text of a message ---

class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3", "pre"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in ("p", "div", "tr", "li", "pre"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(text: str) -> str:
    # html.parser rescans the rest of the text for every "<" that opens no tag,
    # which is quadratic: such a "<" is made text first.
    text = re.sub(r"<(?![^<>]{0,1000}>)", "&lt;", text)
    p = _Text()
    p.feed(text)
    p.close()
    return "".join(p.parts)


# The charsets mail is written in, by the canonical name codecs.lookup gives
# (so every alias of one is one). Not in it: codecs that are no charset (utf-7,
# whose "+...-" hides any text, unicode_escape, raw_unicode_escape, punycode,
# idna, undefined, charmap and the bytes-to-bytes ones), EBCDIC and Palm OS,
# in which plain ASCII reads as other text, and whatever a library registers.
MAIL_CHARSETS = frozenset("""
    ascii utf-8 utf-8-sig utf-16 utf-16-be utf-16-le utf-32 utf-32-be utf-32-le
    iso8859-1 iso8859-2 iso8859-3 iso8859-4 iso8859-5 iso8859-6 iso8859-7 iso8859-8 iso8859-9
    iso8859-10 iso8859-11 iso8859-13 iso8859-14 iso8859-15 iso8859-16
    cp1250 cp1251 cp1252 cp1253 cp1254 cp1255 cp1256 cp1257 cp1258 cp874
    cp437 cp720 cp737 cp775 cp850 cp852 cp855 cp856 cp857 cp858 cp860 cp861 cp862 cp863 cp864
    cp865 cp866 cp869 cp1006 cp1125
    koi8-r koi8-t koi8-u kz1048 ptcp154 tis-620 hp-roman8
    mac-arabic mac-croatian mac-cyrillic mac-farsi mac-greek mac-iceland mac-latin2 mac-roman
    mac-romanian mac-turkish
    big5 big5hkscs cp950 gb2312 gbk gb18030 hz euc_kr cp949 johab
    euc_jp euc_jis_2004 euc_jisx0213 shift_jis shift_jis_2004 shift_jisx0213 cp932
    iso2022_jp iso2022_jp_1 iso2022_jp_2 iso2022_jp_2004 iso2022_jp_3 iso2022_jp_ext iso2022_kr
    """.split())


def mail_charset(name: str) -> str | None:
    """The codec of a charset named in mail (its canonical name), or None when the
    name is not a mail charset (see MAIL_CHARSETS)."""
    try:
        codec = codecs.lookup(name)
    except Exception:
        return None
    return codec.name if codec.name in MAIL_CHARSETS else None


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """text with each lone surrogate (which no file can hold) made U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


# An encoded word's charset (RFC 2047, with RFC 2231's *language).
_WORD_CHARSET = re.compile(r"=\?([^?*\s]{1,60})(\*[^?\s]*)?\?")


def mail_words(value: str) -> str:
    """A raw header value whose encoded words in no mail charset are marked
    unknown-8bit: the email package then reads them as the bytes they are."""
    if "=?" not in value:
        return value
    return _WORD_CHARSET.sub(
        lambda w: w.group(0) if mail_charset(w.group(1)) else "=?unknown-8bit?", value)


def decode_part(part: EmailMessage, notes: list[str] | None = None) -> str:
    """The text of a text/* part: declared charset first, chardet for undeclared 8-bit.

    Only a mail charset is believed (see MAIL_CHARSETS); another is noted and
    the text read as undeclared. The text never holds a lone surrogate.
    """
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        data = b""
    charset = part.get_content_charset()
    if charset:
        codec = mail_charset(charset)
        if codec is None:
            if notes is not None:
                notes.append("declared charset %s is not a mail charset: read as undeclared text"
                             % clean(charset, 40))
        else:
            try:
                return scrub(data.decode(codec))
            except UnicodeDecodeError:
                if notes is not None:
                    notes.append("declared charset %s does not fit the text" % clean(charset, 40))
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        pass
    guess = chardet.detect(data[:65536])
    encoding = mail_charset(guess.get("encoding") or "utf-8")
    confidence = guess.get("confidence") or 0
    if confidence < 0.5 or encoding is None:
        # A weak guess is worse than the commonest undeclared 8-bit charset.
        encoding = "windows-1252"
    if notes is not None:
        notes.append("charset guessed by chardet: %s (confidence %.2f)%s"
                     % (guess.get("encoding"), confidence,
                        "; read as windows-1252" if encoding == "windows-1252" else ""))
    return scrub(data.decode(encoding, "replace"))


def body_text(msg: EmailMessage, notes: list[str] | None = None) -> str:
    """The readable text of a message: its first text/plain part, else its HTML as text."""
    plain = html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
        if plain is not None:
            break
    if plain is not None:
        return decode_part(plain, notes)[:TEXT_LIMIT]
    if html is not None:
        return html_to_text(decode_part(html, notes)[:HTML_LIMIT])
    return ""


# --- outbound ---

class Ids:
    """Message-IDs and spool names, derived from what is being answered, so that a
    batch run again with the same --now writes the same files."""

    def __init__(self, domain: str, now: datetime.datetime) -> None:
        self.domain = domain
        self.now = now
        self.seed = "0"
        self.n = 0

    @staticmethod
    def seed_of(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]

    def start(self, key: str) -> None:
        self.seed = self.seed_of(key)
        self.n = 0

    def next(self) -> str:
        self.n += 1
        # Zero-padded, so that name order is the order of writing.
        return "%s.%05d" % (self.seed, self.n)

    def message_id(self, token: str) -> str:
        return "<%s.%s@%s>" % (self.now.strftime("%Y%m%d%H%M%S"), token, self.domain)

    def file_name(self, token: str) -> str:
        return "%d.T%s.tristero" % (int(self.now.timestamp()), token)


def new_message(frm: str, to: str, subject: str, text: str, now: datetime.datetime, message_id: str,
                headers: Iterable[tuple[str, str]] = ()) -> EmailMessage:
    """A text/plain UTF-8 message (an EmailMessage) ready for serialize()."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = clean(subject)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id
    for name, value in headers:
        msg[name] = clean(value)
    text = scrub(text)
    plain = text.isascii() and all(len(l) <= 998 for l in text.splitlines())
    # Readable as it stands where it can be; quoted-printable only when needed.
    msg.set_content(text, charset="utf-8", cte="7bit" if plain else "quoted-printable")
    return msg


_FIELD_LINE = re.compile(rb"[!-9;-~]+:|[ \t]")


def serialize(msg: EmailMessage) -> bytes:
    """The message as bytes with LF line ends (the form BSMTP files carry).

    Raises ValueError if its header holds a line that is neither a field nor
    a continuation: the last guard against a forged header line.
    """
    data = msg.as_bytes(policy=POLICY)
    head = data.split(b"\n\n", 1)[0]
    for line in head.split(b"\n"):
        if not _FIELD_LINE.match(line) or b"\r" in line:
            raise ValueError("refused to send a message with a broken header line %r" % line[:80])
    return data


# The types the standard library knows without the system's files: the same
# attachment gets the same Content-Type on every machine.
_TYPES = mimetypes.MimeTypes()


def file_type(name: str, data: bytes) -> tuple[str, str, dict[str, str]]:
    """(maintype, subtype, params) of a file sent as an attachment.

    Text goes as text/* with its charset declared (UTF-8 when it reads as
    such, else chardet's guess); text in no charset anyone can name goes as
    application/octet-stream, as does a name of no known type.
    """
    ctype, encoding = _TYPES.guess_type(name, strict=False)
    if ctype is None or encoding or "/" not in ctype:
        return "application", "octet-stream", {}
    maintype, subtype = ctype.split("/", 1)
    if maintype != "text":
        return maintype, subtype, {}
    try:
        data.decode("utf-8")
        charset = "utf-8"
    except UnicodeDecodeError:
        charset = (chardet.detect(data[:65536]).get("encoding") or "").lower()
    if not charset:
        return "application", "octet-stream", {}
    return maintype, subtype, {"charset": charset}


def transfer_encoding(maintype: str, data: bytes) -> str:
    """7bit for ASCII text in lines SMTP carries as they are, else base64."""
    if maintype == "text" and data.isascii() and b"\r" not in data and b"\x00" not in data \
            and all(len(line) <= 998 for line in data.split(b"\n")):
        return "7bit"
    return "base64"


def attach(msg: EmailMessage, files: Iterable[tuple[str, bytes]]) -> None:
    """Add files, [(name, bytes)], to msg as attachments named by RFC 2231: base64, but
    ASCII text that SMTP carries as it is goes as it is."""
    for name, data in files:
        maintype, subtype, params = file_type(name, data)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name,
                           params=params, cte=transfer_encoding(maintype, data))
        part = msg.get_payload()[-1]      # the part just added (not a list of all: n files, n² steps)
        del part["MIME-Version"]      # belongs to the message, not to its parts
        # The name in Content-Type too, for readers older than Content-Disposition.
        part.set_param("name", name)
    fix_boundaries(msg)


def fix_boundaries(msg: EmailMessage) -> None:
    """Give each multipart of msg that has none a boundary derived from its Message-ID,
    so that the same input and --now give the same bytes (the email package's are random).
    Messages inside (message/rfc822) keep theirs."""
    seed = str(msg.get("Message-ID", ""))
    todo, n = [msg], 0
    while todo:
        part = todo.pop()
        if part.get_content_maintype() != "multipart":
            continue
        n += 1
        if not part.get_boundary():
            digest = hashlib.sha256(("%s|%d" % (seed, n)).encode("utf-8", "replace")).hexdigest()
            part.set_boundary("=_" + digest[:30])
        todo.extend(reversed(list(part.iter_parts())))


def split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) of raw message bytes, line ends made LF."""
    raw = raw.replace(b"\r\n", b"\n")
    cut = raw.find(b"\n\n")
    if cut < 0:
        return raw if raw.endswith(b"\n") else raw + b"\n", b""
    return raw[:cut + 1], raw[cut + 2:]


def raw_headers(block: bytes) -> list[list]:
    """[(name, raw bytes of the whole field)] of a header block, in order."""
    fields = []
    for line in block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
        elif b":" in line:
            fields.append([line.split(b":", 1)[0].strip().decode("ascii", "replace"), line])
    return fields


_BLANK_LINE = re.compile(rb"\n\r?\n")


def split_view(raw: bytes) -> tuple[bytes, memoryview]:
    """(header block with LF line ends, body): like split_raw, but the body is a
    memoryview of raw (no copy of a big message), its line ends as they came."""
    found = _BLANK_LINE.search(raw)
    if found is None:
        block = raw.replace(b"\r\n", b"\n")
        return (block if block.endswith(b"\n") else block + b"\n"), memoryview(b"")
    return raw[:found.start() + 1].replace(b"\r\n", b"\n"), memoryview(raw)[found.end():]


_FIELD_NAME = re.compile(r"[!-9;-~]+")


def decode_header_bytes(data: bytes) -> str:
    """Raw 8-bit header text as text: UTF-8 first, else chardet's guess (as decode_part
    reads an undeclared body), windows-1252 when the guess is weak."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = chardet.detect(data)
    encoding = mail_charset(guess.get("encoding") or "")
    if encoding is None or (guess.get("confidence") or 0) < 0.5:
        encoding = "windows-1252"
    return scrub(data.decode(encoding, "replace"))


def ascii_field(name: str, raw: bytes) -> bytes:
    """A header field (raw: its bytes, name and line end included) as Tristero writes
    it: as it came when it is ASCII, else decoded (decode_header_bytes) and written
    again in RFC 2047 encoded words, folded; b"" for a field whose name is not ASCII."""
    if raw.isascii():
        return raw
    if not _FIELD_NAME.fullmatch(name):
        return b""
    value = decode_header_bytes(raw.split(b":", 1)[1][:HEADER_LIMIT * 4])
    try:
        return POLICY.header_factory(name, clean(value)).fold(policy=POLICY).encode("ascii")
    except Exception:
        # Not readable as the structured field its name says (an address field
        # with no address): kept as text.
        text = email.header.Header(clean(value), "utf-8", header_name=name).encode(linesep="\n")
        return ("%s: %s\n" % (name, text)).encode("ascii", "replace")


# --- big inbound mail ---

# A message up to BIG_MESSAGE is parsed whole. In a bigger one, a part's body
# over BIG_PART is not handed to the email package (whose parse holds about
# eight times what it reads): it keeps a first BIG_PART of it (the text that
# commands and filters read) and decodes the whole from the inbound bytes
# when asked (get_payload(decode=True): PUT, the archive's files).
BIG_MESSAGE = 4 << 20
BIG_PART = 1 << 20
_MAX_DEPTH = 50


class _BigPart(EmailMessage):
    """A part whose body was left in the inbound bytes (see parse_inbound)."""

    span = None     # (inbound bytes, start, end) of the body as it came

    def get_payload(self, i=None, decode=False):
        if not decode or self.span is None or self.is_multipart():
            return super().get_payload(i, decode)
        raw, start, end = self.span
        view = memoryview(raw)[start:end]
        cte = str(self.get("content-transfer-encoding", "")).strip().lower()
        try:
            if cte == "base64":
                return binascii.a2b_base64(view)
            if cte == "quoted-printable":
                return binascii.a2b_qp(bytes(view).replace(b"\r\n", b"\n"))
        except (binascii.Error, ValueError):
            return super().get_payload(i, decode)
        return bytes(view).replace(b"\r\n", b"\n")

    def set_payload(self, payload, charset=None):
        self.span = None
        super().set_payload(payload, charset)


def _delimiter(raw, delimiter, start, end):
    """Where the next line that is the delimiter (LF included) is, or -1."""
    at = raw.find(delimiter, start, end)
    while at >= 0 and raw[at + len(delimiter):at + len(delimiter) + 1] not in (b"", b"-", b" ", b"\t",
                                                                                  b"\r", b"\n"):
        at = raw.find(delimiter, at + 1, end)
    return at


def _skeleton(raw, start, end, out, spans, mark, depth=0, guard=None):
    """Append to out the entity raw[start:end] with each leaf body over BIG_PART cut to
    its first BIG_PART (at a line end) and its part marked (mark + number); spans
    gets the (start, end) of each cut body. Each part's header is read within the
    bounds, and the parts counted, by guard (see _Guard)."""
    if guard is None:
        guard = _Guard(0)
    guard.count()
    found = _BLANK_LINE.search(raw, start, end)
    if found is None or found.end() - start > 1 << 20:
        out.append(raw[start:end])
        return
    head = raw[start:found.start() + 1]
    body = found.end()
    part = email.message_from_bytes(head + b"\n", policy=_Guard(0).policy)    # bounded, see _Guard
    boundary = part.get_boundary() if part.get_content_maintype() == "multipart" else None
    if depth < _MAX_DEPTH and boundary:
        out.append(raw[start:body])
        delimiter = b"\n--" + boundary.encode("ascii", "replace")
        # From the LF before the body: a delimiter may be its first line.
        found = _delimiter(raw, delimiter, body - 1, end)
        if found < 0:
            out.append(raw[body:min(end, body + BIG_PART)])
            return
        out.append(raw[body:min(found, body + BIG_PART)])
        while found >= 0:
            line_end = raw.find(b"\n", found + 1, end)
            line_end = end if line_end < 0 else line_end + 1
            out.append(raw[found:line_end])
            if raw.startswith(delimiter + b"--", found):
                epilogue = raw[line_end:end]
                out.append(epilogue if len(epilogue) <= BIG_PART else epilogue[:BIG_PART])
                return
            nxt = _delimiter(raw, delimiter, line_end - 1, end)
            part_end = end if nxt < 0 else nxt
            if part_end > line_end:
                _skeleton(raw, line_end, part_end, out, spans, mark, depth + 1, guard)
            found = nxt
        return
    if depth < _MAX_DEPTH and part.get_content_type() == "message/rfc822":
        out.append(raw[start:body])
        _skeleton(raw, body, end, out, spans, mark, depth + 1, guard)
        return
    if end - body <= BIG_PART:
        out.append(raw[start:end])
        return
    cut = raw.rfind(b"\n", body, body + BIG_PART) + 1 or body + BIG_PART
    out.append(head + b"%s: %d\n\n" % (mark, len(spans)))
    out.append(raw[body:cut])
    spans.append((body, end))


# How many parts a message read again (archive, redaction) may have: it was read
# within MaxParts once already; this only bounds what a message refused for its
# parts costs when read again for its secrets.
READ_AGAIN_PARTS = 10000


def parse_inbound(raw: bytes, like: EmailMessage | None = None) -> EmailMessage:
    """raw read again as read reads inbound mail (the bounds, big bodies left in raw),
    at most READ_AGAIN_PARTS parts; see read for like and what it raises."""
    return read(raw, READ_AGAIN_PARTS, like)


def _leave_in_raw(msg, raw, spans, mark):
    """Make the parts _skeleton marked _BigParts whose bodies are read from raw."""
    for part in msg.walk():
        number = part.get(mark)
        if number is None:
            continue
        del part[mark]
        try:
            body_start, body_end = spans[int(str(number))]
        except (ValueError, IndexError):
            continue
        part.__class__ = _BigPart
        part.span = (raw, body_start, body_end)
