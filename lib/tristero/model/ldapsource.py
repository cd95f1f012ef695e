"""A live LDAP directory (OpenLDAP, Active Directory) as a directory source, and the
write-back of lists into its groups.

``people(settings)`` reads the people under ``BaseDN`` that match ``Filter`` with a
paged search and yields them as ``Person``; ``write_groups(settings, groups)`` makes
each group entry's members those of a list with the least modify operations. Every
failure (unreachable server, refused bind, StartTLS refused, no such base, time-out,
an entry that cannot be read) is a ``DirectoryError`` with the server's answer; the
bind password never appears in one, nor in the repr of ``Settings``.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.dn import parse_dn

from tristero.core import fields
from tristero.model import spools
from tristero.model.people import DirectoryError, Person

# The attributes read when none is configured: the first of each tuple that an entry
# has is used (an id, an address, a name); every grouping attribute is kept.
SCHEMAS = {
    "inetorgperson": dict(filter="(objectClass=inetOrgPerson)", id=("entryUUID", "uid"), mail=("mail",),
                          name=("displayName", "cn"), groups=("ou", "departmentNumber")),
    "ad": dict(filter="(&(objectCategory=person)(objectClass=user))", id=("objectGUID",),
               mail=("mail", "userPrincipalName"), name=("displayName",), groups=("department", "company")),
}

# What one value of the directory may be, so that a broken or hostile entry cannot
# make the site's files or memory what it likes.
MAX_VALUE = 1000

# Values changed by one modify request (a DN is some 50 octets: 250 kB a request).
MAX_VALUES_PER_MODIFY = 5000

_SUCCESS = 0
_NO_SUCH_OBJECT = 32


@dataclass(frozen=True)
class Settings:
    """The [Directory] settings this module reads (names as in tristero.ini)."""

    uri: str
    base_dn: str
    filter: str = ""
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    start_tls: bool = False
    page_size: int = 500
    timeout: int = 30
    schema: str = "inetOrgPerson"
    id_attribute: str = ""
    mail_attribute: str = ""
    name_attribute: str = ""
    group_attributes: tuple[str, ...] = ()

    def defaults(self) -> dict[str, Any]:
        """The schema's default filter and attributes, with the configured ones in their place."""
        if self.schema.lower() not in SCHEMAS:
            raise DirectoryError("LDAP %s: Schema %r is neither inetOrgPerson nor ad" % (self.uri, self.schema))
        d = dict(SCHEMAS[self.schema.lower()])
        if self.filter:
            d["filter"] = self.filter
        for key, value in (("id", self.id_attribute), ("mail", self.mail_attribute),
                           ("name", self.name_attribute)):
            if value:
                d[key] = (value,)
        if self.group_attributes:
            d["groups"] = tuple(self.group_attributes)
        return d


def settings_from(get: Callable[[str], Any]) -> Settings:
    """Settings from the [Directory] keys, get(key) giving each key's value (typed or
    text, as tristero.ini holds it), e.g. ``lambda k: config.get("Directory", k)``."""
    def text(key, default=""):
        value = get(key)
        return default if value is None else str(value).strip()

    def flag(key):
        value = get(key)
        return value if isinstance(value, bool) else text(key).lower() in ("1", "y", "yes", "true", "on")

    groups = get("GroupAttributes")
    if isinstance(groups, str) or groups is None:
        groups = (groups or "").split(",")
    return Settings(uri=text("Uri"), base_dn=text("BaseDN"), filter=text("Filter"), bind_dn=text("BindDN"),
                    bind_password=text("BindPassword"), start_tls=flag("StartTLS"),
                    page_size=int(text("PageSize", "500") or 500), timeout=int(text("Timeout", "30") or 30),
                    schema=text("Schema", "inetOrgPerson") or "inetOrgPerson", id_attribute=text("IdAttribute"),
                    mail_attribute=text("MailAttribute"), name_attribute=text("NameAttribute"),
                    group_attributes=tuple(g.strip() for g in groups if g.strip()))


def _reason(error: BaseException) -> str:
    """An exception's text (ldap3 nests some in tuples), or its name when it has none."""
    parts, stack = [], list(error.args)
    while stack:
        arg = stack.pop(0)
        if isinstance(arg, tuple):
            stack[:0] = arg
        else:
            parts.append(str(arg))
    return "; ".join(parts) or type(error).__name__


class _Tls(ldap3.Tls):
    """TLS as the standard library does it: the system's trusted certificates, and the
    server's name checked in the handshake. ldap3's own Tls checks nothing by default,
    and checks the name after the handshake with the deprecated ssl.match_hostname,
    leaving the socket open when the name is wrong."""

    def wrap_socket(self, connection, do_handshake=False):
        context = ssl.create_default_context()
        connection.socket = context.wrap_socket(connection.socket, server_hostname=connection.server.host,
                                                do_handshake_on_connect=do_handshake)


