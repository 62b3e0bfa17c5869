/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_fib.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <uthash.h>

#include "acl/acl.h"
#include "control/compile.h"
#include "dp/log.h"

/* DIR-24-8 with 2-byte entries: 32 MiB per table, 32767 next hops. */
#define FIB_NH_MAX 32767

struct nh_key {
	uint32_t ip;
	uint8_t kind;
	uint8_t pad[3];
};

struct nh_map {
	struct nh_key key;
	uint32_t idx;
	UT_hash_handle hh;
};

/* One FIB insertion; the sequence of them is the FIB's build input. */
struct fib_ent {
	uint32_t net;
	uint16_t nh;
	uint8_t plen;
	uint8_t pad; /* zero: entries are compared with memcmp */
};

/* A part of the tables that generations may share, with the input it was
 * built from (compared byte for byte), freed by its last user. */
struct shared {
	unsigned int refs;
	void *obj;
	void (*obj_free)(void *obj);
	size_t len;
	void *key;
	uint64_t pod_gen; /* policy: the Pods it reflects (kind generation) */
	uint64_t gen;     /* FIB: the publish generation that built it */
	/* FIB: its answers over the pools' span (pl_tables.fib_dense) */
	uint16_t *dense;
	uint32_t dense_base, dense_n;
};

struct ctl_tables_own {
	struct shared *fib, *nodes, *acl;
	char *ep_names;  /**< what pl_ep.name points into */
	struct pl_pool *pools; /**< what pl_tables.pools points to */
};

struct build {
	const struct ctl_compile_in *in;
	struct pl_tables *t;
	uint32_t cap_nh;
	struct nh_map *map;
	struct fib_ent *ents;
	size_t n_ents, cap_ents;
	char *err;
	size_t errlen;
};

/* Takes @p key (malloc'd); on failure frees it, not @p obj. */
static struct shared *shared_new(void *obj, void (*obj_free)(void *),
				 void *key, size_t len)
{
	struct shared *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		free(key);
		return NULL;
	}
	s->refs = 1;
	s->obj = obj;
	s->obj_free = obj_free;
	s->key = key;
	s->len = len;
	return s;
}

/* The previous generation's part @p s when it was built from @p key. */
static struct shared *shared_reuse(struct shared *s, const void *key,
				   size_t len)
{
	if (s == NULL || s->len != len || (len && memcmp(s->key, key, len)))
		return NULL;
	s->refs++;
	return s;
}

static void shared_put(struct shared *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	s->obj_free(s->obj);
	rte_free(s->dense);
	free(s->key);
	free(s);
}

static void *memdup(const void *p, size_t len)
{
	void *d = malloc(len ? len : 1);

	if (d != NULL && len)
		memcpy(d, p, len);
	return d;
}

static void fib_obj_free(void *o)
{
	rte_fib_free(o);
}

static void hash_obj_free(void *o)
{
	rte_hash_free(o);
}

static void acl_obj_free(void *o)
{
	acl_set_free(o);
}

static struct ctl_tables_own *prev_own(const struct build *b)
{
	return b->in->prev ? b->in->prev->own : NULL;
}

enum { NH_NO_ROUTE = 0, NH_BLACKHOLE = 1, NH_LOCAL = 2, NH_FIXED };

static int nh_add(struct build *b, const struct pl_nh *nh)
{
	if (b->t->n_nh == b->cap_nh) {
		snprintf(b->err, b->errlen, "more than %u next hops", b->cap_nh);
		return -ENOSPC;
	}
	b->t->nh[b->t->n_nh] = *nh;
	return (int)b->t->n_nh++;
}

