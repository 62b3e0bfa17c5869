/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The express lanes' first pass, PL_XN frames at a time: a template that
 * express_x4_fast.h includes once with PL_XN 4 (SSE4.1) and, where the
 * code is compiled for AVX2 (pipeline/burst.h), again with PL_XN 8. The
 * vectors hold one 32-bit word of each frame per lane; for eight frames,
 * frame i and frame i + 4 share a row (PL_V_ROW()), so that the
 * in-lane unpacks of the transpose put frames 0-3 in the low 128 bits and
 * 4-7 in the high ones, in order. What is per mbuf stays scalar, and each
 * frame is tested as in the four-frame pass, no looser.
 *
 * Why eight: the vector part of the pass is the same instruction count
 * for eight frames as for four (express_fast.h pl_express_pass1()).
 *
 * Not a header of its own: no include guard, and every macro it defines
 * is undefined at its end.
 */

#if PL_XN == 4
#define PL_XV __m128i
#define PL_V(op) _mm_##op
#define PL_V_AND _mm_and_si128
#define PL_V_ANDNOT _mm_andnot_si128
#define PL_V_OR _mm_or_si128
#define PL_V_XOR _mm_xor_si128
#define PL_V_ZERO _mm_setzero_si128
#define PL_V_BYTES(...) _mm_setr_epi8(__VA_ARGS__)
#define PL_V_MASK(a) _mm_movemask_ps(_mm_castsi128_ps(a))
#define PL_V_STORE(p, a) _mm_storeu_si128((__m128i *)(p), (a))
#define PL_V_LOAD(p) _mm_loadu_si128((const __m128i *)(p))
/* Row r of the transpose's input (rows, r = frame mod 4) gets frame @p i's
 * 16 bytes at @p ptr; loaded in the per-frame loop, as the frame's
 * address is at hand there. */
#define PL_V_ROW(rows, i, ptr) \
	((rows)[i] = _mm_loadu_si128((const __m128i *)(ptr)))
#define PL_V_LO128(a) (a)
#define PL_V_FROM128(a) (a)
#define PL_XN_UNROLL _Pragma("GCC unroll 4")
#define PL_V_IOTA _mm_setr_epi32(0, 1, 2, 3)
#elif PL_XN == 8
#define PL_XV __m256i
#define PL_V(op) _mm256_##op
#define PL_V_AND _mm256_and_si256
#define PL_V_ANDNOT _mm256_andnot_si256
#define PL_V_OR _mm256_or_si256
#define PL_V_XOR _mm256_xor_si256
#define PL_V_ZERO _mm256_setzero_si256
/* Byte shuffles act in each 128-bit half: the same 16 bytes twice. */
#define PL_V_BYTES(...) _mm256_setr_epi8(__VA_ARGS__, __VA_ARGS__)
#define PL_V_MASK(a) _mm256_movemask_ps(_mm256_castsi256_ps(a))
#define PL_V_STORE(p, a) _mm256_storeu_si256((__m256i *)(p), (a))
#define PL_V_LOAD(p) _mm256_loadu_si256((const __m256i *)(p))
/* Frame r's 16 bytes in the low half of row r, frame r + 4's in the
 * high one (@p i a constant of the unrolled loop). */
#define PL_V_ROW(rows, i, ptr)                                         \
	((i) < 4 ?                                                      \
	 (void)((rows)[(i) & 3] = _mm256_castsi128_si256(               \
			 _mm_loadu_si128((const __m128i *)(ptr)))) :    \
	 (void)((rows)[(i) & 3] = _mm256_inserti128_si256(              \
			 (rows)[(i) & 3],                               \
			 _mm_loadu_si128((const __m128i *)(ptr)), 1)))
#define PL_V_LO128(a) _mm256_castsi256_si128(a)
#define PL_V_FROM128(a) _mm256_broadcastsi128_si256(a)
#define PL_XN_UNROLL _Pragma("GCC unroll 8")
/* Frame i's lane: i in the low half, then i - 4 in the high one. */
#define PL_V_IOTA _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#else
#error "PL_XN: 4 or 8"
#endif
#define PL_V_ALL ((1 << PL_XN) - 1)
#define PL_V_SET(x) PL_V(set1_epi32)(x)
#define PL_V_EQ(a, b) PL_V(cmpeq_epi32)(a, b)
#define PL_V_ADD(a, b) PL_V(add_epi32)(a, b)
#define PL_V_SRL(a, n) PL_V(srli_epi32)(a, n)
#define PL_V_MUL(a, b) PL_V(mullo_epi32)(a, b)
#define PL_XNF_(a, n) a##_x##n
#define PL_XNF__(a, n) PL_XNF_(a, n)
/* The name of this width's copy of a function: name_x4, name_x8. */
#define PL_XNF(a) PL_XNF__(a, PL_XN)

