/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * k8s_json_dup_key() (k8s/jsonkeys.h): fixed cases, then random documents
 * (objects and arrays nested, keys from a small alphabet so that some
 * repeat, up to 2,000 keys in one object) against a plain pairwise walk.
 *
 * JSONKEYS_SEED=N replays a run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/jsonkeys.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_dups.h"

static const char *dup_of(const char *text)
{
	static char out[64];
	cJSON *j = cJSON_Parse(text);
	const char *d;

	CHECK(j != NULL);
	d = k8s_json_dup_key(j);
	snprintf(out, sizeof(out), "%s", d ? d : "(none)");
	cJSON_Delete(j);
	return out;
}

/* A random value of depth @p depth at most, with @p width children at
 * most in a container. */
static cJSON *gen(int depth, int width)
{
	int kind = depth > 0 ? rand() % 4 : 3;
	cJSON *v;

	if (kind == 3)
		return cJSON_CreateNumber(rand() % 10);
	v = kind == 0 ? cJSON_CreateArray() : cJSON_CreateObject();
	int n = rand() % (width + 1);
	/* Few distinct keys in a big object, many in a small one. */
	int alphabet = rand() % 2 ? n * 2 + 1 : n * 40 + 1;
	for (int i = 0; i < n; i++) {
		cJSON *c = gen(depth - 1, width > 4 ? 4 : width);
		char key[16];

		if (kind == 0) {
			cJSON_AddItemToArray(v, c);
			continue;
		}
		snprintf(key, sizeof(key), "k%d", rand() % alphabet);
		/* cJSON_AddItemToObject() appends, duplicates included: the
		 * parser keeps them the same way. */
		cJSON_AddItemToObject(v, key, c);
	}
	return v;
}

int main(void)
{
	unsigned int seed = fuzz_env("JSONKEYS_SEED", 1);
	unsigned int with = 0, without = 0;

	CHECK_STR(dup_of("{}"), "(none)");
	CHECK_STR(dup_of("[]"), "(none)");
	CHECK_STR(dup_of("{\"a\":1,\"b\":2}"), "(none)");
	CHECK_STR(dup_of("{\"a\":1,\"a\":2}"), "a");
	CHECK_STR(dup_of("{\"\":1,\"\":2}"), "");
	CHECK_STR(dup_of("{\"a\":{\"x\":1},\"b\":{\"x\":2}}"), "(none)");
	CHECK_STR(dup_of("{\"a\":{\"x\":1,\"y\":2,\"x\":3}}"), "x");
	CHECK_STR(dup_of("[{\"p\":1},[{\"q\":1,\"q\":1}]]"), "q");
	CHECK_STR(dup_of("{\"A\":1,\"a\":2}"), "(none)"); /* case matters */
	CHECK(k8s_json_dup_key(NULL) == NULL);

	srand(seed);
	for (int it = 0; it < 3000; it++) {
		cJSON *v = gen(1 + rand() % 4, it % 100 == 0 ? 2000 : 12);
		char *t = cJSON_PrintUnformatted(v);
		cJSON *p = cJSON_Parse(t);
		bool want = json_has_dup(v);

		CHECK((k8s_json_dup_key(v) != NULL) == want);
		/* and the same through the parser */
		CHECK(p != NULL && (k8s_json_dup_key(p) != NULL) == want);
		with += want;
		without += !want;
		free(t);
		cJSON_Delete(p);
		cJSON_Delete(v);
		if (check_failures) {
			fprintf(stderr, "seed %u, document %d\n", seed, it);
			break;
		}
	}
	printf("jsonkeys: %u documents with a key twice, %u without (seed "
	       "%u)\n", with, without, seed);
	CHECK(with > 300 && without > 300);
	CHECK_DONE();
}
