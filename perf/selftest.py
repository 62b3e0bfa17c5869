#!/usr/bin/python3
"""Self-test of the benchmark harness: no ports, no hugepages.

Checks what the numbers depend on: the generated traffic is what the
scenarios claim (addresses, flow count, valid checksums), the ACL rule sets
only match the traffic on their last rule, the cluster state is consistent,
the telemetry client speaks the protocol, and runner.measure computes a rate
from a process serving known counters.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
TMP = tempfile.mkdtemp(prefix="kdp-perf-selftest-")
os.environ["KDP_BENCH_OUT"] = TMP

from scapy.all import IP, UDP, Ether, rdpcap  # noqa: E402

import ab  # noqa: E402
import cgpkt  # noqa: E402
import gen_cluster as gc  # noqa: E402
import gen_pcap  # noqa: E402
import gen_rules  # noqa: E402
import runner  # noqa: E402
import telemetry  # noqa: E402
from scenarios import baselines, kdp  # noqa: E402


def ip_ok(ip):
    """The IPv4 header checksum verifies (ones' complement sum is 0xffff)."""
    hdr = bytes(ip)[:20]
    total = sum(int.from_bytes(hdr[i:i + 2], "big") for i in range(0, 20, 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def flows_of(pkts, inner):
    """Distinct (src, dst, sport, dport) of raw packets (fixed offsets: no
    options), checked against scapy's parse on a sample."""
    off = 14 + (20 if inner else 0)
    out = {p[off + 12:off + 24] for p in pkts}
    for p in pkts[:: max(1, len(pkts) // 20)]:
        ip = Ether(p)[IP].payload if inner else Ether(p)[IP]
        self_check = (ipaddress.ip_address(ip.src).packed + ipaddress.ip_address(ip.dst).packed
                      + ip[UDP].sport.to_bytes(2, "big") + ip[UDP].dport.to_bytes(2, "big"))
        assert self_check in out
    return out


class Pcap(unittest.TestCase):
    def test_udp(self):
        for size, flows in ((64, 1), (512, 300), (1500, 70000)):
            pkts = gen_pcap.build("udp", size, flows, "10.0.0.0/8", "198.18.1.0/24")
            self.assertEqual(len(pkts), flows)
            self.assertTrue(all(len(p) == size - 4 for p in pkts))
            self.assertEqual(len(flows_of(pkts, False)), flows)
            for p in pkts[:50] + pkts[-50:]:
                e = Ether(p)
                self.assertTrue(ip_ok(e[IP]), e.summary())
                self.assertIn(ipaddress.ip_address(e[IP].dst),
                              ipaddress.ip_network("198.18.1.0/24"))

    def test_fixed_source_varies_ports(self):
        pkts = gen_pcap.build("udp", 64, 65536, None, "10.244.2.0/26", fixed_src="10.244.1.2")
        self.assertEqual({Ether(p)[IP].src for p in pkts[:500]}, {"10.244.1.2"})
        self.assertEqual(len(flows_of(pkts, False)), 65536)

    def test_ipip(self):
        pkts = gen_pcap.build("ipip", 64, 256, "10.244.2.0/26", "10.244.1.3/32",
                              outer_src="192.168.10.12", outer_dst="192.168.10.11")
        self.assertEqual(len(flows_of(pkts, True)), 256)
        e = Ether(pkts[7])
        self.assertEqual((e[IP].proto, e[IP].src, e[IP].dst), (4, "192.168.10.12", "192.168.10.11"))
        # SIZE is the decapsulated frame: the IPIP frame is 20 bytes longer.
        self.assertEqual(len(pkts[7]), 60 + 20)
        self.assertEqual(e[IP].payload.dst, "10.244.1.3")
        self.assertTrue(ip_ok(e[IP].payload))

    def test_bad_input(self):
        with self.assertRaises(ValueError):
            gen_pcap.build("udp", 63, 1, "10.0.0.0/8", "198.18.1.0/24")
        with self.assertRaises(ValueError):
            gen_pcap.build("ipip", 64, 1, "10.0.0.0/8", "198.18.1.0/24")
        with self.assertRaises(ValueError):
            gen_pcap.build("tcp", 64, 1, "10.0.0.0/8", "198.18.1.0/24")
        self.assertEqual(gen_pcap.main(["--size", "10", "--flows", "1", "-o", "/dev/null"]), 2)


def _acl_match(rule, src, dst, sport, dport, proto):
    f = rule[1:].split()
    net = lambda s: ipaddress.ip_network(s, strict=False)  # noqa: E731
    pv, pm = (int(x, 0) for x in f[8].split("/"))
    return (ipaddress.ip_address(src) in net(f[0]) and ipaddress.ip_address(dst) in net(f[1])
            and int(f[2]) <= sport <= int(f[4]) and int(f[5]) <= dport <= int(f[7])
            and (proto & pm) == (pv & pm))


class Rules(unittest.TestCase):
    def test_acl_only_last_rule_matches_traffic(self):
        rules = gen_rules.acl_v4(2000)
        self.assertEqual(len(rules), 2000)
        self.assertTrue(all(r.startswith("@") for r in rules[:-1]))
        self.assertTrue(rules[-1].startswith("R") and rules[-1].endswith(f" {gen_rules.OUT_PORT}"))
        pkts = gen_pcap.build("udp", 64, 256, "10.0.0.0/8", gen_rules.TRAFFIC_DST)
        for p in pkts[::16]:
            ip = Ether(p)[IP]
            hits = [i for i, r in enumerate(rules)
                    if _acl_match(r, ip.src, ip.dst, ip.sport, ip.dport, ip.proto)]
            self.assertEqual(hits, [len(rules) - 1])
        # The deny rules overlap the traffic's addresses: the trie is walked.
        overlap = sum(1 for r in rules[:-1]
                      if _acl_match(r, "10.0.0.1", "198.18.1.1", 1024, int(r.split()[5]), int(r.split()[8].split("/")[0], 0)))
        self.assertGreater(overlap, 0)

    def test_routes(self):
        self.assertIn(f"R{gen_rules.TRAFFIC_DST} {gen_rules.OUT_PORT}", gen_rules.lpm_v4())
        # l3fwd_lpm_ipip routes kdp's decap frames by their outer
        # destination, node-a's address, to the sink.
        node = ipaddress.ip_address(gc.node_ip(gc.LOCAL_NODE))
        self.assertIn(f"R{gen_rules.UNDERLAY_DST} {gen_rules.OUT_PORT}", gen_rules.lpm_v4())
        self.assertIn(node, ipaddress.ip_network(gen_rules.UNDERLAY_DST))
        for line in gen_rules.lpm_v6() + gen_rules.acl_v6():
            self.assertNotIn("/0 ", line + " ")
        with self.assertRaises(ValueError):
            gen_rules.acl_v4(0)


class Cluster(unittest.TestCase):
    def test_objects_consistent(self):
        objs = gc.objects()
        pods = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Pod"}
        blocks = [o for o in objs if o["kind"] == "IPAMBlock"]
        self.assertEqual(len(blocks), 2)
        for b in blocks:
            net = ipaddress.ip_network(b["spec"]["cidr"])
            self.assertEqual(len(b["spec"]["allocations"]), net.num_addresses)
            node = b["spec"]["affinity"].split(":", 1)[1]
            for ordinal, idx in enumerate(b["spec"]["allocations"]):
                if idx is None:
                    continue
                sec = b["spec"]["attributes"][idx]["secondary"]
                self.assertEqual(sec["node"], node)
                if "pod" in sec:
                    pod = pods[sec["pod"]]
                    self.assertEqual(pod["spec"]["nodeName"], node)
                    self.assertEqual(pod["status"]["podIP"], str(net.network_address + ordinal))
        nodes = [o for o in objs if o["kind"] == "Node"]
        self.assertEqual({n["metadata"]["annotations"]["projectcalico.org/IPv4Address"]
                          for n in nodes}, {"192.168.10.11/24", "192.168.10.12/24"})
        pool = [o for o in objs if o["kind"] == "IPPool"][0]
        self.assertEqual((pool["spec"]["cidr"], pool["spec"]["ipipMode"]), ("10.244.0.0/16", "Always"))

    def test_files_and_config(self):
        work = os.path.join(TMP, "cluster")
        cfg_path = gc.generate(work, "net_null_up,no-rx=1", {"pod-a1": "net_null_x,no-rx=1"})
        with open(cfg_path) as f:
            cfg = json.load(f)
        self.assertEqual(cfg["node"], "node-a")
        self.assertEqual(cfg["idle_sleep_us"], 0)
        self.assertEqual([p["pod"] for p in cfg["pod_ports"]], ["bench/pod-a1"])
        files = os.listdir(cfg["datastore"]["path"])
        self.assertEqual(len(files), len(gc.objects()))
        for name in files:
            with open(os.path.join(cfg["datastore"]["path"], name)) as f:
                o = json.load(f)
            self.assertTrue(o["apiVersion"] and o["kind"] and o["metadata"]["name"])


class FakeTelemetry(threading.Thread):
    """A DPDK telemetry v2 server with one port pair and fixed counters."""

    def __init__(self, path, stats):
        super().__init__(daemon=True)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.srv.bind(path)
        self.srv.listen(1)
        self.stats = stats

    def run(self):
        c, _ = self.srv.accept()
        c.send(json.dumps({"version": "DPDK 22.11", "pid": 1, "max_output_len": 16384}).encode())
        while True:
            cmd = c.recv(1024).decode()
            if not cmd:
                return
            name, _, arg = cmd.partition(",")
            if name == "/ethdev/list":
                data = [0, 1]
            elif name == "/ethdev/info":
                data = {"name": ["net_pcap0", "net_null0"][int(arg)]}
            elif name == "/ethdev/stats" and arg in ("0", "1"):
                data = self.stats[int(arg)]
            elif name == "/bad":
                c.send(b"not json")
                continue
            else:
                data = None
            c.send(json.dumps({name: data}).encode())


class Telemetry(unittest.TestCase):
    def test_client(self):
        path = os.path.join(TMP, "tel.sock")
        FakeTelemetry(path, [{"ipackets": 5, "opackets": 0}, {"ipackets": 0, "opackets": 7}]).start()
        with telemetry.Telemetry(path) as t:
            ports = t.ports()
            self.assertEqual(ports, {"net_pcap0": 0, "net_null0": 1})
            self.assertEqual(t.stats(ports["net_null0"])["opackets"], 7)
            with self.assertRaises(telemetry.TelemetryError):
                t.stats(9)
            with self.assertRaises(telemetry.TelemetryError):
                t.query("/bad")

    def test_no_socket(self):
        with self.assertRaises(telemetry.TelemetryError):
            telemetry.Telemetry.wait(os.path.join(TMP, "none.sock"), 0.3)


# A stand-in forwarding process: serves telemetry where runner looks for it,
# with the sink's opackets growing at exactly RATE packets/s, and exits on
# EOF on stdin like testpmd.
FAKE = textwrap.dedent("""
    import json, os, socket, sys, threading, time
    path, rate = sys.argv[1], float(sys.argv[2])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path); srv.listen(1)
    t0 = time.monotonic() + 0.2
    def serve():
        c, _ = srv.accept()
        c.send(b'{"version": "x", "pid": 1, "max_output_len": 4096}')
        while True:
            cmd = c.recv(1024).decode()
            if not cmd:
                return
            n, _, a = cmd.partition(",")
            pk = max(0, int((time.monotonic() - t0) * rate))
            d = {"/ethdev/list": [3], "/ethdev/info": {"name": "sink0"},
                 "/ethdev/stats": {"opackets": pk, "oerrors": 0, "ipackets": 0}}.get(n)
            c.send(json.dumps({n: d}).encode())
    threading.Thread(target=serve, daemon=True).start()
    sys.stdin.read()
    os.unlink(path)
""")


class Measure(unittest.TestCase):
    def test_rate_from_counters(self):
        path = os.path.join(TMP, "run", "fake", "dpdk_telemetry.v2")
        orig = runner.socket_path
        runner.socket_path = lambda prefix: path
        try:
            launch = runner.Launch(cmd=[sys.executable, "-c", FAKE, path, "2000000"],
                                   prefix="fake", sink="sink0", startup_timeout=10)
            t = time.monotonic()
            r = runner.measure(launch, 0.1, 0.5, os.path.join(TMP, "logs", "fake.log"))
            self.assertLess(time.monotonic() - t, 8)
        finally:
            runner.socket_path = orig
        # The counters grow at exactly 2 Mpps; the reads' own delays bound
        # the error (a fixed 5 % failed on a loaded host).
        err = 2.0 * r["interval_err_s"] / r["interval_s"]
        self.assertAlmostEqual(r["mpps"], 2.0, delta=0.02 + err)
        self.assertLess(err, 1.0, "counter reads took most of the interval")
        self.assertFalse(os.path.exists(path), "fake process was not stopped")

    def test_process_dies(self):
        launch = runner.Launch(cmd=[sys.executable, "-c", "pass"], prefix="kdpbench-none",
                               sink="x", startup_timeout=5)
        with self.assertRaises(runner.MeasureError):
            runner.measure(launch, 0.1, 0.1, os.path.join(TMP, "logs", "dead.log"))


class Scenarios(unittest.TestCase):
    def _config(self, launch):
        cmd = launch.cmd
        self.assertEqual(cmd[0], kdp.KDP)
        self.assertIn("--file-prefix", cmd)
        self.assertEqual(cmd[cmd.index("-l") + 1], "0,1")
        self.assertNotIn("--vdev", cmd)
        self.assertEqual(cmd[-3:-1], ["--", "--config"])
        with open(cmd[-1]) as f:
            return json.load(f)

    def _port(self, cfg, name):
        devs = [cfg["uplink"]["devargs"]] + [p["devargs"] for p in cfg["pod_ports"]]
        hits = [d for d in devs if d.split(",")[0] == name]
        self.assertEqual(len(hits), 1, f"{name} not in {devs}")
        return dict(kv.partition("=")[::2] for kv in hits[0].split(",")[1:])

    def test_each_scenario(self):
        want = {"encap": ("10.244.1.2", "10.244.2.0/26", None),
                "decap": ("10.244.2.0/26", "10.244.1.3/32", ("192.168.10.12", "192.168.10.11")),
                "local": ("10.244.1.2", "10.244.1.3/32", None)}
        for name, fn in kdp.SCENARIOS.items():
            launch = fn(baselines.Ctx(size=512, flows=256))
            cfg = self._config(launch)
            self.assertNotIn("rx_pcap", self._port(cfg, launch.sink))
            src = self._port(cfg, launch.source)
            self.assertEqual(src.get("infinite_rx"), "1")
            pkts = rdpcap(src["rx_pcap"])
            self.assertEqual(len(pkts), 256)
            base, _, pol = name.partition("_pol")
            src_net, dst_net, outer = want[base]
            self.assertEqual(cfg.get("policy", {}).get("enabled", True), pol != "off")
            pols = [f for f in os.listdir(cfg["datastore"]["path"])
                    if f.startswith("networkpolicy-")]
            self.assertEqual(len(pols), 100 if pol == "1k" else 0)
            for p in pkts[:20]:
                ip = p[IP].payload if outer else p[IP]
                if outer:
                    self.assertEqual((p[IP].src, p[IP].dst), outer)
                self.assertIn(ipaddress.ip_address(ip.src), ipaddress.ip_network(src_net))
                self.assertIn(ipaddress.ip_address(ip.dst), ipaddress.ip_network(dst_net))

    def test_baselines(self):
        ctx = baselines.Ctx(size=64, flows=16, rules=50, l3fwd="/bin/true")
        for fn in (baselines.testpmd_io, baselines.l3fwd_lpm, baselines.l3fwd_acl,
                   baselines.l3fwd_lpm_ipip):
            launch = fn(ctx)
            self.assertIn("--vdev", launch.cmd)
            self.assertEqual(launch.sink, baselines.SINK)
        # The same-frame baseline reads kdp's decap pcap.
        src = [a for a in baselines.l3fwd_lpm_ipip(ctx).cmd if a.startswith(baselines.SRC)]
        self.assertIn(f"rx_pcap={kdp.decap_pcap(ctx)},", src[0])
        with self.assertRaises(ValueError):
            baselines.l3fwd_acl(baselines.Ctx(size=64, flows=16))


class AB(unittest.TestCase):
    REPORT = textwrap.dedent("""\
        # Samples: 10K of event 'cpu-clock:pppH'
        #
        # Overhead       Samples  Shared Object
        # ........  ............  .......................
        #
            56.03%          5603  kdp
            18.00%          1800  librte_net_pcap.so.23.0
             2.00%           200  libpcap.so.0.8
            20.00%          2000  librte_net_null.so.23.0
             3.97%           397  ld-linux-x86-64.so.2
        """)

    def test_costs_in_source_units(self):
        d = ab.parse_dso_report(self.REPORT)
        self.assertEqual(d["kdp"], 5603)
        self.assertEqual(sum(d.values()), 10000)
        everything, own = ab.costs(d, "kdp")
        self.assertAlmostEqual(everything, 10000 / 2000)
        self.assertAlmostEqual(own, 5603 / 2000)
        # A binary by another name counts as its own DSO.
        self.assertEqual(ab.costs(d, "kdp_old")[1], 0)

    def test_no_source_samples(self):
        with self.assertRaises(ValueError):
            ab.costs(ab.parse_dso_report("   100.00%   10  kdp\n"), "kdp")


class TestCallgrindParse(unittest.TestCase):
    """perf/cgpkt.py reads callgrind's compressed names and positions."""

    OUT = textwrap.dedent("""\
        version: 1
        positions: instr line
        events: Ir
        summary: 1000

        ob=(1) /kdp
        fl=(1) pipeline.c
        fn=(1) dp_worker_main
        0x10 5 10
        cfn=(2) pl_process_burst
        calls=3 0x100 7
        0x14 6 600
        fn=(2)
        0x100 7 100
        +4 8 200
        * * 50
        cfn=(3) rte_fib_lookup_bulk
        calls=2 0x900 1
        0x108 9 70
        -8 * 5
        """)

    def test_calls_own_costs_and_total(self):
        calls, own, total = cgpkt.calls_and_costs(self.OUT,
                                                  "pl_process_burst")
        self.assertEqual(total, 1000)
        self.assertEqual(calls["pl_process_burst"], 3)
        self.assertEqual(calls["rte_fib_lookup_bulk"], 2)
        # The calls' inclusive costs (600, 70) are not the function's own.
        self.assertEqual(dict(own), {0x100: 105, 0x104: 250})

    def test_variant_own_costs(self):
        # pl_process_burst() calls its instruction-set variant
        # (pipeline/burst.h): the variant's instructions are the own ones;
        # a function that only starts with the name is not.
        out = (self.OUT.replace("fn=(2)\n", "fn=(4) pl_process_burst_avx2\n")
               + "fn=(5) pl_process_burstx\n0x200 3 999\n")
        calls, own, _ = cgpkt.calls_and_costs(out, "pl_process_burst")
        self.assertEqual(dict(own), {0x100: 105, 0x104: 250})


if __name__ == "__main__":
    try:
        unittest.main(verbosity=1)
    finally:
        subprocess.run(["rm", "-rf", TMP])
