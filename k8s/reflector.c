/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include "k8s/reflector.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "control/store.h"
#include "dp/log.h"
#include "k8s/backoff.h"
#include "k8s/client.h"
#include "k8s/events.h"
#include "k8s/linesplit.h"

/* Bounds on what a broken or hostile server can make us buffer. */
#define MAX_BODY (512u << 20)
#define MAX_EVENT_LINE (64u << 20)
#define LIST_LIMIT 500
#define WATCH_MIN_S 300
#define WATCH_MAX_S 600
/* A watch that ends this fast without events is treated as a failure. */
#define WATCH_MIN_LIFE_MS 1000u
/* Repeat an identical error log line at most this often. */
#define ERR_LOG_EVERY_MS 60000u

enum refl_state {
	RS_WAIT_LIST,
	RS_LISTING,
	RS_WAIT_WATCH,
	RS_WATCHING,
};

static const char *const state_names[] = {
	[RS_WAIT_LIST] = "wait-list",
	[RS_LISTING] = "listing",
	[RS_WAIT_WATCH] = "wait-watch",
	[RS_WATCHING] = "watching",
};

/* Which resourceVersion the next LIST asks for. */
enum list_rv {
	LRV_ANY,        /* "0": from the watch cache (first list) */
	LRV_LAST,       /* lastRV (after a 410 on the watch) */
	LRV_CONSISTENT, /* unset: quorum read */
	LRV_FULL,       /* unset and unpaged (after a continue token expired) */
};

struct k8s_reflector {
	struct k8s_client *cl;
	struct ctl_store *st;
	enum ctl_res res;
	char *name;
	char *path;

	enum refl_state state;
	uint64_t due_ms;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct k8s_backoff bo;

	/* Response body (LIST page or error Status). */
	char *body;
	size_t body_len, body_cap;
	bool body_too_big;

	/* LIST */
	enum list_rv list_rv;
	char *cont;
	bool resync_open;
	bool absent; /* last list said 404 */
	size_t list_bad; /* items rejected in the list being read */

	/* WATCH */
	struct k8s_linesplit ls;
	uint64_t watch_start_ms;
	uint64_t watch_events;
	bool watch_expired;           /* ERROR 410 seen: relist */
	bool watch_failed;            /* other ERROR event seen */
	struct k8s_status watch_status;

	uint64_t err_logged_ms;

	/* Read by the telemetry thread: written under lock. */
	pthread_mutex_t lock;
	bool synced;
	char last_rv[K8S_RV_MAX];
	uint64_t reconnects;
	uint64_t events;
	char last_error[256];
};

