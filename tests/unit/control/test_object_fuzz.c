/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bad objects from the API never crash, leak or wedge control: valid
 * objects of every kind the store decodes, mutated at random (a member
 * deleted, renamed, given another type or an edge value: empty, huge,
 * negative, malformed addresses and prefixes, broken selectors, long
 * strings; an array item repeated), are put into the store, which
 * accepts or rejects each; objects are deleted now and then, and every
 * so often tables are built from whatever the store holds. Under ASan
 * and UBSan (the unit suite's second run) any overflow, use after free,
 * leak or undefined arithmetic fails the run; in the plain run a crash
 * does. Accepted objects must also leave the store able to build.
 *
 * FUZZ_SEED=N and FUZZ_ITERS=N replay or lengthen a run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dp/log.h"
#include "tests/unit/acl/churn_policies.h"
#include "tests/unit/control/tables_fixture.h"
#include "tests/unit/json_fuzz.h"

static struct tfix fx;

static const struct {
	enum ctl_res res;
	const char *json;
} seeds[] = {
	{CTL_RES_NODE,
	 "{\"metadata\":{\"name\":\"n2\",\"annotations\":{"
	 "\"projectcalico.org/IPv4Address\":\"192.168.10.12/24\","
	 "\"projectcalico.org/IPv4IPIPTunnelAddr\":\"10.244.2.1\"}},"
	 "\"spec\":{\"podCIDR\":\"10.244.2.0/24\"},\"status\":{\"addresses\":"
	 "[{\"type\":\"InternalIP\",\"address\":\"192.168.10.12\"}]}}"},
	{CTL_RES_NODE,
	 "{\"metadata\":{\"name\":\"n1\",\"annotations\":{"
	 "\"projectcalico.org/IPv4Address\":\"192.168.10.11/24\"}}}"},
	{CTL_RES_POD,
	 "{\"metadata\":{\"name\":\"ep0\",\"namespace\":\"ns0\",\"labels\":"
	 "{\"app\":\"web\",\"tier\":\"fe\"},\"annotations\":{"
	 "\"cni.projectcalico.org/podIP\":\"10.244.1.5/32\"}},"
	 "\"spec\":{\"nodeName\":\"n1\",\"serviceAccountName\":\"sa1\","
	 "\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\","
	 "\"containerPort\":8080},{\"name\":\"dns\",\"containerPort\":53,"
	 "\"protocol\":\"UDP\"}]}]},\"status\":{\"phase\":\"Running\","
	 "\"podIP\":\"10.244.1.5\",\"podIPs\":[{\"ip\":\"10.244.1.5\"}]}}"},
	{CTL_RES_POD,
	 "{\"metadata\":{\"name\":\"r1\",\"namespace\":\"ns1\",\"labels\":"
	 "{\"app\":\"db\",\"tier\":\"be\",\"env\":\"prod\"}},\"spec\":{"
	 "\"nodeName\":\"n2\",\"containers\":[{\"name\":\"c\",\"ports\":"
	 "[{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\"}]}]},"
	 "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.2.9\"}}"},
	{CTL_RES_NAMESPACE,
	 "{\"metadata\":{\"name\":\"ns0\",\"labels\":{\"team\":\"a\"}}}"},
	{CTL_RES_SERVICEACCOUNT,
	 "{\"metadata\":{\"name\":\"sa1\",\"namespace\":\"ns0\",\"labels\":"
	 "{\"role\":\"front\"}}}"},
	{CTL_RES_IPPOOL,
	 "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"cidr\":\"10.244.0.0/16\","
	 "\"blockSize\":26,\"ipipMode\":\"Always\",\"natOutgoing\":true,"
	 "\"allowedUses\":[\"Workload\",\"Tunnel\"]}}"},
	{CTL_RES_IPAMBLOCK,
	 "{\"metadata\":{\"name\":\"10-244-1-0-26\"},\"spec\":{\"cidr\":"
	 "\"10.244.1.0/26\",\"affinity\":\"host:n1\",\"allocations\":"
	 "[0,null,1,null],\"unallocated\":[1,3],\"attributes\":["
	 "{\"handle_id\":\"ipip-tunnel-addr-n1\",\"secondary\":{\"node\":\"n1\","
	 "\"type\":\"ipipTunnelAddress\"}},{\"handle_id\":\"k8s-pod-network.1\","
	 "\"secondary\":{\"namespace\":\"ns0\",\"node\":\"n1\",\"pod\":\"ep0\"}}],"
	 "\"deleted\":false}}"},
	{CTL_RES_IPAMBLOCK,
	 "{\"metadata\":{\"name\":\"10-244-2-0-26\"},\"spec\":{\"cidr\":"
	 "\"10.244.2.0/26\",\"affinity\":\"host:n2\"}}"},
	{CTL_RES_BLOCKAFFINITY,
	 "{\"metadata\":{\"name\":\"n1-10-244-1-0-26\"},\"spec\":{\"cidr\":"
	 "\"10.244.1.0/26\",\"node\":\"n1\",\"state\":\"confirmed\","
	 "\"deleted\":\"false\"}}"},
	{CTL_RES_TIER,
	 "{\"metadata\":{\"name\":\"sec\"},\"spec\":{\"order\":100,"
	 "\"defaultAction\":\"Pass\"}}"},
	{CTL_RES_CALICO_NETPOL,
	 "{\"metadata\":{\"name\":\"sec.t\",\"namespace\":\"ns0\"},\"spec\":{"
	 "\"tier\":\"sec\",\"order\":10,\"selector\":\"all()\",\"types\":"
	 "[\"Ingress\",\"Egress\"],\"ingress\":[{\"action\":\"Log\"},"
	 "{\"action\":\"Deny\",\"protocol\":\"ICMP\",\"icmp\":{\"type\":8,"
	 "\"code\":0}},{\"action\":\"Pass\",\"source\":{\"nets\":"
	 "[\"10.0.0.0/8\"],\"notNets\":[\"10.1.0.0/16\"],\"serviceAccounts\":"
	 "{\"names\":[\"sa1\"],\"selector\":\"role == 'front'\"}}}],"
	 "\"egress\":[{\"action\":\"Allow\",\"protocol\":\"TCP\","
	 "\"notProtocol\":\"UDP\",\"destination\":{\"selector\":"
	 "\"role in {'ext', 'g'}\",\"ports\":[80,\"8000:8100\",\"http\"],"
	 "\"notPorts\":[8050]}}]}}"},
	{CTL_RES_NETWORKSET,
	 "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"ns0\",\"labels\":"
	 "{\"role\":\"ext\"}},\"spec\":{\"nets\":[\"198.51.100.0/24\"]}}"},
	{CTL_RES_GLOBAL_NETWORKSET,
	 "{\"metadata\":{\"name\":\"g\",\"labels\":{\"role\":\"g\"}},\"spec\":"
	 "{\"nets\":[\"203.0.113.0/24\",\"10.0.0.0/8\"]}}"},
};

static const char *const strs[] = {
	"", "0", "-1", "4294967296", "10.0.0.0/0", "0.0.0.0/0",
	"255.255.255.255/32", "10.0.0.0/33", "10.0.0.1/26", "10.244.1.0/31",
	"::/0", "fd00::1", "999.1.1.1", "1.2.3", "a b", "host:", "host:n1",
	"virtual:x", "\xff\xfe", "app == 'x'", "((((", "has(", "!", "all()",
	"global()", "a in {", "x contains", "Ingress", "Egress", "Allow",
	"Deny", "Pass", "Log", "TCP", "UDP", "SCTP", "ICMP", "65536",
	"1:65535", "9:8", "http", "ns0", "n1", "n2", "Running", "Failed",
	"Always", "CrossSubnet", "Never", "true",
};

static const double nums[] = {
	0, -1, 1, 8, 26, 32, 33, 255, 256, 65535, 65536, 4294967296.0,
	1e300, -1e300, 0.5, -0.0,
};

static cJSON *random_value(void)
{
	switch (rand() % 8) {
	case 0:
		return cJSON_CreateNull();
	case 1:
		return cJSON_CreateBool(rand() % 2);
	case 2:
	case 3:
		return cJSON_CreateNumber(nums[rand() % RTE_DIM(nums)]);
	case 4:
		return cJSON_CreateObject();
	case 5:
		return cJSON_CreateArray();
	case 6: {
		/* long: names and labels have limits */
		size_t n = 1 + (size_t)rand() % 5000;
		char *s = malloc(n + 1);
		cJSON *j;

		memset(s, 'a' + rand() % 26, n);
		s[n] = '\0';
		j = cJSON_CreateString(s);
		free(s);
		return j;
	}
	default:
		return cJSON_CreateString(strs[rand() % RTE_DIM(strs)]);
	}
}

/* A member name for jf_mutate(): the objects' own keys (misplaced, or
 * given twice) and one no kind knows. */
static const char *random_key(void)
{
	static const char *const keys[] = {"metadata", "spec", "name",
					   "namespace", "labels", "selector",
					   "ports", "cidr", "x"};

	return keys[rand() % RTE_DIM(keys)];
}

/* One mutation of @p root (not the root itself). */
static void mutate(cJSON *root)
{
	cJSON *parent, *it = jf_pick(root, &parent);

	if (it != NULL)
		jf_mutate(parent, it, random_value, random_key, "0/.:9a-Z ");
}

/* The identity of @p o, for a delete: "" when it has none. */
static void ident(const cJSON *o, const char **ns, const char **name)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(md, "name");

	*ns = cJSON_IsString(a) ? a->valuestring : "";
	*name = cJSON_IsString(b) ? b->valuestring : "";
}

