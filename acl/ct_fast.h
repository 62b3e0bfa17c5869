/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Conntrack's hot path, inlined into the pipeline (acl/ct.c has the rest;
 * the design is in acl/acl.h "Conntrack"): the entry layout, the flow key,
 * the parse of the common packet shape and the lookup of an established
 * flow. A tracked packet used to cost four calls into ct.c (parse,
 * prefetch, lookup, clock); inlined, its key stays in registers from the
 * parse to the compare.
 *
 * Thread-safety: a struct acl_worker belongs to one worker.
 */
#ifndef KDP_ACL_CT_FAST_H
#define KDP_ACL_CT_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#ifdef __SSE4_1__
#include <smmintrin.h>
#endif

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "acl/acl_priv.h"

struct acl_ct_key {
	uint32_t a, b;     /**< lower (ip, port) side first */
	uint16_t pa, pb;
	uint8_t proto;
	/** ICMP queries: the request's type, | 0x80 when side a sent the
	 * request (acl/ct.c icmp_query_key()); else 0 */
	uint8_t icmp_q;
	uint8_t pad[2];
};

#define ACL_CT_F_USED 0x1
#define ACL_CT_F_ORIG_LO 0x2  /**< the originator is side a */
#define ACL_CT_F_ALLOW 0x4
/** The originator's first packet came through the host port
 * (ACL_CT_HOP_VIA_HOST): the reply direction's hop is ACL_CT_HOP_HOST. */
#define ACL_CT_F_VIA_HOST 0x8

enum acl_ct_state {
	ACL_ST_NEW = 1,      /**< non-TCP: only the originator has sent */
	ACL_ST_REPLIED,      /**< non-TCP: the responder answered */
	ACL_ST_SYN_SENT,
	ACL_ST_SYN_RECV,
	ACL_ST_ESTABLISHED,
	ACL_ST_CLOSING,      /**< FIN seen */
	ACL_ST_CLOSED,       /**< RST seen */
};

/** An entry's hop for a direction not (yet) recorded: see acl_ct_entry. */
#define ACL_CT_HOP_NONE UINT16_MAX
/**
 * An entry's hop for the reply direction of a flow the host forwarded
 * (ACL_CT_F_VIA_HOST): to the host port, whatever the FIB says. Set at
 * creation and at every reset of the hops, never overwritten by a
 * recorded one, so it outlives generation changes. Above every FIB hop
 * (15 bits): the express lanes, which route by an entry's hop only when
 * it is below pl_tables.n_nh, leave such packets to the general stages,
 * where the hit gives ACL_CT_PASS_HOST.
 */
#define ACL_CT_HOP_HOST (UINT16_MAX - 1)

struct acl_ct_entry {
	struct acl_ct_key k;
	/**
	 * The route of each direction, indexed by the sender's side (a
	 * packet's src_lo): the FIB's next hop for its destination, recorded
	 * by the caller (acl_ct_packet()'s @p hop, or through acl_ct_hit_entry()) and
	 * valid under @c gen only. Creation and a re-check under a new
	 * generation reset both to ACL_CT_HOP_NONE. The pipeline's
	 * generation covers its FIB as well as its policy, so an established
	 * flow's packet needs no route lookup. (The home slot, which this
	 * field held as a hash before, is recomputed from the key.)
	 */
	uint16_t hop[2];
	uint32_t expire;   /**< ms, wrapping; compared as a signed delta */
	uint32_t gen;      /**< policy generation of the cached verdict */
	uint8_t state;
	uint8_t flags;
	uint8_t icmp_type, icmp_code; /**< the originator's, for re-checks */
};

_Static_assert(sizeof(struct acl_ct_key) == 16, "key layout");
_Static_assert(sizeof(struct acl_ct_entry) == 32, "two entries a line");

#define ACL_TCP_FIN 0x01
#define ACL_TCP_SYN 0x02
#define ACL_TCP_RST 0x04
#define ACL_TCP_ACK 0x10

