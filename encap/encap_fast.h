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
 * The outer header's first 16 bytes, checksum included, as the two
 * little-endian words @p w to store; the last 4 are @p dst. The fields are
 * composed in registers and stored whole: narrow stores cannot be
 * forwarded to the wider loads of a checksum over memory, and that stall
 * cost more than the rest of the encapsulation. Ones' complement sums do
 * not depend on byte order (RFC 1071), so the header's 32-bit pieces are
 * summed as they lie in memory and the folded sum is stored as it comes.
 */
static __rte_always_inline void
encap_outer_words(uint8_t tos, uint16_t len, uint16_t ip_id, rte_be32_t src,
		  rte_be32_t dst, uint64_t w[2])
{
	uint64_t w0 = RTE_IPV4_VHL_DEF | (uint64_t)tos << 8 |
		      (uint64_t)rte_cpu_to_be_16(len) << 16 |
		      (uint64_t)rte_cpu_to_be_16(ip_id) << 32 |
		      (uint64_t)rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) << 48;
	uint64_t w1 = ENCAP_OUTER_TTL | IPPROTO_IPIP << 8 |
		      (uint64_t)src << 32;
	/* Five 32-bit pieces: under 2^35, so three folds reach 16 bits
	 * (2^16 = 1 modulo 0xffff keeps the value of the sum). */
	uint64_t s = (w0 & 0xffffffff) + (w0 >> 32) + (w1 & 0xffffffff) +
		     (w1 >> 32) + dst;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	w[0] = rte_cpu_to_le_64(w0);
	w[1] = rte_cpu_to_le_64(w1 | (uint64_t)(uint16_t)~s << 16);
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
