"""ADESYNC list|* [FULL|RELOAD]: the lists and the organisation's directory, by mail, for
the SuperUser (the manual's ADE synchronisation; see the README, "Directory")."""

from tristero.commands.grammar import ListOrAll, Word
from tristero.commands.registry import Audience, Command, register
from tristero.core import messages
from tristero.model import directory
from tristero.model.people import DirectoryError
from tristero.services import directory as directories
from tristero.services import repository, session


@register
class Adesync(Command):
    names = ("ADESYNC",)
    order = 335
    usage = "ADESYNC list|* [FULL|RELOAD]"
    help = ("The list (or every list: *) as directory entries, sent to you as an LDIF file: the "
            "titles, with FULL the members too. RELOAD applies the directory again now, each list "
            "named rebuilt whole from the last sync (MaxSyncRemovals still holds); after the COOKIE "
            "of a held sync's notice, it applies that sync.")
    audience = Audience.SUPERUSER
    # Checked in run(), for no list: "*" names none.
    right = None
    grammar = (ListOrAll(), Word("how", choices=("FULL", "RELOAD"), optional=True, default=""))
    texts = {
        "adesync.sent": "{count} list(s) sent as directory entries ({size} bytes) in a message of its own",
        "adesync.too-big": "the entries come to {size} bytes, more than MaxReplySize: use "
                           "'tristero.py directory export' on the server",
        "adesync.subject": "Directory entries of {what}",
        "adesync.message": "The lists of {server} as directory entries ({format}), attached.",
        "adesync.every-list": "every list",
        "adesync.confirmed": "the held directory sync {name} is applied",
        "adesync.held-gone": "the cookie is for no held directory sync (applied already, or expired)",
        "adesync.reloaded": "the directory applied again to {what}: {added} added, {removed} removed",
        "adesync.reload-held": "not done: it would remove more than {percent}% of the members of {lists}",
        "adesync.broken-state": "not done: {why}",
    }

    def run(self, s, args):
        ctx, cfg = s.ctx, s.ctx.config
        if not session.allowed(s, "superuser", None, "ADESYNC"):
            return
        names = None if args.list == "*" else [args.list]
        what = args.list if names else s.text("adesync.every-list")
        if args.how == "RELOAD":
            self.reload(s, names, what)
            return
        data = "".join(directories.export(cfg, ctx.site, ctx.state.members, names=names,
                                          with_members=args.how == "FULL")).encode("utf-8")
        if len(data) > repository.max_reply(ctx):
            s.result("refused", s.text("adesync.too-big", size=len(data)))
            return
        msg = ctx.message(s.sender, ctx.text("adesync.subject", s.sender, what=what),
                          ctx.text("adesync.message", s.sender, server=ctx.domain,
                                   format=cfg.get("Directory", "ExportFormat")) + "\n", kind="auto-replied")
        messages.attach(msg, [("lists.ldif", data)])
        ctx.send_message(msg, [s.sender])
        s.result("ok", s.text("adesync.sent", count=len(names or cfg.list_names()), size=len(data)))
        ctx.act("directory entries of %s sent to %s" % (what, s.sender), "ADESYNC")

    def reload(self, s, names, what):
        ctx, cfg = s.ctx, s.ctx.config
        if s.cookie:
            held = directories.held_confirmed(ctx, s.cookie)
            if held is None:
                s.result("refused", s.text("adesync.held-gone"))
                return
            status, why = directories.confirm(ctx, held)
            if status != "done":
                s.result("error", s.text("adesync.broken-state", why=why))
                return
            s.result("ok", s.text("adesync.confirmed", name=held))
            return
        try:
            _, people = directory.load_state(ctx.site)
        except DirectoryError as e:
            s.result("error", s.text("adesync.broken-state", why=str(e)))
            return
        p = directories.plan(ctx, people, people, names, rebuild=True)
        percent = cfg.get("Directory", "MaxSyncRemovals")
        cut = p.held(percent)
        if cut:
            s.result("refused", s.text("adesync.reload-held", percent=percent,
                                       lists=", ".join("%s (%d of %d)" % (lp.name, lp.cut(), lp.before)
                                                       for lp in cut)))
            return
        counts = directories.apply(ctx, p, "ADESYNC by " + s.sender)
        s.result("ok", s.text("adesync.reloaded", what=what, added=counts["added"], removed=counts["removed"]))
