/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route computation after Felix's l3_route_resolver.go routesFromBlock and
 * the IPIP route manager (calico-model.md §2), with routeSource=CalicoIPAM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/routes.h"
#include "dp/log.h"
#include "k8s/decode.h"

enum pool_type { PT_NONE, PT_NO_ENCAP, PT_IPIP, PT_VXLAN };

/*
 * When two candidate routes have the same (net, plen), the lower rank wins:
 * a local pod's /32 beats everything (the pod is really here, IPAM data about
 * it elsewhere is stale), then a local block's blackhole, then a /32 derived
 * from a block allocation (borrowed or unaffine IP), then a remote block
 * route, then a tunnel-address /32 derived from a Node annotation.
 */
enum rt_rank {
	RANK_LOCAL_POD,
	RANK_LOCAL_BLOCK,
	RANK_ALLOC,
	RANK_REMOTE_BLOCK,
	RANK_TUNNEL,
};

struct rt_cand {
	struct ctl_route r;
	enum rt_rank rank;
};

struct rt_ctx {
	const struct ctl_store *st;
	const char *self;
	const struct ctl_node *self_node;
	size_t n_pools;
	const struct ctl_pool **pools;
	size_t n_blocks;
	const struct ctl_block **blocks;
	/* Live blocks sorted by (net, plen, order in blocks[]) and the prefix
	 * lengths present: block_of() looks up each length, longest first,
	 * instead of scanning every block for every node. */
	size_t n_live;
	const struct ctl_block **live;
	uint64_t live_plens;
	size_t n, cap;
	struct rt_cand *c;
	int err;
};

static bool in_prefix(uint32_t ip, uint32_t net, uint8_t plen)
{
	return ((ip ^ net) & k8s_plen_mask(plen)) == 0;
}

static enum pool_type pool_type(const struct ctl_pool *p)
{
	/* §2.1: a pool used only for LoadBalancer gets no routes */
	if (!(p->allowed_uses & (CTL_USE_WORKLOAD | CTL_USE_TUNNEL)))
		return PT_NONE;
	if (p->vxlan != CTL_ENCAP_NEVER)
		return PT_VXLAN;
	if (p->ipip != CTL_ENCAP_NEVER)
		return PT_IPIP;
	return PT_NO_ENCAP;
}

static bool pool_cross_subnet(const struct ctl_pool *p)
{
	return p->ipip == CTL_ENCAP_CROSS_SUBNET ||
	       p->vxlan == CTL_ENCAP_CROSS_SUBNET;
}

/* Longest-prefix pool containing net/plen, over every pool. */
static const struct ctl_pool *pool_of(const struct rt_ctx *x, uint32_t net,
				      uint8_t plen)
{
	const struct ctl_pool *best = NULL;

	for (size_t i = 0; i < x->n_pools; i++) {
		const struct ctl_pool *p = x->pools[i];

		if (p->plen <= plen && in_prefix(net, p->net, p->plen) &&
		    (best == NULL || p->plen > best->plen))
			best = p;
	}
	return best;
}

static int add(struct rt_ctx *x, uint32_t net, uint8_t plen,
	       enum ctl_route_kind kind, enum rt_rank rank, uint32_t via,
	       const char *node, const char *pod_ns, const char *pod_name)
{
	struct rt_cand *c;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		void *v = realloc(x->c, cap * sizeof(*x->c));

		if (v == NULL)
			return x->err = -ENOMEM;
		x->c = v;
		x->cap = cap;
	}
	c = &x->c[x->n];
	memset(c, 0, sizeof(*c));
	c->r.net = net & k8s_plen_mask(plen);
	c->r.plen = plen;
	c->r.kind = kind;
	c->r.via = via;
	c->rank = rank;
	c->r.node = node ? strdup(node) : NULL;
	c->r.pod_ns = pod_ns ? strdup(pod_ns) : NULL;
	c->r.pod_name = pod_name ? strdup(pod_name) : NULL;
	x->n++; /* counted before the check so the strings are freed */
	if ((node && !c->r.node) || (pod_ns && !c->r.pod_ns) ||
	    (pod_name && !c->r.pod_name))
		return x->err = -ENOMEM;
	return 0;
}

