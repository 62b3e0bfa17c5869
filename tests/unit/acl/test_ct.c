/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Conntrack (acl/ct.c): the TCP state machine, cached verdicts, replies of
 * never-established flows, policy-generation re-checks, ICMP echo and
 * errors, aging with backward-shift deletion, and the full table.
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
#define B 0x0af4010b
#define SYN 0x02
#define ACK 0x10
#define RST 0x04
#define FIN 0x01

/* The fake policy: counts calls, remembers the last packet. */
static int calls;
static bool verdict = true;
static struct acl_pkt last;
static bool last_rev;

static bool classify(void *arg, const struct acl_pkt *p, bool reversed)
{
	(void)arg;
	calls++;
	last = *p;
	last_rev = reversed;
	return verdict;
}

struct pkt {
	uint8_t b[128];
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static struct pkt mk(uint8_t proto, uint32_t src, uint32_t dst, uint16_t sp,
		     uint16_t dp, uint8_t flags)
{
	struct pkt k = { .len = 20 + 20 };
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)k.b;
	uint8_t *l4 = k.b + 20;

	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)k.len);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	if (proto == IPPROTO_ICMP) {
		l4[0] = (uint8_t)sp; /* type */
		l4[1] = 0;
		put16(l4 + 4, dp);   /* id */
	} else {
		put16(l4, sp);
		put16(l4 + 2, dp);
		l4[13] = flags;
	}
	return k;
}

/* An ICMP error from @p from quoting @p q (a packet sent to @p from). */
static struct pkt icmp_err(uint32_t from, const struct pkt *q)
{
	const struct rte_ipv4_hdr *qi = (const struct rte_ipv4_hdr *)q->b;
	struct pkt k = mk(IPPROTO_ICMP, from, rte_be_to_cpu_32(qi->src_addr),
			  3, 0, 0);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)k.b;

	memset(k.b + 24, 0, 4);
	memcpy(k.b + 28, q->b, 28);
	k.len = 20 + 8 + 28;
	ip->total_length = rte_cpu_to_be_16((uint16_t)k.len);
	return k;
}

/* Whether run() takes the pipeline's way (main() runs the tests both
 * ways): acl_ct_lookup_fast(), then acl_ct_create() on a miss. */
static bool via_lookup;

static enum acl_ct_res run(struct acl_worker *aw, struct pkt k, uint32_t gen,
			   uint64_t now)
{
	struct acl_flow f;
	struct acl_ct_miss m;

	if (acl_flow_parse(k.b, k.len, &f))
		return ACL_CT_INVALID;
	if (!via_lookup)
		return acl_ct_packet(aw, &f, gen, now, ACL_CT_HOP_NONE,
				     classify, NULL);
	if (acl_ct_hit_entry(aw, &f, gen, now) != NULL)
		return ACL_CT_PASS;
	enum acl_ct_res r = acl_ct_lookup_fast(aw, &f, gen, now,
					       ACL_CT_HOP_NONE, classify,
					       NULL, &m);

	return r != ACL_CT_MISS ? r :
		acl_ct_create(aw, &f, gen, now, ACL_CT_HOP_NONE, classify,
			      NULL, &m);
}

static void dump_line(void *arg, const char *line)
{
	snprintf(arg, 160, "%s", line);
}

static const char *state_of(struct acl_worker *aw, uint64_t now)
{
	static char line[160];

	line[0] = '\0';
	acl_ct_dump(0, 1, now, dump_line, line);
	return line;
}

static struct acl_worker *fresh(uint32_t max)
{
	struct acl_ct_conf c;

	acl_ct_conf_default(&c);
	c.max_flows = max;
	c.udp_s = 60;
	c.tcp_transitory_s = 10;
	c.tcp_close_s = 3;
	calls = 0;
	verdict = true;
	return acl_worker_create(&c, 0);
}

static void test_tcp(void)
{
	struct acl_worker *aw = fresh(1024);
	uint64_t t = 1000;

	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN | ACK), 1, t) == ACL_CT_INVALID,
		 "SYN-ACK without a flow is invalid");
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, RST), 1, t) == ACL_CT_INVALID,
		 "RST without a flow is invalid");
	TU_CHECK(calls == 0, "invalid packets are not classified");
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, SYN), 1, t) == ACL_CT_PASS &&
		 calls == 1, "SYN classified once");
	TU_CHECK(last.src == A && last.dport == 80 && !last_rev, "as sent");
	TU_CHECK(strstr(state_of(aw, t), "SYN_SENT"), "%s", state_of(aw, t));
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN | ACK), 1, t) == ACL_CT_PASS,
		 "SYN-ACK of a tracked flow passes");
	TU_CHECK(strstr(state_of(aw, t), "SYN_RECV"), "%s", state_of(aw, t));
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, ACK), 1, t) == ACL_CT_PASS, "ACK");
	TU_CHECK(strstr(state_of(aw, t), "ESTABLISHED"), "%s", state_of(aw, t));
	TU_CHECK(strstr(state_of(aw, t), "expires_in_s=3600"), "%s",
		 state_of(aw, t));
	for (int i = 0; i < 5; i++)
		TU_CHECK(run(aw, mk(6, i & 1 ? B : A, i & 1 ? A : B,
				    i & 1 ? 80 : 40000, i & 1 ? 40000 : 80,
				    ACK), 1, t) == ACL_CT_PASS, "data");
	TU_CHECK(calls == 1, "established flow not re-classified (%d)", calls);
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, FIN | ACK), 1, t) == ACL_CT_PASS,
		 "FIN");
	TU_CHECK(strstr(state_of(aw, t), "CLOSING") &&
		 strstr(state_of(aw, t), "expires_in_s=10"), "%s",
		 state_of(aw, t));
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, RST), 1, t) == ACL_CT_PASS, "RST");
	/* Linux keeps CLOSE 10 s, not the transitory states' timeout. */
	TU_CHECK(strstr(state_of(aw, t), "CLOSED") &&
		 strstr(state_of(aw, t), "expires_in_s=3 "), "%s",
		 state_of(aw, t));
	/* Port reuse: a new SYN reopens, and is checked again. */
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, SYN), 1, t) == ACL_CT_PASS &&
		 calls == 2, "SYN on a closed flow re-classified");
	TU_CHECK(strstr(state_of(aw, t), "SYN_SENT"), "%s", state_of(aw, t));
	acl_worker_free(aw);
}

/*
 * A SYN from the responder's side (B:80 -> A:40000) once A's connection
 * to B:80 is over. Linux: in CLOSE (after RST) it is invalid; in
 * TIME_WAIT (after FINs) the entry is killed and the SYN is a NEW flow,
 * through policy in its own direction. Before, both passed as replies:
 * B opened a connection into A without A's ingress policy. On a live
 * flow a SYN retransmit and a simultaneous open still pass.
 */