class _Directory:
    """One bound connection to the server, closed on leaving; every failure a DirectoryError."""

    def __init__(self, settings: Settings, write: bool = False) -> None:
        self.settings, self.write = settings, write
        self.conn = None

    def fail(self, what: str, detail: Any = "") -> DirectoryError:
        """A DirectoryError naming the server, what failed and the server's answer
        (with the password, should an answer ever hold it, blotted out)."""
        text = "LDAP %s: %s" % (self.settings.uri, what)
        detail = (_reason(detail) if isinstance(detail, BaseException) else str(detail)).strip()
        if detail:
            text += ": " + detail
        if self.settings.bind_password:
            text = text.replace(self.settings.bind_password, "********")
        # A DN or value of the directory may hold anything: the text goes to a log line.
        return DirectoryError("".join(c if c.isprintable() else "?" for c in text))

    def answer(self) -> str:
        """The server's answer to the last operation: its result name, code and message."""
        r = self.conn.result or {}
        text = "%s (%s)" % (r.get("description", "?"), r.get("result", "?"))
        if r.get("message"):
            text += " %s" % r["message"]
        return text

    def __enter__(self) -> _Directory:
        s = self.settings
        parts = urlsplit(s.uri)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise self.fail("Uri is not ldap://host[:port] or ldaps://host[:port]")
        try:
            port = parts.port or (636 if parts.scheme == "ldaps" else 389)
        except ValueError:
            raise self.fail("Uri has no valid port") from None
        server = ldap3.Server(unquote(parts.hostname), port=port, use_ssl=parts.scheme == "ldaps", tls=_Tls(),
                              get_info=ldap3.NONE, connect_timeout=s.timeout)
        self.conn = ldap3.Connection(server, user=s.bind_dn or None, password=s.bind_password or None,
                                     receive_timeout=s.timeout, read_only=not self.write,
                                     auto_referrals=False, raise_exceptions=False)
        try:
            self.conn.open()
            if s.start_tls and not self.conn.start_tls():
                raise self.fail("StartTLS refused", self.answer())
            if not self.conn.bind():
                who = "as %s" % s.bind_dn if s.bind_dn else "anonymously"
                raise self.fail("bind %s refused" % who, self.answer())
        except DirectoryError:
            self.close()
            raise
        except ldap_errors.LDAPStartTLSError as e:
            # Refused by the server (its answer), or its certificate refused here (e).
            answer = self.answer() if (self.conn.result or {}).get("result", _SUCCESS) != _SUCCESS else e
            self.close()
            raise self.fail("StartTLS refused", answer) from None
        except ldap_errors.LDAPSocketOpenError as e:
            self.close()
            raise self.fail("cannot connect", e) from None
        except (ldap_errors.LDAPSocketReceiveError, ldap_errors.LDAPResponseTimeoutError) as e:
            self.close()
            raise self.fail("no answer within %s seconds" % s.timeout, e) from None
        except (ldap_errors.LDAPException, OSError, ssl.SSLError) as e:
            self.close()
            raise self.fail("connection failed", e) from None
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.unbind()
            except (ldap_errors.LDAPException, OSError):
                pass    # a connection already gone is closed
            # ldap3 leaves the socket of a connect that failed open.
            sock = getattr(self.conn, "socket", None)
            if sock is not None:
                sock.close()
            self.conn = None

    def __exit__(self, *exc) -> None:
        self.close()

    def call(self, what: str, operation: Callable[..., Any], *args: Any, **kw: Any) -> bool:
        """operation(*args, **kw) (the search or modify of this connection): True on
        success, False on "no such object", a DirectoryError for anything else."""
        try:
            operation(*args, **kw)
        except (ldap_errors.LDAPSocketReceiveError, ldap_errors.LDAPResponseTimeoutError) as e:
            raise self.fail("%s: no answer within %s seconds" % (what, self.settings.timeout), e) from None
        except (ldap_errors.LDAPException, OSError) as e:
            raise self.fail(what, e) from None
        code = (self.conn.result or {}).get("result")
        if code == _SUCCESS:
            return True
        if code == _NO_SUCH_OBJECT:
            return False
        raise self.fail(what, self.answer())

    def entries(self, base: str, search_filter: str, attributes: Iterable[str]) -> Iterator[tuple[str, dict]]:
        """(dn, raw attributes: name -> list of bytes) of every entry under base that
        matches, a page (PageSize) at a time."""
        s = self.settings
        attributes = sorted(set(attributes))
        cookie = None
        while True:
            found = self.call("search of %s for %s" % (base, search_filter), self.conn.search,
                              base, search_filter, search_scope=ldap3.SUBTREE, attributes=attributes,
                              paged_size=max(1, s.page_size), paged_cookie=cookie, time_limit=s.timeout)
            if not found:
                raise self.fail("no such base %s" % base, self.answer())
            page, self.conn.response = self.conn.response or [], None
            for item in page:
                if item.get("type") == "searchResEntry":
                    yield item["dn"], item["raw_attributes"]
            cookie = (self.conn.result.get("controls") or {}).get("1.2.840.113556.1.4.319", {}) \
                .get("value", {}).get("cookie")
            if not cookie:
                return

    def read(self, dn: str, attributes: Iterable[str]) -> dict | None:
        """The raw attributes of the entry dn, or None when there is none."""
        if not self.call("read of %s" % dn, self.conn.search, dn, "(objectClass=*)", search_scope=ldap3.BASE,
                         attributes=list(attributes), time_limit=self.settings.timeout):
            return None
        for item in self.conn.response or []:
            if item.get("type") == "searchResEntry":
                return item["raw_attributes"]
        return None


