/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-worker connection tracking (see acl/acl.h "Conntrack"): linear
 * probing with backward-shift deletion, verdicts cached per flow.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "acl/acl_priv.h"

struct acl_ct_key {
	uint32_t a, b;     /**< lower (ip, port) side first */
	uint16_t pa, pb;
	uint8_t proto;
	uint8_t pad[3];
};

#define F_USED 0x1
#define F_ORIG_LO 0x2  /**< the originator is side a */
#define F_ALLOW 0x4

enum ct_state {
	ST_NEW = 1,      /**< non-TCP: only the originator has sent */
	ST_REPLIED,      /**< non-TCP: the responder answered */
	ST_SYN_SENT,
	ST_SYN_RECV,
	ST_ESTABLISHED,
	ST_CLOSING,      /**< FIN seen */
	ST_CLOSED,       /**< RST seen */
};

static const char *const st_name[] = {
	[ST_NEW] = "NEW", [ST_REPLIED] = "REPLIED",
	[ST_SYN_SENT] = "SYN_SENT", [ST_SYN_RECV] = "SYN_RECV",
	[ST_ESTABLISHED] = "ESTABLISHED", [ST_CLOSING] = "CLOSING",
	[ST_CLOSED] = "CLOSED",
};

struct acl_ct_entry {
	struct acl_ct_key k;
	uint32_t hash;
	uint32_t expire;   /**< ms, wrapping; compared as a signed delta */
	uint32_t gen;      /**< policy generation of the cached verdict */
	uint8_t state;
	uint8_t flags;
	uint8_t icmp_type, icmp_code; /**< the originator's, for re-checks */
};

_Static_assert(sizeof(struct acl_ct_key) == 16, "key layout");
_Static_assert(sizeof(struct acl_ct_entry) == 32, "two entries a line");

/* Slots a new flow may sweep when the table is full. */
#define CT_FULL_SWEEP 256

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static struct acl_worker *registry[ACL_WORKER_MAX];

void acl_ct_conf_default(struct acl_ct_conf *c)
{
	*c = (struct acl_ct_conf){
		.max_flows = 1u << 20,
		.tcp_established_s = 3600,
		.tcp_transitory_s = 120,
		.udp_s = 60,
		.icmp_s = 30,
	};
}

/*
 * The slot array: anonymous memory, mapped lazily (an idle table costs no
 * memory), aligned to 2 MiB and offered to transparent huge pages. Flows
 * hash all over the table, so with 4 KiB pages nearly every lookup of a
 * few hundred flows missed the TLB (a tenth of a tracked packet's time);
 * the cost is that memory is touched in 2 MiB steps, still at most the
 * table's size.
 */
#define CT_HUGE (2u << 20)

static int table_map(struct acl_worker *aw, size_t len)
{
	size_t map_len = len >= CT_HUGE ? len + CT_HUGE : len;
	void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	aw->map = p;
	aw->map_len = map_len;
	aw->slot = p;
	if (len >= CT_HUGE) {
		uintptr_t a = RTE_ALIGN_CEIL((uintptr_t)p, (uintptr_t)CT_HUGE);

		aw->slot = (struct acl_ct_entry *)a;
#ifdef MADV_HUGEPAGE
		/* Advice only: without THP the table works the same. */
		(void)madvise(aw->slot, len, MADV_HUGEPAGE);
#endif
	}
	return 0;
}

struct acl_worker *acl_worker_create(const struct acl_ct_conf *conf,
				     unsigned int wid)
{
	struct acl_worker *aw;
	uint64_t slots = 64;

	if (wid >= ACL_WORKER_MAX || conf->max_flows == 0) {
		errno = EINVAL;
		return NULL;
	}
	while (slots < 2ull * conf->max_flows)
		slots <<= 1;
	if (!(aw = calloc(1, sizeof(*aw))))
		return NULL;
	if (table_map(aw, slots * sizeof(*aw->slot)) != 0) {
		free(aw);
		return NULL;
	}
	aw->wid = wid;
	aw->conf = *conf;
	aw->mask = (uint32_t)(slots - 1);
	aw->st.capacity = conf->max_flows;
	aw->log_tokens = ACL_LOG_BURST;
	registry[wid] = aw;
	return aw;
}

void acl_worker_free(struct acl_worker *aw)
{
	if (!aw)
		return;
	if (registry[aw->wid] == aw)
		registry[aw->wid] = NULL;
	munmap(aw->map, aw->map_len);
	free(aw);
}

