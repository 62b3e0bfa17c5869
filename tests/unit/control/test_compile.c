/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_tables_build(): a generation built from the same routes shares the
 * previous FIB and its fib_gen; one whose routes changed gets a new FIB
 * under a greater fib_gen. Conntrack entries record their flows' hops
 * under acl_set_gen() + fib_gen (pipeline/tables.h), so a FIB swapped
 * without a new fib_gen would leave established flows on their old hops.
 * The pools' dense copy of the FIB (pl_tables.fib_dense) answers every
 * address of their span as the FIB does, and is shared with the FIB.
 * natOutgoing: the tables' pools, and which pods are natOutgoing's
 * (pl_ep.nat_outgoing: the longest pool holding the pod's address says,
 * and only with config host.nat_outgoing). host.service_cidrs: routed to
 * the host (PL_NH_LOCAL) and listed in the tables, with a host port only.
 */
#include <string.h>

#include <rte_fib.h>

#include "tests/unit/control/store_put.h"
#include "tests/unit/control/tables_fixture.h"

static struct tfix fx;

static void put(enum ctl_res res, const char *json)
{
	store_put(fx.st, res, json);
}

#define NODE(name, v4, tun)                                                  \
	"{'metadata':{'name':'" name "','annotations':{"                      \
	"'projectcalico.org/IPv4Address':'" v4 "',"                          \
	"'projectcalico.org/IPv4IPIPTunnelAddr':'" tun "'}}}"
#define BLOCK(name, cidr, node)                                              \
	"{'metadata':{'name':'" name "'},'spec':{'cidr':'" cidr "',"         \
	"'affinity':'host:" node "'}}"

#define POD(ns, name, ip)                                                    \
	"{'metadata':{'name':'" name "','namespace':'" ns "'},"              \
	"'spec':{'nodeName':'n1'},'status':{'podIP':'" ip "'}}"

/* The pools and the natOutgoing pods of tables built with and without
 * config host.nat_outgoing. */
static void test_nat(void)
{
	static const struct ctl_pod_ep pods[] = {
		{.pod = "x/a", .port = 1}, /* 10.244.1.10: pool p, nat */
		{.pod = "x/b", .port = 2}, /* 10.244.1.70: pool p2 inside p,
					    * not nat */
		{.pod = "x/c", .port = 3}, /* 10.250.0.5: pool r, not nat */
		{.pod = "x/d", .port = 4}, /* no Pod object: no address */
	};
	struct ctl_ports pp = {.uplink = 0, .host = UINT16_MAX,
			       .pods = pods, .n_pods = RTE_DIM(pods)};

	put(CTL_RES_IPPOOL, "{'metadata':{'name':'p'},'spec':{'cidr':"
			    "'10.244.0.0/16','natOutgoing':true}}");
	put(CTL_RES_IPPOOL, "{'metadata':{'name':'p2'},'spec':{'cidr':"
			    "'10.244.1.64/26','natOutgoing':false}}");
	put(CTL_RES_IPPOOL, "{'metadata':{'name':'r'},'spec':{'cidr':"
			    "'10.250.0.0/16','natOutgoing':false}}");
	put(CTL_RES_POD, POD("x", "a", "10.244.1.10"));
	put(CTL_RES_POD, POD("x", "b", "10.244.1.70"));
	put(CTL_RES_POD, POD("x", "c", "10.250.0.5"));
	for (int on = 0; on < 2; on++) {
		fx.cfg->host_nat_outgoing = on;
		struct pl_tables *t = tfix_build(&fx, &pp, 10 + on, NULL);
		if (t == NULL)
			continue;
		CHECK_EQ(t->n_ep, 4);
		CHECK_EQ(t->ep[0].nat_outgoing, on);
		CHECK_EQ(t->ep[1].nat_outgoing, 0);
		CHECK_EQ(t->ep[2].nat_outgoing, 0);
		CHECK_EQ(t->ep[3].nat_outgoing, 0);
		/* the pools the workers test destinations against */
		CHECK(pl_in_pools(t, 0x0af40102));  /* 10.244.1.2 */
		CHECK(pl_in_pools(t, 0x0af40146));  /* 10.244.1.70 */
		CHECK(pl_in_pools(t, 0x0afa0005));  /* 10.250.0.5 */
		CHECK(pl_in_pools(t, 0xac100001));  /* 172.16.0.1: pool q */
		CHECK(!pl_in_pools(t, 0x08080808)); /* 8.8.8.8 */
		CHECK(!pl_in_pools(t, 0xc0a80a0c)); /* a node IP */
		CHECK(!pl_in_pools(t, 0x0af50001)); /* 10.245.0.1 */
		ctl_tables_free(t);
	}
	fx.cfg->host_nat_outgoing = false;
}

/* The FIB's kind of hop for @p ip in @p t. */
static uint8_t kind_of(const struct pl_tables *t, uint32_t ip)
{
	uint64_t nh = UINT64_MAX;

	rte_fib_lookup_bulk(t->fib, &ip, &nh, 1);
	return nh < t->n_nh ? t->nh[nh].kind : PL_NH_NO_ROUTE;
}

/* host.service_cidrs: routed to the host and listed for the policy
 * stage, only with a host port. */
