# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: unit_not_found
short_description: Whether a systemd_service run failed only because systemd does not know the unit
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - True for a failed result of M(ansible.builtin.systemd_service) whose message says systemd has no such unit.
  - The roles use it where that is expected, not an error, for example in check mode, which writes no unit file
    and installs no package, so the unit a run would bring does not exist yet; or when removing units that
    may be gone already.
options:
  _input:
    description: A registered result of M(ansible.builtin.systemd_service) (one loop item's result in a loop).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Stop the unit if it exists
  ansible.builtin.systemd_service:
    name: lvs-realserver-vips.service
    state: stopped
  register: stopped
  failed_when: stopped is failed and stopped is not lvs.cluster.unit_not_found
"""

RETURN = r"""
_value:
  description: Whether the result failed because the unit does not exist.
  type: bool
"""

from typing import Any, Callable, Dict

# The text ansible.builtin.systemd_service fails with when systemctl does not know the unit.
_UNIT_NOT_FOUND = "Could not find the requested service"


def unit_not_found(result: Dict[str, Any]) -> bool:
    return bool(result.get("failed")) and _UNIT_NOT_FOUND in str(result.get("msg", ""))


class TestModule:
    def tests(self) -> Dict[str, Callable[..., bool]]:
        return {"unit_not_found": unit_not_found}
