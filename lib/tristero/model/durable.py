"""Writes that survive a crash: whole-file replacement, fsync, and idempotent appends.

Every step that changes the site's disk goes through here (the journal uses
nothing else), which is what lets the crash tests stop a run at each one:
with ``TRISTERO_CRASH_AFTER=N`` in its environment a process kills itself
with SIGKILL right after its N-th step (a file written, renamed, appended,
removed, a folder made); with ``TRISTERO_CRASH_ON=TEXT`` a run kills itself
when it reads a message that holds TEXT (crash_on). Unset, as in production,
each costs one comparison.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import stat
from typing import BinaryIO, Callable, Union

_CRASH_AFTER = int(os.environ.get("TRISTERO_CRASH_AFTER") or 0)
_CRASH_ON = os.environ.get("TRISTERO_CRASH_ON", "").encode()
_steps = 0

# What a file is written from: its bytes, or a function that writes them to the open file.
Data = Union[bytes, Callable[[BinaryIO], object]]


def _step():
    """Count one change to the disk; the testing hook above may end the process here."""
    global _steps
    _steps += 1
    if _steps == _CRASH_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)


def crash_on(message: bytes) -> None:
    """The testing hook TRISTERO_CRASH_ON=TEXT: a message that holds TEXT kills the
    process (SIGKILL) that reads it, as a poison message would."""
    if _CRASH_ON and _CRASH_ON in message:
        os.kill(os.getpid(), signal.SIGKILL)


class NotAFile(OSError):
    """A path that must be a regular file is a link, a folder or a special file.

    Not a failure of the disk: the journal skips the step and reports it.
    """


def fsync_file(path: str) -> None:
    """Flush a file already written (without fsync) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# From this many files on, fsync_files flushes their file system at once (syncfs).
SYNC_AT_ONCE = 64


def _syncfs():
    """libc's syncfs(2) (Linux), or None."""
    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _syncfs()


def fsync_files(paths: list[str]) -> None:
    """Flush files already written (without fsync) to disk: each in turn, or, from
    SYNC_AT_ONCE files on, where the system offers it, the whole file system they are
    on with one syncfs(2): one journal commit instead of one per file (a post to a
    large list stages thousands), with the same guarantee for every file."""
    if len(paths) < SYNC_AT_ONCE or _SYNCFS is None:
        for path in paths:
            fsync_file(path)
        return
    fd = os.open(paths[0], os.O_RDONLY)
    try:
        if _SYNCFS(fd) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), paths[0])
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str, data: Data, sync: bool = True) -> None:
    """Write a new file at path (which must not be in use), fsynced.

    data is bytes, or a function that writes to the open binary file.
    """
    try:
        with open(path, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
    except OSError as e:
        raise _named(e, path)
    _step()


def append_record(fd: int, data: bytes) -> None:
    """Append data to an open file in one write, not fsynced (the caller fsyncs a batch)."""
    os.write(fd, data)
    _step()


def atomic_write(path: str, data: Data) -> None:
    """Replace path with data: written beside it, fsynced, renamed into place."""
    folder = os.path.dirname(path) or "."
    tmp = os.path.join(folder, ".%s.tmp%d" % (os.path.basename(path), os.getpid()))
    try:
        write_file(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _step()
    fsync_dir(folder)


def replace(src: str, dst: str) -> str:
    """Rename src to dst (replacing it), making dst's folder first if need be.

    Returns the folder of dst, whose entries the caller fsyncs.
    """
    folder = os.path.dirname(dst)
    make_dirs(folder)
    os.replace(src, dst)
    _step()
    return folder


def make_dirs(path: str) -> None:
    """Create a folder and any missing parents (nothing when it exists)."""
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        _step()


def remove(path: str) -> None:
    """Remove a file, a link or a whole folder; nothing when it is absent."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    else:
        return
    _step()


def append_at(path: str, offset: int, data: bytes, start: int | None = None) -> int:
    """Append data to path exactly once, however often this is repeated.

    offset is the file's size when the append was planned; start, where the
    search for an earlier copy begins (default offset). Returns the position
    just after the data in the file.

    Normally the data is found at offset (already done) or written there,
    cutting off what a crash left half-written. When something else appended
    to the file in between (a line logged directly, another program), the data
    goes after that, and a repeat finds it there. A file cut shorter than
    offset by a person gets the data at its end. Data of whole lines starts a
    line of its own, whatever line a full disk cut short before it.
    """
    if not data:
        return offset
    # Never through a link, never into a FIFO or device (a person with write
    # access to archive/ could plant one to have mail appended anywhere).
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotAFile(errno.ELOOP, "a link, not a file: not followed", path)
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(errno.EINVAL, "not a regular file", path)
        size = st.st_size
        begin = min(offset if start is None else start, size)
        tail = os.pread(fd, size - begin, begin) if size > begin else b""
        found = tail.find(data)
        if found >= 0:
            return begin + found + len(data)
        # Only our own half-written copy (or nothing) follows: write over it.
        at = begin if data.startswith(tail) or (b"\n" + data).startswith(tail) else size
        if data.endswith(b"\n") and at and os.pread(fd, 1, at - 1) != b"\n":
            data = b"\n" + data
        try:
            os.ftruncate(fd, at)
            view = memoryview(data)
            pos = at
            while view:
                written = os.pwrite(fd, view, pos)
                view, pos = view[written:], pos + written
            os.fsync(fd)
        except OSError as e:
            # A full disk: leave no partial copy behind to be read as lines.
            try:
                os.ftruncate(fd, at)
            except OSError:
                pass
            raise _named(e, path)
    finally:
        os.close(fd)
    _step()
    return at + len(data)


def _named(e, path):
    """The OSError e, naming path when it names no file (a write that found the disk full)."""
    if e.filename is None:
        e.filename = path
    return e


def file_size(path: str) -> int:
    """Size of path in bytes, 0 when it does not exist."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def fingerprint(path: str) -> tuple[int, int, int] | None:
    """What identifies one version of a file on disk, or None when it is absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
