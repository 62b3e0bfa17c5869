/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The express lanes' first pass four frames at a time (express_fast.h):
 * the pod lane's and the uplink lane's. Internal to express_fast.h, which
 * includes it after the lanes' types.
 *
 * Why: a forwarded packet's cost follows its instruction count on this
 * path (perf/PROFILE.md round 8), and the first pass -- the IPv4 headers'
 * tests and checksums, the source and MAC match or the node test, the
 * conntrack key -- took about 160 instructions a packet, one packet after
 * the other. With the four headers' 32-bit words side by side in SSE
 * registers, each test, the checksums' sums and the keys' canonical order
 * run once for four packets; only what is per mbuf (lengths, offload
 * flags, trims) stays scalar. About 85 instructions a packet remained; the
 * keys' hashes (acl_ct_key_hash()) have since moved into the vectors too.
 *
 * The four are taken only when every one passes; then exactly what the
 * one-frame pass (pl_express_pod_one(), pl_express_uplink_one()) would
 * have done to each is done. Otherwise no frame is changed and the caller
 * runs the one-frame pass on them, which finds where the lane's prefix
 * ends. The tests here are those of the one-frame pass or stricter (46 or
 * 62 bytes in the first segment, so that the 16-byte loads stay inside
 * the frame; a NIC's GOOD flag not taken), never looser:
 * tests/unit/pipeline/test_express.c compares the lanes with the general
 * stages on random and broken traffic.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_EXPRESS_X4_FAST_H
#define KDP_PIPELINE_EXPRESS_X4_FAST_H

#ifdef __SSE4_1__
#include <smmintrin.h>

/* Offsets in the first 16 bytes of a frame, which the Ethernet test
 * loads: the destination and source MACs and the (outer) IPv4
 * version/IHL byte. */
#define PL_X4_ETH_DST 0
#define PL_X4_ETH_SRC 6
#define PL_X4_VHL 14
/* Second load: IPv4 bytes 16-31 (destination, ports, ...); 14 + 16 + 16. */
#define PL_X4_MIN_LEN (PL_ETH_HLEN + 32)
/* The per-packet loops are unrolled (PL_XN_UNROLL, express_xn_fast.h):
 * -O2 keeps them as loops over arrays in memory otherwise. */

/* What a burst's frames must match, built once per burst: a pod's
 * source (or, uplink, the node as the outer destination). */
struct pl_express_x4 {
	/* uplink: the destination MAC; pod: the source MAC (when known);
	 * EtherType, 0x45 */
	__m128i eth, eth_mask;
	__m128i src;           /* that address as frames carry it */
	__m128i tun;           /* uplink: the tunnel IP (or 0), as carried */
	uint32_t src_h;        /* and in host order, for the pod's keys */
};

/* @p dst: the destination MAC every frame must have (the uplink's own:
 * the test costs nothing more in the vector compare), or NULL. */
static __rte_always_inline void
pl_express_x4_init(struct pl_express_x4 *v, rte_be32_t ip0, bool mac_known,
		   const struct rte_ether_addr *mac,
		   const struct rte_ether_addr *dst)
{
	uint8_t e[16] = {0}, mk[16] = {0};

	if (mac_known) {
		memcpy(e + PL_X4_ETH_SRC, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		memset(mk + PL_X4_ETH_SRC, 0xff, RTE_ETHER_ADDR_LEN);
	}
	if (dst != NULL) {
		memcpy(e + PL_X4_ETH_DST, dst->addr_bytes, RTE_ETHER_ADDR_LEN);
		memset(mk + PL_X4_ETH_DST, 0xff, RTE_ETHER_ADDR_LEN);
	}
	e[12] = RTE_ETHER_TYPE_IPV4 >> 8;
	e[13] = RTE_ETHER_TYPE_IPV4 & 0xff;
	e[PL_X4_VHL] = RTE_IPV4_VHL_DEF;
	memset(mk + 12, 0xff, 3);
	v->eth = _mm_loadu_si128((const __m128i *)e);
	v->eth_mask = _mm_loadu_si128((const __m128i *)mk);
	v->src = _mm_set1_epi32((int)ip0);
	v->tun = _mm_setzero_si128();
	v->src_h = rte_be_to_cpu_32(ip0);
}

/* The transport header of a packet with 20-byte IPv4 header(s). */
#define PL_X4_L4(p, hdrs) \
	((p) + PL_ETH_HLEN + (hdrs) * sizeof(struct rte_ipv4_hdr))

/*
 * The scalar tests on one of the frames, whose last IPv4 header (the one
 * keyed) is its @p hdrs th: no BAD flag from the NIC (GOOD is not taken:
 * the sums are tested anyway, and a GOOD header with a wrong sum goes to
 * the one-packet pass, which takes it), TCP's flags in the segment and
 * the datagram, and the Ethernet bytes @p v expects (EtherType, version
 * and IHL, the MAC: a pod's source, the uplink's destination). The lengths' tests (room for the ports, the
 * datagram within the frame) are the vector pass's; TCP's reads its
 * header's length here, as only TCP needs it.
 */
static __rte_always_inline bool
pl_x4_frame_ok(const struct rte_mbuf *m, const uint8_t *p, unsigned int hdrs,
	       uint32_t len, const struct pl_express_x4 *v)
{
	const uint32_t hl = sizeof(struct rte_ipv4_hdr);
	const uint32_t off = PL_ETH_HLEN + (hdrs - 1) * hl;

	return (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) !=
		       RTE_MBUF_F_RX_IP_CKSUM_BAD &&
	       !(hdrs > 1 && (m->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD)) &&
	       !(p[off + 9] == IPPROTO_TCP &&
		 RTE_MIN(len - off,
			 (uint32_t)(p[off + 2] << 8 | p[off + 3])) < hl + 14) &&
	       _mm_testz_si128(_mm_xor_si128(
				       _mm_loadu_si128((const __m128i *)p),
				       v->eth),
			       v->eth_mask);
}

/* The uplink's frames: Ethernet, outer and inner IPv4 headers. Loads:
 * bytes 14-29 (outer words 0-3), 30-45 (outer destination, inner words
 * 0-2) and 46-61 (inner source, destination, ports, ...). */
#define PL_X4_UP_MIN_LEN (PL_ETH_HLEN + 48)

/*
 * One frame's conntrack key @p kw (acl_ct_key_words()'s two words, as
 * the vector pass built them) stored, and its home slot found and
 * prefetched: @p slot with one worker, else from its @p hash
 * (acl_ct_key_hash()) with the owner (pl_express_slot()). Bit 0 of
 * @p lob: the lower side first; of @p tcpb: TCP, whose flags are read
 * from @p l4.
 */
static __rte_always_inline void
pl_x4_key_one(struct pl_express_pkt *x, __m128i kw, uint32_t hash,
	      struct acl_ct_entry *slot, unsigned int lob, unsigned int tcpb,
	      const uint8_t *l4, const struct pl_express_ct *ct,
	      const bool multi)
{
	_mm_storeu_si128((__m128i *)x->w, kw);
	x->lo = lob & 1;
	x->tcp_flags = (tcpb & 1) ? l4[13] : 0;
	if (multi) {
		pl_express_slot(x, hash, ct, multi);
		return;
	}
	x->e = slot;
	rte_prefetch0(slot);
}

#define PL_XN 4
#include "pipeline/express_xn_fast.h"
#undef PL_XN
#ifdef __AVX2__
#include <immintrin.h>
#define PL_XN 8
#include "pipeline/express_xn_fast.h"
#undef PL_XN
#endif

#endif /* __SSE4_1__ */

#endif /* KDP_PIPELINE_EXPRESS_X4_FAST_H */
