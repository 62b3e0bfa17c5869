/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the native ports' control side (dp/vport.c, dp/vhost.c); not
 * for other modules.
 */
#ifndef KDP_DP_VPORT_PRIV_H
#define KDP_DP_VPORT_PRIV_H

#include "dp/vport_fast.h"

/** A free slot of dp_vport_tab, or -ENOSPC with a message in @p err. */
int dp_vport_slot(const char *what, char *err, size_t errlen);

/** A new port of @p kind with @p nfd descriptor slots (-1), not in the
 * table; NULL when out of memory. */
struct dp_vport *dp_vport_alloc(enum dp_vport_kind kind, const char *name,
				unsigned int nfd, struct rte_mempool *mp);

/** Free @p v (NULL: nothing), closing its descriptors. */
void dp_vport_free(struct dp_vport *v);

/** Take vhost-user port *@p e out of the table, unregister its socket and
 * free it. */
void dp_vhost_close(struct dp_vport **e);

/* The vhost library's callbacks, by socket, for dp/vhost.c and its test. */

/** Vring @p vring of the pod on socket @p path is ready (@p enable) or
 * not: the port's queue pairs in use follow. -ENOENT: no such port. */
int dp_vhost_ring(const char *path, uint16_t vring, bool enable);

/** The pod on socket @p path is gone: workers stop using its device, and
 * this returns once none does (a grace period of dp_vport_set_qsbr()'s).
 * The port's name into @p name. -ENOENT: no such port (closing). */
int dp_vhost_detach(const char *path, char *name, size_t len);

#endif /* KDP_DP_VPORT_PRIV_H */
