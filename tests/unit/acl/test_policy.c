/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decoder rejections (reason text checked) and focused evaluator cases:
 * tier order, policy order and its tie-break, Pass, Log, tier defaultAction,
 * named ports, network sets, ICMP, notPorts, and the IP-set/plan views for
 * compile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "acl/acl_priv.h"
#include "acl/eval.h"
#include "acl/policy.h"
#include "tutil.h"

static void expect_reject(void *(*dec)(const cJSON *, char *, size_t),
			  const char *json, const char *reason)
{
	cJSON *o = cJSON_Parse(json);
	char err[512] = "";
	void *p;

	if (!o) {
		TU_CHECK(0, "bad test JSON: %s", json);
		return;
	}
	p = dec(o, err, sizeof(err));
	TU_CHECK(!p && strstr(err, reason), "want rejection '%s', got %s '%s'",
		 reason, p ? "accepted" : "rejected:", err);
	if (p)
		acl_policy_free(p);
	cJSON_Delete(o);
}

#define GNP(spec) "{\"metadata\":{\"name\":\"p\"},\"spec\":" spec "}"
#define KNP(spec) "{\"metadata\":{\"name\":\"k\",\"namespace\":\"x\"},\"spec\":" spec "}"

static void test_rejections(void)
{
	expect_reject(acl_global_netpol_decode, GNP("{\"selector\":\"a ==\"}"),
		      "selector: invalid selector at position 4");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Accept\"}]}"),
		      "ingress[0]: unknown action 'Accept'");
	expect_reject(acl_global_netpol_decode, GNP("{\"egress\":[{}]}"),
		      "egress[0]: unknown action '(missing)'");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"egress\":[{\"action\":\"Allow\",\"destination\":"
			  "{\"nets\":[\"10.0.0.0/33\"]}}]}"),
		      "egress[0].destination.nets: invalid CIDR '10.0.0.0/33'");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"source\":"
			  "{\"notNets\":[\"10.0.300.0/24\"]}}]}"),
		      "invalid CIDR '10.0.300.0/24'");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"TCP\","
			  "\"destination\":{\"ports\":[\"90:80\"]}}]}"),
		      "ingress[0].destination.ports: invalid port '90:80'");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"TCP\","
			  "\"destination\":{\"ports\":[70000]}}]}"),
		      "invalid port 70000");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"ICMP\","
			  "\"destination\":{\"ports\":[80]}}]}"),
		      "ports need protocol TCP, UDP or SCTP");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"ICMP\","
			  "\"icmp\":{\"code\":0}}]}"),
		      "icmp: code requires type");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"TCPX\"}]}"),
		      "invalid protocol");
	expect_reject(acl_global_netpol_decode,
		      GNP("{\"ingress\":[{\"action\":\"Allow\",\"source\":"
			  "{\"namespaceSelector\":\"x ==\"}}]}"),
		      "ingress[0].source: namespaceSelector: invalid selector");
	expect_reject(acl_calico_netpol_decode, GNP("{}"),
		      "metadata.namespace missing");
	expect_reject(acl_tier_decode,
		      "{\"metadata\":{\"name\":\"t\"},\"spec\":{\"defaultAction\":\"Log\"}}",
		      "defaultAction must be Deny or Pass");
	expect_reject(acl_k8s_netpol_decode,
		      KNP("{\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":"
			  "{\"cidr\":\"10.0.0.0/8\",\"except\":[\"bogus\"]}}]}]}"),
		      "ingress[0].from[0].ipBlock.except: invalid CIDR 'bogus'");
	expect_reject(acl_k8s_netpol_decode,
		      KNP("{\"podSelector\":{},\"ingress\":[{\"ports\":"
			  "[{\"port\":\"http\",\"endPort\":90}]}]}"),
		      "endPort needs a numeric port");
	expect_reject(acl_k8s_netpol_decode,
		      KNP("{\"podSelector\":{},\"ingress\":[{\"ports\":"
			  "[{\"protocol\":\"ICMP\",\"port\":1}]}]}"),
		      "protocol must be TCP, UDP or SCTP");
	expect_reject(acl_k8s_netpol_decode,
		      KNP("{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\","
			  "\"operator\":\"Near\"}]}}"),
		      "unknown matchExpressions operator 'Near'");
	acl_policy_free(NULL);
	acl_tier_free(NULL);
	acl_netset_free(NULL);
}

/* A small cluster: namespace "ns" (team=a), pods a (app=web, port http=8080)
 * and b (app=db), and "other" pod c. */
