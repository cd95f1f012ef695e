"""BAN n ...: a moderator decides on held posts (see approve.py)."""

from tristero.commands.approve import Approve
from tristero.commands.registry import register


@register
class Ban(Approve):
    names = ("BAN",)
    order = 295
    usage = "BAN n ..."
    help = "Remove posts held for moderation, by number, and take posting to the list from their authors."
    verb = "BAN"
