/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Native vhost-user ports, the control side (dp/vport.h): the socket, and
 * the vhost library's callbacks, which run on the library's own thread.
 *
 * What a worker reads (dp_vhost_rx(), dp_vhost_tx()) is a port's vid and
 * its queue pairs in use (nqp). The callbacks set them: vring readiness
 * gives nqp, new_device the vid; destroy_device clears both and then waits
 * for a grace period, so that when it returns (and the library frees the
 * device, or gives its vid to another pod) no worker still uses the old
 * one. The library calls destroy_device without its queue locks held
 * (lib/vhost: GET_VRING_BASE and RESET_OWNER do not lock the queues for
 * that reason), so a worker blocked in rte_vhost_enqueue_burst() cannot
 * hold up the grace period. vring_state_changed may run with them held,
 * so it never waits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "dp/log.h"
#include "dp/vport_priv.h"

/* Serializes the callbacks' lookups and writes with control's changes of
 * the table's vhost entries; never held while calling the library. */
static pthread_mutex_t vhost_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rte_rcu_qsbr *vhost_qs;

uint32_t dp_vhost_gen;

/* After a callback's change is visible (release: a worker that sees the
 * new value sees the change). */
static void vhost_changed(void)
{
	__atomic_fetch_add(&dp_vhost_gen, 1, __ATOMIC_RELEASE);
}

/* Guest features kdp does not take: offloads leave frames partial
 * (checksums, segments) and kdp's pipeline forwards whole frames only. */
#define VHOST_NO_FEATURES                                                     \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |    \
	 (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) | \
	 (1ULL << VIRTIO_NET_F_HOST_UFO) | (1ULL << VIRTIO_NET_F_HOST_ECN) |  \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) |                                  \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO6) |                                  \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO) | (1ULL << VIRTIO_NET_F_GUEST_ECN))

void dp_vport_set_qsbr(struct rte_rcu_qsbr *qs)
{
	vhost_qs = qs;
}

/* The open vhost-user port on socket @p path; under vhost_lock. */
static struct dp_vport *vhost_find(const char *path)
{
	for (unsigned int i = 0; i < DP_VPORT_MAX; i++) {
		struct dp_vport *v = dp_vport_tab[i];

		if (v && v->kind == DP_VPORT_VHOST && strcmp(v->path, path) == 0)
			return v;
	}
	return NULL;
}

/* Queue pairs from 0 whose two vrings are both ready: the pairs workers
 * use (the worker with queue q reads pairs q, q + nb_q, ...). */
static uint16_t vhost_pairs(const struct dp_vport *v)
{
	uint16_t q = 0;

	while (q < DP_VHOST_MAX_PAIRS && (v->ready >> (2 * q) & 3) == 3)
		q++;
	return q;
}

/* The socket of device @p vid into @p path (PATH_MAX). */
static int vhost_path(int vid, char *path)
{
	return rte_vhost_get_ifname(vid, path, PATH_MAX) == 0 ? 0 : -ENOENT;
}

static int vhost_new_device(int vid)
{
	char path[PATH_MAX], name[64];
	struct dp_vport *v = NULL;
	uint16_t nr = rte_vhost_get_vring_num(vid), nqp = 0;

	/* kdp polls: the pod need not kick it (as net_vhost does). A worker
	 * asks for kicks while it sleeps (dp/natpoll.h dp_natpoll_arm()). */
	for (uint16_t i = 0; i < nr; i++)
		rte_vhost_enable_guest_notification(vid, i, 0);
	pthread_mutex_lock(&vhost_lock);
	if (vhost_path(vid, path) == 0 && (v = vhost_find(path)) != NULL) {
		__atomic_store_n(&v->vid, vid, __ATOMIC_RELEASE);
		snprintf(name, sizeof(name), "%s", v->name);
		nqp = v->nqp;
	}
	pthread_mutex_unlock(&vhost_lock);
	vhost_changed();
	if (v == NULL) {
		KDP_LOG(ERR, "vhost-user device %d: no port for its socket", vid);
		return -1;
	}
	KDP_LOG(INFO, "port %s: pod connected (device %d, %u queue pairs)",
		name, vid, (unsigned int)nqp);
	return 0;
}

int dp_vhost_detach(const char *path, char *name, size_t len)
{
	struct dp_vport *v;

	pthread_mutex_lock(&vhost_lock);
	v = vhost_find(path);
	if (v != NULL) {
		__atomic_store_n(&v->vid, -1, __ATOMIC_RELEASE);
		__atomic_store_n(&v->nqp, 0, __ATOMIC_RELEASE);
		v->ready = 0;
		snprintf(name, len, "%s", v->name);
	}
	pthread_mutex_unlock(&vhost_lock);
	vhost_changed();
	if (v == NULL)
		return -ENOENT; /* closing: dp_vport_close() waited already */
	/* Workers go offline while they sleep, so this waits at most for one
	 * poll iteration of each running worker. */
	if (vhost_qs != NULL)
		rte_rcu_qsbr_synchronize(vhost_qs, RTE_QSBR_THRID_INVALID);
	return 0;
}

