/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Which native queues a worker reads, and when.
 *
 * A native tap (dp/vport.h) has no descriptor ring kdp can peek at: the
 * only way to learn that it holds a frame is a system call. Reading every
 * tap queue on every poll costs one failed readv() per idle tap per
 * iteration, about 0.5 us each here: with 10 idle kernel pods a busy
 * worker forwarded 5.8 Mpps instead of 38.9, with 100 0.7
 * (perf/idle_taps.py, perf/PROFILE.md round 19). Most of a node's pods are
 * idle most of the time.
 *
 * So each worker keeps its native queues in an epoll set of its own
 * (level-triggered) and reads
 *  - the hot queues, those whose last read brought frames, on every
 *    iteration, until a read finds one empty (a busy pod pays what it paid
 *    before: one readv() a frame and one that fails);
 *  - the queues epoll reports ready. The worker asks epoll on every
 *    iteration that has received nothing so far, and at most every
 *    DP_NATPOLL_PACE_US while it is busy: a frame from an idle pod then
 *    waits at most that long, and a busy worker spends one epoll_wait()
 *    per pace on all its idle taps together, whatever their number.
 *
 * The set follows the worker's rx list (dp/worker.h): when a new list is
 * published (its seq changes) the worker registers the native queues that
 * came and unregisters those that left, on its own thread, before it
 * reads any of them. Registrations name the port's serial (dp/vport.h), so
 * a port id and descriptor number reused by a new tap are told apart from
 * the closed one (whose registration the kernel dropped when it closed).
 * A queue that cannot be registered, and a second queue of one port on
 * one worker (control gives each worker one queue of a tap), are read on
 * every iteration instead.
 *
 * The set also wakes an idle worker (dp_natpoll_sleep()): a tap's frame,
 * or a DPDK pod's kick. A DPDK pod (virtio-user) writes its queue's kick
 * eventfd after it queued frames, unless told not to: kdp tells every pod
 * not to (dp/vhost.c), as it polls. Before it sleeps, a worker asks the
 * pods of its vhost-user queues to kick again and registers their kick
 * eventfds (dp_natpoll_arm()); once it receives again, it tells them to
 * stop (dp_natpoll_disarm()), so a busy pod pays no system call a burst.
 * The registrations are the worker's own duplicates of the library's
 * descriptors, edge-triggered and never read: the library may close and
 * reuse its numbers at any time, and a duplicate kdp alone closes (after
 * taking it out of the set) cannot name another file; reading would take
 * a count from a file that may not be the kick's. They are made anew
 * when the rx list or a pod's connection changes (dp_vhost_gen).
 *
 * A tap whose device is gone (its pod's network namespace was deleted
 * before kdp was told) reports an error on every epoll_wait() and never
 * brings a frame: it leaves the set at once (nat_gone), and comes back
 * only with a new rx list (its port deleted, or another port's change).
 *
 * Thread-safety: one struct dp_natpoll per worker, used by that worker
 * only (init and fini by the main thread while the worker is stopped).
 */
#ifndef KDP_DP_NATPOLL_H
#define KDP_DP_NATPOLL_H

#include <stdbool.h>
#include <stdint.h>

#include "dp/stats.h"
#include "dp/vport.h"
#include "dp/worker.h"

/** The longest a busy worker goes without asking epoll. */
#define DP_NATPOLL_PACE_US 20
/** Ready queues taken from one epoll_wait() (the rest stay ready). */
#define DP_NATPOLL_EVENTS 64
/** Queues one iteration may read: hot, direct and ready ones. */
#define DP_NATPOLL_MAX (2 * DP_VPORT_MAX + DP_NATPOLL_EVENTS)

/** DPDK pods' kick eventfds one worker's sleep wakes for (the pairs of
 * more queues wait for the back-off). */
#define DP_NATPOLL_KICKS 256

/** A native port's registration in a worker's set. */
struct dp_natslot {
	uint64_t serial;   /**< of the port registered; 0: none */
	uint32_t stamp;    /**< iteration that read it last */
	uint16_t queue;
	int fd;
	bool hot;
};

struct dp_natpoll {
	int epfd;
	bool open;                /**< epfd is ours to close */
	bool no_pwait2;           /**< the kernel has no epoll_pwait2() */
	uint64_t seq;             /**< rx list the set follows (0: none yet) */
	uint64_t next_tsc;        /**< ask epoll by then when busy */
	uint64_t pace_tsc;
	uint32_t iter;
	uint16_t n_hot, n_direct;
	uint16_t hot[DP_VPORT_MAX];           /**< port ids */
	struct dp_rxq direct[DP_VPORT_MAX];
	struct dp_natslot slot[DP_VPORT_MAX]; /**< by port - RTE_MAX_ETHPORTS */
	/* DPDK pods' kicks (dp_natpoll_arm()) */
	bool armed;               /**< the pods were asked to kick */
	bool tap_woke;            /**< a tap woke the last sleep; nothing came since */
	bool kick_seen;           /**< dp_natpoll_ready() took a kick's edge */
	bool kicks_valid;         /**< kick_fd[] follows kick_seq, kick_gen */
	uint64_t kick_seq;        /**< rx list the kicks were taken from */
	uint32_t kick_gen;        /**< dp_vhost_gen then */
	uint16_t n_kick;
	int kick_fd[DP_NATPOLL_KICKS]; /**< duplicates, ours to close */
};

/** Open @p np's epoll set. @return 0 or -errno. */
int dp_natpoll_init(struct dp_natpoll *np);
/** Close it (the worker has stopped; a set never opened is a no-op). */
void dp_natpoll_fini(struct dp_natpoll *np);

/**
 * Make @p np follow @p rl's native queues (rl->q[rl->n_poll..rl->n)),
 * whose ports are open while the calling worker holds @p rl.
 */
void dp_natpoll_sync(struct dp_natpoll *np, const struct dp_rxlist *rl);

/**
 * The native queues to read in this iteration, into @p out (room for
 * DP_NATPOLL_MAX): the hot and direct ones, then, when @p idle (nothing
 * received so far in this iteration) or the pace is up at @p now_tsc,
 * those epoll reports ready, each queue once. Report every read's frame
 * count with dp_natpoll_got(). Counts epoll_wait() calls in @p st.
 */
unsigned int dp_natpoll_ready(struct dp_natpoll *np, uint64_t now_tsc,
			      bool idle, struct dp_rxq *out,
			      struct dp_lcore_stats *st);

/**
 * Before an idle worker sleeps (online, holding @p rl, which
 * dp_natpoll_sync() followed): ask the DPDK pods of @p rl's vhost-user
 * queues to kick, and register their kick eventfds when the list or a
 * pod's connection changed since.
 * @return true when it asked any: poll once more before sleeping, as a
 * frame the pod queued before it saw the request came without a kick.
 */
bool dp_natpoll_arm(struct dp_natpoll *np, const struct dp_rxlist *rl);

/** The worker received again (online, holding @p rl): the pods of its
 * vhost-user queues stop kicking. */
void dp_natpoll_disarm(struct dp_natpoll *np, const struct dp_rxlist *rl);

/** The worker received (online, holding @p rl; NULL: none): call when
 * @p np's armed or tap_woke is set. */
static inline void dp_natpoll_got_any(struct dp_natpoll *np,
				      const struct dp_rxlist *rl)
{
	np->tap_woke = false;
	if (np->armed)
		dp_natpoll_disarm(np, rl);
}

/**
 * Sleep for up to @p us microseconds, or until a tap of @p np's set is
 * readable or a DPDK pod kicks (dp_natpoll_arm()): an idle worker sleeps
 * here, so that a pod's frame is read at once, not after the rest of the
 * back-off. Frames on ethdevs still wait for the timeout. Wakes are
 * counted in @p st (nat_wakes, vh_wakes). A plain sleep where the kernel
 * lacks epoll_pwait2(), and after a tap's wake that brought no frame
 * (dp_natpoll_got_any() not called since): a tap that stays readable but
 * cannot be read (no free mbuf) must not keep the worker from sleeping.
 */
void dp_natpoll_sleep(struct dp_natpoll *np, unsigned int us,
		      struct dp_lcore_stats *st);

/** A read of @p port brought @p n frames: a port that brought some is
 * hot (read on the next iteration too). */
static inline void dp_natpoll_got(struct dp_natpoll *np, uint16_t port,
				  uint16_t n)
{
	struct dp_natslot *s = &np->slot[port - RTE_MAX_ETHPORTS];

	if (n != 0 && !s->hot && s->serial != 0) {
		s->hot = true;
		np->hot[np->n_hot++] = port;
	}
}

#endif /* KDP_DP_NATPOLL_H */
