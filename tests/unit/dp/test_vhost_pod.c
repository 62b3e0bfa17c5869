/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A native vhost-user port (dp/vport.h) with a pod in the same process: a
 * DPDK virtio-user ethdev connected to the port's socket, as a DPDK pod's
 * would be.
 *
 *  - the pod connects: its queue pair shows, the port's link is up;
 *  - kdp -> pod: a burst of 64 frames (a full tx buffer, PL_TX_BURST)
 *    reaches the pod whole and in order, though the vhost library takes
 *    at most 32 a call;
 *  - kdp -> pod from a second worker's tx queue, which the one-pair pod
 *    does not run: sent on its pair;
 *  - pod -> kdp: frames arrive as sent, marked with the port;
 *  - the pod goes: the port's link is down, and nothing is sent.
 *
 * Needs hugepages (virtio-user shares its memory by file descriptor):
 * skipped (77) without.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp/natpoll.h"
#include "tests/unit/dp/vhost_util.h"

/* Frame @p i: 64 bytes, its index in the payload. */
static struct rte_mbuf *frame(uint32_t i)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(p, 0, 64);
	memset(p, 0xff, 6);          /* broadcast */
	p[6] = 0x02;                 /* a local source MAC */
	p[12] = 0x88, p[13] = 0xb5;  /* local experimental */
	memcpy(p + 14, &i, sizeof(i));
	return m;
}

static uint32_t index_of(const struct rte_mbuf *m)
{
	uint32_t i;

	memcpy(&i, rte_pktmbuf_mtod_offset(m, const uint8_t *, 14), sizeof(i));
	return i;
}

/* Up to @p want frames from the pod's port, for at most 2 s. */
static unsigned int pod_rx(uint16_t pod, struct rte_mbuf **out,
			   unsigned int want)
{
	unsigned int got = 0;

	for (int t = 0; t < 2000 && got < want; t++) {
		got += rte_eth_rx_burst(pod, 0, out + got,
					(uint16_t)RTE_MIN(want - got, 32u));
		if (got < want)
			usleep(1000);
	}
	return got;
}

