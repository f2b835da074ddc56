"""lvs-sync-table: gives a director whose IPVS backup sync daemon has just started the whole
connection table of the director that runs the master sync daemon.

The kernel's master sync daemon sends a connection only as its packets pass (the 3rd, then every
sync_period-th packet), so a director that comes back (keepalived started again, the host booted)
learns a connection only once that connection has sent enough packets. One that is quiet until the
returning director takes the VIPs back meets a director without its entry and is reset. This
daemon, run on every director, closes that gap:

- It reads its own sync daemons (ipvsadm -Ln --daemon) every half second. When a backup daemon has
  started, it asks on the sync interface, at once and again a second later, for the table.
- Where this director runs the master daemon with the same sync id, it answers a request with every
  connection and persistence template of /proc/net/ip_vs_conn, encoded as the kernel's own version 1
  sync messages and sent to the master daemon's group and port: the backup daemons take them in as
  they take the kernel's.

Requests go to the sync group on --request-port; answers go where the kernel's sync goes. Neither
leaves the sync interface's segment (TTL as the daemon's, 1 by default).

    python3 lvs-sync-table.py --interface eth1 [--group 224.0.0.81] [--request-port 8849]
"""
import argparse
import ipaddress
import os
import re
import select
import socket
import struct
import subprocess
import sys
import time
from typing import Dict, Iterable, List, NamedTuple, Optional, Tuple

REQUEST = b"lvs-sync-table request syncid="
POLL_SECONDS = 0.5
REQUEST_AGAIN_SECONDS = 1.0
# At most one answer this often: a request is a few bytes, the answer the whole table.
ANSWER_AT_MOST_EVERY_SECONDS = 0.5
# A burst of sync messages larger than the backup's socket buffer would be dropped there.
MESSAGES_PER_BURST = 32
BURST_PAUSE_SECONDS = 0.002

# include/uapi/linux/ip_vs.h
CONN_F_MASQ, CONN_F_TUNNEL, CONN_F_DROUTE = 0x0000, 0x0002, 0x0003
CONN_F_TEMPLATE = 0x1000
METHOD_FLAGS = {"-m": CONN_F_MASQ, "-i": CONN_F_TUNNEL, "-g": CONN_F_DROUTE}
# net/netfilter/ipvs/ip_vs_sync.c: version 1 messages and entries.
SYNC_PROTO_VER = 1
HEADER = struct.Struct("!BBHBbH")  # reserved, syncid, size, nr_conns, version, spare
ENTRY_HEAD = struct.Struct("!BBHIHHHHII")  # type, protocol, ver_size, flags, state, cport, vport, dport, fwmark, timeout
STYPE_F_INET6 = 1
# State numbers by the names /proc/net/ip_vs_conn prints (ip_vs_proto_tcp.c, ip_vs_proto_udp.c, and
# the template states of ip_vs_conn.c).
TCP_STATES = ["NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
              "LAST_ACK", "LISTEN", "SYNACK"]
STATES = {"TCP": {name: number for number, name in enumerate(TCP_STATES)}, "UDP": {"UDP": 0}}
TEMPLATE_STATES = {"NONE": 0, "ASSURED": 1}
PROTOCOLS = {"TCP": socket.IPPROTO_TCP, "UDP": socket.IPPROTO_UDP, "IP": 0}


class SyncDaemon(NamedTuple):
    role: str
    interface: str
    syncid: int
    maxlen: int
    group: str
    port: int
    ttl: int


class Service(NamedTuple):
    persistence: int  # seconds, 0 when not persistent
    real_servers: Dict[Tuple[str, int], int]  # (address, port) -> forwarding flags


class Connection(NamedTuple):
    protocol: str
    client: str
    client_port: int
    virtual: str
    virtual_port: int
    dest: str
    dest_port: int
    state: str


class Entry(NamedTuple):
    """One connection or template as a sync message carries it."""
    protocol: int
    flags: int
    state: int
    connection: Connection
    fwmark: int
    timeout: int


DAEMON_LINE = re.compile(r"^(master|backup) sync daemon \(mcast=(\S+), syncid=(\d+), maxlen=(\d+), group=([^,]+), "
                         r"port=(\d+), ttl=(\d+)\)$")


def parse_daemons(text: str) -> Dict[str, SyncDaemon]:
    """The sync daemons `ipvsadm -Ln --daemon` lists, by role."""
    daemons = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = DAEMON_LINE.match(line.strip())
        if not match:
            raise ValueError(f"ipvsadm --daemon printed a line this program does not know: {line!r}")
        role, interface, syncid, maxlen, group, port, ttl = match.groups()
        daemons[role] = SyncDaemon(role, interface, int(syncid), int(maxlen), group, int(port), int(ttl))
    return daemons


def _address_port(text: str) -> Tuple[str, int]:
    address, port = text.rsplit(":", 1)
    return str(ipaddress.ip_address(address.strip("[]"))), int(port)


