/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A recording stand-in for control/store.h: every call appends one line to
 * mock_store_log ("U pods ns/name kind=Pod", "D pods ns/name", "B pods",
 * "E pods"), so tests compare the exact call sequence.
 */
#ifndef KDP_TEST_MOCK_STORE_H
#define KDP_TEST_MOCK_STORE_H

#include <stddef.h>

#define MOCK_MAX_CALLS 256

extern char *mock_store_log[MOCK_MAX_CALLS];
extern size_t mock_store_n;

/** Forget recorded calls. */
void mock_store_reset(void);
/** Index of the first call equal to @p s, or -1. */
int mock_store_find(const char *s);

#endif
