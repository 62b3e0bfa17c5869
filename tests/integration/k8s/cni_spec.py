#!/usr/bin/python3
"""kdp-cni against the CNI spec: every command, its result or error JSON and
exit status, with a fake kdp that makes real interfaces in real netns."""

import json
import os

from cnilib import (Plugin, check_error, check_result, harness, holders,
                    make_pod, setup_cluster, sh)


def run(lab, kdp, nets, tmp):
    c = lab.client()
    setup_cluster(c, ["node-a"])
    share = os.path.join(tmp, "share")
    pl = Plugin(lab, kdp.path, share)

    # VERSION: the versions we speak, stamped with the caller's version.
    rc, out, _ = pl.run("VERSION", stdin='{"cniVersion":"0.4.0"}')
    assert rc == 0 and out == {"cniVersion": "0.4.0", "supportedVersions":
                               ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}, out
    # ... or, for a version we do not speak, our newest.
    rc, out, _ = pl.run("VERSION", stdin='{"cniVersion":"9.9.9"}')
    assert rc == 0 and out["cniVersion"] == "1.0.0", out

    # Environment and netconf errors.
    ns1 = nets.new("a")
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/a",
                        drop=("CNI_COMMAND",))
    check_error(rc, out, 4)
    rc, out, _ = pl.run("BOGUS", "c1", ns1, "default/a")
    check_error(rc, out, 4)
    rc, out, _ = pl.run("ADD", None, ns1, "default/a")
    check_error(rc, out, 4)
    rc, out, _ = pl.run("ADD", "c1", None, "default/a")
    check_error(rc, out, 4)
    rc, out, _ = pl.run("ADD", "c1", ns1, None)
    check_error(rc, out, 4)
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/a", stdin="{not json")
    check_error(rc, out, 6)
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/a",
                        conf=dict(pl.conf, cniVersion="2.0.0"))
    check_error(rc, out, 1)
    conf = dict(pl.conf)
    del conf["name"]
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/a", conf=conf)
    check_error(rc, out, 7)
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/a",
                        conf=dict(pl.conf, ipam={"type": "host-local"}))
    check_error(rc, out, 2)
    rc, out, _ = pl.run("ADD", "c1", "/var/run/netns/kdpcni-none",
                        "default/a")
    check_error(rc, out, 3)
    # A Pod the API does not know.
    rc, out, _ = pl.run("ADD", "c1", ns1, "default/ghost")
    check_error(rc, out, 102)
    assert holders(c) == {}, "failed ADD left an allocation"

    # STATUS: kdp answering or not.
    rc, out, _ = pl.run("STATUS")
    assert rc == 0 and out is None, (rc, out)
    rc, out, _ = pl.run("STATUS", conf=dict(pl.conf,
                                            kdp_socket=tmp + "/none.sock"))
    check_error(rc, out, 50)

    # ADD (tap): result schema, and the pod netns configured for real.
    make_pod(c, "a")
    rc, out, err = pl.run("ADD", "c1", ns1, "default/a")
    assert rc == 0, (out, err)
    ip = check_result(out, "1.0.0", "eth0", ns1)
    assert out["interfaces"][0]["mac"] == kdp.ports["default/a"]["mac"]
    addrs = sh("ip", "-n", os.path.basename(ns1), "-4", "-o", "addr", "show",
               "dev", "eth0")
    assert f"inet {ip}/32" in addrs, addrs
    routes = sh("ip", "-n", os.path.basename(ns1), "-4", "route")
    assert "default via 169.254.1.1 dev eth0 onlink" in routes, routes
    assert "169.254.1.1 dev eth0 scope link" in routes, routes
    h = holders(c)[ip]
    assert h[0] == "k8s-pod-network.c1" and h[2] == "host:node-a", h
    assert h[1]["node"] == "node-a" and h[1]["namespace"] == "default"
    assert h[1]["pod"] == "a" and h[1]["timestamp"].endswith("+0000 UTC")
    add_req = [r for r in kdp.requests if r["op"] == "port_add"][-1]
    assert add_req == {"op": "port_add", "pod": "default/a", "kind": "tap",
                       "ifname": "eth0", "netns": ns1,
                       "container_id": "c1", "ip": ip + "/32"}, add_req
    # ADD again is idempotent: same address.
    rc, out2, _ = pl.run("ADD", "c1", ns1, "default/a")
    assert rc == 0 and out2["ips"] == out["ips"], out2

    # CHECK: fine, then broken netns state is reported.
    chk = dict(pl.conf, prevResult=out)
    rc, o, err = pl.run("CHECK", "c1", ns1, "default/a", conf=chk)
    assert rc == 0 and o is None, (o, err)
    rc, o, _ = pl.run("CHECK", "c1", ns1, "default/a",
                      conf=dict(chk, cniVersion="0.3.1"))
    check_error(rc, o, 1)
    rc, o, _ = pl.run("CHECK", "c1", ns1, "default/a",
                      conf=dict(pl.conf))
    check_error(rc, o, 7)
    sh("ip", "-n", os.path.basename(ns1), "route", "del", "default")
    rc, o, _ = pl.run("CHECK", "c1", ns1, "default/a", conf=chk)
    check_error(rc, o, 103)
    assert "default route" in o["details"], o
    sh("ip", "-n", os.path.basename(ns1), "addr", "del", ip + "/32",
       "dev", "eth0")
    rc, o, _ = pl.run("CHECK", "c1", ns1, "default/a", conf=chk)
    check_error(rc, o, 103)
    assert "address" in o["details"], o

    # DEL: releases, removes the port, and is idempotent.
    rc, o, err = pl.run("DEL", "c1", ns1, "default/a")
    assert rc == 0 and o is None, (o, err)
    assert ip not in holders(c) and "default/a" not in kdp.ports
    rc, o, err = pl.run("DEL", "c1", ns1, "default/a")
    assert rc == 0 and o is None, (o, err)
    rc, o, err = pl.run("DEL", "c1", None, None)
    assert rc == 0, (o, err)
    rc, o, _ = pl.run("CHECK", "c1", ns1, "default/a", conf=chk)
    check_error(rc, o, 3)

    # Older result format (0.3.1): ips carry "version".
    ns2 = nets.new("b")
    make_pod(c, "b")
    rc, out, err = pl.run("ADD", "c2", ns2, "default/b",
                          conf=dict(pl.conf, cniVersion="0.3.1", mtu=1400))
    assert rc == 0, (out, err)
    check_result(out, "0.3.1", "eth0", ns2)
    mtu = sh("ip", "-n", os.path.basename(ns2), "-o", "link", "show", "eth0")
    assert "mtu 1400" in mtu, mtu

    # kdp refusing the port: the address is given back.
    ns3 = nets.new("c")
    make_pod(c, "c")
    before = set(holders(c))
    rc, out, _ = pl.run("ADD", "c3", ns3, "default/c",
                        conf=dict(pl.conf, kdp_socket=tmp + "/none.sock"))
    check_error(rc, out, 11)
    assert set(holders(c)) == before

    # vhost-user Pod: socketPath in the result, share file for the pod.
    ns4 = nets.new("d")
    make_pod(c, "v", kind="vhost-user")
    rc, out, err = pl.run("ADD", "c4", ns4, "default/v")
    assert rc == 0, (out, err)
    vip = check_result(out, "1.0.0", "eth0", ns4, vhost=True)
    sock = out["interfaces"][0]["socketPath"]
    assert sock == os.path.join(tmp, "c4.sock"), sock
    share_file = json.load(open(os.path.join(share, "c4.json")))
    assert share_file["socket"] == sock and share_file["address"] == \
        vip + "/32" and share_file["gateway"] == "169.254.1.1", share_file
    assert share_file["pod_serves"] is False, share_file
    rc, o, err = pl.run("CHECK", "c4", ns4, "default/v",
                        conf=dict(pl.conf, prevResult=out))
    assert rc == 0, (o, err)
    rc, o, err = pl.run("DEL", "c4", ns4, "default/v")
    assert rc == 0 and not os.path.exists(os.path.join(share, "c4.json"))
    # vhost-user-client Pod: kdp connects to a socket the pod serves.
    make_pod(c, "vc", kind="vhost-user-client")
    rc, out, err = pl.run("ADD", "c6", ns4, "default/vc")
    assert rc == 0, (out, err)
    add_req = [r for r in kdp.requests if r["op"] == "port_add"][-1]
    assert add_req["kind"] == "vhost-user-client" and "ip" not in add_req
    share_file = json.load(open(os.path.join(share, "c6.json")))
    assert share_file["pod_serves"] is True, share_file
    rc, o, err = pl.run("DEL", "c6", ns4, "default/vc")
    assert rc == 0, (o, err)
    # Bad annotation value.
    make_pod(c, "w", kind="sriov")
    rc, out, _ = pl.run("ADD", "c5", ns4, "default/w")
    check_error(rc, out, 7)

    sandboxes(c, pl, kdp, nets)


