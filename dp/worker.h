/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Worker lcores: the poll loop.
 *
 * Each iteration: load the published tables once, poll every rx queue the
 * worker owns and run each burst through the pipeline, send what control
 * injected, flush tx, then report RCU quiescence. When a whole iteration
 * brings nothing, the worker backs off: it goes RCU-offline and sleeps for a
 * bounded time that doubles up to idle_sleep_us (0 = busy poll), so several
 * kdp instances can share a small machine.
 *
 * Thread-safety: one struct dp_worker per lcore.
 */
#ifndef KDP_DP_WORKER_H
#define KDP_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "pipeline/pipeline.h"

#define DP_WORKER_MAX_RXQ 256

struct dp_rxq {
	uint16_t port;
	uint16_t queue;
};

struct dp_worker {
	unsigned int lcore;
	unsigned int idx;            /**< RCU thread id and tx queue */
	unsigned int idle_sleep_us;
	uint16_t n_rxq;
	struct dp_rxq rxq[DP_WORKER_MAX_RXQ];
	struct rte_ring *punt;       /**< to control */
	struct rte_ring *inject;     /**< from control */
	struct rte_rcu_qsbr *qs;
	struct pl_ctx ctx;
} __rte_cache_aligned;

/** Set by the signal handler; every loop ends when it turns true. */
extern volatile bool dp_quit;

/** lcore entry point; @p arg is a struct dp_worker. */
int dp_worker_main(void *arg);

#endif /* KDP_DP_WORKER_H */
