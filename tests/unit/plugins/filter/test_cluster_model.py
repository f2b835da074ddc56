"""The inventory-to-keepalived model: derivation and the checks that run before any host changes."""
from __future__ import annotations

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import (
    cluster_model,
    compare_ipvs,
    firewall_openings,
    ipvs_table_services,
    playbook_group_mismatches,
    unserved_services,
)

DIRECTORS = ["director1", "director2"]
GROUPS = {"lvs_directors": DIRECTORS, "web": ["rs1", "rs2"], "web6": ["rs6"], "private": ["rs3"], "empty": [],
          "lvs_realservers": ["rs1", "rs2", "rs3", "rs6", "sorry1"]}
HOSTVARS = {"rs1": {"ansible_host": "198.19.0.12", "realserver_address": "198.18.1.21"},
            "rs2": {"ansible_host": "198.18.1.22", "realserver_weight": 3},
            "rs3": {"realserver_address": "198.18.2.101"},
            "rs6": {"realserver_address": "2001:db8::21"},
            "sorry1": {"realserver_address": "198.18.1.30"}}
SETTINGS = {"interface": "eth1", "vrrp_version": 3, "vrid_base": 50}
WEB = {"name": "web", "vip": "198.18.1.50", "port": 80, "scheduler": "wrr", "real_servers_group": "web"}


def model(services, hostvars=None, settings=None):
    return cluster_model(services, DIRECTORS, GROUPS, hostvars or HOSTVARS, {**SETTINGS, **(settings or {})})


