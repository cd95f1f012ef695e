"""DMARC: the policy an author's domain publishes for mail that claims its From.

A list that relays a post keeps its author's From but sends from its own envelope,
and changes the subject and the header: the author's DKIM signature breaks and SPF
passes for the list's domain, not the author's. A receiver then applies the
author domain's DMARC policy: ``p=reject`` (or ``quarantine``) and the post is
refused (or filed as spam) at every member's mailbox. The posting step ``dmarc``
(mail/posting.py) asks ``policy(ctx, author)`` and mitigates (RFC 7960).

Policy discovery, for the author domain D (the From address's domain):

* RFC 7489 6.6.3: the record at ``_dmarc.D``; without one, the record of the
  organisational domain O (the public suffix list, as shipped with the
  ``publicsuffixlist`` package: never fetched at run time) at ``_dmarc.O``.
* DMARCbis (its successor's DNS tree walk): the names between D and O are asked
  too, nearest first, and above O the public suffixes, where a record counts
  only when it says ``psd=y`` (a public suffix operator's policy, RFC 9091).

The first valid record found decides: its ``p=`` for D itself, its ``sp=`` (or,
without one, its ``p=``) for a domain below the one that published it. A name
with several DMARC records has none (RFC 7489). A record without a valid ``p=``
counts as ``none``. A question that gets no answer (time-out, server failure)
counts as ``reject``: a strict policy is the one that loses no post.

Answers are cached per run, per name asked (a thousand posts from one domain cost
one question), and so are the failures; after MAX_FAILURES failed questions in a
run no more are asked (each counts as failed), so that a flood of posts from
domains whose servers never answer costs a run little time.
"""

from __future__ import annotations

from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from tristero.core import nameservers

NONE, QUARANTINE, REJECT = "none", "quarantine", "reject"
POLICIES = (NONE, QUARANTINE, REJECT)
MAX_LABELS = 8          # DMARCbis: a longer domain's walk jumps to its last 7 labels
MAX_FAILURES = 10       # failed questions a run asks before it asks no more

_psl = None


@dataclass(frozen=True)
class Policy:
    """What the author domain asks of receivers: policy (NONE, QUARANTINE, REJECT),
    the domain looked up, and why (the record that decided, or the failure)."""

    domain: str
    policy: str
    why: str

    @property
    def strict(self) -> bool:
        """True for quarantine and reject: mail that fails DMARC does not reach the inbox."""
        return self.policy in (QUARANTINE, REJECT)


def public_suffixes() -> PublicSuffixList:
    """The public suffix list the package ships (read once per process)."""
    global _psl
    if _psl is None:
        _psl = PublicSuffixList()
    return _psl


def author_domain(address: str) -> str:
    """The domain of an address, in lower case and ASCII (IDNA), or "" when it is no
    name DNS can ask about (an address literal, a label too long, ...)."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    try:
        ascii_name = domain.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return ""
    labels = ascii_name.split(".")
    if not domain or len(ascii_name) > 253 or any(
            not label or len(label) > 63 or not all(c.isalnum() or c in "-_" for c in label) for label in labels):
        return ""
    return ascii_name


def walk(domain: str) -> list[tuple[str, bool]]:
    """The names whose _dmarc record is asked for domain, nearest first, each with
    True when only a public suffix's record (psd=y) counts there."""
    labels = domain.split(".")
    organisational = public_suffixes().privatesuffix(domain) or domain
    names = []
    start = 0 if len(labels) <= MAX_LABELS else len(labels) - (MAX_LABELS - 1)
    if start:
        names.append((domain, False))
    for i in range(start, len(labels)):
        name = ".".join(labels[i:])
        if (name, False) in names:
            continue
        names.append((name, len(name) < len(organisational)))
    return names


def parse(record: str) -> dict[str, str] | None:
    """The tags of a DMARC record (lower-case names and values), or None when it is
    not one (it must begin with v=DMARC1)."""
    tags = {}
    for part in record.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            tags.setdefault(name.strip().lower(), value.strip().lower())
    if not record.strip().lower().startswith("v=") or tags.get("v") != "dmarc1":
        return None
    return tags


def _asked(ctx, name: str) -> list[str] | str:
    """The TXT records of name (cached per run), or why there is no answer (a str)."""
    cache = ctx.dmarc_answers
    if name not in cache:
        if ctx.dmarc_failures >= MAX_FAILURES:
            cache[name] = "not asked: %d DNS questions failed in this run" % MAX_FAILURES
        else:
            if ctx.dns is None:
                ctx.dns = nameservers.resolver(ctx.config.globals("Nameservers"))
            try:
                cache[name] = nameservers.txt(ctx.dns, name)
            except nameservers.LookupFailed as e:
                ctx.dmarc_failures += 1
                cache[name] = "no answer (%s)" % e
    return cache[name]


def policy(ctx, address: str) -> Policy:
    """The DMARC policy of address's domain (see the module's docstring)."""
    domain = author_domain(address)
    if not domain:
        return Policy(address.rpartition("@")[2], REJECT,
                      "the domain cannot be looked up in DNS: counted as strict")
    for name, suffix_only in walk(domain):
        qname = "_dmarc." + name
        answer = _asked(ctx, qname)
        if isinstance(answer, str):
            return Policy(domain, REJECT, "%s: counted as strict" % answer)
        found = [tags for tags in map(parse, answer) if tags is not None]
        if len(found) != 1:
            continue
        tags = found[0]
        if suffix_only and tags.get("psd") != "y":
            continue
        value = tags.get("p", "")
        if name != domain and tags.get("sp") in POLICIES:
            value = tags["sp"]
        if value not in POLICIES:
            value = NONE
        tag = "p" if name == domain or tags.get("sp") not in POLICIES else "sp"
        return Policy(domain, value, "%s=%s of %s" % (tag, value, qname))
    return Policy(domain, NONE, "no DMARC record for %s" % domain)
