"""tristero.py import majordomo|mailman|listserv: lists brought over in one command, then used by mail."""

import os

import pytest

from conftest import mail
from tristero.model import config as configmod
from tristero.model import members
from tristero.policy import rights

# Every Majordomo 1.94 key issue 15 names, as Majordomo's config writes them.
MAJORDOMO_CONFIG = """\
	# The configuration file for a majordomo mailing list.
	# Comments start with the first # on a line.
	# admin_passwd         [word] (LIST.admin) <majordomo>
	# The password for handling administrative tasks on the list.
admin_passwd        =   {admin}
approve_passwd      =   approveme
description         =   The {name} list, brought over
moderate            =   no
moderator           =
restrict_post       =
subscribe_policy    =   open+confirm
unsubscribe_policy  =   open
index_access        =   open
get_access          =   list
info_access         =   open
which_access        =   open
who_access          =   closed
reply_to            =   {name}@lists.example.org
subject_prefix      =   [$LIST]
maxlength           =   40000
taboo_headers       <<  END
-^subject: .*viagra
END
taboo_body          <<  END
END
welcome             =   yes
announcements       =   yes
digest_archive      =
digest_issue        =   1
digest_maxdays      =
digest_maxlines     =
digest_name         =   {name}
digest_rm_footer    =
digest_rm_fronter   =
digest_volume       =   1
digest_work_dir     =
"""

ARCHIVE = """\
From carol@example.com Tue Mar  3 10:00:00 1998
From: Carol <carol@example.com>
To: {name}@lists.example.org
Subject: first post of {name}
Date: Tue, 3 Mar 1998 10:00:00 +0000
Message-ID: <first-{name}@example.com>

Hello {name}.
>From here on, a line that began with From.

From dave@example.net Wed Mar  4 11:00:00 1998
From: dave@example.net
Subject: second post

Second, its date only on its From_ line.

From erin@example.com Tue Mar  3 09:00:00 1998
From: erin@example.com
Subject: earlier that day

Filed before the first.
"""

@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Passwords hashed with a small scrypt cost (the stored hash names it; verify reads it
    there): twenty lists' passwords an import, several imports a test, in seconds."""
    monkeypatch.setattr(rights, "_N", 2 ** 8)


NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def majordomo_folder(root):
    """A Majordomo lists folder: ten lists, each with members, config, info, intro, passwd,
    an archive; alpha with a digest list and a few lines that cannot be used."""
    folder = os.path.join(str(root), "majordomo-lists")
    os.makedirs(folder)

    def write(name, text):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    for i, name in enumerate(NAMES):
        write(name, "".join("user%d-%d@example.net\n" % (i, j) for j in range(5))
              + "Carol Stone <carol@example.com>\n")
        write(name + ".config", MAJORDOMO_CONFIG.format(name=name, admin="secret-%s" % name))
        write(name + ".info", "All about %s.\n" % name)
        write(name + ".intro", "Welcome to %s, the intro.\n" % name)
        write(name + ".passwd", "old-%s\n" % name)
        os.makedirs(os.path.join(folder, name + ".archive"))
        write(os.path.join(name + ".archive", name + ".9803"), ARCHIVE.format(name=name))
    write("alpha", "alice@example.org\n(Bob Jones) bob@example.org\nnot an address\nalice@example.org\n")
    write("alpha-digest", "erin@example.com\n")
    write("bravo.posters", "carol@example.com\n")
    write("bravo.config", MAJORDOMO_CONFIG.format(name="bravo", admin="secret-bravo").replace(
        "restrict_post       =\n", "restrict_post       =   bravo.posters:bravo\n"))
    with open(os.path.join(folder, "alpha.config"), "a") as f:
        f.write("mungedomain = no\n")
    return folder


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def ini(site):
    return configmod.Config(site.path("tristero.ini"), read(site.path("tristero.ini")))


def snapshot(site):
    """Every file of the site's configuration, lists and archive, with its bytes."""
    out = {}
    for top in ("tristero.ini", "lists", "archive"):
        path = site.path(top)
        if os.path.isfile(path):
            out[top] = read(path, "rb")
            continue
        for folder, _, files in os.walk(path):
            for f in files:
                out[os.path.join(folder, f)] = read(os.path.join(folder, f), "rb")
    return out


