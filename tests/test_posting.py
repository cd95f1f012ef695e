"""Posts to a list (README "Posting"): who gets them, in which envelopes, with which headers."""

import email
import email.header
import os
from email import policy

import pytest

from conftest import BASE_INI as GLOBALS
from conftest import NEWS_LIST as NEWS
from conftest import mail

MEMBERS = ["carol@example.com", "dave@example.net", "erin@example.com = NOMAIL"]


def build(site, options="", members=None, extra="", news=NEWS):
    """A site with the list news (its section plus options) and its member file."""
    site.write_ini(GLOBALS + extra + "\n" + news + options)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join((l if "=" in l else l + " =") + "\n"
                                        for l in (MEMBERS if members is None else members)))


def posts(site):
    return [b for b in site.outbound() if b.sender == "owner-news@example.org"]


def parsed(bsmtp):
    return email.message_from_bytes(bsmtp.data, policy=policy.default)


def one_post(site):
    """The post as the single member carol@example.com received it."""
    [copy] = site.messages_to("carol@example.com")
    return copy


def post_to_news(site, **kw):
    kw.setdefault("to", "news@example.org")
    kw.setdefault("subject", "Meeting")
    kw.setdefault("body", "See you at noon.\n")
    site.drop(mail(**kw))
    site.run()


def archive_file(site):
    with open(site.path("archive", "00000001", "20261121.txt"), "rb") as f:
        return f.read()


# --- who gets a post -------------------------------------------------------------

def test_open_list_post_from_a_non_member_reaches_every_member_but_nomail(site):
    build(site)
    post_to_news(site)
    recipients = sorted(r for b in posts(site) for r in b.recipients)
    assert recipients == ["carol@example.com", "dave@example.net"]


def test_author_who_is_a_member_gets_the_post_too(site):
    build(site, members=MEMBERS + ["alice@example.net"])
    post_to_news(site)
    assert len(site.messages_to("alice@example.net")) == 1


def test_post_envelope_sender_is_owner_list(site):
    build(site)
    post_to_news(site)
    assert {b.sender for b in site.outbound()} == {"owner-news@example.org"}


def test_envelopes_carry_at_most_max_recipients(site):
    build(site, members=["m%d@example.com" % i for i in range(7)])
    post_to_news(site)
    sizes = sorted(len(b.recipients) for b in posts(site))
    assert sizes == [1, 3, 3]
    assert sorted(r for b in posts(site) for r in b.recipients) == ["m%d@example.com" % i for i in range(7)]


def test_recipients_are_sorted_by_domain_within_each_file(site):
    build(site, members=["z@b.example.net", "y@a.example.org", "x@a.example.com",
                         "w@c.example.net", "v@b.example.com", "u@a.example.net"])
    post_to_news(site)
    key = lambda r: (".".join(reversed(r.split("@")[1].split("."))), r)  # noqa: E731
    for b in posts(site):
        assert b.recipients == sorted(b.recipients, key=key)


def test_envelopes_bunch_recipients_by_domain_once_the_member_file_is_written(site):
    # Written by hand in no order; the first write (here, a subscription)
    # sorts it, and the post then goes one domain after another. (Posts
    # stream the file's order: sorting a list of a million per post would
    # hold it twice.)
    build(site, members=["a@one.example", "b@two.example", "c@one.example",
                         "d@two.example", "e@one.example"])
    site.drop(mail(frm="f@two.example", to="tristero@example.org", body="subscribe news"))
    post_to_news(site)
    domains = sorted({r.split("@")[1] for r in b.recipients} for b in posts(site))
    assert domains == [{"one.example"}, {"two.example"}]


def test_closed_list_refuses_a_non_members_post_with_the_reason(site):
    build(site, options="Type = Closed\n")
    post_to_news(site)
    assert posts(site) == []
    [reply] = site.messages_to("alice@example.net")
    assert "was not sent to the list" in reply.get_content()
    assert "members only" in reply.get_content()
    assert reply["Subject"] == "Not posted: Meeting"


def test_closed_list_accepts_a_members_post(site):
    build(site, options="Type = Closed\n", members=MEMBERS + ["alice@example.net"])
    post_to_news(site)
    recipients = sorted(r for b in posts(site) for r in b.recipients)
    assert recipients == ["alice@example.net", "carol@example.com", "dave@example.net"]


def test_two_posts_from_one_author_in_one_run_both_go_out(site):
    build(site, members=["carol@example.com"])
    site.drop(mail(to="news@example.org", subject="First", body="one\n"))
    site.drop(mail(to="news@example.org", subject="Second", body="two\n"))
    site.run()
    assert sorted(m["Subject"] for m in site.messages_to("carol@example.com")) == ["First", "Second"]


