/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host return (README "Services"): a flow whose first packet came in
 * through the host port returns through it, whatever the FIB says, so
 * that the host's conntrack sees the replies and un-NATs them (kube-proxy
 * DNATs a ClusterIP or a NodePort to a pod and routes the packet into
 * kdp; the pod's reply must reach the host again).
 *
 * Flows to x/b from the host port, one like a NodePort client's (source
 * outside the cluster, whose route is the uplink's gateway) and one like
 * a DNATed ClusterIP packet of x/a's (source x/a's own address): x/b's
 * replies must leave on the host port, never on their route. The same
 * replies of flows x/a or the uplink opened go their route. Replies come
 * in several bursts of 16 after the flow is established, so the express
 * lanes meet them (and must leave them to the general stages), across a
 * generation change (which resets the entries' cached hops), with one
 * worker and with two (the flows' owners differ, packets are handed
 * over), at each SIMD width.
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
enum { NH_LOCAL = NH_TWO_PODS_END, NH_GW, N_NH };
enum { S_HOST = S_B + 1, S_GW };

#define NODE_A IP4A(192, 168, 10, 11)
/* A client outside the cluster, behind the uplink's gateway. */
#define WORLD IP4A(203, 0, 113, 7)
#define N 16 /* flows per case, and frames per burst */
#define ROUNDS 3

static const uint8_t MAC_HOST[6] = {0x02, 0, 0, 0, 0x0e, 0x01};
static const uint8_t MAC_UP[6] = {0x02, 0, 0, 0, 0x0f, 0x01};
static const uint8_t MAC_GWR[6] = {0x02, 0, 0, 0, 0x0f, 0x09};

/* Nothing isolated: a policy for pods nobody has. */
static const char *const NONE_ISOLATED =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"nobody\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"zzz\"}},"
	"\"policyTypes\":[\"Ingress\",\"Egress\"]}}";

static struct rte_mempool *mp;
static struct pl_tables t;
static struct dp_lcore_stats st[2];
static struct pl_ctx ctx[2];
static struct acl_worker *aw[2];
static unsigned int workers;
static int bad;

/* @p n frames on @p port through worker 0, and what was handed over
 * through its owner. */
static void run(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	/* The lanes rest after a burst they could not take: not here. */
	ctx[0].express_rest[port] = 0;
	pl_process_burst(&ctx[0], &t, port, m, n);
	if (workers == 2) {
		pl_handoff_drain(&ctx[1], &t);
		pl_handoff_drain(&ctx[0], &t);
	}
}

/* The frames both workers buffered for @p port, freed. */
static unsigned int take(uint16_t port)
{
	unsigned int n = 0;

	for (unsigned int w = 0; w < workers; w++)
		n += txbufs_take(&ctx[w], port, N_PORTS);
	return n;
}

static void take_all(void)
{
	for (uint16_t p = 0; p < N_PORTS; p++)
		take(p);
}

static const uint8_t *mac_of(uint16_t port)
{
	return port == P_HOST ? MAC_HOST : port == P_A ? MAC_A :
	       port == P_B ? MAC_B : MAC_UP;
}

/* N UDP datagrams @p src:@p sp+i -> @p dst:@p dp on @p port. */
static void burst(uint16_t port, uint32_t src, uint32_t dst, uint16_t sp,
		  uint16_t dp, bool reply)
{
	struct rte_mbuf *m[N];

	for (unsigned int i = 0; i < N; i++)
		m[i] = reply ? two_pods_udp(mp, port, mac_of(port), src, dst,
					    sp, (uint16_t)(dp + i)) :
			       two_pods_udp(mp, port, mac_of(port), src, dst,
					    (uint16_t)(sp + i), dp);
	run(port, m, N);
}

struct flow_case {
	const char *what;
	uint16_t in;       /* the originator's port */
	uint32_t src;      /* the originator's address */
	uint16_t back;     /* where x/b's replies must go */
	uint16_t wrong;    /* their route, when that is not @c back */
};

/* Open case @p fc's N flows to x/b:7000 from ports @p sp.. */
static void open_flows(const struct flow_case *fc, uint16_t sp)
{
	take_all();
	burst(fc->in, fc->src, POD_B, sp, 7000, false);
	unsigned int got = take(P_B);
	if (got != N) {
		fprintf(stderr, "FAIL: %s (%u workers): %u of %u reached x/b\n",
			fc->what, workers, got, N);
		bad = 1;
	}
}

/* x/b's replies to case @p fc's flows, ROUNDS bursts: all to fc->back. */
static void replies(const struct flow_case *fc, uint16_t sp,
		    const char *when)
{
	for (unsigned int r = 0; r < ROUNDS; r++) {
		take_all();
		burst(P_B, POD_B, fc->src, 7000, sp, true);
		unsigned int back = take(fc->back);
		unsigned int wrong = fc->wrong != fc->back ? take(fc->wrong) : 0;
		if (back != N || wrong != 0) {
			fprintf(stderr, "FAIL: %s, %s (%u workers), round %u: "
				"%u of %u replies on port %u, %u on port %u\n",
				fc->what, when, workers, r, back, N, fc->back,
				wrong, fc->wrong);
			bad = 1;
		}
	}
}

int main(void)
{
	struct acl_ct_conf cc;

	if (golden_eal_init("host_return") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("hr_mp", 2047, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct rte_ring *punt = rte_ring_create("hr_punt", 64, SOCKET_ID_ANY,
						RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct pl_handoff *ho = pl_handoff_create(2, 256);
	acl_ct_conf_default(&cc);
	cc.max_flows = 4096;
	aw[0] = acl_worker_create(&cc, 0);
	aw[1] = acl_worker_create(&cc, 1);
	if (mp == NULL || punt == NULL || ho == NULL || aw[0] == NULL ||
	    aw[1] == NULL || two_pods_tables(&t, N_NH, true, "hr") != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	two_pods_neigh(S_HOST, MAC_HOST, true);
	two_pods_neigh(S_GW, MAC_GWR, true);
	t.nh[NH_LOCAL] = (struct pl_nh){.kind = PL_NH_LOCAL, .port = P_HOST,
					.neigh = S_HOST, .mtu = 1500};
	t.nh[NH_GW] = (struct pl_nh){.kind = PL_NH_DIRECT, .port = P_UP,
				     .neigh = S_GW, .mtu = 1500};

	t.port[P_HOST] = (struct pl_port){.role = PL_PORT_HOST};
	memcpy(t.port[P_HOST].mac.addr_bytes, MAC_GW, 6);
	t.host_port = P_HOST;
	t.host_nh = NH_LOCAL;
	t.port[P_UP] = (struct pl_port){.role = PL_PORT_UPLINK};
	memcpy(t.port[P_UP].mac.addr_bytes, MAC_UP, 6);
	t.uplink_port = P_UP;
	t.self_ip = t.icmp_src = rte_cpu_to_be_32(NODE_A);
	if (rte_fib_add(t.fib, NODE_A, 32, NH_LOCAL) != 0 ||
	    rte_fib_add(t.fib, 0, 0, NH_GW) != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	const struct flow_case cases[] = {
		{"NodePort client through the host", P_HOST, WORLD, P_HOST,
		 P_UP},
		{"x/a's DNATed packet through the host", P_HOST, POD_A,
		 P_HOST, P_A},
		{"x/a's own flow", P_A, POD_A, P_A, P_HOST},
		{"a client's flow from the uplink", P_UP, WORLD, P_UP, P_HOST},
	};
	uint64_t gen = 1;

	for (workers = 1; workers <= 2; workers++) {
		for (size_t w = 0; w < RTE_DIM(golden_widths); w++) {
			golden_simd_width(golden_widths[w]);
			struct acl_set *older = t.acl;
			t.acl = two_pods_policy(NONE_ISOLATED, POD_A, POD_B,
						workers, gen++);
			acl_set_free(older);
			if (t.acl == NULL) {
				fprintf(stderr, "FAIL: policy\n");
				return 1;
			}
			for (unsigned int i = 0; i < workers; i++) {
				memset(&st[i], 0, sizeof(st[i]));
				pl_ctx_init(&ctx[i], &st[i], mp, punt,
					    (uint16_t)i);
				ctx[i].acl = aw[i];
				if (workers == 2)
					pl_ctx_set_handoff(&ctx[i], ho,
							   (uint16_t)i);
			}
			for (size_t i = 0; i < RTE_DIM(cases); i++) {
				uint16_t sp = (uint16_t)(10000 + 1000 * i +
							 100 * w +
							 5000 * workers);
				open_flows(&cases[i], sp);
				replies(&cases[i], sp, "established");
			}
			/* A new generation resets the entries' hops. */
			older = t.acl;
			t.acl = two_pods_policy(NONE_ISOLATED, POD_A, POD_B,
						workers, gen++);
			acl_set_free(older);
			for (size_t i = 0; i < RTE_DIM(cases); i++) {
				uint16_t sp = (uint16_t)(10000 + 1000 * i +
							 100 * w +
							 5000 * workers);
				replies(&cases[i], sp,
					"after a generation change");
			}
			uint64_t ret = st[0].host_return + st[1].host_return;
			if (ret != 2 * 2 * ROUNDS * N) {
				fprintf(stderr, "FAIL: host_return %lu, not %u\n",
					(unsigned long)ret, 2 * 2 * ROUNDS * N);
				bad = 1;
			}
			/* The lanes met the replies (and took the others). */
			if (st[0].express + st[1].express == 0) {
				fprintf(stderr, "FAIL: no express lane\n");
				bad = 1;
			}
			take_all();
		}
	}
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad;
}
