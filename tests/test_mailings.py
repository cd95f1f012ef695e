"""Scheduled, personalised mailings (services/mailings.py) through the front door: a
weekly mailing stepped through six weeks with --now, runs skipped and one killed, sent
exactly six times; approval (two people); a merge field with no column found before
anything is sent; the command line (tristero.py mailing) and MAILING by mail."""

import datetime
import email
import os
import signal
from email import policy

import pytest

from conftest import mail
from tristero.model import cookies
from tristero.policy import rights

PW = "Dist4pass"
INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 50

[Security]
DIST_ALLOWED_USERS = maestro@example.net
"""
MAILING = """\
[Mailing]
From = Maestro <maestro@example.net>
Subject = Week news for {{NAME}}
Recipients = recipients.csv
Schedule = every 1 weeks from 2026-11-23T09:00 count 6
Approvers = %d
State = draft
"""


def make(site, name="weekly", rows=3, approvers=1, text="Hello {{NAME}}, your code is {{CODE}}.\n", ini=MAILING):
    home = site.path("mailings", name)
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "mailing.ini"), "w") as f:
        f.write(ini % approvers if "%d" in ini else ini)
    with open(os.path.join(home, "message.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(home, "recipients.csv"), "w") as f:
        f.write("EMAIL,NAME,CODE\n" + "".join("r%d@example.com,Reader %d,C%04d\n" % (i, i, i) for i in range(rows)))
    return home


@pytest.fixture
def msite(site):
    return mailing_site(site)


def mailing_site(site):
    """site set up for mailings: maestro@example.net a DIST_ALLOWED_USER with password PW."""
    site.write_ini(INI)
    with open(site.path("access.ini"), "w") as f:
        f.write('"maestro@example.net","","","","%s",""\n' % rights.hash_password(PW))
    return site


def copies_to(site, address):
    return [b for b in site.outbound() if b.recipients == [address]]


def when(week, hours=0):
    t = datetime.datetime(2026, 11, 23, 9, 0) + datetime.timedelta(weeks=week, hours=hours)
    return t.isoformat()


@pytest.mark.subprocess
def test_a_weekly_mailing_goes_out_exactly_six_times_with_runs_missed_and_one_killed(msite):
    home = make(msite)
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(-1))
    msite.run(now=when(-1))                       # before the first: nothing
    assert copies_to(msite, "r1@example.com") == []
    msite.run(now=when(0, 1))                     # week 0
    msite.run(now=when(0, 5))                     # the same week again: nothing more
    assert len(copies_to(msite, "r1@example.com")) == 1
    # Weeks 1 and 2 have no run; the run of week 2 (late) makes both.
    msite.run(now=when(2, 3))
    assert len(copies_to(msite, "r1@example.com")) == 3
    # Week 3: the run is killed in the middle of its commit, then runs again.
    p = msite.run(now=when(3), check=False, env={"TRISTERO_CRASH_AFTER": "2"})
    assert p.returncode == -signal.SIGKILL
    msite.run(now=when(3, 1))
    msite.run(now=when(4))
    msite.run(now=when(5))
    msite.run(now=when(9))                        # after the last: nothing
    got = copies_to(msite, "r1@example.com")
    assert len(got) == 6
    assert all(b"Subject: Week news for Reader 1" in b.data and b"your code is C0001." in b.data for b in got)
    with open(os.path.join(home, "deliveries.csv")) as f:
        assert [line.split(",")[0] for line in f.read().splitlines()] == ["delivery", "1", "2", "3", "4", "5", "6"]
    with open(os.path.join(home, "mailing.ini")) as f:
        assert "State = done" in f.read()


def test_nothing_goes_out_before_approval_and_two_approvers_are_two_people(msite):
    make(msite, approvers=2)
    msite.run(now=when(0, 1))
    assert copies_to(msite, "r0@example.com") == []
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(0, 1))
    again = msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(0, 1),
                           check=False)
    assert again.returncode != 0 and b"approved it already" in again.stderr
    msite.run(now=when(0, 2))
    assert copies_to(msite, "r0@example.com") == []
    msite.tristero("mailing", "approve", "weekly", "--by", "editor@example.org", "--now", when(0, 2))
    msite.run(now=when(0, 3))
    assert len(copies_to(msite, "r0@example.com")) == 1


def test_a_merge_field_without_its_column_is_found_before_anything_is_sent(msite):
    make(msite, text="Hello {{SURNAME}}\n")
    p = msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", check=False)
    assert p.returncode != 0 and b"{{SURNAME}}" in p.stderr
    assert copies_to(msite, "r0@example.com") == []


def test_pause_resume_cancel_and_show(msite):
    make(msite)
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(-1))
    msite.tristero("mailing", "pause", "weekly")
    msite.run(now=when(0, 1))
    assert copies_to(msite, "r0@example.com") == []
    msite.tristero("mailing", "resume", "weekly")
    msite.run(now=when(0, 2))
    assert len(copies_to(msite, "r0@example.com")) == 1
    msite.tristero("mailing", "cancel", "weekly")
    msite.run(now=when(1, 1))
    assert len(copies_to(msite, "r0@example.com")) == 1
    shown = msite.tristero("mailing", "show", "weekly").stdout.decode()
    assert "mailing weekly: cancelled" in shown and "deliveries made: 1" in shown


def test_a_merge_of_a_few_thousand_rows(msite):
    make(msite, rows=3000, ini=MAILING.replace("every 1 weeks from 2026-11-23T09:00 count 6", "now"))
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(0))
    msite.run(now=when(0))
    out = msite.outbound()
    assert len(out) == 3000
    last = [b for b in out if b.recipients == ["r2999@example.com"]][0]
    assert b"To: Reader 2999 <r2999@example.com>" in last.data and b"your code is C2999." in last.data
    # Each copy's return path names the delivery and its recipient (services/reports.py).
    assert all(b.sender.startswith("tristero-probe+%s=example.com+" % b.recipients[0].split("@")[0])
               and b.sender.endswith("@example.org") for b in out)


def test_mailing_by_mail_test_and_approve(msite):
    make(msite)
    msite.drop(mail(frm="maestro@example.net", body="MAILING TEST weekly r2@example.com PW=%s\n"
                                                    "MAILING APPROVE weekly PW=%s\n" % (PW, PW)))
    msite.drop(mail(frm="stranger@example.net", body="MAILING APPROVE weekly\n"))
    msite.run(now=when(-1))
    test_copy = copies_to(msite, "r2@example.com")
    assert len(test_copy) == 1 and b"Reader 2" in test_copy[0].data
    replies = [m.get_content() for m in msite.messages_to("maestro@example.net")]
    assert "OK: mailing weekly approved by maestro@example.net" in replies[0]
    # The echo shows the mailing's name (no password), the password starred.
    assert "> approve ******** MAILING APPROVE weekly\n" in replies[0] and PW not in replies[0], replies[0]
    assert "> MAILING APPROVE weekly\n" in [m.get_content() for m in msite.messages_to("stranger@example.net")][0]
    assert "REFUSED" in [m.get_content() for m in msite.messages_to("stranger@example.net")][0]
    msite.run(now=when(0, 1))
    assert len(copies_to(msite, "r2@example.com")) == 2


LIST_MAILING = """\
[Mailing]
From = Maestro <maestro@example.net>
Subject = News for %%N of %%L
Recipients = list:news
Schedule = now
State = draft
"""


def list_mailing(msite, text, html=None):
    """A mailing (list_news) to list news: ann (whose name is hostile) and bob (no name)."""
    msite.write_ini(INI + "\n[LIST news]\nOwner = maestro@example.net\nMemberFile = 00000001\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com = NAME Ann <b>Lee</b> %%K {{EMAIL}}\nbob@example.net =\n")
    home = make(msite, name="list_news", text=text, ini=LIST_MAILING)
    if html is not None:
        with open(os.path.join(home, "message.html"), "w") as f:
            f.write(html)
    return home


def site_key(site):
    with open(site.path("tristero.key"), "rb") as f:
        return f.read()


def test_a_mailing_to_a_list_fills_the_manuals_place_holders_for_each_member(msite):
    list_mailing(msite, "Dear %%N ({{NAME}}) at %%A, list %%L, %%%.\nLeave: %%K\n",
                 html="<p>Dear %%N, {{NAME}}</p>\n")
    msite.tristero("mailing", "approve", "list_news", "--by", "boss@example.org", "--now", when(0, 1))
    msite.run(now=when(0, 2))
    [ann] = copies_to(msite, "ann@example.com")
    msg = email.message_from_bytes(ann.data, policy=policy.default)
    name = "Ann <b>Lee</b> %%K {{EMAIL}}"
    # Each value put in once: the name's own %%K and {{EMAIL}} stay as written.
    assert msg["Subject"] == "News for %s of news" % name
    plain = msg.get_body(("plain",)).get_content()
    assert plain.startswith("Dear %s (%s) at ann@example.com, list news, %%%%.\n" % (name, name))
    code = plain.split("Leave: ")[1].strip()
    day = datetime.date(2026, 11, 23)
    assert cookies.valid(site_key(msite), code, "SUB", "news", "ann@example.com", day)
    html = msg.get_body(("html",)).get_content()
    assert "<p>Dear Ann &lt;b&gt;Lee&lt;/b&gt; %%K {{EMAIL}}, Ann &lt;b&gt;Lee&lt;/b&gt; %%K {{EMAIL}}</p>" in html
    [bob] = copies_to(msite, "bob@example.net")
    assert b"Dear bob@example.net () at bob@example.net, list news" in bob.data


def test_a_list_mailing_passes_over_nomail_members_and_the_sites_own_addresses(msite):
    list_mailing(msite, "Dear %%N\n")
    with open(msite.path("lists", "00000001.ini"), "a") as f:
        f.write("quiet@example.com = NOMAIL\nnews@example.org =\ntristero@example.org =\npat@example.org =\n")
    msite.tristero("mailing", "approve", "list_news", "--by", "boss@example.org", "--now", when(0, 1))
    msite.run(now=when(0, 2))
    # pat's mailbox is on the site's domain, but no address of Tristero's: pat gets one.
    assert sorted(r for b in msite.outbound() for r in b.recipients) == ["ann@example.com", "bob@example.net",
                                                                           "pat@example.org"]


def test_a_lists_owner_sends_test_copies_only_to_themselves_or_to_members(msite):
    list_mailing(msite, "Dear %%N\n")
    # The owner of news (not a DIST_ALLOWED_USER, no password) manages its mailing.
    with open(msite.path("tristero.ini"), "a") as f:
        f.write("\n[LIST news]\nOwner = owner@example.com\nMemberFile = 00000001\n")
    with open(msite.path("tristero.ini")) as f:
        text = f.read().replace("[LIST news]\nOwner = maestro@example.net\nMemberFile = 00000001\n", "", 1)
    msite.write_ini(text)
    msite.drop(mail(frm="owner@example.com", body="MAILING TEST list_news victim@example.net\n"
                                                  "MAILING TEST list_news bob@example.net\n"
                                                  "MAILING TEST list_news owner@example.com\n"))
    msite.run(now=when(0, 1))
    said = "\n".join(m.get_content() for m in msite.messages_to("owner@example.com")
                     if m["Subject"] and m["Subject"].startswith("Re:"))
    assert "the owner of news sends a test copy to their own address or to a member of news" in said
    assert copies_to(msite, "victim@example.net") == []
    assert len(copies_to(msite, "bob@example.net")) == 1
    assert len([b for b in msite.outbound() if b.recipients == ["owner@example.com"]
                and b"Dear Ann" in b.data]) == 1


def test_a_test_copy_of_a_list_mailing_carries_the_testers_cookie_not_the_members(msite):
    list_mailing(msite, "Dear %%N, leave: %%K\n")
    msite.tristero("mailing", "test", "list_news", "ann@example.com", "--by", "boss@example.org",
                   "--now", when(0, 1))
    msite.tristero("mailing", "test", "list_news", "desk@example.org", "--by", "boss@example.org",
                   "--now", when(0, 1))
    [copy] = copies_to(msite, "desk@example.org")
    body = email.message_from_bytes(copy.data, policy=policy.default).get_content()
    assert body.startswith("Dear Ann <b>Lee</b>")          # the first row's values ...
    code = body.split("leave: ")[1].strip()
    day = datetime.date(2026, 11, 23)
    # ... but the cookie is the tester's own: it does nothing for ann.
    assert cookies.valid(site_key(msite), code, "SUB", "news", "desk@example.org", day)
    assert not cookies.valid(site_key(msite), code, "SUB", "news", "ann@example.com", day)


def test_a_mailing_to_a_list_goes_to_its_members_with_their_names(msite):
    msite.write_ini(INI + "\n[LIST news]\nOwner = maestro@example.net\nMemberFile = 00000001\n")
    os.makedirs(msite.path("lists"), exist_ok=True)
    with open(msite.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com = NAME Ann Lee\nbob@example.net =\n")
    make(msite, text="Hello {{NAME}}.\n", ini=MAILING.replace("recipients.csv", "list:news")
         .replace("every 1 weeks from 2026-11-23T09:00 count 6", "now"))
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(0, 1))
    msite.run(now=when(0, 2))
    [ann] = copies_to(msite, "ann@example.com")
    assert b"Hello Ann Lee." in ann.data
    assert len(copies_to(msite, "bob@example.net")) == 1


def test_a_csv_mailing_sends_an_address_once_and_refuses_an_address_of_the_site(msite):
    home = make(msite, rows=2, ini=MAILING.replace("every 1 weeks from 2026-11-23T09:00 count 6", "now"))
    with open(os.path.join(home, "recipients.csv"), "a") as f:
        f.write("R1@Example.com,Again,C9\n")
    msite.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", when(0))
    msite.run(now=when(0, 1))
    [copy] = copies_to(msite, "r1@example.com")
    assert b"Reader 1" in copy.data and copies_to(msite, "R1@Example.com") == []
    other = make(msite, name="other", rows=1, ini=MAILING.replace("every 1 weeks from 2026-11-23T09:00 count 6",
                                                                   "now"))
    with open(os.path.join(other, "recipients.csv"), "a") as f:
        f.write("tristero@example.org,Robot,C0\n")
    p = msite.tristero("mailing", "approve", "other", "--by", "boss@example.org", "--now", when(0), check=False)
    assert p.returncode == 65 and b"tristero@example.org is an address of this site" in p.stderr


def test_a_mailing_set_approved_by_hand_without_approvedat_goes_out(msite):
    make(msite, rows=1, ini=MAILING.replace("every 1 weeks from 2026-11-23T09:00 count 6", "now")
         .replace("State = draft", "State = approved"))
    msite.run(now=when(0))
    assert len(copies_to(msite, "r0@example.com")) == 1
    with open(msite.path("mailings", "weekly", "mailing.ini")) as f:
        assert "State = done" in f.read()
