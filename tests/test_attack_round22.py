"""Attacks on mail merge, folders, web forms by mail, CLONE, RENAMELIST and PROXYBBS
(round 22): each test is the hostile message, name or file itself, and what must (not)
come out."""

import email
import os
from email import policy

from conftest import BASE_INI, NEWS_LIST, mail

FOLDERS = BASE_INI.replace("[Globals]\n", "[Globals]\nFolders = boards\n")


def build(site, options="", members=("carol@example.com = NAME Carol Jones", "dave@example.net ="), ini=BASE_INI,
          extra=""):
    site.write_ini(ini + "\n" + NEWS_LIST + options + extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join(line + "\n" for line in members))


def posts(site, sender="owner-news@example.org"):
    return [b for b in site.outbound() if b.sender == sender]


def parsed(bsmtp):
    return email.message_from_bytes(bsmtp.data, policy=policy.default)


def said(site, address):
    return "\n".join(m.get_body(("plain",)).get_content() for m in site.messages_to(address))


def copy_to(site, address):
    [found] = [b for b in posts(site) if b.recipients == [address]]
    return parsed(found)


# --- mail merge -----------------------------------------------------------------------

HTML_MERGE = ("From: editor@example.org\nTo: news-merge@example.org\nSubject: Hello %%N\n"
              "Message-ID: <html-merge@example.org>\nMIME-Version: 1.0\n"
              "Content-Type: multipart/alternative; boundary=b\n\n"
              "--b\nContent-Type: text/plain; charset=utf-8\n\nDear %%N,\n"
              "--b\nContent-Type: text/html; charset=utf-8\n\n<p>Dear %%N, of %%P (%%F)</p>\n--b--\n")


def test_a_members_name_holding_html_is_escaped_in_the_html_part_of_a_merge(site):
    build(site, members=('carol@example.com = NAME <script>alert("x")</script> & <b>Co</b>',))
    site.drop(HTML_MERGE)
    site.run()
    msg = copy_to(site, "carol@example.com")
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "<b>" not in html
    assert ("Dear &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;, of example.com "
            "(&lt;script&gt;") in html
    # The plain part and the Subject get the name as written.
    assert msg.get_body(("plain",)).get_content().rstrip("\n") == 'Dear <script>alert("x")</script> & <b>Co</b>,'
    assert msg["Subject"] == 'Hello <script>alert("x")</script> & <b>Co</b>'


def test_a_folder_member_of_a_merge_list_gets_the_letter_filled_in_not_raw_place_holders(site):
    build(site, ini=FOLDERS, options="FolderMembers = board\n")
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", subject="For %%N",
                   body="Dear %%N of %%L,\nCOOKIE %%K\nrights %%R\n"))
    site.run()
    assert "Dear Carol Jones of news," in copy_to(site, "carol@example.com").get_content()
    [name] = os.listdir(site.path("boards", "board", "new"))
    with open(site.path("boards", "board", "new", name), "rb") as f:
        copy = email.message_from_bytes(f.read(), policy=policy.default)
    # The folder is the list's own board: filled in for the list itself (%%N its name),
    # with no cookie and no rights (nobody's).
    assert copy.get_content() == "Dear news of news,\nCOOKIE \nrights \n"
    assert copy["Subject"] == "For news"


# --- CLONE and RENAMELIST ---------------------------------------------------------------

RENAME_SITE = """\
[LIST news]
Type = Moderated
Owner = editor@example.org
MemberFile = 00000001

[LIST news-approval]
Type = Closed
Owner = editor@example.org
MemberFile = 00000002

[LIST all]
Owner = editor@example.org
MemberFile = 00000003
"""


def rename_site(site):
    site.write_ini(BASE_INI + "\n" + RENAME_SITE)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, lines in (("00000001", "carol@example.com =\nmallory@example.net =\n"),
                          ("00000002", "mod@example.net =\n"), ("00000003", "news@example.org =\n")):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + lines)
    with open(site.path("access.ini"), "w") as f:
        f.write("mallory@example.net,Barred,news,,,\nhelper@example.org,ListOwner,news,,,\n")