def test_the_same_post_sent_twice_in_one_run_goes_out_twice(site):
    # Same author, subject, body and Message-ID: a person pressing "send" again.
    build(site, members=["carol@example.com"])
    site.drop(mail(to="news@example.org", subject="Again", body="same\n"))
    site.drop(mail(to="news@example.org", subject="Again", body="same\n"))
    site.run()
    assert len(site.messages_to("carol@example.com")) == 2


# --- the headers a post gets -----------------------------------------------------

def test_post_carries_the_list_headers(site):
    build(site, members=["carol@example.com"])
    post_to_news(site)
    post = one_post(site)
    assert post["List-Id"] == "News of the site <news.example.org>"
    assert post["List-Help"] == "<mailto:tristero@example.org?subject=help>"
    assert post["List-Subscribe"] == "<mailto:news-request@example.org?subject=subscribe>"
    assert post["List-Post"] == "<mailto:news@example.org>"
    assert post["List-Owner"] == "<mailto:news-owner@example.org>"
    assert post["List-Unsubscribe"] == "<mailto:news-request@example.org?subject=unsubscribe>"
    assert post["Precedence"] == "list"
    assert post["X-Loop"] == "news@example.org"
    assert post["Sender"] == "owner-news@example.org"
    assert post["From"] == "alice@example.net"


def test_list_id_quotes_a_description_with_special_characters(site):
    build(site, members=["carol@example.com"], news=NEWS.replace("News of the site", "News, views (and more)"))
    post_to_news(site)
    raw = site.outbound()[0].data
    assert b'List-Id: "News, views (and more)" <news.example.org>\n' in raw


def test_list_id_encodes_a_non_ascii_description(site):
    build(site, members=["carol@example.com"], news=NEWS.replace("News of the site", "Nachrichten aus Zürich"))
    post_to_news(site)
    [b] = posts(site)
    assert b.data.split(b"\n\n", 1)[0].isascii()
    assert one_post(site)["List-Id"] == "Nachrichten aus Zürich <news.example.org>"


def test_post_has_no_list_archive_without_archive_url(site):
    build(site, members=["carol@example.com"])
    post_to_news(site)
    assert one_post(site)["List-Archive"] is None


def test_post_has_list_archive_with_archive_url(site):
    build(site, members=["carol@example.com"], extra="ArchiveURL = https://lists.example.org/archive/{list}/\n")
    post_to_news(site)
    assert one_post(site)["List-Archive"] == "<https://lists.example.org/archive/news/>"


