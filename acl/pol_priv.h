/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the policy decoders. */
#ifndef KDP_ACL_POL_PRIV_H
#define KDP_ACL_POL_PRIV_H

#include <stdio.h>

#include "acl/policy.h"

#define LBL_NAMESPACE "projectcalico.org/namespace"
#define LBL_SERVICEACCOUNT "projectcalico.org/serviceaccount"
#define PFX_NS "pcns."
#define PFX_SA "pcsa."

/** Field @p k of @p o, or NULL (JSON null counts as absent). */
const cJSON *pj(const cJSON *o, const char *k);
/** String field or NULL; "" counts as absent. */
const char *pj_str(const cJSON *o, const char *k);

/** metadata.name (required) and metadata.namespace (when @p want_ns). */
int pol_meta(const cJSON *obj, bool want_ns, char **name, char **ns,
	     char *err, size_t errlen);

/** Parse a JSON array of CIDR strings; IPv6 entries are counted, not kept. */
int pol_cidrs(const cJSON *arr, const char *what, struct acl_cidr **out,
	      size_t *n, size_t *n_v6, char *err, size_t errlen);

/** One port entry: number, "lo:hi" or a port name. */
int pol_port(const cJSON *v, const char *what, struct acl_port *p, char *err,
	     size_t errlen);
int pol_ports(const cJSON *arr, const char *what, struct acl_port **out,
	      size_t *n, char *err, size_t errlen);

/**
 * Build the effective peer selectors of @p e (§3 "Namespacing of
 * selectors"). @p ns is the policy namespace, NULL for global policies.
 * Empty strings count as unset. @p sa_names is a JSON array or NULL.
 */
int pol_entity_selectors(struct acl_entity *e, const char *sel,
			 const char *not_sel, const char *ns_sel,
			 const cJSON *sa_names, const char *sa_sel,
			 const char *ns, char *err, size_t errlen);

/** Parse @p text, prefixed with @p prefix (@p scope per acl_sel_prefixed)
 * when @p prefix is not NULL. */
struct acl_sel *pol_sel(const char *text, const char *prefix,
			enum acl_sel_scope scope, const char *what, char *err,
			size_t errlen);
/** a && b, consuming both (either may be NULL). */
struct acl_sel *pol_and(struct acl_sel *a, struct acl_sel *b, char *err,
			size_t errlen);
/** Selector "projectcalico.org/namespace == '<ns>'". */
struct acl_sel *pol_ns_sel(const char *ns, char *err, size_t errlen);

struct acl_policy *pol_new(enum acl_pol_kind kind);
/** Append a zeroed rule (proto/not_proto = -1) to direction @p d. */
struct acl_rule *pol_add_rule(struct acl_policy *p, enum acl_dir d);

#endif /* KDP_ACL_POL_PRIV_H */
