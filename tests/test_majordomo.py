"""Majordomo 1.94: its list settings under their own names, and its users' sessions, as
they type them, through the front door (issue 15, part 1)."""

import os
import shutil

import pytest

from conftest import mail

OWNER = "owner@example.org"


def majordomo_site(site, settings="", members=("carol@example.com",)):
    """A site with the list news (its Majordomo settings: settings, one key = value a
    line) and the list posters."""
    own = "".join(line.strip() + "\n" for line in settings.splitlines() if line.strip())
    with open(site.path("tristero.ini"), "w") as f:
        f.write("[Globals]\nDomain = example.org\nSuperUser = boss@example.net\nMaxRecipients = 3\n\n"
                "[LIST news]\nMemberFile = 00000001\nType = Open\nOwner = %s\n%s\n"
                "[LIST posters]\nMemberFile = 00000002\nType = Open\nOwner = %s\n" % (OWNER, own, OWNER))
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, addresses in (("00000001", members), ("00000002", ("poster@example.net",))):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join(a + ("\n" if "=" in a else " =\n") for a in addresses))
    return site


def members_of(site, number="00000001"):
    from tristero.model.members import load
    return [a for a, _ in load(number, site.path("lists", number + ".ini")).items()]


def session(site, body, frm="alice@example.net", to="majordomo@example.org"):
    """Mail body to the robot as frm; the reply's text."""
    shutil.rmtree(site.path("spool", "out", "new"), ignore_errors=True)
    site.drop(mail(frm=frm, to=to, subject="", body=body))
    site.run()
    replies = [m for m in site.messages_to(frm) if (m["Subject"] or "").startswith("Re:")]
    assert len(replies) == 1, [m["Subject"] for m in site.messages_to(frm)]
    return replies[0].get_content()


def post(site, frm, body="hello\n", subject="a post", headers=""):
    shutil.rmtree(site.path("spool", "out", "new"), ignore_errors=True)
    site.drop(mail(frm=frm, to="news@example.org", subject=subject, body=body, headers=headers))
    site.run()


def owner_mail(site):
    return [m for m in site.messages_to(OWNER)]


# --- the settings: checked ----------------------------------------------------------------

def check(site):
    return site.tristero("check", check=False)


def test_a_clear_admin_passwd_is_refused_by_check_with_the_advice_to_set_it_by_passwd(site):
    majordomo_site(site, "admin_passwd = secret123")
    p = check(site)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode == 78 and "admin_passwd" in out and "passwd" in out and "secret123" not in out


@pytest.mark.parametrize("setting", [
    "who_access = nobody", "subscribe_policy = sometimes", "maxlength = -3",
    "taboo_body = /(a+)+$/", "taboo_body = /[unclosed/", "taboo_headers = viagra",
    "restrict_post = ../../etc/passwd", "reply_to = $NOBODY", "subject_prefix = [$SENDER]",
    "welcome = maybe", "taboo_body = /" + "a" * 201 + "/",
])
def test_a_bad_majordomo_value_is_refused_by_check(site, setting):
    majordomo_site(site, setting)
    p = check(site)
    assert p.returncode == 78, setting
    assert setting.split(" =")[0] in (p.stdout + p.stderr).decode()


def test_every_majordomo_key_is_known_to_check(site):
    from tristero.policy.rights import hash_password
    majordomo_site(site, """\
        description = News of the site
        admin_passwd = %s
        approve_passwd = %s
        moderate = no
        moderator = editor@example.org
        restrict_post = news-posters posters
        subscribe_policy = open+confirm
        unsubscribe_policy = closed
        index_access = list
        get_access = list
        info_access = open
        which_access = closed
        who_access = closed
        reply_to = $LIST
        subject_prefix = [$LIST]
        maxlength = 40000
        taboo_headers = /^subject:.*viagra/i
        taboo_body = /buy now/i /click here/
        welcome = yes
        announcements = yes
        digest_name = news digest
        digest_volume = 1
        digest_issue = 3
        digest_maxdays = 7
        digest_maxlines = 1000
        digest_archive = news.archive
        """ % (hash_password("adminpass1"), hash_password("approvepw1")))
    p = check(site)
    assert p.returncode == 0, (p.stdout + p.stderr).decode()
    assert b"unknown key" not in p.stdout + p.stderr


