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
#include <sys/random.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_prefetch.h>

#include "acl/ct_fast.h"
#include "dp/log.h"

/* Short names for ct_fast.h's flags and states. */
#define F_USED ACL_CT_F_USED
#define F_ORIG_LO ACL_CT_F_ORIG_LO
#define F_ALLOW ACL_CT_F_ALLOW
#define F_VIA_HOST ACL_CT_F_VIA_HOST
#define ST_NEW ACL_ST_NEW
#define ST_REPLIED ACL_ST_REPLIED
#define ST_SYN_SENT ACL_ST_SYN_SENT
#define ST_SYN_RECV ACL_ST_SYN_RECV
#define ST_ESTABLISHED ACL_ST_ESTABLISHED
#define ST_CLOSING ACL_ST_CLOSING
#define ST_CLOSED ACL_ST_CLOSED
#define TCP_FIN ACL_TCP_FIN
#define TCP_SYN ACL_TCP_SYN
#define TCP_RST ACL_TCP_RST
#define TCP_ACK ACL_TCP_ACK

static const char *const st_name[] = {
	[ST_NEW] = "NEW", [ST_REPLIED] = "REPLIED",
	[ST_SYN_SENT] = "SYN_SENT", [ST_SYN_RECV] = "SYN_RECV",
	[ST_ESTABLISHED] = "ESTABLISHED", [ST_CLOSING] = "CLOSING",
	[ST_CLOSED] = "CLOSED",
};

/* Slots a new flow may sweep when the table is full, at most once a
 * millisecond (ct_make_room()). */
#define CT_FULL_SWEEP 256
/* Slots from a new flow's home where it may evict an unanswered entry
 * when the table is full: eight lines, the first of which its lookup has
 * just read. In a flood of new flows into a full table (half the slots
 * taken, all evictable), 8 slots held none for 0.75 % of them, 16 for
 * 0.01 %. */
#define CT_EVICT_SLOTS 16u

static struct acl_worker *registry[ACL_WORKER_MAX];

void acl_ct_conf_default(struct acl_ct_conf *c)
{
	*c = (struct acl_ct_conf){
		.max_flows = 1u << 20,
		.tcp_established_s = 3600,
		.tcp_transitory_s = 120,
		.tcp_close_s = 10,
		.udp_s = 60,
		.icmp_s = 30,
	};
}

/*
 * The slot array: anonymous memory, aligned to 2 MiB and offered to
 * transparent huge pages. Flows hash all over the table, so with 4 KiB
 * pages nearly every lookup of a few hundred flows missed the TLB (a tenth
 * of a tracked packet's time).
 * It is populated here, at start: mapped lazily, every first touch of a
 * 2 MiB page by a new flow stalled the worker in the kernel (zeroing, and
 * compaction to find a huge page), which held a new-flow benchmark under
 * 0.01 Mpps for its first second; and a table larger than the memory
 * available fails at start, naming conntrack.max_flows, not later.
 */
#define CT_HUGE (2u << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static int table_populate(void *p, size_t len)
{
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* An older kernel: touch every page. */
	for (size_t off = 0; off < len; off += 4096)
		((volatile char *)p)[off] = 0;
	return 0;
}

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
	int rc = table_populate(aw->slot, len);

	if (rc != 0) {
		munmap(aw->map, aw->map_len);
		return rc;
	}
	return 0;
}

/* Fixed keys until the first table is created: any odd multipliers serve
 * a hash that is not exposed to a sender. */
struct acl_ct_hash_keys acl_ct_hk = {
	.k = {0x9e3779b1u, 0x85ebca77u, 0xc2b2ae3du, 0x27d4eb2fu},
	.seed = 0x165667b1u,
};

/* New hash keys; only while no worker exists (entries' slots follow them,
 * and a flow's owner worker too). */