static void vhost_destroy_device(int vid)
{
	char path[PATH_MAX], name[64];

	if (vhost_path(vid, path) == 0 &&
	    dp_vhost_detach(path, name, sizeof(name)) == 0)
		KDP_LOG(INFO, "port %s: pod disconnected (device %d)", name,
			vid);
}

int dp_vhost_ring(const char *path, uint16_t vring, bool enable)
{
	char name[64];
	struct dp_vport *v;
	int was = -1, now = -1;

	if (vring >= 2 * DP_VHOST_MAX_PAIRS)
		return 0; /* past any pair kdp serves */
	pthread_mutex_lock(&vhost_lock);
	v = vhost_find(path);
	if (v != NULL) {
		if (enable)
			v->ready |= 1ULL << vring;
		else
			v->ready &= ~(1ULL << vring);
		was = v->nqp;
		now = vhost_pairs(v);
		__atomic_store_n(&v->nqp, (uint16_t)now, __ATOMIC_RELEASE);
		snprintf(name, sizeof(name), "%s", v->name);
	}
	pthread_mutex_unlock(&vhost_lock);
	/* A vring's kick eventfd changes with it (SET_VRING_KICK takes the
	 * vring out of service first). */
	vhost_changed();
	if (now != was)
		KDP_LOG(INFO, "port %s: the pod runs %d queue pair(s)", name,
			now);
	return v != NULL ? 0 : -ENOENT;
}

static int vhost_vring_state(int vid, uint16_t vring, int enable)
{
	char path[PATH_MAX];

	if (vhost_path(vid, path) == 0)
		dp_vhost_ring(path, vring, enable != 0);
	return 0;
}

static const struct rte_vhost_device_ops vhost_ops = {
	.new_device = vhost_new_device,
	.destroy_device = vhost_destroy_device,
	.vring_state_changed = vhost_vring_state,
};

int dp_vport_open_vhost(const char *what, const char *name, const char *path,
			bool client, unsigned int queues,
			struct rte_mempool *mp, struct dp_port *out,
			char *err, size_t errlen)
{
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS |
		(client ? RTE_VHOST_USER_CLIENT : 0);
	const char *step = "register";
	struct dp_vport *v;
	int slot, rc;

	memset(out, 0, sizeof(*out));
	/* One queue per worker, however many pairs the pod runs: queues
	 * past its pairs read nothing and send on its pairs. */
	if (queues == 0 || queues > UINT16_MAX || path[0] == '\0') {
		snprintf(err, errlen, "%s: bad vhost-user port \"%s\" with %u "
			 "queues (1 to %u)", what, path, queues, UINT16_MAX);
		return -EINVAL;
	}
	if ((slot = dp_vport_slot(what, err, errlen)) < 0)
		return slot;
	v = dp_vport_alloc(DP_VPORT_VHOST, name, 0, mp);
	if (v == NULL || (v->path = strdup(path)) == NULL) {
		dp_vport_free(v);
		snprintf(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	v->nb_q = (uint16_t)queues;
	v->vid = -1;
	if (rte_vhost_driver_register(path, flags) != 0) {
		rc = -EIO;
		goto fail_free;
	}
	step = "features";
	if (rte_vhost_driver_disable_features(path, VHOST_NO_FEATURES) != 0 ||
	    rte_vhost_driver_callback_register(path, &vhost_ops) != 0) {
		rc = -EIO;
		goto fail_unregister;
	}
	/* In the table before the library starts: a pod may connect at once,
	 * and the callbacks find the port there. No worker looks at it until
	 * tables and rx lists name the port. */
	pthread_mutex_lock(&vhost_lock);
	__atomic_store_n(&dp_vport_tab[slot], v, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vhost_lock);
	step = "start";
	if (rte_vhost_driver_start(path) != 0) {
		pthread_mutex_lock(&vhost_lock);
		__atomic_store_n(&dp_vport_tab[slot], NULL, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&vhost_lock);
		rc = -EIO;
		goto fail_unregister;
	}
	out->id = (uint16_t)(RTE_MAX_ETHPORTS + slot);
	out->nb_rxq = v->nb_q;
	out->nb_txq = v->nb_q;
	/* As net_vhost makes them: "VHOST" and the port id. */
	out->mac = (struct rte_ether_addr){{0x56, 0x48, 0x4f, 0x53, 0x54,
					   (uint8_t)out->id}};
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
fail_unregister:
	rte_vhost_driver_unregister(path);
fail_free:
	/* The library logged why (socket, bind, connect). */
	snprintf(err, errlen, "%s: vhost-user socket %s: %s failed", what,
		 path, step);
	dp_vport_free(v);
	return rc;
}

void dp_vhost_close(struct dp_vport **e)
{
	struct dp_vport *v = *e;

	pthread_mutex_lock(&vhost_lock);
	__atomic_store_n(e, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vhost_lock);
	/* Disconnects a connected pod: destroy_device no longer finds the
	 * port, and need not wait, since no worker polls it any more. */
	rte_vhost_driver_unregister(v->path);
	dp_vport_free(v);
}
