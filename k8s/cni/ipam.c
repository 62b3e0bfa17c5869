/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Calico-style IPAM through the Kubernetes API (calico-model.md §1.1-1.3).
 *
 * Every write is optimistic: a block is changed with a PUT that carries the
 * resourceVersion it was read at, and a 409 Conflict means "someone else
 * wrote first: read it again and redo the edit". Claims of new blocks rely
 * on create being atomic: the IPAMBlock POST either creates the block (it is
 * ours) or fails with 409 AlreadyExists (another node won it, or a sibling
 * ADD on this node did, in which case we use it too).
 *
 * Affine blocks are found by IPAMBlock.spec.affinity (what Felix routes on)
 * rather than by confirmed BlockAffinity objects alone, so concurrent ADDs on
 * one node see a block the moment it exists and do not each claim their own.
 *
 * The order is Calico's autoAssign (libcalico-go/lib/ipam/ipam.go): the
 * node's own blocks, then a new block (unless IPAMConfig autoAllocateBlocks
 * is false, or the node holds maxBlocksPerHost blocks already, which fails
 * the allocation as ErrBlockLimit does), then, unless IPAMConfig
 * strictAffinity is true, a "borrowed" address from any other block of the
 * pools. A borrowed address keeps secondary.node = this node, and every
 * other node routes it by a /32 to us (calico-model.md §2.2, control/
 * routes.c); the block keeps its affinity.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl/selector.h"
#include "dp/log.h"
#include "k8s/cni/cni.h"

#define CRD "/apis/crd.projectcalico.org/v1"

/* Bounds: concurrent writers on one block lose at most this often. */
#define PUT_RETRIES 200
/* New-block claims per allocation before giving up with -EAGAIN. */
#define CLAIM_ROUNDS 16

struct pool {
	uint32_t net;
	unsigned plen;
	unsigned bsize;
};

static void backoff(int attempt)
{
	/* 1-16 ms, jittered, so losers of a PUT race spread out. */
	unsigned ms = 1u + (unsigned)rand() % (attempt < 4 ? 4u : 16u);

	nanosleep(&(struct timespec){ .tv_nsec = (long)ms * 1000000L }, NULL);
}

