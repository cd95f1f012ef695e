"""The file repository: each list's folder, archive/NNNNNNNN/, and what the file commands
(commands/get.py, put.py, kill.py, config_putfile.py ...) share.

No name from mail reaches the disk unchecked. A name is whitelisted part by
part (no empty, "." or ".." part, no leading dot, no slash, backslash or
Unicode look-alike of one, no control, format or odd blank character, no
character Windows reserves, no device name such as CON or NUL), joined to the
folder, walked with no link followed on the way, and the result checked to be
still inside the folder. Files are opened without following a link and must
be regular files with no other name (hard link). What is stored is bounded by
MaxFileSize, what one message carries by MaxReplySize.

The default archive, archive/00000000, is the folder of file commands that
name no list (rights: rights.FILE_ACTIONS). CD changes the folder for the
rest of a message.
"""

import email.header
import errno
import os
import re
import stat
import unicodedata

from tristero.core import messages
from tristero.core.text import Text
from tristero.model import audit, config, lists, quotas, signing
from tristero.services import session

DEFAULT = "00000000"
MAX_DEPTH = 8              # folders below a list's folder
MAX_NAME = 1024            # characters in a path given by mail
MAX_LISTED = 2000          # files an INDEX shows
MAX_PER_COMMAND = 20       # files one GET, FETCH or KILL names

# The separators, and what looks like one to a person or turns into one under
# Unicode normalisation somewhere else (a web server, Samba, another OS).
_SLASHES = set("/\\\u2215\u2044\u29f8\u29f9\u2571\u2572\u2216\ufe68\uff0f\uff3c\u1735\u3033")
_RESERVED = set(':*?"<>|')
_DEVICES = {"CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$"} | {
    "%s%d" % (d, n) for d in ("COM", "LPT") for n in range(10)}

# Files that make up a list's face (manual: "Friendlier Messages"); only the
# list's owner writes them. FILELIST.TXT and LISTBOT.TXT act with the site's
# authority (manual: "only privileged users may actually write to this file").
CONTROL = {"readme.txt", "welcome.txt", "farewell.txt", "index.txt"}
CONTROL_FOLDERS = {"readme", "welcome", "farewell"}
EXECUTABLE = {"filelist.txt", "listbot.txt"}
_DAY_FILE = re.compile(r"\d{8}\.txt")
HELD = "held"              # a list's folder of posts held for its moderators (services.moderation)


class Refused(ValueError):
    """A name or file the repository will not use: why, a text.Text (or, raised by code
    that words it itself, a str); str() says it in English (the log), text() to a reader."""
    status = "refused"

    def __init__(self, why):
        super().__init__(str(why))
        self.why = why

    def text(self, ctx, reader=None):
        """Why, in the words of reader's language (ctx.text)."""
        return ctx.text(self.why, reader) if isinstance(self.why, Text) else str(self.why)


class Missing(Refused):
    status = "error"


# --- names and paths -------------------------------------------------------

def _part_problem(part):
    """Why part cannot be one part of a file name (a text.Text), or None."""
    if part in ("", ".", ".."):
        return Text("repository.part-empty")
    if part.startswith("."):
        return Text("repository.part-hidden")
    if part != part.strip(" ") or part.endswith("."):
        return Text("repository.part-blank")
    for ch in part:
        if ch in _SLASHES:
            return Text("repository.part-slash", code=ord(ch))
        if ch in _RESERVED:
            return Text("repository.part-reserved", char=ch)
        if ch != " " and unicodedata.category(ch)[0] in "CZ":
            return Text("repository.part-control", code=ord(ch))
    folded = unicodedata.normalize("NFKC", part)
    if folded.startswith(".") or any(c in _SLASHES or c in _RESERVED for c in folded):
        return Text("repository.part-normalises")
    if any(p.split(".", 1)[0].rstrip(" ").upper() in _DEVICES for p in (part, folded)):
        return Text("repository.part-device", device=part.split(".", 1)[0])
    if len(part.encode("utf-8")) > 255:
        return Text("repository.part-long")
    return None


