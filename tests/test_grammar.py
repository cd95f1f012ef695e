"""The commands' argument grammar (commands/grammar.py): what each element takes from a
command's words, and the error a sender reads when the words do not fit."""

import os
import textwrap

import pytest

from tristero.commands import grammar
from tristero.commands.grammar import Address, AtLeast, End, Keyword, ListName, ListOrAll, Number, Rest, Trailing, Word
from tristero.core import text
from tristero.model import config
from tristero.services.session import Command, Session

INI = """\
    [Globals]
    Domain = example.org
    SuperUser = boss@example.org

    [LIST news]
    MemberFile = 00000001
    Type = Open

    [LIST my list]
    MemberFile = 00000002
    Type = Open
    """


class Ctx:
    """What a Session asks of its Context when arguments are parsed: the configuration
    and the texts."""

    def __init__(self, cfg):
        self.config = cfg
        self.texts = text.Texts()

    def text(self, key, reader=None, **fields):
        return self.texts.get(key, "en", **fields)


class Inbound:
    author = "alice@example.net"


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    home = tmp_path_factory.mktemp("site")
    with open(os.path.join(home, "tristero.ini"), "w") as f:
        f.write(textwrap.dedent(INI))
    return config.load(str(home), create=False)


def session(cfg, default_list=None):
    return Session(Ctx(cfg), Inbound(), default_list)


def parse(cfg, line, elements, usage="VERB usage", default_list=None):
    """(args, session) of a command line parsed with elements."""
    s = session(cfg, default_list)
    cmd = Command(line, line.split())
    cmd.usage = usage
    return grammar.parse(s, cmd, elements), s


def refusal(cfg, line, elements, usage="VERB usage", default_list=None):
    """(the Unusable raised, the session) of a command line that does not fit."""
    s = session(cfg, default_list)
    cmd = Command(line, line.split())
    cmd.usage = usage
    with pytest.raises(grammar.Unusable) as e:
        grammar.parse(s, cmd, elements)
    return e.value, s


# --- Word, Keyword, Number, Address, Rest ------------------------------------------------

def test_a_word_is_taken_upper_cased_unless_told_and_the_rest_is_left_over(cfg):
    args, _ = parse(cfg, "SET a b c", (Word("first"), Word("second", upper=False)))
    assert (args.first, args.second, args.rest, args.words) == ("A", "b", ["c"], ["a", "b", "c"])


def test_a_missing_word_shows_the_usage_and_an_optional_one_its_default(cfg):
    e, _ = refusal(cfg, "PASSWORD", (Word("password"),), usage="PASSWORD password")
    assert (e.why, e.status) == ("usage: PASSWORD password", "error")
    args, _ = parse(cfg, "WHICH", (Word("address", optional=True, default="me"),))
    assert args.address == "me"


def test_a_word_out_of_its_choices_is_named_with_the_choices(cfg):
    e, _ = refusal(cfg, "X hourly", (Word("when", choices=("DAILY", "WEEKLY")),), usage="X DAILY|WEEKLY")
    assert e.why == "hourly is not one of DAILY, WEEKLY; usage: X DAILY|WEEKLY"
    # Optional: the word is not taken, and is left for what follows.
    args, _ = parse(cfg, "X hourly", (Word("when", choices=("DAILY",), optional=True, default="DAILY"), Rest("more")))
    assert (args.when, args.more) == ("DAILY", ["hourly"])


def test_a_hostile_word_is_cleaned_in_the_error(cfg):
    s = session(cfg)
    cmd = Command("X", ["X", "\x07\x1b[2J\r\nBcc:" + "y" * 200])
    with pytest.raises(grammar.Unusable) as e:
        grammar.parse(s, cmd, (Word("when", choices=("DAILY",)),))
    assert not any(c in e.value.why for c in "\x07\x1b\r\n") and len(e.value.why) < 100


def test_a_keyword_is_taken_only_where_it_stands(cfg):
    args, _ = parse(cfg, "GRANT W to carol", (Word("right"), Keyword("TO"), Word("user", upper=False)))
    assert (args.right, args.to, args.user) == ("W", True, "carol")
    args, _ = parse(cfg, "GRANT W carol", (Word("right"), Keyword("TO"), Word("user", upper=False)))
    assert (args.to, args.user) == (False, "carol")


