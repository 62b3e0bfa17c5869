"""Randomized, model-based forwarding test through the real kdp.

A few thousand random frames (scapy-built, then mutated as bytes) go into
the real kdp over net_pcap ports on the three_nodes() cluster, policy off.
An independent model, written from RFC 791/792/1812/2003, calico-model.md
and README's "Forwarding behaviour" (not from pipeline/), predicts for each
frame: dropped under which /kdp/stats reason, answered (ARP reply, ICMP
error with its type, code and quote), or forwarded to which port with which
bytes. Every output frame is compared byte for byte with the model, and the
drop counters, port counters and ICMP counters with the model's counts.

Where kdp may legitimately choose (README, RFC), the comparison checks that
the field is valid instead of its value: the ID of the headers kdp builds
(IPIP outer header, ICMP errors; their checksums must be right), the DF
flag of an ICMP error, the quoted TTL of an ICMP error (RFC 1812 4.3.2.3:
the TTL may be quoted as received or as decremented), and the padding of
an ARP reply to 60 bytes. ICMP errors are rate-limited (100/s, burst 10):
each one the model wants is either sent, with exactly the predicted bytes,
or counted in icmp_ratelimited.

Where README and the RFCs left a choice open, the model follows kdp's
documented one (README "Forwarding behaviour"): no MTU toward pods; every
uplink ARP frame to control, which answers probes for the node IP too
(RFC 5227), unless it is unicast to another host's MAC (l2_other_host, as
any such frame); IPv4 in a broadcast or multicast frame on the uplink
never routed nor given to the host (l2_not_unicast); outer fragments as
ipip_inner_bad; decapsulated packets only
to local pods; no ICMP error about ICMP other than echo and timestamp; a
pod's source MAC tested before its source IP; a header longer than the
frame as ip_len.

Each frame's payload carries a tag (MAGIC + its index), so an output frame
names its input. On a mismatch the seed, the input (hex and scapy summary)
and the expected and actual results are printed.

IPv4 options: NOP, EOL (and the junk after it), Router Alert, Record
Route and Timestamp (forwarded unprocessed), LSRR and SSRR (dropped as
ip_source_route, RFC 7126), broken lengths (ip_options).

Not covered: class E
addresses; on-subnet addresses that are not nodes (their neighbor would
have to be resolved).

usage: forward_model.py KDP_EXE SOURCE_ROOT
env:   FWD_SEED=N (default 1) replays a run; FWD_N=N frames (default 6000,
       in FWD_RUNS=6 kdp runs; every third run is mostly the express
       lanes' common case); FWD_VERBOSE=1 prints every frame's predicted
       outcome; FWD_DIAG=1 finds, by halving, the frames behind a counter
       mismatch (one kdp run per step).
"""
import ipaddress
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(sys.argv[2] if len(sys.argv) > 2 else ".",
                                "tests", "lib"))
import cluster  # noqa: E402
import kdprun  # noqa: E402
from kdprun import GW_MAC, POD_MACS, UPLINK_MAC, NODE_B_MAC, GATEWAY_MAC  # noqa: E402

from scapy.layers.inet import ICMP, IP, TCP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

A, B, C = cluster.NODE_A_IP, cluster.NODE_B_IP, cluster.NODE_C_IP
GW = cluster.GATEWAY
TUN_A = "10.244.1.1"
PODS = {"x/a": "10.244.1.10", "x/b": "10.244.1.11"}
POD_OF_IP = {v: k for k, v in PODS.items()}
UPLINK_MTU = 1500
IPIP_MTU = UPLINK_MTU - 20         # inner packet through the tunnel
QUOTE_MAX = 576 - 20 - 8           # RFC 1812 4.3.2.3: error <= 576 bytes
# RFC 1122 3.2.2 names the error types (3, 4, 5, 11, 12); kdp answers
# only the queries it knows (echo, timestamp) and stays silent about every
# other type, obsolete and future ones included.
ICMP_QUERY_TYPES = (0, 8, 13, 14)
MAGIC = b"\xc7KDPT"


def mac_b(m):
    return bytes(int(x, 16) for x in m.split(":"))


def ip_b(a):
    return ipaddress.IPv4Address(a).packed


def ip_s(b):
    return str(ipaddress.IPv4Address(bytes(b)))


