/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Watch stream handling: the line splitter over every chunking of a stream,
 * the backoff bounds, and event/list decoding into store calls (recorded by
 * mock_store.c).
 */
#define _GNU_SOURCE
#include <errno.h>

#include "control/store.h"
#include "k8s/backoff.h"
#include "k8s/client.h"
#include "k8s/events.h"
#include "k8s/linesplit.h"
#include "mock_store.h"
#include "test.h"

/* ---- line splitter ---- */

struct lines {
	char got[16][128];
	int n;
};

static int collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;

	if (l->n < 16 && len < 128) {
		memcpy(l->got[l->n], line, len);
		l->got[l->n][len] = '\0';
	}
	l->n++;
	return 0;
}

static void test_linesplit(void)
{
	static const char stream[] = "{\"a\":1}\n\n{\"bb\":22}\r\n{\"c\":\"x\\ny\"}\n"
				     "partial";
	static const char *const want[] = {"{\"a\":1}", "{\"bb\":22}",
					   "{\"c\":\"x\\ny\"}"};
	size_t len = strlen(stream), i, j;

	/* Every split into three chunks gives the same lines. */
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			struct k8s_linesplit ls;
			struct lines l = {.n = 0};
			int k;

			k8s_linesplit_init(&ls, 1024);
			CHECK(k8s_linesplit_feed(&ls, stream, i, collect, &l) == 0);
			CHECK(k8s_linesplit_feed(&ls, stream + i, j - i, collect,
						 &l) == 0);
			CHECK(k8s_linesplit_feed(&ls, stream + j, len - j,
						 collect, &l) == 0);
			CHECK(l.n == 3);
			for (k = 0; k < 3 && k < l.n; k++)
				CHECK_STR(l.got[k], want[k]);
			CHECK(k8s_linesplit_pending(&ls) == strlen("partial"));
			k8s_linesplit_fini(&ls);
		}
	}
	/* Byte by byte. */
	{
		struct k8s_linesplit ls;
		struct lines l = {.n = 0};

		k8s_linesplit_init(&ls, 1024);
		for (i = 0; i < len; i++)
			CHECK(k8s_linesplit_feed(&ls, stream + i, 1, collect,
						 &l) == 0);
		CHECK(l.n == 3);
		k8s_linesplit_reset(&ls);
		CHECK(k8s_linesplit_pending(&ls) == 0);
		k8s_linesplit_fini(&ls);
	}
	/* An over-long line is refused, buffered or not. */
	{
		struct k8s_linesplit ls;
		struct lines l = {.n = 0};

		k8s_linesplit_init(&ls, 8);
		CHECK(k8s_linesplit_feed(&ls, "0123456789\n", 11, collect,
					 &l) == -E2BIG);
		k8s_linesplit_reset(&ls);
		CHECK(k8s_linesplit_feed(&ls, "01234", 5, collect, &l) == 0);
		CHECK(k8s_linesplit_feed(&ls, "56789", 5, collect, &l) ==
		      -E2BIG);
		CHECK(l.n == 0);
		k8s_linesplit_fini(&ls);
	}
}

/* ---- backoff ---- */

static uint64_t nominal(unsigned step)
{
	uint64_t d = K8S_BACKOFF_BASE_MS;

	while (step-- > 0 && d < K8S_BACKOFF_MAX_MS)
		d *= 2;
	return d > K8S_BACKOFF_MAX_MS ? K8S_BACKOFF_MAX_MS : d;
}

static void test_backoff(void)
{
	struct k8s_backoff b;
	uint64_t now = 1000, d, lo, hi, seed;
	unsigned step;
	bool varied = false;

	for (seed = 1; seed < 50; seed++) {
		uint64_t first = 0;

		k8s_backoff_init(&b, seed);
		now = 1000;
		for (step = 0; step < 12; step++) {
			d = k8s_backoff_next(&b, now);
			lo = nominal(step) * 4 / 5;
			hi = nominal(step) * 6 / 5;
			if (hi > K8S_BACKOFF_MAX_MS)
				hi = K8S_BACKOFF_MAX_MS;
			CHECK(d >= lo && d <= hi);
			CHECK(d <= K8S_BACKOFF_MAX_MS);
			if (step == 0)
				first = d;
			now += d; /* retried, failed again */
		}
		if (first != 800)
			varied = true;
		/* A failure 10 s later does not reset the growth… */
		d = k8s_backoff_next(&b, now + 10000);
		CHECK(d >= 24000 && d <= 30000);
		/* …2 minutes without a retry does. */
		now += 10000 + K8S_BACKOFF_RESET_MS;
		d = k8s_backoff_next(&b, now);
		CHECK(d >= 640 && d <= 960);
		d = k8s_backoff_next(&b, now + 1);
		CHECK(d >= 1280 && d <= 1920);
	}
	CHECK(varied); /* jitter actually spreads delays */
	for (seed = 0; seed < 1000; seed++) {
		d = k8s_backoff_rand(&b, 300, 600);
		CHECK(d >= 300 && d <= 600);
	}
}

