"""Mail merge (README "Mail merge"): LIST-merge@ and CopyMethod P / M, the manual's
place-holders, %%K cookies, who may merge; CLONE, RENAMELIST, SET list PosterPlus and
the manual's resubscription exercise, end to end."""

import base64
import datetime
import email
import os
from email import policy

from conftest import BASE_INI, NEWS_LIST, mail
from tristero.model import cookies
from tristero.policy import rights
from tristero.services import placeholders

MEMBERS = ["carol@example.com = NAME Carol Jones", "dave@example.net", "erin@example.com = NOMAIL"]


def build(site, options="", members=None, extra=""):
    site.write_ini(BASE_INI + extra + "\n" + NEWS_LIST + options)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join((l if "=" in l else l + " =") + "\n"
                                        for l in (MEMBERS if members is None else members)))


def posts(site):
    return [b for b in site.outbound() if b.sender == "owner-news@example.org"]


def parsed(bsmtp):
    return email.message_from_bytes(bsmtp.data, policy=policy.default)


def body_of(bsmtp):
    return parsed(bsmtp).get_body(("plain",)).get_content()


def replies_to(site, address):
    return [m for m in site.messages_to(address) if m["From"] and "tristero@" in str(m["From"])]


LETTER = ("Dear %F\n\nIn order to weed out old addresses from the %L list ...\n"
          "Name %%N, first %%C, surname %%S, post office %%P, address %%A\n"
          "Robot %%B server %%G domain %%I owner %%O rights %%R on %%D at %%T\n"
          "Literal %%%K and 50%For and %%Z stay.\n")


# --- the place-holders ---------------------------------------------------------------

def test_merge_from_the_owner_personalises_each_members_copy_in_an_envelope_of_its_own(site):
    build(site)
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", subject="For %%N", body=LETTER))
    site.run()
    out = posts(site)
    assert sorted(r for b in out for r in b.recipients) == ["carol@example.com", "dave@example.net"]
    assert all(len(b.recipients) == 1 for b in out)
    [carol] = [b for b in out if b.recipients == ["carol@example.com"]]
    text = body_of(carol)
    assert text.startswith("Dear Carol Jones <carol@example.com>\n")
    assert "from the news list" in text
    assert "Name Carol Jones, first Carol, surname Jones, post office example.com, address carol@example.com" in text
    assert "Robot tristero@example.org server Tristero domain example.org owner editor@example.org" in text
    assert "on 2026-11-21 at 10:00" in text
    assert "rights %%R" not in text and "rights " in text
    assert "Literal %%K and 50%For and %%Z stay." in text
    msg = parsed(carol)
    assert msg["To"] == "carol@example.com"          # P: the member named in To
    assert msg["Subject"] == "For Carol Jones"
    [dave] = [b for b in out if b.recipients == ["dave@example.net"]]
    assert "Name dave@example.net, first dave, surname , post office example.net" in body_of(dave)


def test_place_holder_in_a_base64_part_is_found_in_the_decoded_text(site):
    build(site)
    raw = ("From: editor@example.org\nTo: news-merge@example.org\nSubject: b64\nMessage-ID: <b64@example.org>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
           + base64.encodebytes("Grüße, %%N!\n".encode()).decode())
    site.drop(raw)
    site.run()
    [carol] = [b for b in posts(site) if b.recipients == ["carol@example.com"]]
    assert body_of(carol) == "Grüße, Carol Jones!\n"


def test_a_name_that_holds_a_place_holder_is_not_read_again(site):
    build(site, members=["carol@example.com = NAME %%K %%A"])
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", body="Hi %%N\n"))
    site.run()
    [carol] = posts(site)
    assert body_of(carol) == "Hi %%K %%A\n"


def test_a_name_is_text_in_an_html_part_never_markup(site):
    # A name's markup characters (the member file refuses < and >, but not & or quotes)
    # are escaped in the HTML part of every copy made for him, and as written in the plain part.
    build(site, members=['carol@example.com = NAME Tom &amp; "Jerry"'])
    raw = ("From: editor@example.org\nTo: news-merge@example.org\nSubject: html\nMessage-ID: <h@example.org>\n"
           "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=b\n\n--b\n"
           "Content-Type: text/plain; charset=utf-8\n\nHi %%N\n--b\nContent-Type: text/html; charset=utf-8\n\n"
           "<p>Hi %%N (%%F)</p>\n--b--\n")
    site.drop(raw)
    site.run()
    [carol] = posts(site)
    msg = parsed(carol)
    page = msg.get_body(("html",)).get_content()
    assert "<p>Hi Tom &amp;amp; &quot;Jerry&quot; (Tom &amp;amp; &quot;Jerry&quot; &lt;carol@example.com&gt;)</p>" \
        in page
    assert msg.get_body(("plain",)).get_content().strip() == 'Hi Tom &amp; "Jerry"'


