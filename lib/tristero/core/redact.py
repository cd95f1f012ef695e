"""Secrets never leave: passwords taken out of what the site keeps and sends.

A message may carry a password in an ``Approved:`` or ``Approve:`` field, in
Majordomo's first line of the body (``Approved: pw``, alone or before the real
message's header fields), in command lines (``PASSWORD pw``, ``SETPASS pw``,
the ``approve pw`` and ``password pw`` prefixes) and in Listserv's ``PW=pw``
arguments, in any text part, however encoded (base64, quoted-printable,
UTF-16). Two forms of a message are made here:

* stored(m): the message kept in ``spool/in/cur/``, each secret replaced by
  ``********`` and every other byte as it came where the encoding allows
  (a base64 or quoted-printable part that held one is encoded again);
* public(m): the post as members and the archive (so digests, GET and SEARCH)
  get it: no ``Approved:`` fields, no first-line approval.

Lines are read as the robot reads them (robot.parse): a command is at the
start of a line, after blanks and quote marks (and, in HTML, tags).
"""

from __future__ import annotations

import base64
import codecs
import copy
import quopri
import re
from email.message import EmailMessage

from tristero.core import messages

STARS = "********"

# The line breaks str.splitlines knows (the robot splits its text with it).
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINES = re.compile("[^%s]*(?:\r\n|[%s])?" % (_BREAKS, _BREAKS))
_BLANK = "(?:[^\\S%s]|&nbsp;|<[^<>%s]{0,200}>)" % (_BREAKS, _BREAKS)
# What may stand before a command on its line: blanks, quote marks, HTML tags.
_LEAD = re.compile("(?:[^\\w%s<&]|<[^<>%s]{0,200}>|&nbsp;|&gt;)*" % (_BREAKS, _BREAKS))
_SEP = re.compile(_BLANK + "+")
# A word as robot.tokenize reads it: "quoted parts" keep blanks inside.
_WORD = '(?:"[^"%s]*"?|(?!&nbsp;)[^\\s"<])+' % _BREAKS
_VERBS = "approve|password|passwd|setpass|pw%s+(?:add|rep)|pwc%s+(?:add|rep)%s+%s" % (
    _BLANK, _BLANK, _BLANK, _WORD)
_VERB_ARG = re.compile("(?i)(?:%s)[:=]?(%s+)(%s)" % (_VERBS, _BLANK, _WORD))
_VERB_ANYWHERE = re.compile("(?i)(?<!\\w)(?:%s)[:=]?(%s+)(%s)" % (_VERBS, _BLANK, _WORD))
# PROXY list LINE: LINE goes to a remote robot, its approve/password prefix too.
_PROXY = re.compile("(?i)proxy%s+%s%s+" % (_BLANK, _WORD, _BLANK))
_PW = re.compile("(?i)(?<![\\w=])(PW=)(%s)" % _WORD)
_APPROVED = re.compile("(?i)(approved?:%s*)([^%s]*[^\\s])" % (_BLANK, _BREAKS))
# Stateful charsets (ISO-2022, HZ) can write "approve" with escapes between its
# letters: a message in one is always read whole.
_MARKERS = re.compile(rb"(?i)approve|passw|setpass|pw=|pwc?[ \t]+(?:add|rep)|config|newinfo|newintro|mkdigest"
                      rb"|base64|quoted-printable|utf-?16|utf-?32|\xff\xfe|\xfe\xff"
                      rb"|2022|hz")
_FIELDS = ("approved", "approve")
# Majordomo's commands whose password is a later word: PASSWD list old new, and CONFIG
# list passwd ... (not CONFIG's own subcommands, whose words are no secrets).
_MAJORDOMO = re.compile("(?i)(?:passwd%s+%s%s+(%s)%s+(%s)|(?:config(?!%s+(?:attach|internetpolicysub|killadd|"
                        "killlist|putfile|security|sendfile)(?![^\\s\"<]))|newconfig|writeconfig|newinfo|newintro"
                        "|mkdigest)%s+%s%s+(%s))"
                        % (_BLANK, _WORD, _BLANK, _WORD, _BLANK, _WORD, _BLANK, _BLANK, _WORD, _BLANK, _WORD))
