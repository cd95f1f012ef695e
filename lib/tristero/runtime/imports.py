"""Imports: lists brought over from Majordomo, Mailman and LISTSERV in one command each.

``tristero.py import majordomo DIR`` reads a Majordomo lists folder (``LIST`` its
members, ``LIST.config``, ``LIST.info``, ``LIST.intro``, ``LIST.passwd``,
``LIST.archive/``, ``LIST-digest``); ``import mailman FILE --list NAME`` a member export
of Mailman 2 (``list_members -f``) or Mailman 3 (CSV: address, name, delivery status,
digest); ``import listserv FILE`` a LISTSERV list file (``* Keyword= value`` header,
then members). Each source becomes plans (one a list); nothing is written until every
plan is known to be wanted: a list that exists and would change is refused (exit 78,
nothing written) unless ``--replace`` (settings, members, texts and archive as the
source says) or ``--merge`` (members added, nothing else touched). A plan that matches
what the site holds changes nothing, so an import run twice writes nothing the second
time. Every line of the source that could not be used is reported with file and line.
Member files and list folders are written first, tristero.ini last: a list exists
once its section does.
"""

from __future__ import annotations

import csv
import datetime
import email.utils
import io
import mailbox
import os
import re
import sys

from tristero.core import messages
from tristero.core.exits import EX_CONFIG, EX_IOERR, EX_OK, EX_TEMPFAIL
from tristero.model import config as configmod
from tristero.model import durable, lists, locks, members
from tristero.policy import addresses, rights
from tristero.services import archive

KINDS = ("majordomo", "mailman", "listserv")

# Majordomo 1.94 settings kept under their own names in the list's section (see the
# README's table); description is Tristero's Description.
MAJORDOMO_KEYS = (
    "admin_passwd", "approve_passwd", "moderate", "moderator", "restrict_post",
    "subscribe_policy", "unsubscribe_policy", "index_access", "get_access", "info_access",
    "which_access", "who_access", "reply_to", "subject_prefix", "maxlength", "taboo_headers",
    "taboo_body", "welcome", "announcements", "digest_archive", "digest_issue", "digest_name",
    "digest_rm_footer", "digest_rm_fronter", "digest_volume", "digest_work_dir", "digest_maxdays",
    "digest_maxlines")
PASSWORD_KEYS = ("admin_passwd", "approve_passwd")
MAX_LINE = 4096           # a longer line of a source is reported, not read
_DIGEST = "DIGEST DAILY SUMMARY MIME"


class Plan:
    """One list as the source says it should be."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.settings = {}    # key -> value as written in tristero.ini
        self.passwords = {}   # key -> the password in clear (hashed when written)
        self.password_from = {}  # key -> (the file it was read from, _seen before reading)
        self.members = {}     # address key -> (address, options)
        self.texts = {}       # file name in the list's folder -> bytes
        self.archive = {}     # day file name -> bytes


class Importer:
    """Reads a source into plans, reporting every line it cannot use."""

    def __init__(self) -> None:
        self.plans = []
        self.unused = []      # (file, line or None, why)

    def skip(self, path, line, why):
        self.unused.append((path, line, why))

    def member(self, plan, path, n, address, name="", options=()):
        """Add one member to plan, or report the line."""
        address = address.strip().strip("<>")
        if not messages.is_address(address):
            self.skip(path, n, "%r is not one mail address" % messages.clean(address, 80))
            return
        words = list(options) + (["NAME " + name] if name.strip() else [])
        opts = members.clean_options(words)
        why = members.entry_problem(address, opts)
        if why:
            self.skip(path, n, why)
            return
        key = members.address_key(address)
        if key in plan.members:
            before = plan.members[key]
            # A Majordomo digest subscriber who is also a plain one keeps both wishes: the digest.
            if _DIGEST in words and _DIGEST not in before[1]:
                plan.members[key] = (before[0], members.clean_options(members.options_list(before[1]) + [_DIGEST]))
                return
            self.skip(path, n, "%s is listed twice (the first line is kept)" % address)
            return
        plan.members[key] = (address, opts)

    def setting(self, plan, path, n, key, value, section=None):
        """Set key in plan when tristero.ini takes value for it (its validator, when
        config.py declares one), else report the line."""
        why = configmod.value_problem(section or lists.section(plan.name), key, value)
        if why:
            self.skip(path, n, "%s: %s" % (key, why))
            return
        plan.settings[key] = value


# --- reading the sources ----------------------------------------------------------

def _lines(path):
    """(line number, text) of a text file: UTF-8, else Latin-1 (old list files are)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return list(enumerate(text.splitlines(), 1))


