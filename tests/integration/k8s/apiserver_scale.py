#!/usr/bin/python3
"""Scale: 5,000 Nodes, 100,000 Pods, 5,000 IPAMBlocks, 2,000
NetworkPolicies; paginated LISTs as a client-go reflector would do them.
Prints the timings; fails only on wrong counts or grossly slow pages."""

import http.client
import json
import sys
import time
import urllib.parse

from labclient import Lab

SPEC = "nodes=5000,pods=100000,ipamblocks=5000,networkpolicies=2000"
WANT = {"/api/v1/nodes": 5000, "/api/v1/pods": 100000,
        "/apis/crd.projectcalico.org/v1/ipamblocks": 5000,
        "/apis/networking.k8s.io/v1/networkpolicies": 2000}


def paged(c, path, limit=500):
    conn = c.conn(60)
    n = pages = 0
    cont, rv, server = "", None, 0.0
    while True:
        q = {"limit": limit}
        if cont:
            q["continue"] = cont
        t = time.monotonic()
        conn.request("GET", path + "?" + urllib.parse.urlencode(q),
                     headers=c.headers)
        raw = conn.getresponse().read()
        server += time.monotonic() - t
        doc = json.loads(raw)
        rv = rv or doc["metadata"]["resourceVersion"]
        assert doc["metadata"]["resourceVersion"] == rv
        n += len(doc["items"])
        pages += 1
        cont = doc["metadata"].get("continue", "")
        if not cont:
            conn.close()
            return n, pages, server


def main():
    with Lab() as lab:
        t = time.monotonic()
        out = json.loads(lab.lab("load", "--generate", SPEC))
        print(f"load {out['created']} objects: {out['seconds']} s in the "
              f"server, {time.monotonic() - t:.2f} s wall")
        c = lab.client()
        for path, want in WANT.items():
            t = time.monotonic()
            n, pages, server = paged(c, path)
            wall = time.monotonic() - t
            print(f"LIST {path} limit=500: {n} items, {pages} pages, "
                  f"{server:.2f} s request+transfer, {wall:.2f} s with "
                  f"client JSON parsing")
            assert n == want, (path, n)
            assert server / pages < 0.5, "page slower than 500 ms"
        t = time.monotonic()
        st, d = c.get("/api/v1/pods", fieldSelector="spec.nodeName=node-7")
        print(f"LIST pods fieldSelector=spec.nodeName=node-7: "
              f"{len(d['items'])} items, {time.monotonic() - t:.3f} s")
        assert len(d["items"]) == 20
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