@pytest.mark.parametrize("url, one_click", [
    ("", False),
    ("http://lists.example.org/unsubscribe", False),
    ("https://lists.example.org/unsubscribe", True),
])
def test_list_unsubscribe_post_only_with_an_https_unsubscribe_url(site, url, one_click):
    build(site, members=["carol@example.com"], extra="UnsubscribeURL = %s\n" % url)
    post_to_news(site)
    post = one_post(site)
    if one_click:
        assert post["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    else:
        assert post["List-Unsubscribe-Post"] is None
    if url:
        assert post["List-Unsubscribe"].startswith("<%s?list=news&address=carol%%40example.com&token=" % url)
    else:
        assert post["List-Unsubscribe"] == "<mailto:news-request@example.org?subject=unsubscribe>"


def test_unsubscribe_url_gives_each_recipient_a_copy_with_their_own_signed_link(site):
    """Was: UnsubscribeURL's {list}/{address} template, a URL that named its recipient
    without proof. Now each link carries a token for its own recipient only."""
    import datetime
    from urllib.parse import unquote

    from tristero.model import cookies, oneclick
    from tristero.model.site import Site
    build(site, members=["carol@example.com", "dave@example.net", "frank+lists@example.com"],
          extra="UnsubscribeURL = https://lists.example.org/unsubscribe\n")
    post_to_news(site)
    files = posts(site)
    assert sorted(r for b in files for r in b.recipients) == [
        "carol@example.com", "dave@example.net", "frank+lists@example.com"]
    key = cookies.key(Site(site.home))
    queries = set()
    for b in files:
        [rcpt] = b.recipients
        want = "<https://lists.example.org/unsubscribe?list=news&address=%s&token=" % (
            rcpt.replace("+", "%2B").replace("@", "%40"))
        # As it stands in the file: a URL, never an RFC 2047 encoded word.
        field = b.data.replace(b"\n ", b" ").split(b"List-Unsubscribe: ", 1)[1].split(b"\n", 1)[0].decode()
        assert field.startswith(want) and field.endswith(", <mailto:news-request@example.org?subject=unsubscribe>")
        query = field[1:].split(">", 1)[0].split("?", 1)[1]
        assert oneclick.check(key, query, datetime.date(2026, 11, 21)) == ("news", rcpt)
        assert unquote(query).count(rcpt) == 1
        queries.add(query)
        assert parsed(b)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(queries) == 3


def test_the_old_unsubscribe_url_template_is_refused_with_the_reason(site):
    build(site, extra="UnsubscribeURL = https://lists.example.org/unsubscribe?list={list}&address={address}\n")
    p = site.tristero("check", check=False)
    assert p.returncode == 78 and "{...} template" in p.stderr.decode()


# --- Reply ----------------------------------------------------------------------

@pytest.mark.parametrize("reply, own, expected", [
    ("Poster", "Alice Home <home@example.net>", "Alice Home <home@example.net>"),
    ("Poster", None, None),
    ("PosterPlus", None, "alice@example.net, news@example.org"),
    ("PosterPlus", "home@example.net", "home@example.net, news@example.org"),
    ("List", "home@example.net", "news@example.org"),
    ("ListPlus", None, "news@example.org, alice@example.net"),
    ("Owner", None, "editor@example.org"),
    ("Tristero", None, "tristero@example.org"),
    ("Forwarded", "home@example.net", "home@example.net"),
    ("discuss@example.com", "home@example.net", "discuss@example.com"),
])
def test_reply_type_sets_where_replies_go(site, reply, own, expected):
    build(site, options="Reply = %s\n" % reply, members=["carol@example.com"])
    post_to_news(site, headers="Reply-To: %s\n" % own if own else "")
    post = one_post(site)
    assert post.get_all("Reply-To", [None]) == [expected]


def test_reply_posterplus_keeps_a_non_ascii_name_of_the_poster_encoded(site):
    build(site, options="Reply = PosterPlus\n", members=["carol@example.com"])
    post_to_news(site, headers="Reply-To: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.net>\n")
    [b] = posts(site)
    assert b.data.split(b"\n\n", 1)[0].isascii()
    [reply_to] = one_post(site).get_all("Reply-To")
    assert [a.addr_spec for a in reply_to.addresses] == ["joerg@example.net", "news@example.org"]
    assert reply_to.addresses[0].display_name == "Jörg Müller"


def test_reply_forwarded_marks_the_post_resent_from_the_list(site):
    build(site, options="Reply = Forwarded\n", members=["carol@example.com"])
    post_to_news(site)
    post = one_post(site)
    assert post["Resent-From"] == "news@example.org"
    assert post["Resent-Date"] and post["Resent-Message-ID"]
    assert post["From"] == "alice@example.net"


# --- subject and priority --------------------------------------------------------

def test_forward_prefix_goes_before_the_subject(site):
    build(site, options="ForwardPrefix = [news]\n", members=["carol@example.com"])
    post_to_news(site, subject="Meeting")
    assert one_post(site).get_all("Subject") == ["[news] Meeting"]


def test_forward_prefix_is_not_added_twice_to_a_reply(site):
    build(site, options="ForwardPrefix = [news]\n", members=["carol@example.com"])
    post_to_news(site, subject="Re: [news] Meeting")
    assert one_post(site).get_all("Subject") == ["Re: [news] Meeting"]


def test_non_ascii_subject_with_forward_prefix_is_encoded(site):
    build(site, options="ForwardPrefix = [news]\n", members=["carol@example.com"])
    post_to_news(site, subject="=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=")
    [b] = posts(site)
    head = b.data.split(b"\n\n", 1)[0]
    assert head.isascii()
    assert one_post(site)["Subject"] == "[news] Grüße aus Köln"
    raw = email.message_from_bytes(b.data)["Subject"]        # as written, encoded words and all
    assert str(email.header.make_header(email.header.decode_header(raw))) == "[news] Grüße aus Köln"


def test_force_priority_replaces_the_posts_priority(site):
    build(site, options="ForcePriority = Urgent\n", members=["carol@example.com"])
    post_to_news(site, headers="X-Priority: 5 (Lowest)\nImportance: low\nPriority: non-urgent\n"
                               "X-MSMail-Priority: Low\n")
    post = one_post(site)
    assert post.get_all("X-Priority") == ["1"]
    assert post.get_all("Importance") == ["high"]
    assert post["Priority"] is None
    assert post["X-MSMail-Priority"] is None


# --- receipts --------------------------------------------------------------------

@pytest.mark.parametrize("field", ["Return-Receipt-To", "Disposition-Notification-To"])
def test_requested_receipt_is_answered_with_the_number_of_recipients(site, field):
    build(site)
    post_to_news(site, headers="%s: alice@example.net\n" % field)
    [receipt] = site.messages_to("alice@example.net")
    assert "sent to the 2 recipient(s) of news" in receipt.get_content()
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert one_post(site)[field] is None       # members are not asked for receipts


# --- archive ---------------------------------------------------------------------

def test_post_is_appended_to_the_archive_in_mbox_form(site):
    build(site, members=["carol@example.com"])
    post_to_news(site, body="First line\nFrom here on it is mbox\n")
    post_to_news(site, subject="Second", body="another\n")
    data = archive_file(site)
    assert data.startswith(b"From alice@example.net Sat Nov 21 10:00:00 2026\n")
    assert data.count(b"\nFrom alice@example.net ") == 1          # two posts, two From_ lines
    assert b"\n>From here on it is mbox\n" in data
    assert b"\nFrom here" not in data
    assert b"Subject: Meeting\n" in data and b"Subject: Second\n" in data


def test_no_archive_when_archive_is_n(site):
    build(site, options="Archive = N\n", members=["carol@example.com"])
    post_to_news(site)
    assert len(posts(site)) == 1
    assert not os.path.exists(site.path("archive", "00000001", "20261121.txt"))


# --- the message itself ----------------------------------------------------------

def test_body_bytes_reach_members_unchanged(site):
    build(site, members=["carol@example.com"])
    body = (b"Caf\xe9 in Latin-1, \xc3\xa9 in UTF-8\n.a line starting with a dot\n..two\n.\n"
            b"From the start\nlast line without end")
    site.drop(b"From: alice@example.net\nTo: news@example.org\nSubject: bytes\n"
              b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + body)
    site.run()
    [name] = site.listdir("spool", "out", "new")
    with open(site.path("spool", "out", "new", name), "rb") as f:
        stuffed = f.read()
    assert b"\n..a line starting with a dot\n...two\n..\n" in stuffed
    [b] = posts(site)
    assert b.data.split(b"\n\n", 1)[1] == body + b"\n"


def test_envelope_fields_of_the_original_are_not_passed_on(site):
    build(site, members=["carol@example.com"])
    post_to_news(site, headers="Return-Path: <alice@example.net>\nDelivered-To: news@example.org\n"
                               "X-Original-To: news@example.org\n")
    post = one_post(site)
    assert post["Return-Path"] is None
    assert post["Delivered-To"] is None
    assert post["X-Original-To"] is None
    assert len(posts(site)) == 1


# --- the steps, in the order of their table ----------------------------------------

def test_posting_runs_its_refusals_before_it_composes_archives_or_sends():
    """posting.STEPS is the order a post goes through: every step that may end it
    comes before the post is sent, archived and receipted; all but the outbound form,
    which checks the post as composed (issue 12), before it is redacted and composed."""
    from tristero.mail import posting
    names = [name for name, _ in posting.STEPS]
    assert names == ["automatic", "who may post", "size", "majordomo", "moderation", "password", "merge", "executable",
                     "override", "redact", "headers", "dmarc", "outbound form", "arc", "envelopes", "fan-out",
                     "folders", "archive", "receipt"]
    assert all(callable(step) for _, step in posting.STEPS)


def test_a_post_refused_for_its_size_reaches_neither_the_members_nor_the_archive(site):
    build(site, options="MaxMessageSize = 100\n", members=["carol@example.com"])
    post_to_news(site, headers="Return-Receipt-To: alice@example.net\n", body="Far too long a body. " * 20)
    assert posts(site) == []
    [refusal] = site.outbound()
    assert refusal.recipients == ["alice@example.net"]
    assert "more than the 100 this list takes (MaxMessageSize)" in parsed(refusal).get_content()
    assert parsed(refusal)["Subject"] == "Not posted: Meeting"
    assert site.listdir("archive", "00000001") == []
    assert "posted to news" not in site.log() and "receipt sent" not in site.log()


def test_a_post_held_for_moderation_reaches_neither_the_members_nor_the_archive_of_its_list(site):
    build(site, news=NEWS + "Type = Moderated\n", members=["carol@example.com"],
          extra="\n[LIST news-approval]\nMemberFile = 00000002\nType = Approval\nArchive = N\n")
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nmoderator@example.net =\n")
    post_to_news(site)
    # Held in the list's folder (issue 14): its author told, the moderators sent a listing.
    told, listing = sorted(site.outbound(), key=lambda b: b.recipients)
    assert told.sender == "" and told.recipients == ["alice@example.net"]
    assert listing.sender == "" and listing.recipients == ["moderator@example.net"]
    assert site.listdir("archive", "00000001") == ["held"]
    assert "held for moderation" in site.log()
    assert "posted to news," not in site.log()


def test_mail_to_an_executable_list_is_answered_never_passed_on_nor_archived(site):
    build(site, news=NEWS + "Type = Executable\n", members=["alice@example.net", "carol@example.com"])
    post_to_news(site)
    assert posts(site) == []
    [answer] = site.outbound()
    assert answer.recipients == ["alice@example.net"]
    assert "none are set up yet" in parsed(answer).get_content()
    assert site.listdir("archive", "00000001") == []
