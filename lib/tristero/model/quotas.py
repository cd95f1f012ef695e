"""Quotas: what the site sent each sender today, and the budgets that bound it.

``spool/quotas.csv`` holds, for each address the site answered today, the
day, the bytes of files and listings sent on its requests (GET, FETCH,
CONFIG SENDFILE/ATTACH, INDEX, SEARCH: ``MaxReplyDaily`` kilobytes a day),
and how many replies went to it while it was a stranger (an address that is
neither a member of a list here nor privileged: ``MaxStrangerReplies`` a
day). A line of another day counts nothing: the counts start again each day.
The file is state like lockouts.csv: changed through the run's journal (a
message rolled back takes its counts with it), written at commit; a person
may delete a line to give a sender a new day.
"""

from __future__ import annotations

import csv
import io
import os

from tristero.model.site import Site

COLUMNS = ("sender", "day", "bytes", "stranger_replies")


class Entry:
    """One sender's day: the bytes sent on its requests, the replies sent to it as a stranger."""

    def __init__(self, day: str, sent: int = 0, replies: int = 0) -> None:
        self.day, self.sent, self.replies = day, sent, replies


def path(site: Site) -> str:
    return os.path.join(site.spool, "quotas.csv")


def parse(text: str) -> dict[str, Entry]:
    """{sender (lower case): Entry} of the file's text; a line that does not read is skipped."""
    table = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) != 4 or row[0].strip().lower() in ("", COLUMNS[0]):
            continue
        try:
            table[row[0].strip().lower()] = Entry(row[1].strip(), int(row[2]), int(row[3]))
        except ValueError:
            continue
    return table


def load(file: str) -> dict[str, Entry]:
    try:
        with open(file, encoding="utf-8", errors="replace", newline="") as f:
            return parse(f.read())
    except FileNotFoundError:
        return {}


def render(table: dict[str, Entry]) -> bytes:
    """The file's bytes: the lines of the newest day in it (older ones count nothing)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    newest = max((e.day for e in table.values()), default="")
    for sender in sorted(table):
        e = table[sender]
        if e.day == newest:
            w.writerow([sender, e.day, e.sent, e.replies])
    return out.getvalue().encode("utf-8")


def today(ctx) -> str:
    return ctx.now.date().isoformat()


def entry(ctx, sender: str) -> Entry:
    """sender's Entry for today (a fresh one when the file has none of today)."""
    e = ctx.state.quotas().get(sender.lower())
    day = today(ctx)
    return Entry(day, e.sent, e.replies) if e is not None and e.day == day else Entry(day)


def daily_left(ctx, sender: str) -> int:
    """The bytes sender may still be sent today on its requests (MaxReplyDaily)."""
    return max(0, ctx.config.globals("MaxReplyDaily") * 1024 - entry(ctx, sender).sent)


def spend(ctx, sender: str, n: int) -> None:
    """Count n bytes sent on sender's request today."""
    e = entry(ctx, sender)
    ctx.state.set_quota(sender.lower(), Entry(e.day, e.sent + n, e.replies))


def stranger_reply(ctx, sender: str) -> bool:
    """Count a reply to sender as a stranger; False (nothing counted) when today's
    MaxStrangerReplies are spent."""
    e = entry(ctx, sender)
    if e.replies >= ctx.config.globals("MaxStrangerReplies"):
        return False
    ctx.state.set_quota(sender.lower(), Entry(e.day, e.sent, e.replies + 1))
    return True
