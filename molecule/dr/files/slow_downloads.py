"""Holds COUNT downloads of /big.bin through the VIP open, reading slowly (64 kB every 2 s, so
nginx's 60 s timeouts never fire) for SECONDS, then reads the rest at full speed; fails unless
every body arrives whole (8 MB). Prints each body's length.

    slow_downloads.py COUNT SECONDS
"""
import socket
import sys
import time

count, seconds = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + seconds
held = []
for _attempt in range(count):
    sock = socket.create_connection(("198.18.1.50", 80), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
    held.append([sock, b""])
while time.monotonic() < deadline:
    for entry in held:
        entry[1] += entry[0].recv(65536)
    time.sleep(2)
for entry in held:
    while chunk := entry[0].recv(1 << 20):
        entry[1] += chunk
bodies = [data.split(b"\r\n\r\n", 1)[1] for _sock, data in held]
print(" ".join(str(len(body)) for body in bodies))
assert all(len(body) == 8 * 1024 * 1024 for body in bodies)
# A second after printing, so Ansible reads the output before it sees the end (docs/lab.md, probes).
sys.stdout.flush()
time.sleep(1)
