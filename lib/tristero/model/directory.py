"""The organisation's directory as files: LDIF (RFC 2849) and CSV readers, and the
snapshot of the last synchronisation (``spool/directory.state``).

A reader turns a file into a ``Snapshot``: {id: Entry}, an Entry being a Person and
the distinguished name it had (LDIF change records name entries by DN). An LDIF
file of content records (or a CSV file) is the whole directory; an LDIF file of
change records (``changetype: add|delete|modify|modrdn``) is applied to the
previous snapshot, as RFC 2849 means. Which attributes are read is the
configuration's (``[Directory] Schema`` and the four attribute keys, see
``attributes``). Anything that does not read is a DirectoryError naming
file:line; nothing is half-read.

The state file is JSON lines, plain text: a first line of meta data (the hash of
the last source synchronised, of a held one), then one line per person, by id.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from tristero.core import fields
from tristero.model import spools
from tristero.model.people import DirectoryError, Person
from tristero.model.site import Site

# Schema -> (id, mail, name, grouping attributes), as each directory names them.
SCHEMAS = {
    "inetOrgPerson": ("uid", "mail", "cn", ("ou", "departmentNumber")),
    "ad": ("objectGUID", "mail", "displayName", ("department", "company")),
}

# A line (with its continuations) longer than this is refused: a file is bounded work.
MAX_LINE = 1 << 20
# A person's name longer than this is refused (as the live source, ldapsource.MAX_VALUE).
MAX_NAME = 1000


@dataclass(frozen=True)
class Attributes:
    """The attribute names read, in lower case."""

    id: str
    mail: str
    name: str
    groups: tuple[str, ...]

    def wanted(self) -> set[str]:
        return {self.id, self.mail, self.name, *self.groups}


def attributes(config) -> Attributes:
    """The attribute names [Directory] says to read (each key's value, else the Schema's)."""
    default = SCHEMAS[config.get("Directory", "Schema")]
    groups = config.get("Directory", "GroupAttributes") or list(default[3])
    return Attributes((config.get("Directory", "IdAttribute") or default[0]).lower(),
                      (config.get("Directory", "MailAttribute") or default[1]).lower(),
                      (config.get("Directory", "NameAttribute") or default[2]).lower(),
                      tuple(g.lower() for g in groups))


@dataclass(frozen=True)
class Entry:
    dn: str
    person: Person


Snapshot = dict   # {id: Entry}


def address_problem(address: str) -> str | None:
    """Why address cannot be a member of a list, or None."""
    if not address.isascii() or "@" not in address or not spools.valid_envelope_address(address):
        return "%r is not one mail address" % address
    return None


def person_of(entry: dict[str, list[str]], attrs: Attributes, where: str) -> Person | None:
    """The Person an entry ({attribute: values}) describes; None for an entry that is no
    person with mail (an organisational unit, a group, someone without a mailbox)."""
    ids, mails = entry.get(attrs.id), entry.get(attrs.mail)
    if not mails:
        return None
    if not ids:
        raise DirectoryError("%s: an entry with %s but no %s (the id that makes a changed address a "
                             "rename)" % (where, attrs.mail, attrs.id))
    address = mails[0].strip()
    why = address_problem(address)
    if why:
        raise DirectoryError("%s: %s" % (where, why))
    name = " ".join((entry.get(attrs.name) or [""])[0].split())
    # The name goes into the member files (NAME): checked as the live source checks it.
    why = fields.problem(name) or (len(name) > MAX_NAME and "it is longer than %d characters" % MAX_NAME)
    if why:
        raise DirectoryError("%s: the %s of %s: %s" % (where, attrs.name, address, why))
    groups = {g: tuple(v.strip() for v in entry[g] if v.strip()) for g in attrs.groups if entry.get(g)}
    return Person(ids[0].strip(), address, name, groups)


def entry_of(e: Entry, attrs: Attributes) -> dict[str, list[str]]:
    """The attributes of a snapshot's entry again (to apply a change record to)."""
    p = e.person
    out = {attrs.id: [p.id], attrs.mail: [p.address]}
    if p.name:
        out[attrs.name] = [p.name]
    for g, values in p.attributes.items():
        out[g] = list(values)
    return out


def _text(value: bytes, where: str) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or any(ord(c) < 32 and c != "\t" for c in text):
        # A binary value (objectGUID): its bytes in hex, a stable id all the same.
        return value.hex()
    return text


# --- LDIF ---------------------------------------------------------------------------

