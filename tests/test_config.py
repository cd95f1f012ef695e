"""tristero.ini: defaults, checking with line numbers, rewrites that keep what a person wrote."""

import os

from conftest import BASE_INI, REPO, mail
from tristero.model import config as configmod


def test_example_has_a_default_for_every_key_the_code_reads():
    example = configmod.load_defaults()
    for section, schema in configmod.SCHEMA.items():
        for key in schema:
            assert key in example.sections[section], "%s %s missing from the example" % (section, key)
    assert [p for p in example.check() if p.fatal] == []


def test_example_lists_no_key_the_code_does_not_read():
    example = configmod.load_defaults()
    warnings = [str(p) for p in example.check() if not p.fatal]
    assert warnings == []


def test_missing_ini_is_created_from_the_example(site):
    os.unlink(site.path("tristero.ini"))
    site.run()
    with open(site.path("tristero.ini")) as f, open(os.path.join(REPO, "tristero.ini.example")) as g:
        assert f.read() == g.read()


def test_check_reports_bad_values_with_file_and_line(site):
    site.write_ini("""\
        [Globals]
        Domain = example.org
        MaxRecipients = ten

        [LIST news]
        Type = Weird
        """)
    p = site.tristero("check", check=False)
    assert p.returncode == 78
    err = p.stderr.decode()
    assert "tristero.ini:3: MaxRecipients: 'ten' is not a whole number" in err
    assert "tristero.ini:6: Type: 'Weird' is not one of Open" in err
    assert "Traceback" not in err


def test_run_with_broken_syntax_exits_78_and_leaves_the_spool_alone(site):
    site.write_ini("[Globals]\nDomain = example.org\nthis line is not ini\n[broken\n")
    name = site.drop(mail(body="help"))
    p = site.run(check=False)
    assert p.returncode == 78
    err = p.stderr.decode()
    assert "tristero.ini:3:" in err and "tristero.ini:4:" in err
    assert "Traceback" not in err
    assert site.listdir("spool", "in", "new") == [name]
    assert site.listdir("spool", "out", "new") == []


def test_negative_and_zero_counts_are_refused(site):
    site.write_ini("[Globals]\nDomain = example.org\nMaxRecipients = 0\nLogDays = -1\n")
    p = site.tristero("check", check=False)
    assert p.returncode == 78
    assert b"MaxRecipients: 0 is out of range" in p.stderr
    assert b"LogDays: -1 is not a whole number" not in p.stderr


def test_unknown_keys_are_warnings_not_errors(site):
    site.write_ini("[Globals]\nDomain = example.org\nMaxRecipeints = 5\n")
    p = site.tristero("check", check=False)
    assert p.returncode == 0
    assert b"tristero.ini:3: warning: unknown key MaxRecipeints in [Globals]" in p.stderr


def test_two_lists_with_one_member_file_are_an_error(site):
    site.write_ini("""\
        [Globals]
        Domain = example.org
        [LIST a]
        MemberFile = 00000001
        [LIST b]
        MemberFile = 00000001
        """)
    p = site.tristero("check", check=False)
    assert p.returncode == 78
    assert b"MemberFile 00000001 is also used by [LIST a]" in p.stderr


def test_a_list_name_that_cannot_be_one_is_an_error(site):
    site.write_ini("[Globals]\nDomain = example.org\n[LIST ../etc]\nType = Open\n")
    p = site.tristero("check", check=False)
    assert p.returncode == 78
    assert b"tristero.ini:3: [LIST ../etc]" in p.stderr


