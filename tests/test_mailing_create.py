"""MAILING CREATE by mail (issue 16): the settings, a blank line and the text after the
command line up to EOF, the recipients attached as CSV or a list; every value checked
as it will be written, a name taken refused, the new mailing a draft until APPROVE."""

import email.message
import email.policy
import os

import pytest

from conftest import mail
from test_mailings import PW, copies_to, mailing_site, when
from tristero.policy import rights


@pytest.fixture
def msite(site):
    return mailing_site(site)

BODY = """\
MAILING CREATE spring PW={pw}
Subject = Spring news for {{{{NAME}}}}
From = Maestro <maestro@example.net>
Reply-To = desk@example.net

Hello {{{{NAME}}}}, your code is {{{{CODE}}}}.
EOF
"""


def with_csv(body, csv="EMAIL,NAME,CODE\nr1@example.com,Reader 1,C1\nr2@example.com,Reader 2,C2\n",
             frm="maestro@example.net"):
    m = email.message.EmailMessage()
    m["From"], m["To"], m["Subject"] = frm, "tristero@example.org", "create"
    m["Message-ID"], m["Date"] = "<c-%d@example.net>" % len(body + frm), "Sat, 21 Nov 2026 09:00:00 +0000"
    m.set_content(body)
    m.add_attachment(csv.encode(), maintype="text", subtype="csv", filename="people.csv")
    return m.as_string()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def reply(site, who="maestro@example.net"):
    return "\n".join(m.get_content() for m in site.messages_to(who))


def test_mailing_create_by_mail_makes_a_draft_that_approve_sends(msite):
    msite.drop(with_csv(BODY.format(pw=PW)))
    msite.run(now=when(-1))
    said = reply(msite)
    assert "mailing spring created as a draft (2 recipient(s) now)" in said
    home = msite.path("mailings", "spring")
    ini = read(os.path.join(home, "mailing.ini"))
    assert "State = draft" in ini and "ReplyTo = desk@example.net" in ini and "Recipients = recipients.csv" in ini
    assert read(os.path.join(home, "message.txt")) == "Hello {{NAME}}, your code is {{CODE}}.\n"
    assert not copies_to(msite, "r1@example.com")
    msite.drop(mail(frm="maestro@example.net", body="MAILING APPROVE spring PW=%s\n" % PW))
    msite.run(now=when(-1, 1))
    assert "OK: mailing spring approved by maestro@example.net" in reply(msite)
    msite.run(now=when(-1, 2))
    copy = copies_to(msite, "r1@example.com")
    assert len(copy) == 1 and b"Reader 1" in copy[0].data and b"C1" in copy[0].data


def test_mailing_create_with_a_section_injected_in_a_setting_is_refused(msite):
    body = BODY.format(pw=PW).replace("Reply-To = desk@example.net", "Reply-To = desk@example.net\x0b[Mailing]")
    msite.drop(with_csv(body))
    msite.run(now=when(-1))
    assert "[Mailing]: a setting is KEY = value" in reply(msite)
    assert not os.path.exists(msite.path("mailings", "spring"))


def test_mailing_create_with_a_control_character_in_a_setting_is_refused(msite):
    body = BODY.format(pw=PW).replace("Reply-To = desk@example.net", "Reply-To = desk@example.net\x01x")
    msite.drop(with_csv(body))
    msite.run(now=when(-1))
    assert "ReplyTo: the value holds a character a setting may not hold" in reply(msite)
    assert not os.path.exists(msite.path("mailings", "spring"))


def test_mailing_create_refuses_a_name_of_the_form_distribute_jobs_take(msite):
    msite.drop(with_csv(BODY.format(pw=PW).replace("CREATE spring", "CREATE job-0123456789ab")))
    msite.run(now=when(-1))
    assert "names starting with job- are DISTRIBUTE jobs'" in reply(msite)
    assert msite.listdir("mailings") == []


def test_mailing_create_from_another_address_is_refused_but_for_a_postmaster(msite):
    # An allowed user (or a list's owner) would otherwise mail as anyone, approving it too.
    forged = BODY.format(pw=PW).replace("From = Maestro <maestro@example.net>", "From = CEO <ceo@example.net>")
    msite.drop(with_csv(forged))
    msite.run(now=when(-1))
    assert "From = CEO <ceo@example.net> is not your address" in reply(msite)
    assert msite.listdir("mailings") == []
    with open(msite.path("access.ini"), "a") as f:
        f.write('"boss@example.org","","","","%s",""\n' % rights.hash_password(PW))
    msite.drop(with_csv(forged, frm="boss@example.org"))
    msite.run(now=when(-1, 1))
    assert "mailing spring created as a draft" in reply(msite, "boss@example.org")


