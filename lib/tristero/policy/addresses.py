"""The addresses of the site: which handler each local part reaches, and the X-Loop
marks a message carries.

Checked in this order, the first that matches wins:
postmaster, administrator -> SuperUser (even when ListProcName names them);
robot names (ListProcName) -> robot;
a list's own address -> post; cgi and cgi?PARAMETERS (a web form) -> robot; then the suffixes, only for a list that does
not itself end that way: list-request (and list-l-request for a '-l' list)
-> robot with the list filled in; list-merge -> a mail merge; list-owner, owner-list -> the owner
(delivery reports to owner-list are bounces); list-approval -> the owner;
anything else -> a reply saying the address is unknown.
"""

from __future__ import annotations

import collections

from tristero.core import messages
from tristero.core.kinds import Handler
from tristero.model import lists
from tristero.model.config import Config

PEOPLE = ("postmaster", "administrator")


def loop_marks(m) -> collections.Counter[str]:
    """How often each address stands in the message's X-Loop headers."""
    found = collections.Counter()
    # As written, cut: each is a few addresses, and parsing a long field costs its square.
    values = [str(raw)[:messages.HEADER_LIMIT] for key, raw in m.msg.raw_items() if key.lower() == "x-loop"]
    for value in values:
        for word in messages.clean(value).replace(",", " ").split():
            found[word.strip("<>").lower()] += 1
    return found


def resolve(config: Config, local: str) -> tuple[Handler, str | None]:
    """(Handler, list name or None) for a local part of the site."""
    lp = local.lower()
    # Before the robot's names: the manual's ListProcName had Postmaster and
    # Administrator in it, and a site that copies it must still reach a person.
    if lp in PEOPLE:
        return Handler.SUPERUSER, None
    if lp in [n.lower() for n in config.globals("ListProcName")]:
        return Handler.ROBOT, None
    name = lists.by_local(config, lp)
    if name:
        return Handler.POST, name
    if lp == "cgi" or lp.startswith("cgi?"):
        return Handler.ROBOT, None      # a web form by mail (mail.webform)
    for suffix, handler in (("-request", Handler.ROBOT), ("-owner", Handler.OWNER),
                            ("-approval", Handler.APPROVAL), ("-merge", Handler.MERGE)):
        if lp.endswith(suffix):
            base = lp[:-len(suffix)]
            name = lists.by_local(config, base) or (
                suffix == "-request" and lists.by_local(config, base + "-l"))
            if name:
                return handler, name
    if lp.startswith("owner-"):
        name = lists.by_local(config, lp[6:].split("+", 1)[0])
        if name:
            return Handler.BOUNCES, name
    return Handler.UNKNOWN, None
