"""Attacks on lists within lists, proxy lists and languages (round 21): each test is the
hostile message or file itself, and what must (not) come out."""

import os

from conftest import mail

SITE_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
MaxRecipients = 100

[LIST master]
Owner = chief@example.net
Type = Open
MemberFile = 00000001

[LIST sales-l]
Owner = chief@example.net
Type = Open
MemberFile = 00000002

[LIST gw]
Owner = chief@example.net
Type = Closed
Proxy = test-l@remote.example.net
MemberFile = 00000003
"""


def build(site, files=None, ini=SITE_INI):
    site.write_ini(ini)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, text in (files or {}).items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write(text)


def everything(site):
    """All the site wrote: outbound mail, logs, the spool's kept copies, the archive."""
    out = []
    for root, _, names in os.walk(site.home):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                out.append((os.path.join(root, name), f.read()))
    return out


def reply(site, to):
    [answer] = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    return answer.get_content()


def test_a_remote_lists_password_in_a_proxy_line_is_sent_there_and_nowhere_else(site):
    build(site)
    site.drop(mail(frm="chief@example.net", subject="x", body="PROXY gw approve Remote5ecret subscribe test-l\n"))
    site.run()
    [command] = site.messages_to("test-l-request@remote.example.net")
    assert "approve Remote5ecret subscribe test-l" in command.get_content()
    text = reply(site, "chief@example.net")
    assert "command sent" in text and "Remote5ecret" not in text
    leaks = [path for path, data in everything(site) if b"Remote5ecret" in data and "/spool/out/" not in path]
    assert leaks == []


def test_a_listserv_pw_in_a_proxy_line_reaches_the_remote_robot_and_is_kept_nowhere(site):
    build(site, ini=SITE_INI.replace("test-l@remote.example.net", "test-l@listserv.remote.example.net"))
    site.drop(mail(frm="chief@example.net", subject="x", body="PROXY gw SET test-l NOMAIL PW=Remote5ecret\n"))
    site.run()
    [command] = site.messages_to("listserv@listserv.remote.example.net")
    assert command.get_content().strip() == "SET test-l NOMAIL PW=Remote5ecret"
    text = reply(site, "chief@example.net")
    assert "command sent" in text and "Remote5ecret" not in text
    leaks = [path for path, data in everything(site) if b"Remote5ecret" in data and "/spool/out/" not in path]
    assert leaks == []


def test_a_stranger_cannot_subscribe_a_list_of_the_site_to_another(site):
    build(site, {"00000002": "[Members]\ncarol@example.com =\n"})
    site.drop(mail(frm="mallory@evil.example", subject="x",
                   body="SUBSCRIBE master sales-l@example.org\nSUBSCRIBE master SALES-L@EXAMPLE.ORG\n"))
    site.drop(mail(frm="sales-l@example.org", subject="x", body="SUBSCRIBE master\n"))
    site.run()
    if os.path.exists(site.path("lists", "00000001.ini")):
        with open(site.path("lists", "00000001.ini")) as f:
            assert "sales-l" not in f.read().lower()
    for b in site.outbound():
        if "sales-l@example.org" in b.recipients:
            site.drop(b"Return-Path: <%s>\nDelivered-To: sales-l@example.org\n" % b.sender.encode() + b.data)
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))
    site.run()
    assert site.messages_to("carol@example.com") == []


REMOTE_INI = """\
[Globals]
Domain = remote.example.net
SuperUser = root@remote.example.net
MaxRecipients = 100

[LIST test-l]
Owner = keeper@remote.example.net
Type = Open
MemberFile = 00000001
"""


def two_sites(tmp_path, local_members, remote_members):
    from conftest import TestSite
    local, remote = TestSite(tmp_path / "local"), TestSite(tmp_path / "remote")
    for s, ini, members in ((local, SITE_INI, local_members), (remote, REMOTE_INI, remote_members)):
        os.makedirs(s.home)
        build(s, {"00000001": "[Members]\n" + "".join("%s =\n" % m if "=" not in m else m + "\n" for m in members)},
              ini=ini)
    return local, remote


def carry(source, target, domain):
    """source's outbound for domain into target's inbound, as a mail server delivers it."""
    from tristero.model.spools import BsmtpFile
    carried = 0
    for name in source.listdir("spool", "out", "new"):
        path = source.path("spool", "out", "new", name)
        with open(path, "rb") as f:
            b = BsmtpFile.parse(f.read())
        for r in [r for r in b.recipients if r.endswith("@" + domain)]:
            target.drop(b"Return-Path: <%s>\nDelivered-To: %s\n" % (b.sender.encode(), r.encode()) + b.data)
            carried += 1
        os.remove(path)
    return carried


