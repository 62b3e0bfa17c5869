#!/usr/bin/python3
"""Randomized convergence of kdp's Kubernetes datastore under churn and faults.

One kdp follows the API server stand-in. Each round writes a random batch
of creates, updates and deletes of every kind kdp reads, through the
stand-in's HTTP API, and injects faults between the writes at random
moments: watches cut (drop-watches), watches expired (expire-next-watch,
as an ERROR event or an HTTP 410), history reset (every re-watch gets 410:
relists), short stalls and refusals, bookmark interval, continue-token TTL
and history size changes. Some writes are chosen to hurt: deletes while the
watches are down (only a relist can notice them), objects deleted and
created again under the same name, updates that change nothing but the
resourceVersion. The ServiceAccounts collection is larger than kdp's LIST
page (500), so its relists are paginated, and a short continue TTL
expires them half-way while objects of their first page are deleted.

After each round the faults are cleared and the test waits until kdp
reports every reflector synced, at the stand-in's resourceVersion (the
bookmarks bring it), holding as many objects per resource as the stand-in,
with the tables published after the last change (/kdp/datastore). Then
kdp's view must equal what a small model, written from calico-model.md and
README.md rather than from kdp's code, computes from the stand-in's objects:

  - /kdp/routes: local pods, local blocks' blackholes, remote blocks and
    borrowed addresses through IPIP or directly (CrossSubnet, Never),
    tunnel addresses outside their node's block;
  - /kdp/nodes: every node's IP/subnet and tunnel address;
  - /kdp/endpoints: the pod ports' pods with the IPs kdp reads for them;
  - /kdp/policy: per endpoint and direction, the policies that apply, in
    order, with their rule counts.

Failed watches back off exponentially (0.8 s doubling, reset only after
2 quiet minutes), so each kdp takes a bounded number of faults that cut
connections and is then replaced by a new one, started at a random moment
of a round: its first sync happens under churn too.

CONVERGE_SEED=N replays a run; CONVERGE_ROUNDS=N sets the rounds. On a
mismatch the seed, the round, its writes and faults and the diff are
printed."""

import difflib
import ipaddress
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import time

from kdpk8s import Kdp, Lab, config, load, wait_for

SEED = int(os.environ.get("CONVERGE_SEED", "20240611"))
ROUNDS = int(os.environ.get("CONVERGE_ROUNDS", "20"))
SELF = "node-a"
CONVERGE_S = 45          # the longest backoff a kdp reaches here is ~8 s
# Faults that make every reflector retry through its backoff; a kdp takes
# this many, then a fresh one replaces it.
HARD_BUDGET = 3
N_BULK_SA = 520          # > kdp's LIST page of 500

CALICO = "/apis/crd.projectcalico.org/v1"
# kind -> (collection path, namespaced, kdp's telemetry key, stand-in key)
KINDS = {
    "Namespace": ("/api/v1/namespaces", False, "namespaces",
                  "v1/namespaces"),
    "Node": ("/api/v1/nodes", False, "nodes", "v1/nodes"),
    "Pod": ("/api/v1/pods", True, "pods", "v1/pods"),
    "ServiceAccount": ("/api/v1/serviceaccounts", True, "serviceaccounts",
                       "v1/serviceaccounts"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1/networkpolicies", True,
                      "networkpolicies_networking_k8s_io",
                      "networking.k8s.io/v1/networkpolicies"),
    "IPPool": (CALICO + "/ippools", False, "ippools",
               "crd.projectcalico.org/v1/ippools"),
    "IPAMBlock": (CALICO + "/ipamblocks", False, "ipamblocks",
                  "crd.projectcalico.org/v1/ipamblocks"),
    "BlockAffinity": (CALICO + "/blockaffinities", False, "blockaffinities",
                      "crd.projectcalico.org/v1/blockaffinities"),
    "CalicoNetworkPolicy": (CALICO + "/networkpolicies", True,
                            "networkpolicies_projectcalico_org",
                            "crd.projectcalico.org/v1/networkpolicies"),
    "GlobalNetworkPolicy": (CALICO + "/globalnetworkpolicies", False,
                            "globalnetworkpolicies",
                            "crd.projectcalico.org/v1/globalnetworkpolicies"),
    "Tier": (CALICO + "/tiers", False, "tiers", "crd.projectcalico.org/v1/tiers"),
    "NetworkSet": (CALICO + "/networksets", True, "networksets",
                   "crd.projectcalico.org/v1/networksets"),
    "GlobalNetworkSet": (CALICO + "/globalnetworksets", False,
                         "globalnetworksets",
                         "crd.projectcalico.org/v1/globalnetworksets"),
}

# The kinds a small round writes: those the checks see.
FOCUS = ["Node", "IPPool", "IPAMBlock", "Pod", "Namespace", "ServiceAccount",
         "NetworkPolicy", "CalicoNetworkPolicy", "GlobalNetworkPolicy"]

# The universe of names: small, so that names are deleted and re-created.
NODES = ["node-a", "node-b", "node-c", "node-d"]
NAMESPACES = ["x", "y", "z"]
PORT_PODS = ["x/a", "x/b", "y/c", "z/d"]      # kdp's pod ports
PODS = PORT_PODS + ["x/o1", "y/o2", "z/o3"]
POOLS = {"pool-a": "10.244.0.0/16", "pool-b": "10.245.0.0/16",
         "pool-c": "10.244.4.0/22"}
BLOCKS = [f"10.244.{i}.0/26" for i in range(8)] + \
    [f"10.245.{i}.0/26" for i in range(4)]
SAS = ["sa1", "sa2"]
APPS = ["web", "db", "cache"]


def block_name(cidr):
    return cidr.replace(".", "-").replace("/", "-")


