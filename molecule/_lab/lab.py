#!/usr/bin/env python
"""The lvs.cluster lab: one User-Mode Linux kernel per host, on real L2 segments.

Each host boots the Debian UML kernel with systemd as PID 1 from its own overlay
(a per-host upper layer over one shared, cached rootfs). Hosts reach the
controller over a management bridge; data interfaces are taps on one bridge per
segment. The machine has no address on data segments and routes nothing out of
the lab. Standard library only, run as root.

    lab.py up --name NAME --topology platforms.json [--instance-config FILE] [--release RELEASE]
    lab.py down --name NAME
    lab.py status [--name NAME]
    lab.py ssh --name NAME HOST [COMMAND...]
    lab.py kill|start --name NAME HOST
    lab.py ifdown|ifup --name NAME HOST IFACE
    lab.py cut|restore --name NAME SEGMENT [--hosts A B] [--proto N]
    lab.py inventory --name NAME
    lab.py build [--release RELEASE ...]   (rootfs per Debian release, the UML kernels' XSAVE wrapper)
    lab.py leftovers
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

STATE_ROOT = Path(os.environ.get("LVS_LAB_STATE", "/var/tmp/lvs-lab"))
CACHE_ROOT = Path(os.environ.get("LVS_LAB_CACHE", "/var/cache/lvs-lab"))
UML_BINARY = "linux.uml"
UML_MODULES = Path("/usr/lib/uml/modules")
# Preloaded into every UML kernel so that it runs on CPUs with AMX too (see the file).
XSTATE_SHIM_SOURCE = Path(__file__).with_name("uml-xstate-shim.c")
DEFAULT_MEM_MB = int(os.environ.get("LVS_LAB_MEM_MB", "384"))
# The Debian releases a lab's hosts can run, each from its own cached rootfs. The UML kernel is the
# machine's, whichever the release: trixie's user-mode-linux needs a newer glibc than bookworm has.
RELEASES = ("bookworm", "trixie")
BOOT_TIMEOUT_S = 180
MAX_SLOTS = 64
# 198.18.0.0/15 is reserved for network benchmarking (RFC 2544): it never leaves
# the lab and cannot collide with a real network the machine is on.
MGMT_PREFIX = "198.19"
LINK_PREFIX = "lvs"
SSH_USER = "root"

# What the rootfs is built from. Anything here changes the cache key.
BASE_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "udev", "kmod", "netbase", "openssh-server",
    "python3", "python3-apt", "apt-utils", "iproute2", "iputils-ping", "procps",
    "curl", "tcpdump", "iptables", "socat", "less",
)
# Downloaded (not installed) into the local apt repository baked into the rootfs,
# so roles install them with their own package tasks, offline.
REPO_PACKAGES = ("keepalived", "ipvsadm", "nginx", "nftables")
LOCAL_REPO_DIR = "/srv/lab-repo"
PREPARE_SCRIPT = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
# debootstrap leaves the base system's packages in the cache; the repo holds only the extras.
apt-get clean
apt-get update -qq
apt-get install -qq --download-only -y $REPO_PACKAGES >/dev/null
mkdir -p $LOCAL_REPO_DIR
mv /var/cache/apt/archives/*.deb $LOCAL_REPO_DIR/
cd $LOCAL_REPO_DIR
apt-ftparchive packages . > Packages
apt-ftparchive release . > Release
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$LOCAL_REPO_DIR ./" > /etc/apt/sources.list.d/lab.list
apt-get clean
rm -rf /var/lib/apt/lists/*
apt-get update -qq
depmod $UML_KERNEL
# The UML kernel has no nf_tables for ip/ip6/inet, only x_tables.
update-alternatives --quiet --set iptables /usr/sbin/iptables-legacy
update-alternatives --quiet --set ip6tables /usr/sbin/ip6tables-legacy
systemctl enable systemd-networkd ssh >/dev/null 2>&1
systemctl mask getty@.service serial-getty@.service console-getty.service \
    systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
    systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
    modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service modprobe@loop.service >/dev/null 2>&1
# A UML kernel has about 600 tty devices; replaying all of them through udev at boot took 10 to
# 14 s of each host's boot, all of it before sysinit.target. Networkd needs the links, not ttys.
mkdir -p /etc/systemd/system/systemd-udev-trigger.service.d /etc/systemd/system/ssh.service.d
printf '[Service]\nExecStart=\nExecStart=-udevadm trigger --type=all --action=add %s\n' \
    '--subsystem-match=net --subsystem-match=misc --subsystem-match=mem --subsystem-match=block' \
    > /etc/systemd/system/systemd-udev-trigger.service.d/lab.conf
# sshd's own config test before every start costs a second or more of a booting host's CPU.
printf '[Service]\nExecStartPre=\n' > /etc/systemd/system/ssh.service.d/lab.conf
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\n' > /etc/systemd/journald.conf.d/lab.conf
printf 'UseDNS no\nPermitRootLogin prohibit-password\n' > /etc/ssh/sshd_config.d/lab.conf
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
: > /etc/fstab
"""
RECIPE_VERSION = 1


class LabError(Exception):
    """A failure the user can act on; printed without a traceback."""