static void test_tcp_reverse_syn(void)
{
	struct acl_worker *aw = fresh(1024);
	uint64_t t = 1000;

	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, SYN), 1, t) == ACL_CT_PASS &&
		 run(aw, mk(6, A, B, 40000, 80, SYN), 1, t) == ACL_CT_PASS &&
		 calls == 1, "SYN retransmit passes, classified once");
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN), 1, t) == ACL_CT_PASS &&
		 calls == 1, "simultaneous open: B's SYN passes");
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN | ACK), 1, t) ==
		 ACL_CT_PASS && run(aw, mk(6, A, B, 40000, 80, ACK), 1, t) ==
		 ACL_CT_PASS, "handshake");
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, RST | ACK), 1, t) ==
		 ACL_CT_PASS && strstr(state_of(aw, t), "CLOSED"), "RST: %s",
		 state_of(aw, t));
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN), 1, t) == ACL_CT_INVALID &&
		 calls == 1, "B's SYN after RST is invalid (%d calls)", calls);
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN), 2, t) == ACL_CT_INVALID,
		 "and under a new generation, once re-checked");
	acl_worker_free(aw);

	aw = fresh(1024);
	run(aw, mk(6, A, B, 40000, 80, SYN), 1, t);
	run(aw, mk(6, B, A, 80, 40000, SYN | ACK), 1, t);
	run(aw, mk(6, A, B, 40000, 80, ACK), 1, t);
	run(aw, mk(6, A, B, 40000, 80, FIN | ACK), 1, t);
	run(aw, mk(6, B, A, 80, 40000, FIN | ACK), 1, t);
	run(aw, mk(6, A, B, 40000, 80, ACK), 1, t);
	TU_CHECK(strstr(state_of(aw, t), "CLOSING") && calls == 1, "%s",
		 state_of(aw, t));
	/* B's policy says no: a new flow from B, denied. */
	verdict = false;
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN), 1, t) == ACL_CT_DENY &&
		 calls == 2 && last.src == B && last.sport == 80 &&
		 last.dport == 40000 && !last_rev,
		 "B's SYN after FINs classified as B's own flow (%d calls)",
		 calls);
	TU_CHECK(run(aw, mk(6, A, B, 40000, 80, SYN | ACK), 1, t) ==
		 ACL_CT_INVALID, "no SYN-ACK to a denied SYN");
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, ACK), 1, t) == ACL_CT_DENY,
		 "nor its ACK");
	acl_worker_free(aw);

	/* Allowed: B's new connection, B its originator. */
	aw = fresh(1024);
	run(aw, mk(6, A, B, 40000, 80, SYN), 1, t);
	run(aw, mk(6, B, A, 80, 40000, FIN | ACK), 1, t);
	TU_CHECK(run(aw, mk(6, B, A, 80, 40000, SYN), 1, t) == ACL_CT_PASS &&
		 calls == 2 && strstr(state_of(aw, t), "SYN_SENT") &&
		 strstr(state_of(aw, t), "10.244.1.11:80 -> 10.244.1.10:40000"),
		 "B's SYN after a FIN opens B's flow: %s", state_of(aw, t));
	acl_worker_free(aw);
}

static void test_deny(void)
{
	struct acl_worker *aw = fresh(1024);
	uint64_t t = 5;

	verdict = false;
	TU_CHECK(run(aw, mk(6, A, B, 40001, 80, SYN), 1, t) == ACL_CT_DENY, "deny");
	TU_CHECK(run(aw, mk(6, A, B, 40001, 80, SYN), 1, t) == ACL_CT_DENY &&
		 calls == 1, "denial cached (%d calls)", calls);
	TU_CHECK(run(aw, mk(6, B, A, 80, 40001, SYN | ACK), 1, t) ==
		 ACL_CT_INVALID, "reply of a never-established flow dropped");
	/* UDP: the responder's packet is a new flow the other way. */
	TU_CHECK(run(aw, mk(17, A, B, 5000, 53, 0), 1, t) == ACL_CT_DENY, "udp");
	verdict = true;
	calls = 0;
	TU_CHECK(run(aw, mk(17, B, A, 53, 5000, 0), 1, t) == ACL_CT_PASS &&
		 calls == 1 && last.src == B && !last_rev,
		 "reverse UDP checked as its own flow");
	TU_CHECK(run(aw, mk(17, A, B, 5000, 53, 0), 1, t) == ACL_CT_PASS &&
		 calls == 1, "A's packets are now replies of B's flow");
	acl_worker_free(aw);
}

static void test_generation(void)
{
	struct acl_worker *aw = fresh(1024);

	run(aw, mk(6, A, B, 40002, 80, SYN), 1, 0);
	run(aw, mk(6, B, A, 80, 40002, SYN | ACK), 1, 0);
	run(aw, mk(6, A, B, 40002, 80, ACK), 1, 0);
	verdict = false;
	TU_CHECK(run(aw, mk(6, B, A, 80, 40002, ACK), 1, 0) == ACL_CT_PASS,
		 "same generation: cached");
	TU_CHECK(run(aw, mk(6, B, A, 80, 40002, ACK), 2, 0) == ACL_CT_DENY &&
		 calls == 2, "new generation: re-checked and denied");
	TU_CHECK(last.src == A && last.sport == 40002 && last.dport == 80 &&
		 last_rev, "re-checked in the original direction");
	TU_CHECK(run(aw, mk(6, A, B, 40002, 80, ACK), 2, 0) == ACL_CT_DENY &&
		 calls == 2, "and stays denied");
	verdict = true;
	TU_CHECK(run(aw, mk(6, A, B, 40002, 80, ACK), 3, 0) == ACL_CT_PASS &&
		 calls == 3, "allowed again under generation 3");
	struct acl_ct_stats st;
	acl_worker_stats(0, &st);
	TU_CHECK(st.reclassified == 2, "reclassified %lu",
		 (unsigned long)st.reclassified);
	acl_worker_free(aw);
}

