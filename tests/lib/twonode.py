"""Two kdp nodes over the kernel, shared by the integration test and the demo.

    underlay netns "kul<tag>":   bridge br0 -- ula, ulb  (no addresses)
    root netns:                  kva<tag> (node-a uplink, AF_XDP)
                                 kvb<tag> (node-b uplink, AF_XDP)
    pod netns "kpa<tag>":        tap kta<tag>  x/a 10.244.1.10  (node-a)
    pod netns "kpb<tag>":        tap ktb<tag>  y/a 10.244.2.10  (node-b)
    host netns "kha<tag>":       tap kha<tag>  node-a's host port, with its
                                 node IP and tunnel IP 10.244.1.1 (the
                                 host side a Linux node would have); it
                                 masquerades the pool's traffic leaving
                                 the pools (host.nat_outgoing)
    gateway netns "kgw<tag>":    veth kgw<tag> on the bridge, 192.168.10.1,
                                 node-a's uplink.gateway, with no route to
                                 the pool: only masqueraded packets get
                                 answers

Each kdp reads its own file datastore directory holding the same objects.
There are no static neighbors: node-a finds node-b by ARP across the bridge,
and each kdp finds its pod by ARP on the tap. The bridge lives in its own
namespace so tcpdump there sees exactly the underlay frames, and nothing is
bridged into the host's networks.

Everything created is named with a per-run tag and torn down by close(),
which is safe to call more than once and after a partial setup.
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

NODE_A_IP, NODE_B_IP = "192.168.10.11", "192.168.10.12"
GATEWAY_IP = "192.168.10.1"
POD_X, POD_Y = "10.244.1.10", "10.244.2.10"
POD_MTU = 1480


def objects():
    return [
        cluster.node("node-a", NODE_A_IP + "/24", "10.244.1.1"),
        cluster.node("node-b", NODE_B_IP + "/24", "10.244.2.1"),
        cluster.pool("default-ipv4-ippool", "10.244.0.0/16", "Always"),
        cluster.namespace("x"), cluster.namespace("y"),
        cluster.block("10.244.1.0/26", "node-a",
                      [(1, "node-a", "", "tunnel"), (10, "node-a", "x", "a")]),
        cluster.block("10.244.2.0/26", "node-b",
                      [(1, "node-b", "", "tunnel"), (10, "node-b", "y", "a")]),
        cluster.pod("x", "a", "node-a", POD_X),
        cluster.pod("y", "a", "node-b", POD_Y),
    ]


def no_ipv6(netns):
    """Keep IPv6 router solicitations and MLD reports off the wires: they
    are only noise in kdp's drop counters (it forwards IPv4)."""
    for scope in ("all", "default"):
        sh("ip", "netns", "exec", netns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % scope, check=False)


def sh(*args, check=True, **kw):
    r = subprocess.run(list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode,
                                               r.stderr.strip()))
    return r


class Node:
    def __init__(self, letter, name, node_ip, pod, pod_ip, tag, workdir):
        self.name = name
        self.node_ip = node_ip
        self.pod = pod
        self.pod_ip = pod_ip
        self.uplink = "kv%s%s" % (letter, tag)      # root-side veth
        self.peer = "ul" + letter                   # bridge-side veth
        self.tap = "kt%s%s" % (letter, tag)
        self.netns = "kp%s%s" % (letter, tag)
        # node-a only: its host exception port, moved into a namespace
        # of its own that plays the node's kernel (plug_host()).
        self.host_if = "kh%s%s" % (letter, tag) if letter == "a" else None
        self.host_ns = self.host_if
        self.tunnel_ip = "10.244.%d.1" % (1 if letter == "a" else 2)
        self.prefix = "kdp2n%s%s" % (letter, tag)
        self.dir = os.path.join(workdir, name)
        self.log = os.path.join(self.dir, "kdp.log")
        self.proc = None
        self.logf = None
        self.exit_code = None
        self.service_cidrs = []  # node-a: host.service_cidrs

    def config(self):
        c = {
            "node": self.name,
            "name": self.name,
            "datastore": {"type": "file", "path": os.path.join(self.dir, "ds")},
            "uplink": {"devargs": "net_af_xdp0,iface=%s,start_queue=0,"
                                  "queue_count=1" % self.uplink},
            "pod_ports": [{"pod": self.pod,
                           "devargs": "net_tap0,iface=%s" % self.tap}],
            "workers": 1,
        }
        if self.host_if:
            c["host"] = {"iface": self.host_if, "nat_outgoing": True}
            if self.service_cidrs:
                c["host"]["service_cidrs"] = list(self.service_cidrs)
            c["uplink"]["gateway"] = GATEWAY_IP
        return c

    def ns(self, *args, **kw):
        return sh("ip", "netns", "exec", self.netns, *args, **kw)

    def popen_ns(self, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.netns] + list(args),
                                **kw)

    def telemetry(self, cmd="/kdp/stats"):
        t = kdptel.Telemetry(self.prefix, timeout=5)
        try:
            return t.cmd(cmd)
        finally:
            t.close()


