/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Minimal assertions for the control/k8s unit tests: count failures, keep
 * going, exit non-zero at the end.
 */
#ifndef KDP_TESTS_CTL_CHECK_H
#define KDP_TESTS_CTL_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int check_failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                            \
			check_failures++;                                    \
		}                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long _a = (long long)(a), _b = (long long)(b);          \
		if (_a != _b) {                                              \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);         \
			check_failures++;                                    \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *_a = (a), *_b = (b);                             \
		if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {       \
			fprintf(stderr, "%s:%d: %s == \"%s\" failed: got \"%s\"\n", \
				__FILE__, __LINE__, #a, _b ? _b : "(null)",  \
				_a ? _a : "(null)");                         \
			check_failures++;                                    \
		}                                                            \
	} while (0)

#define CHECK_DONE()                                                         \
	do {                                                                 \
		if (check_failures)                                          \
			fprintf(stderr, "%d check(s) failed\n", check_failures); \
		return check_failures ? 1 : 0;                               \
	} while (0)

/*
 * JSON written with single quotes (so test literals need no escaping), as
 * text with double quotes (malloc'd). The tests' JSON never contains a
 * literal single quote.
 */
static inline char *tdq(const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		abort();
	for (char *p = c; *p; p++)
		if (*p == '\'')
			*p = '"';
	return c;
}

/* Parse JSON written with single quotes (tdq()). */
static inline cJSON *tj(const char *s)
{
	char *c = tdq(s);
	cJSON *j;

	j = cJSON_Parse(c);
	free(c);
	if (j == NULL) {
		fprintf(stderr, "test JSON does not parse: %s\n", s);
		abort();
	}
	return j;
}

/** Host-order IPv4 from four octets. */
#define IP4(a, b, c, d)                                                      \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |    \
	 (uint32_t)(d))

#endif /* KDP_TESTS_CTL_CHECK_H */
