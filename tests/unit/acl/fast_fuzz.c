/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Random Calico policies (tiers, Allow/Deny/Pass, nets/notNets,
 * selectors/notSelectors, port ranges, named ports, notPorts, protocol,
 * notProtocol, icmp/notICMP) compiled with their rte_acl form and compared,
 * packet by packet, with the linear walk and the evaluator (compiled_check.c).
 * The conformance cases are mostly Allow-only, where rule order is
 * invisible; here order, Pass and tier ends decide.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>

#include "acl/acl.h"
#include "netpol_harness.h"

#define N_PODS 12

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	return (unsigned int)rand_r(seed) % n;
}

static const char *const sels[] = {
	"all()", "app == 'a'", "app == 'b'", "app in {'a', 'c'}",
	"tier == 'x'", "has(tier)", "!has(app)",
};

static void add_nets(cJSON *side, const char *key, unsigned int *seed)
{
	cJSON *a = cJSON_AddArrayToObject(side, key);
	unsigned int n = 1 + rnd(seed, 2);
	char buf[32];

	for (unsigned int i = 0; i < n; i++) {
		static const unsigned int plens[] = { 8, 16, 24, 28, 30, 32 };
		unsigned int pl = plens[rnd(seed, RTE_DIM(plens))];
		uint32_t ip = rnd(seed, 4) ? (10u << 24 | 9u << 16 | rnd(seed, 16)) :
					     (uint32_t)rand_r(seed);

		ip &= pl == 32 ? ~0u : ~(~0u >> pl);
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u/%u", ip >> 24,
			 (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, pl);
		cJSON_AddItemToArray(a, cJSON_CreateString(buf));
	}
}

static void add_ports(cJSON *side, const char *key, unsigned int *seed,
		      bool named)
{
	cJSON *a = cJSON_AddArrayToObject(side, key);
	unsigned int n = 1 + rnd(seed, 3);
	char buf[32];

	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = rnd(seed, named ? 4 : 3);
		unsigned int lo = 78 + rnd(seed, 6);

		if (k == 0) {
			cJSON_AddItemToArray(a, cJSON_CreateNumber(lo));
		} else if (k == 1) {
			snprintf(buf, sizeof(buf), "%u:%u", lo, lo + rnd(seed, 5));
			cJSON_AddItemToArray(a, cJSON_CreateString(buf));
		} else if (k == 2) {
			cJSON_AddItemToArray(a, cJSON_CreateNumber(53));
		} else {
			cJSON_AddItemToArray(a, cJSON_CreateString(
				rnd(seed, 2) ? "http" : "dns"));
		}
	}
}

static cJSON *rand_side(unsigned int *seed, bool ports, bool src)
{
	cJSON *s = cJSON_CreateObject();

	if (rnd(seed, 3) == 0)
		add_nets(s, "nets", seed);
	if (rnd(seed, 5) == 0)
		add_nets(s, "notNets", seed);
	if (rnd(seed, 3) == 0)
		cJSON_AddStringToObject(s, "selector", sels[rnd(seed, RTE_DIM(sels))]);
	if (rnd(seed, 6) == 0)
		cJSON_AddStringToObject(s, "notSelector",
					sels[1 + rnd(seed, RTE_DIM(sels) - 1)]);
	if (ports && rnd(seed, 2) == 0)
		add_ports(s, "ports", seed, !src);
	if (ports && rnd(seed, 5) == 0)
		add_ports(s, "notPorts", seed, false);
	return s;
}

static cJSON *rand_rule(unsigned int *seed, bool ingress)
{
	static const char *const acts[] = { "Allow", "Deny", "Pass", "Allow",
					    "Deny" };
	static const char *const protos[] = { "TCP", "UDP", "ICMP", NULL };
	cJSON *r = cJSON_CreateObject();
	const char *pr = protos[rnd(seed, RTE_DIM(protos))];
	bool ports = pr && pr[0] != 'I';

	cJSON_AddStringToObject(r, "action", acts[rnd(seed, RTE_DIM(acts))]);
	if (pr)
		cJSON_AddStringToObject(r, "protocol", pr);
	else if (rnd(seed, 3) == 0)
		cJSON_AddStringToObject(r, "notProtocol",
					rnd(seed, 2) ? "UDP" : "ICMP");
	if (pr && pr[0] == 'I') {
		const char *k = rnd(seed, 2) ? "icmp" : "notICMP";
		cJSON *ic = cJSON_AddObjectToObject(r, k);

		cJSON_AddNumberToObject(ic, "type", rnd(seed, 2) ? 8 : 3);
		if (rnd(seed, 2))
			cJSON_AddNumberToObject(ic, "code", rnd(seed, 2));
	}
	cJSON_AddItemToObject(r, "source", rand_side(seed, ports, true));
	cJSON_AddItemToObject(r, "destination", rand_side(seed, ports, false));
	(void)ingress;
	return r;
}

