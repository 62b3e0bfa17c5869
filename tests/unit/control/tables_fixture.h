/* SPDX-License-Identifier: BSD-3-Clause */
/* Fixture of the control tests that build tables: EAL, config, store,
 * neighbor table, and ctl_tables_build() over the store as it is. */
#ifndef KDP_TESTS_UNIT_CONTROL_TABLES_FIXTURE_H
#define KDP_TESTS_UNIT_CONTROL_TABLES_FIXTURE_H

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "acl/acl.h"
#include "control/compile.h"
#include "control/config.h"
#include "control/neigh.h"
#include "control/routes.h"
#include "control/store.h"
#include "k8s/decode.h"
#include "tests/unit/ctl_check.h"

struct tfix {
	struct ctl_config *cfg;
	struct rte_mempool *mp;
	struct ctl_neigh *nb;
	struct ctl_store *st;
	const struct ctl_pmtu *pmtu; /* learned tunnel MTUs, or NULL */
};

/* ARP requests the neighbor table sends go nowhere. */
static inline void tfix_send_nothing(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	rte_pktmbuf_free(m);
}

/* EAL under @p prefix, node n1's config with @p extra config members
 * ("" or ",\"key\":..."), and an empty store with the decoders.
 * @return 0, or -1 having said why. */
static inline int tfix_init(struct tfix *f, const char *prefix,
			    const char *extra)
{
	char fp[64];
	/* The pid in the prefix: another build's run of the same test may
	 * be running (the ASan suite, a second checkout). */
	snprintf(fp, sizeof(fp), "%s_%d", prefix, (int)getpid());
	char *eal[] = {(char *)prefix, "-l", "0", "--no-huge", "--no-pci",
		       "-m", "256", "--no-telemetry", "--file-prefix", fp,
		       "--log-level=lib.eal:error"};
	char err[256] = "", conf[512];

	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return -1;
	}
	snprintf(conf, sizeof(conf),
		 "{\"node\":\"n1\",\"datastore\":{\"type\":\"file\","
		 "\"path\":\"/d\"},\"uplink\":{\"devargs\":\"net_null0\"}%s}",
		 extra);
	f->cfg = ctl_config_parse(conf, err, sizeof(err));
	f->mp = rte_pktmbuf_pool_create("tfix_mp", 511, 0, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE,
					SOCKET_ID_ANY);
	f->nb = f->mp ? ctl_neigh_create(f->mp, tfix_send_nothing, NULL, 60) :
			NULL;
	f->st = ctl_store_create();
	if (f->cfg == NULL || f->nb == NULL || f->st == NULL) {
		fprintf(stderr, "setup failed: %s\n", err);
		return -1;
	}
	k8s_decode_register(f->st);
	acl_register(f->st);
	return 0;
}

/* Tables of generation @p gen over the store as it is now, after @p prev
 * (NULL: from scratch). A failure is counted. */
static inline struct pl_tables *tfix_build(struct tfix *f,
					   const struct ctl_ports *pp,
					   uint64_t gen,
					   const struct pl_tables *prev)
{
	struct ctl_route_set rs = {0};
	char err[256] = "";

	if (ctl_routes_compute(f->st, f->cfg->node, &rs) != 0) {
		fprintf(stderr, "routes failed\n");
		check_failures++;
		return NULL;
	}
	ctl_neigh_mark_begin(f->nb);
	struct ctl_compile_in in = {
		.cfg = f->cfg, .st = f->st, .rs = &rs, .ports = pp,
		.neigh = f->nb, .pmtu = f->pmtu, .gen = gen,
		.socket = (int)rte_socket_id(), .prev = prev,
	};
	struct pl_tables *t = ctl_tables_build(&in, err, sizeof(err));

	if (t == NULL) {
		fprintf(stderr, "generation %lu: %s\n", (unsigned long)gen,
			err);
		check_failures++;
	}
	ctl_routes_free(&rs);
	return t;
}

static inline void tfix_free(struct tfix *f)
{
	/* Background rte_acl builders free their contexts through EAL's
	 * allocator: none may still run when EAL is cleaned up (kdp's own
	 * shutdown drains them too, control/ctl.c). */
	acl_fast_drain();
	ctl_neigh_free(f->nb);
	ctl_store_free(f->st);
	ctl_config_free(f->cfg);
	rte_mempool_free(f->mp);
	rte_eal_cleanup();
}

#endif /* KDP_TESTS_UNIT_CONTROL_TABLES_FIXTURE_H */
