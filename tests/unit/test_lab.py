"""The lab tool's pure parts: topology parsing, naming, apt source discovery, inventory."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

LAB_PATH = Path(__file__).resolve().parents[2] / "molecule" / "_lab" / "lab.py"
_spec = importlib.util.spec_from_file_location("lab", LAB_PATH)
lab = importlib.util.module_from_spec(_spec)
sys.modules["lab"] = lab  # dataclasses look their module up while the class is built
_spec.loader.exec_module(lab)

PLATFORMS = [
    {"name": "director1", "groups": ["lvs_directors"], "interfaces": [
        {"segment": "public", "addresses": ["198.18.1.11/24"]},
        {"segment": "private", "addresses": ["198.18.2.11/24", "2001:db8:2::11/64"]}]},
    {"name": "rs1", "groups": ["lvs_realservers"], "interfaces": [{"segment": "private", "address": "198.18.2.21/24"}]},
    {"name": "client", "interfaces": [{"segment": "public", "addresses": ["198.18.1.100/24"]}]},
]


def make_lab(slot: int = 3) -> "lab.Lab":
    return lab.Lab(name="unit", slot=slot, hosts=lab.parse_topology(PLATFORMS))


def test_topology_keeps_order_groups_and_addresses() -> None:
    hosts = lab.parse_topology(PLATFORMS)
    assert [h.name for h in hosts] == ["director1", "rs1", "client"]
    assert [h.index for h in hosts] == [0, 1, 2]
    assert hosts[0].interfaces[1].addresses == ["198.18.2.11/24", "2001:db8:2::11/64"]
    assert hosts[1].interfaces[0].addresses == ["198.18.2.21/24"]
    assert hosts[2].groups == []


@pytest.mark.parametrize(("platforms", "message"), [
    ([], "no platforms"),
    ([{"name": "Director"}], "platforms[0].name 'Director'"),
    ([{"name": "a"}, {"name": "a"}], "'a' appears twice"),
    ([{"name": "a", "interfaces": [{"segment": "Public Net"}]}], "a.interfaces[0].segment"),
])
def test_topology_errors_name_the_field(platforms: list, message: str) -> None:
    with pytest.raises(lab.LabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        lab.parse_topology(platforms)


def test_link_names_fit_the_kernel_limit_and_differ_per_slot() -> None:
    one, other = make_lab(slot=3), make_lab(slot=63)
    names = [one.mgmt_bridge, other.mgmt_bridge]
    names += [lab_.segment_bridge(s) for lab_ in (one, other) for s in lab_.segments]
    names += [lab_.tap(h, n) for lab_ in (one, other) for h in lab_.hosts for n in range(len(h.interfaces) + 1)]
    assert all(len(name) <= 15 for name in names)
    assert len(set(names)) == len(names)


def test_addresses_and_macs_are_unique_per_interface() -> None:
    unit_lab = make_lab()
    assert unit_lab.mgmt_address(unit_lab.hosts[0]) == "198.19.3.10"
    macs = [unit_lab.mac(h, n) for h in unit_lab.hosts for n in range(len(h.interfaces) + 1)]
    assert len(set(macs)) == len(macs)
    assert all(int(mac.split(":")[0], 16) & 0b11 == 0b10 for mac in macs), "locally administered unicast"


def test_apt_mirror_reads_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\n# a comment: with a colon\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")
    real_path = lab.Path
    monkeypatch.setattr(lab, "Path", lambda p: sources if p == "/etc/apt/sources.list.d" else real_path(tmp_path / "none"))
    monkeypatch.setattr(lab, "host_suite", lambda: "bookworm")
    assert lab.apt_mirror("bookworm") == "http://mirror.invalid/debian"
    # One archive serves every release: the mirror named for the machine's own serves trixie too.
    assert lab.apt_mirror("trixie") == "http://mirror.invalid/debian"
    monkeypatch.setattr(lab, "host_suite", lambda: "sid")
    with pytest.raises(lab.LabError, match="no apt source for Debian 'sid'"):
        lab.apt_mirror("trixie")


def test_inventory_groups_hosts_and_points_ssh_at_the_lab_config() -> None:
    text = lab.inventory_text(make_lab())
    assert "ansible_ssh_common_args: -F /var/tmp/lvs-lab/unit/ssh_config" in text.replace(str(lab.STATE_ROOT), "/var/tmp/lvs-lab")
    assert "    lvs_directors:\n      hosts:\n        director1:" in text
    assert "    rs1:\n      ansible_host: 198.19.3.11" in text


def test_instance_config_is_what_molecule_reads(tmp_path: Path) -> None:
    unit_lab = make_lab()
    target = tmp_path / "instance_config.yml"
    lab.write_instance_config(unit_lab, target)
    config = json.loads(target.read_text())
    assert config[0] == {"instance": "director1", "address": "198.19.3.10", "user": "root", "port": 22,
                         "identity_file": str(unit_lab.key)}


def test_recipe_hash_changes_with_the_package_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab, "host_suite", lambda: "bookworm")
    monkeypatch.setattr(lab, "uml_kernel_version", lambda: "6.1.176")
    before = lab.rootfs_path("bookworm")
    assert lab.rootfs_path("trixie") != before
    monkeypatch.setattr(lab, "REPO_PACKAGES", (*lab.REPO_PACKAGES, "extra"))
    assert lab.rootfs_path("bookworm") != before


def test_a_release_the_lab_does_not_build_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVS_LAB_RELEASE", "buster")
    with pytest.raises(lab.LabError, match="release 'buster': the lab builds bookworm, trixie"):
        lab.checked_release(lab.default_release())


def test_repo_versions_read_the_local_repository_index(tmp_path: Path) -> None:
    repo = tmp_path / lab.LOCAL_REPO_DIR.lstrip("/")
    repo.mkdir(parents=True)
    (repo / "Packages").write_text(
        "Package: keepalived\nVersion: 1:2.3.3-1\nDepends: libc6 (>= 2.38)\nDescription: Failover and monitoring daemon\n"
        " for LVS clusters\n\nPackage: libsnmp40\nVersion: 5.9.4+dfsg-2\n\nPackage: ipvsadm\nVersion: 1:1.31-4\n")
    assert lab.repo_versions(tmp_path) == {"keepalived": "1:2.3.3-1", "ipvsadm": "1:1.31-4"}
