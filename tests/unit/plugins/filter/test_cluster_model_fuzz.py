"""The cluster model over generated inventories, valid and broken (Hypothesis, seeded).

Each example is what a director role would hand the lvs.cluster.cluster_model filter: the services,
the director variables it turns into settings (as roles/director/vars/main.yml does), the groups
and every host's variables, including other directors' values of cluster-wide settings and real
servers' addresses, weights and states. Values are drawn from what the role allows, what an
operator under pressure writes instead (seed keywords, strings for numbers, a health check given as
its type's name) and plain junk of every YAML type. The properties:

- the filter never raises: every mistake ends in its collected error list;
- every error starts with a path into the input (`lvs_virtual_services[1].health_check.type`,
  `hostvars[rs2].realserver_weight`, `director_lvs_timeouts.tcp`, ...) whose parent exists there;
- an inventory without errors has a VRRP instance holding each service's VIP;
- the first RENDERED distinct inventories it accepts, rendered by the role's own template in one
  ansible-playbook run (tests/unit/roles/render_inventories.yml), pass keepalived's own config test.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import cluster_model
from keepalived_machine import IFACE

REPO = Path(__file__).resolve().parents[4]
ROLE = REPO / "roles" / "director"
RENDER_PLAYBOOK = REPO / "tests" / "unit" / "roles" / "render_inventories.yml"
CONFIG_TEST = ROLE / "files" / "lvs-keepalived-config-test"
SPEC = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = {name: option.get("default") for name, option in SPEC.items()}
GENERATED = 5000
RENDERED = 200

DIRECTORS = ["director1", "director2"]
REAL_SERVERS = {"web": ["rs1", "rs2"], "web6": ["rs6"], "nat": ["rs3"]}

# Settings the filter takes, by the director variable they come from (roles/director/vars/main.yml).
SETTING_OF = {"director_interface": "interface", "director_gateway_interface": "gateway_interface",
              "director_vrrp_version": "vrrp_version", "director_vrrp_advert_int": "advert_int",
              "director_vrrp_vrid_base": "vrid_base", "director_vrrp_auth_pass": "auth_pass",
              "director_vrrp_unicast": "unicast", "director_group": "directors_group",
              "director_realservers_group": "realservers_group", "director_vrrp_vips": "vrrp_vips",
              "director_packet_filter": "packet_filter", "director_vrrp_preempt": "preempt", "director_mode": "mode",
              "director_lvs_timeouts": "lvs_timeouts", "director_lvs_sync_daemon": "lvs_sync_daemon"}

junk = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.floats(-1, 1e6, allow_nan=False),
                 st.text(max_size=6), st.lists(st.integers(0, 3), max_size=2),
                 st.dictionaries(st.sampled_from(["type", "a", "tcp"]), st.integers(-1, 3), max_size=2))


def either(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a value the role allows, sometimes anything."""
    return st.one_of(valid, valid, valid, junk)


