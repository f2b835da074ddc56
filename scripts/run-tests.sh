#!/usr/bin/env bash
# Runs the test stages in order, times each one, and prints the times at the end.
#   run-tests.sh all          every stage, Molecule scenarios last
#   run-tests.sh fast         every stage but Molecule
#   run-tests.sh STAGE...     the named stages (yamllint ansible-lint docs sanity units molecule)
#   run-tests.sh molecule S   only Molecule scenario S
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1

# ansible-test only works from inside ansible_collections/<namespace>/<name>; it
# resolves symlinks, so the collection is copied there (tracked and untracked,
# not ignored files) before sanity and unit tests.
build_root="$repo/.build/sanity"
collection="$build_root/ansible_collections/lvs/cluster"

sync_collection() {
    rm -rf "$collection"
    mkdir -p "$collection"
    git ls-files -z --cached --others --exclude-standard \
        | tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null \
        | tar -xf - -C "$collection"
    # ansible-test lists files through the nearest git repository; without one of
    # its own the copy would inherit the outer checkout, which ignores .build.
    git -C "$collection" init -q
}

# ansible-lint and Molecule use this checkout itself, through a symlink on
# ANSIBLE_COLLECTIONS_PATH; the ansible package supplies the dependencies.
live_root="$repo/.build/live"
mkdir -p "$live_root/ansible_collections/lvs"
ln -sfn "$repo" "$live_root/ansible_collections/lvs/cluster"
export ANSIBLE_COLLECTIONS_PATH="$live_root:$repo/.venv/lib/python3.11/site-packages"

scripts/host-deps.sh test

stage_yamllint() { yamllint --strict .; }

# The variable reference is generated from the roles' argument specs; a stale copy fails.
stage_docs() { python scripts/role-reference.py --check; }

stage_ansible_lint() { ansible-lint --offline --profile production --strict; }

# ansible-test --venv bootstraps each test venv with a get-pip script it would
# download from a host that is unreachable here; a stand-in that uses ensurepip
# and then installs what it is asked for is put where ansible-test looks first.
write_get_pip_stand_in() {
    local pip_version cache
    pip_version=$(python - <<'PY'
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version="3.11"))["pip"])
PY
)
    cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
    mkdir -p "$(dirname "$cache")"
    cat > "$cache" <<'PY'
"""Stand-in for get-pip.py: pip from ensurepip, then the requested packages."""
import subprocess
import sys

subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.run([sys.executable, "-m", "pip", "install", *args], check=True)
PY
}

stage_sanity() {
    sync_collection
    write_get_pip_stand_in
    local log="$build_root/sanity.log" rc=0
    (cd "$collection" && ansible-test sanity --venv --python 3.11 --color no) 2>&1 | tee "$log" || rc=$?
    [[ $rc -eq 0 ]] || return $rc
    # A sanity test whose tool is missing is skipped with only a warning; that is a failure here.
    if grep -E 'Required program .* not found' "$log"; then
        echo "sanity: a test was skipped for a missing program (see above)" >&2
        return 1
    fi
}

stage_units() {
    sync_collection
    local rc=0
    (cd "$collection" && PYTHONPATH="$build_root" python -m pytest -q -n auto tests/unit) || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "units: pytest collected no tests" >&2
    fi
    return $rc
}

