"""The nat scenario's UDP probe, against a UDP responder on loopback."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

PROBE = Path(__file__).resolve().parents[2] / "molecule" / "nat" / "files" / "udp_probe.py"


def responder(sock: socket.socket, sources: list[int]) -> None:
    while True:
        try:
            _data, source = sock.recvfrom(512)
        except OSError:
            return
        sources.append(source[1])
        sock.sendto(b"rs1\n", source)


def free_port_pair() -> int:
    """A port P with P and P + 1 free on loopback (UDP)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two free UDP ports in a row")


def test_each_datagram_leaves_from_the_next_source_port_and_every_answer_is_counted() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    sources: list[int] = []
    threading.Thread(target=responder, args=(server, sources), daemon=True).start()
    first = free_port_pair()
    try:
        run = subprocess.run([sys.executable, str(PROBE), "127.0.0.1", str(server.getsockname()[1]), "2", "1", str(first)],
                             capture_output=True, text=True, check=True, timeout=30)
    finally:
        server.close()
    assert json.loads(run.stdout) == {"answers": {"rs1": 2}, "failures": 0}
    assert sources == [first, first + 1]
