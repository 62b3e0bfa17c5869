"""Test helper: a lab API server in a temp dir plus a minimal raw client
(http.client over TLS) that speaks LIST/WATCH like client-go."""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
KDP_LAB = os.environ.get("KDP_LAB") or os.path.join(
    HERE, "..", "..", "lab", "kdp-lab")


class Lab:
    def __init__(self, *start_args):
        self.dir = tempfile.mkdtemp(prefix="kdp-apiserver-")
        self.start_args = list(start_args)

    def __enter__(self):
        self.lab("start", *self.start_args)
        self.port = int(open(os.path.join(self.dir, "port")).read())
        return self

    def __exit__(self, *exc):
        self.lab("stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def lab(self, cmd, *args):
        return subprocess.run([KDP_LAB, "apiserver", cmd, "--dir", self.dir,
                               *args], check=True, capture_output=True,
                              text=True).stdout

    def fault(self, *args):
        return self.lab("fault", *args)

    def path(self, name):
        return os.path.join(self.dir, name)

    def token(self, user="kdp-admin"):
        for line in open(self.path("tokens")):
            p = line.strip().split(",")
            if len(p) > 1 and p[1] == user:
                return p[0]
        raise KeyError(user)

    def client(self, cert="admin", token=None, ca="ca.crt"):
        return Client(self, cert, token, ca)


class Client:
    def __init__(self, lab, cert, token, ca):
        self.lab = lab
        self.ctx = ssl.create_default_context(cafile=lab.path(ca))
        if cert:
            self.ctx.load_cert_chain(lab.path(cert + ".crt"),
                                     lab.path(cert + ".key"))
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.lab.port,
                                           context=self.ctx, timeout=timeout)

    def request(self, method, path, body=None, ctype="application/json",
                timeout=10):
        c = self.conn(timeout)
        h = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = ctype
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
        finally:
            c.close()

    def get(self, path, **q):
        if q:
            path += "?" + urllib.parse.urlencode(q)
        return self.request("GET", path)

    def must(self, method, path, body=None, ctype="application/json",
             want=(200, 201)):
        st, doc = self.request(method, path, body, ctype)
        if st not in want:
            raise AssertionError(f"{method} {path}: {st} {doc}")
        return doc

    def watch(self, path, timeout=10, **q):
        return Watch(self, path, q, timeout)


class Watch:
    """One watch stream; events() yields decoded events until the server
    ends the stream; a cut connection raises ConnectionError."""

    def __init__(self, client, path, q, timeout):
        q = dict(q, watch="1")
        self.c = client.conn(timeout)
        self.c.request("GET", path + "?" + urllib.parse.urlencode(q),
                       headers=client.headers)
        self.r = self.c.getresponse()
        self.status = self.r.status
        self.buf = b""

    def body(self):
        return json.loads(self.r.read())

    def next(self):
        """The next event, or None at a clean end of stream (final chunk
        seen). read1, unlike readline, reports a cut stream as
        IncompleteRead instead of a quiet EOF."""
        while b"\n" not in self.buf:
            try:
                data = self.r.read1(65536)
            except (http.client.IncompleteRead, ConnectionError,
                    ssl.SSLError) as e:
                raise ConnectionError(f"watch cut: {e!r}")
            except socket.timeout:
                raise TimeoutError("no watch event in time")
            if not data:
                if self.buf.strip():
                    raise ConnectionError("stream ended mid-event")
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def until(self, pred, limit=1000):
        for _ in range(limit):
            ev = self.next()
            if ev is None:
                raise AssertionError("stream ended before the event")
            if pred(ev):
                return ev
        raise AssertionError("event not seen")

    def close(self):
        self.c.close()


def wait_for(pred, timeout=5.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False