def _name_and_address(text):
    """(name, address) of "Name <address>", "address (Name)" or "address"."""
    name, address = email.utils.parseaddr(text)
    if not address or "@" not in address:
        return "", text.strip()
    return name, address


def _member_lines(imp, plan, path, options=()):
    for n, line in _lines(path):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if len(s) > MAX_LINE:
            imp.skip(path, n, "a line of more than %d characters" % MAX_LINE)
            continue
        name, address = _name_and_address(s)
        imp.member(plan, path, n, address, name, options)


def read_majordomo(imp: Importer, folder: str) -> None:
    """Plans of every list in a Majordomo lists folder."""
    entries = sorted(os.listdir(folder))
    names = set()
    for entry in entries:
        base = entry[:-len(".config")] if entry.endswith(".config") else entry
        if "." not in base and os.path.isfile(os.path.join(folder, entry)):
            names.add(base)
    # LIST-digest: the digest subscribers of LIST, when there is a LIST.
    digests = {n for n in names if n.endswith("-digest") and n[:-len("-digest")] in names}
    for name in sorted(names - digests):
        why = lists.name_problem(name)
        if why:
            imp.skip(os.path.join(folder, name), None, "not imported: %s" % why)
            continue
        plan = Plan(name, os.path.join(folder, name))
        at = lambda suffix, name=name: os.path.join(folder, name + suffix)
        if os.path.isfile(at("")):
            _member_lines(imp, plan, at(""))
        if name + "-digest" in digests:
            _member_lines(imp, plan, at("-digest"), [_DIGEST])
            if os.path.isfile(at("-digest.config")):
                imp.skip(at("-digest.config"), None, "not imported: the digest follows %s's own "
                         "digest_* settings" % name)
        if os.path.isfile(at(".config")):
            _majordomo_config(imp, plan, at(".config"))
        if os.path.isfile(at(".passwd")) and "admin_passwd" not in plan.passwords:
            seen = _seen(at(".passwd"))
            pw = next((line.strip() for _, line in _lines(at(".passwd")) if line.strip()), "")
            if pw:
                plan.passwords["admin_passwd"] = pw
                plan.password_from["admin_passwd"] = (at(".passwd"), seen)
        for suffix, target in ((".info", "readme.txt"), (".intro", "welcome.txt")):
            if os.path.isfile(at(suffix)):
                with open(at(suffix), "rb") as f:
                    plan.texts[target] = f.read()
        if os.path.isdir(at(".archive")):
            _majordomo_archive(imp, plan, at(".archive"))
        imp.plans.append(plan)


_CONFIG_LINE = re.compile(r"^([a-z_]+)\s*(=|<<)\s*(.*)$")


def _majordomo_config(imp, plan, path):
    """LIST.config: "key = value" lines and "key << END" blocks (one entry a line)."""
    seen = _seen(path)
    rows = _lines(path)
    i = 0
    while i < len(rows):
        n, line = rows[i]
        i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _CONFIG_LINE.match(s)
        if not m:
            imp.skip(path, n, "not a Majordomo setting (key = value, or key << END)")
            continue
        key, how, value = m.groups()
        if how == "<<":
            end, block = value.strip(), []
            while i < len(rows) and rows[i][1].strip() != end:
                block.append(rows[i][1].lstrip("-").strip() if rows[i][1].startswith("-") else rows[i][1].strip())
                i += 1
            i += 1
            entries = [b for b in block if b]
            if key in ("taboo_headers", "taboo_body"):
                # One pattern a line, /re/ or /re/i, or the bare pattern: kept as taboo_* is
                # written here, the /patterns/ on one line.
                entries = [" ".join(e if re.fullmatch(r"/.+/i?", e) else "/%s/" % e.replace("/", "\\/")
                                    for e in entries)] if entries else []
            if len(entries) > 1:
                imp.skip(path, n, "%s: a value of %d lines cannot be kept on one line of tristero.ini; "
                         "set it again with newconfig" % (key, len(entries)))
                continue
            value = entries[0] if entries else ""
        value = value.strip()
        if key == "description":
            if value:
                imp.setting(plan, path, n, "Description", value)
        elif key in PASSWORD_KEYS:
            if value:
                plan.passwords[key] = value
                plan.password_from[key] = (path, seen)
        elif key in MAJORDOMO_KEYS:
            if value:
                imp.setting(plan, path, n, key, value)
            if key == "restrict_post" and key in plan.settings:
                _restrict_files(imp, plan, path, n, value)
        else:
            imp.skip(path, n, "%s: a Majordomo setting with no counterpart here; not imported" % key)


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _restrict_files(imp, plan, path, n, value):
    """The files restrict_post names (Majordomo's, beside the config) into the list's folder;
    a word that names no file there is a list's name, read as such."""
    folder = os.path.dirname(path)
    for word in re.split(r"[\s:]+", value):
        where = os.path.join(folder, word)
        if not _FILE_NAME.fullmatch(word) or not os.path.isfile(where) or os.path.islink(where):
            continue
        if "." not in word:
            # A list's member file (restrict_post = LIST:LIST-digest): the list, by its name.
            continue
        if word.lower() in ("readme.txt", "welcome.txt", "farewell.txt", "index.txt"):
            imp.skip(path, n, "restrict_post: the file %s would replace the list's own %s; not imported" % (word, word))
            continue
        with open(where, "rb") as f:
            plan.texts[word] = f.read()


