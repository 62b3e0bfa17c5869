/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The express lane (pipeline/express_fast.h) against
 * the general stages: two worker contexts, one with the lane and one
 * without (pl_ctx.no_express), each with its own conntrack, get the same
 * random bursts over the same tables and must send the same frames, byte
 * for byte (an IPIP frame's outer ID aside, frames_same()) and in order,
 * punt the same, and count the same drops, after every burst.
 *
 * The traffic is what the lane must take (established flows: pod to pod,
 * pod to a remote pod through IPIP, and back decapsulated) mixed with what
 * it must leave to the general stages at the right place in a burst: new
 * flows, denied flows, TCP SYN/FIN/RST, bad checksums, TTL 1, spoofed
 * addresses, padding inside and outside a tunnel, fragments, truncated
 * headers, IPIP from unknown nodes, and a neighbor that comes and goes.
 * Halfway through, the policy changes (a new set, a new generation):
 * flows it no longer allows must be cut in both.
 *
 * Now and then a burst carries frames in two segments, cut anywhere, some
 * with Ethernet padding: the lanes take those whose headers are in the
 * first segment.
 *
 * The run must also show that the lane took a good share of the packets
 * (25 %: 51 % with the default seed, 27-52 % with seeds 1-8; where a
 * connection's frames end the lane's prefix, the lane rests), so that the
 * comparison is not of the general stages with themselves. The share no
 * longer depends on the conntrack hash's random keys: while the fast hit
 * took only a flow's home slot, a key set that put a busy flow past it
 * cut the share to 21-43 % in about one run in five (51 % in 42 runs
 * since).
 * EXPRESS_SEED=N replays another random run.
 */
#include <stdlib.h>

#include <rte_eth_ring.h>
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

enum { P_UP = 0, N_PORTS = P_B + 1 };
enum { NH_IPIP_B = NH_TWO_PODS_END, N_NH };
enum { S_NB = S_B + 1 };

#define NODE_A IP4A(192, 168, 10, 11)
#define NODE_B IP4A(192, 168, 10, 12)
#define NODE_X IP4A(192, 168, 10, 99)
#define REMOTE IP4A(10, 244, 2, 5)
#define REMOTE2 IP4A(10, 244, 2, 9)

#define N_BURSTS 20000
#define SENT_MAX (4 * PL_TX_BURST)
#define FLOWS_PER_KIND 6

static const uint8_t MAC_UP[6] = {0x02, 0, 0, 0, 0x0a, 0x01};
static const uint8_t MAC_NB[6] = {0x02, 0, 0, 0, 0x0b, 0x01};
static const uint8_t MAC_X[6] = {0x02, 0, 0, 0, 0x99, 0x99};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x05};

static struct rte_mempool *mp;
static struct pl_tables tables;
/* The tables a handoff's owner may already have when it takes the frames
 * (pl_handoff_drain() routes with its own): x/b has moved behind node B.
 * A decapsulated frame must then be dropped, not sent back into the
 * underlay: the flags the lane hands over with must say it was tunnelled. */
static struct pl_tables moved;
static rte_be32_t node_set[8];
/* The FIB of the tables, and one in which x/b's /32 leads to node B
 * instead: run() swaps them (with fib_gen) while flows are established.
 * The lanes route such flows by the hops their conntrack entries recorded
 * (ct_fast.h acl_ct_entry.hop), which must follow the FIB. */
static struct rte_fib *fib_home, *fib_moved;

/* ------------------------------------------------------------- the world */

/* Generation 1: x/b takes TCP 80 and UDP 53 from x/a, UDP 53 from the
 * remote block. Generation 2: UDP 53 from x/a only. */
static const char *const POLICY[2] = {
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"b-in\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}},"
	"\"policyTypes\":[\"Ingress\"],\"ingress\":["
	"{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}}}],"
	"\"ports\":[{\"protocol\":\"TCP\",\"port\":80},"
	"{\"protocol\":\"UDP\",\"port\":53}]},"
	"{\"from\":[{\"ipBlock\":{\"cidr\":\"10.244.2.0/24\"}}],"
	"\"ports\":[{\"protocol\":\"UDP\",\"port\":53}]}]}}",
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"b-in\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}},"
	"\"policyTypes\":[\"Ingress\"],\"ingress\":["
	"{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}}}],"
	"\"ports\":[{\"protocol\":\"UDP\",\"port\":53}]}]}}",
};

static struct acl_set *build_policy(int which)
{
	/* Generations from one counter, as control numbers them: policy 0
	 * is 1, run()'s two FIB swaps take 2 and 3, policy 1 is 4. */
	return two_pods_policy(POLICY[which], POD_A, POD_B, 1,
			       which == 0 ? 1 : 4);
}

static int build_tables(void)
{
	struct pl_tables *t = &tables;

	if (two_pods_tables(t, N_NH, true, "ex") != 0)
		return -1;
	two_pods_neigh(S_NB, MAC_NB, true);
	t->nh[NH_IPIP_B] = (struct pl_nh){
		.kind = PL_NH_IPIP, .port = P_UP, .neigh = S_NB, .mtu = 1480,
		.outer_dst = rte_cpu_to_be_32(NODE_B)};
	t->port[P_UP] = (struct pl_port){.role = PL_PORT_UPLINK};
	memcpy(t->port[P_UP].mac.addr_bytes, MAC_UP, 6);
	t->self_ip = t->icmp_src = rte_cpu_to_be_32(NODE_A);
	t->uplink_port = P_UP;
	t->node_set = node_set;
	t->node_set_mask = RTE_DIM(node_set) - 1;
	rte_be32_t nb = rte_cpu_to_be_32(NODE_B);
	node_set[pl_node_set_slot(nb, t->node_set_mask)] = nb;

	/* Routes that cover the special addresses too (as a default route
	 * does on a node): the address tests alone must stop those. */
	if (rte_fib_add(t->fib, IP4A(10, 244, 2, 0), 26, NH_IPIP_B) ||
	    rte_fib_add(t->fib, IP4A(224, 0, 0, 0), 3, NH_IPIP_B) ||
	    rte_fib_add(t->fib, 0, 8, NH_IPIP_B))
		return -1;
	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = NH_NONE,
		.max_routes = 8,
		.dir24_8 = {.nh_sz = RTE_FIB_DIR24_8_1B, .num_tbl8 = 4},
	};
	fib_home = t->fib;
	fib_moved = rte_fib_create("ex_fib_moved", SOCKET_ID_ANY, &fc);
	if (fib_moved == NULL ||
	    rte_fib_add(fib_moved, POD_A, 32, NH_POD_A) ||
	    rte_fib_add(fib_moved, POD_B, 32, NH_IPIP_B) ||
	    rte_fib_add(fib_moved, IP4A(10, 244, 2, 0), 26, NH_IPIP_B) ||
	    rte_fib_add(fib_moved, IP4A(224, 0, 0, 0), 3, NH_IPIP_B) ||
	    rte_fib_add(fib_moved, 0, 8, NH_IPIP_B))
		return -1;
	t->acl = build_policy(0);
	moved = *t;
	moved.nh = rte_zmalloc("ex_nh_moved", sizeof(*t->nh) * N_NH, 0);
	if (moved.nh == NULL)
		return -1;
	memcpy(moved.nh, t->nh, sizeof(*t->nh) * N_NH);
	moved.nh[NH_POD_B] = t->nh[NH_IPIP_B];
	moved.gen = 2;
	return t->acl != NULL ? 0 : -1;
}