struct fix {
	struct ctl_namespace ns[2];
	struct ctl_pod pods[3];
	struct ctl_named_port http;
	struct acl_world *w;
	size_t n_objs;
	void *objs[16];
	void (*frees[16])(void *);
};

static void mkpod(struct ctl_pod *p, const char *ns, const char *name,
		  const char *labels, const char *ip)
{
	cJSON *l = cJSON_Parse(labels);

	memset(p, 0, sizeof(*p));
	p->ns = (char *)ns;
	p->name = (char *)name;
	p->node = (char *)"n1";
	p->sa = (char *)"default";
	p->n_ips = 1;
	p->ips[0] = tu_ip(ip);
	tu_labels_from_json(&p->labels, l);
	cJSON_Delete(l);
}

static void fix_init(struct fix *f)
{
	cJSON *l = cJSON_Parse("{\"team\":\"a\"}");

	memset(f, 0, sizeof(*f));
	f->ns[0].name = (char *)"ns";
	tu_labels_from_json(&f->ns[0].labels, l);
	f->ns[1].name = (char *)"other";
	cJSON_Delete(l);
	mkpod(&f->pods[0], "ns", "a", "{\"app\":\"web\"}", "10.0.0.1");
	mkpod(&f->pods[1], "ns", "b", "{\"app\":\"db\"}", "10.0.0.2");
	mkpod(&f->pods[2], "other", "c", "{\"app\":\"web\"}", "10.0.1.3");
	f->http = (struct ctl_named_port){ (char *)"http", 6, 8080 };
	f->pods[0].ports = &f->http;
	f->pods[0].n_ports = 1;
	f->w = acl_world_create();
	for (int i = 0; i < 3; i++)
		acl_world_add_pod(f->w, &f->pods[i]);
	acl_world_add_namespace(f->w, &f->ns[0]);
	acl_world_add_namespace(f->w, &f->ns[1]);
}

static void fix_add(struct fix *f, void *(*dec)(const cJSON *, char *, size_t),
		    const char *json)
{
	cJSON *o = cJSON_Parse(json);
	char err[256] = "";
	void *p = o ? dec(o, err, sizeof(err)) : NULL;

	cJSON_Delete(o);
	TU_CHECK(p, "fixture object rejected: %s (%s)", err, json);
	if (!p)
		return;
	f->objs[f->n_objs] = p;
	if (dec == acl_tier_decode) {
		f->frees[f->n_objs] = acl_tier_free;
		acl_world_add_tier(f->w, p);
	} else if (dec == acl_global_netset_decode || dec == acl_netset_decode) {
		f->frees[f->n_objs] = acl_netset_free;
		acl_world_add_netset(f->w, p);
	} else {
		f->frees[f->n_objs] = acl_policy_free;
		acl_world_add_policy(f->w, p);
	}
	f->n_objs++;
}

static void fix_free(struct fix *f)
{
	for (size_t i = 0; i < f->n_objs; i++)
		f->frees[i](f->objs[i]);
	for (int i = 0; i < 3; i++)
		ctl_labels_clear(&f->pods[i].labels);
	ctl_labels_clear(&f->ns[0].labels);
	acl_world_free(f->w);
}

static struct acl_verdict check(struct fix *f, const char *src, const char *dst,
				uint8_t proto, uint16_t dport, bool want,
				const char *what)
{
	struct acl_pkt pkt = { .src = tu_ip(src), .dst = tu_ip(dst),
			       .proto = proto, .sport = 5555, .dport = dport };
	struct acl_verdict v = { 0 };

	TU_CHECK(acl_eval(f->w, &pkt, &v) == 0, "%s: eval", what);
	TU_CHECK(v.allow == want, "%s: got %s", what, v.allow ? "allow" : "deny");
	return v;
}

/* acl_cidr_parse(), IPv4-mapped IPv6 forms as Calico reads them (Go's
 * IPNet.String() of the parsed CIDR): ::ffff:10.0.0.0/104 is 10.0.0.0/8. */
