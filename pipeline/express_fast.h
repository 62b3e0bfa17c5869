/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The express lane (pipeline.h): established flows from pod ports and the
 * uplink, forwarded ahead of the general stages. Inlined into
 * pl_process_burst() (burst.c), its only caller.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_EXPRESS_FAST_H
#define KDP_PIPELINE_EXPRESS_FAST_H

#include <rte_fib.h>
#include <rte_prefetch.h>

#include "acl/acl.h"
#include "acl/ct_fast.h"
#include "encap/encap_fast.h"
#include "pipeline/parse_fast.h"
#include "pipeline/pipeline.h"
#include "pipeline/stages_fast.h"

/*
 * A burst whose first packet the lane could not take (a new flow, most
 * often) makes it rest for this many bursts of that input port: traffic
 * of new flows pays for the lane's wasted first pass once in 17 bursts.
 */
#define PL_EXPRESS_REST 16

/*
 * The express lane: from a burst from a pod port, the packets that are
 * the common case -- a valid 20-byte IPv4 header, the pod's own
 * addresses, UDP or TCP with its ports, a routed and resolved next hop,
 * and (policy on) an established flow that hits its conntrack entry --
 * are forwarded here in two tight passes. The general stages do the same
 * to such a packet, but through per-packet verdict arrays, compactions
 * and a flow record built for classification, which cost about as much as
 * the work itself.
 *
 * The lane takes the longest prefix of the burst that is all common case
 * and returns its length; the caller runs the rest through the general
 * stages, so frames leave in their order and every drop keeps its reason.
 * On the packets it does not take, the lane changes nothing the general
 * stages would not do identically again: it trims Ethernet padding (as
 * pl_ipv4_check_fast) and may refresh a conntrack entry (as acl_ct_hit).
 * With several workers, a policed flow another worker owns does not end
 * the prefix: the lane hands it over as the policy stage would.
 *
 * tests/unit/pipeline/test_express.c runs random traffic through a
 * context with the lane and one without and compares everything.
 */

struct pl_express_pkt {
	uint64_t w[2];   /* conntrack key words */
	/* The flow's home slot (this worker's table; when another worker
	 * owns the flow, unused): found in pass 1 for its prefetch, so pass 2
	 * loads it instead of the table's base and mask. */
	struct acl_ct_entry *e;
	bool lo;         /* acl_ct_key_words(): a bool, so 0 or 1 when read */
	uint8_t tcp_flags;
	uint8_t owner;   /* the worker owning the flow (pipeline.h) */
};

/*
 * What pass 1 computes of each frame's rewrite, four or eight frames at a
 * time in vectors, so that pass 2 only stores it (pl_rw_apply_pre()): the
 * TTL decrement and, in the pod lane, the part of an outer IPIP header
 * that depends on the packet. Pass 2 alone did it one packet at a time,
 * and the hop's fields and the outer ID were spilled around it (encap, 1k
 * rules: PROFILE.md round 13). Pass 1 does not know which frames will be
 * encapsulated, so every frame of the pod lane gets an outer ID: the IDs
 * of the frames that are not are skipped (IDs of DF datagrams need not be
 * consecutive, RFC 6864).
 */
struct pl_express_pre {
	uint32_t ttl_w[PL_BURST]; /* bytes 8-11, pl_ipv4_ttl_word() */
	uint64_t ow[PL_BURST];    /* pod lane: encap_ipip_var()'s w0 */
	uint32_t vsum[PL_BURST];  /* and its sum */
	uint32_t len[PL_BURST];   /* uplink: the frame's length decapsulated */
	uint16_t ip_id;           /* pkts[i]'s outer ID: ip_id + i */
};

/* pl_express_pre's entries for the frame at @p ip, the @p i th of the
 * burst, of IPv4 length @p tlen (pod lane: @p outer; uplink: @p ip is the
 * inner header): the one-frame pass. */
static __rte_always_inline void
pl_express_pre_one(struct pl_express_pre *pre, uint16_t i,
		   const struct rte_ipv4_hdr *ip, uint32_t tlen,
		   const bool outer)
{
	uint32_t w2;

	memcpy(&w2, &ip->time_to_live, sizeof(w2));
	pre->ttl_w[i] = pl_ipv4_ttl_word(w2);
	if (outer)
		pre->vsum[i] = encap_ipip_var(
			ip->type_of_service,
			(uint16_t)(tlen + ENCAP_IPIP_HLEN),
			(uint16_t)(pre->ip_id + i), &pre->ow[i]);
	else
		pre->len[i] = PL_ETH_HLEN + tlen;
}

