/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The rte_acl form of a compiled program (see acl/acl.h "Fast path").
 *
 * Build (a background thread, acl_bg.c): every rule of the program becomes
 * a union of boxes over (proto, src IP, dst IP, src port, dst port, ICMP
 * type/code), each box one rte_acl rule:
 *  - IP sides: nets ∩ selector IPs minus notNets minus notSelector IPs, as
 *    intervals cut into CIDR blocks (MASK fields); one box per block;
 *  - ports: the ranges minus notPorts' ranges; a named port is a box of its
 *    own that also fixes the protocol and the IPs carrying it;
 *  - protocol minus notProtocol; an ICMP match fixes proto ∈ {1, 58} and the
 *    type/code range; notICMP splits a box into "not ICMP" and "ICMP with
 *    another type/code".
 * The boxes of one rule share its priority (earlier rule, higher priority)
 * and its userdata (index + 1), and the category of its tier, so one
 * classification returns, per tier, the first rule of that tier that
 * matches. The decision then walks the tiers: no match → the tier end,
 * Pass → the next tier, Allow/Deny decide. Log rules are not terminal, so
 * programs with Log rules stay linear, as do programs whose expansion is
 * too large or not expressible (notPorts with named ports).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "acl/acl_priv.h"
#include "dp/log.h"

/* Boxes one rule may expand to, and rte_acl rules per program: beyond,
 * the program stays linear (a huge trie costs more memory and build time
 * than it saves). */
#define FAST_RULE_MAX (1u << 16)
#define FAST_PROG_MAX (1u << 18)

/* The classifier's input: big-endian fields, grouped in 4-byte words
 * after the first byte as rte_acl requires. */
struct fkey {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t tc; /* icmp type << 8 | code */
};

enum { F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_TC, F_NUM };

RTE_ACL_RULE_DEF(frule, F_NUM);

_Static_assert(ACL_BULK_RES_MAX == RTE_ACL_MAX_CATEGORIES,
	       "acl_classify_bulk() result room");

static const struct rte_acl_field_def fdefs[F_NUM] = {
	{ RTE_ACL_FIELD_TYPE_BITMASK, 1, F_PROTO, 0, offsetof(struct fkey, proto) },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_SRC, 1, offsetof(struct fkey, src) },
	{ RTE_ACL_FIELD_TYPE_MASK, 4, F_DST, 2, offsetof(struct fkey, dst) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_SPORT, 3, offsetof(struct fkey, sport) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 2, F_DPORT, 3, offsetof(struct fkey, dport) },
	{ RTE_ACL_FIELD_TYPE_RANGE, 4, F_TC, 4, offsetof(struct fkey, tc) },
};

/* ------------------------------------------------------ interval lists */

struct iv {
	uint32_t lo, hi;
};

/** Sorted, disjoint intervals. */
struct ivl {
	uint32_t n;
	struct iv *v;
};

