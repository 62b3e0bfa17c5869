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
	/* Named, so that every initializer zeroes it: the sets are compared
	 * with memcmp() (acl_compile.c prog_same()), and a padding byte left
	 * as the stack had it made equal sets differ, so acl_set_update()
	 * dropped rte_acl forms it could have kept (test_pod_churn). */
	uint8_t pad;
};

_Static_assert(sizeof(struct acl_npt) == 8, "no padding but pad");

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

/**
 * The addresses a group's programs can see on their own side: an ingress
 * program only classifies packets to its endpoint (the FIB chose it by
 * the destination), an egress program only packets from it (anti-spoofing
 * checked the source). The rte_acl form is built for those addresses
 * only, widened to the /26 blocks they lie in (Calico's block size), so
 * that a pod added in a block keeps the form: rules that cannot match
 * there cost neither build time nor trie depth (acl/acl.h "Fast path").
 */
enum acl_scope_side { ACL_SCOPE_NONE, ACL_SCOPE_SRC, ACL_SCOPE_DST };

#define ACL_SCOPE_BLOCK 64u /* addresses per block (/26) */

struct acl_scope {
	uint8_t side;     /**< enum acl_scope_side */
	uint32_t n;       /**< blocks */
	uint32_t *base;   /**< sorted, distinct block bases (host order) */
};

/** Does @p have admit every address @p need admits? */
bool acl_scope_covers(const struct acl_scope *have,
		      const struct acl_scope *need);

/** The rte_acl form of a program (acl_fast.c); shared by the programs
 * of one set built from the same plan (their rule indexes coincide). */
struct acl_fast {
	struct rte_acl_ctx *ctx; /**< NULL: no rule can match */
	uint32_t n_cat;          /**< categories classified (>= n_tier) */
	uint32_t n_tier;         /**< tier t is category t */
	uint32_t *tier_end;      /**< index of tier t's end entry */
	uint32_t n_rules;        /**< rte_acl rules */
	unsigned int refs;       /**< atomic: the sets holding it (an update
				  *   keeps the forms of unchanged programs) */
	struct acl_scope scope;  /**< what it was built for (a copy) */
};

/**
 * A rule's necessary conditions in 8 bytes, for the linear walk to pass
 * over rules that cannot match without touching the rule itself (a
 * compiled rule is hundreds of bytes: a program of 10k rules is megabytes,
 * and the walk was bound by reading it).
 */
struct acl_quick {
	uint8_t proto;   /**< the packet's protocol must be this; 0: any */
	uint8_t walk;    /**< 1: never skipped (tier end) */
	uint16_t dlo, dhi; /**< the destination port must lie in [dlo, dhi] */
	uint16_t pad;
};

struct acl_prog {
	uint32_t n;
	struct acl_crule *r;
	struct acl_quick *q;     /**< [n], see struct acl_quick */
	uint32_t n_pol;
	struct acl_pinfo *pol;
	/** NULL: the linear walk. Set once, after the set is published, by
	 * the control thread (acl_set_fast_poll(): release store; workers
	 * load it with acquire), from NULL to a form that gives the same
	 * verdicts. Never changes back while the set lives. */
	const struct acl_fast *fast;
};

/** A peer selector the set resolved against the pods: their addresses,
 * sorted, an address once per pod claiming it (network sets apart). */
struct acl_sel_dep {
	const struct acl_sel *sel;
	const char *key;           /**< acl_sel_str(sel) */
	uint32_t n_ips;
	uint32_t *ips;
};

/** A named port the set resolved against the pods. */
struct acl_np_dep {
	const struct acl_sel *sel; /**< NULL: every pod */
	const char *name;
	uint32_t n;
	struct acl_npt *v;         /**< sorted, with repeats */
};

