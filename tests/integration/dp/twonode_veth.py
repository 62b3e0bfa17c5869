#!/usr/bin/python3
"""Two kdp nodes over the kernel: AF_XDP uplinks on veths joined by a Linux
bridge (the underlay), tap pods in their own network namespaces.

x/a (node-a) pings and sends a TCP stream to y/a (node-b); the bridge must
carry IPIP between the node IPs, and each kdp must have found the other node
and its own pod by ARP (there are no static neighbors in the config).

node-a's host port sits in a namespace that plays its kernel, with the node
IP and the tunnel IP: y/a pings the tunnel IP, and that kernel pings y/a from
the tunnel IP, as a Linux Calico node sends its host's traffic to remote pods.
Both ways the packets for the tunnel IP arrive in IPIP, and node-a must give
them, decapsulated, to its host.

natOutgoing (host.nat_outgoing on node-a): x/a pings node-a's gateway, a
router on the bridge with no route to the pool. It answers only when node-a
hands the echo to its host, which masquerades it to the node IP.

With egress policy on x/a (namespace y only), the ClusterIP still answers
(Calico checks egress after the DNAT: the DNATed packet, to y/a, passes);
with namespace z only, the DNATed packet is denied.

x/a's ingress is isolated (a NetworkPolicy with no rules): every reply it
gets passes as a conntrack reply, the masqueraded ones too, which node-a's
host turns back to x/a from the gateway's address. node-a's host pings x/a
from the node IP (not policed: the node's own traffic), but not from
another of its addresses: what the host forwards is policed, as in Felix.

The gateway, as a router on a narrower path, sends node-a ICMP
fragmentation-needed about node-a's IPIP to node-b: node-a learns the
tunnel's MTU (/kdp/pmtu), and x/a's DF pings that no longer fit get
fragmentation-needed from node-a.

The uplink takes only frames sent to its MAC (README "Uplink"): from the
gateway's namespace, UDP for y/a in frames to a MAC no port has (the bridge
floods such unknown unicast to both nodes) and to the broadcast MAC must
not reach y/a, and each node counts them (l2_other_host, l2_not_unicast);
the same packets to node-b's MAC reach y/a.

Services (README "Services"): node-a's host plays kube-proxy with iptables
DNAT rules. x/a sends UDP to a ClusterIP (in node-a's host.service_cidrs)
that the host DNATs to y/a on node-b; y/a's echo must reach x/a from the
ClusterIP, which only happens when node-a returns the reply to its host
(the flow came in through the host port) for it to un-DNAT. And y/a, from
node-b across the underlay, sends to node-a's NodePort, DNATed to x/a
(whose ingress allows that port): x/a's echo must reach y/a from the node
IP and the NodePort. A TCP echo of 64 KiB through the ClusterIP must
come back whole, from the ClusterIP. KDP_TEST_NO_SERVICE_CIDRS=1 leaves host.service_cidrs
out, to run against a kdp without the key (the ClusterIP then goes to the
host by natOutgoing).

usage: twonode_veth.py KDP_BINARY    (root; exit 77 = skipped)
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "lib"))
import cluster  # noqa: E402
import twonode  # noqa: E402
from twonode import GATEWAY_IP, NODE_A_IP, NODE_B_IP, POD_X, POD_Y  # noqa: E402

TUN_A = "10.244.1.1"  # node-a's tunnel IP (twonode.objects())
OTHER_A = "198.51.100.11"  # another address of node-a's host

# x/a takes no new flow in: only replies reach it.
ISOLATE_XA = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "x-a-isolated", "namespace": "x"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}

# x/a takes UDP to ECHO_PORT in (the NodePort's DNATed packets).
ALLOW_XA_ECHO = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "x-a-echo", "namespace": "x"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
             "ingress": [{"ports": [{"protocol": "UDP", "port": 7777}]}]}}
ECHO_PORT = 7777


def egress_xa_to(ns):
    """x/a may send to pods of namespace @ns only."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "x-a-egress", "namespace": "x"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                     "egress": [{"to": [{"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": ns}}}]}]}}


