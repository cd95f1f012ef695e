"""The Context: what the pipeline's steps, the handlers and the commands work with (the
site, its state, the clock) and the Outcome they collect, which the batch commits."""

from __future__ import annotations

import collections
import datetime
import email.utils
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage

from tristero.core import messages, redact, text
from tristero.core.kinds import Automatic
from tristero.core.streams import Pieces
from tristero.model import cookies, lists, logbook, quotas
from tristero.model.config import Config
from tristero.model.site import Site
from tristero.model.state import State
from tristero.policy import rights


@dataclass
class Outgoing:
    """One message to send: envelope sender, recipients (may be a lazy iterable), bytes."""

    sender: str
    recipients: Iterable[str]
    data: bytes | Pieces
    sign: bool = True          # signed with the site's DKIM key, when it has one (DISTRIBUTE DKIM=NO: not)


@dataclass
class Outcome:
    """Everything one message causes, collected before anything is written."""

    mails: list[Outgoing] = field(default_factory=list)
    appends: list[tuple[str, bytes]] = field(default_factory=list)   # (path, bytes)
    writes: list[tuple[str, bytes]] = field(default_factory=list)    # (path, bytes)
    deletes: list[str] = field(default_factory=list)                 # paths
    folders: list[str] = field(default_factory=list)                 # paths of folders to create
    # (what was done, the rule or setting that decided it)
    actions: list[tuple[str, str]] = field(default_factory=list)
    # Moderation (services.moderation): held posts approved, for the posting steps, and
    # the decisions made, for every moderator.
    moderation_released: list[tuple] = field(default_factory=list)
    moderation_decisions: list[tuple] = field(default_factory=list)
    # DISTRIBUTE POST: (list, author, data, name, pre-approved) for the posting steps.
    distributed_posts: list[tuple] = field(default_factory=list)


class Inbound:
    """An inbound message and what the pipeline learns about it."""

    def __init__(self, name: str, raw: bytes) -> None:
        self.name = name
        self.raw = raw
        self.msg = None
        self.id = name
        self.author = ""
        self.author_name = ""
        self.author_recovered = False  # the author was read from the text (rights.unproven)
        self.return_path = None
        self.destinations = []
        self.automatic = None      # why it is automatic mail (an Automatic), or None
        self.own = None            # why it is mail the site itself sent, come back (loops)
        self.redirects = {}        # destination -> (handler, list) chosen by screening
        self.report = None         # whether it looks like a delivery report (bounces.is_report)
        self.notes = []            # what reading it taught (charset guesses ...)
        self.too_many_parts = None  # (why, rule) it was not read whole (MaxParts), or None
        self.hold = None           # why screening holds it for a list's moderators (ADMIN, HoldInsteadOfDrop)
        self.hidden = []           # text as written that holds a secret (a web form's): starred where kept or logged
        self._text = None
        self._subject = None

    def text(self) -> str:
        """The message's readable text (decoded once)."""
        if self._text is None:
            self._text = messages.body_text(self.msg, self.notes)
        return self._text

    def subject(self) -> str:
        if self._subject is None:
            self._subject = messages.header(self.msg, "Subject")
        return self._subject


# Characters of a reply's subject when it goes to a stranger (Context.stranger).
STRANGER_SUBJECT = 60


