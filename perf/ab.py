#!/usr/bin/python3
"""A/B two kdp builds on one scenario, by a measure this machine's noise
moves much less than the rate: the worker's perf samples per sample in
the traffic source (the same binary against itself: 0.99-1.05).

Why: on a shared VM the rate of the same build moves by 20-30 % between
runs (host contention steals time from the vCPU), so a Mpps A/B cannot see
a change of a few percent. The source (net_pcap reading a pcap in memory)
costs the same per packet whatever the build does after it; the worker's
samples divided by the source's samples is the per-packet cost in units of
the source's, and contention stretches both alike. Measured here: the same
build gives 4.43-4.70 (all/pcap) over runs where its Mpps moved 16-23.

For each run and build: start the scenario (perf/scenarios/kdp.py writes
its config), wait for the sink to move and a warm-up, `perf record -F 4999`
the worker thread for --secs, stop, and count samples per DSO. Builds
alternate (A B A B ...). Prints per run

    all/src   every sample of the worker / samples in the source's DSOs
    own/src   samples in the kdp binary itself / the same

and then the medians, the spread and B/A. `name=value` lines at the end:
ab_a_all, ab_b_all, ab_ratio_all (B/A of the medians; below 1: B is
cheaper), and the same for own.

    /usr/bin/python3 perf/ab.py encap_pol1k --a OLD/build/dp/main/kdp --b build/dp/main/kdp [--runs 6]

Either side may instead be a baseline (testpmd_io, l3fwd_lpm, l3fwd_acl
with --l3fwd PATH and --rules N), run on its own pcap of the same frame
size and flow count: `ab_rate_b_vs_a` (A's all/src over B's) is then B's
rate as a share of the baseline's with the host's noise taken out, the
issue's ratios measured another way. It holds when both sources read the
same frames: decap's source frames carry the outer header (20 bytes more
than the baseline's), which costs the source more per packet and flatters
kdp's ratio.

    /usr/bin/python3 perf/ab.py encap_pol1k --a l3fwd_lpm --l3fwd "$(bash perf/build_l3fwd.sh)" --b build/dp/main/kdp

Needs `perf` (linux-perf); counts samples of the cpu-clock event, so it
works without a hardware PMU (this VM has none). Attribution by DSO only:
the instruction-level attribution of timer samples skids too far here.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cpustat  # noqa: E402
import runner  # noqa: E402
from scenarios import baselines  # noqa: E402
from scenarios import kdp as ks  # noqa: E402
from scenarios.baselines import Ctx  # noqa: E402
from telemetry import Telemetry, TelemetryError, socket_path  # noqa: E402

SOURCE_DSO = re.compile(r"pcap")   # librte_net_pcap, libpcap


def parse_dso_report(text):
    """{dso: samples} from `perf report --sort dso -F overhead,sample,dso`."""
    d = {}
    for line in text.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+(\S+)", line)
        if m:
            d[m.group(2)] = d.get(m.group(2), 0) + int(m.group(1))
    return d


def costs(d, own_dso):
    """(all/src, own/src) of {dso: samples}; ValueError without source
    samples (the scenario's traffic did not come from net_pcap)."""
    src = sum(v for k, v in d.items() if SOURCE_DSO.search(k))
    if src == 0:
        raise ValueError(f"no samples in the source ({d})")
    return sum(d.values()) / src, d.get(own_dso, 0) / src


def dso_samples(data):
    """{dso: samples} of a perf.data file."""
    return parse_dso_report(subprocess.run(
        ["perf", "report", "-i", data, "--sort", "dso", "--stdio",
         "-F", "overhead,sample,dso"],
        capture_output=True, text=True, check=True).stdout)


def one_run(launch, warmup, secs, tag):
    """Samples per source sample for @launch: (all, own)."""
    prefix = f"kdpab-{os.getpid()}-{tag}"
    cmd = list(launch.cmd)
    binary = cmd[0]
    cmd[cmd.index("--file-prefix") + 1] = prefix
    log_path = os.path.join(runner.OUT, "logs", f"ab_{tag}.log")
    proc = runner.spawn(cmd, launch.cwd, log_path)
    fd, data = tempfile.mkstemp(prefix="kdpab-", suffix=".data")
    os.close(fd)
    try:
        alive = lambda: proc.poll() is None  # noqa: E731
        with Telemetry.wait(socket_path(prefix), launch.startup_timeout, alive) as tel:
            deadline = time.monotonic() + launch.startup_timeout
            sink = runner._port_ids(tel, [launch.sink], proc, deadline)[0]
            runner.wait_sink(tel, sink, launch, alive, deadline)
            time.sleep(warmup)
            tid = cpustat.fwd_threads(proc.pid, 1)[0]
            subprocess.run(["perf", "record", "-q", "-F", "4999", "-t", str(tid),
                            "-o", data, "--", "sleep", str(secs)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)
            if not alive():
                raise RuntimeError(f"{binary}: exited (log {log_path})")
    finally:
        runner._stop(proc)
    try:
        d = dso_samples(data)
    finally:
        os.unlink(data)
    try:
        # l3fwd's build names the binary l3fwd-shared and links l3fwd to it.
        return costs(d, os.path.basename(os.path.realpath(binary)))
    except ValueError as e:
        raise RuntimeError(f"{binary}: {e}") from e


def summary(xs):
    return statistics.median(xs), min(xs), max(xs)


BASELINES = {"testpmd_io": baselines.testpmd_io, "l3fwd_lpm": baselines.l3fwd_lpm,
             "l3fwd_acl": baselines.l3fwd_acl}


def launch_for(what, scenario, a):
    """The Launch of side @what: a baseline's name (its own pcap of the
    same size and flow count) or a kdp binary on @scenario."""
    if what in BASELINES:
        return BASELINES[what](Ctx(size=a.size, flows=a.flows, rules=a.rules,
                                   l3fwd=a.l3fwd and os.path.abspath(a.l3fwd)))
    if not os.access(what, os.X_OK):
        raise RuntimeError(f"{what}: not an executable nor one of {sorted(BASELINES)}")
    launch = ks.SCENARIOS[scenario](Ctx(size=a.size, flows=a.flows))
    # The scenario runs in its own directory: an absolute path.
    launch.cmd = [os.path.abspath(what)] + launch.cmd[1:]
    return launch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=sorted(ks.SCENARIOS))
    ap.add_argument("--a", required=True,
                    help="baseline: a kdp binary, or testpmd_io, l3fwd_lpm, l3fwd_acl")
    ap.add_argument("--b", required=True, help="candidate kdp binary (or a baseline)")
    ap.add_argument("--l3fwd", help="the built l3fwd (perf/build_l3fwd.sh), for l3fwd_*")
    ap.add_argument("--rules", type=int, default=1000, help="l3fwd_acl's rule count")
    ap.add_argument("--name", help="with a baseline as A: also print "
                    "samples_ratio_NAME_vs_A=ab_rate_b_vs_a (make bench)")
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--secs", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--flows", type=int, default=256)
    a = ap.parse_args(argv)
    if subprocess.run(["perf", "--version"], capture_output=True).returncode != 0:
        print("ab: perf is not installed (apt-get install linux-perf)", file=sys.stderr)
        return 2
    try:
        launches = {k: launch_for(getattr(a, k), a.scenario, a) for k in ("a", "b")}
    except (RuntimeError, ValueError) as e:
        print(f"ab: {e}", file=sys.stderr)
        return 2
    res = {"a": [], "b": []}
    try:
        for r in range(a.runs):
            # Alternate which build goes first: drift favours neither.
            for k in (("a", "b") if r % 2 == 0 else ("b", "a")):
                al, own = one_run(launches[k], a.warmup, a.secs, f"{k}{r}")
                res[k].append((al, own))
                print(f"run {r} {k}: all/src {al:.3f} own/src {own:.3f}", flush=True)
    except (RuntimeError, TelemetryError, runner.MeasureError,
            subprocess.CalledProcessError) as e:
        print(f"ab: {e}", file=sys.stderr)
        return 1
    out = {}
    for i, what in ((0, "all"), (1, "own")):
        for k in ("a", "b"):
            med, lo, hi = summary([x[i] for x in res[k]])
            out[f"ab_{k}_{what}"] = med
            print(f"{k} {what}/src: median {med:.3f} (min {lo:.3f}, max {hi:.3f})")
        if out[f"ab_a_{what}"] > 0:
            out[f"ab_ratio_{what}"] = out[f"ab_b_{what}"] / out[f"ab_a_{what}"]
    # Both on a saturated core with the same source cost per packet:
    # B's rate relative to A's is the inverse ratio of their costs.
    out["ab_rate_b_vs_a"] = out["ab_a_all"] / out["ab_b_all"]
    if a.name and a.a in BASELINES:
        out[f"samples_ratio_{a.name}_vs_{a.a}"] = out["ab_rate_b_vs_a"]
    for k, v in out.items():
        print(f"{k}={v:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