/* ---------------------------------------------------------------- frames */

/* Flow kinds: who opens, to whom, what. */
struct kind {
	uint32_t src, dst;
	uint8_t proto;
	uint16_t sport0, dport;
};

static const struct kind kinds[] = {
	{POD_A, POD_B, IPPROTO_TCP, 10000, 80},   /* allowed, then cut */
	{POD_A, POD_B, IPPROTO_UDP, 20000, 53},   /* allowed */
	{POD_A, POD_B, IPPROTO_UDP, 30000, 9999}, /* denied */
	{POD_A, REMOTE, IPPROTO_UDP, 40000, 53},  /* encap, allowed */
	{REMOTE, POD_A, IPPROTO_UDP, 50000, 7000},/* decap, allowed */
	{REMOTE, POD_B, IPPROTO_UDP, 60000, 53},  /* decap, allowed, then cut */
	{REMOTE, POD_B, IPPROTO_TCP, 61000, 80},  /* decap, denied */
	{POD_B, POD_A, IPPROTO_TCP, 62000, 22},   /* b's own, allowed */
	{REMOTE, POD_A, IPPROTO_TCP, 63000, 443}, /* decap, allowed */
	{POD_A, REMOTE, IPPROTO_TCP, 64000, 443}, /* encap, allowed */
	/* A tunnel's inner packet to another node's pod: dropped
	 * (ipip_inner_not_local), never forwarded on. Last: drawn less. */
	{REMOTE, REMOTE2, IPPROTO_UDP, 65000, 53},
};

/* Kinds policy denies: 2 and 6; after the change also 0 and 5. */
static unsigned int kinds_denied = 1u << 2 | 1u << 6;

enum corrupt {
	C_NONE, C_CKSUM, C_TTL1, C_SPOOF_IP, C_SPOOF_MAC, C_PAD, C_FRAG,
	C_SHORT, C_TUNNEL_PAD, C_UNKNOWN_NODE, C_TCP_SHORT, C_OPTIONS,
	C_SPECIAL_DST, /* routed (tables): only the address test stops it */
	C_SPECIAL_SRC, /* a tunnel's inner source (a pod's: spoofing) */
	C_OUTER_DST,   /* a tunnel to another node's address */
	C_OUTER_PROTO, /* an outer header that does not say IPIP */
	C_OUTER_FRAG,  /* an outer fragment (MF or an offset) */
	C_SHORT_L4,    /* a pod's datagram cut inside the ports, which stay
			* in the frame as padding */
	C_NIC_GOOD,    /* the NIC vouches for a header with a wrong sum */
	C_NIC_BAD,     /* the NIC condemns a good header */
	C_NIC_OUTER_BAD, /* ... or a good tunnel's outer one */
	C_ECN,         /* ECN fields at random (a tunnel's outer and inner:
			* RFC 6040 at decapsulation) */
	C_L2_OTHER,    /* to another host's MAC: the uplink drops it (a pod
			* port takes any) */
	C_L2_GROUP,    /* to the broadcast or a multicast MAC: the uplink
			* drops IPv4 in it (a pod port takes any) */
	C_FUZZ, /* random bytes flipped, maybe truncated */
	C_MAX,
};

static uint16_t port_of(uint32_t ip)
{
	return ip == POD_A ? P_A : ip == POD_B ? P_B : P_UP;
}

/*
 * TCP flags by the generator's view of each connection: SYN, SYN-ACK,
 * then ACKs both ways; now and then a FIN or RST starts it over. A packet
 * its sender should not send yet (the other side's turn) is sent anyway
 * once in a while: conntrack must refuse it alike in both contexts.
 */
static uint8_t tcp_stage[RTE_DIM(kinds)][FLOWS_PER_KIND];

static bool tcp_flags_pick(unsigned int kind, unsigned int flow, bool reply,
			   uint8_t *flags)
{
	uint8_t *st = &tcp_stage[kind][flow];

	if (*st == 0 && !reply) {
		*flags = 0x02;
		*st = 1;
	} else if (*st == 1 && reply) {
		*flags = 0x12;
		*st = 2;
	} else if (*st == 2 && !reply) {
		*flags = 0x10;
		*st = 3;
	} else if (*st == 3) {
		int r = rand() % 1000;
		*flags = r == 0 ? 0x11 : r == 1 ? 0x04 : r < 100 ? 0x10 : 0x18;
		if (r < 2)
			*st = 0;
	} else if (rand() % 50 == 0) {
		*flags = 0x10;
	} else {
		return false;
	}
	return true;
}

