/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Network-policy conformance through the reference evaluator: every probe
 * of shared/conformance/netpol.json 'cases' (Kubernetes NetworkPolicy
 * truth tables) and 'calico_policy_cases' (tiers, Pass, GNP/NP order).
 * A probe is allowed iff the source's egress and the destination's ingress
 * both allow. Loopback probes are reported but do not fail the test.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>

#include "acl/eval.h"
#include "acl/policy.h"
#include "netpol_harness.h"

uint8_t proto_num(const char *p)
{
	return !strcasecmp(p, "UDP") ? 17 : !strcasecmp(p, "SCTP") ? 132 : 6;
}

void add_ns(struct cluster *c, const char *name, const cJSON *labels)
{
	struct ctl_namespace *n = &c->nss[c->n_ns++];

	n->name = strdup(name);
	tu_labels_from_json(&n->labels, labels);
}

void add_pod(struct cluster *c, const char *ns, const char *name,
		    const cJSON *labels, uint32_t ip, const cJSON *ports)
{
	struct ctl_pod *p = &c->pods[c->n_pods++];
	const cJSON *cp;
	size_t i = 0;

	p->ns = strdup(ns);
	p->name = strdup(name);
	p->node = strdup("node-1");
	p->sa = strdup("default");
	p->n_ips = 1;
	p->ips[0] = ip;
	tu_labels_from_json(&p->labels, labels);
	p->n_ports = (size_t)cJSON_GetArraySize(ports);
	p->ports = calloc(p->n_ports + 1, sizeof(*p->ports));
	cJSON_ArrayForEach(cp, ports) {
		p->ports[i].name = strdup(cJSON_GetObjectItem(cp, "name")->valuestring);
		p->ports[i].proto = proto_num(cJSON_GetObjectItem(cp, "protocol")->valuestring);
		p->ports[i].port = (uint16_t)cJSON_GetObjectItem(cp, "containerPort")->valueint;
		i++;
	}
}

void cluster_clear(struct cluster *c)
{
	for (size_t i = 0; i < c->n_pods; i++) {
		struct ctl_pod *p = &c->pods[i];

		for (size_t j = 0; j < p->n_ports; j++)
			free(p->ports[j].name);
		free(p->ports);
		ctl_labels_clear(&p->labels);
		free(p->ns);
		free(p->name);
		free(p->node);
		free(p->sa);
	}
	for (size_t i = 0; i < c->n_ns; i++) {
		ctl_labels_clear(&c->nss[i].labels);
		free(c->nss[i].name);
	}
	memset(c, 0, sizeof(*c));
}

const struct ctl_pod *find_pod(const struct cluster *c, const char *ref)
{
	for (size_t i = 0; i < c->n_pods; i++) {
		char buf[256];

		snprintf(buf, sizeof(buf), "%s/%s", c->pods[i].ns, c->pods[i].name);
		if (!strcmp(buf, ref) || !strcmp(c->pods[i].name, ref))
			return &c->pods[i];
	}
	return NULL;
}

struct acl_world *world_of(struct cluster *c)
{
	struct acl_world *w = acl_world_create();

	for (size_t i = 0; i < c->n_pods; i++)
		acl_world_add_pod(w, &c->pods[i]);
	for (size_t i = 0; i < c->n_ns; i++)
		acl_world_add_namespace(w, &c->nss[i]);
	return w;
}

void probe(const struct acl_world *w, const struct cluster *c,
		  const char *case_id, uint32_t src, uint32_t dst, int port,
		  const char *proto, bool expect, bool loopback,
		  struct tally *t)
{
	struct acl_pkt pkt = { .src = src, .dst = dst,
			       .proto = proto_num(proto),
			       .sport = 40000, .dport = (uint16_t)port };
	struct acl_verdict v;

	(void)c;
	cmp_probe(w, case_id, &pkt);
	if (acl_eval(w, &pkt, &v) < 0) {
		TU_CHECK(0, "%s: eval failed", case_id);
		return;
	}
	bool ok = v.allow == expect;
	if (loopback) {
		t->loop_pass += ok;
		t->loop_fail += !ok;
		return;
	}
	t->pass += ok;
	t->fail += !ok;
	if (!ok)
		fprintf(stderr, "%s: %08x -> %08x %s/%d: got %s (egress %d why %d, "
			"ingress %d why %d), want %s\n", case_id, src, dst, proto,
			port, v.allow ? "allow" : "deny", v.egress.allow,
			v.egress.why, v.ingress.allow, v.ingress.why,
			expect ? "allow" : "deny");
}

static const cJSON *override_of(const cJSON *ov, const char *what,
				const char *key, const cJSON *dflt)
{
	const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(ov, what), key);

	return m ? m : dflt;
}

