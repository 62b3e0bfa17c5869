/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One reflector per resource: keep the store's copy of a collection in step
 * with the API server, client-go style (calico-model.md §5).
 *
 *   LIST (limit=500, continue) bracketed by resync_begin/resync_end
 *   → WATCH from the list RV (bookmarks, random 300–600 s timeout)
 *   → normal close: re-watch from the last RV
 *   → 410/Expired: relist from the last RV, then with a consistent read
 *   → errors: back off (k8s/backoff.h) and retry the same step.
 * A collection that is not served (404, CRD absent) counts as empty and
 * synced, with a warning, and its list is retried every minute.
 *
 * The reflector owns no thread: its owner adds the handles it starts to a
 * curl multi handle and hands back each finished one.
 *
 * Thread-safety: control thread only, except k8s_reflector_status(), which
 * the telemetry thread may call (it takes the reflector's lock, and reads
 * the store under the control lock its caller holds).
 */
#ifndef KDP_K8S_REFLECTOR_H
#define KDP_K8S_REFLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "control/model.h"

struct ctl_store;
struct k8s_client;
struct rte_tel_data;
struct k8s_reflector;

/** How often a collection that was not served (404) is listed again. */
#define K8S_ABSENT_RETRY_MS 60000u

/**
 * @param name resource name for logs and telemetry (copied).
 * @param path collection path, e.g. "/api/v1/pods" (copied).
 * @return NULL with errno.
 */
struct k8s_reflector *k8s_reflector_create(struct k8s_client *cl,
					   struct ctl_store *st,
					   enum ctl_res res, const char *name,
					   const char *path, uint64_t seed);

/** Free; its transfer, if any, must have been removed from the multi. */
void k8s_reflector_free(struct k8s_reflector *r);

/**
 * Start the next request if one is due at @p now_ms and add it to @p multi.
 * @return the time (ms) at which it next wants to be ticked, or UINT64_MAX
 *   while a transfer is in flight.
 */
uint64_t k8s_reflector_tick(struct k8s_reflector *r, CURLM *multi,
			    uint64_t now_ms);

/** Its transfer, or NULL. */
CURL *k8s_reflector_handle(const struct k8s_reflector *r);

/**
 * Its transfer @p e finished with @p rc: remove it from @p multi, apply the
 * result and schedule the next step.
 */
void k8s_reflector_done(struct k8s_reflector *r, CURLM *multi, CURL *e,
			CURLcode rc, uint64_t now_ms);

/** True once its first LIST completed (or the collection is not served). */
bool k8s_reflector_synced(const struct k8s_reflector *r);

/** Resource name. */
const char *k8s_reflector_name(const struct k8s_reflector *r);

/**
 * Fill dict @p d with state, last_rv, reconnects, events, objects (how many
 * the store holds) and last_error. The caller must keep the control thread
 * off the store (control/telemetry.c holds the control lock).
 */
void k8s_reflector_status(struct k8s_reflector *r, struct rte_tel_data *d);

#endif /* KDP_K8S_REFLECTOR_H */
