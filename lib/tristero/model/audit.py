"""Audit trails: who changed which list's membership, and every privileged act.

``logs/NNNNNNNN.csv``, one per list: date, time, action, address, by whom,
how (subscriber, privileged, directory, or the filter that acted: bounces,
prescan). ``logs/security.at``: date, time,
address, list, command, result (done, or why refused). Both are appended in
the transaction of the message that caused them, so they never hold an act
that did not happen, nor one twice. Passwords never reach either.
"""

from __future__ import annotations

import csv
import io
import os

from tristero.model.site import Site

LIST_COLUMNS = ("date", "time", "action", "address", "by", "how")
SECURITY_COLUMNS = ("date", "time", "address", "list", "command", "result")


def _row(fields):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([" ".join(str(f).split()) for f in fields])
    return out.getvalue().encode("utf-8")


def list_file(site: Site, number: str) -> str:
    return os.path.join(site.logs, "%s.csv" % number)


def security_file(site: Site) -> str:
    return os.path.join(site.logs, "security.at")


def list_event(ctx, number: str, action: str, address: str, by: str, how: str | None = None) -> None:
    """Record a change of membership of list number (by: who acted; how: by default
    subscriber or privileged, from by)."""
    how = how or ("subscriber" if by.lower() == address.lower() else "privileged")
    ctx.append(list_file(ctx.site, number), _row(
        (ctx.now.strftime("%Y-%m-%d"), ctx.now.strftime("%H:%M:%S"), action, address, by, how)))


def list_events(ctx, number: str, action: str, addresses, by: str, how: str) -> None:
    """Record one change of membership for each of addresses (a bulk import or deletion),
    in one append."""
    day, time = ctx.now.strftime("%Y-%m-%d"), ctx.now.strftime("%H:%M:%S")
    ctx.append(list_file(ctx.site, number), b"".join(_row((day, time, action, a, by, how)) for a in addresses))


def security(ctx, who: str, listname: str | None, command: str, result: str) -> None:
    """Record a privileged command, or a refused attempt at one."""
    ctx.append(security_file(ctx.site), _row(
        (ctx.now.strftime("%Y-%m-%d"), ctx.now.strftime("%H:%M:%S"), who, listname or "", command, result)))


def read(path: str, since: str | None = None, limit: int = 1000) -> list[list[str]]:
    """The rows of a trail (dates from since on), the newest limit of them."""
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.reader(f):
                if row and (since is None or row[0] >= since):
                    rows.append(row)
                    if len(rows) > limit:
                        del rows[0]
    except FileNotFoundError:
        pass
    return rows
