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
  - Takes the virtual services, the directors and the hosts' variables and returns the VRRP
    instances, sync groups and virtual servers keepalived needs, what each real server must set
    up for its forwarding method, and every problem found in the inventory (each naming the
    variable path and what is allowed).
  - The function is pure, the same inventory always giving the same model. The director role renders
    C(keepalived.conf) from it, the realserver role reads its C(real_server_hosts), and both refuse
    to change any host while it lists errors.
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
    description: The inventory's C(hostvars) (only C(realserver_*), C(director_unicast_addresses) and C(ansible_host) are read).
    type: dict
    required: true
  settings:
    description:
      - The director role's VRRP settings (C(vrrp_version), C(advert_int), C(vrid_base), C(auth_pass),
        C(interface), C(gateway_interface), C(unicast), C(realservers_group), C(vrrp_vips),
        C(packet_filter), C(preempt)), the keys the role's argument spec allows in a service and in a
        VRRP-only VIP (C(service_keys), C(vrrp_vip_keys); taken from C(spec) when not given), C(lvs_timeouts),
        C(lvs_sync_daemon), and C(mode) (C(static) refuses the options only keepalived acts on).
      - C(spec) is the director role's argument spec (its C(options)); with it, every cluster-wide
        setting (CLUSTER_WIDE) is read from every director's C(hostvars), the spec's default where a director
        does not set it, and refused where two directors differ.
    type: dict
    default: {}
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
      description: One per (interface, address family, master director), plus one per NAT gateway.
      type: list
      elements: dict
    sync_groups:
      description: VRRP sync groups joining a NAT service's public instance with its gateway instance.
      type: list
      elements: dict
    virtual_servers:
      description: The virtual servers with their real servers and checks.
      type: list
      elements: dict
    track_files:
      description: The track_file blocks FILE_CHECK health checks read.
      type: list
      elements: dict
    bfd_instances:
      description: One bfd_instance per real server a BFD_CHECK watches (named C(bfd_<host>)).
      type: list
      elements: dict
    real_server_hosts:
      description: Per real-server host, the VIPs to hold per method, tunnel types and NAT gateways.
      type: dict
    fwmark_rules:
      description: Per fwmark service, the packets (address family, VIP, protocol, ports) the directors mark.
      type: list
      elements: dict
    forwarding:
      description: Whether any service uses NAT (the directors must route).
      type: bool
