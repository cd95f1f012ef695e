"""The web endpoint: one-click unsubscription (RFC 8058) and a subscribe form per public list.

A WSGI application (Web; for a production server, ``application`` reads the site from
$TRISTERO_HOME). It changes nothing itself: each request that asks for a change writes one
command mail into the site's spool/in (spools.deliver_inbound), which the next run reads
like any other, so the batch stays the only writer of state and every change is audited
there, once. What it writes proves nothing by its From:

* the subscribe form writes WEBSUBSCRIBE list, From the address typed: the batch only
  mails that address a confirmation, and only the reply to it subscribes;
* the one-click POST writes ONECLICK list address token: the token (oneclick.link) is
  checked here before anything is written, and again by the batch.

What it serves, below the path it is mounted at (SCRIPT_NAME):

* GET /: a subscribe form for each public list (rights.open_to_strangers);
  GET /subscribe?list=NAME: the form of one; POST /subscribe: the request;
* GET of the path of UnsubscribeURL (/unsubscribe when unset) with list, address and
  token: a page with a button (mail clients and scanners fetch links: a GET never
  unsubscribes); POST there with List-Unsubscribe=One-Click (form-encoded or multipart):
  200, a short text, no cookie, no redirect.

Every value shown is HTML-escaped; no value of a request reaches a header or a path;
bodies are read up to MAX_BODY bytes; each client (REMOTE_ADDR: behind a proxy, let the
server put the client's address there) has WebRequestsPerMinute requests a minute.
"""

from __future__ import annotations

import collections
import datetime
import email.parser
import email.policy
import email.utils
import html
import ipaddress
import os
import secrets
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit
from wsgiref import simple_server

from tristero.core import messages, text
from tristero.core.kinds import Handler
from tristero.model import config as configmod
from tristero.model import cookies, durable, lists, oneclick, spools
from tristero.model.site import Site
from tristero.policy import addresses, rights
from tristero.services import membership

MAX_BODY = 8192             # bytes of a request body (a form is a few hundred)
MAX_QUERY = 2048            # characters of a query string
MAX_FIELDS = 10             # fields of a form
MAX_CLIENTS = 10000         # clients the per-minute counts are kept for
WINDOW = 60.0               # seconds: the per-client limit is per minute
ONE_CLICK = ("List-Unsubscribe", "One-Click")
DEFAULT_UNSUBSCRIBE_PATH = "/unsubscribe"
# Headers of every answer: nothing cached, nothing sniffed, no page framed, no URL
# (a token) passed on as a Referer, no script, forms only to this site.
SAFE_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
                ("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; "
                                            "base-uri 'none'")]
STATUS = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 403: "403 Forbidden",
          404: "404 Not Found", 405: "405 Method Not Allowed", 411: "411 Length Required",
          413: "413 Content Too Large", 414: "414 URI Too Long", 415: "415 Unsupported Media Type",
          429: "429 Too Many Requests", 500: "500 Internal Server Error", 503: "503 Service Unavailable"}


class Refused(Exception):
    """A request answered with a 4xx or 5xx: code, the text's key and fields, extra headers."""

    def __init__(self, code, key, headers=(), **fields):
        super().__init__(key)
        self.code, self.key, self.headers, self.fields = code, key, list(headers), fields


class Answer:
    """What a request gets: status code, body (bytes), its type, extra headers."""

    def __init__(self, code, body, content_type="text/html; charset=utf-8", headers=()):
        self.code, self.body, self.content_type, self.headers = code, body, content_type, list(headers)


