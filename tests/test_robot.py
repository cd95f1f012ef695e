"""The list robot: parsing command mail, and every command, through the front door."""

import os

import pytest

from conftest import mail
from tristero.mail import robot

LISTS_INI = """\
    [Globals]
    Domain = example.org
    SuperUser = boss@example.org
    MaxRecipients = 3

    [LIST news]
    MemberFile = 00000001
    Type = Open
    Owner = owner@example.org
    Description = News of the day

    [LIST staff]
    MemberFile = 00000002
    Type = Closed
    Owner = owner@example.org
    Description = Staff only

    [LIST secret]
    MemberFile = 00000003
    Type = Hidden
    Owner = owner@example.org

    [LIST my list]
    MemberFile = 00000004
    Type = Open
    Owner = owner@example.org
    """


@pytest.fixture
def lists_site(site):
    site.write_ini(LISTS_INI)
    os.makedirs(site.path("lists"))
    members = {"00000001": ["carol@example.com =", "dave@example.net = NOMAIL"],
               "00000002": ["owner@example.org ="], "00000003": [], "00000004": []}
    for number, lines in members.items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write("[Members]\n" + "".join(l + "\n" for l in lines))
    return site


def read(path):
    with open(path) as f:
        return f.read()


def members_of(site, number):
    from tristero.model.members import load
    return [a for a, _ in load(number, site.path("lists", number + ".ini")).items()]


def reply_text(site, to="alice@example.net"):
    replies = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    assert len(replies) == 1, [m["Subject"] for m in site.messages_to(to)]
    return replies[0].get_content()


def command(site, body, frm="alice@example.net", to="tristero@example.org", subject="commands"):
    site.drop(mail(frm=frm, to=to, subject=subject, body=body))
    site.run()
    return reply_text(site, frm)


# --- parsing (unit) ---------------------------------------------------------------

def words(text, subject="", quote=">:|", limit=100):
    found, extra = robot.parse(text, subject, quote, limit)
    return [c.words for c in found], extra


def test_commands_one_per_line_any_case_blank_lines_and_leading_blanks_ignored():
    assert words("\n  SubScribe news\n\n\tWHO news\n") == ([["SubScribe", "news"], ["WHO", "news"]], 0)


def test_signature_and_end_words_end_the_commands():
    assert words("lists\n-- \nJoe\nhelp\n")[0] == [["lists"]]
    for end in ("END", "exit", "Quit", "stop"):
        assert words("lists\n%s\nhelp\n" % end)[0] == [["lists"]]


def test_subject_is_the_command_when_the_body_has_none():
    assert words("\n\n", subject="subscribe news")[0] == [["subscribe", "news"]]
    assert words("", subject="Re: your mail")[0] == []


def test_three_dashes_skip_to_start():
    text = "---\nDear Frenesi,\nplease reply\nSTART\nCOOKIE abc\nSUBSCRIBE news\nSTOP\nthanks\n"
    assert words(text)[0] == [["COOKIE", "abc"], ["SUBSCRIBE", "news"]]


def test_a_quoted_command_block_under_a_reply_is_read_from_start():
    text = "OK, approved.\n\n> someone asks to join\n> ---\n> START\n> ADD staff x@example.net\n> STOP\n"
    assert words(text)[0] == [["ADD", "staff", "x@example.net"]]


def test_quote_characters_are_stripped_in_a_quoted_start_block():
    text = "> > START\n> > subscribe news\n: | who news\n> STOP\n"
    assert words(text)[0] == [["subscribe", "news"], ["who", "news"]]


def test_quoted_lines_outside_a_block_are_not_commands():
    # A reply quoting the robot's earlier answer must not run those commands again.
    text = "Thanks, that worked!\n\n> > set news nomail\n> OK: news: NOMAIL\n> > unsubscribe news\n"
    assert words(text)[0] == [["Thanks,", "that", "worked!"]]


def test_a_signature_above_a_quoted_block_does_not_hide_it():
    text = "Yes please.\n-- \nAlice Smith\n\n> ---\n> START\n> COOKIE abc\n> SUBSCRIBE news\n> STOP\n"
    assert words(text)[0] == [["COOKIE", "abc"], ["SUBSCRIBE", "news"]]


def test_quoted_list_names_keep_their_spaces():
    assert words('subscribe "my list" Joe Bloggs\n')[0] == [["subscribe", "my list", "Joe", "Bloggs"]]


