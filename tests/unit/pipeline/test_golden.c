/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden-packet tests for the worker pipeline (Katran-style fixtures).
 *
 * Each case names an input port, builds the input frames and the expected
 * outcome: frames buffered for tx on a port (exact bytes), packets punted to
 * control (kind, argument, bytes), or a named drop reason, plus the counter
 * effects. The runner feeds one burst to pl_process_burst() over tables built
 * here by hand and compares; no port is opened.
 *
 * Expected bytes come from the byte builder and reference checksum in
 * tests/unit/golden.h, never from the dataplane's helpers; a few anchors are
 * written out in hex (produced by scapy and checked by eye).
 */
#include <stdlib.h>

#include <rte_fib.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "dp/drop.h"
#include "dp/stats.h"
#include "pipeline/pipeline.h"
#include "pipeline/tables.h"
#include "tests/unit/golden.h"
#include "tests/unit/pipeline/txbufs.h"

/* Designated-initializer defaults are overridden on purpose (IP4(...)). */
#pragma GCC diagnostic ignored "-Woverride-init"

/* ------------------------------------------------------------- the world */

enum { P_UP, P_A, P_B, P_HOST, P_C, P_NONE, N_PORTS };

#define SELF IP4A(192, 168, 10, 11)
#define NODE_B IP4A(192, 168, 10, 12)
#define NODE_C IP4A(192, 168, 20, 13)
#define NODE_D IP4A(192, 168, 10, 14) /* unresolved */
#define STRANGER IP4A(192, 168, 10, 99)
#define POD_A IP4A(10, 244, 1, 10)
#define POD_A2 IP4A(10, 244, 1, 40) /* pod A's 2nd IP */
#define POD_B IP4A(10, 244, 1, 11)
#define POD_C IP4A(10, 244, 1, 12)  /* MAC unresolved */
#define POD_NOPORT IP4A(10, 244, 1, 30)
#define HOLE IP4A(10, 244, 1, 99)   /* in our block */
#define NOWHERE IP4A(10, 244, 9, 9) /* pool, no block */
#define REMOTE_B IP4A(10, 244, 2, 10)
#define REMOTE_C IP4A(10, 244, 3, 10)
#define REMOTE_D IP4A(10, 244, 4, 10)
#define DIRECT_B IP4A(10, 245, 2, 10)
#define INTERNET IP4A(8, 8, 8, 8)
#define GW_LL IP4A(169, 254, 1, 1)
#define TUNNEL IP4A(10, 244, 1, 1)  /* our IPIP tunnel address */

static const uint8_t MAC_EE[6] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_ZERO[6] = {0};
static const uint8_t MAC_UP[6] = {0x02, 0, 0, 0, 0x0a, 0x01};
static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0x01, 0x01};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0x01, 0x02};
static const uint8_t MAC_NODE_B[6] = {0x02, 0, 0, 0, 0x0b, 0x01};
static const uint8_t MAC_GW[6] = {0x02, 0, 0, 0, 0x0f, 0x01};
static const uint8_t MAC_HOST[6] = {0x02, 0, 0, 0, 0x0e, 0x01};
static const uint8_t MAC_OTHER[6] = {0x02, 0, 0, 0, 0x99, 0x99};

/* Neighbor slots. */
enum { S_A = 1, S_B, S_C, S_NODE_B, S_GW, S_HOST, S_NODE_D, N_SLOTS };

/* Next hops. */
enum {
	NH_NONE, NH_HOLE, NH_LOCAL, NH_POD_A, NH_POD_B, NH_POD_C, NH_NOPORT,
	NH_IPIP_B, NH_DIRECT_B, NH_DIRECT_GW, NH_IPIP_C, NH_IPIP_D, N_NH
};

#define UPLINK_MTU 1500
#define IPIP_MTU (UPLINK_MTU - 20)
#define IP_ID0 0x1234 /* first outer IP id of every case */

enum { T_MAIN, T_NOHOST, T_NAT, T_NAT_NOHOST, N_TABLES };

static struct rte_mempool *mp;
static struct rte_ring *punt_ring;
static struct pl_tables tables[N_TABLES];

static void set_neigh(uint32_t slot, const uint8_t *mac)
{
	uint64_t v = PL_NEIGH_VALID;
	for (int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	pl_neigh[slot].mac = v;
}

static int add_route(struct rte_fib *fib, uint32_t net, uint8_t plen,
		     uint64_t nh)
{
	int rc = rte_fib_add(fib, net, plen, nh);
	if (rc)
		fprintf(stderr, "rte_fib_add: %d\n", rc);
	return rc;
}

static int build_tables(void)
{
	struct pl_tables *t = &tables[T_MAIN];

	pl_neigh = rte_zmalloc("golden_neigh", sizeof(*pl_neigh) * 64, 8);
	struct pl_nh *nh = rte_zmalloc("golden_nh", sizeof(*nh) * N_NH, 0);
	struct pl_ep *ep = rte_zmalloc("golden_ep", sizeof(*ep) * 3, 0);
	if (pl_neigh == NULL || nh == NULL || ep == NULL)
		return -1;
	set_neigh(S_A, MAC_A);
	set_neigh(S_B, MAC_B);
	set_neigh(S_NODE_B, MAC_NODE_B);
	set_neigh(S_GW, MAC_GW);
	set_neigh(S_HOST, MAC_HOST);
	/* S_C and S_NODE_D stay unresolved. */

	ep[0] = (struct pl_ep){.port = P_A, .n_ips = 2, .mac_known = true,
			       .neigh = S_A, .name = "x/a"};
	ep[0].ips[0] = rte_cpu_to_be_32(POD_A);
	ep[0].ips[1] = rte_cpu_to_be_32(POD_A2);
	memcpy(ep[0].mac.addr_bytes, MAC_A, 6);
	ep[1] = (struct pl_ep){.port = P_B, .n_ips = 1, .neigh = S_B,
			       .name = "x/b"};
	ep[1].ips[0] = rte_cpu_to_be_32(POD_B);
	ep[2] = (struct pl_ep){.port = P_C, .n_ips = 1, .neigh = S_C,
			       .name = "x/c"};
	ep[2].ips[0] = rte_cpu_to_be_32(POD_C);

	nh[NH_NONE].kind = PL_NH_NO_ROUTE;
	nh[NH_HOLE].kind = PL_NH_BLACKHOLE;
	nh[NH_LOCAL] = (struct pl_nh){.kind = PL_NH_LOCAL, .port = P_HOST,
				      .neigh = S_HOST};
	nh[NH_POD_A] = (struct pl_nh){.kind = PL_NH_POD, .port = P_A,
				      .neigh = S_A, .mtu = 1500, .ep = 0};
	nh[NH_POD_B] = (struct pl_nh){.kind = PL_NH_POD, .port = P_B,
				      .neigh = S_B, .mtu = 1500, .ep = 1};
	nh[NH_POD_C] = (struct pl_nh){.kind = PL_NH_POD, .port = P_C,
				      .neigh = S_C, .mtu = 1500, .ep = 2};
	nh[NH_NOPORT].kind = PL_NH_POD_NO_PORT;
	nh[NH_IPIP_B] = (struct pl_nh){.kind = PL_NH_IPIP, .port = P_UP,
				       .neigh = S_NODE_B, .mtu = IPIP_MTU,
				       .outer_dst = rte_cpu_to_be_32(NODE_B)};
	nh[NH_DIRECT_B] = (struct pl_nh){.kind = PL_NH_DIRECT, .port = P_UP,
					 .neigh = S_NODE_B, .mtu = UPLINK_MTU};
	nh[NH_DIRECT_GW] = (struct pl_nh){.kind = PL_NH_DIRECT, .port = P_UP,
					  .neigh = S_GW, .mtu = UPLINK_MTU};
	nh[NH_IPIP_C] = (struct pl_nh){.kind = PL_NH_IPIP, .port = P_UP,
				       .neigh = S_GW, .mtu = IPIP_MTU,
				       .outer_dst = rte_cpu_to_be_32(NODE_C)};
	nh[NH_IPIP_D] = (struct pl_nh){.kind = PL_NH_IPIP, .port = P_UP,
				       .neigh = S_NODE_D, .mtu = IPIP_MTU,
				       .outer_dst = rte_cpu_to_be_32(NODE_D)};

	struct rte_fib_conf fc = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = NH_NONE,
		.max_routes = 64,
		/* 1-byte entries: 16 MiB, which fits the 64 MiB EAL. */
		.dir24_8 = {.nh_sz = RTE_FIB_DIR24_8_1B, .num_tbl8 = 16},
	};
	t->fib = rte_fib_create("golden_fib", SOCKET_ID_ANY, &fc);
	if (t->fib == NULL) {
		fprintf(stderr, "rte_fib_create: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	if (add_route(t->fib, 0, 0, NH_DIRECT_GW) ||
	    add_route(t->fib, IP4A(10, 244, 0, 0), 16, NH_NONE) ||
	    add_route(t->fib, IP4A(10, 244, 1, 0), 24, NH_HOLE) ||
	    add_route(t->fib, POD_A, 32, NH_POD_A) ||
	    add_route(t->fib, POD_A2, 32, NH_POD_A) ||
	    add_route(t->fib, POD_B, 32, NH_POD_B) ||
	    add_route(t->fib, POD_C, 32, NH_POD_C) ||
	    add_route(t->fib, POD_NOPORT, 32, NH_NOPORT) ||
	    add_route(t->fib, IP4A(10, 244, 2, 0), 24, NH_IPIP_B) ||
	    add_route(t->fib, IP4A(10, 244, 3, 0), 24, NH_IPIP_C) ||
	    add_route(t->fib, IP4A(10, 244, 4, 0), 24, NH_IPIP_D) ||
	    add_route(t->fib, IP4A(10, 245, 2, 0), 24, NH_DIRECT_B) ||
	    add_route(t->fib, SELF, 32, NH_LOCAL) ||
	    add_route(t->fib, TUNNEL, 32, NH_LOCAL))
		return -1;

	struct rte_hash_parameters hp = {
		.name = "golden_nodes",
		.entries = 64,
		.key_len = sizeof(rte_be32_t),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
	};
	t->nodes = rte_hash_create(&hp);
	if (t->nodes == NULL)
		return -1;
	const uint32_t nodes[] = {NODE_B, NODE_C, NODE_D};
	for (size_t i = 0; i < RTE_DIM(nodes); i++) {
		rte_be32_t k = rte_cpu_to_be_32(nodes[i]);
		if (rte_hash_add_key(t->nodes, &k) < 0)
			return -1;
	}

	t->gen = 1;
	t->n_nh = N_NH;
	t->nh = nh;
	t->n_ep = 3;
	t->ep = ep;
	t->self_ip = rte_cpu_to_be_32(SELF);
	t->icmp_src = t->self_ip;
	t->uplink_port = P_UP;
	t->host_port = P_HOST;
	t->uplink_mtu = UPLINK_MTU;
	t->host_nh = NH_LOCAL;
	t->tunnel_ip = rte_cpu_to_be_32(TUNNEL);
	t->port[P_UP] = (struct pl_port){.role = PL_PORT_UPLINK};
	memcpy(t->port[P_UP].mac.addr_bytes, MAC_UP, 6);
	t->port[P_A] = (struct pl_port){.role = PL_PORT_POD, .ep = 0};
	t->port[P_B] = (struct pl_port){.role = PL_PORT_POD, .ep = 1};
	t->port[P_C] = (struct pl_port){.role = PL_PORT_POD, .ep = 2};
	t->port[P_HOST] = (struct pl_port){.role = PL_PORT_HOST};
	memcpy(t->port[P_HOST].mac.addr_bytes, MAC_EE, 6);
	/* P_NONE: role PL_PORT_NONE (zeroed). */

	/* The pools: 10.245/16 is the CrossSubnet one DIRECT_B is in. */
	static const struct pl_pool pools[] = {
		{IP4A(10, 244, 0, 0), 0xffff0000},
		{IP4A(10, 245, 0, 0), 0xffff0000},
	};
	t->pools = pools;
	t->n_pools = RTE_DIM(pools);

	/* The same world without a host port. */
	tables[T_NOHOST] = *t;
	tables[T_NOHOST].host_port = UINT16_MAX;
	tables[T_NOHOST].port[P_HOST].role = PL_PORT_NONE;

	/* Pod A natOutgoing (pl_ep.nat_outgoing), with and without a host
	 * port to masquerade for it. */
	struct pl_ep *nep = rte_zmalloc("golden_ep_nat", sizeof(*ep) * 3, 0);
	if (nep == NULL)
		return -1;
	memcpy(nep, ep, sizeof(*ep) * 3);
	nep[0].nat_outgoing = true;
	tables[T_NAT] = *t;
	tables[T_NAT].ep = nep;
	tables[T_NAT_NOHOST] = tables[T_NOHOST];
	tables[T_NAT_NOHOST].ep = nep;
	return 0;
}

/*
 * The FIB's dense copy over 10.244.0.0/15 (pl_tables.fib_dense), built as
 * control builds it: the cases run with it (as control's tables have it)
 * and again without, so both ways through pl_fib_lookup() must give the
 * same bytes. Destinations outside the span fall back to the FIB.
 */
#define DENSE_BASE IP4A(10, 244, 0, 0)
#define DENSE_N (1u << 17)
static uint16_t *dense;

static int build_dense(void)
{
	dense = rte_malloc("golden_dense", DENSE_N * sizeof(*dense), 0);
	if (dense == NULL)
		return -1;
	for (uint32_t i = 0; i < DENSE_N; i++) {
		uint32_t ip = DENSE_BASE + i;
		uint64_t nh;

		rte_fib_lookup_bulk(tables[T_MAIN].fib, &ip, &nh, 1);
		dense[i] = (uint16_t)nh;
	}
	return 0;
}

static void set_dense(bool on)
{
	for (int i = 0; i < N_TABLES; i++) {
		tables[i].fib_dense = on ? dense : NULL;
		tables[i].fib_dense_base = on ? DENSE_BASE : 0;
		tables[i].fib_dense_n = on ? DENSE_N : 0;
	}
}

static void free_tables(void)
{
	struct pl_tables *t = &tables[T_MAIN];

	rte_free(dense);
	rte_fib_free(t->fib);
	rte_hash_free(t->nodes);
	rte_free(t->nh);
	rte_free(t->ep);
	rte_free(pl_neigh);
}

/* ------------------------------------------------------------- the cases */

struct exp_tx {
	uint16_t port;
	struct frame f;
};

struct exp_punt {
	uint8_t kind;        /**< enum pl_punt */
	uint32_t arg;        /**< low 24 bits of hash.usr */
	uint16_t port;       /**< m->port */
	uint16_t cmp_from;   /**< compare bytes from this offset */
	struct frame f;
};

struct input {
	uint16_t n;
	struct frame f[PL_BURST];
};

struct outcome {
	int drop;            /**< enum dp_drop, or -1 */
	uint16_t n_drop;     /**< packets dropped with it */
	uint16_t n_tx;
	struct exp_tx tx[PL_BURST];
	uint16_t n_punt;
	struct exp_punt punt[PL_BURST];
	uint64_t icmp_sent, icmp_ratelimited, ipip_encap, ipip_decap;
	uint64_t arp_replied;
};

struct gcase {
	const char *name;
	uint16_t port;       /**< input port (its role comes from the table) */
	uint8_t tables;      /**< T_MAIN or T_NOHOST */
	void (*build)(struct input *in, struct outcome *out, int arg);
	int arg;
	const char *drop;    /**< expected drop reason (name), or NULL */
	void (*setup)(void); /**< adjusts the fresh context, or NULL */
};

static struct frame *in_add(struct input *in)
{
	return &in->f[in->n++];
}

static struct frame *tx_add(struct outcome *o, uint16_t port)
{
	o->tx[o->n_tx].port = port;
	return &o->tx[o->n_tx++].f;
}

static struct frame *punt_add(struct outcome *o, uint8_t kind, uint32_t arg,
			      uint16_t port)
{
	struct exp_punt *p = &o->punt[o->n_punt++];
	p->kind = kind;
	p->arg = arg;
	p->port = port;
	return &p->f;
}

/* A UDP-ish packet with defaults; fields given override them. */
#define IP4(...)                                                             \
	((struct ip4){.ver = 4, .ihl = 5, .ttl = 64, .proto = 17,            \
		      .id = 0x1c46, .frag = G_DF, .plen = 32, __VA_ARGS__})

/* A frame from pod A (to the gateway MAC, as pods send). */
static void from_a(struct frame *f, struct ip4 h)
{
	frame_ip(f, MAC_EE, MAC_A, &h, 0);
}

/* --- raw / parse --- */

enum { RAW_10, RAW_ETH_ONLY, RAW_IP_TRUNC };

static void b_raw(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);
	uint8_t *p = put_eth(f->b, MAC_EE, MAC_A, 0x0800);
	switch (arg) {
	case RAW_10:
		f->len = 10;
		break;
	case RAW_ETH_ONLY:
		f->len = 14;
		break;
	default: /* 19 bytes of an otherwise valid header */
		put_ip4(p, &IP4(.src = POD_A, .dst = POD_B, .plen = 0));
		f->len = 14 + 19;
		break;
	}
}