/* What pass 1 needs of the worker's conntrack, copied into locals: the
 * frame stores of pass 2 could alias the structures they come from. */
struct pl_express_ct {
	struct acl_ct_entry *slot;
	uint32_t mask;
	uint16_t wid;
	uint64_t n_workers;
};

static __rte_always_inline struct pl_express_ct
pl_express_ct(const struct pl_ctx *c, const struct acl_worker *aw)
{
	return (struct pl_express_ct){
		.slot = aw != NULL ? aw->slot : NULL,
		.mask = aw != NULL ? aw->mask : 0,
		.wid = c->wid,
		.n_workers = c->ho != NULL ? c->ho->n_workers : 1,
	};
}

/* The keyed flow's (@p hash) owner worker and home slot, prefetched when
 * this worker owns it. */
static __rte_always_inline void
pl_express_slot(struct pl_express_pkt *x, uint32_t hash,
		const struct pl_express_ct *ct, const bool multi)
{
	x->e = &ct->slot[hash & ct->mask];
	if (!multi) {
		rte_prefetch0(x->e);
		return;
	}
	x->owner = (uint8_t)(((uint64_t)hash * ct->n_workers) >> 32);
	if (likely(x->owner == ct->wid))
		rte_prefetch0(x->e);
}

/*
 * Key the UDP or TCP flow of @p ip, whose datagram has @p l3len bytes in
 * the segment (acl_flow_parse_common()'s test), find its owner worker and,
 * when it is this one, prefetch its slot. False for any other protocol.
 */
static __rte_always_inline bool
pl_express_key(struct pl_express_pkt *x, const struct rte_ipv4_hdr *ip,
	       uint32_t l3len, uint32_t src, uint32_t dst,
	       const struct pl_express_ct *ct, const bool multi)
{
	const uint8_t *l4 = (const uint8_t *)(ip + 1);
	uint8_t proto = ip->next_proto_id;

	if (proto == IPPROTO_UDP)
		x->tcp_flags = 0;
	else if (likely(proto == IPPROTO_TCP &&
			l3len >= sizeof(*ip) + 14))
		x->tcp_flags = l4[13];
	else
		return false;
	x->lo = acl_ct_key_words(src, dst, (uint16_t)(l4[0] << 8 | l4[1]),
				 (uint16_t)(l4[2] << 8 | l4[3]), proto, x->w);
	pl_express_slot(x, acl_ct_key_hash(x->w), ct, multi);
	return true;
}

/*
 * The uplink lane's test of an outer source @p src: a known node
 * (pl_node_set_has(), and not a special address nor this node's own). A burst comes from one
 * node or a few, so the source found last (@p *node_src, valid with
 * @p *node_ok: no address is safe as a "none" value) needs no second
 * search; the cache only ever holds a known node's address.
 */
static __rte_always_inline bool
pl_express_node_known(const struct pl_tables *t, rte_be32_t src,
		      rte_be32_t *node_src, bool *node_ok)
{
	if (likely(*node_ok && src == *node_src))
		return true;
	if (pl_ip_is_special(src) || pl_ip_src_is_own(t, src) ||
	    !pl_node_set_has(t, src))
		return false;
	*node_src = src;
	*node_ok = true;
	return true;
}

#include "pipeline/express_x4_fast.h"

/* A policed packet of a flow another worker owns, handed over as the
 * general path's policy stage does (pl_handoff_drain() takes it). */
static __rte_always_inline void
pl_express_handoff(struct pl_ho_list *ho, struct rte_mbuf *m,
		   uint16_t in_port, uint8_t flags, uint8_t owner)
{
	m->port = in_port;
	m->hash.usr = flags;
	ho->owner[ho->n] = owner;
	ho->m[ho->n++] = m;
}

/*
 * The conntrack hit of an established flow's packet, and the hop its entry
 * records for the packet's direction (ACL_CT_HOP_NONE when not yet): a
 * hit is under pl_ct_gen(), which covers the FIB, so the hop is what the
 * FIB would answer, without the lookup (26 instructions a packet). UINT64_MAX
 * when the packet does not hit. The hop's index is tested by the caller
 * (ACL_CT_HOP_NONE and ACL_CT_HOP_HOST, a reply the host must see, are
 * above every pl_tables.n_nh: FIB hops are 15 bits).
 */
static __rte_always_inline uint64_t
pl_express_hit(const struct acl_worker *aw, const struct pl_express_pkt *x,
	       uint32_t gen, uint64_t now, const struct acl_ct_expiry *exp)
{
	const struct acl_ct_entry *e =
		acl_ct_hit_exp(aw, x->e, x->w, x->lo, x->tcp_flags,
			       gen, now, exp, false);

	return e != NULL ? e->hop[x->lo] : UINT64_MAX;
}