struct k8s_reflector *k8s_reflector_create(struct k8s_client *cl,
					   struct ctl_store *st,
					   enum ctl_res res, const char *name,
					   const char *path, uint64_t seed)
{
	struct k8s_reflector *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->cl = cl;
	r->st = st;
	r->res = res;
	r->name = strdup(name);
	r->path = strdup(path);
	if (r->name == NULL || r->path == NULL) {
		k8s_reflector_free(r);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	k8s_backoff_init(&r->bo, seed);
	k8s_linesplit_init(&r->ls, MAX_EVENT_LINE);
	r->state = RS_WAIT_LIST;
	r->list_rv = LRV_ANY;
	return r;
}

void k8s_reflector_free(struct k8s_reflector *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	if (r->name != NULL && r->path != NULL)
		pthread_mutex_destroy(&r->lock);
	k8s_linesplit_fini(&r->ls);
	free(r->body);
	free(r->cont);
	free(r->name);
	free(r->path);
	free(r);
}

const char *k8s_reflector_name(const struct k8s_reflector *r)
{
	return r->name;
}

CURL *k8s_reflector_handle(const struct k8s_reflector *r)
{
	return r->easy;
}

bool k8s_reflector_synced(const struct k8s_reflector *r)
{
	return r->synced;
}

static void set_rv(struct k8s_reflector *r, const char *rv)
{
	if (rv[0] == '\0')
		return;
	pthread_mutex_lock(&r->lock);
	snprintf(r->last_rv, sizeof(r->last_rv), "%s", rv);
	pthread_mutex_unlock(&r->lock);
}

/* Record a failure, log it (de-duplicated) and schedule a retry. */
static void fail(struct k8s_reflector *r, uint64_t now_ms, const char *cause,
		 enum refl_state retry)
{
	uint64_t delay = k8s_backoff_next(&r->bo, now_ms);
	bool same;

	pthread_mutex_lock(&r->lock);
	same = strcmp(r->last_error, cause) == 0;
	snprintf(r->last_error, sizeof(r->last_error), "%s", cause);
	pthread_mutex_unlock(&r->lock);
	if (!same || now_ms - r->err_logged_ms >= ERR_LOG_EVERY_MS) {
		KDP_LOG(ERR, "k8s %s %s: %s; retrying in %.1f s",
			k8s_client_server(r->cl), r->name, cause,
			(double)delay / 1000.0);
		r->err_logged_ms = now_ms;
	} else {
		KDP_LOG(DEBUG, "k8s %s %s: %s; retrying in %.1f s",
			k8s_client_server(r->cl), r->name, cause,
			(double)delay / 1000.0);
	}
	r->state = retry;
	r->due_ms = now_ms + delay;
}

/* A problem that needs no retry: only reported. */
static void set_error(struct k8s_reflector *r, const char *cause)
{
	pthread_mutex_lock(&r->lock);
	snprintf(r->last_error, sizeof(r->last_error), "%s", cause);
	pthread_mutex_unlock(&r->lock);
}

static void clear_error(struct k8s_reflector *r)
{
	pthread_mutex_lock(&r->lock);
	r->last_error[0] = '\0';
	pthread_mutex_unlock(&r->lock);
}

static int body_append(struct k8s_reflector *r, const char *p, size_t n)
{
	if (r->body_len + n + 1 > MAX_BODY) {
		r->body_too_big = true;
		return -E2BIG;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 65536;
		char *nb;

		while (cap < r->body_len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (nb == NULL)
			return -ENOMEM;
		r->body = nb;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, p, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int on_line(void *arg, const char *line, size_t len)
{
	struct k8s_reflector *r = arg;
	struct k8s_event ev;

	r->watch_events++;
	if (k8s_event_apply(r->st, r->res, r->name, line, len, &ev) < 0) {
		/* Logged and skipped; the last good state stays in force. */
		set_error(r, "malformed watch event skipped");
		return 0;
	}
	if (ev.rejected) {
		char cause[256];

		snprintf(cause, sizeof(cause), "rejected %s (see log)", ev.obj);
		set_error(r, cause);
	}
	if (ev.type == K8S_EV_ERROR) {
		r->watch_status = ev.status;
		if (k8s_status_is_expired(&ev.status))
			r->watch_expired = true;
		else
			r->watch_failed = true;
		return 1; /* stop this watch */
	}
	set_rv(r, ev.rv);
	pthread_mutex_lock(&r->lock);
	r->events++;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct k8s_reflector *r = arg;
	size_t n = size * nmemb;
	long http = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	if (r->state == RS_WATCHING && http == 200) {
		int rc = k8s_linesplit_feed(&r->ls, p, n, on_line, r);

		if (rc < 0)
			KDP_LOG(ERR, "k8s %s: watch stream broken: %s",
				r->name, strerror(-rc));
		return rc == 0 ? n : 0;
	}
	return body_append(r, p, n) == 0 ? n : 0;
}

/*
 * The end of a response's headers: a watch answered 200 is established, so
 * whatever failed before is over (last_error tells the current trouble).
 */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct k8s_reflector *r = arg;
	size_t n = size * nmemb;
	long http = 0;

	if (r->state == RS_WATCHING && (n == 2 || n == 1) &&
	    (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
		if (http == 200)
			clear_error(r);
	}
	return n;
}

static CURL *start(struct k8s_reflector *r, const char *query, uint64_t now)
{
	char *pq = NULL;
	CURL *e;

	if (asprintf(&pq, "%s?%s", r->path, query) < 0)
		return NULL;
	e = k8s_client_request(r->cl, pq, r->errbuf, now);
	free(pq);
	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	r->body_len = 0;
	r->body_too_big = false;
	return e;
}

static CURL *start_list(struct k8s_reflector *r, uint64_t now)
{
	char *esc = NULL, q[1024];
	CURL *e;

	if (r->cont != NULL) {
		/* A continue token carries the snapshot RV: no RV here. */
		esc = curl_easy_escape(NULL, r->cont, 0);
		if (esc == NULL)
			return NULL;
		if ((size_t)snprintf(q, sizeof(q), "limit=%d&continue=%s",
				     LIST_LIMIT, esc) >= sizeof(q)) {
			char *big = NULL;

			if (asprintf(&big, "limit=%d&continue=%s", LIST_LIMIT,
				     esc) < 0) {
				curl_free(esc);
				return NULL;
			}
			e = start(r, big, now);
			free(big);
			curl_free(esc);
			return e;
		}
		curl_free(esc);
	} else if (r->list_rv == LRV_ANY) {
		snprintf(q, sizeof(q), "limit=%d&resourceVersion=0",
			 LIST_LIMIT);
	} else if (r->list_rv == LRV_LAST && r->last_rv[0] != '\0') {
		esc = curl_easy_escape(NULL, r->last_rv, 0);
		if (esc == NULL)
			return NULL;
		snprintf(q, sizeof(q),
			 "limit=%d&resourceVersion=%s"
			 "&resourceVersionMatch=NotOlderThan",
			 LIST_LIMIT, esc);
		curl_free(esc);
	} else if (r->list_rv == LRV_FULL) {
		q[0] = '\0';
	} else {
		snprintf(q, sizeof(q), "limit=%d", LIST_LIMIT);
	}
	return start(r, q, now);
}

static CURL *start_watch(struct k8s_reflector *r, uint64_t now)
{
	long secs = (long)k8s_backoff_rand(&r->bo, WATCH_MIN_S, WATCH_MAX_S);
	char q[512], *esc;
	CURL *e;

	esc = curl_easy_escape(NULL, r->last_rv, 0);
	if (esc == NULL)
		return NULL;
	snprintf(q, sizeof(q),
		 "watch=1&resourceVersion=%s&allowWatchBookmarks=true"
		 "&timeoutSeconds=%ld",
		 esc, secs);
	curl_free(esc);
	e = start(r, q, now);
	if (e == NULL)
		return NULL;
	/* Safety net should the server not end the watch itself. */
	curl_easy_setopt(e, CURLOPT_TIMEOUT, secs + 60);
	k8s_linesplit_reset(&r->ls);
	r->watch_start_ms = now;
	r->watch_events = 0;
	r->watch_expired = false;
	r->watch_failed = false;
	return e;
}

uint64_t k8s_reflector_tick(struct k8s_reflector *r, CURLM *multi,
			    uint64_t now_ms)
{
	bool list = r->state == RS_WAIT_LIST;
	CURL *e;

	if (r->easy != NULL)
		return UINT64_MAX;
	if (now_ms < r->due_ms)
		return r->due_ms;
	e = list ? start_list(r, now_ms) : start_watch(r, now_ms);
	if (e == NULL || curl_multi_add_handle(multi, e) != CURLM_OK) {
		if (e != NULL)
			curl_easy_cleanup(e);
		fail(r, now_ms, "cannot start a request (out of memory?)",
		     r->state);
		return r->due_ms;
	}
	r->easy = e;
	r->state = list ? RS_LISTING : RS_WATCHING;
	return UINT64_MAX;
}

static void list_done(struct k8s_reflector *r, CURLcode rc, long http,
		      uint64_t now)
{
	struct k8s_list_page page;
	struct k8s_status st = {0};
	char cause[512];

	if (rc == CURLE_OK && http == 200) {
		/* A first page (sent without a continue token) opens the
		 * resync, and opens it again after an attempt that failed
		 * half-way: what that attempt's pages marked seen may have
		 * been deleted since, and must not survive resync_end. */
		if (r->cont == NULL) {
			ctl_store_resync_begin(r->st, r->res);
			r->resync_open = true;
			r->list_bad = 0;
		}
		if (k8s_list_apply(r->st, r->res, r->name, r->body,
				   r->body_len, &page) < 0) {
			free(r->cont);
			r->cont = NULL;
			fail(r, now, "list response is not a List",
			     RS_WAIT_LIST);
			return;
		}
		free(r->cont);
		r->cont = page.cont;
		r->list_bad += page.n_bad;
		if (r->cont != NULL) {
			r->state = RS_WAIT_LIST;
			r->due_ms = now;
			return;
		}
		ctl_store_resync_end(r->st, r->res);
		r->resync_open = false;
		r->absent = false;
		set_rv(r, page.rv);
		pthread_mutex_lock(&r->lock);
		if (!r->synced)
			KDP_LOG(INFO, "k8s %s: synced at resourceVersion %s",
				r->name, page.rv);
		r->synced = true;
		pthread_mutex_unlock(&r->lock);
		clear_error(r);
		if (r->list_bad > 0) {
			char cause[96];

			snprintf(cause, sizeof(cause),
				 "list: %zu object(s) rejected (see log)",
				 r->list_bad);
			set_error(r, cause);
		}
		r->list_rv = LRV_LAST;
		r->state = RS_WAIT_WATCH;
		r->due_ms = now;
		return;
	}
	if (rc == CURLE_OK)
		k8s_status_parse(r->body, r->body_len, &st);
	if (rc == CURLE_OK && http == 404) {
		/* Not served (CRD absent): empty, synced, look again later. */
		if (!r->absent)
			KDP_LOG(WARNING,
				"k8s %s %s: not served (404, CRD absent?); "
				"treating as empty",
				k8s_client_server(r->cl), r->name);
		if (!r->resync_open)
			ctl_store_resync_begin(r->st, r->res);
		ctl_store_resync_end(r->st, r->res);
		r->resync_open = false;
		r->absent = true;
		free(r->cont);
		r->cont = NULL;
		pthread_mutex_lock(&r->lock);
		r->synced = true;
		snprintf(r->last_error, sizeof(r->last_error),
			 "not served (404)");
		pthread_mutex_unlock(&r->lock);
		r->state = RS_WAIT_LIST;
		r->due_ms = now + K8S_ABSENT_RETRY_MS;
		return;
	}
	if (rc == CURLE_OK && k8s_status_is_expired(&st)) {
		bool had_cont = r->cont != NULL;

		free(r->cont);
		r->cont = NULL;
		/*
		 * lastRV too old: a consistent read next. A continue token
		 * too old: the whole collection in one answer, as client-go's
		 * pager falls back to; new pages could expire the same way,
		 * over and over with no back-off (a server whose tokens
		 * outlive no list had kdp relisting in a busy loop).
		 */
		if (had_cont || r->list_rv != LRV_CONSISTENT) {
			KDP_LOG(INFO, "k8s %s: list %s expired (410); "
				"relisting with a consistent read%s", r->name,
				had_cont ? "continue token" : "resourceVersion",
				had_cont ? ", unpaged" : "");
			r->list_rv = had_cont ? LRV_FULL : LRV_CONSISTENT;
			r->state = RS_WAIT_LIST;
			r->due_ms = now;
			return;
		}
	}
	if (rc == CURLE_OK && http == 401)
		k8s_client_auth_failed(r->cl);
	if (r->body_too_big)
		snprintf(cause, sizeof(cause), "list response too large");
	else
		k8s_client_describe(rc, http, r->errbuf, &st, cause,
				    sizeof(cause));
	/* Restart the list from its first page. */
	free(r->cont);
	r->cont = NULL;
	fail(r, now, cause, RS_WAIT_LIST);
}

static void relist(struct k8s_reflector *r, uint64_t now)
{
	r->list_rv = LRV_LAST;
	r->state = RS_WAIT_LIST;
	r->due_ms = now;
}

static void watch_done(struct k8s_reflector *r, CURLcode rc, long http,
		       uint64_t now)
{
	struct k8s_status st = {0};
	char cause[512];

	pthread_mutex_lock(&r->lock);
	r->reconnects++;
	pthread_mutex_unlock(&r->lock);
	if (r->watch_expired) {
		KDP_LOG(INFO, "k8s %s: watch expired (%s); relisting from %s",
			r->name, r->watch_status.message, r->last_rv);
		relist(r, now);
		return;
	}
	if (r->watch_failed) {
		snprintf(cause, sizeof(cause), "watch ERROR event: %d %s: %s",
			 r->watch_status.code, r->watch_status.reason,
			 r->watch_status.message);
		fail(r, now, cause, RS_WAIT_WATCH);
		return;
	}
	if (rc == CURLE_OK && http == 200) {
		if (now - r->watch_start_ms < WATCH_MIN_LIFE_MS &&
		    r->watch_events == 0) {
			fail(r, now, "watch closed at once without events",
			     RS_WAIT_WATCH);
			return;
		}
		/* Normal end (timeoutSeconds): watch again from lastRV. */
		clear_error(r);
		r->state = RS_WAIT_WATCH;
		r->due_ms = now;
		return;
	}
	if (rc == CURLE_OK) {
		k8s_status_parse(r->body, r->body_len, &st);
		if (k8s_status_is_expired(&st)) {
			relist(r, now);
			return;
		}
		if (http == 401)
			k8s_client_auth_failed(r->cl);
	}
	k8s_client_describe(rc, http, r->errbuf, &st, cause, sizeof(cause));
	fail(r, now, cause, RS_WAIT_WATCH);
}

void k8s_reflector_done(struct k8s_reflector *r, CURLM *multi, CURL *e,
			CURLcode rc, uint64_t now_ms)
{
	long http = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
	curl_multi_remove_handle(multi, e);
	curl_easy_cleanup(e);
	r->easy = NULL;
	/* Our own abort (ERROR event) shows as a write error: not a failure. */
	if (rc == CURLE_WRITE_ERROR && (r->watch_expired || r->watch_failed))
		rc = CURLE_OK;
	if (r->state == RS_LISTING)
		list_done(r, rc, http, now_ms);
	else
		watch_done(r, rc, http, now_ms);
}

void k8s_reflector_status(struct k8s_reflector *r, struct rte_tel_data *d)
{
	char err[RTE_TEL_MAX_STRING_LEN];
	size_t n;

	pthread_mutex_lock(&r->lock);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "state",
				     r->synced ? "synced" : "syncing");
	rte_tel_data_add_dict_string(d, "phase", state_names[r->state]);
	rte_tel_data_add_dict_string(d, "last_rv", r->last_rv);
	rte_tel_data_add_dict_u64(d, "reconnects", r->reconnects);
	rte_tel_data_add_dict_u64(d, "events", r->events);
	/* The store is the control thread's: the caller holds its lock. */
	rte_tel_data_add_dict_u64(d, "objects", ctl_store_count(r->st, r->res));
	/* Telemetry strings are bounded: cut long causes. */
	n = strnlen(r->last_error, sizeof(err) - 1);
	memcpy(err, r->last_error, n);
	err[n] = '\0';
	rte_tel_data_add_dict_string(d, "last_error", err);
	pthread_mutex_unlock(&r->lock);
}
