"""host_state: the one read the roles run on a host, parsed; and the script itself, run here."""
from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.file_state import file_differs, path_differs
from ansible_collections.lvs.cluster.plugins.filter.host_state import (
    host_state,
    host_state_command,
    ipvs_services,
    kernel_settings_differ,
    vip_addresses_differ,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "host_state"
CONFIG_TEST = "/usr/local/sbin/lvs-keepalived-config-test"


def fixture(name: str) -> dict:
    return host_state((FIXTURES / name).read_text())


def test_a_prepared_director_as_read_in_the_lab() -> None:
    found = fixture("director-prepared.txt")
    assert found["os_family"] == "Debian"
    assert found["installed"] == ["keepalived", "ipvsadm"]
    assert found["users"] == {"keepalived_script": "/usr/sbin/nologin"}
    assert found["matches"] == {"/etc/default/ipvsadm": ['AUTO="false"']}
    assert found["units"] == {"ipvsadm": {"active": "active", "enabled": "enabled"}}
    assert path_differs(found["files"], "/etc/lvs", "0755", directory=True) is False
    assert path_differs(found["files"], "/etc/keepalived/secrets", "0700", directory=True) is False
    assert path_differs(found["files"], "/etc/default/ipvsadm", "0644") is False
    config_test = (Path(__file__).parents[4] / "roles" / "director" / "files" / "lvs-keepalived-config-test").read_text()
    assert file_differs(found["files"], CONFIG_TEST, config_test, "0755") is False


def test_a_fresh_host_as_read_in_the_lab_has_nothing() -> None:
    found = fixture("director-fresh.txt")
    assert found == {"os_family": "Debian", "installed": [], "files": [], "users": {}, "matches": {},
                     "units": {"ipvsadm": {"active": "inactive", "enabled": ""}}, "sysctls": {}, "modules": {},
                     "addresses": [], "ipvs": None, "iptables": [], "nft": {}}
    assert path_differs(found["files"], "/etc/lvs", "0755", directory=True) is True


def test_a_real_server_with_the_demo_backend_as_read_in_the_lab() -> None:
    found = fixture("realserver-demo.txt")
    assert found["installed"] == ["nginx"]
    assert {unit: state["active"] for unit, state in found["units"].items()} == {
        "lvs-realserver-vips.service": "active", "nginx.service": "active", "lvs-demo-echo.service": "active"}
    assert file_differs(found["files"], "/var/www/html/index.html", "rs1\n", "0644") is False
    assert file_differs(found["files"], "/var/www/html/index.html", "rs2\n", "0644") is True


def test_a_directory_where_a_file_is_wanted_differs() -> None:
    found = host_state("path\t/etc/lvs\tfile\troot root 755\tda39a3ee5e6b4b0d3255bfef95601890afd80709  -\n")
    assert path_differs(found["files"], "/etc/lvs", "0755", directory=True) is True
    assert path_differs(found["files"], "/etc/lvs", "0755") is False
    assert path_differs(found["files"], "/etc/lvs", "0700") is True
    assert path_differs(found["files"], "/etc/lvs", "0755", owner="keepalived_script") is True


def test_families_from_os_release() -> None:
    assert host_state("os\tubuntu\tdebian\n")["os_family"] == "Debian"
    assert host_state('os\trocky\trhel centos fedora\n')["os_family"] == "RedHat"
    assert host_state("os\tfedora\t\n")["os_family"] == "RedHat"
    assert host_state("os\tarch\t\n")["os_family"] == "arch"
    assert host_state("os\t\t\n")["os_family"] == "unknown (no ID in /etc/os-release)"


@pytest.mark.parametrize("line", ["", "package\tnginx\tmaybe", "path\t/etc/lvs\tdirectory\troot root\t-",
                                  "path\t/etc/lvs\tdirectory\troot root 9z\t-", "user\tx\tpresent", "unknown\tfoo bar",
                                  "something else"])
def test_a_line_it_does_not_understand_is_refused(line: str) -> None:
    with pytest.raises(AnsibleFilterError, match="does not understand"):
        host_state(f"os\tdebian\t\n{line}\n")


def test_an_unknown_item_is_refused_before_anything_runs() -> None:
    with pytest.raises(AnsibleFilterError, match="unknown item 'file /etc/lvs'"):
        host_state_command(["path /etc/lvs", "file /etc/lvs"])


def test_the_script_reads_this_machine(tmp_path: Path) -> None:
    # The same argv the roles run, here on real files: a file, a directory, a missing path, lines.
    program = tmp_path / "prog"
    program.write_text("AUTO=\"true\"\n# AUTO=\"x\"\nAUTO=\"false\"\tand a tab\n")
    program.chmod(0o750)
    (tmp_path / "dir").mkdir(mode=0o700)
    user = pwd.getpwuid(os.getuid())
    items = ["os", f"path {program}", f"path {tmp_path / 'dir'}", f"path {tmp_path / 'missing'}",
             f"match {program} ^AUTO=", f"match {tmp_path / 'missing'} ^AUTO=", f"user {user.pw_name}",
             "user no-such-user-here", "package no-such-package-here", "sysctl kernel.ostype",
             "sysctl net/ipv4/no_such_key_here", "module no-such-module-here", "unit no-such-unit-here.service"]
    output = subprocess.run(host_state_command(items), capture_output=True, text=True, check=True).stdout
    found = host_state(output)
    assert found["os_family"] is not None
    assert found["matches"] == {str(program): ['AUTO="true"', 'AUTO="false"\tand a tab']}
    assert found["users"] == {user.pw_name: user.pw_shell}
    assert found["installed"] == []
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()
    assert file_differs(found["files"], str(program), program.read_text(), "0750", user.pw_name, group) is False
    assert path_differs(found["files"], str(tmp_path / "dir"), "0700", user.pw_name, group, directory=True) is False
    assert [entry["path"] for entry in found["files"]] == [str(program), str(tmp_path / "dir")]
    assert found["files"][0]["checksum"] == hashlib.sha1(program.read_bytes()).hexdigest()
    assert found["sysctls"] == {"kernel.ostype": Path("/proc/sys/kernel/ostype").read_text().strip(),
                                "net/ipv4/no_such_key_here": None}
    assert found["modules"] == {"no_such_module_here": False}
    assert found["units"]["no-such-unit-here.service"]["enabled"] == ""


def test_glob_items_read_the_regular_files_a_pattern_matches(tmp_path: Path) -> None:
    (tmp_path / "a.rules").write_text("a\n")
    (tmp_path / "b.rules").write_text("")
    (tmp_path / "c.nft").write_text("c\n")
    (tmp_path / "d.rules").mkdir()
    items = [f"glob {tmp_path}/*.rules", f"glob {tmp_path}/*.none", f"glob {tmp_path}/c.nft", f"path {tmp_path}/c.nft"]
    output = subprocess.run(host_state_command(items), capture_output=True, text=True, check=True).stdout
    files = host_state(output)["files"]
    assert [entry["path"] for entry in files] == [f"{tmp_path}/{name}" for name in ("a.rules", "b.rules", "c.nft", "c.nft")]
    assert files[1]["checksum"] == hashlib.sha1(b"").hexdigest()


@pytest.mark.skipif(shutil.which("ip") is None, reason="no ip on this machine")
def test_the_script_reads_the_addresses_of_this_machine() -> None:
    output = subprocess.run(host_state_command(["addresses"]), capture_output=True, text=True, check=True).stdout
    assert any(" lo " in line and " inet 127.0.0.1/8 " in line for line in host_state(output)["addresses"])


# rs1 of the bench lab, a DR real server of four VIPs, read with the items the realserver role asks for.
RS1_SYSCTLS = {"net.ipv4.conf.all.arp_ignore": 1, "net.ipv4.conf.all.arp_announce": 2,
               "net.ipv4.conf.lo.arp_ignore": 1, "net.ipv4.conf.lo.arp_announce": 2}
RS1_VIPS = [f"198.18.1.{last}/32 dev lo" for last in (50, 51, 52, 53)]
RS1_FILES = ("/etc/modules-load.d/lvs-realserver.conf", "/etc/sysctl.d/60-lvs-realserver.conf")


def test_kernel_settings_as_set_do_not_differ() -> None:
    found = fixture("realserver-dr-kernel.txt")
    assert kernel_settings_differ(found, [], RS1_SYSCTLS, *RS1_FILES) is False
    # A value given as a string or a boolean is written the same way.
    assert kernel_settings_differ(found, [], {**RS1_SYSCTLS, "net.ipv4.conf.all.arp_ignore": "1"}, *RS1_FILES) is False


@pytest.mark.parametrize("modules, sysctls", [
    (["ipip"], RS1_SYSCTLS),  # a module not loaded, and a modules file to write
    ([], {**RS1_SYSCTLS, "net.ipv4.conf.lo.arp_ignore": 2}),  # another value
    ([], {key: value for key, value in RS1_SYSCTLS.items() if key != "net.ipv4.conf.lo.arp_ignore"}),  # the file shrinks
    ([], {**RS1_SYSCTLS, "net.ipv4.conf.all.rp_filter": 0}),  # a key the read has no value for
    ([], {}),  # the sysctl file goes
    (["no such module"], RS1_SYSCTLS),  # refused by the module, which must run to say so
])
def test_kernel_settings_that_would_change_differ(modules: list, sysctls: dict) -> None:
    assert kernel_settings_differ(fixture("realserver-dr-kernel.txt"), modules, sysctls, *RS1_FILES) is True


def test_a_changed_sysctl_file_differs_even_with_the_values_live() -> None:
    found = fixture("realserver-dr-kernel.txt")
    found["files"] = [{**entry, "checksum": "0" * 40} if entry["path"] == RS1_FILES[1] else entry for entry in found["files"]]
    assert kernel_settings_differ(found, [], RS1_SYSCTLS, *RS1_FILES) is True


def test_vips_held_do_not_differ() -> None:
    found = fixture("realserver-dr-kernel.txt")
    assert vip_addresses_differ(found, RS1_VIPS) is False
    assert vip_addresses_differ(found, RS1_VIPS[:2]) is False


@pytest.mark.parametrize("addresses", [
    [*RS1_VIPS, "198.18.1.54/32 dev lo"],  # not held yet
    ["198.18.1.50/32 dev tunl0"],  # held on another device
    ["198.18.1.50/32 dev lo label lo:vip"],  # held with another label
    ["not an address dev lo"],  # refused by the module, which must run to say so
])
def test_vips_to_add_differ(addresses: list) -> None:
    assert vip_addresses_differ(fixture("realserver-dr-kernel.txt"), addresses) is True


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="no dpkg on this machine")
def test_the_script_finds_an_installed_package() -> None:
    output = subprocess.run(host_state_command(["package dpkg"]), capture_output=True, text=True, check=True).stdout
    assert host_state(output)["installed"] == ["dpkg"]


