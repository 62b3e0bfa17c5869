/* SPDX-License-Identifier: BSD-3-Clause */
/* Keys given twice in a JSON object, U+0000 in strings (k8s/jsonkeys.h). */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
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

cJSON *k8s_json_parse(const char *text, size_t len, size_t *err_off)
{
	const char *nul = memchr(text, '\0', len);
	const char *at;
	char *copy = NULL;
	cJSON *root;

	if (nul != NULL) {
		if (err_off != NULL)
			*err_off = (size_t)(nul - text);
		return NULL;
	}
	/* Rare: most texts have no "u0000" at all, and parse as they are. */
	at = memmem(text, len, "u0000", 5);
	if (at != NULL) {
		copy = malloc(len);
		if (copy == NULL) {
			if (err_off != NULL)
				*err_off = 0;
			return NULL;
		}
		memcpy(copy, text, len);
		for (; at != NULL;
		     at = memmem(at + 5, len - (size_t)(at + 5 - text), "u0000",
				 5)) {
			/* An escape when an odd number of backslashes lead to
			 * it: "\\u0000" is a backslash and "u0000". Outside
			 * strings a backslash is no JSON, and cJSON refuses
			 * it whatever follows. */
			size_t i = (size_t)(at - text), bs = 0;

			while (bs < i && text[i - 1 - bs] == '\\')
				bs++;
			if (bs % 2 == 1)
				memcpy(copy + i + 1, "FDD0", 4);
		}
	}
	const char *base = copy != NULL ? copy : text, *end = NULL;

	root = cJSON_ParseWithLengthOpts(base, len, &end, false);
	if (root == NULL) {
		const char *e = cJSON_GetErrorPtr();

		end = e != NULL && e >= base && e <= base + len ? e :
								  base + len;
	} else {
		/* One value: cJSON stops after the first, so "{...} {...}"
		 * or "{...} garbage" would read as the first object. */
		while (end < base + len && (*end == ' ' || *end == '\t' ||
					    *end == '\r' || *end == '\n'))
			end++;
		if (end < base + len) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	if (root == NULL && err_off != NULL)
		*err_off = (size_t)(end - base);
	free(copy);
	return root;
}

bool k8s_json_has_nul(const char *s)
{
	return s != NULL && strstr(s, K8S_JSON_NUL_MARK) != NULL;
}


const char *k8s_json_nul_key(const cJSON *v)
{
	const cJSON *c;
	const char *k;

	if (v == NULL)
		return NULL;
	cJSON_ArrayForEach(c, v) {
		if (k8s_json_has_nul(c->string) ||
		    (cJSON_IsString(c) && k8s_json_has_nul(c->valuestring)))
			return c->string != NULL ? c->string : "";
		/* As deep as cJSON's nesting limit at most (above). */
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) &&
		    (k = k8s_json_nul_key(c)) != NULL)
			/* An array's element has no key: its array's. */
			return k[0] == '\0' && c->string != NULL ? c->string :
								   k;
	}
	return NULL;
}
