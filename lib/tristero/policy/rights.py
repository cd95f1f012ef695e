"""Rights: may this address do this to this list? One function answers; everything asks.

A person's rights on a list are the manual's flags (see access.FLAGS), the
union of what these give: SuperUser (tristero.ini), ListOwner (the list's
Owner), the list type's security profile for members and for everyone else
(manual: "Security Profiles for Each List"), and every rule of access.ini that
matches the address and the list. An ``X`` in any matching rule takes that
right away whatever gave it; Barred takes all (never from the SuperUser). A
Free list ignores access.ini; ``SecurePost = 0`` ignores it for posts only.
``OpenReview = N`` withholds review (R) from non-members. An author read from
a message's text proves nothing and holds what a stranger holds (unproven).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Collection

from tristero.core import text
from tristero.model import access, audit, lists, lockouts
from tristero.model.access import Rule
from tristero.model.config import Config, majordomo_value
from tristero.model.members import address_key
from tristero.model.state import State

ALL = frozenset(access.FLAGS)

# Type: (profile of everyone else, profile of members). Moderated lists give
# members of LIST-approval the Member profile. Executable lists: the manual's
# FTP profile for members contradicts its upload table ("None"); members get
# what the text says they do: receive files (D), search, index, and send (W).
PROFILES = {
    "Open":         ("Member", "Member"),
    "Free":         ("Member", "Member"),
    "Internal":     ("Member", "Member"),
    "Closed":       ("None", "Member"),
    "Hidden":       ("None", "Member"),
    "Moderated":    ("Recipient", "Recipient"),
    "Subscription": ("Subscriber", "Member"),
    "Approval":     ("Poster", "Member"),
    "Distribution": ("Distribution", "Distribution"),
    "Executable":   ("None", "CDGI-------W"),
    "Passive":      ("None", "None"),
    "Broadcast":    ("Recipient", "Recipient"),
}

# Action -> the flag it needs (manual: "Custom rights").
ACTIONS = {
    "robot": "C", "download": "D", "search": "G", "index": "I", "upload": "U",
    "subscribe": "M", "options": "O", "review": "R", "post": "W",
    "manage": "L", "postmaster": "P", "superuser": "S",
}
# The file actions (manual: "post rights imply upload rights and subscribe
# rights imply download, search and index rights", as the profiles give them).
# Asked with no list they concern the default archive, archive/00000000, "the
# equivalent of an Open list archive, with owner set to SuperUser".
FILE_ACTIONS = {"download": "D", "search": "G", "index": "I", "upload": "U"}
# A higher privilege includes the lower ones.
_IMPLIED = {"L": "LPS", "P": "PS", "S": "S"}
# Once a password is set for someone, these need it (manual: "Passwords").
PASSWORDED = {"manage", "postmaster", "superuser", "upload", "delete"}


# The manual lets anyone upload to Open, Approval and Distribution lists. Here
# uploads need membership (or a GRANT): a file a stranger puts in a folder could
# be fetched (FETCH, GET) by forged addresses, making the site mail anyone
# whatever the stranger wrote.
NO_STRANGER_UPLOADS = {"U"}


# An author read from a From: line in the text (pipeline.identify_author: the From
# field held no address at all) is proven by nothing: it holds what a stranger
# holds (the list type's profile for non-members, and the rules of access.ini
# for everyone), never these: no privilege, no membership change, no upload.
UNPROVEN_NEVER = frozenset("LMOPSU")
UNPROVEN_ACTIONS = {"manage", "postmaster", "superuser", "create", "delete", "subscribe", "options", "upload"}

# The refusals callers tell apart, by the key of their text (Refusal.key): a site may
# reword a text, so its words are never compared.
UNPROVEN_AUTHOR = "rights.unproven"
WRONG_PASSWORD = "rights.password-wrong"
EARLIER_WRONG = "rights.password-earlier"
PASSWORD_NEEDED = "rights.password-needed"
BARRED = "rights.barred"


class Refusal(str):
    """Why something is refused, in the words of the reader's language; key is the
    text it was made from."""

    def __new__(cls, words, key):
        self = super().__new__(cls, words)
        self.key = key
        return self


class Locked(Refusal):
    """A refusal because a password is locked (lockouts): audited, and the SuperUser,
    told once when the lock began, is not told again for each refusal."""


def refusal(ctx, who, key, kind=Refusal, **fields):
    """The Refusal of the text key for who (its reader), its fields filled in."""
    return kind(ctx.text(key, who, **fields), key)


def unproven(ctx, who: str) -> bool:
    """True when who is the author of the message being processed, read from its text."""
    author = getattr(ctx, "unproven", None)
    return bool(author) and address_key(author) == address_key(who)


def is_superuser(config: Config, who: str) -> bool:
    su = config.globals("SuperUser")
    return bool(su) and address_key(su) == address_key(who)


def is_owner(config: Config, who: str, listname: str) -> bool:
    owner = config.raw(lists.section(listname), "Owner") or ""
    return bool(owner) and address_key(owner) == address_key(who)


def is_member(state: State, config: Config, who: str, listname: str) -> bool:
    return state.has_member(lists.number(config, listname), who)


def member(ctx, who: str, listname: str) -> bool:
    """Is who a member of listname, as far as rights go (an unproven author is not)?"""
    return not unproven(ctx, who) and is_member(ctx.state, ctx.config, who, listname)


def _profile(name):
    return access.parse_status(name)[0]


def flags(ctx, who: str, listname: str | None = None, action: str | None = None) -> set[str]:
    """The set of flags who holds on listname (None: site-wide rights)."""
    granted = flags_without_rules(ctx, who, listname)
    if listname is None and action in FILE_ACTIONS:
        # The default archive is "the equivalent of an Open list archive"
        # (manual), uploads aside (see NO_STRANGER_UPLOADS).
        granted |= _profile(PROFILES["Open"][0]) & set(FILE_ACTIONS.values()) - NO_STRANGER_UPLOADS
    cfg = ctx.config
    kind = cfg.list_value(listname, "Type") if listname is not None else None
    if kind != "Free" and not (action == "post" and not cfg.get("Security", "SecurePost")):
        ruled, masked = rule_flags(ctx, who, listname)
        granted = (granted | ruled) - masked
    if unproven(ctx, who):
        granted -= UNPROVEN_NEVER
    return granted


def flags_without_rules(ctx, who: str, listname: str | None = None) -> set[str]:
    """The flags SuperUser, ownership, membership and the list type give who."""
    cfg = ctx.config
    # Everyone may talk to the robot (the None profile) unless a rule bars them.
    granted = set(_profile("None"))
    proven = not unproven(ctx, who)
    if proven and is_superuser(cfg, who):
        granted |= ALL
    if listname is not None:
        kind = cfg.list_value(listname, "Type")
        if proven and is_owner(cfg, who, listname):
            granted |= _profile("ListOwner")
        is_in = member(ctx, who, listname)
        profile = PROFILES[kind][1 if is_in else 0]
        moderator = False
        if kind == "Moderated":
            approval = lists.find(cfg, listname + "-approval")
            moderator = bool(approval) and member(ctx, who, approval)
            if moderator:
                profile = "Member"
        withheld = set() if is_in else set(NO_STRANGER_UPLOADS)
        if not (is_in or moderator or cfg.get("Security", "OpenReview")):
            # Rosters are for members (OpenReview = N): MEMBERS would hand a stranger
            # every address of the list (spam, guessed VERP addresses).
            withheld.add("R")
        granted |= _profile(profile) - withheld
    return granted


def rule_flags(ctx, who: str, listname: str | None) -> tuple[set[str], set[str]]:
    """(granted, masked) by the rules of access.ini that match who and listname."""
    granted, masked = set(), set()
    superuser = is_superuser(ctx.config, who) and not unproven(ctx, who)
    everyone_only = unproven(ctx, who)
    for rule in ctx.state.access():
        if rule.priority(who, listname) is not None:
            if not everyone_only or rule.user in ("*", "*@*"):
                granted |= rule.granted
            # No rule, broken by hand or a wildcard (GRANT Barred TO *@...), takes a
            # right from the SuperUser: the one who repairs the rules by mail.
            if not superuser:
                masked |= rule.masked
    return granted, masked


def posts_closed(kind: str) -> bool:
    """True when a list type lets only the privileged post (List-Post: NO)."""
    return not any("W" in _profile(p) for p in PROFILES[kind])


def has(held: Collection[str], flag: str) -> bool:
    return any(f in held for f in _IMPLIED.get(flag, flag))


def may(ctx, who: str, action: str, listname: str | None = None, password: str | None = None) -> tuple[bool, str]:
    """(allowed, reason) for who doing action (to listname), the password given or not."""
    cfg = ctx.config
    if action in UNPROVEN_ACTIONS and unproven(ctx, who):
        return False, refusal(ctx, who, UNPROVEN_AUTHOR)
    if action == "create":
        if cfg.globals("OpenCreation"):
            return True, "OpenCreation"
        # "... or users assigned ListOwner privileges for the list name" (manual).
        action = "postmaster"
        granted, masked = rule_flags(ctx, who, listname)
        held = flags(ctx, who, None) | ({"P"} if "L" in granted - masked else set())
    else:
        held = flags(ctx, who, listname, action)
    need = ACTIONS["manage" if action == "delete" else action]
    if need not in "PS" and list_password(ctx, listname, password, who):
        return True, "the list's password (Majordomo's approve)"
    if not has(held, need):
        return False, _refusal(ctx, who, action, listname, held)
    if action in PASSWORDED:
        why = password_refusal(ctx, who, password)
        if why:
            return False, why
    return True, _grounds(ctx, who, listname, need)


def _grounds(ctx, who, listname, need):
    cfg = ctx.config
    proven = not unproven(ctx, who)
    if proven and is_superuser(cfg, who):
        return "SuperUser"
    if listname is not None:
        if need in "LPS" and proven and is_owner(cfg, who, listname):
            return "ListOwner"
        return "%s (%s list)" % (access.flag_string(flags(ctx, who, listname)), cfg.list_value(listname, "Type"))
    return access.flag_string(flags(ctx, who, None))


def _refusal(ctx, who, action, listname, held):
    """Why an action is refused (a Refusal), in the list type's words where they explain it."""
    if "C" not in held:
        return refusal(ctx, who, BARRED)
    need = ACTIONS["manage" if action == "delete" else action]
    if listname is not None:
        kind = ctx.config.list_value(listname, "Type")
        typed = dict(list=listname, a=_a(kind), type=kind)
        if need in flags_without_rules(ctx, who, listname):
            return refusal(ctx, who, "rights.taken-away", flag=need, list=listname)
        if action == "post":
            if kind == "Moderated":
                return refusal(ctx, who, "rights.moderated", list=listname)
            if kind in ("Closed", "Subscription", "Hidden", "Executable"):
                return refusal(ctx, who, "rights.members-only", **typed)
            return refusal(ctx, who, "rights.no-posts", **typed)
        if action == "subscribe":
            return refusal(ctx, who, "rights.closed", **typed)
        if action == "review":
            return refusal(ctx, who, "rights.members-only", **typed)
    only = {"L": "rights.only-owner", "P": "rights.only-postmaster", "S": "rights.only-superuser"}
    if need in only:
        return refusal(ctx, who, only[need])
    if listname:
        return refusal(ctx, who, "rights.lacking-on", list=listname, flag=need)
    return refusal(ctx, who, "rights.lacking", flag=need)


