"""Pending password changes: LISTSERV's PW ADD, PW REP and PW RESET wait for an OK.

``spool/passwords-pending.csv`` holds, for each user who asked for a change of
their personal password and has not yet confirmed it, what was asked (ADD, REP
or RESET), the new password's hash (rights.hash_password; empty for RESET) and
the last day the request may be confirmed. One request per user: a new one
replaces the last. The confirmation code (cookies.bake over the function PW,
the hash and the user) is mailed to the user and never stored; OK CODE from
that user applies the change. The file is state like lockouts.csv: changed
through the run's journal, written at commit; a person may delete a line to
cancel a request.
"""

from __future__ import annotations

import csv
import datetime
import io
import os

from tristero.model.site import Site

COLUMNS = ("user", "action", "hash", "until")
ACTIONS = ("ADD", "REP", "RESET")


class Entry:
    """One user's request: action (ADD, REP, RESET), the new hash, the last day it holds."""

    def __init__(self, action: str, hash: str, until: datetime.date) -> None:
        self.action, self.hash, self.until = action, hash, until


def path(site: Site) -> str:
    return os.path.join(site.spool, "passwords-pending.csv")


def parse(text: str) -> dict[str, Entry]:
    """{user (lower case): Entry} of the file's text; a line that does not read is skipped."""
    table = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) != 4 or row[0].strip().lower() in ("", COLUMNS[0]) or row[1].strip() not in ACTIONS:
            continue
        try:
            until = datetime.date.fromisoformat(row[3].strip())
        except ValueError:
            continue
        table[row[0].strip().lower()] = Entry(row[1].strip(), row[2].strip(), until)
    return table


def load(file: str) -> dict[str, Entry]:
    try:
        with open(file, encoding="utf-8", errors="replace", newline="") as f:
            return parse(f.read())
    except FileNotFoundError:
        return {}


def render(table: dict[str, Entry], today: datetime.date | None = None) -> bytes:
    """The file's bytes (requests that expired before today are left out)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for user in sorted(table):
        e = table[user]
        if today is None or e.until >= today:
            w.writerow([user, e.action, e.hash, e.until.isoformat()])
    return out.getvalue().encode("utf-8")
