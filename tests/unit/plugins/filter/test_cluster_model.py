"""The inventory-to-keepalived model: derivation and the checks that run before any host changes."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import cluster_model

DIRECTORS = ["director1", "director2"]
GROUPS = {"lvs_directors": DIRECTORS, "web": ["rs1", "rs2"], "empty": []}
HOSTVARS = {"rs1": {"ansible_host": "198.19.0.12", "realserver_address": "198.18.1.21"},
            "rs2": {"ansible_host": "198.18.1.22", "realserver_weight": 3}}
SETTINGS = {"interface": "eth1", "vrrp_version": 3, "vrid_base": 50}
WEB = {"name": "web", "vip": "198.18.1.50", "port": 80, "scheduler": "wrr", "real_servers_group": "web"}


def model(services, hostvars=None, settings=None):
    return cluster_model(services, DIRECTORS, GROUPS, hostvars or HOSTVARS, {**SETTINGS, **(settings or {})})


def test_one_vrrp_instance_per_interface_family_and_master() -> None:
    services = [WEB, {**WEB, "port": 443}, {**WEB, "vip": "198.18.1.51", "master": "director2"},
                {**WEB, "vip": "2001:db8:1::50"}]
    result = model(services)
    assert result["errors"] == []
    instances = result["vrrp_instances"]
    assert [(i["interface"], i["family"], i["master"], i["virtual_router_id"]) for i in instances] == [
        ("eth1", "inet", "director1", 50), ("eth1", "inet", "director2", 51), ("eth1", "inet6", "director1", 52)]
    assert instances[0]["vips"] == ["198.18.1.50/32"]
    assert instances[2]["vips"] == ["2001:db8:1::50/128"]
    assert instances[0]["priorities"] == {"director1": 150, "director2": 140}
    assert instances[1]["priorities"] == {"director1": 140, "director2": 150}


def test_real_servers_come_from_the_group_with_host_weights_and_states() -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["rs2"]["realserver_state"] = "drained"
    result = model([WEB], hostvars)
    assert result["virtual_servers"][0]["real_servers"] == [
        {"host": "rs1", "address": "198.18.1.21", "weight": 1}, {"host": "rs2", "address": "198.18.1.22", "weight": 0}]
    hostvars["rs2"]["realserver_state"] = "absent"
    assert [rs["host"] for rs in model([WEB], hostvars)["virtual_servers"][0]["real_servers"]] == ["rs1"]


@pytest.mark.parametrize(("change", "message"), [
    ({"vip": "198.18.1.500"}, "lvs_virtual_services[0].vip: '198.18.1.500' is not an IPv4 or IPv6 address"),
    ({"port": 70000}, "lvs_virtual_services[0].port: 70000 must be 1-65535"),
    ({"scheduler": "fastest"}, "lvs_virtual_services[0].scheduler: 'fastest' must be one of"),
    ({"method": "fullnat"}, "lvs_virtual_services[0].method: 'fullnat' must be one of dr, nat, tun"),
    ({"fwmark": 3}, "lvs_virtual_services[0].port: a fwmark service has no port"),
    ({"real_server_port": 8080}, "lvs_virtual_services[0].real_server_port: 8080 differs from port 80"),
    ({"master": "rs1"}, "lvs_virtual_services[0].master: 'rs1' is not a director"),
    ({"real_servers_group": "missing"}, "lvs_virtual_services[0].real_servers_group: group 'missing' does not exist"),
    ({"real_servers_group": "empty"}, "lvs_virtual_services[0].real_servers_group: group 'empty' does not exist or is empty"),
    ({"health_check": {"type": "HTTP_GET"}}, "lvs_virtual_services[0].health_check.path: required for HTTP_GET"),
    ({"health_check": {"type": "FTP_CHECK"}}, "lvs_virtual_services[0].health_check.type: 'FTP_CHECK' must be one of"),
])
def test_bad_services_are_named(change: dict, message: str) -> None:
    errors = model([{**WEB, **change}])["errors"]
    assert any(message in error for error in errors), errors


def test_bad_host_variables_are_named() -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["rs2"]["realserver_weight"] = -1
    assert "hostvars[rs2].realserver_weight: -1 must be a whole number, 0 or more" in model([WEB], hostvars)["errors"]


def test_long_vrrp_v2_password_and_colliding_router_ids_are_refused() -> None:
    errors = model([WEB], settings={"vrrp_version": 2, "auth_pass": "123456789"})["errors"]
    assert "longer than 8 characters" in " ".join(errors)
    collide = model([WEB, {**WEB, "vip": "198.18.1.51", "master": "director2", "virtual_router_id": 50}])["errors"]
    assert any("virtual_router_id 50 is used by both" in error for error in collide), collide
    out_of_range = model([{**WEB, "virtual_router_id": 300}])["errors"]
    assert any("virtual_router_id 300" in error and "outside 1-255" in error for error in out_of_range)
