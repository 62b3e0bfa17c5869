/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoders and IPv4 parsers, on the object shapes of calico-model.md §1. */
#include <errno.h>
#include <stdint.h>

#include "control/store.h"
#include "k8s/decode.h"
#include "tests/unit/ctl_check.h"

static struct ctl_store *st;

/* Upsert a single-quoted JSON object; return the store's verdict. */
static int put(enum ctl_res res, const char *json)
{
	cJSON *o = tj(json);
	int rc = ctl_store_upsert(st, res, o);

	cJSON_Delete(o);
	return rc;
}

/* Every object in @p bad must be rejected. */
static void expect_rejected(enum ctl_res res, const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (put(res, bad[i]) != -EINVAL) {
			fprintf(stderr, "accepted bad %s: %s\n", ctl_res_name(res),
				bad[i]);
			check_failures++;
		}
	}
}

#define EXPECT_REJECTED(res, bad)                                            \
	expect_rejected(res, bad, sizeof(bad) / sizeof(bad[0]))

static void test_ipv4(void)
{
	uint32_t ip;
	uint8_t plen;

	CHECK_EQ(k8s_parse_ipv4("10.244.104.3", &ip), 0);
	CHECK_EQ(ip, IP4(10, 244, 104, 3));
	CHECK_EQ(k8s_parse_ipv4("0.0.0.0", &ip), 0);
	CHECK_EQ(k8s_parse_ipv4("255.255.255.255", &ip), 0);
	CHECK_EQ(ip, 0xffffffffu);
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
		"01.2.3.4", "1..3.4", "a.b.c.d", "1.2.3.4/32", "1.2.3.-4",
		"1234.1.1.1", "fd00::1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (k8s_parse_ipv4(bad[i], &ip) != -EINVAL) {
			fprintf(stderr, "accepted bad IPv4 '%s'\n", bad[i]);
			check_failures++;
		}
	}
	CHECK_EQ(k8s_parse_ipv4(NULL, &ip), -EINVAL);

	CHECK_EQ(k8s_parse_cidr("192.168.10.11/24", &ip, &plen), 0);
	CHECK_EQ(ip, IP4(192, 168, 10, 11));
	CHECK_EQ(plen, 24);
	CHECK_EQ(k8s_parse_cidr("0.0.0.0/0", &ip, &plen), 0);
	CHECK_EQ(plen, 0);
	CHECK_EQ(k8s_parse_cidr("1.2.3.4/33", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_cidr("1.2.3.4/", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_cidr("1.2.3.4", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_cidr("1.2.3.4/2x", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_cidr("1.2.3.4/-1", &ip, &plen), -EINVAL);

	CHECK_EQ(k8s_parse_net("10.244.104.0/26", &ip, &plen), 0);
	CHECK_EQ(ip, IP4(10, 244, 104, 0));
	CHECK_EQ(plen, 26);
	CHECK_EQ(k8s_parse_net("10.244.104.64/26", &ip, &plen), 0);
	CHECK_EQ(k8s_parse_net("10.244.104.1/26", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_net("10.244.104.32/26", &ip, &plen), -EINVAL);
	CHECK_EQ(k8s_parse_net("10.244.104.7/32", &ip, &plen), 0);
}

static void test_res_from_object(void)
{
	static const struct {
		const char *json;
		int rc;
		enum ctl_res res;
	} cases[] = {
		{"{'apiVersion':'v1','kind':'Node'}", 0, CTL_RES_NODE},
		{"{'apiVersion':'v1','kind':'Pod'}", 0, CTL_RES_POD},
		{"{'apiVersion':'v1','kind':'Namespace'}", 0, CTL_RES_NAMESPACE},
		{"{'apiVersion':'v1','kind':'ServiceAccount'}", 0, CTL_RES_SERVICEACCOUNT},
		{"{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy'}", 0, CTL_RES_K8S_NETPOL},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'NetworkPolicy'}", 0, CTL_RES_CALICO_NETPOL},
		{"{'apiVersion':'projectcalico.org/v3','kind':'NetworkPolicy'}", 0, CTL_RES_CALICO_NETPOL},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'IPPool'}", 0, CTL_RES_IPPOOL},
		{"{'apiVersion':'projectcalico.org/v3','kind':'IPAMBlock'}", 0, CTL_RES_IPAMBLOCK},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'BlockAffinity'}", 0, CTL_RES_BLOCKAFFINITY},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'GlobalNetworkPolicy'}", 0, CTL_RES_GLOBAL_NETPOL},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'Tier'}", 0, CTL_RES_TIER},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'NetworkSet'}", 0, CTL_RES_NETWORKSET},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'GlobalNetworkSet'}", 0, CTL_RES_GLOBAL_NETWORKSET},
		{"{'apiVersion':'v1','kind':'NetworkPolicy'}", -ENOENT, 0},
		{"{'apiVersion':'v1','kind':'IPPool'}", -ENOENT, 0},
		{"{'apiVersion':'crd.projectcalico.org/v1','kind':'Node'}", -ENOENT, 0},
		{"{'apiVersion':'v1','kind':'Service'}", -ENOENT, 0},
		{"{'apiVersion':'apps/v1','kind':'Deployment'}", -ENOENT, 0},
		{"{'kind':'Node'}", -EINVAL, 0},
		{"{'apiVersion':'v1'}", -EINVAL, 0},
		{"{'apiVersion':1,'kind':'Node'}", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *o = tj(cases[i].json);
		enum ctl_res res = CTL_RES_MAX;
		int rc = k8s_res_from_object(o, &res);

		if (rc != cases[i].rc || (rc == 0 && res != cases[i].res)) {
			fprintf(stderr, "res_from_object(%s) = %d/%d\n",
				cases[i].json, rc, res);
			check_failures++;
		}
		cJSON_Delete(o);
	}
}

