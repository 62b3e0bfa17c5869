/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Native ports: pod ports kdp drives itself instead of through a DPDK
 * ethdev, with port ids from RTE_MAX_ETHPORTS to KDP_MAX_PORTS - 1
 * (dp/port.h). Debian's DPDK 22.11 has room for 32 ethdevs, a node may
 * have 110 pods: neither kernel pods (taps) nor DPDK pods (vhost-user)
 * need an ethdev of their own.
 *
 * A native tap is a kernel tap interface opened with IFF_MULTI_QUEUE: one
 * file descriptor per worker queue (O_NONBLOCK), no packet information
 * header and no offloads, as DPDK's tap PMD opens its queues. Queue q is
 * rx queue q and tx queue q, like an ethdev's: the kernel spreads the
 * frames it sends over the queues by flow, and each worker writes to its
 * own. Workers read and write the descriptors with plain readv() and
 * write() (dp/vport_fast.h), reading a queue only when epoll says it
 * holds frames (dp/natpoll.h); the interface, once moved into a pod's
 * namespace (control/netlink.h ctl_link_move()), keeps its descriptors.
 *
 * A native vhost-user port is kdp's side of a DPDK pod's virtio-user
 * device, driven through DPDK's vhost library (rte_vhost.h) as net_vhost
 * drives it, minus the ethdev: dp_vhost_rx() and dp_vhost_tx() call
 * rte_vhost_dequeue_burst() and rte_vhost_enqueue_burst() directly.
 * Workers poll its queues on every iteration, as they poll ethdevs. The
 * library tells kdp (dp/vhost.c, on its own thread) when a pod connects,
 * which queue pairs it runs, and when it goes; after a pod goes, the
 * library frees the device only once every worker has passed a quiescent
 * state (dp_vport_set_qsbr()), so no worker is still using it.
 *
 * Lifecycle, as for ethdev pod ports (control/podport.h): control creates
 * the port, and only then publishes tables and rx lists that name it;
 * it closes the port only after tables and rx lists without it were
 * published and a grace period has passed, so no worker holds a
 * descriptor that closes. The interface disappears with its last
 * descriptor, so a tap dies with kdp.
 *
 * Thread-safety: dp_vport_open_*(), dp_vport_close(), dp_vport_kind() and
 * dp_vport_info() on the control thread (or under its lock);
 * dp/vport_fast.h on workers.
 */
#ifndef KDP_DP_VPORT_H
#define KDP_DP_VPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include "dp/port.h"

/** Native ports there may be at once. */
#define DP_VPORT_MAX (KDP_MAX_PORTS - RTE_MAX_ETHPORTS)

enum dp_vport_kind {
	DP_VPORT_TAP,
	DP_VPORT_VHOST,
};

/** Is @p port one of kdp's native ports (not an ethdev)? */
static inline bool dp_port_is_native(uint16_t port)
{
	return port >= RTE_MAX_ETHPORTS;
}

/**
 * Create a native tap port: the kernel interface @p ifname (in the calling
 * thread's namespace; it must not exist) with @p queues queues, whose
 * received frames go into mbufs of @p mp. @p name is the port's name in
 * telemetry. @p out describes the port (nb_rxq = nb_txq = @p queues, the
 * MAC the kernel chose). The port runs from now on: no start.
 * @return 0, or -errno with a message naming @p what in @p err (-ENOSPC:
 * all DP_VPORT_MAX native ports are in use).
 */
int dp_vport_open_tap(const char *what, const char *name, const char *ifname,
		      unsigned int queues, struct rte_mempool *mp,
		      struct dp_port *out, char *err, size_t errlen);

/**
 * Create a native vhost-user port on the unix socket @p path: kdp listens
 * on it (@p client false; nothing may be there, callers remove a stale
 * socket) or connects to the pod's, and reconnects whenever it is not
 * there (@p client true). The port has @p queues queues (one per worker);
 * the pod may run up to DP_VHOST_MAX_PAIRS queue pairs, which the queues
 * share. Received frames go into mbufs of @p mp. Guest offloads (checksum,
 * TSO, UFO) are not offered: frames come whole and checksummed.
 * @p out->mac is 56:48:4f:53:54:<port id>, as net_vhost makes them. Runs
 * from now on.
 * @return 0, or -errno with a message naming @p what in @p err.
 */
int dp_vport_open_vhost(const char *what, const char *name, const char *path,
			bool client, unsigned int queues,
			struct rte_mempool *mp, struct dp_port *out,
			char *err, size_t errlen);

/**
 * The RCU variable the workers report their quiescent states to. When a
 * pod disconnects, kdp waits on it before the vhost library frees the
 * device. Set it before any vhost-user port opens; NULL (tests without
 * workers) waits for nothing.
 */
void dp_vport_set_qsbr(struct rte_rcu_qsbr *qs);

/** Native vhost-user port @p port: the queue pairs its pod runs when a
 * pod is connected, else 0; -1 for any other port. */
int dp_vport_vhost_pairs(uint16_t port);

/** The kind of native port @p port, which must be open. */
enum dp_vport_kind dp_vport_kind(uint16_t port);

/** Close native port @p port (its interface goes with it). Only once no
 * worker can use it. An id that is not open is a no-op. */
void dp_vport_close(uint16_t port);

/** Is native port @p port open? Its name into @p name when it is. */
bool dp_vport_info(uint16_t port, char *name, size_t len);

/** Native ports open. */
unsigned int dp_vport_count(void);

#endif /* KDP_DP_VPORT_H */