def csum(b):
    """RFC 1071 Internet checksum of @b (the value to store)."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def csum_ok(b):
    return csum(b) == 0


def with_ip_csum(h):
    h = bytearray(h)
    h[10:12] = b"\0\0"
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return bytes(h)


# --- the model's view of the cluster (calico-model.md §2, README) ---------

def _net(c):
    return ipaddress.IPv4Network(c)


# Routes as Felix computes them for node-a (calico-model.md §2) plus kdp's
# own entries (README "Forwarding behaviour"), longest prefix first.
ROUTES = [
    (_net("10.244.1.10/32"), ("pod", "x/a")),
    (_net("10.244.1.11/32"), ("pod", "x/b")),
    (_net("10.244.1.20/32"), ("ipip", B, NODE_B_MAC)),   # borrowed by node-b
    (_net("192.168.10.11/32"), ("host",)),               # node IP
    (_net("10.244.1.1/32"), ("host",)),                  # tunnel IP
    (_net("192.168.10.12/32"), ("direct", NODE_B_MAC)),  # node on our subnet
    (_net("192.168.10.1/32"), ("direct", GATEWAY_MAC)),  # the gateway itself
    (_net("10.244.1.0/26"), ("blackhole",)),             # local block
    (_net("10.244.2.0/26"), ("ipip", B, NODE_B_MAC)),    # Always
    (_net("10.244.3.0/26"), ("ipip", C, GATEWAY_MAC)),   # node-c off-subnet
    (_net("10.245.2.0/26"), ("direct", NODE_B_MAC)),     # CrossSubnet, same subnet
    (_net("10.245.3.0/26"), ("ipip", C, GATEWAY_MAC)),   # CrossSubnet, other
    (_net("10.244.0.0/16"), ("noroute",)),               # pool, no block
    (_net("10.245.0.0/16"), ("noroute",)),
    (_net("0.0.0.0/8"), ("noroute",)),                   # RFC 1812 5.3.7
    (_net("127.0.0.0/8"), ("noroute",)),
    (_net("0.0.0.0/0"), ("direct", GATEWAY_MAC)),        # uplink.gateway
]
NODE_IPS = {B, C}          # known node IPs for IPIP (other than ours)


def route(dst):
    a = ipaddress.IPv4Address(dst)
    for net, r in ROUTES:
        if a in net:
            return r
    raise AssertionError


def bad_src(a):
    """RFC 1812 5.3.7: no router forwards a packet from network 0, from
    loopback (127/8), from broadcast or from multicast."""
    b = ipaddress.IPv4Address(a)
    return b.packed[0] in (0, 127) or \
        b == ipaddress.IPv4Address("255.255.255.255") or b.is_multicast


def bad_dst(a):
    b = ipaddress.IPv4Address(a)
    return b == ipaddress.IPv4Address("0.0.0.0") or \
        b == ipaddress.IPv4Address("255.255.255.255") or b.is_multicast


def special_src(a):
    """RFC 1812 4.3.2.7: no ICMP error to a source that does not name
    one host (class E aside, which Linux treats as unicast)."""
    return bad_src(a)


# --- outcomes ---------------------------------------------------------------

class Out:
    """What the model predicts for one frame."""

    def __init__(self):
        self.drop = None        # drop reason name, or None
        self.frames = []        # [(port, bytes, kind)], kind: fwd|icmp|arp
        self.icmp_wanted = False
        self.punt = False       # handed to the control thread
        self.note = ""

    def summary(self):
        s = "drop %s" % self.drop if self.drop else "pass"
        for port, b, kind in self.frames:
            s += "; %s -> %s (%d B)" % (kind, port, len(b))
        if self.note:
            s += " [%s]" % self.note
        return s


class Ip:
    """A parsed IPv4 datagram (bytes as received, already trimmed)."""

    def __init__(self, b):
        self.b = b
        self.ihl = (b[0] & 15) * 4
        self.tos = b[1]
        self.tl = struct.unpack("!H", b[2:4])[0]
        ff = struct.unpack("!H", b[6:8])[0]
        self.df = bool(ff & 0x4000)
        self.mf = bool(ff & 0x2000)
        self.off = (ff & 0x1fff) * 8
        self.ttl = b[8]
        self.proto = b[9]
        self.src = ip_s(b[12:16])
        self.dst = ip_s(b[16:20])

    def payload(self):
        return self.b[self.ihl:]


def check_options(o):
    """RFC 791 3.1 options: each well formed; LSRR and SSRR dropped
    (RFC 7126 4.3, 4.4); after End of Option List, padding."""
    i = 0
    while i < len(o):
        if o[i] == 0:
            return None
        if o[i] == 1:
            i += 1
            continue
        if i + 1 >= len(o) or o[i + 1] < 2 or o[i + 1] > len(o) - i:
            return "ip_options"
        if o[i] in (0x83, 0x89):
            return "ip_source_route"
        i += o[i + 1]
    return None


def check_ipv4(l3):
    """Validation in README's order: version, IHL, lengths, checksum,
    options, fragment offset, source, destination. Returns (reason, None)
    or (None, trimmed datagram)."""
    if len(l3) < 20:
        return "runt", None
    if l3[0] >> 4 != 4:
        return "ip_version", None
    ihl = (l3[0] & 15) * 4
    if ihl < 20:
        return "ip_ihl", None
    # A header longer than the frame is a length fault (ip_len): its total
    # length is then either below the IHL or beyond the frame.
    tl = struct.unpack("!H", l3[2:4])[0]
    if tl < ihl or tl > len(l3):
        return "ip_len", None
    if not csum_ok(l3[:ihl]):
        return "ip_cksum", None
    why = check_options(l3[20:ihl])
    if why:
        return why, None
    ip = Ip(l3[:tl])
    if ip.off + tl - ihl > 65535:
        return "frag_bad", None
    if bad_src(ip.src):
        return "ip_bad_src", None
    if bad_dst(ip.dst):
        return "ip_bad_dst", None
    return None, ip


def decremented(ip):
    """RFC 1812 5.3.1: TTL - 1 and the header checksum updated."""
    h = bytearray(ip.b[:ip.ihl])
    h[8] -= 1
    return with_ip_csum(h) + ip.b[ip.ihl:]


def eth(dst, src, et=0x0800):
    return mac_b(dst) + mac_b(src) + struct.pack("!H", et)


def ipip(inner, node_ip, tos):
    """README "IPIP encapsulation": src node IP, dst the remote node,
    protocol 4, DF, TOS copied, TTL 64, valid checksum (ID: kdp's)."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(inner), 0, 0x4000,
                    64, 4, 0, ip_b(A), ip_b(node_ip))
    return with_ip_csum(h) + inner


def l2_out(r, dgram, tos):
    """Frame carrying @dgram (an IPv4 datagram) along route @r."""
    if r[0] == "pod":
        return r[1], eth(POD_MACS[r[1]], GW_MAC) + dgram
    if r[0] == "ipip":
        return "uplink", eth(r[2], UPLINK_MAC) + ipip(dgram, r[1], tos)
    assert r[0] == "direct"
    return "uplink", eth(r[1], UPLINK_MAC) + dgram


def mtu_of(r):
    """Toward a pod kdp applies no MTU (README "MTU"): it does not
    fragment, and a pod's stack takes frames above its MTU."""
    return {"pod": 65535, "ipip": IPIP_MTU, "direct": UPLINK_MTU}[r[0]]


def icmp_wanted(ip):
    """RFC 1812 4.3.2.7 / RFC 1122 3.2.2: none about a non-first
    fragment, an ICMP error, or a source that is not one host."""
    if ip.off:
        return False
    if special_src(ip.src):
        return False
    p = ip.payload()
    if ip.proto == 1 and (len(p) < 1 or p[0] not in ICMP_QUERY_TYPES):
        return False
    return True