static void test_cidrs(void)
{
	static const struct {
		const char *s;
		int rc;
		const char *net;
		uint8_t plen;
	} c[] = {
		{"10.1.2.3/8", 0, "10.0.0.0", 8},
		{"::ffff:10.0.0.0/104", 0, "10.0.0.0", 8},
		{"::ffff:10.1.2.3/112", 0, "10.1.0.0", 16},
		{"::FFFF:192.168.1.1", 0, "192.168.1.1", 32},
		{"::ffff:a00:0/96", 0, "0.0.0.0", 0},
		{"::ffff:10.0.0.0/95", 1, NULL, 0},
		{"::fffe:10.0.0.0/104", 1, NULL, 0},
		{"fd00::/8", 1, NULL, 0},
		{"::ffff:10.0.0.0/129", -EINVAL, NULL, 0},
	};

	for (size_t i = 0; i < RTE_DIM(c); i++) {
		struct acl_cidr r = {0};
		int rc = acl_cidr_parse(c[i].s, &r);

		TU_CHECK(rc == c[i].rc && (rc != 0 || (r.net == tu_ip(c[i].net) &&
						       r.plen == c[i].plen)),
			 "cidr '%s': rc %d, %u.%u.%u.%u/%u", c[i].s, rc,
			 r.net >> 24, (r.net >> 16) & 0xff, (r.net >> 8) & 0xff,
			 r.net & 0xff, r.plen);
	}

	/* In an ipBlock: the cidr and an except, mapped. */
	struct fix f;

	fix_init(&f);
	fix_add(&f, acl_k8s_netpol_decode,
		"{\"metadata\":{\"name\":\"k\",\"namespace\":\"ns\"},\"spec\":"
		"{\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},"
		"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":"
		"\"::ffff:10.0.0.0/104\",\"except\":[\"::ffff:10.9.0.0/112\"]}}]}]}}");
	check(&f, "10.1.2.3", "10.0.0.2", 6, 80, true, "mapped ipBlock cidr");
	check(&f, "10.9.2.3", "10.0.0.2", 6, 80, false, "mapped ipBlock except");
	fix_free(&f);
}

static void test_tiers_and_pass(void)
{
	struct fix f;
	struct acl_verdict v;

	fix_init(&f);
	fix_add(&f, acl_tier_decode,
		"{\"metadata\":{\"name\":\"sec\"},\"spec\":{\"order\":10}}");
	/* Tier sec: deny db ingress from other namespaces, pass the rest. */
	fix_add(&f, acl_global_netpol_decode, GNP(
		"{\"tier\":\"sec\",\"order\":1,\"selector\":\"app == 'db'\","
		"\"ingress\":[{\"action\":\"Log\"},"
		"{\"action\":\"Deny\",\"source\":{\"namespaceSelector\":\"team != 'a'\"}},"
		"{\"action\":\"Pass\"}]}"));
	/* Default tier: only web may reach db on 5432; orders decide. */
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"z-allow\",\"namespace\":\"ns\"},\"spec\":"
		"{\"order\":20,\"selector\":\"app == 'db'\",\"ingress\":[{\"action\":"
		"\"Allow\",\"protocol\":\"TCP\",\"source\":{\"selector\":\"app == 'web'\"},"
		"\"destination\":{\"ports\":[5432]}}]}}");
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"a-deny\",\"namespace\":\"ns\"},\"spec\":"
		"{\"order\":30,\"selector\":\"app == 'db'\",\"ingress\":[{\"action\":"
		"\"Deny\"}]}}");

	v = check(&f, "10.0.0.1", "10.0.0.2", 6, 5432, true, "web->db 5432");
	TU_CHECK(v.ingress.why == ACL_WHY_RULE && v.ingress.policy &&
			 !strcmp(v.ingress.policy->name, "z-allow") && v.ingress.rule == 0,
		 "decided by z-allow rule 0 (order beats name)");
	v = check(&f, "10.0.0.1", "10.0.0.2", 6, 5433, false, "web->db 5433");
	TU_CHECK(v.ingress.policy && !strcmp(v.ingress.policy->name, "a-deny"),
		 "decided by a-deny");
	v = check(&f, "10.0.1.3", "10.0.0.2", 6, 5432, false, "other ns -> db");
	TU_CHECK(v.ingress.policy && !strcmp(v.ingress.tier, "sec") &&
			 v.ingress.rule == 1, "denied in tier sec rule 1");
	v = check(&f, "10.0.0.2", "10.0.0.1", 6, 80, true, "db -> web: profile");
	TU_CHECK(v.ingress.why == ACL_WHY_PROFILE && v.egress.why == ACL_WHY_PROFILE,
		 "no policy applies: profile");
	check(&f, "192.168.9.9", "10.0.0.1", 6, 80, true, "non-endpoint source");

	/* The plan for db ingress: sec then default, policies in order. */
	struct acl_plan plan;
	TU_CHECK(acl_plan_build(f.w, &f.pods[1], ACL_DIR_INGRESS, &plan) == 0 &&
			 plan.n == 2 && !strcmp(plan.tiers[0].name, "sec") &&
			 plan.tiers[1].n == 2 &&
			 !strcmp(plan.tiers[1].pols[0]->name, "z-allow"),
		 "plan order");
	acl_plan_clear(&plan);
	fix_free(&f);

	/* End of tier: drop, unless the tier's defaultAction is Pass. */
	for (int pass = 0; pass < 2; pass++) {
		fix_init(&f);
		fix_add(&f, acl_tier_decode, pass ?
			"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"order\":1,\"defaultAction\":\"Pass\"}}" :
			"{\"metadata\":{\"name\":\"t\"},\"spec\":{\"order\":1}}");
		fix_add(&f, acl_global_netpol_decode, GNP(
			"{\"tier\":\"t\",\"selector\":\"app == 'db'\",\"ingress\":"
			"[{\"action\":\"Allow\",\"source\":{\"nets\":[\"10.9.0.0/16\"]}}]}"));
		v = check(&f, "10.0.0.1", "10.0.0.2", 6, 80, pass,
			  pass ? "tier Pass -> profile" : "end of tier drop");
		TU_CHECK(v.ingress.why == (pass ? ACL_WHY_PROFILE : ACL_WHY_TIER_END),
			 "why %d", v.ingress.why);
		fix_free(&f);
	}
}

