#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ipvs_config
short_description: Set IPVS protocol timeouts and the connection sync daemons
version_added: 0.1.0
description:
  - Sets the TCP, TCP FIN and UDP timeouts, and starts, restarts or stops the master and backup
    connection sync daemons, changing only what differs from the live state.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
  - lvs.cluster.ipvs
options:
  timeouts:
    description: Timeouts in seconds; only those given are managed.
    type: dict
    suboptions:
      tcp:
        description: Established TCP connections.
        type: int
      tcpfin:
        description: TCP connections after a FIN.
        type: int
      udp:
        description: UDP flows.
        type: int
  sync_daemons:
    description:
      - Connection sync daemons, at most one per role. A daemon whose settings differ is restarted.
      - The kernel refuses to start a sync daemon while a service has a real server of another
        address family (IPv6 service, IPv4 tunnel destination or the reverse).
    type: list
    elements: dict
    default: []
    suboptions:
      role:
        description: V(master) sends connection state, V(backup) receives it.
        type: str
        choices: [master, backup]
        required: true
      state:
        description: Whether this daemon runs.
        type: str
        choices: [present, absent]
        default: present
      interface:
        description: Interface the daemon sends or listens on. Required when O(sync_daemons[].state=present).
        type: str
      syncid:
        description: Sync id; master and backup must agree.
        type: int
        default: 0
      maxlen:
        description: Largest sync packet; left out, the kernel derives it from the interface MTU.
        type: int
      group:
        description: Multicast group (IPv4 or IPv6); left out, 224.0.0.81.
        type: str
      port:
        description: UDP port; left out, 8848.
        type: int
      ttl:
        description: Multicast TTL; left out, 1.
        type: int
"""

EXAMPLES = r"""
- name: Longer TCP timeout, and this director sends connection state to its peer
  lvs.cluster.ipvs_config:
    timeouts: {tcp: 3600}
    sync_daemons:
      - {role: master, interface: eth1, syncid: 5}
      - {role: backup, interface: eth1, syncid: 5}