/* One frame from @p src to @p dst as it arrives on src's port. */
static void make_frame(struct frame *f, uint32_t src, uint32_t dst,
		       uint8_t proto, uint16_t sp, uint16_t dp, uint8_t flags,
		       int c)
{
	uint8_t l4[64] = {0};
	uint16_t l4len = proto == IPPROTO_TCP ? 20 : 26;
	static uint16_t id;

	put16(l4, sp);
	put16(l4 + 2, dp);
	if (proto == IPPROTO_TCP) {
		l4[12] = 0x50;
		l4[13] = flags;
		if (c == C_TCP_SHORT)
			l4len = 12;
	} else {
		put16(l4 + 4, l4len);
	}
	struct ip4 h = {.ver = 4, .ihl = c == C_OPTIONS ? 6 : 5, .ttl = 64,
			.proto = proto, .id = id++, .src = src, .dst = dst,
			.plen = l4len, .payload = l4, .frag = G_DF};
	if (c == C_CKSUM || c == C_NIC_GOOD)
		h.csum_delta = 1;
	if (c == C_SPECIAL_DST) {
		static const uint32_t special[] = {
			0, 0xffffffff, IP4A(224, 0, 0, 5), IP4A(239, 1, 2, 3)};
		h.dst = special[rand() % RTE_DIM(special)];
	}
	if (c == C_SPECIAL_SRC) {
		static const uint32_t special[] = {
			0, 0xffffffff, IP4A(224, 0, 0, 5), IP4A(239, 1, 2, 3)};
		h.src = special[rand() % RTE_DIM(special)];
	}
	if (c == C_TTL1)
		h.ttl = 1;
	if (c == C_ECN)
		h.tos = (uint8_t)(rand() % 4);
	if (c == C_FRAG)
		h.frag = 0x0004;
	if (c == C_SPOOF_IP && port_of(src) != P_UP)
		h.src = src == POD_A ? POD_B : POD_A;
	if (port_of(src) != P_UP) {
		const uint8_t *smac = src == POD_A ? MAC_A : MAC_B;
		frame_ip(f, MAC_GW, c == C_SPOOF_MAC ? MAC_X : smac, &h,
			 c == C_PAD ? 80 : 0);
	} else {
		struct ip4 o = {.ver = 4, .ihl = 5, .ttl = 64, .frag = G_DF,
				.id = id++, .src = c == C_UNKNOWN_NODE ?
						   NODE_X : NODE_B,
				.dst = NODE_A};
		if (c == C_CKSUM)
			o.csum_delta = 1, h.csum_delta = 0;
		if (c == C_OUTER_DST)
			o.dst = NODE_X;
		if (c == C_ECN)
			o.tos = (uint8_t)(rand() % 4);
		if (c == C_OUTER_FRAG)
			o.frag = rand() % 2 ? 0x2000 : 0x0001;
		if (c == C_TUNNEL_PAD || c == C_OUTER_PROTO) {
			/* The outer datagram carries 6 bytes past the inner. */
			uint8_t in[FRAME_MAX];
			unsigned int n = ip4_bytes(in, &h);
			unsigned int pad = c == C_TUNNEL_PAD ? 6 : 0;
			memset(in + n, 0, pad);
			o.plen = (uint16_t)(n + pad);
			o.payload = in;
			o.proto = c == C_TUNNEL_PAD ? 4 : IPPROTO_UDP;
			frame_ip(f, MAC_UP, MAC_NB, &o, 0);
		} else {
			frame_ipip(f, MAC_UP, MAC_NB, o, &h);
		}
		if (c == C_PAD)
			while (f->len < 120)
				f->b[f->len++] = 0;
	}
	if (c == C_L2_OTHER)
		memcpy(f->b, MAC_X, 6);
	if (c == C_L2_GROUP)
		memcpy(f->b, rand() % 2 ? MAC_BCAST : MAC_MCAST, 6);
	if (c == C_SHORT)
		f->len = 14 + 20 + 2;
	if (c == C_SHORT_L4 && port_of(src) != P_UP) {
		uint8_t *ip = f->b + 14;

		put16(ip + 2, (uint16_t)(20 + rand() % 4));
		put16(ip + 10, 0);
		put16(ip + 10, ref_csum(ip, 20));
	}
	if (c == C_NIC_GOOD)
		f->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	if (c == C_NIC_BAD)
		f->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
	if (c == C_NIC_OUTER_BAD)
		f->ol_flags = RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD;
	if (c == C_FUZZ) {
		for (int i = 1 + rand() % 3; i > 0; i--)
			f->b[rand() % RTE_MIN(f->len, 80)] ^=
				(uint8_t)(1 + rand() % 255);
		if (rand() % 3 == 0)
			f->len = (uint16_t)(1 + rand() % f->len);
	}
}

/* ------------------------------------------------------------- the run */

/* One way of running the pipeline: worker 0 receives every burst; with
 * two workers, worker 1 finishes the flows it owns (pl_handoff_drain()). */
struct worker {
	struct pl_ctx ctx;
	struct dp_lcore_stats st __rte_cache_aligned;
	struct acl_worker *aw;
	unsigned int wid; /* aw's in the conntrack registry */
	struct rte_ring *punt;
	/* What its full tx buffers sent (pl_txbuf_send()), per port, since
	 * the last comparison. */
	struct rte_mbuf *sent[N_PORTS][SENT_MAX];
	uint16_t n_sent[N_PORTS];
};

/*
 * Every port is a ring ethdev (port p is port_ring[p]): the test keeps the
 * tx buffers over several bursts, as a worker polling several queues
 * before its flush does, so that they fill and are sent mid-iteration.
 */
static struct rte_ring *port_ring[N_PORTS];

static int ports_init(void)
{
	char name[32];

	for (uint16_t p = 0; p < N_PORTS; p++) {
		snprintf(name, sizeof(name), "ex_port%u", p);
		port_ring[p] = rte_ring_create(name, 1024, SOCKET_ID_ANY,
					       RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "ex_eth%u", p);
		/* A tx queue per worker (pl_ctx's txq), both into the ring;
		 * the test collects after each worker. */
		struct rte_ring *r[2] = {port_ring[p], port_ring[p]};
		struct rte_eth_conf conf = {0};
		if (port_ring[p] == NULL ||
		    rte_eth_from_rings(name, r, 1, r, 2, SOCKET_ID_ANY) != p ||
		    rte_eth_dev_configure(p, 1, 2, &conf) != 0 ||
		    rte_eth_rx_queue_setup(p, 0, 64, SOCKET_ID_ANY, NULL, mp) != 0)
			return -1;
		for (uint16_t q = 0; q < 2; q++)
			if (rte_eth_tx_queue_setup(p, q, 64, SOCKET_ID_ANY,
						   NULL) != 0)
				return -1;
		if (rte_eth_dev_start(p) != 0)
			return -1;
	}
	return 0;
}

/* Move what @p w just sent from the port rings to its lists. */
static void collect_sent(struct worker *w)
{
	for (uint16_t p = 0; p < N_PORTS; p++) {
		struct rte_mbuf *m;
		while (rte_ring_dequeue(port_ring[p], (void **)&m) == 0) {
			/* A burst sends at most a full buffer and itself. */
			if (w->n_sent[p] == SENT_MAX) {
				fprintf(stderr, "FAIL: port %u sent too much\n", p);
				abort();
			}
			w->sent[p][w->n_sent[p]++] = m;
		}
	}
}

