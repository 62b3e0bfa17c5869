#!/usr/bin/python3
"""LIST/WATCH protocol of the lab API server, checked with a raw client:
pagination and continue expiry, selectors, bookmarks, 410 on an old RV,
DELETED with the last state, selector transitions, conflicts."""

import sys
import time

from labclient import Lab

PODS = "/api/v1/namespaces/default/pods"


def pod(name, node, **labels):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels},
            "spec": {"nodeName": node,
                     "containers": [{"name": "c", "image": "busybox"}]}}


def main():
    with Lab("--bookmark-interval", "0.3", "--history", "50") as lab:
        c = lab.client()
        for i in range(12):
            c.must("POST", PODS, pod(f"p{i:02d}", f"n{i % 3}",
                                     app="a" if i % 2 else "b"))

        # LIST pages: same snapshot RV on every page, all items once.
        st, first = c.get(PODS, limit=5)
        assert st == 200 and first["kind"] == "PodList", first
        rv = first["metadata"]["resourceVersion"]
        names, doc = [], first
        while True:
            names += [i["metadata"]["name"] for i in doc["items"]]
            assert doc["metadata"]["resourceVersion"] == rv
            tok = doc["metadata"].get("continue")
            if not tok:
                break
            st, doc = c.get(PODS, limit=5, **{"continue": tok})
            assert st == 200, doc
        assert names == [f"p{i:02d}" for i in range(12)], names
        assert "kind" not in first["items"][0]     # built-in list items
        # A limit that is not positive pages nothing (the apiserver pages
        # only when limit > 0).
        for lim in (0, -1):
            st, d = c.get(PODS, limit=lim)
            assert st == 200 and len(d["items"]) == 12 and \
                not d["metadata"].get("continue"), (lim, st, d)

        # A namespace's name is a DNS label (no dots, 63 characters at
        # most: ValidateNamespaceName); other kinds' are subdomains.
        for bad in ("a.b", "x" * 64):
            st, d = c.request("POST", "/api/v1/namespaces",
                              {"metadata": {"name": bad}})
            assert st == 422 and d["reason"] == "Invalid" and \
                "RFC 1123 label" in d["message"], (bad, st, d)
        st, d = c.request("POST", "/api/v1/namespaces",
                          {"metadata": {"name": "x" * 63}})
        assert st == 201, (st, d)
        st, d = c.request("POST", "/api/v1/nodes",
                          {"metadata": {"name": "a.b"}})
        assert st == 201, (st, d)

        # Selectors.
        st, d = c.get("/api/v1/pods", labelSelector="app=a",
                      fieldSelector="spec.nodeName=n1")
        assert sorted(i["metadata"]["name"] for i in d["items"]) == \
            ["p01", "p07"], d
        st, d = c.get("/api/v1/pods", labelSelector="app notin (a),!zz")
        assert len(d["items"]) == 6, d
        st, d = c.get("/api/v1/pods", fieldSelector="spec.bogus=1")
        assert st == 400 and d["reason"] == "BadRequest", d

        # Expired continue token → 410.
        lab.lab("config", "continue-ttl", "0.2")
        st, d = c.get(PODS, limit=5)
        time.sleep(0.3)
        st, d = c.get(PODS, limit=5, **{"continue":
                                        d["metadata"]["continue"]})
        assert st == 410 and d["reason"] == "Expired", (st, d)
        lab.lab("config", "continue-ttl", "300")

        # Watch from the list RV: bookmarks, events after RV only.
        st, d = c.get(PODS)
        rv = d["metadata"]["resourceVersion"]
        w = c.watch(PODS, resourceVersion=rv, allowWatchBookmarks="true",
                    labelSelector="app=a")
        assert w.status == 200
        bm = w.next()
        assert bm["type"] == "BOOKMARK" and \
            bm["object"]["metadata"]["resourceVersion"] == rv, bm
        c.must("PATCH", PODS + "/p01", {"metadata": {"labels": {"x": "1"}}},
               "application/merge-patch+json")
        ev = w.until(lambda e: e["type"] != "BOOKMARK")
        assert ev["type"] == "MODIFIED" and \
            ev["object"]["metadata"]["labels"]["x"] == "1", ev
        assert ev["object"]["kind"] == "Pod"
        # Leaving the selector looks like DELETED, entering like ADDED.
        c.must("PATCH", PODS + "/p03", {"metadata": {"labels": {"app": "b"}}},
               "application/merge-patch+json")
        ev = w.until(lambda e: e["type"] != "BOOKMARK")
        assert ev["type"] == "DELETED" and \
            ev["object"]["metadata"]["name"] == "p03", ev
        c.must("PATCH", PODS + "/p02", {"metadata": {"labels": {"app": "a"}}},
               "application/merge-patch+json")
        ev = w.until(lambda e: e["type"] != "BOOKMARK")
        assert ev["type"] == "ADDED" and \
            ev["object"]["metadata"]["name"] == "p02", ev
        last = c.must("GET", PODS + "/p05")
        deleted = c.must("DELETE", PODS + "/p05")
        ev = w.until(lambda e: e["type"] != "BOOKMARK")
        assert ev["type"] == "DELETED" and \
            ev["object"]["metadata"]["labels"] == last["metadata"]["labels"]
        assert int(ev["object"]["metadata"]["resourceVersion"]) > \
            int(last["metadata"]["resourceVersion"])
        assert deleted["metadata"]["name"] == "p05"
        w.close()

        # Watch without RV: synthetic ADDED for the current state.
        w = c.watch(PODS, timeoutSeconds="1")
        seen = []
        while (ev := w.next()) is not None:
            seen.append(ev["object"]["metadata"]["name"])
        assert len(seen) == 11 and "p05" not in seen, seen   # then ends
        w.close()

        # Replay from an RV in history; 410 once history moved on.
        st, d = c.get(PODS)
        old = d["metadata"]["resourceVersion"]
        c.must("PATCH", PODS + "/p00", {"metadata": {"labels": {"k": "v"}}},
               "application/merge-patch+json")
        w = c.watch(PODS, resourceVersion=old, timeoutSeconds="1")
        ev = w.next()
        assert ev["type"] == "MODIFIED" and \
            ev["object"]["metadata"]["labels"]["k"] == "v", ev
        w.close()
        for i in range(60):           # history holds 50 events
            c.must("PATCH", PODS + "/p00",
                   {"metadata": {"labels": {"k": str(i)}}},
                   "application/merge-patch+json")
        w = c.watch(PODS, resourceVersion=old)
        ev = w.next()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410 and \
            ev["object"]["reason"] == "Expired", ev
        assert w.next() is None
        w.close()

        # Create conflicts, update conflicts, namespace must exist.
        st, d = c.request("POST", PODS, pod("p00", "n0"))
        assert st == 409 and d["reason"] == "AlreadyExists", d
        cur = c.must("GET", PODS + "/p00")
        stale = dict(cur, metadata=dict(cur["metadata"],
                                        resourceVersion="1"))
        st, d = c.request("PUT", PODS + "/p00", stale)
        assert st == 409 and d["reason"] == "Conflict", d
        cur["spec"]["nodeName"] = "n9"
        upd = c.must("PUT", PODS + "/p00", cur)
        assert upd["metadata"]["generation"] == cur["metadata"]["generation"] + 1
        st, d = c.request("POST", "/api/v1/namespaces/nope/pods",
                          pod("x", "n0"))
        assert st == 404 and "nope" in d["message"], d
        st, d = c.request("GET", PODS + "/missing")
        assert st == 404 and d["kind"] == "Status", d
        st, d = c.request("PATCH", PODS + "/p00", [
            {"op": "replace", "path": "/spec/nodeName", "value": "n7"}],
            "application/json-patch+json")
        assert st == 200 and d["spec"]["nodeName"] == "n7", d
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
