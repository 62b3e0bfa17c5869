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
 * flags, trims, the CRC hash) stays scalar. About 85 instructions a packet
 * remain.
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
 * loads: the source MAC and the (outer) IPv4 version/IHL byte. */
#define PL_X4_ETH_SRC 6
#define PL_X4_VHL 14
/* Second load: IPv4 bytes 16-31 (destination, ports, ...); 14 + 16 + 16. */
#define PL_X4_MIN_LEN (ETH_HLEN + 32)
/* The per-packet loops, unrolled: -O2 keeps them as loops over arrays in
 * memory otherwise. */
#define PL_X4_UNROLL _Pragma("GCC unroll 4")

/* What a burst's frames must match, built once per burst: a pod's
 * source (or, uplink, the node as the outer destination). */
struct pl_express_x4 {
	__m128i eth, eth_mask; /* source MAC (when known), EtherType, 0x45 */
	__m128i src;           /* that address as frames carry it */
	uint32_t src_h;        /* and in host order, for the pod's keys */
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

/* Lane i of out[j] is word j of in[i]: four packets' words side by side. */
static __rte_always_inline void pl_x4_transpose(const __m128i in[4],
						 __m128i out[4])
{
	__m128i t0 = _mm_unpacklo_epi32(in[0], in[1]);
	__m128i t1 = _mm_unpacklo_epi32(in[2], in[3]);
	__m128i t2 = _mm_unpackhi_epi32(in[0], in[1]);
	__m128i t3 = _mm_unpackhi_epi32(in[2], in[3]);

	out[0] = _mm_unpacklo_epi64(t0, t1);
	out[1] = _mm_unpackhi_epi64(t0, t1);
	out[2] = _mm_unpacklo_epi64(t2, t3);
	out[3] = _mm_unpackhi_epi64(t2, t3);
}

/* The ones' complement sum of five 32-bit words per lane, folded to 16
 * bits, tested against 0xffff: pl_ip_hdr_sum()'s test (2^16 = 1 modulo
 * 0xffff, so summing the 16-bit halves keeps the value; ten halves stay
 * under 2^20, two folds suffice). */
static __rte_always_inline __m128i
pl_x4_hdr_ok(__m128i w0, __m128i w1, __m128i w2, __m128i w3, __m128i w4)
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
	s = _mm_add_epi32(_mm_and_si128(s, lo16), _mm_srli_epi32(s, 16));
	return _mm_cmpeq_epi32(s, lo16);
}

/* Lanes whose address (as the frame carries it) pl_ip_is_special() calls
 * special: 0, broadcast, or multicast by its first byte. */
static __rte_always_inline __m128i pl_x4_special(__m128i a)
{
	const __m128i zero = _mm_setzero_si128();

	return _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi32(a, zero),
			     _mm_cmpeq_epi32(a, _mm_cmpeq_epi32(zero, zero))),
		_mm_cmpeq_epi32(_mm_and_si128(a, _mm_set1_epi32(0xf0)),
				_mm_set1_epi32(0xe0)));
}

/* Byte-swap each 32-bit lane: the frame's order to the host's. */
static __rte_always_inline __m128i pl_x4_bswap32(__m128i a)
{
	return _mm_shuffle_epi8(a, _mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11,
						 10, 9, 8, 15, 14, 13, 12));
}

/* The protocol byte of word 2 of an IPv4 header, per lane. */
static __rte_always_inline __m128i pl_x4_proto(__m128i w2)
{
	return _mm_and_si128(_mm_srli_epi32(w2, 8), _mm_set1_epi32(0xff));
}

/*
 * The conntrack keys of four UDP or TCP flows (acl_ct_key_words(), the
 * lower (address, port) side first) from host-order sources @p sh and
 * destinations @p dh, the ports word as the frame carries it and the
 * protocol; hashed, their slots prefetched (pl_express_slot()). @p l4:
 * each packet's transport header, for TCP's flags.
 */
static __rte_always_inline void
pl_x4_keys(__m128i sh, __m128i dh, __m128i ports, __m128i proto,
	   const uint8_t *const l4[4], struct pl_express_pkt *x,
	   const struct pl_express_ct *ct, const bool multi)
{
	const __m128i sign = _mm_set1_epi32((int)0x80000000);
	/* sport | dport << 16 and the swapped dport | sport << 16. */
	__m128i pa = _mm_shuffle_epi8(ports, _mm_setr_epi8(1, 0, 3, 2, 5, 4,
							  7, 6, 9, 8, 11, 10,
							  13, 12, 15, 14));
	__m128i pb = pl_x4_bswap32(ports);
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
	unsigned int tcpb = (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(
		_mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_TCP))));

	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		__m128i kw = (i & 1) ? _mm_unpackhi_epi64(k0[i >> 1], k1[i >> 1]) :
				       _mm_unpacklo_epi64(k0[i >> 1], k1[i >> 1]);
		uint64_t w[2] = {(uint64_t)_mm_cvtsi128_si64(kw),
				 (uint64_t)_mm_extract_epi64(kw, 1)};

		_mm_storeu_si128((__m128i *)x[i].w, kw);
		x[i].lo = (lob >> i) & 1;
		x[i].tcp_flags = (tcpb >> i) & 1 ? l4[i][13] : 0;
		pl_express_slot(&x[i], acl_ct_key_hash(w), ct, multi);
	}
}