static void test_icmp(void)
{
	struct acl_worker *aw = fresh(1024);
	struct pkt udp = mk(17, A, B, 6000, 53, 0);

	TU_CHECK(run(aw, mk(1, B, A, 0, 7, 0), 1, 0) == ACL_CT_INVALID,
		 "echo reply without request");
	TU_CHECK(run(aw, mk(1, A, B, 8, 7, 0), 1, 0) == ACL_CT_PASS, "echo");
	TU_CHECK(run(aw, mk(1, B, A, 0, 7, 0), 1, 0) == ACL_CT_PASS &&
		 calls == 1, "echo reply matched by id");
	TU_CHECK(run(aw, mk(1, B, A, 0, 8, 0), 1, 0) == ACL_CT_INVALID,
		 "echo reply with another id");
	/* Only a query's request opens a flow (Linux's valid_new[]): an
	 * unsolicited timestamp reply (14) or a router advertisement (9)
	 * is invalid, never classified. */
	int c1 = calls;
	TU_CHECK(run(aw, mk(1, A, B, 14, 9, 0), 1, 0) == ACL_CT_INVALID &&
		 run(aw, mk(1, A, B, 9, 0, 0), 1, 0) == ACL_CT_INVALID &&
		 run(aw, mk(1, A, B, 18, 3, 0), 1, 0) == ACL_CT_INVALID &&
		 calls == c1, "ICMP types that cannot open a flow");
	for (uint8_t ty = 13; ty <= 17; ty += 2)
		TU_CHECK(run(aw, mk(1, A, B + ty, ty, 100, 0), 1, 0) ==
			 ACL_CT_PASS &&
			 calls == ++c1, "query request %u opens a flow", ty);
	TU_CHECK(run(aw, icmp_err(B, &udp), 1, 0) == ACL_CT_INVALID,
		 "error about an unknown flow");
	run(aw, udp, 1, 0);
	TU_CHECK(run(aw, icmp_err(B, &udp), 1, 0) == ACL_CT_PASS,
		 "error about a tracked flow is related");
	/* The same error sent to a third host (B + 1), not to the quoted
	 * packet's sender: Linux's nf_conntrack_inet_error() finds it
	 * invalid, and it must not pass the third host's policy as
	 * related. Nor an error to the flow's other end. */
	struct pkt misdir = icmp_err(B, &udp), back = icmp_err(A, &udp);
	struct rte_ipv4_hdr *mip = (struct rte_ipv4_hdr *)misdir.b;
	struct rte_ipv4_hdr *bip = (struct rte_ipv4_hdr *)back.b;

	mip->dst_addr = rte_cpu_to_be_32(B + 1);
	bip->dst_addr = rte_cpu_to_be_32(B);
	TU_CHECK(run(aw, misdir, 1, 0) == ACL_CT_INVALID,
		 "error about a tracked flow to a third host");
	TU_CHECK(run(aw, back, 1, 0) == ACL_CT_INVALID,
		 "error about a tracked flow to the quoted packet's receiver");
	/* Under a policy not yet applied to the flow (no packet of it
	 * since), its errors are not related: the new policy may cut it. */
	int c0 = calls;
	TU_CHECK(run(aw, icmp_err(B, &udp), 2, 0) == ACL_CT_INVALID &&
		 calls == c0, "error under another generation");
	TU_CHECK(run(aw, udp, 2, 0) == ACL_CT_PASS && calls == c0 + 1 &&
		 run(aw, icmp_err(B, &udp), 2, 0) == ACL_CT_PASS,
		 "related again once the flow was checked");
	verdict = false;
	TU_CHECK(run(aw, udp, 3, 0) == ACL_CT_DENY &&
		 run(aw, icmp_err(B, &udp), 3, 0) == ACL_CT_INVALID,
		 "not related to a flow the policy cut");
	verdict = true;
	struct pkt trunc = mk(6, A, B, 1, 2, SYN);
	trunc.len = 30;
	TU_CHECK(run(aw, trunc, 1, 0) == ACL_CT_INVALID, "truncated TCP");
	acl_worker_free(aw);
}

/*
 * ICMP queries are keyed on the request's type and its sender's side as
 * well as the id (Linux keys them on type, code and id, the reply tuple
 * holding the reply's type): A pings B with id 7; B's own echo request
 * with id 7 is no reply but B's new flow, checked by policy; only the
 * matching reply type from B passes on A's flow.
 */
static void test_icmp_query(void)
{
	struct acl_worker *aw = fresh(1024);
	struct pkt ping = mk(1, A, B, 8, 7, 0);

	TU_CHECK(run(aw, ping, 1, 0) == ACL_CT_PASS && calls == 1, "A's ping");
	verdict = false;
	TU_CHECK(run(aw, mk(1, B, A, 8, 7, 0), 1, 0) == ACL_CT_DENY &&
		 calls == 2 && last.src == B && last.icmp_type == 8 &&
		 !last_rev, "B's echo request, same id: B's own flow (%d)",
		 calls);
	TU_CHECK(run(aw, mk(1, B, A, 0, 7, 0), 1, 0) == ACL_CT_PASS &&
		 calls == 2, "B's echo reply still passes on A's flow");
	TU_CHECK(run(aw, mk(1, A, B, 0, 7, 0), 1, 0) == ACL_CT_INVALID &&
		 calls == 2, "A's reply to B's denied request: none passed");
	TU_CHECK(run(aw, mk(1, B, A, 14, 7, 0), 1, 0) == ACL_CT_INVALID &&
		 run(aw, mk(1, B, A, 16, 7, 0), 1, 0) == ACL_CT_INVALID &&
		 calls == 2, "another query's reply from B: invalid");
	TU_CHECK(run(aw, mk(1, A, B, 13, 7, 0), 1, 0) == ACL_CT_DENY &&
		 calls == 3 && last.icmp_type == 13,
		 "A's timestamp request, same id: a flow of its own");
	verdict = true;
	TU_CHECK(run(aw, mk(1, B, A, 17, 7, 0), 1, 0) == ACL_CT_PASS &&
		 calls == 4 && run(aw, mk(1, A, B, 18, 7, 0), 1, 0) ==
		 ACL_CT_PASS && calls == 4,
		 "B's address mask request and A's reply");
	TU_CHECK(run(aw, icmp_err(B, &ping), 1, 0) == ACL_CT_PASS,
		 "an error about A's ping is related to it");
	/* A host that pings itself: its reply is its request's. */
	TU_CHECK(run(aw, mk(1, A, A, 8, 9, 0), 1, 0) == ACL_CT_PASS &&
		 calls == 5 && run(aw, mk(1, A, A, 0, 9, 0), 1, 0) ==
		 ACL_CT_PASS && calls == 5, "ping to itself");
	acl_worker_free(aw);
}

