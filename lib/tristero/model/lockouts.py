"""Lockouts: wrong passwords counted per password, and the lock too many of them cause.

``spool/lockouts.csv`` holds, for each user of access.ini whose password was
given wrong within the last hour (the rule's user, an address or a pattern
such as ``*``: the password guessed, whoever claims it), the times of those
failures and, once there were more than LIMIT of them, the time its lock ends.
Until then every command or post its password guards is refused without the
password being tried. The file is state like a member file: changed through
the run's journal (a message rolled back takes its failures with it), written
at commit, and a person may delete a line to lift a lock.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
from collections.abc import Iterable

from tristero.model.site import Site

LIMIT = 5                                   # more wrong passwords than this within WINDOW lock
WINDOW = datetime.timedelta(hours=1)
LOCK = datetime.timedelta(hours=1)
COLUMNS = ("user", "failures", "locked_until")


class Entry:
    """The recent failures of one user's password, and its lock (None: not locked)."""

    def __init__(self, failures: Iterable[datetime.datetime] = (), until: datetime.datetime | None = None) -> None:
        self.failures = tuple(failures)
        self.until = until


def path(site: Site) -> str:
    return os.path.join(site.spool, "lockouts.csv")


def _time(text):
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    # A time written by hand without a zone is read as UTC rather than refused.
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def parse(text: str) -> dict[str, Entry]:
    """{user (lower case): Entry} of the file's text; a line that does not read is skipped."""
    table = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) != 3 or row[0].strip().lower() in ("", COLUMNS[0]):
            continue
        failures = [t for t in (_time(w) for w in row[1].split()) if t is not None]
        until = _time(row[2]) if row[2].strip() else None
        table[row[0].strip().lower()] = Entry(failures, until)
    return table


def load(file: str) -> dict[str, Entry]:
    try:
        with open(file, encoding="utf-8", errors="replace", newline="") as f:
            return parse(f.read())
    except FileNotFoundError:
        return {}


def render(table: dict[str, Entry]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for user in sorted(table):
        e = table[user]
        w.writerow([user, " ".join(t.isoformat() for t in e.failures), e.until.isoformat() if e.until else ""])
    return out.getvalue().encode("utf-8")


def locked_until(ctx, user: str) -> datetime.datetime | None:
    """When the lock on user's password ends, or None when it is not locked now."""
    entry = ctx.state.lockouts().get(user.lower())
    if entry is not None and entry.until is not None and entry.until > ctx.now:
        return entry.until
    return None


def failed(ctx, user: str) -> datetime.datetime | None:
    """Count a wrong password for user; returns the end of the lock this failure
    started, or None."""
    key = user.lower()
    entry = ctx.state.lockouts().get(key) or Entry()
    recent = [t for t in entry.failures if t > ctx.now - WINDOW] + [ctx.now]
    until = entry.until if entry.until is not None and entry.until > ctx.now else None
    started = None
    if until is None and len(recent) > LIMIT:
        until = started = ctx.now + LOCK
    ctx.state.set_lockout(key, Entry(recent, until))
    return started