def log(message: str) -> None:
    print(f"lab: {message}", flush=True)


def run(argv: list[str], *, check: bool = True, capture: bool = False, **kwargs: Any) -> subprocess.CompletedProcess:
    env = {**os.environ, "LC_ALL": "C"}
    result = subprocess.run(argv, text=True, env=env, capture_output=capture, check=False, **kwargs)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip() if capture else ""
        raise LabError(f"command failed ({result.returncode}): {shlex.join(argv)}" + (f"\n{detail}" if detail else ""))
    return result


def uml_kernel_version() -> str:
    versions = sorted(path.name for path in UML_MODULES.iterdir()) if UML_MODULES.is_dir() else []
    if not versions:
        raise LabError(f"no UML modules under {UML_MODULES}: install the Debian package user-mode-linux")
    return versions[-1]


# --------------------------------------------------------------------------- topology

@dataclass
class Interface:
    segment: str
    addresses: list[str]


@dataclass
class Host:
    name: str
    index: int
    groups: list[str]
    interfaces: list[Interface] = field(default_factory=list)


def parse_topology(platforms: list[dict[str, Any]]) -> list[Host]:
    """Hosts from Molecule-style platforms: name, groups, interfaces: [{segment, addresses}]."""
    if not platforms:
        raise LabError("topology: no platforms")
    hosts: list[Host] = []
    seen: set[str] = set()
    for index, platform in enumerate(platforms):
        name = platform.get("name")
        if not name or not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name):
            raise LabError(f"topology: platforms[{index}].name {name!r} must be a lowercase host name")
        if name in seen:
            raise LabError(f"topology: platform name {name!r} appears twice")
        seen.add(name)
        interfaces = []
        for number, raw in enumerate(platform.get("interfaces", [])):
            segment = raw.get("segment", "")
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,14}", segment):
                raise LabError(f"topology: {name}.interfaces[{number}].segment {segment!r} must be a short lowercase name")
            addresses = raw.get("addresses", [raw["address"]] if "address" in raw else [])
            interfaces.append(Interface(segment=segment, addresses=list(addresses)))
        hosts.append(Host(name=name, index=index, groups=list(platform.get("groups", [])), interfaces=interfaces))
    if len(hosts) > 200:
        raise LabError("topology: at most 200 hosts")
    return hosts


# --------------------------------------------------------------------------- lab state

@dataclass
class Lab:
    name: str
    slot: int
    hosts: list[Host]
    mem_mb: int = DEFAULT_MEM_MB
    release: str = ""

    @property
    def dir(self) -> Path:
        return STATE_ROOT / self.name

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.dir / "ssh_config"

    @property
    def mgmt_bridge(self) -> str:
        return f"{LINK_PREFIX}{self.slot}m"

    @property
    def segments(self) -> list[str]:
        return sorted({iface.segment for host in self.hosts for iface in host.interfaces})

    def segment_bridge(self, segment: str) -> str:
        return f"{LINK_PREFIX}{self.slot}s{self.segments.index(segment)}"

    def tap(self, host: Host, number: int) -> str:
        return f"{LINK_PREFIX}{self.slot}h{host.index}e{number}"

    def mac(self, host: Host, number: int) -> str:
        # UML otherwise picks the same "random" MAC in every instance booted alike.
        return f"02:4c:{self.slot:02x}:{host.index:02x}:{number:02x}:01"

    def mgmt_address(self, host: Host) -> str:
        return f"{MGMT_PREFIX}.{self.slot}.{10 + host.index}"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise LabError(f"lab {self.name} has no host {name!r}; hosts: {', '.join(h.name for h in self.hosts)}")

    def host_dir(self, host: Host) -> Path:
        return self.dir / "hosts" / host.name

    def umid(self, host: Host) -> str:
        return f"lvslab-{self.name}-{host.name}"

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name, "slot": self.slot, "mem_mb": self.mem_mb, "release": self.release,
            "hosts": [{"name": h.name, "groups": h.groups,
                       "interfaces": [{"segment": i.segment, "addresses": i.addresses} for i in h.interfaces]}
                      for h in self.hosts],
        }
        (self.dir / "state.json").write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, name: str) -> Lab:
        path = STATE_ROOT / name / "state.json"
        if not path.is_file():
            raise LabError(f"no lab named {name!r} is up (no {path})")
        data = json.loads(path.read_text())
        return cls(name=data["name"], slot=data["slot"], hosts=parse_topology(data["hosts"]), mem_mb=data["mem_mb"],
                   release=data.get("release") or host_suite())


def used_slots() -> set[int]:
    slots = set()
    for state in STATE_ROOT.glob("*/state.json"):
        try:
            slots.add(json.loads(state.read_text())["slot"])
        except (OSError, ValueError, KeyError):
            continue
    return slots


def link_pattern(slot: int | None = None) -> str:
    """Names of the links (bridges m/s, taps h) of the lab in SLOT, or of any lab."""
    slot_pattern = str(slot) if slot is not None else r"\d+"
    return rf"{LINK_PREFIX}{slot_pattern}[mhs].*"


def lab_links(slot: int | None = None) -> list[str]:
    links = json.loads(run(["ip", "-j", "link", "show"], capture=True).stdout)
    return [link["ifname"] for link in links if re.fullmatch(link_pattern(slot), link["ifname"])]


