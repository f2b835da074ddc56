"""keepalived.conf as the director role renders it, tested by keepalived itself.

Each case is an inventory; the role's template renders every director's file and the machine's
keepalived (2.2, as on the directors) must accept it through the role's config-test wrapper.
VRRP interfaces must exist for keepalived's test, so the cases use one of this machine's own.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.lvs.cluster.plugins.filter.keepalived_conf import vrrp_advert_terms
from keepalived_machine import IFACE

HERE = Path(__file__).parent
REPO = HERE.parents[2]


def members(**addresses: str) -> dict:
    return {"hosts": {host: {"realserver_address": address} for host, address in addresses.items()}}


REALSERVER_GROUPS = {
    "web": members(rs1="198.18.1.21", rs2="198.18.1.22"),
    "private": members(rs3="198.18.2.101", rs4="198.18.2.102"),
    "web6": members(rs5="2001:db8::21", rs6="2001:db8::22"),
    "sorry": members(sorry1="198.18.1.30"),
}
REALSERVER_GROUPS["web"]["hosts"]["rs2"]["realserver_weight"] = 2
HOSTS = {
    "lvs_directors": {"hosts": {
        "director1": {"director_unicast_addresses": ["198.18.1.11", "2001:db8::11"]},
        "director2": {"director_unicast_addresses": ["198.18.1.12", "2001:db8::12"]}}},
    "lvs_realservers": {"children": REALSERVER_GROUPS},
}


def run_render(inventory: Path, render_dir: Path, extra_vars: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"}
    return subprocess.run(["ansible-playbook", "-i", str(inventory), str(HERE / "render_keepalived_conf.yml"),
                           "-e", json.dumps({"render_dir": str(render_dir), **extra_vars})],
                          capture_output=True, text=True, env=env, check=False, timeout=300)


def write_inventory(tmp_path: Path, group_vars: dict) -> Path:
    (tmp_path / "hosts.yml").write_text(json.dumps({"all": {"vars": {"ansible_python_interpreter": sys.executable},
                                                            "children": HOSTS}}))
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(json.dumps(
        {"director_interface": IFACE, "director_gateway_interface": IFACE, **group_vars}))
    return tmp_path / "hosts.yml"


def render(tmp_path: Path, group_vars: dict, extra_vars: dict | None = None) -> dict[str, str]:
    run = run_render(write_inventory(tmp_path, group_vars), tmp_path, extra_vars or {})
    assert run.returncode == 0, run.stdout + run.stderr
    return {host: (tmp_path / f"{host}.conf").read_text() for host in ("director1", "director2")}


WEB = {"name": "web", "vip": "198.18.1.50", "port": 80, "scheduler": "wrr", "real_servers_group": "web"}
CHECKS = [
    {"type": "TCP_CHECK", "connect_port": 80, "connect_timeout": 2},
    {"type": "HTTP_GET", "path": "/health", "status_code": 200, "digest": "640205b7b0fc66c1ea91c463fac6334d"},
    {"type": "SSL_GET", "urls": [{"path": "/"}, {"path": "/api", "status_code": "200-299"}], "enable_sni": True},
    {"type": "SMTP_CHECK", "helo_name": "lvs.example.org", "connect_port": 25},
    {"type": "DNS_CHECK", "query_type": "A", "name": "www.example.org"},
    {"type": "UDP_CHECK", "connect_port": 9999, "require_reply": True},
    {"type": "PING_CHECK"},
    {"type": "MISC_CHECK", "misc_path": "/usr/local/bin/check-web --port 80", "misc_timeout": 3},
    {"type": "FILE_CHECK", "file": "/run/lvs/web.down", "weight": -1},
    {"type": "BFD_CHECK"},
]


@pytest.mark.parametrize("check", CHECKS, ids=[check["type"] for check in CHECKS])
def test_every_checker_is_accepted(tmp_path: Path, check: dict) -> None:
    conf = render(tmp_path, {"lvs_virtual_services": [{**WEB, "health_check": check}]})["director1"]
    assert f"        {check['type']} {{" in conf
    assert conf.count("real_server 198.18.1.2") == 2


def test_dr_active_active_v6_unicast_scripts_and_v2_auth(tmp_path: Path) -> None:
    services = [WEB, {**WEB, "name": "web2", "vip": "198.18.1.51", "master": "director2"},
                {**WEB, "name": "web6", "vip": "2001:db8::50", "real_servers_group": "web6"}]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "vrrp_auth.conf").write_text("auth_type PASS\nauth_pass s3cret\n")
    confs = render(tmp_path, {
        "lvs_virtual_services": services, "director_vrrp_version": 2, "director_vrrp_auth_pass": "s3cret",
        "director_vrrp_unicast": True, "director_vrrp_scripts": [{"name": "chk_nginx", "script": "/bin/true"}],
        "director_vrrp_notify": {"master": "/bin/true"}, "director_lvs_sync_daemon": True,
        "director_lvs_timeouts": {"tcp": 900, "udp": 300}, "director_notification_email": ["ops@example.org"]},
        {"__director_secrets_dir": str(secrets)})
    one, two = confs["director1"], confs["director2"]
    assert "s3cret" not in one, "the password belongs in the root-only include"
    assert one.count("vrrp_instance ") == 3
    assert "unicast_src_ip 198.18.1.11" in one and "unicast_src_ip 198.18.1.12" in two
    assert "unicast_src_ip 2001:db8::11" in one
    assert f"include {secrets}/vrrp_auth.conf" in one
    # Each director masters its own VIP: state and priority flip between the two files.
    for conf, mine, theirs in ((one, "director1", "director2"), (two, "director2", "director1")):
        assert conf.count("state MASTER") == (2 if mine == "director1" else 1)
        assert f"VI_{IFACE}_4_{mine} {{\n    state MASTER\n" in conf
        assert f"VI_{IFACE}_4_{theirs} {{\n    state BACKUP\n" in conf
    assert "track_script {\n        chk_nginx\n    }" in one and 'notify_master "/bin/true"' in one
    assert f"lvs_sync_daemon {IFACE} VI_{IFACE}_4_director1" in one and "lvs_timeouts tcp 900 udp 300" in one


def test_nat_gateway_sync_group_udp_persistence_and_sorry_server(tmp_path: Path) -> None:
    nat = {"name": "web", "vip": "198.18.1.50", "port": 80, "method": "nat", "real_servers_group": "private",
           "real_server_port": 8080, "gateway": "198.18.2.105", "persistence_timeout": 300,
           "persistence_granularity": "255.255.255.0", "sorry_server": "sorry1", "quorum": 1, "hysteresis": 0}
    udp = {"name": "udp", "vip": "198.18.1.50", "port": 9999, "protocol": "udp", "method": "nat", "ops": True,
           "real_servers_group": "private", "gateway": "198.18.2.105", "health_check": {"type": "UDP_CHECK"}}
    conf = render(tmp_path, {"lvs_virtual_services": [nat, udp]})["director1"]
    assert "vrrp_sync_group VG_director1" in conf
    assert "198.18.2.105/32 dev" in conf
    assert "real_server 198.18.2.101 8080" in conf and "lvs_method NAT" in conf
    assert "sorry_server 198.18.1.30 8080" in conf and "persistence_granularity 255.255.255.0" in conf
    assert "    ops\n" in conf and "protocol UDP" in conf


def test_tun_types_fast_failover_and_nopreempt(tmp_path: Path) -> None:
    services = [{**WEB, "method": "tun"}, {**WEB, "port": 443, "method": "tun", "tunnel_type": "gue", "tunnel_port": 6080},
                {**WEB, "port": 8443, "method": "tun", "tunnel_type": "gre"}]
    conf = render(tmp_path, {"lvs_virtual_services": services, "director_vrrp_fast_failover": True,
                             "director_vrrp_preempt": False})["director1"]
    assert "lvs_method TUN type ipip" in conf and "lvs_method TUN type gue port 6080" in conf
    assert "lvs_method TUN type gre" in conf
    assert "advert_int 0.1" in conf and "version 3" in conf and "nopreempt" in conf
    assert "state MASTER" not in conf


def test_preempt_delay_starts_every_instance_backup(tmp_path: Path) -> None:
    # keepalived ignores preempt_delay on an instance whose initial state is MASTER.
    confs = render(tmp_path, {"lvs_virtual_services": [WEB], "director_vrrp_preempt_delay": 5})
    for conf in confs.values():
        assert "preempt_delay 5" in conf and "state BACKUP" in conf and "state MASTER" not in conf


def test_vrrp_advert_terms_read_what_the_template_renders(tmp_path: Path) -> None:
    # The director role defers keepalived's reload to all directors at once when these differ.
    web2 = {**WEB, "name": "web2", "vip": "198.18.1.51"}
    web6 = {**WEB, "name": "web6", "vip": "2001:db8::50", "real_servers_group": "web6"}
    inventories = {"one": {"lvs_virtual_services": [WEB, web6]},
                   "two": {"lvs_virtual_services": [WEB, web2, web6]},
                   "fast": {"lvs_virtual_services": [WEB, web6], "director_vrrp_fast_failover": True},
                   "v2": {"lvs_virtual_services": [WEB, web6], "director_vrrp_version": 2},
                   "v2_advert_2": {"lvs_virtual_services": [WEB, web6], "director_vrrp_version": 2,
                                   "director_vrrp_advert_int": 2},
                   "v2_auth": {"lvs_virtual_services": [WEB, web6], "director_vrrp_version": 2,
                               "director_vrrp_auth_pass": "s3cret"},
                   "vrid_60": {"lvs_virtual_services": [WEB, web6], "director_vrrp_vrid_base": 60}}
    terms = {}
    for name, group_vars in inventories.items():
        (tmp_path / name).mkdir()
        terms[name] = vrrp_advert_terms(render(tmp_path / name, group_vars)["director1"])
    v4, v6 = f"VI_{IFACE}_4_director1", f"VI_{IFACE}_6_director1"
    assert terms["one"] == {v4: {"addresses": ["198.18.1.50/32"], "version": "3", "virtual_router_id": "50",
                                 "advert_int": None, "authentication": []},
                            v6: {"addresses": ["2001:db8::50/128"], "version": "3", "virtual_router_id": "50",
                                 "advert_int": None, "authentication": []}}
    assert terms["two"][v4]["addresses"] == ["198.18.1.50/32", "198.18.1.51/32"]
    # Each of these makes keepalived drop the adverts of a director that has not reloaded yet.
    for changed in ("two", "v2", "vrid_60"):
        assert terms[changed] != terms["one"], changed
    assert terms["v2_advert_2"] != terms["v2"] and terms["v2_auth"] != terms["v2"] and terms["fast"] != terms["v2"]
    # Version 3 (the role's default) takes the master's advert interval: the fast profile's 0.1 s is no term.
    assert terms["fast"] == terms["one"]


def test_keepalived_rejects_are_not_written(tmp_path: Path) -> None:
    bad = {**WEB, "extra_lines": ["no_such_keyword 1"]}
    run = run_render(write_inventory(tmp_path, {"lvs_virtual_services": [bad]}), tmp_path, {})
    assert run.returncode != 0
    assert "no_such_keyword" in run.stdout, run.stdout
    assert not (tmp_path / "director1.conf").exists()


def test_fwmark_marks_render_for_nftables_and_iptables_and_pass_their_tools(tmp_path: Path) -> None:
    services = [{"name": "web-tls", "vip": "198.18.1.50", "fwmark": 7, "persistence_timeout": 600,
                 "fwmark_match": {"ports": [80, 443, "8000-8099"]}, "real_servers_group": "web"},
                {"name": "dns6", "vip": "2001:db8:1::53", "fwmark": 9, "protocol": "udp",
                 "fwmark_match": {"ports": [53]}, "real_servers_group": "web6"}]
    conf = render(tmp_path, {"lvs_virtual_services": services})
    assert "virtual_server fwmark 7 {" in conf["director1"]
    nft = (tmp_path / "director1.nft").read_text()
    assert "ip daddr 198.18.1.50 tcp dport { 80, 443, 8000-8099 } meta mark set 7" in nft
    assert "ip6 daddr 2001:db8:1::53 udp dport { 53 } meta mark set 9" in nft
    assert ("-A LVS_FWMARK -d 198.18.1.50/32 -p tcp -m multiport --dports 80,443,8000:8099 -j MARK --set-mark 7"
            in (tmp_path / "director1.inet.rules").read_text())
    assert ("-A LVS_FWMARK -d 2001:db8:1::53/128 -p udp -m multiport --dports 53 -j MARK --set-mark 9"
            in (tmp_path / "director1.inet6.rules").read_text())


def test_firewall_openings_render_for_iptables_and_firewalld(tmp_path: Path) -> None:
    services = [{**WEB, "fwmark": 7, "port": None, "fwmark_match": {"ports": [80, "8000-8099"]}},
                {"name": "nat", "vip": "198.18.1.60", "port": 53, "protocol": "udp", "method": "nat",
                 "gateway": "198.18.2.1", "real_servers_group": "private", "real_server_port": 5353},
                {**WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6"}]
    render(tmp_path, {"lvs_virtual_services": services, "director_vrrp_unicast": True, "director_lvs_sync_daemon": True})
    rules = (tmp_path / "director1.firewall.inet.rules").read_text().splitlines()
    assert rules[rules.index("*filter") + 3:] == [
        "-A LVS_INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A LVS_INPUT -s 198.18.1.12 -p 112 -j ACCEPT",
        "-A LVS_INPUT -p udp -m multiport --dports 8848,8849 -j ACCEPT",
        "-A LVS_INPUT -d 198.18.1.50 -p tcp -m multiport --dports 80,8000:8099 -j ACCEPT",
        "-A LVS_INPUT -d 198.18.1.60 -p udp -m multiport --dports 53 -j ACCEPT",
        "-A LVS_FORWARD -s 198.18.2.101 -p udp -m multiport --sports 5353 -j ACCEPT",
        "-A LVS_FORWARD -s 198.18.2.102 -p udp -m multiport --sports 5353 -j ACCEPT",
        "COMMIT"]
    assert "-A LVS_INPUT -s 2001:db8::12 -p 112 -j ACCEPT" in (tmp_path / "director1.firewall.inet6.rules").read_text()
    firewalld = json.loads((tmp_path / "director1.firewalld.json").read_text())
    assert firewalld[:5] == ['rule family="ipv4" source address="198.18.1.12" protocol value="vrrp" accept',
                             'rule family="ipv6" source address="2001:db8::12" protocol value="vrrp" accept',
                             'rule family="ipv4" port port="8848" protocol="udp" accept',
                             'rule family="ipv4" port port="8849" protocol="udp" accept',
                             'rule family="ipv4" destination address="198.18.1.50" port port="80" protocol="tcp" accept']
    assert 'rule family="ipv4" destination address="198.18.1.50" port port="8000-8099" protocol="tcp" accept' in firewalld


def test_nftables_openings_render_and_pass_nft(tmp_path: Path) -> None:
    services = [{**WEB, "fwmark": 7, "port": None, "fwmark_match": {"ports": [80, "8000-8099"]}},
                {"name": "nat", "vip": "198.18.1.60", "port": 53, "protocol": "udp", "method": "nat",
                 "gateway": "198.18.2.1", "real_servers_group": "private", "real_server_port": 5353},
                {**WEB, "vip": "2001:db8:1::50", "real_servers_group": "web6"}]
    render(tmp_path, {"lvs_virtual_services": services, "director_vrrp_unicast": True, "director_lvs_sync_daemon": True,
                      "director_firewall_nftables_input_chain": "inet host input"})
    rules = (tmp_path / "director1.firewall.nft").read_text()
    filled = rules[rules.index("\ntable inet host {\n\tchain lvs_input {\n\t\tct"):]
    assert [line.strip() for line in filled.splitlines() if line.startswith("\t\t")] == [
        "ct state established,related accept",
        "ip saddr 198.18.1.12 meta l4proto 112 accept",
        "ip6 saddr 2001:db8::12 meta l4proto 112 accept",
        "meta nfproto ipv4 udp dport { 8848, 8849 } accept",
        "ip daddr 198.18.1.50 tcp dport { 80, 8000-8099 } accept",
        "ip daddr 198.18.1.60 udp dport { 53 } accept",
        "ip6 daddr 2001:db8:1::50 tcp dport { 80 } accept",
        "ip saddr 198.18.2.101 udp sport { 5353 } accept",
        "ip saddr 198.18.2.102 udp sport { 5353 } accept"]
    assert "\ntable inet filter {\n\tchain lvs_forward {\n\t\tip saddr 198.18.2.101" in filled
    unit = (tmp_path / "director1.firewall-nft.service").read_text()
    assert "jump lvs_input' || nft insert rule inet host input jump lvs_input'" in unit.replace('"', "'")
    assert "nft delete rule inet filter forward handle" in unit


NFT_DROP_POLICY = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t}\n}"
NFT_REJECT_RULE = ("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n"
                   "\t\ttcp dport 25 reject\n\t}\n}")
NFT_ACCEPT = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}"


@pytest.mark.parametrize(("firewalld", "iptables", "nft", "backend"), [
    ("active", "-P INPUT ACCEPT", "", "firewalld"),
    ("inactive", "-P INPUT ACCEPT", NFT_DROP_POLICY, "nftables"),
    ("inactive", "-P INPUT ACCEPT", NFT_REJECT_RULE, "nftables"),
    ("inactive", "-P INPUT ACCEPT\n-A INPUT -p tcp --dport 25 -j REJECT",
     "Error: No such file or directory\nlist chain inet filter input", "iptables"),
    ("inactive", "-P INPUT DROP", "", "iptables"),
    # molecule/dr's firewall on director2, as iptables -S lists it: the policy line first, then rules.
    ("inactive", "-P INPUT DROP\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
     "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "sh: 119: nft: not found", "iptables"),
    ("unknown", "-P INPUT ACCEPT", NFT_ACCEPT, "none"),
], ids=["firewalld", "nftables-policy", "nftables-rule", "iptables-rule", "iptables-policy", "iptables-dr", "none"])
def test_auto_picks_the_firewall_that_drops(tmp_path: Path, firewalld: str, iptables: str, nft: str, backend: str) -> None:
    # As the role's one read prints them (the host_state filter's firewalld unit, iptables and nft items).
    finding = (f"unit\tfirewalld.service\t{firewalld}\t\n"
               + "".join(f"iptables\t{line}\n" for line in iptables.splitlines())
               + "".join(f"nft\tinet filter input\t{line}\n" for line in nft.splitlines()))
    render(tmp_path, {"lvs_virtual_services": [WEB]}, {"__director_host_read_output": {"stdout": finding}})
    assert (tmp_path / "director1.firewall-backend").read_text() == backend


# Runs in a network namespace of its own: a host ruleset that drops everything, then the unit's
# commands as systemd would run them; prints what a client on the VIP could reach at each step.
NETNS_PROBE = r"""
import json, socket, subprocess, sys
commands, rules = json.loads(sys.argv[1]), sys.argv[2]
def run(argv):
    subprocess.run([rules if arg == "/etc/lvs/firewall.nft" else arg for arg in argv], check=True)
