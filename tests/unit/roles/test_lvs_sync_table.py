"""lvs-sync-table (roles/director/files/lvs-sync-table.py) against output captured in the lab: the
sync daemons, the table and the services it reads, and a sync message the kernel's master daemon sent."""
from __future__ import annotations

import importlib.util
import ipaddress
import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "unit" / "fixtures"
_spec = importlib.util.spec_from_file_location("lvs_sync_table", REPO / "roles" / "director" / "files" / "lvs-sync-table.py")
sync_table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync_table)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_both_sync_daemons_are_read_with_their_settings() -> None:
    daemons = sync_table.parse_daemons(fixture("ipvsadm/daemon.txt"))
    assert daemons["master"] == sync_table.SyncDaemon("master", "eth2", 5, 1472, "224.0.0.81", 8848, 1)
    assert daemons["backup"].maxlen == 1400
    assert sync_table.parse_daemons("") == {}


def test_an_unknown_daemon_line_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="does not know: 'master sync daemon'"):
        sync_table.parse_daemons("master sync daemon\n")


def test_services_are_keyed_as_the_kernel_finds_a_connection_s_service() -> None:
    services = sync_table.parse_services(fixture("ip_vs_conn/save.txt"))
    assert set(services) == {("TCP", "198.18.1.50", 80), ("TCP", "2001:db8:1::50", 80), ("FWM", 4, 1)}
    assert services[("FWM", 4, 1)].persistence == 30
    assert services[("TCP", "198.18.1.50", 80)].real_servers == {("198.18.1.21", 80): 3, ("198.18.1.22", 80): 3}
    every_kind = sync_table.parse_services(fixture("ipvsadm/save.txt"))
    assert every_kind[("UDP", "198.18.1.50", 9999)].real_servers[("198.18.2.21", 9999)] == sync_table.CONN_F_MASQ
    assert every_kind[("TCP", "198.18.1.51", 3306)].real_servers[("198.18.2.21", 3306)] == sync_table.CONN_F_TUNNEL
    assert every_kind[("FWM", 6, 8)].persistence == 30


def test_an_unknown_service_line_is_refused() -> None:
    with pytest.raises(ValueError, match="does not know"):
        sync_table.parse_services("-X -t 198.18.1.50:80\n")


def test_every_connection_and_template_of_the_table_is_planned() -> None:
    connections = sync_table.parse_connections(fixture("ip_vs_conn/conn.txt"))
    assert connections[0].client == "2001:db8:1::100" and connections[0].client_port == 0xB396
    entries, left_out = sync_table.plan_entries(connections, sync_table.parse_services(fixture("ip_vs_conn/save.txt")))
    assert left_out == {}
    by_port = {entry.connection.client_port: entry for entry in entries}
    assert by_port[0x4E75].state == 1 and by_port[0x4E75].flags == sync_table.CONN_F_DROUTE
    assert by_port[0x4E75].fwmark == 0 and by_port[0x4E75].timeout == 0
    assert by_port[0x8C24].state == 4  # FIN_WAIT
    # 198.18.1.51:80 is no service of its own: its connection belongs to mark 1, whose service has the real server.
    assert by_port[0xC864].fwmark == 1
    template = by_port[0]
    assert template.flags == sync_table.CONN_F_TEMPLATE | sync_table.CONN_F_DROUTE
    assert (template.protocol, template.fwmark, template.state, template.timeout) == (0, 1, 1, 30)


def test_entries_without_a_service_are_left_out_and_counted() -> None:
    connections = sync_table.parse_connections(fixture("ip_vs_conn/conn.txt"))
    entries, left_out = sync_table.plan_entries(connections, {})
    assert entries == []
    assert sum(left_out.values()) == len(connections)


def test_an_unknown_state_is_refused() -> None:
    text = fixture("ip_vs_conn/conn.txt").replace("ESTABLISHED     899", "BOGUS     899")
    with pytest.raises(ValueError, match="state 'BOGUS'"):
        sync_table.plan_entries(sync_table.parse_connections(text), sync_table.parse_services(fixture("ip_vs_conn/save.txt")))


def test_a_message_is_byte_for_byte_what_the_kernel_sends() -> None:
    kernel = bytes.fromhex(fixture("ip_vs_conn/kernel_sync_message.hex").replace(" ", "").strip())
    connection = sync_table.Connection("TCP", "198.18.1.100", 0x4E79, "198.18.1.50", 80, "198.18.1.22", 80, "ESTABLISHED")
    # The kernel also sets IP_VS_CONN_F_NOOUTPUT (0x80) on a DR connection and sends its full timeout.
    entry = sync_table.Entry(6, 0x83, 1, connection, 0, 900)
    assert sync_table.encode_messages([entry], 50, 1472) == [kernel]


def test_ipv6_entries_carry_the_family_flag_and_16_byte_addresses() -> None:
    connection = sync_table.Connection("TCP", "2001:db8:1::100", 1000, "2001:db8:1::50", 80, "2001:db8:1::21", 80, "ESTABLISHED")
    message = sync_table.encode_messages([sync_table.Entry(6, 3, 1, connection, 0, 0)], 50, 1472)[0]
    assert len(message) == 8 + 72 and message[8] == sync_table.STYPE_F_INET6
    assert struct.unpack("!H", message[10:12])[0] == 72
    assert message[-16:] == ipaddress.ip_address("2001:db8:1::21").packed


def test_messages_stay_within_the_daemon_s_maxlen() -> None:
    connection = sync_table.Connection("TCP", "198.18.1.100", 1, "198.18.1.50", 80, "198.18.1.21", 80, "ESTABLISHED")
    entries = [sync_table.Entry(6, 3, 1, connection._replace(client_port=port), 0, 0) for port in range(1, 101)]
    messages = sync_table.encode_messages(entries, 50, 1472)
    assert [message[4] for message in messages] == [40, 40, 20]
    assert all(len(message) <= 1472 and struct.unpack("!H", message[2:4])[0] == len(message) for message in messages)
    assert sync_table.encode_messages([], 50, 1472) == []
