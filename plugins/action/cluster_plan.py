# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.cluster_plan: the cluster's plan (the model of lvs.cluster.cluster_model), computed on the
controller once per playbook run and reused by every later play, serial batch and role that asks.

The plan reads the inventory alone: the virtual services and the director settings as the first director
of the directors' group has them (its host and group variables and extra vars, the argument spec's default
where it sets nothing; the model compares every other director's), and the real servers' variables. So a
real server's play and a director's play ask for, and get, the same plan. What the inputs were is kept as
a digest: a run that changes the inventory (drain.yml marks a real server drained) gets a new plan.
Plans live in the run's own temporary directory on the controller, which Ansible removes at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import (
    CLUSTER_WIDE, REAL_SERVER_VARS, SECRET_SETTINGS, SETTING_VARIABLES, cluster_model)

# The director role's argument spec: the defaults of settings a director does not set, and the types.
DIRECTOR_SPEC_PATH = Path(__file__).resolve().parents[2] / "roles" / "director" / "meta" / "argument_specs.yml"
# Every variable of a host the model may read.
HOST_VARIABLES = tuple(sorted({*CLUSTER_WIDE, *SETTING_VARIABLES.values(), *REAL_SERVER_VARS,
                               "director_unicast_addresses", "lvs_virtual_services"}))
# The settings the director role's templates also read from the host itself: a play variable or role
# parameter there would make the host's files disagree with the plan.
CONTEXT_VARIABLES = tuple(sorted({*CLUSTER_WIDE, *SETTING_VARIABLES.values()} - {"director_virtual_services"}))


class _Unreadable(dict):
    """A host whose variables Ansible could not template: reading any of them raises, so the model
    names the host, as it does for a live hostvars."""

    def __init__(self, error: str) -> None:
        super().__init__(unreadable=error)
        self.error = error

    def __contains__(self, key: object) -> bool:
        raise AnsibleError(self.error)

    def get(self, key: Any, default: Any = None) -> Any:
        raise AnsibleError(self.error)


def _snapshot(hostvars: Any, hosts: list[str]) -> dict[str, dict]:
    """The variables of HOSTS the model reads, templated once each (Ansible merges a host's variables
    on every hostvars lookup)."""
    snapshot: dict[str, dict] = {}
    for host in hosts:
        try:
            host_vars = hostvars[host]
            snapshot[host] = {name: host_vars[name] for name in HOST_VARIABLES if name in host_vars}
        except AnsibleError as error:
            snapshot[host] = _Unreadable(str(error))
    return snapshot


def _settings(director_vars: dict, spec: dict) -> dict[str, Any]:
    """The model's settings as DIRECTOR_VARS (the first director's variables) give them, else the spec."""
    def value(variable: str) -> Any:
        return director_vars[variable] if variable in director_vars else spec.get(variable, {}).get("default")

    settings = {setting: value(variable) for setting, variable in SETTING_VARIABLES.items()}
    # The fast-failover profile is VRRP v3 with a tenth of a second between adverts, whatever is set.
    if value("director_vrrp_fast_failover") is True:
        settings.update(vrrp_version=3, advert_int=0.1)
    return settings


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("directors_group", "services", "realservers_group"))

    def run(self, tmp: str | None = None, task_vars: dict | None = None) -> dict:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        directors_group = args.get("directors_group") or "lvs_directors"
        groups = task_vars.get("groups", {})
        directors = list(groups.get(directors_group, []))
        spec = self._spec()
        snapshot = _snapshot(task_vars["hostvars"], list(groups.get("all", [])))
        first = snapshot.get(directors[0], {}) if directors else {}
        if isinstance(first, _Unreadable):
            first = {}
        services = first.get("director_virtual_services", first.get("lvs_virtual_services", []))
        settings = _settings(first, spec)
        inputs = json.dumps([directors_group, directors, services, settings, groups, snapshot], sort_keys=True,
                            default=repr)
        plan, computed = self._plan(hashlib.sha256(inputs.encode()).hexdigest(),
                                    lambda: cluster_model(services, directors, groups, snapshot,
                                                          {**settings, "spec": spec}))
        errors = self._context_errors(task_vars, directors, first, services, settings, spec)
        if errors:
            plan = dict(plan, errors=plan["errors"] + errors)
        # The plan is data for the tasks, not for the screen: at -v it would fill it.
        result.update(changed=False, computed=computed, plan=plan, _ansible_verbose_override=True)
        return result

    @staticmethod
    def _spec() -> dict:
        return yaml.safe_load(DIRECTOR_SPEC_PATH.read_text())["argument_specs"]["main"]["options"]

    @staticmethod
    def _plan(digest: str, compute) -> tuple[dict, bool]:
        """The plan for inputs of DIGEST: the one computed earlier in this run, or COMPUTE's."""
        stored = Path(C.DEFAULT_LOCAL_TMP) / f"lvs-cluster-plan-{digest}.json"
        try:
            return json.loads(stored.read_text()), False
        except FileNotFoundError:
            pass
        plan = compute()
        partial = stored.with_suffix(f".{os.getpid()}")
        partial.write_text(json.dumps(plan))
        partial.replace(stored)
        return plan, True

    def _context_errors(self, task_vars: dict, directors: list[str], first: dict, services: Any,
                        settings: dict, spec: dict) -> list[str]:
        """Where the asking host sees a setting other than the plan read from the inventory, one error
        each: a director's play variable or role parameter the plan does not know, or a real server that
        cannot see the directors' services."""
        host = task_vars.get("inventory_hostname")
        errors = []
        if host in directors:
            for variable in CONTEXT_VARIABLES:
                if variable not in task_vars:
                    continue
                seen = self._templar.template(task_vars[variable])
                planned = first.get(variable, spec.get(variable, {}).get("default"))
                if seen != planned:
                    shown = "" if variable in SECRET_SETTINGS else f" ({seen!r} here, {planned!r} in the inventory)"
                    errors.append(f"{variable}: set for {host} outside the inventory (a play variable or role "
                                  f"parameter){shown}; the cluster's plan reads the inventory, so set it in the "
                                  "directors' group_vars or host_vars")
        elif "services" in self._task.args and self._task.args["services"] != services:
            errors.append(f"realserver_virtual_services: what {host} sees is not the directors' virtual services "
                          f"(director_virtual_services, else lvs_virtual_services, of {directors[0] if directors else 'no director'}); "
                          "define lvs_virtual_services where both groups see it (group_vars/all)")
        if "realservers_group" in self._task.args and directors:
            planned = settings.get("realservers_group")
            if self._task.args["realservers_group"] != planned:
                errors.append(f"realserver_group: {self._task.args['realservers_group']!r} on {host}, but the directors' "
                              f"director_realservers_group is {planned!r}; they must name the same group")
        return errors
