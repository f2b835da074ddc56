"""unit_not_found: a systemd_service result that failed only because systemd does not know the unit."""
from __future__ import annotations

import inspect

from ansible.module_utils import service

from ansible_collections.lvs.cluster.plugins.test import unit_not_found as plugin
from ansible_collections.lvs.cluster.plugins.test.unit_not_found import unit_not_found

# As ansible.builtin.systemd_service fails on a host where the unit file is not there (seen in check mode on
# fresh lab hosts).
NOT_FOUND = {"failed": True, "changed": False,
             "msg": "Could not find the requested service lvs-realserver-vips.service: host"}


def test_the_text_is_the_one_ansible_fails_with() -> None:
    assert "'Could not find the requested service %s: %s'" in inspect.getsource(service.fail_if_missing)


def test_a_missing_unit_is_found_missing() -> None:
    assert unit_not_found(NOT_FOUND) is True


def test_other_failures_and_successes_are_not() -> None:
    assert unit_not_found({"failed": True, "msg": "Unable to start service keepalived: Job failed"}) is False
    assert unit_not_found({"failed": False, "changed": True, "msg": NOT_FOUND["msg"]}) is False
    assert unit_not_found({"changed": False, "name": "keepalived"}) is False


def test_ansible_finds_the_test_by_its_name() -> None:
    assert plugin.TestModule().tests()["unit_not_found"] is unit_not_found
