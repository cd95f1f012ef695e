"""Rights: the manual's tables, walked cell by cell through real runs, and the rules around them."""

import csv
import datetime
import os

import pytest

from conftest import mail
from tristero.model import access, cookies

TYPES = ("Open", "Free", "Internal", "Closed", "Moderated", "Subscription", "Approval",
         "Distribution", "Executable", "Passive", "Broadcast", "Hidden")

# The manual's list type table ("Moderated Lists"): subscription by a non-member,
# posting by a non-member and by a member (of the list, not of its -approval list).
#            subscribe  post: non-member, member
MANUAL = {
    "Open":         ("open",   True,  True),
    "Free":         ("open",   True,  True),
    "Internal":     ("open",   True,  True),
    "Closed":       ("closed", False, True),
    "Moderated":    ("open",   False, False),
    "Subscription": ("open",   False, True),
    "Approval":     ("closed", True,  True),
    "Distribution": ("closed", True,  True),
    "Executable":   ("closed", False, True),
    "Passive":      ("closed", False, False),
    "Broadcast":    ("open",   False, False),
    "Hidden":       ("closed", False, True),
}
# Review (MEMBERS) follows the security profiles: R for non-members / members.
REVIEW = {
    "Open": (True, True), "Free": (True, True), "Internal": (True, True), "Closed": (False, True),
    "Moderated": (True, True), "Subscription": (True, True), "Approval": (False, True),
    "Distribution": (True, True), "Executable": (False, False), "Passive": (False, False),
    "Broadcast": (True, True), "Hidden": (False, True),
}


def ini_for(types, extra=""):
    text = "[Globals]\nDomain = example.org\nSuperUser = boss@example.org\nMaxRecipients = 50\n" + extra
    for n, t in enumerate(types, 1):
        text += "\n[LIST %s]\nMemberFile = %08d\nType = %s\nOwner = owner@example.org\n" % (t.lower(), n, t)
    return text


def write_members(site, number, addresses):
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "%08d.ini" % number), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % a for a in addresses))


def members_of(site, number):
    from tristero.model.members import load
    return [a for a, _ in load("%08d" % number, site.path("lists", "%08d.ini" % number)).items()]


def replies(site, to):
    return "\n".join(m.get_content() for m in site.messages_to(to) if m["Subject"].startswith("Re:"))


def posts_to(site, listname):
    return [m for m in site.outbound() if b"X-Loop: %s@example.org" % listname.encode() in m.data]


def test_every_cell_of_the_list_type_table(site):
    """Each list type x member or not x subscribe, post, review, in one real run per action
    (OpenReview = Y: the manual's profiles, review by non-members included)."""
    with open(site.path("tristero.ini"), "w") as f:
        # Rights are the matter here, not the short replies strangers get (test_output_bounds).
        f.write(ini_for(TYPES, "MaxStrangerCommands = 100\nMaxStrangerReplies = 100\n"
                               "\n[Security]\nOpenReview = Y\n"))
    for n in range(1, len(TYPES) + 1):
        write_members(site, n, ["member@example.net"])
    # Posts: the non-member and the member post to every list.
    for t in TYPES:
        site.drop(mail(frm="outsider@example.com", to="%s@example.org" % t.lower(), subject="from outside"))
        site.drop(mail(frm="member@example.net", to="%s@example.org" % t.lower(), subject="from a member"))
    # Commands: the outsider subscribes to each list and asks for its members.
    site.drop(mail(frm="outsider@example.com", body="".join("who %s\n" % t.lower() for t in TYPES)))
    site.drop(mail(frm="member@example.net", body="".join("who %s\n" % t.lower() for t in TYPES)))
    site.drop(mail(frm="outsider@example.com", body="".join("subscribe %s\n" % t.lower() for t in TYPES)))
    site.run()
    out_replies = replies(site, "outsider@example.com")
    member_replies = replies(site, "member@example.net")
    for n, t in enumerate(TYPES, 1):
        subscribe, outsider_posts, member_posts = MANUAL[t]
        posts = posts_to(site, t.lower())
        subjects = [p.data.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0] for p in posts]
        if t == "Executable":
            # Its W right lets a member use the list: the message is answered with the
            # list's files or commands (test_repository), never passed on.
            assert subjects == [], t
            assert "none are set up yet" in member_replies and "none are set up yet" not in out_replies, t
        else:
            assert (b"from outside" in subjects) == outsider_posts, (t, "non-member post")
            assert (b"from a member" in subjects) == member_posts, (t, "member post")
        joined = "outsider@example.com" in members_of(site, n)
        assert joined == (subscribe == "open"), (t, "subscribe")
        if t == "Hidden":
            # To a stranger a Hidden list is a list that does not exist (test_identity).
            assert "ERROR: there is no list called hidden" in out_replies
        elif subscribe == "closed":
            assert "HELD: %s does not take subscriptions" % t.lower() in out_replies, t
        outsider_review, member_review = REVIEW[t]
        assert ("OK: 1 member(s) of %s" % t.lower() in out_replies) == outsider_review, (t, "review")
        assert ("OK: 1 member(s) of %s" % t.lower() in member_replies) == member_review, (t, "review")


