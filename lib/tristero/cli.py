"""The command line: init, run, deliver, watch, check, maps, web, dkim-keygen, import, explain."""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import traceback

from tristero import __version__
from tristero.commands import explain as explaining
from tristero.core import nameservers
from tristero.core.exits import EX_CONFIG, EX_OK, EX_SOFTWARE, EX_TEMPFAIL
from tristero.core.text import Texts, language_code
from tristero.model import access, lists, members, signing
from tristero.model import config as configmod
from tristero.model.site import Site
from tristero.runtime import batch, delivery, imports, mailingcmd, maps, watch, web
from tristero.services import directory as directories

DESCRIPTION = """\
Tristero: a mailing-list manager run in batches. The mail server delivers into
the site's spool/in/ maildir; "run" processes that mail and writes outbound
mail as BSMTP files to spool/out/new/; "deliver" hands those to the mail server.

To set up a site: "tristero.py init DIR", then edit DIR/tristero.ini; "maps"
prints what the mail server needs to deliver the site's addresses.

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


def listen_address(text):
    """--listen: HOST:PORT."""
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise argparse.ArgumentTypeError("%r is not HOST:PORT, such as 127.0.0.1:8025" % text)
    return text


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
    p.add_argument("--deliver", action="store_true",
                   help="deliver as the batch goes: a deliver hands each committed file to the mail "
                        "server while the batch goes on, and drains spool/out/new once it has ended "
                        "(exit status: the run's when it failed, else the deliver's; ignored with --dry-run)")
    p = command("deliver", "Hand spool/out/new to the mail server ([Delivery] in tristero.ini).")
    # run --deliver's own: take the files as they come until standard input closes.
    p.add_argument("--follow", action="store_true", help=argparse.SUPPRESS)
    command("watch", "Stay running; run a batch whenever mail lands in spool/in/new.")
    p = command("maps", "Print what the mail server needs to deliver the site's addresses into spool/in/ "
                        "for the current lists (run again when lists change).")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--postfix", dest="mta", action="store_const", const="postfix",
                       help="only Postfix: main.cf lines and a texthash table for virtual_mailbox_maps")
    which.add_argument("--exim", dest="mta", action="store_const", const="exim",
                       help="only Exim: the routers and the appendfile transport")
    command("check", "Read the configuration and report every problem with file and line; "
                     "with [DKIM] set, whether DNS publishes the key.")
    p = command("web", "Serve the web endpoint (one-click unsubscription, subscribe forms) for development; "
                       "it only writes command mail into spool/in/new.")
    p.add_argument("--listen", default="127.0.0.1:8025", type=listen_address, metavar="HOST:PORT",
                   help="the address to listen at (default 127.0.0.1:8025)")
    p = command("dkim-keygen", "Write a new DKIM key to [DKIM] KeyFile (mode 0600; default dkim.key) "
                               "and print the TXT record to publish.")
    p.add_argument("--algorithm", choices=signing.ALGORITHMS, default=None,
                   help="the key's algorithm (default: [DKIM] Algorithm, rsa-sha256: a %d-bit key)"
                        % signing.RSA_BITS)
    p = command("directory", "The lists as directory entries: 'directory export' prints them (LDIF or CSV).")
    p.add_argument("action", choices=("export",), help="export: print every list and its members")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--ldif", action="store_true", help="LDIF entries (the default)")
    way.add_argument("--csv", action="store_true", help="CSV: list, list address, member (one row a member)")
    p.add_argument("--format", choices=directories.EXPORT_FORMATS,
                   help="the LDIF entries' object class (default: [Directory] ExportFormat)")
    p = command("explain", "Print what the site did with a message, each step and the rule or setting that "
                           "decided it, from the daily logs of the last LogDays days (every step with LogLevel 2).")
    p.add_argument("message_id", metavar="MESSAGE-ID", help="the message's Message-ID (angle brackets optional)")
    p.add_argument("--now", type=parse_time, metavar="TIME", help="read the logs as if the clock said TIME")
    p = command("import", "Bring lists over from another list manager: 'import majordomo DIR' (a Majordomo "
                          "lists folder), 'import mailman FILE --list NAME' (a Mailman member export), "
                          "'import listserv FILE' (a LISTSERV list file; the list is named after the file).")
    p.add_argument("kind", choices=imports.KINDS, help="the list manager the source comes from")
    p.add_argument("source", metavar="SOURCE", help="the Majordomo lists folder, or the file to read")
    p.add_argument("--list", dest="listname", metavar="NAME", help="mailman: the list the members go to")
    p.add_argument("--dry-run", action="store_true", help="print what the import would create; change nothing")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--replace", dest="mode", action="store_const", const="replace",
                     help="a list that exists takes the source's settings, members, texts and archive")
    how.add_argument("--merge", dest="mode", action="store_const", const="merge",
                     help="a list that exists gains the members it lacks; nothing else changes")
    p = command("mailing", "The scheduled mailings of mailings/NAME/: list, show, create, send a test copy, "
                           "approve, schedule, pause, resume or cancel one.")
    p.add_argument("action", choices=mailingcmd.ACTIONS, help="what to do")
    p.add_argument("name", nargs="?", help="the mailing (its folder's name)")
    p.add_argument("address", nargs="?", metavar="ARG",
                   help="test: the address the copy goes to (its recipient row, when it has one); create: the "
                        "file of its settings (KEY = value lines), a blank line and its text; schedule: the "
                        "schedule, quoted ('every 1 weeks from 2026-12-07T09:00 count 6')")
    p.add_argument("--attach", action="append", default=[], metavar="FILE",
                   help="create: a .csv or .tsv file of recipients, an .html alternative of the text, or "
                        "a file to attach (may be given again)")
    p.add_argument("--by", metavar="ADDRESS", help="approve: who approves (default: the SuperUser)")
    p.add_argument("--now", type=parse_time, metavar="TIME", help="as if the clock said TIME (ISO 8601)")
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
        if args.command == "dkim-keygen":
            return dkim_keygen(site, args.algorithm)
        if args.command == "run":
            now = args.now or datetime.datetime.now().astimezone()
            if args.deliver and not args.dry_run:
                return run_and_deliver(site, now, verbose)
            return batch.run(site, now, dry_run=args.dry_run, verbose=verbose)
        if args.command == "deliver":
            return delivery.deliver(site, verbose=verbose, follow=sys.stdin if args.follow else None)
        if args.command == "watch":
            return watch.watch(site, verbose=verbose)
        if args.command == "maps":
            sys.stdout.write(maps.maps(site, args.mta, sys.stderr))
            return EX_OK
        if args.command == "web":
            return web.serve(site, args.listen)
        if args.command == "directory":
            return export(site, args)
        if args.command == "explain":
            return explain(site, args.message_id, (args.now or datetime.datetime.now().astimezone()).date())
        if args.command == "import":
            return imports.run(site, args.kind, args.source, listname=args.listname, dry_run=args.dry_run,
                               mode=args.mode)
        if args.command == "mailing":
            return mailingcmd.main(site, args.now or datetime.datetime.now().astimezone(), args.action, args.name,
                                   by=args.by, address=args.address, attach=args.attach, verbose=verbose)
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


TRISTERO_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "tristero.py")


def run_and_deliver(site, now, verbose):
    """run --deliver: a "deliver --follow" process hands the files to the mail server as
    the batch commits them; its standard input closing tells it the batch has ended,
    and it ends once it has drained spool/out/new. Returns the run's status when the
    run failed (another run holding the lock is no failure), else the deliver's."""
    argv = [sys.executable, TRISTERO_PY, "deliver", "--home", site.home, "--follow"] + (["-v"] if verbose else [])
    with tempfile.TemporaryFile() as said:
        child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=said, stderr=said)
        try:
            status = batch.run(site, now, verbose=verbose)
        finally:
            child.stdin.close()
            delivered = child.wait()
        said.seek(0)
        sys.stderr.write(said.read().decode("utf-8", "replace"))
    return delivered if status in (EX_OK, EX_TEMPFAIL) else status


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


