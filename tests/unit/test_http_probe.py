"""The client probe of the scenarios and the benchmark, against HTTP servers on loopback."""
from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

PROBE = Path(__file__).resolve().parents[2] / "molecule" / "_shared" / "files" / "http_probe.py"


def run_probe(*args: str) -> dict:
    run = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(run.stdout)


class Responder(http.server.BaseHTTPRequestHandler):
    """Answers its server's name; the first request waits out `stall_first` seconds first."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        server = self.server
        with server.lock:
            server.seen += 1
            stall = server.stall_first if server.seen == 1 else 0.0
        time.sleep(stall)
        body = server.name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class ResponderServer(http.server.ThreadingHTTPServer):
    # socketserver's backlog of 5 overflowed on a busy machine: the dropped SYNs were retried
    # after a second, and the probe counted them as timed out.
    request_queue_size = 128


@pytest.fixture
def responder() -> Iterator[http.server.ThreadingHTTPServer]:
    server = ResponderServer(("127.0.0.1", 0), Responder)
    server.name, server.stall_first, server.seen, server.lock = "rs1", 0.0, 0, threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_answer_is_counted_by_body(responder) -> None:
    report = run_probe(url_of(responder), "--count", "12", "--interval", "0.01")
    assert (report["requests"], report["failures"], report["answers"]) == (12, 0, {"rs1": 12})
    assert report["longest_gap_s"] == 0.0 and report["failure_times"] == []
    assert report["failure_reasons"] == {}
    assert "timeline" not in report


def test_refused_requests_are_failures_with_their_times() -> None:
    before = time.time()
    report = run_probe(f"http://127.0.0.1:{closed_port()}/", "--count", "5", "--interval", "0.02", "--timeline")
    assert (report["requests"], report["failures"], report["answers"]) == (5, 5, {})
    assert report["failure_reasons"] == {"URLError: [Errno 111] Connection refused": 5}
    assert all(before - 1 <= at <= time.time() + 1 for at in report["failure_times"])
    assert [answered for _sent, answered in report["timeline"]] == [False] * 5
    # The gap runs from the first failed send to the last one, as no answer ended it.
    assert report["longest_gap_s"] == pytest.approx(report["timeline"][-1][0] - report["timeline"][0][0], abs=0.01)
    assert [outage["s"] for outage in report["outages"]] == [report["longest_gap_s"]]
    assert report["outages"][0]["at"] == report["failure_times"][0]


def test_a_request_that_times_out_does_not_hold_back_the_next(responder) -> None:
    responder.stall_first = 1.0
    report = run_probe(url_of(responder), "--count", "6", "--interval", "0.05", "--timeout", "0.5", "--timeline")
    assert report["failures"] == 1 and report["answers"] == {"rs1": 5}
    assert list(report["failure_reasons"].values()) == [1]
    assert "timed out" in next(iter(report["failure_reasons"]))
    assert [answered for _sent, answered in report["timeline"]] == [False, True, True, True, True, True]
    # The second request went out on schedule, long before the first one gave up.
    assert report["timeline"][1][0] < 0.5
    assert report["longest_gap_s"] == pytest.approx(report["timeline"][1][0], abs=0.01)


def test_the_stop_file_ends_the_probe(responder, tmp_path) -> None:
    stop_file = tmp_path / "stop"
    stop_file.touch()
    report = run_probe(url_of(responder), "--count", "1000", "--stop-file", str(stop_file))
    assert (report["requests"], report["failures"], report["answers"]) == (0, 0, {})


def test_a_stop_file_that_appears_later_ends_the_probe(responder, tmp_path, touch_when) -> None:
    stop_file = tmp_path / "stop"
    touch_when(stop_file, lambda: responder.seen >= 3)
    report = run_probe(url_of(responder), "--count", "100000", "--interval", "0.01", "--stop-file", str(stop_file))
    assert 0 < report["requests"] < 100000 and report["failures"] == 0, report["failure_reasons"]
    assert report["answers"] == {"rs1": report["requests"]}


def test_every_run_of_failures_is_an_outage_from_its_first_failed_send_to_the_next_answer() -> None:
    sys.path.insert(0, str(PROBE.parent))
    try:
        import http_probe
    finally:
        sys.path.remove(str(PROBE.parent))
    timeline = [(0.0, True), (0.05, False), (0.1, False), (0.15, True), (0.2, False), (0.25, True), (0.3, False)]
    assert http_probe.outages(timeline) == [(0.05, 0.1), (0.2, 0.05), (0.3, 0.0)]
    assert http_probe.longest_gap(timeline) == 0.1
    assert http_probe.longest_gap([(0.0, True), (0.05, True)]) == 0.0


class CutShort(http.server.BaseHTTPRequestHandler):
    """Promises ten bytes, sends two and closes: what a client sees when the server dies mid-reply."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"rs")
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def test_a_reply_cut_short_is_a_failure_with_its_reason() -> None:
    server = ResponderServer(("127.0.0.1", 0), CutShort)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = run_probe(url_of(server), "--count", "3", "--interval", "0.01")
    finally:
        server.shutdown()
        server.server_close()
    assert (report["requests"], report["failures"], report["answers"]) == (3, 3, {})
    assert list(report["failure_reasons"]) == ["IncompleteRead: IncompleteRead(2 bytes read, 8 more expected)"]
