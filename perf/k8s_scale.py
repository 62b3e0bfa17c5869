#!/usr/bin/python3
"""kdp against the API server stand-in at cluster scale (issue #3, point 4).

The stand-in serves 5,000 Nodes, 100,000 Pods, 5,000 IPAMBlocks, 2,000
NetworkPolicies (`kdp-lab apiserver load --generate ...`) plus one IPPool
over the generated blocks; kdp runs as node-0 (net_null ports, no traffic).
Printed, with the targets:
  - initial sync: kdp's own first_sync_ms / first_publish_ms (from control
    start) and the wall time from spawning kdp to the first publish;
  - peak RSS: VmHWM of the kdp process;
  - update → publish latency p50/p99 over single-object updates (a Pod's
    labels, a Node's annotation, an IPAMBlock's allocations, in turn): from
    the stand-in's write (its CLOCK_MONOTONIC time) to kdp's publish of the
    tables that contain it (kdp's CLOCK_MONOTONIC time).

    /usr/bin/python3 perf/k8s_scale.py [--updates 200] [--scale 1.0]

Exit status 0 whether or not targets are met (a benchmark); 1 on errors."""

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "k8s"))

from kdpk8s import Kdp, Lab, cluster, config, load, wait_for  # noqa: E402

TARGET_SYNC_S = 10.0
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 1024.0


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def cpu_s(pid):
    """User + system CPU seconds of process @pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def standin_pid(lab):
    """The stand-in's server process (kdp-lab apiserver serve --dir DIR)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"serve" in args and lab.dir.encode() in args:
            return int(d)
    return None