static void test_aging_and_full(void)
{
	struct acl_worker *aw = fresh(2000);
	struct acl_ct_stats st;
	int n = 1500;

	/* Two batches, 30 s apart; the first expires at 60 s. */
	for (int i = 0; i < n; i++)
		run(aw, mk(17, A + (uint32_t)i, B, 1000, 53, 0), 1, 0);
	for (int i = 0; i < n / 3; i++)
		run(aw, mk(17, A + (uint32_t)i, B, 2000, 53, 0), 1, 30000);
	acl_worker_stats(0, &st);
	TU_CHECK(st.flows == (uint64_t)(n + n / 3), "flows %lu",
		 (unsigned long)st.flows);
	TU_CHECK(run(aw, mk(17, B, A + 7, 53, 1000, 0), 1, 59999) == ACL_CT_PASS,
		 "still tracked at 59.999 s");
	acl_ct_sweep(aw, 60001, 1u << 22);
	acl_worker_stats(0, &st);
	/* Flow A+7:1000 was refreshed at 59.999 s and survives. */
	TU_CHECK(st.flows == (uint64_t)(n / 3 + 1) && st.expired == (uint64_t)n - 1,
		 "after sweep: flows %lu expired %lu", (unsigned long)st.flows,
		 (unsigned long)st.expired);
	calls = 0;
	for (int i = 0; i < n / 3; i++)
		TU_CHECK(run(aw, mk(17, B, A + (uint32_t)i, 53, 2000, 0), 1,
			     60001) == ACL_CT_PASS, "second batch %d", i);
	TU_CHECK(calls == 0, "second batch still tracked after deletions (%d)",
		 calls);
	TU_CHECK(run(aw, mk(17, B, A + 9, 53, 1000, 0), 1, 60001) == ACL_CT_PASS &&
		 calls == 1, "expired flow starts afresh");
	acl_worker_free(aw);

	/* Full: 4 answered flows fit; the fifth is refused until one
	 * expires (answered flows are never evicted). */
	aw = fresh(4);
	for (int i = 0; i < 4; i++) {
		TU_CHECK(run(aw, mk(17, A, B, (uint16_t)(100 + i), 53, 0), 1, 0) ==
			 ACL_CT_PASS, "flow %d", i);
		TU_CHECK(run(aw, mk(17, B, A, 53, (uint16_t)(100 + i), 0), 1, 0) ==
			 ACL_CT_PASS, "answer %d", i);
	}
	TU_CHECK(run(aw, mk(17, A, B, 200, 53, 0), 1, 0) == ACL_CT_FULL, "full");
	TU_CHECK(run(aw, mk(17, B, A, 53, 100, 0), 1, 0) == ACL_CT_PASS,
		 "existing flows unaffected");
	acl_worker_stats(0, &st);
	TU_CHECK(st.full == 1 && st.evicted == 0, "full counted, none evicted");
	TU_CHECK(run(aw, mk(17, A, B, 200, 53, 0), 1, 61000) == ACL_CT_PASS,
		 "expired slot reused");
	acl_worker_free(aw);
}

/*
 * A full table of answered and unanswered flows: new flows evict
 * unanswered ones (UDP never answered, TCP SYN_SENT), never an answered
 * one, and the count stays at max_flows.
 */
static void test_full_evict(void)
{
	enum { MAX = 1000, NEW = 200 };
	struct acl_worker *aw = fresh(MAX);
	struct acl_ct_stats st;
	int passed = 0, full = 0;

	/* i % 4: 0 UDP answered, 1 UDP unanswered, 2 TCP SYN_SENT,
	 * 3 TCP ESTABLISHED. */
	for (int i = 0; i < MAX; i++) {
		uint16_t sp = (uint16_t)(1000 + i);

		if (i % 4 < 2) {
			TU_CHECK(run(aw, mk(17, A, B, sp, 53, 0), 1, 0) ==
				 ACL_CT_PASS, "udp %d", i);
			if (i % 4 == 0)
				TU_CHECK(run(aw, mk(17, B, A, 53, sp, 0), 1, 0) ==
					 ACL_CT_PASS, "udp answer %d", i);
			continue;
		}
		TU_CHECK(run(aw, mk(6, A, B, sp, 80, SYN), 1, 0) == ACL_CT_PASS,
			 "syn %d", i);
		if (i % 4 == 3) {
			TU_CHECK(run(aw, mk(6, B, A, 80, sp, SYN | ACK), 1, 0) ==
				 ACL_CT_PASS, "syn-ack %d", i);
			TU_CHECK(run(aw, mk(6, A, B, sp, 80, ACK), 1, 0) ==
				 ACL_CT_PASS, "ack %d", i);
		}
	}
	for (int i = 0; i < NEW; i++) {
		enum acl_ct_res r = run(aw, mk(17, B, A, (uint16_t)(5000 + i),
					       (uint16_t)(6000 + i), 0), 1, 1);

		TU_CHECK(r == ACL_CT_PASS || r == ACL_CT_FULL, "new %d: %d", i, r);
		passed += r == ACL_CT_PASS;
		full += r == ACL_CT_FULL;
		if (r != ACL_CT_PASS)
			continue;
		/* Its answer finds it (an entry put where its lookup does
		 * not reach would be classified as a new flow). */
		int c0 = calls;

		TU_CHECK(run(aw, mk(17, A, B, (uint16_t)(6000 + i),
				    (uint16_t)(5000 + i), 0), 1, 1) == ACL_CT_PASS &&
			 calls == c0, "new flow %d found", i);
	}
	acl_worker_stats(0, &st);
	TU_CHECK(st.evicted == (uint64_t)passed && st.full == (uint64_t)full &&
		 st.flows == MAX, "evicted %lu (passed %d) full %lu flows %lu",
		 (unsigned long)st.evicted, passed, (unsigned long)st.full,
		 (unsigned long)st.flows);
	/* Half the slots hold an entry, fewer and fewer of them evictable
	 * (new flows are answered): 16 slots from a home held one for 170 to
	 * 191 of the 200 new flows in 40 runs. */
	TU_CHECK(passed >= NEW * 7 / 10, "only %d of %d new flows found room",
		 passed, NEW);
	calls = 0;
	for (int i = 0; i < MAX; i++) {
		uint16_t sp = (uint16_t)(1000 + i);

		if (i % 4 == 0)
			TU_CHECK(run(aw, mk(17, A, B, sp, 53, 0), 1, 2) ==
				 ACL_CT_PASS, "answered udp %d kept", i);
		else if (i % 4 == 3)
			TU_CHECK(run(aw, mk(6, B, A, 80, sp, ACK), 1, 2) ==
				 ACL_CT_PASS, "established tcp %d kept", i);
	}
	TU_CHECK(calls == 0, "answered flows were evicted (%d re-classified)",
		 calls);
	acl_worker_free(aw);

	/* A small table of long clusters, victims on the new flow's probe
	 * path (replaced in place) and past its free slot (deleted): the
	 * flow lands where its lookup finds it. */
	aw = fresh(32);
	passed = 0;
	for (int i = 0; i < 32; i++)
		run(aw, mk(17, A, B, (uint16_t)(1000 + i), 53, 0), 1, 0);
	for (int i = 0; i < 500; i++) {
		uint16_t sp = (uint16_t)(2000 + i);

		calls = 0;
		if (run(aw, mk(17, A, B, sp, 53, 0), 1, 1) != ACL_CT_PASS)
			continue;
		passed++;
		TU_CHECK(run(aw, mk(17, A, B, sp, 53, 0), 1, 1) == ACL_CT_PASS &&
			 calls == 1, "small table: flow %d created once", i);
	}
	TU_CHECK(passed >= 450, "small table: %d of 500 found room", passed);
	acl_worker_free(aw);
}

