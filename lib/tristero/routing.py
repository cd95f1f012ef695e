"""Routing: which handler an address of the site reaches (MISSION B).

Checked in this order, the first that matches wins:
robot names (ListProcName) -> robot; postmaster, administrator -> SuperUser;
a list's own address -> post; then the suffixes, only for a list that does
not itself end that way: list-request (and list-l-request for a '-l' list)
-> robot with the list filled in; list-owner, owner-list -> the owner
(delivery reports to owner-list are bounces); list-approval -> the owner;
anything else -> a reply saying the address is unknown.
"""

import collections

from . import lists, messages

PEOPLE = ("postmaster", "administrator")


def _loop_marks(m):
    """How often each address stands in the message's X-Loop headers."""
    found = collections.Counter()
    for value in m.msg.get_all("X-Loop") or []:
        for word in messages.clean(value).replace(",", " ").split():
            found[word.strip("<>").lower()] += 1
    return found


def resolve(config, local):
    """(handler name, list name or None) for a local part of the site."""
    lp = local.lower()
    if lp in [n.lower() for n in config.globals("ListProcName")]:
        return "robot", None
    if lp in PEOPLE:
        return "superuser", None
    name = lists.by_local(config, lp)
    if name:
        return "post", name
    for suffix, handler in (("-request", "robot"), ("-owner", "owner"), ("-approval", "approval")):
        if lp.endswith(suffix):
            base = lp[:-len(suffix)]
            name = lists.by_local(config, base) or (
                suffix == "-request" and lists.by_local(config, base + "-l"))
            if name:
                return handler, name
    if lp.startswith("owner-"):
        name = lists.by_local(config, lp[6:].split("+", 1)[0])
        if name:
            return "bounces", name
    return "unknown", None


def route(ctx, m, address):
    """Send m, addressed to address, to its handler."""
    from . import posting, robot
    local, _, domain = address.rpartition("@")
    if domain.lower() not in ctx.domains():
        ctx.act("%s is not an address of this site" % address, "Domain")
        return
    handler, listname = resolve(ctx.config, local)
    # The mark this handler puts on what it sends out (see X-Loop in posting).
    mark = ctx.robot_address() if handler == "robot" else (
        lists.address(ctx.config, listname) if handler == "post" else address.lower())
    marks = _loop_marks(m)[mark]
    if marks:
        if marks == 1 and handler == "robot":
            # BreakLoop: the robot's own mail came back; a person should look.
            forward(ctx, m, ctx.config.globals("SuperUser"), "robot mail came back to the robot")
        else:
            ctx.act("dropped: already passed %s (X-Loop)" % mark, "loop")
        return
    if handler == "robot":
        robot.answer(ctx, m, listname)
    elif handler == "post":
        posting.post(ctx, m, listname)
    elif handler == "superuser":
        forward(ctx, m, ctx.config.globals("SuperUser"), "%s reaches the SuperUser" % local.lower())
    elif handler in ("owner", "approval"):
        forward(ctx, m, ctx.config.raw(lists.section(listname), "Owner") or ctx.config.globals("SuperUser"),
                "%s-%s reaches the owner" % (listname, handler))
    elif handler == "bounces":
        if m.automatic:
            ctx.act("delivery report for %s noted" % listname, "bounce address owner-%s" % listname)
        else:
            forward(ctx, m, ctx.config.raw(lists.section(listname), "Owner") or ctx.config.globals("SuperUser"),
                    "owner-%s reaches the owner" % listname)
    else:
        unknown(ctx, m, address)


def forward(ctx, m, to, rule):
    """Pass the message on, whole, to a person (with our loop mark added)."""
    if not to:
        ctx.act("nobody to forward to (no SuperUser or owner set)", rule)
        return
    data = b"X-Loop: " + ctx.robot_address().encode() + b"\n" + m.raw.replace(b"\r\n", b"\n")
    ctx.send("", [to], data)
    ctx.act("forwarded to %s" % to, rule)


def unknown(ctx, m, address):
    ctx.act("unknown address %s" % address, "routing")
    ctx.reply(m, "There is no list or mailbox %s at %s.\n\n"
                 "To see the lists here, send the word LISTS to %s.\n"
              % (address, ctx.domain, ctx.robot_address()),
              subject="Unknown address: %s" % address)
