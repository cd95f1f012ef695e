"""Screening: the filters an inbound message passes before it is dispatched.

The pattern sections of tristero.ini are compiled once per run (core.patterns).

Mail from the SuperUser to the robot is not screened (so that a filter can
always be repaired by mail), nor is a delivery report sent to a list's bounce
address by the filters that would hide it from bounce processing.

The text a message brings is searched line by line, each line cut to RFC
5321's 998 characters, and no pattern can try an address at a place more than
one way ("@" is in no part of %1; one entry holds %1 once): what a message
costs grows with its length, never with its square.
"""

import email.utils
import re

from tristero.core import kinds, messages
from tristero.core.kinds import Automatic, AutoReason, Handler
from tristero.core.patterns import MAX_LINE, compiled
from tristero.model import audit, lists, members
from tristero.policy import addresses, authresults, bounces, rights

_HEADER_LINE = re.compile(r"^\s*(?:from|sender)[ \t]*:[ \t]*(\S.*)$", re.I)

# --- what a message is ------------------------------------------------------------

def _end(reason, rule, kind=kinds.Fate.DROPPED):
    return kinds.Disposition(kind, reason, rule)


def _routes(ctx, m):
    """(address, handler, list) for each destination of m, screening's redirects applied."""
    return [(a,) + tuple(m.redirects.get(a) or addresses.resolve(ctx.config, a.rpartition("@")[0]))
            for a in m.destinations]


def _for_bounce_processing(ctx, m, routes):
    """A report sent only to bounce addresses: read there, seen by nobody, never filtered away."""
    return _to_bounce_addresses(routes) and bounces.null_sender(m)


def _to_bounce_addresses(routes):
    """True when every address the message was sent to is a list's bounce address."""
    return bool(routes) and all(h == Handler.BOUNCES for _, h, _ in routes)


def _exempt(ctx, m, routes):
    """Commands from the SuperUser: a filter must never lock out the one who can repair it.
    (Not an author read from the text: that proves nothing.)"""
    return not m.author_recovered and rights.is_superuser(ctx.config, m.author) \
        and all(h == Handler.ROBOT for _, h, _ in routes)


def _warn(ctx, m, why, **fields):
    """Tell an author in the site's own domains why the mail went nowhere, the text why
    (outside ones are not told)."""
    if not ctx.ours(m.author) or m.automatic:
        return
    subject = m.subject() or ctx.text("screening.no-subject", m.author)
    ctx.reply(m, ctx.text("screening.not-delivered", m.author, subject=subject, domain=ctx.domain,
                          why=ctx.text(why, m.author, **fields)) + "\n",
              subject=ctx.text("screening.not-delivered.subject", m.author, subject=subject))
    ctx.act("%s warned" % m.author, "local author")


def _under(address, domains):
    domain = address.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in domains)


def _limited(ctx, lines):
    limit = ctx.config.get("Security", "PreScanLimit")
    return lines[:limit] if limit else lines


def recovered_author(ctx, m):
    """(name, address) from a From: (or Sender:) line of the RFC 822 header quoted in the
    body's first PreScanLimit lines, for mail whose From holds no address at all (see
    pipeline.identify_author: such an author proves nothing); ("", "") if none."""
    for line in _limited(ctx, m.text().splitlines()):
        found = _HEADER_LINE.match(line)
        if found:
            name, address = email.utils.parseaddr(found.group(1))
            if messages.is_address(address):
                m.notes.append("author %s found in the body: the From field is not an address" % address)
                return messages.clean(name, 200), address
    return "", ""


# --- the steps (pipeline.STEPS) -----------------------------------------------------

# The site's addresses whose mail, come back, is its own (not a person's).
_OWN_HANDLERS = (Handler.ROBOT, Handler.BOUNCES, Handler.OWNER, Handler.APPROVAL)


def own_mail(ctx, m):
    """Mark mail the site itself sent that came back: never answered, posted, nor read as a bounce."""
    if addresses.loop_marks(m)[ctx.robot_address()]:
        m.own = "the robot's own mail (X-Loop)"
    elif ctx.ours(m.author) and not bounces.null_sender(m) and addresses.resolve(
            ctx.config, m.author.rpartition("@")[0])[0] in _OWN_HANDLERS:
        m.own = "mail from %s, an address of this site" % m.author
    if m.own:
        m.automatic = m.automatic or Automatic(AutoReason.OWN, m.own)
    return None


