#!/usr/bin/python3
"""Policy change at scale (issue #4): 1,000 NetworkPolicies and 10,000 Pods
in kdp's file datastore; one policy changes at a time while traffic flows.

kdp runs as node-0 with one pod port (ns-0/pod-0, a net_pcap replaying UDP
toward pods on other nodes, infinite_rx) and a net_null uplink. Printed:
  - change → publish latency p50/p99/max: from the write of the changed
    policy file (CLOCK_MONOTONIC) to kdp's publish of tables containing it
    (its last_publish_mono; publishing waits for every worker to pass an
    RCU quiescent state, so the workers use the new programs by then);
  - traffic: the longest interval, sampled from /kdp/stats, in which the
    uplink tx counter did not grow while changes were being published
    (a stall would show as a gap far above the sampling period).

    /usr/bin/python3 perf/policy_scale.py [--changes 60] [--pods 10000]
        [--policies 1000]

Exit status 0 whether or not the target (p99 < 100 ms) is met; 1 on errors."""

import argparse
import ipaddress
import json
import os
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "k8s"))

from kdpk8s import Kdp, cluster, kdptel, wait_for  # noqa: E402
from k8s_scale import pct  # noqa: E402

TARGET_P99_MS = 100.0
POD_MAC = "02:00:00:00:01:01"
GW_MAC = "02:00:00:00:0f:01"
N_NODES = 50
N_NS = 20


def node_ip(i):
    # node-0 alone in its /24: every other node is behind the gateway,
    # whose MAC is static, so traffic needs no ARP.
    return f"192.168.{10 + i}.10"


def objects(n_pods, n_pols):
    pool = ipaddress.IPv4Network("10.244.0.0/14")
    objs = [cluster.pool("p", str(pool), "Always")]
    objs += [cluster.namespace(f"ns-{i}") for i in range(N_NS)]
    per_node = -(-n_pods // N_NODES)
    blocks_per_node = -(-per_node // 62)
    for n in range(N_NODES):
        objs.append(cluster.node(f"node-{n}", node_ip(n) + "/24"))
        for b in range(blocks_per_node):
            base = pool.network_address + 64 * (n * blocks_per_node + b)
            objs.append(cluster.block(f"{base}/26", f"node-{n}"))
    ips = {}
    for i in range(n_pods):
        n, k = i % N_NODES, i // N_NODES
        base = pool.network_address + 64 * (n * blocks_per_node + k // 62)
        ip = str(base + 1 + k % 62)
        ns = f"ns-{i % N_NS}"
        objs.append(cluster.pod(ns, f"pod-{i}", f"node-{n}", ip,
                                {"app": f"app-{i % 50}",
                                 "tier": ("web", "db", "cache")[i % 3]},
                                [{"name": "http", "containerPort": 8080,
                                  "protocol": "TCP"}]))
        ips[i] = ip
    for i in range(n_pols):
        objs.append(policy(f"np-{i}", f"ns-{i % N_NS}", f"app-{i % 50}",
                           8080))
    return objs, ips


def policy(name, ns, app, port):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"app": app}},
                     "policyTypes": ["Ingress", "Egress"],
                     "ingress": [{"from": [{"podSelector": {"matchLabels": {
                         "tier": "web"}}}],
                         "ports": [{"protocol": "TCP", "port": port}]}],
                     "egress": [{"to": [{"namespaceSelector": {}}],
                                 "ports": [{"protocol": "UDP",
                                            "port": 9000}]}]}}


def write_pcap(path, src, dsts):
    from scapy.all import IP, UDP, Ether, wrpcap  # noqa: E402
    pkts = [Ether(src=POD_MAC, dst="ee:ee:ee:ee:ee:ee") /
            IP(src=src, dst=d) / UDP(sport=10000 + i, dport=9000) /
            (b"x" * 18) for i, d in enumerate(dsts)]
    wrpcap(path, pkts)