static void ct_hash_rekey(void)
{
	struct acl_ct_hash_keys hk;

	if (getrandom(&hk, sizeof(hk), GRND_NONBLOCK) != (ssize_t)sizeof(hk)) {
		/* Early in boot the pool may not be ready: the fixed keys
		 * still hash well, only predictably. */
		KDP_LOG(WARNING, "conntrack: getrandom: %s; the hash keeps "
			"its fixed keys", strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < RTE_DIM(hk.k); i++)
		hk.k[i] |= 1u;
	acl_ct_hk = hk;
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
	if (acl_worker_count() == 0)
		ct_hash_rekey();
	if (!(aw = calloc(1, sizeof(*aw))))
		return NULL;
	int rc = table_map(aw, slots * sizeof(*aw->slot));

	if (rc != 0) {
		free(aw);
		errno = -rc;
		return NULL;
	}
	aw->wid = wid;
	aw->conf = *conf;
	aw->tmo_tcp_est_ms = conf->tcp_established_s * 1000u;
	aw->tmo_tcp_other_ms = conf->tcp_transitory_s * 1000u;
	aw->tmo_tcp_close_ms = conf->tcp_close_s * 1000u;
	aw->tmo_udp_ms = conf->udp_s * 1000u;
	aw->tmo_icmp_ms = conf->icmp_s * 1000u;
	aw->mask = (uint32_t)(slots - 1);
	/* Without a TSC rate (no EAL) every call sweeps. */
	aw->sweep_period_tsc = rte_get_tsc_hz() / 1000 * ACL_CT_SWEEP_PASS_MS /
			       (slots / ACL_CT_SWEEP_SLOTS);
	aw->st.capacity = conf->max_flows;
	aw->log_tokens = ACL_LOG_BURST;
	aw->full_sweep_ms = UINT32_MAX;
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

static bool icmp_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* A query's request: echo, timestamp, information, address mask. */
static bool icmp_is_request(uint8_t type)
{
	return type == 8 || type == 13 || type == 15 || type == 17;
}

/* The request's type of a query's request or reply; 0 for other types. */
static uint8_t icmp_query_of(uint8_t type)
{
	switch (type) {
	case 0:
	case 8:
		return 8;
	case 13:
	case 14:
		return 13;
	case 15:
	case 16:
		return 15;
	case 17:
	case 18:
		return 17;
	default:
		return 0;
	}
}

/* Ports of an L4 header: an ICMP query uses its id on both sides. */
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
		if (icmp_query_of(l4[0]) != 0)
			*sp = *dp = (uint16_t)(l4[4] << 8 | l4[5]);
		return 0;
	default:
		return 0;
	}
}

/*
 * The key of an ICMP query of @p type from @p src to @p dst, made by
 * acl_ct_key_make() (the id on both sides): Linux keys ICMP on type, code
 * and id, a request's reply tuple holding the reply's type. Keyed on the
 * id alone, the pinged side's own echo request with the same id passed as
 * a reply, without its policy. So icmp_q holds the request's type and
 * which side sent it: a reply finds its request's entry, a request from
 * the other side or of another query is a flow of its own. (The code is
 * not keyed: queries have only code 0.)
 */
static void icmp_query_key(struct acl_flow *f, uint8_t type, uint32_t src,
			   uint32_t dst)
{
	uint8_t req = icmp_query_of(type);
	uint64_t w[2];

	if (req == 0)
		return;
	/* The requester: a request's sender, a reply's receiver; a host
	 * that pings itself is both sides (src_lo is true both ways). */
	bool req_lo = src == dst || f->src_lo == (type == req);

	memcpy(w, f->key, sizeof(w));
	w[1] |= (uint64_t)(req | (req_lo ? 0x80 : 0)) << 40;
	_Static_assert(offsetof(struct acl_ct_key, icmp_q) == 13,
		       "icmp_q is byte 5 of the key's second word");
	memcpy(f->key, w, sizeof(w));
	f->hash = acl_ct_key_hash(w);
}

