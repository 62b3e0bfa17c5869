/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixtures the pipeline tests share: the policy world of two pods, x/a
 * (app=a) and x/b (app=b), on node-a, and neighbor slots.
 */
#ifndef KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H
#define KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include <rte_fib.h>
#include <rte_malloc.h>

#include "acl/acl.h"
#include "pipeline/tables.h"
#include "tests/unit/golden.h"

/* x/a and x/b: their ports, neighbor slots, next hops, addresses, MACs. */
enum { P_A = 1, P_B = 2 };
enum { S_A = 1, S_B = 2 };
enum { NH_NONE, NH_POD_A, NH_POD_B, NH_TWO_PODS_END };

#define POD_A IP4A(10, 244, 1, 10)
#define POD_B IP4A(10, 244, 1, 11)

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0x01, 0x02};
static const uint8_t MAC_GW[6] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

/*
 * The linear policy set (generation @p gen, for @p n_workers) of x/a at
 * @p ip_a and x/b at @p ip_b (host order) under the NetworkPolicy
 * @p policy_json; endpoint 0 is x/a, 1 is x/b. NULL, said on stderr, when
 * something fails.
 */
static inline struct acl_set *two_pods_policy(const char *policy_json,
					      uint32_t ip_a, uint32_t ip_b,
					      unsigned int n_workers,
					      uint64_t gen)
{
	/* Static, as in a store: nothing here outlives the set by design,
	 * but the set must not be able to point at a dead stack. */
	static char *key[] = {"app"}, *va[] = {"a"}, *vb[] = {"b"};
	static struct ctl_pod pods[2] = {
		{.ns = "x", .name = "a", .node = "node-a", .sa = "default",
		 .n_ips = 1, .labels = {.n = 1, .keys = key, .vals = va}},
		{.ns = "x", .name = "b", .node = "node-a", .sa = "default",
		 .n_ips = 1, .labels = {.n = 1, .keys = key, .vals = vb}},
	};
	static struct ctl_namespace ns = {.name = "x"};
	pods[0].ips[0] = ip_a;
	pods[1].ips[0] = ip_b;
	const struct ctl_pod *eps[2] = {&pods[0], &pods[1]};
	cJSON *j = cJSON_Parse(policy_json);
	char err[256] = "";
	struct acl_policy *p = acl_k8s_netpol_decode(j, err, sizeof(err));
	struct acl_world *w = acl_world_create();
	struct acl_set *s = NULL;

	if (p == NULL || w == NULL) {
		fprintf(stderr, "policy: %s\n", err);
		goto out;
	}
	acl_world_add_pod(w, &pods[0]);
	acl_world_add_pod(w, &pods[1]);
	acl_world_add_namespace(w, &ns);
	acl_world_add_policy(w, p);
	s = acl_set_build(w, eps, 2, n_workers, gen, false, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "acl_set_build: %s\n", err);
out:
	acl_world_free(w);
	acl_policy_free(p);
	cJSON_Delete(j);
	return s;
}

