/* SPDX-License-Identifier: BSD-3-Clause */
/* A worker's epoll set of native queues (dp/natpoll.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_vhost.h>

#include "dp/natpoll.h"
#include "dp/vport_fast.h"

int dp_natpoll_init(struct dp_natpoll *np)
{
	memset(np, 0, sizeof(*np));
	np->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (np->epfd < 0)
		return -errno;
	np->open = true;
	np->pace_tsc = rte_get_tsc_hz() / 1000000 * DP_NATPOLL_PACE_US;
	return 0;
}

static void kicks_drop(struct dp_natpoll *np)
{
	for (uint16_t i = 0; i < np->n_kick; i++) {
		epoll_ctl(np->epfd, EPOLL_CTL_DEL, np->kick_fd[i], NULL);
		close(np->kick_fd[i]);
	}
	np->n_kick = 0;
	np->kicks_valid = false;
}

void dp_natpoll_fini(struct dp_natpoll *np)
{
	kicks_drop(np);
	if (np->open)
		close(np->epfd);
	np->open = false;
}

static void slot_drop(struct dp_natpoll *np, struct dp_natslot *s)
{
	/* The port may have closed since (the kernel dropped the
	 * registration with its file) and its number gone to another file.
	 * dp_natpoll_sync() drops every stale slot before it registers
	 * anything, and a registered file was open when registered, as this
	 * one was: no file registered now has the number, so ENOENT or EBADF
	 * is all this can do. (Dropped after the new registrations, it
	 * removed the registration of a new tap that took the number.) */
	epoll_ctl(np->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	memset(s, 0, sizeof(*s));
}

/* A kick's registration (event data), told from a tap's (its port id). */
#define KICK_TAG (1ULL << 32)

/* What dp_natpoll_sync() makes of a native port's slot. */
enum { NS_OUT, NS_KEEP, NS_ADD, NS_DONE };

void dp_natpoll_sync(struct dp_natpoll *np, const struct dp_rxlist *rl)
{
	uint8_t st[DP_VPORT_MAX] = {NS_OUT};

	/* The first queue of each port in the list: still registered as it
	 * is (the same port, by serial, and queue), or to register. */
	for (uint16_t i = rl->n_poll; i < rl->n; i++) {
		unsigned int k = rl->q[i].port - RTE_MAX_ETHPORTS;
		const struct dp_vport *v = dp_vport_get(rl->q[i].port);
		const struct dp_natslot *s = &np->slot[k];

		if (st[k] == NS_OUT)
			st[k] = s->serial == v->serial &&
				s->queue == rl->q[i].queue ? NS_KEEP : NS_ADD;
	}
	/* Every stale registration goes before any new one (slot_drop()). */
	for (unsigned int k = 0; k < DP_VPORT_MAX; k++)
		if (np->slot[k].serial != 0 && st[k] != NS_KEEP)
			slot_drop(np, &np->slot[k]);
	np->n_direct = 0;
	for (uint16_t i = rl->n_poll; i < rl->n; i++) {
		uint16_t port = rl->q[i].port, queue = rl->q[i].queue;
		unsigned int k = port - RTE_MAX_ETHPORTS;
		const struct dp_vport *v = dp_vport_get(port);
		struct dp_natslot *s = &np->slot[k];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = port};
		uint8_t was = st[k];

		st[k] = NS_DONE;
		if (was == NS_KEEP)
			continue;
		/* A second queue of the port, or one epoll refused: read on
		 * every iteration. */
		if (was == NS_DONE ||
		    epoll_ctl(np->epfd, EPOLL_CTL_ADD, v->fd[queue], &ev) != 0) {
			if (np->n_direct < DP_VPORT_MAX)
				np->direct[np->n_direct++] = rl->q[i];
			continue;
		}
		s->serial = v->serial;
		s->queue = queue;
		s->fd = v->fd[queue];
	}
	/* Hot ports that left are no longer registered (serial 0). */
	uint16_t n = 0;
	for (uint16_t i = 0; i < np->n_hot; i++)
		if (np->slot[np->hot[i] - RTE_MAX_ETHPORTS].serial != 0)
			np->hot[n++] = np->hot[i];
	np->n_hot = n;
	np->seq = rl->seq;
}

unsigned int dp_natpoll_ready(struct dp_natpoll *np, uint64_t now_tsc,
			      bool idle, struct dp_rxq *out,
			      struct dp_lcore_stats *st)
{
	struct epoll_event ev[DP_NATPOLL_EVENTS];
	uint32_t it = ++np->iter;
	unsigned int n = 0;

	for (uint16_t i = 0; i < np->n_hot; i++) {
		struct dp_natslot *s = &np->slot[np->hot[i] - RTE_MAX_ETHPORTS];

		s->hot = false;
		s->stamp = it;
		out[n].port = np->hot[i];
		out[n++].queue = s->queue;
	}
	np->n_hot = 0;
	for (uint16_t i = 0; i < np->n_direct; i++)
		out[n++] = np->direct[i];
	if (!idle && (int64_t)(now_tsc - np->next_tsc) < 0)
		return n;
	np->next_tsc = now_tsc + np->pace_tsc;
	st->nat_waits++;
	int ne = epoll_wait(np->epfd, ev, DP_NATPOLL_EVENTS, 0);
	for (int i = 0; i < ne; i++) {
		if (ev[i].data.u64 & KICK_TAG) {
			/* A DPDK pod's kick: its queue is polled anyway, but
			 * maybe before the kick; the next sleep must not wait
			 * for another. */
			np->kick_seen = true;
			continue;
		}
		uint16_t port = (uint16_t)ev[i].data.u32;
		struct dp_natslot *s = &np->slot[port - RTE_MAX_ETHPORTS];

		if (s->stamp == it || s->serial == 0)
			continue; /* read already, or unregistered since */
		if (unlikely((ev[i].events & (EPOLLERR | EPOLLHUP)) &&
			     !(ev[i].events & EPOLLIN))) {
			/* Detached (drivers/net/tun.c tun_chr_poll()): the
			 * device went with its network namespace. The fd is
			 * still kdp's, so it names the registered file. */
			slot_drop(np, s);
			st->nat_gone++;
			continue;
		}
		s->stamp = it;
		out[n].port = port;
		out[n++].queue = s->queue;
	}
	return n;
}