SERVICE_CIDR = "10.96.0.0/12"
CLUSTER_IP = "10.96.0.10"
NODE_PORT = 30777

# A UDP echo server, and a client that prints the address its answer came
# from (a connected socket takes only its peer's: print "none" else).
ECHO_SERVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", %d))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
""" % ECHO_PORT
# TCP through a ClusterIP: 64 KiB echoed whole, the peer as the client
# sees it (the ClusterIP, once the host un-DNATs every reply segment).
TCP_SVC_PORT = 7778
TCP_ECHO_SERVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d))
s.listen(4)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()
""" % TCP_SVC_PORT
TCP_ECHO_CLIENT = """
import socket, sys
data = bytes(range(256)) * 256
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
peer = c.getpeername()[0]
c.sendall(data)
c.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = c.recv(65536)
    if not d:
        break
    got += d
print("tcp", peer, len(got), got == data)
"""
ECHO_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
for i in range(5):
    s.send(b"kdp %d" % i)
    try:
        d = s.recv(2048)
    except socket.timeout:
        continue
    print("reply", s.getpeername()[0], d.decode())
    sys.exit(0)
print("none")
"""

NBYTES = 3 * 1024 * 1024
TCP_PORT = 5001
L2_PORT = 5002
L2_OTHER_MAC = "02:00:00:00:99:99"  # no port on the bridge has it
L2_BCAST = "ff:ff:ff:ff:ff:ff"
L2_N = 5

# In a pod's namespace: the payloads of the UDP datagrams to port argv[1],
# one a line, until 1.5 s pass without one after the first (or 30 s).
_UDP_RECV = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
end, got = time.time() + 30, False
while time.time() < end:
    s.settimeout(1.5 if got else end - time.time())
    try:
        d = s.recv(2048)
    except socket.timeout:
        break
    got = True
    print(d.decode(errors="replace"), flush=True)
"""

# On the bridge (the gateway's gw0): argv[4] UDP datagrams from argv[1] to
# argv[2]:argv[3], plain, in frames to each MAC after them in turn, each
# tagged "MAC i".
_L2_SEND = r"""
import sys
from scapy.all import IP, UDP, Ether, Raw, get_if_hwaddr, sendp
src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
me = get_if_hwaddr("gw0")
sendp([Ether(dst=mac, src=me) / IP(src=src, dst=dst) /
       UDP(sport=4000 + i, dport=port) / Raw(("%s %d" % (mac, i)).encode())
       for mac in sys.argv[5:] for i in range(n)], iface="gw0", verbose=False)
"""


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


TOPO = None


def check(cond, what):
    if not cond:
        if TOPO is not None:
            print(TOPO.diagnose())
        raise AssertionError(what)
    print("ok   " + what)


def pod_mac(n):
    out = n.ns("cat", "/sys/class/net/%s/address" % n.tap).stdout
    return out.strip()


def neighbors(n):
    """/kdp/neighbors lines: "portN IP MAC state held=K" -> {ip: (mac, state)}"""
    out = {}
    for line in n.telemetry("/kdp/neighbors"):
        f = line.split()
        out[f[1]] = (f[2], f[3])
    return out


def check_replies(r, want, what):
    """@r, a ping's result, got at least @want replies."""
    m = re.search(r"(\d+) received", r.stdout)
    check(r.returncode == 0 and m and int(m.group(1)) >= want, what)


