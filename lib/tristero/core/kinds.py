"""Kinds of things that pass between the stages of the batch.

The kinds are Enums whose members are strings (``Handler.POST == "post"``), printed
as their value, so that a log line or a comparison with the old string reads the same.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class _Kind(str, enum.Enum):
    """A kind: a string Enum that prints as its value."""

    __str__ = str.__str__
    __format__ = str.__format__


class Fate(_Kind):
    """How a message's journey ended (Disposition.kind)."""

    DONE = "done"
    DROPPED = "dropped"
    FAILED = "failed"


class Status(_Kind):
    """A command's result (Session.result): its line starts with the upper case."""

    OK = "ok"
    HELD = "held"          # passed to a person
    REFUSED = "refused"
    ERROR = "error"


class Handler(_Kind):
    """Who takes mail to an address of the site (policy.addresses.resolve, mail.routing)."""

    ROBOT = "robot"
    POST = "post"
    MERGE = "merge"        # LIST-merge@: a post personalised per member (mail.merge)
    OWNER = "owner"
    APPROVAL = "approval"
    BOUNCES = "bounces"
    SUPERUSER = "superuser"
    UNKNOWN = "unknown"
    FILTERED = "filtered"  # screening dropped this copy (only in Inbound.redirects)


class AutoReason(_Kind):
    """Why a message is automatic mail, which a robot must never answer (RFC 3834)."""

    AUTO_SUBMITTED = "Auto-Submitted"
    PRECEDENCE = "Precedence"
    NULL_SENDER = "empty Return-Path"
    MAILER_DAEMON = "from MAILER-DAEMON"
    REPORT = "delivery report"
    LIST = "mail from a list (List-Id)"
    OWN = "the site's own mail"    # come back to it (mail.screening.own_mail)


@dataclass(frozen=True)
class Automatic:
    """Why a message is automatic mail (Inbound.automatic): the reason, and what the
    message said (the header's value; for the site's own mail, the whole why)."""

    reason: AutoReason
    detail: str = ""

    def __str__(self) -> str:
        """The wording of the log: "Auto-Submitted: auto-replied", "delivery report"."""
        if self.reason is AutoReason.OWN:
            return self.detail
        return "%s: %s" % (self.reason.value, self.detail) if self.detail else self.reason.value


@dataclass
class Disposition:
    """How a message's journey ended: kind is done, dropped or failed (a Fate; a string
    given is read as one); action what was done, rule what decided it."""

    kind: Fate
    action: str
    rule: str

    def __post_init__(self) -> None:
        self.kind = Fate(self.kind)


def failed(reason: str, rule: str) -> Disposition:
    return Disposition(Fate.FAILED, reason, rule)


@dataclass
class Unit:
    """What a unit of work (Batch.unit_of_work) came to: error is the exception that
    rolled it back, or None; cancelled when its body chose to roll it back."""

    label: str
    error: BaseException | None = None
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Failure:
    """How a unit that fails is reported: a log line with %s for what went wrong, and a
    notice to the SuperUser, the texts (keys) subject and text filled in with fields
    and why (what went wrong)."""

    def __init__(self, log, subject, text, **fields):
        self.log, self.subject, self.text, self.fields = log, subject, text, fields
