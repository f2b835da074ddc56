#!/usr/bin/env bash
# make demo / make demo-down: the 5-host lab of molecule/lab (two directors, two
# real servers, a client) for trying things by hand.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
lab=(python3 molecule/_lab/lab.py --name demo)

case "${1:?usage: demo.sh up|down}" in
    up)
        scripts/host-deps.sh lab
        mkdir -p .build
        .venv/bin/python - <<'PY' > .build/demo-topology.json
import json, yaml
print(json.dumps(yaml.safe_load(open("molecule/lab/molecule.yml"))["platforms"]))
PY
        "${lab[@]}" up --topology .build/demo-topology.json
        "${lab[@]}" inventory > .build/demo-inventory.yml
        echo
        echo "==> inventory (.build/demo-inventory.yml)"
        cat .build/demo-inventory.yml
        echo
        echo "==> try it"
        echo "  python3 molecule/_lab/lab.py --name demo ssh director1"
        echo "  .venv/bin/ansible -i .build/demo-inventory.yml all -m ansible.builtin.ping"
        echo "  python3 molecule/_lab/lab.py --name demo kill director1   # and: start director1"
        echo "  make demo-down"
        echo
        echo "make demo: the roles have not landed yet, so the demo stops at the bare lab;"
        echo "make demo: keepalived, VIPs and traffic through IPVS come with roles/director and roles/realserver."
        ;;
    down)
        "${lab[@]}" down
        ;;
    *) echo "usage: demo.sh up|down" >&2; exit 2 ;;
esac
