#!/usr/bin/python3
"""Cluster state for the kdp benchmarks: a 2-node Calico cluster in a
file-datastore directory, plus the kdp config JSON that points at it.

  node-a  192.168.10.11/24  block 10.244.1.0/26  (the node kdp runs as)
  node-b  192.168.10.12/24  block 10.244.2.0/26  (remote, reached by IPIP)
  IPPool  10.244.0.0/16, blockSize 26, ipipMode Always

Pods (namespace "bench"): LOCAL_PODS on node-a, each with a kdp pod port;
REMOTE_PODS on node-b. IPAM allocations in the blocks match the pods and
each node's IPIP tunnel address (the block's first address).

Datastore layout: one Kubernetes object per file, <kind>-[<ns>.]<name>.json,
each with its apiVersion and kind (like `kubectl get -o json` of one object).
write_objects() is the only place that knows this.
"""

import argparse
import ipaddress
import json
import os
import shutil
import sys

POOL_CIDR = "10.244.0.0/16"
BLOCK_SIZE = 26
NS = "bench"
UPLINK_MAC = "02:00:00:00:0a:01"

NODES = {
    "node-a": {"ip": "192.168.10.11/24", "block": "10.244.1.0/26", "mac": UPLINK_MAC},
    "node-b": {"ip": "192.168.10.12/24", "block": "10.244.2.0/26", "mac": "02:00:00:00:0b:01"},
}
LOCAL_NODE = "node-a"
REMOTE_NODE = "node-b"
# pod name -> ordinal of its IP in its node's block
LOCAL_PODS = {"pod-a1": 2, "pod-a2": 3}
REMOTE_PODS = {"pod-b1": 2, "pod-b2": 3, "pod-b3": 4, "pod-b4": 5}


def node_ip(node):
    return NODES[node]["ip"].split("/")[0]


def pod_ip(node, ordinal):
    net = ipaddress.ip_network(NODES[node]["block"])
    return str(net.network_address + ordinal)


# Calico's proxy-ARP gateway MAC: what a pod sends to (kdp accepts any
# destination MAC; it is promiscuous) and what kdp sends to pods from.
GW_MAC = "ee:ee:ee:ee:ee:ee"
# The pool of a run must hold net_pcap's copy of the whole pcap
# (infinite_rx) on top of what kdp's own rings need.
MBUFS_MIN, MBUFS_MAX = 16383, 4194303


def pod_mac(i):
    """MAC of the i-th local pod itself: pod_ports[].mac in kdp's config (a
    static neighbor), the source MAC of the pod's frames (kdp drops others
    as spoof_src_mac) and the destination of kdp's frames to it."""
    return f"02:00:00:00:0c:{0x11 + i:02x}"


def _node(name):
    n = NODES[name]
    tunnel = pod_ip(name, 0)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name},
                         "annotations": {"projectcalico.org/IPv4Address": n["ip"],
                                         "projectcalico.org/IPv4IPIPTunnelAddr": tunnel}},
            "spec": {},
            "status": {"addresses": [{"type": "InternalIP", "address": node_ip(name)},
                                     {"type": "Hostname", "address": name}]}}


def _pool():
    return {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": "default-ipv4-ippool"},
            "spec": {"cidr": POOL_CIDR, "blockSize": BLOCK_SIZE, "ipipMode": "Always",
                     "vxlanMode": "Never", "natOutgoing": True, "nodeSelector": "all()",
                     "allowedUses": ["Workload", "Tunnel"]}}


def _block(node, pods):
    cidr = NODES[node]["block"]
    size = 1 << (32 - int(cidr.split("/")[1]))
    attrs = [{"handle_id": f"ipip-tunnel-addr-{node}",
              "secondary": {"node": node, "type": "ipipTunnelAddress"}}]
    alloc = [None] * size
    alloc[0] = 0
    for name, ordinal in pods.items():
        alloc[ordinal] = len(attrs)
        attrs.append({"handle_id": f"k8s-pod-network.{node}-{name}",
                      "secondary": {"namespace": NS, "node": node, "pod": name}})
    return {"apiVersion": "crd.projectcalico.org/v1", "kind": "IPAMBlock",
            "metadata": {"name": cidr.replace(".", "-").replace("/", "-")},
            "spec": {"cidr": cidr, "affinity": f"host:{node}", "allocations": alloc,
                     "unallocated": [i for i, a in enumerate(alloc) if a is None],
                     "attributes": attrs, "deleted": False, "strictAffinity": False}}


