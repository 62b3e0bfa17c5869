#!/usr/bin/python3
"""Every fault of `kdp-lab apiserver fault` as a client observes it."""

import socket
import sys
import time

from labclient import Lab

PODS = "/api/v1/namespaces/default/pods"


def main():
    with Lab("--history", "1000") as lab:
        c = lab.client()
        c.must("POST", PODS, {"metadata": {"name": "a"},
                              "spec": {"containers": []}})
        rv = c.must("GET", PODS)["metadata"]["resourceVersion"]

        # drop-watches: the stream is cut without the final chunk.
        w = c.watch(PODS, resourceVersion=rv)
        time.sleep(0.2)
        assert '"dropped": 1' in lab.fault("drop-watches")
        try:
            w.next()
            raise AssertionError("dropped watch ended cleanly")
        except ConnectionError:
            pass
        w.close()

        # expire-next-watch: ERROR 410 event, then HTTP 410; then normal.
        lab.fault("expire-next-watch")
        w = c.watch(PODS, resourceVersion=rv)
        ev = w.next()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410, ev
        w.close()
        lab.fault("expire-next-watch", "http")
        w = c.watch(PODS, resourceVersion=rv)
        assert w.status == 410 and w.body()["reason"] == "Expired"
        w.close()
        w = c.watch(PODS, resourceVersion=rv, timeoutSeconds="1")
        assert w.status == 200 and w.next() is None
        w.close()

        # stall: a request made during the window waits for its end.
        lab.fault("stall", "1.0")
        t = time.monotonic()
        c.must("GET", PODS)
        took = time.monotonic() - t
        assert 0.7 < took < 3, took
        t = time.monotonic()
        c.must("GET", PODS)
        assert time.monotonic() - t < 0.5

        # malformed: a Pod with a numeric IP shows up in lists and watches.
        w = c.watch(PODS, resourceVersion=rv)
        lab.fault("malformed", "pods")
        ev = w.next()
        assert ev["object"]["status"]["podIP"] == 12345, ev
        w.close()
        items = c.must("GET", "/api/v1/pods")["items"]
        assert any(i["metadata"]["name"] == "kdp-malformed" and
                   not isinstance(i["status"]["podIP"], str) for i in items)
        lab.fault("malformed", "pods", "json")
        conn = c.conn()
        conn.request("GET", "/api/v1/pods", headers=c.headers)
        raw = conn.getresponse().read()
        conn.close()
        try:
            __import__("json").loads(raw)
            raise AssertionError("json mode served valid JSON")
        except ValueError:
            pass
        lab.fault("clear")
        items = c.must("GET", "/api/v1/pods")["items"]
        assert [i["metadata"]["name"] for i in items] == ["a"], items

        # reset-history: RVs jump, old RVs and continue tokens → 410,
        # open watches are dropped.
        c.must("POST", PODS, {"metadata": {"name": "b"},
                              "spec": {"containers": []}})
        page = c.must("GET", PODS + "?limit=1")
        w = c.watch(PODS, resourceVersion=rv)
        lab.fault("reset-history")
        try:
            while w.next() is not None:
                pass
            raise AssertionError("watch survived reset-history")
        except ConnectionError:
            pass
        w.close()
        w = c.watch(PODS, resourceVersion=rv)
        ev = w.next()
        assert ev["type"] == "ERROR" and ev["object"]["code"] == 410, ev
        w.close()
        st, d = c.get(PODS, limit=1, **{"continue":
                                        page["metadata"]["continue"]})
        assert st == 410, (st, d)
        new_rv = c.must("GET", PODS)["metadata"]["resourceVersion"]
        assert int(new_rv) > int(rv) + 100000

        # refuse: connection refused for a while, then served again.
        lab.fault("refuse", "1")
        time.sleep(0.3)
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", lab.port))
            raise AssertionError("connection accepted while refusing")
        except ConnectionRefusedError:
            pass
        finally:
            s.close()
        deadline = time.monotonic() + 5
        while True:
            try:
                c.must("GET", PODS)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
