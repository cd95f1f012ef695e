"""The web endpoint (runtime/web), at the WSGI level: every answer it gives, and what the
batch makes of the command mail it writes (the endpoint itself changes nothing)."""

import datetime
import email
import io
import os
from email import policy
from urllib.parse import urlencode, urlsplit
from wsgiref.util import setup_testing_defaults

import pytest

from conftest import BASE_INI, mail
from tristero.model import cookies, oneclick
from tristero.model.site import Site
from tristero.runtime import web

NOW = datetime.datetime(2026, 11, 21, 9, 30, tzinfo=datetime.timezone.utc)
TODAY = NOW.date()
UNSUB = "https://lists.example.org/unsubscribe"

LISTS = """\
UnsubscribeURL = %s

[LIST news]
Type = Open
Owner = editor@example.org
Description = News <b>&</b> "views"
MemberFile = 00000001

[LIST staff]
Type = Closed
Owner = editor@example.org
MemberFile = 00000002

[LIST secret]
Type = Hidden
Owner = editor@example.org
MemberFile = 00000003

[LIST asked]
Type = Open
SubscribePolicy = closed
Owner = editor@example.org
MemberFile = 00000004
""" % UNSUB


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


@pytest.fixture
def lists_site(site):
    site.write_ini(BASE_INI + LISTS)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com =\n")
    site.clock = Clock()
    site.app = web.Web(Site(site.home), lambda: NOW, site.clock)
    return site


