"""tristero.ini: reading, checking and rewriting the site's configuration.

The file is INI, handled by configobj, except for the four pattern sections
([Kill Subjects], [Kill Authors], [Admin Subjects], [PreScan Strings]: one bare
entry per line, ``;`` comments, ``#{`` anchors) that configobj cannot read. The
text is cut into segments at section headers: pattern sections are kept as
lines, every other run of sections is a configobj of its own, so that a rewrite
gives back every line a person wrote, in place.
Defaults come from ``tristero.ini.example`` beside ``tristero.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from configobj import ConfigObj, ConfigObjError

from tristero.core import fields, nameservers
from tristero.core import text as texts
from tristero.core.patterns import entry_problem
from tristero.model import durable, site
from tristero.model.lists import name_problem

PATTERN_SECTIONS = ("Admin Subjects", "Kill Subjects", "Kill Authors", "PreScan Strings")

LIST_TYPES = ("Open", "Free", "Internal", "Closed", "Moderated", "Subscription",
              "Approval", "Distribution", "Executable", "Passive", "Broadcast", "Hidden")

REPLY_TYPES = ("Poster", "PosterPlus", "List", "ListPlus", "Owner", "Tristero", "Forwarded",
               "TopList", "TopListPlus", "ToList", "ToListPlus")

# The repository's top folder: lib/tristero/model/config.py is four levels below it.
EXAMPLE = os.path.join(os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")),
                       "tristero.ini.example")

_TRUE = {"1", "y", "yes", "true", "on"}
_FALSE = {"0", "n", "no", "false", "off", ""}
_SECTION_RE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*([^=#\[\s][^=]*?)\s*=")


class Problem:
    """One thing wrong in a configuration file."""

    def __init__(self, path: str, line: int | None, message: str, fatal: bool = True) -> None:
        self.path, self.line, self.message, self.fatal = path, line, message, fatal

    def __str__(self):
        where = "%s:%s" % (self.path, self.line) if self.line else self.path
        return "%s: %s%s" % (where, "" if self.fatal else "warning: ", self.message)


class ConfigError(Exception):
    """The configuration cannot be used; carries every Problem found."""


    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- value types -----------------------------------------------------------

# A key whose value is a secret (SmtpPassword, BindPassword, Majordomo's admin_passwd ...):
# its value never leaves the site in a copy of an ini file (CONFIG ATTACH, CONFIG SENDFILE).
_SECRET_LINE = re.compile(rb"^([ \t]*[A-Za-z_][\w.-]*(?:password|passwd|secret)[ \t]*=[ \t]*)(.*)$", re.I | re.M)
STARS = b"********"


def masked(data: bytes) -> bytes:
    """data, an ini file's bytes, with the value of every secret key (and what follows
    it on its line) replaced by STARS."""
    return _SECRET_LINE.sub(lambda m: m.group(1) + (STARS if m.group(2).strip() else b""), data)


def as_int(text: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError("%r is not a whole number" % text)
    return int(text)


def as_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError("%r is not Y or N" % text)


def as_text(text: str) -> str:
    return text.strip()


ARCHIVE_MODES = ("Y", "COMPLETE", "FILEONLY")


def as_archive(text: str) -> str:
    """A list's Archive: "" (off: N), "Y" (the posts' text), "COMPLETE" (posts whole,
    attachments included) or "FILEONLY" (text, attachments kept as files beside it)."""
    t = text.strip().upper()
    if t in ARCHIVE_MODES[1:]:
        return t
    try:
        return "Y" if as_bool(t) else ""
    except ValueError:
        raise ValueError("%r is not Y, N, COMPLETE or FILEONLY" % text.strip())


def as_names(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def as_address(text: str) -> str:
    text = text.strip()
    if text and not re.fullmatch(r"[^@\s<>\"]+@[A-Za-z0-9.-]+", text):
        raise ValueError("%r is not a mail address" % text)
    return text


def as_addresses(text: str) -> list[str]:
    """Mail addresses, separated by commas or blanks."""
    return [as_address(a) for a in text.replace(",", " ").split()]


def as_domain(text: str) -> str:
    text = text.strip().lower()
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", text):
        raise ValueError("%r is not a domain name" % text)
    return text


def as_domains(text: str) -> list[str]:
    return [as_domain(d) for d in as_names(text)]


def choice(options: Sequence[str]) -> Callable[[str], str]:
    lower = {o.lower(): o for o in options}

    def parse(text):
        t = text.strip()
        if t.lower() not in lower:
            raise ValueError("%r is not one of %s" % (t, ", ".join(options)))
        return lower[t.lower()]
    return parse


def as_reply(text: str) -> str:
    t = text.strip()
    for r in REPLY_TYPES:
        if t.lower() == r.lower():
            return r
    if re.fullmatch(r"[^@\s<>\"]+@[A-Za-z0-9.-]+", t):
        return t
    raise ValueError("%r is not a reply type (%s) or an address" % (t, ", ".join(REPLY_TYPES)))


def as_optional_reply(text: str) -> str:
    """ProxyReply: a reply type or an address, or empty (the list's Reply)."""
    return as_reply(text) if text.strip() else ""


def as_priority(text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    return choice(("Low", "Normal", "Urgent"))(t)


def as_member_file(text: str) -> str:
    t = text.strip()
    if not re.fullmatch(r"\d{8}", t):
        raise ValueError("%r is not an 8-digit list number" % t)
    return t


def as_policy(text: str) -> str:
    """Majordomo's subscribe_policy: open, closed or auto, each optionally +confirm."""
    t = text.strip().lower().replace(" ", "")
    base = t[:-len("+confirm")] if t.endswith("+confirm") else t
    if base not in ("", "open", "closed", "auto"):
        raise ValueError("%r is not open, closed or auto (each optionally +confirm)" % text.strip())
    return t


def as_prescan_mode(text: str) -> int:
    """PreScanMode: 0 off, 1 delivery reports, 2 also mail to lists, 3 everything."""
    value = as_int(text)
    if not 0 <= value <= 3:
        raise ValueError("%d is not 0, 1, 2 or 3" % value)
    return value


def as_authserv_ids(text: str) -> list[str]:
    """Authentication-Results authserv-ids (RFC 8601: a token, in practice the mail
    server's host name), comma-separated, in lower case."""
    ids = [p.lower() for p in as_names(text)]
    for p in ids:
        if not re.fullmatch(r"[!#-'*+\-.0-9A-Z^-~]+", p, re.I):
            raise ValueError("%r is not an authserv-id (a host name)" % p)
    return ids


def as_nameservers(text: str) -> str:
    """Nameservers: ``host[:port], ...`` (empty: the system's resolver)."""
    t = " ".join(text.replace(",", " ").split())
    nameservers.parse(t)
    return ", ".join(t.split())


def as_selector(text: str) -> str:
    """A DKIM selector: empty (no signing) or DNS labels, dot-separated."""
    t = text.strip()
    if t and not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*",
                              t):
        raise ValueError("%r is not a DKIM selector (DNS labels)" % t)
    return t


def as_optional_domain(text: str) -> str:
    return as_domain(text) if text.strip() else ""


def as_unsubscribe_url(text: str) -> str:
    """UnsubscribeURL: an http(s) URL to which each recipient's signed one-click link
    adds list=, address= and token= (the {list}/{address} templates of old are refused:
    a URL that names a recipient without proof lets anyone unsubscribe anyone)."""
    t = as_url(text)
    if "{" in t or "}" in t:
        raise ValueError("%r holds a {...} template: UnsubscribeURL is now the web endpoint's address, to "
                         "which each recipient's link adds list=, address= and a token (remove the "
                         "template)" % t)
    if t.startswith("mailto:"):
        raise ValueError("%r is not an http(s) URL (the mailto form is always sent)" % t)
    return t


def as_language(text: str) -> str:
    """Language: a language Tristero has texts in (a folder of lib/tristero/templates), by
    its code or its name (German, Deutsch: texts.NAMES)."""
    t = texts.language_code(text)
    if t is None:
        raise ValueError("%r is not a language of Tristero's texts (%s)"
                         % (text.strip(), ", ".join(sorted(texts.builtin()))))
    return t


def as_url(text: str) -> str:
    t = text.strip()
    if t and not re.fullmatch(r"(https?|mailto):\S+", t):
        raise ValueError("%r is not an http(s) or mailto URL" % t)
    return t


def as_owner(text: str) -> str:
    """A list's Owner: an address, or ADE (the directory keeps the list: each sync
    rebuilds it whole, as the manual's lists owned by user ADE)."""
    t = text.strip()
    if t.upper() == "ADE":
        return "ADE"
    return as_address(t)


def as_percent(text: str) -> int:
    """A share in per cent: 10 or 10 %."""
    t = text.strip()
    value = as_int(t[:-1] if t.endswith("%") else t)
    if not 0 <= value <= 100:
        raise ValueError("%d is not a percentage (0 to 100)" % value)
    return value


def as_ldap_uri(text: str) -> str:
    t = text.strip()
    if t and not re.fullmatch(r"ldaps?://[^\s/]+/?", t, re.I):
        raise ValueError("%r is not an ldap:// or ldaps:// URI (host[:port])" % t)
    return t


def as_select(text: str) -> str:
    """AutoAllSelect: the manual's letters P, B, I, A, R, S (see the README)."""
    t = "".join(text.split()).upper()
    bad = sorted(set(t) - set("PBIARS"))
    if bad:
        raise ValueError("%r: %s is none of the letters P, B, I, A, R, S" % (text.strip(), "".join(bad)))
    return t


def as_copy_method(text: str) -> str:
    """CopyMethod: "" (one envelope for many), P (Personal) or M (Mass), then F (Folder:
    the site's own members get it at an address extension) or not: the manual's letters
    (see the README, "Mail merge" and "Folders")."""
    t = "".join(text.split()).upper()
    if not re.fullmatch(r"[PM]?F?", t):
        raise ValueError("%r is not empty, P or M, each with F or without" % text.strip())
    return t


def as_extension_part(text: str) -> str:
    """FolderPrefix, FolderSuffix: what stands before and after the list's name in a
    member's address extension (letters, digits, '.', '_', '-')."""
    t = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9._-]{0,20}", t):
        raise ValueError("%r is not up to 20 letters, digits, '.', '_' or '-'" % t)
    return t