@contextlib.contextmanager
def allocation_lock() -> Iterator[None]:
    """Serialises what two labs starting at once would race for: the rootfs build and the slot."""
    STATE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(STATE_ROOT / ".allocation.lock", "w", encoding="utf-8") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def free_slot() -> int:
    taken = used_slots()
    existing = lab_links()
    for slot in range(MAX_SLOTS):
        if slot in taken or any(re.fullmatch(link_pattern(slot), link) for link in existing):
            continue
        return slot
    raise LabError(f"all {MAX_SLOTS} lab slots are in use; run 'lab.py status' and 'lab.py down' the old labs")


# --------------------------------------------------------------------------- requirements

def check_requirements(host_count: int, mem_mb: int) -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("run as root (taps, bridges and overlay mounts need it)")
    if not Path("/dev/net/tun").exists():
        problems.append("no /dev/net/tun: load the tun module (modprobe tun) or give the machine a tun device")
    for command, package in ((UML_BINARY, "user-mode-linux"), ("ip", "iproute2"), ("ssh", "openssh-client"),
                             ("ssh-keygen", "openssh-client")):
        if shutil.which(command) is None:
            problems.append(f"no {command}: apt-get install {package}")
    if "overlay" not in Path("/proc/filesystems").read_text():
        subprocess.run(["modprobe", "overlay"], capture_output=True, check=False)
        if "overlay" not in Path("/proc/filesystems").read_text():
            problems.append("the kernel has no overlayfs: modprobe overlay")
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    available_mb = int(meminfo["MemAvailable"].split()[0]) // 1024
    needed_mb = host_count * mem_mb + 512
    if available_mb < needed_mb:
        problems.append(f"too little free memory: {available_mb} MiB available, {needed_mb} MiB needed "
                        f"for {host_count} hosts at {mem_mb} MiB (set LVS_LAB_MEM_MB lower or stop other labs)")
    if problems:
        raise LabError("the lab cannot start:\n  - " + "\n  - ".join(problems))


# --------------------------------------------------------------------------- rootfs

def deb822_stanzas(text: str) -> list[dict[str, str]]:
    """The stanzas of a deb822 file (apt's .sources, a Packages index): field to its first line."""
    return [dict((key, value.strip()) for key, value in
                 (line.split(":", 1) for line in stanza.splitlines()
                  if ":" in line and not line.startswith(("#", " ", "\t"))))
            for stanza in text.split("\n\n")]


def apt_mirror(suite: str) -> str:
    """The Debian mirror the machine's own apt sources name for SUITE."""
    sources = Path("/etc/apt/sources.list.d")
    for path in sorted(sources.glob("*.sources")):
        for fields in deb822_stanzas(path.read_text()):
            suites = fields.get("Suites", "").split()
            if suite in suites and "main" in fields.get("Components", "").split():
                return fields["URIs"].split()[0]
    for path in [Path("/etc/apt/sources.list"), *sorted(sources.glob("*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = re.sub(r"\[.*?\]", "", line).split()
            if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
                return words[1]
    # One archive serves every release: the mirror of the machine's own one serves the others too.
    if suite != host_suite():
        return apt_mirror(host_suite())
    raise LabError(f"no apt source for Debian '{suite}' main in /etc/apt; the lab builds its rootfs from it")


def host_suite() -> str:
    release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
    suite = release.get("VERSION_CODENAME", "").strip('"')
    if not suite:
        raise LabError("cannot tell the Debian suite from /etc/os-release (VERSION_CODENAME)")
    return suite


def default_release() -> str:
    """$LVS_LAB_RELEASE, else the machine's own release."""
    return os.environ.get("LVS_LAB_RELEASE") or host_suite()


def checked_release(release: str) -> str:
    if release not in RELEASES:
        raise LabError(f"release {release!r}: the lab builds {', '.join(RELEASES)}")
    return release


def rootfs_recipe(release: str) -> dict[str, Any]:
    return {"version": RECIPE_VERSION, "suite": release, "kernel": uml_kernel_version(),
            "base": BASE_PACKAGES, "repo": REPO_PACKAGES, "prepare": PREPARE_SCRIPT}


def rootfs_path(release: str) -> Path:
    digest = hashlib.sha256(json.dumps(rootfs_recipe(release), sort_keys=True).encode()).hexdigest()[:16]
    return CACHE_ROOT / f"rootfs-{digest}"


def repo_versions(rootfs: Path) -> dict[str, str]:
    """The version of each package of the rootfs's local repository, from its Packages index."""
    index = rootfs / LOCAL_REPO_DIR.lstrip("/") / "Packages"
    stanzas = deb822_stanzas(index.read_text()) if index.is_file() else []
    return {fields["Package"]: fields["Version"] for fields in stanzas if fields.get("Package") in REPO_PACKAGES}


def rootfs_summary(release: str) -> str:
    """Release and keepalived version, as a lab's log and status name them."""
    keepalived = repo_versions(rootfs_path(release)).get("keepalived", "missing")
    return f"Debian {release}, keepalived {keepalived}"


def ensure_rootfs(release: str) -> Path:
    release = checked_release(release)
    target = rootfs_path(release)
    if (target / ".complete").is_file():
        log(f"rootfs: cached at {target} ({rootfs_summary(release)})")
        return target
    if shutil.which("debootstrap") is None:
        raise LabError("building the rootfs needs debootstrap: apt-get install debootstrap")
    recipe = rootfs_recipe(release)
    suite, kernel = recipe["suite"], recipe["kernel"]
    mirror = apt_mirror(suite)
    staging = target.with_name(target.name + ".building")
    if staging.exists():
        unmount_all_under(staging)
        shutil.rmtree(staging)
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"rootfs: building {target.name} (debootstrap {suite}; takes a minute or two)")
    try:
        run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", suite, str(staging), mirror],
            capture=True)
        log(f"rootfs: debootstrap done in {time.monotonic() - started:.0f} s; preparing local repo and services")
        shutil.copytree(UML_MODULES / kernel, staging / "lib" / "modules" / kernel, symlinks=True)
        (staging / "proc").mkdir(exist_ok=True)
        run(["mount", "-t", "proc", "proc", str(staging / "proc")])
        try:
            env_lines = (f"REPO_PACKAGES='{' '.join(REPO_PACKAGES)}' LOCAL_REPO_DIR={LOCAL_REPO_DIR} "
                         f"UML_KERNEL={kernel}")
            run(["chroot", str(staging), "/bin/sh", "-c", f"{env_lines}; export REPO_PACKAGES LOCAL_REPO_DIR UML_KERNEL\n"
                 + PREPARE_SCRIPT], capture=True)
        finally:
            unmount_all_under(staging)
        (staging / ".complete").write_text(json.dumps(recipe, indent=2))
        staging.rename(target)
    except BaseException:
        unmount_all_under(staging)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"rootfs: built in {time.monotonic() - started:.0f} s at {target} ({rootfs_summary(release)})")
    return target