def path_of(kind, ns=None, name=None):
    coll, namespaced, _, _ = KINDS[kind]
    if namespaced and ns:
        head, _, plural = coll.rpartition("/")
        coll = f"{head}/namespaces/{ns}/{plural}"
    return coll + (f"/{name}" if name else "")


def api_version(kind):
    return {"Namespace": "v1", "Node": "v1", "Pod": "v1",
            "ServiceAccount": "v1",
            "NetworkPolicy": "networking.k8s.io/v1"}.get(
                kind, "crd.projectcalico.org/v1")


def obj(kind, name, ns=None, **body):
    md = {"name": name}
    if ns:
        md["namespace"] = ns
    md.update(body.pop("metadata", {}))
    k = "NetworkPolicy" if kind == "CalicoNetworkPolicy" else kind
    return {"apiVersion": api_version(kind), "kind": k, "metadata": md,
            **body}


# ---- the stand-in: admin socket and HTTP writes ---------------------------

class Admin:
    """The stand-in's admin socket (a JSON line per request)."""

    def __init__(self, lab):
        self.path = lab.path("admin.sock")

    def __call__(self, op, *args):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path)
            s.sendall(json.dumps({"op": op, "args": [str(a) for a in args]})
                      .encode() + b"\n")
            f = s.makefile("rb")
            r = json.loads(f.readline())
        assert r.get("ok"), (op, args, r)
        return r


