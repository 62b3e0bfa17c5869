/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conntrack (acl/ct.c) under random traffic, checked against what the
 * table must keep true. The hand-written cases in test_ct.c each pin one
 * order of events; the pipeline's split of a burst (every packet's hit or
 * lookup first, then the new flows' creations in order, each in the slot
 * its lookup found) meets evictions, deletions and expiries in orders no
 * one writes down. Here small tables (full, collided) take bursts of UDP
 * and TCP packets both ways, the pipeline's way and acl_ct_packet()'s,
 * under a running clock, policy generations and sweeps; after every burst:
 *  - the flow count is the number of used slots, at most max_flows;
 *  - no key is in the table twice;
 *  - every entry is reachable: no free slot between its home and it;
 *  - no live entry left the table but by eviction, and an answered,
 *    allowed, live flow that no packet of the burst touched is still
 *    there (only never-answered flows are evicted);
 *  - a UDP packet got the verdict of its flow under the generation (or,
 *    new, found no room); of a flow answered and allowed under the
 *    generation at the burst's start, it passed;
 *  - an ICMP error about a flow passed exactly when the flow was live and
 *    allowed under the generation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "acl/acl.h"
#include "acl/acl_priv.h"
#include "acl/ct_fast.h"
#include "tutil.h"

#define A 0x0af4010a /* 10.244.1.10 */
#define B 0x0af4020b /* 10.244.2.11 */
#define BURST 32

/* The policy: a function of the flow and the generation, the same for
 * both directions (a re-check classifies the originator's packet). */
static bool allowed(const struct acl_pkt *p, uint32_t gen)
{
	return (p->sport + p->dport + gen) % 5 != 0;
}

static uint32_t cur_gen;

static bool classify(void *arg, const struct acl_pkt *p, bool reversed)
{
	(void)arg;
	(void)reversed;
	return allowed(p, cur_gen);
}

/* An IPv4 packet of flow @p i of the pool: A:(10000 + i) <-> B:53 (UDP)
 * or B:80 (TCP, every third flow), from A when @p orig. */
static uint32_t mk(uint8_t *b, uint32_t i, bool orig, uint8_t tcp_flags)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;
	uint8_t *l4 = b + 20;
	bool tcp = i % 3 == 0;
	uint16_t pa = (uint16_t)(10000 + i), pb = tcp ? 80 : 53;

	memset(b, 0, 40);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(40);
	ip->time_to_live = 64;
	ip->next_proto_id = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(orig ? A : B);
	ip->dst_addr = rte_cpu_to_be_32(orig ? B : A);
	l4[0] = (uint8_t)((orig ? pa : pb) >> 8);
	l4[1] = (uint8_t)(orig ? pa : pb);
	l4[2] = (uint8_t)((orig ? pb : pa) >> 8);
	l4[3] = (uint8_t)(orig ? pb : pa);
	if (tcp)
		l4[13] = tcp_flags;
	return 40;
}

/* An ICMP port unreachable from a router about flow @p i's packet from
 * A (@p orig) or B: to that packet's sender, quoting its header and
 * ports. */
static uint32_t mk_err(uint8_t *b, uint32_t i, bool orig)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;
	uint8_t q[40];

	mk(q, i, orig, 0x10);
	memset(b, 0, 56);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(56);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(0x0af40909); /* 10.244.9.9 */
	ip->dst_addr = rte_cpu_to_be_32(orig ? A : B);
	b[20] = 3; /* destination unreachable */
	b[21] = 3; /* port */
	memcpy(b + 28, q, 28);
	return 56;
}

static const uint8_t tcp_flags[] = {
	0x02, 0x12, 0x10, 0x10, 0x10, 0x11, 0x04, 0x18,
};

static bool key_eq(const struct acl_ct_entry *e, const uint8_t *key)
{
	return memcmp(&e->k, key, sizeof(e->k)) == 0;
}

/* The pool index of entry @p e's flow: its port on A's side (the lower
 * address, so side a), as mk() numbers them; -1 when not one of mk()'s. */