/*
 * Ingress verdict at pod b (10.0.0.2) for TCP from @p src to port 80, from
 * the evaluator and from the compiled program (what the dataplane runs):
 * both must give Felix's verdict @p want.
 */
static void check_db_ingress(struct fix *f, const char *src, bool want,
			     const char *what)
{
	struct acl_pkt pkt = { .src = tu_ip(src), .dst = tu_ip("10.0.0.2"),
			       .proto = 6, .sport = 5555, .dport = 80 };
	const struct ctl_pod *eps[3] = { &f->pods[0], &f->pods[1], &f->pods[2] };
	struct acl_verdict v = { 0 };
	char err[128] = "";
	struct acl_set *set;

	TU_CHECK(acl_eval(f->w, &pkt, &v) == 0, "%s: eval", what);
	TU_CHECK(v.ingress.allow == want, "%s: evaluator says %s, Felix %s",
		 what, v.ingress.allow ? "allow" : "deny",
		 want ? "allow" : "deny");
	set = acl_set_build(f->w, eps, 3, 1, 1, false, err, sizeof(err));
	TU_CHECK(set, "%s: compile: %s", what, err);
	if (set) {
		bool got = acl_classify_linear(set, NULL, 1, ACL_DIR_INGRESS,
					       &pkt);

		TU_CHECK(got == want, "%s: compiled program says %s, Felix %s",
			 what, got ? "allow" : "deny", want ? "allow" : "deny");
		acl_set_free(set);
	}
}

/* check_db_ingress() in the fixture with the one GlobalNetworkPolicy
 * @p gnp_json. */
static void check_gnp_db_ingress(const char *gnp_json, const char *src,
				 bool want, const char *what)
{
	struct fix f;

	fix_init(&f);
	fix_add(&f, acl_global_netpol_decode, gnp_json);
	check_db_ingress(&f, src, want, what);
	fix_free(&f);
}

/*
 * Equal orders break on the string "name/namespace/kind" as a whole
 * (Felix's PolKVLess): '-' and '.' sort before '/', so "allow-x" runs
 * before "allow", and "web.allow" before "web".
 */