def parse_services(text: str) -> Dict[Tuple, Service]:
    """The services of `ipvsadm -S -n`, keyed ("TCP"|"UDP", vip, port) or ("FWM", family, mark)."""
    services: Dict[Tuple, Service] = {}
    kinds = {"-t": "TCP", "-u": "UDP", "--sctp-service": "SCTP", "-f": "FWM"}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] not in ("-A", "-a") or len(words) < 3 or words[1] not in kinds:
            raise ValueError(f"ipvsadm -S printed a line this program does not know: {line!r}")
        kind = kinds[words[1]]
        if kind == "FWM":
            key: Tuple = ("FWM", 6 if "-6" in words else 4, int(words[2]))
        else:
            key = (kind, *_address_port(words[2]))
        if words[0] == "-A":
            persistence = int(words[words.index("-p") + 1]) if "-p" in words else 0
            services[key] = Service(persistence, {})
        else:
            method = next((word for word in words if word in METHOD_FLAGS), "-g")
            services[key].real_servers[_address_port(words[words.index("-r") + 1])] = METHOD_FLAGS[method]
    return services


def _proc_address(text: str) -> str:
    if ":" in text:
        return str(ipaddress.IPv6Address(text))
    return str(ipaddress.IPv4Address(int(text, 16)))


def parse_connections(text: str) -> List[Connection]:
    """The entries of /proc/net/ip_vs_conn (connections and templates), addresses as text."""
    connections = []
    for line in text.splitlines()[1:]:
        words = line.split()
        if not words:
            continue
        if len(words) < 9:
            raise ValueError(f"/proc/net/ip_vs_conn has a line this program does not know: {line!r}")
        protocol, client, cport, virtual, vport, dest, dport, state = words[:8]
        connections.append(Connection(protocol, _proc_address(client), int(cport, 16), _proc_address(virtual),
                                      int(vport, 16), _proc_address(dest), int(dport, 16), state))
    return connections


def _family(address: str) -> int:
    return ipaddress.ip_address(address).version


def plan_entries(connections: Iterable[Connection], services: Dict[Tuple, Service]) -> Tuple[List[Entry], Dict[str, int]]:
    """What to send for each connection and template, and a count of those left out, by reason."""
    entries: List[Entry] = []
    left_out: Dict[str, int] = {}

    def leave_out(reason: str) -> None:
        left_out[reason] = left_out.get(reason, 0) + 1

    marks = {key: service for key, service in services.items() if key[0] == "FWM"}
    for conn in connections:
        family = _family(conn.virtual)
        if conn.protocol not in PROTOCOLS and conn.protocol != "SCTP":
            raise ValueError(f"/proc/net/ip_vs_conn has an entry of protocol {conn.protocol!r}, which this program does not know")
        if _family(conn.dest) != family:
            leave_out("a real server of the other address family (the kernel's sync cannot carry it either)")
            continue
        template = conn.protocol == "IP" or (conn.client_port == 0 and conn.state in TEMPLATE_STATES)
        if template:
            if conn.protocol == "IP":
                # A fwmark service's template holds the mark in the first 32 bits of its virtual address.
                fwmark = int(ipaddress.ip_address(conn.virtual)) >> (96 if family == 6 else 0)
                key: Tuple = ("FWM", family, fwmark)
            else:
                key = (conn.protocol, conn.virtual, conn.virtual_port)
                fwmark = 0
            service = services.get(key)
            if service is None or conn.state not in TEMPLATE_STATES:
                leave_out("a persistence template of a service this director does not have")
                continue
            flags = CONN_F_TEMPLATE | next(iter(service.real_servers.values()), CONN_F_DROUTE)
            entries.append(Entry(PROTOCOLS[conn.protocol], flags, TEMPLATE_STATES[conn.state], conn, fwmark,
                                 service.persistence))
            continue
        if conn.protocol == "SCTP":
            leave_out("an SCTP connection (not carried by this program)")
            continue
        if conn.state not in STATES[conn.protocol]:
            raise ValueError(f"/proc/net/ip_vs_conn has a {conn.protocol} entry in state {conn.state!r}, which this program does not know")
        fwmark, service = 0, services.get((conn.protocol, conn.virtual, conn.virtual_port))
        if service is None:
            # A fwmark service's connection: the mark whose service has this real server.
            for key, candidate in sorted(marks.items()):
                if key[1] == family and ({(conn.dest, conn.dest_port), (conn.dest, 0)} & candidate.real_servers.keys()):
                    fwmark, service = key[2], candidate
                    break
        flags = None
        if service is not None:
            flags = service.real_servers.get((conn.dest, conn.dest_port), service.real_servers.get((conn.dest, 0)))
        if flags is None:
            leave_out("a connection to a real server no service of this director has")
            continue
        # Timeout 0: the backup takes the state's timeout from its own table, as for a fresh entry.
        entries.append(Entry(PROTOCOLS[conn.protocol], flags, STATES[conn.protocol][conn.state], conn, fwmark, 0))
    return entries, left_out