/*
 * Pass 1 of pl_express_pod() for one packet, the @p idx th: validate
 * (the TTL above 1 included), compute its @p pre entries, key, hash,
 * prefetch the conntrack slot (@p aw: policy on). False, having changed
 * nothing but the Ethernet padding, when the packet is not the lane's.
 */
static __rte_always_inline bool
pl_express_pod_one(struct rte_mbuf *m, rte_be32_t ip0, bool mac_known,
		   const struct rte_ether_addr *mac,
		   const struct acl_worker *aw, struct pl_express_pkt *x,
		   uint32_t *dst, struct pl_express_pre *pre, uint16_t idx,
		   const struct pl_express_ct *ct, const bool multi)
{
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t avail = rte_pktmbuf_pkt_len(m) - PL_ETH_HLEN;
	uint32_t tlen;

	/* 38 bytes: Ethernet, IPv4 and the four port bytes. */
	if (unlikely(len < PL_ETH_HLEN + sizeof(*ip) + 4 ||
		     eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		     !pl_ipv4_common_src(m, PL_ETH_HLEN, &tlen, true)))
		return false;
	uint8_t proto = ip->next_proto_id;
	/* A first fragment (MF) goes through the general stages, which
	 * note its ports for the later ones (frag_fast.h). */
	if (unlikely(tlen < sizeof(*ip) + 4 || ip->src_addr != ip0 ||
		     (ip->fragment_offset &
		      rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG)) ||
		     proto == IPPROTO_IPIP || ip->time_to_live <= 1 ||
		     (mac_known &&
		      !rte_is_same_ether_addr(&eth->src_addr, mac))))
		return false;
	if (avail > tlen)
		rte_pktmbuf_trim(m, avail - tlen);
	*dst = rte_be_to_cpu_32(ip->dst_addr);
	pl_express_pre_one(pre, idx, ip, tlen, true);
	if (aw == NULL)
		return true;
	/* On the trimmed length, as acl_flow_parse_common(). */
	return pl_express_key(x, ip, RTE_MIN(len - PL_ETH_HLEN, tlen),
			      rte_be_to_cpu_32(ip0), *dst, ct, multi);
}

/*
 * Pass 1 of pl_express_uplink() for one frame, the @p idx th: to the
 * uplink's MAC @p up_mac (any other goes to the general stages, which drop
 * it: pl_uplink_l2()), both headers validated (the inner TTL above 1
 * included), the inner one's @p pre entry computed and, @p aw: policy on,
 * keyed; the outer source a known node (pl_express_node_known()). False
 * when the frame is not the lane's; no frame is changed.
 */
static __rte_always_inline bool
pl_express_uplink_one(const struct pl_tables *t, struct rte_mbuf *m,
		      struct pl_mac_key up_mac,
		      rte_be32_t self, rte_be32_t *node_src, bool *node_ok,
		      const struct acl_worker *aw, struct pl_express_pkt *x,
		      uint32_t *dst, struct pl_express_pre *pre, uint16_t idx,
		      const struct pl_express_ct *ct, const bool multi)
{
	const uint32_t hl = sizeof(struct rte_ipv4_hdr);
	const struct rte_ether_hdr *eth =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *o = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_ipv4_hdr *ip = o + 1;
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t avail = rte_pktmbuf_pkt_len(m) - PL_ETH_HLEN;
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	/* Ethernet, two IPv4 headers and the four port bytes. */
	if (unlikely(len < PL_ETH_HLEN + 2 * hl + 4 ||
		     eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		     !pl_mac_is(&eth->dst_addr, up_mac)))
		return false;
	uint32_t otlen = rte_be_to_cpu_16(o->total_length);
	uint32_t tlen = rte_be_to_cpu_16(ip->total_length);
	/* The inner datagram must fill the outer one exactly: the general
	 * path trims to the inner length, which the lane does not try. */
	if (unlikely(o->version_ihl != RTE_IPV4_VHL_DEF ||
		     o->dst_addr != self || o->next_proto_id != IPPROTO_IPIP ||
		     otlen > avail || tlen + hl != otlen ||
		     (o->fragment_offset &
		      rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
				       RTE_IPV4_HDR_OFFSET_MASK)) ||
		     /* A GOOD flag vouches for neither header (as
		      * pl_uplink_in()): both sums are tested. */
		     ck == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		     (m->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD) ||
		     pl_ip_hdr_sum(o, hl) != 0xffff ||
		     pl_ip_hdr_sum(ip, hl) != 0xffff ||
		     ip->version_ihl != RTE_IPV4_VHL_DEF || tlen < hl + 4 ||
		     ip->time_to_live <= 1 ||
		     (ip->fragment_offset &
		      rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG |
				       RTE_IPV4_HDR_OFFSET_MASK)) ||
		     pl_ip_src_is_bad(ip->src_addr) ||
		     pl_ip_src_is_own(t, ip->src_addr) ||
		     /* ECN the decapsulation would change (RFC 6040):
		      * the general stages do it (pl_uplink_in()). */
		     ((o->type_of_service & 1) &&
		      ((o->type_of_service ^ ip->type_of_service) &
		       RTE_IPV4_HDR_ECN_MASK)) ||
		     pl_ip_is_special(ip->dst_addr)))
		return false;
	if (!pl_express_node_known(t, o->src_addr, node_src, node_ok))
		return false;
	*dst = rte_be_to_cpu_32(ip->dst_addr);
	pl_express_pre_one(pre, idx, ip, tlen, false);
	if (aw == NULL)
		return true;
	return pl_express_key(x, ip, RTE_MIN(len - PL_ETH_HLEN - hl, tlen),
			      rte_be_to_cpu_32(ip->src_addr), *dst, ct, multi);
}

