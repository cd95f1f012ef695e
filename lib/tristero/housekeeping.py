"""The day's housekeeping: small named steps, run in order by the first batch of a day.

A step yields the files it removes; it may also send mail and change state
through the batch's Context (batch.ctx), as the digests do, all in the
batch's open transaction.
"""

import datetime
import os

from . import archive, digests, lists, logbook, pipeline


def expire_logs(batch):
    """Daily logs older than LogDays."""
    keep = batch.config.globals("LogDays")
    cutoff = (batch.now - datetime.timedelta(days=keep)).strftime("%Y-%m-%d")
    for name in sorted(_names(batch.site.logs)):
        if name.startswith("tristero-") and name.endswith(".log") and name[9:19] < cutoff:
            yield os.path.join(batch.site.logs, name)


def expire_processed(batch):
    """Processed inbound mail (spool/in/cur) older than KeepDays."""
    cutoff = (batch.now - datetime.timedelta(days=batch.config.globals("KeepDays"))).timestamp()
    folder = os.path.join(batch.site.inbox, "cur")
    for name in sorted(_names(folder)):
        path = os.path.join(folder, name)
        try:
            if os.lstat(path).st_mtime < cutoff:
                yield path
        except FileNotFoundError:
            continue


def send_digests(batch):
    """The digests due today (digests are read from the archive, so before its expiry)."""
    digests.send_all(batch)
    return ()


def expire_archives(batch):
    """Day files of each list's archive older than the list's ArchiveDays (0: kept)."""
    cfg = batch.config
    today = batch.now.date()
    for name in cfg.list_names():
        keep = cfg.list_value(name, "ArchiveDays")
        number = lists.number(cfg, name)
        if keep > 0 and number:
            yield from archive.expired(batch.site.archive_dir(number), today, keep)


# The order is the order they run in; each yields the files it removes.
STEPS = (
    ("expire logs", expire_logs),
    ("expire processed mail", expire_processed),
    ("send digests", send_digests),
    ("expire archives", expire_archives),
)


def _names(folder):
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def stamp_path(site):
    return os.path.join(site.spool, "housekeeping.day")


def due(batch):
    """True when no batch has done housekeeping today (by the run's clock)."""
    try:
        with open(stamp_path(batch.site)) as f:
            return f.read().strip() != batch.now.strftime("%Y-%m-%d")
    except FileNotFoundError:
        return True


def run(batch):
    """Run every step into the batch's open transaction, once a day."""
    if not due(batch):
        return
    day = batch.now.strftime("%Y-%m-%d")
    for name, step in STEPS:
        batch.log.log(logbook.ACTION, "housekeeping: " + name)
        batch.ctx.outcome = pipeline.Outcome()
        batch.ids.start("housekeeping:%s:%s" % (name, day))
        removed = 0
        for path in step(batch):
            batch._store(batch.txn.delete, path)
            removed += 1
        batch.stage_outcome(batch.ctx.outcome)
        if removed:
            batch.log.log(logbook.MESSAGE, "housekeeping: %s: %d removed" % (name, removed))
    batch._store(batch.txn.replace, stamp_path(batch.site),
                 (batch.now.strftime("%Y-%m-%d") + "\n").encode())
