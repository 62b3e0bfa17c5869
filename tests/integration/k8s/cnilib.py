"""Test helper for kdp-cni: a fake kdp pod-port server (PODAPI.md) that
makes real dummy interfaces in the pod netns, netns management, the Calico
objects the plugin reads, and a runner for the plugin binary."""

import json
import os
import socket
import subprocess
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
KDP_CNI = os.environ.get("KDP_CNI") or os.path.join(
    HERE, "..", "..", "..", "build", "kdp-cni")
CRD = "/apis/crd.projectcalico.org/v1"


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True,
                          text=True).stdout


class FakeKdp:
    """One JSON request per connection, like kdp. tap ports are dummy
    links created in the pod netns (so address/route/CHECK are real);
    vhost-user ports are plain Unix sockets. A port belongs to the
    sandbox (container_id) that added it, as in kdp (control/ctl_api.c):
    port_del of another sandbox leaves it, port_add of another replaces
    it."""

    def __init__(self, path, vhost_dir):
        self.path, self.vhost_dir = path, vhost_dir
        self.ports = {}
        self.requests = []
        self.lock = threading.Lock()
        self.n = 0
        self.sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sk.bind(path)
        self.sk.listen(64)
        self.vsocks = []
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def close(self):
        self.sk.close()
        for s in self.vsocks:
            s.close()

    def _serve(self):
        while True:
            try:
                c, _ = self.sk.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        try:
            ans = self.handle(json.loads(data))
        except Exception as e:  # noqa: BLE001 - answer like kdp would
            ans = {"ok": False, "error": repr(e)}
        c.sendall(json.dumps(ans).encode())
        c.close()

    def handle(self, req):
        with self.lock:
            self.requests.append(req)
        op = req.get("op")
        if op == "status":
            return {"ok": True, "node": "node-a", "mtu": 1480,
                    "published": True}
        if op == "port_list":
            with self.lock:
                return {"ok": True, "ports": list(self.ports.values())}
        if op == "port_del":
            cid = req.get("container_id")
            with self.lock:
                p = self.ports.get(req["pod"])
                if p and cid and p.get("container_id", cid) != cid:
                    return {"ok": True, "deleted": False}
                self.ports.pop(req["pod"], None)
            self._close(p)
            return {"ok": True, "deleted": p is not None}
        if op != "port_add":
            return {"ok": False, "error": f"unknown op {op}"}
        cid = req.get("container_id")
        with self.lock:
            old = self.ports.get(req["pod"])
            if old and old["kind"] == req["kind"] and \
                    old.get("container_id", cid) == cid:
                return dict(old, ok=True)
            self.ports.pop(req["pod"], None)
            self.n += 1
            n = self.n
        self._close(old)
        mac = "02:00:00:aa:%02x:%02x" % (n >> 8, n & 0xff)
        port = {"pod": req["pod"], "kind": req["kind"], "port": n,
                "mac": mac, "ifname": req["ifname"], "netns": req["netns"],
                "mtu": 1480}
        if cid:
            port["container_id"] = cid
        if req["kind"] == "tap":
            ns = "--net=" + req["netns"]
            # A veth pair inside the pod netns (the peer stands in for
            # kdp's end; the dummy driver may be missing from the kernel).
            peer = f"kdpp{n}"
            sh("nsenter", ns, "ip", "link", "add", req["ifname"], "type",
               "veth", "peer", "name", peer)
            sh("nsenter", ns, "ip", "link", "set", peer, "up")
            sh("nsenter", ns, "ip", "link", "set", req["ifname"], "address",
               mac, "mtu", "1480", "up")
        else:
            path = os.path.join(self.vhost_dir, req["container_id"] + ".sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            self.vsocks.append(s)
            port["socket"] = path
        with self.lock:
            self.ports[req["pod"]] = port
        return dict(port, ok=True)

    @staticmethod
    def _close(p):
        if p and p["kind"] == "tap":
            subprocess.run(["nsenter", "--net=" + p["netns"], "ip", "link",
                            "del", p["ifname"]], capture_output=True)


class Netns:
    """Named network namespaces under /var/run/netns, removed on close."""

    def __init__(self):
        self.names = []

    def new(self, tag):
        name = f"kdpcni-{os.getpid()}-{tag}"
        sh("ip", "netns", "add", name)
        self.names.append(name)
        return "/var/run/netns/" + name

    def close(self):
        for n in self.names:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def harness(run, what):
    """Run @p run(lab, kdp, nets, tmp) with a fresh API server, fake kdp
    and netns set, and clean everything up."""
    import shutil
    from labclient import Lab
    tmp = tempfile.mkdtemp(prefix="kdp-cni-")
    nets = Netns()
    kdp = FakeKdp(os.path.join(tmp, "kdp.sock"), tmp)
    try:
        with Lab() as lab:
            run(lab, kdp, nets, tmp)
    finally:
        kdp.close()
        nets.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(what + ": ok")


def setup_cluster(c, nodes, pools=None):
    pools = pools or [("pool-a", "10.244.0.0/16", "Always", "all()")]
    for name, cidr, ipip, sel in pools:
        c.must("POST", CRD + "/ippools", {
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": name},
            "spec": {"cidr": cidr, "blockSize": 26, "ipipMode": ipip,
                     "natOutgoing": True, "nodeSelector": sel}})
    for n in nodes:
        c.must("POST", "/api/v1/nodes", {
            "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}})


def make_pod(c, name, ns="default", kind=None):
    meta = {"name": name}
    if kind:
        meta["annotations"] = {"kdp.io/port-kind": kind}
    c.must("POST", f"/api/v1/namespaces/{ns}/pods",
           {"metadata": meta, "spec": {"containers": []}})


class Plugin:
    def __init__(self, lab, sock, share_dir, node="node-a"):
        self.conf = {"cniVersion": "1.0.0", "name": "kdp", "type": "kdp-cni",
                     "kubeconfig": lab.path("kubeconfig"),
                     "kdp_socket": sock, "nodename": node,
                     "vhost_share_dir": share_dir,
                     "ipam": {"type": "kdp-ipam"}}

    def run(self, cmd, cid=None, netns=None, pod=None, ifname="eth0",
            conf=None, stdin=None, env_extra=None, drop=()):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "CNI_COMMAND": cmd, "CNI_PATH": "/opt/cni/bin"}
        if cid:
            env["CNI_CONTAINERID"] = cid
        if netns:
            env["CNI_NETNS"] = netns
        if ifname:
            env["CNI_IFNAME"] = ifname
        if pod:
            ns, name = pod.split("/")
            env["CNI_ARGS"] = (f"IgnoreUnknown=1;K8S_POD_NAMESPACE={ns};"
                               f"K8S_POD_NAME={name};"
                               f"K8S_POD_INFRA_CONTAINER_ID={cid}")
        env.update(env_extra or {})
        for k in drop:
            env.pop(k, None)
        if stdin is None:
            stdin = json.dumps(conf if conf is not None else self.conf)
        r = subprocess.run([KDP_CNI], input=stdin, env=env,
                           capture_output=True, text=True, timeout=120)
        out = json.loads(r.stdout) if r.stdout.strip() else None
        return r.returncode, out, r.stderr

    def start(self, cmd, cid, netns, pod, ifname="eth0"):
        ns, name = pod.split("/")
        env = dict(os.environ, CNI_COMMAND=cmd, CNI_CONTAINERID=cid,
                   CNI_NETNS=netns, CNI_IFNAME=ifname,
                   CNI_ARGS=f"K8S_POD_NAMESPACE={ns};K8S_POD_NAME={name}")
        p = subprocess.Popen([KDP_CNI], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        p.stdin.write(json.dumps(self.conf))
        p.stdin.close()
        p.stdin = None  # let communicate() read the answers
        return p


def check_error(rc, out, code):
    """A CNI error: non-zero exit and {cniVersion, code, msg[, details]}."""
    assert rc != 0, (rc, out)
    assert isinstance(out, dict), out
    assert out.get("code") == code, out
    assert isinstance(out.get("msg"), str) and out["msg"], out
    assert isinstance(out.get("cniVersion"), str), out
    assert set(out) <= {"cniVersion", "code", "msg", "details"}, out


def check_result(out, version, ifname, netns, vhost=False):
    """Schema of an ADD result (CNI spec 'Success' section)."""
    assert out["cniVersion"] == version, out
    assert set(out) <= {"cniVersion", "interfaces", "ips", "routes", "dns"}
    ifs = out["interfaces"]
    assert len(ifs) == 1 and ifs[0]["name"] == ifname, ifs
    assert ifs[0]["sandbox"] == netns, ifs
    mac = ifs[0]["mac"]
    assert len(mac) == 17 and mac.count(":") == 5, mac
    assert ("socketPath" in ifs[0]) == vhost, ifs
    ips = out["ips"]
    assert len(ips) == 1 and ips[0]["address"].endswith("/32"), ips
    assert ips[0]["gateway"] == "169.254.1.1" and ips[0]["interface"] == 0
    assert ("version" in ips[0]) == (version != "1.0.0"), ips
    assert out["routes"] == [{"dst": "0.0.0.0/0", "gw": "169.254.1.1"}]
    assert isinstance(out["dns"], dict)
    return ips[0]["address"].split("/")[0]


def blocks(c):
    return c.must("GET", CRD + "/ipamblocks")["items"]


def holders(c):
    """{ip: (handle, secondary, block affinity)} over every block."""
    import ipaddress
    res = {}
    for b in blocks(c):
        s = b["spec"]
        base = ipaddress.ip_network(s["cidr"]).network_address
        for ord_, idx in enumerate(s["allocations"]):
            if idx is None:
                continue
            a = s["attributes"][idx]
            ip = str(base + ord_)
            assert ip not in res, f"{ip} allocated twice"
            res[ip] = (a["handle_id"], a.get("secondary", {}),
                       s.get("affinity"))
    return res


def block_path(cidr):
    """The IPAMBlock URL for @p cidr (Calico's object name)."""
    return CRD + "/ipamblocks/" + cidr.replace(".", "-").replace("/", "-")


def fill_block(c, cidr, node):
    """Allocate every free ordinal of block @p cidr to handles fill-N held
    by @p node, in one write through the API (as a busy node would have
    done one CNI ADD at a time). Returns how many were filled."""
    b = c.must("GET", block_path(cidr))
    s = b["spec"]
    n = 0
    for o, idx in enumerate(s["allocations"]):
        if idx is None:
            s["allocations"][o] = len(s["attributes"])
            s["attributes"].append({"handle_id": f"fill-{node}-{o}",
                                    "secondary": {"node": node}})
            n += 1
    s["unallocated"] = []
    c.must("PUT", block_path(cidr), b)
    return n
