#!/usr/bin/python3
"""Route and rule files for DPDK's l3fwd example (--rule_ipv4/--rule_ipv6).

LPM mode reads route lines only:   R<dst>/<len> <port>
ACL mode reads two kinds of lines; earlier lines have higher priority:
  @<src>/<len> <dst>/<len> <sp_lo> : <sp_hi> <dp_lo> : <dp_hi> <proto>/<mask>
      a deny rule
  R<src>/<len> <dst>/<len> <sp_lo> : <sp_hi> <dp_lo> : <dp_hi> <proto>/<mask> <port>
      a route
IPv6 addresses in ACL files must be written out in full (8 groups).

The ACL sets have N rules of which N-1 are deny rules that overlap the
benchmark traffic in source and destination prefixes but never in the
destination port, and the last one is the route that the traffic hits: every
lookup walks a trie built from realistic, overlapping rules and only matches
at the end. IPv6 gets one /64 route: a /0 makes LPM mode fail.
"""

import argparse
import os
import random
import sys

TRAFFIC_DPORT = 5000        # gen_pcap.py default
TRAFFIC_DST = "198.18.1.0/24"
# The nodes' network (gen_cluster.py): kdp's decap traffic is IPIP to
# node-a, and l3fwd routes the same frames by that outer destination.
UNDERLAY_DST = "192.168.10.0/24"
OUT_PORT = 1                # the net_null sink
V6_ROUTE = "2001:200:0:1:0:0:0:0/64"


def lpm_v4():
    # 198.18.{0..15}.0/24 like l3fwd's built-in table; only ports 0 and 1
    # exist here, and 198.18.1.0/24 (the traffic) goes to the sink, as do
    # the nodes' addresses (l3fwd_lpm_ipip in scenarios/baselines.py).
    return [f"R198.18.{i}.0/24 {i % 2}" for i in range(16)] + \
        [f"R{UNDERLAY_DST} {OUT_PORT}"]


def lpm_v6():
    return [f"R2001:200:0:{i:x}::/64 {i % 2}" for i in range(16)]


def _rand_prefix(rng, base_octets, lo, hi):
    plen = rng.randint(lo, hi)
    a = list(base_octets) + [rng.randrange(256) for _ in range(4 - len(base_octets))]
    v = int.from_bytes(bytes(a), "big")
    v &= (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}/{plen}"


def _deny_dport(rng):
    # A single port or a range, never containing the traffic's port.
    if rng.random() < 0.7:
        while True:
            p = rng.randrange(1, 65536)
            if p != TRAFFIC_DPORT:
                return p, p
    if rng.random() < 0.5:
        lo = rng.randrange(1, TRAFFIC_DPORT - 100)
        return lo, rng.randrange(lo, TRAFFIC_DPORT)
    lo = rng.randrange(TRAFFIC_DPORT + 1, 65000)
    return lo, rng.randrange(lo, 65536)


def acl_v4(n, seed=1):
    if n < 1:
        raise ValueError("rule count must be >= 1")
    rng = random.Random(seed)
    lines = []
    for _ in range(n - 1):
        src = _rand_prefix(rng, (10,), 8, 32)
        dst = _rand_prefix(rng, (198, 18), 16, 32)
        dlo, dhi = _deny_dport(rng)
        proto = rng.choice(("0x6/0xff", "0x11/0xff"))
        lines.append(f"@{src} {dst} 0 : 65535 {dlo} : {dhi} {proto}")
    lines.append(f"R0.0.0.0/0 {TRAFFIC_DST} 0 : 65535 0 : 65535 0x0/0x0 {OUT_PORT}")
    return lines


def acl_v6():
    return [f"R2001:0:0:0:0:0:0:0/16 {V6_ROUTE} 0 : 65535 0 : 65535 0x0/0x0 {OUT_PORT}"]


def write(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def generate(outdir, acl_counts):
    """Write every file into @outdir; return {name: path}."""
    os.makedirs(outdir, exist_ok=True)
    files = {"lpm_v4": lpm_v4(), "lpm_v6": lpm_v6(), "acl_v6": acl_v6()}
    for n in acl_counts:
        files[f"acl_v4_{n}"] = acl_v4(n)
    out = {}
    for name, lines in files.items():
        out[name] = os.path.join(outdir, f"{name}.rules")
        write(out[name], lines)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--acl", type=int, action="append", default=[],
                    help="ACL rule count (repeatable)")
    ap.add_argument("-o", "--outdir", required=True)
    a = ap.parse_args(argv)
    try:
        for name, path in generate(a.outdir, a.acl or [1000, 10000]).items():
            print(f"{name}={path}")
    except ValueError as e:
        print(f"gen_rules: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
