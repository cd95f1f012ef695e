"""The file repository by mail (README "Archive, files and digests"): PUT, GET, FETCH, INDEX,
SEARCH, KILL, CD, CONFIG ATTACH/SENDFILE/PUTFILE, the friendlier messages, Executable
lists; every path-escape attempt; each list type's upload and download cells."""

import hashlib
import os
import urllib.parse

import pytest

import conftest
from conftest import mail

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 10
MaxFileSize = 64
MaxReplySize = 128

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org
Description = News of the day

[LIST staff]
MemberFile = 00000002
Type = Closed
Owner = owner@example.org

[LIST docs]
MemberFile = 00000003
Type = Executable
Owner = owner@example.org
"""

SECRET = b"TOP-SECRET-MARKER"


@pytest.fixture
def rsite(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    for number, members in (("00000001", ["carol@example.com"]), ("00000002", ["owner@example.org"]),
                            ("00000003", ["carol@example.com"])):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join("%s =\n" % a for a in members))
    for number in ("00000000", "00000001", "00000002", "00000003"):
        os.makedirs(site.path("archive", number))
    put_file(site, "00000002/secret.txt", SECRET)
    return site


def put_file(site, rel, data):
    path = site.path("archive", *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def with_files(body, files=(), frm="owner@example.org", to="tristero@example.org", subject="files"):
    """A command message with attachments [(name, bytes)], each name given exactly (RFC 2231)."""
    boundary = "b0undary"
    out = ["From: %s" % frm, "To: %s" % to, "Subject: %s" % subject,
           "Message-ID: <%s@example.net>" % hashlib.sha256((body + repr(files)).encode()).hexdigest()[:16],
           "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="%s"' % boundary, "",
           "--" + boundary, "Content-Type: text/plain; charset=utf-8", "", body]
    for name, data in files:
        import base64
        out += ["--" + boundary, "Content-Type: application/octet-stream",
                "Content-Disposition: attachment; filename*=utf-8''%s" % urllib.parse.quote(name, safe=""),
                "Content-Transfer-Encoding: base64", "", base64.b64encode(data).decode()]
    out += ["--" + boundary + "--", ""]
    return "\n".join(out).encode("utf-8", "surrogateescape")


def fresh(site):
    """Set the outbound spool aside, so the next run's mail is all there is."""
    n = len(site.listdir("spool", "out"))
    os.rename(site.path("spool", "out", "new"), site.path("spool", "out", "seen%d" % n))
    os.makedirs(site.path("spool", "out", "new"))


def reply(site, to="owner@example.org"):
    """(text, [(filename, bytes, content type)]) of the one robot reply to `to`."""
    found = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    assert len(found) == 1, [m["Subject"] for m in site.messages_to(to)]
    msg = found[0]
    files = [(p.get_filename(), p.get_content(), p.get_content_type()) for p in msg.iter_attachments()]
    return msg.get_body(("plain",)).get_content(), files


def leaks(site, secret=SECRET):
    """Where secret went out by mail: each outbound file and each of its MIME parts
    decoded (base64 hides it from the file's bytes), the secret or its base64."""
    import base64
    import email
    from email import policy
    found = []
    for name, b in zip(site.listdir("spool", "out", "new"), site.outbound()):
        if secret in b.data:
            found.append(name)
        for part in email.message_from_bytes(b.data, policy=policy.default).walk():
            payload = b"" if part.is_multipart() else part.get_payload(decode=True) or b""
            if secret in payload or base64.b64encode(secret) in payload:
                found.append("%s: a %s part (%s)" % (name, part.get_content_type(), part.get_filename()))
    return found


def run_commands(site, body, frm="owner@example.org", files=(), to="tristero@example.org"):
    site.drop(with_files(body, files, frm=frm, to=to))
    site.run()
    return reply(site, frm)


# --- PUT -------------------------------------------------------------------------

def test_put_stores_every_attachment_in_a_subfolder_created_as_needed(rsite):
    text, _ = run_commands(rsite, "put news forms/2026", files=[("a.pdf", b"%PDF-1"), ("b.txt", b"bee\n")])
    assert "OK: 2 file(s) stored in news: forms/2026/a.pdf (6 bytes), forms/2026/b.txt (4 bytes)" in text
    assert read(rsite.path("archive", "00000001", "forms", "2026", "a.pdf")) == b"%PDF-1"
    assert read(rsite.path("archive", "00000001", "forms", "2026", "b.txt")) == b"bee\n"


