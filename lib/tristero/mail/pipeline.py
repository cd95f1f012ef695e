"""The pipeline: what happens to one inbound message, step by step.

Each step takes the Context and the Inbound message and either returns None
(go on) or a Disposition that ends the message's journey. The order is the
table STEPS, read top to bottom. Nothing here writes to disk: steps and the
handlers they call collect an Outcome (mail to send, files to write, lines
to log) that the batch commits in one place.
"""

import email.utils

from tristero.core import messages
from tristero.core.kinds import Automatic, AutoReason, Disposition, Fate, failed
from tristero.core.messages import clean
from tristero.mail import routing, screening

# --- the steps ---

def read(ctx, m):
    if not m.raw or m.raw.isspace():
        return failed("empty file", "not a message")
    try:
        m.msg = messages.read(m.raw, ctx.config.globals("MaxParts"))
    except messages.Unreadable as e:
        return failed("not read: %s" % e, "header bounds")
    except messages.TooManyParts as e:
        # Only its header is read: enough to answer its author (see too_many_parts).
        m.too_many_parts = (str(e), e.rule)
        m.msg = messages.read(messages.split_raw(m.raw)[0] + b"\n", 0)
    if not m.msg.keys():
        return failed("no header fields", "not a message")
    m.id = messages.header(m.msg, "Message-ID") or m.name
    return None


def identify_author(ctx, m):
    found = messages.addresses(m.msg, "From")
    m.author_name, m.author = found[0] if found else ("", "")
    raw = " ".join(_from_fields(m.msg))
    written = "" if m.author else _address_written(m.msg)
    if written and not any(a in raw for a in _AT):
        # "From: =?utf-8?q?boss=40example.org?=": RFC 2047 forbids an address in an
        # encoded word, and the mail server's checks (DMARC) never saw this one.
        return failed("the From field's address %s is not written in it as such (an encoded word, "
                      "where RFC 2047 forbids one)" % written, "author")
    if "=?" in m.author:
        # An encoded word as a local part (=?utf-8?q?j=C3=B6hn?=@...) is no address.
        return failed("the From field holds an address this site cannot use (%s)" % m.author, "author")
    if len(found) > 1:
        # "From: carol@example.com <mallory@evil.example>" reads as two mailboxes; the
        # mail server checked the one in brackets. Which one wrote is not plain: neither.
        return failed("the From field names %d addresses (%s): which one wrote is not plain"
                      % (len(found), ", ".join(a for _, a in found[:3])), "author")
    if not m.author:
        if written:
            # Not answered: the address cannot be used, and Return-Path is anyone's
            # to write (an answer there would be reflected at a stranger). Nor is a
            # From: line of the text read instead: it would pass for the author the
            # mail server checked (DMARC, DKIM) in the From field.
            return failed("the From field holds an address this site cannot use (%s)" % written, "author")
        # The manual's gateway case: a From field with no address at all; the sender
        # is sought in the RFC 822 header quoted in the body. Nothing proves it.
        m.author_name, m.author = screening.recovered_author(ctx, m)
        if not m.author:
            return failed("no valid From address, nor a From: line within the body's first "
                          "PreScanLimit lines", "author")
        m.author_recovered = True
        ctx.unproven = m.author
    rp = m.msg.get("Return-Path")
    if rp is not None:
        rp = clean(rp).strip()
        m.return_path = email.utils.parseaddr(rp)[1] if rp not in ("<>", "") else ""
    return None


def find_destinations(ctx, m):
    """The addresses the mail server delivered m for: the first of X-Original-To, the topmost
    Delivered-To and Envelope-To that it wrote; without them, the site's addresses in
    To, Cc and Resent-To."""
    # The first of them that names an address of the site: with aliases,
    # X-Original-To may hold the address before the mail server rewrote it.
    envelope = [(name, found[0][1]) for name in ("X-Original-To", "Delivered-To", "Envelope-To")
                for found in [messages.addresses(m.msg, name)] if found]
    for _name, address in envelope:
        if ctx.ours(address):
            m.destinations = [address]
            return None
    if envelope:
        return failed("%s says %s, not an address of this site" % envelope[0], "envelope")
    # Every domain of the site has the same addresses: one list at two of them is one list.
    seen = set()
    for _, addr in messages.addresses(m.msg, "To", "Cc", "Resent-To"):
        local = addr.rpartition("@")[0].lower()
        if ctx.ours(addr) and local not in seen:
            seen.add(local)
            m.destinations.append(addr)
    if not m.destinations:
        return failed("no recipient of this site in the headers", "envelope")
    return None


