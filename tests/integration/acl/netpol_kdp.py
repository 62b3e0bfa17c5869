#!/usr/bin/python3
"""Network-policy conformance through the real kdp (issue #4).

Every case of shared/conformance/netpol.json runs through kdp with net_pcap
ports and a file datastore: 9 pods (3 namespaces x 3), one pcap port each.
Per case kdp starts once; every non-loopback probe is a TCP SYN, a UDP
datagram or an SCTP packet (IP proto 132) with its own source port, sent
from the source pod's port; it must come out of the destination pod's port
exactly when 'expect' is true. Replies: for allowed probes the destination
answers (SYN-ACK / UDP / SCTP) and the answer must reach the source; for
blocked TCP probes the SYN-ACK must be dropped (no established flow).

Ordering across ports: every pod's input is [forward probes, padding] up to
the same multiple of the burst size, then its replies, so the worker has
seen every probe before any reply (each rx burst takes <= 32 packets from
each port in turn).

2-node variant (--two-node, a subset of cases): x/* pods live on node-a,
y/* and z/* on node-b. Probes from x to y/z go through node-a (egress
policy, IPIP out of the uplink); that uplink capture is fed to node-b's
uplink (decap, ingress policy) and must reach the pod exactly when
expected.

Usage: netpol_kdp.py KDP_BINARY NETPOL_JSON [--jobs N] [--cases ID,...]
       [--two-node]
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import cluster  # noqa: E402
import kdptel  # noqa: E402

from scapy.all import Ether, IP, TCP, UDP, Raw, wrpcap, rdpcap  # noqa: E402

GW_MAC = "ee:ee:ee:ee:ee:ee"
UPLINK_A = "02:00:00:00:0a:01"
UPLINK_B = "02:00:00:00:0b:01"
GATEWAY_MAC = "02:00:00:00:0f:01"
BURST = 32
POLICY_OFF = False  # --policy-off: check that the test fails without policy
CLASSIFIER = None   # --classifier linear|rte_acl (None: kdp's default)
PROTO = {"TCP": 6, "UDP": 17, "SCTP": 132}
NODES = {"node-a": ("192.168.10.11", UPLINK_A),
         "node-b": ("192.168.10.12", UPLINK_B)}


def pod_mac(i):
    return "02:00:00:00:01:%02x" % (i + 1)


def l4(proto, sport, dport, reply=False):
    if proto == "TCP":
        return TCP(sport=sport, dport=dport, flags="SA" if reply else "S",
                   seq=1000, ack=2000 if reply else 0)
    if proto == "UDP":
        return UDP(sport=sport, dport=dport) / Raw(b"probe")
    # SCTP: common header (ports, tag, checksum); kdp only reads ports.
    return Raw(struct.pack("!HHII", sport, dport, 0, 0))


def frame(src_mac, src, dst, proto, sport, dport, reply=False):
    ip = IP(src=src, dst=dst, proto=PROTO[proto], ttl=64, flags="DF")
    return Ether(src=src_mac, dst=GW_MAC) / ip / l4(proto, sport, dport, reply)


def pad_frame(mac):
    return Ether(src=mac, dst=GW_MAC, type=0x88b5) / Raw(b"\0" * 46)


def ports_of(p):
    return [{"name": c["name"], "containerPort": c["containerPort"],
             "protocol": c["protocol"]} for c in p["containerPorts"]]


def cluster_objs(doc, case, placement):
    """placement: pod ref -> node name."""
    ov = case.get("cluster_overrides", {})
    objs = [cluster.node("node-a", NODES["node-a"][0] + "/24"),
            cluster.node("node-b", NODES["node-b"][0] + "/24"),
            cluster.pool("default-ipv4-ippool", "10.244.0.0/16", "Always")]
    for ns in doc["cluster"]["namespaces"]:
        labels = ov.get("namespace_labels", {}).get(ns["name"], ns["labels"])
        objs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns["name"], "labels": labels}})
    blocks = {}
    for p in doc["cluster"]["pods"]:
        ref = "%s/%s" % (p["namespace"], p["name"])
        ip = p["ip_reference"]
        labels = ov.get("pod_labels", {}).get(ref, p["labels"])
        objs.append(cluster.pod(p["namespace"], p["name"], placement[ref], ip,
                                labels, ports_of(p)))
        net = ip.rsplit(".", 1)[0] + ".0/26"
        blocks.setdefault(net, (placement[ref], []))[1].append(
            (int(ip.rsplit(".", 1)[1]), placement[ref], p["namespace"],
             p["name"]))
    for net, (host, allocs) in blocks.items():
        objs.append(cluster.block(net, host, allocs))
    objs.extend(case.get("policies_with_reference_ips") or case["policies"])
    return objs


class Run:
    """One kdp instance over pcap files in a fresh directory."""

    def __init__(self, kdp, workdir, name, node, objs, pods, inputs,
                 uplink_in=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        ds = os.path.join(self.dir, "ds")
        cluster.write(ds, objs)
        up_in = os.path.join(self.dir, "up_in.pcap")
        if uplink_in:
            shutil.copy(uplink_in, up_in)
        else:
            wrpcap(up_in, [])
        self.up_out = os.path.join(self.dir, "up_out.pcap")
        self.total = len(rdpcap(up_in)) if uplink_in else 0
        pod_ports = []
        for i, ref in enumerate(pods):
            pin = os.path.join(self.dir, "p%d_in.pcap" % i)
            wrpcap(pin, inputs.get(ref, []))
            self.total += len(inputs.get(ref, []))
            pod_ports.append({
                "pod": ref, "mac": pod_mac(pods.index(ref)),
                "devargs": "net_pcap%d,rx_pcap=%s,tx_pcap=%s" % (
                    i + 1, pin, os.path.join(self.dir, "p%d_out.pcap" % i))})
        ip, mac = NODES[node]
        peer = "192.168.10.12" if node == "node-a" else "192.168.10.11"
        peer_mac = UPLINK_B if node == "node-a" else UPLINK_A
        cfg = {"node": node, "datastore": {"type": "file", "path": ds},
               "uplink": {"devargs": "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (
                   up_in, self.up_out), "mac": mac,
                   "neighbors": {peer: peer_mac, "192.168.10.1": GATEWAY_MAC},
                   "gateway": "192.168.10.1"},
               "pod_ports": pod_ports, "workers": 1,
               "conntrack": {"max_flows": 65536},
               "policy": {"enabled": not POLICY_OFF}}
        if CLASSIFIER:
            cfg["policy"]["classifier"] = CLASSIFIER
        self.cfg = os.path.join(self.dir, "kdp.json")
        with open(self.cfg, "w") as f:
            json.dump(cfg, f)
        self.pods = pods
        self.prefix = "kdpnp%d_%s" % (os.getpid(), name)
        self.kdp = kdp

    def run(self):
        log = open(os.path.join(self.dir, "kdp.log"), "w")
        p = subprocess.Popen(
            # --huge-unlink: a kdp killed by a timeout leaves no hugepage
            # files behind for later runs to trip on.
            [self.kdp, "-l", "0,1", "--no-pci", "--file-prefix", self.prefix,
             "--huge-unlink", "-m", "128", "--", "--config", self.cfg],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            tel = kdptel.Telemetry(self.prefix, timeout=20)
            deadline = time.time() + 20
            stable = 0
            while time.time() < deadline:
                st = tel.cmd("/kdp/stats")  # None until registered
                if st and int(st["rx"]) >= self.total:
                    stable += 1
                    if stable >= 3:
                        break
                time.sleep(0.05)
            self.stats = tel.cmd("/kdp/stats")
            self.policy = tel.cmd("/kdp/policy")
            self.ct = tel.cmd("/kdp/conntrack")
            tel.close()
        finally:
            p.send_signal(signal.SIGINT)
            try:
                rc = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = "hung on SIGINT, killed"
            log.close()
        if rc != 0:
            raise RuntimeError("kdp exited %s (%s)" % (rc, self.dir))

    def out(self, ref):
        path = os.path.join(self.dir, "p%d_out.pcap" % self.pods.index(ref))
        return rdpcap(path) if os.path.exists(path) else []


def key_of(pkt):
    ip = pkt[IP]
    if ip.proto in (6, 17):
        return ip.src, ip.dst, ip.proto, ip.payload.sport, ip.payload.dport
    raw = bytes(ip.payload)
    sp, dp = struct.unpack("!HH", raw[:4])
    return ip.src, ip.dst, ip.proto, sp, dp


def padded(frames, mac, length):
    return frames + [pad_frame(mac) for _ in range(length - len(frames))]


def score(res, fails, what, label, pr, src, dst, arrived):
    """Count one check: @arrived must equal the probe's expectation."""
    ok = arrived == pr["expect"]
    res[what + ("_pass" if ok else "_fail")] += 1
    if not ok:
        fails.append("%s %s->%s %s/%d: arrived=%s expect=%s" % (
            label, src, dst, pr["protocol"], pr["port"], arrived,
            pr["expect"]))


