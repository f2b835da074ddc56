"""Requests a URL with a new TCP connection each time, at a fixed rate, and reports what answered.

    http_probe.py URL COUNT INTERVAL_S TIMEOUT_S
Prints JSON: answers per body, failures, and the longest run of failures in seconds.
"""
import json
import sys
import time
import urllib.request


def main() -> None:
    url, count, interval, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    answers: dict = {}
    failures, gap_start, longest_gap = 0, None, 0.0
    started = time.monotonic()
    for number in range(count):
        due = started + number * interval
        time.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = response.read().decode().strip()
            answers[body] = answers.get(body, 0) + 1
            if gap_start is not None:
                longest_gap = max(longest_gap, sent - gap_start)
                gap_start = None
        except OSError:
            failures += 1
            if gap_start is None:
                gap_start = sent
    if gap_start is not None:
        longest_gap = max(longest_gap, time.monotonic() - gap_start)
    print(json.dumps({"answers": answers, "failures": failures, "requests": count,
                      "longest_gap_s": round(longest_gap, 2)}))


if __name__ == "__main__":
    main()