def ensure_xstate_shim() -> Path:
    """The compiled XSAVE wrapper every UML kernel is started with, built once per source."""
    source = XSTATE_SHIM_SOURCE.read_bytes()
    target = CACHE_ROOT / f"uml-xstate-shim-{hashlib.sha256(source).hexdigest()[:16]}.so"
    if target.is_file():
        return target
    if shutil.which("gcc") is None:
        raise LabError("the lab compiles a small wrapper for its UML kernels with gcc: apt-get install gcc")
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.{os.getpid()}")
    run(["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(building), str(XSTATE_SHIM_SOURCE), "-ldl"],
        capture=True)
    building.rename(target)
    return target


# --------------------------------------------------------------------------- mounts

def mountpoints_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) if path.exists() else str(path)
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def unmount_all_under(path: Path) -> None:
    """Unmounts everything at or below PATH, deepest first, until nothing is left (mounts can stack)."""
    for _attempt in range(20):
        points = mountpoints_under(path)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    raise LabError(f"could not unmount everything under {path}: {mountpoints_under(path)}")


def mount_overlay(lab: Lab, host: Host, rootfs: Path) -> Path:
    base = lab.host_dir(host)
    merged = base / "merged"
    for sub in ("upper", "work", "merged"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    if not mountpoints_under(merged):
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={rootfs},upperdir={base / 'upper'},workdir={base / 'work'}", str(merged)])
    return merged


# --------------------------------------------------------------------------- network on the machine

def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True, check=False).returncode == 0


def make_bridge(name: str, address: str | None) -> None:
    if not link_exists(name):
        # Like an unmanaged switch, every port gets every multicast: the segments have no MLD
        # querier, and IPv6 VRRP (ff02::12) and neighbour solicitations must not hang on one.
        run(["ip", "link", "add", name, "type", "bridge", "mcast_snooping", "0"])
    # The machine takes no part on data segments: no IPv6 autoconf, no address.
    Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
    if address:
        run(["ip", "addr", "replace", address, "dev", name])
    run(["ip", "link", "set", name, "up"])


def make_tap(name: str, bridge: str) -> None:
    if not link_exists(name):
        run(["ip", "tuntap", "add", "dev", name, "mode", "tap"])
    run(["ip", "link", "set", name, "master", bridge, "up"])


def firewall_binaries() -> list[str]:
    """iptables front ends whose FORWARD chain decides for bridged and routed lab traffic."""
    found = []
    for binary in ("iptables", "ip6tables"):
        if shutil.which(binary):
            found.append(binary)
        for variant in (f"{binary}-legacy", f"{binary}-nft"):
            if not shutil.which(variant) or not shutil.which(binary):
                continue
            same = os.path.realpath(shutil.which(variant)) == os.path.realpath(shutil.which(binary))
            listing = subprocess.run([variant, "-S", "FORWARD"], capture_output=True, text=True, check=False).stdout
            if not same and "-P FORWARD DROP" in listing:
                found.append(variant)
    return found


