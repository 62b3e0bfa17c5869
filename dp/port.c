/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "dp/log.h"
#include "dp/port.h"
#include "dp/vport.h"

int dp_port_open(const char *what, const char *devargs, unsigned int workers,
		 struct rte_mempool *mp, uint16_t mtu, uint16_t nb_desc,
		 const struct rte_ether_addr *mac, struct dp_port *out,
		 char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	const char *comma = strchr(devargs, ',');
	size_t nl = comma ? (size_t)(comma - devargs) : strlen(devargs);
	uint16_t pid;
	int rc;

	memset(out, 0, sizeof(*out));
	if (nl == 0 || nl >= sizeof(name)) {
		snprintf(err, errlen, "%s.devargs: no device name in \"%s\"",
			 what, devargs);
		return -EINVAL;
	}
	memcpy(name, devargs, nl);
	name[nl] = '\0';
	if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		/* ethdev's own failure says "Cannot allocate memory". */
		if (rte_eth_dev_count_total() >= RTE_MAX_ETHPORTS) {
			snprintf(err, errlen, "%s.devargs: cannot probe \"%s\": "
				 "all %d ports of this DPDK build "
				 "(RTE_MAX_ETHPORTS) are in use", what, devargs,
				 RTE_MAX_ETHPORTS);
			return -ENOSPC;
		}
		rc = rte_dev_probe(devargs);
		if (rc < 0 && rc != -EEXIST) {
			snprintf(err, errlen, "%s.devargs: cannot probe \"%s\": %s",
				 what, devargs, strerror(-rc));
			return rc;
		}
		if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
			snprintf(err, errlen, "%s.devargs: \"%s\" probed but no "
				 "ethdev named \"%s\" appeared", what, devargs,
				 name);
			return -ENODEV;
		}
	}

	struct rte_eth_dev_info info;
	if ((rc = rte_eth_dev_info_get(pid, &info)) != 0) {
		snprintf(err, errlen, "%s: dev_info: %s", what, strerror(-rc));
		return rc;
	}
	if (info.max_tx_queues < workers) {
		snprintf(err, errlen, "%s: device %s has %u tx queues, "
			 "workers=%u needs one each", what, name,
			 info.max_tx_queues, workers);
		return -EINVAL;
	}
	uint16_t nb_rxq = (uint16_t)RTE_MIN(workers, (unsigned)info.max_rx_queues);
	uint16_t nb_txq = (uint16_t)workers;
	struct rte_eth_conf conf = {0};
	if (nb_rxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			info.flow_type_rss_offloads & RTE_ETH_RSS_IP;
		if (conf.rx_adv_conf.rss_conf.rss_hf == 0) {
			/* No RSS: one queue, the workers share ports instead. */
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
			nb_rxq = 1;
		}
	}
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if ((rc = rte_eth_dev_configure(pid, nb_rxq, nb_txq, &conf)) != 0) {
		snprintf(err, errlen, "%s: configure %s: %s", what, name,
			 strerror(-rc));
		return rc;
	}
	uint16_t nb_rxd = nb_desc ? nb_desc : DP_PORT_NB_RXD;
	uint16_t nb_txd = nb_desc ? nb_desc : DP_PORT_NB_TXD;
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd);
	int socket = rte_eth_dev_socket_id(pid);
	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; q < nb_rxq; q++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;
		rxc.offloads = conf.rxmode.offloads;
		rc = rte_eth_rx_queue_setup(pid, q, nb_rxd, socket, &rxc, mp);
		if (rc != 0) {
			snprintf(err, errlen, "%s: rx queue %u: %s", what, q,
				 strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < nb_txq; q++) {
		struct rte_eth_txconf txc = info.default_txconf;
		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(pid, q, nb_txd, socket, &txc);
		if (rc != 0) {
			snprintf(err, errlen, "%s: tx queue %u: %s", what, q,
				 strerror(-rc));
			return rc;
		}
	}
	if (mtu && (rc = rte_eth_dev_set_mtu(pid, mtu)) != 0 && rc != -ENOTSUP)
		KDP_LOG(WARNING, "%s: cannot set MTU %u: %s", what, mtu,
			strerror(-rc));
	if (mac) {
		rc = rte_eth_dev_default_mac_addr_set(pid,
				(struct rte_ether_addr *)(uintptr_t)mac);
		if (rc != 0)
			KDP_LOG(INFO, "%s: device keeps its MAC (%s); kdp "
				"sends with the configured one", what,
				strerror(-rc));
		out->mac = *mac;
	} else {
		rte_eth_macaddr_get(pid, &out->mac);
	}
	/* We rewrite L2 ourselves and answer ARP for several addresses; a
	 * device may also keep its own MAC while kdp uses the configured
	 * one. The workers drop what the uplink receives for other hosts'
	 * MACs, as Linux drops PACKET_OTHERHOST (pipeline/parse_fast.h
	 * pl_uplink_l2()). */
	rte_eth_promiscuous_enable(pid);
	out->id = pid;
	out->nb_rxq = nb_rxq;
	out->nb_txq = nb_txq;
	out->mtu = mtu;
	snprintf(out->name, sizeof(out->name), "%s", name);
	return 0;
}

int dp_port_start(const struct dp_port *p)
{
	if (dp_port_is_native(p->id))
		return 0;
	int rc = rte_eth_dev_start(p->id);
	if (rc != 0)
		KDP_LOG(ERR, "port %s: start: %s", p->name, strerror(-rc));
	return rc;
}

void dp_port_close(const struct dp_port *p)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (dp_port_is_native(p->id)) {
		dp_vport_close(p->id);
		return;
	}
	if (rte_eth_dev_info_get(p->id, &info) == 0)
		dev = info.device;
	rte_eth_dev_stop(p->id);
	rte_eth_dev_close(p->id);
	if (dev)
		rte_dev_remove(dev);
}