def test_copy_method_m_sends_bcc_style_and_p_names_the_member(site):
    build(site, options="CopyMethod = M\n")
    site.drop(mail(frm="editor@example.org", to="news@example.org", body="Hi %%C\n"))
    site.run()
    out = posts(site)
    assert len(out) == 2 and all(len(b.recipients) == 1 for b in out)
    for b in out:
        assert parsed(b)["To"] == "news@example.org"
    [carol] = [b for b in out if b.recipients == ["carol@example.com"]]
    assert body_of(carol) == "Hi Carol\n"


def test_a_members_post_to_a_personal_list_goes_out_as_written(site):
    build(site, options="CopyMethod = P\n")
    site.drop(mail(frm="dave@example.net", to="news@example.org", body="COOKIE %%K\nUNSUBSCRIBE news\n"))
    site.run()
    out = posts(site)
    assert len(out) == 2
    [carol] = [b for b in out if b.recipients == ["carol@example.com"]]
    assert parsed(carol)["To"] == "carol@example.com"
    assert body_of(carol) == "COOKIE %%K\nUNSUBSCRIBE news\n"


def test_a_merge_from_a_member_is_refused_and_told_why(site):
    build(site)
    site.drop(mail(frm="dave@example.net", to="news-merge@example.org", body="COOKIE %%K\n"))
    site.run()
    assert posts(site) == []
    [reply] = site.messages_to("dave@example.net")
    assert "only the owner of news and the privileged may send a mail merge" in reply.get_body().get_content()


def test_a_forged_owner_merge_without_the_owners_password_is_refused(site):
    build(site)
    with open(site.path("access.ini"), "w") as f:
        f.write('"editor@example.org","","","","%s",""\n' % rights.hash_password("s3cret-Pw"))
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", body="COOKIE %%K\n"))
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", subject="real", body="Hi %%C\n",
                   headers="Approved: s3cret-Pw\n"))
    site.run()
    [real] = [b for b in posts(site) if b.recipients == ["carol@example.com"]]
    assert body_of(real) == "Hi Carol\n" and b"s3cret-Pw" not in real.data
    assert len(posts(site)) == 2
    assert "only the owner of news and the privileged may send a mail merge" in \
        site.messages_to("editor@example.org")[0].get_body().get_content()


def test_k_is_a_cookie_for_that_member_and_list_for_seven_days(site):
    build(site)
    site.drop(mail(frm="editor@example.org", to="news-merge@example.org", body="%%K\n"))
    site.run()
    with open(site.path("tristero.key"), "rb") as f:
        key = f.read()
    day = datetime.date(2026, 11, 21)
    codes = {b.recipients[0]: body_of(b).strip() for b in posts(site)}
    assert codes["carol@example.com"] != codes["dave@example.net"]
    code = codes["carol@example.com"]
    assert cookies.valid(key, code, "SUB", "news", "carol@example.com", day + datetime.timedelta(days=7))
    assert not cookies.valid(key, code, "SUB", "news", "carol@example.com", day + datetime.timedelta(days=8))
    assert not cookies.valid(key, code, "SUB", "news", "dave@example.net", day)
    assert not cookies.valid(key, code, "SUB", "other", "carol@example.com", day)


def test_substitute_unit():
    values = {"N": "Ann %%K", "F": "F!", "L": "news"}
    assert placeholders.substitute("%%N %F %L %%%N x%F %Fo", values) == "Ann %%K F! news %%N x%F %Fo"


# --- CLONE, RENAMELIST, SET list type, and the manual's resubscription exercise --------

AFRICA = """\
[LIST africa-list]
Owner = editor@example.org
Description = Africa
MemberFile = 00000001
SubscribePolicy = open+confirm
ForwardPrefix = [africa]
"""

EXERCISE = """---

Dear %F


In order to weed out old and faulty addresses from the %L list,
all users have been automatically unsubscribed. If you wish
to continue on this list, simply reply to this message, ensuring
that you include this original message in the reply, and
respond within 7 days.

Yours Sincerely,

%%O
Owner of the %%L list

[The commands needed to resubscribe are prebuilt for you below.
There is no need to alter them, simply replying is sufficent]

START
COOKIE %%K
SUBSCRIBE %%L
STOP
"""


def africa(site):
    site.write_ini(BASE_INI + "\n" + AFRICA)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com = NAME Carol Jones\ndave@example.net =\n")
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "welcome.txt"), "w") as f:
        f.write("Welcome to Africa.\n")


def clear_out(site):
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def members_of(site, listname):
    from tristero.model import config as configmod
    with open(site.path("tristero.ini")) as f:
        cfg = configmod.Config(site.path("tristero.ini"), f.read())
    number = cfg.raw("LIST " + listname, "MemberFile")
    with open(site.path("lists", number + ".ini")) as f:
        return [line.split("=")[0].strip() for line in f.read().splitlines() if "@" in line.split("=")[0]], cfg