int acl_flow_parse(const void *ipv, uint32_t len, struct acl_flow *f)
{
	const struct rte_ipv4_hdr *ip = ipv;

	if (likely(acl_flow_parse_common(ip, len, f)))
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
		acl_ct_key_make(f, rte_be_to_cpu_32(in->src_addr),
			 rte_be_to_cpu_32(in->dst_addr), sp, dp,
			 in->next_proto_id);
		/* An error about a query: its flow's key. */
		if (in->next_proto_id == IPPROTO_ICMP)
			icmp_query_key(f, ((const uint8_t *)in + ihl)[0],
				       rte_be_to_cpu_32(in->src_addr),
				       rte_be_to_cpu_32(in->dst_addr));
		return 0;
	}
	acl_ct_key_make(f, f->pkt.src, f->pkt.dst, f->pkt.sport, f->pkt.dport,
		 f->pkt.proto);
	if (first && f->pkt.proto == IPPROTO_ICMP)
		icmp_query_key(f, f->pkt.icmp_type, f->pkt.src, f->pkt.dst);
	return 0;
}

void acl_flow_rekey(struct acl_flow *f, uint16_t sport, uint16_t dport,
		    uint8_t icmp_type, uint8_t icmp_code)
{
	f->pkt.sport = sport;
	f->pkt.dport = dport;
	f->pkt.icmp_type = icmp_type;
	f->pkt.icmp_code = icmp_code;
	f->tcp_flags = 0;
	f->kind = ACL_FLOW_NORMAL;
	acl_ct_key_make(f, f->pkt.src, f->pkt.dst, sport, dport, f->pkt.proto);
	if (f->pkt.proto == IPPROTO_ICMP)
		icmp_query_key(f, icmp_type, f->pkt.src, f->pkt.dst);
}

/* -------------------------------------------------------------- table */



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
		if (!memcmp(&e->k, k, sizeof(*k))) {
			if (!acl_ct_expired(e, now))
				return e;
			*hint = i;
			return NULL;
		}
		if (*hint == UINT32_MAX && acl_ct_expired(e, now))
			*hint = i;
		i = (i + 1) & aw->mask;
	}
}

/* An entry's hash, from its key (entries do not keep it). */
static uint32_t ct_entry_hash(const struct acl_ct_entry *e)
{
	uint64_t w[2];

	memcpy(w, &e->k, sizeof(w));
	return acl_ct_key_hash(w);
}

static void del(struct acl_worker *aw, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & aw->mask;
		struct acl_ct_entry *e = &aw->slot[j];

		if (!(e->flags & F_USED))
			break;
		uint32_t h = ct_entry_hash(e) & aw->mask;
		/* e may fill the hole unless its home lies in (i, j]. */
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);

		if (!stays) {
			aw->slot[i] = *e;
			i = j;
		}
	}
	aw->slot[i].flags = 0;
	aw->st.flows--;
	aw->dels++;
}

/*
 * May a full table drop this entry for a new flow? Like Linux's
 * early_drop, only entries not (yet) worth keeping: expired ones, cached
 * denials (the next packet is classified again), and flows that never had
 * an answer or are over (UDP/ICMP NEW, TCP SYN_SENT and CLOSED). A flow
 * that has had an answer is never evicted, so a flood of new flows cannot
 * cut established ones; without eviction it would hold every new flow off
 * until entries expire (udp_s, 60 s by default).
 */
static bool ct_evictable(const struct acl_ct_entry *e, uint64_t now)
{
	return acl_ct_expired(e, now) || !(e->flags & F_ALLOW) ||
	       e->state == ST_NEW || e->state == ST_SYN_SENT ||
	       e->state == ST_CLOSED;
}

/*
 * Room for a new flow whose home slot is @p home and whose lookup ended
 * at the free slot @p *slot, in a table holding max_flows entries. Sets
 * *slot to where the flow goes and returns how it was made:
 *  - an evictable entry among CT_EVICT_SLOTS slots from @p home: on the
 *    flow's probe path before *slot, it is overwritten in place (every
 *    slot from home to it is taken, as linear probing needs); past it, it
 *    is deleted (del() moves entries only after it, and *slot, free,
 *    lies before);
 *  - otherwise a bounded sweep of expired entries, at most once a
 *    millisecond: every new flow into a table full of answered flows
 *    swept 256 slots (128 lines) before;
 *  - otherwise none: the flow is refused.
 */
