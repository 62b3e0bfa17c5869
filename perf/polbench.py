#!/usr/bin/python3
"""Network-policy benchmark (issue #4): kdp with N Calico rules beside
l3fwd ACL with the same N rules and l3fwd LPM, on the same pcaps, one
forwarding core, interleaved runs.

Rules (per N): N-1 Deny rules whose source and destination prefixes lie in
10.244.0.0/16 (they overlap the pods) with a TCP or UDP destination port
(range) outside the traffic's ports, then one Allow. kdp gets them as one
GlobalNetworkPolicy (selector all(), Ingress); l3fwd ACL as its rule file
('@' deny lines in the same order, then the route 'R... 10.244.0.0/16').
Traffic: pod-a1 -> pod-a2 (kdp scenario "local"), UDP, 64 B frames.

  established  256 flows replayed forever (infinite_rx): conntrack hits, a
               classification only per flow.
  new          a pcap streamed from disk (not replayed) in which every frame
               has its own 5-tuple (source port x destination port), and
               conntrack sized to keep them all (8M entries, more than the
               run sends before the window closes; udp_s 1): every packet
               misses conntrack, runs the classifier and takes a free slot.
               Checked after each run: conntrack 'created' / kdp rx
               (/kdp/conntrack) must be >= 0.99.
  newfull      the same frames with kdp's default conntrack (1M entries,
               udp_s 60), full before the window opens: every new flow
               also evicts a never-answered one (acl/acl.h "Full table").
               Checked: 'evicted' grew during the window; new flows refused
               for want of an evictable entry (ct_full) are allowed up to
               0.1 % of rx and reported. Printed beside the new-flow rate,
               not a target of its own.
Also per N: the policy build times (/kdp/policy build_ms: the linear
programs, acl_set_build(); fast_build_ms: their rte_acl forms, built in a
background thread; measurements start once they are attached), and the
update latency: a rule of the policy file is changed, and the time from
the write until (a) /kdp/datastore's last_publish_mono passes it (the
linear set is published: file datastore, inotify, the full table compile)
and (b) the new set's rte_acl forms are attached (/kdp/policy
fast_ready_mono), printed as kdp_N_update_publish_ms_* and
kdp_N_update_fast_ms_*. While the forms build, /kdp/policy is queried in a
loop: kdp_N_update_tel_max_ms is its slowest answer (the control thread
must stay responsive).

Usage: perf/polbench.py --l3fwd PATH [--rules 1000,10000] [--runs N]
Environment: KDP_BENCH_QUICK=1 (1 run, short), KDP_BIN.
"""

import argparse
import json
import os
import random
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_cluster as gc  # noqa: E402
import gen_pcap  # noqa: E402
import gen_rules  # noqa: E402
import runner  # noqa: E402
from scenarios import kdp as ks  # noqa: E402
from scenarios.baselines import Ctx  # noqa: E402

A1 = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a1"])
A2 = gc.pod_ip(gc.LOCAL_NODE, gc.LOCAL_PODS["pod-a2"])
DPORT_LO, DPORT_N = 5000, 256          # traffic destination ports
SPORT_LO, SPORT_N = 1024, 64512
NEW_PACKETS = int(os.environ.get("KDP_POLBENCH_NEW_PACKETS", 12_000_000))
OUT = os.path.join(runner.OUT, "polbench")
L3FWD_SINK_PORT = 1


# ------------------------------------------------------------------ rules

def _deny_dport(rng):
    hi_tr = DPORT_LO + DPORT_N - 1
    while True:
        if rng.random() < 0.7:
            p = rng.randrange(1, 65536)
            lo, hi = p, p
        else:
            lo = rng.randrange(1, 65000)
            hi = min(65535, lo + rng.randrange(1, 2000))
        if hi < DPORT_LO or lo > hi_tr:
            return lo, hi


def rules(n, seed=1):
    """N abstract rules: N-1 denies, then allow-all."""
    rng = random.Random(seed)
    out = []
    for _ in range(n - 1):
        lo, hi = _deny_dport(rng)
        out.append({"src": gen_rules._rand_prefix(rng, (10, 244), 16, 32),
                    "dst": gen_rules._rand_prefix(rng, (10, 244), 16, 32),
                    "proto": rng.choice(("TCP", "UDP")), "dport": (lo, hi)})
    return out


