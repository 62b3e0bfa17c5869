/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "k8s/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp/log.h"

#define K8S_CLIENT_CTYPES 4

struct k8s_client {
	struct k8s_conn conn;
	char *token;           /* current bearer token, or NULL */
	uint64_t token_read_ms; /* when token_file was last read */
	bool token_stale;      /* re-read before the next request */
	char *url_base;        /* scheme://host:port used in URLs */
	char *connect_to;      /* CURLOPT_CONNECT_TO entry, or NULL */
	struct curl_slist *headers;
	struct curl_slist *connect_list;
	/* The common headers plus one Content-Type each, built on first use:
	 * a handle only borrows its header list, so the lists live here. */
	struct {
		char *ctype;
		struct curl_slist *headers;
	} body_headers[K8S_CLIENT_CTYPES];
};

uint64_t k8s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Split "https://host:port" into host (brackets kept) and port. */
static int split_server(const char *server, char **scheme, char **host,
			char **port)
{
	const char *p = strstr(server, "://"), *h, *colon;

	if (p == NULL)
		return -EINVAL;
	*scheme = strndup(server, (size_t)(p - server));
	h = p + 3;
	if (*h == '[') {
		const char *rb = strchr(h, ']');

		if (rb == NULL)
			return -EINVAL;
		colon = rb[1] == ':' ? rb + 1 : NULL;
		*host = strndup(h, (size_t)(rb + 1 - h));
	} else {
		colon = strchr(h, ':');
		*host = colon ? strndup(h, (size_t)(colon - h))
			      : strndup(h, strcspn(h, "/"));
	}
	if (colon != NULL)
		*port = strndup(colon + 1, strcspn(colon + 1, "/"));
	else
		*port = strdup(strcmp(*scheme, "http") == 0 ? "80" : "443");
	return *scheme && *host && *port ? 0 : -ENOMEM;
}

static int setup_tls_name(struct k8s_client *cl)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *hdr = NULL;
	int rc;

	rc = split_server(cl->conn.server, &scheme, &host, &port);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	if (asprintf(&cl->url_base, "%s://%s:%s", scheme,
		     cl->conn.tls_server_name, port) < 0) {
		cl->url_base = NULL;
		goto out;
	}
	if (asprintf(&cl->connect_to, "%s:%s:%s:%s", cl->conn.tls_server_name,
		     port, host, port) < 0) {
		cl->connect_to = NULL;
		goto out;
	}
	if (asprintf(&hdr, "Host: %s:%s", host, port) < 0) {
		hdr = NULL;
		goto out;
	}
	cl->connect_list = curl_slist_append(NULL, cl->connect_to);
	if (cl->connect_list == NULL)
		goto out;
	cl->headers = curl_slist_append(cl->headers, hdr);
	rc = cl->headers ? 0 : -ENOMEM;
out:
	free(scheme);
	free(host);
	free(port);
	free(hdr);
	return rc;
}

struct k8s_client *k8s_client_create(struct k8s_conn *conn)
{
	struct k8s_client *cl = calloc(1, sizeof(*cl));
	int rc = -ENOMEM;

	if (cl == NULL) {
		k8s_conn_clear(conn);
		errno = ENOMEM;
		return NULL;
	}
	cl->conn = *conn;
	memset(conn, 0, sizeof(*conn));
	cl->headers = curl_slist_append(NULL, "Accept: application/json");
	if (cl->headers == NULL)
		goto fail;
	if (cl->conn.tls_server_name != NULL &&
	    cl->conn.tls_server_name[0] != '\0') {
		rc = setup_tls_name(cl);
		if (rc < 0)
			goto fail;
	} else {
		cl->url_base = strdup(cl->conn.server);
		if (cl->url_base == NULL)
			goto fail;
	}
	if (cl->conn.token != NULL) {
		cl->token = strdup(cl->conn.token);
		if (cl->token == NULL)
			goto fail;
	} else if (cl->conn.token_file != NULL) {
		cl->token_stale = true;
	}
	if (cl->conn.insecure)
		KDP_LOG(WARNING,
			"k8s %s: insecure-skip-tls-verify set: the API server "
			"certificate is NOT verified",
			cl->conn.server);
	return cl;
fail:
	k8s_client_free(cl);
	errno = -rc;
	return NULL;
}

void k8s_client_free(struct k8s_client *cl)
{
	if (cl == NULL)
		return;
	k8s_conn_clear(&cl->conn);
	free(cl->token);
	free(cl->url_base);
	free(cl->connect_to);
	curl_slist_free_all(cl->headers);
	curl_slist_free_all(cl->connect_list);
	for (size_t i = 0; i < K8S_CLIENT_CTYPES; i++) {
		free(cl->body_headers[i].ctype);
		curl_slist_free_all(cl->body_headers[i].headers);
	}
	free(cl);
}

const char *k8s_client_server(const struct k8s_client *cl)
{
	return cl->conn.server;
}

void k8s_client_auth_failed(struct k8s_client *cl)
{
	if (cl->conn.token_file != NULL)
		cl->token_stale = true;
}

