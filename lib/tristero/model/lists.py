"""Lists: names, numbers, and the addresses a list answers at."""

from __future__ import annotations

import os
import re

from tristero.model.site import Site

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]*")
MAX_NAME = 64


def name_problem(name: str) -> str | None:
    """Why name cannot be a list name, or None when it can."""
    if not name:
        return "a list name may not be empty"
    if len(name) > MAX_NAME:
        return "a list name may have at most %d characters" % MAX_NAME
    if not _NAME_RE.fullmatch(name) or name.endswith(" "):
        return ("a list name is letters, digits, '.', '_', '-' and spaces, "
                "beginning with a letter or digit")
    if ".." in name:
        return "a list name may not contain '..'"
    return None


def local_part(name: str) -> str:
    """The local part of a list's address: its name, lower case, spaces as '_'."""
    return name.lower().replace(" ", "_")


def section(name: str) -> str:
    return "LIST " + name


def find(config, name: str) -> str | None:
    """The list called name (case ignored), as the configuration spells it, or None.

    A list is also found by the local part of its address ("my_list" for the
    list "My List"), which is how LISTS shows it.
    """
    want = name.lower()
    for n in config.list_names():
        if n.lower() == want:
            return n
    return by_local(config, want)


def by_local(config, local: str) -> str | None:
    """The list whose address has this local part, or None."""
    want = local.lower()
    for n in config.list_names():
        if local_part(n) == want:
            return n
    return None


def number(config, name: str) -> str | None:
    """The list's 8-digit number (its member file and archive folder)."""
    return config.raw(section(name), "MemberFile")


def owner(config, name: str) -> str:
    """The address that answers for the list: its Owner, or the SuperUser when it has
    none or is kept by the directory (Owner = ADE)."""
    value = config.raw(section(name), "Owner") or ""
    if value.strip().upper() == "ADE":
        value = ""
    return value or config.globals("SuperUser")


def address(config, name: str) -> str:
    return "%s@%s" % (local_part(name), config.globals("Domain"))


def next_number(config, site: Site) -> str:
    """A number no list, member file or archive folder uses (numbers are never reused)."""
    used = {0}
    for n in config.list_names():
        num = number(config, n)
        if num:
            used.add(int(num))
    for folder in (site.lists, site.archive):
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for f in names:
            stem = f.split(".", 1)[0]
            if len(stem) == 8 and stem.isdigit():
                used.add(int(stem))
    return "%08d" % (max(used) + 1)


def hidden(config, name: str) -> bool:
    """Internal and Hidden lists are not shown by LISTS."""
    return config.list_value(name, "Type") in ("Internal", "Hidden")