enum ct_room { CT_ROOM_NONE, CT_ROOM_FREE, CT_ROOM_EVICTED, CT_ROOM_EXPIRED };

static enum ct_room ct_make_room(struct acl_worker *aw,
				 const struct acl_ct_key *k, uint32_t hash,
				 uint64_t now, uint32_t *slot)
{
	uint32_t home = hash & aw->mask, run = (*slot - home) & aw->mask;

	for (uint32_t d = 0; d < CT_EVICT_SLOTS; d++) {
		uint32_t j = (home + d) & aw->mask;
		const struct acl_ct_entry *v = &aw->slot[j];

		if (!(v->flags & F_USED) || !ct_evictable(v, now))
			continue;
		enum ct_room how = acl_ct_expired(v, now) ? CT_ROOM_EXPIRED :
							    CT_ROOM_EVICTED;
		if (d < run) {
			*slot = j;
			return how;
		}
		del(aw, j);
		return how;
	}
	if (aw->full_sweep_ms == (uint32_t)now)
		return CT_ROOM_NONE;
	aw->full_sweep_ms = (uint32_t)now;
	acl_ct_sweep(aw, now, CT_FULL_SWEEP);
	if (aw->st.flows >= aw->conf.max_flows)
		return CT_ROOM_NONE;
	/* Deletions move entries: look again. */
	find(aw, k, hash, now, slot);
	return CT_ROOM_FREE;
}

/* Lines of slots a sweep call prefetches for the next call. */
#define CT_SWEEP_AHEAD_LINES 8u

void acl_ct_sweep(struct acl_worker *aw, uint64_t now_ms, uint32_t budget)
{
	/*
	 * The next call's lines, asked for now: they arrive while the worker
	 * forwards a burst. The sweep reads the table in order, but a few
	 * lines per poll between a burst's random accesses were not followed
	 * by the hardware prefetcher, and every line missed stalled the loop
	 * below (the sweep's share of a new-flow run's samples: 1.5-2.0 %
	 * before, 0.7-0.9 % after, three runs each).
	 */
	uint32_t i = aw->sweep_at, mask = aw->mask;
	uint32_t ahead = RTE_MIN(budget / 2, CT_SWEEP_AHEAD_LINES);
	uint32_t next = (i + budget) & mask;

	/* Where the next call's lines do not wrap (nearly always), one
	 * address and a stride: the wrapping index cost 9 instructions a
	 * line, a third of a 16-slot call. */
	if (likely(next + 2 * ahead <= mask + 1)) {
		const uint8_t *l0 = (const uint8_t *)&aw->slot[next];
		_Pragma("GCC unroll 8")
		for (uint32_t l = 0; l < ahead; l++)
			rte_prefetch0(l0 + l * RTE_CACHE_LINE_SIZE);
	} else {
		for (uint32_t l = 0; l < ahead; l++)
			rte_prefetch0(&aw->slot[(next + 2 * l) & mask]);
	}
	/* The position stays in a register: del()'s entry copies may alias
	 * aw->sweep_at for the compiler, which reloaded it every slot. */
	while (budget != 0) {
		/* Most of a table is free: from a line's first slot, free
		 * lines pass two slots a test, up to the table's end (its
		 * slot count is even). */
		if (!(i & 1)) {
			const struct acl_ct_entry *l = &aw->slot[i];
			uint32_t n = RTE_MIN(budget, mask + 1 - i) / 2, k = 0;

			while (k < n && !((l[2 * k].flags | l[2 * k + 1].flags) &
					  F_USED))
				k++;
			i = (i + 2 * k) & mask;
			budget -= 2 * k;
			if (budget == 0)
				break;
		}
		const struct acl_ct_entry *e = &aw->slot[i];

		budget--;
		if ((e->flags & F_USED) && acl_ct_expired(e, now_ms)) {
			del(aw, i); /* slot i may now hold another entry */
			aw->st.expired++;
			continue;
		}
		i = (i + 1) & mask;
	}
	aw->sweep_at = i;
}

/* ------------------------------------------------------ state machine */

