"""tristero.py deliver against a real SMTP server (aiosmtpd) and a real sendmail program."""

import email
import json
import os
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tristero.model import locks, spools

# deliver runs as a real process: against a real server, killed at its disk steps.
pytestmark = pytest.mark.subprocess

GLOBALS = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 3
LogLevel = 2
"""

SENDER = "owner-news@example.org"

# Lines starting with "." in every form: the server must get each with one dot less
# than the BSMTP file holds, i.e. exactly as written here.
MESSAGE = (b"From: editor@example.org\nTo: news@example.org\nSubject: Issue 7\n"
           b"Message-ID: <issue7@example.org>\n\nFirst line.\n.leading dot\n..two dots\n.\nlast line\n")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Scripted:
    """An SMTP handler that answers RCPT and DATA from a script and records what it took.
    It offers PIPELINING (aiosmtpd reads pipelined commands but does not say so) unless
    pipelining=False, and records, at each MAIL, the commands that had already arrived
    behind it (.behind_mail): a pipelining client's RCPTs and DATA are there."""

    def __init__(self, rcpt=None, data=None, mail=None, pipelining=True):
        self.rcpt = {a: list(replies) for a, replies in (rcpt or {}).items()}
        self.data = list(data or [])
        self.mail = list(mail or [])
        self.pipelining = pipelining
        self.received = []      # (mail_from, rcpt_tos, content, session, ehlo name, auth login)
        self.behind_mail = []   # [command verbs already received when MAIL was read]
        self.mail_options = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # What the server's reader holds at this moment: sent before MAIL was answered.
        waiting = bytes(server._reader._buffer).decode("ascii", "replace").split("\r\n")
        self.behind_mail.append([line.split(":")[0].split(" ")[0] for line in waiting if line])
        self.mail_options.append(list(mail_options))
        if self.mail:
            return self.mail.pop(0)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        replies = self.rcpt.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data:
            return self.data.pop(0)
        login = session.auth_data.login if session.authenticated else None
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                              id(session), session.host_name, login))
        return "250 OK"

    def to(self, address):
        """Messages received for address, parsed."""
        return [email.message_from_bytes(c, policy=policy.default)
                for _, rcpts, c, *_ in self.received if address in rcpts]


@pytest.fixture
def smtp():
    """A running SMTP server on 127.0.0.1; .handler is its Scripted handler."""
    servers = []

    def start(port=None, **kw):
        c = Controller(kw.pop("handler", None) or Scripted(), hostname=kw.pop("host", "127.0.0.1"),
                       port=port or free_port(), **kw)
        c.start()
        servers.append(c)
        return c
    start.servers = servers
    yield start
    for c in servers:
        c.stop()


def configure(site, port, delivery="", host="127.0.0.1"):
    site.write_ini(GLOBALS + "[Delivery]\nSmtpHost = %s\nSmtpPort = %d\nSmtpTimeout = 5\n%s"
                   % (host, port, delivery))