struct side {
	struct worker w[2];
	unsigned int n_workers;
	struct pl_handoff *ho;
};

/* A worker's conntrack entries, one line each without the time left. */
struct ct_text {
	char buf[1 << 20];
	size_t len;
};

static void ct_line(void *arg, const char *line)
{
	struct ct_text *t = arg;
	const char *cut = strstr(line, " expires_in_s=");
	size_t n = cut != NULL ? (size_t)(cut - line) : strlen(line);

	if (t->len + n + 1 < sizeof(t->buf)) {
		memcpy(t->buf + t->len, line, n);
		t->len += n;
		t->buf[t->len++] = '\n';
	}
}

/* Both sides' conntrack must hold the same flows in the same states and
 * directions: a lane that got a flow's direction wrong forwards the same
 * frames but leaves a UDP flow "replied" that only its opener spoke in. */
static int compare_ct(struct worker *e, struct worker *g, unsigned long burst)
{
	static struct ct_text te, tg;

	te.len = tg.len = 0;
	acl_ct_dump(e->wid, UINT32_MAX, e->ctx.now_ms, ct_line,
		    &te);
	acl_ct_dump(g->wid, UINT32_MAX, g->ctx.now_ms, ct_line,
		    &tg);
	if (te.len == tg.len && memcmp(te.buf, tg.buf, te.len) == 0)
		return 0;
	fprintf(stderr, "FAIL burst %lu: conntrack differs\n", burst);
	return 1;
}

/* A port holding frames is on the context's pending list (pl_ctx_flush()
 * sends only those), and no port is on it twice: the list has a slot per
 * port. */
static int pending_ok(const struct pl_ctx *c, const char *who,
		      unsigned long burst)
{
	for (uint16_t p = 0; p < N_PORTS; p++) {
		unsigned int listed = 0;
		for (uint16_t i = 0; i < c->n_pending; i++)
			listed += c->pending[i] == p;
		if ((c->tx[p].n != 0 && listed == 0) || listed > 1) {
			fprintf(stderr, "FAIL burst %lu: %s port %u holds %u "
				"frames and is pending %u times\n", burst, who,
				p, c->tx[p].n, listed);
			return 1;
		}
	}
	return 0;
}

/* An IPv4 header at @p h that kdp numbered from its context's IDs: an
 * IPIP outer header, or an ICMP error of kdp's (precedence 6). */
static bool numbered_by_kdp(const uint8_t *h)
{
	return h[0] == 0x45 &&
	       (h[9] == IPPROTO_IPIP || (h[9] == IPPROTO_ICMP && h[1] == 0xc0));
}

/*
 * The IDs of the headers kdp numbers, and their checksums: the lane
 * numbers the outer IDs of the frames it takes by their place in the
 * burst, skipping those it does not encapsulate (express_fast.h struct
 * pl_express_pre), and kdp's ICMP errors take the next IDs (RFC 6864),
 * so the two sides' IDs may differ there, and their checksums with them.
 * Such frames are compared without those bytes (the outer header's and,
 * in a tunnel, an error's inside it), and the express side's checksums
 * must then be right: an error in the other fields or the sums still
 * fails.
 */
static bool outer_id_only(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	static uint8_t ca[FRAME_MAX], cb[FRAME_MAX];
	uint32_t off[2], n = 0;

	if (len < 14 + 28 || len > FRAME_MAX || a[12] != 0x08 ||
	    a[13] != 0x00 || !numbered_by_kdp(a + 14))
		return false;
	off[n++] = 14;
	if (a[14 + 9] == IPPROTO_IPIP && len >= 14 + 40 &&
	    numbered_by_kdp(a + 34))
		off[n++] = 34;
	memcpy(ca, a, len);
	memcpy(cb, b, len);
	for (uint32_t i = 0; i < n; i++) {
		if (rte_ipv4_cksum((const struct rte_ipv4_hdr *)(a + off[i])))
			return false;
		memset(ca + off[i] + 4, 0, 2);
		memset(cb + off[i] + 4, 0, 2);
		memset(ca + off[i] + 10, 0, 2);
		memset(cb + off[i] + 10, 0, 2);
	}
	/* An error's ICMP checksum covers its quote only: unchanged. */
	return memcmp(ca, cb, len) == 0;
}

/* @p m's bytes, in however many segments, copied to @p buf
 * (FRAME_MAX). */
static const uint8_t *frame_bytes(const struct rte_mbuf *m, uint8_t *buf)
{
	if (m->pkt_len > FRAME_MAX)
		return NULL;
	return rte_pktmbuf_read(m, 0, m->pkt_len, buf);
}

/* The same frames, byte for byte (IPIP: outer_id_only()), in the same
 * segments, on the same port. */
static int frames_same(struct rte_mbuf *a, struct rte_mbuf *b,
		       unsigned long burst, uint16_t p, uint16_t i,
		       const char *where)
{
	static uint8_t ba[FRAME_MAX], bb[FRAME_MAX];
	const uint8_t *fa = frame_bytes(a, ba), *fb = frame_bytes(b, bb);

	if (fa != NULL && fb != NULL && a->pkt_len == b->pkt_len &&
	    a->nb_segs == b->nb_segs && a->data_len == b->data_len &&
	    a->port == b->port &&
	    (memcmp(fa, fb, a->pkt_len) == 0 ||
	     outer_id_only(fa, fb, a->pkt_len)))
		return 1;
	fprintf(stderr, "FAIL burst %lu port %u %s frame %u differs "
		"(%u/%u segments)\n", burst, p, where, i, a->nb_segs,
		b->nb_segs);
	if (fa != NULL && fb != NULL) {
		hexdump("express", fa, a->pkt_len);
		hexdump("general", fb, b->pkt_len);
	}
	return 0;
}

/*
 * frame_mbuf() in two segments, the first of @p split bytes: what a PMD
 * with scattered Rx or mergeable virtio buffers delivers. The lanes must
 * take or leave such a frame exactly as the general stages do.
 */