/*
 * The key is built in two 64-bit registers and hashed from them: storing
 * its fields one by one and hashing the stored struct read 8 bytes over
 * narrower stores, which the CPU cannot forward. The words are the
 * struct's memory image on a little-endian CPU; the hash only has to agree
 * with itself (entries do not keep theirs).
 */
static __rte_always_inline bool
acl_ct_key_words(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
		 uint8_t proto, uint64_t w[2])
{
	bool lo = src < dst || (src == dst && sp <= dp);

	w[0] = lo ? (uint64_t)dst << 32 | src : (uint64_t)src << 32 | dst;
	w[1] = (lo ? (uint64_t)dp << 16 | sp : (uint64_t)sp << 16 | dp) |
	       (uint64_t)proto << 32;
	/* The entries' fields (the re-check, the dump) are read back through
	 * struct acl_ct_key: the words must be its exact image. */
	_Static_assert(offsetof(struct acl_ct_key, pa) == 8 &&
		       offsetof(struct acl_ct_key, proto) == 12 &&
		       RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN,
		       "key words are the little-endian image of the key");
	return lo;
}

/**
 * The conntrack hash's keys: four odd multipliers and a seed, drawn from
 * getrandom() when the first worker's table is created
 * (acl_worker_create()), so that a sender cannot aim flows at one run of
 * slots. The CRC32 used before is linear and unkeyed: anyone could compute
 * thousands of colliding 5-tuples, and linear probing would walk them on
 * every lookup. Read-only while any worker exists.
 */
struct acl_ct_hash_keys {
	uint32_t k[4];
	uint32_t seed;
};
extern struct acl_ct_hash_keys acl_ct_hk;

/* The 32-bit finalizer of MurmurHash3: a bijection in which every input bit
 * moves about half the output bits, so that the table's low bits (its
 * mask) depend on all of the sum's. */
#define ACL_CT_MIX_K1 0x85ebca6bu
#define ACL_CT_MIX_K2 0xc2b2ae35u

static __rte_always_inline uint32_t acl_ct_hash_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= ACL_CT_MIX_K1;
	h ^= h >> 13;
	h *= ACL_CT_MIX_K2;
	return h ^ (h >> 16);
}

/**
 * The hash of the key words @p w: the seed plus the key's four 32-bit
 * words times the multipliers (mod 2^32: keys that differ in one word
 * never sum alike, the multipliers being odd), mixed (acl_ct_hash_mix()).
 * In this form the express lanes compute it for 4 or 8 keys at once in
 * vectors (pipeline/express_xn_fast.h pl_xv_keys()), 2 instructions a key
 * where two CRC32 took 5. They must agree: with another hash there, the
 * lane's hits all miss, and test_express fails on the lane's share.
 */
static __rte_always_inline uint32_t acl_ct_key_hash(const uint64_t w[2])
{
	const struct acl_ct_hash_keys *hk = &acl_ct_hk;
	uint32_t h = hk->seed + (uint32_t)w[0] * hk->k[0] +
		     (uint32_t)(w[0] >> 32) * hk->k[1] +
		     (uint32_t)w[1] * hk->k[2] +
		     (uint32_t)(w[1] >> 32) * hk->k[3];

	return acl_ct_hash_mix(h);
}

static __rte_always_inline void
acl_ct_key_make(struct acl_flow *f, uint32_t src, uint32_t dst, uint16_t sp,
		uint16_t dp, uint8_t proto)
{
	uint64_t w[2];

	f->src_lo = acl_ct_key_words(src, dst, sp, dp, proto, w);
	memcpy(f->key, w, sizeof(w));
	f->hash = acl_ct_key_hash(w);
}

/*
 * The packet nearly every one is: a 20-byte header, not a fragment, UDP or
 * TCP with the ports (and TCP flags) present. Fills @p f exactly as
 * acl_flow_parse() would; false, having written nothing, otherwise.
 */
