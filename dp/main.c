/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kdp: build/kdp [EAL options] -- --config FILE [--log-level LEVEL]
 *
 * Start-up order matters: configuration is validated before any device is
 * touched; ports are configured but started only after the first complete
 * datastore load has been compiled and published, so nothing is ever
 * forwarded on empty tables.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "acl/acl.h"
#include "control/config.h"
#include "control/ctl.h"
#include "control/podport.h"
#include "dp/log.h"
#include "dp/port.h"
#include "dp/vhpoll.h"
#include "dp/vport.h"
#include "dp/natpoll.h"
#include "dp/worker.h"

#define RING_SIZE 4096
/* Per pair of workers: a few bursts of one poll iteration's cross traffic. */
#define HANDOFF_RING_SIZE 1024
/*
 * Longest wait at start for the first policy set's rte_acl form (a few ms
 * for small policies, ~0.2 s per 1k rules). Bounded: after a restart the
 * pods' traffic waits for the ports, and the linear walk gives the same
 * verdicts meanwhile.
 */
#define START_POLICY_WAIT_MS 1000u

struct app {
	struct ctl_config *cfg;
	struct rte_mempool *mp;
	struct rte_rcu_qsbr *qs;
	unsigned int n_ports;       /**< uplink and host; pods: control */
	struct dp_port ports[2];
	struct dp_worker *workers;
	struct rte_ring *punt[RTE_MAX_LCORE];
	struct rte_ring *inject[RTE_MAX_LCORE];
	struct pl_handoff *ho;      /**< policy with several workers */
	struct ctl *ctl;
	bool started;
};

/* Who asked us to stop: an unexpected clean exit is otherwise a mystery. */
static volatile sig_atomic_t stop_sig, stop_pid;

static void on_signal(int sig, siginfo_t *si, void *u)
{
	(void)u;
	stop_sig = sig;
	stop_pid = si ? si->si_pid : 0;
	dp_quit = true;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- --config FILE [--log-level LEVEL]\n"
		"  --config FILE      kdp configuration (JSON), see README\n"
		"  --log-level LEVEL  emerg|alert|crit|err|warning|notice|info|debug\n",
		prog);
}

