/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "k8s/api_ds.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <rte_telemetry.h>

#include "control/model.h"
#include "dp/log.h"
#include "k8s/backoff.h"
#include "k8s/client.h"
#include "k8s/reflector.h"

#define CALICO_V1 "/apis/crd.projectcalico.org/v1/"
#define CALICO_V3 "/apis/projectcalico.org/v3/"
#define MAX_DISCOVERY_BODY (8u << 20)

/* Where each resource lives; calico kinds take the prefix from discovery. */
static const struct {
	enum ctl_res res;
	const char *name;
	const char *path;  /* full path for Kubernetes kinds */
	const char *plural; /* Calico kinds: under CALICO_V1 or CALICO_V3 */
} resources[] = {
	{CTL_RES_NODE, "nodes", "/api/v1/nodes", NULL},
	{CTL_RES_POD, "pods", "/api/v1/pods", NULL},
	{CTL_RES_NAMESPACE, "namespaces", "/api/v1/namespaces", NULL},
	{CTL_RES_SERVICEACCOUNT, "serviceaccounts", "/api/v1/serviceaccounts",
	 NULL},
	{CTL_RES_K8S_NETPOL, "networkpolicies.networking.k8s.io",
	 "/apis/networking.k8s.io/v1/networkpolicies", NULL},
	{CTL_RES_IPPOOL, "ippools", NULL, "ippools"},
	{CTL_RES_IPAMBLOCK, "ipamblocks", NULL, "ipamblocks"},
	{CTL_RES_BLOCKAFFINITY, "blockaffinities", NULL, "blockaffinities"},
	{CTL_RES_CALICO_NETPOL, "networkpolicies.projectcalico.org", NULL,
	 "networkpolicies"},
	{CTL_RES_GLOBAL_NETPOL, "globalnetworkpolicies", NULL,
	 "globalnetworkpolicies"},
	{CTL_RES_TIER, "tiers", NULL, "tiers"},
	{CTL_RES_NETWORKSET, "networksets", NULL, "networksets"},
	{CTL_RES_GLOBAL_NETWORKSET, "globalnetworksets", NULL,
	 "globalnetworksets"},
};
#define N_RES (sizeof(resources) / sizeof(resources[0]))

struct api_ds {
	struct ctl_ds ds;
	struct k8s_client *cl;
	CURLM *multi;
	/* Discovery (GET /apis) before any reflector exists. */
	CURL *disc;
	char disc_err[CURL_ERROR_SIZE];
	char *disc_body;
	size_t disc_len;
	uint64_t disc_due_ms;
	struct k8s_backoff disc_bo;
	const char *calico_prefix; /* NULL until discovery is done */
	struct k8s_reflector *refl[N_RES];
	pthread_mutex_t lock; /* guards calico_prefix/refl[] publication */
};

static size_t disc_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct api_ds *a = arg;
	size_t n = size * nmemb;
	char *nb;

	if (a->disc_len + n + 1 > MAX_DISCOVERY_BODY)
		return 0;
	nb = realloc(a->disc_body, a->disc_len + n + 1);
	if (nb == NULL)
		return 0;
	a->disc_body = nb;
	memcpy(nb + a->disc_len, p, n);
	a->disc_len += n;
	nb[a->disc_len] = '\0';
	return n;
}

/* Which Calico API group to read, from an APIGroupList body. */
static const char *pick_calico(const char *body, size_t len, bool *ok)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
	const cJSON *g;
	bool crd = false, v3 = false;

	*ok = cJSON_IsArray(groups);
	cJSON_ArrayForEach(g, groups)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(g, "name");

		if (!cJSON_IsString(n))
			continue;
		if (strcmp(n->valuestring, "crd.projectcalico.org") == 0)
			crd = true;
		else if (strcmp(n->valuestring, "projectcalico.org") == 0)
			v3 = true;
	}
	cJSON_Delete(root);
	return v3 && !crd ? CALICO_V3 : CALICO_V1;
}

