/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Ports: probe any DPDK device from its devargs (PCI, net_af_xdp, net_pcap,
 * net_tap, net_vhost, net_virtio_user, …) and configure it for kdp's workers:
 * one rx queue per worker where the device has them (spread by RSS),
 * and one tx queue per worker, so that no tx queue is ever shared.
 *
 * Thread-safety: main or control thread. Ports are opened and started before
 * any worker polls them, and closed only after every worker stopped using
 * them (see dp/worker.h).
 */
#ifndef KDP_DP_PORT_H
#define KDP_DP_PORT_H

#include <stddef.h>
#include <stdint.h>

#include <rte_config.h>
#include <rte_ether.h>
#include <rte_mempool.h>

/**
 * Port ids: below RTE_MAX_ETHPORTS (32 in Debian's DPDK 22.11) a port is a
 * DPDK ethdev; from RTE_MAX_ETHPORTS up to KDP_MAX_PORTS - 1 it is one of
 * kdp's native ports (dp/vport.h: kernel taps kdp reads and writes itself,
 * vhost-user ports it drives through DPDK's vhost library).
 * Every table indexed by port id has KDP_MAX_PORTS entries.
 */
#define KDP_MAX_PORTS 256

struct dp_port {
	uint16_t id;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint16_t mtu;
	struct rte_ether_addr mac; /**< after any override */
	char name[64];
};

/**
 * Probe @p devargs (or find it when EAL probed it already) and configure it.
 * @p mac overrides the port's MAC when not NULL (kept in software when the
 * device cannot change it). @p mtu is set where the device allows.
 * @p nb_desc is the rx and tx ring size (0: DP_PORT_NB_RXD/TXD).
 * @return 0, or -errno with a message naming @p what in @p err.
 */
int dp_port_open(const char *what, const char *devargs, unsigned int workers,
		 struct rte_mempool *mp, uint16_t mtu, uint16_t nb_desc,
		 const struct rte_ether_addr *mac, struct dp_port *out,
		 char *err, size_t errlen);

/** Descriptors per queue, for sizing the mbuf pool. */
#define DP_PORT_NB_RXD 1024
#define DP_PORT_NB_TXD 1024

/** Start an ethdev (a native port runs from its creation). */
int dp_port_start(const struct dp_port *p);
/**
 * Stop and close, and detach the device; pcap tx files are completed. A
 * native port is closed through dp_vport_close().
 */
void dp_port_close(const struct dp_port *p);

#endif /* KDP_DP_PORT_H */
