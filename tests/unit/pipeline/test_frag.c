/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fragments under policy (pipeline/frag_fast.h): a datagram's later
 * fragments are decided with its first one's ports, as behind Linux's
 * defragmentation. The policy lets x/a reach pods' UDP port 5000 only
 * (both pods are ingress-isolated), so:
 *
 *  - a datagram from x/a to x/b:5000 in three fragments arrives whole,
 *    in one burst or over three; to x/b:6000 no fragment arrives;
 *  - a later fragment whose first was never seen is keyed without ports
 *    (frag_noports) and denied;
 *  - a reply from x/b:5000 to x/a (isolated) in fragments passes as a
 *    conntrack reply, all of it;
 *  - fragments of established flows in full bursts: the express lanes
 *    leave first fragments to the general stages, which note them;
 *  - a large ping from x/b to x/a: the fragmented echo reply passes to
 *    isolated x/b, keyed as its query; x/a's own request does not;
 *  - two workers: x/b's fragmented replies are received by worker 1 and
 *    handed to the flow's owner, worker 0, with their ports.
 *
 * Each case is run under each SIMD width the CPU has (the lanes' vector
 * passes differ). Without frag_fast.h every later fragment is dropped.
 */
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "acl/acl.h"
#include "acl/ct_fast.h"
#include "dp/drop.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"
#include "tests/unit/golden.h"
#include "tests/unit/pipeline/two_pods.h"
#include "tests/unit/pipeline/txbufs.h"

enum { N_PORTS = P_B + 1 };
enum { N_NH = NH_TWO_PODS_END };

/* x/a may send to UDP 5000 of both pods; nothing else comes in. */
static const char *const POLICY =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"udp5000-from-a\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Ingress\"],"
	"\"ingress\":[{\"from\":[{\"podSelector\":"
	"{\"matchLabels\":{\"app\":\"a\"}}}],"
	"\"ports\":[{\"protocol\":\"UDP\",\"port\":5000}]}]}}";

static struct rte_mempool *mp;
static struct pl_tables t;
static struct acl_set *set1, *set2; /* for one worker, for two */
/* x/b alone isolated (UDP 5000 from x/a): x/b may ping x/a. */
static const char *const POLICY_B =
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"b-udp5000-from-a\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}},"
	"\"policyTypes\":[\"Ingress\"],"
	"\"ingress\":[{\"from\":[{\"podSelector\":"
	"{\"matchLabels\":{\"app\":\"a\"}}}],"
	"\"ports\":[{\"protocol\":\"UDP\",\"port\":5000}]}]}}";
static struct acl_set *set_b;
static int bad;

#define FAILF(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fputc('\n', stderr); bad = 1; } while (0)

/* The three fragments of one 64-byte UDP datagram (its 8-byte header
 * and 56 bytes): 32, 24 and 8 bytes at offsets 0, 32 and 56. */
static const struct {
	uint16_t off8;   /* offset in 8-byte units */
	uint16_t len;    /* IP payload bytes */
	bool more;
} FRAGS[] = {{0, 32, true}, {4, 24, true}, {7, 8, false}};
#define N_FRAGS 3
#define DGRAM_LEN 64

/* Fragment @p k of the datagram @p id of protocol @p proto, whose first
 * 8 bytes are @p l4, from @p src to @p dst, as it arrives on @p port. */
static struct rte_mbuf *frag_l4(uint16_t port, uint32_t src, uint32_t dst,
				uint8_t proto, const uint8_t l4[8],
				uint16_t id, unsigned int k)
{
	uint8_t d[DGRAM_LEN];
	struct frame f;

	for (unsigned int i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(id + i);
	memcpy(d, l4, 8);
	struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64, .proto = proto, .id = id,
			.frag = (uint16_t)((FRAGS[k].more ? G_MF : 0) |
					   FRAGS[k].off8),
			.src = src, .dst = dst, .plen = FRAGS[k].len,
			.payload = d + FRAGS[k].off8 * 8};
	frame_ip(&f, MAC_GW, port == P_A ? MAC_A : MAC_B, &h, 0);
	return frame_mbuf(mp, &f, port);
}

/* Fragment @p k of the UDP datagram @p id from @p src:@p sp to
 * @p dst:@p dp. */