def inventory(pick) -> dict[str, st.SearchStrategy]:
    """The parts of a broken inventory: mistakes of every kind, each value drawn through PICK (either: junk
    too; as_given: only values of the right type, still with wrong addresses, ranges and combinations)."""
    addresses4 = st.sampled_from(["198.18.1.50", "198.18.1.51", "198.18.1.21", "198.18.3.1", "198.19.0.12",
                                  "127.0.0.1", "0.0.0.0", "224.0.0.18", "198.18.1.500", "198.18.2.101", "", "rs1"])
    addresses6 = st.sampled_from(["2001:db8:1::50", "2001:db8::21", "fe80::1", "::1", "2001:db8:1::50/64"])
    addresses = st.one_of(addresses4, addresses6)

    health_checks = st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK",
                                                        "SMTP_CHECK", "FILE_CHECK", "PING_CHECK", "UDP_CHECK", "FTP"])},
                              optional={"path": pick(st.sampled_from(["/", "/health"])),
                                        "status_code": pick(st.sampled_from([200, "200", 404])),
                                        "connect_timeout": pick(st.integers(0, 5)),
                                        "connect_port": pick(st.integers(0, 70000)),
                                        "retry": pick(st.integers(0, 3)),
                                        "delay_before_retry": pick(st.integers(0, 3)),
                                        "misc_path": pick(st.sampled_from(["/usr/local/bin/check", "check", ""])),
                                        "misc_timeout": pick(st.integers(0, 5)),
                                        "query_type": pick(st.sampled_from(["A", "AAAA", "TXT", "MX"])),
                                        "name": pick(st.sampled_from(["example.test", ""])),
                                        "file": pick(st.sampled_from(["/run/weight", "weight"])),
                                        "weight": pick(st.integers(-300, 300)),
                                        "urls": pick(st.lists(st.fixed_dictionaries(
                                            {"path": st.sampled_from(["/", "x"])},
                                            optional={"status_code": st.sampled_from([200, 999]),
                                                      "digest": st.sampled_from(["640205b7b0fc66c1ea91c463fac6334d",
                                                                                 "xyz"])}), max_size=2)),
                                        "nb_get_retry": st.integers(0, 3)}),
        st.sampled_from(["HTTP_GET", "TCP_CHECK"]),
        junk)

    services = st.fixed_dictionaries(
        {"vip": pick(addresses)},
        optional={"name": pick(st.sampled_from(["web", "dns", "web"])),
                  "port": pick(st.sampled_from([80, 443, 53, 0, 65536, "80"])),
                  "fwmark": pick(st.integers(0, 5)),
                  "fwmark_match": pick(st.fixed_dictionaries(
                      {"ports": st.lists(st.sampled_from([80, 443, "8000:8080", 0]), max_size=2)},
                      optional={"protocol": st.sampled_from(["tcp", "udp", "sctp"])})),
                  "protocol": pick(st.sampled_from(["tcp", "udp", "sctp", "TCP", "icmp"])),
                  "scheduler": pick(st.sampled_from(["rr", "wrr", "wlc", "sh", "mh", "fastest"])),
                  "scheduler_flags": pick(st.lists(st.sampled_from(["sh-port", "mh-fallback", "flag-1", "x"]), max_size=2)),
                  "method": pick(st.sampled_from(["dr", "nat", "tun", "DR", "fullnat"])),
                  "real_servers_group": pick(st.sampled_from(["web", "web6", "nat", "missing", "lvs_directors"])),
                  "real_server_port": pick(st.sampled_from([80, 8080, 0])),
                  "persistence_timeout": pick(st.integers(-1, 100000)),
                  "persistence_granularity": pick(st.sampled_from(["255.255.255.0", "64", "x"])),
                  "delay_loop": pick(st.integers(-1, 10)),
                  "interface": pick(st.sampled_from(["eth1", "eth2", "eth1:0", ""])),
                  "master": pick(st.sampled_from(DIRECTORS + ["rs1", "nobody"])),
                  "virtual_router_id": pick(st.integers(-1, 300)),
                  "priorities": pick(st.dictionaries(st.sampled_from(DIRECTORS + ["rs1"]), st.integers(-1, 300), max_size=3)),
                  "health_check": health_checks,
                  "tunnel_type": pick(st.sampled_from(["ipip", "gue", "gre", "vxlan"])),
                  "tunnel_port": pick(st.integers(0, 70000)),
                  "quorum": pick(st.integers(-1, 5)),
                  "hysteresis": pick(st.integers(-1, 5)),
                  "alpha": pick(st.booleans()), "omega": pick(st.booleans()), "ops": pick(st.booleans()),
                  "ha_suspend": pick(st.booleans()), "inhibit_on_failure": pick(st.booleans()),
                  "virtualhost": pick(st.sampled_from(["www.example.test", ""])),
                  "sorry_server": pick(addresses), "sorry_server_port": pick(st.integers(0, 70000)),
                  "notify_up": pick(st.sampled_from(["/usr/local/bin/up", "up.sh", "/tmp/up"])),
                  "gateway": pick(addresses), "gateway_interface": pick(st.sampled_from(["eth2", "eth1", ""])),
                  "gateway_router_id": pick(st.integers(-1, 300)),
                  "vip_prefix": pick(st.integers(-1, 130)), "vip_label": pick(st.sampled_from(["eth1:18", "eth1:x", "lbl"])),
                  "extra_lines": pick(st.lists(st.sampled_from(["lb_algo rr", "}", "# note"]), max_size=2)),
                  "lb_algo": st.sampled_from(["rr"]), "lb_kind": st.sampled_from(["DR"]), "colour": st.just("blue")})

    director_variables = st.fixed_dictionaries(
        {},
        optional={"director_interface": pick(st.sampled_from(["eth1", ""])),
                  "director_gateway_interface": pick(st.sampled_from(["eth2", "eth1"])),
                  "director_vrrp_version": pick(st.sampled_from([2, 3, 4])),
                  "director_vrrp_advert_int": pick(st.sampled_from([1, 0.5, 3, 0, 256])),
                  "director_vrrp_vrid_base": pick(st.integers(-1, 300)),
                  "director_vrrp_auth_pass": pick(st.sampled_from(["secret", "much-too-long-secret", ""])),
                  "director_vrrp_unicast": pick(st.booleans()),
                  "director_vrrp_preempt": pick(st.booleans()),
                  "director_mode": pick(st.sampled_from(["keepalived", "static", "other"])),
                  "director_lvs_sync_daemon": pick(st.booleans()),
                  "director_lvs_timeouts": pick(st.dictionaries(st.sampled_from(["tcp", "tcpfin", "udp", "icmp"]),
                                                                st.integers(-1, 3000000), max_size=3)),
                  "director_vrrp_vips": pick(st.lists(st.fixed_dictionaries(
                      {"vip": pick(addresses)}, optional={"master": pick(st.sampled_from(DIRECTORS + ["x"])),
                                                          "interface": pick(st.sampled_from(["eth1", ""]))}),
                      max_size=2))})

    real_server_variables = st.fixed_dictionaries(
        {}, optional={"realserver_address": pick(addresses), "realserver_address6": pick(addresses6),
                      "realserver_weight": pick(st.integers(-1, 70000)),
                      "realserver_state": pick(st.sampled_from(["present", "drained", "absent", "gone"]))})

    # What other directors have in their hostvars: mostly the same as the first, sometimes their own value.
    other_director_variables = st.fixed_dictionaries(
        {}, optional={"director_vrrp_version": pick(st.sampled_from([2, 3])),
                      "director_vrrp_unicast": pick(st.booleans()),
                      "director_unicast_addresses": pick(st.lists(addresses, max_size=2))})
    return {"services": st.lists(pick(services), max_size=4), "variables": director_variables,
            "others": st.dictionaries(st.just("director2"), other_director_variables, max_size=1),
            "real_servers": st.fixed_dictionaries({host: real_server_variables
                                                   for hosts in REAL_SERVERS.values() for host in hosts})}


