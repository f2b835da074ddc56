"""make bench: how long site.yml takes and how long clients wait when a director fails, in the lab.

Boots the DR topology of molecule/dr (two directors, two real servers, a client; one UML kernel
each), builds it with playbooks/site.yml, and measures, each over repeated trials:
  - site.yml cold (fresh hosts, one trial: the hosts cannot be made fresh again without a
    rebuild) and its idempotent re-run, with the tasks per host;
  - the client-observed outage when the master director fails, for the seed documents' VRRP
    (v2, advert_int 1) and for the role's fast profile (director_vrrp_fast_failover): keepalived
    stopped (graceful) and the whole kernel killed (hard, `lab kill`);
  - failed requests during a planned switchover (playbooks/switchover.yml and back);
  - how long the master's IPVS table takes to drop a real server whose web server stopped, and
    to take it back (HTTP_GET);
  - rendering and testing keepalived.conf for 100 VIPs x 100 real servers (on this machine).
A probe on the client opens a new TCP connection to the VIP every 20 ms (300 ms timeout) and
records each result; the outage is the longest run of failures, first failed send to the next
answered one. Writes docs/benchmarks.md and docs/benchmarks/*.png (matplotlib).

    benchmarks/cluster_bench.py [--trials N] [--reruns N] [--switchovers N] [--detections N] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LAB_NAME = "bench"
LAB = [sys.executable, str(REPO / "molecule" / "_lab" / "lab.py"), "--name", LAB_NAME]
VIP = "198.18.1.50"
BUILD = REPO / ".build" / "bench"
REPORT = REPO / "docs" / "benchmarks.md"
PLOTS = REPO / "docs" / "benchmarks"
PROBE_INTERVAL, PROBE_TIMEOUT = 0.02, 0.3
GROUP_VARS = {
    "lvs_virtual_services": [{
        "name": "web", "vip": VIP, "port": 80, "scheduler": "rr", "method": "dr",
        "real_servers_group": "lvs_realservers", "delay_loop": 1,
        "health_check": {"type": "HTTP_GET", "path": "/", "status_code": 200, "connect_timeout": 2,
                         "retry": 1, "delay_before_retry": 1}}],
    "director_interface": "eth1",
    "director_firewall": "none",
    "realserver_demo_backend": True,
}
PROFILES = {
    "seed": ("VRRP v2, advert_int 1 (the seed documents)",
             {"director_vrrp_version": 2, "director_vrrp_advert_int": 1, "director_vrrp_fast_failover": False}),
    "fast": ("fast profile: director_vrrp_fast_failover (VRRP v3, advert_int 0.1, garp without delay)",
             {"director_vrrp_fast_failover": True}),
}
PROBE = r"""
import json, socket, sys, time
count, interval, timeout = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
results, started = [], time.monotonic()
for number in range(count):
    time.sleep(max(0.0, started + number * interval - time.monotonic()))
    sent = time.monotonic() - started
    try:
        with socket.create_connection((sys.argv[4], 80), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            ok = sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    results.append([round(sent, 4), ok])
print(json.dumps(results))
"""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def lab(*args: str, check: bool = True) -> str:
    return subprocess.run([*LAB, *args], check=check, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL).stdout


def on(host: str, command: str, check: bool = True) -> str:
    return lab("ssh", host, command, check=check)


def ansible_env() -> dict:
    live = REPO / ".build" / "live"
    (live / "ansible_collections" / "lvs").mkdir(parents=True, exist_ok=True)
    link = live / "ansible_collections" / "lvs" / "cluster"
    if not link.exists():
        link.symlink_to(REPO)
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": f"{live}:{REPO}/.venv/lib/python3.11/site-packages",
            "ANSIBLE_PIPELINING": "1", "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0"}


RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)


def playbook(name: str, extra: dict) -> tuple[float, dict]:
    """Runs a collection playbook on the bench inventory; returns seconds and the recap per host."""
    started = time.monotonic()
    run = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(BUILD / "inventory"),
                          f"lvs.cluster.{name}", "-e", json.dumps(extra)],
                         capture_output=True, text=True, env=ansible_env(), check=False,
                         stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    recap = {host: {"ok": int(ok), "changed": int(changed), "skipped": int(skipped)}
             for host, ok, changed, _unreachable, _failed, skipped in RECAP.findall(run.stdout)}
    return seconds, recap


def vip_holders() -> list[str]:
    return [d for d in ("director1", "director2")
            if f" {VIP}/32 " in on(d, "ip -o -4 addr show dev eth1", check=False)]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout} s waiting until {what}")


def start_probe(seconds: float) -> subprocess.Popen:
    count = int(seconds / PROBE_INTERVAL)
    command = f"python3 -c {shlex.quote(PROBE)} {count} {PROBE_INTERVAL} {PROBE_TIMEOUT} {VIP}"
    # ssh makes the stdin it inherits non-blocking, which ansible-playbook refuses; give it none.
    return subprocess.Popen([*LAB, "ssh", "client", command], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def finish_probe(probe: subprocess.Popen) -> list[list]:
    return json.loads(probe.communicate(timeout=120)[0])


def outage(results: list[list]) -> tuple[float, int]:
    """Longest run of failures in seconds (first failed send to the next answered send), and failures."""
    longest, gap_start = 0.0, None
    for sent, ok in results:
        if not ok and gap_start is None:
            gap_start = sent
        elif ok and gap_start is not None:
            longest, gap_start = max(longest, sent - gap_start), None
    if gap_start is not None:
        longest = max(longest, results[-1][0] - gap_start)
    return round(longest, 3), sum(1 for _sent, ok in results if not ok)


def settle_on_director1() -> None:
    wait_until(lambda: vip_holders() == ["director1"], 120, "director1 alone holds the VIP")
    time.sleep(3)


def failover_trial(seconds: float, fail, recover) -> list[list]:
    """Probes for SECONDS while the master fails 2 s in; then recovers it and waits for preemption."""
    probe = start_probe(seconds)
    time.sleep(2)
    fail()
    results = finish_probe(probe)
    recover()
    settle_on_director1()
    return results


def graceful_trial() -> list[list]:
    return failover_trial(6, lambda: on("director1", "systemctl stop keepalived"),
                          lambda: on("director1", "systemctl start keepalived"))


def hard_trial() -> list[list]:
    return failover_trial(8, lambda: lab("kill", "director1"), lambda: lab("start", "director1"))


def switchover_trial() -> list[list]:
    probe = start_probe(40)
    time.sleep(1)
    playbook("switchover", {"lvs_switchover_director": "director1"})
    playbook("switchover", {"lvs_switchover_director": "director1", "lvs_switchover_back": True})
    results = finish_probe(probe)
    settle_on_director1()
    return results


REAL_SERVER = "198.18.1.22:80"
# Polls the director's table every 50 ms until rs2 is out of it (absent or weight 0) or back in,
# then prints the director's clock; UML kernels read the machine's clock, so the hosts agree.
TABLE_HAS_RS = f"ipvsadm -Ln | awk '$2 == \"{REAL_SERVER}\" && $4 > 0 {{found = 1}} END {{exit !found}}'"
WAIT_RS_OUT = f"while {TABLE_HAS_RS}; do sleep 0.05; done; date +%s.%N"
WAIT_RS_IN = f"until {TABLE_HAS_RS}; do sleep 0.05; done; date +%s.%N"


def watch_until(command: str, action_host: str, action: str) -> float:
    """Seconds from ACTION on ACTION_HOST to the director's table showing its effect."""
    watcher = subprocess.Popen([*LAB, "ssh", "director1", command], stdout=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    time.sleep(1.5)
    acted = float(on(action_host, f"date +%s.%N; {action}").split()[0])
    seen = float(watcher.communicate(timeout=90)[0].split()[-1])
    return round(seen - acted, 2)


def detection_trial() -> tuple[float, float]:
    """nginx stopped on rs2 until the master's table drops it; started until it is back."""
    wait_until(lambda: subprocess.run([*LAB, "ssh", "director1", TABLE_HAS_RS], check=False).returncode == 0,
               60, f"{REAL_SERVER} is in director1's IPVS table")
    out = watch_until(WAIT_RS_OUT, "rs2", "systemctl stop nginx")
    back = watch_until(WAIT_RS_IN, "rs2", "systemctl start nginx")
    return out, back


def render_100_by_100() -> float:
    """Seconds to render and test keepalived.conf for 100 VIPs x 100 real servers (this machine)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        hosts = {f"rs{n}": {"realserver_address": f"198.19.{n // 250}.{n % 250 + 1}"} for n in range(100)}
        iface = sorted(p.name for p in Path("/sys/class/net").iterdir() if p.name != "lo")[0]
        inventory = {"all": {"vars": {"ansible_python_interpreter": sys.executable}, "children": {
            "lvs_directors": {"hosts": {"director1": {}, "director2": {}}},
            "lvs_realservers": {"children": {"web": {"hosts": hosts}}}}}}
        (root / "hosts.yml").write_text(json.dumps(inventory))
        (root / "group_vars").mkdir()
        services = [{"name": f"web{n}", "vip": f"198.18.{100 + n // 100}.{n % 100 + 1}", "port": 80,
                     "scheduler": "wrr", "real_servers_group": "web", "health_check": {"type": "TCP_CHECK"}}
                    for n in range(100)]
        (root / "group_vars" / "all.yml").write_text(json.dumps(
            {"lvs_virtual_services": services, "director_interface": iface}))
        started = time.monotonic()
        run = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(root / "hosts.yml"),
                              str(REPO / "tests" / "unit" / "roles" / "render_keepalived_conf.yml"),
                              "--limit", "director1", "-e", json.dumps({"render_dir": tmp})],
                             capture_output=True, text=True, env=ansible_env(), check=False)
        seconds = time.monotonic() - started
        if run.returncode != 0:
            raise RuntimeError(run.stdout[-3000:])
        return round(seconds, 2)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def plot(name: str, title: str, trials: list[list[list]]) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(8, 0.35 * len(trials) + 1.4))
    for row, results in enumerate(trials):
        failed = [sent for sent, ok in results if not ok]
        answered = [sent for sent, ok in results if ok]
        axis.scatter(answered, [row] * len(answered), s=2, color="tab:green")
        axis.scatter(failed, [row] * len(failed), s=6, color="tab:red")
    axis.set_yticks(range(len(trials)), [f"trial {n + 1}" for n in range(len(trials))], fontsize=7)
    axis.set_xlabel("seconds since the probe started (failure injected at about 2 s); green answered, red failed")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return f"benchmarks/{name}.png"


def boot() -> None:
    BUILD.mkdir(parents=True, exist_ok=True)
    platforms = yaml.safe_load((REPO / "molecule" / "dr" / "molecule.yml").read_text())["platforms"]
    (BUILD / "topology.json").write_text(json.dumps(platforms))
    lab("up", "--topology", str(BUILD / "topology.json"))
    inventory = BUILD / "inventory"
    inventory.mkdir(exist_ok=True)
    (inventory / "hosts.yml").write_text(lab("inventory"))
    (inventory / "group_vars").mkdir(exist_ok=True)
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(GROUP_VARS))
    # The real servers' service addresses on the public segment, as in the DR example (the lab's
    # inventory only knows the management addresses).
    host_vars = inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    for source in (REPO / "docs" / "examples" / "dr" / "host_vars").glob("*.yml"):
        (host_vars / source.name).write_text(source.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--trials", type=int, default=10, help="failover trials per profile and kind (default 10)")
    parser.add_argument("--reruns", type=int, default=3, help="idempotent site.yml re-runs (default 3)")
    parser.add_argument("--switchovers", type=int, default=3,
                        help="switchover trials per profile, each switchover.yml there and back (default 3)")
    parser.add_argument("--detections", type=int, default=5,
                        help="real-server failure detection trials, nginx stopped and started (default 5)")
    parser.add_argument("--skip-ipvs", action="store_true",
                        help="leave out the IPVS module benchmark (benchmarks/ipvs_table_bench.py, about 8 min)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = parser.parse_args()
    started = time.monotonic()
    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "trials": args.trials,
              "machine": f"{os.cpu_count()} cores", "profiles": {}}
    try:
        log("booting the lab (5 UML hosts)")
        boot()
        log("site.yml cold")
        cold, cold_recap = playbook("site", PROFILES["seed"][1])
        rerun_times, rerun_recap = [], {}
        for _trial in range(args.reruns):
            seconds, rerun_recap = playbook("site", PROFILES["seed"][1])
            rerun_times.append(seconds)
        changed = {host: counts["changed"] for host, counts in rerun_recap.items() if counts["changed"]}
        report["converge"] = {"cold": round(cold, 1), "cold_recap": cold_recap, "rerun": rerun_times,
                              "rerun_recap": rerun_recap, "rerun_changed": changed}
        log(f"cold {cold:.1f} s, re-runs {[round(s, 1) for s in rerun_times]}")
        settle_on_director1()
        detections = [detection_trial() for _trial in range(args.detections)]
        report["detection"] = {"out": [out for out, _back in detections], "back": [back for _out, back in detections]}
        log(f"real-server detection (out, back): {detections}")
        for profile, (label, settings) in PROFILES.items():
            playbook("site", settings)
            settle_on_director1()
            kinds = {}
            for kind, trial in (("graceful", graceful_trial), ("hard", hard_trial)):
                runs = []
                for number in range(args.trials):
                    runs.append(trial())
                    log(f"{profile} {kind} trial {number + 1}: outage, failures = {outage(runs[-1])}")
                kinds[kind] = {"outages": [outage(r)[0] for r in runs], "failures": [outage(r)[1] for r in runs],
                               "plot": plot(f"{profile}-{kind}", f"{label}: {kind}", runs)}
            switchovers = [switchover_trial() for _trial in range(args.switchovers)]
            kinds["switchover"] = {"outages": [outage(r)[0] for r in switchovers],
                                   "failures": [outage(r)[1] for r in switchovers],
                                   "requests": [len(r) for r in switchovers]}
            log(f"{profile} switchover failures: {kinds['switchover']['failures']}")
            report["profiles"][profile] = {"label": label, **kinds}
        report["render_100x100_s"] = render_100_by_100()
    finally:
        if not args.keep:
            lab("down", check=False)
    if not args.skip_ipvs:
        log("IPVS module benchmark (its own one-host lab)")
        report["ipvs_table"] = subprocess.run([sys.executable, str(REPO / "benchmarks" / "ipvs_table_bench.py")],
                                              check=True, capture_output=True, text=True).stdout.strip()
    report["total_s"] = round(time.monotonic() - started)
    (BUILD / "report.json").write_text(json.dumps(report, indent=1))
    write_report(report)
    log(f"wrote {REPORT.relative_to(REPO)} in {report['total_s']} s")


def write_report(report: dict) -> None:
    converge = report["converge"]
    lines = [
        "# Benchmarks", "",
        f"Measured by `make bench` on {report['date']} on this project's CI machine ({report['machine']}), in the lab:",
        "one User-Mode Linux kernel per host (two directors, two DR real servers, one client on one L2",
        "segment), Debian bookworm, keepalived 2.2.7. Figures are medians with the minimum and maximum.",
        "Regenerate with `make bench`; every number below comes from that one run.", "",
        "## site.yml", "",
        "| run | seconds | tasks per host (ok / changed / skipped) |", "| --- | --- | --- |",
        f"| cold (fresh hosts, 1 trial) | {converge['cold']} | "
        + ", ".join(f"{h} {c['ok']}/{c['changed']}/{c['skipped']}" for h, c in sorted(converge["cold_recap"].items()))
        + " |",
        f"| idempotent re-run ({len(converge['rerun'])} trials) | {spread(converge['rerun'])} | "
        + ", ".join(f"{h} {c['ok']}/{c['changed']}/{c['skipped']}" for h, c in sorted(converge["rerun_recap"].items()))
        + " |", "",
        "Targets (issue 7): cold ≤ 45 s, re-run ≤ 20 s for the four cluster hosts. A UML host runs every",
        "module several times slower than a real one; the figures above include the client host.", "",
        "## Director failover: client-observed outage", "",
        f"A new TCP connection to the VIP every {int(PROBE_INTERVAL * 1000)} ms ({int(PROBE_TIMEOUT * 1000)} ms"
        " timeout); outage = longest run of failures. Graceful: `systemctl stop keepalived` on the master;",
        "hard: `lab kill` (the master's kernel killed outright). Switchover: `switchover.yml` and back.", "",
        "| profile | failure | trials | outage s | failed requests |", "| --- | --- | --- | --- | --- |",
    ]
    for profile in report["profiles"].values():
        for kind in ("graceful", "hard", "switchover"):
            data = profile[kind]
            lines.append(f"| {profile['label']} | {kind} | {len(data['outages'])} | {spread(data['outages'])} | "
                         f"{spread([float(f) for f in data['failures']])} |")
    lines += ["", "Targets (issue 7): fast profile hard-kill outage ≤ 0.5 s median; switchover 0 failed requests.",
              "keepalived's own bound for the seed setting is 3 × advert_int + skew ≈ 3.6 s.", ""]
    for profile in report["profiles"].values():
        for kind in ("graceful", "hard"):
            lines += [f"![{profile['label']}, {kind}]({profile[kind]['plot']})", ""]
    check = GROUP_VARS["lvs_virtual_services"][0]["health_check"]
    detection = report["detection"]
    lines += ["## Real-server failure detection", "",
              f"nginx stopped on one real server, then started again; seconds until the master's IPVS table drops it"
              f" and takes it back ({len(detection['out'])} trials; the table polled every 50 ms). Check: "
              f"{check['type']} with delay_loop {GROUP_VARS['lvs_virtual_services'][0]['delay_loop']}, "
              f"connect_timeout {check['connect_timeout']}, retry {check['retry']}, "
              f"delay_before_retry {check['delay_before_retry']}.", "",
              "| event | seconds |", "| --- | --- |",
              f"| out of the table after nginx stops | {spread(detection['out'])} |",
              f"| back in the table after nginx starts | {spread(detection['back'])} |", ""]
    lines += ["## keepalived.conf at scale", "",
              f"Rendering and testing (`keepalived -t`) the file for 100 VIPs × 100 real servers: "
              f"{report['render_100x100_s']} s, one run of the role's template and config test on the machine itself"
              " (not in the lab). Target ≤ 10 s.", "",
              "## IPVS modules at scale", "",
              "`benchmarks/ipvs_table_bench.py` (also `make bench-ipvs`): `ipvs_table` applying 100 services ×",
              "100 real servers on one lab director, against one `ipvsadm` process per change:", "",
              "```", report.get("ipvs_table", "(left out of this run with --skip-ipvs)"), "```", "",
              "## Not measured yet", "",
              "- real-server failure detection with TCP_CHECK, and with the checkers' default timings;",
              "- requests failed during each change of the `changes` scenario (not written yet);",
              "- zero spurious VRRP transitions over 10 minutes idle;",
              "- the side-by-side run of another keepalived role (the option that takes its path is not written yet);",
              ""]
    REPORT.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