static int flow_of_entry(const struct acl_ct_entry *e, uint32_t pool)
{
	uint32_t i = (uint32_t)e->k.pa - 10000;

	return e->k.a == A && e->k.b == B && i < pool ? (int)i : -1;
}

/* Never evicted (acl/ct.c ct_evictable()) until it expires. */
static bool keeps(const struct acl_ct_entry *e, uint64_t now)
{
	return (e->flags & ACL_CT_F_ALLOW) && !acl_ct_expired(e, now) &&
	       (e->state == ACL_ST_REPLIED || e->state == ACL_ST_SYN_RECV ||
		e->state == ACL_ST_ESTABLISHED || e->state == ACL_ST_CLOSING);
}

/* The table's structure; the failures' count. */
static int check_table(struct acl_worker *aw, const char *ctx)
{
	uint32_t used = 0;
	int bad = 0;

	for (uint32_t s = 0; s <= aw->mask; s++) {
		const struct acl_ct_entry *e = &aw->slot[s];

		if (!(e->flags & ACL_CT_F_USED))
			continue;
		used++;
		uint64_t w[2];

		memcpy(w, &e->k, sizeof(w));
		for (uint32_t j = acl_ct_key_hash(w) & aw->mask; j != s;
		     j = (j + 1) & aw->mask)
			if (!(aw->slot[j].flags & ACL_CT_F_USED)) {
				bad++;
				TU_CHECK(false, "%s: slot %u unreachable (free %u)",
					 ctx, s, j);
				break;
			}
		for (uint32_t j = s + 1; j <= aw->mask; j++)
			if ((aw->slot[j].flags & ACL_CT_F_USED) &&
			    key_eq(&aw->slot[j], (const uint8_t *)&e->k)) {
				bad++;
				TU_CHECK(false, "%s: slots %u and %u hold one key",
					 ctx, s, j);
			}
	}
	if (used != aw->st.flows || used > aw->conf.max_flows) {
		bad++;
		TU_CHECK(false, "%s: %u used, flows %lu, max %u", ctx, used,
			 (unsigned long)aw->st.flows, aw->conf.max_flows);
	}
	return bad;
}

struct pkt {
	uint8_t b[64];
	uint32_t len;
	uint32_t flow;
	bool err;     /* an ICMP error about the flow */
	struct acl_flow f;
	struct acl_ct_miss m;
	enum acl_ct_res r;
	bool kept;    /* its flow must pass (see the file's head) */
	bool decided; /* its result is known after the first phase */
};

/* A flow of the pool as the table holds it. */
struct seen {
	int slot;       /* -1: not in the table */
	uint64_t until; /* its entry's expiry, absolute */
	bool keeps;     /* keeps() */
	bool allow;
	uint32_t gen;
};

/* Every flow of the pool as the table holds it at @p now. Failures
 * counted. */
static int index_table(struct acl_worker *aw, uint32_t pool,
		       struct seen *v, uint64_t now, const char *ctx)
{
	int bad = 0;

	for (uint32_t fl = 0; fl < pool; fl++)
		v[fl] = (struct seen){ .slot = -1 };
	for (uint32_t s = 0; s <= aw->mask; s++) {
		const struct acl_ct_entry *e = &aw->slot[s];

		if (!(e->flags & ACL_CT_F_USED))
			continue;
		int fl = flow_of_entry(e, pool);
		if (fl < 0) {
			bad++;
			TU_CHECK(false, "%s: slot %u: not a flow of the pool",
				 ctx, s);
			continue;
		}
		v[fl] = (struct seen){
			.slot = (int)s,
			.until = now + (uint64_t)(int64_t)(int32_t)
					       (e->expire - (uint32_t)now),
			.keeps = keeps(e, now),
			.allow = e->flags & ACL_CT_F_ALLOW,
			.gen = e->gen,
		};
	}
	return bad;
}

/* One run: @p bursts bursts into a table of @p max flows from a pool of
 * @p pool flows. Returns the failures. */