static __rte_always_inline bool
acl_flow_parse_common(const struct rte_ipv4_hdr *ip, uint32_t len,
		      struct acl_flow *f)
{
	uint8_t proto = ip->next_proto_id;
	uint32_t tl = RTE_MIN(len, (uint32_t)rte_be_to_cpu_16(ip->total_length));
	const uint8_t *l4 = (const uint8_t *)(ip + 1);

	if (ip->version_ihl != RTE_IPV4_VHL_DEF ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) ||
	    !((proto == IPPROTO_UDP && tl >= sizeof(*ip) + 4) ||
	      (proto == IPPROTO_TCP && tl >= sizeof(*ip) + 14)))
		return false;
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint16_t sp = (uint16_t)(l4[0] << 8 | l4[1]);
	uint16_t dp = (uint16_t)(l4[2] << 8 | l4[3]);

	f->pkt = (struct acl_pkt){ .src = src, .dst = dst, .proto = proto,
				   .sport = sp, .dport = dp };
	f->tcp_flags = proto == IPPROTO_TCP ? l4[13] : 0;
	f->kind = ACL_FLOW_NORMAL;
	acl_ct_key_make(f, src, dst, sp, dp, proto);
	return true;
}

/** acl_flow_parse(), with the common shape inline. */
static __rte_always_inline int acl_flow_parse_fast(const void *ip, uint32_t len,
						   struct acl_flow *f)
{
	if (likely(acl_flow_parse_common(ip, len, f)))
		return 0;
	return acl_flow_parse(ip, len, f);
}

static __rte_always_inline void acl_ct_prefetch_fast(const struct acl_worker *aw,
						     const struct acl_flow *f)
{
	rte_prefetch0(&aw->slot[f->hash & aw->mask]);
}

static __rte_always_inline bool acl_ct_expired(const struct acl_ct_entry *e,
					       uint64_t now)
{
	return (int32_t)(e->expire - (uint32_t)now) <= 0;
}

/* The expiry times of a refreshed entry: now plus each timeout. */
struct acl_ct_expiry {
	uint32_t udp, icmp, tcp_est;
};

static __rte_always_inline struct acl_ct_expiry
acl_ct_expiry(const struct acl_worker *aw, uint64_t now)
{
	return (struct acl_ct_expiry){
		.udp = (uint32_t)now + aw->tmo_udp_ms,
		.icmp = (uint32_t)now + aw->tmo_icmp_ms,
		.tcp_est = (uint32_t)now + aw->tmo_tcp_est_ms,
	};
}

/* The entry's key is the key words @p w (acl_ct_key_words()). */
static __rte_always_inline bool
acl_ct_key_eq(const struct acl_ct_entry *e, const uint64_t w[2])
{
#ifdef __SSE4_1__
	/* One 16-byte compare: 4 instructions against 6. */
	__m128i d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)&e->k),
				  _mm_loadu_si128((const __m128i *)w));

	return _mm_testz_si128(d, d);
#else
	uint64_t k0, k1;

	memcpy(&k0, &e->k, 8);
	memcpy(&k1, (const uint8_t *)&e->k + 8, 8);
	return ((k0 ^ w[0]) | (k1 ^ w[1])) == 0;
#endif
}

/**
 * The established-flow case of acl_ct_packet(): the flow's live entry sits
 * in its home slot @p e (or further on its probe run), allowed under
 * generation @p gen, and the packet changes no state beyond "replied"
 * (not TCP; or ESTABLISHED TCP without SYN, FIN or RST). Then the entry's
 * timeout is refreshed (and a reply marked) and the entry returned;
 * otherwise nothing is changed, NULL is returned, and the packet must go
 * to acl_ct_packet() (or acl_ct_lookup()). The flow is given by its key
 * words @p w (acl_ct_key_words()), home slot and direction: the express
 * lane keeps them in registers and never builds a struct acl_flow. The
 * expiry times @p exp (acl_ct_expiry() of @p now) are given: a loop
 * computes them once, where a timeout read for each packet had to be
 * reloaded (the loop's frame stores could alias the worker's fields). A
 * caller that only keys UDP and TCP flows passes @p may_icmp false (a
 * constant), which drops the ICMP timeout's selection.
 */
