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
#include <stdlib.h>
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
enum { NH_LOCAL = NH_TWO_PODS_END, NH_GW, NH_REMOTE, N_NH };
enum { S_HOST = S_B + 1, S_GW, S_NB };

#define NODE_A IP4A(192, 168, 10, 11)
/* A client outside the cluster, behind the uplink's gateway. */
#define WORLD IP4A(203, 0, 113, 7)
#define NODE_B IP4A(192, 168, 10, 12)
/* A pod on node-b, through IPIP; and a ClusterIP. */
#define REMOTE IP4A(10, 244, 2, 5)
#define VIP IP4A(10, 96, 0, 10)
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

/* x/a's egress: to app=b pods only (the "db"). */
static const char *const A_TO_B_ONLY =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"a-db\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}},"
	"\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{\"podSelector\":"
	"{\"matchLabels\":{\"app\":\"b\"}}}]}]}}";

static rte_be32_t node_set[16];
static const struct pl_pool svc = {.net = IP4A(10, 96, 0, 0),
				   .mask = 0xfff00000u};
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
	/* The uplink takes only frames to its MAC (README "Uplink"): from
	 * the gateway. */
	for (unsigned int i = 0; port == P_UP && i < N; i++) {
		uint8_t *eth = rte_pktmbuf_mtod(m[i], uint8_t *);

		memcpy(eth, MAC_UP, 6);
		memcpy(eth + 6, MAC_GWR, 6);
	}
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

/*
 * x/b's port unreachable about case @p fc's first flow (its originator's
 * datagram, from port @p sp): it goes where the flow's replies go (to the
 * host it is un-NATed with the quoted packet, as Linux does).
 */
static void icmp_error(const struct flow_case *fc, uint16_t sp)
{
	uint8_t udp[8] = {0}, quote[64];
	struct frame f;

	put16(udp, sp);
	put16(udp + 2, 7000);
	put16(udp + 4, 16);
	struct ip4 q = {.ver = 4, .ihl = 5, .ttl = 63, .proto = 17, .id = sp,
			.frag = G_DF, .src = fc->src, .dst = POD_B, .plen = 8,
			.payload = udp, .tot_delta = 8};
	unsigned int qlen = ip4_bytes(quote, &q);
	frame_icmp_err(&f, MAC_GW, MAC_B, POD_B, fc->src, 3, 3, 0, quote,
		       qlen, 1);
	struct rte_mbuf *m = frame_mbuf(mp, &f, P_B);

	take_all();
	run(P_B, &m, 1);
	unsigned int back = take(fc->back);
	unsigned int wrong = fc->wrong != fc->back ? take(fc->wrong) : 0;
	if (back != 1 || wrong != 0) {
		fprintf(stderr, "FAIL: %s, ICMP error (%u workers): %u on "
			"port %u, %u on port %u\n", fc->what, workers, back,
			fc->back, wrong, fc->wrong);
		bad = 1;
	}
}

/* Conntrack dump lines (acl_ct_dump()): all, and marked via_host. */
struct dump_count {
	unsigned int all, via;
};

static void dump_line(void *arg, const char *line)
{
	struct dump_count *d = arg;

	d->all++;
	d->via += strstr(line, " via_host") != NULL;
}

/* N replies REMOTE:7000 -> x/a:@p sp+i from node-b in IPIP. */
static void remote_replies(uint16_t sp)
{
	struct rte_mbuf *m[N];
	uint8_t l4[16] = {0};

	for (unsigned int i = 0; i < N; i++) {
		struct frame f;
		put16(l4, 7000);
		put16(l4 + 2, (uint16_t)(sp + i));
		put16(l4 + 4, sizeof(l4));
		struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64, .proto = 17,
				.id = sp, .frag = G_DF, .src = REMOTE,
				.dst = POD_A, .plen = sizeof(l4),
				.payload = l4};
		struct ip4 o = {.ver = 4, .ihl = 5, .ttl = 64, .frag = G_DF,
				.id = sp, .src = NODE_B, .dst = NODE_A};
		frame_ipip(&f, MAC_UP, MAC_GWR, o, &h);
		m[i] = frame_mbuf(mp, &f, P_UP);
	}
	run(P_UP, m, N);
}

static void set_policy(const char *json, uint64_t gen)
{
	struct acl_set *older = t.acl;

	t.acl = two_pods_policy(json, POD_A, POD_B, workers, gen);
	acl_set_free(older);
	if (t.acl == NULL) {
		fprintf(stderr, "FAIL: policy\n");
		exit(1);
	}
}

static void expect(const char *what, unsigned int got, unsigned int want)
{
	if (got != want) {
		fprintf(stderr, "FAIL: %s (%u workers): %u, not %u\n", what,
			workers, got, want);
		bad = 1;
	}
}

