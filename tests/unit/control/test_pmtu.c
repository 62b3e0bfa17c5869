/* SPDX-License-Identifier: BSD-3-Clause */
/* Learned tunnel MTUs (control/pmtu.h): the ICMP parse, learning, expiry. */
#include <stdint.h>
#include <string.h>

#include <rte_ip.h>

#include "control/pmtu.h"
#include "tests/unit/ctl_check.h"

#define SELF IP4(192, 168, 10, 11)
#define NODE IP4(192, 168, 10, 12)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* An IPv4 ICMP message to SELF quoting an IPv4 header (src, dst, proto)
 * and 8 more bytes; @return its length. */
static size_t icmp(uint8_t *b, uint8_t type, uint8_t code, uint16_t mtu,
		   uint32_t qsrc, uint32_t qdst, uint8_t qproto)
{
	size_t len = 20 + 8 + 28;

	memset(b, 0, len);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)len);
	b[8] = 64;
	b[9] = IPPROTO_ICMP;
	put32(b + 12, IP4(10, 0, 0, 1));
	put32(b + 16, SELF);
	uint8_t *ic = b + 20, *q = ic + 8;
	ic[0] = type;
	ic[1] = code;
	put16(ic + 6, mtu);
	q[0] = 0x45;
	put16(q + 2, 1500);
	q[9] = qproto;
	put32(q + 12, qsrc);
	put32(q + 16, qdst);
	/* rte_raw_cksum() sums the words as they lie in memory */
	uint16_t ck = (uint16_t)~rte_raw_cksum(ic, len - 20);
	memcpy(ic + 2, &ck, 2);
	return len;
}

static void test_parse(void)
{
	uint8_t b[128];
	uint32_t node = 0;
	uint16_t mtu = 0;
	size_t n = icmp(b, 3, 4, 1400, SELF, NODE, IPPROTO_IPIP);

	CHECK_EQ(ctl_pmtu_parse(b, n, SELF, &node, &mtu), 0);
	CHECK_EQ(node, NODE);
	CHECK_EQ(mtu, 1400);
	/* the frame may carry padding after the packet */
	CHECK_EQ(ctl_pmtu_parse(b, n + 10, SELF, &node, &mtu), 0);
	CHECK(ctl_pmtu_parse(b, n - 1, SELF, &node, &mtu) < 0); /* cut */
	CHECK(ctl_pmtu_parse(b, n, NODE, &node, &mtu) < 0); /* not ours */
	CHECK(ctl_pmtu_parse(b, n, 0, &node, &mtu) < 0);

	static const struct {
		uint8_t type, code;
		uint16_t mtu;
		uint32_t src;
		uint8_t proto;
	} bad[] = {
		{3, 3, 1400, SELF, IPPROTO_IPIP},  /* port unreachable */
		{11, 0, 1400, SELF, IPPROTO_IPIP}, /* time exceeded */
		{3, 4, 0, SELF, IPPROTO_IPIP},     /* no MTU (pre-RFC 1191) */
		{3, 4, 1400, NODE, IPPROTO_IPIP},  /* another's packet */
		{3, 4, 1400, SELF, IPPROTO_UDP},   /* not a tunnel packet */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = icmp(b, bad[i].type, bad[i].code, bad[i].mtu, bad[i].src,
			 NODE, bad[i].proto);
		if (ctl_pmtu_parse(b, n, SELF, &node, &mtu) == 0) {
			fprintf(stderr, "bad case %zu parsed\n", i);
			check_failures++;
		}
	}
	/* a bad ICMP checksum */
	n = icmp(b, 3, 4, 1400, SELF, NODE, IPPROTO_IPIP);
	b[20 + 6] ^= 1;
	CHECK(ctl_pmtu_parse(b, n, SELF, &node, &mtu) < 0);
	/* not ICMP; an IHL past the packet */
	n = icmp(b, 3, 4, 1400, SELF, NODE, IPPROTO_IPIP);
	b[9] = IPPROTO_UDP;
	CHECK(ctl_pmtu_parse(b, n, SELF, &node, &mtu) < 0);
	n = icmp(b, 3, 4, 1400, SELF, NODE, IPPROTO_IPIP);
	b[0] = 0x4f;
	CHECK(ctl_pmtu_parse(b, n, SELF, &node, &mtu) < 0);
}

static void test_learn(void)
{
	struct ctl_pmtu *p = ctl_pmtu_create();

	CHECK(p != NULL);
	CHECK_EQ(ctl_pmtu_get(p, NODE), 0);
	/* not below the uplink's MTU: nothing to learn */
	CHECK(!ctl_pmtu_learn(p, NODE, 1500, 1500, 0));
	CHECK(!ctl_pmtu_learn(p, NODE, 9000, 1500, 0));
	CHECK_EQ(ctl_pmtu_get(p, NODE), 0);
	CHECK(ctl_pmtu_learn(p, NODE, 1400, 1500, 1000));
	CHECK_EQ(ctl_pmtu_get(p, NODE), 1400);
	/* only lower; the same one again holds longer */
	CHECK(!ctl_pmtu_learn(p, NODE, 1450, 1500, 2000));
	CHECK(!ctl_pmtu_learn(p, NODE, 1400, 1500, 5000));
	CHECK(!ctl_pmtu_expire(p, 1000 + CTL_PMTU_EXPIRE_MS));
	CHECK(ctl_pmtu_learn(p, NODE, 100, 1500, 5000));
	CHECK_EQ(ctl_pmtu_get(p, NODE), CTL_PMTU_MIN);
	CHECK_EQ(ctl_pmtu_get(p, NODE + 1), 0);
	CHECK(!ctl_pmtu_expire(p, 5000 + CTL_PMTU_EXPIRE_MS - 1));
	CHECK(ctl_pmtu_expire(p, 5000 + CTL_PMTU_EXPIRE_MS));
	CHECK_EQ(ctl_pmtu_get(p, NODE), 0);

	/* Full: the soonest to expire makes room. */
	for (uint32_t i = 0; i < CTL_PMTU_MAX; i++)
		CHECK(ctl_pmtu_learn(p, 0x0a000000 + i, 1400, 1500, 10 + i));
	CHECK(ctl_pmtu_learn(p, NODE, 1300, 1500, 10000));
	CHECK_EQ(ctl_pmtu_get(p, NODE), 1300);
	CHECK_EQ(ctl_pmtu_get(p, 0x0a000000), 0);
	CHECK_EQ(ctl_pmtu_get(p, 0x0a000001), 1400);
	ctl_pmtu_free(p);
	ctl_pmtu_free(NULL);
}

int main(void)
{
	test_parse();
	test_learn();
	CHECK_DONE();
}
