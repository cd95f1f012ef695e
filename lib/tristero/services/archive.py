"""The archive: a list's posts, one file a day in mbox form (archive/NNNNNNNN/YYYYMMDD.txt).

Each post is a "From author date" line, the post's header fields (without
the envelope's), a blank line, its body with lines that begin "From " made
">From ", and a blank line. The list's Archive says what is kept: Y the
post's text (each attachment replaced by a line naming it), COMPLETE the post
whole, FILEONLY the text and the attachments as files of their own in
files/YYYYMMDD/. Day files older than the list's ArchiveDays are removed by
housekeeping; SEARCH reads them, digests are made from them.
"""

import datetime
import email.header
import hashlib
import os
import re
import stat
import time

from tristero.core import messages, streams
from tristero.model import journal
from tristero.services import repository

_DAY_RE = re.compile(r"(\d{8})\.txt")
_SEPARATOR = "\n\nFrom "    # a post's end and the next one's From_ line
FILES = "files"
MAX_SHOWN = 100            # posts one SEARCH shows
MAX_LINES = 3              # matching lines shown of each
MAX_SEARCHES = 5           # SEARCH commands run from one message
MAX_DAY_FILE = 1 << 30     # a day file larger than this is not searched


def day_name(day):
    return day.strftime("%Y%m%d") + ".txt"


