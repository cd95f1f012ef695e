"""The daily log: logs/tristero-YYYY-MM-DD.log, one line per message and per action.

Lines of a batch are collected here and written as part of the transaction
that commits their work (so a redone message is never logged twice); lines
about the run itself (and deliver's) are appended directly.
"""

from __future__ import annotations

import datetime
import os
import sys

from tristero.core import messages
from tristero.model.site import Site

ERROR, MESSAGE, ACTION, DEBUG = 0, 1, 2, 3


class Logbook:
    def __init__(self, site: Site, now: datetime.datetime, level: int = MESSAGE, screen: int = MESSAGE,
                 echo: bool = False) -> None:
        self.site = site
        self.now = now
        self.level = level
        self.screen = screen
        self.echo = echo
        self.pending = []
        self.progress = None       # the batch's progress bar, while one is shown
        # The inbound message being processed (its .id the Message-ID, once read): every
        # action line names it, so that EXPLAIN finds the lines of one message.
        self.about = None

    def _format(self, text):
        return "%s %s" % (self.now.strftime("%Y-%m-%d %H:%M:%S"), _one_line(text))

    def log(self, level: int, text: str) -> None:
        """Collect a line for the next commit (and show it, on a terminal)."""
        if level >= ACTION and self.about is not None:
            text = "%s id=%s" % (text, messages.clean(self.about.id, 200))
        line = self._format(text)
        if level <= self.level:
            self.pending.append(line)
        self._show(level, line)

    def _show(self, level, line):
        if self.echo and level <= self.screen:
            # A progress bar on the terminal is wiped first and drawn again below
            # the line, so that neither overwrites the other.
            if self.progress is not None:
                self.progress.clear()
            sys.stderr.write(line + "\n")
            if self.progress is not None:
                self.progress.redraw()

    def mark(self) -> int:
        return len(self.pending)

    def rollback(self, mark: int) -> None:
        del self.pending[mark:]

    def take(self) -> bytes:
        """The collected lines as bytes for the transaction, and forget them."""
        data = "".join(l + "\n" for l in self.pending).encode("utf-8", "replace")
        self.pending = []
        return data

    def path(self) -> str:
        return self.site.log_file(self.now)

    def direct(self, level: int, text: str) -> None:
        """Append a line now, outside any transaction (best effort: a full disk
        must not hide the error being reported)."""
        line = self._format(text)
        self._show(level, line)
        if level > self.level:
            return
        data = (line + "\n").encode("utf-8", "replace")
        try:
            os.makedirs(self.site.logs, exist_ok=True)
            fd = os.open(self.path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            sys.stderr.write("tristero: cannot write the log (%s): %s\n" % (e, line))
            return
        try:
            size = os.fstat(fd).st_size
            if os.write(fd, data) != len(data):
                raise OSError("short write")
        except OSError as e:
            # A full disk must not leave half a line for the next one to join.
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            sys.stderr.write("tristero: cannot write the log (%s): %s\n" % (e, line))
        finally:
            os.close(fd)


def _one_line(text):
    # A log line never spans lines, whatever a message's headers held.
    return " ".join(str(text).split())


MAX_EXPLAINED = 200      # lines of the logs EXPLAIN gives about one message


def lines_about(site: Site, message_id: str, today: datetime.date, days: int) -> list[str]:
    """The lines of the daily logs of the last days days (oldest first) about the message
    message_id: its one line per processing (name, Message-ID, author, destinations, what
    was done and the rule), and its action lines (ending "id=MESSAGE-ID"); at most
    MAX_EXPLAINED, each file streamed."""
    found = []
    tag = " id=" + message_id
    mark = " %s from=<" % message_id
    for back in range(max(days, 1) - 1, -1, -1):
        try:
            f = open(site.log_file(today - datetime.timedelta(days=back)), encoding="utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        with f:
            for line in f:
                line = line.rstrip("\n")
                if line.endswith(tag) or mark in line:
                    found.append(line)
                    if len(found) >= MAX_EXPLAINED:
                        return found
    return found


def message_line(line: str, message_id: str) -> tuple[str, list[str]] | None:
    """(author, destinations) of a message line about message_id, or None for an action line."""
    at = line.find(" %s from=<" % message_id)
    if at < 0:
        return None
    rest = line[at + len(message_id) + 8:]
    author, _, rest = rest.partition("> to=<")
    return author, [d for d in rest.partition(">:")[0].split(",") if d]
