/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Blocking Kubernetes API calls for a short-lived process, on top of kdp's
 * own client (k8s/client.h: TLS, client certificates, tokens).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/client.h"
#include "k8s/cni/cni.h"
#include "k8s/jsonkeys.h"
#include "k8s/kubeconfig.h"

/* No single call may hang the kubelet's sandbox creation for long. */
#define CNI_API_TIMEOUT_MS 15000L

struct cni_api {
	struct k8s_client *cl;
};

struct buf {
	char *data;
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	char *d = realloc(b->data, b->len + sz * n + 1);

	if (d == NULL)
		return 0;
	memcpy(d + b->len, p, sz * n);
	b->len += sz * n;
	d[b->len] = '\0';
	b->data = d;
	return sz * n;
}

struct cni_api *cni_api_open(const char *kubeconfig, char *err, size_t errlen)
{
	struct k8s_conn conn = { 0 };
	struct cni_api *a;
	int rc;

	if (kubeconfig != NULL)
		rc = k8s_kubeconfig_load(kubeconfig, &conn, err, errlen);
	else {
		rc = k8s_kubeconfig_load_default(&conn, err, errlen);
		if (rc == -ENOENT)
			rc = k8s_incluster_load(&conn, err, errlen);
	}
	if (rc < 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		k8s_conn_clear(&conn);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cl = k8s_client_create(&conn);
	if (a->cl == NULL) {
		snprintf(err, errlen, "API client: %s", strerror(errno));
		free(a);
		return NULL;
	}
	return a;
}

void cni_api_free(struct cni_api *a)
{
	if (a == NULL)
		return;
	k8s_client_free(a->cl);
	free(a);
}

static int perform(struct cni_api *a, const char *method, const char *path,
		   const char *ctype, const char *body, long *http,
		   struct buf *out, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE];
	CURLcode cc;
	CURL *e;

	if (strcmp(method, "GET") == 0)
		e = k8s_client_request(a->cl, path, errbuf, k8s_now_ms());
	else
		e = k8s_client_request_body(a->cl, method, path, ctype, body,
					    errbuf, k8s_now_ms());
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, CNI_API_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
	curl_easy_cleanup(e);
	if (cc != CURLE_OK) {
		k8s_client_describe(cc, 0, errbuf, NULL, err, errlen);
		return -EIO;
	}
	return 0;
}

int cni_api_call(struct cni_api *a, const char *method, const char *path,
		 const char *ctype, const cJSON *body, long *http,
		 cJSON **resp, char *err, size_t errlen)
{
	/* Answers are read by k8s_json_parse(): U+0000 in a string is U+FDD0
	 * here, not a shortened string. An object read so (an IPAM block
	 * someone gave such a handle) must not go back with U+FDD0 in its
	 * place: refuse to write it. */
	const char *nul = k8s_json_nul_key(body);
	struct buf out = { 0 };
	char *text;
	int rc;

	*resp = NULL;
	if (nul != NULL) {
		snprintf(err, errlen, "%s %s: the object holds U+0000 (or "
			 "U+FDD0) at key \"%.64s\"; not written", method, path,
			 nul);
		return -EPROTO;
	}
	text = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body != NULL && text == NULL)
		return -ENOMEM;
	rc = perform(a, method, path, ctype, text, http, &out, err, errlen);
	if (rc == 0 && *http == 401) {
		/* A rotated service-account token: read it again, once. */
		k8s_client_auth_failed(a->cl);
		free(out.data);
		out = (struct buf){ 0 };
		rc = perform(a, method, path, ctype, text, http, &out, err,
			     errlen);
	}
	if (rc == 0 && out.data != NULL)
		*resp = k8s_json_parse(out.data, out.len, NULL);
	free(out.data);
	free(text);
	return rc;
}

int cni_api_merge_patch(struct cni_api *a, const char *path,
			const cJSON *patch, char *err, size_t errlen)
{
	cJSON *resp = NULL;
	long http = 0;
	int rc;

	rc = cni_api_call(a, "PATCH", path, "application/merge-patch+json",
			  patch, &http, &resp, err, errlen);
	if (rc == 0 && http != 200) {
		cni_api_describe(http, resp, err, errlen);
		rc = -EPROTO;
	}
	cJSON_Delete(resp);
	return rc;
}

void cni_api_describe(long http, const cJSON *resp, char *out, size_t n)
{
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(resp, "reason");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(resp, "message");

	snprintf(out, n, "HTTP %ld%s%s%s%s", http,
		 cJSON_IsString(reason) ? " " : "",
		 cJSON_IsString(reason) ? reason->valuestring : "",
		 cJSON_IsString(msg) ? ": " : "",
		 cJSON_IsString(msg) ? msg->valuestring : "");
}
