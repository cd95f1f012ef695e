"""Folder members (README "Folders"): ADD list +folder:PATH under [Globals] Folders, each
post written into that maildir atomically and exactly once (read back with
mailbox.Maildir), never outside the root."""

import mailbox
import os
import shutil
import signal

from conftest import BASE_INI, NEWS_LIST, TestSite, mail

FOLDERS = BASE_INI.replace("[Globals]\n", "[Globals]\nFolders = mail\n")


def build(site, ini=FOLDERS, options=""):
    site.write_ini(ini + "\n" + NEWS_LIST + options)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")


def said(site, address):
    return "\n".join(m.get_body().get_content() for m in site.messages_to(address))


def maildir(site, rel):
    return mailbox.Maildir(site.path("mail", rel), create=False)


def subjects(box):
    return sorted(str(m["Subject"]) for m in box)


def test_a_folder_member_gets_each_post_in_its_maildir_and_the_others_by_mail(site):
    build(site)
    site.drop(mail(frm="editor@example.org", body="ADD news +folder:boards/announce\n"))
    site.run()
    assert "the folder boards/announce added to news" in said(site, "editor@example.org")
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="First", body="one\n"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Second", body="two\n"))
    site.run()
    box = maildir(site, "boards/announce")
    assert subjects(box) == ["First", "Second"]
    [first] = [m for m in box if m["Subject"] == "First"]
    assert first.get_payload() == "one\n" and first["List-Id"]
    assert len(site.messages_to("carol@example.com")) == 2
    assert all(not any(r.startswith("+folder") for r in b.recipients) for b in site.outbound())
    site.drop(mail(frm="editor@example.org", body="REMOVE news +folder:boards/announce\n"))
    site.run()
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Third", body="three\n"))
    site.run()
    assert subjects(maildir(site, "boards/announce")) == ["First", "Second"]


def test_a_folder_outside_the_root_or_through_a_link_is_refused(site, tmp_path):
    build(site)
    outside = tmp_path / "outside"
    os.makedirs(outside)
    os.makedirs(site.path("mail"))
    os.symlink(outside, site.path("mail", "escape"))
    site.drop(mail(frm="editor@example.org", body="ADD news +folder:../x\nADD news +folder:a/../../x\n"
                                                  "ADD news +folder:.hidden\nADD news +folder:escape\n"
                                                  "ADD news +folder:escape/inner\nADD news +folder:/etc\n"))
    site.run()
    text = said(site, "editor@example.org")
    assert text.count("cannot be a member") == 6
    with open(site.path("tristero.ini")) as f:
        assert "FolderMembers" not in f.read()
    assert os.listdir(outside) == []


def test_a_folder_that_became_a_link_after_it_was_added_gets_nothing(site, tmp_path):
    build(site, options="FolderMembers = announce\n")
    outside = tmp_path / "outside"
    os.makedirs(outside)
    os.makedirs(site.path("mail"))
    os.symlink(outside, site.path("mail", "announce"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="First", body="one\n"))
    site.run()
    assert os.listdir(outside) == []
    assert "not written into the folder announce" in site.log()
    assert len(site.messages_to("carol@example.com")) == 1


def test_no_folders_root_no_folder_members(site):
    build(site, ini=BASE_INI)
    site.drop(mail(frm="editor@example.org", body="ADD news +folder:announce\n"))
    site.run()
    assert "no Folders root is set" in said(site, "editor@example.org")


def test_a_run_killed_at_any_step_writes_the_post_into_the_folder_exactly_once(tmp_path):
    """Killed after each of its steps in turn (durable.py's TRISTERO_CRASH_AFTER), then run
    again: the folder holds the post once."""
    base = TestSite(tmp_path / "base", subprocess=True)
    os.makedirs(base.home)
    build(base, options="FolderMembers = announce\n")
    base.drop(mail(frm="carol@example.com", to="news@example.org", subject="Once", body="one\n"))
    n, killed = 0, True
    while killed:
        n += 1
        trial = TestSite(tmp_path / ("t%d" % n), subprocess=True)
        shutil.copytree(base.home, trial.home)
        p = trial.run(check=False, env={"TRISTERO_CRASH_AFTER": str(n)})
        assert p.returncode in (0, -signal.SIGKILL), p.stderr
        killed = p.returncode != 0
        trial.run(subprocess=False)
        assert subjects(maildir(trial, "announce")) == ["Once"], n
        assert not trial.listdir("spool", "in", "new")
        shutil.rmtree(trial.home)
    assert n > 3, n


