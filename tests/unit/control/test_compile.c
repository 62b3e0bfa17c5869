/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_tables_build(): a generation built from the same routes shares the
 * previous FIB and its fib_gen; one whose routes changed gets a new FIB
 * under a greater fib_gen. Conntrack entries record their flows' hops
 * under acl_set_gen() + fib_gen (pipeline/tables.h), so a FIB swapped
 * without a new fib_gen would leave established flows on their old hops.
 * The pools' dense copy of the FIB (pl_tables.fib_dense) answers every
 * address of their span as the FIB does, and is shared with the FIB.
 */
#include <string.h>

#include <rte_eal.h>
#include <rte_fib.h>
#include <rte_mbuf.h>

#include "acl/acl.h"
#include "control/compile.h"
#include "control/neigh.h"
#include "control/routes.h"
#include "control/store.h"
#include "k8s/decode.h"
#include "tests/unit/control/store_put.h"
#include "tests/unit/ctl_check.h"

static struct ctl_store *st;

static void put(enum ctl_res res, const char *json)
{
	store_put(st, res, json);
}

/* ARP requests the neighbor table sends go nowhere. */
static void send_nothing(void *arg, struct rte_mbuf *m)
{
	(void)arg;
	rte_pktmbuf_free(m);
}

#define NODE(name, v4, tun)                                                  \
	"{'metadata':{'name':'" name "','annotations':{"                      \
	"'projectcalico.org/IPv4Address':'" v4 "',"                          \
	"'projectcalico.org/IPv4IPIPTunnelAddr':'" tun "'}}}"
#define BLOCK(name, cidr, node)                                              \
	"{'metadata':{'name':'" name "'},'spec':{'cidr':'" cidr "',"         \
	"'affinity':'host:" node "'}}"

/* Tables of generation @p gen over the store as it is now, after @p prev. */
static struct pl_tables *build(const struct ctl_config *cfg,
			       struct ctl_neigh *nb, const struct ctl_ports *pp,
			       uint64_t gen, const struct pl_tables *prev)
{
	struct ctl_route_set rs = {0};
	char err[256] = "";

	if (ctl_routes_compute(st, cfg->node, &rs) != 0) {
		fprintf(stderr, "routes failed\n");
		check_failures++;
		return NULL;
	}
	ctl_neigh_mark_begin(nb);
	struct ctl_compile_in in = {
		.cfg = cfg, .st = st, .rs = &rs, .ports = pp, .neigh = nb,
		.gen = gen, .socket = (int)rte_socket_id(), .prev = prev,
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

/* Every address of @p t's dense span gets the FIB's own answer. */
static void check_dense(const struct pl_tables *t, uint32_t base, uint32_t n)
{
	uint32_t bad = 0;

	CHECK(t->fib_dense != NULL);
	CHECK_EQ(t->fib_dense_base, base);
	CHECK_EQ(t->fib_dense_n, n);
	if (t->fib_dense == NULL || t->fib_dense_n != n)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ip = base + i;
		uint64_t nh = UINT64_MAX;

		rte_fib_lookup_bulk(t->fib, &ip, &nh, 1);
		bad += t->fib_dense[i] != nh;
	}
	CHECK_EQ(bad, 0);
	/* Not all one hop: the remote blocks' differ from no route. */
	CHECK(t->fib_dense[(2 << 8) + 1] != t->fib_dense[(9 << 8) + 1]);
}

int main(void)
{
	char *eal[] = {"test_compile", "-l", "0", "--no-huge", "--no-pci",
		       "-m", "256", "--no-telemetry", "--file-prefix",
		       "kdp_test_compile", "--log-level=lib.eal:error"};
	char err[256];

	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	struct ctl_config *cfg = ctl_config_parse(
		"{\"node\":\"n1\",\"datastore\":{\"type\":\"file\","
		"\"path\":\"/d\"},\"uplink\":{\"devargs\":\"net_null0\"}}",
		err, sizeof(err));
	struct rte_mempool *mp = rte_pktmbuf_pool_create(
		"tc_mp", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct ctl_neigh *nb =
		mp ? ctl_neigh_create(mp, send_nothing, NULL, 60) : NULL;
	st = ctl_store_create();
	if (cfg == NULL || nb == NULL || st == NULL) {
		fprintf(stderr, "setup failed: %s\n", cfg ? "" : err);
		return 1;
	}
	k8s_decode_register(st);
	acl_register(st);
	struct ctl_ports pp = {.uplink = 0, .host = UINT16_MAX};

	put(CTL_RES_NODE, NODE("n1", "192.168.10.11/24", "10.244.1.0"));
	put(CTL_RES_NODE, NODE("n2", "192.168.10.12/24", "10.244.2.0"));
	put(CTL_RES_IPPOOL, "{'metadata':{'name':'p'},'spec':{'cidr':"
			    "'10.244.0.0/16','ipipMode':'Always'}}");
	put(CTL_RES_IPAMBLOCK, BLOCK("b1", "10.244.1.0/26", "n1"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b2", "10.244.2.0/26", "n2"));

	struct pl_tables *t1 = build(cfg, nb, &pp, 1, NULL);
	struct pl_tables *t2 = t1 ? build(cfg, nb, &pp, 2, t1) : NULL;
	if (t1 && t2) {
		CHECK_EQ(t1->fib_gen, 1);
		/* Same routes: the FIB and its generation are shared. */
		CHECK(t2->fib == t1->fib);
		CHECK_EQ(t2->fib_gen, 1);
		check_dense(t1, 0x0af40000, 1u << 16);
		CHECK(t2->fib_dense == t1->fib_dense);
	}
	/* A new remote block: new routes, a new FIB, a new generation. */
	put(CTL_RES_IPAMBLOCK, BLOCK("b3", "10.244.3.0/26", "n2"));
	struct pl_tables *t3 = t2 ? build(cfg, nb, &pp, 3, t2) : NULL;
	if (t2 && t3) {
		CHECK(t3->fib != t2->fib);
		CHECK_EQ(t3->fib_gen, 3);
		check_dense(t3, 0x0af40000, 1u << 16);
		CHECK(t3->fib_dense != t2->fib_dense);
		CHECK(t3->fib_dense[(3 << 8) + 1] == t3->fib_dense[(2 << 8) + 1]);
	}
	/* Pools too far apart for a dense copy: every lookup is the FIB's. */
	put(CTL_RES_IPPOOL, "{'metadata':{'name':'q'},'spec':{'cidr':"
			    "'172.16.0.0/16','ipipMode':'Always'}}");
	struct pl_tables *t4 = t3 ? build(cfg, nb, &pp, 4, t3) : NULL;
	if (t4) {
		CHECK(t4->fib_dense == NULL);
		CHECK_EQ(t4->fib_dense_n, 0);
	}
	ctl_tables_free(t4);
	ctl_tables_free(t3);
	ctl_tables_free(t2);
	ctl_tables_free(t1);
	ctl_neigh_free(nb);
	ctl_store_free(st);
	ctl_config_free(cfg);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	CHECK_DONE();
}
