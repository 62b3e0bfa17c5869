/* SPDX-License-Identifier: BSD-3-Clause */
/* Selector evaluation, canonical rendering, rewriting and freeing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl/sel_priv.h"

#define LABEL_NAMESPACE "projectcalico.org/namespace"

void sel_node_free(struct sel_node *n)
{
	if (!n)
		return;
	free(n->label);
	free(n->value);
	if (n->op == SEL_NOT || n->op == SEL_AND || n->op == SEL_OR) {
		for (size_t i = 0; i < n->n; i++)
			sel_node_free(n->kids[i]);
	} else {
		for (size_t i = 0; i < n->n; i++)
			free(n->vals[i]);
	}
	free(n->kids);
	free(n->vals);
	free(n);
}

void acl_sel_free(struct acl_sel *s)
{
	if (!s)
		return;
	sel_node_free(s->root);
	free(s->str);
	free(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t sel_set_normalise(char **vals, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(vals, n, sizeof(*vals), cmp_str);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(vals[out], vals[i]) == 0)
			free(vals[i]);
		else
			vals[++out] = vals[i];
	}
	return out + 1;
}

static bool node_eval(const struct sel_node *n, acl_sel_lookup_fn fn,
		      const void *arg)
{
	const char *v = n->label ? fn(arg, n->label) : NULL;
	size_t lv, lw;

	switch (n->op) {
	case SEL_ALL:
	case SEL_GLOBAL:
		return true;
	case SEL_HAS:
		return v != NULL;
	case SEL_EQ:
		return v && strcmp(v, n->value) == 0;
	case SEL_NE:
		return !v || strcmp(v, n->value) != 0;
	case SEL_IN:
	case SEL_NOT_IN: {
		/* "k in {}" has no array, and bsearch() must not be given
		 * NULL even for no elements (glibc declares it nonnull). */
		bool in = v && n->n &&
			  bsearch(&v, n->vals, n->n, sizeof(*n->vals),
				  cmp_str) != NULL;
		return n->op == SEL_IN ? in : !in;
	}
	case SEL_CONTAINS:
		return v && strstr(v, n->value) != NULL;
	case SEL_STARTS:
		return v && strncmp(v, n->value, strlen(n->value)) == 0;
	case SEL_ENDS:
		if (!v)
			return false;
		lv = strlen(v);
		lw = strlen(n->value);
		return lv >= lw && strcmp(v + lv - lw, n->value) == 0;
	case SEL_NOT:
		return !node_eval(n->kids[0], fn, arg);
	case SEL_AND:
		for (size_t i = 0; i < n->n; i++)
			if (!node_eval(n->kids[i], fn, arg))
				return false;
		return true;
	case SEL_OR:
		for (size_t i = 0; i < n->n; i++)
			if (node_eval(n->kids[i], fn, arg))
				return true;
		return false;
	}
	return false;
}

static const char *node_required_ns(const struct sel_node *n)
{
	if (n->op == SEL_EQ && strcmp(n->label, LABEL_NAMESPACE) == 0)
		return n->value;
	if (n->op != SEL_AND)
		return NULL;
	for (size_t i = 0; i < n->n; i++) {
		const char *ns = node_required_ns(n->kids[i]);

		if (ns)
			return ns;
	}
	return NULL;
}

const char *sel_required_ns(const struct acl_sel *s)
{
	return s && s->root ? node_required_ns(s->root) : NULL;
}

bool acl_sel_eval(const struct acl_sel *s, acl_sel_lookup_fn fn,
		  const void *arg)
{
	return node_eval(s->root, fn, arg);
}

static const char *labels_lookup(const void *arg, const char *key)
{
	return ctl_labels_get(arg, key);
}

bool acl_sel_eval_labels(const struct acl_sel *s, const struct ctl_labels *l)
{
	return node_eval(s->root, labels_lookup, l);
}

const char *acl_sel_str(const struct acl_sel *s)
{
	return s->str;
}

bool acl_sel_is_all(const struct acl_sel *s)
{
	return s->root->op == SEL_ALL;
}

