"""Personal passwords, LISTSERV's way: PW ADD, PW REP and PW RESET wait for the user's
OK (a reply to the confirmation mail, which carries a code), then change the user's
rule of access.ini (model.pending keeps the request until then). Texts of the area
listserv (templates/LANG/listserv.txt).
"""

import datetime
import hmac
import re

from tristero.model import audit, cookies, pending, quotas
from tristero.policy import rights

# A confirmation code in a subject ("Re: Command confirmation request (CODE)").
_CODE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{%d})(?![0-9A-Za-z])" % cookies.LENGTH)


def personal_rule(ctx, who):
    """who's own rule of access.ini holding a password (not a pattern's), or None."""
    rule = rights.password_rule(ctx, who)
    return rule if rule is not None and rule.user.lower() == who.lower() else None


def _code(ctx, who, entry):
    return cookies.bake(ctx.cookie_key(), "PW", "%s:%s" % (entry.action, entry.hash), who.lower(), entry.until)


def ask(s, action, new_hash=""):
    """Keep the sender's request (action ADD, REP or RESET; new_hash the new password's
    hash) and mail them the code that confirms it; the result is HELD."""
    ctx, who = s.ctx, s.sender
    # A forged From makes the confirmation go to someone else: a stranger here gets at
    # most MaxStrangerReplies mails a day, as for a subscription's confirmation.
    if ctx.stranger(who) and not quotas.stranger_reply(ctx, who):
        s.result("refused", s.text("membership.confirm-limit", address=who,
                                   limit=ctx.config.globals("MaxStrangerReplies")))
        return
    until = ctx.now.date() + datetime.timedelta(days=ctx.config.get("Security", "CookieDays"))
    entry = pending.Entry(action, new_hash, until)
    ctx.state.set_pending(who, entry)
    code = _code(ctx, who, entry)
    command = "PW RESET" if action == "RESET" else "PW %s ********" % action
    text = ctx.text("listserv.pw-confirm", who, command=command, code=code, robot=ctx.robot_address(),
                    until=until.isoformat())
    msg = ctx.message(who, ctx.text("listserv.pw-confirm.subject", who, code=code), text + "\n",
                      kind="auto-replied", headers=[("Reply-To", ctx.robot_address())])
    ctx.send_message(msg, [who])
    s.result("held", s.text("listserv.pw-confirm-sent", address=who))
    audit.security(ctx, who, None, "PW " + action, "confirmation sent")


def code_in(subject):
    """The confirmation code in a subject, or None."""
    found = _CODE.search(subject or "")
    return found.group(1) if found else None


def waiting(s, code):
    """The sender's pending request that code confirms, or None."""
    ctx = s.ctx
    entry = ctx.state.pending().get(s.sender.lower())
    if entry is None or not code or entry.until < ctx.now.date():
        return None
    return entry if hmac.compare_digest(code, _code(ctx, s.sender, entry)) else None


def confirm(s, entry):
    """Apply the sender's confirmed request entry."""
    ctx, who = s.ctx, s.sender
    ctx.state.set_pending(who, None)
    ctx.state.set_rule(who, "", password=entry.hash)
    audit.security(ctx, who, None, "PW " + entry.action, "confirmed")
    ctx.act("password %s for %s (confirmed)" % ("removed" if entry.action == "RESET" else "set", who),
            "PW " + entry.action)
    s.result("ok", s.text("listserv.pw-removed" if entry.action == "RESET" else "listserv.pw-set", address=who))


def set_now(s, user, new_hash, what):
    """Set (new_hash) or remove ("") user's password at once, audited and said."""
    ctx = s.ctx
    if user.lower() in ctx.state.pending():
        ctx.state.set_pending(user, None)
    ctx.state.set_rule(user, "", password=new_hash)
    audit.security(ctx, s.sender, None, what, "done")
    ctx.act("password %s for %s by %s" % ("set" if new_hash else "removed", user, s.sender), what.split()[0])
    s.result("ok", s.text("listserv.pw-set" if new_hash else "listserv.pw-removed", address=user))
