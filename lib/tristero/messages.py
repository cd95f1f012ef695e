"""Messages: reading inbound mail's parts and text, and making the mail Tristero sends."""

import email
import email.utils
import hashlib
import html.parser
import mimetypes
import re
from email import policy
from email.message import EmailMessage

import chardet

# Fields of a message read from mail are written back as they came (refold_source):
# folding one again would parse it, in time that grows with the square of its size.
POLICY = policy.default.clone(linesep="\n", max_line_length=78, refold_source="none")
# Parsing must never raise on hostile input: defects are recorded, not thrown.
PARSE_POLICY = policy.default.clone(linesep="\n", raise_on_defect=False)

_ADDRESS_RE = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+")


def parse(raw, like=None):
    """raw bytes as an EmailMessage; never raises on hostile input (see read for the
    bounds inbound mail is read within). like: a message read from the same bytes,
    whose fields, parsed once, serve again."""
    guarded = like is not None and isinstance(like.policy, _GuardedPolicy)
    return email.message_from_bytes(raw, policy=like.policy if guarded else _Guard(0, checked=False).policy)


# What a header's raw value may hold before decoding: decoding is quadratic in
# the number of encoded words, and no header Tristero reads needs more.
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

    def __init__(self, reason, rule):
        super().__init__(reason)
        self.rule = rule


def field_problem(name, value):
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
        if self.checked:
            self.parts += 1
            if self.max_parts and self.parts > self.max_parts:
                raise TooManyParts("more than %d MIME parts" % self.max_parts, "MaxParts")
            self.block = 0
        return EmailMessage(policy=policy or self.policy)

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


def read(raw, max_parts):
    """raw inbound mail as an EmailMessage, read within the bounds above and at most
    max_parts MIME parts (the message itself and every part and message in it
    count; 0: no limit) nested at most MAX_DEPTH deep. Raises Unreadable (the
    reason is the message) before the parser parses a field beyond the bounds,
    TooManyParts before it makes one part too many (or when the parts are nested
    too deep); either way what was read is dropped."""
    # The parser holds a header block's lines before it hands out a field: the
    # message's own is measured first (a part's are, field by field, by the guard).
    if _HEADER_LINES.match(raw, 0, MAX_HEADER + 1).end() > MAX_HEADER:
        raise Unreadable("its header is over %d bytes" % MAX_HEADER)
    guard = _Guard(max_parts)
    msg = email.message_from_bytes(raw, policy=guard.policy)
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
    return msg


def clean(value, limit=998):
    """A header value safe to reuse: one line, no control characters, bounded, and
    no encoded word left: the email package would decode "=?...?=" again when the
    value is set into a header (a second level of RFC 2047 could carry CR/LF and
    forge header lines, CVE-2024-6923), so "=?" becomes "= ?"."""
    text = "" if value is None else str(value)
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", text)
    return " ".join(text.split())[:limit].replace("=?", "= ?")


def header(msg, name):
    """A header's decoded value, cleaned (see clean); "" when absent or unreadable."""
    want = name.lower()
    try:
        for key, raw in msg.raw_items():
            if key.lower() == want:
                return clean(msg.policy.header_fetch_parse(key, str(raw)[:HEADER_LIMIT]))
    except Exception:
        return ""
    return ""


def message_id_text(value):
    """value as a Message-ID to put in In-Reply-To or References, or "" when it is not one."""
    value = (value or "").strip()
    if re.fullmatch(r"<[!-;=?-~]{1,250}>", value) and "=?" not in value:
        return value
    return ""


def is_address(text):
    """True when text is a plain mail address local@domain (no name, no brackets),
    in ASCII (the export spool does not offer SMTPUTF8)."""
    return bool(text) and len(text) <= 254 and text.isascii() and bool(_ADDRESS_RE.fullmatch(text))


def addresses(msg, *names):
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


def first_address(msg, name):
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


def html_to_text(text):
    # html.parser rescans the rest of the text for every "<" that opens no tag,
    # which is quadratic: such a "<" is made text first.
    text = re.sub(r"<(?![^<>]{0,1000}>)", "&lt;", text)
    p = _Text()
    p.feed(text)
    p.close()
    return "".join(p.parts)


def decode_part(part, notes=None):
    """The text of a text/* part: declared charset first, chardet for undeclared 8-bit."""
    try:
        data = part.get_payload(decode=True) or b""
    except Exception:
        data = b""
    charset = part.get_content_charset()
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            if notes is not None:
                notes.append("declared charset %s does not fit the text" % clean(charset, 40))
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        pass
    guess = chardet.detect(data[:65536])
    encoding = guess.get("encoding") or "utf-8"
    confidence = guess.get("confidence") or 0
    if confidence < 0.5:
        # A weak guess is worse than the commonest undeclared 8-bit charset.
        encoding = "windows-1252"
    if notes is not None:
        notes.append("charset guessed by chardet: %s (confidence %.2f)%s"
                     % (guess.get("encoding"), confidence,
                        "; read as windows-1252" if confidence < 0.5 else ""))
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def body_text(msg, notes=None):
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

    def __init__(self, domain, now):
        self.domain = domain
        self.now = now
        self.seed = "0"
        self.n = 0

    def start(self, key):
        self.seed = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]
        self.n = 0

    def next(self):
        self.n += 1
        # Zero-padded, so that name order is the order of writing.
        return "%s.%05d" % (self.seed, self.n)

    def message_id(self, token):
        return "<%s.%s@%s>" % (self.now.strftime("%Y%m%d%H%M%S"), token, self.domain)

    def file_name(self, token):
        return "%d.T%s.tristero" % (int(self.now.timestamp()), token)


def new_message(frm, to, subject, text, now, message_id, headers=()):
    """A text/plain UTF-8 message (an EmailMessage) ready for serialize()."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = clean(subject)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id
    for name, value in headers:
        msg[name] = clean(value)
    plain = text.isascii() and all(len(l) <= 998 for l in text.splitlines())
    # Readable as it stands where it can be; quoted-printable only when needed.
    msg.set_content(text, charset="utf-8", cte="7bit" if plain else "quoted-printable")
    return msg


_FIELD_LINE = re.compile(rb"[!-9;-~]+:|[ \t]")


def serialize(msg):
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


def file_type(name, data):
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


def transfer_encoding(maintype, data):
    """7bit for ASCII text in lines SMTP carries as they are, else base64."""
    if maintype == "text" and data.isascii() and b"\r" not in data and b"\x00" not in data \
            and all(len(line) <= 998 for line in data.split(b"\n")):
        return "7bit"
    return "base64"


def attach(msg, files):
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


def fix_boundaries(msg):
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


def split_raw(raw):
    """(header block, body) of raw message bytes, line ends made LF."""
    raw = raw.replace(b"\r\n", b"\n")
    cut = raw.find(b"\n\n")
    if cut < 0:
        return raw if raw.endswith(b"\n") else raw + b"\n", b""
    return raw[:cut + 1], raw[cut + 2:]


def raw_headers(block):
    """[(name, raw bytes of the whole field)] of a header block, in order."""
    fields = []
    for line in block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
        elif b":" in line:
            fields.append([line.split(b":", 1)[0].strip().decode("ascii", "replace"), line])
    return fields
