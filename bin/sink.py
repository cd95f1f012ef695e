#!/usr/bin/env python3
"""A counting SMTP sink on loopback, for benchmarks: it answers every command at once
(every RCPT 250, every message 250), offers PIPELINING and 8BITMIME and answers a
pipelined group in one write, keeps nothing, and counts connections, messages,
recipients and bytes of data.

Usage: python3 bin/sink.py [--port N]   (0, the default: a free port)

It prints "listening 127.0.0.1 PORT" when it is ready, and on SIGTERM or SIGINT one
JSON line of its counts and its own CPU time (user + sys, seconds), then exits.
"""

import argparse
import asyncio
import json
import resource
import signal
import socket
import sys

COUNTS = {"connections": 0, "messages": 0, "recipients": 0, "bytes": 0}
EHLO = b"250-sink.localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
ANSWERS = {b"HELO": b"250 sink.localhost\r\n", b"RSET": b"250 OK\r\n", b"NOOP": b"250 OK\r\n",
           b"MAIL": b"250 OK\r\n", b"QUIT": b"221 bye\r\n"}
END = b"\r\n.\r\n"
QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class Sink(asyncio.Protocol):
    def connection_made(self, transport):
        COUNTS["connections"] += 1
        self.transport = transport
        self.buf = b""
        self.in_data = False
        self.rcpts = 0
        self.sock = transport.get_extra_info("socket")
        transport.write(b"220 sink.localhost ESMTP\r\n")

    def data_received(self, chunk):
        if QUICKACK:
            # Acknowledge at once: a client that writes the end of its data in a small
            # segment of its own (Nagle) would otherwise wait for the delayed ACK.
            self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        buf = self.buf + chunk if self.buf else chunk
        out = []
        pos, size = 0, len(buf)
        while pos < size:
            if self.in_data:
                if buf.startswith(b".\r\n", pos):
                    end = pos               # an empty message: its CRLF is the DATA line's
                else:
                    end = buf.find(END, pos - 2 if pos >= 2 else 0)
                    if end < 0:
                        keep = max(pos, size - 4)   # the end mark may be cut between reads
                        COUNTS["bytes"] += keep - pos
                        pos = keep
                        break
                    end += 2
                COUNTS["bytes"] += end - pos
                COUNTS["messages"] += 1
                COUNTS["recipients"] += self.rcpts
                self.rcpts = 0
                self.in_data = False
                out.append(b"250 OK\r\n")
                pos = end + 3
                continue
            eol = buf.find(b"\n", pos)
            if eol < 0:
                break
            verb = buf[pos:pos + 4].upper()
            pos = eol + 1
            if verb == b"RCPT":
                self.rcpts += 1
                out.append(b"250 OK\r\n")
            elif verb == b"DATA":
                if self.rcpts:
                    self.in_data = True
                    out.append(b"354 go on\r\n")
                else:
                    out.append(b"503 no recipients\r\n")
            elif verb == b"EHLO":
                out.append(EHLO)
            elif verb in (b"RSET", b"MAIL"):
                self.rcpts = 0
                out.append(ANSWERS[verb])
            elif verb in ANSWERS:
                out.append(ANSWERS[verb])
                if verb == b"QUIT":
                    self.transport.write(b"".join(out))
                    self.transport.close()
                    return
            else:
                out.append(b"500 what?\r\n")
        self.buf = buf[pos:]
        if out:
            self.transport.write(b"".join(out))


async def serve(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port, backlog=256)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    print("listening 127.0.0.1 %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop
    server.close()


def main():
    parser = argparse.ArgumentParser(description="A counting SMTP sink on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="the port (0: a free one)")
    args = parser.parse_args()
    asyncio.run(serve(args.port))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps(dict(COUNTS, cpu=round(ru.ru_utime + ru.ru_stime, 3))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
