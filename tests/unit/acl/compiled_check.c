/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The compiled programs (acl/acl.h) against the reference evaluator: every
 * conformance probe, plus random packets per case, must get the same
 * per-direction verdict from acl_classify() as from acl_eval().
 */
#include <stdlib.h>

#include <rte_common.h>

#include "acl/acl.h"
#include "acl/acl_priv.h"
#include "netpol_harness.h"

static struct acl_set *cur;
static const struct cluster *cur_c;
int cmp_checked;
int cmp_bulk_checked; /* verdicts compared through acl_classify_bulk() */
unsigned int cmp_programs, cmp_fast_programs;

static int ep_of(const struct cluster *c, uint32_t ip)
{
	for (size_t i = 0; i < c->n_pods; i++)
		for (size_t j = 0; j < c->pods[i].n_ips; j++)
			if (c->pods[i].ips[j] == ip)
				return (int)i;
	return -1;
}

static void cmp_one(const struct acl_world *w, const char *id,
		    const struct acl_pkt *p)
{
	struct acl_verdict v;
	int se = ep_of(cur_c, p->src), de = ep_of(cur_c, p->dst);

	if (acl_eval(w, p, &v) < 0) {
		TU_CHECK(0, "%s: eval failed", id);
		return;
	}
	bool eg = se < 0 || acl_classify(cur, NULL, (uint32_t)se,
					 ACL_DIR_EGRESS, p);
	bool in = de < 0 || acl_classify(cur, NULL, (uint32_t)de,
					 ACL_DIR_INGRESS, p);
	/* The linear walk is the reference of the rte_acl form: both must
	 * agree with it and with the evaluator. */
	bool leg = se < 0 || acl_classify_linear(cur, NULL, (uint32_t)se,
						 ACL_DIR_EGRESS, p);
	bool lin = de < 0 || acl_classify_linear(cur, NULL, (uint32_t)de,
						 ACL_DIR_INGRESS, p);
	/* The walk's scalar rule skipping must agree with the vector one. */
	acl_quick_simd = false;
	bool seg = se < 0 || acl_classify_linear(cur, NULL, (uint32_t)se,
						 ACL_DIR_EGRESS, p);
	bool sin = de < 0 || acl_classify_linear(cur, NULL, (uint32_t)de,
						 ACL_DIR_INGRESS, p);
	acl_quick_simd = true;
	TU_CHECK(seg == leg && sin == lin, "%s: scalar walk %d/%d, vector %d/%d",
		 id, seg, sin, leg, lin);

	TU_CHECK(eg == leg && in == lin,
		 "%s: rte_acl %d/%d, linear walk %d/%d for proto %u "
		 "%08x:%u -> %08x:%u icmp %u/%u", id, eg, in, leg, lin,
		 p->proto, p->src, p->sport, p->dst, p->dport, p->icmp_type,
		 p->icmp_code);
	TU_CHECK(eg == v.egress.allow && in == v.ingress.allow,
		 "%s: compiled %d/%d, reference %d/%d for proto %u "
		 "%08x:%u -> %08x:%u icmp %u/%u", id, eg, in, v.egress.allow,
		 v.ingress.allow, p->proto, p->src, p->sport, p->dst, p->dport,
		 p->icmp_type, p->icmp_code);
	cmp_checked++;
}

static bool ep_has(const struct cluster *c, uint32_t ep, uint32_t ip)
{
	for (size_t j = 0; j < c->pods[ep].n_ips; j++)
		if (c->pods[ep].ips[j] == ip)
			return true;
	return false;
}

/* acl_classify_bulk() + acl_classify_decide() must give every packet of a
 * batch the linear walk's verdict, for every endpoint and direction, among
 * the packets that endpoint's program can see: to it (ingress), from it
 * (egress); the forms are built for those only (struct acl_scope). */