static void test_order_tie_break(void)
{
	struct fix f;

	fix_init(&f);
	fix_add(&f, acl_global_netpol_decode,
		"{\"metadata\":{\"name\":\"allow\"},\"spec\":{\"selector\":"
		"\"app == 'db'\",\"ingress\":[{\"action\":\"Allow\"}]}}");
	fix_add(&f, acl_global_netpol_decode,
		"{\"metadata\":{\"name\":\"allow-x\"},\"spec\":{\"selector\":"
		"\"app == 'db'\",\"ingress\":[{\"action\":\"Deny\"}]}}");
	check_db_ingress(&f, "10.0.0.1", false, "'allow-x' runs before 'allow'");
	fix_free(&f);

	fix_init(&f);
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\"},\"spec\":"
		"{\"order\":5,\"selector\":\"app == 'db'\",\"ingress\":"
		"[{\"action\":\"Deny\"}]}}");
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"web.allow\",\"namespace\":\"ns\"},"
		"\"spec\":{\"order\":5,\"selector\":\"app == 'db'\",\"ingress\":"
		"[{\"action\":\"Allow\"}]}}");
	check_db_ingress(&f, "10.0.0.1", true, "'web.allow' runs before 'web'");
	fix_free(&f);

	/* Same name and namespace: the kind decides, "Kubernetes…" first. */
	fix_init(&f);
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns\"},\"spec\":"
		"{\"order\":1000,\"selector\":\"app == 'db'\",\"ingress\":"
		"[{\"action\":\"Allow\"}]}}");
	fix_add(&f, acl_k8s_netpol_decode,
		"{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns\"},\"spec\":"
		"{\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},"
		"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.9.0.0/16\"}}]}]}}");
	struct acl_plan plan;
	TU_CHECK(acl_plan_build(f.w, &f.pods[1], ACL_DIR_INGRESS, &plan) == 0 &&
			 plan.n == 1 && plan.tiers[0].n == 2 &&
			 plan.tiers[0].pols[0]->kind == ACL_POL_K8S,
		 "KubernetesNetworkPolicy sorts before NetworkPolicy");
	acl_plan_clear(&plan);
	fix_free(&f);
}

/*
 * A namespaced NetworkSet's projectcalico.org/namespace is its own
 * namespace, whatever its labels say (Felix's networksetprocessor.go
 * overwrites the label): a set in "other" claiming "ns" is not one of ns's
 * peers, a set in "ns" is.
 */
static void test_netset_namespace(void)
{
	struct fix f;

	fix_init(&f);
	fix_add(&f, acl_netset_decode,
		"{\"metadata\":{\"name\":\"evil\",\"namespace\":\"other\","
		"\"labels\":{\"role\":\"trusted\","
		"\"projectcalico.org/namespace\":\"ns\"}},"
		"\"spec\":{\"nets\":[\"198.51.100.0/24\"]}}");
	fix_add(&f, acl_netset_decode,
		"{\"metadata\":{\"name\":\"good\",\"namespace\":\"ns\","
		"\"labels\":{\"role\":\"trusted\"}},"
		"\"spec\":{\"nets\":[\"203.0.113.0/24\"]}}");
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"db\",\"namespace\":\"ns\"},\"spec\":"
		"{\"selector\":\"app == 'db'\",\"ingress\":[{\"action\":\"Allow\","
		"\"source\":{\"selector\":\"role == 'trusted'\"}}]}}");
	check_db_ingress(&f, "198.51.100.7", false,
			 "NetworkSet of 'other' claiming namespace 'ns'");
	check_db_ingress(&f, "203.0.113.7", true, "NetworkSet of 'ns'");
	fix_free(&f);
}

/*
 * A rule whose notNets (no ipVersion) are all IPv6 is not rendered for
 * IPv4 at all (Felix's FilterRuleToIPVersion drops it when the filter
 * empties the list), like one whose nets are all IPv6: the Deny below
 * never matches IPv4 and the Allow after it decides. Mixed notNets keep
 * their IPv4 entries.
 */
static void test_not_nets_v6_only(void)
{
	static const struct {
		const char *side, *nets;
		const char *src;
		bool want;
		const char *what;
	} c[] = {
		{ "source", "\"fd00::/8\"", "10.0.0.1", true,
		  "IPv6-only source notNets" },
		{ "destination", "\"fd00::/8\"", "10.0.0.1", true,
		  "IPv6-only destination notNets" },
		{ "source", "\"fd00::/8\",\"10.0.0.0/24\"", "10.0.0.1", true,
		  "mixed notNets, source inside the IPv4 entry" },
		{ "source", "\"fd00::/8\",\"10.0.0.0/24\"", "10.0.1.3", false,
		  "mixed notNets, source outside the IPv4 entry" },
	};

	for (size_t i = 0; i < RTE_DIM(c); i++) {
		char buf[512];

		snprintf(buf, sizeof(buf),
			 "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"selector\":"
			 "\"app == 'db'\",\"ingress\":[{\"action\":\"Deny\","
			 "\"%s\":{\"notNets\":[%s]}},{\"action\":\"Allow\"}]}}",
			 c[i].side, c[i].nets);
		check_gnp_db_ingress(buf, c[i].src, c[i].want, c[i].what);
	}
}