def test_majordomo_password_prefix_is_taken_off():
    found, _ = robot.parse("approve secret subscribe news bob@example.net\n", "", ">", 10)
    assert found[0].words == ["subscribe", "news", "bob@example.net"]
    assert found[0].password == "secret"


def test_commands_beyond_the_limit_are_counted_not_parsed():
    found, extra = words("help\n" * 150, limit=100)
    assert len(found) == 100 and extra == 50


# --- answering ---------------------------------------------------------------------

def test_one_reply_echoes_each_command_with_its_result(lists_site):
    text = command(lists_site, "lists\nsubscribe news\nfrobnicate now\nwho news\n")
    assert "> lists\nOK: 3 list(s) at example.org" in text
    assert "> subscribe news\nOK: alice@example.net is now a member of news" in text
    assert "> frobnicate\nERROR: unknown command" in text   # only the word echoed
    assert "SUBSCRIBE list" in text   # short help after the unknown command
    assert "> who news\nOK: 3 member(s) of news" in text
    assert "4 command(s): 3 ok, 0 held, 0 refused, 1 error(s)." in text


def test_reply_is_marked_automatic_and_threads_to_the_command(lists_site):
    lists_site.drop(mail(body="help"))
    lists_site.run()
    reply = lists_site.messages_to("alice@example.net")[0]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"].startswith("<")
    assert reply["From"].addresses[0].addr_spec == "tristero@example.org"
    out = lists_site.outbound()[0]
    assert out.sender == ""    # RFC 3834: the null reverse path


@pytest.mark.parametrize("header", ["Auto-Submitted: auto-replied", "Precedence: bulk",
                                    "Precedence: junk", "Return-Path: <>", "List-Id: <x.example.com>"])
def test_automatic_mail_gets_no_reply(lists_site, header):
    lists_site.drop(mail(body="subscribe news", headers=header + "\n"))
    lists_site.run()
    assert lists_site.messages_to("alice@example.net") == []
    # Nor are its commands run: a bounce or an auto-reply quoting "subscribe"
    # must not change anything.
    assert "alice@example.net" not in members_of(lists_site, "00000001")


def test_mail_from_mailer_daemon_gets_no_reply(lists_site):
    lists_site.drop(mail(frm="MAILER-DAEMON@example.com", body="help"))
    lists_site.run()
    assert lists_site.outbound() == []


def test_html_only_mail_is_read_from_its_text(lists_site):
    html = ("From: alice@example.net\nTo: tristero@example.org\nSubject: x\nMIME-Version: 1.0\n"
            "Content-Type: text/html; charset=utf-8\n\n<html><body><p>subscribe news</p><p>who news</p>"
            "</body></html>\n")
    lists_site.drop(html)
    lists_site.run()
    assert "alice@example.net" in members_of(lists_site, "00000001")


def test_multipart_alternative_is_read_from_its_plain_part(lists_site):
    msg = ("From: alice@example.net\nTo: tristero@example.org\nSubject: x\nMIME-Version: 1.0\n"
           'Content-Type: multipart/alternative; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
           "subscribe news\n--b\nContent-Type: text/html\n\n<p>unsubscribe news</p>\n--b--\n")
    lists_site.drop(msg)
    lists_site.run()
    assert "alice@example.net" in members_of(lists_site, "00000001")


def test_a_body_of_prose_leaves_the_subject_as_the_command(lists_site):
    # Mail clients' one-click unsubscription: subject "unsubscribe", body prose.
    lists_site.write_ini(LISTS_INI)
    text = command(lists_site, "This message was automatically generated by Gmail.",
                   frm="carol@example.com", to="news-request@example.org", subject="unsubscribe")
    assert "its subject was read as one" in text
    assert "carol@example.com" not in members_of(lists_site, "00000001")


def test_short_help_comes_once_after_several_unknown_commands(lists_site):
    text = command(lists_site, "frob\nnitz\nlists\n")
    assert text.count("one per line, for example") == 1


def test_prose_after_three_unknown_lines_is_not_read_or_echoed(lists_site):
    spam = "".join("BUY CHEAP PILLS NOW line %d http://spam.example/\n" % i for i in range(100))
    text = command(lists_site, spam)
    assert "The rest of your message was not read" in text
    assert text.count("> BUY") == 3 and "spam.example" not in text