/* A growable string; on allocation failure it is poisoned (buf NULL). */
struct sbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *nb = realloc(b->buf, cap);

		if (!nb) {
			b->oom = true;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

static void sb_quoted(struct sbuf *b, const char *v)
{
	/* Calico: double quotes unless the value itself holds one. */
	const char *q = strchr(v, '"') ? "'" : "\"";

	sb_put(b, q);
	sb_put(b, v);
	sb_put(b, q);
}

static void render(struct sbuf *b, const struct sel_node *n)
{
	static const char *const ops[] = {
		[SEL_EQ] = " == ", [SEL_NE] = " != ",
		[SEL_CONTAINS] = " contains ", [SEL_STARTS] = " starts with ",
		[SEL_ENDS] = " ends with ", [SEL_IN] = " in {",
		[SEL_NOT_IN] = " not in {",
	};

	switch (n->op) {
	case SEL_ALL: sb_put(b, "all()"); break;
	case SEL_GLOBAL: sb_put(b, "global()"); break;
	case SEL_HAS:
		sb_put(b, "has(");
		sb_put(b, n->label);
		sb_put(b, ")");
		break;
	case SEL_EQ:
	case SEL_NE:
	case SEL_CONTAINS:
	case SEL_STARTS:
	case SEL_ENDS:
		sb_put(b, n->label);
		sb_put(b, ops[n->op]);
		sb_quoted(b, n->value);
		break;
	case SEL_IN:
	case SEL_NOT_IN:
		sb_put(b, n->label);
		sb_put(b, ops[n->op]);
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				sb_put(b, ", ");
			sb_quoted(b, n->vals[i]);
		}
		sb_put(b, "}");
		break;
	case SEL_NOT:
		sb_put(b, "!");
		render(b, n->kids[0]);
		break;
	case SEL_AND:
	case SEL_OR:
		/* Calico parenthesises every group, even at the top. */
		sb_put(b, "(");
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				sb_put(b, n->op == SEL_AND ? " && " : " || ");
			render(b, n->kids[i]);
		}
		sb_put(b, ")");
		break;
	}
}

struct acl_sel *sel_wrap(struct sel_node *root)
{
	struct sbuf b = { 0 };
	struct acl_sel *s;

	if (!root)
		return NULL;
	render(&b, root);
	s = calloc(1, sizeof(*s));
	if (b.oom || !s) {
		free(b.buf);
		free(s);
		sel_node_free(root);
		errno = ENOMEM;
		return NULL;
	}
	s->root = root;
	s->str = b.buf;
	return s;
}

static char *prefixed(const char *prefix, const char *label)
{
	size_t lp = strlen(prefix), ll = strlen(label);
	char *s = malloc(lp + ll + 1);

	if (s) {
		memcpy(s, prefix, lp);
		memcpy(s + lp, label, ll + 1);
	}
	return s;
}

static struct sel_node *node_has_ns(bool negate)
{
	struct sel_node *h = calloc(1, sizeof(*h)), *n;

	if (!h || !(h->label = strdup(LABEL_NAMESPACE)))
		goto fail;
	h->op = SEL_HAS;
	if (!negate)
		return h;
	if (!(n = calloc(1, sizeof(*n))))
		goto fail;
	n->op = SEL_NOT;
	n->n = 1;
	if (!(n->kids = malloc(sizeof(*n->kids)))) {
		free(n);
		goto fail;
	}
	n->kids[0] = h;
	return n;
fail:
	sel_node_free(h);
	return NULL;
}

/* Deep copy, optionally prefixing labels; NULL on allocation failure. */
static struct sel_node *node_copy(const struct sel_node *n, const char *prefix,
				  enum acl_sel_scope scope)
{
	struct sel_node *c;
	bool tree = n->op == SEL_NOT || n->op == SEL_AND || n->op == SEL_OR;

	if ((scope != ACL_SEL_SCOPE_NONE && n->op == SEL_ALL) ||
	    (scope == ACL_SEL_SCOPE_RULE && n->op == SEL_GLOBAL))
		return node_has_ns(n->op == SEL_GLOBAL);
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->op = n->op;
	if (n->label && !(c->label = prefixed(prefix ? prefix : "", n->label)))
		goto fail;
	if (n->value && !(c->value = strdup(n->value)))
		goto fail;
	if (n->n && tree && !(c->kids = calloc(n->n, sizeof(*c->kids))))
		goto fail;
	if (n->n && !tree && !(c->vals = calloc(n->n, sizeof(*c->vals))))
		goto fail;
	for (; c->n < n->n; c->n++) {
		if (tree)
			c->kids[c->n] = node_copy(n->kids[c->n], prefix, scope);
		else
			c->vals[c->n] = strdup(n->vals[c->n]);
		if (tree ? !c->kids[c->n] : !c->vals[c->n])
			goto fail;
	}
	return c;
fail:
	sel_node_free(c);
	return NULL;
}

struct acl_sel *acl_sel_prefixed(const struct acl_sel *s, const char *prefix,
				 enum acl_sel_scope scope)
{
	return sel_wrap(node_copy(s->root, prefix, scope));
}

struct acl_sel *acl_sel_and(const struct acl_sel *a, const struct acl_sel *b)
{
	struct sel_node *n;

	if (!a && !b)
		return acl_sel_parse("", NULL, 0);
	if (!a || !b)
		return sel_wrap(node_copy(a ? a->root : b->root, NULL,
					  ACL_SEL_SCOPE_NONE));
	if (!(n = calloc(1, sizeof(*n))) ||
	    !(n->kids = calloc(2, sizeof(*n->kids)))) {
		free(n);
		return NULL;
	}
	n->op = SEL_AND;
	if ((n->kids[0] = node_copy(a->root, NULL, ACL_SEL_SCOPE_NONE)))
		n->n++;
	if (n->n &&
	    (n->kids[1] = node_copy(b->root, NULL, ACL_SEL_SCOPE_NONE)))
		n->n++;
	if (n->n != 2) {
		sel_node_free(n);
		return NULL;
	}
	return sel_wrap(n);
}