ICMP_ERR_TOS = 0xc0     # precedence 6, "internetwork control"


def icmp_error(ip, typ, code, mtu=0):
    """RFC 792 / 1191 / 1812 4.3.2.3: from the node IP (README) to the
    source, TTL 64, the original header and as much of its data as fits
    a 576-byte error, with precedence 6 (4.3.2.5: "internetwork control").
    The fields kdp chooses (ID, DF) are zero here."""
    q = ip.b[:QUOTE_MAX]
    icmp = struct.pack("!BBHHH", typ, code, 0, 0, mtu) + q
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    h = struct.pack("!BBHHHBBH4s4s", 0x45, ICMP_ERR_TOS, 20 + len(icmp), 0, 0,
                    64, 1, 0,
                    ip_b(A), ip_b(ip.src))
    return with_ip_csum(h) + icmp


def send_error(o, ip, typ, code, mtu=0):
    if not icmp_wanted(ip):
        return
    o.icmp_wanted = True
    err = icmp_error(ip, typ, code, mtu)
    r = route(ip.src)
    if r[0] in ("pod", "ipip", "direct"):
        port, f = l2_out(r, err, ICMP_ERR_TOS)  # an outer header copies it
        o.frames.append((port, f, "icmp"))
    else:
        o.note = "error to unroutable source"


# RFC 6040 4.2, Figure 4: the inner ECN field at decapsulation, by
# [inner][outer] (0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE); None: dropped.
ECN_FIG4 = [[0, 0, 0, None], [1, 1, 1, 3], [2, 1, 2, 3], [3, 3, 3, 3]]


def ecn_decap(o, outer, inner):
    """The inner datagram as the tunnel's egress passes it on (README
    "Uplink"), or None when it is dropped (ipip_ecn)."""
    e = ECN_FIG4[inner.tos & 3][outer.tos & 3]
    if e is None:
        o.drop = "ipip_ecn"
        return None
    if e == inner.tos & 3:
        return inner
    b = bytearray(inner.b)
    b[1] = (b[1] & 0xfc) | e
    b[10:12] = b"\0\0"
    b[10:12] = struct.pack("!H", csum(bytes(b[:inner.ihl])))
    return Ip(bytes(b))


def forward(o, ip, r):
    """The routed hop (RFC 1812 5.2/5.3): route, TTL, MTU, rewrite."""
    if r[0] == "host":
        o.drop = "host_no_port"       # README "Host traffic": no host port
        return
    if r[0] in ("blackhole", "noroute"):
        o.drop = {"blackhole": "blackhole", "noroute": "no_route"}[r[0]]
        return
    if ip.ttl <= 1:
        o.drop = "ttl_exceeded"
        send_error(o, ip, 11, 0)
        return
    mtu = mtu_of(r)
    if ip.tl > mtu:
        o.drop = "too_big"
        if ip.df:
            send_error(o, ip, 3, 4, mtu)
        return
    port, f = l2_out(r, decremented(ip), ip.tos)
    o.frames.append((port, f, "fwd"))


def model_arp(o, f, port):
    a = f[14:]
    if port == "uplink":
        o.punt = True                 # control reads every ARP frame
    if len(a) < 28:
        o.drop = "arp_bad"
        return
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", a[:8])
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        o.drop = "arp_bad"
        return
    sha, spa, tpa = a[8:14], ip_s(a[14:18]), ip_s(a[24:28])
    if port == "uplink":
        # Every ARP goes to control, which learns from it and answers
        # requests for the node IP, probes included (RFC 5227 2.1.1: the
        # address's owner answers a probe). Nothing else is a drop.
        if op != 1 or tpa != A or spa == tpa:
            return
        me = UPLINK_MAC
    elif op == 2:
        o.punt = True                 # control learns the pod's MAC
        return
    elif op != 1 or spa == "0.0.0.0" or spa == tpa:
        o.drop = "arp_ignored"       # not a request, a probe, gratuitous
        return
    else:
        me = GW_MAC                   # Calico proxy ARP: every target
    # RFC 826: the reply goes to the requester's hardware address.
    rep = eth(":".join("%02x" % x for x in sha), me, 0x0806) + \
        struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac_b(me) + ip_b(tpa) + \
        sha + ip_b(spa)
    o.frames.append((port, rep, "arp"))


def model(port, f):
    o = Out()
    if len(f) < 14:
        o.drop = "runt"
        return o
    et = struct.unpack("!H", f[12:14])[0]
    if port == "uplink" and f[:6] != mac_b(UPLINK_MAC):
        # README "Uplink": a unicast frame for another host is dropped
        # before anything else, ARP included; from a group MAC, only IPv4
        # is (never routed, nor given to the host), the rest goes on.
        if not f[0] & 1:
            o.drop = "l2_other_host"
            return o
        if et == 0x0800:
            o.drop = "l2_not_unicast"
            return o
    if et in (0x8100, 0x88a8):
        o.drop = "vlan"
        return o
    if et == 0x0806:
        model_arp(o, f, port)         # proxy ARP: no source checks
        return o
    if et != 0x0800:
        o.drop = "not_ip"
        return o
    why, ip = check_ipv4(f[14:])
    if why:
        o.drop = why
        return o
    if port != "uplink":
        if f[6:12] != mac_b(POD_MACS[port]):
            o.drop = "spoof_src_mac"  # not the pod's frame at all
        elif ip.src != PODS[port]:
            o.drop = "spoof_src_ip"
        elif ip.proto == 4:
            o.drop = "ipip_from_pod"
        else:
            forward(o, ip, route(ip.dst))
        return o
    # Uplink. The node's own addresses as a source are martians (README
    # "Validation"): plain, a tunnel's outer one, or its inner one.
    if ip.src in (A, TUN_A):
        o.drop = "ip_bad_src"
        return o
    if ip.dst == A and ip.proto == 4:
        if ip.src not in NODE_IPS:
            o.drop = "ipip_unknown_node"
            return o
        if ip.mf or ip.off:
            o.drop = "ipip_inner_bad"  # README: outer fragments are dropped
            return o
        why, inner = check_ipv4(ip.payload())
        if why:
            o.drop = "ipip_inner_bad"
            return o
        if inner.src in (A, TUN_A):
            o.drop = "ip_bad_src"
            return o
        inner = ecn_decap(o, ip, inner)
        if inner is None:
            return o
        r = route(inner.dst)
        if r[0] not in ("pod", "host"):  # local pods and the node only
            o.drop = "ipip_inner_not_local"
            return o
        if r[0] == "host" and inner.proto == 4:
            o.drop = "ipip_to_host"   # a tunnel in the tunnel
            return o
        forward(o, inner, r)
        return o
    r = route(ip.dst)
    if r[0] not in ("pod", "host"):
        o.drop = "uplink_not_local"
        return o
    if r[0] == "host" and ip.proto == 4:
        o.drop = "ipip_to_host"       # IPIP to the tunnel IP
        return o
    forward(o, ip, r)
    return o