def spool(site, recipients, sender=SENDER, message=MESSAGE, name="1700000000.T1.tristero"):
    """Put one BSMTP file into spool/out/new; returns its path."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(site.path("spool", "out", sub), exist_ok=True)
    path = site.path("spool", "out", "new", name)
    with open(path, "wb") as f:
        f.write(spools.bsmtp(sender, recipients, spools.dot_stuff(message)))
    return path


def out(site, folder):
    return site.listdir("spool", "out", folder)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def crlf(data):
    return data.replace(b"\n", b"\r\n")


def deliver(site, **kw):
    p = site.tristero("deliver", check=False, **kw)
    assert b"Traceback" not in p.stderr, p.stderr.decode()
    return p


def test_delivered_file_moves_to_cur_and_the_server_gets_the_message_exactly(site, smtp):
    server = smtp()
    configure(site, server.port)
    spool(site, ["a@example.net", "b@example.com"])
    p = deliver(site)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b""
    [(mail_from, rcpts, content, *_)] = server.handler.received
    assert (mail_from, rcpts) == (SENDER, ["a@example.net", "b@example.com"])
    assert content == crlf(MESSAGE)
    assert out(site, "new") == [] and out(site, "cur") == ["1700000000.T1.tristero:2,S"]
    assert "1700000000.T1.tristero from <owner-news@example.org> delivered to 2 recipient(s)" in site.log()


def test_one_connection_serves_every_file_and_says_the_site_domain_in_ehlo(site, smtp):
    server = smtp()
    configure(site, server.port, "Connections = 1\n")
    for n in range(3):
        spool(site, ["r%d@example.net" % n], name="170000000%d.T1.tristero" % n)
    assert deliver(site).returncode == 0
    received = server.handler.received
    assert [r[1] for r in received] == [["r0@example.net"], ["r1@example.net"], ["r2@example.net"]]
    assert len({r[3] for r in received}) == 1
    assert {r[4] for r in received} == {"example.org"}


def test_421_mid_file_is_answered_by_connecting_again_and_sending_the_file(site, smtp):
    # Before: the file stayed for the next deliver. Now the run goes on with it at once.
    handler = Scripted(data=["421 4.3.2 shutting down"])
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 1\n")
    spool(site, ["a@example.net"])
    spool(site, ["b@example.net"], name="1700000001.T1.tristero")
    assert deliver(site).returncode == 0
    assert [r[1] for r in handler.received] == [["a@example.net"], ["b@example.net"]]
    # a on a new connection (the 421 one is closed), b on that same new one.
    assert len({r[3] for r in handler.received}) == 1
    assert out(site, "new") == [] and len(out(site, "cur")) == 2
    assert "421 4.3.2 shutting down" not in site.log() or "failed" not in site.log()


class Dropping(Scripted):
    """Closes the connection without a word at the first DATA."""

    dropped = 0

    async def handle_DATA(self, server, session, envelope):
        if not self.dropped:
            self.dropped += 1
            server.transport.close()
            return "250 never seen"
        return await super().handle_DATA(server, session, envelope)


def test_connection_dropped_mid_file_is_opened_again_and_the_file_sent(site, smtp):
    handler = Dropping()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 1\n")
    spool(site, ["a@example.net", "b@example.net"])
    spool(site, ["c@example.net"], name="1700000001.T1.tristero")
    assert deliver(site).returncode == 0
    assert handler.dropped == 1
    assert [r[1] for r in handler.received] == [["a@example.net", "b@example.net"], ["c@example.net"]]
    assert out(site, "new") == [] and len(out(site, "cur")) == 2


def test_connection_dropped_twice_for_a_file_defers_it_and_the_run_goes_on(site, smtp):
    class DropsA(Scripted):
        async def handle_DATA(self, server, session, envelope):
            if "a@example.net" in envelope.rcpt_tos:
                server.transport.close()
                return "250 never seen"
            return await super().handle_DATA(server, session, envelope)
    handler = DropsA()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 1\n")
    path = spool(site, ["a@example.net"])
    spool(site, ["b@example.net"], name="1700000001.T1.tristero")
    assert deliver(site).returncode == 0
    assert [r[1] for r in handler.received] == [["b@example.net"]]
    assert out(site, "new") == ["1700000000.T1.tristero"] and os.path.exists(path)
    assert "deferred for 1 recipient(s), <a@example.net>: 451 4.4.2 connection lost" in site.log()


def test_verbose_deliver_prints_a_summary(site, smtp):
    server = smtp(handler=Scripted(rcpt={"c@example.net": ["450 4.2.1 later"]}))
    configure(site, server.port)
    spool(site, ["a@example.net", "c@example.net"])
    p = site.tristero("deliver", "-v")
    assert p.stderr.decode().splitlines()[-1] == "deliver: 1 files, 1 recipients delivered, 1 deferred, 0 failed"


def test_unreachable_server_leaves_the_file_and_the_next_deliver_sends_it(site, smtp):
    port = free_port()
    configure(site, port)
    path = spool(site, ["a@example.net"])
    spool(site, ["b@example.net"], name="1700000001.T1.tristero")
    before = read(path)
    p = deliver(site)
    # 75: try again later, with one line that cron mails to someone (CONTRACT §7).
    assert p.returncode == 75
    [line] = p.stderr.decode().splitlines()
    assert "cannot connect to 127.0.0.1:%d" % port in line and "2 file(s) stay queued" in line
    assert read(path) == before and out(site, "new") == ["1700000000.T1.tristero", "1700000001.T1.tristero"]
    assert "cannot connect to 127.0.0.1:%d" % port in site.log()
    assert "2 file(s) stay queued for the next deliver" in site.log()
    server = smtp(port)
    assert deliver(site).returncode == 0
    assert [r[1] for r in server.handler.received] == [["a@example.net"], ["b@example.net"]]
    assert out(site, "new") == []


def test_temporary_refusal_retries_only_that_recipient(site, smtp):
    handler = Scripted(rcpt={"slow@example.net": ["450 4.2.1 mailbox busy"]})
    server = smtp(handler=handler)
    configure(site, server.port)
    path = spool(site, ["a@example.net", "slow@example.net", "b@example.net"])
    first_try = int(time.time()) - 3600
    os.utime(path, (first_try, first_try))
    assert deliver(site).returncode == 0
    assert out(site, "new") == ["1700000000.T1.tristero"] and out(site, "cur") == []
    kept = spools.BsmtpFile.parse(read(path))
    assert (kept.sender, kept.recipients, kept.data) == (SENDER, ["slow@example.net"], MESSAGE)
    # The file's age is kept, so that RetryDays counts from the first try.
    assert os.stat(path).st_mtime == first_try
    assert "deferred for 1 recipient(s), <slow@example.net>: 450 4.2.1 mailbox busy" in site.log()
    assert deliver(site).returncode == 0
    assert [r[1] for r in handler.received] == [["a@example.net", "b@example.net"], ["slow@example.net"]]
    assert out(site, "new") == [] and out(site, "cur") == ["1700000000.T1.tristero:2,S"]


def test_permanent_refusal_reports_to_the_sender_and_is_not_retried(site, smtp):
    handler = Scripted(rcpt={"gone@example.net": ["550 5.1.1 no such user"]})
    server = smtp(handler=handler)
    configure(site, server.port)
    spool(site, ["a@example.net", "gone@example.net"])
    assert deliver(site).returncode == 0
    assert handler.received[0][1] == ["a@example.net"]
    # The report is a file of its own in the spool, sent from <> in the same run.
    [report_name] = [n for n in out(site, "cur") if not n.startswith("1700000000.T1")]
    report = spools.BsmtpFile.parse(read(site.path("spool", "out", "cur", report_name)))
    assert (report.sender, report.recipients) == ("", [SENDER])
    assert handler.received[1][:2] == ("<>", [SENDER])
    [dsn] = handler.to(SENDER)
    assert dsn["Subject"] == "Undelivered mail: Issue 7"
    assert dsn["Auto-Submitted"] == "auto-replied" and dsn["From"].addresses[0].addr_spec == "tristero@example.org"
    assert dsn.get_content_type() == "multipart/report"
    text = dsn.get_body(("plain",)).get_content()
    assert "<gone@example.net>: 550 5.1.1 no such user" in text and "<issue7@example.org>" in text
    status = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"][0]
    [fields, rcpt] = status.get_payload()
    assert fields["Reporting-MTA"] == "dns; example.org"
    assert (rcpt["Final-Recipient"], rcpt["Action"], rcpt["Status"]) == ("rfc822; gone@example.net", "failed", "5.1.1")
    assert "failed for <gone@example.net>: 550 5.1.1 no such user" in site.log()
    assert out(site, "new") == []
    assert deliver(site).returncode == 0 and len(handler.received) == 2


@pytest.mark.parametrize("reply, stays", [("451 4.3.0 queue full", True), ("554 5.6.0 content rejected", False)])
def test_refusal_of_the_data_keeps_the_file_or_reports_it(site, smtp, reply, stays):
    handler = Scripted(data=[reply])
    server = smtp(handler=handler)
    configure(site, server.port)
    path = spool(site, ["a@example.net", "b@example.net"])
    before = read(path)
    assert deliver(site).returncode == 0
    if stays:
        assert read(path) == before and handler.received == []
    else:
        # A refusal after DATA is the message's, not its recipients': no delivery report
        # to the bounce address (it would charge every member), one report to a person
        # (the SuperUser here: this site has no list "news" whose owner it could be).
        assert out(site, "new") == [] and handler.to(SENDER) == []
        [report] = handler.to("boss@example.org")
        text = report.get_body(("plain",)).get_content()
        assert "554 5.6.0 content rejected" in text and "after the message's data was sent" in text
        assert "2 recipient(s)" in text


def test_file_still_deferred_after_retry_days_is_given_up_with_a_report(site, smtp):
    handler = Scripted(rcpt={"slow@example.net": ["452 4.2.2 mailbox full"] * 3})
    server = smtp(handler=handler)
    configure(site, server.port, "RetryDays = 2\n")
    path = spool(site, ["slow@example.net"])
    young = time.time() - 86400
    os.utime(path, (young, young))
    assert deliver(site).returncode == 0
    assert out(site, "new") == ["1700000000.T1.tristero"]
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    assert deliver(site).returncode == 0
    assert "1700000000.T1.tristero:2,S" in out(site, "cur")
    [dsn] = handler.to(SENDER)
    text = dsn.get_body(("plain",)).get_content()
    assert "For more than 2 days" in text and "<slow@example.net>: 452 4.2.2 mailbox full" in text
    status = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"][0]
    assert status.get_payload()[1]["Status"] == "4.4.7"
    assert "(given up)" in site.log()


def test_failure_of_null_sender_mail_is_reported_to_the_superuser_only_once(site, smtp):
    handler = Scripted(rcpt={"gone@example.net": ["550 5.1.1 no such user"],
                             "boss@example.org": ["550 5.1.1 no boss here"]})
    server = smtp(handler=handler)
    configure(site, server.port)
    spool(site, ["gone@example.net"], sender="")
    assert deliver(site).returncode == 0
    # The report to the SuperUser fails too: that is logged, never reported again.
    assert handler.received == []
    assert len(out(site, "cur")) == 2 and out(site, "new") == []
    log = site.log()
    assert "failed for <gone@example.net>" in log and "failed for <boss@example.org>" in log
    assert "no delivery report: the failed mail had a null sender" in log


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_server(smtp, certificate, **kw):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"tristero", b"s3cret")
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return smtp(tls_context=context, require_starttls=True, auth_require_tls=True,
                authenticator=authenticator, **kw)


AUTH = "SmtpStartTLS = Y\nSmtpUser = tristero\nSmtpPassword = s3cret\n"


def test_starttls_and_login(site, smtp, certificate):
    server = tls_server(smtp, certificate)
    configure(site, server.port, AUTH)
    spool(site, ["a@example.net"])
    assert deliver(site, env={"SSL_CERT_FILE": certificate[0]}).returncode == 0
    [(mail_from, rcpts, content, _, _, login)] = server.handler.received
    assert (rcpts, content, login) == (["a@example.net"], crlf(MESSAGE), b"tristero")
    assert out(site, "new") == []


def test_untrusted_certificate_keeps_the_file(site, smtp, certificate):
    server = tls_server(smtp, certificate)
    configure(site, server.port, AUTH)
    path = spool(site, ["a@example.net"])
    before = read(path)
    assert deliver(site).returncode == 75        # the server cannot be used: try again later
    assert server.handler.received == [] and read(path) == before
    assert "CERTIFICATE_VERIFY_FAILED" in site.log()


def test_wrong_password_keeps_the_file(site, smtp, certificate):
    server = tls_server(smtp, certificate)
    configure(site, server.port, AUTH.replace("s3cret", "guess"))
    spool(site, ["a@example.net"])
    assert deliver(site, env={"SSL_CERT_FILE": certificate[0]}).returncode == 75
    assert server.handler.received == [] and out(site, "new") == ["1700000000.T1.tristero"]
    assert "535" in site.log()


def accept_anyone(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True, auth_data=auth_data)


def outside_address():
    """An address of this machine that is not loopback, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))     # no packet is sent: this only picks a route
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_password_is_never_sent_in_clear_beyond_this_machine(site, smtp):
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    server = smtp(host=address, port=free_port(address), auth_require_tls=False,
                  authenticator=accept_anyone)
    configure(site, server.port, "SmtpUser = tristero\nSmtpPassword = s3cret\n", host=address)
    spool(site, ["a@example.net"])
    assert deliver(site).returncode == 75
    assert server.handler.received == [] and out(site, "new") == ["1700000000.T1.tristero"]
    assert "will not send SmtpPassword to %s:%d without TLS" % (address, server.port) in site.log()