static void test_services(void)
{
	struct ctl_config_cidr svc = {0x0a600000, 12}; /* 10.96.0.0/12 */

	fx.cfg->service_cidrs = &svc;
	fx.cfg->n_service_cidrs = 1;
	for (int host = 0; host < 2; host++) {
		struct ctl_ports pp = {.uplink = 0,
				       .host = host ? 5 : UINT16_MAX};
		struct pl_tables *t = tfix_build(&fx, &pp, 20 + host, NULL);
		if (t == NULL)
			continue;
		CHECK_EQ(t->n_svc, (uint32_t)host);
		CHECK_EQ(pl_in_services(t, 0x0a60000a), host); /* 10.96.0.10 */
		CHECK(!pl_in_services(t, 0x0a700001));         /* 10.112.0.1 */
		CHECK_EQ(kind_of(t, 0x0a6f0001) == PL_NH_LOCAL, host);
		CHECK(kind_of(t, 0x0a700001) != PL_NH_LOCAL);
		/* the pools are still the pools */
		CHECK(pl_in_pools(t, 0x0af40102));
		CHECK(!pl_in_pools(t, 0x0a60000a));
		ctl_tables_free(t);
	}
	fx.cfg->service_cidrs = NULL;
	fx.cfg->n_service_cidrs = 0;
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

/* A tunnel's learned path MTU (control/pmtu.h) lowers its IPIP next hop's
 * MTU by the outer header; the FIB stays shared, other hops keep theirs. */
static void test_pmtu(struct ctl_ports *pp, const struct pl_tables *prev)
{
	struct ctl_pmtu *pm = ctl_pmtu_create();
	uint32_t ips[] = {0x0af40201, 0x0af40209}; /* n2's block */
	uint64_t nh[2];

	CHECK(pm != NULL);
	CHECK(ctl_pmtu_learn(pm, IP4(192, 168, 10, 12), 1400, 1500, 0));
	fx.pmtu = pm;
	struct pl_tables *t = tfix_build(&fx, pp, 20, prev);
	fx.pmtu = NULL;
	if (t != NULL) {
		CHECK(t->fib == prev->fib);
		rte_fib_lookup_bulk(t->fib, ips, nh, 2);
		for (int i = 0; i < 2; i++) {
			CHECK_EQ(t->nh[nh[i]].kind, PL_NH_IPIP);
			CHECK_EQ(t->nh[nh[i]].mtu, 1380);
			CHECK_EQ(prev->nh[nh[i]].mtu, 1480);
		}
	}
	/* Expired: the uplink's MTU again. */
	CHECK(ctl_pmtu_expire(pm, CTL_PMTU_EXPIRE_MS));
	fx.pmtu = pm;
	struct pl_tables *t2 = t ? tfix_build(&fx, pp, 21, t) : NULL;
	fx.pmtu = NULL;
	if (t2 != NULL) {
		rte_fib_lookup_bulk(t2->fib, ips, nh, 1);
		CHECK_EQ(t2->nh[nh[0]].mtu, 1480);
	}
	ctl_tables_free(t2);
	ctl_tables_free(t);
	ctl_pmtu_free(pm);
}

int main(void)
{
	if (tfix_init(&fx, "kdp_test_compile", "") != 0)
		return 1;
	struct ctl_ports pp = {.uplink = 0, .host = UINT16_MAX};

	put(CTL_RES_NODE, NODE("n1", "192.168.10.11/24", "10.244.1.0"));
	put(CTL_RES_NODE, NODE("n2", "192.168.10.12/24", "10.244.2.0"));
	put(CTL_RES_IPPOOL, "{'metadata':{'name':'p'},'spec':{'cidr':"
			    "'10.244.0.0/16','ipipMode':'Always'}}");
	put(CTL_RES_IPAMBLOCK, BLOCK("b1", "10.244.1.0/26", "n1"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b2", "10.244.2.0/26", "n2"));

	struct pl_tables *t1 = tfix_build(&fx, &pp, 1, NULL);
	struct pl_tables *t2 = t1 ? tfix_build(&fx, &pp, 2, t1) : NULL;
	if (t1 && t2) {
		CHECK_EQ(t1->fib_gen, 1);
		/* Same routes: the FIB and its generation are shared. */
		CHECK(t2->fib == t1->fib);
		CHECK_EQ(t2->fib_gen, 1);
		check_dense(t1, 0x0af40000, 1u << 16);
		CHECK(t2->fib_dense == t1->fib_dense);
	}
	if (t2)
		test_pmtu(&pp, t2);
	/* A new remote block: new routes, a new FIB, a new generation. */
	put(CTL_RES_IPAMBLOCK, BLOCK("b3", "10.244.3.0/26", "n2"));
	struct pl_tables *t3 = t2 ? tfix_build(&fx, &pp, 3, t2) : NULL;
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
	struct pl_tables *t4 = t3 ? tfix_build(&fx, &pp, 4, t3) : NULL;
	if (t4) {
		CHECK(t4->fib_dense == NULL);
		CHECK_EQ(t4->fib_dense_n, 0);
	}
	/* With a default route, network 0 and loopback still have none
	 * (RFC 1812 5.3.7); the rest of the world goes to the gateway. */
	fx.cfg->gateway = 0xc0a80a01;
	struct pl_tables *t5 = t4 ? tfix_build(&fx, &pp, 5, t4) : NULL;
	if (t5) {
		const uint32_t ips[] = {0x7f000001, 0x00010203, 0x7fffffff,
					0x08080808};
		uint64_t nh[RTE_DIM(ips)];

		rte_fib_lookup_bulk(t5->fib, (uint32_t *)(uintptr_t)ips, nh,
				    RTE_DIM(ips));
		for (unsigned int i = 0; i < RTE_DIM(ips); i++)
			CHECK_EQ(nh[i] < t5->n_nh ? t5->nh[nh[i]].kind :
						    PL_NH_NO_ROUTE,
				 i < 3 ? PL_NH_NO_ROUTE : PL_NH_DIRECT);
	}
	ctl_tables_free(t5);
	ctl_tables_free(t4);
	ctl_tables_free(t3);
	ctl_tables_free(t2);
	ctl_tables_free(t1);
	test_nat();
	test_services();
	tfix_free(&fx);
	CHECK_DONE();
}
