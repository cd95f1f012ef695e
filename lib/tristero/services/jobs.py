"""Command jobs (LISTSERV's CJLI): a message whose body is a job is read whole, as one
unit, before any of it runs; an error anywhere refuses the whole job, naming the line.

    //name JOB Echo=No Reply-via=Mail      the JOB card: first (blank lines before it aside)
    DISTRIBUTE MAIL DD=DATA TO DD=TO PW=x   a command (any line that is not a card)
    //TO DD *                               a data set: the lines up to /* (or the next //
    joe@example.com Joe User PROBE          card, or the end of the job)
    /*
    //FROM DD "joe@example.com Joe User"    a data set of one line
    //DATA DD *,EOF                         a data set up to a line EOF (which must come:
    From: ...                               a /* or // line inside is data)
    EOF
    //* a comment card
    // EOJ                                  the end of the job (or the end of the text)

A card or a command line that ends with a comma continues on the next line, the comma
a blank between them (a card's next line is a card too: its // is dropped). Names (of the job, of data sets) are one
to eight letters, digits, $ # @ - _ . (DISTRIBUTE's default data set names are DATA and
TO); data set names are read in upper case, and one name is one data set.
"""

import re

# Lines of a job at the most, data sets included (a job is bounded by its message's size
# too; this bounds the work of reading one).
MAX_LINES = 200000
MAX_COMMANDS = 100
_NAME = re.compile(r"[A-Za-z0-9$#@_.-]{1,8}")
_OPTION = re.compile(r"([A-Za-z-]+)=(\S+)")
JOB_OPTIONS = {"ECHO": ("YES", "NO"), "REPLY-VIA": ("MAIL", "MESSAGE", "MSG")}


class JobError(Exception):
    """The job is refused: number (1-based line of the body), line (as written), why."""

    def __init__(self, number, line, why):
        super().__init__("line %d: %s (%s)" % (number, why, line))
        self.number, self.line, self.why = number, line, why


class Job:
    """A job as read: its name, its JOB card's options, its commands (line number, text)
    and its data sets (name -> list of lines)."""

    def __init__(self, name):
        self.name = name
        self.options = {"ECHO": "YES", "REPLY-VIA": "MAIL"}
        self.commands = []
        self.datasets = {}

    @property
    def echo(self):
        return self.options["ECHO"] == "YES"

    def dataset(self, name):
        """The lines of the data set name (any case), or None."""
        return self.datasets.get(name.upper())


def is_job(text):
    """Does text (a message's body) begin with a card (its first line that is not blank
    starts with //)?"""
    for line in text.splitlines():
        if line.strip():
            return line.lstrip().startswith("//")
    return False


def _logical(lines, i):
    """(the line at i joined with the lines its trailing commas continue it on, the index
    after them)."""
    line = lines[i].rstrip()
    card = line.startswith("//")
    i += 1
    while line.endswith(",") and i < len(lines):
        more = lines[i].rstrip()
        if card:
            if not more.startswith("//") or more.startswith(("//*", "/*")):
                raise JobError(i + 1, more, "a continued card goes on with a // card")
            more = more[2:]
        line = line[:-1].rstrip() + " " + more.strip()
        i += 1
    return line, i


def parse(text):
    """The Job that text (a message's body) is; JobError for the first thing wrong in it."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > MAX_LINES:
        raise JobError(MAX_LINES + 1, "", "a job has %d lines at the most" % MAX_LINES)
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines):
        raise JobError(1, "", "no JOB card")
    start = i + 1
    card, i = _logical(lines, i)
    words = card[2:].split()
    if card.startswith("// ") or card == "//":
        name = ""
    else:
        name, words = words[0], words[1:]
    if not words or words[0].upper() != "JOB":
        raise JobError(start, card, "the first card must be a JOB card: //name JOB [Echo=No] [Reply-via=Mail]")
    if name and not _NAME.fullmatch(name):
        raise JobError(start, card, "a job's name is 1 to 8 letters, digits or $#@-_.")
    job = Job(name)
    _options(job.options, words[1:], JOB_OPTIONS, start, card)
    while i < len(lines):
        number = i + 1
        raw = lines[i]
        if not raw.strip():
            i += 1
            continue
        if raw.startswith("//*"):
            i += 1
            continue
        if raw.startswith("/*"):
            raise JobError(number, raw, "/* ends a data set, and no data set is open")
        line, i = _logical(lines, i)
        if not line.startswith("//"):
            if len(job.commands) == MAX_COMMANDS:
                raise JobError(number, line, "a job holds %d commands at the most" % MAX_COMMANDS)
            job.commands.append((number, line.strip()))
            continue
        words = line[2:].split(None, 2)
        if not words or (line.startswith("// ") and words[0].upper() == "EOJ"):
            break                                   # the end of the job: the rest is not read
        if line.startswith("// ") or len(words) < 2:
            raise JobError(number, line, "a card is //name DD ... (or //* a comment, or // EOJ)")
        dd, verb = words[0], words[1].upper()
        if verb == "JOB":
            raise JobError(number, line, "one JOB card in a job")
        if verb != "DD":
            raise JobError(number, line, "%s: not a card a job may hold (DD)" % words[1][:20])
        if not _NAME.fullmatch(dd):
            raise JobError(number, line, "a data set's name is 1 to 8 letters, digits or $#@-_.")
        if dd.upper() in job.datasets:
            raise JobError(number, line, "the data set %s is there twice" % dd.upper())
        how = words[2].strip() if len(words) > 2 else ""
        if len(how) >= 2 and how.startswith('"') and how.endswith('"'):
            job.datasets[dd.upper()] = [how[1:-1]]
            continue
        parts = [p.strip().upper() for p in how.split(",")]
        if parts[0] != "*" or any(p not in ("EOF", "RES=DISK") for p in parts[1:]):
            raise JobError(number, line, 'a DD card is //name DD *, //name DD *,EOF or //name DD "text"')
        data = []
        if "EOF" in parts:
            while i < len(lines) and lines[i].rstrip() != "EOF":
                data.append(lines[i])
                i += 1
            if i == len(lines):
                raise JobError(number, line, "the data set %s has no EOF line at its end" % dd.upper())
            i += 1
        else:
            while i < len(lines) and not lines[i].startswith(("/*", "//")):
                data.append(lines[i])
                i += 1
            if i < len(lines) and lines[i].startswith("/*"):
                i += 1
            while data and not data[-1].strip():
                data.pop()                          # the blank lines that end a message
        job.datasets[dd.upper()] = data
    return job


def _options(found, words, known, number, line):
    """Read KEY=value words into found (upper case), each key one of known with its values."""
    for word in words:
        m = _OPTION.fullmatch(word)
        key = m and m.group(1).upper()
        if not m or key not in known:
            raise JobError(number, line, "%s: the JOB card takes %s" % (
                word[:30], ", ".join("%s=%s" % (k.title(), "|".join(v)) for k, v in known.items())))
        value = m.group(2).upper()
        if value not in known[key]:
            raise JobError(number, line, "%s: %s is one of %s" % (word[:30], key, "|".join(known[key])))
        found[key] = "MAIL" if value == "MSG" else value