def prescan(ctx, m):
    """[PreScan Strings] in the first PreScanLimit lines of the mail PreScanMode names."""
    cfg = ctx.config
    mode = cfg.get("Security", "PreScanMode")
    section = compiled(ctx, "PreScan Strings")
    if not mode or not section.entries:
        return None
    routes = _routes(ctx, m)
    if _exempt(ctx, m, routes):
        return None
    report = bounces.is_report(m) or bool(m.automatic and any(h == Handler.BOUNCES for _, h, _ in routes))
    to_list = any(h == Handler.POST for _, h, _ in routes)
    if not (report or mode == 3 or (mode == 2 and to_list)):
        return None
    original = "\n".join(_scan_lines(ctx, m, report))
    low = original.lower()
    # BOUNCE reads only what came back to a bounce address with the null sender,
    # and acts only when bounces.believe does (a VERP tag, or a Message-ID the
    # list sent); SPAM never blames the author of something that looks like a
    # report (From, X-Failed-Recipients are anyone's to write); ADMIN acts on
    # mail sent to a list.
    trusted = bounces.null_sender(m) and _to_bounce_addresses(routes)
    allowed = ({"DROP"} | ({"SPAM"} if not report else set()) | ({"BOUNCE"} if trusted else set())
               | ({"ADMIN"} if to_list else set()))
    hit = section.first(low, allowed)
    if hit is None:
        return None
    entry, found = hit
    return _PRESCAN[entry.action](ctx, m, entry, _captured(found, original, low), routes)


def _scan_lines(ctx, m, report):
    """The lines prescanning searches: the text, and a report's delivery-status fields."""
    lines = _limited(ctx, [l.strip()[:MAX_LINE] for l in m.text().splitlines()])
    if report:
        fields = []
        for part in m.msg.walk():
            if part.get_content_type() == "message/delivery-status" and isinstance(part.get_payload(), list):
                for block in part.get_payload():
                    fields += [("%s: %s" % (k, messages.clean(v)))[:MAX_LINE] for k, v in block.items()]
        lines += _limited(ctx, fields)
    return lines


def _captured(found, original, low):
    """The address %1 matched, as written (case kept), or None."""
    if "address" not in found.re.groupindex or found.group("address") is None:
        return None
    span = found.span("address")
    # lower() keeps the length of nearly all text; where it did not, the match is good enough.
    text = original[span[0]:span[1]] if len(original) == len(low) else found.group("address")
    text = text.rstrip(".:")
    return text if messages.is_address(text) else None


def _rule(entry):
    return "[PreScan Strings] " + entry.text


def _addressed(ctx, address, routes, handler):
    """The lists m was sent to through handler (post, bounces) that address is a member of."""
    cfg = ctx.config
    names = sorted({n for _, h, n in routes if h == handler and n})
    return [n for n in names if ctx.state.has_member(lists.number(cfg, n), address)]


def _prescan_bounce(ctx, m, entry, address, routes):
    """A failure of address: when the report is believed at a bounce address it reached
    (bounces.believe) and is about address, charged (BounceScore) on every list address
    is on; at BounceScore it leaves them for the BounceList (the manual)."""
    rule = _rule(entry)
    if address is None or ctx.ours(address):
        ctx.act("prescan: %s matched, but %%1 is no outside address" % entry.text, rule)
        return None
    cfg = ctx.config
    believed = []
    for route, _, listname in routes:
        if listname in believed:
            continue
        proof = bounces.believe(ctx, m, listname, route)
        if not proof.ok:
            ctx.act("prescan: %s matched %s, but the report to %s is not believed: %s"
                    % (entry.text, address, route, proof.why), rule)
        elif proof.member and members.address_key(proof.member) != members.address_key(address):
            # The list's own envelope names who the post went to: a report naming another is not about it.
            ctx.act("prescan: %s matched %s, but the report came back from %s: nothing charged on %s"
                    % (entry.text, address, proof.member, listname), rule)
        elif not proof.member and not ctx.state.has_member(lists.number(cfg, listname), address):
            ctx.act("prescan: %s matched %s, who is no member of %s (whose mail the report quotes): "
                    "nothing charged" % (entry.text, address, listname), rule)
        else:
            believed.append(listname)
    charged = []
    if believed:
        bounce_list = lists.find(cfg, cfg.get("Security", "BounceList") or "")
        for listname in cfg.list_names():
            if listname != bounce_list and ctx.state.has_member(lists.number(cfg, listname), address):
                bounces.charge(ctx, listname, bounces.Failure(address, bounces.PERMANENT, "prescan " + entry.text))
                charged.append(listname)
    result = "%s charged a permanent failure on %s" % (address, ", ".join(charged) or "no list")
    audit.security(ctx, m.author, _first_list(routes), "PRESCAN BOUNCE %s" % address, result)
    return _end("prescan BOUNCE: " + result, rule, kind=kinds.Fate.DONE)


def _prescan_spam(ctx, m, entry, address, routes):
    """The author leaves every list for the SpamCheckList when the site's mail server
    vouches for the From (a trusted DMARC pass); otherwise only the lists it wrote to."""
    rule = _rule(entry)
    author = m.author
    cfg = ctx.config
    if ctx.ours(author) or rights.is_superuser(cfg, author):
        result = "dropped; %s is the site's own, so left on its lists" % author
    elif m.author_recovered:
        result = "dropped; %s was read from the message's text, which proves nothing, so left on its lists" \
            % author
    else:
        vouched, why = authresults.dmarc_vouches(cfg, m.msg, author)
        if vouched:
            names = [n for n in cfg.list_names() if ctx.state.has_member(lists.number(cfg, n), author)]
            scope = "every list: DMARC pass for its From by %s" % why
        else:
            # From is anybody's to write: a forged one must not take its owner off every list.
            names = _addressed(ctx, author, routes, Handler.POST)
            scope = "the lists it wrote to: From not vouched for (%s)" % why
        left, target = bounces.move(ctx, author, names, "SpamCheckList", "prescan SPAM")
        result = "dropped; %s left %d list(s)%s%s (%s)" % (
            author, len(left), ": " + ", ".join(left) if left else "", "; now on %s" % target if target else "",
            scope)
    audit.security(ctx, author, _first_list(routes), "PRESCAN SPAM", result)
    return _end("prescan SPAM: " + result, rule)


