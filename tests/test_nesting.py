"""Lists within lists (README "Lists within lists"): a list's member may be another list
of the site; a post to the top reaches every address below it, to any depth, once each,
in the same run; loops are named to the log and the SuperUser; MEMBERS shows the tree."""

import os

from conftest import mail

SITE_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
MaxRecipients = 100

[LIST master]
Owner = chief@example.net
Type = Closed
MemberFile = 00000001

[LIST sales-l]
Owner = chief@example.net
Type = Open
MemberFile = 00000002

[LIST support-l]
Owner = chief@example.net
Type = Closed
MemberFile = 00000003

[LIST team-a]
Owner = chief@example.net
Type = Open
MemberFile = 00000004
"""

# Three levels: master > sales-l > team-a; master > support-l. alice@ is in two
# branches (team-a and support-l), and team-a holds master: a loop.
MEMBERS = {
    "00000001": ["chief@example.net"],
    "00000002": ["carol@example.com"],
    "00000003": ["alice@example.net", "bob@example.net"],
    "00000004": ["alice@example.net", "dave@example.com", "erin@example.com = NOMAIL"],
}


def build(site, extra=""):
    site.write_ini(SITE_INI.replace("[LIST master]", extra + "\n[LIST master]") if extra else SITE_INI)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, lines in MEMBERS.items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join((l if "=" in l else l + " =") + "\n" for l in lines))


def commands(site, body, frm="chief@example.net"):
    site.drop(mail(frm=frm, subject="commands", body=body))
    site.run()
    [reply] = [m for m in site.messages_to(frm) if m["Subject"].startswith("Re:")]
    return reply.get_content()


def hierarchy(site, extra=""):
    """The three levels built through the front door: the owner ADDs the lists by name."""
    build(site, extra)
    text = commands(site, "ADD master sales-l HIDE\nADD master support-l@example.org HIDE\n"
                          "ADD sales-l team-a HIDE\nADD team-a master HIDE\n")
    assert text.count("added to") == 4, text
    clear(site)


def edit_ini(site, old, new):
    with open(site.path("tristero.ini")) as f:
        text = f.read()
    assert old in text
    with open(site.path("tristero.ini"), "w") as f:
        f.write(text.replace(old, new, 1))


def clear(site):
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def copies(site, sender="owner-master@example.org"):
    """address -> copies of the post that reach it."""
    seen = {}
    for b in site.outbound():
        if b.sender == sender:
            for r in b.recipients:
                seen[r] = seen.get(r, 0) + 1
    return seen


def test_a_post_to_the_top_reaches_every_address_below_once_each_in_the_same_run(site):
    hierarchy(site)
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="All hands", body="Noon.\n"))
    site.run()
    # alice is in two branches and gets one copy; erin (NOMAIL in team-a) none; the
    # lists' own addresses none (expanded here, not mailed round the mail server).
    assert copies(site) == {"alice@example.net": 1, "bob@example.net": 1, "carol@example.com": 1,
                            "chief@example.net": 1, "dave@example.com": 1}
    # One envelope set, in domain order, as every member file is.
    [post] = [b for b in site.outbound() if b.sender == "owner-master@example.org"]
    assert post.recipients == ["carol@example.com", "dave@example.com", "alice@example.net",
                               "bob@example.net", "chief@example.net"]
    [copy] = site.messages_to("dave@example.com")
    assert copy["List-Id"] and "master" in copy["List-Id"]
    log = site.log()
    assert "sub-list(s) of master expanded: sales-l, team-a, support-l" in log
    assert "posted to master, 5 recipient(s)" in log


def test_a_loop_is_logged_and_told_to_the_superuser_and_nobody_gets_two_copies(site):
    hierarchy(site)
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Loop?", body="Round.\n"))
    site.run()
    assert max(copies(site).values()) == 1
    assert "master > sales-l > team-a > master" in site.log()
    [notice] = [m for m in site.messages_to("boss@example.net") if "loop" in m["Subject"].lower()]
    assert "master > sales-l > team-a > master" in notice.get_content()
    # Three more posts in one run: each logs the loop, the SuperUser is told once.
    clear(site)
    for i in range(3):
        site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Again %d" % i, body="x\n"))
    site.run()
    assert site.log().count("master > sales-l > team-a > master") == 4
    assert len([m for m in site.messages_to("boss@example.net") if "loop" in m["Subject"].lower()]) == 1
    # A post to a list in the middle meets the same loop from there, and reaches the top's members.
    clear(site)
    site.drop(mail(frm="carol@example.com", to="sales-l@example.org", subject="Middle", body="Hi.\n"))
    site.run()
    assert copies(site, "owner-sales-l@example.org") == {
        "alice@example.net": 1, "bob@example.net": 1, "carol@example.com": 1, "chief@example.net": 1,
        "dave@example.com": 1}
    assert "sales-l > team-a > master > sales-l" in site.log()


def test_a_closed_sub_list_receives_its_parents_posts(site):
    # support-l is Closed: a post from outside would be refused, but its parent's posts reach it.
    hierarchy(site)
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="News", body="x\n"))
    site.run()
    assert copies(site)["bob@example.net"] == 1


def test_sub_list_members_get_no_rights_on_the_master_unless_granted(site):
    hierarchy(site)
    # bob is a member of support-l, below the Closed master: not a poster there.
    site.drop(mail(frm="bob@example.net", to="master@example.org", subject="Me too", body="x\n"))
    site.run()
    assert copies(site) == {}
    [refusal] = [m for m in site.messages_to("bob@example.net") if m["Subject"].startswith("Not posted")]
    assert "master" in refusal.get_content()
    # Nor may he see its members.
    clear(site)
    text = commands(site, "MEMBERS master\n", frm="bob@example.net")
    assert "REFUSED: master is a Closed list: members only" in text and "alice@" not in text, text
    # A GRANT makes him one.
    clear(site)
    text = commands(site, "GRANT Poster TO bob@example.net FOR master\n", frm="boss@example.net")
    assert "OK" in text, text
    clear(site)
    site.drop(mail(frm="bob@example.net", to="master@example.org", subject="Me too", body="x\n"))
    site.run()
    assert copies(site)["dave@example.com"] == 1


def test_a_forged_post_from_a_sub_lists_address_is_not_posted(site):
    # The sub-list's address is a member of master, but mail claiming to come from it
    # is the site's own mail come back, never a post.
    hierarchy(site)
    site.drop(mail(frm="sales-l@example.org", to="master@example.org", subject="Forged", body="x\n"))
    site.run()
    assert copies(site) == {}
    assert "from sales-l@example.org, a list of this site: not posted" in site.log()


def test_members_shows_the_indented_tree_and_names_the_loop(site):
    hierarchy(site)
    text = commands(site, "MEMBERS master\n")
    lines = [l for l in text.splitlines() if l.startswith("  ")]
    assert lines == [
        "  chief@example.net",
        "  sales-l@example.org  (the list sales-l: its members below)",
        "    carol@example.com",
        "    team-a@example.org  (the list team-a: its members below)",
        "      dave@example.com",
        "      erin@example.com  (NOMAIL)",
        "      alice@example.net",
        "      master@example.org  (the list master again: a loop, each post still reaches its members once)",
        "  support-l@example.org  (the list support-l: its members below)",
        "    alice@example.net",
        "    bob@example.net",
    ]
    assert "loop of lists: master is a member of a list below it (MEMBERS master)" in site.log()


def test_members_tree_hides_the_concealed_members_of_sub_lists_from_a_plain_member(site):
    # carol (sales-l) and dave (team-a) set CONCEAL; reader, a plain member of master and
    # the lists below it, asks for the tree: the flat view would hide them, and so must
    # the tree, at every level.
    hierarchy(site)
    commands(site, "ADD master reader@example.net HIDE\nADD master ghost@example.net HIDE\n"
                   "ADD sales-l reader@example.net HIDE\nADD team-a reader@example.net HIDE\n")
    for who, name in (("carol@example.com", "sales-l"), ("dave@example.com", "team-a"),
                      ("ghost@example.net", "master")):
        clear(site)
        assert "OK" in commands(site, "SET %s CONCEAL\n" % name, frm=who)
    clear(site)
    text = commands(site, "REVIEW master\n", frm="reader@example.net")
    assert "carol@" not in text and "dave@" not in text and "ghost@" not in text, text
    assert "team-a@example.org  (the list team-a: its members below)" in text, text
    assert "erin@example.com  (NOMAIL)" in text, text
    assert "3 concealed member(s) not shown" in text, text
    assert "4 member(s) of master" in text, text   # chief, reader and the two lists: not ghost
    # The owner of every list sees them all.
    clear(site)
    text = commands(site, "REVIEW master\n")
    assert "carol@" in text and "dave@" in text and "ghost@" in text and "concealed" not in text, text


def test_members_stops_at_max_list_depth(site):
    hierarchy(site)
    edit_ini(site, "MaxRecipients = 100", "MaxRecipients = 100\nMaxListDepth = 1")
    text = commands(site, "MEMBERS master\n")
    assert "team-a@example.org  (the list team-a: deeper than MaxListDepth, not shown)" in text
    assert "dave@example.com" not in text


def test_breakloop_1_refuses_a_list_in_a_list_and_sends_none_a_copy(site):
    build(site)
    edit_ini(site, "MaxRecipients = 100", "MaxRecipients = 100\nBreakLoop = 1")
    text = commands(site, "ADD master sales-l HIDE\n")
    assert "this site does not let a list contain lists (BreakLoop = 1)" in text
    # A list's address written into the member file by hand gets no copy.
    with open(site.path("lists", "00000001.ini"), "a") as f:
        f.write("sales-l@example.org =\n")
    clear(site)
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Flat", body="x\n"))
    site.run()
    assert copies(site) == {"chief@example.net": 1}
    assert "list(s) sales-l among the members of master get no copy" in site.log()
    assert "BreakLoop = 1" in site.log()


def test_reply_types_for_lists_within_lists(site):
    hierarchy(site)
    for reply, reply_to, to in (("TopList", "master@example.org", "master@example.org"),
                                ("TopListPlus", "master@example.org, chief@example.net", "master@example.org"),
                                ("ToList", None, "other@example.net,\n master@example.org"),
                                ("ToListPlus", "chief@example.net, master@example.org",
                                 "other@example.net,\n master@example.org")):
        clear(site)
        edit_ini(site, "[LIST master]\n", "[LIST master]\nReply = %s\n" % reply)
        to_field = "master@example.org" if reply.startswith("Top") else "other@example.net"
        site.drop(mail(frm="chief@example.net", to=to_field, subject=reply, body="x\n",
                       headers="" if reply.startswith("Top") else "Cc: master@example.org\n"))
        site.run()
        [copy] = site.messages_to("dave@example.com")
        assert copy["Reply-To"] == reply_to, reply
        raw = bytes(copy)
        assert ("To: " + to).encode() in raw, (reply, raw[:600])
        edit_ini(site, "Reply = %s\n" % reply, "")


def test_with_verp_a_sub_list_members_return_path_names_their_own_list(site):
    # A delivery report for dave is charged to team-a, where he is a member, not to master.
    hierarchy(site)
    edit_ini(site, "[LIST master]\n", "[LIST master]\nVERP = Y\n")
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="VERP", body="x\n"))
    site.run()
    senders = {r: b.sender for b in site.outbound() for r in b.recipients if b.sender.startswith("owner-")}
    assert senders["dave@example.com"].startswith("owner-team-a+dave=example.com+")
    assert senders["bob@example.net"].startswith("owner-support-l+bob=example.net+")
    assert senders["chief@example.net"].startswith("owner-master+chief=example.net+")
    assert len(senders) == 5


def test_only_who_manages_a_list_may_put_it_in_another(site):
    # The owner of an Open list cannot make another owner's list a member of it (its
    # members would get every post), by ADD or by subscribing its address.
    build(site)
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n[LIST spam]\nOwner = mallory@example.com\nType = Open\nMemberFile = 00000005\n")
    text = commands(site, "ADD spam support-l HIDE\nSUBSCRIBE spam support-l@example.org\n",
                    frm="mallory@example.com")
    assert text.count("support-l is a list you do not manage") == 2, text
    clear(site)
    site.drop(mail(frm="mallory@example.com", to="spam@example.org", subject="Buy", body="x\n"))
    site.run()
    assert site.messages_to("bob@example.net") == []


def test_remove_takes_a_sub_list_by_name_and_nobody_is_sent_a_welcome_or_farewell(site):
    build(site)
    text = commands(site, "ADD master sales-l\nREMOVE master support-l\nADD master support-l\n"
                          "REMOVE master sales-l\n")
    assert "sales-l@example.org added to master" in text and "support-l@example.org added to master" in text
    assert "sales-l@example.org has left master" in text, text
    # No welcome nor farewell went to a list's address: its members would read them as posts.
    assert not [b for b in site.outbound() if any(r.endswith("-l@example.org") for r in b.recipients)]
    with open(site.path("lists", "00000001.ini")) as f:
        assert "support-l@example.org" in f.read()


def test_a_post_through_sub_lists_streams_every_member_file_and_loads_none(site, monkeypatch):
    # Three member files as the program writes them, 3,000 members each, overlapping: the
    # post merges them as sorted streams; no member file is loaded (memory stays that of
    # one piece of each file, not of the lists).
    from tristero.model import members
    build(site)
    groups = {"00000001": range(0, 3000), "00000002": range(1500, 4500), "00000003": range(3000, 6000)}
    lists_of = {"00000001": ["sales-l@example.org", "support-l@example.org"]}
    for number, indices in groups.items():
        rows = sorted(members.domain_order(a) for a in
                      ["user%d@dom%d.example" % (i, i % 7) for i in indices] + lists_of.get(number, []))
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("; Members: one per line, \"address = options\" (see README).\n[Members]\n"
                    + "".join("%s =\n" % key for _, key in rows))
    loads = []
    load = members.load
    monkeypatch.setattr(members, "load", lambda number, path: loads.append(path) or load(number, path))
    site.drop(mail(frm="chief@example.net", to="master@example.org", subject="Big", body="x\n"))
    site.run()
    assert loads == []
    reached = copies(site)
    assert len(reached) == 6000 and set(reached.values()) == {1}


def test_a_chain_of_300_lists_reaches_its_bottom_in_one_run_and_members_stops_at_max_list_depth(site):
    n = 300
    ini = "[Globals]\nDomain = example.org\nSuperUser = boss@example.net\nMaxRecipients = 100\n"
    os.makedirs(site.path("lists"))
    for i in range(n):
        ini += "\n[LIST c%d]\nOwner = chief@example.net\nType = Closed\nMemberFile = %08d\n" % (i, i + 1)
        with open(site.path("lists", "%08d.ini" % (i + 1)), "w") as f:
            f.write("[Members]\n%s =\n" % ("c%d@example.org" % (i + 1) if i < n - 1 else "deep@example.net"))
    site.write_ini(ini)
    site.drop(mail(frm="chief@example.net", to="c0@example.org", subject="Down", body="x\n"))
    site.run()
    assert copies(site, "owner-c0@example.org") == {"deep@example.net": 1}
    text = commands(site, "MEMBERS c0\n")
    # MaxListDepth = 5: five levels of sub-lists opened, the sixth named.
    assert "\n          c5@example.org  (the list c5: its members below)\n" in text
    assert "\n            c6@example.org  (the list c6: deeper than MaxListDepth, not shown)\n" in text
    assert "c7@" not in text