def parse_day(name):
    """The date of a day file's name (20261120.txt), or None."""
    m = _DAY_RE.fullmatch(name)
    if not m:
        return None
    try:
        return datetime.datetime.strptime(m.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def day_files(root, ctx=None):
    """[(date, path)] of the day files in root (regular files only), oldest first; with
    ctx, as the run's staged changes leave root (the day's posts not yet committed)."""
    try:
        names = os.listdir(root)
    except (FileNotFoundError, NotADirectoryError):
        names = []
    out = set()
    for name in names:
        day = parse_day(name)
        if day is None:
            continue
        path = os.path.join(root, name)
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                out.add((day, path))
        except FileNotFoundError:
            continue
    for path in (repository.staged_paths(ctx, root) if ctx is not None else ()):
        day = parse_day(os.path.basename(path)) if os.path.dirname(path) == root else None
        if day is not None:
            (out.add if repository.present(ctx, path) else out.discard)((day, path))
    return sorted(out)


# --- writing ---------------------------------------------------------------------

def _kind(path):
    """What is at path: None (nothing), "file", "folder" or "a link or special file"."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return "a link or special file"


def _problem(ctx, root, rel, want):
    """Why the archive cannot write rel (a path in root) as want ("file"), its folders
    being folders, or None. What this run has staged counts as on the disk."""
    parts = rel.split("/")
    path = root
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        kind = _kind(path)
        need = want if i == len(parts) - 1 else "folder"
        if kind is None:
            break
        if kind != need:
            return "%s is %s, not a %s" % ("/".join(parts[:i + 1]),
                                         kind if kind.startswith("a ") else "a " + kind, need)
    return repository.staged_conflict(ctx, os.path.join(root, *parts), root)


def append(ctx, m, listname, mode):
    """Append the post m to its list's file of the day, as the Archive mode says.

    Nothing is staged that could not be applied: a day file or a folder of
    files/ that is something else (a folder, a link, a file planted by PUT or
    by hand) leaves the post out of the archive, logged.
    """
    try:
        root = repository.folder(ctx, listname)
    except repository.Refused as e:
        ctx.act("not archived: %s" % e, "Archive")
        return
    day = ctx.now.strftime("%Y%m%d")
    day_file = day + ".txt"
    why = _problem(ctx, root, day_file, "file")
    raw = m.raw
    if mode != "COMPLETE" and not why:
        raw, files = _text_only(ctx, m, listname, day, mode == "FILEONLY",
                                lambda rel: repository.present(ctx, os.path.join(root, rel)))
        for rel, _ in files:
            why = why or _problem(ctx, root, rel, "file")
    if why:
        ctx.act("not archived: %s" % why, "Archive")
        return
    if mode != "COMPLETE":
        for rel, data in files:
            path = os.path.join(root, rel)
            ctx.write(path, data)
    first, body = _head(m.author, ctx.now, raw)
    path = os.path.join(root, day_file)
    # Written from the inbound bytes as the journal stages it: a big post is not copied.
    ctx.append(path, streams.Stream(lambda: _entry(first, body)))


def _head(author, when, raw):
    """(the From_ line and kept header of a post from author at when, its body)."""
    block, body = messages.split_view(raw)
    # A field in raw 8-bit text is kept decoded and written again in ASCII.
    kept = b"".join(messages.ascii_field(name, raw) for name, raw in messages.raw_headers(block)
                    if name.lower() not in messages.MTA_TRACE)
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", when.timetuple())
    return b"From %s %s\n" % (author.encode(), stamp.encode()) + kept + b"\n", body


def entry(author, when, raw):
    """The bytes of the post raw (from author at when) in a day file, as append writes
    them (imports bring old archives in with it)."""
    return b"".join(_entry(*_head(author, when, raw)))


def _entry(first, body):
    """The bytes of one post in a day file: first (From_ line and header), the body
    mbox-quoted, ending in a line end, then a blank line."""
    yield first
    last = first
    for chunk in streams.mbox_quoted((body,)):
        last = chunk
        yield chunk
    yield b"\n" if last.endswith(b"\n") else b"\n\n"


def _leaves(msg):
    """The parts of msg that hold content (not multipart or message/* containers)."""
    for part in msg.walk():
        if not part.is_multipart() and part.get_content_maintype() not in ("multipart", "message"):
            yield part


def is_attachment(part):
    """A leaf part that is a file rather than the text of the message."""
    if part.get_content_disposition() == "attachment":
        return True
    return part.get_content_maintype() != "text"


def attachments(msg):
    """The parts of msg that are files (see is_attachment), in order."""
    return [p for p in _leaves(msg) if is_attachment(p)]


def _text_only(ctx, m, listname, day, keep_files, taken):
    """(the post without its attachments, [(path in the folder, bytes)] kept as files).

    Each attachment is replaced by a line that names it; with keep_files it is
    stored in files/YYYYMMDD/, its name prefixed by a tag of the post's Message-ID
    and, when taken(path in the folder) says another file has that name, made
    free (journal.free_name): a post never replaces another's file.
    """
    if not attachments(m.msg):
        return m.raw, []
    msg = messages.parse_inbound(m.raw, like=m.msg)
    tag = hashlib.sha256(m.id.encode("utf-8", "replace")).hexdigest()[:8]
    files, used = [], set()
    for n, part in enumerate(attachments(msg)):
        try:
            name = repository.readable_name(part.get_filename())
        except Exception:
            name = None
        data = part.get_payload(decode=True) or b""
        ctype = part.get_content_type()
        shown = messages.clean(name or ctx.text("archive.no-name"), 200)
        if keep_files:
            stored = "%s-%s" % (tag, repository.safe_name(name, "attachment-%d" % (n + 1)))
            while stored in used:
                stored = "%s-%d-%s" % (tag, n + 1, stored[len(tag) + 1:])
            folder = "%s/%s/" % (FILES, day)
            stored = journal.free_name(stored, lambda c, folder=folder: c in used or taken(folder + c))
            used.add(stored)
            rel = folder + stored
            files.append((rel, data))
            note = ctx.text("archive.attachment-kept", name=shown, type=ctype, size=repository.size_text(len(data)),
                            quoted=_quoted(listname), file=rel)
        else:
            note = ctx.text("archive.attachment-not-kept", name=shown, type=ctype,
                            size=repository.size_text(len(data)))
        # Readable in the file as it stands: no quoted-printable.
        part.set_content(note + "\n", charset="utf-8", cte="7bit" if note.isascii() else "8bit")
    try:
        return messages.serialize(msg), files
    except Exception:
        # A post the email package cannot write back is kept as it came.
        return m.raw, []


def _quoted(name):
    return '"%s"' % name if " " in name else name


# --- reading -------------------------------------------------------------------------

class Post:
    """One post of a day file."""

    def __init__(self, day, raw):
        self.day = day
        self.raw = raw             # the message, without its From_ line
        self._head = None

    def head(self):
        if self._head is None:
            block, _ = messages.split_raw(self.raw)
            self._head = messages.parse(block + b"\n")
        return self._head

    def subject(self):
        """The post's subject, decoded (read straight from the raw field: digests of
        thousands of posts need only this of each)."""
        block, _ = messages.split_raw(self.raw)
        for name, raw in messages.raw_headers(block):
            if name.lower() == "subject":
                value = raw.split(b":", 1)[1].decode("utf-8", "replace")
                if "=?" in value:
                    try:
                        value = str(email.header.make_header(email.header.decode_header(" ".join(value.split()))))
                    except Exception:
                        pass
                return messages.clean(value)
        return ""

    def author(self):
        name, address = messages.first_address(self.head(), "From")
        return messages.clean(name or address or "unknown", 200)

    def date(self):
        return messages.header(self.head(), "Date")


def posts(day, data):
    """[Post] of a day file's bytes, in order."""
    out = []
    starts = [0] if data.startswith(b"From ") else []
    at = data.find(b"\n\nFrom ")
    while at >= 0:
        starts.append(at + 2)
        at = data.find(b"\n\nFrom ", at + 2)
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        chunk = data[start:end]
        nl = chunk.find(b"\n")
        raw = chunk[nl + 1:] if nl >= 0 else b""
        if raw.endswith(b"\n\n"):
            raw = raw[:-1]
        out.append(Post(day, raw))
    return out


def expired(root, today, keep_days):
    """Paths of the day files (and FILEONLY's files/YYYYMMDD folders) older than keep_days."""
    out = [path for day, path in day_files(root) if (today - day).days > keep_days]
    files = os.path.join(root, FILES)
    if not os.path.islink(files):
        try:
            names = sorted(os.listdir(files))
        except (FileNotFoundError, NotADirectoryError):
            names = []
        for name in names:
            day = parse_day(name + ".txt")
            if day is not None and (today - day).days > keep_days:
                out.append(os.path.join(files, name))
    return out


# --- SEARCH ------------------------------------------------------------------------

def search_files(root, text, shown=MAX_SHOWN, ctx=None):
    """(matches, day files searched, posts matching beyond shown) of a search for text
    (case ignored) in root's day files, newest first. A match is (day, author, subject,
    [matching lines])."""
    needle = text.lower()
    found, searched, more = [], 0, 0
    for day, path in reversed(day_files(root, ctx)):
        try:
            data = repository.read(path, MAX_DAY_FILE, ctx=ctx)
        except repository.Refused:
            continue
        searched += 1
        # Undecodable bytes (posts in other charsets) stay as they are, matching themselves.
        body = data.decode("utf-8", "surrogateescape")
        low = body.lower()
        if len(low) != len(body):
            low, body = body.casefold(), body.casefold()
        pos = low.find(needle)
        if pos < 0:
            continue
        while pos >= 0:
            # The post around the match: from its From_ line to the next one.
            start = body.rfind(_SEPARATOR, 0, pos + len(_SEPARATOR) - 2)
            start = 0 if start < 0 else start + 2
            end = body.find(_SEPARATOR, pos)
            end = len(body) if end < 0 else end + 2
            lines = []
            while 0 <= pos < end:
                ls = body.rfind("\n", 0, pos) + 1
                le = body.find("\n", pos)
                le = len(body) if le < 0 else le
                if len(lines) < MAX_LINES:
                    lines.append(_around(body[ls:le], pos - ls, len(needle)))
                pos = low.find(needle, le)
            if len(found) < shown:
                post = posts(day, body[start:end].encode("utf-8", "surrogateescape"))
                p = post[0] if post else Post(day, b"")
                found.append((day, p.author(), p.subject(), lines))
            else:
                more += 1
    return found, searched, more


def _around(line, at, width, room=160):
    """The part of a line around a match, at most room characters, made readable."""
    line = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(line) > room:
        start = max(0, min(at - (room - width) // 2, len(line) - room))
        line = ("..." if start else "") + line[start:start + room] + ("..." if start + room < len(line) else "")
    return messages.clean(line, room + 6)

