#!/usr/bin/python3
"""A DPDK pod on a kdp with two workers (dp/vhost.c, dp/vport_fast.h).

kdp runs two workers (three lcores on the two cores: --lcores
0@0,1@1,2@0). Its native vhost-user port for x/v has a queue per worker;
the pod, dpdk-testpmd in icmpecho mode, runs one queue pair. Tap pod p1's
tap has a queue per worker too, and the kernel spreads p1's flows over
them, so both workers send to x/v. The test checks:

 - UDP from p1 to x/v on 16 source ports (spread over both tap queues,
   so over both workers): every datagram reaches x/v, none is dropped
   for a full or missing queue. The worker whose queue number the pod
   does not run sends on the pod's one pair; the vhost library locks the
   vring on each enqueue, so two workers may share it;
 - 20 pings p1 -> x/v, and a flood ping of 2,000 from p1 and from p2 at
   once: no loss;
 - the pod goes and comes back: pings again.

Needs root, hugepages and dpdk-testpmd (skips without it).
Usage: vhost_workers.py BUILD_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import podports as pp  # noqa: E402  (its Kdp runner and pod helpers)

check = pp.check
FLOWS = 16
PER_FLOW = 100

SENDER = r"""
import socket, sys, time
dst, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 40000 + i))
    socks.append(s)
for k in range(per):
    for s in socks:
        s.sendto(b"x" * 32, (dst, 9))
    time.sleep(0.002)
"""


def stats(kdp):
    st = kdp.stats()
    return st, st["drop_reasons"]


def udp_spread(kdp, v):
    """16 UDP flows p1 -> x/v: all of them reach the pod's port."""
    tx0 = pp.port_stats(kdp, v["port"]).get("tx", 0)
    _, d0 = stats(kdp)
    r = pp.sh("ip", "netns", "exec", pp.ns_name("p1"), "/usr/bin/python3",
              "-c", SENDER, pp.PODS["v"], str(FLOWS), str(PER_FLOW),
              check_rc=False)
    check(r.returncode == 0, "sent %d UDP datagrams from p1: %s" %
          (FLOWS * PER_FLOW, r.stderr[-300:]))
    time.sleep(0.5)
    tx = pp.port_stats(kdp, v["port"]).get("tx", 0) - tx0
    _, d1 = stats(kdp)
    lost = {k: d1[k] - d0.get(k, 0) for k in ("tx_full", "no_port")
            if d1.get(k, 0) != d0.get(k, 0)}
    check(tx >= FLOWS * PER_FLOW and not lost,
          "%d UDP flows p1 -> x/v over both workers: %d of %d sent to the "
          "pod, drops %s" % (FLOWS, tx, FLOWS * PER_FLOW, lost))


def flood_both():
    procs = [subprocess.Popen(
        ["ip", "netns", "exec", pp.ns_name(p), "ping", "-f", "-c", "2000",
         "-W", "2", pp.PODS["v"]], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for p in ("p1", "p2")]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    loss = [re.search(r"(\d+)% packet loss", o) for o in outs]
    check(all(p.returncode == 0 for p in procs) and
          all(m and m.group(1) == "0" for m in loss),
          "flood pings of 2000 from p1 and p2 to x/v at once, no loss: %s"
          % [o.strip().splitlines()[-2:] for o in outs])


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    if shutil.which("dpdk-testpmd") is None:
        print("skip: dpdk-testpmd not found")
        return 77
    nss = [pp.ns_name(p) for p in ("p1", "p2")]
    for ns in nss:
        pp.sh("ip", "netns", "add", ns)
    d = pp.make_dir("kdp-vhworkers-", workers=2, vhost_ports="native",
                    tap_ports="native")
    # A tx queue per worker on the uplink: a second pcap tx file.
    cfg_path = os.path.join(d, "kdp.json")
    cfg = json.load(open(cfg_path))
    cfg["uplink"]["devargs"] += ",tx_pcap=%s" % os.path.join(d, "up_out1.pcap")
    json.dump(cfg, open(cfg_path, "w"))

    def body(kdp):
        for p in ("p1", "p2"):
            r = kdp.add_tap(p, pp.ns_name(p))
            check(r.get("ok"), "port_add %s: %s" % (p, r))
            if not pp.pod_configured(p):
                pp.pod_net_setup(p)
        v = kdp.api({"op": "port_add", "pod": "x/v", "kind": "vhost-user",
                     "container_id": "cvw"})
        check(v.get("ok"), "vhost-user port x/v: %s" % v)
        if not v.get("ok"):
            return
        for round_ in ("", "after the pod came back: "):
            tp = pp.testpmd_pod(v["socket"], v["mac"], "icmpecho", "tw")
            try:
                ok = any(pp.ping("p1", "v", count=1, wait=1)
                         for _ in range(20))
                check(ok and pp.ping("p1", "v", count=20),
                      round_ + "20 pings p1 -> x/v with two workers")
                if not round_:
                    udp_spread(kdp, v)
                flood_both()
            finally:
                out = pp.stop_pod(tp)
            rx = re.search(r"RX-packets: (\d+)", out)
            print("     pod's testpmd: RX-packets %s" %
                  (rx.group(1) if rx else "?"))
        check(kdp.proc.poll() is None, "kdp runs on")

    return pp.run_one(d, nss, body, lcores=("--lcores", "0@0,1@1,2@0"),
                      prefixes=(pp.PREFIX + "tw",))


if __name__ == "__main__":
    sys.exit(main())
