#!/usr/bin/env bash
# The host exception port: kdp creates the tap named by host.iface; packets for
# the node IP that are not IPIP go to the kernel through it, and the kernel
# reaches local pods through it. A kernel pod on a tap port (moved into its own
# netns) pings the node IP, and the host pings the pod.
set -euo pipefail
KDP=${1:?kdp binary}; SRC=${2:?source root}
PY=/usr/bin/python3
id=$$; pfx=kdp-hostport-$id; ns=kdphp$id; pif=kdphpa$id; hif=kdphh$id
dir=$(mktemp -d)
kpid=
cleanup() {
  rc=$?
  # A failure before the checks below (set -e) still shows kdp's side.
  [ $rc -ne 0 ] && [ -f "$dir/kdp.log" ] && { echo "--- kdp.log"; tail -40 "$dir/kdp.log"; }
  [ -n "$kpid" ] && kill -INT "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir" "/var/run/dpdk/$pfx"
}
trap cleanup EXIT
cd "$dir"
$PY - "$SRC" <<'PY'
import sys; sys.path.insert(0, sys.argv[1] + '/tests/lib'); import cluster
cluster.write('ds', cluster.three_nodes())
open('empty.pcap', 'wb').write(bytes.fromhex('d4c3b2a1020004000000000000000000ffff000001000000'))
PY
cat > kdp.json <<JSON
{"node": "node-a", "datastore": {"type": "file", "path": "ds"},
 "uplink": {"devargs": "net_pcap0,rx_pcap=empty.pcap,tx_pcap=/dev/null", "mac": "02:00:00:00:0a:01"},
 "pod_ports": [{"pod": "x/a", "devargs": "net_tap_hp$id,iface=$pif"}],
 "host": {"iface": "$hif"}, "workers": 1}
JSON
"$KDP" -l 0,1 --no-pci --file-prefix "$pfx" -m 256 -- --config kdp.json > kdp.log 2>&1 &
kpid=$!
# Ready when kdp has started its ports (both taps exist and are up); the
# taps alone appear before that.
for _ in $(seq 200); do
  kill -0 "$kpid" 2>/dev/null || { echo "kdp exited at start"; exit 1; }
  grep -q "ports started" kdp.log 2>/dev/null && ip link show "$hif" >/dev/null 2>&1 &&
    ip link show "$pif" >/dev/null 2>&1 && break
  sleep 0.1
done
ip netns add "$ns"
ip link set "$pif" netns "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link set "$pif" up
ip -n "$ns" addr add 10.244.1.10/32 dev "$pif"
ip -n "$ns" route add 169.254.1.1 dev "$pif" scope link
ip -n "$ns" route add default via 169.254.1.1 dev "$pif"
ip link set "$hif" up
ip addr add 192.168.10.11/32 dev "$hif"
ip route add 10.244.1.0/26 dev "$hif"
fail=0
ip netns exec "$ns" ping -c 3 -i 0.3 -w 10 192.168.10.11 >ping1.txt || fail=1
ping -c 3 -i 0.3 -w 10 10.244.1.10 >ping2.txt || fail=1
cat ping1.txt ping2.txt | grep -E "transmitted"
$PY - "$SRC" "$pfx" <<'PY'
import sys; sys.path.insert(0, sys.argv[1] + '/tests/lib'); import kdptel
s = kdptel.Telemetry(sys.argv[2]).cmd('/kdp/stats')
host = [p for p in s['ports'].values() if p['role'] == 'host'][0]
print('host port rx=%d tx=%d' % (host['rx'], host['tx']))
assert host['rx'] > 0 and host['tx'] > 0, host
PY
kill -INT "$kpid"; wait "$kpid"; rc=$?; kpid=
[ $rc -eq 0 ] || { echo "kdp exited $rc"; cat kdp.log; exit 1; }
[ $fail -eq 0 ] || { echo "ping failed"; cat kdp.log; exit 1; }
echo "host_port: ok"
