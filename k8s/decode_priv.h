/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * JSON field helpers shared by the k8s decoders (internal to k8s/).
 *
 * Each helper distinguishes "absent" (missing or JSON null: fine, the field
 * keeps its default) from "wrong type" (the object is rejected with a reason
 * written into the decoder's error buffer).
 */
#ifndef KDP_K8S_DECODE_PRIV_H
#define KDP_K8S_DECODE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "control/model.h"

/** A decoder's error buffer. */
struct dj_err {
	char *buf;
	size_t len;
};

/** Write a reason; always returns -EINVAL. */
int dj_fail(struct dj_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Member @p key of @p o, NULL when missing or JSON null (or @p o isn't an object). */
const cJSON *dj_get(const cJSON *o, const char *key);

/** Optional string member; *out is NULL when absent. 0 or -EINVAL. */
int dj_str(const cJSON *o, const char *key, const char **out,
	   struct dj_err *e);
/** Optional bool member; *out untouched when absent. 0 or -EINVAL. */
int dj_bool(const cJSON *o, const char *key, bool *out, struct dj_err *e);
/** Optional object member (*out NULL when absent). 0 or -EINVAL. */
int dj_object(const cJSON *o, const char *key, const cJSON **out,
	      struct dj_err *e);
/** Optional array member (*out NULL when absent). 0 or -EINVAL. */
int dj_array(const cJSON *o, const char *key, const cJSON **out,
	     struct dj_err *e);

/** Parse a string→string map (labels) into a sorted label set. */
int dj_labels(const cJSON *map, const char *what, struct ctl_labels *l,
	      struct dj_err *e);

/**
 * Read metadata.name (required) and metadata.namespace (required when
 * @p namespaced) as fresh copies; @p ns may be NULL for cluster kinds.
 */
int dj_meta(const cJSON *obj, bool namespaced, char **ns, char **name,
	    struct dj_err *e);

/** strdup() that maps NULL to NULL and reports ENOMEM as a reason. */
int dj_dup(const char *s, char **out, struct dj_err *e);

/* Per-kind decoders (ctl_decode_fn). */
void *k8s_decode_node(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_pod(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_namespace(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_serviceaccount(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_ippool(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_ipamblock(const cJSON *obj, char *err, size_t errlen);
void *k8s_decode_blockaffinity(const cJSON *obj, char *err, size_t errlen);

#endif /* KDP_K8S_DECODE_PRIV_H */