def as_given(valid: st.SearchStrategy) -> st.SearchStrategy:
    return valid


def valid_inventory() -> dict[str, st.SearchStrategy]:
    """The parts of an inventory the role should accept: DR and TUN services over both families, checks,
    persistence, explicit masters and router ids, VRRP-only VIPs, cluster-wide settings the same everywhere."""
    checks = st.one_of(
        st.fixed_dictionaries({"type": st.just("TCP_CHECK")}, optional={"connect_timeout": st.sampled_from([1, 5, 4294]),
                                                                        "retry": st.integers(0, 3),
                                                                        "delay_loop": st.sampled_from([1, 2678400])}),
        st.fixed_dictionaries({"type": st.sampled_from(["HTTP_GET", "SSL_GET"]), "path": st.sampled_from(["/", "/health"])},
                              optional={"status_code": st.sampled_from([200, 204]), "connect_timeout": st.integers(1, 5),
                                        "delay_before_retry": st.integers(1, 3)}))
    service4 = st.fixed_dictionaries(
        {"vip": st.sampled_from(["198.18.1.50", "198.18.1.51", "198.18.1.52"]), "port": st.sampled_from([80, 443, 8080]),
         "real_servers_group": st.just("web")},
        optional={"protocol": st.sampled_from(["tcp", "udp"]), "scheduler": st.sampled_from(["rr", "wrr", "wlc", "mh"]),
                  "method": st.sampled_from(["dr", "tun"]), "master": st.sampled_from(DIRECTORS),
                  "persistence_timeout": st.sampled_from([0, 1, 300, 2678400]),
                  "delay_loop": st.sampled_from([1, 6, 2678400]),
                  "health_check": checks, "quorum": st.integers(1, 2), "alpha": st.booleans(),
                  "sorry_server": st.just("198.18.1.30")})
    service6 = st.fixed_dictionaries(
        {"vip": st.just("2001:db8:1::50"), "port": st.sampled_from([80, 443]), "real_servers_group": st.just("web6")},
        optional={"scheduler": st.sampled_from(["rr", "wlc"]), "health_check": checks})
    variables = st.fixed_dictionaries(
        {}, optional={"director_vrrp_version": st.sampled_from([2, 3]), "director_vrrp_preempt": st.booleans(),
                      "director_lvs_sync_daemon": st.booleans(), "director_vrrp_auth_pass": st.sampled_from(["secret", ""]),
                      "director_lvs_timeouts": st.fixed_dictionaries({}, optional={"tcp": st.integers(1, 900),
                                                                                   "udp": st.integers(1, 300)}),
                      "director_vrrp_vips": st.lists(st.fixed_dictionaries({"vip": st.just("198.18.1.60")},
                                                                           optional={"master": st.sampled_from(DIRECTORS)}),
                                                     max_size=1)})
    real_server = st.fixed_dictionaries({}, optional={"realserver_weight": st.sampled_from([0, 1, 100, 2147483647]),
                                                      "realserver_state": st.sampled_from(["present", "drained"])})
    addresses = {"rs1": "198.18.1.21", "rs2": "198.18.1.22", "rs6": "2001:db8::21", "rs3": "198.18.1.23"}
    return {"services": st.lists(st.one_of(service4, service6), max_size=4), "variables": variables,
            "others": st.just({}),
            "real_servers": st.fixed_dictionaries({host: real_server.map(lambda given, a=address: {"realserver_address": a, **given})
                                                   for host, address in addresses.items()})}