def test_renamelist_takes_the_lists_rights_its_moderators_and_its_place_in_other_lists_along(site):
    rename_site(site)
    site.drop(mail(frm="boss@example.org", body="RENAMELIST news bulletin\n"))
    site.run()
    assert "news is now bulletin (bulletin@example.org)" in said(site, "boss@example.org")
    with open(site.path("access.ini")) as f:
        rules = f.read()
    # A Barred rule left under the old name would free mallory on the renamed list, and a
    # ListOwner rule would give a list created later under the old name an owner.
    assert '"news"' not in rules and '"mallory@example.net","Barred","bulletin"' in rules \
        and '"helper@example.org","ListOwner","bulletin"' in rules
    with open(site.path("tristero.ini")) as f:
        ini = f.read()
    assert "[LIST bulletin-approval]" in ini and "[LIST news-approval]" not in ini
    with open(site.path("lists", "00000003.ini")) as f:
        assert "bulletin@example.org" in f.read()
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))
    # Mallory stays barred; carol's post is held for bulletin's moderators.
    site.drop(mail(frm="mallory@example.net", to="bulletin@example.org", subject="spam", body="x\n"))
    site.drop(mail(frm="carol@example.com", to="bulletin@example.org", subject="Hello", body="hi\n"))
    site.run()
    assert posts(site, "owner-bulletin@example.org") == []
    assert site.messages_to("mallory@example.net") == []
    assert any("held for moderation" in str(m["Subject"]) for m in site.messages_to("mod@example.net"))
    # A list made later under the old name inherits none of it.
    site.drop(mail(frm="boss@example.org", body="CREATE news A new list\n"))
    site.run()
    with open(site.path("access.ini")) as f:
        assert '"news"' not in f.read()


def test_renamelist_is_refused_when_the_lists_approval_list_cannot_take_the_new_name(site):
    rename_site(site)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[LIST bulletin-approval]\nOwner = editor@example.org\nMemberFile = 00000004\n")
    site.drop(mail(frm="boss@example.org", body="RENAMELIST news bulletin\n"))
    site.run()
    assert "the name bulletin-approval is taken" in said(site, "boss@example.org")
    with open(site.path("tristero.ini")) as f:
        assert "[LIST news]" in f.read()


def test_create_clone_and_renamelist_refuse_a_reserved_a_shadowed_or_a_too_long_name(site):
    build(site, extra="\n[LIST help-request]\nOwner = editor@example.org\nMemberFile = 00000002\n")
    long_name = "n" * 56
    names = ["tristero", "postmaster", "owner-news", "news-request", "news-merge", "cgi", "../news", "a/b",
             "help", long_name]
    site.drop(mail(frm="boss@example.org", body="".join("CLONE news %s\n" % n for n in names)
                   + "".join("RENAMELIST news %s\n" % n for n in names)
                   + "".join("CREATE %s A list\n" % n for n in names)))
    site.run()
    text = said(site, "boss@example.org")
    assert "OK:" not in text
    # help-request@ is a list's address: a list called help would lose its robot address to it.
    assert text.count("the name help is taken") == 3
    assert text.count("at most 55 characters") == 3
    with open(site.path("tristero.ini")) as f:
        ini = f.read()
    assert ini.count("[LIST ") == 2


# --- PROXYBBS ---------------------------------------------------------------------------

def test_proxybbs_does_not_feed_the_sites_own_files_through_a_new_folder_that_is_a_link(site):
    build(site, ini=FOLDERS, options="FeedFolders = board\n")
    with open(site.path("notes.txt"), "w") as f:
        f.write("From: carol@example.com\nTo: news@example.org\nSubject: leak\n\nthe site's own file\n")
    os.makedirs(site.path("boards", "board"))
    # Swapped in by whoever can write into the shared folder: new/ is the site's home.
    os.symlink(site.home, site.path("boards", "board", "new"))
    site.run()
    assert posts(site) == []
    assert all(b"site's own file" not in b.data and b"[Globals]" not in b.data for b in site.outbound())
    assert os.path.exists(site.path("tristero.ini")) and os.path.exists(site.path("notes.txt"))
    assert site.listdir("spool", "failed", "new") == []


