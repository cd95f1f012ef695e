"""Per-delivery reports of mailings (services/reports.py) through the front door: a
mailing to a CSV of recipients, deliver against an SMTP server on loopback that takes
some, defers some (4xx) and refuses some (5xx), then runs: report-K.csv and the mail to
the sender are right; deliver's own report and a remote bounce, both arriving at the
delivery's return paths, make recipients failed; the sender is told once, even when the
run that tells is killed; a bounce for a mailing recipient charges no list member."""

import csv
import email
import io
import os
import signal
from email import policy

import pytest

import test_deliver
from conftest import mail
from test_deliver import Scripted, deliver
from tristero.model import members
from tristero.policy import rights
from tristero.services import reports

pytestmark = pytest.mark.subprocess
smtp = test_deliver.smtp        # the fixture: an SMTP server on loopback, scripted

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org

[Delivery]
SmtpHost = 127.0.0.1
SmtpPort = %d
SmtpTimeout = 5

[Security]
BounceScore = 1

[LIST news]
Owner = boss@example.org
MemberFile = 00000001
"""
MAILING = """\
[Mailing]
From = Maestro <maestro@example.net>
Subject = News for {{NAME}}
Recipients = recipients.csv
Schedule = now
State = draft
"""
PEOPLE = ["ok@example.com", "slow@example.com", "gone@example.com", "late@example.com"]
T0, T1, T2, T3, T4 = ("2026-12-01T09:%02d:00" % m for m in (0, 10, 20, 30, 40))


def make(site):
    home = site.path("mailings", "news-dec")
    os.makedirs(home)
    with open(os.path.join(home, "mailing.ini"), "w") as f:
        f.write(MAILING)
    with open(os.path.join(home, "message.txt"), "w") as f:
        f.write("Hello {{NAME}}.\n")
    with open(os.path.join(home, "recipients.csv"), "w") as f:
        f.write("EMAIL,NAME\n" + "".join("%s,%s\n" % (a, a.split("@")[0]) for a in PEOPLE))
    site.tristero("mailing", "approve", "news-dec", "--by", "boss@example.org", "--now", T0)
    return home


def report(home, k=1):
    with open(os.path.join(home, "report-%d.csv" % k), encoding="utf-8") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    blank = rows.index([])
    return {r[0]: (r[1], r[2]) for r in rows[1:blank]}, dict(rows[blank + 1:])


def bounce_to(return_path, recipient, status="5.1.1", text="550 5.1.1 user unknown"):
    """A remote mail server's RFC 3464 report about recipient, to return_path."""
    return ("Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.com\nTo: %s\nSubject: Undelivered Mail\n"
            "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
            "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
            "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\n"
            "Final-Recipient: rfc822; %s\nAction: failed\nStatus: %s\nDiagnostic-Code: smtp; %s\n\n"
            "--B--\n" % (return_path, recipient, status, text))


def drop_from_mta(site, handler, address):
    """What the mail server took for address (a report to a return path) put into spool/in/new,
    as the mail server would deliver it: envelope sender <>."""
    got = [c for f, rcpts, c, *_ in handler.received if address in rcpts]
    for content in got:
        site.drop(b"Return-Path: <>\n" + content.replace(b"\r\n", b"\n"))
    return len(got)


def settled_mails(handler):
    got = [email.message_from_bytes(c, policy=policy.default)
           for _, rcpts, c, *_ in handler.received if "maestro@example.net" in rcpts]
    return [m for m in got if m["Subject"].startswith("Mailing ")]


@pytest.fixture
def world(site, smtp):
    handler = Scripted(rcpt={"slow@example.com": ["450 4.2.1 mailbox busy"],
                             "gone@example.com": ["550 5.1.1 no such user"]})
    server = smtp(handler=handler)
    site.write_ini(INI % server.port)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nlate@example.com =\n")     # late is also a member of news
    home = make(site)
    site.run(now=T0)
    paths = {b.recipients[0]: b.sender for b in site.outbound()}
    return site, handler, home, paths


def test_each_copy_has_a_return_path_of_its_own_naming_the_mailing_delivery(world):
    site, handler, home, paths = world
    assert sorted(paths) == sorted(PEOPLE)
    for recipient, sender in paths.items():
        local = sender.rpartition("@")[0]
        assert local.startswith("tristero-probe+%s=example.com+" % recipient.split("@")[0])
        assert len(local.encode()) <= 64 and sender.endswith("@example.org")
    assert len(set(paths.values())) == 4
    with open(os.path.join(home, "sent-1.txt")) as f:
        assert f.read().split() == PEOPLE