def check_name(name, single=False):
    """The parts of name (a relative path, "/" between parts); raises Refused.

    single: name must be one file name (an attachment's), not a path.
    """
    if not isinstance(name, str) or not name:
        raise Refused(Text("repository.no-name"))
    if "\x00" in name:
        raise Refused(Text("repository.nul"))
    if len(name) > MAX_NAME:
        raise Refused(Text("repository.name-too-long", limit=MAX_NAME))
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise Refused(Text("repository.absolute", name=messages.clean(name, 80)))
    parts = name.split("/")
    if single and len(parts) > 1:
        raise Refused(Text("repository.not-single", name=messages.clean(name, 80)))
    if len(parts) > MAX_DEPTH + 1:
        raise Refused(Text("repository.too-deep", limit=MAX_DEPTH))
    for part in parts:
        why = _part_problem(part)
        if why:
            raise Refused(Text("repository.bad-name", name=messages.clean(name, 80), why=why))
    if len(parts) > 1 and parts[0].lower() == HELD:
        # The posts held for moderators (services.moderation): never fetched, listed or written by mail.
        raise Refused(Text("moderation.folder-reserved"))
    return parts


def resolve(root, name, single=False):
    """The path of name inside the folder root; raises Refused.

    Whitelist, join, walk (no link followed, every folder on the way a
    folder), then check that the result is still inside root.
    """
    parts = check_name(name, single)
    if os.path.islink(root):
        raise Refused(Text("repository.root-link", name=messages.clean(name, 80)))
    path = root
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            break
        except NotADirectoryError:
            raise Refused(Text("repository.part-is-file", name=name))
        if stat.S_ISLNK(st.st_mode):
            raise Refused(Text("repository.link", name="/".join(parts[:i + 1])))
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            raise Refused(Text("repository.not-folder", name="/".join(parts[:i + 1])))
    full = os.path.join(root, *parts)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(full)]) != real_root:
        raise Refused(Text("repository.outside", name=name))
    return full


def safe_name(name, fallback):
    """A name for a file made from a name in mail: each character a name may not
    hold becomes "_"; fallback when nothing usable is left."""
    name = (name or "").replace("/", "_").replace("\\", "_")
    out = "".join(c if not _part_problem("x" + c + "x") else "_" for c in name).strip(" .")
    out = out.encode("utf-8")[:200].decode("utf-8", "ignore").strip(" .")
    if not out or _part_problem(out):
        return fallback
    return out


# --- reading and listing -------------------------------------------------------

_KINDS = {stat.S_IFDIR: Text("repository.kind-folder"), stat.S_IFIFO: Text("repository.kind-fifo"),
          stat.S_IFSOCK: Text("repository.kind-socket"), stat.S_IFCHR: Text("repository.kind-device"),
          stat.S_IFBLK: Text("repository.kind-device")}


def read(path, limit, what=None, ctx=None):
    """The bytes of the regular file at path, at most limit of them; raises Refused.

    With ctx, as the run's staged changes leave it (see _staged_read).
    """
    what = what or os.path.basename(path)
    if ctx is not None:
        data = _staged_read(ctx, path, limit, what)
        if data is not None:
            return data
    return _read_disk(path, limit, what)


def read_site_file(path, limit, what, ctx):
    """read(), for a copy of a file of the site that leaves it (CONFIG ATTACH, CONFIG
    SENDFILE): an ini file's secret values (SmtpPassword, BindPassword ...) masked."""
    data = read(path, limit, what, ctx)
    return config.masked(data) if path.lower().endswith(".ini") else data


def _read_disk(path, limit, what):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise Missing(Text("repository.missing", name=what))
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Refused(Text("repository.link", name=what))
        if e.errno == errno.ENOTDIR:
            raise Missing(Text("repository.missing", name=what))
        raise Refused(Text("repository.unreadable", name=what, why=e.strerror))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(Text("repository.not-file", name=what,
                               kind=_KINDS.get(stat.S_IFMT(st.st_mode), Text("repository.kind-other"))))
        if st.st_nlink > 1:
            raise Refused(Text("repository.hard-links", name=what))
        if st.st_size > limit:
            raise Refused(Text("repository.too-big", name=what, size=size_text(st.st_size), limit=size_text(limit)))
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise Refused(Text("repository.grew", name=what, limit=size_text(limit)))
        return data
    finally:
        os.close(fd)