# --- the settings: at work (the "today" bugs of the issue first) --------------------------

def test_who_access_closed_refuses_who_to_a_stranger_and_answers_the_owner(site):
    majordomo_site(site, "who_access = closed")
    text = session(site, "who news")
    assert "REFUSED" in text and "carol@example.com" not in text
    assert "carol@example.com" in session(site, "who news", frm=OWNER)


def test_who_access_list_answers_members_only(site):
    majordomo_site(site, "who_access = list")
    assert "REFUSED" in session(site, "who news")
    assert "carol@example.com" in session(site, "who news", frm="carol@example.com")


def test_subscribe_policy_closed_passes_the_request_to_the_owner_without_a_warning(site):
    majordomo_site(site, "subscribe_policy = closed")
    p = check(site)
    assert p.returncode == 0 and b"unknown key" not in p.stdout + p.stderr
    text = session(site, "subscribe news")
    assert "HELD" in text
    assert "alice@example.net" not in members_of(site)
    assert any("ADD news alice@example.net" in m.get_body().get_content() for m in owner_mail(site))


def test_subscribe_policy_auto_subscribes_another_address_at_once(site):
    majordomo_site(site, "subscribe_policy = auto")
    text = session(site, "subscribe news bob@example.com")
    assert "bob@example.com is now a member of news" in text
    assert "bob@example.com" in members_of(site)


def test_subscribe_policy_open_confirm_asks_for_a_confirmation(site):
    majordomo_site(site, "subscribe_policy = open+confirm")
    text = session(site, "subscribe news")
    assert "HELD" in text and "alice@example.net" not in members_of(site)


def test_unsubscribe_of_another_address_by_a_non_owner_goes_to_the_owner_for_approval(site):
    majordomo_site(site)
    text = session(site, "unsubscribe news carol@example.com")
    assert "HELD" in text and "carol@example.com" in members_of(site)
    request = [m for m in owner_mail(site) if "APPROVE UNSUBSCRIBE" in m["Subject"]]
    assert request and "REMOVE news carol@example.com" in request[0].get_body().get_content()


def test_unsubscribe_policy_closed_passes_even_a_members_own_request_to_the_owner(site):
    majordomo_site(site, "unsubscribe_policy = closed")
    assert "HELD" in session(site, "unsubscribe news", frm="carol@example.com")
    assert "carol@example.com" in members_of(site)


def test_unsubscribe_policy_auto_lets_anyone_unsubscribe_anyone(site):
    majordomo_site(site, "unsubscribe_policy = auto")
    assert "has left news" in session(site, "unsubscribe news carol@example.com")
    assert "carol@example.com" not in members_of(site)


def test_info_index_and_get_access(site):
    majordomo_site(site, "info_access = closed\nindex_access = list\nget_access = list")
    assert "REFUSED" in session(site, "info news")
    assert "REFUSED" in session(site, "index news")
    assert "REFUSED" in session(site, "get news readme.txt")
    assert "REFUSED" not in session(site, "index news", frm="carol@example.com")
    assert "REFUSED" not in session(site, "info news", frm=OWNER)


def test_which_access_closed_leaves_the_list_out_for_others(site):
    majordomo_site(site, "which_access = closed")
    assert "news" not in session(site, "which", frm="carol@example.com").split("list(s)", 1)[1]


def test_description_shows_in_info(site):
    majordomo_site(site, "description = All the news that fits")
    assert "All the news that fits" in session(site, "info news")


