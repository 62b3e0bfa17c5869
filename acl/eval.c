/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Endpoint plans and packet evaluation, in Felix's order: tiers by order
 * (missing last) then name; policies by order (missing = +inf) then the
 * string "name/namespace/kind"; rules in order. Allow ends evaluation, Deny
 * drops, Log continues, Pass leaves the tier. A tier that ends without a
 * verdict drops unless its defaultAction is Pass; when no tier decides, the
 * kns profile allows.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "acl/eval_priv.h"

#define DEFAULT_TIER "default"
#define DEFAULT_TIER_ORDER 1e6

struct tier_info {
	const char *name;
	double order; /* INFINITY when unset */
	enum acl_action end_action;
};

static struct tier_info tier_of(const struct acl_world *w, const char *name)
{
	struct tier_info ti = { name, INFINITY, ACL_ACT_DENY };

	for (size_t i = 0; i < w->tiers.n; i++) {
		const struct acl_tier *t = w->tiers.v[i];

		if (!strcmp(t->name, name)) {
			ti.order = t->has_order ? t->order : INFINITY;
			ti.end_action = t->default_action;
			return ti;
		}
	}
	/* The default tier exists even without an object. */
	if (!strcmp(name, DEFAULT_TIER))
		ti.order = DEFAULT_TIER_ORDER;
	return ti;
}

struct plan_ent {
	struct tier_info tier;
	const struct acl_policy *pol;
};

static int cmp_double(double a, double b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Felix's kind names (model.PolicyKey.Kind), which take part in the key. */
static const char *pol_kind_name(enum acl_pol_kind k)
{
	static const char *const names[] = {
		[ACL_POL_K8S] = "KubernetesNetworkPolicy",
		[ACL_POL_CALICO] = "NetworkPolicy",
		[ACL_POL_GLOBAL] = "GlobalNetworkPolicy",
	};

	return names[k];
}

/* A read cursor over the parts of "name/namespace/kind". */
struct pol_key {
	const char *part[5];
	unsigned i;
	const char *p;
};

static void pol_key_init(struct pol_key *k, const struct acl_policy *pol)
{
	*k = (struct pol_key){
		{ pol->name, "/", pol->ns ? pol->ns : "", "/",
		  pol_kind_name(pol->kind) }, 0, pol->name
	};
}

/* The next byte, or -1 at the end (a prefix sorts first, as in Go). */
static int pol_key_next(struct pol_key *k)
{
	while (!*k->p) {
		if (++k->i == RTE_DIM(k->part))
			return -1;
		k->p = k->part[k->i];
	}
	return (unsigned char)*k->p++;
}

/*
 * Felix breaks equal orders on the string "name/namespace/kind" as a whole
 * (policy_sorter.go PolKVLess), not field by field: '-' and '.' sort before
 * '/', so "allow-x" runs before "allow". Compare the concatenations without
 * building them.
 */
static int cmp_pol_key(const struct acl_policy *a, const struct acl_policy *b)
{
	struct pol_key ka, kb;
	int x, y;

	pol_key_init(&ka, a);
	pol_key_init(&kb, b);
	do {
		x = pol_key_next(&ka);
		y = pol_key_next(&kb);
	} while (x == y && x >= 0);
	return x - y;
}

static int cmp_ent(const void *pa, const void *pb)
{
	const struct plan_ent *a = pa, *b = pb;
	int c;

	if ((c = cmp_double(a->tier.order, b->tier.order)) ||
	    (c = strcmp(a->tier.name, b->tier.name)))
		return c;
	if ((c = cmp_double(a->pol->has_order ? a->pol->order : INFINITY,
			    b->pol->has_order ? b->pol->order : INFINITY)))
		return c;
	return cmp_pol_key(a->pol, b->pol);
}

void acl_plan_clear(struct acl_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->tiers[i].pols);
	free(p->tiers);
	memset(p, 0, sizeof(*p));
}

int acl_plan_build(const struct acl_world *w, const struct ctl_pod *pod,
		   enum acl_dir d, struct acl_plan *out)
{
	struct plan_ent *ents = calloc(w->pols.n + 1, sizeof(*ents));
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (!ents)
		return -ENOMEM;
	for (size_t i = 0; i < w->pols.n; i++) {
		const struct acl_policy *p = w->pols.v[i];

		if (p->applies[d] && !p->host_only &&
		    world_ep_matches(w, pod, p->selector))
			ents[n++] = (struct plan_ent){ tier_of(w, p->tier), p };
	}
	qsort(ents, n, sizeof(*ents), cmp_ent);
	if (n && !(out->tiers = calloc(n, sizeof(*out->tiers))))
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct acl_plan_tier *t = out->n ? &out->tiers[out->n - 1] : NULL;

		if (!t || strcmp(t->name, ents[i].tier.name)) {
			t = &out->tiers[out->n++];
			t->name = ents[i].tier.name;
			t->end_action = ents[i].tier.end_action;
			if (!(t->pols = calloc(n, sizeof(*t->pols))))
				goto oom;
		}
		t->pols[t->n++] = ents[i].pol;
	}
	free(ents);
	return 0;
oom:
	free(ents);
	acl_plan_clear(out);
	return -ENOMEM;
}

/* Named ports resolve against the endpoints that own @p ip and match the
 * entity's selector (Calico's named-port IP sets). */
