#!/usr/bin/python3
"""Pod ports while publishing fails: the last good tables keep their ports.

A failed publish leaves the previous tables and rx lists in force, and they
may route to and poll a pod port deleted since. That port must stay open
until a publish succeeds; closing it earlier would leave workers polling a
closed port and forwarding into it.

The test makes publishing fail the way a real cluster can: a datastore with
more Nodes on the node's subnet than the neighbor table has slots (each one
is a direct next hop with its own slot). While it fails:
- the running pods still reach each other (the last good state forwards);
- port_del answers that the port closes with the next publish, and the
  port stays, still reachable;
- port_add of another pod fails and closes only its own port.
When the datastore is put right, the deleted pod's port closes and port_add
works again.

Needs root (taps in network namespaces). Usage: publish_fail.py BUILD_DIR
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
import cluster  # noqa: E402
import podports as pp  # noqa: E402

check = pp.check
# More than pl_neigh's 16384 slots.
EXTRA_NODES = 16500


def crowded():
    """The test's cluster with node-a on a /16 and EXTRA_NODES more Nodes
    on it."""
    objs = pp.objects(False)
    for o in objs:
        if o["kind"] == "Node" and o["metadata"]["name"] == "node-a":
            ann = o["metadata"]["annotations"]
            ann["projectcalico.org/IPv4Address"] = cluster.NODE_A_IP + "/16"
    for i in range(EXTRA_NODES):
        ip = "192.168.%d.%d" % (100 + i // 250, 1 + i % 250)
        objs.append(cluster.node("crowd-%d" % i, ip + "/16"))
    return objs


def datastore(kdp):
    return kdp.tel.cmd("/kdp/datastore")


def wait_for(what, cond, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return check(False, "timed out waiting for " + what)


def run(kdp, d):
    for p in ("p1", "p2"):
        r = kdp.add_tap(p, pp.ns_name(p))
        check(r.get("ok"), "port_add %s: %s" % (p, r))
        pp.pod_net_setup(p)
    check(pp.ping("p1", "p2"), "p1 reaches p2")

    fails0 = int(datastore(kdp)["publish_failures"])
    cluster.write(os.path.join(d, "ds"), crowded())
    if not wait_for("a failed publish",
                    lambda: int(datastore(kdp)["publish_failures"]) > fails0,
                    60):
        return
    err = datastore(kdp)["last_compile_error"]
    check("neighbor table full" in err, "the build fails: %s" % err)
    check(pp.ping("p1", "p2"), "the last good tables still forward")

    r = kdp.api({"op": "port_del", "pod": "x/p1"})
    check(not r.get("ok") and "closes with the next publish" in
          r.get("error", ""), "port_del p1 while publishing fails: %s" % r)
    check(pp.link_mac("p1") is not None, "p1's port stays open")

    r = kdp.api({"op": "port_add", "pod": "x/p3", "kind": "tap",
                 "ifname": "eth0", "netns": "/var/run/netns/" +
                 pp.ns_name("p3"), "container_id": "c-p3"})
    check(not r.get("ok") and "tables not published" in r.get("error", ""),
          "port_add p3 while publishing fails: %s" % r)
    check(pp.link_mac("p3") is None, "p3's port, never published, is closed")
    check(pp.link_mac("p1") is not None,
          "a failed port_add leaves p1's port open")
    time.sleep(1)  # well past any grace period
    check(pp.link_mac("p1") is not None, "p1's port is still open")
    check(pp.ping("p2", "p1"),
          "p2 still reaches p1 through the tables in force")

    pubs0 = int(datastore(kdp)["publishes"])
    cluster.write(os.path.join(d, "ds"), pp.objects(False))
    wait_for("a publish", lambda: int(datastore(kdp)["publishes"]) > pubs0)
    wait_for("p1's port to close", lambda: pp.link_mac("p1") is None, 10)
    check(pp.ep_line(kdp, "p1") is None, "p1 gone from /kdp/endpoints")
    r = kdp.add_tap("p3", pp.ns_name("p3"))
    check(r.get("ok"), "port_add p3 once publishing works: %s" % r)
    pp.pod_net_setup("p3")
    check(pp.ping("p3", "p2"), "p3 reaches p2")


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    d = pp.make_dir("kdp-pubfail-")
    nss = [pp.ns_name(p) for p in ("p1", "p2", "p3")]
    for ns in nss:
        pp.sh("ip", "netns", "add", ns)
    kdp = pp.Kdp(d)
    try:
        kdp.start()
        run(kdp, d)
        check(kdp.stop() == 0, "kdp exits 0 at the end")
    except Exception as e:  # a crash is a failure, with cleanup below
        import traceback
        traceback.print_exc()
        pp.failures.append(repr(e))
    finally:
        kdp.stop()
        rc = pp.teardown(d, nss)
    return rc


if __name__ == "__main__":
    sys.exit(main())
