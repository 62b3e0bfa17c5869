#!/usr/bin/python3
"""kdp-cni IPAM against the API server stand-in: concurrent ADDs, release,
block exhaustion and claims, two nodes racing, the IPIP tunnel address;
then, on a pool of two blocks, borrowing from another node's block and the
IPAMConfig fields that rule it (strictAffinity, autoAllocateBlocks,
maxBlocksPerHost)."""

import ipaddress
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

from cnilib import (CRD, KDP_CNI, Plugin, block_path, blocks, check_error,
                    check_result, fill_block, harness, holders, make_pod,
                    setup_cluster)


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


IPAMCONFIG = CRD + "/ipamconfigs"


def ipam_config(c, spec):
    """Replace IPAMConfig "default" by one with @p spec (None: none)."""
    c.must("DELETE", IPAMCONFIG + "/default", want=(200, 404))
    if spec is not None:
        c.must("POST", IPAMCONFIG, {
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPAMConfig",
            "metadata": {"name": "default"}, "spec": spec})


def borrow(lab, kdp, nets, tmp):
    """A /25 pool holds two /26 blocks: once node-a and node-b each have
    one, node-a gets no new block, and borrows from node-b's."""
    c = lab.client()
    setup_cluster(c, ["node-a", "node-b", "node-x"],
                  pools=[("tiny", "10.99.0.0/25", "Always", "all()"),
                         ("x-only", "10.98.0.0/26", "Always",
                          "kubernetes.io/hostname == 'node-x'")])
    pl = Plugin(lab, kdp.path, os.path.join(tmp, "share"))
    assert ipam(lab, "alloc", "--node", "node-a", "--handle", "a0")[0] == 0
    assert ipam(lab, "alloc", "--node", "node-b", "--handle", "b0")[0] == 0
    assert ipam(lab, "alloc", "--node", "node-x", "--handle", "x0")[0] == 0
    A, B, X = "10.99.0.0/26", "10.99.0.64/26", "10.98.0.0/26"
    assert affine(c, "node-a") == [A] and affine(c, "node-b") == [B] and \
        affine(c, "node-x") == [X], (affine(c, "node-a"), affine(c, "node-b"))
    assert fill_block(c, A, "node-a") == 63
    n = [0]

    def add():
        n[0] += 1
        i = n[0]
        make_pod(c, f"q{i}")
        ns = nets.new(f"q{i}")
        return (f"bc{i}", ns, f"default/q{i}",
                *pl.run("ADD", f"bc{i}", ns, f"default/q{i}"))

    def in_block(ip, cidr):
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)

    def claims():
        return sorted(b["spec"]["cidr"] for b in blocks(c))

    before = claims()

    # Borrowed: an address of node-b's block, held by node-a's pod.
    cid, ns, pod, rc, out, err = add()
    assert rc == 0, (out, err)
    ip = check_result(out, "1.0.0", "eth0", ns)
    handle, sec, aff = holders(c)[ip]
    assert in_block(ip, B) and aff == "host:node-b", (ip, aff)
    assert handle == "k8s-pod-network." + cid, handle
    assert sec["node"] == "node-a" and sec["pod"] == "q1", sec
    assert claims() == before and affine(c, "node-a") == [A]
    # Idempotent: the same ADD again finds the borrowed address.
    rc, out, err = pl.run("ADD", cid, ns, pod)
    assert rc == 0 and out["ips"][0]["address"] == ip + "/32", (out, err)

    # DEL gives it back to node-b's block, which stays node-b's.
    rc, out, err = pl.run("DEL", cid, None, pod)
    assert rc == 0, (out, err)
    assert ip not in holders(c)
    assert c.must("GET", block_path(B))["spec"]["affinity"] == "host:node-b"
    assert [h for h, s, a in holders(c).values() if a == "host:node-b"] == \
        ["b0"]

    # Nothing to borrow: node-b's block is being deleted, and node-x's pool
    # does not select node-a. The error says borrowing was tried.
    c.must("PATCH", block_path(B), {"spec": {"deleted": True}},
           ctype="application/merge-patch+json")
    held = holders(c)
    _, _, _, rc, out, err = add()
    check_error(rc, out, 101)
    assert "no free block left" in out["details"] and \
        "no other block of the pools has a free address to borrow" in \
        out["details"], out
    assert holders(c) == held
    c.must("PATCH", block_path(B), {"spec": {"deleted": False}},
           ctype="application/merge-patch+json")

    # strictAffinity: no borrowing, and the error says so.
    ipam_config(c, {"strictAffinity": True, "autoAllocateBlocks": True})
    _, _, _, rc, out, err = add()
    check_error(rc, out, 101)
    assert "no free block left" in out["details"] and \
        "borrowing from other nodes' blocks is disabled (IPAMConfig " \
        "strictAffinity)" in out["details"], out
    assert holders(c) == held

    # The IPIP tunnel address borrows too (no IPAMConfig: Calico's
    # defaults), and is released from node-b's block.
    ipam_config(c, None)
    rc, tip, err = ipam(lab, "tunnel-addr", "--node", "node-a")
    assert rc == 0 and in_block(tip, B), (tip, err)
    assert holders(c)[tip] == ("ipip-tunnel-addr-node-a", {
        "node": "node-a", "type": "ipipTunnelAddress"}, "host:node-b")
    rc, cnt, err = ipam(lab, "release", "--handle", "ipip-tunnel-addr-node-a")
    assert rc == 0 and cnt == "1" and tip not in holders(c), (cnt, err)

    # With a free block in another pool: maxBlocksPerHost 1 stops node-a
    # from claiming it (and, as Calico's ErrBlockLimit, from borrowing);
    # autoAllocateBlocks false borrows instead; maxBlocksPerHost 2 claims.
    setup_cluster(c, [], pools=[("spare", "10.99.1.0/26", "Always",
                                 "all()")])
    ipam_config(c, {"strictAffinity": False, "autoAllocateBlocks": True,
                    "maxBlocksPerHost": 1})
    _, _, _, rc, out, err = add()
    check_error(rc, out, 101)
    assert "may not claim another: the limit is 1 blocks per host " \
        "(IPAMConfig maxBlocksPerHost" in out["details"], out
    assert claims() == before and holders(c) == held

    ipam_config(c, {"strictAffinity": False, "autoAllocateBlocks": False})
    _, ns, _, rc, out, err = add()
    assert rc == 0, (out, err)
    ip = check_result(out, "1.0.0", "eth0", ns)
    assert in_block(ip, B) and holders(c)[ip][1]["node"] == "node-a", ip
    assert claims() == before

    ipam_config(c, {"strictAffinity": True, "autoAllocateBlocks": False})
    _, _, _, rc, out, err = add()
    check_error(rc, out, 101)
    assert "autoAllocateBlocks is false, and borrowing" in out["details"] \
        and "strictAffinity" in out["details"], out

    ipam_config(c, {"strictAffinity": False, "autoAllocateBlocks": True,
                    "maxBlocksPerHost": 2})
    _, ns, _, rc, out, err = add()
    assert rc == 0, (out, err)
    ip = check_result(out, "1.0.0", "eth0", ns)
    assert affine(c, "node-a") == [A, "10.99.1.0/26"], affine(c, "node-a")
    assert in_block(ip, "10.99.1.0/26"), ip

    # A malformed IPAMConfig fails the ADD naming the field.
    held = holders(c)
    for spec, field in (({"strictAffinity": "yes",
                          "autoAllocateBlocks": True}, "spec.strictAffinity"),
                        ({"strictAffinity": False},
                         "spec.autoAllocateBlocks is missing"),
                        ({"strictAffinity": False, "autoAllocateBlocks": True,
                          "maxBlocksPerHost": -1}, "spec.maxBlocksPerHost")):
        ipam_config(c, spec)
        _, _, _, rc, out, err = add()
        check_error(rc, out, 102)
        assert field in out["details"], (spec, out)
        assert holders(c) == held


if __name__ == "__main__":
    harness(run, "cni ipam")
    harness(borrow, "cni ipam borrow")