def _values(raw: dict, name: str) -> list[bytes]:
    """The values of attribute name in raw attributes (names compared without case)."""
    low = name.lower()
    for key, values in raw.items():
        if key.lower() == low:
            return values
    return []


def _first(raw: dict, names: Iterable[str]) -> tuple[str, bytes] | None:
    """(attribute, first value) of the first of names that raw has."""
    for name in names:
        values = _values(raw, name)
        if values:
            return name, values[0]
    return None


def render_id(attribute: str, value: bytes) -> str:
    """An id as text, the same at every read: Active Directory's binary objectGUID in
    its usual form ({...} without braces, as AD shows it), text as it is, other binary
    values in hexadecimal."""
    if attribute.lower() == "objectguid" and len(value) == 16:
        return str(uuid.UUID(bytes_le=value))
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()
    return text if text.isprintable() else value.hex()


def _text(d: _Directory, dn: str, attribute: str, value: bytes) -> str:
    """value as text for a site file, or a DirectoryError naming the entry."""
    try:
        text = value.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise d.fail("%s: %s is not UTF-8 text" % (dn, attribute)) from None
    why = fields.problem(text) or (len(text) > MAX_VALUE and "it is longer than %d characters" % MAX_VALUE)
    if why:
        raise d.fail("%s: %s %r...: %s" % (dn, attribute, text[:60], why))
    return text


def _address(d: _Directory, dn: str, attribute: str, value: bytes) -> str:
    text = _text(d, dn, attribute, value)
    if text.count("@") != 1 or not spools.valid_envelope_address(text):
        raise d.fail("%s: %s %r is not one mail address" % (dn, attribute, text[:80]))
    return text


def people(settings: Settings) -> Iterator[Person]:
    """The people of the directory: each entry under BaseDN that matches Filter and has
    an address (an entry without one, such as a service account, is not a person of
    mail). A DirectoryError for a failure of the server, an entry without an id, an
    address that is not one, or two entries with one id; the caller keeps nothing of a
    read that ended in one."""
    spec = settings.defaults()
    wanted = spec["id"] + spec["mail"] + spec["name"] + spec["groups"]
    seen = set()
    with _Directory(settings) as d:
        for dn, raw in d.entries(settings.base_dn, spec["filter"], wanted):
            mail = _first(raw, spec["mail"])
            if mail is None:
                continue
            found = _first(raw, spec["id"])
            if found is None:
                raise d.fail("%s has no %s" % (dn, " or ".join(spec["id"])))
            pid = render_id(*found)
            if len(pid) > MAX_VALUE:
                raise d.fail("%s: %s is longer than %d characters" % (dn, found[0], MAX_VALUE))
            if pid in seen:
                raise d.fail("%s: %s %s is the id of an entry read before" % (dn, found[0], pid))
            seen.add(pid)
            name = _first(raw, spec["name"])
            groups = {}
            for attribute in spec["groups"]:
                values = tuple(_text(d, dn, attribute, v) for v in _values(raw, attribute))
                if values:
                    groups[attribute.lower()] = values
            yield Person(id=pid, address=_address(d, dn, mail[0], mail[1]),
                         name=_text(d, dn, name[0], name[1]) if name else "", attributes=groups)


@dataclass
class GroupChange:
    """What write_groups did to one group: the values added and removed, and the
    addresses left out because no one in the directory has them (groupOfNames)."""

    dn: str
    added: int = 0
    removed: int = 0
    unknown: int = 0


