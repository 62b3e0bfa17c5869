/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoders for Calico policy objects: NetworkPolicy, GlobalNetworkPolicy,
 * Tier, NetworkSet, GlobalNetworkSet (crd.projectcalico.org/v1 and
 * projectcalico.org/v3 share the spec).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acl/pol_priv.h"
#include "dp/log.h"

static int parse_action(const cJSON *v, enum acl_action *a)
{
	static const char *const names[] = { "Allow", "Deny", "Log", "Pass" };

	for (unsigned i = 0; cJSON_IsString(v) && i < 4; i++) {
		if (!strcmp(v->valuestring, names[i])) {
			*a = (enum acl_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Name (case-insensitive) or number 1-255; -1 when invalid. */
static int parse_proto(const cJSON *v)
{
	static const struct { const char *name; int num; } names[] = {
		{ "TCP", 6 }, { "UDP", 17 }, { "ICMP", 1 }, { "ICMPv6", 58 },
		{ "SCTP", 132 }, { "UDPLite", 136 },
	};

	if (cJSON_IsNumber(v))
		return v->valuedouble == (double)v->valueint && v->valueint >= 1 &&
		       v->valueint <= 255 ? v->valueint : -1;
	if (!cJSON_IsString(v))
		return -1;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(v->valuestring, names[i].name))
			return names[i].num;
	char *end;
	long n = strtol(v->valuestring, &end, 10);
	return v->valuestring[0] && !*end && n >= 1 && n <= 255 ? (int)n : -1;
}

static int parse_icmp(const cJSON *v, struct acl_icmp *ic, const char *what,
		      char *err, size_t errlen)
{
	const cJSON *t = pj(v, "type"), *c = pj(v, "code");

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		goto bad;
	if (c && !t) {
		snprintf(err, errlen, "%s: code requires type", what);
		return -EINVAL;
	}
	if (t && (!cJSON_IsNumber(t) || t->valueint < 0 || t->valueint > 254))
		goto bad;
	if (c && (!cJSON_IsNumber(c) || c->valueint < 0 || c->valueint > 255))
		goto bad;
	ic->set = t != NULL;
	ic->type = t ? (uint8_t)t->valueint : 0;
	ic->has_code = c != NULL;
	ic->code = c ? (uint8_t)c->valueint : 0;
	return 0;
bad:
	snprintf(err, errlen, "%s: invalid type/code (type 0-254, code 0-255)",
		 what);
	return -EINVAL;
}

static int parse_entity(const cJSON *j, const char *ns, struct acl_entity *e,
			const char *what, char *err, size_t errlen)
{
	char w[64];
	size_t v6 = 0, not_v6 = 0;
	const cJSON *sa = pj(j, "serviceAccounts");
	int rc;

	if (!j)
		return 0;
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "%s is not an object", what);
		return -EINVAL;
	}
	if (pj(j, "services")) {
		snprintf(err, errlen, "%s.services is not supported", what);
		return -EINVAL;
	}
	snprintf(w, sizeof(w), "%s.nets", what);
	if ((rc = pol_cidrs(pj(j, "nets"), w, &e->nets, &e->n_nets, &v6, err,
			    errlen)) < 0)
		return rc;
	e->nets_v6_only = v6 && !e->n_nets;
	snprintf(w, sizeof(w), "%s.notNets", what);
	if ((rc = pol_cidrs(pj(j, "notNets"), w, &e->not_nets, &e->n_not_nets,
			    &not_v6, err, errlen)) < 0)
		return rc;
	/* Felix renders no IPv4 rule when the v4 filter empties notNets
	 * (rules/policy.go FilterRuleToIPVersion): the rule never matches. */
	e->not_nets_v6_only = not_v6 && !e->n_not_nets;
	snprintf(w, sizeof(w), "%s.ports", what);
	if ((rc = pol_ports(pj(j, "ports"), w, &e->ports, &e->n_ports, err,
			    errlen)) < 0)
		return rc;
	snprintf(w, sizeof(w), "%s.notPorts", what);
	if ((rc = pol_ports(pj(j, "notPorts"), w, &e->not_ports,
			    &e->n_not_ports, err, errlen)) < 0)
		return rc;
	rc = pol_entity_selectors(e, pj_str(j, "selector"),
				  pj_str(j, "notSelector"),
				  pj_str(j, "namespaceSelector"),
				  pj(sa, "names"), pj_str(sa, "selector"), ns,
				  err, errlen);
	if (rc < 0) {
		/* Prefix the side so the reason says where it went wrong. */
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", what, tmp);
	}
	return rc;
}

static bool proto_has_ports(int p)
{
	return p == 6 || p == 17 || p == 132;
}

static int parse_rule(const cJSON *j, const char *ns, struct acl_rule *r,
		      const char *what, char *err, size_t errlen)
{
	const cJSON *act = pj(j, "action"), *ipv = pj(j, "ipVersion");
	const cJSON *proto = pj(j, "protocol"), *nproto = pj(j, "notProtocol");
	char w[64];
	int rc;

	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "%s is not an object", what);
		return -EINVAL;
	}
	if (parse_action(act, &r->action) < 0) {
		snprintf(err, errlen, "%s: unknown action '%s' (want Allow, Deny, "
			 "Log or Pass)", what,
			 cJSON_IsString(act) ? act->valuestring : "(missing)");
		return -EINVAL;
	}
	if (ipv && (!cJSON_IsNumber(ipv) ||
		    (ipv->valueint != 4 && ipv->valueint != 6))) {
		snprintf(err, errlen, "%s: ipVersion must be 4 or 6", what);
		return -EINVAL;
	}
	if (ipv && ipv->valueint == 6)
		r->flags |= ACL_RULE_V6_ONLY;
	if ((proto && (r->proto = parse_proto(proto)) < 0) ||
	    (nproto && (r->not_proto = parse_proto(nproto)) < 0)) {
		snprintf(err, errlen, "%s: invalid %s", what,
			 proto && r->proto < 0 ? "protocol" : "notProtocol");
		return -EINVAL;
	}
	snprintf(w, sizeof(w), "%s.icmp", what);
	if ((rc = parse_icmp(pj(j, "icmp"), &r->icmp, w, err, errlen)) < 0)
		return rc;
	snprintf(w, sizeof(w), "%s.notICMP", what);
	if ((rc = parse_icmp(pj(j, "notICMP"), &r->not_icmp, w, err, errlen)) < 0)
		return rc;
	if ((r->icmp.set || r->not_icmp.set) && r->proto != 1 && r->proto != 58) {
		snprintf(err, errlen, "%s: icmp/notICMP need protocol ICMP or ICMPv6",
			 what);
		return -EINVAL;
	}
	snprintf(w, sizeof(w), "%s.source", what);
	if ((rc = parse_entity(pj(j, "source"), ns, &r->src, w, err, errlen)) < 0)
		return rc;
	snprintf(w, sizeof(w), "%s.destination", what);
	if ((rc = parse_entity(pj(j, "destination"), ns, &r->dst, w, err,
			       errlen)) < 0)
		return rc;
	if ((r->src.n_ports || r->src.n_not_ports || r->dst.n_ports ||
	     r->dst.n_not_ports) && !proto_has_ports(r->proto)) {
		snprintf(err, errlen, "%s: ports need protocol TCP, UDP or SCTP",
			 what);
		return -EINVAL;
	}
	return 0;
}