def test_password_may_go_in_clear_to_loopback(site, smtp):
    server = smtp(auth_require_tls=False, authenticator=accept_anyone)
    configure(site, server.port, "SmtpUser = tristero\nSmtpPassword = s3cret\n")
    spool(site, ["a@example.net"])
    assert deliver(site).returncode == 0
    assert server.handler.received[0][5] == b"tristero"


FAKE_SENDMAIL = """\
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
data = sys.stdin.buffer.read()
with open(os.path.join(here, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"argv": sys.argv[1:], "stdin": data.decode("latin-1")}) + "\\n")
code = int(open(os.path.join(here, "exit")).read()) if os.path.exists(os.path.join(here, "exit")) else 0
if code:
    sys.stderr.write("fake sendmail: no\\n")
sys.exit(code)
"""


@pytest.fixture
def sendmail(tmp_path, site):
    """A sendmail program that records its calls; .exit(n) sets its exit status; .calls() reads them."""
    d = tmp_path / "sendmail"
    d.mkdir()
    (d / "sendmail.py").write_text(FAKE_SENDMAIL)

    class Fake:
        command = "%s %s" % (shlex.quote(sys.executable), shlex.quote(str(d / "sendmail.py")))

        def configure(self, arguments):
            site.write_ini(GLOBALS + "[Delivery]\nSmtpTimeout = 5\nSendmailCommand = %s %s\n"
                           % (self.command, arguments))

        def exit(self, code):
            (d / "exit").write_text(str(code))

        def calls(self):
            if not (d / "calls.jsonl").exists():
                return []
            return [json.loads(line) for line in (d / "calls.jsonl").read_text().splitlines()]
    return Fake()