def test_a_local_and_a_remote_list_members_of_each_other_do_not_mail_each_other_forever(tmp_path):
    local, remote = two_sites(tmp_path, ["lucy@example.com", "test-l@remote.example.net = REMOTE"],
                              ["rita@remote.example.net", "master@example.org"])
    local.drop(mail(frm="lucy@example.com", to="master@example.org", subject="Ping", body="hi\n"))
    local.run()
    sent_local = len(local.messages_to("lucy@example.com"))
    rounds = []
    for _ in range(4):
        rounds.append(carry(local, remote, "remote.example.net"))
        remote.run()
        rounds.append(carry(remote, local, "example.org"))
        local.run()
        sent_local += len(local.messages_to("lucy@example.com"))
    print(rounds, local.log(), remote.log())
    assert sent_local == 1
    assert rounds[-4:] == [0, 0, 0, 0]


def test_a_forged_sender_field_naming_the_remote_list_is_not_a_pass_into_a_closed_client_list(site):
    build(site, {"00000003": "[Members]\nlucy@example.com =\n"})
    site.drop(b"Return-Path: <mallory@evil.example>\nDelivered-To: gw@example.org\n"
              + mail(frm="mallory@evil.example", to="gw@example.org", subject="Buy now", body="x\n",
                     headers="Sender: test-l-bounces@remote.example.net\n").encode())
    site.run()
    assert site.messages_to("lucy@example.com") == []
    # Its envelope sender, as the mail server delivered it, still counts.
    site.drop(b"Return-Path: <test-l-bounces+lucy=example.org@remote.example.net>\nDelivered-To: gw@example.org\n"
              + mail(frm="rita@remote.example.net", to="gw@example.org", subject="Real", body="x\n").encode())
    site.run()
    assert [m["Subject"] for m in site.messages_to("lucy@example.com")] == ["Real"]


def test_a_remote_list_in_a_sub_list_never_gets_a_post_that_came_from_its_own_host(site):
    # master > sales-l > [test-l@remote.example.net]: the remote list's own post, sent to
    # master (which it is a member of), must not go back to it through sales-l.
    build(site, {"00000001": "[Members]\nlucy@example.com =\nsales-l@example.org =\n",
                 "00000002": "[Members]\ncarol@example.com =\ntest-l@remote.example.net = REMOTE\n"})
    site.drop(b"Return-Path: <test-l-bounces@remote.example.net>\nDelivered-To: master@example.org\n"
              + mail(frm="rita@remote.example.net", to="master@example.org", subject="Round", body="x\n").encode())
    site.run()
    assert len(site.messages_to("carol@example.com")) == 1
    assert site.messages_to("test-l@remote.example.net") == []


def test_joining_an_open_sub_list_gives_no_right_on_the_closed_list_above_it(site):
    build(site, {"00000001": "[Members]\nlucy@example.com =\nsales-l@example.org =\n",
                 "00000002": "[Members]\ncarol@example.com =\n"},
          ini=SITE_INI.replace("Type = Open\nMemberFile = 00000001", "Type = Closed\nMemberFile = 00000001"))
    site.drop(mail(frm="mallory@evil.example", subject="x", body="SUBSCRIBE sales-l\n"))
    site.run()
    site.drop(mail(frm="mallory@evil.example", to="master@example.org", subject="Spam", body="x\n"))
    site.drop(mail(frm="mallory@evil.example", subject="y", body="MEMBERS master\nINDEX master\nWHICH\n"))
    site.run()
    assert site.messages_to("lucy@example.com") == []
    text = [m.get_content() for m in site.messages_to("mallory@evil.example")]
    assert not any("lucy@example.com" in t for t in text)


def test_passwords_after_german_and_spanish_command_words_are_kept_nowhere(site):
    build(site)
    body = ("SUSCRIBIR master PW=Geheim1x\napprove Geheim2x ABONNIEREN sales-l\n"
            "  password Geheim3x HILFE\nOPCIÓN master NOMAIL PW=Geheim4x\n"
            "EINSTELLEN master LANGUAGE de pw=Geheim5x\n> approve Geheim6x BAJA master\n")
    site.drop(mail(frm="mallory@evil.example", subject="approve Geheim7x AYUDA", body=body))
    site.drop(mail(frm="mallory@evil.example", subject="ayuda PW=Geheim8x", body=""))
    site.run()
    leaks = [(path, data.count(b"Geheim")) for path, data in everything(site) if b"Geheim" in data]
    assert leaks == []