/* ---- events ---- */

#define ST ((struct ctl_store *)0x1)

static int apply(enum ctl_res res, const char *line, struct k8s_event *ev)
{
	return k8s_event_apply(ST, res, "test", line, strlen(line), ev);
}

static void test_events(void)
{
	struct k8s_event ev;

	mock_store_reset();
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":"
		    "\"v1\",\"metadata\":{\"name\":\"p1\",\"namespace\":\"ns1\","
		    "\"resourceVersion\":\"10\"}}}",
		    &ev) == 0);
	CHECK(ev.type == K8S_EV_ADDED);
	CHECK_STR(ev.rv, "10");
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
		    "{\"name\":\"p1\",\"namespace\":\"ns1\",\"resourceVersion\":"
		    "\"11\"}}}",
		    &ev) == 0);
	CHECK(ev.type == K8S_EV_MODIFIED && strcmp(ev.rv, "11") == 0);
	CHECK(apply(CTL_RES_IPPOOL,
		    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"IPPool\",\"metadata\":"
		    "{\"name\":\"pool\",\"resourceVersion\":\"12\"}}}",
		    &ev) == 0);
	CHECK(ev.type == K8S_EV_DELETED);
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
		    "{\"resourceVersion\":\"13\"}}}",
		    &ev) == 0);
	CHECK(ev.type == K8S_EV_BOOKMARK && strcmp(ev.rv, "13") == 0);
	CHECK(mock_store_n == 3);
	if (mock_store_n == 3) {
		CHECK_STR(mock_store_log[0], "U pods ns1/p1 kind=Pod api=v1");
		CHECK_STR(mock_store_log[1], "U pods ns1/p1 kind=Pod api=");
		CHECK_STR(mock_store_log[2], "D ippools /pool");
	}

	/* ERROR events describe, they never touch the store. */
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":"
		    "\"Failure\",\"message\":\"too old resource version: 657887 "
		    "(680402)\",\"reason\":\"Expired\",\"code\":410}}",
		    &ev) == 0);
	CHECK(ev.type == K8S_EV_ERROR && ev.status.code == 410);
	CHECK_STR(ev.status.reason, "Expired");
	CHECK(k8s_status_is_expired(&ev.status));
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
		    "\"reason\":\"InternalError\",\"message\":\"boom\"}}",
		    &ev) == 0);
	CHECK(!k8s_status_is_expired(&ev.status));
	CHECK(mock_store_n == 3);

	/* Malformed lines are skipped, nothing applied. */
	CHECK(apply(CTL_RES_POD, "not json", &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD, "[1,2]", &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD, "{\"type\":\"ADDED\"}", &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD, "{\"object\":{\"metadata\":{\"name\":\"x\"}}}",
		    &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"WEIRD\",\"object\":{\"metadata\":{\"name\":\"x\"}}}",
		    &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD,
		    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"namespace\":"
		    "\"a\"}}}",
		    &ev) == -EINVAL);
	CHECK(apply(CTL_RES_POD, "{\"type\":\"ADDED\",\"object\":\"str\"}", &ev) ==
	      -EINVAL);
	CHECK(mock_store_n == 3);
	mock_store_reset();
}

