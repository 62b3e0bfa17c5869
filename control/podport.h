/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The pod-port registry: which local pod is behind which DPDK port.
 *
 * The control thread owns it. The configuration's pod_ports[] are its first
 * members (opened at start, never removed); the pod-port API (PODAPI.md)
 * adds and removes members at run time by hot-plugging devices:
 *  - tap: the tap PMD (or virtio-user over /dev/vhost-net where that exists)
 *    creates a kernel interface, which is moved into the pod's netns with
 *    its final name, a MAC kdp chooses (so the pod MAC is known: static
 *    neighbor and source-MAC enforcement) and the pod MTU; with
 *    "tap_ports": "native" kdp creates the tap itself (dp/vport.h), a port
 *    that is no ethdev, and moves it the same way;
 *  - vhost-user: net_vhost serves <vhost_dir>/<container_id>.sock; the pod
 *    (virtio-user) is told the MAC kdp chose;
 *  - vhost-user-client: the roles swapped: the pod (virtio-user, server=1)
 *    serves <vhost_dir>/<container_id>.sock and kdp's net_vhost connects to
 *    it (client=1), retrying every second until it is there. Only this mode
 *    survives a kdp restart: DPDK's virtio-user client never reconnects to
 *    a restarted server, while kdp as the client reconnects by itself.
 *
 * Lifecycle of a member: ctl_pods_open() probes, configures and starts the
 * device and inserts the member; the control loop then publishes tables and
 * rx lists that include it. ctl_pods_unlink() takes a member out of the
 * registry into the dying list; once tables and rx lists without it are
 * published and a grace period has passed, ctl_pods_reap() stops, closes and
 * detaches the device. No worker can touch a closed port.
 *
 * API members are written to <state_dir>/ports.json after every change
 * (write to a temporary file, fsync, rename) and re-created from it at the
 * next start with the same pod MAC, interface name and socket path.
 *
 * A tap's addresses and routes die with the interface, so kdp also writes
 * the pod's network configuration (control/netlink.h ctl_pod_net_setup:
 * IP/32, routes via 169.254.1.1) whenever it knows the pod's IP: from
 * port_add's "ip" (kdp-cni passes it) or, failing that, learned from the
 * Pod object in the datastore (ctl_pods_learn). The IP is kept in the state
 * file, so a restarted kdp configures the re-created tap at once, before the
 * datastore has synced, and established connections in the pod survive.
 *
 * Thread-safety: control thread only (telemetry reads under the ctl lock).
 */
#ifndef KDP_CONTROL_PODPORT_H
#define KDP_CONTROL_PODPORT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <rte_ether.h>
#include <rte_mempool.h>
#include <uthash.h>

#include "control/config.h"
#include "dp/port.h"

enum ctl_pp_kind {
	CTL_PP_CONFIG,  /**< pod_ports[] of the configuration */
	CTL_PP_TAP,
	CTL_PP_VHOST,
	CTL_PP_VHOST_CLIENT, /**< kdp connects to the pod's socket */
};

/** Ring size of API ports: smaller than the uplink's, there may be many. */
#define CTL_PP_NB_DESC 256

struct ctl_pp {
	char pod[CTL_POD_KEY_SIZE];  /**< "namespace/name", the key */
	enum ctl_pp_kind kind;
	struct dp_port port;
	/** rx queue q goes to worker (base + q) % workers; chosen once, when
	 * the rx lists first include the port (UINT16_MAX until then), so a
	 * queue never moves between workers. */
	uint16_t base_worker;
	bool has_mac;                /**< pod MAC known: static, enforced */
	struct rte_ether_addr mac;
	char ifname[IF_NAMESIZE];    /**< tap: name in the pod */
	char netns[256];             /**< tap: the pod's netns file */
	uint32_t ip;                 /**< tap: pod IPv4, host order; 0 unknown */
	bool net_pending;            /**< tap: re-created, not yet configured */
	/** The sandbox the port was added for (port_add's container_id):
	 * port_add and port_del of another sandbox of the pod leave the port
	 * alone or replace it. "" unknown (a tap of an older client or state
	 * file), which any sandbox matches. */
	char container_id[128];
	char socket[108];            /**< vhost-user: socket path */
	UT_hash_handle hh;
	struct ctl_pp *next_dying;
};

struct ctl_pods {
	const struct ctl_config *cfg;
	struct rte_mempool *mp;
	unsigned int n_workers;
	struct ctl_pp *by_pod;       /**< uthash; iteration in insertion order */
	struct ctl_pp *dying;        /**< unlinked, not yet closed */
	unsigned int n_api;          /**< API members (tap + vhost-user) */
	unsigned int next_id;        /**< for device and temporary names */
	bool save_failed;            /**< last state write failed */
};

