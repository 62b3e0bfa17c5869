#!/usr/bin/python3
"""Do two kdp builds forward alike? A check for hot-path work.

Runs each binary on the same input (the benchmark cluster, net_pcap ports
that read a fixed pcap once and write what kdp sends), and compares, port
by port, the frames sent (byte for byte, in order) and /kdp/stats (every
drop reason, encap/decap, ICMP, ARP and punt counters).

    perf/equiv.py OLD_KDP NEW_KDP

The input mixes the benchmark's traffic (encap, decap, pod to pod) with
what the slow paths handle: bad checksums, options, fragments, TTL 1,
spoofed MAC and IP, unknown IPIP sources, ARP, VLAN, runts, oversize
packets with and without DF.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from scapy.all import (ARP, IP, UDP, Dot1Q, Ether, Raw, rdpcap,  # noqa: E402
                       wrpcap)

import gen_cluster as gc  # noqa: E402
from telemetry import Telemetry, socket_path  # noqa: E402

A1, A2 = gc.pod_ip(gc.LOCAL_NODE, 2), gc.pod_ip(gc.LOCAL_NODE, 3)
B1 = gc.pod_ip(gc.REMOTE_NODE, 2)
NODE_A, NODE_B = gc.node_ip(gc.LOCAL_NODE), gc.node_ip(gc.REMOTE_NODE)
MAC_A1 = gc.pod_mac(0)


def pod_frames():
    e = Ether(src=MAC_A1, dst=gc.GW_MAC)
    u = UDP(sport=1234, dport=5000) / Raw(b"x" * 18)
    f = []
    for i in range(40):  # the benchmark's traffic, several flows
        f.append(e / IP(src=A1, dst=B1 if i % 2 else A2) / UDP(sport=1000 + i, dport=5000)
                 / Raw(b"y" * 18))
    f += [e / IP(src=A1, dst=gc.pod_ip(gc.REMOTE_NODE, 40)) / u,   # remote block, no pod
          e / IP(src=A1, dst=gc.pod_ip(gc.LOCAL_NODE, 40)) / u,    # local block, no pod
          e / IP(src=A1, dst="8.8.8.8") / u,
          e / IP(src=A1, dst=B1, ttl=1) / u,
          e / IP(src=A1, dst=A2, ttl=1) / u,
          e / IP(src=A1, dst=B1, chksum=0x1234) / u,
          Ether(src="02:00:00:00:0c:99", dst=gc.GW_MAC) / IP(src=A1, dst=B1) / u,
          e / IP(src=A2, dst=B1) / u,
          e / IP(src=A1, dst=B1, options=b"\x01\x01\x01\x00") / u,
          e / IP(src=A1, dst=B1, flags="MF", frag=0) / u,
          e / IP(src=A1, dst=B1, frag=100) / u,
          e / IP(src=A1, dst=B1, flags="DF") / UDP() / Raw(b"z" * 1490),
          e / IP(src=A1, dst=B1) / UDP() / Raw(b"z" * 1490),
          e / IP(src=A1, dst=A2) / UDP() / Raw(b"z" * 1470),
          e / IP(src=A1, dst="255.255.255.255") / u,
          e / IP(src=A1, dst="224.0.0.5") / u,
          e / IP(src=A1, dst=B1, proto=4) / IP(src=A1, dst=B1) / u,
          e / IP(src=A1, dst=B1, version=5) / u,
          e / IP(src=A1, dst=B1, len=200) / u,
          e / IP(src=A1, dst=B1, len=30) / u,
          e / IP(src=A1, dst=A2) / u / Raw(b"\0" * 30),  # Ethernet padding to trim
          e / Dot1Q(vlan=5) / IP(src=A1, dst=B1) / u,
          Ether(src=MAC_A1, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A1, psrc=A1,
                                                            pdst="169.254.1.1"),
          Ether(src=MAC_A1, dst=gc.GW_MAC, type=0x86dd) / Raw(b"\0" * 50),
          Ether(src=MAC_A1, dst=gc.GW_MAC)]  # runt: no IP header at all
    for i in range(40):
        f.append(e / IP(src=A1, dst=B1 if i % 3 else A2) / UDP(sport=2000 + i) / Raw(b"w" * 18))
    return f


def uplink_frames():
    e = Ether(src=gc.NODES[gc.REMOTE_NODE]["mac"], dst=gc.UPLINK_MAC)
    u = UDP(sport=1234, dport=5000) / Raw(b"x" * 18)
    o = IP(src=NODE_B, dst=NODE_A, flags="DF")
    f = []
    for i in range(40):
        f.append(e / o / IP(src=B1, dst=A2, ttl=63 - i % 3) / UDP(sport=3000 + i) / Raw(b"v" * 18))
    f += [e / IP(src="192.168.10.99", dst=NODE_A) / IP(src=B1, dst=A2) / u,
          e / o / IP(src=B1, dst=gc.pod_ip(gc.REMOTE_NODE, 3)) / u,
          e / o / IP(src=B1, dst=A2, chksum=1) / u,
          e / o / IP(src=B1, dst=A2, ttl=1) / u,
          e / o / IP(src=B1, dst=NODE_A) / u,
          e / IP(src=NODE_B, dst=NODE_A, flags="MF") / IP(src=B1, dst=A2) / u,
          e / IP(src=NODE_B, dst=A2) / u,
          e / IP(src=NODE_B, dst=NODE_A) / u,
          e / IP(src=NODE_B, dst="192.168.10.77") / u,
          e / ARP(op=1, hwsrc=gc.NODES[gc.REMOTE_NODE]["mac"], psrc=NODE_B, pdst=NODE_A)]
    return f


def run(binary, work, prefix):
    os.makedirs(work, exist_ok=True)
    wrpcap(os.path.join(work, "a1_in.pcap"), pod_frames())
    wrpcap(os.path.join(work, "up_in.pcap"), uplink_frames())
    wrpcap(os.path.join(work, "empty.pcap"), [])
    dev = {"up": f"net_pcap_up,rx_pcap={work}/up_in.pcap,tx_pcap={work}/up_out.pcap",
           "pod-a1": f"net_pcap_a1,rx_pcap={work}/a1_in.pcap,tx_pcap={work}/a1_out.pcap",
           "pod-a2": f"net_pcap_a2,rx_pcap={work}/empty.pcap,tx_pcap={work}/a2_out.pcap"}
    cfg = gc.generate(work, dev["up"], {"pod-a1": dev["pod-a1"], "pod-a2": dev["pod-a2"]})
    cmd = [binary, "-l", "0,1", "--file-prefix", prefix, "--huge-unlink", "-m", "256",
           "--no-pci", "--log-level", "lib.eal:notice", "--", "--config", cfg]
    with open(os.path.join(work, "kdp.log"), "w") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with Telemetry.wait(socket_path(prefix), 30, lambda: p.poll() is None) as tel:
            last, stable = None, 0
            while stable < 5:
                time.sleep(0.2)
                st = tel.query("/kdp/stats")
                cur = json.dumps(st, sort_keys=True)
                stable = stable + 1 if cur == last and st.get("rx") else 0
                last = cur
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)
    st.pop("idle_sleeps", None)
    outs = {n: [bytes(x) for x in rdpcap(os.path.join(work, f"{n}_out.pcap"))]
            for n in ("up", "a1", "a2")}
    return st, outs


def is_arp(frame):
    return frame[12:14] == b"\x08\x06"


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="kdp-equiv-")
    res = [run(os.path.abspath(b), os.path.join(tmp, str(i)), f"kdp-equiv-{os.getpid()}-{i}")
           for i, b in enumerate(argv[1:])]
    (s0, o0), (s1, o1) = res
    # A drop reason one build has and the other lacks (a new one) is the
    # same while it counts nothing.
    for s in (s0, s1):
        s["drop_reasons"] = {k: v for k, v in s.get("drop_reasons", {}).items() if int(v)}
    ok = True
    if s0 != s1:
        ok = False
        print(f"stats differ:\n  {argv[1]}: {s0}\n  {argv[2]}: {s1}")
    for port in o0:
        # Frames control sends (its ARP answers, through the inject ring)
        # join a port's stream whenever control gets to them: compared
        # as a multiset; the workers' frames in order.
        a0, a1 = sorted(f for f in o0[port] if is_arp(f)), sorted(f for f in o1[port] if is_arp(f))
        if a0 != a1:
            ok = False
            print(f"port {port}: ARP frames differ ({len(a0)} vs {len(a1)})")
        o0[port] = [f for f in o0[port] if not is_arp(f)]
        o1[port] = [f for f in o1[port] if not is_arp(f)]
        if o0[port] != o1[port]:
            ok = False
            print(f"port {port}: {len(o0[port])} vs {len(o1[port])} frames; first difference "
                  f"at {next((i for i, (a, b) in enumerate(zip(o0[port], o1[port])) if a != b), '-')}")
    sent = {p: len(v) for p, v in o0.items()}  # ARP frames not counted
    print(f"{'same' if ok else 'DIFFERENT'}: frames sent {sent}, rx {s0.get('rx')}, "
          f"drops {({k: v for k, v in s0.get('drop_reasons', {}).items() if int(v)})}")
    if ok:
        subprocess.run(["rm", "-rf", tmp])
    else:
        print(f"work dir kept: {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
