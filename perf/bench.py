#!/usr/bin/python3
"""kdp benchmark: baselines (testpmd io, l3fwd LPM/ACL) and kdp scenarios
on one forwarding core, same traffic, interleaved runs.

Environment:
  KDP_BENCH_QUICK=1     one run, short warm-up and interval (development)
  KDP_BENCH_RUNS=N      runs per measurement (default 5, quick 1)
  KDP_BENCH_WARMUP=S    seconds after the first packet before sampling
  KDP_BENCH_INTERVAL=S  seconds between the two counter samples
  KDP_BENCH_ONLY=REGEX  only jobs whose name matches (e.g. 'kdp_|testpmd')
  KDP_BIN=PATH          the kdp binary (default build/dp/main/kdp)
  KDP_BENCH_NO_REPORT=1 do not rewrite perf/RESULTS.md and perf/results/
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import extra  # noqa: E402
import runner  # noqa: E402
from scenarios import baselines, kdp, vhost  # noqa: E402

SIZES = [64, 512, 1500]
FLOWS = [1, 256, 65536]
RULES = [100, 1000, 10000]
REF_SIZE, REF_FLOWS, REF_RULES = 64, 256, 1000

BASELINES = [("testpmd_io", baselines.testpmd_io, False),
             ("l3fwd_lpm", baselines.l3fwd_lpm, False),
             ("l3fwd_acl", baselines.l3fwd_acl, True),
             ("l3fwd_lpm_ipip", baselines.l3fwd_lpm_ipip, False)]


def job_name(series, size, flows, rules):
    n = f"{series}_{size}b_{flows}f"
    return n + f"_{rules}r" if rules else n


def plan(with_kdp):
    """Every (series, fn, size, flows, rules) to measure, each once."""
    series = list(BASELINES)
    if with_kdp:
        series += [(f"kdp_{n}", fn, False) for n, fn in kdp.SCENARIOS.items()]
    points = [(s, REF_FLOWS) for s in SIZES] + [(REF_SIZE, f) for f in FLOWS]
    jobs, seen = [], set()

    def add(name, fn, size, flows, rules):
        key = job_name(name, size, flows, rules)
        if key not in seen:
            seen.add(key)
            jobs.append({"name": key, "series": name, "fn": fn, "size": size,
                         "flows": flows, "rules": rules})

    for size, flows in points:
        for name, fn, acl in series:
            # The policy variants (kdp_*_pol*) at 64 B only: per-flow cost.
            if "_pol" in name and size != REF_SIZE:
                continue
            # l3fwd on the decap frames: the reference point only.
            if name == "l3fwd_lpm_ipip" and (size, flows) != (REF_SIZE, REF_FLOWS):
                continue
            add(name, fn, size, flows, REF_RULES if acl else 0)
    for r in RULES:
        add("l3fwd_acl", baselines.l3fwd_acl, REF_SIZE, REF_FLOWS, r)
    if with_kdp:
        jobs += extra_jobs()
    return jobs


def extra_jobs():
    """Pod ports over vhost-user (kdp against testpmd io as the switch, one
    flow: testpmd txonly sends one) and 1 against 2 workers."""
    jobs = []
    for name, fn in vhost.SERIES:
        jobs.append({"name": job_name(name, REF_SIZE, 1, 0), "series": name, "fn": fn,
                     "size": REF_SIZE, "flows": 1, "rules": 0})
    for name, workers, lcores in kdp.SCALING:
        jobs.append({"name": job_name(name, REF_SIZE, REF_FLOWS, 0), "series": name,
                     "fn": kdp.encap2, "size": REF_SIZE, "flows": REF_FLOWS, "rules": 0,
                     "workers": workers, "lcores": lcores})
    return jobs


def run_all(jobs, runs, warmup, interval, l3fwd, log_dir):
    """Interleave: round k runs every job, in reverse order on odd rounds, so
    that baseline and candidate alternate and drift hits both alike."""
    for j in jobs:
        j["samples"], j["error"], j["results"] = [], None, []
    for k in range(runs):
        order = jobs if k % 2 == 0 else list(reversed(jobs))
        for j in order:
            if j["error"]:
                continue
            ctx = baselines.Ctx(size=j["size"], flows=j["flows"], rules=j["rules"],
                                l3fwd=l3fwd, workers=j.get("workers", 1),
                                lcores=j.get("lcores"))
            log = os.path.join(log_dir, f"{j['name']}.run{k}.log")
            try:
                r = runner.measure(j["fn"](ctx), warmup, interval, log)
            except (runner.MeasureError, OSError, ValueError, RuntimeError) as e:
                j["error"] = f"{e} (log {os.path.relpath(log)})"
                print(f"  {j['name']}: FAILED: {j['error']}", file=sys.stderr, flush=True)
                continue
            j["samples"].append(r["mpps"])
            j["results"].append({k: v for k, v in r.items() if isinstance(v, (int, float))})
            print(f"  [{k + 1}/{runs}] {j['name']:<34} {r['mpps']:8.3f} Mpps"
                  f"  (rx {r.get('rx_mpps', 0):.3f})", file=sys.stderr, flush=True)


def summarize(j):
    s = j["samples"]
    if not s:
        return None
    med = statistics.median(s)
    out = {"median": med, "min": min(s), "max": max(s), "n": len(s),
           "spread_pct": (max(s) - min(s)) / med * 100 if med else 0.0}
    # Medians of the per-run costs (runner: nspp = on-CPU ns of the
    # forwarding thread(s) per packet out; vhost: busy_nspp).
    for k in ("nspp", "busy_nspp", "busy_nspp_wall", "rx_mpps", "cpu_share"):
        v = [r[k] for r in j.get("results", []) if k in r]
        if v:
            out[k] = statistics.median(v)
    return out


def table(jobs):
    hdr = f"{'scenario':<12} {'size':>5} {'flows':>6} {'rules':>6} {'median':>8} " \
          f"{'min':>8} {'max':>8} {'spread%':>8} {'runs':>4}"
    lines = [hdr, "-" * len(hdr)]
    for j in jobs:
        s = j["summary"]
        rules = str(j["rules"]) if j["rules"] else "-"
        if s:
            lines.append(f"{j['series']:<12} {j['size']:>5} {j['flows']:>6} {rules:>6} "
                         f"{s['median']:>8.3f} {s['min']:>8.3f} {s['max']:>8.3f} "
                         f"{s['spread_pct']:>8.1f} {s['n']:>4}")
        else:
            lines.append(f"{j['series']:<12} {j['size']:>5} {j['flows']:>6} {rules:>6} "
                         f"{'failed':>8}")
    return lines


def key_values(jobs):
    by = {j["name"]: j["summary"] for j in jobs if j["summary"]}
    kv = {}
    for name, s in by.items():
        kv[f"{name}_mpps"] = s["median"]
        kv[f"{name}_spread_pct"] = s["spread_pct"]
    # Headline numbers at the reference point (64 B, 256 flows, 1k rules).
    heads = {}
    for j in jobs:
        if j["size"] == REF_SIZE and j["flows"] == REF_FLOWS and j["summary"]:
            if j["series"] == "l3fwd_acl":
                heads[f"l3fwd_acl_{j['rules']}"] = j["summary"]["median"]
                if j["rules"] == REF_RULES:
                    heads["l3fwd_acl"] = j["summary"]["median"]
            else:
                heads[j["series"]] = j["summary"]["median"]
    for h, v in heads.items():
        kv[f"{h}_mpps"] = v
    # Each candidate against every reference before it in this list.
    order = ["testpmd_io", "l3fwd_lpm", "l3fwd_acl"] + sorted(
        h for h in heads if h.startswith("kdp_"))
    for i, h in enumerate(order):
        for r in order[:min(i, 3)]:
            if h in heads and r in heads and heads[r]:
                kv[f"{h}_vs_{r}_ratio"] = heads[h] / heads[r]
    # The names issue #6 asks for. Its encap target is with 1k policy
    # rules loaded (kdp_encap_pol1k); the new-flow ratio comes from
    # perf/polbench.py (`make bench` runs it next).
    if heads.get("l3fwd_lpm"):
        enc = heads.get("kdp_encap_pol1k", heads.get("kdp_encap"))
        if enc:
            kv["ratio_encap_vs_l3fwd_lpm"] = enc / heads["l3fwd_lpm"]
        for h in ("kdp_decap", "kdp_local"):
            if h in heads:
                kv[f"ratio_{h[4:]}_vs_l3fwd_lpm"] = heads[h] / heads["l3fwd_lpm"]
    # Decap against l3fwd on the same (20 bytes longer) frames, which cost
    # the source as much as kdp's: the fair form of its ratio.
    if heads.get("l3fwd_lpm_ipip"):
        for h in sorted(heads):
            if h.startswith("kdp_decap"):
                kv[f"{h}_vs_l3fwd_lpm_ipip_ratio"] = heads[h] / heads["l3fwd_lpm_ipip"]
        if "kdp_decap_pol1k" in heads:
            kv["ratio_decap_same_frames_vs_l3fwd_lpm"] = (
                heads["kdp_decap_pol1k"] / heads["l3fwd_lpm_ipip"])
    return kv


def _series_data(jobs, series, xkey, fixed):
    pts = []
    for j in jobs:
        if j["series"] == series and j["summary"] and all(j[k] == v for k, v in fixed.items()):
            pts.append((j[xkey], j["summary"]["median"], j["summary"]["min"],
                        j["summary"]["max"]))
    return sorted(pts)


def plots(jobs, res_dir, work):
    """Draw the PNGs with gnuplot; return the file names drawn."""
    if not shutil.which("gnuplot"):
        print("bench: gnuplot not found (Debian gnuplot-nox), no plots", file=sys.stderr)
        return []
    series = []
    for j in jobs:
        if j["series"] not in series:
            series.append(j["series"])
    figs = [("mpps_vs_size.png", "size", {"flows": REF_FLOWS},
             f"Mpps vs frame size ({REF_FLOWS} flows, ACL {REF_RULES} rules)",
             "frame size (bytes, incl. FCS)", False),
            ("mpps_vs_flows.png", "flows", {"size": REF_SIZE},
             f"Mpps vs flows ({REF_SIZE} B frames)", "flows", True),
            ("mpps_vs_rules.png", "rules", {"size": REF_SIZE, "flows": REF_FLOWS},
             f"l3fwd ACL Mpps vs rule count ({REF_SIZE} B, {REF_FLOWS} flows)",
             "ACL rules", True)]
    drawn = []
    os.makedirs(work, exist_ok=True)
    for fname, xkey, fixed, title, xlabel, logx in figs:
        plots_cmds = []
        for s in series:
            f = dict(fixed)
            if xkey != "rules" and s == "l3fwd_acl":
                f["rules"] = REF_RULES
            if xkey == "rules" and s != "l3fwd_acl":
                continue
            pts = _series_data(jobs, s, xkey, f)
            if not pts:
                continue
            dat = os.path.join(work, f"{fname}.{s}.dat")
            with open(dat, "w") as fh:
                for p in pts:
                    fh.write(" ".join(f"{v}" for v in p) + "\n")
            plots_cmds.append(f"'{dat}' using 1:2:3:4 with yerrorlines title '{s}'")
        if not plots_cmds:
            continue
        script = "\n".join([
            "set terminal pngcairo size 800,500 font 'sans,10' noenhanced",
            f"set output '{os.path.join(res_dir, fname)}'",
            f"set title '{title}'", f"set xlabel '{xlabel}'", "set ylabel 'Mpps'",
            "set grid", "set key outside right", "set yrange [0:*]",
            "set logscale x" if logx else "set xtics (64, 512, 1500)",
            "plot " + ", ".join(plots_cmds)])
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if r.returncode != 0:
            print(f"bench: gnuplot failed for {fname}: {r.stderr.strip()}", file=sys.stderr)
            continue
        drawn.append(fname)
    return drawn


def _git_rev():
    try:
        return subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def _dpdk_version():
    try:
        return subprocess.run(["pkg-config", "--modversion", "libdpdk"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def _cpu():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def write_results(path, jobs, kv, figs, meta, kdp_note, extra_lines=()):
    lines = ["# kdp benchmark results", "",
             "Generated by `make bench` (perf/bench.sh); do not edit by hand.", "",
             f"- date: {meta['date']}", f"- mode: {meta['mode']} "
             f"({meta['runs']} run(s) per job, warm-up {meta['warmup']} s, "
             f"interval {meta['interval']} s)",
             f"- commit: {meta['commit']}, DPDK {meta['dpdk']}, CPU: {meta['cpu']}, "
             f"kernel {platform.release()}",
             "- placement: one forwarding lcore on core 1; main lcore and EAL control "
             "threads (telemetry) on core 0",
             "- traffic: net_pcap infinite_rx (pcap generated by perf/gen_pcap.py) -> "
             "net_null sink; Mpps = Tx packets of the sink port / interval, median of runs",
             "- l3fwd_lpm_ipip: l3fwd LPM on kdp's decap frames (IPIP, 20 bytes longer, "
             "routed by the outer destination), so that decap is also compared on the "
             "same frames (`*_vs_l3fwd_lpm_ipip_ratio`, "
             "`ratio_decap_same_frames_vs_l3fwd_lpm`)",
             "- the machine is shared (2 cores, other jobs compiling): treat small "
             "differences as noise and read the spread column", ""]
    if kdp_note:
        lines += [f"**{kdp_note}**", ""]
    if os.path.exists(os.path.join(HERE, "PROFILE.md")):
        lines += ["Profiles, before/after numbers of the hot-path work, per-worker cost "
                  "model and scaling: [PROFILE.md](PROFILE.md) (hand-written, kept as is).", ""]
    lines += ["## Headline (64 B frames, 256 flows, ACL 1000 rules)", "", "| name | value |",
              "|---|---|"]
    for k, v in kv.items():
        if not re.search(r"_\d+b_\d+f", k):
            lines.append(f"| {k} | {v:.3f} |")
    lines += ["", "## All measurements (Mpps)", "", "```"] + table(jobs) + ["```", ""]
    lines += list(extra_lines)
    fails = [j for j in jobs if j["error"]]
    if fails:
        lines += ["## Failures", ""] + [f"- {j['name']}: {j['error']}" for j in fails] + [""]
    if figs:
        lines += ["## Plots", ""] + [f"![{f}](results/{f})" for f in figs] + [""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--l3fwd", help="path of the built l3fwd (perf/build_l3fwd.sh)")
    a = ap.parse_args(argv)

    quick = os.environ.get("KDP_BENCH_QUICK") == "1"
    runs = int(os.environ.get("KDP_BENCH_RUNS", "1" if quick else "5"))
    warmup = float(os.environ.get("KDP_BENCH_WARMUP", "0.5" if quick else "1"))
    interval = float(os.environ.get("KDP_BENCH_INTERVAL", "1" if quick else "2"))
    only = os.environ.get("KDP_BENCH_ONLY")

    # The harness itself sleeps on core 0 with the control threads, never on
    # the forwarding core.
    try:
        os.sched_setaffinity(0, {runner.MAIN_CORE})
    except OSError:
        pass

    kdp_note = None
    with_kdp = kdp.available()
    if not with_kdp:
        kdp_note = "kdp: not built, skipping kdp scenarios"
        print(kdp_note, flush=True)
    jobs = plan(with_kdp)
    if only:
        jobs = [j for j in jobs if re.search(only, j["name"])]
    if not a.l3fwd:
        jobs = [j for j in jobs if not j["series"].startswith("l3fwd")]
        print("bench: no l3fwd given, skipping l3fwd baselines", file=sys.stderr)
    if not jobs:
        print("bench: nothing to run", file=sys.stderr)
        return 2
    print(f"bench: {len(jobs)} jobs x {runs} run(s), warm-up {warmup}s, interval {interval}s",
          file=sys.stderr, flush=True)

    started = datetime.datetime.now().astimezone()
    run_all(jobs, runs, warmup, interval, a.l3fwd, os.path.join(runner.OUT, "logs"))
    for j in jobs:
        j["summary"] = summarize(j)

    print("\n".join(table(jobs)))
    print()
    kv = key_values(jobs)
    extra_lines = []
    for lines, more in (extra.vhost(jobs), extra.scaling(jobs), extra.flows(jobs, REF_SIZE)):
        extra_lines += lines
        kv.update(more)
    if extra_lines:
        print("\n".join(extra_lines))
    for k, v in kv.items():
        print(f"{k}={v:.3f}")

    with open(os.path.join(runner.OUT, "results.json"), "w") as f:
        json.dump([{k: v for k, v in j.items() if k != "fn"} for j in jobs], f, indent=1)
    if os.environ.get("KDP_BENCH_NO_REPORT") != "1" and not only:
        res_dir = os.path.join(HERE, "results")
        os.makedirs(res_dir, exist_ok=True)
        figs = plots(jobs, res_dir, os.path.join(runner.OUT, "plot"))
        meta = {"date": started.strftime("%Y-%m-%d %H:%M %Z"),
                "mode": "quick" if quick else "full", "runs": runs, "warmup": warmup,
                "interval": interval, "commit": _git_rev(), "dpdk": _dpdk_version(),
                "cpu": _cpu()}
        write_results(os.path.join(HERE, "RESULTS.md"), jobs, kv, figs, meta, kdp_note,
                      extra_lines)
        print(f"bench: wrote {os.path.relpath(os.path.join(HERE, 'RESULTS.md'))}",
              file=sys.stderr)
    return 1 if any(j["error"] and not j["series"].startswith("kdp_") for j in jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
