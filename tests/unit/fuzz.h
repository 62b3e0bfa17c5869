/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Helpers of the randomized parser tests: a replayable seed, and random
 * edits of a text (what a truncated write, a bad copy-paste or a stray
 * keystroke does to a config file). rand() is the only source, so a seed
 * replays a run exactly.
 */
#ifndef KDP_TESTS_FUZZ_H
#define KDP_TESTS_FUZZ_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** $@p var as a number if set (to replay a failure or run longer), else
 * @p def, the test's fixed value. */
static inline unsigned int fuzz_env(const char *var, unsigned int def)
{
	const char *e = getenv(var);

	return e && *e ? (unsigned int)strtoul(e, NULL, 0) : def;
}

/** A malloc'd string of @p n copies of one random letter. */
static inline char *fuzz_long_str(size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memset(s, 'a' + rand() % 26, n);
	s[n] = '\0';
	return s;
}

/** Write @p text to @p path, a new file (ext4 flushes a file truncated
 * and written again when it is closed: seconds over a run). */
static inline void fuzz_write_file(const char *path, const char *text)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/** What control/netlink.h calls an interface name, read for the tests'
 * models: a Linux one (dev_valid_name(): 1-15 bytes, not "." or "..", no
 * '/', ':' or blank) of printable ASCII. */
static inline bool fuzz_ifname_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= ' ' ||
		    (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Bytes that mean something to JSON or YAML, whitespace that YAML cares
 * about (tab, newline), a digit, a letter, and bytes that are not UTF-8. */
static const char fuzz_bytes[] = "{}[]\":,\\\t\n 0-.ea&*#!|>%'?~\x80\xff";

/**
 * One random edit of the NUL-terminated text @p s (malloc'd; the result
 * replaces it): cut short, a byte changed, bytes inserted, a span removed
 * or repeated, garbage appended, or brackets opened thousands deep.
 */
static inline char *fuzz_text_edit(char *s)
{
	size_t len = strlen(s), at = len ? (size_t)rand() % len : 0;
	size_t span = len - at ? 1 + (size_t)rand() % (len - at) : 0;
	int op = rand() % 8;
	size_t n;
	char *out;

	switch (op) {
	case 0: /* truncated */
		s[at] = '\0';
		return s;
	case 1: /* one byte changed */
		if (len)
			s[at] = fuzz_bytes[rand() % (sizeof(fuzz_bytes) - 1)];
		return s;
	case 2: /* a span gone */
		memmove(s + at, s + at + span, len - at - span + 1);
		return s;
	case 3: /* a span repeated */
		n = span;
		break;
	case 4: /* nesting deeper than a parser should recurse */
		n = 1 + (size_t)rand() % 5000;
		break;
	case 5: /* something after the end */
		at = len;
		n = 1 + (size_t)rand() % 8;
		break;
	default: /* a byte or two inserted */
		n = 1 + (size_t)rand() % 2;
		break;
	}
	out = malloc(len + n + 1);
	if (out == NULL)
		abort();
	memcpy(out, s, at);
	if (op == 3)
		memcpy(out + at, s + at, n);
	else if (op == 4)
		memset(out + at, rand() % 2 ? '[' : '{', n);
	else
		for (size_t i = 0; i < n; i++)
			out[at + i] = fuzz_bytes[rand() % (sizeof(fuzz_bytes) - 1)];
	memcpy(out + at + n, s + at, len - at + 1);
	free(s);
	return out;
}

#endif /* KDP_TESTS_FUZZ_H */
