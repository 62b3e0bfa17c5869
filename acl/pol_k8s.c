/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * networking.k8s.io/v1 NetworkPolicy -> Calico policy model, following
 * Calico's K8sNetworkPolicyToCalico: tier "default", order 1000, and per
 * ingress/egress rule one Allow rule per (protocol, peer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl/pol_priv.h"

#define K8S_POLICY_ORDER 1000.0

/* Ports of one protocol; all_ports wins over any listed port. */
struct proto_group {
	int proto; /* -1: no ports given at all (any protocol) */
	bool all_ports;
	size_t n;
	struct acl_port *ports;
};

struct groups {
	size_t n;
	struct proto_group g[3]; /* SCTP, TCP, UDP: Calico sorts by name */
};

static int proto_slot(const char *name)
{
	static const char *const order[] = { "SCTP", "TCP", "UDP" };

	for (int i = 0; i < 3; i++)
		if (!strcmp(name, order[i]))
			return i;
	return -1;
}

static void groups_clear(struct groups *gs)
{
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < gs->g[i].n; j++)
			free(gs->g[i].ports[j].name);
		free(gs->g[i].ports);
	}
}

static int parse_k8s_port(const cJSON *pe, const char *what, struct groups *gs,
			  char *err, size_t errlen)
{
	static const int nums[] = { 132, 6, 17 };
	const cJSON *proto = pj(pe, "protocol"), *port = pj(pe, "port");
	const cJSON *end = pj(pe, "endPort");
	const char *pname = cJSON_IsString(proto) ? proto->valuestring : "TCP";
	int slot = proto_slot(pname);
	struct proto_group *g;
	struct acl_port p, *np;
	int rc;

	if (!cJSON_IsObject(pe) || (proto && !cJSON_IsString(proto)) ||
	    slot < 0) {
		snprintf(err, errlen, "%s: protocol must be TCP, UDP or SCTP", what);
		return -EINVAL;
	}
	g = &gs->g[slot];
	g->proto = nums[slot];
	if (!port) {
		if (end) {
			snprintf(err, errlen, "%s: endPort requires port", what);
			return -EINVAL;
		}
		g->all_ports = true;
		return 0;
	}
	if ((rc = pol_port(port, what, &p, err, errlen)) < 0)
		return rc;
	if (!p.name && p.lo == 0) {
		snprintf(err, errlen, "%s: invalid port 0", what);
		return -EINVAL;
	}
	if (end) {
		if (p.name || !cJSON_IsNumber(end) || end->valueint < p.lo ||
		    end->valueint > 65535) {
			free(p.name);
			snprintf(err, errlen, "%s: endPort needs a numeric port and "
				 "port <= endPort <= 65535", what);
			return -EINVAL;
		}
		p.hi = (uint16_t)end->valueint;
	}
	if (!(np = realloc(g->ports, (g->n + 1) * sizeof(*np)))) {
		free(p.name);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g->ports = np;
	g->ports[g->n++] = p;
	return 0;
}

static int copy_ports(struct acl_entity *e, const struct proto_group *g)
{
	if (g->all_ports || g->n == 0)
		return 0;
	if (!(e->ports = calloc(g->n, sizeof(*e->ports))))
		return -ENOMEM;
	for (; e->n_ports < g->n; e->n_ports++) {
		e->ports[e->n_ports] = g->ports[e->n_ports];
		if (g->ports[e->n_ports].name &&
		    !(e->ports[e->n_ports].name = strdup(g->ports[e->n_ports].name)))
			return -ENOMEM;
	}
	return 0;
}

/* Fill the peer part of @p e from one NetworkPolicyPeer (NULL = any). */
static int peer_to_entity(const cJSON *peer, const char *ns,
			  struct acl_entity *e, const char *what, char *err,
			  size_t errlen)
{
	const cJSON *ipb = pj(peer, "ipBlock");
	const cJSON *pod = pj(peer, "podSelector"), *nss = pj(peer, "namespaceSelector");
	char *sel = NULL, *nsel = NULL, w[128];
	size_t v6 = 0;
	int rc = -EINVAL;

	if (!peer)
		return 0;
	if (ipb) {
		const cJSON *cidr = pj(ipb, "cidr");
		struct acl_cidr c;
		int kind = cJSON_IsString(cidr) ? acl_cidr_parse(cidr->valuestring, &c) : -1;

		if (pod || nss) {
			snprintf(err, errlen, "%s: ipBlock cannot be combined with "
				 "selectors", what);
			return -EINVAL;
		}
		if (kind < 0 || !strchr(cidr->valuestring, '/')) {
			snprintf(err, errlen, "%s.ipBlock: invalid CIDR '%s'", what,
				 cJSON_IsString(cidr) ? cidr->valuestring : "");
			return -EINVAL;
		}
		if (kind == 0) {
			if (!(e->nets = malloc(sizeof(*e->nets))))
				return -ENOMEM;
			e->nets[e->n_nets++] = c;
		}
		e->nets_v6_only = kind == 1;
		snprintf(w, sizeof(w), "%s.ipBlock.except", what);
		rc = pol_cidrs(pj(ipb, "except"), w, &e->not_nets,
			       &e->n_not_nets, &v6, err, errlen);
		/* The except list becomes the Calico rule's notNets, which
		 * Felix filters per IP version like any other. */
		e->not_nets_v6_only = v6 && !e->n_not_nets;
		return rc;
	}
	if (!(sel = acl_sel_from_k8s(pod, ACL_K8S_SEL_POD, err, errlen)) ||
	    !(nsel = acl_sel_from_k8s(nss, ACL_K8S_SEL_NAMESPACE, err, errlen)))
		goto out;
	rc = pol_entity_selectors(e, sel[0] ? sel : NULL, NULL,
				  nsel[0] ? nsel : NULL, NULL, NULL, ns, err,
				  errlen);
out:
	free(sel);
	free(nsel);
	return rc;
}

static int convert_rule(struct acl_policy *p, const cJSON *kr, enum acl_dir d,
			const char *what, char *err, size_t errlen)
{
	const cJSON *peers = pj(kr, d == ACL_DIR_INGRESS ? "from" : "to");
	const cJSON *ports = pj(kr, "ports"), *pe, *peer;
	struct groups gs = { 0 };
	char w[80];
	int i = 0, rc = 0;

	if (!cJSON_IsObject(kr) || (peers && !cJSON_IsArray(peers)) ||
	    (ports && !cJSON_IsArray(ports))) {
		snprintf(err, errlen, "%s: malformed rule", what);
		return -EINVAL;
	}
	for (int s = 0; s < 3; s++)
		gs.g[s].proto = -1;
	cJSON_ArrayForEach(pe, ports) {
		snprintf(w, sizeof(w), "%s.ports[%d]", what, i++);
		if ((rc = parse_k8s_port(pe, w, &gs, err, errlen)) < 0)
			goto out;
	}
	bool any_proto = cJSON_GetArraySize(ports) == 0;
	for (int s = 0; s < 3; s++) {
		const struct proto_group *g = any_proto ? NULL : &gs.g[s];

		if (g && g->proto < 0)
			continue;
		i = 0;
		/* No peers means one rule with no peer criteria. */
		peer = cJSON_GetArraySize(peers) ? peers->child : NULL;
		do {
			struct acl_rule *r = pol_add_rule(p, d);
			struct acl_entity *pe_side = d == ACL_DIR_INGRESS ?
				&r->src : &r->dst;

			if (!r) {
				rc = -ENOMEM;
				goto out;
			}
			r->action = ACL_ACT_ALLOW;
			r->proto = g ? g->proto : -1;
			snprintf(w, sizeof(w), "%s.%s[%d]", what,
				 d == ACL_DIR_INGRESS ? "from" : "to", i++);
			if ((rc = peer_to_entity(peer, p->ns, pe_side, w, err,
						 errlen)) < 0)
				goto out;
			if (g && (rc = copy_ports(&r->dst, g)) < 0)
				goto out;
			peer = peer ? peer->next : NULL;
		} while (peer);
		if (any_proto)
			break;
	}
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	groups_clear(&gs);
	return rc;
}

static int convert_dir(struct acl_policy *p, const cJSON *spec, enum acl_dir d,
		       char *err, size_t errlen)
{
	const char *dn = d == ACL_DIR_INGRESS ? "ingress" : "egress";
	const cJSON *rules = pj(spec, dn), *kr;
	char w[32];
	int i = 0, rc;

	if (rules && !cJSON_IsArray(rules)) {
		snprintf(err, errlen, "spec.%s is not a list", dn);
		return -EINVAL;
	}
	cJSON_ArrayForEach(kr, rules) {
		snprintf(w, sizeof(w), "%s[%d]", dn, i++);
		if ((rc = convert_rule(p, kr, d, w, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* policyTypes, or the API server's defaulting: Ingress, plus Egress when
 * egress rules are present. */
static int k8s_types(struct acl_policy *p, const cJSON *spec, char *err,
		     size_t errlen)
{
	const cJSON *types = pj(spec, "policyTypes"), *t;

	if (cJSON_GetArraySize(types) == 0) {
		p->applies[ACL_DIR_INGRESS] = true;
		p->applies[ACL_DIR_EGRESS] = cJSON_GetArraySize(pj(spec, "egress")) > 0;
		return 0;
	}
	cJSON_ArrayForEach(t, types) {
		bool in = cJSON_IsString(t) && !strcmp(t->valuestring, "Ingress");
		bool eg = cJSON_IsString(t) && !strcmp(t->valuestring, "Egress");

		if (!in && !eg) {
			snprintf(err, errlen, "policyTypes: unknown type %s",
				 cJSON_IsString(t) ? t->valuestring : "(not a string)");
			return -EINVAL;
		}
		p->applies[in ? ACL_DIR_INGRESS : ACL_DIR_EGRESS] = true;
	}
	return 0;
}

void *acl_k8s_netpol_decode(const cJSON *obj, char *err, size_t errlen)
{
	struct acl_policy *p = pol_new(ACL_POL_K8S);
	const cJSON *spec = pj(obj, "spec");
	struct acl_sel *nsel;
	char *sel = NULL;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pol_meta(obj, true, &p->name, &p->ns, err, errlen) < 0)
		goto fail;
	if (!cJSON_IsObject(spec)) {
		snprintf(err, errlen, "spec missing");
		goto fail;
	}
	p->has_order = true;
	p->order = K8S_POLICY_ORDER;
	if (!(p->tier = strdup("default"))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!(sel = acl_sel_from_k8s(pj(spec, "podSelector"), ACL_K8S_SEL_POD,
				     err, errlen)) ||
	    !(p->selector = pol_sel(sel, NULL, ACL_SEL_SCOPE_NONE,
				    "podSelector", err, errlen)) ||
	    !(nsel = pol_ns_sel(p->ns, err, errlen)) ||
	    !(p->selector = pol_and(p->selector, nsel, err, errlen)))
		goto fail;
	if (k8s_types(p, spec, err, errlen) < 0 ||
	    convert_dir(p, spec, ACL_DIR_INGRESS, err, errlen) < 0 ||
	    convert_dir(p, spec, ACL_DIR_EGRESS, err, errlen) < 0)
		goto fail;
	free(sel);
	return p;
fail:
	free(sel);
	acl_policy_free(p);
	return NULL;
}
