# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vrrp_advert_terms
short_description: What each VRRP instance of a keepalived.conf needs its peers' adverts to match
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - Reads the text of a C(keepalived.conf) and returns, for each C(vrrp_instance), what keepalived checks in a
    received advert before it accepts it. Keepalived drops an advert of another version, of another
    C(virtual_router_id) (another virtual router), whose addresses differ from those of its own
    C(virtual_ipaddress) block, or, with VRRP version 2, whose C(advert_int) or C(authentication) differs.
    Version 3 takes the master's advert interval instead.
  - A backup that drops the master's adverts takes the VIPs as a second master and sends gratuitous ARPs for
    them, so clients on the segment send their traffic to it. When the directors reload one at a time after
    one of these terms changed, the director reloaded first is such a backup until the others reload too.
    The director role compares the file in place with the one it renders, and when this filter's answers
    differ it leaves the reload to the end of C(directors.yml), where every director reloads at once.
  - Addresses in C(virtual_ipaddress_excluded) are not advertised, so they are not listed. An
    C(authentication) block lists its lines as written; with the role's C(include) of a secrets file, a new
    password changes that file, not these lines.
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

- name: Whether a director reloaded alone would drop the others' adverts
  ansible.builtin.debug:
    msg: >-
      {{ (in_place.content | b64decode | lvs.cluster.vrrp_advert_terms)
         != (lookup('ansible.builtin.template', 'keepalived.conf.j2') | lvs.cluster.vrrp_advert_terms) }}
"""

RETURN = r"""
_value:
  description:
    - Each instance's name, mapped to its terms. RV(_value.addresses) are the advertised addresses with their
      prefix, in the order written; RV(_value.version), RV(_value.virtual_router_id) and RV(_value.advert_int)
      are the values as written, or null when the instance does not set them; RV(_value.advert_int) is null
      with version 3, which does not compare it; RV(_value.authentication) lists the lines of the
      C(authentication) block.
  type: dict
  sample:
    VI_eth1_4_director1:
      addresses: ["198.18.9.50/32", "198.18.9.51/32"]
      version: "2"
      virtual_router_id: "50"
      advert_int: "1"
      authentication: ["include /etc/keepalived/secrets/vrrp_auth.conf"]
"""

import re
from typing import Any

_INSTANCE = re.compile(r"^vrrp_instance\s+(\S+)\s*\{$")
_BLOCK = re.compile(r"^(\S+)(?:\s+\S+)*\s*\{$")
_ADVERTISED_BLOCKS = {"virtual_ipaddress": "addresses", "authentication": "authentication"}
_COMPARED_KEYWORDS = ("version", "virtual_router_id", "advert_int")


def vrrp_advert_terms(text: str) -> dict[str, dict[str, Any]]:
    """Each instance's advert terms; raises on a block that never closes or a brace without a block."""
    instances: dict[str, dict[str, Any]] = {}
    # The names of the blocks the current line is in, outermost first.
    blocks: list[str] = []
    instance = ""
    for number, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.split("#", 1)[0].split("!", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            if not blocks:
                raise ValueError(f"vrrp_advert_terms: line {number} closes a block that was never opened")
            blocks.pop()
            continue
        started = _INSTANCE.match(line) if not blocks else None
        if started:
            instance = started.group(1)
            instances[instance] = {"addresses": [], "authentication": [],
                                   **{keyword: None for keyword in _COMPARED_KEYWORDS}}
            blocks.append("vrrp_instance")
            continue
        block = _BLOCK.match(line)
        in_instance = blocks[:1] == ["vrrp_instance"]
        if in_instance and len(blocks) == 2 and blocks[1] in _ADVERTISED_BLOCKS:
            words = line.split()
            instances[instance][_ADVERTISED_BLOCKS[blocks[1]]].append(
                words[0] if blocks[1] == "virtual_ipaddress" else " ".join(words))
        elif in_instance and len(blocks) == 1 and not block and line.split()[0] in _COMPARED_KEYWORDS:
            keyword, *values = line.split()
            instances[instance][keyword] = " ".join(values)
        if block:
            blocks.append(block.group(1))
    if blocks:
        where = f" of {instance}" if blocks[0] == "vrrp_instance" else ""
        raise ValueError(f"vrrp_advert_terms: the {blocks[-1]} block{where} is not closed")
    for terms in instances.values():
        if terms["version"] == "3":
            terms["advert_int"] = None
    return instances


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"vrrp_advert_terms": vrrp_advert_terms}
