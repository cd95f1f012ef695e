"""Texts by key: the site rewords a reply in SITE/templates/LANG/*.txt, and check reports
what of its wording is not used."""

import ast
import os
import re

import pytest

import tristero.commands  # noqa: F401  (the commands' own texts join the English catalog)
from conftest import REPO, mail
from tristero.core import text

LIB = os.path.join(REPO, "lib", "tristero")

NEWS_INI = """\
    [Globals]
    Domain = example.org
    SuperUser = boss@example.org

    [LIST news]
    MemberFile = 00000001
    Type = Open
    Owner = owner@example.org
    """


def write_template(site, name, content, lang="en"):
    folder = site.path("templates", lang)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
    return path


def reply_to(site, who="alice@example.net"):
    found = site.messages_to(who)
    assert len(found) == 1, [m["Subject"] for m in found]
    return found[0]


def check(site):
    p = site.tristero("check", check=False)
    assert p.returncode == 0, p.stderr
    return p.stderr.decode()


# --- through the front door ------------------------------------------------------------

def test_a_site_rewords_a_reply_in_its_templates_folder(site):
    write_template(site, "x.txt", "# our own words\n\n[robot.no-command]\n"
                                  "Nothing in your note looked like a command.\n\n"
                                  "[routing.unknown-address.subject]\nNo such address here: {address}\n")
    site.drop(mail(body="", subject="Re: hi"))
    site.drop(mail(frm="bob@example.net", to="nobody@example.org", subject="hi"))
    site.run()
    text_ = reply_to(site).get_content()
    assert text_.startswith("Results of your commands to tristero@example.org at Tristero:\n\n"
                            "Nothing in your note looked like a command.\n\n")
    assert "No command was found" not in text_
    assert reply_to(site, "bob@example.net")["Subject"] == "No such address here: nobody@example.org"
    assert "templates" not in check(site)            # every entry is used


def test_an_entry_naming_a_field_the_text_lacks_falls_back_and_check_reports_it(site):
    path = write_template(site, "routing.txt", "[routing.unknown-address]\n"
                                               "There is no {mailbox} here; ask {robot}.\n")
    site.drop(mail(to="nobody@example.org"))
    site.run()
    body = reply_to(site).get_content()
    assert body == ("There is no list or mailbox nobody@example.org at example.org.\n\n"
                    "To see the lists here, send the word LISTS to tristero@example.org.\n")
    err = check(site)
    assert "%s:1: warning: [routing.unknown-address] names {mailbox}, not a field of this text" % path in err
    assert "it has: address, domain, robot" in err


def test_text_before_the_first_key_makes_check_name_the_file_and_line(site):
    path = write_template(site, "broken.txt", "# a comment is fine\n\nThis line is no [key]\n"
                                              "[robot.no-command]\nNothing here.\n")
    site.drop(mail(body="", subject="Re: hi"))
    site.run()
    # The file is not used: the built-in text answers.
    assert "No command was found in your message." in reply_to(site).get_content()
    err = check(site)
    assert "%s:3: warning: text before the first [key] line (the file is not used)" % path in err


def test_check_reports_a_key_that_is_no_text_and_a_folder_that_is_no_language(site):
    path = write_template(site, "x.txt", "[robot.no-commandd]\nTypo.\n")
    os.makedirs(site.path("templates", "english"))
    err = check(site)
    assert "%s:1: warning: [robot.no-commandd] is no text of Tristero: not used" % path in err
    assert "%s: warning: not a language of Tristero's texts" % site.path("templates", "english") in err


@pytest.mark.parametrize("template", ["{robot.__class__}", "{robot.__class__.__init__.__globals__}",
                                      "{0.__class__}", "{robot[0]}", "{}"])
def test_a_field_is_a_plain_name_and_never_reaches_an_attribute(site, template):
    write_template(site, "x.txt", "[robot.head]\nAnswers " + template + "\n")
    site.drop(mail(body="lists"))
    site.run()
    body = reply_to(site).get_content()
    assert body.startswith("Results of your commands to tristero@example.org at Tristero:\n\n")
    assert "class" not in body and "globals" not in body
    assert "[robot.head] names {%s}" % template[1:-1] in check(site)