static inline uint32_t timeout_ms(const struct acl_worker *aw,
				  const struct acl_ct_entry *e)
{
	if (e->k.proto == IPPROTO_TCP)
		return e->state == ST_ESTABLISHED ? aw->tmo_tcp_est_ms :
		       e->state == ST_CLOSED ? aw->tmo_tcp_close_ms :
					       aw->tmo_tcp_other_ms;
	return e->k.proto == IPPROTO_ICMP ? aw->tmo_icmp_ms : aw->tmo_udp_ms;
}

/* May this packet open a flow? (Linux conntrack: SYN, or a bare ACK with
 * loose pickup; an ICMP query's request; anything for connectionless
 * protocols.) */
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
		/* Linux's valid_new[]: a reply needs its request, and
		 * other types (router advertisements, redirects...) start
		 * nothing (errors are related, never new). Else an
		 * unsolicited reply opened a flow through policy, and its
		 * "answer", a request, passed as a reply. */
		return icmp_is_request(f->pkt.icmp_type);
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

/* Both hops unknown, but the reply direction's of a flow the host
 * forwarded: always to the host (ACL_CT_HOP_HOST). */
static inline void ct_hops_reset(struct acl_ct_entry *e)
{
	e->hop[0] = e->hop[1] = ACL_CT_HOP_NONE;
	if (e->flags & F_VIA_HOST)
		e->hop[!(e->flags & F_ORIG_LO)] = ACL_CT_HOP_HOST;
}

/*
 * A new flow's entry, in slot @p n, in @p state, with policy's verdict.
 * @p fresh: the slot is free; else it held an expired entry, counted as
 * reused unless @p counted (a victim, or the flow's own old entry).
 */
static __rte_always_inline enum acl_ct_res
ct_create(struct acl_worker *aw, const struct acl_flow *f,
	  struct acl_ct_entry *n, bool fresh, bool counted, uint32_t gen,
	  uint64_t now, uint16_t hop, bool via_host, acl_classify_fn fn,
	  void *arg, uint8_t state)
{
	bool allow = fn(arg, &f->pkt, false);

	if (fresh)
		aw->st.flows++;
	else if (!counted)
		aw->st.expired++; /* reusing an expired slot */
	n->k = *(const struct acl_ct_key *)f->key;
	n->gen = gen;
	n->state = state;
	n->icmp_type = f->pkt.icmp_type;
	n->icmp_code = f->pkt.icmp_code;
	n->flags = (uint8_t)(F_USED | (f->src_lo ? F_ORIG_LO : 0) |
			     (allow ? F_ALLOW : 0) |
			     (via_host ? F_VIA_HOST : 0));
	ct_hops_reset(n);
	if (allow)
		n->hop[f->src_lo] = hop;
	n->expire = (uint32_t)now + timeout_ms(aw, n);
	aw->st.created++;
	return allow ? ACL_CT_PASS : ACL_CT_DENY;
}

/*
 * Room for a new flow whose lookup ended at *@p hint (*@p fresh: a free
 * slot): nothing to make unless that slot is free and the table full;
 * then ct_make_room(), counted. False when the flow is refused; else
 * *@p hint is its slot, *@p fresh whether that is free, and *@p counted
 * whether taking it was counted already (a victim's).
 */
static __rte_always_inline bool
ct_room(struct acl_worker *aw, const struct acl_flow *f, uint64_t now,
	uint32_t *hint, bool *fresh, bool *counted)
{
	*counted = false;
	if (!*fresh || aw->st.flows < aw->conf.max_flows)
		return true;
	enum ct_room room = ct_make_room(aw, (const struct acl_ct_key *)f->key,
					 f->hash, now, hint);

	if (room == CT_ROOM_NONE) {
		aw->st.full++;
		return false;
	}
	if (room == CT_ROOM_EVICTED)
		aw->st.evicted++;
	else if (room == CT_ROOM_EXPIRED)
		aw->st.expired++;
	/* After a sweep (CT_ROOM_FREE) the slot found again may be another
	 * expired entry's, counted by ct_create(). */
	*counted = room != CT_ROOM_FREE;
	/* Free when the victim was deleted (it left the count). */
	*fresh = !(aw->slot[*hint].flags & F_USED);
	return true;
}

