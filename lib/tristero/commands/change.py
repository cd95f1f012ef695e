"""CHANGE old new [list|*]: a member's address changed, options, rights and password kept."""

from tristero.commands.grammar import Word
from tristero.commands.registry import Audience, Command, register
from tristero.model import audit, lists
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import session


@register
class Change(Command):
    names = ("CHANGE",)
    order = 220
    usage = "CHANGE old new [list|*]"
    help = "Change a member's address, keeping options."
    audience = Audience.OWNER
    membership = True
    grammar = (Word("old", upper=False), Word("new", upper=False), Word("scope", optional=True, default="*",
                                                                          upper=False))
    texts = {
        "change.no-list": "there is no list called {list}",
        "change.not-managed": "{address} is not a member of any list you manage",
        "change.taken": "{address} is already a member of {lists}; REMOVE one of them first",
        "change.done": "{old} is now {new} in {lists}",
        "change.done-rules": "{old} is now {new} in {lists}; its rights and password go with it",
    }

    def run(self, s, args):
        old, new, scope = args.old, args.new, args.scope
        cfg = s.ctx.config
        why = session.address_problem(s, new)
        if why:
            s.result("refused", why)
            return
        if scope == "*":
            names = [n for n in cfg.list_names() if old in session.members_of(s, n)]
            names = [n for n in names if rights.may(s.ctx, s.sender, "manage", n, s.password_now())[0]]
        else:
            listname = session.find_list(s, scope)
            if listname is None:
                s.result("error", s.text("change.no-list", list=scope))
                return
            if not session.allowed(s, "manage", listname, "CHANGE"):
                return
            names = [listname] if old in session.members_of(s, listname) else []
        if not names:
            s.result("error", s.text("change.not-managed", address=old))
            return
        for n in names:
            # As ADD: a list of the site in a list only for one who manages both, never in itself.
            why = session.address_problem(s, new, n)
            if why:
                s.result("refused", why)
                return
        taken = [n for n in names if new in session.members_of(s, n)]
        if taken and address_key(new) != address_key(old):
            s.result("error", s.text("change.taken", address=new, lists=", ".join(taken)))
            return
        for n in names:
            number = lists.number(cfg, n)
            _, options = s.ctx.state.remove_member(number, old)
            s.ctx.state.add_member(number, new, options)
            audit.list_event(s.ctx, number, "change %s" % old, new, s.sender)
            audit.security(s.ctx, s.sender, n, "CHANGE %s %s" % (old, new), "done")
            s.ctx.act("%s changed to %s in %s by %s" % (old, new, n, s.sender), "CHANGE")
        moved = self.move_rules(s, old, new, names)
        s.result("ok", s.text("change.done-rules" if moved else "change.done", old=old, new=new,
                              lists=", ".join(names)))

    @staticmethod
    def move_rules(s, old, new, names):
        """The access.ini rules written for exactly old on the lists names now apply to
        new (CHANGE keeps rights, manual: "Dealing With Internet Addresses"); rules for
        every list move only for a PostMaster, or an owner could take a PostMaster's
        rights for an address of their own. Returns how many moved."""
        state = s.ctx.state
        lists_changed = {n.lower() for n in names}
        everywhere = rights.has(rights.flags(s.ctx, s.sender), "P")
        rules = [r for r in state.access() if address_key(r.user) == address_key(old)
                 and (r.list.lower() in lists_changed or (everywhere and r.list in ("", "*")))]
        for r in rules:
            state.set_rule(new, r.list, status=r.status, password=r.password, language=r.language)
            state.set_rule(r.user, r.list, status="", password="", language="")
        return len(rules)