class TwoNode:
    """Context manager: builds the topology and starts both kdps on enter,
    tears everything down on exit (also after a failed setup)."""

    def __init__(self, kdp, tag=None, log=None, extra=(), service_cidrs=()):
        self.kdp = kdp
        self.extra = list(extra)  # objects beside objects(), on both nodes
        self.tag = tag or "%04x" % (os.getpid() & 0xffff)
        self.say = log or (lambda msg: None)
        self.work = tempfile.mkdtemp(prefix="kdp2n-")
        self.underlay = "kul" + self.tag
        self.gw_ns = "kgw" + self.tag
        self.a = Node("a", "node-a", NODE_A_IP, "x/a", POD_X, self.tag,
                      self.work)
        self.b = Node("b", "node-b", NODE_B_IP, "y/a", POD_Y, self.tag,
                      self.work)
        self.a.service_cidrs = list(service_cidrs)
        self.nodes = (self.a, self.b)
        self.capture = None
        self.capture_file = os.path.join(self.work, "underlay.pcap")

    # -- set-up -----------------------------------------------------------
    def __enter__(self):
        old = signal.getsignal(signal.SIGTERM)
        # meson's timeout sends SIGTERM: turn it into an exception so the
        # teardown below still runs.
        if old in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _raise_exit)
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def setup(self):
        t0 = time.time()
        sh("ip", "netns", "add", self.underlay)
        no_ipv6(self.underlay)
        ul = ("ip", "-n", self.underlay)
        sh(*ul, "link", "add", "br0", "type", "bridge")
        sh(*ul, "link", "set", "br0", "up")
        # The gateway: a router with no route to the pool.
        sh("ip", "netns", "add", self.gw_ns)
        no_ipv6(self.gw_ns)
        sh(*ul, "link", "add", "ulg", "type", "veth", "peer", "name",
           "gw0", "netns", self.gw_ns)
        sh(*ul, "link", "set", "ulg", "master", "br0")
        sh(*ul, "link", "set", "ulg", "up")
        gw = ("ip", "-n", self.gw_ns)
        sh(*gw, "link", "set", "lo", "up")
        sh(*gw, "addr", "add", GATEWAY_IP + "/24", "dev", "gw0")
        sh(*gw, "link", "set", "gw0", "up")
        for n in self.nodes:
            # One queue each way, so every frame reaches the AF_XDP socket
            # kdp binds to queue 0.
            sh("ip", "link", "add", n.uplink, "mtu", "1500", "numtxqueues",
               "1", "numrxqueues", "1", "type", "veth", "peer", "name",
               n.peer, "numtxqueues", "1", "numrxqueues", "1", "netns",
               self.underlay)
            sh(*ul, "link", "set", n.peer, "master", "br0")
            sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % n.uplink,
               check=False)
            # Frames must stay plain 1500-byte Ethernet both ways: no
            # GRO/GSO super-frames for AF_XDP, no partial checksums.
            sh("ethtool", "-K", n.uplink, "rx", "off", "tx", "off", "tso",
               "off", "gso", "off", "gro", "off", check=False)
            sh("ip", "netns", "exec", self.underlay, "ethtool", "-K", n.peer,
               "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro",
               "off", check=False)
            sh(*ul, "link", "set", n.peer, "up")
            sh("ip", "link", "set", n.uplink, "up")
            sh("ip", "netns", "add", n.netns)
            no_ipv6(n.netns)
            sh("ip", "-n", n.netns, "link", "set", "lo", "up")
            cluster.write(os.path.join(n.dir, "ds"), objects() + self.extra)
            with open(os.path.join(n.dir, "kdp.json"), "w") as f:
                json.dump(n.config(), f, indent=1)
        for n in self.nodes:
            self.start_kdp(n)
        for n in self.nodes:
            self.wait_started(n)
            self.plug_pod(n)
            if n.host_if:
                self.plug_host(n)
        self.say("topology up in %.1f s (tag %s)" % (time.time() - t0,
                                                      self.tag))

    def start_kdp(self, n):
        n.logf = open(n.log, "w")
        n.proc = subprocess.Popen(
            [self.kdp, "-l", "0,1", "--no-pci", "--file-prefix", n.prefix,
             "-m", "256", "--", "--config", os.path.join(n.dir, "kdp.json")],
            stdout=n.logf, stderr=subprocess.STDOUT)

    def wait_started(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if n.proc.poll() is not None:
                raise RuntimeError("%s: kdp exited with %d:\n%s" %
                                   (n.name, n.proc.returncode, self.tail(n)))
            with open(n.log) as f:
                if "worker(s) running" in f.read():
                    return
            time.sleep(0.1)
        raise RuntimeError("%s: kdp did not start in %d s:\n%s" %
                           (n.name, timeout, self.tail(n)))

    def plug_pod(self, n):
        """Move kdp's tap into the pod's namespace and configure it the way
        Calico's CNI plugin does: /32 address, link-local gateway."""
        sh("ip", "link", "set", n.tap, "netns", n.netns)
        ip = ("ip", "-n", n.netns)
        sh(*ip, "addr", "add", n.pod_ip + "/32", "dev", n.tap)
        sh(*ip, "link", "set", n.tap, "mtu", str(POD_MTU), "up")
        sh(*ip, "route", "add", "169.254.1.1", "dev", n.tap, "scope", "link")
        sh(*ip, "route", "add", "default", "via", "169.254.1.1", "dev", n.tap)

    def plug_host(self, n):
        """Move kdp's host tap into the namespace that plays the node's
        kernel, holding the node IP and the tunnel IP, with the pool routed
        through the tap (README, "Host traffic")."""
        sh("ip", "netns", "add", n.host_ns)
        no_ipv6(n.host_ns)
        sh("ip", "link", "set", n.host_if, "netns", n.host_ns)
        ip = ("ip", "-n", n.host_ns)
        sh(*ip, "link", "set", "lo", "up")
        sh(*ip, "addr", "add", n.node_ip + "/32", "dev", n.host_if)
        sh(*ip, "addr", "add", n.tunnel_ip + "/32", "dev", n.host_if)
        sh(*ip, "link", "set", n.host_if, "mtu", str(POD_MTU), "up")
        sh(*ip, "route", "add", "10.244.0.0/16", "dev", n.host_if)
        # natOutgoing as a Linux node does it (README "Host traffic"):
        # the host forwards the pool's packets that leave the pools back
        # out through kdp, from its own address.
        sh(*ip, "route", "add", "default", "dev", n.host_if)
        for k in ("net.ipv4.ip_forward=1",
                  "net.ipv4.conf.all.send_redirects=0",
                  "net.ipv4.conf.%s.send_redirects=0" % n.host_if):
            sh("ip", "netns", "exec", n.host_ns, "sysctl", "-qw", k)
        sh("ip", "netns", "exec", n.host_ns, "iptables", "-t", "nat", "-A",
           "POSTROUTING", "-s", "10.244.0.0/16", "!", "-d", "10.244.0.0/16",
           "-j", "MASQUERADE")

    def diagnose(self):
        """State worth reading when something failed: non-zero counters,
        neighbors and the log of each kdp."""
        out = []
        for n in self.nodes:
            out.append("--- %s" % n.name)
            try:
                st = n.telemetry("/kdp/stats")
                out.append("stats: " + " ".join(
                    "%s=%s" % (k, v) for k, v in st.items()
                    if not isinstance(v, dict) and str(v) != "0"))
                out.append("drops: " + " ".join(
                    "%s=%s" % (k, v) for k, v in st["drop_reasons"].items()
                    if str(v) != "0"))
                for p, v in sorted(st["ports"].items()):
                    out.append("%s: %s" % (p, v))
                out += n.telemetry("/kdp/neighbors")
            except Exception as e:  # noqa: BLE001 - best effort
                out.append("telemetry: %s" % e)
            out.append(self.tail(n))
        return "\n".join(out)

    @staticmethod
    def tail(n, lines=30):
        try:
            with open(n.log) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # -- traffic ----------------------------------------------------------
    def ping(self, src, dst_ip, count=3, deadline=10):
        """Succeeds once count echoes are answered; the first ones may wait
        in kdp while it resolves the other node and the pods by ARP."""
        return src.ns("ping", "-c", str(count), "-i", "0.2", "-w",
                      str(deadline), dst_ip, check=False)

    def tcp_transfer(self, src, dst, nbytes, port=5001, timeout=30):
        return tcp_transfer(src.netns, dst.netns, dst.pod_ip, nbytes, port,
                            timeout)

    def start_capture(self, count=None):
        self.capture = Capture(self.underlay, "br0", self.capture_file,
                               count=count)

    def stop_capture(self):
        lines = self.capture.stop()
        self.capture = None
        return lines

    # -- teardown ---------------------------------------------------------
    def close(self):
        if self.capture:
            self.capture.stop()
        for n in self.nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGINT)
        for n in self.nodes:
            if n.proc:
                try:
                    n.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    n.proc.kill()
                    n.proc.wait()
                n.exit_code = n.proc.returncode
                n.proc = None
            if n.logf:
                n.logf.close()
                n.logf = None
        for n in self.nodes:
            sh("ip", "netns", "del", n.netns, check=False)
            if n.host_ns:
                sh("ip", "netns", "del", n.host_ns, check=False)
            sh("ip", "link", "del", n.uplink, check=False)
            shutil.rmtree(os.path.join("/var/run/dpdk", n.prefix),
                          ignore_errors=True)
        sh("ip", "netns", "del", self.underlay, check=False)
        sh("ip", "netns", "del", self.gw_ns, check=False)
        if os.environ.get("KDP_KEEP_WORKDIR"):
            return
        shutil.rmtree(self.work, ignore_errors=True)

    def leftovers(self):
        """What close() should have removed but is still there."""
        left = []
        netns = sh("ip", "netns", "list").stdout
        for name in (self.underlay, self.a.netns, self.b.netns,
                     self.a.host_ns, self.gw_ns):
            if name in netns.split():
                left.append("netns " + name)
        for n in self.nodes:
            for ifname in (n.uplink, n.tap, n.host_if):
                if ifname and os.path.exists("/sys/class/net/" + ifname):
                    left.append("link " + ifname)
            if os.path.exists(os.path.join("/var/run/dpdk", n.prefix)):
                left.append("/var/run/dpdk/" + n.prefix)
            if n.proc is not None:
                left.append("kdp pid %d" % n.proc.pid)
        if os.path.exists(self.work) and not os.environ.get("KDP_KEEP_WORKDIR"):
            left.append(self.work)
        return left


