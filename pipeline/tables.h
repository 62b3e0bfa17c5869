/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The tables control publishes to workers.
 *
 * Control builds a struct pl_tables from the desired state, never changes it
 * after publishing, and swaps the global pointer (pl_tables_publish). Workers
 * load the pointer once per poll iteration and report RCU quiescence after
 * the iteration; control frees the old tables after the grace period.
 *
 * One thing is deliberately outside the immutable tables: the neighbor MACs
 * (struct pl_neigh). ARP answers arrive far more often than routes change, so
 * control writes each MAC with a single aligned 64-bit store and workers load
 * it with one load; a FIB rebuild per ARP reply would be wasteful.
 *
 * And one change inside the published policy set (acl): its programs'
 * rte_acl forms are built in the background and attached later by control,
 * one release-stored pointer per program, which workers load with acquire
 * (acl/acl.h "Background rte_acl build"). Either form gives the same
 * verdict, so a worker may see the set before or after.
 *
 * Thread-safety: built and published by the control thread; read-only for
 * workers.
 */
#ifndef KDP_PIPELINE_TABLES_H
#define KDP_PIPELINE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

#include "dp/port.h"

struct rte_fib;
struct rte_hash;
struct acl_set;
struct ctl_tables_own;

/** Calico's proxy-ARP gateway MAC, the source MAC of frames toward pods. */
#define PL_GW_MAC {{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}}
/**
 * An IPv4 address in host order. DPDK's RTE_IPV4 shifts an int, which is
 * undefined for a first octet above 127.
 */
#define PL_IPV4(a, b, c, d)                                                  \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | \
	 (uint32_t)(d))

/** The link-local gateway pods route through (Calico). */
#define PL_GW_IP PL_IPV4(169, 254, 1, 1)

enum pl_port_role {
	PL_PORT_NONE = 0,
	PL_PORT_UPLINK,
	PL_PORT_POD,
	PL_PORT_HOST,
};

/** What a FIB next hop does with a packet. */
enum pl_nh_kind {
	PL_NH_NO_ROUTE = 0, /**< index 0: the FIB default */
	PL_NH_BLACKHOLE,    /**< local block, no such pod */
	PL_NH_POD,          /**< local pod: out of its port */
	PL_NH_POD_NO_PORT,  /**< local pod known, but no port for it */
	PL_NH_IPIP,         /**< remote node, encapsulated */
	PL_NH_DIRECT,       /**< remote node on our subnet, or the gateway */
	PL_NH_LOCAL,        /**< the node itself: IPIP end point or host */
};

/** Neighbor slots: one resolved (port, IP) → MAC. */
#define PL_NEIGH_VALID (1ull << 63)
#define PL_NEIGH_MAX 16384

struct pl_neigh {
	/** PL_NEIGH_VALID | MAC in the low 48 bits (byte 0 lowest), or 0. */
	uint64_t mac;
};

struct pl_nh {
	uint8_t kind;        /**< enum pl_nh_kind */
	uint16_t port;       /**< tx port */
	uint32_t neigh;      /**< neighbor slot of the L2 next hop */
	rte_be32_t outer_dst;/**< PL_NH_IPIP: remote node IP */
	uint16_t mtu;        /**< largest IP packet (inner for IPIP) allowed */
	uint16_t ep;         /**< PL_NH_POD: endpoint index */
};

#define PL_EP_MAX_IPS 4

/** A local pod with a port. */
struct pl_ep {
	uint16_t port;
	uint8_t n_ips;
	bool mac_known;             /**< MAC configured: enforce it */
	uint32_t neigh;             /**< neighbor slot of the pod's MAC */
	rte_be32_t ips[PL_EP_MAX_IPS];
	struct rte_ether_addr mac;  /**< configured pod MAC */
	/** natOutgoing (pl_tables.pools): the pod's pool masquerades and the
	 * host does it for kdp (config host.nat_outgoing). */
	bool nat_outgoing;
	/** "ns/name", for telemetry: control's memory, freed with the
	 * tables (a pod key may be 317 long, and workers need only the
	 * fields above, which stay in one cache line). */
	const char *name;
};

/** An IP pool's prefix, host order: an address a is in it when
 * (a & mask) == net. */
struct pl_pool {
	uint32_t net, mask;
};

struct pl_port {
	uint8_t role;      /**< enum pl_port_role */
	uint16_t ep;       /**< PL_PORT_POD: endpoint index */
	struct rte_ether_addr mac; /**< source MAC we send with */
};

/** The largest pool span pl_tables.fib_dense covers (512 KiB of hops). */
#define PL_FIB_DENSE_MAX (1u << 18)