def test_a_rewrite_keeps_comments_layout_and_pattern_sections(site):
    original = """\
# The site's own comment, at the top.
[Globals]
Domain = example.org   # inline comment
SuperUser = boss@example.org

# Lists below.
[LIST news]
Type = Open
Owner = boss@example.org
MemberFile = 00000001

[Kill Subjects]
; a comment in a pattern section
#{MAILER-DAEMON
Delivery failure}#

[Kill Authors]
#{spammer
"""
    with open(site.path("tristero.ini"), "w") as f:
        f.write(original)
    # CREATE changes the file: a new [LIST] section.
    site.drop(mail(frm="boss@example.org", body="create fresh A fresh list"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        after = f.read()
    assert after.startswith(original.split("[Kill Subjects]")[0].rstrip("\n"))
    assert "[Kill Subjects]\n; a comment in a pattern section\n#{MAILER-DAEMON\nDelivery failure}#\n" in after
    assert "[Kill Authors]\n#{spammer\n" in after
    assert "[LIST fresh]" in after and "Description = A fresh list" in after
    cfg = configmod.load(site.home)
    assert cfg.patterns["Kill Subjects"] == ["#{MAILER-DAEMON", "Delivery failure}#"]


def test_pattern_sections_read_every_line_but_semicolon_comments():
    cfg = configmod.Config("x", "[Globals]\nDomain = example.org\n[PreScan Strings]\n; note\n"
                           "BOUNCE,550 %1 User Unknown\n#{unsubscribe\n\n", configmod.load_defaults())
    assert cfg.patterns["PreScan Strings"] == ["BOUNCE,550 %1 User Unknown", "#{unsubscribe"]


def test_set_patterns_replaces_entries_in_place_keeping_comments():
    text = "[Globals]\nDomain = example.org\n\n[Kill Subjects]\n; keep me\nold one\nold two\n\n[Kill Authors]\nx\n"
    cfg = configmod.Config("x", text, configmod.load_defaults())
    cfg.set_patterns("Kill Subjects", ["new one"])
    assert cfg.render() == ("[Globals]\nDomain = example.org\n\n[Kill Subjects]\n; keep me\nnew one\n\n"
                            "[Kill Authors]\nx\n")


def test_an_edit_saved_during_a_run_is_not_overwritten(site, tmp_path):
    """The run's change (a CREATE) is replayed on the person's newer file."""
    from tristero.model import journal
    from tristero.model import state as statemod
    from tristero.model.site import Site
    s = Site(site.home)
    s.ensure()
    cfg = configmod.load(site.home)
    st = statemod.State(s, cfg)
    st.add_section("LIST made", {"Type": "Open", "MemberFile": "00000007"})
    # Meanwhile a person saves the file with a new key.
    with open(site.path("tristero.ini"), "a") as f:
        f.write("LogDays = 9\n")
    txn = journal.Transaction(site.home, 1)
    st.stage(txn)
    txn.commit()
    with open(site.path("tristero.ini")) as f:
        text = f.read()
    assert "LogDays = 9" in text
    assert "[LIST made]" in text


def test_a_broken_edit_saved_during_a_run_stops_it_without_overwriting(site):
    import pytest

    from tristero.model import journal
    from tristero.model import state as statemod
    from tristero.model.site import Site
    s = Site(site.home)
    s.ensure()
    cfg = configmod.load(site.home)
    st = statemod.State(s, cfg)
    st.set_config("Globals", "LogDays", "5")
    with open(site.path("tristero.ini"), "a") as f:
        f.write("half written line\n")
    txn = journal.Transaction(site.home, 1)
    with pytest.raises(configmod.ConfigError):
        st.stage(txn)
    txn.discard()
    with open(site.path("tristero.ini")) as f:
        assert f.read().endswith("half written line\n")


def test_a_list_section_added_by_hand_gets_a_member_file_number(site):
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[LIST handmade]\nType = Open\n")
    site.drop(mail(to="tristero@example.org", body="subscribe handmade"))
    site.run()
    cfg = configmod.load(site.home)
    number = cfg.raw("LIST handmade", "MemberFile")
    assert number and len(number) == 8
    with open(site.path("lists", number + ".ini")) as f:
        assert "alice@example.net =" in f.read()


def test_section_names_are_read_without_regard_to_case(site):
    site.write_ini("[globals]\nDomain = example.org\nSuperUser = boss@example.org\n"
                   "[list news]\nMemberFile = 00000001\n[kill subjects]\n#{DELIVERY ERROR}#\n")
    p = site.tristero("check", check=False)
    assert p.returncode == 0 and b"unknown section" not in p.stderr
    cfg = configmod.load(site.home)
    assert cfg.list_names() == ["news"] and cfg.patterns["Kill Subjects"] == ["#{DELIVERY ERROR}#"]


def test_a_value_that_would_not_read_back_is_refused_by_mail(site):
    site.write_ini(BASE_INI + "[LIST news]\nMemberFile = 00000001\nOwner = boss@example.org\n")
    site.drop(mail(frm="boss@example.org", body="set news forwardprefix '''x\nset news archivedays -3\n"
                                                "set news forwardprefix a # b\n"))
    site.run()
    site.drop(mail(frm="boss@example.org", subject="again", body="lists"))
    assert site.run().returncode == 0          # the file still reads
    cfg = configmod.load(site.home)
    assert cfg.list_value("news", "ArchiveDays") != -3
    # 3 quotes and x cannot be written at all; "a # b" can, in quotes, and reads back as itself.
    assert cfg.raw("LIST news", "ForwardPrefix") == "a # b"
    with open(site.path("tristero.ini"), encoding="utf-8") as f:
        assert 'ForwardPrefix = "a # b"' in f.read()
