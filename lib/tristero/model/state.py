"""The site's state during a run: configuration and member lists, changed in memory.

Every change is a Change record (one small class per kind of change) that knows
how to make itself (apply) and how to take itself back (undo), and which file it
changes (target). The records since the last commit are the journal: a message
whose processing fails is rolled back by undoing them, newest first
(``savepoint``/``rollback``); at commit each changed file is written once
(``stage``), and a file a person saved during the run is re-read and the run's
changes applied again on top of it instead of being overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tristero.core import fields as fieldsmod
from tristero.model import access as accessmod
from tristero.model import config as configmod
from tristero.model import durable, journal, members
from tristero.model import lockouts as lockoutsmod
from tristero.model import pending as pendingmod
from tristero.model import quotas as quotasmod
from tristero.model.site import Site


class Change:
    """One change of the state, with what it replaced.

    apply(state) makes the change (when it is made, and again on a file re-read
    at commit); undo(state) puts back what it replaced. target names the file it
    changes; stage(state, txn) writes that file with every change made to it.
    """

    target: Any = None

    def apply(self, state: State) -> None:
        raise NotImplementedError(type(self).__name__)

    def undo(self, state: State) -> None:
        raise NotImplementedError(type(self).__name__)

    def stage(self, state: State, txn: journal.Transaction) -> None:
        raise NotImplementedError(type(self).__name__)


def _put_back(table: dict, key: Any, before: Any) -> None:
    """table[key] as it was: before, or no entry when before is None."""
    if before is None:
        table.pop(key, None)
    else:
        table[key] = before


# --- member lists (target: the list's number) ---

class MemberChange(Change):
    number: str

    @property
    def target(self) -> str:
        return self.number

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_members(self.number, txn)


@dataclass
class PutMember(MemberChange):
    """A member added, or its options changed; before: its (address, options) or None."""

    number: str
    key: str
    address: str
    options: str
    before: tuple[str, str] | None

    def apply(self, state: State) -> None:
        state.members(self.number).members[self.key] = (self.address, self.options)

    def undo(self, state: State) -> None:
        _put_back(state.members(self.number).members, self.key, self.before)


@dataclass
class RemoveMember(MemberChange):
    number: str
    key: str
    before: tuple[str, str]

    def apply(self, state: State) -> None:
        state.members(self.number).members.pop(self.key, None)

    def undo(self, state: State) -> None:
        _put_back(state.members(self.number).members, self.key, self.before)


@dataclass
class PutMembers(MemberChange):
    """Many new members at once (a bulk import: one record, not one per member);
    added: {key: (address, options)} of members that were not in the list."""

    number: str
    added: dict

    def apply(self, state: State) -> None:
        state.members(self.number).members.update(self.added)

    def undo(self, state: State) -> None:
        table = state.members(self.number).members
        for key in self.added:
            table.pop(key, None)


@dataclass
class RemoveMembers(MemberChange):
    """Many members removed at once (a bulk deletion); before: {key: (address, options)}."""

    number: str
    before: dict

    def apply(self, state: State) -> None:
        table = state.members(self.number).members
        for key in self.before:
            table.pop(key, None)

    def undo(self, state: State) -> None:
        state.members(self.number).members.update(self.before)


@dataclass
class ClearList(MemberChange):
    """Every member removed; before: {key: (address, options)}, or None when the list
    was not loaded (undo then forgets it)."""

    number: str
    before: dict | None

    def apply(self, state: State) -> None:
        state.members(self.number).members.clear()

    def undo(self, state: State) -> None:
        ml = state._lists[self.number]
        ml.members.clear()
        if self.before is None:
            del state._lists[self.number]
        else:
            ml.members.update(self.before)


@dataclass
class DropList(MemberChange):
    """The member file deleted at commit."""

    number: str

    def apply(self, state: State) -> None:
        state._dropped.add(self.number)

    def undo(self, state: State) -> None:
        state._dropped.discard(self.number)


# --- access.ini ---

@dataclass
class SetRule(Change):
    """The rule for exactly (user, list) changed, added or removed (put_rule);
    before: the rule it replaced, or None."""

    user: str
    listname: str
    fields: dict
    before: accessmod.Rule | None
    target = "access"

    def apply(self, state: State) -> None:
        put_rule(state.access(), self.user, self.listname, self.fields)

    def undo(self, state: State) -> None:
        rules = state.access()
        index = next((i for i, r in enumerate(rules) if r.same_target(self.user, self.listname)), None)
        if index is not None:
            del rules[index]
        if self.before is not None:
            rules.insert(index if index is not None else len(rules), self.before)

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_access(txn)


@dataclass
class RenameRules(Change):
    """Every rule for list old made a rule for list new (RENAMELIST); renamed: the
    rules changed, with the name each had (undo)."""

    old: str
    new: str
    renamed: list = field(default_factory=list)
    target = "access"

    def apply(self, state: State) -> None:
        self.renamed = [(r, r.list) for r in state.access() if r.list.lower() == self.old.lower()]
        for rule, _ in self.renamed:
            rule.list = self.new

    def undo(self, state: State) -> None:
        for rule, name in self.renamed:
            rule.list = name

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_access(txn)


@dataclass
class DropRules(Change):
    """Every rule for list name removed (DESTROY); dropped: (place, rule) of each (undo)."""

    name: str
    dropped: list = field(default_factory=list)
    target = "access"

    def apply(self, state: State) -> None:
        rules = state.access()
        self.dropped = [(i, r) for i, r in enumerate(rules) if r.list.lower() == self.name.lower()]
        for i, _ in reversed(self.dropped):
            del rules[i]

    def undo(self, state: State) -> None:
        rules = state.access()
        for i, rule in self.dropped:
            rules.insert(i, rule)

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_access(txn)


def put_rule(rules: list[accessmod.Rule], user: str, listname: str, fields: dict) -> None:
    """Change the rule for exactly (user, listname) in rules, or add one; a rule left
    granting, masking and holding nothing is removed."""
    index = next((i for i, r in enumerate(rules) if r.same_target(user, listname)), None)
    old = rules[index].fields() if index is not None else [user, "", listname, "", "", ""]
    new = accessmod.Rule(old[0], fields.get("status", old[1]), old[2], fields.get("language", old[3]),
                         fields.get("password", old[4]), old[5])
    empty = not (new.status or new.language or new.password or new.flag)
    if index is None:
        if not empty:
            rules.append(new)
    elif empty:
        del rules[index]
    else:
        rules[index] = new


# --- spool/lockouts.csv and spool/quotas.csv: {who: Entry} ---

class _SetEntry(Change):
    who: str
    entry: Any
    before: Any

    def table(self, state: State) -> dict:
        raise NotImplementedError(type(self).__name__)

    def apply(self, state: State) -> None:
        self.table(state)[self.who] = self.entry

    def undo(self, state: State) -> None:
        _put_back(self.table(state), self.who, self.before)


@dataclass
class SetLockout(_SetEntry):
    """A user's wrong passwords and lock; before: the entry it replaced, or None."""

    who: str
    entry: lockoutsmod.Entry
    before: lockoutsmod.Entry | None
    target = "lockouts"

    def table(self, state: State) -> dict:
        return state.lockouts()

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_lockouts(txn)