def _pod(name, node, ordinal):
    ip = pod_ip(node, ordinal)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
            "spec": {"nodeName": node, "serviceAccountName": "default",
                     "containers": [{"name": "c", "image": "none",
                                     "ports": [{"name": "udp", "containerPort": 5000,
                                                "protocol": "UDP"}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def objects():
    objs = [_node(n) for n in NODES] + [_pool()]
    objs.append(_block(LOCAL_NODE, LOCAL_PODS))
    objs.append(_block(REMOTE_NODE, REMOTE_PODS))
    objs.append({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": NS, "labels": {"kubernetes.io/metadata.name": NS}}})
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "default", "namespace": NS}})
    objs += [_pod(n, LOCAL_NODE, o) for n, o in LOCAL_PODS.items()]
    objs += [_pod(n, REMOTE_NODE, o) for n, o in REMOTE_PODS.items()]
    return objs


def policies(n_pol=100, n_rules=10):
    """@n_pol K8s NetworkPolicies selecting both local pods, each with
    @n_rules ingress and @n_rules egress rules: n_pol * n_rules rules per
    pod and direction. Every rule but the very last of each direction
    allows only TCP ports the benchmark does not use; the last allows UDP,
    so the benchmark flows pass after the longest walk."""
    sel = {"matchExpressions": [{"key": "app", "operator": "In",
                                 "values": list(LOCAL_PODS)}]}
    out = []
    for i in range(n_pol):
        last = i == n_pol - 1
        rules = []
        for j in range(n_rules):
            if last and j == n_rules - 1:
                rules.append({"ports": [{"protocol": "UDP"}]})
            else:
                rules.append({"ports": [{"protocol": "TCP", "port": 1000 + i * n_rules + j}]})
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"bench-{i:03d}", "namespace": NS},
                    "spec": {"podSelector": sel, "policyTypes": ["Ingress", "Egress"],
                             "ingress": rules, "egress": rules}})
    return out


def write_objects(ds_dir, objs):
    if os.path.isdir(ds_dir):
        shutil.rmtree(ds_dir)
    os.makedirs(ds_dir)
    for o in objs:
        md = o["metadata"]
        ident = f"{md['namespace']}.{md['name']}" if md.get("namespace") else md["name"]
        with open(os.path.join(ds_dir, f"{o['kind'].lower()}-{ident}.json"), "w") as f:
            json.dump(o, f, indent=1)


def mbufs_for(pcap_packets):
    """kdp's "mbufs" for a run whose pcap holds @pcap_packets frames."""
    return max(MBUFS_MIN, min(MBUFS_MAX, pcap_packets + 16384))


def config(ds_dir, uplink_devargs, pod_devargs, mbufs=MBUFS_MIN):
    """kdp config JSON. @pod_devargs: {local pod name: devargs, or
    "vhost:<socket>" for a native vhost-user port}. Busy polling
    (idle_sleep_us 0), one worker."""
    ports = []
    for i, name in enumerate(LOCAL_PODS):
        if name in pod_devargs:
            dev = pod_devargs[name]
            port = {"pod": f"{NS}/{name}", "mac": pod_mac(i)}
            if dev.startswith("vhost:"):
                port["vhost_socket"] = dev[len("vhost:"):]
            else:
                port["devargs"] = dev
            ports.append(port)
    return {"node": LOCAL_NODE,
            "datastore": {"type": "file", "path": os.path.abspath(ds_dir)},
            # MTU 1600: a 1500-byte pod frame plus the IPIP header must fit
            # (the benchmark measures forwarding, not the MTU policy).
            "uplink": {"devargs": uplink_devargs, "mac": UPLINK_MAC, "mtu": 1600,
                       "neighbors": {node_ip(REMOTE_NODE): NODES[REMOTE_NODE]["mac"]}},
            "pod_ports": ports, "workers": 1, "idle_sleep_us": 0, "mbufs": mbufs}


def generate(workdir, uplink_devargs, pod_devargs, mbufs=MBUFS_MIN, workers=1,
             policy="on", max_flows=0):
    """Write <workdir>/datastore/ and <workdir>/kdp.json; return the config path.
    @policy: "on" (kdp's default: policy enabled, no policy objects), "off"
    ("policy": {"enabled": false}) or "1k" (policies(): 1,000 rules per
    local pod and direction). @max_flows: conntrack.max_flows (0: kdp's
    default)."""
    ds = os.path.join(workdir, "datastore")
    write_objects(ds, objects() + (policies() if policy == "1k" else []))
    path = os.path.join(workdir, "kdp.json")
    cfg = config(ds, uplink_devargs, pod_devargs, mbufs)
    cfg["workers"] = workers
    if policy == "off":
        cfg["policy"] = {"enabled": False}
    if max_flows:
        cfg["conntrack"] = {"max_flows": max_flows}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--workdir", required=True)
    ap.add_argument("--uplink", default="net_null_up,no-rx=1", help="uplink devargs")
    ap.add_argument("--pod", action="append", default=[], metavar="NAME=DEVARGS",
                    help=f"pod port (pods: {', '.join(LOCAL_PODS)})")
    a = ap.parse_args(argv)
    pods = {}
    for p in a.pod or [f"{n}=net_null_{n.replace('-', '')},no-rx=1" for n in LOCAL_PODS]:
        name, sep, dev = p.partition("=")
        if not sep or name not in LOCAL_PODS:
            print(f"gen_cluster: bad --pod {p!r} (pods: {', '.join(LOCAL_PODS)})", file=sys.stderr)
            return 2
        pods[name] = dev
    print(generate(a.workdir, a.uplink, pods))
    return 0


if __name__ == "__main__":
    sys.exit(main())
