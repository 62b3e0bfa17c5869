/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * kdp's internal network-policy model and the decoders that build it from
 * Kubernetes and Calico objects (calico-model.md §3, §4).
 *
 * Every policy kind decodes to the same form, the one Felix evaluates: a
 * Calico policy in a tier, with an order, an endpoint selector that already
 * includes its namespace scope, and per direction an ordered rule list whose
 * peer selectors are fully namespaced (the §3 rewrites are applied here, once,
 * so later stages never need to know where a rule came from). A Kubernetes
 * NetworkPolicy becomes a tier "default", order 1000 policy with one Allow
 * rule per (protocol, peer), as Calico's K8sNetworkPolicyToCalico does.
 *
 * The compile step turns this into tables: per endpoint and direction, the
 * applicable tiers in order, their policies in order, and each rule's peer
 * selectors resolved to IP sets (acl/eval.h, acl_world_sel_ipset()).
 *
 * IPv4 only: IPv6 CIDRs are validated and then dropped; a rule that can only
 * match IPv6 is kept but never matches (ACL_RULE_V6_ONLY).
 *
 * Decoders have the control/store.h ctl_decode_fn signature so they can be
 * registered with ctl_store_set_decoder(); on invalid input they return NULL
 * and write a reason naming the offending field.
 *
 * Thread-safety: decoded objects are immutable; control thread only.
 */
#ifndef KDP_ACL_POLICY_H
#define KDP_ACL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "acl/selector.h"
#include "control/model.h"

enum acl_action {
	ACL_ACT_ALLOW,
	ACL_ACT_DENY,
	ACL_ACT_LOG,
	ACL_ACT_PASS,
};

/** Policy direction, as seen from the endpoint the policy applies to. */
enum acl_dir {
	ACL_DIR_INGRESS,
	ACL_DIR_EGRESS,
	ACL_DIR_MAX,
};

enum acl_pol_kind {
	ACL_POL_K8S,    /**< networking.k8s.io/v1 NetworkPolicy (converted) */
	ACL_POL_CALICO, /**< namespaced Calico NetworkPolicy */
	ACL_POL_GLOBAL, /**< Calico GlobalNetworkPolicy */
};

struct acl_cidr {
	uint32_t net; /**< host order, host bits cleared */
	uint8_t plen;
};

/** A port criterion: a numeric range, or a named port resolved per endpoint. */
struct acl_port {
	uint16_t lo, hi; /**< inclusive; unused when name is set */
	char *name;      /**< named port, or NULL */
};

/** One side (source or destination) of a rule. Empty lists match anything. */
struct acl_entity {
	size_t n_nets;
	struct acl_cidr *nets;
	size_t n_not_nets;
	struct acl_cidr *not_nets;
	bool nets_v6_only;     /**< nets given, all IPv6: never matches IPv4 */
	bool not_nets_v6_only; /**< notNets given, all IPv6: likewise */
	struct acl_sel *sel;   /**< effective peer selector (namespaced), or NULL */
	struct acl_sel *not_sel; /**< or NULL */
	size_t n_ports;
	struct acl_port *ports;
	size_t n_not_ports;
	struct acl_port *not_ports;
};

struct acl_icmp {
	bool set;
	bool has_code;
	uint8_t type;
	uint8_t code;
};

#define ACL_RULE_V6_ONLY 0x1u /**< ipVersion 6: skipped for IPv4 packets */

struct acl_rule {
	enum acl_action action;
	unsigned flags;      /**< ACL_RULE_* */
	int proto;           /**< IP protocol, -1 = any */
	int not_proto;       /**< -1 = none */
	struct acl_icmp icmp, not_icmp;
	struct acl_entity src, dst;
};

struct acl_policy {
	enum acl_pol_kind kind;
	char *name;
	char *ns;   /**< NULL for GlobalNetworkPolicy */
	char *tier; /**< "default" unless given */
	bool has_order;
	double order; /**< meaningful when has_order (missing = +inf) */
	struct acl_sel *selector; /**< effective endpoint selector */
	bool applies[ACL_DIR_MAX]; /**< spec.types, defaulted */
	/** doNotTrack or preDNAT: Felix applies it to host endpoints only,
	 * which kdp has none of, so it is in no pod's plan. */
	bool host_only;
	size_t n_rules[ACL_DIR_MAX];
	struct acl_rule *rules[ACL_DIR_MAX];
};

struct acl_tier {
	char *name;
	bool has_order;
	double order;
	enum acl_action default_action; /**< ACL_ACT_DENY or ACL_ACT_PASS */
};

struct acl_netset {
	char *name;
	char *ns; /**< NULL for GlobalNetworkSet */
	struct ctl_labels labels;
	size_t n_nets;
	struct acl_cidr *nets;
};

/** networking.k8s.io/v1 NetworkPolicy -> struct acl_policy *. */
void *acl_k8s_netpol_decode(const cJSON *obj, char *err, size_t errlen);
/** Calico (crd.projectcalico.org/v1 or projectcalico.org/v3) NetworkPolicy. */
void *acl_calico_netpol_decode(const cJSON *obj, char *err, size_t errlen);
/** Calico GlobalNetworkPolicy. */
void *acl_global_netpol_decode(const cJSON *obj, char *err, size_t errlen);
/** Calico Tier -> struct acl_tier *. */
void *acl_tier_decode(const cJSON *obj, char *err, size_t errlen);
/** Calico NetworkSet -> struct acl_netset *. */
void *acl_netset_decode(const cJSON *obj, char *err, size_t errlen);
/** Calico GlobalNetworkSet -> struct acl_netset *. */
void *acl_global_netset_decode(const cJSON *obj, char *err, size_t errlen);

/** Free functions (NULL is a no-op), typed void * for ctl_decoded_free_fn. */
void acl_policy_free(void *policy);
void acl_tier_free(void *tier);
void acl_netset_free(void *netset);

/** Action name ("Allow", …) for logs. */
const char *acl_action_name(enum acl_action a);

/**
 * Parse an IPv4 or IPv6 CIDR (a bare address means a host route). IPv4
 * results have their host bits cleared. An IPv4-mapped IPv6 CIDR
 * (::ffff:a.b.c.d/n, n >= 96) is the IPv4 one, as Calico reads it.
 * @return 0 for IPv4 (filled in), 1 for a valid IPv6 CIDR, -EINVAL otherwise.
 */
int acl_cidr_parse(const char *s, struct acl_cidr *out);

/** True when @p ip (host order) is inside @p c. */
static inline bool acl_cidr_has(const struct acl_cidr *c, uint32_t ip)
{
	uint32_t mask = c->plen ? ~0u << (32 - c->plen) : 0;

	return (ip & mask) == c->net;
}

#endif /* KDP_ACL_POLICY_H */
