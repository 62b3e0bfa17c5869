/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internal to pipeline/: what the general stages (burst.c) and the
 * express lane (express_fast.h) share: drops, tx buffering, the handoff
 * list; the routed fast case of stage 3 is in rewrite_fast.h.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_STAGES_FAST_H
#define KDP_PIPELINE_STAGES_FAST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_fib.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "acl/acl.h"
#include "encap/encap_fast.h"
#include "pipeline/parse_fast.h"
#include "pipeline/pipeline.h"
#include "pipeline/rewrite_fast.h"
#include "pipeline/tables.h"

#define PL_ETH_HLEN ((uint32_t)sizeof(struct rte_ether_hdr))

/* The generation conntrack decides flows under (tables.h fib_gen): the
 * policy set's or the FIB's, whichever is newer, so that it changes with
 * either and an entry's recorded hops are the FIB's. */
static __rte_always_inline uint32_t pl_ct_gen(const struct pl_tables *t)
{
	return RTE_MAX(acl_set_gen(t->acl), t->fib_gen);
}

static const struct rte_ether_addr gw_mac = PL_GW_MAC;

static inline void pl_drop(struct pl_ctx *c, struct rte_mbuf *m,
			   enum dp_drop why, uint16_t in_port)
{
	c->st->drop[why]++;
	c->st->port[in_port].drops++;
	rte_pktmbuf_free(m);
}

/*
 * The FIB's next hops of the host-order addresses @p dst[0..n): from the
 * pools' dense copy (pl_tables.fib_dense) while the addresses fall in it,
 * then rte_fib for the rest of the burst. rte_fib_lookup_bulk() cost 26.5
 * instructions a packet (policy off, pod to pod: a fifth of the pipeline).
 */
static __rte_always_inline void
pl_fib_lookup(const struct pl_tables *t, uint32_t *dst, uint64_t *nhs,
	      uint16_t n)
{
	const uint16_t *d = t->fib_dense;
	const uint32_t base = t->fib_dense_base, lim = t->fib_dense_n;
	uint16_t i;

	for (i = 0; i < n; i++) {
		uint32_t o = dst[i] - base;

		if (unlikely(o >= lim))
			break;
		nhs[i] = d[o];
	}
	if (unlikely(i < n))
		rte_fib_lookup_bulk(t->fib, dst + i, nhs + i, n - i);
}

/*
 * pl_fib_lookup() of one address inside a loop: the dense copy's load, or
 * a call into rte_fib for an address outside the pools. The lanes route so
 * in their second pass: a separate lookup loop over the burst, storing
 * hops the second pass loaded again, cost 10 instructions a packet.
 */
static __rte_always_inline uint64_t
pl_fib_one(const struct pl_tables *t, uint32_t dst)
{
	uint32_t o = dst - t->fib_dense_base;
	uint64_t nh;

	if (likely(o < t->fib_dense_n))
		return t->fib_dense[o];
	rte_fib_lookup_bulk(t->fib, &dst, &nh, 1);
	return nh;
}

/* Send a full buffer; what the port refuses is dropped as tx_full. */
void pl_txbuf_send(struct pl_ctx *c, uint16_t port, struct pl_txbuf *b);

/* Put @p port on the pending list for the next flush, once (struct
 * pl_txbuf's listed). */
static __rte_always_inline void
pl_txbuf_list(struct pl_ctx *c, struct pl_txbuf *b, uint16_t port)
{
	if (!b->listed) {
		b->listed = true;
		c->pending[c->n_pending++] = port;
	}
}

/* The per-packet part of pl_ctx_tx, inlined into the pipeline. */
static __rte_always_inline void pl_tx(struct pl_ctx *c, struct rte_mbuf *m,
				      uint16_t port)
{
	struct pl_txbuf *b = &c->tx[port];

	pl_txbuf_list(c, b, port);
	b->pkts[b->n++] = m;
	/* The port stays listed (struct pl_txbuf); flush skips empty ones. */
	if (unlikely(b->n == PL_TX_BURST))
		pl_txbuf_send(c, port, b);
}

/*
 * Move frames staged by the burst loop to the tx buffers, in order, as
 * pl_tx() would have queued them one by one. Done before anything else may
 * queue a frame, so the order on each port stays the processing order.
 */
static __rte_always_inline void
pl_stage_drain(struct pl_ctx *c, struct rte_mbuf **out, uint16_t *n_out)
{
	uint16_t n = *n_out;

	for (uint16_t i = 0; i < n;) {
		uint16_t port = out[i]->port;
		struct pl_txbuf *b = &c->tx[port];
		/* b->n in a register: the frame stores could alias it. */
		uint16_t bn = b->n;
		do {
			pl_txbuf_list(c, b, port);
			b->pkts[bn++] = out[i++];
			if (unlikely(bn == PL_TX_BURST)) {
				b->n = bn;
				pl_txbuf_send(c, port, b);
				bn = 0;
			}
		} while (i < n && out[i]->port == port);
		b->n = bn;
	}
	*n_out = 0;
}

/*
 * pl_stage_drain() for frames that all go to @p port: copied as one block
 * while they fit in its buffer. The per-frame loop had cost about 17
 * instructions a frame; the lanes' runs nearly always share one port.
 */
static __rte_always_inline void
pl_stage_drain_port(struct pl_ctx *c, struct rte_mbuf **out,
		    uint16_t *n_out, uint16_t port)
{
	uint16_t n = *n_out;
	struct pl_txbuf *b = &c->tx[port];
	uint16_t bn = b->n;

	if (unlikely(n == 0 || bn + n > PL_TX_BURST)) {
		pl_stage_drain(c, out, n_out);
		return;
	}
	pl_txbuf_list(c, b, port);
	memcpy(&b->pkts[bn], out, n * sizeof(*out));
	bn = (uint16_t)(bn + n);
	b->n = bn;
	if (unlikely(bn == PL_TX_BURST))
		pl_txbuf_send(c, port, b);
	*n_out = 0;
}

/* The worker-to-worker rings (pipeline.h "Several workers"). */
struct pl_handoff {
	unsigned int n_workers;
	struct rte_ring **ring; /**< [from * n_workers + to], NULL when equal */
};

/* A packet for another worker: its input port and uplink flags travel in
 * the mbuf (m->port, hash.usr); see pl_handoff_drain(). */
struct pl_ho_list {
	uint16_t n;
	uint8_t owner[PL_BURST];
	struct rte_mbuf *m[PL_BURST];
};

/* Hand @p ho's packets to their owners (pipeline.c); what a full ring
 * refuses is dropped as handoff_full. */
void pl_handoff_send(struct pl_ctx *c, uint16_t in_port,
		     struct pl_ho_list *ho);

#endif /* KDP_PIPELINE_STAGES_FAST_H */
