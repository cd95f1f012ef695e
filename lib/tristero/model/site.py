"""The site: one folder holding configuration, lists, archives, logs and spools."""

from __future__ import annotations

import datetime
import os

MAILDIRS = ("spool/in", "spool/out", "spool/failed")
# The site's own folders (the Folders root may be none of them, nor inside one).
OWN_FOLDERS = ("lists", "archive", "logs", "spool", "templates")


class Site:
    """Paths of a site's folders and files: tristero.ini, access.ini, lists/, archive/, logs/, spool/."""

    def __init__(self, home: str) -> None:
        self.home = os.path.abspath(home)
        self.ini = os.path.join(self.home, "tristero.ini")
        self.access = os.path.join(self.home, "access.ini")
        self.lists = os.path.join(self.home, "lists")
        self.archive = os.path.join(self.home, "archive")
        self.logs = os.path.join(self.home, "logs")
        self.spool = os.path.join(self.home, "spool")
        self.inbox = os.path.join(self.spool, "in")
        self.outbox = os.path.join(self.spool, "out")
        self.failed = os.path.join(self.spool, "failed")
        self.lock = os.path.join(self.spool, "tristero.lock")
        self.templates = os.path.join(self.home, "templates")   # the site's own wording

    def ensure(self) -> None:
        """Create the folders a run needs; missing ones are normal on a new site."""
        for d in ("lists", "archive", "logs"):
            os.makedirs(os.path.join(self.home, d), exist_ok=True)
        for md in MAILDIRS:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.home, md, sub), exist_ok=True)

    def member_file(self, number: str) -> str:
        return os.path.join(self.lists, number + ".ini")

    def archive_dir(self, number: str) -> str:
        return os.path.join(self.archive, number)

    def log_file(self, day: datetime.date) -> str:
        """The daily log of day (a date)."""
        return os.path.join(self.logs, "tristero-%s.log" % day.strftime("%Y-%m-%d"))
