"""Proxy (client) lists (the manual's "Commands For Proxy Lists" and "Gatewaying"): a
local list subscribed by mail to a remote list (its Proxy, the remote list's address),
so the site receives one copy of each remote post and passes it to its own members.

PROXY sends the remote list's robot a command from the list's own address, in the
syntax of the remote system, chosen from the remote address (remote); mail from the
remote list (its envelope sender or Sender: one of the addresses a list server sends
from, or one given in ProxySenders) is accepted for the local list (from_remote); a
member with the REMOTE option (written [list@remote] to ADD) is a remote list itself:
it gets the local posts but never one that came from its own host (skipped), and
ProxyReply sets the reply type of the copies it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tristero.core import messages
from tristero.model import lists, members, spools
from tristero.policy import authresults, rights
from tristero.services.context import Context, Inbound

REMOTE = "REMOTE"          # the member option of a remote list ([list@remote])
MAX_LINE = 400             # characters of a command line sent to a remote robot

# The robots a remote address may name (its local part, or its host's first label).
_ROBOTS = (("listserv", "LISTSERV"), ("majordomo", "Majordomo"), ("listproc", "Listproc"),
           ("mailbase", "Mailbase"))


@dataclass
class Remote:
    """A remote list: its server's kind, where commands go, its name there, its address."""

    system: str
    robot: str
    name: str
    address: str

    @property
    def host(self) -> str:
        return self.address.rpartition("@")[2].lower()


def remote(address: str, fallback_name: str = "") -> Remote:
    """The remote list of address (its posting address, or its robot's address, or
    Mailman's LIST-request address), and the system it runs, chosen from the address:
    a host named listserv., majordomo., listproc. or mailbase. (or a robot's own local
    part) names the system; else Mailman's LIST-request@ (which Tristero answers too)."""
    local, _, host = address.rpartition("@")
    low, first = local.lower(), host.lower().split(".")[0]
    for word, system in _ROBOTS:
        if low == word:
            name = fallback_name
            return Remote(system, address, name, "%s@%s" % (lists.local_part(name), host))
        if first == word:
            return Remote(system, "%s@%s" % (word, host), local, address)
    if low.endswith("-request"):
        return Remote("Mailman", address, local[:-len("-request")], "%s@%s" % (local[:-len("-request")], host))
    return Remote("Mailman", "%s-request@%s" % (local, host), local, address)


def of(ctx: Context, listname: str) -> Optional[Remote]:
    """The remote list listname is a client of (its Proxy), or None."""
    address = ctx.config.raw(lists.section(listname), "Proxy")
    return remote(address.strip(), listname) if address and address.strip() else None


def default_command(r: Remote, list_address: str, full_name: str) -> str:
    """The subscription command of r's system for the local list (the manual: "Tristero
    will create one based on the local list name and the remote subscription address")."""
    name = " ".join(full_name.split()) or list_address
    return {
        "LISTSERV": "SUBSCRIBE %s %s" % (r.name, name),
        "Listproc": "SUBSCRIBE %s %s" % (r.name, name),
        "Majordomo": "subscribe %s %s" % (r.name, list_address),
        "Mailbase": "join %s %s" % (r.name, name),
    }.get(r.system, "subscribe")


def line_problem(line: str) -> Optional[str]:
    """Why line cannot be sent as a command (one line of text, at most MAX_LINE), or None."""
    if not line.strip():
        return "an empty command"
    if len(line) > MAX_LINE:
        return "a command line of more than %d characters" % MAX_LINE
    if any(ord(c) < 32 or ord(c) == 127 for c in line):
        return "a command line with control characters"
    return None


def address_problem(r: Remote) -> Optional[str]:
    """Why r's robot cannot be mailed (not an address an envelope takes), or None."""
    if not spools.valid_envelope_address(r.robot) or "@" not in r.robot or not r.name:
        return "%s is no address a command can be sent to" % messages.clean(r.robot, 100)
    return None


def send_command(ctx: Context, listname: str, r: Remote, line: str) -> None:
    """Send line to r's robot from the list's own address (so the remote server
    subscribes that address), its answers to LIST-owner@ (the owner), its delivery
    reports to owner-LIST@. Not marked automatic: a robot does not answer automatic
    mail."""
    cfg = ctx.config
    local = lists.local_part(listname)
    frm = lists.address(cfg, listname)
    msg = messages.new_message(frm, r.robot, line, line + "\n", ctx.now, ctx.ids.message_id(ctx.ids.next()),
                               [("Reply-To", "%s-owner@%s" % (local, ctx.domain)), ("X-Loop", frm)])
    ctx.send_message(msg, [r.robot], sender="owner-%s@%s" % (local, ctx.domain))


