"""CREATECLIENT list remote-address [HIDE]: a new list that is the client of a remote list
(the manual's short-cut for gatewaying): created as CREATE creates one, its Proxy set to
the remote list, and the remote list's robot sent the command that subscribes it."""

from tristero.commands.create import Create
from tristero.commands.grammar import Rest, Trailing, Word
from tristero.commands.registry import Audience, register
from tristero.core import messages


@register
class CreateClient(Create):
    names = ("CREATECLIENT",)
    order = 310
    usage = "CREATECLIENT list remote-address [HIDE]"
    help = ("Create a list that is the client of a remote list, with you as owner: the remote list's posts "
            "reach its members, and it is subscribed to the remote list by mail.")
    audience = Audience.POSTMASTER
    grammar = (Word("name", upper=False), Trailing("HIDE"), Rest("words"))
    texts = {}

    def run(self, s, args):
        if len(args.words) != 1 or not messages.is_address(args.words[0]):
            s.result("error", s.text("grammar.usage", usage=self.usage))
            return
        super().run(s, args)
