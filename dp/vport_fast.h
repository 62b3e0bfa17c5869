/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The workers' side of native ports (dp/vport.h): receive and send bursts
 * on a native tap's queue with readv() and write(), the way DPDK's tap PMD
 * does it, minus its rings. Callers branch once on dp_port_is_native():
 * ethdev ports never come here.
 *
 * Thread-safety: a queue belongs to one worker (rx) and its tx queue to
 * one worker, as for ethdevs; dp_vport_tab[] is written by control only
 * while no worker can use the entry (dp/vport.h).
 */
#ifndef KDP_DP_VPORT_FAST_H
#define KDP_DP_VPORT_FAST_H

#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "dp/stats.h"
#include "dp/vport.h"

struct dp_vport {
	struct rte_mempool *mp;  /**< rx mbufs */
	uint64_t serial;         /**< unique per open, never 0 (dp/natpoll.h) */
	uint16_t nb_q;
	uint8_t kind;            /**< enum dp_vport_kind */
	/* vhost-user, written by the vhost library's callbacks (dp/vhost.c):
	 * the connected device (-1: none) and its queue pairs in use. */
	int vid;
	uint16_t nqp;
	uint64_t ready;          /**< vhost: vrings ready, callbacks only */
	char *path;              /**< vhost: the socket */
	char name[64];           /**< telemetry */
	int fd[];                /**< tap: one per queue */
};

/** Changes whenever a DPDK pod connects, goes, or changes a vring (the
 * vhost library's callbacks, dp/vhost.c): a worker's kick registrations
 * follow it (dp/natpoll.h). */
extern uint32_t dp_vhost_gen;

/** Indexed by port id - RTE_MAX_ETHPORTS; NULL when not open. */
extern struct dp_vport *dp_vport_tab[DP_VPORT_MAX];

static inline const struct dp_vport *dp_vport_get(uint16_t port)
{
	return dp_vport_tab[port - RTE_MAX_ETHPORTS];
}

/**
 * Receive up to @p n frames from queue @p queue of native port @p port
 * into @p pkts. One readv() per frame, and one that fails (EAGAIN) when
 * the queue runs dry before @p n. A frame longer than an mbuf's data room
 * is dropped and counted (rx_too_long) in @p st.
 * @return the frames received; no mbuf pool: 0, the kernel keeps them.
 */
static inline uint16_t dp_vport_rx(uint16_t port, uint16_t queue,
				   struct rte_mbuf **pkts, uint16_t n,
				   struct dp_lcore_stats *st)
{
	const struct dp_vport *v = dp_vport_get(port);
	int fd = v->fd[queue];
	uint16_t got = 0, have = 1;

	/* One mbuf for the first read, the rest once a frame came: most of
	 * a node's pods are idle, and each poll of an idle queue then costs
	 * one failed readv() and one mbuf, not a burst of them. */
	if (unlikely(n == 0 || rte_pktmbuf_alloc_bulk(v->mp, pkts, 1) != 0))
		return 0;
	while (got < n) {
		if (got == have) {
			if (rte_pktmbuf_alloc_bulk(v->mp, &pkts[have],
						   n - have) != 0)
				break;
			have = n;
		}
		struct rte_mbuf *m = pkts[got];
		uint16_t room = rte_pktmbuf_tailroom(m);
		/* One byte past the room tells a longer frame, whose rest
		 * the kernel drops (drivers/net/tun.c tun_put_user()). */
		uint8_t past;
		struct iovec iov[2] = {
			{rte_pktmbuf_mtod(m, void *), room},
			{&past, 1},
		};
		ssize_t len = readv(fd, iov, 2);

		if (len <= 0)
			break; /* EAGAIN: empty; anything else: nothing now */
		if (unlikely(len > room)) {
			st->drop[DP_DROP_RX_TOO_LONG]++;
			st->port[port].drops++;
			continue; /* the mbuf takes the next frame */
		}
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		m->port = port;
		got++;
	}
	if (got < have)
		rte_pktmbuf_free_bulk(&pkts[got], have - got);
	st->nat_empty += got == 0;
	return got;
}

/* A chained mbuf in one writev(). Chains come only from code that builds
 * them (none on the forwarding path today). */
static __rte_noinline ssize_t dp_vport_writev(int fd, const struct rte_mbuf *m)
{
	struct iovec iov[RTE_MBUF_MAX_NB_SEGS < 64 ? RTE_MBUF_MAX_NB_SEGS : 64];
	int n = 0;

	for (; m != NULL && n < (int)RTE_DIM(iov); m = m->next, n++) {
		iov[n].iov_base = rte_pktmbuf_mtod(m, void *);
		iov[n].iov_len = m->data_len;
	}
	if (m != NULL) {
		errno = EMSGSIZE;
		return -1;
	}
	return writev(fd, iov, n);
}