static struct rte_mbuf *frag(uint16_t port, uint32_t src, uint32_t dst,
			     uint16_t sp, uint16_t dp, uint16_t id,
			     unsigned int k)
{
	uint8_t l4[8] = {0};

	put16(l4, sp);
	put16(l4 + 2, dp);
	put16(l4 + 4, DGRAM_LEN);
	return frag_l4(port, src, dst, IPPROTO_UDP, l4, id, k);
}

/* An ICMP echo request (@p type 8) or reply (0) of @p qid, seq 1, in
 * fragment @p k of datagram @p id (the checksum is not tested). */
static struct rte_mbuf *echo_frag(uint16_t port, uint32_t src, uint32_t dst,
				  uint8_t type, uint16_t qid, uint16_t id,
				  unsigned int k)
{
	uint8_t l4[8] = {type, 0, 0, 0, 0, 0, 0, 1};

	put16(l4 + 4, qid);
	return frag_l4(port, src, dst, IPPROTO_ICMP, l4, id, k);
}

/* An unfragmented UDP datagram. */
static struct rte_mbuf *udp(uint16_t port, uint32_t src, uint32_t dst,
			    uint16_t sp, uint16_t dp)
{
	return two_pods_udp(mp, port, port == P_A ? MAC_A : MAC_B, src, dst,
			    sp, dp);
}

/* The frames buffered for @p port in @p c since the last call, freed. */
static unsigned int take(struct pl_ctx *c, uint16_t port)
{
	return txbufs_take(c, port, N_PORTS);
}

static void burst(struct pl_ctx *c, uint16_t port, struct rte_mbuf **m,
		  uint16_t n)
{
	/* Every burst meets the express lane (it rests after a refusal). */
	c->express_rest[port] = 0;
	pl_process_burst(c, &t, port, m, n);
}

/* One datagram in fragments, in one burst (@p split false) or one a
 * burst: how many fragments reached @p to_port. */
static unsigned int datagram(struct pl_ctx *c, uint16_t port,
			     uint16_t to_port, uint32_t src, uint32_t dst,
			     uint16_t sp, uint16_t dp, uint16_t id, bool split)
{
	struct rte_mbuf *m[N_FRAGS];

	take(c, to_port);
	for (unsigned int k = 0; k < N_FRAGS; k++)
		m[k] = frag(port, src, dst, sp, dp, id, k);
	if (split)
		for (unsigned int k = 0; k < N_FRAGS; k++)
			burst(c, port, &m[k], 1);
	else
		burst(c, port, m, N_FRAGS);
	return take(c, to_port);
}

static void one_worker(struct pl_ctx *c, uint16_t base)
{
	for (int split = 0; split < 2; split++) {
		unsigned int got = datagram(c, P_A, P_B, POD_A, POD_B,
					    (uint16_t)(base + split), 5000,
					    (uint16_t)(base + split), split);
		if (got != N_FRAGS)
			FAILF("x/a -> x/b:5000 (%s): %u of %d fragments",
			      split ? "a fragment a burst" : "one burst", got,
			      N_FRAGS);
		got = datagram(c, P_A, P_B, POD_A, POD_B,
			       (uint16_t)(base + split), 6000,
			       (uint16_t)(base + 10 + split), split);
		if (got != 0)
			FAILF("x/a -> x/b:6000: %u fragments passed", got);
	}

	/* A later fragment alone: no ports, no rule for it. */
	uint64_t noports = c->st->frag_noports;
	uint64_t denied = c->st->drop[DP_DROP_POLICY_DENY];
	struct rte_mbuf *m = frag(P_A, POD_A, POD_B, base, 5000,
				  (uint16_t)(base + 20), 1);
	burst(c, P_A, &m, 1);
	if (take(c, P_B) != 0 || c->st->frag_noports != noports + 1 ||
	    c->st->drop[DP_DROP_POLICY_DENY] != denied + 1)
		FAILF("a later fragment alone: frag_noports +%lu, "
		      "policy_deny +%lu",
		      (unsigned long)(c->st->frag_noports - noports),
		      (unsigned long)(c->st->drop[DP_DROP_POLICY_DENY] -
				      denied));

	/* A fragmented reply to isolated x/a. */
	uint16_t sp = (uint16_t)(base + 30);
	m = udp(P_A, POD_A, POD_B, sp, 5000);
	burst(c, P_A, &m, 1);
	if (take(c, P_B) != 1)
		FAILF("x/a -> x/b:5000 request not delivered");
	for (int split = 0; split < 2; split++) {
		unsigned int got = datagram(c, P_B, P_A, POD_B, POD_A, 5000,
					    sp, (uint16_t)(base + 40 + split),
					    split);
		if (got != N_FRAGS)
			FAILF("reply x/b:5000 -> x/a (%s): %u of %d fragments",
			      split ? "a fragment a burst" : "one burst", got,
			      N_FRAGS);
	}

	/* Established flows, fragments in full bursts: 16 first fragments
	 * (one per flow), then their later ones. */
	enum { NF = 16 };
	struct rte_mbuf *b[NF];
	uint16_t sp0 = (uint16_t)(base + 100);
	for (int round = 0; round < 2; round++) {
		for (unsigned int j = 0; j < NF; j++)
			b[j] = udp(P_A, POD_A, POD_B, (uint16_t)(sp0 + j), 5000);
		burst(c, P_A, b, NF);
	}
	if (take(c, P_B) != 2 * NF)
		FAILF("established flows not set up");
	for (unsigned int k = 0; k < N_FRAGS; k++) {
		for (unsigned int j = 0; j < NF; j++)
			b[j] = frag(P_A, POD_A, POD_B, (uint16_t)(sp0 + j),
				    5000, (uint16_t)(base + 200 + j), k);
		burst(c, P_A, b, NF);
	}
	unsigned int got = take(c, P_B);
	if (got != N_FRAGS * NF)
		FAILF("fragments of established flows in full bursts: %u of %d",
		      got, N_FRAGS * NF);
}