static void b_ethertype(struct input *in, struct outcome *o, int type)
{
	struct frame *f = in_add(in);
	from_a(f, IP4(.src = POD_A, .dst = POD_B));
	put16(f->b + 12, (uint16_t)type);
}

/* One way to break an IPv4 header, for the packet or an IPIP inner one. */
enum { BRK_VER, BRK_IHL, BRK_TOT_LONG, BRK_TOT_SHORT, BRK_IHL_LONG, BRK_CKSUM,
       BRK_FRAG, BRK_SRC_MCAST };

static void ip_break(struct ip4 *h, int how)
{
	switch (how) {
	case BRK_VER:
		h->ver = 6;
		break;
	case BRK_IHL:
		h->ihl = 4;
		break;
	case BRK_TOT_LONG: /* one byte more than there is */
		h->tot_delta = 1;
		break;
	case BRK_TOT_SHORT: /* 16 < 20 */
		h->tot_delta = -(int)h->plen - 4;
		break;
	case BRK_IHL_LONG: /* a 60-byte header in a 20-byte datagram */
		h->ihl = 15;
		h->plen = 0;
		h->tot_delta = -40;
		break;
	case BRK_CKSUM:
		h->csum_delta = 1;
		break;
	case BRK_FRAG: /* 65520 + 20 bytes of payload passes 64 KiB */
		h->frag = 8190;
		h->plen = 20;
		break;
	case BRK_SRC_MCAST:
		h->src = IP4A(224, 0, 0, 5);
		break;
	}
}

/* Pod A → pod B, broken. */
static void b_bad_ip(struct input *in, struct outcome *o, int how)
{
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B);

	ip_break(&h, how);
	from_a(in_add(in), h);
}

/* A good header the NIC flagged as bad. */
static void b_nic_bad(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);

	from_a(f, IP4(.src = POD_A, .dst = POD_B));
	f->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
}

static void b_bad_src(struct input *in, struct outcome *o, int src)
{
	from_a(in_add(in), IP4(.src = (uint32_t)src, .dst = POD_B));
}

static void b_bad_dst(struct input *in, struct outcome *o, int dst)
{
	from_a(in_add(in), IP4(.src = POD_A, .dst = (uint32_t)dst));
}

/* --- forwarding between local pods --- */

/* Pod A → pod B, TTL 64 → 63; @p h is varied by the callers. */
static void fwd_a_to_b(struct input *in, struct outcome *o, struct ip4 h,
		       unsigned int pad)
{
	frame_ip(in_add(in), MAC_EE, MAC_A, &h, pad);
	h.ttl--;
	frame_ip(tx_add(o, P_B), MAC_B, MAC_EE, &h, 0);
}

enum { FWD_PLAIN, FWD_PADDED, FWD_OPTIONS, FWD_LAST_FRAG, FWD_TTL2,
       FWD_TOS, FWD_NIC_GOOD, FWD_A2 };

static void b_fwd_local(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B);

	switch (arg) {
	case FWD_PADDED: /* 28-byte datagram in a 60-byte frame */
		h.plen = 8;
		fwd_a_to_b(in, o, h, 60);
		return;
	case FWD_OPTIONS:
		h.ihl = 7;
		break;
	case FWD_LAST_FRAG: /* ends exactly at byte 65535 */
		h.frag = 8189;
		h.plen = 23;
		break;
	case FWD_TTL2:
		h.ttl = 2;
		break;
	case FWD_TOS:
		h.tos = 0xb8;
		h.frag = 0;
		break;
	case FWD_A2:
		h.src = POD_A2;
		break;
	case FWD_NIC_GOOD: {
		/*
		 * The NIC vouched for the header, so a wrong checksum is not
		 * looked at (and stays off by one after the TTL patch).
		 */
		struct frame *f = in_add(in);
		h.csum_delta = 1;
		from_a(f, h);
		f->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		h.ttl--;
		frame_ip(tx_add(o, P_B), MAC_B, MAC_EE, &h, 0);
		return;
	}
	}
	fwd_a_to_b(in, o, h, 0);
}

/* --- IPv4 options (RFC 791 3.1; source routes: RFC 7126 4.3, 4.4) --- */

enum { OPT_LSRR, OPT_SSRR_AFTER_NOPS, OPT_LEN_0, OPT_LEN_1, OPT_PAST_END,
       OPT_TYPE_LAST, OPT_RR_TS, OPT_EOL_THEN_JUNK, OPT_LSRR_AFTER_EOL };

static const struct {
	uint8_t ihl;
	uint8_t b[40];
} opt_sets[] = {
	/* LSRR, one address to go, then EOL padding */
	[OPT_LSRR] = {7, {0x83, 7, 4, 10, 244, 1, 11, 0}},
	[OPT_SSRR_AFTER_NOPS] = {8, {1, 1, 1, 0x89, 7, 4, 10, 244, 1, 11, 0, 0}},
	[OPT_LEN_0] = {6, {0x94, 0, 0, 0}},
	[OPT_LEN_1] = {6, {0x07, 1, 0, 0}},
	/* Record Route saying 12 bytes in an 8-byte option area */
	[OPT_PAST_END] = {7, {1, 0x07, 12, 4, 0, 0, 0, 0}},
	/* three NOPs and a type with no room for its length */
	[OPT_TYPE_LAST] = {6, {1, 1, 1, 0x44}},
	/* Record Route (one free slot), Timestamp (one), Router Alert */
	[OPT_RR_TS] = {10, {0x07, 7, 4, 0, 0, 0, 0, 0x44, 8, 5, 0, 0, 0, 0, 0,
			    0x94, 4, 0, 0, 1}},
	/* after End of Option List, whatever bytes: padding */
	[OPT_EOL_THEN_JUNK] = {6, {0, 0x83, 0xff, 0x00}},
	[OPT_LSRR_AFTER_EOL] = {7, {0, 0x83, 7, 4, 10, 244, 1, 11}},
};

/* Pod A → pod B with the options @p set: forwarded unchanged but for the
 * TTL when @p fwd, else dropped (the case names the reason). */
static void opts_a_to_b(struct input *in, struct outcome *o, int set,
			bool fwd)
{
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B);

	h.ihl = opt_sets[set].ihl;
	h.opts = opt_sets[set].b;
	if (fwd)
		fwd_a_to_b(in, o, h, 0);
	else
		from_a(in_add(in), h);
}

static void b_opts_drop(struct input *in, struct outcome *o, int set)
{
	opts_a_to_b(in, o, set, false);
}

static void b_opts_fwd(struct input *in, struct outcome *o, int set)
{
	opts_a_to_b(in, o, set, true);
}

/* --- ARP --- */

#define ARP_REQ_IN                                                           \
	"ff ff ff ff ff ff 02 00 00 00 01 01 08 06 "                         \
	"00 01 08 00 06 04 00 01 02 00 00 00 01 01 0a f4 01 0a "             \
	"00 00 00 00 00 00 a9 fe 01 01"
#define ARP_REPLY_OUT                                                        \
	"02 00 00 00 01 01 ee ee ee ee ee ee 08 06 "                         \
	"00 01 08 00 06 04 00 02 ee ee ee ee ee ee a9 fe 01 01 "             \
	"02 00 00 00 01 01 0a f4 01 0a"