static struct acl_flow flow_of(struct pkt k)
{
	struct acl_flow f;

	TU_CHECK(acl_flow_parse_fast(k.b, k.len, &f) == 0, "parse");
	return f;
}

/* The pipeline's split of acl_ct_packet(): acl_ct_hit() for established
 * flows, acl_ct_lookup() for packets of tracked flows, ACL_CT_MISS (nothing
 * changed) for the rest. */
/* acl_ct_lookup() alone, under generation 1. */
static enum acl_ct_res lookup(struct acl_worker *aw, const struct acl_flow *f,
			      uint64_t t)
{
	return acl_ct_lookup(aw, f, 1, t, ACL_CT_HOP_NONE, classify, NULL,
			     NULL);
}

static void test_lookup(void)
{
	struct acl_worker *aw = fresh(1024);
	uint64_t t = 1000;
	struct acl_flow syn = flow_of(mk(6, A, B, 40000, 80, SYN));
	struct acl_flow synack = flow_of(mk(6, B, A, 80, 40000, SYN | ACK));
	struct acl_flow ack = flow_of(mk(6, A, B, 40000, 80, ACK));
	struct acl_flow fin = flow_of(mk(6, A, B, 40000, 80, FIN | ACK));

	TU_CHECK(acl_flow_may_start(&syn) && !acl_flow_may_start(&synack),
		 "SYN may start a flow, SYN-ACK may not");
	TU_CHECK(lookup(aw, &syn, t) ==
		 ACL_CT_MISS && calls == 0 && state_of(aw, t)[0] == '\0',
		 "a new flow misses, unclassified, no entry made");
	TU_CHECK(lookup(aw, &synack, t) ==
		 ACL_CT_MISS, "an invalid packet misses too (decided later)");
	TU_CHECK(!acl_ct_hit(aw, &syn, 1, t), "no hit without an entry");
	TU_CHECK(acl_ct_packet(aw, &syn, 1, t, ACL_CT_HOP_NONE, classify, NULL) == ACL_CT_PASS &&
		 calls == 1, "then created");
	TU_CHECK(lookup(aw, &synack, t) ==
		 ACL_CT_PASS && strstr(state_of(aw, t), "SYN_RECV"),
		 "a reply is decided by the entry: %s", state_of(aw, t));
	TU_CHECK(!acl_ct_hit(aw, &ack, 1, t),
		 "no fast hit before ESTABLISHED");
	TU_CHECK(lookup(aw, &ack, t) == ACL_CT_PASS &&
		 strstr(state_of(aw, t), "ESTABLISHED"), "%s", state_of(aw, t));
	TU_CHECK(acl_ct_hit(aw, &ack, 1, t + 5), "established: fast hit");
	TU_CHECK(!acl_ct_hit(aw, &ack, 2, t + 5),
		 "another policy generation: no fast hit");
	TU_CHECK(!acl_ct_hit(aw, &fin, 1, t + 5), "FIN: no fast hit");
	TU_CHECK(calls == 1, "classified once");
	acl_worker_free(aw);

	aw = fresh(1024);
	verdict = false;
	TU_CHECK(acl_ct_packet(aw, &syn, 1, t, ACL_CT_HOP_NONE, classify, NULL) == ACL_CT_DENY,
		 "denied flow");
	TU_CHECK(!acl_ct_hit(aw, &syn, 1, t) &&
		 lookup(aw, &syn, t) == ACL_CT_DENY &&
		 calls == 1, "its next packet: denied by the entry");
	acl_worker_free(aw);
}

/*
 * The fast hit finds a flow that linear probing put past its home slot
 * (it took only the home slot: a quarter of the flows of a half-full
 * table went through the slow path on every packet), refreshes that
 * entry, and still misses flows that are not there.
 */
static void test_hit_probe(void)
{
	enum { N = 2000 };
	struct acl_worker *aw = fresh(2048); /* 4096 slots */
	uint64_t t = 1000;
	int displaced = 0;

	for (int i = 0; i < N; i++)
		TU_CHECK(run(aw, mk(17, A, B, (uint16_t)(1000 + i), 53, 0), 1, t) ==
			 ACL_CT_PASS, "flow %d", i);
	calls = 0;
	for (int i = 0; i < N; i++) {
		struct acl_flow f = flow_of(mk(17, A, B, (uint16_t)(1000 + i), 53, 0));
		struct acl_ct_entry *e = acl_ct_hit_entry(aw, &f, 1, t + 7);

		TU_CHECK(e != NULL && e->expire == (uint32_t)(t + 7) + 60000,
			 "flow %d: fast hit, refreshed", i);
		displaced += e != NULL && e != &aw->slot[f.hash & aw->mask];
		f = flow_of(mk(17, A, B, (uint16_t)(1000 + i), 54, 0));
		TU_CHECK(acl_ct_hit_entry(aw, &f, 1, t + 7) == NULL,
			 "absent flow %d: no hit", i);
	}
	/* About one flow in four at half load; a few hundred at least. */
	TU_CHECK(displaced > N / 10, "only %d flows past their home slot",
		 displaced);
	TU_CHECK(calls == 0, "no classification");
	acl_worker_free(aw);
}

/*
 * acl_ct_create() from acl_ct_lookup()'s miss, as the pipeline runs a
 * burst: every lookup first, then the creations in order. The slot a
 * lookup found is taken only while it is still the flow's to take.
 */
static enum acl_ct_res look(struct acl_worker *aw, const struct acl_flow *f,
			    uint64_t t, struct acl_ct_miss *m)
{
	return acl_ct_lookup_fast(aw, f, 1, t, ACL_CT_HOP_NONE, classify,
				  NULL, m);
}

static enum acl_ct_res create(struct acl_worker *aw, const struct acl_flow *f,
			      uint64_t t, const struct acl_ct_miss *m)
{
	return acl_ct_create(aw, f, 1, t, ACL_CT_HOP_NONE, classify, NULL, m);
}

