"""EXPLAIN message-id (by mail) and tristero.py explain: what the site did with a message, from the logs."""

from conftest import mail

INI = """\
[Globals]
Domain = example.org
SuperUser = boss@example.org
LogLevel = 2

[LIST news]
Owner = editor@example.org
Description = News of the site
MemberFile = 00000001
Type = Closed

[Kill Subjects]
#{buy cheap
"""


def body_of(site, address):
    return "\n".join(m.get_body(("plain",)).get_content() for m in site.messages_to(address))


def killed_post(site):
    site.write_ini(INI)
    site.drop(mail(frm="stranger@example.net", to="news@example.org", subject="buy cheap pills"))
    site.run()
    return "<%s" % mail(frm="stranger@example.net", to="news@example.org",
                        subject="buy cheap pills").split("Message-ID: <", 1)[1].split("\n", 1)[0]


def test_the_command_line_explains_each_step_and_the_rule_that_decided_it(site):
    message_id = killed_post(site)
    p = site.tristero("explain", message_id, "--now", "2026-11-21T12:00:00")
    out = p.stdout.decode()
    assert message_id in out and "from=<stranger@example.net>" in out
    assert "Kill Subjects" in out
    # Without the angle brackets too; every action line names the message.
    again = site.tristero("explain", message_id.strip("<>"), "--now", "2026-11-21T12:00:00").stdout.decode()
    assert again == out
    assert all(line.endswith("id=" + message_id) or " %s from=<" % message_id in line
               for line in out.splitlines())


def test_explain_by_mail_answers_the_author_and_the_list_owner(site):
    message_id = killed_post(site)
    site.drop(mail(frm="stranger@example.net", body="EXPLAIN %s\n" % message_id))
    site.drop(mail(frm="editor@example.org", body="EXPLAIN %s\n" % message_id.strip("<>")))
    site.run(now="2026-11-21T11:00:00")
    for who in ("stranger@example.net", "editor@example.org"):
        text = body_of(site, who)
        assert "OK: what the site did with %s" % message_id in text and "Kill Subjects" in text, who


def test_explain_tells_a_third_party_nothing_not_even_that_the_message_passed(site):
    message_id = killed_post(site)
    site.drop(mail(frm="nosy@example.com", body="EXPLAIN %s\nEXPLAIN <never@example.com>\n" % message_id))
    site.run(now="2026-11-21T11:00:00")
    text = body_of(site, "nosy@example.com")
    assert "Kill Subjects" not in text and "stranger@example.net" not in text
    assert text.count("know of no message") == 2


def test_explain_reads_only_the_days_logdays_keeps(site):
    message_id = killed_post(site)
    p = site.tristero("explain", message_id, "--now", "2027-03-01T12:00:00")
    assert p.stdout == b"" and b"know of no message" in p.stderr




def test_a_post_is_explained_step_by_step(site):
    site.write_ini(INI.replace("Type = Closed", "Type = Open"))
    site.drop(mail(frm="editor@example.org", body="SUBSCRIBE news\n"))
    site.run()
    post = mail(frm="editor@example.org", to="news@example.org", subject="the news", body="Hello.\n")
    message_id = "<" + post.split("Message-ID: <", 1)[1].split("\n", 1)[0]
    site.drop(post)
    site.run(now="2026-11-21T11:00:00")
    out = site.tristero("explain", message_id, "--now", "2026-11-21T12:00:00").stdout.decode()
    steps = [line for line in out.splitlines() if line.endswith("id=" + message_id)]
    assert len(steps) >= 2, out
    assert "posted to news" in out


def test_one_message_runs_at_most_three_explains(site):
    message_id = killed_post(site)
    site.drop(mail(frm="editor@example.org", body="".join("EXPLAIN %s\n" % message_id for _ in range(4))))
    site.run(now="2026-11-21T11:00:00")
    text = body_of(site, "editor@example.org")
    assert text.count("OK: what the site did") == 3
    assert "REFUSED: at most 3 EXPLAIN commands are run from one message" in text
