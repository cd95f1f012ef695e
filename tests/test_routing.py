"""Which address reaches what (README "Mail addresses", CONTRACT §3), through real runs."""

import os

import pytest

from conftest import BASE_INI as GLOBALS
from conftest import NEWS_LIST as NEWS
from conftest import mail

SPORTS = """\
[LIST sports]
Owner = coach@example.org
MemberFile = 00000002
"""


def build(site, lists=NEWS, members=None, extra=""):
    """Write tristero.ini (GLOBALS + extra, then the list sections) and the member files."""
    site.write_ini(GLOBALS + extra + "\n" + lists)
    os.makedirs(site.path("lists"), exist_ok=True)
    if members is None:
        members = {"00000001": ["carol@example.com", "dave@example.net"]}
    for number, lines in members.items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join((l if "=" in l else l + " =") + "\n" for l in lines))


def member_file(site, number="00000001"):
    with open(site.path("lists", number + ".ini")) as f:
        return f.read()


def posts(site, listname="news"):
    """The outbound files that carry a post of listname."""
    return [b for b in site.outbound() if b.sender == "owner-%s@example.org" % listname]


def robot_replies(site, address):
    return [m for m in site.messages_to(address) if m["Subject"].startswith("Re:")
            and "Results of your commands" in m.get_content()]


def forwards(site, to):
    """Outbound files that pass a message on whole to `to` (null sender, one recipient)."""
    return [b for b in site.outbound() if b.recipients == [to] and b.sender == ""]


def out_names(site):
    return set(site.listdir("spool", "out", "new"))


# --- the robot and the people ---------------------------------------------------

def test_every_robot_name_reaches_the_robot_in_any_case(site):
    build(site)
    names = ["TriStero", "LISTPROC", "ListServ", "majordomo"]
    for i, name in enumerate(names):
        site.drop(mail(frm="u%d@example.net" % i, to="%s@example.org" % name, body="lists\n"))
    site.run()
    for i in range(len(names)):
        assert len(robot_replies(site, "u%d@example.net" % i)) == 1, names[i]
    assert not posts(site)


@pytest.mark.parametrize("local", ["postmaster", "Administrator"])
def test_postmaster_and_administrator_are_forwarded_whole_to_the_superuser(site, local):
    build(site)
    original = mail(to="%s@example.org" % local, subject="help me", body="a person, please\n")
    site.drop(original)
    site.run()
    [fwd] = forwards(site, "boss@example.org")
    assert fwd.data.endswith(original.encode())
    assert len(site.outbound()) == 1          # no robot answer besides


def test_postmaster_reaches_the_superuser_even_when_listprocname_names_it(site):
    build(site, extra="ListProcName = Tristero, Listproc, Postmaster, ListServ, Administrator, MajorDomo\n")
    original = mail(to="postmaster@example.org", subject="help me", body="lists\n")
    site.drop(original)
    site.run()
    [fwd] = forwards(site, "boss@example.org")
    assert fwd.data.endswith(original.encode())
    assert not robot_replies(site, "alice@example.net")


# --- lists and their suffixes ----------------------------------------------------

def test_list_address_is_a_post(site):
    build(site)
    site.drop(mail(to="news@example.org", subject="hello all", body="Hi\n"))
    site.run()
    [post] = posts(site)
    assert sorted(post.recipients) == ["carol@example.com", "dave@example.net"]


def test_list_request_subscribe_alone_subscribes_to_that_list(site):
    build(site)
    site.drop(mail(to="news-request@example.org", subject="", body="subscribe\n"))
    site.run()
    assert "alice@example.net =" in member_file(site)
    [reply] = robot_replies(site, "alice@example.net")
    assert "OK: alice@example.net is now a member of news" in reply.get_content()


def test_list_request_subscribe_with_a_name_subscribes_under_that_name(site):
    build(site)
    site.drop(mail(to="news-request@example.org", subject="", body="subscribe Joe Bloggs\n"))
    site.run()
    assert "alice@example.net = NAME Joe Bloggs" in member_file(site)


