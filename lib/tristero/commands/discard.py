"""DISCARD n ...: a moderator decides on held posts (see approve.py)."""

from tristero.commands.approve import Approve
from tristero.commands.registry import register


@register
class Discard(Approve):
    names = ("DISCARD",)
    order = 294
    usage = "DISCARD n ..."
    help = "Remove posts held for moderation, by number, without telling their authors."
    verb = "DISCARD"