static int run(unsigned int seed, uint32_t max, uint32_t pool,
	       unsigned int bursts, unsigned long *evicted)
{
	struct acl_ct_conf c;
	struct acl_worker *aw;
	uint64_t now = 1000;
	int bad = 0;
	struct seen *before = calloc(pool, sizeof(*before));
	struct seen *after = calloc(pool, sizeof(*after));
	uint8_t *touched = calloc(pool, 1), *made = calloc(pool, 1);
	char ctx[96];

	acl_ct_conf_default(&c);
	c.max_flows = max;
	c.udp_s = 20;
	c.tcp_transitory_s = 10;
	c.tcp_established_s = 40;
	aw = acl_worker_create(&c, 0);
	if (aw == NULL || before == NULL || after == NULL || touched == NULL ||
	    made == NULL) {
		TU_CHECK(false, "setup");
		return 1;
	}
	/* Keys of the seed (the table is empty): a failure repeats. */
	for (unsigned int i = 0; i < RTE_DIM(acl_ct_hk.k); i++)
		acl_ct_hk.k[i] = (seed * 0x9e3779b9u + i * 0x7f4a7c15u) | 1u;
	acl_ct_hk.seed = seed * 0x85ebca6bu;
	index_table(aw, pool, before, now, "start");
	srand(seed);
	cur_gen = 1;
	for (unsigned int b = 0; b < bursts && bad == 0; b++) {
		struct pkt p[BURST];
		uint32_t n = 1 + (uint32_t)rand() % BURST;
		bool pipe = rand() % 10 < 7;
		uint64_t evicted0 = aw->st.evicted;

		/* Mostly a little later, sometimes past the timeouts. */
		now += (uint64_t)(rand() % 4 ? rand() % 400 : rand() % 6000);
		if (rand() % 50 == 0)
			cur_gen++;
		memset(touched, 0, pool);
		memset(made, 0, pool);
		snprintf(ctx, sizeof(ctx), "seed %u max %u burst %u", seed,
			 max, b);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t fl = (uint32_t)rand() % pool;
			bool orig = rand() % 5 < 3;

			p[i].flow = fl;
			p[i].err = rand() % 10 == 0;
			p[i].len = p[i].err ? mk_err(p[i].b, fl, orig) :
				mk(p[i].b, fl, orig,
				   tcp_flags[rand() % sizeof(tcp_flags)]);
			TU_CHECK(acl_flow_parse(p[i].b, p[i].len, &p[i].f) == 0,
				 "%s: parse", ctx);
			p[i].kept = !touched[fl] && before[fl].keeps &&
				    before[fl].until > now &&
				    aw->slot[before[fl].slot].gen == cur_gen;
			touched[fl] = 1;
			p[i].decided = true;
		}
		if (pipe) {
			/* The pipeline's split: hits and lookups first, then
			 * the new flows created in order, each where its
			 * lookup would put it. */
			for (uint32_t i = 0; i < n; i++) {
				if (acl_ct_hit_entry(aw, &p[i].f, cur_gen, now)) {
					p[i].r = ACL_CT_PASS;
					continue;
				}
				p[i].r = rand() % 2 ?
					acl_ct_lookup_fast(aw, &p[i].f, cur_gen,
							   now, 0, classify, NULL,
							   &p[i].m) :
					acl_ct_lookup(aw, &p[i].f, cur_gen, now,
						      0, classify, NULL, &p[i].m);
				p[i].decided = p[i].r != ACL_CT_MISS;
			}
			for (uint32_t i = 0; i < n; i++)
				if (!p[i].decided)
					p[i].r = acl_ct_create(aw, &p[i].f,
							       cur_gen, now, 0,
							       classify, NULL,
							       &p[i].m);
		} else {
			for (uint32_t i = 0; i < n; i++)
				p[i].r = acl_ct_packet(aw, &p[i].f, cur_gen,
						       now, 0, classify, NULL);
		}
		if (rand() % 8 == 0)
			acl_ct_sweep(aw, now, (uint32_t)rand() % 200);

		bad += check_table(aw, ctx);
		bad += index_table(aw, pool, after, now, ctx);
		/* Entries that left the table live (new ones made by the
		 * burst among them: a packet of a flow without a live entry
		 * that passed or was denied made one) went as evictions. */
		for (uint32_t i = 0; i < n; i++)
			if (!p[i].err &&
			    (p[i].r == ACL_CT_PASS || p[i].r == ACL_CT_DENY) &&
			    !(before[p[i].flow].slot >= 0 &&
			      before[p[i].flow].until > now))
				made[p[i].flow] = 1;
		uint64_t gone = 0;
		for (uint32_t fl = 0; fl < pool; fl++) {
			bool live = before[fl].slot >= 0 &&
				    before[fl].until > now;

			if ((live || made[fl]) && after[fl].slot < 0)
				gone++;
			/* Answered flows the burst left alone: there. */
			if (live && before[fl].keeps && !touched[fl] &&
			    after[fl].slot < 0) {
				bad++;
				TU_CHECK(false, "%s: answered flow %u lost", ctx,
					 fl);
			}
		}
		if (gone > aw->st.evicted - evicted0) {
			bad++;
			TU_CHECK(false, "%s: %lu live entries gone, %lu evicted",
				 ctx, (unsigned long)gone,
				 (unsigned long)(aw->st.evicted - evicted0));
		}
		/* An error is related when its flow was live and allowed
		 * under this generation: checked the pipeline's way (all
		 * lookups before any creation) when no other packet of the
		 * burst is of its flow. */
		for (uint32_t i = 0; pipe && i < n; i++) {
			uint32_t fl = p[i].flow, same = 0;

			if (!p[i].err)
				continue;
			for (uint32_t j = 0; j < n; j++)
				same += p[j].flow == fl;
			bool rel = before[fl].slot >= 0 &&
				   before[fl].until > now && before[fl].allow &&
				   before[fl].gen == cur_gen;
			enum acl_ct_res want = rel ? ACL_CT_PASS :
						     ACL_CT_INVALID;

			if (same == 1 && p[i].r != want) {
				bad++;
				TU_CHECK(false, "%s: error about flow %u: %d, "
					 "not %d", ctx, fl, p[i].r, want);
			}
		}
		for (uint32_t i = 0; i < n; i++) {
			if (p[i].err || p[i].f.pkt.proto != IPPROTO_UDP)
				continue;
			enum acl_ct_res want =
				allowed(&p[i].f.pkt, cur_gen) ? ACL_CT_PASS :
								ACL_CT_DENY;

			if (p[i].r != want &&
			    !(p[i].r == ACL_CT_FULL && !p[i].kept)) {
				bad++;
				TU_CHECK(false, "%s: packet %u of flow %u: %d, not %d",
					 ctx, i, p[i].flow, p[i].r, want);
			}
		}
		struct seen *t = before;

		before = after;
		after = t;
	}
	*evicted += aw->st.evicted;
	acl_worker_free(aw);
	free(before);
	free(after);
	free(touched);
	free(made);
	return bad;
}

int main(void)
{
	/* max_flows -> slots: 8 and 32 -> 64 (the least), 48 -> 128, 200 ->
	 * 512. Pools several times the room: the table is full most of the
	 * time. */
	static const uint32_t max[] = {8, 32, 48, 32, 200};
	static const uint32_t pool[] = {40, 120, 400, 64, 900};
	unsigned long evicted = 0;

	for (unsigned int seed = 1; seed <= 60; seed++) {
		unsigned int k = seed % RTE_DIM(max);

		if (run(seed, max[k], pool[k], 4000, &evicted))
			break;
	}
	TU_CHECK(evicted > 1000, "evictions exercised: %lu", evicted);
	if (tu_failures)
		fprintf(stderr, "%d failure(s)\n", tu_failures);
	else
		printf("conntrack model: all checks passed (%lu evictions)\n",
		       evicted);
	return tu_failures ? 1 : 0;
}
