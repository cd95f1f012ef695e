"""The live LDAP directory source and the write-back of lists into its groups, against a
real OpenLDAP server (tests/slapd.py) holding 2,000 people in 20 departments."""

import base64
import collections
import re
import socket
import uuid

import ldap3
import pytest

from conftest import server_program
from slapd import BASE, GROUPS, OPENSSL, PEOPLE, READER, READER_PASSWORD, SCHEMAS, SLAPD, Slapd, directory
from tristero.model import ldapsource
from tristero.model.ldapsource import Settings, people, write_groups
from tristero.model.people import DirectoryError

SIZE_LIMIT = 500    # what slapd gives a search that does not page


@pytest.fixture(scope="module")
def ldap(tmp_path_factory):
    server_program(SLAPD)
    with Slapd(tmp_path_factory.mktemp("slapd"), directory(2000, 20), size_limit=SIZE_LIMIT) as server:
        yield server


def reader(ldap, **kw):
    """Settings of a reader account: the password of the test, paging at 200."""
    values = dict(uri=ldap.uri, base_dn=PEOPLE, bind_dn=READER, bind_password=READER_PASSWORD, page_size=200,
                  timeout=10)
    values.update(kw)
    return Settings(**values)


def writer(ldap, **kw):
    return reader(ldap, **dict(dict(bind_dn=ldap.root_dn, bind_password=ldap.root_password), **kw))


def dn(n):
    return "uid=p%05d,%s" % (n, PEOPLE)


def address(n):
    return "p%05d@example.com" % n


# --- reading ---------------------------------------------------------------

def test_two_thousand_people_in_twenty_departments_are_read_as_persons(ldap):
    found = list(people(reader(ldap)))
    assert len(found) == 2000
    assert len({p.id for p in found}) == 2000
    assert all(uuid.UUID(p.id) for p in found)      # entryUUID, the inetOrgPerson default
    departments = collections.Counter(p.attributes["ou"][0] for p in found)
    assert len(departments) == 20 and set(departments.values()) == {100}
    one = next(p for p in found if p.address == address(1))
    assert one.name == "Person Number 1"            # displayName before cn
    assert one.attributes == {"ou": ("Department 01",), "departmentnumber": ("1",)}
    assert one.domain == "example.com"


def test_a_directory_larger_than_the_servers_size_limit_is_read_whole_by_pages(ldap):
    # Without paging the server stops at its limit: the proof that people() pages.
    conn = ldap3.Connection(ldap3.Server(ldap.uri), READER, READER_PASSWORD, auto_bind=True)
    conn.search(PEOPLE, "(objectClass=inetOrgPerson)", attributes=["mail"])
    assert conn.result["description"] == "sizeLimitExceeded" and len(conn.entries) == SIZE_LIMIT
    conn.unbind()
    for size in (7, 200, SIZE_LIMIT):
        assert sum(1 for _ in people(reader(ldap, page_size=size))) == 2000


def test_an_anonymous_bind_reads_the_directory(ldap):
    assert sum(1 for _ in people(reader(ldap, bind_dn="", bind_password=""))) == 2000


def test_a_changed_address_or_dn_keeps_the_persons_id(ldap):
    def find(uid):
        return [p for p in people(reader(ldap, filter="(uid=%s)" % uid))]

    [before] = find("p00042")
    conn = ldap.connection()
    try:
        conn.modify(dn(42), {"mail": [(ldap3.MODIFY_REPLACE, ["renamed.42@example.net"])]})
        conn.modify_dn(dn(42), "uid=q00042")
        [after] = find("q00042")
        assert after.id == before.id
        assert after.address == "renamed.42@example.net" and after.domain == "example.net"
    finally:
        conn.modify_dn("uid=q00042," + PEOPLE, "uid=p00042")
        conn.modify(dn(42), {"mail": [(ldap3.MODIFY_REPLACE, [address(42)])]})
        conn.unbind()


def test_configured_filter_and_attributes_replace_the_schemas_defaults(ldap):
    found = list(people(reader(ldap, filter="(departmentNumber=3)", id_attribute="uid", name_attribute="cn",
                               group_attributes=("departmentNumber",))))
    assert len(found) == 100
    p = next(p for p in found if p.address == address(3))
    assert (p.id, p.name, p.attributes) == ("p00003", "Person 3", {"departmentnumber": ("3",)})