def test_deliveries_deferrals_refusals_and_a_late_bounce_make_the_report_and_one_mail(world):
    site, handler, home, paths = world
    assert deliver(site).returncode == 0
    # deliver's own report of gone's refusal went to gone's return path: back to us.
    assert drop_from_mta(site, handler, paths["gone@example.com"]) == 1
    site.run(now=T1)
    rows, summary = report(home)
    assert rows["ok@example.com"] == ("delivered", "") and rows["late@example.com"] == ("delivered", "")
    assert rows["slow@example.com"] == ("deferred", "")
    status, reason = rows["gone@example.com"]
    assert status == "failed" and "no such user" in reason
    assert summary == {"attempted": "4", "delivered": "2", "deferred": "1", "failed": "1", "settled": "no"}
    assert settled_mails(handler) == []
    # The next deliver takes slow: the delivery is settled, and its sender told.
    assert deliver(site).returncode == 0
    site.run(now=T2)
    rows, summary = report(home)
    assert rows["slow@example.com"] == ("delivered", "")
    assert summary["settled"] == "2026-12-01T09:10:00"[:11] + "09:20:00"
    assert (summary["delivered"], summary["deferred"], summary["failed"]) == ("3", "0", "1")
    assert deliver(site).returncode == 0
    [told] = settled_mails(handler)
    assert told["Subject"] == "Mailing news-dec, delivery 1: 3 delivered, 1 failed"
    text = told.get_body(("plain",)).get_content()
    assert "attempted: 4" in text and "failed: 1" in text and "mailings/news-dec/report-1.csv" in text
    # A remote bounce for late, days after: late is failed; the sender is not told again.
    site.drop(bounce_to(paths["late@example.com"], "late@example.com", text="550 5.1.1 mailbox closed"))
    site.run(now=T3)
    rows, summary = report(home)
    assert rows["late@example.com"][0] == "failed" and "mailbox closed" in rows["late@example.com"][1]
    assert (summary["delivered"], summary["failed"]) == ("2", "2")
    site.run(now=T4)
    assert deliver(site).returncode == 0
    assert len(settled_mails(handler)) == 1
    # late is a member of news too (BounceScore = 1): the mailing's bounce charged nothing.
    assert dict(members.load("00000001", site.path("lists", "00000001.ini")).items()) == {"late@example.com": ""}


def test_a_forged_tag_at_a_return_path_notes_nothing(world):
    site, handler, home, paths = world
    forged = paths["ok@example.com"][:-len("@example.org") - 8] + "aaaaaaaa@example.org"
    site.drop(bounce_to(forged, "ok@example.com"))
    site.run(now=T1)
    assert not os.path.exists(os.path.join(home, "failures-1.txt"))
    rows, _ = report(home)
    assert rows["ok@example.com"] == ("deferred", "")


def test_a_run_killed_while_telling_the_sender_tells_once(world):
    site, handler, home, paths = world
    handler.rcpt.clear()
    assert deliver(site).returncode == 0
    killed = 0
    for n in range(1, 40):
        p = site.run(now=T1, check=False, env={"TRISTERO_CRASH_AFTER": str(n)})
        if p.returncode != -signal.SIGKILL:
            break
        killed += 1
    assert killed >= 1
    site.run(now=T2)
    assert deliver(site).returncode == 0
    assert len(settled_mails(handler)) == 1
    _, summary = report(home)
    assert summary["delivered"] == "4" and summary["failed"] == "0"


def send_job(site, smtp, refused, to_lines):
    """A DISTRIBUTE MAIL job with ACK=MAIL by maestro to to_lines, run at T0, against an
    SMTP server that refuses refused at RCPT; its handler."""
    handler = Scripted(rcpt={refused: ["550 5.1.1 no such user"]})
    server = smtp(handler=handler)
    allowed = "[Security]\nDIST_ALLOWED_USERS = maestro@example.net\n"
    site.write_ini((INI % server.port).replace("[Security]\n", allowed))
    with open(site.path("access.ini"), "w") as f:
        f.write('"maestro@example.net","","","","%s",""\n' % rights.hash_password("Dist4pass"))
    data = "From: Maestro <maestro@example.net>\nTo:\nSubject: Our news\n\nHello.\n"
    site.drop(mail(frm="maestro@example.net", body="//send JOB Echo=No\n"
                   "DISTRIBUTE MAIL TO DD=TO ACK=MAIL PW=Dist4pass\n//TO DD *\n"
                   "%s/*\n//DATA DD *,EOF\n%sEOF\n" % ("".join(line + "\n" for line in to_lines), data)))
    site.run(now=T0)
    return handler


