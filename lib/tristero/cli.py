"""The command line: init, run, deliver, watch, check."""

import argparse
import datetime
import os
import sys
import traceback

from tristero import __version__
from tristero.core.exits import EX_CONFIG, EX_OK, EX_SOFTWARE
from tristero.core.text import Texts
from tristero.model import access, lists, members
from tristero.model import config as configmod
from tristero.model.site import Site
from tristero.runtime import batch, delivery, watch
from tristero.services import directory as directories

DESCRIPTION = """\
Tristero: a mailing-list manager run in batches. The mail server delivers into
the site's spool/in/ maildir; "run" processes that mail and writes outbound
mail as BSMTP files to spool/out/new/; "deliver" hands those to the mail server.

To set up a site: "tristero.py init DIR", then edit DIR/tristero.ini.

exit status: 0 done (messages that could not be processed are in spool/failed/),
70 an internal error (reported in one line; nothing is lost), 74 the disk failed
(full or read-only; nothing was lost, run again), 75 try again later (another
run holds the lock; for deliver: the mail server cannot be reached, the files
stay queued), 78 the configuration is invalid or --home names no folder
(nothing was done)."""


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

    p = sub.add_parser("init", help="Create a site in DIR: tristero.ini from the example, and its folders.",
                       description="Create a site in DIR (made if missing): tristero.ini copied from "
                                   "tristero.ini.example, and the folders lists/, archive/, logs/ and spool/. "
                                   "A folder that already holds a tristero.ini is left as it is.")
    p.add_argument("dir", metavar="DIR", help="the site folder")
    p = command("run", "Run one batch: process spool/in/new, write spool/out/new, do housekeeping.")
    p.add_argument("--now", type=parse_time, metavar="TIME",
                   help="run as if the clock said TIME (ISO 8601, e.g. 2026-11-21T02:00:00)")
    p.add_argument("--dry-run", action="store_true",
                   help="print what the batch would do; change nothing on disk")
    command("deliver", "Hand spool/out/new to the mail server ([Delivery] in tristero.ini).")
    command("watch", "Stay running; run a batch whenever mail lands in spool/in/new.")
    command("check", "Read the configuration and report every problem with file and line.")
    p = command("directory", "The lists as directory entries: 'directory export' prints them (LDIF or CSV).")
    p.add_argument("action", choices=("export",), help="export: print every list and its members")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--ldif", action="store_true", help="LDIF entries (the default)")
    way.add_argument("--csv", action="store_true", help="CSV: list, list address, member (one row a member)")
    p.add_argument("--format", choices=directories.EXPORT_FORMATS,
                   help="the LDIF entries' object class (default: [Directory] ExportFormat)")
    return parser


def home_of(args):
    """(the site folder, how it was named: "--home", "TRISTERO_HOME" or None for the default)."""
    if args.home:
        return args.home, "--home"
    if os.environ.get("TRISTERO_HOME"):
        return os.environ["TRISTERO_HOME"], "TRISTERO_HOME"
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), None


def init(folder):
    """tristero.py init DIR: a new site from tristero.ini.example."""
    site = Site(folder)
    if os.path.exists(site.home) and not os.path.isdir(site.home):
        sys.stderr.write("tristero: init: %s exists and is not a folder\n" % site.home)
        return EX_CONFIG
    os.makedirs(site.home, exist_ok=True)
    site.ensure()
    if os.path.exists(site.ini):
        print("tristero: %s already holds a site; its tristero.ini is left as it is" % site.home)
        return EX_OK
    with open(configmod.EXAMPLE, "rb") as f:
        example = f.read()
    with open(site.ini + ".tmp", "wb") as f:
        f.write(example)
    os.replace(site.ini + ".tmp", site.ini)
    print("tristero: a site is ready in %s; set Domain and SuperUser in %s, then run "
          "'tristero.py check --home %s'" % (site.home, site.ini, site.home))
    return EX_OK