/* The transport header of a packet with 20-byte IPv4 header(s). */
#define PL_X4_L4(p, hdrs) \
	((p) + ETH_HLEN + (hdrs) * sizeof(struct rte_ipv4_hdr))

/*
 * The scalar tests on one of the four frames, whose last IPv4 header (the
 * one keyed) is its @p hdrs th, of total length @p tlen: room for the
 * ports, no BAD flag from the NIC (GOOD is not taken: the sums are tested
 * anyway, and a GOOD header with a wrong sum goes to the one-packet pass,
 * which takes it), TCP's flags in the segment and the datagram, and the
 * Ethernet bytes @p v expects (EtherType, version and IHL, the MAC).
 */
static __rte_always_inline bool
pl_x4_frame_ok(const struct rte_mbuf *m, const uint8_t *p, unsigned int hdrs,
	       uint32_t len, uint32_t tlen, const struct pl_express_x4 *v)
{
	const uint32_t hl = sizeof(struct rte_ipv4_hdr);
	const uint32_t off = ETH_HLEN + (hdrs - 1) * hl;

	return tlen >= hl + 4 &&
	       (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) !=
		       RTE_MBUF_F_RX_IP_CKSUM_BAD &&
	       !(hdrs > 1 && (m->ol_flags & RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD)) &&
	       !(p[off + 9] == IPPROTO_TCP &&
		 RTE_MIN(len - off, tlen) < hl + 14) &&
	       _mm_testz_si128(_mm_xor_si128(
				       _mm_loadu_si128((const __m128i *)p),
				       v->eth),
			       v->eth_mask);
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
	const uint8_t *p[4], *l4[4];
	__m128i a[4], b[4], w[4], u[4];
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
		l4[i] = PL_X4_L4(p[i], 1);
		memcpy(&tl, p[i] + ETH_HLEN + 2, sizeof(tl));
		tlen[i] = rte_be_to_cpu_16(tl);
		/* data_len >= 46 and pkt_len >= data_len: no wrap. */
		avail[i] = rte_pktmbuf_pkt_len(m) - ETH_HLEN;
		if (unlikely(tlen[i] > avail[i] ||
			     !pl_x4_frame_ok(m, p[i], 1, len, tlen[i], v)))
			return false;
		a[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN));
		b[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN + 16));
	}
	/* w: the header's words 0-3 (version .. length; id, fragment; TTL,
	 * protocol, sum; source); u: 4-7 (destination; ports; ...). */
	pl_x4_transpose(a, w);
	pl_x4_transpose(b, u);

	/* Fragment offset 0 (bytes 6-7, the MF flag aside); the pod's
	 * source; a destination that is not special; UDP or TCP when
	 * tracked, anything but IPIP otherwise; the checksum. */
	const __m128i zero = _mm_setzero_si128();
	__m128i proto = pl_x4_proto(w[2]);
	__m128i good = _mm_and_si128(
		_mm_cmpeq_epi32(_mm_and_si128(w[1],
					      _mm_set1_epi32((int)0xff1f0000)),
				zero),
		_mm_cmpeq_epi32(w[3], v->src));
	good = _mm_andnot_si128(pl_x4_special(u[0]), good);
	good = track ? _mm_and_si128(good, _mm_or_si128(
			       _mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_UDP)),
			       _mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_TCP)))) :
		       _mm_andnot_si128(_mm_cmpeq_epi32(proto,
						       _mm_set1_epi32(IPPROTO_IPIP)),
					good);
	good = _mm_and_si128(good, pl_x4_hdr_ok(w[0], w[1], w[2], w[3], u[0]));
	if (_mm_movemask_ps(_mm_castsi128_ps(good)) != 0xf)
		return false;

	/* All four pass: commit, as the one-packet pass does. */
	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		if (avail[i] > tlen[i])
			rte_pktmbuf_trim(pkts[i], avail[i] - tlen[i]);
	}
	__m128i dh = pl_x4_bswap32(u[0]);
	_mm_storeu_si128((__m128i *)dst, dh);
	if (track)
		pl_x4_keys(_mm_set1_epi32((int)v->src_h), dh, u[1], proto, l4,
			   x, ct, multi);
	return true;
}

/* The uplink's frames: Ethernet, outer and inner IPv4 headers. Loads:
 * bytes 14-29 (outer words 0-3), 30-45 (outer destination, inner words
 * 0-2) and 46-61 (inner source, destination, ports, ...). */
