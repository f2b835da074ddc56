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
    V(path PATH) (type, owner, group, mode and SHA-1 of a regular file); V(glob PATTERN) (as V(path), for each
    regular file a shell pattern without spaces matches); V(user NAME) (login shell);
    V(unit NAME) (C(systemctl show)'s ActiveState and UnitFileState, and C(systemctl is-enabled) for the unit
    systemd generates from a SysV script); V(match PATH ERE) (the lines of PATH that match the
    extended regular expression); V(sysctl KEY) (its value in C(/proc/sys), the key dotted or slashed as
    M(lvs.cluster.kernel_settings) takes it); V(module NAME) (loaded, as C(/sys/module) shows it);
    V(addresses) (C(ip -o addr show)); V(ipvs) (the live IPVS table, from the listings M(lvs.cluster.ipvs_info)
    reads); V(iptables) (C(iptables -S INPUT)); V(nft CHAIN) (C(nft list chain), the chain given as C(FAMILY TABLE
    CHAIN), with its error if it has none)."
  - C(ipvs_services) returns the V(ipvs) item's table as M(lvs.cluster.ipvs_info) returns it in C(services),
    parsed by the same code (V([]) where the host has no ipvsadm); it fails with ipvsadm's message where
    ipvsadm failed, and warns of a line it does not understand, as the module does.
  - C(kernel_settings_differ) and C(vip_addresses_differ) say, from that read, whether
    M(lvs.cluster.kernel_settings) or M(lvs.cluster.vip_addresses) with the same options would change
    anything, with the modules' own planning code; a role skips the module run when they say no.
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
      description: Unit name to C(active) and C(enabled), as systemctl is-active and is-enabled print them (empty for a unit systemd does not know).
      type: dict
    matches:
      description: Path to the lines that matched, for the V(match) items whose path had any.
      type: dict
    sysctls:
      description: Key (as the item gave it) to its value, V(null) where C(/proc/sys) has no such key.
      type: dict
    modules:
      description: Module name (with C(_) for C(-), as the kernel names it) to whether it is loaded.
      type: dict
    addresses:
      description: The lines of C(ip -o addr show), for an V(addresses) item.
      type: list
      elements: str
    iptables:
      description: The lines of C(iptables -S INPUT), for an V(iptables) item.
      type: list
      elements: str
    nft:
      description: Chain (as the item gave it) to the lines C(nft list chain) printed, errors included.
      type: dict
    ipvs:
      description:
        - For an V(ipvs) item, the lines of each ipvsadm listing (C(save), C(thresholds), C(listing)) and
          of a failure (C(error)); V(null) without the item or where the host has no ipvsadm.
      type: dict
"""

import hashlib
import re
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible.utils.display import Display

from ansible_collections.lvs.cluster.plugins.module_utils import _addresses, _ipvs, _kernel
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_listing import parse_listing

# POSIX sh; one line per item, fields separated by tabs. LC_ALL=C: the output is parsed.
_SCRIPT = r"""
LC_ALL=C
export LC_ALL
tab=$(printf '\t')

# Each program runs once for all the items of its kind (a process costs tens of milliseconds on a
# small host): with_names_of calls a reader once, with the names of every item of one kind.
with_names_of() {
  kind=$1 reader=$2
  shift 2
  n=$#
  while [ "$n" -gt 0 ]; do
    item=$1; shift; n=$((n - 1))
    case $item in
      "$kind "*) set -- "$@" "${item#"$kind" }" ;;
      # A glob's matches are paths. Unquoted: the shell expands the pattern; one that matches
      # nothing stays as it is, and is not a file.
      "glob "*)
        if [ "$kind" = path ]; then
          for match in ${item#glob }; do [ -f "$match" ] && set -- "$@" "$match"; done
        fi ;;
    esac
  done
  [ $# -eq 0 ] || "$reader" "$@"
}

paths() {
  stat -L --printf '%n\t%F\t%U %G %a\n' -- "$@" 2>/dev/null | while IFS=$tab read -r name type attributes; do
    case $type in
      "regular file"|"regular empty file")
        printf 'path\t%s\tfile\t%s\t%s\n' "$name" "$attributes" "$(sha1sum < "$name")" ;;
      directory)
        printf 'path\t%s\tdirectory\t%s\t-\n' "$name" "$attributes" ;;
      *)
        printf 'path\t%s\tother\t%s\t-\n' "$name" "$attributes" ;;
    esac
  done
}