static int parse_rules(struct acl_policy *p, const cJSON *arr, enum acl_dir d,
		       char *err, size_t errlen)
{
	const char *dn = d == ACL_DIR_INGRESS ? "ingress" : "egress";
	const cJSON *j;
	char w[32];
	int i = 0, rc;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "%s is not a list", dn);
		return -EINVAL;
	}
	cJSON_ArrayForEach(j, arr) {
		struct acl_rule *r = pol_add_rule(p, d);

		if (!r) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		snprintf(w, sizeof(w), "%s[%d]", dn, i++);
		if ((rc = parse_rule(j, p->ns, r, w, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* spec.types, or Calico's defaulting (api/pkg/defaults/networkpolicy.go). */
static int parse_types(struct acl_policy *p, const cJSON *spec, char *err,
		       size_t errlen)
{
	const cJSON *types = pj(spec, "types"), *t;

	if (cJSON_GetArraySize(types) == 0) {
		bool eg = cJSON_GetArraySize(pj(spec, "egress")) > 0;
		bool in = cJSON_GetArraySize(pj(spec, "ingress")) > 0;

		p->applies[ACL_DIR_INGRESS] = in || !eg;
		p->applies[ACL_DIR_EGRESS] = eg;
		return 0;
	}
	cJSON_ArrayForEach(t, types) {
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Ingress"))
			p->applies[ACL_DIR_INGRESS] = true;
		else if (cJSON_IsString(t) && !strcmp(t->valuestring, "Egress"))
			p->applies[ACL_DIR_EGRESS] = true;
		else {
			snprintf(err, errlen, "types: unknown type %s",
				 cJSON_IsString(t) ? t->valuestring : "(not a string)");
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_order(const cJSON *o, bool *has, double *order, char *err,
		       size_t errlen)
{
	if (!o)
		return 0;
	if (!cJSON_IsNumber(o) || !isfinite(o->valuedouble)) {
		snprintf(err, errlen, "order is not a number");
		return -EINVAL;
	}
	*has = true;
	*order = o->valuedouble;
	return 0;
}

static void *decode_policy(const cJSON *obj, bool global, char *err,
			   size_t errlen)
{
	struct acl_policy *p = pol_new(global ? ACL_POL_GLOBAL : ACL_POL_CALICO);
	const cJSON *spec = pj(obj, "spec");
	struct acl_sel *part;
	const char *s;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pol_meta(obj, !global, &p->name, &p->ns, err, errlen) < 0)
		goto fail;
	if (spec && !cJSON_IsObject(spec)) {
		snprintf(err, errlen, "spec is not an object");
		goto fail;
	}
	if (!(p->tier = strdup(pj_str(spec, "tier") ? pj_str(spec, "tier") :
			       "default")))
		goto oom;
	if (parse_order(pj(spec, "order"), &p->has_order, &p->order, err,
			errlen) < 0 ||
	    parse_types(p, spec, err, errlen) < 0)
		goto fail;
	s = pj_str(spec, "selector");
	if (!(p->selector = pol_sel(s ? s : "", NULL, ACL_SEL_SCOPE_NONE,
				    "selector", err, errlen)))
		goto fail;
	/*
	 * The namespace scope of the policy itself. A GlobalNetworkPolicy's
	 * namespaceSelector has only all() rewritten, to
	 * has(projectcalico.org/namespace): global() stays, and selects pods
	 * too (globalnetworkpolicyprocessor.go). Felix's textual rewrite also
	 * reaches an all() in spec.selector, which makes no difference here:
	 * every pod has the namespace label.
	 */
	s = global ? pj_str(spec, "namespaceSelector") : p->ns;
	if (s) {
		part = global ? pol_sel(s, PFX_NS, ACL_SEL_SCOPE_POLICY,
					"namespaceSelector", err, errlen) :
				pol_ns_sel(s, err, errlen);
		if (!part ||
		    !(p->selector = pol_and(p->selector, part, err, errlen)))
			goto fail;
	}
	if ((s = pj_str(spec, "serviceAccountSelector"))) {
		if (!(part = pol_sel(s, PFX_SA, ACL_SEL_SCOPE_NONE,
				     "serviceAccountSelector", err, errlen)) ||
		    !(p->selector = pol_and(p->selector, part, err, errlen)))
			goto fail;
	}
	if (parse_rules(p, pj(spec, "ingress"), ACL_DIR_INGRESS, err, errlen) < 0 ||
	    parse_rules(p, pj(spec, "egress"), ACL_DIR_EGRESS, err, errlen) < 0)
		goto fail;
	/*
	 * Felix files doNotTrack and preDNAT policies under a host endpoint's
	 * untracked and pre-DNAT tiers and never gives them to a workload
	 * endpoint (calc/event_sequencer.go). kdp has no host endpoints:
	 * keep the policy, in no pod's plan, and say so. The store decodes
	 * an object again only when it changed, so this logs once a version.
	 */
	if (global && (cJSON_IsTrue(pj(spec, "doNotTrack")) ||
		       cJSON_IsTrue(pj(spec, "preDNAT")))) {
		p->host_only = true;
		KDP_LOG(NOTICE, "policy: GlobalNetworkPolicy %s is %s: it "
			"applies to host endpoints only, and kdp ignores it "
			"for pods", p->name,
			cJSON_IsTrue(pj(spec, "doNotTrack")) ? "doNotTrack" :
							       "preDNAT");
	}
	return p;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	acl_policy_free(p);
	return NULL;
}

void *acl_calico_netpol_decode(const cJSON *obj, char *err, size_t errlen)
{
	return decode_policy(obj, false, err, errlen);
}

void *acl_global_netpol_decode(const cJSON *obj, char *err, size_t errlen)
{
	return decode_policy(obj, true, err, errlen);
}

void *acl_tier_decode(const cJSON *obj, char *err, size_t errlen)
{
	struct acl_tier *t = calloc(1, sizeof(*t));
	const cJSON *spec = pj(obj, "spec");
	const char *da = pj_str(spec, "defaultAction");

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pol_meta(obj, false, &t->name, NULL, err, errlen) < 0 ||
	    parse_order(pj(spec, "order"), &t->has_order, &t->order, err,
			errlen) < 0)
		goto fail;
	/* The well-known tiers have fixed default orders (tier.go). */
	if (!t->has_order) {
		static const struct { const char *n; double o; } known[] = {
			{ "default", 1e6 }, { "kube-admin", 1e3 },
			{ "kube-baseline", 1e7 },
		};
		for (unsigned i = 0; i < 3; i++)
			if (!strcmp(t->name, known[i].n)) {
				t->has_order = true;
				t->order = known[i].o;
			}
	}
	t->default_action = ACL_ACT_DENY;
	if (da && !strcmp(da, "Pass")) {
		t->default_action = ACL_ACT_PASS;
	} else if (da && strcmp(da, "Deny")) {
		snprintf(err, errlen, "defaultAction must be Deny or Pass, not '%s'",
			 da);
		goto fail;
	}
	return t;
fail:
	acl_tier_free(t);
	return NULL;
}

/* Copy a JSON object of strings into a sorted ctl_labels. */
static int labels_from_json(struct ctl_labels *l, const cJSON *obj, char *err,
			    size_t errlen)
{
	size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
	const cJSON *it;

	if (obj && !cJSON_IsObject(obj)) {
		snprintf(err, errlen, "metadata.labels is not an object");
		return -EINVAL;
	}
	l->keys = calloc(n + 1, sizeof(char *));
	l->vals = calloc(n + 1, sizeof(char *));
	if (!l->keys || !l->vals)
		goto oom;
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "label %s is not a string", it->string);
			return -EINVAL;
		}
		/* Insertion keeps keys sorted; label sets are small. */
		for (i = l->n; i > 0 && strcmp(l->keys[i - 1], it->string) > 0; i--) {
			l->keys[i] = l->keys[i - 1];
			l->vals[i] = l->vals[i - 1];
		}
		l->keys[i] = strdup(it->string);
		l->vals[i] = strdup(it->valuestring);
		l->n++;
		if (!l->keys[i] || !l->vals[i])
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static void *decode_netset(const cJSON *obj, bool global, char *err,
			   size_t errlen)
{
	struct acl_netset *s = calloc(1, sizeof(*s));
	size_t v6 = 0;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (pol_meta(obj, !global, &s->name, &s->ns, err, errlen) < 0 ||
	    labels_from_json(&s->labels, pj(pj(obj, "metadata"), "labels"), err,
			     errlen) < 0 ||
	    pol_cidrs(pj(pj(obj, "spec"), "nets"), "spec.nets", &s->nets,
		      &s->n_nets, &v6, err, errlen) < 0) {
		acl_netset_free(s);
		return NULL;
	}
	return s;
}

void *acl_netset_decode(const cJSON *obj, char *err, size_t errlen)
{
	return decode_netset(obj, false, err, errlen);
}

void *acl_global_netset_decode(const cJSON *obj, char *err, size_t errlen)
{
	return decode_netset(obj, true, err, errlen);
}