/** What the API asks for (PODAPI.md port_add). */
struct ctl_pp_req {
	const char *pod;
	const char *kind;  /**< "tap", "vhost-user" or "vhost-user-client" */
	const char *ifname;
	const char *netns;
	const char *container_id;
	const char *ip;              /**< tap: "a.b.c.d" or "a.b.c.d/32" */
	const struct rte_ether_addr *mac; /**< restore: keep this MAC */
	bool restore;                /**< from the state file */
	/** The pod's port is being replaced (another sandbox): its place
	 * counts as free against max_api_ports. */
	bool replaces;
	/** The first of the keys above given with a value that is no
	 * string; ctl_pods_check() refuses the request. */
	const char *not_string;
};

/** Fill @p q from a request or state-file object (strings point into @p o). */
void ctl_pp_req_from_json(const cJSON *o, struct ctl_pp_req *q);

void ctl_pods_init(struct ctl_pods *r, const struct ctl_config *cfg,
		   struct rte_mempool *mp, unsigned int n_workers);

/** Open configuration port @p i (not started). 0 or -errno + message. */
int ctl_pods_add_config(struct ctl_pods *r, size_t i, char *err,
			size_t errlen);

/** Start every member (the configuration's, before workers run). */
int ctl_pods_start_all(struct ctl_pods *r);

/** Check a request before anything is touched. 0 or -EINVAL + message. */
int ctl_pods_check(const struct ctl_pods *r, const struct ctl_pp_req *q,
		   char *err, size_t errlen);

/**
 * Create, start and insert an API member (ctl_pods_check() first).
 * On failure nothing is left behind. @return 0 or -errno with a message.
 */
int ctl_pods_open(struct ctl_pods *r, const struct ctl_pp_req *q,
		  struct ctl_pp **out, char *err, size_t errlen);

/**
 * Check a container id (port_add, port_del): 1-127 of [A-Za-z0-9_.-], no
 * leading dot (it names a vhost socket). 0 or -EINVAL + message.
 */
int ctl_pp_check_cid(const char *cid, char *err, size_t errlen);

/**
 * Whether a request of sandbox @p cid is about @p pp: @p cid is the one
 * recorded, or either is unknown (NULL: a client that sends none; "": a
 * tap of an older state file). A runtime sends DEL for a pod's old
 * sandbox after its new one was added (CNI: an attachment is
 * CNI_CONTAINERID and CNI_IFNAME, not the pod).
 */
bool ctl_pp_cid_match(const struct ctl_pp *pp, const char *cid);

struct ctl_pp *ctl_pods_find(const struct ctl_pods *r, const char *pod);
struct ctl_pp *ctl_pods_find_port(const struct ctl_pods *r, uint16_t port);

/** Take @p pp out of the registry; it is closed by ctl_pods_reap(). */
void ctl_pods_unlink(struct ctl_pods *r, struct ctl_pp *pp);

/**
 * Undo the last ctl_pods_unlink(), of @p pp, when no publish succeeded
 * since (the tables in force still have it): a port_add that was to
 * replace it failed.
 */
void ctl_pods_relink(struct ctl_pods *r, struct ctl_pp *pp);

/**
 * Take @p pp out of the registry and close it at once: only for a member
 * no tables or rx lists were ever published with (its publish failed).
 * Members unlinked before stay dying: tables still published may use them.
 */
void ctl_pods_discard(struct ctl_pods *r, struct ctl_pp *pp);

/**
 * Close the dying members. Only after tables and rx lists without them were
 * published and a grace period has passed.
 */
void ctl_pods_reap(struct ctl_pods *r);

/** Close everything (workers stopped). */
void ctl_pods_fini(struct ctl_pods *r);

/**
 * Record the IPs of tap members that have none yet from their Pod objects
 * in @p st, configure the pod side of those re-created without one, and
 * save the state when something was learned.
 */
struct ctl_store;
void ctl_pods_learn(struct ctl_pods *r, const struct ctl_store *st);

/** The member as a PODAPI.md JSON object (port_add answer, port_list). */
cJSON *ctl_pp_json(const struct ctl_pods *r, const struct ctl_pp *pp);
const char *ctl_pp_kind_name(enum ctl_pp_kind k);

/** Write the API members to <state_dir>/ports.json. 0 or -errno. */
int ctl_pods_save(struct ctl_pods *r);

/**
 * Re-create the API members of the state file; members that cannot be
 * re-created are logged and dropped (and the file rewritten).
 * @return the number re-created.
 */
int ctl_pods_restore(struct ctl_pods *r);

/** The pods' MTU: the uplink's less the IPIP header. */
static inline uint16_t ctl_pods_mtu(const struct ctl_pods *r)
{
	return (uint16_t)(r->cfg->uplink_mtu - 20);
}

#endif /* KDP_CONTROL_PODPORT_H */