def test_a_reworded_refusal_is_still_told_apart_by_its_key(site):
    """Barred takes the answer to a post away: the refusal is known by its key, not its words."""
    site.write_ini(NEWS_INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n")
    with open(site.path("access.ini"), "w") as f:
        f.write('"spammer@x.example",Barred,"","","",""\n')
    write_template(site, "rights.txt", "[rights.barred]\nshut out\n\n"
                                       "[rights.members-only]\n{list} takes posts from its members alone\n")
    site.drop(mail(frm="spammer@x.example", to="news@example.org", subject="buy"))
    site.run()
    assert site.messages_to("spammer@x.example") == []
    assert "post to news refused: shut out" in site.log()


def test_a_reworded_digest_notice_reaches_the_members(site):
    """The site's words reach mail to many readers too (the site's Language)."""
    site.write_ini(NEWS_INI.replace("Type = Open", "Type = Open\n    Archive = N"))
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19\n")
    write_template(site, "digest.txt", "[digest.ended.subject]\nNo more digests of {list}\n")
    site.run()
    told = site.messages_to("carol@example.com")
    assert [m["Subject"] for m in told] == ["No more digests of news"]
    assert "The list news no longer keeps an archive" in told[0].get_content()


# --- units -----------------------------------------------------------------------------

class _Secret:
    site = "the secret"


@pytest.mark.parametrize("template", ["{ctx.site}", "{0.__class__}", "{ctx[site]}", "{}", "{x:{ctx.site}}"])
def test_fill_refuses_anything_but_plain_names(template):
    with pytest.raises(text.TemplateError):
        text.fill(template, {"ctx": _Secret(), "x": 1})


def test_a_text_field_is_put_in_words_in_the_readers_language():
    texts = text.Texts()
    why = text.Text("repository.missing", name="a.txt")
    assert str(why) == "there is no file a.txt"
    assert texts.get("listbot.not-sent", name="a.txt", why=why) == "  a.txt: not sent (there is no file a.txt)"


KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$")
# Keys the code builds from a name (the commands' descriptions, HELP's headings).
DYNAMIC = ("help.", "gaps.usage.")
# File names of the areas' form (housekeeping.day, listbot.txt) are no keys.
FILES = {"txt", "day", "ini", "log", "csv", "key", "at", "lock", "state", "ldif"}
# Calls whose first argument is a text's key (ctx.text, s.text, digests' say, text.Text ...).
TEXT_CALLS = {"text", "say", "Text", "english"}


def _sources():
    for folder, _, names in os.walk(LIB):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield path, ast.parse(f.read(), path)


def _literals(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _scan():
    """(keys named as the key of a text call, every other string literal of lib) with where."""
    called, literals = [], set()
    for path, tree in _sources():
        texts_dicts = set()
        for node in ast.walk(tree):
            # A command's own texts = {key: template}: defining a key is not using it.
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "texts"
                                                    for t in node.targets) and isinstance(node.value, ast.Dict):
                texts_dicts.update(id(k) for k in node.value.keys)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                # ctx.list_text(listname, key, ...): the key second.
                at = 1 if name == "list_text" else 0
                if (name in TEXT_CALLS or name == "list_text") and len(node.args) > at:
                    called += [(key, "%s:%d" % (os.path.relpath(path, LIB), node.lineno))
                               for key in _literals(node.args[at])]
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in texts_dicts:
                literals.add(node.value)
    return called, literals


def test_every_key_the_code_names_is_in_the_english_catalog_and_every_entry_is_used():
    english = text.builtin()[text.DEFAULT]
    areas = {key.split(".")[0] for key in english}
    called, literals = _scan()
    assert len(called) > 100
    missing = ["%s [%s]" % (where, key) for key, where in called if KEY.match(key) and key not in english]
    assert missing == [], "texts named in the code but in no catalog"
    # A key held in a constant or passed on (rights.WRONG_PASSWORD, screening's _warn) is a
    # literal of an area's form: it must be a text as well.
    named = {s for s in literals if KEY.match(s) and s.split(".")[0] in areas
             and not s.endswith(("-", ".")) and s.rpartition(".")[2] not in FILES}
    assert sorted(named - set(english)) == []
    unused = [key for key in english if key not in literals and not key.startswith(DYNAMIC)]
    assert unused == [], "catalog entries no code uses"


def test_the_built_in_catalogs_read_and_their_templates_fill():
    for _lang, catalog in text.load_folder(text.BUILTIN).items():
        for key, template in catalog.items():
            assert KEY.match(key), key
            fields = {name: 1 for name in text.fields_of(template)}
            text.fill(template, fields)      # no lone brace, no field that is not a plain name


# --- a site's templates cannot crash a run or blow up its memory --------------------------

def test_a_subject_is_never_read_as_a_format_specification(site):
    """{subject:{subject}} would make the sender's subject a format specification: a
    subject of >999999999 a string of a gigabyte. The site's entry is not used."""
    site.write_ini(NEWS_INI.replace("Type = Open", "Type = Closed"))
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n")
    path = write_template(site, "posting.txt", "[posting.refused-subject]\nNot posted: {subject:{subject}}\n")
    site.drop(mail(to="news@example.org", subject=">999999"))
    site.run()
    assert reply_to(site)["Subject"] == "Not posted: >999999"
    assert "%s:1: warning: [posting.refused-subject] does not read: '{subject}': a field inside a format " \
           "specification" % path in check(site)


@pytest.mark.parametrize("spec", [">999999999", ".999999999", "0999999999", "x^301"])
def test_a_site_text_with_a_huge_width_is_not_used_and_check_reports_it(site, spec):
    path = write_template(site, "routing.txt", "[routing.unknown-address.subject]\nNo such address: {address:%s}\n"
                          % spec)
    site.drop(mail(to="nobody@example.org"))
    site.run()
    assert reply_to(site)["Subject"] == text.english("routing.unknown-address.subject", address="nobody@example.org")
    assert "%s:1: warning: [routing.unknown-address.subject] does not read: %r: a width or precision above %d" \
           % (path, spec, text.MAX_WIDTH) in check(site)


@pytest.mark.parametrize("template, fields", [("{a:>301}", {"a": "x"}), ("{a:.301}", {"a": "x"}),
                                              ("{a:c}", {"a": 10 ** 9}), ("{a:{b}}", {"a": "x", "b": ">9"})])
def test_fill_bounds_what_a_text_can_make(template, fields):
    with pytest.raises(text.TemplateError):
        text.fill(template, fields)
    assert text.fill("{a:>300}", {"a": "x"}) == " " * 299 + "x"


def test_a_site_text_that_fails_on_a_value_falls_back_to_the_built_in_text(tmp_path):
    os.makedirs(tmp_path / "en")
    (tmp_path / "en" / "x.txt").write_text("[posting.too-big]\n{size:c} is too big\n")
    texts = text.Texts(str(tmp_path))
    assert texts.get("posting.too-big", size=10 ** 9, limit=5) == text.english("posting.too-big", size=10 ** 9,
                                                                                limit=5)
    assert texts.problems and texts.problems[0][0] == "posting.too-big"


@pytest.mark.parametrize("kind", ["fifo", "link", "huge", "latin-1"])
def test_a_templates_file_that_is_no_small_regular_text_file_is_not_read(site, kind):
    """A pipe would block the run for ever, /dev/zero or a huge file fill its memory."""
    folder = site.path("templates", "en")
    os.makedirs(folder)
    path = os.path.join(folder, "x.txt")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "link":
        os.symlink("/dev/zero", path)
    elif kind == "huge":
        with open(path, "w") as f:
            f.write("[robot.no-command]\n" + "x" * (text.MAX_FILE + 1) + "\n")
    else:
        with open(path, "wb") as f:
            f.write("[robot.no-command]\nNada \xe9\n".encode("latin-1"))
    site.drop(mail(body="", subject="Re: hi"))
    site.run()
    assert "No command was found in your message." in reply_to(site).get_content()
    assert "%s: warning: %s" % (path, {"fifo": "not a regular file", "link": "a symbolic link", "huge": "more than",
                                       "latin-1": "not UTF-8"}[kind]) in check(site)


def test_a_site_with_too_many_catalog_files_reads_only_the_first(site):
    for n in range(text.MAX_FILES + 1):
        write_template(site, "%04d.txt" % n, "# nothing\n")
    write_template(site, "zz.txt", "[robot.no-command]\nNot read.\n")
    site.drop(mail(body="", subject="Re: hi"))
    site.run()
    assert "No command was found in your message." in reply_to(site).get_content()
    assert "more than %d catalog files" % text.MAX_FILES in check(site)


def test_a_site_text_that_repeats_a_field_without_end_is_not_used(site):
    """{address} ten thousand times would make a long value ten thousand times longer."""
    path = write_template(site, "routing.txt", "[routing.unknown-address.subject]\n%s\n" % ("{address}" * 10000))
    site.drop(mail(to="nobody@example.org"))
    site.run()
    assert reply_to(site)["Subject"] == text.english("routing.unknown-address.subject", address="nobody@example.org")
    assert "%s:1: warning: [routing.unknown-address.subject] does not read: {address} used 10000 times: at most %d" \
           % (path, text.MAX_USES) in check(site)
    assert text.fill("{a}" * text.MAX_USES, {"a": "x"}) == "x" * text.MAX_USES