def _a(word):
    """The English article of word (the field {a} of the texts that name a list's type)."""
    return "an" if word[:1] in "AEIOU" else "a"


def privileged(ctx, who: str, listname: str | None = None, password: str | None = None) -> bool:
    """ListOwner (of listname), PostMaster or SuperUser; or, for listname, whoever gives
    its Majordomo password (password: the one the command gave)."""
    return has(flags(ctx, who, listname), "L" if listname else "P") or list_password(ctx, listname, password, who)


def list_password(ctx, listname: str | None, password: str | None, who: str | None = None,
                  keys: tuple[str, ...] = ("admin_passwd", "approve_passwd")) -> bool:
    """Is password the list's Majordomo admin_passwd or approve_passwd (keys; each kept
    hashed)? Either makes whoever gives it the list's owner for the command (approve PW
    ...). A wrong one that is not who's own password either counts against the list's
    password as a wrong personal one does (lockouts, under the user "list:NAME"): a locked
    list password, or one given wrong earlier in the message, is not tried."""
    if not listname or not password or getattr(ctx, "unproven", None):
        return False
    stored = [v for v in (majordomo_value(ctx.config, listname, k) for k in keys) if v]
    if not stored:
        return False
    user = "list:" + listname.lower()
    if user in ctx.password_failed or lockouts.locked_until(ctx, user) is not None:
        return False
    if any(verify(password, v) for v in stored):
        return True
    own = password_rule(ctx, who) if who else None
    if own is None or not verify(password, own.password):
        ctx.password_failed.add(user)
        if lockouts.failed(ctx, user) is not None:
            audit.security(ctx, who or "", listname, "list password", "locked: more than %d wrong passwords "
                           "within an hour" % lockouts.LIMIT)
    return False


