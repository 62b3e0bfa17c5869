/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What cJSON's parser does not check: keys given twice in a JSON object,
 * and U+0000 in strings (below).
 *
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

#include <stdbool.h>

#include <cjson/cJSON.h>

/**
 * The first key found given twice in one object of @p v, at any depth
 * (objects inside arrays too), or NULL when there is none. The string
 * belongs to @p v.
 */
const char *k8s_json_dup_key(const cJSON *v);

/*
 * U+0000 in a string. cJSON decodes the escape \u0000 into a NUL byte and
 * keeps the string as a C string, so "a\u0000b" reads as "a": kdp would
 * act on a value other than the one the API server stores (a selector
 * "x == 'y'\u0000 || all()" that Felix refuses would read as "x == 'y'").
 * So the text is parsed with each such escape turned into U+FDD0, a
 * Unicode noncharacter kept for internal use, and objects holding it are
 * refused (the store, control/store.c): an object with a real U+FDD0 too.
 */

/** U+FDD0 in UTF-8: what k8s_json_parse() puts for each U+0000. */
#define K8S_JSON_NUL_MARK "\xef\xb7\x90"

/**
 * cJSON_ParseWithLength() of @p len bytes at @p text, with each \u0000
 * escape read as U+FDD0. A raw NUL byte (JSON allows no control character
 * in a string, and cJSON would stop the string there) makes it NULL, as
 * invalid JSON, and so does anything but blanks after the first value
 * (which cJSON would ignore). On NULL, @p *err_off (when not NULL) is the
 * offset in @p text where parsing stopped.
 */
cJSON *k8s_json_parse(const char *text, size_t len, size_t *err_off);

/** Whether @p s (NULL: false) holds K8S_JSON_NUL_MARK: a string read by
 * k8s_json_parse() that held U+0000 (or held U+FDD0). */
bool k8s_json_has_nul(const char *s);

/**
 * The key of the first member of @p v, at any depth, whose key or string
 * value holds K8S_JSON_NUL_MARK (for an element of an array, the array's
 * key; "" for one of a top-level array), or NULL when there is none. The
 * string belongs to @p v.
 */
const char *k8s_json_nul_key(const cJSON *v);

#endif /* KDP_K8S_JSONKEYS_H */