/*
 * §2.3: a route to remote node @p dst for a prefix in @p pool. Nothing when
 * the node or its IP is unknown, or the pool's encap is one kdp lacks.
 */
static int add_remote(struct rt_ctx *x, const struct ctl_pool *pool,
		      uint32_t net, uint8_t plen, const char *dst,
		      enum rt_rank rank)
{
	const struct ctl_node *n = ctl_store_get(x->st, CTL_RES_NODE, NULL, dst);
	const struct ctl_node *self = x->self_node;
	enum ctl_route_kind kind;

	if (n == NULL || n->ip == 0)
		return 0;
	switch (pool_type(pool)) {
	case PT_IPIP:
		/* SameSubnet tests the local node's annotation CIDR */
		kind = pool_cross_subnet(pool) && self != NULL && self->ip != 0 &&
		       in_prefix(n->ip, self->ip, self->plen) ?
			       CTL_RT_DIRECT : CTL_RT_IPIP;
		break;
	case PT_NO_ENCAP:
		kind = CTL_RT_DIRECT;
		break;
	default:
		KDP_LOG(DEBUG, "routes: %s pool %s: encap not supported, no route",
			dst, pool->name);
		return 0;
	}
	return add(x, net, plen, kind, rank, n->ip, dst, NULL, NULL);
}

/* §2.2 and §2.4: routes of one IPAM block. */
static int block_routes(struct rt_ctx *x, const struct ctl_block *b)
{
	const struct ctl_pool *pool = pool_of(x, b->net, b->plen);
	const char *h = b->host;

	if (b->deleted || pool == NULL || pool_type(pool) == PT_NONE)
		return 0;
	if (h != NULL && strcmp(h, x->self) == 0) {
		if (b->plen != 32 &&
		    add(x, b->net, b->plen, CTL_RT_BLACKHOLE, RANK_LOCAL_BLOCK,
			0, NULL, NULL, NULL) < 0)
			return x->err;
	} else if (h != NULL &&
		   add_remote(x, pool, b->net, b->plen, h, RANK_REMOTE_BLOCK) < 0) {
		return x->err;
	}
	for (size_t i = 0; i < b->n_allocs; i++) {
		const struct ctl_block_alloc *a = &b->allocs[i];

		if (a->node == NULL || a->node[0] == '\0') {
			KDP_LOG(WARNING, "routes: block %s: allocation %u.%u.%u.%u has no node, skipped",
				b->name, a->ip >> 24, (a->ip >> 16) & 0xff,
				(a->ip >> 8) & 0xff, a->ip & 0xff);
			continue;
		}
		/* same node as the block: the block route covers it; ours: the
		 * local pod route does */
		if ((h != NULL && strcmp(a->node, h) == 0) ||
		    strcmp(a->node, x->self) == 0)
			continue;
		if (add_remote(x, pool, a->ip, 32, a->node, RANK_ALLOC) < 0)
			return x->err;
	}
	return 0;
}

static int cmp_live(const void *a, const void *b)
{
	const struct ctl_block *x = *(const struct ctl_block *const *)a;
	const struct ctl_block *y = *(const struct ctl_block *const *)b;

	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	/* Two blocks with one CIDR (a broken cluster): pick by name, so the
	 * result does not depend on store order. */
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int index_blocks(struct rt_ctx *x)
{
	x->live = calloc(x->n_blocks + 1, sizeof(*x->live));
	if (x->live == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < x->n_blocks; i++) {
		if (x->blocks[i]->deleted)
			continue;
		x->live[x->n_live++] = x->blocks[i];
		x->live_plens |= 1ull << x->blocks[i]->plen;
	}
	qsort(x->live, x->n_live, sizeof(*x->live), cmp_live);
	return 0;
}

/* The first live block with exactly net/plen, or NULL. */
static const struct ctl_block *live_find(const struct rt_ctx *x, uint32_t net,
					 uint8_t plen)
{
	size_t lo = 0, hi = x->n_live;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ctl_block *b = x->live[mid];

		if (b->net < net || (b->net == net && b->plen < plen))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->n_live && x->live[lo]->net == net &&
	    x->live[lo]->plen == plen)
		return x->live[lo];
	return NULL;
}

