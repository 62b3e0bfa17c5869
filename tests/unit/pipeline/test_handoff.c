/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy + conntrack with two workers running at once (pipeline.h "Several
 * workers"): two threads, each a worker with its own pl_ctx and conntrack,
 * share one set of tables. Worker 0 polls pod x/a's port, worker 1 pod
 * x/b's, as kdp spreads ports when the NIC has no RSS, so the request and
 * the reply of every flow are received by different workers. Policy allows
 * x/a → x/b only (x/b: ingress from app=a, no egress).
 *
 * The "pods" live in the test: whatever a worker buffers for tx on a pod's
 * port is delivered to that pod, which answers through a ring that stands
 * for its port's rx queue. x/a opens N TCP connections to x/b (SYN,
 * SYN-ACK, ACK) while x/b also sends SYN-ACKs of connections that never
 * existed (must be ct_invalid) and SYNs of its own to x/a (policy_deny).
 * Both workers run their aging sweep on every iteration too.
 *
 * With handoff, every connection completes and every bogus packet is
 * dropped. The same run with handoff off (the per-worker design) is checked
 * to fail: the SYN-ACKs meet a conntrack that never saw the SYN.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <rte_cycles.h>
#include <rte_fib.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "acl/acl.h"
#include "dp/drop.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"
#include "tests/unit/golden.h"
#include "tests/unit/pipeline/two_pods.h"
#include "tests/unit/pipeline/txbufs.h"

enum { N_PORTS = P_B + 1 };
enum { N_NH = NH_TWO_PODS_END };
#define HTTP 80
#define SPORT0 10000 /* x/a's connections: SPORT0 + i */
#define BOGUS0 40000 /* x/b's never-opened "replies" and its own SYNs */

#define N_FLOWS 3000
#define N_BOGUS 500
#define WINDOW 256   /* connections x/a keeps opening at once */
#define BOGUS_WINDOW 16 /* bogus pairs x/b keeps undropped at once */
/* Every frame in flight is one of WINDOW connections' or 2 * BOGUS_WINDOW
 * bogus ones, so a handoff ring this size never fills, however the two
 * threads are scheduled: a handoff_full drop is a bug, not load. */
#define HO_RING 512
_Static_assert(WINDOW + 2 * BOGUS_WINDOW < HO_RING, "handoff ring too small");

#define TCP_SYN 0x02
#define TCP_ACK 0x10

static struct rte_mempool *mp;
static struct pl_tables tables;
static struct rte_ring *wire[N_PORTS]; /* a pod's frames to its port's rx */

/* ------------------------------------------------------------- the world */

static const char *const POLICY =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"b-from-a\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}},"
	"\"policyTypes\":[\"Ingress\",\"Egress\"],"
	"\"ingress\":[{\"from\":[{\"podSelector\":"
	"{\"matchLabels\":{\"app\":\"a\"}}}]}]}}";

static int build_policy(struct pl_tables *t)
{
	t->acl = two_pods_policy(POLICY, POD_A, POD_B, 2, 1);
	return t->acl != NULL ? 0 : -1;
}

static int build_tables(void)
{
	if (two_pods_tables(&tables, N_NH, false, "ho") != 0)
		return -1;
	return build_policy(&tables);
}

/* ---------------------------------------------------------------- frames */

static struct rte_mbuf *tcp_frame(uint16_t port, uint32_t src, uint32_t dst,
				  uint16_t sp, uint16_t dp, uint8_t flags)
{
	uint8_t tcp[20] = {0};
	struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64, .proto = IPPROTO_TCP,
			.src = src, .dst = dst, .plen = sizeof(tcp),
			.payload = tcp};
	struct frame f;

	put16(tcp, sp);
	put16(tcp + 2, dp);
	tcp[12] = 0x50;
	tcp[13] = flags;
	put16(tcp + 14, 65535);
	frame_ip(&f, MAC_GW, port == P_A ? MAC_A : MAC_B, &h, 0);
	return frame_mbuf(mp, &f, port);
}

/* ------------------------------------------------------------ the workers */

