from __future__ import annotations

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils._kernel import (
    HEADER,
    KernelSettingsError,
    LiveState,
    check_options,
    FileChange,
    diff,
    file_changes,
    plan,
    read_loaded_modules,
    render_modules_file,
    render_sysctl_file,
    sysctl_path,
)

MODULES = ["ip_vs", "ip_vs_wrr"]
SYSCTLS = {"net.ipv4.vs.expire_nodest_conn": 1, "net.ipv4.ip_forward": "1"}


def converged(**changes) -> LiveState:
    state = {
        "modules_file": render_modules_file(MODULES),
        "sysctl_file": render_sysctl_file(SYSCTLS),
        "loaded_modules": frozenset({"ip_vs", "ip_vs_wrr", "nf_conntrack"}),
        "sysctl_values": {"net.ipv4.vs.expire_nodest_conn": "1\n", "net.ipv4.ip_forward": "1\n"},
    }
    state.update(changes)
    return LiveState(**state)


def test_converged_host_needs_nothing():
    todo = plan(MODULES, SYSCTLS, converged())
    assert not todo.changed
    assert diff(todo, converged(), "/m", "/s") == []


def test_fresh_host_gets_files_modules_and_values():
    # Before ip_vs is loaded its sysctl keys do not exist yet.
    live = LiveState(None, None, frozenset(), {"net.ipv4.vs.expire_nodest_conn": None, "net.ipv4.ip_forward": "0\n"})
    todo = plan(MODULES, SYSCTLS, live)
    assert todo.modules_file == f"{HEADER}ip_vs\nip_vs_wrr\n"
    assert todo.sysctl_file == f"{HEADER}net.ipv4.vs.expire_nodest_conn = 1\nnet.ipv4.ip_forward = 1\n"
    assert todo.load_modules == MODULES
    assert todo.set_sysctls == {"net.ipv4.vs.expire_nodest_conn": "1", "net.ipv4.ip_forward": "1"}
    running = diff(todo, live, "/m", "/s")[-1]
    assert running["before"] == "net.ipv4.vs.expire_nodest_conn = (not there yet)\nnet.ipv4.ip_forward = 0\n"
    assert running["after"] == "loaded ip_vs\nloaded ip_vs_wrr\nnet.ipv4.vs.expire_nodest_conn = 1\nnet.ipv4.ip_forward = 1\n"


def test_a_value_changed_at_runtime_is_set_back_without_rewriting_the_file():
    todo = plan(MODULES, SYSCTLS, converged(sysctl_values={"net.ipv4.vs.expire_nodest_conn": "0\n",
                                                           "net.ipv4.ip_forward": "1\n"}))
    assert todo.sysctl_file is None and todo.modules_file is None
    assert todo.set_sysctls == {"net.ipv4.vs.expire_nodest_conn": "1"}


def test_multi_field_values_compare_field_by_field():
    sysctls = {"net.ipv4.ip_local_port_range": "32768 60999"}
    live = converged(sysctl_file=render_sysctl_file(sysctls),
                     sysctl_values={"net.ipv4.ip_local_port_range": "32768\t60999\n"})
    assert not plan(MODULES, sysctls, live).changed


def test_module_names_with_dashes_match_the_kernel_listing():
    live = converged(modules_file=render_modules_file(["ip-vs"]))
    assert plan(["ip-vs"], SYSCTLS, live).load_modules == []


def test_edited_file_is_rewritten_and_diffed():
    live = converged(sysctl_file=HEADER + "net.ipv4.ip_forward = 0\n")
    todo = plan(MODULES, SYSCTLS, live)
    (file_diff,) = diff(todo, live, "/m", "/s")
    assert file_diff["before_header"] == "/s"
    assert file_diff["after"] == render_sysctl_file(SYSCTLS)


def test_nothing_to_hold_removes_the_files():
    todo = plan([], {}, converged())
    assert todo.remove_modules_file and todo.remove_sysctl_file
    assert [entry["after"] for entry in diff(todo, converged(), "/m", "/s")] == ["", ""]
    assert not plan([], {}, LiveState(None, None, frozenset(), {})).changed


def test_file_changes_pair_each_touched_file_with_its_path():
    live = converged(sysctl_file=HEADER + "net.ipv4.ip_forward = 0\n")
    assert file_changes(plan(MODULES, SYSCTLS, live), live, "/m", "/s") == [
        FileChange("/s", HEADER + "net.ipv4.ip_forward = 0\n", render_sysctl_file(SYSCTLS))]
    assert file_changes(plan([], SYSCTLS, converged()), converged(), "/m", "/s") == [
        FileChange("/m", render_modules_file(MODULES), None)]


@pytest.mark.parametrize("modules, sysctls, message", [
    (["ip vs"], {}, "modules: 'ip vs' is not a kernel module name"),
    ([], {"ip_forward": 1}, "sysctls: 'ip_forward' is not a sysctl key"),
    ([], {"net.ipv4.ip_forward": " "}, "sysctls: net.ipv4.ip_forward has an empty value"),
])
def test_bad_options_are_named(modules, sysctls, message):
    with pytest.raises(KernelSettingsError, match=message):
        check_options(modules, sysctls)


def test_sysctl_paths():
    assert sysctl_path("net.ipv4.vs.conntrack") == "/proc/sys/net/ipv4/vs/conntrack"
    assert sysctl_path("net/ipv4/conf/eth0.100/rp_filter") == "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"
    check_options([], {"net/ipv4/conf/eth0.100/rp_filter": 0})


def test_loaded_modules_come_from_proc_and_sys(tmp_path):
    proc = tmp_path / "modules"
    # The format of /proc/modules.
    proc.write_text("ip_vs_wrr 12288 1 - Live 0x0000000000000000\n"
                    "ip_vs 163840 3 ip_vs_wrr, Live 0x0000000000000000\n")
    sys_module = tmp_path / "sys"
    (sys_module / "ipv6").mkdir(parents=True)
    assert read_loaded_modules(str(proc), str(sys_module)) == {"ip_vs_wrr", "ip_vs", "ipv6"}