"""

import ipaddress
import re
from typing import Any

from ansible.errors import AnsibleError

from ansible_collections.lvs.cluster.plugins.module_utils._addresses import Held
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import ServiceKey
from ansible_collections.lvs.cluster.plugins.module_utils._spec_types import conformed, options_errors, type_errors

SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh")
SCHEDULER_FLAGS = ("sh-fallback", "sh-port", "mh-fallback", "mh-port")
METHODS = ("dr", "nat", "tun")
TUNNEL_TYPES = ("ipip", "gue", "gre")
PROTOCOLS = ("tcp", "udp", "sctp")
STATES = ("present", "drained", "absent")
CONNECTION_OPTIONS = ("connect_ip", "connect_port", "bindto", "bind_if", "bind_port", "fwmark",
                      "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
                      "alpha", "log_all_failures")
URL_OPTIONS = ("path", "digest", "status_code", "virtualhost", "regex", "regex_no_match")
# Checker type: (keywords it takes, keywords it needs). Names are keepalived's own.
CHECKERS = {
    "TCP_CHECK": (CONNECTION_OPTIONS, ()),
    "HTTP_GET": (CONNECTION_OPTIONS + URL_OPTIONS + ("urls", "http_protocol", "fast_recovery"), ("path",)),
    "SSL_GET": (CONNECTION_OPTIONS + URL_OPTIONS + ("urls", "http_protocol", "fast_recovery", "enable_sni"), ("path",)),
    "SMTP_CHECK": (CONNECTION_OPTIONS + ("helo_name",), ()),
    "DNS_CHECK": (CONNECTION_OPTIONS + ("query_type", "name"), ()),
    "UDP_CHECK": (CONNECTION_OPTIONS + ("payload", "require_reply", "min_reply_length", "max_reply_length"), ()),
    "PING_CHECK": (CONNECTION_OPTIONS, ()),
    "MISC_CHECK": (("misc_path", "misc_timeout", "misc_dynamic", "alpha", "retry", "delay_before_retry",
                    "warmup", "delay_loop", "log_all_failures"), ("misc_path",)),
    "FILE_CHECK": (("file", "weight", "dynamic"), ("file",)),
    "BFD_CHECK": ((), ()),
    "none": ((), ()),
}
CHECK_DEFAULTS = {"connect_timeout": 3, "retry": 2, "delay_before_retry": 1}
# Whole-number options and the ranges keepalived 2.2's parser takes for them ("number outside range"
# and the option ignored otherwise, which its config test fails on), as (lowest, highest, note).
SERVICE_RANGES = {"persistence_timeout": (0, 2678400, "0 for none; keepalived takes up to 31 days"),
                  "delay_loop": (1, 2678400, "seconds between checks")}
CHECK_RANGES = {"connect_timeout": (1, 4294, "seconds"), "delay_loop": (1, 2678400, "seconds between checks"),
                "retry": (0, 4294967295, ""), "delay_before_retry": (0, 4294967295, "seconds")}
REAL_SERVER_WEIGHT_MAX = 2147483647
PRIORITY_TOP = 150
PRIORITY_STEP = 10
# keepalived's priorities short of the address owner's 255.
PRIORITY_RANGE = (1, 254)
# playbooks/switchover.yml lowers the holder's priority by this much (its track_file, weight -1).
SWITCHOVER_DROP = 200
# keepalived's keywords (and the seed documents' older ones) that readers write into a service, and
# what this inventory calls them.
SEED_KEYWORDS = {
    "lb_algo": "scheduler", "lvs_sched": "scheduler",
    "lb_kind": "method (dr, nat or tun)", "lvs_method": "method (dr, nat or tun)",
    "persistence": "persistence_timeout",
    "nb_get_retry": "health_check.retry", "retry": "health_check.retry",
    "delay_before_retry": "health_check.delay_before_retry", "connect_timeout": "health_check.connect_timeout",
    "connect_port": "health_check.connect_port", "url": "health_check.path (with status_code or digest)",
    "HTTP_GET": "health_check: {type: HTTP_GET, ...}", "SSL_GET": "health_check: {type: SSL_GET, ...}",
    "TCP_CHECK": "health_check: {type: TCP_CHECK, ...}", "MISC_CHECK": "health_check: {type: MISC_CHECK, ...}",
    "real_server": "real_servers_group (an inventory group of the real servers)",
    "weight": "realserver_weight (a host variable of each real server)",
    "nat_mask": "nothing: a NAT real server's replies go through the service's gateway, which the role routes",
    "state": "master (the director that holds the VIP)", "priority": "priorities ({director: priority, ...})",
    "advert_int": "director_vrrp_advert_int", "track_interface": "director_vrrp_track_interfaces",
    "notify_master": "director_vrrp_notify.master", "notify_backup": "director_vrrp_notify.backup",
    "authentication": "director_vrrp_auth_pass", "auth_pass": "director_vrrp_auth_pass",
    "virtual_server": "vip and port (or fwmark)", "virtual_ipaddress": "vip",
}
# A service's options that only keepalived acts on, and what it does with them: a static director
# (director_mode static) runs no keepalived, so it refuses them rather than ignore them.
KEEPALIVED_ONLY_KEYS = {
    "health_check": "checks the real servers", "delay_loop": "checks the real servers",
    "alpha": "checks the real servers",
    "inhibit_on_failure": "takes out a failing real server", "virtualhost": "checks the real servers",
    "ha_suspend": "checks the real servers", "quorum": "puts in the sorry server below the quorum",
    "hysteresis": "puts in the sorry server below the quorum", "omega": "runs the quorum notifiers",
    "sorry_server": "puts in the sorry server below the quorum",
    "sorry_server_port": "puts in the sorry server below the quorum",
    "notify_up": "runs the real-server notifiers", "notify_down": "runs the real-server notifiers",
    "extra_lines": "reads keepalived.conf's virtual_server block",
    "priorities": "runs VRRP", "virtual_router_id": "runs VRRP", "gateway_router_id": "runs VRRP",
}
# The director role's settings that must be one for the whole cluster: VRRP's terms both directors must
# share to hear each other, what decides the instances and the IPVS table, and the sync daemon. The
# interfaces too: the plan (lvs.cluster.cluster_plan) is one for all directors, and its VRRP instances
# name the interface the VIPs move between.
CLUSTER_WIDE = (
    "director_mode", "director_group", "director_interface", "director_gateway_interface",
    "director_realservers_group", "director_virtual_services",
    "director_vrrp_version", "director_vrrp_advert_int", "director_vrrp_fast_failover", "director_vrrp_vrid_base",
    "director_vrrp_auth_pass", "director_vrrp_preempt", "director_vrrp_preempt_delay", "director_vrrp_unicast",
    "director_vrrp_mcast_group4", "director_vrrp_mcast_group6", "director_vrrp_vips", "director_lvs_sync_daemon",
    "director_lvs_sync_table", "director_lvs_sync_table_port", "director_lvs_timeouts", "director_packet_filter",
)
# Compared like the others, never shown.
SECRET_SETTINGS = ("director_vrrp_auth_pass",)
LVS_TIMEOUT_KEYS = ("tcp", "tcpfin", "udp")
# The kernel keeps a timeout as seconds x HZ in an int: the largest that cannot overflow at HZ 1000.
LVS_TIMEOUT_MAX = 2147483
# The kernel's limit on an interface name, and so on a label (IFNAMSIZ less the terminating NUL).
LABEL_MAX = 15
CHECK_SEED_KEYWORDS = {"nb_get_retry": "retry", "url": "path (with status_code or digest; several as urls)"}


def _address(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _special(address):
    """What kind of special-purpose address ADDRESS is, or None for one a VIP or gateway may be."""
    kinds = (("loopback", address.is_loopback), ("multicast", address.is_multicast),
             ("unspecified", address.is_unspecified), ("link-local", address.is_link_local),
             ("reserved (240.0.0.0/4)", address.version == 4 and address.is_reserved))
    return next((kind for kind, matches in kinds if matches), None)


def _slug(*parts):
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(part) for part in parts))


# The real servers' variables the model reads, with their types (the realserver role's argument spec; a
# unit test keeps the two the same).
REAL_SERVER_OPTIONS = {"realserver_address": {"type": "str"}, "realserver_address6": {"type": "str"},
                       "ansible_host": {"type": "str"}, "realserver_weight": {"type": "int"},
                       "realserver_state": {"type": "str"}, "realserver_uthreshold": {"type": "int"},
                       "realserver_lthreshold": {"type": "int"}}
REAL_SERVER_VARS = tuple(REAL_SERVER_OPTIONS)
# The filter's settings -> the director variable each comes from (roles/director/vars/main.yml), for errors.
SETTING_VARIABLES = {
    "interface": "director_interface", "gateway_interface": "director_gateway_interface",
    "vrrp_version": "director_vrrp_version", "advert_int": "director_vrrp_advert_int",
    "vrid_base": "director_vrrp_vrid_base", "auth_pass": "director_vrrp_auth_pass", "unicast": "director_vrrp_unicast",
    "directors_group": "director_group", "realservers_group": "director_realservers_group",
    "vrrp_vips": "director_vrrp_vips", "packet_filter": "director_packet_filter", "preempt": "director_vrrp_preempt",
    "mode": "director_mode", "lvs_timeouts": "director_lvs_timeouts", "lvs_sync_daemon": "director_lvs_sync_daemon",
}


class _Builder:
    """Walks the services once, collecting the model and every error."""

    def __init__(self, directors, groups, hostvars, settings):
        self.directors = list(directors or [])
        self.groups = groups
        self.hostvars = hostvars
        self.settings = settings
        self.errors = []
        self.instances = {}
        self.sync_groups = {}
        self.virtual_servers = []
        self.track_files = []
        self.bfd_instances = []
        self.fwmark_rules = []
        self.fwmark_owners = {}
        self.hosts = {}
        self.real_server_vars = {}
        self.given_priorities = {}
        self.held = {}
        # A service's identity (ServiceKey, as text) -> the path of the entry that has it.
        self.service_paths = {}
        # Instance name -> the variable its virtual_router_id comes from, for errors.
        self.router_id_paths = {}

    def error(self, message):
        if message not in self.errors:
            self.errors.append(message)

    # VRRP ---------------------------------------------------------------------------------
    def instance(self, interface, family, master, kind, vrid, path, priorities=None):
        key = (interface, family, master, kind)
        instance = self.instances.get(key)
        if priorities is not None:
            priorities = self.explicit_priorities(priorities, master, f"{path}.priorities")
        if instance is None:
            suffix = "6" if family == "inet6" else "4"
            instance = {
                "name": _slug("VI", "GW" if kind == "gateway" else "", interface, suffix, master).replace("__", "_"),
                "interface": interface, "family": family, "master": master, "kind": kind,
                "virtual_router_id": self.derived_router_id(master, kind),
                "priorities": self.priorities(master, path), "vips": [], "unicast": {},
            }
            self.instances[key] = instance
            self.router_id_paths[instance["name"]] = "director_vrrp_vrid_base"
            if self.settings.get("unicast"):
                instance["unicast"] = self.unicast(family, instance["name"])
        if vrid is not None:
            instance["virtual_router_id"] = vrid
            self.router_id_paths[instance["name"]] = f"{path}.virtual_router_id"
        if priorities:
            given = self.given_priorities.setdefault(instance["name"], (priorities, path))
            if given[0] != priorities:
                self.error(f"{path}.priorities: {priorities} differ from {given[0]} of {given[1]}, which share VRRP "
                           f"instance {instance['name']} (one interface, address family and master)")
            instance["priorities"] = given[0]
        return instance

    def explicit_priorities(self, given, master, path):
        """Priorities the inventory sets per director: every director once, each in PRIORITY_RANGE, no two
        alike, and the master highest unless nopreempt lets another start the instance. None when wrong."""
        low, high = PRIORITY_RANGE
        if not isinstance(given, dict) or set(given) != set(self.directors):
            self.error(f"{path}: must map every director ({', '.join(self.directors)}) to its priority, got {given!r}")
            return None
        wrong = {director: value for director, value in given.items()
                 if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high}
        if wrong:
            self.error(f"{path}: {wrong} must be whole numbers {low}-{high} (255 is keepalived's address owner)")
            return None
        if len(set(given.values())) != len(given):
            self.error(f"{path}: {given} gives two directors the same priority; VRRP would then pick by address")
            return None
        if self.settings.get("preempt", True) and max(given, key=given.get) != master:
            self.error(f"{path}: {given} does not give the master, {master}, the highest priority; with preemption "
                       "the highest takes the VIP (set master to it, or director_vrrp_preempt: false)")
            return None
        highest, lowest = max(given.values()), min(given.values())
        if highest - SWITCHOVER_DROP >= lowest:
            self.error(f"{path}: {given}: switchover.yml lowers the holder by {SWITCHOVER_DROP}, and {highest} - "
                       f"{SWITCHOVER_DROP} is not below {lowest}, so the VIP would not move; keep the spread under "
                       f"{SWITCHOVER_DROP}")
            return None
        return {director: given[director] for director in self.directors}

    def lvs_timeouts(self, timeouts):
        """director_lvs_timeouts, which keepalived's lvs_timeouts or a static director's `ipvsadm --set` apply."""
        if timeouts is None:
            return
        if not isinstance(timeouts, dict):
            self.error(f"director_lvs_timeouts: {timeouts!r} must be a mapping of tcp, tcpfin and udp to seconds")
            return
        for key, value in timeouts.items():
            if key not in LVS_TIMEOUT_KEYS:
                self.error(f"director_lvs_timeouts.{key}: not a timeout (allowed: {', '.join(LVS_TIMEOUT_KEYS)})")
            elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= LVS_TIMEOUT_MAX:
                self.error(f"director_lvs_timeouts.{key}: {value!r} must be whole seconds, 1-{LVS_TIMEOUT_MAX}")

    def label(self, label, interface, path):
        """LABEL for an address on INTERFACE, as `ip addr` takes it: the interface's name, a colon and more,
        at most LABEL_MAX characters (keepalived passes it on to the kernel unchecked)."""
        if label is None:
            return None
        if not isinstance(label, str) or not label.startswith(f"{interface}:") or label == f"{interface}:" \
                or len(label) > LABEL_MAX or any(char.isspace() for char in label):
            self.error(f"{path}: {label!r} must be the interface's name, a colon and more ({interface}:NAME, at most "
                       f"{LABEL_MAX} characters, no spaces)")
            return None
        return label

    def hold(self, instance, entry, path, why=""):
        """Puts ENTRY (a VIP or gateway address) in INSTANCE. An address in two instances would be held by two
        directors at once; one given twice with another prefix or label would be added twice."""
        holder = self.held.setdefault(entry["address"], {"instance": instance, "entry": entry, "path": path})
        if holder["instance"] is not instance:
            other = holder["instance"]
            self.error(f"{path}: {entry['address']} is already in VRRP instance {other['name']} (master {other['master']},"
                       f" from {holder['path']}); in instance {instance['name']} (master {instance['master']}) too, two "
                       f"directors would hold it at once{why}")
        elif holder["entry"] != entry:
            self.error(f"{path}: {entry['address']} is given as {entry} here but as {holder['entry']} in "
                       f"{holder['path']}; give it the same prefix and label everywhere")
        elif entry not in instance["vips"]:
            instance["vips"].append(entry)

    def derived_router_id(self, master, kind):
        """Two ids per director from the base, in the order of the directors group: the instance its VIPs
        need, then its NAT gateway instance. Adding or removing a service never renumbers an instance, so a
        rolling reload never leaves the two directors disagreeing on an id; the address families are
        separate VRRP protocols and may share one."""
        return self.settings.get("vrid_base", 50) + 2 * self.directors.index(master) + (1 if kind == "gateway" else 0)

    def priorities(self, master, path):
        count = len(self.directors)
        priorities = {}
        for director in self.directors:
            rank = (self.directors.index(director) - self.directors.index(master)) % count
            priorities[director] = PRIORITY_TOP - PRIORITY_STEP * rank
            if priorities[director] < 1:
                self.error(f"{path}: {count} directors leave {director} a priority below 1 "
                           f"(priorities are spaced by {PRIORITY_STEP} from {PRIORITY_TOP})")
        return priorities

    def unicast(self, family, name):
        addresses = {}
        for director in self.directors:
            own = [_address(a) for a in self.hostvars.get(director, {}).get("director_unicast_addresses", [])]
            match = [str(a) for a in own if a is not None and (a.version == 6) == (family == "inet6")]
            if not match:
                self.error(f"hostvars[{director}].director_unicast_addresses: no {family} address for {name} "
                           "(needed because director_vrrp_unicast is on)")
                continue
            addresses[director] = match[0]
        return addresses

    def check_router_ids(self):
        seen = {}
        for instance in self.instances.values():
            vrid = instance["virtual_router_id"]
            path = self.router_id_paths[instance["name"]]
            if not isinstance(vrid, int) or not 1 <= vrid <= 255:
                self.error(f"{path}: gives {instance['name']} virtual_router_id {vrid}, outside 1-255")
            key = (instance["interface"], instance["family"], vrid)
            if key in seen:
                self.error(f"{path}: virtual_router_id {vrid} is used by both {seen[key]} and {instance['name']} on "
                           f"{instance['interface']}; set virtual_router_id or director_vrrp_vrid_base")
            seen[key] = instance["name"]

    # Real servers -------------------------------------------------------------------------
    def host(self, name):
        return self.hosts.setdefault(name, {"dr_vips": [], "tun_vips": [], "tunnel_types": [], "gateways": []})

    def read_real_server_vars(self, host):
        """HOST's realserver_* variables, read once: each hostvars lookup has Ansible merge all of the host's
        variables, which at 100 services x 100 real servers took longer than everything else."""
        if host not in self.real_server_vars:
            host_vars = self.hostvars.get(host, {})
            self.real_server_vars[host] = {key: host_vars[key] for key in REAL_SERVER_VARS if key in host_vars}
        return self.real_server_vars[host]

    def address_of(self, host, host_vars, family):
        """HOST's address for services of FAMILY: realserver_address6 for IPv6 ones when set, else
        realserver_address (default ansible_host, then the name); the variable's name, and None when invalid."""
        if family == "inet6" and "realserver_address6" in host_vars:
            given = host_vars["realserver_address6"]
            address = _address(given)
            if address is None or address.version != 6:
                self.error(f"hostvars[{host}].realserver_address6: {given!r} is not an IPv6 address")
                return "realserver_address6", None
            return "realserver_address6", address
        given = host_vars.get("realserver_address", host_vars.get("ansible_host", host))
        address = _address(given)
        if address is None:
            self.error(f"hostvars[{host}].realserver_address: {given!r} is not an IP address")
        return "realserver_address", address

    def real_server(self, host, path, family):
        host_vars = self.read_real_server_vars(host)
        slips = options_errors(f"hostvars[{host}]", host_vars, REAL_SERVER_OPTIONS)
        if slips:
            for error in slips:
                self.error(error)
            return None
        variable, address = self.address_of(host, host_vars, family)
        weight = host_vars.get("realserver_weight", 1)
        state = host_vars.get("realserver_state", "present")
        if address is None:
            return None
        if (address.version == 6) != (family == "inet6"):
            hint = "; set realserver_address6 for IPv6 services" if family == "inet6" else ""
            self.error(f"hostvars[{host}].{variable}: {address} is not of the address family of {path} "
                       f"({'IPv6' if family == 'inet6' else 'IPv4'}); keepalived would skip it{hint}")
            return None
        if not 0 <= weight <= REAL_SERVER_WEIGHT_MAX:  # an integer: REAL_SERVER_OPTIONS was checked above
            self.error(f"hostvars[{host}].realserver_weight: {weight!r} must be a whole number, 0-{REAL_SERVER_WEIGHT_MAX}")
            return None
        if state not in STATES:
            self.error(f"hostvars[{host}].realserver_state: {state!r} must be present, drained or absent")
            return None
        realservers_group = self.settings.get("realservers_group", "lvs_realservers")
        if host not in self.groups.get(realservers_group, []):
            self.error(f"{path}: {host} is not in group {realservers_group}, so site.yml would not set it up")
        if state == "absent":
            return None
        entry = {"host": host, "address": str(address), "weight": 0 if state == "drained" else weight}
        for key in ("uthreshold", "lthreshold"):
            if host_vars.get(f"realserver_{key}") is not None:
                entry[key] = host_vars[f"realserver_{key}"]
        return entry

    def real_servers(self, service, path, family):
        group = service.get("real_servers_group")
        members = self.groups.get(group) if group else None
        if not group:
            self.error(f"{path}.real_servers_group: required (the inventory group of its real servers)")
            return []
        if not members:
            self.error(f"{path}.real_servers_group: group {group!r} does not exist or is empty")
            return []
        return [entry for entry in (self.real_server(host, f"{path}.real_servers_group", family) for host in members) if entry]

    def sorry_server(self, service, path, port, family):
        name = service.get("sorry_server")
        if name is None:
            return None
        if name in self.hostvars:
            _variable, address = self.address_of(name, self.read_real_server_vars(name), family)
            if address is None:
                return None
            host = name
        else:
            address, host = _address(name), None
            if address is None:
                self.error(f"{path}.sorry_server: {name!r} is neither an inventory host nor an IP address")
                return None
        return {"host": host, "address": str(address), "port": service.get("sorry_server_port", port)}

    # Services -----------------------------------------------------------------------------
    def vip(self, path, value):
        vip = _address(value)
        if vip is None:
            self.error(f"{path}.vip: {value!r} is not an IPv4 or IPv6 address")
        elif _special(vip):
            self.error(f"{path}.vip: {value!r} is a {_special(vip)} address; a VIP is a unicast address clients reach")
            return None
        return vip

    def master(self, path, entry):
        master = entry.get("master", self.directors[0])
        if master not in self.directors:
            self.error(f"{path}.master: {master!r} is not a director ({', '.join(self.directors)})")
            return None
        return master

    def typed(self, path, entry, variable):
        """ENTRY (one element of VARIABLE's list, at PATH) as the model reads it (spec_types.conformed), or None
        when it has a value of a type the argument spec does not give its option; each such slip is an error."""
        options = (self.settings.get("spec") or {}).get(variable, {}).get("options") or {}
        errors = options_errors(path, entry, options)
        for error in errors:
            self.error(error)
        return None if errors else conformed(entry, {"type": "dict", "options": options})

    def spec_keys(self, setting, variable):
        """The keys an entry of VARIABLE may have: SETTING, or the argument spec's options of VARIABLE."""
        if setting in self.settings:
            return self.settings[setting]
        spec = self.settings.get("spec")
        return list(spec[variable]["options"]) if spec else None

    def typed_inputs(self, spec):
        """Whether the settings and every director's variables the model reads have the types SPEC gives
        them; each slip is an error naming the variable. Nothing else is checked past one: the rest of the
        model would read these values as the types they are not."""
        errors, seen = [], set()
        for setting, variable in SETTING_VARIABLES.items():
            if setting in self.settings and variable in spec:
                errors += type_errors(variable, self.settings[setting], spec[variable])
                seen.add((variable, repr(self.settings[setting])))
        for director in self.directors:
            try:
                host = self.hostvars.get(director, {})
                given = {name: host[name] for name in (*CLUSTER_WIDE, "director_unicast_addresses")
                         if name in spec and name in host}
            except AnsibleError as error:
                errors.append(f"hostvars[{director}]: a cluster-wide setting could not be read: {error}")
                continue
            for name, value in given.items():
                if (name, repr(value)) not in seen:  # one slip given for the whole group is said once
                    errors += type_errors(f"hostvars[{director}].{name}", value, spec[name])
                    seen.add((name, repr(value)))
        for error in errors:
            self.error(error)
        return not errors

    def cluster_wide(self, spec):
        """Every CLUSTER_WIDE setting as each director has it (its hostvars, else SPEC's default): one value for
        all, or an error naming the directors and the variable. The model and keepalived.conf take the first
        director's, so two values would be two clusters that do not hear each other."""
        values = {}
        for director in self.directors:
            try:
                host = self.hostvars.get(director, {})
                for name in CLUSTER_WIDE:
                    if name in host:
                        values.setdefault(name, {})[director] = host[name]
                    elif name == "director_virtual_services":
                        values.setdefault(name, {})[director] = host.get("lvs_virtual_services", [])
                    else:
                        values.setdefault(name, {})[director] = spec.get(name, {}).get("default")
            except AnsibleError as error:
                self.error(f"hostvars[{director}]: a cluster-wide setting could not be read: {error}")
                return
        for name, by_director in values.items():
            first = self.directors[0]
            for director, value in by_director.items():
                if value != by_director[first]:
                    shown = "(values not shown)" if name in SECRET_SETTINGS else f"{value!r} here but {by_director[first]!r} on {first}"
                    self.error(f"hostvars[{director}].{name}: {shown}; it must be the same on every director "
                               f"(set it for the group {self.settings.get('directors_group', 'lvs_directors')}, "
                               "not per host)")
                    break

    def known_keys(self, path, entry, known):
        """Refuses keys the role's argument spec does not know (KNOWN; None: not checked), naming what a
        keepalived keyword is called here."""
        for key in sorted(entry, key=str):
            if key in SEED_KEYWORDS and key not in (known or ()):
                self.error(f"{path}.{key}: keepalived's keyword, not this inventory's; use {SEED_KEYWORDS[key]}")
            elif known is not None and key not in known:
                self.error(f"{path}.{key}: not an option (allowed: {', '.join(sorted(known))})")

    def service(self, index, service):
        path = f"lvs_virtual_services[{index}]"
        if not isinstance(service, dict):
            self.error(f"{path}: must be a mapping of the service's options (vip, port, ...), not {service!r}")
            return
        self.known_keys(path, service, self.spec_keys("service_keys", "director_virtual_services"))
        service = self.typed(path, service, "director_virtual_services")
        if service is None:
            return
        if self.settings.get("mode") == "static":
            for key in sorted(set(service) & set(KEEPALIVED_ONLY_KEYS)):
                self.error(f"{path}.{key}: director_mode is static, and without keepalived nothing "
                           f"{KEEPALIVED_ONLY_KEYS[key]}; leave it out, or use director_mode: keepalived")
        vip = self.vip(path, service.get("vip"))
        if vip is None:
            return
        family = "inet6" if vip.version == 6 else "inet"
        port, fwmark = service.get("port"), service.get("fwmark")
        if fwmark is not None and port is not None:
            self.error(f"{path}.port: a fwmark service has no port")
        if fwmark is None and (not isinstance(port, int) or not 1 <= port <= 65535):
            self.error(f"{path}.port: {port!r} must be 1-65535")
        if fwmark is not None and (not isinstance(fwmark, int) or not 1 <= fwmark <= 4294967295):
            self.error(f"{path}.fwmark: {fwmark!r} must be 1-4294967295")
        protocol = str(service.get("protocol", "tcp")).lower()
        if protocol not in PROTOCOLS:
            self.error(f"{path}.protocol: {protocol!r} must be one of {', '.join(PROTOCOLS)}")
        if fwmark is not None:
            self.fwmark_rule(path, service, vip, fwmark, protocol)
        scheduler = service.get("scheduler", "wlc")
        if scheduler not in SCHEDULERS:
            self.error(f"{path}.scheduler: {scheduler!r} must be one of {', '.join(SCHEDULERS)}")
        for flag in service.get("scheduler_flags", []):
            if flag not in SCHEDULER_FLAGS:
                self.error(f"{path}.scheduler_flags: {flag!r} must be one of {', '.join(SCHEDULER_FLAGS)}")
        method = service.get("method", "dr")
        if method not in METHODS:
            self.error(f"{path}.method: {method!r} must be one of dr, nat, tun")
        tunnel_type = service.get("tunnel_type", "ipip")
        if method == "tun" and tunnel_type not in TUNNEL_TYPES:
            self.error(f"{path}.tunnel_type: {tunnel_type!r} must be one of ipip, gue, gre")
        if method == "tun" and tunnel_type == "gue" and not service.get("tunnel_port"):
            self.error(f"{path}.tunnel_port: required for tunnel_type gue (the UDP port of the real servers' fou)")
        rs_port = service.get("real_server_port", port)
        if method in ("dr", "tun") and rs_port != port:
            self.error(f"{path}.real_server_port: {rs_port} differs from port {port}; "
                       f"with {method} real servers receive the VIP's own port")
        master = self.master(path, service)
        if master is None:
            return
        interface = service.get("interface", self.settings.get("interface"))
        if not interface:
            self.error(f"{path}.interface: required (or set director_interface)")
            return
        instance = self.instance(interface, family, master, "service", service.get("virtual_router_id"), path,
                                 service.get("priorities"))
        vip_entry = {"address": str(vip), "prefix": service.get("vip_prefix", 128 if family == "inet6" else 32),
                     "label": self.label(service.get("vip_label"), interface, f"{path}.vip_label")}
        self.hold(instance, vip_entry, f"{path}.vip", "; give every service with this VIP the same master and interface")
        gateway = self.gateway(service, path, family, master, instance) if method == "nat" else None
        real_servers = self.real_servers(service, path, family)
        sorry = self.sorry_server(service, path, rs_port, family)
        check = self.check(service.get("health_check"), path)
        self.in_ranges(path, service, SERVICE_RANGES)
        self.quorum(path, service, real_servers)
        if not self.unique_service(path, protocol, vip, port, fwmark, family):
            return
        self.virtual_servers.append({
            "name": service.get("name", f"{vip}:{port if fwmark is None else 'fwmark' + str(fwmark)}"),
            "vip": str(vip), "family": family, "port": port, "fwmark": fwmark, "protocol": protocol.upper(),
            "scheduler": scheduler, "scheduler_flags": service.get("scheduler_flags", []),
            "method": method.upper(), "tunnel_type": tunnel_type if method == "tun" else None,
            "tunnel_port": service.get("tunnel_port"), "real_server_port": rs_port,
            "persistence_timeout": service.get("persistence_timeout", 0),
            "persistence_granularity": service.get("persistence_granularity"),
            "delay_loop": service.get("delay_loop", 2),
            "quorum": service.get("quorum"), "hysteresis": service.get("hysteresis"),
            "flags": [flag for flag in ("alpha", "omega", "ops", "ha_suspend", "inhibit_on_failure")
                      if service.get(flag)],
            "virtualhost": service.get("virtualhost"), "sorry_server": sorry,
            "notify_up": service.get("notify_up"), "notify_down": service.get("notify_down"),
            "health_check": check, "real_servers": real_servers,
            "extra_lines": service.get("extra_lines", []),
        })
        if check and check["type"] == "BFD_CHECK":
            for entry in real_servers:
                bfd = {"name": _slug("bfd", entry["host"]), "neighbor_ip": entry["address"]}
                if bfd not in self.bfd_instances:
                    self.bfd_instances.append(bfd)
        for entry in real_servers + ([sorry] if sorry and sorry["host"] else []):
            self.host_setup(entry["host"], method, str(vip), tunnel_type, gateway)

    def in_ranges(self, path, options, ranges):
        """An error for each whole-number option of OPTIONS (at PATH) outside its range in RANGES."""
        for key, (low, high, note) in ranges.items():
            value = options.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
                self.error(f"{path}.{key}: {value} must be {low}-{high}{f' ({note})' if note else ''}")

    def quorum(self, path, service, real_servers):
        """keepalived takes quorum as 1 or more, lowers one above the real servers' total weight to that total,
        and raises a hysteresis not below the quorum to 2^32-1, each with a warning its config test fails on.
        The total here is of the weights the inventory gives, drained real servers counted with theirs: a drain
        lowers the live total, and the role's config test lets that warning alone through."""
        quorum, hysteresis = service.get("quorum", 1), service.get("hysteresis", 0)
        if quorum < 1:
            self.error(f"{path}.quorum: {quorum} must be 1 or more")
            return
        total = sum(self.read_real_server_vars(entry["host"]).get("realserver_weight", 1) for entry in real_servers)
        if real_servers and quorum > total:
            self.error(f"{path}.quorum: {quorum} is more than the real servers' total weight {total}; keepalived would "
                       "lower it to the total")
        if not 0 <= hysteresis < quorum:
            self.error(f"{path}.hysteresis: {hysteresis} must be 0 or more and below the quorum ({quorum})")

    def unique_service(self, path, protocol, vip, port, fwmark, family):
        """Whether the service at PATH is the only one with its identity (ServiceKey): two entries the kernel
        and keepalived take as one service would be rendered as two virtual_server blocks of one service."""
        if fwmark is None and not (isinstance(port, int) and protocol in PROTOCOLS) \
                or fwmark is not None and not (isinstance(fwmark, int) and fwmark >= 1):
            return True  # its port, protocol or fwmark is an error already
        key = str(ServiceKey.make(protocol, str(vip), port, fwmark, "ipv6" if family == "inet6" else "ipv4"))
        if key in self.service_paths:
            self.error(f"{path}: {key} is the same service as {self.service_paths[key]}; the kernel and keepalived "
                       "have one service per address, port and protocol (or fwmark): make them one entry")
            return False
        self.service_paths[key] = path
        return True

    def fwmark_rule(self, path, service, vip, fwmark, protocol):
        """The packet-filter match that gives a fwmark service's packets their mark."""
        family = "inet6" if vip.version == 6 else "inet"
        owner = self.fwmark_owners.setdefault((family, fwmark), path)
        if owner != path:
            self.error(f"{path}.fwmark: {fwmark} is already the mark of {owner}; "
                       "one mark per virtual server and address family")
        if self.settings.get("packet_filter", "nftables") == "none":
            return
        match = service.get("fwmark_match")
        if not isinstance(match, dict) or not match.get("ports"):
            self.error(f"{path}.fwmark_match: required for a fwmark service: the ports whose packets to "
                       f"{vip} get mark {fwmark}, e.g. {{ports: [80, 443]}} (or set director_packet_filter "
                       "to none and set the marks yourself)")
            return
        match_protocol = str(match.get("protocol", protocol)).lower()
        if match_protocol not in PROTOCOLS:
            self.error(f"{path}.fwmark_match.protocol: {match_protocol!r} must be one of {', '.join(PROTOCOLS)}")
        ports = []
        for port in match["ports"]:
            bounds = str(port).split("-")
            if (len(bounds) > 2 or not all(bound.isdigit() and 1 <= int(bound) <= 65535 for bound in bounds)
                    or int(bounds[0]) > int(bounds[-1])):
                self.error(f"{path}.fwmark_match.ports: {port!r} must be a port 1-65535 or a range like 8000-8099")
                continue
            ports.append([int(bound) for bound in bounds])
        # iptables' multiport match takes 15 ports, a range counting as two.
        if sum(len(bounds) for bounds in ports) > 15:
            self.error(f"{path}.fwmark_match.ports: more than 15 ports (a range counts as two); "
                       "split them over ranges or services")
        self.fwmark_rules.append({"family": family, "vip": str(vip), "protocol": match_protocol,
                                  "ports": ["-".join(str(bound) for bound in bounds) for bounds in ports],
                                  "mark": fwmark})

    def vrrp_vip(self, index, entry):
        """A VIP VRRP moves without any IPVS service (e.g. nginx on the directors themselves)."""
        path = f"director_vrrp_vips[{index}]"
        if not isinstance(entry, dict):
            self.error(f"{path}: must be a mapping (vip, interface, master), not {entry!r}")
            return
        self.known_keys(path, entry, self.spec_keys("vrrp_vip_keys", "director_vrrp_vips"))
        entry = self.typed(path, entry, "director_vrrp_vips")
        if entry is None:
            return
        vip = self.vip(path, entry.get("vip"))
        master = self.master(path, entry)
        if vip is None or master is None:
            return
        family = "inet6" if vip.version == 6 else "inet"
        interface = entry.get("interface", self.settings.get("interface"))
        instance = self.instance(interface, family, master, "service", entry.get("virtual_router_id"), path,
                                 entry.get("priorities"))
        vip_entry = {"address": str(vip), "prefix": entry.get("prefix", 128 if family == "inet6" else 32),
                     "label": self.label(entry.get("label"), interface, f"{path}.label")}
        self.hold(instance, vip_entry, f"{path}.vip", "; give it one master and interface")

    def gateway(self, service, path, family, master, public):
        address = _address(service.get("gateway"))
        if address is None:
            self.error(f"{path}.gateway: a NAT service needs the real servers' floating gateway VIP "
                       f"(an IP address on the directors' private side), got {service.get('gateway')!r}")
            return None
        if _special(address):
            self.error(f"{path}.gateway: {service.get('gateway')!r} is a {_special(address)} address; the gateway is a "
                       "unicast address on the directors' private side")
            return None
        interface = service.get("gateway_interface", self.settings.get("gateway_interface"))
        if not interface:
            self.error(f"{path}.gateway_interface: required for NAT (or set director_gateway_interface)")
            return None
        gw_family = "inet6" if address.version == 6 else "inet"
        instance = self.instance(interface, gw_family, master, "gateway", service.get("gateway_router_id"), path)
        entry = {"address": str(address), "prefix": 128 if gw_family == "inet6" else 32, "label": None}
        self.hold(instance, entry, f"{path}.gateway",
                  ". A NAT real server sends every reply to its one gateway, so the replies of the other master's "
                  "VIPs would reach a director without their connections. Give every NAT service with this gateway "
                  "the same master, or serve the other master's VIPs by DR")
        group = self.sync_groups.setdefault(master, {"name": _slug("VG", master), "instances": []})
        for name in (public["name"], instance["name"]):
            if name not in group["instances"]:
                group["instances"].append(name)
        return str(address)

    def host_setup(self, host, method, vip, tunnel_type, gateway):
        setup = self.host(host)
        key = {"dr": "dr_vips", "tun": "tun_vips"}.get(method)
        if key and vip not in setup[key]:
            setup[key].append(vip)
        if method == "tun" and tunnel_type not in setup["tunnel_types"]:
            setup["tunnel_types"].append(tunnel_type)
        if gateway and gateway not in setup["gateways"]:
            setup["gateways"].append(gateway)

    def check(self, given, path):
        if given is not None and not isinstance(given, dict):
            self.error(f"{path}.health_check: must be a mapping such as {{type: HTTP_GET, path: /}}, not {given!r}")
            return None
        check = dict(given or {"type": "TCP_CHECK"})
        kind = check.pop("type", "TCP_CHECK")
        if kind not in CHECKERS:
            self.error(f"{path}.health_check.type: {kind!r} must be one of {', '.join(CHECKERS)}")
            return None
        allowed, required = CHECKERS[kind]
        self.in_ranges(f"{path}.health_check", check, CHECK_RANGES)
        for key in sorted(set(check) - set(allowed), key=str):
            if key in CHECK_SEED_KEYWORDS:
                self.error(f"{path}.health_check.{key}: keepalived's keyword, not this inventory's; use "
                           f"{CHECK_SEED_KEYWORDS[key]}")
            else:
                self.error(f"{path}.health_check.{key}: not an option of {kind} (allowed: {', '.join(allowed) or 'none'})")
        for key in required:
            if key not in check and not (key == "path" and check.get("urls")):
                self.error(f"{path}.health_check.{key}: required for {kind}")
        if kind in ("HTTP_GET", "SSL_GET"):
            urls = check.pop("urls", None) or [{key: check[key] for key in URL_OPTIONS if key in check}]
            for key in URL_OPTIONS:
                check.pop(key, None)
            for url in urls:
                url.setdefault("status_code", 200 if "digest" not in url else None)
            check["urls"] = urls
        if kind == "DNS_CHECK" and "query_type" in check:
            check["type"] = check.pop("query_type")
        if kind == "FILE_CHECK":
            check["track_file"] = self.track_file(check.pop("file"), path) if "file" in check else None
        if kind == "MISC_CHECK":
            check.setdefault("misc_timeout", 5)
        elif kind not in ("FILE_CHECK", "BFD_CHECK", "none"):
            for key, value in CHECK_DEFAULTS.items():
                check.setdefault(key, value)
        return {"type": kind, "options": check}

    def track_file(self, file, path):
        if not file.startswith("/") or "/../" in f"{file}/":
            self.error(f"{path}.health_check.file: {file!r} must be an absolute path without '..' (keepalived "
                       "resolves it as it reads its configuration, and the role makes its directory)")
        name = _slug("lvs_file", len(self.track_files))
        for existing in self.track_files:
            if existing["file"] == file:
                return existing["name"]
        self.track_files.append({"name": name, "file": file})
        return name

    def own_addresses(self):
        """Every inventory host's own address the model knows (ansible_host, realserver_address(6),
        director_unicast_addresses) -> (host, variable)."""
        owners = {}
        for host in self.directors:
            host_vars = self.hostvars.get(host, {})
            given = [("ansible_host", host_vars.get("ansible_host"))]
            given += [("director_unicast_addresses", value) for value in host_vars.get("director_unicast_addresses") or []]
            for variable, value in given:
                address = _address(value)
                if address is not None:
                    owners.setdefault(str(address), (host, variable))
        for host, host_vars in self.real_server_vars.items():
            for variable in ("ansible_host", "realserver_address", "realserver_address6"):
                address = _address(host_vars.get(variable))
                if address is not None:
                    owners.setdefault(str(address), (host, variable))
        return owners

    def check_addresses(self):
        """A VIP or gateway that is a host's own address would be added a second time, on another host, by
        VRRP; a real server of NAT and of DR or TUN services routes its DR/TUN replies, sent from the VIP,
        to the NAT gateway, which a director that holds that VIP does not forward (their source is its own)."""
        owners = self.own_addresses()
        for address, holder in self.held.items():
            if address in owners:
                host, variable = owners[address]
                self.error(f"{holder['path']}: {address} is {host}'s own address (hostvars[{host}].{variable}); a VIP or "
                           "gateway is an address of its own that VRRP moves between the directors")
        for host, setup in sorted(self.hosts.items()):
            if setup["gateways"] and (setup["dr_vips"] or setup["tun_vips"]):
                self.error(f"hostvars[{host}]: a real server of NAT services (gateway {', '.join(setup['gateways'])}) "
                           f"and of DR or TUN services ({', '.join(setup['dr_vips'] + setup['tun_vips'])}) at once: its "
                           "default route through the NAT gateway would carry the DR/TUN replies, sent from the VIP, to "
                           "a director that does not forward them; put it in services of one kind")

    def result(self, checks=True):
        """The model and its errors; CHECKS: the checks across services too (not on inputs of the wrong type)."""
        if checks:
            self.check_router_ids()
            self.check_addresses()
        return {"errors": self.errors, "vrrp_instances": list(self.instances.values()),
                "sync_groups": list(self.sync_groups.values()), "virtual_servers": self.virtual_servers,
                "track_files": self.track_files, "bfd_instances": self.bfd_instances,
                "fwmark_rules": self.fwmark_rules,
                "real_server_hosts": self.hosts,
                "forwarding": any(vs["method"] == "NAT" for vs in self.virtual_servers)}


