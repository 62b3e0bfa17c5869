/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * IPIP (RFC 2003) encapsulation and decapsulation, inline for the workers.
 *
 * Encap: the outer header is src = local node IP, dst = remote node IP,
 * protocol 4, DF set, TOS copied from the inner header, TTL 64, checksum
 * computed. The inner packet is left as the routed hop made it.
 *
 * Decap removes the outer header; whether to accept the packet (outer
 * source a known node, outer destination us, inner valid) is the caller's
 * decision, taken before.
 *
 * Both leave room for an Ethernet header in front, which the caller fills.
 */
#ifndef KDP_ENCAP_ENCAP_FAST_H
#define KDP_ENCAP_ENCAP_FAST_H

#include <stddef.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#define ENCAP_IPIP_HLEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define ENCAP_OUTER_TTL 64

/**
 * What an outer header to one tunnel end keeps from packet to packet: the
 * second 8 bytes without the checksum, the destination, and the ones'
 * complement sum of the constant fields, folded. Built once for a run of
 * packets to the same hop (pipeline/rewrite_fast.h), so that a packet pays
 * only for its TOS, length and ID.
 */
struct encap_ipip_tmpl {
	uint64_t w1;      /**< TTL, protocol, checksum 0, source */
	uint32_t sum;     /**< the constant fields' sum, folded: 1..0xffff */
	rte_be32_t dst;
};

/*
 * Ones' complement sums do not depend on byte order (RFC 1071), so the
 * header's 16-bit pieces are summed as they lie in memory (little-endian
 * words) and the folded sum is stored as it comes.
 */
static __rte_always_inline void
encap_ipip_tmpl_init(struct encap_ipip_tmpl *t, rte_be32_t src,
		     rte_be32_t dst)
{
	uint64_t w1 = ENCAP_OUTER_TTL | IPPROTO_IPIP << 8 |
		      (uint64_t)src << 32;
	/* VHL and the DF flag from the first word; four pieces under 2^34. */
	uint64_t s = RTE_IPV4_VHL_DEF +
		     rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) +
		     (w1 & 0xffffffff) + (w1 >> 32) + dst;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	t->w1 = w1;
	t->sum = (uint32_t)s; /* not 0: the VHL byte is not */
	t->dst = dst;
}

/**
 * The packet's part of an outer header: its first 8 bytes (version and
 * IHL, @p tos, length @p len, ID @p ip_id, DF) as the little-endian word
 * @p w0 to store, and the ones' complement sum of the fields that vary
 * (TOS, length, ID), under 2^18, for encap_ipip_w1(). Split from the rest
 * so that the express lanes compute it for four frames at once, before
 * the hop is known (pipeline/express_xn_fast.h does the same in vectors).
 */
static __rte_always_inline uint32_t
encap_ipip_var(uint8_t tos, uint16_t len, uint16_t ip_id, uint64_t *w0)
{
	/* Bytes 2-5, length and ID in network order, as one little-endian
	 * word: a single byte swap (rte_cpu_to_be_16() is an asm statement
	 * each, which the compiler cannot merge). */
	uint32_t li = rte_bswap32((uint32_t)len << 16 | ip_id);

	*w0 = rte_cpu_to_le_64(RTE_IPV4_VHL_DEF | (uint64_t)tos << 8 |
			       (uint64_t)li << 16 |
			       (uint64_t)rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)
				       << 48);
	return ((uint32_t)tos << 8) + (li & 0xffff) + (li >> 16);
}

/**
 * The outer header's second 8 bytes: the template's, with the checksum of
 * the header whose varying fields sum to @p vsum (encap_ipip_var()). The
 * fields are composed in registers and stored whole: narrow stores cannot
 * be forwarded to the wider loads of a checksum over memory, and that
 * stall cost more than the rest of the encapsulation.
 */
static __rte_always_inline uint64_t
encap_ipip_w1(const struct encap_ipip_tmpl *t, uint32_t vsum)
{
	/* Under 2^19: no carry out. The two halves are summed in the upper
	 * one by adding the word rotated (the carry of the lower half is
	 * the end-around carry). */
	uint32_t s = t->sum + vsum;

	s += (s >> 16) | (s << 16);
	return rte_cpu_to_le_64(t->w1 | (uint64_t)(~s & 0xffff0000u));
}

/**
 * The outer header's first 16 bytes, checksum included, as the two
 * little-endian words @p w to store; the last 4 are @p t->dst.
 */
static __rte_always_inline void
encap_ipip_tmpl_words(const struct encap_ipip_tmpl *t, uint8_t tos,
		      uint16_t len, uint16_t ip_id, uint64_t w[2])
{
	w[1] = encap_ipip_w1(t, encap_ipip_var(tos, len, ip_id, &w[0]));
}