IPVSADM = Path(__file__).parents[2] / "fixtures" / "ipvsadm"


def ipvs_read(**listings: str) -> str:
    """The ipvs item's lines, as the script prints them, around captured ipvsadm output."""
    lines = [f"ipvs\t{name}\t{line}\n" for name, text in listings.items() for line in text.splitlines()]
    return "ipvs\tread\n" + "".join(lines)


def test_the_ipvs_item_gives_the_table_as_ipvs_info_does() -> None:
    saved = (IPVSADM / "save.txt").read_text()
    found = host_state(ipvs_read(save=saved, thresholds=(IPVSADM / "thresholds.txt").read_text(),
                                 listing=(IPVSADM / "list.txt").read_text()))
    services = ipvs_services(found)
    assert len(services) == saved.count("-A ")
    web = next(service for service in services if service.get("address") == "198.18.1.50" and service["port"] == 80)
    assert web["scheduler"] == "wrr"
    assert [(rs["address"], rs["weight"], rs["active_connections"]) for rs in web["real_servers"]] == [
        ("198.18.2.21", 1, 0), ("198.18.2.22", 2, 0), ("198.18.2.23", 1, 0)]


def test_the_ipvs_item_read_in_the_lab_gives_what_ipvs_info_returned_there() -> None:
    # director1 of the bench lab, read with the item and, a moment later, with the module.
    expected = json.loads((FIXTURES / "director-ipvs-info.json").read_text())
    assert len(expected) == 4
    assert ipvs_services(fixture("director-ipvs.txt")) == expected


