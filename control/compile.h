/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Compile the desired state into dataplane tables (struct pl_tables).
 *
 * Input: the route set (control/routes.h), the store (for pod IPs), the
 * configuration and the ports (the pod ports from the registry,
 * control/podport.h). Output: an immutable pl_tables with a fresh
 * rte_fib (DIR-24-8), the next-hop array, the endpoints and the IPIP accept
 * set, ready to publish. Neighbor slots are taken from control/neigh.h.
 *
 * Sharing: the FIB (32 MiB, the slow part of a build), the node set and
 * the policy programs are immutable once published, so a build whose
 * input for one of them equals the previous generation's (same FIB entries
 * in the same order; same node IPs; same policy-relevant store generations
 * and endpoints) takes a reference on the previous one instead of building
 * it again. Each is freed with the last tables that use it. Pods are not
 * compared by generation for the policy programs: the store's journal
 * (ctl_store_changes()) gives the Pods changed since the programs were
 * built, and unless one of them is local or enters, leaves or moves within
 * a resolved peer selector or named port set (acl_set_pod_matters()), the
 * programs are reused: a Pod update does not walk the 100k Pods.
 *
 * FIB contents, beyond the Felix routes:
 *  - each pool CIDR → no route, so that pool addresses no block covers are
 *    dropped instead of following the default route;
 *  - the node IP and tunnel IP /32 → the node (IPIP end point, host port);
 *  - other node IPs on our subnet /32 → that node, directly;
 *  - 0.0.0.0/0 → the uplink gateway, when one is configured.
 *
 * Thread-safety: control thread only.
 */
#ifndef KDP_CONTROL_COMPILE_H
#define KDP_CONTROL_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

#include "control/config.h"
#include "control/neigh.h"
#include "control/pmtu.h"
#include "control/routes.h"
#include "control/store.h"
#include "pipeline/tables.h"

/** A local pod behind a port (one member of the pod-port registry). */
struct ctl_pod_ep {
	const char *pod;        /**< "namespace/name" */
	uint16_t port;
	bool has_mac;           /**< pod MAC known: static neighbor, enforced */
	struct rte_ether_addr mac;
};

struct ctl_ports {
	uint16_t uplink;
	uint16_t host;          /**< UINT16_MAX when none */
	const struct ctl_pod_ep *pods; /**< the pod ports of these tables */
	size_t n_pods;
	struct rte_ether_addr uplink_mac;
	struct rte_ether_addr host_mac;
};

struct ctl_compile_in {
	const struct ctl_config *cfg;
	const struct ctl_store *st;
	const struct ctl_route_set *rs;
	const struct ctl_ports *ports;
	struct ctl_neigh *neigh;
	/** Learned tunnel MTUs (control/pmtu.h), or NULL. */
	const struct ctl_pmtu *pmtu;
	uint64_t gen;
	int socket;
	/** The published tables, or NULL: their FIB, node set and policy
	 * programs are shared (not rebuilt) when built from the same input. */
	const struct pl_tables *prev;
};

/**
 * Build tables. @return them, or NULL with a reason in @p err (the previous
 * tables then stay in force).
 */
struct pl_tables *ctl_tables_build(const struct ctl_compile_in *in, char *err,
				   size_t errlen);

/** Free tables no worker can see any more. NULL is a no-op. */
void ctl_tables_free(struct pl_tables *t);

#endif /* KDP_CONTROL_COMPILE_H */