def cluster_model(services, directors, groups, hostvars, settings=None):
    # A setting given as null (`director_vrrp_advert_int:` with nothing after it) is one not given.
    settings = {name: value for name, value in (settings or {}).items() if value is not None}
    builder = _Builder(directors, groups, hostvars, settings)
    if not builder.directors:
        builder.error(f"groups.{settings.get('directors_group', 'lvs_directors')}: no directors in the inventory")
    if settings.get("spec"):
        if not builder.typed_inputs(settings["spec"]):
            return builder.result(checks=False)
        settings = builder.settings = {
            name: conformed(value, settings["spec"].get(SETTING_VARIABLES.get(name), {"type": "raw"}))
            for name, value in settings.items()}
    version = settings.get("vrrp_version", 3)
    auth_pass = settings.get("auth_pass") or ""
    if version == 2 and len(auth_pass) > 8:
        builder.error("director_vrrp_auth_pass: longer than 8 characters; keepalived would silently cut it")
    advert_int = settings.get("advert_int", 1)
    if version == 2 and float(advert_int) != int(float(advert_int)):
        builder.error(f"director_vrrp_advert_int: {advert_int} is not whole seconds; VRRP v2 needs whole seconds "
                      "(use director_vrrp_version 3 for sub-second adverts)")
    if settings.get("spec"):
        builder.cluster_wide(settings["spec"])
    builder.lvs_timeouts(settings.get("lvs_timeouts"))
    if settings.get("mode") == "static" and settings.get("lvs_sync_daemon"):
        builder.error("director_lvs_sync_daemon: director_mode is static, and without keepalived nothing starts the "
                      "sync daemon or follows the VIP with it; leave it false, or use director_mode: keepalived")
    for index, service in enumerate(services or []):
        if builder.directors:
            builder.service(index, service)
    for index, vip in enumerate(settings.get("vrrp_vips") or []):
        if builder.directors:
            builder.vrrp_vip(index, vip)
    return builder.result()