static void test_list(void)
{
	static const char page1[] =
		"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
		"\"resourceVersion\":\"500\",\"continue\":\"tok/1\"},\"items\":["
		"{\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"}},"
		"{\"metadata\":{\"namespace\":\"n\"}},"
		"{\"metadata\":{\"name\":\"rejected\",\"namespace\":\"n\"}},"
		"{\"kind\":\"Pod\",\"apiVersion\":\"v9\",\"metadata\":{\"name\":"
		"\"b\",\"namespace\":\"n\"}}]}";
	static const char page2[] =
		"{\"kind\":\"IPPoolList\",\"apiVersion\":\"crd.projectcalico.org/v1\","
		"\"metadata\":{\"resourceVersion\":\"501\",\"continue\":\"\"},"
		"\"items\":null}";
	struct k8s_list_page p;
	struct k8s_status s;

	mock_store_reset();
	CHECK(k8s_list_apply(ST, CTL_RES_POD, "pods", page1, strlen(page1),
			     &p) == 0);
	CHECK_STR(p.cont, "tok/1");
	CHECK_STR(p.rv, "500");
	CHECK(p.n_items == 2 && p.n_bad == 2);
	free(p.cont);
	CHECK(mock_store_n == 3);
	if (mock_store_n == 3) {
		CHECK_STR(mock_store_log[0], "U pods n/a kind=Pod api=v1");
		CHECK_STR(mock_store_log[2], "U pods n/b kind=Pod api=v9");
	}
	CHECK(k8s_list_apply(ST, CTL_RES_IPPOOL, "ippools", page2,
			     strlen(page2), &p) == 0);
	CHECK(p.cont == NULL && p.n_items == 0);
	CHECK_STR(p.rv, "501");
	CHECK(k8s_list_apply(ST, CTL_RES_POD, "pods", "{\"kind\":\"Status\"}",
			     17, &p) == -EINVAL);
	CHECK(k8s_list_apply(ST, CTL_RES_POD, "pods", "garbage", 7, &p) ==
	      -EINVAL);
	CHECK(mock_store_n == 3);
	mock_store_reset();

	static const char too_large[] =
		"{\"kind\":\"Status\",\"code\":504,\"reason\":\"Timeout\","
		"\"message\":\"Too large resource version: 9, current: 5\"}";

	k8s_status_parse(too_large, strlen(too_large), &s);
	CHECK(s.code == 504 && k8s_status_is_expired(&s));
	k8s_status_parse("{\"code\":403,\"reason\":\"Forbidden\"}", 34, &s);
	CHECK(s.code == 403 && !k8s_status_is_expired(&s));
	k8s_status_parse("<html>", 6, &s);
	CHECK(s.code == 0 && s.reason[0] == '\0');
}

/* A whole watch stream, split at odd places, applied through the splitter. */
static int apply_line(void *arg, const char *line, size_t len)
{
	struct k8s_event ev;

	(void)arg;
	k8s_event_apply(ST, CTL_RES_NAMESPACE, "namespaces", line, len, &ev);
	return 0;
}

static void test_stream_to_store(void)
{
	static const char s[] =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n1\"}}}\n"
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n2\"}}}\n"
		"garbage line\n"
		"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"n1\"}}}\n";
	size_t len = strlen(s), step;

	for (step = 1; step < 40; step += 3) {
		struct k8s_linesplit ls;
		size_t off;

		mock_store_reset();
		k8s_linesplit_init(&ls, 4096);
		for (off = 0; off < len; off += step)
			k8s_linesplit_feed(&ls, s + off,
					   len - off < step ? len - off : step,
					   apply_line, NULL);
		k8s_linesplit_fini(&ls);
		CHECK(mock_store_n == 3);
		if (mock_store_n == 3) {
			CHECK_STR(mock_store_log[0],
				  "U namespaces /n1 kind= api=");
			CHECK_STR(mock_store_log[1],
				  "U namespaces /n2 kind= api=");
			CHECK_STR(mock_store_log[2], "D namespaces /n1");
		}
	}
	mock_store_reset();
}

/*
 * k8s_client_describe(): each failure names its likely cause. A refused
 * client certificate under TLS 1.3 can surface as the alert (receive), or
 * as a failed send or an empty answer when the server's reset came first:
 * all of them must point at the client certificate.
 */
static void test_describe(void)
{
	static const CURLcode tls[] = {CURLE_SSL_CONNECT_ERROR,
				       CURLE_RECV_ERROR, CURLE_SEND_ERROR,
				       CURLE_GOT_NOTHING};
	char out[256];

	for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
		k8s_client_describe(tls[i], 0, "detail", NULL, out,
				    sizeof(out));
		CHECK(strstr(out, "client certificate rejected?") != NULL);
		CHECK(strstr(out, "detail") != NULL);
	}
	k8s_client_describe(CURLE_PEER_FAILED_VERIFICATION, 0, "x", NULL, out,
			    sizeof(out));
	CHECK(strstr(out, "server certificate not trusted") != NULL);
	k8s_client_describe(CURLE_COULDNT_CONNECT, 0, "", NULL, out,
			    sizeof(out));
	CHECK(strstr(out, "cannot reach the server") != NULL);
	k8s_client_describe(CURLE_OK, 401, "", NULL, out, sizeof(out));
	CHECK(strstr(out, "unauthorized (401)") != NULL);
}

int main(void)
{
	test_describe();
	test_linesplit();
	test_backoff();
	test_events();
	test_list();
	test_stream_to_store();
	TEST_DONE("k8s stream");
}
