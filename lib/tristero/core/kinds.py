"""Kinds of things that pass between the stages of the batch."""


class Disposition:
    """How a message's journey ended: kind is done, dropped or failed."""

    def __init__(self, kind, action, rule):
        self.kind, self.action, self.rule = kind, action, rule


def failed(reason, rule):
    return Disposition("failed", reason, rule)


class Unit:
    """What a unit of work (Batch.unit_of_work) came to: error is the exception that
    rolled it back, or None; cancelled when its body chose to roll it back."""

    def __init__(self, label):
        self.label = label
        self.error = None
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    @property
    def ok(self):
        return self.error is None and not self.cancelled


class Failure:
    """How a unit that fails is reported: a log line with %s for what went wrong, and a
    notice to the SuperUser, the texts (keys) subject and text filled in with fields
    and why (what went wrong)."""

    def __init__(self, log, subject, text, **fields):
        self.log, self.subject, self.text, self.fields = log, subject, text, fields