def _logical_lines(f, name) -> Iterator[tuple[int, str]]:
    """(line number, line) with continuations joined; comments dropped; "" between records."""
    current, start, comment = None, 0, False
    for n, raw in _lines(f, name):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise DirectoryError("%s:%d: not UTF-8 text (byte 0x%02x)" % (name, n, raw[e.start]))
        if line.startswith(" "):
            if current is None and not comment:
                raise DirectoryError("%s:%d: a continuation line with no line before it" % (name, n))
            if not comment:
                current += line[1:]
                if len(current) > MAX_LINE:
                    raise DirectoryError("%s:%d: a line longer than %d characters" % (name, start, MAX_LINE))
            continue
        if current is not None:
            yield start, current
            current = None
        comment = line.startswith("#")
        if comment:
            continue
        if not line.strip():
            yield n, ""
            continue
        current, start = line, n
    if current is not None:
        yield start, current


def _lines(f, name) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of a binary file, each read up to MAX_LINE bytes: a longer
    line is an error, not read whole into memory."""
    for n, raw in enumerate(iter(lambda: f.readline(MAX_LINE + 3), b""), 1):
        if len(raw.rstrip(b"\r\n")) > MAX_LINE:
            raise DirectoryError("%s:%d: a line longer than %d characters" % (name, n, MAX_LINE))
        yield n, raw


def _attr_value(line: str, where: str) -> tuple[str, str]:
    """(attribute in lower case, value) of an LDIF line "attr: value" / "attr:: base64"."""
    if line.rstrip() == "-":
        return "-", ""
    name, colon, rest = line.partition(":")
    name = name.strip()
    if not colon or not name or " " in name:
        raise DirectoryError("%s: %r is not \"attribute: value\"" % (where, line[:80]))
    if rest.startswith(":"):
        try:
            value = _text(base64.b64decode(rest[1:].strip(), validate=True), where)
        except (ValueError, TypeError):
            raise DirectoryError("%s: %s:: is not base64" % (where, name))
    elif rest.startswith("<"):
        raise DirectoryError("%s: %s:< (a value read from a URL) is not taken" % (where, name))
    else:
        value = rest[1:] if rest.startswith(" ") else rest
        value = value.lstrip(" ")
    return name.split(";", 1)[0].lower(), value


def _records(f, name) -> Iterator[tuple[int, list[tuple[int, str, str]]]]:
    """(first line, [(line, attribute, value)]) of each record."""
    record = []
    for n, line in _logical_lines(f, name):
        if line == "":
            if record:
                yield record[0][0], record
                record = []
            continue
        attr, value = _attr_value(line, "%s:%d" % (name, n))
        record.append((n, attr, value))
    if record:
        yield record[0][0], record


def read_ldif(path: str, name: str, attrs: Attributes, previous: Snapshot) -> Snapshot:
    """The directory an LDIF file describes (see the module doc); DirectoryError when it
    does not read."""
    wanted = attrs.wanted()
    try:
        f = open(path, "rb")
    except OSError as e:
        raise DirectoryError("%s: cannot be read: %s" % (name, e.strerror or e))
    with f:
        mode = None                   # "content" or "changes", from the first record
        people: Snapshot = {}
        by_dn: dict[str, str] = {}    # normalised DN -> id (content), or DN -> entry (changes)
        entries: dict[str, tuple[str, dict]] = {}
        first_line: dict[str, int] = {}
        for start, record in _records(f, name):
            if record[0][1] == "version" and mode is None and len(record) == 1:
                continue
            if record[0][1] == "version":
                record = record[1:]
                if not record:
                    continue
                start = record[0][0]
            where = "%s:%d" % (name, start)
            if record[0][1] != "dn":
                raise DirectoryError("%s: a record must begin with dn:" % where)
            dn = record[0][2].strip()
            body = [r for r in record[1:] if r[1] != "control"]
            change = body[0][2].strip().lower() if body and body[0][1] == "changetype" else None
            kind = "changes" if change else "content"
            if mode is None:
                mode = kind
                if mode == "changes":
                    for e in previous.values():
                        entries[_norm(e.dn)] = (e.dn, entry_of(e, attrs))
            elif kind != mode:
                raise DirectoryError("%s: a %s record in a file of %s records (RFC 2849: one or the other)"
                                     % (where, "change" if change else "content", mode[:-1]))
            if mode == "content":
                key = _norm(dn)
                if key in by_dn:
                    raise DirectoryError("%s: %s appears twice" % (where, dn))
                entry: dict[str, list[str]] = {}
                for _, attr, value in body:
                    if attr in wanted:
                        entry.setdefault(attr, []).append(value)
                person = person_of(entry, attrs, where)
                by_dn[key] = person.id if person else ""
                if person is not None:
                    _put(people, first_line, Entry(dn, person), start, name)
            else:
                _change(entries, dn, change, body[1:], where, wanted)
        if mode == "changes":
            for dn, entry in entries.values():
                person = person_of(entry, attrs, "%s: %s" % (name, dn))
                if person is not None:
                    _put(people, first_line, Entry(dn, person), 0, name)
        if mode is None:
            raise DirectoryError("%s: no entries (an empty export would remove everyone)" % name)
        return people


def _norm(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


def _put(people, first_line, entry, line, name):
    """Add entry to people; a second entry with the same id is an error."""
    pid = entry.person.id
    if pid in people:
        at = first_line.get(pid)
        raise DirectoryError("%s:%d: the id %s is also that of %s%s" % (
            name, line, pid, people[pid].dn, " (line %d)" % at if at else ""))
    people[pid] = entry
    first_line[pid] = line


def _change(entries, dn, change, body, where, wanted):
    """Apply one change record to entries ({normalised DN: (DN, {attr: values})})."""
    key = _norm(dn)
    if change == "add":
        if key in entries:
            raise DirectoryError("%s: add: %s is there already" % (where, dn))
        entry = {}
        for _, attr, value in body:
            if attr in wanted:
                entry.setdefault(attr, []).append(value)
        entries[key] = (dn, entry)
    elif change == "delete":
        if key not in entries:
            raise DirectoryError("%s: delete: no entry %s" % (where, dn))
        del entries[key]
    elif change == "modify":
        if key not in entries:
            raise DirectoryError("%s: modify: no entry %s" % (where, dn))
        entry = entries[key][1]
        i = 0
        while i < len(body):
            n, op, attr = body[i]
            attr = attr.lower()
            if op not in ("add", "delete", "replace"):
                raise DirectoryError("%s:%d: %s: is not add:, delete: or replace:" % (where.rsplit(":", 1)[0], n, op))
            values = []
            i += 1
            while i < len(body) and body[i][1] != "-":
                if body[i][1] != attr.lower():
                    raise DirectoryError("%s:%d: %s: inside a change of %s" % (
                        where.rsplit(":", 1)[0], body[i][0], body[i][1], attr))
                values.append(body[i][2])
                i += 1
            if i >= len(body):
                raise DirectoryError("%s:%d: a change of %s not ended by a line \"-\"" % (
                    where.rsplit(":", 1)[0], n, attr))
            i += 1      # the "-"
            if attr not in wanted:
                continue
            if op == "add":
                entry.setdefault(attr, []).extend(values)
            elif op == "replace":
                if values:
                    entry[attr] = values
                else:
                    entry.pop(attr, None)
            else:
                if values:
                    kept = [v for v in entry.get(attr, []) if v not in values]
                    if kept:
                        entry[attr] = kept
                    else:
                        entry.pop(attr, None)
                else:
                    entry.pop(attr, None)
    elif change in ("modrdn", "moddn"):
        if key not in entries:
            raise DirectoryError("%s: %s: no entry %s" % (where, change, dn))
        fields = {attr: value for _, attr, value in body}
        newrdn = fields.get("newrdn", "").strip()
        if not newrdn or "=" not in newrdn:
            raise DirectoryError("%s: %s without a newrdn" % (where, change))
        old_dn, entry = entries.pop(key)
        parent = fields.get("newsuperior", "").strip() or old_dn.partition(",")[2]
        new_dn = newrdn + ("," + parent if parent else "")
        if _norm(new_dn) in entries:
            raise DirectoryError("%s: %s: %s is there already" % (where, change, new_dn))
        old_attr, _, old_value = old_dn.partition(",")[0].partition("=")
        new_attr, _, new_value = newrdn.partition("=")
        if fields.get("deleteoldrdn", "0").strip() == "1" and old_attr.strip().lower() in wanted:
            kept = [v for v in entry.get(old_attr.strip().lower(), []) if v != old_value.strip()]
            if kept:
                entry[old_attr.strip().lower()] = kept
            else:
                entry.pop(old_attr.strip().lower(), None)
        if new_attr.strip().lower() in wanted:
            values = entry.setdefault(new_attr.strip().lower(), [])
            if new_value.strip() not in values:
                values.append(new_value.strip())
        entries[_norm(new_dn)] = (new_dn, entry)
    else:
        raise DirectoryError("%s: changetype %s is none of add, delete, modify, modrdn" % (where, change))


# --- CSV ----------------------------------------------------------------------------

def read_csv(path: str, name: str, attrs: Attributes) -> Snapshot:
    """The directory a CSV file with a header row describes: one person a row, columns
    named by attribute (an optional "dn" column); several values in a cell separated by
    ";"."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise DirectoryError("%s: cannot be read: %s" % (name, e.strerror or e))
    people: Snapshot = {}
    first_line: dict[str, int] = {}
    wanted = attrs.wanted()
    with f:
        reader = csv.reader(_decoded(f, name))
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            if not header:
                raise DirectoryError("%s:1: no header row" % name)
            for need in (attrs.id, attrs.mail):
                if need not in header:
                    raise DirectoryError("%s:1: no column %s in the header row" % (name, need))
            columns = [(i, h) for i, h in enumerate(header) if h in wanted or h == "dn"]
            start = reader.line_num + 1
            for row in reader:
                where = "%s:%d" % (name, start)
                start = reader.line_num + 1
                if not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise DirectoryError("%s: %d fields where the header has %d" % (where, len(row), len(header)))
                entry: dict[str, list[str]] = {}
                dn = ""
                for i, h in columns:
                    cell = row[i].strip()
                    if h == "dn":
                        dn = cell
                    elif cell:
                        entry[h] = [v.strip() for v in cell.split(";") if v.strip()] if h in attrs.groups else [cell]
                person = person_of(entry, attrs, where)
                if person is not None:
                    _put(people, first_line, Entry(dn or "%s=%s" % (attrs.id, person.id), person),
                         int(where.rsplit(":", 1)[1]), name)
        except csv.Error as e:
            raise DirectoryError("%s:%d: %s" % (name, reader.line_num, e))
    if not people:
        raise DirectoryError("%s: no people (an empty export would remove everyone)" % name)
    return people