/* Lane i of out[j] is word j of in[i] (in each 128-bit half): the
 * packets' words side by side. */
static __rte_always_inline void
PL_XNF(pl_xv_transpose)(const PL_XV in[4], PL_XV out[4])
{
	PL_XV t0 = PL_V(unpacklo_epi32)(in[0], in[1]);
	PL_XV t1 = PL_V(unpacklo_epi32)(in[2], in[3]);
	PL_XV t2 = PL_V(unpackhi_epi32)(in[0], in[1]);
	PL_XV t3 = PL_V(unpackhi_epi32)(in[2], in[3]);

	out[0] = PL_V(unpacklo_epi64)(t0, t1);
	out[1] = PL_V(unpackhi_epi64)(t0, t1);
	out[2] = PL_V(unpacklo_epi64)(t2, t3);
	out[3] = PL_V(unpackhi_epi64)(t2, t3);
}

/* The ones' complement sum of five 32-bit words per lane, folded to 16
 * bits, tested against 0xffff: pl_ip_hdr_sum()'s test (2^16 = 1 modulo
 * 0xffff, so summing the 16-bit halves keeps the value; ten halves stay
 * under 2^20, two folds suffice). */
static __rte_always_inline PL_XV
PL_XNF(pl_xv_hdr_ok)(PL_XV w0, PL_XV w1, PL_XV w2, PL_XV w3, PL_XV w4)
{
	const PL_XV lo16 = PL_V_SET(0xffff);
	PL_XV s = PL_V_ADD(
		PL_V_ADD(PL_V_ADD(PL_V_AND(w0, lo16), PL_V_AND(w1, lo16)),
			 PL_V_ADD(PL_V_AND(w2, lo16), PL_V_AND(w3, lo16))),
		PL_V_AND(w4, lo16));

	s = PL_V_ADD(s, PL_V_ADD(
		PL_V_ADD(PL_V_ADD(PL_V_SRL(w0, 16), PL_V_SRL(w1, 16)),
			 PL_V_ADD(PL_V_SRL(w2, 16), PL_V_SRL(w3, 16))),
		PL_V_SRL(w4, 16)));
	s = PL_V_ADD(PL_V_AND(s, lo16), PL_V_SRL(s, 16));
	s = PL_V_ADD(PL_V_AND(s, lo16), PL_V_SRL(s, 16));
	return PL_V_EQ(s, lo16);
}

/* Lanes whose address (as the frame carries it) pl_ip_is_special() calls
 * special: 0, broadcast, or multicast by its first byte. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_special)(PL_XV a)
{
	const PL_XV zero = PL_V_ZERO();

	return PL_V_OR(PL_V_OR(PL_V_EQ(a, zero),
			       PL_V_EQ(a, PL_V_EQ(zero, zero))),
		       PL_V_EQ(PL_V_AND(a, PL_V_SET(0xf0)), PL_V_SET(0xe0)));
}

/* Lanes whose source address pl_ip_src_is_bad() refuses: special, or on
 * network 0 or 127 by its first byte. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_src_bad)(PL_XV a)
{
	PL_XV net = PL_V_AND(a, PL_V_SET(0xff));

	return PL_V_OR(PL_V_OR(PL_V_EQ(net, PL_V_ZERO()),
			       PL_V_EQ(net, PL_V_SET(127))),
		       PL_XNF(pl_xv_special)(a));
}

/* Byte-swap each 32-bit lane: the frame's order to the host's. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_bswap32)(PL_XV a)
{
	return PL_V(shuffle_epi8)(a, PL_V_BYTES(3, 2, 1, 0, 7, 6, 5, 4, 11,
						10, 9, 8, 15, 14, 13, 12));
}

/* Lanes whose TTL, the low byte of an IPv4 header's word 2, is above 1. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_ttl_ok)(PL_XV w2)
{
	return PL_V(cmpgt_epi32)(PL_V_AND(w2, PL_V_SET(0xff)), PL_V_SET(1));
}

/* pl_ipv4_ttl_word() per lane: + 0xffff, and 0x10000 more (subtracting
 * the all-ones mask shifted) where the checksum is 0xfffe or 0xffff. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_ttl_word)(PL_XV w2)
{
	PL_XV carry = PL_V_EQ(PL_V_SRL(w2, 17), PL_V_SET(0x7fff));

	return PL_V(sub_epi32)(PL_V_ADD(w2, PL_V_SET(0xffff)),
			       PL_V(slli_epi32)(carry, 16));
}

/* The total length, in host order, of an IPv4 header's word 0, per
 * lane. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_tlen)(PL_XV w0)
{
	return PL_V(shuffle_epi8)(w0, PL_V_BYTES(3, 2, -1, -1, 7, 6, -1, -1,
						 11, 10, -1, -1, 15, 14, -1,
						 -1));
}

/* The protocol byte of word 2 of an IPv4 header, per lane. */
static __rte_always_inline PL_XV PL_XNF(pl_xv_proto)(PL_XV w2)
{
	return PL_V_AND(PL_V_SRL(w2, 8), PL_V_SET(0xff));
}

