"""Transactions: the one place where a batch's work reaches the disk.

A transaction is staged in ``spool/txn/NAME.tmp/``: every outbound file, every
new version of a state file, every append, every move of an inbound message,
listed in ``manifest.json``. Renaming the folder to ``spool/txn/NAME/`` is the
commit. Applying it renames staged files into place, appends at recorded
offsets, and moves inbound mail; each step can be repeated without effect, so
a run that finds a committed transaction (a crash happened while applying it)
applies it again, and one that finds an uncommitted one throws it away: the
inbound messages it covered are still in ``spool/in/new/`` and are redone.

A step that cannot be done because of what is at its path (a folder where a
file goes, a file where a folder goes, a link, a path that leaves the site)
is skipped and reported, never retried: a committed transaction must not be
able to stop every later run. A failure of the disk itself (full, read-only,
I/O error) still stops the run, and the repeat finishes the work.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from collections.abc import Callable

from tristero.model import durable, spools

TXN_DIR = os.path.join("spool", "txn")

# What is at the path makes the step impossible; trying again cannot help.
# Anything else (ENOSPC, EDQUOT, EROFS, EIO, EFBIG, EACCES ...) is the disk's.
_CANNOT_MAKE = {errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ELOOP, errno.ENOENT,
                errno.ENOTEMPTY, errno.ENAMETOOLONG, errno.EINVAL, errno.EXDEV, errno.EMLINK}


class Skipped(Exception):
    """A step of a transaction that cannot be done where it points; str() says why."""


class Recovered(tuple):
    """(applied, discarded) counts of recover, with .skipped: [(step, why)] not done."""
    skipped = ()


class Transaction:
    """Work staged for one commit."""

    def __init__(self, home: str, number: int) -> None:
        self.home = home
        self.name = "%08d-%d" % (number, os.getpid())
        self.root = os.path.join(home, TXN_DIR)
        self.staging = os.path.join(self.root, self.name + ".tmp")
        self.ops = []
        self.staged = 0
        self.skipped = []
        self._sizes = {}
        self._changes = {}      # absolute path -> [op]: what the ops staged so far do to it
        self._folders = set()   # folders that the staged files go into
        self._indexed = 0       # ops already in _changes and _folders
        os.makedirs(self.root, exist_ok=True)
        os.mkdir(self.staging)

    def _stage(self, data):
        """Write data (bytes, or a function that writes to a binary file) to staging.

        Not fsynced here: commit flushes every staged file before the manifest.
        """
        self.staged += 1
        rel = "%06d" % self.staged
        durable.write_file(os.path.join(self.staging, rel), data, sync=False)
        return rel

    def _rel(self, path):
        return os.path.relpath(path, self.home)

    def outbound(self, name: str, data: durable.Data) -> str:
        """Stage one BSMTP file to appear in spool/out/new/; returns its name: name, or
        the first of its variants (see free_name) that no file in new/ or cur/ has."""
        new = os.path.join(self.home, "spool", "out", "new")
        cur = os.path.join(self.home, "spool", "out", "cur")
        name = free_name(name, lambda n: self.taken(os.path.join(new, n))
                         or os.path.lexists(os.path.join(cur, spools.processed_name(n))))
        self.ops.append(["replace", self._stage(data), os.path.join("spool", "out", "new", name)])
        return name

    def replace(self, path: str, data: durable.Data) -> None:
        """Stage a new version of a state file (bytes, or a writer function)."""
        self.ops.append(["replace", self._stage(data), self._rel(path)])

    def append(self, path: str, data: bytes) -> None:
        """Stage bytes to append to path (a log, an archive file)."""
        offset = self._sizes.get(path)
        if offset is None:
            offset = durable.file_size(path)
        self._sizes[path] = offset + len(data)
        self.ops.append(["append", self._stage(data), self._rel(path), offset])

    def move(self, src: str, dst: str) -> str:
        """Stage the move of a file already on disk (an inbound message); returns where
        it goes: dst, or the first variant of its name (see free_name) not taken."""
        folder = os.path.dirname(dst)
        dst = os.path.join(folder, free_name(os.path.basename(dst),
                                             lambda n: self.taken(os.path.join(folder, n))))
        self.ops.append(["move", self._rel(src), self._rel(dst)])
        return dst

    def delete(self, path: str) -> None:
        """Stage the removal of a file or folder."""
        self.ops.append(["delete", self._rel(path)])

    def mkdir(self, path: str) -> None:
        """Stage the creation of a folder."""
        self.ops.append(["mkdir", self._rel(path)])

    def taken(self, path: str) -> bool:
        """True when a file is at path, or this transaction puts one there."""
        ops = self.changes().get(path)
        if not ops:
            return os.path.lexists(path)
        last = ops[-1]
        return not (last[0] == "delete" or last[0] == "move" and self._rel(path) == last[1])

    def changes(self) -> dict[str, list[list]]:
        """{absolute path: [op, ...]} of the paths the ops staged so far write, append
        to, move to or from, delete or make, each with its ops in the order of applying."""
        for op in self.ops[self._indexed:]:
            kind = op[0]
            paths = [op[1]] if kind in ("delete", "mkdir") else op[1:3] if kind == "move" else [op[2]]
            for rel in paths:
                self._changes.setdefault(os.path.join(self.home, rel), []).append(op)
            if kind != "delete":
                target = os.path.join(self.home, paths[-1])
                folder = target if kind == "mkdir" else os.path.dirname(target)
                while folder not in self._folders and len(folder) > len(self.home):
                    self._folders.add(folder)
                    folder = os.path.dirname(folder)
        self._indexed = len(self.ops)
        return self._changes

    def folders(self) -> set[str]:
        """The folders (absolute paths) that the files and folders staged so far go into."""
        self.changes()
        return self._folders

    def data(self, op: list) -> bytes:
        """The bytes a replace or append op stages."""
        with open(os.path.join(self.staging, op[1]), "rb") as f:
            return f.read()

    def size(self, op: list) -> int:
        """The number of bytes a replace or append op stages."""
        return os.path.getsize(os.path.join(self.staging, op[1]))

    def mark(self) -> tuple[int, int, dict[str, int]]:
        """A point to roll back to if the next message fails."""
        return (len(self.ops), self.staged, dict(self._sizes))

    def rollback(self, mark: tuple[int, int, dict[str, int]]) -> None:
        """Forget everything staged since mark."""
        nops, staged, sizes = mark
        for n in range(staged + 1, self.staged + 1):
            try:
                os.unlink(os.path.join(self.staging, "%06d" % n))
            except OSError:
                # Not in the manifest, so never applied; it goes with the folder.
                pass
        del self.ops[nops:]
        self.staged = staged
        self._sizes = sizes
        if nops < self._indexed:
            self._changes, self._folders, self._indexed = {}, set(), 0

    def split(self, start: int, number: int) -> Transaction:
        """A transaction of its own (numbered number) holding the outbound files staged
        by the ops from start on, taken out of this one (their staged files moved, not
        copied): committed alone, it lets a large message's first files go out before
        its last are written (Batch.stream_out)."""
        side = Transaction(self.home, number)
        for op in self.ops[start:]:
            if op[0] != "replace" or not op[2].startswith(os.path.join("spool", "out", "new") + os.sep):
                raise ValueError("only outbound files are split off: %s" % _describe(op))
            side.staged += 1
            rel = "%06d" % side.staged
            os.rename(os.path.join(self.staging, op[1]), os.path.join(side.staging, rel))
            side.ops.append(["replace", rel, op[2]])
        del self.ops[start:]
        self._changes, self._folders, self._indexed = {}, set(), 0
        return side

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self) -> list[tuple[str, str]]:
        """Make the transaction durable; from here on it will be applied.

        Returns [(step, why)] of the steps skipped because they cannot be done
        (see apply); the caller logs them.
        """
        # Every staged file is on the disk before the manifest that names it,
        # and the manifest before the rename that commits: a power loss leaves
        # an uncommitted folder or a whole committed one.
        durable.fsync_files([os.path.join(self.staging, op[1]) for op in self.ops if op[0] in ("replace", "append")])
        manifest = json.dumps({"ops": self.ops}, indent=0).encode()
        durable.write_file(os.path.join(self.staging, "manifest.json"), manifest)
        durable.fsync_dir(self.staging)
        final = os.path.join(self.root, self.name)
        durable.replace(self.staging, final)
        durable.fsync_dir(self.root)
        self.skipped = apply(self.home, final)
        return self.skipped


def free_name(name: str, taken: Callable[[str], bool]) -> str:
    """name, or the first of NAME-2.EXT, NAME-3.EXT ... (a maildir's ":2,S" kept at the
    end) for which taken(candidate) is false: a new file never replaces another, and
    the same site state gives the same names."""
    if not taken(name):
        return name
    base, colon, info = name.partition(":")
    stem, dot, ext = base.rpartition(".")
    if not stem:
        stem, dot, ext = base, "", ""
    n = 2
    while True:
        candidate = "%s-%d%s%s%s%s" % (stem, n, dot, ext, colon, info)
        if not taken(candidate):
            return candidate
        n += 1


def _describe(op):
    return " ".join(str(x) for x in op if not (isinstance(x, str) and x.isdigit() and len(x) == 6))


def _check_parent(home, target, safe):
    """Raise Skipped unless target's folder is inside home, reached with no link.

    safe: folders already found good in this apply (a set, filled here).
    """
    parent = os.path.dirname(target)
    if parent in safe:
        return
    rel = os.path.relpath(parent, home)
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise Skipped("%s is outside the site's folder" % target)
    path = home
    for part in ([] if rel == "." else rel.split(os.sep)):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return      # made by the step, below a folder found good
        if stat.S_ISLNK(st.st_mode):
            raise Skipped("%s is a link: not followed" % path)
        if not stat.S_ISDIR(st.st_mode):
            raise Skipped("%s is not a folder" % path)
    safe.add(parent)


def _apply_op(home, folder, op, touched, ends, safe):
    kind = op[0]
    if kind in ("move", "replace"):
        # replace takes a staged file, move one already in the site.
        src = os.path.join(folder if kind == "replace" else home, op[1])
        if os.path.lexists(src):
            dst = os.path.join(home, op[2])
            _check_parent(home, dst, safe)
            touched.add(durable.replace(src, dst))
    elif kind == "append":
        target = os.path.join(home, op[2])
        _check_parent(home, target, safe)
        folder_of = os.path.dirname(target)
        durable.make_dirs(folder_of)
        touched.add(folder_of)
        with open(os.path.join(folder, op[1]), "rb") as f:
            data = f.read()
        ends[target] = durable.append_at(target, op[3], data, ends.get(target))
    elif kind == "delete":
        target = os.path.join(home, op[1])
        _check_parent(home, target, safe)
        if os.path.lexists(target):
            durable.remove(target)
            touched.add(os.path.dirname(target))
    elif kind == "mkdir":
        target = os.path.join(home, op[1])
        _check_parent(home, target, safe)
        if os.path.islink(target):
            raise Skipped("%s is a link: not followed" % target)
        durable.make_dirs(target)
        touched.add(os.path.dirname(target))
    else:
        raise ValueError("unknown journal operation %r in %s" % (kind, folder))


def apply(home: str, folder: str) -> list[tuple[str, str]]:
    """Apply a committed transaction folder, then remove it. Repeatable.

    Returns [(step, why)] of the steps skipped: those that cannot be done
    because of what is at their path (errno in _CANNOT_MAKE, a link, a path
    leaving the site). A failure of the disk raises OSError; the repeat
    finishes the work. The manifest goes first when it is done: a folder
    without one is finished work whose removal a crash cut short.
    """
    manifest = os.path.join(folder, "manifest.json")
    with open(manifest, "rb") as f:
        ops = json.load(f)["ops"]
    touched = set()
    ends = {}       # where this transaction's last append to a file ended
    safe = set()    # folders whose way from home has no link
    skipped = []
    for op in ops:
        try:
            _apply_op(home, folder, op, touched, ends, safe)
        except Skipped as e:
            skipped.append((_describe(op), str(e)))
        except OSError as e:
            if not isinstance(e, durable.NotAFile) and e.errno not in _CANNOT_MAKE:
                raise
            skipped.append((_describe(op), "%s: %s" % (e.filename or op[-1], e.strerror or e)))
    for d in sorted(touched):
        if os.path.isdir(d):
            durable.fsync_dir(d)
    durable.remove(manifest)
    durable.remove(folder)
    durable.fsync_dir(os.path.dirname(folder))
    return skipped


def recover(home: str) -> Recovered:
    """Finish committed transactions a crash left behind; drop uncommitted ones.

    Returns (applied, discarded) counts as a Recovered, whose .skipped lists
    the steps (step, why) that could not be done (see apply) for the caller
    to log. Raises OSError when the disk fails, ValueError when a committed
    manifest cannot be read.
    """
    root = os.path.join(home, TXN_DIR)
    applied = discarded = 0
    skipped = []
    if not os.path.isdir(root):
        return Recovered((applied, discarded))
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.endswith(".tmp"):
            durable.remove(path)
            discarded += 1
        elif os.path.exists(os.path.join(path, "manifest.json")):
            skipped += apply(home, path)
            applied += 1
        elif os.path.isdir(path):
            # Applied; a crash came while it was being removed.
            durable.remove(path)
    done = Recovered((applied, discarded))
    done.skipped = skipped
    return done


def pending(home: str) -> list[str]:
    """Names of committed transactions not yet applied (for --dry-run reports)."""
    root = os.path.join(home, TXN_DIR)
    if not os.path.isdir(root):
        return []
    return [n for n in sorted(os.listdir(root))
            if not n.endswith(".tmp") and os.path.exists(os.path.join(root, n, "manifest.json"))]
