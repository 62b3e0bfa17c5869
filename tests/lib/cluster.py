"""Cluster state in Kubernetes/Calico JSON shapes (calico-model.md §1), for
kdp's file datastore in tests, the demo and benchmarks."""
import ipaddress
import json
import os


def node(name, cidr, tunnel=None, internal_ip=None):
    ann = {}
    if cidr:
        ann["projectcalico.org/IPv4Address"] = cidr
    if tunnel:
        ann["projectcalico.org/IPv4IPIPTunnelAddr"] = tunnel
    obj = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "resourceVersion": "1",
                        "labels": {"kubernetes.io/hostname": name},
                        "annotations": ann},
           "spec": {}, "status": {"addresses": []}}
    if internal_ip:
        obj["status"]["addresses"].append({"type": "InternalIP", "address": internal_ip})
    return obj


def pool(name, cidr, ipip="Always", block_size=26):
    return {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": name},
            "spec": {"cidr": cidr, "blockSize": block_size, "ipipMode": ipip,
                     "vxlanMode": "Never", "natOutgoing": True,
                     "nodeSelector": "all()"}}


def block(cidr, host, allocs=()):
    """allocs: list of (ordinal, node, namespace, pod)."""
    net = ipaddress.ip_network(cidr)
    allocations = [None] * net.num_addresses
    attributes = []
    for i, (ordinal, nd, ns, pod) in enumerate(allocs):
        allocations[ordinal] = i
        attributes.append({"handle_id": "k8s-pod-network.%s-%s" % (ns, pod),
                           "secondary": {"node": nd, "namespace": ns, "pod": pod}})
    spec = {"cidr": cidr, "allocations": allocations, "attributes": attributes,
            "unallocated": [i for i, a in enumerate(allocations) if a is None],
            "deleted": False, "strictAffinity": False}
    if host:
        spec["affinity"] = "host:" + host
    name = cidr.replace(".", "-").replace("/", "-")
    return {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPAMBlock",
            "metadata": {"name": name}, "spec": spec}


def pod(ns, name, node_name, ip, labels=None, ports=()):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"nodeName": node_name,
                     "containers": [{"name": "c", "ports": list(ports)}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def namespace(name, labels=None):
    lb = {"kubernetes.io/metadata.name": name}
    lb.update(labels or {})
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": lb}}


def write(dirpath, objs, filename="cluster.json"):
    os.makedirs(dirpath, exist_ok=True)
    tmp = os.path.join(dirpath, "." + filename + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f, indent=1)
    os.rename(tmp, os.path.join(dirpath, filename))


# The standard 3-node fixture used by the dataplane tests.
NODE_A_IP, NODE_B_IP, NODE_C_IP = "192.168.10.11", "192.168.10.12", "192.168.20.13"
GATEWAY = "192.168.10.1"


def three_nodes():
    """node-a (us) and node-b share 192.168.10.0/24; node-c is elsewhere.
    Pool 10.244/16 is ipipMode Always, pool 10.245/16 CrossSubnet."""
    return [
        node("node-a", NODE_A_IP + "/24", "10.244.1.1"),
        node("node-b", NODE_B_IP + "/24", "10.244.2.1"),
        node("node-c", NODE_C_IP + "/24", "10.244.3.1"),
        pool("default-ipv4-ippool", "10.244.0.0/16", "Always"),
        pool("cross", "10.245.0.0/16", "CrossSubnet"),
        namespace("x"), namespace("y"),
        block("10.244.1.0/26", "node-a",
              [(1, "node-a", "", "tunnel"), (10, "node-a", "x", "a"),
               (11, "node-a", "x", "b"), (20, "node-b", "y", "b")]),
        block("10.244.2.0/26", "node-b", [(10, "node-b", "y", "a")]),
        block("10.244.3.0/26", "node-c", [(10, "node-c", "y", "c")]),
        block("10.245.2.0/26", "node-b", [(5, "node-b", "y", "d")]),
        block("10.245.3.0/26", "node-c", [(5, "node-c", "y", "e")]),
        pod("x", "a", "node-a", "10.244.1.10"),
        pod("x", "b", "node-a", "10.244.1.11"),
        pod("y", "a", "node-b", "10.244.2.10"),
        pod("y", "b", "node-b", "10.244.1.20"),
    ]
