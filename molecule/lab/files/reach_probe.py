"""Reports, as JSON, this host's kernel, boot id, ip_vs support and which lab addresses answer ping.

Arguments: the scenario's platforms (JSON) and this host's name. Every other host's
addresses on the segments this host is on are pinged. So are all addresses of hosts
that share no segment with this one, after making each on-link through this host's
first data interface (a /32 route), so a reply could only come if the segments were
joined at L2; the route is removed afterwards. (A host that shares one segment may
answer for its other addresses, as Linux does; those are not probed.) The report lists which addresses share a segment with this host and which
answered, for the caller to compare.
"""
import json
import os
import subprocess
import sys
import time


def answers(address: str) -> bool:
    return subprocess.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", address],
                          capture_output=True, check=False).returncode == 0


def main() -> None:
    platforms, me = json.loads(sys.argv[1]), sys.argv[2]
    mine = next(platform for platform in platforms if platform["name"] == me)
    my_segments = {interface["segment"] for interface in mine["interfaces"]}
    shared, answered, probed = [], [], []
    for platform in platforms:
        if platform["name"] == me:
            continue
        shares_any = any(interface["segment"] in my_segments for interface in platform["interfaces"])
        for interface in platform["interfaces"]:
            address = interface["addresses"][0].split("/")[0]
            on_segment = interface["segment"] in my_segments
            if shares_any and not on_segment:
                continue
            probed.append(address)
            if on_segment:
                shared.append(address)
            else:
                subprocess.run(["ip", "route", "replace", f"{address}/32", "dev", "eth1"], check=True)
            try:
                if answers(address):
                    answered.append(address)
            finally:
                if not on_segment:
                    subprocess.run(["ip", "route", "del", f"{address}/32", "dev", "eth1"], check=True)
    ip_vs_loaded = subprocess.run(["modprobe", "ip_vs"], capture_output=True, check=False).returncode == 0
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot_id:
        report = {
            "kernel": os.uname().release,
            "boot_id": boot_id.read().strip(),
            "ip_vs": ip_vs_loaded and os.path.exists("/proc/net/ip_vs"),
            "probed": probed,
            "shared": shared,
            "answered": answered,
        }
    print(json.dumps(report))


# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
if __name__ == "__main__":
    main()
    sys.stdout.flush()
    time.sleep(1)