static int parse_level(const char *s)
{
	static const char *const names[] = {"emerg", "alert", "crit", "err",
					    "warning", "notice", "info", "debug"};
	for (int i = 0; i < 8; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i + 1;
	return -1;
}

static int parse_args(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt, lvl;

	*config = NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			*config = optarg;
			break;
		case 'l':
			lvl = parse_level(optarg);
			if (lvl < 0) {
				fprintf(stderr, "kdp: --log-level: unknown level \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			rte_log_set_level(kdp_logtype, (uint32_t)lvl);
			break;
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kdp: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (*config == NULL) {
		usage(argv[0]);
		return -EINVAL;
	}
	return 0;
}

static int open_port(struct app *a, const char *what, const char *devargs,
		     uint16_t mtu, const struct rte_ether_addr *mac,
		     uint16_t *id)
{
	char err[256];
	struct dp_port *p = &a->ports[a->n_ports];

	int rc = dp_port_open(what, devargs, a->cfg->workers, a->mp, mtu, 0,
			      mac, p, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kdp: %s\n", err);
		return rc;
	}
	for (unsigned int i = 0; i < a->n_ports; i++)
		if (a->ports[i].id == p->id) {
			fprintf(stderr, "kdp: %s: device %s is already used\n",
				what, p->name);
			return -EEXIST;
		}
	*id = p->id;
	a->n_ports++;
	return 0;
}

static int setup(struct app *a, char *err, size_t errlen)
{
	const struct ctl_config *cfg = a->cfg;
	unsigned int nw = cfg->workers;
	int rc;

	if (rte_lcore_count() < nw + 1) {
		snprintf(err, errlen, "workers: %u requested, but EAL has %u "
			 "worker lcore(s); give more with -l", nw,
			 rte_lcore_count() - 1);
		return -EINVAL;
	}
	unsigned int nports = 1 + (unsigned int)cfg->n_pod_ports +
			      (cfg->host_iface ? 1 : 0);
	/* Room for the rings of every port; API ports get their rx rings
	 * (their tx rings drain into pods and rarely hold much). Native
	 * ports have no rings, and only the ethdevs left can be API ports
	 * with rings ("tap_ports" or "vhost_ports" "pmd"). */
	unsigned int api_ports = cfg->api_socket[0] ? cfg->max_api_ports : 0;
	if (cfg->tap_native && cfg->vhost_native)
		api_ports = 0;
	else if (nports < RTE_MAX_ETHPORTS)
		api_ports = RTE_MIN(api_ports, RTE_MAX_ETHPORTS - nports);
	unsigned int need = nports * nw * (DP_PORT_NB_RXD + DP_PORT_NB_TXD) +
			    api_ports * nw * CTL_PP_NB_DESC +
			    nw * 2 * PL_TX_BURST + 2 * RING_SIZE + 4096 +
			    (nw > 1 ? nw * HANDOFF_RING_SIZE : 0);
	unsigned int n_mbufs = RTE_MAX(cfg->mbufs, need);
	a->mp = rte_pktmbuf_pool_create("kdp_mbufs", n_mbufs, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE,
					(int)rte_socket_id());
	if (a->mp == NULL) {
		snprintf(err, errlen, "mbufs: cannot create a pool of %u: %s",
			 n_mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	size_t qsz = rte_rcu_qsbr_get_memsize(nw);
	a->qs = rte_zmalloc("kdp_rcu", qsz, RTE_CACHE_LINE_SIZE);
	if (a->qs == NULL || rte_rcu_qsbr_init(a->qs, nw) != 0) {
		snprintf(err, errlen, "cannot create the RCU state");
		return -ENOMEM;
	}
	dp_vport_set_qsbr(a->qs);
	a->workers = rte_zmalloc("kdp_workers", sizeof(*a->workers) * nw,
				 RTE_CACHE_LINE_SIZE);
	if (a->workers == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nw; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kdp_punt%u", i);
		a->punt[i] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY,
					     RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "kdp_inject%u", i);
		a->inject[i] = rte_ring_create(name, RING_SIZE, SOCKET_ID_ANY,
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (a->punt[i] == NULL || a->inject[i] == NULL) {
			snprintf(err, errlen, "cannot create rings: %s",
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}

	struct ctl_params p = {
		.cfg = cfg,
		.mp = a->mp,
		.qs = a->qs,
		.n_workers = nw,
		.punt = a->punt,
		.inject = a->inject,
	};
	p.ports.host = UINT16_MAX;
	rc = open_port(a, "uplink", cfg->uplink_devargs, cfg->uplink_mtu,
		       cfg->uplink_has_mac ? &cfg->uplink_mac : NULL,
		       &p.ports.uplink);
	if (rc)
		return rc;
	p.ports.uplink_mac = a->ports[a->n_ports - 1].mac;
	/* Pods see the uplink MTU less the IPIP header. */
	uint16_t pod_mtu = cfg->uplink_mtu - 20;
	if (cfg->host_iface) {
		char devargs[64];
		snprintf(devargs, sizeof(devargs), "net_tap_kdphost,iface=%s",
			 cfg->host_iface);
		rc = open_port(a, "host", devargs, pod_mtu, NULL,
			       &p.ports.host);
		if (rc)
			return rc;
		p.ports.host_mac = a->ports[a->n_ports - 1].mac;
	}

	/* Policy with several workers: each flow's conntrack entry lives
	 * with its owner worker, the others hand its packets over. */
	if (cfg->policy_enabled && nw > 1 &&
	    !(a->ho = pl_handoff_create(nw, HANDOFF_RING_SIZE))) {
		snprintf(err, errlen, "cannot create handoff rings: %s",
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nw; i++) {
		struct dp_worker *w = &a->workers[i];
		w->idx = i;
		w->idle_sleep_us = cfg->idle_sleep_us;
		w->record_cycles = cfg->record_cycles != 0;
		w->punt = a->punt[i];
		w->inject = i == 0 ? a->inject[0] : NULL;
		w->qs = a->qs;
		w->nat = rte_zmalloc("kdp_natpoll", sizeof(*w->nat),
				     RTE_CACHE_LINE_SIZE);
		int rc = w->nat ? dp_natpoll_init(w->nat) : -ENOMEM;
		if (rc != 0) {
			snprintf(err, errlen, "worker %u: cannot open its epoll "
				 "set for native ports: %s", i, strerror(-rc));
			return rc;
		}
		w->vh = rte_zmalloc("kdp_vhpoll", sizeof(*w->vh),
				    RTE_CACHE_LINE_SIZE);
		if (w->vh == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		dp_vhpoll_init(w->vh, rte_get_tsc_hz());
	}
	p.fixed = a->ports;
	p.n_fixed = a->n_ports;
	p.workers = a->workers;
	/* Control owns the pod ports (configured and API), and every
	 * worker's rx-queue list. */
	a->ctl = ctl_create(&p, err, errlen);
	if (a->ctl == NULL)
		return -EINVAL;
	ctl_telemetry_register(a->ctl);
	return 0;
}

static int start(struct app *a)
{
	unsigned int lcore, i = 0;
	char err[512];

	for (unsigned int p = 0; p < a->n_ports; p++)
		if (dp_port_start(&a->ports[p]) != 0)
			return -EIO;
	if (ctl_start(a->ctl, err, sizeof(err)) != 0) {
		fprintf(stderr, "kdp: %s\n", err);
		return -EIO;
	}
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (i == a->cfg->workers)
			break;
		struct dp_worker *w = &a->workers[i];
		w->lcore = lcore;
		pl_ctx_init(&w->ctx, &dp_stats[lcore], a->mp, w->punt,
			    (uint16_t)i);
		if (a->cfg->policy_enabled) {
			const struct ctl_config *cfg = a->cfg;
			struct acl_ct_conf cc = {
				.max_flows = cfg->ct_max_flows,
				.tcp_established_s = cfg->ct_tcp_established_s,
				.tcp_transitory_s = cfg->ct_tcp_transitory_s,
				.tcp_close_s = cfg->ct_tcp_close_s,
				.udp_s = cfg->ct_udp_s,
				.icmp_s = cfg->ct_icmp_s,
			};
			w->ctx.acl = acl_worker_create(&cc, i);
			if (a->ho)
				pl_ctx_set_handoff(&w->ctx, a->ho, (uint16_t)i);
			if (w->ctx.acl == NULL) {
				KDP_LOG(ERR, "conntrack.max_flows: cannot "
					"allocate %u flows for worker %u: %s",
					cc.max_flows, i, strerror(errno));
				return -ENOMEM;
			}
		}
		KDP_LOG(INFO, "worker %u on lcore %u polls %u queue(s)", w->idx,
			w->lcore, w->rxl ? w->rxl->n : 0);
		if (rte_eal_remote_launch(dp_worker_main, w, lcore) != 0)
			return -EIO;
		i++;
	}
	a->started = true;
	KDP_LOG(NOTICE, "ports started, %u worker(s) running, pipeline %s",
		i, i > 0 ? pl_ctx_isa(&a->workers[0].ctx) : "-");
	return 0;
}

static void teardown(struct app *a)
{
	dp_quit = true;
	rte_eal_mp_wait_lcore();
	for (unsigned int p = 0; p < a->n_ports; p++)
		dp_port_close(&a->ports[p]);
	for (unsigned int i = 0; a->cfg && i < a->cfg->workers; i++) {
		struct rte_mbuf *m;
		while (a->punt[i] && rte_ring_dequeue(a->punt[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (a->inject[i] &&
		       rte_ring_dequeue(a->inject[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	pl_handoff_free(a->ho);
	ctl_free(a->ctl);
	for (unsigned int i = 0; a->workers && i < a->cfg->workers; i++) {
		acl_worker_free(a->workers[i].ctx.acl);
		if (a->workers[i].nat)
			dp_natpoll_fini(a->workers[i].nat);
		rte_free(a->workers[i].nat);
		rte_free(a->workers[i].vh);
	}
	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++) {
		rte_ring_free(a->punt[i]);
		rte_ring_free(a->inject[i]);
	}
	rte_free(a->workers);
	dp_vport_set_qsbr(NULL); /* every vhost-user port closed */
	rte_free(a->qs);
	rte_mempool_free(a->mp);
	ctl_config_free(a->cfg);
}

int main(int argc, char **argv)
{
	struct app a = {0};
	const char *config;
	char err[512];
	int rc;

	struct sigaction sa = {.sa_sigaction = on_signal,
			       .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "kdp: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	argv[0] = (char *)"kdp";
	if (parse_args(argc, argv, &config) != 0) {
		rte_eal_cleanup();
		return 2;
	}
	a.cfg = ctl_config_load(config, err, sizeof(err));
	if (a.cfg == NULL) {
		fprintf(stderr, "kdp: config %s: %s\n", config, err);
		rte_eal_cleanup();
		return 2;
	}
	err[0] = '\0';
	rc = setup(&a, err, sizeof(err));
	if (rc != 0) {
		if (err[0])
			fprintf(stderr, "kdp: %s\n", err);
		teardown(&a);
		rte_eal_cleanup();
		return 1;
	}
	KDP_LOG(NOTICE, "node %s: waiting for the first datastore sync",
		a.cfg->node);
	uint64_t pub_at = 0;

	while (!dp_quit) {
		ctl_step(a.ctl);
		if (a.started || !ctl_published(a.ctl))
			continue;
		/*
		 * Ports start once the first policy set has its rte_acl form
		 * (or after START_POLICY_WAIT_MS): no traffic waits for it yet,
		 * and the first flows are then classified as configured. Later
		 * rebuilds happen in the background while traffic runs.
		 */
		if (pub_at == 0)
			pub_at = rte_get_tsc_cycles();
		if (!ctl_policy_ready(a.ctl) &&
		    rte_get_tsc_cycles() - pub_at <
			    rte_get_tsc_hz() / 1000 * START_POLICY_WAIT_MS)
			continue;
		if (!ctl_policy_ready(a.ctl))
			KDP_LOG(WARNING, "starting before the policy's rte_acl "
				"form is built (still building after %u ms)",
				START_POLICY_WAIT_MS);
		if (start(&a) != 0) {
			fprintf(stderr, "kdp: cannot start ports/workers\n");
			rc = 1;
			break;
		}
	}
	if (stop_sig)
		KDP_LOG(NOTICE, "stopping on signal %d from pid %d",
			(int)stop_sig, (int)stop_pid);
	else
		KDP_LOG(NOTICE, "stopping");
	teardown(&a);
	rte_eal_cleanup();
	return rc;
}
