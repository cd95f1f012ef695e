"""Data sets of a command message, LISTSERV's way: a ``//name DD *`` block in the body,
its lines up to a ``/*`` line, or a file attached to the message whose name is name
(with any extension: ``name.txt``, ``name.csv``). Used by ADD list DD=name IMPORT and
DELETE list DD=name BULK; a JOB parser (DISTRIBUTE) may read its blocks here too.

The robot (mail.robot.parse) skips the lines of every block, so that data is never
read as commands.
"""

import re

from tristero.core import messages

# Characters of the body read for data sets: far more than the robot reads for commands
# (messages.TEXT_LIMIT), so that 100,000 lines come whole; a block cut by this limit is
# refused, never read in part.
MAX_TEXT = 64 << 20

# "//NAME DD *" (LISTSERV writes the name in capitals; any case here), blanks around.
DD_START = re.compile(r"^\s*//\s*([A-Za-z0-9_$#@-]{1,64})\s+DD\s+\*\s*$", re.I)
DD_END = "/*"


def dd_name(word):
    """The name of a DD=name word (case kept), or None when word is none."""
    if len(word) > 3 and word[:3].upper() == "DD=":
        name = word[3:]
        if re.fullmatch(r"[A-Za-z0-9_$#@.-]{1,64}", name):
            return name
    return None


def blocks(lines):
    """[(name, first, end)] of the //name DD * blocks among lines: the data are lines[first:end]
    (a block with no /* runs to the end)."""
    out = []
    i, n = 0, len(lines)
    while i < n:
        m = DD_START.match(lines[i]) if lines[i][:1] in " \t/" else None
        if m is None:
            i += 1
            continue
        first = end = i + 1
        while end < n and lines[end].strip() != DD_END:
            end += 1
        out.append((m.group(1), first, end))
        i = end + 1
    return out


def body(msg):
    """The text of the message's first text/plain part that is not an attachment, whole
    up to MAX_TEXT characters (one more: it was cut), or ""."""
    for part in msg.walk():
        if not part.is_multipart() and part.get_content_type() == "text/plain" and \
                part.get_content_disposition() != "attachment":
            return messages.decode_part(part)[:MAX_TEXT + 1]
    return ""


class Cut(Exception):
    """A data set that does not end (no /* line) within what is read of the body."""


def in_body(text, name):
    """The lines of the body's //name DD * block (name: case ignored), or None; raises Cut
    when the body was cut (longer than MAX_TEXT) before the block's /* line."""
    lines = text.splitlines()
    for found, first, end in blocks(lines):
        if found.upper() == name.upper():
            if end == len(lines) and len(text) > MAX_TEXT:
                raise Cut(name)
            return lines[first:end]
    return None


def attached(files, name):
    """The lines of the file attached as name or name.ext (case ignored), or None.
    files: [(file name, bytes)] (repository.attachments_of)."""
    want = name.lower()
    for fname, data in files:
        base = (fname or "").lower()
        if base == want or base.rpartition(".")[0] == want:
            return data.decode("utf-8", "replace").splitlines()
    return None


def entries(lines):
    """(line number, address, name) of each data line that is not blank or a comment
    (a line starting with * or #): the first word the address (in <brackets> or not),
    the other words the name."""
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if not s or s[0] in "*#":
            continue
        address, _, name = s.partition(" ")
        yield n, address.strip("<>\"'"), " ".join(name.split())
