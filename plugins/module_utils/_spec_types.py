# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML type slips in inventory values, found against a role's argument spec before anything reads them.

The cluster model reads services, other directors' hostvars and real servers' variables that no role
argument validation has seen. A value of the wrong type (`health_check: HTTP_GET`, `port: "80"`,
`realserver_weight: heavy`) would otherwise end in a Python error with no variable path, or worse, be
rendered as it is. The types are the argument spec's; stricter than Ansible's conversions where a
conversion would change meaning: a string is never a bool (`"false"` would be true in a template) and
never a number here, since keepalived.conf takes the value as written.
"""

from __future__ import annotations

from typing import Any

# A spec type -> what a value must be, and how an error names it.
_ACCEPTS = {
    "str": ((str, int, float), "a string"),
    "path": ((str,), "a path (string)"),
    "int": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "bool": ((bool,), "true or false"),
    "list": ((list,), "a list"),
    "dict": ((dict,), "a mapping"),
}


def _kind(value: Any) -> str:
    # isinstance, not type(): Ansible hands templated values over as subclasses (tagged str, dict, list).
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"), (list, "a list"),
             (dict, "a mapping"))
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)


def _matches(value: Any, spec_type: str) -> bool:
    if spec_type == "raw" or spec_type not in _ACCEPTS:
        return True
    types, _name = _ACCEPTS[spec_type]
    if isinstance(value, bool):
        return spec_type == "bool"
    return isinstance(value, types)


def type_errors(path: str, value: Any, option: dict) -> list[str]:
    """Every value under PATH that OPTION (one option of an argument spec: type, elements, options) does not
    allow, as "PATH: VALUE is KIND; expected ...". None is an unset option and always allowed."""
    if value is None:
        return []
    spec_type = option.get("type", "str")
    if not _matches(value, spec_type):
        return [f"{path}: {value!r} is {_kind(value)}; expected {_ACCEPTS[spec_type][1]}"]
    errors = []
    if spec_type == "dict" and option.get("options"):
        errors += options_errors(path, value, option["options"])
    if spec_type == "list":
        element = {"type": option.get("elements", "raw"), "options": option.get("options")}
        for index, item in enumerate(value):
            errors += type_errors(f"{path}[{index}]", item, element)
    return errors


def options_errors(path: str, mapping: dict, options: dict) -> list[str]:
    """type_errors for each key of MAPPING that OPTIONS names (unknown keys are the caller's to refuse)."""
    errors = []
    for key, value in mapping.items():
        if key in options:
            errors += type_errors(f"{path}.{key}", value, options[key])
    return errors


def conformed(value: Any, option: dict) -> Any:
    """VALUE, which type_errors passed, as the rest of the model reads it: without the options of its mappings
    given as null (an option not given), and a number given for a string option as that string
    (`status_code: 200` is "200"), at every depth OPTION describes."""
    spec_type = option.get("type", "str")
    if spec_type == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if spec_type == "dict" and isinstance(value, dict):
        options = option.get("options") or {}
        return {key: conformed(item, options.get(key, {"type": "raw"})) for key, item in value.items() if item is not None}
    if spec_type == "list" and isinstance(value, list):
        element = {"type": option.get("elements", "raw"), "options": option.get("options")}
        return [conformed(item, element) for item in value]
    return value
