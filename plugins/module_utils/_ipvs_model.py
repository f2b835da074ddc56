# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS table as data, and its two text forms.

ipvsadm's save format (``ipvsadm -S -n``) is both what we read and what we
write: the live table is parsed from it, and a plan is applied as the same
lines fed to ``ipvsadm -R``. Everything here is pure: no commands are run.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

PROTOCOL_FLAGS = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}
FLAG_PROTOCOLS = {"-t": "tcp", "--tcp-service": "tcp", "-u": "udp", "--udp-service": "udp",
                  "--sctp-service": "sctp", "-f": "fwmark", "--fwmark-service": "fwmark"}
FORWARDING_FLAGS = {"dr": "-g", "nat": "-m", "tun": "-i"}
FLAG_FORWARDING = {"-g": "dr", "--gatewaying": "dr", "-m": "nat", "--masquerading": "nat",
                   "-i": "tun", "--ipip": "tun"}
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos")
SCHEDULER_FLAGS = ("sh-fallback", "sh-port", "mh-fallback", "mh-port")
TUNNEL_TYPES = ("ipip", "gue", "gre")
TUNNEL_CHECKSUMS = ("nocsum", "csum", "remcsum")
DEFAULT_SCHEDULER = "wlc"
DEFAULT_PERSISTENCE_NETMASK_V4 = "255.255.255.255"
DEFAULT_PERSISTENCE_PREFIX_V6 = 128


class ParseError(ValueError):
    """A line of ipvsadm output this parser does not understand."""


def _family_of(address: str) -> str:
    return "ipv6" if ipaddress.ip_address(address).version == 6 else "ipv4"