def calico_policy(rs, variant=0):
    ing = []
    for r in rs:
        lo, hi = r["dport"]
        ing.append({"action": "Deny", "protocol": r["proto"],
                    "source": {"nets": [r["src"]]},
                    "destination": {"nets": [r["dst"]],
                                    "ports": [lo if lo == hi else f"{lo}:{hi}"]}})
    # The update benchmark edits the last Deny rule's port: same rule
    # count, a different program.
    if variant and ing:
        ing[-1]["destination"]["ports"] = [1 + variant % 1000]
    ing.append({"action": "Allow"})
    return {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "bench-rules"},
            "spec": {"order": 10, "selector": "all()", "types": ["Ingress"],
                     "ingress": ing}}


def l3fwd_acl_lines(rs):
    proto = {"TCP": "0x6/0xff", "UDP": "0x11/0xff"}
    lines = [f"@{r['src']} {r['dst']} 0 : 65535 {r['dport'][0]} : {r['dport'][1]} "
             f"{proto[r['proto']]}" for r in rs]
    lines.append(f"R0.0.0.0/0 10.244.0.0/16 0 : 65535 0 : 65535 0x0/0x0 {L3FWD_SINK_PORT}")
    return lines


def rule_files(n):
    d = os.path.join(OUT, "rules")
    os.makedirs(d, exist_ok=True)
    files = {"acl_v4": os.path.join(d, f"acl_v4_{n}.rules"),
             "lpm_v4": os.path.join(d, "lpm_v4.rules"),
             "acl_v6": os.path.join(d, "acl_v6.rules"),
             "lpm_v6": os.path.join(d, "lpm_v6.rules")}
    gen_rules.write(files["acl_v4"], l3fwd_acl_lines(rules(n)))
    gen_rules.write(files["lpm_v4"], [f"R10.244.0.0/16 {L3FWD_SINK_PORT}",
                                      "R198.18.0.0/16 0"])
    gen_rules.write(files["acl_v6"], gen_rules.acl_v6())
    gen_rules.write(files["lpm_v6"], gen_rules.lpm_v6())
    return files


# ------------------------------------------------------------------ pcaps

def pcap_established():
    return ks._pod_traffic(Ctx(size=64, flows=256), A2 + "/32")


