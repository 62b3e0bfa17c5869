#!/usr/bin/python3
"""kdp-lab traffic with testpmd: a DPDK pod (vhost-user, dpdk-testpmd on
virtio-user with the MAC kdp gave it) sends a fixed number of UDP packets,
paced, to a kernel pod on the same node and to one on the other node
(IPIP). The receiver counts what arrived; kdp's counters along the path
must agree, and nothing may be lost.

    lab_traffic.py [PACKETS]     (default 100000 per destination)
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labtraffic as lt  # noqa: E402
from labtraffic import check  # noqa: E402

UDP_PORT = 5000
BURSTS_PER_ROUND = 16  # x 32 packets per "start tx_first"
PAUSE = 0.002          # between rounds: a rate two busy cores sustain


def delta(a, b, *keys):
    return {k: b.get(k, 0) - a.get(k, 0) for k in keys}


def one_case(L, share, what, src, dst, packets, tag):
    sn, dn = L.pod(src)["node"], L.pod(dst)["node"]
    cross = sn != dn
    rx = L.tool(dst, "count", UDP_PORT, 3)
    s0, d0 = L.stats(sn), L.stats(dn)
    try:
        tp = lt.Testpmd(share, L.pod(dst)["ip"], UDP_PORT,
                        "kdplt-tp-%d-%s" % (os.getpid(), tag))
    except BaseException:
        rx.kill()
        raise
    try:
        t0 = time.monotonic()
        sent = tp.send(packets, BURSTS_PER_ROUND, PAUSE)
        secs = time.monotonic() - t0
        # The last round may still sit in the virtio ring, which testpmd's
        # quit takes down with it: kdp takes it first (its worker may be
        # in an idle back-off sleep, or off the shared core, just then).
        deadline = time.monotonic() + 10
        while lt.port_by_role(L.stats(sn), src)["rx"] - \
                lt.port_by_role(s0, src)["rx"] < sent and \
                time.monotonic() < deadline:
            time.sleep(0.05)
    except BaseException:
        rx.kill()
        raise
    finally:
        tp.close()
    got = lt.tool_result(rx)["received"]
    time.sleep(0.3)  # the last telemetry-visible counters
    s1, d1 = L.stats(sn), L.stats(dn)
    print("%s: testpmd sent %d in %.1f s (%.0f pps), %s received %d" %
          (what, sent, secs, sent / secs, dst, got), flush=True)
    check(sent >= packets, "%s: testpmd sent %d of %d packets (TX-packets)"
          % (what, sent, packets))
    check(got == sent, "%s: received %d == sent %d (lost %d)" %
          (what, got, sent, sent - got))
    src_rx = lt.port_by_role(s1, src)["rx"] - lt.port_by_role(s0, src)["rx"]
    dst_tx = lt.port_by_role(d1, dst)["tx"] - lt.port_by_role(d0, dst)["tx"]
    check(src_rx == sent, "%s: kdp %s port %s rx %d == sent" %
          (what, sn, src, src_rx))
    check(dst_tx == sent, "%s: kdp %s port %s tx %d == sent" %
          (what, dn, dst, dst_tx))
    if cross:
        e = delta(s0, s1, "ipip_encap", "drops")["ipip_encap"]
        d = delta(d0, d1, "ipip_decap", "drops")["ipip_decap"]
        up_tx = lt.uplink(s1)["tx"] - lt.uplink(s0)["tx"]
        up_rx = lt.uplink(d1)["rx"] - lt.uplink(d0)["rx"]
        check(e == sent, "%s: %s ipip_encap %d == sent" % (what, sn, e))
        # An ARP for the peer node may go out too.
        check(sent <= up_tx <= sent + 4,
              "%s: %s uplink tx %d ~ sent" % (what, sn, up_tx))
        check(sent <= up_rx <= sent + 4,
              "%s: %s uplink rx %d ~ sent" % (what, dn, up_rx))
        check(d == sent, "%s: %s ipip_decap %d == sent" % (what, dn, d))
    for node, a, b in ((sn, s0, s1), (dn, d0, d1)) if cross else \
            ((sn, s0, s1),):
        dr = b["drops"] - a["drops"]
        reasons = {k: v - a["drop_reasons"][k]
                   for k, v in b["drop_reasons"].items()
                   if v != a["drop_reasons"][k]}
        check(dr == 0, "%s: %s dropped nothing %s" % (what, node, reasons))


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    if shutil.which("dpdk-testpmd") is None:
        print("skip: dpdk-testpmd not found")
        return 77
    packets = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    with lt.LabRun() as L:
        L.pod_add("x/v", "node-1", kind="vhost-user")
        L.pod_add("x/k1", "node-1")
        L.pod_add("x/k2", "node-2")
        share = L.share("x/v")
        check(share.get("mac") and share.get("socket"),
              "kdp-cni handed the vhost-user pod its socket and MAC: %s"
              % share)
        eps = L.tel("node-1", "/kdp/endpoints")
        check(any(e.startswith("x/v ") and "mac=" + share["mac"] in e
                  for e in eps), "kdp enforces that MAC for x/v: %s" % eps)
        one_case(L, share, "same node", "x/v", "x/k1", packets, "a")
        one_case(L, share, "cross node", "x/v", "x/k2", packets, "b")
    return lt.verdict("lab traffic")


if __name__ == "__main__":
    sys.exit(main())