/* A request on @p port from (mac, ip), padded to 60 bytes, answered. */
static void arp_answered(struct input *in, struct outcome *o, uint16_t port,
			 const uint8_t *mac, uint32_t ip, uint32_t tip)
{
	frame_arp(in_add(in), MAC_BCAST, mac, 1, mac, ip, MAC_ZERO, tip, 60);
	frame_arp(tx_add(o, port), mac, MAC_EE, 2, MAC_EE, tip, mac, ip, 60);
	o->arp_replied = 1;
}

static void b_arp_padded(struct input *in, struct outcome *o, int arg)
{
	arp_answered(in, o, P_A, MAC_A, POD_A, GW_LL);
}

/*
 * The answer goes to the request's sender hardware address, not the frame's
 * source (RFC 826), and carries none of the request's trailing bytes.
 */
enum { ARPR_JUNK, ARPR_LONG, ARPR_SHA };

static void b_arp_reply_shape(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);
	const uint8_t *esrc = arg == ARPR_SHA ? MAC_OTHER : MAC_A;

	frame_arp(f, MAC_BCAST, esrc, 1, MAC_A, POD_A, MAC_ZERO, GW_LL, 0);
	while (f->len < (arg == ARPR_LONG ? 90 : 60))
		f->b[f->len++] = 0xa5;
	frame_arp(tx_add(o, P_A), MAC_A, MAC_EE, 2, MAC_EE, GW_LL, MAC_A,
		  POD_A, 60);
	o->arp_replied = 1;
}

static void b_arp_host(struct input *in, struct outcome *o, int arg)
{
	arp_answered(in, o, P_HOST, MAC_HOST, SELF, POD_A);
}

static void b_arp_learn(struct input *in, struct outcome *o, int arg)
{
	const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0x01, 0x03};

	arp_answered(in, o, P_C, mac_c, POD_C, GW_LL);
	/* Control gets the request as received, to learn the MAC. */
	*punt_add(o, PL_PUNT_ARP, 0, P_C) = in->f[0];
}

/* The learn copy cannot reach control: only the answer goes out. */
static void b_arp_learn_lost(struct input *in, struct outcome *o, int arg)
{
	const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0x01, 0x03};

	arp_answered(in, o, P_C, mac_c, POD_C, GW_LL);
}

/* An uplink ARP request (for the ring-full case). */
static void b_raw_arp_up(struct input *in, struct outcome *o, int arg)
{
	frame_arp(in_add(in), MAC_BCAST, MAC_NODE_B, 1, MAC_NODE_B, NODE_B,
		  MAC_ZERO, SELF, 60);
}

enum { ARPX_GRATUITOUS, ARPX_PROBE, ARPX_RARP, ARPX_REPLY_HOST,
       ARPX_NONE_PORT };

static void b_arp_ignored(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);
	switch (arg) {
	case ARPX_GRATUITOUS:
		frame_arp(f, MAC_BCAST, MAC_A, 1, MAC_A, POD_A, MAC_ZERO,
			  POD_A, 60);
		break;
	case ARPX_PROBE:
		frame_arp(f, MAC_BCAST, MAC_A, 1, MAC_A, 0, MAC_ZERO, POD_A,
			  60);
		break;
	case ARPX_RARP:
		frame_arp(f, MAC_BCAST, MAC_A, 3, MAC_A, POD_A, MAC_ZERO,
			  GW_LL, 60);
		break;
	case ARPX_REPLY_HOST:
		frame_arp(f, MAC_EE, MAC_HOST, 2, MAC_HOST, SELF, MAC_EE,
			  GW_LL, 60);
		break;
	case ARPX_NONE_PORT:
		frame_arp(f, MAC_BCAST, MAC_A, 1, MAC_A, POD_A, MAC_ZERO,
			  GW_LL, 60);
		break;
	}
}

/* Punted as received: a pod's reply, or anything ARP on the uplink. */
static void b_arp_punted(struct input *in, struct outcome *o, int port)
{
	struct frame *f = in_add(in);
	if (port == P_UP)
		frame_arp(f, MAC_BCAST, MAC_NODE_B, 1, MAC_NODE_B, NODE_B,
			  MAC_ZERO, SELF, 60);
	else
		frame_arp(f, MAC_EE, MAC_A, 2, MAC_A, POD_A, MAC_EE, GW_LL,
			  60);
	*punt_add(o, PL_PUNT_ARP, 0, (uint16_t)port) = *f;
}

enum { ARPB_SHORT, ARPB_HW, ARPB_PROTO, ARPB_PLEN };

static void b_arp_bad(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);
	frame_arp(f, MAC_BCAST, MAC_A, 1, MAC_A, POD_A, MAC_ZERO, GW_LL, 0);
	switch (arg) {
	case ARPB_SHORT:
		f->len = 14 + 27;
		break;
	case ARPB_HW:
		put16(f->b + 14, 6);
		break;
	case ARPB_PROTO:
		put16(f->b + 16, 0x86dd);
		break;
	case ARPB_PLEN:
		f->b[19] = 16;
		break;
	}
}

/* --- anti-spoofing --- */

enum { SPOOF_IP, SPOOF_MAC, SPOOF_IPIP };

static void b_spoof(struct input *in, struct outcome *o, int arg)
{
	struct frame *f = in_add(in);
	switch (arg) {
	case SPOOF_IP:
		from_a(f, IP4(.src = POD_B, .dst = REMOTE_B));
		break;
	case SPOOF_MAC: {
		struct ip4 h = IP4(.src = POD_A, .dst = POD_B);
		frame_ip(f, MAC_EE, MAC_OTHER, &h, 0);
		break;
	}
	case SPOOF_IPIP: {
		struct ip4 inner = IP4(.src = POD_A, .dst = REMOTE_B);
		frame_ipip(f, MAC_EE, MAC_A,
			   IP4(.src = POD_A, .dst = NODE_B), &inner);
		break;
	}
	}
}

/* Pod B has no configured MAC: any source MAC goes. */
static void b_pod_any_mac(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_B, .dst = POD_A);
	frame_ip(in_add(in), MAC_EE, MAC_OTHER, &h, 0);
	h.ttl--;
	frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
}

/* --- routed toward the uplink --- */

struct remote {
	uint32_t dst;         /**< inner destination */
	uint32_t outer_dst;   /**< 0: no encapsulation */
	const uint8_t *mac;   /**< L2 next hop */
};

static const struct remote R_IPIP_B = {REMOTE_B, NODE_B, MAC_NODE_B};
static const struct remote R_IPIP_C = {REMOTE_C, NODE_C, MAC_GW};
static const struct remote R_DIRECT_B = {DIRECT_B, 0, MAC_NODE_B};
static const struct remote R_INTERNET = {INTERNET, 0, MAC_GW};
static const struct remote *const remotes[] = {&R_IPIP_B, &R_IPIP_C,
					       &R_DIRECT_B, &R_INTERNET};

/* The frame @p h (already routed: TTL decremented) becomes toward @p r. */
static void expect_remote(struct outcome *o, const struct remote *r,
			  const struct ip4 *h, uint16_t id)
{
	if (r->outer_dst == 0) {
		frame_ip(tx_add(o, P_UP), r->mac, MAC_UP, h, 0);
		return;
	}
	/* Outer: DF, TTL 64, TOS copied, our id sequence. */
	frame_ipip(tx_add(o, P_UP), r->mac, MAC_UP,
		   (struct ip4){.ver = 4, .ihl = 5, .tos = h->tos, .ttl = 64,
				.id = id, .frag = G_DF, .src = SELF,
				.dst = r->outer_dst},
		   h);
	o->ipip_encap++;
}

/* Pod A → remotes[arg], with the inner TOS set and DF clear. */
static void b_remote(struct input *in, struct outcome *o, int arg)
{
	const struct remote *r = remotes[arg];
	struct ip4 h = IP4(.src = POD_A, .dst = r->dst, .tos = 0xb8,
			   .frag = 0, .plen = 100);

	from_a(in_add(in), h);
	h.ttl--;
	expect_remote(o, r, &h, IP_ID0);
}

/* Two packets through IPIP: consecutive outer ids. */
static void b_remote_ids(struct input *in, struct outcome *o, int arg)
{
	for (uint16_t i = 0; i < 2; i++) {
		struct ip4 h = IP4(.src = POD_A, .dst = REMOTE_B,
				   .id = (uint16_t)(7 + i));
		from_a(in_add(in), h);
		h.ttl--;
		expect_remote(o, &R_IPIP_B, &h, (uint16_t)(IP_ID0 + i));
	}
}

/* Pod A → node B's pod in a frame with @p arg bytes of headroom: 20
 * take the outer header, 18 do not and the frame is dropped (no_mbuf,
 * the drop encap_ipip_push() refusing has always counted). 18, not 19:
 * the headers stay 2-byte aligned, as every PMD delivers them. */
static void b_remote_headroom(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_A, .dst = REMOTE_B);
	struct frame *f = in_add(in);

	from_a(f, h);
	f->headroom = (uint16_t)arg;
	if (arg < 20)
		return;
	h.ttl--;
	expect_remote(o, &R_IPIP_B, &h, IP_ID0);
}

#define ENC_IN                                                               \
	"ee ee ee ee ee ee 02 00 00 00 01 01 08 00 45 b8 00 20 1c 46 40 00 " \
	"40 11 04 d4 0a f4 01 0a 0a f4 02 0a 04 d2 16 2e 00 0c f0 54 6b 64 " \
	"70 21"
#define ENC_OUT                                                              \
	"02 00 00 00 0b 01 02 00 00 00 0a 01 08 00 45 b8 00 34 12 34 40 00 " \
	"40 04 92 72 c0 a8 0a 0b c0 a8 0a 0c 45 b8 00 20 1c 46 40 00 3f 11 " \
	"05 d4 0a f4 01 0a 0a f4 02 0a 04 d2 16 2e 00 0c f0 54 6b 64 70 21"

/* IP datagram sizes at the MTU boundary over IPIP (1480) and direct (1500). */
enum { MTU_IPIP_FITS, MTU_DIRECT_FITS };

static void b_mtu_fits(struct input *in, struct outcome *o, int arg)
{
	const struct remote *r = arg == MTU_IPIP_FITS ? &R_IPIP_B : &R_INTERNET;
	uint16_t mtu = arg == MTU_IPIP_FITS ? IPIP_MTU : UPLINK_MTU;
	struct ip4 h = IP4(.src = POD_A, .dst = r->dst,
			   .plen = (uint16_t)(mtu - 20));

	from_a(in_add(in), h);
	h.ttl--;
	expect_remote(o, r, &h, IP_ID0);
}

/* The ICMP error pod A gets about @p quoted (its IP bytes as quoted): the
 * case's errors take the context's IDs from IP_ID0 on (RFC 6864). */
static void expect_icmp_to_a(struct outcome *o, const struct ip4 *quoted,
			     uint8_t type, uint8_t code, uint16_t mtu)
{
	uint8_t q[FRAME_MAX];
	unsigned int n = ip4_bytes(q, quoted);

	if (n > 548)
		n = 548; /* 576-byte error */
	frame_icmp_err(tx_add(o, P_A), MAC_A, MAC_EE, SELF, POD_A, type, code,
		       mtu, q, n, (uint16_t)(IP_ID0 + o->icmp_sent));
	o->icmp_sent++;
}

/* One byte over the MTU: fragmentation needed (DF) or a silent drop. */
enum { BIG_IPIP_DF, BIG_IPIP_NODF, BIG_DIRECT_DF };

static void b_too_big(struct input *in, struct outcome *o, int arg)
{
	bool ipip = arg != BIG_DIRECT_DF;
	const struct remote *r = ipip ? &R_IPIP_B : &R_INTERNET;
	uint16_t mtu = ipip ? IPIP_MTU : UPLINK_MTU;
	struct ip4 h = IP4(.src = POD_A, .dst = r->dst,
			   .frag = arg == BIG_IPIP_NODF ? 0 : G_DF,
			   .plen = (uint16_t)(mtu - 20 + 1));

	from_a(in_add(in), h);
	if (arg == BIG_IPIP_NODF)
		return;
	/*
	 * The quote shows the TTL already decremented: RFC 1812 4.3.2.3 lets
	 * a router leave forwarding changes made before the error in place.
	 */
	h.ttl--;
	expect_icmp_to_a(o, &h, 3, 4, mtu);
}

#define TTL_IN                                                               \
	"ee ee ee ee ee ee 02 00 00 00 01 01 08 00 45 00 00 20 1c 46 40 00 " \
	"01 11 45 8b 0a f4 01 0a 0a f4 01 0b 04 d2 16 2e 00 0c f1 53 6b 64 " \
	"70 21"