/* GET @p path into @p out; 404 gives -ENOENT. */
static int api_get(struct cni_api *a, const char *path, cJSON **out,
		   char *err, size_t errlen)
{
	long http = 0;
	int rc = cni_api_call(a, "GET", path, NULL, NULL, &http, out, err,
			      errlen);

	if (rc < 0)
		return rc;
	if (http == 200 && *out != NULL)
		return 0;
	if (http == 404)
		rc = -ENOENT;
	else {
		cni_api_describe(http, *out, err, errlen);
		rc = -EPROTO;
	}
	cJSON_Delete(*out);
	*out = NULL;
	return rc;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

	if (b != NULL)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *label_lookup(const void *arg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(arg, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool pool_allows(const cJSON *spec, enum cni_ipam_use use,
			const cJSON *labels, char *err, size_t errlen)
{
	const cJSON *uses = cJSON_GetObjectItemCaseSensitive(spec, "allowedUses");
	const cJSON *dis = cJSON_GetObjectItemCaseSensitive(spec, "disabled");
	const char *want = use == CNI_IPAM_TUNNEL ? "Tunnel" : "Workload";
	const char *sel = str_at(spec, "nodeSelector", NULL);
	const char *ipip = str_at(spec, "ipipMode", NULL);
	bool ok = cJSON_GetArraySize(uses) == 0;
	const cJSON *u;
	struct acl_sel *s;
	char serr[128];

	if (cJSON_IsTrue(dis))
		return false;
	cJSON_ArrayForEach(u, uses)
		if (cJSON_IsString(u) && strcmp(u->valuestring, want) == 0)
			ok = true;
	/* The IPIP tunnel address comes from an IPIP pool (allocateip.go). */
	if (use == CNI_IPAM_TUNNEL &&
	    (ipip == NULL || !strcmp(ipip, "") || !strcmp(ipip, "Never")))
		ok = false;
	if (!ok)
		return false;
	s = acl_sel_parse(sel ? sel : "", serr, sizeof(serr));
	if (s == NULL) {
		KDP_LOG(WARNING, "kdp-cni: pool nodeSelector %s: %s", sel, serr);
		return false;
	}
	ok = acl_sel_eval(s, label_lookup, labels);
	acl_sel_free(s);
	return ok;
}

/* The IPv4 pools @p node may allocate from for @p use. */
static int load_pools(struct cni_api *a, const char *node,
		      enum cni_ipam_use use, struct pool **out, size_t *n,
		      char *err, size_t errlen)
{
	cJSON *pools = NULL, *nodeobj = NULL, *labels = NULL;
	char path[512];
	const cJSON *it;
	int rc;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	rc = api_get(a, path, &nodeobj, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	labels = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(nodeobj, "metadata"), "labels");
	rc = api_get(a, CRD "/ippools", &pools, err, errlen);
	if (rc < 0)
		goto out;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(pools, "items")) {
		const cJSON *spec = cJSON_GetObjectItemCaseSensitive(it, "spec");
		const cJSON *bs = cJSON_GetObjectItemCaseSensitive(spec,
								  "blockSize");
		struct pool p, *np;

		if (cni_cidr_parse(str_at(spec, "cidr", NULL), &p.net,
				   &p.plen) < 0)
			continue; /* IPv6 or malformed */
		p.bsize = cJSON_IsNumber(bs) ? (unsigned)bs->valueint : 26;
		if (p.bsize < 20 || p.bsize > 32 || p.bsize < p.plen ||
		    !pool_allows(spec, use, labels, err, errlen))
			continue;
		np = realloc(*out, (*n + 1) * sizeof(*np));
		if (np == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		*out = np;
		np[(*n)++] = p;
	}
	rc = 0;
out:
	cJSON_Delete(nodeobj);
	cJSON_Delete(pools);
	return rc;
}

static bool in_pools(const struct pool *p, size_t n, uint32_t net,
		     unsigned plen)
{
	for (size_t i = 0; i < n; i++)
		if (plen == p[i].bsize &&
		    (net & ~((1ull << (32 - p[i].plen)) - 1)) == p[i].net)
			return true;
	return false;
}

static bool block_deleted(const cJSON *block)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(block, "spec");

	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "deleted"));
}

/* An edit of a block spec: > 0 to write it, < 0 (-errno) to stop. */
typedef int (*block_edit_fn)(cJSON *spec, void *arg);

/*
 * Apply @p edit to block @p name (starting from the copy in @p block, which
 * is consumed) and PUT it, re-reading on conflict.
 * @return 0 once written, -ENOENT when the block went away, or the edit's /
 *   API error.
 */

static int edit_block(struct cni_api *a, const char *name, cJSON *block,
		      block_edit_fn edit, void *arg, char *err, size_t errlen)
{
	char path[256];
	int rc = -EAGAIN;

	snprintf(path, sizeof(path), CRD "/ipamblocks/%s", name);
	for (int i = 0; i < PUT_RETRIES; i++) {
		cJSON *resp = NULL;
		long http = 0;

		if (block == NULL) {
			rc = api_get(a, path, &block, err, errlen);
			if (rc < 0)
				return rc;
		}
		if (block_deleted(block)) {
			rc = -ENOENT;
			break;
		}
		rc = edit(cJSON_GetObjectItemCaseSensitive(block, "spec"), arg);
		if (rc < 0)
			break;
		rc = cni_api_call(a, "PUT", path, NULL, block, &http, &resp,
				  err, errlen);
		cJSON_Delete(block);
		block = NULL;
		if (rc < 0) {
			cJSON_Delete(resp);
			return rc;
		}
		if (http == 200) {
			cJSON_Delete(resp);
			return 0;
		}
		if (http == 404) {
			cJSON_Delete(resp);
			return -ENOENT;
		}
		if (http != 409) {
			cni_api_describe(http, resp, err, errlen);
			cJSON_Delete(resp);
			return -EPROTO;
		}
		cJSON_Delete(resp);
		backoff(i);
		rc = -EAGAIN;
	}
	cJSON_Delete(block);
	if (rc == -EAGAIN)
		snprintf(err, errlen, "block %s: still conflicting after %d "
			 "writes", name, PUT_RETRIES);
	return rc;
}

