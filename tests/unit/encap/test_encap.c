/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Golden-packet tests for encap_ipip_push / encap_ipip_pop: each case gives
 * the headroom, the inner packet and outer header parameters, and expects
 * either exact bytes (built with the reference checksum in golden.h) or
 * refusal with the mbuf left untouched.
 */
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "encap/encap_fast.h"
#include "tests/unit/golden.h"

#define ETH 14
#define SRC IP4A(192, 168, 10, 11)
#define DST IP4A(192, 168, 20, 13)

enum op { PUSH, POP, PUSH_POP };

struct ecase {
	const char *name;
	enum op op;
	uint16_t headroom;   /**< bytes in front of the frame */
	uint8_t tos;         /**< inner TOS (copied to the outer on push) */
	uint16_t id;         /**< outer id */
	uint8_t outer_ihl;   /**< POP: the outer header's length in words */
	uint16_t plen;       /**< inner payload */
	bool refused;        /**< PUSH: NULL expected */
};

static const struct ecase cases[] = {
	{"push: plain", PUSH, RTE_PKTMBUF_HEADROOM, 0, 1, 5, 32, false},
	{"push: TOS copied", PUSH, RTE_PKTMBUF_HEADROOM, 0xb9, 2, 5, 32,
	 false},
	{"push: id 0xffff", PUSH, RTE_PKTMBUF_HEADROOM, 0, 0xffff, 5, 32,
	 false},
	{"push: 1480-byte inner", PUSH, RTE_PKTMBUF_HEADROOM, 0x10, 7, 5,
	 1460, false},
	{"push: headroom exactly 20", PUSH, 20, 0, 3, 5, 32, false},
	{"push: headroom 19 refused", PUSH, 19, 0, 3, 5, 32, true},
	{"push: no headroom refused", PUSH, 0, 0, 3, 5, 32, true},
	{"pop: 20-byte outer", POP, RTE_PKTMBUF_HEADROOM, 0, 9, 5, 32, false},
	{"pop: outer with options", POP, RTE_PKTMBUF_HEADROOM, 0, 9, 8, 32,
	 false},
	{"pop: no headroom, empty payload", POP, 0, 0, 9, 5, 0, false},
	{"push then pop: inner restored", PUSH_POP, 20, 0x28, 4, 5, 100,
	 false},
};

static struct rte_mempool *mp;

/* Eth + inner as handed to push, or Eth + outer + inner as handed to pop. */
static struct rte_mbuf *make(const struct ecase *c, struct frame *inner_ip)
{
	static const uint8_t a[6] = {2, 0, 0, 0, 1, 1}, b[6] = {2, 0, 0, 0, 1,
								2};
	struct ip4 in = {.ver = 4, .ihl = 5, .tos = c->tos, .ttl = 63,
			 .proto = 17, .id = 0x5151, .frag = G_DF,
			 .src = IP4A(10, 244, 1, 10),
			 .dst = IP4A(10, 244, 3, 10), .plen = c->plen};
	struct frame f;

	inner_ip->len = (uint16_t)ip4_bytes(inner_ip->b, &in);
	if (c->op == POP) {
		struct ip4 out = {.ver = 4, .ihl = c->outer_ihl, .ttl = 64,
				  .id = c->id, .frag = G_DF, .src = DST,
				  .dst = SRC};
		frame_ipip(&f, a, b, out, &in);
	} else {
		frame_ip(&f, a, b, &in, 0);
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	m->data_off = c->headroom;
	memcpy(rte_pktmbuf_append(m, f.len), f.b, f.len);
	return m;
}

static bool run(const struct ecase *c)
{
	struct frame inner, exp = {0};
	struct rte_mbuf *m = make(c, &inner);
	bool ok = true;

	if (m == NULL) {
		GFAIL(c->name, "no mbuf");
		return false;
	}
	uint16_t off0 = m->data_off;
	uint32_t len0 = rte_pktmbuf_pkt_len(m);
	uint8_t before[FRAME_MAX];
	memcpy(before, rte_pktmbuf_mtod(m, void *), len0);

	if (c->op == PUSH || c->op == PUSH_POP) {
		struct rte_ipv4_hdr *o = encap_ipip_push(m, rte_cpu_to_be_32(SRC),
							 rte_cpu_to_be_32(DST),
							 c->id);
		if (c->refused) {
			if (o != NULL) {
				GFAIL(c->name, "push succeeded without room");
				ok = false;
			} else if (m->data_off != off0 ||
				   rte_pktmbuf_pkt_len(m) != len0 ||
				   memcmp(before, rte_pktmbuf_mtod(m, void *),
					  len0) != 0) {
				GFAIL(c->name, "refused push changed the mbuf");
				ok = false;
			}
			rte_pktmbuf_free(m);
			return ok;
		}
		if (o == NULL) {
			GFAIL(c->name, "push refused with %u bytes of headroom",
			      c->headroom);
			rte_pktmbuf_free(m);
			return false;
		}
		if ((uint8_t *)o != rte_pktmbuf_mtod_offset(m, uint8_t *, ETH)) {
			GFAIL(c->name, "outer header not after L2 room");
			ok = false;
		}
		/* Outer: DF, TTL 64, protocol 4, TOS copied, id as given. */
		struct ip4 out = {.ver = 4, .ihl = 5, .tos = c->tos, .ttl = 64,
				  .proto = 4, .id = c->id, .frag = G_DF,
				  .src = SRC, .dst = DST, .plen = inner.len,
				  .payload = inner.b};
		exp.len = (uint16_t)(ETH + ip4_bytes(exp.b + ETH, &out));
		/* L2 is the caller's to write: compare from the outer on. */
		ok &= mbuf_matches(c->name, "pushed", m, &exp, ETH);
	}
	if (c->op == POP || c->op == PUSH_POP) {
		uint16_t ohl = c->op == POP ? c->outer_ihl * 4 : 20;
		struct rte_ipv4_hdr *i = encap_ipip_pop(m, ohl);
		if ((uint8_t *)i != rte_pktmbuf_mtod_offset(m, uint8_t *, ETH)) {
			GFAIL(c->name, "inner header not after L2 room");
			ok = false;
		}
		memcpy(exp.b + ETH, inner.b, inner.len);
		exp.len = (uint16_t)(ETH + inner.len);
		ok &= mbuf_matches(c->name, "popped", m, &exp, ETH);
		if (c->op == PUSH_POP && m->data_off != off0) {
			GFAIL(c->name, "headroom %u after round trip, was %u",
			      m->data_off, off0);
			ok = false;
		}
	}
	rte_pktmbuf_free(m);
	return ok;
}

int main(void)
{
	if (golden_eal_init("golden_encap") < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("golden_encap", 63, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (mp == NULL) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	for (size_t i = 0; i < RTE_DIM(cases); i++) {
		if (run(&cases[i]))
			g_passed++;
		else
			g_failed++;
	}
	if (rte_mempool_in_use_count(mp) != 0) {
		GFAIL("encap", "mbufs leaked");
		g_failed++;
	}
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return golden_summary();
}
