"""Polls the IPVS table every 100 ms and notes when each named service first reaches the state
wanted for one real server, and whether services that should stay as they are did.

    table_watch.py REAL_SERVER TIMEOUT_S --present KEY... --absent KEY... --steady KEY...
KEY is protocol:port of a service (tcp:80, udp:53). Prints JSON: "reached" maps each present or
absent KEY to the epoch time it got there (null if it did not within TIMEOUT_S); "left" maps
each steady KEY that lost the real server at any poll to the first such time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import time

SERVICE = re.compile(r"^(TCP|UDP|SCTP)\s+\S+:(\d+)\s")
DESTINATION = re.compile(r"^\s+->\s+(\S+):(\d+)\s")
HEADERS = ("IP Virtual Server version", "Prot LocalAddress:Port", "  -> RemoteAddress:Port")


def serving(real_server: str) -> set[str]:
    """The services whose destinations include REAL_SERVER."""
    listing = subprocess.run(["ipvsadm", "-L", "-n"], capture_output=True, text=True, check=True,
                             env={**os.environ, "LC_ALL": "C"}).stdout
    found, current = set(), None
    for line in listing.splitlines():
        if line.startswith(HEADERS):
            continue
        if match := SERVICE.match(line):
            current = f"{match[1].lower()}:{match[2]}"
        elif match := DESTINATION.match(line):
            if match[1] == real_server and current:
                found.add(current)
        else:
            raise ValueError(f"unexpected line in ipvsadm -L -n: {line!r}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("real_server")
    parser.add_argument("timeout", type=float)
    parser.add_argument("--present", nargs="*", default=[])
    parser.add_argument("--absent", nargs="*", default=[])
    parser.add_argument("--steady", nargs="*", default=[])
    args = parser.parse_args()
    reached: dict[str, float | None] = {key: None for key in args.present + args.absent}
    left: dict[str, float] = {}
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        now = time.time()
        current = serving(args.real_server)
        for key in args.present:
            if reached[key] is None and key in current:
                reached[key] = round(now, 2)
        for key in args.absent:
            if reached[key] is None and key not in current:
                reached[key] = round(now, 2)
        for key in args.steady:
            if key not in current and key not in left:
                left[key] = round(now, 2)
        if all(value is not None for value in reached.values()):
            break
        time.sleep(0.1)
    print(json.dumps({"reached": reached, "left": left, "ended": round(time.time(), 2)}))


if __name__ == "__main__":
    main()
