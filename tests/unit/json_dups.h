/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The tests' own answer to "is a key given twice in this JSON?", the plain
 * way (every pair of one object's keys), to check k8s/jsonkeys.h and the
 * parsers that use it against.
 */
#ifndef KDP_TESTS_JSON_DUPS_H
#define KDP_TESTS_JSON_DUPS_H

#include <stdbool.h>
#include <string.h>

#include <cjson/cJSON.h>

/** A key given twice in one object of @p v, at any depth. */
static inline bool json_has_dup(const cJSON *v)
{
	for (const cJSON *a = v ? v->child : NULL; a; a = a->next) {
		if (cJSON_IsObject(v))
			for (const cJSON *b = a->next; b; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return true;
		if (json_has_dup(a))
			return true;
	}
	return false;
}

#endif /* KDP_TESTS_JSON_DUPS_H */
