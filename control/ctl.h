/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control thread: follows the datastore, compiles tables, publishes them
 * to the workers by pointer swap + RCU, resolves neighbors, serves telemetry.
 *
 * It publishes nothing until the datastore has synced once, so the ports are
 * never polled against empty tables. After that, changes are batched: a
 * publish happens once the store has been quiet for coalesce_ms (at most
 * 20 × coalesce_ms after the first change of a batch).
 *
 * Pod ports are dynamic (control/podport.h): the pod-port API socket
 * (control/api.h) is served from ctl_step(); a change is published at once,
 * tables and workers' rx lists together.
 *
 * Thread-safety: ctl_step() runs on the main lcore only. Telemetry handlers
 * run in DPDK's telemetry thread and take the control lock.
 */
#ifndef KDP_CONTROL_CTL_H
#define KDP_CONTROL_CTL_H

#include <stdbool.h>

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "control/compile.h"
#include "control/config.h"
#include "dp/port.h"
#include "dp/worker.h"

struct ctl;

struct ctl_params {
	const struct ctl_config *cfg;
	struct ctl_ports ports;   /**< uplink and host (pods: the registry) */
	const struct dp_port *fixed; /**< uplink and host: their rx queues */
	unsigned int n_fixed;
	struct dp_worker *workers;   /**< control publishes their rx lists */
	struct rte_mempool *mp;
	struct rte_rcu_qsbr *qs;
	unsigned int n_workers;
	struct rte_ring **punt;   /**< per worker: worker → control */
	struct rte_ring **inject; /**< per worker: control → worker */
};

/**
 * Create the control state, open the configuration's pod ports (not
 * started) and the datastore. NULL + message.
 */
struct ctl *ctl_create(const struct ctl_params *p, char *err, size_t errlen);

/**
 * After the first publish, before the workers run: start the pod ports,
 * re-create the API ports of the state file, publish the rx lists and open
 * the API socket. 0 or -errno + message.
 */
int ctl_start(struct ctl *c, char *err, size_t errlen);

/**
 * One control iteration: wait briefly for datastore input, drain the punt
 * rings, run neighbor timers, and compile + publish when due.
 */
void ctl_step(struct ctl *c);

/** True once the first tables were published. */
bool ctl_published(const struct ctl *c);

/** False while the published policy set's rte_acl forms are being built
 * (acl/acl.h "Background rte_acl build"). */
bool ctl_policy_ready(const struct ctl *c);

/** Free everything and close the pod ports; workers must have stopped.
 * NULL is a no-op. */
void ctl_free(struct ctl *c);

/** Register the /kdp/ telemetry commands (once, after EAL init). */
void ctl_telemetry_register(struct ctl *c);

#endif /* KDP_CONTROL_CTL_H */
