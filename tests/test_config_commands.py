"""CONFIG's subcommands are commands of the registry, each a file of its own
(commands/config_*.py): HELP CONFIG names each one, HELP CONFIG WORD tells more on
it, and the registry checks the SuperUser's right once, for every one of them,
before it reads the subcommand's words."""

import os

from conftest import BASE_INI, NEWS_LIST, mail
from tristero.commands import registry

SUBCOMMANDS = [c.name.split(" ", 1)[1] for c in registry.subcommands("CONFIG")]


def reply_to(site, address):
    [reply] = [m for m in site.messages_to(address) if m["Subject"].startswith("Re:")]
    return reply.get_body(("plain",)).get_content()


def test_config_is_made_of_the_subcommands_it_had_as_one_command():
    assert SUBCOMMANDS == ["SECURITY", "INTERNETPOLICYSUB", "KILLADD", "KILLLIST", "ATTACH", "SENDFILE",
                           "PUTFILE"]


def test_help_and_help_config_name_every_subcommand_and_help_config_word_tells_more(site):
    site.drop(mail(frm="boss@example.org", body="help\nhelp config\n" + "".join(
        "help config %s\n" % word.lower() for word in SUBCOMMANDS)))
    site.run()
    text = reply_to(site, "boss@example.org")
    config_line = [line for line in text.splitlines() if line.startswith("  CONFIG ")]
    assert len(config_line) == 1          # HELP: one line for CONFIG, under For SuperUser
    usage = text.split("> help config\nOK: ", 1)[1].split("\n", 1)[0]
    assert config_line[0].startswith("  " + usage)
    for word in SUBCOMMANDS:
        command = registry.lookup("CONFIG " + word)
        shown = command.usage.replace(" | CONFIG ", " | ")[len("CONFIG "):]
        assert shown in usage, word
        assert "> help config %s\nOK: %s\n  %s\n" % (word.lower(), command.usage, command.help) in text


def test_every_config_subcommand_from_a_list_owner_is_refused_before_its_words_are_read(site):
    # A list owner (privileged, but no SuperUser) tries each subcommand, with words that
    # would each be a usage error or a file of the site mailed away.
    site.write_ini(BASE_INI + NEWS_LIST)
    with open(site.path("tristero.ini"), "rb") as f:
        ini = f.read()
    words = "../tristero.ini thief@evil.example nonsense"
    site.drop(mail(frm="editor@example.org", body="".join(
        "config %s %s\n" % (word.lower(), words) for word in SUBCOMMANDS)))
    site.run()
    text = reply_to(site, "editor@example.org")
    for word in SUBCOMMANDS:
        assert "> config %s %s\nREFUSED: only the SuperUser may do this\n" % (word.lower(), words) in text
    assert "%d command(s): 0 ok, 0 held, %d refused, 0 error(s)." % (len(SUBCOMMANDS), len(SUBCOMMANDS)) in text
    assert site.messages_to("thief@evil.example") == []
    with open(site.path("tristero.ini"), "rb") as f:
        assert f.read() == ini
    with open(site.path("logs", "security.at")) as f:
        trail = f.read()
    for word in SUBCOMMANDS:
        assert "editor@example.org,,CONFIG %s,refused: only the SuperUser may do this" % word in trail
    assert not os.path.exists(site.path("archive", "tristero.ini"))


def test_a_word_that_names_no_subcommand_lists_them_and_is_no_refusal(site):
    site.drop(mail(frm="alice@example.net", body="config frobnicate\n"))
    site.run()
    text = reply_to(site, "alice@example.net")
    assert "ERROR: CONFIG FROBNICATE is not known; CONFIG %s\n" % "|".join(SUBCOMMANDS) in text


def test_a_subcommand_named_in_quotes_as_one_word_is_no_command(site):
    # "config killadd" in quotes is one word: were it a command, it would run with no
    # SuperUser's right asked.
    site.drop(mail(frm="alice@example.net", body='"config killadd" free money\n'))
    site.run()
    text = reply_to(site, "alice@example.net")
    assert "ERROR: unknown command" in text
    with open(site.path("tristero.ini")) as f:
        assert "free money" not in f.read()


def test_a_config_subcommand_with_words_that_do_not_fit_is_still_logged_as_done_by_the_superuser(site):
    """As before the registry: CONFIG word by the SuperUser is logged once its right is
    checked, whether or not its words fit."""
    site.drop(mail(frm="boss@example.org", body="config sendfile\nconfig internetpolicysub 5\n"))
    site.run()
    log = site.log()
    assert "CONFIG SENDFILE by boss@example.org" in log
    assert "CONFIG INTERNETPOLICYSUB by boss@example.org" in log
