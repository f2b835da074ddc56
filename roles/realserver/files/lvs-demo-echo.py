"""Demo responder: on each UDP and TCP port given, answer every datagram or connection with
this host's name, so tests can tell which real server answered. UDP replies leave from the
address the datagram was sent to, the VIP itself with DR and TUN."""
from __future__ import annotations

import selectors
import socket
import sys


def main(ports: list[int]) -> None:
    name = (socket.gethostname() + "\n").encode()
    selector = selectors.DefaultSelector()
    for port in ports:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            sock = socket.socket(socket.AF_INET6, kind)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("::", port))
            if kind == socket.SOCK_DGRAM:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            if kind == socket.SOCK_STREAM:
                sock.listen(64)
            selector.register(sock, selectors.EVENT_READ)
    while True:
        for key, _events in selector.select():
            sock = key.fileobj
            if sock.type == socket.SOCK_DGRAM:
                _data, ancillary, _flags, peer = sock.recvmsg(65535, socket.CMSG_SPACE(20))
                source = [(level, ctype, data[:16] + bytes(4)) for level, ctype, data in ancillary
                          if level == socket.IPPROTO_IPV6 and ctype == socket.IPV6_PKTINFO]
                sock.sendmsg([name], source, 0, peer)
            else:
                connection, _peer = sock.accept()
                with connection:
                    connection.sendall(name)


if __name__ == "__main__":
    main([int(port) for port in sys.argv[1:]])
