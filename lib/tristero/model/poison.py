"""Poison messages: one that was in hand when a run died, three times, is set aside.

A message can kill the process that reads it (the kernel's out-of-memory
killer, a crash in a library): nothing in the run can catch that, and the
message, still in spool/in/new/, would be redone by every run forever. So the
run writes down what it has in hand in ``spool/processing``, one line a
person can read: ``transaction N NAME`` when a transaction takes NAME and up
to N-1 messages after it (written once per transaction: nothing per message),
``alone D NAME`` just before it processes NAME, which D runs that died had in
hand. An orderly end of the run removes the file; a run that finds it knows
that the run before it died (by any signal: kill -9 leaves the file as it
was) and what it had in hand:

* a transaction: the culprit is one of those N messages. Each is charged
  with one death, and noted alone before it is processed (the transactions
  stay as they were: only the note is written more often);
* one message: it is charged with one more death.

A message charged with CRASHES deaths is not read again: it is moved whole to
spool/failed/new/ and the SuperUser is told (Batch.set_aside_poison).
"""

from __future__ import annotations

import os

from tristero.model import durable
from tristero.model.site import Site

CRASHES = 3
FILE = "processing"


class Watch:
    """What the previous run had in hand when it died, and the note of what this one has."""

    def __init__(self, site: Site, names: list[str]) -> None:
        """names: the inbound messages of this run, in order."""
        self.path = os.path.join(site.spool, FILE)
        self.tmp = self.path + ".tmp"
        self.found = _read(self.path)         # (kind, number, name) or None
        self.suspects = {}                    # name -> deaths of runs it was in hand for
        self.alone = False                    # the note names a message, not a transaction
        if self.found is None:
            return
        kind, number, name = self.found
        try:
            at = names.index(name)
        except ValueError:
            # Done since: the run died after it was committed.
            self.found = None
            return
        if kind == "transaction":
            self.suspects = dict.fromkeys(names[at:at + number], 1)
        else:
            self.suspects = {name: number + 1}

    def report(self) -> str:
        """What the run found: a line for the log."""
        kind, number, name = self.found
        if kind == "transaction":
            return ("the last run died in a transaction of %d message(s) from %s on: each is noted "
                    "before it is processed, to find the one in hand" % (len(self.suspects), name))
        return "the last run died while processing %s (%d of %d times)" % (name, number + 1, CRASHES)

    def before(self, name: str, opening: bool, left: int) -> int:
        """Note what the run takes in hand next: name, in a transaction just opened
        (opening) that may take left messages more. Returns the deaths charged to name."""
        deaths = self.suspects.get(name, 0)
        if deaths:
            if deaths < CRASHES:
                self._note("alone %d %s\n" % (deaths, name))
            self.alone = True
        elif opening or self.alone:
            self._note("transaction %d %s\n" % (left, name))
            self.alone = False
        return deaths

    def _note(self, line):
        # Written beside and renamed: a kill between the two leaves the note before.
        # Not fsynced: a process killed leaves its writes with the kernel; only a
        # power loss, which is no poison message, can lose one.
        durable.write_file(self.tmp, line.encode("utf-8", "surrogateescape"), sync=False)
        durable.replace(self.tmp, self.path)

    def clear(self) -> None:
        """The run ends in order: nothing was in hand when it died."""
        for path in (self.path, self.tmp):
            try:
                durable.remove(path)
            except OSError:
                # A failing disk stops the run anyway; the note costs a death at most.
                pass


def _read(path):
    """(kind, number, name) of the note at path, or None when there is none (or it is not one)."""
    try:
        with open(path, "rb") as f:
            text = f.read(4096).decode("utf-8", "surrogateescape")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    parts = text.rstrip("\n").split(" ", 2)
    if len(parts) != 3 or parts[0] not in ("transaction", "alone") or not parts[1].isdigit() or not parts[2]:
        return None
    return parts[0], int(parts[1]), parts[2]