/*
 * Services (host.service_cidrs) and the policy of their legs: x/a may
 * send to app=b only. Its packets to the ClusterIP go to the host
 * unchecked by its egress; the host's DNATed packet, source x/a, meets
 * that egress: to x/b it passes (and x/b's replies return through the
 * host), to the pod on node-b it is denied. With nothing isolated, a
 * DNATed flow to node-b's pod is tracked, so node-b's replies (IPIP, the
 * uplink's lane) return through the host too.
 */
static void services(uint64_t *gen, uint16_t sp)
{
	set_policy(A_TO_B_ONLY, (*gen)++);
	take_all();
	burst(P_A, POD_A, VIP, sp, 53, false);
	expect("x/a to the ClusterIP, to the host", take(P_HOST), N);
	burst(P_HOST, VIP, POD_A, 53, sp, true);
	expect("the ClusterIP's replies to x/a", take(P_A), N);
	burst(P_HOST, POD_A, POD_B, sp, 53, false);
	expect("x/a's DNATed packets to the db pod", take(P_B), N);
	for (unsigned int r = 0; r < ROUNDS; r++) {
		burst(P_B, POD_B, POD_A, 53, sp, true);
		expect("the db pod's replies, to the host", take(P_HOST), N);
		expect("the db pod's replies, to x/a", take(P_A), 0);
	}
	uint64_t denied = st[0].drop[DP_DROP_POLICY_DENY] +
			  st[1].drop[DP_DROP_POLICY_DENY];
	burst(P_HOST, POD_A, REMOTE, (uint16_t)(sp + 100), 53, false);
	expect("x/a's DNATed packets to another pod", take(P_UP), 0);
	expect("... denied", (unsigned int)(st[0].drop[DP_DROP_POLICY_DENY] +
					    st[1].drop[DP_DROP_POLICY_DENY] -
					    denied), N);

	set_policy(NONE_ISOLATED, (*gen)++);
	take_all();
	uint16_t sp2 = (uint16_t)(sp + 200);
	burst(P_HOST, POD_A, REMOTE, sp2, 7000, false);
	expect("DNATed to node-b's pod", take(P_UP), N);
	for (unsigned int r = 0; r < ROUNDS; r++) {
		remote_replies(sp2);
		expect("node-b's pod's replies, to the host", take(P_HOST), N);
		expect("node-b's pod's replies, to x/a", take(P_A), 0);
	}
	take_all();
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
	two_pods_neigh(S_NB, MAC_GWR, true);
	t.nh[NH_REMOTE] = (struct pl_nh){.kind = PL_NH_IPIP, .port = P_UP,
					 .neigh = S_NB, .mtu = 1480,
					 .outer_dst = rte_cpu_to_be_32(NODE_B)};
	two_pods_node_set(&t, node_set, RTE_DIM(node_set), NODE_A, NODE_B);
	/* host.service_cidrs: routed to the host (control/compile.c). */
	t.svc = &svc;
	t.n_svc = 1;
	t.port[P_HOST] = (struct pl_port){.role = PL_PORT_HOST};
	memcpy(t.port[P_HOST].mac.addr_bytes, MAC_GW, 6);
	t.host_port = P_HOST;
	t.host_nh = NH_LOCAL;
	t.port[P_UP] = (struct pl_port){.role = PL_PORT_UPLINK};
	memcpy(t.port[P_UP].mac.addr_bytes, MAC_UP, 6);
	t.uplink_port = P_UP;
	t.self_ip = t.icmp_src = rte_cpu_to_be_32(NODE_A);
	if (rte_fib_add(t.fib, NODE_A, 32, NH_LOCAL) != 0 ||
	    rte_fib_add(t.fib, 0, 0, NH_GW) != 0 ||
	    rte_fib_add(t.fib, svc.net, 12, NH_LOCAL) != 0 ||
	    rte_fib_add(t.fib, REMOTE & 0xffffff00u, 24, NH_REMOTE) != 0) {
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
				icmp_error(&cases[i], sp);
			}
			/* The first run's flows: the host port opened two
			 * cases' (/kdp/conntrack marks them), the others not. */
			if (workers == 1 && w == 0) {
				struct dump_count d = {0};
				acl_ct_dump(0, UINT32_MAX, ctx[0].now_ms,
					    dump_line, &d);
				if (d.all != 4 * N || d.via != 2 * N) {
					fprintf(stderr, "FAIL: dump: %u flows, "
						"%u via_host\n", d.all, d.via);
					bad = 1;
				}
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
			/* and the host cases' two ICMP errors */
			if (ret != 2 * 2 * ROUNDS * N + 2) {
				fprintf(stderr, "FAIL: host_return %lu, not %u\n",
					(unsigned long)ret,
					2 * 2 * ROUNDS * N + 2);
				bad = 1;
			}
			services(&gen, (uint16_t)(30000 + 1000 * w +
						  5000 * workers));
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