def main(argv):
    args = build_parser().parse_args(argv)
    if args.command == "init":
        return init(args.dir)
    home, named_by = home_of(args)
    if named_by and not os.path.isdir(home):
        # A typo must not build a fresh site with the example's domain somewhere else.
        sys.stderr.write("tristero: %s %s is not a folder; to create a site there: "
                         "python3 tristero.py init %s\n" % (named_by, home, home))
        return EX_CONFIG
    site = Site(home)
    verbose = args.verbose or sys.stderr.isatty()
    try:
        if args.command == "check":
            return check(site)
        if args.command == "run":
            now = args.now or datetime.datetime.now().astimezone()
            return batch.run(site, now, dry_run=args.dry_run, verbose=verbose)
        if args.command == "deliver":
            return delivery.deliver(site, verbose=verbose)
        if args.command == "watch":
            return watch.watch(site, verbose=verbose)
        if args.command == "directory":
            return export(site, args)
    except configmod.ConfigError as e:
        for p in e.problems:
            sys.stderr.write("tristero: %s\n" % p)
        return EX_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        # A bug: one line for cron's mail, never a traceback; the spool is as the
        # journal left it, and the next run finishes or redoes the work.
        where = traceback.extract_tb(e.__traceback__)[-1]
        sys.stderr.write("tristero: internal error %s: %s (%s:%d)\n" % (
            type(e).__name__, e, os.path.basename(where.filename), where.lineno))
        return EX_SOFTWARE
    return EX_OK


def export(site, args):
    """tristero.py directory export: the lists as directory entries, on stdout."""
    cfg = configmod.load(site.home, create=False)
    rosters = {}

    def roster(number):
        if number not in rosters:
            rosters.clear()
            rosters[number] = members.load(number, site.member_file(number))
        return rosters[number]
    try:
        for piece in directories.export(cfg, site, roster, as_csv=args.csv, fmt=args.format):
            sys.stdout.write(piece)
        sys.stdout.flush()
    except BrokenPipeError:
        # A reader that stopped early (| head): what it wanted, it had.
        pass
    return EX_OK


def check(site):
    """Read everything a run reads and report every problem with file and line; print a
    summary line when nothing would be skipped or misread, else exit 78."""
    cfg = None
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
            cfg = configmod.Config(site.ini, text, configmod.load_defaults())
            problems = cfg.check()
    rules, broken = access.load(site.access)
    problems += [configmod.Problem(site.access, line, "%s (this rule bars its user until mended)" % why)
                 for line, why in broken]
    count = 0
    if cfg is not None and not any(p.fatal for p in problems):
        count, more = _check_lists(site, cfg)
        problems += more
    # The site's own wording: an entry that is not used is a warning (the built-in text is).
    problems += [configmod.Problem(path, line, why, fatal=False)
                 for path, line, why in Texts(site.templates).check()]
    for p in problems:
        sys.stderr.write("tristero: %s\n" % p)
    if any(p.fatal for p in problems):
        return EX_CONFIG
    names = cfg.list_names()
    print("%s: %d list(s), %d member(s), %d access rule(s)%s" % (
        site.ini, len(names), count, len(rules),
        "; %d warning(s)" % len(problems) if problems else "; no problems found"))
    return EX_OK


def _check_lists(site, cfg):
    """(members counted, problems) of every list's member file and special files."""
    count, problems = 0, []
    for name in cfg.list_names():
        number = lists.number(cfg, name)
        if not number:
            # Added by hand: the next run gives it its member file.
            continue
        path = site.member_file(number)
        if not os.path.exists(path):
            problems.append(configmod.Problem(site.ini, cfg.line_of(lists.section(name)),
                                              "[LIST %s]: its member file lists/%s.ini does not exist "
                                              "(the list has no members)" % (name, number), fatal=False))
            continue
        ml = members.load(number, path)
        count += len(ml)
        problems += [configmod.Problem(path, line, why) for line, why in ml.problems]
        folder = site.archive_dir(number)
        for special in SPECIAL_FILES:
            where = os.path.join(folder, special)
            if os.path.islink(where) or (os.path.lexists(where) and not os.path.isfile(where)):
                problems.append(configmod.Problem(where, None, "not a plain file: a run will not read it"))
    return count, problems


# What a run reads in a list's folder (see repository): refused when not a plain file.
SPECIAL_FILES = ("readme.txt", "welcome.txt", "farewell.txt", "index.txt", "FILELIST.TXT", "LISTBOT.TXT")
