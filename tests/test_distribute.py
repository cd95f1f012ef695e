"""DISTRIBUTE jobs through the front door: the seed's job with BSMTP and PROBE
recipients, the envelopes read back from the BSMTP files; MAIL-MERGE; RFC822; the
rights (DIST_ALLOWED_USERS, the personal password), refusals audited; a job with an
error anywhere runs none of it; a PROBE's bounce told to the job's sender."""

import os

import pytest

from conftest import mail
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

TO = """\
janecustomer@abc.com
jacktechie@def.edu Jack Techie
johndoe@ghi.org BSMTP
joe@example.com PROBE
sue@example.edu Sue User BSMTP
petergunn@example.edu Pete Gunn PROBE
"""

DATA = """\
From: Maestro <maestro@example.net>
To:
Subject: Our news
Date: Sat, 21 Nov 2026 08:00:00 +0000
Message-ID: <news-1@example.net>

Hello, this is the news.
/*
"""


def job(command, to=TO, data=DATA, head="//send JOB Echo=No"):
    return "%s\n%s\n//TO DD *\n%s/*\n//DATA DD *,EOF\n%sEOF\n" % (head, command, to, data)


@pytest.fixture
def dsite(site):
    return distribution_site(site)


def distribution_site(site):
    """site with the DISTRIBUTE users' personal passwords and a site key."""
    site.write_ini(INI)
    with open(site.path("access.ini"), "w") as f:
        f.write('"maestro@example.net","","","","%s",""\n' % rights.hash_password(PW))
        f.write('"boss@example.org","","","","%s",""\n' % rights.hash_password(PW))
        f.write('"nopass@example.net","","","","",""\n')
    with open(site.path("tristero.key"), "wb") as f:
        f.write(b"K" * 32)
    return site


def envelopes(site):
    return [(b.sender, sorted(b.recipients), b.data) for b in site.outbound()]


def replies(site, to):
    return [m.get_content() for m in site.messages_to(to)]


def security(site):
    with open(site.path("logs", "security.at"), encoding="utf-8") as f:
        return f.read()


def test_the_seeds_job_goes_out_in_bsmtp_and_probe_envelopes(dsite):
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL DD=DATA TO DD=TO ACK=MAIL PW=" + PW)))
    dsite.run()
    out = envelopes(dsite)
    bsmtp = [e for e in out if e[1] == ["johndoe@ghi.org", "sue@example.edu"]]
    assert len(bsmtp) == 1 and bsmtp[0][0] == "maestro@example.net"
    single = {e[1][0]: e for e in out if len(e[1]) == 1}
    # ACK=MAIL: a copy of its own goes with a return path naming the job and the
    # recipient (services/reports.py), so that its failures reach the job's report.
    assert single["janecustomer@abc.com"][0].startswith("tristero-probe+janecustomer=abc.com+")
    assert b"To: Jack Techie <jacktechie@def.edu>\n" in single["jacktechie@def.edu"][2]
    # A PROBE: its own envelope, a tagged VERP return path of the robot.
    for address in ("joe@example.com", "petergunn@example.edu"):
        sender = single[address][0]
        local, domain = address.split("@")
        assert sender.startswith("tristero-probe+%s=%s+" % (local, domain)) and sender.endswith("@example.org")
    assert b"To: Pete Gunn <petergunn@example.edu>\n" in single["petergunn@example.edu"][2]
    # The data's /* line is data; the BSMTP copy keeps one To: for all.
    assert b"\n/*\n" in bsmtp[0][2] and b"To: undisclosed-recipients:;" in bsmtp[0][2]
    reply = replies(dsite, "maestro@example.net")
    assert len(reply) == 1 and "OK: MAIL distribution" in reply[0] and "Delivery summary: 6 recipient(s)" in reply[0]
    assert "The delivery report of this job is mailings/job-" in reply[0]
    # Echo=No: the command (and its password) is not repeated.
    assert "DISTRIBUTE MAIL" not in reply[0] and PW not in reply[0]
    assert "DISTRIBUTE MAIL" in security(dsite)