/* x/b pings x/a with a large echo request; x/a's reply, in fragments, is
 * a conntrack reply to isolated x/b: all of it, keyed as the query (its
 * type and id; acl/ct.c keys ICMP queries on the request's type). */
static void icmp_reply(struct pl_ctx *c, uint16_t base)
{
	uint16_t qid = (uint16_t)(base + 60);
	struct rte_mbuf *m[N_FRAGS];

	for (unsigned int k = 0; k < N_FRAGS; k++)
		m[k] = echo_frag(P_B, POD_B, POD_A, 8, qid,
				 (uint16_t)(base + 61), k);
	burst(c, P_B, m, N_FRAGS);
	unsigned int got = take(c, P_A);
	if (got != N_FRAGS)
		FAILF("echo request x/b -> x/a: %u of %d fragments", got,
		      N_FRAGS);
	for (unsigned int k = 0; k < N_FRAGS; k++)
		m[k] = echo_frag(P_A, POD_A, POD_B, 0, qid,
				 (uint16_t)(base + 62), k);
	burst(c, P_A, m, N_FRAGS);
	got = take(c, P_B);
	if (got != N_FRAGS)
		FAILF("echo reply x/a -> isolated x/b: %u of %d fragments",
		      got, N_FRAGS);
	/* x/a's own request with the same id is no reply: denied. */
	for (unsigned int k = 0; k < N_FRAGS; k++)
		m[k] = echo_frag(P_A, POD_A, POD_B, 8, qid,
				 (uint16_t)(base + 63), k);
	burst(c, P_A, m, N_FRAGS);
	got = take(c, P_B);
	if (got != 0)
		FAILF("echo request x/a -> isolated x/b: %u fragments", got);
}

/* The worker that owns the flow x/a:@p sp - x/b:@p dp (UDP). */
static unsigned int owner(uint16_t sp, uint16_t dp)
{
	struct acl_flow f;

	memset(&f, 0, sizeof(f));
	acl_ct_key_make(&f, POD_A, POD_B, sp, dp, IPPROTO_UDP);
	return acl_flow_owner(&f, 2);
}

/*
 * Worker 0 polls x/a's port, worker 1 x/b's (no RSS). The case meant: the
 * worker that receives the fragments would own them without their ports
 * (the port-less key is the pair's, both ways), and the flow is the other
 * worker's, so the later fragments must be handed over with their ports.
 * Which worker owns the port-less key picks the direction: worker 1, then
 * x/b's fragmented reply to a request of x/a; worker 0, then x/a's
 * fragmented request.
 */