def test_a_number_is_whole_and_within_its_bounds(cfg):
    args, _ = parse(cfg, "REWIND 3", (Number("days", 1, 366),))
    assert args.days == 3
    for word in ("0", "367", "x", "-1", "3.5", "\u0663"):
        e, _ = refusal(cfg, "REWIND " + word, (Number("days", 1, 366),), usage="REWIND [days]")
        assert e.why.endswith("is not a number from 1 to 366; usage: REWIND [days]"), word
    e, _ = refusal(cfg, "N x", (Number("n"),), usage="N n")
    assert e.why == "x is not a number from 0 to any; usage: N n"
    args, _ = parse(cfg, "REWIND", (Number("days", 1, 366, optional=True, default=1),))
    assert args.days == 1


def test_an_address_is_found_bare_in_brackets_or_after_a_quoted_name(cfg):
    for line in ("ADD Bob bob@example.net", "ADD Bob <bob@example.net>", 'ADD Bob "bob@example.net"'):
        args, _ = parse(cfg, line, (Address(), Rest("name")))
        assert (args.address, args.name) == ("bob@example.net", ["Bob"]), line
    args, _ = parse(cfg, "ADD Bob", (Address(), Rest("name")))
    assert (args.address, args.name) == (None, ["Bob"])
    e, _ = refusal(cfg, "ADD Bob", (Address(optional=False),), usage="ADD address")
    assert e.why == "usage: ADD address"


def test_rest_takes_every_word_left_joined_when_asked(cfg):
    args, _ = parse(cfg, "X a b", (Rest("words"),))
    assert args.words == ["a", "b"] and args.rest == []
    args, _ = parse(cfg, "X a b", (Rest("text", join=True),))
    assert args.text == "a b"
    e, _ = refusal(cfg, "X", (Rest("text", optional=False),), usage="X text")
    assert e.why == "usage: X text"


# --- lists -------------------------------------------------------------------------

def test_a_list_is_the_first_word_as_the_configuration_spells_it(cfg):
    args, _ = parse(cfg, "INFO NEWS more", (ListName(), Rest("more")))
    assert (args.list, args.more) == ("news", ["more"])
    args, _ = parse(cfg, "INFO my_list", (ListName(),))
    assert args.list == "my list"


def test_a_list_that_is_not_there_is_said_once_by_the_list_lookup(cfg):
    e, s = refusal(cfg, "INFO nosuch", (ListName(),))
    assert e.why is None     # already said: nothing more to say
    assert s.out == ["ERROR: there is no list called nosuch (send LISTS for the lists here)"]
    e, s = refusal(cfg, "INFO", (ListName(),), usage="INFO list")
    assert s.out == ["ERROR: name a list: INFO list"]


def test_at_a_list_request_address_the_list_may_be_left_out(cfg):
    args, _ = parse(cfg, "SUBSCRIBE Bob Smith", (ListName(), Rest("name")), default_list="news")
    assert (args.list, args.name) == ("news", ["Bob", "Smith"])
    args, _ = parse(cfg, "SUBSCRIBE my_list", (ListName(), Rest("name")), default_list="news")
    assert (args.list, args.name) == ("my list", [])


def test_a_star_stands_for_every_list_where_it_may(cfg):
    args, _ = parse(cfg, "UNSUBSCRIBE * a@example.net", (ListOrAll(), Address()))
    assert (args.list, args.address) == ("*", "a@example.net")
    args, _ = parse(cfg, "UNSUBSCRIBE news", (ListOrAll(),))
    assert args.list == "news"
    args, _ = parse(cfg, "UNSUBSCRIBE *", (ListOrAll(),), default_list="news")
    assert args.list == "*"


# --- Trailing, AtLeast, End ----------------------------------------------------------

def test_a_trailing_word_is_taken_only_at_the_end(cfg):
    args, _ = parse(cfg, "ADD a@example.net Bob hide", (Address(), Trailing("HIDE"), Rest("name")))
    assert (args.hide, args.name) == (True, ["Bob"])
    args, _ = parse(cfg, "ADD a@example.net Hide Bob", (Address(), Trailing("HIDE"), Rest("name")))
    assert (args.hide, args.name) == (False, ["Hide", "Bob"])
    args, _ = parse(cfg, "ANNOUNCE new-list", (Trailing("NEW-LIST"),))
    assert args.new_list is True


def test_at_least_and_end_count_the_words_without_taking_them(cfg):
    e, _ = refusal(cfg, "SET news", (AtLeast(2), ListName(), Rest("value")), usage="SET list option")
    assert e.why == "usage: SET list option"
    args, _ = parse(cfg, "SET news mail", (AtLeast(2), ListName(), Rest("value")))
    assert (args.list, args.value) == ("news", ["mail"])
    e, _ = refusal(cfg, "SETPASS a b", (Word("new"), End()), usage="SETPASS password")
    assert e.why == "usage: SETPASS password"
    args, _ = parse(cfg, "SETPASS a", (Word("new"), End()))
    assert args.new == "A"
