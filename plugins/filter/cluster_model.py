# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: cluster_model
short_description: Derive the keepalived model of an LVS cluster from the inventory, and check it
version_added: 0.1.0
author:
  - lvs.cluster contributors (!UNKNOWN)
description:
  - Takes the virtual services, the directors and the real servers' variables and returns the
    VRRP instances and virtual servers keepalived needs, together with every problem found in
    the inventory (each naming the variable path and what is allowed).
  - The function is pure, the same inventory always giving the same model. The director role renders
    C(keepalived.conf) from it and refuses to change any host while it lists errors.
options:
  _input:
    description: The virtual services (C(lvs_virtual_services)).
    type: list
    elements: dict
    required: true
  directors:
    description: Director host names, in inventory order.
    type: list
    elements: str
    required: true
  groups:
    description: The inventory's C(groups).
    type: dict
    required: true
  hostvars:
    description: The inventory's C(hostvars) (only C(realserver_*) and C(ansible_host) are read).
    type: dict
    required: true
  settings:
    description: The director role's VRRP settings (C(vrrp_version), C(advert_int), C(vrid_base), C(auth_pass), C(interface)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Derive the model
  ansible.builtin.set_fact:
    lvs_model: >-
      {{ lvs_virtual_services | lvs.cluster.cluster_model(groups['lvs_directors'], groups, hostvars,
         {'vrrp_version': 3, 'advert_int': 1, 'vrid_base': 50, 'interface': 'eth1'}) }}
"""

RETURN = r"""
_value:
  description: The model.
  type: dict
  contains:
    errors:
      description: Problems found, each naming the variable path.
      type: list
      elements: str
    vrrp_instances:
      description: One per (interface, address family, master director).
      type: list
      elements: dict
    virtual_servers:
      description: The virtual servers with their real servers and checks.
      type: list
      elements: dict