static void run_k8s_case(const cJSON *cluster, const cJSON *cs, struct tally *t)
{
	const char *id = cJSON_GetObjectItem(cs, "id")->valuestring;
	const cJSON *ov = cJSON_GetObjectItem(cs, "cluster_overrides");
	const cJSON *plan = cJSON_GetObjectItem(cluster, "reference_ip_plan");
	const cJSON *pols = cJSON_GetObjectItem(cs, "policies_with_reference_ips");
	const cJSON *it, *pr;
	struct acl_policy *decoded[MAX_OBJS];
	size_t n_dec = 0;
	struct cluster c = { 0 };
	struct acl_world *w;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(cluster, "namespaces")) {
		const char *name = cJSON_GetObjectItem(it, "name")->valuestring;

		add_ns(&c, name, override_of(ov, "namespace_labels", name,
					     cJSON_GetObjectItem(it, "labels")));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(cluster, "pods")) {
		const char *ns = cJSON_GetObjectItem(it, "namespace")->valuestring;
		const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
		char ref[128];

		snprintf(ref, sizeof(ref), "%s/%s", ns, name);
		add_pod(&c, ns, name,
			override_of(ov, "pod_labels", ref, cJSON_GetObjectItem(it, "labels")),
			tu_ip(cJSON_GetObjectItem(plan, ref)->valuestring),
			cJSON_GetObjectItem(it, "containerPorts"));
	}
	w = world_of(&c);
	if (!pols)
		pols = cJSON_GetObjectItem(cs, "policies");
	cJSON_ArrayForEach(it, pols) {
		char err[256];
		struct acl_policy *p = acl_k8s_netpol_decode(it, err, sizeof(err));

		TU_CHECK(p, "%s: policy rejected: %s", id, err);
		if (p && n_dec < MAX_OBJS) {
			decoded[n_dec++] = p;
			acl_world_add_policy(w, p);
		} else {
			acl_policy_free(p);
		}
	}
	cmp_begin(w, &c, id);
	cJSON_ArrayForEach(pr, cJSON_GetObjectItem(cs, "probes")) {
		const struct ctl_pod *from = find_pod(&c, cJSON_GetObjectItem(pr, "from")->valuestring);
		const struct ctl_pod *to = find_pod(&c, cJSON_GetObjectItem(pr, "to")->valuestring);

		probe(w, &c, id, from->ips[0], to->ips[0],
		      cJSON_GetObjectItem(pr, "port")->valueint,
		      cJSON_GetObjectItem(pr, "protocol")->valuestring,
		      cJSON_IsTrue(cJSON_GetObjectItem(pr, "expect")),
		      cJSON_IsTrue(cJSON_GetObjectItem(pr, "loopback")), t);
	}
	cmp_end();
	for (size_t i = 0; i < n_dec; i++)
		acl_policy_free(decoded[i]);
	acl_world_free(w);
	cluster_clear(&c);
}

int main(int argc, char **argv)
{
	struct tally k = { 0 }, cal = { 0 };
	const cJSON *cs;
	cJSON *doc;
	int n_cases = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s netpol.json\n", argv[0]);
		return 2;
	}
	/* rte_acl allocates from the EAL heap: no hugepages needed. */
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "kdp_netpol_%d", (int)getpid());
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "--no-pci", "-m",
			"128", "--no-telemetry", "--file-prefix", prefix,
			"--log-level=lib.eal:error" };
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	doc = tu_load_json(argv[1]);
	cJSON_ArrayForEach(cs, cJSON_GetObjectItem(doc, "cases")) {
		run_k8s_case(cJSON_GetObjectItem(doc, "cluster"), cs, &k);
		n_cases++;
	}
	cJSON_ArrayForEach(cs, cJSON_GetObjectItem(doc, "calico_policy_cases"))
		run_calico_case(cs, &cal);
	printf("netpol cases (%d): %d passed, %d failed; loopback (informative): "
	       "%d agree, %d differ\n", n_cases, k.pass, k.fail, k.loop_pass,
	       k.loop_fail);
	printf("calico_policy_cases: %d passed, %d failed\n", cal.pass, cal.fail);
	fuzz_fast(200);
	printf("compiled programs agree with the evaluator on %d packets\n",
	       cmp_checked);
	printf("programs: %u, with an rte_acl form: %u\n", cmp_programs,
	       cmp_fast_programs);
	printf("bulk classification agrees with the linear walk on %d "
	       "verdicts\n", cmp_bulk_checked);
	TU_CHECK(cmp_bulk_checked > 0, "acl_classify_bulk() was not tested");
	/* Conformance has no Log rule: every program must take the fast
	 * path, or the comparison above did not test it. */
	TU_CHECK(cmp_fast_programs == cmp_programs && cmp_programs > 0,
		 "only %u of %u programs have an rte_acl form",
		 cmp_fast_programs, cmp_programs);
	cJSON_Delete(doc);
	if (k.pass == 0 || cal.pass == 0)
		return 1;
	return (tu_failures || k.fail || cal.fail) ? 1 : 0;
}
