"""Moderation with a queue (issue 14 part 1): posts held in the list's folder, decided by
number from the moderators' message, the first decision winning."""

import email
import os
import re
from email import policy

from conftest import mail

INI = """\
[LIST news]
Type = Moderated
Owner = editor@example.org
MemberFile = 00000001
Archive = N

[LIST news-approval]
Type = Closed
Owner = editor@example.org
MemberFile = 00000002
Archive = N
"""

MODS = ("mod1@example.net", "mod2@example.net")


def build(site, extra="", ini=INI, mods=MODS):
    with open(site.path("tristero.ini"), "a") as f:
        f.write("\n" + ini + extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com =\nalice@example.net =\n")
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s =\n" % m for m in mods))


def clear_out(site):
    for name in site.listdir("spool", "out", "new"):
        os.remove(site.path("spool", "out", "new", name))


def texts(site, address):
    return [(m["Subject"], m.get_content()) for m in site.messages_to(address)]


def notice(site, moderator):
    """The block (START ... STOP) of the moderators' message to moderator."""
    [body] = [b for s, b in texts(site, moderator) if "held for moderation" in s]
    return body[body.index("START"):body.index("STOP") + 4], body


def decide(block, *lines):
    """A reply carrying the block with the decisions under its HELD lines."""
    head, _, _ = block.rpartition("STOP")
    return head + "\n".join(lines) + "\nSTOP\n"


def posts(site):
    return [email.message_from_bytes(b.data, policy=policy.default) for b in site.outbound()
            if b.sender == "owner-news@example.org"]


def held_files(site):
    return [n for n in site.listdir("archive", "00000001", "held") if not n.endswith(".decided")]


def test_a_post_by_a_non_moderator_is_held_its_author_told_and_the_moderators_sent_one_listing(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="First", body="line one\nline two\n"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Second", body="hello\n"))
    site.run()
    assert posts(site) == []
    assert len(held_files(site)) == 2
    [(subject, told)] = texts(site, "alice@example.net")
    assert subject == "Held for moderation: First" and "held for the list's moderators" in told
    for moderator in MODS:
        block, body = notice(site, moderator)
        assert "1. From alice@example.net" in body and "First" in body and "line one" in body
        assert "2. From carol@example.com" in body
        assert block.count("\nHELD news ") == 2
    # One message per moderator per run, however many posts.
    assert len(site.messages_to("mod1@example.net")) == 1


def test_a_week_of_a_moderated_list_two_moderators_each_deciding_in_one_reply(site):
    build(site)
    for i, who in enumerate(["alice@example.net", "carol@example.com", "dave@example.org",
                             "erin@example.net", "frank@example.net"], 1):
        site.drop(mail(frm=who, to="news@example.org", subject="Post %d" % i, body="text %d\n" % i))
    site.run(now="2026-11-21T10:00:00")
    block1, _ = notice(site, "mod1@example.net")
    block2, _ = notice(site, "mod2@example.net")
    clear_out(site)
    # Monday: mod1 approves 1 and 3 and rejects 2; mod2 discards 4 and approves 1 (the race, one run).
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="decisions",
                   body=decide(block1, "APPROVE 1 3", 'REJECT 2 "off topic"')))
    site.drop(mail(frm="mod2@example.net", to="tristero@example.org", subject="decisions",
                   body=decide(block2, "DISCARD 4", "APPROVE 1")))
    site.run(now="2026-11-23T10:00:00")
    sent = posts(site)
    assert sorted(p["Subject"] for p in sent) == ["Post 1", "Post 3"]
    # The original author in From, not the list or the moderator.
    assert {p["From"] for p in sent} == {"alice@example.net", "dave@example.org"}
    reply2 = [b for s, b in texts(site, "mod2@example.net") if s.startswith("Re:")][0]
    assert "already approved by mod1@example.net" in reply2
    [(_, rejected)] = [t for t in texts(site, "carol@example.com") if t[0] == "Not posted: Post 2"]
    assert "off topic" in rejected
    assert texts(site, "erin@example.net") == []     # DISCARD: not told
    # Every moderator told the outcome.
    for moderator in MODS:
        outcome = [b for s, b in texts(site, moderator) if "decisions on held posts" in s]
        assert outcome and "approved by mod1@example.net" in "".join(outcome)
    clear_out(site)
    # Wednesday: mod2 tries post 3 again (the race, two runs), and approves 5.
    site.drop(mail(frm="mod2@example.net", to="tristero@example.org", subject="more",
                   body=decide(block2, "APPROVE 3 5")))
    site.run(now="2026-11-25T10:00:00")
    assert [p["Subject"] for p in posts(site)] == ["Post 5"]
    reply = [b for s, b in texts(site, "mod2@example.net") if s.startswith("Re:")][0]
    assert "post 3" in reply and "already approved by mod1@example.net" in reply
    assert held_files(site) == []