def ipip_packets(pcap):
    """(outer src, outer dst, inner src, inner dst, inner proto) of each IPIP
    packet in the capture."""
    from scapy.all import IP, rdpcap
    pkts = []
    for p in rdpcap(pcap):
        if IP in p and p[IP].proto == 4 and IP in p[IP].payload:
            o, i = p[IP], p[IP].payload
            pkts.append((o.src, o.dst, i.src, i.dst, i.proto))
    return pkts


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        skip("needs root")
    for tool in ("ip", "ethtool", "tcpdump", "ping", "iptables"):
        if shutil.which(tool) is None:
            skip("%s is not installed (make deps)" % tool)
    if not os.path.ismount("/sys/fs/bpf"):
        skip("no bpffs on /sys/fs/bpf (make host)")

    t0 = time.time()
    svc = [] if os.environ.get("KDP_TEST_NO_SERVICE_CIDRS") else [SERVICE_CIDR]
    with twonode.TwoNode(sys.argv[1], log=print,
                         extra=[ISOLATE_XA, ALLOW_XA_ECHO],
                         service_cidrs=svc) as t:
        global TOPO
        TOPO = t
        a, b = t.a, t.b
        t.start_capture()
        r = t.ping(a, POD_Y, count=4)
        print(r.stdout.strip())
        check_replies(r, 4, "ping x/a -> y/a: at least 4 replies")

        # Before the TCP stream: tcpdump may still be behind on that one
        # when the capture stops, and lose what came after it.
        check_replies(t.ping(b, TUN_A, count=3), 3,
                      "ping y/a -> node-a's tunnel IP: replies from its host")
        check_replies(sh_ns(a.host_ns, "ping", "-c", "3", "-i", "0.2", "-w",
                            "10", "-I", TUN_A, POD_Y), 3,
                      "ping node-a's host (from the tunnel IP) -> y/a: "
                      "replies")

        check_replies(t.ping(a, GATEWAY_IP, count=3), 3,
                      "ping x/a -> the gateway, masqueraded by node-a's host")
        s = a.telemetry("/kdp/stats")
        check(int(s["masq_host"]) >= 3,
              "node-a gave %s packets to its host to masquerade" %
              s["masq_host"])

        check_replies(sh_ns(a.host_ns, "ping", "-c", "3", "-i", "0.2", "-w",
                            "10", "-I", NODE_A_IP, POD_X), 3,
                      "ping node-a's host (node IP) -> isolated x/a")
        # The host's own packet expiring: the error reaches the host's
        # kernel, from the pods' gateway (from the node IP it would be a
        # martian there, and dropped).
        r = sh_ns(a.host_ns, "ping", "-c", "1", "-t", "1", "-W", "3",
                  "-I", NODE_A_IP, POD_X)
        check("From 169.254.1.1" in r.stdout and
              "Time to live exceeded" in r.stdout,
              "TTL 1 from node-a's host: time exceeded from 169.254.1.1 "
              "(%s)" % r.stdout.strip().splitlines()[1:2])
        sh_ns(a.host_ns, "ip", "addr", "add", OTHER_A + "/32", "dev",
              a.host_if)
        denied = policy_drops(a)
        r = sh_ns(a.host_ns, "ping", "-c", "3", "-i", "0.2", "-w", "3",
                  "-I", OTHER_A, POD_X)
        got = policy_drops(a) - denied
        check(" 0 received" in r.stdout and got >= 3,
              "ping from another address of node-a's host -> isolated "
              "x/a: no reply, %d policy drops" % got)

        services(t)

        got, same, secs = t.tcp_transfer(a, b, NBYTES, port=TCP_PORT)
        check(got == NBYTES, "TCP x/a -> y/a: %d of %d bytes received "
              "(%.2f s)" % (got, NBYTES, secs))
        check(same, "TCP payload sha256 matches")

        lines = t.stop_capture()
        print("\n".join(lines[:4]))

        pk = ipip_packets(t.capture_file)
        fwd = [p for p in pk if p[:4] == (NODE_A_IP, NODE_B_IP, POD_X, POD_Y)]
        rev = [p for p in pk if p[:4] == (NODE_B_IP, NODE_A_IP, POD_Y, POD_X)]
        check(any(p[4] == 1 for p in fwd) and any(p[4] == 1 for p in rev),
              "underlay carries ICMP in IPIP both ways")
        tun = [p for p in pk
               if p in ((NODE_B_IP, NODE_A_IP, POD_Y, TUN_A, 1),
                        (NODE_A_IP, NODE_B_IP, TUN_A, POD_Y, 1))]
        check(len(set(tun)) == 2,
              "underlay carries the tunnel IP's ICMP in IPIP both ways")
        # 3 MiB at MSS 1440 is > 2000 segments; tcpdump may lose some
        # under load, so ask for half of them.
        tcp_fwd = sum(1 for p in fwd if p[4] == 6)
        check(tcp_fwd >= NBYTES // 1440 // 2 and any(p[4] == 6 for p in rev),
              "underlay carries TCP in IPIP (%d data-way packets)" % tcp_fwd)
        # The NodePort's echo, un-DNATed by node-a's host: from the node
        # IP to y/a, in IPIP as the host's traffic to remote pods goes.
        nodeport = [p for p in pk
                    if p == (NODE_A_IP, NODE_B_IP, NODE_A_IP, POD_Y, 17)]
        odd = [p for p in pk if p not in fwd and p not in rev and
               p not in tun and p not in nodeport]
        check(not odd, "no other IPIP on the underlay (%d)" % len(odd))

        check_pmtu(t, a)
        l2_rule(t)

        for n, peer in ((a, b), (b, a)):
            s = n.telemetry("/kdp/stats")
            print("%s: rx=%s tx=%s ipip_encap=%s ipip_decap=%s drops=%s" %
                  (n.name, s["rx"], s["tx"], s["ipip_encap"],
                   s["ipip_decap"], s["drops"]))
            check(int(s["ipip_encap"]) > 0 and int(s["ipip_decap"]) > 0,
                  "%s encapsulated and decapsulated" % n.name)
            nb = neighbors(n)
            peer_mac = sh_mac(peer.uplink)
            check(nb.get(peer.node_ip) == (peer_mac, "reachable"),
                  "%s resolved %s by ARP to %s" % (n.name, peer.node_ip,
                                                   peer_mac))
            check(nb.get(n.pod_ip) == (pod_mac(n), "reachable"),
                  "%s resolved its pod %s by ARP" % (n.name, n.pod_ip))
    TOPO = None
    for n in t.nodes:
        check(n.exit_code == 0, "%s kdp exited 0 on SIGINT" % n.name)
    left = t.leftovers()
    check(not left, "nothing left behind %s" % (left or ""))
    print("PASS in %.1f s" % (time.time() - t0))
    return 0