def reachable(port):
    with socket.socket() as client:
        client.settimeout(0.5)
        return client.connect_ex(("198.18.1.50", port)) == 0
def jumps():
    listing = subprocess.run(["nft", "list", "chain", "inet", "filter", "input"], capture_output=True, text=True).stdout
    return listing.count("jump lvs_input")
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["ip", "address", "add", "198.18.1.50/32", "dev", "lo"], check=True)
subprocess.run(["nft", "-f", "-"], check=True, text=True, input=(
    "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n"))
listeners = []
for port in (80, 81):
    server = socket.socket()
    server.bind(("198.18.1.50", port))
    server.listen()
    listeners.append(server)
seen = {"before": [reachable(80), reachable(81)]}
for argv in commands["ExecStart"]:
    run(argv)
seen["started"] = [reachable(80), reachable(81)]
for _ in range(2):
    for argv in commands["ExecReload"]:
        run(argv)
seen["jumps after two reloads"] = jumps()
for argv in commands["ExecStop"]:
    run(argv)
seen["stopped"] = [reachable(80), reachable(81)]
seen["jumps after stop"] = jumps()
seen["chains after stop"] = subprocess.run(["nft", "list", "table", "inet", "filter"], capture_output=True,
                                           text=True).stdout.count("chain lvs_")
print(json.dumps(seen))
"""


def systemd_commands(unit: str) -> dict[str, list[list[str]]]:
    """A unit's Exec lines as argv lists, unquoted as systemd does for these lines ($$ is a literal $)."""
    commands: dict[str, list[list[str]]] = {"ExecStart": [], "ExecReload": [], "ExecStop": []}
    for line in unit.splitlines():
        key, separator, value = line.partition("=")
        if separator and key in commands:
            commands[key].append(shlex.split(value.removeprefix("-").replace("$$", "$")))
    return commands


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace with its own nftables ruleset needs root")
def test_nftables_openings_let_the_service_through_a_dropping_ruleset(tmp_path: Path) -> None:
    render(tmp_path, {"lvs_virtual_services": [WEB]})
    commands = systemd_commands((tmp_path / "director1.firewall-nft.service").read_text())
    probe = subprocess.run(["unshare", "--net", sys.executable, "-c", NETNS_PROBE, json.dumps(commands),
                            str(tmp_path / "director1.firewall.nft")],
                           capture_output=True, text=True, check=False, timeout=60)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert json.loads(probe.stdout) == {"before": [False, False], "started": [True, False], "jumps after two reloads": 1,
                                        "stopped": [False, False], "jumps after stop": 0, "chains after stop": 0}