static int wait_pairs(uint16_t port, int want)
{
	for (int t = 0; t < 5000; t++) {
		if (dp_vport_vhost_pairs(port) == want)
			return 0;
		usleep(1000);
	}
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct pod_send {
	uint16_t pod;
	struct rte_mbuf *m;
	uint16_t sent;
};

/* The pod sends one frame 50 ms later (as a pod does, from its own
 * thread), while the worker sleeps. */
static void *send_later(void *arg)
{
	struct pod_send *ps = arg;

	usleep(50000);
	ps->sent = rte_eth_tx_burst(ps->pod, 0, &ps->m, 1);
	return NULL;
}

/* Short sleeps that take any edge left from the last frame's kick (the
 * pod may write the eventfd again after the first write woke the sleep):
 * one such wake is what the next sleep of an idle worker sees, no more. */
static void drain_edges(struct dp_natpoll *np)
{
	struct dp_lcore_stats left = {0};

	for (int k = 0; k < 3; k++)
		dp_natpoll_sleep(np, 1000, &left);
	CHECK(left.vh_wakes <= 1);
}

/* The pod's frame @p i, received on @p port within 2 s. */
static void rx_one(uint16_t port, uint32_t i)
{
	struct rte_mbuf *rx[4];
	uint16_t got = 0;

	for (int t = 0; t < 2000 && got == 0; t++)
		if ((got = dp_vhost_rx(port, 0, rx, 4)) == 0)
			usleep(1000);
	CHECK_EQ(got, 1);
	CHECK(got == 0 || index_of(rx[0]) == i);
	rte_pktmbuf_free_bulk(rx, got);
}

/* dp_natpoll_sleep() of @p us with the pod sending one frame during it,
 * after drain_edges(): the seconds it slept; the frame is received after
 * it. */
static double sleep_while_pod_sends(struct dp_natpoll *np, uint16_t pod,
				    uint16_t port, unsigned int us,
				    struct dp_lcore_stats *st, uint32_t i)
{
	struct pod_send ps = {pod, frame(i), 0};
	pthread_t th;
	double t0, slept;

	drain_edges(np);
	t0 = now_s();
	CHECK_EQ(pthread_create(&th, NULL, send_later, &ps), 0);
	dp_natpoll_sleep(np, us, st);
	slept = now_s() - t0;
	pthread_join(th, NULL);
	CHECK_EQ(ps.sent, 1);
	if (ps.sent == 0)
		rte_pktmbuf_free(ps.m);
	rx_one(port, i);
	return slept;
}

/*
 * An idle worker's sleep (dp/natpoll.h): asked to kick (armed), the pod's
 * frame wakes it; told to stop (disarmed), the sleep runs its time. Loose
 * bounds: only a 10 s sleep that ran whole, or a 200 ms one cut short,
 * fail them.
 */
static void test_kick_wake(const struct dp_port *p, uint16_t pod)
{
	struct dp_rxlist *rl = calloc(1, sizeof(*rl) + sizeof(rl->q[0]));
	struct dp_natpoll np;
	struct dp_lcore_stats st = {0};
	struct rte_mbuf *rx[4];

	rl->seq = 1;
	rl->n = rl->n_poll = 1; /* one vhost-user queue, no ethdev, no tap */
	rl->q[0] = (struct dp_rxq){p->id, 0};
	CHECK_EQ(dp_natpoll_init(&np), 0);
	dp_natpoll_sync(&np, rl);

	/* Kicks off (as a pod connects): the frame waits for the timeout. */
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 200000, &st, 400) >= 0.15);
	CHECK_EQ(st.vh_wakes, 0);

	/* Armed: asked, one poll, then the pod's frame wakes the sleep. */
	CHECK(dp_natpoll_arm(&np, rl));
	CHECK_EQ(np.n_kick, 1); /* the pod's one pair */
	CHECK_EQ(dp_vhost_rx(p->id, 0, rx, 4), 0);
	CHECK(!dp_natpoll_arm(&np, rl)); /* armed already */
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 10000000, &st, 401) < 5.0);
	CHECK_EQ(st.vh_wakes, 1);
	/* An edge a kick: the next one wakes it again. */
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 10000000, &st, 402) < 5.0);
	CHECK_EQ(st.vh_wakes, 2);

	/* Disarmed (the worker received): the pod kicks no more. */
	dp_natpoll_disarm(&np, rl);
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 200000, &st, 403) >= 0.15);
	CHECK_EQ(st.vh_wakes, 2);

	/* Re-armed: the same registration, asked again. */
	CHECK(dp_natpoll_arm(&np, rl));
	CHECK_EQ(np.n_kick, 1);
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 10000000, &st, 404) < 5.0);
	CHECK_EQ(st.vh_wakes, 3);

	/* A kick whose edge the poll's epoll_wait() took (an idle worker
	 * asks epoll on every iteration): the next sleep does not wait. */
	{
		struct pod_send ps = {pod, frame(406), 0};
		struct dp_rxq q[DP_NATPOLL_MAX];
		double t0;

		drain_edges(&np);
		np.kick_seen = false;
		ps.sent = rte_eth_tx_burst(pod, 0, &ps.m, 1);
		CHECK_EQ(ps.sent, 1);
		usleep(20000);
		CHECK_EQ(dp_natpoll_ready(&np, rte_rdtsc(), true, q, &st), 0);
		CHECK(np.kick_seen);
		t0 = now_s();
		dp_natpoll_sleep(&np, 10000000, &st);
		CHECK(now_s() - t0 < 5.0);
		CHECK_EQ(st.vh_wakes, 4);
		rx_one(p->id, 406);
	}

	/* A callback's change (dp_vhost_gen): registered anew. */
	int old = np.kick_fd[0];
	__atomic_fetch_add(&dp_vhost_gen, 1, __ATOMIC_RELEASE);
	CHECK(dp_natpoll_arm(&np, rl));
	CHECK_EQ(np.n_kick, 1);
	CHECK(sleep_while_pod_sends(&np, pod, p->id, 10000000, &st, 405) < 5.0);
	CHECK_EQ(st.vh_wakes, 5);
	CHECK(fcntl(old, F_GETFD) == -1 || np.kick_fd[0] == old);
	dp_natpoll_disarm(&np, rl);
	dp_natpoll_fini(&np);
	free(rl);
}

