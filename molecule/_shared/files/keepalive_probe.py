"""Keeps TCP connections to a web server open and sends an HTTP/1.1 request on each at its own
fixed interval, to see whether established connections survive a director failover.

    keepalive_probe.py HOST PORT --stop-file PATH [--interval S ...] [--timeout S] [--count N] [--local-port P]

One connection per --interval (0.5 s when none is given), so quiet and busy connections can be
watched side by side. With --local-port the connections leave from that port and the ones after it,
outside the ephemeral range, so no connection entry a director keeps from earlier traffic can share
their addresses and ports.

A connection never reconnects: the first request on it that fails (reset, closed, timed out) ends it.
Prints JSON: requests (all connections), failures (connections that broke), answers (count per response
body), failed_at and error (of the first connection to break, or null), local_port (the first
connection's), started, ended, and connections: the same per connection, with its interval and
answered_at (epoch seconds of its last answer, or null).
"""
import argparse
import json
import os
import socket
import sys
import threading
import time


def read_response(sock: socket.socket) -> str:
    """The body of one HTTP response with a Content-Length, read from SOCK."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if status.split(b" ")[1:2] != [b"200"]:
        raise ConnectionError(f"answered {status.decode(errors='replace')!r}")
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    if not lengths:
        raise ConnectionError("answer without Content-Length")
    length = int(lengths[0])
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed by the server mid-body")
        body += chunk
    return body[:length].decode().strip()


def keep_alive(host: str, port: int, interval: float, timeout: float, count: int, local_port: int,
               stop_file: str) -> dict:
    """Requests on one connection every INTERVAL seconds until STOP_FILE exists, COUNT are sent or one fails."""
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    answers: dict[str, int] = {}
    failed_at, error, sent, answered_at = None, None, 0, None
    started = time.time()
    try:
        sock = socket.create_connection((host, port), timeout=timeout, source_address=("", local_port))
    except OSError as failure:
        return {"interval": interval, "local_port": local_port, "requests": 1, "failures": 1, "answers": {},
                "failed_at": round(started, 2), "error": f"{type(failure).__name__}: {failure}", "answered_at": None}
    with sock:
        local_port = sock.getsockname()[1]
        while sent < count and not os.path.exists(stop_file):
            # Sleep in short steps, so a quiet connection still stops soon after the stop file appears.
            due = started + sent * interval
            while time.time() < due and not os.path.exists(stop_file):
                time.sleep(min(0.1, max(0.0, due - time.time())))
            if os.path.exists(stop_file):
                break
            sent += 1
            at = time.time()
            try:
                sock.sendall(request)
                body = read_response(sock)
            except OSError as failure:
                failed_at, error = round(at, 2), f"{type(failure).__name__}: {failure}"
                break
            answers[body] = answers.get(body, 0) + 1
            answered_at = round(time.time(), 2)
    return {"interval": interval, "local_port": local_port, "requests": sent, "failures": 0 if failed_at is None else 1,
            "answers": answers, "failed_at": failed_at, "error": error, "answered_at": answered_at}


def main() -> None:
    parser = argparse.ArgumentParser(description="Sends requests on kept-alive connections until told to stop.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--stop-file", required=True, help="stop once this file exists")
    parser.add_argument("--interval", type=float, action="append",
                        help="seconds between requests on one connection; once per connection (0.5)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a request may take (2)")
    parser.add_argument("--count", type=int, default=1200, help="requests to send at most per connection (1200)")
    parser.add_argument("--local-port", type=int, default=0, help="the first connection's own port (any free one)")
    args = parser.parse_args()
    intervals = args.interval or [0.5]
    started = time.time()
    results: list[dict] = [{}] * len(intervals)

    def run(number: int, interval: float) -> None:
        local_port = args.local_port + number if args.local_port else 0
        results[number] = keep_alive(args.host, args.port, interval, args.timeout, args.count, local_port, args.stop_file)

    threads = [threading.Thread(target=run, args=(number, interval)) for number, interval in enumerate(intervals)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers: dict[str, int] = {}
    for result in results:
        for body, count in result["answers"].items():
            answers[body] = answers.get(body, 0) + count
    broken = sorted((result for result in results if result["failures"]), key=lambda result: result["failed_at"])
    print(json.dumps({"requests": sum(result["requests"] for result in results), "failures": len(broken),
                      "answers": answers, "failed_at": broken[0]["failed_at"] if broken else None,
                      "error": broken[0]["error"] if broken else None, "local_port": results[0]["local_port"],
                      "started": round(started, 2), "ended": round(time.time(), 2), "connections": results}))


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
