/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy does not police the node's own traffic to its pods
 * (calico-model.md: traffic from the node itself is allowed). x/b's
 * ingress allows nothing; then a new UDP flow from the host port to x/b
 * passes and its reply comes back, while the same flow from x/a is
 * dropped as policy_deny. Bursts of new flows from both, so that both go
 * through the bulk classification of new flows (pipeline/burst.c), whose
 * exemption is found once per packet and used again when the flow's
 * entry is made (pl_pol_arg.cur_exempt).
 *
 * The exemption is the node's own source, not the host port: a flow the
 * host forwards into kdp from another address (Felix's FORWARD path) meets
 * x/b's ingress and is dropped, while the replies of a flow x/b opened
 * through the host (natOutgoing's hand-off, turned back by the host) pass
 * as conntrack replies.
 *
 * From the uplink the node's own addresses are martians (Linux drops a
 * local source from outside): a plain packet, or a tunnel's inner one,
 * with the node IP or the tunnel IP as source is dropped as ip_bad_src,
 * and so is a tunnel from the node IP. Else a packet spoofing the host's
 * source could open flows to x/b, or ride on a flow the host opened:
 * the spoofed frames come in bursts of 16, so that the express lane's
 * vector pass sees them too, while the host's flow is established.
 */
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "acl/acl.h"
#include "dp/drop.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"
#include "tests/unit/golden.h"
#include "tests/unit/pipeline/two_pods.h"
#include "tests/unit/pipeline/txbufs.h"

enum { P_HOST = P_B + 1, P_UP, N_PORTS };
enum { NH_LOCAL = NH_TWO_PODS_END, N_NH };
enum { S_HOST = S_B + 1 };

#define NODE_A IP4A(192, 168, 10, 11)
/* An address outside the cluster, reached through the host. */
#define WORLD IP4A(203, 0, 113, 7)
#define TUN_A IP4A(10, 244, 1, 1)
#define NODE_B IP4A(192, 168, 10, 12)

static const uint8_t MAC_UP[6] = {0x02, 0, 0, 0, 0x0f, 0x01};
static const uint8_t MAC_NB[6] = {0x02, 0, 0, 0, 0x0f, 0x02};
static rte_be32_t node_set[16];
#define FLOWS 8

static const uint8_t MAC_HOST[6] = {0x02, 0, 0, 0, 0x0e, 0x01};

/* Ingress of x/b: nothing. */
static const char *const DENY_B =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"b-none\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}},"
	"\"policyTypes\":[\"Ingress\"]}}";

static struct rte_mempool *mp;
static struct pl_tables t;
static struct dp_lcore_stats st;
static struct pl_ctx ctx;

/* A UDP datagram @p src:@p sp -> @p dst:@p dp as it arrives on @p port. */
static struct rte_mbuf *udp(uint16_t port, uint32_t src, uint32_t dst,
			    uint16_t sp, uint16_t dp)
{
	return two_pods_udp(mp, port, port == P_HOST ? MAC_HOST :
				      port == P_A ? MAC_A : MAC_B,
			    src, dst, sp, dp);
}

/* The frames buffered for @p port since the last call, freed. */
static unsigned int take(uint16_t port)
{
	return txbufs_take(&ctx, port, N_PORTS);
}

/* FLOWS new flows from @p port (source @p src) to x/b in one burst; the
 * replies in the next. */
static void flows(uint16_t port, uint32_t src, uint16_t sp0,
		  unsigned int *to_b, unsigned int *back)
{
	struct rte_mbuf *m[FLOWS];

	for (unsigned int i = 0; i < FLOWS; i++)
		m[i] = udp(port, src, POD_B, (uint16_t)(sp0 + i), 7000);
	pl_process_burst(&ctx, &t, port, m, FLOWS);
	*to_b = take(P_B);
	for (unsigned int i = 0; i < FLOWS; i++)
		m[i] = udp(P_B, POD_B, src, 7000, (uint16_t)(sp0 + i));
	pl_process_burst(&ctx, &t, P_B, m, FLOWS);
	*back = take(port);
}

/* Frames from the uplink: @p n UDP datagrams @p src:@p sp.. -> x/b:7000,
 * in IPIP from @p outer_src when it is not 0. */
static void uplink(uint32_t outer_src, uint32_t src, uint16_t sp,
		   unsigned int n)
{
	struct rte_mbuf *m[2 * FLOWS];
	uint8_t l4[16] = {0};

	for (unsigned int i = 0; i < n; i++) {
		struct frame f;
		put16(l4, (uint16_t)(sp + i));
		put16(l4 + 2, 7000);
		put16(l4 + 4, sizeof(l4));
		struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64, .proto = 17,
				.id = sp, .frag = G_DF, .src = src,
				.dst = POD_B, .plen = sizeof(l4),
				.payload = l4};
		if (outer_src != 0) {
			struct ip4 o = {.ver = 4, .ihl = 5, .ttl = 64,
					.frag = G_DF, .id = sp,
					.src = outer_src, .dst = NODE_A};
			frame_ipip(&f, MAC_UP, MAC_NB, o, &h);
		} else {
			frame_ip(&f, MAC_UP, MAC_NB, &h, 0);
		}
		m[i] = frame_mbuf(mp, &f, P_UP);
	}
	/* The express lane rests after a burst it could not take: not
	 * here, where each burst must meet it. */
	ctx.express_rest[P_UP] = 0;
	pl_process_burst(&ctx, &t, P_UP, m, (uint16_t)n);
}