static void ivl_clear(struct ivl *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int ivl_one(struct ivl *l, uint32_t lo, uint32_t hi)
{
	if (!(l->v = malloc(sizeof(*l->v))))
		return -ENOMEM;
	l->v[0] = (struct iv){ lo, hi };
	l->n = 1;
	return 0;
}

static int ivl_from_iset(struct ivl *l, const struct acl_iset *s)
{
	l->n = 0;
	if (!(l->v = malloc((s->n + 1) * sizeof(*l->v))))
		return -ENOMEM;
	for (uint32_t i = 0; i < s->n; i++)
		l->v[l->n++] = (struct iv){ s->lo[i], s->hi[i] };
	return 0;
}

/* Port ranges may overlap and come in any order: sort and merge. */
static int cmp_iv(const void *pa, const void *pb)
{
	const struct iv *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int ivl_from_ports(struct ivl *l, const struct acl_pset *ps)
{
	l->n = 0;
	if (!(l->v = malloc((ps->n_ranges + 1) * sizeof(*l->v))))
		return -ENOMEM;
	for (uint32_t i = 0; i < ps->n_ranges; i++)
		if (ps->lo[i] <= ps->hi[i])
			l->v[l->n++] = (struct iv){ ps->lo[i], ps->hi[i] };
	qsort(l->v, l->n, sizeof(*l->v), cmp_iv);
	uint32_t k = 0;

	for (uint32_t i = 0; i < l->n; i++) {
		if (k && (uint64_t)l->v[k - 1].hi + 1 >= l->v[i].lo) {
			if (l->v[i].hi > l->v[k - 1].hi)
				l->v[k - 1].hi = l->v[i].hi;
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
	return 0;
}

/* out = a ∩ b. out may not alias a or b. */
static int ivl_and(struct ivl *out, const struct ivl *a, const struct ivl *b)
{
	uint32_t i = 0, j = 0;

	out->n = 0;
	if (!(out->v = malloc((a->n + b->n + 1) * sizeof(*out->v))))
		return -ENOMEM;
	while (i < a->n && j < b->n) {
		uint32_t lo = RTE_MAX(a->v[i].lo, b->v[j].lo);
		uint32_t hi = RTE_MIN(a->v[i].hi, b->v[j].hi);

		if (lo <= hi)
			out->v[out->n++] = (struct iv){ lo, hi };
		if (a->v[i].hi < b->v[j].hi)
			i++;
		else
			j++;
	}
	return 0;
}

/* out = a \ b. */
static int ivl_sub(struct ivl *out, const struct ivl *a, const struct ivl *b)
{
	uint32_t j = 0;

	out->n = 0;
	if (!(out->v = malloc((a->n + b->n + 1) * sizeof(*out->v))))
		return -ENOMEM;
	for (uint32_t i = 0; i < a->n; i++) {
		uint64_t lo = a->v[i].lo, hi = a->v[i].hi;

		while (j < b->n && b->v[j].hi < lo)
			j++;
		for (uint32_t k = j; k < b->n && b->v[k].lo <= hi && lo <= hi;
		     k++) {
			if (b->v[k].lo > lo)
				out->v[out->n++] = (struct iv){
					(uint32_t)lo, b->v[k].lo - 1 };
			lo = (uint64_t)b->v[k].hi + 1;
		}
		if (lo <= hi)
			out->v[out->n++] = (struct iv){ (uint32_t)lo,
							(uint32_t)hi };
	}
	return 0;
}

/* Split every interval into aligned power-of-two blocks (CIDR prefixes):
 * rte_acl builds compact tries from masks, but range fields over 32-bit
 * addresses multiply its nodes (10k ranged rules exceed its 8 tries). */
static int ivl_prefixes(struct ivl *l)
{
	uint32_t n = 0, k = 0;
	struct iv *v;

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < l->n; i++) {
			uint64_t lo = l->v[i].lo, hi = l->v[i].hi;

			while (lo <= hi) {
				uint64_t size = lo ? (lo & -lo) : 1ull << 32;

				while (lo + size - 1 > hi)
					size >>= 1;
				if (pass)
					v[k++] = (struct iv){ (uint32_t)lo,
						(uint32_t)(lo + size - 1) };
				else
					n++;
				lo += size;
			}
		}
		if (pass == 0 && !(v = malloc((n + 1) * sizeof(*v))))
			return -ENOMEM;
	}
	free(l->v);
	l->v = v;
	l->n = k;
	return 0;
}

/* Prefix length of an aligned block made by ivl_prefixes(). */
static uint32_t block_plen(const struct iv *b)
{
	uint64_t size = (uint64_t)b->hi - b->lo + 1;

	return 32 - (uint32_t)__builtin_ctzll(size);
}

/* *l = *l op b, in place. */
static int ivl_apply(struct ivl *l, const struct ivl *b,
		     int (*op)(struct ivl *, const struct ivl *,
			       const struct ivl *))
{
	struct ivl r;
	int rc = op(&r, l, b);

	if (rc)
		return rc;
	ivl_clear(l);
	*l = r;
	return 0;
}

static int ivl_apply_iset(struct ivl *l, const struct acl_iset *s, bool sub)
{
	struct ivl b;
	int rc = ivl_from_iset(&b, s);

	if (rc == 0)
		rc = ivl_apply(l, &b, sub ? ivl_sub : ivl_and);
	ivl_clear(&b);
	return rc;
}

/* ---------------------------------------------------------- rule boxes */

/** One side (source or destination) of a box. */
struct sbox {
	struct ivl ip, port;
	int proto; /**< -1: any; a named port fixes it */
};

struct sboxes {
	uint32_t n, cap;
	struct sbox *v;
};

/** Protocol and ICMP type/code of a box. */
struct pbox {
	struct ivl proto, tc;
};

static void sboxes_clear(struct sboxes *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		ivl_clear(&s->v[i].ip);
		ivl_clear(&s->v[i].port);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Takes ownership of ip and port (freed on failure too). */
static int sboxes_add(struct sboxes *s, struct ivl *ip, struct ivl *port,
		      int proto)
{
	if (ip->n == 0 || port->n == 0) {
		ivl_clear(ip);
		ivl_clear(port);
		return 0;
	}
	if (s->n == s->cap) {
		uint32_t nc = s->cap ? 2 * s->cap : 4;
		void *nv = realloc(s->v, nc * sizeof(*s->v));

		if (!nv) {
			ivl_clear(ip);
			ivl_clear(port);
			return -ENOMEM;
		}
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = (struct sbox){ .ip = *ip, .port = *port,
				      .proto = proto };
	return 0;
}

static int cmp_npt_port(const void *pa, const void *pb)
{
	const struct acl_npt *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->ip < b->ip ? -1 : a->ip > b->ip;
}

/* Named ports: one box per (proto, port) with the IPs carrying it, cut to
 * the side's IPs and allowed ports. */
static int side_named(struct sboxes *out, const struct acl_pset *ps,
		      const struct ivl *ips, const struct ivl *allowed)
{
	struct acl_npt *v = malloc(ps->n_named * sizeof(*v));
	int rc = 0;

	if (!v)
		return -ENOMEM;
	memcpy(v, ps->named, ps->n_named * sizeof(*v));
	qsort(v, ps->n_named, sizeof(*v), cmp_npt_port);
	for (uint32_t i = 0; i < ps->n_named && rc == 0;) {
		uint32_t j = i;
		struct ivl grp = { 0 }, ip = { 0 }, port = { 0 }, one = { 0 };

		while (j < ps->n_named && v[j].proto == v[i].proto &&
		       v[j].port == v[i].port)
			j++;
		if (!(grp.v = malloc((j - i) * sizeof(*grp.v)))) {
			rc = -ENOMEM;
			break;
		}
		for (uint32_t k = i; k < j; k++) /* sorted by ip, may repeat */
			if (grp.n == 0 || grp.v[grp.n - 1].hi != v[k].ip)
				grp.v[grp.n++] = (struct iv){ v[k].ip, v[k].ip };
		if ((rc = ivl_and(&ip, &grp, ips)) ||
		    (rc = ivl_one(&one, v[i].port, v[i].port)) ||
		    (rc = ivl_and(&port, &one, allowed)))
			ivl_clear(&ip);
		else
			rc = sboxes_add(out, &ip, &port, v[i].proto);
		ivl_clear(&grp);
		ivl_clear(&one);
		if (rc)
			ivl_clear(&port);
		i = j;
	}
	free(v);
	return rc;
}

/* One side of a rule as boxes, its addresses within @p scope (NULL:
 * all). -ENOTSUP: not expressible. */
static int side_boxes(struct sboxes *out, const struct acl_cent *c,
		      const struct ivl *scope)
{
	struct ivl ips = { 0 }, allowed = { 0 }, neg = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->not_ports.n_named)
		return -ENOTSUP;
	if ((rc = ivl_one(&ips, 0, UINT32_MAX)) ||
	    (c->has_nets && (rc = ivl_apply_iset(&ips, &c->nets, false))) ||
	    (rc = ivl_apply_iset(&ips, &c->not_nets, true)) ||
	    (c->has_sel && (rc = ivl_apply_iset(&ips, &c->sel, false))) ||
	    (rc = ivl_apply_iset(&ips, &c->not_sel, true)) ||
	    (scope && (rc = ivl_apply(&ips, scope, ivl_and))) ||
	    (rc = ivl_one(&allowed, 0, UINT16_MAX)) ||
	    (rc = ivl_from_ports(&neg, &c->not_ports)) ||
	    (rc = ivl_apply(&allowed, &neg, ivl_sub)))
		goto out;
	if (!c->has_ports) {
		struct ivl ip = { 0 }, port = { 0 };

		if ((rc = ivl_and(&ip, &ips, &ips)) ||
		    (rc = ivl_and(&port, &allowed, &allowed))) {
			ivl_clear(&ip);
			goto out;
		}
		rc = sboxes_add(out, &ip, &port, -1);
		goto out;
	}
	if (c->ports.n_ranges) {
		struct ivl ip = { 0 }, port = { 0 }, r = { 0 };

		if ((rc = ivl_and(&ip, &ips, &ips)) ||
		    (rc = ivl_from_ports(&r, &c->ports)) ||
		    (rc = ivl_and(&port, &r, &allowed))) {
			ivl_clear(&ip);
			ivl_clear(&r);
			goto out;
		}
		ivl_clear(&r);
		if ((rc = sboxes_add(out, &ip, &port, -1)))
			goto out;
	}
	if (c->ports.n_named)
		rc = side_named(out, &c->ports, &ips, &allowed);
out:
	for (uint32_t i = 0; rc == 0 && i < out->n; i++)
		rc = ivl_prefixes(&out->v[i].ip);
	ivl_clear(&ips);
	ivl_clear(&allowed);
	ivl_clear(&neg);
	if (rc)
		sboxes_clear(out);
	return rc;
}

static void pboxes_clear(struct pbox *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		ivl_clear(&p[i].proto);
		ivl_clear(&p[i].tc);
	}
}

/* ICMP type/code as a range of type << 8 | code. */
static int tc_of(struct ivl *l, const struct acl_icmp *ic)
{
	uint32_t t = (uint32_t)ic->type << 8;

	return ic->has_code ? ivl_one(l, t | ic->code, t | ic->code) :
			      ivl_one(l, t, t | 0xff);
}

/* Protocol × ICMP boxes of a rule: at most two (notICMP splits). */
static int proto_boxes(struct pbox out[2], uint32_t *n,
		       const struct acl_crule *r)
{
	struct ivl icmp = { 0 }, neg = { 0 }, tmp = { 0 };
	struct pbox *b = &out[0];
	int rc;

	*n = 0;
	memset(out, 0, 2 * sizeof(*out));
	/* {1, 58}: ICMP and ICMPv6 (acl/eval.c matches both numbers). */
	if (!(icmp.v = malloc(2 * sizeof(*icmp.v))))
		return -ENOMEM;
	icmp.v[0] = (struct iv){ 1, 1 };
	icmp.v[1] = (struct iv){ 58, 58 };
	icmp.n = 2;
	if ((rc = r->proto >= 0 ?
		  ivl_one(&b->proto, (uint32_t)r->proto, (uint32_t)r->proto) :
		  ivl_one(&b->proto, 0, UINT8_MAX)))
		goto out;
	*n = 1;
	if (r->not_proto >= 0) {
		if ((rc = ivl_one(&tmp, (uint32_t)r->not_proto,
				  (uint32_t)r->not_proto)) ||
		    (rc = ivl_apply(&b->proto, &tmp, ivl_sub)))
			goto out;
	}
	if (r->icmp.set) {
		if ((rc = ivl_apply(&b->proto, &icmp, ivl_and)) ||
		    (rc = tc_of(&b->tc, &r->icmp)))
			goto out;
	} else if ((rc = ivl_one(&b->tc, 0, 0xffff))) {
		goto out;
	}
	if (r->not_icmp.set) {
		struct pbox *c = &out[1];

		*n = 2;
		/* b: not ICMP at all; c: ICMP with another type/code. */
		if ((rc = ivl_and(&c->proto, &b->proto, &icmp)) ||
		    (rc = tc_of(&neg, &r->not_icmp)) ||
		    (rc = ivl_sub(&c->tc, &b->tc, &neg)) ||
		    (rc = ivl_apply(&b->proto, &icmp, ivl_sub)))
			goto out;
	}
out:
	ivl_clear(&icmp);
	ivl_clear(&neg);
	ivl_clear(&tmp);
	if (rc) {
		pboxes_clear(out, 2);
		*n = 0;
	}
	return rc;
}

/* ------------------------------------------------------------ programs */

/** Expansion of one rule, kept until its rte_acl rules are written. */
struct rexp {
	uint32_t n_p;
	struct pbox p[2];
	struct sboxes src, dst;
	uint64_t count;
};

static void rexp_clear(struct rexp *e)
{
	pboxes_clear(e->p, e->n_p);
	sboxes_clear(&e->src);
	sboxes_clear(&e->dst);
	memset(e, 0, sizeof(*e));
}

static uint32_t proto_count(const struct ivl *p, int fixed)
{
	uint32_t n = 0;

	if (fixed < 0)
		return p->n;
	for (uint32_t i = 0; i < p->n; i++)
		n += (uint32_t)fixed >= p->v[i].lo && (uint32_t)fixed <= p->v[i].hi;
	return n;
}

static int rexp_build(struct rexp *e, const struct acl_crule *r,
		      const struct ivl *src_scope, const struct ivl *dst_scope)
{
	int rc;

	memset(e, 0, sizeof(*e));
	if (r->never)
		return 0;
	if ((rc = proto_boxes(e->p, &e->n_p, r)) ||
	    (rc = side_boxes(&e->src, &r->src, src_scope)) ||
	    (rc = side_boxes(&e->dst, &r->dst, dst_scope)))
		goto fail;
	for (uint32_t a = 0; a < e->n_p && rc == 0; a++)
		rc = ivl_prefixes(&e->p[a].proto);
	if (rc)
		goto fail;
	for (uint32_t a = 0; a < e->n_p; a++)
		for (uint32_t s = 0; s < e->src.n; s++)
			for (uint32_t d = 0; d < e->dst.n; d++) {
				const struct sbox *sb = &e->src.v[s];
				const struct sbox *db = &e->dst.v[d];
				uint64_t np;

				if (sb->proto >= 0 && db->proto >= 0 &&
				    sb->proto != db->proto)
					continue;
				np = proto_count(&e->p[a].proto,
						 sb->proto >= 0 ? sb->proto :
								  db->proto);
				e->count += np * e->p[a].tc.n * sb->ip.n *
					    sb->port.n * db->ip.n * db->port.n;
				if (e->count > FAST_RULE_MAX) {
					rc = -E2BIG;
					goto fail;
				}
			}
	return 0;
fail:
	rexp_clear(e);
	return rc;
}

static inline void fset(struct rte_acl_field *f, uint32_t lo, uint32_t hi,
			int size)
{
	switch (size) {
	case 1:
		f->value.u8 = (uint8_t)lo;
		f->mask_range.u8 = (uint8_t)hi;
		break;
	case 2:
		f->value.u16 = (uint16_t)lo;
		f->mask_range.u16 = (uint16_t)hi;
		break;
	default:
		f->value.u32 = lo;
		f->mask_range.u32 = hi;
		break;
	}
}

/* Write the boxes of @p e as rte_acl rules at @p out; returns the count. */
static uint32_t rexp_emit(const struct rexp *e, struct frule *out,
			  const struct rte_acl_rule_data *data)
{
	uint32_t k = 0;

	for (uint32_t a = 0; a < e->n_p; a++) {
		const struct pbox *pb = &e->p[a];

		for (uint32_t s = 0; s < e->src.n; s++)
			for (uint32_t d = 0; d < e->dst.n; d++) {
				const struct sbox *sb = &e->src.v[s];
				const struct sbox *db = &e->dst.v[d];
				int fx = sb->proto >= 0 ? sb->proto : db->proto;

				if (sb->proto >= 0 && db->proto >= 0 &&
				    sb->proto != db->proto)
					continue;
				for (uint32_t pi = 0; pi < pb->proto.n; pi++) {
					struct iv pr = pb->proto.v[pi];

					/* proto is a BITMASK field (as in
					 * l3fwd): value/mask of an aligned
					 * block. */

					if (fx >= 0) {
						if ((uint32_t)fx < pr.lo ||
						    (uint32_t)fx > pr.hi)
							continue;
						pr.lo = pr.hi = (uint32_t)fx;
					}
					for (uint32_t t = 0; t < pb->tc.n; t++)
					for (uint32_t si = 0; si < sb->ip.n; si++)
					for (uint32_t sp = 0; sp < sb->port.n; sp++)
					for (uint32_t di = 0; di < db->ip.n; di++)
					for (uint32_t dp = 0; dp < db->port.n; dp++) {
						struct frule *f = &out[k++];

						f->data = *data;
						fset(&f->field[F_PROTO], pr.lo,
						     ~(pr.hi - pr.lo) & 0xff, 1);
						fset(&f->field[F_TC], pb->tc.v[t].lo,
						     pb->tc.v[t].hi, 4);
						fset(&f->field[F_SRC], sb->ip.v[si].lo,
						     block_plen(&sb->ip.v[si]), 4);
						fset(&f->field[F_SPORT], sb->port.v[sp].lo,
						     sb->port.v[sp].hi, 2);
						fset(&f->field[F_DST], db->ip.v[di].lo,
						     block_plen(&db->ip.v[di]), 4);
						fset(&f->field[F_DPORT], db->port.v[dp].lo,
						     db->port.v[dp].hi, 2);
					}
				}
			}
	}
	return k;
}

static void fast_free(struct acl_fast *f)
{
	if (!f)
		return;
	rte_acl_free(f->ctx);
	free(f->tier_end);
	free(f->scope.base);
	free(f);
}

bool acl_scope_covers(const struct acl_scope *have,
		      const struct acl_scope *need)
{
	uint32_t i = 0;

	if (have->side == ACL_SCOPE_NONE)
		return true;
	if (have->side != need->side)
		return false;
	for (uint32_t j = 0; j < need->n; j++) {
		while (i < have->n && have->base[i] < need->base[j])
			i++;
		if (i == have->n || have->base[i] != need->base[j])
			return false;
	}
	return true;
}

/* The blocks of @p sc as intervals (sorted, disjoint: adjacent merged). */
static int scope_ivl(struct ivl *l, const struct acl_scope *sc)
{
	l->n = 0;
	if (!(l->v = malloc((sc->n + 1) * sizeof(*l->v))))
		return -ENOMEM;
	for (uint32_t i = 0; i < sc->n; i++) {
		uint32_t lo = sc->base[i], hi = lo + (ACL_SCOPE_BLOCK - 1);

		if (l->n && (uint64_t)l->v[l->n - 1].hi + 1 == lo)
			l->v[l->n - 1].hi = hi;
		else
			l->v[l->n++] = (struct iv){ lo, hi };
	}
	return 0;
}

void acl_fast_get(struct acl_fast *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void acl_fast_put(struct acl_fast *f)
{
	if (f && __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0)
		fast_free(f);
}

static int fast_ctx(struct acl_fast *f, const struct frule *rules, uint32_t n)
{
	static uint32_t seq;
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_config cfg = {
		.num_categories = RTE_ALIGN_CEIL(f->n_tier,
						 RTE_ACL_RESULTS_MULTIPLIER),
		.num_fields = F_NUM,
	};

	/* Names must be unique process-wide (rte_acl_create returns an
	 * existing context of the same name); builders run in threads of
	 * their own (acl_bg.c), so the counter is atomic. */
	snprintf(name, sizeof(name), "kdpacl%u",
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	struct rte_acl_param prm = {
		.name = name,
		.socket_id = SOCKET_ID_ANY,
		.rule_size = RTE_ACL_RULE_SZ(F_NUM),
		.max_rule_num = n,
	};
	int rc;

	memcpy(cfg.defs, fdefs, sizeof(fdefs));
	/*
	 * ICMP type/code is the last field (its own 4-byte input group): when
	 * no rule of the context constrains it, it is left out of the tries,
	 * which then have four fewer levels to build and to walk. A
	 * constraint-free field is [0, 0xffff] (the key holds type << 8 |
	 * code); the rules keep it, rte_acl ignores fields past num_fields.
	 */
	bool tc_used = false;

	for (uint32_t i = 0; i < n && !tc_used; i++)
		tc_used = rules[i].field[F_TC].value.u32 != 0 ||
			  rules[i].field[F_TC].mask_range.u32 != 0xffff;
	if (!tc_used)
		cfg.num_fields = F_NUM - 1;
	if (!(f->ctx = rte_acl_create(&prm)))
		return -rte_errno ?: -ENOMEM;
	if ((rc = rte_acl_add_rules(f->ctx, (const struct rte_acl_rule *)rules,
				    n)) ||
	    (rc = rte_acl_build(f->ctx, &cfg)))
		return rc;
	f->n_cat = cfg.num_categories;
	return 0;
}

int acl_fast_build(const struct acl_prog *pg, const struct acl_scope *sc,
		   struct acl_fast **out)
{
	struct acl_fast *f = NULL;
	struct rexp *ex = NULL;
	struct frule *rules = NULL;
	struct ivl scope = { 0 };
	const struct ivl *ss = NULL, *ds = NULL;
	uint64_t total = 0;
	uint32_t tier = 0, k = 0;
	int rc = 0;

	*out = NULL;
	/* rte_acl allocates from the EAL heap. */
	if (pg->n == 0 || rte_lcore_count() == 0)
		return -ENOTSUP;
	if (!(f = calloc(1, sizeof(*f))) ||
	    !(ex = calloc(pg->n, sizeof(*ex)))) {
		rc = -ENOMEM;
		goto out;
	}
	if (sc && sc->side != ACL_SCOPE_NONE) {
		if ((rc = scope_ivl(&scope, sc)))
			goto out;
		*(sc->side == ACL_SCOPE_SRC ? &ss : &ds) = &scope;
		f->scope = *sc;
		f->scope.base = malloc((sc->n + 1) * sizeof(*sc->base));
		if (!f->scope.base) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(f->scope.base, sc->base, sc->n * sizeof(*sc->base));
	}
	for (uint32_t i = 0; i < pg->n; i++) {
		const struct acl_crule *r = &pg->r[i];

		if (r->op == ACL_OP_TIER_END) {
			f->n_tier++;
			continue;
		}
		if (r->action == ACL_ACT_LOG) {
			rc = -ENOTSUP;
			goto out;
		}
		if ((rc = rexp_build(&ex[i], r, ss, ds)))
			goto out;
		total += ex[i].count;
		if (total > FAST_PROG_MAX) {
			rc = -E2BIG;
			goto out;
		}
	}
	if (f->n_tier > RTE_ACL_MAX_CATEGORIES) {
		rc = -ENOTSUP;
		goto out;
	}
	if (!(f->tier_end = malloc(f->n_tier * sizeof(*f->tier_end))) ||
	    (total && !(rules = calloc(total, sizeof(*rules))))) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < pg->n; i++) {
		if (pg->r[i].op == ACL_OP_TIER_END) {
			f->tier_end[tier++] = i;
			continue;
		}
		struct rte_acl_rule_data data = {
			.category_mask = 1u << tier,
			.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i),
			.userdata = i + 1,
		};
		k += rexp_emit(&ex[i], rules + k, &data);
	}
	f->n_rules = k;
	if (k && (rc = fast_ctx(f, rules, k)))
		goto out;
out:
	for (uint32_t i = 0; ex && i < pg->n; i++)
		rexp_clear(&ex[i]);
	free(ex);
	free(rules);
	ivl_clear(&scope);
	if (rc) {
		fast_free(f);
		return rc;
	}
	f->refs = 1;
	*out = f;
	return 0;
}

bool acl_fast_decide(const struct acl_prog *pg, uint64_t *hits,
		     const uint32_t *res)
{
	/* Attached while the set is published (acl_bg.c). */
	const struct acl_fast *f = __atomic_load_n(&pg->fast, __ATOMIC_ACQUIRE);

	for (uint32_t t = 0; t < f->n_tier; t++) {
		const struct acl_crule *r;
		uint32_t u = res[t];

		if (u == 0) {
			r = &pg->r[f->tier_end[t]];
			if (r->action == ACL_ACT_PASS)
				continue;
			hits[r->id]++;
			return false;
		}
		r = &pg->r[u - 1];
		hits[r->id]++;
		if (r->action != ACL_ACT_PASS)
			return r->action == ACL_ACT_ALLOW;
	}
	return true; /* the kns profile */
}

static inline void fkey_of(struct fkey *k, const struct acl_pkt *p)
{
	*k = (struct fkey){
		.proto = p->proto,
		.src = rte_cpu_to_be_32(p->src),
		.dst = rte_cpu_to_be_32(p->dst),
		.sport = rte_cpu_to_be_16(p->sport),
		.dport = rte_cpu_to_be_16(p->dport),
		.tc = rte_cpu_to_be_32((uint32_t)p->icmp_type << 8 |
				       p->icmp_code),
	};
}

bool acl_fast_classify(const struct acl_prog *pg, uint64_t *hits,
		       const struct acl_pkt *p)
{
	const struct acl_fast *f = __atomic_load_n(&pg->fast, __ATOMIC_ACQUIRE);
	uint32_t res[RTE_ACL_MAX_CATEGORIES] = { 0 };
	struct fkey k;
	const uint8_t *data = (const uint8_t *)&k;

	fkey_of(&k, p);
	if (f->ctx)
		rte_acl_classify(f->ctx, &data, res, 1, f->n_cat);
	return acl_fast_decide(pg, hits, res);
}

/*
 * One rte_acl_classify() over the whole batch: rte_acl runs 16 (AVX2) or
 * 8/4 (SSE) searches side by side and falls back to its scalar walk below
 * 4, so classifying a burst's new flows one by one cost several times
 * more per flow than l3fwd's burst-wide call.
 */
uint32_t acl_fast_classify_bulk(const struct acl_prog *pg,
				const struct acl_pkt *const *p, uint32_t n,
				uint32_t *res)
{
	const struct acl_fast *f = __atomic_load_n(&pg->fast, __ATOMIC_ACQUIRE);
	struct fkey k[ACL_BULK_MAX];
	const uint8_t *data[ACL_BULK_MAX];

	if (f->ctx == NULL) {
		memset(res, 0, (size_t)n * f->n_cat * sizeof(*res));
		return f->n_cat;
	}
	for (uint32_t i = 0; i < n; i++) {
		fkey_of(&k[i], p[i]);
		data[i] = (const uint8_t *)&k[i];
	}
	rte_acl_classify(f->ctx, data, res, n, f->n_cat);
	return f->n_cat;
}