def listing(root, ctx=None):
    """[(name, size, mtime)] of the files under root a GET can fetch, by name; hidden
    names, links, special files and names no GET could give are left out.

    With ctx, as the run's staged changes leave it (a file staged has the
    run's clock for its time).
    """
    out = _listing_disk(root)
    if ctx is None:
        return out
    files = {name: (size, mtime) for name, size, mtime in out}
    for path in staged_paths(ctx, root):
        parts = os.path.relpath(path, root).split(os.sep)
        state = staged_state(ctx, path)
        if state is None or len(parts) > MAX_DEPTH + 1 or any(_part_problem(p) for p in parts) \
                or (len(parts) > 1 and parts[0].lower() == HELD):
            continue
        name = "/".join(parts)
        if state[0]:
            files[name] = (state[1], ctx.now.timestamp())
        else:
            files.pop(name, None)
    return sorted((name, size, mtime) for name, (size, mtime) in files.items())


def _listing_disk(root):
    out = []
    stack = [("", root, 0)]
    while stack:
        rel, path, depth = stack.pop()
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for e in entries:
            if _part_problem(e.name) or (depth == 0 and e.name.lower() == HELD):
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            name = rel + e.name
            if stat.S_ISDIR(st.st_mode) and depth < MAX_DEPTH:
                stack.append((name + "/", e.path, depth + 1))
            elif stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
                out.append((name, st.st_size, st.st_mtime))
    out.sort()
    return out


def find(root, lower_name, ctx=None):
    """The path of the top-level file of root whose name is lower_name, case ignored, or
    None; with ctx, as the run's staged changes leave root."""
    try:
        names = set(os.listdir(root))
    except (FileNotFoundError, NotADirectoryError):
        names = set()
    if ctx is not None:
        for path in staged_paths(ctx, root):
            if os.path.dirname(path) == root:
                state = staged_state(ctx, path)
                (names.add if state[0] else names.discard)(os.path.basename(path))
    for n in sorted(names):
        if n.lower() == lower_name and not _part_problem(n):
            return os.path.join(root, n)
    return None


def folder_files(ctx, root, sub):
    """[(name, bytes)] of the files in root/sub (readme/, welcome/, farewell/), by name,
    together at most MaxReplySize; what does not fit is logged and left out."""
    folder = os.path.join(root, sub)
    if os.path.islink(folder):
        return []
    out, left = [], max_reply(ctx)
    for name, _size, _ in listing(folder, ctx):
        if "/" in name:
            continue
        try:
            data = read(os.path.join(folder, name), left, ctx=ctx)
        except Refused as e:
            ctx.act("%s/%s not attached: %s" % (sub, name, e), "MaxReplySize")
            continue
        out.append((name, data))
        left -= len(data)
    return out


def text_file(root, name, limit=1 << 20, ctx=None):
    """The text of the file name in root (readme.txt ...), or None when there is none."""
    try:
        data = read(os.path.join(root, name), limit, ctx=ctx)
    except Refused:
        return None
    return data.decode("utf-8", "replace")


def descriptions(root, names, ctx=None):
    """({file: description}, [other lines]) from root's index.txt: a line that begins
    with the name of a file (in double quotes if it has blanks) describes it."""
    text = text_file(root, "index.txt", ctx=ctx) or ""
    known = set(names)
    found, other = {}, []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith('"') and '"' in s[1:]:
            name, rest = s[1:].split('"', 1)
        else:
            name, _, rest = s.partition(" ")
            if "\t" in name:
                name, _, more = name.partition("\t")
                rest = more + " " + rest
        if name in known:
            found[name] = " ".join(rest.split())
        else:
            other.append(line.rstrip())
    return found, other


# --- sizes and limits ------------------------------------------------------------

def size_text(n):
    if n < 10240:
        return "{:,} bytes".format(n)
    if n < 10 * 1024 * 1024:
        return "%.1f KB" % (n / 1024.0)
    return "%.1f MB" % (n / 1048576.0)


def max_reply(ctx):
    return ctx.config.globals("MaxReplySize") * 1024


def max_file(ctx):
    return ctx.config.globals("MaxFileSize") * 1024


