"""Attacks on lists within lists, proxy lists and languages (round 21): each test is the
hostile message or file itself, and what must (not) come out."""

import os

from conftest import mail

SITE_INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.net
MaxRecipients = 100

[LIST master]
Owner = chief@example.net
Type = Open
MemberFile = 00000001

[LIST sales-l]
Owner = chief@example.net
Type = Open
MemberFile = 00000002

[LIST gw]
Owner = chief@example.net
Type = Closed
Proxy = test-l@remote.example.net
MemberFile = 00000003
"""


def build(site, files=None, ini=SITE_INI):
    site.write_ini(ini)
    os.makedirs(site.path("lists"), exist_ok=True)
    for number, text in (files or {}).items():
        with open(site.path("lists", number + ".ini"), "w") as f:
            f.write(text)


def everything(site):
    """All the site wrote: outbound mail, logs, the spool's kept copies, the archive."""
    out = []
    for root, _, names in os.walk(site.home):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                out.append((os.path.join(root, name), f.read()))
    return out


def reply(site, to):
    [answer] = [m for m in site.messages_to(to) if m["Subject"].startswith("Re:")]
    return answer.get_content()


def test_a_remote_lists_password_in_a_proxy_line_is_sent_there_and_nowhere_else(site):
    build(site)
    site.drop(mail(frm="chief@example.net", subject="x", body="PROXY gw approve Remote5ecret subscribe test-l\n"))
    site.run()
    [command] = site.messages_to("test-l-request@remote.example.net")
    assert "approve Remote5ecret subscribe test-l" in command.get_content()
    text = reply(site, "chief@example.net")
    assert "command sent" in text and "Remote5ecret" not in text
    leaks = [path for path, data in everything(site) if b"Remote5ecret" in data and "/spool/out/" not in path]
    assert leaks == []


def test_a_listserv_pw_in_a_proxy_line_reaches_the_remote_robot_and_is_kept_nowhere(site):
    build(site, ini=SITE_INI.replace("test-l@remote.example.net", "test-l@listserv.remote.example.net"))
    site.drop(mail(frm="chief@example.net", subject="x", body="PROXY gw SET test-l NOMAIL PW=Remote5ecret\n"))
    site.run()
    [command] = site.messages_to("listserv@listserv.remote.example.net")
    assert command.get_content().strip() == "SET test-l NOMAIL PW=Remote5ecret"
    text = reply(site, "chief@example.net")
    assert "command sent" in text and "Remote5ecret" not in text
    leaks = [path for path, data in everything(site) if b"Remote5ecret" in data and "/spool/out/" not in path]
    assert leaks == []
