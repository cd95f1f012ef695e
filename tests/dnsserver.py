"""A small authoritative DNS server on 127.0.0.1 for the tests (UDP and TCP).

    with DnsServer({"_dmarc.example.com": ["v=DMARC1; p=reject"]}) as dns:
        ... [Globals] Nameservers = dns.setting ...

``records`` maps a name (without the final dot, any case) to its TXT strings (a
string longer than 255 octets is split into pieces, as DNS requires). A name
not in the map answers NXDOMAIN; ``dns.fail`` (a set of names) answers SERVFAIL,
``dns.silent`` (a set of names) gets no answer at all (a time-out). ``dns.asked``
counts the questions per name. Records may be changed while the server runs.
"""

from __future__ import annotations

import collections
import socketserver
import struct
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self, records=None):
        self.records = {k.lower().rstrip("."): list(v) for k, v in (records or {}).items()}
        self.fail, self.silent = set(), set()
        self.asked = collections.Counter()
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = server.answer(data)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                head = self.request.recv(2)
                if len(head) < 2:
                    return
                (n,) = struct.unpack("!H", head)
                data = b""
                while len(data) < n:
                    chunk = self.request.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = server.answer(data)
                if reply is not None:
                    self.request.sendall(struct.pack("!H", len(reply)) + reply)

        # UDP and TCP on the same port: the kernel picks a free UDP port, which may be
        # taken for TCP (by any connection's local end); then both are closed and tried again.
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for attempt in range(50):
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            port = self.udp.server_address[1]
            try:
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), Tcp)
                break
            except OSError:
                self.udp.server_close()
                if attempt == 49:
                    raise
        self.port = port
        self.setting = "127.0.0.1:%d" % port

    def answer(self, data):
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        q = query.question[0]
        name = q.name.to_text().lower().rstrip(".")
        self.asked[name] += 1
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.fail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif q.rdtype == dns.rdatatype.TXT:
            texts = []
            for value in self.records[name]:
                raw = value.encode("utf-8") if isinstance(value, str) else value
                pieces = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
                texts.append(" ".join('"%s"' % p.decode("latin-1").replace("\\", "\\\\").replace('"', '\\"')
                                      for p in pieces))
            response.answer.append(dns.rrset.from_text_list(q.name, 60, dns.rdataclass.IN, dns.rdatatype.TXT,
                                                             texts))
        return response.to_wire()

    def start(self):
        for srv in (self.udp, self.tcp):
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        for srv in (self.udp, self.tcp):
            srv.shutdown()
            srv.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _self_test():
    from tristero.core import nameservers
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 400
    with DnsServer({"_dmarc.example.com": ["v=DMARC1; p=reject"], "k._domainkey.example.com": [long_value]}) as srv:
        srv.fail.add("broken.example.com")
        r = nameservers.resolver(srv.setting, timeout=2)
        assert nameservers.txt(r, "_dmarc.example.com") == ["v=DMARC1; p=reject"]
        assert nameservers.txt(r, "k._domainkey.example.com") == [long_value]
        assert nameservers.txt(r, "_dmarc.nowhere.example") == []
        try:
            nameservers.txt(r, "broken.example.com")
        except nameservers.LookupFailed:
            pass
        else:
            raise AssertionError("SERVFAIL should fail")
    print("ok")


if __name__ == "__main__":
    _self_test()