def test_sendmail_command_gets_sender_recipients_and_the_message(site, sendmail):
    sendmail.configure("-i -f {sender} -- {recipients} --end")
    spool(site, ["a@example.net", "b@example.net"])
    assert deliver(site).returncode == 0
    [call] = sendmail.calls()
    assert call["argv"] == ["-i", "-f", SENDER, "--", "a@example.net", "b@example.net", "--end"]
    assert call["stdin"].encode("latin-1") == MESSAGE
    assert out(site, "cur") == ["1700000000.T1.tristero:2,S"]


def test_sendmail_command_without_recipients_placeholder_appends_them_and_null_sender_is_angles(site, sendmail):
    sendmail.configure("-i -f{sender}")
    spool(site, ["a@example.net"], sender="")
    assert deliver(site).returncode == 0
    assert sendmail.calls()[0]["argv"] == ["-i", "-f<>", "a@example.net"]


def test_sendmail_command_exit_75_keeps_the_file(site, sendmail):
    sendmail.configure("-i -f {sender} -- {recipients}")
    path = spool(site, ["a@example.net"])
    before = read(path)
    sendmail.exit(75)
    assert deliver(site).returncode == 0
    assert read(path) == before and out(site, "cur") == []
    assert "exited with status 75: fake sendmail: no" in site.log()