static int make_reflectors(struct api_ds *a, const char *prefix)
{
	struct k8s_reflector *refl[N_RES] = {0};
	size_t i;

	for (i = 0; i < N_RES; i++) {
		char *path = NULL;

		if (resources[i].path != NULL)
			path = strdup(resources[i].path);
		else if (asprintf(&path, "%s%s", prefix,
				  resources[i].plural) < 0)
			path = NULL;
		if (path != NULL)
			refl[i] = k8s_reflector_create(
				a->cl, a->ds.store, resources[i].res,
				resources[i].name, path,
				((uint64_t)getpid() << 20) ^ k8s_now_ms() ^
					(i * 0x9e3779b97f4a7c15ull));
		free(path);
		if (refl[i] == NULL) {
			while (i-- > 0)
				k8s_reflector_free(refl[i]);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&a->lock);
	memcpy(a->refl, refl, sizeof(refl));
	a->calico_prefix = prefix;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void disc_done(struct api_ds *a, CURLcode rc, uint64_t now)
{
	struct k8s_status st = {0};
	const char *prefix;
	char cause[512];
	long http = 0;
	bool ok = false;

	curl_easy_getinfo(a->disc, CURLINFO_RESPONSE_CODE, &http);
	curl_multi_remove_handle(a->multi, a->disc);
	curl_easy_cleanup(a->disc);
	a->disc = NULL;
	if (rc == CURLE_OK && http == 200) {
		prefix = pick_calico(a->disc_body, a->disc_len, &ok);
		if (ok) {
			KDP_LOG(INFO, "k8s %s: Calico resources under %s",
				k8s_client_server(a->cl), prefix);
			if (make_reflectors(a, prefix) == 0)
				return;
			snprintf(cause, sizeof(cause), "out of memory");
		} else {
			snprintf(cause, sizeof(cause),
				 "GET /apis: not an APIGroupList");
		}
	} else {
		if (rc == CURLE_OK)
			k8s_status_parse(a->disc_body, a->disc_len, &st);
		if (rc == CURLE_OK && http == 401)
			k8s_client_auth_failed(a->cl);
		k8s_client_describe(rc, http, a->disc_err, &st, cause,
				    sizeof(cause));
	}
	a->disc_due_ms = now + k8s_backoff_next(&a->disc_bo, now);
	KDP_LOG(ERR, "k8s %s: API discovery failed: %s; retrying in %.1f s",
		k8s_client_server(a->cl), cause,
		(double)(a->disc_due_ms - now) / 1000.0);
}

/* Start what is due; return when something next wants attention. */
static uint64_t start_due(struct api_ds *a, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t i;

	if (a->calico_prefix == NULL) {
		if (a->disc != NULL)
			return UINT64_MAX;
		if (now < a->disc_due_ms)
			return a->disc_due_ms;
		a->disc_len = 0;
		a->disc = k8s_client_request(a->cl, "/apis", a->disc_err, now);
		if (a->disc != NULL) {
			curl_easy_setopt(a->disc, CURLOPT_WRITEFUNCTION,
					 disc_data);
			curl_easy_setopt(a->disc, CURLOPT_WRITEDATA, a);
			curl_easy_setopt(a->disc, CURLOPT_PRIVATE, NULL);
			curl_easy_setopt(a->disc, CURLOPT_TIMEOUT, 30L);
			if (curl_multi_add_handle(a->multi, a->disc) ==
			    CURLM_OK)
				return UINT64_MAX;
			curl_easy_cleanup(a->disc);
			a->disc = NULL;
		}
		a->disc_due_ms = now + k8s_backoff_next(&a->disc_bo, now);
		return a->disc_due_ms;
	}
	for (i = 0; i < N_RES; i++) {
		uint64_t t = k8s_reflector_tick(a->refl[i], a->multi, now);

		if (t < next)
			next = t;
	}
	return next;
}

static int api_poll(struct ctl_ds *ds, int timeout_ms)
{
	struct api_ds *a = ds->priv;
	uint64_t now = k8s_now_ms(), next;
	int wait = timeout_ms < 0 ? 0 : timeout_ms, running, left;
	CURLMsg *msg;
	CURLMcode mc;

	next = start_due(a, now);
	if (next != UINT64_MAX && next - now < (uint64_t)wait)
		wait = next <= now ? 0 : (int)(next - now);
	mc = curl_multi_poll(a->multi, NULL, 0, wait, NULL);
	if (mc == CURLM_OK)
		mc = curl_multi_perform(a->multi, &running);
	if (mc != CURLM_OK) {
		KDP_LOG(ERR, "k8s: curl multi: %s", curl_multi_strerror(mc));
		return -EIO;
	}
	now = k8s_now_ms();
	while ((msg = curl_multi_info_read(a->multi, &left)) != NULL) {
		struct k8s_reflector *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		if (msg->easy_handle == a->disc)
			disc_done(a, msg->data.result, now);
		else if (r != NULL)
			k8s_reflector_done(r, a->multi, msg->easy_handle,
					   msg->data.result, now);
	}
	start_due(a, now);
	return 0;
}

static bool api_synced(const struct ctl_ds *ds)
{
	const struct api_ds *a = ds->priv;
	size_t i;

	if (a->calico_prefix == NULL)
		return false;
	for (i = 0; i < N_RES; i++)
		if (!k8s_reflector_synced(a->refl[i]))
			return false;
	return true;
}

/*
 * Telemetry dict keys may hold only alphanumerics, '_' and '/': the two
 * "networkpolicies.<group>" names would be rejected (and vanish) as they are.
 */
static void tel_key(char *out, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i + 1 < n && name[i] != '\0'; i++)
		out[i] = isalnum((unsigned char)name[i]) || name[i] == '/'
				 ? name[i]
				 : '_';
	out[i] = '\0';
}

static void api_status(struct ctl_ds *ds, struct rte_tel_data *d)
{
	struct api_ds *a = ds->priv;
	size_t i;

	/* "synced" itself is added by the caller (control/telemetry.c). */
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "type", "kubernetes");
	rte_tel_data_add_dict_string(d, "server", k8s_client_server(a->cl));
	pthread_mutex_lock(&a->lock);
	rte_tel_data_add_dict_string(d, "calico_api",
				     a->calico_prefix ? a->calico_prefix
						      : "discovering");
	for (i = 0; a->calico_prefix != NULL && i < N_RES; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		char key[64];

		if (c == NULL)
			break;
		k8s_reflector_status(a->refl[i], c);
		tel_key(key, sizeof(key), k8s_reflector_name(a->refl[i]));
		if (rte_tel_data_add_dict_container(d, key, c, 0) != 0)
			rte_tel_data_free(c);
	}
	pthread_mutex_unlock(&a->lock);
}

