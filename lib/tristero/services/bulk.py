"""Bulk membership changes, LISTSERV's ADD list DD=name IMPORT and DELETE list DD=name
BULK: the addresses of a data set (services.datasets), one and an optional name a line,
added to or removed from a list in one change of the state (never one per line), told
nobody (no welcome, no farewell), audited in one append. Every line that cannot be used
is answered with its number. Texts of the area listserv.
"""

from tristero.core import fields, messages
from tristero.model import audit, lists, members
from tristero.model.members import address_key
from tristero.services import datasets, repository, session

MAX_PROBLEMS = 100          # lines not used that the reply names one by one


def data_set(s, name):
    """The lines of the message's data set name (a //name DD * block, else a file attached
    as name), or None after saying there is none."""
    try:
        lines = datasets.in_body(datasets.body(s.m.msg), name)
    except datasets.Cut:
        s.result("refused", s.text("listserv.data-set-cut", name=messages.clean(name, 64),
                                   limit=datasets.MAX_TEXT >> 20))
        return None
    if lines is None:
        lines = datasets.attached(repository.attachments_of(s.m.msg), name)
    if lines is None:
        s.result("error", s.text("listserv.no-data-set", name=messages.clean(name, 64)))
    return lines


def _report(s, problems):
    for n, why in problems[:MAX_PROBLEMS]:
        s.say("  " + s.text("listserv.bulk-line", line=n, why=why))
    if len(problems) > MAX_PROBLEMS:
        s.say("  " + s.text("listserv.bulk-more", count=len(problems) - MAX_PROBLEMS))


def import_members(s, listname, name):
    """ADD listname DD=name IMPORT."""
    lines = data_set(s, name)
    if lines is None:
        return
    ctx = s.ctx
    number = lists.number(ctx.config, listname)
    table = ctx.state.members(number).members
    added, problems, already = {}, [], 0
    for n, address, who in datasets.entries(lines):
        key = address_key(address)
        if key in table or key in added:
            already += 1
            continue
        why = session.address_problem(s, address, listname)
        options = members.clean_options(["NAME " + who]) if who else ""
        if not why and who and fields.problem(who):
            why = s.text("membership.bad-name", name=messages.clean(who, 80), why=fields.problem(who))
        if not why:
            why = members.entry_problem(address, options)
        if why:
            problems.append((n, why))
            continue
        added[key] = (address, options)
    if added:
        ctx.state.add_members(number, added)
        audit.list_events(ctx, number, "subscribe", (a for a, _ in added.values()), s.sender, "import")
    s.result("ok" if not problems else "error", s.text(
        "listserv.imported", list=listname, added=len(added), already=already, bad=len(problems)))
    _report(s, problems)
    ctx.act("%d member(s) imported into %s by %s (%d already, %d line(s) not used)"
            % (len(added), listname, s.sender, already, len(problems)), "ADD IMPORT")


def delete_members(s, listname, name):
    """DELETE listname DD=name BULK."""
    lines = data_set(s, name)
    if lines is None:
        return
    ctx = s.ctx
    number = lists.number(ctx.config, listname)
    keys, problems = [], []
    for n, address, _ in datasets.entries(lines):
        if not messages.is_address(address):
            problems.append((n, s.text("session.not-an-address", address=messages.clean(address, 80))))
            continue
        keys.append(address_key(address))
    removed = ctx.state.remove_members(number, keys)
    if removed:
        audit.list_events(ctx, number, "unsubscribe", (a for a, _ in removed.values()), s.sender, "bulk")
    s.result("ok" if not problems else "error", s.text(
        "listserv.deleted", list=listname, removed=len(removed), absent=len(set(keys)) - len(removed),
        bad=len(problems)))
    _report(s, problems)
    ctx.act("%d member(s) deleted from %s by %s" % (len(removed), listname, s.sender), "DELETE BULK")
