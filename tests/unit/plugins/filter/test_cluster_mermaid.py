"""The cluster drawn as Mermaid: every director, VIP, service and real server, from the model."""
from __future__ import annotations

import copy

from ansible_collections.lvs.cluster.plugins.filter.cluster_mermaid import cluster_mermaid
from ansible_collections.lvs.cluster.plugins.filter.cluster_model import cluster_model

GROUPS = {"lvs_directors": ["director1", "director2"], "web": ["rs1", "rs2"], "lvs_realservers": ["rs1", "rs2"]}
HOSTVARS = {"rs1": {"realserver_address": "198.18.1.21"}, "rs2": {"realserver_address": "198.18.1.22"}}
SERVICES = [{"name": "web", "vip": "198.18.1.50", "port": 80, "scheduler": "wrr", "real_servers_group": "web",
             "health_check": {"type": "HTTP_GET", "path": "/"}},
            {"name": "tls", "vip": "198.18.1.51", "fwmark": 3, "fwmark_match": {"ports": [443]}, "master": "director2",
             "persistence_timeout": 300, "real_servers_group": "web", "sorry_server": "198.18.1.99"}]


def draw(hostvars: dict) -> list[str]:
    model = cluster_model(SERVICES, GROUPS["lvs_directors"], GROUPS, hostvars, {"interface": "eth1"})
    assert model["errors"] == []
    return cluster_mermaid(model).splitlines()


def test_directors_vips_services_and_real_servers_are_drawn() -> None:
    lines = draw(HOSTVARS)
    assert lines[0] == "flowchart LR"
    assert ('    d_director1["director1<br/>MASTER VI_eth1_4_director1 vrid 50 prio 150'
            '<br/>BACKUP VI_eth1_4_director2 vrid 52 prio 140"]') in lines
    assert "  d_director2 == master ==> vip_198_18_1_51" in lines
    assert "  clients --> vip_198_18_1_50" in lines
    assert '  svc_0["web<br/>tcp 198.18.1.50:80 · wrr · DR · HTTP_GET"]' in lines
    assert '  svc_1["tls<br/>fwmark 3 (tcp 198.18.1.51:443) · wlc · DR · persistent 300 s · TCP_CHECK"]' in lines
    assert "  svc_1 -.->|sorry server| rs_198_18_1_99" in lines
    assert lines.count('  rs_rs1["rs1<br/>198.18.1.21"]') == 1


def test_a_drained_real_server_is_drawn_dashed_at_weight_0() -> None:
    hostvars = copy.deepcopy(HOSTVARS)
    hostvars["rs2"]["realserver_state"] = "drained"
    lines = draw(hostvars)
    assert "  svc_0 -.->|weight 0| rs_rs2" in lines
    assert "  svc_0 -->|weight 1| rs_rs1" in lines


def test_a_static_director_is_drawn_holding_its_vips_without_vrrp_or_checks() -> None:
    model = cluster_model(SERVICES, GROUPS["lvs_directors"], GROUPS, HOSTVARS, {"interface": "eth1"})
    lines = cluster_mermaid(model, "static").splitlines()
    assert '  subgraph directors["directors (static: VIPs and IPVS rules held by units, no keepalived)"]' in lines
    assert '    d_director1["director1<br/>holds 198.18.1.50"]' in lines
    assert '  svc_0["web<br/>tcp 198.18.1.50:80 · wrr · DR"]' in lines
    assert not any("vrid" in line or "CHECK" in line for line in lines)
