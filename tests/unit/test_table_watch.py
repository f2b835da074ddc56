"""The scenarios' and the benchmark's IPVS table watcher, on captured `ipvsadm -L -n` output."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("table_watch", REPO / "molecule" / "_shared" / "files" / "table_watch.py")
table_watch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table_watch)

LISTING = (REPO / "tests" / "unit" / "fixtures" / "ipvsadm" / "list.txt").read_text()


def test_services_of_a_real_server_by_protocol_vip_and_port_or_mark() -> None:
    assert table_watch.serving(LISTING, "198.18.2.21") == {
        "tcp:198.18.1.50:80", "tcp:198.18.1.51:3306", "udp:198.18.1.50:9999", "sctp:198.18.1.55:3868", "fwm:7"}


def test_a_destination_at_weight_0_is_out_of_its_service() -> None:
    # 198.18.2.22 is in udp:198.18.1.50:9999 at weight 0 (drained, or inhibited by its checker).
    assert table_watch.serving(LISTING, "198.18.2.22") == {"tcp:198.18.1.50:80", "tcp:198.18.2.50:80", "udp:198.18.2.50:53"}


def test_ipv6_real_servers_and_vips_keep_their_brackets_in_keys_only() -> None:
    assert table_watch.serving(LISTING, "2001:db8:2::21") == {"tcp:[2001:db8:1::50]:80", "fwm:8"}


def test_a_line_it_does_not_understand_is_an_error() -> None:
    with pytest.raises(ValueError, match="unexpected line"):
        table_watch.serving(LISTING + "Connection table is full\n", "198.18.2.21")