int main(void)
{
	const char *e = getenv("FUZZ_SEED");
	unsigned int seed = e ? (unsigned int)atoi(e) : 11;
	unsigned int iters = getenv("FUZZ_ITERS") ?
		(unsigned int)atoi(getenv("FUZZ_ITERS")) : 12000;
	unsigned int accepted = 0, builds = 0;

	if (tfix_init(&fx, "kdp_test_object_fuzz", "") != 0)
		return 1;
	/* The churn tests' policies as further seeds. */
	cJSON *pol[RTE_DIM(churn_policies)];
	for (unsigned int i = 0; i < RTE_DIM(churn_policies); i++)
		pol[i] = cJSON_Parse(churn_policies[i].json);
	static const enum ctl_res pres[] = {
		[CHURN_K8S] = CTL_RES_K8S_NETPOL,
		[CHURN_GLOBAL] = CTL_RES_GLOBAL_NETPOL,
		[CHURN_CALICO] = CTL_RES_CALICO_NETPOL,
	};
	/* Every seed is valid, and builds. */
	for (unsigned int i = 0; i < RTE_DIM(seeds); i++) {
		cJSON *o = cJSON_Parse(seeds[i].json);

		CHECK(o != NULL && ctl_store_upsert(fx.st, seeds[i].res, o) == 0);
		cJSON_Delete(o);
	}
	for (unsigned int i = 0; i < RTE_DIM(churn_policies); i++)
		CHECK(ctl_store_upsert(fx.st, pres[churn_policies[i].kind],
				       pol[i]) == 0);
	static const struct ctl_pod_ep pe[] = { { .pod = "ns0/ep0", .port = 1 } };
	struct ctl_ports pp = {.uplink = 0, .host = UINT16_MAX, .pods = pe,
			       .n_pods = 1};
	struct pl_tables *prev = tfix_build(&fx, &pp, 1, NULL);

	CHECK(prev != NULL);
	srand(seed);
	for (unsigned int it = 0; it < iters; it++) {
		/* The first hundred rejections say why; the rest would only
		 * fill the log. */
		if (it == 100)
			rte_log_set_level(kdp_logtype, RTE_LOG_CRIT);
		unsigned int k = (unsigned int)rand() %
				 (RTE_DIM(seeds) + RTE_DIM(churn_policies));
		enum ctl_res res = k < RTE_DIM(seeds) ? seeds[k].res :
			pres[churn_policies[k - RTE_DIM(seeds)].kind];
		cJSON *o = k < RTE_DIM(seeds) ? cJSON_Parse(seeds[k].json) :
			cJSON_Duplicate(pol[k - RTE_DIM(seeds)], true);

		for (int m = 1 + rand() % 4; m > 0; m--)
			mutate(o);
		accepted += ctl_store_upsert(fx.st, res, o) == 0;
		if (rand() % 16 == 0) {
			const char *ns, *name;

			ident(o, &ns, &name);
			ctl_store_delete(fx.st, res, ns, name);
		}
		cJSON_Delete(o);
		if (it % 100 == 99) {
			/* Whatever was accepted builds: after the last
			 * tables, as control does, and now and then the
			 * valid objects come back. */
			struct pl_tables *t = tfix_build(&fx, &pp, it + 2, prev);

			builds++;
			if (t != NULL) {
				ctl_tables_free(prev);
				prev = t;
			}
			if (rand() % 4 == 0)
				for (unsigned int i = 0; i < RTE_DIM(seeds); i++) {
					cJSON *s = cJSON_Parse(seeds[i].json);

					ctl_store_upsert(fx.st, seeds[i].res, s);
					cJSON_Delete(s);
				}
		}
	}
	printf("object fuzz: %u objects, %u accepted, %u builds (seed %u)\n",
	       iters, accepted, builds, seed);
	/* The mutations are not all rejected, nor all harmless. */
	CHECK(accepted > iters / 10 && accepted < iters - iters / 10);
	ctl_tables_free(prev);
	for (unsigned int i = 0; i < RTE_DIM(churn_policies); i++)
		cJSON_Delete(pol[i]);
	tfix_free(&fx);
	CHECK_DONE();
}