def test_approve_always_lets_the_author_post_freely_and_ban_stops_them(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="One"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Two"))
    site.run()
    block, _ = notice(site, "mod1@example.net")
    clear_out(site)
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d",
                   body=decide(block, "APPROVE 1 ALWAYS", "BAN 2")))
    site.run()
    assert [p["Subject"] for p in posts(site)] == ["One"]
    clear_out(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Free now"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Banned"))
    site.run()
    assert [p["Subject"] for p in posts(site)] == ["Free now"]
    assert held_files(site) == []
    assert any("Not posted" in s for s, _ in texts(site, "carol@example.com"))


def test_held_posts_expire_after_hold_days_and_their_authors_are_told(site):
    build(site, ini=INI.replace("MemberFile = 00000001\n", "MemberFile = 00000001\nHoldDays = 3\n"))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Old"))
    site.run(now="2026-11-21T10:00:00")
    assert len(held_files(site)) == 1
    clear_out(site)
    site.run(now="2026-11-23T10:00:00")
    assert len(held_files(site)) == 1
    site.run(now="2026-11-25T10:00:00")
    assert held_files(site) == []
    [(subject, body)] = texts(site, "alice@example.net")
    assert subject == "Not posted: Old" and "within 3 days" in body


def test_held_lists_the_queue_for_a_moderator_only(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Queued"))
    site.run()
    clear_out(site)
    site.drop(mail(frm="mod2@example.net", to="tristero@example.org", subject="q", body="HELD news\n"))
    site.drop(mail(frm="carol@example.com", to="tristero@example.org", subject="q", body="HELD news\n"))
    site.run()
    [(_, listing)] = texts(site, "mod2@example.net")
    assert "1. From alice@example.net" in listing and "Queued" in listing and "HELD news 1=" in listing
    [(_, refused)] = texts(site, "carol@example.com")
    assert "not a moderator of news" in refused


def test_a_non_moderator_sending_approve_with_a_stolen_block_is_refused(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Mine"))
    site.run()
    block, _ = notice(site, "mod1@example.net")
    clear_out(site)
    site.drop(mail(frm="alice@example.net", to="tristero@example.org", subject="d",
                   body=decide(block, "APPROVE 1")))
    site.run()
    assert posts(site) == []
    [(_, reply)] = texts(site, "alice@example.net")
    assert "not a moderator of news" in reply
    assert len(held_files(site)) == 1


def test_a_forged_cookie_and_another_moderators_cookie_are_refused(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Mine"))
    site.run()
    block1, _ = notice(site, "mod1@example.net")
    clear_out(site)
    forged = re.sub(r"/[0-9A-Za-z]{32}", "/" + "A" * 32, block1)
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d", body=decide(forged, "APPROVE 1")))
    # mod2 replays mod1's block: the key is bound to mod1.
    site.drop(mail(frm="mod2@example.net", to="tristero@example.org", subject="d", body=decide(block1, "APPROVE 1")))
    site.run()
    assert posts(site) == []
    for moderator in MODS:
        [(_, reply)] = texts(site, moderator)
        assert "is not valid for you on news" in reply
    assert len(held_files(site)) == 1


def test_a_cookie_for_another_list_is_refused(site):
    build(site, extra="\n[LIST chat]\nType = Moderated\nOwner = mod1@example.net\nMemberFile = 00000003\n"
                      "Archive = N\n")
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="News post"))
    site.drop(mail(frm="alice@example.net", to="chat@example.org", subject="Chat post"))
    site.run()
    bodies = [b for s, b in texts(site, "mod1@example.net")]
    news_block = [b for b in bodies if "new post(s) to news" in b][0]
    news_line = re.search(r"HELD news (1=\S+)", news_block).group(1)
    clear_out(site)
    # The news key put on a HELD line for chat.
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d",
                   body="HELD chat %s\nAPPROVE 1\n" % news_line))
    site.run()
    assert posts(site) == [] and [b for b in site.outbound() if b.sender == "owner-chat@example.org"] == []
    [(_, reply)] = texts(site, "mod1@example.net")
    assert "is not valid for you on chat" in reply


