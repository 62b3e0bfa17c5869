/* SPDX-License-Identifier: BSD-3-Clause */
/* Evaluator internals. */
#ifndef KDP_ACL_EVAL_PRIV_H
#define KDP_ACL_EVAL_PRIV_H

#include "acl/eval.h"
#include "acl/pol_priv.h"
#include "acl/sel_priv.h"

struct ptrvec {
	size_t n, cap;
	const void **v;
};

struct acl_world {
	struct ptrvec pols, tiers, sets, pods, nss, sas;
};

struct ep_ctx {
	const struct acl_world *w;
	const struct ctl_pod *pod;
};

/**
 * Like world_ep_matches() for a pod, with @p req_ns = sel_required_ns(sel)
 * computed once by the caller: pods of other namespaces are rejected by one
 * string compare (the namespace label of a pod is always its namespace).
 */
bool world_pod_matches(const struct acl_world *w, const struct ctl_pod *pod,
		       const struct acl_sel *sel, const char *req_ns);
bool world_ep_matches(const struct acl_world *w, const struct ctl_pod *pod,
		      const struct acl_sel *sel);
bool world_set_matches(const struct acl_world *w, const struct acl_netset *s,
		       const struct acl_sel *sel);
/** Does @p sel match the endpoint or a network set holding @p ip? */
bool world_sel_has_ip(const struct acl_world *w, const struct acl_sel *sel,
		      uint32_t ip);

#endif