# --- the frame grammar -------------------------------------------------------

REMOTE_PODS = ["10.244.2.10", "10.244.2.33", "10.244.3.10", "10.244.3.60",
               "10.245.2.5", "10.245.3.5", "10.244.1.20"]
OTHER_DSTS = ["8.8.8.8", "1.2.3.4", "10.246.0.9", "172.16.5.5", "100.64.1.1",
              C, B, GW, "203.0.113.77"]
LOCAL_UNUSED = ["10.244.1.30", "10.244.1.63", "10.244.1.0", "10.244.1.2"]
POOL_NO_BLOCK = ["10.244.9.9", "10.245.1.1", "10.244.255.255", "10.245.200.3"]
HOST_DSTS = [A, TUN_A]
BAD_ADDRS = ["0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3",
             "232.5.5.5", "127.0.0.1", "127.8.9.10", "0.1.2.3"]


def with_options(ip, opts):
    """@ip (a 20-byte header and data) with @opts spliced in."""
    if not opts:
        return ip
    b = bytearray(ip[:20] + opts + ip[20:])
    b[0] = 0x40 | (20 + len(opts)) // 4
    b[2:4] = struct.pack("!H", len(b))
    return with_ip_csum(b[:20 + len(opts)]) + bytes(b[20 + len(opts):])


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.idx = 0

    def pick(self, *weighted):
        tot = sum(w for w, _ in weighted)
        x = self.r.uniform(0, tot)
        for w, v in weighted:
            x -= w
            if x <= 0:
                return v
        return weighted[-1][1]

    def tag(self):
        return MAGIC + struct.pack("!I", self.idx)

    def data(self, n):
        return bytes(self.r.getrandbits(8) for _ in range(n))

    def size(self):
        """L4 payload bytes after the tag: small mostly, sometimes at
        the MTU boundaries (the caller aims for a total length)."""
        return self.pick((80, ("small", self.r.randrange(0, 64))),
                         (8, ("small", self.r.randrange(64, 600))),
                         (12, ("total", self.r.choice(
                             [1479, 1480, 1481, 1499, 1500, 1501,
                              self.r.randrange(1400, 1540)]))))

    def ttl(self):
        return self.pick((10, 0), (10, 1), (5, 2), (75, self.r.randrange(2, 256)))

    def options(self):
        """Option areas of 4 to 40 bytes: NOP, EOL (then junk), Router
        Alert, Record Route and Timestamp (forwarded unchanged), LSRR and
        SSRR (dropped), and now and then a broken length."""
        r = self.r
        n = r.choice([4, 4, 8, 12, 16, 40])
        opts = b""
        while len(opts) < n:
            room = n - len(opts)
            k = self.pick((30, "nop"), (15, "ra"), (10, "eol"), (12, "rr"),
                          (8, "ts"), (6, "lsrr"), (4, "ssrr"), (5, "bad"))
            if k == "ra" and room >= 4:
                opts += b"\x94\x04\x00\x00"
            elif k in ("rr", "ts", "lsrr", "ssrr") and room >= 7:
                slots = r.randrange(1, (room - 3) // 4 + 1)
                typ = {"rr": 7, "ts": 0x44, "lsrr": 0x83, "ssrr": 0x89}[k]
                ln = 3 + 4 * slots + (1 if k == "ts" else 0)
                if ln > room:
                    ln -= 4
                opts += bytes([typ, ln, 4 + 4 * r.randrange(0, slots)]) + \
                    self.data(ln - 3)
            elif k == "eol":
                opts += b"\x00" + self.data(room - 1) if r.random() < 0.3 \
                    else b"\x00" * room
            elif k == "bad":
                # a length of 0 or 1, past the area, or no length byte
                typ = r.choice([7, 0x44, 0x94, 0x83, 0x19])
                ln = r.choice([0, 1, room + 1, room + r.randrange(2, 40)])
                opts += bytes([typ]) + (bytes([ln & 0xff]) if room >= 2 and
                                        r.random() < 0.9 else b"")
                opts += self.data(max(0, room - 2))
            else:
                opts += b"\x01"
        return opts[:n]

    def l4(self, proto_kind, room):
        """(proto number, scapy payload layers) with the tag inside."""
        t = self.tag()
        if proto_kind == "udp":
            return 17, UDP(sport=self.r.randrange(1, 65536),
                           dport=self.r.randrange(1, 65536)) / Raw(t + self.data(room))
        if proto_kind == "tcp":
            return 6, TCP(sport=self.r.randrange(1, 65536),
                          dport=self.r.randrange(1, 65536),
                          flags=self.r.choice(["S", "A", "PA", "SA", "F", "R", ""]),
                          seq=self.r.getrandbits(32)) / Raw(t + self.data(room))
        if proto_kind == "echo":
            return 1, ICMP(type=self.r.choice([8, 0]), id=self.r.getrandbits(16),
                           seq=self.r.getrandbits(16)) / Raw(t + self.data(room))
        if proto_kind == "icmperr":
            typ = self.r.choice([3, 4, 5, 11, 12, 13, 9])
            q = bytes(IP(src=self.r.choice(REMOTE_PODS), dst="10.244.1.10") /
                      UDP(sport=1, dport=2))[:28]
            return 1, ICMP(type=typ, code=self.r.randrange(0, 5)) / Raw(q + t + self.data(room))
        if proto_kind == "other":
            p = self.r.choice([47, 50, 132, 2, 41, 253, 0, 255])
            return p, Raw(t + self.data(room))
        raise AssertionError(proto_kind)

    def ip_frame(self, src, dst, eth_src, eth_dst, inner_only=False):
        """An IPv4 datagram (bytes) with random fields and possibly faults,
        and the frame around it unless @inner_only."""
        r = self.r
        kind = self.pick((40, "udp"), (20, "tcp"), (12, "echo"), (6, "icmperr"),
                         (6, "other"), (16, "frag"))
        opts = self.options() if r.random() < 0.12 else b""
        tos = r.choice([0, 0, 0, 0x10, 0x28, 0xb8, 0x03, 0xff, r.randrange(256)])
        df = r.random() < 0.5
        mf, off = False, 0
        if kind == "frag":
            mf = r.random() < 0.6
            off = r.choice([0, 1, 185, r.randrange(1, 8192), 8191])
            if off == 0:
                mf = True
            kind = r.choice(["udp", "tcp", "echo"]) if off == 0 else "rawfrag"
        how, n = self.size()
        room = n if how == "small" else 0
        if kind == "rawfrag":
            proto, l4 = r.choice([17, 6, 1, 47]), Raw(self.tag() + self.data(room))
        else:
            proto, l4 = self.l4(kind, room)
        l4b = bytes(l4)
        if how == "total":
            want = n - 20 - len(opts) - len(l4b)
            if want > 0:
                l4b += self.data(want)
        ip = IP(src=src, dst=dst, ttl=self.ttl(), tos=tos, id=r.getrandbits(16),
                flags=(2 if df else 0) | (1 if mf else 0), frag=off,
                proto=proto) / Raw(l4b)
        b = bytearray(with_options(bytes(ip), opts))
        if r.random() < 0.06:
            # An ID that makes the header's checksum 0 as received, or
            # after the TTL decrement: ones' complement's two zeros
            # (RFC 1624 3) at the checksum update.
            h = bytearray(b[:(b[0] & 15) * 4])
            h[4:6] = h[10:12] = b"\0\0"
            if r.random() < 0.5 and h[8] > 0:
                h[8] -= 1
            b[4:6] = struct.pack("!H", csum(bytes(h)))
        # Faults, each rare; several may meet in one frame.
        if r.random() < 0.03:
            b[0] = (r.choice([6, 5, 0, 15]) << 4) | (b[0] & 15)
        if r.random() < 0.03:
            b[0] = (b[0] & 0xf0) | r.randrange(0, 5)
        elif r.random() < 0.03 and b[0] & 15 < 15:
            b[0] = (b[0] & 0xf0) | r.randrange((b[0] & 15) + 1, 16)
        if r.random() < 0.05:      # total length longer than the datagram
            b[2:4] = struct.pack("!H", len(b) + r.randrange(1, 40))
        elif r.random() < 0.05:    # shorter: the rest is trailing bytes
            b[2:4] = struct.pack("!H", r.randrange(0, len(b)))
        ihl = min(b[0] & 15, len(b) // 4) * 4
        b[10:12] = b"\0\0"
        if ihl >= 20:
            b[10:12] = struct.pack("!H", csum(bytes(b[:ihl])))
        c = r.random()
        if c < 0.05:
            b[10] ^= 1 << r.randrange(8)
        elif c < 0.08 and struct.unpack("!H", b[10:12])[0] == 0:
            b[10:12] = b"\xff\xff"    # the other zero: still valid
        if inner_only:
            return bytes(b)
        return self.frame(eth_dst, eth_src, 0x0800, bytes(b))

    def frame(self, dst, src, et, l3):
        r = self.r
        f = Ether(dst=dst, src=src, type=et) / Raw(l3)
        if r.random() < 0.02:
            f = Ether(dst=dst, src=src) / Dot1Q(vlan=r.randrange(1, 4095), type=et) / Raw(l3)
            if r.random() < 0.5:
                b = bytearray(bytes(f))
                b[12:14] = b"\x88\xa8"
                return bytes(b)
        b = bytes(f)
        if r.random() < 0.15:       # Ethernet padding, zeros or junk
            b += (b"\0" if r.random() < 0.5 else self.data(1)) * r.randrange(1, 40)
        if r.random() < 0.02:       # cut short anywhere
            b = b[:r.randrange(0, min(len(b), 60))]
        return b

    def pod_frame(self, port):
        r = self.r
        mine = PODS[port]
        mac = POD_MACS[port]
        k = self.pick((70, "ip"), (6, "arp"), (3, "other_et"), (3, "ipip"))
        if r.random() < 0.04:
            mac = r.choice(["02:00:00:00:99:99", POD_MACS["x/a"], POD_MACS["x/b"]])
        if k == "arp":
            return self.arp(mac, mine, "ff:ff:ff:ff:ff:ff", pod=True)
        if k == "other_et":
            return self.frame(GW_MAC, mac, r.choice([0x86dd, 0x88cc, 0x8847, 0x0842, 0x1234]),
                              self.data(r.randrange(0, 80)))
        src = mine
        if r.random() < 0.05:
            src = r.choice(list(PODS.values()) + ["10.244.2.10", "8.8.8.8"] + BAD_ADDRS)
        dst = self.dst()
        if k == "ipip":
            inner = self.ip_frame(src, r.choice(REMOTE_PODS), None, None, inner_only=True)
            return self.frame(GW_MAC, mac, 0x0800, bytes(
                IP(src=src, dst=dst, proto=4, ttl=r.randrange(2, 64)) / Raw(inner)))
        return self.ip_frame(src, dst, mac, GW_MAC)

    def dst(self):
        return self.pick((25, self.r.choice(list(PODS.values()))),
                         (30, self.r.choice(REMOTE_PODS)),
                         (15, self.r.choice(OTHER_DSTS)),
                         (8, self.r.choice(LOCAL_UNUSED)),
                         (6, self.r.choice(POOL_NO_BLOCK)),
                         (8, self.r.choice(HOST_DSTS)),
                         (4, self.r.choice(BAD_ADDRS)))

    def arp(self, mac, mine, dst_mac, pod):
        r = self.r
        op = self.pick((85, 1), (10, 2), (5, r.randrange(3, 10)))
        spa = self.pick((80, mine), (8, "0.0.0.0"), (12, None))
        if pod:
            tpa = self.pick((40, "169.254.1.1"), (30, r.choice(REMOTE_PODS + OTHER_DSTS)),
                            (20, r.choice(list(PODS.values()))), (10, mine))
        else:
            tpa = self.pick((60, A), (20, TUN_A), (20, r.choice(list(PODS.values()) + [B, GW])))
        if spa is None:
            spa = tpa
        sha = mac if r.random() < 0.95 else "02:00:00:00:55:01"
        a = ARP(op=op, hwsrc=sha, psrc=spa, pdst=tpa,
                hwdst=r.choice(["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"]))
        b = bytearray(bytes(a))
        if r.random() < 0.06:
            i = r.choice([0, 1, 2, 3, 4, 5])
            b[i] ^= 1 << r.randrange(8)
        if r.random() < 0.04:
            b = b[:r.randrange(0, 28)]
        return self.frame(r.choice([dst_mac, GW_MAC if pod else self.uplink_dst()]),
                          mac, 0x0806, bytes(b))

    def uplink_dst(self):
        """The uplink's MAC, or now and then another host's (a switch
        flooding unknown unicast) or a group MAC."""
        return self.pick((94, UPLINK_MAC), (3, "02:00:00:00:77:02"),
                         (2, "ff:ff:ff:ff:ff:ff"), (1, "01:00:5e:00:00:05"))

    def uplink_frame(self):
        r = self.r
        k = self.pick((40, "ipip"), (40, "plain"), (8, "arp"), (2, "other_et"))
        smac = r.choice([NODE_B_MAC, GATEWAY_MAC, "02:00:00:00:77:01"])
        if k == "arp":
            spa = r.choice([B, GW])
            mac = NODE_B_MAC if spa == B else GATEWAY_MAC
            return self.arp(mac, spa, "ff:ff:ff:ff:ff:ff", pod=False)
        if k == "other_et":
            return self.frame(self.uplink_dst(), smac, r.choice([0x86dd, 0x88cc]),
                              self.data(r.randrange(0, 80)))
        if k == "plain":
            src = self.pick((50, r.choice(REMOTE_PODS)), (30, r.choice(OTHER_DSTS)),
                            (5, r.choice(BAD_ADDRS)), (2, r.choice(HOST_DSTS)))
            dst = self.pick((60, r.choice(list(PODS.values()))), (10, r.choice(HOST_DSTS)),
                            (15, r.choice(REMOTE_PODS + OTHER_DSTS + LOCAL_UNUSED)),
                            (3, r.choice(BAD_ADDRS)))
            return self.ip_frame(src, dst, smac, self.uplink_dst())
        # IPIP to the node IP.
        osrc = self.pick((80, r.choice([B, C])), (10, r.choice(["192.168.10.99", "8.8.8.8", GW])),
                         (2, r.choice(BAD_ADDRS)), (1, A))
        isrc = self.pick((85, r.choice(REMOTE_PODS)), (10, r.choice(OTHER_DSTS)),
                         (5, r.choice(BAD_ADDRS)), (2, r.choice(HOST_DSTS)))
        idst = self.pick((75, r.choice(list(PODS.values()))), (8, r.choice(HOST_DSTS)),
                         (12, r.choice(REMOTE_PODS + LOCAL_UNUSED + OTHER_DSTS)),
                         (3, r.choice(BAD_ADDRS)))
        inner = self.ip_frame(isrc, idst, None, None, inner_only=True)
        if r.random() < 0.04:
            inner = inner[:r.randrange(0, min(len(inner), 40))]
        opts = self.options() if r.random() < 0.08 else b""
        o = IP(src=osrc, dst=A, proto=4, ttl=self.ttl(), id=r.getrandbits(16),
               tos=r.choice([0, 0x28, 0, 0x28, 0x29, 0x2a, 0x2b, 0x03]),
               flags=r.choice([0, 2])) / Raw(inner)
        b = bytearray(with_options(bytes(o), opts))
        if r.random() < 0.04:          # an outer fragment
            ff = r.choice([0x2000, 0x0001, 0x20b9])
            b[6:8] = struct.pack("!H", ff)
        if r.random() < 0.04:
            b[2:4] = struct.pack("!H", len(b) + r.randrange(1, 30))
        ihl = (b[0] & 15) * 4
        b[10:12] = b"\0\0"
        b[10:12] = struct.pack("!H", csum(bytes(b[:ihl])))
        if r.random() < 0.03:
            b[11] ^= 0x40
        return self.frame(self.uplink_dst(), smac, 0x0800, bytes(b))

    def run_of_common(self, port, n):
        """A run of valid UDP/TCP frames of a few flows, the express lanes'
        common case (README "Conntrack"), so that they engage: from a pod
        to routed, resolved hops; on the uplink, IPIP from a known node to
        a local pod."""
        r = self.r
        up = port == "uplink"
        dsts = list(PODS.values()) if up else \
            list(PODS.values()) + ["10.244.2.10", "10.244.3.10", "10.245.2.5", "8.8.8.8", B]
        flows = [(r.choice(REMOTE_PODS) if up else PODS[port], r.choice(dsts),
                  r.randrange(1, 65536), r.randrange(1, 65536), r.choice([6, 17]))
                 for _ in range(r.randrange(1, 4))]
        node = r.choice([B, C])
        out = []
        for _ in range(n):
            src, dst, sp, dp, proto = r.choice(flows)
            self.idx += 1
            l4 = (UDP(sport=sp, dport=dp) if proto == 17 else
                  TCP(sport=sp, dport=dp, flags="A")) / Raw(self.tag() + self.data(r.randrange(0, 40)))
            ip = IP(src=src, dst=dst, ttl=r.randrange(2, 65), id=r.getrandbits(16),
                    flags=2, tos=r.choice([0, 0x28])) / l4
            if up:
                f = Ether(dst=UPLINK_MAC, src=NODE_B_MAC) / IP(
                    src=node, dst=A, proto=4, flags=2, ttl=64) / ip
            else:
                f = Ether(dst=GW_MAC, src=POD_MACS[port]) / ip
            out.append((port, self.idx, bytes(f)))
        return out

    def frames(self, n, common=0.04):
        out = []
        while len(out) < n:
            port = self.pick((30, "x/a"), (25, "x/b"), (45, "uplink"))
            if self.r.random() < common:
                out += self.run_of_common(port, self.r.randrange(4, 40 if common < 0.1 else 160))
                continue
            self.idx += 1
            f = self.uplink_frame() if port == "uplink" else self.pod_frame(port)
            out.append((port, self.idx, f))
        return out


# --- comparison --------------------------------------------------------------

def find_tag(b):
    i = b.find(MAGIC)
    if i < 0 or i + 9 > len(b):
        return None
    return struct.unpack("!I", b[i + 5:i + 9])[0]


def norm_ip(h, what, errs):
    """A header kdp built: its checksum must be right; then its ID and
    checksum are zeroed for the comparison."""
    h = bytearray(h)
    if not csum_ok(bytes(h[:(h[0] & 15) * 4])):
        errs.append("%s: bad header checksum %s" % (what, h[10:12].hex()))
    h[4:6] = b"\0\0"
    h[10:12] = b"\0\0"
    return h


def norm_icmp_error(d, errs):
    """An ICMP error kdp built (from its IP header on): ID, DF and the
    quoted TTL are kdp's choice (RFC 1812 4.3.2.3); the checksums must be
    right."""
    d = bytearray(d)
    d[:20] = norm_ip(d[:20], "ICMP error IP", errs)
    d[6] &= ~0x40 & 0xff
    icmp = d[20:]
    if not csum_ok(bytes(icmp)):
        errs.append("ICMP checksum wrong")
    icmp[2:4] = b"\0\0"
    if len(icmp) >= 8 + 20:
        q = icmp[8:]
        q[8] = 0                  # quoted TTL: as received or decremented
        q[10:12] = b"\0\0"
        icmp[8:] = q
    d[20:] = icmp
    return bytes(d)


def normalize(port, b, kind, errs):
    b = bytearray(b)
    if kind == "arp":
        if len(b) > 42 and b[42:] == b"\0" * (len(b) - 42) and len(b) <= 60:
            b = b[:42]            # padded to the Ethernet minimum, or not
        return bytes(b)
    off = 14
    if port == "uplink" and len(b) >= 34 and b[23] == 4 and b[26:30] == ip_b(A):
        b[14:34] = norm_ip(b[14:34], "IPIP outer", errs)
        off = 34
    if kind == "icmp":
        b[off:] = norm_icmp_error(b[off:], errs)
    return bytes(b)


def classify(port, b):
    """How an actual output frame is to be normalized."""
    if len(b) >= 14 and b[12:14] == b"\x08\x06":
        return "arp"
    off = 14
    if port == "uplink" and len(b) >= 34 and b[23] == 4 and b[26:30] == ip_b(A):
        off = 34
    if len(b) >= off + 21 and b[off + 9] == 1 and b[off + 12:off + 16] == ip_b(A) \
            and b[off + 20] in (3, 11):
        return "icmp"
    return "fwd"


def describe(b):
    try:
        return Ether(b).summary()
    except Exception as e:  # noqa: BLE001
        return "(scapy: %s)" % e


def hexdump(b, limit=96):
    s = " ".join(b[i:i + 32].hex() for i in range(0, min(len(b), limit), 32))
    return s + (" ... (%d B)" % len(b) if len(b) > limit else "")


def compare(seed, frames, preds, res):
    errors = []
    byidx = {idx: (port, f) for port, idx, f in frames}
    preds = {idx: preds[idx] for idx in byidx}

    def show_input(idx):
        port, f = byidx[idx]
        return "  input #%d on %s: %s\n    %s\n  model: %s" % (
            idx, port, describe(f), hexdump(f), preds[idx].summary())

    expect_tagged = {}       # idx -> [(port, norm bytes, raw)]
    expect_untagged = {}     # (port, norm bytes) -> [idx]
    for idx, o in preds.items():
        for port, b, kind in o.frames:
            nb = normalize(port, b, kind, [])
            t = find_tag(b)
            if t is not None:
                expect_tagged.setdefault(idx, []).append((port, nb, b, kind))
            else:
                expect_untagged.setdefault((port, nb), []).append((idx, kind))
    got_icmp = 0
    for port, outs in res.out.items():
        for fr in outs:
            b = bytes(fr)
            kind = classify(port, b)
            ferrs = []
            nb = normalize(port, b, kind, ferrs)
            t = find_tag(b)
            hit = None
            if t is not None and t in expect_tagged:
                for e in expect_tagged[t]:
                    if e[0] == port and e[1] == nb:
                        hit = e
                        break
                if hit:
                    expect_tagged[t].remove(hit)
                    if kind == "icmp":
                        got_icmp += 1
            elif (port, nb) in expect_untagged and expect_untagged[(port, nb)]:
                t, k = expect_untagged[(port, nb)].pop()
                hit = True
                if k == "icmp":
                    got_icmp += 1
            if not hit:
                s = "unexpected output on %s: %s\n    %s" % (port, describe(b), hexdump(b))
                if t is not None and t in byidx:
                    s += "\n" + show_input(t)
                    for e in preds[t].frames:
                        s += "\n  expected on %s: %s\n    %s" % (e[0], describe(e[1]), hexdump(e[1]))
                errors.append(s)
            for e in ferrs:
                errors.append("output on %s: %s: %s" % (port, describe(b), e))
    missing_icmp = 0
    for idx, left in expect_tagged.items():
        for port, nb, raw, kind in left:
            if kind == "icmp":
                missing_icmp += 1      # rate-limited, or wrong: counted below
                continue
            errors.append("missing output on %s: %s\n    %s\n%s" % (
                port, describe(raw), hexdump(raw), show_input(idx)))
    for (port, nb), idxs in expect_untagged.items():
        for idx, kind in idxs:
            if kind == "icmp":
                missing_icmp += 1
                continue
            errors.append("missing output on %s (untagged): %s\n%s" % (
                port, describe(nb), show_input(idx)))

    # Counters.
    st = res.stats
    want_drops = {}
    for o in preds.values():
        if o.drop:
            want_drops[o.drop] = want_drops.get(o.drop, 0) + 1
    got_drops = res.drops()
    if want_drops != got_drops:
        diff = {k: (want_drops.get(k, 0), got_drops.get(k, 0))
                for k in set(want_drops) | set(got_drops)
                if want_drops.get(k, 0) != got_drops.get(k, 0)}
        errors.append("drop counters (reason: model, kdp): %s" % sorted(diff.items()))
    wanted = sum(1 for o in preds.values() if o.icmp_wanted)
    if (st["icmp_sent"], st["icmp_ratelimited"]) != (got_icmp, wanted - got_icmp) or \
            st["icmp_ratelimited"] != missing_icmp:
        errors.append("ICMP errors: model wants %d; matched %d, missing %d; kdp sent %d, "
                      "rate-limited %d" % (wanted, got_icmp, missing_icmp,
                                           st["icmp_sent"], st["icmp_ratelimited"]))
    for what, want in (("punted", sum(1 for o in preds.values() if o.punt)),
                       ("arp_replied", sum(1 for o in preds.values()
                                           for e in o.frames if e[2] == "arp"))):
        if st[what] != want:
            errors.append("%s: model %d, kdp %d" % (what, want, st[what]))
    for port in res.ports:
        rx = sum(1 for p, _, _ in frames if p == port)
        if res.ports[port]["rx"] != rx:
            errors.append("%s rx: kdp %d, fed %d" % (port, res.ports[port]["rx"], rx))
        if res.ports[port]["tx"] != len(res.out[port]):
            errors.append("%s tx: kdp %d, pcap %d" % (port, res.ports[port]["tx"],
                                                      len(res.out[port])))
    return errors


def kdp_run(exe, frames):
    inputs = {}
    for port, _, f in frames:
        inputs.setdefault(port, []).append(f)

    def cfg(c):
        c["policy"] = {"enabled": False}
    return kdprun.run(exe, inputs, cfg_edit=cfg)


def diagnose(exe, seed, frames, preds):
    """Find the frames kdp and the model disagree on, by halving: a run
    of a part whose counters and outputs agree clears it."""
    bad = []

    def walk(part):
        errs = compare(seed, part, preds, kdp_run(exe, part))
        if not errs:
            return
        if len(part) == 1:
            bad.append((part[0], errs))
            return
        walk(part[:len(part) // 2])
        walk(part[len(part) // 2:])
    walk(frames)
    for (port, idx, f), errs in bad:
        print("--- frame #%d on %s: %s\n    %s\n  model: %s" % (
            idx, port, describe(f), hexdump(f, 4096), preds[idx].summary()))
        for e in errs:
            print("  " + e.replace("\n", "\n  "))


def one_run(exe, seed, n, run):
    g = Gen(seed * 1000 + run)
    g.idx = run * 10_000_000
    # Every third run is mostly the express lanes' common case, with the
    # rest of the grammar between long runs of it.
    frames = g.frames(n, 0.15 if run % 3 == 2 else 0.04)
    preds = {idx: model(port, f) for port, idx, f in frames}
    if os.environ.get("FWD_VERBOSE"):
        for port, idx, f in frames:
            print("#%d %s %s -> %s" % (idx, port, describe(f), preds[idx].summary()))
    res = kdp_run(exe, frames)
    errs = compare(seed, frames, preds, res)
    if errs and os.environ.get("FWD_DIAG"):
        diagnose(exe, seed, frames, preds)
    fwd = sum(1 for o in preds.values() if o.frames)
    print("run %d: %d frames, %d with output, %d dropped, %d ICMP errors wanted "
          "(%d sent), express %d" % (
              run, len(frames), fwd, sum(1 for o in preds.values() if o.drop),
              sum(1 for o in preds.values() if o.icmp_wanted), res.stats["icmp_sent"],
              res.stats["express"]), flush=True)
    return errs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    exe = sys.argv[1]
    seed = int(os.environ.get("FWD_SEED", "1"))
    n = int(os.environ.get("FWD_N", "6000"))
    runs = int(os.environ.get("FWD_RUNS", "6"))
    t0 = time.time()
    errs = []
    for run in range(runs):
        e = one_run(exe, seed, n // runs, run)
        if e:
            errs += ["run %d: %s" % (run, x) for x in e]
    print("seed %d, %d frames, %.1f s" % (seed, n, time.time() - t0))
    if errs:
        print("FWD_SEED=%d: %d mismatches" % (seed, len(errs)))
        for e in errs[:int(os.environ.get("FWD_SHOW", "40"))]:
            print(e)
        if not os.environ.get("FWD_DIAG"):
            print("(FWD_SEED=%d FWD_DIAG=1 names the frames behind counter "
                  "mismatches, by halving)" % seed)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
