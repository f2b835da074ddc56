"""Sends or receives one IP-protocol-112 (VRRP) packet to 224.0.0.18, as keepalived would.

    vrrp_probe.py send SOURCE_ADDRESS TOKEN
    vrrp_probe.py receive INTERFACE_ADDRESS SECONDS   prints the sender and token heard, or
                                                      "silence"; exits non-zero only on an error
"""
import select
import socket
import sys
import time

GROUP = "224.0.0.18"
VRRP = 112


def send(source: str, token: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    # Repeat for a second so a receiver that is still joining hears it.
    for _repeat in range(10):
        sock.sendto(token.encode(), (GROUP, 0))
        time.sleep(0.1)


def receive(local: str, seconds: float) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP)
    membership = socket.inet_aton(GROUP) + socket.inet_aton(local)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        packet, (sender, _port) = sock.recvfrom(2048)
        header_length = (packet[0] & 0x0F) * 4
        if sender != local:
            print(f"{sender} {packet[header_length:].decode(errors='replace')}")
            return 0
    print("silence")
    return 0


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3])
    else:
        status = receive(sys.argv[2], float(sys.argv[3]))
        sys.stdout.flush()
        time.sleep(1)
        sys.exit(status)