class Sampler(threading.Thread):
    """Polls the uplink's ethdev tx counter (DPDK's /ethdev/stats, which,
    unlike /kdp/stats, does not wait for the control lock held while
    compiling) on its own telemetry connection; keeps (time, tx) samples."""

    def __init__(self, kdp):
        super().__init__(daemon=True)
        self.tel = kdptel.Telemetry(kdp.prefix, timeout=5)
        self.port = next(p for p in self.tel.cmd("/ethdev/list")
                         if self.tel.cmd(f"/ethdev/info,{p}")["name"] ==
                         "net_null0")
        self.samples, self.stop = [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                tx = int(self.tel.cmd(f"/ethdev/stats,{self.port}")
                         ["opackets"])
            except Exception:  # kdp going away at the end
                return
            self.samples.append((time.monotonic(), tx))
            time.sleep(0.001)

    def longest_stall(self, t0, t1):
        s = [x for x in self.samples if t0 <= x[0] <= t1]
        worst, since = 0.0, None
        for (ta, xa), (tb, xb) in zip(s, s[1:]):
            if xb == xa:
                since = ta if since is None else since
                worst = max(worst, tb - since)
            else:
                since = None
        gaps = [tb - ta for (ta, _), (tb, _) in zip(s, s[1:])]
        return worst, (max(gaps) if gaps else 0.0), len(s)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=60)
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--policies", type=int, default=1000)
    a = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="kdp-policy-scale-")
    ds = os.path.join(work, "ds")
    objs, ips = objects(a.pods, a.policies)
    cluster.write(ds, objs)
    pol_file = "zz-change.json"
    cluster.write(ds, [policy("np-change", "ns-0", "app-0", 1)], pol_file)
    pcap = os.path.join(work, "pod.pcap")
    remote = [ips[i] for i in range(1, a.pods) if i % N_NODES != 0][:64]
    write_pcap(pcap, ips[0], remote)
    cfg = {"node": "node-0",
           "datastore": {"type": "file", "path": ds},
           "uplink": {"devargs": "net_null0,no-rx=1",
                      "mac": "02:00:00:00:0a:01",
                      "neighbors": {"192.168.10.1": GW_MAC},
                      "gateway": "192.168.10.1"},
           "pod_ports": [{"pod": "ns-0/pod-0", "mac": POD_MAC,
                          "devargs": f"net_pcap0,rx_pcap={pcap},"
                                     "infinite_rx=1"}],
           "workers": 1}
    print(f"{a.pods} pods on {N_NODES} nodes, {a.policies} policies; "
          f"{a.changes} changes", flush=True)
    kdp = Kdp(work, cfg, "polscale", mem_mb=256)
    kdp.start()
    lat, rc = [], None
    try:
        kdp.wait_published(60)
        d = kdp.ds()
        print(f"first publish {float(d['first_publish_ms']) / 1000:.2f} s "
              f"after control start; compile+publish "
              f"{d['last_publish_ms']} ms", flush=True)
        if not wait_for(lambda: int(kdp.stats()["tx"]) > 1000, 10, 0.01):
            raise SystemExit(f"no traffic through kdp: {kdp.stats()}")
        smp = Sampler(kdp)
        smp.start()
        time.sleep(0.3)
        t_begin = time.monotonic()
        for i in range(a.changes):
            pubs = int(kdp.ds()["publishes"])
            t_w = time.monotonic()
            cluster.write(ds, [policy("np-change", "ns-0", "app-0",
                                      1000 + i)], pol_file)
            if not wait_for(lambda: int(kdp.ds()["publishes"]) > pubs, 10,
                            0.001):
                raise SystemExit(f"change {i} never published")
            wait_for(lambda: float(kdp.ds()["last_publish_mono"]) >=
                     float(kdp.ds()["last_change_mono"]), 5, 0.001)
            lat.append((float(kdp.ds()["last_publish_mono"]) - t_w) * 1e3)
            time.sleep(0.1)
        t_end = time.monotonic()
        time.sleep(0.2)
        smp.stop.set()
        smp.join(2)
        smp.tel.close()
        stall, gap, n = smp.longest_stall(t_begin, t_end)
        assert kdp.alive(), kdp.log()
    finally:
        rc = kdp.stop()
    if rc != 0:
        print(f"kdp exited {rc}; log in {kdp.log_path}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    p99 = pct(lat, 99)
    print(f"policy change → publish over {len(lat)} changes: p50 "
          f"{pct(lat, 50):.1f} ms, p99 {p99:.1f} ms, max {max(lat):.1f} ms")
    print(f"traffic: longest time without uplink tx growth {stall * 1e3:.1f}"
          f" ms ({n} samples, longest sampling gap {gap * 1e3:.1f} ms)")
    print(f"target: change → publish p99 {p99:.1f} ms < {TARGET_P99_MS:.0f}"
          f" ms: {'met' if p99 < TARGET_P99_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