def test_owner_is_told_of_a_new_subscriber_and_of_a_departure(site):
    majordomo_site(site, "announcements = yes")
    session(site, "subscribe news")
    assert any(m["Subject"] == "SUBSCRIBE news alice@example.net" for m in owner_mail(site))
    session(site, "unsubscribe news")
    assert any(m["Subject"] == "UNSUBSCRIBE news alice@example.net" for m in owner_mail(site))


def test_announcements_no_tells_the_owner_nothing_and_welcome_no_sends_no_welcome(site):
    majordomo_site(site, "announcements = no\nwelcome = no")
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "welcome.txt"), "w") as f:
        f.write("Welcome!\n")
    session(site, "subscribe news")
    assert owner_mail(site) == []
    assert [m for m in site.messages_to("alice@example.net") if m["Subject"] == "Welcome to news"] == []


# --- posts ----------------------------------------------------------------------------

def test_restrict_post_bounces_a_strangers_post_to_the_owner(site):
    majordomo_site(site, "restrict_post = posters")
    post(site, "stranger@example.net")
    assert site.messages_to("carol@example.com") == []
    bounce = [m for m in owner_mail(site) if m["Subject"].startswith("BOUNCE news")]
    assert bounce and "restrict_post" in bounce[0]["Subject"]
    told = site.messages_to("stranger@example.net")
    assert told and "restrict_post" in told[0].get_body().get_content()


def test_restrict_post_lets_a_member_of_the_named_list_or_file_post(site):
    majordomo_site(site, "restrict_post = allowed.txt posters")
    post(site, "poster@example.net")
    assert site.messages_to("carol@example.com")
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "allowed.txt"), "w") as f:
        f.write("# who may post\nfiled@example.net\n")
    post(site, "Filed@Example.net")
    assert site.messages_to("carol@example.com")


def test_taboo_body_stops_a_post_and_a_password_in_it_never_reaches_the_owner(site):
    majordomo_site(site, "taboo_body = /buy\\s+now/i")
    post(site, "carol@example.com", body="Please BUY  now!\n", headers="Approved: sekret99\n")
    assert not [m for m in site.messages_to("carol@example.com") if m["Subject"] == "a post"]
    bounce = [m for m in owner_mail(site) if m["Subject"].startswith("BOUNCE news")]
    assert bounce and "taboo_body" in bounce[0]["Subject"]
    raw = b"".join(b.data for b in site.outbound())
    assert b"sekret99" not in raw


def test_taboo_headers_match_a_header_line(site):
    majordomo_site(site, "taboo_headers = /^subject:.*casino/i")
    post(site, "carol@example.com", subject="Win at the CASINO")
    assert [m for m in owner_mail(site) if m["Subject"].startswith("BOUNCE news")]


def test_maxlength_stops_a_long_post(site):
    majordomo_site(site, "maxlength = 100")
    post(site, "carol@example.com", body="x" * 200 + "\n")
    assert [m for m in owner_mail(site) if "maxlength" in m["Subject"]]
    post(site, "carol@example.com", body="short\n")
    assert [m for m in site.messages_to("carol@example.com") if "a post" in m["Subject"]]


def test_subject_prefix_with_list_and_reply_to(site):
    majordomo_site(site, "subject_prefix = [$LIST]\nreply_to = $LIST")
    post(site, "carol@example.com")
    got = [m for m in site.messages_to("carol@example.com") if "a post" in m["Subject"]]
    assert got[0]["Subject"] == "[news] a post"
    assert got[0]["Reply-To"] == "news@example.org"


# --- passwords: passwd, approve -----------------------------------------------------------

