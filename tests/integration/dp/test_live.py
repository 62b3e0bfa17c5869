"""Cluster changes while traffic runs: pod x/a sends two flows without end
(pcap infinite_rx), one to y/a on node-b (IPIP out of the uplink), one to
the local pod x/b. While they run, the datastore directory is edited: a new
node-d with a new block, a block moved from node-c to node-d, a block
deleted. /kdp/routes must follow within a second, without a restart, and
neither flow may stall or lose a packet meanwhile.

usage: test_live.py KDP_EXE SOURCE_ROOT [CASE...]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".",
                                "tests", "lib"))
import cluster  # noqa: E402
import kdprun  # noqa: E402
from kdprun import GW_MAC, POD_MACS  # noqa: E402

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

NODE_D_IP = "192.168.10.14"
SAMPLE_S = 0.1        # stats sampling interval
ROUTE_DEADLINE_S = 1.0


def flows():
    return [Ether(src=POD_MACS["x/a"], dst=GW_MAC) /
            IP(src="10.244.1.10", dst=dst) / UDP(sport=1, dport=2) / Raw(b"f" * 32)
            for dst in ("10.244.2.10", "10.244.1.11")]


def edited(objs, edits):
    """three_nodes() with @edits applied: add_node, move block, drop block."""
    out = []
    for o in objs:
        name = o["metadata"]["name"]
        if o["kind"] == "IPAMBlock" and name in edits.get("delete", ()):
            continue
        if o["kind"] == "IPAMBlock" and name in edits.get("move", {}):
            o = dict(o, spec=dict(o["spec"], affinity="host:" + edits["move"][name]))
        out.append(o)
    if edits.get("node_d"):
        out += [cluster.node("node-d", NODE_D_IP + "/24", "10.244.4.1"),
                cluster.block("10.244.4.0/26", "node-d", [(7, "node-d", "y", "f")])]
    return out


class Sampler:
    """Samples /kdp/stats; checks that both flows' tx grew in every interval
    and that no packet was dropped."""

    def __init__(self, k):
        self.k = k
        self.prev = self.read()
        self.t_start = self.prev[0]
        self.samples = 0
        self.stalls = []       # (time since start, interval, d uplink, d x/b)
        self.run = 0           # consecutive stalled intervals now
        self.max_run = 0

    def read(self):
        st = self.k.stats()
        ps = self.k.port_stats(st)
        return time.time(), ps["uplink"]["tx"], ps["x/b"]["tx"], st

    def sample(self):
        cur = self.read()
        t0, up0, xb0, _ = self.prev
        t1, up1, xb1, st = cur
        self.samples += 1
        if up1 <= up0 or xb1 <= xb0:
            self.stalls.append((round(t1 - self.t_start, 2), round(t1 - t0, 3),
                                up1 - up0, xb1 - xb0))
            self.run += 1
            self.max_run = max(self.max_run, self.run)
        else:
            self.run = 0
        assert st["drops"] == 0, {k: v for k, v in st["drop_reasons"].items() if v}
        self.prev = cur
        return cur

    def run_for(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(SAMPLE_S)
            self.sample()


def change_and_wait(k, s, objs, want_in, want_out):
    """Rewrite the datastore, sample while waiting for /kdp/routes to show it."""
    gen0, _ = k.routes()
    t0 = time.time()
    cluster.write(k.ds_dir, objs)
    while True:
        gen, routes = k.routes()
        if gen > gen0 and want_in <= routes and not (want_out & routes):
            return time.time() - t0, routes
        assert time.time() - t0 < ROUTE_DEADLINE_S, \
            "routes not updated after %.1fs: gen %d->%d, missing %s, stale %s" % (
                ROUTE_DEADLINE_S, gen0, gen, want_in - routes, want_out & routes)
        time.sleep(0.01)
        s.sample() if time.time() - s.prev[0] >= SAMPLE_S else None


def test_live_datastore_change(exe):
    ports = {
        # Sinks drop what they are given (pcap tx without a file) and count it.
        "uplink": None,
        "x/a": None,
        "x/b": None,
    }
    with kdprun.Kdp(exe, cluster.three_nodes(), ports, tag="live") as k:
        for n, extra in (("uplink", ""), ("x/b", ""), ("x/a", ",infinite_rx=1")):
            idx = k.port_names.index(n)
            fn = k.fname(n)
            devargs = "net_pcap%d,rx_pcap=%s%s" % (idx, k.path(fn + "_in.pcap"), extra)
            if n == "uplink":
                k.cfg["uplink"]["devargs"] = devargs
            else:
                next(p for p in k.cfg["pod_ports"] if p["pod"] == n)["devargs"] = devargs
        k.write_config(k.cfg)
        kdprun.wrpcap(k.path("x_a_in.pcap"), [bytes(f) for f in flows()], linktype=1)
        k.start()
        _, before = k.routes()
        C, B = cluster.NODE_C_IP, cluster.NODE_B_IP
        assert "10.244.3.0/26 ipip via %s node node-c" % C in before
        assert "10.245.3.0/26 ipip via %s node node-c" % C in before

        s = Sampler(k)
        s.run_for(1.0)
        assert s.prev[1] > 1000 and s.prev[2] > 1000, "flows not running: %s" % (s.prev[:3],)

        # 1: node-d appears with its block, node-c's 10.244.3.0/26 moves to it.
        objs = edited(cluster.three_nodes(), {
            "node_d": True, "move": {"10-244-3-0-26": "node-d"}})
        dt1, r1 = change_and_wait(k, s, objs, {
            "10.244.3.0/26 ipip via %s node node-d" % NODE_D_IP,
            "10.244.4.0/26 ipip via %s node node-d" % NODE_D_IP,
            # y/c keeps its address on node-c: now a borrowed /32.
            "10.244.3.10/32 ipip via %s node node-c" % C},
            {"10.244.3.0/26 ipip via %s node node-c" % C})
        t_ch1 = time.time() - s.t_start - dt1
        s.run_for(1.0)

        # 2: the block of pod y/e (10.245.3.0/26 on node-c) is deleted.
        objs = edited(cluster.three_nodes(), {
            "node_d": True, "move": {"10-244-3-0-26": "node-d"},
            "delete": ("10-245-3-0-26",)})
        dt2, r2 = change_and_wait(k, s, objs, set(),
                                  {"10.245.3.0/26 ipip via %s node node-c" % C})
        t_ch2 = time.time() - s.t_start - dt2
        s.run_for(1.0)

        # The routes of the two flows never changed.
        for r in (before, r1, r2):
            assert "10.244.2.0/26 ipip via %s node node-b" % B in r
            assert "10.244.1.11/32 pod x/b" in r
        # A flow may look still for one interval when the shared machine
        # deschedules the worker; two in a row is a stall kdp caused.
        assert s.max_run <= 1, "tx stalled for %d intervals in a row (of %d): %s" % (
            s.max_run, s.samples, s.stalls)
        st = s.prev[3]
        assert st["drops"] == 0
        # Every uplink frame was encapsulated (counters are summed without a
        # lock while the worker runs: allow a few bursts of skew).
        assert abs(st["ipip_encap"] - s.prev[1]) <= 256, (st["ipip_encap"], s.prev[1])
        rc = k.stop()
        assert rc == 0, k.output()
        print("  routes updated in %.0f ms and %.0f ms (changes at %.2f s and "
              "%.2f s); %d samples, single-interval stalls %s; uplink tx %d, "
              "x/b tx %d, no drops" % (
                  dt1 * 1000, dt2 * 1000, t_ch1, t_ch2, s.samples, s.stalls,
                  s.prev[1], s.prev[2]))


CASES = [test_live_datastore_change]

if __name__ == "__main__":
    sys.exit(kdprun.main(CASES))