/* Longest-prefix live block holding @p ip. */
static const struct ctl_block *block_of(const struct rt_ctx *x, uint32_t ip)
{
	for (int plen = 32; plen >= 0; plen--) {
		const struct ctl_block *b;

		if (!(x->live_plens & (1ull << plen)))
			continue;
		b = live_find(x, ip & k8s_plen_mask((uint8_t)plen),
			      (uint8_t)plen);
		if (b != NULL)
			return b;
	}
	return NULL;
}

/*
 * §2.5: a remote node's tunnel address needs its own /32 only when it is
 * borrowed (its block belongs to another host or none); a tunnel IP in the
 * node's own block, or its own /32 block, is covered by the block route.
 */
static int tunnel_route(struct rt_ctx *x, const struct ctl_node *n)
{
	const struct ctl_block *b;
	const struct ctl_pool *pool;

	if (n->tunnel_ip == 0 || strcmp(n->name, x->self) == 0)
		return 0;
	b = block_of(x, n->tunnel_ip);
	if (b == NULL || (b->host != NULL && strcmp(b->host, n->name) == 0))
		return 0;
	pool = pool_of(x, b->net, b->plen);
	if (pool == NULL || pool_type(pool) == PT_NONE)
		return 0;
	return add_remote(x, pool, n->tunnel_ip, 32, n->name, RANK_TUNNEL);
}

/* IPv6 pools and blocks (dual stack) are stored but never routed. */
static int collect_pool(void *arg, const void *d, const cJSON *raw)
{
	struct rt_ctx *x = arg;
	const struct ctl_pool *p = d;

	if (!p->ipv6)
		x->pools[x->n_pools++] = p;
	return 0;
}

static int collect_block(void *arg, const void *d, const cJSON *raw)
{
	struct rt_ctx *x = arg;
	const struct ctl_block *b = d;

	if (!b->ipv6)
		x->blocks[x->n_blocks++] = b;
	return 0;
}

static int pod_routes(void *arg, const void *d, const cJSON *raw)
{
	struct rt_ctx *x = arg;
	const struct ctl_pod *p = d;

	if (p->host_network || p->node == NULL || strcmp(p->node, x->self) != 0)
		return 0;
	for (size_t i = 0; i < p->n_ips; i++)
		if (add(x, p->ips[i], 32, CTL_RT_LOCAL_POD, RANK_LOCAL_POD, 0,
			NULL, p->ns, p->name) < 0)
			return x->err;
	return 0;
}

static int tunnel_visit(void *arg, const void *d, const cJSON *raw)
{
	return tunnel_route(arg, d);
}

static int cmp_cand(const void *a, const void *b)
{
	const struct rt_cand *x = a, *y = b;

	if (x->r.net != y->r.net)
		return x->r.net < y->r.net ? -1 : 1;
	if (x->r.plen != y->r.plen)
		return x->r.plen < y->r.plen ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	/* Deterministic among equals, whatever order the store gives them
	 * in: by node, then by pod namespace and name (two local pods that
	 * claim one address may share a name in two namespaces). */
	int c = strcmp(x->r.node ? x->r.node : "", y->r.node ? y->r.node : "");

	if (c == 0)
		c = strcmp(x->r.pod_ns ? x->r.pod_ns : "",
			   y->r.pod_ns ? y->r.pod_ns : "");
	if (c == 0)
		c = strcmp(x->r.pod_name ? x->r.pod_name : "",
			   y->r.pod_name ? y->r.pod_name : "");
	return c;
}

static void route_clear(struct ctl_route *r)
{
	free(r->node);
	free(r->pod_ns);
	free(r->pod_name);
}