def _majordomo_archive(imp, plan, folder):
    """The posts of LIST.archive/ (mbox files), into day files by the date each was sent."""
    days = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        box = mailbox.mbox(path, create=False)
        try:
            for number, key in enumerate(box.keys(), 1):
                with box.get_file(key, from_=True) as f:
                    from_line = f.readline().decode("latin-1")
                    raw = f.read()
                head = messages.parse(messages.split_raw(raw)[0] + b"\n")
                when = _sent(head, from_line)
                if when is None:
                    imp.skip(path, None, "post %d: no date to file it under; not archived" % number)
                    continue
                _, author = messages.first_address(head, "From")
                days.setdefault(archive.day_name(when), []).append(
                    (when, archive.entry(author or "unknown", when, raw)))
        finally:
            box.close()
    for day, posts in days.items():
        posts.sort(key=lambda p: p[0])
        plan.archive[day] = b"".join(data for _, data in posts)


def _sent(head, from_line):
    """When a post was sent (head: its parsed header): its Date field, else its From_ line's
    date; None when neither reads."""
    for text in (messages.header(head, "Date"), " ".join(from_line.split()[2:])):
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            continue
        if when is not None:
            # A date without a zone (a From_ line's, "-0000") is taken as UTC.
            return when if when.tzinfo is not None else when.replace(tzinfo=datetime.timezone.utc)
    return None


_M3_COLUMNS = {"email": "address", "address": "address", "member": "address",
               "display_name": "name", "name": "name", "real_name": "name", "full_name": "name",
               "delivery_status": "status", "status": "status",
               "delivery_mode": "digest", "digest": "digest", "mode": "digest"}
_NOMAIL = {"by_user", "by_moderator", "by_bounces", "disabled", "unknown", "nomail", "no"}
_DIGESTS = {"plaintext_digests": "PLAIN", "mime_digests": "MIME", "summary_digests": "MIME",
            "digest": "MIME", "digests": "MIME", "yes": "MIME", "true": "MIME", "1": "MIME", "mime": "MIME",
            "plain": "PLAIN"}
_REGULAR = {"", "regular", "no", "false", "0", "enabled"}


def read_mailman(imp: Importer, path: str, name: str) -> None:
    """A Mailman member export as the members of list name: "Name <address>" lines
    (list_members -f, mailman members), or CSV rows address, name, delivery status,
    digest (with or without a header row naming the columns)."""
    plan = Plan(name, path)
    columns = ["address", "name", "status", "digest"]
    for n, line in _lines(path):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if len(s) > MAX_LINE:
            imp.skip(path, n, "a line of more than %d characters" % MAX_LINE)
            continue
        if "," not in s or s.endswith(">"):
            who, address = _name_and_address(s)
            imp.member(plan, path, n, address, who)
            continue
        row = [c.strip() for c in next(csv.reader([s]))]
        heads = [_M3_COLUMNS.get(c.lower()) for c in row]
        if "address" in heads and not any(messages.is_address(c) for c in row):
            columns = heads
            continue
        values = dict(zip(columns, row))
        options = []
        status = values.get("status", "").lower()
        if status in _NOMAIL:
            options.append("NOMAIL")
        elif status not in _REGULAR:
            imp.skip(path, n, "delivery status %r is none of enabled, disabled, by_user, by_moderator, by_bounces"
                     % messages.clean(status, 40))
            continue
        mode = values.get("digest", "").lower()
        if mode in _DIGESTS:
            options.append("DIGEST DAILY SUMMARY %s" % _DIGESTS[mode])
        elif mode not in _REGULAR:
            imp.skip(path, n, "digest %r is none of regular, mime_digests, plaintext_digests"
                     % messages.clean(mode, 40))
            continue
        who, address = _name_and_address(values.get("address", ""))
        imp.member(plan, path, n, address, values.get("name") or who, options)
    imp.plans.append(plan)