/*
 * The home slots of the PL_XN hashes @p h in @p ct's table, into @p slot:
 * the index, scaled and added to the base in 64-bit lanes. Per frame in
 * scalar code, with the mask and the base reloaded from the stack, it was
 * 6 instructions.
 */
static __rte_always_inline void
PL_XNF(pl_xv_slots)(PL_XV h, const struct pl_express_ct *ct,
		    struct acl_ct_entry **slot)
{
	_Static_assert(sizeof(struct acl_ct_entry) == 32, "index << 5");
	PL_XV idx = PL_V_AND(h, PL_V_SET((int)ct->mask));
	PL_XV base = PL_V(set1_epi64x)((long long)(uintptr_t)ct->slot);
#if PL_XN == 4
	__m128i lo = _mm_cvtepu32_epi64(idx);
	__m128i hi = _mm_cvtepu32_epi64(_mm_srli_si128(idx, 8));
#else
	__m256i lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(idx));
	__m256i hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(idx, 1));
#endif
	PL_V_STORE(slot, PL_V(add_epi64)(base, PL_V(slli_epi64)(lo, 5)));
	PL_V_STORE(slot + PL_XN / 2,
		   PL_V(add_epi64)(base, PL_V(slli_epi64)(hi, 5)));
}

/*
 * The conntrack keys of PL_XN UDP or TCP flows (acl_ct_key_words(), the
 * lower (address, port) side first) from host-order sources @p sh and
 * destinations @p dh, the ports word as the frame carries it and the
 * protocol; hashed, their slots prefetched (pl_express_slot()). @p l4:
 * each packet's transport header, for TCP's flags.
 */
