"""Bulk objects for the API server: from a JSON file, or generated at
scale with calico-model.md shapes."""

import ipaddress
import json

from . import resources


def _resolve(obj):
    av, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    group, _, version = av.rpartition("/")
    for r in resources.RESOURCES:
        if r.group == group and r.version == version and r.kind == kind:
            return r
    raise ValueError(f"unknown apiVersion/kind {av!r}/{kind!r}")


def from_file(path):
    """Accepts a List object, a JSON array, or JSON lines."""
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
        objs = doc.get("items", []) if isinstance(doc, dict) else doc
    except ValueError:
        objs = [json.loads(line) for line in text.splitlines() if line.strip()]
    pairs = []
    for o in objs:
        r = _resolve(o)
        ns = o.get("metadata", {}).get("namespace", "default") \
            if r.namespaced else ""
        pairs.append((r, ns, o))
    # Namespaces first, so namespaced objects find theirs.
    pairs.sort(key=lambda p: p[0].plural != "namespaces")
    return pairs


DEFAULTS = {"namespaces": 20, "nodes": 0, "pods": 0, "ipamblocks": 0,
            "networkpolicies": 0}


def parse_spec(text):
    spec = dict(DEFAULTS)
    for part in text.split(","):
        if not part.strip():
            continue
        k, _, v = part.partition("=")
        if k.strip() not in spec:
            raise ValueError(f"unknown generator key {k!r}; known: "
                             f"{', '.join(spec)}")
        spec[k.strip()] = int(v)
    return spec


def generate(spec):
    R = resources.find
    nsr, node_r, pod_r = R("", "v1", "namespaces"), R("", "v1", "nodes"), \
        R("", "v1", "pods")
    blk_r = R(resources.CALICO, "v1", "ipamblocks")
    np_r = R("networking.k8s.io", "v1", "networkpolicies")
    nss = [f"ns-{i}" for i in range(max(1, spec["namespaces"]))]
    for ns in nss:
        yield nsr, "", {"metadata": {"name": ns, "labels": {"team": ns}}}
    nodes = spec["nodes"]
    for i in range(nodes):
        ip = ipaddress.IPv4Address("192.168.0.0") + 10 + i
        name = f"node-{i}"
        yield node_r, "", {"metadata": {
            "name": name, "labels": {"kubernetes.io/hostname": name},
            "annotations": {
                "projectcalico.org/IPv4Address": f"{ip}/16",
                "projectcalico.org/IPv4IPIPTunnelAddr":
                    str(ipaddress.IPv4Address("10.244.0.0") + 64 * i)}},
            "spec": {},
            "status": {"addresses": [{"type": "InternalIP",
                                      "address": str(ip)},
                                     {"type": "Hostname", "address": name}]}}
    pool = ipaddress.IPv4Network("10.244.0.0/14")
    for i in range(spec["ipamblocks"]):
        base = pool.network_address + 64 * i
        cidr = f"{base}/26"
        node = f"node-{i % nodes}" if nodes else f"node-{i}"
        yield blk_r, "", {"metadata": {"name": cidr.replace(".", "-")
                                       .replace("/", "-")},
                          "spec": {"cidr": cidr, "affinity": f"host:{node}",
                                   "allocations": [0] + [None] * 63,
                                   "unallocated": list(range(1, 64)),
                                   "attributes": [{"handle_id":
                                                   f"ipip-tunnel-addr-{node}",
                                                   "secondary": {
                                                       "node": node,
                                                       "type":
                                                       "ipipTunnelAddress"}}],
                                   "deleted": False, "strictAffinity": False}}
    for i in range(spec["pods"]):
        ns = nss[i % len(nss)]
        node = f"node-{i % nodes}" if nodes else ""
        ip = pool.network_address + (i // 62) * 64 + 1 + i % 62 \
            if nodes else None
        pod = {"metadata": {"name": f"pod-{i}", "namespace": ns,
                            "labels": {"app": f"app-{i % 50}",
                                       "tier": ("web", "db", "cache")[i % 3]}},
               "spec": {"nodeName": node, "serviceAccountName": "default",
                        "containers": [{"name": "c", "image": "busybox",
                                        "ports": [{"name": "http",
                                                   "containerPort": 8080,
                                                   "protocol": "TCP"}]}]},
               "status": {"phase": "Running"}}
        if ip is not None:
            pod["status"]["podIP"] = str(ip)
            pod["status"]["podIPs"] = [{"ip": str(ip)}]
        yield pod_r, ns, pod
    for i in range(spec["networkpolicies"]):
        ns = nss[i % len(nss)]
        yield np_r, ns, {"metadata": {"name": f"np-{i}", "namespace": ns},
                         "spec": {"podSelector": {"matchLabels": {
                             "app": f"app-{i % 50}"}},
                             "policyTypes": ["Ingress"],
                             "ingress": [{"from": [{"podSelector": {
                                 "matchLabels": {"tier": "web"}}}],
                                 "ports": [{"protocol": "TCP",
                                            "port": 8080}]}]}}
