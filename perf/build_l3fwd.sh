#!/usr/bin/env bash
# Build DPDK's l3fwd example into perf/out/l3fwd/ for the baselines.
#
# The example is copied from the installed DPDK (examples/l3fwd next to
# examples/common, as its Makefile expects) and patched IN THE COPY only:
#  - l3fwd asks every port for Rx checksum offload; net_pcap has none, so the
#    requested Rx offloads are masked with the port's capabilities;
#  - its mbuf pool has a floor of 8192 mbufs; net_pcap's infinite_rx keeps the
#    whole pcap in mbufs of the same pool (65536 for the 65536-flow pcaps), so
#    the floor is raised to L3FWD_MIN_MBUF.
# Idempotent: rebuilds only when the installed example or this script changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${DPDK_EXAMPLES:-/usr/share/dpdk/examples}
out=$here/out/l3fwd
min_mbuf=${L3FWD_MIN_MBUF:-81920}

stamp=$( (cat "$0"; echo "$min_mbuf"; cat "$src"/l3fwd/*.c "$src"/l3fwd/*.h) | md5sum | cut -d' ' -f1)
if [[ -x $out/l3fwd/build/l3fwd && -f $out/stamp && $(cat "$out/stamp") == "$stamp" ]]; then
  echo "$out/l3fwd/build/l3fwd"
  exit 0
fi

[[ -d $src/l3fwd && -d $src/common ]] || { echo "build_l3fwd: $src/{l3fwd,common} missing (package dpdk-dev)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
cp -r "$src/l3fwd" "$src/common" "$out/"
chmod -R u+w "$out"
main=$out/l3fwd/main.c

# Each patch must apply exactly once; a DPDK update that moves the code fails
# loudly here instead of benchmarking an unpatched binary.
patch_once() { # file, sed expression, grep pattern that must then appear once
  sed -i "$2" "$1"
  local n; n=$(grep -c -- "$3" "$1" || true)
  [[ $n == 1 ]] || { echo "build_l3fwd: patch '$3' applied $n times in $1" >&2; exit 1; }
}
patch_once "$main" \
  's/^\(\t\t\)local_port_conf.rx_adv_conf.rss_conf.rss_hf &=$/\1local_port_conf.rxmode.offloads \&= dev_info.rx_offload_capa; \/* kdp-bench *\/\n&/' \
  'rxmode.offloads &= dev_info.rx_offload_capa; /\* kdp-bench'
patch_once "$main" \
  's/^\(\t*\)rxq_conf.offloads = port_conf.rxmode.offloads;$/\1rxq_conf.offloads = port_conf.rxmode.offloads \& dev_info.rx_offload_capa; \/* kdp-bench *\//' \
  'rxq_conf.offloads = port_conf.rxmode.offloads & dev_info.rx_offload_capa; /\* kdp-bench'
patch_once "$main" \
  "s/(unsigned)8192)/(unsigned)$min_mbuf) \/* kdp-bench *\//" \
  "(unsigned)$min_mbuf) /\* kdp-bench"

make -C "$out/l3fwd" -j2 >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
echo "$stamp" >"$out/stamp"
echo "$out/l3fwd/build/l3fwd"