def _prescan_admin(ctx, m, entry, address, routes):
    rule = _rule(entry)
    for address, handler, listname in routes:
        if handler == Handler.POST and ctx.config.list_value(listname, "HoldInsteadOfDrop"):
            # The list says hold: the post goes on to its moderators (posting's moderation).
            m.hold = "caught by " + rule
            ctx.act("prescan: held for the moderators of %s instead" % listname, rule)
            audit.security(ctx, m.author, listname, "PRESCAN ADMIN", "held for the moderators")
        elif handler == Handler.POST:
            m.redirects[address] = (Handler.ROBOT, listname)
            ctx.act("prescan: sent to the robot instead of %s" % listname, rule)
            audit.security(ctx, m.author, listname, "PRESCAN ADMIN", "sent to the robot")
    return None


def _prescan_drop(ctx, m, entry, address, routes):
    audit.security(ctx, m.author, _first_list(routes), "PRESCAN DROP", "dropped")
    return _end("prescan DROP", _rule(entry))


def _first_list(routes):
    return next((n for _, _, n in routes if n), "")


_PRESCAN = {"BOUNCE": _prescan_bounce, "SPAM": _prescan_spam, "ADMIN": _prescan_admin, "DROP": _prescan_drop}


def spam_list(ctx, m, warn=True):
    """Mail from a member of the SpamCheckList (at a SpamCheckGateways domain) is dropped
    (warn: its author told, when the site's own; DISTRIBUTE POST tells its author itself)."""
    cfg = ctx.config
    listname = lists.find(cfg, cfg.get("Security", "SpamCheckList") or "")
    if listname is None:
        return None
    routes = _routes(ctx, m)
    if _exempt(ctx, m, routes) or _for_bounce_processing(ctx, m, routes):
        return None
    gateways = cfg.get("Security", "SpamCheckGateways")
    if gateways and not _under(m.author, gateways):
        return None
    if not ctx.state.has_member(lists.number(cfg, listname), m.author):
        return None
    if warn:
        _warn(ctx, m, "screening.spam-list")
    return _end("author %s is on the spam list %s" % (m.author, listname), "SpamCheckList %s" % listname)


def kill_authors(ctx, m, warn=True):
    """[Kill Authors] against the From address."""
    return _kill(ctx, m, "Kill Authors", m.author, "author %s" % m.author, warn and "screening.kill-author",
                 author=m.author)


def kill_subjects(ctx, m, warn=True):
    """[Kill Subjects] against the subject."""
    subject = m.subject()
    return _kill(ctx, m, "Kill Subjects", subject, "subject \"%s\"" % subject, warn and "screening.kill-subject",
                 subject=subject)


def _kill(ctx, m, name, field, what, why, **fields):
    """[name] against field: a hit drops m (what: the log's words for field) and warns its
    author with the text why (when given), its fields and the filter."""
    section = compiled(ctx, name)
    if not section.entries:
        return None
    routes = _routes(ctx, m)
    if _exempt(ctx, m, routes) or _for_bounce_processing(ctx, m, routes):
        return None
    hit = section.first(field.lower())
    if hit is None:
        return None
    entry = hit[0]
    if why:
        _warn(ctx, m, why, filter=entry.text, **fields)
    return _end("killed: %s matches \"%s\"" % (what, entry.text), "[%s] %s" % (name, entry.text))


def admin_subjects(ctx, m):
    """Mail to a list whose subject is an [Admin Subjects] entry goes to the robot instead;
    to a list with a Proxy (a client of a remote list) it is filtered out."""
    section = compiled(ctx, "Admin Subjects")
    if not section.entries:
        return None
    posts = [(a, n) for a, h, n in _routes(ctx, m) if h == Handler.POST]
    if not posts:
        return None
    hit = section.first(m.subject().lower())
    if hit is None:
        return None
    rule = "[Admin Subjects] " + hit[0].text
    for address, listname in posts:
        proxy = ctx.config.raw(lists.section(listname), "Proxy")
        if proxy:
            # The manual: the remote list does its own admin; processed here too, it would be done twice.
            m.redirects[address] = (Handler.FILTERED, listname)
            ctx.act("admin subject to %s, a client of %s: filtered out" % (listname, proxy), rule)
        else:
            m.redirects[address] = (Handler.ROBOT, listname)
            ctx.act("admin subject: sent to the robot instead of %s" % listname, rule)
    if all(m.redirects.get(a, ("",))[0] == Handler.FILTERED for a in m.destinations):
        return _end("admin subject to a proxy list: filtered out", rule)
    return None