def firewall_rules(lab: Lab) -> list[list[str]]:
    comment = ["-m", "comment", "--comment", f"lvs-lab:{lab.name}"]
    rules = [["-i", lab.segment_bridge(s), "-o", lab.segment_bridge(s), *comment, "-j", "ACCEPT"] for s in lab.segments]
    rules.append(["-i", lab.mgmt_bridge, "-o", lab.mgmt_bridge, *comment, "-j", "ACCEPT"])
    # Lab hosts never reach outside: nothing from the management bridge is routed anywhere.
    rules.append(["-i", lab.mgmt_bridge, "!", "-o", lab.mgmt_bridge, *comment, "-j", "DROP"])
    return rules


def open_forwarding(lab: Lab) -> None:
    for binary in firewall_binaries():
        for rule in firewall_rules(lab):
            # -w: labs starting or stopping at once would otherwise fail on the xtables lock.
            if subprocess.run([binary, "-w", "-C", "FORWARD", *rule], capture_output=True, check=False).returncode != 0:
                run([binary, "-w", "-I", "FORWARD", *rule], capture=True)


def close_forwarding(name: str) -> None:
    for binary in firewall_binaries():
        listing = subprocess.run([binary, "-S", "FORWARD"], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            if f'"lvs-lab:{name}"' in line or f"lvs-lab:{name} " in line + " ":
                if line.startswith("-A FORWARD"):
                    argv = shlex.split(line)
                    subprocess.run([binary, "-w", "-D", *argv[1:]], capture_output=True, check=False)


def nft_table(lab: Lab) -> str:
    return f"lvslab_{lab.slot}"


def nft(script: str) -> None:
    if shutil.which("nft") is None:
        raise LabError("traffic cuts need nft on the machine: apt-get install nftables")
    run(["nft", "-f", "-"], input=script, capture=True)


# --------------------------------------------------------------------------- hosts

def session_file(lab: Lab, umid: str) -> Path:
    return lab.dir / "uml" / f"{umid}.session"


def processes() -> Iterator[tuple[int, int, list[str]]]:
    """(pid, session id, argv) of every process, zombies included (their argv is empty)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        yield int(entry.name), int(stat[stat.rindex(")") + 2:].split()[3]), argv


def uml_umids(prefix: str = "lvslab-") -> dict[int, str]:
    """Live UML processes whose umid starts with PREFIX, by pid."""
    found = {}
    for pid, _session, argv in processes():
        if argv and argv[0].startswith("linux"):
            for arg in argv:
                if arg.startswith(f"umid={prefix}"):
                    found[pid] = arg.removeprefix("umid=")
    return found


def host_processes(lab: Lab, umid: str) -> list[int]:
    """Every process of one UML instance, zombies included, wherever it was reparented.

    Matched by the session the kernel was started in and, should that record be
    lost, by the umid on the command line (zombies have no command line left).
    """
    try:
        session = int(session_file(lab, umid).read_text())
    except (OSError, ValueError):
        session = None
    by_umid = [pid for pid, found in uml_umids(umid).items() if found == umid]
    in_session = [pid for pid, sid, _argv in processes() if session is not None and sid == session]
    return sorted(set(by_umid + in_session))


def write_host_files(lab: Lab, host: Host, merged: Path) -> None:
    """First boot only: identity, addresses, the lab's SSH key and this host's own SSH host keys."""
    if (lab.host_dir(host) / "upper" / "etc" / "hostname").exists():
        return
    (merged / "etc" / "hostname").write_text(f"{host.name}\n")
    hosts_lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    hosts_lines += [f"{lab.mgmt_address(other)} {other.name}-mgmt" for other in lab.hosts]
    hosts_lines.append(f"127.0.1.1 {host.name}")
    (merged / "etc" / "hosts").write_text("\n".join(hosts_lines) + "\n")
    network = merged / "etc" / "systemd" / "network"
    network.mkdir(parents=True, exist_ok=True)
    (network / "10-eth0.network").write_text(
        "# Lab management interface: the controller's SSH only, no route anywhere.\n"
        f"[Match]\nName=eth0\n\n[Network]\nAddress={lab.mgmt_address(host)}/24\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")
    for number, iface in enumerate(host.interfaces, start=1):
        addresses = "".join(f"Address={address}\n" for address in iface.addresses)
        (network / f"20-eth{number}.network").write_text(
            f"# Lab data segment {iface.segment}\n[Match]\nName=eth{number}\n\n[Network]\n{addresses}"
            "LinkLocalAddressing=ipv6\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n")
    ssh_dir = merged / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(lab.key.with_suffix(".pub").read_text())
    (ssh_dir / "authorized_keys").chmod(0o600)
    run(["ssh-keygen", "-q", "-A", "-f", str(merged)], capture=True)


def start_host(lab: Lab, host: Host, rootfs: Path) -> None:
    if host_processes(lab, lab.umid(host)):
        raise LabError(f"host {host.name} is already running")
    merged = mount_overlay(lab, host, rootfs)
    write_host_files(lab, host, merged)
    make_tap(lab.tap(host, 0), lab.mgmt_bridge)
    argv = [UML_BINARY, f"mem={lab.mem_mb}M", f"umid={lab.umid(host)}", f"uml_dir={lab.dir / 'uml'}",
            "root=/dev/root", "rootfstype=hostfs", f"rootflags={merged}", "rw", "init=/lib/systemd/systemd",
            "con=null", "con0=null,fd:1", "ssl=null", f"eth0=tuntap,{lab.tap(host, 0)},{lab.mac(host, 0)}"]
    for number, iface in enumerate(host.interfaces, start=1):
        make_tap(lab.tap(host, number), lab.segment_bridge(iface.segment))
        argv.append(f"eth{number}=tuntap,{lab.tap(host, number)},{lab.mac(host, number)}")
    (lab.dir / "uml").mkdir(parents=True, exist_ok=True)
    console = open(lab.host_dir(host) / "console.log", "ab")
    # A session of its own, so the kernel and all its helper processes stop as one group.
    kernel = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                              start_new_session=True, cwd=lab.host_dir(host),
                              env={**os.environ, "LD_PRELOAD": str(ensure_xstate_shim())})
    console.close()
    session_file(lab, lab.umid(host)).write_text(str(kernel.pid))


def stop_hosts(lab: Lab, umids: list[str]) -> None:
    """Kills hosts' kernels outright and waits until not one of their processes is left."""
    deadline = time.monotonic() + 20
    while survivors := {umid: pids for umid in umids if (pids := host_processes(lab, umid))}:
        for pid in (pid for pids in survivors.values() for pid in pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        if time.monotonic() > deadline:
            raise LabError(f"processes survive SIGKILL: {survivors}")
        time.sleep(0.1)
    for umid in umids:
        shutil.rmtree(lab.dir / "uml" / umid, ignore_errors=True)
        session_file(lab, umid).unlink(missing_ok=True)


def ssh_argv(lab: Lab, host: Host, command: list[str] | None = None, timeout: int = 10) -> list[str]:
    argv = ["ssh", "-F", str(lab.ssh_config), "-o", f"ConnectTimeout={timeout}", host.name]
    return argv + ([shlex.join(command)] if command else [])


def wait_for_ssh(lab: Lab, hosts: list[Host], started: float) -> None:
    pending = {host.name: host for host in hosts}
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while pending:
        probes = {name: subprocess.Popen(ssh_argv(lab, host, ["true"], timeout=2), stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL) for name, host in pending.items()}
        for name, probe in probes.items():
            if probe.wait() == 0:
                log(f"  {name}: ssh ready after {time.monotonic() - started:.1f} s")
                del pending[name]
        if pending and time.monotonic() > deadline:
            names = ", ".join(pending)
            raise LabError(f"no ssh from {names} within {BOOT_TIMEOUT_S} s; see console.log under {lab.dir / 'hosts'}")
        if pending:
            time.sleep(0.5)


def write_ssh_config(lab: Lab) -> None:
    entries = []
    for host in lab.hosts:
        entries.append(
            f"Host {host.name} {lab.mgmt_address(host)}\n  HostName {lab.mgmt_address(host)}\n  User {SSH_USER}\n"
            f"  IdentityFile {lab.key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
            f"  ControlMaster auto\n  ControlPath {lab.dir}/cm-%h\n  ControlPersist 120s\n")
    lab.ssh_config.write_text("\n".join(entries))


def write_instance_config(lab: Lab, path: Path) -> None:
    """Molecule's delegated-driver instance config (JSON is YAML)."""
    config = [{"instance": host.name, "address": lab.mgmt_address(host), "user": SSH_USER, "port": 22,
               "identity_file": str(lab.key)} for host in lab.hosts]
    path.write_text(json.dumps(config, indent=2) + "\n")


def inventory_text(lab: Lab) -> str:
    """A YAML inventory of the lab, grouped as the topology says."""
    groups: dict[str, list[str]] = {}
    for host in lab.hosts:
        for group in host.groups:
            groups.setdefault(group, []).append(host.name)
    lines = ["all:", "  vars:", "    ansible_user: root", "    ansible_python_interpreter: /usr/bin/python3",
             f"    ansible_ssh_private_key_file: {lab.key}",
             f"    ansible_ssh_common_args: -F {lab.ssh_config}", "  hosts:"]
    for host in lab.hosts:
        lines.append(f"    {host.name}:\n      ansible_host: {lab.mgmt_address(host)}")
    if groups:
        lines.append("  children:")
        for group, members in groups.items():
            lines.append(f"    {group}:\n      hosts:")
            lines.extend(f"        {member}:" for member in members)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commands

def lab_up(name: str, platforms: list[dict[str, Any]], instance_config: Path | None, mem_mb: int,
           release: str) -> Lab:
    hosts = parse_topology(platforms)
    if (STATE_ROOT / name).exists():
        log(f"a lab named {name} is left from an earlier run; tearing it down first")
        lab_down(name)
    check_requirements(len(hosts), mem_mb)
    with allocation_lock():
        rootfs = ensure_rootfs(release)
        lab = Lab(name=name, slot=free_slot(), hosts=hosts, mem_mb=mem_mb, release=release)
        lab.save()
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"lvs-lab-{name}", "-f", str(lab.key)])
    write_ssh_config(lab)
    make_bridge(lab.mgmt_bridge, f"{MGMT_PREFIX}.{lab.slot}.1/24")
    for segment in lab.segments:
        make_bridge(lab.segment_bridge(segment), None)
    open_forwarding(lab)
    started = time.monotonic()
    log(f"booting {len(hosts)} hosts ({mem_mb} MiB each, kernel {uml_kernel_version()}, {rootfs_summary(release)})")
    for host in hosts:
        start_host(lab, host, rootfs)
    wait_for_ssh(lab, hosts, started)
    log(f"lab {name} up: {len(hosts)} hosts in {time.monotonic() - started:.1f} s")
    if instance_config:
        write_instance_config(lab, instance_config)
    return lab


