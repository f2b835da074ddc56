# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ipvs_* modules share: argument specs, input checks, running ipvsadm, applying a plan."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import asdict, replace

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_listing import parse_listing
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    SCHEDULER_FLAGS,
    SCHEDULERS,
    Destination,
    Service,
    ServiceKey,
    parse_save,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_plan import Plan, failed_operations

SERVICE_KEY_OPTIONS = {
    "protocol": {"type": "str", "choices": ["tcp", "udp", "sctp"], "default": "tcp"},
    "address": {"type": "str"},
    "port": {"type": "int"},
    "fwmark": {"type": "int"},
    "family": {"type": "str", "choices": ["ipv4", "ipv6"]},
}
SERVICE_SETTING_OPTIONS = {
    "scheduler": {"type": "str", "choices": [s for s in SCHEDULERS if s != "twos"], "default": "wlc"},
    "scheduler_flags": {"type": "list", "elements": "str", "choices": list(SCHEDULER_FLAGS), "default": []},
    "persistent": {"type": "int", "default": 0},
    "netmask": {"type": "str"},
    "pe": {"type": "str", "choices": ["sip"]},
    "ops": {"type": "bool", "default": False},
}
REAL_SERVER_OPTIONS = {
    "address": {"type": "str", "required": True},
    "port": {"type": "int"},
    "forwarding": {"type": "str", "choices": ["dr", "nat", "tun"], "default": "dr"},
    "weight": {"type": "int", "default": 1},
    "upper_threshold": {"type": "int", "default": 0},
    "lower_threshold": {"type": "int", "default": 0},
    "tun_type": {"type": "str", "choices": ["ipip", "gue", "gre"]},
    "tun_port": {"type": "int"},
    "tun_checksum": {"type": "str", "choices": ["nocsum", "csum", "remcsum"]},
}
REAL_SERVERS_OPTION = {"type": "list", "elements": "dict", "options": REAL_SERVER_OPTIONS}

INSTALL_HINT = "install the ipvsadm package (Debian/Ubuntu: apt-get install ipvsadm; RHEL family: dnf install ipvsadm)"
NO_IPVS_HINT = ("this kernel has no IPVS: load it with 'modprobe ip_vs' (and the scheduler modules you use), "
                "or use a kernel built with CONFIG_IP_VS")


# --------------------------------------------------------------------------- input checks

def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value) if value is not None else None
    except ValueError:
        return None


def service_key_errors(params: dict, path: str) -> list[str]:
    """Problems with how a service is identified; each names the option."""
    errors = []
    if params.get("fwmark") is not None:
        if not 1 <= params["fwmark"] <= 0xFFFFFFFF:
            errors.append(f"{path}fwmark: {params['fwmark']} is not a firewall mark (1-4294967295)")
        if params.get("port") is not None:
            errors.append(f"{path}port: a fwmark service has no port (the mark selects the traffic)")
        if params.get("address") is not None:
            errors.append(f"{path}address: a fwmark service has no address; give family for IPv6")
        return errors
    if params.get("family") is not None:
        errors.append(f"{path}family: only for fwmark services; an address service takes its family from address")
    if params.get("address") is None:
        errors.append(f"{path}address: required unless fwmark is given")
    elif _ip(params["address"]) is None:
        errors.append(f"{path}address: {params['address']!r} is not an IPv4 or IPv6 address")
    if params.get("port") is None:
        errors.append(f"{path}port: required unless fwmark is given")
    elif not 1 <= params["port"] <= 65535:
        errors.append(f"{path}port: {params['port']} is out of range (1-65535)")
    return errors


