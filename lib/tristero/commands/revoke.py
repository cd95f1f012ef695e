"""REVOKE right [FROM] user [FOR list]: take rights away, whatever else gives them (GRANT
taking away: see grant.py)."""

from tristero.commands.grant import Grant
from tristero.commands.registry import register


@register
class Revoke(Grant):
    names = ("REVOKE",)
    order = 280
    usage = "REVOKE right [FROM] user [FOR list]"
    help = "Take rights away, whatever else gives them."
    give = False
    keyword = "FROM"
