"""The directory synchronisation (the manual's ADE): the lists kept in step with the
organisation's directory.

``plan`` compares the directory now with the snapshot of the last sync and works out,
list by list, what the directory implies: leavers leave every list, a changed address
with the same id is a rename (options, digests, rights and ownership follow), AutoAll
lists get those who now qualify and lose those who no longer do, lists owned by ADE
are rebuilt whole, the AutoAllSMTP list holds the members who are not in the
directory. ``apply`` makes the plan through the run's state (journalled, audited,
logged); a plan that would remove more than MaxSyncRemovals of a list is held instead
(``guard``) until the SuperUser confirms it with the cookie of the notice. The sync
never creates a list. Texts: templates/en/directory.txt.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tristero.model import audit, cookies, directory, lists, logbook
from tristero.model.directory import Snapshot
from tristero.model.members import address_key, clean_options
from tristero.model.people import DirectoryError, Person

BY = "directory"


@dataclass
class ListPlan:
    """What a sync does to one list."""

    name: str
    number: str
    before: int                                        # members before
    renames: list[tuple[str, str]] = field(default_factory=list)    # (old, new address)
    removes: list[str] = field(default_factory=list)   # addresses
    leavers: list[str] = field(default_factory=list)   # addresses (also in removes)
    adds: list[str] = field(default_factory=list)      # addresses

    def empty(self) -> bool:
        return not (self.renames or self.removes or self.adds)

    def cut(self) -> int:
        """Members who would no longer get the list's mail where they get it: removed, or
        renamed to another address (an export that changes every address takes a list
        away as surely as one that drops every person); one renamed and then removed counts
        once."""
        gone = {address_key(a) for a in self.removes}
        return len(self.removes) + sum(address_key(new) not in gone for _, new in self.renames)


@dataclass
class Plan:
    lists: list[ListPlan]
    renames: dict[str, str]       # old address key -> new address
    leavers: dict[str, str]       # address key -> address
    names: dict[str, str] = field(default_factory=dict)   # address key -> display name

    def held(self, percent: int) -> list[ListPlan]:
        """The lists it would cut by more than percent of their members (and 2 or more)."""
        return [lp for lp in self.lists
                if lp.cut() >= 2 and lp.cut() * 100 > percent * lp.before]


class Names:
    """The site's list names, found by name in any case (a sync looks up many)."""

    def __init__(self, config):
        self.by_lower = {}
        for n in config.list_names():
            self.by_lower.setdefault(n.lower(), n)
            self.by_lower.setdefault(lists.local_part(n), n)

    def find(self, name: str) -> str | None:
        return self.by_lower.get(name.lower()) if name else None


def targets(person: Person, cfg, names: Names, groups: tuple[str, ...], ours) -> tuple[set[str], set[str]]:
    """(lists person belongs in, lists a "-value" takes them out of) by AutoAllSelect."""
    select = cfg.get("Directory", "AutoAllSelect")
    adds, removes = set(), set()
    if not select or person.address[:1] in cfg.get("Directory", "AutoAllExclude"):
        return adds, removes
    prefix, suffix = cfg.get("Directory", "AutoAllPrefix"), cfg.get("Directory", "AutoAllSuffix")
    values = []
    if "R" in select and not ours(person.address):
        remote = names.find(cfg.get("Directory", "AutoAllRemote"))
        if remote:
            adds.add(remote)
    elif "P" in select:
        values.append(person.domain)
    if "B" in select or "A" in select:
        for g in groups:
            values.extend(person.attributes.get(g, ()))
    elif "I" in select and groups:
        values.extend(person.attributes.get(groups[0], ())[:1])
    for value in values:
        drop = value.startswith("-")
        value = value[1:] if drop else value
        found = [names.find(prefix + value + suffix)]
        if "A" in select:
            found.append(names.find(value))
        for name in found:
            if name:
                (removes if drop else adds).add(name)
    return adds - removes, removes


def memberships(people: Snapshot, cfg, names: Names, groups, ours) -> tuple[dict, dict]:
    """({list: {id}} people belong in, {list: {id}} they are taken out of)."""
    into, out = {}, {}
    for pid, e in people.items():
        adds, removes = targets(e.person, cfg, names, groups, ours)
        for n in adds:
            into.setdefault(n, set()).add(pid)
        for n in removes:
            out.setdefault(n, set()).add(pid)
    return into, out


