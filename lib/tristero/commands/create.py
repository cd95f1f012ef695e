"""CREATE list description [HIDE]: a new list, with the sender as owner and first member;
CREATE list remote-address: a client of a remote list (as CREATECLIENT)."""

import os

from tristero.commands import proxy as proxy_command
from tristero.commands.grammar import Rest, Trailing, Word
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import audit, config, lists
from tristero.policy import addresses
from tristero.services import membership, proxy, session

# The default archive's friendlier-message files, copied into a new list's folder.
DEFAULT_FILES = ("readme.txt", "welcome.txt", "farewell.txt", "index.txt")
DEFAULT_FOLDERS = ("readme", "welcome", "farewell")


_MAX_LOCAL = 64         # octets of an envelope address's local part (RFC 5321)


def bad_name(s, name):
    """True (and says why) when name is not a list name, or too long for its addresses:
    owner-LIST@ (the envelope of every post) and LIST-approval@ must fit an envelope."""
    why = lists.name_problem(name)
    if not why and len(lists.local_part(name) + "-approval") > _MAX_LOCAL:
        why = "a new list's name may have at most %d characters" % (_MAX_LOCAL - len("-approval"))
    if why:
        s.result("error", s.text("create.bad-name", name=messages.clean(name, 80), why=why))
    return bool(why)


def taken(s, name):
    """True (and says so) when name is a list's or an address of the site, or its own
    addresses (name-request@, name-owner@, name-merge@, owner-name@) another list's."""
    cfg = s.ctx.config
    local = lists.local_part(name)
    if lists.find(cfg, name) or lists.by_local(cfg, local) or addresses.resolve(cfg, local)[0] != "unknown" \
            or any(lists.by_local(cfg, own) for own in (local + "-request", local + "-owner", local + "-merge",
                                                         "owner-" + local)):
        s.result("error", s.text("create.taken", list=name))
        return True
    return False


def name_refused(s, name):
    """True (and says why) when name cannot be a new list's name (bad_name, taken)."""
    return bad_name(s, name) or taken(s, name)


@register
class Create(Command):
    names = ("CREATE",)
    order = 300
    usage = "CREATE list description [HIDE]"
    help = "Create a list, with you as owner and first member."
    audience = Audience.POSTMASTER
    grammar = (Word("name", upper=False), Trailing("HIDE"), Rest("words"))
    texts = {
        "create.bad-name": "{name} is not a list name: {why}",
        "create.taken": "the name {list} is taken",
        "create.done": "created {list} ({address}), owned by {owner}, with you as its first member",
        "create.announce.subject": "New list: {list}",
        "create.announce": "A new list has been created: {address}\n\n  {description}\n\n"
                           "To join, send SUBSCRIBE {quoted} to {robot}.",
    }

    def run(self, s, args):
        name, words = args.name, args.words
        if bad_name(s, name) or not session.allowed(s, "create", None, "CREATE") or taken(s, name):
            return
        cfg = s.ctx.config
        description = " ".join(words)
        remote = words[0] if len(words) == 1 and messages.is_address(words[0]) else None
        if remote:
            # A client of a remote list (the manual's CREATE list remote-address).
            if s.ctx.ours(remote):
                s.result("error", s.text("nesting.client-of-ours", address=remote))
                return
            why = proxy.address_problem(proxy.remote(remote, name))
            if why:
                s.result("error", s.text("proxy.bad-line", why=why))
                return
            description = s.ctx.text("nesting.client-description", remote=remote)
        for key, value in (("Owner", s.sender), ("Description", description)) + (
                (("Proxy", remote),) if remote else ()):
            why = config.value_problem(lists.section(name), key, value)
            if why:
                s.result("error", s.text("admin.problem", what=key, why=why))
                return
        number = lists.next_number(cfg, s.ctx.site)
        s.ctx.state.add_section(lists.section(name), dict({
            "Type": cfg.globals("Type"), "Owner": s.sender, "Description": description, "MemberFile": number},
            **({"Proxy": remote} if remote else {})))
        s.ctx.state.clear_list(number)
        # A list destroyed under this name left its rules (RENAMELIST onto the name, the
        # manual's resubscription exercise, takes them up); a new list starts with none.
        s.ctx.state.drop_rules(name)
        s.ctx.state.add_member(number, s.sender)
        audit.list_event(s.ctx, number, "create", s.sender, s.sender)
        copy_files(s, number)
        s.result("ok", s.text("create.done", list=name, address=lists.address(cfg, name), owner=s.sender))
        s.ctx.act("list %s created as %s by %s" % (name, number, s.sender), "CREATE")
        if remote:
            proxy_command.send(s, name, proxy.remote(remote, name))
        if not args.hide and not cfg.globals("SilentCreate"):
            ctx = s.ctx
            membership.announce(s, ctx.text("create.announce.subject", list=name), ctx.text(
                "create.announce", address=lists.address(cfg, name), description=description,
                quoted=membership.quoted(name), robot=ctx.robot_address()) + "\n", exclude=name)


def copy_files(s, number, source="00000000"):
    """The friendlier-message files of the folder of list source (the default archive's),
    copied into a new list's folder."""
    site = s.ctx.site
    source = site.archive_dir(source)
    target = site.archive_dir(number)
    s.ctx.mkdir(target)
    for name in DEFAULT_FILES:
        path = os.path.join(source, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as f:
                s.ctx.write(os.path.join(target, name), f.read())
    for sub in DEFAULT_FOLDERS:
        for name in _files_in(os.path.join(source, sub)):
            with open(os.path.join(source, sub, name), "rb") as f:
                s.ctx.write(os.path.join(target, sub, name), f.read())


def _files_in(folder):
    """The names of the regular files (no link) in folder, sorted."""
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [n for n in names if os.path.isfile(os.path.join(folder, n))
            and not os.path.islink(os.path.join(folder, n))]
