"""The day's housekeeping: small named steps, run in order by the first batch of a day.

A step yields the files it removes; it may also send mail and change state
through the batch's Context (batch.ctx), as the digests do, all in the
batch's open transaction.
"""

import datetime
import os

from . import archive, bounces, digests, lists, logbook, messages, pipeline


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


def expire_sent(batch):
    """Days of the sent index (spool/sent) older than BounceDays: no report of them is believed."""
    return bounces.expired_sent(batch.site, batch.now.date(), batch.config.get("Security", "BounceDays"))


# The order is the order they run in; each yields the files it removes.
STEPS = (
    ("expire logs", expire_logs),
    ("expire processed mail", expire_processed),
    ("send digests", send_digests),
    ("expire archives", expire_archives),
    ("expire sent index", expire_sent),
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

    A step that fails is rolled back, logged and reported to the SuperUser,
    and the other steps still run; a failure of the disk (batch.StoreError)
    stops the batch.
    """
    from .batch import StoreError      # batch imports this module
    if not due(batch):
        return
    day = batch.now.strftime("%Y-%m-%d")
    for name, step in STEPS:
        batch.log.log(logbook.ACTION, "housekeeping: " + name)
        marks = batch.txn.mark(), batch.state.savepoint(), batch.log.mark()
        try:
            _run_step(batch, name, step, day)
        except StoreError:
            raise
        except Exception as e:
            batch.txn.rollback(marks[0])
            batch.state.rollback(marks[1])
            batch.log.rollback(marks[2])
            _failed(batch, name, day, "%s: %s" % (type(e).__name__, messages.clean(e, 300)))
    batch._store(batch.txn.replace, stamp_path(batch.site),
                 (batch.now.strftime("%Y-%m-%d") + "\n").encode())


def _run_step(batch, name, step, day):
    batch.ctx.outcome = pipeline.Outcome()
    batch.ids.start("housekeeping:%s:%s" % (name, day))
    removed = 0
    for path in step(batch):
        batch._store(batch.txn.delete, path)
        removed += 1
    batch.stage_outcome(batch.ctx.outcome)
    batch.ctx.outcome = pipeline.Outcome()
    if removed:
        batch.log.log(logbook.MESSAGE, "housekeeping: %s: %d removed" % (name, removed))


def _failed(batch, name, day, why):
    """Log a step that failed and tell the SuperUser (a notice that cannot be staged
    is only logged)."""
    from .batch import StoreError
    batch.log.log(logbook.ERROR, "housekeeping: %s failed, rolled back: %s" % (name, why))
    mark = batch.txn.mark()
    batch.ctx.outcome = pipeline.Outcome()
    batch.ids.start("housekeeping-failure:%s:%s" % (name, day))
    try:
        batch.ctx.notify("Tristero: housekeeping step %r failed" % name,
                         "The housekeeping step %r of %s failed and was rolled back (%s);\n"
                         "the other steps ran. It is tried again tomorrow.\n" % (name, day, why))
        batch.stage_outcome(batch.ctx.outcome)
    except StoreError:
        raise
    except Exception as e:
        batch.txn.rollback(mark)
        batch.log.log(logbook.ERROR, "housekeeping: the SuperUser was not told: %s: %s"
                      % (type(e).__name__, messages.clean(e, 300)))
    batch.ctx.outcome = pipeline.Outcome()