def test_a_probes_bounce_is_told_to_the_jobs_sender(dsite):
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL TO DD=TO PW=" + PW)))
    dsite.run()
    sender = [e[0] for e in envelopes(dsite) if e[1] == ["joe@example.com"]][0]
    for name in dsite.listdir("spool", "out", "new"):
        os.remove(dsite.path("spool", "out", "new", name))
    bounce = ("Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.com\nTo: %s\nSubject: failure notice\n"
              "Auto-Submitted: auto-replied\nMessage-ID: <b1@mx.example.com>\n\n"
              "<joe@example.com>: 550 5.1.1 user unknown\n" % sender)
    dsite.drop(bounce)
    # A forged tag is believed by nobody.
    dsite.drop(bounce.replace(sender, sender.replace("+", "+x", 1)).replace("<b1@", "<b2@"))
    dsite.run()
    told = replies(dsite, "maestro@example.net")
    assert len(told) == 1 and "joe@example.com" in told[0]
    assert "a tag no DISTRIBUTE here made" in dsite.log()


def test_debug_reports_the_plan_and_sends_nothing(dsite):
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL DEBUG=YES PW=" + PW)))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]]
    reply = replies(dsite, "maestro@example.net")[0]
    assert "BSMTP envelope from <maestro@example.net> to 2 recipient(s)" in reply
    assert "PROBE envelope from <tristero-probe+" in reply and "nothing was sent" in reply


def test_mail_merge_puts_each_recipients_fields_in_its_copy(dsite):
    table = "EMAIL\tNAME\tCODE\n" + "".join("r%d@example.com\tReader %d\tC%04d\n" % (i, i, i) for i in range(3000))
    data = DATA.replace("Subject: Our news", "Subject: News for {{NAME}}").replace(
        "Hello, this", "Hello {{NAME}}, your code is {{code}}; this")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL-MERGE TO DD=TO PW=" + PW, table, data)))
    dsite.run()
    out = [e for e in envelopes(dsite) if e[1][0].startswith("r")]
    assert len(out) == 3000
    copy = [e[2] for e in out if e[1] == ["r2999@example.com"]][0]
    assert b"Subject: News for Reader 2999" in copy and b"your code is C2999;" in copy
    assert b"To: Reader 2999 <r2999@example.com>" in copy


def test_a_merge_field_without_its_column_is_an_error_before_anything_is_sent(dsite):
    data = DATA.replace("Hello,", "Hello {{SURNAME}},")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL-MERGE TO DD=TO PW=" + PW,
                                                        "EMAIL,NAME\na@example.com,A\n", data)))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]]
    assert "{{SURNAME}}, and TO has no such column" in replies(dsite, "maestro@example.net")[0]


def test_rfc822_sends_to_the_datas_to_and_cc(dsite):
    data = DATA.replace("To:\n", "To: a@example.com, B <b@example.com>\nCc: c@example.com\n")
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE RFC822 PW=" + PW, data=data)))
    dsite.run()
    assert ("maestro@example.net", ["a@example.com", "b@example.com", "c@example.com"]) in [
        e[:2] for e in envelopes(dsite)]


@pytest.mark.parametrize("frm,pw,why", [
    ("stranger@example.net", PW, "DIST_ALLOWED_USERS"),
    ("maestro@example.net", "Wrong4pass", "password"),
    ("maestro@example.net", None, "password"),
])
def test_a_job_is_refused_and_audited_without_the_right_or_the_password(dsite, frm, pw, why):
    command = "DISTRIBUTE MAIL TO DD=TO" + (" PW=" + pw if pw else "")
    dsite.drop(mail(frm=frm, body=job(command, data=DATA.replace("maestro@example.net", frm))))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [[frm]]
    reply = replies(dsite, frm)[0]
    assert "REFUSED:" in reply and why in reply
    assert "refused" in security(dsite) and (pw or "xx") not in security(dsite)


