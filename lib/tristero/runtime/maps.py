"""tristero.py maps: what the mail server needs to deliver the site's addresses into
spool/in/, for the lists there are now: Postfix main.cf lines and a lookup table, or
an Exim router and transport. Printed, never installed; printed again when lists
change."""

from __future__ import annotations

import grp
import os
import pwd
import re

from tristero.model import config as configmod
from tristero.model import lists
from tristero.model.site import Site
from tristero.policy import bounces
from tristero.policy.addresses import PEOPLE

# A local part that goes into a map as it is: no quoting, no expansion, no list separator.
SAFE = re.compile(r"[a-z0-9_][a-z0-9._=-]*\Z")


def local_parts(cfg: configmod.Config) -> tuple[list[str], list[str], list[str]]:
    """(every local part that reaches Tristero, those that also take a +suffix (the
    VERP return paths of owner-LIST), problems), lower case and sorted."""
    exact = set(PEOPLE) | {n.lower() for n in cfg.globals("ListProcName")} | {bounces.probe_base(cfg)}
    # ROBOT-probe+...@: the return paths of DISTRIBUTE's PROBE envelopes.
    verp, problems = {bounces.probe_base(cfg)} & {n for n in exact if SAFE.match(n)}, []
    for name in cfg.list_names():
        lp = lists.local_part(name)
        if not SAFE.match(lp):
            problems.append("[LIST %s]: its address %r cannot go into a mail server's map; left out" % (name, lp))
            continue
        exact |= {lp, lp + "-request", lp + "-owner", lp + "-approval", "owner-" + lp}
        if lp.endswith("-l") and len(lp) > 2:
            exact.add(lp[:-2] + "-request")
        verp.add("owner-" + lp)
    bad = sorted(lp for lp in exact if not SAFE.match(lp))
    problems += ["ListProcName %r cannot go into a mail server's map; left out" % lp for lp in bad]
    return sorted(exact - set(bad)), sorted(verp), problems


def domains(cfg: configmod.Config) -> list[str]:
    return [d.lower() for d in [cfg.globals("Domain")] + list(cfg.globals("Domains")) if d]


def owner(site: Site) -> tuple[int, int, str, str]:
    """(uid, gid, user name, group name) of spool/in/ (else the site folder): who the
    mail server must deliver as."""
    st = os.stat(site.inbox if os.path.isdir(site.inbox) else site.home)
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return st.st_uid, st.st_gid, user, group


def postfix(site: Site, cfg: configmod.Config) -> str:
    exact, _, _ = local_parts(cfg)
    uid, gid, user, group = owner(site)
    table = os.path.join("/etc/postfix", "tristero_mailbox")
    out = ["# Postfix, for the lists of %s (tristero.py maps --postfix)." % site.home,
           "# Do not list %s in mydestination: a domain there is delivered to the" % ", ".join(domains(cfg)),
           "# system's mailboxes, not to Tristero.",
           "# --- /etc/postfix/main.cf (add; postconf takes '#' only at the start of a line) ---",
           "virtual_mailbox_domains = %s" % ", ".join(domains(cfg)),
           "virtual_mailbox_base = %s" % site.home,
           "virtual_mailbox_maps = texthash:%s" % table,
           "# %s and %s: the owner of spool/in/" % (user, group),
           "virtual_uid_maps = static:%d" % uid,
           "virtual_gid_maps = static:%d" % gid,
           "# owner-LIST+...@ (VERP) is found as owner-LIST@",
           "recipient_delimiter = +",
           "# --- %s (texthash: read as it is; 'postfix reload' after a change) ---" % table]
    for domain in domains(cfg):
        out += ["%s@%s spool/in/" % (lp, domain) for lp in exact]
    return "\n".join(out) + "\n"


def exim(site: Site, cfg: configmod.Config) -> str:
    exact, verp, _ = local_parts(cfg)
    _, _, user, group = owner(site)
    doms = " : ".join(domains(cfg))
    out = ["# Exim, for the lists of %s (tristero.py maps --exim)." % site.home,
           "# %s must be in domainlist local_domains (and in no other router's domains)." % doms,
           "# --- the routers, in 'begin routers' before those for other local users ---",
           "tristero:",
           "  driver = accept",
           "  domains = %s" % doms,
           "  local_parts = %s" % " : ".join(exact),
           "  transport = tristero_spool",
           ""]
    if verp:
        out += ["# owner-LIST+...@: the VERP return paths of the lists' posts",
                "tristero_verp:",
                "  driver = accept",
                "  domains = %s" % doms,
                "  local_parts = %s" % " : ".join(verp),
                "  local_part_suffix = +*",
                "  transport = tristero_spool",
                ""]
    out += ["# --- the transport, in 'begin transports' ---",
           "tristero_spool:",
           "  driver = appendfile",
           "  directory = %s" % site.inbox,
           "  maildir_format",
           "  delivery_date_add",
           "  envelope_to_add",
           "  return_path_add",
           "  headers_add = X-Original-To: $original_local_part@$original_domain",
           "  user = %s" % user,
           "  group = %s" % group]
    return "\n".join(out) + "\n"


def maps(site: Site, which: str | None, err) -> str:
    """The text of tristero.py maps: which is "postfix", "exim" or None (both); the
    lists left out are said on err."""
    cfg = configmod.load(site.home)
    for problem in local_parts(cfg)[2]:
        err.write("tristero: maps: %s\n" % problem)
    if owner(site)[0] == 0:
        err.write("tristero: maps: spool/in/ belongs to root, and neither Postfix nor Exim delivers as "
                  "root: give the site to its own user (chown -R) and run maps again\n")
    parts = []
    if which in (None, "postfix"):
        parts.append(postfix(site, cfg))
    if which in (None, "exim"):
        parts.append(exim(site, cfg))
    return "\n".join(parts)
