/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Selector conformance: every case of shared/conformance/selectors.json
 * (parse/evaluate, canonical form, K8s LabelSelector conversion), plus the
 * namespacing rewrites the policy decoder relies on.
 */
#include <stdlib.h>
#include <string.h>

#include "acl/selector.h"
#include "tutil.h"

static void run_selector_cases(const cJSON *cases, int *pass, int *total)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		const char *id = cJSON_GetObjectItem(c, "id")->valuestring;
		const char *text = cJSON_GetObjectItem(c, "selector")->valuestring;
		bool valid = cJSON_IsTrue(cJSON_GetObjectItem(c, "valid"));
		char err[256] = "";
		struct acl_sel *s = acl_sel_parse(text, err, sizeof(err));
		bool ok;

		(*total)++;
		if (!valid) {
			ok = s == NULL && err[0] != '\0';
			TU_CHECK(ok, "%s: '%s' should be rejected", id, text);
		} else if (!s) {
			ok = false;
			TU_CHECK(ok, "%s: '%s' rejected: %s", id, text, err);
		} else {
			struct ctl_labels l = { 0 };
			bool want = cJSON_IsTrue(cJSON_GetObjectItem(c, "expect"));

			tu_labels_from_json(&l, cJSON_GetObjectItem(c, "labels"));
			ok = acl_sel_eval_labels(s, &l) == want;
			TU_CHECK(ok, "%s: '%s' gave %d, want %d", id, text, !want,
				 want);
			/* The canonical form must parse back to itself. */
			struct acl_sel *r = acl_sel_parse(acl_sel_str(s), NULL, 0);
			TU_CHECK(r && !strcmp(acl_sel_str(r), acl_sel_str(s)),
				 "%s: canonical form '%s' does not round-trip", id,
				 acl_sel_str(s));
			if (r && acl_sel_eval_labels(r, &l) != want)
				TU_CHECK(0, "%s: canonical form evaluates differently", id);
			acl_sel_free(r);
			ctl_labels_clear(&l);
		}
		if (!valid && s == NULL)
			printf("  %s rejected: %s\n", id, err);
		*pass += ok;
		acl_sel_free(s);
	}
}

static void run_canonical_cases(const cJSON *cases, int *pass, int *total)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		const char *in = cJSON_GetObjectItem(c, "input")->valuestring;
		const char *want = cJSON_GetObjectItem(c, "canonical")->valuestring;
		char err[256];
		struct acl_sel *s = acl_sel_parse(in, err, sizeof(err));
		bool ok = s && !strcmp(acl_sel_str(s), want);

		(*total)++;
		TU_CHECK(ok, "canonical '%s': got '%s', want '%s'", in,
			 s ? acl_sel_str(s) : err, want);
		*pass += ok;
		acl_sel_free(s);
	}
}

static void run_k8s_cases(const cJSON *cases, int *pass, int *total)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cases) {
		const char *type =
			cJSON_GetObjectItem(c, "selector_type")->valuestring;
		const char *want =
			cJSON_GetObjectItem(c, "expected_calico_selector")->valuestring;
		enum acl_k8s_sel_kind kind = !strcmp(type, "pod") ?
			ACL_K8S_SEL_POD : ACL_K8S_SEL_NAMESPACE;
		char err[256] = "";
		char *got = acl_sel_from_k8s(cJSON_GetObjectItem(c, "k8s_selector"),
					     kind, err, sizeof(err));
		bool ok = got && !strcmp(got, want);

		(*total)++;
		TU_CHECK(ok, "k8s '%s': got '%s', want '%s'",
			 cJSON_GetObjectItem(c, "description")->valuestring,
			 got ? got : err, want);
		/* The converted text must itself be a valid selector. */
		if (got) {
			struct acl_sel *s = acl_sel_parse(got, err, sizeof(err));
			TU_CHECK(s, "converted '%s' does not parse: %s", got, err);
			acl_sel_free(s);
		}
		*pass += ok;
		free(got);
	}
}