/* ------------------------------------------------------------- parsing */

/*
 * The key is built in two 64-bit registers and hashed from them: storing
 * its fields one by one and hashing the stored struct read 8 bytes over
 * narrower stores, which the CPU cannot forward (the single largest cost
 * of a tracked packet). The words are the struct's memory image on a
 * little-endian CPU, so the hash is rte_hash_crc() of the key there; the
 * hash only has to agree with itself (entries keep theirs).
 */
static __rte_always_inline void
key_make(struct acl_flow *f, uint32_t src, uint32_t dst, uint16_t sp,
	 uint16_t dp, uint8_t proto)
{
	bool lo = src < dst || (src == dst && sp <= dp);
	uint64_t w[2];

	f->src_lo = lo;
	w[0] = lo ? (uint64_t)dst << 32 | src : (uint64_t)src << 32 | dst;
	w[1] = (lo ? (uint64_t)dp << 16 | sp : (uint64_t)sp << 16 | dp) |
	       (uint64_t)proto << 32;
	/* The entries' fields (orig_pkt(), the dump) are read back through
	 * struct acl_ct_key: the words must be its exact image. */
	_Static_assert(offsetof(struct acl_ct_key, pa) == 8 &&
		       offsetof(struct acl_ct_key, proto) == 12 &&
		       RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN,
		       "key words are the little-endian image of the key");
	memcpy(f->key, w, sizeof(w));
	f->hash = rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], 0));
}

static bool icmp_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* Ports of an L4 header: ICMP echo uses its id on both sides. */
static int l4_ports(const uint8_t *l4, uint32_t len, uint8_t proto,
		    uint16_t *sp, uint16_t *dp)
{
	*sp = *dp = 0;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
		if (len < 4)
			return -EINVAL;
		*sp = (uint16_t)(l4[0] << 8 | l4[1]);
		*dp = (uint16_t)(l4[2] << 8 | l4[3]);
		return 0;
	case IPPROTO_ICMP:
		if (len < 8)
			return -EINVAL;
		if (l4[0] == 0 || l4[0] == 8)
			*sp = *dp = (uint16_t)(l4[4] << 8 | l4[5]);
		return 0;
	default:
		return 0;
	}
}

/*
 * The packet nearly every one is: a 20-byte header, not a fragment, UDP or
 * TCP with the ports (and TCP flags) present. Fills @p f exactly as the
 * general parse below would; false, having written nothing, otherwise.
 */
static __rte_always_inline bool
flow_parse_fast(const struct rte_ipv4_hdr *ip, uint32_t len,
		struct acl_flow *f)
{
	uint8_t proto = ip->next_proto_id;
	uint32_t tl = RTE_MIN(len, (uint32_t)rte_be_to_cpu_16(ip->total_length));
	const uint8_t *l4 = (const uint8_t *)(ip + 1);

	if (ip->version_ihl != RTE_IPV4_VHL_DEF ||
	    (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) ||
	    !((proto == IPPROTO_UDP && tl >= sizeof(*ip) + 4) ||
	      (proto == IPPROTO_TCP && tl >= sizeof(*ip) + 14)))
		return false;
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint16_t sp = (uint16_t)(l4[0] << 8 | l4[1]);
	uint16_t dp = (uint16_t)(l4[2] << 8 | l4[3]);

	f->pkt = (struct acl_pkt){ .src = src, .dst = dst, .proto = proto,
				   .sport = sp, .dport = dp };
	f->tcp_flags = proto == IPPROTO_TCP ? l4[13] : 0;
	f->kind = ACL_FLOW_NORMAL;
	key_make(f, src, dst, sp, dp, proto);
	return true;
}

int acl_flow_parse(const void *ipv, uint32_t len, struct acl_flow *f)
{
	const struct rte_ipv4_hdr *ip = ipv;

	if (likely(flow_parse_fast(ip, len, f)))
		return 0;

	uint32_t hl = (ip->version_ihl & 0xf) * 4u;
	const uint8_t *l4 = (const uint8_t *)ip + hl;
	uint32_t l4len = RTE_MIN(len, (uint32_t)rte_be_to_cpu_16(ip->total_length));
	bool first = !(rte_be_to_cpu_16(ip->fragment_offset) &
		       RTE_IPV4_HDR_OFFSET_MASK);

	memset(f, 0, sizeof(*f));
	l4len = l4len > hl ? l4len - hl : 0;
	f->pkt.src = rte_be_to_cpu_32(ip->src_addr);
	f->pkt.dst = rte_be_to_cpu_32(ip->dst_addr);
	f->pkt.proto = ip->next_proto_id;
	if (first) {
		if (l4_ports(l4, l4len, f->pkt.proto, &f->pkt.sport,
			     &f->pkt.dport))
			return -EINVAL;
		if (f->pkt.proto == IPPROTO_TCP) {
			if (l4len < 14)
				return -EINVAL;
			f->tcp_flags = l4[13];
		} else if (f->pkt.proto == IPPROTO_ICMP) {
			f->pkt.icmp_type = l4[0];
			f->pkt.icmp_code = l4[1];
		}
	}
	if (first && f->pkt.proto == IPPROTO_ICMP &&
	    icmp_is_error(f->pkt.icmp_type)) {
		/* The quoted packet: its IP header and 8 bytes of L4. */
		const struct rte_ipv4_hdr *in =
			(const struct rte_ipv4_hdr *)(l4 + 8);
		uint32_t inlen = l4len - 8, ihl;
		uint16_t sp, dp;

		if (l4len < 8 + sizeof(*in))
			return -EINVAL;
		ihl = (in->version_ihl & 0xf) * 4u;
		if ((in->version_ihl >> 4) != 4 || ihl < sizeof(*in) ||
		    inlen < ihl ||
		    l4_ports((const uint8_t *)in + ihl, inlen - ihl,
			     in->next_proto_id, &sp, &dp))
			return -EINVAL;
		f->kind = ACL_FLOW_ICMP_ERR;
		key_make(f, rte_be_to_cpu_32(in->src_addr),
			 rte_be_to_cpu_32(in->dst_addr), sp, dp,
			 in->next_proto_id);
		return 0;
	}
	key_make(f, f->pkt.src, f->pkt.dst, f->pkt.sport, f->pkt.dport,
		 f->pkt.proto);
	return 0;
}

/* -------------------------------------------------------------- table */

static inline bool expired(const struct acl_ct_entry *e, uint64_t now)
{
	return (int32_t)(e->expire - (uint32_t)now) <= 0;
}

void acl_ct_prefetch(const struct acl_worker *aw, const struct acl_flow *f)
{
	rte_prefetch0(&aw->slot[f->hash & aw->mask]);
}

/* The live entry of @p k, or NULL with *hint = the slot to insert at (the
 * expired entry of the same key, else the first expired or empty slot). */
static __rte_always_inline struct acl_ct_entry *
find(struct acl_worker *aw,
				 const struct acl_ct_key *k, uint32_t hash,
				 uint64_t now, uint32_t *hint)
{
	uint32_t i = hash & aw->mask;

	*hint = UINT32_MAX;
	for (;;) {
		struct acl_ct_entry *e = &aw->slot[i];

		if (!(e->flags & F_USED)) {
			if (*hint == UINT32_MAX)
				*hint = i;
			return NULL;
		}
		if (e->hash == hash && !memcmp(&e->k, k, sizeof(*k))) {
			if (!expired(e, now))
				return e;
			*hint = i;
			return NULL;
		}
		if (*hint == UINT32_MAX && expired(e, now))
			*hint = i;
		i = (i + 1) & aw->mask;
	}
}

static void del(struct acl_worker *aw, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & aw->mask;
		struct acl_ct_entry *e = &aw->slot[j];

		if (!(e->flags & F_USED))
			break;
		uint32_t h = e->hash & aw->mask;
		/* e may fill the hole unless its home lies in (i, j]. */
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);

		if (!stays) {
			aw->slot[i] = *e;
			i = j;
		}
	}
	aw->slot[i].flags = 0;
	aw->st.flows--;
}

void acl_ct_sweep(struct acl_worker *aw, uint64_t now_ms, uint32_t budget)
{
	while (budget--) {
		uint32_t i = aw->sweep_at;
		struct acl_ct_entry *e = &aw->slot[i];

		if ((e->flags & F_USED) && expired(e, now_ms)) {
			del(aw, i); /* slot i may now hold another entry */
			aw->st.expired++;
			continue;
		}
		aw->sweep_at = (i + 1) & aw->mask;
	}
}

/* ------------------------------------------------------ state machine */

static inline uint32_t timeout_ms(const struct acl_worker *aw,
			   const struct acl_ct_entry *e)
{
	uint32_t s;

	if (e->k.proto == IPPROTO_TCP)
		s = e->state == ST_ESTABLISHED ? aw->conf.tcp_established_s :
						 aw->conf.tcp_transitory_s;
	else if (e->k.proto == IPPROTO_ICMP)
		s = aw->conf.icmp_s;
	else
		s = aw->conf.udp_s;
	return s * 1000u;
}

/* May this packet open a flow? (Linux conntrack: SYN, or a bare ACK with
 * loose pickup; an echo request; anything for connectionless protocols.) */
static bool valid_start(const struct acl_flow *f, uint8_t *state)
{
	uint8_t fl = f->tcp_flags & (TCP_SYN | TCP_ACK | TCP_FIN | TCP_RST);

	switch (f->pkt.proto) {
	case IPPROTO_TCP:
		if (fl == TCP_SYN) {
			*state = ST_SYN_SENT;
			return true;
		}
		if (fl == TCP_ACK) {
			*state = ST_ESTABLISHED;
			return true;
		}
		return false;
	case IPPROTO_ICMP:
		*state = ST_NEW;
		return f->pkt.icmp_type != 0; /* echo reply needs a request */
	default:
		*state = ST_NEW;
		return true;
	}
}

static void advance(struct acl_ct_entry *e, const struct acl_flow *f,
		    bool orig)
{
	uint8_t fl = f->tcp_flags;

	if (e->k.proto != IPPROTO_TCP) {
		if (!orig)
			e->state = ST_REPLIED;
		return;
	}
	if (fl & TCP_RST)
		e->state = ST_CLOSED;
	else if (fl & TCP_FIN) {
		if (e->state < ST_CLOSING)
			e->state = ST_CLOSING;
	} else if (e->state == ST_SYN_SENT && !orig &&
		   (fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		e->state = ST_SYN_RECV;
	else if (e->state == ST_SYN_RECV && orig && (fl & TCP_ACK) &&
		 !(fl & TCP_SYN))
		e->state = ST_ESTABLISHED;
}

/* The flow as its originator sent it. */
static void orig_pkt(const struct acl_ct_entry *e, struct acl_pkt *p)
{
	bool lo = e->flags & F_ORIG_LO;

	*p = (struct acl_pkt){
		.src = lo ? e->k.a : e->k.b, .dst = lo ? e->k.b : e->k.a,
		.sport = lo ? e->k.pa : e->k.pb, .dport = lo ? e->k.pb : e->k.pa,
		.proto = e->k.proto,
	};
	p->icmp_type = e->icmp_type;
	p->icmp_code = e->icmp_code;
}

/* acl_ct_packet() for every case; acl_ct_packet() below tries the common
 * one first. */
static __rte_noinline enum acl_ct_res
ct_packet_slow(struct acl_worker *aw, const struct acl_flow *f, uint32_t gen,
	       uint64_t now, acl_classify_fn fn, void *arg)
{
	const struct acl_ct_key *k = (const struct acl_ct_key *)f->key;
	uint32_t hint;
	struct acl_ct_entry *e = find(aw, k, f->hash, now, &hint);
	uint8_t state;
	bool allow;

	if (f->kind == ACL_FLOW_ICMP_ERR)
		return e && (e->flags & F_ALLOW) ? ACL_CT_PASS : ACL_CT_INVALID;
	if (e) {
		bool orig = f->src_lo == !!(e->flags & F_ORIG_LO);
		bool reopen = e->k.proto == IPPROTO_TCP && orig &&
			      e->state >= ST_CLOSING &&
			      (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;

		if (!reopen && (orig || (e->flags & F_ALLOW))) {
			if (e->gen != gen) {
				struct acl_pkt p;

				orig_pkt(e, &p);
				allow = fn(arg, &p, !orig);
				e->flags = (uint8_t)((e->flags & ~F_ALLOW) |
						     (allow ? F_ALLOW : 0));
				e->gen = gen;
				aw->st.reclassified++;
			}
			if (!(e->flags & F_ALLOW))
				return ACL_CT_DENY;
			advance(e, f, orig);
			e->expire = (uint32_t)now + timeout_ms(aw, e);
			return ACL_CT_PASS;
		}
		/* A responder answering a denied flow, or a new SYN on a
		 * closed one: a new flow, decided afresh. */
		hint = (uint32_t)(e - aw->slot);
	}
	if (!valid_start(f, &state))
		return ACL_CT_INVALID;
	struct acl_ct_entry *n = &aw->slot[hint];
	bool fresh = !(n->flags & F_USED);

	if (fresh && aw->st.flows >= aw->conf.max_flows) {
		/* Make room if aging is behind: a bounded sweep, then look
		 * again (deletions move entries). */
		acl_ct_sweep(aw, now, CT_FULL_SWEEP);
		if (aw->st.flows >= aw->conf.max_flows) {
			aw->st.full++;
			return ACL_CT_FULL;
		}
		find(aw, k, f->hash, now, &hint);
		n = &aw->slot[hint];
		fresh = !(n->flags & F_USED);
	}
	allow = fn(arg, &f->pkt, false);
	if (fresh)
		aw->st.flows++;
	else if (n != e)
		aw->st.expired++; /* reusing an expired slot */
	n->k = *k;
	n->hash = f->hash;
	n->gen = gen;
	n->state = state;
	n->icmp_type = f->pkt.icmp_type;
	n->icmp_code = f->pkt.icmp_code;
	n->flags = (uint8_t)(F_USED | (f->src_lo ? F_ORIG_LO : 0) |
			     (allow ? F_ALLOW : 0));
	n->expire = (uint32_t)now + timeout_ms(aw, n);
	aw->st.created++;
	return allow ? ACL_CT_PASS : ACL_CT_DENY;
}

/*
 * The packet nearly every one is: its flow's live entry sits in its home
 * slot, allowed under the current generation, and the packet changes no
 * state beyond "replied" (not TCP; or ESTABLISHED TCP without SYN, FIN or
 * RST). What ct_packet_slow() would do with it is refresh the timeout
 * (and mark a reply): done here in a small function, without its
 * register spills; anything else goes there, nothing changed yet.
 */
enum acl_ct_res acl_ct_packet(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now, acl_classify_fn fn,
			      void *arg)
{
	struct acl_ct_entry *e = &aw->slot[f->hash & aw->mask];
	uint8_t fl = e->flags;

	if (likely(f->kind == ACL_FLOW_NORMAL &&
		   (fl & (F_USED | F_ALLOW)) == (F_USED | F_ALLOW) &&
		   e->hash == f->hash && e->gen == gen &&
		   !memcmp(&e->k, f->key, sizeof(e->k)) && !expired(e, now))) {
		bool orig = f->src_lo == !!(fl & F_ORIG_LO);

		if (e->k.proto != IPPROTO_TCP) {
			if (!orig)
				e->state = ST_REPLIED;
			e->expire = (uint32_t)now + timeout_ms(aw, e);
			return ACL_CT_PASS;
		}
		if (e->state == ST_ESTABLISHED &&
		    !(f->tcp_flags & (TCP_SYN | TCP_FIN | TCP_RST))) {
			e->expire = (uint32_t)now + timeout_ms(aw, e);
			return ACL_CT_PASS;
		}
	}
	return ct_packet_slow(aw, f, gen, now, fn, arg);
}

/* ----------------------------------------------------------- telemetry */

unsigned int acl_worker_count(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ACL_WORKER_MAX; i++)
		if (registry[i])
			n = i + 1;
	return n;
}

int acl_worker_stats(unsigned int wid, struct acl_ct_stats *out)
{
	if (wid >= ACL_WORKER_MAX || !registry[wid])
		return -ENOENT;
	*out = registry[wid]->st;
	return 0;
}

unsigned int acl_ct_dump(unsigned int wid, unsigned int max, uint64_t now,
			 void (*fn)(void *arg, const char *line), void *arg)
{
	const struct acl_worker *aw = wid < ACL_WORKER_MAX ? registry[wid] : NULL;
	unsigned int n = 0;

	for (uint64_t i = 0; aw && i <= aw->mask && n < max; i++) {
		struct acl_ct_entry e = aw->slot[i];
		struct acl_pkt p;
		char line[160];

		if (!(e.flags & F_USED) || expired(&e, now))
			continue;
		orig_pkt(&e, &p);
		snprintf(line, sizeof(line),
			 "proto %u %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u %s %s "
			 "expires_in_s=%u gen=%u", p.proto, p.src >> 24,
			 (p.src >> 16) & 0xff, (p.src >> 8) & 0xff, p.src & 0xff,
			 p.sport, p.dst >> 24, (p.dst >> 16) & 0xff,
			 (p.dst >> 8) & 0xff, p.dst & 0xff, p.dport,
			 e.state < RTE_DIM(st_name) && st_name[e.state] ?
				 st_name[e.state] : "?",
			 (e.flags & F_ALLOW) ? "allow" : "deny",
			 (e.expire - (uint32_t)now) / 1000, e.gen);
		fn(arg, line);
		n++;
	}
	return n;
}
