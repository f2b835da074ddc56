"""make bench: how long site.yml takes and how long clients wait when a director fails, in the lab.

Boots the DR topology of molecule/dr (two directors, two real servers, a client; one UML kernel
each), builds it with playbooks/site.yml, and measures, each over repeated trials:
  - site.yml cold (fresh hosts, one trial: the hosts cannot be made fresh again without a
    rebuild) and its idempotent re-run, with the tasks per host;
  - the client-observed outage when the master director fails, for the seed documents' VRRP
    (v2, advert_int 1) and for the role's fast profile (director_vrrp_fast_failover): keepalived
    stopped (graceful) and the whole kernel killed (hard, `lab kill`);
  - failed requests during a planned switchover (playbooks/switchover.yml and back), and why
    they failed; also with the fast profile, the mh scheduler, sloppy_tcp and forwarding on the
    VRRP interface;
  - how long the master's IPVS table takes to drop a real server whose web server stopped, and
    to take it back, for TCP_CHECK and HTTP_GET with the role's default timings and tuned ones;
  - VRRP transitions of the fast profile during a site.yml run and over an idle window (while
    the rest runs: keepalived.conf for 100 VIPs x 100 real servers rendered and tested on this
    machine, and the IPVS module benchmark in its own lab);
  - kept-alive connections of ten request rates (one every 0.2 s to one every 8 s, longer than the
    preempt delay) through a failover and the fail-back with the sync daemon, graceful and hard, with
    lvs-sync-table (director_lvs_sync_table, the default) and without it: broken connections per trial;
  - failed requests through each inventory change of molecule's changes scenario, run whole;
  - with --compare-role PATH, site.yml's director part (directors.yml) beside another keepalived
    role from a local checkout, cold and re-run, each on freshly booted directors.
A probe on the client opens a new TCP connection to the VIP every 20 ms (300 ms timeout, each
request on schedule whether or not the one before has finished) and records each result; the
outage is the longest run of failures, first failed send to the next answered one. Writes docs/benchmarks.md and docs/benchmarks/*.png (matplotlib).

    benchmarks/cluster_bench.py [--trials N] [--reruns N] [--switchovers N] [--detections N] [--sync-trials N]
                                [--idle-minutes M] [--skip-ipvs] [--skip-changes] [--compare-role PATH] [--keep]
    benchmarks/cluster_bench.py --only-sync [--sync-trials N]   (that section of docs/benchmarks.md alone)
    benchmarks/cluster_bench.py --only-converge [--reruns N]   (site.yml's rows alone, printed, to compare commits)
"""
from __future__ import annotations

