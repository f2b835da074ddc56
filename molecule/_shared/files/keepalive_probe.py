"""Keeps one TCP connection to a web server open and sends an HTTP/1.1 request on it at a fixed
interval, to see whether an established connection survives a director failover.

    keepalive_probe.py HOST PORT --stop-file PATH [--interval S] [--timeout S] [--count N] [--local-port P]

With --local-port the connection leaves from that port, one outside the ephemeral range, so no
connection entry a director keeps from earlier traffic can share its addresses and ports.

It never reconnects: the first request that fails (reset, closed, timed out) ends the run.
Prints JSON: requests, failures (0 or 1), answers (count per response body), failed_at (epoch
seconds of the failed request, or null), error, local_port, started, ended.
"""
import argparse
import json
import os
import socket
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Sends requests on one kept-alive connection until told to stop.")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--stop-file", required=True, help="stop once this file exists")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between requests (0.5)")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a request may take (2)")
    parser.add_argument("--count", type=int, default=1200, help="requests to send at most (1200)")
    parser.add_argument("--local-port", type=int, default=0, help="the connection's own port (any free one)")
    args = parser.parse_args()
    request = f"GET / HTTP/1.1\r\nHost: {args.host}\r\nConnection: keep-alive\r\n\r\n".encode()
    answers: dict[str, int] = {}
    failed_at, error, sent = None, None, 0
    started = time.time()
    with socket.create_connection((args.host, args.port), timeout=args.timeout, source_address=("", args.local_port)) as sock:
        local_port = sock.getsockname()[1]
        while sent < args.count and not os.path.exists(args.stop_file):
            time.sleep(max(0.0, started + sent * args.interval - time.time()))
            sent += 1
            at = time.time()
            try:
                sock.sendall(request)
                body = read_response(sock)
            except OSError as failure:
                failed_at, error = round(at, 2), f"{type(failure).__name__}: {failure}"
                break
            answers[body] = answers.get(body, 0) + 1
    print(json.dumps({"requests": sent, "failures": 0 if failed_at is None else 1, "answers": answers,
                      "failed_at": failed_at, "error": error, "local_port": local_port,
                      "started": round(started, 2), "ended": round(time.time(), 2)}))


if __name__ == "__main__":
    main()