def sees(ctx, who: str, listname: str) -> bool:
    """May who learn that listname exists? A Hidden list is, to whoever holds no right on
    it beyond the robot's answer (a member, its owner, the privileged, a GRANT), a list
    that does not exist."""
    if ctx.config.list_value(listname, "Type") != "Hidden":
        return True
    return bool(flags(ctx, who, listname) - {"C"})


def open_to_strangers(config: Config, listname: str) -> bool:
    """May anyone ask to join listname (the web endpoint's subscribe forms, WEBSUBSCRIBE)?
    Its type gives everyone else the subscribe right (M), LISTS shows it (not Internal
    nor Hidden) and its SubscribePolicy is not closed. access.ini's rules still apply to
    each address when the batch runs the request."""
    kind = config.list_value(listname, "Type")
    return ("M" in _profile(PROFILES[kind][0]) and not lists.hidden(config, listname)
            and not config.list_value(listname, "SubscribePolicy").startswith("closed"))


# --- passwords ---------------------------------------------------------------------

# New passwords: 8 or more (the manual's 4 fall to guessing); those set before still work.
_PASSWORD_RE = re.compile(r"[A-Za-z0-9]{8,64}")
_N, _R, _P = 2 ** 14, 8, 1



def password_problem(pw: str | None) -> text.Text | None:
    """Why pw cannot be a new password (a text.Text), or None."""
    if not _PASSWORD_RE.fullmatch(pw or ""):
        return text.Text("rights.password-form")
    return None