# --- the budgets of what requests send ---------------------------------------------------
# GET, FETCH, CONFIG SENDFILE/ATTACH, INDEX and SEARCH share one budget per
# command message (MaxReplySize, all files and copies together) and one per
# sender per day (MaxReplyDaily, see quotas). What counts is what is sent: a
# file attached as its encoding takes it, a message of its own (FETCH, CONFIG
# SENDFILE) whole, a listing line by line. One copy counts each time it goes.

def carried(n):
    """The bytes a file of n bytes takes at most attached to a message (base64, lines
    of 76 characters and CRLF)."""
    n4 = (n + 2) // 3 * 4
    return n4 + (n4 + 75) // 76 * 2


def room(s):
    """The bytes the commands of Session s may still send: what is left of MaxReplySize
    for its message and of MaxReplyDaily for its sender today."""
    return max(0, min(max_reply(s.ctx) - s.sent, quotas.daily_left(s.ctx, s.sender)))


def afford(s, n):
    """Spend n bytes of s's budgets; False (nothing spent) when they cannot hold them."""
    if n > room(s):
        return False
    s.sent += n
    quotas.spend(s.ctx, s.sender, n)
    return True


def fitting(s, lines):
    """How many of lines (the text of a listing) the budgets hold; those are spent."""
    left, total, count = room(s), 0, 0
    for line in lines:
        n = len(line.encode("utf-8")) + 2
        if total + n > left:
            break
        total, count = total + n, count + 1
    if total:
        afford(s, total)
    return count


def over_budget(s, verb, what):
    """Say, in a REFUSED line, that what (the files or lines of verb) was not sent: a
    budget is spent."""
    ctx = s.ctx
    per_message = max_reply(ctx) - s.sent <= quotas.daily_left(ctx, s.sender)
    if per_message:
        why = s.text("files.over-reply", size=size_text(max_reply(ctx)))
    else:
        why = s.text("files.over-daily", size=size_text(ctx.config.globals("MaxReplyDaily") * 1024))
    s.result("refused", s.text("files.over-budget", verb=verb, what=what, why=why))
    ctx.act("%s for %s: %s not sent (budget)" % (verb, s.sender, what),
            "MaxReplySize" if per_message else "MaxReplyDaily")


def folder(ctx, listname):
    """The folder of a list (None: the default archive); raises Refused when archive/ or
    the list's folder is a link, not a folder, or resolves anywhere but archive/NNNNNNNN."""
    number = lists.number(ctx.config, listname) if listname else DEFAULT
    path = ctx.site.archive_dir(number)
    archive = ctx.site.archive
    for p in (archive, path):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            ctx.act("the folder %s is %s: not used" % (p, "a link" if stat.S_ISLNK(st.st_mode)
                                                        else "not a folder"), "repository")
            raise Refused(Text("repository.folder-unusable", list=label(listname)))
    if os.path.realpath(path) != os.path.join(os.path.realpath(archive), os.path.basename(path)):
        ctx.act("the folder %s leads elsewhere: not used" % path, "repository")
        raise Refused(Text("repository.folder-unusable", list=label(listname)))
    return path


# --- what this run has staged ------------------------------------------------------------
# A file stored, appended to or removed by a message reaches the disk when its
# transaction commits (every CommitEvery messages). Until then the reads below
# see it as it will be (read your writes): what the open transaction has
# staged (ctx.txn) and then what the current message has asked for
# (ctx.outcome), in the order the commit applies them. A name that makes one
# of those files a folder, or makes a folder of one, would make a transaction
# that cannot be applied (staged_conflict).

def _changes(ctx, path):
    """[(kind, size, data)] staged for path, in the order they are applied: kind is
    "replace", "append" or "delete", data() the bytes of a replace or append."""
    out = []
    txn = ctx.txn
    for op in (txn.changes().get(path, ()) if txn is not None else ()):
        if op[0] in ("replace", "append"):
            out.append((op[0], txn.size(op), lambda op=op: txn.data(op)))
        elif op[0] == "delete":
            out.append(("delete", 0, None))
    outcome = ctx.outcome
    for kind, pairs in (("append", outcome.appends), ("replace", outcome.writes)):
        # bytes(): an append may be a stream written when staged (a big post, see streams).
        out.extend((kind, len(data), lambda data=data: bytes(data)) for p, data in pairs if p == path)
    if path in outcome.deletes:
        out.append(("delete", 0, None))
    return out


