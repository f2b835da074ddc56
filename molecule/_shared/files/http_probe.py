"""Requests a URL on a fixed schedule, each request on a new TCP connection, and reports what answered.

    http_probe.py URL --count N [--interval S] [--timeout S] [--stop-file PATH] [--timeline]

Request n is sent at start + n x interval in a thread of its own, so a request that waits out its
timeout does not hold back the next one: failures and the longest gap are seen to within one
interval. It stops after COUNT requests, or earlier once STOP_FILE exists.

Prints JSON: requests, failures, answers (count per response body), failure_reasons (count per
error type and message: refused, reset, timed out, an HTTP status), longest_gap_s (from the
first failed send to the next answered send), outages (every such run as {at: epoch seconds of
its first failed send, s: its length}), failure_times (epoch seconds of each failed send),
started and ended (epoch seconds), and with --timeline each request as [seconds after start,
answered]. The molecule scenarios and `make bench` both use it.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.request


def fetch(url: str, timeout: float) -> tuple[str | None, str | None]:
    """(response body, None) when answered; (None, why) when the request failed (refused, reset,
    timed out, not 2xx, a reply cut short), why being the error's type and message."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode().strip(), None
    # A server dying mid-reply raises http.client's own errors (IncompleteRead, BadStatusLine),
    # which are not OSErrors; uncaught, they would end the request's thread with no result.
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None)
        return None, f"{type(error).__name__}: {reason if reason is not None else error}"


def outages(timeline: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """Every run of failures as (its first failed send, seconds from there to the next answered send);
    a run still failing at the end lasts until the last send."""
    runs, gap_start = [], None
    for sent, answered in timeline:
        if not answered and gap_start is None:
            gap_start = sent
        elif answered and gap_start is not None:
            runs.append((gap_start, round(sent - gap_start, 3)))
            gap_start = None
    if gap_start is not None:
        runs.append((gap_start, round(timeline[-1][0] - gap_start, 3)))
    return runs


def longest_gap(timeline: list[tuple[float, bool]]) -> float:
    """Seconds from the first failed send to the next answered send, the longest such run."""
    return max((length for _start, length in outages(timeline)), default=0.0)


def probe(url: str, count: int, interval: float, timeout: float, stop_file: str | None) -> dict:
    results: list = []

    def request(number: int, sent: float) -> None:
        results[number] = (sent, *fetch(url, timeout))

    started_epoch, started = time.time(), time.monotonic()
    threads = []
    for number in range(count):
        time.sleep(max(0.0, started + number * interval - time.monotonic()))
        if stop_file and os.path.exists(stop_file):
            break
        results.append(None)
        if number % 200 == 0:  # a long probe would otherwise hold every finished thread until the end
            threads = [thread for thread in threads if thread.is_alive()]
        threads.append(threading.Thread(target=request, args=(number, time.monotonic() - started)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    answers: dict[str, int] = {}
    failure_reasons: dict[str, int] = {}
    for _sent, body, reason in results:
        if body is not None:
            answers[body] = answers.get(body, 0) + 1
        else:
            failure_reasons[reason] = failure_reasons.get(reason, 0) + 1
    timeline = [(round(sent, 4), body is not None) for sent, body, _reason in results]
    failure_times = [round(started_epoch + sent, 2) for sent, answered in timeline if not answered]
    return {
        "requests": len(results), "failures": len(failure_times), "answers": answers,
        "failure_reasons": failure_reasons,
        "longest_gap_s": longest_gap(timeline), "failure_times": failure_times,
        "outages": [{"at": round(started_epoch + start, 2), "s": length} for start, length in outages(timeline)],
        "started": round(started_epoch, 2), "ended": round(time.time(), 2), "timeline": timeline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Requests a URL on a fixed schedule and reports what answered.")
    parser.add_argument("url")
    parser.add_argument("--count", type=int, required=True, help="requests to send at most")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between sends (0.05)")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds a request may take (1)")
    parser.add_argument("--stop-file", help="stop sending once this file exists")
    parser.add_argument("--timeline", action="store_true", help="include every request's send time and outcome")
    args = parser.parse_args()
    report = probe(args.url, args.count, args.interval, args.timeout, args.stop_file)
    if not args.timeline:
        del report["timeline"]
    print(json.dumps(report))


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
