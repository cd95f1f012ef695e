"""DNS look-ups, through the system's resolver or the servers of ``[Globals] Nameservers``.

One resolver per run (``resolver(setting)``); ``txt(resolver, name)`` answers the TXT
strings of a name, ``[]`` when the name or the record does not exist, and raises
``LookupFailed`` when the question could not be answered (time-out, SERVFAIL, no
server): callers decide what a failure means (for DMARC it counts as a strict policy).
"""

from __future__ import annotations

import dns.exception
import dns.resolver

TIMEOUT = 5.0


class LookupFailed(Exception):
    """A DNS question that got no answer (time-out, server failure, no server)."""


def parse(setting: str) -> list[tuple[str, int]]:
    """``host[:port], ...`` (an IPv6 address in brackets: ``[::1]:53``) as (host, port) pairs."""
    out = []
    for part in setting.replace(",", " ").split():
        host, port = part, "53"
        if part.startswith("["):
            host, _, rest = part[1:].partition("]")
            if rest.startswith(":"):
                port = rest[1:]
        elif part.count(":") == 1:
            host, _, port = part.partition(":")
        port = int(port) if port.isdigit() else 0
        if not host or not 0 < port < 65536:
            raise ValueError("%r is not a name server (host[:port])" % part)
        out.append((host, port))
    return out


def resolver(setting: str = "", timeout: float = TIMEOUT) -> dns.resolver.Resolver:
    """A resolver: the system's (/etc/resolv.conf), or the servers of setting."""
    servers = parse(setting) if setting else []
    if servers:
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [h for h, _ in servers]
        r.nameserver_ports = {h: p for h, p in servers}
    else:
        try:
            r = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            r = dns.resolver.Resolver(configure=False)
    r.lifetime = r.timeout = timeout
    return r


def txt(r: dns.resolver.Resolver, name: str) -> list[str]:
    """The TXT records of name, each one string (its pieces joined), decoded as UTF-8."""
    try:
        answer = r.resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration,
            dns.exception.DNSException) as e:
        raise LookupFailed("%s: %s" % (name, e.__class__.__name__)) from e
    if answer.rrset is None:
        return []
    return [b"".join(rd.strings).decode("utf-8", "replace") for rd in answer.rrset]