def write_times(lab, since):
    return {rv: t for rv, t in
            json.loads(lab.lab("write-times", str(since)))["writes"]}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--kinds", default="pod,node,block",
                    help="update kinds, in turn: pod (a label no selector "
                    "reads), node, block, podsel (a label a policy's peer "
                    "selector reads: the pod enters or leaves an IP set)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply object counts (quick runs: 0.1)")
    a = ap.parse_args(argv)
    kind_list = a.kinds.split(",")
    if not kind_list or any(k not in ("pod", "node", "block", "podsel")
                            for k in kind_list):
        ap.error(f"--kinds: {a.kinds}")
    n = {"nodes": 5000, "pods": 100000, "ipamblocks": 5000,
         "networkpolicies": 2000}
    n = {k: max(1, int(v * a.scale)) for k, v in n.items()}
    spec = ",".join(f"{k}={v}" for k, v in n.items())
    work = tempfile.mkdtemp(prefix="kdp-k8s-scale-")
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with Lab("--history", "20000") as lab:
        t = time.monotonic()
        print(f"stand-in: load --generate {spec}", flush=True)
        lab.lab("load", "--generate", spec)
        load(lab, [cluster.pool("default-ipv4-ippool", "10.244.0.0/14",
                                "Always")])
        print(f"  loaded in {time.monotonic() - t:.1f} s", flush=True)
        cfg = config(lab.path("kubeconfig"))
        cfg["node"] = "node-0"
        cfg["pod_ports"][0]["pod"] = "ns-0/pod-0"
        cfg["uplink"]["neighbors"] = {cluster.GATEWAY: "02:00:00:00:0f:01"}
        kdp = Kdp(work, cfg, "scale", mem_mb=512)
        srv = standin_pid(lab)
        srv_cpu0 = cpu_s(srv) if srv else 0.0
        kdp.start()
        try:
            if not wait_for(lambda: int(kdp.ds()["publishes"]) > 0, 120,
                            0.02):
                raise SystemExit(f"no publish in 120 s; log:\n{kdp.log()}")
            wall = time.monotonic() - kdp.t_start
            kdp_cpu = cpu_s(kdp.proc.pid)
            srv_cpu = cpu_s(srv) - srv_cpu0 if srv else float("nan")
            ds = kdp.ds()
            sync_ms = float(ds["first_sync_ms"])
            pub_ms = float(ds["first_publish_ms"])
            routes = int(kdp.cmd("/kdp/routes")["total"])
            rss0 = vm_hwm_mb(kdp.proc.pid)
            print(f"initial sync: datastore synced {sync_ms / 1000:.2f} s,"
                  f" first publish {pub_ms / 1000:.2f} s after control "
                  f"start; {wall:.2f} s from spawn (EAL init included); "
                  f"{routes} routes; compile+publish "
                  f"{ds['last_publish_ms']} ms", flush=True)
            print(f"  CPU time until then: kdp {kdp_cpu:.2f} s (EAL init "
                  f"and workers included), the stand-in {srv_cpu:.2f} s",
                  flush=True)

            c = lab.client()
            lat, kinds, seen, own, comp, grace = [], [], [], [], [], []
            for i in range(a.updates):
                kind = kind_list[i % len(kind_list)]
                j = i // len(kind_list)
                before = kdp.ds()
                pubs = int(before["publishes"])
                if kind == "pod":
                    doc = c.must("PATCH", f"/api/v1/namespaces/ns-0/pods/"
                                 f"pod-{j * 20}",
                                 {"metadata": {"labels": {"bench": str(i)}}},
                                 "application/merge-patch+json")
                elif kind == "podsel":
                    # ns-0 pods whose tier is web, in the peer set of
                    # ns-0's policies; flipped to db and back in turn
                    k = (j // 2) * 60
                    doc = c.must("PATCH", f"/api/v1/namespaces/ns-0/pods/"
                                 f"pod-{k}",
                                 {"metadata": {"labels": {"tier": (
                                     "db", "web")[j % 2]}}},
                                 "application/merge-patch+json")
                elif kind == "node":
                    doc = c.must("PATCH", f"/api/v1/nodes/node-{j + 1}",
                                 {"metadata": {"annotations": {
                                     "kdp-bench": str(i)}}},
                                 "application/merge-patch+json")
                else:
                    path = ("/apis/crd.projectcalico.org/v1/ipamblocks/"
                            f"10-244-{(64 * (j + 1)) // 256}-"
                            f"{(64 * (j + 1)) % 256}-26")
                    blk = c.must("GET", path)
                    allocs = blk["spec"]["allocations"]
                    allocs[1] = 0 if allocs[1] is None else None
                    doc = c.must("PATCH", path, {"spec": {
                        "allocations": allocs}},
                        "application/merge-patch+json")
                rv = int(doc["metadata"]["resourceVersion"])
                if not wait_for(lambda: int(kdp.ds()["publishes"]) > pubs,
                                10, 0.002):
                    raise SystemExit(f"update {i} ({kind}) never published")
                # A publish after the write's change, not a late one of
                # something earlier: wait until the change is in.
                wait_for(lambda: float(kdp.ds()["last_publish_mono"]) >=
                         float(kdp.ds()["last_change_mono"]), 5, 0.002)
                d = kdp.ds()
                t_pub = float(d["last_publish_mono"])
                t_seen = float(d["last_change_mono"])
                t_w = write_times(lab, rv - 1)[rv]
                lat.append((t_pub - t_w) * 1000.0)
                own.append(float(d["last_publish_ms"]))
                # absent from kdp builds before these keys: nan
                comp.append(float(d.get("last_compile_ms", "nan")))
                grace.append(float(d.get("last_grace_ms", "nan")))
                seen.append((t_seen - t_w) * 1000.0)
                kinds.append(kind)
                time.sleep(0.02)
            rss = vm_hwm_mb(kdp.proc.pid)
            assert kdp.alive(), kdp.log()
        finally:
            rc = kdp.stop()
    if rc != 0:
        print(f"kdp exited {rc}; log in {kdp.log_path}")
    p50, p99 = pct(lat, 50), pct(lat, 99)
    sync_s = pub_ms / 1000.0

    def verdict(ok):
        return "met" if ok else "MISSED"
    print(f"update → publish over {len(lat)} single-object updates: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(lat):.1f} ms")
    print(f"  of which write → kdp sees the change (watch delivery): "
          f"p50 {pct(seen, 50):.1f} ms, p99 {pct(seen, 99):.1f} ms")
    print(f"  of which kdp's compile+publish (last_publish_ms): "
          f"p50 {pct(own, 50):.1f} ms, p99 {pct(own, 99):.1f} ms, "
          f"max {max(own):.1f} ms")
    print(f"    compile (route set, tables): p50 {pct(comp, 50):.1f} ms, "
          f"p99 {pct(comp, 99):.1f} ms; retiring old tables: "
          f"p50 {pct(grace, 50):.1f} ms, p99 {pct(grace, 99):.1f} ms")
    for k in kind_list:
        xs = [x for x, kk in zip(lat, kinds) if kk == k]
        ys = [x for x, kk in zip(own, kinds) if kk == k]
        print(f"  {k}: p50 {pct(xs, 50):.1f} ms, p99 {pct(xs, 99):.1f} ms"
              f" (compile+publish p50 {pct(ys, 50):.1f} ms, "
              f"p99 {pct(ys, 99):.1f} ms)")
    print(f"peak RSS (VmHWM): {rss:.0f} MiB ({rss0:.0f} MiB after the "
          f"first publish)")
    print("load average (1, 5, 15 min) at start: %s, at end: %s"
          % (load0, " ".join(f"{x:.2f}" for x in os.getloadavg())))
    print("targets:")
    print(f"  initial sync (start → first publish) {sync_s:.2f} s < "
          f"{TARGET_SYNC_S:.0f} s: {verdict(sync_s < TARGET_SYNC_S)}")
    print(f"  update → publish p99 {p99:.1f} ms < {TARGET_P99_MS:.0f} ms: "
          f"{verdict(p99 < TARGET_P99_MS)}")
    print(f"  peak RSS {rss:.0f} MiB < {TARGET_RSS_MB:.0f} MiB: "
          f"{verdict(rss < TARGET_RSS_MB)}")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
