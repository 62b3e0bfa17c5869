#!/usr/bin/python3
"""Pod ports over vhost-user: a switch between two virtio-user pods.

  sender pod   testpmd txonly over virtio-user (pod-a1's MAC and IP, one
               UDP flow to pod-a2, 64 B frames incl. FCS)
  switch       kdp (config pod ports on native vhost-user sockets, kdpvhost0/1,
               vhost-user server: dp/vport.h)
               or testpmd io between net_vhost0 and net_vhost1
  receiver pod testpmd rxonly over virtio-user (pod-a2's MAC)

Both switches run with the same placement: main lcore on core 0, the
forwarding lcore pinned on core 1 (kdp: one worker, busy polling). Both
pods are testpmd with the same layout, `--lcores 0@0,1@0`: their main and
forwarding lcores share core 0 with the switch's main lcore and the
harness. With 2 cores a pod cannot get a core of its own, so the rate the
switch reaches is partly set by how the scheduler shares core 0 between
the two pods; it is the same for both switches. The result is the Tx rate
of the switch's port to the receiver (its telemetry), and the switch
thread's on-CPU ns per forwarded packet (runner: schedstat), which does
not move with the pods' share of core 0 as long as the switch is busy.

The pods use `--in-memory --single-file-segments` (virtio-user shares its
memory with the vhost side through file descriptors). The switch serves
the sockets (vhost-user server); the receiver connects first, then the
sender (runner.Companion waits for the socket files).

Standalone: perf/scenarios/vhost.py kdp|testpmd [--queue-size N]
"""

import argparse
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gen_cluster as gc  # noqa: E402
import runner  # noqa: E402
from scenarios import kdp  # noqa: E402
from scenarios.baselines import TESTPMD, Ctx  # noqa: E402

# virtio ring size of the pods (the vhost side follows the front end). Deep
# rings let the switch keep working while a pod waits for core 0.
QUEUE_SIZE = int(os.environ.get("KDP_BENCH_VHOST_QSIZE", "1024"))
POD_MEM_MB = 128
POD_MBUFS = 16384
# Only tx_full is expected from kdp (the receiver pod waits for core 0 and
# its ring fills); anything else means the setup is wrong.
EXPECTED_DROPS = {"tx_full"}


def _work(ctx, name):
    d = os.path.join(ctx.out, "vhost", name)
    os.makedirs(d, exist_ok=True)
    socks = (os.path.join(d, "a1.sock"), os.path.join(d, "a2.sock"))
    for s in socks:
        # A socket left by an earlier run would make the server's bind fail.
        if os.path.exists(s):
            os.unlink(s)
    return d, socks


def _pod(name, sock, mac, fwd):
    eal = ["--lcores", f"0@{runner.MAIN_CORE},1@{runner.MAIN_CORE}",
           "--file-prefix", f"kdpbench-vh-{name}", "--in-memory", "--single-file-segments",
           "-m", str(POD_MEM_MB), "--no-pci", "--log-level", "lib.eal:notice",
           "--vdev", f"net_virtio_user0,path={sock},mac={mac},queues=1,"
                     f"queue_size={QUEUE_SIZE}"]
    return [TESTPMD] + eal + ["--", f"--forward-mode={fwd}", "--nb-cores=1", "--rxq=1",
                              "--txq=1", f"--rxd={QUEUE_SIZE}", f"--txd={QUEUE_SIZE}",
                              "--auto-start", f"--total-num-mbufs={POD_MBUFS}"] + fwd_args(fwd)


def fwd_args(fwd):
    if fwd != "txonly":
        return []
    src = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a1"])
    dst = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
    # One flow from pod-a1's own address (kdp drops spoofed sources; so no
    # --txonly-multi-flow, which varies the source address), 60 B + FCS.
    return ["--txpkts=60", f"--tx-ip={src},{dst}", "--tx-udp=5000,5000",
            f"--eth-peer=0,{gc.GW_MAC}"]


def _pods(socks):
    # The receiver connects first, so the sender's first frames have a
    # place to go.
    return (runner.Companion("rx", _pod("rx", socks[1], gc.pod_mac(1), "rxonly"), (socks[1],)),
            runner.Companion("tx", _pod("tx", socks[0], gc.pod_mac(0), "txonly"), (socks[0],)))


def busy_nspp(busy_cycles, packets, tsc_hz, res):
    """On-CPU ns per received packet of the iterations that had work:
    busy TSC time per packet (which runs on while the thread is
    preempted), scaled by the thread's share of wall time on a CPU. Both
    switches count the same way (testpmd --record-core-cycles: cycles of
    the bursts that received, per received packet; kdp record_cycles)."""
    if not packets or not tsc_hz:
        return {}
    wall = busy_cycles / packets / tsc_hz * 1e9
    return {"busy_nspp_wall": wall, "busy_nspp": wall * res.get("cpu_share_life", 1.0)}


def _testpmd_post(log_path, res):
    with open(log_path) as f:
        m = re.findall(r"CPU cycles/packet=[\d.]+ \(total cycles=(\d+) / total \w+ "
                       r"packets=(\d+)\) at (\d+) MHz", f.read())
    if not m:
        return {}
    cyc, pk, mhz = (int(x) for x in m[-1])
    return busy_nspp(cyc, pk, mhz * 1e6, res)


