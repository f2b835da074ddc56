"""The director role's config-test wrapper (roles/director/files/lvs-keepalived-config-test) per keepalived version.

Before 2.2.8 keepalived's test is killed whenever a script would run as a non-root user, so the
wrapper tests a copy whose script user is root; from 2.2.8 on it tests the file itself, since 2.3
refuses a root script with a symlinked directory in its path (/bin on Debian) where the file's own
script user runs it. A stand-in keepalived on PATH answers --version with the version lines
captured from Debian's packages and records the file it was asked to test; test_keepalived_conf.py
runs the real keepalived of this machine through the same wrapper.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

WRAPPER = Path(__file__).parents[3] / "roles" / "director" / "files" / "lvs-keepalived-config-test"
# keepalived --version, first line, as Debian 12's (2.2.7) and Debian 13's (2.3.3) packages print it.
VERSIONS = {
    "2.2.7": "Keepalived v2.2.7 (01/16,2022)",
    "2.3.3": "Keepalived v2.3.3 (03/30,2025)",
}
# What keepalived 2.3.3 prints testing a file whose track script, run as root, is /bin/pidof
# (/bin is a symlink to usr/bin), captured on a lab director on Debian 13.
INSECURE_AS_ROOT = "Disabling track script chk_nginx due to insecure"
CONFIG = """global_defs {
    script_user keepalived_script
    enable_script_security
}
vrrp_script chk_nginx {
    script "/bin/pidof nginx"
}
"""

STAND_IN = r"""#!/bin/sh
if [ "$1" = --version ]; then
    printf '%s\n' "$STAND_IN_VERSION" "Copyright(C) 2001-2025 Alexandre Cassen, <acassen@gmail.com>" >&2
    exit 0
fi
while [ $# -gt 0 ]; do
    [ "$1" = --use-file ] && cp "$2" "$STAND_IN_TESTED"
    shift
done
# As 2.3.3 does: a root script under the symlinked /bin is refused.
if grep -q '^ *script_user root' "$STAND_IN_TESTED" && grep -q '"/bin/' "$STAND_IN_TESTED"; then
    echo "$STAND_IN_INSECURE" >&2
    exit 5
fi
exit 0
"""


def run_wrapper(tmp_path: Path, version_line: str) -> tuple[subprocess.CompletedProcess, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "keepalived"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    config = tmp_path / "keepalived.conf"
    config.write_text(CONFIG)
    tested = tmp_path / "tested.conf"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STAND_IN_VERSION": version_line,
           "STAND_IN_TESTED": str(tested), "STAND_IN_INSECURE": INSECURE_AS_ROOT}
    result = subprocess.run([str(WRAPPER), str(config)], capture_output=True, text=True, env=env, check=False)
    return result, tested.read_text()


def test_keepalived_2_3_tests_the_file_with_its_own_script_user(tmp_path: Path) -> None:
    result, tested = run_wrapper(tmp_path, VERSIONS["2.3.3"])
    assert result.returncode == 0, result.stderr
    assert tested == CONFIG


def test_keepalived_2_2_7_tests_a_copy_run_as_root(tmp_path: Path) -> None:
    result, tested = run_wrapper(tmp_path, VERSIONS["2.2.7"])
    assert tested == CONFIG.replace("script_user keepalived_script", "script_user root")
    # The stand-in refuses that copy as 2.3.3 would: the wrapper passes the refusal on.
    assert result.returncode == 5
    assert INSECURE_AS_ROOT in result.stderr


@pytest.mark.parametrize("line", ["Keepalived v2.2.8 (04/04,2023)", "Keepalived v2.10.1 (01/01,2030)"])
def test_versions_from_2_2_8_test_the_file_itself(tmp_path: Path, line: str) -> None:
    result, tested = run_wrapper(tmp_path, line)
    assert result.returncode == 0, result.stderr
    assert tested == CONFIG