@dataclass
class SetQuota(_SetEntry):
    """What a sender was sent today; before: the entry it replaced, or None."""

    who: str
    entry: quotasmod.Entry
    before: quotasmod.Entry | None
    target = "quotas"

    def table(self, state: State) -> dict:
        return state.quotas()

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_quotas(txn)


@dataclass
class SetPending(_SetEntry):
    """A user's pending password change (PW ADD, REP, RESET), or None when it is done or
    cancelled; before: the entry it replaced, or None."""

    who: str
    entry: pendingmod.Entry | None
    before: pendingmod.Entry | None
    target = "pending"

    def table(self, state: State) -> dict:
        return state.pending()

    def apply(self, state: State) -> None:
        _put_back(self.table(state), self.who, self.entry)

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_pending(txn)


# --- tristero.ini ---

class ConfigChange(Change):
    target = "config"

    def stage(self, state: State, txn: journal.Transaction) -> None:
        state._stage_config(txn)


@dataclass
class SetValue(ConfigChange):
    """key set in section; before: its value as read (None: it had none); existed:
    whether the section did (undo removes a section the change made)."""

    section: str
    key: str
    value: str
    before: str | None
    existed: bool

    def apply(self, state: State) -> None:
        state.config.set_value(self.section, self.key, self.value)

    def undo(self, state: State) -> None:
        cfg = state.config
        if not self.existed:
            cfg.del_section(self.section)
        elif self.before is None:
            cfg.del_value(self.section, self.key)
        else:
            # As it was read (a person's value is not checked again).
            cfg.sections[self.section][self.key] = self.before


