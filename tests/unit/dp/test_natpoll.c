/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A worker's epoll set of native queues (dp/natpoll.h), on real taps. A
 * packet socket on each tap's interface sends the frames the tap's queue
 * then holds.
 *
 *  - idle taps are never read: nothing due, no empty read, one epoll_wait;
 *  - a tap with a frame is due once, then hot until a read finds it empty;
 *  - a busy worker asks epoll only once the pace is up, an idle one always;
 *  - a tap that left the rx list is not due even with frames waiting;
 *  - a port closed and a new one opened with the same id and descriptor
 *    number, while the worker saw no list in between (asleep), is
 *    registered anew (the serial), and its frames are due;
 *  - a second queue of one port is read on every iteration;
 *  - a port closed while the worker saw no list without it, whose
 *    descriptor number a new tap on another port id took: the stale
 *    registration goes before the new one is made (made first, the
 *    stale one's removal took the new tap's registration with it).
 *
 * Needs root (CAP_NET_ADMIN) and /dev/net/tun: skipped (77) without.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "dp/natpoll.h"
#include "dp/vport_fast.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/golden.h"

#define ETYPE 0x88b5 /* IEEE local experimental: no stack answers it */
#define NTAP 8

static struct rte_mempool *mp;
static struct dp_lcore_stats st;
static struct dp_natpoll np;

struct tap {
	struct dp_port p;
	char ifname[IF_NAMESIZE];
	int ps; /* packet socket on the interface */
	int ifindex;
};

static struct tap taps[NTAP + 3];

static void sysctl_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		CHECK_EQ(write(fd, v, strlen(v)), (long long)strlen(v));
		close(fd);
	}
}

