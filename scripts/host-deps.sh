#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing.
#   host-deps.sh test   tools the test stages call (shellcheck for ansible-test sanity, keepalived
#                       for the config tests of rendered keepalived.conf files)
#   host-deps.sh lab    what the User-Mode Linux lab needs on the machine
set -euo pipefail

declare -A wanted_by_command
case "${1:?usage: host-deps.sh test|lab}" in
    test) wanted_by_command=([shellcheck]=shellcheck [git]=git [keepalived]=keepalived) ;;
    lab) wanted_by_command=([linux.uml]=user-mode-linux [debootstrap]=debootstrap [ip]=iproute2
                            [iptables]=iptables [nft]=nftables [gcc]=gcc) ;;
    *) echo "host-deps.sh: unknown group '$1' (test or lab)" >&2; exit 2 ;;
esac

missing=()
for command in "${!wanted_by_command[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${wanted_by_command[$command]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    echo "host-deps.sh: missing ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
fi
echo "==> installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