def explain(site, message_id, today):
    """tristero.py explain MESSAGE-ID: the log lines about the message, on stdout."""
    cfg = configmod.load(site.home, create=False)
    form, found = explaining.explained(site, cfg, message_id, today)
    if not found:
        sys.stderr.write("tristero: explain: the logs of the last %d day(s) know of no message %s\n"
                         % (cfg.globals("LogDays"), form))
        return EX_OK
    for line in found:
        print(line)
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
    problems += [configmod.Problem(site.access, r.line, "the language %r is not one Tristero has texts in: %s reads "
                                   "the list's or the site's" % (r.language, r.user), fatal=False)
                 for r in rules if r.language and language_code(r.language) is None]
    count = 0
    if cfg is not None and not any(p.fatal for p in problems):
        count, more = _check_lists(site, cfg)
        problems += more
    # The site's own wording: an entry that is not used is a warning (the built-in text is).
    problems += [configmod.Problem(path, line, why, fatal=False)
                 for path, line, why in Texts(site.templates).check()]
    if cfg is not None and not any(p.fatal for p in problems):
        problems += _check_dkim(site, cfg)
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
        problems += _check_moderators(site, cfg, name)
        folder = site.archive_dir(number)
        for special in SPECIAL_FILES:
            where = os.path.join(folder, special)
            if os.path.islink(where) or (os.path.lexists(where) and not os.path.isfile(where)):
                problems.append(configmod.Problem(where, None, "not a plain file: a run will not read it"))
    return count, problems