def plan(ctx, new: Snapshot, old: Snapshot, only: Iterable[str] | None = None, rebuild: bool = False) -> Plan:
    """What the directory new implies after old (see the module doc); only: the lists to
    touch (None: all); rebuild: rebuild them whole, as lists owned by ADE are."""
    cfg = ctx.config
    names = Names(cfg)
    groups = directory.attributes(cfg).groups
    ours = ctx.ours
    leavers = {address_key(e.person.address): e.person.address for pid, e in old.items() if pid not in new}
    renames = {}
    for pid, e in new.items():
        before = old.get(pid)
        if before is not None and address_key(before.person.address) != address_key(e.person.address):
            renames[address_key(before.person.address)] = e.person.address
    # An address that left but is now someone else's (an id changed): not a leaver.
    current = {address_key(e.person.address) for e in new.values()}
    leavers = {k: a for k, a in leavers.items() if k not in current}
    into_new, out_new = memberships(new, cfg, names, groups, ours)
    into_old, _ = memberships(old, cfg, names, groups, ours) if old else ({}, {})
    smtp = names.find(cfg.get("Directory", "AutoAllSMTP"))
    wanted = {n.lower() for n in only} if only is not None else None
    plans = []
    for name in cfg.list_names():
        number = lists.number(cfg, name)
        if not number or (wanted is not None and name.lower() not in wanted):
            continue
        roster = ctx.state.members(number)
        lp = ListPlan(name, number, len(roster))
        present = {}
        for address, _ in roster.items():
            key = address_key(address)
            if key in leavers:
                lp.removes.append(address)
                lp.leavers.append(address)
            elif key in renames:
                if renames[key] in roster or address_key(renames[key]) in present:
                    lp.removes.append(address)
                else:
                    lp.renames.append((address, renames[key]))
                    present[address_key(renames[key])] = renames[key]
            else:
                present[key] = address
        whole = rebuild or (cfg.raw(lists.section(name), "Owner") or "").strip().upper() == "ADE"
        if name == smtp:
            people = {address_key(e.person.address) for e in new.values()}
            want = {}
            for other in cfg.list_names():
                if other != name and lists.number(cfg, other):
                    for address, _ in ctx.state.members(lists.number(cfg, other)).items():
                        key = address_key(address)
                        if key not in people and key not in leavers:
                            want.setdefault(key, renames.get(key, address))
            _rebuild(lp, present, want)
        elif whole:
            want = {address_key(new[pid].person.address): new[pid].person.address
                    for pid in sorted(into_new.get(name, ()))}
            _rebuild(lp, present, want)
        else:
            gained = into_new.get(name, set()) - into_old.get(name, set())
            lost = (into_old.get(name, set()) - into_new.get(name, set())) | out_new.get(name, set())
            for pid in sorted(lost):
                e = new.get(pid)
                key = e and address_key(e.person.address)
                if key and key in present:
                    lp.removes.append(present.pop(key))
            for pid in sorted(gained - out_new.get(name, set())):
                address = new[pid].person.address
                if address_key(address) not in present:
                    lp.adds.append(address)
                    present[address_key(address)] = address
        if not lp.empty():
            plans.append(lp)
    return Plan(plans, renames, leavers,
                {address_key(e.person.address): e.person.name for e in new.values() if e.person.name})


class _Trail:
    """The audit rows of a sync, gathered per list's trail and appended once each (a
    sync may add thousands of rows: one journal step a row would be one fsync a row)."""

    def __init__(self, ctx):
        self.ctx, self.site, self.now = ctx, ctx.site, ctx.now
        self.rows = {}

    def append(self, path: str, data: bytes) -> None:
        self.rows.setdefault(path, []).append(data)

    def flush(self) -> None:
        for path, rows in self.rows.items():
            self.ctx.append(path, b"".join(rows))
        self.rows = {}


def _rebuild(lp, present, want):
    for key in sorted(set(present) - set(want)):
        lp.removes.append(present.pop(key))
    for key in sorted(set(want) - set(present)):
        lp.adds.append(want[key])
        present[key] = want[key]