struct alloc_arg {
	const char *handle;
	const cJSON *secondary;
	uint32_t ip;
};

/* Returns 1 (write needed), -ENOSPC or -EINVAL. */
static int edit_alloc(cJSON *spec, void *arg)
{
	struct alloc_arg *x = arg;
	int rc = cni_block_alloc(spec, x->handle, x->secondary, &x->ip);

	return rc < 0 ? rc : 1;
}

struct release_arg {
	const char *handle;
	int released;
};

/* Returns 1 (write needed), -ENODATA (nothing held here), or -errno. */
static int edit_release(cJSON *spec, void *arg)
{
	struct release_arg *x = arg;
	int rc = cni_block_release(spec, x->handle);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENODATA;
	x->released = rc;
	return 1;
}

static int list_blocks(struct cni_api *a, cJSON **blocks, char *err,
		       size_t errlen)
{
	return api_get(a, CRD "/ipamblocks", blocks, err, errlen);
}

/* Create BlockAffinity @p name (state pending) or find it already there. */
static int affinity_create(struct cni_api *a, const char *name,
			   const char *node, const char *cidr, char *err,
			   size_t errlen)
{
	cJSON *o = cJSON_CreateObject(), *meta, *labels, *spec, *resp = NULL;
	long http = 0;
	int rc = -ENOMEM;

	if (o == NULL)
		return -ENOMEM;
	cJSON_AddStringToObject(o, "apiVersion", "crd.projectcalico.org/v1");
	cJSON_AddStringToObject(o, "kind", "BlockAffinity");
	meta = cJSON_AddObjectToObject(o, "metadata");
	spec = cJSON_AddObjectToObject(o, "spec");
	if (meta == NULL || spec == NULL)
		goto out;
	cJSON_AddStringToObject(meta, "name", name);
	labels = cJSON_AddObjectToObject(meta, "labels");
	cJSON_AddStringToObject(labels, "projectcalico.org/affinity-type",
				"host");
	cJSON_AddStringToObject(labels, "projectcalico.org/ip-version", "4");
	cJSON_AddStringToObject(spec, "cidr", cidr);
	cJSON_AddStringToObject(spec, "deleted", "false");
	cJSON_AddStringToObject(spec, "node", node);
	cJSON_AddStringToObject(spec, "state", "pending");
	cJSON_AddStringToObject(spec, "type", "host");
	rc = cni_api_call(a, "POST", CRD "/blockaffinities", NULL, o, &http,
			  &resp, err, errlen);
	if (rc == 0 && http != 201 && http != 409) {
		cni_api_describe(http, resp, err, errlen);
		rc = -EPROTO;
	}
out:
	cJSON_Delete(resp);
	cJSON_Delete(o);
	return rc;
}

static int affinity_set(struct cni_api *a, const char *name, bool confirm,
			char *err, size_t errlen)
{
	char path[512];
	cJSON *resp = NULL, *patch;
	long http = 0;
	int rc;

	snprintf(path, sizeof(path), CRD "/blockaffinities/%s", name);
	if (!confirm) {
		rc = cni_api_call(a, "DELETE", path, NULL, NULL, &http, &resp,
				  err, errlen);
		cJSON_Delete(resp);
		return rc;
	}
	patch = cJSON_Parse("{\"spec\":{\"state\":\"confirmed\"}}");
	rc = cni_api_merge_patch(a, path, patch, err, errlen);
	cJSON_Delete(patch);
	return rc;
}

/*
 * Claim one free block for @p node from @p pools (skipping names present in
 * @p blocks). @p got receives the block name.
 * @return 0, -ENOSPC when every pool is full, or an API error.
 */