def static_held_vips(model, director):
    """The addresses a static DIRECTOR holds (its instances' VIPs, gateways too), as lvs.cluster.vip_addresses
    takes them: "ADDRESS/PREFIX dev INTERFACE [label LABEL]"."""
    return [str(Held(vip["address"], vip["prefix"], instance["interface"], vip["label"]))
            for instance in model["vrrp_instances"] if instance["master"] == director for vip in instance["vips"]]


def ipvs_table_services(model):
    """The model's virtual servers as lvs.cluster.ipvs_table services (static directors)."""
    services = []
    for vs in model["virtual_servers"]:
        method = vs["method"].lower()
        service = {"protocol": vs["protocol"].lower(), "scheduler": vs["scheduler"],
                   "scheduler_flags": vs["scheduler_flags"], "persistent": vs["persistence_timeout"],
                   "ops": "ops" in vs["flags"], "real_servers": []}
        if vs["fwmark"] is not None:
            service.update(fwmark=vs["fwmark"], family="ipv6" if vs["family"] == "inet6" else "ipv4")
        else:
            service.update(address=vs["vip"], port=vs["port"])
        if vs["persistence_granularity"]:
            service["netmask"] = str(vs["persistence_granularity"])
        for rs in vs["real_servers"]:
            destination = {"address": rs["address"], "forwarding": method, "weight": rs["weight"],
                           "upper_threshold": rs.get("uthreshold", 0), "lower_threshold": rs.get("lthreshold", 0)}
            if method == "nat":
                destination["port"] = vs["real_server_port"]
            if method == "tun":
                destination["tun_type"] = vs["tunnel_type"]
                if vs["tunnel_type"] == "gue":
                    destination["tun_port"] = vs["tunnel_port"]
            service["real_servers"].append(destination)
        services.append(service)
    return services


