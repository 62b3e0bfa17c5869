/* SPDX-License-Identifier: BSD-3-Clause */
/* The store side of policy: decoders, and a world over the store. */
#include <rte_common.h>

#include "acl/acl.h"

void acl_register(struct ctl_store *st)
{
	ctl_store_set_decoder(st, CTL_RES_K8S_NETPOL, acl_k8s_netpol_decode,
			      acl_policy_free);
	ctl_store_set_decoder(st, CTL_RES_CALICO_NETPOL,
			      acl_calico_netpol_decode, acl_policy_free);
	ctl_store_set_decoder(st, CTL_RES_GLOBAL_NETPOL,
			      acl_global_netpol_decode, acl_policy_free);
	ctl_store_set_decoder(st, CTL_RES_TIER, acl_tier_decode, acl_tier_free);
	ctl_store_set_decoder(st, CTL_RES_NETWORKSET, acl_netset_decode,
			      acl_netset_free);
	ctl_store_set_decoder(st, CTL_RES_GLOBAL_NETWORKSET,
			      acl_global_netset_decode, acl_netset_free);
}

struct add_ctx {
	struct acl_world *w;
	enum ctl_res res;
};

static int add_one(void *arg, const void *decoded, const cJSON *raw)
{
	struct add_ctx *c = arg;

	(void)raw;
	switch (c->res) {
	case CTL_RES_K8S_NETPOL:
	case CTL_RES_CALICO_NETPOL:
	case CTL_RES_GLOBAL_NETPOL:
		return acl_world_add_policy(c->w, decoded);
	case CTL_RES_TIER:
		return acl_world_add_tier(c->w, decoded);
	case CTL_RES_NETWORKSET:
	case CTL_RES_GLOBAL_NETWORKSET:
		return acl_world_add_netset(c->w, decoded);
	case CTL_RES_POD:
		return acl_world_add_pod(c->w, decoded);
	case CTL_RES_NAMESPACE:
		return acl_world_add_namespace(c->w, decoded);
	case CTL_RES_SERVICEACCOUNT:
		return acl_world_add_sa(c->w, decoded);
	default:
		return 0;
	}
}

static struct acl_world *world_of(const struct ctl_store *st,
				  const enum ctl_res *kinds, size_t n)
{
	struct acl_world *w = acl_world_create();

	for (size_t i = 0; w && i < n; i++) {
		struct add_ctx c = { w, kinds[i] };

		if (ctl_store_foreach(st, kinds[i], add_one, &c)) {
			acl_world_free(w);
			return NULL;
		}
	}
	return w;
}

struct acl_world *acl_world_from_store(const struct ctl_store *st)
{
	static const enum ctl_res kinds[] = {
		CTL_RES_K8S_NETPOL, CTL_RES_CALICO_NETPOL, CTL_RES_GLOBAL_NETPOL,
		CTL_RES_TIER, CTL_RES_NETWORKSET, CTL_RES_GLOBAL_NETWORKSET,
		CTL_RES_POD, CTL_RES_NAMESPACE, CTL_RES_SERVICEACCOUNT,
	};

	return world_of(st, kinds, RTE_DIM(kinds));
}

struct acl_world *acl_world_nopods_from_store(const struct ctl_store *st)
{
	static const enum ctl_res kinds[] = {
		CTL_RES_K8S_NETPOL, CTL_RES_CALICO_NETPOL, CTL_RES_GLOBAL_NETPOL,
		CTL_RES_TIER, CTL_RES_NETWORKSET, CTL_RES_GLOBAL_NETWORKSET,
		CTL_RES_NAMESPACE, CTL_RES_SERVICEACCOUNT,
	};

	return world_of(st, kinds, RTE_DIM(kinds));
}
