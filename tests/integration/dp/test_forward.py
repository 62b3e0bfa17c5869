"""kdp forwarding over pcap ports on the three_nodes() cluster: every output
frame is parsed with scapy and checked field by field, and /kdp/stats must
count exactly what the frames say happened.

usage: test_forward.py KDP_EXE SOURCE_ROOT [CASE...]
"""
import os
import signal
import sys

sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".",
                                "tests", "lib"))
import cluster  # noqa: E402
import kdprun  # noqa: E402
from kdprun import GW_MAC, POD_MACS, UPLINK_MAC, NODE_B_MAC, GATEWAY_MAC  # noqa: E402

from scapy.layers.inet import ICMP, IP, IPOption_NOP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.packet import Padding, Raw  # noqa: E402

A, B, C = cluster.NODE_A_IP, cluster.NODE_B_IP, cluster.NODE_C_IP
XA, XB = "10.244.1.10", "10.244.1.11"


def from_pod(dst, tag, src=XA, mac=POD_MACS["x/a"], ttl=10, tos=0, **kw):
    return (Ether(src=mac, dst=GW_MAC) /
            IP(src=src, dst=dst, ttl=ttl, tos=tos, id=0x1234, **kw) /
            UDP(sport=4000, dport=5000) / Raw(tag.encode()))


def from_node(outer_src, inner, ttl=64):
    return (Ether(src=NODE_B_MAC, dst=UPLINK_MAC) /
            IP(src=outer_src, dst=A, proto=4, ttl=ttl, flags="DF") / inner)


def tagged(frames, tag):
    """The one frame whose payload ends with @tag."""
    hits = [f for f in frames if Raw in f and f[Raw].load.endswith(tag.encode())]
    assert len(hits) == 1, "want one frame tagged %r, got %d" % (tag, len(hits))
    return hits[0]


def assert_cksum(ip):
    want = IP(bytes(ip)[:ip.ihl * 4])
    del want.chksum
    assert ip.chksum == IP(bytes(want)).chksum, "bad IPv4 checksum %#x" % ip.chksum


def check_routed(f, sent, src_mac, dst_mac):
    """@f is @sent routed one hop: same addresses and payload, TTL - 1."""
    assert f[Ether].src == src_mac, (f[Ether].src, src_mac)
    assert f[Ether].dst == dst_mac, (f[Ether].dst, dst_mac)
    ip, s = f[IP], IP(bytes(sent[IP]))
    assert (ip.src, ip.dst, ip.tos, ip.id, ip.proto) == (s.src, s.dst, s.tos, s.id, s.proto)
    assert ip.ttl == s.ttl - 1, (ip.ttl, s.ttl)
    assert ip.len == s.len, (ip.len, s.len)
    assert_cksum(ip)
    # (s may carry Ethernet padding after the datagram; kdp must not.)
    assert bytes(ip)[ip.ihl * 4:] == bytes(s)[s.ihl * 4:s.len], "payload changed"


def check_ipip(f, sent, outer_dst, dst_mac):
    """@f carries @sent (routed) in IPIP from node-a to @outer_dst."""
    assert f[Ether].src == UPLINK_MAC and f[Ether].dst == dst_mac, f[Ether].summary()
    assert f[Ether].type == 0x0800
    o = f[IP]
    assert o.version == 4 and o.ihl == 5
    assert o.src == A and o.dst == outer_dst, (o.src, o.dst)
    assert o.proto == 4 and o.flags == "DF" and o.frag == 0
    assert o.ttl == 64, o.ttl
    assert o.tos == sent[IP].tos, (o.tos, sent[IP].tos)
    s = IP(bytes(sent[IP]))
    assert o.len == 20 + s.len, (o.len, s.len)
    assert_cksum(o)
    inner = o.payload
    assert isinstance(inner, IP), inner.summary()
    assert inner.len == s.len, (inner.len, s.len)
    assert (inner.src, inner.dst, inner.tos, inner.id) == (s.src, s.dst, s.tos, s.id)
    assert inner.ttl == s.ttl - 1
    assert_cksum(inner)
    assert bytes(inner)[inner.ihl * 4:] == bytes(s)[s.ihl * 4:s.len]


