/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Internal to pipeline/: stage 3's common case -- a routed hop to a
 * resolved neighbor, TTL above 1, within the MTU, with headroom for IPIP,
 * nearly every packet -- in two steps. pl_rw_load() resolves a next hop
 * into the bytes every packet to it gets -- the Ethernet header and, for
 * IPIP, the outer header's constant part with its checksum summed -- and
 * pl_rw_apply() writes them into one packet. A burst's packets mostly go
 * to a few hops, in runs; the loops load a hop once per run (PROFILE.md
 * round 9): the per-packet route and encapsulation had cost about 100
 * instructions, a third of the lane's.
 *
 * A run sees one neighbor MAC, read at its start: the same as a packet
 * that was read before an update.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_REWRITE_FAST_H
#define KDP_PIPELINE_REWRITE_FAST_H

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

#define PL_NH_ROUTED ((1u << PL_NH_POD) | (1u << PL_NH_IPIP) | \
		      (1u << PL_NH_DIRECT))

/* A routed hop to a resolved neighbor, as its packets are rewritten. */
struct pl_rw {
	/* The Ethernet header as two overlapping words, stored at bytes 0
	 * and 6: destination MAC; source MAC and EtherType. */
	uint64_t e0, e6;
	struct encap_ipip_tmpl ipip; /* PL_NH_IPIP */
	uint32_t mtu_frame;          /* mtu + Ethernet (pl_rw_apply_pre()) */
	uint16_t mtu;                /* not PL_NH_POD */
	uint16_t port;
	uint8_t kind;
};

/*
 * Resolve @p nh into @p rw: false for a hop that is not routed
 * (PL_NH_ROUTED) or whose neighbor is unresolved. The pods' gateway MAC
 * @p gw is the source toward a pod, the port's own MAC elsewhere.
 */
static __rte_always_inline bool
pl_rw_load(struct pl_rw *rw, const struct pl_tables *t,
	   const struct pl_nh *nh, const struct rte_ether_addr *gw)
{
	uint8_t kind = nh->kind;
	uint64_t mac = pl_neigh_load(nh->neigh);
	const struct rte_ether_addr *src = gw;
	uint8_t h[RTE_ETHER_HDR_LEN];

	if (unlikely(!((1u << kind) & PL_NH_ROUTED) ||
		     !(mac & PL_NEIGH_VALID)))
		return false;
	if (kind != PL_NH_POD)
		src = &t->port[nh->port].mac;
	if (kind == PL_NH_IPIP)
		encap_ipip_tmpl_init(&rw->ipip, t->self_ip, nh->outer_dst);
	/* The neighbor's MAC is its low 48 bits, byte 0 lowest. */
	mac = rte_cpu_to_le_64(mac);
	memcpy(h, &mac, RTE_ETHER_ADDR_LEN);
	memcpy(h + RTE_ETHER_ADDR_LEN, src, RTE_ETHER_ADDR_LEN);
	uint16_t type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memcpy(h + 2 * RTE_ETHER_ADDR_LEN, &type, sizeof(type));
	memcpy(&rw->e0, h, sizeof(rw->e0));
	memcpy(&rw->e6, h + 6, sizeof(rw->e6));
	rw->mtu = nh->mtu;
	rw->mtu_frame = (uint32_t)nh->mtu + sizeof(struct rte_ether_hdr);
	rw->port = nh->port;
	rw->kind = kind;
	return true;
}

/* The hop's Ethernet header at @p p, the frame's start, and its port. */
static __rte_always_inline void
pl_rw_eth(const struct pl_rw *rw, struct rte_mbuf *m, uint8_t *p)
{
	memcpy(p, &rw->e0, sizeof(rw->e0));
	memcpy(p + 6, &rw->e6, sizeof(rw->e6));
	m->port = rw->port;
}