# A Majordomo configuration line that holds a password (in NEWCONFIG's text, refused there).
_CONFIG_PASSWORD = re.compile("(?i)((?:admin|approve)_passwd%s*=%s*)([^%s]*[^\\s])" % (_BLANK, _BLANK, _BREAKS))
_MAJORDOMO_ANYWHERE = re.compile("(?i)(?<!\\w)" + _MAJORDOMO.pattern[4:])


def _majordomo(pattern, line, pos=None):
    """line with the passwords of Majordomo's PASSWD and CONFIG-like commands starred
    (pos: where the command must start; None: anywhere)."""
    def star(m):
        out, at = m.group(0), m.start(0)
        for g in (3, 2, 1):
            if m.group(g) is not None:
                out = out[:m.start(g) - at] + STARS + out[m.end(g) - at:]
        return out
    if pos is None:
        return pattern.sub(star, line)
    m = pattern.match(line, pos)
    return line if not m else line[:m.start(0)] + star(m) + line[m.end(0):]


# --- lines ------------------------------------------------------------------------

def _line(line, first):
    """line with its secrets replaced (first: it may be Majordomo's Approved: line)."""
    line = _PW.sub(lambda m: m.group(1) + STARS, line)
    pos = _LEAD.match(line).end()
    line = _majordomo(_MAJORDOMO, line, pos)
    c = _CONFIG_PASSWORD.match(line, pos)
    if c:
        line = line[:c.start(2)] + STARS + line[c.end(2):]
    if first:
        a = _APPROVED.match(line, pos)
        if a:
            return line[:a.start(2)] + STARS + line[a.end(2):]
    while True:
        proxy = _PROXY.match(line, pos)
        pos = proxy.end() if proxy else pos
        v = _VERB_ARG.match(line, pos)
        if not v:
            return line
        line = line[:v.start(2)] + STARS + line[v.end(2):]
        pos = v.start(2) + len(STARS)
        s = _SEP.match(line, pos)
        if not s:
            return line
        pos = s.end()


def text(value: str, first: bool = True) -> str:
    """A text (a part's, decoded) with every secret of its command lines replaced; first:
    its first line that is not blank may be Majordomo's Approved: line."""
    out = []
    for line in _LINES.findall(value):
        if not line:
            continue
        if first and line.strip():
            out.append(_line(line, True))
            first = False
        else:
            out.append(_line(line, False))
    return "".join(out)


def subject(value: str) -> str:
    """A subject (a command, or an echo of one) without the secrets it holds, wherever in it."""
    if not value:
        return value
    value = _majordomo(_MAJORDOMO_ANYWHERE, _PW.sub(lambda m: m.group(1) + STARS, value))
    return _VERB_ANYWHERE.sub(lambda m: m.group(0)[:m.start(2) - m.start(0)] + STARS, value)


def has_secret(value: str) -> bool:
    return text(value) != value or subject(value) != value


# --- the raw message ----------------------------------------------------------------

def _split(raw):
    """(header block, the blank line, body) of raw bytes, as they are (CRLF kept)."""
    at = re.search(rb"\n(\r?\n)", raw)
    if at is None:
        return raw, b"", b""
    return raw[:at.start() + 1], at.group(1), raw[at.end():]


def _fields(block):
    """[(lower name, bytes of the whole field)] of a raw header block, line ends kept."""
    fields = []
    for line in block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
        else:
            fields.append([line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
                           if b":" in line else "", line])
    return fields


def _ending(field):
    return b"\r\n" if field.endswith(b"\r\n") else b"\n" if field.endswith(b"\n") else b""


def _header(block, drop):
    """The header block with Approved fields starred and a Subject that holds a secret
    rewritten (drop: the Approved fields left out, the Subject left as it is)."""
    out = []
    for name, field in _fields(block):
        if name in _FIELDS:
            if not drop:
                out.append(field.split(b":", 1)[0] + b": " + STARS.encode() + _ending(field))
            continue
        if name == "subject" and not drop:
            value = field.split(b":", 1)[1]
            decoded = _decoded_field(value)
            redacted = subject(decoded)
            if redacted != decoded:
                field = _subject_field(redacted) + _ending(field)
        out.append(field)
    return b"".join(out)


