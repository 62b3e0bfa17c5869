/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "acl/acl.h"
#include "control/ctl_priv.h"
#include "dp/log.h"
#include "dp/stats.h"
#include "dp/vport.h"
#include "k8s/api_ds.h"
#include "k8s/decode.h"
#include "pipeline/pipeline.h"

#define PUNT_BURST 64
#define TICK_MS 10
#define CTL_SLEEP_US 1000

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double ctl_now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Control's frames leave through worker 0, which owns a tx queue. */
static void ctl_send(void *arg, struct rte_mbuf *m)
{
	struct ctl *c = arg;

	if (rte_ring_sp_enqueue(c->p.inject[0], m) != 0) {
		dp_stats[rte_lcore_id()].drop[DP_DROP_TX_FULL]++;
		rte_pktmbuf_free(m);
	}
}

static struct ctl_ds *open_ds(const struct ctl_config *cfg,
			      struct ctl_store *st, char *err, size_t errlen)
{
	struct ctl_ds *ds = NULL;

	switch (cfg->ds_type) {
	case CTL_DS_FILE:
		ds = k8s_file_ds_create(cfg->ds_path, st);
		if (ds == NULL)
			snprintf(err, errlen, "datastore.path: %s: %s",
				 cfg->ds_path, strerror(errno));
		break;
	case CTL_DS_KUBERNETES:
	{
		struct k8s_api_conf kc = {.kubeconfig = cfg->ds_kubeconfig};
		ds = k8s_api_ds_create(&kc, st);
		if (ds == NULL)
			snprintf(err, errlen, "datastore.kubeconfig: %s: %s",
				 cfg->ds_kubeconfig ? cfg->ds_kubeconfig :
						      "(in-cluster)",
				 strerror(errno));
		break;
	}
	}
	return ds;
}

struct ctl *ctl_create(const struct ctl_params *p, char *err, size_t errlen)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (c != NULL) {
		c->retire = calloc(CTL_RETIRE_MAX, sizeof(*c->retire));
		if (c->retire == NULL) {
			free(c);
			c = NULL;
		}
	}
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->p = *p;
	c->p.ports.pods = NULL;
	c->p.ports.n_pods = 0;
	c->created_mono = ctl_now_mono();
	pthread_mutex_init(&c->lock, NULL);
	ctl_pods_init(&c->pods, p->cfg, p->mp, p->n_workers);
	for (size_t i = 0; i < p->cfg->n_pod_ports; i++)
		if (ctl_pods_add_config(&c->pods, i, err, errlen) != 0) {
			ctl_free(c);
			return NULL;
		}
	c->neigh = ctl_neigh_create(p->mp, ctl_send, c, p->cfg->arp_timeout_s);
	c->store = ctl_store_create();
	c->pmtu = ctl_pmtu_create();
	if (c->neigh == NULL || c->store == NULL || c->pmtu == NULL)
		goto nomem;
	k8s_decode_register(c->store);
	acl_register(c->store);
	c->ds = open_ds(p->cfg, c->store, err, errlen);
	if (c->ds == NULL) {
		ctl_free(c);
		return NULL;
	}
	return c;
nomem:
	snprintf(err, errlen, "out of memory");
	ctl_free(c);
	return NULL;
}

/* Per-worker queue counts of the placed ports, to place new ones. */
static void worker_loads(const struct ctl *c, unsigned int *load)
{
	unsigned int nw = c->p.n_workers;
	struct ctl_pp *pp, *tmp;

	memset(load, 0, sizeof(*load) * nw);
	for (unsigned int i = 0; i < c->p.n_fixed; i++)
		for (uint16_t q = 0; q < c->p.fixed[i].nb_rxq; q++)
			load[(i + q) % nw]++;
	HASH_ITER(hh, c->pods.by_pod, pp, tmp)
		if (pp->base_worker != UINT16_MAX)
			for (uint16_t q = 0; q < pp->port.nb_rxq; q++)
				load[(pp->base_worker + q) % nw]++;
}

