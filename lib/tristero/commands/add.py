"""ADD list address [name] [HIDE]: the owner adds a member (HIDE: without telling them)."""

from tristero.commands.grammar import Address, ListName, Rest, Trailing
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import lists, members
from tristero.services import bulk, datasets, folders, membership, nesting, proxy


@register
class Add(Command):
    names = ("ADD",)
    order = 200
    usage = "ADD list address [name] [HIDE] | ADD list DD=name IMPORT"
    help = "Add a member (HIDE: tell them nothing)."
    audience = Audience.OWNER
    right = "manage"
    membership = True
    grammar = (ListName(), Address(), Trailing("HIDE"), Rest("name"))
    texts = {
        "add.not-address": "{words} is not a mail address (local@domain)",
        "add.done": "{address} added to {list}",
        "add.welcome-lead": "You have been added to the list {list} ({address}) by {owner}.\n"
                            "To leave it, send UNSUBSCRIBE {quoted} to {robot}.",
    }

    def run(self, s, args):
        listname, target, rest = args.list, args.address, args.name
        if target is None and len(rest) == 2 and datasets.dd_name(rest[0]) and rest[1].upper() == "IMPORT":
            bulk.import_members(s, listname, datasets.dd_name(rest[0]))
            return
        if target is None and rest and folders.is_folder(rest[0]):
            folders.add(s, listname, folders.path_of(rest[0]))
            return
        sub = lists.find(s.ctx.config, rest[0]) if target is None and len(rest) == 1 else None
        if sub:
            # Lists within lists: ADD master sales-l makes the list sales-l a member (its address).
            target, rest = lists.address(s.ctx.config, sub), []
        if target and [w.strip() for w in rest] == ["[", "]"]:
            target, rest = "[%s]" % target, []     # [ list@remote ]: spaced out, still a remote list
        remote = bool(target) and target.startswith("[") and target.endswith("]")
        if remote:
            # [list@remote]: a remote list, which never gets its own host's posts back (services.proxy).
            target = target[1:-1].strip()
        if target is None and not rest and not args.hide:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if target is None:
            s.result("refused", s.text("add.not-address", words=messages.clean(" ".join(rest), 80)))
            return
        if not membership.may_join(s, listname, target, rest):
            return
        membership.join(s, listname, target, rest)
        if remote:
            number = lists.number(s.ctx.config, listname)
            options = s.ctx.state.members(number).get(target)[1]
            s.ctx.state.set_options(number, target, members.with_option(options, proxy.REMOTE, ""))
        s.result("ok", s.text("add.done", address=target, list=listname))
        s.ctx.act("%s added to %s by %s" % (target, listname, s.sender), "ADD")
        # A list (by name or by its address) is told nothing: it would be a post there.
        if not args.hide and not remote and not sub and nesting.sub_list(s.ctx, target) is None:
            membership.welcome(s, listname, target, s.ctx.list_text(
                listname, "add.welcome-lead", target, list=listname, address=lists.address(s.ctx.config, listname),
                owner=s.sender, quoted=membership.quoted(listname), robot=s.ctx.robot_address()) + "\n")