static __rte_always_inline void
PL_XNF(pl_xv_keys)(PL_XV sh, PL_XV dh, PL_XV ports, PL_XV proto,
		   const uint8_t *const l4[PL_XN], struct pl_express_pkt *x,
		   const struct pl_express_ct *ct, const bool multi)
{
	const PL_XV sign = PL_V_SET((int)0x80000000);
	/* sport | dport << 16 and the swapped dport | sport << 16. */
	PL_XV pa = PL_V(shuffle_epi8)(ports,
				      PL_V_BYTES(1, 0, 3, 2, 5, 4, 7, 6, 9, 8,
						 11, 10, 13, 12, 15, 14));
	PL_XV pb = PL_XNF(pl_xv_bswap32)(ports);
	PL_XV sp_gt_dp = PL_V(cmpgt_epi32)(PL_V_AND(pa, PL_V_SET(0xffff)),
					   PL_V_SRL(pa, 16));
	PL_XV lo = PL_V_OR(
		PL_V(cmpgt_epi32)(PL_V_XOR(dh, sign), PL_V_XOR(sh, sign)),
		PL_V_ANDNOT(sp_gt_dp, PL_V_EQ(dh, sh)));
	PL_XV first = PL_V(blendv_epi8)(dh, sh, lo);
	PL_XV second = PL_V(blendv_epi8)(sh, dh, lo);
	PL_XV pw = PL_V(blendv_epi8)(pb, pa, lo);
	PL_XV k0[2] = {PL_V(unpacklo_epi32)(first, second),
		       PL_V(unpackhi_epi32)(first, second)};
	PL_XV k1[2] = {PL_V(unpacklo_epi32)(pw, proto),
		       PL_V(unpackhi_epi32)(pw, proto)};
	unsigned int lob = (unsigned int)PL_V_MASK(lo);
	unsigned int tcpb = (unsigned int)PL_V_MASK(
		PL_V_EQ(proto, PL_V_SET(IPPROTO_TCP)));
	/* acl_ct_key_hash() of each key: its words are first, second, pw
	 * and proto (low word first). */
	const struct acl_ct_hash_keys *hk = &acl_ct_hk;
	PL_XV h = PL_V_ADD(
		PL_V_ADD(PL_V_MUL(first, PL_V_SET((int)hk->k[0])),
			 PL_V_MUL(second, PL_V_SET((int)hk->k[1]))),
		PL_V_ADD(PL_V_MUL(pw, PL_V_SET((int)hk->k[2])),
			 PL_V_MUL(proto, PL_V_SET((int)hk->k[3]))));
	uint32_t hash[PL_XN];
	struct acl_ct_entry *slot[PL_XN];

	h = PL_V_ADD(h, PL_V_SET((int)hk->seed));
	h = PL_V_XOR(h, PL_V_SRL(h, 16));
	h = PL_V_MUL(h, PL_V_SET((int)ACL_CT_MIX_K1));
	h = PL_V_XOR(h, PL_V_SRL(h, 13));
	h = PL_V_MUL(h, PL_V_SET((int)ACL_CT_MIX_K2));
	h = PL_V_XOR(h, PL_V_SRL(h, 16));
	/* One worker: the home slots too (several: the owner from the hash
	 * first, pl_express_slot()). */
	if (multi)
		PL_V_STORE(hash, h);
	else
		PL_XNF(pl_xv_slots)(h, ct, slot);

	/* Packet i's key is in 128-bit lane i / 4 of kw (PL_V_ROW()). */
	_Pragma("GCC unroll 4")
	for (unsigned int i = 0; i < 4; i++) {
		PL_XV kw = (i & 1) ?
			PL_V(unpackhi_epi64)(k0[i >> 1], k1[i >> 1]) :
			PL_V(unpacklo_epi64)(k0[i >> 1], k1[i >> 1]);

		pl_x4_key_one(&x[i], PL_V_LO128(kw), hash[i], slot[i],
			      lob >> i, tcpb >> i, l4[i], ct, multi);
#if PL_XN == 8
		pl_x4_key_one(&x[i + 4], _mm256_extracti128_si256(kw, 1),
			      hash[i + 4], slot[i + 4], lob >> (i + 4),
			      tcpb >> (i + 4), l4[i + 4], ct, multi);
#endif
	}
}

/*
 * encap_ipip_var() for PL_XN frames whose IPv4 headers' word 0 (version
 * and IHL 0x45, TOS, length) is @p w0, with outer IDs @p id0 + lane:
 * their outer words 0-1 stored to @p ow, their sums to @p vsum.
 */
static __rte_always_inline void
PL_XNF(pl_xv_outer)(PL_XV w0, uint16_t id0, uint64_t *ow, uint32_t *vsum)
{
	/* 0x45, TOS and length in host order (length in the low half): the
	 * outer's length is 20 more (no carry out below 65516, and pass 2
	 * refuses a longer packet for its MTU). */
	PL_XV o0 = PL_XNF(pl_xv_bswap32)(PL_V_ADD(PL_XNF(pl_xv_bswap32)(w0),
						  PL_V_SET(ENCAP_IPIP_HLEN)));
	/* The ID in network order, then DF. */
	PL_XV id = PL_V(shuffle_epi8)(
		PL_V_ADD(PL_V_SET(id0), PL_V_IOTA),
		PL_V_BYTES(1, 0, -1, -1, 5, 4, -1, -1, 9, 8, -1, -1, 13, 12,
			   -1, -1));
	PL_XV o1 = PL_V_OR(id, PL_V_SET(
		(int)rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG) << 16));

	PL_V_STORE(vsum, PL_V_ADD(PL_V_ADD(PL_V_AND(o0, PL_V_SET(0xff00)),
					   PL_V_SRL(o0, 16)),
				  id));
	PL_XV lo = PL_V(unpacklo_epi32)(o0, o1), hi = PL_V(unpackhi_epi32)(o0, o1);
#if PL_XN == 4
	PL_V_STORE(ow, lo);
	PL_V_STORE(ow + 2, hi);
