/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policies of the Pod churn tests (acl/test_pod_churn.c,
 * control/test_compile_churn.c): they select Pods every way the compiler
 * resolves them, over addresses of 10.244.0.0/16 and labels app (web, db,
 * cache, api), tier (fe, be) and env (prod), in namespaces ns0 (team=a),
 * ns1 (team=b) and ns2 (team=a, env=prod).
 */
#ifndef KDP_TESTS_UNIT_ACL_CHURN_POLICIES_H
#define KDP_TESTS_UNIT_ACL_CHURN_POLICIES_H

enum churn_kind { CHURN_K8S, CHURN_GLOBAL, CHURN_CALICO };

static const struct {
	enum churn_kind kind;
	const char *json;
} churn_policies[] = {
	/* web's ingress from db or cache pods, or from tier=be pods of
	 * team=b namespaces, on its port named http; egress to tier=be
	 * pods on theirs named dns (resolved per peer) */
	{CHURN_K8S,
	 "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns0\"},\"spec\":{"
	 "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
	 "\"policyTypes\":[\"Ingress\",\"Egress\"],"
	 "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchExpressions\":"
	 "[{\"key\":\"app\",\"operator\":\"In\",\"values\":[\"db\",\"cache\"]}]}},"
	 "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"b\"}},"
	 "\"podSelector\":{\"matchLabels\":{\"tier\":\"be\"}}}],"
	 "\"ports\":[{\"port\":\"http\"}]}],"
	 "\"egress\":[{\"to\":[{\"podSelector\":{\"matchLabels\":{\"tier\":\"be\"}}}],"
	 "\"ports\":[{\"port\":\"dns\",\"protocol\":\"UDP\"}]}]}}"},
	/* all of ns1: from the pool but 10.244.3.0/24, or from pods with an
	 * env label in any namespace */
	{CHURN_K8S,
	 "{\"metadata\":{\"name\":\"all\",\"namespace\":\"ns1\"},\"spec\":{"
	 "\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":"
	 "\"10.244.0.0/16\",\"except\":[\"10.244.3.0/24\"]}},"
	 "{\"namespaceSelector\":{},\"podSelector\":{\"matchExpressions\":"
	 "[{\"key\":\"env\",\"operator\":\"Exists\"}]}}],"
	 "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}]}}"},
	{CHURN_GLOBAL,
	 "{\"metadata\":{\"name\":\"api\"},\"spec\":{"
	 "\"selector\":\"app == 'api'\",\"ingress\":["
	 "{\"action\":\"Allow\",\"protocol\":\"TCP\",\"source\":{\"selector\":"
	 "\"tier == 'be' && env == 'prod'\"},\"destination\":{\"ports\":"
	 "[\"http\",\"9000:9100\"]}},"
	 "{\"action\":\"Deny\",\"source\":{\"selector\":\"has(env)\","
	 "\"namespaceSelector\":\"team == 'b'\"}}],"
	 "\"egress\":[{\"action\":\"Allow\",\"protocol\":\"UDP\",\"destination\":{"
	 "\"selector\":\"app in {'db', 'cache'}\",\"notSelector\":\"tier == 'fe'\","
	 "\"ports\":[\"dns\"]}}]}}"},
	{CHURN_CALICO,
	 "{\"metadata\":{\"name\":\"cache\",\"namespace\":\"ns0\"},\"spec\":{"
	 "\"selector\":\"app == 'cache'\",\"ingress\":[{\"action\":\"Allow\","
	 "\"protocol\":\"TCP\",\"source\":{\"selector\":"
	 "\"app starts with 'w' || !has(tier)\"},\"destination\":{\"notPorts\":"
	 "[\"http\"]}}]}}"},
};

#define CHURN_NS 3
static const char *const churn_ns[CHURN_NS] = {"ns0", "ns1", "ns2"};
static const char *const churn_ns_labels[CHURN_NS] = {
	"{\"team\":\"a\"}", "{\"team\":\"b\"}",
	"{\"team\":\"a\",\"env\":\"prod\"}",
};

#endif /* KDP_TESTS_UNIT_ACL_CHURN_POLICIES_H */
