#!/usr/bin/python3
"""Pod ports at run time through the pod-port API (PODAPI.md).

kdp runs with a pcap uplink and no configured pods. Through its socket the
test adds tap ports for pods whose Pod objects are in the file datastore
(kdp moves each interface into a netns the test made), configures the pods
like the CNI plugin would, and checks: ping between two API pods, the
endpoints, a pod without a Pod object (spoof drops until the object
arrives), 20 add/del cycles with zero loss on a continuous ping between two
other pods, deletion, root-only access, restart persistence and a
vhost-user port driven by dpdk-testpmd (virtio-user) as the pod.

With native vhost-user ports ("vhost_ports": "native", the default) it adds
40 DPDK pods, past the 32 ethdevs, and pings one of them (testpmd in
icmpecho mode) from a tap pod, before and after that pod reconnects.

The tap checks run twice: with DPDK's tap ethdevs ("tap_ports": "pmd"),
then with kdp's native taps ("tap_ports": "native", the default, dp/vport.h),
where 40 tap pods (more than the 32 ethdevs of this DPDK build) are added,
two of them ping each other, and all are deleted without a leak.

Needs root, hugepages and dpdk-testpmd (the vhost part skips without it).
Usage: podports.py BUILD_DIR
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
import cluster  # noqa: E402
import kdpapi  # noqa: E402
import kdptel  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
KDP = os.path.join(BUILD, "dp", "main", "kdp")
KDPCTL = os.path.join(BUILD, "kdp-ctl")
TAG = "pp%d" % os.getpid()
PREFIX = "kdp" + TAG

# API pods on node-a: (name, ip). Their Pod objects are in the datastore,
# except ghost's, which the test writes later.
PODS = {"p1": "10.244.1.30", "p2": "10.244.1.31", "p3": "10.244.1.32",
        "p4": "10.244.1.33", "v": "10.244.1.34", "ghost": "10.244.1.40",
        "m1": "10.244.1.44", "m2": "10.244.1.45"}

# Native taps: how many pods test_many_native() adds (more than the 32
# ethdevs), all but m1 and m2 in one netns.
MANY = 40

# A pod with Kubernetes' longest namespace (63) and name (253): its key,
# "namespace/name", has 317 characters.
LONG_NS, LONG_POD, LONG_IP = "n" * 63, "web-" + "a" * 232 + "-0123456789abcdef", \
    "10.244.1.50"

failures = []
MODE = [""]  # prefixes the checks of the second run ("native: ")


def check(cond, what):
    what = MODE[0] + what
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def sh(*cmd, check_rc=True, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: %s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r


def objects(with_ghost):
    objs = [o for o in cluster.three_nodes()
            if not (o["kind"] == "IPAMBlock" and
                    o["spec"]["cidr"] == "10.244.1.0/26")]
    allocs = [(1, "node-a", "", "tunnel"), (10, "node-a", "x", "a"),
              (11, "node-a", "x", "b"), (20, "node-b", "y", "b")]
    for name, ip in PODS.items():
        allocs.append((int(ip.split(".")[3]), "node-a", "x", name))
        if name != "ghost" or with_ghost:
            objs.append(cluster.pod("x", name, "node-a", ip))
    allocs.append((50, "node-a", LONG_NS, LONG_POD))
    objs.append(cluster.pod(LONG_NS, LONG_POD, "node-a", LONG_IP))
    objs.append(cluster.block("10.244.1.0/26", "node-a", allocs))
    return objs


class Kdp:
    def __init__(self, d, wrap=(), lcores=("-l", "0,1")):
        self.d = d
        self.sock = os.path.join(d, "run", "kdp.sock")
        self.proc = None
        self.tel = None
        self.wrap = list(wrap)  # a command kdp runs under (prlimit ...)
        self.lcores = list(lcores)  # EAL's lcores: main, then workers

    def start(self):
        log = open(os.path.join(self.d, "kdp.log"), "a")
        self.proc = subprocess.Popen(
            self.wrap +
            [KDP] + self.lcores +
            ["--no-pci", "--file-prefix", PREFIX, "-m", "256",
             "--", "--config", os.path.join(self.d, "kdp.json")],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kdp exited: see " + log.name)
            try:
                if self.api({"op": "status"}).get("published"):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("kdp API did not come up")
        self.tel = kdptel.Telemetry(PREFIX)

    def stop(self):
        if self.tel:
            self.tel.close()
            self.tel = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def api(self, req):
        return kdpapi.call(self.sock, req)

    def add_tap(self, pod, ns):
        return self.api({"op": "port_add", "pod": "x/" + pod, "kind": "tap",
                         "ifname": "eth0", "netns": "/var/run/netns/" + ns,
                         "container_id": "c-" + pod})

    def endpoints(self):
        return self.tel.cmd("/kdp/endpoints")

    def stats(self):
        return self.tel.cmd("/kdp/stats")


def ns_name(pod):
    return "%s_%s" % (TAG, pod)


def pod_net_setup(pod):
    """What the CNI plugin does after port_add: address and routes."""
    ns = ns_name(pod)
    sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    sh("ip", "netns", "exec", ns, "ip", "addr", "add", PODS[pod] + "/32",
       "dev", "eth0")
    sh("ip", "netns", "exec", ns, "ip", "route", "add", "169.254.1.1",
       "dev", "eth0", "scope", "link")
    sh("ip", "netns", "exec", ns, "ip", "route", "add", "default", "via",
       "169.254.1.1", "dev", "eth0")


def pod_configured(pod):
    """The /32 address, the link route to 169.254.1.1, the default route."""
    ns = ns_name(pod)
    addr = sh("ip", "-j", "netns", "exec", ns, "ip", "-j", "-4", "addr",
              "show", "eth0", check_rc=False).stdout
    routes = sh("ip", "netns", "exec", ns, "ip", "-4", "route", "show",
                check_rc=False).stdout
    return (('"local":"%s","prefixlen":32' % PODS[pod]) in addr.replace(" ", "")
            and "169.254.1.1 dev eth0 scope link" in routes
            and "default via 169.254.1.1 dev eth0 onlink" in routes)


def ping(src, dst, count=3, wait=2):
    r = sh("ip", "netns", "exec", ns_name(src), "ping", "-c", str(count),
           "-i", "0.2", "-W", str(wait), PODS[dst], check_rc=False)
    return r.returncode == 0


def link_mac(pod):
    r = sh("ip", "-j", "netns", "exec", ns_name(pod), "ip", "-j", "link",
           "show", "eth0", check_rc=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)[0]["address"]


def ep_line(kdp, pod):
    for e in kdp.endpoints():
        if e.startswith("x/%s " % pod):
            return e
    return None


def port_stats(kdp, port):
    return kdp.stats()["ports"].get("port%d" % port, {})


def test_tap_pods(kdp):
    a1 = kdp.add_tap("p1", ns_name("p1"))
    a2 = kdp.add_tap("p2", ns_name("p2"))
    check(a1.get("ok") and a2.get("ok"), "port_add p1, p2: %s %s" % (a1, a2))
    check(a1.get("mtu") == 1480, "pod MTU is the uplink's less 20")
    check(link_mac("p1") == a1.get("mac"),
          "eth0 in p1's netns carries the MAC kdp answered")
    again = kdp.add_tap("p1", ns_name("p1"))
    check(again.get("ok") and again.get("port") == a1.get("port"),
          "port_add is idempotent")
    for p in ("p1", "p2"):
        pod_net_setup(p)
    check(ping("p1", "p2"), "ping p1 -> p2 through kdp")
    e = ep_line(kdp, "p1")
    check(e is not None and "ips=10.244.1.30" in e and
          ("mac=" + a1["mac"]) in e,
          "/kdp/endpoints: x/p1 with its IP and static MAC: %s" % e)
    lst = kdp.api({"op": "port_list"})
    check(sorted(p["pod"] for p in lst["ports"]) == ["x/p1", "x/p2"],
          "port_list lists both")
    return a1, a2


def test_idle_wake(kdp):
    """An idle worker sleeps in epoll on its native taps (dp/natpoll.h
    dp_natpoll_sleep()): a kernel pod's frame wakes it, and is not left
    for the rest of the back-off. 20 pings 50 ms apart find the worker
    asleep (the uplink is idle): at least most requests, and usually the
    replies too, cut a sleep short."""
    s0 = kdp.stats()
    r = sh("ip", "netns", "exec", ns_name("p1"), "ping", "-c", "20", "-i",
           "0.05", "-W", "2", PODS["p2"], check_rc=False)
    s1 = kdp.stats()
    wakes = s1.get("nat_wakes", 0) - s0.get("nat_wakes", 0)
    sleeps = s1["idle_sleeps"] - s0["idle_sleeps"]
    check(r.returncode == 0 and sleeps > 20 and wakes >= 15,
          "idle worker: 20 pings p1 -> p2 woke it %d times (%d sleeps)" %
          (wakes, sleeps))
    # A pod's network namespace deleted before kdp was told: its tap is
    # detached, reports an error on every epoll_wait() and must not keep
    # the idle worker awake (it did: 400,000 wakes a second).
    ns = ns_name("gone")
    sh("ip", "netns", "add", ns)
    try:
        a = kdp.add_tap("gone", ns)
        check(a.get("ok"), "port_add x/gone: %s" % a)
    finally:
        sh("ip", "netns", "del", ns, check_rc=False)
    time.sleep(0.5)
    s0 = kdp.stats()
    time.sleep(1.0)
    s1 = kdp.stats()
    wakes = s1.get("nat_wakes", 0) - s0.get("nat_wakes", 0)
    sleeps = s1["idle_sleeps"] - s0["idle_sleeps"]
    check(s1.get("nat_gone", 0) >= 1 and wakes < 100 and sleeps > 100,
          "a tap whose netns is gone leaves the set (nat_gone %s) and does "
          "not wake the worker: %d wakes, %d sleeps in 1 s" % (
              s1.get("nat_gone"), wakes, sleeps))
    check(ping("p1", "p2", count=1), "p1 and p2 still talk")
    r = kdp.api({"op": "port_del", "pod": "x/gone"})
    check(r.get("ok"), "port_del x/gone: %s" % r)


def test_long_name(kdp):
    """A pod key of 317 characters: the API takes it (it refused more than
    63), the endpoint gets the Pod object's IP, telemetry shortens the name
    around "..." so that the fields after it still fit, port_list gives the
    whole key."""
    key = LONG_NS + "/" + LONG_POD
    check(len(key) == 317, "the key is 317 characters")
    r = kdp.api({"op": "port_add", "pod": key, "kind": "tap",
                 "ifname": "eth0", "netns": "/var/run/netns/" + ns_name("long"),
                 "container_id": "c-long"})
    check(r.get("ok"), "port_add with a 317-character pod key: %s" % r)
    if not r.get("ok"):
        return
    deadline = time.time() + 5
    while True:
        lines = [e for e in kdp.endpoints() if e.startswith(LONG_NS[:10])]
        if (lines and "ips=" + LONG_IP in lines[0]) or time.time() > deadline:
            break
        time.sleep(0.1)
    check(len(lines) == 1 and "ips=" + LONG_IP in lines[0] and
          ("mac=" + r["mac"]) in lines[0] and "..." in lines[0] and
          "-0123456789abcdef port=" in lines[0] and len(lines[0]) <= 127,
          "/kdp/endpoints: the long pod, shortened, with its IP and MAC: %s"
          % lines)
    role = port_stats(kdp, r["port"]).get("role", "")
    check(role.startswith(LONG_NS[:40]) and role.endswith("0123456789abcdef")
          and "..." in role and len(role) <= 127,
          "/kdp/stats role, shortened: %r" % role)
    lst = kdp.api({"op": "port_list"})
    check(key in [p["pod"] for p in lst["ports"]], "port_list: the whole key")
    d = kdp.api({"op": "port_del", "pod": key})
    check(d.get("ok"), "port_del of the long key: %s" % d)


def test_port_limit(kdp):
    """With "vhost_ports": "pmd" every vhost-user pod port is an ethdev, and
    this DPDK build has RTE_MAX_ETHPORTS (32): the port_add past the last
    one fails with a message that says so and names the way out (ethdev's
    own was "Cannot allocate memory"), and the pods already there keep
    forwarding."""
    added, err = [], None
    for i in range(40):
        pod = "x/fill%d" % i
        r = kdp.api({"op": "port_add", "pod": pod, "kind": "vhost-user",
                     "container_id": "cfill%d" % i})
        if not r.get("ok"):
            err = r.get("error", "")
            break
        added.append(pod)
    in_use = 3 + len(added)      # the uplink, p1, p2 and the fillers
    check(err is not None and in_use == 32 and "RTE_MAX_ETHPORTS" in err
          and '"vhost_ports": "native"' in err,
          "port_add past the 32nd port: %d ports, then %r" % (in_use, err))
    check(ping("p1", "p2"), "p1 still reaches p2 with every port in use")
    for pod in added:
        kdp.api({"op": "port_del", "pod": pod})
    lst = kdp.api({"op": "port_list"})
    check(sorted(p["pod"] for p in lst["ports"]) == ["x/p1", "x/p2"],
          "the fillers are gone: %s" % [p["pod"] for p in lst["ports"]])


def kdp_links():
    """Interfaces in kdp's namespace with kdp's temporary tap names."""
    out = sh("ip", "-o", "link", "show").stdout
    return [l.split(":")[1].strip() for l in out.splitlines()
            if ": kt" in l]


def test_many_native(kdp):
    """Native taps (dp/vport.h) are no ethdevs: more tap pods than the 32
    ethdevs of this DPDK build. MANY - 2 fill one netns (eth names e0,
    e1, ...), then m1 and m2, whose port ids come after them all, ping
    each other; /kdp/stats lists the ports with their names and roles.
    Deleting them all leaves no interface, no port and no descriptor."""
    ns = ns_name("many")
    fds0 = len(os.listdir("/proc/%d/fd" % kdp.proc.pid))
    ports, errs = {}, []
    t0 = time.time()
    for i in range(MANY - 2):
        r = kdp.api({"op": "port_add", "pod": "x/many%d" % i, "kind": "tap",
                     "ifname": "e%d" % i, "netns": "/var/run/netns/" + ns})
        if r.get("ok"):
            ports["x/many%d" % i] = r["port"]
        else:
            errs.append(r.get("error"))
    for p in ("m1", "m2"):
        r = kdp.add_tap(p, ns_name(p))
        if r.get("ok"):
            ports["x/" + p] = r["port"]
        else:
            errs.append(r.get("error"))
    print("     %d port_adds in %.1f s" % (len(ports), time.time() - t0))
    lst = kdp.api({"op": "port_list"})["ports"]
    check(not errs and len(lst) == MANY + 2 and 1 + len(lst) > 32,
          "%d tap pods (%d ports with the uplink), more than the 32 "
          "ethdevs: %s" % (len(ports), 1 + len(lst), errs[:2]))
    ids = sorted(ports.values())
    check(len(set(ids)) == len(ids) and ids and ids[0] >= 32 and
          min(ports.get("x/m1", 0), ports.get("x/m2", 0)) >= 32 + MANY - 2,
          "native port ids past the ethdevs, m1 and m2 past them all: "
          "%s, %s" % (ports.get("x/m1"), ports.get("x/m2")))
    for p in ("m1", "m2"):
        pod_net_setup(p)
    check(ping("m1", "m2"), "ping m1 -> m2 (ports %s -> %s)" %
          (ports.get("x/m1"), ports.get("x/m2")))
    st = kdp.stats()["ports"]
    m1 = st.get("port%s" % ports.get("x/m1"), {})
    m2 = st.get("port%s" % ports.get("x/m2"), {})
    check(m1.get("name", "").startswith("kdptap") and
          m1.get("role") == "x/m1" and m1.get("rx", 0) >= 3 and
          m2.get("role") == "x/m2" and m2.get("tx", 0) >= 3,
          "/kdp/stats: m1 and m2 with names, roles and counts: %s %s" %
          (m1, m2))
    check(len(st) == 1 + len(lst), "/kdp/stats lists every port (%d)" %
          len(st))
    for pod in ports:
        kdp.api({"op": "port_del", "pod": pod})
    lst = kdp.api({"op": "port_list"})["ports"]
    check(sorted(p["pod"] for p in lst) == ["x/p1", "x/p2"],
          "all deleted: %s" % [p["pod"] for p in lst][:5])
    left = sh("ip", "netns", "exec", ns, "ip", "-o", "link",
              "show").stdout.splitlines()
    check(len(left) == 1 and ": lo:" in left[0] and
          link_mac("m1") is None and link_mac("m2") is None,
          "no interface left in the pods' netns: %s" % left[:3])
    check(len(kdp_links()) == 0, "none left in kdp's: %s" % kdp_links())
    st = kdp.stats()["ports"]
    check(len(st) == 3, "/kdp/stats: the uplink, p1 and p2 left: %s" %
          sorted(st))
    fds = len(os.listdir("/proc/%d/fd" % kdp.proc.pid))
    check(fds == fds0, "kdp's descriptors back to %d: %d" % (fds0, fds))
    check(ping("p1", "p2"), "p1 still reaches p2")


def test_ghost(kdp, d):
    g = kdp.add_tap("ghost", ns_name("ghost"))
    check(g.get("ok"), "port_add for a pod with no Pod object")
    pod_net_setup("ghost")
    e = ep_line(kdp, "ghost")
    check(e is not None and "ips= " in e, "ghost endpoint has no IPs: %s" % e)
    before = kdp.stats()["drop_reasons"]["spoof_src_ip"]
    check(not ping("ghost", "p1", count=2, wait=1),
          "ghost cannot reach p1 without its Pod object")
    after = kdp.stats()["drop_reasons"]["spoof_src_ip"]
    check(after > before, "its traffic counts spoof_src_ip (%d -> %d)" %
          (before, after))
    cluster.write(os.path.join(d, "ds"), objects(True))
    deadline = time.time() + 5
    while time.time() < deadline and "ips=10.244.1.40" not in (
            ep_line(kdp, "ghost") or ""):
        time.sleep(0.1)
    check(ping("ghost", "p1"), "ghost reaches p1 once the Pod object arrives")


def test_no_disturbance(kdp):
    """20 add/del cycles of p3 while p1 pings p2 continuously."""
    n = 300
    pinger = subprocess.Popen(
        ["ip", "netns", "exec", ns_name("p1"), "ping", "-c", str(n), "-i",
         "0.01", "-W", "1", "-q", PODS["p2"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ok = True
    for i in range(20):
        a = kdp.add_tap("p3", ns_name("p3"))
        dl = kdp.api({"op": "port_del", "pod": "x/p3"})
        ok &= bool(a.get("ok") and dl.get("ok"))
    overlapped = pinger.poll() is None
    out = pinger.communicate(timeout=60)[0]
    check(overlapped, "the ping ran during all the cycles")
    check(ok, "20 add/del cycles of p3 all answered ok")
    check(" 0% packet loss" in out and ("%d received" % n) in out,
          "continuous ping p1 -> p2 lost nothing: %s" %
          [l for l in out.splitlines() if "packet" in l])
    check(link_mac("p3") is None, "p3's interface is gone after its del")


def test_delete(kdp, a2):
    r = kdp.api({"op": "port_del", "pod": "x/p2"})
    check(r.get("ok"), "port_del p2")
    check(ep_line(kdp, "p2") is None, "p2 gone from /kdp/endpoints")
    check("port%d" % a2["port"] not in kdp.stats()["ports"],
          "p2's DPDK port is closed")
    check(link_mac("p2") is None, "p2's eth0 is gone")
    r = kdp.api({"op": "port_del", "pod": "x/p2"})
    check(r.get("ok"), "port_del is idempotent")
    check(ping("p1", "ghost"), "p1 still reaches another pod")


def test_permissions(kdp):
    run_dir = os.path.dirname(kdp.sock)
    check(oct(os.stat(run_dir).st_mode & 0o777) == "0o700" and
          oct(os.stat(kdp.sock).st_mode & 0o777) == "0o600",
          "socket 0600 in a 0700 directory")
    r = sh("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
           KDPCTL, "--socket", kdp.sock, "status", check_rc=False)
    check(r.returncode == 2 and "Permission denied" in r.stderr,
          "non-root cannot reach the socket: %s" % r.stderr.strip())
    # Even past the file permissions, kdp checks the peer's uid.
    os.chmod(os.path.dirname(run_dir), 0o711)
    os.chmod(run_dir, 0o755)
    os.chmod(kdp.sock, 0o666)
    try:
        r = sh("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               KDPCTL, "--socket", kdp.sock, "port", "list", check_rc=False)
    finally:
        os.chmod(run_dir, 0o700)
        os.chmod(kdp.sock, 0o600)
        os.chmod(os.path.dirname(run_dir), 0o700)
    check(r.returncode == 1 and "root only" in r.stdout,
          "kdp refuses a non-root peer (SO_PEERCRED): %s" %
          (r.stdout + r.stderr).strip())
    r = sh(KDPCTL, "--socket", kdp.sock, "port", "list", check_rc=False)
    check(r.returncode == 0 and "x/p1" in r.stdout, "kdp-ctl port list as root")
    bad = kdp.api({"op": "port_add", "pod": "nope", "kind": "tap"})
    check(bad.get("ok") is False and "namespace/name" in bad.get("error", ""),
          "bad request gets a clear error: %s" % bad)


def test_restart(kdp, d, a1):
    state = json.load(open(os.path.join(d, "state", "ports.json")))
    check(sorted(p["pod"] for p in state["ports"]) == ["x/ghost", "x/p1"],
          "state file holds the API ports")
    check(kdp.stop() == 0, "kdp exits 0")
    check(link_mac("p1") is None, "the tap dies with kdp")
    kdp.start()
    lst = kdp.api({"op": "port_list"})
    pods = {p["pod"]: p for p in lst["ports"]}
    check(sorted(pods) == ["x/ghost", "x/p1"],
          "after restart the API ports are back: %s" % sorted(pods))
    check(pods.get("x/p1", {}).get("mac") == a1["mac"] and
          link_mac("p1") == a1["mac"],
          "p1 keeps its MAC and interface name")
    # Addresses and routes died with the interface; kdp learned the pods'
    # IPs from their Pod objects (no "ip" in these port_adds), kept them in
    # the state file and configured the new interfaces itself.
    check([p.get("ip") for p in state["ports"]] and
          {p["pod"]: p.get("ip") for p in state["ports"]} ==
          {"x/p1": PODS["p1"], "x/ghost": PODS["ghost"]},
          "the state file holds the IPs learned from the Pod objects")
    check(pod_configured("p1") and pod_configured("ghost"),
          "kdp restored the pods' /32 address and routes")
    check(ping("p1", "ghost"), "p1 reaches ghost after the restart")


def test_vhost(kdp, d):
    testpmd = shutil.which("dpdk-testpmd")
    r = kdp.api({"op": "port_add", "pod": "x/v", "kind": "vhost-user",
                 "container_id": "cv1"})
    check(r.get("ok") and r.get("socket") == os.path.join(d, "vhost",
                                                           "cv1.sock")
          and r.get("mac"), "vhost-user port_add (socket and MAC): %s" % r)
    if not r.get("ok"):
        return
    check(os.path.exists(r["socket"]), "kdp serves the vhost-user socket")
    if testpmd is None:
        print("skip testpmd part: dpdk-testpmd not found")
        return
    p1_port = kdp.api({"op": "port_add", "pod": "x/p1", "kind": "tap",
                       "ifname": "eth0",
                       "netns": "/var/run/netns/" + ns_name("p1")})["port"]
    rx0 = port_stats(kdp, r["port"]).get("rx", 0)
    tx0 = port_stats(kdp, p1_port).get("tx", 0)
    tp = subprocess.Popen(
        [testpmd, "-l", "0,1", "--no-pci", "-m", "256",
         "--single-file-segments", "--file-prefix", PREFIX + "tp",
         "--vdev", "net_virtio_user0,path=%s,mac=%s" % (r["socket"],
                                                        r["mac"]), "--",
         "--forward-mode=txonly", "--tx-ip=%s,%s" % (PODS["v"], PODS["p1"]),
         "--eth-peer=0,ee:ee:ee:ee:ee:ee", "--txpkts=64", "--auto-start",
         "--stats-period=0", "--nb-cores=1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    time.sleep(3)
    try:
        out = tp.communicate(input="\n", timeout=20)[0]
    except subprocess.TimeoutExpired:
        tp.kill()
        out = tp.communicate()[0]
    rx = port_stats(kdp, r["port"]).get("rx", 0) - rx0
    tx = port_stats(kdp, p1_port).get("tx", 0) - tx0
    check(rx > 0, "kdp received %d packets from testpmd on the vhost port"
          % rx)
    check(tx > 0, "and forwarded %d of them to p1 (txonly toward its IP)"
          % tx)
    if rx == 0:
        print(out[-2000:])
    kdp.stop()
    kdp.start()
    lst = {p["pod"]: p for p in kdp.api({"op": "port_list"})["ports"]}
    check(lst.get("x/v", {}).get("socket") == r["socket"] and
          os.path.exists(r["socket"]),
          "after restart kdp listens on the same vhost-user socket")
    r = kdp.api({"op": "port_del", "pod": "x/v"})
    check(r.get("ok") and not os.path.exists(os.path.join(d, "vhost",
                                                          "cv1.sock")),
          "vhost-user port_del removes the socket")


def testpmd_pod(sock, mac, fwd, tag, args=(), queues=1):
    """dpdk-testpmd as a DPDK pod on vhost-user socket @p sock (its
    virtio-user device with MAC @p mac and @p queues queue pairs),
    forwarding mode @p fwd, more testpmd @p args."""
    # Both lcores on core 0: kdp's worker has core 1 (a pod busy-polling
    # there would take half of it, in scheduler slices of milliseconds).
    return subprocess.Popen(
        [shutil.which("dpdk-testpmd"), "--lcores", "0@0,1@0", "--no-pci",
         "-m", "256",
         "--single-file-segments", "--file-prefix", PREFIX + tag,
         "--vdev", "net_virtio_user0,path=%s,mac=%s,queues=%d" % (
             sock, mac, queues), "--",
         "--rxq=%d" % queues, "--txq=%d" % queues, "--forward-mode=" + fwd, "--auto-start", "--stats-period=0",
         "--nb-cores=1"] + list(args),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def stop_pod(tp):
    """Quit testpmd @p tp (Enter), or kill it; its output."""
    try:
        return tp.communicate(input="\n", timeout=20)[0]
    except subprocess.TimeoutExpired:
        tp.kill()
        return tp.communicate()[0]


def test_many_vhost(kdp, d):
    """Native vhost-user ports (dp/vport.h) are no ethdevs: MANY DPDK pods
    besides the uplink, more than the 32 ethdevs. The last one, x/v, gets
    dpdk-testpmd in icmpecho mode as its pod: p1 pings it through kdp
    (kdp -> pod and pod -> kdp), also after the pod disconnected and came
    back (a new vhost device, once kdp's workers let go of the old one).
    Deleting them all removes every socket."""
    if shutil.which("dpdk-testpmd") is None:
        print("skip: dpdk-testpmd not found")
        return
    ports, errs = {}, []
    for i in range(MANY - 1):
        r = kdp.api({"op": "port_add", "pod": "x/vf%d" % i,
                     "kind": "vhost-user", "container_id": "cvf%d" % i})
        if r.get("ok"):
            ports["x/vf%d" % i] = r["port"]
        else:
            errs.append(r.get("error"))
    v = kdp.api({"op": "port_add", "pod": "x/v", "kind": "vhost-user",
                 "container_id": "cv1"})
    ports["x/v"] = v.get("port", 0)
    socks = [f for f in os.listdir(os.path.join(d, "vhost"))
             if f.endswith(".sock")]
    check(not errs and v.get("ok") and len(ports) == MANY and
          len(socks) == MANY and min(ports.values()) >= 32 and
          v["port"] >= 32 + MANY - 1,
          "%d vhost-user pods past the 32 ethdevs, each with its socket "
          "(x/v on port %s): %s" % (len(ports), ports["x/v"], errs[:2]))
    if not v.get("ok"):
        return
    kdp.add_tap("p1", ns_name("p1"))
    if not pod_configured("p1"):
        pod_net_setup("p1")
    for round_ in ("", "again, after a disconnect: "):
        tp = testpmd_pod(v["socket"], v["mac"], "icmpecho", "tv")
        ok = False
        for _ in range(20):  # testpmd's start, then the vhost-user setup
            if ping("p1", "v", count=1, wait=1):
                ok = True
                break
        check(ok and ping("p1", "v", count=5),
              round_ + "p1 pings the DPDK pod x/v on native port %d"
              % v["port"])
        st = port_stats(kdp, v["port"])
        check(st.get("name", "").startswith("kdpvhost") and
              st.get("rx", 0) >= 5 and st.get("tx", 0) >= 5 and
              st.get("link") == "up",
              round_ + "/kdp/stats counts x/v's frames, link up: %s" % st)
        out = stop_pod(tp)
        for _ in range(50):
            if port_stats(kdp, v["port"]).get("link") == "down":
                break
            time.sleep(0.1)
        check(port_stats(kdp, v["port"]).get("link") == "down",
              round_ + "link down once the pod is gone")
        if not ok:
            print(out[-2000:])
    check(not ping("p1", "v", count=1, wait=1),
          "no answer once the pod is gone")
    test_vhost_pairs(kdp, v)
    test_vhost_kills(kdp, v)
    tp = testpmd_pod(v["socket"], v["mac"], "icmpecho", "tv")
    ok = any(ping("p1", "v", count=1, wait=1) for _ in range(20))
    check(ok and ping("p1", "v", count=5),
          "p1 pings x/v again after the kills")
    stop_pod(tp)
    check(kdp.proc.poll() is None, "kdp runs on after the disconnects")
    for pod in ports:
        kdp.api({"op": "port_del", "pod": pod})
    kdp.api({"op": "port_del", "pod": "x/p1"})
    socks = [f for f in os.listdir(os.path.join(d, "vhost"))
             if f.endswith(".sock")]
    left = [p["pod"] for p in kdp.api({"op": "port_list"})["ports"]
            if p["pod"] in ports or p["pod"] == "x/p1"]
    check(not socks and not left,
          "deleting them leaves no socket and no port: %s %s" %
          (socks[:3], left[:3]))


def test_vhost_pairs(kdp, v):
    """A DPDK pod with two queue pairs on a kdp with one worker: kdp reads
    both (the worker's queue takes pairs 0 and 1). testpmd txonly sends
    on both queues toward p1; each queue's TX-packets must go far past a
    ring's worth (a pair kdp never read fills once and stops)."""
    rx0 = port_stats(kdp, v["port"]).get("rx", 0)
    tp = testpmd_pod(v["socket"], v["mac"], "txonly", "tv",
                     ["--tx-ip=%s,%s" % (PODS["v"], PODS["p1"]),
                      "--eth-peer=0,ee:ee:ee:ee:ee:ee", "--txpkts=64"],
                     queues=2)
    time.sleep(4)
    out = stop_pod(tp)
    per_q = [int(x) for x in re.findall(
        r"Forward Stats for RX Port= 0/Queue= *\d+ -> TX Port= 0/Queue= *"
        r"\d+ -+\s+RX-packets: \d+\s+TX-packets: (\d+)", out)]
    rx = port_stats(kdp, v["port"]).get("rx", 0) - rx0
    check(len(per_q) == 2 and min(per_q) > 20000 and rx >= sum(per_q) * 0.9,
          "a pod with 2 queue pairs on 1 worker: kdp reads both (testpmd "
          "sent %s, kdp received %d)" % (per_q, rx))
    if len(per_q) != 2 or min(per_q) <= 20000:
        print(out[-3000:])
        print("\n".join(l for l in open(os.path.join(kdp.d, "kdp.log")).read().splitlines()
                        if "kdpvhost" in l or "qp idx" in l)[-3000:])


def test_vhost_kills(kdp, v, rounds=3):
    """A DPDK pod killed (SIGKILL) while kdp's worker is busy with it in
    both directions: the pod floods p1 (txonly) and p1 flood-pings the
    pod. The vhost library frees the device once kdp's workers have let
    go of it (dp/vhost.c); a worker still in it would crash kdp."""
    flowing = 0
    for _ in range(rounds):
        tp = testpmd_pod(v["socket"], v["mac"], "txonly", "tv",
                         ["--tx-ip=%s,%s" % (PODS["v"], PODS["p1"]),
                          "--eth-peer=0,ee:ee:ee:ee:ee:ee", "--txpkts=64"])
        fl = subprocess.Popen(["ip", "netns", "exec", ns_name("p1"), "ping",
                               "-f", "-w", "15", PODS["v"]],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        rx0, t0 = port_stats(kdp, v["port"]).get("rx", 0), time.time()
        while time.time() - t0 < 10:
            if port_stats(kdp, v["port"]).get("rx", 0) > rx0 + 10000:
                flowing += 1
                break
            time.sleep(0.2)
        tp.kill()
        tp.communicate()
        fl.kill()
        fl.wait()
        if kdp.proc.poll() is not None:
            break
    check(flowing == rounds and kdp.proc.poll() is None,
          "kdp runs on after the pod was killed %d times in mid-flood "
          "(%d with traffic flowing)" % (rounds, flowing))


def make_dir(prefix, **extra):
    """A temporary dir with the datastore (objects(False)), a pcap
    uplink and kdp.json (plus @p extra keys); its path."""
    d = tempfile.mkdtemp(prefix=prefix)
    cluster.write(os.path.join(d, "ds"), objects(False))
    from scapy.all import Ether, IP, ICMP, wrpcap
    wrpcap(os.path.join(d, "up_in.pcap"),
           [Ether(dst="02:00:00:00:0a:01", src="02:00:00:00:0b:01") /
            IP(src=cluster.NODE_B_IP, dst=cluster.NODE_A_IP) / ICMP()])
    cfg = {"node": "node-a",
           "datastore": {"type": "file", "path": os.path.join(d, "ds")},
           "uplink": {"devargs": "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (
                          os.path.join(d, "up_in.pcap"),
                          os.path.join(d, "up_out.pcap")),
                      "mac": "02:00:00:00:0a:01",
                      "neighbors": {cluster.NODE_B_IP: "02:00:00:00:0b:01",
                                    cluster.GATEWAY: "02:00:00:00:0f:01"},
                      "gateway": cluster.GATEWAY},
           "workers": 1,
           "api_socket": os.path.join(d, "run", "kdp.sock"),
           "state_dir": os.path.join(d, "state"),
           "vhost_dir": os.path.join(d, "vhost")}
    cfg.update(extra)
    json.dump(cfg, open(os.path.join(d, "kdp.json"), "w"))
    return d


def teardown(dirs, nss, prefixes=()):
    """After a test: the network namespaces @p nss, the logs' tails when
    something failed, the test dirs @p dirs (one or a list) and the DPDK
    runtime dirs of PREFIX and @p prefixes. Prints the count; returns the
    exit code."""
    for ns in nss:
        sh("ip", "netns", "del", ns, check_rc=False)
    for d in [dirs] if isinstance(dirs, str) else dirs:
        log = os.path.join(d, "kdp.log")
        if failures and os.path.exists(log):
            text = open(log).read()
            print("kdp log of %s (its own lines, then the tail):" % d)
            print("\n".join(l for l in text.splitlines()
                            if l.startswith("kdp:"))[-6000:])
            print(text[-4000:])
        shutil.rmtree(d, ignore_errors=True)
    for p in (PREFIX,) + tuple(prefixes):
        shutil.rmtree(os.path.join("/var/run/dpdk", p), ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


def guarded(body, cleanup):
    """Run @p body(); an exception is a failure (its traceback printed),
    and what follows it is skipped. Then @p cleanup(), whose result is
    returned."""
    try:
        try:
            body()
        except Exception as e:
            import traceback
            traceback.print_exc()
            failures.append(repr(e))
    finally:
        rc = cleanup()
    return rc


def run_one(d, nss, body, wrap=(), lcores=("-l", "0,1"), prefixes=()):
    """Start kdp on test dir @p d (under the command @p wrap, on EAL
    @p lcores), run @p body(kdp), check that kdp exits 0; a crash is a
    failure. Then teardown(d, nss, prefixes): the exit code."""
    kdp = Kdp(d, wrap, lcores)

    def run():
        kdp.start()
        body(kdp)
        check(kdp.stop() == 0, "kdp exits 0")

    def done():
        kdp.stop()
        return teardown(d, nss, prefixes)
    return guarded(run, done)


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    nss = [ns_name(p) for p in PODS if p != "v"] + [ns_name("long"),
                                                     ns_name("many")]
    for ns in nss:
        sh("ip", "netns", "add", ns)
    dirs, kdps = [], []

    def run():
        for mode in ("pmd", "native"):
            MODE[0] = "" if mode == "pmd" else mode + ": "
            # Native: room in the API for more pods than ethdevs.
            extra = {"tap_ports": "pmd", "vhost_ports": "pmd"} \
                if mode == "pmd" else \
                {"tap_ports": "native", "vhost_ports": "native",
                 "max_api_ports": MANY + 8}
            d = make_dir("kdp-podports-", **extra)
            dirs.append(d)
            kdp = Kdp(d)
            kdps.append(kdp)
            kdp.start()
            a1, a2 = test_tap_pods(kdp)
            if mode == "native":
                test_idle_wake(kdp)
            test_long_name(kdp)
            if mode == "pmd":
                test_port_limit(kdp)
            else:
                test_many_native(kdp)
            test_ghost(kdp, d)
            test_no_disturbance(kdp)
            test_delete(kdp, a2)
            if mode == "pmd":
                test_permissions(kdp)
            test_restart(kdp, d, a1)
            test_vhost(kdp, d)
            if mode == "native":
                test_many_vhost(kdp, d)
            check(kdp.stop() == 0, "kdp exits 0 at the end")

    def done():
        for kdp in kdps:
            kdp.stop()
        return teardown(dirs, nss, (PREFIX + "tp", PREFIX + "tv"))
    return guarded(run, done)

if __name__ == "__main__":
    sys.exit(main())