def encode_entry(entry: Entry) -> bytes:
    conn = entry.connection
    addresses = b"".join(ipaddress.ip_address(address).packed for address in (conn.client, conn.virtual, conn.dest))
    size = ENTRY_HEAD.size + len(addresses)
    if conn.protocol == "IP":
        virtual_port = 0
    else:
        virtual_port = conn.virtual_port
    kind = STYPE_F_INET6 if _family(conn.virtual) == 6 else 0
    return ENTRY_HEAD.pack(kind, entry.protocol, size, entry.flags, entry.state, conn.client_port, virtual_port,
                           conn.dest_port, entry.fwmark, entry.timeout) + addresses


def encode_messages(entries: Iterable[Entry], syncid: int, maxlen: int) -> List[bytes]:
    """Version 1 sync messages of at most maxlen bytes (the daemon's), each with at most 255 entries."""
    messages, body, count = [], b"", 0

    def close() -> None:
        messages.append(HEADER.pack(0, syncid, HEADER.size + len(body), count, SYNC_PROTO_VER, 0) + body)

    for entry in entries:
        encoded = encode_entry(entry)
        if count and (HEADER.size + len(body) + len(encoded) > maxlen or count == 255):
            close()
            body, count = b"", 0
        body += encoded
        count += 1
    if count:
        close()
    return messages


def run(argv: List[str]) -> str:
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=dict(os.environ, LC_ALL="C")).stdout


def read_daemons() -> Dict[str, SyncDaemon]:
    return parse_daemons(run(["ipvsadm", "-L", "-n", "--daemon"]))


def multicast_socket(group: str, interface: str, ttl: int) -> socket.socket:
    index = socket.if_nametoindex(interface)
    if ipaddress.ip_address(group).version == 6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("=4s4si", bytes(4), bytes(4), index))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    return sock


def request_socket(group: str, interface: str, port: int) -> socket.socket:
    """Listens for requests on the group on this interface."""
    index = socket.if_nametoindex(interface)
    if ipaddress.ip_address(group).version == 6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", port))
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", index))
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("", port))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + struct.pack("=4si", bytes(4), index))
    return sock


def say(message: str) -> None:
    print(message, flush=True)


def send_table(master: SyncDaemon) -> None:
    with open("/proc/net/ip_vs_conn", encoding="ascii") as table:
        connections = parse_connections(table.read())
    entries, left_out = plan_entries(connections, parse_services(run(["ipvsadm", "-S", "-n"])))
    messages = encode_messages(entries, master.syncid, master.maxlen)
    with multicast_socket(master.group, master.interface, master.ttl) as sock:
        for number, message in enumerate(messages, 1):
            sock.sendto(message, (master.group, master.port))
            if number % MESSAGES_PER_BURST == 0:
                time.sleep(BURST_PAUSE_SECONDS)
    templates = sum(1 for entry in entries if entry.flags & CONN_F_TEMPLATE)
    say(f"sent {len(entries) - templates} connections and {templates} persistence templates in {len(messages)} "
        f"messages to {master.group} port {master.port} on {master.interface} (syncid {master.syncid})"
        + "".join(f"; left out {count}: {reason}" for reason, count in sorted(left_out.items())))


def serve(interface: str, group: str, request_port: int) -> None:
    listener = request_socket(group, interface, request_port)
    asker = multicast_socket(group, interface, 1)
    backup_seen: Optional[SyncDaemon] = None
    ask_at: List[float] = []
    answered_at = -ANSWER_AT_MOST_EVERY_SECONDS
    say(f"listening for table requests on {group} port {request_port} on {interface}")
    while True:
        readable = select.select([listener], [], [], POLL_SECONDS)[0]
        daemons = read_daemons()
        backup = daemons.get("backup")
        if backup is not None and backup != backup_seen:
            now = time.monotonic()
            ask_at = [now, now + REQUEST_AGAIN_SECONDS]
        backup_seen = backup
        if backup is not None and ask_at and ask_at[0] <= time.monotonic():
            ask_at.pop(0)
            asker.sendto(REQUEST + str(backup.syncid).encode(), (group, request_port))
            say(f"asked for the connection table (syncid {backup.syncid})")
        if not readable:
            continue
        payload, sender = listener.recvfrom(512)
        master = daemons.get("master")
        if not payload.startswith(REQUEST) or master is None:
            continue
        try:
            syncid = int(payload[len(REQUEST):])
        except ValueError:
            say(f"ignored a malformed request from {sender[0]}")
            continue
        if syncid != master.syncid:
            continue
        if time.monotonic() - answered_at < ANSWER_AT_MOST_EVERY_SECONDS:
            say(f"{sender[0]} asked for the connection table again within {ANSWER_AT_MOST_EVERY_SECONDS} s; not answered")
            continue
        say(f"{sender[0]} asked for the connection table (syncid {syncid})")
        send_table(master)
        answered_at = time.monotonic()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--interface", required=True, help="the sync daemon's interface")
    parser.add_argument("--group", default="224.0.0.81", help="multicast group of the requests (224.0.0.81)")
    parser.add_argument("--request-port", type=int, default=8849, help="UDP port of the requests (8849)")
    args = parser.parse_args(argv)
    try:
        serve(args.interface, args.group, args.request_port)
    except (OSError, ValueError, subprocess.CalledProcessError) as failure:
        print(f"lvs-sync-table: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
