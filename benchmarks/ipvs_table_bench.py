"""make bench-ipvs: ipvs_table with 100 services x 100 real servers on a lab director.

Figures, all measured in one run on one lab host (a UML kernel):
  - ipvsadm -R cost per line (10,100 lines in one batch);
  - ipvs_table from empty, unchanged re-run, and with 1% of the weights changed,
    as Ansible task times and as those times less a trivial task's (the transport);
  - the naive way, one ipvsadm process per change, for the same 10,100 changes.
Prints the figures and the ratio; targets are in the modules issue (apply <= 3 s,
unchanged <= 2 s with changed false, >= 50x faster than the naive loop).
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = [sys.executable, str(REPO / "molecule" / "_lab" / "lab.py"), "--name", "bench-ipvs"]
SERVICES, REAL_SERVERS = 100, 100
TOPOLOGY = [{"name": "director1", "groups": ["lvs_directors"],
             "interfaces": [{"segment": "public", "addresses": ["198.18.1.11/24"]}]}]


def services(weight_of) -> list[dict]:
    return [{"address": f"198.18.{100 + s // 50}.{s % 50 + 1}", "port": 80, "scheduler": "wrr",
             "real_servers": [{"address": f"198.19.{200 + r // 250}.{r % 250 + 1}", "weight": weight_of(s, r)}
                              for r in range(REAL_SERVERS)]}
            for s in range(SERVICES)]


def on_host(script: str, stdin: str | None = None) -> str:
    return subprocess.run([*LAB, "ssh", "director1", script], input=stdin, check=True, capture_output=True,
                          text=True).stdout


TIMER = ("import subprocess, sys, time; started = time.perf_counter(); "
         "subprocess.run(sys.argv[1], shell=True, check=True, stdout=subprocess.DEVNULL); "
         "print(time.perf_counter() - started)")


def timed_on_host(command: str) -> float:
    """Seconds COMMAND takes on the host itself, measured there."""
    return float(on_host(f"python3 -c {shlex.quote(TIMER)} {shlex.quote(command)}").strip())


def playbook(workdir: Path, inventory: Path, name: str, tasks: list[dict], variables: dict | None = None) -> tuple[float, dict]:
    play = [{"name": name, "hosts": "director1", "gather_facts": False, "vars": variables or {}, "tasks": tasks}]
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(play))
    env = {**os.environ, "ANSIBLE_PIPELINING": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
           "ANSIBLE_COLLECTIONS_PATH": f"{REPO / '.build' / 'live'}:{REPO / '.venv/lib/python3.11/site-packages'}"}
    started = time.monotonic()
    result = subprocess.run([str(REPO / ".venv/bin/ansible-playbook"), "-i", str(inventory), str(path)],
                            check=True, capture_output=True, text=True, env=env)
    took = time.monotonic() - started
    task = json.loads(result.stdout)["plays"][0]["tasks"][-1]["hosts"]["director1"]
    return took, task


def main() -> None:
    live_link = REPO / ".build" / "live" / "ansible_collections" / "lvs"
    live_link.mkdir(parents=True, exist_ok=True)
    if not (live_link / "cluster").exists():
        (live_link / "cluster").symlink_to(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "topology.json").write_text(json.dumps(TOPOLOGY))
        # The lab's own output goes to stderr: stdout carries only the figures (make bench quotes them).
        subprocess.run([*LAB, "up", "--topology", str(workdir / "topology.json")], check=True, stdout=sys.stderr)
        try:
            inventory = workdir / "inventory.yml"
            inventory.write_text(subprocess.run([*LAB, "inventory"], check=True, capture_output=True, text=True).stdout)
            on_host("apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y ipvsadm"
                    " >/dev/null && modprobe ip_vs_wrr")
            run_benchmark(workdir, inventory)
        finally:
            subprocess.run([*LAB, "down"], check=True, stdout=sys.stderr)


def run_benchmark(workdir: Path, inventory: Path) -> None:
    lines = []
    for service in services(lambda s, r: 1):
        vip = f"{service['address']}:80"
        lines.append(f"-A -t {vip} -s wrr")
        lines += [f"-a -t {vip} -r {rs['address']}:80 -g -w 1" for rs in service["real_servers"]]
    on_host("cat > /tmp/bench.rules", stdin="\n".join(lines) + "\n")
    restore = timed_on_host("ipvsadm -R < /tmp/bench.rules")
    count = int(on_host("ipvsadm -S -n | wc -l").strip())
    on_host("ipvsadm -C")
    naive = timed_on_host("while read -r line; do ipvsadm $line; done < /tmp/bench.rules")
    naive_count = int(on_host("ipvsadm -S -n | wc -l").strip())
    on_host("ipvsadm -C")

    baseline, _task = playbook(workdir, inventory, "baseline", [{"ansible.builtin.command": "true", "changed_when": False}])
    task = [{"lvs.cluster.ipvs_table": {"services": "{{ table }}"}}]
    empty, first = playbook(workdir, inventory, "from_empty", task, {"table": services(lambda s, r: 1)})
    unchanged, second = playbook(workdir, inventory, "unchanged", task, {"table": services(lambda s, r: 1)})
    one_percent, third = playbook(workdir, inventory, "one_percent", task,
                                  {"table": services(lambda s, r: 2 if r == 0 else 1)})
    rows = [
        ("lines in one ipvsadm -R batch", f"{len(lines)} (table after: {count} lines)"),
        ("ipvsadm -R, whole batch, on the host", f"{restore:.2f} s ({restore / len(lines) * 1e6:.0f} us per line)"),
        ("naive: one ipvsadm process per change, on the host", f"{naive:.2f} s (table after: {naive_count} lines)"),
        ("Ansible transport: a trivial task", f"{baseline:.2f} s"),
        ("ipvs_table from empty (task / less transport)",
         f"{empty:.2f} s / {empty - baseline:.2f} s, changed={first['changed']}, {len(first['commands'])} commands"),
        ("ipvs_table unchanged (task / less transport)",
         f"{unchanged:.2f} s / {unchanged - baseline:.2f} s, changed={second['changed']}"),
        ("ipvs_table 1% of weights changed (task / less transport)",
         f"{one_percent:.2f} s / {one_percent - baseline:.2f} s, changed={third['changed']}, "
         f"{len(third['commands'])} commands"),
        ("naive loop / ipvs_table from empty less transport", f"{naive / max(empty - baseline, 1e-3):.0f}x"),
    ]
    width = max(len(name) for name, _value in rows)
    print()
    print(f"IPVS table benchmark: {SERVICES} services x {REAL_SERVERS} real servers on one UML lab host")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