def test_an_entry_without_an_address_is_not_a_person(ldap):
    conn = ldap.connection()
    conn.add("uid=service," + PEOPLE, "inetOrgPerson", {"uid": "service", "cn": "Backup robot", "sn": "robot"})
    try:
        assert sum(1 for _ in people(reader(ldap))) == 2000
    finally:
        conn.delete("uid=service," + PEOPLE)
        conn.unbind()


def test_two_entries_with_one_id_stop_the_read(ldap):
    with pytest.raises(DirectoryError, match=r"departmentNumber \d+ is the id of an entry read before"):
        list(people(reader(ldap, id_attribute="departmentNumber")))


def test_a_name_with_a_line_break_stops_the_read_naming_the_entry(ldap):
    conn = ldap.connection()
    conn.add("uid=bad," + PEOPLE, "inetOrgPerson",
             {"uid": "bad", "cn": "x", "sn": "x", "mail": "bad@example.com", "displayName": "Eve\nTo: all"})
    try:
        with pytest.raises(DirectoryError, match="uid=bad,ou=people,dc=example,dc=com: displayName .*line break"):
            list(people(reader(ldap)))
    finally:
        conn.delete("uid=bad," + PEOPLE)
        conn.unbind()


def test_a_dn_with_a_line_break_is_named_without_it(ldap):
    conn = ldap.connection()
    conn.add("uid=bad\nline," + PEOPLE, "inetOrgPerson", {"uid": "bad\nline", "cn": "x", "sn": "x", "mail": "x@@y"})
    try:
        with pytest.raises(DirectoryError) as e:
            list(people(reader(ldap)))
        assert "uid=bad?line,ou=people" in str(e.value) and "\n" not in str(e.value)
    finally:
        conn.delete("uid=bad\nline," + PEOPLE)
        conn.unbind()


def test_a_mail_value_that_is_not_an_address_stops_the_read(ldap):
    conn = ldap.connection()
    conn.add("uid=bad2," + PEOPLE, "inetOrgPerson",
             {"uid": "bad2", "cn": "x", "sn": "x", "mail": "a@b.example, c@d.example"})
    try:
        with pytest.raises(DirectoryError, match="uid=bad2.*is not one mail address"):
            list(people(reader(ldap)))
    finally:
        conn.delete("uid=bad2," + PEOPLE)
        conn.unbind()


# --- failures: each a DirectoryError with the server's answer ---------------

def test_starttls_asked_of_a_server_without_tls_is_refused_clearly(ldap):
    with pytest.raises(DirectoryError) as e:
        list(people(reader(ldap, start_tls=True)))
    # slapd's answer: "protocolError (2) unsupported extended operation"
    assert str(e.value).startswith("LDAP %s: StartTLS refused: protocolError (2)" % ldap.uri)


def test_a_wrong_password_is_refused_and_never_shown(ldap):
    secret = "Wrong-Horse-Battery-9"
    s = reader(ldap, bind_password=secret)
    with pytest.raises(DirectoryError) as e:
        list(people(s))
    assert "bind as %s refused: invalidCredentials (49)" % READER in str(e.value)
    assert secret not in str(e.value) and secret not in repr(e.value) and secret not in repr(s)


def test_an_unreachable_server_is_named(ldap):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # nothing listens there once closed
    with pytest.raises(DirectoryError, match=r"LDAP ldap://127.0.0.1:%d/: cannot connect" % port):
        list(people(reader(ldap, uri="ldap://127.0.0.1:%d/" % port)))


def test_a_base_that_does_not_exist_is_named(ldap):
    with pytest.raises(DirectoryError, match="no such base ou=nobody,dc=example,dc=com: noSuchObject"):
        list(people(reader(ldap, base_dn="ou=nobody,dc=example,dc=com")))


def test_a_server_that_never_answers_is_a_time_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()             # connections are taken by the kernel, never answered
        uri = "ldap://127.0.0.1:%d" % silent.getsockname()[1]
        with pytest.raises(DirectoryError, match="no answer within 1 seconds"):
            list(people(Settings(uri=uri, base_dn=PEOPLE, bind_dn=READER, bind_password="pw", timeout=1)))


def test_a_filter_that_is_not_one_is_named(ldap):
    with pytest.raises(DirectoryError, match=r"search of .* for \(objectClass=inetOrgPerson: .*filter"):
        list(people(reader(ldap, filter="(objectClass=inetOrgPerson")))


def test_a_schema_that_is_not_known_is_named():
    with pytest.raises(DirectoryError, match="Schema 'novell' is neither inetOrgPerson nor ad"):
        list(people(Settings(uri="ldap://127.0.0.1:1", base_dn=PEOPLE, schema="novell")))


