"""HELD list [n=ID/KEY ...]: the posts held for a list's moderators (services.moderation);
with n=ID/KEY words (the prebuilt block of the moderators' message), the numbers the
APPROVE, REJECT, DISCARD and BAN commands after it decide on."""

import re

from tristero.commands.grammar import ListName, Words
from tristero.commands.registry import Audience, Command, register
from tristero.model import lists
from tristero.services import moderation

_KEY = re.compile(r"(\d{1,4})=(\d{8}-[0-9a-f]{12})/([0-9A-Za-z]{32})")
MAX_KEYS = 500


_LINE = re.compile(r'^[>|:\s]*HELD\s+("[^"]+"|\S+)((?:\s+\d{1,4}=\S+)+)\s*$', re.I | re.M)


def keys(s):
    """The numbers the HELD lines of this message give: {n: (list, id, key)}. Read from
    the whole text at the first question, so that a decision written above the quoted
    block (or below its STOP) finds its number; whether the sender may use a key is
    asked when it is used."""
    if not hasattr(s, "moderation_keys"):
        s.moderation_keys = {}
        for found in _LINE.finditer(s.m.text()):
            listname = lists.find(s.ctx.config, found.group(1).strip('"'))
            for word in found.group(2).split()[:MAX_KEYS]:
                key = _KEY.fullmatch(word)
                if listname and key:
                    s.moderation_keys[int(key.group(1))] = (listname, key.group(2), key.group(3))
    return s.moderation_keys


@register
class Held(Command):
    names = ("HELD",)
    order = 291
    audience = Audience.OWNER
    usage = "HELD list"
    help = ("List the posts held for a list's moderators, numbered, with a block to answer with "
            "(APPROVE, REJECT, DISCARD, BAN).")
    grammar = (ListName(), Words("words", most=MAX_KEYS))

    def run(self, s, args):
        listname = args.list
        if not moderation.is_moderator(s.ctx, s.sender, listname):
            s.result("refused", s.text("moderation.not-moderator", list=listname))
            return
        if args.words:
            given = keys(s)
            for word in args.words:
                found = _KEY.fullmatch(word)
                if not found:
                    s.result("error", s.text("moderation.bad-key", word=word[:60]))
                    return
                given[int(found.group(1))] = (listname, found.group(2), found.group(3))
            s.result("ok", s.text("moderation.keys-noted", count=len(args.words), list=listname))
            return
        ids = moderation.queue(s.ctx, listname)
        entries, block = moderation.listing(s.ctx, listname, ids, s.sender.lower())
        if not entries:
            s.result("ok", s.text("moderation.queue-empty", list=listname))
            return
        s.result("ok", s.text("moderation.queue", list=listname, count=len(ids)))
        for entry in entries:
            s.say(entry)
            s.say()
        if len(ids) > len(entries):
            s.say(s.text("moderation.more", count=len(ids) - len(entries), list=listname))
            s.say()
        s.say("START")
        for line in block:
            s.say(line)
        s.say("STOP")