static void fuzz_one(unsigned int round, unsigned int *seed)
{
	struct cluster *c = calloc(1, sizeof(*c));
	void *objs[16];
	void (*frees[16])(void *);
	unsigned int n_obj = 0;
	char id[32], name[64];

	snprintf(id, sizeof(id), "fuzz%u", round);
	cJSON *nsl = cJSON_CreateObject();

	cJSON_AddStringToObject(nsl, "kubernetes.io/metadata.name", "f");
	add_ns(c, "f", nsl);
	cJSON_Delete(nsl);
	for (unsigned int i = 0; i < N_PODS; i++) {
		cJSON *l = cJSON_CreateObject(), *ports = cJSON_CreateArray();
		cJSON *p = cJSON_CreateObject();

		if (i % 4)
			cJSON_AddStringToObject(l, "app", (const char *[]){
				"a", "b", "c" }[i % 3]);
		if (i % 2)
			cJSON_AddStringToObject(l, "tier", i % 3 ? "x" : "y");
		cJSON_AddStringToObject(p, "name", i % 3 ? "http" : "dns");
		cJSON_AddStringToObject(p, "protocol", i % 3 ? "TCP" : "UDP");
		cJSON_AddNumberToObject(p, "containerPort",
					i % 3 ? 80 + i % 4 : 53);
		cJSON_AddItemToArray(ports, p);
		snprintf(name, sizeof(name), "p%u", i);
		add_pod(c, "f", name, l, 10u << 24 | 9u << 16 | i, ports);
		cJSON_Delete(l);
		cJSON_Delete(ports);
	}
	struct acl_world *w = world_of(c);
	unsigned int n_tiers = 1 + rnd(seed, 3);

	for (unsigned int t = 0; t < n_tiers && n_obj < 16; t++) {
		cJSON *o = cJSON_CreateObject(), *md, *sp;
		char err[256], tn[16];

		snprintf(tn, sizeof(tn), "t%u", t);
		cJSON_AddStringToObject(o, "kind", "Tier");
		md = cJSON_AddObjectToObject(o, "metadata");
		cJSON_AddStringToObject(md, "name", tn);
		sp = cJSON_AddObjectToObject(o, "spec");
		cJSON_AddNumberToObject(sp, "order", t * 10);
		cJSON_AddStringToObject(sp, "defaultAction",
					rnd(seed, 2) ? "Pass" : "Deny");
		struct acl_tier *tier = acl_tier_decode(o, err, sizeof(err));

		TU_CHECK(tier, "%s: tier rejected: %s", id, err);
		cJSON_Delete(o);
		if (!tier)
			continue;
		acl_world_add_tier(w, tier);
		objs[n_obj] = tier;
		frees[n_obj++] = acl_tier_free;
		for (unsigned int k = 1 + rnd(seed, 3); k > 0 && n_obj < 16; k--) {
			cJSON *in, *eg;

			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "kind", "GlobalNetworkPolicy");
			md = cJSON_AddObjectToObject(o, "metadata");
			snprintf(name, sizeof(name), "t%u.pol%u", t, k);
			cJSON_AddStringToObject(md, "name", name);
			sp = cJSON_AddObjectToObject(o, "spec");
			cJSON_AddStringToObject(sp, "tier", tn);
			cJSON_AddNumberToObject(sp, "order", rnd(seed, 5));
			cJSON_AddStringToObject(sp, "selector",
						sels[rnd(seed, 4)]);
			in = cJSON_AddArrayToObject(sp, "ingress");
			eg = cJSON_AddArrayToObject(sp, "egress");
			for (unsigned int r = rnd(seed, 6); r > 0; r--)
				cJSON_AddItemToArray(in, rand_rule(seed, true));
			for (unsigned int r = rnd(seed, 6); r > 0; r--)
				cJSON_AddItemToArray(eg, rand_rule(seed, false));
			struct acl_policy *p =
				acl_global_netpol_decode(o, err, sizeof(err));

			TU_CHECK(p, "%s: policy rejected: %s\n%s", id, err,
				 cJSON_PrintUnformatted(o));
			cJSON_Delete(o);
			if (!p)
				continue;
			acl_world_add_policy(w, p);
			objs[n_obj] = p;
			frees[n_obj++] = acl_policy_free;
		}
	}
	cmp_begin(w, c, id);
	cmp_end();
	acl_world_free(w);
	for (unsigned int i = 0; i < n_obj; i++)
		frees[i](objs[i]);
	cluster_clear(c);
	free(c);
}

void fuzz_fast(unsigned int rounds)
{
	unsigned int seed = 7;

	for (unsigned int i = 0; i < rounds; i++)
		fuzz_one(i, &seed);
}
