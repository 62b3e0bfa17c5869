/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Calico IPAM decoders: IPPool, IPAMBlock, BlockAffinity
 * (calico-model.md §1.1–§1.3).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/decode.h"
#include "k8s/decode_priv.h"

static int encap_mode(const cJSON *spec, const char *key,
		      enum ctl_encap_mode *m, struct dj_err *e)
{
	const char *s;

	if (dj_str(spec, key, &s, e) < 0)
		return -EINVAL;
	/* empty or missing means Never */
	if (s == NULL || *s == '\0' || strcmp(s, "Never") == 0)
		*m = CTL_ENCAP_NEVER;
	else if (strcmp(s, "Always") == 0)
		*m = CTL_ENCAP_ALWAYS;
	else if (strcmp(s, "CrossSubnet") == 0)
		*m = CTL_ENCAP_CROSS_SUBNET;
	else
		return dj_fail(e, "spec.%s: unknown mode '%s'", key, s);
	return 0;
}

static int allowed_uses(const cJSON *spec, unsigned *uses, struct dj_err *e)
{
	const cJSON *arr, *x;

	if (dj_array(spec, "allowedUses", &arr, e) < 0)
		return -EINVAL;
	*uses = 0;
	cJSON_ArrayForEach(x, arr) {
		const char *s = cJSON_GetStringValue(x);

		if (s != NULL && strcmp(s, "Workload") == 0)
			*uses |= CTL_USE_WORKLOAD;
		else if (s != NULL && strcmp(s, "Tunnel") == 0)
			*uses |= CTL_USE_TUNNEL;
		else if (s != NULL && strcmp(s, "LoadBalancer") == 0)
			*uses |= CTL_USE_LOADBALANCER;
		else
			return dj_fail(e, "spec.allowedUses: unknown use");
	}
	if (*uses == 0)
		*uses = CTL_USE_WORKLOAD | CTL_USE_TUNNEL;
	return 0;
}

void *k8s_decode_ippool(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	const cJSON *spec, *bs;
	const char *cidr;
	uint32_t ip;
	struct ctl_pool *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, false, NULL, &p->name, &e) < 0 ||
	    dj_object(obj, "spec", &spec, &e) < 0 ||
	    dj_str(spec, "cidr", &cidr, &e) < 0 ||
	    encap_mode(spec, "ipipMode", &p->ipip, &e) < 0 ||
	    encap_mode(spec, "vxlanMode", &p->vxlan, &e) < 0 ||
	    dj_bool(spec, "natOutgoing", &p->nat_outgoing, &e) < 0 ||
	    dj_bool(spec, "disabled", &p->disabled, &e) < 0 ||
	    allowed_uses(spec, &p->allowed_uses, &e) < 0)
		goto out_err;
	if (cidr == NULL) {
		dj_fail(&e, "spec.cidr missing");
		goto out_err;
	}
	if (k8s_is_ipv6_cidr(cidr)) {
		/* Dual stack: kept, not routed (its blockSize is 116-128) */
		p->ipv6 = true;
		return p;
	}
	/* Go's ParseCIDR masks the address: so does Calico for pools */
	if (k8s_parse_cidr(cidr, &ip, &p->plen) < 0) {
		dj_fail(&e, "spec.cidr: bad IPv4 CIDR '%s'", cidr);
		goto out_err;
	}
	p->net = ip & k8s_plen_mask(p->plen);
	p->block_size = 26;
	bs = dj_get(spec, "blockSize");
	if (bs != NULL) {
		if (!cJSON_IsNumber(bs) || bs->valuedouble != (double)bs->valueint ||
		    bs->valueint < 20 || bs->valueint > 32) {
			dj_fail(&e, "spec.blockSize: must be an integer 20-32");
			goto out_err;
		}
		p->block_size = (uint8_t)bs->valueint;
	}
	if (p->block_size < p->plen) {
		dj_fail(&e, "spec.blockSize /%u is larger than the pool /%u",
			p->block_size, p->plen);
		goto out_err;
	}
	return p;

out_err:
	ctl_pool_free(p);
	return NULL;
}

/* Required network-aligned spec.cidr of a block or affinity; *@p ipv6
 * (net and plen left 0) for an IPv6 one. */
static int spec_net(const cJSON *spec, uint32_t *net, uint8_t *plen,
		    bool *ipv6, struct dj_err *e)
{
	const char *cidr;

	if (dj_str(spec, "cidr", &cidr, e) < 0)
		return -EINVAL;
	if (cidr == NULL)
		return dj_fail(e, "spec.cidr missing");
	*ipv6 = k8s_is_ipv6_cidr(cidr);
	if (*ipv6)
		return 0;
	if (k8s_parse_net(cidr, net, plen) < 0)
		return dj_fail(e, "spec.cidr: not an aligned IPv4 network '%s'",
			       cidr);
	return 0;
}

/* One allocated ordinal: copy its attribute's handle and secondary. */
static int block_alloc(struct ctl_block_alloc *a, const cJSON *attr,
		       struct dj_err *e)
{
	const cJSON *sec;
	const char *handle, *node, *ns, *pod;

