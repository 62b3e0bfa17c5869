/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The pod lane's first pass four packets at a time (express_fast.h).
 * Internal to express_fast.h, which includes it after the lane's types.
 *
 * Why: a forwarded packet's cost follows its instruction count on this
 * path (perf/PROFILE.md round 8), and the first pass -- the IPv4 header's
 * tests and checksum, the source and MAC match, the conntrack key -- took
 * about 160 instructions a packet, one packet after the other. With the
 * four headers' 32-bit words side by side in SSE registers, each test,
 * the checksum's sum and the key's canonical order run once for four
 * packets; only what is per mbuf (lengths, offload flags, trims, the CRC
 * hash) stays scalar. About 85 instructions a packet remain.
 *
 * The four are taken only when every one passes; then exactly what the
 * one-packet pass (pl_express_pod_one()) would have done to each is done.
 * Otherwise nothing is changed and the caller runs the one-packet pass on
 * them, which finds where the lane's prefix ends. The tests here are
 * those of the one-packet pass or stricter (46 bytes in the first segment,
 * so that the 16-byte loads stay inside the frame), never looser:
 * tests/unit/pipeline/test_express.c compares the lane with the general
 * stages on random and broken traffic.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_EXPRESS_X4_FAST_H
#define KDP_PIPELINE_EXPRESS_X4_FAST_H

#ifdef __SSE4_1__
#include <smmintrin.h>

/* The Ethernet bytes loaded with the IPv4 header's first two: 0-15. */
#define PL_X4_ETH_SRC 6
#define PL_X4_VHL 14
/* Second load: IPv4 bytes 16-31 (destination, ports, ...); 14 + 16 + 16. */
#define PL_X4_MIN_LEN (ETH_HLEN + 32)
/* The per-packet loops, unrolled: -O2 keeps them as loops over arrays in
 * memory otherwise. */
#define PL_X4_UNROLL _Pragma("GCC unroll 4")

/* What a burst of one pod's frames must match, built once per burst. */
struct pl_express_x4 {
	__m128i eth, eth_mask; /* source MAC (when known), EtherType, 0x45 */
	__m128i src;           /* the pod's address as frames carry it */
	uint32_t src_h;        /* and in host order, for the key */
};

