"""lvs.cluster.cluster_plan in real ansible-playbook runs: the plan is computed once per run for one
inventory however many plays, serial batches and roles ask for it, and a host that sees other settings
than the inventory's is refused by name.

The hosts are never contacted: every task that asks for the plan runs on the controller.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SERVICES = [{"vip": "198.18.1.50", "port": 80, "method": "dr", "real_servers_group": "lvs_realservers"}]
INVENTORY = {"all": {
    "vars": {"ansible_python_interpreter": sys.executable, "ansible_connection": "local",
             "lvs_virtual_services": SERVICES},
    "children": {
        "lvs_directors": {"hosts": {"director1": {"ansible_host": "198.18.0.11"},
                                    "director2": {"ansible_host": "198.18.0.12"}},
                          "vars": {"director_vrrp_version": 2, "director_vrrp_advert_int": 1}},
        "lvs_realservers": {"hosts": {"rs1": {"realserver_address": "198.18.1.21"},
                                      "rs2": {"realserver_address": "198.18.1.22"}}}}}}


def run(tmp_path: Path, playbook: Path, inventory: dict, *extra: str) -> subprocess.CompletedProcess:
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), str(playbook), *extra],
                          capture_output=True, text=True, env=env, check=False, timeout=300)


def plan_results(output: str) -> list[dict]:
    """Every result of a task that asked for the plan, in the order the tasks ran."""
    report = json.loads(output)
    return [result for play in report["plays"] for task in play["tasks"] for result in task["hosts"].values()
            if "computed" in result]


def test_the_plan_is_computed_once_for_the_inventory_and_once_after_a_drain_mark(tmp_path):
    completed = run(tmp_path, HERE / "plan_once.yml", INVENTORY)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    results = plan_results(completed.stdout)
    # localhost, the directors at once, two serial batches, the real servers; localhost and two batches again.
    assert len(results) == 8
    assert [result["computed"] for result in results] == [True, False, False, False, False, True, False, False]
    assert all(result["plan"] == results[0]["plan"] for result in results[:5])
    assert all(result["plan"] == results[5]["plan"] for result in results[5:])
    weights = [{rs["host"]: rs["weight"] for rs in result["plan"]["virtual_servers"][0]["real_servers"]}
               for result in (results[0], results[5])]
    assert weights == [{"rs1": 1, "rs2": 1}, {"rs1": 0, "rs2": 1}]
    assert results[0]["plan"]["real_server_hosts"]["rs1"]["dr_vips"] == ["198.18.1.50"]


def test_a_directors_play_variable_is_in_the_plan_its_directors_get(tmp_path):
    # As molecule's dr scenario imports directors.yml with director_vrrp_preempt: false: the directors'
    # templates read the play's value, so their plan must be computed from it too.
    playbook = tmp_path / "play_vars.yml"
    check = {"name": "Check", "ansible.builtin.include_role": {"name": "lvs.cluster.director", "tasks_from": "validate.yml"}}
    playbook.write_text(json.dumps([
        {"name": "The controller", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [check]},
        {"name": "The directors with a play variable", "hosts": "lvs_directors", "gather_facts": False,
         "vars": {"director_vrrp_vrid_base": 70}, "tasks": [check]}]))
    completed = run(tmp_path, playbook, INVENTORY)
    assert completed.returncode == 0, completed.stdout[-3000:]
    results = plan_results(completed.stdout)
    assert [result["computed"] for result in results] == [True, True]
    router_ids = [[instance["virtual_router_id"] for instance in result["plan"]["vrrp_instances"]] for result in results]
    assert router_ids == [[50], [70]]


def test_a_real_server_that_cannot_see_the_directors_services_is_refused(tmp_path):
    inventory = json.loads(json.dumps(INVENTORY))
    del inventory["all"]["vars"]["lvs_virtual_services"]
    inventory["all"]["children"]["lvs_directors"]["vars"]["lvs_virtual_services"] = SERVICES
    playbook = tmp_path / "realservers.yml"
    playbook.write_text(json.dumps([{
        "name": "Real servers", "hosts": "lvs_realservers", "gather_facts": False,
        "tasks": [{"name": "Plan", "ansible.builtin.include_role": {"name": "lvs.cluster.realserver",
                                                                    "tasks_from": "model.yml"}}]}]))
    completed = run(tmp_path, playbook, inventory)
    assert completed.returncode != 0
    assert "realserver_virtual_services: what rs1 sees is not the directors' virtual services" in completed.stdout