static int claim_block(struct cni_api *a, const char *node,
		       const struct pool *pools, size_t n_pools,
		       const cJSON *blocks, char *got, size_t gotlen,
		       char *err, size_t errlen)
{
	for (size_t p = 0; p < n_pools; p++) {
		uint64_t count = 1ull << (pools[p].bsize - pools[p].plen);

		for (uint64_t i = 0; i < count; i++) {
			uint32_t net = pools[p].net +
				       (uint32_t)(i << (32 - pools[p].bsize));
			char name[32], aff[512], cidr[40], ip[16], ts[64];
			cJSON *blk, *resp = NULL;
			bool taken = false;
			const cJSON *it;
			long http = 0;
			int rc;

			cni_block_name(net, pools[p].bsize, name, sizeof(name));
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(
						       blocks, "items")) {
				const char *nm = str_at(it, "metadata", "name");

				if (nm != NULL && strcmp(nm, name) == 0)
					taken = true;
			}
			if (taken)
				continue;
			cni_ip_str(net, ip);
			snprintf(cidr, sizeof(cidr), "%s/%u", ip,
				 pools[p].bsize);
			snprintf(aff, sizeof(aff), "%s-%s", node, name);
			rc = affinity_create(a, aff, node, cidr, err, errlen);
			if (rc < 0)
				return rc;
			cni_timestamp(ts, sizeof(ts));
			blk = cni_block_new(net, pools[p].bsize, node, ts);
			if (blk == NULL)
				return -ENOMEM;
			rc = cni_api_call(a, "POST", CRD "/ipamblocks", NULL,
					  blk, &http, &resp, err, errlen);
			cJSON_Delete(blk);
			cJSON_Delete(resp);
			if (rc < 0)
				return rc;
			if (http == 409) {
				/* Ours anyway when a sibling ADD won it. */
				char path[256], want[300];
				const char *has;

				snprintf(path, sizeof(path),
					 CRD "/ipamblocks/%s", name);
				snprintf(want, sizeof(want), "host:%s", node);
				resp = NULL;
				rc = api_get(a, path, &resp, err, errlen);
				has = str_at(resp, "spec", "affinity");
				taken = rc < 0 || has == NULL ||
					strcmp(has, want) != 0 ||
					block_deleted(resp);
				cJSON_Delete(resp);
				if (rc < 0 && rc != -ENOENT)
					return rc;
				if (taken) {
					affinity_set(a, aff, false, err,
						     errlen);
					continue;
				}
			} else if (http != 201) {
				cni_api_describe(http, NULL, err, errlen);
				return -EPROTO;
			}
			rc = affinity_set(a, aff, true, err, errlen);
			if (rc < 0)
				return rc;
			KDP_LOG(INFO, "kdp-cni: node %s claimed block %s", node,
				cidr);
			snprintf(got, gotlen, "%s", name);
			return 0;
		}
	}
	snprintf(err, errlen, "no free block left in the IP pools for node %s",
		 node);
	return -ENOSPC;
}

/* The address @p handle holds in any block listed in @p blocks. */
static int find_in(const cJSON *blocks, const char *handle, uint32_t *ip)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(blocks,
								"items")) {
		if (!block_deleted(it) &&
		    cni_block_find(cJSON_GetObjectItemCaseSensitive(it, "spec"),
				   handle, ip) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The name of listed block @p it when it is live and a block of @p pools. */
static const char *pool_block(const cJSON *it, const struct pool *pools,
			      size_t n_pools)
{
	const char *name = str_at(it, "metadata", "name");
	uint32_t net;
	unsigned plen;

	if (name == NULL || block_deleted(it) ||
	    cni_cidr_parse(str_at(it, "spec", "cidr"), &net, &plen) < 0 ||
	    !in_pools(pools, n_pools, net, plen))
		return NULL;
	return name;
}

static bool affine_to(const cJSON *block, const char *node)
{
	const char *aff = str_at(block, "spec", "affinity");

	return aff != NULL && strncmp(aff, "host:", 5) == 0 &&
	       strcmp(aff + 5, node) == 0;
}

/* Allocate from block @p it; 0, or -ENOSPC when full or gone, or error. */
static int alloc_in(struct cni_api *a, const char *name, const cJSON *it,
		    struct alloc_arg *x, char *err, size_t errlen)
{
	int rc = edit_block(a, name, cJSON_Duplicate(it, true), edit_alloc, x,
			    err, errlen);

	return rc == -ENOENT ? -ENOSPC : rc;
}

/* Try each block affine to @p node; 0 with x->ip, or -ENOSPC / error. */
static int alloc_affine(struct cni_api *a, const char *node,
			const struct pool *pools, size_t n_pools,
			const cJSON *blocks, struct alloc_arg *x, char *err,
			size_t errlen)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(blocks,
								"items")) {
		const char *name = pool_block(it, pools, n_pools);
		int rc;

		if (name == NULL || !affine_to(it, node))
			continue;
		rc = alloc_in(a, name, it, x, err, errlen);
		if (rc != -ENOSPC)
			return rc;
	}
	return -ENOSPC;
}

