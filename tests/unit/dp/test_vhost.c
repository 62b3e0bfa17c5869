/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Native vhost-user ports (dp/vport.h, dp/vhost.c) without a pod: the
 * traffic with a real pod (dpdk-testpmd over virtio-user) is in the
 * podports integration test.
 *
 *  - a server port: its socket, a native id, its MAC and kind; no frames
 *    either way while no pod is connected, and the caller keeps what was
 *    not sent;
 *  - the queue pairs workers use follow the vrings the pod makes ready,
 *    from pair 0, at most the port's queues;
 *  - a pod that goes: workers see it gone at once, and the library may
 *    free the device only after a grace period: detach blocks while a
 *    worker has not passed a quiescent state (without the wait, a worker
 *    inside rte_vhost_*_burst() would use a freed device);
 *  - a client port towards a socket that is not there yet opens (the
 *    library reconnects);
 *  - close removes the socket; bad arguments are refused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dp/vport_priv.h"
#include "tests/unit/dp/vhost_util.h"
#include "tests/unit/golden.h"

struct detach_arg {
	const char *path;
	volatile int done;
	int rc;
};

static void *detach_thread(void *p)
{
	struct detach_arg *a = p;
	char name[64];

	a->rc = dp_vhost_detach(a->path, name, sizeof(name));
	a->done = 1;
	return NULL;
}

static void test_rings(const char *path, struct dp_vport *v)
{
	CHECK_EQ(v->nqp, 0);
	CHECK_EQ(dp_vhost_ring(path, 0, true), 0);
	CHECK_EQ(v->nqp, 0); /* the pair's other vring is not ready */
	CHECK_EQ(dp_vhost_ring(path, 1, true), 0);
	CHECK_EQ(v->nqp, 1);
	CHECK_EQ(dp_vhost_ring(path, 3, true), 0);
	CHECK_EQ(v->nqp, 1);
	CHECK_EQ(dp_vhost_ring(path, 2, true), 0);
	CHECK_EQ(v->nqp, 2);
	/* Past the port's 2 queues: its queues share the pod's pairs. */
	CHECK_EQ(dp_vhost_ring(path, 4, true), 0);
	CHECK_EQ(dp_vhost_ring(path, 5, true), 0);
	CHECK_EQ(v->nqp, 3);
	CHECK_EQ(dp_vhost_ring(path, 63, true), 0);
	CHECK_EQ(dp_vhost_ring(path, 64, true), 0); /* ignored */
	CHECK_EQ(v->nqp, 3);
	for (uint16_t r = 6; r < 64; r++)
		CHECK_EQ(dp_vhost_ring(path, r, true), 0);
	CHECK_EQ(v->nqp, 32); /* the most vrings tracked */
	/* Pair 0 disabled: none is in use (pairs count from 0). */
	CHECK_EQ(dp_vhost_ring(path, 0, false), 0);
	CHECK_EQ(v->nqp, 0);
	CHECK_EQ(dp_vhost_ring(path, 0, true), 0);
	CHECK_EQ(v->nqp, 32);
	for (uint16_t r = 6; r < 64; r++)
		CHECK_EQ(dp_vhost_ring(path, r, false), 0);
	CHECK_EQ(v->nqp, 3);
	CHECK_EQ(dp_vhost_ring("/nowhere.sock", 0, true), -ENOENT);
}

static void test_detach(const char *path, struct dp_vport *v)
{
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	struct rte_rcu_qsbr *qs = rte_zmalloc("qs", qsz, RTE_CACHE_LINE_SIZE);
	struct detach_arg a = {.path = path};
	pthread_t th;

	CHECK(qs != NULL && rte_rcu_qsbr_init(qs, 1) == 0);
	if (qs == NULL)
		return;
	/* This thread is the worker: online, inside a burst call. */
	rte_rcu_qsbr_thread_register(qs, 0);
	rte_rcu_qsbr_thread_online(qs, 0);
	dp_vport_set_qsbr(qs);
	v->vid = 7; /* as new_device sets it */
	CHECK(pthread_create(&th, NULL, detach_thread, &a) == 0);
	usleep(100 * 1000);
	CHECK_EQ(a.done, 0); /* waits for the worker */
	CHECK_EQ(__atomic_load_n(&v->vid, __ATOMIC_ACQUIRE), -1);
	CHECK_EQ(v->nqp, 0);
	rte_rcu_qsbr_quiescent(qs, 0);
	for (int i = 0; i < 2000 && !a.done; i++)
		usleep(1000);
	CHECK_EQ(a.done, 1);
	CHECK_EQ(a.rc, 0);
	pthread_join(th, NULL);

	/* A worker asleep (offline) holds nothing up. */
	v->vid = 8;
	rte_rcu_qsbr_thread_offline(qs, 0);
	a.done = 0;
	CHECK(pthread_create(&th, NULL, detach_thread, &a) == 0);
	for (int i = 0; i < 2000 && !a.done; i++)
		usleep(1000);
	CHECK_EQ(a.done, 1);
	pthread_join(th, NULL);
	CHECK_EQ(v->vid, -1);

	a.path = "/nowhere.sock";
	detach_thread(&a);
	CHECK_EQ(a.rc, -ENOENT);
	rte_rcu_qsbr_thread_unregister(qs, 0);
	dp_vport_set_qsbr(NULL);
	rte_free(qs);
}