@dataclass
class WriteBack:
    """The outcome of write_groups: a GroupChange per group written, and a line per
    group that could not be (missing, not a group, refused by the server)."""

    changes: list[GroupChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _dn_key(dn: str) -> str:
    """What two spellings of one DN have in common (attribute names and values without
    case, no spaces around separators): how member values are compared."""
    try:
        return ",".join("%s=%s" % (a.lower(), v.lower()) for a, v, _ in parse_dn(dn, escape=False, strip=True))
    except ldap_errors.LDAPException:
        return dn.lower()


def _people_dns(d: _Directory) -> dict[str, str]:
    """address (lower case) -> DN of every person of the directory."""
    spec = d.settings.defaults()
    index = {}
    for dn, raw in d.entries(d.settings.base_dn, spec["filter"], spec["mail"]):
        for attribute in spec["mail"]:
            for value in _values(raw, attribute):
                index.setdefault(value.decode("utf-8", "replace").strip().lower(), dn)
    return index


def _modifications(add: list[str], delete: list[str]) -> Iterator[list[tuple]]:
    """The changes of one attribute's values as the modify operations that make them:
    one, or for more values than one request should carry (a server bounds the size of
    a request: slapd 4 MB) several, the additions first, so that a group that must keep
    a member never has none. One that fails leaves the group part-way, which the next
    write-back completes: it writes differences only."""
    if len(add) + len(delete) <= MAX_VALUES_PER_MODIFY:
        ops = ([(ldap3.MODIFY_DELETE, delete)] if delete else []) + ([(ldap3.MODIFY_ADD, add)] if add else [])
        if ops:
            yield ops
        return
    for kind, values in ((ldap3.MODIFY_ADD, add), (ldap3.MODIFY_DELETE, delete)):
        for start in range(0, len(values), MAX_VALUES_PER_MODIFY):
            yield [(kind, values[start:start + MAX_VALUES_PER_MODIFY])]


def write_groups(settings: Settings, groups: Mapping[str, Iterable[str]]) -> WriteBack:
    """Make each group (a DN -> the member addresses of its list) hold those members:
    a groupOfNames (or Active Directory's group) the DNs of the people with those
    addresses (an address no one in the directory has is left out and counted), a
    nisMailAlias the addresses themselves.
    One modify per group that differs, adding and deleting only the differences. A group
    that does not exist is a problem named, never created; a failure of the server is a
    DirectoryError."""
    outcome = WriteBack()
    index = None
    with _Directory(settings, write=True) as d:
        for group_dn in sorted(groups):
            try:
                parse_dn(group_dn)
            except ldap_errors.LDAPException:
                outcome.problems.append("%s: not a DN" % group_dn)
                continue
            raw = d.read(group_dn, ["objectClass", "member", "rfc822MailMember"])
            if raw is None:
                outcome.problems.append("%s: no such group (not created)" % group_dn)
                continue
            classes = {v.decode("utf-8", "replace").lower() for v in _values(raw, "objectClass")}
            change = GroupChange(group_dn)
            wanted = {a.strip().lower(): a.strip() for a in groups[group_dn] if a.strip()}
            if "groupofnames" in classes or "group" in classes:      # group: Active Directory's
                attribute, key = "member", _dn_key
                if index is None:
                    index = _people_dns(d)
                targets = {}
                for low in wanted:
                    if low in index:
                        targets[_dn_key(index[low])] = index[low]
                    else:
                        change.unknown += 1
            elif "nismailalias" in classes:
                attribute, key = "rfc822MailMember", str.lower
                targets = wanted
            else:
                outcome.problems.append("%s: neither a groupOfNames (or AD group) nor a nisMailAlias" % group_dn)
                continue
            present = {}
            for value in _values(raw, attribute):
                text = value.decode("utf-8", "replace")
                present[key(text)] = text
            add = sorted(targets[k] for k in targets.keys() - present.keys())
            delete = sorted(present[k] for k in present.keys() - targets.keys())
            if "groupofnames" in classes and not targets and present:
                outcome.problems.append("%s: a groupOfNames must keep one member; its list has none "
                                        "in the directory, so it was left as it is" % group_dn)
                continue
            try:
                done = all(d.call("modify of %s" % group_dn, d.conn.modify, group_dn, {attribute: ops})
                           for ops in _modifications(add, delete))
            except DirectoryError as e:
                outcome.problems.append(str(e))
                continue
            if not done:
                outcome.problems.append("%s: no such group (not created)" % group_dn)
                continue
            change.added, change.removed = len(add), len(delete)
            outcome.changes.append(change)
    return outcome