/*
 * doNotTrack and preDNAT GlobalNetworkPolicies apply to host endpoints
 * only (Felix's event_sequencer.go never gives them to a workload
 * endpoint): accepted, but they police no pod. applyOnForward alone
 * changes nothing for pods.
 */
static void test_host_only_policies(void)
{
	static const struct {
		const char *flags;
		bool want;
		const char *what;
	} c[] = {
		{ "\"doNotTrack\":true,\"applyOnForward\":true", true,
		  "doNotTrack policy does not police a pod" },
		{ "\"preDNAT\":true,\"applyOnForward\":true", true,
		  "preDNAT policy does not police a pod" },
		{ "\"applyOnForward\":true", false,
		  "applyOnForward alone still polices a pod" },
		{ "\"doNotTrack\":false,\"preDNAT\":false", false,
		  "doNotTrack/preDNAT false still police a pod" },
	};

	for (size_t i = 0; i < RTE_DIM(c); i++) {
		char buf[512];

		snprintf(buf, sizeof(buf),
			 "{\"metadata\":{\"name\":\"host-fw\"},\"spec\":{%s,"
			 "\"selector\":\"all()\",\"ingress\":[{\"action\":\"Deny\","
			 "\"protocol\":\"TCP\",\"destination\":{\"ports\":[80]}}]}}",
			 c[i].flags);
		check_gnp_db_ingress(buf, "10.0.0.1", c[i].want, c[i].what);
	}
}

/*
 * A GlobalNetworkPolicy's spec.namespaceSelector has only all() rewritten
 * (to has(projectcalico.org/namespace)); global() stays and is true, so
 * the policy still selects pods (globalnetworkpolicyprocessor.go). A
 * rule's namespaceSelector global() still means "no namespace": it selects
 * no pod.
 */
static void test_gnp_namespace_selector(void)
{
	static const struct {
		const char *ns_sel;
		bool want;
		const char *what;
	} c[] = {
		{ "global()", false, "namespaceSelector global() selects pods" },
		{ "all()", false, "namespaceSelector all() selects pods" },
		{ "!global()", true, "namespaceSelector !global() selects none" },
		{ "team == 'a'", false, "namespaceSelector team == 'a'" },
		{ "team == 'b'", true, "namespaceSelector team == 'b'" },
	};
	char buf[512];

	for (size_t i = 0; i < RTE_DIM(c); i++) {
		snprintf(buf, sizeof(buf),
			 "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"selector\":"
			 "\"app == 'db'\",\"namespaceSelector\":\"%s\","
			 "\"ingress\":[{\"action\":\"Deny\"}]}}", c[i].ns_sel);
		check_gnp_db_ingress(buf, "10.0.0.1", c[i].want, c[i].what);
	}

	/* Rule level: global() is the non-namespaced peers only. */
	check_gnp_db_ingress(
		"{\"metadata\":{\"name\":\"p\"},\"spec\":{\"selector\":"
		"\"app == 'db'\",\"ingress\":[{\"action\":\"Deny\",\"source\":"
		"{\"namespaceSelector\":\"global()\"}},{\"action\":\"Allow\"}]}}",
		"10.0.0.1", true, "rule namespaceSelector global() matches no pod");
}

