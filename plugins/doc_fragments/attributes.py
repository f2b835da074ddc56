# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What every module of the collection supports, on top of ansible.builtin.action_common_attributes
    # (which describes each attribute). A module sets only what differs, or adds details: Ansible
    # merges each attribute's keys, the module's winning.
    DOCUMENTATION = r"""
options: {}
attributes:
  platform:
    platforms: posix
  check_mode:
    support: full
  diff_mode:
    support: full
"""
