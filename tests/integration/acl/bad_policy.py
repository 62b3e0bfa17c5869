#!/usr/bin/python3
"""Bad policy input through the file datastore: kdp logs a line naming the
object and keeps the previous version in force.

A good Calico NetworkPolicy x/guard is applied and kdp compiles it for
x/b; then the file is replaced, in turn, with versions holding an invalid
selector, an unknown action, a bad CIDR and a bad port. After each, the
log must name the object, and /kdp/policy must still show the good
version (same policy, same rule count) on x/b.

Usage: bad_policy.py KDP_BINARY
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lib"))
import cluster  # noqa: E402
import kdptel  # noqa: E402

from scapy.all import wrpcap  # noqa: E402


def policy(rules, selector="pod == 'b'"):
    return {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
            "metadata": {"name": "guard", "namespace": "x"},
            "spec": {"selector": selector, "types": ["Ingress"],
                     "ingress": rules}}


GOOD = policy([{"action": "Allow", "protocol": "TCP",
                "source": {"nets": ["10.0.0.0/8"]},
                "destination": {"ports": [80]}},
               {"action": "Deny"}])
BAD = {
    "invalid selector": policy(GOOD["spec"]["ingress"], "pod == "),
    "unknown action": policy([{"action": "Alow"}]),
    "bad CIDR": policy([{"action": "Allow",
                         "source": {"nets": ["10.0.0.300/8"]}}]),
    "bad port": policy([{"action": "Allow", "protocol": "TCP",
                         "destination": {"ports": [70000]}}]),
}


def wait_for(fn, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def main():
    kdp = sys.argv[1]
    d = tempfile.mkdtemp(prefix="kdp_badpol_")
    ds = os.path.join(d, "ds")
    objs = [cluster.node("node-a", "192.168.10.11/24"),
            cluster.pool("p", "10.244.0.0/16"),
            cluster.namespace("x"),
            cluster.block("10.244.1.0/26", "node-a", [(11, "node-a", "x", "b")]),
            cluster.pod("x", "b", "node-a", "10.244.1.11", {"pod": "b"})]
    cluster.write(ds, objs)
    cluster.write(ds, [GOOD], "policy.json")
    for f in ("up_in", "b_in"):
        wrpcap(os.path.join(d, f + ".pcap"), [])
    cfg = {"node": "node-a", "datastore": {"type": "file", "path": ds},
           "uplink": {"devargs": "net_pcap0,rx_pcap=%s/up_in.pcap,tx_pcap=%s/up_out.pcap" % (d, d),
                      "mac": "02:00:00:00:0a:01"},
           "pod_ports": [{"pod": "x/b", "mac": "02:00:00:00:01:02",
                          "devargs": "net_pcap1,rx_pcap=%s/b_in.pcap,tx_pcap=%s/b_out.pcap" % (d, d)}],
           "workers": 1, "conntrack": {"max_flows": 4096}}
    with open(os.path.join(d, "kdp.json"), "w") as f:
        json.dump(cfg, f)
    prefix = "kdpbad%d" % os.getpid()
    logp = os.path.join(d, "kdp.log")
    log = open(logp, "w")
    p = subprocess.Popen([kdp, "-l", "0,1", "--no-pci", "--file-prefix", prefix,
                          "-m", "128", "--", "--config", os.path.join(d, "kdp.json")],
                         stdout=log, stderr=subprocess.STDOUT)
    failures = 0
    try:
        tel = kdptel.Telemetry(prefix, timeout=20)

        def applied():
            pol = tel.cmd("/kdp/policy")
            return pol and pol.get("x/b", {}).get("ingress")

        good = wait_for(applied, "the good policy")
        print("good policy in force:", good)
        if not (len(good) == 1 and good[0].startswith("default/x/guard rules=2")):
            print("FAIL: unexpected /kdp/policy", good)
            failures += 1
        for what, obj in BAD.items():
            mark = os.path.getsize(logp)
            cluster.write(ds, [obj], "policy.json")

            def logged():
                with open(logp) as f:
                    f.seek(mark)
                    return [l for l in f if "guard" in l]
            lines = wait_for(logged, "a log line for " + what)
            print("%s: %s" % (what, lines[0].strip()))
            time.sleep(0.3)  # a wrongly accepted version would republish now
            now = applied()
            if [l.split(" hits=")[0] for l in now] != \
               [l.split(" hits=")[0] for l in good]:
                print("FAIL: %s changed enforcement: %s" % (what, now))
                failures += 1
        # And a good change does go through.
        cluster.write(ds, [policy([{"action": "Deny"}])], "policy.json")
        now = wait_for(lambda: [l for l in (applied() or [])
                                if "rules=1" in l], "the new policy")
        print("new good version applied:", now)
        tel.close()
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=20)
        log.close()
    if rc != 0:
        print("FAIL: kdp exited", rc)
        failures += 1
    if failures:
        print("log kept in", d)
    else:
        shutil.rmtree(d, ignore_errors=True)
        print("bad policy input: all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
