/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Network-policy enforcement: the compiled policy programs workers run, and
 * the connection tracker in front of them (issue #4).
 *
 * Design
 * ------
 * Store. acl_register() installs the policy decoders (acl/policy.h) for
 * K8S_NETPOL, CALICO_NETPOL, GLOBAL_NETPOL, TIER, NETWORKSET and
 * GLOBAL_NETWORKSET. A bad object is rejected by the store with a log line
 * naming it, and its previous version stays in force.
 *
 * Compile (control thread). acl_world_from_store() views the store as an
 * evaluator world (acl/eval.h); acl_set_build() turns it into one program
 * per local endpoint and direction. A program is the endpoint's plan
 * (acl_plan_build(): applicable tiers in order, their policies in order)
 * flattened into a rule array followed, per tier, by a tier-end entry:
 *  - each rule keeps Calico's order, so "first match wins" is a linear scan;
 *    Pass jumps past its tier's end entry; Log logs and continues; a tier
 *    end drops unless the tier's defaultAction is Pass; running off the end
 *    of the program is the kns profile: allow. An empty program (no policy
 *    selects the endpoint in that direction) allows.
 *  - peer selectors are resolved to IP sets with acl_world_sel_ipset() and
 *    stored, with nets/notNets, as sorted disjoint intervals (binary search);
 *  - named ports become (IP, protocol, port) sets of the endpoints that
 *    carry that port name and match the rule side's selector, i.e. they
 *    resolve per destination pod, like Calico's named-port IP sets.
 * Fast path (acl_fast.c). Each program may also get an rte_acl form: every
 * rule is expanded into boxes over (proto, src IP, dst IP, src port, dst
 * port, ICMP type<<8|code) — IP sets cut into CIDR blocks (MASK fields),
 * port and type/code sets as RANGE fields, negations as complements — one
 * rte_acl rule per box, priority = program order, userdata = rule index+1,
 * category = tier (<= 16 tiers). One rte_acl_classify() returns each
 * tier's first matching rule; the decision walks the tiers (no match →
 * tier end, Pass → next tier). Programs built from the same plan share one
 * context. A context is built for its programs' own side only (struct
 * acl_scope): an ingress program classifies packets to its endpoint, an
 * egress one packets from it, so the destination (source) field admits
 * the /26 blocks of the group's endpoints and nothing else. Rules whose
 * addresses lie elsewhere drop out of the trie: with 10k random rules in
 * one GlobalNetworkPolicy, 1.2k rte_acl rules remain and the build takes
 * 95 ms instead of 3.9 s. Hence the contract of acl_classify() and
 * acl_classify_bulk(): the packet's destination (ingress) or source
 * (egress) is one of the endpoint's addresses, as the pipeline guarantees
 * (FIB next hop, anti-spoofing). A kept form (acl_set_update()) must cover
 * its new group's blocks, or is rebuilt. Programs with Log rules (not terminal), more than 16 tiers,
 * notPorts with named ports, an expansion over 2^18 rte_acl rules, or any
 * rte_acl failure keep the linear first-match walk, which remains the
 * reference (acl_classify_linear()) and is checked against acl_eval() and
 * the fast form in the unit tests (conformance cases plus random Calico
 * policies).
 * Compiled rule ids index per-worker hit counters (summed on read; they
 * restart at zero when tables are republished).
 *
 * Background rte_acl build (acl_bg.c). The rte_acl build costs ~0.2 s per
 * 1k rules in scope and ~4 s at 10k; the linear programs take milliseconds. So
 * acl_set_build()/acl_set_update() compile the linear programs only, the
 * set is published at once (new flows use the linear walk meanwhile), and
 * with rte_acl wanted a detached thread builds the forms, one per plan.
 * When it is done, the control thread (acl_set_fast_poll() from its loop)
 * attaches them: each program's `fast` pointer goes from NULL to its form
 * with a release store, and workers read it with an acquire load. This is
 * the one sanctioned change to a published set; it is safe because the
 * form gives the linear walk's verdicts (unit-tested) and counts the same
 * hit ids, so a worker may use either, even within one burst.
 *  - Lifetime: the set holds two references while its builder runs (the
 *    owner's and the builder's). acl_set_free() sets the cancel flag and
 *    drops the owner's; the builder drops its own when it ends; whoever
 *    drops the last frees the set and its contexts. The owner never waits.
 *  - One build at a time (a global lock): a superseded set is freed, after
 *    its tables' grace period, so its builder stops at the next context
 *    (one rte_acl_build() cannot be interrupted) and the newer set's
 *    builder, waiting for the lock, starts then. Builds never pile up on
 *    the CPUs.
 *  - acl_set_update() (Pod changes) keeps the previous set's attached form
 *    for each program whose compiled rules did not change (compared rule
 *    by rule): forms are reference-counted, so a kept one outlives the set
 *    that built it, and the new set is published with it already in place.
 *    Only the changed programs' plans get a background build.
 *  - rte_acl context names are unique process-wide (an atomic counter):
 *    rte_acl_create() returns an existing context of the same name.
 *  - acl_fast_drain() waits for running builders (shutdown).
 *
 * The set is published inside struct pl_tables and freed with it after the
 * RCU grace period; any store change republishes (control/ctl.c).
 *
 * Pod changes (control/compile.c, with the store's journal of changes): a
 * set keeps what it resolved from the Pods (each peer selector's pod
 * addresses, each named port's entries). A change of a non-local Pod that
 * moves none of them (acl_set_pod_matters()) keeps the set as it is; one
 * that does gets a new set from the kept resolutions updated with the
 * changed Pods only (acl_set_update()), so neither walks the 100k Pods of a
 * large cluster. Policy, tier, network set, namespace, service account and
 * local Pod changes build from scratch.
 *
 * Conntrack (workers). One table per worker, open addressing with linear
 * probing over a power-of-two array of 32-byte entries (load factor <= 1/2),
 * keyed on the direction-normalised 5-tuple (the lower (IP, port) side
 * first), plus which side opened the flow, and hashed with keys drawn at
 * start (acl_ct_key_hash()), so that no sender can aim flows at one chain.
 * Lookups are done per burst: keys and hashes first, slot prefetches, then the walk: an established flow's
 * packet is settled inline (acl/ct_fast.h acl_ct_hit()), other packets of
 * tracked flows by acl_ct_lookup(); the burst's new flows are then
 * classified together, one rte_acl_classify() per program for all of them
 * (acl_classify_bulk(): rte_acl's SIMD paths need 4, 8 or 16 packets;
 * classified one by one they ran its scalar walk), and created in burst
 * order, each in the slot its lookup found while that still holds
 * (acl_ct_create()). Aging is incremental:
 * the worker sweeps ACL_CT_SWEEP_SLOTS slots at a time, deleting expired
 * entries with backward shift (no tombstones), paced on the TSC so that a
 * whole pass over the table takes about ACL_CT_SWEEP_PASS_MS, and at most
 * one step per poll iteration (acl_ct_housekeep()); lookups also treat
 * expired entries as absent, so the pace only bounds how long an expired
 * entry holds its slot.
 *  - TCP: SYN opens (SYN_SENT), SYN-ACK from the responder (SYN_RECV), ACK
 *    from the originator (ESTABLISHED); FIN → CLOSING, RST → CLOSED; a new
 *    SYN on a CLOSING flow, or the originator's on a CLOSED one, reopens
 *    it as a new flow from the SYN's sender, classified in its direction;
 *    the responder's SYN on a CLOSED flow is invalid (as in Linux's
 *    CLOSE state). Without an entry only a SYN (or, like Linux's loose
 *    pickup, a bare ACK) may start a flow; SYN-ACK, FIN, RST without an
 *    entry are invalid and dropped (ct_invalid).
 *  - UDP, SCTP and other protocols: the first packet opens, a packet from
 *    the responder marks the flow replied. An ICMP query is keyed on its
 *    id, its request's type and the side that sent the request (Linux's
 *    reply tuple has the reply's type): only the matching reply from the
 *    other side is the flow's reply, that side's own request with the
 *    same id is a flow of its own. Only a query's request (echo,
 *    timestamp, information, address mask: 8, 13, 15, 17) opens an ICMP
 *    flow, any other ICMP message but an error is invalid without an
 *    entry (Linux's valid_new[]). ICMP errors
 *    (3, 4, 5, 11, 12) pass when the flow they quote is tracked and
 *    allowed under the current policy generation and they go to the
 *    quoted packet's sender (RELATED; else invalid, as in Linux); a flow
 *    not re-checked since a policy change (no packet of its own yet) has
 *    no related errors.
 *  - Timeouts: tcp_established_s for ESTABLISHED, tcp_close_s for CLOSED
 *    (Linux's CLOSE, 10 s: an RST's flow is over), tcp_transitory_s for
 *    other TCP states, udp_s for UDP/other, icmp_s for ICMP.
 *  - Verdicts are cached in the entry, denials included, so a blocked
 *    sender does not cost a classification per packet. A responder packet
 *    that hits a denied entry is a new flow the other way and is checked.
 *  - Full table (max_flows entries): a new flow may take an expired slot on
 *    its probe path; else, like Linux's early_drop, evict an entry that
 *    was never answered (UDP/ICMP NEW, TCP SYN_SENT or CLOSED, or a cached
 *    denial) among the 16 slots from its home ('evicted' in
 *    /kdp/conntrack); else sweep a bounded number of slots for expired
 *    entries, at most once a millisecond; otherwise it is dropped and
 *    counted (ct_full drop reason, and the 'full' counter): fail closed.
 *    A flow that has had an answer is never evicted, so a flood of new
 *    flows neither cuts established ones nor locks out new ones until
 *    entries expire.
 *  - Policy change: each entry stores the generation of the policy set that
 *    decided it; an entry from an older generation is re-classified (in its
 *    original direction) on its next packet, and dropped from then on if
 *    the new policy denies it. This is our equivalent of Felix flushing
 *    conntrack entries on policy change: new flows see the new policy at
 *    once, and existing ones within one packet.
 *  - Hops: an entry also records, per direction, the FIB's next hop for
 *    its packets (the @p hop of acl_ct_packet(); ct_fast.h acl_ct_entry.hop), so that
 *    the pipeline's express lanes route an established flow's packet
 *    without a FIB lookup. The pipeline's generation is the newer of the
 *    policy set's and its FIB's (pipeline/tables.h fib_gen): a route
 *    change re-checks every flow once, as a policy change does, and drops
 *    their hops, which the next packets through the general stages record
 *    again.
 *  - Several workers: flow ownership with handoff (below).
 *  - Fragments: non-first fragments carry no ports. The pipeline keys them
 *    with their first fragment's ports when the receiving worker saw it
 *    (pipeline/frag_fast.h), so they meet their datagram's entry; else
 *    with ports 0 (only port-less rules allow them). No reassembly.
 *
 * Several workers. Rx queues are spread over workers (RSS, or whole ports
 * per worker), so the request and the reply of a flow usually arrive at
 * different workers. Every flow therefore has one owner,
 * acl_flow_owner(): a function of the normalised key's hash, so both
 * directions and the ICMP errors quoting the flow agree. Only the owner's
 * table holds the entry. A worker that receives a policed packet of a flow
 * it does not own hands the packet over a single-producer/single-consumer
 * ring (one per ordered pair of workers) to the owner, which runs
 * conntrack, policy and the rest of the pipeline for it (pipeline/
 * pipeline.h; like VPP's handoff). A flow's packets of one direction come
 * from one rx queue and cross one FIFO ring, so they stay in order. Costs:
 * a ring hop (enqueue + dequeue in bursts, a cache miss on the mbuf at the
 * owner) for policed traffic received by a non-owner, i.e. about half of
 * it with two workers; nothing for unpoliced traffic or with one worker.
 * A full ring drops (handoff_full) rather than block.
 *   Why not one shared lock-free table: lookups could be lock-free and a
 * first packet's CAS acceptable, but the reply direction writes the same
 * entry (TCP state, expiry) as the request direction, so an established
 * flow would bounce its entry's cache line between two cores on every
 * packet; deletion by backward shift moves entries under concurrent readers
 * (it would need tombstones plus per-entry versions, and a bounded
 * tombstone cleanup); the counters become shared; and the state machine
 * needs multi-field updates (state + verdict + generation) that are only
 * safe with a seqlock or CAS loops. Handoff keeps every table single-writer
 * (this file's code unchanged, no atomics at all: rte_ring SP/SC uses only
 * acquire/release loads and stores), and its cost falls only on cross-worker
 * packets. Not handed over: packets neither from nor to a local pod.
 * Non-first fragments keyed with their first fragment's ports go to its
 * owner, their ports in the mbuf (pipeline/frag_fast.h); others have
 * another key and possibly another owner than the first fragment.
 *
 * Evaluation. Egress of the source pod is checked on the node that
 * receives the packet from the pod (before routing); ingress of the
 * destination pod on the node that delivers it (after decapsulation).
 * Traffic from the node itself (from the host port, with the node IP or the
 * tunnel IP as source) to its pods is allowed (Calico's filterOutputChain),
 * and tracked so that the pod's replies pass. What the host forwards (other
 * sources from the host port) is policed, as in Felix's FORWARD chain; the
 * uplink drops the node's own addresses as sources.
 *
 * Configuration (control/config.c): "policy": {"enabled": true} (the
 * default; false publishes no programs and creates no conntrack),
 * "policy": {"classifier": "rte_acl"} (the default: rte_acl forms built in
 * the background; "linear" builds none), and
 * "conntrack": {"max_flows", "tcp_established_s", "tcp_transitory_s",
 * "tcp_close_s", "udp_s", "icmp_s"}. Memory: 2 * max_flows rounded up to a power of two
 * slots of 32 bytes per worker (64 MiB for 1M flows), in ordinary memory
 * (transparent huge pages where the kernel allows), populated when the
 * worker's state is created: a table that does not fit fails kdp's start
 * naming conntrack.max_flows, and no worker ever waits for the kernel to
 * map a page of it.
 *
 * Thread-safety: acl_set_build()/free/fast_poll and acl_register() are
 * control-thread only; a built set is immutable except for its hit
 * counters, which each worker writes in its own row, and the attach of its
 * rte_acl forms (above). A struct acl_worker belongs to one worker
 * (with several workers, the pipeline's handoff sees to it that a flow is
 * only ever looked up in its owner's table);
 * telemetry reads its counters and a bounded dump racily (statistics only).
 */
#ifndef KDP_ACL_ACL_H
#define KDP_ACL_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl/eval.h"
#include "acl/policy.h"
#include "control/store.h"

/* ------------------------------------------------------------------ store */

/** Register the policy decoders with @p st (call next to k8s_decode_register). */
void acl_register(struct ctl_store *st);

/**
 * A world over the store's current objects (policies, tiers, network sets,
 * pods, namespaces, service accounts). It borrows them: free it before the
 * store changes. NULL on allocation failure.
 */
struct acl_world *acl_world_from_store(const struct ctl_store *st);

/**
 * Like acl_world_from_store() without the Pods: enough to plan endpoints
 * and to evaluate selectors against a given Pod (acl_set_pod_matters(),
 * acl_set_update()). NULL on allocation failure.
 */
struct acl_world *acl_world_nopods_from_store(const struct ctl_store *st);

/* -------------------------------------------------------- compiled policy */

struct acl_set;

/**
 * Compile programs for @p n_ep local endpoints (@p eps[i] may be NULL: no
 * program, allow). @p n_workers sizes the hit counters. The programs are
 * linear when this returns (milliseconds; the set can be published at
 * once). With @p rte_acl (kdp's default, "policy": {"classifier"}) a
 * background thread then builds their rte_acl forms ("Background rte_acl
 * build" above): ~0.2 s per 1k rules, seconds at 10k; the control thread
 * attaches them with acl_set_fast_poll().
 * @return the set, or NULL with a reason in @p err.
 */
struct acl_set *acl_set_build(const struct acl_world *w,
			      const struct ctl_pod *const *eps, uint32_t n_ep,
			      unsigned int n_workers, uint64_t gen,
			      bool rte_acl, char *err, size_t errlen);

/** State of a set's rte_acl forms. */
enum acl_fast_state {
	ACL_FAST_NONE,     /**< not wanted: every program is linear */
	ACL_FAST_BUILDING, /**< in the background, or done but not attached */
	ACL_FAST_READY,    /**< attached (programs that cannot have one, see
			    *   "Fast path", stay linear) */
	ACL_FAST_FAILED,   /**< the builder could not start, or some form
			    *   failed (memory, rte_acl): those stay linear,
			    *   the others are attached */
};

/** "none", "building", "ready", "failed". */
const char *acl_fast_state_str(enum acl_fast_state st);

/** What a build produced (telemetry, benchmarks, tests). The fast_* and
 * acl_* fields count what is attached. */
struct acl_set_info {
	uint32_t programs;      /**< non-empty programs */
	uint32_t fast_programs; /**< of which classified by rte_acl */
	uint32_t contexts;      /**< rte_acl contexts (shared per plan) */
	uint32_t acl_rules;     /**< rte_acl rules over all contexts */
	uint32_t rules;         /**< compiled rules over all programs */
	double build_ms;        /**< wall time of acl_set_build() (linear) */
	enum acl_fast_state fast_state;
	double fast_build_ms;   /**< wall time of the background build, from
				 *   its start (waiting for an older build
				 *   included); 0 until attached */
	double fast_ready_mono; /**< CLOCK_MONOTONIC seconds of the attach;
				 *   0 until then */
};

/** Fill @p out for @p s. */
void acl_set_get_info(const struct acl_set *s, struct acl_set_info *out);

/**
 * Whether a change of one non-local Pod, from @p old to @p cur (either NULL:
 * added, deleted), can change what acl_set_build() makes of the world @p s
 * was built from: true when the Pod enters, leaves or changes its
 * addresses in the IP set of a peer selector @p s resolved, or in a named
 * port set. The plans of local endpoints are not considered (their Pods
 * are compared by the caller). @p w gives namespace and service-account
 * labels (acl_world_labels_from_store()). Only valid while the policies,
 * tiers and network sets @p s was built from are unchanged: it reads their
 * selectors.
 */
bool acl_set_pod_matters(const struct acl_set *s, const struct acl_world *w,
			 const struct ctl_pod *old, const struct ctl_pod *cur);

/** One Pod change, as acl_set_update() takes them. */
struct acl_pod_change {
	const struct ctl_pod *old; /**< before; NULL: added */
	const struct ctl_pod *cur; /**< after; NULL: deleted */
};

/**
 * Like acl_set_build(), from the set @p prev built before Pod changes
 * @p ch (in order: each Pod's changes chain, old to cur): peer selector IP
 * sets and named port sets are @p prev's, updated with the changed Pods
 * only, instead of walking every Pod. @p w is a world without Pods
 * (acl_world_nopods_from_store()) over the same policies, tiers, network
 * sets, namespaces and service accounts as @p prev's.
 * @return the set, or NULL with a reason in @p err: then build from
 *   scratch (also when @p prev's view of the Pods does not fit @p ch).
 */
struct acl_set *acl_set_update(const struct acl_set *prev,
			       const struct acl_world *w,
			       const struct ctl_pod *const *eps, uint32_t n_ep,
			       unsigned int n_workers, uint64_t gen,
			       bool rte_acl, const struct acl_pod_change *ch,
			       size_t n_ch, char *err, size_t errlen);

/**
 * Free a set no worker can see any more. NULL is a no-op. Never waits for
 * its background build: that is cancelled, and the builder frees the set
 * when it ends (see "Background rte_acl build").
 */
void acl_set_free(struct acl_set *s);

/**
 * Control thread: when @p s's background build has finished, attach its
 * rte_acl forms to the programs (the one change made to a published set).
 * Cheap when there is nothing to do: call it once per loop iteration on
 * the published set. @return the state after the call.
 */
enum acl_fast_state acl_set_fast_poll(struct acl_set *s);

/** acl_set_fast_poll() until the state is not ACL_FAST_BUILDING (tests,
 * tools). */
enum acl_fast_state acl_set_fast_wait(struct acl_set *s);

/**
 * Wait until no background build runs (the sets they built for were freed
 * or attached). Call after freeing the last sets and before
 * rte_eal_cleanup(): a cancelled builder may still be inside
 * rte_acl_build().
 */
void acl_fast_drain(void);

/** Generation the set was built for (stored in conntrack entries). */
uint32_t acl_set_gen(const struct acl_set *s);

/** Per-worker state: the conntrack table, the log rate limit, the row of
 * the hit counters. */
struct acl_worker;

struct acl_ct_conf {
	uint32_t max_flows;         /**< default 1M */
	uint32_t tcp_established_s; /**< default 3600 */
	uint32_t tcp_transitory_s;  /**< default 120 */
	uint32_t tcp_close_s;       /**< CLOSED (after an RST), default 10 */
	uint32_t udp_s;             /**< default 60 */
	uint32_t icmp_s;            /**< default 30 */
};

/** Default conntrack settings. */
void acl_ct_conf_default(struct acl_ct_conf *c);

/**
 * Create worker @p wid's state (registered for telemetry). NULL on
 * allocation failure.
 */
struct acl_worker *acl_worker_create(const struct acl_ct_conf *conf,
				     unsigned int wid);
/** Free; NULL is a no-op. */
void acl_worker_free(struct acl_worker *aw);

/**
 * Classify a new flow for endpoint @p ep of @p s in direction @p d: the
 * first-match walk of the compiled program. Counts the deciding rule and
 * logs (rate-limited) matching Log rules. Safe on a worker. The packet's
 * destination (ingress) or source (egress) must be one of the endpoint's
 * addresses ("Fast path": the rte_acl form sees no other).
 * @return true when allowed.
 */
bool acl_classify(const struct acl_set *s, struct acl_worker *aw, uint32_t ep,
		  enum acl_dir d, const struct acl_pkt *p);

/** acl_classify() by the linear walk even where an rte_acl form exists:
 * the reference the fast path is tested against. */
bool acl_classify_linear(const struct acl_set *s, struct acl_worker *aw,
			 uint32_t ep, enum acl_dir d, const struct acl_pkt *p);

/** Most packets acl_classify_bulk() takes at once. */
#define ACL_BULK_MAX 32
/** Most per-packet results acl_classify_bulk() writes (rte_acl categories). */
#define ACL_BULK_RES_MAX 16

/**
 * The first half of acl_classify() for @p n (1..ACL_BULK_MAX) new flows of
 * endpoint @p ep in direction @p d at once, where the program has its
 * rte_acl form: packet i's results are written at @p res + i * stride
 * (room for n * ACL_BULK_RES_MAX values). Counts nothing: the verdict is
 * acl_classify_decide() of them, taken only for the packets that turn out
 * to need one. @return stride, or 0 when the program has no rte_acl form
 * (use acl_classify() per packet).
 */
uint32_t acl_classify_bulk(const struct acl_set *s, uint32_t ep,
			   enum acl_dir d, const struct acl_pkt *const *p,
			   uint32_t n, uint32_t *res);

/** The verdict from one packet's acl_classify_bulk() results (same set,
 * endpoint and direction); counts the deciding rule like acl_classify(). */
bool acl_classify_decide(const struct acl_set *s, struct acl_worker *aw,
			 uint32_t ep, enum acl_dir d, const uint32_t *res);

/* ----------------------------------------------------------- conntrack */

/** Result of the conntrack + policy decision for one packet. */
enum acl_ct_res {
	ACL_CT_PASS,
	ACL_CT_DENY,    /**< policy denies the flow */
	ACL_CT_INVALID, /**< no entry and not a valid start, or truncated */
	ACL_CT_FULL,    /**< new flow, table full */
	ACL_CT_MISS,    /**< acl_ct_lookup(): no entry decides the packet */
	/** ACL_CT_PASS for a packet that must go to the host, whatever its
	 * route: it goes the reply way of a flow whose originator's packet
	 * came through the host port (ACL_CT_HOP_VIA_HOST), so the host's
	 * own conntrack sees both ways and un-NATs it ("Host return"). */
	ACL_CT_PASS_HOST,
};

/** A packet's flow identity, parsed from its IPv4 header. */
struct acl_flow {
	struct acl_pkt pkt;    /**< as sent (host order) */
	uint8_t tcp_flags;
	uint8_t kind;          /**< ACL_FLOW_* */
	uint32_t hash;
	uint32_t key[4];       /**< normalised key (struct acl_ct_key) */
	bool src_lo;           /**< the sender is the key's first side */
};

enum {
	ACL_FLOW_NORMAL = 0,
	ACL_FLOW_ICMP_ERR, /**< key and hash are the quoted flow's */
};

/**
 * Parse the IPv4 packet at @p ip (@p len bytes available, header already
 * validated). @return 0, or -EINVAL for a truncated L4 header.
 */
int acl_flow_parse(const void *ip, uint32_t len, struct acl_flow *f);

/**
 * Key @p f, a packet without a transport header of its own (a later
 * fragment), as acl_flow_parse() keys a first packet with those ports
 * (ICMP: @p sport and @p dport the query's id, and its type and code).
 * Its TCP flags are none.
 */
void acl_flow_rekey(struct acl_flow *f, uint16_t sport, uint16_t dport,
		    uint8_t icmp_type, uint8_t icmp_code);

/**
 * The worker that owns flow @p f among @p n_workers (see "Several
 * workers"): a function of the normalised key only, so both directions of a
 * flow, and ICMP errors quoting it, map to the same worker. Multiply-shift
 * takes the hash's high bits; the table slot uses its low bits.
 */
static inline unsigned int acl_flow_owner(const struct acl_flow *f,
					  unsigned int n_workers)
{
	return (unsigned int)(((uint64_t)f->hash * n_workers) >> 32);
}

/**
 * Decides whether policy allows a new flow @p p (sent by the flow's
 * originator); @p reversed tells that @p p goes the other way than the
 * packet being processed.
 */
typedef bool (*acl_classify_fn)(void *arg, const struct acl_pkt *p,
				bool reversed);

/**
 * A bit of the @p hop of acl_ct_packet(), acl_ct_lookup() and
 * acl_ct_create(): the packet came in through the host port. A flow it
 * opens returns through the host: every packet the other way passes as
 * ACL_CT_PASS_HOST (acl/ct_fast.h ACL_CT_F_VIA_HOST). The host may have
 * translated the packet (kube-proxy's DNAT of a Service, a NodePort);
 * only its own conntrack can translate the replies back, as a Linux
 * router's does. Above every FIB hop (15 bits) and ACL_CT_HOP_NONE.
 */
#define ACL_CT_HOP_VIA_HOST (1ull << 32)

/**
 * Run one packet through conntrack: find or create its entry, advance the
 * state machine, and call @p fn when policy must decide (new flow, or an
 * entry decided under a generation other than @p gen). A packet passed
 * leaves @p hop, the FIB's next hop for its destination under @p gen
 * (ACL_CT_HOP_NONE: unknown), as its direction's in the entry
 * (acl_ct_entry.hop), unless that direction returns through the host
 * (ACL_CT_HOP_HOST); @p hop may carry ACL_CT_HOP_VIA_HOST.
 */
enum acl_ct_res acl_ct_packet(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now_ms, uint64_t hop,
			      acl_classify_fn fn, void *arg);

/**
 * Where acl_ct_lookup() found that a flow would start: the slot its entry
 * would take, and the table's count of deletions then.
 */
struct acl_ct_miss {
	uint32_t slot;
	uint32_t dels;
};

/**
 * acl_ct_packet() for a packet whose flow has an entry (or that is an ICMP
 * error): the same result and effects; ACL_CT_MISS, having changed
 * nothing but @p *miss, for a packet that would start a flow (or be
 * invalid for lack of one). The pipeline looks up a burst this way first,
 * classifies the misses that may start a flow together
 * (acl_classify_bulk()), then runs them through acl_ct_create() in
 * order. Established flows take
 * acl_ct_hit() (acl/ct_fast.h) before either.
 */
enum acl_ct_res acl_ct_lookup(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now_ms, uint64_t hop,
			      acl_classify_fn fn, void *arg,
			      struct acl_ct_miss *miss);

/**
 * acl_ct_packet() for a packet acl_ct_lookup() missed (@p miss), at the
 * same @p now_ms: the same result and effects, without walking the table
 * again when the slot found is still the flow's to take. It is while no
 * entry has left the table since (deletions move entries) and the slot is
 * still free or expired: any creation in between that took it, that of
 * the same flow by an earlier packet of the burst among them, made it
 * live. Otherwise, and when the table is full, acl_ct_packet(): room made
 * by evicting in place ("Full table" above) may have put the same flow,
 * for an earlier packet, before the slot, which stays free.
 */
enum acl_ct_res acl_ct_create(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now_ms, uint64_t hop,
			      acl_classify_fn fn, void *arg,
			      const struct acl_ct_miss *miss);

/** Whether a packet of @p f may open a flow (not an ICMP error; TCP SYN or
 * bare ACK; not an echo reply); false ones without an entry are invalid. */
bool acl_flow_may_start(const struct acl_flow *f);

/** Age out up to @p budget slots from where the last sweep stopped. */
void acl_ct_sweep(struct acl_worker *aw, uint64_t now_ms, uint32_t budget);

/** Slots of one sweep step, and the time a whole pass over the table
 * should take: acl_ct_housekeep() (acl/ct_fast.h). */
#define ACL_CT_SWEEP_SLOTS 16u
#define ACL_CT_SWEEP_PASS_MS 1000u

/** Milliseconds on the worker clock (TSC based). */
uint64_t acl_now_ms(void);
/** acl_now_ms() of the TSC value @p tsc (one TSC read serves both). */
uint64_t acl_tsc_ms(uint64_t tsc);

/* ----------------------------------------------------------- telemetry */

struct acl_ct_stats {
	uint64_t flows;     /**< entries in use (expired ones included) */
	uint64_t capacity;  /**< max_flows */
	uint64_t created;
	uint64_t expired;
	uint64_t full;
	uint64_t evicted;   /**< unanswered entries dropped for new flows */
	uint64_t reclassified;
};

/** Number of registered workers. */
unsigned int acl_worker_count(void);
/** Counters of worker @p wid. @return 0 or -ENOENT. */
int acl_worker_stats(unsigned int wid, struct acl_ct_stats *out);
/**
 * Describe up to @p max live entries of worker @p wid, one line each, via
 * @p fn. @return the number described.
 */
unsigned int acl_ct_dump(unsigned int wid, unsigned int max, uint64_t now_ms,
			 void (*fn)(void *arg, const char *line), void *arg);

/**
 * Describe endpoint @p ep's program in direction @p d: one line per applied
 * policy ("tier/name rules=N hits=H"), via @p fn. @return the number of
 * policies.
 */
unsigned int acl_set_describe(const struct acl_set *s, uint32_t ep,
			      enum acl_dir d,
			      void (*fn)(void *arg, const char *line),
			      void *arg);

#endif /* KDP_ACL_ACL_H */
