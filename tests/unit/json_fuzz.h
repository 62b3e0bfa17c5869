/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Picking and replacing members of a cJSON tree, for the tests that mutate
 * valid JSON at random (test_object_fuzz.c, test_config_fuzz.c,
 * test_selector_fuzz.c).
 */
#ifndef KDP_TESTS_JSON_FUZZ_H
#define KDP_TESTS_JSON_FUZZ_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/** Every item below @p o (not @p o itself), depth first, at most @p max. */
static inline void jf_collect(cJSON *o, cJSON **v, unsigned int *n,
			      unsigned int max)
{
	cJSON *c;

	cJSON_ArrayForEach(c, o) {
		if (*n < max)
			v[(*n)++] = c;
		jf_collect(c, v, n, max);
	}
}

/** A random item below @p root (one of the first 512), or NULL if there
 * is none; @p parent is set to the item whose child list holds it. */
static inline cJSON *jf_pick(cJSON *root, cJSON **parent)
{
	cJSON *v[512], *it, *c;
	unsigned int n = 0;

	jf_collect(root, v, &n, sizeof(v) / sizeof(v[0]));
	if (n == 0)
		return NULL;
	it = v[rand() % n];
	*parent = root;
	for (unsigned int i = 0; i < n; i++)
		cJSON_ArrayForEach(c, v[i])
			if (c == it)
				*parent = v[i];
	return it;
}

/** @p it of @p parent replaced by @p by: an object's member keeps its
 * name (cJSON_ReplaceItemViaPointer() would leave it without one, which
 * no parsed JSON has). */
static inline void jf_replace(cJSON *parent, cJSON *it, cJSON *by)
{
	if (cJSON_IsObject(parent))
		cJSON_ReplaceItemInObjectCaseSensitive(parent, it->string, by);
	else
		cJSON_ReplaceItemViaPointer(parent, it, by);
}

/** A character of string @p it changed to one of @p chars, or the string
 * cut short. @return false (nothing done) if @p it is no non-empty string. */
static inline bool jf_edit_string(cJSON *it, const char *chars)
{
	size_t l;

	if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
		return false;
	l = strlen(it->valuestring);
	if (rand() % 2) {
		size_t at = (size_t)rand() % l;

		it->valuestring[at] = chars[(size_t)rand() % strlen(chars)];
	} else {
		it->valuestring[(size_t)rand() % l] = '\0';
	}
	return true;
}

#endif /* KDP_TESTS_JSON_FUZZ_H */