def test_put_keeps_an_existing_file_without_force(rsite):
    put_file(rsite, "00000001/a.txt", b"old")
    text, _ = run_commands(rsite, "put news", files=[("a.txt", b"new")])
    assert "ERROR: 0 file(s) stored" in text and "a.txt exists and was kept (PUT ... FORCE replaces it)" in text
    assert read(rsite.path("archive", "00000001", "a.txt")) == b"old"


def test_put_force_replaces_a_file_for_the_owner(rsite):
    put_file(rsite, "00000001/a.txt", b"old")
    text, _ = run_commands(rsite, "put news FORCE", files=[("a.txt", b"new")])
    assert "OK: 1 file(s) stored in news: a.txt (3 bytes, replaced)" in text
    assert read(rsite.path("archive", "00000001", "a.txt")) == b"new"


def test_put_force_over_someone_elses_file_needs_the_owner(rsite):
    put_file(rsite, "00000001/a.txt", b"old")
    text, _ = run_commands(rsite, "put news force", frm="carol@example.com", files=[("a.txt", b"new")])
    assert "a.txt exists: only the list's owner, a PostMaster or the SuperUser may replace it" in text
    assert read(rsite.path("archive", "00000001", "a.txt")) == b"old"


def test_a_member_uploads_to_an_open_list_and_a_stranger_does_not(rsite):
    text, _ = run_commands(rsite, "put news", frm="carol@example.com", files=[("note.txt", b"hi")])
    assert "OK: 1 file(s) stored in news" in text
    text, _ = run_commands(rsite, "put news", frm="stranger@example.net", files=[("spam.html", b"hi")])
    assert "REFUSED" in text and not os.path.exists(rsite.path("archive", "00000001", "spam.html"))


def test_put_without_attachments_says_so(rsite):
    text, _ = run_commands(rsite, "put news")
    assert "ERROR: PUT stores the files attached to the command message; this message has none" in text


def test_put_over_max_file_size_is_refused_with_the_limit(rsite):
    text, _ = run_commands(rsite, "put news", files=[("big.bin", b"x" * 70000)])
    assert "big.bin is 68.4 KB; at most 64.0 KB is stored (MaxFileSize)" in text
    assert not os.path.exists(rsite.path("archive", "00000001", "big.bin"))


def test_the_lists_own_messages_are_written_by_its_owner_only(rsite):
    text, _ = run_commands(rsite, "put news\nput news welcome\n", frm="carol@example.com",
                           files=[("welcome.txt", b"hijacked")])
    assert text.count("only the list's owner, a PostMaster or the SuperUser may write it") == 2
    assert rsite.listdir("archive", "00000001") == []


def test_filelist_and_listbot_are_written_by_a_postmaster_only(rsite):
    text, _ = run_commands(rsite, "put docs", files=[("FILELIST.TXT", b"/etc/passwd\n"), ("listbot.txt", b"x")])
    assert text.count("acts with the site's authority: only a PostMaster or the SuperUser may write it") == 2
    fresh(rsite)
    text, _ = run_commands(rsite, "put docs", frm="boss@example.org", files=[("FILELIST.TXT", b"a.txt\n")])
    assert "OK: 1 file(s) stored in docs" in text


def test_put_refuses_the_names_of_the_archives_day_files(rsite):
    text, _ = run_commands(rsite, "put news", files=[("20261120.txt", b"forged posts")])
    assert "20261120.txt is a name the archive keeps for its posts" in text


def test_put_needs_the_password_once_one_is_set(rsite):
    run_commands(rsite, "setpass Secret123 FOR carol@example.com", frm="boss@example.org")
    fresh(rsite)
    text, _ = run_commands(rsite, "put news", frm="carol@example.com", files=[("a.txt", b"x")])
    assert "REFUSED: a password is set for carol@example.com" in text
    fresh(rsite)
    text, _ = run_commands(rsite, "password Secret123\nput news", frm="carol@example.com", files=[("a.txt", b"x")])
    assert "OK: 1 file(s) stored in news" in text


def test_a_name_in_any_script_is_stored_and_sent_back_encoded_by_rfc_2231(rsite):
    name = "Résumé 履歴書 ü.pdf"
    run_commands(rsite, "put news", files=[(name, b"%PDF-1.4\x00\x01\x02")])
    assert os.path.exists(rsite.path("archive", "00000001", name))
    fresh(rsite)
    _, files = run_commands(rsite, 'get news "%s"' % name, frm="carol@example.com")
    [raw] = [b.data for b in rsite.outbound()]
    assert b"*=utf-8''R%C3%A9sum%C3%A9%20%E5%B1%A5" in raw
    assert files == [(name, b"%PDF-1.4\x00\x01\x02", "application/pdf")]


