/* SPDX-License-Identifier: BSD-3-Clause */
/* Native ports, the control side (dp/vport.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dp/vport_priv.h"

_Static_assert(KDP_MAX_PORTS > RTE_MAX_ETHPORTS &&
	       KDP_MAX_PORTS <= UINT16_MAX, "KDP_MAX_PORTS: past the ethdevs, "
	       "within a port id");

struct dp_vport *dp_vport_tab[DP_VPORT_MAX];
/* Tells a port from an earlier one with the same id (dp/natpoll.h). */
static uint64_t vport_serial;

void dp_vport_free(struct dp_vport *v)
{
	if (v == NULL)
		return;
	if (v->kind == DP_VPORT_TAP)
		for (uint16_t q = 0; q < v->nb_q; q++)
			if (v->fd[q] >= 0)
				close(v->fd[q]);
	free(v->path);
	free(v);
}

int dp_vport_slot(const char *what, char *err, size_t errlen)
{
	for (int slot = 0; slot < DP_VPORT_MAX; slot++)
		if (dp_vport_tab[slot] == NULL)
			return slot;
	snprintf(err, errlen, "%s: all %d native ports are in use "
		 "(KDP_MAX_PORTS %d, less the %d ethdevs)", what,
		 DP_VPORT_MAX, KDP_MAX_PORTS, RTE_MAX_ETHPORTS);
	return -ENOSPC;
}

struct dp_vport *dp_vport_alloc(enum dp_vport_kind kind, const char *name,
				unsigned int nfd, struct rte_mempool *mp)
{
	struct dp_vport *v = calloc(1, sizeof(*v) + nfd * sizeof(v->fd[0]));

	if (v == NULL)
		return NULL;
	v->kind = (uint8_t)kind;
	v->mp = mp;
	v->serial = ++vport_serial;
	v->vid = -1;
	snprintf(v->name, sizeof(v->name), "%s", name);
	for (unsigned int q = 0; q < nfd; q++)
		v->fd[q] = -1;
	v->nb_q = (uint16_t)nfd;
	return v;
}

int dp_vport_open_tap(const char *what, const char *name, const char *ifname,
		      unsigned int queues, struct rte_mempool *mp,
		      struct dp_port *out, char *err, size_t errlen)
{
	struct dp_vport *v;
	struct ifreq ifr;
	int slot, rc;

	memset(out, 0, sizeof(*out));
	if ((slot = dp_vport_slot(what, err, errlen)) < 0)
		return slot;
	if (queues == 0 || queues > UINT16_MAX ||
	    strlen(ifname) >= sizeof(ifr.ifr_name)) {
		snprintf(err, errlen, "%s: bad tap \"%s\" with %u queues", what,
			 ifname, queues);
		return -EINVAL;
	}
	v = dp_vport_alloc(DP_VPORT_TAP, name, queues, mp);
	if (v == NULL) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -ENOMEM;
	}
	/* The first queue creates the interface, the others attach to it:
	 * an interface of that name that exists already is not ours. */
	if (if_nametoindex(ifname) != 0) {
		rc = -EEXIST;
		goto fail;
	}
	for (unsigned int q = 0; q < queues; q++) {
		v->fd[q] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE;
		if (v->fd[q] < 0 || ioctl(v->fd[q], TUNSETIFF, &ifr) != 0) {
			rc = -errno;
			goto fail;
		}
	}
	/* The MAC the kernel chose (the pod's is set when it moves). */
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(v->fd[0], SIOCGIFHWADDR, &ifr) == 0)
		memcpy(out->mac.addr_bytes, ifr.ifr_hwaddr.sa_data,
		       RTE_ETHER_ADDR_LEN);
	out->id = (uint16_t)(RTE_MAX_ETHPORTS + slot);
	out->nb_rxq = v->nb_q;
	out->nb_txq = v->nb_q;
	snprintf(out->name, sizeof(out->name), "%s", name);
	/* Before any table or rx list names the port (their publication
	 * orders this store for the workers). */
	__atomic_store_n(&dp_vport_tab[slot], v, __ATOMIC_RELEASE);
	return 0;
fail:
	snprintf(err, errlen, "%s: tap %s: %s%s", what, ifname, strerror(-rc),
		 rc == -EMFILE ? " (each tap holds a descriptor per worker: "
		 "raise the hard limit, ulimit -Hn or LimitNOFILE)" : "");
	dp_vport_free(v);
	return rc;
}

/* @p port's entry of dp_vport_tab, or NULL for an id outside it. */
static struct dp_vport **vport_entry(uint16_t port)
{
	if (!dp_port_is_native(port) || port >= KDP_MAX_PORTS)
		return NULL;
	return &dp_vport_tab[port - RTE_MAX_ETHPORTS];
}

void dp_vport_close(uint16_t port)
{
	struct dp_vport **e = vport_entry(port), *v = e ? *e : NULL;

	if (v == NULL)
		return;
	if (v->kind == DP_VPORT_VHOST) {
		dp_vhost_close(e);
		return;
	}
	__atomic_store_n(e, NULL, __ATOMIC_RELEASE);
	dp_vport_free(v);
}

int dp_vport_vhost_pairs(uint16_t port)
{
	struct dp_vport **e = vport_entry(port);
	const struct dp_vport *v = e ? *e : NULL;

	if (v == NULL || v->kind != DP_VPORT_VHOST)
		return -1;
	if (__atomic_load_n(&v->vid, __ATOMIC_ACQUIRE) < 0)
		return 0;
	return __atomic_load_n(&v->nqp, __ATOMIC_RELAXED);
}

enum dp_vport_kind dp_vport_kind(uint16_t port)
{
	struct dp_vport **e = vport_entry(port);

	return e && *e ? (enum dp_vport_kind)(*e)->kind : DP_VPORT_TAP;
}

bool dp_vport_info(uint16_t port, char *name, size_t len)
{
	struct dp_vport **e = vport_entry(port);
	const struct dp_vport *v = e ? *e : NULL;

	if (v != NULL && name != NULL)
		snprintf(name, len, "%s", v->name);
	return v != NULL;
}

unsigned int dp_vport_count(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < DP_VPORT_MAX; i++)
		n += dp_vport_tab[i] != NULL;
	return n;
}
