"""The outsider's attack on issue 16's last parts: DISTRIBUTE POST, MAILING CREATE (by
mail and on the command line) and the %% place-holders of list mailings. Each test is
the attack itself."""

import email
import os
from email import policy

import pytest

from conftest import mail
from test_distribute import DATA, PW, distribution_site, job, replies
from test_mailing_create import BODY, reply, with_csv
from test_mailings import INI as MAILING_INI
from test_mailings import copies_to, mailing_site, when
from test_moderation import INI, build, held_files, posts


@pytest.fixture
def psite(site):
    distribution_site(site)
    build(site)     # news: Moderated, members carol and alice, moderators mod1 and mod2
    return site


@pytest.fixture
def msite(site):
    return mailing_site(site)


BOSS_DATA = DATA.replace("From: Maestro <maestro@example.net>", "From: The Boss <boss@example.org>")


def email_job(frm, command, data=DATA, n=1, to=None):
    m = email.message.EmailMessage(policy=policy.default)
    m["From"], m["To"], m["Subject"] = frm, "tristero@example.org", "job"
    m["Message-ID"], m["Date"] = "<job-%d-%s>" % (n, frm), "Sat, 21 Nov 2026 09:00:00 +0000"
    m.set_content(job(command, data=data) if to is None else job(command, to=to, data=data))
    return m.as_string()


# --- MAILING CREATE ---------------------------------------------------------------------

def test_a_dist_user_may_not_create_a_mailing_from_someone_else(msite):
    # DISTRIBUTE refuses a data set whose From is not its sender's (but a PostMaster's);
    # MAILING CREATE would send the same copies, signed by the site, from anyone.
    forged = BODY.format(pw=PW).replace("From = Maestro <maestro@example.net>",
                                        "From = The Bank <security@bank.example>")
    msite.drop(with_csv(forged))
    msite.run(now=when(-1))
    assert "security@bank.example" in reply(msite) and "REFUSED" in reply(msite)
    assert not os.path.exists(msite.path("mailings", "spring"))


def test_a_list_owner_may_not_create_a_mailing_to_the_list_from_the_superuser(msite):
    msite.write_ini(MAILING_INI + "\n[LIST news]\nOwner = owner@example.net\nMemberFile = 00000001\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com =\n")
    body = ("MAILING CREATE urgent\nSubject = Password reset\nFrom = Site Admin <boss@example.org>\n"
            "Recipients = list:news\n\nSend me your password.\nEOF\n")
    msite.drop(mail(frm="owner@example.net", body=body))
    msite.run(now=when(-1))
    assert "boss@example.org" in reply(msite, "owner@example.net")
    assert not os.path.exists(msite.path("mailings", "urgent"))
    # Their own From is theirs to use.
    msite.drop(mail(frm="owner@example.net", body=body.replace("Site Admin <boss@example.org>",
                                                               "Owner <owner@example.net>")))
    msite.run(now=when(-1, 1))
    assert os.path.exists(msite.path("mailings", "urgent", "mailing.ini"))


def test_a_dist_user_may_not_mail_the_members_of_a_moderated_list_past_its_moderators(msite):
    # DISTRIBUTE POST keeps a DIST user's post to the list's rules (a Moderated list holds
    # it); a mailing with Recipients = list:NAME would reach every member unmoderated.
    msite.write_ini(MAILING_INI + "\n[LIST news]\nType = Moderated\nOwner = owner@example.net\n"
                    "MemberFile = 00000001\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com = NAME Ann Lee\n")
    body = ("MAILING CREATE around PW=%s\nSubject = Hi\nFrom = maestro@example.net\nRecipients = list:news\n\n"
            "Dear {{NAME}} <{{EMAIL}}>.\nEOF\n" % PW)
    msite.drop(mail(frm="maestro@example.net", body=body))
    msite.run(now=when(-1))
    said = reply(msite)
    assert "REFUSED" in said and "news" in said and "1 recipient(s)" not in said
    assert not os.path.exists(msite.path("mailings", "around"))
    # Nor act on one the administrator made (a TEST would show its first member).
    os.makedirs(msite.path("mailings", "around"))
    with open(msite.path("mailings", "around", "mailing.ini"), "w") as f:
        f.write("[Mailing]\nFrom = boss@example.org\nSubject = Hi\nRecipients = list:news\nState = draft\n")
    with open(msite.path("mailings", "around", "message.txt"), "w") as f:
        f.write("Dear {{NAME}} <{{EMAIL}}>.\n")
    msite.drop(mail(frm="maestro@example.net", body="MAILING TEST around maestro@example.net PW=%s\n" % PW))
    msite.run(now=when(-1, 1))
    assert "ann@example.com" not in "".join(b.data.decode() for b in msite.outbound())