static void two_workers(struct pl_ctx *c0, struct pl_ctx *c1, uint16_t base)
{
	unsigned int p = owner(0, 0);
	uint16_t sp = base;

	while (owner(sp, 5000) == p)
		sp++;
	struct pl_ctx *rx = p == 1 ? c1 : c0;
	uint16_t to_port = p == 1 ? P_A : P_B;
	if (p == 1) {
		struct rte_mbuf *m = udp(P_A, POD_A, POD_B, sp, 5000);
		burst(c0, P_A, &m, 1);
		pl_handoff_drain(c1, &t);
		if (take(c0, P_B) + take(c1, P_B) != 1)
			FAILF("two workers: request not delivered");
	}
	uint64_t ho = rx->st->handoff_out;
	for (int split = 0; split < 2; split++) {
		struct rte_mbuf *f[N_FRAGS];
		uint16_t id = (uint16_t)(base + 50 + split);
		for (unsigned int k = 0; k < N_FRAGS; k++)
			f[k] = p == 1 ?
				frag(P_B, POD_B, POD_A, 5000, sp, id, k) :
				frag(P_A, POD_A, POD_B, sp, 5000, id, k);
		if (split)
			for (unsigned int k = 0; k < N_FRAGS; k++)
				burst(rx, p == 1 ? P_B : P_A, &f[k], 1);
		else
			burst(rx, p == 1 ? P_B : P_A, f, N_FRAGS);
		pl_handoff_drain(c0, &t);
		pl_handoff_drain(c1, &t);
		unsigned int got = take(c0, to_port) + take(c1, to_port);
		if (got != N_FRAGS)
			FAILF("two workers, %s (%s): %u of %d fragments",
			      p == 1 ? "reply x/b -> x/a" : "x/a -> x/b",
			      split ? "a fragment a burst" : "one burst", got,
			      N_FRAGS);
	}
	if (rx->st->handoff_out - ho != 2 * N_FRAGS)
		FAILF("two workers: %lu of %d fragments handed over",
		      (unsigned long)(rx->st->handoff_out - ho), 2 * N_FRAGS);
}

int main(void)
{
	struct acl_ct_conf cc;
	static struct dp_lcore_stats st[3];
	static struct pl_ctx c, c0, c1;

	if (golden_eal_init("frag") < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("fr_mp", 2047, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	acl_ct_conf_default(&cc);
	cc.max_flows = 4096;
	struct acl_worker *aw = acl_worker_create(&cc, 0);
	if (mp == NULL || aw == NULL ||
	    two_pods_tables(&t, N_NH, true, "fr") != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	set1 = two_pods_policy(POLICY, POD_A, POD_B, 1, 1);
	set2 = two_pods_policy(POLICY, POD_A, POD_B, 2, 1);
	set_b = two_pods_policy(POLICY_B, POD_A, POD_B, 1, 2);
	struct pl_handoff *h = pl_handoff_create(2, 256);
	if (set1 == NULL || set2 == NULL || set_b == NULL || h == NULL) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	for (size_t w = 0; w < RTE_DIM(golden_widths); w++) {
		golden_simd_width(golden_widths[w]);
		uint16_t base = (uint16_t)(1000 + 1000 * w);

		t.acl = set1;
		pl_ctx_init(&c, &st[0], mp, NULL, 0);
		c.acl = aw;
		one_worker(&c, base);
		t.acl = set_b;
		icmp_reply(&c, base);

		t.acl = set2;
		struct acl_worker *w0 = acl_worker_create(&cc, 0);
		struct acl_worker *w1 = acl_worker_create(&cc, 1);
		if (w0 == NULL || w1 == NULL) {
			fprintf(stderr, "FAIL: setup\n");
			return 1;
		}
		pl_ctx_init(&c0, &st[1], mp, NULL, 0);
		pl_ctx_init(&c1, &st[2], mp, NULL, 1);
		c0.acl = w0;
		c1.acl = w1;
		pl_ctx_set_handoff(&c0, h, 0);
		pl_ctx_set_handoff(&c1, h, 1);
		two_workers(&c0, &c1, base);
		acl_worker_free(w0);
		acl_worker_free(w1);
	}
	if (rte_mempool_in_use_count(mp) != 0)
		FAILF("%u mbufs leaked", rte_mempool_in_use_count(mp));
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad;
}