# LISTSERV's member options that Tristero keeps, as the member file writes them.
_LISTSERV_OPTIONS = {"MAIL": None, "NOMAIL": "NOMAIL", "DIGEST": _DIGEST, "DIGESTS": _DIGEST,
                     "INDEX": "DIGEST DAILY SUMMARYONLY MIME", "NODIGESTS": None, "NOINDEX": None,
                     "CONCEAL": "CONCEAL", "NOCONCEAL": None, "ACK": "ACK", "NOACK": "NOACK",
                     "MSGACK": "MSGACK", "REPRO": "REPRO", "NOREPRO": "NOREPRO"}
_SEND = {"public": "Free", "private": "Open", "editor": "Moderated", "owner": "Distribution"}
_KEYWORD = re.compile(r"([A-Za-z][A-Za-z_-]*)=\s*([^=]*?)\s*(?=\s[A-Za-z][A-Za-z_-]*=|$)")


def read_listserv(imp: Importer, path: str) -> None:
    """A LISTSERV list file: "*" header lines (a title, then Keyword= value) mapped to
    list settings; then one member a line: address, name, and (after two blanks or
    more) option words."""
    stem = os.path.splitext(os.path.basename(path))[0]
    plan = Plan(stem, path)
    why = lists.name_problem(stem)
    if why:
        imp.skip(path, None, "not imported: the file's name is the list's name, and %s" % why)
        return
    keywords = []
    for n, line in _lines(path):
        s = line.strip()
        if not s:
            continue
        if len(s) > MAX_LINE:
            imp.skip(path, n, "a line of more than %d characters" % MAX_LINE)
            continue
        if s.startswith("*"):
            body = s[1:].strip()
            found = list(_KEYWORD.finditer(body))
            if found:
                keywords += [(n, m.group(1), m.group(2)) for m in found]
            elif body and "Description" not in plan.settings:
                imp.setting(plan, path, n, "Description", body)
            continue
        parts = re.split(r"\s{2,}|\t", s, maxsplit=2)
        address, name = parts[0].split(None, 1)[0], ""
        rest = parts[0].split(None, 1)[1:] + parts[1:]
        options = []
        if rest:
            name = rest[0]
            words = " ".join(rest[1:]).upper().split()
            unknown = [w for w in words if w not in _LISTSERV_OPTIONS]
            if unknown:
                imp.skip(path, n, "option %s is not one Tristero keeps (MAIL, NOMAIL, DIGESTS, INDEX, CONCEAL, "
                         "ACK, NOACK, MSGACK, REPRO, NOREPRO)" % messages.clean(unknown[0], 40))
                continue
            options = [_LISTSERV_OPTIONS[w] for w in words if _LISTSERV_OPTIONS[w]]
        imp.member(plan, path, n, address, name, options)
    _listserv_keywords(imp, plan, path, keywords)
    imp.plans.append(plan)


def _listserv_keywords(imp, plan, path, keywords):
    subscription = next((v.lower() for _, k, v in keywords if k.lower() == "subscription"), "")
    for n, key, value in keywords:
        k, words = key.lower(), [w.strip().lower() for w in value.split(",") if w.strip()]
        first = words[0] if words else ""
        if k == "owner":
            address = next((w for w in value.replace("(", " ").replace(")", " ").split()
                            if messages.is_address(w)), None)
            if address and "Owner" not in plan.settings:
                imp.setting(plan, path, n, "Owner", address)
            elif address:
                imp.skip(path, n, "Owner= %s: a list has one Owner here (the first is kept); give the others "
                         "a ListOwner rule in access.ini" % address)
            continue
        if k == "send" and first in _SEND:
            kind = _SEND[first]
            if kind == "Open" and subscription.startswith(("closed", "by_owner")):
                kind = "Closed"
            imp.setting(plan, path, n, "Type", kind)
        elif k == "subscription" and first in ("open", "by_owner", "closed"):
            policy = {"open": "open", "by_owner": "closed", "closed": "closed"}[first]
            imp.setting(plan, path, n, "SubscribePolicy", policy + ("+confirm" if "confirm" in words else ""))
        elif k == "notebook" and first in ("yes", "no"):
            imp.setting(plan, path, n, "Archive", "Y" if first == "yes" else "N")
        elif k == "reply-to" and first in ("list", "sender", "both"):
            imp.setting(plan, path, n, "Reply", {"list": "List", "sender": "Poster", "both": "ListPlus"}[first])
        elif k == "review" and first in ("public", "private", "owner", "owners"):
            imp.setting(plan, path, n, "who_access",
                        {"public": "open", "private": "list"}.get(first, "closed"))
        else:
            imp.skip(path, n, "%s= %s: a LISTSERV keyword or value with no counterpart here; not imported"
                     % (key, messages.clean(value, 80)))


