"""Sends COUNT UDP datagrams, each from a new socket, and reports who answered.

    udp_probe.py HOST PORT COUNT TIMEOUT_S [FIRST_SOURCE_PORT]

With FIRST_SOURCE_PORT, datagram n leaves from port FIRST_SOURCE_PORT + n: no two share a source
port, so none can ride the IPVS entry another one made and each is scheduled afresh (an
ephemeral port is picked at random and repeats now and then). Prints JSON: answers per reply
body and the number of datagrams left unanswered.
"""
import json
import socket
import sys
import time


def main() -> None:
    host, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    first_source_port = int(sys.argv[5]) if len(sys.argv) > 5 else None
    answers: dict = {}
    failures = 0
    for attempt in range(count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            if first_source_port is not None:
                sock.bind(("", first_source_port + attempt))
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


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