import argparse
import importlib.util
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
TUNED_CHECK = {"connect_timeout": 2, "retry": 1, "delay_before_retry": 1}
# One virtual service per checker and timing, all on the same real servers: one stopped web server
# is seen by every checker at once. The first one is also the VIP the failover probes use.
DETECTION_SERVICES = [
    (VIP, "HTTP_GET, tuned", {"type": "HTTP_GET", "path": "/", "status_code": 200, **TUNED_CHECK}, 1),
    ("198.18.1.51", "HTTP_GET, role defaults", {"type": "HTTP_GET", "path": "/", "status_code": 200}, None),
    ("198.18.1.52", "TCP_CHECK, tuned", {"type": "TCP_CHECK", **TUNED_CHECK}, 1),
    ("198.18.1.53", "TCP_CHECK, role defaults", {"type": "TCP_CHECK"}, None),
]
GROUP_VARS = {
    "lvs_virtual_services": [
        {"name": f"web{number}", "vip": vip, "port": 80, "scheduler": "rr", "method": "dr",
         "real_servers_group": "lvs_realservers", "health_check": check,
         **({"delay_loop": delay_loop} if delay_loop else {})}
        for number, (vip, _label, check, delay_loop) in enumerate(DETECTION_SERVICES)],
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
# A switchover fails requests in two ways. A connection in flight when the VIP moves is reset: the new
# holder has no entry for it and answers its next packet itself. With a scheduler that picks the same
# real server for the same connection on every director (mh, by source address and port) and
# sloppy_tcp (an entry may start mid-connection), the new holder sends that packet on to the real
# server that has the connection instead. And a packet the client sends in the few milliseconds
# between the new holder's first advert (on which the old holder drops the VIP) and its gratuitous
# ARP still goes to the old holder, which drops it; with forwarding on its VRRP interface, the old
# holder routes it to the new one. Switchovers only, after the fast profile's trials.
VRRP_INTERFACE = GROUP_VARS["director_interface"]
ROLE_SYSCTLS = yaml.safe_load((REPO / "roles" / "director" / "defaults" / "main.yml").read_text())["director_sysctls"]
HASHED = (f"fast profile, scheduler mh (mh-port), sloppy_tcp and forwarding on {VRRP_INTERFACE}",
          {**PROFILES["fast"][1],
           "lvs_virtual_services": [{**service, "scheduler": "mh", "scheduler_flags": ["mh-port"]}
                                    for service in GROUP_VARS["lvs_virtual_services"]],
           "director_sysctls": {**ROLE_SYSCTLS, "net.ipv4.vs.sloppy_tcp": 1,
                                f"net/ipv4/conf/{VRRP_INTERFACE}/forwarding": 1}})
# The scenarios' client probe: each request in its own thread, started on schedule, so a request
# that waits out its timeout does not hold back the next one and the outage is seen to within
# one interval.
SHARED_FILES = REPO / "molecule" / "_shared" / "files"
PROBE_PATH = SHARED_FILES / "http_probe.py"
PROBE = PROBE_PATH.read_text()
_probe_spec = importlib.util.spec_from_file_location("http_probe", PROBE_PATH)
http_probe = importlib.util.module_from_spec(_probe_spec)
_probe_spec.loader.exec_module(http_probe)


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


def playbook(name: str, extra: dict, roles_path: Path | None = None) -> tuple[float, dict]:
    """Runs a collection playbook (or a playbook file, by path) on the bench inventory; returns seconds and
    the recap per host."""
    env = ansible_env() | ({"ANSIBLE_ROLES_PATH": str(roles_path)} if roles_path else {})
    started = time.monotonic()
    run = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(BUILD / "inventory"),
                          name if name.endswith(".yml") else f"lvs.cluster.{name}", "-e", json.dumps(extra)],
                         capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL)
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
    command = (f"python3 -c {shlex.quote(PROBE)} http://{VIP}/ --count {count} --interval {PROBE_INTERVAL}"
               f" --timeout {PROBE_TIMEOUT} --timeline")
    # ssh makes the stdin it inherits non-blocking, which ansible-playbook refuses; give it none.
    return subprocess.Popen([*LAB, "ssh", "client", command], stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def finish_probe(probe: subprocess.Popen) -> dict:
    """The probe's report: its timeline and why each failed request failed (reset, timed out, ...)."""
    return json.loads(probe.communicate(timeout=120)[0])


def outage(timeline: list[list]) -> tuple[float, int]:
    """Longest run of failures in seconds (first failed send to the next answered send), and failures."""
    return http_probe.longest_gap(timeline), sum(1 for _sent, answered in timeline if not answered)


def settle_on_director1() -> None:
    wait_until(lambda: vip_holders() == ["director1"], 120, "director1 alone holds the VIP")
    time.sleep(3)


# The failure comes 2 s after the probe is started, at least 1.3 s into it (ssh takes the rest).
SERVED_AT_START = 0.5


def failed_at_start(timeline: list[list]) -> list[float]:
    """When (seconds into the probe) each request failed that was sent in its first SERVED_AT_START seconds,
    before the failure to come."""
    return [sent for sent, answered in timeline if not answered and sent < SERVED_AT_START]


def failover_trial(seconds: float, fail, recover) -> list[list]:
    """Probes for SECONDS while the master fails 2 s in; then recovers it and waits for preemption. A
    client not served to begin with would pass for an outage, so that stops the benchmark."""
    probe = start_probe(seconds)
    time.sleep(2)
    fail()
    timeline = finish_probe(probe)["timeline"]
    early = failed_at_start(timeline)
    if early:
        raise RuntimeError(f"the client was not served before the master failed: {len(early)} of the requests "
                           f"sent in the probe's first {SERVED_AT_START} s failed, the first at {early[0]} s")
    recover()
    settle_on_director1()
    return timeline


def graceful_trial() -> list[list]:
    return failover_trial(6, lambda: on("director1", "systemctl stop keepalived"),
                          lambda: on("director1", "systemctl start keepalived"))


def hard_trial() -> list[list]:
    return failover_trial(8, lambda: lab("kill", "director1"), lambda: lab("start", "director1"))


def switchover_trial(settings: dict) -> dict:
    probe = start_probe(40)
    time.sleep(1)
    playbook("switchover", {**settings, "lvs_switchover_director": "director1"})
    playbook("switchover", {**settings, "lvs_switchover_director": "director1", "lvs_switchover_back": True})
    results = finish_probe(probe)
    settle_on_director1()
    return results


def switchovers(name: str, label: str, settings: dict, trials: int) -> dict:
    """TRIALS switchovers and back with SETTINGS in place: failed requests, why they failed, a plot."""
    runs = [switchover_trial(settings) for _trial in range(trials)]
    timelines = [run["timeline"] for run in runs]
    reasons: dict[str, int] = {}
    for run in runs:
        for reason, count in run["failure_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    log(f"{name} switchover failures: {[outage(t)[1] for t in timelines]}, failed requests sent at "
        f"{[[sent for sent, ok in t if not ok] for t in timelines]} s, why: {reasons}")
    return {"outages": [outage(t)[0] for t in timelines], "failures": [outage(t)[1] for t in timelines],
            "requests": [len(t) for t in timelines], "reasons": reasons,
            "plot": plot(f"{name}-switchover", f"{label}: switchover.yml and back", timelines,
                         "switchover.yml starts at about 1 s")}


# Connection survival through the sync daemon: the DR example's settings on the seed profile.
SYNC_SETTINGS = {**PROFILES["seed"][1], "director_lvs_sync_daemon": True, "director_vrrp_preempt_delay": 5}
# Seconds between requests, one kept-alive connection each; the last is quiet for longer than the preempt delay.
KEPT_ALIVE_INTERVALS = [0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 8]
KEEPALIVE_PROBE = (SHARED_FILES / "keepalive_probe.py").read_text()
KEPT_ALIVE_STOP = "/run/bench-kept-alive.stop"
# Longer than the seed profile's master-down interval (3 x advert_int + skew, 3.6 s) plus TCP's
# retransmission back-off after it: a request that waits out a hard kill is late, not broken.
KEPT_ALIVE_TIMEOUT = 10
# Each trial's connections leave from their own ports, below the ephemeral range, so no entry left from
# an earlier trial (FIN_WAIT, 2 minutes) can carry one of them.
KEPT_ALIVE_FIRST_PORT = 21000


# Seconds a trial waits for director2 to hold every connection before it fails the master anyway.
KEPT_ALIVE_SYNC_WAIT = 30


def backup_sources(director: str) -> set[int]:
    """The client ports of the TCP connections DIRECTOR's IPVS table holds for the VIP."""
    ports = set()
    for line in on(director, "LC_ALL=C ipvsadm -Lnc", check=False).splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == "TCP" and fields[4] == f"{VIP}:80":
            ports.add(int(fields[3].rsplit(":", 1)[1]))
    return ports


def sync_trial(kind: str, number: int) -> dict:
    """Kept-alive connections through a failover of KIND and the fail-back: which broke, and when."""
    on("client", f"rm -f {KEPT_ALIVE_STOP}")
    first_port = KEPT_ALIVE_FIRST_PORT + number * len(KEPT_ALIVE_INTERVALS)
    intervals = " ".join(f"--interval {interval}" for interval in KEPT_ALIVE_INTERVALS)
    probe = subprocess.Popen([*LAB, "ssh", "client", f"python3 -c {shlex.quote(KEEPALIVE_PROBE)} {VIP} 80 --stop-file"
                              f" {KEPT_ALIVE_STOP} --timeout {KEPT_ALIVE_TIMEOUT} --local-port {first_port} {intervals}"],
                             stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    # The master's kernel syncs a connection at its 3rd packet and flushes its sync buffer at least every
    # 2 s: a younger connection is on director1 alone, and no setting changes that. Each trial fails the
    # master once director2 holds all of them, and says how long that took from the probe's start.
    ports = set(range(first_port, first_port + len(KEPT_ALIVE_INTERVALS)))
    opened_at = time.monotonic()
    deadline = opened_at + KEPT_ALIVE_SYNC_WAIT
    while not ports <= backup_sources("director2") and time.monotonic() < deadline:
        time.sleep(0.5)
    unsynced = len(ports - backup_sources("director2"))
    synced_after = round(time.monotonic() - opened_at, 1)
    if kind == "graceful":
        on("director1", "systemctl stop keepalived")
    else:
        lab("kill", "director1")
    # Not vip_holders(): an ssh to a director killed while it connected would hang.
    wait_until(lambda: f" {VIP}/32 " in on("director2", "ip -o -4 addr show dev eth1", check=False), 30,
               "director2 holds the VIP")
    time.sleep(1)
    # Every lab host reads the machine's clock, so the probe's times compare with this one.
    recovering_at = time.time()
    if kind == "graceful":
        on("director1", "systemctl start keepalived")
    else:
        lab("start", "director1")
    wait_until(lambda: vip_holders() == ["director1"], 120, "director1 takes the VIP back")
    preempted_at = time.time()
    # Each connection sends at least once more through director1.
    time.sleep(max(KEPT_ALIVE_INTERVALS) + 1)
    on("client", f"touch {KEPT_ALIVE_STOP}")
    connections = json.loads(probe.communicate(timeout=60)[0])["connections"]
    broken = [c for c in connections if c["failures"]]
    return {"synced_after": synced_after, "unsynced": unsynced,
            "failover": sum(1 for c in broken if c["failed_at"] < recovering_at),
            "failback": sum(1 for c in broken if c["failed_at"] >= recovering_at),
            "untested": sum(1 for c in connections if not c["failures"] and (c["answered_at"] or 0) <= preempted_at),
            "errors": sorted({c["error"] for c in broken}),
            "broken_intervals": [c["interval"] for c in broken]}


def sync_rows(trials: int, comparison_trials: int) -> dict:
    """Kept-alive connections through failover and fail-back with the sync daemon, graceful and hard, with
    lvs-sync-table and (COMPARISON_TRIALS each) without it."""
    rows, number = {}, 0
    for table, count in ((True, trials), (False, comparison_trials)):
        settings = {**SYNC_SETTINGS, "director_lvs_sync_table": table}
        playbook("site", settings)
        settle_on_director1()
        for kind in ("graceful", "hard"):
            runs = []
            for _trial in range(count):
                runs.append(sync_trial(kind, number))
                number += 1
                settle_on_director1()
                log(f"sync {'with' if table else 'without'} lvs-sync-table, {kind} trial {len(runs)}: {runs[-1]}")
            rows[f"{'table' if table else 'kernel'}-{kind}"] = {"table": table, "kind": kind, "runs": runs}
    return rows


REAL_SERVER = "198.18.1.22"
# The scenarios' watcher runs on the master director: it polls the IPVS table every 50 ms until
# the real server is out of (absent or weight 0) or back in every detection service, and notes
# when each one changed by the director's clock. UML kernels read the machine's clock, so every
# lab host agrees on it.
TABLE_WATCHER = (SHARED_FILES / "table_watch.py").read_text()


DETECTION_VIPS = [vip for vip, *_rest in DETECTION_SERVICES]


def table_watcher(direction: str) -> subprocess.Popen:
    wanted = "--present" if direction == "in" else "--absent"
    keys = " ".join(f"tcp:{vip}:80" for vip in DETECTION_VIPS)
    return subprocess.Popen([*LAB, "ssh", "director1", f"python3 -c {shlex.quote(TABLE_WATCHER)} {REAL_SERVER} 90"
                             f" --interval 0.05 {wanted} {keys}"],
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def watched(watcher: subprocess.Popen, direction: str) -> dict[str, float]:
    """When the watcher saw the real server go DIRECTION in each service; every service must have."""
    reached = json.loads(watcher.communicate(timeout=120)[0])["reached"]
    seen = {vip: reached[f"tcp:{vip}:80"] for vip in DETECTION_VIPS}
    missing = [vip for vip, at in seen.items() if at is None]
    if missing:
        raise RuntimeError(f"{REAL_SERVER} never went {direction} in the table of {missing} within 90 s")
    return seen


def watch_until(direction: str, action_host: str, action: str) -> dict[str, float]:
    """Seconds from ACTION on ACTION_HOST until each detection service's table shows its effect."""
    watcher = table_watcher(direction)
    time.sleep(1.5)
    acted = float(on(action_host, f"date +%s.%N; {action}").split()[0])
    seen = watched(watcher, direction)
    return {vip: round(seen[vip] - acted, 2) for vip in DETECTION_VIPS}


def detection_trial() -> tuple[dict[str, float], dict[str, float]]:
    """nginx stopped on rs2 until every service drops it; started until every one takes it back."""
    watched(table_watcher("in"), "in")
    out = watch_until("out", "rs2", "systemctl stop nginx")
    back = watch_until("in", "rs2", "systemctl start nginx")
    return out, back


TRANSITION = re.compile(r"Entering (MASTER|BACKUP|FAULT) STATE")


def director_clock() -> float:
    return float(on("director1", "date +%s.%N"))


def vrrp_transitions(since: float) -> int:
    """VRRP state changes both directors' keepalived logged since SINCE (epoch seconds)."""
    return sum(len(TRANSITION.findall(on(director, f"journalctl -u keepalived -o cat --since @{int(since)}")))
               for director in ("director1", "director2"))


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


def plot(name: str, title: str, trials: list[list[list]],
         event: str = "failure injected at about 2 s") -> str:
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
    axis.set_xlabel(f"seconds since the probe started ({event}); green answered, red failed")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / f"{name}.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return f"benchmarks/{name}.png"


def boot(group_vars: dict | None = None) -> None:
    BUILD.mkdir(parents=True, exist_ok=True)
    platforms = yaml.safe_load((REPO / "molecule" / "dr" / "molecule.yml").read_text())["platforms"]
    (BUILD / "topology.json").write_text(json.dumps(platforms))
    lab("up", "--topology", str(BUILD / "topology.json"))
    inventory = BUILD / "inventory"
    inventory.mkdir(exist_ok=True)
    (inventory / "hosts.yml").write_text(lab("inventory"))
    (inventory / "group_vars").mkdir(exist_ok=True)
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars or GROUP_VARS))
    # The real servers' service addresses on the public segment, as in the DR example (the lab's
    # inventory only knows the management addresses).
    host_vars = inventory / "host_vars"
    host_vars.mkdir(exist_ok=True)
    for source in (REPO / "docs" / "examples" / "dr" / "host_vars").glob("*.yml"):
        (host_vars / source.name).write_text(source.read_text())


def ipvs_benchmark() -> str:
    """The IPVS module benchmark, in its own one-host lab; returns its figures."""
    log("IPVS module benchmark (its own one-host lab)")
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "ipvs_table_bench.py")], check=True,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout.strip()