# --- GET, FETCH, INDEX, KILL, CD --------------------------------------------------------

def test_get_attaches_files_to_the_reply_as_base64_with_their_type(rsite):
    put_file(rsite, "00000001/logo.png", b"\x89PNG\r\n\x1a\n\x00")
    put_file(rsite, "00000001/minutes.txt", "Caf\u00e9 minutes\n".encode())
    text, files = run_commands(rsite, "get news logo.png minutes.txt", frm="carol@example.com")
    assert "OK: 2 file(s) of news attached: logo.png (9 bytes), minutes.txt (14 bytes)" in text
    assert files == [("logo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png"),
                     ("minutes.txt", "Caf\u00e9 minutes\n", "text/plain")]
    assert b"Content-Transfer-Encoding: base64" in rsite.outbound()[0].data


def test_attach_is_get(rsite):
    put_file(rsite, "00000001/a.txt", b"a")
    _, files = run_commands(rsite, "attach news a.txt", frm="carol@example.com")
    assert [f[0] for f in files] == ["a.txt"]


def test_get_a_day_of_the_archive_by_its_date(rsite):
    put_file(rsite, "00000001/20261120.txt", b"From a@b Fri Nov 20 10:00:00 2026\nSubject: x\n\nhi\n\n")
    _, files = run_commands(rsite, "get news 20261120\nget news 2026-11-20\n", frm="carol@example.com")
    assert [f[0] for f in files] == ["20261120.txt", "20261120.txt"]


def test_get_beyond_max_reply_size_is_refused_with_the_limit(rsite):
    put_file(rsite, "00000001/big.bin", b"x" * 140000)
    text, files = run_commands(rsite, "get news big.bin", frm="carol@example.com")
    assert "REFUSED: 0 file(s) of news attached" in text
    assert "big.bin is 136.7 KB; at most 128.0 KB go in one message (MaxReplySize)" in text
    assert files == []


def test_get_of_a_missing_file_is_an_error(rsite):
    text, _ = run_commands(rsite, "get news nothing.txt", frm="carol@example.com")
    assert "ERROR: 0 file(s) of news attached\n  nothing.txt: there is no file nothing.txt" in text


def test_fetch_sends_each_file_as_a_message_of_its_own_with_a_line_of_text_first(rsite):
    put_file(rsite, "00000001/a.pdf", b"%PDF-a")
    put_file(rsite, "00000001/b.zip", b"PK\x03\x04")
    text, _ = run_commands(rsite, "ftp news a.pdf b.zip", frm="carol@example.com")
    assert "OK: 2 file(s) of news sent, each as a message of its own: a.pdf, b.zip" in text
    alone = [m for m in rsite.messages_to("carol@example.com") if m["Subject"].startswith("news: ")]
    assert [m.get_content_type() for m in alone] == ["multipart/mixed"] * 2
    assert [m.get_body(("plain",)).get_content() for m in alone] == [
        "The file a.pdf of news, as you asked (FETCH a.pdf).\n",
        "The file b.zip of news, as you asked (FETCH b.zip).\n"]
    assert [(m["Subject"], p.get_content_type(), p.get_filename(), p.get_content())
            for m in alone for p in m.iter_attachments()] == [
        ("news: a.pdf", "application/pdf", "a.pdf", b"%PDF-a"),
        ("news: b.zip", "application/zip", "b.zip", b"PK\x03\x04")]
    assert all(m["Auto-Submitted"] == "auto-replied" for m in alone)


def test_index_lists_files_with_sizes_dates_and_the_descriptions_of_index_txt(rsite):
    put_file(rsite, "00000001/index.txt", b"Files of the news list\nreport.pdf   The annual report\n"
                                          b'"two words.txt" A name with a blank\n')
    put_file(rsite, "00000001/report.pdf", b"x" * 1234)
    put_file(rsite, "00000001/two words.txt", b"y")
    put_file(rsite, "00000001/welcome/map.png", b"z")
    put_file(rsite, "00000001/.hidden", b"h")
    text, _ = run_commands(rsite, "index news", frm="carol@example.com")
    assert "OK: 4 file(s) in news\n  Files of the news list\n" in text
    lines = [l.split(None, 1)[1] for l in text.splitlines() if l.startswith("  20")]
    assert lines == ["90  index.txt", "1,234  report.pdf  The annual report",
                     "1  two words.txt  A name with a blank", "1  welcome/map.png"]
    assert ".hidden" not in text


