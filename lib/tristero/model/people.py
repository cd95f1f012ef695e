"""People of the organisation's directory, as every directory source gives them.

A directory source (an LDIF file, a CSV file, a live LDAP server) yields ``Person``
records; the synchronisation works on these alone, whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Person:
    """One person: a stable id (so that a changed address is a rename, not a leaver and
    a joiner), the mail address, the display name, and the grouping attributes
    (department, office, ...: lower-case attribute name -> values)."""

    id: str
    address: str
    name: str = ""
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        """The address's domain: the manual's "post office"."""
        return self.address.rpartition("@")[2].lower()


class DirectoryError(Exception):
    """A directory that could not be read whole (a broken line, a duplicate id, a
    server that refused): its text names the place (file:line) or the server's answer.
    A synchronisation that meets one changes nothing."""