/**
 * Send @p pkts[0..n) on tx queue @p queue of native port @p port, one
 * write() each, and free those sent. Like rte_eth_tx_burst(), it stops
 * at the first frame the kernel refuses (EAGAIN, ENOBUFS, a down
 * interface's EIO): that one and those after it stay the caller's.
 * @return the frames sent.
 */
static inline uint16_t dp_vport_tx(uint16_t port, uint16_t queue,
				   struct rte_mbuf **pkts, uint16_t n)
{
	int fd = dp_vport_get(port)->fd[queue];
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		ssize_t r = likely(m->nb_segs == 1) ?
			write(fd, rte_pktmbuf_mtod(m, const void *),
			      m->data_len) :
			dp_vport_writev(fd, m);

		if (unlikely(r < 0))
			break;
	}
	if (i != 0)
		rte_pktmbuf_free_bulk(pkts, i);
	return i;
}

/* A vhost-user port's queue pair q is the pod's rx vring 2q (kdp sends
 * into it) and its tx vring 2q + 1 (kdp receives from it): virtio-net's
 * numbering, which DPDK's net_vhost follows too. */
#define DP_VHOST_TO_POD(q) ((uint16_t)((q) * 2))
#define DP_VHOST_FROM_POD(q) ((uint16_t)((q) * 2 + 1))
/** The most queue pairs kdp serves a pod: their vrings' readiness is one
 * 64-bit mask (struct dp_vport ready). */
#define DP_VHOST_MAX_PAIRS 32
/** The most frames one vhost library call takes (lib/vhost MAX_PKT_BURST). */
#define DP_VHOST_BURST 32

/**
 * Receive up to @p n frames from the pod's queue pair @p pair on native
 * vhost-user port @p port: its tx vring, copied into mbufs by the vhost
 * library. Nothing while no pod is connected or the pod runs fewer pairs.
 * The port's queue q reads pairs q, q + nb_q, ... (a pod may run more
 * queue pairs than kdp has workers), one burst each: dp_vhost_pairs().
 */
static inline uint16_t dp_vhost_rx(uint16_t port, uint16_t pair,
				   struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_vport *v = dp_vport_get(port);
	/* Acquire: pairs with the callbacks' release (dp/vhost.c), which a
	 * disconnect follows with a grace period before the device goes. */
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);

	if (vid < 0 || pair >= __atomic_load_n(&v->nqp, __ATOMIC_RELAXED))
		return 0;
	uint16_t got = rte_vhost_dequeue_burst(vid, DP_VHOST_FROM_POD(pair),
					       v->mp, pkts, n);
	for (uint16_t i = 0; i < got; i++)
		pkts[i]->port = port;
	return got;
}

/** The queue pairs native vhost-user port @p port's pod runs (0: none,
 * or no pod), and in *@p step the port's queues: queue q reads pairs q,
 * q + step, ... below that. */
static inline uint16_t dp_vhost_pairs(uint16_t port, uint16_t *step)
{
	const struct dp_vport *v = dp_vport_get(port);

	*step = v->nb_q;
	return __atomic_load_n(&v->nqp, __ATOMIC_RELAXED);
}

/**
 * Send @p pkts[0..n) to the pod of native vhost-user port @p port and free
 * those it took (the library copies them into the pod's buffers). Worker
 * tx queue @p queue uses the pod's queue pair @p queue, or one of its
 * pairs when the pod runs fewer than kdp has workers: the library locks a
 * vring on every enqueue, so workers may share one, and a pod with one
 * queue pair still gets what every worker sends it.
 * @return the frames sent; the others stay the caller's.
 */
static inline uint16_t dp_vhost_tx(uint16_t port, uint16_t queue,
				   struct rte_mbuf **pkts, uint16_t n)
{
	const struct dp_vport *v = dp_vport_get(port);
	int vid = __atomic_load_n(&v->vid, __ATOMIC_ACQUIRE);
	uint16_t nqp = __atomic_load_n(&v->nqp, __ATOMIC_RELAXED);

	if (vid < 0 || nqp == 0)
		return 0;
	if (unlikely(queue >= nqp))
		queue %= nqp;
	/* The library takes at most 32 a call (its MAX_PKT_BURST); kdp's tx
	 * buffers hold PL_TX_BURST. */
	uint16_t sent = 0;
	while (sent < n) {
		uint16_t k = RTE_MIN((uint16_t)(n - sent), DP_VHOST_BURST);
		uint16_t got = rte_vhost_enqueue_burst(
			vid, DP_VHOST_TO_POD(queue), pkts + sent, k);

		sent += got;
		if (got < k)
			break; /* the pod's ring is full */
	}
	if (sent != 0)
		rte_pktmbuf_free_bulk(pkts, sent);
	return sent;
}

#endif /* KDP_DP_VPORT_FAST_H */
