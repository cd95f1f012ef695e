"""Lists within lists (the manual's "Lists within Lists"): a member of a list may be
another list of the site, written as its address (ADD master sales-l). A post to the
master reaches every address of every list below it, to any depth, once each, in the
same run: the lists reached are found first (walk), then their recipients are merged.

Every member file streams in one order (members.domain_order: each write keeps it, a
list loaded in memory is sorted), so the recipients of all the lists reached are
merged as sorted streams (heapq.merge): an address in two lists comes out twice in a
row and is sent once. Memory grows with the number of lists, never with their members.

BreakLoop (Globals): 1, no list contains a list (ADD refuses one; a list's address
found among the members gets no copy); 0, hierarchies are allowed and a loop (a list
that contains itself, at any depth) is named in the log and to the SuperUser, each
list still getting each post once.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Optional

from tristero.core.kinds import Handler
from tristero.model import lists, members
from tristero.policy import addresses
from tristero.services.context import Context

_SEEN, _DONE = 1, 2


def sub_list(ctx: Context, address: str) -> Optional[str]:
    """The list of the site whose posting address address is, or None."""
    if "@" not in address or not ctx.ours(address):
        return None
    handler, name = addresses.resolve(ctx.config, address.rpartition("@")[0])
    return name if handler == Handler.POST else None


def holders(ctx: Context, listname: str) -> list[tuple[str, str, str]]:
    """[(list, its number, address)] of each other list of the site that holds the address
    of listname (on any domain of the site) as a member; a member file that holds the
    address nowhere is not loaded."""
    cfg, local, found = ctx.config, lists.local_part(listname), []
    for other in cfg.list_names():
        number = lists.number(cfg, other)
        if other == listname or not number:
            continue
        for domain in ctx.domains():
            address = "%s@%s" % (local, domain.lower())
            if (ctx.state.loaded(number) or members.mentions(ctx.site.member_file(number), address)) \
                    and ctx.state.members(number).get(address) is not None:
                found.append((other, number, address))
    return found


def _ours(ctx: Context) -> tuple[set[str], set[str]]:
    """(the site's domains, the local parts of its lists), lower case: an address outside
    both is no list of the site."""
    return {d.lower() for d in ctx.domains()}, {lists.local_part(n) for n in ctx.config.list_names()}


def _order(address: str) -> tuple[str, str]:
    return members.domain_order(members.address_key(address))


def _recipients(ctx: Context, listname: str) -> Iterator[str]:
    """The recipients of listname's own member file (members taking posts), in
    domain_order: streamed from the file, or sorted when the list is loaded (an
    address added this run stands at the end until the file is written)."""
    number = lists.number(ctx.config, listname)
    if not number:
        return iter(())
    if ctx.state.loaded(number):
        return iter(sorted(ctx.state.recipients(number)[1], key=_order))
    return iter(ctx.state.recipients(number)[1])


def direct(ctx: Context, listname: str) -> list[str]:
    """The lists that are members of listname taking its posts, in member order."""
    number = lists.number(ctx.config, listname)
    if not number:
        return []
    if not ctx.state.loaded(number):
        path = ctx.site.member_file(number)
        # A member file that names none of the site's domains holds no list: read at
        # the speed of a search, not address by address.
        if not any(members.mentions(path, "@" + d.lower()) for d in ctx.domains()):
            return []
    found = []
    ours, locals_ = _ours(ctx)
    for address in ctx.state.recipients(number)[1]:
        local, _, domain = address.rpartition("@")
        if domain.lower() not in ours or local.lower() not in locals_:
            continue        # the common case, decided without a look-up
        name = sub_list(ctx, address)
        if name and name not in found:
            found.append(name)      # itself among them: a loop, which walk names
    return found


def holds_lists(ctx: Context, listname: str) -> bool:
    """True when a member of listname (NOMAIL too) is a list of the site."""
    number = lists.number(ctx.config, listname)
    ours, locals_ = _ours(ctx)
    for address, _ in ctx.state.members(number).items() if number else ():
        local, _, domain = address.rpartition("@")
        if domain.lower() in ours and local.lower() in locals_ and sub_list(ctx, address):
            return True
    return False


@dataclass
class Tree:
    """The lists a post to top reaches: top first, each once; the loops met (each the
    path of lists that closes it, the first and last the same); blocked: the lists
    found as members while BreakLoop forbids lists in lists."""

    top: str
    reached: list[str] = field(default_factory=list)
    loops: list[list[str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def nested(self) -> bool:
        return len(self.reached) > 1 or bool(self.loops) or bool(self.blocked)


def walk(ctx: Context, top: str) -> Tree:
    """The lists below top, depth first (each list's members read once)."""
    tree = Tree(top, [top])
    if ctx.config.globals("BreakLoop"):
        tree.blocked = direct(ctx, top)
        return tree
    state = {top: _SEEN}
    path = [top]
    stack = [iter(direct(ctx, top))]
    while stack:
        sub = next(stack[-1], None)
        if sub is None:
            state[path.pop()] = _DONE
            stack.pop()
            continue
        seen = state.get(sub)
        if seen == _SEEN:
            tree.loops.append(path[path.index(sub):] + [sub])
        elif seen is None:
            state[sub] = _SEEN
            tree.reached.append(sub)
            path.append(sub)
            stack.append(iter(direct(ctx, sub)))
    return tree


class Via(str):
    """An address a post reaches through a sub-list: the address, with the list it is a
    member of (via), for what names the recipient's own list (a one-click link, VERP)."""

    __slots__ = ("via",)

    def __new__(cls, address: str, via: str) -> Via:
        self = super().__new__(cls, address)
        self.via = via
        return self


def _tagged(ctx: Context, listname: str, i: int) -> Iterator[tuple[tuple[str, str], int, str]]:
    for address in _recipients(ctx, listname):
        yield _order(address), i, address


class Recipients:
    """The addresses a post to the lists of a Tree goes to: the recipients of every list
    reached, merged in domain order, each address once (as a member of the highest list
    it is in: the top, else a Via), the lists' own addresses and skip left out.
    Iterable again and again (one pass counts, the next sends)."""

    def __init__(self, ctx: Context, tree: Tree, skip: frozenset[str] = frozenset()) -> None:
        self.ctx, self.tree, self.skip = ctx, tree, skip

    def __iter__(self) -> Iterator[str]:
        ctx, reached, skip = self.ctx, self.tree.reached, self.skip
        ours, locals_ = _ours(ctx)
        last = None
        merged = heapq.merge(*[_tagged(ctx, name, i) for i, name in enumerate(reached)])
        for (domain, key), i, address in merged:
            if key == last:
                continue
            last = key
            if (skip and key in skip) or (domain in ours and key.rpartition("@")[0] in locals_
                                          and sub_list(ctx, address)):
                continue
            yield address if i == 0 else Via(address, reached[i])


def recipients(ctx: Context, listname: str, skip: frozenset[str] = frozenset(),
               tree: Optional[Tree] = None) -> tuple[int, object]:
    """(how many, the addresses) a post to listname goes to, its sub-lists expanded, the
    addresses of skip (address keys) left out: State.recipients itself when no member is
    a list and none is skipped; loops and lists that BreakLoop keeps out are logged,
    and a loop told to the SuperUser. tree: walk(ctx, listname), when the caller has it."""
    tree = tree or walk(ctx, listname)
    if not tree.nested and not skip:
        return ctx.state.recipients(lists.number(ctx.config, listname))
    if tree.blocked:
        ctx.act("list(s) %s among the members of %s get no copy" % (", ".join(tree.blocked), listname),
                "BreakLoop = 1")
    if len(tree.reached) > 1:
        ctx.act("sub-list(s) of %s expanded: %s" % (listname, ", ".join(tree.reached[1:])), "lists within lists")
    for loop in tree.loops:
        report_loop(ctx, listname, loop)
    found = Recipients(ctx, tree, skip)
    return sum(1 for _ in found), found


def report_loop(ctx: Context, listname: str, loop: list[str]) -> None:
    """A loop of lists, in the log (each post that meets it) and to the SuperUser (once a
    run: a busy list would send a notice a post)."""
    chain = " > ".join(loop)
    ctx.act("loop of lists met in a post to %s: %s (each list sent the post once)" % (listname, chain),
            "lists within lists")
    cycle = frozenset(loop)
    if cycle in ctx.loops_told:
        return
    ctx.loops_told.add(cycle)
    superuser = ctx.config.globals("SuperUser")
    ctx.notify(ctx.text("nesting.loop-subject", superuser or None, list=listname),
               ctx.text("nesting.loop", superuser or None, list=listname, chain=chain) + "\n")


def tree_lines(ctx: Context, top: str, depth: int, limit: int,
               may_open: Callable[[str], bool],
               conceals: Callable[[str], bool] = lambda name: False
               ) -> Iterator[tuple[int, str, str, Optional[str]]]:
    """The indented member tree of top for MEMBERS, depth first: (level, member address,
    its options, what it is: None for a person, "list" for a sub-list shown below it, "loop" for a
    list that contains itself, "deeper" for a sub-list below MaxListDepth, "closed" for
    one whose members the reader may not see (may_open(list) says), "blocked" when
    BreakLoop forbids lists in lists, "concealed" for a member set CONCEAL of a list whose
    concealed members the reader may not see (conceals(list) says): never opened, its
    address for counting only). At most limit lines."""
    blocked = bool(ctx.config.globals("BreakLoop"))
    count = 0
    path = [top]
    stack = [iter(_members(ctx, top))]
    while stack and count < limit:
        address, options = next(stack[-1], (None, ""))
        if address is None:
            stack.pop()
            path.pop()
            continue
        level = len(stack) - 1
        count += 1
        if options and members.option_word(options, "CONCEAL") and conceals(path[-1]):
            yield level, address, options, "concealed"
            continue
        name = sub_list(ctx, address)
        if name is None:
            yield level, address, options, None
        elif blocked:
            yield level, address, options, "blocked"
        elif name in path:
            yield level, address, options, "loop"
        elif len(path) > depth:
            yield level, address, options, "deeper"
        elif not may_open(name):
            yield level, address, options, "closed"
        else:
            yield level, address, options, "list"
            path.append(name)
            stack.append(iter(_members(ctx, name)))


def _members(ctx, listname):
    """(address, options) of every member of listname, NOMAIL too, in file order."""
    number = lists.number(ctx.config, listname)
    if not number:
        return iter(())
    return iter(ctx.state.members(number).items())