/* Live blocks of @p pools affine to @p node: what maxBlocksPerHost caps. */
static unsigned count_affine(const char *node, const struct pool *pools,
			     size_t n_pools, const cJSON *blocks)
{
	unsigned n = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(blocks,
								"items"))
		if (pool_block(it, pools, n_pools) != NULL &&
		    affine_to(it, node))
			n++;
	return n;
}

/*
 * Borrow: an address from any other live block of @p pools, pool by pool,
 * whoever the block is affine to (another node, or none). Each node starts
 * its walk at its own place in the list, as Calico's randomBlockGenerator
 * seeds its shuffle with the host name, so that nodes borrowing at once
 * spread over the blocks instead of all racing for the first one.
 * @return 0 with x->ip, -ENOSPC when no block has a free address, or error.
 */
static int alloc_borrow(struct cni_api *a, const char *node,
			const struct pool *pools, size_t n_pools,
			const cJSON *blocks, struct alloc_arg *x, char *err,
			size_t errlen)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(blocks, "items");
	int n = cJSON_GetArraySize(items);
	uint32_t h = 2166136261u; /* FNV-1a */
	const cJSON *first;

	if (n == 0)
		return -ENOSPC;
	for (const char *c = node; *c != '\0'; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	first = cJSON_GetArrayItem(items, (int)(h % (uint32_t)n));
	for (size_t p = 0; p < n_pools; p++) {
		const cJSON *it = first;

		do {
			const char *name = pool_block(it, &pools[p], 1);
			char ip[16];
			int rc;

			if (name != NULL && !affine_to(it, node)) {
				rc = alloc_in(a, name, it, x, err, errlen);
				if (rc == 0) {
					cni_ip_str(x->ip, ip);
					KDP_LOG(INFO, "kdp-cni: node %s borrowed "
						"%s from block %s", node, ip,
						name);
				}
				if (rc != -ENOSPC)
					return rc;
			}
			it = it->next != NULL ? it->next : items->child;
		} while (it != first);
	}
	return -ENOSPC;
}

/* IPAMConfig "default": Calico's defaults when there is none (404). */
static int load_config(struct cni_api *a, struct cni_ipam_config *cfg,
		       char *err, size_t errlen)
{
	cJSON *obj = NULL;
	int rc = api_get(a, CRD "/ipamconfigs/default", &obj, err, errlen);

	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = cni_ipam_config_parse(obj, cfg, err, errlen);
	cJSON_Delete(obj);
	return rc;
}

/*
 * Past the node's full blocks: claim a new one (0: go round again), or
 * borrow (0 with x->ip). -ENOSPC has @p err say what was tried and what
 * the IPAMConfig ruled out.
 */
static int claim_or_borrow(struct cni_api *a, const char *node,
			   const struct cni_ipam_config *cfg,
			   const struct pool *pools, size_t n_pools,
			   const cJSON *blocks, struct alloc_arg *x,
			   bool *claimed, char *err, size_t errlen)
{
	char name[64], head[400];
	unsigned owned = count_affine(node, pools, n_pools, blocks);
	int rc;

	*claimed = false;
	if (!cfg->auto_allocate_blocks) {
		snprintf(head, sizeof(head), "node %s has no free address in "
			 "its blocks and IPAMConfig autoAllocateBlocks is "
			 "false", node);
	} else if (owned >= cfg->max_blocks_per_host) {
		/* Calico fails here (ErrBlockLimit) and does not borrow. */
		snprintf(err, errlen, "node %s has no free address in its %u "
			 "blocks and may not claim another: the limit is %u "
			 "blocks per host (IPAMConfig maxBlocksPerHost; %d "
			 "when unset)", node, owned, cfg->max_blocks_per_host,
			 CNI_IPAM_DEFAULT_MAX_BLOCKS);
		return -ENOSPC;
	} else {
		rc = claim_block(a, node, pools, n_pools, blocks, name,
				 sizeof(name), err, errlen);
		*claimed = rc == 0;
		if (rc != -ENOSPC)
			return rc;
		snprintf(head, sizeof(head), "no free block left in the IP "
			 "pools for node %s", node);
	}
	if (cfg->strict_affinity) {
		snprintf(err, errlen, "%s, and borrowing from other nodes' "
			 "blocks is disabled (IPAMConfig strictAffinity)", head);
		return -ENOSPC;
	}
	rc = alloc_borrow(a, node, pools, n_pools, blocks, x, err, errlen);
	if (rc == -ENOSPC)
		snprintf(err, errlen, "%s, and no other block of the pools has "
			 "a free address to borrow", head);
	return rc;
}