/* Place the ports that have no worker yet on the least loaded one. A placed
 * port never moves: moving a queue would let two workers poll it at once
 * during the switch. */
static void place_ports(struct ctl *c)
{
	unsigned int nw = c->p.n_workers, load[RTE_MAX_LCORE];
	struct ctl_pp *pp, *tmp;

	worker_loads(c, load);
	HASH_ITER(hh, c->pods.by_pod, pp, tmp) {
		if (pp->base_worker != UINT16_MAX)
			continue;
		unsigned int best = 0;
		for (unsigned int w = 1; w < nw; w++)
			if (load[w] < load[best])
				best = w;
		pp->base_worker = (uint16_t)best;
		for (uint16_t q = 0; q < pp->port.nb_rxq; q++)
			load[(best + q) % nw]++;
	}
}

/* Which part of an rx list @p port's queues go in (struct dp_rxlist). */
static int rxl_part(uint16_t port)
{
	if (!dp_port_is_native(port))
		return 0;
	return dp_vport_kind(port) == DP_VPORT_VHOST ? 1 : 2;
}

static void rxl_add(struct dp_rxlist *l, uint16_t port, uint16_t queue,
		    int part)
{
	if (rxl_part(port) != part)
		return;
	l->q[l->n].port = port;
	l->q[l->n].queue = queue;
	l->n++;
}

/* Build every worker's rx list from the fixed ports and the registry. */
static int build_rxlists(struct ctl *c, struct dp_rxlist **out)
{
	unsigned int nw = c->p.n_workers, load[RTE_MAX_LCORE];
	struct ctl_pp *pp, *tmp;

	place_ports(c);
	worker_loads(c, load);
	for (unsigned int w = 0; w < nw; w++) {
		out[w] = rte_zmalloc("kdp_rxlist", sizeof(*out[w]) +
				     sizeof(out[w]->q[0]) * (load[w] + 1),
				     RTE_CACHE_LINE_SIZE);
		if (out[w] == NULL) {
			while (w--)
				rte_free(out[w]);
			return -ENOMEM;
		}
	}
	/* Ethdevs, then native vhost-user ports, then native taps: workers
	 * poll the first two parts and read taps through dp/natpoll.h. */
	for (int part = 0; part < 3; part++) {
		for (unsigned int i = 0; i < c->p.n_fixed; i++)
			for (uint16_t q = 0; q < c->p.fixed[i].nb_rxq; q++)
				rxl_add(out[(i + q) % nw], c->p.fixed[i].id, q,
					part);
		HASH_ITER(hh, c->pods.by_pod, pp, tmp)
			for (uint16_t q = 0; q < pp->port.nb_rxq; q++)
				rxl_add(out[(pp->base_worker + q) % nw],
					pp->port.id, q, part);
		for (unsigned int w = 0; w < nw; w++) {
			if (part == 0)
				out[w]->n_eth = out[w]->n;
			else if (part == 1)
				out[w]->n_poll = out[w]->n;
		}
	}
	for (unsigned int w = 0; w < nw; w++)
		out[w]->seq = ++c->rxl_seq;
	return 0;
}

/* The registry as compile input; valid until the registry changes. */
static int registry_eps(struct ctl *c)
{
	size_t n = HASH_COUNT(c->pods.by_pod), i = 0;
	struct ctl_pod_ep *eps = calloc(n + 1, sizeof(*eps));
	struct ctl_pp *pp, *tmp;

	if (eps == NULL)
		return -ENOMEM;
	HASH_ITER(hh, c->pods.by_pod, pp, tmp) {
		eps[i].pod = pp->pod;
		eps[i].port = pp->port.id;
		eps[i].has_mac = pp->has_mac;
		eps[i].mac = pp->mac;
		i++;
	}
	free((void *)(uintptr_t)c->p.ports.pods);
	c->p.ports.pods = eps;
	c->p.ports.n_pods = n;
	return 0;
}

