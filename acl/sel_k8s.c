/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kubernetes LabelSelector -> Calico selector text, written exactly as
 * Calico's k8sSelectorToCalico (libcalico-go/lib/backend/k8s/conversion)
 * writes it, so that converted policies have the same selector strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/sel_priv.h"

struct strbuf {
	char *s;
	size_t len;
	bool oom;
};

static void put(struct strbuf *b, const char *s)
{
	size_t n = strlen(s);
	char *ns;

	if (b->oom)
		return;
	ns = realloc(b->s, b->len + n + 1);
	if (!ns) {
		b->oom = true;
		return;
	}
	memcpy(ns + b->len, s, n + 1);
	b->s = ns;
	b->len += n;
}

static void term(struct strbuf *b)
{
	if (b->len)
		put(b, " && ");
}

/*
 * Keys and values are written into the selector text as they are: a key
 * that is no label name ("a b") gives text that does not parse, and one
 * like "x) || all() || has(y", or a value like "x' || has(b) || a == 'y"
 * (a literal has no escapes), gives a selector that parses and selects
 * something else. Kubernetes refuses such keys and values ("Syntax and
 * character set" of its labels: alphanumerics, '-', '_', '.' and one
 * '/'), so no selector its API server holds is refused here.
 */
static bool label_ok(const char *key, const char *value, char *err,
		     size_t errlen)
{
	if (!sel_is_label(key)) {
		snprintf(err, errlen, "label key '%.100s' is not a label name",
			 key);
		return false;
	}
	if (value && strchr(value, '\'')) {
		snprintf(err, errlen, "label value '%.100s' holds a quote",
			 value);
		return false;
	}
	return true;
}

static int cmp_item_key(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static bool put_match_labels(struct strbuf *b, const cJSON *ml, char *err,
			     size_t errlen)
{
	size_t n = (size_t)cJSON_GetArraySize(ml), i = 0;
	const cJSON **items;
	const cJSON *it;

	if (n == 0)
		return true;
	if (!(items = calloc(n, sizeof(*items)))) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	cJSON_ArrayForEach(it, ml)
		items[i++] = it;
	qsort(items, n, sizeof(*items), cmp_item_key);
	for (i = 0; i < n; i++) {
		if (!cJSON_IsString(items[i])) {
			snprintf(err, errlen, "matchLabels[%s] is not a string",
				 items[i]->string);
			free(items);
			return false;
		}
		if (!label_ok(items[i]->string, items[i]->valuestring, err,
			      errlen)) {
			free(items);
			return false;
		}
		term(b);
		put(b, items[i]->string);
		put(b, " == '");
		put(b, items[i]->valuestring);
		put(b, "'");
	}
	free(items);
	return true;
}

static bool put_expr(struct strbuf *b, const cJSON *e, char *err, size_t errlen)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values");
	const cJSON *v;
	bool in, set;

	if (!cJSON_IsString(key) || !cJSON_IsString(op)) {
		snprintf(err, errlen, "matchExpressions entry needs key and operator");
		return false;
	}
	in = !strcmp(op->valuestring, "In");
	set = in || !strcmp(op->valuestring, "NotIn");
	if (!set && strcmp(op->valuestring, "Exists") &&
	    strcmp(op->valuestring, "DoesNotExist")) {
		snprintf(err, errlen, "unknown matchExpressions operator '%s'",
			 op->valuestring);
		return false;
	}
	if (!label_ok(key->valuestring, NULL, err, errlen))
		return false;
	if (vals && !cJSON_IsArray(vals) && !cJSON_IsNull(vals)) {
		snprintf(err, errlen, "matchExpressions values is not a list");
		return false;
	}
	cJSON_ArrayForEach(v, vals) {
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "matchExpressions value is not a string");
			return false;
		}
		if (!label_ok(key->valuestring, v->valuestring, err, errlen))
			return false;
	}
	/* "If the operator is In or NotIn, the values array must be
	 * non-empty. If the operator is Exists or DoesNotExist, the values
	 * array must be empty" (LabelSelectorRequirement). In with none was
	 * written "k in { '' }", which selects k == ''. */
	if (set != (cJSON_GetArraySize(vals) > 0)) {
		snprintf(err, errlen, "matchExpressions %s %s values",
			 op->valuestring, set ? "needs" : "takes no");
		return false;
	}
	term(b);
	if (!set) {
		put(b, op->valuestring[0] == 'D' ? "! has(" : "has(");
		put(b, key->valuestring);
		put(b, ")");
		return true;
	}
	put(b, key->valuestring);
	put(b, in ? " in { '" : " not in { '");
	cJSON_ArrayForEach(v, vals) {
		if (v != vals->child)
			put(b, "', '");
		put(b, v->valuestring);
	}
	put(b, "' }");
	return true;
}

char *acl_sel_from_k8s(const cJSON *k8s, enum acl_k8s_sel_kind kind, char *err,
		       size_t errlen)
{
	struct strbuf b = { 0 };
	const cJSON *ml, *me, *e;

	put(&b, "");
	if (kind == ACL_K8S_SEL_POD)
		put(&b, "projectcalico.org/orchestrator == 'k8s'");
	if (!k8s || cJSON_IsNull(k8s))
		goto out;
	if (!cJSON_IsObject(k8s)) {
		snprintf(err, errlen, "label selector is not an object");
		goto fail;
	}
	ml = cJSON_GetObjectItemCaseSensitive(k8s, "matchLabels");
	me = cJSON_GetObjectItemCaseSensitive(k8s, "matchExpressions");
	if ((ml && !cJSON_IsObject(ml) && !cJSON_IsNull(ml)) ||
	    (me && !cJSON_IsArray(me) && !cJSON_IsNull(me))) {
		snprintf(err, errlen, "malformed matchLabels/matchExpressions");
		goto fail;
	}
	/* A present but empty namespace selector selects every namespace;
	 * "" is kept for the absent one. */
	if (kind == ACL_K8S_SEL_NAMESPACE && cJSON_GetArraySize(ml) == 0 &&
	    cJSON_GetArraySize(me) == 0) {
		put(&b, "all()");
		goto out;
	}
	if (!put_match_labels(&b, ml, err, errlen))
		goto fail;
	cJSON_ArrayForEach(e, me)
		if (!put_expr(&b, e, err, errlen))
			goto fail;
out:
	if (!b.oom)
		return b.s;
	snprintf(err, errlen, "out of memory");
fail:
	free(b.s);
	return NULL;
}