#define PL_X4_UP_MIN_LEN (ETH_HLEN + 48)

/*
 * pl_express_uplink_one() for pkts[0..3] when all four pass: true, having
 * filled dst[0..3] and (when @p track) x[0..3]. The outer sources are
 * tested as there (pl_express_node_known(), @p node_src, @p node_ok).
 * False, having changed no frame, when any may not pass.
 */
static __rte_always_inline bool
pl_express_uplink_x4(const struct pl_tables *t, struct rte_mbuf **pkts,
		     const struct pl_express_x4 *v, bool track,
		     rte_be32_t *node_src, bool *node_ok,
		     struct pl_express_pkt *x, uint32_t *dst,
		     const struct pl_express_ct *ct, const bool multi)
{
	const uint8_t *p[4], *l4[4];
	__m128i a[4], b[4], c[4], o[4], oi[4], in[4];

	PL_X4_UNROLL
	for (unsigned int i = 0; i < 4; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_data_len(m);
		uint16_t otl, tl;

		if (unlikely(len < PL_X4_UP_MIN_LEN))
			return false;
		p[i] = rte_pktmbuf_mtod(m, const uint8_t *);
		l4[i] = PL_X4_L4(p[i], 2);
		memcpy(&otl, p[i] + ETH_HLEN + 2, sizeof(otl));
		memcpy(&tl, p[i] + ETH_HLEN + 20 + 2, sizeof(tl));
		uint32_t otlen = rte_be_to_cpu_16(otl);
		uint32_t tlen = rte_be_to_cpu_16(tl);
		/* As the one-packet pass: the inner datagram fills the outer
		 * exactly. */
		if (unlikely(otlen > rte_pktmbuf_pkt_len(m) - ETH_HLEN ||
			     tlen + sizeof(struct rte_ipv4_hdr) != otlen ||
			     !pl_x4_frame_ok(m, p[i], 2, len, tlen, v)))
			return false;
		rte_be32_t osrc;
		memcpy(&osrc, p[i] + ETH_HLEN + 12, sizeof(osrc));
		if (!pl_express_node_known(t, osrc, node_src, node_ok))
			return false;
		a[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN));
		b[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN + 16));
		c[i] = _mm_loadu_si128((const __m128i *)(p[i] + ETH_HLEN + 32));
	}
	/* o: outer words 0-3; oi: the outer destination, then inner words
	 * 0-2; in: inner words 3-6 (source, destination, ports, ...). */
	pl_x4_transpose(a, o);
	pl_x4_transpose(b, oi);
	pl_x4_transpose(c, in);

	const __m128i zero = _mm_setzero_si128();
	/* Outer: to this node, IPIP, no fragment (nor MF), its checksum.
	 * Inner: version 4 with 20 bytes, offset 0, addresses not special,
	 * UDP or TCP when tracked, its checksum. */
	__m128i good = _mm_and_si128(
		_mm_cmpeq_epi32(oi[0], v->src),
		_mm_cmpeq_epi32(pl_x4_proto(o[2]), _mm_set1_epi32(IPPROTO_IPIP)));
	good = _mm_and_si128(good, _mm_cmpeq_epi32(
		_mm_and_si128(o[1], _mm_set1_epi32((int)0xff3f0000)), zero));
	good = _mm_and_si128(good, _mm_cmpeq_epi32(
		_mm_and_si128(oi[1], _mm_set1_epi32(0xff)),
		_mm_set1_epi32(RTE_IPV4_VHL_DEF)));
	good = _mm_and_si128(good, _mm_cmpeq_epi32(
		_mm_and_si128(oi[2], _mm_set1_epi32((int)0xff1f0000)), zero));
	good = _mm_andnot_si128(_mm_or_si128(pl_x4_special(in[0]),
					     pl_x4_special(in[1])), good);
	__m128i proto = pl_x4_proto(oi[3]);
	if (track)
		good = _mm_and_si128(good, _mm_or_si128(
			_mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_UDP)),
			_mm_cmpeq_epi32(proto, _mm_set1_epi32(IPPROTO_TCP))));
	good = _mm_and_si128(good,
			     pl_x4_hdr_ok(o[0], o[1], o[2], o[3], oi[0]));
	good = _mm_and_si128(good,
			     pl_x4_hdr_ok(oi[1], oi[2], oi[3], in[0], in[1]));
	if (_mm_movemask_ps(_mm_castsi128_ps(good)) != 0xf)
		return false;

	__m128i dh = pl_x4_bswap32(in[1]);
	_mm_storeu_si128((__m128i *)dst, dh);
	if (track)
		pl_x4_keys(pl_x4_bswap32(in[0]), dh, in[2], proto, l4, x, ct,
			   multi);
	return true;
}
#endif /* __SSE4_1__ */

#endif /* KDP_PIPELINE_EXPRESS_X4_FAST_H */