def as_folder_root(text: str) -> str:
    """Folders: a folder inside the site's (relative, no '..'), or empty; not the site's
    folder itself nor one of its own (spool ...), whose files a fed folder would post."""
    t = text.strip()
    if t.startswith("/") or ".." in t.split("/") or "\\" in t:
        raise ValueError("%r is not a folder inside the site's folder (relative, no '..')" % t)
    parts = [p for p in t.split("/") if p not in ("", ".")]
    if (t and not parts) or (parts and parts[0] in site.OWN_FOLDERS):
        raise ValueError("%r is the site's folder or one of its own (%s): not a folder of its own"
                         % (t, ", ".join(site.OWN_FOLDERS)))
    return t.strip("/")


# --- Majordomo 1.94's list settings, under their own names ----------------------------

ACCESS_MODES = ("open", "closed", "list")
MAX_TABOO = 20              # patterns in one taboo_headers or taboo_body
MAX_TABOO_LENGTH = 200      # characters of one pattern
# A group repeated that itself repeats ((a+)+, (a|aa)*): the patterns whose matching time
# can explode on a crafted message.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,?\d*\}|\|)(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,\d*\})")


def as_yes_no(text: str) -> str:
    """A Majordomo yes/no setting, kept as written ("yes" or "no")."""
    return "yes" if as_bool(text) else "no"