def sandboxes(c, pl, kdp, nets):
    """A pod's sandboxes: CNI names an attachment by CNI_CONTAINERID (and
    CNI_IFNAME), not by the pod. A runtime sends DEL for a pod's old
    sandbox after its new one was added (kubelet retries and restarts;
    calicoctl#1592, cni-plugin#383), and may add the new one while the old
    one's port is still there."""
    make_pod(c, "web")
    ns_a, ns_b, ns_c = nets.new("sbA"), nets.new("sbB"), nets.new("sbC")
    rc, out, err = pl.run("ADD", "sbA", ns_a, "default/web")
    assert rc == 0, (out, err)
    rc, _, err = pl.run("DEL", "sbA", ns_a, "default/web")
    assert rc == 0, err
    rc, out_b, err = pl.run("ADD", "sbB", ns_b, "default/web")
    assert rc == 0, (out_b, err)
    ip_b = check_result(out_b, "1.0.0", "eth0", ns_b)
    # The old sandbox's DEL again, its netns gone: B keeps its port.
    rc, _, err = pl.run("DEL", "sbA", None, "default/web")
    assert rc == 0, err
    dels = [r for r in kdp.requests if r["op"] == "port_del"]
    assert dels[-1] == {"op": "port_del", "pod": "default/web",
                        "container_id": "sbA"}, dels[-1]
    assert all("container_id" in r for r in dels), dels
    port = kdp.ports.get("default/web")
    assert port and port["container_id"] == "sbB", port
    links = sh("ip", "-n", os.path.basename(ns_b), "-o", "link")
    assert " eth0@" in links or " eth0:" in links, links
    assert holders(c)[ip_b][0] == "k8s-pod-network.sbB", holders(c)
    rc, o, err = pl.run("CHECK", "sbB", ns_b, "default/web",
                        conf=dict(pl.conf, prevResult=out_b))
    assert rc == 0, (o, err)

    # A new sandbox's ADD while B's port is there (B's DEL not yet run):
    # kdp gives the pod's port to C.
    rc, out_c, err = pl.run("ADD", "sbC", ns_c, "default/web")
    assert rc == 0, (out_c, err)
    ip_c = check_result(out_c, "1.0.0", "eth0", ns_c)
    port = kdp.ports.get("default/web")
    assert port and port["netns"] == ns_c and \
        port["container_id"] == "sbC", port
    # B's CHECK: the pod's port is not B's any more.
    rc, o, _ = pl.run("CHECK", "sbB", ns_b, "default/web",
                      conf=dict(pl.conf, prevResult=out_b))
    check_error(rc, o, 100)
    rc, o, err = pl.run("CHECK", "sbC", ns_c, "default/web",
                        conf=dict(pl.conf, prevResult=out_c))
    assert rc == 0, (o, err)
    # B's late DEL releases B's address only; C's DEL removes the port.
    rc, _, err = pl.run("DEL", "sbB", ns_b, "default/web")
    assert rc == 0, err
    assert ip_b not in holders(c) and ip_c in holders(c)
    assert kdp.ports.get("default/web", {}).get("container_id") == "sbC"
    rc, _, err = pl.run("DEL", "sbC", ns_c, "default/web")
    assert rc == 0, err
    assert "default/web" not in kdp.ports and ip_c not in holders(c)


if __name__ == "__main__":
    harness(run, "cni spec")
