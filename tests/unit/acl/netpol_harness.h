/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared pieces of the netpol.json conformance harness. */
#ifndef KDP_TESTS_ACL_NETPOL_HARNESS_H
#define KDP_TESTS_ACL_NETPOL_HARNESS_H

#include "acl/eval.h"
#include "acl/policy.h"
#include "tutil.h"

#define MAX_PODS 16
#define MAX_NS 8
#define MAX_OBJS 64

struct cluster {
	size_t n_pods, n_ns;
	struct ctl_pod pods[MAX_PODS];
	struct ctl_namespace nss[MAX_NS];
};

struct tally {
	int pass, fail, loop_pass, loop_fail;
};

uint8_t proto_num(const char *p);
void add_ns(struct cluster *c, const char *name, const cJSON *labels);
void add_pod(struct cluster *c, const char *ns, const char *name,
	     const cJSON *labels, uint32_t ip, const cJSON *ports);
void cluster_clear(struct cluster *c);
const struct ctl_pod *find_pod(const struct cluster *c, const char *ref);
struct acl_world *world_of(struct cluster *c);
void probe(const struct acl_world *w, const struct cluster *c,
	   const char *case_id, uint32_t src, uint32_t dst, int port,
	   const char *proto, bool expect, bool loopback, struct tally *t);
/* compiled_check.c: compiled programs vs the reference evaluator. */
void cmp_begin(const struct acl_world *w, const struct cluster *c,
	       const char *id);
void cmp_probe(const struct acl_world *w, const char *id,
	       const struct acl_pkt *p);
void cmp_end(void);
extern int cmp_checked;
extern int cmp_bulk_checked;
/* fast_fuzz.c: random Calico policies through cmp_begin(). */
void fuzz_fast(unsigned int rounds);
/** Non-empty programs compiled, and of them with an rte_acl form. */
extern unsigned int cmp_programs, cmp_fast_programs;

/** Run one calico_policy_cases entry (all its steps). */
void run_calico_case(const cJSON *cs, struct tally *t);

#endif
