/* SPDX-License-Identifier: BSD-3-Clause */
/* JSON field helpers for the decoders (k8s/decode_priv.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/decode_priv.h"

int dj_fail(struct dj_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->len > 0) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const cJSON *dj_get(const cJSON *o, const char *key)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNull(v) ? NULL : v;
}

int dj_str(const cJSON *o, const char *key, const char **out, struct dj_err *e)
{
	const cJSON *v = dj_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return dj_fail(e, "%s: not a string", key);
	*out = v->valuestring;
	return 0;
}

int dj_bool(const cJSON *o, const char *key, bool *out, struct dj_err *e)
{
	const cJSON *v = dj_get(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return dj_fail(e, "%s: not a bool", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

int dj_object(const cJSON *o, const char *key, const cJSON **out,
	      struct dj_err *e)
{
	const cJSON *v = dj_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return dj_fail(e, "%s: not an object", key);
	*out = v;
	return 0;
}

int dj_array(const cJSON *o, const char *key, const cJSON **out,
	     struct dj_err *e)
{
	const cJSON *v = dj_get(o, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!cJSON_IsArray(v))
		return dj_fail(e, "%s: not an array", key);
	*out = v;
	return 0;
}

int dj_dup(const char *s, char **out, struct dj_err *e)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = strdup(s);
	if (*out == NULL)
		return dj_fail(e, "out of memory");
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

int dj_labels(const cJSON *map, const char *what, struct ctl_labels *l,
	      struct dj_err *e)
{
	const cJSON *v;
	size_t n = 0, i = 0;
	char **pairs;

	memset(l, 0, sizeof(*l));
	if (map == NULL || cJSON_IsNull(map))
		return 0;
	if (!cJSON_IsObject(map))
		return dj_fail(e, "%s: not an object", what);
	cJSON_ArrayForEach(v, map) {
		if (!cJSON_IsString(v))
			return dj_fail(e, "%s.%s: not a string", what,
				       v->string);
		n++;
	}
	if (n == 0)
		return 0;
	/* sort (key, value) pairs together: key at [2i], value at [2i+1] */
	pairs = calloc(2 * n, sizeof(*pairs));
	l->keys = calloc(n, sizeof(*l->keys));
	l->vals = calloc(n, sizeof(*l->vals));
	if (pairs == NULL || l->keys == NULL || l->vals == NULL)
		goto out_nomem;
	cJSON_ArrayForEach(v, map) {
		pairs[2 * i] = v->string;
		pairs[2 * i + 1] = v->valuestring;
		i++;
	}
	qsort(pairs, n, 2 * sizeof(*pairs), cmp_key);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(pairs[2 * i], pairs[2 * i - 2]) == 0) {
			int rc = dj_fail(e, "%s: duplicate key %s", what,
					 pairs[2 * i]);
			free(pairs);
			ctl_labels_clear(l);
			return rc;
		}
		l->keys[i] = strdup(pairs[2 * i]);
		l->vals[i] = strdup(pairs[2 * i + 1]);
		l->n = i + 1;
		if (l->keys[i] == NULL || l->vals[i] == NULL)
			goto out_nomem;
	}
	free(pairs);
	return 0;

out_nomem:
	free(pairs);
	ctl_labels_clear(l); /* copes with partly filled arrays */
	return dj_fail(e, "out of memory");
}

int dj_meta(const cJSON *obj, bool namespaced, char **ns, char **name,
	    struct dj_err *e)
{
	const cJSON *md;
	const char *n, *s;

	if (ns != NULL)
		*ns = NULL;
	*name = NULL;
	if (dj_object(obj, "metadata", &md, e) < 0)
		return -EINVAL;
	if (md == NULL)
		return dj_fail(e, "metadata missing");
	if (dj_str(md, "name", &n, e) < 0 || dj_str(md, "namespace", &s, e) < 0)
		return -EINVAL;
	if (n == NULL || *n == '\0')
		return dj_fail(e, "metadata.name missing");
	if (namespaced && (s == NULL || *s == '\0'))
		return dj_fail(e, "metadata.namespace missing");
	if (dj_dup(n, name, e) < 0)
		return -ENOMEM;
	if (ns != NULL && dj_dup(namespaced ? s : NULL, ns, e) < 0) {
		free(*name);
		*name = NULL;
		return -ENOMEM;
	}
	return 0;
}