def as_hashed_password(text: str) -> str:
    """admin_passwd, approve_passwd: a password hash (rights.hash_password's scrypt$...
    form); a password in clear is never kept in tristero.ini."""
    t = text.strip()
    if t and not re.fullmatch(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+", t):
        raise ValueError("this is not a password hash: a password is never kept in clear here; remove the "
                         "line and set the password by mail with 'passwd LIST old new' (or import the list)")
    return t


def as_restrict_post(text: str) -> list[str]:
    """restrict_post: names, blank- or colon-separated, each a file of addresses in the
    list's folder or the name of a list."""
    names = [n for n in re.split(r"[\s:]+", text.strip()) if n]
    for n in names:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", n):
            raise ValueError("%r is not a file in the list's folder nor a list name" % n)
    return names


def as_reply_to(text: str) -> str:
    """reply_to: empty, $LIST, $SENDER or an address."""
    t = text.strip()
    if t.upper() in ("", "$LIST", "$SENDER"):
        return t.upper()
    return as_address(t)


def as_subject_prefix(text: str) -> str:
    """subject_prefix: text, in which $LIST stands for the list's name."""
    t = text.strip()
    bad = [v for v in re.findall(r"\$\w*", t) if v.upper() != "$LIST"]
    if bad:
        raise ValueError("%s: only $LIST stands for something in a subject_prefix" % bad[0])
    return t


def as_taboo(text: str) -> list[tuple[str, bool]]:
    """taboo_headers, taboo_body: Majordomo's /regex/ or /regex/i patterns, blank-separated;
    (pattern, ignore case) each, compiled to check them: at most MAX_TABOO of at most
    MAX_TABOO_LENGTH characters, no repeated group that repeats (its matching could take
    for ever on a crafted message)."""
    t, found = text.strip(), []
    while t:
        m = re.match(r"/((?:[^/\\]|\\.)+)/(i?)(?:\s+|$)", t)
        if not m:
            raise ValueError("%r is not a /pattern/ or /pattern/i" % t[:40])
        pattern, nocase = m.group(1), bool(m.group(2))
        if len(pattern) > MAX_TABOO_LENGTH:
            raise ValueError("a pattern is longer than %d characters" % MAX_TABOO_LENGTH)
        if _NESTED_REPEAT.search(pattern):
            raise ValueError("/%s/ repeats a group that repeats itself: its matching could take for ever"
                             % pattern)
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as e:
            raise ValueError("/%s/ is not a regular expression: %s" % (pattern, e))
        found.append((pattern, nocase))
        t = t[m.end():]
    if len(found) > MAX_TABOO:
        raise ValueError("more than %d patterns" % MAX_TABOO)
    return found


def as_nonnegative(text: str) -> int:
    value = as_int(text)
    if value < 0:
        raise ValueError("%d is less than 0" % value)
    return value


# The Majordomo keys a list's section takes (see the README's table). moderate and
# moderator are read by moderation; digest_* are kept and checked (digests: DIGEST).
MAJORDOMO_KEYS = {
    "description": as_text,
    "admin_passwd": as_hashed_password,
    "approve_passwd": as_hashed_password,
    "moderate": as_yes_no,
    "moderator": as_address,
    "restrict_post": as_restrict_post,
    "subscribe_policy": as_policy,
    "unsubscribe_policy": as_policy,
    "index_access": choice(ACCESS_MODES),
    "get_access": choice(ACCESS_MODES),
    "info_access": choice(ACCESS_MODES),
    "which_access": choice(ACCESS_MODES),
    "who_access": choice(ACCESS_MODES),
    "reply_to": as_reply_to,
    "subject_prefix": as_subject_prefix,
    "maxlength": as_nonnegative,
    "taboo_headers": as_taboo,
    "taboo_body": as_taboo,
    "welcome": as_yes_no,
    "announcements": as_yes_no,
    "digest_name": as_text,
    "digest_volume": as_nonnegative,
    "digest_issue": as_nonnegative,
    "digest_maxdays": as_nonnegative,
    "digest_maxlines": as_nonnegative,
    "digest_archive": as_text,
}
# Their values when a list's section does not set them (Majordomo's defaults).
MAJORDOMO_DEFAULTS = {
    "description": "", "admin_passwd": "", "approve_passwd": "", "moderate": "no", "moderator": "",
    "restrict_post": "", "subscribe_policy": "open", "unsubscribe_policy": "open", "index_access": "open",
    "get_access": "open", "info_access": "open", "which_access": "open", "who_access": "open",
    "reply_to": "", "subject_prefix": "", "maxlength": "40000", "taboo_headers": "", "taboo_body": "",
    "welcome": "yes", "announcements": "yes", "digest_name": "", "digest_volume": "1", "digest_issue": "1",
    "digest_maxdays": "0", "digest_maxlines": "0", "digest_archive": "",
}


def majordomo_value(config: "Config", listname: str, key: str) -> Any:
    """A list's Majordomo setting (its own, else Majordomo's default), typed."""
    sec = config.sections.get(list_section(listname))
    raw = unquote(sec[key]) if sec is not None and key in sec else MAJORDOMO_DEFAULTS[key]
    return MAJORDOMO_KEYS[key](raw)


def _from_majordomo(listname: str, key: str, raw: str) -> Any:
    """The Tristero value (of key) a Majordomo setting of the list gives, or None."""
    if key == "Reply":
        value = as_reply_to(raw)
        return {"": None, "$LIST": "List", "$SENDER": "Poster"}.get(value, value)
    if key == "ForwardPrefix":
        return re.sub(r"\$LIST", lambda _: listname, as_subject_prefix(raw), flags=re.I)
    return as_policy(raw) if key == "SubscribePolicy" else as_text(raw)


# A Tristero key and the Majordomo key that stands for it when the list's section has
# only the Majordomo one.
MAJORDOMO_FOR = {"Reply": "reply_to", "ForwardPrefix": "subject_prefix", "SubscribePolicy": "subscribe_policy",
                 "Description": "description"}


# Keys a list takes from [Globals] unless its own section sets them (SET *).
LIST_DEFAULTS = {
    "Type": choice(LIST_TYPES),
    "Archive": as_archive,
    "ArchiveDays": as_int,
    "Language": as_language,
    "Reply": as_reply,
    "ForwardPrefix": as_text,
    "ForcePriority": as_priority,
    "VERP": as_bool,
    "MaxMessageSize": as_int,
    "DmarcMitigation": choice(("munge", "wrap", "always", "none")),
    "CopyMethod": as_copy_method,
    "FolderPrefix": as_extension_part,
    "FolderSuffix": as_extension_part,
    "HoldDays": as_int,
    "HoldInsteadOfDrop": as_bool,
}

SCHEMA = {
    "Globals": dict({
        "Domain": as_domain,
        "Domains": as_domains,
        "ServerName": as_text,
        "Folders": as_folder_root,
        "Language": as_language,
        "ListProcName": as_names,
        "SuperUser": as_address,
        "MaxRecipients": as_int,
        "MaxCommands": as_int,
        "CommitEvery": as_int,
        "StreamFiles": as_int,
        "QuoteChars": as_text,
        "SilentCreate": as_bool,
        "SilentAdd": as_bool,
        "AnnounceList": as_text,
        "OpenCreation": as_bool,
        "ArchiveURL": as_url,
        "UnsubscribeURL": as_unsubscribe_url,
        "WebRequestsPerMinute": as_int,
        "Nameservers": as_nameservers,
        "LogLevel": as_int,
        "LogScreen": as_int,
        "LogDays": as_int,
        "KeepDays": as_int,
        "MaxFileSize": as_int,
        "MaxReplySize": as_int,
        "MaxParts": as_int,
        "MaxReplyDaily": as_int,
        "MaxStrangerReplies": as_int,
        "MaxStrangerCommands": as_int,
        "DiskReserve": as_int,
        "BreakLoop": as_bool,
        "MaxListDepth": as_int,
    }, **LIST_DEFAULTS),
    "Security": {
        "SecurePost": as_bool,
        "InternetPolicySub": as_int,
        "CookieDays": as_int,
        "MaxSessionSubs": as_int,
        "OpenReview": as_bool,
        "OverRideSubject": as_text,
        "PreScanMode": as_prescan_mode,
        "PreScanLimit": as_int,
        "SpamCheckList": as_text,
        "SpamCheckGateways": as_domains,
        "BounceList": as_text,
        "BounceScore": as_int,
        "BounceDays": as_int,
        "TrustedAuthservIds": as_authserv_ids,
        "CreatePassword": as_text,
        "DIST_ALLOWED_USERS": as_addresses,
    },
    "Delivery": {
        "SmtpHost": as_text,
        "SmtpPort": as_int,
        "SmtpStartTLS": as_bool,
        "SmtpUser": as_text,
        "SmtpPassword": as_text,
        "SmtpTimeout": as_int,
        "Connections": as_int,
        "SendmailCommand": as_text,
        "DeliverCommand": as_text,
        "RetryDays": as_int,
    },
    "DKIM": {
        "Selector": as_selector,
        "KeyFile": as_text,
        "Domain": as_optional_domain,
        "Algorithm": choice(("rsa-sha256", "ed25519-sha256")),
    },
    "Directory": {
        "Source": as_text,
        "Uri": as_ldap_uri,
        "BaseDN": as_text,
        "Filter": as_text,
        "BindDN": as_text,
        "BindPassword": as_text,
        "StartTLS": as_bool,
        "PageSize": as_int,
        "Timeout": as_int,
        "Schema": choice(("inetOrgPerson", "ad")),
        "IdAttribute": as_text,
        "MailAttribute": as_text,
        "NameAttribute": as_text,
        "GroupAttributes": as_names,
        "MaxSyncRemovals": as_percent,
        "ExportFormat": choice(("groupOfNames", "nisMailAlias")),
        "WriteBack": as_bool,
        "AutoAllSelect": as_select,
        "AutoAllPrefix": as_text,
        "AutoAllSuffix": as_text,
        "AutoAllExclude": as_text,
        "AutoAllRemote": as_text,
        "AutoAllSMTP": as_text,
    },
}

LIST_SCHEMA = dict({
    "Owner": as_owner,
    "Shadow": as_text,
    "SubscribePolicy": as_policy,
    "Description": as_text,
    "MemberFile": as_member_file,
    "Proxy": as_address,
    "ProxySenders": as_addresses,
    "ProxyReply": as_optional_reply,
    "FolderMembers": as_names,
    "FeedFolders": as_names,
}, **LIST_DEFAULTS, **MAJORDOMO_KEYS)

# Non-negative counts, and the ones that must be at least 1.
_POSITIVE = {"MaxRecipients", "CommitEvery", "MaxCommands", "MaxFileSize", "MaxReplySize",
             "MaxMessageSize", "MaxParts", "MaxStrangerCommands", "WebRequestsPerMinute",
             "PageSize", "Timeout"}


def list_section(name: str) -> str:
    """The section name of list name."""
    return "LIST " + name


# --- reading -----------------------------------------------------------------

class _Segment:
    def __init__(self, kind, start, lines):
        self.kind = kind          # "ini" or a pattern section name
        self.start = start        # line number (1-based) of its first line
        self.lines = lines        # raw lines, without line ends
        self.obj = None           # ConfigObj for "ini" segments


_PATTERN_NAMES = {name.lower(): name for name in PATTERN_SECTIONS}


def canonical_section(name: str) -> str:
    """A section's name as the program spells it: INI section names (Windows', the
    manual's) are read without regard to case."""
    low = " ".join(name.lower().split())
    for known in list(SCHEMA) + list(PATTERN_SECTIONS):
        if low == known.lower():
            return known
    if low.startswith("list "):
        return "LIST " + name.split(None, 1)[1].strip()
    return name


def _split(lines):
    """Cut the file into segments at section headers; see the module doc."""
    segments = [_Segment("ini", 1, [])]
    for n, line in enumerate(lines, 1):
        m = _SECTION_RE.match(line)
        if m:
            kind = _PATTERN_NAMES.get(" ".join(m.group(1).lower().split()), "ini")
            if kind != "ini" or segments[-1].kind != "ini":
                segments.append(_Segment(kind, n, []))
        segments[-1].lines.append(line)
    return segments


class Config:
    """The configuration of one site: typed values, list sections, pattern sections."""

    def __init__(self, path: str, text: str, defaults: Config | None = None) -> None:
        self.path = path
        self.defaults = defaults
        self.problems = []
        self.segments = _split(text.splitlines())
        self._parse()
        self.fingerprint = None

    # Parsing is tolerant: it collects every problem, then check() decides.
    def _parse(self):
        self.patterns = {name: [] for name in PATTERN_SECTIONS}
        self.sections = {}
        for seg in self.segments:
            if seg.kind == "ini":
                try:
                    seg.obj = _configobj(seg.lines)
                except ConfigObjError as e:
                    for err in getattr(e, "errors", None) or [e]:
                        line = getattr(err, "line_number", None)
                        msg = re.sub(r" at line \d+\.?$", "", str(err)).rstrip(".")
                        self.problems.append(Problem(self.path, seg.start + line - 1 if line else None, msg))
                    seg.obj = _configobj([])
                    continue
                for key in seg.obj.scalars:
                    self.problems.append(Problem(self.path, self._line_of(seg, None, key),
                                                 "%r is outside any [section]" % key))
                for name in list(seg.obj.sections):
                    if canonical_section(name) != name and canonical_section(name) not in seg.obj:
                        seg.obj.rename(name, canonical_section(name))
                for name in seg.obj.sections:
                    self._keep_comment_spacing(seg, name)
                    if name in self.sections:
                        self.problems.append(Problem(self.path, self._line_of(seg, name, None),
                                                     "section [%s] appears twice" % name))
                    self.sections[name] = seg.obj[name]
                    for sub in seg.obj[name].sections:
                        self.problems.append(Problem(self.path, self._line_of(seg, name, None),
                                                     "nested section [[%s]] is not allowed" % sub))
            else:
                entries = self.patterns[seg.kind]
                for line in seg.lines[1:]:
                    s = line.strip()
                    if s and not s.startswith(";"):
                        entries.append(s)

    def _keep_comment_spacing(self, seg, name):
        """Remember the blanks before each inline comment, as the person typed them."""
        sec = seg.obj[name]
        for key, comment in list(sec.inline_comments.items()):
            n = self._line_of(seg, name, key) if comment else None
            if n is None:
                continue
            raw = seg.lines[n - seg.start]
            at = raw.rfind(comment.replace(_SEMI, ""))
            if at > 0:
                before = raw[:at]
                sec.inline_comments[key] = before[len(before.rstrip()):] + comment

    def _line_of(self, seg, section, key):
        """Line number of [section] or of key within it (None if not found)."""
        in_section = section is None
        for n, line in enumerate(seg.lines):
            m = _SECTION_RE.match(line)
            if m:
                if in_section and key is not None and section is not None:
                    return None
                in_section = canonical_section(m.group(1)) == section
                if in_section and key is None:
                    return seg.start + n
                continue
            if in_section and key is not None:
                k = _KEY_RE.match(line)
                if k and k.group(1).strip("\"'") == key:
                    return seg.start + n
        return None

    def reread(self, text: str) -> None:
        """Take the file's text anew (a person saved it during the run): its sections,
        values and pattern entries replace those in memory; path, defaults and the
        fingerprint of the text first read stay. Raises ConfigError, and changes
        nothing, when the new text does not read (a fatal Problem)."""
        fresh = Config(self.path, text, self.defaults)
        fatal = [p for p in fresh.check() if p.fatal]
        if fatal:
            raise ConfigError(fatal)
        self.problems, self.segments = fresh.problems, fresh.segments
        self.sections, self.patterns = fresh.sections, fresh.patterns

    def line_of(self, section: str, key: str | None = None) -> int | None:
        for seg in self.segments:
            if seg.obj is not None and section in seg.obj:
                return self._line_of(seg, section, key)
        return None

    # --- checking ---

    def check(self) -> list[Problem]:
        """Every problem in the file: syntax, unknown sections and keys, bad values."""
        problems = list(self.problems)
        numbers = {}
        for name, sec in self.sections.items():
            if name.startswith("LIST "):
                schema = LIST_SCHEMA
                listname = name[5:].strip()
                why = name_problem(listname)
                if why:
                    problems.append(Problem(self.path, self.line_of(name), "[%s]: %s" % (name, why)))
            elif name in SCHEMA:
                schema = SCHEMA[name]
            else:
                problems.append(Problem(self.path, self.line_of(name),
                                        "unknown section [%s]" % name, fatal=False))
                continue
            for key, raw in sec.items():
                if isinstance(raw, dict):
                    continue
                raw = unquote(raw)
                parse = schema.get(key)
                if parse is None:
                    problems.append(Problem(self.path, self.line_of(name, key),
                                            "unknown key %s in [%s]" % (key, name), fatal=False))
                    continue
                why = _value_problem(parse, key, raw)
                if why:
                    problems.append(Problem(self.path, self.line_of(name, key), "%s: %s" % (key, why)))
                    continue
                value = parse(raw)
                if key == "MemberFile":
                    if value in numbers:
                        problems.append(Problem(self.path, self.line_of(name, key),
                                                "MemberFile %s is also used by [%s]" % (value, numbers[value])))
                    numbers[value] = name
        su = self.raw("Globals", "SuperUser", "")
        domains = [self.raw("Globals", "Domain", "")] + self.raw("Globals", "Domains", "").split(",")
        if su and su.rpartition("@")[2].strip().lower() in [d.strip().lower() for d in domains if d.strip()]:
            problems.append(Problem(self.path, self.line_of("Globals", "SuperUser"),
                                    "SuperUser %s is an address of this site: mail for postmaster@ "
                                    "would come back to Tristero, not reach a person" % su, fatal=False))
        problems += self._check_screening()
        if "Domain" not in self.sections.get("Globals", {}) and not (
                self.defaults and "Domain" in self.defaults.sections.get("Globals", {})):
            problems.append(Problem(self.path, None, "[Globals] has no Domain"))
        return problems

    def _check_screening(self):
        """Warnings for pattern entries that cannot work and lists the filters name but lack."""
        problems = []
        for seg in self.segments:
            if seg.obj is not None:
                continue
            for n, line in enumerate(seg.lines[1:], seg.start + 1):
                s = line.strip()
                why = s and not s.startswith(";") and entry_problem(s, seg.kind == "PreScan Strings")
                if why:
                    problems.append(Problem(self.path, n, "[%s] %s: %s" % (seg.kind, s, why), fatal=False))
                elif re.match(r"#+\s+\w+\s+\w+", s):
                    # In these sections every line is an entry: "# old gateway" kills every
                    # post whose subject holds it. A comment there starts with ';'.
                    problems.append(Problem(self.path, n, "[%s] %s: this reads like a comment but is an "
                                            "entry (matched against mail); a comment here starts with ';'"
                                            % (seg.kind, s), fatal=False))
        names = [n.lower() for n in self.list_names()]
        for key in ("SpamCheckList", "BounceList"):
            value = self.raw("Security", key, "").strip()
            if value and value.lower() not in names:
                problems.append(Problem(self.path, self.line_of("Security", key),
                                        "%s %s is not a list here" % (key, value), fatal=False))
        return problems

    # --- values ---

    def get(self, section: str, key: str) -> Any:
        """The typed value of key in section, falling back to the example's default."""
        sec = self.sections.get(section)
        if sec is not None and key in sec:
            return _schema_for(section)[key](unquote(sec[key]))
        if self.defaults is not None:
            return self.defaults.get(section, key)
        raise KeyError("%s has no default for [%s] %s" % (EXAMPLE, section, key))

    def globals(self, key: str) -> Any:
        return self.get("Globals", key)

    def list_value(self, listname: str, key: str) -> Any:
        """A list's own value, or the [Globals] default for all lists (SET *)."""
        sec = self.sections.get(list_section(listname))
        if sec is not None and key in sec:
            return LIST_SCHEMA[key](unquote(sec[key]))
        if sec is not None and MAJORDOMO_FOR.get(key) in sec:
            value = _from_majordomo(listname, key, unquote(sec[MAJORDOMO_FOR[key]]))
            if value is not None:
                return value
        if key in LIST_DEFAULTS:
            return self.get("Globals", key)
        return LIST_SCHEMA[key]("")

    def raw(self, section: str, key: str, default: Any = None) -> Any:
        sec = self.sections.get(section)
        if sec is None:
            return default
        return unquote(sec.get(key, default))

    def list_names(self) -> list[str]:
        """Names of the lists, in file order."""
        return [n[5:].strip() for n in self.sections if n.startswith("LIST ")]

    # --- changing (used by state.State, which journals the changes) ---

    def set_value(self, section: str, key: str, value: str) -> None:
        """Set key in section; raises ValueError when the value would not read back
        as itself, or is not one the key takes (a change by mail must never leave
        a file that stops the site)."""
        why = value_problem(section, key, value)
        if why:
            raise ValueError("%s: %s" % (key, why))
        if section not in self.sections:
            self.add_section(section)
        self.sections[section][key] = written(value)

    def del_value(self, section: str, key: str) -> None:
        sec = self.sections.get(section)
        if sec is not None and key in sec:
            del sec[key]

    def add_section(self, section: str, values: dict[str, str] | None = None) -> None:
        seg = next((s for s in reversed(self.segments) if s.kind == "ini"), None)
        if seg is None or seg.obj is None:
            seg = _Segment("ini", 0, [])
            seg.obj = _configobj([])
            self.segments.append(seg)
        seg.obj[section] = dict(values or {})
        # A blank line before a new section, as a person would leave it.
        seg.obj.comments[section] = [""]
        self.sections[section] = seg.obj[section]

    def del_section(self, section: str) -> None:
        for seg in self.segments:
            if seg.obj is not None and section in seg.obj:
                del seg.obj[section]
        self.sections.pop(section, None)

    def set_patterns(self, name: str, entries: Iterable[str]) -> None:
        """Replace the entries of a pattern section where they stand, keeping comments."""
        self.patterns[name] = list(entries)
        seg = next((s for s in self.segments if s.kind == name), None)
        if seg is None:
            # A new section: its header first (as in a section read from the file),
            # after a blank line (render writes it: start 0 marks a section not read).
            self.segments.append(_Segment(name, 0, ["[%s]" % name] + list(entries)))
            return
        body = seg.lines[1:]
        is_entry = [bool(l.strip()) and not l.strip().startswith(";") for l in body]
        if any(is_entry):
            at = is_entry.index(True)
        else:
            # After the comments that follow the header directly.
            at = 0
            while at < len(body) and body[at].strip():
                at += 1
        kept = [l for l, e in zip(body, is_entry) if not e]
        before = sum(1 for e in is_entry[:at] if not e)
        seg.lines = [seg.lines[0]] + kept[:before] + list(entries) + kept[before:]

    def render(self) -> str:
        """The file's text, with every segment written back in place."""
        out = []
        for seg in self.segments:
            if seg.obj is not None:
                # An empty value reads "Key =", as a person writes it.
                out.extend((l[:-1] if l.endswith(" = ") else l).replace(_SEMI, "") for l in seg.obj.write())
            else:
                out.extend(([""] if seg.start == 0 else []) + seg.lines)
        return "\n".join(out) + "\n"


_RANGES = {"InternetPolicySub": (0, 2), "PreScanMode": (0, 3), "LogLevel": (0, 3), "LogScreen": (0, 3),
           "Connections": (1, 100)}


def _value_problem(parse, key, raw):
    """Why raw is not a value of key (parsed by parse), or None."""
    try:
        value = parse(raw)
    except ValueError as e:
        return str(e)
    if parse is as_int:
        low, high = _RANGES.get(key, (1 if key in _POSITIVE else 0, None))
        if value < low or (high is not None and value > high):
            return "%d is out of range (%d%s)" % (value, low, " to %d" % high if high is not None else " or more")
    return None


def value_problem(section: str, key: str, value: str) -> str | None:
    """Why value cannot be written as key in section, or None: it must read back as
    itself (no line breaks, quotes or '#' that the INI syntax would take) and be a
    value the key takes."""
    why = fields.problem(value)
    if why:
        return why
    if _SEMI[1:] in value:
        return "%r holds U+E000, which tristero.ini keeps for comments" % value
    obj = None
    try:
        obj = _configobj(["[x]", "%s = %s" % (key, written(value))])
    except ConfigObjError:
        pass
    if "\n" in value or "\r" in value or obj is None or unquote(obj.get("x", {}).get(key)) != value:
        return "%r cannot be written in tristero.ini as it is (line breaks, or quotes with ' ;' or ' #')" % value
    parse = _schema_for(section).get(key)
    return _value_problem(parse, key, value) if parse else None


# configobj knows only '#' comments; a ';' comment (the Windows INI habit, and the
# manual's) goes through it as a '#' comment carrying this mark, taken off again
# when the file is written (render), so that it comes back as the person wrote it.
_SEMI = "#\ue000"


def _semicolons(line):
    """line with its ';' comment, if any, turned into a marked '#' comment for configobj."""
    content, comment = split_comment(line)
    if comment.lstrip().startswith(";"):
        at = len(comment) - len(comment.lstrip())
        return content + comment[:at] + _SEMI + comment[at:]
    return line


def split_comment(line: str) -> tuple[str, str]:
    """(content, comment) of an ini line: a whole-line comment starts with ';' or '#'
    (after blanks); an inline one is " ;" or " #" after a value that is not in
    quotes, kept with the blanks before it."""
    if line.lstrip().startswith((";", "#")):
        return "", line
    m = _KEY_RE.match(line)
    start = m.end() if m else 0
    value = line[start:].lstrip()
    skip = start + len(line[start:]) - len(value)
    if value[:1] in ("'", '"'):
        close = value.find(value[0], 1)
        skip += close + 1 if close > 0 else len(value)
    at = re.search(r"[ \t][;#]", line[skip:]) if skip < len(line) else None
    if at is None:
        return line, ""
    cut = len(line[:skip + at.start() + 1].rstrip(" \t"))
    return line[:cut], line[cut:]


def unquote(value: Any) -> Any:
    """A value as meant: a value in matching quotes (how one holding " ;" or " #" is
    written) without them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def written(value: str) -> str:
    """value as tristero.ini holds it: in double quotes when it would otherwise read
    differently (a " ;" or " #" in it, quotes around it, blanks at its ends)."""
    if (re.search(r"[ \t][;#]", value) or value != value.strip() or unquote(value) != value) \
            and '"' not in value:
        return '"%s"' % value
    return value


def _configobj(lines):
    obj = ConfigObj([_semicolons(l) for l in lines], list_values=False, interpolation=False,
                    write_empty_values=True, raise_errors=False, file_error=False)
    # configobj glues an inline comment to the value ("x# note"): give back the
    # blanks the person typed (see _keep_comment_spacing), or one.
    obj._handle_comment = lambda c: "" if not c else c if c[:1].isspace() else " " + c
    return obj


def _schema_for(section):
    if section.startswith("LIST "):
        return LIST_SCHEMA
    return SCHEMA.get(section, {})


def load_defaults(path: str = EXAMPLE) -> Config:
    """The example configuration, whose values are the defaults."""
    with open(path, encoding="utf-8") as f:
        cfg = Config(path, f.read())
    problems = [p for p in cfg.check() if p.fatal]
    if problems:
        raise ConfigError(problems)
    return cfg


def read_text(path: str) -> str:
    """The file's text; undecodable bytes are a Problem, not a traceback."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ConfigError([Problem(path, line, "not UTF-8 text (byte 0x%02x)" % data[e.start])])


def load(home: str, create: bool = True) -> Config:
    """Read and check home/tristero.ini; raise ConfigError if it cannot be used.

    A missing file starts from the example (and is written, when create).
    """
    defaults = load_defaults()
    path = os.path.join(home, "tristero.ini")
    if not os.path.exists(path):
        with open(EXAMPLE, encoding="utf-8") as f:
            text = f.read()
        if create:
            durable.atomic_write(path, text.encode("utf-8"))
    else:
        text = read_text(path)
    cfg = Config(path, text, defaults)
    cfg.fingerprint = durable.fingerprint(path)
    fatal = [p for p in cfg.check() if p.fatal]
    if fatal:
        raise ConfigError(fatal)
    return cfg
