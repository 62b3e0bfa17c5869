/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Which native vhost-user queues a busy worker polls, and when.
 *
 * Polling an idle DPDK pod's queue is one rte_vhost_dequeue_burst() that
 * finds nothing: the library's device lookup, its queue lock and the
 * pod's avail index, about 19 ns here. With 16 idle DPDK pods a busy
 * worker forwarded 26 Mpps instead of 37 (perf/idle_taps.py --kind
 * vhost-user, perf/PROFILE.md round 20). kdp cannot peek at the ring
 * without the library's lock: the pod may remap the memory behind it.
 *
 * So a queue whose last DP_VHPOLL_COLD_AFTER polls all found it empty is
 * cold, and a busy worker (it received something in this iteration or
 * the last) polls its cold queues together, at most every
 * DP_VHPOLL_PACE_US; every other queue on every iteration. An idle worker
 * polls them all on every iteration, as before. A frame from a pod that
 * was quiet that long waits at most the pace, and only while the worker is
 * busy with other pods; a pod that sends every few iterations never goes
 * cold. Taps have their own scheme (dp/natpoll.h).
 *
 * Thread-safety: one struct dp_vhpoll per worker, used by that worker
 * only.
 */
#ifndef KDP_DP_VHPOLL_H
#define KDP_DP_VHPOLL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dp/port.h"
#include "dp/worker.h"

/** The longest a busy worker leaves its cold vhost-user queues unpolled. */
#define DP_VHPOLL_PACE_US 10
/** Consecutive empty polls that make a queue cold. */
#define DP_VHPOLL_COLD_AFTER 64

struct dp_vhpoll {
	uint64_t seq;      /**< rx list the state follows (0: none yet) */
	uint64_t next_tsc; /**< when a busy worker polls the cold queues */
	uint64_t pace_tsc;
	/** Consecutive empty polls by position in the vhost part of the rx
	 * list (q[n_eth + i]), up to DP_VHPOLL_COLD_AFTER. */
	uint8_t empty[KDP_MAX_PORTS];
};

/** Set up @p s for a TSC of @p tsc_hz. */
static inline void dp_vhpoll_init(struct dp_vhpoll *s, uint64_t tsc_hz)
{
	memset(s, 0, sizeof(*s));
	s->pace_tsc = tsc_hz * DP_VHPOLL_PACE_US / 1000000;
}

/**
 * Start an iteration at TSC @p now on rx list @p rl; @p busy: the worker
 * received something in this iteration or the last. A new list starts
 * every queue hot.
 * @return whether the cold queues are polled in this iteration.
 */
static inline bool dp_vhpoll_begin(struct dp_vhpoll *s,
				   const struct dp_rxlist *rl, uint64_t now,
				   bool busy)
{
	if (s->seq != rl->seq) {
		memset(s->empty, 0, sizeof(s->empty));
		s->seq = rl->seq;
	}
	if (busy && now < s->next_tsc)
		return false;
	s->next_tsc = now + s->pace_tsc;
	return true;
}

/** Is the queue at position @p i of the vhost part cold? */
static inline bool dp_vhpoll_cold(const struct dp_vhpoll *s, unsigned int i)
{
	return i < KDP_MAX_PORTS && s->empty[i] >= DP_VHPOLL_COLD_AFTER;
}

/** The queue at position @p i was polled and gave @p n frames. */
static inline void dp_vhpoll_got(struct dp_vhpoll *s, unsigned int i,
				 uint16_t n)
{
	if (i >= KDP_MAX_PORTS)
		return;
	if (n != 0)
		s->empty[i] = 0;
	else if (s->empty[i] < DP_VHPOLL_COLD_AFTER)
		s->empty[i]++;
}

#endif /* KDP_DP_VHPOLL_H */