static __rte_always_inline struct acl_ct_entry *
acl_ct_hit_exp(const struct acl_worker *aw, struct acl_ct_entry *e,
	       const uint64_t w[2], bool src_lo, uint8_t tcp_flags,
	       uint32_t gen, uint64_t now, const struct acl_ct_expiry *exp,
	       const bool may_icmp)
{
	uint64_t g;

	/* The generation and the used and allow flags in one compare: the
	 * little-endian image of the entry's 8 bytes from gen. */
	_Static_assert(offsetof(struct acl_ct_entry, gen) == 24 &&
		       offsetof(struct acl_ct_entry, flags) == 29,
		       "gen, state, flags in one word");
	memcpy(&g, &e->gen, 8);
	const uint64_t gmask = 0xffffffffull |
		(uint64_t)(ACL_CT_F_USED | ACL_CT_F_ALLOW) << 40;
	const uint64_t want =
		gen | (uint64_t)(ACL_CT_F_USED | ACL_CT_F_ALLOW) << 40;

	if (unlikely(!((g & gmask) == want && acl_ct_key_eq(e, w) &&
		       !acl_ct_expired(e, now)))) {
		/* Another flow in the home slot: linear probing may have
		 * put this one further on (a quarter of the flows of a
		 * half-full table), where the slots are walked up to a free
		 * one, as the slow path's lookup does; before, those flows
		 * took the slow path on every packet. A free home slot ends
		 * the search; keys are unique in the table, so the home
		 * slot's own flow failing a test is a miss. Inline and off
		 * the test above, which the common case runs: a call here
		 * cost the decapsulation loop 4 instructions a packet. The
		 * table is never over half full. */
		if (!(g & (uint64_t)ACL_CT_F_USED << 40) ||
		    acl_ct_key_eq(e, w))
			return NULL;
		uint32_t i = (uint32_t)(e - aw->slot);

		do {
			i = (i + 1) & aw->mask;
			e = &aw->slot[i];
			if (!(e->flags & ACL_CT_F_USED))
				return NULL;
		} while (!acl_ct_key_eq(e, w));
		memcpy(&g, &e->gen, 8);
		if (!((g & gmask) == want && !acl_ct_expired(e, now)))
			return NULL;
	}
	/* The originator's packet: its side is the one the flag names
	 * (bit 41 of g), compared as bits (src_lo is 0 or 1). */
	_Static_assert(ACL_CT_F_ORIG_LO == 2, "bit 41 of g");
	bool orig = (((g >> 41) ^ (uint64_t)src_lo) & 1) == 0;

	if (e->k.proto != IPPROTO_TCP) {
		if (!orig)
			e->state = ACL_ST_REPLIED;
		/* @p may_icmp false: the caller keys UDP and TCP only. */
		e->expire = may_icmp && e->k.proto == IPPROTO_ICMP ? exp->icmp :
								     exp->udp;
		return e;
	}
	if (e->state == ACL_ST_ESTABLISHED &&
	    !(tcp_flags & (ACL_TCP_SYN | ACL_TCP_FIN | ACL_TCP_RST))) {
		e->expire = exp->tcp_est;
		return e;
	}
	return NULL;
}

/** acl_ct_hit_exp() for a parsed flow (only ACL_FLOW_NORMAL ones hit) from
 * its home slot: its entry, NULL when the packet must go to
 * acl_ct_packet(). A burst's loop gives @p exp, computed once. */
static __rte_always_inline struct acl_ct_entry *
acl_ct_hit_entry_exp(struct acl_worker *aw, const struct acl_flow *f,
		     uint32_t gen, uint64_t now,
		     const struct acl_ct_expiry *exp)
{
	uint64_t w[2];

	memcpy(w, f->key, sizeof(w));
	return f->kind == ACL_FLOW_NORMAL ?
		       acl_ct_hit_exp(aw, &aw->slot[f->hash & aw->mask], w,
				      f->src_lo, f->tcp_flags, gen, now, exp,
				      true) :
		       NULL;
}

