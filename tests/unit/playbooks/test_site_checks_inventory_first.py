"""site.yml stops on a bad inventory before it contacts any host.

The inventory's hosts point at an address nothing answers on (TEST-NET-1, with a connect
timeout of 1 s): had the run reached any host, the failure would be "unreachable", not the
inventory check naming the variable.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

HOSTS = """
all:
  vars:
    ansible_host: 192.0.2.1
    ansible_ssh_common_args: -o ConnectTimeout=1
  children:
    lvs_directors: {hosts: {director1: {}, director2: {}}}
    lvs_realservers: {hosts: {rs1: {realserver_address: 198.18.1.21}, rs2: {realserver_address: 198.18.1.22}}}
"""
GOOD_SERVICE = {"name": "web", "vip": "198.18.1.50", "port": 80, "scheduler": "rr",
                "real_servers_group": "lvs_realservers"}


@pytest.mark.parametrize(("service", "message"), [
    ({**GOOD_SERVICE, "vip": "198.18.1.500"}, "lvs_virtual_services[0].vip: '198.18.1.500' is not an IPv4 or IPv6 address"),
    ({**GOOD_SERVICE, "scheduler": "fastest"}, "lvs_virtual_services[0].scheduler: 'fastest' must be one of"),
    ({**GOOD_SERVICE, "real_servers_group": "nobody"}, "lvs_virtual_services[0].real_servers_group: group 'nobody'"),
    ({**GOOD_SERVICE, "master": "rs1"}, "lvs_virtual_services[0].master: 'rs1' is not a director"),
])
def test_bad_inventory_fails_before_any_host(tmp_path: Path, service: dict, message: str) -> None:
    (tmp_path / "hosts.yml").write_text(HOSTS)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(json.dumps({"lvs_virtual_services": [service]}))
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "lvs.cluster.site"],
                         capture_output=True, text=True, env=env, check=False, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert message in output, output
    assert "UNREACHABLE" not in output, "a host was contacted before the inventory check"
    assert "PLAY [Real servers]" not in output
