"""The organisation's directory keeps the lists (the manual's ADE): LDIF and CSV exports,
read at each run or dropped into spool/directory/, give the same lists; a later export
with leavers, joiners, renames and a department change is applied list by list; a sync
that would cut a list by more than MaxSyncRemovals is held until the SuperUser
confirms it; a broken export changes nothing and is reported with file:line."""

import base64
import csv
import os
import re

import pytest

from conftest import BASE_INI, mail
from tristero.model import directory
from tristero.model.people import DirectoryError

DEPTS = 20
PEOPLE = 2000
ADE_OWNED = range(0, 10)        # All-Dept00 .. 09 are rebuilt whole; 10 .. 19 have an owner


def people(n=PEOPLE):
    """{uid: dict} of a directory of n people in DEPTS departments, two mail domains."""
    out = {}
    for i in range(n):
        uid = "p%04d" % i
        domain = "corp.example" if i % 4 else "branch.example"
        name = "Zoë Ñandú %d" % i if i % 7 == 0 else "Person %d" % i
        out[uid] = {"uid": uid, "mail": "%s@%s" % (uid, domain), "cn": name, "ou": "Dept%02d" % (i % DEPTS)}
    return out


def fold(line):
    """An LDIF line folded at 40 characters (continuation lines)."""
    return "\n ".join(line[i:i + 40] for i in range(0, len(line), 40))


def ldif(directory_people):
    parts = ["version: 1\n", "# An export of the corporate directory\n"]
    for p in directory_people.values():
        dn = "uid=%s,ou=%s,ou=people,dc=corp,dc=example" % (p["uid"], p["ou"])
        lines = [fold("dn: " + dn), "objectClass: inetOrgPerson", "uid: " + p["uid"], "mail: " + p["mail"]]
        if p["cn"].isascii():
            lines.append("cn: " + p["cn"])
        else:
            lines.append(fold("cn:: " + base64.b64encode(p["cn"].encode()).decode()))
        lines.append("ou: " + p["ou"])
        parts.append("\n" + "\n".join(lines) + "\n")
    return "".join(parts)


def csv_text(directory_people):
    rows = [["uid", "mail", "cn", "ou", "title"]]
    rows += [[p["uid"], p["mail"], p["cn"], p["ou"], "Staff, grade 2"] for p in directory_people.values()]
    return "".join(",".join('"%s"' % c if "," in c else c for c in row) + "\n" for row in rows)


def site_ini(source):
    text = BASE_INI + "\n[Directory]\nSource = %s\nAutoAllSelect = PB\nGroupAttributes = ou\n" % source
    for d in range(DEPTS):
        owner = "ADE" if d in ADE_OWNED else "owner%02d@example.net" % d
        text += "\n[LIST All-Dept%02d]\nOwner = %s\nMemberFile = %08d\n" % (d, owner, d + 1)
    text += "\n[LIST All-corp.example]\nOwner = editor@example.net\nMemberFile = %08d\n" % (DEPTS + 1)
    text += "\n[LIST All-branch.example]\nOwner = ADE\nMemberFile = %08d\n" % (DEPTS + 2)
    return text


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def write(site, name, text):
    path = site.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def members(site, listname):
    """{address: options} of a list."""
    with open(site.path("tristero.ini"), encoding="utf-8") as f:
        ini = f.read()
    number = re.search(r"\[LIST %s\][^\[]*?MemberFile = (\d{8})" % re.escape(listname), ini).group(1)
    out = {}
    try:
        with open(site.path("lists", number + ".ini"), encoding="utf-8") as f:
            for line in f:
                if "@" in line and not line.startswith(";"):
                    address, _, options = line.rstrip("\n").rpartition(" =")
                    out[address] = options.strip()
    except FileNotFoundError:
        pass
    return out


def expected(directory_people):
    """{list: {addresses}} the directory's AutoAll lists hold."""
    out = {}
    for p in directory_people.values():
        out.setdefault("All-" + p["ou"], set()).add(p["mail"])
        out.setdefault("All-" + p["mail"].split("@")[1], set()).add(p["mail"])
    return out


def synced(site, directory_people, source="people.ldif"):
    site.write_ini(site_ini(source))
    write(site, source, ldif(directory_people) if source.endswith(".ldif") else csv_text(directory_people))
    site.run()
    return site