/*
 * Route @p m, an IPv4 packet behind an Ethernet header, through the hop
 * @p rw: TTL above 1, within the MTU, headroom for IPIP. Decrements the
 * TTL, encapsulates for IPIP, writes the Ethernet header and sets
 * m->port; the caller stages it there and counts an encapsulation when
 * rw->kind is PL_NH_IPIP. @p ip_id is the context's next outer ID
 * (pl_ctx.ip_id), which a loop may hold in a local. False, having
 * changed nothing, for a packet that must go to pl_route_one().
 */
static __rte_always_inline bool
pl_rw_apply(const struct pl_rw *rw, struct rte_mbuf *m, uint16_t *ip_id)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip =
		(struct rte_ipv4_hdr *)(p + sizeof(struct rte_ether_hdr));

	if (unlikely(ip->time_to_live <= 1))
		return false;
	if (rw->kind != PL_NH_POD) {
		uint16_t len = rte_be_to_cpu_16(ip->total_length);
		if (unlikely(len > rw->mtu ||
			     (rw->kind == PL_NH_IPIP &&
			      rte_pktmbuf_headroom(m) < ENCAP_IPIP_HLEN)))
			return false;
		if (rw->kind == PL_NH_IPIP) {
			uint8_t tos = ip->type_of_service;
			pl_ipv4_dec_ttl(ip);
			p = encap_ipip_push_tmpl(m, &rw->ipip, tos, len,
						 (*ip_id)++);
		} else {
			pl_ipv4_dec_ttl(ip);
		}
	} else {
		pl_ipv4_dec_ttl(ip);
	}
	pl_rw_eth(rw, m, p);
	return true;
}

/*
 * pl_rw_apply() for a frame of the express lanes' second pass, whose first
 * pass did the per-packet arithmetic (pipeline/express_fast.h
 * struct pl_express_pre): it tested the TTL above 1 and trimmed the frame
 * to its IPv4 length, and gives @p ttl_w, the header's bytes 8-11 with the
 * TTL decremented (pl_ipv4_ttl_word()), and for IPIP *@p ow and *@p vsum
 * (encap_ipip_var(), its outer ID taken; read only then). Same frame out as
 * pl_rw_apply(), the ID aside; false, having changed nothing, for a frame
 * it would refuse. @p kind is rw->kind, which the caller passes as a
 * constant: a loop over a run of one hop then carries no other kind's code.
 */
static __rte_always_inline bool
pl_rw_apply_pre(const struct pl_rw *rw, struct rte_mbuf *m, uint32_t ttl_w,
		const uint64_t *ow, const uint32_t *vsum, const uint8_t kind)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *ip = p + sizeof(struct rte_ether_hdr);

	_Static_assert(offsetof(struct rte_ipv4_hdr, time_to_live) == 8,
		       "bytes 8-11: TTL, protocol, checksum");
	/* The frame is its header and the IPv4 length (trimmed). */
	if (kind != PL_NH_POD &&
	    unlikely(rte_pktmbuf_pkt_len(m) > rw->mtu_frame ||
		     (kind == PL_NH_IPIP &&
		      rte_pktmbuf_headroom(m) < ENCAP_IPIP_HLEN)))
		return false;
	memcpy(ip + 8, &ttl_w, sizeof(ttl_w));
	if (kind == PL_NH_IPIP)
		p = encap_ipip_push_var(m, p, &rw->ipip, *ow, *vsum);
	pl_rw_eth(rw, m, p);
	return true;
}

/*
 * pl_rw_apply_pre() for a hop of kind PL_NH_POD (the uplink lane): no MTU,
 * no encapsulation, so nothing to refuse. The lane's loop then carries
 * none of the IPIP code, which cost it registers.
 */
static __rte_always_inline void
pl_rw_apply_pod(const struct pl_rw *rw, struct rte_mbuf *m, uint32_t ttl_w)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	memcpy(p + sizeof(struct rte_ether_hdr) + 8, &ttl_w, sizeof(ttl_w));
	pl_rw_eth(rw, m, p);
}

#endif /* KDP_PIPELINE_REWRITE_FAST_H */