def _decoded_field(value):
    raw = value.decode("ascii", "surrogateescape").strip()
    try:
        decoded = str(messages.PARSE_POLICY.header_fetch_parse("Subject", messages.mail_words(raw)))
    except Exception:
        decoded = raw
    return messages.scrub(decoded)


def _subject_field(value):
    policy = messages.POLICY
    return policy.header_factory("Subject", messages.clean(value)).fold(policy=policy) \
        .rstrip("\n").encode("ascii", "replace")


def _codec(part, data):
    """The codec a text part's bytes are read in here: its charset's when it is a mail
    charset that reads them, UTF-16 by a byte order mark; else latin-1, which reads any
    byte as itself (commands are ASCII in every ASCII-compatible charset)."""
    charset = part.get_content_charset()
    codec = messages.mail_charset(charset) if charset else None
    if codec is None and data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        codec = "utf-16"
    if codec is None and not charset:
        codec = "utf-8"
    for name in (codec, "latin-1"):
        if name:
            try:
                return name, data.decode(name)
            except (UnicodeDecodeError, LookupError):
                continue
    return "latin-1", data.decode("latin-1")


def _encode(cte, data, newline):
    if cte == "base64":
        out = base64.encodebytes(data)
    else:
        out = quopri.encodestring(data)
    return out.replace(b"\n", newline) if newline != b"\n" else out


def _text_parts(msg):
    for part in msg.walk():
        if not part.is_multipart() and part.get_content_maintype() == "text":
            yield part


def _rewrite(raw, msg, edit):
    """raw with each text part's content replaced by edit(part, text, index) where that
    returns another text (None: as it is); every other byte as it was. None when a part
    to change cannot be found in raw (the caller serializes instead)."""
    out, pos, changed = [], 0, False
    for n, part in enumerate(_text_parts(msg)):
        if not isinstance(part.get_payload(), str):
            continue
        cte = part.get("Content-Transfer-Encoding", "").strip().lower()
        try:
            if cte in ("base64", "quoted-printable"):
                # The parser's own copy: get_payload() would decode stray 8-bit bytes lossily.
                encoded = getattr(part, "_payload", "").encode("ascii", "surrogateescape")
                data = part.get_payload(decode=True)
            elif "uu" in cte:
                continue
            else:
                # The bytes as they came (get_payload() would decode 8-bit text lossily).
                encoded = data = part.get_payload(decode=True)
        except Exception:
            continue
        if not encoded:
            continue
        name, value = _codec(part, data or b"")
        new = edit(part, value, n)
        if new is None or new == value:
            continue
        try:
            new_data = new.encode(name)
        except UnicodeEncodeError:
            continue
        if cte in ("base64", "quoted-printable"):
            new_data = _encode(cte, new_data, b"\r\n" if b"\r\n" in encoded else b"\n")
            if not encoded.endswith(b"\n"):
                new_data = new_data.rstrip(b"\r\n")
        at = _find_body(raw, encoded, pos)
        if at < 0:
            return None
        out += [raw[pos:at], new_data]
        pos = at + len(encoded)
        changed = True
    if not changed:
        return raw
    out.append(raw[pos:])
    return b"".join(out)


def _find_body(raw, encoded, pos):
    """Where a part's content starts in raw: right after the blank line ending its header."""
    at = raw.find(encoded, pos)
    while at >= 0 and not raw[:at].endswith((b"\n\n", b"\n\r\n")):
        at = raw.find(encoded, at + 1)
    return at


def _first_plain(msg):
    """The part whose first line is Majordomo's approval: the first text/plain one."""
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            return part
    return None


_APPROVAL_LINE = re.compile("(?i)[^\\S%s]*approved?:[^\\S%s]*([^%s]*[^\\s])[^\\S%s]*"
                            % (_BREAKS, _BREAKS, _BREAKS, _BREAKS))


def body_approval(msg: EmailMessage | None) -> str | None:
    """Majordomo's approval in the body: the password of an Approved: line that is the
    first line (blank lines aside) of the first text/plain part, or None."""
    part = _first_plain(msg) if msg is not None else None
    if part is None:
        return None
    try:
        value = messages.decode_part(part)
    except Exception:
        return None
    for line in value[:4096].splitlines():
        if line.strip():
            a = _APPROVAL_LINE.fullmatch(line)
            return a.group(1).strip() if a else None
    return None