/* A UDP flow A:sp -> B:53 whose home slot is @p home, from *@p sp on. */
static struct acl_flow at_home(struct acl_worker *aw, uint32_t home,
			       uint16_t *sp)
{
	for (;;) {
		struct acl_flow f = flow_of(mk(17, A, B, (*sp)++, 53, 0));

		if ((f.hash & aw->mask) == home)
			return f;
	}
}

/* The answer to @p f (A:sp -> B:53) is decided by an entry: found. */
static bool found(struct acl_worker *aw, const struct acl_flow *f, uint64_t t)
{
	struct acl_flow r = flow_of(mk(17, B, A, 53, f->pkt.sport, 0));
	int c0 = calls;

	return acl_ct_lookup(aw, &r, 1, t, ACL_CT_HOP_NONE, classify, NULL,
			     NULL) == ACL_CT_PASS && calls == c0;
}

/* Answered UDP flows (not evictable), live until @p t + udp_s. */
static void answered(struct acl_worker *aw, const struct acl_flow *f,
		     uint64_t t)
{
	TU_CHECK(run(aw, mk(17, A, B, f->pkt.sport, 53, 0), 1, t) ==
		 ACL_CT_PASS && run(aw, mk(17, B, A, 53, f->pkt.sport, 0), 1,
				    t) == ACL_CT_PASS,
		 "answered flow %u", f->pkt.sport);
}

static void test_create(void)
{
	struct acl_worker *aw = fresh(32); /* 64 slots */
	struct acl_ct_stats st;
	struct acl_ct_miss m1, m2;
	uint64_t t = 61000;
	uint16_t sp = 1000;

	/* Two packets of one new flow in a burst: the second finds the
	 * entry the first made. */
	struct acl_flow f = flow_of(mk(17, A, B, 999, 53, 0));
	TU_CHECK(look(aw, &f, t, &m1) == ACL_CT_MISS &&
		 look(aw, &f, t, &m2) == ACL_CT_MISS && m1.slot == m2.slot &&
		 m1.slot == (f.hash & aw->mask), "both miss, at the home slot");
	TU_CHECK(create(aw, &f, t, &m1) == ACL_CT_PASS &&
		 create(aw, &f, t, &m2) == ACL_CT_PASS, "both pass");
	acl_worker_stats(0, &st);
	TU_CHECK(st.created == 1 && st.flows == 1 && calls == 1,
		 "one entry, classified once: created %lu flows %lu calls %d",
		 (unsigned long)st.created, (unsigned long)st.flows, calls);
	acl_worker_free(aw);

	/* Two new flows of one home slot: the second goes past the first. */
	aw = fresh(32);
	struct acl_flow x = at_home(aw, 7, &sp), y = at_home(aw, 7, &sp);
	TU_CHECK(look(aw, &x, t, &m1) == ACL_CT_MISS &&
		 look(aw, &y, t, &m2) == ACL_CT_MISS && m1.slot == 7 &&
		 m2.slot == 7, "both miss at slot 7: %u %u", m1.slot, m2.slot);
	TU_CHECK(create(aw, &x, t, &m1) == ACL_CT_PASS &&
		 create(aw, &y, t, &m2) == ACL_CT_PASS, "both pass");
	TU_CHECK(found(aw, &x, t) && found(aw, &y, t) &&
		 aw->slot[8].flags & ACL_CT_F_USED, "both found, y in slot 8");
	acl_worker_free(aw);

	/*
	 * A deletion between a lookup and its creation. A full table (32
	 * flows), from slot b: L1 L2 (answered, homes b and b + 1), free,
	 * X (home b + 3, unanswered: evictable), Z (home b + 4, answered),
	 * E (home b + 5, expired), free. New flow a (home b + 3) misses,
	 * its slot E's; then new flow w (home b) finds no free room and
	 * evicts X, which leaves b + 3 free: a's entry in E's slot would be
	 * past a free slot, where no lookup of a reaches.
	 */
	const uint32_t b = 20;
	aw = fresh(32);
	sp = 1000;
	struct acl_flow l1 = at_home(aw, b, &sp), l2 = at_home(aw, b + 1, &sp);
	struct acl_flow fx = at_home(aw, b + 3, &sp), z = at_home(aw, b + 4, &sp);
	struct acl_flow fe = at_home(aw, b + 5, &sp), a = at_home(aw, b + 3, &sp);
	struct acl_flow w = at_home(aw, b, &sp);
	TU_CHECK(run(aw, mk(17, A, B, fe.pkt.sport, 53, 0), 1, 0) ==
		 ACL_CT_PASS, "E"); /* expires at 60000 */
	answered(aw, &l1, t);
	answered(aw, &l2, t);
	TU_CHECK(run(aw, mk(17, A, B, fx.pkt.sport, 53, 0), 1, t) ==
		 ACL_CT_PASS, "X");
	answered(aw, &z, t);
	/* Fill up with answered flows at their homes, away from b. */
	for (uint32_t h = b + 8; aw->st.flows < 32; h++) {
		struct acl_flow g = at_home(aw, h & aw->mask, &sp);

		answered(aw, &g, t);
	}
	TU_CHECK(look(aw, &a, t, &m1) == ACL_CT_MISS && m1.slot == b + 5,
		 "a misses, E's slot: %u", m1.slot);
	TU_CHECK(look(aw, &w, t, &m2) == ACL_CT_MISS &&
		 create(aw, &w, t, &m2) == ACL_CT_PASS && found(aw, &w, t),
		 "w evicts X");
	TU_CHECK(!(aw->slot[b + 3].flags & ACL_CT_F_USED), "b + 3 free");
	TU_CHECK(create(aw, &a, t, &m1) == ACL_CT_PASS && found(aw, &a, t),
		 "a found where its lookup reaches");
	acl_worker_stats(0, &st);
	TU_CHECK(st.evicted == 1 && st.flows == 32, "evicted %lu, flows %lu",
		 (unsigned long)st.evicted, (unsigned long)st.flows);
	acl_worker_free(aw);

	/*
	 * Two packets of a TCP flow picked up mid-stream (born established,
	 * not evictable) in a burst, into a full table. From slot b: L
	 * (answered), X and Y (unanswered), free. Both packets of T (home b)
	 * miss at b + 3; the first makes room by evicting X in place, so T
	 * lies at b + 1 and b + 3 stays free. The second must find T there,
	 * not evict Y for a second entry of T.
	 */
	aw = fresh(32);
	sp = 1000;
	struct acl_flow l = at_home(aw, b, &sp), vx = at_home(aw, b + 1, &sp);
	struct acl_flow vy = at_home(aw, b + 2, &sp);
	uint16_t tp = 5000;
	struct acl_flow tf;
	do
		tf = flow_of(mk(6, A, B, tp++, 80, ACK));
	while ((tf.hash & aw->mask) != b);
	answered(aw, &l, t);
	TU_CHECK(run(aw, mk(17, A, B, vx.pkt.sport, 53, 0), 1, t) ==
		 ACL_CT_PASS && run(aw, mk(17, A, B, vy.pkt.sport, 53, 0), 1,
				    t) == ACL_CT_PASS, "X, Y");
	for (uint32_t h = b + 8; aw->st.flows < 32; h++) {
		struct acl_flow g = at_home(aw, h & aw->mask, &sp);

		answered(aw, &g, t);
	}
	TU_CHECK(look(aw, &tf, t, &m1) == ACL_CT_MISS &&
		 look(aw, &tf, t, &m2) == ACL_CT_MISS && m1.slot == b + 3,
		 "T misses twice, at b + 3: %u", m1.slot);
	TU_CHECK(create(aw, &tf, t, &m1) == ACL_CT_PASS &&
		 create(aw, &tf, t, &m2) == ACL_CT_PASS, "both pass");
	int copies = 0;
	for (uint32_t s = 0; s <= aw->mask; s++)
		copies += (aw->slot[s].flags & ACL_CT_F_USED) &&
			  !memcmp(&aw->slot[s].k, tf.key, sizeof(tf.key));
	acl_worker_stats(0, &st);
	TU_CHECK(copies == 1 && st.evicted == 1 &&
		 (aw->slot[b + 2].flags & ACL_CT_F_USED),
		 "T held once (%d), one eviction (%lu), Y kept", copies,
		 (unsigned long)st.evicted);
	acl_worker_free(aw);
}

