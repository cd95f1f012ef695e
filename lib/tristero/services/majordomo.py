"""Majordomo 1.94's list settings at work: who may INDEX, GET, INFO, WHICH and WHO a
list (the *_access keys), who may post to a restricted list (restrict_post), the taboo
patterns (taboo_headers, taboo_body), the body limit (maxlength), and the notices a
Majordomo list owner gets (new subscriber, departure: announcements). The keys are
declared in model/config.py (MAJORDOMO_KEYS); texts are in templates/*/majordomo.txt.
"""

import datetime
import re

from tristero.core import messages, redact
from tristero.model import audit, cookies, lists
from tristero.model import config as configs
from tristero.model.members import address_key
from tristero.policy import rights
from tristero.services import repository

MAX_TABOO_TEXT = 256 << 10      # characters of a post's body the taboo_body patterns read
MAX_RESTRICT_FILE = 1 << 20     # bytes of a restrict_post file read


def access(s, listname, key, what):
    """True when the sender may use what (INDEX, GET, INFO, WHICH, WHO) on listname as the
    list's key (index_access ...) says: open (anyone), list (its members) or closed (its
    owner and the privileged only); else says why not."""
    if listname is None or _may(s.ctx, s.sender, listname, key, s.password_now()):
        return True
    mode = configs.majordomo_value(s.ctx.config, listname, key)
    s.result("refused", s.text(_REFUSALS[mode], command=what, list=listname, setting=key))
    s.ctx.act("%s of %s refused to %s" % (what, listname, s.sender), "%s = %s" % (key, mode))
    return False


_REFUSALS = {"closed": "majordomo.access-closed", "list": "majordomo.access-list"}
# The notices to the owner: (subject, text) of each event.
_NOTICES = {"subscribe": ("majordomo.subscribe.subject", "majordomo.subscribe"),
            "unsubscribe": ("majordomo.unsubscribe.subject", "majordomo.unsubscribe")}


def _may(ctx, who, listname, key, password=None):
    mode = configs.majordomo_value(ctx.config, listname, key)
    if mode == "open" or rights.privileged(ctx, who, listname, password):
        return True
    return mode == "list" and rights.member(ctx, who, listname)


def visible(s, listname, key):
    """May the sender see listname in an answer (WHICH) without being told why not?"""
    return _may(s.ctx, s.sender, listname, key, s.password_now())


# --- posts -----------------------------------------------------------------------------

def restricted(ctx, author, listname):
    """None when author may post to listname as its restrict_post says (or it has none);
    else the names of the files and lists the author is in none of."""
    names = configs.majordomo_value(ctx.config, listname, "restrict_post")
    if not names:
        return None
    want = address_key(author)
    for name in names:
        other = lists.find(ctx.config, name)
        if other is not None:
            if ctx.state.has_member(lists.number(ctx.config, other), author):
                return None
            continue
        try:
            text = repository.text_file(repository.folder(ctx, listname), name, MAX_RESTRICT_FILE, ctx=ctx)
        except repository.Refused:
            text = None
        for line in (text or "").splitlines():
            word = line.split("#", 1)[0].strip().strip("<>")
            if word and address_key(word) == want:
                return None
    return " ".join(names)


def taboo(ctx, m, listname):
    """(the setting, the pattern) of the first taboo_headers or taboo_body pattern the post
    m matches, or None. The body read is at most MAX_TABOO_TEXT characters."""
    cfg = ctx.config
    head = "\n".join("%s: %s" % (k, v) for k, v in m.msg.items())
    for key, text in (("taboo_headers", head), ("taboo_body", m.text()[:MAX_TABOO_TEXT])):
        for pattern, nocase in configs.majordomo_value(cfg, listname, key):
            if re.search(pattern, text, re.I | re.M if nocase else re.M):
                return key, pattern
    return None


def body_too_long(ctx, m, listname):
    """The post's body length in characters when the list's own maxlength is set and the
    body is longer; else None."""
    sec = ctx.config.sections.get(lists.section(listname), {})
    if "maxlength" not in sec:
        return None
    limit = configs.majordomo_value(ctx.config, listname, "maxlength")
    length = len(m.text())
    return length if limit and length > limit else None


def bounce_to_owner(ctx, m, listname, why):
    """Majordomo's "BOUNCE list: reason": the owner gets the post, attached, with why."""
    owner = lists.owner(ctx.config, listname)
    if not owner:
        return
    msg = ctx.message(owner, ctx.text("majordomo.bounce.subject", owner, list=listname, why=why),
                      ctx.text("majordomo.bounce", owner, list=listname, why=why, author=m.author) + "\n",
                      kind="auto-generated")
    # The post as members would get it: no password (Approved:) goes to the owner either.
    messages.attach(msg, [("post.eml", redact.public(m).raw)])
    ctx.send_message(msg, [owner])
    ctx.act("post to %s bounced to %s: %s" % (listname, owner, why), "Majordomo")


# --- notices to the owner --------------------------------------------------------------

def tell_owner(s, listname, event, address):
    """Majordomo's notice to the owner (announcements = yes): event "subscribe" (a new
    subscriber) or "unsubscribe" (a departure)."""
    ctx = s.ctx
    sec = ctx.config.sections.get(lists.section(listname), {})
    if not any(k in sec for k in configs.MAJORDOMO_KEYS) or \
            configs.majordomo_value(ctx.config, listname, "announcements") != "yes":
        return
    owner = lists.owner(ctx.config, listname)
    if not owner or address_key(owner) == address_key(s.sender):
        return
    subject, body = _NOTICES[event]
    msg = ctx.message(owner, ctx.text(subject, owner, list=listname, address=address),
                      ctx.text(body, owner, list=listname, address=address,
                               by=s.sender) + "\n", kind="auto-generated")
    ctx.send_message(msg, [owner])


