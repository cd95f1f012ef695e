"""A private Exim for the tests: a daemon on 127.0.0.1 with a configuration written here.

    with Exim(workdir) as mx:          # or the module-scoped fixture in test_exim.py
        ... [Delivery] SmtpHost = 127.0.0.1, SmtpPort = mx.port ...

Everything is under workdir: the configuration (exim.conf), Exim's own spool and
logs, the site it delivers the list domain to (workdir/site: its spool/in/ maildir)
and the members' maildirs (workdir/mail/LOCAL for LOCAL@members.test). Never the
system's configuration, spool or port.

Domains: ``example.org`` (the site's Domain) is delivered by Exim's appendfile
transport into the site's spool/in/ as a maildir, with Return-path, Envelope-to and
X-Original-To, as the README's Exim section says; ``members.test`` is delivered to
workdir/mail/LOCAL when that maildir exists (mailbox(LOCAL) makes it); any other
local part there is unrouteable, so Exim accepts it and then bounces it, with its
own delivery report, to the envelope sender.

Exim never delivers as root (its binary fixes never_users = 0). Run by root, as
here and in CI, it delivers as ``nobody``, which must be able to reach the
folders: so workdir is a folder of /tmp of its own (pytest's tmp_path is 0700 to
root), and the folders Exim writes belong to that user. Run by anyone else, Exim
drops its privilege for the -C configuration and does everything as that user.
"""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import server_program

EXIM = "/usr/sbin/exim"
DOMAIN = "example.org"
MEMBERS = "members.test"

CONFIG = """\
primary_hostname = mx.test
exim_user = {user}
exim_group = {group}
spool_directory = {work}/exim-spool
log_file_path = {work}/exim-log/%slog
pid_file_path = {work}/exim.pid
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
domainlist local_domains = {domain} : {members}
qualify_domain = {domain}
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
keep_environment =
acl_smtp_rcpt = acl_rcpt
message_size_limit = 0
# A member refused for good bounces at once: no retries to wait for.
delay_warning = 0s

begin acl
acl_rcpt:
  accept domains = +local_domains
  deny message = relay not permitted

begin routers
{routers}
member:
  driver = accept
  domains = {members}
  local_parts = dsearch;{work}/mail
  transport = member_maildir

begin transports
{transports}
member_maildir:
  driver = appendfile
  directory = {work}/mail/$local_part_data
  maildir_format
  envelope_to_add
  return_path_add
  user = {user}
  group = {group}

begin retry
* * F,1h,10m
"""

