/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The root-only Unix socket of the pod-port API (PODAPI.md): one JSON
 * request per connection, one JSON answer.
 *
 * The server runs inside the control thread, with no thread of its own:
 * ctl_api_poll() accepts without blocking and serves at most
 * CTL_API_PER_POLL connections per call, so a flood of clients cannot starve
 * the control loop. Reading a request takes CTL_API_READ_MS at most, however
 * slowly the client writes (requests are one small JSON object, written at
 * once by the CNI plugin and kdp-ctl), and writing its answer as long at
 * most: that bounds the stall of one control step.
 * Handlers run on the control thread and may therefore change ports and
 * publish tables directly.
 *
 * Access: the socket is 0600 in a 0700 directory, and every peer's
 * SO_PEERCRED uid must be 0; other peers get an error answer.
 *
 * Thread-safety: control thread only.
 */
#ifndef KDP_CONTROL_API_H
#define KDP_CONTROL_API_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct ctl_api;

#define CTL_API_PER_POLL 4
#define CTL_API_READ_MS 200
#define CTL_API_MAX_REQ 65536 /**< bytes; longer requests are refused */

/**
 * Handle one request. Return the answer (freed by the server), or NULL for
 * out of memory.
 */
typedef cJSON *(*ctl_api_handler)(void *arg, const cJSON *req);

/**
 * Listen on @p path: its directory is created 0700 when missing; a stale
 * socket file is replaced. @return the server, or NULL with a message in
 * @p err (-EADDRINUSE in errno when a live server already answers there).
 */
struct ctl_api *ctl_api_create(const char *path, ctl_api_handler h, void *arg,
			       char *err, size_t errlen);

/** Serve the pending connections (bounded, see above). */
void ctl_api_poll(struct ctl_api *a);

/** Close and unlink the socket. NULL is a no-op. */
void ctl_api_free(struct ctl_api *a);

/** An error answer {"ok":false,"error":msg}. */
cJSON *ctl_api_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif /* KDP_CONTROL_API_H */
