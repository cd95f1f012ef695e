"""PASSWD list old new (Majordomo): change a list's admin_passwd, kept hashed."""

from tristero.commands.grammar import End, Word
from tristero.commands.registry import Audience, Command, Dialect, register
from tristero.model import audit, lists
from tristero.model.config import majordomo_value
from tristero.policy import rights
from tristero.services import session


@register
class Passwd(Command):
    names = ("PASSWD",)
    dialect = Dialect.MAJORDOMO
    order = 225
    usage = "PASSWD list old new"
    help = ("Change a list's Majordomo password (admin_passwd); old is the list's password, or, before "
            "the list has one, your own password if you have one (any word if not).")
    audience = Audience.OWNER
    # The list is looked up here: a word that names none is never repeated (it may be a
    # password written in the wrong place).
    grammar = (Word("list", upper=False), Word("old", upper=False), Word("new", upper=False), End())
    texts = {
        "passwd.done": "the password of {list} is changed",
        "passwd.wrong": "the old password of {list} is not right",
        "passwd.no-list": "the first word after PASSWD names no list here (usage: PASSWD list old new)",
    }

    def run(self, s, args):
        listname, ctx = session.find_list(s, args.list), s.ctx
        if listname is None:
            s.result("error", s.text("passwd.no-list"))
            return
        why = rights.password_problem(args.new)
        if why:
            s.result("error", s.text(why))
            return
        if majordomo_value(ctx.config, listname, "admin_passwd"):
            if not rights.list_password(ctx, listname, args.old, s.sender, ("admin_passwd",)):
                s.result("refused", s.text("passwd.wrong", list=listname))
                audit.security(ctx, s.sender, listname, "PASSWD", "refused: wrong list password")
                s.refused_privileged.append("PASSWD %s: wrong list password" % listname)
                return
        else:
            ok, why = rights.may(ctx, s.sender, "manage", listname, s.password_now() or args.old)
            if not ok:
                s.result("refused", why)
                audit.security(ctx, s.sender, listname, "PASSWD", "refused: " + why)
                return
        ctx.state.set_config(lists.section(listname), "admin_passwd", rights.hash_password(args.new))
        audit.security(ctx, s.sender, listname, "PASSWD", "done")
        s.result("ok", s.text("passwd.done", list=listname))
        ctx.act("admin_passwd of %s changed by %s" % (listname, s.sender), "PASSWD")
