"""site.yml (and drain.yml) stop on a bad inventory or request before they contact any host.

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
    ({**GOOD_SERVICE, "method": "nat"}, "lvs_virtual_services[0].gateway: a NAT service needs the real servers' floating gateway VIP"),
    ({**GOOD_SERVICE, "port": 0}, "lvs_virtual_services[0].port: 0 must be 1-65535"),
    ({**GOOD_SERVICE, "fwmark": 1}, "lvs_virtual_services[0].port: a fwmark service has no port"),
    ({**GOOD_SERVICE, "real_server_port": 8080}, "lvs_virtual_services[0].real_server_port: 8080 differs from port 80"),
    ({**GOOD_SERVICE, "virtual_router_id": 256}, "lvs_virtual_services[0].virtual_router_id: gives VI_eth1_4_director1 virtual_router_id 256, outside 1-255"),
    ({**GOOD_SERVICE, "health_check": {"type": "SSL_GET"}}, "lvs_virtual_services[0].health_check.path: required for SSL_GET"),
    ({**GOOD_SERVICE, "health_check": {"type": "TCP_CHECK", "misc_path": "/bin/true"}},
     "lvs_virtual_services[0].health_check.misc_path: not an option of TCP_CHECK"),
    ({**GOOD_SERVICE, "lb_algo": "wrr"}, "lvs_virtual_services[0].lb_algo: keepalived's keyword, not this inventory's; "
                                         "use scheduler"),
    ({**GOOD_SERVICE, "colour": "blue"}, "lvs_virtual_services[0].colour: not an option (allowed: alpha, delay_loop"),
    ({**GOOD_SERVICE, "health_check": "HTTP_GET"}, "lvs_virtual_services[0].health_check: 'HTTP_GET' is a string; expected a mapping"),
    ({**GOOD_SERVICE, "vip": "198.18.1.21"}, "lvs_virtual_services[0].vip: 198.18.1.21 is rs1's own address "
                                             "(hostvars[rs1].realserver_address)"),
    ({**GOOD_SERVICE, "vip": "127.0.0.50"}, "lvs_virtual_services[0].vip: '127.0.0.50' is a loopback address"),
    ({**GOOD_SERVICE, "priorities": {"director1": 100, "director2": 200}},
     "lvs_virtual_services[0].priorities: {'director1': 100, 'director2': 200} does not give the master"),
])
def test_bad_inventory_fails_before_any_host(tmp_path: Path, service: dict, message: str) -> None:
    run_site(tmp_path, {"lvs_virtual_services": [service]}, message)


@pytest.mark.parametrize(("settings", "message"), [
    ({"director_vrrp_version": 2, "director_vrrp_auth_pass": "123456789"},
     "director_vrrp_auth_pass: longer than 8 characters; keepalived would silently cut it"),
    ({"director_vrrp_version": 2, "director_vrrp_advert_int": 0.5}, "director_vrrp_advert_int: 0.5 is not whole seconds"),
    ({"director_vrrp_unicast": True}, "hostvars[director1].director_unicast_addresses: no inet address"),
    ({"director_global_defs_extra_lines": ["vrrp_strict"]}, "director_global_defs_extra_lines: vrrp_strict is not allowed"),
    ({"director_firewall_nftables_input_chain": "filter input"},
     'director_firewall_nftables_input_chain must be a base chain of an inet table, as "inet <table> <chain>"'),
    ({"lvs_virtual_services": [GOOD_SERVICE, {**GOOD_SERVICE, "vip": "198.18.1.51", "master": "director2",
                                              "virtual_router_id": 50}]}, "virtual_router_id 50 is used by both"),
    ({"lvs_virtual_services": [{**GOOD_SERVICE, "method": "nat", "gateway": "198.18.2.1"},
                               {**GOOD_SERVICE, "vip": "198.18.1.51", "method": "nat", "gateway": "198.18.2.1",
                                "master": "director2"}]},
     "lvs_virtual_services[1].gateway: 198.18.2.1 is already in VRRP instance VI_GW_eth2_4_director1"),
])
def test_bad_director_settings_fail_before_any_host(tmp_path: Path, settings: dict, message: str) -> None:
    run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE], **settings}, message)


@pytest.mark.parametrize(("director2", "message"), [
    ("{director_vrrp_version: 2}", "hostvars[director2].director_vrrp_version: 2 here but 3 on director1; it must be "
                                   "the same on every director"),
    ("{director_vrrp_unicast: true}", "hostvars[director2].director_vrrp_unicast: True here but False on director1"),
    ("{director_vrrp_auth_pass: n0tsh0wn}", "hostvars[director2].director_vrrp_auth_pass: (values not shown)"),
])
def test_a_cluster_wide_setting_given_per_director_fails_before_any_host(
        tmp_path: Path, director2: str, message: str) -> None:
    hosts = HOSTS.replace("director2: {}", f"director2: {director2}")
    output = run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE]}, message, hosts)
    assert "n0tsh0wn" not in output


@pytest.mark.parametrize(("settings", "message"), [
    ({"director_mode": "static", "lvs_virtual_services": [{**GOOD_SERVICE, "sorry_server": "198.18.1.30"}]},
     "lvs_virtual_services[0].sorry_server: director_mode is static, and without keepalived nothing puts in the "
     "sorry server"),
    ({"director_mode": "static", "director_lvs_sync_daemon": True},
     "director_lvs_sync_daemon: director_mode is static"),
    ({"director_lvs_timeouts": {"tcp": 30, "fin": 5}}, "director_lvs_timeouts.fin: not a timeout"),
    ({"lvs_virtual_services": [{**GOOD_SERVICE, "vip_label": "eth0:18"}]},
     "lvs_virtual_services[0].vip_label: 'eth0:18' must be the interface's name, a colon and more"),
])
def test_static_mode_labels_and_timeouts_fail_before_any_host(tmp_path: Path, settings: dict, message: str) -> None:
    run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE], **settings}, message)


def test_a_bad_host_variable_fails_before_any_host(tmp_path: Path) -> None:
    hosts = HOSTS.replace("rs2: {realserver_address: 198.18.1.22}", "rs2: {realserver_address: 198.18.1.22, realserver_weight: -1}")
    run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE]}, "hostvars[rs2].realserver_weight: -1 must be a whole number",
             hosts)


@pytest.mark.parametrize(("extra_vars", "hosts", "message"), [
    ({}, HOSTS, "lvs_drain_host: name one host of group lvs_realservers (-e lvs_drain_host=NAME), got \"nothing\""),
    ({"lvs_drain_host": "director1"}, HOSTS, "lvs_drain_host: name one host of group lvs_realservers"),
    ({"lvs_drain_host": "rs1"}, HOSTS.replace("rs2: {realserver_address: 198.18.1.22}",
                                              "rs2: {realserver_address: 198.18.1.22, realserver_state: drained}"),
     "Draining rs1 leaves no real server in service for web; add -e lvs_drain_force=true"),
])
def test_drain_refuses_before_any_host(tmp_path: Path, extra_vars: dict, hosts: str, message: str) -> None:
    run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE]}, message, hosts, "lvs.cluster.drain", extra_vars)


DIRECTORS_IN_LBS = HOSTS.replace("lvs_directors: {hosts: {director1: {}, director2: {}}}",
                                 "lbs: {hosts: {director1: {}, director2: {}}}")


@pytest.mark.parametrize(("playbook", "hosts", "settings", "message"), [
    ("lvs.cluster.site", DIRECTORS_IN_LBS, {"director_group": "lbs"},
     "director_group: group lbs holds other hosts than group lvs_directors, which the playbooks run on "
     "(only in lbs: director1, director2)"),
    ("lvs.cluster.site", HOSTS, {"realserver_group": "web"},
     "realserver_group: there is no group web (the playbooks run on group lvs_realservers)"),
    ("lvs.cluster.site", HOSTS.replace("rs2: {realserver_address: 198.18.1.22}}}",
                                       "rs2: {realserver_address: 198.18.1.22}}}\n    web: {hosts: {rs1: {}}}"),
     {"director_realservers_group": "web"},
     "director_realservers_group: group web holds other hosts than group lvs_realservers, which the playbooks run on "
     "(only in lvs_realservers: rs2)"),
    ("lvs.cluster.drain", DIRECTORS_IN_LBS, {"director_group": "lbs"},
     "director_group: group lbs holds other hosts than group lvs_directors"),
])
def test_groups_other_than_the_playbooks_fail_before_any_host(tmp_path: Path, playbook: str, hosts: str,
                                                              settings: dict, message: str) -> None:
    run_site(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE], **settings}, message, hosts, playbook,
             {"lvs_drain_host": "rs1"} if playbook == "lvs.cluster.drain" else None)


def test_a_group_nested_in_the_playbooks_group_passes(tmp_path: Path) -> None:
    """With the directors' own group a child of lvs_directors, both name the same hosts: the run gets past
    the inventory check to the hosts (unreachable here)."""
    hosts = HOSTS.replace("lvs_directors: {hosts: {director1: {}, director2: {}}}",
                          "lvs_directors: {children: {lbs: {hosts: {director1: {}, director2: {}}}}}")
    output = run_playbook(tmp_path, {"lvs_virtual_services": [GOOD_SERVICE], "director_group": "lbs"}, hosts,
                          "lvs.cluster.site", {})
    assert "fatal: [director1]: UNREACHABLE!" in output, output
    assert "site.yml and drain.yml run on the groups" not in output


def run_site(tmp_path: Path, group_vars: dict, message: str, hosts: str = HOSTS, playbook: str = "lvs.cluster.site",
             extra_vars: dict | None = None) -> str:
    output = run_playbook(tmp_path, group_vars, hosts, playbook, extra_vars or {})
    assert message in output, output
    assert "UNREACHABLE" not in output, "a host was contacted before the inventory check"
    assert "PLAY [Real servers]" not in output
    return output


def run_playbook(tmp_path: Path, group_vars: dict, hosts: str, playbook: str, extra_vars: dict) -> str:
    """Runs PLAYBOOK on HOSTS with GROUP_VARS for all; returns its output. It must fail."""
    (tmp_path / "hosts.yml").write_text(hosts)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(json.dumps(group_vars))
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), playbook, "-e", json.dumps(extra_vars)],
                         capture_output=True, text=True, env=env, check=False, timeout=120)
    assert run.returncode != 0
    return run.stdout + run.stderr
