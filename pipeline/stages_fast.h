/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internal to pipeline/: what the general stages (pipeline.c) and the
 * express lane (express_fast.h) share: drops, tx buffering, the routed
 * fast case of stage 3, the handoff list.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_STAGES_FAST_H
#define KDP_PIPELINE_STAGES_FAST_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "encap/encap_fast.h"
#include "pipeline/parse_fast.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"

#define ETH_HLEN ((uint32_t)sizeof(struct rte_ether_hdr))

static const struct rte_ether_addr gw_mac = PL_GW_MAC;

static inline void pl_drop(struct pl_ctx *c, struct rte_mbuf *m,
			   enum dp_drop why, uint16_t in_port)
{
	c->st->drop[why]++;
	c->st->port[in_port].drops++;
	rte_pktmbuf_free(m);
}

/* Send a full buffer; what the port refuses is dropped as tx_full. */
void pl_txbuf_send(struct pl_ctx *c, uint16_t port, struct pl_txbuf *b);

/* The per-packet part of pl_ctx_tx, inlined into the pipeline. */
static __rte_always_inline void pl_tx(struct pl_ctx *c, struct rte_mbuf *m,
				      uint16_t port)
{
	struct pl_txbuf *b = &c->tx[port];

	if (!b->listed) {
		b->listed = true;
		c->pending[c->n_pending++] = port;
	}
	b->pkts[b->n++] = m;
	/* The port stays listed (struct pl_txbuf); flush skips empty ones. */
	if (unlikely(b->n == PL_TX_BURST))
		pl_txbuf_send(c, port, b);
}

/*
 * Stage 3 for every case (pipeline.c); the fast case is pl_route_fast().
 * Consumes @p m: queued, punted, or dropped.
 */
void pl_route_one(struct pl_ctx *c, const struct pl_tables *t,
		  struct rte_mbuf *m, uint64_t nh_idx, uint16_t in_port,
		  bool local_origin);

#define PL_NH_ROUTED ((1u << PL_NH_POD) | (1u << PL_NH_IPIP) | \
		      (1u << PL_NH_DIRECT))

/*
 * Stage 3 fast path: a routed hop to a resolved neighbor, TTL above 1,
 * within the MTU, with headroom for IPIP -- nearly every packet. Does what
 * pl_route_one() does with such a packet, except queueing it: the caller
 * stages it for m->port. Returns false, having changed nothing, for any
 * other packet, which then goes to pl_route_one().
 */
static __rte_always_inline bool
pl_route_fast(struct pl_ctx *c, const struct pl_tables *t,
	      const struct pl_nh *nh, struct rte_mbuf *m, uint32_t *n_encap)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_HLEN);
	uint8_t kind = nh->kind;
	uint64_t mac = pl_neigh_load(nh->neigh);
	const struct rte_ether_addr *src = &gw_mac;

	if (unlikely(!((1u << kind) & PL_NH_ROUTED) || ip->time_to_live <= 1 ||
		     !(mac & PL_NEIGH_VALID)))
		return false;
	if (kind != PL_NH_POD) {
		if (unlikely(rte_be_to_cpu_16(ip->total_length) > nh->mtu ||
			     (kind == PL_NH_IPIP &&
			      rte_pktmbuf_headroom(m) < ENCAP_IPIP_HLEN)))
			return false;
		src = &t->port[nh->port].mac;
	}
	pl_ipv4_dec_ttl(ip);
	if (kind == PL_NH_IPIP) {
		encap_ipip_push(m, t->self_ip, nh->outer_dst, c->ip_id++);
		(*n_encap)++;
	}
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	/* As in pl_l2_out(): one 8-byte store for the destination. */
	uint64_t dst = rte_cpu_to_le_64(mac);
	memcpy(eth, &dst, sizeof(dst));
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	m->port = nh->port;
	return true;
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
			if (!b->listed) {
				b->listed = true;
				c->pending[c->n_pending++] = port;
			}
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
