"""Parsers against ipvsadm 1.31 output captured from the lab kernel (tests/unit/fixtures/ipvsadm)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_listing import (
    parse_connections,
    parse_daemons,
    parse_listing,
    parse_timeouts,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import (
    Destination,
    ServiceKey,
    parse_save,
    save_lines,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ipvsadm"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def test_save_parses_every_line_of_a_varied_table() -> None:
    services, unknown = parse_save(fixture("save"))
    assert unknown == []
    assert len(services) == 14
    by_key = {service.key: service for service in services}
    persistent = by_key[ServiceKey.make(address="198.18.1.51", port=3306)]
    assert (persistent.scheduler, persistent.persistent, persistent.netmask) == ("wrr", 120, "255.255.255.0")
    tunnels = persistent.destination_map()
    assert tunnels[("198.18.2.21", 3306)] == Destination("198.18.2.21", 3306, "tun", 1)
    assert tunnels[("198.18.2.23", 3306)].tun_type == "gue"
    assert tunnels[("198.18.2.23", 3306)].tun_port == 6080
    assert tunnels[("198.18.2.23", 3306)].tun_checksum == "csum"
    assert tunnels[("198.18.2.24", 3306)].tun_checksum == "nocsum"
    assert by_key[ServiceKey.make(address="198.18.1.52", port=443)].scheduler_flags == ("sh-fallback", "sh-port")
    assert by_key[ServiceKey.make(protocol="udp", address="198.18.1.50", port=9999)].ops is True
    assert by_key[ServiceKey.make(protocol="udp", address="198.18.1.54", port=5060)].pe == "sip"
    nat = by_key[ServiceKey.make(protocol="udp", address="198.18.1.50", port=9999)].destination_map()
    assert nat[("198.18.2.22", 9998)].weight == 0, "weight 0 (drained) is kept"
    assert nat[("198.18.2.22", 9998)].forwarding == "nat"
    sctp = by_key[ServiceKey.make(protocol="sctp", address="198.18.1.55", port=3868)]
    assert [d.address for d in sctp.destinations] == ["198.18.2.21"]


def test_save_knows_ipv6_and_fwmark_families() -> None:
    services, _unknown = parse_save(fixture("save"))
    by_key = {service.key: service for service in services}
    fwmark6 = by_key[ServiceKey(protocol="fwmark", fwmark=8, family="ipv6")]
    assert fwmark6.netmask == "64"
    assert [d.address for d in fwmark6.destinations] == ["2001:db8:2::21"]
    assert [d.port for d in by_key[ServiceKey(protocol="fwmark", fwmark=7)].destinations] == [0]
    web6 = by_key[ServiceKey.make(address="2001:db8:1::50", port=80)]
    assert web6.key.family == "ipv6" and web6.persistent == 100


def test_dr_destination_port_is_the_service_port() -> None:
    # The capture added 198.18.2.23:8080 with -g; the kernel stored it on port 80.
    services, _unknown = parse_save(fixture("save"))
    web = next(s for s in services if s.key == ServiceKey.make(address="198.18.1.50", port=80))
    assert ("198.18.2.23", 80) in web.destination_map()


def test_mixed_family_tunnel_destination() -> None:
    services, unknown = parse_save(fixture("save_mixed_family"))
    assert unknown == []
    web6 = next(s for s in services if s.key == ServiceKey.make(address="2001:db8:1::50", port=80))
    assert web6.destination_map()[("198.18.2.25", 80)].forwarding == "tun"


def test_save_lines_read_back_to_the_same_table() -> None:
    services, _unknown = parse_save(fixture("save"))
    again, unknown = parse_save("\n".join(save_lines(services)))
    assert unknown == []
    normalized = [replace(s, destinations=tuple(d.normalized() for d in s.destinations)) for s in services]
    assert sorted(again, key=lambda s: s.key) == sorted(normalized, key=lambda s: s.key)


def test_unknown_save_lines_are_reported_not_dropped() -> None:
    text = fixture("save") + "-Z this is not ipvsadm\n-a -t 192.0.2.1:80 -r 192.0.2.2:80 -g -w 1\n"
    _services, unknown = parse_save(text)
    assert unknown == ["-Z this is not ipvsadm", "-a -t 192.0.2.1:80 -r 192.0.2.2:80 -g -w 1"]


def test_listing_gives_forwarding_weights_and_connections() -> None:
    listing, unknown = parse_listing(fixture("list"))
    assert unknown == []
    web = listing[ServiceKey.make(address="198.18.2.50", port=80)]
    assert web["scheduler"] == "rr"
    assert web["destinations"][("198.18.2.26", 80)] == {
        "forwarding": "dr", "weight": 2, "active_connections": 4, "inactive_connections": 0}
    assert listing[ServiceKey.make(address="198.18.1.51", port=3306)]["flags"] == "persistent 120 mask 255.255.255.0"
    assert listing[ServiceKey(protocol="fwmark", fwmark=8, family="ipv6")]["destinations"][("2001:db8:2::21", 0)][
        "forwarding"] == "dr"


def test_thresholds_listing_has_what_save_omits() -> None:
    listing, unknown = parse_listing(fixture("thresholds"))
    assert unknown == []
    dest = listing[ServiceKey.make(address="198.18.1.50", port=80)]["destinations"][("198.18.2.22", 80)]
    assert (dest["upper_threshold"], dest["lower_threshold"]) == (100, 50)


def test_stats_and_rates_are_exact_integers() -> None:
    stats, unknown = parse_listing(fixture("stats"))
    assert unknown == []
    web = stats[ServiceKey.make(address="198.18.2.50", port=80)]
    assert (web["connections"], web["packets_in"], web["bytes_in"]) == (8, 8, 480)
    assert web["destinations"][("198.18.2.22", 80)]["connections"] == 4
    rates, unknown = parse_listing(fixture("rate"))
    assert unknown == []
    assert set(rates[ServiceKey.make(address="198.18.1.50", port=80)]) >= {"connections_per_second", "bytes_out_per_second"}


def test_persistent_connection_listing() -> None:
    listing, unknown = parse_listing(fixture("persistent_conn"))
    assert unknown == []
    assert listing[ServiceKey.make(address="198.18.1.50", port=80)]["destinations"][("198.18.2.22", 80)] == {
        "weight": 2, "persistent_connections": 0, "active_connections": 0, "inactive_connections": 0}


def test_connections_timeouts_and_daemons() -> None:
    connections, unknown = parse_connections(fixture("connections"))
    assert unknown == []
    assert len(connections) == 16
    assert connections[0] == {
        "protocol": "tcp", "expires_in": 28, "state": "SYN_RECV", "client_address": "198.18.2.21",
        "client_port": 60632, "virtual_address": "198.18.2.50", "virtual_port": 80,
        "destination_address": "198.18.2.22", "destination_port": 80}
    assert parse_timeouts(fixture("timeout")) == ({"tcp": 900, "tcpfin": 120, "udp": 300}, [])
    daemons, unknown = parse_daemons(fixture("daemon"))
    assert unknown == []
    assert daemons == [
        {"role": "master", "interface": "eth2", "syncid": 5, "maxlen": 1472, "group": "224.0.0.81", "port": 8848,
         "ttl": 1},
        {"role": "backup", "interface": "eth2", "syncid": 5, "maxlen": 1400, "group": "224.0.0.81", "port": 8848,
         "ttl": 1}]


def test_listing_of_a_kernel_without_ipvs_is_all_unknown() -> None:
    listing, unknown = parse_listing((FIXTURES / "no_ipvs_stderr.txt").read_text(encoding="utf-8"))
    assert listing == {}
    assert unknown[0].startswith("Can't initialize ipvs")
