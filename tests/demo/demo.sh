#!/usr/bin/env bash
# make demo: two kdp nodes over a kernel veth/bridge underlay, kernel pods in
# network namespaces, pod-to-pod ping and TCP across the IPIP overlay.
# Everything it creates is removed on exit, also on failure or Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
kdp=${KDP:-$root/${BUILD:-build}/dp/main/kdp}
if [[ $EUID -ne 0 ]]; then
  echo "demo: needs root (netns, veth, AF_XDP)" >&2
  exit 1
fi
if [[ ! -x $kdp ]]; then
  echo "demo: $kdp not built (make all)" >&2
  exit 1
fi
# Scapy-free, but the system python is the one the tests use.
exec /usr/bin/python3 "$root/tests/demo/demo.py" "$kdp"