def _decoded(f, name):
    """The lines of a binary file as text, an undecodable one an error naming its line."""
    for n, raw in _lines(f, name):
        try:
            yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as e:
            raise DirectoryError("%s:%d: not UTF-8 text (byte 0x%02x)" % (name, n, raw[e.start]))


def read(path: str, name: str, attrs: Attributes, previous: Snapshot) -> Snapshot:
    """A directory file, LDIF or CSV by its name's ending (.csv: CSV)."""
    if path.lower().endswith(".csv"):
        return read_csv(path, name, attrs)
    return read_ldif(path, name, attrs, previous)


def digest(path: str) -> str:
    """The SHA-256 of a file (what the state remembers of a source), streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- the state of the last synchronisation ---------------------------------------------

def state_path(site: Site) -> str:
    return os.path.join(site.spool, "directory.state")


def drop_folder(site: Site) -> str:
    return os.path.join(site.spool, "directory")


def load_state(site: Site) -> tuple[dict, Snapshot]:
    """(meta, snapshot) of the last synchronisation; ({}, {}) before the first."""
    return load_snapshot(state_path(site))


def snapshot_of(people: Iterable[Person], name: str) -> Snapshot:
    """The Snapshot of people from a live source (no DNs); a duplicate id or an address
    that cannot be a member is a DirectoryError."""
    out: Snapshot = {}
    for n, p in enumerate(people, 1):
        why = address_problem(p.address)
        if why:
            raise DirectoryError("%s: entry %d (%s): %s" % (name, n, p.id, why))
        if p.id in out:
            raise DirectoryError("%s: entry %d: the id %s is also that of %s"
                                 % (name, n, p.id, out[p.id].person.address))
        out[p.id] = Entry("", p)
    return out


def digest_of(people: Snapshot) -> str:
    """A hash of a directory as the state writes it."""
    return hashlib.sha256(render_state({}, people)).hexdigest()


def load_snapshot(path: str) -> tuple[dict, Snapshot]:
    """(meta, snapshot) of a file in the state's form; ({}, {}) when there is none."""
    try:
        f = open(path, encoding="utf-8")
    except FileNotFoundError:
        return {}, {}
    people = {}
    with f:
        meta = {}
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise DirectoryError("%s:%d: not a line of JSON" % (path, n))
            if n == 1 and "meta" in row:
                meta = row["meta"]
                continue
            p = Person(row["id"], row["address"], row.get("name", ""),
                       {k: tuple(v) for k, v in row.get("attributes", {}).items()})
            people[p.id] = Entry(row.get("dn", ""), p)
    return meta, people


def _state_line(e: Entry) -> str:
    p = e.person
    return json.dumps({"id": p.id, "dn": e.dn, "address": p.address, "name": p.name,
                       "attributes": {k: list(v) for k, v in sorted(p.attributes.items())}},
                      ensure_ascii=False, sort_keys=True)


def render_state(meta: dict, people: Snapshot) -> bytes:
    """The state file's bytes (sorted: the same directory gives the same file)."""
    out = io.BytesIO()
    state_writer(meta, people)(out)
    return out.getvalue()


def state_writer(meta: dict, people: Snapshot) -> Callable[[BinaryIO], None]:
    """A function that writes the state file to a binary file, line by line (100,000
    people need no copy of the whole file in memory)."""
    def write(f: BinaryIO) -> None:
        f.write(json.dumps({"meta": meta}, sort_keys=True).encode("utf-8") + b"\n")
        for pid in sorted(people):
            f.write(_state_line(people[pid]).encode("utf-8") + b"\n")
    return write
