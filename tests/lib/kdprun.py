"""Run the real kdp over net_pcap ports, for integration tests.

A run lives in a temp dir: kdp.json, the datastore directory ds/, one
<port>_in.pcap / <port>_out.pcap pair per port. `Kdp` is the low-level
handle (start, telemetry, stop); `run()` is the common case: feed frames,
wait until kdp has taken them all in and stopped moving them, stop it with
SIGINT and return the output frames and the final /kdp/stats.

Cleanup is unconditional: the process is killed if still alive, its DPDK
runtime dir /var/run/dpdk/<prefix> and the temp dir are removed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import kdptel  # noqa: E402

from scapy.utils import rdpcap, wrpcap  # noqa: E402

UPLINK_MAC = "02:00:00:00:0a:01"
NODE_B_MAC = "02:00:00:00:0b:01"
GATEWAY_MAC = "02:00:00:00:0f:01"
GW_MAC = "ee:ee:ee:ee:ee:ee"   # what pods see as their next hop (Calico)
POD_MACS = {"x/a": "02:00:00:00:01:01", "x/b": "02:00:00:00:01:02"}

HUGE_DIR = "/sys/kernel/mm/hugepages/hugepages-2048kB"
RUNTIME = "/var/run/dpdk"


class KdpError(Exception):
    pass


def check_hugepages(mb):
    """Fail with a clear message when fewer than @mb MiB of 2 MiB pages are free."""
    try:
        with open(os.path.join(HUGE_DIR, "free_hugepages")) as f:
            free = int(f.read())
    except OSError as e:
        raise KdpError("hugepages: cannot read %s/free_hugepages (%s); "
                       "kdp integration tests need 2 MiB hugepages" % (HUGE_DIR, e))
    if free * 2 < mb:
        raise KdpError("hugepages: %d MiB free (%d x 2 MiB), this test needs "
                       "%d MiB; free some or raise nr_hugepages" % (free * 2, free, mb))


def base_config(ds_dir, node="node-a"):
    return {"node": node, "datastore": {"type": "file", "path": ds_dir},
            "uplink": {"mac": UPLINK_MAC,
                       "neighbors": {cluster.NODE_B_IP: NODE_B_MAC,
                                     cluster.GATEWAY: GATEWAY_MAC},
                       "gateway": cluster.GATEWAY},
            "workers": 1}


class Kdp:
    """One kdp process in its own temp dir.

    ports: ordered dict name -> devargs tail (after "net_pcapN,"), or None
    for the default rx_pcap=<name>_in.pcap,tx_pcap=<name>_out.pcap. The
    name "uplink" is the uplink; every other name is a pod "ns/name" whose
    MAC is taken from pod_macs.
    """

    def __init__(self, exe, objs, ports, inputs=None, cfg_edit=None,
                 mem_mb=256, pod_macs=None, eal_extra=(), tag="t", workers=1):
        self.exe = exe
        self.workers = workers
        self.dir = tempfile.mkdtemp(prefix="kdp-integ-")
        self.prefix = "kdpinteg-%s-%d-%d" % (tag, os.getpid(), int(time.time() * 1e6) % 10**9)
        self.mem_mb = mem_mb
        self.eal_extra = list(eal_extra)
        self.proc = None
        self.tel = None
        self.ds_dir = os.path.join(self.dir, "ds")
        cluster.write(self.ds_dir, objs)
        self.port_names = list(ports)
        pod_macs = pod_macs or POD_MACS
        cfg = base_config(self.ds_dir)
        cfg["workers"] = workers
        pods = []
        for i, name in enumerate(self.port_names):
            fn = self.fname(name)
            tail = ports[name]
            if tail is None:
                # net_pcap has one tx queue per tx_pcap; kdp needs one per
                # worker: worker w writes <name>_out.pcap (w = 0) or
                # <name>_out<w>.pcap.
                tail = "rx_pcap=%s" % self.path(fn + "_in.pcap") + "".join(
                    ",tx_pcap=%s" % self.path(self.out_name(fn, w))
                    for w in range(workers))
            devargs = "net_pcap%d,%s" % (i, tail)
            if name == "uplink":
                cfg["uplink"]["devargs"] = devargs
            else:
                pods.append({"pod": name, "devargs": devargs,
                             "mac": pod_macs[name]})
        if pods:
            cfg["pod_ports"] = pods
        if cfg_edit:
            cfg_edit(cfg)
        self.cfg = cfg
        self.write_config(cfg)
        for name in self.port_names:
            frames = (inputs or {}).get(name, [])
            wrpcap(self.path(self.fname(name) + "_in.pcap"),
                   [bytes(f) for f in frames], linktype=1)

    @staticmethod
    def out_name(fn, w):
        return fn + ("_out.pcap" if w == 0 else "_out%d.pcap" % w)

    @staticmethod
    def fname(port):
        return port.replace("/", "_")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def write_config(self, cfg):
        with open(self.path("kdp.json"), "w") as f:
            json.dump(cfg, f, indent=1)

    def argv(self):
        # Main lcore plus one per worker, on however many cores there are
        # (the machine may have fewer than workers + 1).
        ncpu = os.cpu_count() or 1
        lcores = ["-l", "0,1"] if self.workers == 1 else [
            "--lcores", ",".join("%d@%d" % (i, min(i, ncpu - 1))
                                 for i in range(self.workers + 1))]
        return ([self.exe] + lcores + ["--no-pci", "--file-prefix", self.prefix,
                 "-m", str(self.mem_mb), "--log-level", "lib.eal:error"]
                + self.eal_extra + ["--", "--config", self.path("kdp.json")])

    def start(self, wait_tel=True):
        if self.mem_mb and "--no-huge" not in self.eal_extra:
            check_hugepages(self.mem_mb)
        self.log = open(self.path("kdp.log"), "w+")
        self.proc = subprocess.Popen(self.argv(), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        if wait_tel:
            deadline = time.time() + 15
            while True:
                if self.proc.poll() is not None:
                    raise KdpError("kdp exited %d during start-up:\n%s"
                                   % (self.proc.returncode, self.output()))
                try:
                    self.tel = kdptel.Telemetry(self.prefix, timeout=0.2)
                    break
                except OSError:
                    if time.time() > deadline:
                        raise KdpError("no telemetry socket after 15 s:\n"
                                       + self.output())
            # Ports start after the first publish: wait for it.
            # (/kdp/ commands answer null until kdp has registered them.)
            while (self.cmd("/kdp/routes") or {}).get("generation", 0) == 0:
                if time.time() > deadline:
                    raise KdpError("no tables published after 15 s:\n"
                                   + self.output())
                time.sleep(0.02)
        return self

    def cmd(self, c):
        return self.tel.cmd(c)

    def stats(self):
        return self.cmd("/kdp/stats")

    def port_stats(self, st=None):
        """name -> {rx, tx, drops} using the port order of the config."""
        st = st or self.stats()
        out = {}
        for v in st["ports"].values():
            idx = int(v["name"].replace("net_pcap", ""))
            out[self.port_names[idx]] = v
        return out

    def routes(self):
        r = self.cmd("/kdp/routes")
        return r["generation"], set(r["routes"])

    def wait_idle(self, expect_rx, timeout=10.0, settle=0.15):
        """Wait until every port received its frames and tx/drops stand still."""
        deadline = time.time() + timeout
        last, since = None, time.time()
        while True:
            st = self.stats()
            ps = self.port_stats(st)
            done = all(ps[n]["rx"] >= expect_rx.get(n, 0) for n in ps)
            key = (st["rx"], st["tx"], st["drops"])
            if key != last:
                last, since = key, time.time()
            elif done and time.time() - since >= settle:
                return st
            if time.time() > deadline:
                raise KdpError("kdp did not go idle: want rx %s, have %s"
                               % (expect_rx, {n: ps[n]["rx"] for n in ps}))
            time.sleep(0.03)

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        if self.tel:
            self.tel.close()
            self.tel = None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise KdpError("kdp ignored signal %d for %.0f s" % (sig, timeout))
        return rc

    def wait_exit(self, timeout=10.0):
        return self.proc.wait(timeout)

    def output(self):
        if self.proc is None:
            return ""
        self.log.flush()
        with open(self.path("kdp.log")) as f:
            return f.read()

    def out_frames(self, port):
        """Frames sent on @port, every worker's file (in worker order)."""
        out = []
        for w in range(self.workers):
            f = self.path(self.out_name(self.fname(port), w))
            if os.path.exists(f):
                out += list(rdpcap(f))
        return out

    def cleanup(self):
        if self.tel:
            self.tel.close()
            self.tel = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(os.path.join(RUNTIME, self.prefix), ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, etype, *exc):
        if etype is not None and self.proc is not None:
            alive = self.proc.poll() is None
            sys.stderr.write("--- kdp (%s) output:\n%s---\n" % (
                "still running" if alive else "exit %d" % self.proc.returncode,
                self.output()))
        self.cleanup()