def test_majordomo_moderate_yes_with_a_moderator_holds_every_post_but_the_moderators(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\nmoderate = yes\nmoderator = boss@example.net\n", mods=())
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Held"))
    site.drop(mail(frm="boss@example.net", to="news@example.org", subject="Straight"))
    site.run()
    assert [p["Subject"] for p in posts(site)] == ["Straight"]
    block, body = notice(site, "boss@example.net")
    assert "Held" in body


def test_a_post_over_max_message_size_is_held_when_the_list_says_hold(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\nMaxMessageSize = 300\nHoldInsteadOfDrop = Y\n", mods=())
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Big", body="x" * 400 + "\n"))
    site.run()
    assert posts(site) == []
    block, body = notice(site, "editor@example.org")
    clear_out(site)
    site.drop(mail(frm="editor@example.org", to="tristero@example.org", subject="d", body=decide(block, "APPROVE 1")))
    site.run()
    [post] = posts(site)
    assert post["Subject"] == "Big" and post["From"] == "alice@example.net"


def test_approve_password_subscribe_still_works(site):
    build(site)
    from tristero.policy import rights
    with open(site.path("access.ini"), "w") as f:
        f.write("user,status,list,language,encrypted_password,flag\n"
                "editor@example.org,,,,%s,\n" % rights.hash_password("sekrit"))
    site.drop(mail(frm="editor@example.org", to="tristero@example.org", subject="s",
                   body="approve sekrit subscribe news zed@example.net\n"))
    site.run()
    [(_, reply)] = texts(site, "editor@example.org")
    assert "OK" in reply and "sekrit" not in reply


def test_check_warns_when_a_moderated_list_has_no_moderators(site):
    build(site, mods=())
    p = site.tristero("check")
    assert "[LIST news]: a moderated list with no moderators" in p.stderr.decode()
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nmod1@example.net =\n")
    p = site.tristero("check")
    assert "no moderators" not in p.stderr.decode()


def test_an_approved_header_with_the_lists_approve_passwd_posts_without_holding(site):
    from tristero.policy import rights
    build(site, ini=INI.replace("MemberFile = 00000001\n", "MemberFile = 00000001\napprove_passwd = %s\n"
                                % rights.hash_password("letmein")))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Approved one",
                   headers="Approved: letmein\n"))
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Wrong one",
                   headers="Approved: guess\n"))
    site.run()
    [post] = posts(site)
    assert post["Subject"] == "Approved one" and "Approved" not in post and b"letmein" not in site.outbound()[0].data
    assert len(held_files(site)) == 1
    assert "letmein" not in site.log()


def test_a_post_caught_by_a_prescan_admin_rule_is_held_when_the_list_says_hold(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\nHoldInsteadOfDrop = Y\n", mods=(),
          extra="\n[Security]\nPreScanMode = 2\n\n[PreScan Strings]\nADMIN,#{unsubscribe\n")
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="please", body="unsubscribe me\n"))
    site.run()
    assert posts(site) == [] and len(held_files(site)) == 1
    block, body = notice(site, "editor@example.org")
    assert "please" in body
    assert "prescan: held for the moderators of news instead" in site.log()


def test_the_held_folder_is_out_of_reach_of_get_index_and_put(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\nmoderate = yes\n", mods=())
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Secret draft",
                   headers="Approved: hunter22\n", body="confidential words\n"))
    site.run()
    [pid] = held_files(site)
    with open(site.path("archive", "00000001", "held", pid), "rb") as f:
        assert b"hunter22" not in f.read()
    assert "hunter22" not in "".join(b for _, b in texts(site, "editor@example.org"))
    clear_out(site)
    site.drop(mail(frm="carol@example.com", to="tristero@example.org", subject="x",
                   body="GET news held/%s\nINDEX news\n" % pid))
    site.run()
    [(_, reply)] = texts(site, "carol@example.com")
    assert "confidential" not in reply and pid not in reply.split("> INDEX", 1)[1]
    assert "no command reaches it" in reply