	if (!cJSON_IsObject(attr))
		return dj_fail(e, "spec.attributes[]: not an object");
	if (dj_str(attr, "handle_id", &handle, e) < 0 ||
	    dj_object(attr, "secondary", &sec, e) < 0 ||
	    dj_str(sec, "node", &node, e) < 0 ||
	    dj_str(sec, "namespace", &ns, e) < 0 ||
	    dj_str(sec, "pod", &pod, e) < 0)
		return -EINVAL;
	if (dj_dup(handle, &a->handle, e) < 0 || dj_dup(node, &a->node, e) < 0 ||
	    dj_dup(ns, &a->ns, e) < 0 || dj_dup(pod, &a->pod, e) < 0)
		return -ENOMEM;
	return 0;
}

static int block_allocs(struct ctl_block *b, const cJSON *spec,
			struct dj_err *e)
{
	const cJSON *allocs, *attrs, *x;
	uint64_t size = 1ull << (32 - b->plen);
	int n_attrs, i = 0, n_used = 0;

	if (dj_array(spec, "allocations", &allocs, e) < 0 ||
	    dj_array(spec, "attributes", &attrs, e) < 0)
		return -EINVAL;
	if ((uint64_t)cJSON_GetArraySize(allocs) > size)
		return dj_fail(e, "spec.allocations: %d entries for a /%u",
			       cJSON_GetArraySize(allocs), b->plen);
	n_attrs = cJSON_GetArraySize(attrs);
	cJSON_ArrayForEach(x, allocs) {
		if (!cJSON_IsNull(x))
			n_used++;
	}
	if (n_used == 0)
		return 0;
	b->allocs = calloc((size_t)n_used, sizeof(*b->allocs));
	if (b->allocs == NULL)
		return dj_fail(e, "out of memory");
	cJSON_ArrayForEach(x, allocs) {
		struct ctl_block_alloc *a;

		if (cJSON_IsNull(x)) {
			i++;
			continue;
		}
		if (!cJSON_IsNumber(x) || x->valuedouble != (double)x->valueint ||
		    x->valueint < 0 || x->valueint >= n_attrs)
			return dj_fail(e, "spec.allocations[%d]: not an index into attributes (%d)",
				       i, n_attrs);
		a = &b->allocs[b->n_allocs++];
		a->ip = b->net + (uint32_t)i;
		if (block_alloc(a, cJSON_GetArrayItem(attrs, x->valueint), e) < 0)
			return -EINVAL;
		i++;
	}
	return 0;
}

void *k8s_decode_ipamblock(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	const cJSON *spec;
	const char *aff;
	struct ctl_block *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, false, NULL, &b->name, &e) < 0 ||
	    dj_object(obj, "spec", &spec, &e) < 0 ||
	    spec_net(spec, &b->net, &b->plen, &b->ipv6, &e) < 0 ||
	    dj_str(spec, "affinity", &aff, &e) < 0 ||
	    dj_bool(spec, "deleted", &b->deleted, &e) < 0)
		goto out_err;
	if (b->ipv6)
		return b; /* not routed: its allocations do not matter */
	/* AllocationBlock.Host(): only "host:<node>" names a node */
	if (aff != NULL && strncmp(aff, "host:", 5) == 0 && aff[5] != '\0' &&
	    dj_dup(aff + 5, &b->host, &e) < 0)
		goto out_err;
	if (block_allocs(b, spec, &e) < 0)
		goto out_err;
	return b;

out_err:
	ctl_block_free(b);
	return NULL;
}

/* spec.deleted: a string "true"/"false" in the v1 CRD, a bool in v3. */
static int affinity_deleted(const cJSON *spec, bool *deleted, struct dj_err *e)
{
	const cJSON *d = dj_get(spec, "deleted");

	*deleted = false;
	if (d == NULL)
		return 0;
	if (cJSON_IsBool(d)) {
		*deleted = cJSON_IsTrue(d);
		return 0;
	}
	if (cJSON_IsString(d) && strcmp(d->valuestring, "true") == 0)
		*deleted = true;
	else if (!cJSON_IsString(d) || (strcmp(d->valuestring, "false") != 0 &&
					d->valuestring[0] != '\0'))
		return dj_fail(e, "spec.deleted: not \"true\", \"false\" or a bool");
	return 0;
}

void *k8s_decode_blockaffinity(const cJSON *obj, char *err, size_t errlen)
{
	struct dj_err e = {err, errlen};
	const cJSON *spec;
	const char *node, *state;
	struct ctl_affinity *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		dj_fail(&e, "out of memory");
		return NULL;
	}
	if (dj_meta(obj, false, NULL, &a->name, &e) < 0 ||
	    dj_object(obj, "spec", &spec, &e) < 0 ||
	    spec_net(spec, &a->net, &a->plen, &a->ipv6, &e) < 0 ||
	    dj_str(spec, "node", &node, &e) < 0 ||
	    dj_str(spec, "state", &state, &e) < 0 ||
	    affinity_deleted(spec, &a->deleted, &e) < 0)
		goto out_err;
	if (node == NULL || *node == '\0') {
		dj_fail(&e, "spec.node missing");
		goto out_err;
	}
	if (state != NULL && strcmp(state, "confirmed") == 0) {
		a->state = CTL_AFF_CONFIRMED;
	} else if (state != NULL && strcmp(state, "pending") == 0) {
		a->state = CTL_AFF_PENDING;
	} else if (state != NULL && strcmp(state, "pendingDeletion") == 0) {
		a->state = CTL_AFF_PENDING_DELETION;
	} else {
		dj_fail(&e, "spec.state: unknown '%s'", state ? state : "");
		goto out_err;
	}
	if (dj_dup(node, &a->node, &e) < 0)
		goto out_err;
	return a;

out_err:
	ctl_affinity_free(a);
	return NULL;
}