static struct rte_mbuf *frame_mbuf_2seg(struct rte_mempool *pool,
					const struct frame *f, uint16_t port,
					uint16_t split)
{
	struct frame head = *f, tail = *f;

	head.len = split;
	tail.len = (uint16_t)(f->len - split);
	memcpy(tail.b, f->b + split, tail.len);
	tail.headroom = 0;
	struct rte_mbuf *m = frame_mbuf(pool, &head, port);
	struct rte_mbuf *t = frame_mbuf(pool, &tail, port);
	if (m == NULL || t == NULL || rte_pktmbuf_chain(m, t) != 0) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(t);
		return NULL;
	}
	return m;
}

/*
 * Both sides sent and buffered the same frames in the same order. The
 * buffers are emptied only when @p clear (a flush); @p *fwd counts the
 * express side's frames as they leave the comparison.
 */
static int compare_worker(struct worker *e, struct worker *g,
			  unsigned long burst, bool clear, unsigned long *fwd)
{
	int bad = pending_ok(&e->ctx, "express", burst) |
		  pending_ok(&g->ctx, "general", burst);

	for (uint16_t p = 0; p < N_PORTS; p++) {
		if (e->n_sent[p] != g->n_sent[p]) {
			fprintf(stderr, "FAIL burst %lu port %u: sent %u frames "
				"vs %u\n", burst, p, e->n_sent[p], g->n_sent[p]);
			bad = 1;
		}
		for (uint16_t i = 0; !bad && i < e->n_sent[p]; i++)
			bad = !frames_same(e->sent[p][i], g->sent[p][i], burst,
					   p, i, "sent");
		*fwd += e->n_sent[p];
		rte_pktmbuf_free_bulk(e->sent[p], e->n_sent[p]);
		rte_pktmbuf_free_bulk(g->sent[p], g->n_sent[p]);
		e->n_sent[p] = g->n_sent[p] = 0;
	}
	for (uint16_t p = 0; p < N_PORTS; p++) {
		struct pl_txbuf *be = &e->ctx.tx[p], *bg = &g->ctx.tx[p];

		if (be->n != bg->n) {
			fprintf(stderr, "FAIL burst %lu port %u: %u frames vs %u\n",
				burst, p, be->n, bg->n);
			bad = 1;
		}
		for (uint16_t i = 0; !bad && i < be->n; i++)
			bad = !frames_same(be->pkts[i], bg->pkts[i], burst, p,
					   i, "buffered");
		if (!clear && !bad)
			continue;
		*fwd += be->n;
		rte_pktmbuf_free_bulk(be->pkts, be->n);
		rte_pktmbuf_free_bulk(bg->pkts, bg->n);
		be->n = bg->n = 0;
	}
	/* As pl_ctx_flush() leaves them; kept buffers stay listed. */
	if (clear || bad) {
		txbufs_relist(&e->ctx, N_PORTS);
		txbufs_relist(&g->ctx, N_PORTS);
	}

	struct rte_mbuf *a = NULL, *b = NULL;
	for (;;) {
		int ra = rte_ring_dequeue(e->punt, (void **)&a);
		int rb = rte_ring_dequeue(g->punt, (void **)&b);
		if (ra != 0 || rb != 0) {
			if (ra != rb) {
				fprintf(stderr, "FAIL burst %lu: punts differ\n",
					burst);
				bad = 1;
				rte_pktmbuf_free(ra == 0 ? a : b);
			}
			break;
		}
		/* A held frame kdp numbered (an ICMP error, an IPIP outer
		 * header) may differ in its ID, as a sent one. */
		const uint8_t *fa = rte_pktmbuf_mtod(a, const uint8_t *);
		const uint8_t *fb = rte_pktmbuf_mtod(b, const uint8_t *);
		if (a->hash.usr != b->hash.usr || a->data_len != b->data_len ||
		    (memcmp(fa, fb, a->data_len) != 0 &&
		     !outer_id_only(fa, fb, a->data_len))) {
			fprintf(stderr, "FAIL burst %lu: punted frames differ\n",
				burst);
			hexdump("express", fa, a->data_len);
			hexdump("general", fb, b->data_len);
			bad = 1;
		}
		rte_pktmbuf_free(a);
		rte_pktmbuf_free(b);
	}
	for (int d = 0; d < DP_DROP_MAX; d++)
		if (e->st.drop[d] != g->st.drop[d]) {
			fprintf(stderr, "FAIL burst %lu: %s %lu vs %lu\n", burst,
				dp_drop_name(d), (unsigned long)e->st.drop[d],
				(unsigned long)g->st.drop[d]);
			bad = 1;
		}
	if (e->st.ipip_encap != g->st.ipip_encap ||
	    e->st.ipip_decap != g->st.ipip_decap ||
	    e->st.icmp_sent != g->st.icmp_sent ||
	    e->st.handoff_out != g->st.handoff_out ||
	    e->st.handoff_in != g->st.handoff_in) {
		fprintf(stderr, "FAIL burst %lu: encap/decap/icmp/handoff "
			"counts\n", burst);
		bad = 1;
	}
	return bad;
}

