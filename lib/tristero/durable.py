"""Writes that survive a crash: whole-file replacement, fsync, and idempotent appends."""

import os


def fsync_dir(path):
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, data, sync=True):
    """Write bytes to a new file at path (which must not be in use), fsynced."""
    with open(path, "wb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())


def atomic_write(path, data):
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
    fsync_dir(folder)


def append_at(path, offset, data):
    """Append data to path so that the file ends up exactly offset+len(data) long.

    Safe to repeat: a file already at the final size is left alone, and one
    left part-written by a crash is cut back to offset and written again.
    """
    final = offset + len(data)
    size = file_size(path)
    if not data or size >= final:
        # Already applied: never cut into what is there.
        return
    if size < offset:
        raise OSError("%s is shorter (%d) than the journal expects (%d)" % (path, size, offset))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def file_size(path):
    """Size of path in bytes, 0 when it does not exist."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def fingerprint(path):
    """What identifies one version of a file on disk, or None when it is absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
