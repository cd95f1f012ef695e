"""Every robot reply carries an application/json part beside its text: one object per command."""

import json

from conftest import mail

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org

[LIST news]
Owner = editor@example.org
Description = News of the site
MemberFile = 00000001
Type = Open

[LIST careful]
Owner = editor@example.org
MemberFile = 00000002
Type = Open
SubscribePolicy = open+confirm
"""


def replies(site, who):
    return [m for m in site.messages_to(who) if m["Subject"].startswith("Re:")]


def results(reply):
    parts = [p for p in reply.walk() if p.get_content_type() == "application/json"]
    assert len(parts) == 1
    return json.loads(parts[0].get_content())


def test_each_command_has_its_object_with_status_list_and_address(site):
    site.write_ini(INI)
    site.drop(mail(frm="alice@example.net", body="SUBSCRIBE news Alice\nWHICH\nUNSUBSCRIBE nosuch\n"
                                                 "frobnicate now\nSET news NOMAIL\n"))
    site.run()
    reply, = replies(site, "alice@example.net")
    assert reply.get_body(("plain",)).get_content().startswith("Results of your commands")
    got = results(reply)
    assert [(r["command"], r["status"], r["list"]) for r in got] == [
        ("SUBSCRIBE", "OK", "news"), ("WHICH", "OK", None), ("UNSUBSCRIBE", "ERROR", None),
        ("frobnicate", "ERROR", None), ("SET", "OK", "news")]
    assert all(r["address"] == "alice@example.net" and r["token"] is None for r in got)


def test_a_refusal_is_refused_and_no_password_reaches_the_json(site):
    site.write_ini(INI)
    site.drop(mail(frm="mallory@example.net", body="approve s3cret-pw ADD news bob@example.com\n"
                                                   "PASSWORD hunter2-secret\nSETPASS other-secret\n"))
    site.run()
    reply, = replies(site, "mallory@example.net")
    got = results(reply)
    assert got[0]["command"] == "ADD" and got[0]["status"] == "REFUSED"
    assert got[0]["address"] == "bob@example.com"
    raw = reply.as_bytes()
    for secret in (b"s3cret-pw", b"hunter2-secret", b"other-secret"):
        assert secret not in raw


def test_a_confirmation_token_sent_to_the_sender_is_named_in_the_json(site):
    site.write_ini(INI)
    site.drop(mail(frm="carol@example.net", body="SUBSCRIBE careful\n"))
    site.run()
    reply, = replies(site, "carol@example.net")
    got, = results(reply)
    assert got["status"] == "HELD" and got["token"]
    confirm = [m for m in site.messages_to("carol@example.net") if m not in replies(site, "carol@example.net")]
    assert any("COOKIE %s" % got["token"] in m.get_content() for m in confirm)


def test_a_token_for_another_address_is_not_given_to_the_requester(site):
    site.write_ini(INI)
    site.drop(mail(frm="carol@example.net", body="SUBSCRIBE careful dave@example.com\n"))
    site.run()
    reply, = replies(site, "carol@example.net")
    assert all(r["token"] is None for r in results(reply))