def service_setting_errors(params: dict, path: str, family: str) -> list[str]:
    errors = []
    if params.get("persistent", 0) < 0:
        errors.append(f"{path}persistent: {params['persistent']} must be 0 (off) or a timeout in seconds")
    netmask = params.get("netmask")
    if netmask is not None:
        if not params.get("persistent"):
            errors.append(f"{path}netmask: persistence granularity needs persistent > 0")
        elif family == "ipv6" and not (netmask.lstrip("/").isdigit() and 1 <= int(netmask.lstrip("/")) <= 128):
            errors.append(f"{path}netmask: {netmask!r} must be a prefix length 1-128 for an IPv6 service")
        elif family == "ipv4" and not _is_ipv4_netmask(netmask):
            errors.append(f"{path}netmask: {netmask!r} must be a dotted netmask such as 255.255.255.0")
    if params.get("pe") and not params.get("persistent"):
        errors.append(f"{path}pe: a persistence engine needs persistent > 0")
    flags = params.get("scheduler_flags") or []
    scheduler = params.get("scheduler", "wlc")
    for flag in flags:
        if not flag.startswith(f"{scheduler}-"):
            errors.append(f"{path}scheduler_flags: {flag} is a flag of the {flag.split('-')[0]} scheduler, not {scheduler}")
    if params.get("ops") and params.get("protocol") not in ("udp", None) and params.get("fwmark") is None:
        errors.append(f"{path}ops: one-packet scheduling is for UDP services only")
    return errors


def _is_ipv4_netmask(text: str) -> bool:
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen > 0 and text.count(".") == 3
    except ValueError:
        return False


def real_server_errors(params: dict, path: str, key: ServiceKey | None) -> list[str]:
    errors = []
    address = _ip(params.get("address"))
    if address is None:
        errors.append(f"{path}address: {params.get('address')!r} is not an IPv4 or IPv6 address")
    forwarding = params.get("forwarding", "dr")
    port = params.get("port")
    if port is not None and not 0 <= port <= 65535:
        errors.append(f"{path}port: {port} is out of range (0-65535)")
    if params.get("weight", 1) < 0:
        errors.append(f"{path}weight: {params['weight']} is negative; 0 (drain) or more is allowed")
    for name in ("upper_threshold", "lower_threshold"):
        if params.get(name, 0) < 0:
            errors.append(f"{path}{name}: {params[name]} is negative; 0 means no threshold")
    tunnel_options = [name for name in ("tun_type", "tun_port", "tun_checksum") if params.get(name) is not None]
    if tunnel_options and forwarding != "tun":
        errors.append(f"{path}{tunnel_options[0]}: tunnel options need forwarding: tun (it is {forwarding})")
    if params.get("tun_type") == "ipip" and (params.get("tun_port") is not None or params.get("tun_checksum")):
        errors.append(f"{path}tun_port: ipip tunnels take no port or checksum options; use tun_type gue or gre")
    if params.get("tun_type") == "gue" and params.get("tun_port") is None:
        errors.append(f"{path}tun_port: a gue tunnel needs the real server's GUE (fou) port")
    if params.get("tun_port") is not None and params.get("tun_type") == "gre":
        errors.append(f"{path}tun_port: gre tunnels have no port")
    if key is not None and address is not None:
        family = "ipv6" if address.version == 6 else "ipv4"
        if family != key.family and forwarding != "tun":
            errors.append(f"{path}address: an {family} real server for an {key.family} service needs forwarding: tun")
        if forwarding in ("dr", "tun") and port not in (None, key.port):
            errors.append(f"{path}port: {port} differs from the service port {key.port}; with forwarding "
                          f"{forwarding} the real server receives the service port (leave port out)")
    return errors


def service_errors(params: dict, path: str) -> tuple[ServiceKey | None, list[str]]:
    """A whole service's problems (identity, settings, each real server), and its key if it has one."""
    errors = service_key_errors(params, path)
    if errors:
        return None, errors
    key = service_key_from(params)
    errors += service_setting_errors(params, path, key.family)
    for index, real_server in enumerate(params.get("real_servers") or []):
        errors += real_server_errors(real_server, f"{path}real_servers[{index}].", key)
    return key, errors


def collect_errors(module, errors: list[str]) -> None:
    """Fails before anything is changed, listing every problem found."""
    if errors:
        module.fail_json(msg="invalid arguments: " + "; ".join(errors), errors=errors)


# --------------------------------------------------------------------------- params to model

def service_key_from(params: dict) -> ServiceKey:
    return ServiceKey.make(protocol=params.get("protocol") or "tcp", address=params.get("address"),
                           port=params.get("port"), fwmark=params.get("fwmark"), family=params.get("family"))


