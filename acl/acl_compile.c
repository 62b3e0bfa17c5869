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

#include "acl/acl_priv.h"
#include "acl/eval_priv.h"
#include "dp/log.h"

/* Programs built from the same plan are identical rule for rule (only
 * their hit counter ids differ), so they share one rte_acl form: they form
 * a group. The key is the plan: direction, then per tier its end action
 * and policies. */
struct plan_fast {
	UT_hash_handle hh;
	uint32_t grp;
	size_t klen;
	uintptr_t key[];
};

/* A peer selector's IP set, resolved once per compile: many rules (one per
 * policy of a namespace, typically) share a selector, and each resolution
 * walks every pod. Keyed by the selector's canonical form. What it
 * resolved to is kept in the set (acl_sel_dep) for the next build. */
struct sel_memo {
	UT_hash_handle hh;
	struct acl_sel_dep dep;
	struct acl_iset set;
};

struct cbuild {
	const struct acl_world *w;
	struct sel_memo *memo;
	struct acl_np_dep *np;
	size_t n_np, cap_np;
	/* acl_set_update(): resolutions come from prev and the changes */
	const struct acl_set *prev;
	const struct acl_pod_change *ch;
	size_t n_ch;
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

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
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

/* Append @p x (@p sz bytes) to the array *@p v of *@p n, capacity *@p cap. */
static int vec_add(void **v, uint32_t *n, uint32_t *cap, size_t sz,
		   const void *x)
{
	if (*n == *cap) {
		uint32_t nc = *cap ? 2 * *cap : 8;
		void *nv = realloc(*v, nc * sz);

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	memcpy((char *)*v + (size_t)(*n)++ * sz, x, sz);
	return 0;
}

/* First index of the sorted array @p v whose element is not below @p x. */
static uint32_t lower_bound(const void *v, uint32_t n, size_t sz,
			    const void *x, int (*cmp)(const void *, const void *))
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (cmp((const char *)v + (size_t)mid * sz, x) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sorted multisets (an address twice when two pods claim it): insert,
 * remove one occurrence (-ENOENT when absent: the caller's view of the
 * pods was not the set's). */
static int ms_add(void **v, uint32_t *n, uint32_t *cap, size_t sz,
		  const void *x, int (*cmp)(const void *, const void *))
{
	uint32_t at = lower_bound(*v, *n, sz, x, cmp);
	int rc = vec_add(v, n, cap, sz, x);
	char *b = *v;

	if (rc)
		return rc;
	memmove(b + (at + 1) * sz, b + at * sz, (*n - 1 - at) * sz);
	memcpy(b + at * sz, x, sz);
	return 0;
}

static int ms_del(void *v, uint32_t *n, size_t sz, const void *x,
		  int (*cmp)(const void *, const void *))
{
	uint32_t at = lower_bound(v, *n, sz, x, cmp);
	char *b = v;

	if (at == *n || cmp(b + at * sz, x) != 0)
		return -ENOENT;
	memmove(b + at * sz, b + (at + 1) * sz, (*n - at - 1) * sz);
	(*n)--;
	return 0;
}

/* A pod the world would hold (acl_world_add_pod) that @p sel selects
 * (every pod when @p sel is NULL). */
static bool pod_selected(const struct acl_world *w, const struct ctl_pod *p,
			 const struct acl_sel *sel)
{
	if (!p || !p->node || p->host_network)
		return false;
	return !sel || world_pod_matches(w, p, sel, sel_required_ns(sel));
}

/* Pod @p p's part of selector @p d's addresses: in (add) or out. */
static int sel_dep_pod(const struct acl_world *w, struct acl_sel_dep *d,
		       uint32_t *cap, const struct ctl_pod *p, bool add)
{
	if (!pod_selected(w, p, d->sel))
		return 0;
	for (size_t j = 0; j < p->n_ips; j++) {
		int rc = add ? ms_add((void **)&d->ips, &d->n_ips, cap,
				      sizeof(uint32_t), &p->ips[j], cmp_u32) :
			       ms_del(d->ips, &d->n_ips, sizeof(uint32_t),
				      &p->ips[j], cmp_u32);
		if (rc)
			return rc;
	}
	return 0;
}

/* Pod @p p's part of named port @p d: (IP, proto, port) of each port so
 * named, for each of its addresses. */
static int np_dep_pod(const struct acl_world *w, struct acl_np_dep *d,
		      uint32_t *cap, const struct ctl_pod *p, bool add)
{
	if (!pod_selected(w, p, d->sel))
		return 0;
	for (size_t q = 0; q < p->n_ports; q++) {
		if (strcmp(p->ports[q].name, d->name))
			continue;
		for (size_t a = 0; a < p->n_ips; a++) {
			struct acl_npt t = {
				.ip = p->ips[a],
				.port = p->ports[q].port,
				.proto = p->ports[q].proto,
			};
			int rc = add ? ms_add((void **)&d->v, &d->n, cap,
					      sizeof(t), &t, cmp_npt) :
				       ms_del(d->v, &d->n, sizeof(t), &t,
					      cmp_npt);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The previous set's resolution of selector @p key, or NULL. */
static const struct acl_sel_dep *prev_sel(const struct acl_set *s,
					  const char *key)
{
	for (uint32_t i = 0; i < s->n_dep_sel; i++)
		if (!strcmp(s->dep_sel[i].key, key))
			return &s->dep_sel[i];
	return NULL;
}

static const struct acl_np_dep *prev_np(const struct acl_set *s,
					const struct acl_sel *sel,
					const char *name)
{
	for (uint32_t i = 0; i < s->n_dep_np; i++)
		if (s->dep_np[i].sel == sel && !strcmp(s->dep_np[i].name, name))
			return &s->dep_np[i];
	return NULL;
}

/* The addresses of the pods @p d->sel selects: from the world's pods, or
 * (acl_set_update()) from the previous set's and the changed pods. */
static int sel_dep_resolve(struct cbuild *b, struct acl_sel_dep *d)
{
	const struct acl_world *w = b->w;
	uint32_t cap = 0;
	int rc = 0;

	if (b->prev) {
		const struct acl_sel_dep *p = prev_sel(b->prev, d->key);

		if (!p)
			return -ENOENT;
		if (p->n_ips) {
			if (!(d->ips = malloc(p->n_ips * sizeof(*d->ips))))
				return -ENOMEM;
			memcpy(d->ips, p->ips, p->n_ips * sizeof(*d->ips));
			d->n_ips = cap = p->n_ips;
		}
		for (size_t i = 0; i < b->n_ch && !rc; i++) {
			rc = sel_dep_pod(w, d, &cap, b->ch[i].old, false);
			if (!rc)
				rc = sel_dep_pod(w, d, &cap, b->ch[i].cur, true);
		}
	} else {
		for (size_t i = 0; i < w->pods.n && !rc; i++) {
			const struct ctl_pod *pod = w->pods.v[i];

			if (!pod->n_ips || !world_pod_matches(w, pod, d->sel,
							      sel_required_ns(d->sel)))
				continue;
			for (size_t j = 0; j < pod->n_ips && !rc; j++)
				rc = vec_add((void **)&d->ips, &d->n_ips, &cap,
					     sizeof(uint32_t), &pod->ips[j]);
		}
		if (!rc && d->n_ips)
			qsort(d->ips, d->n_ips, sizeof(*d->ips), cmp_u32);
	}
	return rc;
}

static int iset_from_sel(struct cbuild *b, struct acl_iset *s,
			 const struct acl_sel *sel)
{
	const char *key = acl_sel_str(sel);
	struct acl_ipset nets = { 0 };
	struct acl_cidr *all = NULL;
	struct sel_memo *m;
	int rc;

	HASH_FIND_STR(b->memo, key, m);
	if (m)
		return iset_copy(s, &m->set);
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	m->dep.key = key;
	m->dep.sel = sel;
	/* network sets are not pods: always from the world */
	rc = sel_dep_resolve(b, &m->dep) ?:
	     acl_world_sel_netset_ipset(b->w, sel, &nets);
	if (rc == 0 && !(all = malloc((m->dep.n_ips + nets.n + 1) *
				      sizeof(*all))))
		rc = -ENOMEM;
	if (rc == 0) {
		for (uint32_t i = 0; i < m->dep.n_ips; i++)
			all[i] = (struct acl_cidr){ m->dep.ips[i], 32 };
		if (nets.n)
			memcpy(all + m->dep.n_ips, nets.v,
			       nets.n * sizeof(*all));
		rc = iset_from(&m->set, all, m->dep.n_ips + nets.n) ?:
		     iset_copy(s, &m->set);
	}
	free(all);
	acl_ipset_clear(&nets);
	if (rc) {
		free(m->dep.ips);
		free(m->set.lo);
		free(m);
		return rc;
	}
	HASH_ADD_KEYPTR(hh, b->memo, m->dep.key, strlen(m->dep.key), m);
	return 0;
}

/* Hand the pod dependencies of the build over to @p s. */
static int deps_keep(struct cbuild *b, struct acl_set *s)
{
	struct sel_memo *m, *tmp;
	uint32_t n = 0;

	s->dep_sel = calloc(HASH_COUNT(b->memo) + 1, sizeof(*s->dep_sel));
	if (!s->dep_sel)
		return -ENOMEM;
	HASH_ITER(hh, b->memo, m, tmp) {
		s->dep_sel[n++] = m->dep;
		m->dep.ips = NULL;
	}
	s->n_dep_sel = n;
	s->dep_np = b->np;
	s->n_dep_np = (uint32_t)b->n_np;
	b->np = NULL;
	b->n_np = 0;
	return 0;
}

/* The (IP, proto, port) entries of named port @p name over @p sel's pods,
 * resolved once per build (and kept in the set). */
static int np_dep_get(struct cbuild *b, const struct acl_sel *sel,
		      const char *name, const struct acl_np_dep **out)
{
	const struct acl_world *w = b->w;
	struct acl_np_dep d = { sel, name, 0, NULL };
	uint32_t cap = 0;
	int rc = 0;

	for (size_t i = 0; i < b->n_np; i++)
		if (b->np[i].sel == sel && !strcmp(b->np[i].name, name)) {
			*out = &b->np[i];
			return 0;
		}
	if (b->prev) {
		const struct acl_np_dep *p = prev_np(b->prev, sel, name);

		if (!p)
			return -ENOENT;
		if (p->n) {
			if (!(d.v = malloc(p->n * sizeof(*d.v))))
				return -ENOMEM;
			memcpy(d.v, p->v, p->n * sizeof(*d.v));
			d.n = cap = p->n;
		}
		for (size_t i = 0; i < b->n_ch && !rc; i++) {
			rc = np_dep_pod(w, &d, &cap, b->ch[i].old, false);
			if (!rc)
				rc = np_dep_pod(w, &d, &cap, b->ch[i].cur, true);
		}
	} else {
		for (size_t j = 0; j < w->pods.n && !rc; j++) {
			const struct ctl_pod *pod = w->pods.v[j];

			for (size_t q = 0; q < pod->n_ports && !rc; q++) {
				if (strcmp(pod->ports[q].name, name) ||
				    (sel && !world_pod_matches(w, pod, sel,
							       sel_required_ns(sel))))
					continue;
				for (size_t a = 0; a < pod->n_ips && !rc; a++) {
					struct acl_npt t = {
						.ip = pod->ips[a],
						.port = pod->ports[q].port,
						.proto = pod->ports[q].proto,
					};
					rc = vec_add((void **)&d.v, &d.n, &cap,
						     sizeof(t), &t);
				}
			}
		}
		if (!rc && d.n)
			qsort(d.v, d.n, sizeof(*d.v), cmp_npt);
	}
	if (!rc && b->n_np == b->cap_np) {
		size_t nc = b->cap_np ? 2 * b->cap_np : 8;
		void *v = realloc(b->np, nc * sizeof(*b->np));

		if (!v)
			rc = -ENOMEM;
		else {
			b->np = v;
			b->cap_np = nc;
		}
	}
	if (rc) {
		free(d.v);
		return rc;
	}
	b->np[b->n_np] = d;
	*out = &b->np[b->n_np++];
	return 0;
}

static void np_deps_free(struct acl_np_dep *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].v);
	free(v);
}

static void memo_free(struct cbuild *b)
{
	struct sel_memo *m, *tmp;

	np_deps_free(b->np, b->n_np);
	b->np = NULL;
	b->n_np = 0;
	HASH_ITER(hh, b->memo, m, tmp) {
		HASH_DEL(b->memo, m);
		free(m->dep.ips);
		free(m->set.lo);
		free(m);
	}
}

/* Named ports resolve against every endpoint matching the side's selector
 * that carries a port of that name (acl/eval.c named_port_match). */
static int pset_from(struct cbuild *b, struct acl_pset *ps,
		     const struct acl_port *p, size_t n,
		     const struct acl_sel *sel)
{
	uint32_t cap = 0;

	memset(ps, 0, sizeof(*ps));
	if (n == 0)
		return 0;
	if (!(ps->lo = malloc(2 * n * sizeof(uint16_t))))
		return -ENOMEM;
	ps->hi = ps->lo + n;
	for (size_t i = 0; i < n; i++) {
		const struct acl_np_dep *d;
		int rc;

		if (!p[i].name) {
			ps->lo[ps->n_ranges] = p[i].lo;
			ps->hi[ps->n_ranges++] = p[i].hi;
			continue;
		}
		if ((rc = np_dep_get(b, sel, p[i].name, &d)))
			return rc;
		for (uint32_t k = 0; k < d->n; k++)
			if ((rc = vec_add((void **)&ps->named, &ps->n_named,
					  &cap, sizeof(d->v[k]), &d->v[k])))
				return rc;
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
	free(p->q);
	free(p->pol);
	memset(p, 0, sizeof(*p));
}

static int rule_build(struct cbuild *b, struct acl_crule *c,
		      const struct acl_rule *r)
{
	c->op = ACL_OP_RULE;
	c->action = (uint8_t)r->action;
	c->never = (r->flags & ACL_RULE_V6_ONLY) || r->src.nets_v6_only ||
		   r->dst.nets_v6_only || r->src.not_nets_v6_only ||
		   r->dst.not_nets_v6_only;
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

static bool iset_same(const struct acl_iset *a, const struct acl_iset *b)
{
	return a->n == b->n &&
	       (!a->n || (!memcmp(a->lo, b->lo, a->n * sizeof(*a->lo)) &&
			  !memcmp(a->hi, b->hi, a->n * sizeof(*a->hi))));
}

static bool pset_same(const struct acl_pset *a, const struct acl_pset *b)
{
	return a->n_ranges == b->n_ranges && a->n_named == b->n_named &&
	       (!a->n_ranges ||
		(!memcmp(a->lo, b->lo, a->n_ranges * sizeof(*a->lo)) &&
		 !memcmp(a->hi, b->hi, a->n_ranges * sizeof(*a->hi)))) &&
	       (!a->n_named ||
		!memcmp(a->named, b->named, a->n_named * sizeof(*a->named)));
}

static bool cent_same(const struct acl_cent *a, const struct acl_cent *b)
{
	return a->has_nets == b->has_nets && a->has_sel == b->has_sel &&
	       a->has_ports == b->has_ports &&
	       iset_same(&a->nets, &b->nets) &&
	       iset_same(&a->not_nets, &b->not_nets) &&
	       iset_same(&a->sel, &b->sel) &&
	       iset_same(&a->not_sel, &b->not_sel) &&
	       pset_same(&a->ports, &b->ports) &&
	       pset_same(&a->not_ports, &b->not_ports);
}

/* Whether @p a and @p b match the same packets with the same actions, rule
 * for rule (hit counter ids aside): then an rte_acl form built from one
 * serves the other (it refers to rules by index). */
static bool prog_same(const struct acl_prog *a, const struct acl_prog *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct acl_crule *x = &a->r[i], *y = &b->r[i];

		if (x->op != y->op || x->action != y->action ||
		    x->never != y->never || x->proto != y->proto ||
		    x->not_proto != y->not_proto || x->pass_to != y->pass_to ||
		    memcmp(&x->icmp, &y->icmp, sizeof(x->icmp)) ||
		    memcmp(&x->not_icmp, &y->not_icmp, sizeof(x->icmp)) ||
		    !cent_same(&x->src, &y->src) || !cent_same(&x->dst, &y->dst))
			return false;
	}
	return true;
}

/* acl_set_update(): the previous set's attached form of program @p i when
 * @p pg is the same program, or NULL. The previous set is the published
 * one, whose forms only the control thread (this one) attaches. */
static struct acl_fast *prev_fast(const struct cbuild *b, uint32_t i,
				  const struct acl_prog *pg)
{
	const struct acl_set *p = b->prev;

	if (!p || i >= p->n_ep * ACL_DIR_MAX || !p->prog[i].fast ||
	    !prog_same(&p->prog[i], pg))
		return NULL;
	return (struct acl_fast *)(uintptr_t)p->prog[i].fast;
}

/* Put program @p i (@p pg) in the group of its plan, a new one the first
 * time: the background builder makes one rte_acl form per group, unless
 * the group keeps the previous set's (acl_set_update(), unchanged
 * program): then its programs have it before the set is published. */
static int prog_group(struct cbuild *b, struct acl_set *s, uint32_t i,
		      struct acl_prog *pg, const struct acl_plan *plan,
		      enum acl_dir d)
{
	struct plan_fast *pf, *have;
	void *nv;

	if (pg->n == 0)
		return 0;
	if (!(pf = plan_key(plan, d)))
		return -ENOMEM;
	HASH_FIND(hh, b->plans, pf->key, pf->klen, have);
	if (have) {
		free(pf);
		s->prog_grp[i] = have->grp;
		pg->fast = s->fast[have->grp];
		return 0;
	}
	if (!(nv = realloc(s->fast, (s->n_fast + 1) * sizeof(*s->fast)))) {
		free(pf);
		return -ENOMEM;
	}
	s->fast = nv;
	if (!(nv = realloc(s->grp_prog,
			   (s->n_fast + 1) * sizeof(*s->grp_prog)))) {
		free(pf);
		return -ENOMEM;
	}
	s->grp_prog = nv;
	s->grp_prog[s->n_fast] = i;
	s->fast[s->n_fast] = prev_fast(b, i, pg);
	if (s->fast[s->n_fast])
		acl_fast_get(s->fast[s->n_fast]);
	pg->fast = s->fast[s->n_fast];
	pf->grp = s->n_fast++;
	HASH_ADD(hh, b->plans, key, pf->klen, pf);
	s->prog_grp[i] = pf->grp;
	return 0;
}

/* struct acl_quick of @p r: conditions rule_match() implies. */
static struct acl_quick quick_of(const struct acl_crule *r)
{
	struct acl_quick q = { .dlo = 0, .dhi = UINT16_MAX };

	if (r->op != ACL_OP_RULE) {
		q.walk = 1;
		return q;
	}
	if (r->proto > 0 && r->proto <= UINT8_MAX)
		q.proto = (uint8_t)r->proto;
	/* Only plain ranges bound the port; named ports (any port of some
	 * pods) leave it open. */
	const struct acl_pset *ps = &r->dst.ports;

	if (r->dst.has_ports && ps->n_named == 0 && ps->n_ranges > 0) {
		q.dlo = UINT16_MAX;
		q.dhi = 0;
		for (uint32_t i = 0; i < ps->n_ranges; i++) {
			q.dlo = RTE_MIN(q.dlo, ps->lo[i]);
			q.dhi = RTE_MAX(q.dhi, ps->hi[i]);
		}
	}
	return q;
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
	if (!(pg->q = malloc(pg->n * sizeof(*pg->q))))
		return -ENOMEM;
	for (uint32_t i = 0; i < pg->n; i++)
		pg->q[i] = quick_of(&pg->r[i]);
	return 0;
}

/*
 * Each group's scope (struct acl_scope): the /26 blocks of its endpoints'
 * addresses, on the destination side for ingress, the source side for
 * egress. A form kept from the previous set (prev_fast()) stays only if
 * it was built for at least these blocks: an endpoint that joined the
 * group in a new block needs a new form, built in the background.
 */
static int grp_scopes(struct acl_set *s, const struct ctl_pod *const *eps)
{
	uint32_t n_prog = s->n_ep * ACL_DIR_MAX;

	if (!(s->grp_scope = calloc(s->n_fast + 1, sizeof(*s->grp_scope))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n_prog; i++) {
		uint32_t g = s->prog_grp[i];
		const struct ctl_pod *ep = eps[i / ACL_DIR_MAX];

		if (g == UINT32_MAX || !ep)
			continue;
		struct acl_scope *sc = &s->grp_scope[g];
		uint32_t *nv = realloc(sc->base,
				       (sc->n + ep->n_ips + 1) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sc->base = nv;
		sc->side = i % ACL_DIR_MAX == ACL_DIR_INGRESS ? ACL_SCOPE_DST :
							       ACL_SCOPE_SRC;
		for (size_t j = 0; j < ep->n_ips; j++)
			sc->base[sc->n++] = ep->ips[j] & ~(ACL_SCOPE_BLOCK - 1);
	}
	for (uint32_t g = 0; g < s->n_fast; g++) {
		struct acl_scope *sc = &s->grp_scope[g];
		uint32_t k = 0;

		if (sc->n)
			qsort(sc->base, sc->n, sizeof(*sc->base), cmp_u32);
		for (uint32_t j = 0; j < sc->n; j++)
			if (k == 0 || sc->base[k - 1] != sc->base[j])
				sc->base[k++] = sc->base[j];
		sc->n = k;
		if (!s->fast[g] || acl_scope_covers(&s->fast[g]->scope, sc))
			continue;
		acl_fast_put(s->fast[g]);
		s->fast[g] = NULL;
		for (uint32_t i = 0; i < n_prog; i++)
			if (s->prog_grp[i] == g)
				s->prog[i].fast = NULL;
	}
	return 0;
}

static void plans_free(struct cbuild *b)
{
	struct plan_fast *pf, *tmp;

	HASH_ITER(hh, b->plans, pf, tmp) {
		HASH_DEL(b->plans, pf);
		free(pf);
	}
}

static struct acl_set *set_build(struct cbuild *b,
				 const struct ctl_pod *const *eps,
				 uint32_t n_ep, unsigned int n_workers,
				 uint64_t gen, bool rte_acl)
{
	const struct acl_world *w = b->w;
	struct acl_set *s = calloc(1, sizeof(*s));
	struct timespec t0, t1;
	int rc = -ENOMEM;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!s || !(s->prog = calloc((size_t)n_ep * ACL_DIR_MAX + 1,
				     sizeof(*s->prog))))
		goto fail;
	s->gen = (uint32_t)gen;
	s->n_ep = n_ep;
	s->n_workers = n_workers ? n_workers : 1;
	s->refs = 1;
	if (rte_acl) {
		s->prog_grp = malloc(((size_t)n_ep * ACL_DIR_MAX + 1) *
				     sizeof(*s->prog_grp));
		if (!s->prog_grp)
			goto fail;
		for (uint32_t i = 0; i < n_ep * ACL_DIR_MAX; i++)
			s->prog_grp[i] = UINT32_MAX;
	}
	for (uint32_t e = 0; e < n_ep; e++) {
		if (!eps[e])
			continue;
		for (int d = 0; d < ACL_DIR_MAX; d++) {
			struct acl_plan plan;

			if ((rc = acl_plan_build(w, eps[e], d, &plan)))
				goto fail;
			uint32_t i = e * ACL_DIR_MAX + d;
			struct acl_prog *pg = &s->prog[i];

			rc = prog_build(b, pg, &plan, d);
			if (rc == 0 && rte_acl)
				rc = prog_group(b, s, i, pg, &plan, d);
			acl_plan_clear(&plan);
			if (rc)
				goto fail;
			s->info.programs += pg->n > 0;
			s->info.rules += pg->n;
		}
	}
	s->n_ids = b->next_id;
	s->hits = calloc((size_t)s->n_workers * s->n_ids + 1, sizeof(uint64_t));
	if (!s->hits || (rc = deps_keep(b, s)) ||
	    (rte_acl && (rc = grp_scopes(s, eps))))
		goto fail;
	memo_free(b);
	plans_free(b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->info.build_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			   (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (rte_acl)
		acl_bg_start(s);
	return s;
fail:
	memo_free(b);
	plans_free(b);
	if (rc == -ENOENT)
		snprintf(b->err, b->errlen,
			 "policy update: a selector the last set lacks");
	else
		snprintf(b->err, b->errlen, "policy compile: out of memory");
	if (s)
		acl_set_destroy(s); /* no builder yet */
	return NULL;
}

struct acl_set *acl_set_build(const struct acl_world *w,
			      const struct ctl_pod *const *eps, uint32_t n_ep,
			      unsigned int n_workers, uint64_t gen,
			      bool rte_acl, char *err, size_t errlen)
{
	struct cbuild b = { .w = w, .err = err, .errlen = errlen };

	return set_build(&b, eps, n_ep, n_workers, gen, rte_acl);
}

struct acl_set *acl_set_update(const struct acl_set *prev,
			       const struct acl_world *w,
			       const struct ctl_pod *const *eps, uint32_t n_ep,
			       unsigned int n_workers, uint64_t gen,
			       bool rte_acl, const struct acl_pod_change *ch,
			       size_t n_ch, char *err, size_t errlen)
{
	struct cbuild b = {
		.w = w, .err = err, .errlen = errlen,
		.prev = prev, .ch = ch, .n_ch = n_ch,
	};

	return set_build(&b, eps, n_ep, n_workers, gen, rte_acl);
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
	if (s)
		acl_bg_release(s);
}

void acl_set_destroy(struct acl_set *s)
{
	for (uint32_t i = 0; s->prog && i < s->n_ep * ACL_DIR_MAX; i++)
		prog_free(&s->prog[i]);
	free(s->prog);
	for (uint32_t i = 0; s->fast && i < s->n_fast; i++)
		acl_fast_put(s->fast[i]);
	free(s->fast);
	free(s->grp_prog);
	free(s->prog_grp);
	for (uint32_t i = 0; s->grp_scope && i < s->n_fast; i++)
		free(s->grp_scope[i].base);
	free(s->grp_scope);
	free(s->hits);
	for (uint32_t i = 0; i < s->n_dep_sel; i++)
		free(s->dep_sel[i].ips);
	free(s->dep_sel);
	np_deps_free(s->dep_np, s->n_dep_np);
	free(s);
}

static bool same_ips(const struct ctl_pod *a, const struct ctl_pod *b)
{
	return a->n_ips == b->n_ips &&
	       !memcmp(a->ips, b->ips, a->n_ips * sizeof(a->ips[0]));
}

/* The pod's ports called @p name, in order, are the same in @p a and @p b. */
static bool same_named(const struct ctl_pod *a, const struct ctl_pod *b,
		       const char *name)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->n_ports && strcmp(a->ports[i].name, name))
			i++;
		while (j < b->n_ports && strcmp(b->ports[j].name, name))
			j++;
		if (i == a->n_ports || j == b->n_ports)
			return i == a->n_ports && j == b->n_ports;
		if (a->ports[i].port != b->ports[j].port ||
		    a->ports[i].proto != b->ports[j].proto)
			return false;
		i++;
		j++;
	}
}

static bool has_named(const struct ctl_pod *p, const char *name)
{
	for (size_t i = 0; i < p->n_ports; i++)
		if (!strcmp(p->ports[i].name, name))
			return true;
	return false;
}

bool acl_set_pod_matters(const struct acl_set *s, const struct acl_world *w,
			 const struct ctl_pod *old, const struct ctl_pod *cur)
{
	for (uint32_t i = 0; i < s->n_dep_sel; i++) {
		const struct acl_sel *sel = s->dep_sel[i].sel;
		/* acl_world_sel_ipset(): selected pods with addresses */
		bool a = pod_selected(w, old, sel) && old->n_ips;
		bool c = pod_selected(w, cur, sel) && cur->n_ips;

		if (a != c || (a && !same_ips(old, cur)))
			return true;
	}
	for (uint32_t i = 0; i < s->n_dep_np; i++) {
		const struct acl_np_dep *d = &s->dep_np[i];
		/* pset_from(): (IP, proto, port) of each port so named */
		bool a = pod_selected(w, old, d->sel) && old->n_ips &&
			 has_named(old, d->name);
		bool c = pod_selected(w, cur, d->sel) && cur->n_ips &&
			 has_named(cur, d->name);

		if (a != c || (a && (!same_ips(old, cur) ||
				     !same_named(old, cur, d->name))))
			return true;
	}
	return false;
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
