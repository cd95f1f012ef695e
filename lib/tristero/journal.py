"""Transactions: the one place where a batch's work reaches the disk.

A transaction is staged in ``spool/txn/NAME.tmp/``: every outbound file, every
new version of a state file, every append, every move of an inbound message,
listed in ``manifest.json``. Renaming the folder to ``spool/txn/NAME/`` is the
commit. Applying it renames staged files into place, appends at recorded
offsets, and moves inbound mail; each step can be repeated without effect, so
a run that finds a committed transaction (a crash happened while applying it)
applies it again, and one that finds an uncommitted one throws it away: the
inbound messages it covered are still in ``spool/in/new/`` and are redone.
"""

import json
import os
import shutil

from . import durable

TXN_DIR = os.path.join("spool", "txn")


class Transaction:
    """Work staged for one commit."""

    def __init__(self, home, number):
        self.home = home
        self.name = "%08d-%d" % (number, os.getpid())
        self.root = os.path.join(home, TXN_DIR)
        self.staging = os.path.join(self.root, self.name + ".tmp")
        self.ops = []
        self.staged = 0
        self._sizes = {}
        os.makedirs(self.root, exist_ok=True)
        os.mkdir(self.staging)

    def _stage(self, data):
        """Write data (bytes, or a function that writes to a binary file) to staging."""
        self.staged += 1
        rel = "%06d" % self.staged
        durable.write_file(os.path.join(self.staging, rel), data)
        return rel

    def _rel(self, path):
        return os.path.relpath(path, self.home)

    def outbound(self, name, data):
        """Stage one BSMTP file to appear in spool/out/new/ as name."""
        self.ops.append(["replace", self._stage(data), os.path.join("spool", "out", "new", name)])

    def replace(self, path, data):
        """Stage a new version of a state file (bytes, or a writer function)."""
        self.ops.append(["replace", self._stage(data), self._rel(path)])

    def append(self, path, data):
        """Stage bytes to append to path (a log, an archive file)."""
        offset = self._sizes.get(path)
        if offset is None:
            offset = durable.file_size(path)
        self._sizes[path] = offset + len(data)
        self.ops.append(["append", self._stage(data), self._rel(path), offset])

    def move(self, src, dst):
        """Stage the move of a file already on disk (an inbound message)."""
        self.ops.append(["move", self._rel(src), self._rel(dst)])

    def delete(self, path):
        """Stage the removal of a file or folder."""
        self.ops.append(["delete", self._rel(path)])

    def mkdir(self, path):
        """Stage the creation of a folder."""
        self.ops.append(["mkdir", self._rel(path)])

    def mark(self):
        """A point to roll back to if the next message fails."""
        return (len(self.ops), self.staged, dict(self._sizes))

    def rollback(self, mark):
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

    def discard(self):
        shutil.rmtree(self.staging, ignore_errors=True)

    def commit(self):
        """Make the transaction durable; from here on it will be applied."""
        manifest = json.dumps({"ops": self.ops}, indent=0).encode()
        durable.write_file(os.path.join(self.staging, "manifest.json"), manifest)
        durable.fsync_dir(self.staging)
        final = os.path.join(self.root, self.name)
        durable.replace(self.staging, final)
        durable.fsync_dir(self.root)
        apply(self.home, final)


def apply(home, folder):
    """Apply a committed transaction folder, then remove it. Repeatable.

    The manifest goes first when it is done: a folder without one is
    finished work whose removal a crash cut short.
    """
    manifest = os.path.join(folder, "manifest.json")
    with open(manifest, "rb") as f:
        ops = json.load(f)["ops"]
    touched = set()
    ends = {}       # where this transaction's last append to a file ended
    for op in ops:
        kind = op[0]
        if kind in ("move", "replace"):
            # replace takes a staged file, move one already in the site.
            src = os.path.join(folder if kind == "replace" else home, op[1])
            if os.path.lexists(src):
                touched.add(durable.replace(src, os.path.join(home, op[2])))
        elif kind == "append":
            target = os.path.join(home, op[2])
            folder_of = os.path.dirname(target)
            durable.make_dirs(folder_of)
            touched.add(folder_of)
            with open(os.path.join(folder, op[1]), "rb") as f:
                ends[target] = durable.append_at(target, op[3], f.read(), ends.get(target))
        elif kind == "delete":
            target = os.path.join(home, op[1])
            if os.path.lexists(target):
                durable.remove(target)
                touched.add(os.path.dirname(target))
        elif kind == "mkdir":
            target = os.path.join(home, op[1])
            durable.make_dirs(target)
            touched.add(os.path.dirname(target))
        else:
            raise ValueError("unknown journal operation %r in %s" % (kind, folder))
    for d in sorted(touched):
        if os.path.isdir(d):
            durable.fsync_dir(d)
    durable.remove(manifest)
    durable.remove(folder)
    durable.fsync_dir(os.path.dirname(folder))


def recover(home):
    """Finish committed transactions a crash left behind; drop uncommitted ones.

    Returns (applied, discarded) counts. Raises OSError when the disk fails,
    ValueError when a committed manifest cannot be read.
    """
    root = os.path.join(home, TXN_DIR)
    applied = discarded = 0
    if not os.path.isdir(root):
        return applied, discarded
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.endswith(".tmp"):
            durable.remove(path)
            discarded += 1
        elif os.path.exists(os.path.join(path, "manifest.json")):
            apply(home, path)
            applied += 1
        elif os.path.isdir(path):
            # Applied; a crash came while it was being removed.
            durable.remove(path)
    return applied, discarded


def pending(home):
    """Names of committed transactions not yet applied (for --dry-run reports)."""
    root = os.path.join(home, TXN_DIR)
    if not os.path.isdir(root):
        return []
    return [n for n in sorted(os.listdir(root))
            if not n.endswith(".tmp") and os.path.exists(os.path.join(root, n, "manifest.json"))]