def test_index_with_a_keyword_shows_the_files_it_names(rsite):
    put_file(rsite, "00000001/index.txt", b"report.pdf The annual report\n")
    put_file(rsite, "00000001/report.pdf", b"x")
    put_file(rsite, "00000001/other.txt", b"y")
    text, _ = run_commands(rsite, "index news annual", frm="carol@example.com")
    assert "OK: 1 file(s) in news matching annual" in text and "other.txt" not in text


def test_kill_removes_files_for_the_owner(rsite):
    put_file(rsite, "00000001/old.txt", b"x")
    put_file(rsite, "00000001/20261101.txt", b"posts")
    text, _ = run_commands(rsite, "kill news old.txt 20261101")
    assert "OK: 2 file(s) removed from news: old.txt, 20261101.txt" in text
    assert rsite.listdir("archive", "00000001") == []


def test_kill_by_a_member_is_refused(rsite):
    put_file(rsite, "00000001/old.txt", b"x")
    text, _ = run_commands(rsite, "kill news old.txt", frm="carol@example.com")
    assert "REFUSED: only the list's owner, a PostMaster or the SuperUser may do this" in text
    assert rsite.listdir("archive", "00000001") == ["old.txt"]


def test_kill_of_a_folder_is_refused(rsite):
    put_file(rsite, "00000001/welcome/a.png", b"x")
    text, _ = run_commands(rsite, "kill news welcome")
    assert "welcome is a folder: KILL removes files" in text
    assert rsite.listdir("archive", "00000001", "welcome") == ["a.png"]


def test_cd_sets_the_folder_of_the_file_commands_for_the_rest_of_the_message(rsite):
    put_file(rsite, "00000001/a.txt", b"news file")
    put_file(rsite, "00000000/a.txt", b"default file")
    _, files = run_commands(rsite, "get a.txt\ncd news\nget a.txt\ncd\nget a.txt\n", frm="carol@example.com")
    assert [f[1] for f in files] == ["default file", "news file", "default file"]


def test_with_no_list_named_the_default_archive_is_used(rsite):
    put_file(rsite, "00000000/guide.txt", b"the guide")
    text, files = run_commands(rsite, "index\nget guide.txt\n", frm="stranger@example.net")
    assert "OK: 1 file(s) in the default archive" in text
    assert files == [("guide.txt", "the guide", "text/plain")]


def test_the_request_address_uses_its_lists_folder(rsite):
    put_file(rsite, "00000001/a.txt", b"news file")
    _, files = run_commands(rsite, "get a.txt", frm="carol@example.com", to="news-request@example.org")
    assert [f[1] for f in files] == ["news file"]


def test_file_commands_on_a_closed_list_are_for_members(rsite):
    put_file(rsite, "00000002/a.txt", b"staff file")
    text, files = run_commands(rsite, "index staff\nget staff a.txt\nsearch staff file\n",
                               frm="stranger@example.net")
    assert text.count("REFUSED") == 3 and files == []


# --- SEARCH --------------------------------------------------------------------------

def post(day, frm, subject, body):
    return ("From %s %s\nFrom: %s\nSubject: %s\nDate: %s\n\n%s\n\n" % (frm, day, frm, subject, day, body)).encode()


def test_search_finds_the_posts_that_hold_the_text_newest_first(rsite):
    put_file(rsite, "00000001/20261119.txt", post("Thu", "a@example.net", "Budget", "The BUDGET is late.\nmore"))
    put_file(rsite, "00000001/20261120.txt", post("Fri", "b@example.net", "Picnic", "no match here") +
             post("Fri", "c@example.net", "Re: Budget", "line one\nbudget again\nand budget"))
    text, _ = run_commands(rsite, "grep news budget", frm="carol@example.com")
    assert ('OK: 2 post(s) hold "budget" in the archive of news (2 day file(s) searched, newest first)\n'
            "  2026-11-20  c@example.net: Re: Budget\n"
            "    | Subject: Re: Budget\n    | budget again\n    | and budget\n"
            "  2026-11-19  a@example.net: Budget\n"
            "    | Subject: Budget\n    | The BUDGET is late.\n") in text


def test_search_output_is_bounded(rsite):
    put_file(rsite, "00000001/20261120.txt", b"".join(post("Fri", "a@example.net", "n%d" % i, "needle")
                                                      for i in range(150)))
    text, _ = run_commands(rsite, "find news needle", frm="carol@example.com")
    assert "OK: 150 post(s) hold" in text and "  ... and 50 more post(s)" in text
    assert text.count("\n  2026-11-20") == 100


