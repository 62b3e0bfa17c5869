/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker pipeline (see pipeline.h for the stages): contexts, tx
 * buffers, the handoff rings. The per-burst code is burst.c.
 */
#include <stdio.h>
#include <string.h>

#include <rte_cpuflags.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_vect.h>

#include "acl/ct_fast.h"
#include "dp/vport_fast.h"
#include "pipeline/burst.h"
#include "pipeline/pipeline.h"
#include "pipeline/stages_fast.h"

/* The best variant of burst.c this CPU runs and EAL's SIMD width allows. */
static const struct pl_burst_ops *pl_burst_pick(void)
{
#ifdef PL_BURST_HAVE_AVX2
	if (rte_vect_get_max_simd_bitwidth() >= RTE_VECT_SIMD_256 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX2) > 0 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_BMI1) > 0 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_BMI2) > 0)
		return &pl_burst_ops_avx2;
#endif
	return &pl_burst_ops_base;
}

void pl_ctx_init(struct pl_ctx *c, struct dp_lcore_stats *st,
		 struct rte_mempool *mp, struct rte_ring *punt, uint16_t txq)
{
	memset(c, 0, sizeof(*c));
	c->burst = pl_burst_pick();
	c->st = st;
	c->mp = mp;
	c->punt = punt;
	c->txq = txq;
	c->icmp_period = rte_get_tsc_hz() / PL_ICMP_RATE;
	c->icmp_tokens = PL_ICMP_BURST;
	c->icmp_last = rte_get_tsc_cycles();
	pl_ctx_tick(c);
}


/* Out of line: the ethdev path keeps its registers. */
static __rte_noinline uint16_t vport_tx(struct pl_ctx *c, uint16_t port,
					struct pl_txbuf *b)
{
	if (dp_vport_get(port)->kind == DP_VPORT_VHOST)
		return dp_vhost_tx(port, c->txq, b->pkts, b->n);
	return dp_vport_tx(port, c->txq, b->pkts, b->n);
}

/* Send a full buffer; what the port refuses is dropped as tx_full. */
void pl_txbuf_send(struct pl_ctx *c, uint16_t port, struct pl_txbuf *b)
{
	uint16_t sent = likely(!dp_port_is_native(port)) ?
		rte_eth_tx_burst(port, c->txq, b->pkts, b->n) :
		vport_tx(c, port, b);

	c->st->port[port].tx += sent;
	if (unlikely(sent < b->n)) {
		/* A pod that does not poll refuses most of what it is sent
		 * (vhost-user): one bulk free, as testpmd does. */
		c->st->drop[DP_DROP_TX_FULL] += b->n - sent;
		rte_pktmbuf_free_bulk(&b->pkts[sent], b->n - sent);
	}
	b->n = 0;
}

const char *pl_ctx_isa(const struct pl_ctx *c)
{
	return c->burst->isa;
}

void pl_process_burst(struct pl_ctx *c, const struct pl_tables *t,
		      uint16_t in_port, struct rte_mbuf **pkts, uint16_t n)
{
	c->burst->process(c, t, in_port, pkts, n);
}

unsigned int pl_handoff_drain(struct pl_ctx *c, const struct pl_tables *t)
{
	return c->burst->drain(c, t);
}

void pl_ctx_tx(struct pl_ctx *c, struct rte_mbuf *m)
{
	pl_tx(c, m, m->port);
}

void pl_ctx_flush(struct pl_ctx *c)
{
	for (uint16_t i = 0; i < c->n_pending; i++) {
		uint16_t port = c->pending[i];
		struct pl_txbuf *b = &c->tx[port];
		b->listed = false;
		if (b->n != 0)
			pl_txbuf_send(c, port, b);
	}
	c->n_pending = 0;
}

/* ------------------------------------------------------------ handoff */


struct pl_handoff *pl_handoff_create(unsigned int n_workers,
				     unsigned int ring_size)
{
	struct pl_handoff *h;
	static unsigned int seq; /* ring names are global to the process */

	if (n_workers < 2 || n_workers > UINT8_MAX) {
		rte_errno = EINVAL;
		return NULL;
	}
	h = rte_zmalloc("kdp_handoff", sizeof(*h), 0);
	if (h == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	h->n_workers = n_workers;
	h->ring = rte_zmalloc("kdp_handoff",
			      sizeof(*h->ring) * n_workers * n_workers, 0);
	if (h->ring == NULL) {
		rte_errno = ENOMEM;
		goto out_free;
	}
	seq++;
	for (unsigned int f = 0; f < n_workers; f++)
		for (unsigned int to = 0; to < n_workers; to++) {
			char name[RTE_RING_NAMESIZE];

			if (f == to)
				continue;
			snprintf(name, sizeof(name), "kdp_ho%u_%u_%u", seq, f,
				 to);
			h->ring[f * n_workers + to] = rte_ring_create(
				name, ring_size, SOCKET_ID_ANY,
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (h->ring[f * n_workers + to] == NULL)
				goto out_free;
		}
	return h;
out_free:
	pl_handoff_free(h);
	return NULL;
}

void pl_handoff_free(struct pl_handoff *h)
{
	if (h == NULL)
		return;
	for (unsigned int i = 0; h->ring && i < h->n_workers * h->n_workers;
	     i++) {
		struct rte_mbuf *m;

		while (h->ring[i] && rte_ring_dequeue(h->ring[i],
						      (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(h->ring[i]);
	}
	rte_free(h->ring);
	rte_free(h);
}

void pl_ctx_set_handoff(struct pl_ctx *c, const struct pl_handoff *h,
			uint16_t wid)
{
	c->ho = h;
	c->wid = wid;
}


/* One burst per owner: usually a single peer, so one pass. */
void pl_handoff_send(struct pl_ctx *c, uint16_t in_port,
		     struct pl_ho_list *ho)
{
	unsigned int nw = c->ho->n_workers;
	uint16_t n = ho->n;

	while (n != 0) {
		struct rte_mbuf *b[PL_BURST];
		uint8_t to = ho->owner[0];
		uint16_t nb = 0, left = 0;

		for (uint16_t i = 0; i < n; i++) {
			if (ho->owner[i] == to) {
				b[nb++] = ho->m[i];
			} else {
				ho->owner[left] = ho->owner[i];
				ho->m[left++] = ho->m[i];
			}
		}
		unsigned int sent = rte_ring_sp_enqueue_burst(
			c->ho->ring[c->wid * nw + to], (void **)b, nb, NULL);
		c->st->handoff_out += sent;
		for (unsigned int i = sent; i < nb; i++)
			pl_drop(c, b[i], DP_DROP_HANDOFF_FULL, in_port);
		n = left;
	}
}
void pl_ctx_housekeep(struct pl_ctx *c)
{
	/* The sweep's pace and why: acl_ct_housekeep(). */
	if (c->acl != NULL)
		acl_ct_housekeep(c->acl, c->now_tsc, c->now_ms);
}
