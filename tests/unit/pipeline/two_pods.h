/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fixtures the pipeline tests share: the policy world of two pods, x/a
 * (app=a) and x/b (app=b), on node-a, and neighbor slots.
 */
#ifndef KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H
#define KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "acl/acl.h"
#include "pipeline/tables.h"

/*
 * The linear policy set (generation @p gen, for @p n_workers) of x/a at
 * @p ip_a and x/b at @p ip_b (host order) under the NetworkPolicy
 * @p policy_json; endpoint 0 is x/a, 1 is x/b. NULL, said on stderr, when
 * something fails.
 */
static inline struct acl_set *two_pods_policy(const char *policy_json,
					      uint32_t ip_a, uint32_t ip_b,
					      unsigned int n_workers,
					      uint64_t gen)
{
	/* Static, as in a store: nothing here outlives the set by design,
	 * but the set must not be able to point at a dead stack. */
	static char *key[] = {"app"}, *va[] = {"a"}, *vb[] = {"b"};
	static struct ctl_pod pods[2] = {
		{.ns = "x", .name = "a", .node = "node-a", .sa = "default",
		 .n_ips = 1, .labels = {.n = 1, .keys = key, .vals = va}},
		{.ns = "x", .name = "b", .node = "node-a", .sa = "default",
		 .n_ips = 1, .labels = {.n = 1, .keys = key, .vals = vb}},
	};
	static struct ctl_namespace ns = {.name = "x"};
	pods[0].ips[0] = ip_a;
	pods[1].ips[0] = ip_b;
	const struct ctl_pod *eps[2] = {&pods[0], &pods[1]};
	cJSON *j = cJSON_Parse(policy_json);
	char err[256] = "";
	struct acl_policy *p = acl_k8s_netpol_decode(j, err, sizeof(err));
	struct acl_world *w = acl_world_create();
	struct acl_set *s = NULL;

	if (p == NULL || w == NULL) {
		fprintf(stderr, "policy: %s\n", err);
		goto out;
	}
	acl_world_add_pod(w, &pods[0]);
	acl_world_add_pod(w, &pods[1]);
	acl_world_add_namespace(w, &ns);
	acl_world_add_policy(w, p);
	s = acl_set_build(w, eps, 2, n_workers, gen, false, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "acl_set_build: %s\n", err);
out:
	acl_world_free(w);
	acl_policy_free(p);
	cJSON_Delete(j);
	return s;
}

/* Neighbor slot @p slot holds @p mac, resolved or not. */
static inline void two_pods_neigh(uint32_t slot, const uint8_t *mac,
				  bool valid)
{
	uint64_t v = valid ? PL_NEIGH_VALID : 0;

	for (int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	pl_neigh[slot].mac = v;
}

#endif /* KDP_TESTS_UNIT_PIPELINE_TWO_PODS_H */
