"""tristero.py mailing ACTION NAME: the site administrator's hand on a mailing
(services/mailings.py), in a unit of work of its own under the site's lock: what it
writes (mailing.ini) and sends (TEST's copy) is committed as a run's work is."""

import sys

from tristero.core.exits import EX_DATAERR, EX_OK, EX_TEMPFAIL
from tristero.model import config as configmod
from tristero.model import journal, locks
from tristero.runtime import batch as batches
from tristero.services import mailings

ACTIONS = ("list", "show", "test", "approve", "pause", "resume", "cancel")


def main(site, now, action, name, by=None, address=None, verbose=False):
    """Do action on mailing name; print what was done; the exit status."""
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
    site.ensure()
    try:
        with locks.hold(site.lock):
            journal.recover(site.home)
            config = configmod.load(site.home, create=True)
            b = batches.Batch(site, config, now, batches._logbook(site, now, config, verbose), False)
            said = []
            with b.unit_of_work("mailing:%s:%s:%s" % (action, name, now.isoformat())) as unit:
                if action == "approve":
                    done, text = mailings.approve(b.ctx, name, by or config.globals("SuperUser"))
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
