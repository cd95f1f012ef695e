"""Issue 9, hole 1: secrets never leave. A password given in an Approved: field, in
Majordomo's first line of the body, or to the robot (PASSWORD, SETPASS, approve, PW=)
reaches no post, archive, digest, reply, log or spool/in/cur/ copy; CONFIG SENDFILE
mails only what an administrator would mean to share."""

import base64
import email
import os
import quopri
from email import policy

import pytest

from conftest import mail
from tristero.policy import rights

PW = "S3cretPw"          # the SuperUser's password in these tests
OWNER_PW = "0wnerPass"   # the owner's

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 10
LogLevel = 3

[LIST news]
MemberFile = 00000001
Type = Broadcast
Owner = owner@example.org
Archive = COMPLETE

[LIST chat]
MemberFile = 00000002
Type = Open
Owner = owner@example.org
"""


@pytest.fixture
def ssite(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nreader@example.com =\nd@example.com = DIGEST DAILY SUMMARY MIME 2026-11-20\n")
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\n")
    with open(site.path("access.ini"), "w") as f:
        f.write('"boss@example.org","","","","%s",""\n' % rights.hash_password(PW))
        f.write('"owner@example.org","","","","%s",""\n' % rights.hash_password(OWNER_PW))
    with open(site.path("tristero.key"), "wb") as f:
        f.write(b"K" * 32)
    return site


def everything(site):
    """Every byte the site keeps or sends: outbound mail, logs, the security trail,
    archives, the processed copies in spool/in/cur, decoded where encoded."""
    blobs = []
    for folder in ("spool/out/new", "logs", "archive", "spool/in/cur", "lists"):
        for root, _, files in os.walk(site.path(*folder.split("/"))):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blobs.append((os.path.join(root, name), f.read()))
    for path in (site.path("logs", "security.at"),):
        if os.path.exists(path):
            with open(path, "rb") as f:
                blobs.append((path, f.read()))
    decoded = []
    for path, data in blobs:
        decoded.append((path, data))
        if "spool" in path or "archive" in path:
            for chunk in data.split(b"\nFrom ") if "archive" in path else [data]:
                msg = email.message_from_bytes(chunk, policy=policy.default)
                decoded.append((path + " (subject)", str(msg.get("Subject", "")).encode()))
                for part in msg.walk():
                    if not part.is_multipart():
                        payload = part.get_payload(decode=True) or b""
                        decoded.append((path + " (decoded)", payload))
                        for codec in ("utf-16", "utf-8"):
                            try:
                                decoded.append((path + " (" + codec + ")", payload.decode(codec).encode()))
                            except UnicodeDecodeError:
                                pass
                        if part.get_content_type() == "message/rfc822" or part.get_content_maintype() == "message":
                            decoded.append((path + " (inner)", part.as_bytes()))
    return decoded


def assert_nowhere(site, *secrets):
    found = [(path, s) for path, data in everything(site) for s in secrets if s.encode() in data]
    assert found == []


def reply_text(site, to):
    found = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    assert found, [m["Subject"] for m in site.messages_to(to)]
    return "\n".join(m.get_body(("plain",)).get_content() for m in found)


def cur(site):
    """The processed copies in spool/in/cur: [(name, bytes)]."""
    out = []
    for name in site.listdir("spool", "in", "cur"):
        with open(site.path("spool", "in", "cur", name), "rb") as f:
            out.append((name, f.read()))
    return out


# --- Approved: in a post ----------------------------------------------------------------

def test_an_approved_post_reaches_no_stranger_by_get_search_or_digest(ssite):
    ssite.drop(mail(frm="boss@example.org", to="news@example.org", subject="Tonight",
                    headers="Approved: %s\n" % PW, body="The meeting is at eight.\n"))
    ssite.run()
    posts = ssite.messages_to("reader@example.com")
    assert len(posts) == 1 and "meeting is at eight" in posts[0].get_content()
    assert posts[0]["Approved"] is None
    ssite.drop(mail(frm="stranger@evil.example", body="get news 20261121\nsearch news meeting\n"
                                                       "search news Approved\n"))
    ssite.run(now="2026-11-22T10:00:00")
    text = reply_text(ssite, "stranger@evil.example")
    assert "OK" in text and "meeting" in text
    [got] = [m for m in ssite.messages_to("stranger@evil.example") if m["Subject"].startswith("Re:")]
    files = [p.get_payload(decode=True) for p in got.iter_attachments()]
    assert files and b"meeting is at eight" in b"".join(files)
    digest = [m for m in ssite.messages_to("d@example.com") if "igest" in m["Subject"]]
    assert len(digest) == 1 and "Tonight" in digest[0].as_string()
    assert_nowhere(ssite, PW)
    # Kept in spool/in/cur all the same, the password starred.
    [(_, kept)] = [c for c in cur(ssite) if b"Tonight" in c[1]]
    assert b"Approved: ********\n" in kept and b"The meeting is at eight." in kept


def test_an_approve_field_of_a_post_is_taken_out_too(ssite):
    raw = mail(frm="boss@example.org", to="news@example.org", subject="Field form",
               headers="Approve: %s\n" % PW, body="Text.\n")
    ssite.drop(raw)
    ssite.run()
    assert len(ssite.messages_to("reader@example.com")) == 1
    assert_nowhere(ssite, PW)
    [(_, kept)] = cur(ssite)
    assert kept == raw.replace(PW, "********").encode()          # otherwise byte for byte


def test_a_wrong_approved_password_is_never_echoed(ssite):
    ssite.drop(mail(frm="boss@example.org", to="news@example.org", subject="Forged",
                    headers="Approved: Wr0ngGuess\n", body="x\n"))
    ssite.run()
    assert ssite.messages_to("reader@example.com") == []
    assert "Not posted" in " ".join(m["Subject"] for m in ssite.messages_to("boss@example.org"))
    assert_nowhere(ssite, "Wr0ngGuess")


# --- Majordomo's first line of the body ------------------------------------------------------

@pytest.mark.parametrize("body", [
    "Approved: %s\nThe meeting is at eight.\n" % PW,
    "Approved: %s\n\nThe meeting is at eight.\n" % PW,
    "\napproved:   %s  \n\nThe meeting is at eight.\n" % PW,
    "Approved: %s\nFrom: boss@example.org\nSubject: Tonight\n\nThe meeting is at eight.\n" % PW,
], ids=["line", "line and blank", "case and blanks", "before the real header"])
def test_the_first_line_approval_approves_and_is_taken_out(ssite, body):
    ssite.drop(mail(frm="boss@example.org", to="news@example.org", subject="Tonight", body=body))
    ssite.run()
    [post] = ssite.messages_to("reader@example.com")
    content = post.get_content()
    assert "The meeting is at eight." in content and "pproved" not in content
    ssite.drop(mail(frm="stranger@evil.example", body="get news 20261121\nsearch news meeting\n"))
    ssite.run(now="2026-11-22T10:00:00")
    assert [m for m in ssite.messages_to("d@example.com") if "igest" in m["Subject"]]
    assert_nowhere(ssite, PW)
    kept = [c for n, c in cur(ssite) if b"Tonight" in c][0]
    assert b"********" in kept and b"The meeting is at eight." in kept


def test_a_first_line_approval_in_base64_and_quoted_printable_is_taken_out(ssite):
    for cte, encode in (("base64", base64.encodebytes), ("quoted-printable", quopri.encodestring)):
        body = encode(("Approved: %s\n\nEncoded %s.\n" % (PW, cte)).encode()).decode()
        ssite.drop(mail(frm="boss@example.org", to="news@example.org", subject="Encoded " + cte,
                        headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                                "Content-Transfer-Encoding: %s\n" % cte, body=body))
    ssite.run()
    posts = ssite.messages_to("reader@example.com")
    assert len(posts) == 2 and all("Encoded" in p.get_content() for p in posts)
    ssite.drop(mail(frm="stranger@evil.example", body="get news 20261121\n"))
    ssite.run(now="2026-11-22T10:00:00")
    assert_nowhere(ssite, PW)


# --- the robot's passwords ------------------------------------------------------------------

COMMANDS = ("password {pw}\nwho news\napprove {pw} who chat\nPW={pw}\n"
            "> password {pw}\nsetpass N3wPassword1\nwho chat PW={pw}\npasswd {pw} which\n")


def test_passwords_given_to_the_robot_are_starred_in_replies_logs_and_spool(ssite):
    body = COMMANDS.format(pw=PW)
    ssite.drop(mail(frm="boss@example.org", subject="approve %s who news" % PW, body=body))
    ssite.run()
    text = reply_text(ssite, "boss@example.org")
    assert "> password ********" in text and "> approve ******** who chat" in text
    assert "OK: password accepted" in text and "OK: password set for boss@example.org" in text
    assert_nowhere(ssite, PW, "N3wPassword1")
    [(_, kept)] = cur(ssite)
    assert kept.count(b"********") == 8 and b"who news\n" in kept     # 7 in the text, 1 in the subject


def test_a_subject_command_with_a_password_is_not_echoed_in_the_reply_subject(ssite):
    ssite.drop(mail(frm="owner@example.org", subject="approve %s who chat" % OWNER_PW, body=""))
    ssite.drop(mail(frm="owner@example.org", subject="password %s" % OWNER_PW, body="who chat\n"))
    ssite.run()
    subjects = [m["Subject"] for m in ssite.messages_to("owner@example.org")]
    assert len(subjects) == 2 and all(OWNER_PW not in s for s in subjects)
    assert_nowhere(ssite, OWNER_PW)


@pytest.mark.parametrize("cte", ["base64", "quoted-printable"])
@pytest.mark.parametrize("charset", ["utf-8", "utf-16"])
def test_encoded_command_lines_are_starred_in_the_spool_copy(ssite, cte, charset):
    data = COMMANDS.format(pw=PW).encode(charset)
    body = (base64.encodebytes(data) if cte == "base64" else quopri.encodestring(data)).decode()
    ssite.drop(mail(frm="boss@example.org", subject="commands",
                    headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=%s\n"
                            "Content-Transfer-Encoding: %s\n" % (charset, cte), body=body))
    ssite.run()
    assert "> password ********" in reply_text(ssite, "boss@example.org")
    assert_nowhere(ssite, PW, "N3wPassword1")
    [(_, kept)] = cur(ssite)
    msg = email.message_from_bytes(kept, policy=policy.default)
    assert "who news" in msg.get_content() and msg.get_content().count("********") == 7


def test_command_lines_in_a_multipart_and_html_message_are_starred(ssite):
    raw = ("From: boss@example.org\nTo: tristero@example.org\nSubject: multi\nMessage-ID: <multi@x>\n"
           "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=BB\n\n"
           "--BB\nContent-Type: text/plain\n\npassword %s\nwho news\n"
           "--BB\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n%s"
           "--BB--\n" % (PW, base64.encodebytes(("<p>password&nbsp;%s</p><div>who news</div>" % PW)
                                                .encode()).decode()))
    ssite.drop(raw)
    ssite.run()
    assert "> password ********" in reply_text(ssite, "boss@example.org")
    assert_nowhere(ssite, PW)


# --- CONFIG SENDFILE ------------------------------------------------------------------------

def sendfile(ssite, *lines, pw=PW, frm="boss@example.org"):
    ssite.drop(mail(frm=frm, body=("password %s\n" % pw if pw else "") + "".join(l + "\n" for l in lines)))
    ssite.run()
    return reply_text(ssite, frm)


def sent_to(ssite, address):
    return [m for m in ssite.messages_to(address) if not m["Subject"].startswith("Re:")]


def test_config_sendfile_never_sends_spool_files_or_the_key(ssite):
    ssite.drop(mail(frm="boss@example.org", to="news@example.org", subject="x", headers="Approved: %s\n" % PW))
    ssite.run()
    [name] = ssite.listdir("spool", "in", "cur")
    with open(ssite.path("spool", "in", "cur", "kept"), "wb") as f:     # a name the checks let by
        f.write(b"Approved: " + PW.encode() + b"\n")
    text = sendfile(ssite, "config sendfile spool/in/cur/%s thief@evil.example" % name,
                    "config sendfile spool/in/cur/kept thief@evil.example",
                    "config sendfile spool/lockouts.csv thief@evil.example",
                    "config sendfile %s thief@evil.example" % ssite.path("spool", "in", "cur", "kept"),
                    "config sendfile tristero.key thief@evil.example",
                    "config sendfile %s thief@evil.example" % ssite.path("tristero.key"),
                    "config sendfile spool/in/cur/kept")
    assert text.count("under spool/") == 4 and text.count("the site's secret and is never sent") == 2
    assert text.count("REFUSED") == 7
    assert sent_to(ssite, "thief@evil.example") == [] and sent_to(ssite, "boss@example.org") == []


def test_config_sendfile_sends_a_member_file_only_by_list_name(ssite):
    text = sendfile(ssite, "config sendfile lists/00000002.ini thief@evil.example",
                    "config sendfile %s thief@evil.example" % ssite.path("lists", "00000002.ini"),
                    "config sendfile list chat admin@example.net")
    assert text.count("is a member file: CONFIG SENDFILE LIST name") == 2
    assert sent_to(ssite, "thief@evil.example") == []
    [m] = sent_to(ssite, "admin@example.net")
    [f] = m.iter_attachments()
    assert f.get_filename() == "00000002.ini" and b"carol@example.com" in f.get_payload(decode=True)


def test_config_sendfile_needs_a_superuser_with_a_password(ssite):
    os.remove(ssite.path("access.ini"))
    text = sendfile(ssite, "config sendfile archive/00000001/x.txt thief@evil.example",
                    "config sendfile list chat thief@evil.example", pw=None)
    assert text.count("CONFIG SENDFILE is only for a SuperUser with a password") == 2
    assert sent_to(ssite, "thief@evil.example") == []
    with open(ssite.path("logs", "security.at")) as f:
        assert "CONFIG SENDFILE" in f.read()


def test_config_sendfile_without_the_password_given_is_refused(ssite):
    text = sendfile(ssite, "config sendfile list chat thief@evil.example", pw=None)
    assert "REFUSED" in text and sent_to(ssite, "thief@evil.example") == []


def test_an_approved_post_sent_to_an_owner_address_is_forwarded_with_the_password_starred(ssite):
    ssite.drop(mail(frm="boss@example.org", to="news-owner@example.org", subject="For the owner",
                    headers="Approved: %s\n" % PW, body="approve %s who news\n" % PW))
    ssite.run()
    [fwd] = ssite.messages_to("owner@example.org")
    assert fwd["Approved"] == "********" and "approve ******** who news" in fwd.get_content()
    assert_nowhere(ssite, PW)


def test_command_lines_in_undeclared_utf16_with_a_byte_order_mark_are_starred(ssite):
    raw = (b"From: boss@example.org\nTo: tristero@example.org\nSubject: bom\nMessage-ID: <bom@x>\n"
           b"MIME-Version: 1.0\nContent-Type: text/plain\nContent-Transfer-Encoding: binary\n\n"
           + COMMANDS.format(pw=PW).encode("utf-16"))
    ssite.drop(raw)
    ssite.run()
    assert_nowhere(ssite, PW, "N3wPassword1")
    [(_, kept)] = cur(ssite)
    assert "who news" in kept.split(b"\n\n", 1)[1].decode("utf-16")