def welcome_on(ctx, listname):
    """Does the list send its welcome (Majordomo's welcome = yes, the default)?"""
    return configs.majordomo_value(ctx.config, listname, "welcome") == "yes"


def hold_departure(s, listname, target):
    """Pass an unsubscription (closed policy, or of another address) to the owner, in a
    form the owner only has to reply to."""
    ctx = s.ctx
    owner = lists.owner(ctx.config, listname)
    if not owner:
        s.result("refused", s.text("membership.no-owner", list=listname))
        return
    text = ctx.text("majordomo.unsubscribe-request", owner, requester=s.sender, address=target, list=listname)
    text += "\n\n---\nSTART\nREMOVE %s %s\nSTOP\n" % (session_quoted(listname), target)
    msg = ctx.message(owner, ctx.text("majordomo.unsubscribe-request.subject", owner, address=target,
                                      list=listname),
                      text, kind="auto-generated", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [owner])
    s.result("held", s.text("majordomo.unsubscribe-held", list=listname))
    ctx.act("unsubscription of %s from %s passed to %s" % (target, listname, owner), "unsubscribe_policy")


def session_quoted(name):
    return '"%s"' % name if " " in name else name


# --- the list's settings as Majordomo's configuration text -------------------------------

# Kept by PASSWD only: never shown, never set by NEWCONFIG.
_PASSWORDS = ("admin_passwd", "approve_passwd")


def admin(s, listname, password, what):
    """True when password is the list's admin_passwd, or the sender is the list's owner (or
    more) and password is their own password (or none is set for them); else says why not."""
    ctx = s.ctx
    if rights.list_password(ctx, listname, password, s.sender, ("admin_passwd",)):
        audit.security(ctx, s.sender, listname, what, "done: admin_passwd")
        return True
    ok, why = rights.may(ctx, s.sender, "manage", listname, password)
    if not ok:
        s.result("refused", why)
        audit.security(ctx, s.sender, listname, what, "refused: " + why)
        s.refused_privileged.append("%s %s: %s" % (what, listname, why))
        return False
    audit.security(ctx, s.sender, listname, what, "done")
    return True


def config_text(s, listname):
    """The list's Majordomo settings as Majordomo's commented configuration text."""
    cfg = s.ctx.config
    out = [s.text("majordomo.config-head", list=listname), ""]
    for key in configs.MAJORDOMO_KEYS:
        if key in _PASSWORDS:
            out += ["# " + s.text("majordomo.config-password", setting=key), ""]
            continue
        value = shown(cfg, listname, key)
        out += ["# " + s.text("majordomo.config-default", default=configs.MAJORDOMO_DEFAULTS[key] or "''"),
                "%s = %s" % (key, value), ""]
    return "\n".join(out)


def shown(cfg, listname, key):
    """The value of the list's Majordomo key as CONFIG shows it: its own, else the Tristero
    key's it stands for, else Majordomo's default."""
    sec = cfg.sections.get(lists.section(listname), {})
    if key in sec:
        return configs.unquote(sec[key])
    return configs.unquote(sec.get(_TRISTERO.get(key, ""), configs.MAJORDOMO_DEFAULTS[key]))


# The Tristero key a Majordomo key shows when only the Tristero one is set.
_TRISTERO = {"description": "Description", "subscribe_policy": "SubscribePolicy"}


def read_config(s, listname, lines):
    """({key: value}, [(line number, why)]) of Majordomo configuration text: "key = value"
    lines, "#" comments, blank lines; every value checked as tristero.ini would check it."""
    values, bad = {}, []
    section = lists.section(listname)
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, eq, value = text.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq:
            bad.append((n, s.text("majordomo.config-no-equals")))
        elif key in _PASSWORDS:
            bad.append((n, s.text("majordomo.config-password", setting=key)))
        elif key not in configs.MAJORDOMO_KEYS:
            bad.append((n, s.text("majordomo.config-unknown", setting=messages.clean(key, 40))))
        elif key in values:
            bad.append((n, s.text("majordomo.config-twice", setting=key)))
        else:
            why = configs.value_problem(section, key, value)
            if why:
                bad.append((n, messages.clean(why, 200)))
            values[key] = value
    return values, bad


def departure_confirmed(s, listname, target):
    """Did the sender give (COOKIE, AUTH) a valid cookie for target leaving listname?"""
    ctx = s.ctx
    return cookies.valid(ctx.cookie_key(), s.cookie or "", "UNSUB", listname, target, ctx.now.date())


def ask_departure(s, listname, target):
    """unsubscribe_policy +confirm: send target a cookie to leave listname with."""
    ctx = s.ctx
    days = ctx.config.get("Security", "CookieDays")
    code = cookies.bake(ctx.cookie_key(), "UNSUB", listname, target, ctx.now.date() + datetime.timedelta(days=days))
    text = ctx.text("majordomo.unsubscribe-confirm", target, address=target, list=listname, days=days)
    text += "\n\n---\nSTART\nCOOKIE %s\nUNSUBSCRIBE %s %s\nSTOP\n" % (code, session_quoted(listname), target)
    msg = ctx.message(target, ctx.text("majordomo.unsubscribe-confirm.subject", target, list=listname), text,
                      kind="auto-replied", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [target])
    s.result("held", s.text("membership.confirm-sent", address=target))
    ctx.act("confirmation of %s leaving %s sent" % (target, listname), "unsubscribe_policy")
