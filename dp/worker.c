/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "dp/natpoll.h"
#include "dp/vhpoll.h"
#include "dp/vport_fast.h"
#include "dp/worker.h"

volatile bool dp_quit;

#define INJECT_BURST 32
/* Empty iterations before the first sleep: keeps latency low under load. */
#define IDLE_SPINS 64

/* Control's frames may name a port that left the tables since they were
 * queued: those are dropped here, so nothing is sent to a closing port. */
static inline void drain_inject(struct dp_worker *w, const struct pl_tables *t)
{
	struct rte_mbuf *pkts[INJECT_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->inject, (void **)pkts,
						   INJECT_BURST, NULL);
	for (unsigned int i = 0; i < n; i++) {
		if (unlikely(t == NULL ||
			     t->port[pkts[i]->port].role == PL_PORT_NONE)) {
			w->ctx.st->drop[DP_DROP_NO_PORT]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		pl_ctx_tx(&w->ctx, pkts[i]);
	}
}

/* Native vhost-user queues: the cold ones of a @p busy worker at its pace,
 * the others on every iteration (dp/vhpoll.h). Out of line, as
 * poll_native(). */
static __rte_noinline uint32_t poll_vhost(struct dp_worker *w,
					  const struct pl_tables *t,
					  const struct dp_rxlist *rl, bool busy)
{
	struct dp_vhpoll *vp = w->vh;
	struct rte_mbuf *pkts[PL_BURST];
	uint32_t got = 0;
	bool cold_due = dp_vhpoll_begin(vp, rl, w->ctx.now_tsc, busy);

	for (uint16_t i = rl->n_eth; i < rl->n_poll; i++) {
		unsigned int k = i - rl->n_eth;
		uint16_t port = rl->q[i].port;

		if (!cold_due && dp_vhpoll_cold(vp, k))
			continue;
		/* A burst from each of the pod's pairs this queue serves
		 * (usually one): a busy pair cannot starve the others. */
		uint16_t step, nqp = dp_vhost_pairs(port, &step);
		uint16_t pair = rl->q[i].queue, got_q = 0;

		do {
			uint16_t n = dp_vhost_rx(port, pair, pkts, PL_BURST);

			if (n != 0) {
				got_q += n;
				pl_process_burst(&w->ctx, t, port, pkts, n);
			}
			pair += step;
		} while (pair < nqp);
		dp_vhpoll_got(vp, k, got_q);
		if (got_q == 0)
			w->ctx.st->vh_empty++;
		got += got_q;
	}
	return got;
}

/* The native queues due in this iteration (dp/natpoll.h); @p idle: the
 * ethdevs brought nothing. Out of line: the poll loop keeps its registers
 * for the ethdevs. */
static __rte_noinline uint32_t poll_native(struct dp_worker *w,
					   const struct pl_tables *t,
					   const struct dp_rxlist *rl, bool idle)
{
	struct dp_natpoll *np = w->nat;
	struct dp_rxq q[DP_NATPOLL_MAX];
	struct rte_mbuf *pkts[PL_BURST];
	uint32_t got = 0;

	if (unlikely(rl->seq != np->seq))
		dp_natpoll_sync(np, rl);
	unsigned int nq = dp_natpoll_ready(np, w->ctx.now_tsc, idle, q,
					   w->ctx.st);
	for (unsigned int i = 0; i < nq; i++) {
		uint16_t n = dp_vport_rx(q[i].port, q[i].queue, pkts, PL_BURST,
					 w->ctx.st);

		dp_natpoll_got(np, q[i].port, n);
		if (n == 0)
			continue;
		got += n;
		pl_process_burst(&w->ctx, t, q[i].port, pkts, n);
	}
	return got;
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct rte_mbuf *pkts[PL_BURST];
	unsigned int idle = 0, sleep_us = 1;
	bool busy = false; /* the last iteration received */

	/* No logging here: rte_log() is declared cold, and GCC then compiles
	 * every block after the call, the poll loop, as never executed (for
	 * size, in .text.unlikely). The launcher logs the worker instead. */
	rte_rcu_qsbr_thread_register(w->qs, w->idx);
	rte_rcu_qsbr_thread_online(w->qs, w->idx);

	while (!dp_quit) {
		const struct pl_tables *t = pl_tables_load();
		const struct dp_rxlist *rl = dp_worker_rxlist(w);
		uint16_t nq = rl ? rl->n_eth : 0;
		uint32_t got = 0;

		pl_ctx_tick(&w->ctx);

		for (uint16_t i = 0; i < nq; i++) {
			uint16_t port = rl->q[i].port;
			uint16_t n = rte_eth_rx_burst(port, rl->q[i].queue,
						      pkts, PL_BURST);
			if (n == 0)
				continue;
			got += n;
			pl_process_burst(&w->ctx, t, port, pkts, n);
		}
		if (rl && rl->n_poll > nq)
			got += poll_vhost(w, t, rl, busy || got != 0);
		if (rl && rl->n > rl->n_poll)
			got += poll_native(w, t, rl, got == 0);
		if (w->ctx.ho)
			got += pl_handoff_drain(&w->ctx, t);
		if (w->inject)
			drain_inject(w, t);
		pl_ctx_flush(&w->ctx);
		pl_ctx_housekeep(&w->ctx);
		rte_rcu_qsbr_quiescent(w->qs, w->idx);
		/* Like testpmd's --record-core-cycles: the cost of the work,
		 * without the empty polls (benchmarks on shared cores); the
		 * start is the iteration's clock (pl_ctx_tick()). */
		if (w->record_cycles && got) {
			w->ctx.st->busy_cycles += rte_rdtsc() - w->ctx.now_tsc;
			w->ctx.st->busy_polls++;
		}

		busy = got != 0;
		if (got || w->idle_sleep_us == 0) {
			if (unlikely(w->nat->armed | w->nat->tap_woke))
				dp_natpoll_got_any(w->nat, rl);
			idle = 0;
			sleep_us = 1;
			continue;
		}
		if (++idle < IDLE_SPINS)
			continue;
		/* The sleep wakes for the native taps' frames and the DPDK
		 * pods' kicks: their set must follow the list, which is read
		 * only while online. A pod asked to kick now may have queued
		 * frames without one: one more poll first. */
		if (rl && unlikely(rl->seq != w->nat->seq))
			dp_natpoll_sync(w->nat, rl);
		if (rl && dp_natpoll_arm(w->nat, rl))
			continue;
		/* Offline while asleep: control's grace periods need not wait. */
		rte_rcu_qsbr_thread_offline(w->qs, w->idx);
		dp_natpoll_sleep(w->nat, sleep_us, w->ctx.st);
		rte_rcu_qsbr_thread_online(w->qs, w->idx);
		w->ctx.st->idle_sleeps++;
		sleep_us = RTE_MIN(sleep_us * 2, w->idle_sleep_us);
	}
	rte_rcu_qsbr_thread_offline(w->qs, w->idx);
	rte_rcu_qsbr_thread_unregister(w->qs, w->idx);
	return 0;
}