def _senders(r: Remote) -> set[str]:
    """The addresses a list server sends r's posts from (envelope or Sender)."""
    name, host = r.name.lower(), r.host
    return {"%s@%s" % (local, host) for local in (
        name, "owner-" + name, name + "-owner", name + "-bounces", name + "-request", name + "-errors",
        "owner-" + name + "-l" if not name.endswith("-l") else "owner-" + name)}


def _bare(address: str) -> str:
    """address without a VERP or sub-address tag (owner-list+tag@host, list-bounces+x=y@host)."""
    local, _, host = address.rpartition("@")
    return "%s@%s" % (local.split("+", 1)[0], host.lower())


def from_remote(ctx: Context, m: Inbound, listname: str) -> Optional[str]:
    """Why m is mail from the remote list listname is a client of (so it is accepted for
    the list as the remote list's post), or None: its envelope sender (or, vouched for by
    a DKIM pass under TrustedAuthservIds, its Sender) is one the remote list's server sends
    from or an address in the list's ProxySenders; or it is one a GRANT of its own lets
    post to the list."""
    r = of(ctx, listname)
    if r is None:
        return None
    extra = {a.lower() for a in ctx.config.list_value(listname, "ProxySenders")}
    known = _senders(r) | extra
    trusted = ctx.config.get("Security", "TrustedAuthservIds")
    envelope = m.return_path.strip("<> ") if m.return_path else ""
    for address in _claims(m):
        if _bare(address).lower() in known or address.lower() in known:
            host = address.rpartition("@")[2]
            if not trusted and address != envelope:
                # A Sender field is anyone's to write, and the remote list's addresses
                # are public: without the mail server's word, only the envelope counts.
                ctx.act("not taken as the remote list's mail: Sender %s is only claimed" % address,
                        "Proxy")
                continue
            if trusted:
                # The mail server says whether the claim is true (SPF or DKIM for its host).
                # SPF vouches for the envelope sender only (another at a shared list host
                # passes it too): a Sender field needs a DKIM signature of the host.
                vouched, why = authresults.domain_vouched(ctx.config, m.msg, host,
                                                          ("spf", "dkim") if address == envelope else ("dkim",))
                if not vouched:
                    ctx.act("not taken as the remote list's mail: %s" % why, "Proxy, TrustedAuthservIds")
                    continue
            return "from the remote list %s (Proxy)" % r.address
        if _granted(ctx, address, listname):
            return "from the remote list %s: %s may post (GRANT)" % (r.address, address)
    return None


def _granted(ctx: Context, address: str, listname: str) -> bool:
    """True when a rule of access.ini for address itself (no wildcard: not the list's
    Type, nor a rule for everyone) lets it post to listname (GRANT Poster TO address)."""
    for rule in ctx.state.access():
        if "*" not in rule.user and rule.priority(address, listname) is not None \
                and rights.has(rule.granted - rule.masked, "W"):
            return True
    return False


def _claims(m: Inbound) -> list[str]:
    """The envelope sender and the Sender of m (the addresses a list server sends from)."""
    found = [m.return_path.strip("<> ")] if m.return_path else []
    found += [a for _, a in messages.addresses(m.msg, "Sender")]
    return [a for a in found if "@" in a]


def remote_members(ctx: Context, listname: str) -> list[str]:
    """The members of listname that are remote lists (the REMOTE option), in file order."""
    number = lists.number(ctx.config, listname)
    if not number:
        return []
    if not ctx.state.loaded(number) and not members.mentions(ctx.site.member_file(number), REMOTE.lower()):
        return []
    return [address for address, options in ctx.state.members(number).items()
            if options and members.option_word(options, REMOTE) and members.receives_posts(options)]


def origin_hosts(m: Inbound, came_from: Optional[Remote]) -> set[str]:
    """The hosts a post came from: its author's, its envelope sender's, its Sender's and,
    for the remote list's mail, the remote list's."""
    hosts = {a.rpartition("@")[2].lower() for a in [m.author] + _claims(m) if a and "@" in a}
    if came_from is not None:
        hosts.add(came_from.host)
    return hosts
