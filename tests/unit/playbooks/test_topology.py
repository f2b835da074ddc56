"""playbooks/topology.yml draws each documented example; the drawings in docs/examples are current.

Set LVS_UPDATE_TOPOLOGIES=1 to rewrite docs/examples/*/topology.md from the examples.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.iterdir() if (path / "hosts.yml").exists()))
def test_each_example_drawing_is_current(tmp_path: Path, example: str) -> None:
    drawing = tmp_path / "topology.md"
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"}
    run = subprocess.run(["ansible-playbook", "-i", str(EXAMPLES / example / "hosts.yml"), "lvs.cluster.topology",
                          "-e", f"lvs_topology_file={drawing}"],
                         capture_output=True, text=True, env=env, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert drawing.read_text().startswith("```mermaid\nflowchart LR\n")
    documented = EXAMPLES / example / "topology.md"
    if os.environ.get("LVS_UPDATE_TOPOLOGIES") == "1":
        documented.write_text(drawing.read_text())
    assert documented.read_text() == drawing.read_text(), (
        f"{documented} is out of date: LVS_UPDATE_TOPOLOGIES=1 make units rewrites it")