"""

RETURN = r"""
commands:
  description: The ipvsadm commands the module ran (or, in check mode, would run), one argv each.
  returned: always
  type: list
  elements: list
  sample: [["--set", "3600", "0", "0"], ["--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "5"]]
timeouts:
  description: The timeouts after the run.
  returned: always
  type: dict
  sample: {"tcp": 3600, "tcpfin": 120, "udp": 300}
daemons:
  description: The sync daemons after the run.
  returned: always
  type: list
  elements: dict
  sample: [{"role": "master", "interface": "eth1", "syncid": 5, "maxlen": 1472, "group": "224.0.0.81", "port": 8848, "ttl": 1}]
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import Ipvsadm, collect_errors
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_listing import parse_daemons, parse_timeouts

DAEMON_FLAGS = {"syncid": "--syncid", "maxlen": "--sync-maxlen", "group": "--mcast-group", "port": "--mcast-port",
                "ttl": "--mcast-ttl"}


def plan_config(timeouts: dict, daemons: list[dict], want_timeouts: dict, want_daemons: list[dict]):
    """(commands, timeouts after, daemons after) as a pure function of live and wanted state."""
    commands = []
    wanted = {name: value for name, value in (want_timeouts or {}).items() if value is not None}
    after_timeouts = {**timeouts, **wanted}
    if after_timeouts != timeouts:
        # ipvsadm --set takes all three; 0 leaves a value unchanged.
        commands.append(["--set", *(str(wanted.get(name, 0)) if wanted.get(name) != timeouts.get(name) else "0"
                                    for name in ("tcp", "tcpfin", "udp"))])
    live = {daemon["role"]: daemon for daemon in daemons}
    after = dict(live)
    for want in want_daemons:
        role = want["role"]
        running = live.get(role)
        if want["state"] == "absent":
            if running:
                commands.append(["--stop-daemon", role])
                del after[role]
            continue
        settings = {"interface": want["interface"], "syncid": want["syncid"]}
        settings.update({name: want[name] for name in ("maxlen", "group", "port", "ttl") if want.get(name) is not None})
        if running and all(running.get(name) == value for name, value in settings.items()):
            continue
        if running:
            commands.append(["--stop-daemon", role])
        start = ["--start-daemon", role, "--mcast-interface", want["interface"]]
        for name, flag in DAEMON_FLAGS.items():
            if name in settings:
                start += [flag, str(settings[name])]
        commands.append(start)
        after[role] = {**(running or {}), "role": role, **settings}
    return commands, after_timeouts, [after[role] for role in sorted(after)]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "timeouts": {"type": "dict", "options": {name: {"type": "int"} for name in ("tcp", "tcpfin", "udp")}},
            "sync_daemons": {"type": "list", "elements": "dict", "default": [], "options": {
                "role": {"type": "str", "choices": ["master", "backup"], "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "interface": {"type": "str"},
                "syncid": {"type": "int", "default": 0},
                "maxlen": {"type": "int"},
                "group": {"type": "str"},
                "port": {"type": "int"},
                "ttl": {"type": "int"},
            }},
        },
        supports_check_mode=True,
    )
    errors = []
    for name, value in (module.params["timeouts"] or {}).items():
        if value is not None and value < 1:
            errors.append(f"timeouts.{name}: {value} must be 1 second or more")
    roles = set()
    for index, daemon in enumerate(module.params["sync_daemons"]):
        path = f"sync_daemons[{index}]"
        if daemon["role"] in roles:
            errors.append(f"{path}.role: a {daemon['role']} daemon is already listed")
        roles.add(daemon["role"])
        if daemon["state"] == "present" and not daemon["interface"]:
            errors.append(f"{path}.interface: required for a running daemon")
        if not 0 <= daemon["syncid"] <= 255:
            errors.append(f"{path}.syncid: {daemon['syncid']} is out of range (0-255)")
        if daemon["group"] is not None:
            try:
                if not ipaddress.ip_address(daemon["group"]).is_multicast:
                    errors.append(f"{path}.group: {daemon['group']} is not a multicast address")
            except ValueError:
                errors.append(f"{path}.group: {daemon['group']!r} is not an IP address")
        if daemon["port"] is not None and not 1 <= daemon["port"] <= 65535:
            errors.append(f"{path}.port: {daemon['port']} is out of range (1-65535)")
        if daemon["ttl"] is not None and not 1 <= daemon["ttl"] <= 255:
            errors.append(f"{path}.ttl: {daemon['ttl']} is out of range (1-255)")
    collect_errors(module, errors)

    ipvsadm = Ipvsadm(module)
    timeouts, _unknown = parse_timeouts(ipvsadm.run(["-L", "--timeout"])[1])
    daemons, unknown = parse_daemons(ipvsadm.run(["-L", "--daemon"])[1])
    for line in unknown:
        module.warn(f"ipvsadm printed a line this module does not understand (ignored): {line!r}")
    commands, after_timeouts, after_daemons = plan_config(timeouts, daemons, module.params["timeouts"],
                                                          module.params["sync_daemons"])
    result = {"changed": bool(commands), "commands": commands, "timeouts": after_timeouts, "daemons": after_daemons}
    if module._diff:
        result["diff"] = {"before": {"timeouts": timeouts, "daemons": daemons},
                          "after": {"timeouts": after_timeouts, "daemons": after_daemons}}
    if commands and not module.check_mode:
        for command in commands:
            rc, out, err = ipvsadm.run(command, check=False)
            if rc != 0:
                hint = ""
                if command[0] == "--start-daemon" and "Invalid operation" in err:
                    hint = (" (the kernel refuses a sync daemon while any service has a real server of "
                            "another address family)")
                module.fail_json(msg=f"ipvsadm {' '.join(command)} failed: {err.strip() or out.strip()}{hint}",
                                 commands=commands, changed=True)
        result["timeouts"], _unknown = parse_timeouts(ipvsadm.run(["-L", "--timeout"])[1])
        result["daemons"], _unknown = parse_daemons(ipvsadm.run(["-L", "--daemon"])[1])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