def apply(ctx, p: Plan, source: str) -> dict[str, int]:
    """Make the plan: members, rights and owners, audited and logged; owners are told of
    leavers (the departed are sent nothing). Returns counts."""
    state, cfg = ctx.state, ctx.config
    counts = {"lists": 0, "added": 0, "removed": 0, "renamed": 0, "rules": 0}
    trail = _Trail(ctx)
    for lp in p.lists:
        counts["lists"] += 1
        roster = state.members(lp.number)
        for old, new in lp.renames:
            entry = roster.get(old)
            state.remove_member(lp.number, old)
            state.add_member(lp.number, new, entry[1] if entry else "")
            audit.list_event(trail, lp.number, "rename", "%s -> %s" % (old, new), BY, BY)
            ctx.act("%s renamed %s on %s" % (old, new, lp.name), "directory " + source)
            counts["renamed"] += 1
        gone = set(lp.leavers)
        for address in lp.removes:
            state.remove_member(lp.number, address)
            audit.list_event(trail, lp.number, "unsubscribe", address, BY, BY)
            if address in gone:
                ctx.act("%s left %s" % (address, lp.name), "directory %s: left the directory" % source)
            counts["removed"] += 1
        for address in lp.adds:
            name = p.names.get(address_key(address))
            state.add_member(lp.number, address, clean_options(["NAME " + name]) if name else "")
            audit.list_event(trail, lp.number, "subscribe", address, BY, BY)
            counts["added"] += 1
        # Who joined or was no longer selected, one by one, is in the list's audit trail.
        ctx.act("%s: %d joined, %d left (%d of them left the directory), %d renamed" % (
            lp.name, len(lp.adds), len(lp.removes), len(lp.leavers), len(lp.renames)), "directory " + source)
        if lp.leavers:
            owner = lists.owner(cfg, lp.name)
            if owner:
                text = ctx.text("directory.leavers", owner, list=lp.name, source=source, count=len(lp.leavers),
                                addresses="\n".join("  " + a for a in lp.leavers))
                msg = ctx.message(owner, ctx.text("directory.leavers.subject", owner, list=lp.name,
                                                  count=len(lp.leavers)), text + "\n", kind="auto-generated")
                ctx.send_message(msg, [owner])
    trail.flush()
    # Rights and ownership are keyed by address: a rename takes them along; a leaver's go.
    if p.renames or p.leavers:
        for rule in list(state.access()):
            key = rule.user.lower()
            if "*" in key or rule.broken:
                continue
            if key in p.renames:
                state.set_rule(p.renames[key], rule.list, status=rule.status, language=rule.language,
                               password=rule.password)
            if key in p.renames or key in p.leavers:
                state.set_rule(rule.user, rule.list, status="", language="", password="")
                counts["rules"] += 1
                ctx.act("access.ini rule of %s for %s %s" % (rule.user, rule.list or "*",
                                                              "moved to " + p.renames[key] if key in p.renames
                                                              else "removed: left the directory"),
                        "directory " + source)
        for name in cfg.list_names():
            owner = (cfg.raw(lists.section(name), "Owner") or "").lower()
            if owner in p.renames:
                state.set_config(lists.section(name), "Owner", p.renames[owner])
                ctx.act("owner of %s renamed %s" % (name, p.renames[owner]), "directory " + source)
    return counts


# --- holding a sync for the SuperUser ------------------------------------------------------

FUNCTION = "ADESYNC"


def held_folder(site) -> str:
    return os.path.join(directory.drop_folder(site), "held")


def hold(ctx, p: Plan, cut: list[ListPlan], source: str, held_name: str) -> None:
    """Tell the SuperUser a sync is held (the lists it would cut), with the cookie that
    confirms it (ADESYNC * RELOAD after COOKIE code)."""
    superuser = ctx.config.globals("SuperUser")
    days = ctx.config.get("Security", "CookieDays")
    code = cookies.bake(ctx.cookie_key(), FUNCTION, "*", held_name, ctx.now.date() + datetime.timedelta(days=days))
    percent = ctx.config.get("Directory", "MaxSyncRemovals")
    ctx.log.log(logbook.MESSAGE, "directory %s held: it would remove more than %d%% of %s" % (
        source, percent, ", ".join("%s (%d of %d)" % (lp.name, lp.cut(), lp.before) for lp in cut)))
    if not superuser:
        return
    text = ctx.text("directory.held", superuser, source=source, percent=percent, days=days,
                    lists="\n".join(ctx.text("directory.held.line", superuser, list=lp.name,
                                             removed=lp.cut(), members=lp.before) for lp in cut))
    text += "\n\n---\nSTART\nCOOKIE %s\nADESYNC * RELOAD\nSTOP\n" % code
    msg = ctx.message(superuser, ctx.text("directory.held.subject", superuser, source=source), text,
                      kind="auto-generated", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [superuser])


