/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Neighbor resolution (ARP) in the control thread.
 *
 * Every L2 next hop the tables use, an underlay node or gateway on the uplink
 * or a pod behind its port, is a slot in pl_neigh[] (pipeline/tables.h).
 * Control owns the slots: it sends ARP requests, learns from requests and
 * replies workers punt to it, refreshes entries every arp_timeout and
 * invalidates those that stop answering. Packets that met an unresolved
 * slot wait here in a small per-slot queue and leave as soon as it resolves.
 *
 * Frames control sends (ARP, released packets) go through a send callback,
 * which hands them to a worker's inject ring: control has no tx queue.
 *
 * Thread-safety: control thread only; slot MACs are published with single
 * 64-bit stores that workers read without locks.
 */
#ifndef KDP_CONTROL_NEIGH_H
#define KDP_CONTROL_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

struct ctl_neigh;
struct rte_tel_data;

/** Frames leave through this (m->port is the tx port). */
typedef void (*ctl_neigh_send_fn)(void *arg, struct rte_mbuf *m);

/** Packets each unresolved slot may hold. */
#define CTL_NEIGH_HOLD 16
/** Requests sent before an entry is declared failed. */
#define CTL_NEIGH_PROBES 3

struct ctl_neigh *ctl_neigh_create(struct rte_mempool *mp,
				   ctl_neigh_send_fn send, void *send_arg,
				   unsigned int timeout_s);
void ctl_neigh_free(struct ctl_neigh *n);

/**
 * Get (or create) the slot for @p ip (host order) behind @p port. ARP for it
 * is sent from @p src_mac / @p src_ip. Marks the slot used by the tables
 * being built (see ctl_neigh_mark_begin).
 * @return the slot, or UINT32_MAX when all slots are taken.
 */
uint32_t ctl_neigh_slot(struct ctl_neigh *n, uint16_t port, uint32_t ip,
			const struct rte_ether_addr *src_mac, uint32_t src_ip);

/** Pin a slot's MAC (configuration); it is never aged. */
void ctl_neigh_set_static(struct ctl_neigh *n, uint32_t slot,
			  const struct rte_ether_addr *mac);

/**
 * Mark-and-sweep over slots: call begin before building tables, ctl_neigh_slot
 * for every slot they use, then sweep after the old tables' grace period:
 * slots no table references are released. When the build fails, abort
 * gives the slots back the marks of the tables still published: without
 * it the next sweep released their slots, and a slot taken again for
 * another address sent their frames to that address's MAC.
 */
void ctl_neigh_mark_begin(struct ctl_neigh *n);
void ctl_neigh_mark_abort(struct ctl_neigh *n);
void ctl_neigh_sweep(struct ctl_neigh *n);

/** The uplink's identity, for answering ARP for the node IP. */
void ctl_neigh_set_uplink(struct ctl_neigh *n, uint16_t port,
			  const struct rte_ether_addr *mac, uint32_t ip);

/** An ARP frame punted by a worker (consumed). */
void ctl_neigh_input(struct ctl_neigh *n, struct rte_mbuf *m);

/** A packet waiting for @p slot (consumed: queued, sent or dropped). */
void ctl_neigh_hold(struct ctl_neigh *n, struct rte_mbuf *m, uint32_t slot);

/** Timers: requests, refreshes, expiry. Call every few milliseconds. */
void ctl_neigh_tick(struct ctl_neigh *n, uint64_t now_ms);

/**
 * /kdp/neighbors: an array of the slots from index @p start (the table's
 * order, which holds while no slot comes or goes), at most @p max of them
 * and @p bytes of their text (DPDK's answer is bounded; an empty page is
 * the end).
 */
void ctl_neigh_telemetry(const struct ctl_neigh *n, struct rte_tel_data *d,
			 unsigned long start, unsigned int max, size_t bytes);

#endif /* KDP_CONTROL_NEIGH_H */