#define TTL_OUT                                                              \
	"02 00 00 00 01 01 ee ee ee ee ee ee 08 00 45 c0 00 3c 12 34 00 00 " \
	"40 01 91 1c c0 a8 0a 0b 0a f4 01 0a 0b 00 0d 1a 00 00 00 00 45 00 " \
	"00 20 1c 46 40 00 01 11 45 8b 0a f4 01 0a 0a f4 01 0b 04 d2 16 2e " \
	"00 0c f1 53 6b 64 70 21"

/* TTL expiry toward a local pod, a remote pod; TTL 0; a long quote. */
enum { TTLX_LOCAL, TTLX_REMOTE, TTLX_ZERO, TTLX_LONG, TTLX_ECHO };

static void b_ttl(struct input *in, struct outcome *o, int arg)
{
	const uint8_t echo[8] = {8, 0, 0xf7, 0xfe, 0, 1, 0, 0};
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B, .ttl = 1);

	switch (arg) {
	case TTLX_REMOTE:
		h.dst = REMOTE_B;
		break;
	case TTLX_ZERO:
		h.ttl = 0;
		break;
	case TTLX_LONG: /* quote cut at 548 bytes */
		h.plen = 1000;
		break;
	case TTLX_ECHO: /* echo is not an error: it gets one */
		h.proto = 1;
		h.plen = sizeof(echo);
		h.payload = echo;
		break;
	}
	from_a(in_add(in), h);
	expect_icmp_to_a(o, &h, 11, 0, 0);
}

/* TTL expiry that must stay silent. */
enum { SILENT_ICMP_ERR, SILENT_FRAG, SILENT_NO_MBUF };

static void b_ttl_silent(struct input *in, struct outcome *o, int arg)
{
	/* Destination unreachable quoting some UDP packet. */
	const uint8_t unreach[36] = {3, 3, 0xfc, 0xfc, 0, 0, 0, 0, 0x45};
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B, .ttl = 1);

	if (arg == SILENT_ICMP_ERR) {
		h.proto = 1;
		h.plen = sizeof(unreach);
		h.payload = unreach;
	} else if (arg == SILENT_FRAG) {
		h.frag = 100; /* not the first fragment */
	}
	from_a(in_add(in), h);
}

/* More expiring packets in one burst than the bucket holds. */
static void b_ratelimit(struct input *in, struct outcome *o, int extra)
{
	for (int i = 0; i < PL_ICMP_BURST + extra; i++) {
		struct ip4 h = IP4(.src = POD_A, .dst = POD_B, .ttl = 1,
				   .id = (uint16_t)i);
		from_a(in_add(in), h);
		if (i < PL_ICMP_BURST)
			expect_icmp_to_a(o, &h, 11, 0, 0);
	}
	o->icmp_ratelimited = (uint64_t)extra;
}

/*
 * ICMP errors about ICMP errors are never sent, so they must not spend the
 * rate limit either: after a flood of them, a real error still goes out.
 */
static void b_ratelimit_not_spent(struct input *in, struct outcome *o,
				  int arg)
{
	const uint8_t unreach[36] = {3, 3, 0xfc, 0xfc, 0, 0, 0, 0, 0x45};

	for (int i = 0; i < PL_ICMP_BURST + 2; i++)
		from_a(in_add(in), IP4(.src = POD_A, .dst = POD_B, .ttl = 1,
				       .proto = 1, .plen = sizeof(unreach),
				       .payload = unreach));
	struct ip4 h = IP4(.src = POD_A, .dst = POD_B, .ttl = 1);
	from_a(in_add(in), h);
	expect_icmp_to_a(o, &h, 11, 0, 0);
}

/* Drops after the lookup. */
static void b_pod_to(struct input *in, struct outcome *o, int dst)
{
	from_a(in_add(in), IP4(.src = POD_A, .dst = (uint32_t)dst));
}

/* Pod A → the node IP: to the host port unchanged but for L2. */
static void b_to_host(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_A, .dst = SELF);
	from_a(in_add(in), h);
	frame_ip(tx_add(o, P_HOST), MAC_HOST, MAC_EE, &h, 0);
}

/* natOutgoing pod A out of the pools: to the host port unchanged but for
 * L2 (the host masquerades and routes it, TTL included). */
static void b_nat_host(struct input *in, struct outcome *o, int dst)
{
	struct ip4 h = IP4(.src = POD_A, .dst = (uint32_t)dst);
	from_a(in_add(in), h);
	frame_ip(tx_add(o, P_HOST), MAC_HOST, MAC_EE, &h, 0);
}

/* Pod B, not natOutgoing, to the internet: the gateway, as ever. */
static void b_b_internet(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_B, .dst = INTERNET);
	frame_ip(in_add(in), MAC_EE, MAC_B, &h, 0);
	h.ttl--;
	frame_ip(tx_add(o, P_UP), MAC_GW, MAC_UP, &h, 0);
}

/* The host port routes like a pod, without anti-spoofing. */
static void b_from_host(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = SELF, .dst = POD_A);
	frame_ip(in_add(in), MAC_EE, MAC_HOST, &h, 0);
	h.ttl--;
	frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
}

/* From the host port to the node (its own routes never send that; an
 * unused Service address kdp routes to the host, host.service_cidrs, comes
 * back so): not back to the host, whose default route is kdp's. */
static void b_host_loop(struct input *in, struct outcome *o, int dst)
{
	struct ip4 h = IP4(.src = POD_A, .dst = (uint32_t)dst);
	frame_ip(in_add(in), MAC_EE, MAC_HOST, &h, 0);
}

/* The host's own packet with TTL 1: its error comes from the pods'
 * gateway, not the node IP, which the host's kernel would drop as a
 * martian (a local source from outside). */
static void b_host_ttl(struct input *in, struct outcome *o, int arg)
{
	uint8_t q[FRAME_MAX];
	struct ip4 h = IP4(.src = (uint32_t)arg, .dst = POD_A, .ttl = 1);

	frame_ip(in_add(in), MAC_EE, MAC_HOST, &h, 0);
	unsigned int n = ip4_bytes(q, &h);
	frame_icmp_err(tx_add(o, P_HOST), MAC_HOST, MAC_EE, GW_LL,
		       (uint32_t)arg, 11, 0, 0, q, n, IP_ID0);
	o->icmp_sent = 1;
}

/* --- unresolved neighbors --- */

static void b_hold_local(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_A, .dst = POD_C);
	from_a(in_add(in), h);
	h.ttl--;
	/* L2 source written, destination left as it was. */
	frame_ip(punt_add(o, PL_PUNT_HOLD, S_C, P_C), MAC_EE, MAC_EE, &h, 0);
}

static void b_hold_ipip(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = POD_A, .dst = REMOTE_D);
	from_a(in_add(in), h);
	h.ttl--;
	frame_ipip(punt_add(o, PL_PUNT_HOLD, S_NODE_D, P_UP), MAC_ZERO,
		   MAC_UP,
		   (struct ip4){.ver = 4, .ihl = 5, .ttl = 64, .id = IP_ID0,
				.frag = G_DF, .src = SELF, .dst = NODE_D},
		   &h);
	o->punt[0].cmp_from = 6; /* the destination MAC is control's job */
	o->ipip_encap = 1;
}

/* --- the uplink --- */

#define DEC_IN                                                               \
	"02 00 00 00 0a 01 02 00 00 00 0b 01 08 00 45 00 00 34 00 99 40 00 " \
	"40 04 a4 c5 c0 a8 0a 0c c0 a8 0a 0b 45 00 00 20 07 77 00 00 3f 11 " \
	"5b 5b 0a f4 02 0a 0a f4 01 0a 00 35 9c 40 00 0c 6e df 6b 64 70 21"
#define DEC_OUT                                                              \
	"02 00 00 00 01 01 ee ee ee ee ee ee 08 00 45 00 00 20 07 77 00 00 " \
	"3e 11 5c 5b 0a f4 02 0a 0a f4 01 0a 00 35 9c 40 00 0c 6e df 6b 64 " \
	"70 21"

/* IPIP from node B (or @p outer_src) to us, carrying @p inner. */
static void ipip_in(struct frame *f, uint32_t outer_src,
		    const struct ip4 *inner, uint8_t outer_ihl,
		    uint16_t outer_frag)
{
	frame_ipip(f, MAC_UP, MAC_NODE_B,
		   (struct ip4){.ver = 4, .ihl = outer_ihl, .ttl = 64,
				.id = 0x99, .frag = outer_frag,
				.src = outer_src, .dst = SELF},
		   inner);
}

enum { DEC_PLAIN, DEC_OPTIONS, DEC_FROM_C };

static void b_decap(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 63);
	ipip_in(in_add(in), arg == DEC_FROM_C ? NODE_C : NODE_B, &h,
		arg == DEC_OPTIONS ? 6 : 5, G_DF);
	h.ttl--;
	frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
	o->ipip_decap = 1;
}

/*
 * ECN at decapsulation (RFC 6040 4.2, Figure 4): IPIP whose outer ECN
 * field is @p arg / 4 and the inner's @p arg % 4 (0 Not-ECT, 1 ECT(1),
 * 2 ECT(0), 3 CE), the DSCP 0x28 in both; the inner packet goes on with
 * the field of the figure, its checksum patched, or is dropped as
 * ipip_ecn (Not-ECT under CE).
 */
#define ECN(out, in) ((out) * 4 + (in))
static void b_decap_ecn(struct input *in, struct outcome *o, int arg)
{
	static const int8_t fig4[4][4] = { /* [inner][outer] */
		{0, 0, 0, -1}, {1, 1, 1, 3}, {2, 1, 2, 3}, {3, 3, 3, 3},
	};
	int outer = arg / 4, inner = arg % 4;
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 63,
			   .tos = (uint8_t)(0x28 | inner));

	frame_ipip(in_add(in), MAC_UP, MAC_NODE_B,
		   (struct ip4){.ver = 4, .ihl = 5, .ttl = 64, .id = 0x99,
				.tos = (uint8_t)(0x28 | outer), .frag = G_DF,
				.src = NODE_B, .dst = SELF},
		   &h);
	if (fig4[inner][outer] < 0)
		return;
	h.tos = (uint8_t)(0x28 | fig4[inner][outer]);
	h.ttl--;
	frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
	o->ipip_decap = 1;
}

/*
 * IPIP with the NIC's checksum flags. A NIC that parses the tunnel reports
 * the inner header in RX_IP_CKSUM and the outer in RX_OUTER_IP_CKSUM_BAD;
 * one that does not reports the outer. So GOOD vouches for neither header
 * of an IPIP frame: both sums are tested, and any BAD drops it.
 */
enum { NIC_GOOD_OK, NIC_GOOD_INNER_BAD, NIC_GOOD_OUTER_BAD, NIC_OUTER_BAD };

static void b_ipip_nic(struct input *in, struct outcome *o, int how)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 63);
	struct frame *f = in_add(in);

	if (how == NIC_GOOD_INNER_BAD)
		h.csum_delta = 1;
	frame_ipip(f, MAC_UP, MAC_NODE_B,
		   (struct ip4){.ver = 4, .ihl = 5, .ttl = 64, .id = 0x99,
				.frag = G_DF, .src = NODE_B, .dst = SELF,
				.csum_delta = how == NIC_GOOD_OUTER_BAD},
		   &h);
	f->ol_flags = how == NIC_OUTER_BAD ? RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD :
					     RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	if (how != NIC_GOOD_OK)
		return;
	h.ttl--;
	frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
	o->ipip_decap = 1;
}

/* Decapsulated, then dropped by stage 3 (destination given). */
static void b_decap_to(struct input *in, struct outcome *o, int dst)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = (uint32_t)dst);
	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
	o->ipip_decap = 1;
}

/* IPIP from node B to the node (@p dst: its IP or its tunnel IP), as a
 * Linux node's host sends from its tunnel IP: to the host port,
 * decapsulated, unchanged but for L2 (the kernel receives it, no routed
 * hop). */
static void b_decap_host(struct input *in, struct outcome *o, int dst)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = (uint32_t)dst);
	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
	frame_ip(tx_add(o, P_HOST), MAC_HOST, MAC_EE, &h, 0);
	o->ipip_decap = 1;
}