# The list domain's router and transport, with the settings the README's Exim section gives.
TRISTERO_ROUTER = """\
tristero:
  driver = accept
  domains = {domain}
  transport = tristero_spool
"""
TRISTERO_TRANSPORT = """\
tristero_spool:
  driver = appendfile
  directory = {work}/site/spool/in
  maildir_format
  delivery_date_add
  envelope_to_add
  return_path_add
  headers_add = X-Original-To: $original_local_part@$original_domain
  user = {user}
  group = {group}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exim:
    def __init__(self, work=None, routers=None, transports=None):
        server_program(EXIM)
        self.own_work = work is None
        self.work = work or tempfile.mkdtemp(prefix="tristero-exim-")
        os.chmod(self.work, 0o755)
        if os.geteuid() == 0:
            self.user = "nobody"
            self.group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
            self.group = grp.getgrgid(os.getegid()).gr_name
        self.uid, self.gid = pwd.getpwnam(self.user).pw_uid, grp.getgrnam(self.group).gr_gid
        # The list domain's router and transport: given as they are (tristero.py maps
        # --exim), or by default the templates above.
        self.routers, self.transports = routers, transports
        self.port = free_port()
        self.conf = os.path.join(self.work, "exim.conf")
        self.proc = None

    # --- the configuration and the daemon ---

    def fields(self):
        return {"work": self.work, "user": self.user, "group": self.group, "port": self.port,
                "domain": DOMAIN, "members": MEMBERS}

    def write_config(self):
        f = self.fields()
        routers = TRISTERO_ROUTER.format(**f) if self.routers is None else self.routers
        transports = TRISTERO_TRANSPORT.format(**f) if self.transports is None else self.transports
        text = CONFIG.format(routers=routers, transports=transports, **f)
        with open(self.conf, "w") as out:
            out.write(text)
        os.chmod(self.conf, 0o644)

    def own(self, path):
        """Make path (a folder, made if missing) Exim's to write."""
        os.makedirs(path, exist_ok=True)
        os.chown(path, self.uid, self.gid)

    def start(self):
        return self.prepare().launch()

    def prepare(self):
        """The folders, an empty site at workdir/site; the daemon is not started yet."""
        for sub in ("exim-spool", "exim-log", "mail"):
            self.own(os.path.join(self.work, sub))
        self.reset_site()
        return self

    def launch(self):
        """Write the configuration and start the daemon."""
        self.write_config()
        self.proc = subprocess.Popen([EXIM, "-C", self.conf, "-bdf", "-q30s"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(200):
            if self.proc.poll() is not None:
                raise RuntimeError("exim did not start:\n%s\n%s" % (self.proc.stdout.read().decode(errors="replace"),
                                                                    self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("exim does not listen on port %d:\n%s" % (self.port, self.log()))

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        if self.own_work:
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- what a test uses ---

    @property
    def site_home(self):
        return os.path.join(self.work, "site")

    def reset_site(self):
        """An empty site folder at workdir/site whose spool/in/ maildir Exim may write;
        the members' maildirs emptied too."""
        shutil.rmtree(self.site_home, ignore_errors=True)
        os.makedirs(self.site_home)
        for sub in ("spool", os.path.join("spool", "in")):
            os.makedirs(os.path.join(self.site_home, sub), exist_ok=True)
        for sub in ("tmp", "new", "cur"):
            self.own(os.path.join(self.site_home, "spool", "in", sub))
        self.own(os.path.join(self.site_home, "spool", "in"))
        mail = os.path.join(self.work, "mail")
        for name in os.listdir(mail) if os.path.isdir(mail) else ():
            shutil.rmtree(os.path.join(mail, name))

    def command(self, *args):
        """argv of this Exim (its configuration) with args, e.g. command("-bS")."""
        return [EXIM, "-C", self.conf] + list(args)

    def mailbox(self, local):
        """Make the maildir of local@members.test: from now on Exim delivers to it."""
        for sub in ("", "tmp", "new", "cur"):
            self.own(os.path.join(self.work, "mail", local, sub))
        return "%s@%s" % (local, MEMBERS)

    def delivered(self, local):
        """The messages (bytes) in the maildir of local@members.test, oldest first."""
        new = os.path.join(self.work, "mail", local, "new")
        out = []
        for name in sorted(os.listdir(new), key=lambda n: os.stat(os.path.join(new, n)).st_mtime_ns):
            with open(os.path.join(new, name), "rb") as f:
                out.append(f.read())
        return out

    def queued(self):
        """How many messages wait in Exim's queue."""
        p = subprocess.run(self.command("-bpc"), capture_output=True, check=True)
        return int(p.stdout.strip() or 0)

    def settle(self, timeout=60):
        """Wait until Exim has nothing in its queue and no delivery under way (a bounce
        it makes is queued before the message it bounces is done), then return."""
        end = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < end:
            busy = self.queued() or self._delivering()
            quiet = 0 if busy else quiet + 1
            if quiet >= 3:
                return
            time.sleep(0.1)
        raise AssertionError("exim still busy after %ds:\n%s" % (timeout, self.log()))

    def _delivering(self):
        """True while a delivery process of this Exim (a child of the daemon) runs."""
        children = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        try:
            with open(children) as f:
                return bool(f.read().split())
        except OSError:
            return False

    def log(self):
        text = ""
        folder = os.path.join(self.work, "exim-log")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            with open(os.path.join(folder, name), errors="replace") as f:
                text += "== %s\n%s" % (name, f.read())
        return text