def test_a_distribute_job_with_ack_gets_the_same_report(site, smtp):
    handler = send_job(site, smtp, "gone@example.com", ["a@example.com", "b@example.com BSMTP", "gone@example.com"])
    [job] = site.listdir("mailings")
    paths = {b.recipients[0]: b.sender for b in site.outbound() if len(b.recipients) == 1}
    assert deliver(site).returncode == 0
    assert drop_from_mta(site, handler, paths["gone@example.com"]) == 1
    site.run(now=T1)
    rows, summary = report(site.path("mailings", job))
    assert rows["a@example.com"] == ("delivered", "") and rows["b@example.com"] == ("delivered", "")
    assert rows["gone@example.com"][0] == "failed" and "no such user" in rows["gone@example.com"][1]
    assert summary["settled"] == T1
    assert deliver(site).returncode == 0
    [told] = settled_mails(handler)
    assert told["Subject"] == "Mailing %s, delivery 1: 2 delivered, 1 failed" % job


def test_a_probes_failure_is_told_at_once_and_marked_in_the_jobs_report(site, smtp):
    handler = send_job(site, smtp, "probed@example.com", ["a@example.com", "probed@example.com PROBE"])
    [job] = site.listdir("mailings")
    [probe] = [b.sender for b in site.outbound() if b.recipients == ["probed@example.com"]]
    assert deliver(site).returncode == 0
    assert drop_from_mta(site, handler, probe) == 1          # deliver's own report of the refusal
    site.run(now=T1)
    rows, summary = report(site.path("mailings", job))
    assert rows["a@example.com"] == ("delivered", "")
    assert rows["probed@example.com"][0] == "failed" and "no such user" in rows["probed@example.com"][1]
    assert deliver(site).returncode == 0
    # The PROBE's own notice came at once, as ever; then the job's report, settled.
    told = [email.message_from_bytes(c, policy=policy.default)
            for _, rcpts, c, *_ in handler.received if "maestro@example.net" in rcpts]
    assert any("probed@example.com" in m["Subject"] and not m["Subject"].startswith("Mailing ") for m in told)
    [settled] = settled_mails(handler)
    assert settled["Subject"] == "Mailing %s, delivery 1: 1 delivered, 1 failed" % job


class RefusesContent(Scripted):
    """Takes every recipient, then refuses the message itself (after DATA) for one."""

    async def handle_DATA(self, server, session, envelope):
        if "ok@example.com" in envelope.rcpt_tos:
            return "554 5.7.1 message content rejected"
        return await super().handle_DATA(server, session, envelope)


def test_a_copy_refused_after_data_is_its_recipients_failure_in_the_report(site, smtp):
    # A mailing's copy is one recipient's envelope: a refusal of its message is that
    # recipient's failure (reported to the copy's return path), not a list's post's.
    handler = RefusesContent()
    server = smtp(handler=handler)
    site.write_ini(INI % server.port)
    home = make(site)
    site.run(now=T0)
    paths = {b.recipients[0]: b.sender for b in site.outbound()}
    assert deliver(site).returncode == 0
    assert drop_from_mta(site, handler, paths["ok@example.com"]) == 1
    site.run(now=T1)
    rows, summary = report(home)
    assert rows["ok@example.com"][0] == "failed" and "content rejected" in rows["ok@example.com"][1]
    assert rows["gone@example.com"] == ("delivered", "")
    # The SuperUser is not told of it as of a post refused whole.
    assert [c for _, rcpts, c, *_ in handler.received if "boss@example.org" in rcpts] == []


def test_a_report_cell_that_a_spreadsheet_would_run_is_written_as_text():
    assert reports.cell('=HYPERLINK("http://evil.example")') == '\'=HYPERLINK("http://evil.example")'
    assert reports.cell("-2+3") == "'-2+3" and reports.cell("@SUM(A1)") == "'@SUM(A1)"
    assert reports.cell("permanent: 550 user unknown") == "permanent: 550 user unknown"