/* IPIP for the host that kdp does not open: @p nested, IPIP in IPIP from
 * node B to the node IP; else plain IPIP to the tunnel IP. */
static void b_ipip_to_host(struct input *in, struct outcome *o, int nested)
{
	if (nested) {
		struct ip4 h = IP4(.src = NODE_B, .dst = SELF, .proto = 4);
		ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
		o->ipip_decap = 1;
	} else {
		struct ip4 h = IP4(.src = NODE_B, .dst = TUNNEL, .proto = 4);
		frame_ip(in_add(in), MAC_UP, MAC_NODE_B, &h, 0);
	}
}

/* IPIP from node B with a broken inner packet. */
static void b_ipip_inner_bad(struct input *in, struct outcome *o, int how)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A);

	ip_break(&h, how);
	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
}

/* IPIP refused for its outer header. */
enum { OUT_MF, OUT_OFFSET, OUT_UNKNOWN };

static void b_ipip_outer_bad(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A);

	ipip_in(in_add(in), arg == OUT_UNKNOWN ? STRANGER : NODE_B, &h, 5,
		arg == OUT_MF ? G_MF : arg == OUT_OFFSET ? 185 : G_DF);
}

/* Expired inside the tunnel: the error goes back through it. */
static void b_decap_ttl(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 1);
	uint8_t q[FRAME_MAX];
	unsigned int n = ip4_bytes(q, &h);

	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
	struct frame err;
	frame_icmp_err(&err, MAC_ZERO, MAC_ZERO, SELF, REMOTE_B, 11, 0, 0, q,
		       n, IP_ID0);
	/* The error is local: encapsulated as it is, no TTL decrement; its
	 * ID is the context's first, the tunnel's outer header the next. */
	struct ip4 eh = IP4(.src = SELF, .dst = REMOTE_B, .proto = 1,
			    .tos = 0xc0, .ttl = 64, .id = IP_ID0, .frag = 0,
			    .plen = (uint16_t)(err.len - 14 - 20),
			    .payload = err.b + 14 + 20);
	expect_remote(o, &R_IPIP_B, &eh, IP_ID0 + 1);
	o->icmp_sent = 1;
	o->ipip_decap = 1;
}

static void b_decap_hold(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_C);
	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
	h.ttl--;
	/* The popped outer header leaves its last 14 bytes as L2 room. */
	frame_ip(punt_add(o, PL_PUNT_HOLD, S_C, P_C), MAC_ZERO, MAC_EE, &h,
		 0);
	o->punt[0].cmp_from = 6;
	o->ipip_decap = 1;
}

/* A plain (not encapsulated) packet on the uplink to @p dst, dropped. */
static void b_uplink_drop(struct input *in, struct outcome *o, int dst)
{
	struct ip4 h = IP4(.src = DIRECT_B, .dst = (uint32_t)dst);
	frame_ip(in_add(in), MAC_UP, MAC_NODE_B, &h, 0);
}

/* CrossSubnet traffic to a local pod (routed), or host traffic (not). */
static void b_uplink_plain(struct input *in, struct outcome *o, int to_pod)
{
	struct ip4 h = IP4(.src = DIRECT_B, .dst = to_pod ? POD_A : SELF);
	frame_ip(in_add(in), MAC_UP, MAC_NODE_B, &h, 0);
	if (to_pod) {
		h.ttl--;
		frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &h, 0);
	} else {
		frame_ip(tx_add(o, P_HOST), MAC_HOST, MAC_EE, &h, 0);
	}
}

/* To pod A from @p src, a source on network 0 or 127: refused plain on
 * the uplink, and inside IPIP from node B (RFC 1812 5.3.7). */
static void b_uplink_src(struct input *in, struct outcome *o, int src)
{
	struct ip4 h = IP4(.src = (uint32_t)src, .dst = POD_A);
	frame_ip(in_add(in), MAC_UP, MAC_NODE_B, &h, 0);
}

static void b_decap_src(struct input *in, struct outcome *o, int src)
{
	struct ip4 h = IP4(.src = (uint32_t)src, .dst = POD_A);
	ipip_in(in_add(in), NODE_B, &h, 5, G_DF);
}

/* IPIP on the uplink whose outer destination is not us: not for us. */
static void b_ipip_not_ours(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A);
	frame_ipip(in_add(in), MAC_UP, MAC_NODE_B,
		   IP4(.src = NODE_B, .dst = STRANGER), &h);
}

static void b_uplink_bad_cksum(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A);
	frame_ipip(in_add(in), MAC_UP, MAC_NODE_B,
		   IP4(.src = NODE_B, .dst = SELF, .csum_delta = 2), &h);
}

/*
 * ICMP "fragmentation needed" to the node from a router on the underlay
 * (STRANGER). About an IPIP packet of ours to a node, control learns that
 * tunnel's MTU from it (control/pmtu.h): punted as received. Anything
 * else goes to the host as before.
 */
enum { PM_OURS, PM_NOT_NODE, PM_NOT_IPIP, PM_OTHER_SRC, PM_OTHER_TYPE,
       PM_SHORT };

static void b_pmtu(struct input *in, struct outcome *o, int how)
{
	struct ip4 inner = IP4(.src = POD_A, .dst = REMOTE_C, .frag = G_DF,
			       .plen = 1400);
	struct ip4 outer = IP4(.src = how == PM_OTHER_SRC ? NODE_B : SELF,
			       .dst = how == PM_NOT_NODE ? STRANGER : NODE_C,
			       .frag = G_DF);
	uint8_t pkt[FRAME_MAX], q[FRAME_MAX];

	outer.plen = (uint16_t)ip4_bytes(q, &inner);
	outer.payload = q;
	outer.proto = how == PM_NOT_IPIP ? IPPROTO_UDP : IPPROTO_IPIP;
	unsigned int qlen = how == PM_SHORT ? 16 : 20 + 28;

	ip4_bytes(pkt, &outer);
	for (int k = 0; k < 2; k++) {
		bool rx = k == 0;
		struct frame *f = rx ? in_add(in) : NULL;

		if (!rx && how == PM_OURS) {
			f = punt_add(o, PL_PUNT_PMTU, 0, P_UP);
			*f = in->f[0];
			break;
		}
		if (!rx)
			f = tx_add(o, P_HOST);
		frame_icmp_err(f, rx ? MAC_UP : MAC_HOST,
			       rx ? MAC_NODE_B : MAC_EE, STRANGER, SELF,
			       how == PM_OTHER_TYPE ? 11 : 3,
			       how == PM_OTHER_TYPE ? 0 : 4, 1300, pkt, qlen,
			       77);
	}
}

/*
 * The uplink's L2 rule (README "Uplink"; Linux's eth_type_trans(), then
 * ip_rcv() and ip_forward()): a frame kdp would otherwise take -- one the
 * cases above forward or punt -- sent to another destination MAC.
 */
static const uint8_t MAC_MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x05};
static const uint8_t MAC_V6_MCAST[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

enum { L2_DECAP, L2_PLAIN_POD, L2_PLAIN_HOST, L2_ARP_REQUEST, L2_ARP_REPLY,
       L2_VLAN, L2_IPV6 };

static void l2_frame(struct frame *f, const uint8_t *dmac, int what)
{
	struct ip4 h = IP4(.src = DIRECT_B, .dst = POD_A);

	switch (what) {
	case L2_DECAP:
		h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 63);
		ipip_in(f, NODE_B, &h, 5, G_DF);
		break;
	case L2_PLAIN_HOST:
		h.dst = SELF;
		/* fall through */
	case L2_PLAIN_POD:
		frame_ip(f, MAC_UP, MAC_NODE_B, &h, 0);
		break;
	case L2_ARP_REQUEST:
		frame_arp(f, MAC_UP, MAC_NODE_B, 1, MAC_NODE_B, NODE_B,
			  MAC_ZERO, SELF, 60);
		break;
	case L2_ARP_REPLY: /* to control's request for node B */
		frame_arp(f, MAC_UP, MAC_NODE_B, 2, MAC_NODE_B, NODE_B, MAC_UP,
			  SELF, 60);
		break;
	case L2_VLAN:
		frame_ip(f, MAC_UP, MAC_NODE_B, &h, 0);
		put16(f->b + 12, 0x8100);
		break;
	case L2_IPV6:
		frame_ip(f, MAC_UP, MAC_NODE_B, &h, 0);
		put16(f->b + 12, 0x86dd);
		break;
	}
	memcpy(f->b, dmac, 6);
}

/* To another host's MAC: dropped as l2_other_host whatever it carries. */
static void b_l2_other(struct input *in, struct outcome *o, int what)
{
	l2_frame(in_add(in), MAC_OTHER, what);
}

/* To the broadcast MAC (@p what < 0x100) or a multicast one: IPv4 is
 * dropped as l2_not_unicast; what else the case names goes on. */
static void b_l2_group(struct input *in, struct outcome *o, int what)
{
	struct frame *f = in_add(in);

	l2_frame(f, what & 0x100 ? MAC_MCAST : MAC_BCAST, what & 0xff);
	if ((what & 0xff) == L2_ARP_REQUEST)
		*punt_add(o, PL_PUNT_ARP, 0, P_UP) = *f;
}

/* ARP to the uplink's MAC: punted, as a broadcast request is. */
static void b_l2_arp_ours(struct input *in, struct outcome *o, int what)
{
	struct frame *f = in_add(in);

	l2_frame(f, MAC_UP, what);
	*punt_add(o, PL_PUNT_ARP, 0, P_UP) = *f;
}

/* IPv6 multicast (33:33:...), common on an underlay: not_ip as before. */
static void b_l2_v6_mcast(struct input *in, struct outcome *o, int arg)
{
	l2_frame(in_add(in), MAC_V6_MCAST, L2_IPV6);
}

/* One burst: tunnelled packets for pod A to the uplink's MAC, forwarded,
 * between two to another host's MAC, dropped. */
static void b_l2_mixed(struct input *in, struct outcome *o, int arg)
{
	struct ip4 h = IP4(.src = REMOTE_B, .dst = POD_A, .ttl = 63);

	for (int i = 0; i < 4; i++) {
		struct frame *f = in_add(in);

		h.id = (uint16_t)(0x100 + i);
		ipip_in(f, NODE_B, &h, 5, G_DF);
		if (i == 1 || i == 3) {
			memcpy(f->b, MAC_OTHER, 6);
			continue;
		}
		struct ip4 out = h;
		out.ttl--;
		frame_ip(tx_add(o, P_A), MAC_A, MAC_EE, &out, 0);
		o->ipip_decap++;
	}
	o->n_drop = 2;
}

/* Pod and host ports are point to point: any destination MAC goes. */
static void b_l2_pod_any_dst(struct input *in, struct outcome *o, int port)
{
	struct ip4 h = IP4(.src = port == P_A ? POD_A : SELF, .dst = POD_B);

	frame_ip(in_add(in), MAC_OTHER, port == P_A ? MAC_A : MAC_HOST, &h,
		 0);
	h.ttl--;
	frame_ip(tx_add(o, P_B), MAC_B, MAC_EE, &h, 0);
}

/* A port with no role routes nothing. */
static void b_none_port(struct input *in, struct outcome *o, int arg)
{
	from_a(in_add(in), IP4(.src = POD_A, .dst = POD_B));
}

/* --- hex anchors: frames written out byte by byte (from scapy) --- */

enum { HEX_ARP, HEX_ENCAP, HEX_TTL, HEX_DECAP };

static const struct {
	const char *in, *out;
	uint16_t out_port;
	uint8_t arp_replied, ipip_encap, icmp_sent, ipip_decap;
} anchors[] = {
	[HEX_ARP] = {ARP_REQ_IN, ARP_REPLY_OUT, P_A, .arp_replied = 1},
	[HEX_ENCAP] = {ENC_IN, ENC_OUT, P_UP, .ipip_encap = 1},
	[HEX_TTL] = {TTL_IN, TTL_OUT, P_A, .icmp_sent = 1},
	[HEX_DECAP] = {DEC_IN, DEC_OUT, P_A, .ipip_decap = 1},
};

static void b_hex(struct input *in, struct outcome *o, int arg)
{
	frame_hex(in_add(in), anchors[arg].in);
	frame_hex(tx_add(o, anchors[arg].out_port), anchors[arg].out);
	o->arp_replied = anchors[arg].arp_replied;
	o->ipip_encap = anchors[arg].ipip_encap;
	o->icmp_sent = anchors[arg].icmp_sent;
	o->ipip_decap = anchors[arg].ipip_decap;
}

