"""LISTSERV's command language, typed as its users type it: personal passwords (PW ADD,
PW REP, PW RESET with the OK confirmation, PWC ADD), the member options, REVIEW, QUERY,
and bulk ADD ... DD=name IMPORT."""

import os
import shutil

from conftest import mail
from tristero.model import access
from tristero.policy import rights

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
MaxRecipients = 50

[LIST news]
MemberFile = 00000001
Type = Open
Owner = owner@example.org
"""


def setup(site, members=(), extra=""):
    site.write_ini(INI + extra)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join("%s\n" % m for m in members))


def take(site, to):
    """The messages to address since the last take (the outbound spool is emptied)."""
    found = site.messages_to(to)
    new = site.path("spool", "out", "new")
    for name in os.listdir(new):
        shutil.move(os.path.join(new, name), site.path("spool", "out", "cur", name))
    return found


def text_of(msgs):
    return "\n".join(m.get_body(("plain",)).get_content() if m.is_multipart() else m.get_content() for m in msgs)


def rule_of(site, user):
    rules, _ = access.load(site.path("access.ini"))
    return next((r for r in rules if r.user == user), None)


# --- personal passwords ------------------------------------------------------------------

def test_pw_add_waits_for_the_ok_reply_then_the_password_guards_privileged_commands(site):
    setup(site)
    site.drop(mail(frm="owner@example.org", body="PW ADD Secret123"))
    site.run()
    out = take(site, "owner@example.org")
    assert "HELD: a confirmation request was sent to owner@example.org" in text_of(out)
    assert "Secret123" not in text_of(out)
    ask = next(m for m in out if m["Subject"].startswith("Command confirmation request"))
    assert rule_of(site, "owner@example.org") is None
    # The user replies: OK, the subject kept, the request quoted below.
    quoted = "\n".join("> " + line for line in ask.get_content().splitlines())
    site.drop(mail(frm="owner@example.org", subject="Re: " + ask["Subject"], body="OK\n\n" + quoted))
    site.run()
    assert "OK: the personal password of owner@example.org is set" in text_of(take(site, "owner@example.org"))
    assert rights.verify("Secret123", rule_of(site, "owner@example.org").password)
    # From now on a privileged command needs it, by PW=.
    site.drop(mail(frm="owner@example.org", subject="a", body="ADD news carol@example.net Carol Jones"))
    site.drop(mail(frm="owner@example.org", subject="b", body="ADD news dave@example.net PW=Secret123"))
    site.run()
    text = text_of(take(site, "owner@example.org"))
    assert "REFUSED" in text and "OK: dave@example.net added to news" in text
    assert "Secret123" not in text


def test_an_ok_with_no_code_or_anothers_code_changes_nothing(site):
    setup(site)
    site.drop(mail(frm="alice@example.net", body="PW ADD Secret123"))
    site.run()
    ask = next(m for m in take(site, "alice@example.net") if m["Subject"].startswith("Command confirmation"))
    site.drop(mail(frm="mallory@example.net", subject="Re: " + ask["Subject"], body="OK"))
    site.drop(mail(frm="alice@example.net", subject="ok", body="OK"))
    site.run()
    assert "REFUSED: no request of yours waits" in text_of(site.messages_to("mallory@example.net"))
    assert "REFUSED: no request of yours waits" in text_of(site.messages_to("alice@example.net"))
    assert not os.path.exists(site.path("access.ini")) or rule_of(site, "alice@example.net") is None


def test_pw_rep_with_the_old_password_replaces_it_at_once_and_without_is_confirmed_by_ok(site):
    setup(site)
    site.drop(mail(frm="boss@example.org", body="SETPASS First111 FOR alice@example.net"))
    site.run()
    take(site, "boss@example.org")
    site.drop(mail(frm="alice@example.net", subject="x", body="PW REP Second22 PW=First111"))
    site.run()
    assert "OK: the personal password of alice@example.net is set" in text_of(take(site, "alice@example.net"))
    assert rights.verify("Second22", rule_of(site, "alice@example.net").password)
    # Forgotten: PW REP without the old one, confirmed from the mailbox.
    site.drop(mail(frm="alice@example.net", subject="y", body="PW REP Third333"))
    site.run()
    ask = next(m for m in take(site, "alice@example.net") if m["Subject"].startswith("Command confirmation"))
    assert rights.verify("Second22", rule_of(site, "alice@example.net").password)
    site.drop(mail(frm="alice@example.net", subject="Re: " + ask["Subject"], body="ok"))
    site.run()
    take(site, "alice@example.net")
    assert rights.verify("Third333", rule_of(site, "alice@example.net").password)
    # A wrong old password is refused and counted.
    site.drop(mail(frm="alice@example.net", subject="z", body="PW REP Fourth44 PW=Wrong1234"))
    site.run()
    assert "REFUSED" in text_of(take(site, "alice@example.net"))
    assert rights.verify("Third333", rule_of(site, "alice@example.net").password)


def test_pw_reset_removes_the_password_after_ok(site):
    setup(site)
    site.drop(mail(frm="boss@example.org", body="SETPASS First111 FOR alice@example.net"))
    site.drop(mail(frm="alice@example.net", body="PW RESET"))
    site.run()
    ask = next(m for m in take(site, "alice@example.net") if m["Subject"].startswith("Command confirmation"))
    site.drop(mail(frm="alice@example.net", subject="Re: " + ask["Subject"], body="OK"))
    site.run()
    assert "OK: the personal password of alice@example.net is removed" in text_of(take(site, "alice@example.net"))
    assert rule_of(site, "alice@example.net") is None


def test_pwc_add_by_the_postmaster_with_the_create_password_is_audited(site):
    setup(site, extra="\n[Security]\nCreatePassword = %s\n" % rights.hash_password("Create999"))
    site.drop(mail(frm="boss@example.org", body="PWC ADD maestro@example.net Client123 PW=Create999"))
    site.drop(mail(frm="boss@example.org", subject="w", body="PWC ADD other@example.net Client123 PW=Wrong9999"))
    site.drop(mail(frm="alice@example.net", body="PWC ADD alice@example.net Client123 PW=Create999"))
    site.run()
    text = text_of(site.messages_to("boss@example.org"))
    assert "OK: the personal password of maestro@example.net is set" in text
    assert "REFUSED: PW= must give the site's CreatePassword" in text
    assert "REFUSED" in text_of(site.messages_to("alice@example.net"))
    assert rights.verify("Client123", rule_of(site, "maestro@example.net").password)
    assert rule_of(site, "other@example.net") is None and rule_of(site, "alice@example.net") is None
    with open(site.path("logs", "security.at")) as f:
        trail = f.read()
    assert "PWC ADD maestro@example.net" in trail and "Create999" not in trail and "Client123" not in trail
    for name in os.listdir(site.path("spool", "in", "cur")):
        with open(site.path("spool", "in", "cur", name)) as f:
            kept = f.read()
        assert "Client123" not in kept and "Create999" not in kept


# --- the command language -------------------------------------------------------------------

def test_a_listserv_session_as_its_users_type_it(site):
    setup(site, ["bob@example.net = NAME Bob Brown"])
    site.drop(mail(frm="alice@example.net", body="SUBscribe news Alice Adams\n"
                                                  "SET news NOREPRO ACK\n"
                                                  "SET news CONCEAL\n"
                                                  "Q news\n"
                                                  "QUERY *\n"
                                                  "LIST GLOBAL\n"
                                                  "THANKS\n"
                                                  "REL\n"))
    site.run()
    text = text_of(take(site, "alice@example.net"))
    assert "OK: alice@example.net is now a member of news" in text
    assert "OK: news: NOREPRO ACK for alice@example.net" in text
    assert "OK: news: alice@example.net, MAIL ACK NOREPRO CONCEAL, NAME Alice Adams" in text
    assert "OK: 1 list(s) at example.org" in text and "OK: you are welcome!" in text
    assert "Tristero" in text and "ERROR" not in text
    # Her own post does not come back to her (NOREPRO); an acknowledgement does (ACK).
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="hello all", body="hi\n"))
    site.run()
    assert [m for m in site.messages_to("bob@example.net") if m["List-Id"]]
    out = take(site, "alice@example.net")
    assert [m["Subject"] for m in out if "hello all" in m["Subject"]] and not [
        m for m in out if m["List-Id"]]
    # REVIEW hides her from a member (CONCEAL), not from the owner; BY NAME sorts by name.
    site.drop(mail(frm="bob@example.net", body="REV news BY NAME"))
    site.drop(mail(frm="owner@example.org", body="REVIEW news BY NAME\nREVIEW news SHORT"))
    site.run()
    bob = text_of(site.messages_to("bob@example.net"))
    assert "alice@example.net" not in bob and "1 concealed member(s) not shown" in bob
    assert "bob@example.net  Bob Brown" in bob
    owner = text_of(site.messages_to("owner@example.org"))
    assert owner.index("alice@example.net  Alice Adams") < owner.index("bob@example.net  Bob Brown")


def test_ack_inside_addresses_opens_no_read_of_the_authors_options_and_hand_written_ack_counts(site, monkeypatch):
    # jack@, ackbar@, srs=ack@ and a member named Ack hold the word, never as an option: a
    # post to news (its member file as the program writes it, so that it streams) reads
    # nobody's options (the gate stays shut). carol's hand-written " ,ack" and dave's
    # NoRepro are options: her post is acknowledged, his not sent back to him.
    from tristero.model import members, state
    path = site.path("lists", "00000001.ini")

    def written(lines):
        setup(site, lines)
        roster = members.load("00000001", path)
        with open(path, "wb") as f:
            roster.write(f)

    written(["jack@example.net =", "ackbar@example.com = NAME Ack Bar", "srs=ack@example.com"])
    assert not members.holds_option(path, "ack") and not members.holds_option(path, "norepro")
    read = []
    member = state.State.member
    monkeypatch.setattr(state.State, "member", lambda self, n, a: read.append(a) or member(self, n, a))
    site.drop(mail(frm="jack@example.net", to="news@example.org", subject="hello", body="hi\n"))
    site.run()
    assert read == [] and [m for m in take(site, "jack@example.net") if "hello" in m["Subject"]]
    written(["jack@example.net =", "carol@example.net =  NOMAIL ,ack", "dave@example.net = NoRepro"])
    for who in ("carol", "dave"):
        site.drop(mail(frm=who + "@example.net", to="news@example.org", subject="from " + who, body="hi\n"))
    site.run()
    assert [m for m in site.messages_to("carol@example.net") if "from carol" in m["Subject"]]
    assert not [m for m in site.messages_to("dave@example.net") if "from dave" in m["Subject"]]
    assert [m for m in site.messages_to("jack@example.net") if "from dave" in m["Subject"]]


def test_signoff_netwide_and_set_digests_index_nodigests(site):
    setup(site, ["alice@example.net =", "bob@example.net ="])
    site.drop(mail(frm="alice@example.net", body="SET news DIG\nSET news IND\nSET news NODIG\nSET news NOMAIL"))
    site.drop(mail(frm="bob@example.net", body="SIGNOFF * (NETWIDE"))
    site.run()
    text = text_of(site.messages_to("alice@example.net"))
    assert text.count("OK:") == 4, text
    from tristero.model.members import load
    roster = load("00000001", site.path("lists", "00000001.ini"))
    assert roster.get("alice@example.net")[1] == "NOMAIL" and "bob@example.net" not in roster


def test_confirm_list_renews_and_confirm_code_answers_a_confirmation_mail(site):
    setup(site, ["alice@example.net ="], extra="\n[Security]\nInternetPolicySub = 2\n")
    site.drop(mail(frm="alice@example.net", body="CONFIRM news"))
    site.drop(mail(frm="carol@example.net", body="SUB news Carol C"))
    site.run()
    ask = site.messages_to("carol@example.net")
    assert "OK: your subscription to news (alice@example.net) is confirmed" in text_of(
        take(site, "alice@example.net"))
    code = next(line.split()[1] for m in ask for line in text_of([m]).splitlines() if line.startswith("COOKIE "))
    site.drop(mail(frm="carol@example.net", subject="x", body="confirm " + code))
    site.run()
    assert "OK: carol@example.net is now a member of news" in text_of(take(site, "carol@example.net"))


# --- bulk -------------------------------------------------------------------------------------

def test_add_dd_import_of_20000_lines_in_one_message_and_delete_dd_bulk(site):
    setup(site, ["old@example.net = NAME Old One"])
    rows = ["user%05d@example.com User Number %d" % (i, i) for i in range(20000)]
    body = ("ADD news DD=USERS IMPORT\n//USERS DD *\n" + "\n".join(rows)
            + "\nold@example.net Old One\nnot-an-address Nobody\nbad@@example.com\n/*\nQUERY news\n")
    site.drop(mail(frm="owner@example.org", body=body))
    site.run()
    text = text_of(take(site, "owner@example.org"))
    assert "ERROR: news: 20000 member(s) imported, 1 already member(s), 2 line(s) not used" in text
    assert "line 20002 of the data set" in text and "line 20003 of the data set" in text
    # The data lines were never read as commands; the command after the block was.
    assert "user00001@example.com" not in text and "> QUERY news" in text
    from tristero.model.members import load
    roster = load("00000001", site.path("lists", "00000001.ini"))
    assert len(roster) == 20001 and roster.get("user00042@example.com")[1] == "NAME User Number 42"
    assert not site.messages_to("user00042@example.com")          # IMPORT welcomes nobody
    # The same addresses, as an attached file, deleted in bulk.
    from email.message import EmailMessage
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "owner@example.org", "listserv@example.org", "bulk"
    msg.set_content("DELETE news DD=gone BULK\n")
    msg.add_attachment("\n".join(rows[:15000]).encode(), maintype="text", subtype="plain", filename="gone.txt")
    site.drop(msg.as_bytes())
    site.run()
    assert "OK: news: 15000 member(s) deleted, 0 not member(s), 0 line(s) not used" in text_of(
        take(site, "owner@example.org"))
    assert len(load("00000001", site.path("lists", "00000001.ini"))) == 5001


def test_a_bulk_import_by_a_member_is_refused(site):
    setup(site, ["alice@example.net ="])
    site.drop(mail(frm="alice@example.net", body="ADD news DD=X IMPORT\n//X DD *\nmallory@example.net\n/*\n"))
    site.run()
    assert "REFUSED" in text_of(take(site, "alice@example.net"))
    from tristero.model.members import load
    assert "mallory@example.net" not in load("00000001", site.path("lists", "00000001.ini"))


def test_info_topic_and_info_question_mark_beside_info_list(site):
    setup(site, ["alice@example.net ="])
    os.makedirs(site.path("archive", "00000000", "info"))
    with open(site.path("archive", "00000000", "info", "refcard.txt"), "w") as f:
        f.write("The reference card: SUBscribe, SIGNOFF, SET, Query, REView.\n")
    site.drop(mail(frm="alice@example.net", body="INFO ?\nINFO refcard\nINFO news\nINFO nosuch"))
    site.run()
    text = text_of(site.messages_to("alice@example.net"))
    assert "OK: 1 topic(s)" in text and "  refcard" in text
    assert "OK: REFCARD\nThe reference card: SUBscribe" in text
    assert "OK: about news" in text and "ERROR" in text.split("> INFO nosuch", 1)[1]


def test_get_fn_ft_fetches_the_file_fn_dot_ft(site):
    setup(site, ["alice@example.net ="])
    os.makedirs(site.path("archive", "00000001"), exist_ok=True)
    with open(site.path("archive", "00000001", "news.faq"), "w") as f:
        f.write("Questions asked often.\n")
    site.drop(mail(frm="alice@example.net", body="GET NEWS FAQ"))
    site.run()
    msg = site.messages_to("alice@example.net")[0]
    assert "news.faq" in text_of([msg]) and "ERROR" not in text_of([msg])
    assert [p.get_filename() for p in msg.iter_attachments()] == ["news.faq"]
