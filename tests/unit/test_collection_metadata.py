"""Checks that the collection's metadata agrees with what it ships and installs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from packaging.specifiers import SpecifierSet

COLLECTION_ROOT = Path(__file__).resolve().parents[2]


def _load_yaml(relative: str) -> dict:
    return yaml.safe_load((COLLECTION_ROOT / relative).read_text(encoding="utf-8"))


def test_every_python_requirement_is_pinned() -> None:
    lines = (COLLECTION_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert requirements, "requirements.txt lists nothing"
    unpinned = [line for line in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line.strip())]
    assert not unpinned, f"unpinned requirements: {unpinned}"


def test_galaxy_dependencies_are_met_by_the_installed_ansible_package() -> None:
    import ansible_collections

    dependencies = _load_yaml("galaxy.yml")["dependencies"]
    search_roots = [Path(entry) for entry in ansible_collections.__path__]
    for fqcn, requirement in dependencies.items():
        namespace, name = fqcn.split(".")
        manifests = [root / namespace / name / "MANIFEST.json" for root in search_roots]
        found = [manifest for manifest in manifests if manifest.is_file()]
        assert found, f"{fqcn} is not installed by the pinned ansible package"
        installed = json.loads(found[0].read_text(encoding="utf-8"))["collection_info"]["version"]
        assert SpecifierSet(requirement).contains(installed), f"{fqcn} {installed} does not satisfy {requirement}"


def test_action_group_lists_exactly_the_ipvs_modules() -> None:
    runtime = _load_yaml("meta/runtime.yml")
    grouped = sorted(runtime["action_groups"]["ipvs"])
    shipped = sorted(path.stem for path in (COLLECTION_ROOT / "plugins" / "modules").glob("ipvs_*.py"))
    assert grouped == shipped


@pytest.mark.parametrize("role", ["director", "realserver"])
def test_role_vars_hold_values_and_expressions_not_jinja_programs(role: str) -> None:
    # Decisions are Python (filters) that return data; vars/main.yml only wires them up.
    text = (COLLECTION_ROOT / "roles" / role / "vars" / "main.yml").read_text()
    assert "{%" not in text


PLAYBOOKS = sorted((COLLECTION_ROOT / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=[path.name for path in PLAYBOOKS])
def test_playbooks_read_no_private_variable_of_a_role(playbook: Path) -> None:
    # A role's __ variables are its own state; a playbook uses its entry points and options.
    assert re.findall(r"__(?:director|realserver)_\w+", playbook.read_text()) == []


def _included_entry_points(node: object) -> list[tuple[str, str]]:
    """(role, entry point) of every include_role with tasks_from under NODE (a parsed playbook)."""
    found = []
    if isinstance(node, dict):
        include = node.get("ansible.builtin.include_role")
        if isinstance(include, dict) and "tasks_from" in include:
            found.append((include["name"].split(".")[-1], include["tasks_from"].removesuffix(".yml")))
        for value in node.values():
            found += _included_entry_points(value)
    elif isinstance(node, list):
        for value in node:
            found += _included_entry_points(value)
    return found


def test_every_entry_point_a_playbook_uses_has_its_own_argument_spec() -> None:
    used = {entry for playbook in PLAYBOOKS for entry in _included_entry_points(yaml.safe_load(playbook.read_text()))}
    assert ("director", "rolling_prepare") in used
    missing = [f"{role} {entry}" for role, entry in sorted(used)
               if entry not in _load_yaml(f"roles/{role}/meta/argument_specs.yml")["argument_specs"]]
    assert missing == []