static void cmp_bulk(const char *id, const struct acl_pkt *p, uint32_t n)
{
	const struct acl_pkt *ptr[ACL_BULK_MAX];
	uint32_t res[ACL_BULK_MAX * ACL_BULK_RES_MAX];

	for (uint32_t ep = 0; ep < cur_c->n_pods; ep++)
		for (int d = 0; d < ACL_DIR_MAX; d++) {
			uint32_t m = 0;

			for (uint32_t i = 0; i < n; i++)
				if (ep_has(cur_c, ep, d == ACL_DIR_INGRESS ?
						      p[i].dst : p[i].src))
					ptr[m++] = &p[i];
			if (m == 0)
				continue;
			uint32_t st = acl_classify_bulk(cur, ep, d, ptr, m,
							res);

			for (uint32_t i = 0; st && i < m; i++) {
				bool b = acl_classify_decide(cur, NULL, ep, d,
							     res + i * st);
				bool l = acl_classify_linear(cur, NULL, ep, d,
							     ptr[i]);

				TU_CHECK(b == l, "%s: bulk %d, linear %d, ep %u "
					 "dir %d packet %u", id, b, l, ep, d, i);
				cmp_bulk_checked++;
			}
		}
}

void cmp_probe(const struct acl_world *w, const char *id,
	       const struct acl_pkt *p)
{
	if (cur)
		cmp_one(w, id, p);
}

static uint32_t rnd_ip(const struct cluster *c, unsigned int *seed)
{
	static const uint32_t extra[] = {
		0x0a000001, 0x0a010203, 0xac110105, 0xac1101ff, 0xc0a80a0b,
		0x08080808, 0xa9fea9fe,
	};
	unsigned int r = (unsigned int)rand_r(seed);

	if (r % 4 != 0 && c->n_pods)
		return c->pods[r % c->n_pods].ips[0];
	if (r % 8 == 0)
		return (uint32_t)rand_r(seed) ^ ((uint32_t)rand_r(seed) << 16);
	return extra[r % RTE_DIM(extra)];
}

void cmp_begin(const struct acl_world *w, const struct cluster *c,
	       const char *id)
{
	static const uint8_t protos[] = { 6, 17, 132, 1, 47, 136 };
	static const uint16_t ports[] = { 80, 81, 53, 8055, 443, 0, 65535 };
	const struct ctl_pod *eps[MAX_PODS];
	unsigned int seed = 42;
	char err[128];

	for (size_t i = 0; i < c->n_pods; i++)
		eps[i] = &c->pods[i];
	cur = acl_set_build(w, eps, (uint32_t)c->n_pods, 2, 1, true, err,
			    sizeof(err));
	cur_c = c;
	TU_CHECK(cur, "%s: compile failed: %s", id, err);
	if (!cur)
		return;
	struct acl_set_info info;

	/* The rte_acl forms are built in the background (acl/acl.h). */
	TU_CHECK(acl_set_fast_wait(cur) == ACL_FAST_READY,
		 "%s: rte_acl build failed", id);
	acl_set_get_info(cur, &info);
	cmp_programs += info.programs;
	cmp_fast_programs += info.fast_programs;
	struct acl_pkt batch[ACL_BULK_MAX];

	for (int i = 0; i < 1000; i++) {
		struct acl_pkt p = {
			.src = rnd_ip(c, &seed), .dst = rnd_ip(c, &seed),
			.proto = protos[rand_r(&seed) % RTE_DIM(protos)],
		};
		if (p.proto == 1) {
			p.icmp_type = (uint8_t)(rand_r(&seed) % 12);
			p.icmp_code = (uint8_t)(rand_r(&seed) % 3);
		} else {
			p.sport = ports[rand_r(&seed) % RTE_DIM(ports)];
			p.dport = ports[rand_r(&seed) % RTE_DIM(ports)];
			if (rand_r(&seed) % 4 == 0)
				p.dport = (uint16_t)rand_r(&seed);
			/* Range edges of the conformance rules. */
			if (rand_r(&seed) % 8 == 0)
				p.dport = (uint16_t)(ports[rand_r(&seed) %
						RTE_DIM(ports)] +
						rand_r(&seed) % 3 - 1);
		}
		cmp_one(w, id, &p);
		batch[i % ACL_BULK_MAX] = p;
		if (i % ACL_BULK_MAX == ACL_BULK_MAX - 1)
			cmp_bulk(id, batch, ACL_BULK_MAX - i % 7);
	}
}

void cmp_end(void)
{
	acl_set_free(cur);
	cur = NULL;
	cur_c = NULL;
}
