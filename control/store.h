/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The desired-state store: every object a datastore delivered, decoded.
 *
 * Datastores (the file datastore, the Kubernetes API datastore) feed it through
 * one narrow interface: upsert an object, delete an object, and bracket a full
 * (re)list with resync_begin/resync_end so that objects missing from the new
 * list are deleted. Each object is kept both as its raw cJSON (for kinds that
 * later modules decode themselves, e.g. policies) and, for the kinds in
 * control/model.h, decoded.
 *
 * A bad object is rejected with a log line naming its kind, namespace, name
 * and the reason; the previous version of that object stays in force.
 *
 * Every accepted change bumps ctl_store_generation(), which the control loop
 * uses to decide when to recompile.
 *
 * Thread-safety: control thread only.
 */
#ifndef KDP_CONTROL_STORE_H
#define KDP_CONTROL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "control/model.h"

struct ctl_store;

/** Create an empty store. NULL with errno on allocation failure. */
struct ctl_store *ctl_store_create(void);
/** Free the store and every object in it. NULL is a no-op. */
void ctl_store_free(struct ctl_store *st);

/**
 * Insert or replace an object. @p obj is not consumed; the store keeps its own
 * copy. The object's identity is metadata.namespace + metadata.name.
 * @return 0 when stored (or unchanged), -EINVAL when the object was rejected
 *   (logged; the old version, if any, stays).
 */
int ctl_store_upsert(struct ctl_store *st, enum ctl_res res, const cJSON *obj);

/**
 * Deliver again, during a relist, an object the caller has upserted before
 * and kept alive and unmodified since (the file datastore keeps unchanged
 * files parsed): when the store's version of that identity was last
 * delivered from this very @p obj it is marked seen, with no comparison.
 * Only an optimisation: the caller must upsert @p obj when it returns false.
 * @return true when nothing else is needed.
 */
bool ctl_store_redeliver(struct ctl_store *st, enum ctl_res res,
			 const cJSON *obj);

/**
 * Delete an object by identity (@p ns is NULL or "" for cluster-scoped kinds).
 * @return 0, or -ENOENT when it was not there.
 */
int ctl_store_delete(struct ctl_store *st, enum ctl_res res, const char *ns,
		     const char *name);

/** Start a full listing of @p res: every object is marked unseen. */
void ctl_store_resync_begin(struct ctl_store *st, enum ctl_res res);
/** End it: objects of @p res not upserted since resync_begin are deleted. */
void ctl_store_resync_end(struct ctl_store *st, enum ctl_res res);

/** Monotonic counter bumped by every accepted change. */
uint64_t ctl_store_generation(const struct ctl_store *st);

/**
 * Counter bumped by every accepted change to an object of @p res: compile
 * reuses what it built from kinds that did not change.
 */
uint64_t ctl_store_kind_generation(const struct ctl_store *st,
				   enum ctl_res res);

/** Number of objects of a kind. */
size_t ctl_store_count(const struct ctl_store *st, enum ctl_res res);

/**
 * Look up one object. @return the decoded object (struct ctl_node * for
 * CTL_RES_NODE, …; for kinds with no decoder in model.h the raw cJSON), or NULL.
 */
const void *ctl_store_get(const struct ctl_store *st, enum ctl_res res,
			  const char *ns, const char *name);

/** The raw object as last accepted, or NULL. */
const cJSON *ctl_store_get_raw(const struct ctl_store *st, enum ctl_res res,
			       const char *ns, const char *name);

/**
 * Visit every object of a kind in an unspecified order. @p fn gets the decoded
 * object (or raw cJSON for undecoded kinds) and the raw object; iteration stops
 * when it returns non-zero, which is then returned.
 */
typedef int (*ctl_store_visit_fn)(void *arg, const void *decoded,
				  const cJSON *raw);
int ctl_store_foreach(const struct ctl_store *st, enum ctl_res res,
		      ctl_store_visit_fn fn, void *arg);

/**
 * Visit the decoded Pods whose spec.nodeName is @p node (struct ctl_pod),
 * in an unspecified order, like ctl_store_foreach(). Pods kept raw (stored
 * before the kind had a decoder) are not visited.
 */
int ctl_store_foreach_pod_on_node(const struct ctl_store *st,
				  const char *node, ctl_store_visit_fn fn,
				  void *arg);

/**
 * A decoder for one kind: turn @p obj into a freshly allocated decoded object,
 * or return NULL and write a reason into @p err.
 */
typedef void *(*ctl_decode_fn)(const cJSON *obj, char *err, size_t errlen);
typedef void (*ctl_decoded_free_fn)(void *decoded);

/**
 * Register (or replace) the decoder of a kind. A new store has none; the
 * model kinds' decoders are registered by k8s_decode_register() (k8s/decode.h)
 * and later modules (policy) register theirs for the kinds they consume.
 * Kinds without a decoder are kept raw. Objects already in the store are not
 * re-decoded.
 */
void ctl_store_set_decoder(struct ctl_store *st, enum ctl_res res,
			   ctl_decode_fn decode, ctl_decoded_free_fn free_fn);

#endif /* KDP_CONTROL_STORE_H */