VALID, BROKEN = valid_inventory(), inventory(either)


def as_int(value: Any) -> int:
    """Jinja's `int` filter: the number, or 0 for what is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def settings_of(variables: dict) -> dict:
    """The filter's settings, as roles/director/vars/main.yml builds them from the director's variables."""
    merged = {**DEFAULTS, "director_group": "lvs_directors", "director_realservers_group": "lvs_realservers",
              "director_interface": "eth1", **variables}
    settings = {setting: merged.get(name) for name, setting in SETTING_OF.items()}
    fast = merged.get("director_vrrp_fast_failover") is True
    settings["vrrp_version"] = 3 if fast else as_int(settings["vrrp_version"])
    settings["advert_int"] = 0.1 if fast else settings["advert_int"]
    settings["vrid_base"] = as_int(settings["vrid_base"])
    return {**settings, "spec": SPEC}


def resolves(path: str, roots: dict) -> bool:
    """Whether every step of PATH but the last exists in ROOTS, and the last does too or its parent is a mapping
    (an error may name an option that is missing)."""
    steps = re.findall(r"[^.\[\]]+|\[[^\]]*\]", path)
    node: Any = roots
    for position, step in enumerate(steps):
        last = position == len(steps) - 1
        key: Any = step[1:-1] if step.startswith("[") else step
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                return False
            node = node[int(key)]
        elif isinstance(node, dict):
            if key not in node:
                return last
            node = node[key]
        else:
            return False
    return True


def check_one(service_list: list, variables: dict, others: dict, real_servers: dict) -> dict:
    """The model of one generated inventory, after asserting the properties every inventory has."""
    groups = {"lvs_directors": DIRECTORS, "lvs_realservers": sorted(real_servers), **REAL_SERVERS}
    hostvars = {**real_servers, "director1": {"lvs_virtual_services": service_list, **variables},
                "director2": {"lvs_virtual_services": service_list, **variables, **others.get("director2", {})}}
    result = cluster_model(service_list, DIRECTORS, groups, hostvars, settings_of(variables))
    roots = {"lvs_virtual_services": service_list, "hostvars": hostvars, "groups": groups, **{**DEFAULTS, **variables}}
    for error in result["errors"]:
        assert isinstance(error, str)
        assert resolves(error.split(":", 1)[0], roots), f"{error!r} names no path of the input"
    if not result["errors"]:
        held = {vip["address"] for instance in result["vrrp_instances"] for vip in instance["vips"]}
        assert {vs["vip"] for vs in result["virtual_servers"]} <= held
    return result


def cluster_inventory(index: int, case: tuple) -> tuple[dict, dict]:
    """Cluster INDEX of the render inventory: its directors' group (named by director_group) and its real
    servers' groups, every name prefixed so that no two clusters share a group or a host."""
    service_list, variables, _others, real_servers = case
    prefix = f"c{index}_"

    def renamed(entry: dict) -> dict:
        names = {key: prefix + entry[key] for key in ("real_servers_group", "master") if key in entry}
        return {**entry, **names}

    services = [renamed(service) for service in service_list]
    vrrp_vips = {"director_vrrp_vips": [renamed(vip) for vip in variables["director_vrrp_vips"]]} \
        if "director_vrrp_vips" in variables else {}
    directors = {"hosts": {prefix + name: {} for name in DIRECTORS},
                 "vars": {**variables, **vrrp_vips, "lvs_virtual_services": services, "director_group": prefix + "directors",
                          "director_interface": IFACE, "director_gateway_interface": IFACE}}
    real_server_groups = {prefix + group: {"hosts": {prefix + host: real_servers[host] for host in hosts}}
                          for group, hosts in REAL_SERVERS.items()}
    return {prefix + "directors": directors}, real_server_groups


