/* SPDX-License-Identifier: BSD-3-Clause */
/* Compiled policy programs and per-worker state (see acl/acl.h). */
#ifndef KDP_ACL_ACL_PRIV_H
#define KDP_ACL_ACL_PRIV_H

#include "acl/acl.h"

/** A set of IPv4 addresses: sorted, disjoint, non-adjacent intervals. */
struct acl_iset {
	uint32_t n;
	uint32_t *lo, *hi;
};

/** A named port resolved to the endpoints carrying it. */
struct acl_npt {
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
};

struct acl_pset {
	uint32_t n_ranges;
	uint16_t *lo, *hi;
	uint32_t n_named;
	struct acl_npt *named; /**< sorted by (ip, proto, port) */
};

struct acl_cent {
	bool has_nets, has_sel, has_ports;
	struct acl_iset nets, not_nets, sel, not_sel;
	struct acl_pset ports, not_ports;
};

enum acl_op {
	ACL_OP_RULE,
	ACL_OP_TIER_END,
};

struct acl_crule {
	uint8_t op;        /**< enum acl_op */
	uint8_t action;    /**< rule action, or tier-end DENY/PASS */
	bool never;        /**< can never match an IPv4 packet */
	int16_t proto, not_proto;
	struct acl_icmp icmp, not_icmp;
	uint32_t pass_to;  /**< index after this tier's end */
	uint32_t id;       /**< hit counter index */
	struct acl_cent src, dst;
};

/** Telemetry: which policy a run of compiled rules came from. */
struct acl_pinfo {
	char *name;        /**< "tier/ns/name" or "tier/name" */
	uint32_t first_id;
	uint32_t n_rules;
};

struct acl_prog {
	uint32_t n;
	struct acl_crule *r;
	uint32_t n_pol;
	struct acl_pinfo *pol;
};

struct acl_set {
	uint32_t gen;
	uint32_t n_ep;
	struct acl_prog *prog;   /**< [ep * ACL_DIR_MAX + dir] */
	uint32_t n_ids;
	unsigned int n_workers;
	uint64_t *hits;          /**< [worker * n_ids + id] */
};

#define ACL_WORKER_MAX 64

/** Rate limit of Log rule lines per worker. */
#define ACL_LOG_RATE 10
#define ACL_LOG_BURST 20

struct acl_ct_entry;

struct acl_worker {
	unsigned int wid;
	struct acl_ct_conf conf;
	uint32_t mask;             /**< slots - 1 */
	struct acl_ct_entry *slot; /**< inside map, 2 MiB aligned when large */
	void *map;                 /**< the table's mapping (munmap) */
	size_t map_len;
	uint32_t sweep_at;
	struct acl_ct_stats st;
	uint64_t log_tokens, log_last_ms;
};

#endif
