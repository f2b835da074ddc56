"""Type slips found against an argument spec, and values as the cluster model reads them."""
from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils._spec_types import conformed, type_errors

SERVICE = {"type": "dict", "options": {
    "port": {"type": "int"}, "name": {"type": "str"}, "alpha": {"type": "bool"},
    "health_check": {"type": "dict", "options": {"type": {"type": "str"}, "status_code": {"type": "str"}}},
    "scheduler_flags": {"type": "list", "elements": "str"}, "priorities": {"type": "dict"}}}


class TaggedStr(str):
    """Stands in for the str subclass Ansible hands templated values over as."""


def test_each_slip_is_named_by_its_path_value_and_expected_type() -> None:
    service = {"port": "80", "alpha": "false", "health_check": TaggedStr("HTTP_GET"),
               "scheduler_flags": ["sh-port", ["x"]], "priorities": [1], "name": 80}
    assert type_errors("lvs_virtual_services[0]", service, SERVICE) == [
        "lvs_virtual_services[0].port: '80' is a string; expected an integer",
        "lvs_virtual_services[0].alpha: 'false' is a string; expected true or false",
        "lvs_virtual_services[0].health_check: 'HTTP_GET' is a string; expected a mapping",
        "lvs_virtual_services[0].scheduler_flags[1]: ['x'] is a list; expected a string",
        "lvs_virtual_services[0].priorities: [1] is a list; expected a mapping"]


def test_a_boolean_is_no_number_and_null_is_an_option_not_given() -> None:
    assert type_errors("p", {"port": True}, SERVICE) == ["p.port: True is a boolean; expected an integer"]
    assert type_errors("p", {"port": None, "health_check": {"type": None}}, SERVICE) == []


def test_conformed_drops_nulls_and_gives_numbers_for_strings_as_strings() -> None:
    given = {"port": 80, "name": None, "health_check": {"type": "HTTP_GET", "status_code": 200, "path": None}}
    assert conformed(given, SERVICE) == {"port": 80, "health_check": {"type": "HTTP_GET", "status_code": "200"}}