/* FLOWS new flows from x/b to @p dst through the host; the replies from
 * the host port in the next burst. */
static void flows_out(uint32_t dst, uint16_t sp0, unsigned int *to_host,
		      unsigned int *back)
{
	struct rte_mbuf *m[FLOWS];

	for (unsigned int i = 0; i < FLOWS; i++)
		m[i] = udp(P_B, POD_B, dst, (uint16_t)(sp0 + i), 53);
	pl_process_burst(&ctx, &t, P_B, m, FLOWS);
	*to_host = take(P_HOST);
	for (unsigned int i = 0; i < FLOWS; i++)
		m[i] = udp(P_HOST, dst, POD_B, 53, (uint16_t)(sp0 + i));
	pl_process_burst(&ctx, &t, P_HOST, m, FLOWS);
	*back = take(P_B);
}

int main(void)
{
	struct acl_ct_conf cc;
	unsigned int to_b, back;
	int bad = 0;

	if (golden_eal_init("policy_exempt") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("pe_mp", 1023, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct rte_ring *punt = rte_ring_create("pe_punt", 64, SOCKET_ID_ANY,
						RING_F_SP_ENQ | RING_F_SC_DEQ);
	acl_ct_conf_default(&cc);
	cc.max_flows = 1024;
	struct acl_worker *aw = acl_worker_create(&cc, 0);
	if (mp == NULL || punt == NULL || aw == NULL ||
	    two_pods_tables(&t, N_NH, true, "pe") != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	two_pods_neigh(S_HOST, MAC_HOST, true);
	t.nh[NH_LOCAL] = (struct pl_nh){.kind = PL_NH_LOCAL, .port = P_HOST,
					.neigh = S_HOST, .mtu = 1500};
	t.port[P_HOST] = (struct pl_port){.role = PL_PORT_HOST};
	memcpy(t.port[P_HOST].mac.addr_bytes, MAC_GW, 6);
	t.host_port = P_HOST;
	t.port[P_UP] = (struct pl_port){.role = PL_PORT_UPLINK};
	memcpy(t.port[P_UP].mac.addr_bytes, MAC_UP, 6);
	t.uplink_port = P_UP;
	t.tunnel_ip = rte_cpu_to_be_32(TUN_A);
	two_pods_node_set(&t, node_set, RTE_DIM(node_set), NODE_A, NODE_B);
	t.host_nh = NH_LOCAL;
	t.self_ip = t.icmp_src = rte_cpu_to_be_32(NODE_A);
	t.acl = two_pods_policy(DENY_B, POD_A, POD_B, 1, 1);
	if (t.acl == NULL || rte_fib_add(t.fib, NODE_A, 32, NH_LOCAL) != 0 ||
	    rte_fib_add(t.fib, WORLD & 0xffffff00u, 24, NH_LOCAL) != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	for (size_t w = 0; w < RTE_DIM(golden_widths); w++) {
		golden_simd_width(golden_widths[w]);
		memset(&st, 0, sizeof(st));
		pl_ctx_init(&ctx, &st, mp, punt, 0);
		ctx.acl = aw;

		flows(P_HOST, NODE_A, (uint16_t)(1000 + 100 * w), &to_b, &back);
		if (to_b != FLOWS || back != FLOWS) {
			fprintf(stderr, "FAIL: host to x/b: %u of %u passed, "
				"%u replies\n", to_b, FLOWS, back);
			bad = 1;
		}
		uint64_t denied = st.drop[DP_DROP_POLICY_DENY];
		flows(P_A, POD_A, (uint16_t)(2000 + 100 * w), &to_b, &back);
		if (to_b != 0 || st.drop[DP_DROP_POLICY_DENY] - denied < FLOWS) {
			fprintf(stderr, "FAIL: x/a to x/b: %u passed, %lu denied\n",
				to_b, (unsigned long)(st.drop[DP_DROP_POLICY_DENY] -
						      denied));
			bad = 1;
		}
		denied = st.drop[DP_DROP_POLICY_DENY];
		flows(P_HOST, WORLD, (uint16_t)(3000 + 100 * w), &to_b, &back);
		if (to_b != 0 || st.drop[DP_DROP_POLICY_DENY] - denied < FLOWS) {
			fprintf(stderr, "FAIL: forwarded by the host to x/b: "
				"%u passed, %lu denied\n", to_b,
				(unsigned long)(st.drop[DP_DROP_POLICY_DENY] -
						denied));
			bad = 1;
		}
		unsigned int to_host;
		flows_out(WORLD, (uint16_t)(4000 + 100 * w), &to_host, &back);
		if (to_host != FLOWS || back != FLOWS) {
			fprintf(stderr, "FAIL: x/b through the host: %u of %u "
				"sent, %u replies\n", to_host, FLOWS, back);
			bad = 1;
		}

		/* A policy change re-checks every flow at its next packet:
		 * the host's flows stay exempt when x/b's replies come
		 * first (the re-check runs in the flow's direction). */
		struct rte_mbuf *rm[FLOWS];
		uint16_t sp2 = (uint16_t)(6500 + 100 * w);
		for (unsigned int i = 0; i < FLOWS; i++)
			rm[i] = udp(P_HOST, NODE_A, POD_B,
				    (uint16_t)(sp2 + i), 7000);
		pl_process_burst(&ctx, &t, P_HOST, rm, FLOWS);
		to_b = take(P_B);
		struct acl_set *older = t.acl;
		t.acl = two_pods_policy(DENY_B, POD_A, POD_B, 1,
					(uint64_t)(10 + w));
		acl_set_free(older);
		for (unsigned int i = 0; i < FLOWS; i++)
			rm[i] = udp(P_B, POD_B, NODE_A, 7000,
				    (uint16_t)(sp2 + i));
		pl_process_burst(&ctx, &t, P_B, rm, FLOWS);
		back = take(P_HOST);
		if (t.acl == NULL || to_b != FLOWS || back != FLOWS) {
			fprintf(stderr, "FAIL: host's flows after a policy "
				"change, x/b first: %u sent, %u replies\n",
				to_b, back);
			bad = 1;
		}

		/* The host's flows NODE_A:5000+w*100.. -> x/b:7000 are
		 * established; the same 5-tuples from the uplink must not
		 * ride on them, nor may other sources of the node's own. */
		uint16_t sp = (uint16_t)(5000 + 100 * w);
		flows(P_HOST, NODE_A, sp, &to_b, &back);
		static const struct {
			const char *what;
			uint32_t outer, src;
		} own[] = {
			{"plain, the node IP", 0, NODE_A},
			{"plain, the tunnel IP", 0, TUN_A},
			{"IPIP from node-b, inner the node IP", NODE_B, NODE_A},
			{"IPIP from node-b, inner the tunnel IP", NODE_B, TUN_A},
			{"IPIP from the node IP", NODE_A, IP4A(10, 244, 2, 5)},
		};
		for (size_t i = 0; i < RTE_DIM(own); i++) {
			uint64_t bad_src = st.drop[DP_DROP_IP_BAD_SRC];
			take(P_B);
			uplink(own[i].outer, own[i].src,
			       own[i].src == NODE_A ? sp : 6000, 2 * FLOWS);
			unsigned int got = take(P_B);
			uint64_t d = st.drop[DP_DROP_IP_BAD_SRC] - bad_src;
			if (got != 0 || d != 2 * FLOWS) {
				fprintf(stderr, "FAIL: uplink, %s: %u reached "
					"x/b, %lu ip_bad_src\n", own[i].what,
					got, (unsigned long)d);
				bad = 1;
			}
		}
	}
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad;
}