def test_an_empty_table_and_a_host_without_ipvsadm_have_no_services() -> None:
    assert ipvs_services(host_state("ipvs\tread\n")) == []
    assert ipvs_services(host_state("ipvs\tmissing\n")) == []
    assert ipvs_services(host_state("os\tdebian\t\n")) == []


def test_a_kernel_without_ipvs_is_named_with_what_to_do() -> None:
    found = host_state(ipvs_read(error=(IPVSADM / "no_ipvs_stderr.txt").read_text()))
    with pytest.raises(AnsibleFilterError, match="modprobe ip_vs.*ipvsadm said: Can't initialize ipvs"):
        ipvs_services(found)


def test_an_ipvs_line_of_an_unknown_listing_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="does not understand"):
        host_state("ipvs\tread\nipvs\tstats\tTCP  198.18.1.50:80\n")


def test_the_firewall_items_keep_every_line() -> None:
    found = host_state("iptables\t-P INPUT ACCEPT\niptables\t-A INPUT -p tcp -j DROP\n"
                       "nft\tinet filter input\ttable inet filter {\n"
                       "nft\tinet filter input\t\tchain input {\n"
                       "nft\tinet filter forward\tError: No such file or directory\n")
    assert found["iptables"] == ["-P INPUT ACCEPT", "-A INPUT -p tcp -j DROP"]
    assert found["nft"] == {"inet filter input": ["table inet filter {", "\tchain input {"],
                            "inet filter forward": ["Error: No such file or directory"]}