def password_refusal(ctx, who: str, password: str | None) -> str | None:
    """None when who may use what a password guards: none is set for who, or password
    is it. Otherwise why not (a Refusal); a wrong password counts against the password (lockouts),
    and after one the message's other privileged acts are not tried (ctx.password_failed)."""
    rule = password_rule(ctx, who)
    if rule is None:
        return None
    if unproven(ctx, who):
        return refusal(ctx, who, UNPROVEN_AUTHOR)
    user = rule.user.lower()
    until = lockouts.locked_until(ctx, user)
    if until is not None:
        return refusal(ctx, who, "rights.password-locked", Locked, user=rule.user,
                       until=until.strftime("%Y-%m-%d %H:%M:%S"), limit=lockouts.LIMIT)
    if user in ctx.password_failed:
        return refusal(ctx, who, EARLIER_WRONG)
    if not password:
        return refusal(ctx, who, PASSWORD_NEEDED, address=who)
    if verify(password, rule.password):
        return None
    ctx.password_failed.add(user)
    started = lockouts.failed(ctx, user)
    if started is not None:
        result = "locked until %s: more than %d wrong passwords within an hour" % (
            started.strftime("%Y-%m-%d %H:%M:%S"), lockouts.LIMIT)
        audit.security(ctx, who, None, "PASSWORD of %s" % rule.user, result)
        superuser = ctx.config.globals("SuperUser")
        ctx.notify(ctx.text("rights.lock-notice.subject", superuser, user=rule.user),
                   ctx.text("rights.lock-notice", superuser, user=rule.user, limit=lockouts.LIMIT, address=who,
                            until=started.strftime("%Y-%m-%d %H:%M:%S")) + "\n")
    return refusal(ctx, who, WRONG_PASSWORD)


def hash_password(pw: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of pw, as stored in access.ini."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pw.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")
    return "scrypt$%d$%d$%d$%s$%s" % (_N, _R, _P, b64(salt), b64(digest))


def verify(pw: str, stored: str) -> bool:
    """Does pw match the stored hash? (constant time; a malformed hash never matches)"""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        unb64 = lambda s: base64.b64decode(s + "=" * (-len(s) % 4))
        want = unb64(digest)
        got = hashlib.scrypt(pw.encode(), salt=unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def password_of(ctx, who: str) -> str | None:
    """The stored password hash that applies to who (the most specific rule with one)."""
    rule = password_rule(ctx, who)
    return rule.password if rule else None


def password_rule(ctx, who: str) -> Rule | None:
    """The rule of access.ini whose password applies to who (the most specific with one), or None."""
    best = None
    for rule in ctx.state.access():
        if rule.password and access.user_matches(rule.user, who):
            rank = 0 if "*" not in rule.user else 2 if rule.user not in ("*", "*@*") else 4
            if best is None or rank < best[0]:
                best = (rank, rule)
    return best[1] if best else None