EXAMPLES = REPO / "docs" / "examples"


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.iterdir() if (path / "hosts.yml").exists()))
def test_every_documented_example_passes_the_inventory_check_and_keepalived(tmp_path: Path, example: str) -> None:
    shutil.copytree(EXAMPLES / example, tmp_path / "inventory")
    # keepalived -t wants an interface this machine has: the examples' eth1 becomes IFACE, in labels too.
    for group_vars in (tmp_path / "inventory" / "group_vars").glob("*.yml"):
        group_vars.write_text(group_vars.read_text().replace('"eth1:', f'"{IFACE}:'))
    run = run_render(tmp_path / "inventory" / "hosts.yml", tmp_path,
                     {"director_interface": IFACE, "director_gateway_interface": IFACE,
                      "ansible_python_interpreter": sys.executable})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "vrrp_instance " in (tmp_path / "director1.conf").read_text()


def test_a_service_whose_real_servers_are_all_drained_is_accepted(tmp_path: Path) -> None:
    # keepalived warns that it lowers such a service's quorum to 0; the role's config test lets those
    # warnings alone through (found by test_cluster_model_fuzz.py: draining the last real server failed the run,
    # and draining one below a quorum too).
    conf = render(tmp_path, {"lvs_virtual_services": [{**WEB, "health_check": CHECKS[0]}],
                             "realserver_state": "drained"})["director1"]
    assert conf.count("weight 0") == 2