def call(app, method="GET", path="/", query="", body=b"", content_type="application/x-www-form-urlencoded",
         client="192.0.2.1", length=None, environ=None):
    """(status code, headers, body) of one request to the WSGI app."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": client,
           "wsgi.input": io.BytesIO(body)}
    if method == "POST":
        env["CONTENT_TYPE"] = content_type
        env["CONTENT_LENGTH"] = str(len(body)) if length is None else length
    env.update(environ or {})
    setup_testing_defaults(env)
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    out = b"".join(app(env, start_response))
    return int(seen["status"].split()[0]), seen["headers"], out.decode("utf-8")


def key(site):
    return cookies.key(Site(site.home))


def link_query(site, listname="news", address="ann@example.com", today=TODAY):
    return urlsplit(oneclick.link(UNSUB, key(site), listname, address, today)).query


def written(site):
    """The messages the endpoint put in spool/in/new (parsed); tmp/ must be empty."""
    assert site.listdir("spool", "in", "tmp") == []
    out = []
    for name in site.listdir("spool", "in", "new"):
        with open(site.path("spool", "in", "new", name), "rb") as f:
            out.append(email.message_from_bytes(f.read(), policy=policy.default))
    return out


def members(site, number="00000001"):
    try:
        with open(site.path("lists", number + ".ini")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


# --- one-click unsubscription ---------------------------------------------------------------

def test_the_one_click_post_writes_one_command_mail_and_the_next_run_unsubscribes(lists_site):
    site = lists_site
    code, headers, body = call(site.app, "POST", "/unsubscribe", link_query(site),
                               b"List-Unsubscribe=One-Click")
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    assert "Set-Cookie" not in headers and "Location" not in headers
    assert "ann@example.com leaves news" in body
    [msg] = written(site)
    assert msg["From"] == "ann@example.com" and msg["To"] == "tristero@example.org"
    assert msg.get_content().startswith("ONECLICK news ann@example.com ")
    assert "from [192.0.2.1]" in msg["Received"]
    assert "ann@example.com" in members(site)
    site.run()
    assert "ann@example.com" not in members(site)
    with open(site.path("logs", "00000001.csv")) as f:
        assert "unsubscribe,ann@example.com,ann@example.com,one-click" in f.read()
    # The reply stars the token, as it does a password.
    reply = [m for m in site.messages_to("ann@example.com") if "robot" in m.get_content() or "ONECLICK" in
             m.get_content()]
    token = link_query(site).rpartition("token=")[2]
    assert all(token not in m.as_string() for m in site.messages_to("ann@example.com"))
    assert any("ONECLICK news ann@example.com ********" in m.get_content() for m in reply)


def test_a_multipart_one_click_post_is_read_too(lists_site):
    site = lists_site
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n"
            b"--XyZ--\r\n")
    code, _, _ = call(site.app, "POST", "/unsubscribe", link_query(site), body,
                      content_type="multipart/form-data; boundary=XyZ")
    assert code == 200
    assert len(written(site)) == 1


def test_a_get_of_the_one_click_url_shows_a_button_and_unsubscribes_nobody(lists_site):
    site = lists_site
    code, headers, body = call(site.app, "GET", "/unsubscribe", link_query(site))
    assert code == 200 and headers["Content-Type"].startswith("text/html")
    assert '<form method="post" action="">' in body
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in body
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert written(site) == []


@pytest.mark.parametrize("tamper", ["address", "list", "expired", "key", "missing"])
def test_a_bad_one_click_token_is_refused_before_anything_is_written(lists_site, tamper):
    site = lists_site
    query = link_query(site)
    if tamper == "address":
        query = query.replace("ann%40", "bob%40")
    elif tamper == "list":
        query = link_query(site, listname="staff").replace("list=staff", "list=news")
    elif tamper == "expired":
        query = link_query(site, today=NOW.date() - datetime.timedelta(days=oneclick.DAYS + 1))
    elif tamper == "key":
        query = urlsplit(oneclick.link(UNSUB, b"x" * 32, "news", "ann@example.com", NOW.date())).query
    else:
        query = query.split("&token=")[0]
    for method in ("GET", "POST"):
        code, _, body = call(site.app, method, "/unsubscribe", query, b"List-Unsubscribe=One-Click")
        assert code in (400, 403), body
        assert "not valid" in body or "needs the list, address and token" in body
    assert written(site) == []


def test_no_key_yet_means_no_token_is_valid_and_the_endpoint_makes_none(site):
    site.write_ini(BASE_INI + LISTS)
    app = web.Web(Site(site.home), lambda: NOW)
    query = urlsplit(oneclick.link(UNSUB, b"k" * 32, "news", "ann@example.com", NOW.date())).query
    code, _, _ = call(app, "POST", "/unsubscribe", query, b"List-Unsubscribe=One-Click")
    assert code == 403
    assert not os.path.exists(site.path("tristero.key"))


def test_a_one_click_post_without_its_body_is_refused(lists_site):
    site = lists_site
    for body in (b"", b"List-Unsubscribe=Yes", b"unsubscribe=1"):
        code, _, text = call(site.app, "POST", "/unsubscribe", link_query(site), body)
        assert code == 400 and "List-Unsubscribe=One-Click" in text
    assert written(site) == []


def test_a_forged_oneclick_mail_with_a_bad_token_changes_nothing(lists_site):
    """The attack: a mail From the member carrying a made-up token."""
    site = lists_site
    key(site)
    site.drop(mail(frm="ann@example.com", body="ONECLICK news ann@example.com %s\n" % ("A" * 32)))
    site.drop(mail(frm="mallory@example.net", subject="x",
                   body="ONECLICK news ann@example.com %s\n" % link_query(site, address="bob@example.com")
                   .rpartition("token=")[2]))
    site.run()
    assert "ann@example.com" in members(site)
    [reply] = site.messages_to("ann@example.com")
    assert "REFUSED: this one-click token is not valid" in reply.get_content()
    with open(site.path("logs", "security.at")) as f:
        assert "ONECLICK,refused: bad token for ann@example.com" in f.read()


def test_a_oneclick_mail_with_a_valid_token_unsubscribes_whoever_sent_it(lists_site):
    """The token, not the From, proves the address (as the link itself does)."""
    site = lists_site
    token = link_query(site).rpartition("token=")[2]
    site.drop(mail(frm="someone@example.net", body="ONECLICK news ann@example.com %s\n" % token))
    site.run()
    assert "ann@example.com" not in members(site)



def test_a_leaked_one_click_link_posted_again_and_again_mails_its_member_once(lists_site):
    """The attack: someone holding a member's link (a forwarded post) POSTs it over and
    over, from run to run: each POST is a command mail answered to the member. The
    member, on another list too, is no stranger, so no stranger's quota stops it. Only
    the one that unsubscribes is answered; one that finds the address gone is not."""
    site = lists_site
    with open(site.path("lists", "00000002.ini"), "w") as f:
        f.write("[Members]\nann@example.com =\n")
    for _ in range(2):
        for _ in range(6):
            assert call(site.app, "POST", "/unsubscribe", link_query(site), b"List-Unsubscribe=One-Click")[0] == 200
        site.run()
    assert "ann@example.com" not in members(site) and "ann@example.com" in members(site, "00000002")
    [answer] = site.messages_to("ann@example.com")
    assert "ann@example.com has left news" in answer.get_content()
    assert site.listdir("spool", "in", "new") == [] and site.listdir("spool", "failed", "new") == []

# --- the subscribe forms --------------------------------------------------------------------

def test_the_index_shows_a_form_for_each_public_list_only_and_escapes_what_it_shows(lists_site):
    code, headers, body = call(lists_site.app, "GET", "/")
    assert code == 200
    assert 'name="list" value="news"' in body
    for closed in ("staff", "secret", "asked"):
        assert 'value="%s"' % closed not in body
    assert "News &lt;b&gt;&amp;&lt;/b&gt; &quot;views&quot;" in body and "<b>" not in body
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    code, _, body = call(lists_site.app, "GET", "/subscribe", "list=news")
    assert code == 200 and 'action="/subscribe"' in body
    for name in ("staff", "secret", "nosuch", "../x"):
        assert call(lists_site.app, "GET", "/subscribe", urlencode({"list": name}))[0] == 404


def test_the_subscribe_form_writes_a_request_the_batch_only_confirms(lists_site):
    site = lists_site
    code, _, body = call(site.app, "POST", "/subscribe", body=b"list=news&address=o%27neil%26co%40example.net")
    assert code == 202
    assert "A confirmation was mailed to o&#x27;neil&amp;co@example.net" in body
    [msg] = written(site)
    assert msg["From"] == "o'neil&co@example.net"
    assert msg.get_content() == "WEBSUBSCRIBE news\n"
    site.run()
    assert "neil" not in members(site)
    # One mail: the confirmation is the answer (no robot reply besides it).
    [confirm] = site.messages_to("o'neil&co@example.net")
    assert "COOKIE" in confirm.get_content()
    block = confirm.get_content().split("---\n", 1)[1]
    site.drop(mail(frm="o'neil&co@example.net", subject="Re: confirm", body="---\n" + block))
    site.run()
    assert "o'neil&co@example.net" in members(site)


def test_a_mailed_websubscribe_from_a_forged_address_subscribes_nobody(lists_site):
    """The attack: WEBSUBSCRIBE in a mail whose From is a victim's. An Open list with no
    confirmation policy: SUBSCRIBE would have subscribed; WEBSUBSCRIBE only asks."""
    site = lists_site
    site.drop(mail(frm="victim@example.net", body="WEBSUBSCRIBE news\nWEBSUBSCRIBE staff\n"))
    site.run()
    assert "victim" not in members(site) and "victim" not in members(site, "00000002")
    replies = site.messages_to("victim@example.net")
    # The confirmation, and a reply for the refusal (two commands: the robot answers).
    assert len(replies) == 2 and sum("COOKIE" in m.get_content() for m in replies) == 1
    text = "\n".join(m.get_content() for m in replies)
    assert "REFUSED: staff takes no subscription requests from the web form" in text


@pytest.mark.parametrize("address", ["nobody", "a@b", "x@example.com\r\nBcc: y@example.net", "news@example.org",
                                     "tristero@example.org", "owner-news@example.org", "jörg@example.net",
                                     "a b@example.net", "<a@example.net>", "a" * 250 + "@example.net"])
def test_an_address_that_cannot_be_used_is_refused_and_nothing_written(lists_site, address):
    code, _, body = call(lists_site.app, "POST", "/subscribe", body=urlencode(
        {"list": "news", "address": address}).encode())
    assert code == 400 and "is not a mail address this site can send to" in body
    assert "\r" not in body and "\nBcc" not in body
    assert written(lists_site) == []


def test_a_subscribe_post_to_a_list_that_is_not_public_is_refused(lists_site):
    for name in ("staff", "secret", "asked", "nosuch"):
        code, _, _ = call(lists_site.app, "POST", "/subscribe", body=urlencode(
            {"list": name, "address": "x@example.net"}).encode())
        assert code == 404
    assert written(lists_site) == []


# --- what no request may do -----------------------------------------------------------------

def test_a_flood_from_one_client_is_answered_429_for_a_minute(lists_site):
    site = lists_site
    for _ in range(20):                     # WebRequestsPerMinute
        assert call(site.app, "GET", "/")[0] == 200
    code, headers, body = call(site.app, "POST", "/subscribe", body=b"list=news&address=x%40example.net")
    assert code == 429 and headers["Retry-After"] == "60" and "at most 20 a minute" in body
    assert call(site.app, "GET", "/", client="192.0.2.2")[0] == 200
    site.clock.t += 61
    assert call(site.app, "GET", "/")[0] == 200
    assert written(site) == []


def test_oversized_unmeasured_and_unreadable_requests_get_4xx(lists_site):
    app = lists_site.app
    big = b"list=news&address=" + b"a" * web.MAX_BODY
    assert call(app, "POST", "/subscribe", body=big)[0] == 413
    # A Content-Length that lies is not believed beyond MAX_BODY either.
    assert call(app, "POST", "/subscribe", body=b"x", length=str(10 ** 12))[0] == 413
    assert call(app, "POST", "/subscribe", body=b"list=news", length="")[0] == 411
    assert call(app, "POST", "/subscribe", body=b"list=news", length="12x")[0] == 400
    assert call(app, "POST", "/subscribe", body=b"<xml/>", content_type="text/xml")[0] == 415
    assert call(app, "POST", "/subscribe", body=b"list=news&list=staff&address=x%40example.net")[0] == 400
    assert call(app, "POST", "/subscribe", body="list=news&address=\xff".encode("latin-1"))[0] == 400
    assert call(app, "GET", "/", query="x=" + "a" * 3000)[0] == 414
    code, headers, _ = call(app, "DELETE", "/unsubscribe")
    assert code == 405 and "POST" in headers["Allow"]
    assert call(app, "GET", "/etc/passwd")[0] == 404
    assert written(lists_site) == []


def test_the_path_of_unsubscribe_url_is_served_behind_a_prefix(site):
    site.write_ini(BASE_INI + LISTS.replace(UNSUB, "https://example.org/lists/leave"))
    app = web.Web(Site(site.home), lambda: NOW)
    query = urlsplit(oneclick.link("https://example.org/lists/leave", key(site), "news", "ann@example.com",
                                   NOW.date())).query
    assert call(app, "GET", "/unsubscribe", query)[0] == 404
    assert call(app, "GET", "/leave", query, environ={"SCRIPT_NAME": "/lists"})[0] == 200


def test_web_listen_must_be_host_and_port(site):
    p = site.tristero("web", "--listen", "nowhere", check=False)
    assert p.returncode == 2 and b"is not HOST:PORT" in p.stderr


def test_a_link_naming_a_list_by_its_address_works_as_one_naming_it_as_spelt(site):
    site.write_ini(BASE_INI + "UnsubscribeURL = %s\n\n[LIST Town Hall]\nType = Open\nMemberFile = 00000001\n"
                   % UNSUB)
    os.makedirs(site.path("lists"), exist_ok=True)
    with open(site.path("lists", "00000001.ini"), "w") as f:
        f.write("[Members]\nann@example.com =\n")
    app = web.Web(Site(site.home), lambda: NOW)
    query = urlsplit(oneclick.link(UNSUB, key(site), "town_hall", "ann@example.com", TODAY)).query
    assert call(app, "POST", "/unsubscribe", query, b"List-Unsubscribe=One-Click")[0] == 200
    [msg] = written(site)
    assert msg.get_content().startswith('ONECLICK "Town Hall" ann@example.com ')
    site.run()
    assert "ann@example.com" not in members(site)


def test_a_spool_that_cannot_be_written_gets_503_and_leaves_nothing_behind(lists_site):
    site = lists_site
    os.makedirs(site.path("spool", "in", "tmp"))
    with open(site.path("spool", "in", "new"), "w") as f:      # new/ is a file: the link fails
        f.write("")
    errors = io.StringIO()
    code, headers, body = call(site.app, "POST", "/unsubscribe", link_query(site), b"List-Unsubscribe=One-Click",
                               environ={"wsgi.errors": errors})
    assert code == 503 and headers["Retry-After"] == "60" and "try again later" in body
    assert "cannot write to" in errors.getvalue() and "Traceback" not in errors.getvalue()
    assert site.listdir("spool", "in", "tmp") == []


def test_a_head_request_gets_the_headers_only(lists_site):
    code, headers, body = call(lists_site.app, "HEAD", "/")
    assert code == 200 and body == "" and int(headers["Content-Length"]) > 0


def test_the_per_client_counts_stay_bounded(lists_site, monkeypatch):
    monkeypatch.setattr(web, "MAX_CLIENTS", 50)
    for i in range(200):
        assert call(lists_site.app, "GET", "/", client="10.0.%d.%d" % (i // 256, i % 256))[0] == 200
    assert len(lists_site.app._seen) == 50


def test_the_production_application_serves_the_site_of_tristero_home(lists_site, monkeypatch):
    monkeypatch.setenv("TRISTERO_HOME", lists_site.home)
    monkeypatch.setattr(web, "_app", None)
    code, _, body = call(web.application, "GET", "/")
    assert code == 200 and 'value="news"' in body
    assert web._app.site.home == lists_site.home


def test_the_subscribe_form_posted_for_a_victim_run_after_run_mails_them_a_bounded_number(lists_site):
    """The attack: the subscribe form POSTed for someone else's address, once for each
    run (watch starts one per mail): each run mailed a new confirmation, no quota
    counted them. A stranger here gets at most MaxStrangerReplies mails a day."""
    site = lists_site
    for hour in range(10, 20):
        assert call(site.app, "POST", "/subscribe", body=b"list=news&address=victim%40example.net")[0] == 202
        site.clock.t += 61
        site.run(now="2026-11-21T%02d:00:00" % hour)
    got = site.messages_to("victim@example.net")
    assert len(got) == 5 and all("COOKIE" in m.get_content() for m in got)
    assert "no confirmation to victim@example.net: 5 mails went today" in site.log()
    assert site.listdir("spool", "in", "new") == [] and site.listdir("spool", "failed", "new") == []
    call(site.app, "POST", "/subscribe", body=b"list=news&address=victim%40example.net")
    site.run(now="2026-11-22T10:00:00")
    assert len(site.messages_to("victim@example.net")) == 6           # a new day
