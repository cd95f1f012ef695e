"""The watcher: stay running and start a batch whenever mail lands in spool/in/new/.

Watchdog only *triggers* a batch; the batch rescans the spool itself, so an event
the kernel dropped costs time, not mail. A timer looks too: it runs a batch when mail
is waiting or when the local date has changed since the last batch (the first batch
of a day does the housekeeping), and at start-up it runs one at once. The lock is
the one ``run`` takes: when another run holds it (cron), the batch exits 75 and the
watcher tries again shortly. SIGTERM and SIGINT only set a flag: a batch in progress
always finishes, then the watcher exits 0.
"""

import datetime
import logging
import os
import signal
import sys
import threading
import time
import traceback

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from tristero.core.exits import EX_CONFIG, EX_OK, EX_SOFTWARE, EX_TEMPFAIL
from tristero.model import config as configmod
from tristero.runtime import batch

QUIET = 1.0        # seconds without new mail before a batch starts ...
MAX_DELAY = 10.0   # ... but no later than this after the first arrival, if mail keeps coming
RESCAN = 60.0      # seconds between looks at spool/in/new and the date, events or not
RETRY_BUSY = 5.0   # seconds before trying again when another run holds the lock
TICK = 0.2         # how often the loop looks at the clock; bounds how long a stop takes


def say(text):
    sys.stderr.write("tristero: watch: %s\n" % text)
    sys.stderr.flush()


class Arrivals(FileSystemEventHandler):
    """Notes when mail lands in a maildir's new/; events come on the observer's thread."""

    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        self.first = self.last = None

    def on_created(self, event):
        if not event.is_directory:
            self.note()

    def on_moved(self, event):
        # A mail server writes in tmp/ and renames into new/.
        if not event.is_directory and os.path.dirname(os.fsdecode(event.dest_path)) == self.folder:
            self.note()

    def note(self):
        now = time.monotonic()
        with self.lock:
            if self.first is None:
                self.first = now
            self.last = now

    def settled(self, now):
        """True, and forget the arrivals, when the batch for them should start now."""
        with self.lock:
            if self.first is None or (now - self.last < QUIET and now - self.first < MAX_DELAY):
                return False
            self.first = self.last = None
            return True


class Watcher:
    """The loop: debounced batches on arrivals, and a timer for what events miss."""

    def __init__(self, site, verbose=False):
        self.site = site
        self.verbose = verbose
        self.new = os.path.join(site.inbox, "new")
        self.arrivals = Arrivals(self.new)
        self.stopping = False
        self.last_day = None      # local date of the last batch that ran to the end
        self.next_rescan = 0.0    # monotonic time of the next look; 0: at start-up

    def stop(self, signum, frame):
        """Signal handler: ask the loop to stop once the batch in progress (if any) is done."""
        self.stopping = True

    def waiting(self):
        """How many messages are in spool/in/new."""
        try:
            return sum(1 for name in os.listdir(self.new) if not name.startswith("."))
        except OSError:
            return 0

    def rescan_due(self, now):
        """True when the timer says a batch should run now."""
        if now < self.next_rescan:
            return False
        self.next_rescan = now + RESCAN
        return self.waiting() > 0 or self.last_day != datetime.date.today()

    def observe(self):
        """Start watching new/; fall back to polling when inotify is unavailable (limits)."""
        observer = Observer()
        observer.schedule(self.arrivals, self.new, recursive=False)
        try:
            observer.start()
        except OSError as e:
            say("cannot watch %s (%s); polling it instead" % (self.new, e))
            observer = PollingObserver()
            observer.schedule(self.arrivals, self.new, recursive=False)
            observer.start()
        return observer

    def run(self):
        """Loop until a stop signal; returns the exit code."""
        self.site.ensure()
        observer = self.observe()
        if self.verbose:
            say("watching %s" % self.new)
        try:
            while not self.stopping:
                now = time.monotonic()
                if self.arrivals.settled(now) or self.rescan_due(now):
                    self.batch()
                else:
                    time.sleep(TICK)
        finally:
            # Watchdog's emitter may log a harmless error when stopped in the middle of a read.
            logging.getLogger("watchdog").setLevel(logging.CRITICAL)
            observer.stop()
            observer.join()
        if self.verbose:
            say("stopped")
        return EX_OK

    def batch(self):
        """Run one batch; note its date when it ran, plan a retry when it could not."""
        if self.verbose:
            say("batch started, %d message(s) waiting" % self.waiting())
        started = time.monotonic()
        now = datetime.datetime.now().astimezone()
        try:
            code = batch.run(self.site, now, verbose=self.verbose)
        except configmod.ConfigError as e:
            # A person may be half-way through editing tristero.ini: try again later.
            for p in e.problems:
                say(str(p))
            code = EX_CONFIG
        except Exception:
            traceback.print_exc()
            code = EX_SOFTWARE
        if code == EX_OK:
            self.last_day = now.date()
        elif code == EX_TEMPFAIL:
            self.next_rescan = min(self.next_rescan, time.monotonic() + RETRY_BUSY)
        if self.verbose or code not in (EX_OK, EX_TEMPFAIL):
            say("batch finished, exit %d, %.1f s%s" % (
                code, time.monotonic() - started,
                "" if code in (EX_OK, EX_TEMPFAIL) else "; trying again on new mail or within %d s" % RESCAN))


def watch(site, verbose=False):
    """Run batches as mail arrives until SIGTERM or SIGINT; returns the exit code."""
    watcher = Watcher(site, verbose)
    previous = {s: signal.signal(s, watcher.stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return watcher.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