def test_a_uri_that_is_not_ldap_is_refused():
    with pytest.raises(DirectoryError, match="Uri is not ldap://"):
        list(people(Settings(uri="http://127.0.0.1/", base_dn=PEOPLE)))


def ad_user(n, guid, department, mail=None, upn=None):
    """An Active Directory user as LDIF (msuser schema), its objectGUID binary (base64).
    AD allows department through its own organizationalPerson; OpenLDAP's does not, hence
    extensibleObject."""
    text = ("dn: CN=User %d,%s\nobjectClass: user\nobjectClass: extensibleObject\n"
            "cn: User %d\nsn: %d\ninstanceType: 4\n"
            "nTSecurityDescriptor:: AQAEgA==\nobjectCategory: CN=Person,CN=Schema,CN=Configuration,%s\n"
            "objectGUID:: %s\ndisplayName: User Number %d\ndepartment: %s\n"
            % (n, PEOPLE, n, n, BASE, base64.b64encode(guid.bytes_le).decode(), n, department))
    if mail:
        text += "mail: %s\n" % mail
    if upn:
        text += "userPrincipalName: %s\n" % upn
    return text


GUIDS = [uuid.UUID(int=(n * 0x9E3779B97F4A7C15) << 40) for n in (1, 2, 3)]


@pytest.fixture(scope="module")
def ad(tmp_path_factory):
    """A slapd with Active Directory's schema (msuser): three users and a group."""
    server_program(SLAPD)
    users = "\n".join([ad_user(1, GUIDS[0], "Sales", mail="ann@example.com", upn="ann@corp.example.com")
                       + "company: Example Ltd\n",
                       ad_user(2, GUIDS[1], "Research", upn="bob@corp.example.com"),
                       ad_user(3, GUIDS[2], "Research")])
    group = ("dn: CN=Research,%s\nobjectClass: group\ncn: Research\ngroupType: 8\ninstanceType: 4\n"
             "nTSecurityDescriptor:: AQAEgA==\nobjectCategory: CN=Group,CN=Schema,CN=Configuration,%s\n"
             "member: CN=User 3,%s\n" % (GROUPS, BASE, PEOPLE))
    with Slapd(tmp_path_factory.mktemp("slapd-ad"), directory(0) + "\n" + users + "\n" + group,
               schemas=SCHEMAS + ("msuser",)) as server:
        yield server


def ad_settings(ad, **kw):
    return Settings(**dict(dict(uri=ad.uri, base_dn=PEOPLE, schema="ad", filter="(objectClass=user)",
                                bind_dn=READER, bind_password=READER_PASSWORD), **kw))


def test_active_directory_users_are_read_with_its_default_attributes(ad):
    found = list(people(ad_settings(ad)))
    # The third user has neither mail nor userPrincipalName: no person of mail.
    assert [(p.id, p.address, p.name, p.attributes) for p in found] == [
        (str(GUIDS[0]), "ann@example.com", "User Number 1", {"department": ("Sales",), "company": ("Example Ltd",)}),
        (str(GUIDS[1]), "bob@corp.example.com", "User Number 2", {"department": ("Research",)})]


def test_write_back_sets_an_active_directory_groups_members_and_may_empty_it(ad, modifies):
    research = "CN=Research," + GROUPS
    root = ad_settings(ad, bind_dn=ad.root_dn, bind_password=ad.root_password)
    result = write_groups(root, {research: ["ann@example.com", "BOB@corp.example.com"]})
    assert result.problems == [] and (result.changes[0].added, result.changes[0].removed) == (2, 1)
    assert {m.lower() for m in values(ad, research, "member")} == {"cn=user %d,%s" % (n, PEOPLE) for n in (1, 2)}
    result = write_groups(root, {research: []})         # an AD group may be empty
    assert result.problems == [] and result.changes[0].removed == 2
    assert values(ad, research, "member") == set()


# --- settings and ids -------------------------------------------------------

def test_settings_are_read_from_the_directory_keys():
    ini = {"Uri": "ldap://h:1", "BaseDN": "dc=x", "Filter": "", "BindDN": "cn=r", "BindPassword": "pw",
           "StartTLS": "Y", "PageSize": "50", "Timeout": 5, "Schema": "ad", "IdAttribute": "",
           "MailAttribute": "", "NameAttribute": "cn", "GroupAttributes": "department, physicalDeliveryOfficeName"}
    s = ldapsource.settings_from(ini.get)
    assert (s.uri, s.base_dn, s.bind_dn, s.bind_password, s.start_tls, s.page_size, s.timeout) == \
           ("ldap://h:1", "dc=x", "cn=r", "pw", True, 50, 5)
    spec = s.defaults()
    assert spec["id"] == ("objectGUID",) and spec["mail"] == ("mail", "userPrincipalName")
    assert spec["name"] == ("cn",) and spec["groups"] == ("department", "physicalDeliveryOfficeName")
    assert Settings(uri="", base_dn="", schema="AD").defaults()["groups"] == ("department", "company")
    assert "pw" not in repr(s)