static void test_named_ports_and_sets(void)
{
	struct fix f;

	fix_init(&f);
	/* K8s: ingress to web only on its named port "http". */
	fix_add(&f, acl_k8s_netpol_decode,
		"{\"metadata\":{\"name\":\"np\",\"namespace\":\"ns\"},\"spec\":"
		"{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
		"\"ingress\":[{\"ports\":[{\"port\":\"http\"}]}]}}");
	check(&f, "10.0.1.3", "10.0.0.1", 6, 8080, true, "named port http/TCP");
	check(&f, "10.0.1.3", "10.0.0.1", 17, 8080, false, "named port wrong proto");
	check(&f, "10.0.1.3", "10.0.0.1", 6, 8081, false, "other port");

	/* Egress from db: only to the "blocked" network set's complement and
	 * never to the db port of web (notPorts), ICMP echo allowed. */
	fix_add(&f, acl_global_netset_decode,
		"{\"metadata\":{\"name\":\"bad\",\"labels\":{\"kind\":\"bad\"}},"
		"\"spec\":{\"nets\":[\"203.0.113.0/24\",\"2001:db8::/32\"]}}");
	fix_add(&f, acl_calico_netpol_decode,
		"{\"metadata\":{\"name\":\"eg\",\"namespace\":\"ns\"},\"spec\":"
		"{\"selector\":\"app == 'db'\",\"egress\":["
		"{\"action\":\"Deny\",\"destination\":{\"namespaceSelector\":\"global()\","
		"\"selector\":\"kind == 'bad'\"}},"
		"{\"action\":\"Allow\",\"protocol\":\"ICMP\",\"icmp\":{\"type\":8}},"
		"{\"action\":\"Allow\",\"protocol\":\"TCP\",\"destination\":"
		"{\"notPorts\":[\"1:1023\"]}}]}}");
	check(&f, "10.0.0.2", "203.0.113.7", 6, 8080, false, "to bad set");
	check(&f, "10.0.0.2", "198.51.100.7", 6, 8080, true, "high port ok");
	check(&f, "10.0.0.2", "198.51.100.7", 6, 22, false, "notPorts");
	struct acl_pkt ping = { .src = tu_ip("10.0.0.2"), .dst = tu_ip("198.51.100.7"),
				.proto = 1, .icmp_type = 8 };
	struct acl_verdict v;
	TU_CHECK(acl_eval(f.w, &ping, &v) == 0 && v.egress.allow &&
			 v.egress.rule == 1, "icmp echo allowed by rule 1");
	ping.icmp_type = 13;
	TU_CHECK(acl_eval(f.w, &ping, &v) == 0 && !v.egress.allow, "icmp 13 denied");

	/* The selector's IP set: pods a and c (app == web) as /32s. */
	struct acl_sel *s = acl_sel_parse("app == 'web'", NULL, 0);
	struct acl_ipset set = { 0 };
	TU_CHECK(acl_world_sel_ipset(f.w, s, &set) == 0 && set.n == 2 &&
			 set.v[0].plen == 32, "ipset of app == web: %zu", set.n);
	acl_ipset_clear(&set);
	acl_sel_free(s);
	s = acl_sel_parse("kind == 'bad'", NULL, 0);
	TU_CHECK(acl_world_sel_ipset(f.w, s, &set) == 0 && set.n == 1 &&
			 set.v[0].plen == 24, "ipset of bad set (v6 dropped)");
	acl_ipset_clear(&set);
	acl_sel_free(s);

	/* Effective labels (§1.5). */
	TU_CHECK(!strcmp(acl_world_ep_label(f.w, &f.pods[0], "pcns.team"), "a") &&
			 !strcmp(acl_world_ep_label(f.w, &f.pods[0],
						     "pcns.projectcalico.org/name"), "ns") &&
			 !strcmp(acl_world_ep_label(f.w, &f.pods[0],
						     "projectcalico.org/serviceaccount"),
				 "default") &&
			 !strcmp(acl_world_ep_label(f.w, &f.pods[0],
						     "pcsa.projectcalico.org/name"), "default"),
		 "effective labels");
	fix_free(&f);
}

/*
 * acl_set_pod_matters(): a change of a pod that is no endpoint matters
 * exactly when it changes a resolved peer selector's IP set or a named
 * port set; when it says not, a rebuild gives the same programs.
 */
