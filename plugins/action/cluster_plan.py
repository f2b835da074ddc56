# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.cluster_plan: the cluster's plan (the model of lvs.cluster.cluster_model), computed on the
controller once per playbook run and reused by every later play, serial batch and role that asks.

The virtual services and the director settings are those the asking director sees (its play variables
and role parameters too, as its templates see them), or, asked from any other host (the controller's
check, a real server), those of the first director of the directors' group in the inventory, the
argument spec's default where it sets nothing; the model compares every director's inventory. So in a
run without play variables every play gets the same plan. What the inputs were is kept as a digest: a run
that changes them (drain.yml marks a real server drained, a play sets a director variable) gets a new plan.
Plans live in the run's own temporary directory on the controller, which Ansible removes at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import yaml

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import (
    CLUSTER_WIDE, REAL_SERVER_VARS, SETTING_VARIABLES, cluster_model)

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The director role's argument spec: the defaults of settings a director does not set, and the types.
DIRECTOR_SPEC_PATH = Path(__file__).resolve().parents[2] / "roles" / "director" / "meta" / "argument_specs.yml"
# Every variable of a host the model may read.
HOST_VARIABLES = tuple(sorted({*CLUSTER_WIDE, *SETTING_VARIABLES.values(), *REAL_SERVER_VARS,
                               "director_unicast_addresses", "lvs_virtual_services"}))
# What the plan reads from the asking director's own view.
DIRECTOR_VIEW = tuple(sorted({*SETTING_VARIABLES.values(), "director_vrrp_fast_failover", "lvs_virtual_services",
                              "director_virtual_services"}))


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
    """The model's settings as DIRECTOR_VARS (a director's view of its variables) give them, else the spec."""
    def value(variable: str) -> Any:
        return director_vars[variable] if variable in director_vars else spec.get(variable, {}).get("default")

    settings = {setting: value(variable) for setting, variable in SETTING_VARIABLES.items()}
    # The fast-failover profile is VRRP v3 with a tenth of a second between adverts, whatever is set.
    if value("director_vrrp_fast_failover") is True:
        settings.update(vrrp_version=3, advert_int=0.1)
    return settings


def _once_per_run(name: str, compute: Callable[[], Any]) -> tuple[Any, bool]:
    """What COMPUTE returns, kept as NAME in this run's temporary directory on the controller for the
    tasks after this one (each runs in a process of its own); whether this call computed it."""
    stored = Path(C.DEFAULT_LOCAL_TMP) / f"{name}.json"
    try:
        return json.loads(stored.read_text()), False
    except FileNotFoundError:
        pass
    value = compute()
    stored.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = stored.with_suffix(f".{os.getpid()}")
    partial.write_text(json.dumps(value))
    partial.replace(stored)
    return value, True


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
        host = task_vars.get("inventory_hostname")
        if host in directors:
            view = {name: self._templar.template(task_vars[name]) for name in DIRECTOR_VIEW if name in task_vars}
        else:
            view = snapshot.get(directors[0], {}) if directors else {}
            if isinstance(view, _Unreadable):
                view = {}
        services = view.get("director_virtual_services", view.get("lvs_virtual_services", []))
        settings = _settings(view, spec)
        inputs = json.dumps([directors_group, directors, services, settings, groups, snapshot], sort_keys=True,
                            default=repr)
        plan, computed = self._plan(hashlib.sha256(inputs.encode()).hexdigest(),
                                    lambda: cluster_model(services, directors, groups, snapshot,
                                                          {**settings, "spec": spec}))
        errors = plan["errors"] + self._real_server_errors(host, directors, services, settings)
        if errors:
            # Every caller stops here, before any host is changed; the plan itself would only fill the screen.
            result.update(failed=True, changed=False, computed=computed, errors=errors,
                          msg=f"The LVS inventory has problems: {'; '.join(errors)}")
            return result
        # The plan is data for the tasks, not for the screen: at -v it would fill it.
        result.update(changed=False, computed=computed, plan=plan, _ansible_verbose_override=True)
        return result

    @staticmethod
    def _spec() -> dict:
        # Parsed once per run: its YAML takes a tenth of a second or more, the stored JSON milliseconds.
        return _once_per_run("lvs-cluster-director-spec", lambda: yaml.load(
            DIRECTOR_SPEC_PATH.read_text(), Loader=SAFE_LOADER)["argument_specs"]["main"]["options"])[0]

    @staticmethod
    def _plan(digest: str, compute: Callable[[], dict]) -> tuple[dict, bool]:
        """The plan for inputs of DIGEST: the one computed earlier in this run, or COMPUTE's."""
        return _once_per_run(f"lvs-cluster-plan-{digest}", compute)

    def _real_server_errors(self, host: str, directors: list[str], services: Any, settings: dict) -> list[str]:
        """Where the asking real server sees other services or another real servers' group than the
        directors, one error each: it would set up another cluster than the directors serve."""
        errors = []
        args = self._task.args
        if host not in directors and "services" in args and args["services"] != services:
            errors.append(f"realserver_virtual_services: what {host} sees is not the directors' virtual services "
                          f"(director_virtual_services, else lvs_virtual_services, of "
                          f"{directors[0] if directors else 'no director'}); define lvs_virtual_services where both "
                          "groups see it (group_vars/all)")
        if "realservers_group" in args and directors and args["realservers_group"] != settings.get("realservers_group"):
            errors.append(f"realserver_group: {args['realservers_group']!r} on {host}, but the directors' "
                          f"director_realservers_group is {settings.get('realservers_group')!r}; they must name the "
                          "same group")
        return errors