@dataclass
class AddSection(ConfigChange):
    section: str
    values: dict

    def apply(self, state: State) -> None:
        state.config.add_section(self.section, self.values)

    def undo(self, state: State) -> None:
        state.config.del_section(self.section)


@dataclass
class DeleteSection(ConfigChange):
    """A section removed; values: what it held."""

    section: str
    values: dict

    def apply(self, state: State) -> None:
        state.config.del_section(self.section)

    def undo(self, state: State) -> None:
        state.config.add_section(self.section, self.values)


@dataclass
class SetPatterns(ConfigChange):
    """The entries of a pattern section replaced; before: the entries it had."""

    name: str
    entries: list[str]
    before: list[str]

    def apply(self, state: State) -> None:
        state.config.set_patterns(self.name, self.entries)

    def undo(self, state: State) -> None:
        state.config.set_patterns(self.name, self.before)


class State:
    def __init__(self, site: Site, config: configmod.Config) -> None:
        self.site = site
        self.config = config
        self._lists = {}          # number -> MemberList
        self._prints = {}         # number -> fingerprint when loaded
        self._journal = []        # the Changes made since the last commit
        self._dropped = set()     # numbers whose member file is to be deleted
        self._rules = None        # access.ini's rules, when loaded
        self.access_problems = []  # (line, why) of access.ini lines that did not read
        self._lockouts = None     # spool/lockouts.csv, when loaded
        self.member_problems = []  # (path, [(line, why)]) of member files read amiss, not yet reported
        self._quotas = None       # spool/quotas.csv, when loaded
        self._pending = None      # spool/passwords-pending.csv, when loaded

    def _make(self, change: Change) -> None:
        """Make the change and journal it (not when it raises)."""
        change.apply(self)
        self._journal.append(change)

    # --- member lists ---

    def members(self, number: str) -> members.MemberList:
        """The MemberList of list number (loaded on first use)."""
        ml = self._lists.get(number)
        if ml is None:
            path = self.site.member_file(number)
            self._prints[number] = durable.fingerprint(path)
            ml = members.load(number, path)
            self._lists[number] = ml
            if ml.problems:
                self.member_problems.append((path, ml.problems))
        return ml

    def loaded(self, number: str) -> bool:
        """True when list number is loaded (its members in memory may differ from its file)."""
        return number in self._lists

    def member(self, number: str, address: str) -> tuple[str, str] | None:
        """(address, options) of a member of list number, or None: asked of the member
        file itself while the list is not loaded (as has_member)."""
        if number in self._lists:
            return self._lists[number].get(address)
        return members.find(self.site.member_file(number), address)

    def has_member(self, number: str, address: str) -> bool:
        """True when address is a member of list number: asked of the member file itself
        (members.find) while the list is not loaded, so that a question does not load
        a large list."""
        if number in self._lists:
            return address in self._lists[number]
        return members.find(self.site.member_file(number), address) is not None

    def holds_option(self, number: str, word: str) -> bool:
        """False when list number is not loaded and no line of its member file can hold
        an option of that word (members.holds_option: an address holding the word does not
        count): a question the day's digests ask of every list, and a post of its list,
        answered without loading it."""
        return number in self._lists or members.holds_option(self.site.member_file(number), word)

    def recipients(self, number: str) -> tuple[int, Iterable[str]]:
        """(how many, the addresses) a post to list number goes to, in member file order:
        streamed from the file itself (members.FileRecipients) when the list is not
        loaded and the file reads as the program writes it, else from the loaded list."""
        if number not in self._lists:
            stream = members.FileRecipients(self.site.member_file(number))
            if stream.check():
                return stream.count, stream
        roster = self.members(number)
        return sum(1 for _ in members.recipients(roster)), members.recipients(roster)

    def add_member(self, number: str, address: str, options: str = "") -> bool:
        """Add (or update) a member; returns True when the address is new.
        Raises ValueError when the member cannot be written in the file."""
        why = members.entry_problem(address, options)
        if why:
            raise ValueError("not written in the member file: %s" % why)
        key = members.address_key(address)
        before = self.members(number).members.get(key)
        self._make(PutMember(number, key, address, options, before))
        return before is None

    def add_members(self, number: str, entries: dict) -> None:
        """Add many new members in one change: entries {key: (address, options)}, each
        key address_key(address), none of them a member yet, each entry checked
        (members.entry_problem) by the caller."""
        self.members(number)
        self._make(PutMembers(number, entries))

    def remove_members(self, number: str, keys) -> dict:
        """Remove many members in one change; returns {key: (address, options)} of those
        that were members (keys: address_key of each)."""
        table = self.members(number).members
        before = {k: table[k] for k in keys if k in table}
        if before:
            self._make(RemoveMembers(number, before))
        return before

    def set_options(self, number: str, address: str, options: str) -> None:
        ml = self.members(number)
        key = members.address_key(address)
        before = ml.members[key]
        self.add_member(number, before[0], options)

    def remove_member(self, number: str, address: str) -> tuple[str, str] | None:
        """Remove a member; returns the (address, options) removed, or None."""
        key = members.address_key(address)
        before = self.members(number).members.get(key)
        if before is not None:
            self._make(RemoveMember(number, key, before))
        return before

    def clear_list(self, number: str) -> None:
        """Create a new empty member list (CREATE), or empty one (DESTROY)."""
        # A list loaded empty is kept as it is (its header, its lines that did not read).
        before = dict(self._lists[number].members) if number in self._lists else None
        if before is None:
            self._lists[number] = members.MemberList(number)
        self._prints.setdefault(number, durable.fingerprint(self.site.member_file(number)))
        self._make(ClearList(number, before))

    def drop_list(self, number: str) -> None:
        """Delete a list's member file at commit (DESTROY)."""
        self.clear_list(number)
        self._make(DropList(number))

    # --- access.ini ---

    def access(self) -> list[accessmod.Rule]:
        """The rules of access.ini (loaded on first use)."""
        if self._rules is None:
            self._prints["access"] = durable.fingerprint(self.site.access)
            self._rules, self.access_problems = accessmod.load(self.site.access)
        return self._rules

    def set_rule(self, user: str, listname: str, **fields: str) -> None:
        """Change the rule for exactly (user, list), or add one; fields: status, password,
        language. A rule left granting, masking and holding nothing is removed.
        Raises ValueError when a field cannot be written in access.ini."""
        why = accessmod.valid_pattern(user)
        for value in [listname] + list(fields.values()):
            why = why or fieldsmod.problem(value)
        if why:
            raise ValueError("not written in access.ini: %s" % why)
        rules = self.access()
        index = next((i for i, r in enumerate(rules) if r.same_target(user, listname)), None)
        self._make(SetRule(user, listname, fields, rules[index] if index is not None else None))

    def rename_rules(self, old: str, new: str) -> None:
        """The rules of access.ini for list old made rules for list new."""
        why = fieldsmod.problem(new)
        if why:
            raise ValueError("not written in access.ini: %s" % why)
        self._make(RenameRules(old, new))

    def drop_rules(self, listname: str) -> None:
        """The rules of access.ini for list listname removed (none: nothing changes)."""
        if any(r.list.lower() == listname.lower() for r in self.access()):
            self._make(DropRules(listname))

    # --- wrong passwords (lockouts) ---

    def lockouts(self) -> dict[str, lockoutsmod.Entry]:
        """{user: lockouts.Entry} of spool/lockouts.csv (loaded on first use)."""
        if self._lockouts is None:
            path = lockoutsmod.path(self.site)
            self._prints["lockouts"] = durable.fingerprint(path)
            self._lockouts = lockoutsmod.load(path)
        return self._lockouts

    def set_lockout(self, user: str, entry: lockoutsmod.Entry) -> None:
        self._make(SetLockout(user, entry, self.lockouts().get(user)))

    # --- what each sender was sent today (quotas) ---

    def quotas(self) -> dict[str, quotasmod.Entry]:
        """{sender: quotas.Entry} of spool/quotas.csv (loaded on first use)."""
        if self._quotas is None:
            path = quotasmod.path(self.site)
            self._prints["quotas"] = durable.fingerprint(path)
            self._quotas = quotasmod.load(path)
        return self._quotas

    def set_quota(self, sender: str, entry: quotasmod.Entry) -> None:
        self._make(SetQuota(sender, entry, self.quotas().get(sender)))

    # --- password changes waiting for OK (pending) ---

    def pending(self) -> dict[str, pendingmod.Entry]:
        """{user: pending.Entry} of spool/passwords-pending.csv (loaded on first use)."""
        if self._pending is None:
            path = pendingmod.path(self.site)
            self._prints["pending"] = durable.fingerprint(path)
            self._pending = pendingmod.load(path)
        return self._pending

    def set_pending(self, user: str, entry: pendingmod.Entry | None) -> None:
        """Record (entry) or end (None) user's pending password change."""
        self._make(SetPending(user.lower(), entry, self.pending().get(user.lower())))

    # --- configuration ---

    def set_config(self, section: str, key: str, value: str) -> None:
        """Set key in section; raises ValueError when it cannot be written (config.value_problem)."""
        sec = self.config.sections.get(section)
        self._make(SetValue(section, key, value, sec.get(key) if sec is not None else None, sec is not None))

    def add_section(self, section: str, values: dict[str, str]) -> None:
        """Add a section; raises ValueError when its name or a value cannot be written."""
        for key, value in values.items():
            why = fieldsmod.problem(section) or configmod.value_problem(section, key, value)
            if why:
                raise ValueError("[%s] %s: %s" % (section, key, why))
        self._make(AddSection(section, dict(values)))

    def del_section(self, section: str) -> None:
        before = self.config.sections.get(section)
        if before is not None:
            self._make(DeleteSection(section, dict(before)))

    def set_patterns(self, name: str, entries: list[str]) -> None:
        """Replace the entries of a pattern section; raises ValueError when one cannot be written."""
        for entry in set(entries) - set(self.config.patterns[name]):
            why = fieldsmod.problem(entry)
            if why:
                raise ValueError("[%s]: %s" % (name, why))
        self._make(SetPatterns(name, list(entries), list(self.config.patterns[name])))

    # --- savepoints ---

    def savepoint(self) -> int:
        return len(self._journal)

    def rollback(self, point: int) -> None:
        """Undo every change made since point, newest first."""
        while len(self._journal) > point:
            self._journal.pop().undo(self)

    # --- commit ---

    def _replay(self, target: Any) -> None:
        """Apply this run's changes to target again, on its file as re-read."""
        for change in self._journal:
            if change.target == target:
                change.apply(self)

    def stage(self, txn: journal.Transaction) -> None:
        """Stage every changed file into txn.

        Raises ConfigError when tristero.ini was changed on disk during the
        run and no longer reads: the person's edit is not overwritten, and
        the transaction must not be committed.
        """
        staged = set()
        for change in self._journal:
            if change.target not in staged:
                staged.add(change.target)
                change.stage(self, txn)

    def _stage_members(self, number, txn):
        path = self.site.member_file(number)
        if number in self._dropped:
            txn.delete(path)
            return
        ml = self._lists[number]
        if durable.fingerprint(path) != self._prints.get(number):
            fresh = members.load(number, path)
            ml.members = fresh.members
            ml.header = fresh.header
            self._replay(number)
        txn.replace(path, ml.write)

    def _stage_access(self, txn):
        path = self.site.access
        if durable.fingerprint(path) != self._prints.get("access"):
            fresh, self.access_problems = accessmod.load(path)
            self._rules[:] = fresh
            self._replay("access")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                old_text = f.read()
        except FileNotFoundError:
            old_text = ""
        txn.replace(path, accessmod.render(self._rules, old_text).encode("utf-8"))

    def _stage_lockouts(self, txn):
        path = lockoutsmod.path(self.site)
        if durable.fingerprint(path) != self._prints.get("lockouts"):
            # A person lifted a lock (or another run counted failures): theirs, then ours.
            fresh = lockoutsmod.load(path)
            self._lockouts.clear()
            self._lockouts.update(fresh)
            self._replay("lockouts")
        txn.replace(path, lockoutsmod.render(self._lockouts))

    def _stage_quotas(self, txn):
        path = quotasmod.path(self.site)
        if durable.fingerprint(path) != self._prints.get("quotas"):
            # Another run counted too (or a person gave a sender a new day): theirs, then ours.
            fresh = quotasmod.load(path)
            self._quotas.clear()
            self._quotas.update(fresh)
            self._replay("quotas")
        txn.replace(path, quotasmod.render(self._quotas))

    def _stage_pending(self, txn):
        path = pendingmod.path(self.site)
        if durable.fingerprint(path) != self._prints.get("pending"):
            # A person cancelled a request (or another run made one): theirs, then ours.
            fresh = pendingmod.load(path)
            self._pending.clear()
            self._pending.update(fresh)
            self._replay("pending")
        txn.replace(path, pendingmod.render(self._pending))

    def _stage_config(self, txn):
        cfg = self.config
        if durable.fingerprint(cfg.path) != cfg.fingerprint and cfg.fingerprint is not None:
            # A person saved it during the run: theirs, then ours (ConfigError when it no longer reads).
            cfg.reread(configmod.read_text(cfg.path))
            self._replay("config")
        txn.replace(cfg.path, cfg.render().encode("utf-8"))

    def committed(self) -> None:
        """The staged changes are on disk: start a new journal."""
        for number in list(self._dropped):
            self._lists.pop(number, None)
        self._dropped.clear()
        for number in self._lists:
            self._prints[number] = durable.fingerprint(self.site.member_file(number))
        if self._rules is not None:
            self._prints["access"] = durable.fingerprint(self.site.access)
        if self._lockouts is not None:
            self._prints["lockouts"] = durable.fingerprint(lockoutsmod.path(self.site))
        if self._quotas is not None:
            self._prints["quotas"] = durable.fingerprint(quotasmod.path(self.site))
        if self._pending is not None:
            self._prints["pending"] = durable.fingerprint(pendingmod.path(self.site))
        self.config.fingerprint = durable.fingerprint(self.config.path)
        self._journal.clear()
