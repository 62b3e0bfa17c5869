/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "acl/acl_priv.h"
#include "tutil.h"

int tu_failures;

cJSON *tu_load_json(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	cJSON *j;

	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: read failed\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	j = cJSON_Parse(buf);
	free(buf);
	if (!j) {
		fprintf(stderr, "%s: bad JSON\n", path);
		exit(2);
	}
	return j;
}

static int cmp_idx(const void *a, const void *b, void *arg)
{
	char **keys = arg;

	return strcmp(keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

void tu_labels_from_json(struct ctl_labels *l, const cJSON *obj)
{
	const cJSON *it;
	size_t n = (size_t)cJSON_GetArraySize(obj), i = 0;
	char **k = calloc(n + 1, sizeof(*k)), **v = calloc(n + 1, sizeof(*v));
	size_t *idx = calloc(n + 1, sizeof(*idx));

	cJSON_ArrayForEach(it, obj) {
		k[i] = strdup(it->string);
		v[i] = strdup(cJSON_IsString(it) ? it->valuestring : "");
		idx[i] = i;
		i++;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_idx, k);
	l->n = n;
	l->keys = calloc(n + 1, sizeof(char *));
	l->vals = calloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		l->keys[i] = k[idx[i]];
		l->vals[i] = v[idx[i]];
	}
	free(k);
	free(v);
	free(idx);
}

unsigned tu_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "bad IP %s\n", s);
		exit(2);
	}
	return ntohl(a.s_addr);
}

static bool iset_same(const struct acl_iset *a, const struct acl_iset *b)
{
	return a->n == b->n && (!a->n || (!memcmp(a->lo, b->lo, a->n * 4) &&
					  !memcmp(a->hi, b->hi, a->n * 4)));
}

static bool pset_same(const struct acl_pset *a, const struct acl_pset *b)
{
	return a->n_named == b->n_named &&
	       (!a->n_named || !memcmp(a->named, b->named,
				       a->n_named * sizeof(*a->named)));
}

static bool cent_same(const struct acl_cent *a, const struct acl_cent *b)
{
	return iset_same(&a->sel, &b->sel) &&
	       iset_same(&a->not_sel, &b->not_sel) &&
	       pset_same(&a->ports, &b->ports) &&
	       pset_same(&a->not_ports, &b->not_ports);
}

bool tu_set_same(const struct acl_set *a, const struct acl_set *b)
{
	if (a->n_ep != b->n_ep)
		return false;
	for (uint32_t i = 0; i < a->n_ep * ACL_DIR_MAX; i++) {
		const struct acl_prog *x = &a->prog[i], *y = &b->prog[i];

		if (x->n != y->n)
			return false;
		for (uint32_t r = 0; r < x->n; r++)
			if (!cent_same(&x->r[r].src, &y->r[r].src) ||
			    !cent_same(&x->r[r].dst, &y->r[r].dst))
				return false;
	}
	return true;
}
