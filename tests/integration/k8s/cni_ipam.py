#!/usr/bin/python3
"""kdp-cni IPAM against the API server stand-in: concurrent ADDs, release,
block exhaustion and claims, two nodes racing, the IPIP tunnel address."""

import ipaddress
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from cnilib import (CRD, KDP_CNI, Plugin, blocks, check_result, harness,
                    holders, make_pod, setup_cluster)


def ipam(lab, *args):
    r = subprocess.run([KDP_CNI, "ipam", *args, "--kubeconfig",
                        lab.path("kubeconfig")], capture_output=True,
                       text=True, timeout=120)
    return r.returncode, r.stdout.strip(), r.stderr


def affine(c, node):
    return sorted((b["spec"]["cidr"] for b in blocks(c)
                   if b["spec"].get("affinity") == "host:" + node),
                  key=ipaddress.ip_network)


def run(lab, kdp, nets, tmp):
    c = lab.client()
    setup_cluster(c, ["node-a", "node-c", "node-d", "node-e", "node-x"],
                  pools=[("pool-a", "10.244.0.0/16", "Always", "all()"),
                         ("pool-x", "10.250.0.0/24", "Never",
                          "kubernetes.io/hostname == 'node-x'")])
    pl = Plugin(lab, kdp.path, os.path.join(tmp, "share"))

    # 20 concurrent ADDs on one node: distinct addresses, one block.
    procs = []
    for i in range(20):
        make_pod(c, f"p{i}")
        ns = nets.new(f"p{i}")
        procs.append((ns, pl.start("ADD", f"cc{i}", ns, f"default/p{i}")))
    ips = []
    for i, (ns, p) in enumerate(procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (i, out, err)
        ips.append(check_result(json.loads(out), "1.0.0", "eth0", ns))
    assert len(set(ips)) == 20, ips
    h = holders(c)
    assert {h[ip][0] for ip in ips} == {f"k8s-pod-network.cc{i}"
                                         for i in range(20)}
    assert affine(c, "node-a") == ["10.244.0.0/26"], affine(c, "node-a")
    aff = c.must("GET", CRD + "/blockaffinities")["items"]
    assert [(a["metadata"]["name"], a["spec"]["state"], a["spec"]["node"])
            for a in aff] == [("node-a-10-244-0-0-26", "confirmed",
                               "node-a")], aff

    # DEL releases exactly that address: back at the end of "unallocated"
    # (Calico's order), so it is not handed out again at once.
    rc, o, err = pl.run("DEL", "cc3", None, "default/p3")
    assert rc == 0, (o, err)
    assert ips[3] not in holders(c) and len(holders(c)) == 19
    spec = blocks(c)[0]["spec"]
    assert spec["unallocated"][-1] == int(ips[3].split(".")[-1]), spec
    rc, ip, err = ipam(lab, "alloc", "--node", "node-a", "--handle", "x1")
    assert rc == 0 and ip not in ips, (ip, err)

    # Exhaustion: 64 addresses fill node-c's block; the 65th claims a new
    # one, and the handle is idempotent.
    got = [ipam(lab, "alloc", "--node", "node-c", "--handle", f"c{i}")
           for i in range(65)]
    assert all(r[0] == 0 for r in got), [r for r in got if r[0]][:1]
    cips = [r[1] for r in got]
    assert len(set(cips)) == 65
    assert len(affine(c, "node-c")) == 2, affine(c, "node-c")
    first, second = [ipaddress.ip_network(n) for n in affine(c, "node-c")]
    assert sum(ipaddress.ip_address(i) in first for i in cips) == 64
    assert ipaddress.ip_address(cips[64]) in second
    assert ipam(lab, "alloc", "--node", "node-c", "--handle", "c5")[1] == \
        cips[5]
    rc, n, _ = ipam(lab, "release", "--handle", "c5")
    assert rc == 0 and n == "1", n
    rc, n, _ = ipam(lab, "release", "--handle", "c5")
    assert rc == 0 and n == "0", n

    # Two nodes claiming at once never share a block.
    def alloc(args):
        return ipam(lab, "alloc", "--node", args[0], "--handle", args[1])
    jobs = [(n, f"{n}-{i}") for i in range(8) for n in ("node-d", "node-e")]
    with ThreadPoolExecutor(len(jobs)) as ex:
        res = list(ex.map(alloc, jobs))
    assert all(r[0] == 0 for r in res), [r for r in res if r[0]]
    d, e = set(affine(c, "node-d")), set(affine(c, "node-e"))
    assert d and e and not d & e, (d, e)
    for ip, (handle, sec, affinity) in holders(c).items():
        if handle.startswith(("node-d-", "node-e-")):
            assert affinity == "host:" + sec["node"], (ip, handle, affinity)
            assert handle.startswith(sec["node"]), (handle, sec)

    # U+0000 in a block someone else wrote: the plugin reads it whole
    # (cJSON alone would cut "x\0y" to "x") and will not write the block
    # back with anything else in its place.
    path = CRD + "/ipamblocks/" + affine(c, "node-d")[0].replace(
        ".", "-").replace("/", "-")
    b = c.must("GET", path)
    b["spec"]["attributes"][0]["secondary"]["note"] = "x\x00y"
    c.must("PUT", path, b)
    before = c.must("GET", path)
    rc, _, err = ipam(lab, "alloc", "--node", "node-d", "--handle", "nul")
    assert rc != 0 and "U+0000" in err and '"note"' in err, (rc, err)
    after = c.must("GET", path)
    assert after["spec"] == before["spec"], after["spec"]
    assert after["spec"]["attributes"][0]["secondary"]["note"] == "x\x00y"
    del b["spec"]["attributes"][0]["secondary"]["note"]
    b["metadata"] = after["metadata"]
    c.must("PUT", path, b)
    rc, ip, err = ipam(lab, "alloc", "--node", "node-d", "--handle", "nul")
    assert rc == 0 and ipaddress.ip_address(ip) in ipaddress.ip_network(
        affine(c, "node-d")[0]), (ip, err)

    # Pool nodeSelector: pool-x serves node-x only, so nobody else got a
    # 10.250 block.
    assert not [b for b in blocks(c) if b["spec"]["cidr"].startswith(
        "10.250.") and b["spec"]["affinity"] != "host:node-x"]

    # IPIP tunnel address: IPIP pools only, node annotated, idempotent.
    rc, tip, err = ipam(lab, "tunnel-addr", "--node", "node-x")
    assert rc == 0, err
    assert ipaddress.ip_address(tip) in ipaddress.ip_network("10.244.0.0/16")
    hh = holders(c)[tip]
    assert hh[0] == "ipip-tunnel-addr-node-x" and hh[1] == {
        "node": "node-x", "type": "ipipTunnelAddress"}, hh
    node = c.must("GET", "/api/v1/nodes/node-x")
    assert node["metadata"]["annotations"][
        "projectcalico.org/IPv4IPIPTunnelAddr"] == tip
    assert ipam(lab, "tunnel-addr", "--node", "node-x")[1] == tip

    # No pool for a node: a clear failure, no block created.
    c.must("PATCH", CRD + "/ippools/pool-a",
           {"spec": {"nodeSelector": "kubernetes.io/hostname == 'zzz'"}},
           ctype="application/merge-patch+json")
    nblocks = len(blocks(c))
    rc, _, err = ipam(lab, "alloc", "--node", "node-e", "--handle", "nope")
    assert rc != 0 and "no enabled IPv4 pool" in err, err
    assert len(blocks(c)) == nblocks


if __name__ == "__main__":
    harness(run, "cni ipam")