/* What the routes are computed from (control/routes.h). */
static const enum ctl_res route_kinds[] = {
	CTL_RES_NODE, CTL_RES_IPPOOL, CTL_RES_IPAMBLOCK, CTL_RES_POD,
};

static void route_gens(const struct ctl *c, uint64_t *g)
{
	for (size_t i = 0; i < RTE_DIM(route_kinds); i++)
		g[i] = ctl_store_kind_generation(c->store, route_kinds[i]);
}

struct route_check {
	const struct ctl_store *st;
	enum ctl_res res;
	const char *node;
};

static int route_change(void *arg, const char *ns, const char *name,
			const void *old)
{
	const struct route_check *rc = arg;

	return ctl_routes_change_matters(rc->res, old,
					 ctl_store_get(rc->st, rc->res, ns,
						       name),
					 rc->node);
}

/* Whether the published route set is still what ctl_routes_compute()
 * would return: the store's journal tells which nodes, pools, blocks and
 * Pods changed since, and none of the changes touches routes (a Node's
 * labels, a Pod on another node, ...). Updates rs_gen if so. */
static bool routes_current(struct ctl *c)
{
	uint64_t g[RTE_DIM(route_kinds)];

	if (!c->have_rs)
		return false;
	route_gens(c, g);
	for (size_t i = 0; i < RTE_DIM(route_kinds); i++) {
		struct route_check rc = {c->store, route_kinds[i],
					 c->p.cfg->node};

		if (g[i] != c->rs_gen[i] &&
		    ctl_store_changes(c->store, route_kinds[i], c->rs_gen[i],
				      route_change, &rc) != 0)
			return false;
	}
	memcpy(c->rs_gen, g, sizeof(g));
	return true;
}

/* Free what the oldest retired publish replaced, after its grace period. */
static void retire_oldest(struct ctl *c)
{
	struct ctl_retire *r = &c->retire[0];

	rte_rcu_qsbr_check(c->p.qs, r->token, true);
	ctl_tables_free(r->t);
	for (unsigned int w = 0; w < c->p.n_workers; w++)
		rte_free(r->rxl[w]);
	c->n_retire--;
	memmove(&c->retire[0], &c->retire[1], c->n_retire * sizeof(*r));
	if (c->n_retire == 0 && !c->publish_failed) {
		/* Only the current tables are left: whatever they do not use
		 * (closed pod ports, neighbor slots) can go. Not after a
		 * failed publish: the tables still published may route to a
		 * pod unlinked since, and poll its port; it closes after the
		 * next publish's grace period. */
		ctl_pods_reap(&c->pods);
		ctl_neigh_sweep(c->neigh);
	}
}

void ctl_retire_poll(struct ctl *c)
{
	while (c->n_retire &&
	       rte_rcu_qsbr_check(c->p.qs, c->retire[0].token, false) == 1)
		retire_oldest(c);
}

/* Attach the rte_acl forms of the published policy set once its background
 * build is done (acl/acl.h "Background rte_acl build"). Only the published
 * set matters: a replaced one is freed after its grace period, which
 * cancels its build. */
void ctl_acl_poll(struct ctl *c)
{
	struct pl_tables *t = pl_tables_cur;

	if (t != NULL && t->acl != NULL)
		acl_set_fast_poll(t->acl);
}

bool ctl_policy_ready(const struct ctl *c)
{
	const struct pl_tables *t = pl_tables_cur;
	struct acl_set_info info;

	(void)c;
	if (t == NULL || t->acl == NULL)
		return true;
	acl_set_get_info(t->acl, &info);
	return info.fast_state != ACL_FAST_BUILDING;
}

