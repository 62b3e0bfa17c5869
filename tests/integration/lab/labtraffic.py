"""Shared by the kdp-lab traffic and churn tests: a 2-node lab, kdp's
counters through telemetry, UDP counters and sequenced streams inside pod
netns, and dpdk-testpmd as a vhost-user pod.

Run as a script inside a pod's netns it is the traffic tool:

    labtraffic.py count PORT IDLE          count datagrams until IDLE s pass
                                           without one (after the first)
    labtraffic.py seqrecv PORT IDLE        the same, for a sequenced stream:
                                           prints received, highest seq, gaps
    labtraffic.py seqsend IP PORT RATE     numbered datagrams at RATE/s until
                                           stdin closes; prints the count
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

FAILS = []


def check(cond, msg):
    print("%s %s" % ("ok  " if cond else "FAIL", msg), flush=True)
    if not cond:
        FAILS.append(msg)
    return cond


def verdict(name):
    """The exit status of a test: 1 when a check failed."""
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("%s: ok" % name)
    return 0


# ---- the traffic tool (runs in a pod's netns) ----------------------------

def _rx_socket(port, idle):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(idle)
    print("ready", flush=True)
    return s


def _recv_loop(s, on_packet, first_timeout=120.0):
    """Until IDLE seconds pass without a datagram (after the first one)."""
    idle = s.gettimeout()
    s.settimeout(first_timeout)
    try:
        while True:
            on_packet(s.recv(2048))
            s.settimeout(idle)
    except socket.timeout:
        pass


def tool_count(port, idle):
    n = [0]

    def one(_):
        n[0] += 1
    _recv_loop(_rx_socket(port, idle), one)
    print(json.dumps({"received": n[0]}), flush=True)


def tool_seqrecv(port, idle):
    seen = set()

    def one(data):
        seen.add(struct.unpack("!Q", data[:8])[0])
    _recv_loop(_rx_socket(port, idle), one)
    top = max(seen) if seen else -1
    print(json.dumps({"received": len(seen), "max_seq": top,
                      "missing": top + 1 - len(seen)}), flush=True)


def tool_seqsend(ip, port, rate):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()),
                     daemon=True).start()
    seq, t0, pad = 0, time.monotonic(), b"\0" * 56
    while not stop.is_set():
        s.sendto(struct.pack("!Q", seq) + pad, (ip, port))
        seq += 1
        delay = t0 + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": seq, "seconds": time.monotonic() - t0}),
          flush=True)


# ---- the lab --------------------------------------------------------------

def other_lab_up():
    """A lab with the fixed names (kln1..., klul) of another run is up."""
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE,
                         text=True).stdout
    return any(re.fullmatch(r"kln\d+|klul", ln.split()[0])
               for ln in out.splitlines() if ln.split())


class LabRun:
    """A 2-node lab in its own directory, torn down on exit."""

    def __init__(self, nodes=2, wait=300):
        from kdplab import lab as labmod
        self.labmod = labmod
        d = tempfile.mkdtemp(prefix="kdp-lab-traffic.")
        os.rmdir(d)
        self.lab = labmod.Lab(d)
        self.nodes = nodes
        self.wait = wait

    def __enter__(self):
        deadline = time.time() + self.wait
        while other_lab_up():
            if time.time() > deadline:
                raise SystemExit("another kdp-lab stays up; giving up")
            print("waiting for another kdp-lab to go down", flush=True)
            time.sleep(5)
        self.lab.up(self.nodes)
        self.lab.kubectl("create", "ns", "x")
        return self

    def __exit__(self, *exc):
        self.lab.down()

    def state(self):
        return self.lab.load()

    def node(self, name):
        return next(n for n in self.state()["nodes"] if n["name"] == name)

    def pod(self, key):
        return self.state()["pods"][key]

    def pod_add(self, key, node, kind="tap"):
        self.lab.pod_add(key, node=node, port_kind=kind)
        return self.pod(key)

    def share(self, key):
        """What kdp-cni told a vhost-user pod (socket, mac, address)."""
        p = self.pod(key)
        path = os.path.join(self.node(p["node"])["dir"], "vhost-share",
                            p["cid"] + ".json")
        with open(path) as f:
            return json.load(f)

    def tel(self, node, cmd):
        import kdptel
        t = kdptel.Telemetry(self.node(node)["prefix"], timeout=5)
        try:
            return t.cmd(cmd)
        finally:
            t.close()

    def stats(self, node):
        return self.tel(node, "/kdp/stats")

    def in_pod(self, key, *args, **kw):
        return subprocess.Popen(
            ["ip", "netns", "exec", self.pod(key)["netns"]] + list(args),
            **kw)

    def tool(self, key, *args):
        """labtraffic.py in a pod's netns; returns once it is ready."""
        p = self.in_pod(key, sys.executable, os.path.abspath(__file__),
                        *[str(a) for a in args], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
        if args[0] != "seqsend":
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit("traffic tool in %s: %r" % (key, line))
        return p


def tool_result(p, timeout=180):
    out = p.communicate(timeout=timeout)[0]
    return json.loads(out.strip().splitlines()[-1])


def port_by_role(stats, pod):
    for v in stats["ports"].values():
        if v["role"] == pod:
            return v
    return {"rx": 0, "tx": 0, "drops": 0}


def uplink(stats):
    return port_by_role(stats, "uplink")


# ---- testpmd as a vhost-user pod -----------------------------------------

class Testpmd:
    """dpdk-testpmd on a pod's vhost-user socket, driven interactively.

    Sending is paced from here: each "start tx_first B" sends B bursts of
    --burst packets (then forwards in rxonly mode, which here receives
    nothing) and "stop" ends it; the pause between rounds sets the rate.
    """

    def __init__(self, share, dst_ip, udp_dst, prefix, burst=32):
        self.burst = burst
        self.out = []
        self.p = subprocess.Popen(
            # stdbuf: testpmd's stdout is a pipe; its answers must come
            # line by line.
            ["stdbuf", "-oL", "dpdk-testpmd", "-l", "0,1", "--no-pci",
             "-m", "128",
             "--single-file-segments", "--file-prefix", prefix,
             "--vdev", "net_virtio_user0,path=%s,mac=%s,queues=1" %
             (share["socket"], share["mac"]),
             "--", "-i", "--forward-mode=rxonly", "--nb-cores=1",
             "--burst=%d" % burst, "--total-num-mbufs=2048",
             "--eth-peer=0,ee:ee:ee:ee:ee:ee",
             "--tx-ip=%s,%s" % (share["address"].split("/")[0], dst_ip),
             "--tx-udp=4000,%d" % udp_dst, "--txpkts=64"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.prefix = prefix
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            self.cmd("show port info 0")
            self._wait_for("Link status: up", 30)
        except BaseException:
            self.close()
            raise

    def _drain(self):
        for line in self.p.stdout:
            self.out.append(line)

    def _wait_for(self, text, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(text in ln for ln in self.out):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("testpmd: no %r; output:\n%s" %
                         (text, "".join(self.out[-40:])))

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()

    def send(self, packets, bursts_per_round, pause):
        """Until the device took @packets (a full ring takes fewer: those
        are testpmd's TX-dropped, never on the wire); returns TX-packets."""
        sent = self.tx_packets()
        target = sent + packets
        while sent < target:
            rounds = -(-(target - sent) // (self.burst * bursts_per_round))
            for _ in range(rounds):
                self.cmd("start tx_first %d" % bursts_per_round)
                self.cmd("stop")
                time.sleep(pause)
            sent = self.tx_packets()  # answered after every round ran
        return sent

    def tx_packets(self):
        """The port's TX-packets (what the vhost-user device accepted)."""
        mark = len(self.out)
        self.cmd("show port stats 0")
        deadline = time.time() + 30
        while time.time() < deadline:
            for ln in self.out[mark:]:
                m = re.search(r"TX-packets:\s*(\d+)\s+TX-errors", ln)
                if m:
                    return int(m.group(1))
            time.sleep(0.05)
        raise SystemExit("testpmd: no port stats")

    def close(self):
        try:
            self.cmd("quit")
            self.p.stdin.close()
            self.p.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()
        import shutil
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)


def main(argv):
    if argv[0] == "count":
        tool_count(int(argv[1]), float(argv[2]))
    elif argv[0] == "seqrecv":
        tool_seqrecv(int(argv[1]), float(argv[2]))
    elif argv[0] == "seqsend":
        tool_seqsend(argv[1], int(argv[2]), float(argv[3]))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