def test_help_on_one_command_shows_its_synonyms(lists_site):
    text = command(lists_site, "help join")
    assert "SUBSCRIBE list [your name]" in text and "JOIN" in text


# --- subscribing ---------------------------------------------------------------------

def test_subscribe_with_a_name_keeps_the_name(lists_site):
    command(lists_site, "join news Alice Liddell")
    with open(lists_site.path("lists", "00000001.ini")) as f:
        assert "alice@example.net = NAME Alice Liddell" in f.read()


def test_subscribing_twice_says_so_and_keeps_one_entry(lists_site):
    text = command(lists_site, "sub news\nsub news\n")
    assert "is already a member of news" in text
    assert members_of(lists_site, "00000001").count("alice@example.net") == 1


def test_the_same_command_a_thousand_times_is_capped_and_harmless(lists_site):
    text = command(lists_site, "subscribe news\n" * 1000)
    assert "900 more command line(s) were not run" in text
    assert members_of(lists_site, "00000001").count("alice@example.net") == 1


def test_subscription_to_a_closed_list_goes_to_the_owner_ready_to_approve(lists_site):
    text = command(lists_site, "subscribe staff")
    assert "HELD: staff does not take subscriptions by mail from you" in text
    request = [m for m in lists_site.messages_to("owner@example.org")
               if m["Subject"].startswith("Subscription request")][0]
    assert request["Reply-To"] == "tristero@example.org"
    # The owner replies, quoting it: the robot runs the ADD.
    quoted = "".join("> " + l + "\n" for l in request.get_content().splitlines())
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    lists_site.drop(mail(frm="owner@example.org", subject="Re: " + request["Subject"], body="Yes.\n\n" + quoted))
    lists_site.run()
    assert "alice@example.net" in members_of(lists_site, "00000002")
    assert "added to staff" in reply_text(lists_site, "owner@example.org")


def test_majordomo_subscribe_of_another_address_goes_to_the_owner(lists_site):
    text = command(lists_site, "subscribe news mallory@example.com")
    assert "HELD:" in text
    assert "mallory@example.com" not in members_of(lists_site, "00000001")


def test_request_address_fills_in_the_list(lists_site):
    text = command(lists_site, "subscribe\n", to="news-request@example.org")
    assert "alice@example.net is now a member of news" in text


def test_subject_subscribe_to_the_request_address(lists_site):
    lists_site.drop(mail(to="news-request@example.org", subject="subscribe", body=""))
    lists_site.run()
    assert "alice@example.net" in members_of(lists_site, "00000001")


def test_welcome_and_farewell_files_are_sent(lists_site):
    folder = lists_site.path("archive", "00000001")
    os.makedirs(folder)
    with open(os.path.join(folder, "welcome.txt"), "w") as f:
        f.write("Welcome, reader of the news.\n")
    with open(os.path.join(folder, "farewell.txt"), "w") as f:
        f.write("Sorry to see you go.\n")
    lists_site.drop(mail(body="subscribe news"))
    lists_site.run()
    welcome = [m for m in lists_site.messages_to("alice@example.net") if m["Subject"] == "Welcome to news"]
    assert "Welcome, reader of the news." in welcome[0].get_content()
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    lists_site.drop(mail(body="signoff news"))
    lists_site.run()
    farewell = [m for m in lists_site.messages_to("alice@example.net") if m["Subject"] == "Farewell from news"]
    assert "Sorry to see you go." in farewell[0].get_content()


def test_unsubscribe_from_every_list(lists_site):
    command(lists_site, "subscribe news\nsubscribe \"my list\"\n")
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    text = command(lists_site, "unsubscribe *")
    assert "has left news" in text and "has left my list" in text
    assert "alice@example.net" not in members_of(lists_site, "00000001")


def test_unsubscribing_someone_else_is_passed_to_the_owner(lists_site):
    # Majordomo: another address's unsubscription goes to the owner for approval (issue 15).
    text = command(lists_site, "unsubscribe news carol@example.com")
    assert "HELD:" in text and "owner" in text
    assert "carol@example.com" in members_of(lists_site, "00000001")


