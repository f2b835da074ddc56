# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster_mermaid
short_description: Draw an LVS cluster model as a Mermaid flowchart
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - Takes the model of M(lvs.cluster.cluster_model) and returns a Mermaid C(flowchart) of the cluster as the
    inventory describes it, so a reviewer sees a change before it runs.
  - Directors with their VRRP instances (master or backup, virtual_router_id, priority), each VIP with the
    director that masters it, each virtual service with protocol, port or fwmark, scheduler, forwarding method,
    persistence and health check, and each real server with its address and weight (drained ones at weight 0
    drawn dashed), plus NAT gateway VIPs and sorry servers.
  - With O(mode=static) the directors are drawn as the director role's C(director_mode=static) runs them, each
    holding the VIPs it masters, with no VRRP and no health checks.
  - C(playbooks/topology.yml) writes it for an inventory.
options:
  _input:
    description: The cluster model.
    type: dict
    required: true
  mode:
    description: The directors' mode, C(director_mode) of the director role.
    type: str
    choices: [keepalived, static]
    default: keepalived
"""

EXAMPLES = r"""
- name: Draw the cluster
  ansible.builtin.copy:
    content: "{{ lvs_model | lvs.cluster.cluster_mermaid }}"
    dest: topology.mmd
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The Mermaid source, starting with C(flowchart LR).
  type: str
"""

from ansible_collections.lvs.cluster.plugins.filter.cluster_model import _slug as _node


def _text(*lines: str) -> str:
    """A quoted Mermaid label; quotes are the one character a label cannot hold."""
    return '"' + "<br/>".join(line.replace('"', "'") for line in lines) + '"'


def _endpoint(address: str, port) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _service_line(vs: dict, fwmark_rules: list[dict], checked: bool) -> str:
    if vs["fwmark"] is None:
        where = f"{vs['protocol'].lower()} {_endpoint(vs['vip'], vs['port'])}"
    else:
        marked = [f"{rule['protocol']} {_endpoint(rule['vip'], ','.join(rule['ports']))}" for rule in fwmark_rules
                  if rule["mark"] == vs["fwmark"] and rule["family"] == vs["family"]]
        where = f"fwmark {vs['fwmark']}" + (f" ({marked[0]})" if marked else "")
    method = vs["method"] + (f" {vs['tunnel_type']}" if vs.get("tunnel_type") else "")
    extras = [vs["scheduler"], method]
    if vs.get("persistence_timeout"):
        extras.append(f"persistent {vs['persistence_timeout']} s")
    if checked and vs.get("health_check"):
        extras.append(vs["health_check"]["type"])
    return f"{where} · {' · '.join(extras)}"


def _director_roles(model: dict, director: str, mode: str) -> list[str]:
    if mode == "static":
        return [f"holds {vip['address']}" for instance in model["vrrp_instances"] if instance["master"] == director
                for vip in instance["vips"]]
    roles = []
    for instance in model["vrrp_instances"]:
        role = "MASTER" if instance["master"] == director else "BACKUP"
        roles.append(f"{role} {instance['name']} vrid {instance['virtual_router_id']} "
                     f"prio {instance['priorities'][director]}")
    return roles


def cluster_mermaid(model: dict, mode: str = "keepalived") -> str:
    if mode not in ("keepalived", "static"):
        raise ValueError(f"cluster_mermaid: mode {mode!r} must be keepalived or static")
    lines = ["flowchart LR", "  clients((clients))"]
    directors = sorted({director for instance in model["vrrp_instances"] for director in instance["priorities"]})
    title = "static: VIPs and IPVS rules held by units, no keepalived" if mode == "static" else "keepalived: VRRP + IPVS"
    lines.append(f'  subgraph directors["directors ({title})"]')
    for director in directors:
        lines.append(f"    {_node('d', director)}[{_text(director, *_director_roles(model, director, mode))}]")
    lines.append("  end")
    vip_nodes = {}
    for instance in model["vrrp_instances"]:
        for vip in instance["vips"]:
            if vip["address"] in vip_nodes:
                continue
            node = vip_nodes[vip["address"]] = _node("vip", vip["address"])
            kind = "gateway VIP" if instance["kind"] == "gateway" else "VIP"
            label = _text(f"{kind} {vip['address']}", instance["interface"])
            lines.append(f"  {node}{{{{{label}}}}}")
            lines.append(f"  {_node('d', instance['master'])} == master ==> {node}")
    real_servers, real_server_addresses = {}, {}
    for vip in dict.fromkeys(vs["vip"] for vs in model["virtual_servers"]):
        if vip in vip_nodes:
            lines.append(f"  clients --> {vip_nodes[vip]}")
    for index, vs in enumerate(model["virtual_servers"]):
        node = _node("svc", index)
        lines.append(f"  {node}[{_text(vs['name'], _service_line(vs, model.get('fwmark_rules', []), mode == 'keepalived'))}]")
        if vs["vip"] in vip_nodes:
            lines.append(f"  {vip_nodes[vs['vip']]} --> {node}")
        for rs in vs["real_servers"]:
            rs_node = _node("rs", rs["host"])
            # A dual-stack real server is one node showing each address it serves at.
            addresses = real_server_addresses.setdefault(rs_node, [rs["host"]])
            if rs["address"] not in addresses:
                addresses.append(rs["address"])
            real_servers[rs_node] = f"  {rs_node}[{_text(*addresses)}]"
            arrow = "-.->" if rs["weight"] == 0 else "-->"
            lines.append(f"  {node} {arrow}|weight {rs['weight']}| {rs_node}")
        sorry = vs.get("sorry_server")
        if sorry:
            sorry_node = _node("rs", sorry["host"] or sorry["address"])
            real_servers.setdefault(sorry_node, f"  {sorry_node}[{_text(sorry['host'] or sorry['address'], sorry['address'])}]")
            lines.append(f"  {node} -.->|sorry server| {sorry_node}")
    for host, setup in sorted(model["real_server_hosts"].items()):
        for gateway in setup.get("gateways", []):
            if gateway in vip_nodes:
                lines.append(f"  {_node('rs', host)} -. default route .-> {vip_nodes[gateway]}")
    lines.extend(real_servers.values())
    return "\n".join(lines) + "\n"


class FilterModule:
    def filters(self):
        return {"cluster_mermaid": cluster_mermaid}
