/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoder registration, apiVersion/kind → resource, and the two simple
 * decoders (Namespace, ServiceAccount).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/store.h"
#include "k8s/decode.h"
#include "k8s/decode_priv.h"

void *k8s_decode_namespace(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	struct ctl_namespace *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, false, NULL, &n->name, &e) < 0 ||
	    dj_labels(dj_get(dj_get(obj, "metadata"), "labels"),
		      "metadata.labels", &n->labels, &e) < 0) {
		ctl_namespace_free(n);
		return NULL;
	}
	return n;
}

void *k8s_decode_serviceaccount(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	struct ctl_serviceaccount *sa = calloc(1, sizeof(*sa));

	if (sa == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, true, &sa->ns, &sa->name, &e) < 0 ||
	    dj_labels(dj_get(dj_get(obj, "metadata"), "labels"),
		      "metadata.labels", &sa->labels, &e) < 0) {
		ctl_serviceaccount_free(sa);
		return NULL;
	}
	return sa;
}

/* The store frees through void *; these adapt the typed free functions. */
static void free_node(void *p) { ctl_node_free(p); }
static void free_pod(void *p) { ctl_pod_free(p); }
static void free_namespace(void *p) { ctl_namespace_free(p); }
static void free_sa(void *p) { ctl_serviceaccount_free(p); }
static void free_pool(void *p) { ctl_pool_free(p); }
static void free_block(void *p) { ctl_block_free(p); }
static void free_affinity(void *p) { ctl_affinity_free(p); }

void k8s_decode_register(struct ctl_store *st)
{
	ctl_store_set_decoder(st, CTL_RES_NODE, k8s_decode_node, free_node);
	ctl_store_set_decoder(st, CTL_RES_POD, k8s_decode_pod, free_pod);
	ctl_store_set_decoder(st, CTL_RES_NAMESPACE, k8s_decode_namespace,
			      free_namespace);
	ctl_store_set_decoder(st, CTL_RES_SERVICEACCOUNT,
			      k8s_decode_serviceaccount, free_sa);
	ctl_store_set_decoder(st, CTL_RES_IPPOOL, k8s_decode_ippool, free_pool);
	ctl_store_set_decoder(st, CTL_RES_IPAMBLOCK, k8s_decode_ipamblock,
			      free_block);
	ctl_store_set_decoder(st, CTL_RES_BLOCKAFFINITY,
			      k8s_decode_blockaffinity, free_affinity);
}

enum api_group { GRP_CORE, GRP_NETWORKING, GRP_CALICO };

struct kind_map {
	enum api_group group;
	const char *kind;
	enum ctl_res res;
};

static const struct kind_map kinds[] = {
	{GRP_CORE, "Node", CTL_RES_NODE},
	{GRP_CORE, "Pod", CTL_RES_POD},
	{GRP_CORE, "Namespace", CTL_RES_NAMESPACE},
	{GRP_CORE, "ServiceAccount", CTL_RES_SERVICEACCOUNT},
	{GRP_NETWORKING, "NetworkPolicy", CTL_RES_K8S_NETPOL},
	{GRP_CALICO, "IPPool", CTL_RES_IPPOOL},
	{GRP_CALICO, "IPAMBlock", CTL_RES_IPAMBLOCK},
	{GRP_CALICO, "BlockAffinity", CTL_RES_BLOCKAFFINITY},
	{GRP_CALICO, "NetworkPolicy", CTL_RES_CALICO_NETPOL},
	{GRP_CALICO, "GlobalNetworkPolicy", CTL_RES_GLOBAL_NETPOL},
	{GRP_CALICO, "Tier", CTL_RES_TIER},
	{GRP_CALICO, "NetworkSet", CTL_RES_NETWORKSET},
	{GRP_CALICO, "GlobalNetworkSet", CTL_RES_GLOBAL_NETWORKSET},
};

static int api_group(const char *api_version, enum api_group *g)
{
	if (strcmp(api_version, "v1") == 0)
		*g = GRP_CORE;
	else if (strcmp(api_version, "networking.k8s.io/v1") == 0)
		*g = GRP_NETWORKING;
	else if (strcmp(api_version, "crd.projectcalico.org/v1") == 0 ||
		 strcmp(api_version, "projectcalico.org/v3") == 0)
		*g = GRP_CALICO;
	else
		return -ENOENT;
	return 0;
}

int k8s_res_from_kind(const char *api_version, const char *kind,
		      enum ctl_res *res)
{
	enum api_group g;

	if (api_version == NULL || kind == NULL || *api_version == '\0' ||
	    *kind == '\0')
		return -EINVAL;
	if (api_group(api_version, &g) < 0)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (kinds[i].group == g && strcmp(kinds[i].kind, kind) == 0) {
			*res = kinds[i].res;
			return 0;
		}
	}
	return -ENOENT;
}

int k8s_res_from_object(const cJSON *obj, enum ctl_res *res)
{
	return k8s_res_from_kind(
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "apiVersion")),
		cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "kind")),
		res);
}