/* What pass 1 of a lane matches one burst's frames against. */
struct pl_express_in {
	const struct pl_tables *t;
	rte_be32_t ip;     /**< the pod's address; uplink: the node's */
	bool mac_known;    /**< pod lane: the pod's MAC is known */
	struct rte_ether_addr mac;
	struct pl_mac_key dst; /**< uplink: its own MAC, the frames' dest */
	rte_be32_t node_src; /**< uplink: pl_express_node_known()'s cache */
	bool node_ok;
#ifdef __SSE4_1__
	struct pl_express_x4 v;
#endif
};

/* @p dst: the uplink's MAC, which the uplink lane's frames must be sent
 * to; NULL in the pod lane (pods send to the gateway MAC, whatever it is:
 * Calico's proxy ARP makes every address theirs). */
static __rte_always_inline void
pl_express_in_init(struct pl_express_in *in, const struct pl_tables *t,
		   rte_be32_t ip, bool mac_known,
		   const struct rte_ether_addr *mac,
		   const struct rte_ether_addr *dst)
{
	in->t = t;
	in->ip = ip;
	in->mac_known = mac_known;
	in->mac = mac_known ? *mac : (struct rte_ether_addr){{0}};
	in->dst = dst != NULL ? pl_mac_key(dst) : (struct pl_mac_key){0, 0};
	in->node_src = 0;
	in->node_ok = false;
#ifdef __SSE4_1__
	pl_express_x4_init(&in->v, ip, mac_known, mac, dst);
#endif
}

/*
 * The headers of the @p w frames from pkts[@p from] (fewer at the burst's
 * end, @p n), for the next step of pass 1. Unrolled for the full case: a
 * loop bounded by RTE_MIN() cost 10 instructions a frame.
 */
static __rte_always_inline void
pl_express_prefetch(struct rte_mbuf **pkts, uint16_t from, uint16_t n,
		    const unsigned int w)
{
	if (likely(from + w <= n)) {
		_Pragma("GCC unroll 8")
		for (unsigned int j = 0; j < w; j++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[from + j], void *));
	} else {
		for (uint16_t j = from; j < n; j++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[j], void *));
	}
}

#ifdef __SSE4_1__
/*
 * One step of pass 1 over the @p w frames (4, or 8 with AVX2) from
 * pkts[@p k] of @p n: their successors' headers prefetched, then the
 * lane's vector pass (express_xn_fast.h). False when any may not pass.
 */
static __rte_always_inline bool
pl_express_step(struct pl_express_in *in, const bool uplink,
		const unsigned int w, struct rte_mbuf **pkts, uint16_t k,
		uint16_t n, bool track, struct pl_express_pkt *x,
		uint32_t *dst, struct pl_express_pre *pre,
		const struct pl_express_ct *ct, const bool multi)
{
	pl_express_prefetch(pkts, k + w, n, w);
#ifdef __AVX2__
	if (w == 8)
		return uplink ?
			pl_express_uplink_x8(in->t, pkts + k, &in->v, track,
					     &in->node_src, &in->node_ok,
					     x + k, dst + k, pre, k, ct,
					     multi) :
			pl_express_pod_x8(pkts + k, &in->v, track, x + k,
					  dst + k, pre, k, ct, multi);
#endif
	return uplink ?
		pl_express_uplink_x4(in->t, pkts + k, &in->v, track,
				     &in->node_src, &in->node_ok, x + k,
				     dst + k, pre, k, ct, multi) :
		pl_express_pod_x4(pkts + k, &in->v, track, x + k, dst + k,
				  pre, k, ct, multi);
}
#endif

