# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning changes to the IPVS table: a pure function from (live, desired) to operations."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    Destination,
    Service,
    ServiceKey,
    save_lines,
)

Scope = Callable[[ServiceKey], bool]


@dataclass(frozen=True)
class Operation:
    """One ipvsadm -R line and what it does, so its outcome can be checked afterwards."""

    kind: str  # add_service, edit_service, delete_service, add_destination, edit_destination, delete_destination
    key: ServiceKey
    service: Service | None = None
    destination: Destination | None = None
    destination_key: tuple[str, int] | None = None

    @property
    def line(self) -> str:
        service_argv = self.key.argv()
        if self.kind == "add_service":
            return " ".join(["-A", *service_argv, *self.service.settings().settings_argv()])
        if self.kind == "edit_service":
            return " ".join(["-E", *service_argv, *self.service.settings().settings_argv()])
        if self.kind == "delete_service":
            return " ".join(["-D", *service_argv])
        if self.kind == "add_destination":
            return " ".join(["-a", *service_argv, *self.destination.argv()])
        if self.kind == "edit_destination":
            return " ".join(["-e", *service_argv, *self.destination.argv()])
        address, port = self.destination_key
        endpoint = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return " ".join(["-d", *service_argv, "-r", endpoint])

    def visible_in(self, live: Service | None, live_destinations: dict[tuple[str, int], Destination]) -> bool:
        """Whether the re-read service (None if gone) and its destinations show this operation's effect."""
        if self.kind == "delete_service":
            return live is None
        if live is None:
            return False
        if self.kind in ("add_service", "edit_service"):
            return live.settings() == self.service.settings()
        if self.kind == "delete_destination":
            return self.destination_key not in live_destinations
        return live_destinations.get(self.destination.key) == self.destination.normalized()


@dataclass
class Plan:
    operations: list[Operation] = field(default_factory=list)
    before: list[Service] = field(default_factory=list)
    after: list[Service] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [operation.line for operation in self.operations]

    @property
    def changed(self) -> bool:
        return bool(self.operations)

    def diff(self, header: str) -> dict[str, str]:
        """Before/after in ipvsadm save syntax, for Ansible's --diff."""
        before, after = save_lines(self.before), save_lines(self.after)
        return {
            "before_header": f"{header} (before)",
            "after_header": f"{header} (after)",
            "before": "".join(f"{line}\n" for line in before),
            "after": "".join(f"{line}\n" for line in after),
        }

    def summary(self) -> list[dict[str, str]]:
        """The operations as data, for the module's result."""
        return [{"action": op.kind, "service": str(op.key), "command": op.line} for op in self.operations]


def plan_table(current: list[Service], desired: list[Service], *, scope: Scope | None = None,
               purge_services: bool = False, purge_destinations: bool = False) -> Plan:
    """Operations that turn CURRENT (within SCOPE) into DESIRED.

    Desired services are created or edited to match. Their destinations are added or
    edited; with purge_destinations, live destinations they do not list are removed.
    With purge_services, live services in scope that DESIRED does not name are removed.
    Nothing outside SCOPE is looked at or touched.
    """
    in_scope = scope or (lambda key: True)
    live = {service.key: service for service in current if in_scope(service.key)}
    plan = Plan(before=list(live.values()))
    after: dict[ServiceKey, Service] = dict(live)
    wanted = {service.key: service for service in desired}

    if purge_services:
        for key in sorted(set(live) - set(wanted)):
            plan.operations.append(Operation("delete_service", key))
            del after[key]

    for key in sorted(wanted):
        service = wanted[key]
        existing = live.get(key)
        if existing is None:
            plan.operations.append(Operation("add_service", key, service=service))
            live_destinations: dict[tuple[str, int], Destination] = {}
        else:
            if existing.settings() != service.settings():
                plan.operations.append(Operation("edit_service", key, service=service))
            live_destinations = existing.destination_map()
        final_destinations = dict(live_destinations)
        desired_destinations = service.destination_map()
        if purge_destinations:
            for dest_key in sorted(set(live_destinations) - set(desired_destinations)):
                plan.operations.append(Operation("delete_destination", key, destination_key=dest_key))
                del final_destinations[dest_key]
        for dest_key in sorted(desired_destinations):
            dest = desired_destinations[dest_key]
            if dest_key not in live_destinations:
                plan.operations.append(Operation("add_destination", key, destination=dest))
            elif live_destinations[dest_key] != dest:
                plan.operations.append(Operation("edit_destination", key, destination=dest))
            final_destinations[dest_key] = dest
        after[key] = replace(service.settings(), destinations=tuple(final_destinations[k] for k in sorted(final_destinations)))

    plan.after = list(after.values())
    return plan


def failed_operations(plan: Plan, table: list[Service]) -> list[Operation]:
    """Operations whose effect the re-read table does not show (ipvsadm -R goes on past failures)."""
    by_key = {service.key: service for service in table}
    destinations = {key: service.destination_map() for key, service in by_key.items()}
    return [operation for operation in plan.operations
            if not operation.visible_in(by_key.get(operation.key), destinations.get(operation.key, {}))]