class Writer:
    """Writes through the stand-in's REST API, retried while it refuses
    connections (a 'refuse' fault cuts us off too)."""

    def __init__(self, lab):
        self.cl = lab.client()

    def req(self, method, path, body=None):
        end = time.monotonic() + 15
        while True:
            try:
                return self.cl.request(method, path, body)
            except (ConnectionError, OSError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def apply(self, kind, o):
        """PUT, or POST when absent; returns what happened."""
        ns, name = o["metadata"].get("namespace"), o["metadata"]["name"]
        st, doc = self.req("PUT", path_of(kind, ns, name), o)
        if st == 404:
            st, doc = self.req("POST", path_of(kind, ns), o)
            if st == 404:
                return "skipped (no namespace)"
            assert st == 201, (kind, ns, name, st, doc)
            return "created"
        assert st == 200, (kind, ns, name, st, doc)
        return "updated"

    def get(self, kind, ns, name):
        st, doc = self.req("GET", path_of(kind, ns, name))
        return doc if st == 200 else None

    def delete(self, kind, ns, name):
        st, doc = self.req("DELETE", path_of(kind, ns, name))
        assert st in (200, 404), (kind, ns, name, st, doc)
        return "deleted" if st == 200 else "absent"

    def list(self, kind):
        st, doc = self.req("GET", path_of(kind))
        assert st == 200, (kind, st, doc)
        return doc["items"]


# ---- random objects --------------------------------------------------------

class Gen:
    def __init__(self, rng):
        self.r = rng

    def labels(self):
        r, lb = self.r, {}
        if r.random() < 0.8:
            lb["app"] = r.choice(APPS)
        if r.random() < 0.4:
            lb["tier"] = r.choice(["front", "back"])
        return lb

    def node(self, name):
        r, i = self.r, NODES.index(name)
        ann, st = {}, {"addresses": []}
        v = r.random()
        subnet = r.choice([10, 10, 20])
        if name == SELF and v < 0.95 or v < 0.8:
            ann["projectcalico.org/IPv4Address"] = \
                f"192.168.{subnet}.{11 + i}/{r.choice([24, 24, 16])}"
        elif v < 0.85:
            ann["projectcalico.org/IPv4Address"] = f"192.168.{subnet}.{11 + i}"
        elif v < 0.95:
            st["addresses"].append({"type": r.choice(["InternalIP",
                                                      "ExternalIP"]),
                                    "address": f"192.168.30.{11 + i}"})
        t = r.random()
        if t < 0.5:
            ann["projectcalico.org/IPv4IPIPTunnelAddr"] = f"10.244.{i}.1"
        elif t < 0.8:
            b = r.randrange(8)
            ann["projectcalico.org/IPv4IPIPTunnelAddr"] = \
                f"10.244.{b}.{40 + i}"
        return obj("Node", name, metadata={
            "labels": {"kubernetes.io/hostname": name, **self.labels()},
            "annotations": ann}, spec={}, status=st)

    def pool(self, name):
        r = self.r
        spec = {"cidr": POOLS[name], "blockSize": 26,
                "ipipMode": r.choice(["Always", "CrossSubnet", "Never",
                                      "Always"]),
                "vxlanMode": "Never", "natOutgoing": r.random() < 0.5,
                "nodeSelector": "all()"}
        if r.random() < 0.1:
            spec["ipipMode"], spec["vxlanMode"] = "Never", "Always"
        if r.random() < 0.1:
            spec["allowedUses"] = ["LoadBalancer"]
        if r.random() < 0.1:
            spec["disabled"] = True
        return obj("IPPool", name, spec=spec)

    def block(self, cidr):
        r = self.r
        net = ipaddress.ip_network(cidr)
        allocations = [None] * net.num_addresses
        attributes = []
        for ordinal in r.sample(range(1, 9), r.randrange(4)):
            allocations[ordinal] = len(attributes)
            node = r.choice(NODES + ["node-e", ""] if r.random() < 0.2
                            else NODES)
            attributes.append({"handle_id": f"k8s-pod-network.{ordinal}",
                               "secondary": {"node": node, "namespace": "y",
                                             "pod": f"p{ordinal}"}})
        spec = {"cidr": cidr, "allocations": allocations,
                "attributes": attributes,
                "unallocated": [i for i, a in enumerate(allocations)
                                if a is None],
                "deleted": r.random() < 0.1, "strictAffinity": False}
        if r.random() < 0.9:
            spec["affinity"] = "host:" + r.choice(
                NODES + ["node-e"] if r.random() < 0.1 else NODES)
        return obj("IPAMBlock", block_name(cidr), spec=spec)

    def affinity(self, cidr):
        node = self.r.choice(NODES)
        return obj("BlockAffinity", f"{node}-{block_name(cidr)}", spec={
            "cidr": cidr, "deleted": "false", "node": node,
            "state": self.r.choice(["confirmed", "pending"]),
            "type": "host"})

    def namespace(self, name):
        r, lb = self.r, {}
        if r.random() < 0.7:
            lb["team"] = r.choice(["a", "b"])
        if r.random() < 0.4:
            lb["env"] = r.choice(["prod", "dev"])
        return obj("Namespace", name, metadata={"labels": lb})

    def sa(self, ns, name):
        lb = {"role": self.r.choice(["r1", "r2"])} \
            if self.r.random() < 0.7 else {}
        return obj("ServiceAccount", name, ns, metadata={"labels": lb})

    def pod(self, key):
        r = self.r
        ns, name = key.split("/")
        k = PODS.index(key)
        node = SELF if key in PORT_PODS and r.random() < 0.75 \
            else r.choice(NODES)
        ips = []
        for _ in range(r.choice([1, 1, 1, 2])):
            if r.random() < 0.7:
                ips.append(f"10.244.{r.randrange(8)}.{10 + k}")
            else:
                ips.append(f"10.245.{r.randrange(4)}.{10 + k}")
        ips = list(dict.fromkeys(ips))
        if r.random() < 0.1:
            ips.append(f"fd00::{k + 1:x}")
        meta = {"labels": self.labels()}
        spec = {"nodeName": node, "containers": [
            {"name": "c", "ports": [{"name": "http", "containerPort": 80}]}]}
        status = {"phase": "Running"}
        v = r.random()
        if v < 0.6:
            status["podIPs"] = [{"ip": ip} for ip in ips]
            status["podIP"] = ips[0]
        elif v < 0.75:
            status["podIP"] = ips[0]
        elif v < 0.9:
            meta["annotations"] = {"cni.projectcalico.org/podIPs":
                                   ",".join(ips)}
        if r.random() < 0.08:
            status["phase"] = r.choice(["Succeeded", "Failed"])
        if r.random() < 0.05:
            spec["hostNetwork"] = True
        if r.random() < 0.5:
            spec["serviceAccountName"] = r.choice(SAS)
        return obj("Pod", name, ns, metadata=meta, spec=spec, status=status)

    # Calico selectors: (text, predicate over endpoint labels).
    def sel_atom(self):
        r = self.r
        a, b = r.choice(APPS), r.choice(APPS)
        ns = r.choice(NAMESPACES)
        return r.choice([
            ("all()", lambda lb: True),
            (f"app == '{a}'", lambda lb: lb.get("app") == a),
            (f"app != '{a}'", lambda lb: lb.get("app") != a),
            ("has(tier)", lambda lb: "tier" in lb),
            ("!has(tier)", lambda lb: "tier" not in lb),
            (f"app in {{'{a}', '{b}'}}", lambda lb: lb.get("app") in (a, b)),
            (f"app not in {{'{a}'}}", lambda lb: lb.get("app") != a),
            ("pcns.team == 'a'", lambda lb: lb.get("pcns.team") == "a"),
            (f"projectcalico.org/namespace == '{ns}'",
             lambda lb: lb.get("projectcalico.org/namespace") == ns),
            ("pcsa.role == 'r1'", lambda lb: lb.get("pcsa.role") == "r1"),
        ])

    def selector(self):
        r = self.r
        x = self.sel_atom()
        if r.random() < 0.3:
            y = self.sel_atom()
            if r.random() < 0.5:
                return (f"{x[0]} && {y[0]}",
                        lambda lb: x[1](lb) and y[1](lb))
            return (f"({x[0]}) || ({y[0]})",
                    lambda lb: x[1](lb) or y[1](lb))
        return x

    def ns_selector(self):
        r = self.r
        ns = r.choice(NAMESPACES)
        return r.choice([
            "all()", "team == 'a'", "has(env)", "!has(team)",
            f"projectcalico.org/name == '{ns}'",
            f"kubernetes.io/metadata.name == '{ns}'"])

    def calico_rules(self):
        r, out = self.r, []
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            rule = {"action": r.choice(["Allow", "Deny", "Pass", "Log"])}
            v = r.random()
            if v < 0.3:
                rule["protocol"] = r.choice(["TCP", "UDP"])
                rule["destination"] = {"ports": [r.choice([80, 443,
                                                           "8000:8100"])]}
            elif v < 0.6:
                rule["source"] = {"selector": self.selector()[0]}
            elif v < 0.8:
                rule["destination"] = {"nets": ["10.0.0.0/8"],
                                       "notNets": ["10.1.0.0/16"]}
            out.append(rule)
        return out

    def calico_spec(self, glob):
        r = self.r
        spec = {"selector": self.selector()[0],
                "ingress": self.calico_rules(), "egress": self.calico_rules()}
        if r.random() < 0.7:
            spec["order"] = r.choice([10, 100, 500, 1000, 1000.5])
        if r.random() < 0.6:
            spec["types"] = r.choice([["Ingress"], ["Egress"],
                                      ["Ingress", "Egress"]])
        if glob and r.random() < 0.5:
            spec["namespaceSelector"] = self.ns_selector()
        for k in ("ingress", "egress"):
            if not spec[k] and r.random() < 0.5:
                del spec[k]
        return spec

    def label_selector(self):
        r = self.r
        a, b = r.choice(APPS), r.choice(APPS)
        return r.choice([
            {}, {"matchLabels": {"app": a}},
            {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
            {"matchExpressions": [{"key": "tier",
                                   "operator": "DoesNotExist"}]},
            {"matchExpressions": [{"key": "app", "operator": "In",
                                   "values": [a, b]}]},
            {"matchLabels": {"app": a},
             "matchExpressions": [{"key": "app", "operator": "NotIn",
                                   "values": [b]}]}])

    def k8s_rules(self, peers_key):
        r, out = self.r, []
        for _ in range(r.choice([0, 1, 1, 2])):
            rule = {}
            peers = []
            for _ in range(r.choice([0, 1, 2])):
                v = r.random()
                if v < 0.4:
                    peers.append({"podSelector": self.label_selector()})
                elif v < 0.7:
                    peers.append({"namespaceSelector":
                                  {"matchLabels": {"team": "a"}}})
                else:
                    peers.append({"ipBlock": {"cidr": "10.0.0.0/8",
                                              "except": ["10.1.0.0/16"]}})
            if peers or r.random() < 0.5:
                rule[peers_key] = peers
            ports = []
            for _ in range(r.choice([0, 0, 1, 2, 3])):
                v = r.random()
                if v < 0.4:
                    ports.append({"protocol": r.choice(["TCP", "UDP",
                                                        "SCTP"]),
                                  "port": r.choice([53, 80, 443])})
                elif v < 0.6:
                    ports.append({"port": "http"})
                elif v < 0.8:
                    ports.append({"protocol": "UDP", "port": 1000,
                                  "endPort": 1010})
                else:
                    ports.append({"protocol": r.choice(["TCP", "UDP"])})
            if ports or r.random() < 0.5:
                rule["ports"] = ports
            out.append(rule)
        return out

    def k8s_netpol(self, ns, name):
        r = self.r
        spec = {"podSelector": self.label_selector(),
                "ingress": self.k8s_rules("from")}
        if r.random() < 0.6:
            spec["egress"] = self.k8s_rules("to")
        if r.random() < 0.7 or ("egress" in spec and not spec["egress"]):
            spec["policyTypes"] = r.choice([["Ingress"], ["Egress"],
                                            ["Ingress", "Egress"]])
        return obj("NetworkPolicy", name, ns, spec=spec)

    def calico_netpol(self, ns, name):
        return obj("CalicoNetworkPolicy", name, ns,
                   spec=self.calico_spec(False))

    def gnp(self, name):
        return obj("GlobalNetworkPolicy", name, spec=self.calico_spec(True))

    def tier(self, name):
        return obj("Tier", name, spec={"order": self.r.choice([100, 200]),
                                       "defaultAction": "Deny"})

    def netset(self, ns, name):
        return obj("NetworkSet", name, ns,
                   metadata={"labels": self.labels()},
                   spec={"nets": [f"172.16.{self.r.randrange(8)}.0/24"]})

    def gnetset(self, name):
        return obj("GlobalNetworkSet", name,
                   metadata={"labels": self.labels()},
                   spec={"nets": [f"172.17.{self.r.randrange(8)}.0/24"]})


# (kind, namespace or None, name, generator) for every name of the universe.
def universe(g):
    u = []
    for n in NODES:
        u.append(("Node", None, n, lambda n=n: g.node(n)))
    for n in POOLS:
        u.append(("IPPool", None, n, lambda n=n: g.pool(n)))
    for c in BLOCKS:
        u.append(("IPAMBlock", None, block_name(c), lambda c=c: g.block(c)))
    for n in NAMESPACES:
        u.append(("Namespace", None, n, lambda n=n: g.namespace(n)))
    for key in PODS:
        ns, n = key.split("/")
        u.append(("Pod", ns, n, lambda key=key: g.pod(key)))
    for ns in NAMESPACES:
        for n in SAS:
            u.append(("ServiceAccount", ns, n,
                      lambda ns=ns, n=n: g.sa(ns, n)))
        for n in ("knp-0", "knp-1"):
            u.append(("NetworkPolicy", ns, n,
                      lambda ns=ns, n=n: g.k8s_netpol(ns, n)))
        for n in ("cnp-0", "cnp-1"):
            u.append(("CalicoNetworkPolicy", ns, n,
                      lambda ns=ns, n=n: g.calico_netpol(ns, n)))
        u.append(("NetworkSet", ns, "ns-0", lambda ns=ns: g.netset(ns, "ns-0")))
    for n in ("gnp-0", "gnp-1", "gnp-2"):
        u.append(("GlobalNetworkPolicy", None, n, lambda n=n: g.gnp(n)))
    for n in ("t1", "t2"):
        u.append(("Tier", None, n, lambda n=n: g.tier(n)))
    for n in ("gns-0", "gns-1"):
        u.append(("GlobalNetworkSet", None, n, lambda n=n: g.gnetset(n)))
    for c in BLOCKS[:3]:
        u.append(("BlockAffinity", None, None, lambda c=c: g.affinity(c)))
    # The paginated collection: a few of the bulk ServiceAccounts churn.
    for i in range(4):
        n = f"bulk-sa-{i:04d}"
        u.append(("ServiceAccount", "default", n,
                  lambda n=n: obj("ServiceAccount", n, "default",
                                  metadata={"labels": g.labels()})))
    return u


# ---- the model: what kdp must show for the stand-in's objects --------------

def ip4(s):
    try:
        return ipaddress.IPv4Address(s)
    except ValueError:
        return None


class World:
    """The stand-in's objects, read back through its API."""

    def __init__(self, w):
        self.by_kind = {k: w.list(k) for k in KINDS}

    def items(self, kind):
        return self.by_kind[kind]

    def get(self, kind, ns, name):
        for o in self.by_kind[kind]:
            md = o["metadata"]
            if md["name"] == name and md.get("namespace") == ns:
                return o
        return None


def node_addr(n):
    """(ip, plen, tunnel) of a Node: calico-model.md 1.4."""
    md = n["metadata"]
    ann = md.get("annotations") or {}
    ip, plen = None, 32
    v4 = ann.get("projectcalico.org/IPv4Address")
    if v4:
        if "/" in v4:
            ip, plen = ip4(v4.split("/")[0]), int(v4.split("/")[1])
        else:
            ip = ip4(v4)
    else:
        addrs = (n.get("status") or {}).get("addresses") or []
        for t in ("InternalIP", "ExternalIP"):
            got = [ip4(a["address"]) for a in addrs
                   if a.get("type") == t and ip4(a["address"])]
            if got:
                ip = got[0]
                break
    tun = ip4(ann.get("projectcalico.org/IPv4IPIPTunnelAddr") or "")
    return ip, plen, tun


def expect_nodes(wd):
    out = []
    for n in wd.items("Node"):
        ip, plen, tun = node_addr(n)
        out.append(f"{n['metadata']['name']} {ip or 'unknown'}/{plen} "
                   f"tunnel={tun or 'none'}")
    return sorted(out)


def pod_ips(p):
    """The IPv4 addresses kdp takes for a Pod: calico-model.md 1.5."""
    md, st = p["metadata"], p.get("status") or {}
    ann = md.get("annotations") or {}
    if st.get("phase") in ("Succeeded", "Failed", "Completed"):
        return []
    if md.get("deletionTimestamp") and \
            ann.get("cni.projectcalico.org/podIP") == "":
        return []
    for src in ([x.get("ip") for x in st.get("podIPs") or []],
                [st.get("podIP")] if st.get("podIP") else [],
                (ann.get("cni.projectcalico.org/podIPs") or "").split(","),
                [ann.get("cni.projectcalico.org/podIP")]):
        src = [s for s in src if s]
        if src:
            return [str(a) for a in map(ip4, src) if a][:4]
    return []


def local_pod(p):
    spec = p.get("spec") or {}
    return spec.get("nodeName") == SELF and not spec.get("hostNetwork")


POOL_NONE, POOL_NO_ENCAP, POOL_IPIP, POOL_VXLAN = range(4)


def pool_kind(p):
    """calico-model.md 2.1: pool type and crossSubnet."""
    s = p["spec"]
    uses = s.get("allowedUses") or ["Workload", "Tunnel"]
    ipip, vx = s.get("ipipMode") or "Never", s.get("vxlanMode") or "Never"
    cross = "CrossSubnet" in (ipip, vx)
    if "Workload" not in uses and "Tunnel" not in uses:
        return POOL_NONE, cross
    if vx != "Never":
        return POOL_VXLAN, cross
    if ipip != "Never":
        return POOL_IPIP, cross
    return POOL_NO_ENCAP, cross


def expect_routes(wd):
    """calico-model.md 2 and README's forwarding behaviour. Where two
    routes have one prefix, the stronger wins: a local pod, a local block,
    a borrowed address, a remote block, a tunnel address."""
    nodes = {n["metadata"]["name"]: node_addr(n) for n in wd.items("Node")}
    me = nodes.get(SELF)
    pools = [(ipaddress.ip_network(p["spec"]["cidr"]), pool_kind(p))
             for p in wd.items("IPPool")]
    blocks = [b for b in wd.items("IPAMBlock") if not b["spec"].get("deleted")]
    cands = {}

    def put(net, rank, line):
        if net not in cands or rank < cands[net][0]:
            cands[net] = (rank, line)

    def pool_of(net):
        best = None
        for pn, pk in pools:
            if net.subnet_of(pn) and (best is None or
                                      pn.prefixlen > best[0].prefixlen):
                best = (pn, pk)
        return best

    def remote(net, rank, pool, dst):
        ip = nodes.get(dst, (None,))[0]
        kind, cross = pool[1]
        if ip is None or kind in (POOL_NONE, POOL_VXLAN):
            return
        how = "ipip"
        if kind == POOL_NO_ENCAP:
            how = "direct"
        elif cross and me and me[0] and ip in ipaddress.ip_network(
                f"{me[0]}/{me[1]}", strict=False):
            how = "direct"
        put(net, rank, f"{net} {how} via {ip} node {dst}")

    def host_of(b):
        aff = b["spec"].get("affinity") or ""
        return aff[5:] if aff.startswith("host:") else None

    for p in wd.items("Pod"):
        if local_pod(p):
            for ip in pod_ips(p):
                put(ipaddress.ip_network(ip + "/32"), 0,
                    f"{ip}/32 pod {p['metadata']['namespace']}/"
                    f"{p['metadata']['name']}")
    for b in blocks:
        net = ipaddress.ip_network(b["spec"]["cidr"])
        pool = pool_of(net)
        if pool is None or pool[1][0] == POOL_NONE:
            continue
        h = host_of(b)
        if h == SELF:
            if net.prefixlen != 32:
                put(net, 1, f"{net} blackhole")
        elif h:
            remote(net, 3, pool, h)
        attrs = b["spec"].get("attributes") or []
        for i, a in enumerate(b["spec"].get("allocations") or []):
            if a is None:
                continue
            n = (attrs[a].get("secondary") or {}).get("node") or ""
            if not n or n == h or n == SELF:
                continue
            ip = net.network_address + i
            remote(ipaddress.ip_network(f"{ip}/32"), 2, pool, n)
    for name, (ip, plen, tun) in nodes.items():
        if tun is None or name == SELF:
            continue
        holder = None
        for b in blocks:
            net = ipaddress.ip_network(b["spec"]["cidr"])
            if tun in net and (holder is None or
                               net.prefixlen > holder[0].prefixlen):
                holder = (net, b)
        if holder is None or host_of(holder[1]) == name:
            continue
        pool = pool_of(holder[0])
        if pool is None or pool[1][0] == POOL_NONE:
            continue
        remote(ipaddress.ip_network(f"{tun}/32"), 4, pool, name)
    return sorted(line for _, line in cands.values())


def expect_endpoints(wd):
    out = []
    for key in PORT_PODS:
        ns, name = key.split("/")
        p = wd.get("Pod", ns, name)
        ips = pod_ips(p) if p and local_pod(p) else []
        out.append(f"{key} ips={','.join(ips)}")
    return out


def k8s_sel_match(sel, lb):
    for k, v in (sel.get("matchLabels") or {}).items():
        if lb.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and lb.get(k) not in vals or \
                op == "NotIn" and k in lb and lb[k] in vals or \
                op == "Exists" and k not in lb or \
                op == "DoesNotExist" and k in lb:
            return False
    return True


class Sel:
    """A Calico selector of the small language Gen writes, evaluated
    here from its text (the generator's predicates are not kept with the
    objects the stand-in returns)."""

    def __init__(self, text):
        self.text = text.strip()

    def __call__(self, lb):
        return self.ev(self.text, lb)

    def ev(self, t, lb):
        t = t.strip()
        depth = 0
        for i in range(len(t) - 1):      # || binds weakest, then &&
            depth += t[i] == "(" or t[i] == "{"
            depth -= t[i] == ")" or t[i] == "}"
            if depth == 0 and t[i:i + 2] == "||":
                return self.ev(t[:i], lb) or self.ev(t[i + 2:], lb)
        depth = 0
        for i in range(len(t) - 1):
            depth += t[i] == "(" or t[i] == "{"
            depth -= t[i] == ")" or t[i] == "}"
            if depth == 0 and t[i:i + 2] == "&&":
                return self.ev(t[:i], lb) and self.ev(t[i + 2:], lb)
        if t.startswith("(") and t.endswith(")"):
            return self.ev(t[1:-1], lb)
        if t == "all()":
            return True
        if t.startswith("!has("):
            return t[5:-1] not in lb
        if t.startswith("has("):
            return t[4:-1] in lb
        for op in (" not in ", " in ", " == ", " != "):
            if op in t:
                k, v = t.split(op, 1)
                k = k.strip()
                if "in" in op:
                    vals = [x.strip().strip("'") for x in
                            v.strip()[1:-1].split(",")]
                    return (lb.get(k) in vals) == (op == " in ")
                v = v.strip().strip("'")
                return (lb.get(k) == v) == (op == " == ")
        raise ValueError(f"selector {t!r}")


def k8s_rule_count(rules, peers_key):
    """One Allow rule per (protocol, peer): calico-model.md 3."""
    n = 0
    for r in rules or []:
        peers = len(r.get(peers_key) or []) or 1
        ports = r.get("ports") or []
        protos = len({p.get("protocol", "TCP") for p in ports}) or 1
        n += peers * protos
    return n


def calico_types(spec):
    if spec.get("types"):
        return set(spec["types"])
    if spec.get("egress") and not spec.get("ingress"):
        return {"Egress"}
    if spec.get("egress"):
        return {"Ingress", "Egress"}
    return {"Ingress"}


def expect_policy(wd):
    """Per pod port whose pod is local: the policies of each direction in
    tier order (all in tier default), by order (none = last), then name."""
    out = {}
    nss = {n["metadata"]["name"]: n["metadata"].get("labels") or {}
           for n in wd.items("Namespace")}
    for key in PORT_PODS:
        ns, name = key.split("/")
        p = wd.get("Pod", ns, name)
        if p is None or not local_pod(p):
            out[key] = {"ingress": [], "egress": []}
            continue
        plb = p["metadata"].get("labels") or {}
        lb = dict(plb)
        lb["projectcalico.org/namespace"] = ns
        lb["projectcalico.org/orchestrator"] = "k8s"
        for k, v in nss.get(ns, {}).items():
            lb["pcns." + k] = v
        lb["pcns.projectcalico.org/name"] = ns
        sa = (p.get("spec") or {}).get("serviceAccountName")
        if sa:
            lb["projectcalico.org/serviceaccount"] = sa
            sao = wd.get("ServiceAccount", ns, sa)
            if sao:
                for k, v in (sao["metadata"].get("labels") or {}).items():
                    lb["pcsa." + k] = v
                lb["pcsa.projectcalico.org/name"] = sa
        ents = {"ingress": [], "egress": []}

        def add(o, kindrank, types, counts, pol_ns):
            order = o["spec"].get("order", float("inf")) if kindrank \
                else 1000.0
            nm = o["metadata"]["name"]
            label = f"default/{pol_ns + '/' if pol_ns else ''}{nm}"
            for d in ("ingress", "egress"):
                if d.capitalize() in types:
                    ents[d].append(((float(order), nm, pol_ns or "",
                                     kindrank), f"{label} rules={counts[d]}"))

        for o in wd.items("NetworkPolicy"):
            s = o["spec"]
            if o["metadata"]["namespace"] != ns or \
                    not k8s_sel_match(s.get("podSelector") or {}, plb):
                continue
            types = set(s.get("policyTypes") or []) or \
                ({"Ingress", "Egress"} if s.get("egress") else {"Ingress"})
            add(o, 0, types, {"ingress": k8s_rule_count(s.get("ingress"),
                                                          "from"),
                              "egress": k8s_rule_count(s.get("egress"),
                                                       "to")}, ns)
        for kind, kr in (("CalicoNetworkPolicy", 1),
                         ("GlobalNetworkPolicy", 2)):
            for o in wd.items(kind):
                s, pns = o["spec"], o["metadata"].get("namespace")
                if pns and pns != ns or not Sel(s.get("selector") or
                                                "all()")(lb):
                    continue
                if s.get("namespaceSelector"):
                    nlb = dict(nss.get(ns, {}))
                    nlb["projectcalico.org/name"] = ns
                    if not Sel(s["namespaceSelector"])(nlb):
                        continue
                add(o, kr, calico_types(s),
                    {d: len(s.get(d) or []) for d in ("ingress", "egress")},
                    pns)
        out[key] = {d: [line for _, line in sorted(v)]
                    for d, v in ents.items()}
    return out


# ---- kdp's view ------------------------------------------------------------

def observe(kdp):
    eps = []
    for line in kdp.array_pages("/kdp/endpoints"):
        name, _, rest = line.partition(" port=")
        ips = rest.split(" ips=", 1)[1].split(" ")[0]
        eps.append(f"{name} ips={ips}")
    pol = {}
    for key, v in kdp.policy().items():
        pol[key] = {d: [ln.rsplit(" hits=", 1)[0] for ln in v[d]]
                    for d in ("ingress", "egress")}
    return {"routes": sorted(kdp.routes()), "nodes": sorted(
        kdp.array_pages("/kdp/nodes")), "endpoints": sorted(eps),
        "policy": pol}


def expect(wd):
    return {"routes": expect_routes(wd), "nodes": expect_nodes(wd),
            "endpoints": sorted(expect_endpoints(wd)),
            "policy": expect_policy(wd)}


def lines(v):
    return json.dumps(v, indent=1, sort_keys=True).splitlines()


def not_converged(kdp, adm):
    """Why kdp is not caught up with the stand-in yet ([] when it is)."""
    st = adm("status")
    ds = kdp.ds()
    why = []
    if ds.get("synced") != "yes":
        why.append(f"synced={ds.get('synced')}")
    for kind, (_, _, tkey, skey) in KINDS.items():
        r = ds.get(tkey)
        if not isinstance(r, dict):
            why.append(f"{tkey}: no status")
            continue
        want = st["counts"].get(skey, 0)
        if r["state"] != "synced" or r["phase"] != "watching" or \
                r["last_rv"] != str(st["rv"]) or int(r["objects"]) != want:
            why.append(f"{tkey}: {r['state']} {r['phase']} rv "
                       f"{r['last_rv']}/{st['rv']} objects "
                       f"{r['objects']}/{want} {r['last_error']!r}")
    if float(ds["last_publish_mono"]) < float(ds["last_change_mono"]):
        why.append("not published since the last change")
    if ds.get("last_compile_error"):
        why.append(f"compile error {ds['last_compile_error']!r}")
    return why


# ---- the run ---------------------------------------------------------------

class Run:
    def __init__(self, lab, work):
        self.lab, self.work = lab, work
        self.adm = Admin(lab)
        self.w = Writer(lab)
        self.rng = random.Random(SEED)
        self.g = Gen(self.rng)
        self.u = universe(self.g)
        self.kdp = None
        self.lives = 0
        self.hard = 0
        self.log = []

    def note(self, s):
        self.log.append(s)

    def start_kdp(self):
        if self.kdp is not None:
            self.kdp.stop()
        self.lives += 1
        cfg = config(self.lab.path("kubeconfig"))
        cfg["pod_ports"] = [
            {"pod": p, "devargs": f"net_null{i + 1},no-rx=1",
             "mac": f"02:00:00:00:01:{i + 1:02x}"}
            for i, p in enumerate(PORT_PODS)]
        self.kdp = Kdp(self.work, cfg, f"conv{self.lives}")
        self.kdp.start()
        self.hard = 0
        self.note(f"kdp #{self.lives} started")

    def entry(self, kind=None):
        es = [e for e in self.u if kind is None or e[0] == kind]
        return self.rng.choice(es)

    def write(self, kind=None):
        """One random write (of @p kind); returns its description."""
        r = self.rng
        kind, ns, name, gen = self.entry(kind)
        v = r.random()
        where = f"{kind} {ns + '/' if ns else ''}{name}"
        if kind == "Namespace" and v < 0.95 or v < 0.65:
            o = gen()
            where = f"{kind} {ns + '/' if ns else ''}{o['metadata']['name']}"
            return f"apply {where}: {self.w.apply(kind, o)}"
        if v < 0.8 and name:
            cur = self.w.get(kind, ns, name)
            if cur is None:
                return f"touch {where}: absent"
            if r.random() < 0.5:        # the resourceVersion only
                return f"touch {where}: {self.w.apply(kind, cur)}"
            cur["metadata"]["labels"] = dict(
                cur["metadata"].get("labels") or {}, **self.g.labels())
            cur["metadata"]["labels"].pop("tier", None) \
                if r.random() < 0.5 else None
            return f"relabel {where}: {self.w.apply(kind, cur)}"
        if v < 0.9 and name:
            d = self.w.delete(kind, ns, name)
            o = gen()
            return f"recreate {where}: {d}, {self.w.apply(kind, o)}"
        if name is None:
            return "delete BlockAffinity: skipped"
        return f"delete {where}: {self.w.delete(kind, ns, name)}"

    def delete_some(self):
        """Deletes of existing objects, for when the watches are down."""
        out = []
        for _ in range(self.rng.randint(1, 3)):
            kind, ns, name, _ = self.entry()
            if name and kind != "Namespace":
                out.append(f"delete {kind} {ns + '/' if ns else ''}{name}: "
                           f"{self.w.delete(kind, ns, name)}")
        return "; ".join(out)

    def fault(self):
        r = self.rng
        hard = self.hard < HARD_BUDGET
        choices = ["expire-event", "expire-http", "stall", "bookmarks",
                   "continue-ttl", "history"]
        if hard:
            choices += ["drop-watches", "reset-history", "refuse",
                        "drop-watches", "reset-history", "page-expiry"]
        f = r.choice(choices)
        if f in ("drop-watches", "reset-history", "refuse", "page-expiry"):
            self.hard += 1
        if f == "page-expiry":
            # Every reflector relists; the ServiceAccounts' second page
            # finds its continue token expired; meanwhile objects of the
            # first page go.
            self.adm("config", "continue-ttl", 0)
            self.adm("reset-history")
            time.sleep(r.uniform(0.8, 1.6))
            gone = [f"bulk-sa-{i:04d}" for i in r.sample(range(4), 2)]
            return "page-expiry; " + "; ".join(
                f"delete ServiceAccount default/{n}: "
                f"{self.w.delete('ServiceAccount', 'default', n)}"
                for n in gone)
        if f == "drop-watches":
            self.adm("drop-watches")
            return f"drop-watches; {self.delete_some()}"
        if f in ("expire-event", "expire-http"):
            self.adm("expire-next-watch", f[7:])
            return f"expire-next-watch {f[7:]}"
        if f == "reset-history":
            self.adm("reset-history")
            return f"reset-history; {self.delete_some()}"
        if f == "stall":
            s = round(r.uniform(0.1, 0.6), 2)
            self.adm("stall", s)
            return f"stall {s}"
        if f == "refuse":
            s = round(r.uniform(0.2, 0.8), 2)
            self.adm("refuse", s)
            return f"refuse {s}; {self.delete_some()}"
        if f == "bookmarks":
            s = r.choice([0.05, 0.5, 5])
            self.adm("config", "bookmark-interval", s)
            return f"bookmark-interval {s}"
        if f == "continue-ttl":
            s = r.choice([0.02, 0.2, 300])
            self.adm("config", "continue-ttl", s)
            return f"continue-ttl {s}"
        s = r.choice([3, 10, 50])
        self.adm("config", "history", s)
        return f"history {s}"

    def calm(self):
        """Faults off, bookmarks often (they bring the last RV)."""
        self.adm("clear")
        self.adm("config", "bookmark-interval", 0.1)
        self.adm("config", "continue-ttl", 300)
        self.adm("config", "history", 5000)

    def converge(self, rnd):
        t0 = time.monotonic()
        why = []
        while time.monotonic() - t0 < CONVERGE_S:
            assert self.kdp.alive(), f"kdp died; log:\n{self.kdp.log()}"
            why = not_converged(self.kdp, self.adm)
            if not why:
                break
            time.sleep(0.05)
        wd = World(self.w)
        want, got = expect(wd), observe(self.kdp)
        if why or want != got:
            self.report(rnd, why, want, got)
            raise SystemExit(1)
        return time.monotonic() - t0, len(want["routes"])

    def report(self, rnd, why, want, got):
        print(f"FAIL: CONVERGE_SEED={SEED} round {rnd} (kdp #{self.lives},"
              f" log {self.kdp.log_path})")
        print("round's writes and faults:")
        for s in self.log:
            print("  " + s)
        if why:
            print(f"not converged after {CONVERGE_S} s:")
            for s in why:
                print("  " + s)
        for k in want:
            if want[k] != got[k]:
                print(f"--- {k}: model (-) vs kdp (+)")
                for ln in difflib.unified_diff(lines(want[k]), lines(got[k]),
                                               lineterm="", n=2):
                    print(ln)
        sys.stdout.flush()

    def round(self, rnd):
        r = self.rng
        self.log = []
        # Small rounds too: one change alone shows a stale incremental
        # update, which any other change's full rebuild would hide.
        focus = None
        if r.random() < 0.4:
            n = r.randint(1, 2)
            focus = r.choice(FOCUS)
            self.note(f"(a small round: {focus} only)")
        else:
            n = r.randint(5, 14)
        faults = sorted(r.choices(range(n + 1), k=r.randint(1, 3)))
        restart = r.randrange(n + 1) if self.hard >= HARD_BUDGET else None
        for i in range(n + 1):
            if i == restart:
                self.start_kdp()
            while faults and faults[0] == i:
                faults.pop(0)
                self.note("FAULT " + self.fault())
            if i < n:
                self.note(self.write(focus))
        self.calm()
        return self.converge(rnd)

    def setup(self):
        """The stand-in's first objects, the bulk ServiceAccounts, kdp."""
        for kind in ("Namespace", "Node", "IPPool", "IPAMBlock", "Pod",
                     "ServiceAccount", "NetworkPolicy",
                     "CalicoNetworkPolicy", "GlobalNetworkPolicy"):
            for k, ns, name, gen in self.u:
                if k == kind and self.rng.random() < 0.8:
                    self.w.apply(kind, gen())
        load(self.lab, [obj("ServiceAccount", f"bulk-sa-{i:04d}", "default")
                        for i in range(N_BULK_SA)])
        self.calm()
        self.start_kdp()
        return self.converge(0)


def main():
    work = tempfile.mkdtemp(prefix="kdp-k8s-converge-")
    t_start = time.monotonic()
    print(f"CONVERGE_SEED={SEED} CONVERGE_ROUNDS={ROUNDS}")
    with Lab("--history", "5000") as lab:
        x = Run(lab, work)
        try:
            took, n_routes = x.setup()
            print(f"round 0: initial sync, {n_routes} routes, converged in "
                  f"{took:.2f} s")
            for rnd in range(1, ROUNDS + 1):
                took, n_routes = x.round(rnd)
                faults = [s for s in x.log if s.startswith("FAULT")]
                writes = [s for s in x.log if not s.startswith(("FAULT",
                                                                "(", "kdp"))]
                print(f"round {rnd}: {len(writes)} writes"
                      f"{' (' + writes[0] + ')' if len(writes) < 3 else ''}, "
                      f"faults [{', '.join(f[6:].split(';')[0] for f in faults)}]"
                      f", {n_routes} routes, converged in {took:.2f} s")
            assert x.kdp.alive(), x.kdp.log()
            ds = x.kdp.ds()
            assert int(ds["publish_failures"]) == 0, ds
        finally:
            if x.kdp is not None:
                rc = x.kdp.stop()
        assert rc == 0, f"kdp exit {rc}"
    shutil.rmtree(work, ignore_errors=True)   # kept when a check failed
    print(f"ok ({x.lives} kdp instances, {time.monotonic() - t_start:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
