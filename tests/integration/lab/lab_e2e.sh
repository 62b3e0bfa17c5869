#!/usr/bin/env bash
# kdp-lab end to end: a 2-node cluster (API server stand-in, kdp per node
# netns with AF_XDP uplinks on a shared underlay bridge), 6 pods created as
# kubelet would (Pod object, netns, kdp-cni ADD, status.podIP), and full
# reachability over TCP and UDP, within and across nodes (IPIP). Then the lab
# is torn down and nothing may be left behind.
set -euo pipefail
SRC=${1:?source root}
export KDP_LAB_DIR=$(mktemp -d /tmp/kdp-lab-e2e.XXXXXX)
rmdir "$KDP_LAB_DIR"
LAB="$SRC/tests/lab/kdp-lab"
trap '"$LAB" down >/dev/null 2>&1 || true' EXIT
"$LAB" up --nodes 2
tag=$("$LAB" status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["tag"])')
"$LAB" kubectl create ns x >/dev/null
"$LAB" kubectl create ns y >/dev/null
for p in x/a x/b x/c y/a y/b y/c; do
  "$LAB" pod add "$p" --labels "pod=${p#*/}" --serve tcp:80,udp:81
done
"$LAB" kubectl get pods -A
fail=0
for spec in "tcp 80" "udp 81"; do
  out=$("$LAB" matrix $spec)
  echo "matrix $spec:"; echo "$out"
  if echo "$out" | tail -n +2 | cut -f2- | grep -q X; then
    echo "FAIL: blocked cells in an all-allow cluster ($spec)"; fail=1
  fi
  cells=$(echo "$out" | tail -n +2 | cut -f2- | tr -cd '.' | wc -c)
  [ "$cells" -eq 36 ] || { echo "FAIL: $cells of 36 cells"; fail=1; }
done
# Cross-node traffic really went through the tunnel.
for n in 1 2; do
  echo /kdp/stats | dpdk-telemetry.py -f "kdplab-$tag-node-$n" | tail -n 1 > "$KDP_LAB_DIR/stats$n.json"
  /usr/bin/python3 - "$KDP_LAB_DIR/stats$n.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))['/kdp/stats']
print('node stats: encap=%d decap=%d drops=%d' % (s['ipip_encap'], s['ipip_decap'], s['drops']))
assert s['ipip_encap'] > 0 and s['ipip_decap'] > 0
PY
done
"$LAB" down
trap - EXIT
left=$( (ip netns list; ip -o link show | cut -d: -f2; ls /var/run/dpdk) |
  grep -c "kl$tag\|kdplab-$tag" || true)
[ "$left" -eq 0 ] || { echo "FAIL: $left lab namespaces/links/DPDK dirs left"; fail=1; }
[ ! -e "$KDP_LAB_DIR" ] || { echo "FAIL: lab dir left"; fail=1; }
[ $fail -eq 0 ] && echo "lab e2e: ok"
exit $fail
