/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the acl unit tests. */
#ifndef KDP_TESTS_ACL_TUTIL_H
#define KDP_TESTS_ACL_TUTIL_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "control/model.h"

/** Parse a JSON file; exits the test on failure. */
cJSON *tu_load_json(const char *path);

/** Build a sorted ctl_labels from a JSON object of strings (NULL = none);
 * free with ctl_labels_clear(). */
void tu_labels_from_json(struct ctl_labels *l, const cJSON *obj);

/** Parse dotted-quad IPv4 to host order; exits on failure. */
unsigned tu_ip(const char *s);

struct acl_set;
/** Whether what the pods contribute to two sets is the same: per
 * endpoint and direction, every rule's resolved IP and named port sets. */
bool tu_set_same(const struct acl_set *a, const struct acl_set *b);

extern int tu_failures;
#define TU_CHECK(cond, ...)                                                  \
	do {                                                                 \
		if (!(cond)) {                                               \
			tu_failures++;                                       \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

#endif