#else /* in-lane unpacks: frames 0, 1, 4, 5 in lo; 2, 3, 6, 7 in hi */
	PL_V_STORE(ow, _mm256_permute2x128_si256(lo, hi, 0x20));
	PL_V_STORE(ow + 4, _mm256_permute2x128_si256(lo, hi, 0x31));
#endif
}

/*
 * pl_express_pod_one() for pkts[0..PL_XN), the burst's @p k th on, when
 * all pass, with conntrack keys when @p track: true, having trimmed them
 * and filled dst[], x[] and their @p pre entries. False, having changed
 * nothing, when any may not pass.
 */
static __rte_always_inline bool
PL_XNF(pl_express_pod)(struct rte_mbuf **pkts,
		       const struct pl_express_x4 *v, bool track,
		       struct pl_express_pkt *x, uint32_t *dst,
		       struct pl_express_pre *pre, uint16_t k,
		       const struct pl_express_ct *ct, const bool multi)
{
	const uint8_t *p[PL_XN], *l4[PL_XN];
	PL_XV a[4], b[4], w[4], u[4];
	uint32_t avail[PL_XN];

	/* The per-mbuf tests, as branches: they predict, and an early
	 * return has changed nothing yet. */
	PL_XN_UNROLL
	for (unsigned int i = 0; i < PL_XN; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_data_len(m);

		if (unlikely(len < PL_X4_MIN_LEN))
			return false;
		p[i] = rte_pktmbuf_mtod(m, const uint8_t *);
		l4[i] = PL_X4_L4(p[i], 1);
		/* data_len >= 46 and pkt_len >= data_len: no wrap. */
		avail[i] = rte_pktmbuf_pkt_len(m) - PL_ETH_HLEN;
		if (unlikely(!pl_x4_frame_ok(m, p[i], 1, len, v)))
			return false;
		PL_V_ROW(a, i, p[i] + PL_ETH_HLEN);
		PL_V_ROW(b, i, p[i] + PL_ETH_HLEN + 16);
	}
	/* w: the header's words 0-3 (version .. length; id, fragment; TTL,
	 * protocol, sum; source); u: 4-7 (destination; ports; ...). */
	PL_XNF(pl_xv_transpose)(a, w);
	PL_XNF(pl_xv_transpose)(b, u);
	/* The lengths: room for the ports, within the frame (kept for the
	 * trims). Lengths are 16 bits: the signed compares hold. */
	PL_XV tl = PL_XNF(pl_xv_tlen)(w[0]), av = PL_V_LOAD(avail);
	PL_XV lens_ok = PL_V_ANDNOT(
		PL_V(cmpgt_epi32)(tl, av),
		PL_V(cmpgt_epi32)(tl, PL_V_SET(sizeof(struct rte_ipv4_hdr) + 3)));

	/* Not a fragment (bytes 6-7: offset 0, no MF: a first fragment's
	 * ports are noted by the general stages, frag_fast.h); the pod's
	 * source; a destination that is not special; UDP or TCP when
	 * tracked, anything but IPIP otherwise; the TTL; the checksum. */
	const PL_XV zero = PL_V_ZERO();
	PL_XV proto = PL_XNF(pl_xv_proto)(w[2]);
	PL_XV good = PL_V_AND(
		PL_V_EQ(PL_V_AND(w[1], PL_V_SET((int)0xff3f0000)), zero),
		PL_V_EQ(w[3], PL_V_FROM128(v->src)));
	good = PL_V_ANDNOT(PL_XNF(pl_xv_special)(u[0]), good);
	good = track ?
		PL_V_AND(good, PL_V_OR(PL_V_EQ(proto, PL_V_SET(IPPROTO_UDP)),
				       PL_V_EQ(proto, PL_V_SET(IPPROTO_TCP)))) :
		PL_V_ANDNOT(PL_V_EQ(proto, PL_V_SET(IPPROTO_IPIP)), good);
	good = PL_V_AND(good, PL_XNF(pl_xv_ttl_ok)(w[2]));
	good = PL_V_AND(good, lens_ok);
	good = PL_V_AND(good, PL_XNF(pl_xv_hdr_ok)(w[0], w[1], w[2], w[3],
						   u[0]));
	if (PL_V_MASK(good) != PL_V_ALL)
		return false;

	/* All pass: commit, as the one-packet pass does: trim the frames
	 * with Ethernet padding (few: found for all at once). */
	unsigned int pad = (unsigned int)PL_V_MASK(PL_V(cmpgt_epi32)(av, tl));
	if (unlikely(pad != 0)) {
		uint32_t tlen[PL_XN];

		PL_V_STORE(tlen, tl);
		for (; pad != 0; pad &= pad - 1) {
			unsigned int i = (unsigned int)__builtin_ctz(pad);
			rte_pktmbuf_trim(pkts[i], avail[i] - tlen[i]);
		}
	}
	PL_V_STORE(pre->ttl_w + k, PL_XNF(pl_xv_ttl_word)(w[2]));
	PL_XNF(pl_xv_outer)(w[0], (uint16_t)(pre->ip_id + k), pre->ow + k,
			    pre->vsum + k);
	PL_XV dh = PL_XNF(pl_xv_bswap32)(u[0]);
	PL_V_STORE(dst, dh);
	if (track)
		PL_XNF(pl_xv_keys)(PL_V_SET((int)v->src_h), dh, u[1], proto,
				   l4, x, ct, multi);
	return true;
}