# --- DISTRIBUTE ---------------------------------------------------------------------------

def test_a_dist_user_may_not_add_someone_else_to_the_from_of_a_post_or_a_mail(psite):
    # Only the first address of From was checked: the members would read a post of the
    # SuperUser (or a bank) that the site posted and signed.
    data = DATA.replace("From: Maestro <maestro@example.net>",
                        "From: Maestro <maestro@example.net>, The Boss <boss@example.org>")
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE POST TO news PW=" + PW, data=data))
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE MAIL TO x@example.com PW=" + PW, data=data, n=2))
    psite.run()
    said = "\n".join(replies(psite, "maestro@example.net"))
    assert said.count("boss@example.org") == 2 and "OK: POST" not in said
    assert held_files(psite) == [] and posts(psite) == []
    assert [b for b in psite.outbound() if "x@example.com" in b.recipients] == []


def test_the_same_post_repeated_in_one_job_reaches_the_members_once(psite):
    # Thirty commands (up to MaxCommands) would make thirty posts to every member.
    commands = "\n".join(["DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW] * 30)
    psite.drop(email_job("boss@example.org", commands, data=BOSS_DATA.replace("Message-ID: <news-1@example.net>\n",
                                                                              "")))
    psite.run()
    assert len(posts(psite)) == 1
    said = replies(psite, "boss@example.org")[0]
    assert said.count("handed to 1 list(s): news") == 1
    assert said.count("news: this message posts the same data set there already") == 29


# --- list mailings ------------------------------------------------------------------------

def test_a_mailing_to_a_list_spares_its_nomail_members_and_posts_nothing_to_a_sub_list(msite):
    # A member who set NOMAIL asked for no mail from the list; a sub-list member's copy
    # would come back in as a post to that list.
    msite.write_ini(MAILING_INI + "\n[LIST news]\nOwner = owner@example.net\nMemberFile = 00000001\n"
                    "\n[LIST local]\nOwner = other@example.net\nMemberFile = 00000002\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com = NAME Ann Lee\naway@example.com = NOMAIL\n"
                "dig@example.com = DIGEST\nlocal@example.org =\n")
    with open(msite.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nzed@example.com =\n")
    body = ("MAILING CREATE spring\nSubject = Hi\nFrom = owner@example.net\nRecipients = list:news\n\n"
            "Dear %%N.\nEOF\n")
    msite.drop(mail(frm="owner@example.net", body=body))
    msite.run(now=when(-1))
    assert "created as a draft (2 recipient(s) now)" in reply(msite, "owner@example.net")
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1, 1))
    msite.run(now=when(-1, 2))
    assert len(copies_to(msite, "ann@example.com")) == 1 and len(copies_to(msite, "dig@example.com")) == 1
    assert copies_to(msite, "away@example.com") == [] and copies_to(msite, "local@example.org") == []


def test_a_postmasters_post_as_someone_else_needs_pre_approval_so_they_get_no_notice_of_it(psite):
    # Without PRE-APPROVED=YES the post is its author's: victim was told "held for the
    # moderators" of a post they never sent, and the moderators saw it as theirs, while
    # the PostMaster heard only "handed".
    data = DATA.replace("From: Maestro <maestro@example.net>", "From: Victim <victim@example.com>")
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news PW=" + PW, data=data))
    psite.run()
    assert psite.messages_to("victim@example.com") == [] and held_files(psite) == []
    said = replies(psite, "boss@example.org")[0]
    assert "victim@example.com" in said and "PRE-APPROVED=YES" in said and "OK: POST" not in said


def test_a_dist_user_may_not_send_a_mail_on_behalf_of_someone_else(psite):
    # Sender: and Resent-From: are shown by mail readers ("The Boss on behalf of ...").
    for n, field in enumerate(("Sender: The Boss <boss@example.org>", "Resent-From: boss@example.org")):
        data = DATA.replace("Subject: Our news\n", "Subject: Our news\n%s\n" % field)
        psite.drop(email_job("maestro@example.net", "DISTRIBUTE MAIL TO x@example.com PW=" + PW, data=data,
                             to="x@example.com\n", n=n))
    psite.run()
    said = "\n".join(replies(psite, "maestro@example.net"))
    assert said.count("(boss@example.org) is not your address") == 2
    assert [b for b in psite.outbound() if "x@example.com" in b.recipients] == []


def test_a_members_name_beyond_ascii_or_with_a_line_separator_makes_a_good_to_field(msite):
    # formataddr's encoded word, folded again, came out as "To: = ?utf-8?q?J=C3=B6rg...":
    # a To no mail reader decodes, for every recipient whose name is not ASCII.
    msite.write_ini(MAILING_INI + "\n[LIST news]\nOwner = owner@example.net\nMemberFile = 00000001\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com = NAME Jörg Müller\n"
                "bob@example.com = NAME B\u2028Reply-To: x@evil.example\n")
    body = ("MAILING CREATE spring\nSubject = Hi\nFrom = owner@example.net\nRecipients = list:news\n\n"
            "Dear %%N.\nEOF\n")
    msite.drop(mail(frm="owner@example.net", body=body))
    msite.run(now=when(-1))
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1, 1))
    msite.run(now=when(-1, 2))
    [ann] = copies_to(msite, "ann@example.com")
    to = email.message_from_bytes(ann.data, policy=policy.default)["To"]
    assert (to.addresses[0].display_name, to.addresses[0].addr_spec) == ("Jörg Müller", "ann@example.com")
    [bob] = copies_to(msite, "bob@example.com")
    msg = email.message_from_bytes(bob.data, policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "bob@example.com" and msg["Reply-To"] is None


def test_a_distribute_recipients_name_beyond_ascii_makes_a_good_to_field(psite):
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE MAIL TO DD=TO PW=" + PW, to="x@example.com Jörg Müller\n"))
    psite.run()
    [copy] = [b for b in psite.outbound() if b.recipients == ["x@example.com"]]
    to = email.message_from_bytes(copy.data, policy=policy.default)["To"]
    assert (to.addresses[0].display_name, to.addresses[0].addr_spec) == ("Jörg Müller", "x@example.com")


def test_a_mailing_scheduled_hourly_from_years_ago_is_not_approved_by_mail(msite):
    # Each run would send 24 deliveries to every recipient (the "runs missed"), run
    # after run, until the schedule caught up with the years since its start.
    body = BODY.format(pw=PW).replace("Reply-To = desk@example.net",
                                      "Schedule = every 1 hours from 2020-01-01T00:00")
    msite.drop(with_csv(body))
    msite.run(now=when(-1))
    msite.drop(mail(frm="maestro@example.net", body="MAILING APPROVE spring PW=%s\n" % PW))
    msite.run(now=when(-1, 1))
    said = reply(msite)
    assert "ERROR: mailing spring: its schedule has 24 or more deliveries due already" in said
    msite.run(now=when(-1, 2))
    assert copies_to(msite, "r1@example.com") == []
    # Paused for weeks, an hourly mailing is not resumed into a flood either.
    msite.drop(mail(frm="maestro@example.net",
                    body="MAILING SCHEDULE spring every 1 hours from %s PW=%s\nMAILING APPROVE spring PW=%s\n"
                    "MAILING PAUSE spring PW=%s\n" % (when(-1, 3), PW, PW, PW)))
    msite.run(now=when(-1, 3))
    msite.drop(mail(frm="maestro@example.net", body="MAILING RESUME spring PW=%s\n" % PW))
    msite.run(now=when(2))
    assert "ERROR: mailing spring: its schedule has 24 or more deliveries due already" in reply(msite)
    assert copies_to(msite, "r1@example.com") == []


def test_a_pre_approved_post_as_another_too_big_for_the_list_is_told_to_the_postmaster_not_to_them(site):
    # The size refusal went to the data's From, who never sent it; the PostMaster heard "handed".
    distribution_site(site)
    build(site, ini=INI.replace("Archive = N\n", "Archive = N\nMaxMessageSize = 300\n", 1))
    data = DATA.replace("From: Maestro <maestro@example.net>", "From: Victim <victim@example.com>")
    site.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW,
                        data=data.replace("Hello, this is the news.", "x" * 400)))
    site.run()
    assert posts(site) == [] and site.messages_to("victim@example.com") == []
    said = replies(site, "boss@example.org")[0]
    assert "ERROR: news: the message is" in said and "more than the 300 this list takes" in said