# --- comparing and writing -----------------------------------------------------------

class Target:
    """What one plan does to the site: create, replace, merge, or nothing."""

    def __init__(self, plan, existing, number):
        self.plan = plan
        self.existing = existing    # the list's name on the site, or None
        self.number = number
        self.settings = {}          # key -> value to write
        self.members = None         # MemberList to write, or None
        self.files = {}             # path -> bytes to write
        self.added = 0
        self.memo = {}              # (section, key) -> (hash, (path, _seen)): see _memo

    @property
    def changes(self):
        return bool(self.settings or self.members is not None or self.files)


def _hash_for(cfg, section, key, clear, memo=None, source=None):
    """The stored hash when it is already clear's (an import run again changes nothing), else a
    new one. Known without scrypt when memo (_memo) says the stored hash was made from the
    file source (its path and _seen) as it still is: an unchanged list costs no hash."""
    stored = cfg.raw(section, key)
    if stored and source and source[1] is not None and memo and memo.get((section, key)) == (stored, source):
        return stored
    if stored and rights.verify(clear, stored):
        return stored
    return rights.hash_password(clear)


# Which file (path and _seen) each imported password hash of tristero.ini was made from:
# "section,key,hash,path,inode,size,mtime_ns,ctime_ns". No secret: the hash is tristero.ini's.
MEMO = "imported-passwords.csv"