static int tap_open(struct tap *t, unsigned int idx, unsigned int queues)
{
	char err[256], path[128];
	struct ifreq ifr = {0};
	int s;

	snprintf(t->ifname, sizeof(t->ifname), "knp%x_%u",
		 (unsigned)getpid() & 0xffff, idx);
	if (dp_vport_open_tap("t", "kdptap", t->ifname, queues, mp, &t->p,
			      err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* No neighbor discovery noise: only the test's frames. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 t->ifname);
	sysctl_write(path, "1");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	CHECK(s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	CHECK_EQ(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	t->ifindex = (int)if_nametoindex(t->ifname);
	t->ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	CHECK(t->ifindex > 0 && t->ps >= 0);
	return 0;
}

static void tap_close(struct tap *t)
{
	close(t->ps);
	dp_vport_close(t->p.id);
	t->p.id = UINT16_MAX; /* due() must not take a new tap for it */
}

/* One frame out of @p t's interface: into the tap's queue. */
static void send_frame(const struct tap *t)
{
	struct sockaddr_ll to = {.sll_family = AF_PACKET,
				 .sll_ifindex = t->ifindex, .sll_halen = 6};
	uint8_t b[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			 0x02, 0, 0, 0, 0, 1, ETYPE >> 8, ETYPE & 0xff};

	CHECK_EQ(sendto(t->ps, b, sizeof(b), 0, (struct sockaddr *)&to,
			sizeof(to)), (long long)sizeof(b));
}

/* A list with the native queues @p q[0..n) only. */
static struct dp_rxlist *list(uint64_t seq, const struct dp_rxq *q,
			      uint16_t n)
{
	struct dp_rxlist *l = calloc(1, sizeof(*l) + n * sizeof(l->q[0]));

	l->seq = seq;
	l->n = n;
	l->n_eth = 0;
	l->n_poll = 0;
	memcpy(l->q, q, n * sizeof(q[0]));
	return l;
}

static void sync_to(uint64_t seq, const struct dp_rxq *q, uint16_t n)
{
	struct dp_rxlist *l = list(seq, q, n);

	dp_natpoll_sync(&np, l);
	CHECK_EQ(np.seq, seq);
	free(l);
}

/* The queues due now, as a bit per taps[] index (bit 31: a queue of no
 * tap in taps[]); idle: the worker has received nothing so far. */
static uint32_t due(bool idle, uint64_t now)
{
	struct dp_rxq q[DP_NATPOLL_MAX];
	unsigned int n = dp_natpoll_ready(&np, now, idle, q, &st);
	uint32_t bits = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned int k;

		for (k = 0; k < RTE_DIM(taps); k++)
			if (taps[k].p.id == q[i].port)
				break;
		bits |= k < RTE_DIM(taps) ? 1u << k : 1u << 31;
	}
	return bits;
}

/* Read what due() gave, as a worker does after each due(): @return the
 * frames. */
static unsigned int read_due(uint32_t bits, uint16_t queue)
{
	unsigned int total = 0;

	for (unsigned int k = 0; k < RTE_DIM(taps); k++) {
		if (!(bits & (1u << k)))
			continue;
		struct rte_mbuf *m[32];
		uint16_t n = dp_vport_rx(taps[k].p.id, queue, m, 32, &st);

		dp_natpoll_got(&np, taps[k].p.id, n);
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

/* The queues due when idle, once some are: the kernel may queue the frame
 * a moment after sendto() returns. */
static uint32_t due_wait(void)
{
	uint32_t bits = 0;

	for (int i = 0; i < 1000 && bits == 0; i++) {
		bits = due(true, rte_rdtsc());
		if (bits == 0)
			usleep(1000);
	}
	return bits;
}

static void test_idle_and_hot(void)
{
	struct dp_rxq q[NTAP];
	uint64_t w0, e0;

	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	sync_to(1, q, NTAP);

	/* Idle taps: nothing to read, one epoll_wait, no empty read. */
	w0 = st.nat_waits;
	e0 = st.nat_empty;
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	CHECK_EQ(st.nat_waits - w0, 1);
	CHECK_EQ(st.nat_empty - e0, 0);

	/* A frame on tap 3: due alone, then hot until found empty. */
	send_frame(&taps[3]);
	uint32_t b = due_wait();
	CHECK_EQ(b, 1u << 3);
	CHECK_EQ(read_due(b, 0), 1);
	/* A clock before the pace is up, whatever the host's speed. */
	uint64_t now = np.next_tsc - 1;
	w0 = st.nat_waits;
	b = due(false, now); /* busy, paced: the hot tap only, no epoll */
	CHECK_EQ(b, 1u << 3);
	CHECK_EQ(st.nat_waits - w0, 0);
	e0 = st.nat_empty;
	CHECK_EQ(read_due(b, 0), 0);
	CHECK_EQ(st.nat_empty - e0, 1);
	CHECK_EQ(due(false, now), 0); /* not hot any more */

	/* Busy: a new frame waits for the pace; idle: at once. */
	send_frame(&taps[5]);
	usleep(10000);
	CHECK_EQ(due(false, now), 0);
	CHECK_EQ(due(false, np.next_tsc + 1), 1u << 5);
	CHECK_EQ(read_due(1u << 5, 0), 1);
	CHECK_EQ(due(false, now), 1u << 5); /* hot */
	CHECK_EQ(read_due(1u << 5, 0), 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *send_later(void *arg)
{
	usleep(50000);
	send_frame(arg);
	return NULL;
}

/* dp_natpoll_sleep(): the set's frames wake an idle worker's sleep; with
 * none it sleeps its time. Bounds are loose: only a sleep that ran its
 * whole 10 s, or one that did not sleep at all, fails them. */
static void test_sleep(void)
{
	struct dp_rxq q[NTAP];
	uint64_t k0 = st.nat_wakes;
	pthread_t th;
	double t0;

	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	sync_to(10, q, NTAP);
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	t0 = now_s();
	dp_natpoll_sleep(&np, 20000, &st);
	CHECK(now_s() - t0 >= 0.015);
	CHECK_EQ(st.nat_wakes - k0, 0);

	/* A frame waiting: no sleep, and it is still due after. */
	send_frame(&taps[2]);
	usleep(10000);
	t0 = now_s();
	dp_natpoll_sleep(&np, 10000000, &st);
	CHECK(now_s() - t0 < 5.0);
	CHECK_EQ(st.nat_wakes - k0, 1);
	CHECK_EQ(due(true, rte_rdtsc()), 1u << 2);
	CHECK_EQ(read_due(1u << 2, 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << 2); /* hot */
	CHECK_EQ(read_due(1u << 2, 0), 0);
	dp_natpoll_got_any(&np, NULL); /* the worker received */

	/* A frame that comes while it sleeps. */
	CHECK_EQ(pthread_create(&th, NULL, send_later, &taps[4]), 0);
	t0 = now_s();
	dp_natpoll_sleep(&np, 10000000, &st);
	CHECK(now_s() - t0 < 5.0);
	pthread_join(th, NULL);
	CHECK_EQ(st.nat_wakes - k0, 2);
	CHECK_EQ(due_wait(), 1u << 4);
	CHECK_EQ(read_due(1u << 4, 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << 4);
	CHECK_EQ(read_due(1u << 4, 0), 0);
	dp_natpoll_got_any(&np, NULL);

	/* A tap out of the list does not wake it. */
	sync_to(11, q, NTAP - 1);
	send_frame(&taps[NTAP - 1]);
	usleep(10000);
	t0 = now_s();
	dp_natpoll_sleep(&np, 20000, &st);
	CHECK(now_s() - t0 >= 0.015);
	CHECK_EQ(st.nat_wakes - k0, 2);
	sync_to(12, q, NTAP);
	CHECK_EQ(due_wait(), 1u << (NTAP - 1));
	CHECK_EQ(read_due(1u << (NTAP - 1), 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << (NTAP - 1));
	CHECK_EQ(read_due(1u << (NTAP - 1), 0), 0);
}

/* A tap that stays readable but is not read (as when no mbuf is free):
 * one wake, then a plain sleep, until the worker receives again. */
static void test_unread(void)
{
	struct dp_rxq q[NTAP];
	double t0;

	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	sync_to(13, q, NTAP);
	np.tap_woke = false;
	send_frame(&taps[1]);
	usleep(10000);
	t0 = now_s();
	dp_natpoll_sleep(&np, 10000000, &st);
	CHECK(now_s() - t0 < 5.0);
	CHECK(np.tap_woke);
	t0 = now_s();
	dp_natpoll_sleep(&np, 20000, &st); /* plain, though still readable */
	CHECK(now_s() - t0 >= 0.015);
	CHECK(!np.tap_woke);
	t0 = now_s();
	dp_natpoll_sleep(&np, 10000000, &st); /* epoll again */
	CHECK(now_s() - t0 < 5.0);
	dp_natpoll_got_any(&np, NULL);
	CHECK(!np.tap_woke);
	t0 = now_s();
	dp_natpoll_sleep(&np, 10000000, &st); /* received: epoll */
	CHECK(now_s() - t0 < 5.0);
	CHECK_EQ(due(true, rte_rdtsc()), 1u << 1);
	CHECK_EQ(read_due(1u << 1, 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << 1);
	CHECK_EQ(read_due(1u << 1, 0), 0);
	dp_natpoll_got_any(&np, NULL);
}

/* A tap whose device went with its pod's network namespace (before kdp
 * was told) reports an error on every epoll_wait(): it leaves the set,
 * is not read and wakes no sleep. */
static void test_gone(void)
{
	struct dp_rxq q[NTAP + 1];
	struct tap g;
	char cmd[256];
	uint64_t gone0 = st.nat_gone;
	double t0;

	if (tap_open(&g, 20, 1) != 0)
		return;
	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	q[NTAP] = (struct dp_rxq){g.p.id, 0};
	sync_to(30, q, NTAP + 1);
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	snprintf(cmd, sizeof(cmd), "ip netns add kgone%d && ip link set %s "
		 "netns kgone%d && ip netns del kgone%d", (int)getpid(),
		 g.ifname, (int)getpid(), (int)getpid());
	CHECK_EQ(system(cmd), 0);
	/* The namespace goes in the background: wait for the detach. */
	for (int i = 0; i < 200 && st.nat_gone == gone0; i++) {
		CHECK_EQ(due(true, rte_rdtsc()), 0);
		usleep(10000);
	}
	CHECK_EQ(st.nat_gone - gone0, 1);
	t0 = now_s();
	dp_natpoll_sleep(&np, 20000, &st);
	CHECK(now_s() - t0 >= 0.015);
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	CHECK_EQ(st.nat_gone - gone0, 1);
	/* Registered again with a new list: it leaves again at once. */
	sync_to(31, q, NTAP + 1);
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	CHECK_EQ(st.nat_gone - gone0, 2);
	sync_to(32, q, NTAP);
	tap_close(&g);
}

static void test_left(void)
{
	struct dp_rxq q[NTAP];

	/* Tap 7 leaves the list (still open): its frames are not due. */
	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	sync_to(2, q, NTAP - 1);
	send_frame(&taps[7]);
	usleep(10000);
	CHECK_EQ(due(true, rte_rdtsc()), 0);
	/* Back in a list: due (level-triggered, the frame still waits). */
	sync_to(3, q, NTAP);
	CHECK_EQ(due_wait(), 1u << 7);
	CHECK_EQ(read_due(1u << 7, 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << 7);
	CHECK_EQ(read_due(1u << 7, 0), 0);

	/* A hot tap that leaves is not read any more. */
	send_frame(&taps[6]);
	CHECK_EQ(due_wait(), 1u << 6);
	CHECK_EQ(read_due(1u << 6, 0), 1);
	q[6] = q[7];
	sync_to(4, q, NTAP - 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 0);
	q[6] = (struct dp_rxq){taps[6].p.id, 0};
	sync_to(5, q, NTAP);
}

static void test_reused(void)
{
	struct dp_rxq q[NTAP];
	uint16_t id = taps[2].p.id;
	int fd = dp_vport_get(id)->fd[0];

	/* Tap 2 closes and a new tap takes its id (the lowest free slot)
	 * and, most likely, its descriptor number, all while the worker
	 * slept: it never saw a list without tap 2. */
	tap_close(&taps[2]);
	CHECK_EQ(tap_open(&taps[2], 100, 1), 0);
	CHECK_EQ(taps[2].p.id, id);
	if (dp_vport_get(id)->fd[0] != fd)
		printf("note: the new tap has descriptor %d, not %d\n",
		       dp_vport_get(id)->fd[0], fd);
	for (int k = 0; k < NTAP; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	sync_to(7, q, NTAP);
	send_frame(&taps[2]);
	CHECK_EQ(due_wait(), 1u << 2);
	CHECK_EQ(read_due(1u << 2, 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << 2);
	CHECK_EQ(read_due(1u << 2, 0), 0);
}

static void test_second_queue(void)
{
	struct dp_rxq q[NTAP + 1];
	struct tap *t = &taps[NTAP];

	/* Both queues of a two-queue tap on one worker: the first is
	 * registered, the second read on every iteration. */
	CHECK_EQ(tap_open(t, 200, 2), 0);
	for (int k = 0; k < NTAP - 1; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	q[NTAP - 1] = (struct dp_rxq){t->p.id, 0};
	q[NTAP] = (struct dp_rxq){t->p.id, 1};
	sync_to(8, q, NTAP + 1);
	uint64_t now = np.next_tsc - 1;
	CHECK_EQ(due(false, now), 1u << NTAP);
	CHECK_EQ(due(false, now), 1u << NTAP);
	CHECK_EQ(np.n_direct, 1);
	CHECK_EQ(np.direct[0].queue, 1);
	sync_to(9, q, NTAP - 1);
	CHECK_EQ(np.n_direct, 0);
	CHECK_EQ(due(false, now), 0);
	tap_close(t);
}

static void test_number_to_another_port(void)
{
	struct dp_rxq q[NTAP];
	struct tap *z = &taps[NTAP + 1], *nq = &taps[NTAP + 2];
	int f = dp_vport_get(taps[6].p.id)->fd[0], hold[64], nh = 0;
	uint16_t id6 = taps[6].p.id;

	/* Tap 6 (registered) closes; the worker sees no list in between. */
	tap_close(&taps[6]);
	/* Hold every free number up to f, and f itself, so that tap Z takes
	 * tap 6's port id but not its number ... */
	for (int fd; nh < 64 && (fd = open("/dev/null", O_RDONLY)) >= 0;) {
		hold[nh++] = fd;
		if (fd == f)
			break;
	}
	CHECK(nh > 0 && hold[nh - 1] == f);
	CHECK_EQ(tap_open(z, 300, 1), 0);
	/* ... and tap Q, on another port id, takes the number. */
	close(hold[--nh]);
	CHECK_EQ(tap_open(nq, 301, 1), 0);
	CHECK_EQ(dp_vport_get(nq->p.id)->fd[0], f);
	CHECK(nq->p.id != z->p.id && z->p.id == id6);
	while (nh > 0)
		close(hold[--nh]);

	/* Z, on tap 6's port id, is not in this worker's list: tap 6's slot
	 * is stale, not reused. */
	for (int k = 0; k < 6; k++)
		q[k] = (struct dp_rxq){taps[k].p.id, 0};
	q[6] = (struct dp_rxq){nq->p.id, 0};
	sync_to(10, q, 7);
	send_frame(nq);
	CHECK_EQ(due_wait(), 1u << (NTAP + 2));
	CHECK_EQ(read_due(1u << (NTAP + 2), 0), 1);
	CHECK_EQ(due(false, np.next_tsc - 1), 1u << (NTAP + 2)); /* hot */
	CHECK_EQ(read_due(1u << (NTAP + 2), 0), 0);
	/* Z joins the list now. */
	q[7] = (struct dp_rxq){z->p.id, 0};
	sync_to(11, q, 8);
	send_frame(z);
	CHECK_EQ(due_wait(), 1u << (NTAP + 1));
	CHECK_EQ(read_due(1u << (NTAP + 1), 0), 1);
	tap_close(z);
	tap_close(nq);
}

int main(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("skip: needs root and /dev/net/tun\n");
		return 77;
	}
	if (golden_eal_init("dp_natpoll") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("natpoll_mp", 1023, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	CHECK(mp != NULL);
	CHECK_EQ(dp_natpoll_init(&np), 0);
	for (unsigned int k = 0; k < NTAP; k++)
		if (tap_open(&taps[k], k, 1) != 0)
			CHECK_DONE();

	test_idle_and_hot();
	test_sleep();
	test_unread();
	test_gone();
	test_left();
	test_reused();
	test_second_queue();
	test_number_to_another_port();

	for (unsigned int k = 0; k < NTAP; k++)
		if (k != 6)
			tap_close(&taps[k]);
	dp_natpoll_fini(&np);
	CHECK_EQ(rte_mempool_in_use_count(mp), 0);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	CHECK_DONE();
}