def _service_label(service):
    """Label of an ipvs_table/ipvs_info service: its ServiceKey, the one definition of a service's identity
    (a fwmark service is one per address family)."""
    return str(ServiceKey.make(service["protocol"], service.get("address"), service.get("port"), service.get("fwmark"),
                               service.get("family")))


def _vs_label(vs):
    """Label of a model virtual server, the same as its ipvs_table service's."""
    return str(ServiceKey.make(vs["protocol"].lower(), vs["vip"], vs["port"], vs["fwmark"],
                               "ipv6" if vs["family"] == "inet6" else "ipv4"))


def _sorry_server(model, label):
    return next((vs["sorry_server"] for vs in model["virtual_servers"] if _vs_label(vs) == label), None)


def compare_ipvs(model, live_services):
    """Compares a live IPVS table (ipvs_info's services) with the model.

    Returns mismatches (what the live table has wrong) and failing_checks (real servers of the
    inventory missing from a live service that is otherwise right: keepalived took them out for
    failing their health checks, or has not checked them yet).
    """
    wanted = {_service_label(service): service for service in ipvs_table_services(model)}
    live = {_service_label(service): service for service in live_services}
    mismatches, failing = [], []
    for label in sorted(set(live) - set(wanted)):
        mismatches.append(f"{label}: live but not in the inventory")
    for label in sorted(set(wanted) - set(live)):
        mismatches.append(f"{label}: in the inventory but not live")
    for label in sorted(set(wanted) & set(live)):
        want, have = wanted[label], live[label]
        if want["scheduler"] != have["scheduler"]:
            mismatches.append(f"{label}: scheduler {have['scheduler']}, inventory says {want['scheduler']}")
        if want["persistent"] != have["persistent"]:
            mismatches.append(f"{label}: persistence {have['persistent']}, inventory says {want['persistent']}")
        want_rs = {rs["address"]: rs for rs in want["real_servers"]}
        have_rs = {rs["address"]: rs for rs in have["real_servers"]}
        sorry = _sorry_server(model, label)
        for address in sorted(set(have_rs) - set(want_rs)):
            if not (sorry and sorry["address"] == address):
                mismatches.append(f"{label}: real server {address} is live but not in the inventory")
        for address in sorted(set(want_rs) - set(have_rs)):
            failing.append(f"{label}: real server {address} is out (failing its health check)")
        for address in sorted(set(want_rs) & set(have_rs)):
            if want_rs[address]["forwarding"] != have_rs[address]["forwarding"]:
                mismatches.append(f"{label}: real server {address} forwards by {have_rs[address]['forwarding']}, "
                                  f"inventory says {want_rs[address]['forwarding']}")
            if want_rs[address]["weight"] != have_rs[address]["weight"] and have_rs[address]["weight"] != 0:
                mismatches.append(f"{label}: real server {address} has weight {have_rs[address]['weight']}, "
                                  f"inventory says {want_rs[address]['weight']}")
    return {"mismatches": mismatches, "failing_checks": failing}


