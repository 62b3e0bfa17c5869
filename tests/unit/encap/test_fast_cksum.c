/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The workers' checksum shortcuts against DPDK's reference functions:
 * encap_outer_words() (composed in registers) must give the bytes of the
 * reference outer header with the checksum rte_ipv4_cksum() computes, and
 * pl_ip_hdr_sum() must equal rte_raw_cksum() for every header length and
 * content, including the sums that fold to 0 or 0xffff; pl_ipv4_dec_ttl()
 * against Linux's update, and pl_ipv4_ttl_word() against it.
 */
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>

#include "encap/encap_fast.h"
#include "pipeline/tables.h"
#include "pipeline/parse_fast.h"
#include "../ctl_check.h"

static uint32_t rnd(void)
{
	return ((uint32_t)random() << 16) ^ (uint32_t)random();
}

/* The outer header exactly as encap_ipip_push() lays it out. */
static void outer_ref(struct rte_ipv4_hdr *h, uint8_t tos, uint16_t len,
		      uint16_t id, rte_be32_t src, rte_be32_t dst)
{
	memset(h, 0, sizeof(*h));
	h->version_ihl = RTE_IPV4_VHL_DEF;
	h->type_of_service = tos;
	h->total_length = rte_cpu_to_be_16(len);
	h->packet_id = rte_cpu_to_be_16(id);
	h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	h->time_to_live = ENCAP_OUTER_TTL;
	h->next_proto_id = IPPROTO_IPIP;
	h->src_addr = src;
	h->dst_addr = dst;
}

/* The header encap_ipip_push() stores: the words, then @p dst. */
static void outer_fast(struct rte_ipv4_hdr *h, uint8_t tos, uint16_t len,
		       uint16_t id, rte_be32_t src, rte_be32_t dst)
{
	uint64_t w[2];

	encap_outer_words(tos, len, id, src, dst, w);
	memcpy(h, w, sizeof(w));
	memcpy(&h->dst_addr, &dst, sizeof(dst));
}

/* The reference header with rte_ipv4_cksum()'s checksum equals the fast
 * one byte for byte. */
static int outer_same(uint8_t tos, uint16_t len, uint16_t id, rte_be32_t src,
		      rte_be32_t dst)
{
	struct rte_ipv4_hdr ref, fast;

	outer_ref(&ref, tos, len, id, src, dst);
	ref.hdr_checksum = rte_ipv4_cksum(&ref);
	outer_fast(&fast, tos, len, id, src, dst);
	return memcmp(&ref, &fast, sizeof(ref)) == 0;
}