# --compare-role: another keepalived role beside ours, each on fresh directors of the same lab, with one
# VRRP instance (the VIP) and one virtual server (rr, DR, TCP_CHECK on the real servers' port 80).
COMPARE_GROUP_VARS = {
    "lvs_virtual_services": [{"name": "web", "vip": VIP, "port": 80, "scheduler": "rr", "method": "dr",
                              "real_servers_group": "lvs_realservers",
                              "health_check": {"type": "TCP_CHECK", "connect_timeout": 3}}],
    "director_interface": "eth1",
    "director_firewall": "none",
}


def compare_role_vars(model: dict) -> dict:
    """MODEL's one VRRP instance and virtual server in the variables evrardjp/ansible-keepalived reads
    (keepalived_instances and keepalived_virtual_servers, as its README describes them), per director."""
    instance, server = model["vrrp_instances"][0], model["virtual_servers"][0]
    port = server["real_server_port"]
    return {
        "keepalived_instances": {instance["name"]: {
            "interface": instance["interface"],
            "state": f"{{{{ 'MASTER' if inventory_hostname == '{instance['master']}' else 'BACKUP' }}}}",
            "virtual_router_id": instance["virtual_router_id"],
            "priority": f"{{{{ {json.dumps(instance['priorities'])}[inventory_hostname] }}}}",
            "vips": [f"{vip['address']}/{vip['prefix']} dev {instance['interface']}" for vip in instance["vips"]],
        }},
        "keepalived_virtual_servers": [{
            "ip": server["vip"], "port": server["port"], "lvs_sched": server["scheduler"],
            "lvs_method": server["method"], "protocol": server["protocol"], "delay_loop": server["delay_loop"],
            "real_servers": [{"ip": real_server["address"], "port": port, "tcp_checks": [
                {"connect_port": port, "connect_timeout": server["health_check"]["options"]["connect_timeout"]}]}
                for real_server in server["real_servers"]],
        }],
    }


