/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The first-match walk of a compiled program (worker side). It mirrors
 * acl/eval.c rule by rule; the unit tests compare the two on random packets.
 */
#include <stddef.h>

#include <immintrin.h>
#include <rte_cycles.h>

#include "acl/acl_priv.h"
#include "dp/log.h"

static inline bool iset_has(const struct acl_iset *s, uint32_t ip)
{
	uint32_t lo = 0, hi = s->n;

	/* Find the last interval starting at or below ip. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (s->lo[mid] <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && ip <= s->hi[lo - 1];
}

static inline bool pset_has(const struct acl_pset *s, uint32_t ip,
			    uint8_t proto, uint16_t port)
{
	for (uint32_t i = 0; i < s->n_ranges; i++)
		if (port >= s->lo[i] && port <= s->hi[i])
			return true;
	if (s->n_named == 0)
		return false;
	struct acl_npt key = { .ip = ip, .port = port, .proto = proto };
	uint32_t lo = 0, hi = s->n_named;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		const struct acl_npt *m = &s->named[mid];
		int c = m->ip != key.ip ? (m->ip < key.ip ? -1 : 1) :
			m->proto != key.proto ? (m->proto < key.proto ? -1 : 1) :
			m->port != key.port ? (m->port < key.port ? -1 : 1) : 0;

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static inline bool cent_match(const struct acl_cent *e, uint32_t ip,
			      uint8_t proto, uint16_t port)
{
	if ((e->has_nets && !iset_has(&e->nets, ip)) ||
	    iset_has(&e->not_nets, ip) ||
	    (e->has_sel && !iset_has(&e->sel, ip)) ||
	    iset_has(&e->not_sel, ip))
		return false;
	if (e->has_ports && !pset_has(&e->ports, ip, proto, port))
		return false;
	return !pset_has(&e->not_ports, ip, proto, port);
}

static inline bool icmp_match(const struct acl_icmp *ic,
			      const struct acl_pkt *p)
{
	return (p->proto == 1 || p->proto == 58) && p->icmp_type == ic->type &&
	       (!ic->has_code || p->icmp_code == ic->code);
}

static inline bool rule_match(const struct acl_crule *r,
			      const struct acl_pkt *p)
{
	if (r->never || (r->proto >= 0 && p->proto != r->proto) ||
	    (r->not_proto >= 0 && p->proto == r->not_proto))
		return false;
	if ((r->icmp.set && !icmp_match(&r->icmp, p)) ||
	    (r->not_icmp.set && icmp_match(&r->not_icmp, p)))
		return false;
	return cent_match(&r->src, p->src, p->proto, p->sport) &&
	       cent_match(&r->dst, p->dst, p->proto, p->dport);
}

static const struct acl_pinfo *pinfo_of(const struct acl_prog *pg,
					uint32_t id)
{
	for (uint32_t i = 0; i < pg->n_pol; i++)
		if (id >= pg->pol[i].first_id &&
		    id < pg->pol[i].first_id + pg->pol[i].n_rules)
			return &pg->pol[i];
	return NULL;
}

/* Log rules: a token bucket per worker, ACL_LOG_RATE lines a second. */
static __rte_noinline void log_rule(struct acl_worker *aw,
				    const struct acl_prog *pg,
				    const struct acl_crule *r, uint32_t ep,
				    enum acl_dir d, const struct acl_pkt *p)
{
	if (aw) {
		uint64_t now = acl_now_ms();
		uint64_t add = (now - aw->log_last_ms) * ACL_LOG_RATE / 1000;

		if (add) {
			aw->log_tokens = RTE_MIN(aw->log_tokens + add,
						 (uint64_t)ACL_LOG_BURST);
			aw->log_last_ms = now;
		}
		if (aw->log_tokens == 0)
			return;
		aw->log_tokens--;
	}
	const struct acl_pinfo *pi = pinfo_of(pg, r->id);

	KDP_LOG(NOTICE, "policy log: ep %u %s %s rule %u: proto %u "
		"%u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", ep,
		d == ACL_DIR_INGRESS ? "ingress" : "egress",
		pi ? pi->name : "?", pi ? r->id - pi->first_id : 0, p->proto,
		p->src >> 24, (p->src >> 16) & 0xff, (p->src >> 8) & 0xff,
		p->src & 0xff, p->sport, p->dst >> 24, (p->dst >> 16) & 0xff,
		(p->dst >> 8) & 0xff, p->dst & 0xff, p->dport);
}

static inline uint64_t *hits_row(const struct acl_set *s,
				 const struct acl_worker *aw)
{
	uint64_t *hits = s->hits;

	if (aw && aw->wid < s->n_workers)
		hits += (size_t)aw->wid * s->n_ids;
	return hits;
}

/*
 * The first rule at or after @p i that struct acl_quick does not rule out
 * for @p p (pg->n when none). Where the CPU has AVX-512BW (chosen at run
 * time: kdp is built for DPDK's baseline), eight 8-byte records are tested
 * per step (16-bit lanes: proto | walk << 8, dlo, dhi, pad): at 10k rules
 * a new flow's walk fell from 12 to 3 us.
 */
_Static_assert(sizeof(struct acl_quick) == 8 &&
	       offsetof(struct acl_quick, dlo) == 2 &&
	       offsetof(struct acl_quick, dhi) == 4, "quick record lanes");

static inline bool quick_ok(const struct acl_quick *q, const struct acl_pkt *p)
{
	return q->walk || ((!q->proto || q->proto == p->proto) &&
			   p->dport >= q->dlo && p->dport <= q->dhi);
}

__attribute__((target("avx512f,avx512bw"))) static uint32_t
quick_next_avx512(const struct acl_prog *pg, uint32_t i,
		  const struct acl_pkt *p)
{
	const __m512i dport = _mm512_set1_epi16((short)p->dport);
	const __m512i proto = _mm512_set1_epi16((short)p->proto);
	const __m512i low = _mm512_set1_epi16(0xff);
	const __m512i high = _mm512_set1_epi16((short)0xff00);
	const __mmask32 l0 = 0x11111111u, l1 = 0x22222222u, l2 = 0x44444444u;

	while (i < pg->n) {
		uint32_t left = pg->n - i;
		__mmask32 valid = left >= 8 ? 0xffffffffu :
				  (__mmask32)((1ull << (left * 4)) - 1);
		__m512i v = _mm512_maskz_loadu_epi16(valid, &pg->q[i]);
		__m512i pv = _mm512_and_si512(v, low);
		__mmask32 walk = _mm512_mask_test_epi16_mask(l0, v, high);
		__mmask32 pok = _mm512_mask_cmpeq_epi16_mask(l0, pv, proto) |
				_mm512_mask_cmpeq_epi16_mask(
					l0, pv, _mm512_setzero_si512());
		__mmask32 lo = _mm512_mask_cmple_epu16_mask(l1, v, dport);
		__mmask32 hi = _mm512_mask_cmpge_epu16_mask(l2, v, dport);
		__mmask32 ok = (walk | (pok & (lo >> 1) & (hi >> 2))) & valid;

		if (ok)
			return i + (uint32_t)__builtin_ctz(ok) / 4;
		i += 8;
	}
	return pg->n;
}

bool acl_quick_simd = true;

static inline uint32_t quick_next(const struct acl_prog *pg, uint32_t i,
				  const struct acl_pkt *p)
{
	/* Eight rules or fewer left: not worth the vector set-up. */
	if (pg->n - i > 8 && acl_quick_simd &&
	    __builtin_cpu_supports("avx512bw"))
		return quick_next_avx512(pg, i, p);
	while (i < pg->n && !quick_ok(&pg->q[i], p))
		i++;
	return i;
}

static bool prog_walk(const struct acl_prog *pg, uint64_t *hits,
		      struct acl_worker *aw, uint32_t ep, enum acl_dir d,
		      const struct acl_pkt *p)
{
	uint32_t i = 0;

	while (i < pg->n) {
		/* Pass over rules whose quick conditions fail (struct
		 * acl_quick) reading 8 bytes a rule, not the rule. */
		if ((i = quick_next(pg, i, p)) >= pg->n)
			break;
		const struct acl_crule *r = &pg->r[i];

		if (r->op == ACL_OP_TIER_END) {
			if (r->action == ACL_ACT_PASS) {
				i++;
				continue;
			}
			hits[r->id]++;
			return false;
		}
		if (!rule_match(r, p)) {
			i++;
			continue;
		}
		hits[r->id]++;
		switch (r->action) {
		case ACL_ACT_ALLOW:
			return true;
		case ACL_ACT_DENY:
			return false;
		case ACL_ACT_PASS:
			i = r->pass_to;
			break;
		default: /* Log */
			log_rule(aw, pg, r, ep, d, p);
			i++;
			break;
		}
	}
	return true; /* the kns profile */
}

bool acl_classify_linear(const struct acl_set *s, struct acl_worker *aw,
			 uint32_t ep, enum acl_dir d, const struct acl_pkt *p)
{
	if (ep >= s->n_ep)
		return true;
	return prog_walk(&s->prog[ep * ACL_DIR_MAX + d], hits_row(s, aw), aw,
			 ep, d, p);
}

bool acl_classify(const struct acl_set *s, struct acl_worker *aw, uint32_t ep,
		  enum acl_dir d, const struct acl_pkt *p)
{
	if (ep >= s->n_ep)
		return true;
	const struct acl_prog *pg = &s->prog[ep * ACL_DIR_MAX + d];

	/* No policy in this direction: the kns profile, as prog_walk() would
	 * say, without the call (a new flow asks for both directions). */
	if (pg->n == 0)
		return true;
	/* The rte_acl form may be attached at any time (acl_bg.c). */
	if (__atomic_load_n(&pg->fast, __ATOMIC_ACQUIRE))
		return acl_fast_classify(pg, hits_row(s, aw), p);
	return prog_walk(pg, hits_row(s, aw), aw, ep, d, p);
}

uint32_t acl_classify_bulk(const struct acl_set *s, uint32_t ep,
			   enum acl_dir d, const struct acl_pkt *const *p,
			   uint32_t n, uint32_t *res)
{
	if (ep >= s->n_ep || n == 0 || n > ACL_BULK_MAX)
		return 0;
	const struct acl_prog *pg = &s->prog[ep * ACL_DIR_MAX + d];

	if (__atomic_load_n(&pg->fast, __ATOMIC_ACQUIRE) == NULL)
		return 0;
	return acl_fast_classify_bulk(pg, p, n, res);
}

bool acl_classify_decide(const struct acl_set *s, struct acl_worker *aw,
			 uint32_t ep, enum acl_dir d, const uint32_t *res)
{
	return acl_fast_decide(&s->prog[ep * ACL_DIR_MAX + d],
			       hits_row(s, aw), res);
}

/*
 * TSC cycles to ms by a multiply and shift: the division it replaces cost
 * ~2 % of a worker's time (called twice per poll iteration). The factor
 * is 2^64 / cycles-per-ms rounded down, so a result is at most one ms
 * behind the exact quotient, never ahead, and the clock stays monotonic.
 */
uint64_t acl_tsc_ms(uint64_t tsc)
{
	static uint64_t inv;

	if (unlikely(inv == 0)) {
		uint64_t per_ms = rte_get_tsc_hz() / 1000 ?: 1;
		inv = per_ms == 1 ? UINT64_MAX : UINT64_MAX / per_ms;
	}
	return (uint64_t)(((unsigned __int128)tsc * inv) >> 64);
}

uint64_t acl_now_ms(void)
{
	return acl_tsc_ms(rte_get_tsc_cycles());
}