def _seen(path):
    """One version of a file: (inode, size, mtime_ns, ctime_ns), or None. The ctime, which
    no one can set, changes with every write, even one that puts the mtime back."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _memo(site):
    """{(section, key): (hash, (path, _seen))} of the last imports; {} when there is none
    or it does not read (then each password is checked by scrypt, as without it)."""
    found = {}
    try:
        with open(os.path.join(site.spool, MEMO), newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                if len(row) == 8 and all(x.isdigit() for x in row[4:]):
                    found[(row[0], row[1])] = (row[2], (row[3], tuple(int(x) for x in row[4:])))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return found


def _write_memo(site, memo):
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    for (section, key), (stored, (path, seen)) in sorted(memo.items()):
        out.writerow([section, key, stored, path] + list(seen))
    durable.atomic_write(os.path.join(site.spool, MEMO), text.getvalue().encode("utf-8"))


def _target(site, cfg, plan, number, mode, memo=None):
    existing = lists.find(cfg, plan.name)
    t = Target(plan, existing, lists.number(cfg, existing) if existing else number)
    section = lists.section(existing or plan.name)
    if mode != "merge" or existing is None:
        wanted = dict(plan.settings)
        for key, clear in plan.passwords.items():
            source = plan.password_from.get(key)
            wanted[key] = _hash_for(cfg, section, key, clear, memo, source)
            if source and source[1] is not None:
                t.memo[(section, key)] = (wanted[key], source)
        t.settings = {k: v for k, v in wanted.items() if cfg.raw(section, k) != v}
        if existing is None:
            t.settings = dict(wanted, MemberFile=t.number)
            t.settings.setdefault("Type", cfg.globals("Type"))
    path = site.member_file(t.number)
    current = members.load(t.number, path) if existing else members.MemberList(t.number)
    if mode == "merge" and existing:
        for key, entry in plan.members.items():
            if key not in current.members:
                current.members[key] = entry
                t.added += 1
        if t.added:
            t.members = current
    elif existing is None or current.members != plan.members:
        ml = members.MemberList(t.number)
        if existing:
            ml.header = current.header
        ml.members = dict(plan.members)
        t.members = ml
        t.added = len(set(plan.members) - set(current.members))
    if mode != "merge" or existing is None:
        folder = site.archive_dir(t.number)
        for name, data in list(plan.texts.items()) + list(plan.archive.items()):
            where = os.path.join(folder, name)
            try:
                with open(where, "rb") as f:
                    same = f.read() == data
            except FileNotFoundError:
                same = False
            if not same:
                t.files[where] = data
    return t


def run(site, kind, source, listname=None, dry_run=False, mode=None):
    """tristero.py import KIND SOURCE: returns the exit status (see the module doc)."""
    out, err = sys.stdout, sys.stderr
    if not os.path.exists(source) or (kind == "majordomo") != os.path.isdir(source):
        err.write("tristero: import %s: %s is not a %s\n" % (kind, source, "folder" if kind == "majordomo"
                                                             else "file"))
        return EX_CONFIG
    if kind == "mailman":
        why = lists.name_problem(listname or "")
        if why:
            err.write("tristero: import mailman: --list names the list the members go to: %s\n" % why)
            return EX_CONFIG
    cfg = configmod.load(site.home, create=False)
    site.ensure()
    try:
        with locks.hold(site.lock):
            return _run(site, cfg, kind, source, listname, dry_run, mode, out, err)
    except locks.Busy:
        err.write("tristero: import: a run holds the lock; nothing was done, try again later\n")
        return EX_TEMPFAIL
    except OSError as e:
        err.write("tristero: import: %s\n" % e)
        return EX_IOERR


def _run(site, cfg, kind, source, listname, dry_run, mode, out, err):
    imp = Importer()
    if kind == "majordomo":
        read_majordomo(imp, source)
    elif kind == "mailman":
        read_mailman(imp, source, listname)
    else:
        read_listserv(imp, source)
    for path, line, why in imp.unused:
        err.write("tristero: %s%s: %s\n" % (path, ":%d" % line if line else "", why))
    numbers = int(lists.next_number(cfg, site))
    memo = _memo(site)
    targets, refused = [], []
    for plan in imp.plans:
        if lists.find(cfg, plan.name) is None and addresses.resolve(cfg, lists.local_part(plan.name))[0] != "unknown":
            err.write("tristero: %s: not imported: %s@%s is already an address of this site (the robot's, "
                      "a person's or another list's)\n" % (plan.source, lists.local_part(plan.name),
                                                           cfg.globals("Domain")))
            continue
        t = _target(site, cfg, plan, "%08d" % numbers, mode, memo)
        if t.existing is None:
            numbers += 1
        elif t.changes and mode is None:
            refused.append(t)
        targets.append(t)
    for t in refused:
        err.write("tristero: import: the list %s exists and differs from %s; nothing was imported "
                  "(--replace to overwrite it, --merge to add the members it lacks)\n" % (t.existing, t.plan.source))
    if refused:
        return EX_CONFIG
    did = "would " if dry_run else ""
    for t in targets:
        what = ("%screate %s (%d members, %d settings, %d files)" % (did, t.plan.name, len(t.plan.members),
                                                                       len(t.settings), len(t.files))
                if t.existing is None else
                "%s unchanged" % t.existing if not t.changes else
                "%s%s %s (%d members added, %d settings, %d files)" % (did, mode, t.existing, t.added,
                                                                        len(t.settings), len(t.files)))
        out.write(what + "\n")
    if dry_run:
        return EX_OK
    if not any(t.changes for t in targets):
        _remember(site, memo, targets)
        return EX_OK
    for t in targets:
        for path, data in sorted(t.files.items()):
            durable.make_dirs(os.path.dirname(path))
            durable.atomic_write(path, data)
        if t.members is not None:
            durable.atomic_write(site.member_file(t.number), t.members.write)
        section = lists.section(t.existing or t.plan.name)
        if t.existing is None and t.settings:
            cfg.add_section(section)
        for key, value in t.settings.items():
            cfg.set_value(section, key, value)
    if any(t.settings for t in targets):
        durable.atomic_write(cfg.path, cfg.render().encode("utf-8"))
    _remember(site, memo, targets)
    return EX_OK


def _remember(site, memo, targets):
    """The memo (_memo) with the password hashes tristero.ini now holds, once they are
    written (a hash remembered before would be trusted for one the file does not hold)."""
    now = dict(memo)
    for t in targets:
        now.update(t.memo)
    if now != memo:
        _write_memo(site, now)
