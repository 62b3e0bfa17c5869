/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kubernetes LabelSelector -> Calico selector text, written exactly as
 * Calico's k8sSelectorToCalico (libcalico-go/lib/backend/k8s/conversion)
 * writes it, so that converted policies have the same selector strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/selector.h"

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
	bool in;

	if (!cJSON_IsString(key) || !cJSON_IsString(op)) {
		snprintf(err, errlen, "matchExpressions entry needs key and operator");
		return false;
	}
	term(b);
	if (!strcmp(op->valuestring, "Exists") ||
	    !strcmp(op->valuestring, "DoesNotExist")) {
		put(b, op->valuestring[0] == 'D' ? "! has(" : "has(");
		put(b, key->valuestring);
		put(b, ")");
		return true;
	}
	in = !strcmp(op->valuestring, "In");
	if (!in && strcmp(op->valuestring, "NotIn")) {
		snprintf(err, errlen, "unknown matchExpressions operator '%s'",
			 op->valuestring);
		return false;
	}
	put(b, key->valuestring);
	put(b, in ? " in { '" : " not in { '");
	bool first = true;
	cJSON_ArrayForEach(v, vals) {
		if (!cJSON_IsString(v)) {
			snprintf(err, errlen, "matchExpressions value is not a string");
			return false;
		}
		if (!first)
			put(b, "', '");
		put(b, v->valuestring);
		first = false;
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