_DISK = object()       # in the walks below: what the disk holds, no change seen yet


def staged_state(ctx, path):
    """(True, size) when the run has staged path to be a file of size bytes, (False, 0)
    when it has staged its removal, None when it has staged nothing for it."""
    changes = _changes(ctx, path)
    if not changes:
        return None
    size = _DISK
    for kind, n, _ in changes:
        if kind == "replace":
            size = n
        elif kind == "append":
            size = (_disk_size(path) if size is _DISK else size or 0) + n
        else:
            size = None
    return (size is not None, size or 0)


def _disk_size(path):
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def _staged_read(ctx, path, limit, what):
    """The bytes path holds once the run's staged changes are applied, or None when none
    are staged for it (the disk decides); raises Missing when they remove it."""
    changes = _changes(ctx, path)
    if not changes:
        return None
    state = staged_state(ctx, path)
    if not state[0]:
        raise Missing(Text("repository.missing", name=what))
    if state[1] > limit:
        raise Refused(Text("repository.too-big", name=what, size=size_text(state[1]), limit=size_text(limit)))
    data = _DISK
    for kind, _, get in changes:
        if kind == "replace":
            data = get()
        elif kind == "append":
            if data is _DISK:
                try:
                    data = _read_disk(path, limit, what)
                except Missing:
                    data = b""
            data = (data or b"") + get()
        else:
            data = None
    return data


def present(ctx, path):
    """True when something is at path once the run's staged changes are applied."""
    state = staged_state(ctx, path)
    return state[0] if state is not None else os.path.lexists(path)


def staged_paths(ctx, root):
    """The paths below root that the run has staged changes for."""
    prefix = root + os.sep
    txn = ctx.txn
    paths = {p for p in (txn.changes() if txn is not None else ()) if p.startswith(prefix)}
    outcome = ctx.outcome
    paths.update(p for p, _ in outcome.appends + outcome.writes if p.startswith(prefix))
    paths.update(p for p in outcome.deletes if p.startswith(prefix))
    return paths


def staged_conflict(ctx, path, root):
    """Why path cannot be a file beside what this run has staged (a text.Text), or None
    (names relative to root)."""
    txn = ctx.txn
    outcome = ctx.outcome
    files = [p for p, _ in outcome.appends + outcome.writes]
    if (txn is not None and path in txn.folders()) or any(f.startswith(path + os.sep) for f in files):
        return Text("repository.staged-folder", name=os.path.relpath(path, root))
    parent = os.path.dirname(path)
    while parent and parent != os.path.dirname(parent) and len(parent) >= len(root):
        state = staged_state(ctx, parent)
        if state is not None and state[0]:
            return Text("repository.staged-file", name=os.path.relpath(parent, root))
        parent = os.path.dirname(parent)
    return None


def archive_name_problem(parts):
    """Why parts (a path in a list's folder) is a name the archive writes (a text.Text),
    or None."""
    first = parts[0]
    if _DAY_FILE.fullmatch(first):
        return Text("repository.archive-day", name="/".join(parts))
    if first.lower() == "files":
        return Text("repository.archive-files")
    return None


def label(listname):
    """The list's name, or the text that names the default archive (a text.Text)."""
    return listname if listname else Text("repository.default-archive")


# --- what the file commands share -------------------------------------------------------
# Their reply texts are the area files (templates/en/files.txt).

def allowed(s, action, listname, what):
    """rights.may through the robot's one check (refusals said and audited)."""
    return session.allowed(s, action, listname, what)


def where(s, args, need):
    """(list or None for the default archive, its folder, the arguments left) of a file command;
    the folder is None (and the refusal said) when it cannot be used (see folder).

    A first argument naming a list picks that list when more than need
    arguments are given; otherwise the folder is the one CD chose, else the
    list of a LIST-request address, else the default archive.
    """
    args = list(args)
    listname = None
    if len(args) > need:
        listname = session.find_list(s, args[0])
        if listname is not None:
            args = args[1:]
    if listname is None:
        current = s.folder if s.folder is not None else (s.default_list or "")
        listname = current or None
    try:
        return listname, folder(s.ctx, listname), args
    except Refused as e:
        # The folder is None: the command says so and does nothing.
        s.result("refused", reason(s, e))
        return listname, None, args