static void test_outer(void)
{
	static const uint32_t edge[] = {0, 1, 0xffff, 0x10000, 0xffffffff,
					0x7fff8000, 0xc0a80a0b};
	struct rte_ipv4_hdr h;
	int bad = 0;

	for (int i = 0; i < 200000; i++) {
		uint8_t tos = (uint8_t)rnd();
		uint16_t len = (uint16_t)rnd(), id = (uint16_t)rnd();
		rte_be32_t src = i < 49 ? edge[i % 7] : rnd();
		rte_be32_t dst = i < 49 ? edge[i / 7] : rnd();
		if (!outer_same(tos, len, id, src, dst))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* A header whose sum is a multiple of 0xffff, searched for. */
	int found = 0;
	for (uint32_t d = 0; d < 0x20000 && !found; d++) {
		outer_ref(&h, 0, 20, 0, 0, d);
		if (rte_raw_cksum(&h, 20) == 0xffff) {
			CHECK(outer_same(0, 20, 0, 0, d));
			found = 1;
		}
	}
	CHECK(found);
}

static void test_hdr_sum(void)
{
	uint32_t buf[15];
	int bad = 0;

	for (int i = 0; i < 200000; i++) {
		uint32_t hlen = 20 + 4 * (uint32_t)(i % 11);
		for (unsigned int w = 0; w < 15; w++)
			buf[w] = i % 5 == 0 ? 0xffffffff : rnd();
		if (i % 7 == 0)
			memset(buf, 0, sizeof(buf));
		if (pl_ip_hdr_sum(buf, hlen) != rte_raw_cksum(buf, hlen))
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* A valid header checks as 0xffff, one flipped bit does not. */
	struct rte_ipv4_hdr h;
	outer_ref(&h, 0x10, 84, 7, rte_cpu_to_be_32(PL_IPV4(192, 168, 10, 11)),
		  rte_cpu_to_be_32(PL_IPV4(192, 168, 10, 12)));
	CHECK_EQ(pl_ipv4_cksum(&h), rte_ipv4_cksum(&h));
	h.hdr_checksum = pl_ipv4_cksum(&h);
	CHECK_EQ(pl_ip_hdr_sum(&h, 20), 0xffff);
	h.time_to_live ^= 1;
	CHECK(pl_ip_hdr_sum(&h, 20) != 0xffff);
}

/* pl_ipv4_dec_ttl() against RFC 1624's update as Linux's
 * ip_decrease_ttl() writes it, for every checksum value; and the result
 * checks as a valid header whenever the header was valid. */
static void test_dec_ttl(void)
{
	struct rte_ipv4_hdr h;
	int bad = 0;

	for (uint32_t c = 0; c <= 0xffff; c++) {
		outer_ref(&h, 0, 20, 0, 0, 0);
		h.time_to_live = 64;
		h.hdr_checksum = (uint16_t)c;
		uint32_t check = (uint16_t)c;
		check += rte_cpu_to_be_16(0x0100);
		uint16_t want = (uint16_t)(check + (check >= 0xffff));
		pl_ipv4_dec_ttl(&h);
		if (h.hdr_checksum != want || h.time_to_live != 63)
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (int i = 0; i < 100000; i++) {
		outer_ref(&h, (uint8_t)rnd(), (uint16_t)rnd(), (uint16_t)rnd(),
			  rnd(), rnd());
		h.time_to_live = (uint8_t)(2 + rnd() % 254);
		h.hdr_checksum = rte_ipv4_cksum(&h);
		pl_ipv4_dec_ttl(&h);
		if (pl_ip_hdr_sum(&h, 20) != 0xffff)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* pl_ipv4_ttl_word(), the express lanes' form of the decrement, against
 * pl_ipv4_dec_ttl() on the header in memory: every checksum, with TTLs
 * from 2 (1 and 0 never reach it) and every protocol byte. */
static void test_ttl_word(void)
{
	struct rte_ipv4_hdr h;
	int bad = 0;

	for (uint32_t c = 0; c <= 0xffff; c++) {
		outer_ref(&h, 0, 20, 0, 0, 0);
		h.time_to_live = (uint8_t)(c % 3 == 0 ? 2 : 2 + c % 254);
		h.next_proto_id = (uint8_t)(c * 7);
		h.hdr_checksum = (uint16_t)c;
		uint32_t w;
		memcpy(&w, &h.time_to_live, sizeof(w));
		w = pl_ipv4_ttl_word(w);
		pl_ipv4_dec_ttl(&h);
		if (memcmp(&w, &h.time_to_live, sizeof(w)) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* pl_ipv4_set_tos() (RFC 6040's ECN at decapsulation): a valid header
 * stays valid, its TOS the new one; and pl_ecn_decap() is Figure 4. */
static void test_set_tos(void)
{
	static const int fig4[4][4] = { /* [inner][outer], -1: drop */
		{0, 0, 0, -1}, {1, 1, 1, 3}, {2, 1, 2, 3}, {3, 3, 3, 3},
	};
	struct rte_ipv4_hdr h;
	int bad = 0;

	for (int i = 0; i < 200000; i++) {
		outer_ref(&h, (uint8_t)rnd(), (uint16_t)rnd(), (uint16_t)rnd(),
			  rnd(), rnd());
		h.time_to_live = (uint8_t)rnd();
		h.hdr_checksum = rte_ipv4_cksum(&h);
		uint8_t tos = (uint8_t)rnd();
		pl_ipv4_set_tos(&h, tos);
		if (h.type_of_service != tos || pl_ip_hdr_sum(&h, 20) != 0xffff)
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (uint8_t in = 0; in < 4; in++)
		for (uint8_t out = 0; out < 4; out++)
			CHECK_EQ(pl_ecn_decap(in, out), fig4[in][out]);
}

int main(void)
{
	srandom(1);
	test_set_tos();
	test_outer();
	test_hdr_sum();
	test_dec_ttl();
	test_ttl_word();
	return check_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
