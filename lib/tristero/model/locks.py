"""Locks that keep two runs (or two delivers) from overlapping."""

from __future__ import annotations

import filelock


class Busy(Exception):
    """Another process holds the lock."""


def hold(path: str) -> _Held:
    """Take the lock at path at once, or raise Busy. Use as a context manager."""
    lock = filelock.FileLock(path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise Busy(path)
    return _Held(lock)


class _Held:
    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.lock.release()