def test_an_ldif_and_a_csv_export_of_one_directory_give_the_same_lists(site, tmp_path):
    from conftest import TestSite
    staff = people()
    synced(site, staff, "people.ldif")
    other = TestSite(tmp_path / "csv")
    os.makedirs(other.home)
    synced(other, staff, "people.csv")
    want = expected(staff)
    assert len(want) == DEPTS + 2
    for listname, addresses in want.items():
        assert set(members(site, listname)) == addresses, listname
        with open(site.path("lists", "%08d.ini" % (DEPTS + 1)), "rb") as a, \
                open(other.path("lists", "%08d.ini" % (DEPTS + 1)), "rb") as b:
            assert a.read() == b.read()
    assert members(site, "All-Dept00")["p0000@branch.example"] == "NAME Zoë Ñandú 0"
    assert "directory people.ldif: 2000 people" in site.log()
    # Taken once: an unchanged Source is not read again.
    site.run(now="2026-11-21T11:00:00")
    assert site.log().count("directory people.ldif: 2000 people") == 1


def test_a_second_export_with_leavers_joiners_renames_and_a_department_change_list_by_list(site):
    staff = people()
    synced(site, staff)
    # What people and owners did by hand since: options, a right, an ownership, a
    # member the owner added to a list of their own, one added to a list the directory keeps.
    number = "%08d" % 11      # All-Dept10
    path = site.path("lists", number + ".ini")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("p0050@corp.example = NAME Person 50\n", "p0050@corp.example = NAME Person 50, NOMAIL\n")
    text += "guest@elsewhere.example =\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    with open(site.path("lists", "00000002.ini"), "a", encoding="utf-8") as f:
        f.write("stray@elsewhere.example =\n")            # All-Dept01, owned by ADE
    with open(site.path("access.ini"), "w", encoding="utf-8") as f:
        f.write('"p0051@corp.example",ListOwner,"All-Dept11","","",""\n')
    ini = read(site.path("tristero.ini"))
    ini = ini.replace("Owner = owner12@example.net", "Owner = p0052@branch.example")
    site.write_ini(ini)

    after = {k: dict(v) for k, v in staff.items()}
    leavers = ["p%04d" % i for i in range(30, 35)]           # Dept10 .. 14
    for uid in leavers:
        del after[uid]
    renamed = {"p%04d" % i: "renamed.%04d@corp.example" % i for i in range(50, 55)}
    for uid, address in renamed.items():
        after[uid]["mail"] = address
    for i in range(PEOPLE, PEOPLE + 5):
        after["p%04d" % i] = {"uid": "p%04d" % i, "mail": "p%04d@corp.example" % i, "cn": "New %d" % i,
                              "ou": "Dept%02d" % (i % DEPTS)}
    after["p0072"]["ou"] = "Dept15"                           # was Dept12
    write(site, "spool/directory/export-2.ldif", ldif(after))
    site.run(now="2026-11-22T10:00:00")

    want = expected(after)
    want["All-Dept10"].add("guest@elsewhere.example")      # the owner's own member stays
    for listname, addresses in want.items():
        assert set(members(site, listname)) == addresses, listname
    assert "stray@elsewhere.example" not in members(site, "All-Dept01")   # rebuilt whole
    assert members(site, "All-Dept10")["renamed.0050@corp.example"] == "NAME Person 50, NOMAIL"
    assert "p0072@branch.example" not in members(site, "All-Dept12")
    assert "p0072@branch.example" in members(site, "All-Dept15")
    with open(site.path("access.ini"), encoding="utf-8") as f:
        rules = f.read()
    assert "renamed.0051@corp.example" in rules and "p0051@" not in rules
    assert "Owner = renamed.0052@corp.example" in read(site.path("tristero.ini"))
    assert os.listdir(site.path("spool", "directory", "cur")) == ["export-2.ldif"]
    # Owners told of their leavers; the departed sent nothing.
    for uid in leavers:
        assert not site.messages_to(staff[uid]["mail"])
    told = site.messages_to("owner10@example.net")
    assert len(told) == 1 and "p0030@corp.example" in told[0].get_body(("plain",)).get_content()
    with open(site.path("logs", "00000011.csv"), encoding="utf-8") as f:
        trail = f.read()
    assert "2026-11-22,10:00:00,unsubscribe,p0030@corp.example,directory,directory" in trail
    assert "rename,p0050@corp.example -> renamed.0050@corp.example,directory,directory" in trail