def pcap_new(n=NEW_PACKETS):
    """n frames pod-a1 -> pod-a2, each with its own (sport, dport)."""
    if n > SPORT_N * DPORT_N:
        raise ValueError(f"{n} packets: at most {SPORT_N * DPORT_N} distinct flows")
    d = os.path.join(runner.OUT, "pcap")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"newflows-64b-{n}.pcap")
    if os.path.exists(path):
        return path
    tmpl = gen_pcap.build("udp", 64, 1, src_net=A1 + "/32", dst_net=A2 + "/32",
                          fixed_src=A1, eth_src=gc.pod_mac(0), eth_dst=gc.GW_MAC)[0]
    flen = len(tmpl)
    rec = struct.pack("<IIII", 0, 0, flen, flen) + tmpl
    l4 = 16 + 14 + 20  # record header, Ethernet, IPv4: ports start here
    chunk = 1 << 16
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for base in range(0, n, chunk):
            k = min(chunk, n - base)
            buf = bytearray(rec * k)
            for j in range(k):
                i = base + j
                struct.pack_into("!HH", buf, j * len(rec) + l4,
                                 SPORT_LO + i % SPORT_N, DPORT_LO + i // SPORT_N)
            f.write(buf)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------- launches

def _tel_policy_info(tel):
    p = tel.query("/kdp/policy")
    keys = ("build_ms", "programs", "fast_programs", "acl_contexts", "acl_rules",
            "compiled_rules", "fast_build_ms", "gen")
    out = {k: float(p[k]) for k in keys if k in p}
    out["fast_state"] = p.get("fast_state", "none")
    return out


def _wait_fast(tel, newer_than=None, timeout=120.0):
    """Poll /kdp/policy until the published set (of a gen above
    @newer_than) has its rte_acl forms attached; returns (its info, the
    slowest /kdp/policy answer in ms)."""
    deadline = time.monotonic() + timeout
    slowest = 0.0
    while True:
        q0 = time.monotonic()
        p = tel.query("/kdp/policy")
        slowest = max(slowest, (time.monotonic() - q0) * 1000)
        gen = float(p.get("gen", -1))
        if (newer_than is None or gen > newer_than) and \
                p.get("fast_state") in ("ready", "failed"):
            if p["fast_state"] == "failed":
                raise runner.MeasureError(f"rte_acl build failed: {p}")
            return p, slowest
        if time.monotonic() > deadline:
            raise runner.MeasureError(f"rte_acl forms not attached in {timeout} s: "
                                      f"{ {k: v for k, v in p.items() if not isinstance(v, dict)} }")
        time.sleep(0.005)


def _update_latency(tel, ds, rs, rounds=3):
    """Rewrite the policy file; time until kdp published the change (the
    linear set), and until the new set's rte_acl forms were attached."""
    lat, fast, tel_max = [], [], []
    for v in range(1, rounds + 1):
        before = float(tel.query("/kdp/datastore")["last_publish_mono"])
        gen0 = float(tel.query("/kdp/policy").get("gen", -1))
        path = os.path.join(ds, "globalnetworkpolicy-bench-rules.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(calico_policy(rs, variant=v), f)
        t0 = time.monotonic()
        os.replace(tmp, path)
        deadline = t0 + 30
        while time.monotonic() < deadline:
            pub = float(tel.query("/kdp/datastore")["last_publish_mono"])
            if pub > before and pub >= t0:
                lat.append((pub - t0) * 1000)
                break
            time.sleep(0.002)
        else:
            raise runner.MeasureError("policy update not published within 30 s")
        p, slowest = _wait_fast(tel, newer_than=gen0)
        fast.append((float(p["fast_ready_mono"]) - t0) * 1000)
        tel_max.append(slowest)
        time.sleep(0.2)
    return {"publish_ms": lat, "fast_ms": fast, "tel_max_ms": tel_max}


def kdp_launch(n, mode, with_update):
    name = f"policy_{n}_{mode}"
    work = os.path.join(OUT, "kdp", name)
    os.makedirs(work, exist_ok=True)
    pcap = pcap_established() if mode == "est" else pcap_new()
    rx = f"{ks.A1_PCAP},rx_pcap={pcap}" + (",infinite_rx=1" if mode == "est" else "")
    newish = mode in ("new", "newfull")
    cfg_path = gc.generate(work, f"{ks.UP_NULL},no-rx=1",
                           {"pod-a1": rx, "pod-a2": f"{ks.A2_NULL},no-rx=1"},
                           mbufs=gc.mbufs_for(256))
    ds = os.path.join(work, "datastore")
    rs = rules(n)
    with open(os.path.join(ds, "globalnetworkpolicy-bench-rules.json"), "w") as f:
        json.dump(calico_policy(rs), f)
    with open(cfg_path) as f:
        cfg = json.load(f)
    # rte_acl is kdp's default classifier; said explicitly, as it is what
    # the benchmark compares with l3fwd's ACL mode.
    cfg["policy"] = {"enabled": True, "classifier": "rte_acl"}
    if mode == "new":
        # Every frame is a flow of its own; 8M entries hold every flow
        # the run sends before its window closes (about 5M), so none is
        # evicted. newfull keeps the default conntrack.
        cfg["conntrack"] = {"max_flows": 1 << 23, "udp_s": 1}
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)

    state = {}

    def ct_sum(ct, key):
        return sum(int(w.get(key, 0)) for w in ct.values() if isinstance(w, dict))

    def check(tel):
        out = ks.check_stats(tel, allow=("ct_full",) if mode == "newfull" else ())
        ct = tel.query("/kdp/conntrack")
        created = ct_sum(ct, "created")
        out["ct_created"] = created
        out["classified_share"] = created / out["rx"] if out["rx"] else 0
        if newish and out["classified_share"] < 0.99:
            raise runner.MeasureError(f"not every packet was a new flow: {out}")
        if mode == "newfull":
            out["ct_evicted"] = ct_sum(ct, "evicted")
            out["ct_full_share"] = out["drops"].get("ct_full", 0) / out["rx"]
            if out["ct_evicted"] <= state.get("evicted0", 0):
                raise runner.MeasureError(f"no eviction in the window: {out}")
            if out["ct_full_share"] > 0.001:
                raise runner.MeasureError(f"too many new flows refused: {out}")
        out["policy"] = _tel_policy_info(tel)
        if out["policy"].get("fast_programs", 0) < 1:
            raise runner.MeasureError(f"no rte_acl program: {out['policy']}")
        if with_update:
            out["update"] = _update_latency(tel, ds, rs)
        return out

    def ready(tel):
        # New flows are classified by the linear walk until the rte_acl
        # forms, built in the background, are attached: measure after.
        _wait_fast(tel)
        if mode == "newfull":
            # The window opens once the table is full and evicting.
            end = time.monotonic() + 30
            while ct_sum(tel.query("/kdp/conntrack"), "evicted") == 0:
                if time.monotonic() > end:
                    raise runner.MeasureError("conntrack never filled")
                time.sleep(0.02)
            state["evicted0"] = ct_sum(tel.query("/kdp/conntrack"), "evicted")

    cmd = [ks.KDP] + runner.eal_args(ks.PREFIX, lcores="0,1") + ["--", "--config", cfg_path]
    return runner.Launch(cmd=cmd, prefix=ks.PREFIX, sink=ks.A2_NULL, source=ks.A1_PCAP,
                         startup_timeout=120.0, cwd=work, check=check, ready=ready)


def l3fwd_launch(l3fwd, n, mode, lookup):
    files = rule_files(n)
    pcap = pcap_established() if mode == "est" else pcap_new()
    prefix = f"kdpbench-pol-{lookup}"
    vdevs = [f"net_pcap0,rx_pcap={pcap}" + (",infinite_rx=1" if mode == "est" else ""),
             "net_null0,no-rx=1"]
    v4, v6 = (files["acl_v4"], files["acl_v6"]) if lookup == "acl" else \
        (files["lpm_v4"], files["lpm_v6"])
    cmd = [l3fwd] + runner.eal_args(prefix, lcores=str(runner.FWD_CORE), vdevs=vdevs) + [
        "--", "-p", "0x3", "--config", f"(0,0,{runner.FWD_CORE})", "--parse-ptype",
        f"--lookup={lookup}", f"--rule_ipv4={v4}", f"--rule_ipv6={v6}"]
    return runner.Launch(cmd=cmd, prefix=prefix, sink="net_null0", source="net_pcap0",
                         startup_timeout=120.0)


# ------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--l3fwd", required=True)
    ap.add_argument("--rules", default="1000,10000")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--only", default="", help="substring of job names")
    a = ap.parse_args(argv)
    quick = os.environ.get("KDP_BENCH_QUICK") == "1"
    runs = a.runs or (1 if quick else 3)
    # The new-flow pcap streams from disk and ends: keep the window short.
    timing = {"est": (0.5 if quick else 1.0, 1.0 if quick else 2.0), "new": (0.2, 0.6),
              "newfull": (0.1, 0.6)}
    counts = [int(x) for x in a.rules.split(",")]
    if not ks.available():
        print(f"polbench: kdp not built ({ks.KDP})", file=sys.stderr)
        return 1
    pcap_new()
    jobs = []
    for mode in ("est", "new"):
        jobs.append({"name": f"l3fwd_lpm_{mode}", "mode": mode,
                     "fn": lambda m=mode: l3fwd_launch(a.l3fwd, counts[0], m, "lpm")})
        for n in counts:
            jobs.append({"name": f"l3fwd_acl_{n}_{mode}", "mode": mode,
                         "fn": lambda m=mode, n=n: l3fwd_launch(a.l3fwd, n, m, "acl")})
            jobs.append({"name": f"kdp_{n}_{mode}", "mode": mode, "n": n,
                         "fn": lambda m=mode, n=n: kdp_launch(n, m, m == "est")})
            if mode == "new":
                jobs.append({"name": f"kdp_{n}_newfull", "mode": "newfull", "n": n,
                             "fn": lambda n=n: kdp_launch(n, "newfull", False)})
    jobs = [j for j in jobs if a.only in j["name"]]
    logs = os.path.join(OUT, "logs")
    for j in jobs:
        j["samples"], j["checks"], j["error"] = [], [], None
    for k in range(runs):
        for j in (jobs if k % 2 == 0 else list(reversed(jobs))):
            if j["error"]:
                continue
            warm, interval = timing[j["mode"]]
            log = os.path.join(logs, f"{j['name']}.run{k}.log")
            try:
                r = runner.measure(j["fn"](), warm, interval, log)
            except (runner.MeasureError, OSError, ValueError, RuntimeError) as e:
                j["error"] = f"{e} (log {log})"
                print(f"  {j['name']}: FAILED: {j['error']}", file=sys.stderr, flush=True)
                continue
            # A streamed pcap that ran dry during the window is no rate.
            if j["mode"] != "est" and r.get("rx_mpps", 0) < 0.9 * r["mpps"]:
                print(f"  {j['name']}: source ran dry, sample dropped", file=sys.stderr)
                continue
            j["samples"].append(r["mpps"])
            if r.get("check"):
                j["checks"].append(r["check"])
            print(f"  [{k + 1}/{runs}] {j['name']:<22} {r['mpps']:8.3f} Mpps "
                  f"(rx {r.get('rx_mpps', 0):.3f})", file=sys.stderr, flush=True)
    res = {}
    for j in jobs:
        if j["samples"]:
            res[j["name"]] = statistics.median(j["samples"])
    print("\npolicy benchmark (64 B, pod-a1 -> pod-a2, one core; Mpps median of "
          f"{runs} run(s))")
    for j in jobs:
        v = res.get(j["name"])
        print(f"  {j['name']:<22} {('%.3f' % v) if v is not None else 'failed':>8}")
    kv = {f"{k}_mpps": v for k, v in res.items()}
    for n in counts:
        for mode in ("est", "new"):
            kd, lpm, acl = (res.get(f"kdp_{n}_{mode}"), res.get(f"l3fwd_lpm_{mode}"),
                            res.get(f"l3fwd_acl_{n}_{mode}"))
            if kd and lpm:
                kv[f"kdp_{n}_{mode}_vs_l3fwd_lpm"] = kd / lpm
            if kd and acl:
                kv[f"kdp_{n}_{mode}_vs_l3fwd_acl"] = kd / acl
        est = next((j for j in jobs if j["name"] == f"kdp_{n}_est"), None)
        if est and est["checks"]:
            c = est["checks"][0]
            kv[f"kdp_{n}_build_ms"] = c["policy"].get("build_ms")
            kv[f"kdp_{n}_fast_build_ms"] = c["policy"].get("fast_build_ms")
            kv[f"kdp_{n}_acl_rules"] = c["policy"].get("acl_rules")
            for what in ("publish", "fast"):
                lat = [x for ch in est["checks"]
                       for x in ch.get("update", {}).get(f"{what}_ms", [])]
                if lat:
                    kv[f"kdp_{n}_update_{what}_ms_median"] = statistics.median(lat)
                    kv[f"kdp_{n}_update_{what}_ms_max"] = max(lat)
            tm = [x for ch in est["checks"]
                  for x in ch.get("update", {}).get("tel_max_ms", [])]
            if tm:
                kv[f"kdp_{n}_update_tel_max_ms"] = max(tm)
        new = next((j for j in jobs if j["name"] == f"kdp_{n}_new"), None)
        if new and new["checks"]:
            kv[f"kdp_{n}_new_classified_share"] = min(
                c["classified_share"] for c in new["checks"])
        full = res.get(f"kdp_{n}_newfull")
        acl = res.get(f"l3fwd_acl_{n}_new")
        if full and acl:
            kv[f"kdp_{n}_newfull_vs_l3fwd_acl"] = full / acl
        fj = next((j for j in jobs if j["name"] == f"kdp_{n}_newfull"), None)
        if fj and fj["checks"]:
            kv[f"kdp_{n}_newfull_ct_full_share"] = max(
                c["ct_full_share"] for c in fj["checks"])
    # Issue #6's name: the new-flow path with the largest rule count.
    big = max(counts)
    if f"kdp_{big}_new_vs_l3fwd_acl" in kv:
        kv["ratio_newflow_vs_l3fwd_acl"] = kv[f"kdp_{big}_new_vs_l3fwd_acl"]
    print("targets: est >= 0.9 x l3fwd LPM, new >= 1.0 x l3fwd ACL (same rules)")
    for k, v in kv.items():
        print(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"kv": kv, "jobs": [{k: j[k] for k in ("name", "samples", "checks",
                                                         "error")} for j in jobs]},
                  f, indent=1)
    return 0 if all(j["samples"] for j in jobs) else 1


if __name__ == "__main__":
    sys.exit(main())