/** acl_ct_hit_entry_exp() at @p now. */
static __rte_always_inline struct acl_ct_entry *
acl_ct_hit_entry(struct acl_worker *aw, const struct acl_flow *f, uint32_t gen,
		 uint64_t now)
{
	const struct acl_ct_expiry exp = acl_ct_expiry(aw, now);

	return acl_ct_hit_entry_exp(aw, f, gen, now, &exp);
}

/**
 * acl_ct_lookup() after acl_ct_hit_entry() missed, with the common case of
 * a new flow inline: its home slot free, so no entry of it lies further on
 * (linear probing) and that slot is where it would start (a call and a
 * walk, 50 instructions a new flow).
 */
static __rte_always_inline enum acl_ct_res
acl_ct_lookup_fast(struct acl_worker *aw, const struct acl_flow *f,
		   uint32_t gen, uint64_t now, uint64_t hop,
		   acl_classify_fn fn, void *arg, struct acl_ct_miss *miss)
{
	uint32_t home = f->hash & aw->mask;

	if (f->kind == ACL_FLOW_NORMAL &&
	    !(aw->slot[home].flags & ACL_CT_F_USED)) {
		*miss = (struct acl_ct_miss){ .slot = home, .dels = aw->dels };
		return ACL_CT_MISS;
	}
	return acl_ct_lookup(aw, f, gen, now, hop, fn, arg, miss);
}

/** acl_ct_hit_entry() as a yes or no. */
static __rte_always_inline bool acl_ct_hit(struct acl_worker *aw,
					   const struct acl_flow *f,
					   uint32_t gen, uint64_t now)
{
	return acl_ct_hit_entry(aw, f, gen, now) != NULL;
}

/** The hop an entry records for @p hop, a FIB next hop (any value; a
 * hop of ACL_CT_HOP_HOST is recorded as unknown). */
static __rte_always_inline uint16_t acl_ct_hop(uint64_t hop)
{
	return hop < ACL_CT_HOP_HOST ? (uint16_t)hop : ACL_CT_HOP_NONE;
}

/**
 * Record @p hop (acl_ct_hop()) as the hop of the packets sent by side
 * @p lo of the passed flow @p e, unless that direction returns through
 * the host (ACL_CT_HOP_HOST): ACL_CT_PASS_HOST then, else ACL_CT_PASS.
 */
static __rte_always_inline enum acl_ct_res
acl_ct_hop_record(struct acl_ct_entry *e, bool lo, uint16_t hop)
{
	if (unlikely(e->hop[lo] == ACL_CT_HOP_HOST))
		return ACL_CT_PASS_HOST;
	e->hop[lo] = hop;
	return ACL_CT_PASS;
}

/**
 * Once per poll iteration: a sweep step (ACL_CT_SWEEP_SLOTS slots) when
 * one is due. Steps are paced on the TSC to pass the whole table in about
 * ACL_CT_SWEEP_PASS_MS, never more than one per iteration (a table whose
 * pace asks for more is swept once an iteration, as before the pacing).
 * Swept every iteration, a 64 MiB table streamed 8 lines through the
 * cache per poll whatever the poll received: with the small bursts of
 * vhost-user pods that was a seventh of a worker's samples.
 */
static __rte_always_inline void
acl_ct_housekeep(struct acl_worker *aw, uint64_t now_tsc, uint64_t now_ms)
{
	if (now_tsc < aw->sweep_next_tsc)
		return;
	aw->sweep_next_tsc = now_tsc + aw->sweep_period_tsc;
	acl_ct_sweep(aw, now_ms, ACL_CT_SWEEP_SLOTS);
}

#endif /* KDP_ACL_CT_FAST_H */