def test_a_sync_that_would_cut_a_list_by_more_than_max_sync_removals_waits_for_the_superuser(site):
    staff = people()
    synced(site, staff)
    before = {n: members(site, n) for n in ("All-Dept13", "All-Dept03")}
    broken = {k: v for k, v in staff.items() if not (v["ou"] == "Dept13" and int(k[1:]) < 400)}
    assert len(staff) - len(broken) == 20                     # 20 of Dept13's 100
    write(site, "spool/directory/partial.ldif", ldif(broken))
    site.run(now="2026-11-22T10:00:00")
    assert members(site, "All-Dept13") == before["All-Dept13"]
    [notice] = site.messages_to("boss@example.org")
    text = notice.get_body(("plain",)).get_content()
    assert "All-Dept13: 20 of 100 member(s) removed" in text
    assert [n for n in os.listdir(site.path("spool", "directory", "held")) if n.endswith(".state")]
    # A forged confirmation (a wrong cookie) applies nothing.
    site.drop(mail(frm="boss@example.org", body="COOKIE AAAAAAAAAAAAAAAA\nADESYNC * RELOAD\n"))
    site.run(now="2026-11-22T11:00:00")
    assert members(site, "All-Dept13") == before["All-Dept13"]
    commands = text.split("START\n", 1)[1].split("STOP", 1)[0]
    site.drop(mail(frm="boss@example.org", body=commands))
    site.run(now="2026-11-22T12:00:00")
    assert set(members(site, "All-Dept13")) == expected(broken)["All-Dept13"]
    assert members(site, "All-Dept03") == before["All-Dept03"]
    assert not os.listdir(site.path("spool", "directory", "held"))


