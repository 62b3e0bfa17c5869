/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The datastore interface: how cluster state reaches the store.
 *
 * A datastore runs inside the control thread. The control loop calls
 * ops->poll() with a timeout; the datastore waits at most that long for input
 * (inotify, sockets), applies what arrived to the store with
 * ctl_store_upsert/delete/resync_*, and returns. Nothing is published until
 * ops->synced() is true (every resource loaded completely once).
 *
 * Implementations: k8s/file_ds.c ("file"), k8s/api_ds.c ("kubernetes").
 */
#ifndef KDP_CONTROL_DS_H
#define KDP_CONTROL_DS_H

#include <stdbool.h>

struct ctl_store;
struct ctl_ds;
struct rte_tel_data;

struct ctl_ds_ops {
	const char *type;
	/** Wait up to @p timeout_ms for input and apply it. 0 or -errno. */
	int (*poll)(struct ctl_ds *ds, int timeout_ms);
	/** True once every resource has completed its first full load. */
	bool (*synced)(const struct ctl_ds *ds);
	/**
	 * Fill /kdp/datastore (a dict). Called from the telemetry thread: the
	 * implementation guards what it reads. May be NULL.
	 */
	void (*status)(struct ctl_ds *ds, struct rte_tel_data *d);
	/** Stop and free. */
	void (*destroy)(struct ctl_ds *ds);
};

struct ctl_ds {
	const struct ctl_ds_ops *ops;
	struct ctl_store *store;
	void *priv;
};

/** File datastore over directory @p dir (k8s/file_ds.c). NULL + errno. */
struct ctl_ds *k8s_file_ds_create(const char *dir, struct ctl_store *st);

#endif /* KDP_CONTROL_DS_H */
