"""Polls the IPVS table and notes when each named service first reaches the state wanted for one
real server, and whether services that should keep it did.

    table_watch.py REAL_SERVER TIMEOUT_S [--interval S] [--ready-file PATH] --present KEY... --absent KEY...
                   --steady KEY...

KEY names a service as PROTOCOL:VIP:PORT (tcp:198.18.8.50:80, udp:[2001:db8::50]:53) or fwm:MARK.
The real server (an address) is in a service when it is one of its destinations with a weight
above 0. Prints JSON: "reached" maps each present or absent KEY to the epoch time a poll first
saw it there (null if none did within TIMEOUT_S); "left" maps each steady KEY that lost the real
server at any poll to the first such time. Times are taken when a poll's listing has been read,
so a change is never stamped before it happened; READY_FILE is created once the first poll has
been read, so a caller can start the change only then. The molecule scenarios and `make bench`
both use it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

SERVICE = re.compile(r"^(TCP|UDP|SCTP)\s+(\S+)\s|^(FWM)\s+(\d+)\s")
DESTINATION = re.compile(r"^\s+->\s+(\S+):(\d+)\s+\S+\s+(\d+)\s")
HEADERS = ("IP Virtual Server version", "Prot LocalAddress:Port", "  -> RemoteAddress:Port")


def serving(listing: str, real_server: str) -> set[str]:
    """The keys of the services in an `ipvsadm -L -n` LISTING where REAL_SERVER has a weight above 0."""
    found, current = set(), None
    for line in listing.splitlines():
        if line.startswith(HEADERS):
            continue
        if match := SERVICE.match(line):
            protocol, endpoint = (match[1], match[2]) if match[1] else (match[3], match[4])
            current = f"{protocol.lower()}:{endpoint}"
        elif match := DESTINATION.match(line):
            if current and match[1].strip("[]") == real_server and int(match[3]) > 0:
                found.add(current)
        else:
            raise ValueError(f"unexpected line in ipvsadm -L -n: {line!r}")
    return found


def read_table() -> str:
    return subprocess.run(["ipvsadm", "-L", "-n"], capture_output=True, text=True, check=True,
                          env={**os.environ, "LC_ALL": "C"}).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description="Notes when services gain or lose a real server.")
    parser.add_argument("real_server")
    parser.add_argument("timeout", type=float)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between polls (0.1)")
    parser.add_argument("--ready-file", help="created once the first poll has been read")
    parser.add_argument("--present", nargs="*", default=[])
    parser.add_argument("--absent", nargs="*", default=[])
    parser.add_argument("--steady", nargs="*", default=[])
    args = parser.parse_args()
    reached: dict[str, float | None] = {key: None for key in args.present + args.absent}
    left: dict[str, float] = {}
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        current = serving(read_table(), args.real_server)
        seen_at = round(time.time(), 2)
        if args.ready_file and not os.path.exists(args.ready_file):
            with open(args.ready_file, "w", encoding="utf-8"):
                pass
        for key in args.present:
            if reached[key] is None and key in current:
                reached[key] = seen_at
        for key in args.absent:
            if reached[key] is None and key not in current:
                reached[key] = seen_at
        for key in args.steady:
            if key not in current and key not in left:
                left[key] = seen_at
        if all(value is not None for value in reached.values()):
            break
        time.sleep(args.interval)
    print(json.dumps({"reached": reached, "left": left, "ended": round(time.time(), 2)}))


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
