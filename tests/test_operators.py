"""Hand-edited files and operators: comments, member-file defects, check, init, cron."""

import os
import subprocess
import sys

import pytest

from conftest import BASE_INI, NEWS_LIST, REPO, mail
from tristero.model import config as configmod


def text_of(site, *parts):
    with open(site.path(*parts), encoding="utf-8") as f:
        return f.read()


def members_file(site, text, number="00000001"):
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", number + ".ini"), "w") as f:
        f.write(text)


# --- comments ----------------------------------------------------------------------------

COMMENTED = """\
; The site, as the manual writes its TRISTERO.INI
[Globals]
; the mail domain
# and a hash comment
Domain = example.org ; inline after a value
SuperUser = boss@example.org # inline hash
MaxRecipients = 3

[LIST news]
   ; indented note
Owner = editor@example.org
Description = Moderators ; only boss for now
MemberFile = 00000001
ForwardPrefix = "[news ; daily]"
"""


def test_every_comment_form_reads_as_a_comment_and_values_stay_clean(site):
    site.write_ini(COMMENTED)
    assert site.tristero("check").returncode == 0
    cfg = configmod.load(site.home)
    assert cfg.globals("Domain") == "example.org"
    assert cfg.globals("SuperUser") == "boss@example.org"
    assert cfg.raw("LIST news", "Description") == "Moderators"
    assert cfg.raw("LIST news", "ForwardPrefix") == "[news ; daily]"


def test_a_post_carries_no_comment_into_list_id(site):
    site.write_ini(COMMENTED)
    members_file(site, "[Members]\nalice@example.net =\n")
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="hello"))
    site.run()
    [post] = [b for b in site.outbound() if "alice@example.net" in b.recipients]
    list_id = [l for l in post.data.split(b"\n") if l.lower().startswith(b"list-id:")][0]
    assert b"only boss" not in list_id and b"Moderators" in list_id


def test_comments_survive_a_rewrite_by_set_grant_and_setpass(site):
    site.write_ini(COMMENTED)
    with open(site.path("access.ini"), "w") as f:
        f.write('user,status,list,language,encrypted_password,flag\n'
                '; the postmasters of the site\n'
                '"*@example.org",PostMaster,"","","","" ; everyone here\n'
                '\n# guests\n"guest@example.net",Recipient,"news","","",""\n')
    site.drop(mail(frm="editor@example.org", body="set news forwardprefix [N]\n"
                                                  "grant Poster to carol@example.net for news\n"))
    site.drop(mail(frm="boss@example.org", body="setpass Longenough1 for guest@example.net\n"))
    site.run()
    ini = text_of(site, "tristero.ini")
    for line in ("; The site, as the manual writes its TRISTERO.INI", "; the mail domain",
                 "# and a hash comment", "Domain = example.org ; inline after a value",
                 "SuperUser = boss@example.org # inline hash", "; indented note",
                 "Description = Moderators ; only boss for now", "ForwardPrefix = [N]"):
        assert line in ini.splitlines(), line
    access = text_of(site, "access.ini").splitlines()
    assert "; the postmasters of the site" in access and "# guests" in access
    assert '"*@example.org","PostMaster","","","","" ; everyone here' in access
    assert any(l.startswith('"carol@example.net","Poster","news"') for l in access)
    assert any(l.startswith('"guest@example.net"') and '"scrypt$' in l for l in access)
    assert '"guest@example.net","Recipient","news","","",""' in access
    assert access.index("; the postmasters of the site") < access.index("# guests")