def test_proxybbs_does_not_post_a_message_again_at_each_run_when_cur_is_a_link(site, tmp_path):
    build(site, ini=FOLDERS, options="FeedFolders = board\n")
    os.makedirs(site.path("boards", "board", "new"))
    os.makedirs(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", site.path("boards", "board", "cur"))
    with open(site.path("boards", "board", "new", "1700000000.M1P1.imap"), "w") as f:
        f.write(mail(frm="carol@example.com", to="board@imap.example.org", subject="Once", body="x\n"))
    site.run()
    site.run()
    site.run()
    assert posts(site) == []
    assert site.listdir("boards", "board", "new") == ["1700000000.M1P1.imap"]


# --- web forms by mail ------------------------------------------------------------------

def everything(site):
    """All the site wrote: outbound mail, logs, the spool's kept copies."""
    out = b""
    for root, _, names in os.walk(site.home):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                out += f.read()
    return out


def test_a_password_in_a_web_form_is_not_taken_and_kept_nowhere(site):
    from tristero.policy import rights
    build(site)
    with open(site.path("access.ini"), "w") as f:
        f.write('"editor@example.org","","","","%s",""\n' % rights.hash_password("S3cretPw9"))
    to = "cgi?1=approve+S3cretPw9+ADD&2=news&3=zed%40example.net@example.org"
    site.drop(mail(frm="editor@example.org", to=to, subject="form", headers="X-Original-To: %s\n" % to))
    site.drop(mail(frm="editor@example.org", subject="form", body="1=ADD&2=news&3=qq%40example.net+PW%3DS3cretPw9\n"))
    site.run()
    with open(site.path("lists", "00000001.ini")) as f:
        roster = f.read()
    assert "zed@" not in roster and "qq@" not in roster
    text = said(site, "editor@example.org")
    assert text.count("a password is not taken in a web form") == 2
    # The address and the form's line are logged and kept starred, like any password.
    assert b"S3cretPw9" not in everything(site)
    assert "cgi?********@example.org" in site.log()


def test_clone_takes_no_folder_members_and_no_fed_folders_which_are_members_of_the_list(site):
    build(site, ini=FOLDERS, options="FolderMembers = board\nFeedFolders = inbox\n")
    site.drop(mail(frm="boss@example.org", body="CLONE news copy\n"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        ini = f.read()
    copy = ini[ini.index("[LIST copy]"):]
    assert "FolderMembers" not in copy and "FeedFolders" not in copy
    # The copy's posts stay out of news's board.
    site.drop(mail(frm="boss@example.org", to="copy@example.org", subject="copy post", body="x\n"))
    site.run()
    assert site.listdir("boards", "board", "new") == []


def test_a_list_owner_cannot_feed_or_join_another_lists_folder(site):
    build(site, ini=FOLDERS, extra="\n[LIST secret]\nType = Closed\nOwner = keeper@example.org\n"
                                   "MemberFile = 00000002\nFolderMembers = vault\nFeedFolders = drop\n")
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nkeeper@example.org =\n")
    site.drop(mail(frm="keeper@example.org", to="secret@example.org", subject="Private", body="for us only\n"))
    site.run()
    assert len(os.listdir(site.path("boards", "vault", "new"))) == 1
    # news's owner: secret's posts fed into news (its members read them), news's posts into
    # secret's board or its feed.
    site.drop(mail(frm="editor@example.org", body="PROXYBBS news SUB vault\nADD news +folder:vault\n"
                                                  "ADD news +folder:drop\nPROXYBBS news SUB drop\n"))
    site.run()
    assert said(site, "editor@example.org").count("is used by the list secret") == 4
    site.run()
    assert all(b"for us only" not in b.data for b in posts(site))
    assert len(os.listdir(site.path("boards", "vault", "new"))) == 1
    # The owner of both may.
    site.drop(mail(frm="boss@example.org", body="PROXYBBS news SUB drop\n"))
    site.run()
    assert "the new mail of the folder drop is posted to news" in said(site, "boss@example.org")


def test_a_folders_root_on_the_sites_own_folders_is_refused(site):
    # A careless site: Folders = spool; an owner would then feed spool/out (every mail the
    # site sends, other people's cookies in it) into their list.
    build(site, ini=BASE_INI.replace("[Globals]\n", "[Globals]\nFolders = spool\n"))
    site.drop(mail(frm="editor@example.org", body="PROXYBBS news SUB out\n"))
    run = site.run(check=False)
    assert run.returncode == 78 and b"Folders: 'spool' is the site's folder or one of its own" in run.stderr
    assert site.listdir("spool", "out", "new") == []
    from tristero.model import config
    for root in (".", "./", "lists", "archive/x", "logs", "templates", "./spool"):
        try:
            config.as_folder_root(root)
        except ValueError:
            continue
        raise AssertionError("Folders = %s taken" % root)
    assert config.as_folder_root("boards/lists") == "boards/lists"


def test_a_moderators_merge_cookie_does_not_decide_a_held_post(site):
    # %%K is "a cookie for the member on the list, for every cookie-checked function": its
    # holder (a quoted letter, an archive) must not approve posts as the moderator.
    site.write_ini(BASE_INI + "\n" + RENAME_SITE)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, lines in (("00000001", "carol@example.com =\nmod@example.net =\n"),
                          ("00000002", "mod@example.net =\n"), ("00000003", "")):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + lines)
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", subject="letter", body="COOKIE %%K\n"))
    site.run()
    cookie = copy_to(site, "mod@example.net").get_content().split()[1]
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Held one", body="wait\n"))
    site.run()
    [pid] = [n for n in site.listdir("archive", "00000001", "held")]
    site.drop(mail(frm="mod@example.net", subject="forged", body="HELD news 1=%s/%s\nAPPROVE 1\n" % (pid, cookie)))
    site.run()
    assert "Held one" not in [str(parsed(b)["Subject"]) for b in posts(site)]
    assert "REFUSED" in said(site, "mod@example.net")