def test_mailing_create_a_name_taken_is_refused_and_kept(msite):
    msite.drop(with_csv(BODY.format(pw=PW)))
    msite.run(now=when(-1))
    msite.drop(with_csv(BODY.format(pw=PW).replace("Spring news", "Other"), csv="EMAIL\nx@example.com\n"))
    msite.run(now=when(-1, 1))
    assert "a mailing spring exists" in reply(msite)
    assert "Spring news" in read(msite.path("mailings", "spring", "mailing.ini"))


def test_mailing_create_a_field_without_its_column_and_a_stranger_are_refused(msite):
    msite.drop(with_csv(BODY.format(pw=PW), csv="EMAIL,NAME\nr1@example.com,Reader 1\n"))
    msite.drop(with_csv(BODY.format(pw="nope").replace("spring", "other"), frm="stranger@example.net"))
    msite.run(now=when(-1))
    assert "{{CODE}}" in reply(msite)
    assert "REFUSED" in reply(msite, "stranger@example.net")
    assert not os.path.exists(msite.path("mailings", "spring"))
    assert not os.path.exists(msite.path("mailings", "other"))


def test_only_mailing_create_takes_the_lines_after_it_as_its_text(msite):
    # MAILING SHOW takes no text: the commands after it run, even with a line EOF below.
    msite.drop(with_csv(BODY.format(pw=PW)))
    msite.run(now=when(-1))
    msite.drop(mail(frm="maestro@example.net",
                    body="MAILING SHOW spring PW=%s\nLISTS\nEOF\n" % PW))
    msite.run(now=when(-1, 1))
    said = reply(msite)
    assert "MAILING SHOW spring" in said and "> LISTS" in said


def test_the_administrator_creates_and_schedules_a_mailing_on_the_command_line(msite, tmp_path):
    text = tmp_path / "spring.txt"
    text.write_text("Subject = Spring for {{NAME}}\nFrom = maestro@example.net\nApprovers = 2\n\n"
                    "Hello {{NAME}}.\nEOF\n")
    people = tmp_path / "people.csv"
    people.write_text("EMAIL,NAME\nr1@example.com,Reader 1\n")
    page = tmp_path / "page.html"
    page.write_text("<p>Hello {{NAME}}</p>\n")
    made = msite.tristero("mailing", "create", "spring", str(text), "--attach", str(people), "--attach", str(page),
                          "--now", when(-1))
    assert b"mailing spring created as a draft (1 recipient(s) now)" in made.stdout
    home = msite.path("mailings", "spring")
    assert read(os.path.join(home, "message.txt")) == "Hello {{NAME}}.\n"      # the EOF line left out
    assert read(os.path.join(home, "message.html")) == "<p>Hello {{NAME}}</p>\n"
    assert "Approvers = 2" in read(os.path.join(home, "mailing.ini"))
    again = msite.tristero("mailing", "create", "spring", str(text), "--attach", str(people), check=False)
    assert again.returncode == 65 and b"a mailing spring exists" in again.stderr
    done = msite.tristero("mailing", "schedule", "spring", "at " + when(1), "--now", when(-1))
    assert b"mailing spring: Schedule = at " in done.stdout
    bad = msite.tristero("mailing", "schedule", "spring", "every 0 weeks from " + when(1), check=False)
    assert bad.returncode == 65 and b"every N hours, days, weeks or months" in bad.stderr
    # Two approvals, then it goes out at its time, not before.
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1))
    msite.tristero("mailing", "approve", "spring", "--by", "maestro@example.net", "--now", when(-1))
    msite.run(now=when(0))
    assert copies_to(msite, "r1@example.com") == []
    msite.run(now=when(1, 1))
    [copy] = copies_to(msite, "r1@example.com")
    assert b"Spring for Reader 1" in copy.data


def test_schedule_by_mail_changes_only_a_draft_or_a_paused_mailing(msite):
    msite.drop(with_csv(BODY.format(pw=PW)))
    msite.run(now=when(-1))
    msite.drop(mail(frm="maestro@example.net",
                    body="MAILING SCHEDULE spring every 1 weeks from %s count 2 PW=%s\n" % (when(0), PW)))
    msite.run(now=when(-1, 1))
    assert "OK: mailing spring: Schedule = every 1 weeks from" in reply(msite)
    assert "Schedule = every 1 weeks from %s count 2" % when(0) in read(msite.path("mailings", "spring",
                                                                                   "mailing.ini"))
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1, 2))
    msite.drop(mail(frm="maestro@example.net", body="MAILING SCHEDULE spring now PW=%s\n" % PW))
    msite.run(now=when(-1, 3))
    assert "mailing spring: it is approved: its schedule changes only while it is a draft or paused" in reply(msite)