def test_search_is_no_regular_expression_and_no_shell(rsite):
    put_file(rsite, "00000001/20261120.txt", post("Fri", "a@example.net", "x", "price: $(ls) [a-z]* ok"))
    text, _ = run_commands(rsite, "search news $(ls) [a-z]*", frm="carol@example.com")
    assert "OK: 1 post(s) hold \"$(ls) [a-z]*\"" in text


def test_at_most_five_searches_run_from_one_message(rsite):
    text, _ = run_commands(rsite, "search news abc\n" * 6, frm="carol@example.com")
    assert text.count("OK: 0 post(s)") == 5 and "REFUSED: at most 5 searches" in text


# --- path escapes: none may read or write outside the folder --------------------------------

def snapshot(root, skip):
    """{path: (kind, bytes or link target)} of everything under root but the skipped folders."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for n in dirs + files:
            p = os.path.join(folder, n)
            if os.path.islink(p):
                out[p] = ("link", os.readlink(p))
            elif os.path.isfile(p):
                out[p] = ("file", read(p))
            else:
                out[p] = ("other", None)
    return out


ESCAPES = [
    "../00000002/secret.txt", "../../tristero.ini", "/etc/passwd", "/etc", "docs/../../00000002/secret.txt",
    "..", "../..", "./../00000002/secret.txt", "..\\00000002\\secret.txt", "..\\..\\tristero.ini",
    "C:\\Windows\\win.ini", "c:/etc/passwd", "\\\\server\\share\\x",
    "..\u2215..\u2215tristero.ini", "..\uff0f..\uff0ftristero.ini", "..\u2044..\u2044tristero.ini",
    "..\u29f8..\u29f8tristero.ini", "..\uff3c..\uff3ctristero.ini", "\u2025/00000002/secret.txt",
    "\uff0e\uff0e/00000002/secret.txt", "secret.txt\x00.pdf", "dirlink/secret.txt", "dirlink", "filelink.txt",
    "hardlink.txt", "fifo", "CON", "nul.txt", "aux", "LPT1.doc", "COM\u00b9.txt", "~/.ssh/id_rsa", ".hidden",
    "docs/", "a" * 300, "\u202etxt.exe", "x\ny", "outside/../../../../etc/passwd",
]


@pytest.fixture
def trap(rsite, tmp_path):
    """A list folder full of ways out: links to another list's folder and outside the site,
    a hard link to a secret, a FIFO; returns (site, what must not change)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    folder = rsite.path("archive", "00000001")
    os.symlink(rsite.path("archive", "00000002"), os.path.join(folder, "dirlink"))
    os.symlink(str(outside / "secret.txt"), os.path.join(folder, "filelink.txt"))
    os.symlink(str(outside), os.path.join(folder, "outside"))
    os.link(rsite.path("archive", "00000002", "secret.txt"), os.path.join(folder, "hardlink.txt"))
    os.mkfifo(os.path.join(folder, "fifo"))
    put_file(rsite, "00000001/.hidden", SECRET)
    skip = {rsite.path("spool"), rsite.path("logs"), folder}
    before = (snapshot(rsite.home, skip), snapshot(str(outside), set()), snapshot(folder, set()))
    return rsite, skip, str(outside), folder, before


@pytest.mark.parametrize("name", ESCAPES, ids=[repr(n)[1:-1][:40] for n in ESCAPES])
def test_no_path_escapes_the_lists_folder(trap, name):
    site, skip, outside, folder, before = trap
    # "put news" first: a name that breaks the lines into junk ends the reading (robot).
    body = "put news\nget news %s\nfetch news %s\nkill news %s\nindex news %s\nput news %s\n" % ((
        '"%s"' % name,) * 5)
    site.drop(with_files(body, files=[("x.txt", b"planted"), (name, b"planted")]))
    site.run()
    # Nothing outside the list's folder was written (or removed) ...
    assert snapshot(site.home, skip) == before[0]
    assert snapshot(outside, set()) == before[1]
    # ... inside it, what was there is as it was, and anything new is what was PUT ...
    after = snapshot(folder, set())
    assert {p: after.get(p) for p in before[2]} == before[2]
    assert all(after[p] in (("file", b"planted"), ("other", None)) for p in set(after) - set(before[2]))
    # ... and nothing secret left in any mail.
    assert leaks(site) == []
    for b in site.outbound():
        assert hashlib.sha256(SECRET).hexdigest() not in b.data.decode("ascii", "replace")
    text, files = reply(site)
    assert files == []
    assert "OK: 1 file(s) stored in news: x.txt" in text


