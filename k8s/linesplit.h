/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Split a byte stream into '\n'-terminated lines across arbitrary chunk
 * boundaries (the body of a Kubernetes watch: one JSON event per line).
 *
 * Thread-safety: one splitter per stream, used by one thread.
 */
#ifndef KDP_K8S_LINESPLIT_H
#define KDP_K8S_LINESPLIT_H

#include <stddef.h>

struct k8s_linesplit {
	char *buf;      /**< bytes of the unfinished line */
	size_t len;
	size_t cap;
	size_t max_line; /**< longer lines are an error (-E2BIG) */
};

/**
 * Called for every complete line, without its '\n' (a trailing '\r' is
 * removed too); empty lines are skipped. Non-zero stops the feed and is
 * returned by k8s_linesplit_feed().
 */
typedef int (*k8s_line_fn)(void *arg, const char *line, size_t len);

/** Start empty; @p max_line bounds memory use on a broken stream. */
void k8s_linesplit_init(struct k8s_linesplit *ls, size_t max_line);

/**
 * Feed @p len bytes. @return 0, the callback's non-zero value, -E2BIG when a
 * line exceeds max_line, -ENOMEM.
 */
int k8s_linesplit_feed(struct k8s_linesplit *ls, const char *data, size_t len,
		       k8s_line_fn fn, void *arg);

/** Bytes buffered of an unfinished line. */
static inline size_t k8s_linesplit_pending(const struct k8s_linesplit *ls)
{
	return ls->len;
}

/** Drop any partial line (a new stream starts). */
void k8s_linesplit_reset(struct k8s_linesplit *ls);

/** Free the buffer. */
void k8s_linesplit_fini(struct k8s_linesplit *ls);

#endif /* KDP_K8S_LINESPLIT_H */