static int publish(struct ctl *c, uint64_t gen, uint64_t now, bool wait)
{
	const struct ctl_config *cfg = c->p.cfg;
	struct ctl_route_set rs = {0};
	struct dp_rxlist *rxl[RTE_MAX_LCORE];
	char err[256] = "";
	uint64_t t0 = rte_get_tsc_cycles();
	uint64_t rs_gen[RTE_DIM(route_kinds)];
	bool rs_kept;

	c->built_gen = gen;
	c->dirty_since_ms = 0;
	c->pmtu_dirty = false;
	route_gens(c, rs_gen);
	rs_kept = routes_current(c);
	if (rs_kept)
		rs = c->rs;
	if (registry_eps(c) != 0 ||
	    (!rs_kept && ctl_routes_compute(c->store, cfg->node, &rs) != 0)) {
		snprintf(c->last_error, sizeof(c->last_error),
			 "route computation failed");
		c->publish_failures++;
		c->publish_failed = true;
		return -1;
	}
	ctl_neigh_set_uplink(c->neigh, c->p.ports.uplink,
			     &c->p.ports.uplink_mac, rs.self_ip);
	ctl_neigh_mark_begin(c->neigh);
	struct ctl_compile_in in = {
		.cfg = cfg,
		.st = c->store,
		.rs = &rs,
		.ports = &c->p.ports,
		.neigh = c->neigh,
		.pmtu = c->pmtu,
		.gen = c->pub_gen + 1,
		.socket = (int)rte_socket_id(),
		.prev = pl_tables_cur,
	};
	struct pl_tables *t = ctl_tables_build(&in, err, sizeof(err));
	if (t == NULL || build_rxlists(c, rxl) != 0) {
		if (t != NULL)
			snprintf(err, sizeof(err), "out of memory for rx lists");
		/* The last good tables keep forwarding, and their neighbor
		 * slots stay theirs. */
		ctl_neigh_mark_abort(c->neigh);
		KDP_LOG(ERR, "compile failed, keeping generation %lu: %s",
			(unsigned long)c->pub_gen, err);
		snprintf(c->last_error, sizeof(c->last_error), "%s", err);
		c->publish_failures++;
		c->publish_failed = true;
		ctl_tables_free(t);
		if (!rs_kept)
			ctl_routes_free(&rs);
		return -1;
	}
	uint64_t t1 = rte_get_tsc_cycles();
	c->pub_gen++;
	c->publish_failed = false;
	if (c->n_retire == CTL_RETIRE_MAX)
		retire_oldest(c); /* workers are far behind: wait for one */
	struct ctl_retire *r = &c->retire[c->n_retire];
	r->t = pl_tables_cur;
	__atomic_store_n(&pl_tables_cur, t, __ATOMIC_RELEASE);
	for (unsigned int w = 0; w < c->p.n_workers; w++)
		r->rxl[w] = dp_worker_set_rxlist(&c->p.workers[w], rxl[w]);
	/* One grace period for both: after it no worker uses the old tables
	 * or polls a queue of the old lists, so dying ports can close. */
	r->token = rte_rcu_qsbr_start(c->p.qs);
	c->n_retire++;
	if (wait)
		while (c->n_retire)
			retire_oldest(c);
	else
		ctl_retire_poll(c);
	uint64_t t2 = rte_get_tsc_cycles();
	if (!rs_kept) {
		if (c->have_rs)
			ctl_routes_free(&c->rs);
		c->rs = rs;
		c->have_rs = true;
		memcpy(c->rs_gen, rs_gen, sizeof(rs_gen));
	}
	c->publishes++;
	c->last_publish_mono = ctl_now_mono();
	if (c->first_publish_mono == 0)
		c->first_publish_mono = c->last_publish_mono;
	double hz_ms = (double)rte_get_tsc_hz() / 1000.0;
	c->last_publish_ms = (double)(rte_get_tsc_cycles() - t0) / hz_ms;
	c->last_compile_ms = (double)(t1 - t0) / hz_ms;
	c->last_grace_ms = (double)(t2 - t1) / hz_ms;
	if (!c->published)
		KDP_LOG(NOTICE, "first tables published: %zu routes, %zu nodes",
			rs.n, rs.n_node_ips);
	else
		KDP_LOG(INFO, "tables generation %lu published (%zu routes) "
			"in %.2f ms", (unsigned long)c->pub_gen, rs.n,
			c->last_publish_ms);
	c->published = true;
	(void)now;
	return 0;
}