def test_proxy_by_a_stranger_is_refused_and_a_hostile_line_is_sent_whole_or_not_at_all(site):
    build(site, ini=SITE_INI.replace("[LIST gw]\n", "[LIST gw]\nDescription = Jürgen's \"gateway\" ☃\n"))
    site.drop(mail(frm="mallory@evil.example", subject="x", body="PROXY gw unsubscribe test-l\n"))
    site.drop(mail(frm="chief@example.net", subject="x",
                   body="PROXY gw\nPROXY gw subscribe test-l Jürgen Grün\nPROXY gw " + "x" * 5000 + "\n"))
    site.run()
    assert "REFUSED" in reply(site, "mallory@evil.example")
    text = reply(site, "chief@example.net")
    sent = site.messages_to("test-l-request@remote.example.net")
    assert [m.get_content().strip() for m in sent] == ["subscribe", "subscribe test-l Jürgen Grün"]
    assert text.count("command sent") == 2


def test_hostile_language_values_and_site_templates_fall_back_to_the_built_in_texts(site):
    build(site, {"00000001": "[Members]\nmallory@evil.example =\n"})
    folder = site.path("templates", "de")
    os.makedirs(folder)
    with open(os.path.join(folder, "local.txt"), "w") as f:
        f.write("[set.language]\n{list.__class__.__mro__}\n\n[robot.summary]\n{commands:>999999999}\n\n"
                "[set.unknown-language]\n{language:{language}}\n")
    with open(site.path("access.ini"), "w") as f:
        f.write("[Access]\nmallory@evil.example = user, , ../../../etc/passwd\n")
    site.drop(mail(frm="mallory@evil.example", subject="x",
                   body="SET master LANGUAGE ../en\nSET master LANGUAGE {0.__class__}\nSET master LANG %s\n"
                        "SET master LANGUAGE Deutsch\n" % ("x" * 3000)))
    site.run()
    text = reply(site, "mallory@evil.example")
    assert "<class" not in text and "__mro__" not in text and len(text) < 20000
    assert text.count("ERROR") == 3
    assert "Deutsch" in text or "German" in text
    assert "Traceback" not in site.log()


def test_a_list_added_or_removed_by_its_address_is_sent_no_welcome_or_farewell(site):
    build(site, {"00000002": "[Members]\ncarol@example.com =\n"})
    site.drop(mail(frm="chief@example.net", subject="x",
                   body="ADD master sales-l@example.org\nADD master [gw@example.org]\n"
                        "REMOVE master sales-l@example.org\nREMOVE master gw@example.org\n"))
    site.run()
    assert "added to" in reply(site, "chief@example.net")
    lists_here = {"sales-l@example.org", "gw@example.org"}
    assert [b.recipients for b in site.outbound() if set(b.recipients) & lists_here] == []


def test_the_owner_of_both_lists_subscribing_one_to_the_other_sends_it_no_welcome(site):
    build(site, {"00000002": "[Members]\ncarol@example.com =\n"})
    site.drop(mail(frm="chief@example.net", subject="x", body="SUBSCRIBE master sales-l@example.org\n"))
    site.run()
    assert [b.recipients for b in site.outbound() if "sales-l@example.org" in b.recipients] == []