def run_case(args, doc, case, workdir):
    pods = ["%s/%s" % (p["namespace"], p["name"]) for p in doc["cluster"]["pods"]]
    ips = {"%s/%s" % (p["namespace"], p["name"]): p["ip_reference"]
           for p in doc["cluster"]["pods"]}
    probes = [p for p in case["probes"] if not p.get("loopback")]
    fwd = {r: [] for r in pods}
    rep = {r: [] for r in pods}
    want = []
    for i, pr in enumerate(probes):
        sport = 10000 + i
        a, b = pr["from"], pr["to"]
        fwd[a].append(frame(pod_mac(pods.index(a)), ips[a], ips[b],
                            pr["protocol"], sport, pr["port"]))
        check_reply = pr["expect"] or pr["protocol"] == "TCP"
        if check_reply:
            rep[b].append(frame(pod_mac(pods.index(b)), ips[b], ips[a],
                                pr["protocol"], pr["port"], sport, True))
        want.append((pr, sport, check_reply))
    longest = max(len(v) for v in fwd.values())
    length = (longest + BURST - 1) // BURST * BURST + BURST
    inputs = {r: padded(fwd[r], pod_mac(pods.index(r)), length) + rep[r]
              for r in pods}
    run = Run(args.kdp, workdir, case["id"], "node-a",
              cluster_objs(doc, case, {r: "node-a" for r in pods}), pods,
              inputs)
    run.run()
    got = set()
    for r in pods:
        for pkt in run.out(r):
            if IP in pkt:
                got.add(key_of(pkt))
    res = {"probe_pass": 0, "probe_fail": 0, "reply_pass": 0, "reply_fail": 0}
    fails = []
    for pr, sport, check_reply in want:
        a, b, proto = pr["from"], pr["to"], PROTO[pr["protocol"]]
        arrived = (ips[a], ips[b], proto, sport, pr["port"]) in got
        score(res, fails, "probe", case["id"], pr, a, b, arrived)
        if check_reply:
            back = (ips[b], ips[a], proto, pr["port"], sport) in got
            score(res, fails, "reply", case["id"] + " reply", pr, b, a, back)
    drops = run.stats["drop_reasons"]
    if not args.keep:
        shutil.rmtree(run.dir, ignore_errors=True)
    return case["id"], res, fails, drops


