/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Route computation, exactly as Felix does it (calico-model.md §2).
 *
 * From the store (nodes, IP pools, IPAM blocks, pods) and the name of the local
 * node, compute the IPv4 routes the node needs:
 *  - a local pod's /32 → that pod (CTL_RT_LOCAL_POD);
 *  - a local block → blackhole (CTL_RT_BLACKHOLE);
 *  - a remote block (IPAMBlock.spec.affinity) → its node, IPIP or direct per
 *    the pool's ipipMode and CrossSubnet (CTL_RT_IPIP / CTL_RT_DIRECT);
 *  - a borrowed IP (secondary.node ≠ block host) → /32 to its node;
 *  - nothing when the remote node's IP is unknown.
 * Plus the set of every node IP (the IPIP accept list, §2.7).
 *
 * Thread-safety: control thread only. The result owns its memory.
 */
#ifndef KDP_CONTROL_ROUTES_H
#define KDP_CONTROL_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/store.h"

enum ctl_route_kind {
	CTL_RT_LOCAL_POD, /**< /32 of a pod on this node */
	CTL_RT_BLACKHOLE, /**< local block: unallocated IPs are dropped */
	CTL_RT_IPIP,      /**< remote, encapsulated toward via */
	CTL_RT_DIRECT,    /**< remote on our subnet (CrossSubnet/Never): plain L3 via */
};

struct ctl_route {
	uint32_t net;  /**< host order, host bits clear */
	uint8_t plen;
	enum ctl_route_kind kind;
	uint32_t via;  /**< remote node IP (IPIP/DIRECT), else 0 */
	char *node;    /**< remote node name (IPIP/DIRECT), else NULL */
	char *pod_ns;  /**< LOCAL_POD: the pod's namespace */
	char *pod_name;/**< LOCAL_POD: the pod's name */
};

struct ctl_route_set {
	size_t n;
	struct ctl_route *v;   /**< sorted by (net, plen); no duplicates */
	uint32_t self_ip;      /**< local node IP, 0 if unknown */
	uint8_t self_plen;     /**< local node subnet length */
	uint32_t self_tunnel_ip;
	bool ipip_enabled;     /**< some pool has ipipMode ≠ Never */
	size_t n_node_ips;
	uint32_t *node_ips;    /**< every known node IP, sorted, unique */
	size_t n_pools;
	uint32_t *pool_nets;   /**< pools that get routes, with ... */
	uint8_t *pool_plens;   /**< ... their prefix lengths, and ... */
	bool *pool_nat;        /**< ... natOutgoing (any pool of the prefix) */
};

/**
 * Compute the routes for node @p self.
 * @return 0 and a filled @p out (free with ctl_routes_free), or -ENOMEM.
 */
int ctl_routes_compute(const struct ctl_store *st, const char *self,
		       struct ctl_route_set *out);
void ctl_routes_free(struct ctl_route_set *rs);

/**
 * Whether a change of one object of kind @p res, from @p old to @p cur
 * (decoded, as the store holds them; either NULL: added, deleted), can
 * change what ctl_routes_compute() returns for node @p self. False only
 * when it surely cannot: a Node whose addresses stay, a Pod on another
 * node, an IPAM block whose routed allocations stay, a kind routes do not
 * read. Lets the control loop keep a route set over changes that do not
 * touch it, without recomputing it.
 */
bool ctl_routes_change_matters(enum ctl_res res, const void *old,
			       const void *cur, const char *self);

#endif /* KDP_CONTROL_ROUTES_H */