static void refresh_token(struct k8s_client *cl, uint64_t now_ms)
{
	char *t;

	if (cl->conn.token_file == NULL)
		return;
	if (!cl->token_stale && cl->token != NULL &&
	    now_ms - cl->token_read_ms < K8S_TOKEN_REFRESH_MS)
		return;
	cl->token_read_ms = now_ms;
	cl->token_stale = false;
	t = k8s_read_token_file(cl->conn.token_file);
	if (t == NULL) {
		/* Keep the old token: a rotation may be in progress. */
		KDP_LOG(ERR, "k8s %s: cannot read token file %s: %s",
			cl->conn.server, cl->conn.token_file, strerror(errno));
		return;
	}
	free(cl->token);
	cl->token = t;
}

static void set_blob(CURL *e, CURLoption opt, const struct k8s_blob *b)
{
	struct curl_blob blob = {
		.data = b->data,
		.len = b->len,
		.flags = CURL_BLOB_COPY,
	};

	curl_easy_setopt(e, opt, &blob);
}

CURL *k8s_client_request(struct k8s_client *cl, const char *path_query,
			 char *errbuf, uint64_t now_ms)
{
	const struct k8s_conn *c = &cl->conn;
	char *url = NULL;
	CURL *e;

	refresh_token(cl, now_ms);
	if (asprintf(&url, "%s%s", cl->url_base, path_query) < 0)
		return NULL;
	e = curl_easy_init();
	if (e == NULL) {
		free(url);
		return NULL;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, cl->headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kdp/0.1");
	if (cl->connect_list != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, cl->connect_list);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca.data != NULL || c->ca_file != NULL) {
		/* Trust only the cluster CA. */
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
		if (c->ca.data != NULL)
			set_blob(e, CURLOPT_CAINFO_BLOB, &c->ca);
		else
			curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert.data != NULL)
		set_blob(e, CURLOPT_SSLCERT_BLOB, &c->cert);
	else if (c->cert_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	if (c->key.data != NULL)
		set_blob(e, CURLOPT_SSLKEY_BLOB, &c->key);
	else if (c->key_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	if (cl->token != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, cl->token);
	}
	return e;
}

/* The header list for @p ctype, or NULL when out of memory or slots. */
static struct curl_slist *headers_for(struct k8s_client *cl, const char *ctype)
{
	struct curl_slist *h = NULL, *it;
	char *line = NULL;
	size_t i;

	for (i = 0; i < K8S_CLIENT_CTYPES && cl->body_headers[i].ctype; i++)
		if (strcmp(cl->body_headers[i].ctype, ctype) == 0)
			return cl->body_headers[i].headers;
	if (i == K8S_CLIENT_CTYPES)
		return NULL;
	for (it = cl->headers; it != NULL; it = it->next) {
		struct curl_slist *n = curl_slist_append(h, it->data);

		if (n == NULL)
			goto fail;
		h = n;
	}
	if (asprintf(&line, "Content-Type: %s", ctype) < 0) {
		line = NULL;
		goto fail;
	}
	it = curl_slist_append(h, line);
	if (it == NULL)
		goto fail;
	h = it;
	cl->body_headers[i].ctype = strdup(ctype);
	if (cl->body_headers[i].ctype == NULL)
		goto fail;
	cl->body_headers[i].headers = h;
	free(line);
	return h;
fail:
	free(line);
	curl_slist_free_all(h);
	return NULL;
}

CURL *k8s_client_request_body(struct k8s_client *cl, const char *method,
			      const char *path_query, const char *content_type,
			      const char *body, char *errbuf, uint64_t now_ms)
{
	struct curl_slist *h;
	CURL *e;

	h = headers_for(cl, content_type ? content_type : "application/json");
	if (h == NULL)
		return NULL;
	e = k8s_client_request(cl, path_query, errbuf, now_ms);
	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
	}
	return e;
}

void k8s_client_describe(CURLcode rc, long http, const char *errbuf,
			 const struct k8s_status *st, char *out, size_t n)
{
	const char *detail = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc);
	const char *msg = st && st->message[0] ? st->message : "";

	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(out, n,
			 "server certificate not trusted (wrong CA or "
			 "tls-server-name?): %s",
			 detail);
		return;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(out, n, "cannot load the CA certificate: %s", detail);
		return;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
		snprintf(out, n, "client certificate/key problem: %s", detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	/* Under TLS 1.3 a refused client certificate is told after the
	 * client's side of the handshake: a server that closes at once can
	 * reset the connection before the alert is read, and the request's
	 * send or the wait for its answer is what fails. */
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		snprintf(out, n,
			 "TLS/connection failure (client certificate "
			 "rejected?): %s",
			 detail);
		return;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(out, n, "cannot reach the server: %s", detail);
		return;
	default:
		snprintf(out, n, "transfer failed: %s", detail);
		return;
	}
	switch (http) {
	case 401:
		snprintf(out, n,
			 "unauthorized (401): bad or expired token or client "
			 "certificate%s%s",
			 msg[0] ? ": " : "", msg);
		break;
	case 403:
		snprintf(out, n, "forbidden (403): RBAC denies access%s%s",
			 msg[0] ? ": " : "", msg);
		break;
	default:
		snprintf(out, n, "HTTP %ld%s%s%s%s", http,
			 st && st->reason[0] ? " " : "", st ? st->reason : "",
			 msg[0] ? ": " : "", msg);
		break;
	}
}
