"""A private OpenLDAP server (Debian's slapd) on 127.0.0.1 for the tests.

    with Slapd(tmp_path, entries=directory(2000, 20)) as ldap:
        ... ldap.uri, ldap.base, ldap.root_dn, ldap.root_password, ldap.connection() ...

The configuration (slapd.conf: an mdb database, the core, cosine, inetorgperson, nis
and misc schemas, or those asked for, such as msuser for Active Directory's) and the
database are written into ``folder``; the entries are loaded before the start with
slapadd (thousands per second), which gives each its entryUUID as a server would.
slapd runs in the foreground as the current user, listening on
``ldap://127.0.0.1:PORT/`` only, and is stopped by ``stop()``. ``size_limit`` is what
a search that does not page may return (the root DN has none); a paged search has no
total limit. Without ``tls`` a StartTLS request is refused, as by a server without a
certificate; with it, slapd offers StartTLS with a self-signed certificate for
127.0.0.1 (the file ``certificate``), and listens on ``ldaps_uri`` too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import ldap3

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
OPENSSL = "/usr/bin/openssl"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis", "misc")
BASE = "dc=example,dc=com"
PEOPLE = "ou=people," + BASE
GROUPS = "ou=groups," + BASE
READER = "cn=reader," + BASE
READER_PASSWORD = "reader secret 7"

CONF = """\
%(includes)s
pidfile %(folder)s/slapd.pid
argsfile %(folder)s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit size.soft=%(size_limit)d size.hard=%(size_limit)d size.prtotal=unlimited
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
%(tls)sdatabase mdb
suffix "%(base)s"
rootdn "%(root_dn)s"
rootpw "%(root_password)s"
directory %(folder)s/db
maxsize 1073741824
dbnosync
index objectClass eq
"""

TLS = """\
TLSCertificateFile %(folder)s/server.pem
TLSCertificateKeyFile %(folder)s/server.key
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def person(n: int, departments: int = 20, domain: str = "example.com") -> str:
    """Person number n as an LDIF entry: uid pNNNNN, in department n % departments."""
    dept = n % departments
    return ("dn: uid=p%05d,%s\nobjectClass: inetOrgPerson\nuid: p%05d\ncn: Person %d\n"
            "sn: %d\ndisplayName: Person Number %d\nmail: p%05d@%s\nou: Department %02d\n"
            "departmentNumber: %d\n" % (n, PEOPLE, n, n, n, n, n, domain, dept, dept))


def directory(count: int, departments: int = 20) -> str:
    """The LDIF of a directory: the base, the people and groups folders, a reader
    account (READER, READER_PASSWORD) and ``count`` people in ``departments``."""
    head = ("dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
            "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n"
            "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n"
            "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\n"
            "userPassword: %s\n\n" % (BASE, PEOPLE, GROUPS, READER, READER_PASSWORD))
    return head + "\n".join(person(n, departments) for n in range(1, count + 1))


class Slapd:
    def __init__(self, folder, entries: str = "", size_limit: int = 500,
                 root_password: str = "root secret 42", schemas: tuple[str, ...] = SCHEMAS,
                 tls: bool = False) -> None:
        self.folder = os.path.abspath(str(folder))
        self.entries, self.size_limit, self.schemas, self.tls = entries, size_limit, schemas, tls
        self.certificate = os.path.join(self.folder, "server.pem")
        self.base, self.root_dn, self.root_password = BASE, "cn=admin," + BASE, root_password
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.ldaps_uri = "ldaps://127.0.0.1:%d" % free_port() if tls else None
        self.process = None

    def start(self) -> Slapd:
        os.makedirs(os.path.join(self.folder, "db"), exist_ok=True)
        conf = os.path.join(self.folder, "slapd.conf")
        includes = "\n".join("include /etc/ldap/schema/%s.schema" % s for s in self.schemas)
        if self.tls:
            # A self-signed certificate for 127.0.0.1, valid a day: trusted by no one
            # unless the test names it (SSL_CERT_FILE).
            subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", os.path.join(self.folder, "server.key"), "-out", self.certificate],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(conf, "w") as f:
            f.write(CONF % dict(includes=includes, folder=self.folder, size_limit=self.size_limit,
                                base=self.base, root_dn=self.root_dn, root_password=self.root_password,
                                tls=TLS % dict(folder=self.folder) if self.tls else ""))
        if self.entries:
            ldif = os.path.join(self.folder, "entries.ldif")
            with open(ldif, "w") as f:
                f.write(self.entries)
            added = subprocess.run([SLAPADD, "-q", "-f", conf, "-l", ldif],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if added.returncode:
                raise RuntimeError("slapadd refused the entries: %s" % added.stderr)
        self.log = open(os.path.join(self.folder, "slapd.log"), "wb")
        # -d 0: in the foreground (a child of the test, stopped by it), logging nothing.
        listen = " ".join(uri + "/" for uri in (self.uri, self.ldaps_uri) if uri)
        self.process = subprocess.Popen([SLAPD, "-f", conf, "-h", listen, "-d", "0"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                self.log.close()
                with open(self.log.name) as f:
                    raise RuntimeError("slapd did not start: %s" % f.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("slapd did not listen on %s" % self.uri) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.log.close()
        self.process = None

    def connection(self) -> ldap3.Connection:
        """A connection bound as the root DN (for changing the directory in a test)."""
        return ldap3.Connection(ldap3.Server(self.uri, get_info=ldap3.NONE), self.root_dn,
                                self.root_password, auto_bind=True, raise_exceptions=True)

    def __enter__(self) -> Slapd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
