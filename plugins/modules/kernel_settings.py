#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_settings
short_description: Load kernel modules and set sysctls, now and at every boot, in one step
version_added: 0.1.0
description:
  - Loads the kernel modules it is given and lists them in a C(modules-load.d) file, then sets the
    sysctls it is given in the running kernel and writes them to a C(sysctl.d) file. Modules come
    first, so keys that a module creates (such as C(net.ipv4.vs.*) from C(ip_vs)) can be set in the
    same call.
  - Each file holds exactly the settings given; a file with nothing left to hold is removed. Values
    removed from a file stay in the running kernel until the next boot, and modules stay loaded.
  - One call replaces a loop of C(community.general.modprobe) and C(ansible.posix.sysctl) tasks;
    the directors and real servers of this collection use it for ip_vs, the schedulers, the tunnel
    modules and their sysctls.
author:
  - lvs.cluster contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - lvs.cluster.attributes
attributes:
  diff_mode:
    details: The files as they would be written, and the modules and values the running kernel would get.
options:
  modules:
    description: Kernel modules to load now and at every boot, in this order.
    type: list
    elements: str
    default: []
  modules_file:
    description: The C(modules-load.d) file that lists O(modules).
    type: path
    required: true
  sysctls:
    description:
      - Sysctl keys and values to set now and at every boot. Keys are dotted (C(net.ipv4.ip_forward)) or,
        when a name holds a dot such as an interface C(eth0.100), slashed (C(net/ipv4/conf/eth0.100/rp_filter)).
      - Values with several fields are compared field by field, as C(sysctl) prints them.
    type: dict
    default: {}
  sysctl_file:
    description: The C(sysctl.d) file that holds O(sysctls).
    type: path
    required: true
"""

EXAMPLES = r"""
- name: IPVS with the wrr scheduler, and its sysctls
  lvs.cluster.kernel_settings:
    modules: [ip_vs, ip_vs_wrr]
    modules_file: /etc/modules-load.d/lvs-director.conf
    sysctls:
      net.ipv4.vs.expire_nodest_conn: 1
      net.ipv4.ip_forward: 1
    sysctl_file: /etc/sysctl.d/60-lvs-director.conf
"""

RETURN = r"""
loaded:
  description: The modules this run loaded (or would load in check mode).
  returned: always
  type: list
  elements: str
  sample: [ip_vs_wrr]
set:
  description: The sysctls this run set in the running kernel (or would set in check mode), with their new values.
  returned: always
  type: dict
  sample: {"net.ipv4.vs.expire_nodest_conn": "1"}
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils._kernel import (
    KernelSettingsError,
    check_options,
    diff,
    file_changes,
    plan,
    read_live,
    sysctl_path,
)


def write_file(module: AnsibleModule, path: str, content: str) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".lvs-kernel-")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(content)
    os.chmod(temporary, 0o644)
    module.atomic_move(temporary, path)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "modules": {"type": "list", "elements": "str", "default": []},
            "modules_file": {"type": "path", "required": True},
            "sysctls": {"type": "dict", "default": {}},
            "sysctl_file": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    modules = module.params["modules"]
    sysctls = module.params["sysctls"]
    try:
        check_options(modules, sysctls)
    except KernelSettingsError as error:
        module.fail_json(msg=str(error))

    live = read_live(module.params["modules_file"], module.params["sysctl_file"], sysctls)
    todo = plan(modules, sysctls, live)
    result = {"changed": todo.changed, "loaded": todo.load_modules, "set": todo.set_sysctls}
    if module._diff:
        result["diff"] = diff(todo, live, module.params["modules_file"], module.params["sysctl_file"])
    if module.check_mode or not todo.changed:
        module.exit_json(**result)

    # The running kernel first: a module or key it refuses never reaches the boot files.
    if todo.load_modules:
        modprobe = module.get_bin_path("modprobe", required=True)
        rc, out, err = module.run_command([modprobe, "-a", *todo.load_modules], environ_update={"LC_ALL": "C"})
        if rc != 0:
            module.fail_json(msg=f"modules: modprobe {' '.join(todo.load_modules)} failed: {err.strip() or out.strip()}",
                             **{**result, "changed": True})
    for key, value in todo.set_sysctls.items():
        try:
            with open(sysctl_path(key), "w", encoding="utf-8") as handle:
                handle.write(f"{value}\n")
        except OSError as error:
            module.fail_json(msg=f"sysctls: cannot set {key} to {value!r}: {error.strerror}",
                             **{**result, "changed": True})
    for change in file_changes(todo, live, module.params["modules_file"], module.params["sysctl_file"]):
        if change.after is None:
            os.remove(change.path)
        else:
            write_file(module, change.path, change.after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