def test_dash_l_list_answers_at_both_request_addresses(site):
    build(site, lists="[LIST foo-l]\nOwner = editor@example.org\nMemberFile = 00000003\n",
          members={"00000003": []})
    site.drop(mail(frm="one@example.net", to="foo-l-request@example.org", body="subscribe\n"))
    site.drop(mail(frm="two@example.net", to="foo-request@example.org", body="subscribe\n"))
    site.run()
    members = member_file(site, "00000003")
    assert "one@example.net =" in members
    assert "two@example.net =" in members


@pytest.mark.parametrize("local", ["news-owner", "owner-news"])
def test_owner_addresses_forward_to_the_lists_owner(site, local):
    build(site)
    original = mail(to="%s@example.org" % local, subject="question", body="Who runs this?\n")
    site.drop(original)
    site.run()
    [fwd] = forwards(site, "editor@example.org")
    assert fwd.data.endswith(original.encode())
    assert not posts(site)


def test_delivery_report_to_owner_list_is_a_bounce_not_forwarded(site):
    build(site)
    site.drop(mail(frm="MAILER-DAEMON@mx.example.net", to="owner-news@example.org",
                   subject="Undelivered Mail Returned to Sender", body="550 no such user\n",
                   headers="Return-Path: <>\n"))
    site.run()
    assert site.outbound() == []
    # Read as a bounce, and not believed: it quotes no Message-ID the list sent.
    assert "not read as a bounce: it quotes no Message-ID of mail news sent" in site.log()


def test_list_approval_forwards_to_the_owner(site):
    build(site)
    original = mail(to="news-approval@example.org", subject="please approve", body="text\n")
    site.drop(original)
    site.run()
    [fwd] = forwards(site, "editor@example.org")
    assert fwd.data.endswith(original.encode())


def test_a_list_named_with_a_suffix_gets_posts_at_its_own_address(site):
    lists = NEWS.replace("news", "x") + "\n[LIST x-owner]\nOwner = other@example.org\nMemberFile = 00000002\n"
    build(site, lists=lists, members={"00000001": ["carol@example.com"], "00000002": ["erin@example.com"]})
    site.drop(mail(to="x-owner@example.org", subject="for the list", body="Hi\n"))
    site.run()
    [post] = posts(site, "x-owner")
    assert post.recipients == ["erin@example.com"]
    assert not forwards(site, "editor@example.org")


# --- unknown addresses -----------------------------------------------------------

def test_unknown_address_gets_a_clear_reply(site):
    build(site)
    site.drop(mail(to="nobody@example.org", subject="hello?", body="Anyone there?\n"))
    site.run()
    [reply] = site.messages_to("alice@example.net")
    text = reply.get_content()
    assert "There is no list or mailbox nobody@example.org" in text
    assert "LISTS" in text
    assert reply["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize("frm, headers", [
    ("alice@example.net", "Auto-Submitted: auto-replied\n"),
    ("alice@example.net", "Precedence: bulk\n"),
    ("alice@example.net", "Return-Path: <>\n"),
    ("MAILER-DAEMON@mx.example.net", ""),
], ids=["auto-submitted", "precedence-bulk", "null-return-path", "mailer-daemon"])
def test_unknown_address_never_answers_automatic_mail(site, frm, headers):
    build(site)
    site.drop(mail(frm=frm, to="nobody@example.org", body="automatic\n", headers=headers))
    site.run()
    assert site.outbound() == []
    assert "no reply to automatic mail" in site.log()


# --- which address the message was sent to (CONTRACT §3) -----------------------

@pytest.mark.parametrize("field", ["X-Original-To", "Delivered-To", "Envelope-To"])
def test_envelope_field_decides_the_destination_over_to(site, field):
    build(site)
    site.drop(mail(to="news@example.org", body="lists\n",
                   headers="%s: tristero@example.org\n" % field))
    site.run()
    assert len(robot_replies(site, "alice@example.net")) == 1
    assert not posts(site)


def test_x_original_to_comes_before_delivered_to(site):
    build(site)
    site.drop(mail(to="news@example.org", body="lists\n",
                   headers="Delivered-To: news@example.org\nX-Original-To: tristero@example.org\n"))
    site.run()
    assert len(robot_replies(site, "alice@example.net")) == 1
    assert not posts(site)


def test_topmost_delivered_to_decides(site):
    build(site)
    site.drop(mail(to="news@example.org", body="lists\n",
                   headers="Delivered-To: tristero@example.org\nDelivered-To: news@example.org\n"))
    site.run()
    assert len(robot_replies(site, "alice@example.net")) == 1
    assert not posts(site)


