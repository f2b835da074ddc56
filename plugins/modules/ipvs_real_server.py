#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_real_server
short_description: Manage one real server (destination) of an IPVS virtual service, and drain it
version_added: 0.1.0
description:
  - Adds, edits or removes one destination of an existing virtual service.
  - V(drained) sets its weight to 0 so it gets no new connections, waits until its active
    connections reach 0 or O(drain_timeout) passes (reporting what was left), and removes it when
    O(remove_after_drain=true).
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
  - lvs.cluster.ipvs
attributes:
  check_mode:
    details: In check mode a drain reports its plan without waiting.
options:
  service:
    description:
      - The virtual service the real server belongs to; it must exist (see M(lvs.cluster.ipvs_service)).
    type: dict
    required: true
    suboptions:
      protocol:
        description: Transport protocol of an address-and-port service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP address. Required unless O(service.fwmark) is given.
        type: str
      port:
        description: Virtual port. Required unless O(service.fwmark) is given.
        type: int
      fwmark:
        description: Firewall mark of a fwmark service.
        type: int
      family:
        description: Address family of a fwmark service (default V(ipv4)).
        type: str
        choices: [ipv4, ipv6]
  address:
    description: Real server address (another family than the service's needs O(forwarding=tun)).
    type: str
    required: true
  port:
    description:
      - Real server port. With V(dr) or V(tun) forwarding the kernel always uses the service port,
        so leave it out or give the same port. Defaults to the service port.
    type: int
  forwarding:
    description: Forwarding method, V(dr) (direct routing), V(nat) (masquerading) or V(tun) (tunnelling).
    type: str
    choices: [dr, nat, tun]
    default: dr
  weight:
    description: Scheduling weight; V(0) sends no new connections. Ignored with O(state=drained).
    type: int
    default: 1
  upper_threshold:
    description: Most connections the real server takes; V(0) for no limit.
    type: int
    default: 0
  lower_threshold:
    description: Connections below which an overloaded real server takes new ones again; V(0) for none.
    type: int
    default: 0
  tun_type:
    description: Tunnel type with V(tun) forwarding. Defaults to V(ipip).
    type: str
    choices: [ipip, gue, gre]
  tun_port:
    description: Real server's GUE (fou) port, with O(tun_type=gue).
    type: int
  tun_checksum:
    description: Tunnel checksum mode with V(gue) or V(gre) tunnels.
    type: str
    choices: [nocsum, csum, remcsum]
  state:
    description:
      - V(present) adds or edits the destination, V(absent) removes it at once, V(drained) drains it.
    type: str
    choices: [present, absent, drained]
    default: present
  drain_timeout:
    description: With O(state=drained), how many seconds to wait for active connections to reach 0.
    type: int
    default: 300
  remove_after_drain:
    description: With O(state=drained), remove the destination once drained (or once the timeout passed).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Add a real server with weight 2
  lvs.cluster.ipvs_real_server:
    service: {address: 198.18.1.50, port: 80}
    address: 198.18.2.23
    weight: 2

- name: Drain a real server, wait up to two minutes, then remove it
  lvs.cluster.ipvs_real_server:
    service: {address: 198.18.1.50, port: 80}
    address: 198.18.2.23
    state: drained
    drain_timeout: 120
    remove_after_drain: true
  register: drain

- name: Say what was left if the timeout passed
  ansible.builtin.debug:
    msg: "{{ drain.active_connections }} connections were still open"
  when: not drain.drained
"""

RETURN = r"""
commands:
  description: The ipvsadm -R lines the module ran (or, in check mode, would run).
  returned: always
  type: list
  elements: str
  sample: ["-e -t 198.18.1.50:80 -r 198.18.2.23:80 -g -w 0"]
drained:
  description: Whether the active connections reached 0 within O(drain_timeout).
  returned: when state is drained and not in check mode
  type: bool
active_connections:
  description: Active connections left when the drain ended.
  returned: when state is drained and not in check mode
  type: int
inactive_connections:
  description: Inactive connections left when the drain ended.
  returned: when state is drained and not in check mode
  type: int
waited:
  description: Seconds the drain waited.
  returned: when state is drained and not in check mode
  type: float
"""

import time
from dataclasses import replace

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import (
    Ipvsadm,
    REAL_SERVER_OPTIONS,
    SERVICE_KEY_OPTIONS,
    collect_errors,
    destination_from,
    plan_result,
    real_server_errors,
    service_key_errors,
    service_key_from,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import Plan, plan_table


def plan_destination(current, key, destination, remove: bool) -> Plan:
    service = next(s for s in current if s.key == key)
    others = tuple(d for d in service.destinations if d.key != destination.key)
    wanted = replace(service, destinations=others if remove else others + (destination,))
    return plan_table(current, [wanted], scope=lambda candidate: candidate == key, purge_destinations=True)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "dict", "required": True, "options": SERVICE_KEY_OPTIONS},
            **REAL_SERVER_OPTIONS,
            "state": {"type": "str", "choices": ["present", "absent", "drained"], "default": "present"},
            "drain_timeout": {"type": "int", "default": 300},
            "remove_after_drain": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    errors = service_key_errors(params["service"], "service.")
    key = None if errors else service_key_from(params["service"])
    errors += real_server_errors(params, "", key)
    if params["drain_timeout"] < 0:
        errors.append(f"drain_timeout: {params['drain_timeout']} must be 0 or more seconds")
    collect_errors(module, errors)
    state = params["state"]
    destination = destination_from(params, key)

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read_table()
    service = next((s for s in current if s.key == key), None)
    if service is None:
        if state == "present":
            module.fail_json(msg=f"service {key} does not exist; create it first with lvs.cluster.ipvs_service")
        module.exit_json(changed=False, commands=[], msg=f"service {key} does not exist; nothing to remove")
    live = service.destination_map().get(destination.key)
    if state == "drained" and live is None:
        module.exit_json(changed=False, commands=[], drained=True, active_connections=0, inactive_connections=0,
                         waited=0.0, msg=f"{destination.address} is not a real server of {key}")

    if state == "drained":
        destination = replace(live, weight=0)
    plan = plan_destination(current, key, destination, remove=state == "absent")
    if state == "drained" and params["remove_after_drain"]:
        # What the whole run will do, for check mode and --diff: weight 0, then removal.
        final = plan_destination(current, key, destination, remove=True)
        shown = Plan(operations=plan.operations + final.operations, before=plan.before, after=final.after)
    else:
        shown = plan
    result = plan_result(module, shown, f"IPVS {key} real server {destination.address}")
    if module.check_mode:
        module.exit_json(**result)
    if plan.changed:
        ipvsadm.apply(plan)
    if state == "drained":
        result.update(wait_for_drain(module, ipvsadm, key, destination.key, params["drain_timeout"]))
        if params["remove_after_drain"]:
            ipvsadm.apply(plan_destination(ipvsadm.read_table(), key, destination, remove=True))
    module.exit_json(**result)


def wait_for_drain(module, ipvsadm: Ipvsadm, key, destination_key, timeout: int) -> dict:
    started = time.monotonic()
    while True:
        counters = ipvsadm.listing().get(key, {}).get("destinations", {}).get(destination_key)
        active = counters["active_connections"] if counters else 0
        inactive = counters["inactive_connections"] if counters else 0
        waited = round(time.monotonic() - started, 1)
        if active == 0 or waited >= timeout:
            if active:
                module.warn(f"drain of {destination_key[0]} timed out after {timeout} s with {active} active "
                            f"and {inactive} inactive connections left")
            return {"drained": active == 0, "active_connections": active, "inactive_connections": inactive,
                    "waited": waited}
        time.sleep(1)


if __name__ == "__main__":
    main()