int ctl_publish_now(struct ctl *c)
{
	/* API callers answer after the change is complete, ports closed. */
	return publish(c, ctl_store_generation(c->store), ctl_now_ms(), true);
}

int ctl_start(struct ctl *c, char *err, size_t errlen)
{
	const struct ctl_config *cfg = c->p.cfg;
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((rc = ctl_pods_start_all(&c->pods)) != 0) {
		snprintf(err, errlen, "cannot start the pod ports");
		goto out;
	}
	if (cfg->api_socket[0]) {
		c->api = ctl_api_create(cfg->api_socket, ctl_api_handle, c,
					err, errlen);
		if (c->api == NULL && errno != EADDRINUSE) {
			rc = -errno;
			goto out;
		}
		/* Several kdp instances on one machine (tests, benchmarks)
		 * must not take each other's API: the second runs without. */
		if (c->api == NULL)
			KDP_LOG(WARNING, "api_socket %s; running without the "
				"pod-port API", err);
	}
	if (c->api)
		ctl_pods_restore(&c->pods);
	if (ctl_publish_now(c) != 0) {
		snprintf(err, errlen, "publish: %s", c->last_error);
		rc = -EIO;
		goto out;
	}
	c->started = true;
	if (c->api)
		KDP_LOG(NOTICE, "pod-port API on %s", cfg->api_socket);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static int cmp_ip(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A node of the published routes (their node IPs are sorted). */
static bool is_node_ip(const struct ctl *c, uint32_t ip)
{
	return c->have_rs && c->rs.n_node_ips &&
	       bsearch(&ip, c->rs.node_ips, c->rs.n_node_ips,
		       sizeof(uint32_t), cmp_ip) != NULL;
}

/* An ICMP "fragmentation needed" about one of our tunnel packets
 * (pipeline/burst.c pl_pmtu_punt()): control/pmtu.h. */
static void pmtu_input(struct ctl *c, struct rte_mbuf *m, uint64_t now)
{
	uint32_t node;
	uint16_t mtu;
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						    sizeof(struct rte_ether_hdr));
	size_t len = rte_pktmbuf_data_len(m) > sizeof(struct rte_ether_hdr) ?
		     rte_pktmbuf_data_len(m) - sizeof(struct rte_ether_hdr) : 0;

	/* The node test again: the tables may have changed since. */
	if (ctl_pmtu_parse(ip, len, c->rs.self_ip, &node, &mtu) != 0 ||
	    !is_node_ip(c, node)) {
		c->pmtu_rejected++; /* a bad checksum, no MTU, ... */
	} else if (ctl_pmtu_learn(c->pmtu, node, mtu, c->p.cfg->uplink_mtu,
				  now)) {
		uint16_t pm = ctl_pmtu_get(c->pmtu, node);

		c->pmtu_dirty = true;
		c->pmtu_learned++;
		KDP_LOG(NOTICE, "tunnel to %u.%u.%u.%u: path MTU %u (ICMP from "
			"%u.%u.%u.%u), pods' packets to it at most %u",
			node >> 24, (node >> 16) & 0xff, (node >> 8) & 0xff,
			node & 0xff, pm, ip[12], ip[13], ip[14], ip[15],
			pm - 20);
	}
	rte_pktmbuf_free(m);
}

static void drain_punts(struct ctl *c, uint64_t now)
{
	struct rte_mbuf *pkts[PUNT_BURST];

	for (unsigned int w = 0; w < c->p.n_workers; w++) {
		unsigned int n = rte_ring_sc_dequeue_burst(c->p.punt[w],
			(void **)pkts, PUNT_BURST, NULL);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t tag = pkts[i]->hash.usr;
			if ((tag >> 24) == PL_PUNT_HOLD)
				ctl_neigh_hold(c->neigh, pkts[i],
					       tag & 0xffffff);
			else if ((tag >> 24) == PL_PUNT_PMTU)
				pmtu_input(c, pkts[i], now);
			else
				ctl_neigh_input(c->neigh, pkts[i]);
		}
	}
}