# --- SET list COPYMETHOD FOLDER|INBOX: an address extension for the site's own members ---

def test_copymethod_folder_sends_the_sites_own_members_their_post_at_an_address_extension(site):
    build(site, options="FolderPrefix = Conf-\n")
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.org =\nbob+x@example.org =\ncarol@example.com =\n")
    site.drop(mail(frm="editor@example.org", body="SET news COPYMETHOD FOLDER\n"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        assert "CopyMethod = F" in f.read()
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Filed", body="one\n"))
    site.run()
    got = sorted(r for b in site.outbound() if b.sender == "owner-news@example.org" for r in b.recipients)
    # Outside the site's domains, or with an extension already: the address as it is.
    assert got == ["ann+Conf-news@example.org", "bob+x@example.org", "carol@example.com"]
    site.drop(mail(frm="editor@example.org", body="SET news COPYMETHOD INBOX\n"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        assert "CopyMethod =\n" in f.read()


# --- PROXYBBS list SUB folder: a folder's new mail posted to the list ------------------

def drop_into(site, rel, name, message):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(site.path("mail", rel, sub), exist_ok=True)
    with open(site.path("mail", rel, "new", name), "w") as f:
        f.write(message)


def test_proxybbs_posts_a_folders_new_mail_to_the_list_once_and_marks_it_seen(site):
    build(site, options="FolderMembers = board\n")
    site.drop(mail(frm="editor@example.org", body="PROXYBBS news SUB board\n"))
    site.run()
    assert "the new mail of the folder board is posted to news at each run" in said(site, "editor@example.org")
    drop_into(site, "board", "1700000000.M1P1.imap", mail(frm="dave@example.net", to="board@imap.example.org",
                                                          subject="From the board", body="hello\n",
                                                          headers="Delivered-To: shared@imap.example.org\n"))
    site.run()
    [copy] = site.messages_to("carol@example.com")
    assert copy["Subject"] == "From the board"
    assert site.listdir("mail", "board", "cur") == ["1700000000.M1P1.imap:2,S"]
    # The list's own post, written into the same folder (a member), is not posted again.
    box = maildir(site, "board")
    assert [str(m["Subject"]) for m in box].count("From the board") == 2
    site.run()
    site.run()
    assert len(site.listdir("mail", "board", "cur")) == 2 and site.listdir("mail", "board", "new") == []
    assert len(site.messages_to("carol@example.com")) == 1
    assert "dropped: already passed news@example.org (X-Loop)" in site.log()


def test_proxybbs_refuses_a_folder_outside_the_root(site):
    build(site)
    site.drop(mail(frm="editor@example.org", body="PROXYBBS news SUB ../spool\nPROXYBBS news SUB #.x\n"))
    site.run()
    assert said(site, "editor@example.org").count("cannot be a member") == 2


def test_a_folder_member_of_a_merge_gets_the_place_holders_filled_for_the_list(site):
    # Everyone on the list reads a folder: the recipient is the list itself, and no
    # member's cookie is written into it.
    build(site, options="FolderMembers = announce\n")
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", subject="For %%N",
                   body="Dear %%N (%%A) of %%L, cookie [%%K]\n"))
    site.run()
    [copy] = list(maildir(site, "announce"))
    assert copy["Subject"] == "For news"
    assert copy.get_payload(decode=True).decode() == "Dear news (news@example.org) of news, cookie []\n"
    [carol] = [b for b in site.outbound() if b.recipients == ["carol@example.com"]]
    assert b"Dear carol@example.com" in carol.data
