/* SPDX-License-Identifier: BSD-3-Clause */
/* Policy model helpers: CIDRs, ports, selectors, allocation and freeing. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl/pol_priv.h"

const cJSON *pj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_IsObject(o) ?
		cJSON_GetObjectItemCaseSensitive(o, k) : NULL;

	return cJSON_IsNull(v) ? NULL : v;
}

const char *pj_str(const cJSON *o, const char *k)
{
	const cJSON *v = pj(o, k);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

const char *acl_action_name(enum acl_action a)
{
	static const char *const names[] = {
		[ACL_ACT_ALLOW] = "Allow", [ACL_ACT_DENY] = "Deny",
		[ACL_ACT_LOG] = "Log", [ACL_ACT_PASS] = "Pass",
	};

	return (unsigned)a < 4 ? names[a] : "?";
}

int pol_meta(const cJSON *obj, bool want_ns, char **name, char **ns,
	     char *err, size_t errlen)
{
	const cJSON *md = pj(obj, "metadata");
	const char *n = pj_str(md, "name"), *s = pj_str(md, "namespace");

	if (!n) {
		snprintf(err, errlen, "metadata.name missing");
		return -EINVAL;
	}
	if (want_ns && !s) {
		snprintf(err, errlen, "metadata.namespace missing");
		return -EINVAL;
	}
	*name = strdup(n);
	if (want_ns)
		*ns = strdup(s);
	if (!*name || (want_ns && !*ns)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int acl_cidr_parse(const char *s, struct acl_cidr *out)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	long plen = -1;
	unsigned char buf[16];
	bool v6;

	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	v6 = strchr(addr, ':') != NULL;
	if (slash) {
		char *end;

		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		plen = strtol(slash + 1, &end, 10);
		if (*end || plen > (v6 ? 128 : 32))
			return -EINVAL;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return -EINVAL;
	if (v6) {
		/* An IPv4-mapped network (::ffff:a.b.c.d/n, n >= 96) is the
		 * IPv4 one a.b.c.d/(n - 96), as Calico stores it: its
		 * conversions keep Go's IPNet.String() of the parsed CIDR,
		 * which prints the mapped form so. The API server takes
		 * the form in an ipBlock (ParseCIDRSloppy). */
		static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

		if (memcmp(buf, mapped, sizeof(mapped)) != 0 ||
		    (plen >= 0 && plen < 96))
			return 1;
		memmove(buf, buf + 12, 4);
		if (plen >= 0)
			plen -= 96;
	}
	out->plen = plen < 0 ? 32 : (uint8_t)plen;
	memcpy(&out->net, buf, 4);
	out->net = ntohl(out->net);
	out->net &= out->plen ? ~0u << (32 - out->plen) : 0;
	return 0;
}

/* Start decoding an optional JSON list into an array of @p size-byte
 * elements: 0 when absent, 1 when allocated (and *n zeroed), else -errno. */
static int list_alloc(const cJSON *arr, const char *what, size_t size,
		      void **out, size_t *n, char *err, size_t errlen)
{
	size_t cap = (size_t)cJSON_GetArraySize(arr);

	*n = 0;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "%s is not a list", what);
		return -EINVAL;
	}
	if (cap && !(*out = calloc(cap, size))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 1;
}

int pol_cidrs(const cJSON *arr, const char *what, struct acl_cidr **out,
	      size_t *n, size_t *n_v6, char *err, size_t errlen)
{
	const cJSON *v;
	int rc = list_alloc(arr, what, sizeof(**out), (void **)out, n, err,
			    errlen);

	if (rc <= 0)
		return rc;
	cJSON_ArrayForEach(v, arr) {
		rc = cJSON_IsString(v) ?
			acl_cidr_parse(v->valuestring, &(*out)[*n]) : -EINVAL;

		if (rc < 0) {
			snprintf(err, errlen, "%s: invalid CIDR %s%s%s", what,
				 cJSON_IsString(v) ? "'" : "",
				 cJSON_IsString(v) ? v->valuestring : "(not a string)",
				 cJSON_IsString(v) ? "'" : "");
			return -EINVAL;
		}
		if (rc == 0)
			(*n)++;
		else if (n_v6)
			(*n_v6)++;
	}
	return 0;
}

/* IANA service-name-like: letters, digits and '-', with a letter. */
static bool valid_port_name(const char *s)
{
	bool alpha = false;
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-' &&
			 s[i] != '_' && s[i] != '.')
			return false;
	}
	return alpha;
}