# --- run 1: one frame of each forwarding kind ------------------------------

FWD = {
    "local": from_pod(XB, "local"),
    "remote": from_pod("10.244.2.10", "remote", tos=0x28),
    "cross_same": from_pod("10.245.2.5", "cross_same", tos=0x10),
    "cross_other": from_pod("10.245.3.5", "cross_other", tos=0xb8),
    "borrowed": from_pod("10.244.1.20", "borrowed"),
    "decap_inner": IP(src="10.244.2.10", dst=XA, ttl=20, tos=0x04, id=77) /
                   UDP(sport=1, dport=2) / Raw(b"decap"),
}
_fwd = {}


def fwd(exe):
    if not _fwd:
        pod_in = [FWD[k] for k in ("local", "remote", "cross_same", "cross_other", "borrowed")]
        up_in = [from_node(B, FWD["decap_inner"])]
        _fwd["r"] = kdprun.run(exe, {"x/a": pod_in, "uplink": up_in})
    return _fwd["r"]


def test_pod_to_local_pod(exe):
    r = fwd(exe)
    assert len(r.out["x/b"]) == 1
    check_routed(tagged(r.out["x/b"], "local"), FWD["local"], GW_MAC, POD_MACS["x/b"])
    assert r.ports["x/b"]["tx"] == 1


def test_pod_to_remote_pod_ipip(exe):
    r = fwd(exe)
    check_ipip(tagged(r.out["uplink"], "remote"), FWD["remote"], B, NODE_B_MAC)


def test_decap_to_local_pod(exe):
    r = fwd(exe)
    assert len(r.out["x/a"]) == 1, [f.summary() for f in r.out["x/a"]]
    f = r.out["x/a"][0]
    check_routed(f, Ether() / FWD["decap_inner"], GW_MAC, POD_MACS["x/a"])
    assert r.stats["ipip_decap"] == 1
    assert r.ports["uplink"]["rx"] == 1 and r.ports["x/a"]["tx"] == 1


def test_cross_subnet(exe):
    r = fwd(exe)
    # node-b shares our subnet: plain routed frame to node-b's MAC.
    f = tagged(r.out["uplink"], "cross_same")
    check_routed(f, FWD["cross_same"], UPLINK_MAC, NODE_B_MAC)
    assert f[IP].proto == 17
    # node-c does not: IPIP, L2 next hop the gateway.
    check_ipip(tagged(r.out["uplink"], "cross_other"), FWD["cross_other"], C, GATEWAY_MAC)


def test_borrowed_ip(exe):
    r = fwd(exe)
    check_ipip(tagged(r.out["uplink"], "borrowed"), FWD["borrowed"], B, NODE_B_MAC)
    # The rest of the block stays local (x/b got its frame, see above).
    _, routes = kdprun_routes(exe)
    assert "10.244.1.20/32 ipip via %s node node-b" % B in routes, sorted(routes)


def test_forward_stats(exe):
    r = fwd(exe)
    assert r.drops() == {}, r.drops()
    assert r.stats["drops"] == 0
    assert r.stats["ipip_encap"] == 3  # remote, cross_other, borrowed
    assert r.stats["ipip_decap"] == 1
    want = {"uplink": (1, 4), "x/a": (5, 1), "x/b": (0, 1)}
    got = {n: (p["rx"], p["tx"]) for n, p in r.ports.items()}
    assert got == want, got
    assert len(r.out["uplink"]) == 4
    assert r.stats["rx"] == 6 and r.stats["tx"] == 6


_routes = {}


