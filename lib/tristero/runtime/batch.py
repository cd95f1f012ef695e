"""The batch run: lock, recover, drain spool/in/new, commit, housekeep, report.

Messages are processed one by one into outcomes; every CommitEvery messages
(and at the end) the outcomes and the changed state are committed as one
transaction (see journal). A message that cannot be processed is rolled back
and moved whole to spool/failed/; a failure of the disk itself stops the run
(exit 74) with nothing half-done: the next run redoes what was not committed.
A commit that fails for another reason writes nothing: its messages are
redone one at a time, and the one whose own commit fails is set aside whole
in spool/failed/ (Batch.commit).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import errno
import os
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from tristero.core import kinds, messages, outbound, redact, streams
from tristero.core.errors import StoreError
from tristero.core.exits import EX_IOERR, EX_OK, EX_TEMPFAIL
from tristero.core.kinds import Failure, Fate, Unit
from tristero.mail import pipeline, webform
from tristero.model import config as configmod
from tristero.model import directory, durable, journal, ldapsource, lists, locks, logbook, poison, signing, spools
from tristero.model.members import domain_order
from tristero.model.people import DirectoryError
from tristero.model.site import Site
from tristero.model.state import State
from tristero.runtime import housekeeping
from tristero.services import context, folders, mailings, moderation, reports
from tristero.services import directory as directories

T = TypeVar("T")

# In Batch.units: the day's housekeeping ran in the open transaction.
HOUSEKEEPING = None


class DryRun:
    """A transaction that writes nothing and reports what it would have done."""

    def __init__(self):
        self.ops = []

    def outbound(self, name: str, data: durable.Data) -> str:
        self.ops.append("write spool/out/new/%s (%d bytes)" % (name, len(data)))
        return name

    def replace(self, path: str, data: durable.Data) -> None:
        self.ops.append("write " + path)

    def append(self, path: str, data: bytes) -> None:
        self.ops.append("append %d bytes to %s" % (len(data), path))

    def move(self, src: str, dst: str) -> str:
        self.ops.append("move %s to %s" % (src, os.path.dirname(dst)))
        return dst

    def changes(self) -> dict[str, list[list]]:
        # What earlier messages of a dry run staged is not kept: only the
        # current message's own changes are seen by its later commands.
        return {}

    def folders(self) -> set[str]:
        return set()

    def delete(self, path: str) -> None:
        self.ops.append("delete " + path)

    def mkdir(self, path: str) -> None:
        self.ops.append("create " + path)

    def mark(self) -> int:
        return len(self.ops)

    def rollback(self, mark: int) -> None:
        del self.ops[mark:]


class Stream:
    """A message's outbound files committed while they are written ([Globals]
    StreamFiles): every `every` files, those staged since start in the open
    transaction go out in a transaction of their own (a deliver following the run
    sends them at once), with the count of the message's files committed so far in
    path (spool/streamed/NAME). The message itself, and the rest of what it does, is
    committed as ever; until then a run that stops redoes it, writing only the files
    after the first `skip` (the same files in the same order: the same names)."""

    def __init__(self, site: Site, name: str, every: int) -> None:
        self.seed = messages.Ids.seed_of(name)      # the message's own unit of work
        self.path = os.path.join(site.home, "spool", "streamed", name)
        self.every = every
        self.skip = None            # read with the message's first file: most messages write none
        self.done = 0               # files of the message committed
        self.start = None           # where its files not yet committed begin in the open transaction

    def begin(self) -> None:
        """Read the count an earlier try of the message committed."""
        try:
            with open(self.path, "rb") as f:
                self.skip = int(f.read(20).strip() or 0)
        except (FileNotFoundError, ValueError):
            self.skip = 0
        self.done = self.skip


class Batch:
    def __init__(self, site: Site, config: configmod.Config, now: datetime.datetime, log: logbook.Logbook,
                 dry_run: bool = False) -> None:
        self.site = site
        self.config = config
        self.now = now
        self.log = log
        self.dry_run = dry_run
        self.state = State(site, config)
        self.ids = messages.Ids(config.globals("Domain"), now)
        self.depth = 0              # units of work open (see unit_of_work)
        self.ctx = context.Context(site, config, self.state, now, log, self.ids, dry_run)
        try:
            self.signer = self.ctx.signer = signing.Signer.from_config(site, config, now)
        except signing.KeyProblem as e:
            raise configmod.ConfigError([configmod.Problem(config.path, config.line_of("DKIM", "KeyFile"),
                                                           "[DKIM] %s" % e)]) from None
        self.txn = None
        self.txn_number = 0
        self.in_txn = 0
        self.units = []             # message names (and HOUSEKEEPING) in the open transaction
        self._undo = None           # what begin() found, to forget the transaction by
        self.failures = []          # (name, reason) in the open transaction
        self.stats = {"messages": 0, "done": 0, "dropped": 0, "failed": 0, "vanished": 0,
                      "files": 0, "recipients": 0, "forms": 0}
        self.todays_log = None      # today's log as it was on disk (report_member_problems)
        self.stream = None          # the message being processed, when its files are streamed (Stream)
        self.reported_today = set()

    def number_new_lists(self) -> None:
        """Give a list section a person added by hand its MemberFile number."""
        for name in self.config.list_names():
            if not lists.number(self.config, name):
                number = lists.next_number(self.config, self.site)
                self.state.set_config(lists.section(name), "MemberFile", number)
                self.log.log(logbook.MESSAGE, "list %s found in tristero.ini: member file lists/%s.ini"
                             % (name, number))

    def directory_sync(self) -> None:
        """Synchronise the lists with the directory ([Directory] Source, read when it
        changed; then each file dropped into spool/directory/, oldest first, moved to
        cur/ or failed/ after): each sync a unit of work committed alone."""
        source = self.config.get("Directory", "Source")
        todo = []
        if source:
            todo.append((os.path.join(self.site.home, source), source, False))
        folder = directory.drop_folder(self.site)
        try:
            names = [n for n in os.listdir(folder) if not n.startswith(".")]
        except FileNotFoundError:
            names = []
        found = []
        for n in names:
            try:
                st = os.lstat(os.path.join(folder, n))
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                found.append((st.st_mtime, n))
        todo += [(os.path.join(folder, n), "spool/directory/" + n, True) for _, n in sorted(found)]
        for path, label, dropped in todo:
            self.begin()
            failure = Failure("directory %s: internal error, nothing changed: %%s" % label,
                              "batch.directory-failed.subject", "batch.directory-failed", source=label)
            status = ("refused", "")
            with self.unit_of_work("directory:" + label, failure) as unit:
                status = directories.sync(self.ctx, path, label, dropped)
            if dropped:
                # A held file goes to cur/ too: the held sync is its snapshot in held/.
                where = "cur" if status[0] in ("done", "held") and unit.error is None else "failed"
                self.store(self.txn.move, path, os.path.join(folder, where, os.path.basename(path)))
            self.commit()
        if self.config.get("Directory", "Uri") and housekeeping.due(self):
            self.directory_live()

    def feed_folders(self) -> None:
        """PROXYBBS: the new mail of each folder a list is fed from (services.folders)
        moved into spool/in/new, addressed to the list (X-Original-To), the folder's
        copy to its cur/ (seen), in one transaction per list committed before the spool
        is read: a kill feeds a message once or not at all. A message larger than the
        list's MaxMessageSize, or not readable, goes to cur/ unfed, logged."""
        for listname in self.config.list_names():
            found = folders.feed_files(self.ctx, listname) if self.config.list_value(listname, "FeedFolders") \
                else []
            if not found:
                continue
            self.begin()
            to = lists.address(self.config, listname)
            with self.unit_of_work("folders:" + listname):
                limit = self.config.list_value(listname, "MaxMessageSize")
                for path, name in found:
                    try:
                        raw = read_inbound(path) if os.path.getsize(path) <= limit else None
                    except (OSError, ValueError):
                        raw = None
                    if raw is None:
                        self.log.log(logbook.ACTION, "  %s not fed into %s: unreadable or over MaxMessageSize"
                                     % (path, listname))
                    else:
                        self.ctx.write(os.path.join(self.site.inbox, "new", "%s.feed-%s" % (
                            name.split(":", 1)[0], lists.number(self.config, listname))),
                            b"X-Original-To: " + to.encode("ascii") + b"\n" + raw)
                        self.log.log(logbook.ACTION, "  %s fed into %s (PROXYBBS)" % (path, listname))
                    self.store(self.txn.move, path, os.path.join(os.path.dirname(os.path.dirname(path)), "cur",
                                                                 spools.processed_name(name)))
            self.commit()

    def directory_live(self) -> None:
        """The live LDAP directory ([Directory] Uri), read in the day's first run (as
        housekeeping is done), synchronised as a file is; then, with WriteBack, the
        groups of the lists that have a Shadow DN made to hold their members (not
        after a read that failed)."""
        settings = ldapsource.settings_from(lambda key: self.config.get("Directory", key))
        self.begin()
        failure = Failure("directory %s: internal error, nothing changed: %%s" % settings.uri,
                          "batch.directory-failed.subject", "batch.directory-failed", source=settings.uri)
        status = ("refused", "")
        with self.unit_of_work("directory:" + settings.uri, failure):
            status = directories.sync_people(self.ctx, ldapsource.people(settings), settings.uri)
        self.commit()
        # A directory that did not read (told already) is not written either.
        if self.config.get("Directory", "WriteBack") and not self.dry_run and status[0] != "refused":
            self.write_back(settings)

    def write_back(self, settings: ldapsource.Settings) -> None:
        """The Shadow lists' members into their LDAP groups (after the commit: the
        directory is told what the lists hold); each change logged, problems told."""
        groups = {}
        for name in self.config.list_names():
            shadow, number = self.config.raw(lists.section(name), "Shadow"), lists.number(self.config, name)
            if shadow and number:
                groups[shadow] = [address for address, _ in self.state.members(number).items()]
        if not groups:
            return
        try:
            outcome = ldapsource.write_groups(settings, groups)
        except DirectoryError as e:
            outcome = ldapsource.WriteBack(problems=[str(e)])
        for c in outcome.changes:
            self.log.log(logbook.MESSAGE, "directory write-back %s: %d added, %d removed, %d not in the directory"
                         % (c.dn, c.added, c.removed, c.unknown))
        for problem in outcome.problems:
            self.log.log(logbook.ERROR, "directory write-back: %s" % problem)
        if outcome.problems:
            self.begin()
            self.notify("directory-write-back", self.text("batch.write-back.subject", uri=settings.uri),
                        self.text("batch.write-back", uri=settings.uri, problems="\n".join(outcome.problems)) + "\n")
            self.commit()

    # --- transactions ---

    def begin(self) -> None:
        if self.txn is None:
            if self.dry_run:
                self.txn = DryRun()
            else:
                self.txn_number += 1
                self.txn = self.store(journal.Transaction, self.site.home, self.txn_number)
            self.ctx.txn = self.txn
            self.in_txn = 0
            self.units = []
            self._undo = (self.state.savepoint(), self.log.mark(), dict(self.stats), _remember(self.ctx))

    def store(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args), a disk error raised as StoreError (the run stops)."""
        try:
            return fn(*args)
        except OSError as e:
            raise StoreError(_disk_error(e))

    def commit(self) -> None:
        """Commit the open transaction: state files, failure notice, log lines.

        When that fails for a reason other than the disk (a value no file can
        hold, a bug), nothing of the transaction is written and the site is not
        stopped: its messages are redone one at a time, each committed alone,
        and the one whose own commit fails is set aside whole in spool/failed/
        with a notice. The messages are still in spool/in/new/ until a commit
        moves them, so each is done exactly once.
        """
        try:
            self._commit()
        except (StoreError, OSError, configmod.ConfigError):
            raise
        except Exception as e:
            if self.txn is None or (not self.dry_run and not os.path.isdir(self.txn.staging)):
                raise       # committed already: the next run's recovery finishes it
            self._redo_alone(e)

    def _commit(self):
        if self.txn is None:
            return
        txn = self.txn
        if self.failures:
            self._notify_failures()
        self.store(self.state.stage, txn)
        data = self.log.take()
        if data:
            self.store(txn.append, self.log.path(), data)
        if self.dry_run:
            sys.stdout.write(data.decode("utf-8", "replace"))
            for op in txn.ops:
                print("  would " + op)
        elif txn.ops:
            for step, why in self.store(txn.commit) or ():
                self.log.direct(logbook.ERROR, "journal: a step that cannot be done was skipped: %s: %s"
                                % (step, why))
        else:
            txn.discard()
        self.state.committed()
        self.txn = self.ctx.txn = None
        self.failures = []

    def abort(self) -> None:
        if self.txn is not None and not self.dry_run:
            self.txn.discard()
        self.txn = self.ctx.txn = None

    def _forget(self):
        """Throw the open transaction away, with every change it made in memory."""
        state_mark, log_mark, stats, memory = self._undo
        self.abort()
        self.state.rollback(state_mark)
        self.log.rollback(log_mark)
        self.stats = stats
        _restore(self.ctx, memory)
        self.failures = []

    def _redo_alone(self, error):
        """The second wall (see commit): redo the transaction's units one by one."""
        units = self.units
        self._forget()
        text = "a commit failed (%s); its %d message(s) are redone one at a time" % (
            _why(error), sum(1 for u in units if u is not HOUSEKEEPING))
        if self.dry_run:
            sys.stderr.write("tristero: %s\n" % text)
        else:
            self.log.direct(logbook.ERROR, text)
        for unit in units:
            if unit is HOUSEKEEPING:
                self.housekeep()
            else:
                self.process(unit)
            try:
                self._commit()
            except (StoreError, OSError, configmod.ConfigError):
                raise
            except Exception as e:
                self._forget()
                self._set_aside(unit, _why(e))

    def _set_aside(self, unit, why):
        """Commit, alone, the message unit moved whole to spool/failed/ (the
        housekeeping: skipped for the day) with a notice to the SuperUser."""
        self.begin()
        if unit is HOUSEKEEPING:
            day = self.now.strftime("%Y-%m-%d")
            self.log.log(logbook.ERROR, "housekeeping could not be committed, skipped until tomorrow: " + why)
            self.notify("housekeeping-commit:" + day, self.text("batch.housekeeping-commit.subject", day=day),
                        self.text("batch.housekeeping-commit", why=why) + "\n")
            self.store(self.txn.replace, housekeeping.stamp_path(self.site), (day + "\n").encode())
        else:
            self.stats["messages"] += 1
            self._fail(unit, os.path.join(self.site.inbox, "new", unit),
                       "its changes could not be committed: " + why, "commit")
        self._commit()

    def disk_reserve(self, free: int, held: int) -> None:
        """The run stops short of DiskReserve: say so in the log and, once a day, to the
        SuperUser (the messages held stay in spool/in/new, for a later run)."""
        reserve = self.config.globals("DiskReserve")
        text = ("%d MB free on the site's disk, less than DiskReserve (%d MB): no outbound mail is "
                "written; %d message(s) left in spool/in/new for a later run%s" % (
                    free, reserve, held, "" if held else " (the day's housekeeping waits too)"))
        self.log.direct(logbook.ERROR, text)
        day = self.now.strftime("%Y-%m-%d")
        stamp = os.path.join(self.site.spool, "diskreserve.day")
        try:
            with open(stamp) as f:
                told = f.read().strip() == day
        except FileNotFoundError:
            told = False
        if told:
            return
        self.notify("diskreserve:" + day, self.text("batch.disk-reserve.subject"),
                    self.text("batch.disk-reserve", free=free, reserve=reserve, held=held,
                              waiting="" if held else self.text("batch.disk-reserve.housekeeping-waits")) + "\n")
        self.store(self.txn.replace, stamp, (day + "\n").encode())
        self._commit()

    def set_aside_poison(self, name: str, deaths: int) -> None:
        """Move name, which deaths runs that died had in hand (see poison), whole to
        spool/failed/ unread, in the open transaction (the SuperUser is told)."""
        self.begin()
        self.units.append(name)
        self.stats["messages"] += 1
        self._fail(name, os.path.join(self.site.inbox, "new", name),
                   "%d runs died while processing it (killed by a signal: out of memory, a "
                   "crash); set aside unread" % deaths, "poison message")

    def announce_held(self) -> None:
        """One message to each moderator of each list with posts held in this run
        (services.moderation), each list a unit of work of its own."""
        held = moderation.held_now(self.ctx)
        by_list = {}
        for listname, post_id in held:
            by_list.setdefault(listname, []).append(post_id)
        held.clear()
        for listname, ids in by_list.items():
            failure = Failure("moderators of %s not told of held posts: %%s" % listname,
                              "moderation.notice-failed.subject", "moderation.notice-failed", list=listname)
            with self.unit_of_work("moderation:%s" % listname, failure):
                moderation.announce(self.ctx, listname, ids)

    def send_mailings(self) -> None:
        """The deliveries of the mailings (SITE/mailings/) due by the run's clock, each
        mailing's a unit of work: its outbound files and its record of them are
        committed together, so that each delivery is made exactly once."""
        queued = None
        if mailings.names(self.site):
            # The reports read what this run's messages noted (failures reported): on disk.
            self.commit()
        for name in mailings.names(self.site):
            # Its reports first (what deliver and the bounces made of the deliveries made
            # before this run: this run's files are not on disk yet).
            queued = reports.queued(self.site) if queued is None else queued
            with self.unit_of_work("mailing-report:%s:%s" % (name, self.now.isoformat())):
                reports.tally(self.ctx, name, queued)
        for name in mailings.names(self.site):
            failure = Failure("mailing %s not sent: %%s" % name, "distribute.mailing-failed.subject",
                              "distribute.mailing-failed", mailing=name)
            with self.unit_of_work("mailing:%s:%s" % (name, self.now.isoformat()), failure):
                mailings.deliver_due(self.ctx, name)

    def housekeep(self) -> None:
        """The day's housekeeping (when due), into the open transaction."""
        self.begin()
        self.units.append(HOUSEKEEPING)
        housekeeping.run(self)

    def text(self, key, **fields):
        """The text key to the SuperUser (see Context.text)."""
        return self.ctx.text(key, self.config.globals("SuperUser") or None, **fields)

    def _notify_failures(self):
        lines = [self.text("batch.failures", count=len(self.failures), folder=os.path.join(self.site.failed, "new")),
                 ""]
        lines += ["  %s: %s" % (name, reason) for name, reason in self.failures[:200]]
        if len(self.failures) > 200:
            lines.append(self.text("batch.failures.more", count=len(self.failures) - 200))
        self.notify("failures:" + self.failures[0][0],
                    self.text("batch.failures.subject", count=len(self.failures)), "\n".join(lines) + "\n")

    # --- outcomes ---

    def stage_outcome(self, outcome: context.Outcome) -> None:
        for mail in outcome.mails:
            self.stage_mail(mail)
        for path, data in outcome.appends:
            self.store(self.txn.append, path, data)
        for path, data in outcome.writes:
            self.store(self.txn.replace, path, data)
        for path in outcome.deletes:
            self.store(self.txn.delete, path)
        for path in outcome.folders:
            self.store(self.txn.mkdir, path)

    def report_member_problems(self) -> None:
        """Log each line of a member file that was read amiss (file:line), and tell the
        SuperUser, once a day per file (today's log says whether it was done)."""
        while self.state.member_problems:
            path, problems = self.state.member_problems.pop(0)
            rel = os.path.relpath(path, self.site.home)
            for line, why in problems:
                self.log.log(logbook.ERROR, "member file %s:%d: %s" % (rel, line, why))
            marker = "member file %s: reported to the SuperUser" % rel
            if marker in self._todays_log():
                continue
            self.log.log(logbook.ERROR, marker)
            self.reported_today.add(marker)
            self.ctx.notify(self.text("batch.member-file.subject", file=rel),
                            self.text("batch.member-file", file=rel, lines="\n".join(
                                self.text("batch.member-file.line", line=n, why=why) for n, why in problems)) + "\n")

    def _todays_log(self):
        if self.todays_log is None:
            try:
                with open(self.site.log_file(self.now), encoding="utf-8", errors="replace") as f:
                    self.todays_log = f.read()
            except FileNotFoundError:
                self.todays_log = ""
        return self.todays_log + "".join(self.reported_today)

    def stage_mail(self, mail: context.Outgoing) -> None:
        """Write one outgoing message as BSMTP files of at most MaxRecipients each.

        Recipients stream in the order given (a member list's, which its file
        keeps sorted by domain, see members.MemberList.write); each envelope
        is sorted by domain again. No copy of a large list is made here.
        """
        limit = self.config.globals("MaxRecipients")
        if not spools.valid_envelope_address(mail.sender):
            raise ValueError("envelope sender %r is not an address" % mail.sender)
        data = self.gate(mail)
        # Signed here, after the gate's repairs, where every outbound message passes:
        # a file in the spool is final.
        stuffed = spools.dot_stuff(self.signer.sign(data) if self.signer and mail.sign else data)
        # Recipients a member file vouches for (members.FileRecipients) are valid and in order.
        checked = getattr(mail.recipients, "checked", False)
        chunk = []
        for r in mail.recipients:
            if not checked and (not spools.valid_envelope_address(r) or not r):
                self.log.log(logbook.ACTION, "  skipped recipient %r: not an address" % r)
                continue
            chunk.append(r)
            if len(chunk) == limit:
                self._write_envelope(mail.sender, chunk, stuffed, checked)
                chunk = []
        if chunk:
            self._write_envelope(mail.sender, chunk, stuffed, checked)

    def gate(self, mail: context.Outgoing) -> bytes | streams.Pieces:
        """The outbound lint gate (core.outbound) every outbound message passes once before
        its files are written: its data, repaired where it can be. A post passed it
        already (posting), for all its envelopes. What cannot be repaired raises
        ValueError: the message that made it is set aside, the SuperUser told, the rule named."""
        why = outbound.verp_problem(mail.sender)
        if why:
            raise ValueError("outbound lint (%s): %s" % (outbound.VERP, why))
        data = mail.data
        if isinstance(data, streams.Pieces) and data.eight_bit is not None:
            return data
        raw = bytes(data)
        head, body = messages.split_view(raw)
        verdict = outbound.lint(head, body)
        if verdict.refusal is not None:
            raise ValueError("outbound lint (%s): %s" % verdict.refusal)
        for rule, what in verdict.repairs:
            self.log.log(logbook.MESSAGE, "outbound lint (%s): %s, in mail from <%s>" % (rule, what, mail.sender))
        if verdict.repairs:
            raw = verdict.head + b"\n" + bytes(verdict.body)
        return raw

    def _write_envelope(self, sender, recipients, stuffed, ordered=False):
        if not ordered:
            recipients.sort(key=lambda r: (domain_order(r.lower()), r))
        name = self.ids.file_name(self.ids.next())
        stream = self.stream if self.stream is not None and self.ids.seed == self.stream.seed else None
        if stream is not None:
            if stream.skip is None:
                stream.begin()
            if stream.skip:
                stream.skip -= 1        # committed by an earlier try of this message
                return
            if stream.start is None:
                stream.start = len(self.txn.ops)
        self.store(self.txn.outbound, name, spools.bsmtp(sender, recipients, stuffed))
        self.stats["files"] += 1
        self.stats["recipients"] += len(recipients)
        if stream is not None and len(self.txn.ops) - stream.start >= stream.every:
            self.stream_out(stream)

    def stream_out(self, stream: Stream) -> None:
        """Commit the message's files staged since stream.start, alone (see Stream)."""
        self.txn_number += 1
        side = self.store(self.txn.split, stream.start, self.txn_number)
        stream.done += len(side.ops)
        stream.start = None
        self.store(side.replace, stream.path, b"%d\n" % stream.done)
        for step, why in self.store(side.commit) or ():
            self.log.direct(logbook.ERROR, "journal: a step that cannot be done was skipped: %s: %s" % (step, why))

    # --- units of work ---

    @contextlib.contextmanager
    def unit_of_work(self, label: str, failure: Failure | None = None) -> Iterator[Unit]:
        """One unit of work in the open transaction: a message, a list's digests, a
        housekeeping step, a notice.

        The body works through the Context (batch.ctx), whose Outcome is fresh and
        whose message ids follow label; when it ends, the Outcome is staged. A failure
        of the disk (StoreError) goes up and stops the run. Any other error, or a body
        that calls unit.cancel(why), rolls the unit back (transaction, state, log,
        counts of what was written); an error is logged and, with failure given, told
        to the SuperUser. Either way the caller goes on: unit.error says what happened.
        """
        self.begin()
        marks = self.txn.mark(), self.state.savepoint(), self.log.mark(), dict(self.stats)
        unit = Unit(label)
        # A unit opened inside another (a list's digests in the housekeeping step, a
        # notice) gives the enclosing unit back its own Outcome and message ids after it.
        enclosing = (self.ctx.outcome, self.ids.seed, self.ids.n) if self.depth else None
        self.depth += 1
        self.ctx.outcome = context.Outcome()
        self.ids.start(label)
        try:
            yield unit
            if not unit.cancelled:
                self.stage_outcome(self.ctx.outcome)
        except StoreError:
            raise
        except Exception as e:
            unit.error = e
        finally:
            self.depth -= 1
            if enclosing is None:
                self.ctx.outcome = context.Outcome()
            else:
                self.ctx.outcome, self.ids.seed, self.ids.n = enclosing
        if unit.error is not None or unit.cancelled:
            txn_mark, state_mark, log_mark, stats = marks
            self.txn.rollback(txn_mark)
            self.state.rollback(state_mark)
            self.log.rollback(log_mark)
            self.stats.update({k: stats[k] for k in ("files", "recipients")})
        if unit.error is not None and failure is not None:
            why = "%s: %s" % (type(unit.error).__name__, messages.clean(unit.error, 300))
            self.log.log(logbook.ERROR, failure.log % why)
            fields = dict(failure.fields, why=why)
            self.notify("failure:" + label, self.text(failure.subject, **fields),
                        self.text(failure.text, **fields) + "\n")

    def notify(self, label: str, subject: str, text: str) -> None:
        """Tell the SuperUser, in a unit of its own; a notice that cannot be staged
        either is only logged."""
        with self.unit_of_work(label) as unit:
            self.ctx.notify(subject, text)
        if unit.error is not None:
            self.log.log(logbook.ERROR, "the SuperUser was not told (%s): %s: %s" % (
                subject, type(unit.error).__name__, messages.clean(unit.error, 300)))

    # --- messages ---

    def process(self, name: str) -> None:
        """Process one inbound message into the open transaction."""
        self.begin()
        self.units.append(name)
        path = os.path.join(self.site.inbox, "new", name)
        try:
            raw = read_inbound(path)
            durable.crash_on(raw)
        except FileNotFoundError:
            # Taken away since the listing (another tool, a person): nothing to do.
            self.stats["vanished"] += 1
            self.log.log(logbook.MESSAGE, "%s vanished from spool/in/new before it was read" % name)
            return
        except (OSError, ValueError) as e:
            self.stats["messages"] += 1
            self._fail(name, path, "cannot be read: %s" % (getattr(e, "strerror", None) or e), "spool")
            return
        self.stats["messages"] += 1
        m = context.Inbound(name, raw)
        result = kept = None
        self.log.about = m
        every = self.config.globals("StreamFiles")
        self.stream = stream = Stream(self.site, name, every) if every and not self.dry_run else None
        try:
            with self.unit_of_work(name) as unit:
                result = pipeline.process(self.ctx, m)
                if result.kind == Fate.FAILED:
                    unit.cancel()
                else:
                    self.report_member_problems()
                    kept = redact.stored(m)
        finally:
            self.log.about = None
            self.stream = None
        if unit.error is not None:
            e = unit.error
            where = traceback.extract_tb(e.__traceback__)[-1]
            self._fail(name, path, "internal error %s: %s (%s:%d)" % (
                type(e).__name__, messages.clean(e, 300), os.path.basename(where.filename), where.lineno),
                "pipeline", m)
            return
        if result.kind == Fate.FAILED:
            self._fail(name, path, result.action, result.rule, m)
            return
        self.stats[result.kind] += 1
        self.stats["forms"] += webform.RULE in str(result.rule)      # web forms by mail, counted
        self._log_message(m, result)
        for note in m.notes:
            self.log.log(logbook.ACTION, "  %s id=%s" % (note, messages.clean(m.id, 200)))
        self._keep(kept, path, os.path.join(self.site.inbox, "cur", spools.processed_name(name)))
        if stream is not None and stream.done:
            # Its streamed files counted no more: the message is done with its commit.
            self.log.log(logbook.ACTION, "  %d file(s) committed as they were written (StreamFiles)" % stream.done)
            self.store(self.txn.delete, stream.path)
        self.in_txn += 1

    def _keep(self, data, path, done):
        """Move the processed message to spool/in/cur/; one that carried a password is
        kept there as data, each secret replaced (redact.stored). Both through the
        journal: the message in new/ is replaced by data, then moved, so that at every
        instant it is in one place, and a repeat of either step does nothing."""
        if data is not None:
            self.store(self.txn.replace, path, data)
        self.store(self.txn.move, path, done)

    def _log_message(self, m, result, name=None):
        self.log.log(logbook.MESSAGE if result.kind != Fate.FAILED else logbook.ERROR,
                     "%s %s from=<%s> to=<%s>: %s [%s]" % (
                         name or m.name, messages.clean(m.id, 200), m.author,
                         redact.hide(m, ",".join(m.destinations)), result.action, result.rule))

    def _fail(self, name, path, reason, rule, m=None):
        self.stats["failed"] += 1
        m = m or context.Inbound(name, b"")
        self._log_message(m, kinds.failed("moved to spool/failed: " + reason, rule))
        dst = self.store(self.txn.move, path, os.path.join(self.site.failed, "new", name))
        self.failures.append((os.path.basename(dst), reason))
        self.in_txn += 1


