#!/usr/bin/python3
"""kdp scenarios: build/kdp forwarding generated traffic on one worker.

Hook: each scenario is a function SCENARIO(ctx) -> runner.Launch that
 1. writes the cluster state (gen_cluster: 2 nodes, file datastore) and a
    kdp config JSON into <out>/kdp/<scenario>/,
 2. returns the command `build/kdp [EAL options] -- --config FILE`
    (main lcore on core 0, the worker on core 1, --file-prefix
    kdpbench-kdp) and the ethdev name of the port whose Tx rate is the result.
The harness (runner.measure) starts it, reads /ethdev/stats of that port over
telemetry, and stops it. Ports are named by their vdev names in the config
devargs; kdp probes them itself, so no --vdev is passed to the EAL.

Scenarios (traffic enters on a net_pcap port with infinite_rx=1, leaves
through a net_null sink):
  encap  pod-a1 -> remote pods on node-b: Rx pod-a1 port, Tx (IPIP) uplink
  decap  IPIP from node-b to pod-a2 arrives on the uplink, Tx pod-a2 port
  local  pod-a1 -> pod-a2 on the same node: Rx pod-a1 port, Tx pod-a2 port

Standalone: perf/scenarios/kdp.py encap --size 64 --flows 256
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gen_cluster as gc  # noqa: E402
import runner  # noqa: E402
from scenarios.baselines import Ctx  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KDP = os.environ.get("KDP_BIN", os.path.join(REPO, "build", "kdp"))
# Override when another benchmark may run on the machine at the same time.
PREFIX = os.environ.get("KDP_BENCH_PREFIX", "kdpbench-kdp")

UP_PCAP, UP_NULL = "net_pcap_up", "net_null_up"
A1_PCAP, A1_NULL = "net_pcap_poda1", "net_null_poda1"
A2_NULL = "net_null_poda2"


def available():
    return os.access(KDP, os.X_OK)


def _launch(ctx, name, uplink, pods, sink, source):
    work = os.path.join(ctx.out, "kdp", name)
    os.makedirs(work, exist_ok=True)
    cfg = gc.generate(work, uplink, pods)
    cmd = [KDP] + runner.eal_args(PREFIX) + ["--", "--config", cfg]
    return runner.Launch(cmd=cmd, prefix=PREFIX, sink=sink, source=source,
                         startup_timeout=60.0, cwd=work)


def _pod_traffic(ctx, dst_net, pod=0):
    # A pod sends only from its own address: flows vary port and destination.
    src = gc.pod_ip(gc.LOCAL_NODE, list(gc.LOCAL_PODS.values())[pod])
    return runner.pcap("udp", ctx.size, ctx.flows, src_net=src + "/32", dst_net=dst_net,
                       fixed_src=src, eth_src=gc.pod_peer_mac(pod), eth_dst=gc.pod_mac(pod))


def encap(ctx):
    pcap = _pod_traffic(ctx, gc.NODES[gc.REMOTE_NODE]["block"])
    return _launch(ctx, "encap", f"{UP_NULL},no-rx=1",
                   {"pod-a1": f"{A1_PCAP},rx_pcap={pcap},infinite_rx=1",
                    "pod-a2": f"{A2_NULL},no-rx=1"}, sink=UP_NULL, source=A1_PCAP)


def decap(ctx):
    dst = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
    pcap = runner.pcap("ipip", ctx.size, ctx.flows,
                       src_net=gc.NODES[gc.REMOTE_NODE]["block"], dst_net=dst + "/32",
                       outer_src=gc.node_ip(gc.REMOTE_NODE),
                       outer_dst=gc.node_ip(gc.LOCAL_NODE),
                       eth_src=gc.NODES[gc.REMOTE_NODE]["mac"], eth_dst=gc.UPLINK_MAC)
    return _launch(ctx, "decap", f"{UP_PCAP},rx_pcap={pcap},infinite_rx=1",
                   {"pod-a1": f"{A1_NULL},no-rx=1", "pod-a2": f"{A2_NULL},no-rx=1"},
                   sink=A2_NULL, source=UP_PCAP)


def local(ctx):
    dst = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
    pcap = _pod_traffic(ctx, dst + "/32")
    return _launch(ctx, "local", f"{UP_NULL},no-rx=1",
                   {"pod-a1": f"{A1_PCAP},rx_pcap={pcap},infinite_rx=1",
                    "pod-a2": f"{A2_NULL},no-rx=1"}, sink=A2_NULL, source=A1_PCAP)


SCENARIOS = {"encap": encap, "decap": decap, "local": local}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(SCENARIOS))
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--flows", type=int, default=256)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=2.0)
    a = ap.parse_args(argv)
    if not available():
        print(f"kdp: not built ({KDP})", file=sys.stderr)
        return 1
    launch = SCENARIOS[a.scenario](Ctx(size=a.size, flows=a.flows))
    log = os.path.join(runner.OUT, "logs", f"kdp_{a.scenario}.log")
    try:
        r = runner.measure(launch, a.warmup, a.interval, log)
    except runner.MeasureError as e:
        print(f"kdp_{a.scenario}: FAILED: {e} (log {log})", file=sys.stderr)
        return 1
    print(f"kdp_{a.scenario}_mpps={r['mpps']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