@pytest.mark.parametrize("name", ["../outside/secret.txt", "/etc/passwd", "tristero.key", "spool/../../x",
                                  ".git/config", "archive/00000001/filelink.txt"])
def test_config_attach_stays_inside_the_site_and_never_sends_the_secret(trap, name):
    site, skip, outside, folder, before = trap
    with open(site.path("tristero.key"), "wb") as f:
        f.write(SECRET)
    site.drop(mail(frm="boss@example.org", body="config attach %s\nconfig sendfile %s\n" % (name, name)))
    site.run()
    assert leaks(site) == []
    text, files = reply(site, "boss@example.org")
    assert files == [] and text.count("REFUSED") + text.count("ERROR") == 2


# --- CONFIG ATTACH, SENDFILE, PUTFILE ------------------------------------------------------------

def test_config_attach_sends_a_file_of_the_site_to_the_superuser(rsite):
    rsite.drop(mail(frm="boss@example.org", body="config attach tristero.ini"))
    rsite.run()
    _, files = reply(rsite, "boss@example.org")
    assert files == [("tristero.ini", INI.encode(), "application/octet-stream")]


def test_config_attach_of_the_ini_masks_its_secret_values(rsite):
    rsite.write_ini(INI.replace("[Globals]", "[Globals]\nSmtpPassword = relay-secret  # the smarthost's", 1))
    rsite.drop(mail(frm="boss@example.org", body="config attach tristero.ini"))
    rsite.run()
    _, [(name, data, _)] = reply(rsite, "boss@example.org")
    assert b"relay-secret" not in data and b"SmtpPassword = ********\n" in data
    assert b"relay-secret" not in b"".join(b.data for b in rsite.outbound())


def test_config_sendfile_sends_a_file_to_another_address_as_a_message_of_its_own(rsite):
    put_file(rsite, "00000000/ade.csv", b"a,b\n")
    from tristero.policy import rights
    with open(rsite.path("access.ini"), "w") as f:      # SENDFILE: a SuperUser with a password
        f.write('"boss@example.org","","","","%s",""\n' % rights.hash_password("Sup3rSecret"))
    rsite.drop(mail(frm="boss@example.org", body="password Sup3rSecret\n"
                                                 "config sendfile archive/00000000/ade.csv admin@example.net"))
    rsite.run()
    [m] = rsite.messages_to("admin@example.net")
    [f] = m.iter_attachments()
    assert f.get_filename() == "ade.csv" and f.get_content() == "a,b\n"


def test_config_attach_is_for_the_superuser_only(rsite):
    text, files = run_commands(rsite, "config attach tristero.ini")
    assert "REFUSED: only the SuperUser may do this" in text and files == []


def test_config_putfile_stores_attachments_under_archive_only(rsite):
    text, _ = run_commands(rsite, "config putfile archive/00000000/imports\nconfig putfile lists FORCE\n"
                                  "config putfile lib\n", frm="boss@example.org", files=[("ade.ldif", b"dn: x")])
    assert "OK: 1 file(s) stored: archive/00000000/imports/ade.ldif (5 bytes)" in text
    assert text.count("CONFIG PUTFILE stores files under archive/ only") == 2
    assert read(rsite.path("archive", "00000000", "imports", "ade.ldif")) == b"dn: x"
    assert rsite.listdir("lists") == ["00000001.ini", "00000002.ini", "00000003.ini"]


# --- friendlier messages -------------------------------------------------------------------

def test_welcome_and_farewell_carry_the_files_of_their_folders(rsite):
    put_file(rsite, "00000001/welcome.txt", b"Welcome aboard.\n")
    put_file(rsite, "00000001/welcome/map.png", b"\x89PNG")
    put_file(rsite, "00000001/farewell/survey.pdf", b"%PDF")
    rsite.drop(mail(frm="dora@example.com", body="subscribe news\nunsubscribe news\n"))
    rsite.run()
    welcome, farewell = [m for m in rsite.messages_to("dora@example.com") if not m["Subject"].startswith("Re:")]
    assert welcome.get_body(("plain",)).get_content().strip() == "Welcome aboard."
    assert [(p.get_filename(), p.get_content()) for p in welcome.iter_attachments()] == [("map.png", b"\x89PNG")]
    assert [p.get_filename() for p in farewell.iter_attachments()] == ["survey.pdf"]


