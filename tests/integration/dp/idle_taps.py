#!/usr/bin/python3
"""Idle kernel pods cost a busy worker next to nothing (dp/natpoll.h).

kdp runs one worker, kept busy by an uplink that never runs dry
(net_pcap infinite_rx: IPIP from an unknown node, dropped as
ipip_unknown_node), with 40 idle native tap pods in one network namespace
and two tap pods, p1 and p2, that talk. The test checks:

 - kdp starts under a soft limit of 64 open files (EAL raises it to the
   hard limit): the 42 taps' descriptors and the rest fit;
 - the worker is busy (it never sleeps in the windows below);
 - over a 2 s window, the idle taps are not read: the reads that find a
   queue empty (nat_empty) stay near zero (reading every tap on every
   iteration, as kdp did, makes millions), and epoll_wait() runs at most
   once per DP_NATPOLL_PACE_US (20 us) while busy, not once an iteration;
 - p1 and p2 still talk: 20 pings, then a flood ping of 2,000 with no
   loss, both while the worker is busy;
 - the 40 taps deleted and 40 added again (port ids and descriptor
   numbers reused), p2 deleted and re-added: p1 and p2 still talk, the
   new taps are still not read;
 - idle DPDK pods (dp/vhpoll.h): 8 native vhost-user ports with no pod
   and one, x/v, whose pod is dpdk-testpmd in icmpecho mode. While the
   worker is busy, their empty polls (vh_empty) stay near one per port
   and DP_VHPOLL_PACE_US (10 us), not one per iteration, and p1 pings
   x/v without loss (its first frame after a quiet spell waits for the
   pace at most).

Needs root and hugepages. Usage: idle_taps.py BUILD_DIR
"""
import json
import os
import re
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import podports as pp  # noqa: E402  (its Kdp runner and pod helpers)

MANY = 40
# kdp's hard limit of open files: this process's (raising it needs
# CAP_SYS_RESOURCE, which a container may not have).
HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
WINDOW_S = 2.0
PACE_US = 20
VH_IDLE = 8       # vhost-user ports with no pod
VH_PACE_US = 10   # DP_VHPOLL_PACE_US
check = pp.check


def busy_uplink(d):
    """The uplink reads, forever, IPIP from an address no node has."""
    from scapy.all import Ether, IP, UDP, wrpcap
    path = os.path.join(d, "busy.pcap")
    wrpcap(path, [Ether(dst="02:00:00:00:0a:01", src="02:00:00:00:0b:01") /
                  IP(src="192.0.2.99", dst=pp.cluster.NODE_A_IP, proto=4) /
                  IP(src="10.244.2.5", dst="10.244.1.30") / UDP(dport=9)
                  for _ in range(32)])
    cfg_path = os.path.join(d, "kdp.json")
    cfg = json.load(open(cfg_path))
    cfg["uplink"]["devargs"] = re.sub(r"rx_pcap=[^,]*",
                                      "rx_pcap=%s,infinite_rx=1" % path,
                                      cfg["uplink"]["devargs"])
    json.dump(cfg, open(cfg_path, "w"))


def add_many(kdp, ns):
    errs = []
    for i in range(MANY):
        r = kdp.api({"op": "port_add", "pod": "x/idle%d" % i, "kind": "tap",
                     "ifname": "e%d" % i, "netns": "/var/run/netns/" + ns})
        if not r.get("ok"):
            errs.append(r.get("error"))
    return errs


def window(kdp):
    """nat_waits, nat_empty, vh_empty, idle_sleeps and the busy drops over
    WINDOW_S."""
    s0 = kdp.stats()
    t0 = time.monotonic()
    time.sleep(WINDOW_S)
    s1 = kdp.stats()
    dt = time.monotonic() - t0
    return ({k: s1[k] - s0[k] for k in ("nat_waits", "nat_empty",
                                         "vh_empty", "idle_sleeps")},
            s1["drop_reasons"]["ipip_unknown_node"] -
            s0["drop_reasons"]["ipip_unknown_node"], dt)


def check_idle(kdp, what):
    d, busy, dt = window(kdp)
    print("     %s: %s, %d busy frames in %.2f s" % (what, d, busy, dt))
    check(busy > 0 and d["idle_sleeps"] == 0,
          "%s: the worker is busy (%d uplink frames, %d sleeps)" %
          (what, busy, d["idle_sleeps"]))
    check(d["nat_empty"] < 200,
          "%s: %d taps, %d empty reads in %.1f s (not one per tap and "
          "iteration)" % (what, MANY + 2, d["nat_empty"], dt))
    limit = dt / (PACE_US * 1e-6) * 1.25 + 100
    check(0 < d["nat_waits"] <= limit,
          "%s: %d epoll_wait() in %.1f s, at most %d (one per %d us)" %
          (what, d["nat_waits"], dt, limit, PACE_US))