/*
 * Pass 1 of a lane (@p uplink: pl_express_uplink(), else
 * pl_express_pod()): the length of the prefix of @p pkts that is the
 * lane's, with dst[], @p pre and (@p aw: policy on) x[] filled for it. Four
 * frames at a time (eight with AVX2) where all pass
 * (express_x4_fast.h), else one by one up to the first that does not.
 */
static __rte_always_inline uint16_t
pl_express_pass1(struct pl_express_in *in, const bool uplink,
		 struct rte_mbuf **pkts, uint16_t n,
		 const struct acl_worker *aw, struct pl_express_pkt *x,
		 uint32_t *dst, struct pl_express_pre *pre,
		 const struct pl_express_ct *ct, const bool multi)
{
	uint16_t k = 0;

	while (k < n) {
		uint16_t end = n;
#ifdef __AVX2__
		/* Eight frames at a time: the pass's vector work costs the
		 * same for eight as for four. The uplink lane's two headers
		 * paid from the start (decap, 1k rules: 444 -> 430
		 * instructions a packet); the pod lane's one header only with
		 * the rewrite's arithmetic (struct pl_express_pre) in the
		 * pass (encap, 1k rules: 421 -> 404; with four, +12 a packet
		 * in this pass, from spills). */
		if (k + 8 <= n) {
			if (likely(pl_express_step(in, uplink, 8, pkts, k, n,
						   aw != NULL, x, dst, pre, ct,
						   multi))) {
				k += 8;
				continue;
			}
			end = k + 8;
		} else
#endif
#ifdef __SSE4_1__
		if (k + 4 <= n) {
			if (likely(pl_express_step(in, uplink, 4, pkts, k, n,
						   aw != NULL, x, dst, pre, ct,
						   multi))) {
				k += 4;
				continue;
			}
			end = k + 4;
		}
#endif
		for (; k < end; k++) {
			if (k + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[k + 1],
							       void *));
			bool ok = uplink ?
				pl_express_uplink_one(in->t, pkts[k], in->dst,
						      in->ip, &in->node_src,
						      &in->node_ok, aw, &x[k],
						      &dst[k], pre, k, ct,
						      multi) :
				pl_express_pod_one(pkts[k], in->ip,
						   in->mac_known, &in->mac, aw,
						   &x[k], &dst[k], pre, k, ct,
						   multi);
			if (!ok)
				return k;
		}
	}
	return k;
}

/* The end of a lane's second pass: hand over what other workers own, then
 * stage the @p n frames of @p out (to @p port alone when @p one_port). */
static __rte_always_inline void
pl_express_stage(struct pl_ctx *c, struct rte_mbuf **out, uint16_t n,
		 struct pl_ho_list *ho, uint16_t in_port, bool one_port,
		 uint16_t port)
{
	if (unlikely(ho->n != 0))
		pl_handoff_send(c, in_port, ho);
	if (likely(one_port))
		pl_stage_drain_port(c, out, &n, port);
	else
		pl_stage_drain(c, out, &n);
}

/* nhs[] of a flow another worker owns (pl_express_hops()): above every
 * hop (FIB hops are 15 bits), and not ACL_CT_HOP_NONE. */
#define PL_EXPRESS_NH_AWAY (UINT64_MAX - 1)
/* nhs[] after the last: no hop is, so it ends a run without a test of
 * the index (a register and two instructions a packet). */
#define PL_EXPRESS_NH_END UINT64_MAX

/*
 * Pass 2a of the pod lane: the hops of x[0..@p k) into @p nhs -- from
 * the FIB, or with policy on (@p aw) from the conntrack hits
 * (pl_express_hit()), up to the first packet that does not hit, or
 * PL_EXPRESS_NH_AWAY for a flow another worker owns -- and the length of
 * the prefix. A loop of its own, apart from the rewrite's: the two had
 * together kept more values live than there are registers, and reloaded a
 * dozen from the stack a packet (encap, 1k rules: 382 -> 373 instructions
 * a packet; the uplink lane's loop, with one kind of hop and no
 * encapsulation, did not gain: 395 -> 399).
 */