/* Sort, keep the first (winning) candidate per prefix, move into @p out. */
static int finish_routes(struct rt_ctx *x, struct ctl_route_set *out)
{
	size_t n = 0;

	if (x->n == 0)
		return 0;
	qsort(x->c, x->n, sizeof(*x->c), cmp_cand);
	out->v = calloc(x->n, sizeof(*out->v));
	if (out->v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < x->n; i++) {
		if (n > 0 && out->v[n - 1].net == x->c[i].r.net &&
		    out->v[n - 1].plen == x->c[i].r.plen) {
			route_clear(&x->c[i].r);
			continue;
		}
		out->v[n++] = x->c[i].r;
	}
	x->n = 0; /* ownership moved */
	out->n = n;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int node_ip_visit(void *arg, const void *d, const cJSON *raw)
{
	struct ctl_route_set *out = arg;
	const struct ctl_node *n = d;

	if (n->ip != 0)
		out->node_ips[out->n_node_ips++] = n->ip;
	return 0;
}

static int finish_node_ips(const struct ctl_store *st, struct ctl_route_set *out)
{
	size_t n = ctl_store_count(st, CTL_RES_NODE), k = 0;

	out->node_ips = calloc(n ? n : 1, sizeof(*out->node_ips));
	if (out->node_ips == NULL)
		return -ENOMEM;
	ctl_store_foreach(st, CTL_RES_NODE, node_ip_visit, out);
	qsort(out->node_ips, out->n_node_ips, sizeof(uint32_t), cmp_u32);
	for (size_t i = 0; i < out->n_node_ips; i++)
		if (k == 0 || out->node_ips[k - 1] != out->node_ips[i])
			out->node_ips[k++] = out->node_ips[i];
	out->n_node_ips = k;
	return 0;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct ctl_pool *x = *(const struct ctl_pool *const *)a;
	const struct ctl_pool *y = *(const struct ctl_pool *const *)b;

	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return (int)x->plen - (int)y->plen;
}

static int finish_pools(struct rt_ctx *x, struct ctl_route_set *out)
{
	size_t n = x->n_pools ? x->n_pools : 1;

	out->pool_nets = calloc(n, sizeof(*out->pool_nets));
	out->pool_plens = calloc(n, sizeof(*out->pool_plens));
	out->pool_nat = calloc(n, sizeof(*out->pool_nat));
	if (out->pool_nets == NULL || out->pool_plens == NULL ||
	    out->pool_nat == NULL)
		return -ENOMEM;
	qsort(x->pools, x->n_pools, sizeof(*x->pools), cmp_pool);
	for (size_t i = 0; i < x->n_pools; i++) {
		const struct ctl_pool *p = x->pools[i];

		/* §2.7: any pool with ipipMode set enables IPIP */
		if (p->ipip != CTL_ENCAP_NEVER)
			out->ipip_enabled = true;
		if (pool_type(p) == PT_NONE)
			continue;
		if (out->n_pools > 0 &&
		    out->pool_nets[out->n_pools - 1] == p->net &&
		    out->pool_plens[out->n_pools - 1] == p->plen) {
			out->pool_nat[out->n_pools - 1] |= p->nat_outgoing;
			continue;
		}
		out->pool_nets[out->n_pools] = p->net;
		out->pool_plens[out->n_pools] = p->plen;
		out->pool_nat[out->n_pools] = p->nat_outgoing;
		out->n_pools++;
	}
	return 0;
}

int ctl_routes_compute(const struct ctl_store *st, const char *self,
		       struct ctl_route_set *out)
{
	struct rt_ctx x = {.st = st, .self = self ? self : ""};
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	x.self_node = ctl_store_get(st, CTL_RES_NODE, NULL, x.self);
	if (x.self_node != NULL) {
		out->self_ip = x.self_node->ip;
		out->self_plen = x.self_node->plen;
		out->self_tunnel_ip = x.self_node->tunnel_ip;
	}
	x.pools = calloc(ctl_store_count(st, CTL_RES_IPPOOL) + 1, sizeof(*x.pools));
	x.blocks = calloc(ctl_store_count(st, CTL_RES_IPAMBLOCK) + 1,
			  sizeof(*x.blocks));
	if (x.pools == NULL || x.blocks == NULL)
		goto out;
	ctl_store_foreach(st, CTL_RES_IPPOOL, collect_pool, &x);
	ctl_store_foreach(st, CTL_RES_IPAMBLOCK, collect_block, &x);
	if (index_blocks(&x) < 0)
		goto out;

	for (size_t i = 0; i < x.n_blocks; i++)
		if (block_routes(&x, x.blocks[i]) < 0)
			goto out;
	if (ctl_store_foreach_pod_on_node(st, x.self, pod_routes, &x) < 0 ||
	    ctl_store_foreach(st, CTL_RES_NODE, tunnel_visit, &x) < 0)
		goto out;
	if (finish_routes(&x, out) < 0 || finish_node_ips(st, out) < 0 ||
	    finish_pools(&x, out) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < x.n; i++)
		route_clear(&x.c[i].r);
	free(x.c);
	free(x.pools);
	free(x.blocks);
	free(x.live);
	if (rc < 0)
		ctl_routes_free(out);
	return rc;
}

void ctl_routes_free(struct ctl_route_set *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		route_clear(&rs->v[i]);
	free(rs->v);
	free(rs->node_ips);
	free(rs->pool_nets);
	free(rs->pool_plens);
	free(rs->pool_nat);
	memset(rs, 0, sizeof(*rs));
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The allocation of @p b that block_routes() routes on its own, from
 * index @p i on: one with a node other than the block's host and @p self. */
static size_t next_routed(const struct ctl_block *b, size_t i,
			  const char *self)
{
	for (; i < b->n_allocs; i++) {
		const char *n = b->allocs[i].node;

		if (n && n[0] && !str_eq(n, b->host) && strcmp(n, self))
			return i;
	}
	return i;
}

static bool block_same_routes(const struct ctl_block *a,
			      const struct ctl_block *b, const char *self)
{
	size_t i = 0, j = 0;

	if (a->net != b->net || a->plen != b->plen || a->ipv6 != b->ipv6 ||
	    a->deleted != b->deleted || !str_eq(a->host, b->host))
		return false;
	for (;;) {
		i = next_routed(a, i, self);
		j = next_routed(b, j, self);
		if (i == a->n_allocs || j == b->n_allocs)
			return i == a->n_allocs && j == b->n_allocs;
		if (a->allocs[i].ip != b->allocs[j].ip ||
		    strcmp(a->allocs[i].node, b->allocs[j].node))
			return false;
		i++;
		j++;
	}
}

static bool pod_local(const struct ctl_pod *p, const char *self)
{
	return p && !p->host_network && p->node && strcmp(p->node, self) == 0;
}

bool ctl_routes_change_matters(enum ctl_res res, const void *old,
			       const void *cur, const char *self)
{
	self = self ? self : "";
	switch (res) {
	case CTL_RES_NODE: {
		const struct ctl_node *a = old, *b = cur;

		/* name, ip, tunnel_ip: routes and node IPs; plen: SameSubnet
		 * (the local node's) */
		return !a || !b || a->ip != b->ip || a->plen != b->plen ||
		       a->tunnel_ip != b->tunnel_ip;
	}
	case CTL_RES_POD: {
		const struct ctl_pod *a = old, *b = cur;

		if (!pod_local(a, self) && !pod_local(b, self))
			return false;
		return !a || !b || !pod_local(a, self) ||
		       !pod_local(b, self) || a->n_ips != b->n_ips ||
		       memcmp(a->ips, b->ips, a->n_ips * sizeof(a->ips[0]));
	}
	case CTL_RES_IPAMBLOCK: {
		const struct ctl_block *a = old, *b = cur;

		if ((!a || a->ipv6) && (!b || b->ipv6))
			return false;
		return !a || !b || !block_same_routes(a, b, self);
	}
	case CTL_RES_IPPOOL: {
		const struct ctl_pool *a = old, *b = cur;

		return !((!a || a->ipv6) && (!b || b->ipv6));
	}
	default:
		return false;
	}
}