def test_an_active_directory_guid_is_rendered_as_active_directory_shows_it():
    guid = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    assert ldapsource.render_id("objectGUID", guid.bytes_le) == "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    assert ldapsource.render_id("uid", b"p00001") == "p00001"
    assert ldapsource.render_id("employeeID", b"\xff\x00\x01") == "ff0001"


# --- write-back -------------------------------------------------------------

@pytest.fixture
def modifies(monkeypatch):
    """The modify operations sent to the server, as (dn, changes)."""
    sent = []
    original = ldap3.Connection.modify

    def modify(self, dn, changes, *a, **kw):
        sent.append((dn, changes))
        return original(self, dn, changes, *a, **kw)
    monkeypatch.setattr(ldap3.Connection, "modify", modify)
    return sent


def group(ldap, cn, members):
    conn = ldap.connection()
    conn.add("cn=%s,%s" % (cn, GROUPS), "groupOfNames", {"cn": cn, "member": members})
    conn.unbind()
    return "cn=%s,%s" % (cn, GROUPS)


def values(ldap, entry, attribute):
    """The values of an entry's attribute, None when there is no such entry."""
    conn = ldap.connection()
    try:
        conn.search(entry, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[attribute])
        return set(conn.entries[0][attribute].values)
    except ldap3.core.exceptions.LDAPNoSuchObjectResult:
        return None
    finally:
        conn.unbind()


def test_write_back_adds_and_deletes_only_the_differences_of_a_group_of_names(ldap, modifies):
    news = group(ldap, "news", [dn(1), dn(2), dn(3)])
    # dn(2) stands in the list as P00002@EXAMPLE.COM; outsider@ is in no directory.
    result = write_groups(writer(ldap), {news: ["P00002@EXAMPLE.COM", address(3), address(4),
                                                "outsider@elsewhere.example"]})
    assert result.problems == []
    [change] = result.changes
    assert (change.dn, change.added, change.removed, change.unknown) == (news, 1, 1, 1)
    assert modifies == [(news, {"member": [(ldap3.MODIFY_DELETE, [dn(1)]), (ldap3.MODIFY_ADD, [dn(4)])]})]
    assert values(ldap, news, "member") == {dn(2), dn(3), dn(4)}
    # The same list again: nothing to change, nothing sent.
    modifies.clear()
    again = write_groups(writer(ldap), {news: [address(2), address(3), address(4)]})
    assert (again.changes[0].added, again.changes[0].removed, modifies) == (0, 0, [])


def test_write_back_fills_a_whole_department_group(ldap, modifies):
    big = group(ldap, "department-05", [dn(5)])
    wanted = [address(n) for n in range(5, 2001, 20)]
    result = write_groups(writer(ldap), {big: wanted})
    assert (result.changes[0].added, result.changes[0].removed, len(modifies)) == (99, 0, 1)
    assert values(ldap, big, "member") == {dn(n) for n in range(5, 2001, 20)}


def test_write_back_sets_a_mail_aliass_addresses(ldap, modifies):
    alias = "cn=staff-alias," + GROUPS
    conn = ldap.connection()
    conn.add(alias, "nisMailAlias", {"cn": "staff-alias", "rfc822MailMember": ["a@example.org", "B@example.org"]})
    conn.unbind()
    result = write_groups(writer(ldap), {alias: ["b@example.org", "c@example.net"]})
    assert result.problems == [] and (result.changes[0].added, result.changes[0].removed) == (1, 1)
    assert modifies == [(alias, {"rfc822MailMember": [(ldap3.MODIFY_DELETE, ["a@example.org"]),
                                                      (ldap3.MODIFY_ADD, ["c@example.net"])]})]
    assert values(ldap, alias, "rfc822MailMember") == {"B@example.org", "c@example.net"}


