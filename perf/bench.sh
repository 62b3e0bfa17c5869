#!/usr/bin/env bash
# `make bench`: build the l3fwd baseline, then run perf/bench.py (baselines,
# and the kdp scenarios when build/dp/main/kdp exists). See perf/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
PY=/usr/bin/python3   # Debian's python3-scapy lives there, not in a pyenv
"$PY" -c 'import scapy' 2>/dev/null || { echo "bench: $PY lacks scapy (Debian python3-scapy)" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd missing (Debian dpdk)" >&2; exit 1; }
l3fwd=$(bash "$here/build_l3fwd.sh")
exec "$PY" "$here/bench.py" --l3fwd "$l3fwd" "$@"