molecule_scenarios() {
    local dir
    for dir in molecule/*/; do
        dir=${dir%/}
        [[ -f "$dir/molecule.yml" ]] && basename "$dir"
        :
    done
}

# Longest first, so the pool of parallel labs ends together; unlisted scenarios run last.
MOLECULE_ORDER=(dr changes vrrp_only nat persistence checkers tun static ipvs_modules lab)

ordered_scenarios() {
    local known scenario
    mapfile -t known < <(molecule_scenarios)
    for scenario in "${MOLECULE_ORDER[@]}"; do
        [[ " ${known[*]} " == *" $scenario "* ]] && echo "$scenario"
    done
    for scenario in "${known[@]}"; do
        [[ " ${MOLECULE_ORDER[*]} " == *" $scenario "* ]] || echo "$scenario"
    done
}

# From an Ansible log: each failed task's name and its message (up to 15 lines each), and
# Molecule's own errors; at most the last 60 lines of that. Molecule logs the missing default
# scenario as CRITICAL at every start and then goes on, so that line is no error.
failed_tasks() {
    awk '
        /^CRITICAL .molecule\/default\/molecule\.yml. glob failed/ { next }
        /^TASK \[/ { task = $0; shown = 0; next }
        /^(fatal|failed): / { if (!shown) print task; shown = 1; left = 15 }
        /^(PLAY|TASK|RUNNING HANDLER) \[/ || /^$/ { left = 0 }
        /^(CRITICAL|ERROR) / { print }
        left > 0 { print substr($0, 1, 2000); left-- }
    ' "$1" | tail -n 60
}

# What of any lab is on the machine, one sorted line per thing; nothing when there is none.
lab_leftovers() {
    python3 molecule/_lab/lab.py leftovers | grep -vx "nothing of any lab is left" | sort || true
}

# One scenario, its output to its own log; the result line is read when it ends. It names the
# kernel, Debian release and keepalived version the lab said it booted.
run_scenario() {
    local scenario=$1 log=$2 t0=$SECONDS result=ok ran
    molecule test -s "$scenario" > "$log" 2>&1 || result=FAILED
    ran=$(grep -o -m 1 'kernel [^,]*, Debian [a-z]*, keepalived [^)"]*' "$log" || echo "no lab booted")
    echo "$((SECONDS - t0)) $result ($ran)" > "$log.result"
}

# Scenarios run LVS_TEST_JOBS at a time (default 2), each in its own lab slot: a
# scenario leaves about half of the machine's two cores idle while it waits on
# its hosts. Each scenario's log is printed whole when it ends.
stage_molecule() {
    local scenarios=("$@")
    if [[ ${#scenarios[@]} -eq 0 ]]; then
        mapfile -t scenarios < <(ordered_scenarios)
    fi
    if [[ ${#scenarios[@]} -eq 0 ]]; then
        echo "molecule: no scenarios yet"
        return 0
    fi
    finish_lab_preparation || return
    scripts/host-deps.sh lab || return
    local jobs=${LVS_TEST_JOBS:-2} logs="$repo/.build/molecule-logs" failures=0 scenario
    # A lab that was up before the run (a demo, a bench) is not the scenarios' to tear
    # down, nor theirs to answer for: only what appeared during the run fails it.
    local before_run
    before_run=$(lab_leftovers)
    if [[ -n $before_run ]]; then
        echo "molecule: a lab was already up before the run; left alone and not counted:"
        echo "$before_run"
    fi
    rm -rf "$logs" && mkdir -p "$logs"
    local -A running=()
    finish_one() {
        local pid ended took result ran
        wait -n -p pid "${!running[@]}" || true
        ended=${running[$pid]}
        unset "running[$pid]"
        read -r took result ran < "$logs/$ended.log.result" || { took="?"; result=FAILED; ran=""; }
        echo "==> molecule/$ended: $took s $result $ran"
        cat "$logs/$ended.log"
        [[ $result == ok ]] || failures=$((failures + 1))
        timings+=("  molecule/$ended: $took s $result $ran")
        if [[ $result != ok ]]; then
            failure_digest+=("molecule/$ended, its failed tasks and their messages:")
            mapfile -t -O "${#failure_digest[@]}" failure_digest < <(failed_tasks "$logs/$ended.log")
        fi
    }
    for scenario in "${scenarios[@]}"; do
        while [[ ${#running[@]} -ge $jobs ]]; do finish_one; done
        echo "==> molecule/$scenario: started ($(date -u +%H:%M:%S))"
        run_scenario "$scenario" "$logs/$scenario.log" &
        running[$!]=$scenario
    done
    while [[ ${#running[@]} -gt 0 ]]; do finish_one; done
    # Every scenario's destroy must have left nothing of its lab on the machine.
    local left_by_run
    left_by_run=$(comm -13 <(echo "$before_run") <(lab_leftovers))
    if [[ -n $left_by_run ]]; then
        echo "molecule: the scenarios left these behind:"
        echo "$left_by_run"
        failures=$((failures + 1))
    fi
    return $((failures > 0))
}

# With every stage, the lab's host packages and a rootfs per Debian release (minutes
# each on a fresh machine, mostly downloads and unpacking) are prepared beside the fast stages;
# Molecule waits for them.
lab_preparation_pid=""
lab_preparation_log="$repo/.build/lab-preparation.log"
start_lab_preparation() {
    mkdir -p "$(dirname "$lab_preparation_log")"
    (
        t0=$SECONDS rc=0
        { scripts/host-deps.sh lab && python3 molecule/_lab/lab.py build --release bookworm --release trixie; } || rc=$?
        echo "lab preparation beside the fast stages: $((SECONDS - t0)) s, exit $rc"
        exit $rc
    ) > "$lab_preparation_log" 2>&1 &
    lab_preparation_pid=$!
}
finish_lab_preparation() {
    [[ -n $lab_preparation_pid ]] || return 0
    local rc=0
    wait "$lab_preparation_pid" || rc=$?
    lab_preparation_pid=""
    cat "$lab_preparation_log"
    timings+=("$(tail -n 1 "$lab_preparation_log")")
    return $rc
}

timings=()
passed=0
failed=0
run_stage() {
    local name=$1; shift
    local fn="stage_${name//-/_}" t0 rc=0
    echo "==> $name"
    t0=${EPOCHREALTIME/[.,]/}
    "$fn" "$@" || rc=$?
    local took_ms=$(( (${EPOCHREALTIME/[.,]/} - t0) / 1000 ))
    local took="$((took_ms / 1000)).$(( (took_ms % 1000) / 100 ))"
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1)); timings+=("$name: $took s ok")
    else
        failed=$((failed + 1)); timings+=("$name: $took s FAILED (exit $rc)")
    fi
    return $rc
}

# A failed scenario's log is long; the report repeats what failed in it, last, where CI output ends.
failure_digest=()
report() {
    echo
    echo "==> stage times"
    printf '%s\n' "${timings[@]}"
    if [[ ${#failure_digest[@]} -gt 0 ]]; then
        echo "==> what failed"
        printf '%s\n' "${failure_digest[@]}"
    fi
    echo "stages: $passed passed, $failed failed"
}
# A run that stops early still lets the preparation finish, so no build is left half done.
trap 'finish_lab_preparation >/dev/null || true; report' EXIT

case "${1:-all}" in
    all) stages=(yamllint ansible-lint docs sanity units molecule); start_lab_preparation ;;
    fast) stages=(yamllint ansible-lint docs sanity units) ;;
    molecule) shift; run_stage molecule "$@"; exit ;;
    *) stages=("$@") ;;
esac
for stage in "${stages[@]}"; do
    run_stage "$stage"
done