struct run {
	bool handoff;
	atomic_bool stop;
	atomic_uint established;  /* ACKs x/b received */
	atomic_uint leaked;       /* frames x/a should never have received */
	atomic_uint opened;       /* SYNs x/a sent */
	atomic_uint bogus_sent;   /* frames of each bogus kind x/b sent */
	struct pl_handoff *ho;
	struct worker {
		struct run *r;
		unsigned int id;
		uint16_t port;
		struct pl_ctx ctx;
		struct dp_lcore_stats st __rte_cache_aligned;
		struct acl_worker *aw;
	} w[2];
};

static void to_wire(uint16_t port, struct rte_mbuf *m)
{
	if (m == NULL || rte_ring_mp_enqueue(wire[port], m) != 0) {
		fprintf(stderr, "FAIL: wire %u full or no mbuf\n", port);
		abort();
	}
}

/* A pod receives a frame the worker sent it; it answers through its own
 * port (the ring the worker owning that port polls). */
static void deliver(struct run *r, uint16_t port, struct rte_mbuf *m)
{
	const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, 14);
	const uint8_t *tcp = ip + 20;
	uint16_t sp = (uint16_t)(tcp[0] << 8 | tcp[1]);
	uint16_t dp = (uint16_t)(tcp[2] << 8 | tcp[3]);
	uint8_t fl = tcp[13];

	if (port == P_B && fl == TCP_SYN && sp >= SPORT0 &&
	    sp < SPORT0 + N_FLOWS)
		to_wire(P_B, tcp_frame(P_B, POD_B, POD_A, dp, sp,
				       TCP_SYN | TCP_ACK));
	else if (port == P_B && fl == TCP_ACK)
		atomic_fetch_add(&r->established, 1);
	else if (port == P_A && fl == (TCP_SYN | TCP_ACK) && dp >= SPORT0 &&
		 dp < SPORT0 + N_FLOWS)
		to_wire(P_A, tcp_frame(P_A, POD_A, POD_B, dp, sp, TCP_ACK));
	else
		atomic_fetch_add(&r->leaked, 1);
	rte_pktmbuf_free(m);
}

/* Stands in for pl_ctx_flush(): hand the buffered frames to the pods. */
static void deliver_tx(struct worker *w)
{
	for (uint16_t p = P_A; p < N_PORTS; p++) {
		struct pl_txbuf *b = &w->ctx.tx[p];

		for (uint16_t i = 0; i < b->n; i++)
			deliver(w->r, p, b->pkts[i]);
		b->n = 0;
	}
	txbufs_relist(&w->ctx, N_PORTS);
}

/* Bogus frames that reached their drop, as read by the other thread: the
 * counters are the workers' own, so load them whole, not cached. */
static uint64_t bogus_dropped(const struct run *r)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < 2; i++)
		n += __atomic_load_n(&r->w[i].st.drop[DP_DROP_CT_INVALID],
				     __ATOMIC_RELAXED) +
		     __atomic_load_n(&r->w[i].st.drop[DP_DROP_POLICY_DENY],
				     __ATOMIC_RELAXED);
	return n;
}

/* x/a opens connections while fewer than WINDOW are unfinished; x/b sends
 * its bogus frames spread over the run, fewer than BOGUS_WINDOW pairs
 * unresolved (without that bound a stalled worker 0 let x/b's backlog of
 * bogus frames fill its handoff ring on a loaded CI host). */