def test_the_owner_sets_a_list_moderate_by_mail(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\n", mods=())
    site.drop(mail(frm="editor@example.org", to="tristero@example.org", subject="s", body="SET news MODERATE yes\n"))
    site.drop(mail(frm="carol@example.com", to="tristero@example.org", subject="s", body="SET news MODERATE no\n"))
    site.run()
    with open(site.path("tristero.ini")) as f:
        assert "moderate = yes" in f.read()
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Now held"))
    site.run()
    assert posts(site) == [] and len(held_files(site)) == 1


def test_a_member_set_moderate_is_held_and_the_others_post(site):
    build(site, ini="[LIST news]\nType = Open\nOwner = editor@example.org\nMemberFile = 00000001\n"
                    "Archive = N\n", mods=())
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\ncarol@example.com = MODERATE\nalice@example.net =\n")
    site.drop(mail(frm="carol@example.com", to="news@example.org", subject="Watched"))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Free"))
    site.run()
    assert [p["Subject"] for p in posts(site)] == ["Free"]
    assert len(held_files(site)) == 1


def test_an_approved_post_passes_dmarc_mitigation_like_any_post(site):
    build(site, ini=INI.replace("MemberFile = 00000001\n", "MemberFile = 00000001\nDmarcMitigation = always\n"))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Munged"))
    site.run()
    block, _ = notice(site, "mod1@example.net")
    clear_out(site)
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d", body=decide(block, "APPROVE 1")))
    site.run()
    [post] = posts(site)
    assert post["From"].addresses[0].addr_spec == "news@example.org"
    assert "alice@example.net" in str(post["Author"]) + str(post.get("Reply-To", "")) + str(post.get("Cc", ""))


def test_decisions_written_above_the_quoted_block_find_their_numbers(site):
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Quoted"))
    site.run()
    block, _ = notice(site, "mod1@example.net")
    clear_out(site)
    quoted = "\n".join("> " + line for line in block.splitlines())
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="Re: news: 1 post(s) held",
                   body="APPROVE 1\n\nOn Saturday the robot wrote:\n" + quoted + "\n"))
    site.run()
    assert [p["Subject"] for p in posts(site)] == ["Quoted"]


def test_one_listing_shows_at_most_max_listed_posts(site, monkeypatch):
    from tristero.services import moderation
    monkeypatch.setattr(moderation, "MAX_LISTED", 2)
    build(site)
    for i in range(3):
        site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Many %d" % i))
    site.run()
    block, body = notice(site, "mod1@example.net")
    assert block.count("\nHELD news ") == 2 and "and 1 more: send HELD news" in body


def test_a_multipart_post_is_listed_with_its_text_and_approved_whole(site):
    build(site)
    body = ("--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
            "Gr=C3=BC=C3=9Fe aus Z=C3=BCrich\n--b1\nContent-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n\nAAEC\n--b1--\n")
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Parts", body=body,
                   headers="MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b1\n"))
    site.run()
    block, listing = notice(site, "mod1@example.net")
    assert "Grüße aus Zürich" in listing
    clear_out(site)
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d", body=decide(block, "APPROVE 1")))
    site.run()
    [post] = posts(site)
    assert post.get_content_type() == "multipart/mixed" and len(list(post.iter_attachments())) == 1


def test_an_approval_run_killed_after_any_step_then_run_again_posts_once(site, tmp_path):
    import shutil
    import signal

    from conftest import TestSite
    build(site)
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Once"))
    site.run()
    block, _ = notice(site, "mod1@example.net")
    clear_out(site)
    site.drop(mail(frm="mod1@example.net", to="tristero@example.org", subject="d", body=decide(block, "APPROVE 1")))
    # A few steps of the run (each a real process killed by SIGKILL): the decision's
    # files, the post's outbound files and the moderators' notices are one transaction.
    for n in (2, 5, 9):
        trial = TestSite(tmp_path / ("crash%d" % n), subprocess=True)
        shutil.copytree(site.home, trial.home, symlinks=True)
        p = trial.run(check=False, env={"TRISTERO_CRASH_AFTER": str(n)})
        assert p.returncode in (-signal.SIGKILL, 0), p.stderr
        trial.subprocess = False
        trial.run()
        assert [m["Subject"] for m in posts(trial)] == ["Once"], n
        assert held_files(trial) == [] and not trial.listdir("spool", "txn")
        shutil.rmtree(trial.home)


def test_a_post_over_maxmessagesize_to_a_moderated_list_is_refused_not_held(site):
    # Held, it would be stored and then go out over the limit on a moderator's word: the
    # size is checked before moderation (HoldInsteadOfDrop = N).
    build(site, ini=INI.replace("Archive = N\n", "Archive = N\nMaxMessageSize = 2000\n", 1))
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Huge", body="x" * 3000 + "\n"))
    site.run()
    assert held_files(site) == [] and posts(site) == []
    [(_, told)] = texts(site, "alice@example.net")
    assert "3" in told and "2000" in told
