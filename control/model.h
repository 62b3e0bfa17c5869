/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * kdp's desired-state model: the decoded Kubernetes and Calico objects that
 * control/ compiles into dataplane tables (calico-model.md §1).
 *
 * Objects are decoded once, when a datastore delivers them, by the decoders in
 * k8s/decode.h. Everything here is plain data owned by the store
 * (control/store.h); compile code reads it and never keeps pointers into it
 * past a store change.
 *
 * IPv4 addresses are host byte order uint32_t throughout the control plane.
 *
 * Thread-safety: control thread only.
 */
#ifndef KDP_CONTROL_MODEL_H
#define KDP_CONTROL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Every resource kind a datastore can deliver. */
#define foreach_ctl_res(_)                                                   \
	_(NODE, "nodes", "Node")                                             \
	_(POD, "pods", "Pod")                                                \
	_(NAMESPACE, "namespaces", "Namespace")                              \
	_(SERVICEACCOUNT, "serviceaccounts", "ServiceAccount")               \
	_(K8S_NETPOL, "networkpolicies.networking.k8s.io", "NetworkPolicy")  \
	_(IPPOOL, "ippools", "IPPool")                                       \
	_(IPAMBLOCK, "ipamblocks", "IPAMBlock")                              \
	_(BLOCKAFFINITY, "blockaffinities", "BlockAffinity")                 \
	_(CALICO_NETPOL, "networkpolicies.crd.projectcalico.org",            \
	  "NetworkPolicy")                                                   \
	_(GLOBAL_NETPOL, "globalnetworkpolicies", "GlobalNetworkPolicy")     \
	_(TIER, "tiers", "Tier")                                             \
	_(NETWORKSET, "networksets", "NetworkSet")                           \
	_(GLOBAL_NETWORKSET, "globalnetworksets", "GlobalNetworkSet")

enum ctl_res {
#define _(sym, plural, kind) CTL_RES_##sym,
	foreach_ctl_res(_)
#undef _
	CTL_RES_MAX
};

/** Resource name for logs and telemetry ("nodes", "ippools", …). */
const char *ctl_res_name(enum ctl_res res);

/** A sorted, owned label set. */
struct ctl_labels {
	size_t n;
	char **keys; /**< sorted ascending (strcmp) */
	char **vals;
};

/** Value of label @p key, or NULL. */
const char *ctl_labels_get(const struct ctl_labels *l, const char *key);
/** Free the keys and values and reset @p l to empty. NULL is a no-op. */
void ctl_labels_clear(struct ctl_labels *l);

enum ctl_encap_mode {
	CTL_ENCAP_NEVER = 0,
	CTL_ENCAP_ALWAYS,
	CTL_ENCAP_CROSS_SUBNET,
};

/** IPPool.spec.allowedUses bits; empty in the object means WORKLOAD|TUNNEL. */
#define CTL_USE_WORKLOAD 0x1u
#define CTL_USE_TUNNEL 0x2u
#define CTL_USE_LOADBALANCER 0x4u

struct ctl_node {
	char *name;
	uint32_t ip;        /**< node IP; 0 when unknown (no route then) */
	uint8_t plen;       /**< subnet length: annotation CIDR, else 32 */
	uint32_t tunnel_ip; /**< IPv4IPIPTunnelAddr, 0 if none */
	struct ctl_labels labels;
};

struct ctl_pool {
	char *name;
	uint32_t net;
	uint8_t plen;
	uint8_t block_size;
	enum ctl_encap_mode ipip;
	enum ctl_encap_mode vxlan;
	bool nat_outgoing;
	bool disabled;
	unsigned allowed_uses; /**< CTL_USE_* bits, defaulted */
	/** An IPv6 pool of a dual-stack cluster: stored, never routed (kdp
	 *  forwards IPv4); net, plen and block_size are then 0. */
	bool ipv6;
};

/** One allocated ordinal of an IPAMBlock. */
struct ctl_block_alloc {
	uint32_t ip;
	char *handle; /**< attributes[].handle_id, may be NULL */
	char *node;   /**< attributes[].secondary.node, may be NULL */
	char *ns;     /**< secondary.namespace, may be NULL */
	char *pod;    /**< secondary.pod, may be NULL */
};

struct ctl_block {
	char *name;
	uint32_t net;
	uint8_t plen;
	char *host;   /**< affinity "host:<node>" stripped; NULL if none/virtual */
	bool deleted; /**< being torn down: routing treats it as absent */
	bool ipv6;    /**< IPv6 block: stored, never routed; no allocs */
	size_t n_allocs;
	struct ctl_block_alloc *allocs; /**< allocated ordinals only */
};

enum ctl_affinity_state {
	CTL_AFF_CONFIRMED,
	CTL_AFF_PENDING,
	CTL_AFF_PENDING_DELETION,
};

struct ctl_affinity {
	char *name;
	char *node;
	uint32_t net;
	uint8_t plen;
	enum ctl_affinity_state state;
	bool deleted;
	bool ipv6; /**< of an IPv6 block: net and plen are 0 */
};

enum ctl_proto {
	CTL_PROTO_TCP = 6,
	CTL_PROTO_UDP = 17,
	CTL_PROTO_SCTP = 132,
};

struct ctl_named_port {
	char *name;
	uint8_t proto; /**< enum ctl_proto */
	uint16_t port;
};

#define CTL_POD_MAX_IPS 4

struct ctl_pod {
	char *ns;
	char *name;
	char *node;         /**< spec.nodeName; NULL if unscheduled */
	char *sa;           /**< spec.serviceAccountName, "default" if unset */
	bool host_network;
	size_t n_ips;       /**< IPv4 only; 0 when phase ends it (§1.5) */
	uint32_t ips[CTL_POD_MAX_IPS];
	struct ctl_labels labels; /**< the pod's own labels */
	size_t n_ports;
	struct ctl_named_port *ports;
	char *port_kind;    /**< annotation kdp.io/port-kind, may be NULL */
};

struct ctl_namespace {
	char *name;
	struct ctl_labels labels;
};

struct ctl_serviceaccount {
	char *ns;
	char *name;
	struct ctl_labels labels;
};

/*
 * Free a decoded object and everything it owns (the decoders in k8s/decode.c
 * allocate them). NULL is a no-op.
 */
void ctl_node_free(struct ctl_node *n);
void ctl_pool_free(struct ctl_pool *p);
void ctl_block_free(struct ctl_block *b);
void ctl_affinity_free(struct ctl_affinity *a);
void ctl_pod_free(struct ctl_pod *p);
void ctl_namespace_free(struct ctl_namespace *n);
void ctl_serviceaccount_free(struct ctl_serviceaccount *sa);

#endif /* KDP_CONTROL_MODEL_H */
