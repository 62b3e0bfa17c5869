/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * kdp's configuration file (JSON), validated once at start.
 *
 * Any unknown key or invalid value fails the load with a message that names
 * the key path ("uplink.mac: ..."). After a successful load the rest of kdp
 * trusts the values.
 *
 * Thread-safety: loaded by the main thread before anything else runs; read
 * only afterwards.
 */
#ifndef KDP_CONTROL_CONFIG_H
#define KDP_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

enum ctl_ds_type {
	CTL_DS_FILE,
	CTL_DS_KUBERNETES,
};

struct ctl_static_neigh {
	uint32_t ip; /**< host order */
	struct rte_ether_addr mac;
};

/*
 * A pod's key, "namespace/name", as long as Kubernetes allows: a namespace
 * is a DNS-1123 label (63 characters at most), a pod name a DNS-1123
 * subdomain (253). Generated names (a StatefulSet's or a DaemonSet's pods
 * in a long namespace) often pass 63 characters in all.
 */
#define CTL_NS_MAX 63
#define CTL_POD_NAME_MAX 253
/** Room for the longest key and its NUL. */
#define CTL_POD_KEY_SIZE (CTL_NS_MAX + 1 + CTL_POD_NAME_MAX + 1)

struct ctl_pod_port_conf {
	char *pod;      /**< "namespace/name" (ctl_pod_key_ok()) */
	char *devargs;  /**< a DPDK device, or NULL for ... */
	char *vhost_socket; /**< ... kdp's native vhost-user port on it */
	bool vhost_client;  /**< connect to the pod's socket, not serve it */
	bool has_mac;
	struct rte_ether_addr mac;
};

struct ctl_config {
	char *node;
	enum ctl_ds_type ds_type;
	char *ds_path;        /**< file: directory */
	char *ds_kubeconfig;  /**< kubernetes: kubeconfig, NULL = in-cluster */

	char *uplink_devargs;
	bool uplink_has_mac;
	struct rte_ether_addr uplink_mac;
	uint32_t gateway;     /**< host order; 0 = none */
	uint16_t uplink_mtu;  /**< default 1500 */
	size_t n_neighbors;
	struct ctl_static_neigh *neighbors;

	size_t n_pod_ports;
	struct ctl_pod_port_conf *pod_ports;

	char *host_iface;     /**< host exception tap name, NULL = none */
	/** natOutgoing pods' traffic leaving the pools goes to the host,
	 * which masquerades it (README "Host traffic"). */
	bool host_nat_outgoing;
	/** host.service_cidrs: Kubernetes Service ranges, sent to the host
	 * (README "Services"); host order, host bits clear. */
	size_t n_service_cidrs;
	struct ctl_config_cidr {
		uint32_t net;
		uint8_t plen;
	} *service_cidrs;

	unsigned int workers;        /**< default 1 */
	unsigned int idle_sleep_us;  /**< 0 = busy poll; default 100 */
	/** 1 = count TSC cycles of the poll iterations that received
	 * packets (/kdp/stats busy_cycles; benchmarks); default 0 */
	unsigned int record_cycles;
	unsigned int mbufs;          /**< mbuf pool size; default 16383 */
	unsigned int arp_timeout_s;  /**< resolved entry refresh; default 60 */
	unsigned int coalesce_ms;    /**< publish batching delay; default 5 */
	char *telemetry_name; /**< optional label shown by /kdp/config */

	/* The pod-port API (PODAPI.md). */
	char *api_socket;     /**< default /run/kdp/kdp.sock; "" = no API */
	char *vhost_dir;      /**< vhost-user sockets; default /run/kdp/vhost */
	char *state_dir;      /**< API ports survive restarts; default /var/lib/kdp */
	unsigned int max_api_ports; /**< default 32 (sizes the mbuf pool) */
	/** API tap ports are kdp's native taps (dp/vport.h), not DPDK's
	 * net_tap or virtio-user ethdevs ("tap_ports": "native"|"pmd");
	 * default true */
	bool tap_native;
	/** API vhost-user ports are kdp's native ones (dp/vport.h), not
	 * net_vhost ethdevs ("vhost_ports": "native"|"pmd"); default true */
	bool vhost_native;

	/* Network policy ("policy": {"enabled"}) and its conntrack
	 * ("conntrack": {...}); see acl/acl.h. */
	bool policy_enabled;         /**< default true */
	/** New flows classified by rte_acl, built in the background, instead
	 * of the linear walk ("policy": {"classifier": "rte_acl"|"linear"});
	 * default true, see acl/acl.h. */
	bool policy_rte_acl;
	unsigned int ct_max_flows;   /**< default 1048576 */
	unsigned int ct_tcp_established_s; /**< default 3600 */
	unsigned int ct_tcp_transitory_s;  /**< default 120 */
	unsigned int ct_tcp_close_s;       /**< default 10 */
	unsigned int ct_udp_s;       /**< default 60 */
	unsigned int ct_icmp_s;      /**< default 30 */
};

/**
 * Load and validate @p path.
 * @return the config, or NULL with a message naming the key in @p err.
 */
struct ctl_config *ctl_config_load(const char *path, char *err, size_t errlen);

/** Same, from a JSON string (for tests). */
struct ctl_config *ctl_config_parse(const char *json, char *err, size_t errlen);

void ctl_config_free(struct ctl_config *cfg);

/** Is @p pod "namespace/name": one '/', neither part empty or longer than
 * CTL_NS_MAX / CTL_POD_NAME_MAX? (Characters are not checked: a key that
 * names no Pod only never matches one.) */
bool ctl_pod_key_ok(const char *pod);

/** Parse "aa:bb:cc:dd:ee:ff". 0 or -EINVAL. */
int ctl_parse_mac(const char *s, struct rte_ether_addr *mac);
/** Parse a dotted IPv4 address into host order. 0 or -EINVAL. */
int ctl_parse_ipv4(const char *s, uint32_t *ip);

#endif /* KDP_CONTROL_CONFIG_H */