def kdprun_routes(exe):
    """/kdp/routes of a fresh kdp on three_nodes() (no traffic)."""
    if not _routes:
        with kdprun.Kdp(exe, cluster.three_nodes(),
                        {"uplink": None, "x/a": None}) as k:
            k.start()
            _routes["r"] = k.routes()
            assert k.stop() == 0
    return _routes["r"]


def test_routes_table(exe):
    _, routes = kdprun_routes(exe)
    for want in ("10.244.1.0/26 blackhole",
                 "10.244.1.10/32 pod x/a",
                 "10.244.1.11/32 pod x/b",
                 "10.244.2.0/26 ipip via %s node node-b" % B,
                 "10.244.3.0/26 ipip via %s node node-c" % C,
                 "10.245.2.0/26 direct via %s node node-b" % B,
                 "10.245.3.0/26 ipip via %s node node-c" % C):
        assert want in routes, (want, sorted(routes))


# --- run 2: everything that must be dropped, each under its reason ---------

def _eth_ip(payload_ip_bytes, src=POD_MACS["x/a"]):
    return Ether(src=src, dst=GW_MAC, type=0x0800) / Raw(payload_ip_bytes)


def _raw_ip(**kw):
    return bytes(IP(src=XA, dst=XB, **kw) / UDP(sport=1, dport=2) / Raw(b"x" * 8))


def _bad_cksum():
    b = bytearray(_raw_ip())
    b[10] ^= 0x55
    return bytes(b)


POD_DROPS = [
    ("blackhole", from_pod("10.244.1.30", "blackhole")),
    ("ttl_exceeded", from_pod("10.244.2.10", "ttl1", ttl=1)),
    ("ipip_from_pod", Ether(src=POD_MACS["x/a"], dst=GW_MAC) /
     IP(src=XA, dst="10.244.2.10", proto=4) / IP(src=XA, dst="10.244.2.10") / Raw(b"p")),
    ("spoof_src_ip", from_pod(XB, "spoof", src="10.244.1.11")),
    ("spoof_src_mac", from_pod(XB, "spoofmac", mac="02:00:00:00:99:99")),
    ("runt", Ether(src=POD_MACS["x/a"], dst=GW_MAC, type=0x0800) / Raw(b"\x45\x00")),
    ("runt", Raw(b"\x02\x00\x00\x00\x01\x01\xee\xee")),   # shorter than Ethernet
    ("ip_version", _eth_ip(_raw_ip(version=6))),
    ("ip_ihl", _eth_ip(_raw_ip(ihl=4))),
    ("ip_len", _eth_ip(_raw_ip(len=200))),
    ("ip_cksum", _eth_ip(_bad_cksum())),
    ("arp_bad", Ether(src=POD_MACS["x/a"], dst="ff:ff:ff:ff:ff:ff") /
     ARP(hwtype=6, psrc=XA, pdst="10.244.1.1")),
    ("arp_bad", Ether(src=POD_MACS["x/a"], dst="ff:ff:ff:ff:ff:ff", type=0x0806) /
     Raw(b"\x00\x01\x08\x00\x06")),                          # truncated ARP
    ("vlan", Ether(src=POD_MACS["x/a"], dst=GW_MAC) / Dot1Q(vlan=5) /
     IP(src=XA, dst=XB) / UDP()),
    ("not_ip", Ether(src=POD_MACS["x/a"], dst=GW_MAC, type=0x88b5) / Raw(b"y" * 46)),
]
UPLINK_DROPS = [
    ("ipip_unknown_node", from_node("192.168.10.99", IP(src="10.244.2.10", dst=XA) / Raw(b"u"))),
    ("uplink_not_local", Ether(src=NODE_B_MAC, dst=UPLINK_MAC) /
     IP(src="10.244.2.10", dst="10.244.3.10") / Raw(b"t")),
    ("ipip_inner_not_local", from_node(B, IP(src="10.244.2.10", dst="10.244.3.10") / Raw(b"n"))),
    # For the node's tunnel IP: decapsulated for the host, which this
    # node has no port for.
    ("host_no_port", from_node(B, IP(src="10.244.2.10", dst="10.244.1.1") / Raw(b"h"))),
    ("ipip_to_host", from_node(B, IP(src=B, dst=A, proto=4) /
                               IP(src="10.244.2.10", dst=XA) / Raw(b"v"))),
    ("ipip_to_host", Ether(src=NODE_B_MAC, dst=UPLINK_MAC) /
     IP(src=B, dst="10.244.1.1", proto=4) / IP(src="10.244.2.10", dst=XA) /
     Raw(b"w")),
]
_drop = {}