def _check_moderators(site, cfg, name):
    """A Moderated list (or one set moderate) with no moderators: a warning."""
    if cfg.list_value(name, "Type") != "Moderated" and cfg.list_value(name, "moderate") != "yes":
        return []
    if cfg.list_value(name, "moderator"):
        return []
    approval = lists.find(cfg, name + "-approval")
    number = approval and lists.number(cfg, approval)
    if number and os.path.exists(site.member_file(number)) and len(members.load(number, site.member_file(number))):
        return []
    owner = cfg.raw(lists.section(name), "Owner") or ""
    return [configmod.Problem(site.ini, cfg.line_of(lists.section(name)),
                              "[LIST %s]: a moderated list with no moderators (no %s-approval list with members, "
                              "no moderator): held posts go to %s" % (name, name, owner or "nobody"), fatal=False)]


# What a run reads in a list's folder (see repository): refused when not a plain file.
SPECIAL_FILES = ("readme.txt", "welcome.txt", "farewell.txt", "index.txt", "FILELIST.TXT", "LISTBOT.TXT")


def _dkim_name(cfg):
    return "%s._domainkey.%s" % (cfg.get("DKIM", "Selector") or "SELECTOR",
                                 cfg.get("DKIM", "Domain") or cfg.globals("Domain"))


def _check_dkim(site, cfg):
    """[DKIM]: the key must be usable (a fatal problem otherwise) and DNS should publish
    it (missing or different: a warning; matching: said on stdout)."""
    if not signing.configured(cfg):
        return []
    where = (cfg.path, cfg.line_of("DKIM", "KeyFile"))
    try:
        signer = signing.Signer.from_config(site, cfg, datetime.datetime.now().astimezone())
    except signing.KeyProblem as e:
        return [configmod.Problem(*where, "[DKIM] %s" % e)]
    name = _dkim_name(cfg)
    try:
        records = nameservers.txt(nameservers.resolver(cfg.globals("Nameservers")), name)
    except nameservers.LookupFailed as e:
        return [configmod.Problem(*where, "[DKIM] the DKIM record could not be looked up (%s)" % e, fatal=False)]
    records = [r for r in records if r.replace(" ", "").startswith("v=DKIM1") or "p=" in r]
    if not records:
        return [configmod.Problem(*where, "[DKIM] no DKIM record is published at %s: receivers cannot verify "
                                          "the signatures; publish: %s" % (name, signer.public_record()),
                                  fatal=False)]
    if not any(signer.matches(r) for r in records):
        return [configmod.Problem(*where, "[DKIM] the record published at %s is a different key from KeyFile's: "
                                          "receivers will reject the signatures; publish: %s"
                                  % (name, signer.public_record()), fatal=False)]
    print("%s: the DKIM record at %s matches the key" % (site.ini, name))
    return []


def dkim_keygen(site, algorithm):
    """tristero.py dkim-keygen: a new key in KeyFile (never over an existing one), and the
    TXT record to publish."""
    cfg = configmod.load(site.home, create=False)
    algorithm = algorithm or cfg.get("DKIM", "Algorithm")
    keyfile = cfg.get("DKIM", "KeyFile") or "dkim.key"
    path = os.path.join(site.home, os.path.expanduser(keyfile))
    if os.path.lexists(path):
        sys.stderr.write("tristero: dkim-keygen: %s exists; a key is never overwritten (move it away first)\n"
                         % path)
        return EX_CONFIG
    try:
        key = signing.generate(path, algorithm)
        signer = signing.Signer("x", "x", key, algorithm, datetime.datetime.now().astimezone())
    except (signing.KeyProblem, OSError) as e:
        sys.stderr.write("tristero: dkim-keygen: %s\n" % e)
        return EX_CONFIG
    print("A %s key is in %s (mode 0600). Publish this TXT record at %s:\n\n%s\n"
          % (algorithm, path, _dkim_name(cfg), signer.public_record()))
    wanted = [("Selector", "(a name of your choice, e.g. the year)"), ("KeyFile", keyfile), ("Algorithm", algorithm)]
    todo = ["%s = %s" % (k, v) for k, v in wanted if cfg.get("DKIM", k) != v and not (k == "Selector" and
                                                                                    cfg.get("DKIM", k))]
    if todo:
        print("Then set in [DKIM] of %s: %s" % (site.ini, "; ".join(todo)))
    return EX_OK
