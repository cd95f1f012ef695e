"""The command line (CONTRACT §2): run, deliver, watch, check."""

import argparse
import datetime
import os
import sys

from . import __version__
from . import config as configmod
from .site import Site

from .exits import EX_CONFIG, EX_OK, EX_SOFTWARE

DESCRIPTION = """\
Tristero: a mailing-list manager run in batches. The mail server delivers into
the site's spool/in/ maildir; "run" processes that mail and writes outbound
mail as BSMTP files to spool/out/new/; "deliver" hands those to the mail server.

exit status: 0 done (messages that could not be processed are in spool/failed/),
70 an internal error (reported in one line; nothing is lost), 74 the disk failed
(full or read-only; nothing was lost, run again), 75 another run holds the
lock, 78 the configuration is invalid (nothing was done)."""


def parse_time(text):
    """--now: an ISO 8601 time; without a zone it is local time."""
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an ISO 8601 time such as 2026-11-21T02:00:00" % text)
    if when.tzinfo is None:
        when = when.astimezone()
    return when


def build_parser():
    parser = argparse.ArgumentParser(prog="tristero.py", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="Tristero " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--home", metavar="DIR",
                       help="the site folder (default: $TRISTERO_HOME, else the folder of tristero.py)")
        p.add_argument("-v", "--verbose", action="store_true",
                       help="report progress and a summary even when not on a terminal")
        return p

    p = command("run", "Run one batch: process spool/in/new, write spool/out/new, do housekeeping.")
    p.add_argument("--now", type=parse_time, metavar="TIME",
                   help="run as if the clock said TIME (ISO 8601, e.g. 2026-11-21T02:00:00)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what the batch would do; change nothing on disk")
    command("deliver", "Hand spool/out/new to the mail server ([Delivery] in tristero.ini).")
    command("watch", "Stay running; run a batch whenever mail lands in spool/in/new.")
    command("check", "Read the configuration and report every problem with file and line.")
    return parser


def home_of(args):
    if args.home:
        return args.home
    if os.environ.get("TRISTERO_HOME"):
        return os.environ["TRISTERO_HOME"]
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv):
    args = build_parser().parse_args(argv)
    site = Site(home_of(args))
    verbose = args.verbose or sys.stderr.isatty()
    try:
        if args.command == "check":
            return check(site)
        if args.command == "run":
            from . import batch
            now = args.now or datetime.datetime.now().astimezone()
            return batch.run(site, now, dry_run=args.dry_run, verbose=verbose)
        if args.command == "deliver":
            from . import delivery
            return delivery.deliver(site, verbose=verbose)
        if args.command == "watch":
            from . import watch
            return watch.watch(site, verbose=verbose)
    except configmod.ConfigError as e:
        for p in e.problems:
            sys.stderr.write("tristero: %s\n" % p)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        # A bug: one line for cron's mail, never a traceback; the spool is as the
        # journal left it, and the next run finishes or redoes the work.
        import traceback
        where = traceback.extract_tb(e.__traceback__)[-1]
        sys.stderr.write("tristero: internal error %s: %s (%s:%d)\n" % (
            type(e).__name__, e, os.path.basename(where.filename), where.lineno))
        return EX_SOFTWARE
    return EX_OK


def check(site):
    """Report every problem in the configuration; 78 when any is fatal."""
    if not os.path.exists(site.ini):
        sys.stderr.write("tristero: %s does not exist; a run would start from %s\n"
                         % (site.ini, configmod.EXAMPLE))
        cfg = configmod.load_defaults()
        problems = cfg.check()
    else:
        try:
            text = configmod.read_text(site.ini)
        except configmod.ConfigError as e:
            problems = e.problems
        else:
            problems = configmod.Config(site.ini, text, configmod.load_defaults()).check()
    from . import access
    _, broken = access.load(site.access)
    problems += [configmod.Problem(site.access, line, "%s (this rule bars its user until mended)" % why,
                                   fatal=False) for line, why in broken]
    for p in problems:
        sys.stderr.write("tristero: %s\n" % p)
    if any(p.fatal for p in problems):
        return EX_CONFIG
    if sys.stdout.isatty():
        print("%s: no problems found" % site.ini if not problems else "%s: warnings only" % site.ini)
    return EX_OK