def _raise_exit(sig, frame):
    raise SystemExit(128 + sig)


def tcp_transfer(src_netns, dst_netns, dst_ip, nbytes, port=5001, timeout=30):
    """Send nbytes of a fixed pattern from a process in src_netns to one
    listening on dst_ip:port in dst_netns; return (bytes received,
    receiver's sha256 == sender's, seconds)."""
    recv = subprocess.Popen(["ip", "netns", "exec", dst_netns, sys.executable,
                             "-c", _RECV, dst_ip, str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = recv.stdout.readline()      # "listening"
        if not line.startswith("listening"):
            raise RuntimeError("receiver: %s%s" % (line, recv.stderr.read()))
        t0 = time.time()
        snd = sh("ip", "netns", "exec", src_netns, sys.executable, "-c", _SEND,
                 dst_ip, str(port), str(nbytes), timeout=timeout, check=False)
        out, err = recv.communicate(timeout=timeout)
        secs = time.time() - t0
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    if snd.returncode != 0:
        raise RuntimeError("sender failed: %s" % snd.stderr.strip())
    got, digest = out.split()
    return int(got), digest == snd.stdout.strip(), secs


class Capture:
    """tcpdump of IPIP (ip proto 4) on iface in netns into path; stop()
    returns the decoded lines. stop() is safe to call more than once."""

    def __init__(self, netns, iface, path, count=None):
        self.path = path
        args = ["ip", "netns", "exec", netns, "tcpdump", "-i", iface,
                "-nn", "-U", "-B", "4096", "-s", "128", "-w", path]
        if count:
            args += ["-c", str(count)]
        self.proc = subprocess.Popen(args + ["ip", "proto", "4"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on" once the socket is attached.
        line = self.proc.stderr.readline()
        if "listening" not in line:
            self.stop()
            raise RuntimeError("tcpdump: " + line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        r = sh("tcpdump", "-nn", "-r", self.path, check=False)
        return r.stdout.splitlines()


# Receiver and sender run inside the pod namespaces (fresh interpreters).
_RECV = r"""
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(20)
print("listening", flush=True)
c, _ = s.accept()
c.settimeout(20)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
"""

_SEND = r"""
import hashlib, socket, sys
n = int(sys.argv[3])
chunk = bytes(range(256)) * 256
h = hashlib.sha256()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
left = n
while left:
    b = chunk[:min(left, len(chunk))]
    s.sendall(b)
    h.update(b)
    left -= len(b)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(h.hexdigest())
"""
