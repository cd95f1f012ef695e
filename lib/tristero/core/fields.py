"""Fields of the site's text files: what a value must be before it is written.

tristero.ini, the member files and access.ini are UTF-8 text, one entry per
line. A value holding a lone surrogate cannot be encoded, so its commit would
fail; a line break or a control character changes the file's lines when it is
read back (Python splits lines at \\v, \\f, \\x1c-\\x1e, \\x85, U+2028 too), or
the terminal of the person who reads it. Such a value is refused where it is
accepted, with the reason.
"""

from __future__ import annotations

import re

_BAD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def problem(value: str) -> str | None:
    """Why value cannot be written as a field of one line of a site file, or None."""
    found = _BAD.search(value)
    if found is None:
        return None
    ch = found.group()
    if "\ud800" <= ch <= "\udfff":
        return "it holds U+%04X, a lone surrogate, which is not text and cannot be written" % ord(ch)
    return "it holds a control character or line break (U+%04X)" % ord(ch)