static void test_rewrites(void)
{
	struct acl_sel *s = acl_sel_parse("a == 'x' || all()", NULL, 0);
	struct acl_sel *g = acl_sel_parse("!global()", NULL, 0);
	struct acl_sel *p = acl_sel_prefixed(s, "pcns.", ACL_SEL_SCOPE_RULE);
	struct acl_sel *q = acl_sel_prefixed(g, "pcns.", ACL_SEL_SCOPE_RULE);
	struct acl_sel *both = acl_sel_and(p, q);
	struct acl_sel *none = acl_sel_and(NULL, NULL);
	char err[256];

	TU_CHECK(!strcmp(acl_sel_str(p),
			 "(pcns.a == \"x\" || has(projectcalico.org/namespace))"),
		 "prefix: %s", acl_sel_str(p));
	TU_CHECK(!strcmp(acl_sel_str(q), "!!has(projectcalico.org/namespace)"),
		 "global rewrite: %s", acl_sel_str(q));
	TU_CHECK(both && !strcmp(acl_sel_str(both),
				 "((pcns.a == \"x\" || has(projectcalico.org/namespace)) && "
				 "!!has(projectcalico.org/namespace))"),
		 "and: %s", both ? acl_sel_str(both) : "NULL");
	TU_CHECK(none && acl_sel_is_all(none), "and(NULL, NULL) is all()");
	acl_sel_free(s);
	acl_sel_free(g);
	acl_sel_free(p);
	acl_sel_free(q);
	acl_sel_free(both);
	acl_sel_free(none);

	/* A GlobalNetworkPolicy's spec.namespaceSelector: only all() is
	 * rewritten, global() stays (globalnetworkpolicyprocessor.go). */
	s = acl_sel_parse("all() || !global() || a == 'x'", NULL, 0);
	p = s ? acl_sel_prefixed(s, "pcns.", ACL_SEL_SCOPE_POLICY) : NULL;
	TU_CHECK(p && !strcmp(acl_sel_str(p),
			      "(has(projectcalico.org/namespace) || !global() || "
			      "pcns.a == \"x\")"),
		 "policy-level rewrite: %s", p ? acl_sel_str(p) : "NULL");
	acl_sel_free(s);
	acl_sel_free(p);

	/* Error messages name the position and the problem. */
	TU_CHECK(!acl_sel_parse("a == 'b' && ", err, sizeof(err)) &&
			 strstr(err, "position 12") && strstr(err, "end of selector"),
		 "error text: %s", err);
	TU_CHECK(!acl_sel_parse("a = 'b'", err, sizeof(err)) &&
			 strstr(err, "position 2") && strstr(err, "'=='"),
		 "error text: %s", err);
	acl_sel_free(NULL);

	/* A K8s selector with an unknown operator is refused. */
	cJSON *bad = cJSON_Parse("{\"matchExpressions\":[{\"key\":\"k\","
				 "\"operator\":\"Gt\",\"values\":[\"1\"]}]}");
	TU_CHECK(!acl_sel_from_k8s(bad, ACL_K8S_SEL_POD, err, sizeof(err)) &&
			 strstr(err, "Gt"),
		 "k8s bad operator: %s", err);
	cJSON_Delete(bad);
}

int main(int argc, char **argv)
{
	int pass[3] = { 0 }, total[3] = { 0 };
	cJSON *doc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s selectors.json\n", argv[0]);
		return 2;
	}
	doc = tu_load_json(argv[1]);
	run_selector_cases(cJSON_GetObjectItem(doc, "selector_cases"), &pass[0],
			   &total[0]);
	run_canonical_cases(cJSON_GetObjectItem(doc, "selector_canonicalisation_cases"),
			    &pass[1], &total[1]);
	run_k8s_cases(cJSON_GetObjectItem(doc, "k8s_to_calico_selector_conversion_cases"),
		      &pass[2], &total[2]);
	test_rewrites();
	printf("selector_cases %d/%d, canonicalisation %d/%d, k8s conversion %d/%d\n",
	       pass[0], total[0], pass[1], total[1], pass[2], total[2]);
	cJSON_Delete(doc);
	if (total[0] == 0 || total[1] == 0 || total[2] == 0)
		return 1;
	return tu_failures ? 1 : 0;
}