def test_a_majordomo_folder_comes_over_with_members_settings_texts_passwords_and_archive(site, tmp_path):
    folder = majordomo_folder(tmp_path)
    p = site.tristero("import", "majordomo", folder)
    cfg = ini(site)
    assert cfg.list_names() == sorted(NAMES)
    section = cfg.sections["LIST alpha"]
    assert section["Description"] == "The alpha list, brought over"
    for key in ("subscribe_policy", "unsubscribe_policy", "who_access", "get_access", "index_access",
                "info_access", "which_access", "reply_to", "subject_prefix", "maxlength", "welcome",
                "announcements", "digest_issue", "digest_name", "digest_volume", "moderate", "taboo_headers"):
        assert key in section, key
    assert section["subscribe_policy"] == "open+confirm" and section["who_access"] == "closed"
    assert section["taboo_headers"] == "/^subject: .*viagra/"
    # Passwords hashed, never in clear; the config's admin_passwd wins over LIST.passwd.
    text = read(site.path("tristero.ini"))
    assert "secret-alpha" not in text and "approveme" not in text and "old-alpha" not in text
    assert rights.verify("secret-alpha", section["admin_passwd"])
    assert rights.verify("approveme", section["approve_passwd"])
    number = section["MemberFile"]
    roster = members.load(number, site.path("lists", number + ".ini"))
    assert roster.get("bob@example.org") == ("bob@example.org", "NAME Bob Jones")
    assert "DIGEST" in roster.get("erin@example.com")[1]
    # Info and intro are the list's readme and welcome; the archive is filed by day.
    folder_of = site.path("archive", number)
    assert read(os.path.join(folder_of, "readme.txt")) == "All about alpha.\n"
    assert read(os.path.join(folder_of, "welcome.txt")) == "Welcome to alpha, the intro.\n"
    day = read(os.path.join(folder_of, "19980303.txt"))
    assert day.startswith("From erin@example.com ") and "Subject: first post of alpha" in day
    assert ">From here on" in day
    assert os.path.exists(os.path.join(folder_of, "19980304.txt"))
    # restrict_post's file comes into the list's folder; its list name stays a name.
    bravo = cfg.sections["LIST bravo"]
    assert bravo["restrict_post"] == "bravo.posters:bravo"
    assert read(site.path("archive", bravo["MemberFile"], "bravo.posters")) == "carol@example.com\n"
    assert not os.path.exists(site.path("archive", bravo["MemberFile"], "bravo"))
    # Every line it could not use, with its number.
    err = p.stderr.decode()
    assert "alpha:3: 'not an address' is not one mail address" in err
    assert "alpha:4: alice@example.org is listed twice" in err
    assert "alpha.config:%d: mungedomain" % (MAJORDOMO_CONFIG.count("\n") + 1) in err
    assert "create alpha (3 members" in p.stdout.decode()


def test_imported_lists_are_used_by_mail_info_archive_and_posts(site, tmp_path):
    site.tristero("import", "majordomo", majordomo_folder(tmp_path))
    site.drop(mail(frm="carol@example.com", body="INFO bravo\nSEARCH bravo first post\n"))
    site.drop(mail(frm="carol@example.com", to="charlie@example.org", subject="hello charlie",
                   body="A post to an imported list.\n"))
    site.run()
    reply = site.messages_to("carol@example.com")
    body = "\n".join(m.get_body(("plain",)).get_content() for m in reply if m["Subject"] != "hello charlie")
    assert "All about bravo." in body
    assert "first post of bravo" in body
    post = [m for m in site.outbound() if b"hello charlie" in m.data]
    assert post and "user2-0@example.net" in [r for b in post for r in b.recipients]


def test_an_import_run_twice_changes_nothing_the_second_time(site, tmp_path):
    folder = majordomo_folder(tmp_path)
    site.tristero("import", "majordomo", folder)
    before = snapshot(site)
    p = site.tristero("import", "majordomo", folder)
    assert snapshot(site) == before
    assert p.stdout.decode().count("unchanged") == len(NAMES)


def test_a_reimport_costs_no_scrypt_and_a_password_changed_behind_its_mtime_is_seen(site, tmp_path, monkeypatch):
    # The second import of unchanged lists hashes and checks no password (scrypt is the
    # whole cost of a re-import). The attack: alpha's admin password changed to one of the
    # same length and the file's mtime put back; the import still sees the change.
    import hashlib
    folder = majordomo_folder(tmp_path)
    site.tristero("import", "majordomo", folder)
    calls = []
    scrypt = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or scrypt(*a, **k))
    before = snapshot(site)
    p = site.tristero("import", "majordomo", folder)
    assert calls == [] and snapshot(site) == before
    assert p.stdout.decode().count("unchanged") == len(NAMES)
    config = os.path.join(folder, "alpha.config")
    old = os.stat(config)
    with open(config, "r+") as f:
        text = f.read()
        f.seek(0)
        f.write(text.replace("secret-alpha", "secret-omega"))
    os.utime(config, ns=(old.st_atime_ns, old.st_mtime_ns))
    p = site.tristero("import", "majordomo", folder, check=False)
    assert p.returncode == 78 and "the list alpha exists and differs" in p.stderr.decode()
    site.tristero("import", "majordomo", folder, "--replace")
    assert rights.verify("secret-omega", ini(site).sections["LIST alpha"]["admin_passwd"])


def test_dry_run_says_what_it_would_create_and_writes_nothing(site, tmp_path):
    folder = majordomo_folder(tmp_path)
    before = snapshot(site)
    p = site.tristero("import", "majordomo", folder, "--dry-run")
    assert "would create alpha" in p.stdout.decode()
    assert snapshot(site) == before


