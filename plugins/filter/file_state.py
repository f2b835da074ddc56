# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: file_differs
short_description: Whether a file on the host differs from what a template or copy task would write
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - Takes the files one M(ansible.builtin.find) run listed with O(ansible.builtin.find#module:get_checksum=true)
    and tells whether the file at O(path) is missing, or differs in content, mode, owner or group from what a
    template or copy task would write.
  - The roles read all the files they write with one such run and skip each template or copy task whose file
    is already as it would be written. A template or copy task that changes nothing still costs two module
    runs on the host (a stat, then the file module for the attributes).
  - "C(path_differs(files, path, mode, owner='root', group='root', directory=false)) in the same file tells
    whether a path is missing or differs in mode, owner or group (or is no directory, when O(directory) is
    true), for a file task that sets a directory's attributes or a lineinfile task's file; the entries may
    also come from C(lvs.cluster.host_state)."
options:
  _input:
    description: The C(files) of a M(ansible.builtin.find) result, with checksums.
    type: list
    elements: dict
    required: true
  path:
    description: The file's absolute path.
    type: str
    required: true
  content:
    description: What the task would write, for example a C(lookup('ansible.builtin.template', ...)).
    type: str
    required: true
  mode:
    description: The mode the task sets, as four octal digits.
    type: str
    required: true
  owner:
    description: The owner the task sets.
    type: str
    default: root
  group:
    description: The group the task sets.
    type: str
    default: root
"""

EXAMPLES = r"""
- name: Read the files the role writes
  ansible.builtin.find:
    paths: [/etc/keepalived]
    patterns: [keepalived.conf]
    get_checksum: true
  register: written

- name: Render keepalived.conf, only when it would change
  ansible.builtin.template:
    src: keepalived.conf.j2
    dest: /etc/keepalived/keepalived.conf
    owner: root
    group: root
    mode: "0644"
  when: >-
    written.files | lvs.cluster.file_differs('/etc/keepalived/keepalived.conf',
    lookup('ansible.builtin.template', 'keepalived.conf.j2'), '0644')
"""

RETURN = r"""
_value:
  description: V(true) when the file is missing or differs in content, mode, owner or group.
  type: bool
"""

import hashlib
from typing import Any


def file_differs(files: list[dict[str, Any]], path: str, content: str, mode: str,
                 owner: str = "root", group: str = "root") -> bool:
    found = next((entry for entry in files if entry.get("path") == path), None)
    if found is None or "checksum" not in found:
        return True
    wanted = hashlib.sha1(str(content).encode("utf-8")).hexdigest()  # find's checksum is SHA-1
    return found["checksum"] != wanted or path_differs([found], path, mode, owner, group)


def path_differs(files: list[dict[str, Any]], path: str, mode: str, owner: str = "root", group: str = "root",
                 directory: bool = False) -> bool:
    """Whether PATH is missing, or differs in mode, owner or group (or is no directory, when DIRECTORY) from
    what a file or lineinfile task would set; the content is not compared."""
    found = next((entry for entry in files if entry.get("path") == path), None)
    return (found is None or (directory and not found.get("isdir")) or found.get("mode") != mode
            or found.get("pw_name") != owner or found.get("gr_name") != group)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"file_differs": file_differs, "path_differs": path_differs}
