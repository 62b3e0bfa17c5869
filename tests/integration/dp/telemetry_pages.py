#!/usr/bin/python3
"""Telemetry lists of a full node, in pages (control/tel_priv.h).

DPDK answers a telemetry command with at most 16 KiB and leaves out whole
a container that does not fit: with 200 pod ports /kdp/stats had no
"ports" at all. kdp runs with native tap pods whose keys are long (about
135 characters, shortened in telemetry), 250 extra Nodes with long names
and 40 GlobalNetworkPolicies that select every pod, and the test reads
every list through its pages, as a client must:

 - /kdp/stats: totals, every drop reason, ports_total, and the ports that
   fit, then /kdp/ports from ports_next: every port exactly once, with its
   name and role (the pod key, shortened as documented);
 - /kdp/ports,START from 0: the same ports, each page under 16 KiB;
 - /kdp/endpoints,START and /kdp/nodes,START until an empty page: every
   pod's endpoint and every Node once;
 - /kdp/routes,START following "next": a /32 route for every pod;
 - /kdp/policy,START following endpoints_next: every endpoint once, each
   direction with 32 policy lines and "... 8 more";
 - a bad START ("-1", "x") is refused (null).

Needs root and hugepages. Usage: telemetry_pages.py BUILD_DIR
"""
import ipaddress
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import podports as pp  # noqa: E402  (its Kdp runner and helpers)

cluster = pp.cluster
check = pp.check
NPODS = 150
NNODES = 250
NPOL = 40
NS = "telemetry-pages-" + "n" * 40
MAX_STR = 128  # RTE_TEL_MAX_STRING_LEN


def pod_name(i):
    return "pod-%s-%03d" % ("q" * 70, i)


def pod_ip(i):
    return str(ipaddress.ip_address("10.244.10.0") + i + 2)


def short(key, size=MAX_STR):
    """control/telemetry.c tel_pod_name(): @key in at most @size - 1
    characters, its start and end around "..."."""
    if len(key) < size:
        return key
    head = (size - 4) // 2
    tail = size - 4 - head
    return key[:head] + "..." + key[-tail:]