def departing_real_servers(model, live_services):
    """Live real servers of the model's services that the inventory no longer lists."""
    wanted = {_service_label(service): service for service in ipvs_table_services(model)}
    departing = []
    for service in live_services:
        label = _service_label(service)
        if label not in wanted:
            continue
        kept = {rs["address"] for rs in wanted[label]["real_servers"]}
        sorry = _sorry_server(model, label)
        for rs in service["real_servers"]:
            if rs["address"] not in kept and not (sorry and sorry["address"] == rs["address"]):
                departing.append({"service": label, "address": rs["address"], "port": rs.get("port")})
    return departing


def keep_departing(model, live_services):
    """The model with every departing real server kept at weight 0, so keepalived drains it."""
    departing = departing_real_servers(model, live_services)
    result = dict(model, virtual_servers=[])
    for vs in model["virtual_servers"]:
        label = _vs_label(vs)
        leaving = [{"host": f"departing_{rs['address']}", "address": rs["address"], "weight": 0}
                   for rs in departing if rs["service"] == label]
        result["virtual_servers"].append(dict(vs, real_servers=vs["real_servers"] + leaving))
    return result


VRRP_PROTOCOL = "112"
SYNC_DAEMON_PORT = "8848"
BFD_CONTROL_PORT = "3784"


