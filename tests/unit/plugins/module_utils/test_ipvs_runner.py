"""Ipvsadm's handling of a missing binary and a kernel without IPVS, with captured ipvsadm output."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs import Ipvsadm, service_key_errors

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ipvsadm"


class Failed(Exception):
    pass


class StubModule:
    """Stands in for AnsibleModule: answers run_command with canned output, records fail_json."""

    def __init__(self, binary: str | None, rc: int = 0, out: str = "", err: str = "") -> None:
        self.binary, self.reply, self.calls = binary, (rc, out, err), []

    def get_bin_path(self, name: str) -> str | None:
        return self.binary

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return self.reply

    def fail_json(self, **result):
        raise Failed(result["msg"])

    def warn(self, message: str) -> None:
        raise AssertionError(f"unexpected warning: {message}")


def test_missing_ipvsadm_says_what_to_install() -> None:
    with pytest.raises(Failed, match="ipvsadm was not found on this host: install the ipvsadm package"):
        Ipvsadm(StubModule(binary=None))


def test_kernel_without_ipvs_says_modprobe() -> None:
    stderr = (FIXTURES / "no_ipvs_stderr.txt").read_text(encoding="utf-8")
    module = StubModule(binary="/usr/sbin/ipvsadm", rc=2, err=stderr)
    with pytest.raises(Failed, match=r"this kernel has no IPVS: load it with 'modprobe ip_vs'.*Protocol not available"):
        Ipvsadm(module).read_table()


def test_commands_run_as_argv_in_the_c_locale() -> None:
    module = StubModule(binary="/usr/sbin/ipvsadm")
    Ipvsadm(module).run(["-S", "-n"])
    argv, kwargs = module.calls[0]
    assert argv == ["/usr/sbin/ipvsadm", "-S", "-n"]
    assert kwargs["environ_update"]["LC_ALL"] == "C"


@pytest.mark.parametrize(("params", "message"), [
    ({"address": "198.18.2.300", "port": 80}, "address: '198.18.2.300' is not an IPv4 or IPv6 address"),
    ({"address": "198.18.2.1", "port": 0}, "port: 0 is out of range (1-65535)"),
    ({"fwmark": 5, "port": 80}, "port: a fwmark service has no port"),
    ({"address": "198.18.2.1"}, "port: required unless fwmark is given"),
    ({"address": "198.18.2.1", "port": 80, "family": "ipv6"}, "family: only for fwmark services"),
])
def test_service_key_errors_name_the_option(params: dict, message: str) -> None:
    assert message in " ".join(service_key_errors(params, "services[3]."))
    assert all(error.startswith("services[3].") for error in service_key_errors(params, "services[3]."))