static bool parse_u16(const char *s, const char *end, long *v)
{
	char *e;

	if (s == end || !isdigit((unsigned char)*s))
		return false;
	*v = strtol(s, &e, 10);
	return e == end && *v >= 0 && *v <= 65535;
}

int pol_port(const cJSON *v, const char *what, struct acl_port *p, char *err,
	     size_t errlen)
{
	long lo, hi;

	memset(p, 0, sizeof(*p));
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != (double)v->valueint || v->valueint < 0 ||
		    v->valueint > 65535)
			goto bad;
		p->lo = p->hi = (uint16_t)v->valueint;
		return 0;
	}
	if (!cJSON_IsString(v))
		goto bad;
	const char *s = v->valuestring, *colon = strchr(s, ':');
	const char *end = s + strlen(s);

	if (isdigit((unsigned char)s[0])) {
		if (!parse_u16(s, colon ? colon : end, &lo))
			goto bad;
		hi = lo;
		if (colon && !parse_u16(colon + 1, end, &hi))
			goto bad;
		if (lo > hi)
			goto bad;
		p->lo = (uint16_t)lo;
		p->hi = (uint16_t)hi;
		return 0;
	}
	if (!valid_port_name(s))
		goto bad;
	if (!(p->name = strdup(s))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
bad:
	if (cJSON_IsString(v))
		snprintf(err, errlen, "%s: invalid port '%s'", what, v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(err, errlen, "%s: invalid port %g", what, v->valuedouble);
	else
		snprintf(err, errlen, "%s: invalid port (not a number or string)",
			 what);
	return -EINVAL;
}

int pol_ports(const cJSON *arr, const char *what, struct acl_port **out,
	      size_t *n, char *err, size_t errlen)
{
	const cJSON *v;
	int rc = list_alloc(arr, what, sizeof(**out), (void **)out, n, err,
			    errlen);

	if (rc <= 0)
		return rc;
	cJSON_ArrayForEach(v, arr) {
		if ((rc = pol_port(v, what, &(*out)[*n], err, errlen)) < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

struct acl_sel *pol_sel(const char *text, const char *prefix,
			enum acl_sel_scope scope, const char *what, char *err,
			size_t errlen)
{
	char perr[384];
	struct acl_sel *s = acl_sel_parse(text, perr, sizeof(perr)), *p;

	if (!s) {
		snprintf(err, errlen, "%s: %s", what, perr);
		return NULL;
	}
	if (!prefix)
		return s;
	p = acl_sel_prefixed(s, prefix, scope);
	acl_sel_free(s);
	if (!p)
		snprintf(err, errlen, "out of memory");
	return p;
}

struct acl_sel *pol_and(struct acl_sel *a, struct acl_sel *b, char *err,
			size_t errlen)
{
	struct acl_sel *r;

	if (!a || !b)
		return a ? a : b;
	r = acl_sel_and(a, b);
	acl_sel_free(a);
	acl_sel_free(b);
	if (!r)
		snprintf(err, errlen, "out of memory");
	return r;
}

struct acl_sel *pol_ns_sel(const char *ns, char *err, size_t errlen)
{
	char buf[320];

	snprintf(buf, sizeof(buf), LBL_NAMESPACE " == '%s'", ns);
	return pol_sel(buf, NULL, ACL_SEL_SCOPE_NONE, "namespace", err, errlen);
}

/* "projectcalico.org/serviceaccount in {'a', 'b'}" */
static struct acl_sel *sa_names_sel(const cJSON *names, char *err,
				    size_t errlen)
{
	size_t len = sizeof(LBL_SERVICEACCOUNT) + 16;
	const cJSON *v;
	struct acl_sel *s;
	char *buf;

	cJSON_ArrayForEach(v, names) {
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "serviceAccounts.names: not a string");
			return NULL;
		}
		len += strlen(v->valuestring) + 4;
	}
	if (!(buf = malloc(len))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	strcpy(buf, LBL_SERVICEACCOUNT " in {");
	cJSON_ArrayForEach(v, names) {
		strcat(buf, v == names->child ? "'" : ", '");
		strcat(buf, v->valuestring);
		strcat(buf, "'");
	}
	strcat(buf, "}");
	s = pol_sel(buf, NULL, ACL_SEL_SCOPE_NONE, "serviceAccounts.names", err,
		    errlen);
	free(buf);
	return s;
}

int pol_entity_selectors(struct acl_entity *e, const char *sel,
			 const char *not_sel, const char *ns_sel,
			 const cJSON *sa_names, const char *sa_sel,
			 const char *ns, char *err, size_t errlen)
{
	bool has_sa = cJSON_GetArraySize(sa_names) > 0 || sa_sel;
	struct acl_sel *eff = NULL, *part;

	if (sa_names && !cJSON_IsArray(sa_names)) {
		snprintf(err, errlen, "serviceAccounts.names is not a list");
		return -EINVAL;
	}
	/* The namespace scope: explicit namespaceSelector (rewritten onto the
	 * endpoints' pcns.* labels), else the policy's own namespace. */
	if (ns_sel) {
		if (!(eff = pol_sel(ns_sel, PFX_NS, ACL_SEL_SCOPE_RULE,
				    "namespaceSelector", err, errlen)))
			return -EINVAL;
	} else if (ns && (sel || not_sel || has_sa)) {
		if (!(eff = pol_ns_sel(ns, err, errlen)))
			return -EINVAL;
	}
	if (sel) {
		if (!(part = pol_sel(sel, NULL, ACL_SEL_SCOPE_NONE, "selector",
				     err, errlen)))
			goto fail;
		if (!(eff = pol_and(eff, part, err, errlen)))
			return -ENOMEM;
	}
	if (cJSON_GetArraySize(sa_names) > 0) {
		if (!(part = sa_names_sel(sa_names, err, errlen)))
			goto fail;
		if (!(eff = pol_and(eff, part, err, errlen)))
			return -ENOMEM;
	}
	if (sa_sel) {
		if (!(part = pol_sel(sa_sel, PFX_SA, ACL_SEL_SCOPE_NONE,
				     "serviceAccounts.selector", err, errlen)))
			goto fail;
		if (!(eff = pol_and(eff, part, err, errlen)))
			return -ENOMEM;
	}
	e->sel = eff;
	if (not_sel &&
	    !(e->not_sel = pol_sel(not_sel, NULL, ACL_SEL_SCOPE_NONE,
				   "notSelector", err, errlen)))
		return -EINVAL;
	return 0;
fail:
	acl_sel_free(eff);
	return -EINVAL;
}

struct acl_policy *pol_new(enum acl_pol_kind kind)
{
	struct acl_policy *p = calloc(1, sizeof(*p));

	if (p)
		p->kind = kind;
	return p;
}

struct acl_rule *pol_add_rule(struct acl_policy *p, enum acl_dir d)
{
	struct acl_rule *r = realloc(p->rules[d],
				     (p->n_rules[d] + 1) * sizeof(*r));

	if (!r)
		return NULL;
	p->rules[d] = r;
	r = &r[p->n_rules[d]++];
	memset(r, 0, sizeof(*r));
	r->proto = -1;
	r->not_proto = -1;
	return r;
}

static void ports_free(struct acl_port *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].name);
	free(p);
}

static void entity_clear(struct acl_entity *e)
{
	free(e->nets);
	free(e->not_nets);
	acl_sel_free(e->sel);
	acl_sel_free(e->not_sel);
	ports_free(e->ports, e->n_ports);
	ports_free(e->not_ports, e->n_not_ports);
}

void acl_policy_free(void *policy)
{
	struct acl_policy *p = policy;

	if (!p)
		return;
	for (int d = 0; d < ACL_DIR_MAX; d++) {
		for (size_t i = 0; i < p->n_rules[d]; i++) {
			entity_clear(&p->rules[d][i].src);
			entity_clear(&p->rules[d][i].dst);
		}
		free(p->rules[d]);
	}
	acl_sel_free(p->selector);
	free(p->name);
	free(p->ns);
	free(p->tier);
	free(p);
}

void acl_tier_free(void *tier)
{
	struct acl_tier *t = tier;

	if (!t)
		return;
	free(t->name);
	free(t);
}

void acl_netset_free(void *netset)
{
	struct acl_netset *s = netset;

	if (!s)
		return;
	for (size_t i = 0; i < s->labels.n; i++) {
		free(s->labels.keys[i]);
		free(s->labels.vals[i]);
	}
	free(s->labels.keys);
	free(s->labels.vals);
	free(s->nets);
	free(s->name);
	free(s->ns);
	free(s);
}