/* The key: the same for both directions and for every parse path; the
 * fast parse fills the packet as the general one does. */
static void test_keys(void)
{
	struct pkt fw = mk(6, A, B, 40000, 80, SYN);
	struct pkt bw = mk(6, B, A, 80, 40000, SYN | ACK);
	struct acl_flow f1 = flow_of(fw), f2 = flow_of(bw), g;

	TU_CHECK(!memcmp(f1.key, f2.key, sizeof(f1.key)) && f1.hash == f2.hash &&
		 f1.src_lo != f2.src_lo, "both directions: one key");
	TU_CHECK(acl_flow_parse(fw.b, fw.len, &g) == 0 &&
		 !memcmp(g.key, f1.key, sizeof(g.key)) && g.hash == f1.hash &&
		 g.src_lo == f1.src_lo, "general parse: the same key");
	TU_CHECK(f1.pkt.src == A && f1.pkt.dst == B && f1.pkt.sport == 40000 &&
		 f1.pkt.dport == 80 && f1.pkt.proto == 6 &&
		 !memcmp(&f1.pkt, &g.pkt, sizeof(g.pkt)),
		 "pkt from the key: %08x:%u -> %08x:%u", f1.pkt.src,
		 f1.pkt.sport, f1.pkt.dst, f1.pkt.dport);
	TU_CHECK(f2.pkt.src == B && f2.pkt.sport == 80 && f2.pkt.dport == 40000,
		 "the other direction's pkt");
	/* An ICMP error from B about the packet A sent: the flow's key. */
	struct pkt er = icmp_err(B, &fw);
	TU_CHECK(acl_flow_parse(er.b, er.len, &g) == 0 &&
		 g.kind == ACL_FLOW_ICMP_ERR &&
		 !memcmp(g.key, f1.key, sizeof(g.key)) && g.hash == f1.hash,
		 "an ICMP error carries its flow's key");
}

/*
 * One pass of a sweep in many small calls ends where one full call does: every
 * expired entry gone, every live one still found in place. The calls'
 * budgets are random, odd and even, so they start on either slot of a
 * line and cross the table's end (the free-line scan and the deletions'
 * backward shifts meet there).
 */
static void test_sweep_steps(void)
{
	for (unsigned int seed = 1; seed <= 20; seed++) {
		struct acl_worker *aw = fresh(1000); /* 2048 slots */
		struct acl_ct_stats st;
		/* Full enough for long clusters, or nearly empty, so that
		 * free runs reach the table's end. */
		int n = seed % 2 ? 700 : 40, live = 0;

		srand(seed);
		for (int i = 0; i < n; i++) {
			uint32_t at = rand() % 2 ? 0 : 30000;
			live += at != 0;
			run(aw, mk(17, A + (uint32_t)i, B, 1000, 53, 0), 1, at);
		}
		/* One pass in calls of 1..40 (now and then up to 400):
		 * every slot visited costs one
		 * unit of budget and so does every deletion (the slot is
		 * visited again), so a pass is exactly the
		 * table plus the expired entries. */
		uint32_t pass = 2048 + (uint32_t)(n - live);
		/* From a random slot, so that the pass crosses the end:
		 * nothing has expired at 1 ms, calls then only move on. */
		acl_ct_sweep(aw, 1, (uint32_t)rand() % 2048);
		for (uint32_t done = 0; done < pass;) {
			uint32_t b = RTE_MIN(1 + (uint32_t)rand() %
						     (rand() % 4 ? 40 : 400),
					     pass - done);
			acl_ct_sweep(aw, 60001, b);
			done += b;
		}
		acl_worker_stats(0, &st);
		TU_CHECK(st.flows == (uint64_t)live &&
			 st.expired == (uint64_t)(n - live),
			 "seed %u: flows %lu (want %d), expired %lu", seed,
			 (unsigned long)st.flows, live,
			 (unsigned long)st.expired);
		calls = 0;
		for (int i = 0; i < n; i++)
			run(aw, mk(17, B, A + (uint32_t)i, 53, 1000, 0), 1, 60001);
		/* The expired flows start afresh (one walk each), the live
		 * ones are found. */
		TU_CHECK(calls == n - live, "seed %u: %d walks for %d expired",
			 seed, calls, n - live);
		acl_worker_free(aw);
	}
}

/* The hops an entry records for its two directions (acl_ct_entry.hop):
 * a passed packet's own, none for the other direction at creation, none
 * for both after a re-check under a new generation (the hops were the old
 * generation's FIB's). */
