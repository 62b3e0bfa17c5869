/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compile endpoint plans into flat programs (see acl/acl.h "Compile").
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include <uthash.h>

#include "acl/acl_priv.h"
#include "acl/eval_priv.h"
#include "dp/log.h"

/* Programs built from the same plan are identical rule for rule (only
 * their hit counter ids differ), so they share one rte_acl form. The key
 * is the plan: direction, then per tier its end action and policies. */
struct plan_fast {
	UT_hash_handle hh;
	const struct acl_fast *fast; /**< NULL: linear */
	size_t klen;
	uintptr_t key[];
};

/* A peer selector's IP set, resolved once per compile: many rules (one per
 * policy of a namespace, typically) share a selector, and each resolution
 * walks every pod. Keyed by the selector's canonical form. */
struct sel_memo {
	UT_hash_handle hh;
	const char *key; /* the selector's str, which outlives the build */
	struct acl_iset set;
};

struct cbuild {
	const struct acl_world *w;
	struct sel_memo *memo;
	struct plan_fast *plans;
	uint32_t next_id;
	char *err;
	size_t errlen;
};

static int cmp_range(const void *pa, const void *pb)
{
	const uint64_t *a = pa, *b = pb;

	return *a < *b ? -1 : *a > *b;
}

/* CIDRs → sorted, merged intervals. Each interval is packed lo << 32 | hi
 * while sorting. */