def test_rosters_are_for_members_by_default(site):
    """OpenReview = N (the example's value): on no list type may a non-member see the members;
    members see them where their profile gives review."""
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(TYPES))
    for n in range(1, len(TYPES) + 1):
        write_members(site, n, ["member@example.net"])
    site.drop(mail(frm="outsider@example.com", body="".join("who %s\n" % t.lower() for t in TYPES)))
    site.drop(mail(frm="member@example.net", body="".join("who %s\n" % t.lower() for t in TYPES)))
    site.run()
    out_replies = replies(site, "outsider@example.com")
    member_replies = replies(site, "member@example.net")
    assert "member@example.net" not in out_replies
    for t in TYPES:
        assert "OK: 1 member(s) of %s" % t.lower() not in out_replies, t
        assert ("OK: 1 member(s) of %s" % t.lower() in member_replies) == REVIEW[t][1], t
    assert "REFUSED: open is an Open list: members only" in out_replies


def test_moderated_lists_take_posts_from_members_of_their_approval_list(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Moderated"]) + "\n[LIST moderated-approval]\nMemberFile = 00000002\nType = Approval\n")
    write_members(site, 1, ["reader@example.net"])
    write_members(site, 2, ["moderator@example.net"])
    site.drop(mail(frm="moderator@example.net", to="moderated@example.org", subject="approved"))
    site.drop(mail(frm="reader@example.net", to="moderated@example.org", subject="unmoderated"))
    site.run()
    subjects = [p.data for p in posts_to(site, "moderated")]
    assert len(subjects) == 1 and b"Subject: approved" in subjects[0]
    # The reader's post is held for the moderators (issue 14: a queue instead of the
    # manual's forwarded copies), who are sent a listing of it.
    assert posts_to(site, "moderated-approval") == []
    [listing] = [b for b in site.outbound() if b.recipients == ["moderator@example.net"]]
    assert b"unmoderated" in listing.data and b"HELD moderated 1=" in listing.data


# Each rights macro granted in access.ini on a Passive list (which gives nobody
# anything), and what it lets its holder do there.
MACRO_CELLS = {
    #               post   sub    who    add    create set-type config-security
    "SuperUser":    (True, True, True, True, True, True, True),
    "PostMaster":   (True, True, True, True, True, True, False),
    "ListOwner":    (True, True, True, True, False, False, False),
    "Member":       (True, True, True, False, False, False, False),
    "Poster":       (True, False, False, False, False, False, False),
    "Recipient":    (False, True, True, False, False, False, False),
    "Subscriber":   (False, True, True, False, False, False, False),
    "Distribution": (True, False, True, False, False, False, False),
    "FTP":          (False, False, False, False, False, False, False),
    "AnonFTP":      (False, False, False, False, False, False, False),
    "None":         (False, False, False, False, False, False, False),
    "Barred":       (False, False, False, False, False, False, False),
}


@pytest.mark.parametrize("macro", sorted(MACRO_CELLS))
def test_each_rights_macro_against_each_command(site, macro):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Passive"]))
    write_members(site, 1, ["reader@example.net"])
    # Site-wide for the global privileges and for Barred (barring a person), else the list.
    scope = "" if macro in ("SuperUser", "PostMaster", "Barred") else "passive"
    with open(site.path("access.ini"), "w") as f:
        f.write('"holder@example.com",%s,"%s","","",""\n' % (macro, scope))
    who = "holder@example.com"
    site.drop(mail(frm=who, to="passive@example.org", subject="a post"))
    site.drop(mail(frm=who, body="subscribe passive\nwho passive\nadd passive new@example.net HIDE\n"
                                 "create fresh New list\nset passive type open\nconfig security\n"))
    site.run()
    post, sub, who_ok, add, create, settype, config = MACRO_CELLS[macro]
    text = replies(site, who)
    assert bool(posts_to(site, "passive")) == post
    assert ("holder@example.com" in members_of(site, 1)) == sub
    assert ("OK: " in text.split("> who passive")[1].split(">")[0] if text else False) == who_ok
    assert ("new@example.net" in members_of(site, 1)) == add
    assert ("OK: created fresh" in text) == create
    assert ("OK: passive Type = open" in text) == settype
    assert ("OK: security settings" in text) == config
    if macro == "Barred":
        assert site.messages_to(who) == []   # not even an answer


def test_an_x_takes_away_what_the_list_type_gives(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    with open(site.path("access.ini"), "w") as f:
        # X on W (post) for open, X on R (review) for every list.
        f.write('"*@spam.example",-----------X,"open","","",""\n"*@spam.example",--------X---,"*","","",""\n')
    site.drop(mail(frm="a@spam.example", to="open@example.org", subject="buy"))
    site.drop(mail(frm="a@spam.example", body="subscribe open\nwho open"))
    site.drop(mail(frm="b@ok.example", to="open@example.org", subject="fine"))
    site.run()
    subjects = [p.data.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0] for p in posts_to(site, "open")]
    assert subjects == [b"fine"]                       # a's post refused, b's goes (to a, now a member)
    refusal = [m for m in site.messages_to("a@spam.example") if m["Subject"] == "Not posted: buy"][0]
    assert "access.ini takes W away from you on open" in refusal.get_content()
    assert "a@spam.example" in members_of(site, 1)   # M was not masked
    assert "REFUSED: access.ini takes R away from you on open" in replies(site, "a@spam.example")
    assert "Not posted" not in " ".join(m["Subject"] for m in site.messages_to("b@ok.example"))


def test_the_manuals_combination_example():
    """FTP on *, G masked on *, Recipient on money-l gives CD-I-MO-R-U- on money-l."""
    rules, problems = access.parse('"k@x.example",FTP,"*","","",""\n"k@x.example",--X---------,"*","","",""\n'
                                   '"k@x.example",Recipient,"money-l","","",""\n')
    assert problems == []
    granted, masked = set(), set()
    for r in rules:
        if r.priority("k@x.example", "money-l") is not None:
            granted |= r.granted
            masked |= r.masked
    assert access.flag_string(granted - masked) == "CD-I-MO-R-U-"


def test_wildcard_priority_follows_the_manual():
    r = lambda user, lst: access.Rule(user, "None", lst)
    cases = [(r("joe@x.example", "news"), 1), (r("joe@x.example", "*"), 2), (r("*@x.example", "news"), 3),
             (r("joe*", ""), 4), (r("*", "news"), 5), (r("*@*", "*"), 6)]
    for rule, priority in cases:
        assert rule.priority("joe@x.example", "news") == priority, rule.fields()
    assert r("*@y.example", "news").priority("joe@x.example", "news") is None
    assert r("joe@x.example", "other").priority("joe@x.example", "news") is None


def test_a_half_edited_rule_file_fails_closed_and_is_repaired_by_grant(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    with open(site.path("access.ini"), "w") as f:
        f.write('"spammer@x.example",Barrred,"",\n"broken\n')
    site.drop(mail(frm="spammer@x.example", to="open@example.org", subject="hi"))
    site.drop(mail(frm="boss@example.org", body="grant Member to friend@example.com for open"))
    site.run()
    assert posts_to(site, "open") == [] and site.messages_to("spammer@x.example") == []
    with open(site.path("access.ini")) as f:
        text = f.read()
    assert '"spammer@x.example","Barred","","","",""' in text
    assert '"friend@example.com","Member","open","","",""' in text
    site.run()  # the repaired file reads cleanly
    rules, problems = access.load(site.path("access.ini"))
    assert problems == []


def test_nobody_grants_above_their_own_rights(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    site.drop(mail(frm="owner@example.org", body="grant PostMaster to pal@example.com for open\n"
                                                 "grant Member to pal@example.com for open\n"
                                                 "grant SuperUser to pal@example.com\n"))
    site.run()
    text = replies(site, "owner@example.org")
    assert "REFUSED: you cannot grant rights you do not hold yourself (P)" in text
    assert "OK: pal@example.com now holds Member on open" in text
    assert "REFUSED: only a PostMaster or the SuperUser may do this" in text


def test_only_a_superuser_grants_superuser(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    with open(site.path("access.ini"), "w") as f:
        f.write('"pm@example.org",PostMaster,"","","",""\n')
    site.drop(mail(frm="pm@example.org", body="grant SuperUser to pal@example.com\ngrant S pal@example.com\n"))
    site.drop(mail(frm="boss@example.org", body="grant SuperUser to deputy@example.org"))
    site.run()
    assert replies(site, "pm@example.org").count("REFUSED: you cannot grant rights you do not hold") == 2
    assert "OK: deputy@example.org now holds SuperUser on *" in replies(site, "boss@example.org")


def test_revoke_masks_a_right_the_list_type_gives(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, ["loud@example.net"])
    site.drop(mail(frm="owner@example.org", body="revoke W from loud@example.net for open"))
    site.drop(mail(frm="loud@example.net", to="open@example.org", subject="again"))
    site.run()
    assert posts_to(site, "open") == []
    with open(site.path("access.ini")) as f:
        assert '"loud@example.net","-----------X","open"' in f.read()


def test_rights_reports_flags_per_list(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open", "Closed"]))
    write_members(site, 1, [])
    write_members(site, 2, [])
    site.drop(mail(frm="someone@example.com", body="rights"))
    site.run()
    text = replies(site, "someone@example.com")
    assert "open                     CDGI-MO----W" in text      # uploads and the roster need membership
    assert "closed                   C-----------" in text


def test_open_review_gives_non_members_the_manuals_open_profile(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open", "Closed"], "\n[Security]\nOpenReview = Y\n"))
    write_members(site, 1, [])
    write_members(site, 2, [])
    site.drop(mail(frm="someone@example.com", body="rights"))
    site.run()
    text = replies(site, "someone@example.com")
    assert "open                     CDGI-MO-R--W" in text      # uploads need membership
    assert "closed                   C-----------" in text


# --- passwords -----------------------------------------------------------------------------

def test_once_a_password_is_set_a_forged_from_gets_nothing_privileged(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    site.drop(mail(frm="boss@example.org", body="setpass Secret99 for owner@example.org"))
    site.run()
    os.rename(site.path("spool", "out", "new"), site.path("spool", "out", "seen"))
    # A forger writes as the owner, without (or with a wrong) password.
    site.drop(mail(frm="owner@example.org", body="add open victim@example.net HIDE\npassword guess1\n"
                                                 "add open victim2@example.net HIDE\n"))
    site.run()
    assert members_of(site, 1) == []
    text = replies(site, "owner@example.org")
    assert "REFUSED: a password is set for owner@example.org" in text
    assert "REFUSED: that is not your password" in text
    warning = [m for m in site.messages_to("boss@example.org") if "refused privileged" in m["Subject"]]
    assert warning and "add open" in warning[0].get_content().lower()
    # The owner, with the password, may.
    os.rename(site.path("spool", "out", "new"), site.path("spool", "out", "seen2"))
    site.drop(mail(frm="owner@example.org", body="password Secret99\nadd open friend@example.net HIDE\n"
                                                 "approve Secret99 add open pal@example.net HIDE\n"))
    site.run()
    assert sorted(members_of(site, 1)) == ["friend@example.net", "pal@example.net"]


def test_passwords_are_stored_hashed_and_never_echoed_or_logged(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    site.drop(mail(frm="boss@example.org", body="setpass Sesame123 for *@example.org"))
    site.run()
    with open(site.path("access.ini")) as f:
        text = f.read()
    assert "Sesame123" not in text and "scrypt$" in text
    assert "Sesame123" not in site.log()
    assert "Sesame123" not in replies(site, "boss@example.org")
    for name in os.listdir(site.path("logs")):
        with open(site.path("logs", name), errors="replace") as f:
            assert "Sesame123" not in f.read()


def test_setpass_without_for_changes_ones_own_password_given_the_old(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    site.drop(mail(frm="boss@example.org", body="setpass First111 for owner@example.org"))
    site.drop(mail(frm="owner@example.org", body="setpass Second22"))
    site.drop(mail(frm="owner@example.org", subject="again", body="password First111\nsetpass Second22"))
    site.drop(mail(frm="owner@example.org", subject="new", body="password Second22\nadd open x@example.net HIDE"))
    site.run()
    text = replies(site, "owner@example.org")
    assert "REFUSED: send PASSWORD oldpassword before SETPASS" in text
    assert "OK: password set for owner@example.org" in text
    assert members_of(site, 1) == ["x@example.net"]


def test_a_password_must_be_eight_or_more_letters_and_digits(site):
    site.drop(mail(frm="boss@example.org", body="setpass abc for x@example.org\nsetpass ab-cd for x@example.org\n"
                                                "setpass abcd123 for x@example.org\n"
                                                "setpass abcd-1234 for x@example.org"))
    site.run()
    assert replies(site, "boss@example.org").count("ERROR: a password is 8 to 64 letters and digits") == 4
    assert not os.path.exists(site.path("access.ini"))


# --- cookies --------------------------------------------------------------------------------

def test_cookies_are_bound_to_user_list_and_function_and_expire():
    key = b"k" * 32
    today = datetime.date(2026, 11, 21)
    code = cookies.bake(key, "SUB", "news", "joe@x.example", today + datetime.timedelta(days=7))
    assert len(code) == 32
    assert cookies.valid(key, code, "SUB", "news", "joe@x.example", today)
    assert cookies.valid(key, code, "SUB", "NEWS", "Joe@X.example", today + datetime.timedelta(days=7))
    assert not cookies.valid(key, code, "SUB", "news", "joe@x.example", today + datetime.timedelta(days=8))
    assert not cookies.valid(key, code, "SUB", "other", "joe@x.example", today)
    assert not cookies.valid(key, code, "SUB", "news", "ann@x.example", today)
    assert not cookies.valid(key, code, "POST", "news", "joe@x.example", today)
    assert not cookies.valid(b"j" * 32, code, "SUB", "news", "joe@x.example", today)
    wild = cookies.bake(key, "*", "*", "*", today)
    assert cookies.valid(key, wild, "SUB", "anything", "anyone@y.example", today)


def internet_policy_site(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open", "Closed"]) + "\n[Security]\nInternetPolicySub = 2\n")
    write_members(site, 1, [])
    write_members(site, 2, [])


def test_internet_policy_2_confirms_outside_subscriptions_by_cookie(site):
    internet_policy_site(site)
    site.drop(mail(frm="frenesi@outside.example", body="subscribe open"))
    site.drop(mail(frm="local@example.org", subject="local", body="subscribe open"))
    site.run()
    assert members_of(site, 1) == ["local@example.org"]
    confirm = [m for m in site.messages_to("frenesi@outside.example") if m["Subject"].startswith("Confirm")][0]
    body = confirm.get_content()
    assert "START\nCOOKIE " in body and "SUBSCRIBE open\nSTOP" in body
    os.rename(site.path("spool", "out", "new"), site.path("spool", "out", "seen"))
    # The reply quotes it: the robot reads the block and subscribes.
    quoted = "".join("> " + l + "\n" for l in body.splitlines())
    site.drop(mail(frm="frenesi@outside.example", subject="Re: " + confirm["Subject"], body="Yes\n" + quoted))
    site.run()
    assert "frenesi@outside.example" in members_of(site, 1)


def test_a_cookie_is_worth_nothing_to_another_address(site):
    internet_policy_site(site)
    site.drop(mail(frm="frenesi@outside.example", body="subscribe open"))
    site.run()
    body = [m for m in site.messages_to("frenesi@outside.example")
            if m["Subject"].startswith("Confirm")][0].get_content()
    code = body.split("COOKIE ")[1].split()[0]
    site.drop(mail(frm="thief@outside.example", body="cookie %s\nsubscribe open" % code))
    site.run()
    assert "thief@outside.example" not in members_of(site, 1)


def test_a_cookie_never_opens_a_closed_list(site):
    internet_policy_site(site)
    site.drop(mail(frm="boss@example.org", body="bake for * to frenesi@outside.example"))
    site.run()
    code = replies(site, "boss@example.org").split("valid to")[1].split("\n")[1].strip()
    site.drop(mail(frm="frenesi@outside.example", body="cookie %s\nsubscribe closed\nsubscribe open" % code))
    site.run()
    assert members_of(site, 2) == []                                   # Closed stays closed
    assert "frenesi@outside.example" in members_of(site, 1)            # no confirmation round trip


def test_bake_defaults_and_needs_a_postmaster(site):
    site.drop(mail(frm="nobody@example.com", body="bake *"))
    site.drop(mail(frm="boss@example.org", body="bake for * to joe@x.example use by 4 days"))
    site.run()
    assert "REFUSED" in replies(site, "nobody@example.com")
    assert "cookie for SUB on * by joe@x.example, valid to 2026-11-25" in replies(site, "boss@example.org")


# --- limits, barring, audit -------------------------------------------------------------------

def test_max_session_subs_limits_subscriptions_per_sender_per_run(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open", "Subscription", "Broadcast"]) + "\n[Security]\nMaxSessionSubs = 2\n")
    for n in (1, 2, 3):
        write_members(site, n, [])
    site.drop(mail(frm="bot@example.com", body="subscribe open\nsubscribe subscription\nsubscribe broadcast"))
    site.run()
    assert "REFUSED: at most 2 subscriptions from one sender" in replies(site, "bot@example.com")
    assert members_of(site, 3) == []


def test_audit_trails_record_membership_and_privileged_acts(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"]))
    write_members(site, 1, [])
    site.drop(mail(frm="joe@example.com", body="subscribe open"))
    site.drop(mail(frm="owner@example.org", body="add open ann@example.com HIDE\nconfig security"))
    site.drop(mail(frm="owner@example.org", subject="audit", body="audit open"))
    site.run()
    with open(site.path("logs", "00000001.csv")) as f:
        rows = list(csv.reader(f))
    assert ["2026-11-21", "10:00:00", "subscribe", "joe@example.com", "joe@example.com", "subscriber"] in rows
    assert ["2026-11-21", "10:00:00", "subscribe", "ann@example.com", "owner@example.org", "privileged"] in rows
    with open(site.path("logs", "security.at")) as f:
        sec = f.read()
    assert "owner@example.org,open,ADD,done" in sec
    assert "owner@example.org,,CONFIG SECURITY,refused: only the SuperUser may do this" in sec
    warning = [m for m in site.messages_to("boss@example.org") if "refused privileged" in m["Subject"]]
    assert warning


def test_audit_security_for_the_superuser_since_a_date(site):
    os.makedirs(site.path("logs"))
    with open(site.path("logs", "security.at"), "w") as f:
        f.write("2026-01-01,09:00:00,x@example.com,,CONFIG SECURITY,refused: old\n"
                "2026-11-20,09:00:00,y@example.com,,CONFIG SECURITY,refused: recent\n")
    site.drop(mail(frm="boss@example.org", body="audit security week"))
    site.run()
    text = replies(site, "boss@example.org")
    assert "recent" in text and "old" not in text.replace("older", "")


def test_config_internetpolicysub_sets_the_policy(site):
    site.drop(mail(frm="boss@example.org", body="config internetpolicysub 2"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        assert "InternetPolicySub = 2" in f.read()


def test_override_subject_lets_the_owner_past_the_list_settings(site):
    with open(site.path("tristero.ini"), "w") as f:
        f.write(ini_for(["Open"], extra="ForwardPrefix = [open]\nForcePriority = Low\n")
                + "\n[Security]\nOverRideSubject = !OVERRIDE!\n")
    write_members(site, 1, ["m@example.net"])
    site.drop(mail(frm="owner@example.org", to="open@example.org", subject="!OVERRIDE! Urgent news",
                   headers="X-Priority: 1\n"))
    site.drop(mail(frm="m@example.net", to="open@example.org", subject="!OVERRIDE! sneaky", headers="X-Priority: 1\n"))
    site.run()
    posts = {p.data.split(b"\nSubject: ", 1)[1].split(b"\n", 1)[0]: p.data for p in posts_to(site, "open")}
    assert b"Urgent news" in posts and b"X-Priority: 1" in posts[b"Urgent news"]
    assert b"[open] !OVERRIDE! sneaky" in posts
    assert b"X-Priority: 5" in posts[b"[open] !OVERRIDE! sneaky"]
