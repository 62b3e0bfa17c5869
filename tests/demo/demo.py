#!/usr/bin/python3
"""The kdp demo: see demo.sh. usage: demo.py KDP_BINARY"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import twonode  # noqa: E402
from twonode import POD_Y  # noqa: E402

NBYTES = 4 * 1024 * 1024
STAT_KEYS = ("rx", "tx", "ipip_encap", "ipip_decap", "arp_replied", "drops")


def step(msg):
    print("\n\033[1m== %s\033[0m" % msg, flush=True)


def show(cmd, lines):
    print("$ " + cmd)
    for line in lines:
        print("  " + line)


def telemetry(prefix, cmd):
    """Ask a running kdp with DPDK's own client, as an operator would. Off
    a terminal it prints one JSON object per command."""
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=10)
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)[cmd]
    raise RuntimeError("dpdk-telemetry.py -f %s: %s" % (prefix, r.stdout))


def main():
    t0 = time.time()
    step("set-up: bridge underlay, two kdp nodes (AF_XDP uplinks), tap pods")
    with twonode.TwoNode(sys.argv[1], log=print) as t:
        a, b = t.a, t.b
        for n in t.nodes:
            print("  %s  %s uplink %s (AF_XDP)  pod %s %s in netns %s (tap %s)"
                  % (n.name, n.node_ip, n.uplink, n.pod, n.pod_ip, n.netns,
                     n.tap))
        show("ip -n %s route   # x/a's view" % a.netns,
             a.ns("ip", "route").stdout.splitlines())

        t.start_capture()
        step("ping x/a (node-a) -> y/a (node-b)")
        r = t.ping(a, POD_Y, count=3)
        show("ip netns exec %s ping -c 3 %s" % (a.netns, POD_Y),
             r.stdout.strip().splitlines())
        if r.returncode != 0:
            raise RuntimeError("ping failed")
        print("  (the first echoes wait in kdp while it resolves the other "
              "node and the pods by ARP)")

        step("TCP: %d MiB from x/a to y/a" % (NBYTES >> 20))
        got, same, secs = t.tcp_transfer(a, b, NBYTES)
        print("  received %d of %d bytes, sha256 %s, %.2f s (%.0f Mbit/s)"
              % (got, NBYTES, "matches" if same else "DIFFERS", secs,
                 got * 8 / secs / 1e6))
        if got != NBYTES or not same:
            raise RuntimeError("TCP transfer incomplete")
        lines = t.stop_capture()

        step("tcpdump on the underlay bridge (ip proto 4): %d IPIP packets"
             % len(lines))
        tcp = [ln for ln in lines if "Flags" in ln]
        show("ip netns exec %s tcpdump -nn -i br0 ip proto 4" % t.underlay,
             lines[:6] + ["..."] + tcp[len(tcp) // 2:len(tcp) // 2 + 4])

        for n in t.nodes:
            step("%s: /kdp/stats and /kdp/neighbors" % n.name)
            st = telemetry(n.prefix, "/kdp/stats")
            lines = ["%-11s %s" % (k, st[k]) for k in STAT_KEYS]
            lines += ["%s %-12s %-6s rx %-6s tx %s" % (p, v["name"],
                                                     v["role"], v["rx"],
                                                     v["tx"])
                      for p, v in sorted(st["ports"].items())]
            show("echo /kdp/stats | dpdk-telemetry.py -f %s   # excerpt"
                 % n.prefix, lines)
            show("echo /kdp/neighbors | dpdk-telemetry.py -f %s" % n.prefix,
                 telemetry(n.prefix, "/kdp/neighbors"))
        step("tear-down")
    left = t.leftovers()
    codes = ", ".join("%s exit %s" % (n.name, n.exit_code) for n in t.nodes)
    print("  kdp: %s; left behind: %s" % (codes, left or "nothing"))
    print("\ndemo done in %.1f s" % (time.time() - t0))
    return 1 if left or any(n.exit_code for n in t.nodes) else 0


if __name__ == "__main__":
    sys.exit(main())
