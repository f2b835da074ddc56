#!/usr/bin/env bash
# make demo / make demo-down: the DR example cluster on the lab.
#   5 UML hosts (two directors, two real servers, a client) from molecule/dr, built by
#   playbooks/site.yml from docs/examples/dr, then shown working and failing over.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
lab=(python3 molecule/_lab/lab.py --name demo)
demo_dir=.build/demo
inventory=$demo_dir/inventory
vip=198.18.1.50

on() { local host=$1; shift; "${lab[@]}" ssh "$host" "$@"; }
vip_holder() {
    local director
    for director in director1 director2; do
        if on "$director" ip -o -4 addr show dev eth1 | grep -q " $vip/32 "; then echo "$director"; fi
    done
}
# Waits until DIRECTOR alone holds the VIP (at most 30 s) and says how long that took.
wait_for_holder() {
    local director=$1 waited=0
    until [[ $(vip_holder) == "$director" ]]; do
        if ((waited >= 30)); then echo "==> after 30 s the VIP is on: $(vip_holder), not $director" >&2; return 1; fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "==> the VIP is on: $director (within ${waited} s)"
}
ask_vip() {
    on client "for i in 1 2 3 4 5 6; do curl -s -m 1 http://$vip/ || echo FAILED; done" | tr '\n' ' '
    echo
}

case "${1:?usage: demo.sh up|down}" in
    up)
        scripts/host-deps.sh lab
        mkdir -p "$inventory" .build/live/ansible_collections/lvs
        ln -sfn "$repo" .build/live/ansible_collections/lvs/cluster
        .venv/bin/python - <<'PY' > "$demo_dir/topology.json"
import json, yaml
print(json.dumps(yaml.safe_load(open("molecule/dr/molecule.yml"))["platforms"]))
PY
        "${lab[@]}" up --topology "$demo_dir/topology.json"
        "${lab[@]}" inventory > "$inventory/hosts.yml"
        ln -sfn "$repo/docs/examples/dr/group_vars" "$inventory/group_vars"
        ln -sfn "$repo/docs/examples/dr/host_vars" "$inventory/host_vars"
        echo
        echo "==> inventory: $inventory (hosts from the lab, variables from docs/examples/dr)"
        cat "$inventory/hosts.yml"
        echo
        echo "==> building the cluster: ansible-playbook -i $inventory lvs.cluster.site"
        ANSIBLE_COLLECTIONS_PATH="$repo/.build/live:$repo/.venv/lib/python3.11/site-packages" \
            ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 \
            .venv/bin/ansible-playbook -i "$inventory" lvs.cluster.site
        sleep 3
        echo
        echo "==> the VIP $vip is on: $(vip_holder)"
        echo "==> the client asks the VIP six times:"; ask_vip
        echo
        echo "==> stopping keepalived on director1"
        on director1 systemctl stop keepalived
        wait_for_holder director2
        echo "==> the client asks again:"; ask_vip
        echo
        echo "==> starting keepalived on director1 again (it preempts: higher priority, after"
        echo "    director_vrrp_preempt_delay, 5 s in this example)"
        on director1 systemctl start keepalived
        wait_for_holder director1
        echo "==> the client asks again:"; ask_vip
        echo
        echo "==> try it yourself"
        echo "  python3 molecule/_lab/lab.py --name demo ssh director1 ipvsadm -Ln"
        echo "  python3 molecule/_lab/lab.py --name demo kill director1      # a hard failure; 'start' brings it back"
        echo "  .venv/bin/ansible -i $inventory all -m ansible.builtin.ping"
        echo "  make demo-down"
        ;;
    down)
        "${lab[@]}" down
        ;;
    *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac
