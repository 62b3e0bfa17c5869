/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Helpers for the golden-packet tests (pipeline/, encap/): an EAL without
 * hugepages or devices, a byte-level frame builder, and a reference Internet
 * checksum that shares no code with the dataplane's, so that expected bytes
 * are computed independently of the code under test.
 */
#ifndef KDP_TESTS_GOLDEN_H
#define KDP_TESTS_GOLDEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cpuflags.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_vect.h>

/* ------------------------------------------------------------------ checks */

static unsigned int g_passed, g_failed;

/** Print a failure for the current case; the caller counts the case. */
#define GFAIL(name, ...)                                                     \
	do {                                                                 \
		fprintf(stderr, "FAIL %s: ", (name));                        \
		fprintf(stderr, __VA_ARGS__);                                \
		fputc('\n', stderr);                                         \
	} while (0)

static inline int golden_summary(void)
{
	printf("%u passed, %u failed\n", g_passed, g_failed);
	return g_failed ? 1 : 0;
}

/* --------------------------------------------------------------------- EAL */

/** EAL for unit tests: no hugepages, no devices, one lcore, a unique prefix. */
static inline int golden_eal_init(const char *prog)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "kdp_%s_%d", prog, (int)getpid());
	char *argv[] = {
		(char *)prog, "-l", "0", "--no-huge", "--no-pci", "-m", "128",
		"--no-telemetry", "--file-prefix", prefix,
		"--log-level=lib.eal:error",
	};
	int argc = (int)RTE_DIM(argv);

	return rte_eal_init(argc, argv) < 0 ? -1 : 0;
}

/* ---------------------------------------------- the pipeline's variants */

/*
 * The SIMD widths under which pipeline tests run every case: the default
 * (pl_ctx_init() picks AVX2 where the CPU has it) and 128 bits (the base
 * build). golden_simd_width() sets one and returns the variant a context
 * created now must run, for the caller to compare with pl_ctx_isa().
 */
static const uint16_t golden_widths[] = {RTE_VECT_SIMD_256,
					 RTE_VECT_SIMD_128};

static inline const char *golden_simd_width(uint16_t w)
{
	if (rte_vect_set_max_simd_bitwidth(w) != 0)
		return "?";
#ifdef RTE_ARCH_X86_64
	if (w >= RTE_VECT_SIMD_256 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX2) > 0 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_BMI1) > 0 &&
	    rte_cpu_get_flag_enabled(RTE_CPUFLAG_BMI2) > 0)
		return "avx2";
#endif
	return "base";
}

/* ------------------------------------------------------ reference checksum */

/**
 * RFC 1071, written out plainly: sum big-endian 16-bit words into 32 bits,
 * fold the carries, complement. The result is in host order.
 */
static inline uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ------------------------------------------------------------------ frames */

#define FRAME_MAX 1664

struct frame {
	uint16_t len;
	uint16_t headroom;   /**< bytes in front of it in the mbuf; 0: the
			      *   pool's default */
	uint64_t ol_flags;   /**< rx offload flags to set on the mbuf */
	uint8_t b[FRAME_MAX];
};

#define IP4A(a, b, c, d)                                                     \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |    \
	 (uint32_t)(d))

static inline uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static inline uint8_t *put_mac(uint8_t *p, const uint8_t *mac)
{
	memcpy(p, mac, 6);
	return p + 6;
}

static inline uint8_t *put_eth(uint8_t *p, const uint8_t *dst,
			       const uint8_t *src, uint16_t type)
{
	p = put_mac(p, dst);
	p = put_mac(p, src);
	return put16(p, type);
}

/** An IPv4 header plus payload, field by field (host order). */
struct ip4 {
	uint8_t ver;        /**< version nibble */
	uint8_t ihl;        /**< 32-bit words; < 5 still writes 20 bytes */
	uint8_t tos;
	uint8_t ttl;
	uint8_t proto;
	uint16_t id;
	uint16_t frag;      /**< flags | offset, as on the wire */
	uint32_t src, dst;
	int tot_delta;      /**< added to the true total length */
	int csum_delta;     /**< added to the correct checksum */
	uint16_t plen;      /**< payload bytes */
	const uint8_t *payload; /**< NULL: a pattern seeded by id */
	const uint8_t *opts;    /**< (ihl - 5) * 4 option bytes; NULL: NOPs */
};

#define G_DF 0x4000
#define G_MF 0x2000

/**
 * Write the header and payload at @p p; options (ihl > 5) are h->opts, or
 * NOPs.
 * @return the end of the payload.
 */
static inline uint8_t *put_ip4(uint8_t *p, const struct ip4 *h)
{
	unsigned int hlen = (h->ihl < 5 ? 5 : h->ihl) * 4u;
	uint8_t *ip = p;

	p[0] = (uint8_t)(h->ver << 4 | (h->ihl & 0xf));
	p[1] = h->tos;
	put16(p + 2, (uint16_t)(hlen + h->plen + h->tot_delta));
	put16(p + 4, h->id);
	put16(p + 6, h->frag);
	p[8] = h->ttl;
	p[9] = h->proto;
	put16(p + 10, 0);
	put32(p + 12, h->src);
	put32(p + 16, h->dst);
	if (h->opts)
		memcpy(p + 20, h->opts, hlen - 20);
	else
		memset(p + 20, 1, hlen - 20);
	put16(p + 10, (uint16_t)(ref_csum(ip, hlen) + h->csum_delta));
	p += hlen;
	for (unsigned int i = 0; i < h->plen; i++)
		p[i] = h->payload ? h->payload[i] :
				    (uint8_t)(h->id * 31u + i * 7u + 3u);
	return p + h->plen;
}

