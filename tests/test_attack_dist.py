"""An outsider's attack on DISTRIBUTE jobs: each hole found, written as the attack."""

import os

import pytest

from conftest import mail
from test_distribute import DATA, PW, distribution_site, envelopes, job, replies
from test_mailings import INI, MAILING, copies_to, make
from tristero.policy import rights


@pytest.fixture
def dsite(site):
    return distribution_site(site)


def test_an_rfc822_jobs_bcc_is_not_shown_to_the_to_and_cc(dsite):
    data = DATA.replace("To:\n", "To: a@example.com\nBcc: secret@example.com\n")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE RFC822 PW=" + PW, data=data)))
    dsite.run()
    out = [e for e in envelopes(dsite) if "a@example.com" in e[1]]
    assert len(out) == 1
    assert b"secret@example.com" not in out[0][2]


def test_a_mail_jobs_bcc_is_not_shown_to_its_recipients(dsite):
    data = DATA.replace("To:\n", "To:\nBcc: secret@example.com\n")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL PW=" + PW, data=data)))
    dsite.run()
    out = [e for e in envelopes(dsite) if e[1] != ["maestro@example.net"]]
    assert out and not [e for e in out if b"secret@example.com" in e[2]]


def test_a_recipient_named_a_hundred_times_gets_one_copy(dsite):
    to = "victim@example.com\n" * 100 + "Victim@Example.com PROBE\n" * 100
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL PW=" + PW, to=to)))
    dsite.run()
    out = [e for e in envelopes(dsite) if e[1] != ["maestro@example.net"]]
    assert len(out) == 1


def test_a_schedule_running_past_the_calendars_end_sends_what_it_can_and_ends(site):
    site.write_ini(INI)
    home = make(site, ini=MAILING.replace("2026-11-23T09:00 count 6", "9999-12-20T09:00") % 1)
    site.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", "9999-12-19T09:00")
    site.run(now="9999-12-30T09:00")
    assert len(copies_to(site, "r1@example.com")) == 2
    with open(os.path.join(home, "mailing.ini")) as f:
        assert "State = done" in f.read()
    show = site.tristero("mailing", "show", "weekly", "--now", "9999-12-30T10:00")
    assert b"next delivery: none" in show.stdout


def test_a_megabyte_merge_field_is_refused_with_an_answer(dsite):
    table = "EMAIL,NAME\na@example.com,\"" + "x" * 200000 + "\"\n"
    data = DATA.replace("Hello,", "Hello {{NAME}},")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL-MERGE TO DD=TO PW=" + PW, table, data)))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]]
    assert "data set TO, line 2: field larger than field limit" in replies(dsite, "maestro@example.net")[0]
    assert not os.listdir(dsite.path("spool", "failed", "new"))


def test_a_mailings_recipients_file_with_a_megabyte_field_is_answered_not_failed(site):
    site.write_ini(INI)
    with open(site.path("access.ini"), "w") as f:
        f.write('"maestro@example.net","","","","%s",""\n' % rights.hash_password(PW))
    home = make(site, approvers=1)
    with open(os.path.join(home, "recipients.csv"), "a") as f:
        f.write('big@example.com,"%s",C1\n' % ("x" * 200000))
    site.drop(mail(frm="maestro@example.net", body="MAILING APPROVE weekly PW=%s\n" % PW))
    site.run()
    assert "line 5: field larger than field limit" in replies(site, "maestro@example.net")[0]
    assert not os.listdir(site.path("spool", "failed", "new"))


def test_a_mailing_whose_bounce_is_not_an_address_is_not_approved(site):
    site.write_ini(INI)
    home = make(site, ini=MAILING.replace("State = draft", "State = draft\nBounce = <>, victim@example.com") % 1)
    p = site.tristero("mailing", "approve", "weekly", "--by", "boss@example.org", "--now", "2026-11-23T08:00",
                      check=False)
    assert p.returncode != 0 and b"Bounce is not an address" in p.stderr
    site.run(now="2026-11-23T10:00")
    assert copies_to(site, "r1@example.com") == []
    with open(os.path.join(home, "mailing.ini")) as f:
        assert "State = draft" in f.read()