int main(void)
{
	char prefix[64], path[128], devargs[256];
	char dir[] = "/tmp/kdp-vhpod-XXXXXX";
	struct rte_mbuf *tx[64], *rx[64];
	struct dp_port p;
	uint16_t pod;
	int rc;

	snprintf(prefix, sizeof(prefix), "kdp_vhpod_%d", (int)getpid());
	char *argv[] = {"dp_vhost_pod", "-l", "0", "--no-pci", "--in-memory",
			"--single-file-segments", "-m", "256", "--no-telemetry",
			"--file-prefix", prefix, "--log-level=lib.eal:error",
			"--log-level=lib.vhost.config:error",
			"--log-level=pmd.net.virtio.*:error"};
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		printf("skip: EAL with hugepages: %s\n",
		       rte_strerror(rte_errno));
		return 77;
	}
	/* Two queues, as for two workers; the pod runs one pair. */
	if (vhost_setup(4095, dir, "pod.sock", path, sizeof(path), &p) != 0)
		CHECK_DONE();
	CHECK_EQ(dp_vport_vhost_pairs(p.id), 0);
	snprintf(devargs, sizeof(devargs), "path=%s,queues=1,queue_size=256",
		 path);
	rc = rte_eal_hotplug_add("vdev", "net_virtio_user0", devargs);
	CHECK_EQ(rc, 0);
	CHECK_EQ(rte_eth_dev_get_port_by_name("net_virtio_user0", &pod), 0);
	struct rte_eth_conf conf = {0};
	CHECK_EQ(rte_eth_dev_configure(pod, 1, 1, &conf), 0);
	CHECK_EQ(rte_eth_rx_queue_setup(pod, 0, 256, SOCKET_ID_ANY, NULL, mp),
		 0);
	CHECK_EQ(rte_eth_tx_queue_setup(pod, 0, 256, SOCKET_ID_ANY, NULL), 0);
	CHECK_EQ(rte_eth_dev_start(pod), 0);
	CHECK_EQ(wait_pairs(p.id, 1), 0);

	/* kdp -> pod: 64 frames in one call, all of them, in order. */
	for (uint32_t i = 0; i < 64; i++)
		tx[i] = frame(i);
	uint16_t sent = dp_vhost_tx(p.id, 0, tx, 64);
	CHECK_EQ(sent, 64);
	if (sent < 64)
		rte_pktmbuf_free_bulk(tx + sent, 64 - sent);
	unsigned int got = pod_rx(pod, rx, 64);
	CHECK_EQ(got, 64);
	for (unsigned int i = 0; i < got; i++) {
		CHECK_EQ(index_of(rx[i]), i);
		CHECK_EQ(rx[i]->pkt_len, 64);
	}
	rte_pktmbuf_free_bulk(rx, got);

	/* From the second worker's tx queue: the pod's one pair. */
	for (uint32_t i = 0; i < 8; i++)
		tx[i] = frame(100 + i);
	sent = dp_vhost_tx(p.id, 1, tx, 8);
	CHECK_EQ(sent, 8);
	if (sent < 8)
		rte_pktmbuf_free_bulk(tx + sent, 8 - sent);
	got = pod_rx(pod, rx, 8);
	CHECK_EQ(got, 8);
	for (unsigned int i = 0; i < got; i++)
		CHECK_EQ(index_of(rx[i]), 100 + i);
	rte_pktmbuf_free_bulk(rx, got);

	/* pod -> kdp: on queue 0 (pair 0); queue 1 (pair 1) has none. */
	for (uint32_t i = 0; i < 10; i++)
		tx[i] = frame(200 + i);
	CHECK_EQ(rte_eth_tx_burst(pod, 0, tx, 10), 10);
	got = 0;
	for (int t = 0; t < 2000 && got < 10; t++) {
		got += dp_vhost_rx(p.id, 0, rx + got, (uint16_t)(32 - got));
		CHECK_EQ(dp_vhost_rx(p.id, 1, rx + got, 1), 0);
		if (got < 10)
			usleep(1000);
	}
	CHECK_EQ(got, 10);
	for (unsigned int i = 0; i < got; i++) {
		CHECK_EQ(index_of(rx[i]), 200 + i);
		CHECK_EQ(rx[i]->port, p.id);
		CHECK_EQ(rx[i]->pkt_len, 64);
	}
	rte_pktmbuf_free_bulk(rx, got);

	test_kick_wake(&p, pod);

	/* The pod goes: link down, nothing sent. */
	rte_eth_dev_stop(pod);
	rte_eth_dev_close(pod);
	rte_eal_hotplug_remove("vdev", "net_virtio_user0");
	CHECK_EQ(wait_pairs(p.id, 0), 0);
	tx[0] = frame(300);
	CHECK_EQ(dp_vhost_tx(p.id, 0, tx, 1), 0);
	rte_pktmbuf_free(tx[0]);

	dp_vport_close(p.id);
	unlink(path);
	rmdir(dir);
	CHECK_DONE();
}
