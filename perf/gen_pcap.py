#!/usr/bin/python3
"""Traffic generator: pcaps for net_pcap's infinite_rx mode.

Every packet is one flow. scapy builds one template per pcap; the per-flow
fields (source IP, source port, and for IPIP the inner source IP) are then
patched into copies of the template bytes and the IPv4 checksums recomputed.
Building 65536 packets through scapy takes ~20 s each; patching takes well
under a second, and the bytes are the same.

Size convention: SIZE is the Ethernet frame as on the wire including the
4-byte FCS (RFC 2544 "64-byte frames"), so the pcap holds SIZE-4 bytes. For
IPIP traffic SIZE is the frame once decapsulated (what the pod receives), so
the tunnelled frame is 20 bytes longer; likewise a pod's SIZE-byte frame
leaves the node encapsulated as SIZE+20. The pod-side size is what a 64-byte
row means in every scenario.

Kinds:
  udp   Ether/IPv4/UDP; flows vary the source IP and source port, the
        destination cycles through --dst-net (l3fwd: a routed prefix).
  ipip  Ether/IPv4(proto 4, outer)/IPv4/UDP; the outer header is fixed
        (remote node -> local node), flows vary the inner source IP and port,
        inner destination cycles through --dst-net.
"""

import argparse
import ipaddress
import struct
import sys

from scapy.all import IP, UDP, Ether, Raw
from scapy.utils import RawPcapWriter

FCS = 4
ETH_LEN = 14
IP_LEN = 20


def _ip_csum(hdr):
    s = 0
    for (w,) in struct.iter_unpack("!H", bytes(hdr)):
        s += w
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _net_hosts(net, limit):
    """Up to @limit usable addresses of @net, as 32-bit ints."""
    n = ipaddress.ip_network(net, strict=False)
    first = int(n.network_address) + (1 if n.prefixlen < 31 else 0)
    count = max(1, min(limit, n.num_addresses - (2 if n.prefixlen < 31 else 0)))
    return [first + i for i in range(count)]


def build(kind, size, flows, src_net, dst_net, dport=5000, sport_base=1024,
          eth_src="02:00:00:00:00:02", eth_dst="02:00:00:00:00:01",
          outer_src=None, outer_dst=None, fixed_src=None):
    """Return the list of packets (bytes), one per flow.

    fixed_src: keep the (inner) source IP constant (a pod may only send from
    its own address) and vary only the source port and the destination.
    """
    if size < 64 or size > 1518:
        raise ValueError(f"size {size}: must be 64..1518")
    if flows < 1 or flows > 1 << 20:
        raise ValueError(f"flows {flows}: must be 1..{1 << 20}")
    frame = size - FCS
    if kind == "udp":
        hdr = Ether(src=eth_src, dst=eth_dst) / IP(src="0.0.0.0", dst="0.0.0.0", ttl=64)
        l3 = ETH_LEN
    elif kind == "ipip":
        if not outer_src or not outer_dst:
            raise ValueError("ipip needs outer_src and outer_dst")
        hdr = (Ether(src=eth_src, dst=eth_dst)
               / IP(src=outer_src, dst=outer_dst, proto=4, ttl=64)
               / IP(src="0.0.0.0", dst="0.0.0.0", ttl=64))
        l3 = ETH_LEN + IP_LEN
        frame += IP_LEN
    else:
        raise ValueError(f"unknown kind {kind!r}")
    pad = frame - (l3 + IP_LEN + 8)
    if pad < 0:
        raise ValueError(f"size {size} too small for {kind}")
    tmpl = bytearray(bytes(hdr / UDP(sport=0, dport=dport, chksum=0) / Raw(b"\x00" * pad)))
    assert len(tmpl) == frame, (len(tmpl), frame)

    if fixed_src:
        srcs = [int(ipaddress.ip_address(fixed_src))]
    else:
        srcs = _net_hosts(src_net, flows)
    dsts = _net_hosts(dst_net, 254)
    l4 = l3 + IP_LEN
    pkts = []
    for i in range(flows):
        p = bytearray(tmpl)
        # One source address per flow; with a fixed source the source port
        # carries the flow instead.
        src = srcs[i % len(srcs)]
        dst = dsts[i % len(dsts)]
        sport = sport_base + (i // len(srcs)) % (65536 - sport_base)
        struct.pack_into("!II", p, l3 + 12, src, dst)
        struct.pack_into("!H", p, l3 + 10, 0)
        struct.pack_into("!H", p, l3 + 10, _ip_csum(p[l3:l3 + IP_LEN]))
        struct.pack_into("!H", p, l4, sport)
        pkts.append(bytes(p))
    return pkts


def write(path, pkts):
    w = RawPcapWriter(path, linktype=1, sync=False)
    for p in pkts:
        w.write(p)
    w.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=["udp", "ipip"], default="udp")
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--flows", type=int, required=True)
    ap.add_argument("--src-net", default="10.0.0.0/8")
    ap.add_argument("--dst-net", default="198.18.1.0/24")
    ap.add_argument("--fixed-src")
    ap.add_argument("--eth-src", default="02:00:00:00:00:02")
    ap.add_argument("--eth-dst", default="02:00:00:00:00:01")
    ap.add_argument("--outer-src")
    ap.add_argument("--outer-dst")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    try:
        pkts = build(a.kind, a.size, a.flows, a.src_net, a.dst_net,
                     eth_src=a.eth_src, eth_dst=a.eth_dst, outer_src=a.outer_src,
                     outer_dst=a.outer_dst, fixed_src=a.fixed_src)
    except ValueError as e:
        print(f"gen_pcap: {e}", file=sys.stderr)
        return 2
    write(a.out, pkts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
