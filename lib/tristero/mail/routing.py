"""Routing: a message to an address of the site goes to that address's handler
(policy.addresses.resolve says which): the robot, a list's posting, the bounce
reader, or a person it is forwarded to."""

from tristero.core import redact
from tristero.core.kinds import Handler
from tristero.mail import posting, robot, webform
from tristero.model import lists
from tristero.policy import bounces, feedback, rights
from tristero.policy.addresses import loop_marks, resolve
from tristero.services import moderation, reports


def route(ctx, m, address):
    """Send m, addressed to address (one of the site's), to its handler.

    Returns False when the message was dropped there (a loop), else True.
    """
    local = address.rpartition("@")[0]
    if bounces.is_probe_address(ctx, local) and not m.redirects.get(address):
        # The return paths of DISTRIBUTE's PROBE envelopes: a report, or a person (who
        # reaches the SuperUser, as at owner-LIST@ the owner).
        if m.automatic or bounces.is_report(m):
            # A mailing's delivery first (its return paths have this form too), else a PROBE.
            if not reports.handle(ctx, m, address):
                probed = bounces.handle_probe(ctx, m, address)
                if probed:      # a PROBE of a job with a report (ACK=): its failure there too
                    job, failure = probed
                    reports.note(ctx, job, 1, failure.address, failure, "PROBE of job %s" % job)
        elif not loop_marks(m)[address.lower()]:
            forward(ctx, m, ctx.config.globals("SuperUser"), "%s reaches the SuperUser" % local.lower(),
                    address.lower())
        else:
            ctx.act("dropped: already passed %s (X-Loop)" % address.lower(), "loop")
            return False
        return True
    # Screening may send mail for a list to the robot instead (admin subjects, prescan).
    handler, listname = m.redirects.get(address) or resolve(ctx.config, local)
    if handler == Handler.FILTERED:
        return False        # screening dropped this copy, and said why
    # The mark this handler puts on what it sends out: the robot's and a list's
    # (see X-Loop in posting), or, for mail passed on to a person, the address
    # it came in at (see forward).
    mark = ctx.robot_address() if handler == Handler.ROBOT else (
        lists.address(ctx.config, listname) if handler in (Handler.POST, Handler.MERGE) else address.lower())
    marks = loop_marks(m)[mark]
    if marks:
        if marks == 1 and handler == Handler.ROBOT:
            # BreakLoop: the robot's own mail came back; a person should look.
            forward(ctx, m, ctx.config.globals("SuperUser"), "robot mail came back to the robot", mark)
            return True
        ctx.act("dropped: already passed %s (X-Loop)" % mark, "loop")
        return False
    if m.own and handler in (Handler.POST, Handler.MERGE, Handler.BOUNCES):
        # Never a post (a loop) nor a failure charged to a member: it is no report.
        ctx.act("dropped: %s, not %s" % (m.own, "posted" if handler != Handler.BOUNCES else "read as a bounce"), "loop")
        return False
    if m.own and handler == Handler.ROBOT:
        forward(ctx, m, ctx.config.globals("SuperUser"), "the site's own mail came to the robot (%s)" % m.own, mark)
        return True
    if handler in (Handler.ROBOT, Handler.BOUNCES) and feedback.is_feedback(m):
        # A receiver's complaint (ARF): read where delivery reports and the robot's mail arrive.
        feedback.handle(ctx, m, listname, address)
        return True
    if listname and handler in (Handler.ROBOT, Handler.POST, Handler.MERGE, Handler.OWNER, Handler.APPROVAL,
                                Handler.BOUNCES) \
            and not (handler == Handler.BOUNCES and m.return_path == "") and not rights.sees(ctx, m.author, listname):
        # A Hidden list's addresses answer a stranger as addresses that do not exist
        # (owner-LIST@ still takes the delivery reports of the list's own mail).
        handler = Handler.UNKNOWN
    if handler == Handler.ROBOT:
        form = None
        if listname is None and webform.is_form_address(local):
            form = webform.from_address(local) or ""     # a web form by mail (its CGI address)
        robot.answer(ctx, m, listname, form=form)
        # What moderators approved goes out through the posting steps; each moderator is told.
        for held_list, author, raw, post_id in moderation.released(ctx):
            posting.release(ctx, held_list, author, raw, "held/" + post_id)
        moderation.released(ctx).clear()
        moderation.tell_moderators(ctx)
        # DISTRIBUTE POST's data sets, each the post of the author the job's password proved.
        for posted in ctx.outcome.distributed_posts:
            posting.distributed(ctx, *posted)
        ctx.outcome.distributed_posts.clear()
    elif handler == Handler.POST:
        posting.post(ctx, m, listname)
    elif handler == Handler.MERGE:
        posting.merge_post(ctx, m, listname)
    elif handler == Handler.SUPERUSER:
        forward(ctx, m, ctx.config.globals("SuperUser"), "%s reaches the SuperUser" % local.lower(), mark)
    elif handler in (Handler.OWNER, Handler.APPROVAL):
        forward(ctx, m, _owner(ctx, listname), "%s-%s reaches the owner" % (listname, handler), mark)
    elif handler == Handler.BOUNCES:
        if not bounces.handle(ctx, m, listname, address):
            forward(ctx, m, _owner(ctx, listname), "owner-%s reaches the owner" % listname, mark)
    else:
        unknown(ctx, m, address)
    return True


def _owner(ctx, listname):
    return lists.owner(ctx.config, listname)


def forward(ctx, m, to, rule, mark):
    """Pass the message on, whole (its passwords starred: redact.stored), to a person,
    marked X-Loop: mark.

    The mark is the address the message came in at, so that a copy the mail
    server brings back (the SuperUser may well be postmaster@ of this very
    site) is dropped instead of forwarded again and again.
    """
    if not to:
        ctx.act("nobody to forward to (no SuperUser or owner set)", rule)
        return
    # Whole, but for its passwords (an Approved: field sent to an owner's address).
    data = b"X-Loop: " + mark.encode("ascii", "replace") + b"\n" + (redact.stored(m) or m.raw).replace(b"\r\n", b"\n")
    ctx.send("", [to], data)
    ctx.act("forwarded to %s" % to, rule)


def unknown(ctx, m, address):
    ctx.act("unknown address %s" % address, "routing")
    ctx.reply(m, ctx.text("routing.unknown-address", m.author, address=address, domain=ctx.domain,
                          robot=ctx.robot_address()) + "\n",
              subject=ctx.text("routing.unknown-address.subject", m.author, address=address))