/* acl_ct_packet() for every case (acl_ct_hit() has been tried); with
 * @p miss, acl_ct_lookup(): ACL_CT_MISS where a flow would start, and
 * *@p miss where. */
static __rte_noinline enum acl_ct_res
ct_packet_slow(struct acl_worker *aw, const struct acl_flow *f, uint32_t gen,
	       uint64_t now, uint16_t hop, bool via_host, acl_classify_fn fn,
	       void *arg, struct acl_ct_miss *miss)
{
	const struct acl_ct_key *k = (const struct acl_ct_key *)f->key;
	uint32_t hint;
	struct acl_ct_entry *e = find(aw, k, f->hash, now, &hint);
	uint8_t state;

	/* An error relates to a flow allowed under the current policy. One
	 * decided under another generation has had no packet re-checked
	 * since (the packet that caused the error would have been): the new
	 * policy may cut it, as Felix flushes its conntrack entry, and the
	 * error's endpoints are not the flow's to classify it again. And it
	 * must go back to the quoted packet's sender, as Linux's
	 * nf_conntrack_inet_error() requires: else any host could pass a
	 * flow's "error" to a third one, past that one's ingress policy. */
	if (f->kind == ACL_FLOW_ICMP_ERR) {
		if (!(e && (e->flags & F_ALLOW) && e->gen == gen &&
		      f->pkt.dst == (f->src_lo ? k->a : k->b)))
			return ACL_CT_INVALID;
		/* To the originator of a flow the host forwarded: the host
		 * translates the quoted packet back too. */
		return (e->flags & F_VIA_HOST) &&
			       f->src_lo == !!(e->flags & F_ORIG_LO) ?
			       ACL_CT_PASS_HOST : ACL_CT_PASS;
	}
	if (e) {
		bool orig = f->src_lo == !!(e->flags & F_ORIG_LO);
		bool syn = e->k.proto == IPPROTO_TCP &&
			   (f->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;
		/* A SYN on a closing flow opens a new one, from either
		 * side (Linux: a SYN in TIME_WAIT kills the entry and is
		 * looked up again as NEW); the responder's then is the new
		 * flow's originator, checked by policy in its direction. On
		 * a flow cut by RST only the originator's may (sCL -> sIV
		 * for the reply direction, below). */
		bool reopen = syn && (orig ? e->state >= ST_CLOSING :
					     e->state == ST_CLOSING);

		if (!reopen && (orig || (e->flags & F_ALLOW))) {
			if (e->gen != gen) {
				struct acl_pkt p;

				orig_pkt(e, &p);
				bool allow = fn(arg, &p, !orig);
				e->flags = (uint8_t)((e->flags & ~F_ALLOW) |
						     (allow ? F_ALLOW : 0));
				e->gen = gen;
				/* The hops were the old generation's. */
				ct_hops_reset(e);
				aw->st.reclassified++;
			}
			if (!(e->flags & F_ALLOW))
				return ACL_CT_DENY;
			/* Passed, the responder's SYN would open a flow into
			 * the originator without its policy. */
			if (syn && !orig && e->state == ST_CLOSED)
				return ACL_CT_INVALID;
			advance(e, f, orig);
			e->expire = (uint32_t)now + timeout_ms(aw, e);
			return acl_ct_hop_record(e, f->src_lo, hop);
		}
		/* A responder answering a denied flow, or a new SYN on a
		 * closing or closed one: a new flow, decided afresh. */
		hint = (uint32_t)(e - aw->slot);
	}
	if (miss != NULL) {
		*miss = (struct acl_ct_miss){ .slot = hint, .dels = aw->dels };
		return ACL_CT_MISS;
	}
	if (!valid_start(f, &state))
		return ACL_CT_INVALID;
	bool fresh = !(aw->slot[hint].flags & F_USED), counted;

	if (!ct_room(aw, f, now, &hint, &fresh, &counted))
		return ACL_CT_FULL;
	struct acl_ct_entry *n = &aw->slot[hint];
	/* Replacing the flow's own entry (e) is no expired slot's reuse. */
	return ct_create(aw, f, n, fresh, counted || n == e, gen, now, hop,
			 via_host, fn, arg, state);
}

enum acl_ct_res acl_ct_packet(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now, uint64_t hop,
			      acl_classify_fn fn, void *arg)
{
	struct acl_ct_entry *e = acl_ct_hit_entry(aw, f, gen, now);
	uint16_t h = acl_ct_hop(hop & ~ACL_CT_HOP_VIA_HOST);

	if (likely(e != NULL))
		return acl_ct_hop_record(e, f->src_lo, h);
	return ct_packet_slow(aw, f, gen, now, h, hop & ACL_CT_HOP_VIA_HOST,
			      fn, arg, NULL);
}

enum acl_ct_res acl_ct_lookup(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now, uint64_t hop,
			      acl_classify_fn fn, void *arg,
			      struct acl_ct_miss *miss)
{
	struct acl_ct_miss m;

	return ct_packet_slow(aw, f, gen, now,
			      acl_ct_hop(hop & ~ACL_CT_HOP_VIA_HOST),
			      hop & ACL_CT_HOP_VIA_HOST, fn, arg,
			      miss != NULL ? miss : &m);
}

/* Why the lookup's slot can be trusted: acl.h. A new flow's packet walked
 * the table four times (the pipeline's hit and lookup, then
 * acl_ct_packet()'s hit and walk): this saves the last two. */
enum acl_ct_res acl_ct_create(struct acl_worker *aw, const struct acl_flow *f,
			      uint32_t gen, uint64_t now, uint64_t hop,
			      acl_classify_fn fn, void *arg,
			      const struct acl_ct_miss *miss)
{
	uint32_t slot = miss->slot & aw->mask;
	bool fresh = !(aw->slot[slot].flags & F_USED);
	uint8_t state;

	/* A full table needs room made, and an eviction in place may have
	 * put this flow (an earlier packet of the burst) on its probe path
	 * before the slot, which stays free: a TCP flow picked up mid-stream
	 * is born established, not evictable, and the room made for the
	 * second packet held the flow twice (test_ct_model). acl_ct_packet()
	 * walks from the home slot and finds it. */
	if (unlikely(miss->dels != aw->dels ||
		     (!fresh && !acl_ct_expired(&aw->slot[slot], now)) ||
		     (fresh && aw->st.flows >= aw->conf.max_flows)))
		return acl_ct_packet(aw, f, gen, now, hop, fn, arg);
	if (!valid_start(f, &state))
		return ACL_CT_INVALID;
	return ct_create(aw, f, &aw->slot[slot], fresh, false, gen, now,
			 acl_ct_hop(hop & ~ACL_CT_HOP_VIA_HOST),
			 hop & ACL_CT_HOP_VIA_HOST, fn, arg, state);
}

bool acl_flow_may_start(const struct acl_flow *f)
{
	uint8_t state;

	return f->kind == ACL_FLOW_NORMAL && valid_start(f, &state);
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

		if (!(e.flags & F_USED) || acl_ct_expired(&e, now))
			continue;
		orig_pkt(&e, &p);
		snprintf(line, sizeof(line),
			 "proto %u %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u %s %s "
			 "expires_in_s=%u gen=%u%s", p.proto, p.src >> 24,
			 (p.src >> 16) & 0xff, (p.src >> 8) & 0xff, p.src & 0xff,
			 p.sport, p.dst >> 24, (p.dst >> 16) & 0xff,
			 (p.dst >> 8) & 0xff, p.dst & 0xff, p.dport,
			 e.state < RTE_DIM(st_name) && st_name[e.state] ?
				 st_name[e.state] : "?",
			 (e.flags & F_ALLOW) ? "allow" : "deny",
			 (e.expire - (uint32_t)now) / 1000, e.gen,
			 (e.flags & F_VIA_HOST) ? " via_host" : "");
		fn(arg, line);
		n++;
	}
	return n;
}
