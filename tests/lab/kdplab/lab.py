"""kdp-lab: a kind-like local cluster built from network namespaces.

    root netns:      the API server stand-in (listens on 0.0.0.0), bridge
                     kl<T>mg (10.99.<M>.1/24): every node's management link
                     (veth kl<T>m<i>)
    netns kl<T>ul:   bridge br0, the underlay (no addresses)
    netns kl<T>n<i>: node-<i>: kdp (uplink AF_XDP on "ulink", node IP
                     192.168.100.<10+i>/24 held by kdp), "mg" 10.99.<M>.<10+i>
                     to reach the API server; DPDK file prefix kdplab-<T>-node-<i>
    netns kl<T>p...: one per pod; its eth0 is a tap (or a vhost-user socket)
                     that kdp creates and moves there

<T> is the lab's tag: 4 hex digits of a hash of the lab directory, so labs
in different directories coexist, and 'down' removes only its own objects
(names stay within IFNAMSIZ). <M> is the first management /24 free when the
lab came up.

Pods are created as kubelet would: the Pod object through the API, a netns,
CNI ADD with build/kdp-cni, then status.podIP written back. State lives in
one directory (default /run/kdp-lab) so commands need no flags.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import kdptel  # noqa: E402

DEFAULT_DIR = "/run/kdp-lab"
POOL = "10.244.0.0/16"
MG_NET = "10.99"
UL_NET = "192.168.100"


def kdp_bin():
    return os.environ.get("KDP_BIN", os.path.join(ROOT, "build", "dp", "main", "kdp"))


def cni_bin():
    return os.environ.get("KDP_CNI", os.path.join(ROOT, "build", "kdp-cni"))


def sh(*args, check=True, input=None, env=None, timeout=60):
    r = subprocess.run(list(args), input=input, env=env, timeout=timeout,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise SystemExit("kdp-lab: %s failed (%d): %s" %
                         (" ".join(args), r.returncode, r.stderr.strip()))
    return r


def in_ns(ns, *args, **kw):
    return sh("ip", "netns", "exec", ns, *args, **kw)


def lab_tag(d):
    """4 hex digits naming every netns, link and DPDK prefix of the lab in d:
    derived from the path so that even a half-started lab can be swept."""
    return hashlib.sha256(os.path.abspath(d).encode()).hexdigest()[:4]


def free_mg_net(tag):
    """A management /24 (10.99.M.0/24) no other interface uses, starting
    from one derived from the tag so labs rarely probe each other's."""
    r = sh("ip", "-4", "-o", "addr", "show", check=False)
    used = set()
    for line in r.stdout.split():
        if line.startswith(MG_NET + "."):
            used.add(int(line.split(".")[2]))
    start = int(tag, 16) % 250
    for k in range(250):
        m = (start + k) % 250 + 1
        if m not in used:
            return "%s.%d" % (MG_NET, m)
    raise SystemExit("kdp-lab: no free management network in %s.0.0/16" % MG_NET)


