"""The live LDAP directory wired into the run, against a real slapd holding 2,000 people
in 20 departments: the day's first run reads it and builds the AutoAll lists; the next
day's read applies leavers, joiners, renames and a department change, list by list; a
Shadow list is written back into its group; the MaxSyncRemovals guard holds a read that
would empty a list; a refusing server changes nothing and is told to the SuperUser."""

import pytest

from conftest import BASE_INI, server_program
from slapd import BASE, GROUPS, PEOPLE, SLAPD, Slapd, directory, person
from test_directory import members

PEOPLE_COUNT, DEPTS = 2000, 20
GROUP = "cn=dept1,%s" % GROUPS
LISTS = ["All-%d" % d for d in range(DEPTS)]


@pytest.fixture
def ldap(tmp_path):
    server_program(SLAPD)
    group = "\ndn: %s\nobjectClass: groupOfNames\ncn: dept1\nmember: cn=reader,%s\n" % (GROUP, BASE)
    with Slapd(tmp_path / "slapd", directory(PEOPLE_COUNT, DEPTS) + group) as server:
        yield server


def site_ini(ldap, password=None, extra=""):
    text = BASE_INI + ("\n[Directory]\nUri = %s\nBaseDN = %s\nBindDN = %s\nBindPassword = %s\n"
                       "AutoAllSelect = B\nGroupAttributes = departmentNumber\nWriteBack = Y\n%s"
                       % (ldap.uri, PEOPLE, ldap.root_dn, password or ldap.root_password, extra))
    for d, name in enumerate(LISTS):
        text += "\n[LIST %s]\nOwner = ADE\nMemberFile = %08d\n" % (name, d + 1)
        if d == 1:
            text += "Shadow = %s\n" % GROUP
    return text


def dn(n):
    return "uid=p%05d,%s" % (n, PEOPLE)


def address(n):
    return "p%05d@example.com" % n


def change(ldap, fn):
    c = ldap.connection()
    try:
        fn(c)
    finally:
        c.unbind()      # (ldap3's "with" leaves open a connection that was open before it)


def group_members(ldap):
    found = []
    change(ldap, lambda c: (c.search(GROUP, "(objectClass=*)", attributes=["member"]),
                            found.extend(v.lower() for v in c.entries[0].member.values)))
    return set(found)


def expected(people):
    """{list: {addresses}} for people {n: (address, department)}."""
    out = {name: set() for name in LISTS}
    for a, d in people.values():
        out["All-%d" % d].add(a)
    return out


def test_a_live_directory_builds_the_lists_then_leavers_joiners_renames_and_a_move_apply(ldap, site):
    site.write_ini(site_ini(ldap))
    site.run(now="2026-11-21T06:00:00")
    people = {n: (address(n), n % DEPTS) for n in range(1, PEOPLE_COUNT + 1)}
    for name, want in expected(people).items():
        assert set(members(site, name)) == want, name
    assert group_members(ldap) == {dn(n).lower() for n in people if n % DEPTS == 1}
    assert "directory write-back %s: 100 added, 1 removed, 0 not in the directory" % GROUP in site.log()

    # The next day's export: 5 leave, 5 join, 5 get a new address (same entry), 1 moves.
    def edit(c):
        for n in range(1, 6):
            c.delete(dn(n))
        for n in range(3001, 3006):
            entry = person(n, DEPTS)
            attrs = {}
            for line in entry.strip().split("\n")[1:]:
                k, _, v = line.partition(": ")
                attrs.setdefault(k, []).append(v)
            c.add(dn(n), attributes=attrs)
        for n in range(21, 26):
            c.modify(dn(n), {"mail": [("MODIFY_REPLACE", ["renamed%d@example.com" % n])]})
        c.modify(dn(41), {"departmentNumber": [("MODIFY_REPLACE", ["7"])]})
    change(ldap, edit)
    site.run(now="2026-11-21T07:00:00")          # the same day: not read again
    assert address(1) in members(site, "All-1")
    site.run(now="2026-11-22T06:00:00")
    for n in range(1, 6):
        del people[n]
    for n in range(3001, 3006):
        people[n] = (address(n), n % DEPTS)
    for n in range(21, 26):
        people[n] = ("renamed%d@example.com" % n, n % DEPTS)
    people[41] = (address(41), 7)
    for name, want in expected(people).items():
        assert set(members(site, name)) == want, name
    assert group_members(ldap) == {dn(n).lower() for n, (_, d) in people.items() if d == 1}


def test_a_live_read_that_would_empty_a_list_waits_for_the_superuser(ldap, site):
    site.write_ini(site_ini(ldap))
    site.run(now="2026-11-21T06:00:00")
    before = set(members(site, "All-3"))
    change(ldap, lambda c: [c.delete(dn(n)) for n in range(3, PEOPLE_COUNT + 1, DEPTS)])
    site.run(now="2026-11-22T06:00:00")
    assert set(members(site, "All-3")) == before
    notices = site.messages_to("boss@example.org")
    assert any("All-3" in m.get_body(("plain",)).get_content() for m in notices)


def test_a_server_that_refuses_the_bind_changes_nothing_and_the_superuser_is_told(ldap, site):
    site.write_ini(site_ini(ldap, password="not the password"))
    site.run(now="2026-11-21T06:00:00")
    assert all(not members(site, name) for name in LISTS)
    [notice] = site.messages_to("boss@example.org")
    text = notice.get_body(("plain",)).get_content()
    assert ldap.uri in text and "invalidCredentials" in text
    assert "not the password" not in text and "not the password" not in site.log()
