"""REJECT n ... [reason]: a moderator decides on held posts (see approve.py)."""

from tristero.commands.approve import Approve
from tristero.commands.registry import register


@register
class Reject(Approve):
    names = ("REJECT",)
    order = 293
    usage = "REJECT n ... [reason]"
    help = "Reject posts held for moderation, by number; their authors are told the reason."
    verb = "REJECT"
