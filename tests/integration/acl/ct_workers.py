#!/usr/bin/python3
"""Policy + conntrack with two workers, through the real kdp (acl/acl.h
"Several workers").

kdp runs with workers=2 (3 lcores on 2 cores: --lcores 0@0,1@1,2@1). Pods
x/a and x/b are kernel network namespaces on tap ports; kdp spreads the
ports (or, with multi-queue taps, their queues) over the two workers, so a
flow's request and reply are received by different workers. Policy allows
x/a -> x/b only (x/b: ingress from app=a, no egress; x/a: no ingress).

Checks:
 1. real kernel TCP connections x/a -> x/b:8080 (SYN, SYN-ACK, ACK, data,
    FIN) all complete, and packets were handed between workers;
 2. x/b -> x/a connections fail (policy_deny);
 3. SYN-ACKs x/b sends for connections that never existed are dropped as
    ct_invalid and never reach x/a.
With the per-worker conntrack, (1) fails: the SYN-ACK of a flow whose SYN
another worker saw is ct_invalid.

Usage: ct_workers.py KDP_BINARY
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import cluster  # noqa: E402
import kdptel  # noqa: E402
from twonode import no_ipv6, sh  # noqa: E402

PY = "/usr/bin/python3"
A_IP, B_IP = "10.244.1.10", "10.244.1.11"
A_MAC, B_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02"
N_CONN = 24
N_BOGUS = 5

EMPTY_PCAP = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")

SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080)); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello from b"); c.close()
"""

CLIENT = r"""
import socket, sys
ok = 0
for i in range(int(sys.argv[2])):
    try:
        c = socket.create_connection((sys.argv[1], 8080), timeout=float(sys.argv[3]))
        c.settimeout(float(sys.argv[3]))
        ok += c.recv(64) == b"hello from b"
        c.close()
    except OSError:
        pass
print(ok)
"""

BOGUS = r"""
import sys
from scapy.all import IP, TCP, send
for i in range(int(sys.argv[3])):
    send(IP(src=sys.argv[1], dst=sys.argv[2]) /
         TCP(sport=8080, dport=45000 + i, flags="SA", seq=1000, ack=1),
         verbose=False)
"""


def policies():
    sel = lambda app: {"matchLabels": {"app": app}}  # noqa: E731
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "b-from-a", "namespace": "x"},
         "spec": {"podSelector": sel("b"), "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [{"podSelector": sel("a")}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "a-closed", "namespace": "x"},
         "spec": {"podSelector": sel("a"), "policyTypes": ["Ingress"]}},
    ]


def objects():
    objs = [o for o in cluster.three_nodes()
            if not (o["kind"] == "Pod" and o["metadata"]["namespace"] == "x")]
    objs += [cluster.pod("x", "a", "node-a", A_IP, {"app": "a"}),
             cluster.pod("x", "b", "node-a", B_IP, {"app": "b"})]
    return objs + policies()