def destination_from(params: dict, key: ServiceKey) -> Destination:
    port = params.get("port")
    if port is None or params.get("forwarding", "dr") in ("dr", "tun"):
        port = key.port
    return Destination(
        address=str(ipaddress.ip_address(params["address"])), port=port, forwarding=params.get("forwarding") or "dr",
        weight=params.get("weight", 1), upper_threshold=params.get("upper_threshold") or 0,
        lower_threshold=params.get("lower_threshold") or 0, tun_type=params.get("tun_type") or "",
        tun_port=params.get("tun_port") or 0, tun_checksum=params.get("tun_checksum") or "",
    ).normalized()


def service_from(params: dict, real_servers: list[dict] | None = None) -> Service:
    key = service_key_from(params)
    destinations = tuple(destination_from(rs, key) for rs in (real_servers or []))
    return Service(key=key, scheduler=params.get("scheduler") or "wlc",
                   scheduler_flags=tuple(params.get("scheduler_flags") or ()),
                   persistent=params.get("persistent") or 0, netmask=params.get("netmask") or "",
                   pe=params.get("pe") or "", ops=bool(params.get("ops")), destinations=destinations)


def service_to_dict(service: Service) -> dict:
    key = service.key
    data = {"protocol": key.protocol, "family": key.family}
    if key.protocol == "fwmark":
        data.update(fwmark=key.fwmark)
    else:
        data.update(address=key.address, port=key.port)
    settings = service.settings()
    data.update(scheduler=settings.scheduler, scheduler_flags=list(settings.scheduler_flags),
                persistent=settings.persistent, netmask=settings.netmask or None, pe=settings.pe or None,
                ops=settings.ops)
    data["real_servers"] = [asdict(dest.normalized()) for dest in service.destinations]
    return data


def table_from_outputs(saved: str, thresholds_listing: str) -> tuple[list[Service], list[str]]:
    """The live table from `ipvsadm -S -n` and `ipvsadm -L -n --thresholds --exact`, which has the thresholds
    -S leaves out; and the lines of either that no parser understood."""
    services, unknown = parse_save(saved)
    thresholds, unknown_listing = parse_listing(thresholds_listing)
    merged = []
    for service in services:
        live = thresholds.get(service.key, {}).get("destinations", {})
        destinations = tuple(
            replace(dest, upper_threshold=live.get(dest.key, {}).get("upper_threshold", 0),
                    lower_threshold=live.get(dest.key, {}).get("lower_threshold", 0))
            for dest in service.destinations)
        merged.append(replace(service, destinations=destinations))
    return merged, unknown + unknown_listing


def services_with_counters(table: list[Service], live: dict, extra: dict[str, dict] | None = None) -> list[dict]:
    """The table as ipvs_info returns it: each service as data, each real server with its connection counters
    from LIVE (`ipvsadm -L -n --exact`, parsed), and any EXTRA listings (name to parsed listing) beside them."""
    extra = extra or {}
    services = []
    for service in sorted(table, key=lambda s: s.key):
        data = service_to_dict(service)
        for name, listing in extra.items():
            data[name] = {k: v for k, v in listing.get(service.key, {}).items() if k != "destinations"}
        for real_server in data["real_servers"]:
            dest_key = (real_server["address"], real_server["port"])
            counters = live.get(service.key, {}).get("destinations", {}).get(dest_key, {})
            real_server["active_connections"] = counters.get("active_connections", 0)
            real_server["inactive_connections"] = counters.get("inactive_connections", 0)
            for name, listing in extra.items():
                real_server[name] = listing.get(service.key, {}).get("destinations", {}).get(dest_key, {})
        services.append(data)
    return services


# --------------------------------------------------------------------------- ipvsadm