def test_info_attaches_the_files_of_the_readme_folder(rsite):
    put_file(rsite, "00000001/readme.txt", b"About the news.\n")
    put_file(rsite, "00000001/readme/charter.pdf", b"%PDF")
    text, files = run_commands(rsite, "info news", frm="dora@example.com")
    assert "About the news." in text and files == [("charter.pdf", b"%PDF", "application/pdf")]


def test_a_new_list_gets_the_default_archives_friendlier_files(rsite):
    put_file(rsite, "00000000/welcome.txt", b"Hello.\n")
    put_file(rsite, "00000000/readme/rules.pdf", b"%PDF")
    run_commands(rsite, "create fresh A new list", frm="boss@example.org")
    assert read(rsite.path("archive", "00000004", "welcome.txt")) == b"Hello.\n"
    assert read(rsite.path("archive", "00000004", "readme", "rules.pdf")) == b"%PDF"


def test_announce_sends_the_readme_and_its_files_to_the_announce_list(rsite):
    rsite.write_ini(INI.replace("MaxFileSize", "AnnounceList = staff\nMaxFileSize"))
    put_file(rsite, "00000001/readme.txt", b"All the news that fits.\n")
    put_file(rsite, "00000001/readme/charter.pdf", b"%PDF")
    text, _ = run_commands(rsite, "announce news")
    assert "OK: news announced to the 1 member(s) of staff (1 file(s) attached)" in text
    [m] = [m for m in rsite.messages_to("owner@example.org") if m["Subject"] == "The list news"]
    assert "All the news that fits." in m.get_body(("plain",)).get_content()
    assert "SUBSCRIBE news" in m.get_body(("plain",)).get_content()
    assert [p.get_filename() for p in m.iter_attachments()] == ["charter.pdf"]


def test_announce_new_list_format_to_an_address(rsite):
    text, _ = run_commands(rsite, "announce news new-list@example.edu NEW-LIST")
    assert "OK: news announced to new-list@example.edu" in text
    [m] = rsite.messages_to("new-list@example.edu")
    assert m["Subject"] == "NEW: news@example.org - News of the day"
    body = m.get_content()
    assert "news@example.org on Tristero" in body and "SUBSCRIBE news Firstname Lastname" in body


def test_announce_is_for_the_owner(rsite):
    text, _ = run_commands(rsite, "announce news someone@example.edu", frm="carol@example.com")
    assert "REFUSED: only the list's owner" in text and rsite.messages_to("someone@example.edu") == []


# --- Executable lists ---------------------------------------------------------------------

def test_an_executable_list_answers_a_member_with_the_files_of_its_filelist(rsite):
    put_file(rsite, "00000003/FILELIST.TXT", b"; the policy pack\npolicy.pdf\nforms/leave.doc\n"
                                             b"00000000/common.txt\nmissing.txt\n")
    put_file(rsite, "00000003/policy.pdf", b"%PDF-policy")
    put_file(rsite, "00000003/forms/leave.doc", b"DOC")
    put_file(rsite, "00000000/common.txt", b"common")
    rsite.drop(mail(frm="carol@example.com", to="docs@example.org", subject="send me the pack"))
    rsite.run()
    text, files = reply(rsite, "carol@example.com")
    assert [(n, c) for n, c, _ in files] == [("policy.pdf", b"%PDF-policy"), ("leave.doc", b"DOC"),
                                            ("common.txt", "common")]
    assert "missing.txt: not sent (there is no file missing.txt)" in text
    assert not any(b.sender.startswith("owner-docs") for b in rsite.outbound())     # never posted


@pytest.mark.parametrize("line", ["/etc/passwd", "../00000002/secret.txt", "00000002/../../tristero.ini",
                                  "C:\\autoexec.bat", "dirlink/secret.txt"])
def test_a_filelist_never_sends_a_file_outside_the_archive_or_through_a_link(rsite, line):
    put_file(rsite, "00000003/FILELIST.TXT", line.encode() + b"\n")
    os.symlink(rsite.path("archive", "00000002"), rsite.path("archive", "00000003", "dirlink"))
    rsite.drop(mail(frm="carol@example.com", to="docs@example.org", subject="pack"))
    rsite.run()
    text, files = reply(rsite, "carol@example.com")
    assert files == [] and "not sent" in text
    assert all(SECRET not in b.data for b in rsite.outbound())


