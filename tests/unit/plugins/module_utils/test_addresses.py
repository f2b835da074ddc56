"""The VIP address planner, and its parsers against `ip -o addr show` captured from a lab real server."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._addresses import (
    AddressError,
    Held,
    diff,
    parse_held,
    parse_ip_addr,
    parse_unit,
    plan,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ip"
REPO = Path(__file__).resolve().parents[4]


def test_the_live_addresses_of_a_dr_real_server() -> None:
    live = parse_ip_addr((FIXTURES / "addr-dr-realserver.txt").read_text())
    assert Held("198.18.1.50", 32, "lo") in live and Held("198.18.1.51", 32, "lo") in live
    assert Held("2001:db8:1::50", 128, "lo") in live and Held("::1", 128, "lo") in live
    assert Held("198.18.1.21", 24, "eth1") in live and Held("fe80::4c:ff:fe02:101", 64, "eth1") in live
    assert len(live) == 9


def test_tunnel_and_point_to_point_lines() -> None:
    live = parse_ip_addr("4: tunl0@NONE    inet 198.18.5.50/32 scope global tunl0\\       valid_lft forever\n"
                         "5: ppp0    inet 198.18.2.1 peer 198.18.2.2/32 scope global ppp0\\       valid_lft forever\n")
    assert live == {Held("198.18.5.50", 32, "tunl0"), Held("198.18.2.1", 32, "ppp0")}


def test_labels_of_ipv4_addresses() -> None:
    # Captured in the lab (UML kernel 6.1, iproute2 6.1) on a dummy device; the first address was then given
    # "ip addr replace ... label lvstest:19" and kept lvstest:18, which is why a new label means delete and add.
    live = parse_ip_addr((FIXTURES / "addr-labels.txt").read_text())
    assert live == {Held("198.18.250.18", 32, "lvstest", "lvstest:18"), Held("198.18.250.19", 24, "lvstest"),
                    Held("198.18.250.20", 24, "lvstest", "lvstest:x"), Held("fe80::2c54:caff:fe5b:7623", 64, "lvstest")}


def test_a_label_is_given_after_the_device() -> None:
    held = parse_held("198.18.6.18/32 dev eth1 label eth1:18")
    assert held == Held("198.18.6.18", 32, "eth1", "eth1:18")
    assert str(held) == "198.18.6.18/32 dev eth1 label eth1:18"
    assert held.argv == ["198.18.6.18/32", "dev", "eth1", "label", "eth1:18"]
    assert parse_held("198.18.6.18/32 dev eth1 label eth1") == Held("198.18.6.18", 32, "eth1")
    for bad in ("198.18.6.18/32 dev eth1 label eth2:18", "2001:db8::18/128 dev eth1 label eth1:18",
                "198.18.6.18/32 dev eth1 label"):
        with pytest.raises(AddressError):
            parse_held(bad)


def test_an_address_with_another_label_is_deleted_and_added_again() -> None:
    labelled = Held("198.18.6.18", 32, "eth1", "eth1:18")
    unlabelled = Held("198.18.6.18", 32, "eth1")
    todo = plan(wanted=[labelled], previous=[unlabelled], live={unlabelled, OWN})
    assert (todo.relabel, todo.add, todo.remove) == ([unlabelled], [labelled], [])
    todo = plan(wanted=[unlabelled], previous=[labelled], live={labelled, OWN})
    assert (todo.relabel, todo.add, todo.remove) == ([labelled], [unlabelled], [])
    assert not plan(wanted=[labelled], previous=[labelled], live={labelled, OWN}).changed


def test_a_line_it_cannot_read_is_an_error_not_a_missed_address() -> None:
    with pytest.raises(AddressError, match="unreadable line"):
        parse_ip_addr("1: lo    inet 127.0.0.1/8 scope host lo\n1: lo    inetX 198.18.1.50/32 scope global lo\n")


def test_addresses_are_read_in_their_canonical_form_with_the_host_prefix_by_default() -> None:
    assert parse_held("198.18.1.50 dev lo") == Held("198.18.1.50", 32, "lo")
    assert parse_held("2001:DB8:1:0::50/128 dev tunl0") == Held("2001:db8:1::50", 128, "tunl0")
    for bad in ("198.18.1.50/32", "198.18.1.300/32 dev lo", "198.18.1.50/33 dev lo", "web dev lo"):
        with pytest.raises(AddressError):
            parse_held(bad)


def test_the_roles_units_name_what_they_add_at_boot() -> None:
    unit = """[Service]
Type=oneshot
ExecStart=/usr/sbin/ip addr replace 198.18.1.50/32 dev lo
ExecReload=/usr/sbin/ip addr replace 198.18.1.50/32 dev lo
ExecStop=-/usr/sbin/ip addr del 198.18.1.50/32 dev lo
ExecStart=/usr/sbin/sysctl -q -w net.ipv4.conf.tunl0.rp_filter=0
ExecStart=/usr/sbin/ip link set tunl0 up
ExecStart=/usr/sbin/ip addr replace 2001:db8:1::50/128 dev tunl0
ExecStart=/usr/sbin/ip addr replace 198.18.6.18/32 dev eth1 label eth1:18
"""
    assert parse_unit(unit) == [Held("198.18.1.50", 32, "lo"), Held("2001:db8:1::50", 128, "tunl0"),
                                Held("198.18.6.18", 32, "eth1", "eth1:18")]
    assert parse_unit("") == []


def test_the_realserver_template_lines_are_the_ones_read() -> None:
    template = (REPO / "roles" / "realserver" / "templates" / "lvs-realserver-vips.service.j2").read_text()
    director = (REPO / "roles" / "director" / "templates" / "lvs-director-vips.service.j2").read_text()
    for text in (template, director):
        starts = [line for line in text.splitlines() if line.startswith("ExecStart=/usr/sbin/ip addr replace")]
        assert starts, "the unit template no longer adds addresses with ExecStart=/usr/sbin/ip addr replace"


LO50, LO51, LO52 = (Held(f"198.18.1.{n}", 32, "lo") for n in (50, 51, 52))
OWN = Held("198.18.1.21", 24, "eth1")


def test_new_addresses_are_added_and_departed_ones_removed_never_the_hosts_own() -> None:
    todo = plan(wanted=[LO50, LO51], previous=[LO50, LO52], live={LO50, LO52, OWN})
    assert (todo.add, todo.remove, todo.changed) == ([LO51], [LO52], True)


def test_nothing_to_do_when_the_live_addresses_match() -> None:
    assert not plan([LO50], [LO50, LO52], {LO50, OWN}).changed


def test_a_unit_written_without_its_addresses_applied_is_caught_up() -> None:
    # An earlier run wrote the new unit and stopped before adding LO51: the file already names it.
    todo = plan(wanted=[LO50, LO51], previous=[LO50, LO51], live={LO50})
    assert (todo.add, todo.remove) == ([LO51], [])


def test_only_what_an_earlier_run_added_is_removed() -> None:
    assert plan(wanted=[], previous=[LO50], live={LO50, LO52}).remove == [LO50]


def test_the_diff_shows_ours_before_and_after() -> None:
    shown = diff([LO50, LO51], [LO50, LO52], {LO50, LO52, OWN}, "/etc/systemd/system/vips.service")
    assert shown["before"] == "198.18.1.50/32 dev lo\n198.18.1.52/32 dev lo\n"
    assert shown["after"] == "198.18.1.50/32 dev lo\n198.18.1.51/32 dev lo\n"
