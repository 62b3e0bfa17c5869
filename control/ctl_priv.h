/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by control/ctl.c and control/telemetry.c. */
#ifndef KDP_CONTROL_CTL_PRIV_H
#define KDP_CONTROL_CTL_PRIV_H

#include <pthread.h>

#include "control/api.h"
#include "control/ctl.h"
#include "control/ds.h"
#include "control/neigh.h"
#include "control/pmtu.h"
#include "control/podport.h"
#include "control/routes.h"
#include "control/store.h"

struct ctl {
	struct ctl_params p;
	struct ctl_pods pods;       /**< the pod-port registry */
	struct ctl_api *api;        /**< NULL: no API */
	bool started;               /**< ctl_start() done */
	uint64_t rxl_seq;           /**< the last rx list's seq (dp/worker.h) */
	struct ctl_store *store;
	struct ctl_ds *ds;
	struct ctl_neigh *neigh;
	struct ctl_pmtu *pmtu;      /**< learned tunnel MTUs */
	bool pmtu_dirty;            /**< they changed since the publish */
	uint64_t pmtu_learned;      /**< ICMP messages that lowered one */
	uint64_t pmtu_rejected;     /**< punted ones pmtu_input() refused */
	pthread_mutex_t lock;       /**< control state vs telemetry */

	struct ctl_route_set rs;    /**< routes of the published tables */
	bool have_rs;
	/* Store kind generations rs was computed from (node, pool, block,
	 * pod): a change elsewhere reuses it (routes_current()). */
	uint64_t rs_gen[4];
	uint64_t built_gen;         /**< store generation last compiled */
	uint64_t pub_gen;           /**< publish counter */
	uint64_t dirty_since_ms;    /**< first unpublished change, 0 = none */
	uint64_t last_seen_gen;
	uint64_t last_change_ms;
	uint64_t last_tick_ms;
	uint64_t publishes;
	uint64_t publish_failures;
	double last_publish_ms;     /**< compile + publish duration */
	double last_compile_ms;     /**< of which building the tables */
	double last_grace_ms;       /**< of which retiring old tables */
	char last_error[256];
	bool published;
	/* The last publish failed: the published tables predate the pods
	 * unlinked since, which must not close yet (retire_oldest()). */
	bool publish_failed;
	/*
	 * Tables and rx lists replaced by a publish wait here for their RCU
	 * grace period, so that a publish never blocks on a worker that is
	 * off its CPU. Oldest first; bounded (see CTL_RETIRE_MAX).
	 */
	unsigned int n_retire;
	struct ctl_retire {
		struct pl_tables *t;
		struct dp_rxlist *rxl[RTE_MAX_LCORE];
		uint64_t token;
	} *retire;
	/* CLOCK_MONOTONIC seconds, comparable with other processes' clocks,
	 * so tests can time a change from the API server's write to here. */
	double created_mono;        /**< ctl_create */
	double first_sync_mono;     /**< datastore first synced, 0 = not yet */
	double first_publish_mono;  /**< first tables published, 0 = not yet */
	double last_change_mono;    /**< store generation last seen changing */
	double last_publish_mono;   /**< last tables published */
};

uint64_t ctl_now_ms(void);
double ctl_now_mono(void);

/**
 * Compile and publish tables and rx lists now (pod ports changed), then
 * close the ports that left. 0, or -1 with c->last_error.
 */
int ctl_publish_now(struct ctl *c);
/** Free retired tables whose grace period has ended (never blocks). */
void ctl_retire_poll(struct ctl *c);
/** Attach the published policy set's background rte_acl forms when they
 * are built (never blocks). */
void ctl_acl_poll(struct ctl *c);

/* Publishes whose old tables may wait for their grace period at once. */
#define CTL_RETIRE_MAX 16

/** The pod-port API request handler (control/ctl_api.c). */
cJSON *ctl_api_handle(void *arg, const cJSON *req);

#endif /* KDP_CONTROL_CTL_PRIV_H */
