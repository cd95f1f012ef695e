"""PROXY list [command line]: the owner of a client list sends the remote list's robot a
command from the list's own address, in the syntax of the remote system (none given:
the subscription command of that system, services.proxy.default_command)."""

from tristero.commands.grammar import ListName, Rest
from tristero.commands.registry import Audience, Command, register
from tristero.core import redact
from tristero.model import lists
from tristero.services import proxy


@register
class Proxy(Command):
    names = ("PROXY",)
    order = 295
    usage = "PROXY list [command line]"
    help = ("Send the remote list that a list is a client of (its Proxy) a command line, from the "
            "list's own address; without one, the command that subscribes the list there.")
    audience = Audience.OWNER
    right = "manage"
    grammar = (ListName(), Rest("line", join=True))
    texts = {
        "proxy.not-client": "{list} is the client of no remote list: set one with SET {list} PROXY list@host, "
                            "or create the list with CREATECLIENT",
        "proxy.bad-line": "not sent: {why}",
        "proxy.sent": "{verb} command sent to {robot} ({system}) from {address}; the answers go to {owner}",
    }

    def run(self, s, args):
        r = proxy.of(s.ctx, args.list)
        if r is None:
            s.result("error", s.text("proxy.not-client", list=args.list))
            return
        send(s, args.list, r, args.line)


def send(s, listname, r, line=""):
    """Send line (or the subscription of listname in r's syntax) to r's robot, and say so."""
    cfg = s.ctx.config
    address = lists.address(cfg, listname)
    line = " ".join(line.split()) or proxy.default_command(
        r, address, cfg.raw(lists.section(listname), "Description") or listname)
    why = proxy.line_problem(line) or proxy.address_problem(r)
    if why:
        s.result("error", s.text("proxy.bad-line", why=why))
        return
    proxy.send_command(s.ctx, listname, r, line)
    verb = redact.subject(line.split()[0]).upper()      # PW=... first: not named
    s.result("ok", s.text("proxy.sent", verb=verb, robot=r.robot, system=r.system, address=address,
                          owner="%s-owner@%s" % (lists.local_part(listname), s.ctx.domain)))
    # The line itself is not logged: it may carry the remote list's password.
    s.ctx.act("%s command sent to %s (%s) for %s by %s" % (verb, r.robot, r.system, listname, s.sender), "PROXY")