#define C(name, port, build, arg, drop) {name, port, T_MAIN, build, arg, drop}
#define CS(name, port, build, arg, drop, setup)                              \
	{name, port, T_MAIN, build, arg, drop, setup}

/* Contexts short of resources. */
static struct rte_ring *full_ring;
static struct rte_mempool *empty_mp;

static void ctx_punt_full(void);
static void ctx_no_mbuf(void);

static const struct gcase cases[] = {
	/* parse */
	C("parse: 10-byte frame", P_A, b_raw, RAW_10, "runt"),
	C("parse: Ethernet header only", P_A, b_raw, RAW_ETH_ONLY, "runt"),
	C("parse: truncated IPv4 header", P_A, b_raw, RAW_IP_TRUNC, "runt"),
	C("parse: 802.1Q tag", P_A, b_ethertype, 0x8100, "vlan"),
	C("parse: 802.1ad tag", P_A, b_ethertype, 0x88a8, "vlan"),
	C("parse: IPv6 ethertype", P_A, b_ethertype, 0x86dd, "not_ip"),
	C("parse: IPv4 version 6", P_A, b_bad_ip, BRK_VER, "ip_version"),
	C("parse: IHL 4", P_A, b_bad_ip, BRK_IHL, "ip_ihl"),
	C("parse: total length beyond frame", P_A, b_bad_ip, BRK_TOT_LONG,
	  "ip_len"),
	C("parse: total length below IHL", P_A, b_bad_ip, BRK_TOT_SHORT,
	  "ip_len"),
	C("parse: IHL beyond total length", P_A, b_bad_ip, BRK_IHL_LONG,
	  "ip_len"),
	C("parse: bad header checksum", P_A, b_bad_ip, BRK_CKSUM, "ip_cksum"),
	C("parse: NIC flags checksum bad", P_A, b_nic_bad, 0, "ip_cksum"),
	C("parse: NIC flags checksum good", P_A, b_fwd_local, FWD_NIC_GOOD,
	  NULL),
	C("parse: fragment beyond 64 KiB", P_A, b_bad_ip, BRK_FRAG,
	  "frag_bad"),
	C("parse: last fragment ending at 65535", P_A, b_fwd_local,
	  FWD_LAST_FRAG, NULL),
	C("parse: source 0.0.0.0", P_A, b_bad_src, 0, "ip_bad_src"),
	C("parse: source broadcast", P_A, b_bad_src, (int)0xffffffff,
	  "ip_bad_src"),
	C("parse: source multicast", P_A, b_bad_src, (int)IP4A(224, 0, 0, 1),
	  "ip_bad_src"),
	C("parse: source loopback", P_A, b_bad_src, (int)IP4A(127, 0, 0, 1),
	  "ip_bad_src"),
	C("parse: destination multicast", P_A, b_bad_dst,
	  (int)IP4A(239, 1, 1, 1), "ip_bad_dst"),
	C("parse: destination broadcast", P_A, b_bad_dst, (int)0xffffffff,
	  "ip_bad_dst"),
	C("parse: destination 0.0.0.0", P_A, b_bad_dst, 0, "ip_bad_dst"),
	C("parse: Ethernet padding trimmed", P_A, b_fwd_local, FWD_PADDED,
	  NULL),
	C("parse: IPv4 options kept", P_A, b_fwd_local, FWD_OPTIONS, NULL),
	C("parse: loose source route", P_A, b_opts_drop, OPT_LSRR,
	  "ip_source_route"),
	C("parse: strict source route after NOPs", P_A, b_opts_drop,
	  OPT_SSRR_AFTER_NOPS, "ip_source_route"),
	C("parse: option length 0", P_A, b_opts_drop, OPT_LEN_0, "ip_options"),
	C("parse: option length 1", P_A, b_opts_drop, OPT_LEN_1, "ip_options"),
	C("parse: option past the header", P_A, b_opts_drop, OPT_PAST_END,
	  "ip_options"),
	C("parse: option type without its length", P_A, b_opts_drop,
	  OPT_TYPE_LAST, "ip_options"),
	C("parse: record route, timestamp, router alert kept", P_A,
	  b_opts_fwd, OPT_RR_TS, NULL),
	C("parse: bytes after End of Option List kept", P_A, b_opts_fwd,
	  OPT_EOL_THEN_JUNK, NULL),
	C("parse: LSRR bytes after End of Option List kept", P_A, b_opts_fwd,
	  OPT_LSRR_AFTER_EOL, NULL),
	C("parse: IPv4 on a port without role", P_NONE, b_none_port, 0,
	  "not_ip"),

	/* ARP */
	C("arp: pod request answered (hex)", P_A, b_hex, HEX_ARP, NULL),
	C("arp: padded pod request answered", P_A, b_arp_padded, 0, NULL),
	C("arp: request's padding not echoed", P_A, b_arp_reply_shape,
	  ARPR_JUNK, NULL),
	C("arp: long request answered in 60 bytes", P_A, b_arp_reply_shape,
	  ARPR_LONG, NULL),
	C("arp: answer to the sender hardware address", P_A,
	  b_arp_reply_shape, ARPR_SHA, NULL),
	C("arp: host request answered", P_HOST, b_arp_host, 0, NULL),
	C("arp: unknown pod MAC answered and learnt", P_C, b_arp_learn, 0,
	  NULL),
	C("arp: gratuitous request ignored", P_A, b_arp_ignored,
	  ARPX_GRATUITOUS, "arp_ignored"),
	C("arp: probe ignored", P_A, b_arp_ignored, ARPX_PROBE,
	  "arp_ignored"),
	C("arp: RARP opcode ignored", P_A, b_arp_ignored, ARPX_RARP,
	  "arp_ignored"),
	C("arp: reply on host port ignored", P_HOST, b_arp_ignored,
	  ARPX_REPLY_HOST, "arp_ignored"),
	C("arp: port without role ignored", P_NONE, b_arp_ignored,
	  ARPX_NONE_PORT, "arp_ignored"),
	C("arp: pod reply punted", P_A, b_arp_punted, P_A, NULL),
	C("arp: uplink request punted", P_UP, b_arp_punted, P_UP, NULL),
	C("arp: truncated", P_A, b_arp_bad, ARPB_SHORT, "arp_bad"),
	C("arp: hardware type 6", P_A, b_arp_bad, ARPB_HW, "arp_bad"),
	C("arp: protocol IPv6", P_A, b_arp_bad, ARPB_PROTO, "arp_bad"),
	C("arp: protocol length 16", P_A, b_arp_bad, ARPB_PLEN, "arp_bad"),

	/* anti-spoofing */
	C("spoof: source IP of another pod", P_A, b_spoof, SPOOF_IP,
	  "spoof_src_ip"),
	C("spoof: source MAC not configured one", P_A, b_spoof, SPOOF_MAC,
	  "spoof_src_mac"),
	C("spoof: IPIP from a pod", P_A, b_spoof, SPOOF_IPIP,
	  "ipip_from_pod"),
	C("spoof: pod's second IP accepted", P_A, b_fwd_local, FWD_A2, NULL),
	C("spoof: any MAC when none configured", P_B, b_pod_any_mac, 0, NULL),

	/* routing */
	C("route: pod to local pod", P_A, b_fwd_local, FWD_PLAIN, NULL),
	C("route: pod to local pod, TOS kept", P_A, b_fwd_local, FWD_TOS,
	  NULL),
	C("route: TTL 2 forwarded as 1", P_A, b_fwd_local, FWD_TTL2, NULL),
	C("route: IPIP encap (hex)", P_A, b_hex, HEX_ENCAP, NULL),
	C("route: IPIP to a node on our subnet", P_A, b_remote, 0, NULL),
	C("route: IPIP to a node via the gateway", P_A, b_remote, 1, NULL),
	C("route: IPIP outer ids consecutive", P_A, b_remote_ids, 0, NULL),
	C("route: IPIP with exactly the outer header's headroom", P_A,
	  b_remote_headroom, 20, NULL),
	C("route: IPIP with 18 bytes of headroom: dropped", P_A,
	  b_remote_headroom, 18, "no_mbuf"),
	C("route: CrossSubnet direct, no encap", P_A, b_remote, 2, NULL),
	C("route: default route via the gateway", P_A, b_remote, 3, NULL),
	{"nat: natOutgoing pod to the internet, to the host", P_A, T_NAT,
	 b_nat_host, (int)INTERNET, NULL},
	{"nat: natOutgoing pod to a node IP, to the host", P_A, T_NAT,
	 b_nat_host, (int)NODE_B, NULL},
	{"nat: natOutgoing pod, CrossSubnet pool: direct", P_A, T_NAT,
	 b_remote, 2, NULL},
	{"nat: natOutgoing pod, IPIP to a pool: as ever", P_A, T_NAT,
	 b_remote, 0, NULL},
	{"nat: natOutgoing pod, no host port: the gateway", P_A,
	 T_NAT_NOHOST, b_remote, 3, NULL},
	{"nat: other pod to the internet: the gateway", P_B, T_NAT,
	 b_b_internet, 0, NULL},
	C("route: pod to the node IP, host port", P_A, b_to_host, 0, NULL),
	{"route: pod to the node IP, no host port", P_A, T_NOHOST, b_pod_to,
	 (int)SELF, "host_no_port"},
	C("route: blackhole", P_A, b_pod_to, (int)HOLE,
	  "blackhole"),
	C("route: no route", P_A, b_pod_to, (int)NOWHERE,
	  "no_route"),
	C("route: local pod without port", P_A, b_pod_to,
	  (int)POD_NOPORT, "no_port"),
	C("route: host port to pod", P_HOST, b_from_host, 0, NULL),
	C("route: host port to the node IP, not back", P_HOST, b_host_loop,
	  (int)SELF, "host_loop"),
	C("route: host port to the tunnel IP, not back", P_HOST, b_host_loop,
	  (int)TUNNEL, "host_loop"),
	C("ttl: the host's own packet: the error from 169.254.1.1", P_HOST,
	  b_host_ttl, (int)SELF, "ttl_exceeded"),
	C("ttl: the host's, from the tunnel IP: from 169.254.1.1", P_HOST,
	  b_host_ttl, (int)TUNNEL, "ttl_exceeded"),
	C("mtu: IPIP at 1480 fits", P_A, b_mtu_fits, MTU_IPIP_FITS, NULL),
	C("mtu: direct at 1500 fits", P_A, b_mtu_fits, MTU_DIRECT_FITS, NULL),
	C("mtu: IPIP 1481 DF: frag needed 1480", P_A, b_too_big, BIG_IPIP_DF,
	  "too_big"),
	C("mtu: IPIP 1481 no DF: silent", P_A, b_too_big, BIG_IPIP_NODF,
	  "too_big"),
	C("mtu: direct 1501 DF: frag needed 1500", P_A, b_too_big,
	  BIG_DIRECT_DF, "too_big"),
	C("ttl: time exceeded (hex)", P_A, b_hex, HEX_TTL, "ttl_exceeded"),
	C("ttl: 1 toward a local pod", P_A, b_ttl, TTLX_LOCAL,
	  "ttl_exceeded"),
	C("ttl: 1 toward a remote pod", P_A, b_ttl, TTLX_REMOTE,
	  "ttl_exceeded"),
	C("ttl: 0", P_A, b_ttl, TTLX_ZERO, "ttl_exceeded"),
	C("ttl: quote cut at 576 bytes", P_A, b_ttl, TTLX_LONG,
	  "ttl_exceeded"),
	C("ttl: echo request gets an error", P_A, b_ttl, TTLX_ECHO,
	  "ttl_exceeded"),
	C("ttl: no error about an ICMP error", P_A, b_ttl_silent,
	  SILENT_ICMP_ERR, "ttl_exceeded"),
	C("ttl: no error about a later fragment", P_A, b_ttl_silent,
	  SILENT_FRAG, "ttl_exceeded"),
	C("icmp: rate limit", P_A, b_ratelimit, 3, "ttl_exceeded"),
	C("icmp: errors about errors spend no tokens", P_A,
	  b_ratelimit_not_spent, 0, "ttl_exceeded"),
	C("hold: local pod MAC unresolved", P_A, b_hold_local, 0, NULL),
	C("hold: IPIP next hop unresolved", P_A, b_hold_ipip, 0, NULL),

	/* out of resources */
	CS("punt: ring full, uplink ARP", P_UP, b_raw_arp_up, 0, "punt_full",
	   ctx_punt_full),
	CS("punt: ring full, hold", P_A, b_pod_to, (int)POD_C, "punt_full",
	   ctx_punt_full),
	/* The answer goes out; the lost copy is counted (control missed it). */
	CS("punt: ring full, ARP learn copy", P_C, b_arp_learn_lost, 0,
	   "punt_full", ctx_punt_full),
	CS("mbuf: none for the ARP learn copy", P_C, b_arp_learn_lost, 0,
	   NULL, ctx_no_mbuf),
	CS("mbuf: none for the ICMP error", P_A, b_ttl_silent, SILENT_NO_MBUF,
	   "ttl_exceeded", ctx_no_mbuf),

	/* uplink */
	C("uplink: IPIP decap (hex)", P_UP, b_hex, HEX_DECAP, NULL),
	C("uplink: IPIP decap to pod", P_UP, b_decap, DEC_PLAIN, NULL),
	C("uplink: IPIP decap, outer options", P_UP, b_decap, DEC_OPTIONS,
	  NULL),
	C("uplink: IPIP from a node on another subnet", P_UP, b_decap,
	  DEC_FROM_C, NULL),
	C("uplink: IPIP from unknown source", P_UP, b_ipip_outer_bad,
	  OUT_UNKNOWN, "ipip_unknown_node"),
	C("uplink: IPIP outer first fragment", P_UP, b_ipip_outer_bad, OUT_MF,
	  "ipip_inner_bad"),
	C("uplink: IPIP outer later fragment", P_UP, b_ipip_outer_bad,
	  OUT_OFFSET, "ipip_inner_bad"),
	C("uplink: IPIP inner version 6", P_UP, b_ipip_inner_bad, BRK_VER,
	  "ipip_inner_bad"),
	C("uplink: IPIP inner IHL 4", P_UP, b_ipip_inner_bad, BRK_IHL,
	  "ipip_inner_bad"),
	C("uplink: IPIP inner longer than outer", P_UP, b_ipip_inner_bad,
	  BRK_TOT_LONG, "ipip_inner_bad"),
	C("uplink: IPIP inner length below IHL", P_UP, b_ipip_inner_bad,
	  BRK_TOT_SHORT, "ipip_inner_bad"),
	C("uplink: IPIP inner IHL beyond length", P_UP, b_ipip_inner_bad,
	  BRK_IHL_LONG, "ipip_inner_bad"),
	C("uplink: IPIP inner bad checksum", P_UP, b_ipip_inner_bad,
	  BRK_CKSUM, "ipip_inner_bad"),
	C("uplink: IPIP the NIC calls good, decapsulated", P_UP, b_ipip_nic,
	  NIC_GOOD_OK, NULL),
	C("uplink: IPIP the NIC calls good, inner bad checksum", P_UP,
	  b_ipip_nic, NIC_GOOD_INNER_BAD, "ipip_inner_bad"),
	C("uplink: IPIP the NIC calls good, outer bad checksum", P_UP,
	  b_ipip_nic, NIC_GOOD_OUTER_BAD, "ip_cksum"),
	C("uplink: IPIP the NIC calls the outer bad", P_UP, b_ipip_nic,
	  NIC_OUTER_BAD, "ip_cksum"),
	C("uplink: IPIP inner fragment beyond 64 KiB", P_UP, b_ipip_inner_bad,
	  BRK_FRAG, "ipip_inner_bad"),
	C("uplink: IPIP inner multicast source", P_UP, b_ipip_inner_bad,
	  BRK_SRC_MCAST, "ipip_inner_bad"),
	C("uplink: IPIP inner loopback source", P_UP, b_decap_src,
	  (int)IP4A(127, 0, 0, 1), "ipip_inner_bad"),
	C("uplink: IPIP inner source on network 0", P_UP, b_decap_src,
	  (int)IP4A(0, 1, 2, 3), "ipip_inner_bad"),
	C("uplink: plain packet from loopback", P_UP, b_uplink_src,
	  (int)IP4A(127, 0, 0, 1), "ip_bad_src"),
	C("uplink: plain packet from network 0", P_UP, b_uplink_src,
	  (int)IP4A(0, 1, 2, 3), "ip_bad_src"),
	C("uplink: ECN, outer CE over inner ECT(0): CE", P_UP, b_decap_ecn,
	  ECN(3, 2), NULL),
	C("uplink: ECN, outer CE over inner ECT(1): CE", P_UP, b_decap_ecn,
	  ECN(3, 1), NULL),
	C("uplink: ECN, outer CE over inner Not-ECT: dropped", P_UP,
	  b_decap_ecn, ECN(3, 0), "ipip_ecn"),
	C("uplink: ECN, outer ECT(1) over inner ECT(0): ECT(1)", P_UP,
	  b_decap_ecn, ECN(1, 2), NULL),
	C("uplink: ECN, outer ECT(1) over inner Not-ECT: unchanged", P_UP,
	  b_decap_ecn, ECN(1, 0), NULL),
	C("uplink: ECN, outer ECT(0) over inner ECT(1): unchanged", P_UP,
	  b_decap_ecn, ECN(2, 1), NULL),
	C("uplink: ECN, outer Not-ECT over inner CE: unchanged", P_UP,
	  b_decap_ecn, ECN(0, 3), NULL),
	C("uplink: ECN, outer CE over inner CE: unchanged", P_UP, b_decap_ecn,
	  ECN(3, 3), NULL),
	C("uplink: IPIP inner to a remote pod", P_UP, b_decap_to,
	  (int)REMOTE_B, "ipip_inner_not_local"),
	C("uplink: IPIP inner to the internet", P_UP, b_decap_to,
	  (int)INTERNET, "ipip_inner_not_local"),
	C("uplink: IPIP inner to the node IP, host port", P_UP, b_decap_host,
	  (int)SELF, NULL),
	C("uplink: IPIP inner to the tunnel IP, host port", P_UP,
	  b_decap_host, (int)TUNNEL, NULL),
	{"uplink: IPIP inner to the tunnel IP, no host port", P_UP, T_NOHOST,
	 b_decap_to, (int)TUNNEL, "host_no_port"},
	C("uplink: IPIP in IPIP to the node IP", P_UP, b_ipip_to_host, 1,
	  "ipip_to_host"),
	C("uplink: plain IPIP to the tunnel IP", P_UP, b_ipip_to_host, 0,
	  "ipip_to_host"),
	C("uplink: IPIP inner to a blackhole", P_UP, b_decap_to, (int)HOLE,
	  "ipip_inner_not_local"),
	C("uplink: IPIP inner to pod without port", P_UP, b_decap_to,
	  (int)POD_NOPORT, "no_port"),
	C("uplink: IPIP inner TTL 1, error tunnelled back", P_UP, b_decap_ttl,
	  0, "ttl_exceeded"),
	C("uplink: IPIP inner to unresolved pod held", P_UP, b_decap_hold, 0,
	  NULL),
	C("uplink: IPIP to another node's IP", P_UP, b_ipip_not_ours, 0,
	  "uplink_not_local"),
	C("uplink: outer bad checksum", P_UP, b_uplink_bad_cksum, 0,
	  "ip_cksum"),
	C("uplink: direct packet to local pod", P_UP, b_uplink_plain, 1,
	  NULL),
	C("uplink: plain packet to remote pod", P_UP, b_uplink_drop,
	  (int)REMOTE_B, "uplink_not_local"),
	C("uplink: plain packet to the internet", P_UP, b_uplink_drop,
	  (int)INTERNET, "uplink_not_local"),
	C("uplink: plain packet to a blackhole", P_UP, b_uplink_drop,
	  (int)HOLE, "uplink_not_local"),
	C("uplink: plain packet to the node, host port", P_UP,
	  b_uplink_plain, 0, NULL),
	C("uplink: frag needed about our IPIP, to control", P_UP, b_pmtu,
	  PM_OURS, NULL),
	C("uplink: frag needed about IPIP to a non-node, host", P_UP, b_pmtu,
	  PM_NOT_NODE, NULL),
	C("uplink: frag needed about UDP, host", P_UP, b_pmtu, PM_NOT_IPIP,
	  NULL),
	C("uplink: frag needed about another's IPIP, host", P_UP, b_pmtu,
	  PM_OTHER_SRC, NULL),
	C("uplink: time exceeded about our IPIP, host", P_UP, b_pmtu,
	  PM_OTHER_TYPE, NULL),
	C("uplink: frag needed quoting 16 bytes, host", P_UP, b_pmtu,
	  PM_SHORT, NULL),
	{"uplink: plain packet to the node, no host port", P_UP, T_NOHOST,
	 b_uplink_drop, (int)SELF, "host_no_port"},

	/* the uplink's L2 rule */
	C("l2: IPIP to pod, another host's MAC", P_UP, b_l2_other, L2_DECAP,
	  "l2_other_host"),
	C("l2: plain packet to pod, another host's MAC", P_UP, b_l2_other,
	  L2_PLAIN_POD, "l2_other_host"),
	C("l2: plain packet to the node, another host's MAC", P_UP,
	  b_l2_other, L2_PLAIN_HOST, "l2_other_host"),
	C("l2: ARP request, another host's MAC", P_UP, b_l2_other,
	  L2_ARP_REQUEST, "l2_other_host"),
	C("l2: ARP reply, another host's MAC", P_UP, b_l2_other,
	  L2_ARP_REPLY, "l2_other_host"),
	C("l2: VLAN frame, another host's MAC", P_UP, b_l2_other, L2_VLAN,
	  "l2_other_host"),
	C("l2: IPv6 frame, another host's MAC", P_UP, b_l2_other, L2_IPV6,
	  "l2_other_host"),
	C("l2: ARP request to the uplink's MAC punted", P_UP, b_l2_arp_ours,
	  L2_ARP_REQUEST, NULL),
	C("l2: ARP reply to the uplink's MAC punted", P_UP, b_l2_arp_ours,
	  L2_ARP_REPLY, NULL),
	C("l2: IPIP to pod, broadcast MAC", P_UP, b_l2_group, L2_DECAP,
	  "l2_not_unicast"),
	C("l2: plain packet to pod, broadcast MAC", P_UP, b_l2_group,
	  L2_PLAIN_POD, "l2_not_unicast"),
	C("l2: plain packet to the node, broadcast MAC", P_UP, b_l2_group,
	  L2_PLAIN_HOST, "l2_not_unicast"),
	C("l2: plain packet to pod, multicast MAC", P_UP, b_l2_group,
	  0x100 | L2_PLAIN_POD, "l2_not_unicast"),
	C("l2: IPIP to pod, multicast MAC", P_UP, b_l2_group,
	  0x100 | L2_DECAP, "l2_not_unicast"),
	C("l2: ARP request, multicast MAC, punted", P_UP, b_l2_group,
	  0x100 | L2_ARP_REQUEST, NULL),
	C("l2: VLAN frame, broadcast MAC", P_UP, b_l2_group, L2_VLAN, "vlan"),
	C("l2: IPv6 multicast frame", P_UP, b_l2_v6_mcast, 0, "not_ip"),
	C("l2: a burst mixing the uplink's MAC and another", P_UP, b_l2_mixed,
	  0, "l2_other_host"),
	C("l2: pod port, any destination MAC", P_A, b_l2_pod_any_dst, P_A,
	  NULL),
	C("l2: host port, any destination MAC", P_HOST, b_l2_pod_any_dst,
	  P_HOST, NULL),
};

