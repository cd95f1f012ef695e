"""Every text in English, German and Spanish: the catalogs are complete, their fields
agree, and a reader gets the language that is theirs (their own, the command words
they wrote in, their list's, the site's)."""

import csv
import os
import string

import pytest

import tristero.commands  # noqa: F401  (the commands' own texts and help join the English catalog)
from conftest import mail
from tristero.commands import registry, words
from tristero.core import text

LANGUAGES = ("de", "es")

NEWS_INI = """\
    [Globals]
    Domain = example.org
    SuperUser = boss@example.org

    [LIST news]
    MemberFile = 00000001
    Type = Open
    Owner = owner@example.org
    """


def _fields(template):
    """The fields of a template with their format specifications and conversions."""
    return {(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None}


# --- the catalogs -----------------------------------------------------------------------

def test_every_text_is_in_german_and_spanish():
    """Every key of the English catalog (the template files, each command's texts and its
    help) has its German and Spanish entry, and neither language has a key English lacks."""
    catalogs = text.builtin()
    english = catalogs[text.DEFAULT]
    assert any(key.startswith("help.") for key in english)
    for lang in LANGUAGES:
        catalog = catalogs.get(lang, {})
        missing = sorted(set(english) - set(catalog))
        assert missing == [], "texts with no %s entry" % lang
        stale = sorted(set(catalog) - set(english))
        assert stale == [], "%s entries of no English text" % lang


# Fields that only shape English grammar ({a}: "a" or "an"), which a translation may leave out.
GRAMMAR_ONLY = {"a"}


def _wrong_fields(template, english):
    """Why a translation's fields are not those of its English template, or None: a field the
    English does not give, one it gives left out, or a format specification changed."""
    mine, theirs = _fields(template), _fields(english)
    names, given = {f[0] for f in mine}, {f[0] for f in theirs}
    if names - given:
        return "names %s, which the English does not give" % sorted(names - given)
    if given - names - GRAMMAR_ONLY:
        return "leaves out %s" % sorted(given - names - GRAMMAR_ONLY)
    if mine - theirs:
        return "changes the format of %s" % sorted(mine - theirs)
    return None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_translation_uses_exactly_the_fields_of_the_english(lang):
    english, catalog = text.builtin()[text.DEFAULT], text.builtin()[lang]
    wrong = ["[%s] %s" % (key, _wrong_fields(catalog[key], template))
             for key, template in english.items() if key in catalog and _wrong_fields(catalog[key], template)]
    assert wrong == [], "%s entries whose fields are not the English ones" % lang


def test_the_field_check_sees_a_field_added_dropped_or_reformatted():
    assert _wrong_fields("{list} {who}", "{list}") is not None
    assert _wrong_fields("nothing", "{list}") is not None
    assert _wrong_fields("{usage:<40}", "{usage:<45}") is not None
    assert _wrong_fields("{list} ist eine Liste vom Typ {type}", "{list} is {a} {type} list") is None


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_english_template_file_has_its_german_and_spanish_file(lang):
    folder = os.path.join(text.BUILTIN, text.DEFAULT)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    theirs = set(os.listdir(os.path.join(text.BUILTIN, lang)))
    everywhere = {key for n in names for key in _catalog_file(os.path.join(folder, n))}
    assert [n for n in names if n not in theirs] == []
    for name in names:
        english = _catalog_file(os.path.join(folder, name))
        translated = _catalog_file(os.path.join(text.BUILTIN, lang, name))
        # The same keys; a command's own texts and help (no English file holds them) may
        # stand in the file of the area the command belongs to.
        extra = set(translated) - set(english)
        assert set(english) <= set(translated) and not extra & everywhere, \
            "%s/%s: not the keys of en/%s" % (lang, name, name)


def _catalog_file(path):
    with open(path, encoding="utf-8") as f:
        return text.parse(f.read(), path)


def test_the_command_words_name_commands_and_no_command_takes_one():
    for word, (name, lang) in words.WORDS.items():
        assert lang in text.builtin(), word
        assert registry.lookup(word) is registry.COMMANDS[name]
        assert registry.language_of(word.lower()) == lang
        assert registry._NAMES.get(word, name) == name, word
    assert registry.language_of("HELP") is None
    # A password after a word redact does not know would reach the echo, the log and spool/in/cur.
    assert not {name for name, _ in words.WORDS.values()} & {"PASSWORD", "SETPASS", "PASSWD", "ONECLICK"}


def test_a_command_whose_name_is_a_word_of_another_language_is_refused():
    class Hilfe(registry.Command):
        names = ("HILFE",)
    with pytest.raises(ValueError, match="HILFE"):
        registry.register(Hilfe)
    assert "HILFE" not in registry.COMMANDS


# --- through the front door -------------------------------------------------------------

def _site(site, extra=""):
    site.write_ini(NEWS_INI + extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nalice@example.net =\n")
    return site


def _reply(site, who="alice@example.net"):
    found = [m for m in site.messages_to(who) if "Results of" in m.get_content() or m["Subject"]]
    assert found
    return found[-1]


def _rules(site):
    with open(site.path("access.ini"), encoding="utf-8") as f:
        return list(csv.reader(f))[1:]


def _say(lang, key, **fields):
    said = text.Texts().get(key, lang, **fields)
    if lang != text.DEFAULT:
        assert said != text.Texts().get(key, text.DEFAULT, **fields), (lang, key)
    return said


@pytest.mark.parametrize("word, lang", [("HELP", "en"), ("HILFE", "de"), ("AYUDA", "es")])
def test_the_reply_to_help_is_in_the_language_of_the_word(site, word, lang):
    _site(site)
    site.drop(mail(body=word + "\n"))
    site.run()
    body = _reply(site).get_content()
    assert _say(lang, "robot.head", robot="tristero@example.org", server="Tristero") in body
    assert _say(lang, "help.title") in body
    assert _say(lang, "help.footer") in body
    assert _say(lang, "robot.summary", commands=1, ok=1, held=0, refused=0, errors=0) in body


@pytest.mark.parametrize("lang, words, usage, error, refused", [
    ("de", "HILFE", "SUBSCRIBE Liste [Ihr Name]", "FEHLER: ", "ABGELEHNT: "),
    ("es", "AYUDA", "SUBSCRIBE lista [su nombre]", "ERROR: ", "RECHAZADO: "),
])
def test_result_words_and_help_usage_lines_are_in_the_readers_language(site, lang, words, usage, error, refused):
    _site(site)
    site.drop(mail(body="%s\n%s SUBSCRIBE\n%s NOTHING\nREMOVE news owner@example.org\nSUBSCRIBE\n"
                        % (words, words, words)))
    site.run()
    body = _reply(site).get_content()
    assert "  %-45s " % usage in body, body                       # HELP's list
    assert "OK: " + usage in body, body                            # HELP SUBSCRIBE
    assert error + _say(lang, "help.no-command", name="NOTHING") in body, body
    # The usage line a refused command line is answered with is in the language as well.
    assert [line for line in body.splitlines() if line.startswith(error) and usage in line], body
    refusal = [line for line in body.splitlines() if line.startswith(refused)]
    assert len(refusal) == 1, body
    assert "REFUSED" not in body and "[your name]" not in body and "list address" not in body


def test_the_language_of_the_words_is_that_of_each_message_not_of_the_authors_last(site):
    # One run, one author: HILFE, then HELP, then AYUDA. Each reply is in its own
    # message's language (the words' language is no choice kept across the run).
    _site(site)
    for n, word in enumerate(("HILFE", "HELP", "AYUDA")):
        site.drop(mail(frm="bob@example.net", subject="m%d" % n, body=word + "\n"))
    site.run()
    replies = {m["Subject"]: m.get_content() for m in site.messages_to("bob@example.net")}
    for n, lang in enumerate(("de", "en", "es")):
        [body] = [b for subject, b in replies.items() if subject.endswith("m%d" % n)]
        assert _say(lang, "help.title") in body, (lang, body[:300])
    assert not os.path.exists(site.path("access.ini"))


@pytest.mark.parametrize("lang", ["de", "es"])
def test_set_language_makes_every_later_reply_the_members_language(site, lang):
    _site(site)
    site.drop(mail(body="SET news LANGUAGE %s\n" % lang))
    site.run()
    first = _reply(site).get_content()
    assert _say(lang, "set.language", list="news", address="alice@example.net",
                language=text.Text("language." + lang)) in first
    assert {"de": "auf Deutsch", "es": "en español"}[lang] in first
    assert _rules(site) == [["alice@example.net", "", "news", lang, "", ""]]
    # An English command at the list's request address: the answer is in her language.
    site.drop(mail(to="news-request@example.org", body="SET news NOMAIL\n"))
    site.run(now="2026-11-21T11:00:00")
    second = _reply(site).get_content()
    assert _say(lang, "set.mail", list="news", option="NOMAIL", address="alice@example.net") in second
    assert _say(lang, "robot.head", robot="news-request@example.org", server="Tristero") in second \
        or _say(lang, "robot.summary", commands=1, ok=1, held=0, refused=0, errors=0) in second


def test_set_language_refuses_a_language_the_site_has_no_texts_in(site):
    _site(site)
    site.drop(mail(body="SET news LANGUAGE xx\n"))
    site.run()
    body = _reply(site).get_content()
    assert "ERROR: " + _say("en", "set.unknown-language", language="xx", languages="de, en, es") in body
    assert not os.path.exists(site.path("access.ini"))


def test_who_joins_in_spanish_reads_spanish_from_then_on(site):
    _site(site)
    site.drop(mail(frm="bob@example.net", body="SUSCRIBIR news\n"))
    site.run()
    body = _reply(site, "bob@example.net").get_content()
    assert "OK: " + _say("es", "subscribe.done", address="bob@example.net", list="news") in body
    assert _rules(site) == [["bob@example.net", "", "news", "es", "", ""]]
    # Later, in English words: still Spanish.
    site.drop(mail(frm="bob@example.net", to="news-request@example.org", body="SET news NOMAIL\n"))
    site.run(now="2026-11-21T11:00:00")
    later = _reply(site, "bob@example.net").get_content()
    assert _say("es", "set.mail", list="news", option="NOMAIL", address="bob@example.net") in later


def test_who_joins_in_english_gets_no_rule(site):
    _site(site)
    site.drop(mail(frm="bob@example.net", body="SUBSCRIBE news\n"))
    site.run()
    assert not os.path.exists(site.path("access.ini"))


def test_a_lists_language_is_that_of_its_request_address_and_its_notices(site):
    _site(site, "Language = de\n")
    site.drop(mail(frm="carol@example.net", to="news-request@example.org", body="SUBSCRIBE\n"))
    site.run()
    body = _reply(site, "carol@example.net").get_content()
    assert _say("de", "subscribe.done", address="carol@example.net", list="news") in body
    # A site in English answers a command at its main address in English.
    site.drop(mail(frm="carol@example.net", body="LISTS\n"))
    site.run(now="2026-11-21T11:00:00")
    replies = [m.get_content() for m in site.messages_to("carol@example.net")]
    assert _say("en", "robot.head", robot="tristero@example.org", server="Tristero") in replies[-1]


def test_a_confirmed_spanish_subscription_keeps_spanish(site):
    _site(site)
    site.write_ini(NEWS_INI.replace("SuperUser = boss@example.org\n",
                                    "SuperUser = boss@example.org\n\n    [Security]\n    InternetPolicySub = 2\n"))
    site.drop(mail(frm="bob@example.net", body="SUSCRIBIR news\n"))
    site.run()
    confirm = [m for m in site.messages_to("bob@example.net")
               if m["Subject"] == _say("es", "membership.confirm.subject", list="news")]
    assert len(confirm) == 1
    block = confirm[0].get_content().split("---\n", 1)[1]
    assert "SUSCRIBIR news\nSTOP" in block
    site.drop(mail(frm="bob@example.net", subject="Re: confirm", body=block))
    site.run(now="2026-11-21T11:00:00")
    assert _rules(site) == [["bob@example.net", "", "news", "es", "", ""]]
    last = site.messages_to("bob@example.net")[-1].get_content()
    assert "OK: " + _say("es", "subscribe.done", address="bob@example.net", list="news") in last


@pytest.mark.parametrize("lang", ["de", "es"])
def test_a_lists_digest_is_in_the_lists_language(site, lang):
    site.write_ini(NEWS_INI + "Language = %s\n" % lang)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nd@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19\n")
    os.makedirs(site.path("archive", "00000001"))
    with open(site.path("archive", "00000001", "20261120.txt"), "wb") as f:
        f.write(b"From a@example.net Fri Nov 20 10:00:00 2026\nFrom: a@example.net\nSubject: Hola\n"
                b"Message-ID: <1@example.net>\nDate: Fri, 20 Nov 2026 10:00:00 +0000\n\nx\n\n")
    site.run(now="2026-11-21T02:00:00")
    [digest] = site.messages_to("d@example.com")
    assert digest["Subject"] == _say(lang, "digest.subject-one", list="news", span="2026-11-20", count=1)
    summary = digest.get_body(("plain",)).get_content()
    assert _say(lang, "digest.topics") in summary
    assert _say(lang, "digest.tally", count=1, subjects=1) in summary


def test_a_welcome_is_in_the_new_members_language(site):
    _site(site)
    os.makedirs(site.path("archive", "00000001"))
    with open(site.path("archive", "00000001", "welcome.txt"), "w") as f:
        f.write("Hello\n")
    site.drop(mail(frm="bob@example.net", body="ABONNIEREN news\n"))
    site.run()
    subjects = [m["Subject"] for m in site.messages_to("bob@example.net")]
    assert _say("de", "membership.welcome.subject", list="news") in subjects


def test_who_leaves_is_told_in_their_language_and_their_language_rule_goes(site):
    _site(site)
    site.drop(mail(body="SET news LANGUAGE es\n"))
    site.run()
    assert _rules(site) == [["alice@example.net", "", "news", "es", "", ""]]
    site.drop(mail(body="UNSUBSCRIBE news\n"))
    site.run(now="2026-11-21T11:00:00")
    last = site.messages_to("alice@example.net")[-1].get_content()
    assert "OK: " + _say("es", "membership.left", address="alice@example.net", list="news") in last
    assert _say("es", "robot.summary", commands=1, ok=1, held=0, refused=0, errors=0) in last
    assert _rules(site) == []


def test_who_is_added_to_a_german_list_is_welcomed_in_german(site):
    _site(site, "Language = de\n")
    site.drop(mail(frm="owner@example.org", body="ADD news bob@example.net\n"))
    site.run()
    [welcome] = site.messages_to("bob@example.net")
    assert welcome["Subject"] == _say("de", "membership.welcome.subject", list="news")
    assert _say("de", "add.welcome-lead", list="news", address="news@example.org", owner="owner@example.org",
                quoted="news", robot="tristero@example.org") in welcome.get_content()
    # The owner wrote to the site's address in English words: the owner's reply is English.
    assert "OK: " + _say("en", "add.done", address="bob@example.net", list="news") in \
        site.messages_to("owner@example.org")[-1].get_content()


def test_a_word_with_its_accent_answers_in_its_language(site):
    _site(site)
    site.drop(mail(body="quién news\n"))
    site.run()
    body = _reply(site).get_content()
    assert "> quién news" in body
    assert "OK: " + _say("es", "members.title", count=1, list="news") in body


def test_every_language_has_its_name_in_every_language():
    from tristero.commands.set import LANGUAGE_NAMES
    assert sorted(LANGUAGE_NAMES) == sorted(text.builtin())
    names = {lang: text.Texts().get(LANGUAGE_NAMES[lang], lang) for lang in LANGUAGE_NAMES}
    assert names == {"en": "English", "de": "Deutsch", "es": "español"}


def test_access_ini_names_a_language_as_the_manual_writes_it(site):
    """The manual's sample: *.jp At Internet,"","",Japanese,"","" - a language by its name.
    A name Tristero has no texts in is passed over."""
    _site(site)
    with open(site.path("access.ini"), "w") as f:
        f.write('user,status,list,language,encrypted_password,flag\n'
                '*@example.net,"","",German,"",""\n'
                'carol@example.net,"","",Japanese,"",""\n')
    site.drop(mail(body="LISTS\n"))
    site.drop(mail(frm="carol@example.net", body="LISTS\n"))
    site.run()
    assert _say("de", "lists.title", count=1, domain="example.org") in _reply(site).get_content()
    assert _say("de", "lists.title", count=1, domain="example.org") in _reply(site, "carol@example.net").get_content()


def test_set_lang_takes_a_languages_name(site):
    _site(site)
    site.drop(mail(body="SET news LANG Spanish\n"))
    site.run()
    assert _rules(site) == [["alice@example.net", "", "news", "es", "", ""]]


@pytest.mark.parametrize("word, code", [("de", "de"), ("DE", "de"), ("German", "de"), ("Deutsch", "de"),
                                        ("español", "es"), ("Castellano", "es"), ("English", "en"),
                                        ("Japanese", None), ("", None), ("d", None)])
def test_a_language_by_code_or_name(word, code):
    assert text.language_code(word) == code


def test_config_security_reports_the_language_settings(site):
    """The manual: CONFIG SECURITY "Report security and language settings"."""
    site.write_ini(NEWS_INI + "Language = Spanish\n\n    [LIST other]\n    MemberFile = 00000002\n")
    os.makedirs(site.path("lists"))
    with open(site.path("access.ini"), "w") as f:
        f.write('user,status,list,language,encrypted_password,flag\nann@example.net,"",news,de,"",""\n')
    site.drop(mail(frm="boss@example.org", body="CONFIG SECURITY\n"))
    site.run()
    body = site.messages_to("boss@example.org")[-1].get_content()
    assert _say("en", "config.security.setting", name="Language:", value="en, news es") in body
    assert _say("en", "config.security.rule", user="ann@example.net", rights="-" * 12, list="news",
                language="de", password="-") in body


def test_check_warns_of_a_language_tristero_has_no_texts_in(site):
    _site(site)
    with open(site.path("access.ini"), "w") as f:
        f.write('user,status,list,language,encrypted_password,flag\n*.jp,"","",Japanese,"",""\n'
                'ann@example.net,"",news,German,"",""\n')
    p = site.tristero("check", check=False)
    assert p.returncode == 0, p.stderr
    assert p.stderr.decode().count("not one Tristero has texts in") == 1
    assert "%s:2: warning: the language 'Japanese' is not one Tristero has texts in: *.jp reads" \
        % site.path("access.ini") in p.stderr.decode()
