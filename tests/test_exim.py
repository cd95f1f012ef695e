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
from exim import Exim
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


# --- [Delivery] DeliverCommand: whole BSMTP files to a local program -----------------------

def with_delivery(site, line):
    with open(site.path("tristero.ini")) as f:
        text = f.read()
    site.write_ini(text.replace("[Delivery]\n", "[Delivery]\n%s\n" % line))


def test_deliver_command_hands_each_bsmtp_file_to_exim_bs(mx, xsite):
    subscribers = [mx.mailbox(n) for n in ("alice", "bob", "carol", "dave")]
    members(xsite, subscribers)
    with_delivery(xsite, "DeliverCommand = %s" % " ".join(mx.command("-bS")))
    xsite.drop(post("alice@members.test", body=AWKWARD, subject="By pipe"))
    xsite.run(now=NOW)
    files = xsite.outbound()
    assert len(files) == 2
    xsite.tristero("deliver")
    mx.settle()
    assert xsite.listdir("spool", "out", "new") == []
    assert len(xsite.listdir("spool", "out", "cur")) == 2
    for b in files:
        for address in b.recipients:
            (copy,) = mx.delivered(address.split("@")[0])
            assert exim_trace_and(b.data, copy)
    assert "delivered to 3 recipient(s)" in xsite.log()


