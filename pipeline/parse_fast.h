/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Header validation for the workers. Each check names the drop reason it
 * fails with, so that every malformed packet is counted exactly once.
 */
#ifndef KDP_PIPELINE_PARSE_FAST_H
#define KDP_PIPELINE_PARSE_FAST_H

#include <stdbool.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dp/drop.h"

/**
 * A MAC address as a 4-byte and a 2-byte word, so that a frame's address is
 * matched against it with one load and compare of each (pl_mac_is()).
 */
struct pl_mac_key {
	uint32_t lo; /**< bytes 0-3 as they lie in memory */
	uint16_t hi; /**< bytes 4-5 */
};

static inline struct pl_mac_key pl_mac_key(const struct rte_ether_addr *a)
{
	struct pl_mac_key k;

	memcpy(&k.lo, a->addr_bytes, sizeof(k.lo));
	memcpy(&k.hi, a->addr_bytes + 4, sizeof(k.hi));
	return k;
}

/** Is @p a the address of @p k? */
static __rte_always_inline bool pl_mac_is(const struct rte_ether_addr *a,
					  struct pl_mac_key k)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, a->addr_bytes, sizeof(lo));
	memcpy(&hi, a->addr_bytes + 4, sizeof(hi));
	return ((lo ^ k.lo) | (uint32_t)(uint16_t)(hi ^ k.hi)) == 0;
}

/**
 * What Linux's eth_type_trans() tells of a frame from the uplink by its
 * destination MAC, as ip_rcv() and ip_forward() act on it, for a frame
 * whose destination is not the uplink's own MAC (pl_mac_is()): unicast to
 * another host is dropped before anything else is looked at
 * (PACKET_OTHERHOST: the NIC is promiscuous, dp/port.c), and so is IPv4 in
 * a broadcast or multicast frame, which Linux never forwards (ip_forward():
 * pkt_type != PACKET_HOST) and kdp does not give the host either (README
 * "Uplink"). ARP and the other EtherTypes of such frames go on, to be
 * punted or counted under their own reasons. DP_DROP_MAX: goes on.
 */
static __rte_always_inline enum dp_drop
pl_uplink_l2(const struct rte_ether_hdr *eth)
{
	if (!rte_is_multicast_ether_addr(&eth->dst_addr))
		return DP_DROP_L2_OTHER_HOST;
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return DP_DROP_L2_NOT_UNICAST;
	return DP_DROP_MAX;
}

/** True for addresses a unicast packet must never carry as source or dest. */
static __rte_always_inline bool pl_ip_is_special(rte_be32_t a)
{
	uint32_t h = rte_be_to_cpu_32(a);
	/* h + 1 <= 1: 0 or 255.255.255.255; then 224/4 */
	return (uint32_t)(h + 1) <= 1 || (h >> 28) == 0xe;
}

/**
 * True for a source no router forwards (RFC 1812 5.3.7, and Linux's
 * martian sources): pl_ip_is_special()'s, and any on network 0 or on the
 * loopback network 127. Destinations on those networks have no route
 * (control/compile.c), which costs the hot path nothing; the pod lanes
 * match the source against the pod's address instead.
 */
static __rte_always_inline bool pl_ip_src_is_bad(rte_be32_t a)
{
	uint32_t net = rte_be_to_cpu_32(a) >> 24;

	return net == 0 || net == 127 || pl_ip_is_special(a);
}

/**
 * Ones' complement sum of the @p hlen bytes at @p hdr (a multiple of 4),
 * folded to 16 bits: the same value as rte_raw_cksum(). The IPv4 header is
 * almost always 20 bytes; rte_raw_cksum's generic 16-bit loop was the
 * largest single cost of a forwarded packet, so 32-bit words are summed
 * into a 64-bit accumulator (the ones' complement sum does not depend on
 * how the words are grouped).
 */
static inline uint32_t pl_load32(const uint8_t *p)
{
	uint32_t v;

	/* The IP header sits 2 bytes off alignment after Ethernet: memcpy is
	 * a plain (unaligned) load on x86 and defined behaviour in C. */
	memcpy(&v, p, sizeof(v));
	return v;
}

