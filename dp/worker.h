/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Worker lcores: the poll loop.
 *
 * Each iteration: load the published tables and the worker's rx-queue list
 * once, poll every ethdev rx queue in it and read the native queues that
 * are due (dp/natpoll.h), run each burst through the pipeline,
 * finish what other workers handed over (pipeline.h), send what control
 * injected, flush tx, then report RCU quiescence. When a whole iteration
 * brings nothing, the worker backs off: it goes RCU-offline and sleeps for a
 * bounded time that doubles up to idle_sleep_us (0 = busy poll), so several
 * kdp instances can share a small machine.
 *
 * The rx-queue list is immutable and RCU-published like the tables: control
 * builds a new list when ports come and go, swaps w->rxl, and frees the old
 * one after a grace period; a port leaves every list (and the tables) before
 * control stops it, so no worker touches a closed port. A queue is in at
 * most one worker's list at any time (queues never move between workers),
 * so no rx queue is ever polled by two lcores.
 *
 * Thread-safety: one struct dp_worker per lcore; w->rxl written by control.
 */
#ifndef KDP_DP_WORKER_H
#define KDP_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "pipeline/pipeline.h"

struct dp_natpoll;

struct dp_rxq {
	uint16_t port;
	uint16_t queue;
};

/**
 * The rx queues one worker polls; immutable once published. Ethdev queues
 * come first, q[0..n_eth); then native queues polled as ethdevs are
 * (vhost-user, dp/vport.h), q[n_eth..n_poll); then native taps, read as
 * dp/natpoll.h decides, q[n_poll..n).
 */
struct dp_rxlist {
	uint64_t seq;   /**< unique per list built (dp/natpoll.h) */
	uint16_t n;
	uint16_t n_eth;
	uint16_t n_poll;
	struct dp_rxq q[];
};

struct dp_worker {
	unsigned int lcore;
	unsigned int idx;            /**< RCU thread id and tx queue */
	unsigned int idle_sleep_us;
	bool record_cycles;          /**< count busy_cycles in the stats */
	struct dp_rxlist *rxl;       /**< RCU-published by control; NULL = none */
	struct rte_ring *punt;       /**< to control */
	struct rte_ring *inject;     /**< from control */
	struct rte_rcu_qsbr *qs;
	struct dp_natpoll *nat;      /**< the worker's native taps */
	struct dp_vhpoll *vh;        /**< its native vhost-user queues */
	struct pl_ctx ctx;
} __rte_cache_aligned;

/** Set by the signal handler; every loop ends when it turns true. */
extern volatile bool dp_quit;

/** The worker's current rx list (workers: once per iteration). */
static inline const struct dp_rxlist *dp_worker_rxlist(const struct dp_worker *w)
{
	return __atomic_load_n(&w->rxl, __ATOMIC_ACQUIRE);
}

/**
 * Publish @p l as @p w's rx list (control). @return the previous list, to
 * free with rte_free() after rte_rcu_qsbr_synchronize().
 */
static inline struct dp_rxlist *dp_worker_set_rxlist(struct dp_worker *w,
						     struct dp_rxlist *l)
{
	return __atomic_exchange_n(&w->rxl, l, __ATOMIC_ACQ_REL);
}

/** lcore entry point; @p arg is a struct dp_worker. */
int dp_worker_main(void *arg);

#endif /* KDP_DP_WORKER_H */