struct acl_set {
	uint32_t gen;
	uint32_t n_ep;
	struct acl_prog *prog;   /**< [ep * ACL_DIR_MAX + dir] */
	uint32_t n_ids;
	unsigned int n_workers;
	uint64_t *hits;          /**< [worker * n_ids + id] */
	/* What the set read from the pods: the peer selectors it resolved to
	 * IP sets and the named ports, with what they resolved to. The
	 * selectors and names are borrowed from the policies the set was
	 * built from (see acl_set_pod_matters(), acl_set_update()). */
	uint32_t n_dep_sel, n_dep_np;
	struct acl_sel_dep *dep_sel;
	struct acl_np_dep *dep_np;
	/* The rte_acl forms (acl_bg.c): the programs of one plan form a
	 * group that shares one form. */
	uint32_t n_fast;         /**< groups */
	struct acl_fast **fast;  /**< [group], a reference each; NULL: linear.
				  *   Kept from the previous set by
				  *   acl_set_update(), or written by the
				  *   builder (read after fast_done) */
	uint32_t *grp_prog;      /**< [group]: the program it is built from */
	uint32_t *prog_grp;      /**< [program]: its group, or UINT32_MAX */
	struct acl_scope *grp_scope; /**< [group]: its endpoints' blocks */
	/* Background build (acl_bg.c). refs counts the owner and a running
	 * builder: whichever drops the last reference frees the set. */
	unsigned int refs;       /**< atomic */
	int fast_cancel;         /**< atomic: the owner freed the set */
	int fast_done;           /**< atomic, release: the builder finished */
	int fast_err;            /**< builder: first hard error (not ENOTSUP,
				  *   E2BIG), read after fast_done */
	double fast_ms;          /**< builder: wall time */
	struct acl_set_info info;
};

/** Free every part of @p s now (acl_set_free() decides when). */
void acl_set_destroy(struct acl_set *s);

/**
 * Start building the rte_acl forms of @p s's groups in the background
 * (called by acl_set_build() once the set is complete). On failure the set
 * stays linear, with state ACL_FAST_FAILED.
 */
void acl_bg_start(struct acl_set *s);
/** rte_acl contexts the background builders have built since start (a
 * test's measure of how far a cancelled build went). */
uint64_t acl_bg_built(void);

/** Drop the owner's reference to @p s (acl_set_free()). */
void acl_bg_release(struct acl_set *s);

/** Count the forms s->fast holds into s->info (control thread, when no
 * builder writes s->fast). */
void acl_fast_count(struct acl_set *s);

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
	uint32_t full_sweep_ms; /**< when a full table last swept (ct_make_room()) */
	/* Sweep pacing (acl_ct_housekeep()): TSC cycles per step, next due. */
	uint64_t sweep_period_tsc, sweep_next_tsc;
	/* conf's timeouts in ms, for the hot path (acl/ct_fast.h) */
	uint32_t tmo_tcp_est_ms, tmo_tcp_other_ms, tmo_tcp_close_ms;
	uint32_t tmo_udp_ms, tmo_icmp_ms;
	struct acl_ct_stats st;
	uint32_t dels; /**< entries deleted, wrapping (struct acl_ct_miss) */
	uint64_t log_tokens, log_last_ms;
};

/** The linear walk may use AVX-512 where the CPU has it (default true;
 * tests turn it off to run the scalar path on the same packets). */
extern bool acl_quick_simd;

/**
 * Build the rte_acl form of @p pg for packets within @p sc (NULL or
 * ACL_SCOPE_NONE: all). @return 0, -ENOTSUP (Log rules, too many tiers,
 * notPorts with named ports, no EAL), -E2BIG (expansion too large),
 * -ENOMEM or an rte_acl error; the program then stays linear.
 */
int acl_fast_build(const struct acl_prog *pg, const struct acl_scope *sc,
		   struct acl_fast **out);
/** Take a reference to @p f (any thread). */
void acl_fast_get(struct acl_fast *f);
/** Drop a reference to @p f; the last frees it (any thread). NULL: no-op. */
void acl_fast_put(struct acl_fast *f);
/** Classify with pg->fast (non-NULL); counts the deciding entry. */
bool acl_fast_classify(const struct acl_prog *pg, uint64_t *hits,
		       const struct acl_pkt *p);
/** Classify @p n (<= ACL_BULK_MAX) packets with pg->fast (non-NULL) in one
 * call: packet i's per-tier results at @p res + i * (return value). */
uint32_t acl_fast_classify_bulk(const struct acl_prog *pg,
				const struct acl_pkt *const *p, uint32_t n,
				uint32_t *res);
/** The decision from per-tier first matches @p res (userdata, 0 = none). */
bool acl_fast_decide(const struct acl_prog *pg, uint64_t *hits,
		     const uint32_t *res);

#endif