/* Neighbor slot @p slot holds @p mac, resolved or not. */
static inline void two_pods_neigh(uint32_t slot, const uint8_t *mac,
				  bool valid)
{
	uint64_t v = valid ? PL_NEIGH_VALID : 0;

	for (int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	pl_neigh[slot].mac = v;
}

/*
 * Tables (generation 1) of the two pods alone: pl_neigh with 8 slots,
 * @p n_nh next hops (the first NH_TWO_PODS_END set, the rest zero for the
 * caller), both endpoints (x/a's MAC known when @p a_mac_known), their
 * ports, and a FIB (named @p tag, room for 8 routes) with their /32s.
 * -1 when an allocation or the FIB fails.
 */
static inline int two_pods_tables(struct pl_tables *t, uint32_t n_nh,
				  bool a_mac_known, const char *tag)
{
	char name[32];

	snprintf(name, sizeof(name), "%s_fib", tag);
	pl_neigh = rte_zmalloc("two_pods_neigh", sizeof(*pl_neigh) * 8, 8);
	t->nh = rte_zmalloc(NULL, sizeof(*t->nh) * n_nh, 0);
	t->ep = rte_zmalloc(NULL, sizeof(*t->ep) * 2, 0);
	if (pl_neigh == NULL || t->nh == NULL || t->ep == NULL)
		return -1;
	two_pods_neigh(S_A, MAC_A, true);
	two_pods_neigh(S_B, MAC_B, true);
	t->ep[0] = (struct pl_ep){.port = P_A, .n_ips = 1, .neigh = S_A,
				  .mac_known = a_mac_known, .name = "x/a"};
	if (a_mac_known)
		memcpy(t->ep[0].mac.addr_bytes, MAC_A, 6);
	t->ep[0].ips[0] = rte_cpu_to_be_32(POD_A);
	t->ep[1] = (struct pl_ep){.port = P_B, .n_ips = 1, .neigh = S_B,
				  .name = "x/b"};
	t->ep[1].ips[0] = rte_cpu_to_be_32(POD_B);
	t->nh[NH_NONE].kind = PL_NH_NO_ROUTE;
	t->nh[NH_POD_A] = (struct pl_nh){.kind = PL_NH_POD, .port = P_A,
					 .neigh = S_A, .mtu = 1500, .ep = 0};
	t->nh[NH_POD_B] = (struct pl_nh){.kind = PL_NH_POD, .port = P_B,
					 .neigh = S_B, .mtu = 1500, .ep = 1};
	t->n_nh = n_nh;
	t->n_ep = 2;
	t->port[P_A] = (struct pl_port){.role = PL_PORT_POD, .ep = 0};
	t->port[P_B] = (struct pl_port){.role = PL_PORT_POD, .ep = 1};
	t->host_port = UINT16_MAX;
	t->uplink_mtu = 1500;
	t->gen = 1;

	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = NH_NONE,
		.max_routes = 8,
		.dir24_8 = {.nh_sz = RTE_FIB_DIR24_8_1B, .num_tbl8 = 4},
	};
	t->fib = rte_fib_create(name, SOCKET_ID_ANY, &fc);
	if (t->fib == NULL || rte_fib_add(t->fib, POD_A, 32, NH_POD_A) ||
	    rte_fib_add(t->fib, POD_B, 32, NH_POD_B))
		return -1;
	return 0;
}

/* @p t's node set: @p set (@p n_slots, a power of two, zeroed) holding
 * the two nodes @p a and @p b (host order), as control builds it (every
 * node, this one too). */
static inline void two_pods_node_set(struct pl_tables *t, rte_be32_t *set,
				     uint32_t n_slots, uint32_t a, uint32_t b)
{
	const rte_be32_t nodes[] = {rte_cpu_to_be_32(a), rte_cpu_to_be_32(b)};

	t->node_set = set;
	t->node_set_mask = n_slots - 1;
	for (size_t i = 0; i < RTE_DIM(nodes); i++) {
		uint32_t j = pl_node_set_slot(nodes[i], t->node_set_mask);
		while (set[j] != 0)
			j = (j + 1) & t->node_set_mask;
		set[j] = nodes[i];
	}
}

/* A 16-byte UDP datagram @p src:@p sp -> @p dst:@p dp (DF, id @p sp)
 * from @p smac, as it arrives on @p port. */
static inline struct rte_mbuf *two_pods_udp(struct rte_mempool *mp,
					    uint16_t port,
					    const uint8_t *smac, uint32_t src,
					    uint32_t dst, uint16_t sp,
					    uint16_t dp)
{
	uint8_t l4[16] = {0};
	struct frame f;

	put16(l4, sp);
	put16(l4 + 2, dp);
	put16(l4 + 4, sizeof(l4));
	struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64, .proto = 17,
			.id = sp, .frag = G_DF, .src = src, .dst = dst,
			.plen = sizeof(l4), .payload = l4};
	frame_ip(&f, MAC_GW, smac, &h, 0);
	return frame_mbuf(mp, &f, port);
}

#endif /* KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H */