def firewall_openings(model, director, vrrp=True, sync_daemon=False, sync_table_port=None):
    """What a director's host firewall must let through, per address family: VRRP from the other
    directors (from anywhere with multicast) unless the director runs without keepalived, the
    connection sync daemon and lvs-sync-table's requests on sync_table_port, BFD, the services on
    their VIPs, and the NAT real servers' replies it forwards."""
    openings = []

    def add(**opening):
        opening = {"chain": "input", "source": None, "destination": None, "protocol": None, "ports": [],
                   "source_ports": [], **opening}
        if opening not in openings:
            openings.append(opening)

    for instance in model["vrrp_instances"] if vrrp else []:
        peers = [address for host, address in sorted(instance["unicast"].items()) if host != director]
        for source in peers or [None]:
            add(family=instance["family"], protocol=VRRP_PROTOCOL, source=source)
    if vrrp and sync_daemon and model["vrrp_instances"]:
        add(family="inet", protocol="udp", ports=[SYNC_DAEMON_PORT] + ([str(sync_table_port)] if sync_table_port else []))
    if model["bfd_instances"]:
        for family in sorted({"inet6" if ":" in bfd["neighbor_ip"] else "inet" for bfd in model["bfd_instances"]}):
            add(family=family, protocol="udp", ports=[BFD_CONTROL_PORT])
    marks = {(rule["family"], rule["mark"]): rule for rule in model.get("fwmark_rules", [])}
    for vs in model["virtual_servers"]:
        if vs["fwmark"] is None:
            add(family=vs["family"], destination=vs["vip"], protocol=vs["protocol"].lower(), ports=[str(vs["port"])])
        elif (vs["family"], vs["fwmark"]) in marks:
            rule = marks[(vs["family"], vs["fwmark"])]
            add(family=vs["family"], destination=vs["vip"], protocol=rule["protocol"], ports=rule["ports"])
        else:
            # Marks set outside the role: which ports they cover is not known here.
            add(family=vs["family"], destination=vs["vip"])
        if vs["method"] == "NAT":
            replies = [(rs["address"], vs["real_server_port"]) for rs in vs["real_servers"]]
            if vs["sorry_server"]:
                replies.append((vs["sorry_server"]["address"], vs["sorry_server"]["port"]))
            for address, port in replies:
                add(chain="forward", family=vs["family"], source=address, protocol=vs["protocol"].lower(),
                    source_ports=[str(port)])
    return openings