def test_sendmail_command_other_exit_reports_and_is_not_retried(site, sendmail):
    sendmail.configure("-i -f {sender} -- {recipients}")
    spool(site, ["a@example.net"])
    sendmail.exit(1)
    assert deliver(site).returncode == 0
    calls = sendmail.calls()
    # The file, its report to the sender, and (as that fails too and has a null
    # sender) a report to the SuperUser, whose failure is only logged.
    assert [c["argv"][2:] for c in calls] == [[SENDER, "--", "a@example.net"], ["<>", "--", SENDER],
                                              ["<>", "--", "boss@example.org"]]
    dsn = email.message_from_bytes(calls[1]["stdin"].encode("latin-1"), policy=policy.default)
    assert "exited with status 1: fake sendmail: no" in dsn.get_body(("plain",)).get_content()
    assert out(site, "new") == [] and len(out(site, "cur")) == 3


def test_sendmail_command_never_gets_an_address_that_looks_like_an_option(site, sendmail):
    sendmail.configure("-i -f {sender} {recipients}")
    spool(site, ["a@example.net", "-X/tmp/traffic@example.net"])
    assert deliver(site).returncode == 0
    calls = sendmail.calls()
    assert calls[0]["argv"] == ["-i", "-f", SENDER, "a@example.net"]
    assert all(not a.startswith("-X") for c in calls for a in c["argv"])
    assert "failed for <-X/tmp/traffic@example.net>" in site.log()


def test_busy_lock_exits_75_and_touches_nothing(site):
    site.write_ini(GLOBALS)
    path = spool(site, ["a@example.net"])
    with locks.hold(site.path("spool", "deliver.lock")):
        p = deliver(site)
    assert p.returncode == 75 and os.path.exists(path)


def test_malformed_file_is_moved_aside_never_deleted(site, smtp):
    server = smtp()
    configure(site, server.port)
    os.makedirs(site.path("spool", "out", "new"))
    with open(site.path("spool", "out", "new", "1600000000.T0.tristero"), "wb") as f:
        f.write(b"HELO nonsense\nthis is not BSMTP\n")
    spool(site, ["a@example.net"])
    assert deliver(site).returncode == 0
    assert out(site, "bad") == ["1600000000.T0.tristero"]
    assert read(site.path("spool", "out", "bad", "1600000000.T0.tristero")) == b"HELO nonsense\nthis is not BSMTP\n"
    assert "1600000000.T0.tristero is not a BSMTP file" in site.log()
    assert server.handler.received[0][1] == ["a@example.net"]


def test_sendmail_command_that_cannot_be_split_is_a_configuration_error(site):
    site.write_ini(GLOBALS + "[Delivery]\nSendmailCommand = /usr/sbin/sendmail -F \"Tristero -f {sender}\n")
    path = spool(site, ["a@example.net"])
    p = deliver(site)
    assert p.returncode == 78 and b"SendmailCommand: No closing quotation" in p.stderr
    assert os.path.exists(path)


