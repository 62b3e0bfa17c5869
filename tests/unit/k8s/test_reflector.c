/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reflector against a scripted HTTP server (one canned answer per
 * request, in order), its store calls recorded by mock_store.c: a
 * paginated LIST whose second page fails must start its resync over with
 * the next first page, or what the failed attempt marked seen survives
 * resync_end after being deleted; and after an expired continue token it
 * lists the whole collection at once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/store.h"
#include "k8s/client.h"
#include "k8s/reflector.h"
#include "mock_store.h"
#include "test.h"

struct reply {
	int code;
	const char *body;
};

#define MAX_REQ 8

struct server {
	int fd;
	unsigned int port;
	const struct reply *script;
	size_t n, next;
	char req[MAX_REQ][512]; /* request lines, as received */
	pthread_t th;
};

/* One request per connection: read the head, answer, close. */
static void *serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		char buf[4096], head[512];
		size_t len = 0;
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		while (len < sizeof(buf) - 1) {
			ssize_t k = read(c, buf + len, sizeof(buf) - 1 - len);

			if (k <= 0)
				break;
			len += (size_t)k;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		buf[len] = '\0';
		if (s->next < s->n && s->next < MAX_REQ) {
			const struct reply *r = &s->script[s->next];
			int hl;

			snprintf(s->req[s->next], sizeof(s->req[0]), "%.*s",
				 (int)strcspn(buf, "\r"), buf);
			s->next++;
			hl = snprintf(head, sizeof(head),
				      "HTTP/1.1 %d X\r\n"
				      "Content-Type: application/json\r\n"
				      "Content-Length: %zu\r\n"
				      "Connection: close\r\n\r\n",
				      r->code, strlen(r->body));
			if (write(c, head, (size_t)hl) != hl ||
			    write(c, r->body, strlen(r->body)) < 0)
				fprintf(stderr, "server: short write\n");
		}
		close(c);
	}
}

static void server_start(struct server *s, const struct reply *script,
			 size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->script = script;
	s->n = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->fd, 8) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &al) < 0) {
		perror("server");
		exit(1);
	}
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* Tick and complete transfers until @p n requests are done (5 s at most:
 * a failure's retry comes after 0.8 s of back-off, jittered). */
static void drive(struct k8s_reflector *r, CURLM *m, size_t n)
{
	uint64_t end = k8s_now_ms() + 5000;
	size_t done = 0;

	while (done < n && k8s_now_ms() < end) {
		CURLMsg *msg;
		int running, left;

		k8s_reflector_tick(r, m, k8s_now_ms());
		curl_multi_poll(m, NULL, 0, 20, NULL);
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			k8s_reflector_done(r, m, msg->easy_handle,
					   msg->data.result, k8s_now_ms());
			done++;
		}
	}
	CHECK(done == n);
}

#define SA(n)                                                                \
	"{\"kind\":\"ServiceAccount\",\"apiVersion\":\"v1\",\"metadata\":"   \
	"{\"name\":\"" n "\",\"namespace\":\"default\"}}"
#define PAGE(cont, rv, items)                                                \
	"{\"kind\":\"ServiceAccountList\",\"apiVersion\":\"v1\","            \
	"\"metadata\":{\"continue\":\"" cont "\",\"resourceVersion\":\"" rv  \
	"\"},\"items\":[" items "]}"
#define STATUS(code, reason)                                                 \
	"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"        \
	"\"status\":\"Failure\",\"message\":\"m\",\"reason\":\"" reason      \
	"\",\"code\":" #code "}"

/*
 * Page 1 of a LIST (a, b) arrives, page 2 fails with @p fail; a is deleted
 * before the list starts over, which then finds b alone. The store must
 * have been told to resync again before the new first page, so that
 * resync_end deletes a.
 */
static void test_page_fails(const struct reply *fail, const char *what,
			    bool unpaged)
{
	const struct reply script[] = {
		{200, PAGE("t1", "5", SA("a") "," SA("b"))},
		*fail,
		{200, PAGE("", "7", SA("b"))},
	};
	static const char *const want[] = {
		"B serviceaccounts",
		"U serviceaccounts default/a kind=ServiceAccount api=v1",
		"U serviceaccounts default/b kind=ServiceAccount api=v1",
		"B serviceaccounts",
		"U serviceaccounts default/b kind=ServiceAccount api=v1",
		"E serviceaccounts",
	};
	struct k8s_conn conn = {0};
	struct k8s_reflector *r;
	struct k8s_client *cl;
	struct server s;
	CURLM *m = curl_multi_init();
	int failures = test_failures;

	server_start(&s, script, 3);
	if (asprintf(&conn.server, "http://127.0.0.1:%u", s.port) < 0)
		exit(1);
	cl = k8s_client_create(&conn);
	r = k8s_reflector_create(cl, NULL, CTL_RES_SERVICEACCOUNT,
				 "serviceaccounts", "/api/v1/serviceaccounts",
				 1);
	mock_store_reset();
	drive(r, m, 3);
	CHECK(strstr(s.req[0], "limit=500&resourceVersion=0 ") != NULL);
	CHECK(strstr(s.req[1], "continue=t1") != NULL);
	CHECK(strstr(s.req[2], "continue") == NULL);
	CHECK((strstr(s.req[2], "limit=") == NULL) == unpaged);
	CHECK(k8s_reflector_synced(r));
	CHECK(mock_store_n == sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < mock_store_n && i < 6; i++)
		CHECK_STR(mock_store_log[i], want[i]);
	if (test_failures > failures)
		fprintf(stderr, "(page 2 answered %s)\n", what);
	k8s_reflector_free(r);
	k8s_client_free(cl);
	curl_multi_cleanup(m);
	server_stop(&s);
	mock_store_reset();
}

int main(void)
{
	static const struct reply expired = {410, STATUS(410, "Expired")};
	static const struct reply broken = {500, STATUS(500, "InternalError")};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* An expired continue token: relisted at once, a consistent read
	 * of the whole collection (pages could expire again, for ever). */
	test_page_fails(&expired, "410 Expired", true);
	/* Any other failure: the list starts over after a back-off. */
	test_page_fails(&broken, "500", false);
	curl_global_cleanup();
	TEST_DONE("k8s reflector");
}