def test_message_to_two_lists_goes_to_both(site):
    build(site, lists=NEWS + "\n" + SPORTS,
          members={"00000001": ["carol@example.com"], "00000002": ["erin@example.com"]})
    site.drop(mail(to="news@example.org, sports@example.org", subject="both", body="Hi\n"))
    site.run()
    assert [p.recipients for p in posts(site, "news")] == [["carol@example.com"]]
    assert [p.recipients for p in posts(site, "sports")] == [["erin@example.com"]]


def test_address_of_another_domain_in_to_is_ignored(site):
    build(site)
    site.drop(mail(to="news@example.org, nobody@example.net", subject="hi", body="Hi\n"))
    site.run()
    assert len(posts(site)) == 1
    assert len(site.outbound()) == 1
    assert "example.net is not an address" not in site.log()
    assert site.listdir("spool", "failed", "new") == []


def test_message_whose_envelope_address_is_of_another_domain_goes_to_failed(site):
    build(site)
    name = site.drop(mail(to="news@example.org", body="misrouted\n",
                          headers="X-Original-To: news@other.example\n"))
    site.run()
    assert site.listdir("spool", "failed", "new") == [name]


def test_one_list_at_two_domains_of_the_site_is_posted_once(site):
    build(site, extra="Domains = lists.example.org\n")
    site.drop(mail(to="news@example.org, news@lists.example.org", subject="hi", body="Hi\n"))
    site.run()
    assert len(posts(site)) == 1


def test_message_with_no_address_of_the_site_goes_to_failed(site):
    build(site)
    name = site.drop(mail(to="someone@example.net", body="lost\n"))
    site.run()
    assert site.listdir("spool", "failed", "new") == [name]
    assert site.listdir("spool", "in", "new") == []
    assert [b.recipients for b in site.outbound()] == [["boss@example.org"]]   # the failure notice


def test_domain_match_ignores_case(site):
    build(site)
    site.drop(mail(to="News@EXAMPLE.Org", subject="hi", body="Hi\n"))
    site.run()
    assert len(posts(site)) == 1


def test_extra_domains_belong_to_the_site(site):
    build(site, extra="Domains = lists.example.com, other.example.org\n")
    site.drop(mail(to="news@Lists.Example.com", subject="hi", body="Hi\n"))
    site.drop(mail(frm="u1@example.net", to="tristero@other.example.org", body="lists\n"))
    site.run()
    assert len(posts(site)) == 1
    assert len(robot_replies(site, "u1@example.net")) == 1


# --- loops -----------------------------------------------------------------------

def test_robot_mail_coming_back_to_the_robot_goes_to_the_superuser_once(site):
    build(site)
    site.drop(mail(frm="bounce@example.net", to="tristero@example.org", subject="Re: your commands",
                   body="lists\n", headers="X-Loop: tristero@example.org\n"))
    site.run()
    [fwd] = forwards(site, "boss@example.org")
    assert not robot_replies(site, "bounce@example.net")
    # The forwarded copy, should it come back to the robot, is not passed on again.
    seen = out_names(site)
    site.drop(b"X-Original-To: tristero@example.org\n" + fwd.data)
    site.run()
    assert out_names(site) == seen
    assert "dropped: already passed tristero@example.org (X-Loop)" in site.log()


def test_post_carrying_the_lists_own_x_loop_is_dropped_and_logged(site):
    build(site)
    site.drop(mail(to="news@example.org", subject="again", body="Hi\n",
                   headers="X-Loop: news@example.org\n"))
    site.run()
    assert site.outbound() == []
    assert "dropped: already passed news@example.org (X-Loop)" in site.log()


def test_mail_forwarded_to_a_superuser_at_postmaster_does_not_loop(site):
    build(site)
    site.write_ini(GLOBALS.replace("boss@example.org", "postmaster@example.org") + "\n" + NEWS)
    site.drop(mail(to="postmaster@example.org", subject="help", body="please\n"))
    site.run()
    [fwd] = forwards(site, "postmaster@example.org")
    # The mail server delivers the forwarded copy back into the spool.
    seen = out_names(site)
    site.drop(b"X-Original-To: postmaster@example.org\n" + fwd.data)
    site.run()
    assert out_names(site) == seen