# "@" and the forms of it a From field may show decoded: any of them is an address written.
_AT = ("@", "\uff20", "\ufe6b")


def _from_fields(msg):
    """The From fields' values as written (encoded words not decoded)."""
    try:
        return [str(raw) for key, raw in msg.raw_items() if key.lower() == "from"]
    except Exception:
        return []


def _address_written(msg):
    """What stands in the From fields when one holds an address, however unusable ("" when
    none holds any: none at all, or no "@" in any, raw or decoded). A field too long to be
    a gateway's name, or that does not decode, counts as one holding an address."""
    for raw in _from_fields(msg):
        if len(raw) > messages.HEADER_LIMIT:
            return "a field of %d characters" % len(raw)
        try:
            decoded = str(msg.policy.header_fetch_parse("From", raw))
        except Exception:
            return "unreadable"
        if any(a in raw or a in decoded for a in _AT):
            return messages.clean(decoded.encode("utf-8", "replace").decode("utf-8"), 80)
    return ""


_BULK = ("bulk", "junk", "list")


def detect_automatic(ctx, m):
    """RFC 3834: mail a robot must never answer."""
    msg = m.msg
    auto = messages.header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        m.automatic = Automatic(AutoReason.AUTO_SUBMITTED, auto)
    elif messages.header(msg, "Precedence").lower() in _BULK:
        m.automatic = Automatic(AutoReason.PRECEDENCE, messages.header(msg, "Precedence").lower())
    elif m.return_path == "":
        m.automatic = Automatic(AutoReason.NULL_SENDER)
    elif m.author.split("@")[0].lower() in ("mailer-daemon", "mailer_daemon"):
        m.automatic = Automatic(AutoReason.MAILER_DAEMON)
    elif msg.get_content_type() == "multipart/report":
        m.automatic = Automatic(AutoReason.REPORT)
    elif "List-Id" in msg:
        m.automatic = Automatic(AutoReason.LIST)
    return None


def too_many_parts(ctx, m):
    """A message of more than MaxParts MIME parts (or of parts nested too deep) is not
    read: its author is told why."""
    if m.too_many_parts is None:
        return None
    why, rule = m.too_many_parts
    ctx.reply(m, ctx.text("pipeline.too-many-parts", m.author, why=why, rule=rule) + "\n",
              subject=ctx.text("pipeline.too-many-parts.subject", m.author,
                               subject=m.subject()[:60] or ctx.text("reply.your-message", m.author)))
    return Disposition(Fate.DONE, "refused: %s (%s)" % (why, rule), rule)


def dispatch(ctx, m):
    """Hand the message to the handler of each address it was sent to."""
    handled = [routing.route(ctx, m, address) for address in m.destinations]
    return Disposition(Fate.DONE if any(handled) else Fate.DROPPED,
                       "; ".join(a for a, _ in ctx.outcome.actions[:3]) or "nothing to do",
                       ", ".join(sorted({r for _, r in ctx.outcome.actions})) or "routing")


STEPS = (
    ("read", read),
    ("author", identify_author),
    ("envelope", find_destinations),
    ("automatic", detect_automatic),
    ("loops", screening.own_mail),
    ("parts", too_many_parts),
    ("prescan", screening.prescan),
    ("spam list", screening.spam_list),
    ("kill authors", screening.kill_authors),
    ("kill subjects", screening.kill_subjects),
    ("admin subjects", screening.admin_subjects),
    ("dispatch", dispatch),
)


def process(ctx, m):
    """Run the steps over m; returns its Disposition (the outcome is in ctx.outcome)."""
    ctx.unproven, ctx.password_failed = None, set()
    try:
        for _name, step in STEPS:
            result = step(ctx, m)
            if result is not None:
                return result
        return failed("no step decided", "pipeline")
    finally:
        ctx.unproven, ctx.password_failed = None, set()
        ctx.spoken, ctx.answering = {}, None      # the robot's, of this message only