static void generate(struct worker *w, unsigned int *next)
{
	struct run *r = w->r;

	if (w->port == P_A) {
		while (*next < N_FLOWS && rte_ring_count(wire[P_A]) < PL_BURST &&
		       *next - atomic_load(&r->established) < WINDOW) {
			to_wire(P_A, tcp_frame(P_A, POD_A, POD_B,
					       (uint16_t)(SPORT0 + *next), HTTP,
					       TCP_SYN));
			atomic_fetch_add(&r->opened, 1);
			(*next)++;
		}
	} else if (*next < N_BOGUS &&
		   *next * N_FLOWS <= atomic_load(&r->opened) * N_BOGUS &&
		   2 * *next < bogus_dropped(r) + 2 * BOGUS_WINDOW) {
		uint16_t sp = (uint16_t)(BOGUS0 + *next);

		to_wire(P_B, tcp_frame(P_B, POD_B, POD_A, HTTP, sp,
				       TCP_SYN | TCP_ACK));
		to_wire(P_B, tcp_frame(P_B, POD_B, POD_A, sp, HTTP, TCP_SYN));
		(*next)++;
		atomic_fetch_add(&r->bogus_sent, 1);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rte_mbuf *pkts[PL_BURST];
	unsigned int next = 0;

	while (!atomic_load(&w->r->stop)) {
		pl_ctx_tick(&w->ctx);
		generate(w, &next);
		unsigned int n = rte_ring_sc_dequeue_burst(
			wire[w->port], (void **)pkts, PL_BURST, NULL);
		if (n)
			pl_process_burst(&w->ctx, &tables, w->port, pkts,
					 (uint16_t)n);
		deliver_tx(w);
		if (w->ctx.ho != NULL) {
			pl_handoff_drain(&w->ctx, &tables);
			deliver_tx(w);
		}
		pl_ctx_housekeep(&w->ctx);
		if (n == 0)
			sched_yield(); /* two threads may share one core */
	}
	return NULL;
}

static uint64_t drops(const struct run *r, enum dp_drop d)
{
	return r->w[0].st.drop[d] + r->w[1].st.drop[d];
}

/* Run the scenario until it completes or stops making progress. */
static int run(struct run *r)
{
	struct acl_ct_conf cc;
	pthread_t th[2];
	int rc = 0;

	acl_ct_conf_default(&cc);
	cc.max_flows = 4 * N_FLOWS;
	if (r->handoff && !(r->ho = pl_handoff_create(2, HO_RING)))
		return -1;
	for (unsigned int i = 0; i < 2; i++) {
		struct worker *w = &r->w[i];

		w->r = r;
		w->id = i;
		w->port = i == 0 ? P_A : P_B;
		pl_ctx_init(&w->ctx, &w->st, mp, NULL, (uint16_t)i);
		w->aw = acl_worker_create(&cc, i);
		if (w->aw == NULL)
			return -1;
		w->ctx.acl = w->aw;
		if (r->ho)
			pl_ctx_set_handoff(&w->ctx, r->ho, (uint16_t)i);
	}
	for (unsigned int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, worker_main, &r->w[i]))
			return -1;

	/* Done when everything was sent and nothing moved for 50 ms, or
	 * when nothing moved for a second (the per-worker run stalls). */
	uint64_t last = UINT64_MAX, still = 0, t0 = rte_get_tsc_cycles();
	for (;;) {
		rte_delay_us_sleep(10 * 1000);
		uint64_t now = atomic_load(&r->established) +
			       atomic_load(&r->opened) +
			       atomic_load(&r->bogus_sent) +
			       r->w[0].st.handoff_in + r->w[1].st.handoff_in +
			       drops(r, DP_DROP_CT_INVALID);
		still = now == last ? still + 1 : 0;
		last = now;
		bool all_sent = atomic_load(&r->opened) == N_FLOWS &&
				atomic_load(&r->bogus_sent) == N_BOGUS;
		if ((all_sent && still >= 5) || still >= 100)
			break;
		if (rte_get_tsc_cycles() - t0 > 60 * rte_get_tsc_hz()) {
			fprintf(stderr, "FAIL: run did not settle in 60 s\n");
			rc = -1;
			break;
		}
	}
	atomic_store(&r->stop, true);
	for (unsigned int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	return rc;
}

static void run_free(struct run *r)
{
	struct rte_mbuf *m = NULL;

	for (uint16_t p = P_A; p < N_PORTS; p++)
		while (rte_ring_dequeue(wire[p], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	pl_handoff_free(r->ho);
	for (unsigned int i = 0; i < 2; i++)
		acl_worker_free(r->w[i].aw);
}

static void report(const char *what, const struct run *r)
{
	printf("%s: established %u/%u, ct_invalid %lu, policy_deny %lu, "
	       "handoff_full %lu, handed over %lu+%lu, leaked %u\n", what,
	       atomic_load(&r->established), N_FLOWS,
	       (unsigned long)drops(r, DP_DROP_CT_INVALID),
	       (unsigned long)drops(r, DP_DROP_POLICY_DENY),
	       (unsigned long)drops(r, DP_DROP_HANDOFF_FULL),
	       (unsigned long)r->w[0].st.handoff_out,
	       (unsigned long)r->w[1].st.handoff_out,
	       atomic_load(&r->leaked));
}

static bool check_handoff(void)
{
	struct run *r = calloc(1, sizeof(*r));
	bool ok = true;
	uint64_t other = 0;

	r->handoff = true;
	if (run(r) != 0) {
		fprintf(stderr, "FAIL: handoff run setup/settle\n");
		ok = false;
	}
	report("handoff", r);
	for (int d = 0; d < DP_DROP_MAX; d++)
		if (d != DP_DROP_CT_INVALID && d != DP_DROP_POLICY_DENY)
			other += drops(r, (enum dp_drop)d);
	if (atomic_load(&r->established) != N_FLOWS ||
	    drops(r, DP_DROP_CT_INVALID) != N_BOGUS ||
	    drops(r, DP_DROP_POLICY_DENY) != N_BOGUS ||
	    atomic_load(&r->leaked) != 0 || other != 0) {
		fprintf(stderr, "FAIL: handoff: want %u established, %u "
			"ct_invalid, %u policy_deny, nothing else dropped "
			"(%lu) or leaked\n", N_FLOWS, N_BOGUS, N_BOGUS,
			(unsigned long)other);
		ok = false;
	}
	/* Flows are spread: both workers owned some and handed some over. */
	if (r->w[0].st.handoff_out == 0 || r->w[1].st.handoff_out == 0 ||
	    r->w[0].st.handoff_in != r->w[1].st.handoff_out ||
	    r->w[1].st.handoff_in != r->w[0].st.handoff_out) {
		fprintf(stderr, "FAIL: handoff counters inconsistent\n");
		ok = false;
	}
	struct acl_ct_stats s0, s1;
	if (acl_worker_stats(0, &s0) || acl_worker_stats(1, &s1) ||
	    s0.flows + s1.flows != N_FLOWS + N_BOGUS || s0.flows == 0 ||
	    s1.flows == 0) {
		fprintf(stderr, "FAIL: conntrack should hold each flow once "
			"(%u connections + %u denied SYNs)\n", N_FLOWS,
			N_BOGUS);
		ok = false;
	}
	run_free(r);
	free(r);
	return ok;
}

/* The per-worker design: the test above must be able to see it fail. */
static bool check_per_worker_fails(void)
{
	struct run *r = calloc(1, sizeof(*r));
	bool ok = true;

	r->handoff = false;
	if (run(r) != 0)
		ok = false;
	report("per-worker (must break)", r);
	/* x/a stops at WINDOW unanswered connections: the SYN-ACKs of all
	 * of them, and the bogus ones sent meanwhile, are ct_invalid. */
	if (atomic_load(&r->established) != 0 ||
	    drops(r, DP_DROP_CT_INVALID) !=
		    WINDOW + atomic_load(&r->bogus_sent)) {
		fprintf(stderr, "FAIL: without handoff the replies should "
			"have been dropped\n");
		ok = false;
	}
	run_free(r);
	free(r);
	return ok;
}

int main(void)
{
	bool ok = true;

	if (golden_eal_init("handoff") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("ho_mp", 8191, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	for (uint16_t p = P_A; p < N_PORTS; p++) {
		char name[16];

		snprintf(name, sizeof(name), "ho_wire%u", p);
		wire[p] = rte_ring_create(name, 2048, SOCKET_ID_ANY,
					  RING_F_SC_DEQ);
		if (wire[p] == NULL)
			ok = false;
	}
	if (mp == NULL || !ok || build_tables() < 0) {
		fprintf(stderr, "setup failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	ok = check_handoff() && ok;
	ok = check_per_worker_fails() && ok;
	if (rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "FAIL: %u mbufs leaked\n",
			rte_mempool_in_use_count(mp));
		ok = false;
	}
	acl_set_free(tables.acl);
	rte_fib_free(tables.fib);
	rte_free(tables.nh);
	rte_free(tables.ep);
	rte_free(pl_neigh);
	for (uint16_t p = P_A; p < N_PORTS; p++)
		rte_ring_free(wire[p]);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	printf("%s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
