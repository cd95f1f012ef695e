"""One-click unsubscription links (RFC 8058): a URL per recipient that carries its own proof.

The link is ``UnsubscribeURL`` with three query parameters: ``list``, ``address`` and
``token``, a cookie (see cookies.py) for the function ONECLICK on that list and
address, valid ``DAYS`` days. Nothing is stored: the web endpoint checks the token
with the site's key and writes an UNSUBSCRIBE command mail into the inbound spool.
"""

from __future__ import annotations

import datetime
from urllib.parse import parse_qs, urlencode

from tristero.model import cookies

FUNCTION = "ONECLICK"
DAYS = 60


def link(base: str, secret: bytes, listname: str, address: str, today: datetime.date) -> str:
    """The one-click URL for address on listname (base: the site's UnsubscribeURL)."""
    token = cookies.bake(secret, FUNCTION, listname, address, today + datetime.timedelta(days=DAYS))
    query = urlencode({"list": listname, "address": address, "token": token})
    return base + ("&" if "?" in base else "?") + query


def check(secret: bytes, query: str, today: datetime.date) -> tuple[str, str] | None:
    """(list, address) when the query string of a link holds a valid, unexpired token."""
    try:
        q = parse_qs(query, strict_parsing=True, max_num_fields=10)
    except ValueError:
        return None
    values = [q.get(k, []) for k in ("list", "address", "token")]
    if any(len(v) != 1 for v in values):
        return None
    listname, address, token = (v[0] for v in values)
    if cookies.valid(secret, token, FUNCTION, listname, address, today):
        return listname, address
    return None
