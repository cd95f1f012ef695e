"""The command registry: HELP is made from it (so the two cannot drift), and every text
a command says by key is in the catalog with the fields it needs."""

import ast
import email
import os

import tristero.commands  # noqa: F401  (registers every command)
from conftest import READING, mail
from tristero.commands import registry
from tristero.core import text

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib", "tristero")


def reply_text(site, to):
    replies = [email.message_from_bytes(b.data, policy=READING) for b in site.outbound()
               if to in b.recipients]
    assert len(replies) == 1
    return replies[0].get_content()


def test_help_lists_every_registered_command_with_its_usage_and_help_command_shows_each(site):
    commands = registry.in_order()   # the subcommands (CONFIG X) are in their parent's line
    site.drop(mail(frm="boss@example.org", body="help\n" + "".join("help %s\n" % c.names[-1] for c in commands)))
    site.run()
    text_ = reply_text(site, "boss@example.org")
    listing = text_.split("> help\n", 1)[1].split("\n> ", 1)[0]
    lines = [line for line in listing.splitlines() if line.startswith("  ")]
    assert len(lines) == len(commands)
    for c in commands:
        summary = registry.first_sentence(c.help)
        assert "  %-45s %s" % (c.usage, summary) in lines, c.name
        # HELP synonym: the usage, the whole description, the other names.
        shown = text_.split("> help %s\n" % c.names[-1], 1)[1].split("\n> ", 1)[0]
        assert shown.startswith("OK: %s\n  %s\n" % (c.usage, c.help)), c.name
        if len(c.names) > 1:
            assert "  Also: %s" % ", ".join(c.names[1:]) in shown


def text_calls(path):
    """(line, key, field names given) of each s.text("key", ...) / ctx.text("key", reader, ...)
    with a literal key (both keys of a literal "a" if ... else "b")."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "text"
                and node.args):
            continue
        first = node.args[0]
        keys = [first] if isinstance(first, ast.Constant) else (
            [first.body, first.orelse] if isinstance(first, ast.IfExp) else [])
        given = {k.arg for k in node.keywords}
        for k in keys:
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                yield node.lineno, k.value, given


def test_every_text_a_command_says_is_in_the_catalog_with_the_fields_it_needs():
    english = text.builtin()[text.DEFAULT]
    paths = [os.path.join(LIB, "commands", n) for n in sorted(os.listdir(os.path.join(LIB, "commands")))
             if n.endswith(".py")] + [os.path.join(LIB, "services", "membership.py")]
    problems, seen = [], 0
    for path in paths:
        for line, key, given in text_calls(path):
            seen += 1
            where = "%s:%d [%s]" % (os.path.relpath(path, LIB), line, key)
            if key not in english:
                problems.append(where + " is no text")
            elif None not in given and set(text.fields_of(english[key])) - given:   # None: **fields
                problems.append(where + " lacks %s" % sorted(set(text.fields_of(english[key])) - given))
    assert seen > 50 and problems == []


def test_help_of_no_command_names_it_as_it_was_written(site):
    """As before the registry: HELP frobnicate answers with the word as sent, not upper-cased."""
    site.drop(mail(body="help frobnicate\n"))
    site.run()
    assert "there is no command frobnicate" in reply_text(site, "alice@example.net")


def test_a_quoted_subcommand_is_no_command_and_config_words_are_not_read_before_the_right(site):
    """"CONFIG KILLADD" in quotes is one word: no command, so it cannot pass by CONFIG's
    right; CONFIG KILLADD from a stranger is refused, audited, and its words not read."""
    site.drop(mail(body='"config killadd" free money\nconfig killadd free money\n'))
    site.run()
    said = reply_text(site, "alice@example.net")
    assert "> config killadd\nERROR: unknown command" in said
    assert "> config killadd free money\nREFUSED: only the SuperUser may do this" in said
    with open(site.path("logs", "security.at"), encoding="utf-8") as f:
        assert f.read().count(",alice@example.net,,CONFIG KILLADD,refused: only the SuperUser may do this") == 1
    for folder, _, names in os.walk(site.home):
        for name in names:
            if not folder.startswith(site.path("spool")):
                with open(os.path.join(folder, name), "rb") as f:
                    assert b"free money" not in f.read(), name


def test_help_lists_the_commands_in_the_order_of_the_table_before_the_registry(site):
    """HELP's list kept the old command table's order within each audience (not by name)."""
    site.drop(mail(frm="boss@example.org", body="help\n"))
    site.run()
    listing = reply_text(site, "boss@example.org").split("> help\n", 1)[1]
    shown = [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line[2] != " "]
    table = ["HELP", "LISTS", "INFO", "INTRO", "SUBSCRIBE", "UNSUBSCRIBE", "MEMBERS", "WHICH", "EXPLAIN", "SET",
             "REWIND", "CATCHUP", "INDEX", "GET", "FETCH", "SEARCH", "CD", "PUT", "START", "RIGHTS", "PASSWORD",
             "SETPASS", "COOKIE", "AUTH", "WEBSUBSCRIBE", "ONECLICK",
             "KILL", "ANNOUNCE", "ADD", "REMOVE", "CHANGE", "PASSWD", "NEWCONFIG",
             "WRITECONFIG", "NEWINFO", "NEWINTRO", "MKDIGEST", "PROXYBBS", "GRANT", "REVOKE", "AUDIT",
             "HELD", "APPROVE", "REJECT", "DISCARD", "BAN", "PROXY",
             "CREATE", "CREATECLIENT", "DESTROY", "CLONE", "RENAMELIST", "BAKE", "DISTRIBUTE", "MAILING",
             "CONFIG", "ADESYNC"]
    # The dialects' commands (PW, QUERY ...) come among them; the table's keep their order.
    assert [c for c in shown if c in table] == table


def test_a_postmaster_setting_the_superusers_password_is_refused_and_the_superuser_told_by_text(site):
    with open(site.path("access.ini"), "w") as f:
        f.write('"pm@example.org",PostMaster,"","","",""\n')
    site.drop(mail(frm="pm@example.org", body="setpass secret123 for boss@example.org\n"))
    site.run()
    assert "REFUSED: only the SuperUser sets the password of a PostMaster" in reply_text(site, "pm@example.org")
    notice = reply_text(site, "boss@example.org")
    assert "  " + text.english("setpass.above-rank-notice", user="boss@example.org") in notice
    assert "  SETPASS FOR boss@example.org: above own rank" in notice