def test_deliver_on_a_new_site_is_quiet_and_makes_the_spool(site):
    p = deliver(site)
    assert (p.returncode, p.stdout, p.stderr) == (0, b"", b"")
    assert all(os.path.isdir(site.path("spool", "out", sub)) for sub in ("tmp", "new", "cur"))


# --- a killed deliver: nothing lost, at most the transaction on the wire sent twice ---

def _spool_many(site, files, per_file=3):
    expected = []
    for i in range(files):
        rcpts = ["r%d.%d@example.net" % (i, j) for j in range(per_file)]
        spool(site, rcpts, name="1700000000.T%03d.tristero" % i)
        expected += rcpts
    return expected


def _deliveries(handler):
    counts = {}
    for _, rcpts, *_ in handler.received:
        for r in rcpts:
            counts[r] = counts.get(r, 0) + 1
    return counts


def test_deliver_killed_after_each_of_its_disk_steps_never_sends_a_recorded_outcome_again(site, smtp):
    # Each kill lands right after one of deliver's own disk steps (TRISTERO_CRASH_AFTER):
    # an outcome recorded, or a step of committing a batch. The session goes on while a
    # batch is committed (group commit), so a kill in a commit step may find the next
    # transaction on the wire: that one, and only that one, may go again.
    handler = Scripted(rcpt={"r1.1@example.net": ["550 5.1.1 no such user"],
                             "r2.2@example.net": ["451 4.3.0 try later"]})
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 1\n")
    # More files than kills: under load a deliver records several outcomes per group
    # commit, so files may be used up by fewer disk steps (the kills are what is proven).
    expected = _spool_many(site, 16)
    kills = 0
    for step in [1, 2, 3, 1, 2, 4, 3, 1, 5, 2, 3, 1, 2, 6, 1, 3, 2, 4]:
        p = deliver(site, env={"TRISTERO_CRASH_AFTER": str(step)})
        kills += p.returncode == -9
    assert kills >= 10
    while [n for n in out(site, "new") if not n.startswith(".")]:
        assert deliver(site).returncode == 0
    counts = _deliveries(handler)
    # The 451 recipient is tried once more by a later deliver; the 550 one never gets it.
    assert counts.pop("r2.2@example.net") >= 1 and "r1.1@example.net" not in counts
    reports = [c for r, c in counts.items() if r == SENDER]
    assert reports == [1], "one delivery report about r1.1, however often deliver was killed"
    counts.pop(SENDER)
    assert sorted(counts) == sorted(r for r in expected if r not in ("r1.1@example.net", "r2.2@example.net"))
    # Recorded outcomes were finished by the next deliver, not sent again...
    assert "finishing it, not sending it again" in site.log()
    # ...so what went twice is at most the one transaction (3 recipients) on the wire per kill.
    assert sum(n - 1 for n in counts.values()) <= 3 * kills, site.log()
    assert not [n for n in out(site, "new") if n.startswith(".")]


def test_deliver_killed_at_random_instants_loses_nothing_and_repeats_at_most_one_transaction(site):
    # A server that takes its time over DATA, so that kills land on the wire too.
    class Slow(Scripted):
        async def handle_DATA(self, server, session, envelope):
            import asyncio
            await asyncio.sleep(0.02)
            return await super().handle_DATA(server, session, envelope)

    handler = Slow()
    c = Controller(handler, hostname="127.0.0.1", port=free_port())
    c.start()
    try:
        configure(site, c.port, "Connections = 2\n")
        expected = _spool_many(site, 40)
        import random
        rnd = random.Random(7)
        kills = 0
        cmd = [sys.executable, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                            "tristero.py"), "deliver", "--home", site.home]
        while [n for n in out(site, "new") if not n.startswith(".")] and kills < 40:
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.25 + rnd.random() * 0.3)
            if p.poll() is None:
                p.kill()
                kills += 1
            _, err = p.communicate()
            assert b"Traceback" not in err
        while [n for n in out(site, "new") if not n.startswith(".")]:
            assert deliver(site).returncode == 0
    finally:
        c.stop()
    counts = _deliveries(handler)
    assert sorted(counts) == sorted(expected), "nothing lost"
    duplicates = sum(n - 1 for n in counts.values())
    # Each kill may repeat the transaction on the wire in each of the 2 sessions
    # (MaxRecipients = 3 here), no more.
    assert duplicates <= 2 * 3 * kills


# --- the wire: pipelining, sessions at once, RSET, 8BITMIME ---------------------------------