/*
 * pl_express_uplink_one() for pkts[0..PL_XN), the burst's @p k th on,
 * when all pass: true, having filled dst[], their @p pre entries and
 * (when @p track) x[] for them. The outer sources are
 * tested as there (pl_express_node_known(), @p node_src, @p node_ok).
 * False, having changed no frame, when any may not pass.
 */
static __rte_always_inline bool
PL_XNF(pl_express_uplink)(const struct pl_tables *t, struct rte_mbuf **pkts,
			  const struct pl_express_x4 *v, bool track,
			  rte_be32_t *node_src, bool *node_ok,
			  struct pl_express_pkt *x, uint32_t *dst,
			  struct pl_express_pre *pre, uint16_t k,
			  const struct pl_express_ct *ct, const bool multi)
{
	const uint8_t *p[PL_XN], *l4[PL_XN];
	PL_XV a[4], b[4], c[4], o[4], oi[4], in[4];
	uint32_t avail[PL_XN];

	PL_XN_UNROLL
	for (unsigned int i = 0; i < PL_XN; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_data_len(m);

		if (unlikely(len < PL_X4_UP_MIN_LEN))
			return false;
		p[i] = rte_pktmbuf_mtod(m, const uint8_t *);
		l4[i] = PL_X4_L4(p[i], 2);
		avail[i] = rte_pktmbuf_pkt_len(m) - PL_ETH_HLEN;
		if (unlikely(!pl_x4_frame_ok(m, p[i], 2, len, v)))
			return false;
		PL_V_ROW(a, i, p[i] + PL_ETH_HLEN);
		PL_V_ROW(b, i, p[i] + PL_ETH_HLEN + 16);
		PL_V_ROW(c, i, p[i] + PL_ETH_HLEN + 32);
	}
	/* o: outer words 0-3; oi: the outer destination, then inner words
	 * 0-2; in: inner words 3-6 (source, destination, ports, ...). */
	PL_XNF(pl_xv_transpose)(a, o);
	PL_XNF(pl_xv_transpose)(b, oi);
	PL_XNF(pl_xv_transpose)(c, in);
	/* The outer sources: known nodes (pl_express_node_known()). A
	 * burst comes from one node or a few: the cached one, compared for
	 * all at once, else each. */
	if (!*node_ok || PL_V_MASK(PL_V_EQ(o[3], PL_V_SET((int)*node_src))) !=
				 PL_V_ALL) {
		PL_XN_UNROLL
		for (unsigned int i = 0; i < PL_XN; i++) {
			rte_be32_t osrc;
			memcpy(&osrc, p[i] + PL_ETH_HLEN + 12, sizeof(osrc));
			if (!pl_express_node_known(t, osrc, node_src,
						   node_ok))
				return false;
		}
	}
	/* The lengths, as the one-packet pass: room for the ports, the
	 * outer datagram within the frame, and the inner one filling it
	 * exactly (16-bit values: the signed compares hold). */
	PL_XV otl = PL_XNF(pl_xv_tlen)(o[0]), tl = PL_XNF(pl_xv_tlen)(oi[1]);
	PL_XV lens_ok = PL_V_AND(
		PL_V_ANDNOT(PL_V(cmpgt_epi32)(otl, PL_V_LOAD(avail)),
			    PL_V_EQ(PL_V_ADD(tl, PL_V_SET(
					    sizeof(struct rte_ipv4_hdr))),
				    otl)),
		PL_V(cmpgt_epi32)(tl, PL_V_SET(sizeof(struct rte_ipv4_hdr) + 3)));

	const PL_XV zero = PL_V_ZERO();
	/* Outer: to this node, IPIP, no fragment (nor MF), its checksum.
	 * Inner: version 4 with 20 bytes, not a fragment (nor MF: see
	 * frag_fast.h), addresses not special, UDP or TCP when tracked,
	 * the TTL, its checksum. */
	PL_XV good = PL_V_AND(
		PL_V_EQ(oi[0], PL_V_FROM128(v->src)),
		PL_V_EQ(PL_XNF(pl_xv_proto)(o[2]), PL_V_SET(IPPROTO_IPIP)));
	good = PL_V_AND(good, PL_V_EQ(
		PL_V_AND(o[1], PL_V_SET((int)0xff3f0000)), zero));
	good = PL_V_AND(good, PL_V_EQ(
		PL_V_AND(oi[1], PL_V_SET(0xff)),
		PL_V_SET(RTE_IPV4_VHL_DEF)));
	good = PL_V_AND(good, PL_V_EQ(
		PL_V_AND(oi[2], PL_V_SET((int)0xff3f0000)), zero));
	good = PL_V_ANDNOT(PL_V_OR(PL_XNF(pl_xv_src_bad)(in[0]),
				   PL_XNF(pl_xv_special)(in[1])),
			   good);
	/* Nor ECN the decapsulation would change (RFC 6040: an outer ECT(1)
	 * or CE, bit 8 of word 0, over another inner field; the general
	 * stages set it, pl_uplink_in()). */
	good = PL_V_AND(good, PL_V_OR(
		PL_V_EQ(PL_V_AND(o[0], PL_V_SET(0x100)), zero),
		PL_V_EQ(PL_V_AND(PL_V_XOR(o[0], oi[1]), PL_V_SET(0x300)),
			zero)));
	/* Nor the node's own (pl_ip_src_is_own(): a martian). */
	good = PL_V_ANDNOT(PL_V_OR(PL_V_EQ(in[0], PL_V_FROM128(v->src)),
				   PL_V_EQ(in[0], PL_V_FROM128(v->tun))),
			   good);
	PL_XV proto = PL_XNF(pl_xv_proto)(oi[3]);
	if (track)
		good = PL_V_AND(good, PL_V_OR(
			PL_V_EQ(proto, PL_V_SET(IPPROTO_UDP)),
			PL_V_EQ(proto, PL_V_SET(IPPROTO_TCP))));
	good = PL_V_AND(good, PL_XNF(pl_xv_ttl_ok)(oi[3]));
	good = PL_V_AND(good, lens_ok);
	good = PL_V_AND(good, PL_XNF(pl_xv_hdr_ok)(o[0], o[1], o[2], o[3],
						   oi[0]));
	good = PL_V_AND(good, PL_XNF(pl_xv_hdr_ok)(oi[1], oi[2], oi[3], in[0],
						   in[1]));
	if (PL_V_MASK(good) != PL_V_ALL)
		return false;

	PL_V_STORE(pre->ttl_w + k, PL_XNF(pl_xv_ttl_word)(oi[3]));
	/* The inner length behind an Ethernet header. */
	PL_V_STORE(pre->len + k, PL_V_ADD(tl, PL_V_SET(PL_ETH_HLEN)));
	PL_XV dh = PL_XNF(pl_xv_bswap32)(in[1]);
	PL_V_STORE(dst, dh);
	if (track)
		PL_XNF(pl_xv_keys)(PL_XNF(pl_xv_bswap32)(in[0]), dh, in[2],
				   proto, l4, x, ct, multi);
	return true;
}

#undef PL_XV
#undef PL_V
#undef PL_V_AND
#undef PL_V_ANDNOT
#undef PL_V_OR
#undef PL_V_XOR
#undef PL_V_ZERO
#undef PL_V_BYTES
#undef PL_V_MASK
#undef PL_V_STORE
#undef PL_V_LOAD
#undef PL_V_ROW
#undef PL_V_LO128
#undef PL_V_FROM128
#undef PL_XN_UNROLL
#undef PL_V_IOTA
#undef PL_V_ALL
#undef PL_V_SET
#undef PL_V_EQ
#undef PL_V_ADD
#undef PL_V_SRL
#undef PL_V_MUL
#undef PL_XNF_
#undef PL_XNF__
#undef PL_XNF
