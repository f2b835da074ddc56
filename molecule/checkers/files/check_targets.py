"""What the SMTP_CHECK and DNS_CHECK of molecule/checkers talk to on the real server: a minimal
SMTP dialogue on TCP 2525 (greeting, HELO, QUIT) and a DNS answer with no records and rcode 0
on UDP 5353, which is all keepalived asks of either."""
from __future__ import annotations

import selectors
import socket
import struct

SMTP_PORT = 2525
DNS_PORT = 5353


def smtp_session(connection: socket.socket) -> None:
    connection.settimeout(5)
    reader = connection.makefile("rb")
    connection.sendall(b"220 rs1 ESMTP lab\r\n")
    for line in reader:
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb in (b"HELO", b"EHLO"):
            connection.sendall(b"250 rs1\r\n")
        elif verb == b"QUIT":
            connection.sendall(b"221 bye\r\n")
            return
        else:
            connection.sendall(b"502 not here\r\n")


def dns_answer(query: bytes) -> bytes:
    query_id, flags = struct.unpack("!HH", query[:4])
    # QR set, opcode and RD kept, RA set, rcode 0; the question echoed, no answers.
    reply_flags = 0x8000 | (flags & 0x7900) | 0x0080
    return struct.pack("!HHHHHH", query_id, reply_flags, 1, 0, 0, 0) + query[12:]


def main() -> None:
    selector = selectors.DefaultSelector()
    smtp = socket.create_server(("0.0.0.0", SMTP_PORT), reuse_port=True)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("0.0.0.0", DNS_PORT))
    selector.register(smtp, selectors.EVENT_READ)
    selector.register(dns, selectors.EVENT_READ)
    while True:
        for key, _events in selector.select():
            if key.fileobj is smtp:
                connection, _peer = smtp.accept()
                with connection:
                    try:
                        smtp_session(connection)
                    except OSError:
                        pass
            else:
                query, peer = dns.recvfrom(512)
                if len(query) >= 12:
                    dns.sendto(dns_answer(query), peer)


if __name__ == "__main__":
    main()
