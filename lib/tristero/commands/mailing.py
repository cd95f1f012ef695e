"""MAILING SHOW|TEST|APPROVE|SCHEDULE|PAUSE|RESUME|CANCEL name: a scheduled mailing
(services/mailings.py) by mail, for [Security] DIST_ALLOWED_USERS and PostMasters (with
their personal password, as DISTRIBUTE) and for the owner of the list a mailing is sent
to (Recipients = list:NAME; the right to manage it).

MAILING CREATE name makes a new mailing's folder as a draft (APPROVE sends it): the
lines after the command, up to a line EOF, are KEY = value settings (Subject, From,
Reply-To, Schedule, Recipients, Approvers), a blank line, then the message's text; an attached
.csv or .tsv file is the recipients (unless Recipients = list:NAME), an attached .html
file the text's HTML alternative. Everything is checked as the mailing will be sent
before anything is written."""

from tristero.commands.distribute import allowed_users, may_distribute
from tristero.commands.grammar import Rest, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.core import messages
from tristero.model import audit, lists
from tristero.policy import rights
from tristero.services import mailings, repository, session

ACTIONS = ("CREATE", "SHOW", "TEST", "APPROVE", "SCHEDULE", "PAUSE", "RESUME", "CANCEL")


@register
class Mailing(Command):
    names = ("MAILING",)
    dialect = Dialect.LISTSERV
    order = 345
    usage = "MAILING CREATE|SHOW|TEST address|APPROVE|SCHEDULE schedule|PAUSE|RESUME|CANCEL name"
    help = ("Create (settings, a blank line, the text, then a line EOF; a .csv/.tsv attached for "
            "the recipients), show, test, approve, schedule, pause, resume or cancel a scheduled mailing "
            "(mailings/NAME/); for DIST_ALLOWED_USERS, PostMasters and the owner of its list.")
    audience = Audience.POSTMASTER
    takes_text = {"CREATE"}
    grammar = (Word("action", choices=ACTIONS), Word("name", upper=False), Rest("more"))
    texts = {
        "mailing.problem": "mailing {name}: {why}",
        "mailing.test-needs": "MAILING TEST name address",
        "mailing.test-owner": "the owner of {list} sends a test copy to their own address or to a member of "
                              "{list} (DIST_ALLOWED_USERS and PostMasters to any address)",
        "mailing.schedule-needs": "MAILING SCHEDULE name now | at TIME | every N UNITS from TIME "
                                  "[until TIME | count N]",
        "mailing.schedule-state": "it is {state}: its schedule changes only while it is a draft or paused",
        "mailing.list-not-yours": "a mailing to the members of {list} is for its owner and the PostMasters "
                                  "(DISTRIBUTE POST posts to it)",
        "mailing.overdue": "mailing {name}: its schedule has {count} or more deliveries due already, which would "
                           "all go out now: schedule it from now on first (MAILING SCHEDULE)",
        "mailing.scheduled": "mailing {name}: Schedule = {schedule}; it is a draft again, to be approved",
        "create.mailing-no-text": "MAILING CREATE name: the settings, a blank line and the text follow the command "
                          "line, then a line EOF",
        "create.mailing-taken": "a mailing {name} exists: choose another name",
        "create.mailing-bad-line": "{line}: a setting is KEY = value (Subject, From, Reply-To, Schedule, Recipients, "
                                    "Approvers)",
        "create.mailing-bad-value": "{setting}: the value holds a character a setting may not hold",
        "create.mailing-twice": "{setting} is set twice",
        "create.mailing-needs": "{setting} is needed",
        "create.mailing-no-recipients": "no recipients: attach a .csv or .tsv file (a header row with EMAIL) "
                                "or set Recipients = list:NAME",
        "create.mailing-bad-attachment": "an attached file is not taken: {why}",
        "create.mailing-attachments": "at most {limit} files are attached to a mailing's message",
        "create.mailing-forged": "From = {author} is not your address: only a PostMaster makes a mailing "
                                 "from another",
        "create.mailing-done": "mailing {name} created as a draft ({count} recipient(s) now): "
                       "MAILING APPROVE {name} sends it",
    }

    def run(self, s, args):
        ctx = s.ctx
        name = args.name.lower()
        what = "MAILING %s %s" % (args.action, messages.clean(name, 40))
        if args.action == "CREATE":
            self.create(s, name, what)
            return
        try:
            mailing = mailings.Mailing(ctx.site, name, ctx)
        except mailings.MailingError as e:
            s.result("error", s.text("mailing.problem", name=messages.clean(name, 40), why=e))
            return
        if not self.may(s, mailing, what):
            return
        try:
            now = ctx.now.replace(tzinfo=None)
            # Only where the action applies (APPROVE to a draft, RESUME to a paused one).
            late = mailings.overdue(mailing, now, now if args.action == "APPROVE" else None) \
                if (args.action, mailing.state) in (("APPROVE", "draft"), ("RESUME", "paused")) else 0
            if late > 1:
                # By mail, no flood of the deliveries that fell due before (24 a run).
                s.result("error", s.text("mailing.overdue", name=name, count=late))
                return
            if args.action == "SHOW":
                for line in mailings.show(ctx.site, name, ctx):
                    s.say(line)
                s.result("ok", what)
                return
            if args.action == "TEST":
                if len(args.more) != 1 or not messages.is_address(args.more[0]):
                    s.result("error", s.text("mailing.test-needs"))
                    return
                if not self.test_allowed(s, mailing, args.more[0]):
                    s.result("refused", s.text("mailing.test-owner", list=mailing.get("Recipients")[5:].strip()))
                    return
                s.result("ok", mailings.test(ctx, name, args.more[0]))
            elif args.action == "APPROVE":
                done, said = mailings.approve(ctx, name, s.sender)
                s.result("ok" if done else "error", said)
            elif args.action == "SCHEDULE":
                if not args.more:
                    s.result("error", s.text("mailing.schedule-needs"))
                    return
                s.result("ok", mailings.set_schedule(ctx, name, " ".join(args.more), s.text))
            else:
                done, said = mailings.change_state(ctx, name, args.action.lower())
                s.result("ok" if done else "error", said)
        except mailings.MailingError as e:
            s.result("error", s.text("mailing.problem", name=name, why=e))
            return
        audit.security(ctx, s.sender, None, what, "done")
        ctx.act("%s by %s" % (what, s.sender), "MAILING")

    @staticmethod
    def test_allowed(s, mailing, address):
        """May the sender send a TEST copy to address? A list's owner (whom anyone can
        become where OpenCreation is on) only to their own address or a member's: a test
        copy is no post, and the owner's word would make it mail to any stranger."""
        ctx = s.ctx
        if s.sender.lower() in allowed_users(ctx.config) or rights.privileged(ctx, s.sender) \
                or address.lower() == s.sender.lower():
            return True
        listname = lists.find(ctx.config, mailing.get("Recipients")[5:].strip())
        return bool(listname) and ctx.state.has_member(lists.number(ctx.config, listname), address)

    @staticmethod
    def may(s, mailing, what):
        """May the sender act on mailing? A refusal said and audited."""
        ctx = s.ctx
        source = mailing.get("Recipients")
        listname = lists.find(ctx.config, source[5:].strip()) if source.lower().startswith("list:") else None
        if listname and rights.is_owner(ctx.config, s.sender, listname):
            return session.allowed(s, "manage", listname, what)
        why = may_distribute(ctx, s.sender, s.password_now())
        if not why and listname and not rights.privileged(ctx, s.sender):
            # A list's members are reached past its rules (moderators, Closed, Hidden) by
            # its owner and the PostMasters only; a DIST user posts there (DISTRIBUTE POST).
            why = s.text("mailing.list-not-yours", list=listname)
        if why:
            s.result("refused", why)
            audit.security(ctx, s.sender, None, what, "refused: " + why)
            return False
        return True

    def create(self, s, name, what):
        """MAILING CREATE: the folder written as a draft, or why not."""
        ctx = s.ctx
        try:
            draft = mailings.Draft(ctx.site, name, s.command.text, repository.attachments_of(s.m.msg), s.text)
            if not self.may(s, draft, what):
                return
            author = mailings.address_of(draft.get("From"))
            if author.lower() != s.sender.lower() and not rights.privileged(ctx, s.sender):
                s.result("refused", s.text("create.mailing-forged", author=messages.clean(draft.get("From"), 80)))
                audit.security(ctx, s.sender, None, what, "refused: From is another's")
                return
            count = mailings.create(ctx, draft, s.text)
        except mailings.MailingError as e:
            s.result("error", s.text("mailing.problem", name=messages.clean(name, 40), why=e))
            return
        audit.security(ctx, s.sender, None, what, "done")
        ctx.act("%s by %s" % (what, s.sender), "MAILING")
        s.result("ok", s.text("create.mailing-done", name=name, count=count))