def read_inbound(path: str) -> bytes:
    """The bytes of an inbound message; refuses anything but a regular file.

    A FIFO would block the batch and a link could point anywhere, so both are
    refused (ValueError) without being opened through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError("a symbolic link, not a message")
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file (%s)" % _KINDS.get(stat.S_IFMT(st.st_mode), "special file"))
        # One read of the whole file: no second copy of a big message.
        chunks = [os.read(fd, st.st_size)] if st.st_size else []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def _why(e):
    """An exception as one line: its kind, what it says, where it came from."""
    where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    return "%s: %s%s" % (type(e).__name__, messages.clean(e, 300),
                         " (%s:%d)" % (os.path.basename(where.filename), where.lineno) if where else "")


def _remember(ctx):
    """Copies of what the context keeps for the whole run (counters, sets, caches)."""
    return {k: copy.copy(v) for k, v in vars(ctx).items() if isinstance(v, (set, dict, list))}


def _restore(ctx, memory):
    """Put back what _remember copied; what was made since is dropped."""
    for k in [k for k, v in vars(ctx).items() if isinstance(v, (set, dict, list)) and k not in memory]:
        delattr(ctx, k)
    vars(ctx).update(memory)


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def run(site: Site, now: datetime.datetime, dry_run: bool = False, verbose: bool = False) -> int:
    """One batch (tristero.py run); returns the exit status (0, or sysexits.h's 70, 74, 75, 78)."""
    try:
        if dry_run:
            config = configmod.load(site.home, create=False)
            log = _logbook(site, now, config, verbose)
            for name in journal.pending(site.home):
                print("a committed transaction (%s) is pending; the next run finishes it" % name)
            return _run_locked(site, config, now, log, dry_run, verbose)
        site.ensure()
        with locks.hold(site.lock):
            # The journal first: a transaction it finishes may change tristero.ini
            # and member files, which must be read as it leaves them.
            try:
                recovered, failure = journal.recover(site.home), None
            except OSError as e:
                failure = ("disk failure while finishing an interrupted transaction, batch "
                           "stopped (nothing lost; run again): %s" % _disk_error(e))
            except (ValueError, KeyError) as e:
                failure = ("cannot finish an interrupted transaction in %s (a person must look): %s"
                           % (os.path.join(site.spool, "txn"), e))
            config = configmod.load(site.home, create=True)
            log = _logbook(site, now, config, verbose)
            if failure:
                return _stop(log, failure)
            if any(recovered):
                log.direct(logbook.MESSAGE, "recovered: %d committed transaction(s) finished, %d "
                           "uncommitted discarded (their messages are redone)" % recovered)
            for step, why in getattr(recovered, "skipped", ()):
                log.direct(logbook.ERROR, "journal: a step that cannot be done was skipped: %s: %s" % (step, why))
            return _run_locked(site, config, now, log, dry_run, verbose)
    except locks.Busy:
        if verbose:
            sys.stderr.write("tristero: another run holds %s; nothing done\n" % site.lock)
        return EX_TEMPFAIL
    except OSError as e:
        # Outside any transaction (folders, tristero.ini, the lock): nothing to undo.
        sys.stderr.write("tristero: disk failure, batch stopped (nothing lost; run again): %s\n"
                         % _disk_error(e))
        return EX_IOERR


def disk_short(site: Site, config: configmod.Config) -> int | None:
    """The megabytes free on the site's disk when fewer than DiskReserve (0: no reserve),
    else None."""
    reserve = config.globals("DiskReserve")
    if reserve <= 0:
        return None
    st = os.statvfs(site.home)
    free = st.f_bavail * st.f_frsize // (1024 * 1024)
    return free if free < reserve else None


def _logbook(site, now, config, verbose):
    return logbook.Logbook(site, now, config.globals("LogLevel"), config.globals("LogScreen"), echo=verbose)


def _disk_error(e):
    """An OSError as one line: the file it concerns and what went wrong."""
    return "%s: %s" % (getattr(e, "filename", None) or "disk", getattr(e, "strerror", None) or e)


def _stop(log, text):
    """Report a failure of the disk that stops the batch (exit 74), in the log and on stderr."""
    log.direct(logbook.ERROR, text)
    sys.stderr.write("tristero: %s\n" % text)
    return EX_IOERR


def _run_locked(site, config, now, log, dry_run, verbose):
    started = time.monotonic()
    batch = Batch(site, config, now, log, dry_run)
    progress = watch = None
    try:
        batch.number_new_lists()
        batch.directory_sync()
        batch.feed_folders()
        names = spools.inbound(site)
        progress = Progress(len(names)) if sys.stderr.isatty() and names else None
        log.progress = progress
        # A dry run "commits" (prints) after every message, so its report reads in order.
        every = 1 if dry_run else config.globals("CommitEvery")
        watch = None if dry_run else poison.Watch(site, names)
        if watch and watch.found:
            log.direct(logbook.ERROR, "recovered: " + watch.report())
        short = None
        for i, name in enumerate(names, 1):
            short = None if dry_run else disk_short(site, config)
            if short is not None:
                short = (short, len(names) - i + 1)
                break
            opening = batch.txn is None or batch.in_txn == 0
            deaths = watch and batch.store(watch.before, name, opening, every if opening else every - batch.in_txn)
            if deaths and deaths >= poison.CRASHES:
                batch.set_aside_poison(name, deaths)
            else:
                batch.process(name)
            if batch.in_txn >= every:
                batch.commit()
            if progress:
                progress.show(i)
        if short is None and not dry_run and disk_short(site, config) is not None:
            short = (disk_short(site, config), 0)
        batch.announce_held()
        if short is None:
            batch.send_mailings()
            batch.housekeep()
        batch.commit()
        if short is not None:
            batch.disk_reserve(*short)
        if watch:
            watch.clear()
    except (StoreError, OSError) as e:
        batch.abort()
        if watch:
            watch.clear()
        return _stop(log, "disk failure, batch stopped (nothing lost; run again): %s"
                     % (e if isinstance(e, StoreError) else _disk_error(e)))
    except configmod.ConfigError as e:
        batch.abort()
        if watch:
            watch.clear()
        for p in e.problems:
            log.direct(logbook.ERROR, "tristero.ini was changed during the run and no longer "
                       "reads; not overwritten, batch stopped: %s" % p)
        raise
    finally:
        log.progress = None
        if progress:
            progress.done()
    s = batch.stats
    summary = ("%d message(s): %d done, %d dropped, %d failed%s%s; %d outbound file(s) to %d "
               "recipient(s); %.1f s" % (
                   s["messages"], s["done"], s["dropped"], s["failed"],
                   ", %d vanished" % s["vanished"] if s["vanished"] else "",
                   ", %d web form(s) by mail" % s["forms"] if s["forms"] else "",
                   s["files"], s["recipients"], time.monotonic() - started))
    if not dry_run and s["messages"]:
        log.direct(logbook.MESSAGE, "run: " + summary)
    if verbose or dry_run:
        sys.stderr.write("tristero: %s%s\n" % ("(dry run) " if dry_run else "", summary))
    if short is not None:
        sys.stderr.write("tristero: less than DiskReserve (%d MB) is free on the site's disk: %d "
                         "message(s) left in spool/in/new for a later run\n"
                         % (config.globals("DiskReserve"), short[1]))
        return EX_TEMPFAIL
    return EX_OK


class Progress:
    """A progress bar on the terminal, redrawn at most ten times a second; the log
    (logbook) wipes it before a line and draws it again after."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.last = 0.0
        self.done_count = 0

    def show(self, done: int) -> None:
        self.done_count = done
        t = time.monotonic()
        if t - self.last < 0.1 and done < self.total:
            return
        self.last = t
        self.redraw()

    def redraw(self) -> None:
        width = 30
        filled = width * self.done_count // self.total
        sys.stderr.write("\rtristero: [%s%s] %d/%d" % ("#" * filled, "." * (width - filled),
                                                      self.done_count, self.total))
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")

    def done(self) -> None:
        sys.stderr.write("\n")
