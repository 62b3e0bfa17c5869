/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Picking, replacing and editing members of a cJSON tree, for the tests
 * that mutate valid JSON at random (test_object_fuzz.c, test_config_fuzz.c,
 * test_selector_fuzz.c, test_podport_fuzz.c, test_cni_fuzz.c).
 */
#ifndef KDP_TESTS_JSON_FUZZ_H
#define KDP_TESTS_JSON_FUZZ_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tests/unit/fuzz.h"

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

/** A value that is no string: null, a bool, one of the @p n numbers
 * @p nums, or an object or an array holding string @p s (as @p key). */
static inline cJSON *jf_non_string(const double *nums, size_t n,
				   const char *key, const char *s)
{
	cJSON *j;

	switch (rand() % 4) {
	case 0:
		return cJSON_CreateNull();
	case 1:
		return cJSON_CreateBool(rand() % 2);
	case 2:
		return cJSON_CreateNumber(nums[(size_t)rand() % n]);
	default:
		j = rand() % 2 ? cJSON_CreateObject() : cJSON_CreateArray();
		cJSON_AddItemToObject(j, key, cJSON_CreateString(s));
		return j;
	}
}

/** A string of @p n copies of one random letter. */
static inline cJSON *jf_long_string(size_t n)
{
	char *s = fuzz_long_str(n);
	cJSON *j = cJSON_CreateString(s);

	free(s);
	return j;
}

/** @p it, a member of an object, renamed @p name. */
static inline void jf_rename(cJSON *it, const char *name)
{
	char *n = strdup(name);

	if (n == NULL)
		abort();
	free(it->string);
	it->string = n;
}

/**
 * One random edit of @p it, an item below @p parent (jf_pick()): deleted;
 * given a value of @p value(); renamed @p key() (missing, and unknown or
 * misplaced; an array's item is repeated instead); given twice, the same
 * or another value; a character of a string changed to one of @p chars,
 * or the string cut short; wrapped one level deeper; or a member added
 * beside it or, for an object, in it. @p it may be freed.
 */
static inline void jf_mutate(cJSON *parent, cJSON *it, cJSON *(*value)(void),
			     const char *(*key)(void), const char *chars)
{
	cJSON *w;
	const char *k;

	switch (rand() % 8) {
	case 0:
		cJSON_Delete(cJSON_DetachItemViaPointer(parent, it));
		break;
	case 1:
	case 2:
		jf_replace(parent, it, value());
		break;
	case 3:
		if (it->string)
			jf_rename(it, key());
		else
			cJSON_AddItemToArray(parent, cJSON_Duplicate(it, true));
		break;
	case 4:
		w = rand() % 2 ? cJSON_Duplicate(it, true) : value();
		if (it->string)
			cJSON_AddItemToObject(parent, it->string, w);
		else
			cJSON_AddItemToArray(parent, w);
		break;
	case 5:
		if (!jf_edit_string(it, chars))
			jf_replace(parent, it, value());
		break;
	case 6:
		w = rand() % 2 ? cJSON_CreateArray() : cJSON_CreateObject();
		cJSON_AddItemToObject(w, it->string ? it->string : "v",
				      cJSON_Duplicate(it, true));
		jf_replace(parent, it, w);
		break;
	default:
		/* the key first: one rand() at a time, as a seed replays */
		k = key();
		w = cJSON_IsObject(it) ? it : parent;
		if (cJSON_IsObject(w))
			cJSON_AddItemToObject(w, k, value());
		break;
	}
}

#endif /* KDP_TESTS_JSON_FUZZ_H */