void ctl_step(struct ctl *c)
{
	uint64_t now;

	pthread_mutex_lock(&c->lock);
	now = ctl_now_ms();
	if (c->ds->ops->poll(c->ds, 0) < 0 && c->last_error[0] == '\0')
		snprintf(c->last_error, sizeof(c->last_error),
			 "datastore poll failed");
	drain_punts(c, now);
	ctl_retire_poll(c);
	ctl_acl_poll(c);
	if (c->api)
		ctl_api_poll(c->api);
	if (now - c->last_tick_ms >= TICK_MS) {
		ctl_neigh_tick(c->neigh, now);
		if (ctl_pmtu_expire(c->pmtu, now))
			c->pmtu_dirty = true;
		c->last_tick_ms = now;
	}
	uint64_t gen = ctl_store_generation(c->store);
	if (gen != c->last_seen_gen) {
		c->last_seen_gen = gen;
		/* Tap pods' IPs, for their configuration after a restart. */
		if (c->pods.n_api)
			ctl_pods_learn(&c->pods, c->store);
		c->last_change_ms = now;
		c->last_change_mono = ctl_now_mono();
		if (c->dirty_since_ms == 0)
			c->dirty_since_ms = now;
	}
	bool synced = c->ds->ops->synced(c->ds);
	if (synced && c->first_sync_mono == 0)
		c->first_sync_mono = ctl_now_mono();
	if (synced && c->published && gen == c->built_gen && c->pmtu_dirty)
		publish(c, gen, now, false); /* not data from the API */
	else if (synced && (!c->published || gen != c->built_gen)) {
		uint64_t co = c->p.cfg->coalesce_ms;
		if (!c->published || now - c->last_change_ms >= co ||
		    now - c->dirty_since_ms >= 20 * co)
			publish(c, gen, now, false);
	}
	pthread_mutex_unlock(&c->lock);
	/* Outside the lock, so telemetry is served between iterations. */
	rte_delay_us_sleep(CTL_SLEEP_US);
}

bool ctl_published(const struct ctl *c)
{
	return c->published;
}

void ctl_free(struct ctl *c)
{
	if (c == NULL)
		return;
	/* The workers have stopped: nothing waits for a grace period now. */
	for (unsigned int i = 0; i < c->n_retire; i++) {
		ctl_tables_free(c->retire[i].t);
		for (unsigned int w = 0; w < c->p.n_workers; w++)
			rte_free(c->retire[i].rxl[w]);
	}
	free(c->retire);
	if (c->ds)
		c->ds->ops->destroy(c->ds);
	ctl_api_free(c->api);
	ctl_pods_fini(&c->pods);
	for (unsigned int w = 0; c->p.workers && w < c->p.n_workers; w++)
		rte_free(dp_worker_set_rxlist(&c->p.workers[w], NULL));
	free((void *)(uintptr_t)c->p.ports.pods);
	struct pl_tables *t = pl_tables_cur;
	__atomic_store_n(&pl_tables_cur, NULL, __ATOMIC_RELEASE);
	ctl_tables_free(t);
	/* Cancelled policy builders may still be inside rte_acl_build(),
	 * on EAL memory: let them end before EAL cleanup. */
	acl_fast_drain();
	if (c->have_rs)
		ctl_routes_free(&c->rs);
	ctl_neigh_free(c->neigh);
	ctl_pmtu_free(c->pmtu);
	ctl_store_free(c->store);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
