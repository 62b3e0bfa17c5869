/* SPDX-License-Identifier: BSD-3-Clause */
/* The evaluator's world: borrowed objects, effective labels, IP sets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl/eval_priv.h"

#define LBL_ORCHESTRATOR "projectcalico.org/orchestrator"
#define LBL_NAME "projectcalico.org/name"
#define SA_LABEL_MAX 63 /* longer names do not fit a label value */

struct acl_world *acl_world_create(void)
{
	return calloc(1, sizeof(struct acl_world));
}

void acl_world_free(struct acl_world *w)
{
	if (!w)
		return;
	free(w->pols.v);
	free(w->tiers.v);
	free(w->sets.v);
	free(w->pods.v);
	free(w->nss.v);
	free(w->sas.v);
	free(w);
}

static int vec_push(struct ptrvec *v, const void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		const void **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

int acl_world_add_policy(struct acl_world *w, const struct acl_policy *p)
{
	return vec_push(&w->pols, p);
}

int acl_world_add_tier(struct acl_world *w, const struct acl_tier *t)
{
	return vec_push(&w->tiers, t);
}

int acl_world_add_netset(struct acl_world *w, const struct acl_netset *s)
{
	return vec_push(&w->sets, s);
}

int acl_world_add_pod(struct acl_world *w, const struct ctl_pod *p)
{
	if (!p->node || p->host_network)
		return 0;
	return vec_push(&w->pods, p);
}

int acl_world_add_namespace(struct acl_world *w, const struct ctl_namespace *n)
{
	return vec_push(&w->nss, n);
}

int acl_world_add_sa(struct acl_world *w, const struct ctl_serviceaccount *s)
{
	return vec_push(&w->sas, s);
}

static const struct ctl_namespace *find_ns(const struct acl_world *w,
					   const char *name)
{
	for (size_t i = 0; i < w->nss.n; i++) {
		const struct ctl_namespace *n = w->nss.v[i];

		if (!strcmp(n->name, name))
			return n;
	}
	return NULL;
}

static const struct ctl_serviceaccount *find_sa(const struct acl_world *w,
						const char *ns, const char *name)
{
	for (size_t i = 0; i < w->sas.n; i++) {
		const struct ctl_serviceaccount *s = w->sas.v[i];

		if (!strcmp(s->ns, ns) && !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

const struct ctl_pod *acl_world_endpoint(const struct acl_world *w, uint32_t ip)
{
	for (size_t i = 0; i < w->pods.n; i++) {
		const struct ctl_pod *p = w->pods.v[i];

		for (size_t j = 0; j < p->n_ips; j++)
			if (p->ips[j] == ip)
				return p;
	}
	return NULL;
}

/* Labels inherited from the kns.<ns> profile: pcns.<k>, pcns.…/name. */
static const char *ns_profile_label(const struct acl_world *w, const char *ns,
				    const char *key)
{
	const char *rest = key + strlen(PFX_NS);

	if (!strcmp(rest, LBL_NAME))
		return ns;
	const struct ctl_namespace *n = find_ns(w, ns);
	return n ? ctl_labels_get(&n->labels, rest) : NULL;
}

const char *acl_world_ep_label(const struct acl_world *w,
			       const struct ctl_pod *pod, const char *key)
{
	const char *v;

	if (!strcmp(key, LBL_NAMESPACE))
		return pod->ns;
	if (!strcmp(key, LBL_ORCHESTRATOR))
		return "k8s";
	if (!strcmp(key, LBL_SERVICEACCOUNT))
		return pod->sa && strlen(pod->sa) < SA_LABEL_MAX ? pod->sa : NULL;
	if ((v = ctl_labels_get(&pod->labels, key)))
		return v;
	if (!strncmp(key, PFX_NS, strlen(PFX_NS)))
		return ns_profile_label(w, pod->ns, key);
	if (!strncmp(key, PFX_SA, strlen(PFX_SA)) && pod->sa) {
		const char *rest = key + strlen(PFX_SA);
		const struct ctl_serviceaccount *sa;

		if (!strcmp(rest, LBL_NAME))
			return pod->sa;
		sa = find_sa(w, pod->ns, pod->sa);
		return sa ? ctl_labels_get(&sa->labels, rest) : NULL;
	}
	return NULL;
}

static const char *ep_lookup(const void *arg, const char *key)
{
	const struct ep_ctx *c = arg;

	return acl_world_ep_label(c->w, c->pod, key);
}

bool world_ep_matches(const struct acl_world *w, const struct ctl_pod *pod,
		      const struct acl_sel *sel)
{
	struct ep_ctx c = { w, pod };

	return acl_sel_eval(sel, ep_lookup, &c);
}

bool world_pod_matches(const struct acl_world *w, const struct ctl_pod *pod,
		       const struct acl_sel *sel, const char *req_ns)
{
	if (req_ns && (!pod->ns || strcmp(pod->ns, req_ns) != 0))
		return false;
	return world_ep_matches(w, pod, sel);
}

struct set_ctx {
	const struct acl_world *w;
	const struct acl_netset *s;
};

/*
 * A namespaced network set carries its namespace and the kns profile labels,
 * like an endpoint of that namespace. Its namespace label is always its own
 * namespace, whatever metadata.labels says (Felix's networksetprocessor.go
 * overwrites it): otherwise a set created in one namespace could claim
 * another and be selected by that namespace's policies.
 */
static const char *set_lookup(const void *arg, const char *key)
{
	const struct set_ctx *c = arg;
	const char *v;

	if (c->s->ns && !strcmp(key, LBL_NAMESPACE))
		return c->s->ns;
	if ((v = ctl_labels_get(&c->s->labels, key)) || !c->s->ns)
		return v;
	if (!strncmp(key, PFX_NS, strlen(PFX_NS)))
		return ns_profile_label(c->w, c->s->ns, key);
	return NULL;
}

bool world_set_matches(const struct acl_world *w, const struct acl_netset *s,
		       const struct acl_sel *sel)
{
	struct set_ctx c = { w, s };

	return acl_sel_eval(sel, set_lookup, &c);
}

bool world_sel_has_ip(const struct acl_world *w, const struct acl_sel *sel,
		      uint32_t ip)
{
	const struct ctl_pod *pod = acl_world_endpoint(w, ip);

	if (pod && world_ep_matches(w, pod, sel))
		return true;
	for (size_t i = 0; i < w->sets.n; i++) {
		const struct acl_netset *s = w->sets.v[i];

		for (size_t j = 0; j < s->n_nets; j++)
			if (acl_cidr_has(&s->nets[j], ip) &&
			    world_set_matches(w, s, sel))
				return true;
	}
	return false;
}

static int ipset_add(struct acl_ipset *o, uint32_t net, uint8_t plen)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct acl_cidr *v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = (struct acl_cidr){ net, plen };
	return 0;
}

int acl_world_sel_ipset(const struct acl_world *w, const struct acl_sel *sel,
			struct acl_ipset *out)
{
	const char *req_ns = sel_required_ns(sel);

	for (size_t i = 0; i < w->pods.n; i++) {
		const struct ctl_pod *p = w->pods.v[i];

		if (!p->n_ips || !world_pod_matches(w, p, sel, req_ns))
			continue;
		for (size_t j = 0; j < p->n_ips; j++)
			if (ipset_add(out, p->ips[j], 32) < 0)
				return -ENOMEM;
	}
	return acl_world_sel_netset_ipset(w, sel, out);
}

int acl_world_sel_netset_ipset(const struct acl_world *w,
			       const struct acl_sel *sel,
			       struct acl_ipset *out)
{
	for (size_t i = 0; i < w->sets.n; i++) {
		const struct acl_netset *s = w->sets.v[i];

		if (!world_set_matches(w, s, sel))
			continue;
		for (size_t j = 0; j < s->n_nets; j++)
			if (ipset_add(out, s->nets[j].net, s->nets[j].plen) < 0)
				return -ENOMEM;
	}
	return 0;
}

void acl_ipset_clear(struct acl_ipset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