# The gateway, as a router on a 1400-byte path to node-b, refuses a DF
# IPIP packet of node-a's: the ICMP quotes its outer header and 28 bytes.
PMTU_ICMP = r'''
import sys
from scapy.all import ICMP, IP, UDP, Raw, send
a, b, x, y = sys.argv[1:5]
quote = bytes(IP(src=a, dst=b, proto=4, flags="DF") /
              IP(src=x, dst=y, flags="DF") / UDP() / Raw(b"q" * 1372))[:48]
send(IP(src=sys.argv[5], dst=a) / ICMP(type=3, code=4,
                                      nexthopmtu=int(sys.argv[6])) /
     Raw(quote), verbose=False)
'''


def check_pmtu(t, a):
    """node-a learns the tunnel's path MTU (control/pmtu.h): x/a's
    1400-byte DF packets to y/a then get "fragmentation needed" with MTU
    1380 from node-a, the 1380-byte ones still pass."""
    # First one without a next-hop MTU (pre-RFC 1191): refused, counted.
    for mtu in (0, 1400):
        r = sh_ns(t.gw_ns, "/usr/bin/python3", "-c", PMTU_ICMP, NODE_A_IP,
                  NODE_B_IP, POD_X, POD_Y, GATEWAY_IP, str(mtu))
        check(r.returncode == 0,
              "scapy sent the ICMP (%s)" % r.stdout.strip())
    key = NODE_B_IP.replace(".", "_")
    for _ in range(50):
        pm = a.telemetry("/kdp/pmtu") or {}
        if key in pm.get("tunnels", {}):
            break
        time.sleep(0.1)
    tun = pm.get("tunnels", {}).get(key, {})
    check(tun.get("path_mtu") == 1400 and tun.get("pod_mtu") == 1380 and
          int(pm.get("learned", 0)) == 1 and int(pm.get("rejected", 0)) == 1,
          "node-a learned the path MTU to node-b, refused the MTU-less "
          "ICMP: %s" % pm)
    r = sh_ns(a.netns, "ping", "-M", "do", "-s", "1372", "-c", "2", "-i",
              "0.2", "-W", "2", POD_Y)
    check("mtu = 1380" in r.stdout or "mtu=1380" in r.stdout,
          "1400-byte DF ping x/a -> y/a: told MTU 1380 (%s)" %
          r.stdout.strip().splitlines()[1:3])
    check_replies(sh_ns(a.netns, "ping", "-M", "do", "-s", "1352", "-c",
                        "3", "-i", "0.2", "-w", "10", POD_Y), 3,
                  "1380-byte DF ping x/a -> y/a: replies")


