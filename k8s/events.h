/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Decoding of Kubernetes LIST pages, watch events and Status bodies, and
 * their application to the store (calico-model.md §1.0, §5).
 *
 * These are pure functions of their input plus store calls, so the reflector
 * keeps only the protocol state machine and the tests can drive the decoding
 * with a recording store.
 *
 * Thread-safety: control thread only (they call the store).
 */
#ifndef KDP_K8S_EVENTS_H
#define KDP_K8S_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "control/model.h"

struct ctl_store;

#define K8S_RV_MAX 128

enum k8s_ev_type {
	K8S_EV_ADDED,
	K8S_EV_MODIFIED,
	K8S_EV_DELETED,
	K8S_EV_BOOKMARK,
	K8S_EV_ERROR,
};

/** A Kubernetes Status object (error body or ERROR event). */
struct k8s_status {
	int code;         /**< HTTP-like code, 0 if absent */
	char reason[64];  /**< "Expired", "Gone", "NotFound", … */
	char message[256];
};

struct k8s_event {
	enum k8s_ev_type type;
	char rv[K8S_RV_MAX]; /**< object's metadata.resourceVersion or "" */
	struct k8s_status status; /**< for K8S_EV_ERROR */
	/** ADDED/MODIFIED: the store rejected the object (it logged why). */
	bool rejected;
	char obj[192]; /**< "kind ns/name" of the object, for error reports */
};

/**
 * Decode one watch line and apply it: ADDED/MODIFIED → ctl_store_upsert,
 * DELETED → ctl_store_delete; BOOKMARK and ERROR only fill @p ev.
 * @param what resource name for log lines ("pods").
 * @return 0 when decoded (applied or described in @p ev), -EINVAL for a
 *   malformed event (logged with kind/ns/name/reason and skipped).
 */
int k8s_event_apply(struct ctl_store *st, enum ctl_res res, const char *what,
		    const char *line, size_t len, struct k8s_event *ev);

struct k8s_list_page {
	char *cont;          /**< metadata.continue or NULL when last page */
	char rv[K8S_RV_MAX]; /**< metadata.resourceVersion */
	size_t n_items;      /**< items upserted */
	size_t n_bad;        /**< items skipped or rejected */
};

/**
 * Parse one LIST page and upsert each item (with kind/apiVersion filled in
 * from the list when the item lacks them). The caller brackets the whole
 * list with ctl_store_resync_begin/end.
 * @return 0, -EINVAL when the body is not a List (nothing applied), -ENOMEM.
 *   Free page->cont with free().
 */
int k8s_list_apply(struct ctl_store *st, enum ctl_res res, const char *what,
		   const char *body, size_t len, struct k8s_list_page *page);

/** Parse a Status body; fields stay zero/empty when absent or not JSON. */
void k8s_status_parse(const char *body, size_t len, struct k8s_status *s);

/**
 * True when a list/watch must restart from a fresh list: 410 Gone/Expired,
 * or "Too large resource version" (client-go IsTooLargeResourceVersion).
 */
bool k8s_status_is_expired(const struct k8s_status *s);

#endif /* KDP_K8S_EVENTS_H */
