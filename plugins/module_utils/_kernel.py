# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules and sysctls a host needs now and at every boot: read, plan, apply.

Private to this collection; the kernel_settings module is its only user.
"""

from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass, field

# Dotted (net.ipv4.ip_forward) or, for names that hold a dot such as eth0.100, slashed.
_SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_\-]+([./][A-Za-z0-9_.\-]+)+$")
_MODULE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
HEADER = "# Managed by Ansible (lvs.cluster); local changes are overwritten.\n"


class KernelSettingsError(Exception):
    """An option the module cannot apply; the message names it."""


@dataclass(frozen=True)
class LiveState:
    """What the host has now: file contents (None when absent), loaded modules, sysctl values."""

    modules_file: str | None
    sysctl_file: str | None
    loaded_modules: frozenset[str]
    sysctl_values: dict[str, str | None]


@dataclass
class Plan:
    """What a run changes; empty lists and None file contents mean nothing to do."""

    modules_file: str | None = None
    sysctl_file: str | None = None
    remove_modules_file: bool = False
    remove_sysctl_file: bool = False
    load_modules: list[str] = field(default_factory=list)
    set_sysctls: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.modules_file is not None or self.sysctl_file is not None or self.remove_modules_file
                    or self.remove_sysctl_file or self.load_modules or self.set_sysctls)


def normalize_module(name: str) -> str:
    """The kernel lists modules with underscores whatever the file name says."""
    return name.replace("-", "_")


def normalize_value(value: t.Any) -> str:
    """sysctl prints multi-field values separated by tabs; compare them field by field."""
    if isinstance(value, bool):
        value = int(value)
    return " ".join(str(value).split())


def check_options(modules: list[str], sysctls: dict[str, t.Any]) -> None:
    for name in modules:
        if not _MODULE_NAME.match(name):
            raise KernelSettingsError(f"modules: {name!r} is not a kernel module name (letters, digits, _ and -)")
    for key, value in sysctls.items():
        if not _SYSCTL_KEY.match(key):
            raise KernelSettingsError(f"sysctls: {key!r} is not a sysctl key such as net.ipv4.ip_forward")
        if normalize_value(value) == "":
            raise KernelSettingsError(f"sysctls: {key} has an empty value")


def render_modules_file(modules: list[str]) -> str:
    return HEADER + "".join(f"{name}\n" for name in modules)


def render_sysctl_file(sysctls: dict[str, t.Any]) -> str:
    return HEADER + "".join(f"{key} = {normalize_value(value)}\n" for key, value in sysctls.items())


def _file_plan(wanted: str | None, live: str | None) -> tuple[str | None, bool]:
    """(content to write, or None; whether to remove the file): nothing wanted removes it."""
    if wanted is None:
        return None, live is not None
    return (wanted if live != wanted else None), False


def plan(modules: list[str], sysctls: dict[str, t.Any], live: LiveState) -> Plan:
    """Pure: compare the wanted settings with the live state. Files with nothing to hold go away."""
    result = Plan()
    result.modules_file, result.remove_modules_file = _file_plan(
        render_modules_file(modules) if modules else None, live.modules_file)
    result.sysctl_file, result.remove_sysctl_file = _file_plan(
        render_sysctl_file(sysctls) if sysctls else None, live.sysctl_file)
    result.load_modules = [name for name in modules if normalize_module(name) not in live.loaded_modules]
    for key, value in sysctls.items():
        current = live.sysctl_values.get(key)
        if current is None or normalize_value(current) != normalize_value(value):
            result.set_sysctls[key] = normalize_value(value)
    return result


@dataclass(frozen=True)
class FileChange:
    """One boot file the run rewrites (after is its new content) or removes (after is None)."""

    path: str
    before: str | None
    after: str | None


def file_changes(plan_: Plan, live: LiveState, modules_path: str, sysctl_path: str) -> list[FileChange]:
    """The boot files PLAN_ touches, paired with their paths; main() applies them, diff() shows them."""
    changes = []
    for path, before, after, removed in (
        (modules_path, live.modules_file, plan_.modules_file, plan_.remove_modules_file),
        (sysctl_path, live.sysctl_file, plan_.sysctl_file, plan_.remove_sysctl_file),
    ):
        if removed:
            changes.append(FileChange(path, before, None))
        elif after is not None:
            changes.append(FileChange(path, before, after))
    return changes


def diff(plan_: Plan, live: LiveState, modules_path: str, sysctl_path: str) -> list[dict[str, str]]:
    """One before/after pair per file, and one for the live values, as --diff shows them."""
    diffs = [{"before_header": change.path, "after_header": change.path,
              "before": change.before or "", "after": change.after or ""}
             for change in file_changes(plan_, live, modules_path, sysctl_path)]
    live_before = "".join(f"loaded {name}\n" for name in sorted(live.loaded_modules & {
        normalize_module(name) for name in plan_.load_modules}))
    live_after = "".join(f"loaded {normalize_module(name)}\n" for name in plan_.load_modules)
    live_before += "".join(f"{key} = {_shown(live.sysctl_values.get(key))}\n" for key in plan_.set_sysctls)
    live_after += "".join(f"{key} = {value}\n" for key, value in plan_.set_sysctls.items())
    if live_after:
        diffs.append({"before_header": "running kernel", "after_header": "running kernel",
                      "before": live_before, "after": live_after})
    return diffs


def _shown(value: str | None) -> str:
    return "(not there yet)" if value is None else normalize_value(value)


def sysctl_path(key: str) -> str:
    """net.ipv4.vs.conntrack -> /proc/sys/net/ipv4/vs/conntrack; keys given with / are taken as they are."""
    relative = key if "/" in key else key.replace(".", "/")
    return os.path.join("/proc/sys", relative)


def read_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_loaded_modules(proc_modules: str = "/proc/modules", sys_module: str = "/sys/module") -> frozenset[str]:
    """Loadable modules from /proc/modules; built-in ones only show up under /sys/module."""
    loaded = set()
    text = read_file(proc_modules) or ""
    for line in text.splitlines():
        if line.strip():
            loaded.add(line.split()[0])
    if os.path.isdir(sys_module):
        loaded.update(os.listdir(sys_module))
    return frozenset(loaded)


def read_live(modules_path: str, sysctl_file_path: str, keys: t.Iterable[str]) -> LiveState:
    return LiveState(
        modules_file=read_file(modules_path),
        sysctl_file=read_file(sysctl_file_path),
        loaded_modules=read_loaded_modules(),
        sysctl_values={key: read_file(sysctl_path(key)) for key in keys},
    )