struct pl_tables {
	uint64_t gen;                /**< publish generation */
	struct rte_fib *fib;         /**< dst → pl_nh index */
	/**
	 * The FIB's answer for every address of the IP pools' span, one
	 * 16-bit hop each (addresses @c fib_dense_base to + @c fib_dense_n
	 * - 1, host order): built by control from @c fib itself, so the two
	 * agree by construction, and shared with it. A pod-bound packet's
	 * route is then one load, not a call into rte_fib (pl_fib_lookup(),
	 * stages_fast.h). NULL with @c fib_dense_n 0: every lookup goes to
	 * @c fib (no pool, or a span over PL_FIB_DENSE_MAX addresses).
	 */
	const uint16_t *fib_dense;
	uint32_t fib_dense_base;
	uint32_t fib_dense_n;
	struct rte_hash *nodes;      /**< the IPIP accept list (node IPs, BE) */
	/**
	 * The same list as an open-addressed array (0 = empty slot, linear
	 * probing from pl_node_set_slot()), which workers search instead of
	 * @c nodes: a 4-byte key costs rte_hash a CRC, a TLS lookup and a
	 * memcmp() call, a sixth of a decapsulated packet's cycles. NULL:
	 * workers use @c nodes.
	 */
	rte_be32_t *node_set;
	uint32_t node_set_mask;      /**< slots - 1 (a power of two less one) */
	uint32_t n_nh;
	struct pl_nh *nh;
	uint32_t n_ep;
	struct pl_ep *ep;
	rte_be32_t self_ip;          /**< node IP; 0 when unknown */
	rte_be32_t icmp_src;         /**< source of ICMP errors we send */
	uint16_t uplink_port;
	uint16_t host_port;          /**< UINT16_MAX if none */
	uint16_t uplink_mtu;
	uint16_t host_nh;            /**< nh index of PL_NH_LOCAL */
	rte_be32_t tunnel_ip;        /**< our IPIP tunnel address, or 0 */
	/**
	 * The IP pools. A natOutgoing pod's (pl_ep.nat_outgoing) packet routed
	 * directly (PL_NH_DIRECT) to an address outside all of them goes to
	 * the host port instead, for the host to masquerade (Felix's
	 * cali-nat-outgoing: source in a natOutgoing pool, destination in
	 * none). Control's memory, freed with the tables.
	 */
	const struct pl_pool *pools;
	uint32_t n_pools;
	/**
	 * host.service_cidrs (README "Services"), with a host port only: the
	 * FIB sends them to the host (PL_NH_LOCAL), where kube-proxy DNATs
	 * them, and a pod's flow to one is not checked against the pod's
	 * egress policy there: the DNATed packet is, when the host sends it
	 * back (Felix checks egress after the DNAT). Control's memory, after
	 * @c pools in the same allocation.
	 */
	const struct pl_pool *svc;
	uint32_t n_svc;
	struct acl_set *acl;         /**< policy programs; NULL = no policy */
	/**
	 * The generation of @c fib: control's publish generation that built
	 * it, from the counter that numbers the policy sets (acl_set_gen()).
	 * Whichever of the two changed last is the larger, so their maximum
	 * (pl_ct_gen()) changes with either. Conntrack entries record their
	 * flows' hops (acl_ct_entry.hop) under it: a new FIB, like new
	 * policy, has every flow re-checked once and its hops found again.
	 * Tables built by hand must keep the rule (0: a FIB that never
	 * changes).
	 */
	uint32_t fib_gen;
	/** Control's record of who owns fib, nodes and acl: a generation
	 * whose inputs did not change shares them (immutable) with the last
	 * one. Never read by workers. */
	struct ctl_tables_own *own;
	/** By port id; last, so the fields above keep short offsets. */
	struct pl_port port[KDP_MAX_PORTS];
};

/** First slot to probe for @p ip in pl_tables.node_set. */
static inline uint32_t pl_node_set_slot(rte_be32_t ip, uint32_t mask)
{
	return (uint32_t)(((uint64_t)ip * 0x9e3779b1u) >> 16) & mask;
}

/** Is @p ip (big endian, non-zero) in the node set of @p t? */
static inline bool pl_node_set_has(const struct pl_tables *t, rte_be32_t ip)
{
	for (uint32_t i = pl_node_set_slot(ip, t->node_set_mask);;
	     i = (i + 1) & t->node_set_mask) {
		if (t->node_set[i] == ip)
			return true;
		if (t->node_set[i] == 0)
			return false;
	}
}

/**
 * Is @p ip (big endian) one of the node's own addresses, the node IP or
 * the tunnel IP? From the uplink such a source is a martian.
 */
static inline bool pl_ip_src_is_own(const struct pl_tables *t, rte_be32_t ip)
{
	return ip != 0 && (ip == t->self_ip || ip == t->tunnel_ip);
}

/** Is @p ip (host order) in one of the pools of @p t? */
static inline bool pl_in_pools(const struct pl_tables *t, uint32_t ip)
{
	for (uint32_t i = 0; i < t->n_pools; i++)
		if ((ip & t->pools[i].mask) == t->pools[i].net)
			return true;
	return false;
}

/** Is @p ip (host order) in one of the service CIDRs of @p t? */
static inline bool pl_in_services(const struct pl_tables *t, uint32_t ip)
{
	for (uint32_t i = 0; i < t->n_svc; i++)
		if ((ip & t->svc[i].mask) == t->svc[i].net)
			return true;
	return false;
}

/** The neighbor slots (allocated once; see the file comment). */
extern struct pl_neigh *pl_neigh;

/** The published tables. Workers: load once per iteration. */
extern struct pl_tables *pl_tables_cur;

static inline struct pl_tables *pl_tables_load(void)
{
	return __atomic_load_n(&pl_tables_cur, __ATOMIC_ACQUIRE);
}

static inline uint64_t pl_neigh_load(uint32_t slot)
{
	return __atomic_load_n(&pl_neigh[slot].mac, __ATOMIC_RELAXED);
}

#endif /* KDP_PIPELINE_TABLES_H */