/* The pairs of @p rl's vhost-user queues: queue q of a port reads pairs
 * q, q + nb_q, ... (dp/vport_fast.h); @p fn(vid, vring, arg) for each
 * pair's vring from the pod. Stops early when @p fn returns false. */
static void each_pod_vring(const struct dp_rxlist *rl,
			   bool (*fn)(int vid, uint16_t vring, void *arg),
			   void *arg)
{
	for (uint16_t i = rl->n_eth; i < rl->n_poll; i++) {
		uint16_t step, nqp = dp_vhost_pairs(rl->q[i].port, &step);
		int vid = __atomic_load_n(&dp_vport_get(rl->q[i].port)->vid,
					  __ATOMIC_ACQUIRE);

		if (vid < 0)
			continue;
		for (uint16_t pair = rl->q[i].queue; pair < nqp; pair += step)
			if (!fn(vid, DP_VHOST_FROM_POD(pair), arg))
				return;
	}
}

static bool kick_add(int vid, uint16_t vring, void *arg)
{
	struct dp_natpoll *np = arg;
	struct rte_vhost_vring vr;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET,
				 .data.u64 = KICK_TAG};

	if (np->n_kick == DP_NATPOLL_KICKS)
		return false;
	if (rte_vhost_get_vhost_vring(vid, vring, &vr) != 0 || vr.kickfd < 0)
		return true;
	/* A duplicate of ours: the library may close its number at once. */
	int fd = fcntl(vr.kickfd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return true;
	if (epoll_ctl(np->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return true;
	}
	np->kick_fd[np->n_kick++] = fd;
	return true;
}

/* Kicks on or off, and the vrings that took it. */
struct notify_arg {
	bool on;
	unsigned int n;
};

static bool notify(int vid, uint16_t vring, void *arg)
{
	struct notify_arg *a = arg;

	a->n += rte_vhost_enable_guest_notification(vid, vring, a->on) == 0;
	return true;
}

bool dp_natpoll_arm(struct dp_natpoll *np, const struct dp_rxlist *rl)
{
	/* Before the devices are read: a change after it is seen next time. */
	uint32_t gen = __atomic_load_n(&dp_vhost_gen, __ATOMIC_ACQUIRE);
	bool same = np->kicks_valid && np->kick_seq == rl->seq &&
		    np->kick_gen == gen;
	struct notify_arg on = {.on = true};

	if (np->armed && same)
		return false;
	if (!same) {
		kicks_drop(np);
		each_pod_vring(rl, kick_add, np);
		np->kick_seq = rl->seq;
		np->kick_gen = gen;
		np->kicks_valid = true;
	}
	each_pod_vring(rl, notify, &on);
	np->armed = true;
	return on.n != 0;
}

void dp_natpoll_disarm(struct dp_natpoll *np, const struct dp_rxlist *rl)
{
	struct notify_arg off = {.on = false};

	/* A pod in the list kicks no more; one that left it keeps its last
	 * state (a new connection starts with kicks off, dp/vhost.c). */
	if (rl != NULL)
		each_pod_vring(rl, notify, &off);
	np->armed = false;
}

void dp_natpoll_sleep(struct dp_natpoll *np, unsigned int us,
		      struct dp_lcore_stats *st)
{
	struct epoll_event ev[8];
	struct timespec ts = {.tv_sec = us / 1000000,
			      .tv_nsec = (long)(us % 1000000) * 1000};

	if (np->kick_seen) { /* taken by dp_natpoll_ready(): poll first */
		np->kick_seen = false;
		st->vh_wakes++;
		return;
	}
	if (!np->open || np->no_pwait2 || np->tap_woke) {
		np->tap_woke = false;
		rte_delay_us_sleep(us);
		return;
	}
	/* Taps are level-triggered: a ready one stays ready for the next
	 * dp_natpoll_ready(), which reads it (an idle worker asks epoll on
	 * every iteration). Kicks are edges: the worker polls every
	 * vhost-user queue while idle. An interrupted sleep is a short one. */
	int n = epoll_pwait2(np->epfd, ev, RTE_DIM(ev), &ts, NULL);
	bool tap = false, kick = false;

	for (int i = 0; i < n; i++) {
		kick |= (ev[i].data.u64 & KICK_TAG) != 0;
		tap |= (ev[i].data.u64 & KICK_TAG) == 0;
	}
	st->nat_wakes += tap;
	st->vh_wakes += kick;
	np->tap_woke = tap;
	if (n < 0 && errno == ENOSYS) {
		np->no_pwait2 = true;
		rte_delay_us_sleep(us);
	}
}
