"""Read at the start of every Python process the test session starts (its PYTHONPATH,
set by tests/conftest.py): with TRISTERO_TEST_DNS=host:port, a DNS resolver made from
the system's configuration asks the tests' loopback server instead, so that a run in a
process of its own asks no DNS server of the world (one made from [Globals]
Nameservers is left as it is)."""

import os

_where = os.environ.get("TRISTERO_TEST_DNS")
if _where:
    try:
        import dns.resolver
    except ImportError:         # a Python without the dependencies: nothing to send a question
        pass
    else:
        _host, _, _port = _where.rpartition(":")
        _init = dns.resolver.Resolver.__init__

        def _loopback(self, filename="/etc/resolv.conf", configure=True):
            _init(self, filename, configure=False)
            if configure:
                self.nameservers = [_host]
                self.port = int(_port)

        dns.resolver.Resolver.__init__ = _loopback