def drops(exe):
    if not _drop:
        _drop["r"] = kdprun.run(exe, {"x/a": [f for _, f in POD_DROPS],
                                      "uplink": [f for _, f in UPLINK_DROPS]})
    return _drop["r"]


def test_drop_reasons_exact(exe):
    r = drops(exe)
    want = {}
    for why, _ in POD_DROPS + UPLINK_DROPS:
        want[why] = want.get(why, 0) + 1
    assert r.drops() == want, "\nwant %s\ngot  %s" % (sorted(want.items()),
                                                     sorted(r.drops().items()))
    assert r.stats["drops"] == len(POD_DROPS) + len(UPLINK_DROPS)
    assert r.ports["x/a"]["rx"] == len(POD_DROPS)
    assert r.ports["x/a"]["drops"] == len(POD_DROPS)
    assert r.ports["uplink"]["drops"] == len(UPLINK_DROPS)
    # Only ipip_inner_not_local, the tunnel IP's and the nested one got as
    # far as decapsulation.
    assert r.stats["ipip_encap"] == 0 and r.stats["ipip_decap"] == 3
    # Nothing leaves but the ICMP error (next test).
    assert r.out["uplink"] == [] and r.out["x/b"] == []
    assert r.ports["uplink"]["tx"] == 0 and r.ports["x/b"]["tx"] == 0


def test_ttl_exceeded_icmp(exe):
    r = drops(exe)
    assert len(r.out["x/a"]) == 1, [f.summary() for f in r.out["x/a"]]
    f = r.out["x/a"][0]
    assert f[Ether].src == GW_MAC and f[Ether].dst == POD_MACS["x/a"]
    ip = f[IP]
    assert ip.src == A and ip.dst == XA, (ip.src, ip.dst)
    assert ip.proto == 1
    assert_cksum(ip)
    ic = f[ICMP]
    assert ic.type == 11 and ic.code == 0, (ic.type, ic.code)
    quoted = bytes(ic.payload)
    sent = bytes(dict(POD_DROPS)["ttl_exceeded"][IP])
    # RFC 792: the original IP header and at least 8 bytes of its data.
    assert quoted[:28] == sent[:28], (quoted[:28].hex(), sent[:28].hex())
    assert r.stats["icmp_sent"] == 1
    assert r.ports["x/a"]["tx"] == 1


# --- run 3: SIGTERM leaves complete pcap files -----------------------------

def test_sigterm_complete_pcaps(exe):
    n = 400
    frames = [from_pod(XB, "bulk%04d" % i) for i in range(n)]
    r = kdprun.run(exe, {"x/a": frames}, sig=signal.SIGTERM)
    assert r.rc == 0
    out = r.out["x/b"]
    assert len(out) == n, len(out)
    for i, f in enumerate(out):   # in order, none cut short
        assert f[Raw].load == b"bulk%04d" % i, (i, f[Raw].load)
        assert f[IP].ttl == 9
    assert r.ports["x/b"]["tx"] == n and r.stats["drops"] == 0


# --- run 4: edges: padding, IP options, ICMP errors that go back by IPIP,
# path MTU, proxy ARP on pods and ARP for the node on the uplink --------------