static bool named_port_match(const struct acl_world *w,
			     const struct acl_sel *sel, const char *name,
			     uint32_t ip, uint8_t proto, uint16_t port)
{
	const struct ctl_pod *pod = acl_world_endpoint(w, ip);

	if (!pod || (sel && !world_ep_matches(w, pod, sel)))
		return false;
	for (size_t i = 0; i < pod->n_ports; i++) {
		const struct ctl_named_port *np = &pod->ports[i];

		if (np->proto == proto && np->port == port &&
		    !strcmp(np->name, name))
			return true;
	}
	return false;
}

static bool ports_match(const struct acl_world *w, const struct acl_entity *e,
			const struct acl_port *ports, size_t n, uint32_t ip,
			uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < n; i++) {
		if (ports[i].name ?
			    named_port_match(w, e->sel, ports[i].name, ip, proto, port) :
			    (port >= ports[i].lo && port <= ports[i].hi))
			return true;
	}
	return false;
}

static bool cidrs_have(const struct acl_cidr *c, size_t n, uint32_t ip)
{
	for (size_t i = 0; i < n; i++)
		if (acl_cidr_has(&c[i], ip))
			return true;
	return false;
}

static bool entity_match(const struct acl_world *w, const struct acl_entity *e,
			 uint32_t ip, uint8_t proto, uint16_t port)
{
	if (e->nets_v6_only || e->not_nets_v6_only ||
	    (e->n_nets && !cidrs_have(e->nets, e->n_nets, ip)) ||
	    cidrs_have(e->not_nets, e->n_not_nets, ip))
		return false;
	if ((e->sel && !world_sel_has_ip(w, e->sel, ip)) ||
	    (e->not_sel && world_sel_has_ip(w, e->not_sel, ip)))
		return false;
	if (e->n_ports && !ports_match(w, e, e->ports, e->n_ports, ip, proto, port))
		return false;
	return !ports_match(w, e, e->not_ports, e->n_not_ports, ip, proto, port);
}

static bool icmp_match(const struct acl_icmp *ic, const struct acl_pkt *pkt)
{
	return (pkt->proto == 1 || pkt->proto == 58) &&
	       pkt->icmp_type == ic->type &&
	       (!ic->has_code || pkt->icmp_code == ic->code);
}

static bool rule_match(const struct acl_world *w, const struct acl_rule *r,
		       const struct acl_pkt *pkt)
{
	if ((r->flags & ACL_RULE_V6_ONLY) ||
	    (r->proto >= 0 && pkt->proto != r->proto) ||
	    (r->not_proto >= 0 && pkt->proto == r->not_proto))
		return false;
	if ((r->icmp.set && !icmp_match(&r->icmp, pkt)) ||
	    (r->not_icmp.set && icmp_match(&r->not_icmp, pkt)))
		return false;
	return entity_match(w, &r->src, pkt->src, pkt->proto, pkt->sport) &&
	       entity_match(w, &r->dst, pkt->dst, pkt->proto, pkt->dport);
}

/* Run one tier; true when it reached a verdict (stored in @p v). */
static bool run_tier(const struct acl_world *w, const struct acl_plan_tier *t,
		     enum acl_dir d, const struct acl_pkt *pkt,
		     struct acl_dir_verdict *v)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct acl_policy *p = t->pols[i];

		for (size_t j = 0; j < p->n_rules[d]; j++) {
			const struct acl_rule *r = &p->rules[d][j];

			if (!rule_match(w, r, pkt) || r->action == ACL_ACT_LOG)
				continue;
			if (r->action == ACL_ACT_PASS)
				return false;
			*v = (struct acl_dir_verdict){
				.allow = r->action == ACL_ACT_ALLOW,
				.why = ACL_WHY_RULE, .policy = p, .rule = j,
				.tier = t->name,
			};
			return true;
		}
	}
	if (t->end_action == ACL_ACT_PASS)
		return false;
	*v = (struct acl_dir_verdict){ .allow = false, .why = ACL_WHY_TIER_END,
				       .tier = t->name };
	return true;
}

static int eval_dir(const struct acl_world *w, uint32_t ip, enum acl_dir d,
		    const struct acl_pkt *pkt, struct acl_dir_verdict *v)
{
	const struct ctl_pod *pod = acl_world_endpoint(w, ip);
	struct acl_plan plan;

	*v = (struct acl_dir_verdict){ .allow = true,
				       .why = ACL_WHY_NOT_ENDPOINT };
	if (!pod)
		return 0;
	if (acl_plan_build(w, pod, d, &plan) < 0)
		return -ENOMEM;
	v->why = ACL_WHY_PROFILE;
	for (size_t i = 0; i < plan.n; i++)
		if (run_tier(w, &plan.tiers[i], d, pkt, v))
			break;
	acl_plan_clear(&plan);
	return 0;
}

int acl_eval(const struct acl_world *w, const struct acl_pkt *pkt,
	     struct acl_verdict *out)
{
	if (eval_dir(w, pkt->src, ACL_DIR_EGRESS, pkt, &out->egress) < 0 ||
	    eval_dir(w, pkt->dst, ACL_DIR_INGRESS, pkt, &out->ingress) < 0)
		return -ENOMEM;
	out->allow = out->egress.allow && out->ingress.allow;
	return 0;
}