def test_an_allowed_user_cannot_forge_the_from_nor_set_the_envelope_sender(dsite):
    dsite.drop(mail(frm="maestro@example.net", body=job(
        "DISTRIBUTE MAIL TO DD=TO PW=" + PW, data=DATA.replace("maestro@example.net", "ceo@example.net"))))
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL TO DD=TO FROM=x@example.net PW=" + PW)))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]] * 2
    reply = "".join(replies(dsite, "maestro@example.net"))
    assert "is not your address" in reply and "FROM= is for PostMasters" in reply


def test_a_postmaster_sets_the_envelope_sender_from_a_data_set(dsite):
    body = job("DISTRIBUTE MAIL TO DD=TO FROM=DD=FROM PW=" + PW, to="a@example.com\n").replace(
        "//DATA", '//FROM DD "errors@example.net Errors"\n//DATA')
    dsite.drop(mail(frm="boss@example.org", body=body))
    dsite.run()
    assert ("errors@example.net", ["a@example.com"]) in [e[:2] for e in envelopes(dsite)]


def test_a_job_with_an_error_anywhere_runs_none_of_it(dsite):
    body = job("DISTRIBUTE MAIL TO DD=TO PW=" + PW) + "//X DD SYSOUT=*\n"
    dsite.drop(mail(frm="maestro@example.net", body=body))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]]
    reply = replies(dsite, "maestro@example.net")[0]
    assert "none of it: line 21 is wrong" in reply and "//X DD SYSOUT=*" in reply


def test_a_bad_recipient_line_refuses_the_distribution(dsite):
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL TO DD=TO PW=" + PW,
                                                        to="a@example.com\nb@example.com BSMTP PROBE\n")))
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL TO DD=TO PW=" + PW,
                                                        to="a@example.com\nnot-an-address\n")))
    dsite.run()
    assert [e[1] for e in envelopes(dsite)] == [["maestro@example.net"]] * 2
    reply = "".join(replies(dsite, "maestro@example.net"))
    assert "BSMTP and PROBE exclude each other" in reply and "not-an-address is not a mail address" in reply


def test_distribute_outside_a_job_is_an_error(dsite):
    dsite.drop(mail(frm="maestro@example.net", body="DISTRIBUTE MAIL TO a@example.com PW=%s\n" % PW))
    dsite.run()
    assert "send it in a job" in replies(dsite, "maestro@example.net")[0]


def test_a_person_writing_to_the_probe_address_reaches_the_superuser(dsite):
    dsite.drop(mail(frm="someone@example.net", to="tristero-probe@example.org", body="hello?\n"))
    dsite.run()
    assert [b.recipients for b in dsite.outbound()] == [["boss@example.org"]]
    assert "tristero-probe reaches the SuperUser" in dsite.log()


def test_probes_are_recorded_once_when_sent_and_forgotten_after_bounce_days(dsite):
    # DEBUG sends nothing and records nothing; TRACE records each PROBE once.
    dsite.drop(mail(frm="maestro@example.net", body=job("DISTRIBUTE MAIL TO DD=TO DEBUG=YES PW=" + PW)))
    dsite.run()
    assert not os.path.exists(dsite.path("distribute", "probes.txt"))
    dsite.drop(mail(frm="maestro@example.net", subject="again",
                    body=job("DISTRIBUTE MAIL TO DD=TO TRACE=YES PW=" + PW)))
    dsite.run()
    with open(dsite.path("distribute", "probes.txt")) as f:
        assert sorted(line.split("\t")[1] for line in f) == ["joe@example.com", "petergunn@example.edu"]
    dsite.run(now="2026-12-20T10:00:00")        # past BounceDays (14): the day's housekeeping
    with open(dsite.path("distribute", "probes.txt")) as f:
        assert f.read() == ""


def test_prio_and_inform_may_stand_before_the_destination(dsite):
    command = "DISTRIBUTE MAIL PRIO=5 INFORM=MAIL TO a@example.com PW=" + PW
    dsite.drop(mail(frm="maestro@example.net", body=job(command)))
    dsite.run()
    assert [e[1] for e in envelopes(dsite) if e[1] != ["maestro@example.net"]] == [["a@example.com"]]
