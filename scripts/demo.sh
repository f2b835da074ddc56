#!/usr/bin/env bash
# make demo / make demo-down.
set -euo pipefail
echo "make demo: the lab (real-kernel hosts) has not landed yet, so there is nothing to bring up." >&2
echo "make demo: see README.md, section Status." >&2
exit 1