class Ipvsadm:
    """Runs ipvsadm (numeric output, C locale, argv lists) and turns its failures into clear messages."""

    def __init__(self, module) -> None:
        self.module = module
        self.binary = module.get_bin_path("ipvsadm")
        if self.binary is None:
            module.fail_json(msg=f"ipvsadm was not found on this host: {INSTALL_HINT}")

    def run(self, args: list[str], data: str | None = None, check: bool = True) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command([self.binary, *args], data=data, binary_data=data is not None,
                                               environ_update={"LC_ALL": "C", "LANG": "C"})
        if "Protocol not available" in err or "Can't initialize ipvs" in err:
            self.module.fail_json(msg=f"{NO_IPVS_HINT}. ipvsadm said: {err.strip()}", rc=rc)
        if check and rc != 0:
            self.module.fail_json(msg=f"ipvsadm {' '.join(args)} failed: {err.strip() or out.strip()}", rc=rc,
                                  stdout=out, stderr=err)
        return rc, out, err

    def read_table(self) -> list[Service]:
        """The live table: ipvsadm -S for everything it saves, -L --thresholds for what -S leaves out."""
        _rc, saved, _err = self.run(["-S", "-n"])
        _rc, listed, _err = self.run(["-L", "-n", "--thresholds", "--exact"])
        table, unknown = table_from_outputs(saved, listed)
        for line in unknown:
            self.module.warn(f"ipvsadm printed a line this module does not understand (ignored): {line!r}")
        return table

    def listing(self, *variant: str) -> dict[ServiceKey, dict]:
        _rc, out, _err = self.run(["-L", "-n", "--exact", *variant])
        parsed, unknown = parse_listing(out)
        for line in unknown:
            self.module.warn(f"ipvsadm printed a line this module does not understand (ignored): {line!r}")
        return parsed

    def apply(self, plan: Plan) -> list[Service]:
        """Applies the whole plan as one ipvsadm -R batch and confirms it took effect.

        ipvsadm -R goes on past a failing line and exits with the status of the last
        one, so its exit code alone proves nothing: the table is read again and every
        operation whose effect is missing is reported, with what ipvsadm said.
        """
        batch = "".join(f"{line}\n" for line in plan.lines)
        rc, _out, err = self.run(["-R"], data=batch, check=False)
        table = self.read_table()
        failed = failed_operations(plan, table)
        if failed:
            self.module.fail_json(
                msg=(f"ipvsadm -R applied {len(plan.operations) - len(failed)} of {len(plan.operations)} changes; "
                     f"these did not take effect: {'; '.join(op.line for op in failed)}. "
                     f"ipvsadm said: {err.strip() or '(nothing)'}"),
                failed_commands=[op.line for op in failed], commands=plan.lines, rc=rc, stderr=err, changed=True)
        return table


def keepalived_manages(key: ServiceKey) -> bool:
    """Whether a running keepalived's configuration declares this virtual service."""
    if not any(_comm(pid) == "keepalived" for pid in os.listdir("/proc") if pid.isdigit()):
        return False
    if key.protocol == "fwmark":
        pattern = re.compile(rf"virtual_server\s+fwmark\s+{key.fwmark}\b")
    else:
        pattern = re.compile(rf"virtual_server\s+{re.escape(key.address)}\s+{key.port}\b")
    for path in _keepalived_config_files():
        try:
            with open(path, encoding="utf-8", errors="replace") as config:
                if pattern.search(config.read()):
                    return True
        except OSError:
            continue
    return False


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def _keepalived_config_files() -> list[str]:
    files = ["/etc/keepalived/keepalived.conf"]
    for directory in ("/etc/keepalived/conf.d", "/etc/keepalived"):
        if os.path.isdir(directory):
            files += [os.path.join(directory, name) for name in sorted(os.listdir(directory)) if name.endswith(".conf")]
    return sorted(set(files))


def plan_result(module, plan: Plan, header: str) -> dict:
    """A changing module's result for PLAN: the commands and changes as data, --diff, and a
    warning for services a running keepalived manages."""
    result = {"changed": plan.changed, "commands": plan.lines, "changes": plan.summary()}
    if module._diff:
        result["diff"] = plan.diff(header)
    if plan.changed:
        warn_if_keepalived(module, sorted({operation.key for operation in plan.operations}))
    return result


def warn_if_keepalived(module, keys: list[ServiceKey]) -> None:
    for key in keys:
        if keepalived_manages(key):
            module.warn(f"keepalived on this host manages {key}: its own view of the service wins on its next "
                        "reload or health check, so change it in keepalived.conf instead")
