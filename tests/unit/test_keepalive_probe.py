"""The scenarios' kept-alive connection probe, against HTTP/1.1 servers on loopback."""
from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest

PROBE = Path(__file__).resolve().parents[2] / "molecule" / "_shared" / "files" / "keepalive_probe.py"


class KeptAlive(http.server.BaseHTTPRequestHandler):
    """Answers "rs1" over HTTP/1.1 keep-alive; closes the connection after `server.close_after` answers."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        server = self.server
        server.answered += 1
        body = b"rs1\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        server.connections.add(self.client_address)
        if server.close_after and server.answered >= server.close_after:
            self.close_connection = True

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeptAlive)
    httpd.answered, httpd.close_after, httpd.connections = 0, 0, set()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run_probe(server, stop_file: Path, *args: str) -> dict:
    run = subprocess.run([sys.executable, str(PROBE), "127.0.0.1", str(server.server_address[1]),
                          "--stop-file", str(stop_file), "--interval", "0.02", *args],
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(run.stdout)


def test_every_request_rides_one_connection(server, tmp_path) -> None:
    report = run_probe(server, tmp_path / "never", "--count", "10")
    assert (report["requests"], report["failures"], report["answers"]) == (10, 0, {"rs1": 10})
    assert report["failed_at"] is None and report["error"] is None
    assert server.connections == {("127.0.0.1", report["local_port"])}


def test_a_closed_connection_ends_the_run_without_reconnecting(server, tmp_path) -> None:
    server.close_after = 3
    report = run_probe(server, tmp_path / "never", "--count", "10")
    assert (report["requests"], report["failures"], report["answers"]) == (4, 1, {"rs1": 3})
    assert report["failed_at"] is not None and "closed by the server" in report["error"]
    assert len(server.connections) == 1


def test_the_stop_file_ends_the_run(server, tmp_path, touch_when) -> None:
    stop_file = tmp_path / "stop"
    touch_when(stop_file, lambda: server.answered >= 3)
    report = run_probe(server, stop_file, "--count", "100000")
    assert 0 < report["requests"] < 100000 and report["failures"] == 0
    assert report["answers"] == {"rs1": report["requests"]}


def test_the_connection_leaves_from_the_local_port_asked_for(server, tmp_path) -> None:
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        free = probe_port.getsockname()[1]
    report = run_probe(server, tmp_path / "never", "--count", "3", "--local-port", str(free))
    assert report["local_port"] == free and report["answers"] == {"rs1": 3}
    assert server.connections == {("127.0.0.1", free)}


def test_each_interval_keeps_its_own_connection(server, tmp_path, touch_when) -> None:
    stop_file = tmp_path / "stop"
    # The quiet connection's one request and six of the quick one's.
    touch_when(stop_file, lambda: server.answered >= 7)
    report = run_probe(server, stop_file, "--interval", "10")
    quick, quiet = report["connections"]
    assert (quick["interval"], quiet["interval"]) == (0.02, 10.0)
    assert quick["requests"] > 5 and quiet["requests"] == 1 and report["failures"] == 0
    assert report["requests"] == quick["requests"] + quiet["requests"]
    assert report["answers"] == {"rs1": report["requests"]}
    assert server.connections == {("127.0.0.1", quick["local_port"]), ("127.0.0.1", quiet["local_port"])}
    assert report["ended"] - report["started"] < 5


def test_a_broken_connection_is_counted_once_and_the_others_go_on(server, tmp_path) -> None:
    server.close_after = 3
    report = run_probe(server, tmp_path / "never", "--interval", "0.03", "--count", "10")
    assert report["failures"] >= 1
    assert report["error"] is not None and "closed by the server" in report["error"]
    assert len(report["connections"]) == 2
