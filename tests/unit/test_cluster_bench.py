"""The benchmark's pure parts: the other role's variables, the switchover settings, the changes scenario's table, the report."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jinja2
import pytest
import yaml

BENCH_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "cluster_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("cluster_bench", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_other_role_gets_our_vrrp_instance_and_virtual_server(bench) -> None:
    model = bench.cluster_model(bench.COMPARE_GROUP_VARS["lvs_virtual_services"])
    role_vars = bench.compare_role_vars(model)
    (name, instance), = role_vars["keepalived_instances"].items()
    assert name == "VI_eth1_4_director1"
    assert (instance["interface"], instance["virtual_router_id"], instance["vips"]) == ("eth1", 50, ["198.18.1.50/32 dev eth1"])
    rendered = {host: (jinja2.Template(instance["state"]).render(inventory_hostname=host),
                       jinja2.Template(instance["priority"]).render(inventory_hostname=host))
                for host in ("director1", "director2")}
    assert rendered == {"director1": ("MASTER", "150"), "director2": ("BACKUP", "140")}
    (server,) = role_vars["keepalived_virtual_servers"]
    assert (server["ip"], server["port"], server["lvs_sched"], server["lvs_method"], server["protocol"]) == (
        "198.18.1.50", 80, "rr", "DR", "TCP")
    assert server["real_servers"] == [
        {"ip": address, "port": 80, "tcp_checks": [{"connect_port": 80, "connect_timeout": 3}]}
        for address in ("198.18.1.21", "198.18.1.22")]


# The end of the changes scenario's output, as Ansible's default callback prints the summary.
CHANGES_OUTPUT = '''
TASK [Summary] *****************************************************************
ok: [localhost] => {
    "msg": [
        "| change | s | failed requests |",
        "|---|---|---|",
        "| rs3 added, site.yml --check --diff on director1 | 38 | 0 |",
        "| rs3 added, site.yml | 167 | 0 |",
        "| switchover to director2, switchover.yml | 17 | 1 |",
        "| all, 13075 requests (answers {\\"rs1\\": 6375, \\"rs3\\": 4193}) | 654 | 1 |"
    ]
}
'''


def test_the_changes_table_is_read_from_the_scenario_output(bench) -> None:
    assert bench.changes_table(CHANGES_OUTPUT) == [
        {"change": "rs3 added, site.yml --check --diff on director1", "seconds": 38, "failed": 0},
        {"change": "rs3 added, site.yml", "seconds": 167, "failed": 0},
        {"change": "switchover to director2, switchover.yml", "seconds": 17, "failed": 1},
        {"change": 'all, 13075 requests (answers {"rs1": 6375, "rs3": 4193})', "seconds": 654, "failed": 1},
    ]


def test_an_output_without_the_table_is_an_error(bench) -> None:
    with pytest.raises(RuntimeError, match="no summary table"):
        bench.changes_table("PLAY RECAP\nlocalhost : ok=3 changed=0\n")


def test_the_report_says_when_no_other_role_ran_and_shows_both_when_one_did(bench) -> None:
    assert any("fetches nothing itself" in line for line in bench.compare_section(None))
    recap = {"director1": {"ok": 20, "changed": 0, "skipped": 3}, "director2": {"ok": 19, "changed": 0, "skipped": 3}}
    result = {"cold": 50.0, "rerun": [30.0, 31.0, 32.0], "cold_recap": recap, "rerun_recap": recap}
    lines = bench.compare_section({"role": "keepalived", "lvs.cluster": result, "keepalived": result})
    assert "| lvs.cluster | 50.0 | 31.00 (min 30.00, max 32.00) | director1 20/0/3, director2 19/0/3 |" in lines
    assert any(line.startswith("| keepalived | 50.0 |") for line in lines)
    assert json.dumps(bench.changes_section(None)).count("--skip-changes") == 1


def test_the_hashed_switchover_changes_only_the_scheduler_and_adds_sloppy_tcp_and_forwarding_to_the_role_defaults(bench) -> None:
    defaults = yaml.safe_load((BENCH_PATH.parents[1] / "roles" / "director" / "defaults" / "main.yml").read_text())
    _label, settings = bench.HASHED
    assert settings["director_sysctls"] == {**defaults["director_sysctls"], "net.ipv4.vs.sloppy_tcp": 1,
                                            "net/ipv4/conf/eth1/forwarding": 1}
    assert bench.GROUP_VARS["director_interface"] == "eth1"
    assert settings["director_vrrp_fast_failover"] is True
    plain = bench.GROUP_VARS["lvs_virtual_services"]
    assert [{**service, "scheduler": "rr", "scheduler_flags": []} for service in settings["lvs_virtual_services"]] \
        == [{**service, "scheduler_flags": []} for service in plain]
    assert {service["scheduler"] for service in settings["lvs_virtual_services"]} == {"mh"}


def test_failure_reasons_are_counted_in_words(bench) -> None:
    assert bench.reasons_text({}) == "none failed"
    assert bench.reasons_text({"URLError: timed out": 1, "ConnectionResetError: [Errno 104] Connection reset by peer": 3}) \
        == "3 × ConnectionResetError: [Errno 104] Connection reset by peer, 1 × URLError: timed out"


def test_the_report_has_a_switchover_row_and_its_reasons_for_every_profile(bench, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(bench, "REPORT", tmp_path / "benchmarks.md")
    recap = {"director1": {"ok": 20, "changed": 0, "skipped": 3}}
    kind = {"outages": [0.0, 0.02], "failures": [0, 1], "plot": "benchmarks/x.png"}
    reset = {"ConnectionResetError: [Errno 104] Connection reset by peer": 1}
    bench.write_report({
        "date": "2026-11-23 23:00 UTC", "machine": "2 cores", "total_s": 2700,
        "converge": {"cold": 100.0, "cold_recap": recap, "cold_busy": 150, "cores": 2, "rerun": [27.0], "rerun_recap": recap},
        "profiles": {"fast": {"label": "fast", "graceful": kind, "hard": kind, "switchover": {**kind, "reasons": reset}},
                     "hashed": {"label": "hashed", "switchover": {**kind, "reasons": {}}}},
        "idle": {"minutes": 10.0, "transitions": 0, "with_ipvs": True},
        "converge_transitions": {"seconds": 26.0, "transitions": 0},
        "detection": {"out": [{vip: 1.0 for vip in bench.DETECTION_VIPS}], "back": [{vip: 2.0 for vip in bench.DETECTION_VIPS}]},
        "render_100x100_s": 6.0})
    text = (tmp_path / "benchmarks.md").read_text()
    assert "| hashed | switchover | 2 |" in text and "| hashed | graceful" not in text
    assert "- fast: 1 × ConnectionResetError: [Errno 104] Connection reset by peer" in text
    assert "- hashed: none failed" in text
    assert "were busy for 150 of their 200 core-seconds" in text and "cannot take less than 75 s" in text


def test_busy_time_leaves_out_idle_and_iowait(bench) -> None:
    ticks = bench.os.sysconf("SC_CLK_TCK")
    stat = f"cpu  {3 * ticks} {ticks} {2 * ticks} {50 * ticks} {7 * ticks} {ticks} {ticks} 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
    assert bench.busy_core_seconds(stat) == 8.0


def test_a_proc_stat_without_the_cpu_line_first_is_an_error(bench) -> None:
    with pytest.raises(ValueError, match="cpu line"):
        bench.busy_core_seconds("intr 1 2 3\n")


def test_the_operations_guide_shows_the_sysctls_the_benchmark_measured(bench) -> None:
    guide = (BENCH_PATH.parents[1] / "docs" / "operations.md").read_text()
    block = guide.split("## Planned switchover", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(block) == {"director_sysctls": bench.HASHED[1]["director_sysctls"]}


def test_a_failure_at_the_start_of_a_failover_probe_is_not_the_failover(bench) -> None:
    # The master fails at least 1.3 s into the probe; a request that failed in its first half second was
    # not served to begin with (a client left on the wrong MAC fails from its first request).
    served = [[0.0, True], [0.02, True], [0.48, True], [1.3, False], [1.32, False], [1.76, True]]
    assert bench.failed_at_start(served) == []
    assert bench.failed_at_start([[0.0, False], [0.02, False], [0.5, False], [1.3, False]]) == [0.0, 0.02]