def test_passwd_sets_the_lists_password_hashed_and_approve_takes_it(site):
    majordomo_site(site, "who_access = closed")
    text = session(site, "passwd news none newsecret1", frm=OWNER)
    assert "OK: the password of news is changed" in text and "newsecret1" not in text
    with open(site.path("tristero.ini")) as f:
        ini = f.read()
    assert "admin_passwd = scrypt$" in ini and "newsecret1" not in ini
    assert check(site).returncode == 0
    # Majordomo's approve PASSWD command: anyone who has the list's password.
    text = session(site, "approve newsecret1 who news")
    assert "carol@example.com" in text and "newsecret1" not in text
    assert "has left news" in session(site, "approve newsecret1 unsubscribe news carol@example.com")
    assert "carol@example.com" not in members_of(site)
    # The old password is now needed to change it.
    assert "REFUSED" in session(site, "passwd news wrongpass1 other12345", frm=OWNER)
    assert "OK" in session(site, "passwd news newsecret1 other12345", frm=OWNER)
    logs = site.log()
    assert "newsecret1" not in logs and "other12345" not in logs
    for name in site.listdir("spool", "in", "cur"):
        with open(site.path("spool", "in", "cur", name), "rb") as f:
            data = f.read()
        assert b"newsecret1" not in data and b"other12345" not in data


def test_approve_with_the_approve_passwd_subscribes_another_address(site):
    from tristero.policy.rights import hash_password
    majordomo_site(site, "approve_passwd = %s\nsubscribe_policy = closed" % hash_password("approve99"))
    text = session(site, "approve approve99 subscribe news bob@example.com")
    assert "bob@example.com is now a member of news" in text


def test_a_wrong_list_password_grants_nothing(site):
    from tristero.policy.rights import hash_password
    majordomo_site(site, "admin_passwd = %s\nwho_access = closed" % hash_password("rightpass1"))
    text = session(site, "approve wrongpass1 who news")
    assert "REFUSED" in text and "carol@example.com" not in text


def test_a_stranger_cannot_set_the_first_list_password(site):
    majordomo_site(site)
    assert "REFUSED" in session(site, "passwd news none newsecret1")
    assert check(site).returncode == 0
    with open(site.path("tristero.ini")) as f:
        assert "admin_passwd" not in f.read()


# --- config, newconfig, writeconfig, newinfo, newintro, intro ------------------------------

def test_config_returns_the_settings_as_majordomos_commented_text_and_newconfig_takes_them_back(site):
    majordomo_site(site, "who_access = closed\nsubject_prefix = [$LIST]")
    text = session(site, "passwd news none listpass1\nconfig news listpass1", frm=OWNER)
    assert "who_access = closed" in text and "subject_prefix = [$LIST]" in text and "# " in text
    assert "admin_passwd =" not in text and "listpass1" not in text
    config = text.split("the settings of news follow", 1)[1].split("\n\n2 command(s)", 1)[0]
    config = config.replace("who_access = closed", "who_access = list")
    text = session(site, "newconfig news listpass1\n" + config + "\nEOF\nwho news", frm="alice@example.net")
    assert "1 setting(s) of news changed" in text, text
    assert "REFUSED" in text.split("> who news", 1)[1]     # alice is no member, who_access = list


def test_newconfig_answers_each_bad_line_by_its_number_and_applies_nothing(site):
    majordomo_site(site)
    body = ("newconfig news whatever\n# a comment\nwho_access = closed\nmoderate = perhaps\n"
            "frobnicate = 1\nadmin_passwd = clearpass1\ntaboo_body = /(x+)+/\nEOF\n")
    text = session(site, body, frm=OWNER)
    assert "nothing was changed: 4 line(s)" in text
    for n in (3, 4, 5, 6):
        assert "line %d:" % n in text
    assert "line 2:" not in text and "clearpass1" not in text
    for name in site.listdir("spool", "in", "cur"):
        with open(site.path("spool", "in", "cur", name), "rb") as f:
            assert b"clearpass1" not in f.read()
    with open(site.path("tristero.ini")) as f:
        assert "who_access" not in f.read()


def test_newconfig_from_a_stranger_is_refused(site):
    majordomo_site(site)
    text = session(site, "newconfig news guess1234\nwho_access = closed\nEOF\n")
    assert "REFUSED" in text
    with open(site.path("tristero.ini")) as f:
        assert "who_access" not in f.read()