static int iset_from(struct acl_iset *s, const struct acl_cidr *c, size_t n)
{
	uint64_t *v;
	uint32_t k = 0;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return 0;
	if (!(v = malloc(n * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t size = c[i].plen >= 32 ? 0 : ~0u >> c[i].plen;

		v[i] = (uint64_t)c[i].net << 32 | (c[i].net | size);
	}
	qsort(v, n, sizeof(*v), cmp_range);
	if (!(s->lo = malloc(2 * n * sizeof(uint32_t)))) {
		free(v);
		return -ENOMEM;
	}
	s->hi = s->lo + n;
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = (uint32_t)(v[i] >> 32), hi = (uint32_t)v[i];

		if (k && (uint64_t)s->hi[k - 1] + 1 >= lo) {
			if (hi > s->hi[k - 1])
				s->hi[k - 1] = hi;
			continue;
		}
		s->lo[k] = lo;
		s->hi[k++] = hi;
	}
	/* hi was laid out after n slots; keep it there. */
	s->n = k;
	free(v);
	return 0;
}

static int iset_copy(struct acl_iset *dst, const struct acl_iset *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	if (!(dst->lo = malloc(2 * (size_t)src->n * sizeof(uint32_t))))
		return -ENOMEM;
	dst->hi = dst->lo + src->n;
	dst->n = src->n;
	memcpy(dst->lo, src->lo, src->n * sizeof(uint32_t));
	memcpy(dst->hi, src->hi, src->n * sizeof(uint32_t));
	return 0;
}

static int iset_from_sel(struct cbuild *b, struct acl_iset *s,
			 const struct acl_sel *sel)
{
	const char *key = acl_sel_str(sel);
	struct acl_ipset ips = { 0 };
	struct sel_memo *m;
	int rc;

	HASH_FIND_STR(b->memo, key, m);
	if (m)
		return iset_copy(s, &m->set);
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	rc = acl_world_sel_ipset(b->w, sel, &ips);
	if (rc == 0)
		rc = iset_from(&m->set, ips.v, ips.n);
	acl_ipset_clear(&ips);
	if (rc == 0)
		rc = iset_copy(s, &m->set);
	if (rc) {
		free(m->set.lo);
		free(m);
		return rc;
	}
	m->key = key;
	HASH_ADD_KEYPTR(hh, b->memo, m->key, strlen(m->key), m);
	return 0;
}

static void memo_free(struct cbuild *b)
{
	struct sel_memo *m, *tmp;

	HASH_ITER(hh, b->memo, m, tmp) {
		HASH_DEL(b->memo, m);
		free(m->set.lo);
		free(m);
	}
}

static int cmp_npt(const void *pa, const void *pb)
{
	const struct acl_npt *a = pa, *b = pb;

	if (a->ip != b->ip)
		return a->ip < b->ip ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

/* Named ports resolve against every endpoint matching the side's selector
 * that carries a port of that name (acl/eval.c named_port_match). */
static int pset_from(const struct cbuild *b, struct acl_pset *ps,
		     const struct acl_port *p, size_t n,
		     const struct acl_sel *sel)
{
	const struct acl_world *w = b->w;
	const char *req_ns = sel_required_ns(sel);
	size_t cap = 0;

	memset(ps, 0, sizeof(*ps));
	if (n == 0)
		return 0;
	if (!(ps->lo = malloc(2 * n * sizeof(uint16_t))))
		return -ENOMEM;
	ps->hi = ps->lo + n;
	for (size_t i = 0; i < n; i++) {
		if (!p[i].name) {
			ps->lo[ps->n_ranges] = p[i].lo;
			ps->hi[ps->n_ranges++] = p[i].hi;
			continue;
		}
		for (size_t j = 0; j < w->pods.n; j++) {
			const struct ctl_pod *pod = w->pods.v[j];

			if (sel && !world_pod_matches(w, pod, sel, req_ns))
				continue;
			for (size_t q = 0; q < pod->n_ports; q++) {
				if (strcmp(pod->ports[q].name, p[i].name))
					continue;
				for (size_t a = 0; a < pod->n_ips; a++) {
					if (ps->n_named == cap) {
						size_t nc = cap ? 2 * cap : 8;
						void *nv = realloc(ps->named,
							nc * sizeof(*ps->named));
						if (!nv)
							return -ENOMEM;
						ps->named = nv;
						cap = nc;
					}
					ps->named[ps->n_named++] = (struct acl_npt){
						.ip = pod->ips[a],
						.port = pod->ports[q].port,
						.proto = pod->ports[q].proto,
					};
				}
			}
		}
	}
	if (ps->n_named)
		qsort(ps->named, ps->n_named, sizeof(*ps->named), cmp_npt);
	return 0;
}

static int cent_build(struct cbuild *b, struct acl_cent *c,
		      const struct acl_entity *e)
{
	int rc;

	c->has_nets = e->n_nets > 0;
	c->has_sel = e->sel != NULL;
	c->has_ports = e->n_ports > 0;
	if ((rc = iset_from(&c->nets, e->nets, e->n_nets)) ||
	    (rc = iset_from(&c->not_nets, e->not_nets, e->n_not_nets)) ||
	    (e->sel && (rc = iset_from_sel(b, &c->sel, e->sel))) ||
	    (e->not_sel && (rc = iset_from_sel(b, &c->not_sel, e->not_sel))) ||
	    (rc = pset_from(b, &c->ports, e->ports, e->n_ports, e->sel)) ||
	    (rc = pset_from(b, &c->not_ports, e->not_ports, e->n_not_ports,
			    e->sel)))
		return rc;
	return 0;
}

static void cent_free(struct acl_cent *c)
{
	free(c->nets.lo);
	free(c->not_nets.lo);
	free(c->sel.lo);
	free(c->not_sel.lo);
	free(c->ports.lo);
	free(c->ports.named);
	free(c->not_ports.lo);
	free(c->not_ports.named);
}

static void prog_free(struct acl_prog *p)
{
	for (uint32_t i = 0; i < p->n; i++) {
		cent_free(&p->r[i].src);
		cent_free(&p->r[i].dst);
	}
	for (uint32_t i = 0; i < p->n_pol; i++)
		free(p->pol[i].name);
	free(p->r);
	free(p->pol);
	memset(p, 0, sizeof(*p));
}

static int rule_build(struct cbuild *b, struct acl_crule *c,
		      const struct acl_rule *r)
{
	c->op = ACL_OP_RULE;
	c->action = (uint8_t)r->action;
	c->never = (r->flags & ACL_RULE_V6_ONLY) || r->src.nets_v6_only ||
		   r->dst.nets_v6_only;
	c->proto = (int16_t)r->proto;
	c->not_proto = (int16_t)r->not_proto;
	c->icmp = r->icmp;
	c->not_icmp = r->not_icmp;
	c->id = b->next_id++;
	if (c->never)
		return 0;
	return cent_build(b, &c->src, &r->src) ?: cent_build(b, &c->dst, &r->dst);
}

static struct plan_fast *plan_key(const struct acl_plan *plan, enum acl_dir d)
{
	size_t n = 2;

	for (size_t t = 0; t < plan->n; t++)
		n += 2 + plan->tiers[t].n;
	struct plan_fast *pf = calloc(1, sizeof(*pf) + n * sizeof(uintptr_t));

	if (!pf)
		return NULL;
	pf->key[pf->klen++] = (uintptr_t)d;
	pf->key[pf->klen++] = plan->n;
	for (size_t t = 0; t < plan->n; t++) {
		pf->key[pf->klen++] = (uintptr_t)plan->tiers[t].end_action;
		pf->key[pf->klen++] = plan->tiers[t].n;
		for (size_t i = 0; i < plan->tiers[t].n; i++)
			pf->key[pf->klen++] = (uintptr_t)plan->tiers[t].pols[i];
	}
	pf->klen *= sizeof(uintptr_t);
	return pf;
}

/* Give @p pg the rte_acl form of its plan, building it the first time. A
 * program that cannot have one stays linear (not an error). */
static int prog_fast(struct cbuild *b, struct acl_set *s, struct acl_prog *pg,
		     const struct acl_plan *plan, enum acl_dir d)
{
	struct plan_fast *pf, *have;
	struct acl_fast *f;
	int rc;

	if (pg->n == 0)
		return 0;
	if (!(pf = plan_key(plan, d)))
		return -ENOMEM;
	HASH_FIND(hh, b->plans, pf->key, pf->klen, have);
	if (have) {
		free(pf);
		pg->fast = have->fast;
		return 0;
	}
	/* Any failure (rte_acl's limits, its memory) leaves the program on
	 * the linear walk, which is always correct. */
	rc = acl_fast_build(pg, &f);
	if (rc == 0) {
		void *nv = realloc(s->fast, (s->n_fast + 1) * sizeof(*s->fast));

		if (!nv) {
			acl_fast_free(f);
			free(pf);
			return -ENOMEM;
		}
		s->fast = nv;
		s->fast[s->n_fast++] = f;
		s->info.acl_rules += f->n_rules;
		pf->fast = f;
	} else if (rc != -ENOTSUP) {
		KDP_LOG(WARNING, "policy program of %u rules stays linear: %s",
			pg->n, strerror(rc < 0 ? -rc : rc));
	}
	HASH_ADD(hh, b->plans, key, pf->klen, pf);
	pg->fast = pf->fast;
	return 0;
}

static int prog_build(struct cbuild *b, struct acl_prog *pg,
		      const struct acl_plan *plan, enum acl_dir d)
{
	uint32_t n = 0, n_pol = 0;

	for (size_t t = 0; t < plan->n; t++) {
		n++;
		for (size_t i = 0; i < plan->tiers[t].n; i++) {
			n += (uint32_t)plan->tiers[t].pols[i]->n_rules[d];
			n_pol++;
		}
	}
	if (n == 0)
		return 0;
	pg->r = calloc(n, sizeof(*pg->r));
	pg->pol = calloc(n_pol, sizeof(*pg->pol));
	if (!pg->r || !pg->pol)
		return -ENOMEM;
	for (size_t t = 0; t < plan->n; t++) {
		const struct acl_plan_tier *pt = &plan->tiers[t];
		uint32_t start = pg->n;

		for (size_t i = 0; i < pt->n; i++) {
			const struct acl_policy *p = pt->pols[i];
			struct acl_pinfo *pi = &pg->pol[pg->n_pol++];
			char name[512];

			snprintf(name, sizeof(name), "%s/%s%s%s", pt->name,
				 p->ns ? p->ns : "", p->ns ? "/" : "", p->name);
			if (!(pi->name = strdup(name)))
				return -ENOMEM;
			pi->first_id = b->next_id;
			pi->n_rules = (uint32_t)p->n_rules[d];
			for (size_t j = 0; j < p->n_rules[d]; j++) {
				/* Count the rule before building it so that a
				 * half-built rule is freed too. */
				int rc = rule_build(b, &pg->r[pg->n++],
						    &p->rules[d][j]);
				if (rc)
					return rc;
			}
		}
		struct acl_crule *end = &pg->r[pg->n++];

		end->op = ACL_OP_TIER_END;
		end->action = (uint8_t)pt->end_action;
		end->id = b->next_id++;
		for (uint32_t i = start; i < pg->n; i++)
			pg->r[i].pass_to = pg->n;
	}
	return 0;
}

struct acl_set *acl_set_build(const struct acl_world *w,
			      const struct ctl_pod *const *eps, uint32_t n_ep,
			      unsigned int n_workers, uint64_t gen,
			      bool rte_acl, char *err, size_t errlen)
{
	struct cbuild b = { .w = w, .err = err, .errlen = errlen };
	struct acl_set *s = calloc(1, sizeof(*s));
	struct plan_fast *pf, *tmp;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (!s || !(s->prog = calloc((size_t)n_ep * ACL_DIR_MAX + 1,
				     sizeof(*s->prog))))
		goto oom;
	s->gen = (uint32_t)gen;
	s->n_ep = n_ep;
	s->n_workers = n_workers ? n_workers : 1;
	for (uint32_t e = 0; e < n_ep; e++) {
		if (!eps[e])
			continue;
		for (int d = 0; d < ACL_DIR_MAX; d++) {
			struct acl_plan plan;

			if (acl_plan_build(w, eps[e], d, &plan))
				goto oom;
			struct acl_prog *pg = &s->prog[e * ACL_DIR_MAX + d];
			int rc = prog_build(&b, pg, &plan, d);

			if (rc == 0)
				rc = rte_acl ? prog_fast(&b, s, pg, &plan, d) : 0;
			acl_plan_clear(&plan);
			if (rc)
				goto oom;
			s->info.programs += pg->n > 0;
			s->info.fast_programs += pg->fast != NULL;
			s->info.rules += pg->n;
		}
	}
	s->n_ids = b.next_id;
	s->hits = calloc((size_t)s->n_workers * s->n_ids + 1, sizeof(uint64_t));
	if (!s->hits)
		goto oom;
	memo_free(&b);
	HASH_ITER(hh, b.plans, pf, tmp) {
		HASH_DEL(b.plans, pf);
		free(pf);
	}
	s->info.contexts = s->n_fast;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->info.build_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			   (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return s;
oom:
	memo_free(&b);
	HASH_ITER(hh, b.plans, pf, tmp) {
		HASH_DEL(b.plans, pf);
		free(pf);
	}
	snprintf(err, errlen, "policy compile: out of memory");
	acl_set_free(s);
	return NULL;
}

void acl_set_get_info(const struct acl_set *s, struct acl_set_info *out)
{
	if (!s) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->info;
}

void acl_set_free(struct acl_set *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->prog && i < s->n_ep * ACL_DIR_MAX; i++)
		prog_free(&s->prog[i]);
	free(s->prog);
	for (uint32_t i = 0; i < s->n_fast; i++)
		acl_fast_free(s->fast[i]);
	free(s->fast);
	free(s->hits);
	free(s);
}

uint32_t acl_set_gen(const struct acl_set *s)
{
	return s->gen;
}

unsigned int acl_set_describe(const struct acl_set *s, uint32_t ep,
			      enum acl_dir d,
			      void (*fn)(void *arg, const char *line),
			      void *arg)
{
	if (!s || ep >= s->n_ep)
		return 0;
	const struct acl_prog *pg = &s->prog[ep * ACL_DIR_MAX + d];

	for (uint32_t i = 0; i < pg->n_pol; i++) {
		const struct acl_pinfo *pi = &pg->pol[i];
		uint64_t hits = 0;
		char line[600];

		for (uint32_t r = 0; r < pi->n_rules; r++)
			for (unsigned int wk = 0; wk < s->n_workers; wk++)
				hits += s->hits[(size_t)wk * s->n_ids +
						pi->first_id + r];
		snprintf(line, sizeof(line), "%s rules=%u hits=%lu", pi->name,
			 pi->n_rules, (unsigned long)hits);
		fn(arg, line);
	}
	return pg->n_pol;
}