int main(void)
{
	struct rte_mbuf *pkts[4];
	struct dp_port p, c;
	char dir[] = "/tmp/kdp-vhost-XXXXXX", path[128], cpath[128];
	char err[256], name[64];
	struct stat sb;
	int rc;

	if (golden_eal_init("dp_vhost") < 0)
		return 1;
	if (vhost_setup(1023, dir, "s.sock", path, sizeof(path), &p) != 0)
		CHECK_DONE();
	snprintf(cpath, sizeof(cpath), "%s/pod.sock", dir);
	CHECK(dp_port_is_native(p.id));
	CHECK_EQ(p.nb_rxq, 2);
	CHECK_EQ(p.nb_txq, 2);
	CHECK_EQ(dp_vport_kind(p.id), DP_VPORT_VHOST);
	CHECK(dp_vport_info(p.id, name, sizeof(name)));
	CHECK_STR(name, "kdpvhost0");
	CHECK(p.mac.addr_bytes[0] == 0x56 && p.mac.addr_bytes[5] == p.id);
	CHECK(stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode));

	/* No pod: nothing comes, nothing goes, the caller keeps its mbufs. */
	CHECK_EQ(dp_vhost_rx(p.id, 0, pkts, 4), 0);
	CHECK_EQ(rte_pktmbuf_alloc_bulk(mp, pkts, 4), 0);
	unsigned int avail = rte_mempool_avail_count(mp);
	CHECK_EQ(dp_vhost_tx(p.id, 1, pkts, 4), 0);
	CHECK_EQ(rte_mempool_avail_count(mp), avail);
	rte_pktmbuf_free_bulk(pkts, 4);

	struct dp_vport *v = dp_vport_tab[p.id - RTE_MAX_ETHPORTS];
	test_rings(path, v);
	test_detach(path, v);

	/* The same socket twice: the library refuses the second. */
	struct dp_port p2;
	rc = dp_vport_open_vhost("v2", "kdpvhost1", path, false, 1, mp, &p2,
				 err, sizeof(err));
	CHECK(rc < 0 && strstr(err, path) != NULL);

	/* Client: the pod's socket need not be there yet. */
	rc = dp_vport_open_vhost("c", "kdpvhost2", cpath, true, 1, mp, &c, err,
				 sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK(c.id != p.id && dp_vport_count() == 2);

	CHECK_EQ(dp_vport_open_vhost("b", "b", path, false, 0, mp, &p2, err,
				     sizeof(err)), -EINVAL);
	CHECK_EQ(dp_vport_open_vhost("b", "b", path, false, 65536, mp, &p2,
				     err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "1 to 65535") != NULL);
	/* A queue per worker, for kdp's most workers (64): more than the 32
	 * pairs a pod may run, which the queues share. */
	char wpath[160];
	snprintf(wpath, sizeof(wpath), "%s/w.sock", dir);
	rc = dp_vport_open_vhost("w", "kdpvhost3", wpath, false, 64, mp, &p2,
				 err, sizeof(err));
	CHECK_EQ(rc, 0);
	CHECK(rc != 0 || (p2.nb_rxq == 64 && p2.nb_txq == 64));
	if (rc == 0)
		dp_vport_close(p2.id);

	dp_vport_close(p.id);
	dp_vport_close(c.id);
	CHECK(stat(path, &sb) != 0);
	CHECK_EQ(dp_vport_count(), 0);
	CHECK(!dp_vport_info(p.id, NULL, 0));
	rmdir(dir);
	CHECK_DONE();
}
