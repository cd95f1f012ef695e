"""tristero.py mailing ACTION NAME: the site administrator's hand on a mailing
(services/mailings.py), in a unit of work of its own under the site's lock: what it
writes (mailing.ini) and sends (TEST's copy) is committed as a run's work is."""

import os
import sys

from tristero.core.exits import EX_DATAERR, EX_OK, EX_TEMPFAIL
from tristero.model import config as configmod
from tristero.model import journal, locks
from tristero.runtime import batch as batches
from tristero.services import mailings

ACTIONS = ("list", "show", "create", "test", "approve", "schedule", "pause", "resume", "cancel")


def main(site, now, action, name, by=None, address=None, attach=(), verbose=False):
    """Do action on mailing name (address: test's address, create's file, schedule's
    schedule; attach: create's files); print what was done; the exit status."""
    if action == "list":
        for n in mailings.names(site):
            try:
                print("%s: %s" % (n, mailings.Mailing(site, n).state))
            except mailings.MailingError as e:
                print("%s: %s" % (n, e))
        return EX_OK
    if not name:
        sys.stderr.write("tristero: mailing %s: name a mailing\n" % action)
        return EX_DATAERR
    if action == "show":
        try:
            print("\n".join(mailings.show(site, name)))
        except mailings.MailingError as e:
            sys.stderr.write("tristero: mailing %s: %s\n" % (name, e))
            return EX_DATAERR
        return EX_OK
    if action in ("create", "schedule") and not address:
        sys.stderr.write("tristero: mailing %s: %s\n" % (action, "name the file of its settings and text"
                                                         if action == "create" else "give the schedule"))
        return EX_DATAERR
    if action == "create":
        try:
            lines, files = read_files(address, attach)
        except OSError as e:
            sys.stderr.write("tristero: mailing create: %s: %s\n" % (e.filename, e.strerror))
            return EX_DATAERR
    site.ensure()
    try:
        with locks.hold(site.lock):
            journal.recover(site.home)
            config = configmod.load(site.home, create=True)
            b = batches.Batch(site, config, now, batches._logbook(site, now, config, verbose), False)
            said = []
            with b.unit_of_work("mailing:%s:%s:%s" % (action, name, now.isoformat())) as unit:
                say = (lambda key, **fields: b.ctx.text(key, None, **fields))
                if action == "approve":
                    done, text = mailings.approve(b.ctx, name, by or config.globals("SuperUser"))
                elif action == "create":
                    count = mailings.create(b.ctx, mailings.Draft(site, name, lines, files, say), say)
                    done, text = True, say("create.mailing-done", name=name, count=count)
                elif action == "schedule":
                    done, text = True, mailings.set_schedule(b.ctx, name, address, say)
                elif action == "test":
                    done, text = True, mailings.test(b.ctx, name, address or by or config.globals("SuperUser"))
                else:
                    done, text = mailings.change_state(b.ctx, name, action)
                said.append((done, text))
                if not done:
                    unit.cancel()
            b.commit()
    except locks.Busy:
        sys.stderr.write("tristero: another run holds %s; try again\n" % site.lock)
        return EX_TEMPFAIL
    if unit.error is not None:
        why = unit.error if isinstance(unit.error, mailings.MailingError) else "%s: %s" % (
            type(unit.error).__name__, unit.error)
        sys.stderr.write("tristero: mailing %s: %s\n" % (name, why))
        return EX_DATAERR
    done, text = said[0]
    if not done:
        sys.stderr.write("tristero: %s\n" % text)
        return EX_DATAERR
    print(text)
    return EX_OK


def read_files(path, attach):
    """(the lines of path, a last line EOF left out; [(file name, bytes)] of attach) for create."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if lines and lines[-1].strip() == "EOF":      # as it is written by mail
        lines.pop()
    files = []
    for name in attach:
        with open(name, "rb") as f:
            files.append((os.path.basename(name), f.read()))
    return lines, files