static __rte_always_inline uint16_t
pl_express_hops(const struct pl_ctx *c, const struct pl_tables *t,
		struct acl_worker *aw, const struct pl_express_pkt *x,
		const uint32_t *dst, uint16_t k, uint64_t *nhs,
		const bool multi)
{
	uint16_t i;

	if (aw == NULL) {
		for (i = 0; i < k; i++)
			nhs[i] = pl_fib_one(t, dst[i]);
		nhs[k] = PL_EXPRESS_NH_END;
		return k;
	}
	const uint32_t gen = pl_ct_gen(t);
	const uint64_t now = c->now_ms;
	/* The expiry times of the entries the burst refreshes. */
	const struct acl_ct_expiry exp = acl_ct_expiry(aw, now);
	const uint16_t wid = c->wid;

	for (i = 0; i < k; i++) {
		if (multi && x[i].owner != wid) {
			nhs[i] = PL_EXPRESS_NH_AWAY;
			continue;
		}
		uint64_t nh = pl_express_hit(aw, &x[i], gen, now, &exp);
		if (unlikely(nh == UINT64_MAX))
			break;
		nhs[i] = nh;
	}
	nhs[i] = PL_EXPRESS_NH_END;
	return i;
}

/*
 * Pass 2b of the pod lane for the run of frames from pkts[@p i] to the hop
 * @p rw, nhs[] @p i's (PL_EXPRESS_NH_END ends it): each rewritten and
 * counted in @p *n_out (one worker: staged as pkts[0..n_out), else copied
 * to @p out).
 * Returns where the run ends, with @p *refused set when that frame is one
 * pl_rw_apply_pre() refused. @p kind, rw->kind as a constant, makes one
 * loop per kind of hop, with no test of it per frame.
 */
static __rte_always_inline uint16_t
pl_express_apply_run(const struct pl_rw *rw, struct rte_mbuf **pkts,
		     const uint64_t *nhs, uint16_t i,
		     const struct pl_express_pre *pre, struct rte_mbuf **out,
		     uint16_t *n_out, bool *refused, const bool multi,
		     const uint8_t kind)
{
	const uint64_t nh = nhs[i];
	/* A copy, whose fields the frame stores cannot alias. */
	const struct pl_rw r = *rw;
	uint16_t n = *n_out;

	*refused = false;
	/* nhs[] ends with PL_EXPRESS_NH_END (pl_express_hops()), which ends
	 * every run. */
	for (; nhs[i] == nh; i++) {
		if (unlikely(!pl_rw_apply_pre(&r, pkts[i], pre->ttl_w[i],
					      &pre->ow[i], &pre->vsum[i],
					      kind))) {
			*refused = true;
			break;
		}
		if (multi)
			out[n] = pkts[i];
		n++;
	}
	*n_out = n;
	return i;
}

