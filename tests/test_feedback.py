"""Feedback loops (README "Feedback loops"): a receiver's ARF complaint (RFC 5965) about
a post removes the member it proves complained, and tells the owner; a forged or
unrelated report changes nothing."""

import datetime
import hashlib
import os

from conftest import BASE_INI, NEWS_LIST, mail

MEMBERS = ["carol@example.com", "dave@example.net"]


def build(site, options="VERP = Y\n", globals_=""):
    site.write_ini(BASE_INI + "DmarcMitigation = none\n" + globals_ + "\n" + NEWS_LIST + options)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\n" + "".join(m + " =\n" for m in MEMBERS))


def members(site):
    with open(site.path("lists", "00000001.ini")) as f:
        return [line.split()[0] for line in f if "@" in line]


def sent_post(site):
    """A post to news, sent: (the envelope sender of carol's copy, its bytes)."""
    site.drop(mail(frm="alice@example.net", to="news@example.org", subject="Offer", body="Buy now.\n"))
    site.run()
    [copy] = [b for b in site.outbound() if "carol@example.com" in b.recipients]
    return copy.sender, copy.data.decode()


def arf(quoted, to="owner-news@example.org", kind="abuse", mail_from="", rcpt_to="carol@example.com",
        return_path="fbl@provider.example"):
    """A complaint report as a provider's feedback loop sends it, quoting the post."""
    fields = "Feedback-Type: %s\nUser-Agent: ProviderFBL/1.0\nVersion: 1\n" % kind
    if mail_from:
        fields += "Original-Mail-From: <%s>\n" % mail_from
    if rcpt_to:
        fields += "Original-Rcpt-To: <%s>\n" % rcpt_to
    return ("Return-Path: <%s>\nFrom: Provider FBL <fbl@provider.example>\nTo: %s\n"
            "Subject: Complaint about a message from your site\nMessage-ID: <arf%d@provider.example>\n"
            "Date: Sat, 21 Nov 2026 10:30:00 +0000\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"ARF\"\n\n"
            "--ARF\nContent-Type: text/plain\n\nThis is an email abuse report.\n\n"
            "--ARF\nContent-Type: message/feedback-report\n\n%s\n"
            "--ARF\nContent-Type: message/rfc822\n\n%s\n--ARF--\n"
            % (return_path, to,
               int(hashlib.sha256((quoted + to + kind + mail_from + rcpt_to).encode()).hexdigest()[:8], 16),
               fields, quoted))


def received_by_carol(verp, data):
    """The post as carol's mailbox keeps it: her provider wrote its Return-Path."""
    return "Return-Path: <%s>\n%s" % (verp, data)


def owner_mail(site):
    return site.messages_to("editor@example.org")


def later(site):
    site.run(now="2026-11-21T11:00:00")


def test_a_complaint_proven_by_the_verp_tag_removes_the_member_and_tells_the_owner(site):
    build(site)
    verp, data = sent_post(site)
    assert "+carol=example.com+" in verp
    site.drop(arf(received_by_carol(verp, data)))
    before = len(site.outbound())
    later(site)
    assert members(site) == ["dave@example.net"]
    [told] = owner_mail(site)
    assert "carol@example.com removed" in str(told["Subject"])
    assert "ADD news carol@example.com" in told.get_content()
    assert len(site.outbound()) == before + 1          # the owner only: carol gets nothing
    with open(site.path("logs", "00000001.csv")) as f:
        assert "remove,carol@example.com,tristero@example.org,feedback report" in f.read()
    assert "removed from news (the VERP tag of carol@example.com)" in site.log()


def test_the_verp_address_of_original_mail_from_is_proof_too(site):
    build(site)
    verp, data = sent_post(site)
    # The provider quotes only the header, without its Return-Path, and names the envelope.
    head = data.split("\n\n", 1)[0] + "\n"
    site.drop(arf(head, mail_from=verp).replace("message/rfc822", "text/rfc822-headers"))
    later(site)
    assert members(site) == ["dave@example.net"]


def test_a_report_to_the_robot_finds_its_list_by_the_quoted_return_path(site):
    build(site)
    verp, data = sent_post(site)
    site.drop(arf(received_by_carol(verp, data), to="tristero@example.org"))
    later(site)
    assert members(site) == ["dave@example.net"]
    assert len(owner_mail(site)) == 1


def test_a_one_click_token_in_the_quoted_post_proves_the_recipient(site):
    from tristero.model import cookies, oneclick
    from tristero.model.site import Site
    build(site, options="")
    _, data = sent_post(site)
    key = cookies.key(Site(site.home))
    link = oneclick.link("https://lists.example.org/u", key, "news", "dave@example.net", datetime.date(2026, 11, 21))
    quoted = data.replace("List-Unsubscribe: ", "List-Unsubscribe: <%s>, " % link, 1)
    site.drop(arf(quoted, rcpt_to=""))
    later(site)
    assert members(site) == ["carol@example.com"]


def test_a_complaint_naming_a_member_without_proof_removes_nobody(site):
    build(site, options="")                      # no VERP: nothing keyed names the recipient
    _, data = sent_post(site)
    site.drop(arf(data, rcpt_to="dave@example.net"))
    later(site)
    assert members(site) == MEMBERS
    [told] = owner_mail(site)
    text = " ".join(told.get_content().split())
    assert "names <dave@example.net> as the recipient" in text and "nobody was removed" in text


def test_a_forged_verp_tag_removes_nobody(site):
    build(site)
    verp, data = sent_post(site)
    # A member who read carol's post forges her VERP address (dave cannot know her tag).
    local, at, domain = verp.rpartition("@")
    forged = local.replace("carol=example.com", "dave=example.net") + at + domain
    site.drop(arf(received_by_carol(forged, data), mail_from=forged, rcpt_to="dave@example.net"))
    later(site)
    assert members(site) == MEMBERS
    assert "nothing proves: no one removed" in site.log()


def test_a_report_quoting_nothing_the_list_sent_changes_nothing(site):
    build(site)
    verp, data = sent_post(site)
    before = len(site.outbound())
    unrelated = data.replace("Message-ID: <", "Message-ID: <forged-", 1)
    site.drop(arf(received_by_carol(verp, unrelated)))
    later(site)
    assert members(site) == MEMBERS
    assert len(site.outbound()) == before           # nothing sent, to anyone
    assert "feedback report changes nothing: it quotes no Message-ID" in site.log()


def test_a_not_spam_report_changes_nothing(site):
    build(site)
    verp, data = sent_post(site)
    before = len(site.outbound())
    site.drop(arf(received_by_carol(verp, data), kind="not-spam"))
    later(site)
    assert members(site) == MEMBERS
    assert len(site.outbound()) == before


def test_a_report_is_never_answered_nor_posted(site):
    build(site)
    verp, data = sent_post(site)
    site.drop(arf(received_by_carol(verp, data), to="news@example.org"))
    before = len(site.outbound())
    later(site)
    assert members(site) == MEMBERS
    assert len(site.outbound()) == before


def test_a_report_sent_to_the_verp_return_path_names_the_member_by_it(site):
    build(site)
    verp, data = sent_post(site)
    head = data.split("\n\n", 1)[0] + "\n"          # the header only, without Return-Path
    site.drop(arf(head, to=verp, rcpt_to="").replace("message/rfc822", "text/rfc822-headers"))
    later(site)
    assert members(site) == ["dave@example.net"]