FAKE = """\
import os, sys
data = sys.stdin.buffer.read()
with open(os.environ["FAKE_LOG"], "ab") as f:
    f.write(repr((sys.argv[1:], data)).encode() + b"\\n")
sys.stdout.write(os.environ.get("FAKE_SAYS", "").replace("|", "\\n"))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake(site, tmp_path):
    """site with DeliverCommand = a program that records its argv and stdin and answers
    as FAKE_SAYS and FAKE_EXIT say; news has four members and one post waiting."""
    program = tmp_path / "fake.py"
    program.write_text(FAKE)
    site.write_ini("""\
        [Globals]
        Domain = example.org
        SuperUser = boss@example.org
        MaxRecipients = 2

        [Delivery]
        DeliverCommand = %s %s --fixed 'two words'

        [LIST news]
        Owner = editor@example.org
        MemberFile = 00000001
        """ % (os.sys.executable, program))
    members(site, ["a@example.net", "b@example.net", "c@example.net", "d@example.net"])
    site.drop(post("a@example.net").replace("\r\n", "\n"))
    site.run(now=NOW)
    site.fake_log = str(tmp_path / "fake.log")
    return site


def fake_deliver(site, says="", status=0):
    env = {"FAKE_LOG": site.fake_log, "FAKE_SAYS": says, "FAKE_EXIT": str(status)}
    return site.tristero("deliver", env=env, check=False)


def test_deliver_command_gets_the_whole_file_on_stdin_and_only_the_ini_argv(fake):
    files = {}
    for name in fake.listdir("spool", "out", "new"):
        with open(fake.path("spool", "out", "new", name), "rb") as f:
            files[name] = f.read()
    assert fake_deliver(fake).returncode == 0
    with open(fake.fake_log) as f:
        calls = [eval(line) for line in f]
    assert [argv for argv, _ in calls] == [["--fixed", "two words"]] * 2
    assert [data for _, data in calls] == [files[n] for n in sorted(files)]
    assert fake.listdir("spool", "out", "new") == []


def test_an_smtp_refusal_from_the_deliver_command_fails_the_file_with_a_report(fake):
    p = fake_deliver(fake, '554 5.6.0 message refused|Transaction started in line 0|Error detected in line 3', 2)
    assert p.returncode == 0
    assert "failed for <a@example.net>: 554 5.6.0 message refused" in fake.log()
    # The report went to the program too (the same deliver sends it), to the post's sender.
    reports = []
    for name in fake.listdir("spool", "out", "cur"):
        with open(fake.path("spool", "out", "cur", name), "rb") as f:
            b = spools.BsmtpFile.parse(f.read())
        if b.sender == "" and b.recipients == ["owner-news@example.org"]:
            reports.append(b)
    assert len(reports) == 2 and all(b"5.6.0 message refused" in b.data for b in reports)


@pytest.mark.parametrize("says,status", [("421 try later", 2), ("", 1), ("", 75), ("garbage", 3)])
def test_a_deliver_command_without_a_permanent_answer_defers_the_file(fake, says, status):
    before = fake.listdir("spool", "out", "new")
    assert fake_deliver(fake, says, status).returncode == 0
    assert fake.listdir("spool", "out", "new") == before
    assert "deferred for 2 recipient(s)" in fake.log()
    assert fake.listdir("spool", "out", "cur") == []


def test_a_deliver_command_that_cannot_be_run_keeps_the_files_and_exits_75(site):
    with open(site.path("tristero.ini"), "a") as f:
        f.write("[Delivery]\nDeliverCommand = /nonexistent/exim -bS\n")
    members(site, ["a@example.net"], extra="[LIST news]\nOwner = editor@example.org\nMemberFile = 00000001\n")
    site.drop(post("a@example.net").replace("\r\n", "\n"))
    site.run(now=NOW)
    before = site.listdir("spool", "out", "new")
    p = site.tristero("deliver", check=False)
    assert p.returncode == 75
    assert b"cannot run DeliverCommand" in p.stderr
    assert site.listdir("spool", "out", "new") == before


# --- tristero.py maps ----------------------------------------------------------------------

LISTS = """\
    [LIST news]
    Owner = editor@example.org
    MemberFile = 00000001

    [LIST Chat-L]
    Owner = editor@example.org
    MemberFile = 00000002
    """

EXPECTED = {"postmaster", "administrator", "tristero", "tristero-probe", "listproc", "listserv", "majordomo",
            "news", "news-request", "news-owner", "owner-news", "news-approval",
            "chat-l", "chat-l-request", "chat-request", "chat-l-owner", "owner-chat-l", "chat-l-approval"}


def test_maps_for_exim_loaded_into_exim_deliver_every_address_of_the_site_to_the_spool():
    mx2 = Exim().prepare()
    try:
        s = TestSite(mx2.site_home)
        s.write_ini("[Globals]\nDomain = example.org\nSuperUser = boss@example.com\n\n" + LISTS.replace("    ", ""))
        out = s.tristero("maps", "--exim").stdout.decode()
        routers, transports = out.split("# --- the transport")
        mx2.routers, mx2.transports = routers, "# --- the transport" + transports
        mx2.launch()
        alice = mx2.mailbox("alice")
        verp = "owner-news+bob=members.test+abc123@example.org"
        rcpts = ["%s@example.org" % lp for lp in sorted(EXPECTED)] + [verp, "nobody-here@example.org"]
        smtp_send(mx2, alice, rcpts, post(alice))
        landed = []
        for name in s.listdir("spool", "in", "new"):
            with open(s.path("spool", "in", "new", name), "rb") as f:
                m = parse(f.read())
            landed.append(m["X-Original-To"])
            assert m["Return-path"] == "<%s>" % alice and m["Envelope-to"] == m["X-Original-To"]
        assert sorted(landed) == sorted(rcpts[:-1])
        # An address that is not the site's: Exim's own bounce to the sender, not the spool.
        (bounce,) = mx2.delivered("alice")
        assert b"nobody-here@example.org" in bounce and parse(bounce)["Return-path"] == "<>"
        # Every address the map sends in is one Tristero answers.
        s.run(now=NOW)
        assert "unknown address" not in s.log()
    finally:
        mx2.stop()


def test_maps_for_postfix_are_main_cf_lines_and_a_table_of_every_address(site):
    site.write_ini(BASE_INI_DOMAINS + LISTS.replace("    ", ""))
    os.makedirs(site.path("spool", "in"), exist_ok=True)
    p = site.tristero("maps", "--postfix")
    text = p.stdout.decode()
    main_cf, table = text.split("# --- /etc/postfix/main.cf")[1].split("# --- /etc/postfix/tristero_mailbox")
    settings = {}
    for line in main_cf.splitlines()[1:]:
        if line.startswith("#") or not line.strip():
            continue
        # postconf reads '#' only at the start of a line: a comment after a value is fatal.
        assert "#" not in line, line
        key, _, value = line.partition(" = ")
        settings[key] = value
    st = os.stat(site.path("spool", "in"))
    assert settings == {"virtual_mailbox_domains": "example.org, lists.example.net",
                        "virtual_mailbox_base": site.home,
                        "virtual_mailbox_maps": "texthash:/etc/postfix/tristero_mailbox",
                        "virtual_uid_maps": "static:%d" % st.st_uid,
                        "virtual_gid_maps": "static:%d" % st.st_gid,
                        "recipient_delimiter": "+"}
    assert "mydestination" in text.split("# --- /etc/postfix/main.cf")[0]
    entries = [line.split() for line in table.splitlines()[1:] if line.strip()]
    assert all(len(e) == 2 and e[1] == "spool/in/" for e in entries)
    assert sorted(e[0] for e in entries) == sorted("%s@%s" % (lp, d) for lp in EXPECTED
                                                   for d in ("example.org", "lists.example.net"))
    assert "--exim" not in text and "tristero_spool" not in text


def test_maps_says_that_root_cannot_be_the_delivery_user(site):
    if os.geteuid() != 0:
        pytest.skip("the site belongs to root only when the tests run as root")
    p = site.tristero("maps")
    assert b"belongs to root" in p.stderr
    assert b"virtual_mailbox_maps" in p.stdout and b"tristero_spool:" in p.stdout


BASE_INI_DOMAINS = """\
[Globals]
Domain = example.org
Domains = lists.example.net
SuperUser = boss@example.com

"""
