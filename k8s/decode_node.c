/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node decoder (calico-model.md §1.4): Calico keeps its node data in
 * annotations of the Kubernetes Node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/decode.h"
#include "k8s/decode_priv.h"

#define ANN_IPV4 "projectcalico.org/IPv4Address"
#define ANN_TUNNEL "projectcalico.org/IPv4IPIPTunnelAddr"

/* Like Calico's ParseCIDROrIP: a bare address counts as /32. */
static int cidr_or_ip(const char *s, uint32_t *ip, uint8_t *plen)
{
	if (k8s_parse_cidr(s, ip, plen) == 0)
		return 0;
	*plen = 32;
	return k8s_parse_ipv4(s, ip);
}

/*
 * Fallback when there is no BGP address: the first IPv4 InternalIP, else
 * ExternalIP, as a /32. Non-IPv4 entries (dual stack) are skipped, not errors.
 */
static int status_address(const cJSON *obj, uint32_t *ip, struct dj_err *e)
{
	static const char *const order[] = {"InternalIP", "ExternalIP"};
	const cJSON *status, *addrs, *a;

	*ip = 0;
	if (dj_object(obj, "status", &status, e) < 0 ||
	    dj_array(status, "addresses", &addrs, e) < 0)
		return -EINVAL;
	for (size_t k = 0; k < 2; k++) {
		cJSON_ArrayForEach(a, addrs) {
			const char *type, *addr;

			if (dj_str(a, "type", &type, e) < 0 ||
			    dj_str(a, "address", &addr, e) < 0)
				return -EINVAL;
			if (type && strcmp(type, order[k]) == 0 && addr &&
			    k8s_parse_ipv4(addr, ip) == 0)
				return 0;
		}
	}
	return 0;
}

void *k8s_decode_node(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	const cJSON *md = dj_get(obj, "metadata"), *ann;
	const char *v4, *tun;
	struct ctl_node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, false, NULL, &n->name, &e) < 0 ||
	    dj_labels(dj_get(md, "labels"), "metadata.labels", &n->labels, &e) < 0 ||
	    dj_object(md, "annotations", &ann, &e) < 0 ||
	    dj_str(ann, ANN_IPV4, &v4, &e) < 0 ||
	    dj_str(ann, ANN_TUNNEL, &tun, &e) < 0)
		goto out_err;

	if (v4 != NULL && *v4 != '\0') {
		if (cidr_or_ip(v4, &n->ip, &n->plen) < 0) {
			dj_fail(&e, "annotation %s: bad IPv4 CIDR '%s'", ANN_IPV4, v4);
			goto out_err;
		}
	} else {
		if (status_address(obj, &n->ip, &e) < 0)
			goto out_err;
		n->plen = 32;
	}
	if (tun != NULL && *tun != '\0' && k8s_parse_ipv4(tun, &n->tunnel_ip) < 0) {
		dj_fail(&e, "annotation %s: bad IPv4 address '%s'", ANN_TUNNEL, tun);
		goto out_err;
	}
	return n;

out_err:
	ctl_node_free(n);
	return NULL;
}