def _format_endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _parse_endpoint(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([0-9.]+):(\d+)", text)
    if not match:
        raise ParseError(f"not an address:port: {text!r}")
    address = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    return str(ipaddress.ip_address(address)), port


@dataclass(frozen=True, order=True)
class ServiceKey:
    """What identifies a virtual service: protocol, address and port, or a firewall mark."""

    protocol: str  # tcp, udp, sctp or fwmark
    address: str = ""  # empty for fwmark services
    port: int = 0
    fwmark: int = 0
    family: str = "ipv4"

    @classmethod
    def make(cls, protocol: str = "tcp", address: str | None = None, port: int | None = None,
             fwmark: int | None = None, family: str | None = None) -> ServiceKey:
        if fwmark:
            return cls(protocol="fwmark", fwmark=int(fwmark), family=family or "ipv4")
        normal = str(ipaddress.ip_address(address))
        return cls(protocol=protocol, address=normal, port=int(port or 0), family=_family_of(normal))

    def argv(self) -> list[str]:
        """The service's ipvsadm arguments, e.g. ['-t', '10.0.0.1:80'] or ['-f', '1', '-6']."""
        if self.protocol == "fwmark":
            return ["-f", str(self.fwmark)] + (["-6"] if self.family == "ipv6" else [])
        return [PROTOCOL_FLAGS[self.protocol], _format_endpoint(self.address, self.port)]

    def __str__(self) -> str:
        if self.protocol == "fwmark":
            return f"fwmark {self.fwmark} ({self.family})"
        return f"{self.protocol} {_format_endpoint(self.address, self.port)}"


@dataclass(frozen=True)
class Destination:
    """A real server of a virtual service."""

    address: str
    port: int
    forwarding: str = "dr"
    weight: int = 1
    upper_threshold: int = 0
    lower_threshold: int = 0
    tun_type: str = ""  # with forwarding tun: ipip (the default when empty), gue or gre
    tun_port: int = 0
    tun_checksum: str = ""  # nocsum, csum or remcsum; empty for the kernel's default

    @property
    def key(self) -> tuple[str, int]:
        return (self.address, self.port)

    def argv(self) -> list[str]:
        argv = ["-r", _format_endpoint(self.address, self.port), FORWARDING_FLAGS[self.forwarding],
                "-w", str(self.weight)]
        if self.upper_threshold:
            argv += ["-x", str(self.upper_threshold)]
        if self.lower_threshold:
            argv += ["-y", str(self.lower_threshold)]
        if self.forwarding == "tun" and self.tun_type and self.tun_type != "ipip":
            argv += ["--tun-type", self.tun_type]
            if self.tun_port:
                argv += ["--tun-port", str(self.tun_port)]
            if self.tun_checksum:
                argv += [f"--tun-{self.tun_checksum}"]
        return argv

    def normalized(self) -> Destination:
        """As the kernel keeps it: ipip is the default tunnel type."""
        if self.forwarding == "tun" and self.tun_type in ("", "ipip"):
            return replace(self, tun_type="", tun_port=0, tun_checksum="")
        if self.forwarding != "tun":
            return replace(self, tun_type="", tun_port=0, tun_checksum="")
        return self


@dataclass(frozen=True)
class Service:
    """A virtual service with its settings and real servers."""

    key: ServiceKey
    scheduler: str = DEFAULT_SCHEDULER
    scheduler_flags: tuple[str, ...] = ()
    persistent: int = 0  # persistence timeout in seconds; 0: not persistent
    netmask: str = ""  # persistence granularity: dotted netmask (IPv4) or prefix length (IPv6)
    pe: str = ""  # persistence engine, e.g. sip
    ops: bool = False  # one-packet scheduling (UDP)
    destinations: tuple[Destination, ...] = field(default=())

    def settings_argv(self) -> list[str]:
        argv = ["-s", self.scheduler]
        if self.scheduler_flags:
            argv += ["-b", ",".join(sorted(self.scheduler_flags))]
        if self.persistent:
            argv += ["-p", str(self.persistent)]
            if self.netmask:
                argv += ["-M", self.netmask]
        if self.pe:
            argv += ["--pe", self.pe]
        if self.ops:
            argv.append("-o")
        return argv

    def settings(self) -> Service:
        """The service without its destinations, normalized as ipvsadm -S shows it.

        The persistence granularity is kept only when it is not the default
        (a single client address), as ipvsadm prints it only then.
        """
        netmask = self.netmask.lstrip("/") if self.persistent else ""
        if netmask in (DEFAULT_PERSISTENCE_NETMASK_V4, str(DEFAULT_PERSISTENCE_PREFIX_V6)):
            netmask = ""
        return replace(self, scheduler_flags=tuple(sorted(set(self.scheduler_flags))), netmask=netmask,
                       destinations=())

    def destination_map(self) -> dict[tuple[str, int], Destination]:
        return {dest.key: dest.normalized() for dest in self.destinations}


def save_lines(services: list[Service]) -> list[str]:
    """The services in ``ipvsadm -S -n`` syntax, sorted, destinations after their service."""
    lines = []
    for service in sorted(services, key=lambda s: s.key):
        lines.append(" ".join(["-A", *service.key.argv(), *service.settings().settings_argv()]))
        for dest in sorted(service.destinations, key=lambda d: d.key):
            lines.append(" ".join(["-a", *service.key.argv(), *dest.normalized().argv()]))
    return lines


def _service_key_from_words(words: list[str], position: int) -> tuple[ServiceKey, int]:
    flag = words[position]
    protocol = FLAG_PROTOCOLS.get(flag)
    if protocol is None:
        raise ParseError(f"no service in {' '.join(words)!r}")
    value = words[position + 1]
    if protocol == "fwmark":
        return ServiceKey(protocol="fwmark", fwmark=int(value), family="ipv4"), position + 2
    address, port = _parse_endpoint(value)
    return ServiceKey(protocol=protocol, address=address, port=port, family=_family_of(address)), position + 2


def parse_save(text: str) -> tuple[list[Service], list[str]]:
    """Services from ``ipvsadm -S -n`` output, and the lines it could not read (never dropped silently)."""
    services: dict[ServiceKey, Service] = {}
    order: list[ServiceKey] = []
    destinations: dict[ServiceKey, list[Destination]] = {}
    unknown: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            words = line.split()
            if words[0] == "-A":
                service = _parse_service_line(words)
                services[service.key] = service
                order.append(service.key)
                destinations.setdefault(service.key, [])
            elif words[0] == "-a":
                key, dest = _parse_destination_line(words)
                if key not in services:
                    raise ParseError(f"real server of an unknown service: {line!r}")
                destinations[key].append(dest)
            else:
                raise ParseError(line)
        except (ParseError, ValueError, IndexError):
            unknown.append(line)
    result = [replace(services[key], destinations=tuple(destinations[key])) for key in order]
    return result, unknown


def _parse_service_line(words: list[str]) -> Service:
    key, position = _service_key_from_words(words, 1)
    scheduler, flags, persistent, netmask, pe, ops, family = DEFAULT_SCHEDULER, (), 0, "", "", False, key.family
    while position < len(words):
        word = words[position]
        if word in ("-s", "--scheduler"):
            scheduler = words[position + 1]
            position += 2
        elif word in ("-b", "--sched-flags"):
            flags = tuple(sorted(words[position + 1].split(",")))
            position += 2
        elif word in ("-p", "--persistent"):
            persistent = int(words[position + 1])
            position += 2
        elif word in ("-M", "--netmask"):
            netmask = words[position + 1]
            position += 2
        elif word == "--pe":
            pe = words[position + 1]
            position += 2
        elif word in ("-o", "--ops"):
            ops = True
            position += 1
        elif word in ("-6", "--ipv6"):
            family = "ipv6"
            position += 1
        else:
            raise ParseError(f"unknown service option {word!r}")
    return Service(key=replace(key, family=family), scheduler=scheduler, scheduler_flags=flags,
                   persistent=persistent, netmask=netmask, pe=pe, ops=ops)


def _parse_destination_line(words: list[str]) -> tuple[ServiceKey, Destination]:
    key, position = _service_key_from_words(words, 1)
    address, port, forwarding, weight = "", 0, "dr", 1
    upper = lower = tun_port = 0
    tun_type = tun_checksum = ""
    while position < len(words):
        word = words[position]
        if word in ("-6", "--ipv6"):
            key = replace(key, family="ipv6")
            position += 1
        elif word in ("-r", "--real-server"):
            address, port = _parse_endpoint(words[position + 1])
            position += 2
        elif word in FLAG_FORWARDING:
            forwarding = FLAG_FORWARDING[word]
            position += 1
        elif word in ("-w", "--weight"):
            weight = int(words[position + 1])
            position += 2
        elif word in ("-x", "--u-threshold"):
            upper = int(words[position + 1])
            position += 2
        elif word in ("-y", "--l-threshold"):
            lower = int(words[position + 1])
            position += 2
        elif word == "--tun-type":
            tun_type = words[position + 1]
            position += 2
        elif word == "--tun-port":
            tun_port = int(words[position + 1])
            position += 2
        elif word in ("--tun-nocsum", "--tun-csum", "--tun-remcsum"):
            tun_checksum = word.removeprefix("--tun-")
            position += 1
        else:
            raise ParseError(f"unknown real server option {word!r}")
    if not address:
        raise ParseError(f"no real server in {' '.join(words)!r}")
    dest = Destination(address=address, port=port, forwarding=forwarding, weight=weight, upper_threshold=upper,
                       lower_threshold=lower, tun_type=tun_type, tun_port=tun_port, tun_checksum=tun_checksum)
    return key, dest.normalized()