static __rte_always_inline uint16_t
pl_express_pod(struct pl_ctx *c, const struct pl_tables *t,
	       const struct pl_ep *ep, uint16_t in_port,
	       struct rte_mbuf **pkts, uint16_t n, const bool multi,
	       const bool pol)
{
	struct pl_express_pkt x[PL_BURST];
	uint32_t dst[PL_BURST];
	struct pl_express_pre pre;
	/* @p pol: t->acl and c->acl set (pl_express_run()). */
	struct acl_worker *aw = pol ? c->acl : NULL;
	const rte_be32_t ip0 = ep->ips[0];
	const struct pl_express_ct ct = pl_express_ct(c, aw);
	/* natOutgoing: direct hops may be to the host (pl_forward()), which
	 * the general stages tell packet by packet. */
	const bool nat = ep->nat_outgoing && t->host_port != UINT16_MAX;
	struct pl_express_in in;
	uint16_t k;

	/* The source is tested against the pod's address, so the lane need
	 * not test it for a special one -- unless the pod's is one (a bad
	 * object), whose packets the general stages drop as such. */
	if (unlikely(pl_ip_src_is_bad(ip0)))
		return 0;
	/* Pass 1: validate, key, hash, prefetch the conntrack slot. The
	 * pod's addresses are copied (pl_express_in): the frame stores of
	 * pass 2 could alias the tables' fields. */
	pl_express_in_init(&in, t, ip0, ep->mac_known, &ep->mac, NULL);
	pre.ip_id = c->ip_id;
	k = pl_express_pass1(&in, false, pkts, n, aw, x, dst, &pre, &ct,
			     multi);
	if (k == 0)
		return 0;
	/* Pass 2a: the packets' hops, up to the first conntrack miss. */
	uint64_t nhs[PL_BURST + 1];
	const uint16_t k2 = pl_express_hops(c, t, aw, x, dst, k, nhs, multi);
	/* Pass 2b: route and queue, a run of one hop at a time. Locals: the
	 * frame stores could alias the tables' fields. */
	const struct pl_nh *nhv = t->nh;
	const uint32_t n_nh = t->n_nh;
	struct rte_mbuf *out[PL_BURST];
	struct pl_ho_list ho;
	uint16_t i = 0, n_out = 0, n_enc = 0;
	/* The hop of the current run of packets (rewrite_fast.h). */
	struct pl_rw rw = {0};
	uint64_t rw_nh = UINT64_MAX;
	/* Whether every staged frame goes to @c port. */
	bool one_port = true;
	uint16_t port = 0;

	ho.n = 0;
	while (i < k2) {
		uint64_t nh = nhs[i];
		if (multi && aw != NULL && nh == PL_EXPRESS_NH_AWAY) {
			pl_express_handoff(&ho, pkts[i], in_port, 0,
					   x[i].owner);
			i++;
			continue;
		}
		/* A loaded hop's index is in range: tested on a change only
		 * (a hop not yet recorded ends the prefix so). Pass 2a may
		 * have refreshed the entries of packets after the one that
		 * ends it; the general stages hit them again, and a hit the
		 * lane takes only refreshes the expiry or marks a UDP flow
		 * replied, both idempotent. */
		if (nh != rw_nh) {
			if (unlikely(nh >= n_nh ||
				     !pl_rw_load(&rw, t, &nhv[nh], &gw_mac) ||
				     (nat && rw.kind == PL_NH_DIRECT)))
				break;
			rw_nh = nh;
			one_port &= n_out == 0 || rw.port == port;
			port = rw.port;
		}
		bool refused;
		uint16_t j;
		if (rw.kind == PL_NH_IPIP) {
			j = pl_express_apply_run(&rw, pkts, nhs, i, &pre, out,
					   &n_out, &refused, multi,
					   PL_NH_IPIP);
			n_enc += j - i;
		} else if (rw.kind == PL_NH_POD) {
			j = pl_express_apply_run(&rw, pkts, nhs, i, &pre, out,
					   &n_out, &refused, multi, PL_NH_POD);
		} else {
			j = pl_express_apply_run(&rw, pkts, nhs, i, &pre, out,
					   &n_out, &refused, multi,
					   PL_NH_DIRECT);
		}
		i = j;
		if (unlikely(refused))
			break;
	}
	pl_express_stage(c, multi ? out : pkts, n_out, &ho, in_port,
			 one_port, port);
	c->st->ipip_encap += n_enc;
	/* The IDs of pkts[0..i) are taken (pl_express_pre). */
	c->ip_id = (uint16_t)(pre.ip_id + i);
	return i;
}

/*
 * The express lane for the uplink: IPIP from a known node to a local pod,
 * decapsulated (pl_uplink_in) and, policy on, of an established flow. The
 * same prefix rule as pl_express_pod(); the frame is changed (trimmed,
 * decapsulated) only once it is committed, in pass 2.
 */