def test_set_nomail_and_mail(lists_site):
    command(lists_site, "subscribe news\nset news nomail\n")
    with open(lists_site.path("lists", "00000001.ini")) as f:
        assert "alice@example.net = NOMAIL" in f.read()
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    command(lists_site, "set news mail")
    with open(lists_site.path("lists", "00000001.ini")) as f:
        assert "alice@example.net =\n" in f.read()


# --- looking -------------------------------------------------------------------------

def test_lists_hides_hidden_lists(lists_site):
    text = command(lists_site, "lists")
    assert "news@example.org" in text and "my_list@example.org" in text
    assert "secret" not in text


def test_info_shows_the_readme(lists_site):
    os.makedirs(lists_site.path("archive", "00000001"))
    with open(lists_site.path("archive", "00000001", "readme.txt"), "w") as f:
        f.write("All the news that fits.\n")
    text = command(lists_site, "info news")
    assert "Description: News of the day" in text and "All the news that fits." in text


def test_members_of_a_closed_list_only_for_members(lists_site):
    assert "REFUSED: staff is a Closed list: members only" in command(lists_site, "who staff")


def test_members_marks_nomail(lists_site):
    text = command(lists_site, "review news", frm="carol@example.com")    # a member: rosters are for members
    assert "dave@example.net  (NOMAIL)" in text


def test_which_shows_ones_own_lists_and_refuses_others(lists_site):
    text = command(lists_site, "which\nwhich carol@example.com\n", frm="carol@example.com")
    assert "carol@example.com is in 1 list(s)\n  news" in text
    text = command(lists_site, "which carol@example.com")
    assert "REFUSED" in text


# --- owners and the SuperUser ----------------------------------------------------------

def test_owner_adds_and_removes_members(lists_site):
    text = command(lists_site, "add news erin@example.com Erin\nremove news *carol*\n", frm="owner@example.org")
    assert "erin@example.com added to news" in text
    assert "carol@example.com has left news" in text
    assert sorted(members_of(lists_site, "00000001")) == ["dave@example.net", "erin@example.com"]
    added = [m for m in lists_site.messages_to("erin@example.com") if m["Subject"] == "Welcome to news"]
    assert "added to the list news" in added[0].get_content()


def test_add_hide_tells_the_new_member_nothing(lists_site):
    command(lists_site, "add news erin@example.com HIDE", frm="owner@example.org")
    assert lists_site.messages_to("erin@example.com") == []


def test_a_non_owner_cannot_add(lists_site):
    text = command(lists_site, "add news erin@example.com")
    assert "REFUSED: only the list's owner" in text
    assert "erin@example.com" not in members_of(lists_site, "00000001")


def test_fuzzy_remove_matching_several_removes_none(lists_site):
    text = command(lists_site, "remove news *example*", frm="owner@example.org")
    assert "ERROR: 2 members match *example*" in text
    assert len(members_of(lists_site, "00000001")) == 2


def test_change_keeps_options(lists_site):
    text = command(lists_site, "change dave@example.net dave@example.org", frm="boss@example.org")
    assert "dave@example.net is now dave@example.org in news" in text
    with open(lists_site.path("lists", "00000001.ini")) as f:
        assert "dave@example.org = NOMAIL" in f.read()


def test_set_reply_by_owner_and_set_star_by_superuser(lists_site):
    command(lists_site, "set news reply list", frm="owner@example.org")
    with open(lists_site.path("tristero.ini")) as f:
        assert "Reply = list" in f.read().split("[LIST news]")[1].split("[LIST")[0]
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    text = command(lists_site, "set * forwardprefix [all]", frm="boss@example.org")
    assert "OK: every list: ForwardPrefix = [all]" in text
    with open(lists_site.path("tristero.ini")) as f:
        assert "ForwardPrefix = [all]" in f.read().split("[LIST")[0]


def test_set_type_needs_the_superuser(lists_site):
    assert "REFUSED" in command(lists_site, "set news type closed", frm="owner@example.org")
    os.rename(lists_site.path("spool", "out", "new"), lists_site.path("spool", "out", "seen"))
    assert "OK: news Type = closed" in command(lists_site, "set news type closed", frm="boss@example.org")


def test_a_bad_option_value_is_an_error_and_changes_nothing(lists_site):
    before = read(lists_site.path("tristero.ini"))
    text = command(lists_site, "set news reply nonsense", frm="owner@example.org")
    assert "ERROR: Reply: 'nonsense' is not a reply type" in text
    assert read(lists_site.path("tristero.ini")) == before