/* The netmask of a /@p plen (host order). */
static uint32_t prefix_mask(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

static bool on_subnet(const struct ctl_route_set *rs, uint32_t ip)
{
	if (rs->self_ip == 0)
		return false;
	uint32_t mask = prefix_mask(rs->self_plen);
	return (ip & mask) == (rs->self_ip & mask);
}

/* The underlay slot through which @p ip is reached on the uplink. */
static uint32_t uplink_slot(struct build *b, uint32_t ip)
{
	const struct ctl_compile_in *in = b->in;
	uint32_t l2 = ip;

	if (!on_subnet(in->rs, ip) && in->cfg->gateway != 0)
		l2 = in->cfg->gateway;
	uint32_t slot = ctl_neigh_slot(in->neigh, in->ports->uplink, l2,
				       &in->ports->uplink_mac, in->rs->self_ip);
	if (slot == UINT32_MAX)
		return slot;
	for (size_t i = 0; i < in->cfg->n_neighbors; i++)
		if (in->cfg->neighbors[i].ip == l2)
			ctl_neigh_set_static(in->neigh, slot,
					     &in->cfg->neighbors[i].mac);
	return slot;
}

/* The shared next hop toward a node IP (kind IPIP or DIRECT). */
static int nh_to_node(struct build *b, uint8_t kind, uint32_t ip)
{
	struct nh_key k = {.ip = ip, .kind = kind};
	struct nh_map *e;

	HASH_FIND(hh, b->map, &k, sizeof(k), e);
	if (e)
		return (int)e->idx;
	if (kind == PL_NH_IPIP && b->in->rs->self_ip == 0)
		return NH_NO_ROUTE; /* no outer source address yet */
	uint32_t slot = uplink_slot(b, ip);
	if (slot == UINT32_MAX) {
		snprintf(b->err, b->errlen, "neighbor table full");
		return -ENOSPC;
	}
	uint16_t mtu = b->in->cfg->uplink_mtu;
	uint16_t learned = kind == PL_NH_IPIP ? ctl_pmtu_get(b->in->pmtu, ip) : 0;

	if (learned != 0 && learned < mtu)
		mtu = learned;
	struct pl_nh nh = {
		.kind = kind,
		.port = b->in->ports->uplink,
		.neigh = slot,
		.outer_dst = kind == PL_NH_IPIP ? rte_cpu_to_be_32(ip) : 0,
		.mtu = kind == PL_NH_IPIP ? mtu - 20 : mtu,
	};
	int idx = nh_add(b, &nh);
	if (idx < 0)
		return idx;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->key = k;
	e->idx = (uint32_t)idx;
	HASH_ADD(hh, b->map, key, sizeof(k), e);
	return idx;
}

/* Queue a FIB entry; fib_install() inserts them in order. */
static int fib_add(struct build *b, uint32_t net, uint8_t plen, int nh)
{
	if (nh < 0)
		return nh;
	if (b->n_ents == b->cap_ents) {
		size_t cap = b->cap_ents ? 2 * b->cap_ents : 256;
		void *v = realloc(b->ents, cap * sizeof(*b->ents));

		if (v == NULL) {
			snprintf(b->err, b->errlen, "out of memory");
			return -ENOMEM;
		}
		b->ents = v;
		b->cap_ents = cap;
	}
	b->ents[b->n_ents++] = (struct fib_ent){
		.net = net, .nh = (uint16_t)nh, .plen = plen,
	};
	return 0;
}

/* The endpoint's Pod when it is a local, policed workload (else NULL). */
static const struct ctl_pod *ep_pod(const struct ctl_compile_in *in, size_t i)
{
	const char *ref = in->ports->pods[i].pod;
	const char *slash = strchr(ref, '/');
	char ns[256];

	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - ref), ref);
	const struct ctl_pod *pod = ctl_store_get(in->st, CTL_RES_POD, ns,
						  slash + 1);
	if (pod && !pod->host_network && pod->node &&
	    strcmp(pod->node, in->cfg->node) == 0)
		return pod;
	return NULL;
}