def test_writeconfig_writes_every_setting_with_its_default(site):
    majordomo_site(site, "who_access = closed")
    assert "OK" in session(site, "writeconfig news x", frm=OWNER)
    with open(site.path("tristero.ini")) as f:
        ini = f.read()
    assert "who_access = closed" in ini and "subscribe_policy = open" in ini and "maxlength = 40000" in ini
    assert check(site).returncode == 0


def test_newinfo_and_newintro_store_the_texts_info_and_intro_show(site):
    majordomo_site(site)
    session(site, "newinfo news x\nAll about the news.\nEOF\nnewintro news x\nWelcome, reader.\nEOF\n",
            frm=OWNER)
    assert "All about the news." in session(site, "info news")
    assert "Welcome, reader." in session(site, "intro news")


def test_a_majordomo_session_as_the_guide_types_it(site):
    majordomo_site(site, "description = The news list")
    text = session(site, "lists\ninfo news\nsubscribe news\nwhich\nwho news\nindex news\nhelp\nend\nthis is not read\n")
    for echo in ("> lists", "> info news", "> subscribe news", "> which", "> who news", "> index news", "> help"):
        assert echo in text
    assert "alice@example.net is now a member of news" in text
    assert text.count("The news list") == 2         # LISTS and INFO show the description
    assert "this is not read" not in text


def test_auth_code_confirms_a_subscription_as_majordomo_users_answer(site):
    import re
    majordomo_site(site, "subscribe_policy = open+confirm")
    assert "HELD" in session(site, "subscribe news")
    [confirmation] = [m for m in site.messages_to("alice@example.net") if "Confirm" in m["Subject"]]
    code = re.search(r"COOKIE (\S+)", confirmation.get_content()).group(1)
    text = session(site, "auth %s subscribe news" % code)
    assert "alice@example.net is now a member of news" in text
    assert "ERROR" in session(site, "auth %s" % code)
    assert "ERROR" in session(site, "auth %s auth x subscribe news" % code)


def test_guessing_a_lists_password_locks_it(site):
    from tristero.policy.rights import hash_password
    majordomo_site(site, "admin_passwd = %s\nwho_access = closed" % hash_password("rightpass1"))
    for i in range(6):
        assert "REFUSED" in session(site, "approve guess%05d who news" % i, frm="carol@example.com")
    # Locked: even the right password is not tried now.
    text = session(site, "approve rightpass1 who news", frm="carol@example.com")
    assert "REFUSED" in text and "1 member(s)" not in text


def test_unsubscribe_policy_open_confirm_asks_the_member_first(site):
    import re
    majordomo_site(site, "unsubscribe_policy = open+confirm")
    assert "HELD" in session(site, "unsubscribe news", frm="carol@example.com")
    assert "carol@example.com" in members_of(site)
    [confirmation] = [m for m in site.messages_to("carol@example.com") if "leave" in m["Subject"]]
    code = re.search(r"COOKIE (\S+)", confirmation.get_content()).group(1)
    assert "has left news" in session(site, "auth %s unsubscribe news" % code, frm="carol@example.com")
    assert "carol@example.com" not in members_of(site)


def test_mkdigest_sends_the_digest_members_their_digest_now(site):
    majordomo_site(site, members=("carol@example.com = DIGEST WEEKLY SUMMARY MIME 2026-11-19",))
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "20261120.txt"), "wb") as f:
        f.write(b"From a@example.net Fri Nov 20 10:00:00 2026\nFrom: a@example.net\nSubject: hello\n"
                b"Message-ID: <1@example.net>\nDate: Fri, 20 Nov 2026 10:00:00 +0000\n\nhi\n\n")
    site.run()      # the day's first run: a weekly digest is not due on a Saturday
    assert not [m for m in site.messages_to("carol@example.com") if "digest" in m["Subject"].lower()]
    text = session(site, "mkdigest news x", frm=OWNER)
    assert "a digest of news went to 1 member(s)" in text
    assert [m for m in site.messages_to("carol@example.com") if "digest" in m["Subject"].lower()]
    assert "REFUSED" in session(site, "mkdigest news x")
