#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_service
short_description: Manage one IPVS virtual service, and optionally its real servers
version_added: 0.1.0
description:
  - Creates, edits or removes one IPVS virtual service, identified by protocol, address and port,
    or by firewall mark, for IPv4 and IPv6.
  - With O(real_servers), also adds or edits those destinations; with O(purge=true) the service's
    destinations become exactly that list.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
  - lvs.cluster.ipvs
  - lvs.cluster.ipvs.service_key
  - lvs.cluster.ipvs.service_settings
options:
  state:
    description:
      - Whether the service exists. V(absent) removes it with all its real servers.
    type: str
    choices: [present, absent]
    default: present
  real_servers:
    description:
      - Destinations of the service. Left out, the service's destinations are not managed.
    type: list
    elements: dict
    suboptions:
      address:
        description: Real server address (IPv4 or IPv6; another family than the service's needs O(real_servers[].forwarding=tun)).
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
        description: Scheduling weight. V(0) sends no new connections (drain).
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
        description: Real server's GUE (fou) port, with O(real_servers[].tun_type=gue).
        type: int
      tun_checksum:
        description: Tunnel checksum mode with V(gue) or V(gre) tunnels.
        type: str
        choices: [nocsum, csum, remcsum]
  purge:
    description:
      - With O(real_servers), remove the service's live destinations that the list does not name.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Web service on a VIP, weighted round robin, two DR real servers
  lvs.cluster.ipvs_service:
    address: 198.18.1.50
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 198.18.2.21, weight: 1}
      - {address: 198.18.2.22, weight: 2}
    purge: true

- name: MySQL with persistence per /24 of clients (seed 004's static LVS)
  lvs.cluster.ipvs_service:
    address: 198.18.1.51
    port: 3306
    scheduler: wrr
    persistent: 600
    netmask: 255.255.255.0

- name: IPv6 service selected by firewall mark
  lvs.cluster.ipvs_service:
    fwmark: 8
    family: ipv6
    scheduler: rr

- name: Remove a service with its real servers
  lvs.cluster.ipvs_service:
    protocol: udp
    address: 198.18.1.50
    port: 9999
    state: absent
"""

RETURN = r"""
commands:
  description: The ipvsadm -R lines the module ran (or, in check mode, would run).
  returned: always
  type: list
  elements: str
  sample: ["-A -t 198.18.1.50:80 -s wrr", "-a -t 198.18.1.50:80 -r 198.18.2.21:80 -g -w 1"]
changes:
  description: The planned changes as data.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "add_service", "service": "tcp 198.18.1.50:80", "command": "-A -t 198.18.1.50:80 -s wrr"}]
service:
  description: The service as it is after the run (as planned, in check mode); absent when removed.
  returned: when state is present
  type: dict
  sample: {"protocol": "tcp", "address": "198.18.1.50", "port": 80, "scheduler": "wrr", "real_servers": []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import (
    Ipvsadm,
    REAL_SERVERS_OPTION,
    SERVICE_KEY_OPTIONS,
    SERVICE_SETTING_OPTIONS,
    collect_errors,
    plan_result,
    service_errors,
    service_from,
    service_to_dict,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import plan_table


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **SERVICE_KEY_OPTIONS,
            **SERVICE_SETTING_OPTIONS,
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "real_servers": REAL_SERVERS_OPTION,
            "purge": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    key, errors = service_errors(params, "")
    collect_errors(module, errors)

    ipvsadm = Ipvsadm(module)
    current = ipvsadm.read_table()
    desired = [service_from(params, params["real_servers"])] if params["state"] == "present" else []
    plan = plan_table(current, desired, scope=lambda candidate: candidate == key,
                      purge_services=params["state"] == "absent",
                      purge_destinations=params["purge"] and params["real_servers"] is not None)
    result = plan_result(module, plan, f"IPVS {key}")
    if plan.changed and not module.check_mode:
        ipvsadm.apply(plan)
    if params["state"] == "present":
        result["service"] = service_to_dict(next(s for s in plan.after if s.key == key))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