def _without_approval(value):
    """value without its first Approved: line (and the blank line after it)."""
    lines = _LINES.findall(value)
    i = 0
    while i < len(lines) and lines[i] and not lines[i].strip():
        i += 1
    if i >= len(lines) or not _APPROVAL_LINE.fullmatch(lines[i].rstrip(_BREAKS)):
        return None
    j = i + 1
    if j < len(lines) and lines[j] and not lines[j].strip():
        j += 1
    return "".join(lines[:i] + lines[j:])


def _serialized(msg, raw):
    try:
        return messages.serialize(msg)
    except Exception:
        head, sep, _ = _split(raw)
        return head + (sep or b"\n\n") + b"[The text of this message held a password and could not be " \
                                           b"rewritten without it: left out.]\n"


def hide(m, value: str) -> str:
    """value (a destination, for the log) with each text of m.hidden starred."""
    for secret in getattr(m, "hidden", ()):
        value = value.replace(secret, STARS)
    return value


def stored(m) -> bytes | None:
    """The bytes of inbound m to keep in spool/in/cur/: each secret replaced by
    ******** (see the module's text), and each text of m.hidden (a web form's
    parameters that held one) where it stands as written; None when it holds none."""
    out = _stored(m)
    hidden = [s.encode("utf-8", "replace") for s in getattr(m, "hidden", ()) if s]
    if not hidden:
        return out
    data = out or m.raw
    for secret in hidden:
        data = data.replace(secret, STARS.encode("ascii"))
    return None if data == m.raw else data


def _stored(m):
    raw = m.raw
    if not _MARKERS.search(raw):
        return None
    msg = m.msg if m.msg is not None else messages.parse_inbound(raw)      # read here, never changed
    first = _first_plain(msg)
    head = _split(raw)[0]
    new_head = _header(head, drop=False)
    edit = lambda part, value, n: text(value, first=part is first or part.get_content_type() == "text/html")
    new = _rewrite(raw, msg, edit)
    if new is None:
        try:
            return _serialized(_starred(messages.parse_inbound(raw)), raw)
        except (messages.Unreadable, messages.TooManyParts):
            # Never read (refused for its parts): only its header fields are starred.
            return new_head + _split(raw)[1] + _split(raw)[2] if new_head != head else None
    _, sep, new_body = _split(new)
    out = new_head + sep + new_body
    return None if out == raw else out


def _starred(msg):
    """msg (parsed) with every secret replaced: the fallback of stored."""
    first = _first_plain(msg)
    for name in list(msg.keys()):
        if name.lower() in _FIELDS:
            msg.replace_header(name, STARS)
    if msg.get("Subject") is not None:
        msg.replace_header("Subject", subject(str(msg.get("Subject"))))
    for part in _text_parts(msg):
        try:
            value = messages.decode_part(part)
            new = text(value, first=part is first or part.get_content_type() == "text/html")
            if new != value:
                part.set_content(new, subtype=part.get_content_subtype(), charset="utf-8")
        except Exception:
            part.set_payload("[left out: it held a password]\n")
    return msg


def public(m):
    """m as members and the archive get it: no Approved fields, no first-line approval
    (m itself when it has neither)."""
    raw = m.raw
    if not _MARKERS.search(raw):
        return m
    msg = messages.parse_inbound(raw)
    first = _first_plain(msg)
    head, _, body = _split(raw)
    new_head = _header(head, drop=True) if b"approve" in head.lower() else head
    new = raw
    if first is not None and body_approval(msg) is not None:
        edit = lambda part, value, n: _without_approval(value) if part is first else None
        new = _rewrite(raw, msg, edit)
        if new is None:
            _, value = _codec(first, first.get_payload(decode=True) or b"")
            first.set_content(_without_approval(value) or "", subtype="plain", charset="utf-8")
            for name in _FIELDS:
                del msg[name]
            new = new_head = _serialized(msg, raw)
    _, sep, new_body = _split(new)
    out = new if new is new_head else new_head + sep + new_body
    if out == raw:
        return m
    clean = copy.copy(m)
    clean.raw = out
    clean.msg = messages.parse_inbound(out)
    clean._text = None
    return clean