static __rte_always_inline uint16_t pl_ip_hdr_sum(const void *hdr, uint32_t hlen)
{
	const uint8_t *b = hdr;
	uint64_t s = (uint64_t)pl_load32(b) + pl_load32(b + 4) +
		     pl_load32(b + 8) + pl_load32(b + 12) + pl_load32(b + 16);

	for (uint32_t i = 20; i + 4 <= hlen; i += 4)
		s += pl_load32(b + i);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/** The checksum field value for an IPv4 header (as rte_ipv4_cksum()). */
static inline uint16_t pl_ipv4_cksum(const struct rte_ipv4_hdr *ip)
{
	return (uint16_t)~pl_ip_hdr_sum(ip, (ip->version_ihl & 0xf) * 4u);
}

/*
 * The options of an IPv4 header (RFC 791 3.1), @p len bytes at @p o:
 * each well formed, and no source route. RFC 7126 (4.3.4, 4.4.4) has
 * routers drop LSRR and SSRR by default: they let a sender steer traffic
 * around filters (Linux drops them too, with accept_source_route 0).
 * Other options pass unchanged, Record Route and Timestamp unprocessed
 * (RFC 7126 4.5, 4.11 allow it). Out of line: only headers longer than
 * 20 bytes come here.
 */
static __rte_noinline enum dp_drop
pl_ipv4_options(const uint8_t *o, uint32_t len)
{
	for (uint32_t i = 0; i < len;) {
		uint8_t type = o[i];

		if (type == 0) /* End of Option List: the rest is padding */
			break;
		if (type == 1) { /* No Operation */
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i)
			return DP_DROP_IP_OPTIONS;
		if (type == 0x83 || type == 0x89) /* LSRR, SSRR */
			return DP_DROP_IP_SOURCE_ROUTE;
		i += o[i + 1];
	}
	return DP_DROP_MAX;
}

/**
 * Validate the IPv4 header at offset @p off of @p m, and trim Ethernet
 * padding so that the packet ends where the IP datagram does.
 * @return DP_DROP_MAX when valid, else the drop reason.
 */
static inline enum dp_drop
pl_ipv4_check(struct rte_mbuf *m, uint32_t off, bool check_addrs)
{
	uint32_t avail = rte_pktmbuf_pkt_len(m) - off;

	if (unlikely(avail < sizeof(struct rte_ipv4_hdr) ||
		     rte_pktmbuf_data_len(m) < off + sizeof(struct rte_ipv4_hdr)))
		return DP_DROP_RUNT;
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, off);
	if (unlikely((ip->version_ihl >> 4) != 4))
		return DP_DROP_IP_VERSION;
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;
	if (unlikely(hlen < sizeof(struct rte_ipv4_hdr)))
		return DP_DROP_IP_IHL;
	uint32_t tlen = rte_be_to_cpu_16(ip->total_length);
	if (unlikely(tlen < hlen || tlen > avail ||
		     rte_pktmbuf_data_len(m) < off + hlen))
		return DP_DROP_IP_LEN;
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (ck == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return DP_DROP_IP_CKSUM;
	if (ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    unlikely(pl_ip_hdr_sum(ip, hlen) != 0xffff))
		return DP_DROP_IP_CKSUM;
	if (unlikely(hlen > sizeof(*ip))) {
		enum dp_drop why = pl_ipv4_options((const uint8_t *)(ip + 1),
						   hlen - sizeof(*ip));
		if (why != DP_DROP_MAX)
			return why;
	}
	/* Offset is in 8-byte units; the datagram may not pass 64 KiB. */
	uint32_t fo = (rte_be_to_cpu_16(ip->fragment_offset) &
		       RTE_IPV4_HDR_OFFSET_MASK) * 8u;
	if (unlikely(fo + tlen - hlen > 65535))
		return DP_DROP_FRAG_BAD;
	if (check_addrs) {
		if (unlikely(pl_ip_src_is_bad(ip->src_addr)))
			return DP_DROP_IP_BAD_SRC;
		if (unlikely(pl_ip_is_special(ip->dst_addr)))
			return DP_DROP_IP_BAD_DST;
	}
	if (avail > tlen)
		rte_pktmbuf_trim(m, avail - tlen);
	return DP_DROP_MAX;
}

/**
 * The IPv4 header at offset @p off of @p m is the one nearly every packet
 * has (20 bytes in the first segment, not a fragment) and passes a short
 * list of tests that imply all of pl_ipv4_check(@p m, @p off, true)'s.
 * Changes nothing; @p tlen gets the total length. False says nothing
 * about the packet: pl_ipv4_check() names what is wrong, if anything.
 * Shared by pl_ipv4_check_fast() and the express lane (express_fast.h).
 * A caller that has already matched the source against an address known
 * not to be bad (pl_ip_src_is_bad()) passes @p src_known (a constant) to
 * skip that test.
 */
static __rte_always_inline bool
pl_ipv4_common_src(const struct rte_mbuf *m, uint32_t off, uint32_t *tlen,
		   const bool src_known)
{
	if (unlikely(rte_pktmbuf_data_len(m) < off + sizeof(struct rte_ipv4_hdr)))
		return false;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
		m, const struct rte_ipv4_hdr *, off);
	uint32_t avail = rte_pktmbuf_pkt_len(m) - off;
	uint64_t ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

	*tlen = rte_be_to_cpu_16(ip->total_length);
	return ip->version_ihl == RTE_IPV4_VHL_DEF &&
	       *tlen >= sizeof(*ip) && *tlen <= avail &&
	       !(ip->fragment_offset &
		 rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) &&
	       ck != RTE_MBUF_F_RX_IP_CKSUM_BAD &&
	       (ck == RTE_MBUF_F_RX_IP_CKSUM_GOOD ||
		pl_ip_hdr_sum(ip, sizeof(*ip)) == 0xffff) &&
	       (src_known || !pl_ip_src_is_bad(ip->src_addr)) &&
	       !pl_ip_is_special(ip->dst_addr);
}