/* pl_tables.pools from the route set's pools. */
static int build_pools(struct build *b)
{
	const struct ctl_route_set *rs = b->in->rs;
	const struct ctl_config *cfg = b->in->cfg;
	/* Service ranges only with a host to DNAT them (README "Services"). */
	size_t n_svc = b->in->ports->host != UINT16_MAX ?
			       cfg->n_service_cidrs : 0;
	struct pl_pool *p = calloc(rs->n_pools + n_svc + 1, sizeof(*p));

	if (p == NULL) {
		snprintf(b->err, b->errlen, "pools: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->n_pools; i++) {
		uint32_t mask = prefix_mask(rs->pool_plens[i]);
		p[i] = (struct pl_pool){.net = rs->pool_nets[i] & mask,
					.mask = mask};
	}
	for (size_t i = 0; i < n_svc; i++) {
		uint32_t mask = prefix_mask(cfg->service_cidrs[i].plen);
		p[rs->n_pools + i] = (struct pl_pool){
			.net = cfg->service_cidrs[i].net & mask, .mask = mask};
	}
	b->t->own->pools = p;
	b->t->pools = p;
	b->t->n_pools = (uint32_t)rs->n_pools;
	b->t->svc = p + rs->n_pools;
	b->t->n_svc = (uint32_t)n_svc;
	return 0;
}

/* Whether @p ip is in a natOutgoing pool: the longest pool prefix holding
 * it says (a pool inside another decides for its addresses). The tables'
 * pools (build_pools()) are the route set's, in its order. */
static bool in_nat_pool(const struct build *b, uint32_t ip)
{
	const struct pl_pool *p = b->t->pools;
	int best = -1;

	for (uint32_t i = 0; i < b->t->n_pools; i++)
		if ((ip & p[i].mask) == p[i].net &&
		    (best < 0 || p[i].mask > p[best].mask))
			best = (int)i;
	return best >= 0 && b->in->rs->pool_nat[best];
}

/* One endpoint per pod port; IPs from the Pod object (none until it is in
 * the store: the port's traffic is then dropped as spoofed). */
static int build_endpoints(struct build *b)
{
	const struct ctl_compile_in *in = b->in;
	struct pl_tables *t = b->t;
	static const struct rte_ether_addr gw = PL_GW_MAC;

	size_t names = 0;
	for (size_t i = 0; i < in->ports->n_pods; i++)
		names += strlen(in->ports->pods[i].pod) + 1;
	char *name = t->own->ep_names = malloc(names + 1);
	if (name == NULL) {
		snprintf(b->err, b->errlen, "endpoints: out of memory");
		return -ENOMEM;
	}
	t->n_ep = (uint32_t)in->ports->n_pods;
	for (size_t i = 0; i < in->ports->n_pods; i++) {
		const struct ctl_pod_ep *pc = &in->ports->pods[i];
		struct pl_ep *ep = &t->ep[i];
		const struct ctl_pod *pod = ep_pod(in, i);
		ep->port = pc->port;
		ep->name = name;
		name = stpcpy(name, pc->pod) + 1;
		if (pod) {
			for (size_t j = 0; j < pod->n_ips && j < PL_EP_MAX_IPS; j++)
				ep->ips[ep->n_ips++] =
					rte_cpu_to_be_32(pod->ips[j]);
		}
		ep->mac_known = pc->has_mac;
		if (pc->has_mac)
			ep->mac = pc->mac;
		uint32_t first = ep->n_ips ? rte_be_to_cpu_32(ep->ips[0]) : 0;
		ep->nat_outgoing = in->cfg->host_nat_outgoing && ep->n_ips > 0 &&
			  in_nat_pool(b, first);
		ep->neigh = ctl_neigh_slot(in->neigh, ep->port, first, &gw,
					   PL_GW_IP);
		if (ep->neigh == UINT32_MAX) {
			snprintf(b->err, b->errlen, "neighbor table full");
			return -ENOSPC;
		}
		if (pc->has_mac)
			ctl_neigh_set_static(in->neigh, ep->neigh, &pc->mac);
		t->port[ep->port].role = PL_PORT_POD;
		t->port[ep->port].ep = (uint16_t)i;
		t->port[ep->port].mac = gw;
	}
	return 0;
}

static int ep_by_name(const struct pl_tables *t, const char *ns,
		      const char *name)
{
	size_t nl = strlen(ns);

	for (uint32_t i = 0; i < t->n_ep; i++) {
		const char *n = t->ep[i].name;
		if (strncmp(n, ns, nl) == 0 && n[nl] == '/' &&
		    strcmp(n + nl + 1, name) == 0)
			return (int)i;
	}
	return -1;
}

static int build_routes(struct build *b)
{
	const struct ctl_route_set *rs = b->in->rs;
	struct pl_tables *t = b->t;
	int rc = 0;

	/* Pools first: shorter prefixes, overridden by the block routes. */
	for (size_t i = 0; i < rs->n_pools && rc == 0; i++)
		rc = fib_add(b, rs->pool_nets[i], rs->pool_plens[i], NH_NO_ROUTE);
	if (rc == 0 && b->in->cfg->gateway)
		rc = fib_add(b, 0, 0, nh_to_node(b, PL_NH_DIRECT,
						  b->in->cfg->gateway));
	for (size_t i = 0; i < rs->n_node_ips && rc == 0; i++) {
		uint32_t ip = rs->node_ips[i];
		if (ip != rs->self_ip && on_subnet(rs, ip))
			rc = fib_add(b, ip, 32, nh_to_node(b, PL_NH_DIRECT, ip));
	}
	for (size_t i = 0; i < rs->n && rc == 0; i++) {
		const struct ctl_route *r = &rs->v[i];
		int nh;

		switch (r->kind) {
		case CTL_RT_LOCAL_POD: {
			int ep = ep_by_name(t, r->pod_ns, r->pod_name);
			if (ep < 0) {
				struct pl_nh n = {.kind = PL_NH_POD_NO_PORT};
				nh = nh_add(b, &n);
			} else {
				struct pl_nh n = {
					.kind = PL_NH_POD,
					.port = t->ep[ep].port,
					.neigh = t->ep[ep].neigh,
					.ep = (uint16_t)ep,
				};
				nh = nh_add(b, &n);
			}
			break;
		}
		case CTL_RT_BLACKHOLE:
			nh = NH_BLACKHOLE;
			break;
		case CTL_RT_IPIP:
			nh = nh_to_node(b, PL_NH_IPIP, r->via);
			break;
		case CTL_RT_DIRECT:
			nh = nh_to_node(b, PL_NH_DIRECT, r->via);
			break;
		default:
			nh = NH_NO_ROUTE;
			break;
		}
		rc = fib_add(b, r->net, r->plen, nh);
	}
	/* Service ranges go to the host, whose kube-proxy DNATs them
	 * (build_pools() keeps them only with a host port); block routes
	 * inside one still win. */
	for (uint32_t i = 0; i < t->n_svc && rc == 0; i++)
		rc = fib_add(b, t->svc[i].net,
			     (uint8_t)__builtin_popcount(t->svc[i].mask),
			     NH_LOCAL);
	/* Nothing is routed to network 0 or to loopback (RFC 1812 5.3.7),
	 * whatever the pools say; a source there is refused by the workers
	 * (pl_ip_src_is_bad()). */
	if (rc == 0)
		rc = fib_add(b, 0, 8, NH_NO_ROUTE);
	if (rc == 0)
		rc = fib_add(b, UINT32_C(127) << 24, 8, NH_NO_ROUTE);
	/* The node's own addresses win over any block route. */
	if (rc == 0 && rs->self_ip)
		rc = fib_add(b, rs->self_ip, 32, NH_LOCAL);
	if (rc == 0 && rs->self_tunnel_ip)
		rc = fib_add(b, rs->self_tunnel_ip, 32, NH_LOCAL);
	return rc;
}

static int build_nodes(struct build *b)
{
	const struct ctl_route_set *rs = b->in->rs;
	size_t len = rs->n_node_ips * sizeof(*rs->node_ips);
	struct ctl_tables_own *po = prev_own(b);
	struct shared *sh = po ? shared_reuse(po->nodes, rs->node_ips, len) :
				 NULL;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash *h;

	/*
	 * The workers' open-addressed copy of the set is small and belongs to
	 * these tables alone; the rte_hash may be shared with the last ones.
	 * At most half full, so that a miss ends at an empty slot soon.
	 */
	uint32_t slots = rte_align32pow2(RTE_MAX((uint32_t)rs->n_node_ips * 2,
						 16u));
	b->t->node_set = rte_zmalloc_socket("kdp_node_set",
					    slots * sizeof(rte_be32_t),
					    RTE_CACHE_LINE_SIZE, b->in->socket);
	if (b->t->node_set == NULL) {
		if (sh)
			shared_put(sh);
		snprintf(b->err, b->errlen, "out of memory");
		return -ENOMEM;
	}
	b->t->node_set_mask = slots - 1;
	for (size_t i = 0; i < rs->n_node_ips; i++) {
		rte_be32_t k = rte_cpu_to_be_32(rs->node_ips[i]);
		if (k == 0 || pl_node_set_has(b->t, k))
			continue; /* 0 marks empty slots; never a node */
		uint32_t j = pl_node_set_slot(k, b->t->node_set_mask);
		while (b->t->node_set[j] != 0)
			j = (j + 1) & b->t->node_set_mask;
		b->t->node_set[j] = k;
	}
	if (sh != NULL)
		goto done;
	snprintf(name, sizeof(name), "kdpnodes%lu", (unsigned long)b->in->gen);
	struct rte_hash_parameters p = {
		.name = name,
		.entries = RTE_MAX((uint32_t)rs->n_node_ips * 2, 64u),
		.key_len = sizeof(rte_be32_t),
		.hash_func = rte_hash_crc,
		.socket_id = b->in->socket,
	};
	h = rte_hash_create(&p);
	if (h == NULL) {
		snprintf(b->err, b->errlen, "rte_hash_create: %s",
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->n_node_ips; i++) {
		rte_be32_t k = rte_cpu_to_be_32(rs->node_ips[i]);
		if (rte_hash_add_key(h, &k) < 0) {
			snprintf(b->err, b->errlen, "node set full");
			rte_hash_free(h);
			return -ENOSPC;
		}
	}
	sh = shared_new(h, hash_obj_free, memdup(rs->node_ips, len), len);
	if (sh == NULL || sh->key == NULL) {
		snprintf(b->err, b->errlen, "out of memory");
		if (sh)
			shared_put(sh);
		else
			rte_hash_free(h);
		return -ENOMEM;
	}
done:
	b->t->own->nodes = sh;
	b->t->nodes = sh->obj;
	return 0;
}

/* What the policy programs are built from: the store kinds the policy world
 * reads, the endpoints' Pod objects (the store replaces an object when it
 * changes), the worker count; and the Pods, which are compared separately
 * (pods_unchanged()). */
static const enum ctl_res acl_kinds[] = {
	CTL_RES_K8S_NETPOL, CTL_RES_CALICO_NETPOL, CTL_RES_GLOBAL_NETPOL,
	CTL_RES_TIER, CTL_RES_NETWORKSET, CTL_RES_GLOBAL_NETWORKSET,
	CTL_RES_NAMESPACE, CTL_RES_SERVICEACCOUNT,
};

static uint64_t *acl_key(const struct ctl_compile_in *in,
			 const struct ctl_pod *const *eps, size_t n,
			 size_t *len)
{
	size_t k = RTE_DIM(acl_kinds) + 2, i;
	uint64_t *v = calloc(k + n, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (i = 0; i < RTE_DIM(acl_kinds); i++)
		v[i] = ctl_store_kind_generation(in->st, acl_kinds[i]);
	v[i++] = in->cfg->workers;
	v[i++] = n;
	for (size_t e = 0; e < n; e++)
		v[k + e] = (uint64_t)(uintptr_t)eps[e];
	*len = (k + n) * sizeof(*v);
	return v;
}

/* More changed Pods than this since the policy set was built: build it
 * from scratch rather than from the changes. */
#define POD_DELTA_MAX 256

/* The Pod changes since a policy set was built (the store's journal). */
struct pod_delta {
	const struct ctl_store *st;
	size_t n;
	struct acl_pod_change v[POD_DELTA_MAX];
	const char *ns[POD_DELTA_MAX], *name[POD_DELTA_MAX];
};

static int delta_add(void *arg, const char *ns, const char *name,
		     const void *old)
{
	struct pod_delta *d = arg;

	if (d->n == POD_DELTA_MAX)
		return -E2BIG;
	d->v[d->n].old = old;
	d->ns[d->n] = ns;
	d->name[d->n] = name;
	d->n++;
	return 0;
}

/* Gather the changes since Pod generation @p since and chain them: a
 * change's new version is the next change's old one for that Pod, or the
 * store's. */
static int delta_collect(struct pod_delta *d, uint64_t since)
{
	int rc = ctl_store_changes(d->st, CTL_RES_POD, since, delta_add, d);

	if (rc != 0)
		return rc;
	for (size_t i = d->n; i-- > 0;) {
		size_t j = i + 1;

		while (j < d->n && (strcmp(d->name[j], d->name[i]) ||
				    strcmp(d->ns[j], d->ns[i])))
			j++;
		d->v[i].cur = j < d->n ? d->v[j].old :
			ctl_store_get(d->st, CTL_RES_POD, d->ns[i], d->name[i]);
	}
	return 0;
}

static bool pod_is_local(const struct ctl_pod *p, const char *node)
{
	return p && p->node && strcmp(p->node, node) == 0;
}

/*
 * The policy set for the current Pods, from the previous one @p prev, built
 * from the other kinds as they are now: only the Pods changed since (the
 * store's journal) are looked at, so a Pod update does not walk every Pod.
 * @p prev itself (brought up to date) when none of them can change it,
 * a new record from acl_set_update() when some can, NULL when it must be
 * built from scratch (a local Pod changed, too many changes).
 */
static struct shared *acl_from_prev(struct build *b, struct shared *prev,
				    const struct ctl_pod *const *eps, size_t n,
				    void *key, size_t len)
{
	const struct ctl_compile_in *in = b->in;
	uint64_t now = ctl_store_kind_generation(in->st, CTL_RES_POD);
	struct pod_delta *d = NULL;
	struct acl_world *w = NULL;
	struct shared *sh = NULL;
	struct acl_set *set;
	bool matters = false;
	char err[128];

	if (prev->pod_gen == now) {
		prev->refs++;
		return prev;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto out;
	d->st = in->st;
	if (delta_collect(d, prev->pod_gen) != 0 ||
	    (w = acl_world_nopods_from_store(in->st)) == NULL)
		goto out;
	for (size_t i = 0; i < d->n; i++) {
		/* A local Pod may be an endpoint, whose plan depends on it. */
		if (pod_is_local(d->v[i].old, in->cfg->node) ||
		    pod_is_local(d->v[i].cur, in->cfg->node))
			goto out;
		matters = matters || acl_set_pod_matters(prev->obj, w,
							 d->v[i].old,
							 d->v[i].cur);
	}
	if (!matters) {
		prev->pod_gen = now;
		prev->refs++;
		sh = prev;
		goto out;
	}
	set = acl_set_update(prev->obj, w, eps, (uint32_t)n, in->cfg->workers,
			     in->gen, in->cfg->policy_rte_acl, d->v, d->n, err,
			     sizeof(err));
	if (set == NULL) {
		KDP_LOG(DEBUG, "policy: %s; building from scratch", err);
		goto out;
	}
	if ((key = memdup(key, len)) == NULL ||
	    (sh = shared_new(set, acl_obj_free, key, len)) == NULL) {
		acl_set_free(set);
		goto out;
	}
	sh->pod_gen = now;
out:
	acl_world_free(w);
	free(d);
	return sh;
}

/* Policy programs for every endpoint (acl/acl.h). */
static int build_acl(struct build *b)
{
	const struct ctl_compile_in *in = b->in;
	size_t n = in->ports->n_pods, len = 0;
	const struct ctl_pod **eps = calloc(n + 1, sizeof(*eps));
	struct ctl_tables_own *po = prev_own(b);
	struct acl_world *w = NULL;
	struct shared *sh = NULL;
	uint64_t *key = NULL;
	struct acl_set *set;
	int rc = -ENOMEM;

	if (eps == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		eps[i] = ep_pod(in, i);
	if ((key = acl_key(in, eps, n, &len)) == NULL)
		goto nomem;
	if (po && po->acl && po->acl->len == len &&
	    memcmp(po->acl->key, key, len) == 0 &&
	    (sh = acl_from_prev(b, po->acl, eps, n, key, len)) != NULL) {
		free(key);
		goto done;
	}
	if ((w = acl_world_from_store(in->st)) == NULL)
		goto nomem;
	set = acl_set_build(w, eps, (uint32_t)n, in->cfg->workers, in->gen,
			    in->cfg->policy_rte_acl,
			    b->err, b->errlen);
	if (set == NULL) {
		free(key);
		goto out;
	}
	sh = shared_new(set, acl_obj_free, key, len);
	key = NULL; /* shared_new() took it, even when it failed */
	if (sh == NULL) {
		acl_set_free(set);
		goto nomem;
	}
	sh->pod_gen = ctl_store_kind_generation(in->st, CTL_RES_POD);
done:
	b->t->own->acl = sh;
	b->t->acl = sh->obj;
	rc = 0;
	goto out;
nomem:
	free(key);
	snprintf(b->err, b->errlen, "policy: out of memory");
out:
	acl_world_free(w);
	free(eps);
	return rc;
}

static struct rte_fib *fib_create(const struct build *b)
{
	uint32_t long_routes = 0;
	char name[64];

	for (size_t i = 0; i < b->n_ents; i++)
		long_routes += b->ents[i].plen > 24;
	/* Each route longer than /24 may need its own tbl8 group. */
	struct rte_fib_conf conf = {
		.type = RTE_FIB_DIR24_8,
		.default_nh = NH_NO_ROUTE,
		.max_routes = (int)(b->n_ents + 16),
		.dir24_8 = {
			.nh_sz = RTE_FIB_DIR24_8_2B,
			.num_tbl8 = RTE_MAX(long_routes + 8, 64u),
		},
	};
	snprintf(name, sizeof(name), "kdpfib%lu", (unsigned long)b->in->gen);
	return rte_fib_create(name, b->in->socket, &conf);
}

/*
 * pl_tables.fib_dense for @p sh's FIB: its answer for every address from
 * the lowest pool's first to the highest pool's last, asked of the FIB
 * itself. No pool, or a span over PL_FIB_DENSE_MAX: none (lookups go to
 * the FIB). Out of memory: none, and the FIB serves alone.
 */
static void fib_dense_build(struct build *b, struct shared *sh)
{
	const struct ctl_route_set *rs = b->in->rs;
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; i < rs->n_pools; i++) {
		uint64_t net = rs->pool_nets[i];

		lo = RTE_MIN(lo, net);
		hi = RTE_MAX(hi, net + (1ull << (32 - rs->pool_plens[i])));
	}
	if (lo >= hi || hi - lo > PL_FIB_DENSE_MAX)
		return;
	uint32_t n = (uint32_t)(hi - lo);
	uint16_t *d = rte_malloc_socket("kdp_fib_dense", n * sizeof(*d),
					RTE_CACHE_LINE_SIZE, b->in->socket);

	if (d == NULL)
		return;
	for (uint32_t off = 0; off < n; off += 64) {
		uint32_t ip[64], m = RTE_MIN(64u, n - off);
		uint64_t nh[64];

		for (uint32_t j = 0; j < m; j++)
			ip[j] = (uint32_t)lo + off + j;
		rte_fib_lookup_bulk(sh->obj, ip, nh, m);
		for (uint32_t j = 0; j < m; j++)
			d[off + j] = (uint16_t)nh[j]; /* 2-byte next hops */
	}
	sh->dense = d;
	sh->dense_base = (uint32_t)lo;
	sh->dense_n = n;
}

/* The FIB of the queued entries: the previous generation's when they are
 * the same (policy, endpoint or remote-pod changes), else a new one. */
static int fib_install(struct build *b)
{
	size_t len = b->n_ents * sizeof(*b->ents);
	struct ctl_tables_own *po = prev_own(b);
	struct shared *sh = po ? shared_reuse(po->fib, b->ents, len) : NULL;
	struct rte_fib *fib;

	if (sh == NULL) {
		if ((fib = fib_create(b)) == NULL) {
			snprintf(b->err, b->errlen, "cannot allocate the FIB: %s",
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		for (size_t i = 0; i < b->n_ents; i++) {
			const struct fib_ent *e = &b->ents[i];
			int rc = rte_fib_add(fib, e->net, e->plen, e->nh);

			if (rc < 0) {
				snprintf(b->err, b->errlen,
					 "rte_fib_add %u.%u.%u.%u/%u: %s",
					 e->net >> 24, (e->net >> 16) & 0xff,
					 (e->net >> 8) & 0xff, e->net & 0xff,
					 e->plen, strerror(-rc));
				rte_fib_free(fib);
				return rc;
			}
		}
		sh = shared_new(fib, fib_obj_free, b->ents, len);
		b->ents = NULL; /* the record owns them now */
		if (sh == NULL) {
			rte_fib_free(fib);
			snprintf(b->err, b->errlen, "out of memory");
			return -ENOMEM;
		}
		sh->gen = b->in->gen;
		fib_dense_build(b, sh);
	}
	b->t->own->fib = sh;
	b->t->fib = sh->obj;
	b->t->fib_dense = sh->dense;
	b->t->fib_dense_base = sh->dense_base;
	b->t->fib_dense_n = sh->dense_n;
	b->t->fib_gen = (uint32_t)sh->gen;
	return 0;
}

static void build_done(struct build *b)
{
	struct nh_map *e, *tmp;

	HASH_ITER(hh, b->map, e, tmp) {
		HASH_DEL(b->map, e);
		free(e);
	}
	free(b->ents);
}

struct pl_tables *ctl_tables_build(const struct ctl_compile_in *in, char *err,
				   size_t errlen)
{
	const struct ctl_route_set *rs = in->rs;
	struct build b = {.in = in, .err = err, .errlen = errlen};
	struct pl_tables *t = rte_zmalloc_socket("kdp_tables", sizeof(*t),
						 RTE_CACHE_LINE_SIZE, in->socket);
	static const struct rte_ether_addr gw = PL_GW_MAC;

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b.t = t;
	t->gen = in->gen;
	b.cap_nh = RTE_MIN((uint32_t)(NH_FIXED + in->ports->n_pods + rs->n +
				      2 * rs->n_node_ips + 2),
			   (uint32_t)FIB_NH_MAX);
	t->nh = rte_zmalloc_socket("kdp_nh", sizeof(*t->nh) * b.cap_nh,
				   RTE_CACHE_LINE_SIZE, in->socket);
	t->ep = rte_zmalloc_socket("kdp_ep",
				   sizeof(*t->ep) * (in->ports->n_pods + 1),
				   RTE_CACHE_LINE_SIZE, in->socket);
	t->own = calloc(1, sizeof(*t->own));
	if (t->nh == NULL || t->ep == NULL || t->own == NULL) {
		snprintf(err, errlen, "cannot allocate tables: %s",
			 rte_strerror(rte_errno));
		goto fail;
	}
	t->self_ip = rte_cpu_to_be_32(rs->self_ip);
	t->tunnel_ip = rte_cpu_to_be_32(rs->self_tunnel_ip);
	t->icmp_src = rs->self_ip ? t->self_ip : rte_cpu_to_be_32(PL_GW_IP);
	t->uplink_port = in->ports->uplink;
	t->host_port = in->ports->host;
	t->uplink_mtu = in->cfg->uplink_mtu;
	t->port[in->ports->uplink].role = PL_PORT_UPLINK;
	t->port[in->ports->uplink].mac = in->ports->uplink_mac;

	t->n_nh = NH_FIXED;
	t->nh[NH_NO_ROUTE].kind = PL_NH_NO_ROUTE;
	t->nh[NH_BLACKHOLE].kind = PL_NH_BLACKHOLE;
	t->nh[NH_LOCAL].kind = PL_NH_LOCAL;
	t->host_nh = NH_LOCAL;
	if (in->ports->host != UINT16_MAX) {
		uint16_t hp = in->ports->host;
		t->port[hp].role = PL_PORT_HOST;
		t->port[hp].mac = gw;
		t->nh[NH_LOCAL].port = hp;
		t->nh[NH_LOCAL].neigh = ctl_neigh_slot(in->neigh, hp,
						       rs->self_ip, &gw,
						       PL_GW_IP);
		if (t->nh[NH_LOCAL].neigh == UINT32_MAX) {
			snprintf(err, errlen, "neighbor table full");
			goto fail;
		}
		/* The tap PMD gives the kernel side the port's MAC. */
		ctl_neigh_set_static(in->neigh, t->nh[NH_LOCAL].neigh,
				     &in->ports->host_mac);
	}
	if (build_pools(&b) || build_endpoints(&b) || build_routes(&b) ||
	    fib_install(&b) ||
	    build_nodes(&b) || (in->cfg->policy_enabled && build_acl(&b)))
		goto fail;
	build_done(&b);
	return t;
fail:
	build_done(&b);
	ctl_tables_free(t);
	return NULL;
}

void ctl_tables_free(struct pl_tables *t)
{
	if (t == NULL)
		return;
	rte_free(t->node_set);
	/* fib, nodes and acl are only ever set together with their record */
	if (t->own != NULL) {
		shared_put(t->own->fib);
		shared_put(t->own->nodes);
		shared_put(t->own->acl);
		free(t->own->ep_names);
		free(t->own->pools);
		free(t->own);
	}
	rte_free(t->nh);
	rte_free(t->ep);
	rte_free(t);
}
