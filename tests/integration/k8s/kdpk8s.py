"""kdp against the kdp-lab API server stand-in: start/stop kdp with a
Kubernetes datastore, read its telemetry, drive the stand-in with kubectl.
Shared by the tests in this folder and perf/k8s_scale.py."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import cluster  # noqa: E402
import kdptel  # noqa: E402
from labclient import Lab, wait_for  # noqa: E402,F401

KDP_BIN = os.environ.get("KDP_BIN") or os.path.join(ROOT, "build", "dp",
                                                    "main", "kdp")
POD_MAC = "02:00:00:00:01:01"       # x/a, the pod on our pod port
UPLINK_MAC = "02:00:00:00:0a:01"
NODE_B_MAC = "02:00:00:00:0b:01"
GW_MAC = "02:00:00:00:0f:01"


def config(kubeconfig, uplink="net_null0,no-rx=1",
           pod="net_null1,no-rx=1", **extra):
    cfg = {"node": "node-a",
           "datastore": {"type": "kubernetes", "kubeconfig": kubeconfig},
           "uplink": {"devargs": uplink, "mac": UPLINK_MAC,
                      "neighbors": {cluster.NODE_B_IP: NODE_B_MAC,
                                    cluster.GATEWAY: GW_MAC},
                      "gateway": cluster.GATEWAY},
           "pod_ports": [{"pod": "x/a", "devargs": pod, "mac": POD_MAC}],
           "workers": 1}
    cfg.update(extra)
    return cfg


class Kdp:
    """One kdp process. Its log goes to WORK/kdp-NAME.log."""

    def __init__(self, work, cfg, name="kdp", mem_mb=256, log_level=None):
        self.work, self.name = work, name
        self.prefix = f"kdpk8s-{name}-{os.getpid()}"
        self.cfg_path = os.path.join(work, f"kdp-{name}.json")
        self.log_path = os.path.join(work, f"kdp-{name}.log")
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f)
        self.argv = [KDP_BIN, "-l", "0,1", "--no-pci", "--file-prefix",
                    self.prefix, "--huge-unlink", "-m", str(mem_mb),
                    "--log-level", "lib.eal:notice", "--",
                    "--config", self.cfg_path]
        if log_level:
            self.argv += ["--log-level", log_level]
        self.proc = None
        self.tel = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.log_f = open(self.log_path, "wb")
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log_f,
                                     stderr=subprocess.STDOUT, cwd=self.work)
        try:
            self.tel = kdptel.Telemetry(self.prefix, timeout=20)
        except OSError:
            self.stop()
            raise AssertionError(f"kdp: no telemetry socket; log:\n"
                                 f"{self.log()}")
        # The socket is up with the EAL; kdp's commands come a bit later.
        if not wait_for(lambda: isinstance(self.ds(), dict), 20, 0.01):
            self.stop()
            raise AssertionError(f"kdp: no /kdp/datastore; log:\n"
                                 f"{self.log()}")
        return self

    def stop(self):
        if self.tel:
            self.tel.close()
            self.tel = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_f.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout=10.0):
        return wait_for(lambda: text in self.log(), timeout, 0.05)

    def cmd(self, c):
        return self.tel.cmd(c)

    def ds(self):
        return self.cmd("/kdp/datastore")

    def stats(self):
        return self.cmd("/kdp/stats")

    def wait_published(self, timeout=20.0):
        if not wait_for(lambda: int(self.ds()["publishes"]) > 0, timeout,
                        0.02):
            raise AssertionError(f"kdp never published; log:\n{self.log()}")

    def routes(self):
        out, start = [], 0
        while True:
            page = self.cmd(f"/kdp/routes,{start}")
            out += page["routes"]
            start += len(page["routes"])
            if not page["routes"] or start >= int(page["total"]):
                return out

    def array_pages(self, cmd):
        """Every entry of a paged array (/kdp/endpoints, /kdp/nodes): pages
        from START 0 until an empty one."""
        out = []
        while True:
            page = self.cmd(f"{cmd},{len(out)}")
            if not page:
                return out
            out += page

    def policy(self):
        """/kdp/policy's endpoints, by pod, through every page."""
        out, start = {}, 0
        while True:
            page = self.cmd(f"/kdp/policy,{start}")
            out.update({v["pod"]: v for v in page.values()
                        if isinstance(v, dict)})
            if "endpoints_next" not in page:
                return out
            start = int(page["endpoints_next"])

    def wait_route(self, pred, timeout=5.0, step=0.002):
        """Polls /kdp/routes until pred(routes) holds; the CLOCK_MONOTONIC
        time it was seen, or None."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred(self.routes()):
                return time.monotonic()
            time.sleep(step)
        return None


class Kubectl:
    def __init__(self, lab, kubeconfig=None):
        self.env = dict(os.environ, HOME=lab.path("home"),
                        KUBECONFIG=kubeconfig or lab.path("kubeconfig"))
        self.lab = lab

    def __call__(self, *args, stdin=None):
        r = subprocess.run(["kubectl", "--request-timeout=10s", *args],
                           input=stdin, capture_output=True, text=True,
                           env=self.env)
        if r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr}")
        return r.stdout

    def apply(self, obj):
        """Returns the object's resourceVersion after the apply."""
        return self("apply", "-f", "-", "-o",
                    "jsonpath={.metadata.resourceVersion}",
                    stdin=json.dumps(obj)).strip()


def write_time(lab, rv):
    """CLOCK_MONOTONIC time at which the stand-in wrote resourceVersion rv."""
    out = json.loads(lab.lab("write-times", str(int(rv) - 1)))
    for r, t in out["writes"]:
        if r == int(rv):
            return t
    raise AssertionError(f"no write time for rv {rv}")


def load(lab, objs):
    path = lab.path("objs.json")
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
    lab.lab("load", path)


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