def test_a_value_set_by_mail_that_holds_a_comment_mark_is_written_in_quotes(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    site.drop(mail(frm="editor@example.org", body="set news forwardprefix [a ; b]\n"))
    site.run()
    assert 'ForwardPrefix = "[a ; b]"' in text_of(site, "tristero.ini")
    assert configmod.load(site.home).raw("LIST news", "ForwardPrefix") == "[a ; b]"


def test_check_warns_of_a_pattern_line_that_reads_like_a_comment(site):
    site.write_ini(BASE_INI + "[Kill Subjects]\n; a real comment\n# bounces from the old gateway\n")
    p = site.tristero("check", check=False)
    err = p.stderr.decode()
    assert p.returncode == 0
    assert "tristero.ini:7: warning: [Kill Subjects] # bounces from the old gateway: this reads like a comment" \
        in err
    assert "a real comment" not in err


# --- member files -------------------------------------------------------------------------

DEFECTS = ("alice@example.net =\n"                                   # line 1: no [Members] above
           "erin@example.com, frank@example.com =\n"                 # 2: two addresses on one line
           "Bob@Example.NET = NOMAIL\n"                              # 3
           "bob@example.net =\n"                                     # 4: bob again, other options
           "Gina Müller <gina@example.net>\n"                        # 5: a name and an address
           "jörg@example.de =\n")                                    # 6: beyond ASCII


def test_check_reports_each_member_file_defect_with_file_and_line(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    members_file(site, DEFECTS)
    p = site.tristero("check", check=False)
    err = p.stderr.decode()
    assert p.returncode == 78
    path = site.path("lists", "00000001.ini")
    assert "%s:1: no [Members] line" % path in err
    assert "%s:2: erin@example.com, frank@example.com =: not one mail address" % path in err
    assert "%s:4: bob@example.net is listed twice with other options; the first line, " \
           "Bob@Example.NET = NOMAIL, is the one used" % path in err
    assert "%s:6: jörg@example.de =: jörg@example.de has characters beyond ASCII" % path in err
    assert ":5:" not in err                    # Name <address> is a member, with its NAME


def test_a_post_to_a_defective_member_file_logs_each_line_and_tells_the_superuser_once_a_day(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    members_file(site, DEFECTS)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="one"))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="two"))
    site.run()
    log = site.log()
    assert "member file lists/00000001.ini:2: erin@example.com, frank@example.com =: not one mail address" in log
    posts = [b for b in site.outbound() if "Subject: one" in b.data.decode("utf-8", "replace")]
    rcpts = sorted(r for b in posts for r in b.recipients)
    # alice, gina (bob is NOMAIL by his first line); the count logged is the RCPT lines written.
    assert rcpts == ["alice@example.net", "gina@example.net"]
    assert "posted to news, 2 recipient(s)" in log
    notices = [b for b in site.outbound() if b.recipients == ["boss@example.org"]
               and "needs a look" in b.data.decode("utf-8", "replace")]
    assert len(notices) == 1
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="three"))
    site.run(now="2026-11-21T11:00:00")
    notices = [b for b in site.outbound() if b.recipients == ["boss@example.org"]
               and "needs a look" in b.data.decode("utf-8", "replace")]
    assert len(notices) == 1                   # once a day per file
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="four"))
    site.run(now="2026-11-22T10:00:00")
    notices = [b for b in site.outbound() if b.recipients == ["boss@example.org"]
               and "needs a look" in b.data.decode("utf-8", "replace")]
    assert len(notices) == 2