def test_a_new_schedule_makes_a_paused_mailing_a_draft_again_that_needs_its_approvals(msite):
    # Two people approved a mailing at one time; one alone may not make it hourly.
    body = BODY.format(pw=PW).replace("Reply-To = desk@example.net",
                                      "Approvers = 2\nSchedule = at %s" % when(1))
    msite.drop(with_csv(body))
    msite.run(now=when(-1))
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1, 1))
    msite.tristero("mailing", "approve", "spring", "--by", "maestro@example.net", "--now", when(-1, 1))
    msite.drop(mail(frm="maestro@example.net", body="MAILING PAUSE spring PW=%s\n" % PW))
    msite.run(now=when(-1, 2))
    msite.drop(mail(frm="maestro@example.net", body="MAILING SCHEDULE spring every 1 hours from %s PW=%s\n"
                                                    "MAILING RESUME spring PW=%s\n" % (when(-1), PW, PW)))
    msite.run(now=when(-1, 3))
    msite.drop(mail(frm="maestro@example.net", body="MAILING RESUME spring PW=%s\n" % PW))
    msite.run(now=when(-1, 4))
    said = reply(msite)
    assert "it is a draft again, to be approved" in said and "mailing spring is draft: RESUME does not apply" in said
    ini = read(msite.path("mailings", "spring", "mailing.ini"))
    assert "State = draft" in ini and "ApprovedBy" not in ini
    msite.run(now=when(1, 1))
    assert copies_to(msite, "r1@example.com") == []


@pytest.mark.parametrize("schedule, why", [
    ("at 2026-12-01T09:00+05:00", "without an offset"),
    ("every 1 weeks from 2026-12-01T09:00 count 0", "N at least 1"),
    ("every 1 days from 2026-12-01T09:00 until 2026-11-01T09:00", "until is before the start"),
])
def test_a_schedule_that_would_mean_another_time_or_no_delivery_is_refused(msite, schedule, why):
    msite.drop(with_csv(BODY.format(pw=PW).replace("Reply-To = desk@example.net", "Schedule = " + schedule)))
    msite.run(now=when(-1))
    assert why in reply(msite)
    assert msite.listdir("mailings") == []


def test_commands_of_one_message_see_what_the_earlier_ones_did(msite):
    # CREATE, SHOW and APPROVE in one message (the draft is not on disk until its commit).
    body = BODY.format(pw=PW) + "MAILING SHOW spring PW=%s\nMAILING APPROVE spring PW=%s\n" % (PW, PW)
    msite.drop(with_csv(body))
    msite.run(now=when(-1))
    said = reply(msite)
    assert "mailing spring: draft" in said and "OK: mailing spring approved by maestro@example.net" in said
    msite.run(now=when(-1, 1))
    assert len(copies_to(msite, "r1@example.com")) == 1


def test_mailing_create_keeps_other_attached_files_as_the_messages_attachments(msite):
    m = email.message_from_string(with_csv(BODY.format(pw=PW)), policy=email.policy.default)
    m.add_attachment(b"%PDF-1.4 leaflet", maintype="application", subtype="pdf", filename="leaflet.pdf")
    msite.drop(m.as_string())
    bad = email.message_from_string(with_csv(BODY.format(pw=PW).replace("CREATE spring", "CREATE other")),
                                    policy=email.policy.default)
    bad.add_attachment(b"x", maintype="application", subtype="octet-stream", filename="../x.bin")
    del bad["Message-ID"]
    bad["Message-ID"] = "<bad-attachment@example.net>"
    msite.drop(bad.as_string())
    msite.run(now=when(-1))
    assert read(msite.path("mailings", "spring", "attachments", "leaflet.pdf")) == "%PDF-1.4 leaflet"
    assert "an attached file is not taken" in reply(msite) and not os.path.exists(msite.path("mailings", "other"))
    msite.tristero("mailing", "approve", "spring", "--by", "boss@example.org", "--now", when(-1, 1))
    msite.run(now=when(-1, 2))
    [copy] = copies_to(msite, "r1@example.com")
    parsed = email.message_from_bytes(copy.data, policy=email.policy.default)
    assert [p.get_filename() for p in parsed.iter_attachments()] == ["leaflet.pdf"]