def test_an_existing_list_is_not_overwritten_unless_told(site, tmp_path):
    folder = majordomo_folder(tmp_path)
    site.tristero("import", "majordomo", folder)
    with open(os.path.join(folder, "bravo"), "a") as f:
        f.write("newcomer@example.com\n")
    with open(os.path.join(folder, "bravo.config"), "a") as f:
        f.write("who_access = open\n")
    before = snapshot(site)
    p = site.tristero("import", "majordomo", folder, check=False)
    assert p.returncode == 78 and "bravo exists" in p.stderr.decode()
    assert snapshot(site) == before
    site.tristero("import", "majordomo", folder, "--merge")
    number = ini(site).sections["LIST bravo"]["MemberFile"]
    assert "newcomer@example.com" in members.load(number, site.path("lists", number + ".ini"))
    assert ini(site).sections["LIST bravo"]["who_access"] == "closed"
    site.tristero("import", "majordomo", folder, "--replace")
    assert ini(site).sections["LIST bravo"]["who_access"] == "open"
    assert ini(site).sections["LIST bravo"]["MemberFile"] == number


def test_a_changed_setting_alone_is_refused_too(site, tmp_path):
    folder = majordomo_folder(tmp_path)
    site.tristero("import", "majordomo", folder)
    with open(os.path.join(folder, "golf.config"), "a") as f:
        f.write("approve_passwd = another\n")
    p = site.tristero("import", "majordomo", folder, check=False)
    assert p.returncode == 78 and "golf exists" in p.stderr.decode()
    site.tristero("import", "majordomo", folder, "--replace")
    assert rights.verify("another", ini(site).sections["LIST golf"]["approve_passwd"])


def test_a_mailman_export_becomes_members_with_names_status_and_digest(site, tmp_path):
    export = tmp_path / "members.csv"
    export.write_text("email,display_name,delivery_status,delivery_mode\n"
                      "anne@example.com,Anne Smith,enabled,regular\n"
                      "ben@example.com,Ben,by_bounces,regular\n"
                      "cleo@example.com,,enabled,mime_digests\n"
                      "Dan Brown <dan@example.com>\n"
                      "nobody-at-all,,enabled,regular\n"
                      "eve@example.com,Eve,sleeping,regular\n")
    p = site.tristero("import", "mailman", str(export), "--list", "friends")
    cfg = ini(site)
    number = cfg.sections["LIST friends"]["MemberFile"]
    roster = members.load(number, site.path("lists", number + ".ini"))
    assert roster.get("anne@example.com")[1] == "NAME Anne Smith"
    assert roster.get("ben@example.com")[1] == "NOMAIL, NAME Ben"
    assert roster.get("cleo@example.com")[1].startswith("DIGEST")
    assert roster.get("dan@example.com")[1] == "NAME Dan Brown"
    err = p.stderr.decode()
    assert "members.csv:6: 'nobody-at-all' is not one mail address" in err
    assert "members.csv:7: delivery status 'sleeping'" in err
    assert site.tristero("import", "mailman", str(export), "--list", "friends").stdout.decode() == \
        "friends unchanged\n"


def test_a_list_named_like_an_address_of_the_site_is_not_imported(site, tmp_path):
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "postmaster").write_text("eve@example.com\n")
    (folder / "tristero").write_text("eve@example.com\n")
    (folder / "fine").write_text("eve@example.com\n")
    p = site.tristero("import", "majordomo", str(folder))
    assert ini(site).list_names() == ["fine"]
    assert p.stderr.decode().count("is already an address of this site") == 2


def test_a_mailman_import_needs_the_list_name(site, tmp_path):
    export = tmp_path / "members.txt"
    export.write_text("anne@example.com\n")
    p = site.tristero("import", "mailman", str(export), check=False)
    assert p.returncode == 78 and "--list" in p.stderr.decode()


def test_a_listserv_list_file_brings_its_header_keywords_and_members(site, tmp_path):
    listfile = tmp_path / "physics-l.list"
    listfile.write_text("* Physics discussion\n"
                        "*\n"
                        "* Review= Private  Subscription= Open,Confirm\n"
                        "* Send= Private    Notebook= Yes,A,Monthly,Public\n"
                        "* Owner= prof@example.edu\n"
                        "* Errors-To= Owner\n"
                        "*\n"
                        "joe@example.edu  Joe Bloggs\n"
                        "ann@example.edu  Ann Lee  NOMAIL CONCEAL\n"
                        "kim@example.edu  Kim  FROBNICATE\n")
    p = site.tristero("import", "listserv", str(listfile))
    section = ini(site).sections["LIST physics-l"]
    assert section["Description"] == "Physics discussion"
    assert section["Owner"] == "prof@example.edu"
    assert section["Type"] == "Open" and section["SubscribePolicy"] == "open+confirm"
    assert section["Archive"] == "Y" and section["who_access"] == "list"
    number = section["MemberFile"]
    roster = members.load(number, site.path("lists", number + ".ini"))
    assert roster.get("joe@example.edu")[1] == "NAME Joe Bloggs"
    assert roster.get("ann@example.edu")[1] == "NOMAIL, CONCEAL, NAME Ann Lee"
    err = p.stderr.decode()
    assert "physics-l.list:6: Errors-To= Owner" in err
    assert "physics-l.list:10: option FROBNICATE" in err
