#!/usr/bin/env bash
# make demo: a whole cluster with kdp-lab — two kdp nodes over an AF_XDP
# bridge underlay, pods in two namespaces, a NetworkPolicy applied with
# kubectl, cross-node TCP over IPIP, telemetry. Everything it creates is
# removed on exit, also on failure or Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
[[ $build = /* ]] || build=$root/$build
export KDP_BIN=${KDP:-$build/dp/main/kdp}
export KDP_CNI=${KDP_CNI:-$build/kdp-cni}
if [[ $EUID -ne 0 ]]; then
  echo "demo: needs root (netns, veth, AF_XDP)" >&2
  exit 1
fi
for b in "$KDP_BIN" "$KDP_CNI"; do
  if [[ ! -x $b ]]; then
    echo "demo: $b not built (make all)" >&2
    exit 1
  fi
done
# The system python is the one the tests use.
exec /usr/bin/python3 "$root/tests/demo/demo.py" "$root"
