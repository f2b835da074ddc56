# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: host_state
short_description: What one read found on a host, for the roles to skip tasks that would change nothing
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - The roles read the distribution, packages, paths, users, units and lines they set up with one
    M(ansible.builtin.command) run, whose argv the filter C(host_state_command) builds from a list of items,
    and skip each task whose thing is already as the task would leave it. A task that changes nothing still
    costs a module run on the host, about a second on a small one.
  - C(host_state) parses that run's output. It refuses a line it does not understand.
  - "Items of C(host_state_command): V(os); V(package NAME) (installed: dpkg status installed, or rpm -q);
    V(path PATH) (type, owner, group, mode and SHA-1 of a regular file); V(user NAME) (login shell);
    V(unit NAME) (systemctl is-active and is-enabled); V(match PATH ERE) (the lines of PATH that match the
    extended regular expression)."
options:
  _input:
    description: The C(stdout) of the command run whose argv C(host_state_command) built.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the package and the unit
  ansible.builtin.command:
    argv: "{{ ['package nginx', 'unit nginx.service'] | lvs.cluster.host_state_command }}"
  register: read
  changed_when: false
  check_mode: false

- name: Install nginx
  ansible.builtin.apt:
    name: nginx
    state: present
  when: "'nginx' not in (read.stdout | lvs.cluster.host_state).installed"
"""

RETURN = r"""
_value:
  description: What the read found.
  type: dict
  contains:
    os_family:
      description: V(Debian) or V(RedHat) from C(/etc/os-release) (ID and ID_LIKE), else its ID (or a text saying it has none); V(null) without an V(os) item.
      type: str
    installed:
      description: The packages of V(package) items that are installed.
      type: list
      elements: str
    files:
      description:
        - One entry per V(path) item that exists, with the keys M(ansible.builtin.find) returns (C(path),
          C(isdir), C(isreg), C(pw_name), C(gr_name), C(mode) as four octal digits, C(checksum) for a
          regular file), so that C(lvs.cluster.file_differs) and C(lvs.cluster.path_differs) take it.
      type: list
      elements: dict
    users:
      description: User name to login shell, for the V(user) items that exist.
      type: dict
    units:
      description: Unit name to C(active) and C(enabled), as systemctl is-active and is-enabled print them (empty when it printed nothing).
      type: dict
    matches:
      description: Path to the lines that matched, for the V(match) items whose path had any.
      type: dict
"""

import re
from typing import Any

from ansible.errors import AnsibleFilterError

# POSIX sh; one line per item, fields separated by tabs. LC_ALL=C: the output is parsed.
_SCRIPT = r"""
LC_ALL=C
export LC_ALL
for item do
  kind=${item%% *}
  name=${item#* }
  case $kind in
    os)
      (. /etc/os-release 2>/dev/null; printf 'os\t%s\t%s\n' "${ID:-}" "${ID_LIKE:-}") ;;
    package)
      state=absent
      if command -v dpkg-query >/dev/null 2>&1; then
        case $(dpkg-query -W -f '${db:Status-Abbrev}' "$name" 2>/dev/null) in ?i*) state=installed ;; esac
      elif command -v rpm >/dev/null 2>&1 && rpm -q --quiet "$name"; then
        state=installed
      fi
      printf 'package\t%s\t%s\n' "$name" "$state" ;;
    path)
      if [ -f "$name" ]; then
        printf 'path\t%s\tfile\t%s\t%s\n' "$name" "$(stat -c '%U %G %a' -- "$name")" "$(sha1sum < "$name")"
      elif [ -d "$name" ]; then
        printf 'path\t%s\tdirectory\t%s\t-\n' "$name" "$(stat -c '%U %G %a' -- "$name")"
      elif [ -e "$name" ] || [ -L "$name" ]; then
        printf 'path\t%s\tother\t%s\t-\n' "$name" "$(stat -c '%U %G %a' -- "$name")"
      else
        printf 'path\t%s\tmissing\n' "$name"
      fi ;;
    user)
      if entry=$(getent passwd "$name"); then
        printf 'user\t%s\tpresent\t%s\n' "$name" "${entry##*:}"
      else
        printf 'user\t%s\tabsent\t\n' "$name"
      fi ;;
    unit)
      printf 'unit\t%s\t%s\t%s\n' "$name" "$(systemctl is-active "$name" 2>/dev/null)" "$(systemctl is-enabled "$name" 2>/dev/null)" ;;
    match)
      grep -E -e "${name#* }" -- "${name%% *}" 2>/dev/null | while IFS= read -r line; do
        printf 'match\t%s\t%s\n' "${name%% *}" "$line"
      done ;;
  esac
done
"""

# stat's "%U %G %a": owner, group, octal mode.
_ATTRIBUTES = re.compile(r"\S+ \S+ [0-7]{1,4}")
_ITEM_KINDS = ("os", "package", "path", "user", "unit", "match")


def host_state_command(items: list[str]) -> list[str]:
    """The argv of the one read: sh runs the script with the items as its arguments."""
    for item in items:
        if str(item).split(" ", 1)[0] not in _ITEM_KINDS:
            raise AnsibleFilterError(f"host_state_command: unknown item {item!r}; items start with one of {', '.join(_ITEM_KINDS)}")
    return ["sh", "-c", _SCRIPT, "sh", *[str(item) for item in items]]


def _os_family(distribution: str, like: str) -> str:
    names = {distribution, *like.split()}
    if names & {"debian", "ubuntu"}:
        return "Debian"
    if names & {"rhel", "fedora", "centos"}:
        return "RedHat"
    return distribution or "unknown (no ID in /etc/os-release)"


def host_state(output: str) -> dict[str, Any]:
    found: dict[str, Any] = {"os_family": None, "installed": [], "files": [], "users": {}, "units": {}, "matches": {}}
    for line in str(output).splitlines():
        kind, _sep, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "os" and len(fields) == 2:
            found["os_family"] = _os_family(*fields)
        elif kind == "package" and len(fields) == 2 and fields[1] in ("installed", "absent"):
            if fields[1] == "installed":
                found["installed"].append(fields[0])
        elif kind == "path" and len(fields) == 2 and fields[1] == "missing":
            continue
        elif kind == "path" and len(fields) == 4 and fields[1] in ("file", "directory", "other") \
                and _ATTRIBUTES.fullmatch(fields[2]):
            owner, group, mode = fields[2].split(" ")
            entry = {"path": fields[0], "isdir": fields[1] == "directory", "isreg": fields[1] == "file",
                     "pw_name": owner, "gr_name": group, "mode": f"{int(mode, 8):04o}"}
            if fields[1] == "file":
                entry["checksum"] = fields[3].split(" ", 1)[0]
            found["files"].append(entry)
        elif kind == "user" and len(fields) == 3 and fields[1] in ("present", "absent"):
            if fields[1] == "present":
                found["users"][fields[0]] = fields[2]
        elif kind == "unit" and len(fields) == 3:
            found["units"][fields[0]] = {"active": fields[1], "enabled": fields[2]}
        elif kind == "match" and len(fields) >= 2:
            found["matches"].setdefault(fields[0], []).append(rest.split("\t", 1)[1])
        else:
            raise AnsibleFilterError(f"host_state: a line of the read it does not understand: {line!r}")
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"host_state": host_state, "host_state_command": host_state_command}
