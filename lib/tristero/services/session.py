"""A message's commands being run: the Command, the Session (who sent them, the list
they default to, the reply being written), and what every command asks of it: the
list it names, an address among its words, whether the sender may (rights.may).
"""

from tristero.core import messages
from tristero.core.kinds import Handler, Status
from tristero.model import audit, lists
from tristero.policy import addresses, rights

# The result line of each status, in the reader's language ("OK: ...", "FEHLER: ...").
_STATUS_TEXTS = {Status.OK: "gaps.status.ok", Status.HELD: "gaps.status.held",
                 Status.REFUSED: "gaps.status.refused", Status.ERROR: "gaps.status.error"}


class Command:
    """One command line of a message, as read."""

    def __init__(self, line, words, password=None):
        self.line = line          # as written (for the echo)
        self.words = words        # tokens, quotes removed
        self.password = password
        self.usage = ""           # the usage line of the command it names (set by the registry)
        self.text = None          # the lines after it up to EOF, for a command that takes them (takes_text)

    @property
    def verb(self):
        return self.words[0].upper() if self.words else ""

    @property
    def args(self):
        return self.words[1:]


# A command's results, worst last: the status its object in the reply's JSON part takes.
_SEVERITY = (Status.OK, Status.HELD, Status.REFUSED, Status.ERROR)


class Record:
    """One command's object in the reply's application/json part: the command, its status
    (the worst of its result lines), the list, the address, the token issued (if any)."""

    def __init__(self, command):
        self.command = command
        self.status = None
        self.list = None
        self.address = None
        self.token = None

    def took(self, status):
        if self.status is None or _SEVERITY.index(status) > _SEVERITY.index(self.status):
            self.status = status

    def as_json(self):
        return {"command": self.command, "status": (self.status or Status.OK).upper(),
                "list": self.list, "address": self.address, "token": self.token}


class Session:
    """One message's commands: who sent them, the list they default to, the reply."""

    def __init__(self, ctx, m, default_list):
        self.ctx = ctx
        self.m = m
        self.sender = m.author
        self.default_list = default_list
        self.out = []
        self.counts = {status: 0 for status in Status}
        self.password = None       # from a PASSWORD command, for the commands after it
        self.cookie = None         # from a COOKIE command, likewise
        self.command = None        # the command being run
        self.refused_privileged = []
        self.unknown = 0           # commands not known: the reply ends with short help
        self.attachments = []      # (name, bytes) the reply carries (GET, INFO ...)
        self.folder = None         # the list CD chose for file commands (None: as addressed)
        self.searches = 0          # SEARCH commands run (at most archive.MAX_SEARCHES)
        self.sent = 0              # bytes its requests sent (MaxReplySize, see repository.room)
        self.answered = False      # a command mailed its own answer (no reply when it was the only one)
        self.records = []          # a Record per command run (the reply's JSON part)
        self.args = None           # the arguments of the command being run, as its grammar read them
        self.job = None            # the command job (services.jobs.Job) the commands came in, or None

    def password_now(self):
        """The password for the command being run: its approve prefix, else PASSWORD's."""
        return (self.command and self.command.password) or self.password

    def say(self, text=""):
        self.out.append(text)

    def result(self, status, text):
        """A command's result line: OK, HELD (passed to a person), REFUSED or ERROR (a
        Status, or its value)."""
        status = Status(status)
        self.counts[status] += 1
        if self.records:
            self.records[-1].took(status)
        self.say(self.text(_STATUS_TEXTS[status], text=text))

    def issued(self, token):
        """The command being run gave the sender a token (a cookie): named in the JSON part."""
        if self.records:
            self.records[-1].token = token

    def text(self, key, **fields):
        """The text key in the sender's language (see Context.text)."""
        return self.ctx.text(key, self.sender, **fields)


def list_arg(s, cmd, args=None):
    """(list, the arguments after it) of a command (or of the words args); (None, ...)
    after saying why.

    The list is the first argument; at a list-request address it may be left
    out (Majordomo), and the list of the address is taken.
    """
    args = cmd.args if args is None else args
    if s.default_list and (not args or find_list(s, args[0]) is None):
        return s.default_list, args
    if not args:
        s.result("error", s.text("session.name-a-list", usage=cmd.usage))
        return None, args
    name = args[0]
    why = lists.name_problem(name)
    if why:
        s.result("error", s.text("session.not-a-list-name", name=messages.clean(name, 80), why=why))
        return None, args[1:]
    found = find_list(s, name)
    if found is None:
        s.result("error", s.text("session.no-such-list", name=name))
    return found, args[1:]


def find_list(s, name):
    """The list called name (lists.find) as the sender may know it: every command looks a
    list up here, so that a Hidden list answers whoever may not see it (rights.sees)
    exactly as a list that does not exist."""
    found = lists.find(s.ctx.config, name)
    if found is not None and not rights.sees(s.ctx, s.sender, found):
        return None
    return found


def address_in(words):
    """(address, the other words) of command words holding an address, written bare,
    <in brackets> or after a "quoted name" (the manual: quotes and brackets are
    stripped); (None, words) when no word holds one."""
    for i, w in enumerate(words):
        if "@" in w:
            return w.strip().strip("<>\"'"), words[:i] + words[i + 1:]
    return None, words


def members_of(s, listname):
    return s.ctx.state.members(lists.number(s.ctx.config, listname))


def address_problem(s, address, listname=None):
    """Why address cannot be a member (of listname), or None."""
    if not messages.is_address(address):
        return s.text("session.not-an-address", address=messages.clean(address, 80))
    if not address.isascii():
        return s.text("session.not-ascii", address=address)
    if s.ctx.ours(address):
        handler, target = addresses.resolve(s.ctx.config, address.rpartition("@")[0])
        if handler == Handler.POST and listname and target == listname:
            return s.text("session.list-in-itself")
        if handler == Handler.POST and listname and s.ctx.config.globals("BreakLoop"):
            return s.text("nesting.breakloop", list=target)
        if handler == Handler.POST and listname and not rights.may(s.ctx, s.sender, "manage", target,
                                                                   s.password_now())[0]:
            # A list in a list gets the posts of the list above it whatever its own rules:
            # only one who manages it may put it there.
            return s.text("nesting.not-yours", list=target)
        if handler not in (Handler.POST, Handler.UNKNOWN):
            return s.text("session.robot-address", address=address)
    return None


def allowed(s, action, listname=None, what=None):
    """Ask rights.may(); say and audit a refusal, and audit every privileged act."""
    ok, why = rights.may(s.ctx, s.sender, action, listname, s.password_now())
    what = what or action
    privileged_act = action in rights.PASSWORDED or action == "create"
    if not ok:
        s.result("refused", why)
        s.ctx.act("refused %s%s to %s: %s" % (what, " on " + listname if listname else "", s.sender, why),
                  "rights")
    if privileged_act or not ok:
        audit.security(s.ctx, s.sender, listname, what, "done" if ok else "refused: " + why)
        # A locked password: the SuperUser was told when the lock began, once.
        if not ok and rights.ACTIONS.get(action, "P") in "LPS" and not isinstance(why, rights.Locked):
            s.refused_privileged.append("%s%s: %s" % (what, " " + listname if listname else "", why))
    return ok