def _kdp_post(log_path, res):
    c = res.get("check") or {}
    return busy_nspp(c.get("busy_cycles", 0), c.get("rx", 0), c.get("tsc_hz", 0), res)


def check_kdp(tel):
    """/kdp/stats: kdp received, and dropped only for tx_full (the
    receiver's ring), reported as the share of what it received."""
    st = tel.query("/kdp/stats")
    if not isinstance(st, dict) or not isinstance(st.get("drop_reasons"), dict):
        raise runner.MeasureError(f"/kdp/stats: unexpected reply {st!r}")
    drops = {k: int(v) for k, v in st["drop_reasons"].items() if int(v)}
    rx = int(st.get("rx", 0))
    bad = {k: v for k, v in drops.items() if k not in EXPECTED_DROPS}
    if rx == 0 or sum(bad.values()) + int(st.get("punted", 0)) > kdp.LOSS_MAX * rx:
        raise runner.MeasureError(f"kdp did not forward cleanly: rx {rx}, drops {drops}")
    return {"rx": rx, "tx": int(st.get("tx", 0)), "drops": drops,
            "busy_cycles": int(st.get("busy_cycles", 0)),
            "busy_polls": int(st.get("busy_polls", 0)), "tsc_hz": int(st.get("tsc_hz", 0))}


def kdp_vhost(ctx):
    """kdp's native vhost-user ports (config "vhost_socket"), what API pods
    get by default; pod-a1 is kdpvhost0 and pod-a2 kdpvhost1."""
    work, socks = _work(ctx, "kdp")
    pods = {"pod-a1": f"vhost:{socks[0]}", "pod-a2": f"vhost:{socks[1]}"}
    cfg = gc.generate(work, "net_null_up,no-rx=1", pods, mbufs=gc.MBUFS_MIN)
    with open(cfg) as f:
        conf = json.load(f)
    conf["record_cycles"] = 1
    with open(cfg, "w") as f:
        json.dump(conf, f, indent=1)
    prefix = f"kdpbench-vh-kdp-{os.getpid()}"
    cmd = [kdp.KDP] + runner.eal_args(prefix) + ["--", "--config", cfg]
    return runner.Launch(cmd=cmd, prefix=prefix, sink="kdpvhost1",
                         source="kdpvhost0", startup_timeout=60.0, cwd=work,
                         check=check_kdp, companions=_pods(socks), post=_kdp_post)


def testpmd_vhost(ctx):
    work, socks = _work(ctx, "testpmd")
    prefix = f"kdpbench-vh-testpmd-{os.getpid()}"
    vdevs = [f"net_vhost0,iface={socks[0]},queues=1,client=0",
             f"net_vhost1,iface={socks[1]},queues=1,client=0"]
    cmd = [TESTPMD] + runner.eal_args(prefix, vdevs=vdevs) + [
        "--", "--forward-mode=io", "--nb-cores=1", "--rxq=1", "--txq=1", "--auto-start",
        f"--total-num-mbufs={POD_MBUFS}", "--record-core-cycles"]
    return runner.Launch(cmd=cmd, prefix=prefix, sink="net_vhost1", source="net_vhost0",
                         cwd=work, companions=_pods(socks), post=_testpmd_post)


# Series for bench.py: (name, fn); 64 B and one flow only (txonly sends one).
SERIES = [("testpmd_vhost", testpmd_vhost), ("kdp_vhost", kdp_vhost)]


def main(argv=None):
    global QUEUE_SIZE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("switch", choices=["kdp", "testpmd"])
    ap.add_argument("--queue-size", type=int, default=QUEUE_SIZE)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=2.0)
    a = ap.parse_args(argv)
    QUEUE_SIZE = a.queue_size
    if not shutil.which(TESTPMD):
        print("vhost: dpdk-testpmd missing", file=sys.stderr)
        return 1
    fn = kdp_vhost if a.switch == "kdp" else testpmd_vhost
    if a.switch == "kdp" and not kdp.available():
        print(f"vhost: kdp not built ({kdp.KDP})", file=sys.stderr)
        return 1
    log = os.path.join(runner.OUT, "logs", f"{a.switch}_vhost.log")
    try:
        os.sched_setaffinity(0, {runner.MAIN_CORE})
    except OSError:
        pass
    try:
        r = runner.measure(fn(Ctx(size=64, flows=1)), a.warmup, a.interval, log)
    except runner.MeasureError as e:
        print(f"{a.switch}_vhost: FAILED: {e} (log {log})", file=sys.stderr)
        return 1
    print(f"{a.switch}_vhost_mpps={r['mpps']:.3f} rx_mpps={r.get('rx_mpps', 0):.3f} "
          f"nspp={r.get('nspp', 0):.1f} cpu_share={r.get('cpu_share', 0):.2f} "
          f"busy_nspp={r.get('busy_nspp', 0):.1f} (wall {r.get('busy_nspp_wall', 0):.1f}, "
          f"life share {r.get('cpu_share_life', 0):.2f}) "
          f"check={r.get('check')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