class Lab:
    def __init__(self, d=None):
        self.dir = os.path.abspath(d or os.environ.get("KDP_LAB_DIR", DEFAULT_DIR))
        self.state_path = os.path.join(self.dir, "state.json")
        self.api_dir = os.path.join(self.dir, "api")
        self.kubeconfig = os.path.join(self.api_dir, "kubeconfig")
        self.tag = lab_tag(self.dir)
        self.ul_ns = "kl%sul" % self.tag
        self.mg_br = "kl%smg" % self.tag

    # -- state -------------------------------------------------------------
    def load(self):
        try:
            with open(self.state_path) as f:
                return json.load(f)
        except OSError:
            raise SystemExit("kdp-lab: no lab in %s (run 'kdp-lab up')" % self.dir)

    def save(self, st):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1)
        os.replace(tmp, self.state_path)

    # -- kubectl -----------------------------------------------------------
    def kubectl(self, *args, input=None, check=True):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        return sh("kubectl", *args, input=input, env=env, check=check)

    def apply(self, obj):
        self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    # -- up / down ---------------------------------------------------------
    def up(self, nodes):
        if os.path.exists(self.state_path):
            raise SystemExit("kdp-lab: a lab is already up in %s" % self.dir)
        for b in (kdp_bin(), cni_bin()):
            if not os.access(b, os.X_OK):
                raise SystemExit("kdp-lab: %s not built (run make)" % b)
        os.makedirs(self.dir, exist_ok=True)
        mg = free_mg_net(self.tag)
        st = {"nodes": [], "pods": {}, "dir": self.dir, "tag": self.tag,
              "underlay_netns": self.ul_ns, "mg_net": mg}
        self.save(st)
        lab = os.path.join(HERE, "..", "kdp-lab")
        sh(sys.executable, lab, "apiserver", "start", "--dir", self.api_dir,
           "--listen", "0.0.0.0")
        port = int(open(os.path.join(self.api_dir, "port")).read())
        st["api_port"] = port
        # Management bridge in the root netns: nodes reach the API over it.
        sh("ip", "link", "add", self.mg_br, "type", "bridge")
        sh("ip", "addr", "add", mg + ".1/24", "dev", self.mg_br)
        sh("ip", "link", "set", self.mg_br, "up")
        sh("ip", "netns", "add", self.ul_ns)
        in_ns(self.ul_ns, "ip", "link", "add", "br0", "type", "bridge")
        in_ns(self.ul_ns, "ip", "link", "set", "br0", "up")
        in_ns(self.ul_ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        self.save(st)
        self.apply({"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
                    "metadata": {"name": "default-ipv4-ippool"},
                    "spec": {"cidr": POOL, "blockSize": 26, "ipipMode": "Always",
                             "vxlanMode": "Never", "natOutgoing": False,
                             "nodeSelector": "all()"}})
        for i in range(1, nodes + 1):
            st["nodes"].append(self._node_up(i, port, mg))
            self.save(st)
        for n in st["nodes"]:
            self._wait_ready(n)
        print("kdp-lab: %d node(s) up in %s; API %s" %
              (nodes, self.dir, "https://127.0.0.1:%d" % port))

    def _node_up(self, i, port, mg):
        name, ns = "node-%d" % i, "kl%sn%d" % (self.tag, i)
        nip = "%s.%d" % (UL_NET, 10 + i)
        nd = os.path.join(self.dir, name)
        os.makedirs(nd, exist_ok=True)
        sh("ip", "netns", "add", ns)
        in_ns(ns, "ip", "link", "set", "lo", "up")
        in_ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        # Underlay link: "ulink" in the node, its peer in the bridge.
        sh("ip", "link", "add", "ulink", "netns", ns, "type", "veth", "peer",
           "name", "ul%d" % i, "netns", self.ul_ns)
        in_ns(self.ul_ns, "ip", "link", "set", "ul%d" % i, "master", "br0", "up")
        in_ns(ns, "ethtool", "-K", "ulink", "tx", "off", "rx", "off", "tso", "off",
              "gso", "off", "gro", "off", check=False)
        in_ns(ns, "ip", "link", "set", "ulink", "up")
        # Management link to the API server.
        mg_link = "kl%sm%d" % (self.tag, i)
        sh("ip", "link", "add", mg_link, "type", "veth", "peer", "name", "mg",
           "netns", ns)
        sh("ip", "link", "set", mg_link, "master", self.mg_br, "up")
        in_ns(ns, "ip", "addr", "add", "%s.%d/24" % (mg, 10 + i), "dev", "mg")
        in_ns(ns, "ip", "link", "set", "mg", "up")
        # The node's kubeconfig points at the management address; the
        # server certificate names localhost, hence tls-server-name.
        kc = open(self.kubeconfig).read().replace(
            "server: https://127.0.0.1:%d" % port,
            "server: https://%s.1:%d\n    tls-server-name: localhost" % (mg, port))
        with open(os.path.join(nd, "kubeconfig"), "w") as f:
            f.write(kc)
        os.chmod(os.path.join(nd, "kubeconfig"), 0o600)
        self.apply({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name,
                                 "labels": {"kubernetes.io/hostname": name},
                                 "annotations": {"projectcalico.org/IPv4Address": nip + "/24"}},
                    "spec": {},
                    "status": {"addresses": [{"type": "InternalIP", "address": nip}]}})
        sh(cni_bin(), "ipam", "tunnel-addr", "--node", name, "--kubeconfig",
           self.kubeconfig)
        cfg = {"node": name,
               "datastore": {"type": "kubernetes", "kubeconfig": os.path.join(nd, "kubeconfig")},
               "uplink": {"devargs": "net_af_xdp0,iface=ulink,start_queue=0,queue_count=1"},
               "api_socket": os.path.join(nd, "kdp.sock"),
               "state_dir": os.path.join(nd, "state"),
               "vhost_dir": os.path.join(nd, "vhost"),
               "workers": 1}
        with open(os.path.join(nd, "kdp.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        with open(os.path.join(nd, "10-kdp.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "kdp",
                       "plugins": [{"type": "kdp-cni",
                                    "kubeconfig": self.kubeconfig,
                                    "kdp_socket": cfg["api_socket"],
                                    "nodename": name,
                                    "vhost_share_dir": os.path.join(nd, "vhost-share")}]},
                      f, indent=1)
        prefix = "kdplab-%s-%s" % (self.tag, name)
        log = open(os.path.join(nd, "kdp.log"), "ab")
        p = subprocess.Popen(
            ["nsenter", "--net=/var/run/netns/" + ns, kdp_bin(), "-l", "0,1",
             "--no-pci", "--file-prefix", prefix, "-m", "256", "--",
             "--config", os.path.join(nd, "kdp.json")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        return {"name": name, "netns": ns, "ip": nip, "pid": p.pid,
                "prefix": prefix, "dir": nd, "mg_link": mg_link}

    def _wait_ready(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not os.path.exists("/proc/%d" % n["pid"]):
                raise SystemExit("kdp-lab: kdp of %s exited; see %s/kdp.log" %
                                 (n["name"], n["dir"]))
            try:
                t = kdptel.Telemetry(n["prefix"], timeout=1)
                ds = t.cmd("/kdp/datastore")
                t.close()
                if ds and ds.get("publishes", 0) > 0 and \
                        os.path.exists(os.path.join(n["dir"], "kdp.sock")):
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise SystemExit("kdp-lab: %s not ready after %ds; see %s/kdp.log" %
                         (n["name"], timeout, n["dir"]))

    def down(self):
        if not os.path.exists(self.state_path):
            self._sweep()
            return
        st = self.load()
        for key in list(st["pods"]):
            self._pod_teardown(st["pods"][key])
        for n in st["nodes"]:
            try:
                os.kill(n["pid"], signal.SIGINT)
            except OSError:
                pass
        for n in st["nodes"]:
            for _ in range(100):
                if not os.path.exists("/proc/%d" % n["pid"]):
                    break
                time.sleep(0.05)
            else:
                try:
                    os.kill(n["pid"], signal.SIGKILL)
                except OSError:
                    pass
            sh("ip", "netns", "del", n["netns"], check=False)
            sh("ip", "link", "del", n["mg_link"], check=False)
            shutil.rmtree("/var/run/dpdk/" + n["prefix"], ignore_errors=True)
        self._sweep()
        print("kdp-lab: down")

    def _sweep(self):
        """Remove whatever this lab (even a half-started one) may have left:
        the objects named with its tag, and nothing of other labs."""
        # Namespaces first: deleting a node netns also removes its veths.
        for kind, name in self.leftovers():
            if kind == "netns":
                sh("ip", "netns", "del", name, check=False)
        for kind, name in self.leftovers():
            if kind == "link":
                sh("ip", "link", "del", name, check=False)
            elif kind == "dpdk":
                shutil.rmtree(name, ignore_errors=True)
        lab = os.path.join(HERE, "..", "kdp-lab")
        if os.path.isdir(self.api_dir):
            sh(sys.executable, lab, "apiserver", "stop", "--dir", self.api_dir,
               check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def leftovers(self):
        """(kind, name) of every netns, root-netns link and DPDK runtime dir
        carrying this lab's tag."""
        mine = "kl" + self.tag
        out = []
        r = sh("ip", "netns", "list", check=False)
        for line in r.stdout.splitlines():
            if line.split() and line.split()[0].startswith(mine):
                out.append(("netns", line.split()[0]))
        r = sh("ip", "-o", "link", "show", check=False)
        for line in r.stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name.startswith(mine):
                out.append(("link", name))
        run = "/var/run/dpdk"
        for d in sorted(os.listdir(run)) if os.path.isdir(run) else ():
            if d.startswith("kdplab-%s-" % self.tag):
                out.append(("dpdk", os.path.join(run, d)))
        return out

    # -- pods --------------------------------------------------------------
    def _node(self, st, name):
        for n in st["nodes"]:
            if n["name"] == name:
                return n
        raise SystemExit("kdp-lab: no node %s" % name)

    def pod_add(self, key, node=None, labels=None, serve=(), port_kind="tap"):
        st = self.load()
        if key in st["pods"]:
            raise SystemExit("kdp-lab: pod %s exists" % key)
        ns_name, name = key.split("/", 1)
        if node is None:
            # Round-robin over the nodes by pod count.
            counts = {n["name"]: 0 for n in st["nodes"]}
            for p in st["pods"].values():
                counts[p["node"]] += 1
            node = min(counts, key=lambda k: (counts[k], k))
        n = self._node(st, node)
        ports = []
        for s in serve:
            proto, port = s.split(":")
            ports.append({"name": "serve-%s-%s" % (port, proto.lower()),
                          "containerPort": int(port), "protocol": proto.upper()})
        ann = {"kdp.io/port-kind": port_kind} if port_kind != "tap" else {}
        self.apply({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": ns_name,
                                 "labels": labels or {}, "annotations": ann},
                    "spec": {"nodeName": node,
                             "containers": [{"name": "c", "image": "lab", "ports": ports}]}})
        cid = "%s-%s-%s" % (ns_name, name, os.urandom(3).hex())
        netns = "kl%sp%s" % (self.tag, os.urandom(4).hex())
        sh("ip", "netns", "add", netns)
        in_ns(netns, "ip", "link", "set", "lo", "up")
        in_ns(netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        pod = {"key": key, "node": node, "netns": netns, "cid": cid,
               "serve": list(serve), "pids": [], "kind": port_kind}
        st["pods"][key] = pod
        self.save(st)
        res = self._cni(n, pod, "ADD")
        ip = res["ips"][0]["address"].split("/")[0]
        pod["ip"] = ip
        self.kubectl("patch", "pod", name, "-n", ns_name, "--subresource=status",
                     "--type=merge", "-p", json.dumps(
                         {"status": {"phase": "Running", "podIP": ip,
                                     "podIPs": [{"ip": ip}]}}))
        for s in serve:
            proto, port = s.split(":")
            p = subprocess.Popen(
                ["ip", "netns", "exec", netns, sys.executable,
                 os.path.join(HERE, "serve.py"), proto.lower(), port],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
            pod["pids"].append(p.pid)
        self.save(st)
        print("%s %s %s" % (key, node, ip))

    def _cni(self, n, pod, cmd):
        ns_name, name = pod["key"].split("/", 1)
        conf = json.load(open(os.path.join(n["dir"], "10-kdp.conflist")))
        net = dict(conf["plugins"][0], cniVersion=conf["cniVersion"], name=conf["name"])
        env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=pod["cid"],
                   CNI_NETNS="/var/run/netns/" + pod["netns"], CNI_IFNAME="eth0",
                   CNI_ARGS="K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s" % (ns_name, name),
                   CNI_PATH=os.path.dirname(cni_bin()))
        r = sh(cni_bin(), input=json.dumps(net), env=env, check=False)
        if r.returncode != 0:
            raise SystemExit("kdp-lab: CNI %s for %s failed: %s %s" %
                             (cmd, pod["key"], r.stdout.strip(), r.stderr.strip()))
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def _pod_teardown(self, pod):
        for pid in pod.get("pids", []):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        st = self.load()
        n = self._node(st, pod["node"])
        try:
            self._cni(n, pod, "DEL")
        except SystemExit as e:
            print(e, file=sys.stderr)
        sh("ip", "netns", "del", pod["netns"], check=False)

    def pod_del(self, key):
        st = self.load()
        pod = st["pods"].get(key)
        if pod is None:
            raise SystemExit("kdp-lab: no pod %s" % key)
        self._pod_teardown(pod)
        ns_name, name = key.split("/", 1)
        self.kubectl("delete", "pod", name, "-n", ns_name, "--ignore-not-found")
        st = self.load()
        del st["pods"][key]
        self.save(st)

    # -- probes ------------------------------------------------------------
    def probe(self, src, dst, proto, port, timeout=1.0):
        st = self.load()
        a, b = st["pods"].get(src), st["pods"].get(dst)
        if a is None or b is None:
            raise SystemExit("kdp-lab: unknown pod %s" % (src if a is None else dst))
        r = subprocess.run(["ip", "netns", "exec", a["netns"], sys.executable,
                            os.path.join(HERE, "serve.py"), "probe", proto.lower(),
                            b["ip"], str(port), str(timeout)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0

    def probe_many(self, probes, timeout=1.0, retry_timeout=3.0):
        """probes: [(from, to, proto, port)]. Runs them all at once (one
        prober per source pod, a thread per probe, so a batch costs about
        one timeout) and returns a list of booleans in the same order.
        Blocked probes are tried once more with a longer timeout: on a
        loaded machine a first SYN or datagram can miss a short deadline,
        while a probe policy blocks stays blocked however long it waits."""
        res = self._probe_batch(probes, timeout)
        again = [i for i, ok in enumerate(res) if not ok]
        if again and retry_timeout:
            for i, ok in zip(again, self._probe_batch(
                    [probes[i] for i in again], retry_timeout)):
                res[i] = ok
        return res

    def _probe_batch(self, probes, timeout):
        st = self.load()
        by_src = {}
        for i, (s, d, proto, port) in enumerate(probes):
            for k in (s, d):
                if k not in st["pods"]:
                    raise SystemExit("kdp-lab: unknown pod %s" % k)
            by_src.setdefault(s, []).append(
                (i, "%s:%s:%d" % (proto.lower(), st["pods"][d]["ip"], int(port))))
        res = [False] * len(probes)
        procs = []
        for s, items in by_src.items():
            p = subprocess.Popen(
                ["ip", "netns", "exec", st["pods"][s]["netns"], sys.executable,
                 os.path.join(HERE, "serve.py"), "probes", str(timeout)] +
                [spec for _, spec in items],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True)
            procs.append((p, items))
        for p, items in procs:
            out = p.communicate()[0].split()
            for (i, _), r in zip(items, out):
                res[i] = r == "1"
        return res

    def matrix(self, specs, as_json=False):
        """Every pod to every pod for each (proto, port) in specs, all
        probes at once. Prints a grid per spec ('.' allowed, 'X' blocked;
        rows are sources), or with as_json one object
        {"PROTO/PORT": {"FROM": {"TO": bool}}}."""
        st = self.load()
        keys = sorted(st["pods"])
        cells = [(s, d, proto, port) for proto, port in specs
                 for s in keys for d in keys]
        got = dict(zip(cells, self.probe_many(cells)))
        out = {}
        for proto, port in specs:
            out["%s/%d" % (proto.upper(), port)] = {
                s: {d: got[(s, d, proto, port)] for d in keys} for s in keys}
        if as_json:
            print(json.dumps(out, indent=1))
            return out
        for name, grid in out.items():
            if len(specs) > 1:
                print(name)
            print("-\t" + "\t".join(keys))
            for s in keys:
                print(s + "\t" + "\t".join("." if grid[s][d] else "X" for d in keys))
        return out

    def exec(self, key, cmd):
        st = self.load()
        pod = st["pods"].get(key)
        if pod is None:
            raise SystemExit("kdp-lab: no pod %s" % key)
        return subprocess.call(["ip", "netns", "exec", pod["netns"]] + cmd)