def test_the_manuals_resubscription_exercise_end_to_end(site):
    africa(site)
    # 1. Replies go back to the listbot.
    site.drop(mail(frm="editor@example.org", body="SET africa-list REPLY Tristero\n"))
    site.run()
    # 2. The merge.
    site.drop(mail(frm="editor@example.org", to="africa-list-merge@example.org",
                   subject="Please Reply To This Message To Resubscribe", body=EXERCISE))
    site.run()
    letters = {b.recipients[0]: b for b in site.outbound() if b.sender == "owner-africa-list@example.org"}
    assert sorted(letters) == ["carol@example.com", "dave@example.net"]
    letter = parsed(letters["carol@example.com"])
    assert letter["Reply-To"] == "tristero@example.org"
    text = letter.get_body(("plain",)).get_content()
    assert "Dear Carol Jones <carol@example.com>" in text and "from the africa-list list" in text
    assert "editor@example.org\nOwner of the africa-list list" in text
    assert "SUBSCRIBE africa-list\n" in text and "%%" not in text
    clear_out(site)
    # 3. Everybody off: copy the structure, destroy, rename the copy; the reply type back.
    # The list's rules (a member barred) stay the list's (DESTROY leaves them; CREATE and
    # CLONE of a new list under the name would drop them).
    with open(site.path("access.ini"), "a") as f:
        f.write('"spammer@example.net","-W","africa-list","","",""\n')
    site.drop(mail(frm="boss@example.org", body="CLONE africa-list test-list\nDESTROY africa-list\n"
                                                "RENAMELIST test-list africa-list\nSET africa-list PosterPlus\n"))
    site.run()
    [answer] = replies_to(site, "boss@example.org")
    said = answer.get_body().get_content()
    assert "created test-list (test-list@example.org) with the settings of africa-list, and no members" in said
    assert "test-list is now africa-list (africa-list@example.org)" in said
    members, cfg = members_of(site, "africa-list")
    assert members == []
    assert cfg.raw("LIST africa-list", "Reply") == "PosterPlus"
    assert cfg.raw("LIST africa-list", "SubscribePolicy") == "open+confirm"
    assert cfg.raw("LIST africa-list", "ForwardPrefix") == "[africa]"
    assert cfg.raw("LIST africa-list", "MemberFile") != "00000001"
    assert "LIST test-list" not in cfg.sections
    with open(site.path("access.ini")) as f:
        assert '"spammer@example.net","Barred","africa-list"' in f.read()
    with open(site.path("archive", cfg.raw("LIST africa-list", "MemberFile"), "welcome.txt")) as f:
        assert f.read() == "Welcome to Africa.\n"
    clear_out(site)
    # 4. Carol replies, quoting the letter: she is a member again; dave did not.
    quoted = "Yes, keep me.\n\nOn Sat, the owner wrote:\n" + "".join("> " + line + "\n" for line in text.splitlines())
    site.drop(mail(frm="carol@example.com", to="tristero@example.org",
                   subject="Re: Please Reply To This Message To Resubscribe", body=quoted))
    site.run()
    members, _ = members_of(site, "africa-list")
    assert members == ["carol@example.com"]
    # A cookie is the member's own: dave forwarding carol's letter joins nobody.
    site.drop(mail(frm="dave@example.net", to="tristero@example.org", subject="Re: fwd", body=quoted))
    site.run()
    members, _ = members_of(site, "africa-list")
    assert members == ["carol@example.com"]


def test_renamelist_takes_the_lists_access_rules_and_moderators_list_along(site):
    africa(site)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[LIST africa-list-approval]\nOwner = editor@example.org\nMemberFile = 00000002\n")
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nmod@example.com =\n")
    with open(site.path("access.ini"), "w") as f:
        f.write("dave@example.net,Barred,africa-list,,,\ncarol@example.com,ListOwner,Africa-List,de,,\n"
                "dave@example.net,Member,other,,,\n")
    site.drop(mail(frm="boss@example.org", body="RENAMELIST africa-list asia-list\n"))
    site.run()
    _, cfg = members_of(site, "asia-list")
    assert sorted(cfg.list_names()) == ["asia-list", "asia-list-approval"]
    assert cfg.raw("LIST asia-list-approval", "MemberFile") == "00000002"
    with open(site.path("access.ini")) as f:
        rules = f.read()
    assert '"dave@example.net","Barred","asia-list"' in rules
    assert '"carol@example.com","ListOwner","asia-list","de"' in rules
    assert "africa" not in rules.lower() and '"dave@example.net","Member","other"' in rules


def test_clone_and_renamelist_need_a_postmaster_and_a_free_name(site):
    africa(site)
    site.drop(mail(frm="editor@example.org", body="CLONE africa-list copy\n"))
    site.drop(mail(frm="boss@example.org", body="CLONE africa-list africa-list\nRENAMELIST africa-list ../x\n"
                                               "RENAMELIST nosuch other\n"))
    site.run()
    _, cfg = members_of(site, "africa-list")
    assert cfg.list_names() == ["africa-list"]
    [owner] = replies_to(site, "editor@example.org")
    assert "REFUSED: only a PostMaster or the SuperUser may do this" in owner.get_body().get_content()
    [boss] = [m for m in replies_to(site, "boss@example.org") if m["Subject"] == "Re: test"]
    said = boss.get_body().get_content()
    assert "the name africa-list is taken" in said
    assert "is not a list name" in said
