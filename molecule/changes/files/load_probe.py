"""Client load for molecule/changes: one HTTP request on a new TCP connection every INTERVAL_S
until STOP_FILE exists (or COUNT requests were sent), counting what answered and when a
request failed.

    load_probe.py URL INTERVAL_S TIMEOUT_S STOP_FILE COUNT
Prints JSON: requests, failures, failure_times (epoch seconds), answers per body, started, ended.
"""
import json
import os
import sys
import time
import urllib.request


def main() -> None:
    url, interval, timeout, stop_file, count = (sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4],
                                                int(sys.argv[5]))
    answers: dict = {}
    failure_times = []
    started = time.time()
    sent = 0
    while sent < count and not os.path.exists(stop_file):
        due = started + sent * interval
        time.sleep(max(0.0, due - time.time()))
        sent += 1
        at = time.time()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body = response.read().decode().strip()
            answers[body] = answers.get(body, 0) + 1
        except OSError:
            failure_times.append(round(at, 2))
    print(json.dumps({"requests": sent, "failures": len(failure_times), "failure_times": failure_times,
                      "answers": answers, "started": round(started, 2), "ended": round(time.time(), 2)}))


if __name__ == "__main__":
    main()