def _names(folder):
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def held_confirmed(ctx, code: str) -> str | None:
    """The file of the held sync code confirms (in spool/directory/held/), or None."""
    try:
        meta, _ = directory.load_state(ctx.site)
    except DirectoryError:
        return None
    for name in _names(held_folder(ctx.site)):
        if name == (meta.get("held") or "")[:24] + ".state" and \
                cookies.valid(ctx.cookie_key(), code or "", FUNCTION, "*", name, ctx.now.date()):
            return name
    return None


# --- one synchronisation ------------------------------------------------------------------

def sync(ctx, path: str, label: str, dropped: bool) -> tuple[str, str]:
    """Synchronise the lists with the directory file at path (label: its name in texts):
    ("done" | "unchanged" | "held" | "refused", the held snapshot's name or the reason).
    A configured Source that has not changed since it was last taken (synchronised,
    held or refused) is left alone; a file dropped into spool/directory/ is always taken.
    Everything goes through ctx (the run's transaction): a refused or held sync changes
    no list."""
    try:
        meta, old = directory.load_state(ctx.site)
    except DirectoryError as e:
        return _refused(ctx, label, str(e), None, {})
    try:
        digest = directory.digest(path)
    except OSError as e:
        why = "%s: cannot be read: %s" % (label, e.strerror or e)
        if not dropped and meta.get("refused") == why:
            return "unchanged", ""        # told already
        return _refused(ctx, label, why, why, meta, old)
    if not dropped and digest in (meta.get("source"), meta.get("held"), meta.get("refused")):
        return "unchanged", ""
    try:
        new = directory.read(path, label, directory.attributes(ctx.config), old)
    except DirectoryError as e:
        return _refused(ctx, label, str(e), digest, meta, old)
    return settle(ctx, new, old, meta, digest, label)


def sync_people(ctx, people: Iterable[Person], label: str) -> tuple[str, str]:
    """Synchronise the lists with a live directory (an LDAP search: people, which may
    raise DirectoryError), as sync does a file; an unchanged directory is left alone."""
    try:
        meta, old = directory.load_state(ctx.site)
        new = directory.snapshot_of(people, label)
    except DirectoryError as e:
        return _refused(ctx, label, str(e), None, {})
    digest = directory.digest_of(new)
    if digest in (meta.get("source"), meta.get("held")):
        return "unchanged", ""
    return settle(ctx, new, old, meta, digest, label)


def settle(ctx, new: Snapshot, old: Snapshot, meta: dict, digest: str, label: str,
           confirmed: bool = False) -> tuple[str, str]:
    """Apply the directory new after old, or hold it (MaxSyncRemovals) unless confirmed:
    the snapshot is kept in spool/directory/held/DIGEST.state for the confirmation."""
    p = plan(ctx, new, old)
    cut = [] if confirmed else p.held(ctx.config.get("Directory", "MaxSyncRemovals"))
    if cut:
        name = digest[:24] + ".state"
        ctx.write(os.path.join(held_folder(ctx.site), name), directory.render_state({"source": digest}, new))
        hold(ctx, p, cut, label, name)
        ctx.write(directory.state_path(ctx.site), directory.render_state(dict(meta, held=digest), old))
        return "held", name
    counts = apply(ctx, p, label)
    # A sync held before is superseded (or, confirmed, done): its cookie applies nothing more.
    for stale in _names(held_folder(ctx.site)):
        ctx.delete(os.path.join(held_folder(ctx.site), stale))
    meta = {k: v for k, v in meta.items() if k not in ("held", "refused")}
    meta["source"] = digest
    ctx.write(directory.state_path(ctx.site), directory.state_writer(meta, new))
    ctx.log.log(logbook.MESSAGE, "directory %s: %d people; %d list(s) changed: %d added, %d removed, "
                "%d renamed; %d access rule(s) moved or removed" % (
                    label, len(new), counts["lists"], counts["added"], counts["removed"], counts["renamed"],
                    counts["rules"]))
    return "done", ""


