/* SPDX-License-Identifier: BSD-3-Clause */
/* Fixtures for the control tests: objects put into a store. */
#ifndef KDP_TESTS_UNIT_CONTROL_STORE_PUT_H
#define KDP_TESTS_UNIT_CONTROL_STORE_PUT_H

#include "control/store.h"
#include "tests/unit/ctl_check.h"

/* Upsert @p json (single-quoted, tj()) as a @p res; a rejection fails the
 * test. */
static inline void store_put(struct ctl_store *st, enum ctl_res res,
			     const char *json)
{
	cJSON *o = tj(json);

	if (ctl_store_upsert(st, res, o) != 0) {
		fprintf(stderr, "fixture rejected: %s\n", json);
		check_failures++;
	}
	cJSON_Delete(o);
}

#endif /* KDP_TESTS_UNIT_CONTROL_STORE_PUT_H */
