"""MEMBERS list (LISTSERV: REVIEW list [BY name|country|date] [SHORT]): the members of a
list (at most MAX_SHOWN of them); members set CONCEAL are shown only to the privileged; a
list with lists among its members is shown as an indented tree (services.nesting), to
MaxListDepth."""

from tristero.commands.grammar import ListName, Rest
from tristero.commands.registry import Command, register
from tristero.model import members
from tristero.policy import rights
from tristero.services import majordomo, nesting, proxy, session

MAX_SHOWN = 5000     # members listed in one MEMBERS answer

_KINDS = {"list": "nesting.sub-list", "loop": "nesting.loop-member", "deeper": "nesting.deeper",
          "closed": "nesting.closed", "blocked": "nesting.blocked"}

# REVIEW ... BY field: the sort key of a member (address, options). The member file keeps
# no date of joining: BY DATE is the file's order.
_BY = {
    "NAME": lambda m: ((members.option_word(m[1], "NAME") or "NAME ~")[5:].lower(), m[0].lower()),
    "COUNTRY": lambda m: (m[0].rpartition(".")[2].lower(), m[0].lower()),
    "DATE": None,
    "USERID": lambda m: m[0].lower(),
    "NODEID": lambda m: members.domain_order(m[0].lower()),
}


@register
class Members(Command):
    names = ("MEMBERS", "RECIPIENTS", "REVIEW", "WHO")
    abbreviations = {"REVIEW": 3}
    order = 60
    usage = "MEMBERS list | REVIEW list [BY NAME|COUNTRY|DATE] [SHORT]"
    help = "The members of a list."
    right = "review"
    grammar = (ListName(), Rest("options"))
    texts = {
        "members.title": "{count} member(s) of {list}",
        "members.more": "... and {count} more",
        "members.nomail": "{address}  (NOMAIL)",
        "members.named": "{address}  {name}",
        "members.concealed": "{count} concealed member(s) not shown",
        "members.bad-option": "{word} is no option of REVIEW (BY NAME|COUNTRY|DATE, SHORT)",
    }

    def run(self, s, args):
        if not majordomo.access(s, args.list, "who_access", "WHO"):
            return
        by, short = None, False
        words = [w.upper().strip("()") for w in args.options]
        i = 0
        while i < len(words):
            w = words[i]
            if w == "BY" and i + 1 < len(words) and words[i + 1] in _BY:
                by, i = words[i + 1], i + 2
                continue
            if w in ("SHORT", "SH", "SHO", "SHOR"):
                short, i = True, i + 1
                continue
            if w in ("NOHEADER", "NOH", "LOCAL", "MSG", "PRIVATE"):
                i += 1
                continue
            s.result("error", s.text("members.bad-option", word=args.options[i][:40]))
            return
        roster = session.members_of(s, args.list)
        privileged = rights.privileged(s.ctx, s.sender, args.list)
        if nesting.holds_lists(s.ctx, args.list):
            count = len(roster) if privileged else sum(
                1 for _, options in roster.items() if not members.option_word(options, "CONCEAL"))
            s.result("ok", s.text("members.title", count=count, list=args.list))
            self.tree(s, args.list)
            return
        shown = roster.items()
        hidden = 0
        if not privileged:
            shown = [m for m in shown if not members.option_word(m[1], "CONCEAL")]
            hidden = len(roster) - len(shown)
        if _BY.get(by):
            shown = sorted(shown, key=_BY[by])
        s.result("ok", s.text("members.title", count=len(shown), list=args.list))
        if hidden:
            s.say("  " + s.text("members.concealed", count=hidden))
        if short:
            return
        for i, (address, options) in enumerate(shown):
            if i == MAX_SHOWN:
                s.say("  " + s.text("members.more", count=len(shown) - MAX_SHOWN))
                break
            s.say("  " + _shown(s, address, options))

    def tree(self, s, listname):
        """Lists within lists: each sub-list's members indented below it, to MaxListDepth;
        a loop named (and logged), a list the sender may not review not opened, the CONCEAL
        members of each list hidden (and counted) as the flat view hides them, unless the
        sender is privileged on that list."""
        ctx = s.ctx
        privileged = {}

        def may_open(name):
            return rights.may(ctx, s.sender, "review", name, s.password_now())[0]

        def conceals(name):
            if name not in privileged:
                privileged[name] = rights.privileged(ctx, s.sender, name)
            return not privileged[name]

        shown = hidden = 0
        for level, address, options, kind in nesting.tree_lines(
                ctx, listname, ctx.config.globals("MaxListDepth"), MAX_SHOWN + 1, may_open, conceals):
            if kind == "concealed":
                hidden += 1
                continue
            if shown == MAX_SHOWN:
                s.say("  " + s.text("nesting.tree-more"))
                break
            shown += 1
            line = _shown(s, address, options)
            # A Hidden list is, to one who may not see it, an address like any other.
            if kind and rights.sees(ctx, s.sender, nesting.sub_list(ctx, address)):
                line += "  " + s.text(_KINDS[kind], list=nesting.sub_list(ctx, address))
            s.say("  " * (level + 1) + line)
            if kind == "loop":
                ctx.act("loop of lists: %s is a member of a list below it (MEMBERS %s)"
                        % (nesting.sub_list(ctx, address), listname), "lists within lists")
        if hidden:
            s.say("  " + s.text("members.concealed", count=hidden))


def _shown(s, address, options):
    """A member as MEMBERS shows it: a remote list in brackets (ADD list [list@remote]), its
    name, NOMAIL said."""
    if options and members.option_word(options, proxy.REMOTE):
        address = "[%s]" % address
    name = options and members.option_word(options, "NAME")
    line = s.text("members.named", address=address, name=name[5:]) if name else address
    if options and members.option_word(options, "NOMAIL"):
        return s.text("members.nomail", address=line)
    return line
