/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Reference policy evaluator (calico-model.md §3 "Evaluation").
 *
 * A world is a borrowed view of the cluster: decoded policies, tiers and
 * network sets (acl/policy.h) plus pods, namespaces and service accounts
 * (control/model.h). From it the evaluator derives what the dataplane
 * compiler needs, in the same form:
 *  - acl_plan_build(): per endpoint and direction, the applicable tiers in
 *    order, each with its applicable policies in order and its end-of-tier
 *    action;
 *  - acl_world_sel_ipset(): a peer selector resolved to the IPs (endpoint
 *    addresses and network-set CIDRs) whose labels it matches;
 * and acl_eval() runs a single packet through both directions, reporting the
 * deciding policy and rule (for per-rule counters).
 *
 * Conntrack is out of scope: every packet is treated as a new connection.
 *
 * Thread-safety: control thread only; the world does not copy what it is
 * given, so the objects must outlive it.
 */
#ifndef KDP_ACL_EVAL_H
#define KDP_ACL_EVAL_H

#include "acl/policy.h"
#include "control/model.h"

struct acl_world;

/** Create an empty world. NULL on allocation failure. */
struct acl_world *acl_world_create(void);
/** Free the world (not the objects it points to). NULL is a no-op. */
void acl_world_free(struct acl_world *w);

/** Add borrowed objects. @return 0 or -ENOMEM. */
int acl_world_add_policy(struct acl_world *w, const struct acl_policy *p);
int acl_world_add_tier(struct acl_world *w, const struct acl_tier *t);
int acl_world_add_netset(struct acl_world *w, const struct acl_netset *s);
/** Pods count as endpoints when scheduled and not hostNetwork (§1.5). */
int acl_world_add_pod(struct acl_world *w, const struct ctl_pod *p);
int acl_world_add_namespace(struct acl_world *w, const struct ctl_namespace *n);
int acl_world_add_sa(struct acl_world *w, const struct ctl_serviceaccount *s);

/** The endpoint owning @p ip, or NULL. */
const struct ctl_pod *acl_world_endpoint(const struct acl_world *w,
					 uint32_t ip);

/**
 * The effective label of an endpoint (§1.5: own labels plus
 * projectcalico.org/{namespace,orchestrator,serviceaccount}, pcns.* and
 * pcsa.*), or NULL.
 */
const char *acl_world_ep_label(const struct acl_world *w,
			       const struct ctl_pod *pod, const char *key);

/** A set of IPv4 CIDRs. */
struct acl_ipset {
	size_t n, cap;
	struct acl_cidr *v;
};

/**
 * Resolve a peer selector to the CIDRs it matches: every endpoint IP (/32)
 * and every network-set CIDR whose labels match. Appends to @p out.
 * @return 0 or -ENOMEM.
 */
int acl_world_sel_ipset(const struct acl_world *w, const struct acl_sel *sel,
			struct acl_ipset *out);
void acl_ipset_clear(struct acl_ipset *s);
/** The network-set part of acl_world_sel_ipset(): their CIDRs only. */
int acl_world_sel_netset_ipset(const struct acl_world *w,
			       const struct acl_sel *sel,
			       struct acl_ipset *out);

/** One applicable tier of an endpoint plan. */
struct acl_plan_tier {
	const char *name;
	enum acl_action end_action; /**< ACL_ACT_DENY or ACL_ACT_PASS */
	size_t n;
	const struct acl_policy **pols; /**< in evaluation order */
};

struct acl_plan {
	size_t n;
	struct acl_plan_tier *tiers; /**< in evaluation order */
};

/**
 * The ordered tiers -> policies that apply to @p pod in direction @p d.
 * Tiers with no applicable policy are left out; an empty plan means the
 * profile (allow) decides. @return 0 or -ENOMEM.
 */
int acl_plan_build(const struct acl_world *w, const struct ctl_pod *pod,
		   enum acl_dir d, struct acl_plan *out);
void acl_plan_clear(struct acl_plan *p);

struct acl_pkt {
	uint32_t src, dst; /**< host order */
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t icmp_type, icmp_code;
};

enum acl_why {
	ACL_WHY_RULE,       /**< a rule's Allow/Deny decided */
	ACL_WHY_TIER_END,   /**< end of a tier with no verdict: drop */
	ACL_WHY_PROFILE,    /**< no tier decided: kns profile allows */
	ACL_WHY_NOT_ENDPOINT, /**< the address is no local endpoint: unpoliced */
};

struct acl_dir_verdict {
	bool allow;
	enum acl_why why;
	const struct acl_policy *policy; /**< ACL_WHY_RULE */
	size_t rule;                     /**< index in policy->rules[dir] */
	const char *tier;                /**< RULE and TIER_END */
};

struct acl_verdict {
	struct acl_dir_verdict egress;  /**< of the source endpoint */
	struct acl_dir_verdict ingress; /**< of the destination endpoint */
	bool allow;                     /**< egress && ingress */
};

/** Evaluate a new connection. @return 0 or -ENOMEM. */
int acl_eval(const struct acl_world *w, const struct acl_pkt *pkt,
	     struct acl_verdict *out);

#endif /* KDP_ACL_EVAL_H */