def firewalld_rich_rules(openings):
    """firewalld rich rules for the input chain's OPENINGS (firewall_openings); forwarded NAT replies follow the
    zone's own policy."""
    rules = []
    for opening in openings:
        if opening["chain"] != "input":
            continue
        parts = [f'rule family="{"ipv6" if opening["family"] == "inet6" else "ipv4"}"']
        if opening.get("source"):
            parts.append(f'source address="{opening["source"]}"')
        if opening.get("destination"):
            parts.append(f'destination address="{opening["destination"]}"')
        if opening.get("ports"):
            rules.extend(" ".join([*parts, f'port port="{port}" protocol="{opening["protocol"]}" accept'])
                         for port in opening["ports"])
        elif opening.get("protocol"):
            protocol = "vrrp" if opening["protocol"] == "112" else opening["protocol"]
            rules.append(" ".join([*parts, f'protocol value="{protocol}" accept']))
        else:
            rules.append(" ".join([*parts, "accept"]))
    return rules


# `ip -o addr show`: each address a line names, as the director role's own-address variable reads them.
_LISTED_ADDRESS = re.compile(r"inet6? ([0-9a-f:.]+)/")


def _listed_addresses(listing):
    """The addresses an `ip -o addr show` LISTING names (none for a director that gave none)."""
    return set(_LISTED_ADDRESS.findall(listing or ""))


def vip_holding_faults(model, listings):
    """Every address the model's VRRP instances hold (VIPs and NAT gateways) that LISTINGS (director ->
    `ip -o addr show`, one per director of the play) show on no director or on more than one, as a
    sentence naming who holds it and which director masters it."""
    listed = {director: _listed_addresses(listing) for director, listing in listings.items()}
    faults = []
    for instance in model["vrrp_instances"]:
        for vip in instance["vips"]:
            holders = sorted(director for director, addresses in listed.items() if vip["address"] in addresses)
            if len(holders) != 1:
                held = f"held by {' and '.join(holders)}" if holders else "held by no director of this run"
                faults.append(f"{vip['address']} ({instance['name']}, master {instance['master']}): {held}")
    return faults


def sync_group_splits(model, listings):
    """The model's sync groups (a NAT master's VIPs and its real servers' gateway) whose addresses LISTINGS
    (director -> `ip -o addr show`) show on more than one director: replies through the gateway would reach
    a director without the connections of the VIPs held elsewhere."""
    instances = {instance["name"]: instance for instance in model["vrrp_instances"]}
    listed = {director: _listed_addresses(listing) for director, listing in listings.items()}
    splits = []
    for group in model["sync_groups"]:
        held = {}
        for name in group["instances"]:
            for vip in instances[name]["vips"]:
                for director, addresses in listed.items():
                    if vip["address"] in addresses:
                        held.setdefault(director, []).append(vip["address"])
        if len(held) > 1:
            where = "; ".join(f"{', '.join(addresses)} on {director}" for director, addresses in sorted(held.items()))
            splits.append(f"sync group {group['name']} is split: {where}; the real servers' replies through the "
                          "gateway reach a director without the connections of the VIPs held elsewhere")
    return splits


def drain_left(live_services, own_addresses, held_fwmarks, draining):
    """The DRAINING real servers (addresses) with active connections left in a LIVE_SERVICES service (ipvs_info,
    with stats) whose VIP this director holds: one of OWN_ADDRESSES, or a fwmark of HELD_FWMARKS."""
    left = []
    for service in live_services:
        if service.get("address", "") not in own_addresses and service.get("fwmark") not in held_fwmarks:
            continue
        left.extend(rs["address"] for rs in service["real_servers"]
                    if rs["address"] in draining and rs["active_connections"] > 0)
    return list(dict.fromkeys(left))


def playbook_group_mismatches(groups: dict, hostvars: Any, playbook_groups: dict) -> list[str]:
    """Each group variable (PLAYBOOK_GROUPS: variable -> the group the collection's playbooks run on) that some
    host sets to a group holding other hosts than the playbooks' group, or to no group, as a sentence; once per
    variable and value. The playbooks would set up hosts the roles do not count, or skip hosts they do."""
    named = []
    for host in groups.get("all", []):
        host_vars = hostvars[host]
        for variable, playbook_group in playbook_groups.items():
            if variable in host_vars and (variable, host_vars[variable], playbook_group) not in named:
                named.append((variable, host_vars[variable], playbook_group))
    mismatches = []
    for variable, group, playbook_group in named:
        if not isinstance(group, str) or group not in groups:
            mismatches.append(f"{variable}: there is no group {group} (the playbooks run on group {playbook_group})")
            continue
        only_named = sorted(set(groups[group]) - set(groups.get(playbook_group, [])))
        only_playbook = sorted(set(groups.get(playbook_group, [])) - set(groups[group]))
        where = ([f"only in {group}: {', '.join(only_named)}"] if only_named else []) + (
            [f"only in {playbook_group}: {', '.join(only_playbook)}"] if only_playbook else [])
        if where:
            mismatches.append(f"{variable}: group {group} holds other hosts than group {playbook_group}, which the "
                              f"playbooks run on ({'; '.join(where)})")
    return mismatches


def unserved_services(model):
    """Names of the virtual servers no real server would serve: every one at weight 0 or none at all,
    and no sorry server."""
    return [vs["name"] for vs in model["virtual_servers"]
            if not vs["sorry_server"] and not any(rs["weight"] > 0 for rs in vs["real_servers"])]


class FilterModule:
    def filters(self):
        return {"cluster_model": cluster_model, "ipvs_table_services": ipvs_table_services,
                "compare_ipvs": compare_ipvs, "departing_real_servers": departing_real_servers,
                "keep_departing": keep_departing, "unserved_services": unserved_services,
                "firewall_openings": firewall_openings, "static_held_vips": static_held_vips,
                "firewalld_rich_rules": firewalld_rich_rules, "vip_holding_faults": vip_holding_faults, "drain_left": drain_left,
                "sync_group_splits": sync_group_splits, "playbook_group_mismatches": playbook_group_mismatches}