/* ------------------------------------------------------------ the runner */

static struct input g_in;
static struct outcome g_out;
static struct pl_ctx g_ctx;
static struct dp_lcore_stats g_st;

static int drop_by_name(const char *name)
{
	for (int d = 0; d < DP_DROP_MAX; d++)
		if (strcmp(dp_drop_name((enum dp_drop)d), name) == 0)
			return d;
	return -1;
}

static void ctx_fresh(void)
{
	memset(&g_st, 0, sizeof(g_st));
	pl_ctx_init(&g_ctx, &g_st, mp, punt_ring, 0);
	g_ctx.ip_id = IP_ID0;
	/* Freeze the token bucket: a case sees exactly PL_ICMP_BURST. */
	g_ctx.icmp_period = UINT64_MAX;
}

#define CNT(field, want)                                                     \
	do {                                                                 \
		if (g_st.field != (want)) {                                  \
			GFAIL(gc->name, "%s = %lu, expected %lu", #field,    \
			      (unsigned long)g_st.field,                     \
			      (unsigned long)(want));                        \
			ok = false;                                          \
		}                                                            \
	} while (0)

/* Check what the burst produced; free it all. */
static bool check_outcome(const struct gcase *gc, const struct outcome *o)
{
	bool ok = true;
	uint16_t seen[KDP_MAX_PORTS] = {0};
	unsigned int n_tx = 0;

	for (uint16_t i = 0; i < o->n_tx; i++) {
		const struct exp_tx *e = &o->tx[i];
		struct pl_txbuf *b = &g_ctx.tx[e->port];
		if (seen[e->port] >= b->n) {
			GFAIL(gc->name, "expected tx #%u on port %u missing",
			      seen[e->port], e->port);
			ok = false;
			continue;
		}
		struct rte_mbuf *m = b->pkts[seen[e->port]++];
		if (m->port != e->port) {
			GFAIL(gc->name, "tx mbuf port %u on port %u", m->port,
			      e->port);
			ok = false;
		}
		char what[32];
		snprintf(what, sizeof(what), "tx %u", i);
		ok &= mbuf_matches(gc->name, what, m, &e->f, 0);
	}
	for (uint16_t p = 0; p < KDP_MAX_PORTS; p++) {
		struct pl_txbuf *b = &g_ctx.tx[p];
		if (b->n != seen[p]) {
			GFAIL(gc->name, "port %u: %u tx, expected %u", p, b->n,
			      seen[p]);
			ok = false;
		}
		for (uint16_t j = 0; j < b->n; j++)
			rte_pktmbuf_free(b->pkts[j]);
		n_tx += b->n;
		b->n = 0;
	}
	txbufs_relist(&g_ctx, N_PORTS);

	struct rte_mbuf *punted[PL_BURST * 2];
	unsigned int np = rte_ring_dequeue_burst(punt_ring, (void **)punted,
						 RTE_DIM(punted), NULL);
	if (np != o->n_punt) {
		GFAIL(gc->name, "%u punted, expected %u", np, o->n_punt);
		ok = false;
	}
	for (unsigned int i = 0; i < np; i++) {
		struct rte_mbuf *m = punted[i];
		if (i < o->n_punt) {
			const struct exp_punt *e = &o->punt[i];
			uint32_t tag = m->hash.usr;
			if (tag >> 24 != e->kind ||
			    (tag & 0xffffff) != e->arg || m->port != e->port) {
				GFAIL(gc->name,
				      "punt %u: kind %u arg %u port %u, "
				      "expected %u %u %u",
				      i, tag >> 24, tag & 0xffffff, m->port,
				      e->kind, e->arg, e->port);
				ok = false;
			}
			ok &= mbuf_matches(gc->name, "punt", m, &e->f,
					   e->cmp_from);
		}
		rte_pktmbuf_free(m);
	}

	/* Exactly one drop reason moves, by the expected count. */
	uint64_t drops = 0;
	for (int d = 0; d < DP_DROP_MAX; d++) {
		uint64_t want = d == o->drop ? o->n_drop : 0;
		drops += g_st.drop[d];
		if (g_st.drop[d] != want) {
			GFAIL(gc->name, "drop %s = %lu, expected %lu",
			      dp_drop_name((enum dp_drop)d),
			      (unsigned long)g_st.drop[d],
			      (unsigned long)want);
			ok = false;
		}
	}
	CNT(port[gc->port].rx, g_in.n);
	CNT(port[gc->port].drops, drops);
	CNT(icmp_sent, o->icmp_sent);
	CNT(icmp_ratelimited, o->icmp_ratelimited);
	CNT(ipip_encap, o->ipip_encap);
	CNT(ipip_decap, o->ipip_decap);
	CNT(arp_replied, o->arp_replied);
	CNT(punted, o->n_punt);

	/* Every input is accounted for, and nothing leaks. */
	unsigned int in_use = rte_mempool_in_use_count(mp);
	if (in_use != 0) {
		GFAIL(gc->name, "%u mbufs leaked (tx %u, punt %u, drops %lu)",
		      in_use, n_tx, np, (unsigned long)drops);
		ok = false;
	}
	return ok;
}