def lab_down(name: str) -> None:
    """Removes everything the lab made, even when its state file is gone or half written."""
    lab_dir = STATE_ROOT / name
    try:
        lab = Lab.load(name)
    except (LabError, ValueError, KeyError):
        lab = None
    umids = {f"lvslab-{name}-{h.name}" for h in lab.hosts} if lab else set()
    umids |= set(uml_umids(f"lvslab-{name}-").values())
    stop_hosts(lab or Lab(name=name, slot=-1, hosts=[]), sorted(umids))
    # The ssh control masters belong to the lab too.
    for socket_path in lab_dir.glob("cm-*"):
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "lab"], capture_output=True, check=False)
    close_forwarding(name)
    if lab:
        if shutil.which("nft"):
            subprocess.run(["nft", "delete", "table", "bridge", nft_table(lab)], capture_output=True, check=False)
        for link in lab_links(lab.slot):
            subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
    unmount_all_under(lab_dir)
    if lab_dir.exists():
        shutil.rmtree(lab_dir)
    leftovers = find_leftovers(name, lab.slot if lab else None)
    if leftovers:
        raise LabError("teardown left things behind:\n  - " + "\n  - ".join(leftovers))
    log(f"lab {name} is down; nothing of it is left")


def find_leftovers(name: str | None = None, slot: int | None = None) -> list[str]:
    """Processes, links, mounts and state of one lab (or of every lab) that still exist."""
    found = [f"process {pid}: UML host {umid}"
             for pid, umid in uml_umids(f"lvslab-{name}-" if name else "lvslab-").items()]
    if name is None or slot is not None:
        found += [f"link {link}" for link in lab_links(slot)]
    found += [f"mount {point}" for point in mountpoints_under(STATE_ROOT / name if name else STATE_ROOT)]
    if name and (STATE_ROOT / name).exists():
        found.append(f"directory {STATE_ROOT / name}")
    return found


