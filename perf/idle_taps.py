#!/usr/bin/python3
"""What idle kernel pods cost a busy worker.

A node's kernel pods are native taps (dp/vport.h), polled by the worker
that owns their queue. Most of them are idle most of the time, but the
worker must notice their next frame. This runs a kdp scenario (encap by
default: pod-a1's pcap traffic out of the uplink, one worker), adds N
tap pods through the pod-port API (idle: their interfaces sit in a
network namespace of their own, with no address), and measures the
scenario's rate and the worker's on-CPU ns a packet, for each N:

    /usr/bin/python3 perf/idle_taps.py [--taps 0,25,50,100] [--rounds 3]
                                       [--scenario encap] [--interval 2]
                                       [--kind tap|vhost-user]

--kind vhost-user adds vhost-user ports instead, each with an idle DPDK
pod connected (testpmd rxonly over virtio-user, on core 0).

Each round runs every N once (the order reversed on odd rounds, like
bench.py); prints the median Mpps and ns a packet per N, and the cost of
the taps as ns a packet over N = 0. Needs root and hugepages, like
`make bench`; `KDP_BIN` picks the build.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

import kdpapi  # noqa: E402
import runner  # noqa: E402
from scenarios.baselines import TESTPMD  # noqa: E402
from scenarios import kdp as kdpsc  # noqa: E402
from scenarios.baselines import Ctx  # noqa: E402


def api(sock, req):
    return kdpapi.call(sock, req, timeout=20.0)


def vhost_pod(i, sock, mac):
    """An idle DPDK pod: testpmd rxonly over virtio-user on core 0."""
    return subprocess.Popen(
        [TESTPMD, "--lcores", "0@%d,1@%d" % (runner.MAIN_CORE, runner.MAIN_CORE),
         "--file-prefix", "kdpidle-pod%d-%d" % (i, os.getpid()), "--in-memory",
         "--single-file-segments", "-m", "64", "--no-pci",
         "--log-level", "lib.eal:error",
         "--vdev", "net_virtio_user0,path=%s,mac=%s,queues=1" % (sock, mac),
         "--", "--forward-mode=rxonly", "--nb-cores=1", "--auto-start",
         "--total-num-mbufs=2048", "--stats-period=0"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)


def link_up(tel, port):
    """Is vhost-user port @port's pod connected? An ethdev's link status
    ("vhost_ports": "pmd"), or a native port's /kdp/ports "link"."""
    if port < 32:
        return (tel.query("/ethdev/link_status,%d" % port) or {}).get(
            "status") == "UP"
    p = (tel.query("/kdp/ports,%d" % port) or {}).get("ports", {})
    return p.get("port%d" % port, {}).get("link") == "up"


def launch(scenario, taps, netns, tmp, interval, kind="tap", pods=None):
    """The scenario's Launch, with an API socket of its own and a ready
    hook that adds @taps idle pods: tap pods into @netns, or vhost-user
    ports each with a testpmd pod (appended to @pods) connected."""
    ln = kdpsc.SCENARIOS[scenario](Ctx(size=64, flows=256))
    cfg_path = ln.cmd[ln.cmd.index("--config") + 1]
    with open(cfg_path) as f:
        cfg = json.load(f)
    sock = os.path.join(tmp, "kdp.sock")
    cfg["api_socket"] = sock
    cfg["state_dir"] = os.path.join(tmp, "state")
    cfg["vhost_dir"] = os.path.join(tmp, "vhost")
    cfg["max_api_ports"] = max(taps, 1, int(os.environ.get("KDP_MAX_API", "0")))
    path = os.path.join(tmp, "kdp.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    ln.cmd[ln.cmd.index("--config") + 1] = path

    def ready(tel):
        t0 = time.monotonic()
        ids = []
        for i in range(taps):
            req = {"op": "port_add", "pod": "idle/p%d" % i, "kind": kind}
            if kind == "tap":
                req.update({"ifname": "e%d" % i,
                            "netns": "/var/run/netns/" + netns})
            else:
                req["container_id"] = "idle%d" % i
            r = api(sock, req)
            if not r.get("ok"):
                raise runner.MeasureError("port_add %d: %s" % (i, r))
            if kind == "vhost-user":
                pods.append(vhost_pod(i, r["socket"], r["mac"]))
                ids.append(r["port"])
        if kind == "vhost-user":
            # Connected: every pod's queue is ready on kdp's side.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                up = sum(1 for i in ids if link_up(tel, i))
                if up == taps:
                    break
                time.sleep(0.5)
            else:
                raise runner.MeasureError("%d of %d pods connected" %
                                          (up, taps))
        n = sum(p["pod"].startswith("idle/")
                for p in api(sock, {"op": "port_list"})["ports"])
        if n != taps:
            raise runner.MeasureError("%d API ports, not %d" % (n, taps))
        # Let the kernel's link-up chatter (IPv6 DAD, router
        # solicitations) pass before the window opens.
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))

    ln.ready = ready
    return ln


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taps", default="0,25,50,100")
    ap.add_argument("--kind", default="tap", choices=["tap", "vhost-user"],
                    help="idle pods: native taps, or vhost-user ports with "
                    "an idle testpmd pod each")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", default="encap", choices=sorted(kdpsc.SCENARIOS))
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--interval", type=float, default=2.0)
    a = ap.parse_args(argv)
    counts = [int(x) for x in a.taps.split(",")]
    netns = "kdpidle%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", netns], check=True)
    res = {n: [] for n in counts}
    try:
        for r in range(a.rounds):
            for n in (counts if r % 2 == 0 else counts[::-1]):
                pods = []
                try:
                    with tempfile.TemporaryDirectory(prefix="kdpidle") as tmp:
                        ln = launch(a.scenario, n, netns, tmp, a.interval,
                                    a.kind, pods)
                        log = os.path.join(runner.OUT, "logs", "idle_taps_%d.log" % n)
                        m = runner.measure(ln, a.warmup, a.interval, log)
                finally:
                    for p in pods:
                        p.kill()
                        p.wait()
                res[n].append(m)
                print("round %d taps %3d: %.3f Mpps, %.1f ns/pkt" %
                      (r, n, m["mpps"], m.get("nspp", 0)), flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", netns])
    base = statistics.median(x.get("nspp", 0) for x in res[counts[0]])
    print("\n| idle taps | Mpps (median) | on-CPU ns/pkt (median) | ns/pkt over %d taps |" % counts[0])
    print("|---|---|---|---|")
    for n in counts:
        mp = statistics.median(x["mpps"] for x in res[n])
        ns = statistics.median(x.get("nspp", 0) for x in res[n])
        print("| %d | %.2f | %.1f | %+.1f |" % (n, mp, ns, ns - base))
    for n in counts:
        print("idle_taps_%d_mpps=%.3f" % (n, statistics.median(x["mpps"] for x in res[n])))
        print("idle_taps_%d_nspp=%.2f" % (n, statistics.median(x.get("nspp", 0) for x in res[n])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