def render_and_test(cases: list, tmp_path: Path) -> dict[str, str]:
    """keepalived.conf of each case's first director, rendered by the role's template in one ansible-playbook
    run, and keepalived's own test's output for each it rejected."""
    clusters, real_server_groups = {}, {}
    for index, case in enumerate(cases):
        directors, servers = cluster_inventory(index, case)
        clusters.update(directors)
        real_server_groups.update(servers)
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    inventory_file = tmp_path / "hosts.json"
    inventory_file.write_text(json.dumps({"all": {
        "vars": {**defaults, "ansible_python_interpreter": os.path.abspath(sys.executable)},
        "children": {**clusters, "lvs_realservers": {"children": real_server_groups},
                     "render_first": {"hosts": {f"c{index}_{DIRECTORS[0]}": {} for index in range(len(cases))}}}}}))
    render_file = tmp_path / "rendered.json"
    # keepalived's test reads the VRRP password's include, which the role writes on a director.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "vrrp_auth.conf").write_text("auth_type PASS\nauth_pass secret\n")
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_FORKS": "10"}
    extra_vars = tmp_path / "extra_vars.json"
    extra_vars.write_text(json.dumps({"render_file": str(render_file), "__director_secrets_dir": str(secrets)}))
    run = subprocess.run(["ansible-playbook", "-i", str(inventory_file), str(RENDER_PLAYBOOK), "-e", f"@{extra_vars}"],
                         capture_output=True, text=True, env=env, check=False, timeout=600)
    failed = [line for line in run.stdout.splitlines() if line.startswith(("fatal:", "ERROR", "[ERROR]"))]
    assert run.returncode == 0, "\n".join(failed[:10]) or run.stdout[-3000:] + run.stderr[-2000:]
    rejected = {}
    for host, text in json.loads(render_file.read_text()).items():
        conf = tmp_path / f"{host}.conf"
        conf.write_text(text)
        test = subprocess.run([str(CONFIG_TEST), str(conf)], capture_output=True, text=True, check=False, timeout=60)
        if test.returncode != 0:
            rejected[host] = test.stdout + test.stderr
    return rejected


def test_every_inventory_ends_in_a_model_or_errors_and_every_accepted_one_renders_a_config_keepalived_accepts(
        tmp_path: Path) -> None:
    accepted: list[tuple] = []

    @settings(max_examples=GENERATED, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data(), kind=st.sampled_from(["valid", "broken"]))
    def explore(data, kind) -> None:
        parts = VALID if kind == "valid" else BROKEN
        case = (data.draw(parts["services"]), data.draw(parts["variables"]), data.draw(parts["others"]),
                data.draw(parts["real_servers"]))
        result = check_one(*case)
        if kind == "valid" and not result["errors"] and result["virtual_servers"] and case not in accepted:
            accepted.append(case)

    explore()
    assert len(accepted) >= RENDERED, f"only {len(accepted)} distinct accepted inventories to render"
    assert render_and_test(accepted[:RENDERED], tmp_path) == {}