static int side_init(struct side *s, unsigned int id, bool express,
		     unsigned int n_workers)
{
	struct acl_ct_conf cc;
	char name[32];

	memset(s, 0, sizeof(*s));
	s->n_workers = n_workers;
	if (n_workers > 1 && !(s->ho = pl_handoff_create(n_workers, 1024)))
		return -1;
	acl_ct_conf_default(&cc);
	cc.max_flows = 4096;
	for (unsigned int i = 0; i < n_workers; i++) {
		struct worker *w = &s->w[i];

		snprintf(name, sizeof(name), "ex_punt%u_%u", id, i);
		w->punt = rte_ring_create(name, 1024, SOCKET_ID_ANY,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->wid = id * 2 + i;
		w->aw = acl_worker_create(&cc, w->wid);
		if (w->punt == NULL || w->aw == NULL)
			return -1;
		pl_ctx_init(&w->ctx, &w->st, mp, w->punt, (uint16_t)i);
		w->ctx.acl = w->aw;
		w->ctx.no_express = !express;
		if (s->ho)
			pl_ctx_set_handoff(&w->ctx, s->ho, (uint16_t)i);
	}
	return 0;
}

static void side_free(struct side *s)
{
	for (unsigned int i = 0; i < s->n_workers; i++) {
		acl_worker_free(s->w[i].aw);
		rte_ring_free(s->w[i].punt);
	}
	pl_handoff_free(s->ho);
}

/* N_BURSTS random bursts through both sides; the policy changes halfway.
 * Without @p policy, the workers have no conntrack (policy disabled). */
static int run(unsigned int n_workers, bool policy)
{
	struct side e, g;
	unsigned long fwd_e = 0, n_chained = 0;
	int bad = 0;

	if (side_init(&e, 2 * n_workers + 4 * !policy, true, n_workers) ||
	    side_init(&g, 2 * n_workers + 1 + 4 * !policy, false, n_workers)) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	for (unsigned int i = 0; !policy && i < n_workers; i++)
		e.w[i].ctx.acl = g.w[i].ctx.acl = NULL;
	/* EXPRESS_SEED=N replays another random run (default 7). */
	const char *seed = getenv("EXPRESS_SEED");
	srand(seed ? (unsigned int)atoi(seed) : 7u);
	memset(tcp_stage, 0, sizeof(tcp_stage));
	kinds_denied = 1u << 2 | 1u << 6;
	struct acl_set *old = NULL;
	for (unsigned long burst = 0; burst < N_BURSTS && !bad; burst++) {
		/* x/b behind node B for a while, and back: a new FIB each
		 * time, under the same policy. */
		if (burst == N_BURSTS / 8 || burst == N_BURSTS / 4) {
			tables.fib = tables.fib == fib_home ? fib_moved :
							     fib_home;
			tables.fib_gen = burst == N_BURSTS / 8 ? 2 : 3;
		}
		if (burst == N_BURSTS / 2) {
			old = tables.acl;
			tables.acl = build_policy(1);
			if (tables.acl == NULL)
				return 1;
			kinds_denied |= 1u << 0 | 1u << 5;
		}
		/* x/b's neighbor entry goes away now and then (a hold). */
		two_pods_neigh(S_B, MAC_B, burst % 97 != 50);
		uint16_t port = (uint16_t)(rand() % N_PORTS);
		uint16_t n = (uint16_t)(1 + rand() % PL_BURST);
		struct rte_mbuf *pe[PL_BURST], *pg[PL_BURST];
		uint16_t k = 0;

		bool dirty = rand() % 4 == 0;
		while (k < n) {
			/* Mostly flows that get established, as on a node. */
			unsigned int ki = (unsigned int)rand() % RTE_DIM(kinds);
			if (kinds_denied & (1u << ki) && rand() % 64 != 0)
				continue;
			/* The transit kind, now and then: none is the lane's. */
			if (ki == RTE_DIM(kinds) - 1 && rand() % 16 != 0)
				continue;
			const struct kind *kd = &kinds[ki];
			unsigned int fi = (unsigned int)rand() % FLOWS_PER_KIND;
			uint16_t sp = (uint16_t)(kd->sport0 + fi);
			bool reply = port_of(kd->dst) == port;
			uint8_t flags = 0;
			if (!reply && port_of(kd->src) != port)
				continue;
			uint8_t stage = tcp_stage[ki][fi];
			if (kd->proto == IPPROTO_TCP &&
			    !tcp_flags_pick(ki, fi, reply, &flags))
				continue;
			int c = dirty && rand() % 10 == 0 ?
					1 + rand() % (C_MAX - 1) : C_NONE;
			/* A broken segment does not move the connection on: its
			 * sender sends that step again, as after a loss. */
			if (c != C_NONE)
				tcp_stage[ki][fi] = stage;
			struct frame f;
			if (reply)
				make_frame(&f, kd->dst, kd->src, kd->proto,
					   kd->dport, sp, flags, c);
			else
				make_frame(&f, kd->src, kd->dst, kd->proto, sp,
					   kd->dport, flags, c);
			/* In one burst in 64, a frame in 4 in two segments,
			 * cut anywhere, half of them with Ethernet padding in
			 * the second (more would keep the lane resting: a
			 * burst that starts with a frame it cannot take). */
			uint16_t split = 0;
			if (burst % 64 == 5 && f.len > 1 && rand() % 4 == 0) {
				if (rand() % 2 == 0)
					while (f.len < 128)
						f.b[f.len++] = 0;
				split = (uint16_t)(1 + rand() % (f.len - 1));
			}
			if (split != 0) {
				n_chained++;
				pe[k] = frame_mbuf_2seg(mp, &f, port, split);
				pg[k] = frame_mbuf_2seg(mp, &f, port, split);
			} else {
				pe[k] = frame_mbuf(mp, &f, port);
				pg[k] = frame_mbuf(mp, &f, port);
			}
			if (pe[k] == NULL || pg[k] == NULL) {
				fprintf(stderr, "FAIL: no mbuf\n");
				return 1;
			}
			k++;
		}
		for (unsigned int i = 0; i < n_workers; i++)
			e.w[i].ctx.icmp_tokens = g.w[i].ctx.icmp_tokens = 1000;
		pl_process_burst(&e.w[0].ctx, &tables, port, pe, n);
		collect_sent(&e.w[0]);
		pl_process_burst(&g.w[0].ctx, &tables, port, pg, n);
		collect_sent(&g.w[0]);
		if (n_workers > 1) {
			const struct pl_tables *dt = &tables;
			if (burst % 5 == 0) {
				moved.acl = tables.acl;
				moved.fib = tables.fib;
				moved.fib_gen = tables.fib_gen;
				dt = &moved;
			}
			pl_handoff_drain(&e.w[1].ctx, dt);
			collect_sent(&e.w[1]);
			pl_handoff_drain(&g.w[1].ctx, dt);
			collect_sent(&g.w[1]);
		}
		/* A flush now and then: the buffers fill in between. */
		bool flush = burst % 4 == 3 || burst + 1 == N_BURSTS;
		for (unsigned int i = 0; i < n_workers; i++) {
			bad |= compare_worker(&e.w[i], &g.w[i], burst,
					      flush || bad, &fwd_e);
			if (policy && burst % 64 == 0)
				bad |= compare_ct(&e.w[i], &g.w[i], burst);
		}
	}
	two_pods_neigh(S_B, MAC_B, true);

	uint64_t ex = e.w[0].st.express, gx = g.w[0].st.express;
	printf("%u worker(s)%s: forwarded %lu, express %lu, general-only "
	       "express %lu; handed over %lu; policy_deny %lu, ct_invalid "
	       "%lu, ip_cksum %lu; %lu frames in two segments\n", n_workers,
	       policy ? "" : ", no policy", fwd_e, (unsigned long)ex,
	       (unsigned long)gx, (unsigned long)e.w[0].st.handoff_out,
	       (unsigned long)(e.w[0].st.drop[DP_DROP_POLICY_DENY] +
			       e.w[1].st.drop[DP_DROP_POLICY_DENY]),
	       (unsigned long)(e.w[0].st.drop[DP_DROP_CT_INVALID] +
			       e.w[1].st.drop[DP_DROP_CT_INVALID]),
	       (unsigned long)e.w[0].st.drop[DP_DROP_IP_CKSUM], n_chained);
	if (!bad && gx != 0) {
		fprintf(stderr, "FAIL: the general-only side used the lane\n");
		bad = 1;
	}
	/* Packets the lane hands over count as its own (express). */
	if (!bad && ex * 4 < fwd_e) {
		fprintf(stderr, "FAIL: the lane took under 25 %% of the frames "
			"forwarded: the comparison proves little\n");
		bad = 1;
	}
	if (!bad && n_workers > 1 && e.w[0].st.handoff_out * 4 < fwd_e) {
		fprintf(stderr, "FAIL: few frames handed over\n");
		bad = 1;
	}
	if (!bad && policy && (e.w[0].st.drop[DP_DROP_POLICY_DENY] +
		     e.w[1].st.drop[DP_DROP_POLICY_DENY] == 0 ||
		     e.w[0].st.drop[DP_DROP_CT_INVALID] +
		     e.w[1].st.drop[DP_DROP_CT_INVALID] == 0)) {
		fprintf(stderr, "FAIL: no denied or invalid flows: the traffic "
			"does not test policy\n");
		bad = 1;
	}
	side_free(&e);
	side_free(&g);
	/* The next run starts from generation 1 again. */
	tables.fib_gen = 0;
	acl_set_free(tables.acl);
	acl_set_free(old);
	tables.acl = build_policy(0);
	return bad || tables.acl == NULL;
}

/* Frame @p f, received on @p port, through worker 0 of both sides; then
 * compared (burst number @p i). -1 when out of mbufs. */
static int both_sides(struct side *e, struct side *g, const struct frame *f,
		      uint16_t port, unsigned long i)
{
	struct rte_mbuf *pe = frame_mbuf(mp, f, port);
	struct rte_mbuf *pg = frame_mbuf(mp, f, port);

	if (pe == NULL || pg == NULL)
		return -1;
	unsigned long fwd = 0;

	pl_process_burst(&e->w[0].ctx, &tables, port, &pe, 1);
	collect_sent(&e->w[0]);
	pl_process_burst(&g->w[0].ctx, &tables, port, &pg, 1);
	collect_sent(&g->w[0]);
	return compare_worker(&e->w[0], &g->w[0], i, true, &fwd);
}

/*
 * A pod whose configured address is one no packet may carry as source
 * (255.255.255.255): its frames must be dropped as ip_bad_src by both
 * contexts, never forwarded by the lane for matching the pod's address.
 * With policy off, where no conntrack miss would stop the lane first.
 * Likewise a node address of 255.255.255.255 and IPIP sent to it
 * (ip_bad_dst).
 */
static int special_source(void)
{
	struct side e, g;
	int bad = 0;

	if (side_init(&e, 10, true, 1) || side_init(&g, 11, false, 1))
		return 1;
	/* Policy off: no conntrack miss to stop the lane first. */
	e.w[0].ctx.acl = g.w[0].ctx.acl = NULL;
	rte_be32_t keep = tables.ep[0].ips[0];
	tables.ep[0].ips[0] = RTE_BE32(0xffffffff);
	for (int i = 0; i < 4 && !bad; i++) {
		struct frame f;

		make_frame(&f, POD_A, POD_B, IPPROTO_UDP, 20000, 53, 0, C_NONE);
		put32(f.b + 14 + 12, 0xffffffff);
		put16(f.b + 14 + 10, 0);
		put16(f.b + 14 + 10, ref_csum(f.b + 14, 20));
		if ((bad |= both_sides(&e, &g, &f, P_A, (unsigned long)i)) < 0)
			return 1;
	}
	if (!bad && e.w[0].st.drop[DP_DROP_IP_BAD_SRC] != 4) {
		fprintf(stderr, "FAIL: special source: %lu ip_bad_src drops\n",
			(unsigned long)e.w[0].st.drop[DP_DROP_IP_BAD_SRC]);
		bad = 1;
	}
	tables.ep[0].ips[0] = keep;
	/* The same for a node address of 255.255.255.255 and IPIP to it. */
	keep = tables.self_ip;
	tables.self_ip = RTE_BE32(0xffffffff);
	for (int i = 0; i < 4 && !bad; i++) {
		struct frame f;
		uint8_t in[64];
		struct ip4 h = {.ver = 4, .ihl = 5, .ttl = 64,
				.proto = IPPROTO_UDP, .src = REMOTE,
				.dst = POD_A, .plen = 26};
		struct ip4 o = {.ver = 4, .ihl = 5, .ttl = 64, .frag = G_DF,
				.src = NODE_B, .dst = 0xffffffff};

		memset(in, 0, sizeof(in));
		put16(in, 50000);
		put16(in + 2, 7000);
		put16(in + 4, 26);
		h.payload = in;
		frame_ipip(&f, MAC_UP, MAC_NB, o, &h);
		if ((bad |= both_sides(&e, &g, &f, P_UP, (unsigned long)i)) < 0)
			return 1;
	}
	if (!bad && e.w[0].st.drop[DP_DROP_IP_BAD_DST] != 4) {
		fprintf(stderr, "FAIL: special node address: %lu ip_bad_dst "
			"drops\n",
			(unsigned long)e.w[0].st.drop[DP_DROP_IP_BAD_DST]);
		bad = 1;
	}
	tables.self_ip = keep;
	side_free(&e);
	side_free(&g);
	printf("special pod and node addresses: %s\n", bad ? "FAIL" : "ok");
	return bad;
}

/*
 * The uplink's L2 rule (pipeline/parse_fast.h pl_uplink_l2()), in the lane
 * exactly as in the general stages: bursts of 16 frames the lane takes
 * (IPIP from node B to x/a; policy off, so that no conntrack miss ends
 * the lane's prefix first) but the one at @c pos, which goes to another
 * host's MAC, the broadcast or a multicast MAC. The lane must take the
 * frames before it and leave it and the rest to the general stages, which
 * drop it under its reason and forward the other 15; the same frames and
 * counters on both sides. Each position ends the lane's prefix in one of
 * its passes: eight frames (AVX2), four, or one.
 */
static int l2_dst(void)
{
	static const struct {
		const uint8_t *mac;
		enum dp_drop why;
	} bad[] = {
		{MAC_X, DP_DROP_L2_OTHER_HOST},
		{MAC_BCAST, DP_DROP_L2_NOT_UNICAST},
		{MAC_MCAST, DP_DROP_L2_NOT_UNICAST},
	};
	const uint16_t n = 16;
	struct side e, g;
	int fail = 0;

	if (side_init(&e, 14, true, 1) || side_init(&g, 15, false, 1))
		return 1;
	e.w[0].ctx.acl = g.w[0].ctx.acl = NULL;
	for (size_t b = 0; b < RTE_DIM(bad) && !fail; b++) {
		for (uint16_t pos = 0; pos < n && !fail; pos++) {
			struct rte_mbuf *pe[PL_BURST], *pg[PL_BURST];
			uint64_t ex0 = e.w[0].st.express;
			uint64_t d0 = e.w[0].st.drop[bad[b].why];
			unsigned long fwd = 0;

			for (uint16_t i = 0; i < n; i++) {
				struct frame f;

				make_frame(&f, REMOTE, POD_A, IPPROTO_UDP,
					   (uint16_t)(50000 + i), 7000, 0,
					   C_NONE);
				if (i == pos)
					memcpy(f.b, bad[b].mac, 6);
				pe[i] = frame_mbuf(mp, &f, P_UP);
				pg[i] = frame_mbuf(mp, &f, P_UP);
				if (pe[i] == NULL || pg[i] == NULL)
					return 1;
			}
			/* No rest from the burst before (pos 0). */
			e.w[0].ctx.express_rest[P_UP] = 0;
			pl_process_burst(&e.w[0].ctx, &tables, P_UP, pe, n);
			collect_sent(&e.w[0]);
			pl_process_burst(&g.w[0].ctx, &tables, P_UP, pg, n);
			collect_sent(&g.w[0]);
			fail = compare_worker(&e.w[0], &g.w[0],
					      b * n + pos, true, &fwd);
			if (!fail && (e.w[0].st.express - ex0 != pos ||
				      e.w[0].st.drop[bad[b].why] - d0 != 1 ||
				      fwd != n - 1u)) {
				fprintf(stderr, "FAIL: %s at %u: the lane took "
					"%lu (want %u), %lu dropped as %s, "
					"%lu forwarded\n",
					bad[b].mac == MAC_X ? "other MAC" :
					"group MAC", pos,
					(unsigned long)(e.w[0].st.express - ex0),
					pos,
					(unsigned long)(e.w[0].st.drop[bad[b].why] -
							d0),
					dp_drop_name(bad[b].why), fwd);
				fail = 1;
			}
		}
	}
	side_free(&e);
	side_free(&g);
	printf("uplink L2 rule, lane and general stages: %s\n",
	       fail ? "FAIL" : "ok");
	return fail;
}

/*
 * Conntrack time is the context's poll clock (pl_ctx_tick()), in the lane
 * and in the general stages alike: an allowed UDP flow's entry is hit
 * while the clock stands, and once the clock passes its timeout the next
 * packet opens the flow again (a second entry created). Both sides are
 * driven by the frames alone; the lane side must have taken some.
 */
static int ctx_clock(void)
{
	struct side e, g;
	struct acl_ct_stats se, sg;
	int bad = 0;

	if (side_init(&e, 12, true, 1) || side_init(&g, 13, false, 1))
		return 1;
	/* 20 bursts outlast the lane's rest after the first (new) packet. */
	for (int i = 0; i < 22 && !bad; i++) {
		struct frame f;

		if (i == 20) {
			/* Past the 60 s UDP timeout, without the TSC moving. */
			e.w[0].ctx.now_ms += 61 * 1000;
			g.w[0].ctx.now_ms += 61 * 1000;
		}
		make_frame(&f, POD_A, POD_B, IPPROTO_UDP, 20000, 53, 0, C_NONE);
		if ((bad |= both_sides(&e, &g, &f, P_A, (unsigned long)i)) < 0)
			return 1;
	}
	if (!bad && (acl_worker_stats(12 * 2, &se) != 0 ||
		     acl_worker_stats(13 * 2, &sg) != 0 || se.created != 2 ||
		     sg.created != 2 || e.w[0].st.express == 0)) {
		fprintf(stderr, "FAIL: ctx clock: created %lu / %lu (want 2), "
			"%lu by the lane\n", (unsigned long)se.created,
			(unsigned long)sg.created,
			(unsigned long)e.w[0].st.express);
		bad = 1;
	}
	side_free(&e);
	side_free(&g);
	printf("conntrack on the context clock: %s\n", bad ? "FAIL" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	int bad;

	(void)argc;
	(void)argv;
	if (golden_eal_init("pipeline_express") < 0) {
		fprintf(stderr, "FAIL: EAL init\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("ex_mp", 8191, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL || ports_init() != 0 || build_tables() != 0) {
		fprintf(stderr, "FAIL: setup\n");
		return 1;
	}
	/* Each instruction-set variant of the per-burst code (golden.h). */
	bad = 0;
	for (size_t w = 0; !bad && w < RTE_DIM(golden_widths); w++) {
		const char *isa = golden_simd_width(golden_widths[w]);
		struct pl_ctx probe;
		struct dp_lcore_stats st;

		pl_ctx_init(&probe, &st, mp, NULL, 0);
		printf("-- pipeline variant %s\n", pl_ctx_isa(&probe));
		if (strcmp(pl_ctx_isa(&probe), isa) != 0) {
			fprintf(stderr, "FAIL: %u-bit SIMD ran %s, expected "
				"%s\n", golden_widths[w], pl_ctx_isa(&probe),
				isa);
			bad = 1;
			break;
		}
		bad = run(1, true);
		if (!bad)
			bad = run(2, true);
		if (!bad)
			bad = run(1, false);
		if (!bad)
			bad = special_source();
		if (!bad)
			bad = ctx_clock();
		if (!bad)
			bad = l2_dst();
	}
	acl_set_free(tables.acl);
	rte_fib_free(fib_home);
	rte_fib_free(fib_moved);
	rte_free(moved.nh);
	if (!bad && rte_mempool_in_use_count(mp) != 0) {
		fprintf(stderr, "FAIL: %u mbufs leaked\n",
			rte_mempool_in_use_count(mp));
		bad = 1;
	}
	printf("%s\n", bad ? "FAIL" : "PASS");
	return bad;
}
