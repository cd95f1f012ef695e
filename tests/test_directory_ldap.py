"""The live LDAP directory wired into the run, against a real slapd: the day's first run
reads it and keeps the AutoAll lists, a Shadow list is written back into its group, and
a refusing server changes nothing and is told to the SuperUser."""

import pytest

from conftest import BASE_INI, server_program
from slapd import BASE, GROUPS, PEOPLE, SLAPD, Slapd, directory
from test_directory import members

GROUP = "cn=dept1,%s" % GROUPS
LISTS = ["All-%d" % d for d in range(4)]


@pytest.fixture(scope="module")
def ldap(tmp_path_factory):
    server_program(SLAPD)
    group = ("\ndn: %s\nobjectClass: groupOfNames\ncn: dept1\nmember: cn=reader,%s\n" % (GROUP, BASE))
    with Slapd(tmp_path_factory.mktemp("slapd"), directory(200, 4) + group) as server:
        yield server


def site_ini(ldap, password=None):
    text = BASE_INI + ("\n[Directory]\nUri = %s\nBaseDN = %s\nBindDN = %s\nBindPassword = %s\n"
                       "AutoAllSelect = B\nGroupAttributes = departmentNumber\nWriteBack = Y\n"
                       % (ldap.uri, PEOPLE, ldap.root_dn, password or ldap.root_password))
    for d, name in enumerate(LISTS):
        text += "\n[LIST %s]\nOwner = ADE\nMemberFile = %08d\n" % (name, d + 1)
    return text


def group_members(ldap):
    c = ldap.connection()
    try:
        c.search(GROUP, "(objectClass=*)", attributes=["member"])
        return {v.lower() for v in c.entries[0].member.values}
    finally:
        c.unbind()      # (ldap3's "with" leaves a connection open that was open before it)


def test_the_days_first_run_reads_the_directory_and_writes_the_shadow_list_back(ldap, site):
    site.write_ini(site_ini(ldap).replace("[LIST All-1]\n", "[LIST All-1]\nShadow = %s\n" % GROUP))
    site.run(now="2026-11-21T06:00:00")
    for d, name in enumerate(LISTS):
        assert set(members(site, name)) == {"p%05d@example.com" % n for n in range(1, 201) if n % 4 == d}
    assert group_members(ldap) == {("uid=p%05d,%s" % (n, PEOPLE)).lower() for n in range(1, 201) if n % 4 == 1}
    assert "directory write-back %s: 50 added, 1 removed, 0 not in the directory" % GROUP in site.log()

    # A person moves department in the directory: nothing happens until the next day's first run.
    c = ldap.connection()
    c.modify("uid=p00005,%s" % PEOPLE, {"departmentNumber": [("MODIFY_REPLACE", ["2"])],
                                         "ou": [("MODIFY_REPLACE", ["Department 02"])]})
    c.unbind()
    site.run(now="2026-11-21T07:00:00")
    assert "p00005@example.com" in members(site, "All-1")
    site.run(now="2026-11-22T06:00:00")
    assert "p00005@example.com" not in members(site, "All-1")
    assert "p00005@example.com" in members(site, "All-2")
    assert ("uid=p00005,%s" % PEOPLE).lower() not in group_members(ldap)


def test_a_server_that_refuses_the_bind_changes_nothing_and_the_superuser_is_told(ldap, site):
    site.write_ini(site_ini(ldap, password="not the password"))
    site.run(now="2026-11-21T06:00:00")
    assert all(not members(site, name) for name in LISTS)
    [notice] = site.messages_to("boss@example.org")
    text = notice.get_body(("plain",)).get_content()
    assert ldap.uri in text and "invalidCredentials" in text
    assert "not the password" not in text and "not the password" not in site.log()
