"""REMOVE list address|*part*: the owner removes a member."""

from tristero.commands.grammar import ListName, Word
from tristero.commands.registry import Audience, Command, register
from tristero.model import lists, members
from tristero.services import bulk, datasets, folders, membership, nesting, proxy, session


@register
class Remove(Command):
    names = ("REMOVE", "DELETE")
    abbreviations = {"DELETE": 3}
    order = 210
    usage = "REMOVE list address|*part* | DELETE list DD=name BULK"
    help = "Remove a member."
    audience = Audience.OWNER
    right = "manage"
    membership = True
    grammar = (ListName(), Word("address", optional=True, upper=False))
    texts = {
        "remove.no-match": "{count} members match {pattern}",
        "remove.matches": "{count} members match {pattern}: {matches}; name one",
    }

    def run(self, s, args):
        listname = args.list
        if args.address is None:
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        if datasets.dd_name(args.address) and [w.upper() for w in args.rest] == ["BULK"]:
            bulk.delete_members(s, listname, datasets.dd_name(args.address))
            return
        target = args.address.strip("<>\"'")
        if folders.is_folder(target):
            folders.remove(s, listname, folders.path_of(target))
            return
        if target.startswith("[") and target.endswith("]"):
            target = target[1:-1].strip()        # a remote list, as ADD takes it
        elif "@" not in target and "*" not in target and lists.find(s.ctx.config, target):
            target = lists.address(s.ctx.config, lists.find(s.ctx.config, target))   # a sub-list by its name
        roster = session.members_of(s, listname)
        if len(target) > 2 and target.startswith("*") and target.endswith("*"):
            needle = target[1:-1].lower()
            matches = [a for a, _ in roster.items() if needle in a.lower()]
            if len(matches) != 1:
                s.result("error", s.text("remove.matches", count=len(matches), pattern=target,
                                         matches=", ".join(matches[:20])) if matches else
                         s.text("remove.no-match", count=len(matches), pattern=target))
                return
            target = matches[0]
        if target not in roster:
            s.result("error", s.text("membership.not-member", address=target, list=listname))
            return
        address, options = roster.get(target)
        membership.leave(s, listname, address, by=s.sender,
                         quiet=nesting.sub_list(s.ctx, address) is not None
                         or bool(options and members.option_word(options, proxy.REMOTE)))