"""

import ipaddress

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh")
METHODS = ("dr", "nat", "tun")
CHECKS = {"TCP_CHECK": (), "HTTP_GET": ("path",), "none": ()}


def _address(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _real_servers(service, index, groups, hostvars, errors):
    path = f"lvs_virtual_services[{index}]"
    group = service.get("real_servers_group")
    members = groups.get(group) if group else None
    if not group:
        errors.append(f"{path}.real_servers_group: required (the inventory group of its real servers)")
        return []
    if not members:
        errors.append(f"{path}.real_servers_group: group {group!r} does not exist or is empty")
        return []
    real_servers = []
    for host in members:
        host_vars = hostvars.get(host, {})
        address = host_vars.get("realserver_address", host_vars.get("ansible_host", host))
        weight = host_vars.get("realserver_weight", 1)
        state = host_vars.get("realserver_state", "present")
        if _address(address) is None:
            errors.append(f"hostvars[{host}].realserver_address: {address!r} is not an IP address")
            continue
        if not isinstance(weight, int) or weight < 0:
            errors.append(f"hostvars[{host}].realserver_weight: {weight!r} must be a whole number, 0 or more")
            continue
        if state not in ("present", "drained", "absent"):
            errors.append(f"hostvars[{host}].realserver_state: {state!r} must be present, drained or absent")
            continue
        if state == "absent":
            continue
        real_servers.append({"host": host, "address": str(_address(address)),
                             "weight": 0 if state == "drained" else weight})
    return real_servers


def _check(service, path, errors):
    check = dict(service.get("health_check") or {"type": "TCP_CHECK"})
    kind = check.get("type", "TCP_CHECK")
    if kind not in CHECKS:
        errors.append(f"{path}.health_check.type: {kind!r} must be one of {', '.join(CHECKS)}")
        return None
    for key in CHECKS[kind]:
        if key not in check:
            errors.append(f"{path}.health_check.{key}: required for {kind}")
    check.setdefault("connect_timeout", 3)
    check.setdefault("retry", 2)
    check.setdefault("delay_before_retry", 1)
    check.setdefault("status_code", 200)
    check["type"] = kind
    return check


def cluster_model(services, directors, groups, hostvars, settings):
    errors = []
    if not directors:
        errors.append("groups.lvs_directors: no directors in the inventory")
    instances = {}
    virtual_servers = []
    vrid_base = settings.get("vrid_base", 50)
    version = settings.get("vrrp_version", 3)
    auth_pass = settings.get("auth_pass") or ""
    if version == 2 and len(auth_pass) > 8:
        errors.append("director_vrrp_auth_pass: longer than 8 characters; keepalived would silently cut it")
    for index, service in enumerate(services or []):
        path = f"lvs_virtual_services[{index}]"
        vip = _address(service.get("vip"))
        if vip is None:
            errors.append(f"{path}.vip: {service.get('vip')!r} is not an IPv4 or IPv6 address")
            continue
        family = "inet6" if vip.version == 6 else "inet"
        port, fwmark = service.get("port"), service.get("fwmark")
        if fwmark is not None and port is not None:
            errors.append(f"{path}.port: a fwmark service has no port")
        if fwmark is None and (not isinstance(port, int) or not 1 <= port <= 65535):
            errors.append(f"{path}.port: {port!r} must be 1-65535")
        scheduler = service.get("scheduler", "wlc")
        if scheduler not in SCHEDULERS:
            errors.append(f"{path}.scheduler: {scheduler!r} must be one of {', '.join(SCHEDULERS)}")
        method = service.get("method", "dr")
        if method not in METHODS:
            errors.append(f"{path}.method: {method!r} must be one of dr, nat, tun")
        rs_port = service.get("real_server_port", port)
        if method in ("dr", "tun") and rs_port != port:
            errors.append(f"{path}.real_server_port: {rs_port} differs from port {port}; "
                          f"with {method} real servers receive the VIP's own port")
        master = service.get("master", directors[0] if directors else None)
        if master not in directors:
            errors.append(f"{path}.master: {master!r} is not a director ({', '.join(directors)})")
            continue
        interface = service.get("interface", settings.get("interface"))
        if not interface:
            errors.append(f"{path}.interface: required (or set director_interface)")
            continue
        instance_key = (interface, family, master)
        instance = instances.get(instance_key)
        if instance is None:
            number = len(instances)
            instance = {
                "name": f"VI_{interface}_{'6' if family == 'inet6' else '4'}_{master}".replace("-", "_").replace(".", "_"),
                "interface": interface, "family": family, "master": master,
                "virtual_router_id": vrid_base + number,
                "priorities": {director: 150 - 10 * ((directors.index(director) - directors.index(master))
                                                     % len(directors)) for director in directors},
                "vips": [],
            }
            instances[instance_key] = instance
        if service.get("virtual_router_id") is not None:
            instance["virtual_router_id"] = service["virtual_router_id"]
        prefix = 128 if family == "inet6" else 32
        if f"{vip}/{prefix}" not in instance["vips"]:
            instance["vips"].append(f"{vip}/{prefix}")
        check = _check(service, path, errors)
        virtual_servers.append({
            "name": service.get("name", f"{vip}:{port}"), "vip": str(vip), "port": port, "fwmark": fwmark,
            "protocol": service.get("protocol", "tcp").upper(), "scheduler": scheduler,
            "method": method.upper(), "real_server_port": rs_port,
            "persistence_timeout": service.get("persistence_timeout", 0),
            "delay_loop": service.get("delay_loop", 2), "health_check": check,
            "real_servers": _real_servers(service, index, groups, hostvars, errors),
        })
    vrids = {}
    for instance in instances.values():
        vrid = instance["virtual_router_id"]
        if not 1 <= vrid <= 255:
            errors.append(f"virtual_router_id {vrid} of {instance['name']} is outside 1-255")
        other = vrids.get((instance["interface"], instance["family"], vrid))
        if other:
            errors.append(f"virtual_router_id {vrid} is used by both {other} and {instance['name']} on "
                          f"{instance['interface']}")
        vrids[(instance["interface"], instance["family"], vrid)] = instance["name"]
    return {"errors": errors, "vrrp_instances": list(instances.values()), "virtual_servers": virtual_servers}


class FilterModule:
    def filters(self):
        return {"cluster_model": cluster_model}
