"""The site's state during a run: configuration and member lists, changed in memory.

Every change is journalled with what it replaced, so that a message whose
processing fails can be rolled back (``savepoint``/``rollback``), and so that
a file a person saved during the run is re-read and the run's changes replayed
on top of it at commit instead of being overwritten (``stage``).
"""

from tristero.core import fields as fieldsmod
from tristero.model import access as accessmod
from tristero.model import config as configmod
from tristero.model import durable, members
from tristero.model import lockouts as lockoutsmod
from tristero.model import quotas as quotasmod


class State:
    def __init__(self, site, config):
        self.site = site
        self.config = config
        self._lists = {}          # number -> MemberList
        self._prints = {}         # number -> fingerprint when loaded
        self._journal = []        # (target, op, args, undo) since the last commit
        self._dropped = set()     # numbers whose member file is to be deleted
        self._rules = None        # access.ini's rules, when loaded
        self.access_problems = []  # (line, why) of access.ini lines that did not read
        self._lockouts = None     # spool/lockouts.csv, when loaded
        self.member_problems = []  # (path, [(line, why)]) of member files read amiss, not yet reported
        self._quotas = None       # spool/quotas.csv, when loaded

    # --- member lists ---

    def members(self, number):
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

    def _record(self, target, op, args, undo):
        self._journal.append((target, op, args, undo))

    def add_member(self, number, address, options=""):
        """Add (or update) a member; returns True when the address is new.
        Raises ValueError when the member cannot be written in the file."""
        why = members.entry_problem(address, options)
        if why:
            raise ValueError("not written in the member file: %s" % why)
        ml = self.members(number)
        key = members.address_key(address)
        before = ml.members.get(key)
        ml.members[key] = (address, options)
        self._record(number, "put", (key, address, options), (key, before))
        return before is None

    def set_options(self, number, address, options):
        ml = self.members(number)
        key = members.address_key(address)
        before = ml.members[key]
        self.add_member(number, before[0], options)

    def remove_member(self, number, address):
        """Remove a member; returns the (address, options) removed, or None."""
        ml = self.members(number)
        key = members.address_key(address)
        before = ml.members.pop(key, None)
        if before is not None:
            self._record(number, "del", (key,), (key, before))
        return before

    def clear_list(self, number):
        """Create a new empty member list (CREATE), or empty one (DESTROY)."""
        ml = self._lists.get(number) or members.MemberList(number)
        old = dict(ml.members) if number in self._lists else None
        ml.members.clear()
        self._lists[number] = ml
        self._prints.setdefault(number, durable.fingerprint(self.site.member_file(number)))
        self._record(number, "clear", (), ("clear", old))

    def drop_list(self, number):
        """Delete a list's member file at commit (DESTROY)."""
        self.clear_list(number)
        self._dropped.add(number)
        self._record(number, "drop", (), ("drop", None))

    # --- access.ini ---

    def access(self):
        """The rules of access.ini (loaded on first use)."""
        if self._rules is None:
            self._prints["access"] = durable.fingerprint(self.site.access)
            self._rules, self.access_problems = accessmod.load(self.site.access)
        return self._rules

    def set_rule(self, user, listname, **fields):
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
        before = rules[index] if index is not None else None
        self._put_rule(rules, user, listname, fields)
        self._record("access", "rule", (user, listname, fields), (user, listname, before))

    @staticmethod
    def _put_rule(rules, user, listname, fields):
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

    # --- wrong passwords (lockouts) ---

    def lockouts(self):
        """{user: lockouts.Entry} of spool/lockouts.csv (loaded on first use)."""
        if self._lockouts is None:
            path = lockoutsmod.path(self.site)
            self._prints["lockouts"] = durable.fingerprint(path)
            self._lockouts = lockoutsmod.load(path)
        return self._lockouts

    def set_lockout(self, user, entry):
        table = self.lockouts()
        self._record("lockouts", "set", (user, entry), (user, table.get(user)))
        table[user] = entry

    # --- what each sender was sent today (quotas) ---

    def quotas(self):
        """{sender: quotas.Entry} of spool/quotas.csv (loaded on first use)."""
        if self._quotas is None:
            path = quotasmod.path(self.site)
            self._prints["quotas"] = durable.fingerprint(path)
            self._quotas = quotasmod.load(path)
        return self._quotas

    def set_quota(self, sender, entry):
        table = self.quotas()
        self._record("quotas", "set", (sender, entry), (sender, table.get(sender)))
        table[sender] = entry

    # --- configuration ---

    def set_config(self, section, key, value):
        """Set key in section; raises ValueError when it cannot be written (config.value_problem)."""
        sec = self.config.sections.get(section)
        before = sec.get(key) if sec is not None else None
        existed = sec is not None
        self.config.set_value(section, key, value)
        self._record("config", "set", (section, key, value), (section, key, before, existed))

    def add_section(self, section, values):
        """Add a section; raises ValueError when its name or a value cannot be written."""
        for key, value in values.items():
            why = fieldsmod.problem(section) or configmod.value_problem(section, key, value)
            if why:
                raise ValueError("[%s] %s: %s" % (section, key, why))
        self.config.add_section(section, values)
        self._record("config", "addsec", (section, dict(values)), (section,))

    def del_section(self, section):
        before = self.config.sections.get(section)
        if before is None:
            return
        values = dict(before)
        self.config.del_section(section)
        self._record("config", "delsec", (section,), (section, values))

    def set_patterns(self, name, entries):
        """Replace the entries of a pattern section; raises ValueError when one cannot be written."""
        for entry in set(entries) - set(self.config.patterns[name]):
            why = fieldsmod.problem(entry)
            if why:
                raise ValueError("[%s]: %s" % (name, why))
        before = list(self.config.patterns[name])
        self.config.set_patterns(name, entries)
        self._record("config", "patterns", (name, list(entries)), (name, before))

    # --- savepoints ---

    def savepoint(self):
        return len(self._journal)

    def rollback(self, point):
        """Undo every change made since point, newest first."""
        while len(self._journal) > point:
            target, op, args, undo = self._journal.pop()
            if target == "config":
                self._undo_config(op, undo)
                continue
            if target in ("lockouts", "quotas"):
                user, before = undo
                table = self._lockouts if target == "lockouts" else self._quotas
                if before is None:
                    table.pop(user, None)
                else:
                    table[user] = before
                continue
            if target == "access":
                user, listname, before = undo
                rules = self._rules
                index = next((i for i, r in enumerate(rules) if r.same_target(user, listname)), None)
                if index is not None:
                    del rules[index]
                if before is not None:
                    rules.insert(index if index is not None else len(rules), before)
                continue
            ml = self._lists[target]
            if op in ("put", "del"):
                key, before = undo
                if before is None:
                    ml.members.pop(key, None)
                else:
                    ml.members[key] = before
            elif op == "clear":
                old = undo[1]
                ml.members.clear()
                if old is None:
                    del self._lists[target]
                else:
                    ml.members.update(old)
            elif op == "drop":
                self._dropped.discard(target)

    def _undo_config(self, op, undo):
        cfg = self.config
        if op in ("set", "del"):
            section, key, before, existed = undo
            if not existed:
                cfg.del_section(section)
            elif before is None:
                cfg.del_value(section, key)
            else:
                # As it was read (a person's value is not checked again).
                cfg.sections[section][key] = before
        elif op == "addsec":
            cfg.del_section(undo[0])
        elif op == "delsec":
            cfg.add_section(undo[0], undo[1])
        elif op == "patterns":
            cfg.set_patterns(undo[0], undo[1])

    # --- commit ---

    def _replay(self, target, obj):
        """Apply this run's journalled changes to target again, on a fresh copy obj."""
        for t, op, args, _ in self._journal:
            if t != target:
                continue
            if target == "access":
                self._put_rule(obj, *args)
            elif target in ("lockouts", "quotas"):
                obj[args[0]] = args[1]
            elif target == "config":
                {"set": obj.set_value, "del": obj.del_value, "addsec": obj.add_section,
                 "delsec": obj.del_section, "patterns": obj.set_patterns}[op](*args)
            elif op == "put":
                obj.members[args[0]] = (args[1], args[2])
            elif op == "del":
                obj.members.pop(args[0], None)
            elif op in ("clear", "drop"):
                obj.members.clear()

    def stage(self, txn):
        """Stage every changed file into txn.

        Raises ConfigError when tristero.ini was changed on disk during the
        run and no longer reads: the person's edit is not overwritten, and
        the transaction must not be committed.
        """
        targets = []
        for t, _, _, _ in self._journal:
            if t not in targets:
                targets.append(t)
        for target in targets:
            if target == "config":
                self._stage_config(txn)
                continue
            if target == "access":
                self._stage_access(txn)
                continue
            if target == "lockouts":
                self._stage_lockouts(txn)
                continue
            if target == "quotas":
                self._stage_quotas(txn)
                continue
            path = self.site.member_file(target)
            if target in self._dropped:
                txn.delete(path)
                continue
            ml = self._lists[target]
            if durable.fingerprint(path) != self._prints.get(target):
                fresh = members.load(target, path)
                self._replay(target, fresh)
                ml.members = fresh.members
                ml.header = fresh.header
            txn.replace(path, ml.write)

    def _stage_access(self, txn):
        path = self.site.access
        if durable.fingerprint(path) != self._prints.get("access"):
            fresh, self.access_problems = accessmod.load(path)
            self._replay("access", fresh)
            self._rules[:] = fresh
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
            self._replay("lockouts", fresh)
            self._lockouts.clear()
            self._lockouts.update(fresh)
        txn.replace(path, lockoutsmod.render(self._lockouts))

    def _stage_quotas(self, txn):
        path = quotasmod.path(self.site)
        if durable.fingerprint(path) != self._prints.get("quotas"):
            # Another run counted too (or a person gave a sender a new day): theirs, then ours.
            fresh = quotasmod.load(path)
            self._replay("quotas", fresh)
            self._quotas.clear()
            self._quotas.update(fresh)
        txn.replace(path, quotasmod.render(self._quotas))

    def _stage_config(self, txn):
        cfg = self.config
        if durable.fingerprint(cfg.path) != cfg.fingerprint and cfg.fingerprint is not None:
            fresh = configmod.Config(cfg.path, configmod.read_text(cfg.path), cfg.defaults)
            fatal = [p for p in fresh.check() if p.fatal]
            if fatal:
                raise configmod.ConfigError(fatal)
            self._replay("config", fresh)
            fresh.fingerprint = cfg.fingerprint
            self.config.__dict__.update(fresh.__dict__)
        txn.replace(cfg.path, cfg.render().encode("utf-8"))

    def committed(self):
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
        self.config.fingerprint = durable.fingerprint(self.config.path)
        self._journal.clear()
