"""CONFIG SECURITY: the security settings, the filters and the rules of access.ini."""

from tristero.commands.registry import Audience, Command, register
from tristero.model import access


@register
class ConfigSecurity(Command):
    names = ("CONFIG SECURITY",)
    usage = "CONFIG SECURITY"
    help = "Report the security settings, the filters and the rules of access.ini."
    audience = Audience.SUPERUSER
    order = 1
    texts = {
        "config.security.done": "security settings",
        "config.security.setting": "  {name:<18} {value}",
        "config.security.set": "set",
        "config.security.off": "off",
        "config.security.filters": "  Filters: {filters}",
        "config.security.filter": "[{name}] {count}",
        "config.security.rules": "  access.ini: {count} rule(s)  (user, rights {flags}, list, language, password)",
        "config.security.rule": "    {user}, {rights}, {list}, {language}, {password}",
        "config.security.unread": "    line {line} did not read ({why}): it bars its user",
    }

    def run(self, s, args):
        ctx, cfg = s.ctx, s.ctx.config

        def setting(key, value):
            s.say(s.text("config.security.setting", name=key + ":", value=value))

        s.result("ok", s.text("config.security.done"))
        setting("SuperUser", cfg.globals("SuperUser"))
        # The manual: "Report security and language settings" (a member's own: the rules below).
        setting("Language", ", ".join([cfg.globals("Language")] + [
            "%s %s" % (n, cfg.list_value(n, "Language")) for n in cfg.list_names()
            if cfg.list_value(n, "Language") != cfg.globals("Language")]))
        for key in ("SecurePost", "InternetPolicySub", "CookieDays", "MaxSessionSubs", "OpenReview"):
            setting(key, cfg.raw("Security", key, cfg.get("Security", key)))
        setting("OverRideSubject", s.text("config.security.set" if cfg.get("Security", "OverRideSubject")
                                          else "config.security.off"))
        for key in ("PreScanMode", "PreScanLimit", "SpamCheckList", "SpamCheckGateways", "BounceList",
                    "BounceScore", "BounceDays", "TrustedAuthservIds"):
            value = cfg.get("Security", key)
            setting(key, ", ".join(value) if isinstance(value, list) else value)
        s.say(s.text("config.security.filters", filters=", ".join(
            s.text("config.security.filter", name=n, count=len(cfg.patterns[n])) for n in cfg.patterns)))
        rules = ctx.state.access()
        s.say(s.text("config.security.rules", count=len(rules), flags=access.FLAGS))
        for r in rules:
            s.say(s.text("config.security.rule", user=r.user, rights=r.status or access.flag_string(r.granted),
                         list=r.list or "*", language=r.language or "-",
                         password=s.text("config.security.set") if r.password else "-"))
        for line, why in ctx.state.access_problems:
            s.say(s.text("config.security.unread", line=line, why=why))