static bool run_case(const struct gcase *gc)
{
	struct rte_mbuf *pkts[PL_BURST];

	memset(&g_in, 0, sizeof(g_in));
	memset(&g_out, 0, sizeof(g_out));
	g_out.drop = -1;
	gc->build(&g_in, &g_out, gc->arg);
	if (gc->drop != NULL) {
		g_out.drop = drop_by_name(gc->drop);
		if (g_out.drop < 0) {
			GFAIL(gc->name, "no drop reason named %s", gc->drop);
			return false;
		}
		if (g_out.n_drop == 0)
			g_out.n_drop = g_in.n;
	}
	for (uint16_t i = 0; i < g_in.n; i++) {
		pkts[i] = frame_mbuf(mp, &g_in.f[i], gc->port);
		if (pkts[i] == NULL) {
			GFAIL(gc->name, "no mbuf");
			return false;
		}
	}
	ctx_fresh();
	if (gc->setup)
		gc->setup();
	pl_process_burst(&g_ctx, &tables[gc->tables], gc->port, pkts, g_in.n);
	return check_outcome(gc, &g_out);
}

static void ctx_punt_full(void)
{
	g_ctx.punt = full_ring;
}

static void ctx_no_mbuf(void)
{
	g_ctx.mp = empty_mp;
}

/* A one-slot ring holding a dummy, and a pool with its only mbuf taken. */
static int make_starved(struct rte_mbuf **held)
{
	static int dummy;

	full_ring = rte_ring_create("golden_full", 2, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	empty_mp = rte_pktmbuf_pool_create("golden_empty", 1, 0, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE,
					   SOCKET_ID_ANY);
	if (full_ring == NULL || empty_mp == NULL ||
	    rte_ring_enqueue(full_ring, &dummy) != 0)
		return -1;
	*held = rte_pktmbuf_alloc(empty_mp);
	return *held != NULL && rte_pktmbuf_alloc(empty_mp) == NULL ? 0 : -1;
}

/* ------------------------------------------------- tests outside the table */

/*
 * The incremental TTL checksum update against a full recompute, for every
 * possible starting checksum (the id sweeps it through all 65536 values).
 * Without a payload the frames go through the general stages; with 18
 * bytes (@p lane: the 46 its four-frame pass loads) the express lane takes
 * them, whose first pass computes the update in vectors
 * (pipeline/express_xn_fast.h).
 */
static bool test_ttl_cksum_sweep(bool lane)
{
	const char *name = lane ? "route: TTL checksum update in the express "
				  "lane, all 65536 checksums" :
				  "route: TTL checksum update, all 65536 "
				  "checksums";
	struct rte_mbuf *pkts[PL_BURST];
	struct frame f;
	unsigned int bad = 0;

	for (uint32_t base = 0; base < 65536; base += PL_BURST) {
		ctx_fresh();
		for (uint16_t i = 0; i < PL_BURST; i++) {
			from_a(&f, IP4(.src = POD_A, .dst = POD_B,
				       .id = (uint16_t)(base + i),
				       .plen = lane ? 18 : 0));
			pkts[i] = frame_mbuf(mp, &f, P_A);
			if (pkts[i] == NULL)
				return false;
		}
		pl_process_burst(&g_ctx, &tables[T_MAIN], P_A, pkts, PL_BURST);
		struct pl_txbuf *b = &g_ctx.tx[P_B];
		if (b->n != PL_BURST || g_st.express != (lane ? PL_BURST : 0)) {
			GFAIL(name, "%u of %u forwarded, %lu by the lane",
			      b->n, PL_BURST, (unsigned long)g_st.express);
			bad++;
		}
		for (uint16_t i = 0; i < b->n; i++) {
			uint8_t *ip = rte_pktmbuf_mtod_offset(b->pkts[i],
							      uint8_t *, 14);
			uint16_t got = (uint16_t)(ip[10] << 8 | ip[11]);
			put16(ip + 10, 0);
			uint16_t want = ref_csum(ip, 20);
			if (got != want && bad++ < 5)
				GFAIL(name, "id %u: checksum %04x, recomputed "
				      "%04x", (unsigned int)(base + i), got,
				      want);
			rte_pktmbuf_free(b->pkts[i]);
		}
		b->n = 0;
	}
	txbufs_relist(&g_ctx, N_PORTS);
	return bad == 0;
}

/*
 * Tokens come back with time, one per period, never above PL_ICMP_BURST.
 * The period is a second here, so the test's own run time cannot add one.
 */
static bool test_icmp_refill(void)
{
	const char *name = "icmp: tokens refill with time";
	static const struct {
		uint64_t periods_ago; /* 0: none accrued */
		unsigned int want;
	} rounds[] = {{0, 0}, {3, 3}, {100, PL_ICMP_BURST}};
	const unsigned int n = PL_ICMP_BURST + 2;
	struct rte_mbuf *pkts[PL_ICMP_BURST + 2];
	struct frame f;
	uint64_t period = rte_get_tsc_hz();
	bool ok = true;

	ctx_fresh();
	g_ctx.icmp_period = period;
	g_ctx.icmp_tokens = 0;
	for (size_t r = 0; r < RTE_DIM(rounds); r++) {
		g_ctx.icmp_last = rte_get_tsc_cycles() -
				  rounds[r].periods_ago * period;
		for (unsigned int i = 0; i < n; i++) {
			from_a(&f, IP4(.src = POD_A, .dst = POD_B, .ttl = 1));
			pkts[i] = frame_mbuf(mp, &f, P_A);
			if (pkts[i] == NULL)
				return false;
		}
		uint64_t sent0 = g_st.icmp_sent;
		uint64_t limited0 = g_st.icmp_ratelimited;
		pl_process_burst(&g_ctx, &tables[T_MAIN], P_A, pkts,
				 (uint16_t)n);
		struct pl_txbuf *b = &g_ctx.tx[P_A];
		if (g_st.icmp_sent - sent0 != rounds[r].want ||
		    b->n != rounds[r].want ||
		    g_st.icmp_ratelimited - limited0 != n - rounds[r].want) {
			GFAIL(name, "round %zu: %lu sent, %u queued, %lu "
			      "limited; expected %u sent", r,
			      (unsigned long)(g_st.icmp_sent - sent0), b->n,
			      (unsigned long)(g_st.icmp_ratelimited - limited0),
			      rounds[r].want);
			ok = false;
		}
		for (uint16_t i = 0; i < b->n; i++)
			rte_pktmbuf_free(b->pkts[i]);
		b->n = 0;
	}
	txbufs_relist(&g_ctx, N_PORTS);
	return ok;
}

static void record(bool ok)
{
	if (ok)
		g_passed++;
	else
		g_failed++;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (golden_eal_init("golden_pl") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("golden_mp", 511, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	punt_ring = rte_ring_create("golden_punt", 128, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_mbuf *held = NULL;
	if (mp == NULL || punt_ring == NULL || build_tables() < 0 ||
	    build_dense() < 0 || make_starved(&held) < 0) {
		fprintf(stderr, "setup failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	for (size_t w = 0; w < RTE_DIM(golden_widths); w++) {
		const char *isa = golden_simd_width(golden_widths[w]);

		ctx_fresh();
		printf("-- pipeline variant %s\n", pl_ctx_isa(&g_ctx));
		if (strcmp(pl_ctx_isa(&g_ctx), isa) != 0) {
			GFAIL("variant", "%u-bit SIMD ran %s, expected %s",
			      golden_widths[w], pl_ctx_isa(&g_ctx), isa);
			record(false);
		}
		for (int on = 1; on >= 0; on--) {
			printf("-- the FIB's dense copy %s\n", on ? "on" : "off");
			set_dense(on);
			for (size_t i = 0; i < RTE_DIM(cases); i++)
				record(run_case(&cases[i]));
		}
		record(test_ttl_cksum_sweep(false));
		record(test_ttl_cksum_sweep(true));
		record(test_icmp_refill());
	}

	free_tables();
	rte_pktmbuf_free(held);
	rte_mempool_free(empty_mp);
	rte_ring_free(full_ring);
	rte_ring_free(punt_ring);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return golden_summary();
}
