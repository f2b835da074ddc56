# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addresses a host holds for the cluster (VIPs): parsing, and the plan that makes them match a list.

Private to lvs.cluster: the vip_addresses module is its only user.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t


class AddressError(Exception):
    """An address the module was given, or a line of `ip` output, that it cannot read."""


class Held(t.NamedTuple):
    """One address on one device, as `ip addr` takes it: ADDRESS/PREFIX dev DEVICE [label LABEL]. LABEL is
    None for the device's own name, which an address without a label carries."""

    address: str
    prefix: int
    device: str
    label: str | None = None

    def __str__(self) -> str:
        return f"{self.address}/{self.prefix} dev {self.device}" + (f" label {self.label}" if self.label else "")

    @property
    def place(self) -> tuple[str, int, str]:
        """What the kernel tells addresses apart by; the label is an attribute of the address."""
        return self.address, self.prefix, self.device

    @property
    def argv(self) -> list[str]:
        """This address as `ip addr replace` and `ip addr del` take it."""
        return [f"{self.address}/{self.prefix}", "dev", self.device, *(["label", self.label] if self.label else [])]


class Plan(t.NamedTuple):
    add: list[Held]
    remove: list[Held]
    # Live with another label than wanted: deleted before the wanted one is added, since
    # `ip addr replace` keeps the label an address already has.
    relabel: list[Held]

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)


_HELD = re.compile(r"^\s*(?P<address>[0-9A-Fa-f:.]+)(?:/(?P<prefix>\d+))?\s+dev\s+(?P<device>\S+)"
                   r"(?:\s+label\s+(?P<label>\S+))?\s*$")
# A unit written by this collection's roles: one line per address it holds at boot.
_UNIT_LINE = re.compile(r"^ExecStart=-?\S*\bip addr replace (?P<held>\S+ dev \S+(?: label \S+)?)\s*$")
# `ip -o addr show`: "INDEX: DEVICE    FAMILY ADDRESS/PREFIX ... \ valid_lft ...".
# A point-to-point address reads "ADDRESS peer PEER/PREFIX".
_IP_LINE = re.compile(r"^\d+:\s+(?P<device>[^\s@]+)(?:@\S+)?\s+(?P<family>inet6?)\s+(?P<address>[0-9a-f:.]+)"
                      r"(?: peer [0-9a-f:.]+)?/(?P<prefix>\d+)\s(?P<rest>.*)$")
# An IPv4 address's label closes its line's first part, before the backslash: "... scope global eth1:18\".
_IP_LABEL = re.compile(r"\s(?P<label>\S+)\\")


def parse_held(text: str) -> Held:
    """"ADDRESS[/PREFIX] dev DEVICE [label LABEL]" as a Held, the address in its canonical form, a missing prefix
    the host prefix (/32, /128) and a label that is the device's name none."""
    match = _HELD.match(text)
    if not match:
        raise AddressError(f"{text!r} is not ADDRESS[/PREFIX] dev DEVICE [label LABEL]")
    try:
        address = ipaddress.ip_address(match["address"])
    except ValueError as error:
        raise AddressError(f"{text!r}: {error}") from None
    prefix = int(match["prefix"]) if match["prefix"] is not None else address.max_prefixlen
    if not 0 <= prefix <= address.max_prefixlen:
        raise AddressError(f"{text!r}: prefix {prefix} is outside 0-{address.max_prefixlen}")
    label = match["label"] if match["label"] != match["device"] else None
    if label and (address.version == 6 or not label.startswith(f"{match['device']}:")):
        raise AddressError(f"{text!r}: a label is for IPv4 addresses and starts with the device's name and a colon")
    return Held(str(address), prefix, match["device"], label)


def parse_ip_addr(output: str) -> set[Held]:
    """Every address in `ip -o addr show` OUTPUT. A line that names an address but does not read as one
    is an error rather than an address silently missed; lines without an address (none in -o output of
    a working `ip`) are too."""
    held = set()
    for line in output.splitlines():
        if not line.strip():
            continue
        match = _IP_LINE.match(line)
        if not match:
            raise AddressError(f"unreadable line of ip -o addr show: {line!r}")
        label = _IP_LABEL.search(match["rest"]) if match["family"] == "inet" else None
        held.add(Held(str(ipaddress.ip_address(match["address"])), int(match["prefix"]), match["device"],
                      label["label"] if label and label["label"] != match["device"] else None))
    return held


def parse_unit(text: str) -> list[Held]:
    """The addresses a unit written by this collection adds at boot, in its order."""
    held = []
    for line in text.splitlines():
        match = _UNIT_LINE.match(line.strip())
        if match:
            held.append(parse_held(match["held"]))
    return held


def plan(wanted: list[Held], previous: list[Held], live: set[Held]) -> Plan:
    """What makes the host hold WANTED: each one not live is added, after the same address with another label
    is deleted; each PREVIOUS one (held by an earlier run) whose address is no longer wanted and still live is
    removed. Addresses neither wanted nor previous (the host's own) are never touched."""
    wanted_places = {held.place for held in wanted}
    live_places = {held.place: held for held in live}
    add = [held for held in dict.fromkeys(wanted) if held not in live]
    relabel = [live_places[held.place] for held in add if held.place in live_places]
    remove = [live_places[held.place] for held in dict.fromkeys(previous)
              if held.place not in wanted_places and held.place in live_places]
    return Plan(add, list(dict.fromkeys(remove)), relabel)


def diff(wanted: list[Held], previous: list[Held], live: set[Held], path: str) -> dict[str, str]:
    """The addresses this module answers for (wanted or previous), live now and after the plan."""
    ours = set(wanted) | set(previous)
    before = sorted((held for held in live if held in ours), key=str)
    after = sorted(set(wanted), key=str)
    return {"before_header": f"{path} (live)", "after_header": f"{path} (live)",
            "before": "".join(f"{held}\n" for held in before), "after": "".join(f"{held}\n" for held in after)}
