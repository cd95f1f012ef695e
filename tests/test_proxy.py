"""Proxy (client) lists (README "Proxy lists"): a list of this site subscribed by mail to a
remote list. The remote list here is a second Tristero site: two site folders, the export
of one dropped into the inbound of the other, as the mail servers between them would."""

import os

import pytest

from conftest import TestSite, mail
from tristero.services import proxy

LOCAL_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
MaxRecipients = 100

[Admin Subjects]
#{unsubscribe
"""

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


@pytest.fixture
def sites(tmp_path):
    local, remote = TestSite(tmp_path / "local"), TestSite(tmp_path / "remote")
    for s, ini in ((local, LOCAL_INI), (remote, REMOTE_INI)):
        os.makedirs(s.home)
        s.write_ini(ini)
    os.makedirs(remote.path("lists"))
    with open(remote.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nrita@remote.example.net =\n")
    return local, remote


def carry(source, target, domain):
    """Move source's outbound files for domain into target's inbound, as a mail server
    delivers them (Return-Path and Delivered-To on top); the rest stay where they are.
    Returns how many messages were carried."""
    from tristero.model.spools import BsmtpFile
    carried = 0
    for name in source.listdir("spool", "out", "new"):
        path = source.path("spool", "out", "new", name)
        with open(path, "rb") as f:
            b = BsmtpFile.parse(f.read())
        there = [r for r in b.recipients if r.endswith("@" + domain)]
        for r in there:
            target.drop(b"Return-Path: <%s>\nDelivered-To: %s\n" % (b.sender.encode(), r.encode()) + b.data)
            carried += 1
        if there:
            os.remove(path)
    return carried


def clear(site):
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def reply(site, to):
    [answer] = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    return answer.get_content()


def client(sites):
    """gw@example.org, created by the SuperUser as the client of test-l@remote.example.net,
    subscribed there by mail."""
    local, remote = sites
    local.drop(mail(frm="boss@example.net", subject="x", body="CREATECLIENT gw test-l@remote.example.net HIDE\n"))
    local.run()
    text = reply(local, "boss@example.net")
    assert "created gw" in text and "SUBSCRIBE command sent to test-l-request@remote.example.net (Mailman)" in text
    [command] = [m for m in local.outbound() if "test-l-request@remote.example.net" in m.recipients]
    assert command.sender == "owner-gw@example.org"
    assert carry(local, remote, "remote.example.net") == 1
    remote.run()
    with open(remote.path("lists", "00000001.ini")) as f:
        assert "gw@example.org" in f.read()
    # The remote robot's answer comes to the list's address: the owner reads it, it is not posted.
    clear(local)
    assert carry(remote, local, "example.org") >= 1
    local.run()
    assert [b for b in local.outbound() if b.sender == "owner-gw@example.org"] == []
    assert any("test-l" in m.get_content() for m in local.messages_to("boss@example.net"))
    clear(local)
    clear(remote)


def test_createclient_subscribes_the_list_from_its_own_address_and_the_remote_posts_reach_its_members(sites):
    local, remote = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw lucy@example.com HIDE\n"))
    local.run()
    clear(local)
    # A post to the remote list reaches the local list (one copy), and its members.
    remote.drop(mail(frm="rita@remote.example.net", to="test-l@remote.example.net", subject="Hello", body="Hi all\n"))
    remote.run()
    assert carry(remote, local, "example.org") == 1
    local.run()
    [copy] = local.messages_to("lucy@example.com")
    assert copy["Subject"] == "Hello" and "Hi all" in copy.get_content()
    assert "from the remote list test-l@remote.example.net (Proxy)" in local.log()


def test_mail_claiming_the_remote_list_without_its_sender_is_not_accepted_for_a_closed_client(sites):
    local, remote = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw lucy@example.com HIDE\nSET gw TYPE Closed\n"))
    local.run()
    clear(local)
    local.drop(b"Return-Path: <mallory@evil.example>\nDelivered-To: gw@example.org\n"
               + mail(frm="rita@remote.example.net", to="gw@example.org", subject="Buy", body="x\n").encode())
    local.run()
    assert local.messages_to("lucy@example.com") == []
    # ProxySenders names another address the remote list's server sends from.
    clear(local)
    local.drop(mail(frm="boss@example.net", subject="x", body="GRANT Poster TO relay@lists.example.com FOR gw\n"))
    local.run()
    clear(local)
    local.drop(b"Return-Path: <relay@lists.example.com>\nDelivered-To: gw@example.org\n"
               + mail(frm="rita@remote.example.net", to="gw@example.org", subject="Real", body="x\n").encode())
    local.run()
    assert [m["Subject"] for m in local.messages_to("lucy@example.com")] == ["Real"]


def test_a_remote_list_member_gets_local_posts_but_never_its_own_back(sites):
    local, remote = sites
    client(sites)
    text_body = "ADD gw [test-l@remote.example.net]\nADD gw lucy@example.com HIDE\nMEMBERS gw\n"
    local.drop(mail(frm="boss@example.net", subject="x", body=text_body))
    local.run()
    assert "\n  [test-l@remote.example.net]\n" in reply(local, "boss@example.net")
    # No welcome went to the remote list: it would have been a post there.
    assert local.messages_to("test-l@remote.example.net") == []
    clear(local)
    # A local post goes to the remote list too, whose members get it.
    local.drop(b"Return-Path: <lucy@example.com>\nDelivered-To: gw@example.org\n"
               + mail(frm="lucy@example.com", to="gw@example.org", subject="From here", body="local\n").encode())
    local.run()
    assert carry(local, remote, "remote.example.net") == 1
    remote.run()
    assert [m["Subject"] for m in remote.messages_to("rita@remote.example.net")] == ["From here"]
    # The remote list sends it back to its member gw@: it passed gw once (X-Loop), so it stops.
    clear(local)
    assert carry(remote, local, "example.org") == 1
    local.run()
    assert local.messages_to("lucy@example.com") == []
    # A post from the remote list reaches lucy, and is not sent back to the remote list.
    clear(remote)
    remote.drop(mail(frm="rita@remote.example.net", to="test-l@remote.example.net", subject="From there",
                     body="remote\n"))
    remote.run()
    assert carry(remote, local, "example.org") == 1
    local.run()
    assert [m["Subject"] for m in local.messages_to("lucy@example.com")] == ["From there"]
    assert local.messages_to("test-l@remote.example.net") == []
    assert "not sent to test-l@remote.example.net: the post came from its host" in local.log()


def test_proxy_reply_sets_the_reply_type_of_the_remote_lists_copy(sites):
    local, remote = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw [test-l@remote.example.net]\n"
                    "ADD gw lucy@example.com HIDE\nSET gw PROXY-REPLY ListPlus\n"))
    local.run()
    assert "ProxyReply" in reply(local, "boss@example.net") or "ListPlus" in reply(local, "boss@example.net")
    clear(local)
    local.drop(mail(frm="lucy@example.com", to="gw@example.org", subject="Mixed", body="x\n"))
    local.run()
    [theirs] = local.messages_to("test-l@remote.example.net")
    [hers] = local.messages_to("lucy@example.com")
    assert theirs["Reply-To"] == "gw@example.org, lucy@example.com"
    assert hers["Reply-To"] is None


def test_proxy_sends_a_command_line_and_refuses_a_list_that_is_no_client(sites):
    local, _ = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="PROXY gw unsubscribe\nCREATE plain A plain list\n"
                                                                "PROXY plain\n"))
    local.run()
    text = reply(local, "boss@example.net")
    assert "UNSUBSCRIBE command sent to test-l-request@remote.example.net" in text
    assert "plain is the client of no remote list" in text
    [command] = [m for m in local.messages_to("test-l-request@remote.example.net")]
    assert command["From"] == "gw@example.org" and command.get_content().strip() == "unsubscribe"
    assert command["Auto-Submitted"] is None


def test_an_admin_subject_from_the_remote_list_is_filtered_out(sites):
    local, remote = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw lucy@example.com HIDE\n"))
    local.run()
    clear(local)
    remote.drop(mail(frm="rita@remote.example.net", to="test-l@remote.example.net", subject="unsubscribe",
                     body="unsubscribe me\n"))
    remote.run()
    carry(remote, local, "example.org")
    local.run()
    assert local.messages_to("lucy@example.com") == []
    assert "filtered out" in local.log()


@pytest.mark.parametrize("address, system, robot, command", [
    ("test-l@listserv.example.edu", "LISTSERV", "listserv@listserv.example.edu", "SUBSCRIBE test-l Gateway"),
    ("users@majordomo.example.com", "Majordomo", "majordomo@majordomo.example.com",
     "subscribe users gw@example.org"),
    ("talk@listproc.example.edu", "Listproc", "listproc@listproc.example.edu", "SUBSCRIBE talk Gateway"),
    ("talk-request@lists.example.org", "Mailman", "talk-request@lists.example.org", "subscribe"),
    ("talk@example.net", "Mailman", "talk-request@example.net", "subscribe"),
    ("lis-x@mailbase.ac.uk", "Mailbase", "mailbase@mailbase.ac.uk", "join lis-x Gateway"),
])
def test_the_remote_systems_syntax_is_chosen_from_its_address(address, system, robot, command):
    r = proxy.remote(address, "gw")
    assert (r.system, r.robot) == (system, robot)
    assert proxy.default_command(r, "gw@example.org", "Gateway") == command


def test_with_trusted_authservids_the_remote_lists_sender_needs_the_mail_servers_word(sites):
    local, remote = sites
    client(sites)
    with open(local.path("tristero.ini"), "a") as f:
        f.write("\n[Security]\nTrustedAuthservIds = mx.example.org\n")
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw lucy@example.com HIDE\nSET gw TYPE Closed\n"))
    local.run()
    clear(local)
    for subject, results in (("Claimed", ""),
                             ("Vouched", "Authentication-Results: mx.example.org; "
                                         "spf=pass smtp.mailfrom=owner-test-l@remote.example.net\n")):
        remote.drop(mail(frm="rita@remote.example.net", to="test-l@remote.example.net", subject=subject, body="x\n"))
        remote.run()
        from tristero.model.spools import BsmtpFile
        for name in remote.listdir("spool", "out", "new"):
            with open(remote.path("spool", "out", "new", name), "rb") as f:
                b = BsmtpFile.parse(f.read())
            if "gw@example.org" in b.recipients:
                local.drop(("Return-Path: <%s>\nDelivered-To: gw@example.org\n%s" % (b.sender, results)).encode()
                           + b.data)
        clear(remote)
        local.run()
    assert [m["Subject"] for m in local.messages_to("lucy@example.com")] == ["Vouched"]
    assert "not taken as the remote list's mail: no trusted Authentication-Results field reports" in local.log()


def test_a_remote_address_no_envelope_takes_is_refused_before_anything_is_created(sites):
    local, _ = sites
    local.drop(mail(frm="boss@example.net", subject="x",
                    body="CREATECLIENT evil a,b(c)@remote.example.net\nCREATE gw2 test-l@remote.example.net\n"
                         "PROXY gw2 " + "x" * 500 + "\nSET gw2 PROXY a;b@remote.example.net\nPROXY gw2\n"))
    local.run()
    text = reply(local, "boss@example.net")
    assert "usage: CREATECLIENT list remote-address" in text
    with open(local.path("tristero.ini")) as f:
        assert "[LIST evil]" not in f.read()
    assert "created gw2" in text and "not sent: a command line of more than 400 characters" in text
    assert "not sent: a;b-request@remote.example.net is no address a command can be sent to" in text
    assert not [b for b in local.outbound() if "a;b-request@remote.example.net" in b.recipients]


def test_remove_takes_a_remote_list_in_brackets_and_sends_it_no_farewell(sites):
    local, _ = sites
    client(sites)
    local.drop(mail(frm="boss@example.net", subject="x", body="ADD gw [test-l@remote.example.net]\n"
                                                                "REMOVE gw [test-l@remote.example.net]\n"))
    local.run()
    assert "test-l@remote.example.net has left gw" in reply(local, "boss@example.net")
    assert local.messages_to("test-l@remote.example.net") == []
