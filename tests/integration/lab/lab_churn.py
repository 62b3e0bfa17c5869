#!/usr/bin/python3
"""kdp-lab pod churn: CYCLES pod add/del cycles on node-1 (as kubelet does
them: a netns, kdp-cni ADD, kdp-cni DEL, netns gone; tap and vhost-user
pods in turn) while a sequenced UDP stream flows from a kernel pod on
node-1 to one on node-2 (IPIP). The stream loses nothing, and afterwards
nothing has leaked: kdp's ports and endpoints, its mbufs and file
descriptors, the IPAM blocks' allocations, the node's links, the vhost
sockets and share files, the pod netns.

    lab_churn.py [CYCLES]     (default 200)
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtraffic as lt  # noqa: E402
from labtraffic import check  # noqa: E402

RATE = 500           # datagrams/s of the stream across the churn
MBUF_SLACK = 64      # in-flight mbufs of the stream itself
FD_SLACK = 3


def ipam(L):
    """{ip: handle} of every allocation, and per-block consistency."""
    blocks = json.loads(L.lab.kubectl("get", "ipamblocks", "-o",
                                      "json").stdout)["items"]
    out, bad = {}, []
    for b in blocks:
        spec = b["spec"]
        net, plen = spec["cidr"].split("/")
        base = sum(int(x) << (24 - 8 * i) for i, x in enumerate(net.split(".")))
        alloc, attrs = spec["allocations"], spec.get("attributes") or []
        used = [i for i, a in enumerate(alloc) if a is not None]
        if len(attrs) != len(used) or \
                len(used) + len(spec.get("unallocated") or []) != len(alloc):
            bad.append(b["metadata"]["name"])
        for o in used:
            ip = base + o
            out["%d.%d.%d.%d" % (ip >> 24, ip >> 16 & 255, ip >> 8 & 255,
                                 ip & 255)] = attrs[alloc[o]]["handle_id"]
    return out, bad


def fd_kind(pid, fd):
    try:
        t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
    except OSError:
        return "gone"
    return t.split(":")[0] + ":" if ":[" in t else t


def snapshot(L, node):
    n = L.node(node)
    st = L.stats(node)
    ctl = subprocess.run([os.path.join(lt.ROOT, "build", "kdp-ctl"),
                          "--socket", os.path.join(n["dir"], "kdp.sock"),
                          "port", "list"], stdout=subprocess.PIPE,
                         text=True)
    links = subprocess.run(["ip", "netns", "exec", n["netns"], "ip", "-o",
                            "link", "show"], stdout=subprocess.PIPE,
                           text=True).stdout
    return {
        "ethdevs": sorted(v["role"] + "/" + v["name"]
                          for v in st["ports"].values()),
        "endpoints": sorted(L.tel(node, "/kdp/endpoints")),
        "api_ports": sorted(p["pod"] for p in
                            json.loads(ctl.stdout)["ports"]),
        "mbufs_in_use": st["mbufs_in_use"],
        "fds": sorted(fd_kind(n["pid"], f)
                      for f in os.listdir("/proc/%d/fd" % n["pid"])),
        "links": sorted(ln.split(":")[1].strip().split("@")[0]
                        for ln in links.splitlines()),
        "vhost": sorted(os.listdir(os.path.join(n["dir"], "vhost")))
        if os.path.isdir(os.path.join(n["dir"], "vhost")) else [],
        "share": sorted(os.listdir(os.path.join(n["dir"], "vhost-share")))
        if os.path.isdir(os.path.join(n["dir"], "vhost-share")) else [],
        "ipam": ipam(L)[0],
    }


def churn(L, cycles, node, first=0):
    """CNI ADD/DEL cycles of two Pods (tap, vhost-user) on @node."""
    n = L.node(node)
    for name, kind in (("ct", "tap"), ("cv", "vhost-user")):
        ann = {"kdp.io/port-kind": kind} if kind != "tap" else {}
        L.lab.apply({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": name, "namespace": "x",
                                  "annotations": ann},
                     "spec": {"nodeName": node,
                              "containers": [{"name": "c", "image": "lab"}]}})
    seen, netns_made, errors = set(), [], []
    for i in range(first, first + cycles):
        name = ("ct", "cv")[i % 2]
        pod = {"key": "x/" + name, "cid": "churn-%d-%d" % (os.getpid(), i),
               "netns": "klp-churn%x" % (os.getpid() * 1000 + i)}
        subprocess.run(["ip", "netns", "add", pod["netns"]], check=True)
        netns_made.append(pod["netns"])
        try:
            res = L.lab._cni(n, pod, "ADD")
            seen.add(res["ips"][0]["address"])
        except SystemExit as e:
            errors.append("ADD %d: %s" % (i, e))
        try:
            L.lab._cni(n, pod, "DEL")
        except SystemExit as e:
            errors.append("DEL %d: %s" % (i, e))
        subprocess.run(["ip", "netns", "del", pod["netns"]], check=True)
    return seen, netns_made, errors


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with lt.LabRun() as L:
        L.pod_add("x/s", "node-1")
        L.pod_add("x/r", "node-2")
        # Two cycles first: kdp's vhost-user library opens its event pipe
        # once, with the first vhost-user port.
        warm = churn(L, 2, "node-1")
        check(not warm[2], "warm-up cycles %s" % warm[2])
        before = snapshot(L, "node-1")
        ipam_before, _ = ipam(L)
        rx = L.tool("x/r", "seqrecv", 6000, 3)
        tx = L.tool("x/s", "seqsend", L.pod("x/r")["ip"], 6000, RATE)
        try:
            time.sleep(0.5)
            t0 = time.monotonic()
            seen, made, errors = churn(L, cycles, "node-1", first=2)
            secs = time.monotonic() - t0
            time.sleep(0.5)
        finally:
            sent = lt.tool_result(tx)["sent"]
            got = lt.tool_result(rx)
        print("churn: %d cycles in %.1f s (%.0f ms/cycle), %d distinct IPs; "
              "stream: sent %d, received %d, missing %d" %
              (cycles, secs, 1000 * secs / cycles, len(seen), sent,
               got["received"], got["missing"]), flush=True)
        check(not errors, "every CNI ADD/DEL succeeded %s" % errors[:3])
        check(got["received"] == sent and got["missing"] == 0,
              "stream across the churn: received %d of %d, %d missing" %
              (got["received"], sent, got["missing"]))
        time.sleep(0.5)
        after = snapshot(L, "node-1")
        for k in before:
            if k == "mbufs_in_use":
                check(abs(after[k] - before[k]) <= MBUF_SLACK,
                      "mbufs in use: %d before, %d after" %
                      (before[k], after[k]))
            elif k == "fds":
                extra = list(after[k])
                for f in before[k]:
                    if f in extra:
                        extra.remove(f)
                # Slack: telemetry clients (ours) and the datastore's
                # API connections come and go; a per-cycle leak is >= CYCLES.
                check(len(after[k]) <= len(before[k]) + FD_SLACK,
                      "kdp's open fds: %d before, %d after %s" %
                      (len(before[k]), len(after[k]), extra))
            else:
                check(after[k] == before[k], "%s back to the start: %s" %
                      (k, after[k] if after[k] == before[k] else
                       "%s -> %s" % (before[k], after[k])))
        alloc, bad = ipam(L)
        live = {L.pod(k)["ip"] for k in ("x/s", "x/r")}
        check(alloc == ipam_before and live <= set(alloc) and
              all(h.startswith("ipip-tunnel-addr-") for ip, h in
                  alloc.items() if ip not in live),
              "IPAM holds only the live pods and tunnel addresses: %s" %
              alloc)
        check(not bad, "IPAM blocks consistent (attributes, unallocated) %s"
              % bad)
        ns = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE,
                            text=True).stdout.split()
        check(not set(made) & set(ns), "no churn netns left")
    return lt.verdict("lab churn")


if __name__ == "__main__":
    sys.exit(main())