def services(t):
    """kube-proxy's DNAT in node-a's host: a ClusterIP to y/a (node-b),
    node-a's NodePort to x/a; the echoes must come back un-DNATed."""
    a, b = t.a, t.b
    ipt = ("ip", "netns", "exec", a.host_ns, "iptables", "-t", "nat", "-A",
           "PREROUTING", "-p", "udp")
    twonode.sh(*ipt, "-d", CLUSTER_IP, "--dport", str(ECHO_PORT), "-j",
               "DNAT", "--to-destination", "%s:%d" % (POD_Y, ECHO_PORT))
    twonode.sh(*ipt, "-d", NODE_A_IP, "--dport", str(NODE_PORT), "-j",
               "DNAT", "--to-destination", "%s:%d" % (POD_X, ECHO_PORT))
    twonode.sh(*ipt[:-1], "tcp", "-d", CLUSTER_IP, "--dport",
               str(TCP_SVC_PORT), "-j", "DNAT", "--to-destination",
               "%s:%d" % (POD_Y, TCP_SVC_PORT))
    servers = [n.popen_ns("/usr/bin/python3", "-c", ECHO_SERVER,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) for n in (a, b)]
    servers.append(b.popen_ns("/usr/bin/python3", "-c", TCP_ECHO_SERVER,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL))
    try:
        time.sleep(0.5)
        before = int(a.telemetry("/kdp/stats").get("host_return", 0))
        r = a.ns("/usr/bin/python3", "-c", ECHO_CLIENT, CLUSTER_IP,
                 str(ECHO_PORT), check=False)
        check(r.stdout.startswith("reply %s" % CLUSTER_IP),
              "x/a -> ClusterIP %s (DNATed to y/a on node-b): echo from "
              "the ClusterIP (%s)" % (CLUSTER_IP, r.stdout.strip()))
        r = b.ns("/usr/bin/python3", "-c", ECHO_CLIENT, NODE_A_IP,
                 str(NODE_PORT), check=False)
        check(r.stdout.startswith("reply %s" % NODE_A_IP),
              "y/a -> node-a's NodePort %d (DNATed to x/a): echo from the "
              "node IP (%s)" % (NODE_PORT, r.stdout.strip()))
        r = a.ns("/usr/bin/python3", "-c", TCP_ECHO_CLIENT, CLUSTER_IP,
                 str(TCP_SVC_PORT), check=False)
        check(r.stdout.strip() == "tcp %s 65536 True" % CLUSTER_IP,
              "TCP x/a -> ClusterIP %s:%d (DNATed to y/a): 64 KiB echoed "
              "(%s)" % (CLUSTER_IP, TCP_SVC_PORT,
                        (r.stdout + r.stderr).strip()[-200:]))
        got = int(a.telemetry("/kdp/stats").get("host_return", 0)) - before
        check(got >= 10, "node-a returned %d replies to its host" % got)
        if os.environ.get("KDP_TEST_NO_SERVICE_CIDRS"):
            return
        # Egress after the DNAT, as Calico: x/a may send only to
        # namespace y. The ClusterIP is no pod of y, but its leg is not
        # checked; the DNATed packet, to y/a, is, and passes. Allowed only
        # namespace z, the DNATed packet is denied.
        ds = os.path.join(a.dir, "ds")
        cluster.write(ds, [egress_xa_to("y")], filename="egress.json")
        time.sleep(1.0)
        r = a.ns("/usr/bin/python3", "-c", ECHO_CLIENT, CLUSTER_IP,
                 str(ECHO_PORT), check=False)
        check(r.stdout.startswith("reply %s" % CLUSTER_IP),
              "x/a, egress to namespace y only -> ClusterIP DNATed to y/a: "
              "echo (%s)" % r.stdout.strip())
        cluster.write(ds, [egress_xa_to("z")], filename="egress.json")
        time.sleep(1.0)
        denied = policy_drops(a)
        r = a.ns("/usr/bin/python3", "-c", ECHO_CLIENT, CLUSTER_IP,
                 str(ECHO_PORT), check=False)
        got = policy_drops(a) - denied
        check(r.stdout.strip() == "none" and got >= 1,
              "x/a, egress to namespace z only -> ClusterIP DNATed to y/a: "
              "no echo, %d policy drops" % got)
        os.unlink(os.path.join(ds, "egress.json"))
        time.sleep(1.0)
    finally:
        for p in servers:
            p.kill()
            p.wait()


