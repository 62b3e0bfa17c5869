/* SPDX-License-Identifier: BSD-3-Clause */
/* Keys given twice in a JSON object (k8s/jsonkeys.h). */
#include <stdlib.h>
#include <string.h>

#include "k8s/jsonkeys.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One object's own keys: sorted, so that n keys cost n log n (a 64 KiB
 * request may hold thousands). */
static const char *own_dup(const cJSON *obj)
{
	const char *small[16], **keys = small, *dup = NULL;
	size_t n = 0, i = 0;
	const cJSON *c;

	cJSON_ArrayForEach(c, obj)
		n++;
	if (n < 2)
		return NULL;
	if (n > sizeof(small) / sizeof(small[0]) &&
	    (keys = malloc(n * sizeof(*keys))) == NULL)
		return NULL; /* out of memory: no verdict, as before */
	cJSON_ArrayForEach(c, obj)
		keys[i++] = c->string ? c->string : "";
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 1; i < n && dup == NULL; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			dup = keys[i];
	if (keys != small)
		free(keys);
	return dup;
}

const char *k8s_json_dup_key(const cJSON *v)
{
	const cJSON *c;
	const char *dup;

	if (v == NULL || !(cJSON_IsObject(v) || cJSON_IsArray(v)))
		return NULL;
	if (cJSON_IsObject(v) && (dup = own_dup(v)) != NULL)
		return dup;
	/* cJSON's parser stops at 1000 levels (CJSON_NESTING_LIMIT): the
	 * recursion is as deep as that at most. */
	cJSON_ArrayForEach(c, v)
		if ((dup = k8s_json_dup_key(c)) != NULL)
			return dup;
	return NULL;
}
