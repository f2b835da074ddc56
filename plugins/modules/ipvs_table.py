#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_table
short_description: Declare the whole IPVS table, or a selected part of it, in one run
version_added: 0.1.0
description:
  - Makes the live IPVS table, inside O(scope), exactly the O(services) listed, with exactly their
    real servers, in one C(ipvsadm -R) batch whatever the number of services.
  - This is what a static director (no keepalived) uses, and it scales to tens of thousands of
    destinations.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
  - lvs.cluster.ipvs
options:
  services:
    description:
      - The virtual services, each with its real servers. Every service must lie inside O(scope).
    type: list
    elements: dict
    default: []
    suboptions:
      protocol:
        description: Transport protocol of an address-and-port service.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      address:
        description: Virtual IP address (IPv4 or IPv6). Required unless O(services[].fwmark) is given.
        type: str
      port:
        description: Virtual port, 1-65535. Required unless O(services[].fwmark) is given.
        type: int
      fwmark:
        description: Firewall mark that selects the service's traffic, instead of address and port.
        type: int
      family:
        description: Address family of a fwmark service (default V(ipv4)).
        type: str
        choices: [ipv4, ipv6]
      scheduler:
        description: Scheduling algorithm.
        type: str
        choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh]
        default: wlc
      scheduler_flags:
        description: Flags of the C(sh) and C(mh) schedulers.
        type: list
        elements: str
        choices: [sh-fallback, sh-port, mh-fallback, mh-port]
        default: []
      persistent:
        description: Persistence timeout in seconds; V(0) turns persistence off.
        type: int
        default: 0
      netmask:
        description: Persistence granularity (dotted netmask for IPv4, prefix length for IPv6).
        type: str
      pe:
        description: Persistence engine.
        type: str
        choices: [sip]
      ops:
        description: One-packet scheduling (UDP).
        type: bool
        default: false
      real_servers:
        description: The service's destinations, exactly.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: Real server address.
            type: str
            required: true
          port:
            description: Real server port (with V(dr) and V(tun) always the service port; leave it out).
            type: int
          forwarding:
            description: Forwarding method.
            type: str
            choices: [dr, nat, tun]
            default: dr
          weight:
            description: Scheduling weight; V(0) drains.
            type: int
            default: 1
          upper_threshold:
            description: Most connections; V(0) for no limit.
            type: int
            default: 0
          lower_threshold:
            description: Connections below which an overloaded server takes new ones again.
            type: int
            default: 0
          tun_type:
            description: Tunnel type with V(tun) forwarding (default V(ipip)).
            type: str
            choices: [ipip, gue, gre]
          tun_port:
            description: GUE (fou) port with V(gue) tunnels.
            type: int
          tun_checksum:
            description: Tunnel checksum mode with V(gue) or V(gre) tunnels.
            type: str
            choices: [nocsum, csum, remcsum]
  scope:
    description:
      - Which part of the live table this module owns. A live service is in scope when it matches
        every key given here; without a scope the module owns the whole table.
    type: dict
    default: {}
    suboptions:
      addresses:
        description: Virtual addresses in scope.
        type: list
        elements: str
      ports:
        description: Virtual ports in scope (fwmark services are out of scope when this is given).
        type: list
        elements: int
      fwmarks:
        description: Firewall marks in scope (address services are out of scope when this is given).
        type: list
        elements: int
  purge:
    description:
      - Remove live services in scope that O(services) does not list.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: A static director owns the whole table
  lvs.cluster.ipvs_table:
    services:
      - address: 198.18.1.51
        port: 3306
        scheduler: wrr
        persistent: 600
        real_servers:
          - {address: 198.18.2.21, weight: 1}
          - {address: 198.18.2.22, weight: 2}

- name: Own only the services of one VIP; leave the rest of the table alone
  lvs.cluster.ipvs_table:
    scope:
      addresses: [198.18.1.60]
    services:
      - address: 198.18.1.60
        port: 443
        scheduler: mh
        scheduler_flags: [mh-port]
        real_servers:
          - {address: 198.18.2.21}
"""

RETURN = r"""
commands:
  description: The ipvsadm -R lines the module ran (or, in check mode, would run).
  returned: always
  type: list
  elements: str
  sample: ["-D -t 198.18.1.61:80", "-a -t 198.18.1.51:3306 -r 198.18.2.22:3306 -g -w 2"]
changes:
  description: The planned changes as data.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "delete_service", "service": "tcp 198.18.1.61:80", "command": "-D -t 198.18.1.61:80"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import (
    Ipvsadm,
    REAL_SERVER_OPTIONS,
    SERVICE_KEY_OPTIONS,
    SERVICE_SETTING_OPTIONS,
    collect_errors,
    plan_result,
    service_errors,
    service_from,
    service_key_errors,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import ServiceKey
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_table


def in_scope(scope: dict, key: ServiceKey) -> bool:
    if scope.get("fwmarks") is not None and key.fwmark not in scope["fwmarks"]:
        return False
    if scope.get("addresses") is not None and key.address not in scope["addresses"]:
        return False
    if scope.get("ports") is not None and (key.protocol == "fwmark" or key.port not in scope["ports"]):
        return False
    return True


def main() -> None:
    service_options = {
        **SERVICE_KEY_OPTIONS,
        **SERVICE_SETTING_OPTIONS,
        "real_servers": {"type": "list", "elements": "dict", "options": REAL_SERVER_OPTIONS, "default": []},
    }
    module = AnsibleModule(
        argument_spec={
            "services": {"type": "list", "elements": "dict", "options": service_options, "default": []},
            "scope": {"type": "dict", "default": {}, "options": {
                "addresses": {"type": "list", "elements": "str"},
                "ports": {"type": "list", "elements": "int"},
                "fwmarks": {"type": "list", "elements": "int"},
            }},
            "purge": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    scope = module.params["scope"] or {}
    errors = []
    for index, address in enumerate(scope.get("addresses") or []):
        errors += [f"scope.addresses[{index}]: {error.split(': ', 1)[1]}"
                   for error in service_key_errors({"address": address, "port": 1}, "")]
    desired, seen = [], {}
    for index, params in enumerate(module.params["services"]):
        path = f"services[{index}]."
        key, service_problems = service_errors(params, path)
        errors += service_problems
        if key is None:
            continue
        if key in seen:
            errors.append(f"{path[:-1]}: {key} is already declared as services[{seen[key]}]")
        seen[key] = index
        if not in_scope(scope, key):
            errors.append(f"{path[:-1]}: {key} lies outside scope {scope}")
        desired.append((params, key))
    collect_errors(module, errors)
    if scope.get("addresses"):
        scope = {**scope, "addresses": [str(ServiceKey.make(address=a, port=1).address) for a in scope["addresses"]]}

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read_table()
    plan = plan_table(current, [service_from(params, params["real_servers"]) for params, _key in desired],
                      scope=lambda key: in_scope(scope, key), purge_services=module.params["purge"],
                      purge_destinations=True)
    result = plan_result(module, plan, "IPVS table")
    if plan.changed and not module.check_mode:
        ipvsadm.apply(plan)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