def test_create_makes_the_creator_owner_and_member_and_copies_defaults(lists_site):
    os.makedirs(lists_site.path("archive", "00000000", "welcome"))
    with open(lists_site.path("archive", "00000000", "welcome.txt"), "w") as f:
        f.write("Hello from the default archive.\n")
    with open(lists_site.path("archive", "00000000", "welcome", "map.png"), "wb") as f:
        f.write(b"\x89PNG")
    text = command(lists_site, 'create "book club" Reading together', frm="boss@example.org")
    assert "created book club (book_club@example.org)" in text
    from tristero.model import config
    cfg = config.load(lists_site.home)
    number = cfg.raw("LIST book club", "MemberFile")
    assert number == "00000005"
    assert cfg.raw("LIST book club", "Owner") == "boss@example.org"
    assert members_of(lists_site, number) == ["boss@example.org"]
    assert os.path.exists(lists_site.path("archive", number, "welcome.txt"))
    assert os.path.exists(lists_site.path("archive", number, "welcome", "map.png"))


def test_create_tells_the_announce_list_unless_hide(lists_site):
    ini = read(lists_site.path("tristero.ini")).replace("MaxRecipients = 3", "MaxRecipients = 3\nAnnounceList = news")
    with open(lists_site.path("tristero.ini"), "w") as f:
        f.write(ini)
    command(lists_site, "create one First\ncreate two Second HIDE\n", frm="boss@example.org")
    told = [m["Subject"] for m in lists_site.messages_to("carol@example.com")]
    assert told == ["New list: one"]


def test_create_is_refused_to_an_ordinary_user(lists_site):
    text = command(lists_site, "create mine My list")
    assert "REFUSED: only a PostMaster or the SuperUser may do this" in text


def test_create_refuses_taken_and_impossible_names(lists_site):
    text = command(lists_site, "create news x\ncreate tristero x\ncreate news-request x\n", frm="boss@example.org")
    assert text.count("ERROR: the name") == 3


def test_destroy_tells_the_members_and_keeps_the_archive(lists_site):
    os.makedirs(lists_site.path("archive", "00000001"))
    text = command(lists_site, "destroy news", frm="boss@example.org")
    assert "news destroyed; its 2 member(s) were told" in text
    closed = lists_site.messages_to("carol@example.com")
    assert closed[0]["Subject"] == "The list news has been closed"
    assert not os.path.exists(lists_site.path("lists", "00000001.ini"))
    assert os.path.isdir(lists_site.path("archive", "00000001"))
    assert "[LIST news]" not in read(lists_site.path("tristero.ini"))


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a/b", "..", "x..y", "nul\x00here", "n" * 500])
def test_impossible_list_names_get_a_clear_answer(lists_site, name):
    before = read(lists_site.path("tristero.ini"))
    text = command(lists_site, "subscribe %s\ncreate %s x\n" % (name, name), frm="boss@example.org")
    assert text.count("is not a list name") == 2
    assert read(lists_site.path("tristero.ini")) == before
    assert sorted(os.listdir(lists_site.path("lists"))) == ["00000001.ini", "00000002.ini",
                                                           "00000003.ini", "00000004.ini"]


def test_an_address_that_is_not_one_is_refused(lists_site):
    text = command(lists_site, "add news not-an-address\nadd news a@b@c\n", frm="owner@example.org")
    assert text.count("is not a mail address") == 2


def test_a_list_cannot_join_itself(lists_site):
    text = command(lists_site, "subscribe news news@example.org\nadd news news@example.org\n",
                   frm="owner@example.org")
    assert text.count("a list cannot be a member of itself") == 2


def test_the_robot_cannot_be_added(lists_site):
    text = command(lists_site, "add news tristero@example.org\nadd news news-request@example.org\n",
                   frm="owner@example.org")
    assert text.count("is an address of the robot") == 2


def test_a_lone_less_than_sign_in_html_is_text_not_a_tag():
    # html.parser rescans the rest of the text for every "<" that opens no tag
    # (quadratic: 200 KB of them took 25 s); such a "<" is made text first.
    from tristero.core import messages
    assert messages.html_to_text("<p>a < b and <x</p><p>subscribe news</p>").split() == \
        ["a", "<", "b", "and", "<x", "subscribe", "news"]