def test_write_back_names_a_missing_group_and_does_not_create_it(ldap, modifies):
    kept = group(ldap, "kept", [dn(1)])
    missing = "cn=no-such-list," + GROUPS
    result = write_groups(writer(ldap), {missing: [address(1)], kept: [address(1), address(2)]})
    assert result.problems == ["%s: no such group (not created)" % missing]
    assert [c.dn for c in result.changes] == [kept]
    assert values(ldap, missing, "member") is None
    assert values(ldap, kept, "member") == {dn(1), dn(2)}


def test_write_back_leaves_a_group_of_names_whose_list_is_empty(ldap, modifies):
    last = group(ldap, "last", [dn(9)])
    result = write_groups(writer(ldap), {last: ["outsider@elsewhere.example"]})
    assert result.changes == [] and "must keep one member" in result.problems[0]
    assert modifies == [] and values(ldap, last, "member") == {dn(9)}


def test_write_back_refuses_an_entry_that_is_not_a_group(ldap, modifies):
    result = write_groups(writer(ldap), {PEOPLE: [address(1)]})
    assert result.problems == ["%s: neither a groupOfNames (or AD group) nor a nisMailAlias" % PEOPLE]
    assert modifies == []


def test_write_back_refused_by_the_server_is_a_problem_of_that_group(ldap):
    news = group(ldap, "readonly", [dn(1)])
    result = write_groups(reader(ldap), {news: [address(2)]})   # the reader may only read
    assert result.changes == []
    assert result.problems[0].startswith("LDAP %s: modify of %s: insufficientAccessRights (50)" % (ldap.uri, news))


def test_write_back_with_a_wrong_password_changes_nothing(ldap, modifies):
    news = group(ldap, "guarded", [dn(1)])
    with pytest.raises(DirectoryError, match="bind as cn=admin,dc=example,dc=com refused"):
        write_groups(writer(ldap, bind_password="wrong"), {news: [address(2)]})
    assert modifies == [] and values(ldap, news, "member") == {dn(1)}


# --- StartTLS with a server that has a certificate --------------------------

@pytest.fixture(scope="module")
def tls_ldap(tmp_path_factory):
    server_program(SLAPD)
    server_program(OPENSSL)
    with Slapd(tmp_path_factory.mktemp("slapd-tls"), directory(30, 3), tls=True) as server:
        yield server


def test_starttls_with_a_certificate_no_one_trusts_is_refused(tls_ldap):
    with pytest.raises(DirectoryError, match="StartTLS refused: .*certificate verify failed"):
        list(people(reader(tls_ldap, start_tls=True)))


def test_starttls_with_a_trusted_certificate_reads_the_directory(tls_ldap, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_ldap.certificate)     # the system's trust, for this test
    assert len(list(people(reader(tls_ldap, start_tls=True)))) == 30


def test_starttls_to_a_server_whose_certificate_names_another_host_is_refused(tls_ldap, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_ldap.certificate)     # trusted, but made for 127.0.0.1 only
    with pytest.raises(DirectoryError, match="StartTLS refused: .*Hostname mismatch.*'localhost'"):
        list(people(reader(tls_ldap, uri="ldap://localhost:%d" % tls_ldap.port, start_tls=True)))


def test_write_back_of_many_changes_is_cut_into_requests_the_group_never_empty(ldap, modifies, monkeypatch):
    monkeypatch.setattr(ldapsource, "MAX_VALUES_PER_MODIFY", 40)
    big = group(ldap, "department-07", [dn(1), dn(2)])
    wanted = [address(n) for n in range(7, 2001, 20)]       # 100 people, none of the two
    result = write_groups(writer(ldap), {big: wanted})
    assert (result.problems, result.changes[0].added, result.changes[0].removed) == ([], 100, 2)
    kinds = [[(kind, len(values)) for kind, values in changes["member"]] for _, changes in modifies]
    assert kinds == [[(ldap3.MODIFY_ADD, 40)], [(ldap3.MODIFY_ADD, 40)], [(ldap3.MODIFY_ADD, 20)],
                     [(ldap3.MODIFY_DELETE, 2)]]
    assert values(ldap, big, "member") == {dn(n) for n in range(7, 2001, 20)}


def test_ldaps_reads_the_directory_when_its_certificate_is_trusted_only(tls_ldap, monkeypatch):
    with pytest.raises(DirectoryError, match=re.escape("LDAP %s: cannot connect" % tls_ldap.ldaps_uri)
                       + ".*certificate verify failed"):
        list(people(reader(tls_ldap, uri=tls_ldap.ldaps_uri)))
    monkeypatch.setenv("SSL_CERT_FILE", tls_ldap.certificate)
    assert len(list(people(reader(tls_ldap, uri=tls_ldap.ldaps_uri)))) == 30