def check_vhost(kdp, d):
    """Idle DPDK pods under a busy worker (dp/vhpoll.h)."""
    import shutil
    if shutil.which("dpdk-testpmd") is None:
        print("skip the DPDK pods: dpdk-testpmd not found")
        return
    for i in range(VH_IDLE):
        r = kdp.api({"op": "port_add", "pod": "x/vidle%d" % i,
                     "kind": "vhost-user", "container_id": "cvi%d" % i})
        check(r.get("ok"), "vhost-user port x/vidle%d: %s" % (i, r))
    v = kdp.api({"op": "port_add", "pod": "x/v", "kind": "vhost-user",
                 "container_id": "cv"})
    check(v.get("ok"), "vhost-user port x/v: %s" % v)
    if not v.get("ok"):
        return
    tp = pp.testpmd_pod(v["socket"], v["mac"], "icmpecho", "ti")
    try:
        ok = any(pp.ping("p1", "v", count=1, wait=1) for _ in range(20))
        check(ok, "p1 reaches the DPDK pod x/v")
        time.sleep(0.5)
        w, busy, dt = window(kdp)
        nq = VH_IDLE + 1
        limit = nq * dt / (VH_PACE_US * 1e-6) * 1.25 + 1000
        print("     DPDK pods: %s, %d busy frames in %.2f s" % (w, busy, dt))
        check(busy > 0 and w["idle_sleeps"] == 0,
              "DPDK pods: the worker is busy (%d uplink frames)" % busy)
        check(0 < w["vh_empty"] <= limit,
              "%d idle vhost-user queues: %d empty polls in %.1f s, at "
              "most %d (one per queue and %d us, not per iteration)" %
              (nq, w["vh_empty"], dt, limit, VH_PACE_US))
        r = pp.sh("ip", "netns", "exec", pp.ns_name("p1"), "ping", "-c",
                  "20", "-i", "0.05", "-W", "2", pp.PODS["v"],
                  check_rc=False)
        rtt = re.search(r"= [\d.]+/([\d.]+)/", r.stdout)
        check(r.returncode == 0 and " 0% packet loss" in r.stdout,
              "busy worker: 20 pings p1 -> DPDK pod x/v (avg rtt %s ms)" %
              (rtt.group(1) if rtt else "?"))
    finally:
        pp.stop_pod(tp)
    for i in range(VH_IDLE):
        kdp.api({"op": "port_del", "pod": "x/vidle%d" % i})
    kdp.api({"op": "port_del", "pod": "x/v"})


def talk(what):
    r = pp.sh("ip", "netns", "exec", pp.ns_name("p1"), "ping", "-c", "20",
              "-i", "0.05", "-W", "2", pp.PODS["p2"], check_rc=False)
    rtt = re.search(r"= [\d.]+/([\d.]+)/", r.stdout)
    check(r.returncode == 0 and " 0% packet loss" in r.stdout,
          "%s: 20 pings p1 -> p2 (avg rtt %s ms)" %
          (what, rtt.group(1) if rtt else "?"))
    r = pp.sh("ip", "netns", "exec", pp.ns_name("p1"), "ping", "-f", "-c",
              "2000", "-W", "2", pp.PODS["p2"], check_rc=False)
    loss = re.search(r"(\d+)% packet loss", r.stdout)
    check(r.returncode == 0 and loss and loss.group(1) == "0",
          "%s: flood ping of 2000 p1 -> p2, no loss (%s)" %
          (what, r.stdout.strip().splitlines()[-2:] if r.stdout else r.stderr))


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    nss = [pp.ns_name(p) for p in ("p1", "p2", "idle")]
    for ns in nss:
        pp.sh("ip", "netns", "add", ns)
    d = pp.make_dir("kdp-idletaps-", tap_ports="native",
                    max_api_ports=MANY + VH_IDLE + 8, idle_sleep_us=100)
    busy_uplink(d)

    def body(kdp):
        for p in ("p1", "p2"):
            r = kdp.add_tap(p, pp.ns_name(p))
            check(r.get("ok"), "port_add %s: %s" % (p, r))
            pp.pod_net_setup(p)
        errs = add_many(kdp, pp.ns_name("idle"))
        check(not errs, "%d idle tap pods added under a soft limit of 64 "
              "open files: %s" % (MANY, errs[:2]))
        fds = len(os.listdir("/proc/%d/fd" % kdp.proc.pid))
        check(fds > 64, "started with a soft limit of 64 open files, kdp "
              "holds %d descriptors" % fds)
        time.sleep(1.0)  # their link-up chatter (IPv6 DAD, RS) passes
        check_idle(kdp, "busy worker")
        talk("busy worker")
        check_vhost(kdp, d)

        # Ids and descriptors reused: the 40 go and come back, p2 too.
        for i in range(MANY):
            kdp.api({"op": "port_del", "pod": "x/idle%d" % i})
        r = kdp.api({"op": "port_del", "pod": "x/p2"})
        check(r.get("ok"), "port_del p2: %s" % r)
        errs = add_many(kdp, pp.ns_name("idle"))
        r = kdp.add_tap("p2", pp.ns_name("p2"))
        check(not errs and r.get("ok"), "re-added: %s %s" % (errs[:2], r))
        pp.pod_net_setup("p2")
        time.sleep(1.0)
        check_idle(kdp, "after re-adding")
        talk("after re-adding")

    # A soft limit of 64 open files, as tight as 1024 is for 110 pods on
    # 8 workers (each tap holds a descriptor per worker): DPDK's EAL
    # raises the soft limit to the hard one at init, kdp counts on it.
    return pp.run_one(d, nss, body, ["prlimit", "--nofile=64:%d" % HARD],
                      prefixes=(pp.PREFIX + "ti",))


if __name__ == "__main__":
    sys.exit(main())