def objects():
    objs = [cluster.namespace(NS)]
    for b in range(3):  # 10.244.10.0/26, .64/26, .128/26
        base = b * 64
        allocs = [(i + 2 - base, "node-a", NS, pod_name(i))
                  for i in range(NPODS) if base <= i + 2 < base + 64]
        objs.append(cluster.block("10.244.10.%d/26" % base, "node-a", allocs))
    for i in range(NPODS):
        objs.append(cluster.pod(NS, pod_name(i), "node-a", pod_ip(i)))
    for i in range(NNODES):
        objs.append(cluster.node("node-extra-%s-%03d" % ("z" * 60, i),
                                 "172.16.%d.%d/16" % (i // 200, 1 + i % 200)))
    for i in range(NPOL):
        objs.append({
            "apiVersion": "projectcalico.org/v3",
            "kind": "GlobalNetworkPolicy",
            "metadata": {"name": "allow-everything-%s-%02d" % ("w" * 40, i)},
            "spec": {"order": 100 + i, "selector": "all()",
                     "types": ["Ingress", "Egress"],
                     "ingress": [{"action": "Allow", "protocol": "TCP",
                                  "destination": {"ports": [1000 + i]}}],
                     "egress": [{"action": "Allow"}]}})
    return objs


def raw_size(kdp, cmd):
    kdp.tel.s.send(cmd.encode())
    return len(kdp.tel.s.recv(1 << 20))


def pages(kdp, cmd, nxt):
    """Every page of @cmd from START 0, following @nxt(page, start)."""
    out, start, sizes = [], 0, []
    for _ in range(1000):
        c = "%s,%d" % (cmd, start)
        sizes.append(raw_size(kdp, c))
        page = kdp.tel.cmd(c)
        out.append(page)
        start = nxt(page, start)
        if start is None:
            break
    return out, max(sizes)


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    ns = pp.ns_name("tp")
    pp.sh("ip", "netns", "add", ns)
    d = pp.make_dir("kdp-telpages-", tap_ports="native",
                    max_api_ports=NPODS + 8)
    cluster.write(os.path.join(d, "ds"), objects(), "many.json")

    def body(kdp):
        errs = []
        for i in range(NPODS):
            r = kdp.api({"op": "port_add", "pod": NS + "/" + pod_name(i),
                         "kind": "tap", "ifname": "e%d" % i,
                         "netns": "/var/run/netns/" + ns})
            if not r.get("ok"):
                errs.append(r.get("error"))
        check(not errs, "%d tap pods with %d-character keys: %s" %
              (NPODS, len(NS + "/" + pod_name(0)), errs[:2]))
        keys = {short(NS + "/" + pod_name(i)) for i in range(NPODS)}
        time.sleep(1.0)

        # /kdp/stats: its own fields whatever the ports, then the pages.
        st = kdp.stats()
        size = raw_size(kdp, "/kdp/stats")
        check("drop_reasons" in st and "rx" in st and
              st.get("ports_total") == NPODS + 1 and size < 16384,
              "/kdp/stats in %d bytes: drop reasons, ports_total %s, "
              "%d ports shown, ports_next %s" %
              (size, st.get("ports_total"), len(st.get("ports", {})),
               st.get("ports_next")))
        seen = dict(st.get("ports", {}))
        if "ports_next" in st:
            more, big = pages(kdp, "/kdp/ports",
                              lambda p, s: p.get("next"))
            for p in more:
                for k, v in p.get("ports", {}).items():
                    if int(k[4:]) >= st["ports_next"]:
                        seen.setdefault(k, v)
        roles = sorted(v.get("role") for v in seen.values())
        check(len(seen) == NPODS + 1 and "uplink" in roles and
              set(roles) - {"uplink"} == keys,
              "/kdp/stats then /kdp/ports from ports_next: %d ports, "
              "every pod's role once" % len(seen))

        ports, big = pages(kdp, "/kdp/ports", lambda p, s: p.get("next"))
        ids = [k for p in ports for k in p.get("ports", {})]
        check(len(ids) == len(set(ids)) == NPODS + 1 and len(ports) > 1 and
              big < 16384 and all(p.get("total") == NPODS + 1
                                  for p in ports),
              "/kdp/ports: %d pages, %d ports once each, largest page %d "
              "bytes" % (len(ports), len(ids), big))

        eps, big = pages(kdp, "/kdp/endpoints",
                         lambda p, s: s + len(p) if p else None)
        # A long name gives way to the fields: the IPs tell them apart.
        ips = [e.split(" ips=")[1].split()[0] for p in eps for e in p]
        check(sorted(ips) == sorted(pod_ip(i) for i in range(NPODS)) and
              len(eps) > 2 and big < 16384,
              "/kdp/endpoints: %d pages, %d endpoints once each" %
              (len(eps), len(ips)))

        nodes, big = pages(kdp, "/kdp/nodes",
                           lambda p, s: s + len(p) if p else None)
        nn = [n.split()[0] for p in nodes for n in p]
        check(len(nn) == len(set(nn)) == NNODES + 3 and big < 16384,
              "/kdp/nodes: %d pages, %d nodes once each" %
              (len(nodes), len(nn)))

        rts, big = pages(kdp, "/kdp/routes", lambda p, s: p.get("next"))
        rt = [r for p in rts for r in p.get("routes", [])]
        want = set()
        for i in range(NPODS):
            head = "%s/32 pod " % pod_ip(i)
            want.add(head + short(NS + "/" + pod_name(i),
                                  MAX_STR - len(head)))
        missing = sorted(want - set(rt))
        check(not missing and len(rt) == rts[0].get("total") and
              big < 16384,
              "/kdp/routes: %d pages, %d routes, every pod's /32: %s" %
              (len(rts), len(rt), missing[:1]))

        pol, big = pages(kdp, "/kdp/policy",
                         lambda p, s: p.get("endpoints_next"))
        ent = {v.get("pod"): v for p in pol for v in p.values()
               if isinstance(v, dict)}

        def cut_ok(lines):
            """Up to 32 policy lines, then how many more: NPOL in all."""
            more = lines[-1].split() if lines else []
            return (len(lines) <= 33 and more[:1] == ["..."] and
                    len(lines) - 1 + int(more[1]) == NPOL)
        ok = [v for v in ent.values()
              if cut_ok(v.get("ingress")) and cut_ok(v.get("egress"))]
        check(set(ent) == keys and len(ok) == NPODS and len(pol) > 1 and
              big < 16384 and pol[0].get("endpoints_total") == NPODS,
              "/kdp/policy: %d pages, %d endpoints, each way a part of "
              "the %d policies and how many more: %s" %
              (len(pol), len(ent), NPOL, [v.get("ingress", [])[-1:] for v in
                                          list(ent.values())[:1]]))

        for cmd in ("/kdp/ports", "/kdp/endpoints", "/kdp/nodes",
                    "/kdp/policy", "/kdp/routes"):
            check(all(kdp.tel.cmd("%s,%s" % (cmd, bad)) is None
                      for bad in ("-1", "x", "1 ")),
                  "%s refuses a bad START" % cmd)

    return pp.run_one(d, [ns], body)


if __name__ == "__main__":
    sys.exit(main())
