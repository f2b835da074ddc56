#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vip_addresses
short_description: Make the VIPs a host holds match a list, removing only those an earlier run added
version_added: 0.1.0
description:
  - Adds each address of O(addresses) that the host does not hold yet (C(ip addr replace)), and removes
    each address that the unit file O(previous_unit) adds at boot but O(addresses) no longer lists and the
    host still holds (C(ip addr del)). Addresses in neither list, such as the host's own, are never touched.
  - Run it before the unit file is rewritten with the new list, so that the file still names what an earlier
    run added. A run that stops after this module and before the file is written loses nothing, as the next
    one finds the same previous addresses and the new ones already held.
  - The real servers of this collection hold their VIPs on C(lo) or a tunnel device with it, and a static
    director holds its VIPs on its interface.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
attributes:
  diff_mode:
    details: The addresses of O(addresses) and O(previous_unit) the host holds, before and after.
options:
  addresses:
    description:
      - The addresses the host must hold, each C(ADDRESS/PREFIX dev DEVICE), optionally followed by
        C(label LABEL) (IPv4 only; the device's name, a colon and more). Without a prefix, the host prefix
        (C(/32), C(/128)). An empty list removes every address O(previous_unit) adds.
      - An address the host holds with another label than the one given is deleted and added again, since
        C(ip addr replace) keeps an address's label.
    type: list
    elements: str
    required: true
  previous_unit:
    description:
      - The systemd unit file that holds the addresses at boot, as written by an earlier run; its
        C(ExecStart=... ip addr replace ADDRESS/PREFIX dev DEVICE [label LABEL]) lines name the addresses this
        module may remove. A missing file names none.
    type: path
    required: true
notes:
  - Reads the host's addresses with C(ip -o addr show); a line of its output that does not read as an address
    fails the module rather than being skipped.
"""

EXAMPLES = r"""
- name: Hold the VIPs on loopback, dropping those an earlier run added that have left the inventory
  lvs.cluster.vip_addresses:
    addresses:
      - 198.18.1.50/32 dev lo
      - 2001:db8:1::50/128 dev lo
    previous_unit: /etc/systemd/system/lvs-realserver-vips.service

- name: Hold a director's VIP on its interface under a label (seed 004's eth1:18)
  lvs.cluster.vip_addresses:
    addresses:
      - 198.18.6.18/32 dev eth1 label eth1:18
    previous_unit: /etc/systemd/system/lvs-director-vips.service
"""

RETURN = r"""
added:
  description: The addresses this run added (or would add in check mode).
  returned: always
  type: list
  elements: str
  sample: [198.18.1.51/32 dev lo]
removed:
  description: The addresses this run removed (or would remove in check mode).
  returned: always
  type: list
  elements: str
  sample: [198.18.1.52/32 dev lo]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._addresses import (
    AddressError,
    diff,
    parse_held,
    parse_ip_addr,
    parse_unit,
    plan,
)

LC_ALL_C = {"LC_ALL": "C"}


def read_unit(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "addresses": {"type": "list", "elements": "str", "required": True},
            "previous_unit": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    ip = module.get_bin_path("ip", required=True)
    try:
        wanted = [parse_held(text) for text in module.params["addresses"]]
    except AddressError as error:
        module.fail_json(msg=f"addresses: {error}")
    try:
        previous = parse_unit(read_unit(module.params["previous_unit"]))
    except AddressError as error:
        module.fail_json(msg=f"previous_unit {module.params['previous_unit']}: {error}")
    rc, out, err = module.run_command([ip, "-o", "addr", "show"], environ_update=LC_ALL_C)
    if rc != 0:
        module.fail_json(msg=f"ip -o addr show failed: {err.strip() or out.strip()}")
    try:
        live = parse_ip_addr(out)
    except AddressError as error:
        module.fail_json(msg=str(error))

    todo = plan(wanted, previous, live)
    result = {"changed": todo.changed, "added": [str(held) for held in todo.add],
              "removed": [str(held) for held in todo.remove]}
    if module._diff:
        result["diff"] = diff(wanted, previous, live, module.params["previous_unit"])
    if module.check_mode or not todo.changed:
        module.exit_json(**result)

    for held in todo.relabel:
        rc, out, err = module.run_command([ip, "addr", "del", *held.argv], environ_update=LC_ALL_C)
        if rc != 0:
            module.fail_json(msg=f"ip addr del {held} (to give it another label) failed: {err.strip() or out.strip()}",
                             **result)
    for held in todo.add:
        rc, out, err = module.run_command([ip, "addr", "replace", *held.argv], environ_update=LC_ALL_C)
        if rc != 0:
            module.fail_json(msg=f"ip addr replace {held} failed: {err.strip() or out.strip()}", **result)
    for held in todo.remove:
        rc, out, err = module.run_command([ip, "addr", "del", *held.argv], environ_update=LC_ALL_C)
        # Gone since it was read (deleted by hand meanwhile) is what was wanted.
        if rc != 0 and "Cannot assign requested address" not in err:
            module.fail_json(msg=f"ip addr del {held} failed: {err.strip() or out.strip()}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
