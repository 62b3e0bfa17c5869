/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * For tests that take frames out of a context's tx buffers themselves
 * instead of calling pl_ctx_flush() (they have no ports): the pending
 * list again as a flush would leave it, listing the buffers that still
 * hold frames (struct pl_txbuf's invariant).
 */
#ifndef KDP_TESTS_UNIT_PIPELINE_TXBUFS_H
#define KDP_TESTS_UNIT_PIPELINE_TXBUFS_H

#include <stdbool.h>

#include <rte_mbuf.h>

#include "pipeline/pipeline.h"

static inline void txbufs_relist(struct pl_ctx *c, uint16_t n_ports)
{
	c->n_pending = 0;
	for (uint16_t p = 0; p < n_ports; p++) {
		c->tx[p].listed = c->tx[p].n != 0;
		if (c->tx[p].listed)
			c->pending[c->n_pending++] = p;
	}
}

/* The frames buffered for @p port since the last call, freed; how many. */
static inline unsigned int txbufs_take(struct pl_ctx *c, uint16_t port,
				       uint16_t n_ports)
{
	unsigned int n = c->tx[port].n;

	rte_pktmbuf_free_bulk(c->tx[port].pkts, n);
	c->tx[port].n = 0;
	txbufs_relist(c, n_ports);
	return n;
}

#endif /* KDP_TESTS_UNIT_PIPELINE_TXBUFS_H */