units() {
  # One block per unit, in their order, blank lines between. A SysV script's unit is "generated";
  # is-enabled asks the script's links, as systemd does at boot.
  systemctl show --property=ActiveState --property=UnitFileState -- "$@" 2>/dev/null | {
    for name do
      active= enabled=
      while IFS='=' read -r key value && [ -n "$key" ]; do
        case $key in ActiveState) active=$value ;; UnitFileState) enabled=$value ;; esac
      done
      if [ "$enabled" = generated ]; then
        enabled=$(systemctl is-enabled -- "$name" 2>/dev/null)
      fi
      printf 'unit\t%s\t%s\t%s\n' "$name" "$active" "$enabled"
    done
  }
}

# One ipvsadm listing, each line after the listing's name; a failing one's message as "error" lines.
ipvs_lines() {
  listing=$1; shift
  output=$(ipvsadm "$@" 2>&1) || listing=error
  [ -z "$output" ] || printf '%s\n' "$output" | while IFS= read -r line; do
    printf 'ipvs\t%s\t%s\n' "$listing" "$line"
  done
}

with_names_of path paths "$@"
with_names_of unit units "$@"
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
    user)
      if entry=$(getent passwd "$name"); then
        printf 'user\t%s\tpresent\t%s\n' "$name" "${entry##*:}"
      else
        printf 'user\t%s\tabsent\t\n' "$name"
      fi ;;
    sysctl)
      # dash's read returns 1 on a /proc/sys file, having read its line all the same.
      if [ -f "${name#* }" ]; then
        value=
        IFS= read -r value < "${name#* }" || :
        printf 'sysctl\t%s\tpresent\t%s\n' "${name%% *}" "$value"
      else
        printf 'sysctl\t%s\tabsent\n' "${name%% *}"
      fi ;;
    module)
      if [ -d "/sys/module/$name" ]; then
        printf 'module\t%s\tloaded\n' "$name"
      else
        printf 'module\t%s\tabsent\n' "$name"
      fi ;;
    addresses)
      ip -o addr show | while IFS= read -r line; do
        printf 'address\t%s\n' "$line"
      done ;;
    ipvs)
      if command -v ipvsadm >/dev/null 2>&1; then
        printf 'ipvs\tread\n'
        ipvs_lines save -S -n
        ipvs_lines thresholds -L -n --thresholds --exact
        ipvs_lines listing -L -n --exact
      else
        printf 'ipvs\tmissing\n'
      fi ;;
    iptables)
      iptables -S INPUT 2>/dev/null | while IFS= read -r line; do
        printf 'iptables\t%s\n' "$line"
      done ;;
    nft)
      # Unquoted: the chain is "FAMILY TABLE CHAIN". An error (no such table or chain) is kept.
      nft list chain $name 2>&1 | while IFS= read -r line; do
        printf 'nft\t%s\t%s\n' "$name" "$line"
      done ;;
    match)
      grep -E -e "${name#* }" -- "${name%% *}" 2>/dev/null | while IFS= read -r line; do
        printf 'match\t%s\t%s\n' "${name%% *}" "$line"
      done ;;
  esac