class Web:
    """The WSGI application of one site. now: the clock (a function returning an aware
    datetime): the date checks one-click tokens, the time dates the mail written.
    clock: seconds for the per-client counts (time.monotonic)."""

    def __init__(self, site: Site, now: Callable[[], datetime.datetime],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.site = site
        self.now = now
        self.clock = clock
        self.texts = text.Texts(site.templates)
        self._lock = threading.Lock()
        self._seen = collections.OrderedDict()     # client -> deque of request times
        self._config = None

    # --- WSGI ---

    def __call__(self, environ, start_response):
        head = environ.get("REQUEST_METHOD") == "HEAD"
        try:
            answer = self.handle(environ)
        except Refused as r:
            answer = self.refusal(r)
        except Exception as e:          # a bug: one line for the server's log, never a traceback
            environ["wsgi.errors"].write("tristero web: internal error %s: %s\n" % (type(e).__name__, e))
            answer = Answer(500, b"internal error\n", "text/plain; charset=utf-8")
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body)))]
        start_response(STATUS[answer.code], headers + SAFE_HEADERS + answer.headers)
        return [b"" if head else answer.body]

    def handle(self, environ):
        cfg = self.config()
        self.count(environ, cfg)
        method = environ.get("REQUEST_METHOD", "GET")
        if len(environ.get("QUERY_STRING", "")) > MAX_QUERY:
            raise Refused(414, "web.bad-link")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        base = environ.get("SCRIPT_NAME", "")
        if path == unsubscribe_path(cfg):
            self.allow(method, ("GET", "HEAD", "POST"))
            return self.unsubscribe(environ, cfg, method)
        if path in (base + "/", base):
            self.allow(method, ("GET", "HEAD"))
            return self.index(environ, cfg)
        if path == base + "/subscribe":
            self.allow(method, ("GET", "HEAD", "POST"))
            if method == "POST":
                return self.subscribe(environ, cfg)
            return self.subscribe_page(environ, cfg)
        raise Refused(404, "web.not-found")

    # --- the pages ---

    def index(self, environ, cfg):
        names = public_lists(cfg)
        forms = "".join(self.form(environ, cfg, n) for n in names) or self.para(cfg, "web.no-lists")
        return self.page(cfg, self.text(cfg, "web.title", domain=cfg.globals("Domain")),
                         self.para(cfg, "web.index") + forms)

    def subscribe_page(self, environ, cfg):
        listname = self.public_list(cfg, self.fields(environ.get("QUERY_STRING", "")).get("list", ""))
        return self.page(cfg, self.text(cfg, "web.subscribe-title", list=listname),
                         self.para(cfg, "web.index") + self.form(environ, cfg, listname))

    def form(self, environ, cfg, listname):
        description = cfg.raw(lists.section(listname), "Description") or ""
        action = environ.get("SCRIPT_NAME", "") + "/subscribe"
        return ('<form method="post" action="%s"><h2>%s</h2>%s'
                '<input type="hidden" name="list" value="%s">'
                '<label>%s <input type="email" name="address" required maxlength="254"></label> '
                '<button type="submit">%s</button></form>\n' % (
                    esc(action), esc(listname), "<p>%s</p>" % esc(description) if description else "",
                    esc(listname), esc(self.text(cfg, "web.address-label")),
                    esc(self.text(cfg, "web.subscribe-button", list=listname))))

    def subscribe(self, environ, cfg):
        """POST /subscribe (list, address): a WEBSUBSCRIBE mail From the address."""
        form = self.form_fields(environ)
        listname = self.public_list(cfg, form.get("list", ""))
        address = form.get("address", "").strip()
        if not self.usable_address(cfg, address):
            raise Refused(400, "web.bad-address", address=messages.clean(address, 80))
        self.write(environ, cfg, address, "web subscription request",
                   "WEBSUBSCRIBE %s" % membership.quoted(listname))
        return self.page(cfg, self.text(cfg, "web.subscribe-title", list=listname),
                         self.para(cfg, "web.subscribe-sent", address=address, list=listname), code=202)

    def unsubscribe(self, environ, cfg, method):
        """The one-click URL: its token checked first; GET a button, POST the request."""
        query = environ.get("QUERY_STRING", "")
        asked = self.fields(query)
        if not all(asked.get(k) for k in ("list", "address", "token")):
            raise Refused(400, "web.bad-link")
        secret = cookies.existing_key(self.site)
        found = oneclick.check(secret, query, self.now().date()) if secret else None
        if found is None:
            raise Refused(403, "web.bad-token", list=messages.clean(asked["list"], 64),
                          robot=robot_address(cfg))
        listname, address = found
        known = lists.find(cfg, listname)
        if known is None or not messages.is_address(address):
            raise Refused(404, "web.not-found")
        if method != "POST":
            # A form that posts to this very URL (action "": the document's address).
            button = ('<form method="post" action=""><input type="hidden" name="%s" value="%s">'
                      '<button type="submit">%s</button></form>\n' % (
                          ONE_CLICK[0], ONE_CLICK[1],
                          esc(self.text(cfg, "web.unsubscribe-button", address=address))))
            return self.page(cfg, self.text(cfg, "web.unsubscribe-title", list=known),
                             self.para(cfg, "web.unsubscribe-ask", address=address, list=known) + button)
        if self.form_fields(environ).get(ONE_CLICK[0]) != ONE_CLICK[1]:
            raise Refused(400, "web.not-one-click")
        token = asked["token"]
        self.write(environ, cfg, address, "one-click unsubscription",
                   "ONECLICK %s %s %s" % (membership.quoted(known), address, token))
        return Answer(200, (self.text(cfg, "web.unsubscribed", address=address, list=known) + "\n").encode("utf-8"),
                      "text/plain; charset=utf-8")

    # --- what a request may ask ---

    def count(self, environ, cfg):
        """The per-client limit: at most WebRequestsPerMinute requests in any minute."""
        limit = cfg.globals("WebRequestsPerMinute")
        client = environ.get("REMOTE_ADDR", "")
        now = self.clock()
        with self._lock:
            times = self._seen.pop(client, None) or collections.deque()
            while times and times[0] <= now - WINDOW:
                times.popleft()
            self._seen[client] = times          # the most recent last
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
            if len(times) >= limit:
                raise Refused(429, "web.too-many", headers=[("Retry-After", "60")], limit=limit)
            times.append(now)

    def allow(self, method, methods):
        if method not in methods:
            raise Refused(405, "web.method", headers=[("Allow", ", ".join(methods))], methods=", ".join(methods))

    def body(self, environ):
        """The request body, read to at most MAX_BODY bytes."""
        raw = environ.get("CONTENT_LENGTH", "")
        if not raw:
            raise Refused(411, "web.length-required")
        if not (raw.isascii() and raw.isdigit()):
            raise Refused(400, "web.bad-form", why="Content-Length is no number")
        size = int(raw)
        if size > MAX_BODY:
            raise Refused(413, "web.too-large", limit=MAX_BODY)
        stream, data = environ["wsgi.input"], b""
        while len(data) < size:
            chunk = stream.read(size - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def form_fields(self, environ):
        """{name: value} of a form posted url-encoded or as multipart/form-data (each
        name once, at most MAX_FIELDS)."""
        data = self.body(environ)
        kind = environ.get("CONTENT_TYPE", "")
        base = kind.split(";", 1)[0].strip().lower()
        if base == "application/x-www-form-urlencoded":
            try:
                return self.fields(data.decode("ascii"))
            except UnicodeDecodeError:
                raise Refused(400, "web.bad-form", why="a form sent url-encoded is ASCII")
        if base == "multipart/form-data":
            return self.multipart(kind, data)
        raise Refused(415, "web.bad-form", why="a form is application/x-www-form-urlencoded or multipart/form-data")

    def multipart(self, kind, data):
        if not kind.isascii() or "\n" in kind or "\r" in kind:
            raise Refused(400, "web.bad-form", why="the Content-Type cannot be read")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + kind.encode("ascii") + b"\r\n\r\n" + data)
        if not msg.is_multipart():
            raise Refused(400, "web.bad-form", why="the multipart body cannot be read")
        found = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or name in found or len(found) >= MAX_FIELDS:
                raise Refused(400, "web.bad-form", why="its fields are not each named once")
            value = part.get_payload(decode=True) or b""
            try:
                found[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(400, "web.bad-form", why="a field is not UTF-8")
        return found

    def fields(self, query):
        """{name: value} of a query string; a name given twice is refused."""
        if not query:
            return {}
        try:
            parsed = parse_qs(query, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FIELDS,
                              errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "web.bad-form", why="the fields cannot be read")
        if any(len(v) != 1 for v in parsed.values()):
            raise Refused(400, "web.bad-form", why="a field is given twice")
        return {k: v[0] for k, v in parsed.items()}

    def public_list(self, cfg, name):
        found = lists.find(cfg, name) if name and not lists.name_problem(name) else None
        if found is None or not rights.open_to_strangers(cfg, found):
            raise Refused(404, "web.no-such-list")
        return found

    def usable_address(self, cfg, address):
        """A plain ASCII address, not one of the site's robot, list or owner addresses."""
        if not messages.is_address(address):
            return False
        domains = [cfg.globals("Domain").lower()] + [d.lower() for d in cfg.globals("Domains")]
        local, _, domain = address.rpartition("@")
        return domain.lower() not in domains or addresses.resolve(cfg, local)[0] == Handler.UNKNOWN

    # --- writing ---

    def write(self, environ, cfg, sender, subject, command):
        """The command mail, From sender, to the robot, into spool/in/new."""
        now = self.now()
        client = environ.get("REMOTE_ADDR", "")
        received = "from [%s] by %s (Tristero web endpoint); %s" % (
            client if _ip(client) else "unknown", cfg.globals("Domain"), email.utils.format_datetime(now))
        msg = messages.new_message(sender, robot_address(cfg), subject, command + "\n", now,
                                   "<web.%s@%s>" % (secrets.token_hex(12), cfg.globals("Domain")),
                                   [("Received", received)])
        try:
            spools.deliver_inbound(self.site, messages.serialize(msg))
        except OSError as e:            # the disk: nothing was written, the client may try again
            environ["wsgi.errors"].write("tristero web: cannot write to %s: %s\n" % (self.site.inbox, e))
            raise Refused(503, "web.unavailable", headers=[("Retry-After", "60")])

    # --- answers ---

    def config(self):
        """The site's configuration, read again when tristero.ini changed."""
        try:
            fingerprint = durable.fingerprint(self.site.ini)
            if self._config is None or self._config.fingerprint != fingerprint:
                self._config = configmod.load(self.site.home, create=False)
            return self._config
        except (configmod.ConfigError, OSError):
            raise Refused(503, "web.unavailable")

    def text(self, cfg, key, **fields):
        return self.texts.get(key, cfg.globals("Language") if cfg else text.DEFAULT, **fields)

    def para(self, cfg, key, **fields):
        return "<p>%s</p>\n" % esc(self.text(cfg, key, **fields))

    def page(self, cfg, title, content, code=200):
        lang = cfg.globals("Language")
        return Answer(code, ('<!DOCTYPE html>\n<html lang="%s"><head><meta charset="utf-8">'
                             '<meta name="viewport" content="width=device-width">'
                             '<title>%s</title></head>\n<body><h1>%s</h1>\n%s</body></html>\n' % (
                                 esc(lang), esc(title), esc(title), content)).encode("utf-8"))

    def refusal(self, r):
        cfg = self._config
        words = self.text(cfg, r.key, **r.fields)
        return Answer(r.code, (words + "\n").encode("utf-8"), "text/plain; charset=utf-8", r.headers)


def esc(value):
    return html.escape(str(value), quote=True)


def _ip(text_):
    """Is text_ an IP address (what REMOTE_ADDR should be)?"""
    try:
        ipaddress.ip_address(text_)
    except ValueError:
        return False
    return True


def robot_address(cfg):
    return "%s@%s" % (cfg.globals("ListProcName")[0].lower(), cfg.globals("Domain"))


def public_lists(cfg):
    return [n for n in cfg.list_names() if rights.open_to_strangers(cfg, n)]


def unsubscribe_path(cfg):
    """The path one-click links name: UnsubscribeURL's (/unsubscribe when unset)."""
    url = cfg.globals("UnsubscribeURL")
    path = urlsplit(url).path if url.startswith(("http:", "https:")) else ""
    return path if path and "{" not in path else DEFAULT_UNSUBSCRIBE_PATH


# --- serving ---

def _real_now():
    return datetime.datetime.now(datetime.timezone.utc)


_app = None


def application(environ, start_response):
    """The application for a production WSGI server (waitress): the site in $TRISTERO_HOME."""
    global _app
    if _app is None:
        _app = Web(Site(os.environ.get("TRISTERO_HOME") or "."), _real_now)
    return _app(environ, start_response)


class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):
        # A one-click URL's query holds its token: the log shows the path only.
        sys.stderr.write("tristero web: %s %s %s\n" % (
            self.address_string(), self.command, self.path.split("?", 1)[0][:200]))


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


def make_server(site: Site, host: str, port: int, now: Callable[[], datetime.datetime] = _real_now):
    """A development server (wsgiref, a thread per request) for the site; serve_forever() it."""
    server = simple_server.make_server(host, port, Web(site, now), server_class=_Server, handler_class=_Handler)
    return server


def serve(site: Site, listen: str) -> int:
    """tristero.py web --listen HOST:PORT: serve until interrupted."""
    host, _, port = listen.rpartition(":")
    server = make_server(site, host.strip("[]") or "127.0.0.1", int(port))
    sys.stderr.write("tristero web: serving %s on http://%s/\n" % (site.home, listen))
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