def test_a_rewrite_keeps_the_lines_it_could_not_read_and_names_from_angle_brackets(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    members_file(site, DEFECTS)
    site.drop(mail(frm="zoe@example.com", body="subscribe news\n"))
    site.run()
    text = text_of(site, "lists", "00000001.ini").splitlines()
    assert text.index("[Members]") < text.index("zoe@example.com =")
    assert "erin@example.com, frank@example.com =" in text and "jörg@example.de =" in text
    assert "gina@example.net = NAME Gina Müller" in text and "zoe@example.com =" in text


# --- check, --home, init -------------------------------------------------------------------

def test_check_on_a_good_site_prints_one_summary_line(site):
    site.write_ini(BASE_INI.replace("boss@example.org", "boss@example.net") + NEWS_LIST)
    members_file(site, "[Members]\nalice@example.net =\nbob@example.net = NOMAIL\n")
    with open(site.path("access.ini"), "w") as f:
        f.write('"*@example.org","PostMaster","","","",""\n')
    p = site.tristero("check")
    assert p.stdout.decode().splitlines() == [
        "%s: 1 list(s), 2 member(s), 1 access rule(s); no problems found" % site.path("tristero.ini")]


def test_check_names_a_list_whose_member_file_is_missing(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    p = site.tristero("check")
    assert "its member file lists/00000001.ini does not exist" in p.stderr.decode()


@pytest.mark.parametrize("command", ["run", "check", "deliver"])
def test_home_that_is_not_a_folder_exits_78_and_says_how_to_make_a_site(tmp_path, command):
    missing = str(tmp_path / "srv" / "tristro")
    p = subprocess.run([sys.executable, os.path.join(REPO, "tristero.py"), command, "--home", missing],
                       capture_output=True)
    assert p.returncode == 78
    assert "tristero.py init %s" % missing in p.stderr.decode()
    assert not os.path.exists(missing)


def test_init_makes_a_site_that_runs(tmp_path):
    home = str(tmp_path / "site")
    tristero = os.path.join(REPO, "tristero.py")
    p = subprocess.run([sys.executable, tristero, "init", home], capture_output=True)
    assert p.returncode == 0 and "a site is ready in %s" % home in p.stdout.decode()
    with open(os.path.join(home, "tristero.ini")) as f, open(os.path.join(REPO, "tristero.ini.example")) as g:
        assert f.read() == g.read()
    for folder in ("lists", "archive", "logs", "spool/in/new", "spool/out/new", "spool/failed/new"):
        assert os.path.isdir(os.path.join(home, folder))
    assert subprocess.run([sys.executable, tristero, "run", "--home", home]).returncode == 0
    # Again: the site is left as it is.
    with open(os.path.join(home, "tristero.ini"), "a") as f:
        f.write("; mine\n")
    assert subprocess.run([sys.executable, tristero, "init", home], capture_output=True).returncode == 0
    with open(os.path.join(home, "tristero.ini")) as f:
        assert f.read().endswith("; mine\n")


# --- the cron script ----------------------------------------------------------------------------

def test_cron_script_says_when_deliver_cannot_reach_the_server_and_exits_non_zero(site):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]            # closed once the block ends: nobody listens there
    site.write_ini(BASE_INI + "[Delivery]\nSmtpHost = 127.0.0.1\nSmtpPort = %d\nSmtpTimeout = 5\n" % port)
    site.drop(mail(frm="alice@example.net", body="lists\n"))
    p = subprocess.run(["sh", os.path.join(REPO, "bin", "tristero-cron"), "--home", site.home],
                       capture_output=True)
    err = p.stderr.decode()
    assert p.returncode == 75
    assert "cannot connect to 127.0.0.1:%d" % port in err and "stay queued" in err
    assert "tristero-cron: deliver exited 75" in err


def test_cron_script_is_quiet_when_all_is_well(site):
    site.write_ini(BASE_INI + "[Delivery]\nSendmailCommand = %s -c \"import sys; sys.stdin.read()\"\n"
                   % sys.executable)
    site.drop(mail(frm="alice@example.net", body="lists\n"))
    p = subprocess.run(["sh", os.path.join(REPO, "bin", "tristero-cron"), "--home", site.home],
                       capture_output=True)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")


# --- the robot ----------------------------------------------------------------------------

def test_the_superuser_adds_250_addresses_in_one_message(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    body = "".join("add news user%d@example.net HIDE\n" % i for i in range(250))
    site.drop(mail(frm="boss@example.org", body=body))
    site.run()
    assert text_of(site, "lists", "00000001.ini").count("@example.net") == 250


def test_a_member_without_privilege_is_still_held_to_max_commands(site):
    site.write_ini(BASE_INI + NEWS_LIST)
    members_file(site, "[Members]\nmember@example.net =\n")
    site.drop(mail(frm="member@example.net", body="lists\n" * 150))
    site.run()
    [reply] = [b for b in site.outbound() if b.recipients == ["member@example.net"]]
    assert "50 more command line(s) were not run: at most 100 commands" in reply.data.decode()


def test_help_never_cuts_a_line_at_e_g(site):
    site.drop(mail(frm="alice@example.net", body="help\n"))
    site.run()
    [reply] = [b for b in site.outbound() if b.recipients == ["alice@example.net"]]
    text = reply.data.decode()
    assert "Give a privilege or flags (e.g. Member, W, CDGI-MO-R-UW) on a list" in text
    assert "(e.g\n" not in text