class Counting(Scripted):
    """Counts RSET and NOOP, and the sessions in DATA at once (each waits a little there)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.verbs = {"RSET": 0, "NOOP": 0}
        self.in_data = self.most_in_data = 0

    async def handle_RSET(self, server, session, envelope):
        self.verbs["RSET"] += 1
        return "250 OK"

    async def handle_NOOP(self, server, session, envelope, arg):
        self.verbs["NOOP"] += 1
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        self.in_data += 1
        self.most_in_data = max(self.most_in_data, self.in_data)
        await asyncio.sleep(0.05)
        self.in_data -= 1
        return await super().handle_DATA(server, session, envelope)


def test_mail_rcpts_and_data_are_pipelined_and_kept_connections_reset_not_nooped(site, smtp):
    handler = Counting()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 1\n")
    for n in range(3):
        spool(site, ["a%d@example.net" % n, "b%d@example.net" % n], name="170000000%d.T1.tristero" % n)
    assert deliver(site).returncode == 0
    assert len(handler.received) == 3 and len({r[3] for r in handler.received}) == 1
    # When the server read each MAIL, the RCPTs and DATA had already arrived behind it.
    assert handler.behind_mail == [["RCPT", "RCPT", "DATA"]] * 3
    assert handler.verbs == {"RSET": 2, "NOOP": 0}


def test_without_pipelining_offered_each_command_waits_for_its_answer(site, smtp):
    handler = Scripted(pipelining=False, rcpt={"gone@example.net": ["550 5.1.1 no such user"]})
    server = smtp(handler=handler)
    configure(site, server.port)
    spool(site, ["a@example.net", "gone@example.net"])
    assert deliver(site).returncode == 0
    # The file, then the delivery report about gone@: nothing ever waited behind a MAIL.
    assert handler.behind_mail == [[], []]
    assert handler.received[0][1] == ["a@example.net"]
    assert "failed for <gone@example.net>: 550 5.1.1 no such user" in site.log()


def test_files_are_shared_out_among_connections_sessions_at_once(site, smtp):
    handler = Counting()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 4\n")
    expected = _spool_many(site, 12, per_file=2)
    assert deliver(site).returncode == 0
    assert sorted(_deliveries(handler)) == sorted(expected) and set(_deliveries(handler).values()) == {1}
    assert len({r[3] for r in handler.received}) == 4
    assert handler.most_in_data > 1
    assert out(site, "new") == [] and len(out(site, "cur")) == 12


def test_two_delivers_at_once_never_send_the_same_file(site, smtp):
    handler = Counting()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 2\n")
    expected = _spool_many(site, 20)
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                        "tristero.py"), "deliver", "--home", site.home]
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    second = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    errors = first.communicate(timeout=60)[1] + second.communicate(timeout=60)[1]
    codes = sorted([first.returncode, second.returncode])
    assert b"Traceback" not in errors
    assert codes in ([0, 0], [0, 75])
    while [n for n in out(site, "new") if not n.startswith(".")]:
        assert deliver(site).returncode == 0
    assert sorted(_deliveries(handler)) == sorted(expected) and set(_deliveries(handler).values()) == {1}


EIGHT_BIT = MESSAGE.replace(b"First line.", "Première ligne.".encode("utf-8"))


def spool_8bit(site):
    path = spool(site, ["a@example.net"], message=EIGHT_BIT)
    raw = read(path)
    with open(path, "wb") as f:
        f.write(raw.replace(b"MAIL FROM:<%s>\n" % SENDER.encode(), b"MAIL FROM:<%s> BODY=8BITMIME\n" % SENDER.encode()))
    return path


def test_8bit_file_goes_with_body_8bitmime(site, smtp):
    handler = Scripted()
    server = smtp(handler=handler)
    configure(site, server.port)
    spool_8bit(site)
    assert deliver(site).returncode == 0
    assert handler.mail_options == [["BODY=8BITMIME"]]
    assert handler.received[0][2] == crlf(EIGHT_BIT)


def test_8bit_file_is_deferred_with_the_reason_when_the_server_offers_no_8bitmime(site, smtp):
    handler = Scripted()
    # decode_data: aiosmtpd then offers no 8BITMIME.
    server = smtp(handler=handler, decode_data=True)
    configure(site, server.port)
    path = spool_8bit(site)
    before = read(path)
    assert deliver(site).returncode == 0
    assert handler.received == [] and read(path) == before
    assert "does not offer 8BITMIME: not sent" in site.log()


# --- refusals of the whole message: charged to the post, never to the members ------------

LIST_INI = GLOBALS + """\
[Security]
BounceScore = 1

