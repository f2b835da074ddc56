# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_addresses
short_description: The addresses each VRRP instance of a keepalived.conf advertises
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - Reads the text of a C(keepalived.conf) and returns, for each C(vrrp_instance), the addresses of its
    C(virtual_ipaddress) block in the order written. These are the addresses the instance's adverts carry.
  - Keepalived drops an advert whose addresses differ from those it has configured for the instance. When
    the directors reload one at a time after an instance's addresses changed, the director reloaded first
    drops the master's adverts until the other reloads too, and takes the VIPs as a second master. The
    director role compares the file in place with the one it renders, and when this filter's answers differ
    it leaves the reload to the end of C(directors.yml), where every director reloads at once.
  - Addresses in C(virtual_ipaddress_excluded) are not advertised, so they are not listed.
options:
  _input:
    description: The text of a C(keepalived.conf), without its C(include)d files.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the keepalived.conf in place
  ansible.builtin.slurp:
    src: /etc/keepalived/keepalived.conf
  register: in_place

- name: Whether an instance's advertised addresses would change
  ansible.builtin.debug:
    msg: >-
      {{ (in_place.content | b64decode | lvs.cluster.vrrp_addresses)
         != (lookup('ansible.builtin.template', 'keepalived.conf.j2') | lvs.cluster.vrrp_addresses) }}
"""

RETURN = r"""
_value:
  description: Each instance's name, mapped to its advertised addresses (with their prefix, as written).
  type: dict
  sample: {"VI_eth1_4_director1": ["198.18.9.50/32", "198.18.9.51/32"]}
"""

import re
from typing import Any

_INSTANCE = re.compile(r"^vrrp_instance\s+(\S+)\s*\{")
_ADDRESS_BLOCK = re.compile(r"^virtual_ipaddress\s*\{")


def vrrp_addresses(text: str) -> dict[str, list[str]]:
    """Each instance's advertised addresses; raises on a block that never closes."""
    instances: dict[str, list[str]] = {}
    instance = None
    in_block = False
    for number, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.split("#", 1)[0].split("!", 1)[0].strip()
        if not line:
            continue
        if in_block:
            if line == "}":
                in_block = False
            else:
                instances[instance].append(line.split()[0])
            continue
        started = _INSTANCE.match(line)
        if started:
            instance = started.group(1)
            instances[instance] = []
        elif instance is not None and _ADDRESS_BLOCK.match(line):
            in_block = True
        elif not raw[:1].isspace() and line == "}":
            instance = None
    if in_block:
        raise ValueError(f"vrrp_addresses: the virtual_ipaddress block of {instance} is not closed")
    return instances


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"vrrp_addresses": vrrp_addresses}