static void api_destroy(struct ctl_ds *ds)
{
	struct api_ds *a;
	size_t i;

	if (ds == NULL)
		return;
	a = ds->priv;
	for (i = 0; i < N_RES; i++) {
		CURL *e = a->refl[i] ? k8s_reflector_handle(a->refl[i]) : NULL;

		if (e != NULL)
			curl_multi_remove_handle(a->multi, e);
		k8s_reflector_free(a->refl[i]);
	}
	if (a->disc != NULL) {
		curl_multi_remove_handle(a->multi, a->disc);
		curl_easy_cleanup(a->disc);
	}
	curl_multi_cleanup(a->multi);
	k8s_client_free(a->cl);
	free(a->disc_body);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static const struct ctl_ds_ops api_ops = {
	.type = "kubernetes",
	.poll = api_poll,
	.synced = api_synced,
	.status = api_status,
	.destroy = api_destroy,
};

struct ctl_ds *k8s_api_ds_create(const struct k8s_api_conf *conf,
				 struct ctl_store *st)
{
	enum k8s_api_source src = conf->source;
	struct k8s_conn conn;
	struct api_ds *a;
	char err[512] = "";
	int rc;

	if (src == K8S_API_KUBECONFIG && conf->kubeconfig == NULL)
		src = K8S_API_INCLUSTER;
	if (src == K8S_API_KUBECONFIG)
		rc = k8s_kubeconfig_load(conf->kubeconfig, &conn, err,
					 sizeof(err));
	else if (src == K8S_API_INCLUSTER)
		rc = k8s_incluster_load(&conn, err, sizeof(err));
	else
		rc = k8s_kubeconfig_load_default(&conn, err, sizeof(err));
	if (rc < 0) {
		KDP_LOG(ERR, "k8s: cannot load the API configuration: %s",
			err[0] ? err : strerror(-rc));
		errno = -rc;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		k8s_conn_clear(&conn);
		errno = EIO;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		k8s_conn_clear(&conn);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	KDP_LOG(INFO, "k8s: API server %s from %s", conn.server, conn.source);
	a->cl = k8s_client_create(&conn);
	a->multi = curl_multi_init();
	if (a->cl == NULL || a->multi == NULL) {
		a->ds.priv = a;
		api_destroy(&a->ds);
		errno = ENOMEM;
		return NULL;
	}
	k8s_backoff_init(&a->disc_bo, (uint64_t)getpid() ^ k8s_now_ms());
	a->ds.ops = &api_ops;
	a->ds.store = st;
	a->ds.priv = a;
	return &a->ds;
}
