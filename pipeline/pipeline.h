/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The packet pipeline: what a worker does with a burst from one port.
 *
 * Stages, per burst:
 *  1. parse and validate (Ethernet, ARP, IPv4), per input role: pods get
 *     anti-spoofing and proxy ARP; the uplink gets Linux's L2 rule (only
 *     frames to its own MAC, and ARP in broadcast or multicast ones:
 *     parse_fast.h pl_uplink_l2()), IPIP termination and its ARP punted
 *     to control;
 *  2. one bulk FIB lookup for every packet still alive;
 *  3. act on the next hop: TTL, MTU, IPIP encap, L2 rewrite, tx buffering,
 *     or a hold for neighbor resolution (punted to control).
 * Policy (acl/acl.h) runs between 2 and 3, where both endpoints are known:
 * conntrack for every packet from or to a local pod, classification for
 * the first packet of a flow.
 *
 * The express lane (express_fast.h) runs first on bursts from pod ports and
 * the uplink: it forwards the longest prefix of the burst in which every
 * packet is the common case (valid IPv4, UDP or TCP, the pod's own
 * addresses or IPIP from a known node, a resolved routed hop, an
 * established flow's conntrack hit) in two passes, the first four packets
 * at a time (express_x4_fast.h; eight with AVX2), and hands the rest of
 * the burst to the stages above. Same frames (an outer IPIP ID aside:
 * express_fast.h struct pl_express_pre), same counters
 * (tests/unit/pipeline/test_express.c compares the two on random
 * traffic); /kdp/stats "express" counts what it forwarded.
 *
 * Outputs are buffered per tx port in the context and sent by
 * pl_ctx_flush(); golden-packet tests read the buffers instead.
 *
 * Several workers (acl/acl.h "Several workers"): every policed flow has one
 * owner worker, chosen by its conntrack hash. A worker that receives a
 * packet of a flow it does not own stops after stage 2 and passes the
 * packet, with its input port and uplink flags, over a single-producer /
 * single-consumer ring to the owner; the owner's pl_handoff_drain() redoes
 * the route lookup with its own tables (the sender's next-hop index may
 * come from another table generation) and runs policy and stage 3. Only
 * policed packets move; with one worker there are no rings and the stage
 * costs one predictable branch.
 *
 * Thread-safety: a context belongs to one worker lcore.
 */
#ifndef KDP_PIPELINE_PIPELINE_H
#define KDP_PIPELINE_PIPELINE_H

#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "acl/acl.h"
#include "dp/stats.h"
#include "pipeline/tables.h"

#define PL_BURST 32
#define PL_TX_BURST 64

/** Why a packet went to control (in mbuf hash.usr, bits 24–31). */
enum pl_punt {
	PL_PUNT_ARP = 1,  /**< ARP from the uplink, or a pod's ARP to learn */
	PL_PUNT_HOLD = 2, /**< waiting for neighbor slot (bits 0–23); m->port = tx port */
	PL_PUNT_PMTU = 3, /**< ICMP "fragmentation needed" about our IPIP (control/pmtu.h) */
};

struct acl_worker;
struct pl_handoff;
struct pl_burst_ops;

struct pl_txbuf {
	uint16_t n;
	/** On the context's pending list, until pl_ctx_flush(): a buffer
	 * that fills and is sent mid-iteration stays listed, so the list
	 * holds each port once. */
	bool listed;
	struct rte_mbuf *pkts[PL_TX_BURST];
};

/* A datagram's first fragment, noted for its later ones (frag_fast.h). */
struct pl_frag_ent {
	uint32_t src, dst;  /**< host order */
	uint32_t expire;    /**< now_ms + PL_FRAG_TTL_MS, wrapping */
	uint32_t ports;     /**< pl_frag_ports() */
	uint16_t id;        /**< the IP id */
	uint8_t proto;
	uint8_t used;
};

/** Slots of a context's table of first fragments: 2^PL_FRAG_BITS. */
#define PL_FRAG_BITS 8
#define PL_FRAG_SLOTS (1u << PL_FRAG_BITS)

struct pl_ctx {
	struct dp_lcore_stats *st;
	struct rte_mempool *mp;   /**< for ICMP errors and ARP copies */
	struct rte_ring *punt;    /**< to control (single producer) */
	uint16_t txq;             /**< this worker's tx queue on every port */
	uint16_t n_pending;       /**< ports with buffered packets (pending) */
	uint16_t ip_id;           /**< outer IPv4 id of our encapsulations */
	/* ICMP error rate limit: a token bucket on the TSC. */
	uint64_t icmp_tokens;
	uint64_t icmp_last;
	uint64_t icmp_period;     /**< TSC cycles per token */
	struct acl_worker *acl;   /**< conntrack + policy state, or NULL */
	const struct pl_handoff *ho; /**< rings to the other workers, or NULL */
	uint16_t wid;             /**< this worker's index in @c ho */
	uint64_t now_tsc;         /**< TSC at this poll's start (pl_ctx_tick()) */
	uint64_t now_ms;          /**< conntrack clock of this poll (pl_ctx_tick()) */
	bool no_express;          /**< general stages only (tests compare) */
	/** The instruction-set variant of the per-burst code (burst.h). */
	const struct pl_burst_ops *burst;
	/* The arrays by port id last: the fields above stay within short
	 * offsets of the context (KDP_MAX_PORTS entries each). */
	uint16_t pending[KDP_MAX_PORTS]; /**< the ports n_pending counts */
	/** Per input port: bursts before the express lane runs again. */
	uint16_t express_rest[KDP_MAX_PORTS];
	struct pl_txbuf tx[KDP_MAX_PORTS];
	/** First fragments seen, by datagram (frag_fast.h). */
	struct pl_frag_ent frag[PL_FRAG_SLOTS];
};

/** ICMP errors each worker may send per second, and the burst it may save. */
#define PL_ICMP_RATE 100
#define PL_ICMP_BURST 10

/**
 * Prepare a worker context. It runs the per-burst code built for the
 * widest instruction set the CPU has and EAL's SIMD width allows (AVX2, or
 * the base build; `--force-max-simd-bitwidth=128` forces the base one).
 */
void pl_ctx_init(struct pl_ctx *c, struct dp_lcore_stats *st,
		 struct rte_mempool *mp, struct rte_ring *punt, uint16_t txq);

/** The instruction-set variant @p c runs: "avx2" or "base". */
const char *pl_ctx_isa(const struct pl_ctx *c);

/**
 * Start a poll iteration: read the TSC once for every burst of the
 * iteration, its housekeeping and the worker's cycle count, and derive
 * conntrack's milliseconds from it. A TSC read costs about 10 ns here;
 * read per burst and again for housekeeping, it was 1.4 % of a worker's
 * samples on established flows. pl_ctx_init() reads it first.
 */
static inline void pl_ctx_tick(struct pl_ctx *c)
{
	c->now_tsc = rte_rdtsc();
	c->now_ms = acl_tsc_ms(c->now_tsc);
}

/**
 * Run a burst received on @p in_port through the pipeline. Every packet is
 * consumed: buffered for tx, punted, or freed and counted as a drop.
 */
void pl_process_burst(struct pl_ctx *c, const struct pl_tables *t,
		      uint16_t in_port, struct rte_mbuf **pkts, uint16_t n);

/**
 * Bounded background work between bursts (conntrack aging). Call once per
 * poll iteration.
 */
void pl_ctx_housekeep(struct pl_ctx *c);

/**
 * The worker-to-worker rings of @p n_workers workers (n * (n - 1) SP/SC
 * rings of @p ring_size mbufs, a power of two). Control thread, before the
 * workers run. NULL with rte_errno on failure (EINVAL for n_workers < 2).
 */
struct pl_handoff *pl_handoff_create(unsigned int n_workers,
				     unsigned int ring_size);

/** Free the rings and the mbufs left in them; workers must have stopped.
 * NULL is a no-op. */
void pl_handoff_free(struct pl_handoff *h);

/** Make @p c worker @p wid of @p h (after pl_ctx_init()). */
void pl_ctx_set_handoff(struct pl_ctx *c, const struct pl_handoff *h,
			uint16_t wid);

/**
 * Finish the packets other workers handed to this one (at most one burst
 * per peer): route lookup with @p t, policy, stage 3. Once per poll
 * iteration, before pl_ctx_flush(). @return the number of packets taken.
 */
unsigned int pl_handoff_drain(struct pl_ctx *c, const struct pl_tables *t);

/** Send everything buffered; what a port refuses is dropped as tx_full. */
void pl_ctx_flush(struct pl_ctx *c);

/** Queue @p m (a complete frame) for tx on m->port. */
void pl_ctx_tx(struct pl_ctx *c, struct rte_mbuf *m);

#endif /* KDP_PIPELINE_PIPELINE_H */
