"""Cookies: 32-character codes that let one user do one function on one list for a while.

A cookie is its expiry day and a keyed MAC (HMAC-SHA256 with the site's secret
key in ``tristero.key``) of function, list, user and that day: nothing needs
storing, nothing can be guessed, and a cookie for one user, list or function
is worth nothing for another. ``*`` stands for any of them (BAKE's wildcards).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import os
import secrets

from tristero.model.site import Site

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
EPOCH = datetime.date(2000, 1, 1)
DAY_CHARS = 4
LENGTH = 32


def key_path(site: Site) -> str:
    return os.path.join(site.home, "tristero.key")


def key(site: Site) -> bytes:
    """The site's secret (created, readable by its owner only, on first use)."""
    path = key_path(site)
    try:
        with open(path, "rb") as f:
            data = f.read()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(32)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)
    return data


def existing_key(site: Site) -> bytes | None:
    """The site's secret when it exists, else None (for a reader that must write nothing:
    no cookie it could check has been made yet)."""
    try:
        with open(key_path(site), "rb") as f:
            data = f.read(4096)
    except FileNotFoundError:
        return None
    return data if len(data) >= 32 else None


def _encode(number, width):
    chars = []
    for _ in range(width):
        number, r = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "".join(reversed(chars))


def _decode(text):
    n = 0
    for c in text:
        n = n * len(ALPHABET) + ALPHABET.index(c)
    return n


def _mac(secret, day, function, listname, user):
    msg = "\0".join((str(day), function.upper(), listname.lower(), user.lower())).encode("utf-8")
    digest = int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest(), "big")
    return _encode(digest, LENGTH - DAY_CHARS)


def bake(secret: bytes, function: str, listname: str, user: str, expires: datetime.date) -> str:
    """A cookie for function on listname by user, valid to the end of date expires."""
    day = (expires - EPOCH).days
    return _encode(day, DAY_CHARS) + _mac(secret, day, function, listname, user)


def valid(secret: bytes, code: str, function: str, listname: str, user: str, today: datetime.date,
          exact: bool = False) -> bool:
    """Is code a cookie, not expired on today, for this function, list and user? exact:
    only a cookie baked for exactly these (a moderator's key: not one for "*", which a
    mail merge's %%K is)."""
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return False
    day = _decode(code[:DAY_CHARS])
    if (today - EPOCH).days > day:
        return False
    wild = () if exact else ("*",)
    for f in (function,) + wild:
        for l in (listname,) + wild:
            for u in (user,) + wild:
                if hmac.compare_digest(code[DAY_CHARS:], _mac(secret, day, f, l, u)):
                    return True
    return False
