"""What keepalived's own config test needs of this machine, for the tests that run it on rendered files.

Importable from every test module: pytest puts tests/unit, where conftest.py is, on sys.path.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

if shutil.which("keepalived") is None:
    raise RuntimeError("keepalived is missing: scripts/host-deps.sh test installs it (make test runs it)")


def machine_interface() -> str:
    """One of this machine's interfaces, up ones first: keepalived's test needs every VRRP interface to exist."""
    names = sorted(name for name in os.listdir("/sys/class/net") if name != "lo")
    up = [name for name in names if Path(f"/sys/class/net/{name}/operstate").read_text().strip() == "up"]
    return (up or names)[0]


IFACE = machine_interface()