done
"""

# stat's "%U %G %a": owner, group, octal mode.
_ATTRIBUTES = re.compile(r"\S+ \S+ [0-7]{1,4}")
_ITEM_KINDS = ("os", "package", "path", "glob", "user", "unit", "match", "sysctl", "module", "addresses", "ipvs",
               "iptables", "nft")


def _script_argument(item: str) -> str:
    """The item as the script takes it: a sysctl item also carries its file, which sh cannot derive."""
    kind, _sep, name = item.partition(" ")
    if kind not in _ITEM_KINDS:
        raise AnsibleFilterError(f"host_state_command: unknown item {item!r}; items start with one of {', '.join(_ITEM_KINDS)}")
    if kind == "sysctl":
        # A key kernel_settings refuses reads as absent here, so that kernel_settings_differ lets the
        # module run and say why.
        return f"{item} {_kernel.sysctl_path(name)}"
    if kind == "module":
        return f"module {_kernel.normalize_module(name)}"
    return item


def host_state_command(items: list[str]) -> list[str]:
    """The argv of the one read: sh runs the script with the items as its arguments."""
    return ["sh", "-c", _SCRIPT, "sh", *[_script_argument(str(item)) for item in items]]


def _os_family(distribution: str, like: str) -> str:
    names = {distribution, *like.split()}
    if names & {"debian", "ubuntu"}:
        return "Debian"
    if names & {"rhel", "fedora", "centos"}:
        return "RedHat"
    return distribution or "unknown (no ID in /etc/os-release)"


def host_state(output: str) -> dict[str, Any]:
    found: dict[str, Any] = {"os_family": None, "installed": [], "files": [], "users": {}, "units": {}, "matches": {},
                             "sysctls": {}, "modules": {}, "addresses": [], "ipvs": None,
                             "iptables": [], "nft": {}}
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
        elif kind == "sysctl" and len(fields) >= 3 and fields[1] == "present":
            found["sysctls"][fields[0]] = rest.split("\t", 2)[2]
        elif kind == "sysctl" and len(fields) == 2 and fields[1] == "absent":
            found["sysctls"][fields[0]] = None
        elif kind == "module" and len(fields) == 2 and fields[1] in ("loaded", "absent"):
            found["modules"][fields[0]] = fields[1] == "loaded"
        elif kind == "address" and rest:
            found["addresses"].append(rest)
        elif kind == "ipvs" and fields == ["read"]:
            found["ipvs"] = {"save": [], "thresholds": [], "listing": [], "error": []}
        elif kind == "ipvs" and fields == ["missing"]:
            found["ipvs"] = None
        elif kind == "ipvs" and len(fields) >= 2 and found["ipvs"] is not None and fields[0] in found["ipvs"]:
            found["ipvs"][fields[0]].append(rest.split("\t", 1)[1])
        elif kind == "iptables" and rest:
            found["iptables"].append(rest)
        elif kind == "nft" and len(fields) >= 2:
            found["nft"].setdefault(fields[0], []).append(rest.split("\t", 1)[1])
        elif kind == "match" and len(fields) >= 2:
            found["matches"].setdefault(fields[0], []).append(rest.split("\t", 1)[1])
        else:
            raise AnsibleFilterError(f"host_state: a line of the read it does not understand: {line!r}")
    return found


def ipvs_services(found: dict[str, Any]) -> list[dict]:
    """The live IPVS table of an ipvs item, as lvs.cluster.ipvs_info returns it in services."""
    read = found.get("ipvs")
    if read is None:
        return []
    if read["error"]:
        said = " ".join(read["error"])
        hint = f"{_ipvs.NO_IPVS_HINT}. " if "Protocol not available" in said or "Can't initialize ipvs" in said else ""
        raise AnsibleFilterError(f"ipvs_services: {hint}ipvsadm said: {said}")
    table, unknown = _ipvs.table_from_outputs("".join(f"{line}\n" for line in read["save"]),
                                              "".join(f"{line}\n" for line in read["thresholds"]))
    live, unknown_listing = parse_listing("".join(f"{line}\n" for line in read["listing"]))
    for line in unknown + unknown_listing:
        Display().warning(f"ipvsadm printed a line lvs.cluster does not understand (ignored): {line!r}")
    return _ipvs.services_with_counters(table, live)


def _checksum(found: dict[str, Any], path: str) -> str | None:
    """The SHA-1 of the regular file PATH as read, None when the read found none there."""
    for entry in found["files"]:
        if entry["path"] == path:
            return entry.get("checksum")
    return None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def kernel_settings_differ(found: dict[str, Any], modules: list[str], sysctls: dict[str, Any],
                           modules_file: str, sysctl_file: str) -> bool:
    """Whether lvs.cluster.kernel_settings with these options would change anything on the host read.

    The read must hold a path item for both files, a module item for every module and a sysctl item
    for every key. Options the module would refuse differ, so that the module runs and says why.
    """
    try:
        _kernel.check_options(modules, sysctls)
    except _kernel.KernelSettingsError:
        return True
    for path, wanted in ((modules_file, _kernel.render_modules_file(modules) if modules else None),
                         (sysctl_file, _kernel.render_sysctl_file(sysctls) if sysctls else None)):
        if _checksum(found, path) != (None if wanted is None else _sha1(wanted)):
            return True
    loaded = {_kernel.normalize_module(name) for name, is_loaded in found["modules"].items() if is_loaded}
    if any(_kernel.normalize_module(name) not in loaded for name in modules):
        return True
    return any(found["sysctls"].get(key) is None
               or _kernel.normalize_value(found["sysctls"][key]) != _kernel.normalize_value(value)
               for key, value in sysctls.items())


def vip_addresses_differ(found: dict[str, Any], addresses: list[str]) -> bool:
    """Whether lvs.cluster.vip_addresses would add or relabel any of ADDRESSES on the host read.

    For a host whose unit file already lists exactly ADDRESSES (so the module would remove nothing);
    the read must hold an addresses item. Addresses the module would refuse differ.
    """
    try:
        wanted = [_addresses.parse_held(text) for text in addresses]
        live = _addresses.parse_ip_addr("".join(f"{line}\n" for line in found["addresses"]))
    except _addresses.AddressError:
        return True
    return _addresses.plan(wanted, wanted, live).changed


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"host_state": host_state, "host_state_command": host_state_command,
                "kernel_settings_differ": kernel_settings_differ, "vip_addresses_differ": vip_addresses_differ,
                "ipvs_services": ipvs_services}