def test_one_vrrp_instance_per_interface_family_and_master() -> None:
    services = [WEB, {**WEB, "port": 443}, {**WEB, "vip": "198.18.1.51", "master": "director2"},
                {**WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6"}]
    result = model(services)
    assert result["errors"] == []
    instances = result["vrrp_instances"]
    assert [(i["interface"], i["family"], i["master"], i["virtual_router_id"]) for i in instances] == [
        ("eth1", "inet", "director1", 50), ("eth1", "inet", "director2", 52), ("eth1", "inet6", "director1", 50)]
    assert instances[0]["vips"] == [{"address": "198.18.1.50", "prefix": 32, "label": None}]
    assert instances[2]["vips"] == [{"address": "2001:db8:1::50", "prefix": 128, "label": None}]
    assert instances[0]["priorities"] == {"director1": 150, "director2": 140}
    assert instances[1]["priorities"] == {"director1": 140, "director2": 150}


def test_a_service_that_needs_a_new_instance_renumbers_none_of_the_others() -> None:
    def router_ids(services: list) -> dict:
        return {i["name"]: i["virtual_router_id"] for i in model(services, settings={"gateway_interface": "eth2"})["vrrp_instances"]}

    before = router_ids([WEB, NAT])
    # New instances first in the list: IPv6, a VIP director2 masters.
    after = router_ids([{**WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6"},
                        {**WEB, "vip": "198.18.1.51", "master": "director2"}, WEB, NAT])
    assert before == {"VI_eth1_4_director1": 50, "VI_GW_eth2_4_director1": 51}
    assert {name: after[name] for name in before} == before
    assert after["VI_eth1_4_director2"] == 52 and after["VI_eth1_6_director1"] == 50


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
    # keepalived 2.2.7's parser: "number '2678401' outside range [1, 2678400]" (0 leaves it out).
    ({"persistence_timeout": 2678401}, "lvs_virtual_services[0].persistence_timeout: 2678401 must be 0-2678400"),
    ({"delay_loop": 0}, "lvs_virtual_services[0].delay_loop: 0 must be 1-2678400"),
    ({"health_check": {"type": "TCP_CHECK", "connect_timeout": 0}},
     "lvs_virtual_services[0].health_check.connect_timeout: 0 must be 1-4294 (seconds)"),
    ({"health_check": {"type": "TCP_CHECK", "connect_timeout": 5000}},
     "lvs_virtual_services[0].health_check.connect_timeout: 5000 must be 1-4294 (seconds)"),
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
    assert "hostvars[rs2].realserver_weight: -1 must be a whole number, 0-2147483647" in model([WEB], hostvars)["errors"]


def test_long_vrrp_v2_password_and_colliding_router_ids_are_refused() -> None:
    errors = model([WEB], settings={"vrrp_version": 2, "auth_pass": "123456789"})["errors"]
    assert "longer than 8 characters" in " ".join(errors)
    collide = model([WEB, {**WEB, "vip": "198.18.1.51", "master": "director2", "virtual_router_id": 50}])["errors"]
    assert any("virtual_router_id 50 is used by both" in error for error in collide), collide
    out_of_range = model([{**WEB, "virtual_router_id": 300}])["errors"]
    assert any("virtual_router_id 300" in error and "outside 1-255" in error for error in out_of_range)


NAT = {"name": "nat", "vip": "198.18.1.60", "port": 80, "method": "nat", "real_servers_group": "private",
       "real_server_port": 8080, "gateway": "198.18.2.105"}


def test_nat_gets_a_gateway_instance_in_a_sync_group_and_its_real_servers_learn_the_gateway() -> None:
    result = model([NAT], settings={"gateway_interface": "eth2"})
    assert result["errors"] == []
    public, gateway = result["vrrp_instances"]
    assert (gateway["kind"], gateway["interface"], gateway["vips"][0]["address"]) == ("gateway", "eth2", "198.18.2.105")
    assert public["virtual_router_id"] != gateway["virtual_router_id"]
    assert result["sync_groups"] == [{"name": "VG_director1", "instances": [public["name"], gateway["name"]]}]
    assert result["forwarding"] is True
    assert result["real_server_hosts"]["rs3"] == {"dr_vips": [], "tun_vips": [], "tunnel_types": [],
                                                  "gateways": ["198.18.2.105"]}


def test_real_servers_learn_their_vips_per_method_and_the_sorry_server_is_set_up_too() -> None:
    services = [{**WEB, "sorry_server": "sorry1"}, {**WEB, "port": 443, "method": "tun", "tunnel_type": "gre"}]
    hosts = model(services)["real_server_hosts"]
    assert hosts["rs1"] == {"dr_vips": ["198.18.1.50"], "tun_vips": ["198.18.1.50"], "tunnel_types": ["gre"],
                            "gateways": []}
    assert hosts["sorry1"]["dr_vips"] == ["198.18.1.50"]


def test_unicast_peers_come_from_the_directors_own_addresses() -> None:
    hostvars = {**HOSTVARS, "director1": {"director_unicast_addresses": ["198.18.1.11"]},
                "director2": {"director_unicast_addresses": ["198.18.1.12"]}}
    result = model([WEB], hostvars, {"unicast": True})
    assert result["vrrp_instances"][0]["unicast"] == {"director1": "198.18.1.11", "director2": "198.18.1.12"}
    missing = model([WEB], settings={"unicast": True})["errors"]
    assert "hostvars[director1].director_unicast_addresses: no inet address" in " ".join(missing)


@pytest.mark.parametrize(("change", "message"), [
    ({"gateway": None}, "lvs_virtual_services[0].gateway: a NAT service needs the real servers' floating gateway VIP"),
    ({"health_check": {"type": "MISC_CHECK"}}, "lvs_virtual_services[0].health_check.misc_path: required for MISC_CHECK"),
    ({"health_check": {"type": "TCP_CHECK", "path": "/"}}, "lvs_virtual_services[0].health_check.path: not an option of TCP_CHECK"),
    ({"real_servers_group": "web6"}, "hostvars[rs6].realserver_address: 2001:db8::21 is not of the address family"),
    ({"method": "tun", "tunnel_type": "gue", "real_server_port": 80, "port": 80},
     "lvs_virtual_services[0].tunnel_port: required for tunnel_type gue"),
    ({"health_check": {"type": "FILE_CHECK", "file": "run/weight"}},
     "lvs_virtual_services[0].health_check.file: 'run/weight' must be an absolute path"),
    ({"health_check": {"type": "FILE_CHECK", "file": "/run/../etc/weight"}},
     "lvs_virtual_services[0].health_check.file: '/run/../etc/weight' must be an absolute path without '..'"),
])
def test_bad_nat_tun_and_check_settings_are_named(change: dict, message: str) -> None:
    errors = model([{**NAT, **change}])["errors"]
    assert any(message in error for error in errors), errors


def test_a_host_outside_the_realservers_group_is_named() -> None:
    groups = {**GROUPS, "lvs_realservers": ["rs2"]}
    errors = cluster_model([WEB], DIRECTORS, groups, HOSTVARS, SETTINGS)["errors"]
    assert "lvs_virtual_services[0].real_servers_group: rs1 is not in group lvs_realservers" in errors[0]


def test_v2_needs_whole_second_adverts() -> None:
    errors = model([WEB], settings={"vrrp_version": 2, "advert_int": 0.5})["errors"]
    assert errors == ["director_vrrp_advert_int: 0.5 is not whole seconds; VRRP v2 needs whole seconds "
                      "(use director_vrrp_version 3 for sub-second adverts)"]


def test_static_services_and_comparison_with_the_live_table() -> None:
    result = model([{**WEB, "persistence_timeout": 300}, NAT])
    services = ipvs_table_services(result)
    assert services[1]["real_servers"] == [{"address": "198.18.2.101", "forwarding": "nat", "weight": 1,
                                            "upper_threshold": 0, "lower_threshold": 0, "port": 8080}]
    live = [{**service, "real_servers": list(service["real_servers"])} for service in services]
    assert compare_ipvs(result, live) == {"mismatches": [], "failing_checks": []}
    live[0]["real_servers"] = live[0]["real_servers"][:1]
    live[1]["scheduler"] = "rr"
    live.append({"protocol": "udp", "address": "198.18.1.99", "port": 53, "scheduler": "rr", "persistent": 0,
                 "real_servers": []})
    report = compare_ipvs(result, live)
    assert report["failing_checks"] == ["tcp 198.18.1.50:80: real server 198.18.1.22 is out (failing its health check)"]
    assert report["mismatches"] == ["udp 198.18.1.99:53: live but not in the inventory",
                                    "tcp 198.18.1.60:80: scheduler rr, inventory says wlc"]


def test_real_servers_leaving_the_inventory_are_kept_at_weight_0_until_drained() -> None:
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import departing_real_servers, keep_departing

    result = model([{**WEB, "sorry_server": "sorry1"}])
    live = ipvs_table_services(result)
    live[0]["real_servers"] = live[0]["real_servers"] + [
        {"address": "198.18.1.23", "forwarding": "dr", "weight": 1}, {"address": "198.18.1.30", "forwarding": "dr", "weight": 1}]
    assert departing_real_servers(result, live) == [{"service": "tcp 198.18.1.50:80", "address": "198.18.1.23", "port": None}]
    kept = keep_departing(result, live)
    assert kept["virtual_servers"][0]["real_servers"][-1] == {"host": "departing_198.18.1.23", "address": "198.18.1.23", "weight": 0}
    assert result["virtual_servers"][0]["real_servers"][-1]["host"] == "rs2", "the model itself is not changed"


def test_vrrp_only_vips_get_instances_without_virtual_servers() -> None:
    result = cluster_model([], DIRECTORS, GROUPS, HOSTVARS, {**SETTINGS, "vrrp_vips": [
        {"vip": "198.18.7.50"}, {"vip": "198.18.7.51", "master": "director2"}, {"vip": "bad"}]})
    assert result["errors"] == ["director_vrrp_vips[2].vip: 'bad' is not an IPv4 or IPv6 address"]
    assert [(i["master"], i["vips"][0]["address"]) for i in result["vrrp_instances"]] == [
        ("director1", "198.18.7.50"), ("director2", "198.18.7.51")]
    assert result["virtual_servers"] == []


FWMARK_WEB = {"name": "web-tls", "vip": "198.18.1.50", "fwmark": 7, "fwmark_match": {"ports": [80, 443, "8000-8099"]},
              "persistence_timeout": 600, "real_servers_group": "web"}


def test_fwmark_services_give_the_directors_their_marking_rules() -> None:
    six = {**FWMARK_WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6",
           "fwmark_match": {"ports": [53], "protocol": "udp"}}
    result = model([FWMARK_WEB, six])
    assert result["errors"] == []
    assert result["fwmark_rules"] == [
        {"family": "inet", "vip": "198.18.1.50", "protocol": "tcp", "ports": ["80", "443", "8000-8099"], "mark": 7},
        {"family": "inet6", "vip": "2001:db8:1::50", "protocol": "udp", "ports": ["53"], "mark": 7}]


@pytest.mark.parametrize(("change", "message"), [
    ({"fwmark_match": None}, "lvs_virtual_services[1].fwmark_match: required for a fwmark service"),
    ({"fwmark_match": {"ports": [80, "90-85"]}},
     "lvs_virtual_services[1].fwmark_match.ports: '90-85' must be a port 1-65535 or a range like 8000-8099"),
    ({"fwmark_match": {"ports": [0]}}, "lvs_virtual_services[1].fwmark_match.ports: 0 must be a port"),
    ({"fwmark_match": {"ports": list(range(1000, 1016))}},
     "lvs_virtual_services[1].fwmark_match.ports: more than 15 ports"),
    ({"fwmark_match": {"ports": [80], "protocol": "icmp"}},
     "lvs_virtual_services[1].fwmark_match.protocol: 'icmp' must be one of tcp, udp, sctp"),
    ({"vip": "198.18.1.51"}, "lvs_virtual_services[1].fwmark: 7 is already the mark of lvs_virtual_services[0]"),
])
def test_fwmark_matches_are_checked(change, message) -> None:
    errors = model([FWMARK_WEB, {**FWMARK_WEB, **change}])["errors"]
    assert any(message in error for error in errors), errors


def test_no_packet_filter_leaves_marking_to_the_operator() -> None:
    result = model([{**FWMARK_WEB, "fwmark_match": None}], settings={"packet_filter": "none"})
    assert result["errors"] == []
    assert result["fwmark_rules"] == []


def test_a_service_whose_real_servers_are_all_drained_is_unserved_unless_it_has_a_sorry_server() -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["rs1"]["realserver_state"] = "drained"
    assert unserved_services(model([WEB], hostvars)) == []
    hostvars["rs2"]["realserver_state"] = "drained"
    assert unserved_services(model([WEB], hostvars)) == ["web"]
    assert unserved_services(model([{**WEB, "sorry_server": "sorry1"}], hostvars)) == []


def test_the_firewall_lets_in_vrrp_sync_services_and_nat_replies() -> None:
    nat = {**WEB, "vip": "198.18.1.60", "method": "nat", "gateway": "198.18.2.1", "gateway_interface": "eth2",
           "real_servers_group": "private",
           "real_server_port": 8080, "sorry_server": "198.18.2.99", "sorry_server_port": 8081}
    result = model([WEB, FWMARK_WEB | {"vip": "198.18.1.51"}, nat])
    assert result["errors"] == []
    openings = firewall_openings(result, "director1", sync_daemon=True)
    assert firewall_openings(result, "director1", vrrp=False, sync_daemon=True) == openings[2:]
    assert firewall_openings(result, "director1", sync_daemon=True, sync_table_port=8849)[1]["ports"] == ["8848", "8849"]
    base = {"chain": "input", "source": None, "destination": None, "protocol": None, "ports": [], "source_ports": []}
    assert openings == [
        {**base, "family": "inet", "protocol": "112"},
        {**base, "family": "inet", "protocol": "udp", "ports": ["8848"]},
        {**base, "family": "inet", "destination": "198.18.1.50", "protocol": "tcp", "ports": ["80"]},
        {**base, "family": "inet", "destination": "198.18.1.51", "protocol": "tcp", "ports": ["80", "443", "8000-8099"]},
        {**base, "family": "inet", "destination": "198.18.1.60", "protocol": "tcp", "ports": ["80"]},
        {**base, "chain": "forward", "family": "inet", "source": "198.18.2.101", "protocol": "tcp", "source_ports": ["8080"]},
        {**base, "chain": "forward", "family": "inet", "source": "198.18.2.99", "protocol": "tcp", "source_ports": ["8081"]},
    ]


def test_with_unicast_vrrp_only_the_other_directors_are_let_in() -> None:
    hostvars = {**HOSTVARS, "director1": {"director_unicast_addresses": ["198.18.1.11"]},
                "director2": {"director_unicast_addresses": ["198.18.1.12"]}}
    result = model([WEB], hostvars, {"unicast": True})
    assert [(o["protocol"], o["source"]) for o in firewall_openings(result, "director1")] == [
        ("112", "198.18.1.12"), ("tcp", None)]


def test_dual_stack_real_servers_serve_ipv6_services_at_realserver_address6() -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["rs1"]["realserver_address6"] = "2001:db8:1::21"
    hostvars["rs2"]["realserver_address6"] = "2001:db8:1::22"
    hostvars["sorry1"]["realserver_address6"] = "2001:db8:1::30"
    result = model([{**WEB, "sorry_server": "sorry1"}, {**WEB, "vip": "2001:db8:1::50", "sorry_server": "sorry1"}], hostvars)
    assert result["errors"] == []
    ipv4, ipv6 = result["virtual_servers"]
    assert [rs["address"] for rs in ipv4["real_servers"]] == ["198.18.1.21", "198.18.1.22"]
    assert [rs["address"] for rs in ipv6["real_servers"]] == ["2001:db8:1::21", "2001:db8:1::22"]
    assert [rs["weight"] for rs in ipv6["real_servers"]] == [1, 3]
    assert (ipv4["sorry_server"]["address"], ipv6["sorry_server"]["address"]) == ("198.18.1.30", "2001:db8:1::30")
    assert result["real_server_hosts"]["rs1"]["dr_vips"] == ["198.18.1.50", "2001:db8:1::50"]


@pytest.mark.parametrize(("address6", "message"), [
    (None, "hostvars[rs1].realserver_address: 198.18.1.21 is not of the address family of lvs_virtual_services[0]"
           ".real_servers_group (IPv6); keepalived would skip it; set realserver_address6 for IPv6 services"),
    ("198.18.1.21", "hostvars[rs1].realserver_address6: '198.18.1.21' is not an IPv6 address"),
])
def test_an_ipv6_service_needs_ipv6_real_server_addresses(address6, message) -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    if address6:
        hostvars["rs1"]["realserver_address6"] = address6
    errors = model([{**WEB, "vip": "2001:db8:1::50"}], hostvars)["errors"]
    assert message in errors, errors


SERVICE_KEYS = ["name", "vip", "port", "scheduler", "method", "real_servers_group", "health_check", "master",
                "priorities", "gateway", "real_server_port", "vip_prefix", "vip_label"]


def test_keepalived_keywords_in_a_service_are_refused_with_the_name_to_use() -> None:
    seed = {**WEB, "lb_algo": "wrr", "lb_kind": "DR", "nb_get_retry": 3, "delay_before_retry": 2,
            "health_check": {"type": "TCP_CHECK", "nb_get_retry": 3}}
    errors = model([seed], settings={"service_keys": SERVICE_KEYS})["errors"]
    assert errors == [
        "lvs_virtual_services[0].delay_before_retry: keepalived's keyword, not this inventory's; use "
        "health_check.delay_before_retry",
        "lvs_virtual_services[0].lb_algo: keepalived's keyword, not this inventory's; use scheduler",
        "lvs_virtual_services[0].lb_kind: keepalived's keyword, not this inventory's; use method (dr, nat or tun)",
        "lvs_virtual_services[0].nb_get_retry: keepalived's keyword, not this inventory's; use health_check.retry",
        "lvs_virtual_services[0].health_check.nb_get_retry: keepalived's keyword, not this inventory's; use retry"]


def test_keys_the_argument_spec_does_not_name_are_refused_before_any_host() -> None:
    errors = model([{**WEB, "colour": "blue"}], settings={"service_keys": SERVICE_KEYS})["errors"]
    assert errors == [f"lvs_virtual_services[0].colour: not an option (allowed: {', '.join(sorted(SERVICE_KEYS))})"]
    # Without the spec's keys (the realserver role's reading), only keepalived's keywords are refused.
    assert model([{**WEB, "colour": "blue"}])["errors"] == []


def test_yaml_type_slips_in_a_service_are_named() -> None:
    errors = model([{**WEB, "health_check": "HTTP_GET"}, "web"])["errors"]
    assert errors == ["lvs_virtual_services[0].health_check: must be a mapping such as {type: HTTP_GET, path: /}, "
                      "not 'HTTP_GET'",
                      "lvs_virtual_services[1]: must be a mapping of the service's options (vip, port, ...), not 'web'"]


def test_one_vip_under_two_masters_is_refused() -> None:
    errors = model([WEB, {**WEB, "port": 443, "master": "director2"}])["errors"]
    assert errors == ["lvs_virtual_services[1].vip: 198.18.1.50 is already in VRRP instance VI_eth1_4_director1 "
                      "(master director1, from lvs_virtual_services[0].vip); in instance VI_eth1_4_director2 (master "
                      "director2) too, two directors would hold it at once; give every service with this VIP the same "
                      "master and interface"]


def test_one_vip_with_two_prefixes_or_labels_is_refused() -> None:
    errors = model([WEB, {**WEB, "port": 443, "vip_label": "eth1:5"}])["errors"]
    assert len(errors) == 1 and "give it the same prefix and label everywhere" in errors[0]
    assert model([WEB, {**WEB, "port": 443}])["errors"] == []


def test_nat_services_of_two_masters_sharing_their_gateway_are_refused() -> None:
    # Seed 001's active/active pair with NAT: the real servers' one gateway would need both directors.
    services = [NAT, {**NAT, "vip": "198.18.1.61", "master": "director2"}]
    errors = model(services, settings={"gateway_interface": "eth2"})["errors"]
    assert len(errors) == 1
    assert errors[0].startswith("lvs_virtual_services[1].gateway: 198.18.2.105 is already in VRRP instance "
                                "VI_GW_eth2_4_director1")
    assert "replies of the other master's VIPs would reach a director without their connections" in errors[0]
    # One master for both NAT VIPs is fine.
    assert model([NAT, {**NAT, "vip": "198.18.1.61"}], settings={"gateway_interface": "eth2"})["errors"] == []


def test_explicit_priorities_replace_the_derived_ones() -> None:
    result = model([{**WEB, "priorities": {"director1": 200, "director2": 100}},
                    {**WEB, "vip": "198.18.1.51", "master": "director2", "priorities": {"director1": 100, "director2": 150}}])
    assert result["errors"] == []
    assert [i["priorities"] for i in result["vrrp_instances"]] == [
        {"director1": 200, "director2": 100}, {"director1": 100, "director2": 150}]


@pytest.mark.parametrize("priorities, message", [
    ({"director1": 200}, "must map every director (director1, director2) to its priority"),
    ({"director1": 255, "director2": 100}, "{'director1': 255} must be whole numbers 1-254"),
    ({"director1": "high", "director2": 100}, "must be whole numbers 1-254"),
    ({"director1": 100, "director2": 100}, "gives two directors the same priority"),
    ({"director1": 100, "director2": 200}, "does not give the master, director1, the highest priority"),
    ({"director1": 250, "director2": 20}, "switchover.yml lowers the holder by 200"),
    ("200/100", "must map every director"),
])
def test_wrong_priorities_are_refused_by_path(priorities, message) -> None:
    errors = model([{**WEB, "priorities": priorities}])["errors"]
    assert len(errors) == 1 and errors[0].startswith("lvs_virtual_services[0].priorities: ") and message in errors[0]


def test_with_nopreempt_the_master_need_not_be_highest_but_one_instance_takes_one_set() -> None:
    backup_first = {**WEB, "priorities": {"director1": 100, "director2": 200}}
    assert model([backup_first], settings={"preempt": False})["errors"] == []
    errors = model([{**WEB, "priorities": {"director1": 200, "director2": 100}},
                    {**WEB, "port": 443, "priorities": {"director1": 180, "director2": 100}}])["errors"]
    assert len(errors) == 1 and "share VRRP instance VI_eth1_4_director1" in errors[0]


@pytest.mark.parametrize("label", ["eth2:5", "eth1:", "eth1", "eth1:a-label-too-long", "eth1:a b", 18])
def test_a_vip_label_that_ip_addr_would_refuse_is_refused(label) -> None:
    errors = model([{**WEB, "vip_label": label}])["errors"]
    assert errors == [f"lvs_virtual_services[0].vip_label: {label!r} must be the interface's name, a colon and more "
                      "(eth1:NAME, at most 15 characters, no spaces)"]


def test_a_vip_label_reaches_the_vrrp_instance() -> None:
    result = model([{**WEB, "vip_label": "eth1:18"}])
    assert result["errors"] == []
    assert result["vrrp_instances"][0]["vips"] == [{"address": "198.18.1.50", "prefix": 32, "label": "eth1:18"}]
    # A static director holds it in the text lvs.cluster.vip_addresses and its unit take.
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import static_held_vips
    assert static_held_vips(result, "director1") == ["198.18.1.50/32 dev eth1 label eth1:18"]
    assert static_held_vips(result, "director2") == []
    vrrp_only = model([], settings={"vrrp_vips": [{"vip": "198.18.1.70", "label": "eth0:x"}]})["errors"]
    assert vrrp_only == ["director_vrrp_vips[0].label: 'eth0:x' must be the interface's name, a colon and more "
                         "(eth1:NAME, at most 15 characters, no spaces)"]


def test_a_static_director_refuses_what_only_keepalived_acts_on() -> None:
    service = {**WEB, "health_check": {"type": "TCP_CHECK"}, "sorry_server": "sorry1",
               "priorities": {"director1": 200, "director2": 100}}
    errors = model([service], settings={"mode": "static"})["errors"]
    assert errors[:3] == [
        "lvs_virtual_services[0].health_check: director_mode is static, and without keepalived nothing checks the real "
        "servers; leave it out, or use director_mode: keepalived",
        "lvs_virtual_services[0].priorities: director_mode is static, and without keepalived nothing runs VRRP; "
        "leave it out, or use director_mode: keepalived",
        "lvs_virtual_services[0].sorry_server: director_mode is static, and without keepalived nothing puts in the "
        "sorry server below the quorum; leave it out, or use director_mode: keepalived"]
    # What an IPVS table holds by itself is a static director's too.
    static = {**WEB, "persistence_timeout": 20, "vip_label": "eth1:18", "scheduler_flags": []}
    assert model([static], settings={"mode": "static"})["errors"] == []
    assert model([service])["errors"] == []


def test_a_static_director_refuses_the_sync_daemon() -> None:
    assert model([WEB], settings={"mode": "static", "lvs_sync_daemon": True})["errors"] == [
        "director_lvs_sync_daemon: director_mode is static, and without keepalived nothing starts the sync daemon or "
        "follows the VIP with it; leave it false, or use director_mode: keepalived"]
    assert model([WEB], settings={"lvs_sync_daemon": True})["errors"] == []


@pytest.mark.parametrize("timeouts, error", [
    ({"tcp": 30, "tcpfin": 5, "udp": 60}, None),
    ({"tcp": 0}, "director_lvs_timeouts.tcp: 0 must be whole seconds, 1-2147483"),
    ({"udp": "60"}, "director_lvs_timeouts.udp: '60' must be whole seconds, 1-2147483"),
    ({"tcp": 2147484}, "director_lvs_timeouts.tcp: 2147484 must be whole seconds, 1-2147483"),
    ({"fin": 5}, "director_lvs_timeouts.fin: not a timeout (allowed: tcp, tcpfin, udp)"),
    ([30, 5, 60], "director_lvs_timeouts: [30, 5, 60] must be a mapping of tcp, tcpfin and udp to seconds"),
])
def test_lvs_timeouts_are_whole_seconds_the_kernel_can_hold(timeouts, error) -> None:
    assert model([WEB], settings={"lvs_timeouts": timeouts})["errors"] == ([error] if error else [])


def test_one_fwmark_in_both_families_is_two_services() -> None:
    # The kernel keeps a fwmark service per address family: the IPv4 one's real servers are not departing
    # from the IPv6 one, and neither table is a mismatch of the other.
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import departing_real_servers, keep_departing

    both = [FWMARK_WEB, {**FWMARK_WEB, "name": "web-tls6", "vip": "2001:db8:1::50", "real_servers_group": "web6"}]
    result = model(both)
    assert result["errors"] == []
    live = ipvs_table_services(result)
    assert departing_real_servers(result, live) == []
    assert compare_ipvs(result, live) == {"mismatches": [], "failing_checks": []}
    kept = keep_departing(result, live)
    assert [[rs["weight"] for rs in vs["real_servers"]] for vs in kept["virtual_servers"]] == [[1, 3], [1]]
    live[0]["real_servers"] = live[0]["real_servers"] + [{"address": "198.18.1.23", "forwarding": "dr", "weight": 1}]
    assert departing_real_servers(result, live) == [{"service": "fwmark 7 (ipv4)", "address": "198.18.1.23", "port": None}]


SPEC = {"director_vrrp_version": {"type": "int", "default": 3}, "director_vrrp_auth_pass": {"default": ""},
        "director_vrrp_unicast": {"type": "bool", "default": False},
        "director_virtual_services": {"options": {"name": {}, "vip": {}, "port": {"type": "int"}, "scheduler": {},
                                                  "real_servers_group": {}}},
        "director_vrrp_vips": {"options": {"vip": {}, "master": {}}}}


def directors_with(director1: dict, director2: dict) -> dict:
    return {**HOSTVARS, "director1": director1, "director2": director2}


def test_cluster_wide_settings_given_per_director_are_refused() -> None:
    # One director's host_vars with VRRP v2: the two would never hear each other.
    result = model([WEB], hostvars=directors_with({}, {"director_vrrp_version": 2}), settings={"spec": SPEC})
    assert result["errors"] == [
        "hostvars[director2].director_vrrp_version: 2 here but 3 on director1; it must be the same on every director "
        "(set it for the group lvs_directors, not per host)"]
    unicast = model([WEB], hostvars=directors_with({"director_vrrp_unicast": True}, {}), settings={"spec": SPEC})
    assert unicast["errors"] == [
        "hostvars[director2].director_vrrp_unicast: False here but True on director1; it must be the same on every "
        "director (set it for the group lvs_directors, not per host)"]


def test_an_interface_given_per_director_is_refused() -> None:
    # One plan for all directors names one VIP interface; before it was one, a fresh cluster's first run
    # rendered the first director's interface on every director.
    spec = {**SPEC, "director_interface": {"type": "str", "default": "eth1"}}
    result = model([WEB], hostvars=directors_with({}, {"director_interface": "ens3"}), settings={"spec": spec})
    assert result["errors"] == [
        "hostvars[director2].director_interface: 'ens3' here but 'eth1' on director1; it must be the same on every "
        "director (set it for the group lvs_directors, not per host)"]


def test_a_secret_that_differs_is_named_not_shown() -> None:
    result = model([WEB], hostvars=directors_with({"director_vrrp_auth_pass": "s3cret"}, {"director_vrrp_auth_pass": "0ther"}),
                   settings={"spec": SPEC})
    assert result["errors"] == ["hostvars[director2].director_vrrp_auth_pass: (values not shown); it must be the same "
                                "on every director (set it for the group lvs_directors, not per host)"]
    assert "s3cret" not in str(result) and "0ther" not in str(result)


def test_the_same_setting_everywhere_or_the_default_is_one_cluster() -> None:
    # Set to the default on one director and left out on the other is the same value.
    same = directors_with({"director_vrrp_version": 3, "lvs_virtual_services": [WEB]}, {"lvs_virtual_services": [WEB]})
    assert model([WEB], hostvars=same, settings={"spec": SPEC})["errors"] == []
    services = directors_with({"lvs_virtual_services": [WEB]}, {"lvs_virtual_services": [WEB, {**WEB, "port": 443}]})
    errors = model([WEB], hostvars=services, settings={"spec": SPEC})["errors"]
    assert len(errors) == 1 and errors[0].startswith("hostvars[director2].director_virtual_services: [")
    # The spec's options are the keys a service may have.
    assert model([{**WEB, "colour": "blue"}], settings={"spec": SPEC})["errors"] == [
        "lvs_virtual_services[0].colour: not an option (allowed: name, port, real_servers_group, scheduler, vip)"]


def test_vip_holding_faults_name_every_vrrp_address_not_held_by_exactly_one_director() -> None:
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import vip_holding_faults

    result = model([WEB, {**WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6"}])
    director1 = ("3: eth1    inet 198.18.1.11/24 brd 198.18.1.255 scope global eth1\\\n"
                 "3: eth1    inet 198.18.1.50/32 scope global eth1\\\n"
                 "3: eth1    inet6 2001:db8:1::50/128 scope global nodad\\\n")
    director2 = "3: eth1    inet 198.18.1.12/24 brd 198.18.1.255 scope global eth1\\\n"
    assert vip_holding_faults(result, {"director1": director1, "director2": director2}) == []
    instances = {vip["address"]: instance["name"] for instance in result["vrrp_instances"] for vip in instance["vips"]}
    assert vip_holding_faults(result, {"director1": director1, "director2": director1}) == [
        f"198.18.1.50 ({instances['198.18.1.50']}, master director1): held by director1 and director2",
        f"2001:db8:1::50 ({instances['2001:db8:1::50']}, master director1): held by director1 and director2"]
    # 198.18.1.5 is no prefix of 198.18.1.50, and a director without a listing holds nothing.
    single = model([{**WEB, "vip": "198.18.1.5"}])
    assert vip_holding_faults(single, {"director1": director1, "director2": None}) == [
        f"198.18.1.5 ({single['vrrp_instances'][0]['name']}, master director1): held by no director of this run"]


def test_drain_left_names_the_draining_real_servers_still_busy_where_this_director_holds_the_vip() -> None:
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import drain_left

    def busy(address: str, connections: int) -> dict:
        return {"address": address, "active_connections": connections}

    live = [{"protocol": "tcp", "address": "198.18.1.50", "port": 80,
             "real_servers": [busy("198.18.1.21", 2), busy("198.18.1.22", 0), busy("198.18.1.23", 5)]},
            {"protocol": "fwmark", "fwmark": 7, "family": "ipv4",
             "real_servers": [busy("198.18.1.21", 1), busy("198.18.1.22", 3)]},
            {"protocol": "tcp", "address": "198.18.1.51", "port": 80, "real_servers": [busy("198.18.1.22", 9)]}]
    draining = ["198.18.1.21", "198.18.1.22"]
    assert drain_left(live, ["198.18.1.50"], [7], draining) == ["198.18.1.21", "198.18.1.22"]
    assert drain_left(live, ["198.18.1.50"], [], draining) == ["198.18.1.21"]
    assert drain_left(live, [], [], draining) == []


def test_firewalld_rich_rules_open_what_the_input_chain_opens() -> None:
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import firewalld_rich_rules

    openings = [{"chain": "input", "family": "inet", "source": "198.18.1.12", "destination": None, "protocol": "112",
                 "ports": []},
                {"chain": "input", "family": "inet6", "source": None, "destination": "2001:db8:1::50", "protocol": "tcp",
                 "ports": ["80", "8000-8099"]},
                {"chain": "input", "family": "inet", "source": None, "destination": "198.18.1.50", "protocol": None,
                 "ports": []},
                {"chain": "forward", "family": "inet", "source": "198.18.2.101", "destination": None, "protocol": "tcp",
                 "ports": [], "source_ports": ["8080"]}]
    assert firewalld_rich_rules(openings) == [
        'rule family="ipv4" source address="198.18.1.12" protocol value="vrrp" accept',
        'rule family="ipv6" destination address="2001:db8:1::50" port port="80" protocol="tcp" accept',
        'rule family="ipv6" destination address="2001:db8:1::50" port port="8000-8099" protocol="tcp" accept',
        'rule family="ipv4" destination address="198.18.1.50" accept']


@pytest.mark.parametrize("vip, kind", [
    ("127.0.0.5", "loopback"), ("224.0.0.18", "multicast"), ("0.0.0.0", "unspecified"), ("169.254.1.50", "link-local"),
    ("240.0.0.50", "reserved (240.0.0.0/4)"), ("255.255.255.255", "reserved (240.0.0.0/4)"),
    ("::1", "loopback"), ("ff02::12", "multicast"), ("fe80::50", "link-local"), ("::", "unspecified"),
])
def test_a_special_purpose_address_is_no_vip(vip, kind) -> None:
    errors = model([{**WEB, "vip": vip, "real_servers_group": "web6" if ":" in vip else "web"}])["errors"]
    assert errors == [f"lvs_virtual_services[0].vip: {vip!r} is a {kind} address; a VIP is a unicast address clients reach"]


def test_the_lab_ranges_are_vips() -> None:
    # 198.18.0.0/15 (benchmarking) and 2001:db8::/32 (documentation) are what the lab uses.
    assert model([WEB, {**WEB, "vip": "198.19.255.50"}, {**WEB, "vip": "2001:db8:ffff::50", "real_servers_group": "web6"}])[
        "errors"] == []


def test_a_vip_or_gateway_that_is_a_hosts_own_address_is_refused() -> None:
    errors = model([{**WEB, "vip": "198.18.1.22"}])["errors"]
    assert errors == ["lvs_virtual_services[0].vip: 198.18.1.22 is rs2's own address (hostvars[rs2].ansible_host); a VIP "
                      "or gateway is an address of its own that VRRP moves between the directors"]
    hostvars = {**HOSTVARS, "director2": {"ansible_host": "198.18.1.12"}}
    errors = model([{**NAT, "gateway": "198.18.1.12"}], hostvars=hostvars, settings={"gateway_interface": "eth2"})["errors"]
    assert errors == ["lvs_virtual_services[0].gateway: 198.18.1.12 is director2's own address "
                      "(hostvars[director2].ansible_host); a VIP or gateway is an address of its own that VRRP moves "
                      "between the directors"]


def test_one_real_server_in_nat_and_dr_services_is_refused() -> None:
    groups = {**GROUPS, "both": ["rs3"]}
    services = [NAT, {**WEB, "vip": "198.18.1.51", "real_servers_group": "both"}]
    errors = cluster_model(services, DIRECTORS, groups, HOSTVARS, {**SETTINGS, "gateway_interface": "eth2"})["errors"]
    assert errors == ["hostvars[rs3]: a real server of NAT services (gateway 198.18.2.105) and of DR or TUN services "
                      "(198.18.1.51) at once: its default route through the NAT gateway would carry the DR/TUN replies, "
                      "sent from the VIP, to a director that does not forward them; put it in services of one kind"]


def test_a_cluster_wide_setting_that_cannot_be_read_is_an_error_not_a_traceback() -> None:
    from ansible.errors import AnsibleUndefinedVariable

    class Unreadable(dict):
        def __getitem__(self, key):
            raise AnsibleUndefinedVariable(f"'{key}' refers to an undefined variable")

        def __contains__(self, key):
            return key == "director_vrrp_version"

    errors = model([WEB], hostvars=directors_with({}, Unreadable()), settings={"spec": SPEC})["errors"]
    assert errors == ["hostvars[director2]: a cluster-wide setting could not be read: 'director_vrrp_version' refers "
                      "to an undefined variable"]


def test_a_nat_vip_held_apart_from_its_gateway_is_a_split_sync_group() -> None:
    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import sync_group_splits

    result = model([NAT], settings={"gateway_interface": "eth2"})
    together = {"director1": "3: eth1    inet 198.18.1.60/32 scope global eth1\\\n4: eth2    inet 198.18.2.105/32 scope global eth2\\",
                "director2": "3: eth1    inet 198.18.1.12/24 scope global eth1\\"}
    assert sync_group_splits(result, together) == []
    apart = {"director1": "3: eth1    inet 198.18.1.60/32 scope global eth1\\",
             "director2": "4: eth2    inet 198.18.2.105/32 scope global eth2\\"}
    assert sync_group_splits(result, apart) == [
        "sync group VG_director1 is split: 198.18.1.60 on director1; 198.18.2.105 on director2; the real servers' replies "
        "through the gateway reach a director without the connections of the VIPs held elsewhere"]


def test_two_entries_of_one_service_are_refused_naming_both() -> None:
    # Another protocol or port is another service; the same address, port and protocol is one.
    errors = model([WEB, {**WEB, "name": "web-again", "scheduler": "rr"}, {**WEB, "protocol": "udp"},
                    {**WEB, "port": 443}])["errors"]
    assert errors == ["lvs_virtual_services[1]: tcp 198.18.1.50:80 is the same service as lvs_virtual_services[0]; the "
                      "kernel and keepalived have one service per address, port and protocol (or fwmark): make them "
                      "one entry"]


def test_the_real_server_types_the_model_checks_are_the_realserver_roles() -> None:
    from pathlib import Path

    import yaml

    from ansible_collections.lvs.cluster.plugins.filter.cluster_model import REAL_SERVER_OPTIONS

    spec_file = Path(__file__).resolve().parents[4] / "roles" / "realserver" / "meta" / "argument_specs.yml"
    options = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]["options"]
    for name, option in REAL_SERVER_OPTIONS.items():
        if name != "ansible_host":  # Ansible's own variable, a string
            assert option["type"] == options[name].get("type", "str"), name


PLAYBOOK_GROUPS = {"director_group": "lvs_directors", "realserver_group": "lvs_realservers"}


def test_a_group_variable_naming_other_hosts_than_the_playbooks_group_is_one_sentence_per_value() -> None:
    groups = {"all": ["director1", "director2", "rs1"], "lvs_directors": ["director1", "director2"], "lbs": ["director1"],
              "lvs_realservers": ["rs1"]}
    hostvars = {"director1": {"director_group": "lbs"}, "director2": {"director_group": "lbs"},
                "rs1": {"realserver_group": ["lvs_realservers"]}}
    assert playbook_group_mismatches(groups, hostvars, PLAYBOOK_GROUPS) == [
        "director_group: group lbs holds other hosts than group lvs_directors, which the playbooks run on "
        "(only in lvs_directors: director2)",
        "realserver_group: there is no group ['lvs_realservers'] (the playbooks run on group lvs_realservers)"]
    nested = {**groups, "lbs": ["director1", "director2"]}
    assert playbook_group_mismatches(nested, hostvars, {"director_group": "lvs_directors"}) == []