def _big(df, tag):
    pad = 1481 - 20 - 8 - len(tag)   # one byte over the IPIP path MTU (1480)
    return (Ether(src=POD_MACS["x/a"], dst=GW_MAC) /
            IP(src=XA, dst="10.244.2.10", flags="DF" if df else 0) /
            UDP(sport=1, dport=2) / Raw(b"z" * pad + tag.encode()))


EDGE_POD = {
    "pad_local": from_pod(XB, "pad_local") / Padding(b"\0" * 30),
    "pad_remote": from_pod("10.244.2.10", "pad_remote") / Padding(b"\0" * 30),
    "opts_remote": (Ether(src=POD_MACS["x/a"], dst=GW_MAC) /
                    IP(src=XA, dst="10.244.2.10", ttl=30,
                       options=[IPOption_NOP()] * 4) /
                    UDP(sport=1, dport=2) / Raw(b"opts_remote")),
    "big_df": _big(True, "big_df"),
    "big_nodf": _big(False, "big_nodf"),
    "mcast": from_pod("239.1.1.1", "mcast"),
    "arp_req": (Ether(src=POD_MACS["x/a"], dst="ff:ff:ff:ff:ff:ff") /
                ARP(op=1, hwsrc=POD_MACS["x/a"], psrc=XA, pdst="169.254.1.1")),
}
EDGE_UP = {
    "decap_opts": (Ether(src=NODE_B_MAC, dst=UPLINK_MAC) /
                   IP(src=B, dst=A, proto=4, options=[IPOption_NOP()] * 4) /
                   IP(src="10.244.2.10", dst=XA, ttl=7) / UDP(sport=1, dport=2) /
                   Raw(b"decap_opts")),
    "decap_ttl1": from_node(B, IP(src="10.244.2.10", dst=XA, ttl=1) /
                            UDP(sport=1, dport=2) / Raw(b"decap_ttl1")),
    "arp_node": (Ether(src=NODE_B_MAC, dst="ff:ff:ff:ff:ff:ff") /
                 ARP(op=1, hwsrc=NODE_B_MAC, psrc=B, pdst=A)),
}
_edge = {}


def edge(exe):
    if not _edge:
        _edge["r"] = kdprun.run(exe, {"x/a": list(EDGE_POD.values()),
                                      "uplink": list(EDGE_UP.values())})
    return _edge["r"]


def test_padding_trimmed(exe):
    r = edge(exe)
    f = tagged(r.out["x/b"], "pad_local")
    assert len(bytes(f)) == 14 + f[IP].len, (len(bytes(f)), f[IP].len)
    check_routed(f, EDGE_POD["pad_local"], GW_MAC, POD_MACS["x/b"])
    f = tagged(r.out["uplink"], "pad_remote")
    assert len(bytes(f)) == 14 + f[IP].len
    check_ipip(f, EDGE_POD["pad_remote"], B, NODE_B_MAC)


def test_ip_options(exe):
    r = edge(exe)
    f = tagged(r.out["uplink"], "opts_remote")
    check_ipip(f, EDGE_POD["opts_remote"], B, NODE_B_MAC)
    assert f[IP].payload.ihl == 6      # inner options kept, outer has none
    f = tagged(r.out["x/a"], "decap_opts")   # outer options skipped on decap
    check_routed(f, Ether() / EDGE_UP["decap_opts"][IP].payload, GW_MAC, POD_MACS["x/a"])


def _icmp_errors(frames):
    return [f for f in frames if ICMP in f and f[ICMP].type in (3, 11)]


def test_decap_ttl_expiry_icmp_goes_back_by_ipip(exe):
    r = edge(exe)
    errs = [f for f in _icmp_errors(r.out["uplink"])]
    assert len(errs) == 1, [f.summary() for f in r.out["uplink"]]
    f = errs[0]
    assert f[Ether].src == UPLINK_MAC and f[Ether].dst == NODE_B_MAC
    o = f[IP]
    assert (o.src, o.dst, o.proto, o.ttl) == (A, B, 4, 64)
    assert_cksum(o)
    inner = o.payload
    assert (inner.src, inner.dst, inner.proto) == (A, "10.244.2.10", 1)
    assert (f[ICMP].type, f[ICMP].code) == (11, 0)
    sent = bytes(EDGE_UP["decap_ttl1"][IP].payload)
    assert bytes(f[ICMP].payload)[:28] == sent[:28]