def run_case_two_node(args, doc, case, workdir):
    pods = ["%s/%s" % (p["namespace"], p["name"]) for p in doc["cluster"]["pods"]]
    ips = {"%s/%s" % (p["namespace"], p["name"]): p["ip_reference"]
           for p in doc["cluster"]["pods"]}
    place = {r: "node-a" if r.startswith("x/") else "node-b" for r in pods}
    probes = [p for p in case["probes"] if not p.get("loopback") and
              place[p["from"]] == "node-a" and place[p["to"]] == "node-b"]
    objs = cluster_objs(doc, case, place)
    a_pods = [r for r in pods if place[r] == "node-a"]
    b_pods = [r for r in pods if place[r] == "node-b"]
    fwd = {r: [] for r in a_pods}
    for i, pr in enumerate(probes):
        a, b = pr["from"], pr["to"]
        fwd[a].append(frame(pod_mac(pods.index(a)), ips[a], ips[b],
                            pr["protocol"], 10000 + i, pr["port"]))
    ra = Run(args.kdp, workdir, case["id"] + "_a", "node-a", objs, a_pods, fwd)
    ra.run()
    rb = Run(args.kdp, workdir, case["id"] + "_b", "node-b", objs, b_pods, {},
             uplink_in=ra.up_out)
    rb.run()
    got = set()
    for r in b_pods:
        for pkt in rb.out(r):
            if IP in pkt:
                got.add(key_of(pkt))
    res = {"probe_pass": 0, "probe_fail": 0, "reply_pass": 0, "reply_fail": 0}
    fails = []
    for i, pr in enumerate(probes):
        a, b = pr["from"], pr["to"]
        arrived = (ips[a], ips[b], PROTO[pr["protocol"]], 10000 + i,
                   pr["port"]) in got
        score(res, fails, "probe", case["id"] + "(2-node)", pr, a, b,
              arrived)
    drops = rb.stats["drop_reasons"]
    if not args.keep:
        shutil.rmtree(ra.dir, ignore_errors=True)
        shutil.rmtree(rb.dir, ignore_errors=True)
    return case["id"], res, fails, drops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kdp")
    ap.add_argument("netpol")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cases", default="")
    ap.add_argument("--two-node", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--policy-off", action="store_true")
    ap.add_argument("--classifier", choices=("linear", "rte_acl"))
    args = ap.parse_args()
    global POLICY_OFF, CLASSIFIER
    POLICY_OFF = args.policy_off
    CLASSIFIER = args.classifier
    with open(args.netpol) as f:
        doc = json.load(f)
    cases = doc["cases"]
    if args.cases:
        want = set(args.cases.split(","))
        cases = [c for c in cases if c["id"] in want]
    elif args.two_node:
        # The cases where probes from x/* to y/*, z/* (node-a to node-b)
        # have both outcomes.
        def mixed(c):
            e = {p["expect"] for p in c["probes"]
                 if p["from"].startswith("x/") and not p["to"].startswith("x/")}
            return len(e) == 2
        cases = [c for c in cases if mixed(c)]
    workdir = tempfile.mkdtemp(prefix="kdp_netpol_")
    fn = run_case_two_node if args.two_node else run_case
    total = {"probe_pass": 0, "probe_fail": 0, "reply_pass": 0,
             "reply_fail": 0}
    failed_cases = []
    t0 = time.time()
    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            futs = [ex.submit(fn, args, doc, c, workdir) for c in cases]
            for fut in futs:
                cid, res, fails, drops = fut.result()
                for k in total:
                    total[k] += res[k]
                if fails:
                    failed_cases.append(cid)
                    for line in fails[:10]:
                        print("FAIL", line)
                    print("  drops:", {k: v for k, v in drops.items()
                                       if int(v)})
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("%s%d cases in %.0f s: probes %d passed, %d failed; replies %d "
          "passed, %d failed" % ("2-node: " if args.two_node else "",
                                 len(cases), time.time() - t0,
                                 total["probe_pass"], total["probe_fail"],
                                 total["reply_pass"], total["reply_fail"]))
    if failed_cases:
        print("failed cases:", ",".join(failed_cases))
    return 1 if failed_cases or total["probe_pass"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
