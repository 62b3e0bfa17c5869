#!/usr/bin/python3
"""The kdp demo: see demo.sh. usage: demo.py SOURCE_ROOT

A whole cluster on one machine with kdp-lab: two kdp nodes (AF_XDP uplinks
on a bridge underlay), the API server stand-in, pods in two namespaces
created as kubelet would (kdp-cni), a NetworkPolicy applied with kubectl and
seen on the probe matrix, cross-node TCP over IPIP seen by tcpdump on the
underlay, kdp's telemetry, and a tear-down that leaves nothing behind.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
import twonode  # noqa: E402
from kdplab.lab import Lab  # noqa: E402

NBYTES = 4 * 1024 * 1024
STAT_KEYS = ("rx", "tx", "ipip_encap", "ipip_decap", "arp_replied", "drops")
PODS = (  # namespace/name, node, labels
    ("frontend/web", "node-1", "app=web"),
    ("frontend/admin", "node-2", "app=admin"),
    ("backend/db", "node-2", "app=db"),
    ("backend/cache", "node-1", "app=cache"),
)
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-web
  namespace: backend
spec:
  podSelector:
    matchLabels: {app: db}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: frontend}
      podSelector:
        matchLabels: {app: web}
    ports:
    - {protocol: TCP, port: 80}
"""


def step(msg):
    print("\n\033[1m== %s\033[0m" % msg, flush=True)


def show(cmd, lines):
    print("$ " + cmd)
    for line in lines:
        print("  " + line)
    sys.stdout.flush()


class LabCli:
    def __init__(self, d):
        self.cmd = [sys.executable, os.path.join(ROOT, "tests", "lab", "kdp-lab")]
        self.env = dict(os.environ, KDP_LAB_DIR=d)

    def __call__(self, *args, input=None, check=True, echo=True):
        r = subprocess.run(self.cmd + list(args), input=input, env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        if echo:
            show("kdp-lab " + " ".join(args), r.stdout.rstrip().splitlines())
        if check and r.returncode != 0:
            raise RuntimeError("kdp-lab %s failed" % " ".join(args))
        return r


def telemetry(prefix, cmd):
    """Ask a running kdp with DPDK's own client, as an operator would. Off
    a terminal it prints one JSON object per command."""
    r = subprocess.run(["dpdk-telemetry.py", "-f", prefix], input=cmd + "\n",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=10)
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)[cmd]
    raise RuntimeError("dpdk-telemetry.py -f %s: %s" % (prefix, r.stdout))


def demo(lab, st_path):
    step("1. a 2-node cluster: API server stand-in + kdp per node")
    lab("up", "--nodes", "2")
    st = json.load(open(st_path))
    for n in st["nodes"]:
        print("  %s: netns %s, node IP %s, DPDK prefix %s" %
              (n["name"], n["netns"], n["ip"], n["prefix"]))
    print("  underlay bridge br0 in netns %s" % st["underlay_netns"])

    step("2. pods in two namespaces (Pod object, netns, kdp-cni ADD)")
    for ns in ("frontend", "backend"):
        lab("kubectl", "create", "namespace", ns)
    for key, node, labels in PODS:
        lab("pod", "add", key, "--node", node, "--labels", labels,
            "--serve", "tcp:80")
    st = json.load(open(st_path))

    step("3. a NetworkPolicy: backend/db takes TCP 80 from frontend/web only")
    lab("matrix", "tcp", "80")
    show("cat db-from-web.yaml", POLICY.rstrip().splitlines())
    lab("kubectl", "apply", "-f", "-", input=POLICY)
    # kdp publishes within milliseconds; wait for it anyway.
    deadline = time.time() + 10
    while lab("probe", "frontend/admin", "backend/db", "tcp", "80",
              check=False, echo=False).returncode == 0:
        if time.time() > deadline:
            raise RuntimeError("the policy did not take effect")
    lab("matrix", "tcp", "80")
    print("  (rows: from, columns: to; a pod reaching itself never leaves "
          "its netns)")

    step("4. cross-node ping and TCP through IPIP: frontend/web (node-1) -> "
         "frontend/admin (node-2), %d MiB" % (NBYTES >> 20))
    web, admin = st["pods"]["frontend/web"], st["pods"]["frontend/admin"]
    ping = subprocess.run(["ip", "netns", "exec", web["netns"], "ping", "-c",
                           "3", "-i", "0.2", "-W", "2", admin["ip"]],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    show("kdp-lab exec frontend/web ping -c 3 %s" % admin["ip"],
         [ln for ln in ping.stdout.splitlines() if ln.strip()][-4:])
    if ping.returncode != 0:
        raise RuntimeError("ping across nodes failed")
    cap = twonode.Capture(st["underlay_netns"], "br0",
                          os.path.join(st["dir"], "underlay.pcap"))
    try:
        got, same, secs = twonode.tcp_transfer(web["netns"], admin["netns"],
                                               admin["ip"], NBYTES)
    finally:
        lines = cap.stop()
    print("  received %d of %d bytes, sha256 %s, %.2f s (%.0f Mbit/s)"
          % (got, NBYTES, "matches" if same else "DIFFERS", secs,
             got * 8 / secs / 1e6))
    if got != NBYTES or not same:
        raise RuntimeError("TCP transfer incomplete")
    tcp = [ln for ln in lines if "Flags" in ln]
    show("ip netns exec %s tcpdump -nn -i br0 ip proto 4   # %d IPIP packets"
         % (st["underlay_netns"], len(lines)),
         tcp[:4] + ["..."] + tcp[len(tcp) // 2:len(tcp) // 2 + 3])

    step("5. telemetry")
    for n in st["nodes"]:
        s = telemetry(n["prefix"], "/kdp/stats")
        show("echo /kdp/stats | dpdk-telemetry.py -f %s   # excerpt"
             % n["prefix"], ["%-11s %s" % (k, s[k]) for k in STAT_KEYS] +
             ["  %-9s %s" % (k, v) for k, v in
              sorted(s.get("drop_reasons", {}).items()) if v])
    n2 = st["nodes"][1]
    pol = telemetry(n2["prefix"], "/kdp/policy")
    show("echo /kdp/policy | dpdk-telemetry.py -f %s" % n2["prefix"],
         ["enabled: %s, rte_acl forms: %s (%s of %s programs)" % (
             pol.get("enabled"), pol.get("fast_state", "-"),
             pol.get("fast_programs", 0), pol.get("programs", 0))] +
         ["%s: ingress %s, egress %s" % (v.get("pod", ep), v["ingress"] or "-",
                                          v["egress"] or "-")
          for ep, v in sorted(pol.items()) if isinstance(v, dict)])


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="kdp-demo.")
    os.rmdir(d)
    lab = LabCli(d)
    # meson/make send SIGTERM: unwind so the lab still comes down.
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    rc = 0
    try:
        demo(lab, os.path.join(d, "state.json"))
    except (RuntimeError, subprocess.SubprocessError) as e:
        print("demo: FAILED: %s" % e)
        rc = 1
    finally:
        step("6. tear-down")
        lab("down", check=False)
        left = Lab(d).leftovers()
        if os.path.exists(d):
            left.append(("dir", d))
        print("  left behind: %s" % (", ".join("%s %s" % x for x in left)
                                     or "nothing"))
    print("\ndemo %s in %.1f s" % ("done" if rc == 0 else "FAILED",
                                   time.time() - t0))
    return 1 if rc or left else 0


if __name__ == "__main__":
    sys.exit(main())