class Context:
    """What the steps and handlers work with: the site, its state, the clock, the outcome."""

    def __init__(self, site: Site, config: Config, state: State, now: datetime.datetime, log: logbook.Logbook,
                 ids: messages.Ids, dry_run: bool = False) -> None:
        self.site = site
        self.dry_run = dry_run
        self._cookie_key = None
        self.config = config
        self.state = state
        self.now = now
        self.log = log
        self.ids = ids
        self.outcome = Outcome()
        self.texts = text.Texts(site.templates)
        self.txn = None            # the open transaction (read by repository: read your writes)
        self.signer = None         # the site's DKIM key (signing.Signer) when [DKIM] is set: ARC seals
        # Subscriptions made by each sender in this run (MaxSessionSubs), and
        # the addresses sent a confirmation (one each per run: no mail bombing).
        self.session_subs = collections.Counter()
        self.confirmations_sent = set()
        # The pattern sections compiled, built once per run (see screening).
        self.compiled = {}
        # Of the message being processed: its author when read from its text
        # (rights.unproven), and the users whose password it gave wrong (rights).
        self.unproven = None
        self.password_failed = set()
        # The sent index (see bounces): read when a report first needs it; what this run
        # sent; the members charged by a report proven by a Message-ID, for each post.
        self.sent_index = None
        self.sent_now = set()
        self.sent_charged = set()
        # DMARC (policy.dmarc): the run's resolver, made when first needed; the TXT
        # answers (or why none) by name asked; the questions that failed.
        self.dns = None
        self.dmarc_answers = {}
        self.dmarc_failures = 0
        # Loops of lists told to the SuperUser this run (services.nesting): once each.
        self.loops_told = set()
        # The language of the command words each sender used in the message being
        # answered (robot; commands.words): their replies' language when they have none;
        # and (its author, the list of its list-request address) when it came to one,
        # whose Language it is answered in when neither the author nor the words say.
        self.spoken = {}
        self.answering = None
        # Posts held in this run: (list, id), for the moderators' message at its end.
        self.moderation_held = []

    def text(self, key: str | text.Text, reader: str | None = None, **fields: object) -> str:
        """The text key (core.text; or a text.Text) in the language of reader (an address;
        None: the site's Language), its fields filled in."""
        return self.texts.get(key, self.language(reader), **fields)

    def list_text(self, listname: str | None, key: str | text.Text, reader: str | None = None,
                  **fields: object) -> str:
        """The text key in the language of reader among the members of listname (see
        language): a notice to a member, or to the list's members (reader None)."""
        return self.texts.get(key, self.language(reader, listname), **fields)

    def language(self, reader: str | None = None, listname: str | None = None) -> str:
        """The language texts to reader are written in: the reader's own (the language of
        their access.ini rule for listname, else of their rule for every list), else that
        of the command words they used in the message being answered (ctx.spoken), else
        listname's Language (or that of the list whose request address they wrote to), else
        the site's."""
        if reader:
            own = self.own_language(reader, listname)
            if own:
                return own
            spoken = self.spoken.get(reader.lower())
            if spoken:
                return spoken
            if listname is None and self.answering and self.answering[0] == reader.lower():
                listname = self.answering[1]
        if listname and lists.find(self.config, listname) is not None:
            return self.config.list_value(listname, "Language")
        return self.config.globals("Language")

    def own_language(self, reader: str, listname: str | None = None) -> str | None:
        """The language reader chose (SET list LANGUAGE, or their first command's): that of the
        most specific access.ini rule for reader (and listname) that names one Tristero has
        (by code or name: German, as the manual writes it);
        with no listname (a reply about no list), a rule for one of their lists does too,
        after those for every list."""
        found, best = None, None
        for rule in self.state.access():
            language = text.language_code(rule.language) if rule.language else None
            if language:
                rank = rule.priority(reader, listname)
                if rank is None and listname is None and rule.list not in ("", "*"):
                    rank = rule.priority(reader, rule.list)
                    rank = None if rank is None else rank + 10
                if rank is not None and (best is None or rank < best):
                    found, best = language, rank
        return found

    def cookie_key(self) -> bytes:
        """The site's cookie secret; a dry run that finds none uses a throw-away one
        rather than write tristero.key."""
        if self._cookie_key is None:
            if self.dry_run and not os.path.exists(cookies.key_path(self.site)):
                self._cookie_key = secrets.token_bytes(32)
            else:
                self._cookie_key = cookies.key(self.site)
        return self._cookie_key

    @property
    def domain(self) -> str:
        return self.config.globals("Domain")

    def domains(self) -> list[str]:
        return [self.domain] + self.config.globals("Domains")

    def robot_address(self) -> str:
        return "%s@%s" % (self.config.globals("ListProcName")[0].lower(), self.domain)

    def robot_from(self) -> str:
        return email.utils.formataddr((self.config.globals("ServerName"), self.robot_address()))

    def ours(self, address: str) -> bool:
        return address.rpartition("@")[2].lower() in self.domains()

    # --- collecting the outcome ---

    def act(self, action: str, rule: str | Automatic) -> None:
        """Record what was done and which rule or setting decided it."""
        rule = str(rule)   # a string, or what prints as one (an Automatic reason)
        self.outcome.actions.append((action, rule))
        self.log.log(logbook.ACTION, "  %s (%s)" % (action, rule))

    def send(self, sender: str, recipients: Iterable[str], data: bytes | Pieces, sign: bool = True) -> None:
        self.outcome.mails.append(Outgoing(sender, recipients, data, sign))

    def append(self, path: str, data: bytes) -> None:
        self.outcome.appends.append((path, data))

    def write(self, path: str, data: bytes) -> None:
        # The commit stages writes before deletes: a file written after its
        # removal (KILL, then PUT) must not be removed with the old one.
        if path in self.outcome.deletes:
            self.outcome.deletes.remove(path)
        self.outcome.writes.append((path, data))

    def delete(self, path: str) -> None:
        self.outcome.deletes.append(path)

    def mkdir(self, path: str) -> None:
        self.outcome.folders.append(path)

    def message(self, to: str, subject: str, text: str, in_reply_to: str | None = None, kind: str = "auto-replied",
                headers: Iterable[tuple[str, str]] = ()) -> EmailMessage:
        """A message from the robot (RFC 3834 marked), as an EmailMessage."""
        extra = [("Auto-Submitted", kind), ("X-Loop", self.robot_address())]
        in_reply_to = messages.message_id_text(in_reply_to)
        if in_reply_to:
            extra += [("In-Reply-To", in_reply_to), ("References", in_reply_to)]
        return messages.new_message(self.robot_from(), to, subject, text, self.now,
                                    self.ids.message_id(self.ids.next()), extra + list(headers))

    def send_message(self, msg: EmailMessage, recipients: Iterable[str], sender: str = "") -> None:
        """Send an EmailMessage; robot mail goes with the null sender (RFC 3834)."""
        self.send(sender, list(recipients), messages.serialize(msg))

    def stranger(self, who: str) -> bool:
        """True when who is neither a member nor the owner of a list here, nor a PostMaster
        or the SuperUser (an author read from the text is a stranger): a From anyone
        can forge, whom replies must not flood (MaxStrangerReplies)."""
        if rights.unproven(self, who):
            return True
        if rights.privileged(self, who):
            return False
        for name in self.config.list_names():
            if rights.is_owner(self.config, who, name) or (
                    lists.number(self.config, name) and rights.is_member(self.state, self.config, who, name)):
                return False
        return True

    def reply(self, inbound: Inbound, text: str, subject: str | None = None,
              attachments: Iterable[tuple[str, bytes]] = (), results: bytes | None = None) -> bool:
        """Answer the author of inbound (never automatic mail); attachments: [(name, bytes)];
        results: JSON for programs, an alternative to the text (multipart/alternative).

        A stranger (see stranger) gets at most MaxStrangerReplies replies a day,
        their subjects cut to STRANGER_SUBJECT characters; beyond, no reply (logged).
        """
        if inbound.automatic:
            self.act("no reply to automatic mail", inbound.automatic)
            return False
        stranger = self.stranger(inbound.author)
        if stranger:
            if not quotas.stranger_reply(self, inbound.author):
                self.act("no reply to %s: %d replies went today to this address, which is not a "
                         "member of a list here" % (inbound.author, self.config.globals("MaxStrangerReplies")),
                         "MaxStrangerReplies")
                return False
        if not subject:
            original = inbound.subject() or self.text("reply.your-message", inbound.author)
            subject = original if original.lower().startswith("re:") else "Re: " + original
        if stranger:
            subject = messages.clean(subject, STRANGER_SUBJECT)
        # A subject may hold a command and its password (approve pw ...): never echoed.
        msg = self.message(inbound.author, redact.subject(subject), text, inbound.id)
        if results is not None:
            msg.add_alternative(results, maintype="application", subtype="json", cte="7bit",
                                disposition="inline", filename="results.json")
            del msg.get_payload()[-1]["MIME-Version"]
        if attachments:
            messages.attach(msg, attachments)
        elif results is not None:
            messages.fix_boundaries(msg)
        self.send_message(msg, [inbound.author])
        return True

    def notify(self, subject: str, text: str) -> None:
        """Tell the SuperUser (if there is one)."""
        superuser = self.config.globals("SuperUser")
        if superuser:
            msg = self.message(superuser, subject, text, kind="auto-generated")
            self.send_message(msg, [superuser])
