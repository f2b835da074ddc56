# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for ipvsadm's listings (-L -n and its variants, -c, --timeout, --daemon).

Each returns structured data and the lines it did not understand, so a caller can
warn about them instead of dropping them silently. Run ipvsadm with -n, --exact and
LC_ALL=C so that every number is a plain integer.
"""

from __future__ import annotations

import re

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    ParseError,
    ServiceKey,
    _parse_endpoint,
)

LISTING_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp", "FWM": "fwmark"}
FORWARD_NAMES = {"Route": "dr", "Masq": "nat", "Tunnel": "tun", "Local": "local", "Bypass": "bypass"}
COLUMN_NAMES = {
    "Forward": "forwarding", "Weight": "weight", "ActiveConn": "active_connections",
    "InActConn": "inactive_connections", "Uthreshold": "upper_threshold", "Lthreshold": "lower_threshold",
    "PersistConn": "persistent_connections", "Conns": "connections", "InPkts": "packets_in",
    "OutPkts": "packets_out", "InBytes": "bytes_in", "OutBytes": "bytes_out", "CPS": "connections_per_second",
    "InPPS": "packets_in_per_second", "OutPPS": "packets_out_per_second", "InBPS": "bytes_in_per_second",
    "OutBPS": "bytes_out_per_second",
}


def _service_from_listing(words: list[str]) -> tuple[ServiceKey, list[str]]:
    protocol = LISTING_PROTOCOLS.get(words[0])
    if protocol is None:
        raise ParseError(" ".join(words))
    if protocol == "fwmark":
        family = "ipv6" if len(words) > 2 and words[2] == "IPv6" else "ipv4"
        rest = words[3:] if family == "ipv6" else words[2:]
        return ServiceKey(protocol="fwmark", fwmark=int(words[1]), family=family), rest
    address, port = _parse_endpoint(words[1])
    return ServiceKey.make(protocol=protocol, address=address, port=port), words[2:]


def _columns(names: list[str], values: list[str]) -> dict[str, object]:
    if len(names) != len(values):
        raise ParseError(f"expected {len(names)} columns, got {values}")
    row: dict[str, object] = {}
    for name, value in zip(names, values):
        key = COLUMN_NAMES.get(name)
        if key is None:
            raise ParseError(f"unknown column {name!r}")
        row[key] = FORWARD_NAMES.get(value, value) if key == "forwarding" else int(value)
    return row


def parse_listing(text: str) -> tuple[dict[ServiceKey, dict], list[str]]:
    """Services from an ``ipvsadm -L -n [--stats|--rate|--thresholds|--persistent-conn] --exact`` listing.

    Each service maps to {"flags": [...] or columns..., "destinations": {(address, port): {columns}}}.
    """
    lines = text.splitlines()
    unknown: list[str] = []
    services: dict[ServiceKey, dict] = {}
    if len(lines) < 3 or not lines[0].startswith("IP Virtual Server version"):
        return services, [line for line in lines if line.strip()]
    service_header = lines[1].split()[2:]  # after "Prot LocalAddress:Port"
    # Plain -L puts the real servers' columns on the third line; the variants put them on
    # the second, shared with the service counters (--stats, --rate) or not (--thresholds).
    destination_header = lines[2].split()[2:] or service_header
    current = None
    for line in lines[3:]:
        if not line.strip():
            continue
        words = line.split()
        try:
            if words[0] == "->":
                if current is None:
                    raise ParseError("real server before any service")
                address, port = _parse_endpoint(words[1])
                current["destinations"][(address, port)] = _columns(destination_header, words[2:])
            else:
                key, rest = _service_from_listing(words)
                if rest and all(word.isdigit() for word in rest):  # --stats, --rate: counters
                    current = _columns(service_header, rest)
                else:  # the scheduler and its flags, e.g. "wrr persistent 120 mask 255.255.255.0"
                    current = {"scheduler": rest[0], "flags": " ".join(rest[1:])}
                current["destinations"] = {}
                services[key] = current
        except (ParseError, ValueError, IndexError):
            unknown.append(line)
    return services, unknown


def parse_timeouts(text: str) -> tuple[dict[str, int], list[str]]:
    """``ipvsadm -L --timeout``: {"tcp": 900, "tcpfin": 120, "udp": 300}."""
    match = re.search(r"Timeout \(tcp tcpfin udp\): (\d+) (\d+) (\d+)", text)
    if not match:
        return {}, [line for line in text.splitlines() if line.strip()]
    rest = [line for line in text.splitlines() if line.strip() and match.group(0) not in line]
    return {"tcp": int(match.group(1)), "tcpfin": int(match.group(2)), "udp": int(match.group(3))}, rest


def parse_daemons(text: str) -> tuple[list[dict[str, object]], list[str]]:
    """``ipvsadm -L --daemon``: one entry per running sync daemon."""
    daemons, unknown = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = re.fullmatch(r"(master|backup) sync daemon \((.*)\)", line.strip())
        if not match:
            unknown.append(line)
            continue
        daemon: dict[str, object] = {"role": match.group(1)}
        for item in match.group(2).split(","):
            name, _sep, value = item.strip().partition("=")
            name = {"mcast": "interface"}.get(name, name)
            daemon[name] = int(value) if value.isdigit() else value
        daemons.append(daemon)
    return daemons, unknown


def parse_connections(text: str) -> tuple[list[dict[str, object]], list[str]]:
    """``ipvsadm -L -n -c``: the connection table."""
    connections, unknown = [], []
    for line in text.splitlines():
        words = line.split()
        if not words or line.startswith("IPVS connection entries") or words[0] == "pro":
            continue
        try:
            if len(words) != 6:
                raise ParseError(line)
            minutes, _sep, seconds = words[1].partition(":")
            client, virtual, destination = (_parse_endpoint(word) for word in words[3:6])
            connections.append({
                "protocol": words[0].lower(), "expires_in": int(minutes) * 60 + int(seconds), "state": words[2],
                "client_address": client[0], "client_port": client[1],
                "virtual_address": virtual[0], "virtual_port": virtual[1],
                "destination_address": destination[0], "destination_port": destination[1],
            })
        except (ParseError, ValueError):
            unknown.append(line)
    return connections, unknown
