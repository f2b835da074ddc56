"""Sends COUNT UDP datagrams, each from a new socket, and reports who answered.

    udp_probe.py HOST PORT COUNT TIMEOUT_S
Prints JSON: answers per reply body and the number of datagrams left unanswered.
"""
import json
import socket
import sys


def main() -> None:
    host, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    answers: dict = {}
    failures = 0
    for attempt in range(count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(b"probe", (host, port))
            try:
                body, source = sock.recvfrom(512)
            except OSError:
                failures += 1
                continue
            if source[0] != host:
                failures += 1
                continue
            name = body.decode().strip()
            answers[name] = answers.get(name, 0) + 1
    print(json.dumps({"answers": answers, "failures": failures}))


if __name__ == "__main__":
    main()