[LIST news]
Owner = editor@example.net
MemberFile = 00000001
{extra}
[Delivery]
SmtpHost = 127.0.0.1
SmtpPort = {port}
SmtpTimeout = 5
"""

MEMBERS = ["m%d@example.com" % n for n in range(5)]


def news_site(site, port, extra=""):
    site.write_ini(LIST_INI.format(port=port, extra=extra))
    with open(site.path("tristero.key"), "wb") as f:
        f.write(b"k" * 32)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in MEMBERS))
    site.drop("From: m0@example.com\nTo: news@example.org\nSubject: Meeting\nMessage-ID: <post-1@example.com>\n"
              "Date: Sat, 21 Nov 2026 07:00:00 +0000\n\nNoon.\n")
    site.run()


def member_options(site):
    from tristero.model.members import load
    return {a: o for a, o in load("00000001", site.path("lists", "00000001.ini")).items()}


def bounce_mail(handler):
    return [r for r in handler.received for a in r[1] if a.startswith("owner-news")]


@pytest.mark.parametrize("script", [
    {"data": ["550 Administrative prohibition"] * 2},
    {"data": ["552 5.3.4 message has lines too long"] * 2},
    {"mail": ["553 5.7.1 sender rejected"] * 2},
    {"rcpt": {a: ["550 5.7.1 <%s>: Relay access denied" % a] for a in MEMBERS}},
])
def test_a_refusal_of_the_whole_post_is_reported_once_to_the_owner_and_charges_no_member(site, smtp, script):
    handler = Scripted(**script)
    server = smtp(handler=handler)
    news_site(site, server.port)          # 5 members, MaxRecipients 3: two envelopes
    assert len(out(site, "new")) == 2
    assert deliver(site).returncode == 0
    assert out(site, "new") == [] and bounce_mail(handler) == []
    [report] = handler.to("editor@example.net")
    assert [r[0] for r in handler.received] == ["<>"]
    assert report["Subject"] == "Post refused by the mail server: Meeting"
    text = report.get_body(("plain",)).get_content()
    said = (script.get("data") or script.get("mail") or ["550 5.7.1"])[0]
    assert said.split(" <")[0] in text and "news" in text and "<post-1@example.com>" in text
    assert "charged to the post, reported to the owner of news <editor@example.net>" in site.log()
    site.run(now="2026-11-22T10:00:00")
    assert set(member_options(site).values()) == {""}


def test_a_refusal_of_every_post_envelope_with_verp_is_still_one_report(site, smtp):
    handler = Scripted(mail=["553 5.7.1 sender rejected"] * 5)
    server = smtp(handler=handler)
    news_site(site, server.port, "VERP = Y\n")
    assert len(out(site, "new")) == 5
    assert deliver(site).returncode == 0
    assert len(handler.to("editor@example.net")) == 1 and len(handler.received) == 1
    assert site.log().count("already reported to the owner of news") == 4


def test_every_recipient_refused_for_its_own_mailbox_is_no_refusal_of_the_post(site, smtp):
    handler = Scripted(rcpt={a: ["550 5.1.1 <%s>: no such user" % a] for a in MEMBERS})
    server = smtp(handler=handler)
    news_site(site, server.port)
    assert deliver(site).returncode == 0
    # A delivery report per envelope to the bounce address: bounces are counted from those.
    assert handler.to("editor@example.net") == [] and len(bounce_mail(handler)) == 2


def test_sendmail_command_that_cannot_be_run_exits_75_with_one_line(site):
    site.write_ini(GLOBALS + "[Delivery]\nSendmailCommand = /nonexistent/sendmail -i {recipients}\n")
    path = spool(site, ["a@example.net"])
    before = read(path)
    p = deliver(site)
    assert p.returncode == 75
    [line] = p.stderr.decode().splitlines()
    assert "cannot run SendmailCommand" in line and "1 file(s) stay queued" in line
    assert read(path) == before
    p = site.tristero("deliver", "-v", check=False)
    assert p.returncode == 75 and "1 file(s) stay queued" in p.stderr.decode()


def test_a_server_that_takes_fewer_sessions_than_connections_gets_every_file_over_those_it_takes(site, smtp):
    class TwoSessions(Scripted):
        sessions = 0

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            self.sessions += 1
            if self.sessions > 2:
                return ["421 4.7.0 too many sessions from your address"]
            return await super().handle_EHLO(server, session, envelope, hostname, responses)
    handler = TwoSessions()
    server = smtp(handler=handler)
    configure(site, server.port, "Connections = 5\n")
    expected = _spool_many(site, 10)
    assert deliver(site).returncode == 0
    assert sorted(_deliveries(handler)) == sorted(expected) and set(_deliveries(handler).values()) == {1}
    assert len({r[3] for r in handler.received}) == 2
    assert out(site, "new") == []
    assert "one session fewer" in site.log() and "too many sessions" in site.log()
