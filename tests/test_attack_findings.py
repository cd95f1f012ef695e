"""An outside attacker's review after issue 9: each test is an attack through the
front door. xfail(strict=True) marks a hole still open on purpose, named in the
README (Filters and bounces: on a list without VERP, members see the Message-IDs
that prove a report; only VERP's keyed tags close it)."""

import os

import pytest

from conftest import mail
from test_secrets import PW, ssite  # noqa: F401  (ssite: the site of those tests)


@pytest.fixture
def asite(ssite):  # noqa: F811  (the fixture imported above)
    return ssite


def kept_bytes(site, *folders):
    out = []
    for folder in folders:
        for root, _, files in os.walk(site.path(*folder.split("/"))):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    out.append((os.path.join(root, name), f.read()))
    return out


# --- redaction --------------------------------------------------------------------------

ESC_ASCII = "\x1b(B"     # ISO-2022-JP: "switch to ASCII", a no-op inside ASCII text


@pytest.mark.parametrize("charset,body", [
    ("iso-2022-jp", "Ap" + ESC_ASCII + "proved: %s\n\nThe meeting is at eight.\n" % PW),
    ("hz-gb-2312", "Appr~\noved: %s\n\nThe meeting is at eight.\n" % PW),
], ids=["iso-2022-jp escape", "hz line continuation"])
def test_first_line_approval_in_a_stateful_charset_is_not_taken_out(asite, charset, body):
    asite.drop(mail(frm="boss@example.org", to="news@example.org", subject="Tonight",
                    headers="MIME-Version: 1.0\nContent-Type: text/plain; charset=%s\n" % charset,
                    body=body))
    asite.run()
    posts = asite.messages_to("reader@example.com")
    print([p.as_bytes() for p in posts])
    leaks = [p for p, data in kept_bytes(asite, "spool/out/new", "archive", "spool/in/cur")
             if PW.encode() in data]
    assert leaks == []


# --- forged bounces ------------------------------------------------------------------------

def test_a_stranger_posts_once_then_forged_reports_quoting_his_own_post_charge_the_owner_once(site):
    # A stranger may post to an Open list with a Message-ID of his choosing, and forge
    # reports that quote it: the sent index proves the list sent it, to everyone. Each
    # member is charged once for a message, so that each charge costs him a post.
    import test_forged_bounces as fb
    fb.build(site)
    # One post to the Open list, with a Message-ID the attacker chose.
    fb.post(site, frm="mallory@evil.example", message_id="<mine-1@evil.example>")
    for n, day in enumerate(fb.DAYS, 1):
        site.drop(fb.report("editor@example.net", quoting="<mine-1@evil.example>", n=n))
        site.run(now=day)
    assert "editor@example.net" in fb.members_of(site, "00000001")


# --- the INI round trip ---------------------------------------------------------------------


def test_a_forwardprefix_holding_the_comment_mark_reads_back_as_it_was_set(site):
    from tristero.model import config
    site.write_ini("""\
[Globals]
Domain = example.org
SuperUser = boss@example.org

[LIST news]
Type = Open
Owner = boss@example.org
MemberFile = 00000001
""")
    value = "[news #\ue000x]"
    site.drop(("From: boss@example.org\nTo: tristero@example.org\nSubject: c\nMessage-ID: <c1@example.org>\n"
               "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
               "set news forwardprefix %s\n" % value).encode("utf-8"))
    site.run()
    site.tristero("check")
    with open(site.path("tristero.ini"), encoding="utf-8") as f:
        cfg = config.Config("tristero.ini", f.read())
    got = cfg.raw("LIST news", "ForwardPrefix")
    assert got in (None, "", value), repr(got)      # refused, or kept as it was set


# --- the author ------------------------------------------------------------------------------

# A From field that names two mailboxes (an address as its display name, unquoted)
# is refused as a whole (pipeline.identify_author): the tests below send it.

def test_a_from_field_with_an_address_as_display_name_unsubscribes_nobody(site):
    import test_identity as ti
    site.write_ini(ti.INI)
    os.makedirs(site.path("lists"))
    for n, addresses in ti.MEMBERS.items():
        ti.write_members(site, n, addresses)
    site.drop(b"From: carol@example.com <mallory@evil.example>\nTo: tristero@example.org\n"
              b"Subject: x\nMessage-ID: <u1@evil.example>\n"
              b"Authentication-Results: mx.example.org; dmarc=pass header.from=evil.example\n\n"
              b"unsubscribe news\n")
    site.run()
    assert "carol@example.com" in ti.members_of(site, 1)


# --- hidden lists -----------------------------------------------------------------------------


def test_a_strangers_mail_to_a_hidden_lists_owner_address_is_answered_as_for_no_list(site):
    import test_identity as ti
    site.write_ini(ti.INI)
    os.makedirs(site.path("lists"))
    for n, addresses in ti.MEMBERS.items():
        ti.write_members(site, n, addresses)
    site.drop(mail(frm="r@evil.example", to="owner-secret@example.org", subject="hello", body="hello\n"))
    site.drop(mail(frm="s@evil.example", to="owner-nosuch@example.org", subject="hello", body="hello\n"))
    site.run()
    hidden = [m.get_content().replace("secret", "L") for m in site.messages_to("r@evil.example")]
    missing = [m.get_content().replace("nosuch", "L") for m in site.messages_to("s@evil.example")]
    assert hidden == missing


def test_a_from_field_with_the_superuser_as_display_name_gets_no_privilege(site):
    import test_identity as ti
    site.write_ini(ti.INI)
    os.makedirs(site.path("lists"))
    for n, addresses in ti.MEMBERS.items():
        ti.write_members(site, n, addresses)
    site.drop(b"From: boss@example.org <mallory@evil.example>\nTo: tristero@example.org\n"
              b"Subject: x\nMessage-ID: <p1@evil.example>\n\n"
              b"create evil A list of mine\nadd chat victim@example.com\n")
    site.run()
    assert ti.members_of(site, 2) == ["owner@example.org"]
    with open(site.path("tristero.ini")) as f:
        assert "evil" not in f.read()
