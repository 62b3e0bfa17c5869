/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Keys given twice in a JSON object. cJSON keeps both and its lookups take
 * the first, so `{"pod":"a","pod":"b"}` meant "a" without a word, where a
 * reader of the text may well have meant "b". The Kubernetes API server
 * refuses duplicate fields (strict field validation, kubectl's default),
 * and so do kdp's config (control/config.c), its pod-port API, the CNI
 * plugin's netconf and the datastore's objects, through this check.
 *
 * Thread-safety: pure.
 */
#ifndef KDP_K8S_JSONKEYS_H
#define KDP_K8S_JSONKEYS_H

#include <cjson/cJSON.h>

/**
 * The first key found given twice in one object of @p v, at any depth
 * (objects inside arrays too), or NULL when there is none. The string
 * belongs to @p v.
 */
const char *k8s_json_dup_key(const cJSON *v);

#endif /* KDP_K8S_JSONKEYS_H */
