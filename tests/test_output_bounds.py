"""Bounded output (issue 9, holes 4 and 8): what one request, one sender in a day and one
forged From can make the site send, and the disk reserve below which a run writes no mail.

Each test is the attack: the FETCH flood, the same flood the next run and the next day,
a run on a disk with less free than DiskReserve, the forged From with a long subject and
a hundred command lines, the stranger writing again and again."""

import os

import pytest

from conftest import mail

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 10
MaxReplySize = 16
MaxReplyDaily = 24
DiskReserve = 0

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org
Description = News of the day

[LIST staff]
MemberFile = 00000002
Type = Closed
Owner = owner@example.org
"""

MEMBER = "carol@example.com"
VICTIM = "victim@example.net"
DAY = "2026-11-21T10:00:00"


@pytest.fixture
def bsite(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    for number, members in (("00000001", [MEMBER]), ("00000002", ["owner@example.org"])):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join("%s =\n" % a for a in members))
    for number in ("00000000", "00000001", "00000002"):
        os.makedirs(site.path("archive", number))
    with open(site.path("archive", "00000001", "a.txt"), "wb") as f:
        f.write(b"the news of the day, a line of it\n" * 30)      # 1,020 bytes
    return site


def flood():
    """A 2 KB request: 16 lines, each FETCHing the same file 20 times (320 copies)."""
    body = "".join("fetch news" + " a.txt" * 20 + "\n" for _ in range(16))
    assert 2000 <= len(body) <= 2600
    return body


def clear_out(site):
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def fetched(site, to):
    """(bytes of the FETCH messages to to, their count, the text of the robot's reply)."""
    sent, count, reply = 0, 0, ""
    for b in site.outbound():
        if to not in b.recipients:
            continue
        if b"Subject: news: a.txt" in b.data:
            sent += len(b.data)
            count += 1
        elif b"Results of your commands" in b.data:
            import email
            from email import policy
            msg = email.message_from_bytes(b.data, policy=policy.default)
            reply = msg.get_body(("plain",)).get_content()
    return sent, count, reply


def test_a_fetch_flood_sends_at_most_max_reply_size_in_all_and_refuses_the_rest(bsite):
    bsite.drop(mail(frm=MEMBER, subject="files", body=flood()))
    bsite.run(now=DAY)
    sent, count, reply = fetched(bsite, MEMBER)
    assert 0 < count < 320
    assert sent <= 16 * 1024
    assert "REFUSED: FETCH:" in reply and "MaxReplySize" in reply
    assert "OK: %d file(s) of news sent" % count in reply


def test_the_daily_budget_holds_across_runs_and_starts_again_the_next_day(bsite):
    bsite.drop(mail(frm=MEMBER, subject="files", body=flood()))
    bsite.run(now=DAY)
    first, _, _ = fetched(bsite, MEMBER)
    clear_out(bsite)
    bsite.drop(mail(frm=MEMBER, subject="files again", body=flood()))
    bsite.run(now="2026-11-21T18:00:00")
    second, _, reply = fetched(bsite, MEMBER)
    assert first + second <= 24 * 1024
    assert second < first
    assert "MaxReplyDaily" in reply and "tomorrow" in reply
    with open(bsite.path("spool", "quotas.csv")) as f:
        assert MEMBER in f.read()
    clear_out(bsite)
    bsite.drop(mail(frm=MEMBER, subject="files tomorrow", body=flood()))
    bsite.run(now="2026-11-22T09:00:00")
    third, count, _ = fetched(bsite, MEMBER)
    assert third == first and count > 0


def test_index_and_get_share_the_budget_of_the_message(bsite):
    body = "get news a.txt\n" * 20
    bsite.drop(mail(frm=MEMBER, subject="gets", body=body))
    bsite.run(now=DAY)
    replies = bsite.messages_to(MEMBER)
    assert len(replies) == 1
    attached = [p for p in replies[0].iter_attachments()]
    assert 0 < len(attached) < 20
    assert sum(len(p.get_content()) for p in attached) <= 16 * 1024
    text = replies[0].get_body(("plain",)).get_content()
    assert "REFUSED: GET:" in text and "MaxReplySize" in text


def test_below_the_disk_reserve_a_run_holds_the_mail_and_says_so_then_a_later_run_takes_it(bsite):
    with open(bsite.path("tristero.ini")) as f:
        ini = f.read()
    # More than any disk has free: an honest reserve the disk cannot meet.
    bsite.write_ini(ini.replace("DiskReserve = 0", "DiskReserve = 1000000000"))
    name = bsite.drop(mail(frm=MEMBER, subject="files", body="fetch news a.txt\n"))
    p = bsite.run(now=DAY, check=False)
    assert p.returncode == 75
    assert b"DiskReserve" in p.stderr
    assert bsite.listdir("spool", "in", "new") == [name]
    assert bsite.listdir("spool", "failed", "new") == []
    assert bsite.messages_to(MEMBER) == []
    notices = bsite.messages_to("boss@example.org")
    assert len(notices) == 1 and "disk is nearly full" in notices[0]["Subject"]
    assert "DiskReserve" in bsite.log()
    # Again the same day: held again, logged again, the SuperUser not told twice.
    p = bsite.run(now="2026-11-21T11:00:00", check=False)
    assert p.returncode == 75
    assert len(bsite.messages_to("boss@example.org")) == 1
    bsite.write_ini(ini)
    bsite.run(now="2026-11-21T12:00:00")
    assert bsite.listdir("spool", "in", "new") == []
    assert fetched(bsite, MEMBER)[1] == 1


def reflection():
    return mail(frm=VICTIM, subject="S" * 990, body="lists\n" * 100)


def test_a_forged_from_gets_a_short_reply(bsite):
    bsite.drop(reflection())
    bsite.run(now=DAY)
    replies = [b for b in bsite.outbound() if VICTIM in b.recipients]
    assert len(replies) == 1
    assert len(replies[0].data) < 2500
    msg = bsite.messages_to(VICTIM)[0]
    assert len(msg["Subject"]) <= 60
    text = msg.get_body(("plain",)).get_content()
    assert text.count("\n> ") <= 3
    assert "97 more command line(s) were not run" in text


def test_a_member_keeps_the_full_reply(bsite):
    bsite.drop(mail(frm=MEMBER, subject="S" * 200, body="lists\n" * 10))
    bsite.run(now=DAY)
    msg = bsite.messages_to(MEMBER)[0]
    assert len(msg["Subject"]) > 200
    assert msg.get_body(("plain",)).get_content().count("\n> ") == 10


def test_a_stranger_gets_at_most_max_stranger_replies_a_day_then_silence(bsite):
    for i in range(4):
        bsite.drop(mail(frm=VICTIM, subject="lists %d" % i, body="lists\n"))
    for i in range(3):
        # Not posted notices count too (staff is Closed).
        bsite.drop(mail(frm=VICTIM, to="staff@example.org", subject="post %d" % i, body="hello\n"))
    bsite.run(now=DAY)
    assert len(bsite.messages_to(VICTIM)) == 5
    assert "MaxStrangerReplies" in bsite.log()
    bsite.drop(mail(frm=VICTIM, subject="lists again", body="lists\n"))
    bsite.run(now="2026-11-21T20:00:00")
    assert len(bsite.messages_to(VICTIM)) == 5
    bsite.drop(mail(frm=VICTIM, subject="lists tomorrow", body="lists\n"))
    bsite.run(now="2026-11-22T09:00:00")
    assert len(bsite.messages_to(VICTIM)) == 6
