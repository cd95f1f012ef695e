"""DISTRIBUTE POST (issue 16): a job's data set posted to lists. Without PRE-APPROVED it
is the author's post through every rule of the list (a Moderated list holds it); with a
PostMaster's PRE-APPROVED=YES it passes the moderators over, the size limit still
applying; only lists of the site; the fields only the site's mail server writes are
removed from the data."""

import email
from email import policy

import pytest

from test_distribute import DATA, PW, distribution_site, job, replies, security
from test_moderation import INI, build, held_files, posts


@pytest.fixture
def psite(site):
    distribution_site(site)
    build(site)     # news: Moderated, members carol and alice, moderators mod1 and mod2
    return site


BOSS_DATA = DATA.replace("From: Maestro <maestro@example.net>", "From: The Boss <boss@example.org>")


def test_a_post_without_pre_approval_is_the_authors_post_and_a_moderated_list_holds_it(psite):
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE POST TO news PW=" + PW))
    psite.run()
    [said] = replies(psite, "maestro@example.net")[:1]
    assert "OK: POST distribution: handed to 1 list(s): news" in said
    assert posts(psite) == []
    assert len(held_files(psite)) == 1
    # The moderators get their listing, with the author the job's password proved.
    [notice] = [m for m in psite.messages_to("mod1@example.net") if "held" in m["Subject"]]
    assert "From maestro@example.net" in notice.get_content()
    assert "DISTRIBUTE POST" in security(psite)


def test_a_postmasters_pre_approved_post_goes_to_the_members_of_a_moderated_list(psite):
    data = BOSS_DATA.replace("Subject: Our news\n", "Subject: Our news\nAuthentication-Results: example.org; "
                             "dmarc=pass header.from=bank.example\nReceived: from forged\n")
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news@example.org PRE-APPROVED=YES PW=" + PW,
                         data=data))
    psite.run()
    assert held_files(psite) == []
    [post] = posts(psite)
    assert post["Subject"].endswith("Our news") and "this is the news" in post.get_content()
    assert post["From"] == "The Boss <boss@example.org>"
    # What only the site's mail server writes is not taken from a job.
    assert post["Authentication-Results"] is None and post["Received"] is None
    members = sorted(r for b in psite.outbound() if b.sender == "owner-news@example.org" for r in b.recipients)
    assert members == ["alice@example.net", "carol@example.com"]


def test_pre_approval_is_for_postmasters_and_for_post_only(psite):
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW))
    psite.drop(email_job("boss@example.org", "DISTRIBUTE MAIL TO x@example.com PRE-APPROVED=YES PW=" + PW,
                         data=BOSS_DATA, n=2))
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news FROM=b@example.org PW=" + PW,
                         data=BOSS_DATA, n=3))
    psite.run()
    assert "PRE-APPROVED= is for PostMasters" in replies(psite, "maestro@example.net")[0]
    boss = "\n".join(replies(psite, "boss@example.org"))
    assert "PRE-APPROVED= is for DISTRIBUTE POST only" in boss
    assert "FROM= does not apply to DISTRIBUTE POST" in boss
    assert posts(psite) == [] and held_files(psite) == []
    assert [b for b in psite.outbound() if "x@example.com" in b.recipients] == []


def test_post_goes_only_to_lists_of_the_site_and_a_wrong_one_stops_the_whole_job(psite):
    for n, to in enumerate(("news nolist", "news@elsewhere.example", "carol@example.com")):
        psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO %s PRE-APPROVED=YES PW=%s" % (to, PW),
                             data=BOSS_DATA, n=n))
    psite.run()
    said = "\n".join(replies(psite, "boss@example.org"))
    for name in ("nolist", "news@elsewhere.example", "carol@example.com"):
        assert "%s: DISTRIBUTE POST sends to lists, and this site has no list %s" % (name, name) in said
    assert posts(psite) == [] and held_files(psite) == []


def test_debug_tells_the_plan_and_posts_nothing(psite):
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news PRE-APPROVED=YES DEBUG=YES PW=" + PW,
                         data=BOSS_DATA))
    psite.run()
    [said] = replies(psite, "boss@example.org")
    assert "POST to news (news@example.org): pre-approved: its moderators are passed over" in said
    assert "DEBUG=YES: nothing was sent." in said
    assert posts(psite) == [] and held_files(psite) == []


def test_a_pre_approved_post_larger_than_the_lists_limit_is_refused(site):
    distribution_site(site)
    build(site, ini=INI.replace("Archive = N\n", "Archive = N\nMaxMessageSize = 300\n", 1))
    psite = site
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW,
                         data=BOSS_DATA.replace("Hello, this is the news.", "x" * 400)))
    psite.run()
    assert posts(psite) == []
    told = "\n".join(m.get_content() for m in psite.messages_to("boss@example.org"))
    assert "more than the 300 this list takes" in told


def email_job(frm, command, data=DATA, n=1):
    """A message from frm whose body is a job of command, its data set data."""
    m = email.message.EmailMessage(policy=policy.default)
    m["From"], m["To"], m["Subject"] = frm, "tristero@example.org", "job"
    m["Message-ID"], m["Date"] = "<job-%d-%s>" % (n, frm), "Sat, 21 Nov 2026 09:00:00 +0000"
    m.set_content(job(command, data=data))
    return m.as_string()


def test_every_post_meets_the_sites_kill_filters_and_its_author_is_told(psite):
    with open(psite.path("tristero.ini"), "a") as f:
        f.write("\n[Kill Subjects]\nour news\n")
    psite.drop(email_job("maestro@example.net", "DISTRIBUTE POST TO news PW=" + PW))
    # Pre-approval passes the moderators over, not the site's filters.
    psite.drop(email_job("boss@example.org", "DISTRIBUTE POST TO news PRE-APPROVED=YES PW=" + PW,
                         data=BOSS_DATA, n=2))
    psite.run()
    assert held_files(psite) == [] and posts(psite) == []
    for author in ("maestro@example.net", "boss@example.org"):
        told = "\n".join(m.get_content() for m in psite.messages_to(author))
        assert "killed: subject \"Our news\" matches \"our news\"" in told
