/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal check macros for the k8s unit tests. */
#ifndef KDP_TEST_K8S_TEST_H
#define KDP_TEST_K8S_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			test_failures++;                                     \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {       \
			fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__,   \
				__LINE__, a_ ? a_ : "(null)",                \
				b_ ? b_ : "(null)");                         \
			test_failures++;                                     \
		}                                                            \
	} while (0)

#define TEST_DONE(name)                                                      \
	do {                                                                 \
		printf("%s: %s\n", name, test_failures ? "FAIL" : "ok");     \
		return test_failures ? 1 : 0;                                \
	} while (0)

#endif