BROKEN = {
    "continuation.ldif": ("version: 1\n\n dn: uid=x\n", "continuation.ldif:3"),
    "base64.ldif": ("dn: uid=a,dc=x\nuid: a\nmail:: !!notbase64\n", "base64.ldif:3"),
    "no-colon.ldif": ("dn: uid=a,dc=x\nuid: a\nmail a@corp.example\n", "no-colon.ldif:3"),
    "duplicate.ldif": ("dn: uid=a,dc=x\nuid: a\nmail: a@corp.example\n\n"
                       "dn: uid=b,dc=x\nuid: a\nmail: b@corp.example\n", "duplicate.ldif:5: the id a"),
    "bad-mail.ldif": ("dn: uid=a,dc=x\nuid: a\nmail: not an address\n", "bad-mail.ldif:1"),
    "mixed.ldif": ("dn: uid=a,dc=x\nuid: a\nmail: a@corp.example\n\n"
                   "dn: uid=a,dc=x\nchangetype: delete\n", "mixed.ldif:5"),
    "fields.csv": ("uid,mail,ou\na,a@corp.example,Dept01\nb,b@corp.example\n", "fields.csv:3"),
    "duplicate.csv": ("uid,mail,ou\na,a@corp.example,Dept01\na,b@corp.example,Dept01\n", "duplicate.csv:3"),
    "header.csv": ("id,email\na,a@corp.example\n", "header.csv:1"),
    "latin1.csv": ("uid,mail,cn\na,a@corp.example,Jos\xe9\n", "latin1.csv:2"),
    "empty.ldif": ("# nothing\n", "empty.ldif: no entries"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_export_changes_nothing_and_is_reported_with_file_and_line(site, name):
    staff = people(200)
    synced(site, staff)
    before = {n: members(site, n) for n in ("All-Dept01", "All-corp.example")}
    text, where = BROKEN[name]
    path = site.path("spool", "directory", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode("latin-1") if name == "latin1.csv" else text.encode())
    site.run(now="2026-11-22T10:00:00")
    assert {n: members(site, n) for n in before} == before
    [notice] = site.messages_to("boss@example.org")
    assert "spool/directory/" + where in notice.get_body(("plain",)).get_content()
    assert "spool/directory/" + where in site.log()
    assert os.listdir(site.path("spool", "directory", "failed")) == [name]


def test_an_unreadable_source_is_reported_once_and_changes_nothing(site):
    staff = people(200)
    synced(site, staff)
    os.remove(site.path("people.ldif"))
    os.mkdir(site.path("people.ldif"))           # a folder where the file was
    site.run(now="2026-11-22T10:00:00")
    site.run(now="2026-11-22T11:00:00")
    assert site.log().count("directory people.ldif refused") == 1
    [notice] = site.messages_to("boss@example.org")
    assert "people.ldif: cannot be read: Is a directory" in notice.get_body(("plain",)).get_content()
    assert len(members(site, "All-Dept01")) == 10


def test_ldif_change_records_apply_to_the_last_sync_as_rfc_2849_means(site):
    staff = people(40)
    synced(site, staff)
    change = """version: 1

dn: uid=p0001,ou=Dept01,ou=people,dc=corp,dc=example
changetype: modrdn
newrdn: uid=p0001
deleteoldrdn: 1
newsuperior: ou=Dept05,ou=people,dc=corp,dc=example

dn: uid=p0001,ou=Dept05,ou=people,dc=corp,dc=example
changetype: modify
replace: ou
ou: Dept05
-
replace: mail
mail: moved.0001@corp.example
-

dn: uid=p0002,ou=Dept02,ou=people,dc=corp,dc=example
changetype: delete

dn: uid=p9999,ou=Dept03,ou=people,dc=corp,dc=example
changetype: add
uid: p9999
mail: p9999@corp.example
ou: Dept03
"""
    write(site, "spool/directory/changes.ldif", change)
    site.run(now="2026-11-22T10:00:00")
    assert set(members(site, "All-Dept05")) == {"p0005@corp.example", "p0025@corp.example", "moved.0001@corp.example"}
    assert "p0001@corp.example" not in members(site, "All-Dept01")
    assert set(members(site, "All-Dept02")) == {"p0022@corp.example"}
    assert "p9999@corp.example" in members(site, "All-Dept03")


def test_a_minus_department_removes_and_exclusions_and_the_smtp_list(site):
    staff = people(40)
    site.write_ini(site_ini("people.csv"))
    ini = read(site.path("tristero.ini")).replace(
        "GroupAttributes = ou\n", "GroupAttributes = ou\nAutoAllExclude = z\nAutoAllSMTP = Outsiders\n")
    site.write_ini(ini + "\n[LIST Outsiders]\nOwner = ADE\nMemberFile = 00000099\n")
    staff["p0003"]["ou"] = "Dept03;-Dept14"
    staff["p0004"]["mail"] = "zz.dummy@corp.example"
    write(site, "people.csv", csv_text(staff))
    os.makedirs(site.path("lists"))
    with open(site.path("lists", "00000015.ini"), "w") as f:     # All-Dept14, an owner's
        f.write("[Members]\np0003@corp.example =\nfriend@outside.example =\n")
    site.run()
    assert set(members(site, "All-Dept14")) == {"p0014@corp.example", "p0034@corp.example",
                                                "friend@outside.example"}
    assert "zz.dummy@corp.example" not in members(site, "All-corp.example")
    assert set(members(site, "Outsiders")) == {"friend@outside.example"}


def test_owner_ade_is_a_valid_owner_and_its_mail_goes_to_the_superuser(site):
    site.write_ini(BASE_INI + "\n[LIST staff]\nOwner = ADE\n")
    assert site.tristero("check").returncode == 0          # a list added by hand has no MemberFile yet
    site.drop(mail(frm="someone@example.net", to="owner-staff@example.org", body="hello\n"))
    site.run()
    assert site.messages_to("boss@example.org")


def test_directory_export_prints_the_lists_as_ldif_and_csv(site):
    staff = people(40)
    synced(site, staff)
    out = site.tristero("directory", "export").stdout.decode()
    assert "dn: cn=All-Dept01,ou=lists\n" in out
    assert "member: uid=p0001,ou=Dept01,ou=people,dc=corp,dc=example\n" in out
    out = site.tristero("directory", "export", "--format", "nisMailAlias").stdout.decode()
    assert "objectClass: nisMailAlias\n" in out and "rfc822MailMember: p0001@corp.example\n" in out
    rows = list(csv.reader(site.tristero("directory", "export", "--csv").stdout.decode().splitlines()))
    assert rows[0] == ["list", "address", "member"]
    assert ["All-Dept01", "all-dept01@example.org", "p0021@corp.example"] in rows


def test_adesync_by_mail_sends_the_entries_and_is_for_the_superuser_only(site):
    staff = people(40)
    synced(site, staff)
    site.drop(mail(frm="boss@example.org", body="ADESYNC All-Dept01 FULL\n"))
    site.drop(mail(frm="owner11@example.net", body="ADESYNC * RELOAD\n"))
    site.run(now="2026-11-22T10:00:00")
    sent = [m for m in site.messages_to("boss@example.org") if m["Subject"].startswith("Directory entries")]
    [attachment] = list(sent[0].iter_attachments())
    content = attachment.get_content()
    assert b"member: uid=p0021" in (content if isinstance(content, bytes) else content.encode())
    [reply] = site.messages_to("owner11@example.net")
    assert "ADESYNC" in reply.get_body(("plain",)).get_content()
    assert len(members(site, "All-Dept11")) == 2


def test_the_reader_streams_and_names_the_attributes_of_the_schema(tmp_path):
    path = tmp_path / "ad.ldif"
    guid = base64.b64encode(bytes(range(16))).decode()
    path.write_text("dn: CN=Ann,OU=Staff,DC=corp\nobjectGUID:: %s\nmail: ann@corp.example\n"
                    "displayName: Ann\ndepartment: Sales\n" % guid)

    class Cfg:
        def get(self, section, key):
            return {"Schema": "ad", "GroupAttributes": []}.get(key, "")
    attrs = directory.attributes(Cfg())
    snap = directory.read(str(path), "ad.ldif", attrs, {})
    [entry] = snap.values()
    assert entry.person.id == bytes(range(16)).hex()
    assert entry.person.attributes == {"department": ("Sales",)}
    with pytest.raises(DirectoryError):
        directory.read(str(tmp_path / "missing.ldif"), "missing.ldif", attrs, {})


def test_a_held_sync_overtaken_by_a_later_export_cannot_be_confirmed_any_more(site):
    staff = people(200)
    synced(site, staff)
    cut = {k: v for k, v in staff.items() if k not in ("p0013", "p0033", "p0053")}    # 3 of Dept13's 10
    write(site, "spool/directory/partial.ldif", ldif(cut))
    site.run(now="2026-11-22T10:00:00")
    [notice] = site.messages_to("boss@example.org")
    commands = notice.get_body(("plain",)).get_content().split("START\n", 1)[1].split("STOP", 1)[0]
    write(site, "spool/directory/good.ldif", ldif(staff))
    site.run(now="2026-11-22T11:00:00")
    assert not os.listdir(site.path("spool", "directory", "held"))
    site.drop(mail(frm="boss@example.org", body=commands))
    site.run(now="2026-11-22T12:00:00")
    assert len(members(site, "All-Dept13")) == 10
    replies = [m for m in site.messages_to("boss@example.org") if m["Subject"].startswith("Re:")]
    assert "no held directory sync" in replies[0].get_body(("plain",)).get_content()


def test_a_live_source_s_people_are_checked_like_a_file_s():
    from tristero.model.people import Person
    good = [Person("1", "a@corp.example", "A", {"ou": ("Sales",)}), Person("2", "b@corp.example")]
    snap = directory.snapshot_of(iter(good), "ldap://dir")
    assert sorted(snap) == ["1", "2"]
    assert directory.digest_of(snap) == directory.digest_of(directory.snapshot_of(reversed(good), "ldap://dir"))
    with pytest.raises(DirectoryError, match="ldap://dir: entry 3: the id 1 is also that of a@corp.example"):
        directory.snapshot_of(good + [Person("1", "c@corp.example")], "ldap://dir")
    with pytest.raises(DirectoryError, match="not one mail address"):
        directory.snapshot_of([Person("9", "no address")], "ldap://dir")


def test_autoallselect_r_i_and_a_as_the_readme_maps_them(site):
    staff = ("uid,mail,ou,departmentNumber\n"
             "1,ann@example.org,Sales;Travel,42\n"        # a local user: her domain's list
             "2,bob@corp.example,Sales,42\n")             # remote (not the site's domain)
    ini = BASE_INI + ("\n[Directory]\nSource = people.csv\nAutoAllSelect = RPI\nAutoAllRemote = Remote-Staff\n"
                      "GroupAttributes = ou, departmentNumber\n")
    for n, name in enumerate(("Remote-Staff", "All-example.org", "All-corp.example", "All-Sales", "All-Travel",
                              "All-42", "Sales"), 1):
        ini += "\n[LIST %s]\nOwner = ADE\nMemberFile = %08d\n" % (name, n)
    site.write_ini(ini)
    write(site, "people.csv", staff)
    site.run()
    assert set(members(site, "Remote-Staff")) == {"bob@corp.example"}
    assert set(members(site, "All-example.org")) == {"ann@example.org"}
    assert members(site, "All-corp.example") == {}
    assert set(members(site, "All-Sales")) == {"ann@example.org", "bob@corp.example"}
    assert members(site, "All-Travel") == {} and members(site, "All-42") == {}     # I: the first value only
    assert members(site, "Sales") == {}
    site.write_ini(read(site.path("tristero.ini")).replace("AutoAllSelect = RPI", "AutoAllSelect = A"))
    write(site, "people.csv", staff + "3,cat@example.org,Ops,7\n")
    site.run(now="2026-11-21T11:00:00")
    assert set(members(site, "Sales")) == {"ann@example.org", "bob@corp.example"}   # A: the value names a list
    assert set(members(site, "All-42")) == {"ann@example.org", "bob@corp.example"}  # and prefix + value too
