/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * k8s_json_dup_key() (k8s/jsonkeys.h): fixed cases, then random documents
 * (objects and arrays nested, keys from a small alphabet so that some
 * repeat, up to 2,000 keys in one object) against a plain pairwise walk.
 * k8s_json_parse() and k8s_json_nul_key(): U+0000 in strings.
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

	/* Strings that print with backslashes before "u0000" (escaped
	 * backslashes, none of them U+0000): k8s_json_parse() must read them
	 * as cJSON does. */
	static const char *const strs[] = {"u0000", "\\u0000", "\\\\u0000",
					   "\"u0000", "\n\\", "\\", "x"};

	if (kind == 3)
		return rand() % 2 ? cJSON_CreateNumber(rand() % 10) :
				    cJSON_CreateString(strs[rand() % 7]);
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

/* The key k8s_json_nul_key() names in @p text parsed by k8s_json_parse():
 * "(none)", or "(invalid)" when it does not parse. */
static const char *nul_of(const char *text, size_t len)
{
	static char out[64];
	cJSON *j = k8s_json_parse(text, len, NULL);
	const char *k;

	if (j == NULL)
		return "(invalid)";
	k = k8s_json_nul_key(j);
	snprintf(out, sizeof(out), "%s", k ? k : "(none)");
	cJSON_Delete(j);
	return out;
}

#define LIT(lit) lit, sizeof(lit) - 1
#define NUL_OF(lit) nul_of(LIT(lit))

static void test_nul(void)
{
	size_t off = 99;
	cJSON *j;

	/* cJSON alone cuts the string at U+0000: what this guards against */
	j = cJSON_Parse("{\"a\":\"ab\\u0000cd\"}");
	CHECK(j != NULL &&
	      strcmp(cJSON_GetObjectItem(j, "a")->valuestring, "ab") == 0);
	cJSON_Delete(j);

	CHECK_STR(NUL_OF("{\"a\":\"abcd\"}"), "(none)");
	CHECK_STR(NUL_OF("{\"a\":\"ab\\u0000cd\"}"), "a");
	CHECK_STR(NUL_OF("{\"a\":\"\\u0000\"}"), "a");
	CHECK_STR(NUL_OF("{\"k\\u0000x\":1}"), "k\xef\xb7\x90x");
	CHECK_STR(NUL_OF("{\"m\":{\"l\":[\"x\",\"y\\u0000\"]}}"), "l");
	CHECK_STR(NUL_OF("[{\"p\":1},[\"q\\u0000\"]]"), "");
	/* an escaped backslash, then the letters: no U+0000 */
	CHECK_STR(NUL_OF("{\"a\":\"ab\\\\u0000cd\"}"), "(none)");
	j = k8s_json_parse(LIT("{\"a\":\"\\\\u0000\"}"), NULL);
	CHECK(j != NULL &&
	      strcmp(cJSON_GetObjectItem(j, "a")->valuestring, "\\u0000") == 0);
	cJSON_Delete(j);
	/* three backslashes: an escaped one, then U+0000 */
	CHECK_STR(NUL_OF("{\"a\":\"\\\\\\u0000\"}"), "a");
	/* U+0000 as "u0000" outside an escape, and in a key's text */
	CHECK_STR(NUL_OF("{\"u0000\":\"u0000\"}"), "(none)");
	/* U+FDD0 given as such is taken for U+0000 (documented) */
	CHECK_STR(NUL_OF("{\"a\":\"\\ufdd0\"}"), "a");
	/* a raw NUL byte is no JSON: cJSON would end the string there */
	CHECK_STR(NUL_OF("{\"a\":\"ab\0cd\"}"), "(invalid)");
	CHECK(k8s_json_parse(LIT("{\"a\":\"ab\0cd\"}"), &off) == NULL);
	CHECK_EQ(off, 8);
	/* a syntax error's offset, in the caller's text even when marked */
	off = 0;
	CHECK(k8s_json_parse(LIT("{\"a\":\"\\u0000\",]"), &off) == NULL);
	CHECK(off >= 13 && off <= 15);
	/* only @p len bytes are read */
	CHECK_STR(nul_of("{\"a\":1}\\u0000", 7), "(none)");
	/* one value and blanks: cJSON alone stops after the first value */
	CHECK_STR(NUL_OF(" {\"a\":1} \r\n\t"), "(none)");
	CHECK_STR(NUL_OF("{\"a\":1} {\"a\":\"\\u0000\"}"), "(invalid)");
	CHECK_STR(NUL_OF("{\"a\":1}x"), "(invalid)");
	CHECK_STR(NUL_OF("[1] 2"), "(invalid)");
	CHECK(k8s_json_parse(LIT("{\"a\":1}  ,"), &off) == NULL);
	CHECK_EQ(off, 9);
	CHECK(k8s_json_has_nul("x" K8S_JSON_NUL_MARK) && !k8s_json_has_nul("x") &&
	      !k8s_json_has_nul(NULL));
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
	test_nul();

	srand(seed);
	for (int it = 0; it < 3000; it++) {
		cJSON *v = gen(1 + rand() % 4, it % 100 == 0 ? 2000 : 12);
		char *t = cJSON_PrintUnformatted(v);
		cJSON *p = cJSON_Parse(t);
		bool want = json_has_dup(v);
		cJSON *q = k8s_json_parse(t, strlen(t), NULL);
		char *tq = q != NULL ? cJSON_PrintUnformatted(q) : NULL;

		/* no U+0000: the same document as cJSON's (printed: with a
		 * key twice, cJSON_Compare() differs from itself) */
		CHECK(tq != NULL && strcmp(tq, t) == 0 &&
		      k8s_json_nul_key(q) == NULL);
		free(tq);
		cJSON_Delete(q);

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
