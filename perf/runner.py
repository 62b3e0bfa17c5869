"""Launch one DPDK forwarding process, measure its Tx rate, stop it.

Shared by the baselines and the kdp scenarios (perf/scenarios/): a scenario
only says what to run (a Launch); how a rate is measured is the same for all,
so that the numbers are comparable.

Rate: delta(opackets of the sink port) / wall time between the two telemetry
samples, taken after the sink has started to see packets and a warm-up has
passed. Ports are looked up by ethdev name, not id: kdp probes its ports from
its config, in an order that is its own business.
"""

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cpustat  # noqa: E402
import gen_pcap  # noqa: E402
from telemetry import Telemetry, TelemetryError, socket_path  # noqa: E402

OUT = os.environ.get("KDP_BENCH_OUT", os.path.join(HERE, "out"))

# Fixed placement: the forwarding lcore runs on core 1, the main lcore and
# every EAL control thread (telemetry included) on core 0.
EAL_MEM_MB = int(os.environ.get("KDP_BENCH_MEM_MB", "384"))
# Mbufs for pools the harness controls: a 65536-flow pcap is held whole in
# mbufs by net_pcap's infinite_rx, plus rings and caches.
NUM_MBUFS = 81920
MAIN_CORE = 0
FWD_CORE = 1


def eal_args(prefix, lcores=f"{MAIN_CORE},{FWD_CORE}", vdevs=()):
    args = ["-l", lcores, "--file-prefix", prefix, "--huge-unlink",
            "-m", str(EAL_MEM_MB), "--no-pci", "--log-level", "lib.eal:notice"]
    for v in vdevs:
        args += ["--vdev", v]
    return args


@dataclasses.dataclass
class Launch:
    """What a scenario asks the harness to run."""
    cmd: list                 # argv
    prefix: str               # EAL --file-prefix (telemetry socket lives there)
    sink: str                 # ethdev name whose opackets is the result
    source: str = None        # ethdev name fed by the pcap (for Rx rate)
    startup_timeout: float = 30.0
    cwd: str = None
    # Called with the open Telemetry after the second sample, while the
    # process still runs; its result is returned as "check". A scenario
    # uses it to prove the packets went where it claims (kdp: /kdp/stats).
    check: object = None
    # Called with the open Telemetry once the sink moves, before the
    # warm-up; returns when the process is ready to be measured (kdp: the
    # policy's rte_acl forms, built in the background, are attached).
    ready: object = None
    # Processes started once the telemetry is up, in order, and stopped
    # before the main one (the pods of the vhost scenarios): Companion.
    companions: tuple = ()
    # Forwarding threads whose on-CPU time is measured (res["nspp"]).
    workers: int = 1
    # Called after the process stopped, with (log path, result so far);
    # returns a dict merged into the result (testpmd prints its busy
    # cycles only when it stops).
    post: object = None


@dataclasses.dataclass
class Companion:
    """A helper process of a Launch (a pod's testpmd): started when every
    path in @needs exists (the switch's vhost-user sockets)."""
    name: str
    cmd: list
    needs: tuple = ()


class MeasureError(Exception):
    pass


def pcap(kind, size, flows, **kw):
    """Path of a cached pcap for these generator arguments (built once)."""
    with open(gen_pcap.__file__, "rb") as f:
        gen_hash = hashlib.md5(f.read()).hexdigest()[:8]
    key = json.dumps([kind, size, flows, sorted(kw.items())], sort_keys=True)
    tag = hashlib.md5((gen_hash + key).encode()).hexdigest()[:10]
    d = os.path.join(OUT, "pcap")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{kind}-{size}b-{flows}f-{tag}.pcap")
    if not os.path.exists(path):
        tmp = path + ".tmp"
        gen_pcap.write(tmp, gen_pcap.build(kind, size, flows, **kw))
        os.replace(tmp, path)
    return path


def _stop(proc, timeout=10.0):
    if proc.poll() is not None:
        return
    # testpmd leaves on EOF on stdin; everyone leaves on SIGINT.
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=1.0)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _start_companions(launch, log_path, alive, deadline):
    procs = []
    try:
        for c in launch.companions:
            while not all(os.path.exists(p) for p in c.needs):
                if not alive() or time.monotonic() > deadline:
                    raise MeasureError(f"{c.name}: {c.needs} did not appear")
                time.sleep(0.1)
            with open(f"{log_path}.{c.name}", "w") as log:
                log.write("$ " + " ".join(c.cmd) + "\n")
                log.flush()
                procs.append(subprocess.Popen(c.cmd, stdin=subprocess.PIPE, stdout=log,
                                              stderr=subprocess.STDOUT,
                                              start_new_session=True))
            time.sleep(0.5)
            if procs[-1].poll() is not None:
                raise MeasureError(f"{c.name} exited (log {log_path}.{c.name})")
    except BaseException:
        for p in reversed(procs):
            _stop(p)
        raise
    return procs


