#!/usr/bin/python3
"""Network-policy conformance on a kdp-lab cluster, end to end.

usage: lab_netpol.py SRC_ROOT [--all | --cases K001,K002,...] [--conformance FILE]

A 2-node lab with the standard netpol topology of netpol.json (namespaces
x, y, z labelled ns=<name> and kubernetes.io/metadata.name=<name>; pods a, b,
c in each, labelled pod=<name>, spread over both nodes, each serving TCP and
UDP on 80 and 81). Each case starts with no policies: its cluster_overrides
become label changes, its policies are applied with kubectl (pod-IP
placeholders filled with the lab's own pod IPs), and once both nodes have
published tables that include the last write, every non-loopback TCP/UDP
probe of the case runs (all at once, through 'kdp-lab matrix') and is
compared with 'expect'. Then the policies are deleted, the labels restored,
and the test waits until a pair the case blocked connects again.

Cases whose probes use SCTP are skipped (the lab's pods serve TCP and UDP
only); loopback probes are informative upstream and not run. Without --all a
representative subset runs (every tag family of the file); --all (make soak)
runs every visible case.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SUBSET = [
    "K001",  # default-deny-ingress, empty podSelector
    "K002",  # deny ingress and egress
    "K004",  # two policies: union
    "K005",  # namespaceSelector
    "K007",  # podSelector matchExpressions In
    "K013",  # podSelector AND namespaceSelector in one peer
    "K014",  # numbered port
    "K019",  # named port + namespaceSelector
    "K020",  # named port in an egress rule
    "K026",  # pod label update (cluster_overrides)
    "K031",  # deny-all egress
    "K035",  # protocol-only port, UDP
    "K043",  # egress ipBlock with except (host bits set)
    "K044",  # ingress ipBlock with except
    "K053",  # UDP default deny
    "L059",  # policyTypes omitted: defaulted to Ingress
    "L064",  # policyTypes omitted with egress rules: Ingress+Egress
    "C070",  # endPort
    "C071",  # endPort, UDP
    "D098",  # namespace label update, matchExpressions Exists
    "D104",  # policyTypes omitted, default deny
    "D110",  # ipBlock 0.0.0.0/0 except two pod IPs
]

PORTS = "tcp:80,tcp:81,udp:80,udp:81"


class Lab:
    """The kdp-lab command line, as an operator would use it."""

    def __init__(self, src, d):
        self.cmd = [sys.executable, os.path.join(src, "tests", "lab", "kdp-lab")]
        self.dir = d
        self.env = dict(os.environ, KDP_LAB_DIR=d)

    def __call__(self, *args, input=None, check=True):
        r = subprocess.run(self.cmd + list(args), input=input, env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("kdp-lab %s: %s%s" % (" ".join(args), r.stdout,
                                                      r.stderr))
        return r.stdout

    def ok(self, *args):
        return subprocess.run(self.cmd + list(args), env=self.env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0

    def api(self, op, *args):
        """The stand-in's admin socket (what 'kdp-lab apiserver OP' uses),
        called in-process: two calls per case, no interpreter start-up."""
        return kdplab_cli.admin_call(os.path.join(self.dir, "api"), op, args)


def telemetry(prefix, cmd):
    t = kdptel.Telemetry(prefix, timeout=5)
    try:
        return t.cmd(cmd)
    finally:
        t.close()


def settle(lab, nodes, rv0, timeout=15.0):
    """Wait until every node has published tables built after the last
    write the API server made since rv0 (its CLOCK_MONOTONIC write time
    against kdp's last_change_mono/last_publish_mono). Returns how long
    after the write the slower node published."""
    writes = lab.api("write-times", str(rv0))["writes"]
    if not writes:
        return 0.0
    tw = max(t for _, t in writes)
    end = time.monotonic() + timeout
    lag = 0.0
    for n in nodes:
        while True:
            ds = telemetry(n["prefix"], "/kdp/datastore")
            ch = float(ds["last_change_mono"])
            pub = float(ds["last_publish_mono"])
            if ch >= tw and pub >= ch:
                lag = max(lag, pub - tw)
                break
            if time.monotonic() > end:
                raise RuntimeError("%s did not publish the write at %.3f "
                                   "(change %.3f, publish %.3f)" %
                                   (n["name"], tw, ch, pub))
            time.sleep(0.02)
    return lag


def fill_ips(obj, ips):
    s = json.dumps(obj)
    for key, ip in ips.items():
        s = s.replace("{{podIP:%s}}" % key, ip)
    if "{{podIP:" in s:
        raise RuntimeError("unfilled pod-IP placeholder in %s" % s)
    return json.loads(s)


def label_args(old, new):
    """kubectl label arguments turning label set old into new."""
    args = ["%s=%s" % (k, v) for k, v in sorted(new.items()) if old.get(k) != v]
    return args + ["%s-" % k for k in sorted(old) if k not in new]


def relabel(lab, cluster, overrides, undo=False, check=True):
    """cluster_overrides give complete label sets; undo restores the base."""
    base_ns = {n["name"]: n["labels"] for n in cluster["namespaces"]}
    base_pod = {"%s/%s" % (p["namespace"], p["name"]): p["labels"]
                for p in cluster["pods"]}
    for name, labels in (overrides or {}).get("namespace_labels", {}).items():
        old, new = (labels, base_ns[name]) if undo else (base_ns[name], labels)
        lab("kubectl", "label", "--overwrite", "namespace", name,
            *label_args(old, new), check=check)
    for key, labels in (overrides or {}).get("pod_labels", {}).items():
        ns, name = key.split("/")
        old, new = (labels, base_pod[key]) if undo else (base_pod[key], labels)
        lab("kubectl", "label", "--overwrite", "-n", ns, "pod", name,
            *label_args(old, new), check=check)


def run_case(lab, cluster, nodes, ips, case):
    """Returns (failures, number of probes, publish lag in seconds)."""
    probes = [p for p in case["probes"] if not p.get("loopback")]
    rv0 = lab.api("status")["rv"]
    relabel(lab, cluster, case.get("cluster_overrides"))
    if case["policies"]:
        items = [fill_ips(p, ips) for p in case["policies"]]
        # A stream of JSON objects: one kubectl run per case.
        lab("kubectl", "apply", "-f", "-",
            input="\n".join(json.dumps(i) for i in items))
    lag = settle(lab, nodes, rv0)
    specs = sorted({"%s:%d" % (p["protocol"].lower(), p["port"])
                    for p in probes})
    got = json.loads(lab("matrix", "--json", *specs))
    fails = []
    for p in probes:
        ok = got["%s/%d" % (p["protocol"], p["port"])][p["from"]][p["to"]]
        if ok != p["expect"]:
            fails.append("%s -> %s %s/%d: %s, expected %s" % (
                p["from"], p["to"], p["protocol"], p["port"],
                "connected" if ok else "blocked",
                "to connect" if p["expect"] else "blocked"))
    # Back to no policies; the change must be visible before the next case:
    # both nodes publish it, and a pair this case blocked connects again.
    rv0 = lab.api("status")["rv"]
    lab("kubectl", "delete", "networkpolicies", "--all", "--all-namespaces")
    relabel(lab, cluster, case.get("cluster_overrides"), undo=True)
    settle(lab, nodes, rv0)
    blocked = [p for p in probes if not p["expect"]]
    if blocked:
        p = blocked[0]
        end = time.monotonic() + 10
        while not lab.ok("probe", p["from"], p["to"], p["protocol"].lower(),
                         str(p["port"])):
            if time.monotonic() > end:
                raise RuntimeError("%s -> %s still blocked with no policies"
                                   % (p["from"], p["to"]))
    return fails, len(probes), lag


def visible(case):
    return all(p["protocol"] in ("TCP", "UDP") and p["port"] in (80, 81)
               for p in case["probes"])


def lab_up(lab, cluster):
    lab("up", "--nodes", "2")
    for ns in cluster["namespaces"]:
        lab("kubectl", "create", "namespace", ns["name"])
        lab("kubectl", "label", "--overwrite", "namespace", ns["name"],
            *["%s=%s" % kv for kv in sorted(ns["labels"].items())])
    for p in cluster["pods"]:
        lab("pod", "add", "%s/%s" % (p["namespace"], p["name"]),
            "--labels", ",".join("%s=%s" % kv for kv in p["labels"].items()),
            "--serve", PORTS)
    st = json.loads(lab("status"))
    where = {}
    for k, v in sorted(st["pods"].items()):
        where.setdefault(v["node"], []).append("%s %s" % (k, v["ip"]))
    for n, pods in sorted(where.items()):
        print("%s: %s" % (n, ", ".join(pods)))
    if len(where) != 2:
        raise RuntimeError("pods not spread over both nodes")
    return st


def lab_down(lab, d):
    """Down, and nothing of this lab may be left. Returns the leftovers."""
    lab("down", check=False)
    left = ["%s %s" % x for x in kdplab_lab.Lab(d).leftovers()]
    return left + ([d] if os.path.exists(d) else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--cases", default="")
    ap.add_argument("--conformance",
                    default="/work/shared/conformance/netpol.json")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.src, "tests", "lib"))
    sys.path.insert(0, os.path.join(a.src, "tests", "lab"))
    global kdptel, kdplab_cli, kdplab_lab
    import kdptel
    import kdplab.cli as kdplab_cli
    import kdplab.lab as kdplab_lab
    # meson's timeout sends SIGTERM: unwind so that the lab comes down.
    signal.signal(signal.SIGTERM, lambda sig, f: sys.exit(128 + sig))
    with open(a.conformance) as f:
        conf = json.load(f)
    cluster = conf["cluster"]
    cases = [c for c in conf["cases"] if visible(c)]
    skipped = [c["id"] for c in conf["cases"] if not visible(c)]
    if a.cases:
        cases = [c for c in cases if c["id"] in a.cases.split(",")]
        which = "chosen"
    elif a.all:
        which = "all visible"
    else:
        cases = [c for c in cases if c["id"] in SUBSET]
        which = "subset"
    t0 = time.monotonic()
    d = tempfile.mkdtemp(prefix="kdp-lab-netpol.")
    os.rmdir(d)
    lab = Lab(a.src, d)
    passed = failed = 0
    try:
        st = lab_up(lab, cluster)
        ips = {k: v["ip"] for k, v in st["pods"].items()}
        print("lab up with 9 pods in %.1f s; %d cases (%s); skipped (SCTP "
              "probes): %s" % (time.monotonic() - t0, len(cases), which,
                               ", ".join(skipped)), flush=True)
        for c in cases:
            tc = time.monotonic()
            try:
                fails, n, lag = run_case(lab, cluster, st["nodes"], ips, c)
            except RuntimeError as e:
                # Start the next case clean: no policies, base labels.
                fails, n, lag = [str(e)], 0, 0.0
                lab("kubectl", "delete", "networkpolicies", "--all",
                    "--all-namespaces", check=False)
                relabel(lab, cluster, c.get("cluster_overrides"), undo=True,
                        check=False)
            print("%s %-4s %3d probes %4.1f s (published %3.0f ms after the "
                  "write)  %s" % (c["id"], "ok" if not fails else "FAIL", n,
                                  time.monotonic() - tc, lag * 1000,
                                  c["name"]), flush=True)
            for line in fails[:12]:
                print("    " + line)
            if len(fails) > 12:
                print("    ... %d more" % (len(fails) - 12))
            passed += not fails
            failed += bool(fails)
    finally:
        left = lab_down(lab, d)
        if left:
            print("FAIL: left behind: %s" % left)
            failed += 1
    print("%d passed, %d failed (%.0f s)" % (passed, failed,
                                             time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