static __rte_always_inline void
pl_express_x4_init(struct pl_express_x4 *v, rte_be32_t ip0, bool mac_known,
		   const struct rte_ether_addr *mac)
{
	uint8_t e[16] = {0}, mk[16] = {0};

	if (mac_known) {
		memcpy(e + PL_X4_ETH_SRC, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
		memset(mk + PL_X4_ETH_SRC, 0xff, RTE_ETHER_ADDR_LEN);
	}
	e[12] = RTE_ETHER_TYPE_IPV4 >> 8;
	e[13] = RTE_ETHER_TYPE_IPV4 & 0xff;
	e[PL_X4_VHL] = RTE_IPV4_VHL_DEF;
	memset(mk + 12, 0xff, 3);
	v->eth = _mm_loadu_si128((const __m128i *)e);
	v->eth_mask = _mm_loadu_si128((const __m128i *)mk);
	v->src = _mm_set1_epi32((int)ip0);
	v->src_h = rte_be_to_cpu_32(ip0);
}

/* The ones' complement sum of five 32-bit words per lane, folded to 16
 * bits: pl_ip_hdr_sum()'s value (2^16 = 1 modulo 0xffff, so summing the
 * 16-bit halves keeps it; ten halves stay under 2^20, two folds suffice). */
static __rte_always_inline __m128i
pl_x4_hdr_sum(__m128i w0, __m128i w1, __m128i w2, __m128i w3, __m128i w4)
{
	const __m128i lo16 = _mm_set1_epi32(0xffff);
	__m128i s = _mm_add_epi32(
		_mm_add_epi32(_mm_add_epi32(_mm_and_si128(w0, lo16),
					    _mm_and_si128(w1, lo16)),
			      _mm_add_epi32(_mm_and_si128(w2, lo16),
					    _mm_and_si128(w3, lo16))),
		_mm_and_si128(w4, lo16));

	s = _mm_add_epi32(s, _mm_add_epi32(
		_mm_add_epi32(_mm_add_epi32(_mm_srli_epi32(w0, 16),
					    _mm_srli_epi32(w1, 16)),
			      _mm_add_epi32(_mm_srli_epi32(w2, 16),
					    _mm_srli_epi32(w3, 16))),
		_mm_srli_epi32(w4, 16)));
	s = _mm_add_epi32(_mm_and_si128(s, lo16), _mm_srli_epi32(s, 16));
	return _mm_add_epi32(_mm_and_si128(s, lo16), _mm_srli_epi32(s, 16));
}

/*
 * pl_express_pod_one() for pkts[0..3] when all four pass, with conntrack
 * keys when @p track: true, having trimmed them and filled dst[0..3] and
 * x[0..3]. False, having changed nothing, when any may not pass.
 */
static __rte_always_inline bool
pl_express_pod_x4(struct rte_mbuf **pkts, const struct pl_express_x4 *v,
		  bool track, struct pl_express_pkt *x, uint32_t *dst,
		  const struct pl_express_ct *ct, const bool multi)
{
	const uint8_t *p[4];
	__m128i a[4], b[4];
	uint32_t tlen[4], avail[4];

	/* The per-mbuf tests, as branches: they predict, and an early
	 * return has changed nothing yet. */
	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_data_len(m);
		uint16_t tl;

		if (unlikely(len < PL_X4_MIN_LEN))
			return false;
		p[i] = rte_pktmbuf_mtod(m, const uint8_t *);
		memcpy(&tl, p[i] + ETH_HLEN + 2, sizeof(tl));
		tlen[i] = rte_be_to_cpu_16(tl);
		/* data_len >= 46 and pkt_len >= data_len: no wrap. */
		avail[i] = rte_pktmbuf_pkt_len(m) - ETH_HLEN;
		/* The NIC's word on the checksum: BAD ends the four here; GOOD
		 * is not taken, the sum is tested anyway (a GOOD header with
		 * a wrong sum goes to the one-packet pass, which takes it). */
		if (unlikely(tlen[i] < sizeof(struct rte_ipv4_hdr) + 4 ||
			     tlen[i] > avail[i] ||
			     (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
				     RTE_MBUF_F_RX_IP_CKSUM_BAD ||
			     /* TCP: the flags in the segment and datagram. */
			     (p[i][ETH_HLEN + 9] == IPPROTO_TCP &&
			      RTE_MIN(len - ETH_HLEN, tlen[i]) <
				      sizeof(struct rte_ipv4_hdr) + 14)))
			return false;
		__m128i e = _mm_loadu_si128((const __m128i *)p[i]);
		if (unlikely(!_mm_testz_si128(_mm_xor_si128(e, v->eth),
					      v->eth_mask)))
			return false;
		a[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN));
		b[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN + 16));
	}

	/* Transpose: lane i of W[j] is packet i's IPv4 word j. */
	__m128i t0 = _mm_unpacklo_epi32(a[0], a[1]);
	__m128i t1 = _mm_unpacklo_epi32(a[2], a[3]);
	__m128i t2 = _mm_unpackhi_epi32(a[0], a[1]);
	__m128i t3 = _mm_unpackhi_epi32(a[2], a[3]);
	__m128i u0 = _mm_unpacklo_epi32(b[0], b[1]);
	__m128i u1 = _mm_unpacklo_epi32(b[2], b[3]);
	__m128i w0 = _mm_unpacklo_epi64(t0, t1);  /* version .. length */
	__m128i w1 = _mm_unpackhi_epi64(t0, t1);  /* id, fragment */
	__m128i w2 = _mm_unpacklo_epi64(t2, t3);  /* TTL, protocol, sum */
	__m128i w3 = _mm_unpackhi_epi64(t2, t3);  /* source */
	__m128i d = _mm_unpacklo_epi64(u0, u1);   /* destination */
	__m128i ports = _mm_unpackhi_epi64(u0, u1);
	const __m128i zero = _mm_setzero_si128();
	const __m128i ones = _mm_cmpeq_epi32(zero, zero);

	/* Fragment offset 0 (bytes 6-7, the MF flag aside); the pod's
	 * source; a destination neither 0, broadcast nor multicast
	 * (pl_ip_is_special(), on the address's first byte); UDP or TCP when
	 * tracked, anything but IPIP otherwise. */
	__m128i proto = _mm_and_si128(_mm_srli_epi32(w2, 8),
				      _mm_set1_epi32(0xff));
	__m128i good = _mm_and_si128(
		_mm_cmpeq_epi32(_mm_and_si128(w1, _mm_set1_epi32((int)0xff1f0000)),
				zero),
		_mm_cmpeq_epi32(w3, v->src));
	__m128i special = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi32(d, zero), _mm_cmpeq_epi32(d, ones)),
		_mm_cmpeq_epi32(_mm_and_si128(d, _mm_set1_epi32(0xf0)),
				_mm_set1_epi32(0xe0)));
	__m128i udp = _mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_UDP));
	__m128i tcp = _mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_TCP));
	good = _mm_andnot_si128(special, good);
	good = track ? _mm_and_si128(good, _mm_or_si128(udp, tcp)) :
		       _mm_andnot_si128(_mm_cmpeq_epi32(proto,
						       _mm_set1_epi32(IPPROTO_IPIP)),
					good);
	__m128i sum_ok = _mm_cmpeq_epi32(pl_x4_hdr_sum(w0, w1, w2, w3, d),
					 _mm_set1_epi32(0xffff));
	unsigned int g = (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(good));
	unsigned int s = (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(sum_ok));
	if ((g & s) != 0xf)
		return false;

	/* All four pass: commit, as the one-packet pass does. */
	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		if (avail[i] > tlen[i])
			rte_pktmbuf_trim(pkts[i], avail[i] - tlen[i]);
	}
	const __m128i bswap32 = _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4,
					      11, 10, 9, 8, 15, 14, 13, 12);
	__m128i dh = _mm_shuffle_epi8(d, bswap32);
	_mm_storeu_si128((__m128i *)dst, dh);
	if (!track)
		return true;

	/* The key (acl_ct_key_words()): the lower (address, port) side
	 * first. The source is the pod's, the same in every lane. */
	const __m128i sign = _mm_set1_epi32((int)0x80000000);
	const __m128i sh = _mm_set1_epi32((int)v->src_h);
	/* sport | dport << 16 and the swapped dport | sport << 16. */
	__m128i pa = _mm_shuffle_epi8(ports, _mm_setr_epi8(1, 0, 3, 2, 5, 4,
							  7, 6, 9, 8, 11, 10,
							  13, 12, 15, 14));
	__m128i pb = _mm_shuffle_epi8(ports, bswap32);
	__m128i sp_gt_dp = _mm_cmpgt_epi32(
		_mm_and_si128(pa, _mm_set1_epi32(0xffff)),
		_mm_srli_epi32(pa, 16));
	__m128i lo = _mm_or_si128(
		_mm_cmpgt_epi32(_mm_xor_si128(dh, sign), _mm_xor_si128(sh, sign)),
		_mm_andnot_si128(sp_gt_dp, _mm_cmpeq_epi32(dh, sh)));
	__m128i first = _mm_blendv_epi8(dh, sh, lo);
	__m128i second = _mm_blendv_epi8(sh, dh, lo);
	__m128i pw = _mm_blendv_epi8(pb, pa, lo);
	__m128i k0[2] = {_mm_unpacklo_epi32(first, second),
			 _mm_unpackhi_epi32(first, second)};
	__m128i k1[2] = {_mm_unpacklo_epi32(pw, proto),
			 _mm_unpackhi_epi32(pw, proto)};
	unsigned int lob = (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(lo));

	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		__m128i kw = (i & 1) ? _mm_unpackhi_epi64(k0[i >> 1], k1[i >> 1]) :
				       _mm_unpacklo_epi64(k0[i >> 1], k1[i >> 1]);
		uint64_t w[2] = {(uint64_t)_mm_cvtsi128_si64(kw),
				 (uint64_t)_mm_extract_epi64(kw, 1)};

		_mm_storeu_si128((__m128i *)x[i].w, kw);
		x[i].hash = acl_ct_key_hash(w);
		x[i].lo = (lob >> i) & 1;
		x[i].tcp_flags = p[i][ETH_HLEN + 9] == IPPROTO_TCP ?
			p[i][ETH_HLEN + sizeof(struct rte_ipv4_hdr) + 13] : 0;
		pl_express_slot(&x[i], ct, multi);
	}
	return true;
}
#endif /* __SSE4_1__ */

#endif /* KDP_PIPELINE_EXPRESS_X4_FAST_H */
