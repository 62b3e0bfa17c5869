/* SPDX-License-Identifier: BSD-3-Clause */
/* Felix route computation (calico-model.md §2) on a small cluster. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "control/routes.h"
#include "control/store.h"
#include "k8s/decode.h"
#include "tests/unit/control/store_put.h"
#include "tests/unit/ctl_check.h"

static struct ctl_store *st;

static void put(enum ctl_res res, const char *json)
{
	store_put(st, res, json);
}

#define NODE(name, v4, tun)                                                  \
	"{'metadata':{'name':'" name "','annotations':{"                      \
	"'projectcalico.org/IPv4Address':'" v4 "',"                          \
	"'projectcalico.org/IPv4IPIPTunnelAddr':'" tun "'}}}"
#define POOL(name, cidr, extra)                                              \
	"{'metadata':{'name':'" name "'},'spec':{'cidr':'" cidr "'" extra "}}"
#define BLOCK(name, cidr, extra)                                             \
	"{'metadata':{'name':'" name "'},'spec':{'cidr':'" cidr "'" extra "}}"
#define POD(ns, name, node, ip, extra)                                       \
	"{'metadata':{'name':'" name "','namespace':'" ns "'},'spec':{'nodeName':'" node "'" extra "}," \
	"'status':{'podIP':'" ip "'}}"

/* Three nodes: n1 (self) and n2 share 192.168.10.0/24, n3 is elsewhere. */
static void load_cluster(void)
{
	put(CTL_RES_NODE, NODE("n1", "192.168.10.11/24", "10.244.1.0"));
	put(CTL_RES_NODE, NODE("n2", "192.168.10.12/24", "10.244.2.0"));
	/* n3's tunnel address is borrowed from n2's block */
	put(CTL_RES_NODE, NODE("n3", "192.168.20.13/24", "10.244.2.9"));
	put(CTL_RES_NODE, "{'metadata':{'name':'n4'}}"); /* IP unknown */

	put(CTL_RES_IPPOOL, POOL("cross", "10.244.0.0/16", ",'ipipMode':'CrossSubnet'"));
	put(CTL_RES_IPPOOL, POOL("narrow", "10.244.200.0/24", ",'ipipMode':'Always'"));
	put(CTL_RES_IPPOOL, POOL("always", "10.245.0.0/16", ",'ipipMode':'Always'"));
	put(CTL_RES_IPPOOL, POOL("never", "10.246.0.0/16", ",'ipipMode':'Never'"));
	put(CTL_RES_IPPOOL, POOL("lb", "10.247.0.0/24",
				 ",'ipipMode':'Always','allowedUses':['LoadBalancer']"));

	/* local block: tunnel, pod, an IP borrowed by n3, one without node */
	put(CTL_RES_IPAMBLOCK, BLOCK("b1", "10.244.1.0/26",
		",'affinity':'host:n1','allocations':[0,null,1,2,3],'attributes':["
		"{'handle_id':'ipip-tunnel-addr-n1','secondary':{'node':'n1','type':'ipipTunnelAddress'}},"
		"{'handle_id':'k8s-pod-network.a','secondary':{'node':'n1','namespace':'default','pod':'pa'}},"
		"{'handle_id':'k8s-pod-network.b','secondary':{'node':'n3','namespace':'default','pod':'px'}},"
		"{'handle_id':'k8s-pod-network.c','secondary':{'namespace':'default','pod':'py'}}]"));
	/* n2's block, one IP borrowed by us (pb) */
	put(CTL_RES_IPAMBLOCK, BLOCK("b2", "10.244.2.0/26",
		",'affinity':'host:n2','allocations':[0,null,null,null,null,1],'attributes':["
		"{'handle_id':'ipip-tunnel-addr-n2','secondary':{'node':'n2'}},"
		"{'handle_id':'k8s-pod-network.d','secondary':{'node':'n1','namespace':'default','pod':'pb'}}]"));
	/* n3's block: IP 7 claims n2 but pc runs here (stale IPAM): local wins */
	put(CTL_RES_IPAMBLOCK, BLOCK("b3", "10.244.3.0/26",
		",'affinity':'host:n3','allocations':[null,null,null,null,null,null,null,0],"
		"'attributes':[{'handle_id':'h','secondary':{'node':'n2'}}]"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b4", "10.245.2.0/26", ",'affinity':'host:n2'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b5", "10.246.3.0/26", ",'affinity':'host:n3'"));
	/* no affinity: one /32 per allocation */
	put(CTL_RES_IPAMBLOCK, BLOCK("b6", "10.244.4.0/26",
		",'allocations':[null,0,1],'attributes':["
		"{'handle_id':'x','secondary':{'node':'n2'}},{'handle_id':'y','secondary':{'node':'n3'}}]"));
	/* host with unknown IP: no block route, but its borrowed IP still routes */
	put(CTL_RES_IPAMBLOCK, BLOCK("b7", "10.244.5.0/26",
		",'affinity':'host:n4','allocations':[null,0],'attributes':[{'secondary':{'node':'n2'}}]"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b8", "10.244.6.0/26", ",'affinity':'host:ghost'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b9", "10.244.7.0/26", ",'affinity':'host:n2','deleted':true"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b10", "10.247.0.0/26", ",'affinity':'host:n2'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b11", "10.244.200.0/26", ",'affinity':'host:n2'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b12", "10.99.0.0/26", ",'affinity':'host:n2'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b13", "10.244.9.5/32", ",'affinity':'host:n1'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b14", "10.244.9.6/32", ",'affinity':'host:n3'"));
	put(CTL_RES_IPAMBLOCK, BLOCK("b15", "10.244.10.0/26", ",'affinity':'virtual:vm'"));

	put(CTL_RES_POD, POD("default", "pa", "n1", "10.244.1.2", ""));
	put(CTL_RES_POD, POD("default", "pb", "n1", "10.244.2.5", ""));
	put(CTL_RES_POD, POD("default", "pc", "n1", "10.244.3.7", ""));
	put(CTL_RES_POD, POD("kube-system", "hn", "n1", "192.168.10.11", ",'hostNetwork':true"));
	put(CTL_RES_POD, POD("default", "remote", "n2", "10.244.2.3", ""));
	put(CTL_RES_POD, "{'metadata':{'name':'done','namespace':'default'},'spec':{'nodeName':'n1'},"
			 "'status':{'phase':'Succeeded','podIP':'10.244.1.9'}}");
}

struct want {
	uint32_t net;
	uint8_t plen;
	enum ctl_route_kind kind;
	uint32_t via;
	const char *who; /* node, or pod name for LOCAL_POD */
};

static void check_routes(const struct ctl_route_set *rs, const struct want *w,
			 size_t n)
{
	CHECK_EQ(rs->n, n);
	for (size_t i = 0; i < n && i < rs->n; i++) {
		const struct ctl_route *r = &rs->v[i];
		const char *who = r->kind == CTL_RT_LOCAL_POD ? r->pod_name : r->node;

		if (r->net != w[i].net || r->plen != w[i].plen ||
		    r->kind != w[i].kind || r->via != w[i].via ||
		    (w[i].who == NULL) != (who == NULL) ||
		    (who && strcmp(who, w[i].who) != 0)) {
			fprintf(stderr, "route %zu: got %08x/%u kind %d via %08x %s, want %08x/%u kind %d via %08x %s\n",
				i, r->net, r->plen, r->kind, r->via, who ? who : "-",
				w[i].net, w[i].plen, w[i].kind, w[i].via,
				w[i].who ? w[i].who : "-");
			check_failures++;
		}
	}
}

#define N1 IP4(192, 168, 10, 11)
#define N2 IP4(192, 168, 10, 12)
#define N3 IP4(192, 168, 20, 13)

static void test_from_n1(void)
{
	static const struct want w[] = {
		{IP4(10, 244, 1, 0), 26, CTL_RT_BLACKHOLE, 0, NULL},
		{IP4(10, 244, 1, 2), 32, CTL_RT_LOCAL_POD, 0, "pa"},
		{IP4(10, 244, 1, 3), 32, CTL_RT_IPIP, N3, "n3"},      /* borrowed, other subnet */
		{IP4(10, 244, 2, 0), 26, CTL_RT_DIRECT, N2, "n2"},    /* CrossSubnet, same subnet */
		{IP4(10, 244, 2, 5), 32, CTL_RT_LOCAL_POD, 0, "pb"},
		{IP4(10, 244, 2, 9), 32, CTL_RT_IPIP, N3, "n3"},      /* borrowed tunnel address */
		{IP4(10, 244, 3, 0), 26, CTL_RT_IPIP, N3, "n3"},      /* CrossSubnet, other subnet */
		{IP4(10, 244, 3, 7), 32, CTL_RT_LOCAL_POD, 0, "pc"},  /* beats the stale /32 */
		{IP4(10, 244, 4, 1), 32, CTL_RT_DIRECT, N2, "n2"},    /* no-affinity block */
		{IP4(10, 244, 4, 2), 32, CTL_RT_IPIP, N3, "n3"},
		{IP4(10, 244, 5, 1), 32, CTL_RT_DIRECT, N2, "n2"},
		{IP4(10, 244, 9, 6), 32, CTL_RT_IPIP, N3, "n3"},      /* remote /32 block */
		{IP4(10, 244, 200, 0), 26, CTL_RT_IPIP, N2, "n2"},    /* longest pool: Always */
		{IP4(10, 245, 2, 0), 26, CTL_RT_IPIP, N2, "n2"},      /* Always, same subnet */
		{IP4(10, 246, 3, 0), 26, CTL_RT_DIRECT, N3, "n3"},    /* Never */
	};
	struct ctl_route_set rs;

	CHECK_EQ(ctl_routes_compute(st, "n1", &rs), 0);
	check_routes(&rs, w, sizeof(w) / sizeof(w[0]));
	CHECK_EQ(rs.self_ip, N1);
	CHECK_EQ(rs.self_plen, 24);
	CHECK_EQ(rs.self_tunnel_ip, IP4(10, 244, 1, 0));
	CHECK(rs.ipip_enabled);
	CHECK_EQ(rs.n_node_ips, 3);
	if (rs.n_node_ips == 3) {
		CHECK_EQ(rs.node_ips[0], N1);
		CHECK_EQ(rs.node_ips[1], N2);
		CHECK_EQ(rs.node_ips[2], N3);
	}
	/* the LoadBalancer-only pool gets no routes */
	CHECK_EQ(rs.n_pools, 4);
	if (rs.n_pools == 4) {
		CHECK(rs.pool_nets[0] == IP4(10, 244, 0, 0) && rs.pool_plens[0] == 16);
		CHECK(rs.pool_nets[1] == IP4(10, 244, 200, 0) && rs.pool_plens[1] == 24);
		CHECK(rs.pool_nets[2] == IP4(10, 245, 0, 0) && rs.pool_plens[2] == 16);
		CHECK(rs.pool_nets[3] == IP4(10, 246, 0, 0) && rs.pool_plens[3] == 16);
	}
	CHECK_STR(rs.v[1].pod_ns, "default");
	ctl_routes_free(&rs);
	CHECK(rs.v == NULL && rs.n == 0);
	ctl_routes_free(NULL);
}

/* The same cluster seen from n2: roles swap. */
static void test_from_n2(void)
{
	struct ctl_route_set rs;
	const struct ctl_route *r;
	bool third = false;
	size_t i;

	CHECK_EQ(ctl_routes_compute(st, "n2", &rs), 0);
	for (i = 0; i < rs.n; i++) {
		r = &rs.v[i];
		/* n3 borrowed 10.244.1.3 from n1's block: a third node routes
		 * it to n3, past n1's block route */
		if (r->net == IP4(10, 244, 1, 3) && r->plen == 32)
			third = r->kind == CTL_RT_IPIP && r->via == N3 &&
				strcmp(r->node, "n3") == 0;
		if (r->net == IP4(10, 244, 1, 0) && r->plen == 26)
			CHECK(r->kind == CTL_RT_DIRECT && r->via == N1 && strcmp(r->node, "n1") == 0);
		if (r->net == IP4(10, 244, 2, 0) && r->plen == 26)
			CHECK(r->kind == CTL_RT_BLACKHOLE);
		/* n1's pods borrowed from our block go to n1 */
		if (r->net == IP4(10, 244, 2, 5))
			CHECK(r->kind == CTL_RT_DIRECT && r->via == N1 && r->plen == 32);
		/* our own borrowed IPs elsewhere need no route */
		CHECK(!(r->net == IP4(10, 244, 4, 1) && r->plen == 32));
		/* pods of other nodes never become LOCAL_POD */
		CHECK(r->kind != CTL_RT_LOCAL_POD || strcmp(r->pod_name, "remote") == 0);
	}
	CHECK(third);
	ctl_routes_free(&rs);
}

/* An unknown self node: CrossSubnet cannot match, everything is IPIP. */
static void test_unknown_self(void)
{
	struct ctl_route_set rs;

	CHECK_EQ(ctl_routes_compute(st, "nobody", &rs), 0);
	CHECK_EQ(rs.self_ip, 0);
	for (size_t i = 0; i < rs.n; i++) {
		if (rs.v[i].net == IP4(10, 244, 2, 0) && rs.v[i].plen == 26)
			CHECK_EQ(rs.v[i].kind, CTL_RT_IPIP);
		CHECK(rs.v[i].kind != CTL_RT_BLACKHOLE && rs.v[i].kind != CTL_RT_LOCAL_POD);
	}
	ctl_routes_free(&rs);
}

/* Only Never pools: IPIP stays disabled, routes are direct. */
static void test_never_only(void)
{
	struct ctl_store *s = ctl_store_create();
	struct ctl_store *saved = st;
	struct ctl_route_set rs;

	st = s;
	k8s_decode_register(st);
	put(CTL_RES_NODE, NODE("a", "10.0.0.1/24", ""));
	put(CTL_RES_NODE, NODE("b", "10.0.1.2/24", ""));
	put(CTL_RES_IPPOOL, POOL("p", "10.50.0.0/16", ""));
	put(CTL_RES_IPAMBLOCK, BLOCK("bb", "10.50.1.0/26", ",'affinity':'host:b'"));
	CHECK_EQ(ctl_routes_compute(st, "a", &rs), 0);
	CHECK(!rs.ipip_enabled);
	CHECK_EQ(rs.n, 1);
	if (rs.n == 1)
		CHECK(rs.v[0].kind == CTL_RT_DIRECT && rs.v[0].via == IP4(10, 0, 1, 2));
	ctl_routes_free(&rs);
	ctl_store_free(s);
	st = saved;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool rs_equal(const struct ctl_route_set *a,
		     const struct ctl_route_set *b)
{
	if (a->n != b->n || a->self_ip != b->self_ip ||
	    a->self_plen != b->self_plen ||
	    a->self_tunnel_ip != b->self_tunnel_ip ||
	    a->ipip_enabled != b->ipip_enabled ||
	    a->n_node_ips != b->n_node_ips || a->n_pools != b->n_pools)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ctl_route *x = &a->v[i], *y = &b->v[i];

		if (x->net != y->net || x->plen != y->plen ||
		    x->kind != y->kind || x->via != y->via ||
		    !str_same(x->node, y->node) ||
		    !str_same(x->pod_ns, y->pod_ns) ||
		    !str_same(x->pod_name, y->pod_name))
			return false;
	}
	return !memcmp(a->node_ips, b->node_ips,
		       a->n_node_ips * sizeof(a->node_ips[0])) &&
	       !memcmp(a->pool_nets, b->pool_nets,
		       a->n_pools * sizeof(a->pool_nets[0])) &&
	       !memcmp(a->pool_plens, b->pool_plens, a->n_pools);
}

struct matter_ctx {
	enum ctl_res res;
	const char *self;
	int matters;
};

static int matter_visit(void *arg, const char *ns, const char *name,
			const void *old)
{
	struct matter_ctx *m = arg;

	m->matters += ctl_routes_change_matters(
		m->res, old, ctl_store_get(st, m->res, ns, name), m->self);
	return 0;
}

/*
 * Each change, as seen from n1: whether ctl_routes_change_matters() says it
 * can change the routes, and that the routes really stay the same when it
 * says no (and really change in the cases expected to).
 */
static void test_change_matters(void)
{
	static const struct {
		enum ctl_res res;
		const char *json;  /* NULL: delete name */
		const char *ns, *name;
		int matters;       /* expected */
		int differs;       /* the routes really change */
	} ch[] = {
		/* a label on a node, on another node's pod: nothing */
		{CTL_RES_NODE, "{'metadata':{'name':'n2','labels':{'x':'1'},"
		 "'annotations':{'projectcalico.org/IPv4Address':'192.168.10.12/24',"
		 "'projectcalico.org/IPv4IPIPTunnelAddr':'10.244.2.0'}}}",
		 NULL, "n2", 0, 0},
		{CTL_RES_POD, POD("default", "py", "n2", "10.244.2.7", ""),
		 "default", "py", 0, 0},
		{CTL_RES_POD, POD("default", "py", "n2", "10.244.2.8", ""),
		 "default", "py", 0, 0},
		{CTL_RES_POD, NULL, "default", "py", 0, 0},
		/* a node's address; a pod moving here; a local pod's labels */
		{CTL_RES_NODE, NODE("n2", "192.168.10.22/24", "10.244.2.0"),
		 NULL, "n2", 1, 1},
		{CTL_RES_POD, POD("default", "pz", "n1", "10.244.1.33", ""),
		 "default", "pz", 1, 1},
		{CTL_RES_POD, "{'metadata':{'name':'pz','namespace':'default',"
		 "'labels':{'a':'b'}},'spec':{'nodeName':'n1'},"
		 "'status':{'podIP':'10.244.1.33'}}", "default", "pz", 0, 0},
		{CTL_RES_POD, NULL, "default", "pz", 1, 1},
		/* block allocations: to its own host (covered), to another
		 * node (a /32) */
		{CTL_RES_IPAMBLOCK, BLOCK("b4", "10.245.2.0/26",
		 ",'affinity':'host:n2','allocations':[0],'attributes':["
		 "{'handle_id':'h','secondary':{'node':'n2'}}]"),
		 NULL, "b4", 0, 0},
		{CTL_RES_IPAMBLOCK, BLOCK("b4", "10.245.2.0/26",
		 ",'affinity':'host:n2','allocations':[0],'attributes':["
		 "{'handle_id':'h','secondary':{'node':'n3'}}]"),
		 NULL, "b4", 1, 1},
		{CTL_RES_IPAMBLOCK, BLOCK("b4", "10.245.2.0/26",
		 ",'affinity':'host:n3'"), NULL, "b4", 1, 1},
		{CTL_RES_IPPOOL, POOL("never", "10.246.0.0/16",
		 ",'ipipMode':'Always'"), NULL, "never", 1, 1},
		/* dual stack: IPv6 pools and blocks are kept, never routed
		 * (not even an IPIP mode Calico would refuse on them) */
		{CTL_RES_IPPOOL, POOL("v6", "fd00:10:244::/64",
		 ",'blockSize':122,'ipipMode':'Always','natOutgoing':true"),
		 NULL, "v6", 0, 0},
		{CTL_RES_IPAMBLOCK, BLOCK("b6v6", "fd00:10:244::40/122",
		 ",'affinity':'host:n2','allocations':[0],'attributes':["
		 "{'handle_id':'h','secondary':{'node':'n3'}}]"),
		 NULL, "b6v6", 0, 0},
		{CTL_RES_IPAMBLOCK, NULL, NULL, "b6v6", 0, 0},
		{CTL_RES_IPPOOL, NULL, NULL, "v6", 0, 0},
	};
	struct ctl_route_set a, b;

	for (size_t i = 0; i < sizeof(ch) / sizeof(ch[0]); i++) {
		struct matter_ctx m = {ch[i].res, "n1", 0};
		uint64_t g = ctl_store_kind_generation(st, ch[i].res);

		CHECK_EQ(ctl_routes_compute(st, "n1", &a), 0);
		if (ch[i].json)
			put(ch[i].res, ch[i].json);
		else
			CHECK_EQ(ctl_store_delete(st, ch[i].res, ch[i].ns,
						  ch[i].name), 0);
		CHECK(ctl_store_kind_generation(st, ch[i].res) > g);
		CHECK_EQ(ctl_store_changes(st, ch[i].res, g, matter_visit, &m),
			 0);
		CHECK_EQ(ctl_routes_compute(st, "n1", &b), 0);
		if ((m.matters != 0) != ch[i].matters ||
		    !rs_equal(&a, &b) != ch[i].differs) {
			fprintf(stderr, "change %zu: matters %d differs %d\n", i,
				m.matters, !rs_equal(&a, &b));
			check_failures++;
		}
		ctl_routes_free(&a);
		ctl_routes_free(&b);
	}
	/* kinds routes do not read */
	CHECK(!ctl_routes_change_matters(CTL_RES_NAMESPACE, NULL, NULL, "n1"));
}

/*
 * Two local pods claiming one address, with one name in two namespaces:
 * the route goes to the same one whichever the store holds first.
 */
static void test_same_address(void)
{
	struct ctl_store *keep = st;
	const char *ns[2];

	for (int order = 0; order < 2; order++) {
		struct ctl_route_set rs;

		st = ctl_store_create();
		k8s_decode_register(st);
		put(CTL_RES_NODE, NODE("n1", "192.168.10.11/24", "10.244.1.0"));
		put(CTL_RES_POD, order ? POD("b", "x", "n1", "10.244.1.50", "") :
					 POD("a", "x", "n1", "10.244.1.50", ""));
		put(CTL_RES_POD, order ? POD("a", "x", "n1", "10.244.1.50", "") :
					 POD("b", "x", "n1", "10.244.1.50", ""));
		CHECK_EQ(ctl_routes_compute(st, "n1", &rs), 0);
		ns[order] = NULL;
		for (size_t i = 0; i < rs.n; i++)
			if (rs.v[i].kind == CTL_RT_LOCAL_POD)
				ns[order] = rs.v[i].pod_ns[0] == 'a' ? "a" : "b";
		ctl_routes_free(&rs);
		ctl_store_free(st);
	}
	CHECK(ns[0] != NULL && ns[0] == ns[1]);
	st = keep;
}

/* The draws an object is made from (random_object()): a small change
 * redraws one of them, so that one field changes, or none. */
#define DRAWS 24
static const uint32_t *draws;
static unsigned int n_drawn;

static int draw(void)
{
	return (int)(draws[n_drawn++ % DRAWS] & 0x7fffffff);
}

/* Object @p i of kind @p res (names n1..n4, p0..p3, b0..b9,
 * default/q0..q9) made from draws @p r, into @p buf. Labels and handles
 * vary as routes do not read them. */
static const char *random_object(enum ctl_res res, unsigned int i,
				 const uint32_t *r, char *buf, size_t len)
{
	static const char *const ips[] = {
		"192.168.10.11/24", "192.168.10.12/24", "192.168.20.13/24",
		"192.168.10.12/16", "",
	};
	static const char *const tun[] = {
		"10.244.1.0", "10.244.2.1", "10.244.9.6", "10.245.0.1", "",
	};
	static const char *const nodes[] = {
		"'host:n1'", "'host:n2'", "'host:n3'", "'host:n4'",
		"'virtual:vm'", "null",
	};
	static const char *const cidrs[] = {
		"10.244.1.0/26", "10.244.2.0/26", "10.244.2.0/30",
		"10.244.4.0/26", "10.245.0.0/26", "10.244.9.6/32",
		"10.244.200.0/26", "10.99.0.0/26",
	};
	static const char *const pools[] = {
		"10.244.0.0/16", "10.244.0.0/20", "10.245.0.0/16",
		"10.244.200.0/24", "10.0.0.0/8",
	};
	static const char *const modes[] = {"Always", "CrossSubnet", "Never"};
	char al[256] = "", at[512] = "";
	int n;

	draws = r;
	n_drawn = 0;
	switch (res) {
	case CTL_RES_NODE:
		n = snprintf(buf, len, "{'metadata':{'name':'n%u','labels':"
			     "{'x':'%d'},'annotations':{", i + 1, draw() % 3);
		if (draw() % 5)
			n += snprintf(buf + n, len - (size_t)n,
				      "'projectcalico.org/IPv4Address':'%s',",
				      ips[draw() % RTE_DIM(ips)]);
		snprintf(buf + n, len - (size_t)n,
			 "'projectcalico.org/IPv4IPIPTunnelAddr':'%s'}}%s}",
			 tun[draw() % RTE_DIM(tun)],
			 draw() % 4 ? "" : ",'status':{'addresses':[{'type':"
					   "'InternalIP','address':'192.168.30.1'}]}");
		break;
	case CTL_RES_IPPOOL:
		snprintf(buf, len, "{'metadata':{'name':'p%u'},'spec':{'cidr':"
			 "'%s','ipipMode':'%s','vxlanMode':'%s'%s}}", i,
			 pools[draw() % RTE_DIM(pools)], modes[draw() % 3],
			 draw() % 6 ? "Never" : "Always",
			 draw() % 6 ? "" : ",'allowedUses':['LoadBalancer']");
		break;
	case CTL_RES_IPAMBLOCK: {
		/* four attributes, each to a node, to none, or with no node
		 * at all; each ordinal (four, one in a /32) unallocated or
		 * allocated to one of them */
		const char *cidr = cidrs[draw() % RTE_DIM(cidrs)];
		int slots = strstr(cidr, "/32") ? 1 : 4, m = 0, k = 0;

		m += snprintf(al + m, sizeof(al) - (size_t)m, "[");
		k += snprintf(at + k, sizeof(at) - (size_t)k, "[");
		for (int a = 0; a < 4; a++) {
			int w = draw() % 6;

			k += snprintf(at + k, sizeof(at) - (size_t)k,
				      "%s{'handle_id':'h%d','secondary':%s}",
				      a ? "," : "", draw() % 9,
				      w < 4 ? (const char *[]){
					      "{'node':'n1'}", "{'node':'n2'}",
					      "{'node':'n3'}", "{'node':'n4'}"}[w] :
				      w == 4 ? "{'node':''}" : "null");
		}
		for (int a = 0; a < slots; a++) {
			int x = draw() % 6;

			if (x < 4)
				m += snprintf(al + m, sizeof(al) - (size_t)m,
					      "%s%d", a ? "," : "", x);
			else
				m += snprintf(al + m, sizeof(al) - (size_t)m,
					      "%snull", a ? "," : "");
		}
		snprintf(al + m, sizeof(al) - (size_t)m, "]");
		snprintf(at + k, sizeof(at) - (size_t)k, "]");
		snprintf(buf, len, "{'metadata':{'name':'b%u'},'spec':{'cidr':"
			 "'%s','affinity':%s,'allocations':%s,'attributes':%s,"
			 "'deleted':%s}}", i, cidr,
			 nodes[draw() % RTE_DIM(nodes)], al, at,
			 draw() % 8 ? "false" : "true");
		break;
	}
	default: /* CTL_RES_POD */
		snprintf(buf, len, "{'metadata':{'name':'q%u','namespace':"
			 "'default','labels':{'y':'%d'}},'spec':{'nodeName':"
			 "'n%d'%s},'status':{'phase':'%s','podIP':"
			 "'10.244.%d.%d'}}", i, draw() % 3, 1 + draw() % 2,
			 draw() % 8 ? "" : ",'hostNetwork':true",
			 draw() % 8 ? "Running" : "Succeeded", draw() % 3,
			 draw() % 4);
		break;
	}
	return buf;
}

/*
 * Random changes of nodes, pools, blocks and pods: whenever
 * ctl_routes_change_matters() says a change cannot matter, the routes
 * computed before and after it are the same. (The control loop keeps
 * its route set over such changes.)
 */
static void test_change_random(void)
{
	static const struct {
		enum ctl_res res;
		unsigned int n;
	} kinds[] = {
		{CTL_RES_NODE, 4}, {CTL_RES_IPPOOL, 4},
		{CTL_RES_IPAMBLOCK, 10}, {CTL_RES_POD, 10},
	};
	struct ctl_store *keep = st;
	unsigned int kept = 0, differ = 0;
	char buf[2048], name[8];
	static uint32_t r[4][10][DRAWS];

	st = ctl_store_create();
	k8s_decode_register(st);
	srand(3);
	for (unsigned int step = 0; step < 6000; step++) {
		unsigned int k = (unsigned int)rand() % RTE_DIM(kinds);
		enum ctl_res res = kinds[k].res;
		unsigned int i = (unsigned int)rand() % kinds[k].n;
		const char *ns = res == CTL_RES_POD ? "default" : NULL;
		struct ctl_route_set a, b;

		snprintf(name, sizeof(name), "%s%u",
			 res == CTL_RES_NODE ? "n" : res == CTL_RES_IPPOOL ?
			 "p" : res == CTL_RES_IPAMBLOCK ? "b" : "q",
			 res == CTL_RES_NODE ? i + 1 : i);
		const void *old = ctl_store_get(st, res, ns, name);

		CHECK_EQ(ctl_routes_compute(st, "n1", &a), 0);
		if (rand() % 8 == 0) {
			ctl_store_delete(st, res, ns, name);
		} else {
			/* A new object a third of the time; else one or
			 * two fields (or none) change, or two swap (an
			 * allocation moves). */
			uint32_t *v = r[k][i];
			int op = rand() % 6, x = rand() % DRAWS,
			    y = rand() % DRAWS;

			if (op < 2) {
				for (unsigned int d = 0; d < DRAWS; d++)
					v[d] = (uint32_t)rand();
			} else if (op < 4) {
				v[x] = (uint32_t)rand();
				if (op == 3)
					v[y] = (uint32_t)rand();
			} else {
				uint32_t t = v[x];

				v[x] = v[y];
				v[y] = t;
			}
			cJSON *o = tj(random_object(res, i, v, buf,
						    sizeof(buf)));

			CHECK_EQ(ctl_store_upsert(st, res, o), 0);
			cJSON_Delete(o);
		}
		const void *cur = ctl_store_get(st, res, ns, name);
		CHECK_EQ(ctl_routes_compute(st, "n1", &b), 0);
		bool same = rs_equal(&a, &b);

		differ += !same;
		if (!ctl_routes_change_matters(res, old, cur, "n1")) {
			kept++;
			if (!same) {
				fprintf(stderr, "step %u: %s changed the routes, "
					"said not to matter\n", step, name);
				check_failures++;
			}
		}
		ctl_routes_free(&a);
		ctl_routes_free(&b);
	}
	printf("routes churn: %u changes, %u said not to matter, %u moved routes\n", 6000u, kept, differ);
	/* Both answers given, and changes that move routes made. */
	CHECK(kept > 500 && differ > 500);
	ctl_store_free(st);
	st = keep;
}

int main(void)
{
	st = ctl_store_create();
	k8s_decode_register(st);
	load_cluster();
	test_from_n1();
	test_from_n2();
	test_unknown_self();
	test_never_only();
	test_change_matters();
	test_change_random();
	test_same_address();
	ctl_store_free(st);
	CHECK_DONE();
}