def confirm(ctx, name: str) -> tuple[str, str]:
    """Apply the held sync name (see held_confirmed), as it was held."""
    path = os.path.join(held_folder(ctx.site), name)
    try:
        held, new = directory.load_snapshot(path)
        meta, old = directory.load_state(ctx.site)
    except (DirectoryError, OSError) as e:
        return "refused", str(e)
    return settle(ctx, new, old, meta, held.get("source", ""), "spool/directory/held/" + name, confirmed=True)


def _refused(ctx, label, why, digest, meta, old=None):
    """A directory that does not read: logged and told to the SuperUser; no list changes
    (the state only remembers the file, so that an unchanged Source is not refused at
    every run)."""
    ctx.log.log(logbook.ERROR, "directory %s refused, nothing changed: %s" % (label, why))
    ctx.notify(ctx.text("directory.refused.subject", None, source=label),
               ctx.text("directory.refused", None, source=label, why=why) + "\n")
    if digest is not None:
        ctx.write(directory.state_path(ctx.site), directory.render_state(dict(meta, refused=digest), old or {}))
    return "refused", why


# --- the lists as directory entries (tristero.py directory export, ADESYNC) -------------------

EXPORT_FORMATS = ("groupOfNames", "nisMailAlias")
_SAFE = re.compile(r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*")


def ldif_line(attr: str, value: str) -> str:
    """One LDIF attribute line (RFC 2849): base64 when the value is not SAFE-STRING,
    folded at 76 characters."""
    if value and not (_SAFE.fullmatch(value) and not value.endswith(" ")):
        line = "%s:: %s" % (attr, base64.b64encode(value.encode("utf-8")).decode("ascii"))
    else:
        line = "%s: %s" % (attr, value)
    return "\n ".join(line[i:i + 76] if i == 0 else line[i:i + 75] for i in
                      [0] + list(range(76, len(line), 75)))


def group_dn(cfg, name: str) -> str:
    """The DN of a list's group: its Shadow, else cn=NAME,ou=lists under BaseDN."""
    shadow = cfg.raw(lists.section(name), "Shadow") or ""
    if shadow.strip():
        return shadow.strip()
    base = cfg.get("Directory", "BaseDN")
    return "cn=%s,ou=lists%s" % (_dn_value(name), "," + base if base else "")


def _dn_value(value: str) -> str:
    """value escaped for a DN (RFC 4514)."""
    out = re.sub(r'([,+"\\<>;=])', r"\\\1", value)
    if out[:1] in (" ", "#"):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def export(cfg, site, roster, as_csv: bool = False, fmt: str | None = None, names: Iterable[str] | None = None,
           with_members: bool = True) -> Iterable[str]:
    """The site's lists (names: these only) as LDIF entries (fmt: groupOfNames or
    nisMailAlias; default ExportFormat) or CSV rows (list, list address, member); roster(number)
    gives a list's MemberList. Yields text pieces."""
    fmt = fmt or cfg.get("Directory", "ExportFormat")
    chosen = list(names) if names is not None else [n for n in cfg.list_names() if lists.number(cfg, n)]
    dns = {}
    if with_members and not as_csv and fmt == "groupOfNames":
        try:
            _, people = directory.load_state(site)
        except DirectoryError:
            people = {}
        dns = {address_key(e.person.address): e.dn for e in people.values() if e.dn}
    if as_csv:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["list", "address", "member"])
        yield out.getvalue()
    else:
        yield "version: 1\n"
    for name in chosen:
        addresses = [a for a, _ in roster(lists.number(cfg, name)).items()] if with_members else []
        if as_csv:
            out = io.StringIO()
            w = csv.writer(out, lineterminator="\n")
            for a in addresses or [""]:
                w.writerow([name, lists.address(cfg, name), a])
            yield out.getvalue()
            continue
        lines = ["", ldif_line("dn", group_dn(cfg, name)), "objectClass: top"]
        lines.append("objectClass: " + fmt)
        lines.append(ldif_line("cn", name))
        description = cfg.raw(lists.section(name), "Description") or ""
        if fmt == "groupOfNames":
            lines.append(ldif_line("mail", lists.address(cfg, name)))
            if description:
                lines.append(ldif_line("description", description))
            for a in addresses:
                lines.append(ldif_line("member", dns.get(address_key(a)) or "mail=%s" % _dn_value(a)))
        else:
            if description:
                lines.append(ldif_line("description", description))
            for a in addresses:
                lines.append(ldif_line("rfc822MailMember", a))
        yield "\n".join(lines) + "\n"