def test_path_mtu(exe):
    r = edge(exe)
    errs = _icmp_errors(r.out["x/a"])
    assert len(errs) == 1, [f.summary() for f in r.out["x/a"]]
    f = errs[0]
    assert f[Ether].dst == POD_MACS["x/a"] and f[IP].dst == XA and f[IP].src == A
    ic = f[ICMP]
    assert (ic.type, ic.code, ic.nexthopmtu) == (3, 4, 1480), (ic.type, ic.code, ic.nexthopmtu)
    # The quote is the header as forwarding left it: RFC 1812 4.3.2.3 lets
    # a router keep the TTL it already decremented (and so the checksum).
    q, o = bytes(ic.payload)[:28], bytes(EDGE_POD["big_df"][IP])[:28]
    assert q[8] in (o[8], o[8] - 1), (q[8], o[8])
    assert q[:8] + q[9:10] + q[12:] == o[:8] + o[9:10] + o[12:], (q.hex(), o.hex())
    assert len(bytes(f)) == 14 + 576     # RFC 1812: error at most 576 bytes
    for tag in ("big_df", "big_nodf"):   # neither is sent, nor fragmented
        assert not [g for g in r.out["uplink"] if Raw in g and g[Raw].load.endswith(tag.encode())]


def test_proxy_arp_on_pod_port(exe):
    r = edge(exe)
    arps = [f for f in r.out["x/a"] if ARP in f]
    assert len(arps) == 1, [f.summary() for f in r.out["x/a"]]
    f = arps[0]
    assert f[Ether].src == GW_MAC and f[Ether].dst == POD_MACS["x/a"]
    a = f[ARP]
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (
        2, GW_MAC, "169.254.1.1", POD_MACS["x/a"], XA), a.summary()


def test_uplink_arp_for_node_ip(exe):
    r = edge(exe)
    arps = [f for f in r.out["uplink"] if ARP in f]
    assert len(arps) == 1, [f.summary() for f in r.out["uplink"]]
    a = arps[0][ARP]
    assert arps[0][Ether].src == UPLINK_MAC and arps[0][Ether].dst == NODE_B_MAC
    assert (a.op, a.hwsrc, a.psrc, a.hwdst, a.pdst) == (2, UPLINK_MAC, A, NODE_B_MAC, B), a.summary()


def test_edge_stats(exe):
    r = edge(exe)
    assert r.drops() == {"too_big": 2, "ip_bad_dst": 1, "ttl_exceeded": 1}, r.drops()
    assert r.stats["icmp_sent"] == 2
    # pad_remote, opts_remote and the ICMP error toward node-b.
    assert r.stats["ipip_encap"] == 3
    assert r.stats["ipip_decap"] == 2
    assert r.stats["arp_replied"] >= 1
    want = {"uplink": (3, 4), "x/a": (7, 3), "x/b": (0, 1)}
    got = {n: (p["rx"], p["tx"]) for n, p in r.ports.items()}
    assert got == want, got


CASES = [test_pod_to_local_pod, test_pod_to_remote_pod_ipip, test_decap_to_local_pod,
         test_cross_subnet, test_borrowed_ip, test_forward_stats, test_routes_table,
         test_drop_reasons_exact, test_ttl_exceeded_icmp, test_sigterm_complete_pcaps,
         test_padding_trimmed, test_ip_options, test_decap_ttl_expiry_icmp_goes_back_by_ipip,
         test_path_mtu, test_proxy_arp_on_pod_port, test_uplink_arp_for_node_ip,
         test_edge_stats]

if __name__ == "__main__":
    sys.exit(kdprun.main(CASES))