static void test_hops(void)
{
	struct acl_worker *aw = fresh(1024);
	struct pkt q = mk(17, A, B, 1000, 53, 0), r = mk(17, B, A, 53, 1000, 0);
	struct acl_flow fq = flow_of(q), fr = flow_of(r);

	TU_CHECK(acl_ct_packet(aw, &fq, 1, 0, 5, classify, NULL) ==
		 ACL_CT_PASS, "created");
	struct acl_ct_entry *e = acl_ct_hit_entry(aw, &fq, 1, 0);
	TU_CHECK(e != NULL && e == acl_ct_hit_entry(aw, &fr, 1, 0),
		 "both directions hit one entry");
	if (e == NULL)
		return;
	TU_CHECK(fq.src_lo != fr.src_lo, "directions differ");
	TU_CHECK(e->hop[fq.src_lo] == 5 && e->hop[fr.src_lo] == ACL_CT_HOP_NONE,
		 "the request's hop recorded at creation, alone");
	TU_CHECK(acl_ct_lookup(aw, &fr, 1, 0, 9, classify, NULL, NULL) ==
		 ACL_CT_PASS, "reply looked up");
	TU_CHECK(e->hop[fq.src_lo] == 5 && e->hop[fr.src_lo] == 9,
		 "the reply's hop recorded by the lookup");
	TU_CHECK(acl_ct_packet(aw, &fr, 1, 0, 1u << 20, classify, NULL) ==
		 ACL_CT_PASS && e->hop[fr.src_lo] == ACL_CT_HOP_NONE,
		 "a hop beyond 16 bits is recorded as none (on a hit)");
	TU_CHECK(acl_ct_hit_entry(aw, &fq, 2, 0) == NULL,
		 "no hit under another generation");
	TU_CHECK(acl_ct_lookup(aw, &fr, 2, 0, 7, classify, NULL, NULL) ==
		 ACL_CT_PASS && calls == 2, "re-checked");
	TU_CHECK(e->hop[fq.src_lo] == ACL_CT_HOP_NONE && e->hop[fr.src_lo] == 7,
		 "the re-check drops the old hops, records the packet's");
	/* A denied flow records nothing. */
	verdict = false;
	struct pkt o = mk(17, A, B, 1001, 53, 0);
	struct acl_flow fo = flow_of(o);
	TU_CHECK(acl_ct_packet(aw, &fo, 2, 0, 3, classify, NULL) ==
		 ACL_CT_DENY, "denied");
	verdict = true;
	TU_CHECK(acl_ct_hit_entry(aw, &fo, 2, 0) == NULL,
		 "a denied flow's entry does not hit");
	acl_worker_free(aw);
}

/*
 * acl_ct_housekeep() paces sweep steps on the TSC: a step when one is due,
 * then none until the period has passed, and never more than one a call.
 */
static void test_housekeep_pace(void)
{
	struct acl_worker *aw = fresh(32); /* 64 slots: 4 steps a pass */
	struct acl_ct_stats st;
	uint16_t sp = 1000;

	TU_CHECK(aw->sweep_period_tsc == 0, "no TSC rate without EAL: %lu",
		 (unsigned long)aw->sweep_period_tsc);
	/* A flow past the first two steps' slots (the hash is keyed at
	 * random), so that they pass over free slots only. */
	while ((flow_of(mk(17, A, B, sp, 53, 0)).hash & aw->mask) <
	       2 * ACL_CT_SWEEP_SLOTS)
		sp++;
	TU_CHECK(run(aw, mk(17, A, B, sp, 53, 0), 1, 0) == ACL_CT_PASS,
		 "flow created");
	aw->sweep_period_tsc = 1000;
	acl_ct_housekeep(aw, 5000, 60001);
	TU_CHECK(aw->sweep_at == ACL_CT_SWEEP_SLOTS, "first call steps: at %u",
		 aw->sweep_at);
	acl_ct_housekeep(aw, 5999, 60001);
	TU_CHECK(aw->sweep_at == ACL_CT_SWEEP_SLOTS, "not due: at %u",
		 aw->sweep_at);
	/* Long overdue: still one step. */
	acl_ct_housekeep(aw, 100000, 60001);
	TU_CHECK(aw->sweep_at == 2 * ACL_CT_SWEEP_SLOTS, "one step: at %u",
		 aw->sweep_at);
	acl_ct_housekeep(aw, 100999, 60001);
	acl_ct_housekeep(aw, 101000, 60001);
	acl_ct_housekeep(aw, 102000, 60001);
	acl_worker_stats(0, &st);
	TU_CHECK(st.expired == 1 && st.flows == 0,
		 "a pass in four due steps: expired %lu flows %lu",
		 (unsigned long)st.expired, (unsigned long)st.flows);
	acl_worker_free(aw);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The hash is keyed: new keys for each new set of workers (none while one
 * exists: the slots and owners of its flows follow them), odd multipliers;
 * and keys that differ in one port never hash alike.
 */
static void test_hash_keys(void)
{
	struct acl_worker *aw = fresh(32);
	struct acl_ct_hash_keys a = acl_ct_hk;
	struct acl_ct_conf c;

	acl_ct_conf_default(&c);
	c.max_flows = 32;
	struct acl_worker *aw1 = acl_worker_create(&c, 1);
	TU_CHECK(aw1 != NULL && !memcmp(&a, &acl_ct_hk, sizeof(a)),
		 "the keys stay while a worker exists");
	acl_worker_free(aw1);
	acl_worker_free(aw);
	aw = fresh(32);
	TU_CHECK(memcmp(&a, &acl_ct_hk, sizeof(a)) != 0,
		 "new keys for a new set of workers");
	for (unsigned int i = 0; i < RTE_DIM(a.k); i++)
		TU_CHECK(acl_ct_hk.k[i] & 1, "multiplier %u odd", i);
	/* Every destination port, the rest fixed: 65536 hashes, distinct. */
	uint32_t *h = malloc(65536 * sizeof(*h));
	unsigned int dup = 0;

	for (uint32_t dp = 0; dp < 65536; dp++)
		h[dp] = flow_of(mk(17, A, B, 1000, (uint16_t)dp, 0)).hash;
	qsort(h, 65536, sizeof(*h), cmp_u32);
	for (uint32_t i = 1; i < 65536; i++)
		dup += h[i] == h[i - 1];
	TU_CHECK(dup == 0, "one port apart, never alike: %u equal", dup);
	free(h);
	acl_worker_free(aw);
}

int main(void)
{
	for (int way = 0; way < 2; way++) {
		via_lookup = way == 1;
		test_keys();
		test_lookup();
		test_tcp();
		test_tcp_reverse_syn();
		test_deny();
		test_generation();
		test_icmp();
		test_icmp_query();
		test_aging_and_full();
		test_full_evict();
		test_hit_probe();
		test_create();
		test_sweep_steps();
		test_hops();
		test_housekeep_pace();
		test_hash_keys();
	}
	if (tu_failures)
		fprintf(stderr, "%d failure(s)\n", tu_failures);
	else
		printf("conntrack: all checks passed\n");
	return tu_failures ? 1 : 0;
}
