"""An outside attacker's review of issue 12's and 17's features (the directory sync,
DeliverCommand, the outbound gate, maps): each test is the attack through the front
door, named for the behaviour that stops it."""

import os

import pytest

from conftest import BASE_INI, NEWS_LIST, mail
from test_directory import members, people, synced

# Addresses the old envelope check let through that exim -bS refuses with 501 for the
# whole batch file (every other recipient of the file failed with them).
MALFORMED = ["p0001@corp..example", "p0001@-corp.example", "p0001@corp.example.", "p0001@x@corp.example"]


@pytest.mark.parametrize("address", MALFORMED)
def test_a_directory_entry_whose_mail_exim_refuses_is_refused_and_changes_nothing(site, address):
    staff = people(40)
    synced(site, staff)
    before = members(site, "All-Dept01")
    staff["p0001"]["mail"] = address
    staff["p0041"] = {"uid": "p0041", "mail": "p0041@corp.example", "cn": "New", "ou": "Dept01"}
    synced(site, staff)
    assert members(site, "All-Dept01") == before
    [notice] = site.messages_to("boss@example.org")
    assert "not one mail address" in notice.get_body(("plain",)).get_content()


@pytest.mark.parametrize("address", MALFORMED)
def test_a_malformed_member_in_the_member_file_never_reaches_a_batch_file(site, address):
    site.write_ini(BASE_INI + "\n" + NEWS_LIST)
    good = ["a@example.net", "b@example.net", "c@example.net"]
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in sorted(good + [address])))
    site.drop(mail(frm="a@example.net", to="news@example.org", subject="hi", body="hello\n"))
    site.run()
    recipients = [r for b in site.outbound() for r in b.recipients]
    assert sorted(r for r in recipients if r.endswith("example.net")) == good
    assert address not in recipients


@pytest.mark.parametrize("name", ["Eve\x01Bad", "Eve\x7fBad", "Eve\x9bBad", "Eve\x1bBad"])
@pytest.mark.parametrize("source", ["people.ldif", "people.csv"])
def test_a_directory_name_with_a_control_character_is_refused_with_its_line(site, name, source):
    staff = people(40)
    synced(site, staff, source)
    before = members(site, "All-Dept01")
    staff["p0041"] = {"uid": "p0041", "mail": "p0041@corp.example", "cn": name, "ou": "Dept01"}
    synced(site, staff, source)
    assert members(site, "All-Dept01") == before
    [notice] = site.messages_to("boss@example.org")
    assert "control character" in notice.get_body(("plain",)).get_content()
    # The next run is not stopped by it either.
    site.drop(mail(frm="p0002@corp.example", body="LISTS\n"))
    site.run(now="2026-11-22T10:00:00")
    assert site.listdir("spool", "in", "new") == []


def test_a_directory_name_of_a_megabyte_is_refused(site):
    staff = people(40)
    synced(site, staff)
    before = members(site, "All-Dept01")
    staff["p0041"] = {"uid": "p0041", "mail": "p0041@corp.example", "cn": "N" * 900_000, "ou": "Dept01"}
    synced(site, staff)
    assert members(site, "All-Dept01") == before
    [notice] = site.messages_to("boss@example.org")
    assert "longer than 1000 characters" in notice.get_body(("plain",)).get_content()


def test_a_refused_directory_source_is_told_once_not_at_every_run(site):
    staff = people(40)
    synced(site, staff)
    staff["p0041"] = {"uid": "p0041", "mail": "p0041@corp.example", "cn": "Eve\x01", "ou": "Dept01"}
    synced(site, staff)
    for hour in (11, 12, 13):
        site.run(now="2026-11-22T%02d:00:00" % hour)
    assert len(site.messages_to("boss@example.org")) == 1


def test_an_export_that_renames_every_address_away_is_held_like_one_that_removes_them(site):
    staff = people(40)
    synced(site, staff)
    before = {n: members(site, n) for n in ("All-Dept01", "All-Dept11")}
    for p in staff.values():
        p["mail"] = p["uid"] + "@evil.example"
    synced(site, staff)
    assert {n: members(site, n) for n in before} == before
    [notice] = site.messages_to("boss@example.org")
    text = notice.get_body(("plain",)).get_content()
    assert "All-Dept11: 2 of 2 member(s) removed or renamed" in text
    assert site.messages_to("p0011@evil.example") == []


@pytest.mark.parametrize("name", ["huge.ldif", "huge.csv"])
def test_a_dropped_export_of_one_endless_line_is_refused_within_bounded_memory(site, tmp_path_factory, name):
    from test_limits import ceiling, run_capped
    staff = people(40)
    synced(site, staff)
    path = site.path("spool", "directory", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    head = b"uid,mail,cn\np0050,p0050@corp.example," if name.endswith(".csv") else b"dn: uid=x,dc=x\ncn: "
    with open(path, "wb") as f:
        f.write(head)
        chunk = b"A" * (1 << 20)
        for _ in range(210):            # 210 MB on one line: more than the ceiling's headroom
            f.write(chunk)
        f.write(b"\n")
    status, _, err = run_capped(site, ceiling(tmp_path_factory))
    assert status == 0, err
    assert os.listdir(site.path("spool", "directory", "failed")) == [name]
    [notice] = site.messages_to("boss@example.org")
    assert "a line longer than" in notice.get_body(("plain",)).get_content()
