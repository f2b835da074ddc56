#!/usr/bin/env bash
# Creates the project venv from requirements.txt, and reuses it while the
# requirements file is unchanged (its hash is kept in a stamp file).
set -euo pipefail
venv=${1:-.venv}
cd "$(dirname "$0")/.."

want=$(sha256sum requirements.txt | cut -d' ' -f1)
stamp="$venv/.requirements.sha256"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "==> python3 has no venv/ensurepip; installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi

echo "==> building $venv from requirements.txt"
start=$(date +%s)
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
echo "$want" > "$stamp"
echo "==> $venv ready in $(( $(date +%s) - start )) s"