/** The outer header's words for one packet (encap_ipip_tmpl_words()). */
static __rte_always_inline void
encap_outer_words(uint8_t tos, uint16_t len, uint16_t ip_id, rte_be32_t src,
		  rte_be32_t dst, uint64_t w[2])
{
	struct encap_ipip_tmpl t;

	encap_ipip_tmpl_init(&t, src, dst);
	encap_ipip_tmpl_words(&t, tos, len, ip_id, w);
}

/**
 * Encapsulate @p m (as encap_ipip_push()), whose data starts at @p p, with
 * a template's header and the packet's part of it, @p w0 and @p vsum
 * (encap_ipip_var()); the headroom was tested. @return where the frame
 * now starts (room for the Ethernet header, then the outer header).
 */
static __rte_always_inline uint8_t *
encap_ipip_push_var(struct rte_mbuf *m, uint8_t *p,
		    const struct encap_ipip_tmpl *t, uint64_t w0, uint32_t vsum)
{
	uint64_t w1 = encap_ipip_w1(t, vsum);

	/* rte_pktmbuf_prepend() without its headroom test; the new start
	 * from the old, not reloaded from the mbuf. */
	m->data_off = (uint16_t)(m->data_off - ENCAP_IPIP_HLEN);
	m->data_len = (uint16_t)(m->data_len + ENCAP_IPIP_HLEN);
	m->pkt_len += ENCAP_IPIP_HLEN;
	p -= ENCAP_IPIP_HLEN;
	_Static_assert(offsetof(struct rte_ipv4_hdr, dst_addr) == 16,
		       "two words, then the destination");
	memcpy(p + sizeof(struct rte_ether_hdr), &w0, sizeof(w0));
	memcpy(p + sizeof(struct rte_ether_hdr) + 8, &w1, sizeof(w1));
	memcpy(p + sizeof(struct rte_ether_hdr) + 16, &t->dst, sizeof(t->dst));
	return p;
}

/**
 * encap_ipip_push_var() of a packet whose inner header has @p tos and
 * @p inner_len (read by the caller), with outer ID @p ip_id.
 */
static __rte_always_inline uint8_t *
encap_ipip_push_tmpl(struct rte_mbuf *m, const struct encap_ipip_tmpl *t,
		     uint8_t tos, uint16_t inner_len, uint16_t ip_id)
{
	uint64_t w0;
	uint32_t vsum = encap_ipip_var(tos, inner_len + ENCAP_IPIP_HLEN,
				       ip_id, &w0);

	return encap_ipip_push_var(m, rte_pktmbuf_mtod(m, uint8_t *), t, w0,
				   vsum);
}

/**
 * Encapsulate: @p m starts with an Ethernet header followed by the inner IPv4
 * packet. On return it starts with room for an Ethernet header, then the
 * outer IPv4 header, then the inner packet.
 * @return the outer header, or NULL when there is no headroom.
 */
static inline struct rte_ipv4_hdr *
encap_ipip_push(struct rte_mbuf *m, rte_be32_t src, rte_be32_t dst,
		uint16_t ip_id)
{
	const struct rte_ipv4_hdr *in = rte_pktmbuf_mtod_offset(
		m, const struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	uint8_t tos = in->type_of_service;
	uint16_t inner_len = rte_be_to_cpu_16(in->total_length);
	uint64_t w[2];

	if (rte_pktmbuf_prepend(m, ENCAP_IPIP_HLEN) == NULL)
		return NULL;
	struct rte_ipv4_hdr *out = rte_pktmbuf_mtod_offset(
		m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	encap_outer_words(tos, inner_len + ENCAP_IPIP_HLEN, ip_id, src, dst, w);
	_Static_assert(offsetof(struct rte_ipv4_hdr, dst_addr) == 16,
		       "two words, then the destination");
	memcpy(out, w, sizeof(w));
	memcpy(&out->dst_addr, &dst, sizeof(dst));
	return out;
}

/**
 * Decapsulate: @p m starts with an Ethernet header and an outer header of
 * @p outer_hlen bytes. On return it starts with room for an Ethernet header
 * followed by the inner packet.
 * @return the inner header.
 */
static inline struct rte_ipv4_hdr *
encap_ipip_pop(struct rte_mbuf *m, uint16_t outer_hlen)
{
	rte_pktmbuf_adj(m, outer_hlen);
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
				       sizeof(struct rte_ether_hdr));
}

#endif /* KDP_ENCAP_ENCAP_FAST_H */
