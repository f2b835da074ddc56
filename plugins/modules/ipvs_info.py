#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_info
short_description: Read the live IPVS table as structured data
version_added: 0.1.0
description:
  - Returns the virtual services with their real servers, weights and connection counters, and on
    request their traffic counters, rates, the connection table, the protocol timeouts and the
    connection sync daemons. Nothing is returned as text for callers to parse.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
  - lvs.cluster.ipvs
attributes:
  diff_mode:
    support: none
options:
  stats:
    description: Add each service's and real server's traffic counters (C(ipvsadm -L --stats)).
    type: bool
    default: false
  rates:
    description: Add each service's and real server's rates (C(ipvsadm -L --rate)).
    type: bool
    default: false
  connections:
    description: Return the connection table (C(ipvsadm -L -c)); it can be large.
    type: bool
    default: false
  timeouts:
    description: Return the TCP, TCP FIN and UDP timeouts.
    type: bool
    default: false
  daemons:
    description: Return the connection sync daemons.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the table with counters
  lvs.cluster.ipvs_info:
    stats: true
  register: ipvs

- name: Every real server of the web service is up and weighted
  ansible.builtin.assert:
    that: >-
      ipvs.services | selectattr('port', 'eq', 80) | map(attribute='real_servers') | flatten
      | selectattr('weight', 'gt', 0) | list | length == 2
"""

RETURN = r"""
services:
  description: The virtual services, sorted, each with its settings and real servers.
  returned: always
  type: list
  elements: dict
  sample:
    - protocol: tcp
      family: ipv4
      address: 198.18.1.50
      port: 80
      scheduler: wrr
      scheduler_flags: []
      persistent: 0
      netmask: null
      pe: null
      ops: false
      stats: {connections: 8, packets_in: 8, packets_out: 5, bytes_in: 480, bytes_out: 440}
      real_servers:
        - address: 198.18.2.21
          port: 80
          forwarding: dr
          weight: 1
          upper_threshold: 0
          lower_threshold: 0
          tun_type: ""
          tun_port: 0
          tun_checksum: ""
          active_connections: 0
          inactive_connections: 0
connections:
  description: The connection table, with O(connections=true).
  returned: when connections is true
  type: list
  elements: dict
  sample: [{"protocol": "tcp", "expires_in": 28, "state": "SYN_RECV", "client_address": "198.18.2.21",
            "client_port": 60632, "virtual_address": "198.18.2.50", "virtual_port": 80,
            "destination_address": "198.18.2.22", "destination_port": 80}]
timeouts:
  description: Protocol timeouts in seconds, with O(timeouts=true).
  returned: when timeouts is true
  type: dict
  sample: {"tcp": 900, "tcpfin": 120, "udp": 300}
daemons:
  description: Running connection sync daemons, with O(daemons=true).
  returned: when daemons is true
  type: list
  elements: dict
  sample: [{"role": "master", "interface": "eth2", "syncid": 5, "maxlen": 1472, "group": "224.0.0.81",
            "port": 8848, "ttl": 1}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import Ipvsadm, services_with_counters
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_listing import (
    parse_connections,
    parse_daemons,
    parse_timeouts,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={name: {"type": "bool", "default": False}
                       for name in ("stats", "rates", "connections", "timeouts", "daemons")},
        supports_check_mode=True,
    )
    params = module.params
    ipvsadm = Ipvsadm(module)
    table = ipvsadm.read_table()
    live = ipvsadm.listing()
    extra = {name: ipvsadm.listing(flag) for name, flag in (("stats", "--stats"), ("rates", "--rate")) if params[name]}
    services = services_with_counters(table, live, extra)
    result = {"changed": False, "services": services}
    parsers = {"connections": (["-L", "-n", "-c"], parse_connections),
               "timeouts": (["-L", "--timeout"], parse_timeouts),
               "daemons": (["-L", "--daemon"], parse_daemons)}
    for name, (args, parser) in parsers.items():
        if params[name]:
            _rc, out, _err = ipvsadm.run(args)
            result[name], unknown = parser(out)
            for line in unknown:
                module.warn(f"ipvsadm printed a line this module does not understand (ignored): {line!r}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
