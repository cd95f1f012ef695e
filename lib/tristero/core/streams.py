"""Streams: outbound bytes made piece by piece as they are written, so that a big post
(its body a view of the inbound file) is never copied whole into memory.

A Stream is what the journal stages (durable.write_file takes a function that
writes to the open file) and has a len(), like the bytes it stands for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

CHUNK = 1 << 20     # bytes transformed at a time


class Stream:
    """Bytes made by make() (a function returning an iterator of bytes) when written."""

    def __init__(self, make: Callable[[], Iterator[bytes]]) -> None:
        self.make = make
        self._len = None

    def __call__(self, f):
        for piece in self.make():
            f.write(piece)

    def __len__(self):
        if self._len is None:
            self._len = sum(len(piece) for piece in self.make())
        return self._len

    def __bytes__(self):
        return b"".join(self.make())


class Pieces:
    """A message as pieces of bytes (bytes or memoryviews), not joined: a header made
    for it and the body as a view of the inbound message."""

    def __init__(self, *pieces: bytes | memoryview, eight_bit: bool | None = None) -> None:
        self.pieces = pieces
        self.eight_bit = eight_bit      # None: not through the outbound gate yet (core.outbound)

    def __len__(self):
        return sum(len(p) for p in self.pieces)

    def __bytes__(self):
        return b"".join(bytes(p) for p in self.pieces)


def chunks(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The pieces as bytes of at most CHUNK, each cut just after a line end where one is
    in reach, never between CR and LF."""
    for piece in pieces:
        view = memoryview(piece)
        start, n = 0, len(view)
        while start < n:
            chunk = bytes(view[start:start + CHUNK])
            if start + len(chunk) < n:
                cut = chunk.rfind(b"\n") + 1
                if not cut:
                    cut = len(chunk) - 1 if chunk.endswith(b"\r") else len(chunk)
                chunk = chunk[:cut]
            start += len(chunk)
            yield chunk


def stuffed(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The lines of pieces as BSMTP carries them (see spools.dot_stuff): CR LF and a bare
    CR made LF, "." doubled at line starts, LF at the end; an iterator of bytes."""
    at_start = True
    for chunk in chunks(pieces):
        chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            continue
        if at_start and chunk.startswith(b"."):
            chunk = b"." + chunk
        chunk = chunk.replace(b"\n.", b"\n..")
        at_start = chunk.endswith(b"\n")
        yield chunk
    if not at_start:
        yield b"\n"


def mbox_quoted(pieces: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The lines of pieces as an mbox file keeps them (see archive): CR LF made LF, a line
    that begins "From " made ">From "; an iterator of bytes."""
    at_start = True
    for chunk in chunks(pieces):
        chunk = chunk.replace(b"\r\n", b"\n")
        if not chunk:
            continue
        if at_start and chunk.startswith(b"From "):
            chunk = b">" + chunk
        chunk = chunk.replace(b"\nFrom ", b"\n>From ")
        at_start = chunk.endswith(b"\n")
        yield chunk