def host_running(lab: Lab, host: Host) -> bool:
    return bool(host_processes(lab, lab.umid(host)))


def lab_status(name: str | None) -> dict[str, Any]:
    names = [name] if name else sorted(p.parent.name for p in STATE_ROOT.glob("*/state.json"))
    report = {}
    for lab_name in names:
        lab = Lab.load(lab_name)
        report[lab_name] = {
            "slot": lab.slot, "ssh_config": str(lab.ssh_config), "kernel": uml_kernel_version(),
            "rootfs": rootfs_summary(lab.release),
            "hosts": {h.name: {"running": host_running(lab, h), "mgmt": lab.mgmt_address(h), "groups": h.groups,
                               "interfaces": {f"eth{n}": {"segment": i.segment, "addresses": i.addresses}
                                              for n, i in enumerate(h.interfaces, start=1)}}
                      for h in lab.hosts}}
    return report


def guest_command(lab: Lab, host: Host, command: list[str]) -> None:
    result = subprocess.run(ssh_argv(lab, host, command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LabError(f"{host.name}: {shlex.join(command)} failed: {result.stderr.strip()}")


def cut(lab: Lab, segment: str, hosts: list[str] | None, proto: int | None) -> None:
    """Drops traffic on a segment's bridge: all of it, or between two hosts, optionally one IP protocol."""
    if segment not in lab.segments:
        raise LabError(f"lab {lab.name} has no segment {segment!r}; segments: {', '.join(lab.segments)}")
    segment_taps = ", ".join(f'"{lab.tap(h, n)}"' for h in lab.hosts
                             for n, i in enumerate(h.interfaces, start=1) if i.segment == segment)
    match_proto = f"meta l4proto {proto} " if proto is not None else ""
    table = nft_table(lab)
    chain = f"cut_{segment}"
    rules = []
    if hosts:
        taps = []
        for name in hosts:
            host = lab.host(name)
            numbers = [n for n, i in enumerate(host.interfaces, start=1) if i.segment == segment]
            if not numbers:
                raise LabError(f"host {name} has no interface on segment {segment}")
            taps.append(lab.tap(host, numbers[0]))
        for a in taps:
            for b in taps:
                if a != b:
                    rules.append(f'add rule bridge {table} {chain} iifname "{a}" oifname "{b}" {match_proto}drop')
    else:
        rules.append(f"add rule bridge {table} {chain} {match_proto}drop")
    nft("\n".join([
        f"add table bridge {table}",
        f"add chain bridge {table} forward {{ type filter hook forward priority -200; policy accept; }}",
        f"add chain bridge {table} {chain}",
        *rules,
    ]) + "\n")
    listing = run(["nft", "list", "chain", "bridge", table, "forward"], capture=True).stdout
    if f"jump {chain}" not in listing:
        nft(f"add rule bridge {table} forward iifname {{ {segment_taps} }} jump {chain}\n")


def restore(lab: Lab, segment: str) -> None:
    if shutil.which("nft") and subprocess.run(["nft", "list", "chain", "bridge", nft_table(lab), f"cut_{segment}"],
                                              capture_output=True, check=False).returncode == 0:
        nft(f"flush chain bridge {nft_table(lab)} cut_{segment}\n")


def lab_name(args: argparse.Namespace) -> str:
    name = args.name or os.environ.get("LVS_LAB_NAME", "demo")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,30}", name):
        raise LabError(f"lab name {name!r}: lowercase letters, digits, '-' and '_' only")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--name", help="lab name (default $LVS_LAB_NAME or 'demo')")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="build the rootfs if needed and boot every host")
    up.add_argument("--topology", required=True, type=Path, help="JSON list of Molecule-style platforms")
    up.add_argument("--instance-config", type=Path, help="write Molecule's instance config here")
    up.add_argument("--mem", type=int, default=DEFAULT_MEM_MB, help="MiB of memory per host")
    up.add_argument("--release", choices=RELEASES, help="Debian release of every host (default $LVS_LAB_RELEASE, "
                    "else the machine's own)")
    commands.add_parser("down", help="tear everything of the lab down")
    commands.add_parser("status", help="hosts, their state and addresses (JSON)")
    commands.add_parser("inventory", help="print a YAML Ansible inventory of the lab")
    build = commands.add_parser("build", help="build (or reuse) the cached rootfs and the UML kernels' XSAVE wrapper")
    build.add_argument("--release", choices=RELEASES, action="append",
                       help="a Debian release to build the rootfs of; repeatable (default as for up)")
    commands.add_parser("leftovers", help="list anything of any lab still on the machine; exit 1 if some")
    ssh = commands.add_parser("ssh", help="ssh into a host, or run a command there")
    ssh.add_argument("host")
    ssh.add_argument("remote", nargs=argparse.REMAINDER)
    for verb, text in (("kill", "kill a host's kernel outright (SIGKILL to its whole process group)"),
                       ("start", "boot a stopped host again from its own root, state kept")):
        commands.add_parser(verb, help=text).add_argument("host")
    for verb, text in (("ifdown", "take a data interface down inside the guest"), ("ifup", "bring it back up")):
        sub = commands.add_parser(verb, help=text)
        sub.add_argument("host")
        sub.add_argument("interface")
    cut_parser = commands.add_parser("cut", help="drop traffic on a data segment")
    cut_parser.add_argument("segment")
    cut_parser.add_argument("--hosts", nargs=2, metavar="HOST", help="only between these two hosts")
    cut_parser.add_argument("--proto", type=int, help="only this IP protocol number (VRRP is 112)")
    commands.add_parser("restore", help="undo every cut on a segment").add_argument("segment")
    args = parser.parse_args(argv)

    try:
        if args.command == "build":
            with allocation_lock():  # an `up` elsewhere may be building the same rootfs
                for release in args.release or [default_release()]:
                    ensure_rootfs(release)
                ensure_xstate_shim()
        elif args.command == "leftovers":
            leftovers = find_leftovers()
            print("\n".join(leftovers) if leftovers else "nothing of any lab is left")
            return 1 if leftovers else 0
        elif args.command == "status":
            print(json.dumps(lab_status(args.name), indent=2))
        elif args.command == "up":
            name = lab_name(args)
            platforms = json.loads(args.topology.read_text())
            try:
                lab = lab_up(name, platforms, args.instance_config, args.mem,
                             checked_release(args.release or default_release()))
            except BaseException:
                log("bringing the lab up failed; tearing down what was made")
                try:
                    lab_down(name)
                except LabError as error:
                    log(str(error))
                raise
            print(f"ssh config: {lab.ssh_config}  (e.g. ssh -F {lab.ssh_config} {lab.hosts[0].name})")
        elif args.command == "down":
            lab_down(lab_name(args))
        else:
            lab = Lab.load(lab_name(args))
            if args.command == "inventory":
                print(inventory_text(lab), end="")
            elif args.command == "ssh":
                host = lab.host(args.host)
                # Like ssh itself, the remote words are joined and run by the guest's shell.
                os.execvp("ssh", ssh_argv(lab, host) + args.remote)
            elif args.command == "kill":
                host = lab.host(args.host)
                stop_hosts(lab, [lab.umid(host)])
                log(f"{host.name}: killed, no process left")
            elif args.command == "start":
                host = lab.host(args.host)
                started = time.monotonic()
                start_host(lab, host, ensure_rootfs(lab.release))
                wait_for_ssh(lab, [host], started)
            elif args.command in ("ifdown", "ifup"):
                host = lab.host(args.host)
                if not re.fullmatch(r"eth[1-9]\d*", args.interface):
                    raise LabError(f"interface {args.interface!r}: only data interfaces eth1.. can be taken down")
                state = "down" if args.command == "ifdown" else "up"
                guest_command(lab, host, ["ip", "link", "set", args.interface, state])
            elif args.command == "cut":
                cut(lab, args.segment, args.hosts, args.proto)
            elif args.command == "restore":
                restore(lab, args.segment)
    except LabError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
    return 0


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGTERM (molecule or CI giving up) unwinds like Ctrl-C, so a half-built lab is torn down.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    sys.exit(main())
