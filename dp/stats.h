/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-lcore counters. Each lcore writes only its own block with plain
 * increments (single writer, no atomics); readers sum the blocks and accept
 * a slightly stale view.
 */
#ifndef KDP_DP_STATS_H
#define KDP_DP_STATS_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "dp/drop.h"
#include "dp/port.h"

struct dp_port_stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t drops; /**< drops of packets received on this port */
};

struct dp_lcore_stats {
	uint64_t drop[DP_DROP_MAX];
	struct dp_port_stats port[KDP_MAX_PORTS]; /**< by port id */
	uint64_t ipip_encap;
	uint64_t ipip_decap;
	uint64_t icmp_sent;
	uint64_t icmp_ratelimited;
	uint64_t arp_replied;
	uint64_t punted;
	uint64_t idle_sleeps;
	uint64_t busy_cycles; /**< TSC cycles of iterations that received */
	uint64_t busy_polls;  /**< iterations that received (record_cycles) */
	uint64_t handoff_out; /**< passed to the flow's owner worker */
	uint64_t handoff_in;  /**< received from other workers */
	uint64_t express;     /**< forwarded by the express lane (pipeline/express_fast.h) */
	uint64_t nat_waits;   /**< epoll_wait() calls on native queues (dp/natpoll.h) */
	uint64_t nat_empty;   /**< reads of a native queue that found no frame */
	uint64_t nat_wakes;   /**< idle sleeps a native tap's frame cut short */
	uint64_t vh_wakes;    /**< idle sleeps a DPDK pod's kick cut short */
	uint64_t nat_gone;    /**< native taps found detached (device gone) */
	uint64_t vh_empty;    /**< polls of a vhost-user queue that found none */
	uint64_t masq_host;   /**< natOutgoing packets given to the host to masquerade */
	uint64_t host_return; /**< replies of host-forwarded flows sent back to it */
	uint64_t frag_ports;  /**< later fragments keyed with their first's ports */
	uint64_t frag_noports; /**< later fragments whose first was not seen */
} __rte_cache_aligned;

/** Indexed by rte_lcore_id(). */
extern struct dp_lcore_stats dp_stats[RTE_MAX_LCORE];

/** Sum every lcore's block into @p out. */
void dp_stats_sum(struct dp_lcore_stats *out);

#endif /* KDP_DP_STATS_H */