static __rte_always_inline uint16_t
pl_express_uplink(struct pl_ctx *c, const struct pl_tables *t,
		  uint16_t in_port, struct rte_mbuf **pkts, uint16_t n,
		  const bool multi, const bool pol)
{
	struct pl_express_pkt x[PL_BURST];
	uint32_t dst[PL_BURST];
	struct pl_express_pre pre;
	/* @p pol: t->acl and c->acl set (pl_express_run()). */
	struct acl_worker *aw = pol ? c->acl : NULL;
	const rte_be32_t self = t->self_ip;
	const struct pl_express_ct ct = pl_express_ct(c, aw);
	const uint32_t hl = sizeof(struct rte_ipv4_hdr);
	struct pl_express_in in;
	uint16_t k;

	/* The lane tests the outer destination against the node's address
	 * only; the general stages refuse special ones first. */
	if (self == 0 || pl_ip_is_special(self) || t->node_set == NULL)
		return 0;
	/* Pass 1: to the uplink's MAC, both headers validated, the inner one
	 * keyed. */
	pl_express_in_init(&in, t, self, false, NULL, &t->port[in_port].mac);
#ifdef __SSE4_1__
	in.v.tun = _mm_set1_epi32((int)t->tunnel_ip);
#endif
	k = pl_express_pass1(&in, true, pkts, n, aw, x, dst, &pre, &ct,
			     multi);
	if (k == 0)
		return 0;
	/* One worker with policy on: the hops come with the conntrack hits
	 * (pl_express_hit()). Several: the frames handed over must be to a
	 * local pod, which only the FIB tells. */
	const bool memo = !multi && aw != NULL;

	/* Pass 2: a local pod's hop, conntrack hit; decapsulate, route. */
	uint32_t gen = aw != NULL ? pl_ct_gen(t) : 0;
	uint64_t now = c->now_ms;
	/* Policy on: the expiry times of the entries the burst refreshes. */
	const struct acl_ct_expiry exp =
		aw != NULL ? acl_ct_expiry(aw, now) : (struct acl_ct_expiry){0};
	const struct pl_nh *nhv = t->nh;
	const uint32_t n_nh = t->n_nh;
	struct rte_mbuf *out[PL_BURST];
	struct pl_ho_list ho;
	uint16_t n_out = 0;
	unsigned int i;
	struct pl_rw rw = {0};
	uint64_t rw_nh = UINT64_MAX;
	/* Whether every staged frame goes to @c port. */
	bool one_port = true;
	uint16_t port = 0;

	ho.n = 0;
	for (i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];
		/* To a local pod's resolved hop (tested when the hop
		 * changes), so policed: a flow another worker owns is handed
		 * over decapsulated, as after pl_uplink_in(). */
		bool mine = !multi || aw == NULL || x[i].owner == ct.wid;
		uint64_t nh;
		if (memo) {
			nh = pl_express_hit(aw, &x[i], gen, now, &exp);
			if (unlikely(nh == UINT64_MAX))
				break;
		} else {
			nh = pl_fib_one(t, dst[i]);
		}
		if (nh != rw_nh) {
			if (unlikely(nh >= n_nh || nhv[nh].kind != PL_NH_POD ||
				     !pl_rw_load(&rw, t, &nhv[nh], &gw_mac)))
				break;
			rw_nh = nh;
			one_port &= n_out == 0 || rw.port == port;
			port = rw.port;
		}
		/* Routed by the FIB, the hit's hop is tested only for a
		 * return to the host (ACL_CT_HOP_HOST), which the general
		 * stages make. */
		if (!memo && mine && aw != NULL) {
			uint64_t h = pl_express_hit(aw, &x[i], gen, now, &exp);
			if (unlikely(h == UINT64_MAX || h == ACL_CT_HOP_HOST))
				break;
		}
		if (likely(m->nb_segs == 1)) {
			/* Trimmed to the outer length and decapsulated: the
			 * inner length (pass 1 tested that it fills the outer
			 * one) behind the Ethernet header, 20 bytes on. */
			m->data_off = (uint16_t)(m->data_off + hl);
			m->data_len = (uint16_t)pre.len[i];
			m->pkt_len = pre.len[i];
		} else {
			uint32_t avail = rte_pktmbuf_pkt_len(m) - PL_ETH_HLEN;
			uint32_t otlen = rte_be_to_cpu_16(
				rte_pktmbuf_mtod_offset(
					m, const struct rte_ipv4_hdr *,
					PL_ETH_HLEN)->total_length);
			if (avail > otlen)
				rte_pktmbuf_trim(m, avail - otlen);
			encap_ipip_pop(m, hl);
		}
		if (!mine) {
			pl_express_handoff(&ho, m, in_port, 2, x[i].owner);
			continue;
		}
		/* A pod's hop (tested at its load), the TTL in pass 1. */
		pl_rw_apply_pod(&rw, m, pre.ttl_w[i]);
		if (multi) /* one worker: pkts[0..i), as in the pod lane */
			out[n_out] = m;
		n_out++;
	}
	pl_express_stage(c, multi ? out : pkts, n_out, &ho, in_port,
			 one_port, port);
	c->st->ipip_decap += i;
	return i;
}

/*
 * The lane for a burst from @p ep's pod port (or the uplink when @p ep is
 * NULL): each lane is compiled for each of one or several workers and
 * policy on or off, so that neither loop carries the other's code (the
 * FIB's load with policy off cost the policy loop 2 instructions a
 * packet in registers). Inlined: out of line, each in a function of its
 * own, encapsulation with 1k rules cost 6 instructions a packet more.
 */
static __rte_always_inline uint16_t
pl_express_run(struct pl_ctx *c, const struct pl_tables *t,
	       const struct pl_ep *ep, uint16_t in_port,
	       struct rte_mbuf **pkts, uint16_t n, const bool multi)
{
	if (t->acl != NULL && c->acl != NULL)
		return ep != NULL ?
			       pl_express_pod(c, t, ep, in_port, pkts, n,
					      multi, true) :
			       pl_express_uplink(c, t, in_port, pkts, n,
						 multi, true);
	return ep != NULL ? pl_express_pod(c, t, ep, in_port, pkts, n, multi,
					   false) :
			    pl_express_uplink(c, t, in_port, pkts, n, multi,
					      false);
}

#endif /* KDP_PIPELINE_EXPRESS_FAST_H */
