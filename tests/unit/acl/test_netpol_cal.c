/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * netpol.json 'calico_policy_cases': own topologies, Calico resources
 * (Tier, GlobalNetworkPolicy, NetworkPolicy) applied step by step. Staged
 * kinds are not enforced by Calico and are skipped here. Probes to a
 * Service ClusterIP are evaluated on the backend (kube-proxy DNAT first).
 */
#include <stdlib.h>
#include <string.h>

#include "netpol_harness.h"

struct objs {
	size_t n;
	const cJSON *v[MAX_OBJS];
};

static const char *meta(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static bool same_obj(const cJSON *a, const cJSON *b)
{
	return !strcmp(cJSON_GetObjectItem(a, "kind")->valuestring,
		       cJSON_GetObjectItem(b, "kind")->valuestring) &&
	       !strcmp(meta(a, "name"), meta(b, "name")) &&
	       !strcmp(meta(a, "namespace"), meta(b, "namespace"));
}

static void apply(struct objs *o, const cJSON *obj, const char *op)
{
	for (size_t i = 0; i < o->n; i++) {
		if (!same_obj(o->v[i], obj))
			continue;
		if (!strcmp(op, "delete"))
			o->v[i] = o->v[--o->n];
		else
			o->v[i] = obj;
		return;
	}
	if (strcmp(op, "delete") && o->n < MAX_OBJS)
		o->v[o->n++] = obj;
}

struct decoded {
	size_t n;
	struct { void *p; void (*fr)(void *); } v[MAX_OBJS];
};

static void decode_all(const struct objs *o, struct acl_world *w,
		       struct decoded *d, const char *id)
{
	for (size_t i = 0; i < o->n; i++) {
		const char *kind = cJSON_GetObjectItem(o->v[i], "kind")->valuestring;
		char err[256];
		void *p = NULL;

		if (!strncmp(kind, "Staged", 6))
			continue; /* staged policies are never enforced */
		if (!strcmp(kind, "Tier")) {
			p = acl_tier_decode(o->v[i], err, sizeof(err));
			if (p)
				acl_world_add_tier(w, p);
			d->v[d->n].fr = acl_tier_free;
		} else {
			p = strcmp(kind, "GlobalNetworkPolicy") ?
				acl_calico_netpol_decode(o->v[i], err, sizeof(err)) :
				acl_global_netpol_decode(o->v[i], err, sizeof(err));
			if (p)
				acl_world_add_policy(w, p);
			d->v[d->n].fr = acl_policy_free;
		}
		TU_CHECK(p, "%s: %s %s rejected: %s", id, kind,
			 meta(o->v[i], "name"), err);
		if (p)
			d->v[d->n++].p = p;
	}
}

static void build_topology(const cJSON *topo, struct cluster *c)
{
	const cJSON *it;
	const char *dns = cJSON_GetStringValue(cJSON_GetObjectItem(topo, "namespace"));
	unsigned next = 1;

	if (dns) {
		cJSON *l = cJSON_CreateObject();

		cJSON_AddStringToObject(l, "kubernetes.io/metadata.name", dns);
		add_ns(c, dns, l);
		cJSON_Delete(l);
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "namespaces"))
		add_ns(c, cJSON_GetObjectItem(it, "name")->valuestring,
		       cJSON_GetObjectItem(it, "labels"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "workloads"))
		add_pod(c, dns, cJSON_GetObjectItem(it, "name")->valuestring,
			cJSON_GetObjectItem(it, "labels"),
			tu_ip(cJSON_GetObjectItem(it, "ip")->valuestring), NULL);
	/* Pods without a given IP get distinct ones from 10.200.0.0/24. */
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(topo, "pods"))
		add_pod(c, cJSON_GetObjectItem(it, "namespace")->valuestring,
			cJSON_GetObjectItem(it, "name")->valuestring,
			cJSON_GetObjectItem(it, "labels"),
			(10u << 24) | (200u << 16) | next++, NULL);
}

/* Resolve a probe target: a pod, or a Service ClusterIP:port (DNAT). */
static bool resolve_to(const cJSON *topo, const struct cluster *c,
		       const char *to, int *port, uint32_t *ip)
{
	const struct ctl_pod *p = find_pod(c, to);
	const cJSON *svc;

	if (p) {
		*ip = p->ips[0];
		return true;
	}
	cJSON_ArrayForEach(svc, cJSON_GetObjectItem(topo, "services")) {
		if (strcmp(cJSON_GetObjectItem(svc, "clusterIP")->valuestring, to) ||
		    cJSON_GetObjectItem(svc, "port")->valueint != *port)
			continue;
		p = find_pod(c, cJSON_GetArrayItem(cJSON_GetObjectItem(svc, "endpoints"),
						   0)->valuestring);
		if (!p)
			return false;
		*ip = p->ips[0];
		*port = cJSON_GetObjectItem(svc, "targetPort")->valueint;
		return true;
	}
	return false;
}

void run_calico_case(const cJSON *cs, struct tally *t)
{
	const char *id = cJSON_GetObjectItem(cs, "id")->valuestring;
	const cJSON *topo = cJSON_GetObjectItem(cs, "topology"), *it, *step;
	struct objs objs = { 0 };
	struct cluster c = { 0 };

	build_topology(topo, &c);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(cs, "resources"))
		apply(&objs, it, "create");
	cJSON_ArrayForEach(step, cJSON_GetObjectItem(cs, "steps")) {
		struct acl_world *w = world_of(&c);
		struct decoded d = { 0 };
		const cJSON *pr;

		cJSON_ArrayForEach(it, cJSON_GetObjectItem(step, "changes"))
			apply(&objs, cJSON_GetObjectItem(it, "object"),
			      cJSON_GetObjectItem(it, "op")->valuestring);
		decode_all(&objs, w, &d, id);
		cmp_begin(w, &c, id);
		cJSON_ArrayForEach(pr, cJSON_GetObjectItem(step, "probes")) {
			const struct ctl_pod *from =
				find_pod(&c, cJSON_GetObjectItem(pr, "from")->valuestring);
			const char *to = cJSON_GetObjectItem(pr, "to")->valuestring;
			int port = cJSON_GetObjectItem(pr, "port")->valueint;
			uint32_t dst;

			if (!from || !resolve_to(topo, &c, to, &port, &dst)) {
				TU_CHECK(0, "%s: cannot resolve probe to %s", id, to);
				continue;
			}
			probe(w, &c, id, from->ips[0], dst, port,
			      cJSON_GetObjectItem(pr, "protocol")->valuestring,
			      cJSON_IsTrue(cJSON_GetObjectItem(pr, "expect")),
			      false, t);
		}
		cmp_end();
		for (size_t i = 0; i < d.n; i++)
			d.v[i].fr(d.v[i].p);
		acl_world_free(w);
	}
	cluster_clear(&c);
}