static void test_pod_matters(bool fast)
{
	static const struct {
		int pod;
		const char *labels; /* NULL: unchanged */
		const char *ip;     /* NULL: unchanged */
		bool drop_ports;
		bool want;
		const char *what;
	} ch[] = {
		{1, "{\"app\":\"db\",\"x\":\"y\"}", NULL, false, false,
		 "peer gets an unrelated label"},
		{1, "{\"app\":\"cache\"}", NULL, false, true,
		 "peer leaves the selector"},
		{1, NULL, "10.0.0.9", false, true, "peer changes address"},
		{2, "{\"app\":\"db\"}", NULL, false, false,
		 "other namespace's pod becomes db"},
		{2, NULL, "10.0.1.9", false, false,
		 "other namespace's pod changes address"},
		{0, NULL, NULL, true, true, "endpoint pod loses named port"},
	};
	struct fix f;
	char err[128];

	fix_init(&f);
	/* web (pod a) takes ingress from ns's db pods on its port http */
	fix_add(&f, acl_k8s_netpol_decode,
		"{\"metadata\":{\"name\":\"np\",\"namespace\":\"ns\"},\"spec\":"
		"{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
		"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":"
		"{\"app\":\"db\"}}}],\"ports\":[{\"port\":\"http\"}]}]}}");
	const struct ctl_pod *eps[1] = { &f.pods[0] };
	struct acl_world *nopods = acl_world_create();
	acl_world_add_policy(nopods, f.objs[0]);
	acl_world_add_namespace(nopods, &f.ns[0]);
	acl_world_add_namespace(nopods, &f.ns[1]);
	struct acl_set *before = acl_set_build(f.w, eps, 1, 1, 1, fast, err,
					       sizeof(err));
	TU_CHECK(before, "build: %s", err);
	for (size_t i = 0; before && i < RTE_DIM(ch); i++) {
		struct ctl_pod *p = &f.pods[ch[i].pod], old = *p;

		if (ch[i].labels) {
			cJSON *l = cJSON_Parse(ch[i].labels);
			tu_labels_from_json(&p->labels, l);
			cJSON_Delete(l);
		}
		if (ch[i].ip)
			p->ips[0] = tu_ip(ch[i].ip);
		if (ch[i].drop_ports)
			p->n_ports = 0;
		bool got = acl_set_pod_matters(before, f.w, &old, p);
		TU_CHECK(got == ch[i].want, "%s: matters %d", ch[i].what, got);
		struct acl_set *after = acl_set_build(f.w, eps, 1, 1, 2, fast, err,
						      sizeof(err));
		TU_CHECK(after && tu_set_same(before, after) == !ch[i].want,
			 "%s: rebuild %s", ch[i].what,
			 ch[i].want ? "the same" : "differs");
		/* from the changed pod only: what a rebuild gives */
		struct acl_pod_change pc = { &old, p };
		struct acl_set *upd = acl_set_update(before, nopods, eps, 1, 1,
						     3, fast, &pc, 1, err,
						     sizeof(err));
		TU_CHECK(upd && after && tu_set_same(upd, after),
			 "%s: update equals the rebuild (%s)", ch[i].what,
			 upd ? "built" : err);
		acl_set_free(upd);
		acl_set_free(after);
		if (ch[i].labels)
			ctl_labels_clear(&p->labels);
		*p = old;
	}
	/* added and deleted pods: only when they fall in a set */
	TU_CHECK(before && acl_set_pod_matters(before, f.w, NULL, &f.pods[1]),
		 "a db pod added");
	TU_CHECK(before && acl_set_pod_matters(before, f.w, &f.pods[1], NULL),
		 "a db pod deleted");
	TU_CHECK(before && !acl_set_pod_matters(before, f.w, &f.pods[2], NULL),
		 "an unselected pod deleted");
	/* a change that does not fit the set's view: no update */
	struct ctl_pod ghost = f.pods[1];
	ghost.ips[0] = tu_ip("10.9.9.9");
	struct acl_pod_change gone = { &ghost, NULL };
	struct acl_set *bad = acl_set_update(before, nopods, eps, 1, 1, 4,
					     fast, &gone, 1, err, sizeof(err));
	TU_CHECK(!bad, "update from a pod the set never had");
	acl_set_free(bad);
	/* a chain: b leaves (db -> cache), then comes back with a new IP */
	struct ctl_pod mid = f.pods[1], last = f.pods[1];
	cJSON *cl = cJSON_Parse("{\"app\":\"cache\"}");
	tu_labels_from_json(&mid.labels, cl);
	cJSON_Delete(cl);
	last.ips[0] = tu_ip("10.0.0.7");
	struct acl_pod_change chain[2] = { { &f.pods[1], &mid },
					   { &mid, &last } };
	struct acl_set *upd = acl_set_update(before, nopods, eps, 1, 1, 5,
					     fast, chain, 2, err, sizeof(err));
	struct ctl_pod keep = f.pods[1];
	f.pods[1] = last;
	struct acl_set *full = acl_set_build(f.w, eps, 1, 1, 6, fast, err,
					     sizeof(err));
	f.pods[1] = keep;
	TU_CHECK(upd && full && tu_set_same(upd, full) && !tu_set_same(upd, before),
		 "chained changes");
	acl_set_free(upd);
	acl_set_free(full);
	ctl_labels_clear(&mid.labels);
	acl_world_free(nopods);
	acl_set_free(before);
	fix_free(&f);
}

int main(void)
{
	test_rejections();
	test_tiers_and_pass();
	test_cidrs();
	test_order_tie_break();
	test_netset_namespace();
	test_not_nets_v6_only();
	test_host_only_policies();
	test_gnp_namespace_selector();
	test_named_ports_and_sets();
	test_pod_matters(false);
	test_pod_matters(true); /* with rte_acl builds (freed while running) */
	acl_fast_drain();
	printf("acl policy tests: %d failure(s)\n", tu_failures);
	return tu_failures ? 1 : 0;
}