/** Bytes of an IP packet (header and payload) built from @p h. */
static inline unsigned int ip4_bytes(uint8_t *out, const struct ip4 *h)
{
	return (unsigned int)(put_ip4(out, h) - out);
}

/** Ethernet + IPv4 frame, padded to @p min_len with zeros. */
static inline void frame_ip(struct frame *f, const uint8_t *dmac,
			    const uint8_t *smac, const struct ip4 *h,
			    unsigned int min_len)
{
	uint8_t *p = put_eth(f->b, dmac, smac, 0x0800);
	p = put_ip4(p, h);
	f->len = (uint16_t)(p - f->b);
	f->ol_flags = 0; /* cases that need offload flags set them after */
	f->headroom = 0; /* and those that need less headroom */
	while (f->len < min_len)
		f->b[f->len++] = 0;
}

/** Ethernet + outer IPv4 (its payload set here) + inner IPv4. */
static inline void frame_ipip(struct frame *f, const uint8_t *dmac,
			      const uint8_t *smac, struct ip4 outer,
			      const struct ip4 *inner)
{
	uint8_t in[FRAME_MAX];

	outer.plen = (uint16_t)ip4_bytes(in, inner);
	outer.payload = in;
	outer.proto = 4;
	frame_ip(f, dmac, smac, &outer, 0);
}

/** Ethernet + IPv4 (ID @p id) + ICMP error quoting @p quote (checksums
 * by reference), with precedence 6 (RFC 1812 4.3.2.5). */
static inline void frame_icmp_err(struct frame *f, const uint8_t *dmac,
				  const uint8_t *smac, uint32_t src,
				  uint32_t dst, uint8_t type, uint8_t code,
				  uint16_t mtu, const uint8_t *quote,
				  unsigned int qlen, uint16_t id)
{
	uint8_t icmp[FRAME_MAX];

	icmp[0] = type;
	icmp[1] = code;
	put16(icmp + 2, 0);
	put16(icmp + 4, 0);
	put16(icmp + 6, mtu);
	memcpy(icmp + 8, quote, qlen);
	put16(icmp + 2, ref_csum(icmp, 8 + qlen));
	struct ip4 h = {.ver = 4, .ihl = 5, .tos = 0xc0, .ttl = 64, .proto = 1,
			.id = id, .src = src, .dst = dst,
			.plen = (uint16_t)(8 + qlen), .payload = icmp};
	frame_ip(f, dmac, smac, &h, 0);
}

/** Ethernet + ARP for Ethernet/IPv4, padded to @p min_len. */
static inline void frame_arp(struct frame *f, const uint8_t *edst,
			     const uint8_t *esrc, uint16_t op,
			     const uint8_t *sha, uint32_t sip,
			     const uint8_t *tha, uint32_t tip,
			     unsigned int min_len)
{
	uint8_t *p = put_eth(f->b, edst, esrc, 0x0806);
	p = put16(p, 1);
	p = put16(p, 0x0800);
	*p++ = 6;
	*p++ = 4;
	p = put16(p, op);
	p = put_mac(p, sha);
	p = put32(p, sip);
	p = put_mac(p, tha);
	p = put32(p, tip);
	f->len = (uint16_t)(p - f->b);
	f->ol_flags = 0;
	f->headroom = 0;
	while (f->len < min_len)
		f->b[f->len++] = 0;
}

/** Parse "aa bb cc ..." into @p f (golden bytes written out by hand). */
static inline void frame_hex(struct frame *f, const char *hex)
{
	unsigned int v;
	int n;

	f->len = 0;
	f->ol_flags = 0;
	f->headroom = 0;
	while (f->len < FRAME_MAX && sscanf(hex, " %2x%n", &v, &n) == 1) {
		f->b[f->len++] = (uint8_t)v;
		hex += n;
	}
}

/* ------------------------------------------------------------------- mbufs */

static inline struct rte_mbuf *frame_mbuf(struct rte_mempool *mp,
					  const struct frame *f, uint16_t port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	if (f->headroom != 0)
		m->data_off = f->headroom;
	char *p = rte_pktmbuf_append(m, f->len);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, f->b, f->len);
	m->port = port; /* as a PMD sets it */
	m->ol_flags = f->ol_flags;
	return m;
}

static inline void hexdump(const char *what, const uint8_t *p, unsigned int n)
{
	fprintf(stderr, "  %s (%u bytes):", what, n);
	for (unsigned int i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", p[i]);
	fputc('\n', stderr);
}

/**
 * Compare an mbuf's bytes from @p from on with @p f's.
 * @return true when equal; prints both otherwise.
 */
static inline bool mbuf_matches(const char *name, const char *what,
				const struct rte_mbuf *m, const struct frame *f,
				unsigned int from)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int n = rte_pktmbuf_pkt_len(m);

	if (m->nb_segs == 1 && n == f->len &&
	    memcmp(p + from, f->b + from, n - from) == 0)
		return true;
	unsigned int i = from;
	while (i < n && i < f->len && p[i] == f->b[i])
		i++;
	GFAIL(name, "%s: bytes differ (segs %u, first at offset %u)", what,
	      m->nb_segs, i);
	hexdump("got", p, rte_pktmbuf_data_len(m));
	hexdump("expected", f->b, f->len);
	return false;
}

#endif /* KDP_TESTS_GOLDEN_H */
