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