int cni_ipam_alloc(struct cni_api *a, const char *node, enum cni_ipam_use use,
		   const char *handle, const cJSON *secondary, uint32_t *ip,
		   char *err, size_t errlen)
{
	struct alloc_arg x = { .handle = handle, .secondary = secondary };
	struct cni_ipam_config cfg;
	struct pool *pools = NULL;
	size_t n_pools = 0;
	int rc;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	rc = load_pools(a, node, use, &pools, &n_pools, err, errlen);
	if (rc < 0)
		return rc;
	if (n_pools == 0) {
		snprintf(err, errlen, "no enabled IPv4 pool allows node %s%s",
			 node, use == CNI_IPAM_TUNNEL ? " (IPIP, Tunnel)" : "");
		free(pools);
		return -ENOSPC;
	}
	rc = load_config(a, &cfg, err, errlen);
	for (int round = 0; rc == 0 && round < CLAIM_ROUNDS; round++) {
		cJSON *blocks = NULL;
		bool claimed = false;

		rc = list_blocks(a, &blocks, err, errlen);
		if (rc < 0)
			break;
		if (find_in(blocks, handle, ip) == 0) {
			cJSON_Delete(blocks);
			break;
		}
		rc = alloc_affine(a, node, pools, n_pools, blocks, &x, err,
				  errlen);
		if (rc == -ENOSPC)
			rc = claim_or_borrow(a, node, &cfg, pools, n_pools,
					     blocks, &x, &claimed, err,
					     errlen);
		cJSON_Delete(blocks);
		if (rc < 0)
			break;
		if (!claimed) {
			*ip = x.ip;
			break;
		}
		/* Fill the new block on the next round (siblings may race). */
		rc = round + 1 < CLAIM_ROUNDS ? 0 : -EAGAIN;
	}
	if (rc == -EAGAIN)
		snprintf(err, errlen, "IPAM: no address after %d block claims",
			 CLAIM_ROUNDS);
	free(pools);
	return rc;
}

int cni_ipam_release(struct cni_api *a, const char *handle, char *err,
		     size_t errlen)
{
	cJSON *blocks = NULL;
	const cJSON *it;
	int total = 0, rc;

	rc = list_blocks(a, &blocks, err, errlen);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(blocks,
								"items")) {
		struct release_arg x = { .handle = handle };
		const char *name = str_at(it, "metadata", "name");
		uint32_t ip;

		if (name == NULL ||
		    cni_block_find(cJSON_GetObjectItemCaseSensitive(it, "spec"),
				   handle, &ip) < 0)
			continue;
		rc = edit_block(a, name, cJSON_Duplicate(it, true),
				edit_release, &x, err, errlen);
		if (rc == -ENODATA || rc == -ENOENT)
			continue; /* released meanwhile: fine */
		if (rc < 0) {
			total = rc;
			break;
		}
		total += x.released;
	}
	cJSON_Delete(blocks);
	return total;
}

int cni_ipam_lookup(struct cni_api *a, const char *handle, uint32_t *ip,
		    char *err, size_t errlen)
{
	cJSON *blocks = NULL;
	int rc = list_blocks(a, &blocks, err, errlen);

	if (rc < 0)
		return rc;
	rc = find_in(blocks, handle, ip);
	cJSON_Delete(blocks);
	return rc;
}
