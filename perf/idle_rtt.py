#!/usr/bin/python3
"""Ping round trips between two kernel pods through an idle kdp.

An idle worker sleeps (config idle_sleep_us, a back-off of 1, 2, 4... us
up to that ceiling). This measures what that costs a kernel pod's ping:
kdp with two native tap pods, an uplink with no traffic, and 200 pings
from p1 to p2 at 200 ms and at 10 ms intervals; then the same from p1 to a
DPDK pod (dpdk-testpmd in icmpecho mode on a vhost-user port); for each
build given and for idle_sleep_us 100 (the default) and 0 (busy polling),
or the values --sleep lists. It prints the share of a core the idle kdp
uses (5 s), the 10th, 50th and 90th percentiles of the round trip, the
worker's sleeps and the sleeps a tap's frame (nat_wakes) or a DPDK pod's
kick (vh_wakes) cut short.

    /usr/bin/python3 perf/idle_rtt.py [--sleep 100,1000,0] BUILD_DIR [BUILD_DIR...]

Needs root and hugepages (it runs tests/integration/dp/podports.py's
helpers).
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
POD = os.path.join(HERE, "..", "tests", "integration", "dp")


def one(build, sleep_us):
    sys.argv[1:] = [build]
    sys.path.insert(0, POD)
    import podports as pp
    pp.BUILD = os.path.abspath(build)
    pp.KDP = os.path.join(pp.BUILD, "dp", "main", "kdp")
    nss = [pp.ns_name(p) for p in ("p1", "p2")]
    for ns in nss:
        pp.sh("ip", "netns", "add", ns, check_rc=False)
    d = pp.make_dir("kdp-idlertt-", tap_ports="native",
                    idle_sleep_us=sleep_us)

    def body(kdp):
        for p in ("p1", "p2"):
            r = kdp.add_tap(p, pp.ns_name(p))
            pp.check(r.get("ok"), "port_add %s: %s" % (p, r))
            pp.pod_net_setup(p)
        pp.ping("p1", "p2", count=3)
        time.sleep(1)
        print("%s idle_sleep_us=%d: idle kdp used %.1f %% of a core (5 s, "
              "/proc/PID/stat)" % (build, sleep_us, cpu_share(kdp.proc.pid,
                                                               5.0)),
              flush=True)
        for interval in ("0.2", "0.01"):
            pings(build, sleep_us, "p2", interval)
        # A DPDK pod: testpmd answering pings on a vhost-user port.
        v = kdp.api({"op": "port_add", "pod": "x/v", "kind": "vhost-user",
                     "container_id": "cv"})
        pp.check(v.get("ok"), "vhost-user port x/v: %s" % v)
        tp = pp.testpmd_pod(v["socket"], v["mac"], "icmpecho", "ir")
        try:
            any(pp.ping("p1", "v", count=1, wait=1) for _ in range(20))
            for interval in ("0.2", "0.01"):
                pings(build, sleep_us, "v", interval)
        finally:
            pp.stop_pod(tp)
        s = kdp.stats()
        print("  idle_sleeps %d nat_wakes %s vh_wakes %s" % (
            s["idle_sleeps"], s.get("nat_wakes", "(none)"),
            s.get("vh_wakes", "(none)")), flush=True)
    return pp.run_one(d, nss, body, prefixes=(pp.PREFIX + "ir",))


def cpu_share(pid, secs):
    """Percent of one core process @p pid used over @p secs."""
    def ticks():
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return int(f[11]) + int(f[12])  # utime, stime
    t0 = ticks()
    time.sleep(secs)
    return (ticks() - t0) * 100.0 / os.sysconf("SC_CLK_TCK") / secs


def pings(build, sleep_us, dst, interval):
    """200 pings from p1 to @p dst; prints the percentiles."""
    import podports as pp
    r = pp.sh("ip", "netns", "exec", pp.ns_name("p1"), "ping", "-c", "200",
              "-i", interval, "-W", "2", pp.PODS[dst], check_rc=False)
    t = sorted(float(x) for x in re.findall(r"time=([\d.]+) ms", r.stdout))
    if not t:
        pp.check(False, "no reply from %s" % dst)
        return
    q = lambda f: t[min(len(t) - 1, int(f * len(t)))]  # noqa: E731
    print("%s idle_sleep_us=%d to %s (%s) interval %s s: %d replies, rtt "
          "p10 %.3f median %.3f p90 %.3f ms" % (
              build, sleep_us, dst, "DPDK pod" if dst == "v" else "kernel pod",
              interval, len(t), q(0.1), q(0.5), q(0.9)), flush=True)


def main():
    args = sys.argv[1:]
    sleeps = [100, 0]
    if len(args) >= 2 and args[0] == "--sleep":
        sleeps = [int(x) for x in args[1].split(",")]
        args = args[2:]
    if not args:
        print(__doc__)
        return 2
    rc = 0
    for build in args:
        for sleep_us in sleeps:
            # a process each: podports keeps module-level state
            rc |= subprocess.run([sys.executable, __file__, "--one", build,
                                  str(sleep_us)]).returncode
    return rc


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        sys.exit(one(sys.argv[2], int(sys.argv[3])))
    sys.exit(main())
