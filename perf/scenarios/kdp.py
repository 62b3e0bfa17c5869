#!/usr/bin/python3
"""kdp scenarios: build/kdp forwarding generated traffic on one worker.

Hook: each scenario is a function SCENARIO(ctx) -> runner.Launch that
 1. writes the cluster state (gen_cluster: 2 nodes, file datastore) and a
    kdp config JSON into <out>/kdp/<scenario>/,
 2. returns the command `build/kdp [EAL options] -- --config FILE`
    (main lcore on core 0, the worker on core 1, --file-prefix
    kdpbench-kdp-PID) and the ethdev name of the port whose Tx rate is the result.
The harness (runner.measure) starts it, reads /ethdev/stats of that port over
telemetry, then /kdp/stats (check_stats: a run whose packets were dropped or
punted instead of forwarded fails), and stops it. Ports are named by their
vdev names in the config devargs; kdp probes them itself, so no --vdev is
passed to the EAL.

Frames from a pod carry the pod's own MAC (pod_ports[].mac, which kdp
enforces) as source and the Calico gateway MAC as destination.

Scenarios (traffic enters on a net_pcap port with infinite_rx=1, leaves
through a net_null sink):
  encap  pod-a1 -> remote pods on node-b: Rx pod-a1 port, Tx (IPIP) uplink
  decap  IPIP from node-b to pod-a2 arrives on the uplink, Tx pod-a2 port
  local  pod-a1 -> pod-a2 on the same node: Rx pod-a1 port, Tx pod-a2 port
Each with policy enabled and no policy objects (kdp's default), and as
NAME_poloff ("policy": {"enabled": false}) and NAME_pol1k (1,000 rules
per local pod and direction, the benchmark flows allowed by the last).

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
KDP = os.environ.get("KDP_BIN", os.path.join(REPO, "build", "dp", "main", "kdp"))
# Drops and punts tolerated, as a share of kdp's rx: a working run has none
# (the first burst may race the static neighbors' publication, hence > 0).
LOSS_MAX = 0.001
# Per harness process: several checkouts may benchmark on one machine.
PREFIX = os.environ.get("KDP_BENCH_PREFIX", f"kdpbench-kdp-{os.getpid()}")

UP_PCAP, UP_NULL = "net_pcap_up", "net_null_up"
A1_PCAP, A1_NULL = "net_pcap_poda1", "net_null_poda1"
A2_NULL = "net_null_poda2"


def available():
    return os.access(KDP, os.X_OK)


def check_stats(tel, allow=()):
    """/kdp/stats after the measurement: {rx, tx, punted, drops: {reason: n}}
    with only the non-zero drop reasons. Raises MeasureError when more than
    LOSS_MAX of what kdp received was dropped or punted (a wrong MAC shows
    as spoof_src_mac, a wrong source IP as spoof_src_ip, an unresolved next
    hop as punts)."""
    st = tel.query("/kdp/stats")
    if not isinstance(st, dict) or not isinstance(st.get("drop_reasons"), dict):
        raise runner.MeasureError(f"/kdp/stats: unexpected reply {st!r}")
    drops = {k: int(v) for k, v in st["drop_reasons"].items() if int(v)}
    out = {"rx": int(st.get("rx", 0)), "tx": int(st.get("tx", 0)),
           "punted": int(st.get("punted", 0)), "drops": drops}
    lost = sum(v for k, v in drops.items() if k not in allow) + out["punted"]
    if out["rx"] == 0 or lost > LOSS_MAX * out["rx"]:
        raise runner.MeasureError(f"kdp did not forward cleanly: {out}")
    return out


def check_overload(tel):
    """check_stats() for inputs that offer more than the workers can take
    (the 2-worker jobs): a policed packet whose owner worker's ring is full
    is dropped as handoff_full (acl/acl.h "Several workers": a full ring
    drops rather than block, like VPP's handoff), which is the overload
    itself, not a fault. Its share of rx is reported, the sink's rate is
    what was delivered."""
    out = check_stats(tel, allow=("handoff_full",))
    out["handoff_full_share"] = out["drops"].get("handoff_full", 0) / out["rx"]
    return out


def _launch(ctx, name, uplink, pods, sink, source, policy="on", check=check_stats):
    if policy != "on":
        name = f"{name}_pol{policy}"
    work = os.path.join(ctx.out, "kdp", name)
    os.makedirs(work, exist_ok=True)
    # gen_pcap writes one frame per flow; net_pcap holds them all.
    mbufs = gc.mbufs_for(ctx.flows)
    # ctx.max_flows: a table the flows fill to a given share (its slots:
    # twice max_flows, a power of two), for what collisions cost.
    cfg = gc.generate(work, uplink, pods, mbufs=mbufs, workers=getattr(ctx, "workers", 1),
                      policy=policy, max_flows=getattr(ctx, "max_flows", 0))
    workers = getattr(ctx, "workers", 1)
    eal = runner.eal_args(PREFIX)
    if workers > 1:
        # More lcores than cores: an lcore -> CPU map (scaling(): "0@0,1@1,2@0").
        eal[0:2] = ["--lcores", ctx.lcores]
    cmd = [KDP] + eal + ["--", "--config", cfg]
    return runner.Launch(cmd=cmd, prefix=PREFIX, sink=sink, source=source,
                         startup_timeout=60.0, cwd=work, check=check, workers=workers)


def _pod_traffic(ctx, dst_net, pod=0):
    # A pod sends only from its own address and MAC: flows vary port and
    # destination.
    src = gc.pod_ip(gc.LOCAL_NODE, list(gc.LOCAL_PODS.values())[pod])
    return runner.pcap("udp", ctx.size, ctx.flows, src_net=src + "/32", dst_net=dst_net,
                       fixed_src=src, eth_src=gc.pod_mac(pod), eth_dst=gc.GW_MAC)


def encap(ctx, policy="on"):
    pcap = _pod_traffic(ctx, gc.NODES[gc.REMOTE_NODE]["block"])
    return _launch(ctx, "encap", f"{UP_NULL},no-rx=1",
                   {"pod-a1": f"{A1_PCAP},rx_pcap={pcap},infinite_rx=1",
                    "pod-a2": f"{A2_NULL},no-rx=1"}, sink=UP_NULL, source=A1_PCAP, policy=policy)


def decap_pcap(ctx):
    """IPIP from node-b's pods to pod-a2, as node-b sends it to node-a."""
    dst = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
    return runner.pcap("ipip", ctx.size, ctx.flows,
                       src_net=gc.NODES[gc.REMOTE_NODE]["block"], dst_net=dst + "/32",
                       outer_src=gc.node_ip(gc.REMOTE_NODE),
                       outer_dst=gc.node_ip(gc.LOCAL_NODE),
                       eth_src=gc.NODES[gc.REMOTE_NODE]["mac"], eth_dst=gc.UPLINK_MAC)


def decap(ctx, policy="on"):
    pcap = decap_pcap(ctx)
    return _launch(ctx, "decap", f"{UP_PCAP},rx_pcap={pcap},infinite_rx=1",
                   {"pod-a1": f"{A1_NULL},no-rx=1", "pod-a2": f"{A2_NULL},no-rx=1"},
                   sink=A2_NULL, source=UP_PCAP, policy=policy)


def local(ctx, policy="on"):
    dst = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
    pcap = _pod_traffic(ctx, dst + "/32")
    return _launch(ctx, "local", f"{UP_NULL},no-rx=1",
                   {"pod-a1": f"{A1_PCAP},rx_pcap={pcap},infinite_rx=1",
                    "pod-a2": f"{A2_NULL},no-rx=1"}, sink=A2_NULL, source=A1_PCAP, policy=policy)


SCENARIOS = {"encap": encap, "decap": decap, "local": local}
# The same with "policy": {"enabled": false} (_poloff) and with 1,000 rules
# per local pod and direction (_pol1k, gen_cluster.policies()).
for _n, _fn in list(SCENARIOS.items()):
    for _p in ("off", "1k"):
        SCENARIOS[f"{_n}_pol{_p}"] = (lambda f, p: lambda ctx: f(ctx, policy=p))(_fn, _p)


def encap2(ctx):
    """Two input ports: pod-a1 and pod-a2 both send to node-b's pods (the
    same traffic, one pcap each), out of the uplink. Control places pod-a1
    on worker 1 and pod-a2 on worker 0 (the uplink's), so with 2 workers
    each polls one input; with 1 worker it polls both. Each pcap port gets
    two rx_pcap (net_pcap has one tx queue per rx queue when it has no tx
    argument; kdp needs one tx queue per worker; only queue 0 is polled:
    net_pcap has no RSS)."""
    p1 = _pod_traffic(ctx, gc.NODES[gc.REMOTE_NODE]["block"], pod=0)
    p2 = _pod_traffic(ctx, gc.NODES[gc.REMOTE_NODE]["block"], pod=1)
    return _launch(ctx, "encap2", f"{UP_NULL},no-rx=1",
                   {"pod-a1": f"{A1_PCAP},rx_pcap={p1},rx_pcap={p1},infinite_rx=1",
                    "pod-a2": f"net_pcap_poda2,rx_pcap={p2},rx_pcap={p2},infinite_rx=1"},
                   sink=UP_NULL, source=A1_PCAP, check=check_overload)


# 1 worker against 2 on the same two-input traffic (bench.py scaling
# jobs): (name, workers, EAL lcore map or None). The second worker shares
# core 0 with the main lcore, control and the harness: 2 cores is all
# this machine has.
SCALING = [("kdp_encap2_w1", 1, None), ("kdp_encap2_w2", 2, "0@0,1@1,2@0")]


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
    print(f"kdp_{a.scenario}_mpps={r['mpps']:.3f} (rx {r.get('rx_mpps', 0):.3f}) "
          f"kdp stats: {r.get('check')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
