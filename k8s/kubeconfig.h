/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Where the Kubernetes API server is and how to authenticate to it.
 *
 * Sources (calico-model.md §5): a kubeconfig file, the $KUBECONFIG list
 * (merged entry by entry, the first file defining a cluster, user or context
 * or current-context wins) falling back to ~/.kube/config, or the in-cluster
 * service-account files. Everything resolves to one struct k8s_conn; relative
 * paths in a kubeconfig are made absolute against that file's directory.
 * *-data fields are base64-decoded into memory (PEM blobs for libcurl).
 *
 * Not supported (rejected with a clear error or ignored with a warning):
 * exec credential plugins, auth-provider, username/password, proxy-url.
 *
 * Thread-safety: none needed; call from one thread.
 */
#ifndef KDP_K8S_KUBECONFIG_H
#define KDP_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

/** An owned memory blob (decoded *-data field). */
struct k8s_blob {
	char *data;
	size_t len;
};

struct k8s_conn {
	char *server;          /**< "https://host:port", no trailing '/' */
	char *ca_file;         /**< certificate-authority (absolute), or NULL */
	struct k8s_blob ca;    /**< certificate-authority-data, decoded */
	char *cert_file;       /**< client-certificate */
	struct k8s_blob cert;  /**< client-certificate-data */
	char *key_file;        /**< client-key */
	struct k8s_blob key;   /**< client-key-data */
	char *token;           /**< static bearer token (wins over token_file) */
	char *token_file;      /**< re-read periodically and on 401 */
	bool insecure;         /**< insecure-skip-tls-verify */
	char *tls_server_name; /**< name to verify the server cert against */
	char *ns;              /**< context namespace / in-cluster namespace */
	char *source;          /**< where this came from, for logs */
};

/**
 * Load one kubeconfig file (or, with @p n > 1, a merged list of them).
 * @param paths files in priority order; missing files are skipped unless
 *   none exists.
 * @param err filled with a human-readable reason on failure.
 * @return 0, -ENOENT (no file), -EINVAL (bad YAML, missing context, cluster,
 *   server, …), -ENOMEM.
 */
int k8s_kubeconfig_load_list(const char *const *paths, size_t n,
			     struct k8s_conn *out, char *err, size_t errlen);

/** Load a single kubeconfig file; see k8s_kubeconfig_load_list(). */
int k8s_kubeconfig_load(const char *path, struct k8s_conn *out, char *err,
			size_t errlen);

/**
 * The default kubeconfig: the ':'-separated $KUBECONFIG list if set and
 * non-empty, else $HOME/.kube/config.
 */
int k8s_kubeconfig_load_default(struct k8s_conn *out, char *err,
				size_t errlen);

/**
 * In-cluster config from @p host / @p port (KUBERNETES_SERVICE_HOST/PORT) and
 * the service-account directory @p sa_dir (token, ca.crt, namespace). IPv6
 * hosts are bracketed. Tests pass their own values; k8s_incluster_load() uses
 * the environment and /var/run/secrets/kubernetes.io/serviceaccount.
 */
int k8s_incluster_load_from(const char *host, const char *port,
			    const char *sa_dir, struct k8s_conn *out,
			    char *err, size_t errlen);
int k8s_incluster_load(struct k8s_conn *out, char *err, size_t errlen);

/** Free everything @p c owns and zero it. NULL is a no-op. */
void k8s_conn_clear(struct k8s_conn *c);

/**
 * Read a bearer token file, trimming surrounding whitespace.
 * @return a malloc'd string or NULL with errno (ENOENT, EINVAL for empty).
 */
char *k8s_read_token_file(const char *path);

/**
 * Decode standard base64 (whitespace ignored) into a new blob.
 * @return 0 or -EINVAL / -ENOMEM.
 */
int k8s_base64_decode(const char *in, struct k8s_blob *out);

#endif /* KDP_K8S_KUBECONFIG_H */