class Result:
    def __init__(self, rc, stats, out, log):
        self.rc, self.stats, self.out, self.log = rc, stats, out, log
        self.ports = {}

    def drops(self):
        """Non-zero drop reasons."""
        return {k: v for k, v in self.stats["drop_reasons"].items() if v}


def run(exe, inputs, objs=None, ports=None, cfg_edit=None, sig=signal.SIGINT,
        workers=1):
    """Feed @inputs (port name -> frames), wait for idle, stop with @sig."""
    objs = objs if objs is not None else cluster.three_nodes()
    names = ports or ["uplink", "x/a", "x/b"]
    with Kdp(exe, objs, {n: None for n in names}, inputs, cfg_edit,
             workers=workers) as k:
        k.start()
        st = k.wait_idle({n: len(inputs.get(n, [])) for n in names})
        ps = k.port_stats(st)
        rc = k.stop(sig)
        if rc != 0:
            raise KdpError("kdp exited %d after signal %d:\n%s"
                           % (rc, sig, k.output()))
        res = Result(rc, st, {n: k.out_frames(n) for n in names}, k.output())
        res.ports = ps
        return res


def main(cases, argv=None):
    """Tiny runner: argv is [kdp exe, source root, optional case names...].
    Each case is called with the kdp path; prints one line per case and
    the closing 'N passed, N failed' line."""
    import traceback
    argv = argv if argv is not None else sys.argv[1:]
    if len(argv) < 2:
        print("usage: %s KDP_EXE SOURCE_ROOT [CASE...]" % sys.argv[0])
        return 2
    exe, only = argv[0], set(argv[2:])
    passed = failed = 0
    t_all = time.time()
    for c in cases:
        if only and c.__name__ not in only:
            continue
        t0 = time.time()
        try:
            c(exe)
            passed += 1
            print("PASS %-32s %5.2fs" % (c.__name__, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-32s %5.2fs" % (c.__name__, time.time() - t0), flush=True)
            traceback.print_exc()
    print("total %.2fs" % (time.time() - t_all))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0