def _port_ids(tel, names, proc, deadline):
    while True:
        ports = tel.ports()
        if all(n in ports for n in names):
            return [ports[n] for n in names]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise MeasureError(f"ports {names} not found; process has {sorted(ports)}")
        time.sleep(0.2)


def spawn(cmd, cwd, log_path):
    """Start @cmd in its own session, output to @log_path (stdin a pipe:
    testpmd leaves on its EOF, see _stop)."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, cwd=cwd,
                                start_new_session=True)


def wait_sink(tel, sink_id, launch, alive, deadline):
    """Return once port @sink_id has sent packets: traffic starts after the
    port and the tables are up (an ACL build can take seconds)."""
    while tel.stats(sink_id)["opackets"] == 0:
        if not alive():
            raise MeasureError("process exited")
        if time.monotonic() > deadline:
            raise MeasureError(f"no packets out of {launch.sink} after "
                               f"{launch.startup_timeout}s")
        time.sleep(0.1)


def measure(launch, warmup, interval, log_path):
    """Run @launch; return {"mpps": Tx Mpps of the sink, "rx_mpps": ...}."""
    proc = spawn(launch.cmd, launch.cwd, log_path)
    comps = []
    try:
        alive = lambda: proc.poll() is None  # noqa: E731
        deadline = time.monotonic() + launch.startup_timeout
        try:
            tel = Telemetry.wait(socket_path(launch.prefix), launch.startup_timeout, alive)
        except TelemetryError as e:
            raise MeasureError(str(e)) from e
        with tel:
            comps += _start_companions(launch, log_path, alive, deadline)
            names = [launch.sink] + ([launch.source] if launch.source else [])
            ids = _port_ids(tel, names, proc, deadline)
            wait_sink(tel, ids[0], launch, alive, deadline)
            if launch.ready:
                launch.ready(tel)
            time.sleep(warmup)
            tids = cpustat.fwd_threads(proc.pid, launch.workers)
            c0 = cpustat.oncpu_ns(proc.pid, tids)
            # Each counter read is timed at the middle of its request: a
            # reply delayed on a loaded host then moves the interval by
            # half the delay at most (interval_err_s below).
            ta = time.monotonic()
            s0 = [tel.stats(i) for i in ids]
            tb = time.monotonic()
            time.sleep(interval)
            tc = time.monotonic()
            s1 = [tel.stats(i) for i in ids]
            td = time.monotonic()
            t0, t1 = (ta + tb) / 2, (tc + td) / 2
            c1 = cpustat.oncpu_ns(proc.pid, tids)
            life = cpustat.life_share(proc.pid, tids)
            if not alive():
                raise MeasureError("process exited during the measurement")
            checked = launch.check(tel) if launch.check else None
    except TelemetryError as e:
        raise MeasureError(str(e)) from e
    finally:
        for p in reversed(comps):
            _stop(p)
        _stop(proc)
    dt = t1 - t0
    res = {"mpps": (s1[0]["opackets"] - s0[0]["opackets"]) / dt / 1e6,
           "oerrors_mpps": (s1[0]["oerrors"] - s0[0]["oerrors"]) / dt / 1e6,
           "interval_s": dt, "interval_err_s": ((tb - ta) + (td - tc)) / 2}
    pk = s1[0]["opackets"] - s0[0]["opackets"]
    if pk > 0:
        # On-CPU ns of the forwarding thread(s) per packet out of the sink
        # (perf/cpustat.py): what the packets cost, whatever the sharing.
        res["nspp"] = (c1 - c0) / pk
        res["cpu_share"] = (c1 - c0) / 1e9 / dt / len(tids)
    res["cpu_share_life"] = life
    if launch.source:
        res["rx_mpps"] = (s1[1]["ipackets"] - s0[1]["ipackets"]) / dt / 1e6
    if checked is not None:
        res["check"] = checked
    if launch.post:
        res.update(launch.post(log_path, res))
    return res
