"""Tristero wired to a real Exim (tests/exim.py): in through Exim's maildir delivery,
out through deliver (SMTP) or exim -bS, bounces back as Exim makes them.

One Exim daemon serves the module; each test gets the empty site folder it delivers to."""

import email
import os
import smtplib
import subprocess
from email import policy

import pytest

from conftest import TestSite
from exim import DOMAIN, Exim

from tristero.model import spools

# deliver uses the real clock: the bounces it brings back are read by a run of that day.
NOW = "2026-11-21T10:00:00"


@pytest.fixture(scope="module")
def mx():
    with Exim() as server:
        yield server


@pytest.fixture
def xsite(mx):
    """A site at the folder Exim delivers example.org to, [Delivery] pointing at Exim."""
    mx.settle()
    mx.reset_site()
    s = TestSite(mx.site_home)
    s.write_ini("""\
        [Globals]
        Domain = example.org
        SuperUser = boss@example.org
        MaxRecipients = 3
        LogLevel = 2

        [Delivery]
        SmtpHost = 127.0.0.1
        SmtpPort = %d

        [LIST news]
        Owner = editor@example.org
        MemberFile = 00000001
        """ % mx.port)
    return s


def members(site, addresses, extra=""):
    if extra:
        with open(site.path("tristero.ini"), "a") as f:
            f.write(extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in addresses))


def member_file(site):
    from tristero.model.members import load
    return dict(load("00000001", site.path("lists", "00000001.ini")).items())


def post(sender, body="Noon.\n", subject="Meeting", extra=""):
    return ("From: %s\r\nTo: news@example.org\r\nSubject: %s\r\nMessage-ID: <%s.%d@members.test>\r\n"
            "Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n%s\r\n%s" % (sender, subject, subject.replace(" ", "."),
                                                                 len(body), extra, body.replace("\n", "\r\n")))


def smtp_send(mx, sender, recipients, message):
    with smtplib.SMTP("127.0.0.1", mx.port, local_hostname="client.test") as s:
        refused = s.sendmail(sender, recipients, message.encode() if isinstance(message, str) else message)
    assert refused == {}
    mx.settle()


def parse(raw):
    return email.message_from_bytes(raw, policy=policy.default)


def test_mail_for_the_list_domain_lands_in_the_spool_through_exims_maildir_delivery(mx, xsite):
    smtp_send(mx, "alice@members.test", ["news-request@example.org"], post("alice@members.test"))
    names = xsite.listdir("spool", "in", "new")
    assert len(names) == 1
    with open(xsite.path("spool", "in", "new", names[0]), "rb") as f:
        m = parse(f.read())
    assert m["Return-path"] == "<alice@members.test>"
    assert m["Envelope-to"] == "news-request@example.org"
    assert m["X-Original-To"] == "news-request@example.org"
    xsite.run(now=NOW)
    assert xsite.listdir("spool", "in", "new") == []
    # The robot answered the sender: the request address was read from Exim's X-Original-To.
    assert [b.recipients for b in xsite.outbound()] == [["alice@members.test"]]


def test_a_post_through_exim_reaches_every_members_maildir_with_its_verp_sender(mx, xsite):
    subscribers = [mx.mailbox(n) for n in ("alice", "bob", "carol", "dave")]
    members(xsite, subscribers)
    with open(xsite.path("tristero.ini")) as f:
        xsite.write_ini(f.read().replace("MemberFile = 00000001\n", "MemberFile = 00000001\nVERP = Y\n"))
    smtp_send(mx, "alice@members.test", ["news@example.org"], post("alice@members.test"))
    xsite.run(now=NOW)
    files = xsite.outbound()
    assert len(files) == 4
    xsite.tristero("deliver")
    mx.settle()
    assert xsite.listdir("spool", "out", "new") == []
    for b in files:
        (address,) = b.recipients
        (copy,) = mx.delivered(address.split("@")[0])
        m = parse(copy)
        # The envelope sender Exim delivered with is the file's: the VERP address naming this member.
        assert b.sender.startswith("owner-news+%s=members.test+" % address.split("@")[0])
        assert m["Return-path"] == "<%s>" % b.sender
        assert m["Envelope-to"] == address
        assert m["Subject"] == "Meeting"


def test_a_member_exim_refuses_comes_back_as_exims_bounce_and_the_next_run_counts_it(mx, xsite):
    alice = mx.mailbox("alice")
    gone = "gone@members.test"          # no maildir: Exim accepts it, cannot route it, bounces it
    members(xsite, [alice, gone])
    with open(xsite.path("tristero.ini")) as f:
        xsite.write_ini(f.read().replace("MemberFile = 00000001\n", "MemberFile = 00000001\nVERP = Y\n"))
    smtp_send(mx, "alice@members.test", ["news@example.org"], post("alice@members.test"))
    xsite.run(now=NOW)
    xsite.tristero("deliver")
    mx.settle()
    assert len(mx.delivered("alice")) == 1
    # Exim's own report, with the null sender, to the VERP address of the member it failed.
    (name,) = xsite.listdir("spool", "in", "new")
    with open(xsite.path("spool", "in", "new", name), "rb") as f:
        report = parse(f.read())
    assert report["Return-path"] == "<>"
    assert report["X-Original-To"].startswith("owner-news+gone=members.test+")
    assert report.get_content_type() == "multipart/report"
    xsite.run(now=NOW)
    assert member_file(xsite)[gone] == "BOUNCE 1 2026-11-21"
    assert member_file(xsite)[alice] == ""
    assert "bounce: %s failed permanently" % gone in xsite.log()


# Every line shape BSMTP has to carry: dots at line starts (one, two, alone), a line of
# 990 octets, 8-bit text, a line that is only spaces, no final line end in the post.
AWKWARD = (".leading dot\n..two dots\n.\n" + "x" * 990 + "\n"
           "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e\n   \nlast line without an end")


def exim_trace_and(data, delivered):
    """True when delivered is data with only Exim's trace fields put before it."""
    if not delivered.endswith(data):
        return False
    head = delivered[:len(delivered) - len(data)]
    names = {line.split(b":", 1)[0].lower() for line in head.split(b"\n") if line and not line[:1].isspace()}
    return names <= {b"return-path", b"envelope-to", b"received"}


def test_bsmtp_files_fed_to_exim_bs_are_taken_as_they_are(mx, xsite):
    subscribers = [mx.mailbox(n) for n in ("alice", "bob", "carol", "dave", "erin")]
    members(xsite, subscribers)
    xsite.drop(post("alice@members.test", body=AWKWARD, subject="Awkward",
                    extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n").encode("utf-8"))
    xsite.run(now=NOW)
    names = xsite.listdir("spool", "out", "new")
    assert len(names) == 2              # five members, MaxRecipients 3
    files = []
    for name in names:
        with open(xsite.path("spool", "out", "new", name), "rb") as f:
            raw = f.read()
        files.append(spools.BsmtpFile.parse(raw))
        p = subprocess.run(mx.command("-bS"), input=raw, capture_output=True)
        assert p.returncode == 0, (p.stdout, p.stderr)
    mx.settle()
    for b in files:
        assert b"\n..leading dot\n" in spools.dot_stuff(b.data)
        for address in b.recipients:
            (copy,) = mx.delivered(address.split("@")[0])
            assert exim_trace_and(b.data, copy), copy
            assert parse(copy)["Return-path"] == "<%s>" % b.sender