static __rte_always_inline bool
pl_ipv4_common(const struct rte_mbuf *m, uint32_t off, uint32_t *tlen)
{
	return pl_ipv4_common_src(m, off, tlen, false);
}

/**
 * pl_ipv4_check(@p m, @p off, true) for the workers' hot path: the common
 * header (pl_ipv4_common()) passes at once, anything else goes to
 * pl_ipv4_check(), which names the drop reason. Same result, same
 * trimming.
 */
static __rte_always_inline enum dp_drop
pl_ipv4_check_fast(struct rte_mbuf *m, uint32_t off)
{
	uint32_t tlen, avail = rte_pktmbuf_pkt_len(m) - off;

	if (likely(pl_ipv4_common(m, off, &tlen))) {
		if (avail > tlen)
			rte_pktmbuf_trim(m, avail - tlen);
		return DP_DROP_MAX;
	}
	return pl_ipv4_check(m, off, true);
}

/**
 * Decrement TTL and patch the checksum incrementally (RFC 1624; the same
 * arithmetic as Linux's ip_decrease_ttl).
 */
static __rte_always_inline void pl_ipv4_dec_ttl(struct rte_ipv4_hdr *ip)
{
	/* Linux's check += htons(0x0100); check += check >= 0xffff, on the
	 * field as read on a little-endian CPU (+1), without the compare:
	 * the carry out of c + 2 is 1 exactly when c + 1 >= 0xffff.
	 * test_encap_fast_cksum compares both for every value. */
	_Static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN,
		       "the field read little-endian");
	uint32_t c = ip->hdr_checksum;

	ip->hdr_checksum = (uint16_t)(c + 1 + ((c + 2) >> 16));
	ip->time_to_live--;
}

/**
 * pl_ipv4_dec_ttl() on an IPv4 header's bytes 8-11 (TTL, protocol,
 * checksum) read as the little-endian word @p w2, TTL above 1: the word to
 * store back. The express lanes compute it in their first pass
 * (express_xn_fast.h, in vectors: the same arithmetic), so that the
 * second stores one word. test_encap_fast_cksum compares it with
 * pl_ipv4_dec_ttl() for every checksum.
 */
static __rte_always_inline uint32_t pl_ipv4_ttl_word(uint32_t w2)
{
	/* + 0x10000 - 1: the TTL byte less 1 (no borrow above 1) and the
	 * checksum, bits 16-31, plus 1; then pl_ipv4_dec_ttl()'s carry
	 * (checksum 0xfffe or 0xffff), whose own carry out of bit 31 is
	 * dropped as the 16-bit store drops it. */
	return w2 + 0xffff + ((w2 >> 17) == 0x7fff ? 0x10000 : 0);
}

/**
 * Set the TOS byte of @p ip to @p tos, patching the checksum incrementally
 * (RFC 1624: HC' = ~(~HC + ~m + m'), m the header's first 16-bit word).
 */
static inline void pl_ipv4_set_tos(struct rte_ipv4_hdr *ip, uint8_t tos)
{
	uint16_t m = (uint16_t)(ip->version_ihl << 8 | ip->type_of_service);
	uint16_t m2 = (uint16_t)(ip->version_ihl << 8 | tos);
	uint32_t s = (uint16_t)~rte_be_to_cpu_16(ip->hdr_checksum) +
		     (uint32_t)(uint16_t)~m + m2;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~s);
	ip->type_of_service = tos;
}

/**
 * RFC 6040 4.2 (Figure 4): the inner header's ECN field at a tunnel's
 * egress, from the inner @p in and outer @p out ECN fields: -1 for a
 * packet to drop (Not-ECT under CE: the endpoints could not see the
 * congestion mark). Else CE from the outer header, ECT(1) over ECT(0),
 * and the inner field in every other case.
 */
static __rte_always_inline int pl_ecn_decap(uint8_t in, uint8_t out)
{
	const uint8_t not_ect = 0, ect1 = 1, ect0 = 2, ce = 3;

	if (in == not_ect)
		return out == ce ? -1 : not_ect;
	if (out == ce)
		return ce;
	if (out == ect1 && in == ect0)
		return ect1;
	return in;
}

#endif /* KDP_PIPELINE_PARSE_FAST_H */