class Run:
    """kdp with tap pods x/a and x/b in network namespaces; @workers
    workers, and @conntrack as the config's conntrack section."""

    def __init__(self, kdp, workers=2, conntrack=None):
        self.kdp = kdp
        self.workers = workers
        self.conntrack = conntrack
        self.tag = "%04x" % (os.getpid() & 0xffff)
        self.dir = tempfile.mkdtemp(prefix="kdp-ctw-")
        self.prefix = "kdpctw" + self.tag
        self.pods = {"a": ("ctwa" + self.tag, "kca" + self.tag, A_IP, A_MAC),
                     "b": ("ctwb" + self.tag, "kcb" + self.tag, B_IP, B_MAC)}
        self.proc = self.server = None

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def start(self):
        cluster.write(self.path("ds"), objects())
        with open(self.path("empty.pcap"), "wb") as f:
            f.write(EMPTY_PCAP)
        up = self.path("up")
        cfg = {"node": "node-a", "datastore": {"type": "file", "path": self.path("ds")},
               # one tx queue per worker: one tx_pcap each
               "uplink": {"devargs": "net_pcap0,rx_pcap=%s.pcap,tx_pcap=%s0.pcap,"
                          "tx_pcap=%s1.pcap" % (self.path("empty"), up, up),
                          "mac": "02:00:00:00:0a:01",
                          "neighbors": {cluster.GATEWAY: "02:00:00:00:0f:01"},
                          "gateway": cluster.GATEWAY},
               "pod_ports": [{"pod": "x/" + p, "mac": mac,
                              "devargs": "net_tap_ctw%s%s,iface=%s" % (p, self.tag, tap)}
                             for p, (ns, tap, ip, mac) in sorted(self.pods.items())],
               "workers": self.workers}
        if self.conntrack:
            cfg["conntrack"] = self.conntrack
        with open(self.path("kdp.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        self.log = open(self.path("kdp.log"), "w+")
        self.proc = subprocess.Popen(
            [self.kdp, "--lcores", "0@0,1@1,2@1" if self.workers == 2 else "0@0,1@1",
             "--no-pci", "--file-prefix",
             self.prefix, "-m", "256", "--log-level", "lib.eal:error", "--",
             "--config", self.path("kdp.json")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        taps = [t for ns, t, ip, mac in self.pods.values()]
        while not all(sh("ip", "link", "show", t, check=False).returncode == 0
                      for t in taps):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("kdp did not create its taps:\n" + self.output())
            time.sleep(0.1)
        for ns, tap, ip, mac in self.pods.values():
            sh("ip", "netns", "add", ns)
            no_ipv6(ns)
            sh("ip", "link", "set", tap, "netns", ns)
            n = ("ip", "-n", ns)
            sh(*n, "link", "set", "lo", "up")
            sh(*n, "link", "set", tap, "address", mac)
            sh(*n, "link", "set", tap, "up")
            sh(*n, "addr", "add", ip + "/32", "dev", tap)
            sh(*n, "route", "add", "169.254.1.1", "dev", tap, "scope", "link")
            sh(*n, "route", "add", "default", "via", "169.254.1.1", "dev", tap)
            sh(*n, "neigh", "add", "169.254.1.1", "lladdr", "ee:ee:ee:ee:ee:ee",
               "dev", tap, "nud", "permanent")
        self.tel = kdptel.Telemetry(self.prefix, timeout=5)

    def ns(self, pod, *args, **kw):
        return sh("ip", "netns", "exec", self.pods[pod][0], *args, **kw)

    def stats(self):
        return self.tel.cmd("/kdp/stats")

    def port_tx(self, st, pod, what="tx"):
        name = "net_tap_ctw%s%s" % (pod, self.tag)
        for v in st["ports"].values():
            if v["name"] == name:
                return v[what]
        raise KeyError("no port %s in %s" % (name, st["ports"]))

    def output(self):
        self.log.flush()
        with open(self.path("kdp.log")) as f:
            return f.read()

    def close(self):
        if self.server:
            self.server.kill()
            self.server.wait()
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for ns, tap, ip, mac in self.pods.values():
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        return rc


def run_checks(name, r, body):
    """Start @r, run @body(r) (asserts), stop kdp (it must exit 0) and
    clean up; print and return the verdict as an exit code."""
    ok = False
    try:
        r.start()
        body(r)
        ok = True
    except Exception as e:  # noqa: BLE001
        print("FAIL: %s" % e)
        if r.proc:
            print("--- kdp log:\n" + r.output())
    finally:
        rc = r.close()
        if ok and rc != 0:
            print("FAIL: kdp exited %s" % rc)
            ok = False
        shutil.rmtree(r.dir, ignore_errors=True)
    print("%s: %s" % (name, "ok" if ok else "FAILED"))
    return 0 if ok else 1


def checks(r):
    r.server = subprocess.Popen(
        ["ip", "netns", "exec", r.pods["b"][0], PY, "-c", SERVER, B_IP],
        stdout=subprocess.PIPE, text=True)
    assert r.server.stdout.readline().strip() == "ready"

    # 1. x/a -> x/b: real TCP, every connection completes.
    st0 = r.stats()
    got = int(r.ns("a", PY, "-c", CLIENT, B_IP, str(N_CONN), "3").stdout)
    st1 = r.stats()
    ho = st1.get("handoff_out", 0) - st0.get("handoff_out", 0)
    print("x/a -> x/b: %d/%d connections, %d packets handed over"
          % (got, N_CONN, ho))
    assert got == N_CONN, "connections x/a -> x/b failed"
    assert ho > 0 and st1["handoff_in"] == st1["handoff_out"], \
        "no cross-worker packets: the test does not exercise handoff"

    # 2. x/b -> x/a: denied.
    srv = subprocess.Popen(["ip", "netns", "exec", r.pods["a"][0], PY, "-c",
                            SERVER, A_IP], stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        got = int(r.ns("b", PY, "-c", CLIENT, A_IP, "2", "1").stdout)
    finally:
        srv.kill()
        srv.wait()
    st2 = r.stats()
    deny = st2["drop_reasons"]["policy_deny"] - st1["drop_reasons"]["policy_deny"]
    print("x/b -> x/a: %d/2 connections, policy_deny +%d" % (got, deny))
    assert got == 0 and deny > 0, "x/b reached x/a"

    # 3. Replies of connections that never existed: ct_invalid.
    tx_a = r.port_tx(st2, "a")
    r.ns("b", PY, "-c", BOGUS, B_IP, A_IP, str(N_BOGUS))
    time.sleep(0.5)
    st3 = r.stats()
    inval = st3["drop_reasons"]["ct_invalid"] - st2["drop_reasons"]["ct_invalid"]
    print("bogus SYN-ACKs x/b -> x/a: ct_invalid +%d, x/a tx +%d"
          % (inval, r.port_tx(st3, "a") - tx_a))
    assert inval == N_BOGUS, "bogus replies not dropped as ct_invalid"
    assert r.port_tx(st3, "a") == tx_a, "a bogus reply reached x/a"
    assert st3["drop_reasons"]["handoff_full"] == 0


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    return run_checks("ct_workers", Run(sys.argv[1]), checks)


if __name__ == "__main__":
    sys.exit(main())