static void test_node(void)
{
	const struct ctl_node *n;

	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'worker-1','labels':{'kubernetes.io/hostname':'worker-1','a':'b'},"
		     "'annotations':{'projectcalico.org/IPv4Address':'192.168.10.11/24',"
		     "'projectcalico.org/IPv4IPIPTunnelAddr':'10.244.104.0'}},"
		     "'spec':{'podCIDR':'10.244.1.0/24'},"
		     "'status':{'addresses':[{'type':'InternalIP','address':'192.168.99.1'},"
		     "{'type':'Hostname','address':'worker-1'}]}}"), 0);
	n = ctl_store_get(st, CTL_RES_NODE, NULL, "worker-1");
	CHECK(n != NULL);
	if (n) {
		CHECK_STR(n->name, "worker-1");
		/* the annotation wins over status.addresses and keeps its prefix */
		CHECK_EQ(n->ip, IP4(192, 168, 10, 11));
		CHECK_EQ(n->plen, 24);
		CHECK_EQ(n->tunnel_ip, IP4(10, 244, 104, 0));
		CHECK_EQ(n->labels.n, 2);
		CHECK_STR(ctl_labels_get(&n->labels, "kubernetes.io/hostname"), "worker-1");
		CHECK_STR(n->labels.keys[0], "a");
	}

	/* fallback: first IPv4 InternalIP (IPv6 skipped), as /32 */
	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'w2'},'status':{'addresses':["
		     "{'type':'ExternalIP','address':'203.0.113.5'},"
		     "{'type':'InternalIP','address':'fd00::2'},"
		     "{'type':'InternalIP','address':'192.168.20.2'}]}}"), 0);
	n = ctl_store_get(st, CTL_RES_NODE, NULL, "w2");
	CHECK(n && n->ip == IP4(192, 168, 20, 2) && n->plen == 32 && n->tunnel_ip == 0);

	/* then ExternalIP */
	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'w3'},'status':{'addresses':["
		     "{'type':'Hostname','address':'w3'},{'type':'ExternalIP','address':'203.0.113.7'}]}}"), 0);
	n = ctl_store_get(st, CTL_RES_NODE, NULL, "w3");
	CHECK(n && n->ip == IP4(203, 0, 113, 7) && n->plen == 32);

	/* no address at all: IP unknown, still a node */
	CHECK_EQ(put(CTL_RES_NODE, "{'metadata':{'name':'w4'}}"), 0);
	n = ctl_store_get(st, CTL_RES_NODE, NULL, "w4");
	CHECK(n && n->ip == 0);

	/* annotation as a bare IP counts as /32 */
	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'w5','annotations':{'projectcalico.org/IPv4Address':'10.1.1.1'}}}"), 0);
	n = ctl_store_get(st, CTL_RES_NODE, NULL, "w5");
	CHECK(n && n->ip == IP4(10, 1, 1, 1) && n->plen == 32);

	/* malformed */
	CHECK_EQ(put(CTL_RES_NODE, "{'metadata':{'annotations':{}}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'w6','annotations':{'projectcalico.org/IPv4Address':'192.168.300.1/24'}}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NODE,
		     "{'metadata':{'name':'w6','annotations':{'projectcalico.org/IPv4IPIPTunnelAddr':'x'}}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NODE, "{'metadata':{'name':'w6','labels':{'a':1}}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NODE, "{'metadata':{'name':'w6','labels':[]}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NODE, "{'metadata':{'name':'w6'},'status':{'addresses':{}}}"), -EINVAL);
	CHECK(ctl_store_get(st, CTL_RES_NODE, NULL, "w6") == NULL);
}

static const struct ctl_pod *pod(const char *ns, const char *name)
{
	return ctl_store_get(st, CTL_RES_POD, ns, name);
}

static void test_pod(void)
{
	const struct ctl_pod *p;

	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'nginx','namespace':'default','labels':{'app':'web'},"
		     "'annotations':{'kdp.io/port-kind':'tap','cni.projectcalico.org/podIP':'10.9.9.9/32'}},"
		     "'spec':{'nodeName':'worker-1','containers':[{'name':'c','ports':["
		     "{'name':'http','containerPort':80},{'containerPort':81},"
		     "{'name':'dns','containerPort':53,'protocol':'UDP'}]}],"
		     "'initContainers':[{'name':'i','ports':[{'name':'sctp','containerPort':9,'protocol':'SCTP'}]}]},"
		     "'status':{'phase':'Running','podIP':'10.244.104.2','podIPs':[{'ip':'10.244.104.2'},{'ip':'fd00::2'}]}}"), 0);
	p = pod("default", "nginx");
	CHECK(p != NULL);
	if (p) {
		CHECK_STR(p->node, "worker-1");
		CHECK_STR(p->sa, "default");
		CHECK_STR(p->port_kind, "tap");
		CHECK(!p->host_network);
		CHECK_EQ(p->n_ips, 1);
		CHECK_EQ(p->ips[0], IP4(10, 244, 104, 2));
		CHECK_STR(ctl_labels_get(&p->labels, "app"), "web");
		CHECK_EQ(p->n_ports, 3);
		if (p->n_ports == 3) {
			CHECK_STR(p->ports[0].name, "http");
			CHECK_EQ(p->ports[0].proto, CTL_PROTO_TCP);
			CHECK_EQ(p->ports[0].port, 80);
			CHECK_STR(p->ports[1].name, "dns");
			CHECK_EQ(p->ports[1].proto, CTL_PROTO_UDP);
			CHECK_STR(p->ports[2].name, "sctp");
			CHECK_EQ(p->ports[2].proto, CTL_PROTO_SCTP);
		}
	}

	/* IP source order: podIP, then podIPs annotation, then podIP annotation */
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'p2','namespace':'ns','annotations':{'cni.projectcalico.org/podIPs':'10.0.0.9/32'}},"
		     "'spec':{'nodeName':'n','serviceAccountName':'sa1'},'status':{'podIP':'10.0.0.2'}}"), 0);
	p = pod("ns", "p2");
	CHECK(p && p->n_ips == 1 && p->ips[0] == IP4(10, 0, 0, 2));
	CHECK(p && strcmp(p->sa, "sa1") == 0);
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'p3','namespace':'ns','annotations':{"
		     "'cni.projectcalico.org/podIPs':'10.0.0.3/32, fd00::3/128,10.0.0.4',"
		     "'cni.projectcalico.org/podIP':'10.0.0.99/32'}},'spec':{'nodeName':'n'}}"), 0);
	p = pod("ns", "p3");
	CHECK(p && p->n_ips == 2 && p->ips[0] == IP4(10, 0, 0, 3) && p->ips[1] == IP4(10, 0, 0, 4));
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'p4','namespace':'ns','annotations':{"
		     "'cni.projectcalico.org/podIP':'10.0.0.5/32'}},'spec':{'nodeName':'n'}}"), 0);
	p = pod("ns", "p4");
	CHECK(p && p->n_ips == 1 && p->ips[0] == IP4(10, 0, 0, 5));

	/* finished phases have no IPs */
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'done','namespace':'ns'},'spec':{'nodeName':'n'},"
		     "'status':{'phase':'Succeeded','podIP':'10.0.0.6'}}"), 0);
	CHECK(pod("ns", "done") && pod("ns", "done")->n_ips == 0);
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'failed','namespace':'ns'},'spec':{'nodeName':'n'},"
		     "'status':{'phase':'Failed','podIP':'10.0.0.6'}}"), 0);
	CHECK(pod("ns", "failed") && pod("ns", "failed")->n_ips == 0);
	/* terminating with the Calico annotation cleared: no IPs ... */
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'term','namespace':'ns','deletionTimestamp':'2024-05-02T10:00:00Z',"
		     "'annotations':{'cni.projectcalico.org/podIP':''}},'spec':{'nodeName':'n'},"
		     "'status':{'phase':'Running','podIP':'10.0.0.7'}}"), 0);
	CHECK(pod("ns", "term") && pod("ns", "term")->n_ips == 0);
	/* ... but terminating with the annotation still set keeps them */
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'term2','namespace':'ns','deletionTimestamp':'2024-05-02T10:00:00Z',"
		     "'annotations':{'cni.projectcalico.org/podIP':'10.0.0.8/32'}},'spec':{'nodeName':'n'},"
		     "'status':{'phase':'Running','podIP':'10.0.0.8'}}"), 0);
	CHECK(pod("ns", "term2") && pod("ns", "term2")->n_ips == 1);

	/* hostNetwork and unscheduled */
	CHECK_EQ(put(CTL_RES_POD,
		     "{'metadata':{'name':'hn','namespace':'kube-system'},'spec':{'nodeName':'n','hostNetwork':true},"
		     "'status':{'podIP':'192.168.10.11'}}"), 0);
	CHECK(pod("kube-system", "hn") && pod("kube-system", "hn")->host_network);
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'pend','namespace':'ns'},'status':{'phase':'Pending'}}"), 0);
	CHECK(pod("ns", "pend") && pod("ns", "pend")->node == NULL && pod("ns", "pend")->n_ips == 0);

	/* malformed */
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x'}}"), -EINVAL); /* no namespace */
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x','namespace':'ns'},'status':{'podIP':'10.0.0.256'}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x','namespace':'ns'},'status':{'podIPs':[{'ip':'junk'}]}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x','namespace':'ns'},'spec':{'hostNetwork':'yes'}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x','namespace':'ns'},'spec':{'containers':[{'ports':"
		     "[{'name':'h','containerPort':70000}]}]}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'x','namespace':'ns'},'spec':{'containers':[{'ports':"
		     "[{'name':'h','containerPort':80,'protocol':'ICMP'}]}]}}"), -EINVAL);
	CHECK(pod("ns", "x") == NULL);

	/* a bad update keeps the previous good pod */
	CHECK_EQ(put(CTL_RES_POD, "{'metadata':{'name':'p2','namespace':'ns'},'status':{'podIP':'bad'}}"), -EINVAL);
	p = pod("ns", "p2");
	CHECK(p && p->n_ips == 1 && p->ips[0] == IP4(10, 0, 0, 2));
}

