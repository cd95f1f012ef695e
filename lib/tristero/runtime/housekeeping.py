"""The day's housekeeping: small named steps, run in order by the first batch of a day.

A step yields the files it removes; it may also send mail and change state
through the batch's Context (batch.ctx), as the digests do, all in the
batch's open transaction.
"""

import datetime
import os

from tristero.core.kinds import Failure
from tristero.model import lists, logbook
from tristero.policy import bounces
from tristero.services import archive, digests, moderation


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
    """The digests due today (digests are read from the archive, so before its expiry),
    each list's a unit of work of its own: one that fails is rolled back and reported,
    and the others go out."""
    today = batch.now.date()
    for listname in batch.config.list_names():
        failure = Failure("housekeeping: digests of %s not sent: %%s" % listname,
                          "housekeeping.digests-failed.subject", "housekeeping.digests-failed",
                          list=listname, day=today.isoformat())
        with batch.unit_of_work("digests:%s:%s" % (listname, today), failure):
            digests.list_digests(batch.ctx, listname, today)
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


def expire_held(batch):
    """Posts held for moderators longer than their list's HoldDays (each author told),
    and the decisions kept as long."""
    for name in batch.config.list_names():
        if lists.number(batch.config, name):
            yield from list(moderation.expired(batch.ctx, name))


def expire_sent(batch):
    """Days of the sent index (spool/sent) older than BounceDays: no report of them is believed."""
    return bounces.expired_sent(batch.site, batch.now.date(), batch.config.get("Security", "BounceDays"))


def expire_probes(batch):
    """The PROBEs recorded (distribute/probes.txt) before the last BounceDays: no report
    of theirs is believed any more (the file grew with every PROBE sent). Rewritten, so
    it removes no file."""
    path = bounces.probes_file(batch.ctx)
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
    except FileNotFoundError:
        return
    cutoff = (batch.now.date() - datetime.timedelta(days=batch.config.get("Security", "BounceDays"))).isoformat()
    kept = [line for line in lines if (line.split(b"\t") + [b"", b"", b"", b""])[3][:10].decode("ascii", "replace")
            >= cutoff]
    if len(kept) < len(lines):
        batch.store(batch.txn.replace, path, b"".join(kept))
        batch.log.log(logbook.MESSAGE, "housekeeping: %d PROBE record(s) older than BounceDays removed"
                      % (len(lines) - len(kept)))
    yield from ()


def expire_streamed(batch):
    """Counts of streamed files (spool/streamed/NAME, StreamFiles) whose message is
    neither waiting in spool/in/new nor set aside in spool/failed (where the count makes
    a re-queued message send only the files it did not send): a message redone after a
    kill that wrote no file the second time left its count behind."""
    waiting = {n.split(":", 1)[0] for folder in (os.path.join(batch.site.inbox, "new"),
                                                 os.path.join(batch.site.failed, "new"),
                                                 os.path.join(batch.site.failed, "cur"))
               for n in _names(folder)}
    folder = os.path.join(batch.site.spool, "streamed")
    for name in sorted(_names(folder)):
        if name.split(":", 1)[0] not in waiting:
            yield os.path.join(folder, name)


# The order is the order they run in; each yields the files it removes.
STEPS = (
    ("expire logs", expire_logs),
    ("expire processed mail", expire_processed),
    ("send digests", send_digests),
    ("expire archives", expire_archives),
    ("expire held posts", expire_held),
    ("expire sent index", expire_sent),
    ("expire PROBE records", expire_probes),
    ("expire streamed counts", expire_streamed),
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
    """Run every step into the batch's open transaction, once a day.

    Each step is a unit of work (batch.unit_of_work): one that fails is rolled
    back, logged and reported to the SuperUser, and the other steps still run; a
    failure of the disk (StoreError) stops the batch.
    """
    if not due(batch):
        return
    day = batch.now.strftime("%Y-%m-%d")
    for name, step in STEPS:
        batch.log.log(logbook.ACTION, "housekeeping: " + name)
        failure = Failure("housekeeping: %s failed, rolled back: %%s" % name,
                          "housekeeping.step-failed.subject", "housekeeping.step-failed", step=name, day=day)
        removed = 0
        with batch.unit_of_work("housekeeping:%s:%s" % (name, day), failure):
            for path in step(batch):
                batch.store(batch.txn.delete, path)
                removed += 1
            if removed:
                batch.log.log(logbook.MESSAGE, "housekeeping: %s: %d removed" % (name, removed))
    batch.store(batch.txn.replace, stamp_path(batch.site), (day + "\n").encode())
