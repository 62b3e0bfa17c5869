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

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#define ENCAP_IPIP_HLEN ((uint16_t)sizeof(struct rte_ipv4_hdr))
#define ENCAP_OUTER_TTL 64

/**
 * The outer header's checksum (what rte_ipv4_cksum() gives), summed from
 * the field values rather than read back from the header just written:
 * those narrow stores cannot be forwarded to the wider loads of a
 * checksum over memory, and the stall cost more than the rest of the
 * encapsulation. Ones' complement sums do not depend on byte order
 * (RFC 1071), so host-order words are summed and the result swapped.
 */
static inline rte_be16_t encap_outer_cksum(uint8_t tos, uint16_t len,
					   uint16_t ip_id, rte_be32_t src,
					   rte_be32_t dst)
{
	uint32_t a = rte_be_to_cpu_32(src), b = rte_be_to_cpu_32(dst);
	uint32_t s = (RTE_IPV4_VHL_DEF << 8) + tos + len + ip_id +
		     RTE_IPV4_HDR_DF_FLAG + (ENCAP_OUTER_TTL << 8) +
		     IPPROTO_IPIP + (a >> 16) + (a & 0xffff) + (b >> 16) +
		     (b & 0xffff);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return rte_cpu_to_be_16((uint16_t)~s);
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

	if (rte_pktmbuf_prepend(m, ENCAP_IPIP_HLEN) == NULL)
		return NULL;
	struct rte_ipv4_hdr *out = rte_pktmbuf_mtod_offset(
		m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	out->version_ihl = RTE_IPV4_VHL_DEF;
	out->type_of_service = tos;
	out->total_length = rte_cpu_to_be_16(inner_len + ENCAP_IPIP_HLEN);
	out->packet_id = rte_cpu_to_be_16(ip_id);
	out->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	out->time_to_live = ENCAP_OUTER_TTL;
	out->next_proto_id = IPPROTO_IPIP;
	out->src_addr = src;
	out->dst_addr = dst;
	out->hdr_checksum = encap_outer_cksum(tos, inner_len + ENCAP_IPIP_HLEN,
					      ip_id, src, dst);
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