static void test_ns_sa(void)
{
	const struct ctl_namespace *n;
	const struct ctl_serviceaccount *sa;

	CHECK_EQ(put(CTL_RES_NAMESPACE,
		     "{'metadata':{'name':'prod','labels':{'kubernetes.io/metadata.name':'prod','team':'a'}}}"), 0);
	n = ctl_store_get(st, CTL_RES_NAMESPACE, NULL, "prod");
	CHECK(n && n->labels.n == 2 && strcmp(ctl_labels_get(&n->labels, "team"), "a") == 0);
	CHECK_EQ(put(CTL_RES_SERVICEACCOUNT,
		     "{'metadata':{'name':'api','namespace':'prod','labels':{'tier':'x'}}}"), 0);
	sa = ctl_store_get(st, CTL_RES_SERVICEACCOUNT, "prod", "api");
	CHECK(sa && strcmp(sa->ns, "prod") == 0 && strcmp(ctl_labels_get(&sa->labels, "tier"), "x") == 0);
	CHECK_EQ(put(CTL_RES_SERVICEACCOUNT, "{'metadata':{'name':'api'}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NAMESPACE, "{'metadata':{'name':7}}"), -EINVAL);
	CHECK_EQ(put(CTL_RES_NAMESPACE, "{'metadata':{'name':'q','labels':{'x':null}}}"), -EINVAL);
}

static void test_ippool(void)
{
	const struct ctl_pool *p;

	CHECK_EQ(put(CTL_RES_IPPOOL,
		     "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPPool','metadata':{'name':'default-ipv4-ippool'},"
		     "'spec':{'allowedUses':['Workload','Tunnel'],'blockSize':26,'cidr':'10.244.0.0/16','ipipMode':'Always',"
		     "'natOutgoing':true,'nodeSelector':'all()','vxlanMode':'Never'}}"), 0);
	p = ctl_store_get(st, CTL_RES_IPPOOL, NULL, "default-ipv4-ippool");
	CHECK(p != NULL);
	if (p) {
		CHECK_EQ(p->net, IP4(10, 244, 0, 0));
		CHECK_EQ(p->plen, 16);
		CHECK_EQ(p->block_size, 26);
		CHECK_EQ(p->ipip, CTL_ENCAP_ALWAYS);
		CHECK_EQ(p->vxlan, CTL_ENCAP_NEVER);
		CHECK(p->nat_outgoing && !p->disabled);
		CHECK_EQ(p->allowed_uses, CTL_USE_WORKLOAD | CTL_USE_TUNNEL);
	}
	/* defaults: blockSize 26, empty ipipMode = Never, uses Workload+Tunnel */
	CHECK_EQ(put(CTL_RES_IPPOOL,
		     "{'metadata':{'name':'p2'},'spec':{'cidr':'10.10.0.0/16','ipipMode':'','disabled':true}}"), 0);
	p = ctl_store_get(st, CTL_RES_IPPOOL, NULL, "p2");
	CHECK(p && p->block_size == 26 && p->ipip == CTL_ENCAP_NEVER && p->disabled &&
	      p->allowed_uses == (CTL_USE_WORKLOAD | CTL_USE_TUNNEL));
	CHECK_EQ(put(CTL_RES_IPPOOL,
		     "{'metadata':{'name':'lb'},'spec':{'cidr':'172.20.0.0/24','blockSize':32,"
		     "'ipipMode':'CrossSubnet','allowedUses':['LoadBalancer']}}"), 0);
	p = ctl_store_get(st, CTL_RES_IPPOOL, NULL, "lb");
	CHECK(p && p->allowed_uses == CTL_USE_LOADBALANCER && p->ipip == CTL_ENCAP_CROSS_SUBNET &&
	      p->block_size == 32);

	/* A dual-stack cluster's IPv6 pool (blockSize 122) is kept, not
	 * rejected on every resync; routing skips it (test_routes). */
	CHECK_EQ(put(CTL_RES_IPPOOL,
		     "{'metadata':{'name':'v6'},'spec':{'cidr':'fd00:10:244::/64','blockSize':122,"
		     "'ipipMode':'Never','natOutgoing':true}}"), 0);
	p = ctl_store_get(st, CTL_RES_IPPOOL, NULL, "v6");
	CHECK(p && p->ipv6 && p->net == 0 && p->plen == 0);

	static const char *const bad[] = {
		"{'metadata':{'name':'b'},'spec':{}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/33'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'fd00::/129'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'fd00::g/48'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'fd00::/048'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'fd00::'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','blockSize':19}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','blockSize':33}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','blockSize':26.5}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/28','blockSize':26}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','ipipMode':'Sometimes'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','vxlanMode':'always'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','natOutgoing':'true'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.0.0.0/16','allowedUses':['Everything']}}",
	};
	EXPECT_REJECTED(CTL_RES_IPPOOL, bad);
	CHECK(ctl_store_get(st, CTL_RES_IPPOOL, NULL, "b") == NULL);
}

static void test_ipamblock(void)
{
	const struct ctl_block *b;

	CHECK_EQ(put(CTL_RES_IPAMBLOCK,
		     "{'apiVersion':'crd.projectcalico.org/v1','kind':'IPAMBlock','metadata':{'name':'10-244-104-0-26'},"
		     "'spec':{'cidr':'10.244.104.0/26','affinity':'host:worker-1',"
		     "'allocations':[0,null,1,2,null],'unallocated':[1,4],"
		     "'attributes':[{'handle_id':'ipip-tunnel-addr-worker-1','secondary':{'node':'worker-1','type':'ipipTunnelAddress'}},"
		     "{'handle_id':'k8s-pod-network.5f1c','secondary':{'namespace':'default','node':'worker-1','pod':'nginx-7c5b'}},"
		     "{'handle_id':'k8s-pod-network.91ab','secondary':{'namespace':'default','node':'worker-2','pod':'web-0'}}],"
		     "'deleted':false,'sequenceNumber':7,'strictAffinity':false}}"), 0);
	b = ctl_store_get(st, CTL_RES_IPAMBLOCK, NULL, "10-244-104-0-26");
	CHECK(b != NULL);
	if (b) {
		CHECK_EQ(b->net, IP4(10, 244, 104, 0));
		CHECK_EQ(b->plen, 26);
		CHECK_STR(b->host, "worker-1");
		CHECK(!b->deleted);
		CHECK_EQ(b->n_allocs, 3);
		if (b->n_allocs == 3) {
			CHECK_EQ(b->allocs[0].ip, IP4(10, 244, 104, 0));
			CHECK_STR(b->allocs[0].handle, "ipip-tunnel-addr-worker-1");
			CHECK(b->allocs[0].pod == NULL);
			CHECK_EQ(b->allocs[1].ip, IP4(10, 244, 104, 2));
			CHECK_STR(b->allocs[1].pod, "nginx-7c5b");
			CHECK_EQ(b->allocs[2].ip, IP4(10, 244, 104, 3));
			CHECK_STR(b->allocs[2].node, "worker-2");
			CHECK_STR(b->allocs[2].ns, "default");
		}
	}
	/* virtual affinity and no affinity: no host; deleted flag */
	CHECK_EQ(put(CTL_RES_IPAMBLOCK,
		     "{'metadata':{'name':'v'},'spec':{'cidr':'10.244.105.0/26','affinity':'virtual:x','deleted':true}}"), 0);
	b = ctl_store_get(st, CTL_RES_IPAMBLOCK, NULL, "v");
	CHECK(b && b->host == NULL && b->deleted && b->n_allocs == 0);
	CHECK_EQ(put(CTL_RES_IPAMBLOCK,
		     "{'metadata':{'name':'na'},'spec':{'cidr':'10.244.106.0/30','allocations':[null,0],"
		     "'attributes':[{'handle_id':'h','secondary':null}]}}"), 0);
	b = ctl_store_get(st, CTL_RES_IPAMBLOCK, NULL, "na");
	CHECK(b && b->host == NULL && b->n_allocs == 1 && b->allocs[0].ip == IP4(10, 244, 106, 1) &&
	      b->allocs[0].node == NULL);

	/* IPv6 block: kept without its allocations */
	CHECK_EQ(put(CTL_RES_IPAMBLOCK,
		     "{'metadata':{'name':'fd00-10-244--40-122'},'spec':{'cidr':'fd00:10:244::40/122',"
		     "'affinity':'host:worker-1','allocations':[0],'attributes':[{'handle_id':'h',"
		     "'secondary':{'node':'worker-1'}}]}}"), 0);
	b = ctl_store_get(st, CTL_RES_IPAMBLOCK, NULL, "fd00-10-244--40-122");
	CHECK(b && b->ipv6 && b->n_allocs == 0 && b->host == NULL);

	static const char *const bad[] = {
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.1/26'}}",       /* not aligned */
		"{'metadata':{'name':'b'},'spec':{'cidr':'fd00:10:244::40/200'}}",
		"{'metadata':{'name':'b'},'spec':{}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','allocations':[0],'attributes':[]}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','allocations':[-1],'attributes':[{}]}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','allocations':['0'],'attributes':[{}]}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/30','allocations':[null,null,null,null,null]}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','allocations':{}}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','affinity':7}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','deleted':'false'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.104.0/26','allocations':[0],'attributes':[{'secondary':{'node':3}}]}}",
	};
	EXPECT_REJECTED(CTL_RES_IPAMBLOCK, bad);
	CHECK(ctl_store_get(st, CTL_RES_IPAMBLOCK, NULL, "b") == NULL);
}

static void test_blockaffinity(void)
{
	const struct ctl_affinity *a;

	CHECK_EQ(put(CTL_RES_BLOCKAFFINITY,
		     "{'apiVersion':'crd.projectcalico.org/v1','kind':'BlockAffinity',"
		     "'metadata':{'name':'worker-1-10-244-104-0-26','labels':{'projectcalico.org/ip-version':'4'}},"
		     "'spec':{'cidr':'10.244.104.0/26','deleted':'false','node':'worker-1','state':'confirmed','type':'host'}}"), 0);
	a = ctl_store_get(st, CTL_RES_BLOCKAFFINITY, NULL, "worker-1-10-244-104-0-26");
	CHECK(a && strcmp(a->node, "worker-1") == 0 && a->net == IP4(10, 244, 104, 0) &&
	      a->plen == 26 && a->state == CTL_AFF_CONFIRMED && !a->deleted);
	/* v1 string "true"; v3 bool */
	CHECK_EQ(put(CTL_RES_BLOCKAFFINITY,
		     "{'metadata':{'name':'a2'},'spec':{'cidr':'10.244.1.0/26','deleted':'true','node':'n','state':'pending'}}"), 0);
	a = ctl_store_get(st, CTL_RES_BLOCKAFFINITY, NULL, "a2");
	CHECK(a && a->deleted && a->state == CTL_AFF_PENDING);
	CHECK_EQ(put(CTL_RES_BLOCKAFFINITY,
		     "{'metadata':{'name':'a3'},'spec':{'cidr':'10.244.2.0/26','deleted':true,'node':'n','state':'pendingDeletion'}}"), 0);
	a = ctl_store_get(st, CTL_RES_BLOCKAFFINITY, NULL, "a3");
	CHECK(a && a->deleted && a->state == CTL_AFF_PENDING_DELETION);
	CHECK_EQ(put(CTL_RES_BLOCKAFFINITY,
		     "{'metadata':{'name':'a4'},'spec':{'cidr':'10.244.3.0/26','deleted':false,'node':'n','state':'confirmed'}}"), 0);
	a = ctl_store_get(st, CTL_RES_BLOCKAFFINITY, NULL, "a4");
	CHECK(a && !a->deleted);
	CHECK_EQ(put(CTL_RES_BLOCKAFFINITY,
		     "{'metadata':{'name':'a6'},'spec':{'cidr':'fd00:10:244::40/122','deleted':'false','node':'n','state':'confirmed'}}"), 0);
	a = ctl_store_get(st, CTL_RES_BLOCKAFFINITY, NULL, "a6");
	CHECK(a && a->ipv6 && a->net == 0);

	static const char *const bad[] = {
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.0/26','deleted':'maybe','node':'n','state':'confirmed'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.0/26','deleted':1,'node':'n','state':'confirmed'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.0/26','node':'n','state':'claimed'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.0/26','node':'n'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.0/26','state':'confirmed'}}",
		"{'metadata':{'name':'b'},'spec':{'cidr':'10.244.1.5/26','node':'n','state':'confirmed'}}",
	};
	EXPECT_REJECTED(CTL_RES_BLOCKAFFINITY, bad);
}

int main(void)
{
	st = ctl_store_create();
	k8s_decode_register(st);
	test_ipv4();
	test_res_from_object();
	test_node();
	test_pod();
	test_ns_sa();
	test_ippool();
	test_ipamblock();
	test_blockaffinity();
	ctl_store_free(st);
	CHECK_DONE();
}