def named(s, listname):
    """A list's name in a reply to s's sender, or the words for the default archive."""
    return listname if listname else s.text("repository.default-archive")


def reason(s, e):
    """Why (a Refused) in a reply to s's sender, in the sender's language."""
    return e.text(s.ctx, s.sender)


def kind_of(mode):
    """What a file of this st_mode is when it is no regular file (a folder, a FIFO ...)."""
    return _KINDS.get(stat.S_IFMT(mode), "not a file")


def asked(name):
    """The name of a file as asked for: a day of the archive may be asked for as 20261120
    or 2026-11-20."""
    if re.fullmatch(r"\d{8}", name):
        return name + ".txt"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", name):
        return name.replace("-", "") + ".txt"
    return name


def refused_name(s, listname, verb, name, e):
    """Say why a name was refused; an unsafe one is logged and goes to the security trail."""
    s.say(s.text("files.refused-name", name=messages.clean(name, 80), why=reason(s, e)))
    if not isinstance(e, Missing):
        s.ctx.act("%s %s refused for %s: %s" % (verb, messages.clean(name, 80), s.sender, e), "repository")
        audit.security(s.ctx, s.sender, listname, "%s %s" % (verb, messages.clean(name, 80)), "refused: %s" % e)


def report(s, done, failed, what):
    """One result line for the command: OK when something was done."""
    if done:
        s.result("ok", what)
    elif failed and all(isinstance(e, Missing) for e in failed):
        s.result("error", what)
    else:
        s.result("refused", what)


def fetch_files(s, root, names, cost):
    """([(name, bytes)], failed, notes, over) of the files named, each checked; cost(name,
    bytes) says what sending one takes, and it is spent from the budgets (see afford):
    over holds the names of the files they could not hold, not read. Failures are said
    in the reply."""
    got, failed, notes, over = [], [], [], []
    for name in names[:MAX_PER_COMMAND]:
        name = asked(name)
        if over or not room(s):
            over.append(name)
            continue
        try:
            path = resolve(root, name)
            state = staged_state(s.ctx, path)
            size = state[1] if state is not None and state[0] else _disk_size(path)
            if room(s) < size <= max_reply(s.ctx):
                over.append(name)       # too big for what is left: not even read
                continue
            data = read(path, max_reply(s.ctx), name, s.ctx)
        except Refused as e:
            failed.append(e)
            notes.append((name, e))
            continue
        if not afford(s, cost(os.path.basename(path), data)):
            over.append(name)
            continue
        got.append((os.path.basename(path), data))
    if len(names) > MAX_PER_COMMAND:
        notes.append((" ".join(names[MAX_PER_COMMAND:]), Missing(
            s.text("files.too-many", limit=MAX_PER_COMMAND))))
    return got, failed, notes, over


def over_files(s, verb, over):
    """Say that the files over (names) were not sent: a budget is spent (see over_budget)."""
    if over:
        over_budget(s, verb, s.text("files.over-files", count=len(over),
                                    names=messages.clean(" ".join(over), 120)))


def file_message(ctx, to, subject, name, data, in_reply_to=None, text=None):
    """A message of its own for one file: a short text saying what it is, the file attached.

    Never the file as the whole body: an uploaded page FETCHed for forged
    addresses would make the site a relay of whatever it says.
    """
    text = text or ctx.text("files.file-message", to, name=messages.clean(name, 200)) + "\n"
    msg = ctx.message(to, subject, text, in_reply_to)
    messages.attach(msg, [(name, data)])
    return msg


# --- the files a message carries (PUT, CONFIG PUTFILE) ------------------------------------

def attachments_of(msg):
    """[(file name or None, bytes)] of the files a message carries: its parts with a
    file name or marked attachment (not its text), in order."""
    out = []

    def visit(part):
        if part.get_content_maintype() == "multipart":
            for sub in part.iter_parts():
                visit(sub)
            return
        try:
            name = part.get_filename()
        except Exception:
            name = ""
        if name is None and part.get_content_disposition() != "attachment":
            return
        try:
            data = part.get_payload(decode=True)
            if data is None and part.get_content_maintype() == "message":
                data = part.get_payload(0).as_bytes()
        except Exception:
            data = None
        out.append((readable_name(name), data or b""))

    visit(msg)
    return out