def test_an_executable_list_runs_its_listbot_commands_as_the_sender(rsite):
    put_file(rsite, "00000003/LISTBOT.TXT", b"subscribe news\nadd staff x@example.net\n")
    rsite.drop(mail(frm="carol@example.com", to="docs@example.org", subject="join"))
    rsite.run()
    text, _ = reply(rsite, "carol@example.com")
    assert "> subscribe news\nOK: carol@example.com is already a member of news" in text
    assert "> add staff x@example.net\nREFUSED: only the list's owner" in text


def test_an_executable_list_ignores_non_members(rsite):
    put_file(rsite, "00000003/FILELIST.TXT", b"policy.pdf\n")
    put_file(rsite, "00000003/policy.pdf", b"%PDF-policy")
    rsite.drop(mail(frm="stranger@example.net", to="docs@example.org", subject="pack"))
    rsite.run()
    [m] = rsite.messages_to("stranger@example.net")
    assert m["Subject"] == "Not posted: pack" and "docs is an Executable list: members only" in m.get_content()


def test_grant_w_opens_an_executable_list_to_everyone(rsite):
    put_file(rsite, "00000003/FILELIST.TXT", b"policy.pdf\n")
    put_file(rsite, "00000003/policy.pdf", b"%PDF-policy")
    run_commands(rsite, "grant W to * for docs")
    fresh(rsite)
    rsite.drop(mail(frm="stranger@example.net", to="docs@example.org", subject="pack"))
    rsite.run()
    _, files = reply(rsite, "stranger@example.net")
    assert [f[0] for f in files] == ["policy.pdf"]


# --- each list type's upload and download cells ----------------------------------------------

TYPES = ("Open", "Free", "Internal", "Closed", "Moderated", "Subscription", "Approval", "Distribution",
         "Executable", "Passive", "Broadcast", "Hidden")
# (upload: non-member, member), (download: non-member, member). The manual's upload and
# download tables, through the security profiles (README "Rights"): where the two disagree
# (Approval's download) the profiles decide: an Approval list's non-members are Posters,
# who may upload but not download.
CELLS = {
    # Uploads need membership on every type (rights.NO_STRANGER_UPLOADS).
    "Open": ((False, True), (True, True)), "Free": ((False, True), (True, True)),
    "Internal": ((False, True), (True, True)), "Closed": ((False, True), (False, True)),
    "Moderated": ((False, False), (True, True)), "Subscription": ((False, True), (False, True)),
    "Approval": ((False, True), (False, True)), "Distribution": ((False, True), (True, True)),
    "Executable": ((False, False), (False, True)), "Passive": ((False, False), (False, False)),
    "Broadcast": ((False, False), (True, True)), "Hidden": ((False, True), (False, True)),
}


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """One run: a member and a non-member each PUT to and GET from a list of every type."""
    site = conftest.TestSite(tmp_path_factory.mktemp("cells") / "site")
    os.makedirs(site.home)
    # Rights are the matter here, not the short replies strangers get (see test_output_bounds).
    text = "[Globals]\nDomain = example.org\nSuperUser = boss@example.org\nMaxStrangerCommands = 100\n"
    for n, t in enumerate(TYPES, 1):
        text += "\n[LIST %s]\nMemberFile = %08d\nType = %s\nOwner = owner@example.org\n" % (t.lower(), n, t)
        os.makedirs(site.path("lists"), exist_ok=True)
        with open(site.path("lists", "%08d.ini" % n), "w") as f:
            f.write("[Members]\nmember@example.net =\n")
        put_file(site, "%08d/sample.txt" % n, b"sample of %s" % t.encode())
    site.write_ini(text)
    for who in ("member", "outsider"):
        body = "".join("put %s\nget %s sample.txt\n" % (t.lower(), t.lower()) for t in TYPES)
        site.drop(with_files(body, [(who + ".txt", b"x")], frm="%s@example.net" % who))
    site.run()
    return site


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("who", ["outsider", "member"])
@pytest.mark.parametrize("action", ["upload", "download"])
def test_upload_and_download_cells_of_each_list_type(cells, kind, who, action):
    n = TYPES.index(kind) + 1
    text, files = reply(cells, "%s@example.net" % who)
    allowed = CELLS[kind][0 if action == "upload" else 1][1 if who == "member" else 0]
    if action == "upload":
        stored = os.path.exists(cells.path("archive", "%08d" % n, who + ".txt"))
        assert stored == allowed
    else:
        got = ("sample.txt", "sample of %s" % kind, "text/plain") in files
        assert got == allowed
