/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * HTTP requests to one Kubernetes API server with libcurl (easy handles that
 * the caller drives through its own multi handle).
 *
 * TLS: verification is on unless the config says insecure-skip-tls-verify.
 * When a CA is given only that CA is trusted (the system store is not
 * consulted, as in client-go). *-data fields go in as memory blobs.
 *
 * tls-server-name: libcurl 7.88 has no option to set the SNI/verification
 * name separately from the URL host. The request URL therefore uses the
 * tls-server-name as its host, CURLOPT_CONNECT_TO sends the connection to the
 * real server host:port, and the Host header keeps the real server's name.
 * The certificate is thus checked against tls-server-name, like client-go.
 *
 * Tokens: a static token is used as is; a token file (kubeconfig tokenFile or
 * the in-cluster service-account token) is re-read at least every 60 s and
 * right after a 401, since projected tokens rotate.
 *
 * Thread-safety: control thread only.
 */
#ifndef KDP_K8S_CLIENT_H
#define KDP_K8S_CLIENT_H

#include <stdint.h>

#include <curl/curl.h>

#include "k8s/events.h"
#include "k8s/kubeconfig.h"

struct k8s_client;

/** Token files are re-read at least this often. */
#define K8S_TOKEN_REFRESH_MS 60000u

/**
 * Create a client for @p conn, which is moved in (zeroed on return, also on
 * failure). NULL with errno.
 */
struct k8s_client *k8s_client_create(struct k8s_conn *conn);

/** NULL is a no-op. Every handle from k8s_client_request must be gone. */
void k8s_client_free(struct k8s_client *cl);

/**
 * A configured GET of @p path_query (starting with '/'). @p errbuf
 * (CURL_ERROR_SIZE bytes) must live as long as the handle.
 * @return an easy handle the caller adds to its multi handle, or NULL.
 */
CURL *k8s_client_request(struct k8s_client *cl, const char *path_query,
			 char *errbuf, uint64_t now_ms);

/**
 * Like k8s_client_request() but for a write: @p method ("PUT", "POST",
 * "PATCH", "DELETE") with @p body (copied; NULL for none) sent as
 * @p content_type (NULL: application/json).
 * @return an easy handle, or NULL.
 */
CURL *k8s_client_request_body(struct k8s_client *cl, const char *method,
			      const char *path_query, const char *content_type,
			      const char *body, char *errbuf, uint64_t now_ms);

/** A 401 came back: re-read the token file before the next request. */
void k8s_client_auth_failed(struct k8s_client *cl);

/** "https://host:port" for log lines. */
const char *k8s_client_server(const struct k8s_client *cl);

/**
 * A one-line cause for a failed transfer: curl error @p rc (with its error
 * buffer), else HTTP status @p http with the Status body @p st.
 */
void k8s_client_describe(CURLcode rc, long http, const char *errbuf,
			 const struct k8s_status *st, char *out, size_t n);

/** Monotonic milliseconds. */
uint64_t k8s_now_ms(void);

#endif /* KDP_K8S_CLIENT_H */
