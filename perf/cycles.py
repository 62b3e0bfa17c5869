#!/usr/bin/python3
"""On-CPU nanoseconds per forwarded packet of the forwarding lcore.

Throughput on a shared 2-core machine moves with whatever else runs; the
time the forwarding thread spends on a CPU per packet (its schedstat run
time, which stops while it is preempted) moves much less, so this is the
number to compare code changes by. It is also the per-worker cost model:
one worker forwards at most 1000 / (ns per packet) Mpps. (This VM has no
hardware PMU, so perf cannot count cycles; the CPU runs at a fixed clock,
so ns/packet is cycles/packet up to a constant.)

    perf/cycles.py kdp_encap kdp_decap kdp_local l3fwd_lpm testpmd_io [--rounds 3]

--flows N --max-flows N fills kdp's conntrack table half (65536 flows in
its 131072 slots): what flows that collide in it cost.

Each round runs every job once (order reversed on odd rounds, like
bench.py); prints the median ns/packet, the Mpps the thread would reach
alone on its core (1000 / ns per packet), and the wall-clock Mpps seen.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import runner  # noqa: E402
from cpustat import fwd_threads, oncpu_ns  # noqa: E402
from scenarios import baselines, kdp  # noqa: E402
from telemetry import Telemetry, socket_path  # noqa: E402

JOBS = {"testpmd_io": baselines.testpmd_io, "l3fwd_lpm": baselines.l3fwd_lpm,
        **{f"kdp_{n}": fn for n, fn in kdp.SCENARIOS.items()}}


def one(name, ctx, warmup, interval, log_path):
    # "kdp_local@PATH" runs that scenario with another kdp binary, so that
    # two builds can be compared in one interleaved run.
    name, _, binary = name.partition("@")
    saved = kdp.KDP
    kdp.KDP = binary or saved
    try:
        launch = JOBS[name](ctx)
    finally:
        kdp.KDP = saved
    with open(log_path, "w") as log:
        proc = subprocess.Popen(launch.cmd, stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, cwd=launch.cwd,
                                start_new_session=True)
    try:
        alive = lambda: proc.poll() is None  # noqa: E731
        with Telemetry.wait(socket_path(launch.prefix), launch.startup_timeout, alive) as tel:
            deadline = time.monotonic() + launch.startup_timeout
            sink = runner._port_ids(tel, [launch.sink], proc, deadline)[0]
            while tel.stats(sink)["opackets"] == 0:
                if not alive() or time.monotonic() > deadline:
                    raise runner.MeasureError(f"{name}: no packets out")
                time.sleep(0.1)
            time.sleep(warmup)
            tids = fwd_threads(proc.pid, getattr(ctx, "workers", 1))
            c0, p0, t0 = oncpu_ns(proc.pid, tids), tel.stats(sink)["opackets"], time.monotonic()
            time.sleep(interval)
            c1, p1, t1 = oncpu_ns(proc.pid, tids), tel.stats(sink)["opackets"], time.monotonic()
            if launch.check:
                launch.check(tel)
    finally:
        runner._stop(proc)
    pk = p1 - p0
    if pk <= 0:
        raise runner.MeasureError(f"{name}: no packets during the interval")
    return {"nspp": (c1 - c0) / pk, "mpps": pk / (t1 - t0) / 1e6,
            "share": (c1 - c0) / 1e9 / (t1 - t0) / len(tids)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jobs", nargs="+", metavar="JOB",
                    help=f"one of {', '.join(sorted(JOBS))}; kdp_*@PATH uses the kdp at PATH")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--flows", type=int, default=256)
    ap.add_argument("--max-flows", type=int, default=0,
                    help="kdp's conntrack.max_flows (default: kdp's own)")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=2.0)
    a = ap.parse_args(argv)
    for j in a.jobs:
        if j.partition("@")[0] not in JOBS:
            ap.error(f"unknown job {j!r}")
    l3fwd = None
    if any(j.startswith("l3fwd") for j in a.jobs):
        l3fwd = subprocess.run(["bash", os.path.join(HERE, "build_l3fwd.sh")],
                               capture_output=True, text=True, check=True).stdout.strip()
    try:
        os.sched_setaffinity(0, {runner.MAIN_CORE})
    except OSError:
        pass
    logs = os.path.join(runner.OUT, "logs")
    os.makedirs(logs, exist_ok=True)
    res = {j: [] for j in a.jobs}
    for k in range(a.rounds):
        for j in (a.jobs if k % 2 == 0 else list(reversed(a.jobs))):
            ctx = baselines.Ctx(size=a.size, flows=a.flows, l3fwd=l3fwd,
                                max_flows=a.max_flows)
            try:
                r = one(j, ctx, a.warmup, a.interval,
                        os.path.join(logs, f"cycles_{j.partition('@')[0]}.log"))
            except (runner.MeasureError, OSError) as e:
                print(f"  {j}: FAILED: {e}", file=sys.stderr)
                continue
            res[j].append(r)
            print(f"  [{k + 1}/{a.rounds}] {j:<12} {r['nspp']:7.2f} ns/pkt "
                  f"{r['mpps']:7.2f} Mpps (thread on CPU {r['share'] * 100:.0f}%)",
                  file=sys.stderr, flush=True)
    w = max(12, *(len(j) for j in a.jobs))
    print(f"{'job':<{w}} {'ns/pkt':>7} {'min':>7} {'max':>7} {'Mpps@1core':>10} "
          f"{'Mpps seen':>9}  ({a.size} B, {a.flows} flows, median of {a.rounds})")
    for j, rs in res.items():
        if not rs:
            print(f"{j:<{w}} {'failed':>7}")
            continue
        ns = [r["nspp"] for r in rs]
        med = statistics.median(ns)
        print(f"{j:<{w}} {med:7.2f} {min(ns):7.2f} {max(ns):7.2f} {1000 / med:10.2f} "
              f"{statistics.median(r['mpps'] for r in rs):9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
