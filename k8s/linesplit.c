/* SPDX-License-Identifier: BSD-3-Clause */
#include "k8s/linesplit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void k8s_linesplit_init(struct k8s_linesplit *ls, size_t max_line)
{
	memset(ls, 0, sizeof(*ls));
	ls->max_line = max_line;
}

static int emit(const char *line, size_t len, k8s_line_fn fn, void *arg)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0;
	return fn(arg, line, len);
}

static int append(struct k8s_linesplit *ls, const char *data, size_t len)
{
	if (ls->len + len > ls->max_line)
		return -E2BIG;
	if (ls->len + len > ls->cap) {
		size_t cap = ls->cap ? ls->cap : 4096;
		char *nb;

		while (cap < ls->len + len)
			cap *= 2;
		nb = realloc(ls->buf, cap);
		if (nb == NULL)
			return -ENOMEM;
		ls->buf = nb;
		ls->cap = cap;
	}
	memcpy(ls->buf + ls->len, data, len);
	ls->len += len;
	return 0;
}

int k8s_linesplit_feed(struct k8s_linesplit *ls, const char *data, size_t len,
		       k8s_line_fn fn, void *arg)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t part;
		int rc;

		if (nl == NULL)
			return append(ls, data, len);
		part = (size_t)(nl - data);
		if (ls->len == 0) {
			/* Common case: the whole line is in this chunk. */
			if (part > ls->max_line)
				return -E2BIG;
			rc = emit(data, part, fn, arg);
		} else {
			rc = append(ls, data, part);
			if (rc < 0)
				return rc;
			rc = emit(ls->buf, ls->len, fn, arg);
			ls->len = 0;
		}
		if (rc != 0)
			return rc;
		data = nl + 1;
		len -= part + 1;
	}
	return 0;
}

void k8s_linesplit_reset(struct k8s_linesplit *ls)
{
	ls->len = 0;
}

void k8s_linesplit_fini(struct k8s_linesplit *ls)
{
	free(ls->buf);
	ls->buf = NULL;
	ls->len = ls->cap = 0;
}