def busy_core_seconds(stat: str) -> float:
    """The CPU time all cores have spent busy since boot, from the text of /proc/stat (idle and iowait
    are not busy)."""
    first = stat.split("\n", 1)[0].split()
    if first[0] != "cpu":
        raise ValueError(f"/proc/stat does not start with the cpu line: {first}")
    ticks = [int(value) for value in first[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def converge(run, reruns: int) -> dict:
    """RUN (a playbook) once on the hosts as they are, then RERUNS times more: seconds, recaps, and the
    core-seconds the machine was busy during the first run (the lab hosts and the controller share it)."""
    busy_before = busy_core_seconds(Path("/proc/stat").read_text())
    cold, cold_recap = run()
    cold_busy = busy_core_seconds(Path("/proc/stat").read_text()) - busy_before
    rerun_times, rerun_recap = [], {}
    for _trial in range(reruns):
        seconds, rerun_recap = run()
        rerun_times.append(seconds)
    return {"cold": round(cold, 1), "cold_recap": cold_recap, "cold_busy": round(cold_busy),
            "cores": os.cpu_count() or 1, "rerun": rerun_times, "rerun_recap": rerun_recap}


def fresh_directors_converge(run, reruns: int) -> dict:
    """RUN (a playbook over the directors) on freshly booted hosts once, then RERUNS times more."""
    lab("down", check=False)
    boot(COMPARE_GROUP_VARS)
    result = converge(run, reruns)
    directors = ("director1", "director2")
    return {**result, "cold_recap": {h: c for h, c in result["cold_recap"].items() if h in directors},
            "rerun_recap": {h: c for h, c in result["rerun_recap"].items() if h in directors}}


def compare_roles(role: Path, reruns: int) -> dict:
    """Our directors.yml and ROLE (a local checkout; nothing is fetched), each on fresh directors."""
    log(f"side by side: lvs.cluster directors.yml, then {role}, each on fresh directors")
    ours = fresh_directors_converge(lambda: playbook("directors", PROFILES["seed"][1]), reruns)
    theirs_playbook = BUILD / "compare.yml"
    theirs_playbook.write_text(yaml.safe_dump([{
        "name": f"{role.name} on the directors", "hosts": "lvs_directors", "gather_facts": True,
        "vars": compare_role_vars(cluster_model(COMPARE_GROUP_VARS["lvs_virtual_services"])),
        "roles": [role.name]}], sort_keys=False))
    theirs = fresh_directors_converge(lambda: playbook(str(theirs_playbook), {}, roles_path=role.parent), reruns)
    lab("down", check=False)
    log(f"side by side: ours {ours['cold']} / {ours['rerun']} s, {role.name} {theirs['cold']} / {theirs['rerun']} s")
    return {"role": role.name, "lvs.cluster": ours, role.name: theirs}


# One row of the changes scenario's summary as Ansible prints it: "| change | seconds | failed |".
CHANGE_ROW = re.compile(r'^\s*"\| (?P<change>[^|]+?) \| (?P<seconds>\d+) \| (?P<failed>\d+) \|",?$', re.M)


def changes_table(output: str) -> list[dict]:
    """The rows of the summary table in the output of molecule's changes scenario."""
    rows = [{"change": row["change"].replace('\\"', '"'), "seconds": int(row["seconds"]), "failed": int(row["failed"])}
            for row in CHANGE_ROW.finditer(output)]
    if not rows:
        raise RuntimeError("the changes scenario printed no summary table")
    return rows


def changes_scenario() -> list[dict]:
    """Runs molecule's changes scenario (in its own lab) and returns its failed requests per change."""
    log("the changes scenario (molecule test -s changes, its own lab)")
    env = ansible_env() | {"PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}", "ANSIBLE_FORCE_COLOR": "0",
                           "PY_COLORS": "0"}
    run = subprocess.run([str(REPO / ".venv" / "bin" / "molecule"), "test", "-s", "changes"], cwd=REPO, env=env,
                         capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        raise RuntimeError(f"molecule test -s changes failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return changes_table(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--trials", type=int, default=10, help="failover trials per profile and kind (default 10)")
    parser.add_argument("--reruns", type=int, default=3, help="idempotent site.yml re-runs (default 3)")
    parser.add_argument("--switchovers", type=int, default=5,
                        help="switchover trials per profile, each switchover.yml there and back (default 5)")
    parser.add_argument("--detections", type=int, default=5,
                        help="real-server failure detection trials, nginx stopped and started (default 5)")
    parser.add_argument("--sync-trials", type=int, default=20,
                        help="trials per failure kind of kept-alive connections through failover and fail-back with the"
                             " sync daemon and lvs-sync-table, a tenth as many without it (default 20)")
    parser.add_argument("--only-converge", action="store_true",
                        help="boot, run site.yml cold and --reruns times more, print the figures; no report is written")
    parser.add_argument("--only-sync", action="store_true",
                        help="boot, build and run only those trials; replace that section of docs/benchmarks.md")
    parser.add_argument("--idle-minutes", type=float, default=10,
                        help="minutes the fast profile runs idle while VRRP transitions are counted (default 10)")
    parser.add_argument("--skip-ipvs", action="store_true",
                        help="leave out the IPVS module benchmark (benchmarks/ipvs_table_bench.py, about 8 min)")
    parser.add_argument("--skip-changes", action="store_true",
                        help="leave out the changes scenario's failed requests per change (molecule, about 18 min)")
    parser.add_argument("--compare-role", type=Path, metavar="PATH",
                        help="a local checkout of another keepalived role (evrardjp/ansible-keepalived's variables) to "
                             "converge on fresh directors beside ours; nothing is fetched")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards (not with --compare-role)")
    args = parser.parse_args()
    started = time.monotonic()
    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "trials": args.trials,
              "machine": f"{os.cpu_count()} cores", "profiles": {}}
    if args.only_sync:
        only_sync(args.sync_trials, max(1, args.sync_trials // 10), started)
        return
    if args.only_converge:
        only_converge(args.reruns)
        return
    try:
        log("booting the lab (5 UML hosts)")
        boot()
        log("site.yml cold")
        site = converge(lambda: playbook("site", PROFILES["seed"][1]), args.reruns)
        changed = {host: counts["changed"] for host, counts in site["rerun_recap"].items() if counts["changed"]}
        report["converge"] = {**site, "rerun_changed": changed}
        log(f"cold {site['cold']} s, re-runs {[round(s, 1) for s in site['rerun']]}")
        settle_on_director1()
        detections = [detection_trial() for _trial in range(args.detections)]
        report["detection"] = {"out": [out for out, _back in detections], "back": [back for _out, back in detections]}
        log(f"real-server detection (out, back): {detections}")
        for profile, (label, settings) in PROFILES.items():
            playbook("site", settings)
            settle_on_director1()
            kinds = {}
            if profile == "fast":
                since = director_clock()
                seconds, _recap = playbook("site", settings)
                report["converge_transitions"] = {"seconds": round(seconds, 1), "transitions": vrrp_transitions(since)}
                log(f"fast profile: VRRP transitions during site.yml: {report['converge_transitions']}")
            for kind, trial in (("graceful", graceful_trial), ("hard", hard_trial)):
                runs = []
                for number in range(args.trials):
                    runs.append(trial())
                    log(f"{profile} {kind} trial {number + 1}: outage, failures = {outage(runs[-1])}")
                kinds[kind] = {"outages": [outage(r)[0] for r in runs], "failures": [outage(r)[1] for r in runs],
                               "plot": plot(f"{profile}-{kind}", f"{label}: {kind}", runs)}
            kinds["switchover"] = switchovers(profile, label, settings, args.switchovers)
            report["profiles"][profile] = {"label": label, **kinds}
        report["sync"] = sync_rows(args.sync_trials, max(1, args.sync_trials // 10))
        label, settings = HASHED
        playbook("site", settings)
        settle_on_director1()
        report["profiles"]["hashed"] = {"label": label,
                                        "switchover": switchovers("hashed", label, settings, args.switchovers)}
        # The fast profile (with mh) stays on, untouched, while this machine works on the rest: the keepalived.conf
        # rendering and the IPVS module benchmark's own lab load it as a busy host would be.
        since, idle_started = director_clock(), time.monotonic()
        log(f"fast profile idle for {args.idle_minutes} min; meanwhile the rest of the benchmark runs")
        report["render_100x100_s"] = render_100_by_100()
        if not args.skip_ipvs:
            report["ipvs_table"] = ipvs_benchmark()
        time.sleep(max(0.0, idle_started + args.idle_minutes * 60 - time.monotonic()))
        report["idle"] = {"minutes": round((time.monotonic() - idle_started) / 60, 1),
                          "transitions": vrrp_transitions(since), "with_ipvs": not args.skip_ipvs}
        log(f"idle: {report['idle']}")
    finally:
        if not args.keep or args.compare_role:
            lab("down", check=False)
    if not args.skip_changes:
        report["changes"] = changes_scenario()
    if args.compare_role:
        report["compare"] = compare_roles(args.compare_role.resolve(), args.reruns)
    else:
        log("side by side: no --compare-role path given, so no other role ran (the bench fetches nothing itself)")
    report["total_s"] = round(time.monotonic() - started)
    (BUILD / "report.json").write_text(json.dumps(report, indent=1))
    write_report(report)
    log(f"wrote {REPORT.relative_to(REPO)} in {report['total_s']} s")


def only_sync(trials: int, comparison_trials: int, started: float) -> None:
    """The sync trials alone, on a lab of their own; their section of docs/benchmarks.md is replaced."""
    try:
        log("booting the lab (5 UML hosts)")
        boot()
        sync = sync_rows(trials, comparison_trials)
    finally:
        lab("down", check=False)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    minutes = round((time.monotonic() - started) / 60)
    section = sync_section(sync, f"Measured by `make bench BENCH_ARGS=--only-sync` on {date} ({minutes} min), apart"
                                 " from the rest of this report.")
    text = REPORT.read_text()
    start = text.find(SYNC_HEADING)
    if start < 0:
        start = end = text.index("## VRRP stability")
    else:
        following = text.find("\n## ", start + len(SYNC_HEADING))
        end = following + 1 if following >= 0 else len(text)
    REPORT.write_text(text[:start] + "\n".join(section) + "\n" + text[end:])
    log(f"wrote that section of {REPORT.relative_to(REPO)}")


def only_converge(reruns: int) -> None:
    """site.yml cold and re-run on a lab of their own, printed as JSON: the rows to compare two commits by."""
    try:
        log("booting the lab (5 UML hosts)")
        boot()
        site = converge(lambda: playbook("site", PROFILES["seed"][1]), reruns)
    finally:
        lab("down", check=False)
    tasks = {phase: {host: f"{c['ok']}/{c['changed']}/{c['skipped']}" for host, c in sorted(site[f"{phase}_recap"].items())}
             for phase in ("cold", "rerun")}
    print(json.dumps({"cold_s": site["cold"], "rerun_s": site["rerun"], "cold_busy_core_s": site["cold_busy"],
                      "tasks_ok_changed_skipped": tasks}, indent=1))


SYNC_HEADING = "## Kept-alive connections through failover and fail-back"


def sync_section(sync: dict | None, measured: str = "") -> list[str]:
    if sync is None:
        return []
    lines = [SYNC_HEADING, "",
             *([measured, ""] if measured else []),
             f"{len(KEPT_ALIVE_INTERVALS)} kept-alive connections per trial, one request every "
             + ", ".join(f"{interval:g}" for interval in KEPT_ALIVE_INTERVALS) + " s, through the master's failure"
             " (graceful: keepalived stopped; hard: `lab kill`) and the fail-back once it runs again. The DR example's"
             " settings on the seed profile: `director_lvs_sync_daemon`, `director_vrrp_preempt_delay: 5`, the kernel's"
             " `sync_threshold` as it comes (3 50). The 8 s connection is quiet for longer than the preempt delay."
             " The master fails once director2 holds every connection (the kernel syncs a connection at its 3rd"
             " packet and sends its sync buffer at least every 2 s, so a younger connection exists on the master"
             f" alone), or after {KEPT_ALIVE_SYNC_WAIT} s; \"synced after\" is the time from the probe's start until then."
             f" A trial counts the connections that broke: reset, closed, or a request unanswered for {KEPT_ALIVE_TIMEOUT} s"
             " (target: 0 in every trial, at failover and at fail-back).", "",
             "| lvs-sync-table | failure | trials | synced after, s (median, max) | not synced at the failure |"
             " broken at failover, per trial | broken at fail-back, per trial | trials with any broken | why |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in sync.values():
        runs = row["runs"]
        errors = sorted({error for run in runs for error in run["errors"]})
        waits = sorted(run["synced_after"] for run in runs)
        lines.append(f"| {'on (default)' if row['table'] else 'off'} | {row['kind']} | {len(runs)} | "
                     f"{statistics.median(waits):g}, {waits[-1]:g} | {sum(run['unsynced'] for run in runs)} | "
                     f"{', '.join(str(run['failover']) for run in runs)} | {', '.join(str(run['failback']) for run in runs)} | "
                     f"{sum(1 for run in runs if run['failover'] or run['failback'])} | {'; '.join(errors) or '-'} |")
    untested = sum(run["untested"] for row in sync.values() for run in row["runs"])
    lines += ["", f"Connections not answered through director1 after the fail-back (so not tested by it): {untested}.",
              "Without lvs-sync-table the returning director learns a connection only when the kernel's master daemon",
              "syncs it again, at its next sync_threshold packet; a quiet connection is then reset by that director",
              "once it holds the VIP. See docs/operations.md, \"Connections through a fail-back\".", ""]
    return lines


def cluster_model(services: list[dict]) -> dict:
    """What the director role's own filter derives from SERVICES on the bench's hosts."""
    # The filter imports the collection's module_utils, found through the link ansible_env() makes.
    ansible_env()
    if str(REPO / ".build" / "live") not in sys.path:
        sys.path.insert(0, str(REPO / ".build" / "live"))
    module = importlib.import_module("ansible_collections.lvs.cluster.plugins.filter.cluster_model")
    hostvars = {path.stem: yaml.safe_load(path.read_text())
                for path in (REPO / "docs" / "examples" / "dr" / "host_vars").glob("*.yml")}
    return module.cluster_model(services, ["director1", "director2"], {"lvs_realservers": sorted(hostvars)}, hostvars,
                                {"interface": GROUP_VARS["director_interface"]})


def effective_check_settings() -> dict[str, str]:
    """VIP -> the timings keepalived gets for it, as the director role's own filter fills in its defaults."""
    model = cluster_model(GROUP_VARS["lvs_virtual_services"])
    return {vs["vip"]: ", ".join([f"delay_loop {vs['delay_loop']}"] + [
        f"{key} {value}" for key, value in sorted(vs["health_check"]["options"].items()) if key != "urls"])
        for vs in model["virtual_servers"]}


def detection_rows(detection: dict) -> list[str]:
    rows = ["| checker, timing | settings | out of the table after nginx stops | back in after nginx starts |",
            "| --- | --- | --- | --- |"]
    effective = effective_check_settings()
    for vip, label, _check, delay_loop in DETECTION_SERVICES:
        settings = effective[vip] if delay_loop else f"none set, so: {effective[vip]}"
        out = spread([trial[vip] for trial in detection["out"]])
        back = spread([trial[vip] for trial in detection["back"]])
        rows.append(f"| {label} | {settings} | {out} | {back} |")
    return rows


def write_report(report: dict) -> None:
    converge = report["converge"]
    lines = [
        "# Benchmarks", "",
        f"Measured by `make bench` on {report['date']} on this project's CI machine ({report['machine']}), in the lab:",
        "one User-Mode Linux kernel per host (two directors, two DR real servers, one client on one L2",
        "segment), Debian bookworm, keepalived 2.2.7. Figures are medians with the minimum and maximum.",
        f"Regenerate with `make bench`; every number below comes from that one run ({report['total_s'] // 60} min).", "",
        "## site.yml", "",
        "| run | seconds | tasks per host (ok / changed / skipped) |", "| --- | --- | --- |",
        f"| cold (fresh hosts, 1 trial) | {converge['cold']} | "
        + ", ".join(f"{h} {c['ok']}/{c['changed']}/{c['skipped']}" for h, c in sorted(converge["cold_recap"].items()))
        + " |",
        f"| idempotent re-run ({len(converge['rerun'])} trials) | {spread(converge['rerun'])} | "
        + ", ".join(f"{h} {c['ok']}/{c['changed']}/{c['skipped']}" for h, c in sorted(converge["rerun_recap"].items()))
        + " |", "",
        "Targets (issue 7): cold ≤ 45 s, re-run ≤ 20 s for the four cluster hosts. A UML host runs every",
        "module several times slower than a real one; the figures above include the client host.",
        f"During the cold run the machine's cores were busy for {converge['cold_busy']} of their "
        f"{round(converge['cold'] * converge['cores'])} core-seconds (lab hosts and controller together), so on this",
        f"machine that work cannot take less than {round(converge['cold_busy'] / converge['cores'])} s,"
        " however it is spread over the hosts.", "",
        "## Director failover: client-observed outage", "",
        f"A new TCP connection to the VIP every {int(PROBE_INTERVAL * 1000)} ms ({int(PROBE_TIMEOUT * 1000)} ms"
        " timeout); outage = longest run of failures. Graceful: `systemctl stop keepalived` on the master;",
        "hard: `lab kill` (the master's kernel killed outright). Switchover: `switchover.yml` and back.", "",
        "| profile | failure | trials | outage s | failed requests |", "| --- | --- | --- | --- | --- |",
    ]
    for profile in report["profiles"].values():
        for kind in KINDS:
            if kind in profile:
                data = profile[kind]
                lines.append(f"| {profile['label']} | {kind} | {len(data['outages'])} | {spread(data['outages'])} | "
                             f"{spread([float(f) for f in data['failures']])} |")
    lines += ["", "Targets (issue 7): fast profile hard-kill outage ≤ 0.5 s median; switchover 0 failed requests.",
              "keepalived's own bound for the seed setting is 3 × advert_int + skew ≈ 3.6 s.", "",
              "Why the switchovers' requests failed, all trials of each row together:", "",
              *[f"- {profile['label']}: {reasons_text(profile['switchover']['reasons'])}"
                for profile in report["profiles"].values()], "",
              "A reset is a connection in flight when the VIP moved: the new holder had no entry for it and",
              "answered its next packet itself. A timeout is a packet lost while the VIP moved, which the",
              "client sends again only after its retransmission timeout (at least 200 ms, 1 s for a SYN),",
              f"past the probe's {int(PROBE_TIMEOUT * 1000)} ms. Packet captures in the lab showed which packet: one the",
              "client sent in the few milliseconds between the new holder's first advert, on which the old",
              "holder gave the VIP up, and the new holder's gratuitous ARP, so still to the old holder, which",
              "dropped it. The last row's scheduler picks the same real server for a connection on both",
              "directors and sloppy_tcp lets the new holder take it up mid-connection, and with forwarding on",
              f"{VRRP_INTERFACE} the old holder routes such a packet to the new one instead of dropping it.", ""]
    for profile in report["profiles"].values():
        for kind in KINDS:
            if kind in profile:
                lines += [f"![{profile['label']}, {kind}]({profile[kind]['plot']})", ""]
    lines += sync_section(report.get("sync"))
    idle, converge_transitions = report["idle"], report["converge_transitions"]
    lines += ["## VRRP stability of the fast profile", "",
              "VRRP state changes logged by keepalived on both directors while nothing was failing (target: none).", "",
              "| window | transitions |", "| --- | --- |",
              f"| idle, {idle['minutes']} min, while this machine rendered keepalived.conf for 100 × 100"
              + (" and ran the IPVS module benchmark in a second lab" if idle["with_ipvs"] else "")
              + f" | {idle['transitions']} |",
              f"| `site.yml` run over the cluster ({converge_transitions['seconds']} s) | "
              f"{converge_transitions['transitions']} |", ""]
    detection = report["detection"]
    lines += ["## Real-server failure detection", "",
              "nginx stopped on one real server, then started again; seconds until the master's IPVS table drops it",
              f"and takes it back ({len(detection['out'])} trials; the table polled every 50 ms). Each checker",
              "watches the same real server through its own virtual service, so every row comes from the same",
              "trials. Role defaults are those of `director_virtual_services` in the role reference.", "",
              *detection_rows(detection), ""]
    lines += ["## keepalived.conf at scale", "",
              f"Rendering and testing (`keepalived -t`) the file for 100 VIPs × 100 real servers: "
              f"{report['render_100x100_s']} s, one run of the role's template and config test on the machine itself"
              " (not in the lab). Target ≤ 10 s.", "",
              "## IPVS modules at scale", "",
              "`benchmarks/ipvs_table_bench.py` (also `make bench-ipvs`): `ipvs_table` applying 100 services ×",
              "100 real servers on one lab director, against one `ipvsadm` process per change"
              + (". It ran during the idle window above, beside the five-host cluster lab, so on a busier machine"
                 " than `make bench-ipvs` alone:" if idle["with_ipvs"] else ":"), "",
              "```", report.get("ipvs_table", "(left out of this run with --skip-ipvs)"), "```", "",
              *changes_section(report.get("changes")), *compare_section(report.get("compare"))]
    REPORT.write_text("\n".join(lines))


KINDS = ("graceful", "hard", "switchover")


def reasons_text(reasons: dict[str, int]) -> str:
    return ", ".join(f"{count} × {reason}" for reason, count in sorted(reasons.items())) or "none failed"


def changes_section(changes: list[dict] | None) -> list[str]:
    if changes is None:
        return ["## Inventory changes under load", "", "Left out of this run (`--skip-changes`).", ""]
    return ["## Inventory changes under load", "",
            "`molecule/changes`, run by the benchmark: a new TCP connection to the VIP every 50 ms (3 s timeout)",
            "through each change, one run. The switchover may lose the requests in flight when the VIP's ARP entry",
            "moves (the scenario allows 3); every other change must lose none.", "",
            "| change | seconds | failed requests |", "| --- | --- | --- |",
            *[f"| {row['change']} | {row['seconds']} | {row['failed']} |" for row in changes], ""]


def recap_text(recap: dict) -> str:
    return ", ".join(f"{host} {counts['ok']}/{counts['changed']}/{counts['skipped']}" for host, counts in sorted(recap.items()))


def compare_section(compare: dict | None) -> list[str]:
    lines = ["## Side by side with another keepalived role", ""]
    if compare is None:
        return lines + ["Not run: no role path was given. `make bench BENCH_ARGS='--compare-role PATH'` converges a local",
                        "checkout of evrardjp/ansible-keepalived (or a role that reads the same variables) beside this",
                        "collection's `directors.yml`, each on freshly booted directors with the same VRRP instance and",
                        "virtual server; the benchmark fetches nothing itself.", ""]
    lines += ["The two directors alone, freshly booted for each role, with one VRRP instance and one virtual server",
              "(rr, DR, TCP_CHECK); the other role also gathers facts, as its playbooks do.", "",
              "| role | cold s | re-run s | tasks per director, re-run (ok / changed / skipped) |",
              "| --- | --- | --- | --- |"]
    for name in ("lvs.cluster", compare["role"]):
        result = compare[name]
        lines.append(f"| {name} | {result['cold']} | {spread(result['rerun'])} | {recap_text(result['rerun_recap'])} |")
    return lines + [""]


if __name__ == "__main__":
    main()