def readable_name(name):
    """An attachment's name as its sender meant it: RFC 2231 is already decoded; raw
    UTF-8 and RFC 2047 encoded words (which some mailers put there) are decoded too."""
    if not name:
        return name
    try:
        name = name.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        pass
    if "=?" in name:
        try:
            name = str(email.header.make_header(email.header.decode_header(name)))
        except Exception:
            pass
    return name


def place(s, root, rel, size, shown):
    """The path rel names under root, where a file of size bytes sent by mail (PUT, CONFIG
    PUTFILE) may be written; Refused when it cannot: an unsafe name, something this run
    staged in the way, larger than MaxFileSize. shown: the file's name in a refusal."""
    path = resolve(root, rel)
    why = staged_conflict(s.ctx, path, root)
    if why:
        raise Refused(s.text("files.cannot-store", name=shown, why=why))
    limit = max_file(s.ctx)
    if size > limit:
        raise Refused(s.text("files.too-big", name=shown, size=size_text(size), limit=size_text(limit)))
    return path


def upload_action(s, parts):
    """The right a write to parts needs beyond upload: (action, why) or (None, None)."""
    first = parts[0].lower()
    if len(parts) == 1 and first in EXECUTABLE:
        return "postmaster", s.text("files.executable", name=parts[0])
    if (len(parts) == 1 and first in CONTROL) or (len(parts) > 1 and first in CONTROL_FOLDERS):
        return "manage", s.text("files.control", name="/".join(parts))
    return None, None


# --- the site's own files (CONFIG ATTACH, SENDFILE, PUTFILE: the SuperUser) ---------------
# The SuperUser reaches the site's own files, relative to its home (an absolute
# path inside the home is taken too), checked as above: nothing outside the
# home, no hidden folder (.git, .venv), no link. Never the cookie secret nor the DKIM key; SENDFILE,
# which mails a file anywhere, only for a SuperUser with a password, never
# spool/, member files only by list name (never_sent). Files
# are stored by mail only under archive/: the configuration, member files,
# logs and spools change through their own commands, and the program's code
# is not replaced by mail.

SECRET = {"tristero.key", "dkim.key"}


def home_path(s, name):
    """(name relative to the site's folder, its path) of a file of the site; raises Refused."""
    home = s.ctx.site.home
    if os.path.isabs(name):
        rel = os.path.relpath(os.path.normpath(name), home)
        if rel == ".." or rel.startswith(".." + os.sep):
            raise Refused(s.text("files.outside-home", name=messages.clean(name, 80), home=home))
        name = rel.replace(os.sep, "/")
    path = resolve(home, name)
    if name.lower() in SECRET or os.path.realpath(path) in _secrets(s.ctx):
        raise Refused(s.text("files.secret", name=name))
    return name, path


def _secrets(ctx):
    """The real paths of the site's secrets: the cookie key and the DKIM private key
    ([DKIM] KeyFile, or dkim.key where dkim-keygen writes one by default)."""
    found = {os.path.realpath(os.path.join(ctx.site.home, n)) for n in SECRET}
    if ctx.config.get("DKIM", "KeyFile"):
        found.add(os.path.realpath(signing.key_path(ctx.site, ctx.config)))
    return found


def never_sent(s, name):
    """Why CONFIG SENDFILE does not send the site's file name (relative, "/" between
    parts), or None: what an administrator would not mean to mail away, whatever the
    command says. spool/ holds mail as it came (and the site's state), lists/ the
    member files (sent only when asked for by list name: CONFIG SENDFILE LIST name)."""
    parts = [p.lower() for p in name.split("/") if p not in ("", ".")]
    if not parts or parts[0] in SECRET:
        return s.text("files.secret", name=name)
    if parts[0] == "spool":
        return s.text("files.spool", name=name)
    if parts[0] == "lists":
        return s.text("files.member-file", name=name)
    return None
