"""Connects to HOST:PORT from each source address in turn, ROUNDS times over all of them, and
reports which real server answered each connection (the first line it sends, the demo
responder's host name). Each connection ends with a reset, so IPVS drops its entry within
its CLOSE timeout and only a persistence template keeps a client on its real server.

    source_probe.py HOST PORT ROUNDS TIMEOUT_S SOURCE...
Prints JSON: {"answers": {source: [name, ...]}, "failures": n}; a failed connection is "".
"""
import json
import socket
import struct
import sys
import time


def ask(host: str, port: int, source: str, timeout: float) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.bind((source, 0))
        sock.connect((host, port))
        answer = sock.makefile("rb").readline().decode().strip()
        # Linger 0: close sends a reset instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return answer


def main() -> None:
    host, port, rounds, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sources = sys.argv[5:]
    answers: dict[str, list[str]] = {source: [] for source in sources}
    failures = 0
    for _round in range(rounds):
        for source in sources:
            try:
                answers[source].append(ask(host, port, source, timeout))
            except OSError:
                failures += 1
                answers[source].append("")
    print(json.dumps({"answers": answers, "failures": failures}))


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