def policy_drops(n):
    return int(n.telemetry("/kdp/stats")["drop_reasons"]["policy_deny"])


def l2_drops(n):
    d = n.telemetry("/kdp/stats")["drop_reasons"]
    return int(d.get("l2_other_host", 0)), int(d.get("l2_not_unicast", 0))


def l2_rule(t):
    """The uplinks' L2 rule, from the underlay: UDP from the gateway to y/a
    in frames to a MAC the bridge floods, to the broadcast MAC, then to
    node-b's own MAC; only the last reach y/a."""
    b = t.b
    ours = sh_mac(b.uplink)
    before = {n.name: l2_drops(n) for n in t.nodes}
    recv = b.popen_ns(sys.executable, "-c", _UDP_RECV, str(L2_PORT),
                      stdout=subprocess.PIPE, text=True)
    try:
        check(recv.stdout.readline().strip() == "ready",
              "UDP receiver listening in y/a")
        r = sh_ns(t.gw_ns, sys.executable, "-c", _L2_SEND, GATEWAY_IP,
                  POD_Y, str(L2_PORT), str(L2_N), L2_OTHER_MAC, L2_BCAST,
                  ours)
        check(r.returncode == 0, "scapy sent %d frames on the bridge%s" %
              (3 * L2_N, (": " + r.stdout.strip()) if r.returncode else ""))
        out = recv.communicate(timeout=40)[0]
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    got = [line for line in out.splitlines() if line]
    for mac, what in ((L2_OTHER_MAC, "an unknown unicast MAC (flooded)"),
                      (L2_BCAST, "the broadcast MAC")):
        seen = [g for g in got if g.startswith(mac + " ")]
        check(not seen, "UDP for y/a in frames to %s not delivered (%d "
              "were)" % (what, len(seen)))
    mine = [g for g in got if g.startswith(ours + " ")]
    check(len(mine) == L2_N, "the same to node-b's MAC %s delivered to "
          "y/a: %d of %d" % (ours, len(mine), L2_N))
    for n in t.nodes:
        other, group = (x - y for x, y in zip(l2_drops(n), before[n.name]))
        check(other >= L2_N and group >= L2_N,
              "%s counted them: l2_other_host +%d, l2_not_unicast +%d "
              "(want %d each)" % (n.name, other, group, L2_N))


def sh_ns(netns, *args):
    return subprocess.run(["ip", "netns", "exec", netns] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def sh_mac(ifname):
    with open("/sys/class/net/%s/address" % ifname) as f:
        return f.read().strip()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (AssertionError, RuntimeError, subprocess.SubprocessError) as e:
        print("FAIL: %s" % e)
        sys.exit(1)