def test_a_post_coming_back_from_a_remote_list_to_a_sub_list_is_not_sent_again(tmp_path):
    # master > sales-l, and master > [test-l@remote]; the remote list has sales-l as a member:
    # its copy of master's post comes back to sales-l, whose members had it already.
    local, remote = two_sites(tmp_path, ["lucy@example.com", "sales-l@example.org",
                                         "test-l@remote.example.net = REMOTE"],
                              ["rita@remote.example.net", "sales-l@example.org"])
    with open(local.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")
    local.drop(mail(frm="lucy@example.com", to="master@example.org", subject="Ping", body="hi\n"))
    local.run()
    got = len(local.messages_to("carol@example.com"))
    for _ in range(2):
        carry(local, remote, "remote.example.net")
        remote.run()
        carry(remote, local, "example.org")
        local.run()
        got += len(local.messages_to("carol@example.com"))
    assert got == 1


def test_set_proxy_refuses_an_address_of_the_site_as_createclient_does(site):
    build(site)
    site.drop(mail(frm="chief@example.net", subject="x",
                   body="SET sales-l PROXY master-request@EXAMPLE.ORG\nPROXY sales-l GET master 1\n"))
    site.run()
    text = reply(site, "chief@example.net")
    assert "is an address of this site" in text and "is the client of no remote list" in text
    assert [b for b in site.outbound() if b.sender == "owner-sales-l@example.org"] == []


def test_mail_forged_from_a_sub_lists_address_does_not_take_it_out_of_the_list_above(site):
    build(site, {"00000001": "[Members]\nlucy@example.com =\nsales-l@example.org =\n",
                 "00000002": "[Members]\ncarol@example.com =\n"})
    site.drop(mail(frm="sales-l@example.org", subject="x",
                   body="UNSUBSCRIBE master\nSET master NOMAIL\nSET master DIGEST\nSET * NOMAIL\n"))
    site.run()
    with open(site.path("lists", "00000001.ini")) as f:
        assert "sales-l@example.org =\n" in f.read()


def test_members_does_not_open_a_closed_sub_list_nor_name_a_hidden_one(site):
    build(site, {"00000001": "[Members]\nlucy@example.com =\nmallory@evil.example =\nsales-l@example.org =\n",
                 "00000002": "[Members]\ncarol@example.com =\ngw@example.org =\n",
                 "00000003": "[Members]\nsecret-person@example.com =\n"},
          ini=SITE_INI.replace("Type = Open\nMemberFile = 00000002", "Type = Closed\nMemberFile = 00000002")
          .replace("Type = Closed\nProxy", "Type = Hidden\nProxy"))
    site.drop(mail(frm="mallory@evil.example", subject="x", body="MEMBERS master\nMIEMBROS master\nQUIEN master\n"))
    site.drop(mail(frm="carol@example.com", subject="x", body="MEMBERS sales-l\n"))
    site.run()
    text = reply(site, "mallory@evil.example")
    assert "lucy@example.com" in text and "carol@" not in text and "secret-person" not in text
    text = reply(site, "carol@example.com")
    # gw is Hidden: to carol, who may not see it, its address is no list's.
    assert "carol@example.com" in text and "gw@example.org" in text
    assert "secret-person" not in text and "the list gw" not in text


def test_change_does_not_put_another_owners_list_or_the_list_itself_in_a_list(site):
    ini = SITE_INI.replace("Owner = chief@example.net\nType = Open\nMemberFile = 00000002",
                           "Owner = other@example.net\nType = Open\nMemberFile = 00000002")
    build(site, {"00000001": "[Members]\nlucy@example.com =\nmax@example.com =\n",
                 "00000002": "[Members]\ncarol@example.com =\n"}, ini=ini)
    site.drop(mail(frm="chief@example.net", subject="x",
                   body="CHANGE lucy@example.com sales-l@example.org master\n"
                        "CHANGE max@example.com master@example.org\n"))
    site.run()
    text = reply(site, "chief@example.net")
    assert text.count("REFUSED") == 2
    with open(site.path("lists", "00000001.ini")) as f:
        assert f.read().count("@example.com =") == 2
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Hi", body="x\n"))
    site.run()
    assert site.messages_to("carol@example.com") == []


def test_a_site_template_for_a_subject_cannot_add_header_fields(site):
    build(site)
    folder = site.path("templates", "en")
    os.makedirs(folder)
    with open(os.path.join(folder, "local.txt"), "w") as f:
        f.write("[membership.welcome.subject]\nWillkommen {list}\nBcc: victim@evil.example\r\nX-Evil: 1\n")
    site.drop(mail(frm="chief@example.net", subject="x", body="ADD master lucy@example.com\n"))
    site.run()
    [hello] = site.messages_to("lucy@example.com")
    assert hello["Bcc"] is None and hello["X-Evil"] is None and "Willkommen" in hello["Subject"]
    assert all("victim@evil.example" not in b.recipients for b in site.outbound())


def test_a_proxy_line_that_starts_with_a_password_does_not_name_it_as_the_verb(site):
    build(site, ini=SITE_INI.replace("test-l@remote.example.net", "test-l@listserv.remote.example.net"))
    site.drop(mail(frm="chief@example.net", subject="x",
                   body="PROXY gw PW=Remote5ecret SET test-l NOMAIL\nPROXY gw approve Remote5ecret\n"))
    site.run()
    assert len(site.messages_to("listserv@listserv.remote.example.net")) == 2
    leaks = [path for path, data in everything(site)
             if b"Remote5ecret" in data.replace(b"REMOTE5ECRET", b"Remote5ecret") and "/spool/out/new/" not in path]
    assert leaks == []
    assert "Remote5ecret" not in reply(site, "chief@example.net").replace("REMOTE5ECRET", "Remote5ecret")


def test_a_list_created_again_under_a_destroyed_sub_lists_name_gets_no_posts_of_the_list_above(site):
    build(site, {"00000001": "[Members]\nlucy@example.com =\nsales-l@example.org =\n",
                 "00000002": "[Members]\ncarol@example.com =\n"},
          ini=SITE_INI.replace("MaxRecipients = 100", "MaxRecipients = 100\nOpenCreation = 1"))
    with open(site.path("access.ini"), "a") as f:
        f.write('"carol@example.com","+M","sales-l","","",""\n')      # sales-l's moderator
    site.drop(mail(frm="boss@example.net", subject="x", body="DESTROY sales-l\n"))
    site.run()
    site.drop(mail(frm="mallory@evil.example", subject="y", body="CREATE sales-l Mine now\n"))
    site.run()
    assert "created sales-l" in reply(site, "mallory@evil.example")
    # The old list's rules are not the new one's (its moderator is not mallory's).
    with open(site.path("access.ini")) as f:
        assert "sales-l" not in f.read()
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Private", body="x\n"))
    site.run()
    assert len(site.messages_to("lucy@example.com")) == 1
    assert site.messages_to("mallory@evil.example") == []


def test_an_address_with_a_star_sets_no_language_for_every_address_it_matches(site):
    build(site)
    site.drop(mail(frm="*@example.com", subject="x", body="SUSCRIBIR master\nSET * LANGUAGE de\nSET master LANG de\n"))
    site.run()
    text = reply(site, "*@example.com")
    assert text.count("access.ini") == 2
    assert not os.path.exists(site.path("access.ini")) or "*@example.com" not in open(site.path("access.ini")).read()


def test_an_spf_pass_for_another_list_at_the_remote_host_does_not_vouch_for_a_sender_field(site):
    # A shared list host: the attacker's own list there passes SPF, and names the client's
    # remote list in Sender. SPF vouches for the envelope only; a Sender needs a DKIM pass.
    build(site, {"00000003": "[Members]\nlucy@example.com =\n"},
          ini=SITE_INI + "\n[Security]\nTrustedAuthservIds = mx.example.org\n")
    site.drop(b"Return-Path: <spam-l-bounces@remote.example.net>\nDelivered-To: gw@example.org\n"
              b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=spam-l-bounces@remote.example.net\n"
              + mail(frm="mallory@evil.example", to="gw@example.org", subject="Buy now", body="x\n",
                     headers="Sender: test-l-bounces@remote.example.net\n").encode())
    site.run()
    assert site.messages_to("lucy@example.com") == []
    site.drop(b"Return-Path: <spam-l-bounces@remote.example.net>\nDelivered-To: gw@example.org\n"
              b"Authentication-Results: mx.example.org; dkim=pass header.d=remote.example.net\n"
              + mail(frm="rita@remote.example.net", to="gw@example.org", subject="Signed", body="x\n",
                     headers="Sender: test-l-bounces@remote.example.net\n").encode())
    site.run()
    assert [m["Subject"] for m in site.messages_to("lucy@example.com")] == ["Signed"]


def test_createclient_with_a_name_too_long_for_an_envelope_is_refused_not_failed(site):
    build(site)
    long_name = "g" * 60
    site.drop(mail(frm="boss@example.net", subject="x",
                   body="CREATECLIENT %s test-l@remote.example.net\nCREATE %s A list\nCREATE %s A list\n"
                        % (long_name, long_name, "h" * 55)))
    site.run()
    text = reply(site, "boss@example.net")
    assert text.count("at most 55 characters") == 2 and text.count("created ") == 1
    site.drop(mail(frm="boss@example.net", to="%s@example.org" % ("h" * 55), subject="hi", body="x\n"))
    site.run()
    assert "moved to spool/failed" not in site.log()


def test_a_remote_list_added_in_spaced_brackets_is_a_remote_list_and_gets_no_welcome(site):
    build(site)
    site.drop(mail(frm="chief@example.net", subject="x", body="ADD master [ test-l@remote.example.net ]\n"))
    site.run()
    assert "added to master" in reply(site, "chief@example.net")
    assert site.messages_to("test-l@remote.example.net") == []
    with open(site.path("lists", "00000001.ini")) as f:
        assert "test-l@remote.example.net = REMOTE\n" in f.read()
