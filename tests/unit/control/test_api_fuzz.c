/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pod-port API socket server (control/api.c) against bad clients, with
 * a stub handler (no EAL, no ports). Each round, up to 24 clients connect
 * at once (more than the listen backlog) and write what a client should,
 * or JSON text cut short, bytes changed, NUL bytes, brackets thousands
 * deep, random bytes; text after the object; nothing; requests of every
 * size around CTL_API_MAX_REQ and past it; or they close before the
 * answer, or go silent half-way. The server is then polled until each
 * client was served. It must:
 *  - answer each client that waits exactly one JSON object and a newline,
 *    then close: the handler's answer for one JSON object (whitespace
 *    around it allowed), else {"ok":false,"error":...} saying why;
 *  - call the handler for those requests only;
 *  - serve at most CTL_API_PER_POLL clients a poll, and spend at most
 *    CTL_API_READ_MS reading a request and as long writing its answer,
 *    however slowly the client writes or reads (clients that trickle a
 *    byte at a time, or read a large answer slowly, from a thread).
 * Under ASan/UBSan (the unit suite's second run) a leak or overflow on
 * these paths fails the run too. Fixed cases first: the bugs this test
 * found.
 *
 * API_SEED=N and API_ROUNDS=N replay or lengthen a run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "control/api.h"
#include "k8s/jsonkeys.h"
#include "tests/unit/ctl_check.h"
#include "tests/unit/fuzz.h"
#include "tests/unit/json_dups.h"

/* A large answer: more than a socket buffer holds. */
#define BIG_ANSWER (4u << 20)

static unsigned int calls;

/* Echoes "op"; "big" answers BIG_ANSWER bytes, "oom" nothing. */
static cJSON *stub(void *arg, const cJSON *req)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
	const char *s = cJSON_IsString(op) ? op->valuestring : "?";
	cJSON *o;

	calls++;
	if (strcmp(s, "oom") == 0)
		return NULL;
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddStringToObject(o, "echo", s);
	if (strcmp(s, "big") == 0) {
		char *pad = fuzz_long_str(BIG_ANSWER);

		cJSON_AddStringToObject(o, "pad", pad);
		free(pad);
	}
	return o;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static char sock_path[100];
static struct ctl_api *api;

/* Poll the server once; no poll may stall the control thread longer than
 * its clients' bounds (reading, then answering, each CTL_API_READ_MS) and
 * a margin for a loaded machine. @return the milliseconds it took. */
static double poll_once(void)
{
	double t = now_ms(), ms;

	ctl_api_poll(api);
	ms = now_ms() - t;
	if (ms > CTL_API_PER_POLL * 2 * CTL_API_READ_MS + 300) {
		fprintf(stderr, "one poll took %.0f ms\n", ms);
		check_failures++;
	}
	return ms;
}

/* A client socket connected without blocking; -1 when the backlog is
 * full (the server owes it nothing). */
static int connect_nb(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno != EAGAIN)
			abort();
		close(fd);
		return -1;
	}
	return fd;
}

/* Write what the socket takes now. @return the bytes written. */
static size_t write_nb(int fd, const char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	return off;
}

/* The answer, up to EOF (the server has closed), malloc'd; its length in
 * @p len. Waits a second at most. */
static char *read_answer(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	double until = now_ms() + 1000;

	while (buf && now_ms() < until) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (n + 1 == cap && (buf = realloc(buf, cap *= 2)) == NULL)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf == NULL)
		abort();
	buf[n] = '\0';
	*len = n;
	return buf;
}

enum want {
	W_NONE,     /* closed before its answer: nothing to check */
	W_HANDLED,  /* one JSON object: the handler's answer */
	W_OOM,      /* the handler had no answer */
	W_NOT_JSON, /* anything else */
	W_TIMEOUT,  /* silent half-way */
	W_TOO_LONG, /* over CTL_API_MAX_REQ */
	W_DUP_KEY,  /* one JSON object with a key given twice */
	W_NUL,      /* one JSON object with U+0000 in a key or string */
};

struct client {
	int fd;
	enum want want;
	char *op;   /* W_HANDLED: what the stub echoes */
	char *text; /* what it wrote, for a report */
	size_t len;
};

/* What the server must answer @p len bytes at @p s with: W_HANDLED for
 * one JSON object (blanks around it allowed, no NUL byte, no key twice,
 * no U+0000 in a key or string), else the refusal's kind. */
static enum want object_want(const char *s, size_t len)
{
	cJSON *j;
	enum want w = W_NOT_JSON;

	if (memchr(s, '\0', len))
		return W_NOT_JSON;
	j = k8s_json_parse(s, len, NULL);
	if (cJSON_IsObject(j))
		w = json_has_dup(j)		   ? W_DUP_KEY :
		    k8s_json_nul_key(j) != NULL ? W_NUL :
						   W_HANDLED;
	cJSON_Delete(j);
	return w;
}

/* What the server must hand to its handler. */
static bool one_object(const char *s, size_t len)
{
	return object_want(s, len) == W_HANDLED;
}

/* The "op" the stub echoes for request @p s (malloc'd). */
static char *op_of(const char *s)
{
	cJSON *j = cJSON_Parse(s);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "op");
	char *op = strdup(cJSON_IsString(v) ? v->valuestring : "?");

	cJSON_Delete(j);
	if (op == NULL)
		abort();
	return op;
}

static unsigned int reported, answered, handled_total;

static void report(const struct client *cl, const char *ans, size_t len)
{
	check_failures++;
	if (reported++ < 10)
		fprintf(stderr, "client (want %d) wrote %zu bytes: \"%.300s\"\n"
			"  answer (%zu bytes): \"%.300s\"\n", cl->want, cl->len,
			cl->text, len, ans);
}

/* The answer is one JSON object and a newline, as @p cl expects. */
static void check_answer(const struct client *cl)
{
	size_t len;
	char *ans = read_answer(cl->fd, &len);
	cJSON *j = len && ans[len - 1] == '\n' && strlen(ans) == len ?
		   cJSON_ParseWithOpts(ans, NULL, true) : NULL;
	const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));
	const char *echo = cJSON_GetStringValue(cJSON_GetObjectItem(j, "echo"));
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")), good;

	switch (cl->want) {
	case W_HANDLED:
		good = ok && echo && strcmp(echo, cl->op) == 0;
		break;
	case W_OOM:
		good = !ok && err && strcmp(err, "out of memory") == 0;
		break;
	case W_NOT_JSON:
		good = !ok && err && strstr(err, "not a JSON object");
		break;
	case W_TIMEOUT:
		good = !ok && err && strstr(err, "timed out");
		break;
	case W_TOO_LONG:
		good = !ok && err && strstr(err, "longer than");
		break;
	case W_DUP_KEY:
		good = !ok && err && strstr(err, "given twice");
		break;
	case W_NUL:
		good = !ok && err && strstr(err, "holds U+0000");
		break;
	default:
		good = true;
	}
	if (!good)
		report(cl, ans, len);
	answered += j != NULL;
	cJSON_Delete(j);
	free(ans);
}

/* Serve @p n clients: poll until each was accepted, then check each. */
static void serve_all(struct client *cl, unsigned int n, unsigned int handled)
{
	unsigned int polls = (n + CTL_API_PER_POLL - 1) / CTL_API_PER_POLL;

	calls = 0;
	/* one more: the server must find nothing left */
	for (unsigned int i = 0; i <= polls; i++)
		poll_once();
	for (unsigned int i = 0; i < n; i++) {
		if (cl[i].fd >= 0) {
			check_answer(&cl[i]);
			close(cl[i].fd);
		}
		free(cl[i].text);
		free(cl[i].op);
	}
	/* the handler saw the requests it should, once each */
	CHECK_EQ(calls, handled);
	handled_total += calls;
}

/* A request, or text around one, without newlines but maybe a last one
 * (a newline ends a request). */
static char *gen_text(size_t *len)
{
	char *t;

	if (asprintf(&t, "{\"op\":\"echo-%d\",\"pod\":\"ns/x\",\"n\":[1,2]}",
		     rand() % 1000) < 0)
		abort();
	switch (rand() % 6) {
	case 0: /* random bytes, NUL included */
		free(t);
		*len = (size_t)rand() % 300;
		t = malloc(*len + 1);
		for (size_t i = 0; i < *len; i++)
			t[i] = (char)(rand() % 256);
		t[*len] = '\0';
		break;
	case 1: /* as a client writes it */
		*len = strlen(t);
		break;
	case 2: { /* another value, or text after the object */
		static const char *const odd[] = {"[1,2]", "\"s\"", "null",
			"{}", "{\"op\":\"oom\"}", "{\"op\":1}",
			" {\"op\":\"sp\"} ",
			"{\"op\":\"a\"} {\"op\":\"b\"}", "{\"op\":\"a\"}x",
			"{\"op\":\"a\"}}", "{\"op\":\"a\"}\t\r ",
			"{\"op\":\"a\",\"op\":\"b\"}",
			"{\"op\":\"a\",\"x\":{\"k\":1,\"k\":2}}",
			"{\"op\":\"a\",\"x\":[{\"k\":1},{\"j\":1,\"j\":1}]}",
			"{\"op\":\"a\",\"x\":{\"k\":1},\"y\":{\"k\":2}}",
			"{\"op\":\"a\",\"pod\":\"ns/x\\u0000y\"}",
			"{\"op\":\"a\\u0000\"}", "{\"op\":\"a\",\"k\\u0000\":1}",
			"{\"op\":\"a\",\"n\":[\"\\u0000\"]}",
			"{\"op\":\"a\",\"p\":\"\\\\u0000\"}"};

		free(t);
		t = strdup(odd[rand() % (int)RTE_DIM(odd)]);
		*len = strlen(t);
		break;
	}
	default: /* edited */
		for (int e = 1 + rand() % 3; e > 0; e--)
			t = fuzz_text_edit(t);
		*len = strlen(t);
		break;
	}
	for (size_t i = 0; i < *len; i++)
		if (t[i] == '\n')
			t[i] = ' ';
	if (rand() % 4 == 0) { /* ended by a newline, not a shutdown */
		t = realloc(t, *len + 2);
		t[(*len)++] = '\n';
		t[*len] = '\0';
	}
	return t;
}

/* A request of @p len bytes: one object, blanks inside. */
static char *sized_request(size_t len)
{
	char *t = malloc(len + 1);
	const char *head = "{\"op\":\"sized\"";

	memcpy(t, head, strlen(head));
	memset(t + strlen(head), ' ', len - strlen(head) - 1);
	t[len - 1] = '}';
	t[len] = '\0';
	return t;
}

/* One client of a random kind (none when the backlog is full). @return
 * whether the handler gets its request. */
static bool gen_client(struct client *cl)
{
	size_t w;
	int kind = rand() % 300;
	bool eol;

	memset(cl, 0, sizeof(*cl));
	cl->fd = connect_nb();
	if (cl->fd < 0) /* the server owes it nothing */
		return false;
	if (kind < 6) { /* around and past the size limit */
		static const long d[] = {-1, 0, 1, 1000};

		cl->len = (size_t)(CTL_API_MAX_REQ + d[rand() % 4]);
		cl->text = sized_request(cl->len);
	} else if (kind < 7) { /* silent, or half a request: 200 ms */
		cl->text = strdup(rand() % 2 ? "" : "{\"op\":\"half\"");
		cl->len = strlen(cl->text);
		write_nb(cl->fd, cl->text, cl->len);
		cl->want = W_TIMEOUT;
		return false;
	} else {
		cl->text = gen_text(&cl->len);
	}
	w = write_nb(cl->fd, cl->text, cl->len);
	if (w != cl->len)
		abort(); /* a socket buffer holds more than a request */
	if (kind >= 7 && kind < 28) { /* gone before its answer */
		close(cl->fd);
		cl->fd = -1;
		cl->want = W_NONE;
		/* what it wrote is still read, and may be handled */
		return one_object(cl->text, cl->len);
	}
	eol = cl->len && cl->text[cl->len - 1] == '\n';
	if (!eol)
		shutdown(cl->fd, SHUT_WR);
	if (cl->len > CTL_API_MAX_REQ) {
		cl->want = W_TOO_LONG;
	} else if ((cl->want = object_want(cl->text, cl->len)) == W_HANDLED) {
		cl->op = op_of(cl->text);
		if (strcmp(cl->op, "oom") == 0)
			cl->want = W_OOM;
		return true;
	}
	return false;
}

/* ----------------------------------------------------- slow clients */

struct slow {
	int fd;
	size_t done;
};

/* Writes the start of a request, a byte every 20 ms for 3 s. */
static void *trickle(void *arg)
{
	struct slow *s = arg;
	const char *req = "{\"op\":\"slow\"";

	for (int i = 0; i < 150; i++) {
		const char *b = i < (int)strlen(req) ? req + i : " ";

		if (send(s->fd, b, 1, MSG_NOSIGNAL) != 1)
			break;
		s->done++;
		usleep(20000);
	}
	return NULL;
}

static volatile bool polled;

/* Never reads; after 2 s it shuts its socket, so that a server blocked
 * writing to it fails the test instead of hanging it. */
static void *no_read(void *arg)
{
	struct slow *s = arg;

	for (int i = 0; i < 200 && !polled; i++)
		usleep(10000);
	shutdown(s->fd, SHUT_RDWR);
	return NULL;
}

/* Reads 64 KiB every 50 ms, for 5 s at most. */
static void *slow_read(void *arg)
{
	static char buf[65536];
	struct slow *s = arg;

	for (int i = 0; i < 100; i++) {
		ssize_t r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r == 0)
			break;
		if (r > 0)
			s->done += (size_t)r;
		usleep(50000);
	}
	return NULL;
}

/* A client served by @p fn in a thread while the server polls once: the
 * poll must end within the bound, not when the client is done. */
static void slow_client(void *(*fn)(void *), const char *req,
			const char *what)
{
	struct slow s = {.fd = connect_nb()};
	pthread_t th;
	double ms;

	if (s.fd < 0)
		abort();
	if (req && write_nb(s.fd, req, strlen(req)) != strlen(req))
		abort();
	polled = false;
	if (pthread_create(&th, NULL, fn, &s) != 0)
		abort();
	usleep(10000);
	ms = poll_once();
	polled = true;
	if (ms > 3 * CTL_API_READ_MS) {
		fprintf(stderr, "%s: the poll took %.0f ms, not up to %d\n",
			what, ms, 3 * CTL_API_READ_MS);
		check_failures++;
	}
	shutdown(s.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(s.fd);
}

/* ------------------------------------------------------------ the cases */

/* The bugs this test found, cut down: each got the wrong answer. */
static const struct {
	const char *text;
	size_t len;
	enum want want;
} cases[] = {
	/* text after the object was ignored */
	{"{\"op\":\"a\"} {\"op\":\"b\"}", 0, W_NOT_JSON},
	{"{\"op\":\"a\"}x", 0, W_NOT_JSON},
	{"{\"op\":\"a\"}\n{\"op\":\"b\"}\n", 0, W_NOT_JSON},
	/* and so was what followed a NUL byte */
	{"{\"op\":\"a\"}\0x", 12, W_NOT_JSON},
	/* whitespace around the object is no text */
	{" {\"op\":\"a\"} \t\r\n", 0, W_HANDLED},
	/* a key given twice: cJSON read the first without a word */
	{"{\"op\":\"a\",\"pod\":\"x/p\",\"pod\":\"x/q\"}", 0, W_DUP_KEY},
	{"{\"op\":\"a\",\"ip\":{\"v\":1,\"v\":2}}", 0, W_DUP_KEY},
	/* U+0000 cut a string short: "ns/x\u0000y" was taken for "ns/x" */
	{"{\"op\":\"a\",\"pod\":\"ns/x\\u0000y\"}", 0, W_NUL},
	{"{\"op\":\"a\",\"ip\":{\"k\\u0000\":1}}", 0, W_NUL},
	/* an escaped backslash before "u0000" is no U+0000 */
	{"{\"op\":\"a\",\"pod\":\"\\\\u0000\"}", 0, W_HANDLED},
	/* the same key in two objects is no duplicate */
	{"{\"op\":\"a\",\"x\":{\"k\":1},\"y\":{\"k\":2}}", 0, W_HANDLED},
};

static void test_cases(void)
{
	struct client cl[RTE_DIM(cases) + 2];
	unsigned int handled = 0, n = 0;

	for (size_t i = 0; i < RTE_DIM(cases); i++, n++) {
		cl[n].len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		cl[n].text = malloc(cl[n].len + 1);
		memcpy(cl[n].text, cases[i].text, cl[n].len);
		cl[n].text[cl[n].len] = '\0';
		cl[n].fd = connect_nb();
		cl[n].want = cases[i].want;
		cl[n].op = strdup("a");
		handled += cases[i].want == W_HANDLED;
		write_nb(cl[n].fd, cl[n].text, cl[n].len);
		shutdown(cl[n].fd, SHUT_WR);
	}
	/* A request of CTL_API_MAX_REQ bytes is not "longer than" that:
	 * the buffer held one byte less. */
	for (size_t d = 0; d <= 1; d++, n++) {
		cl[n].len = CTL_API_MAX_REQ + d;
		cl[n].text = sized_request(cl[n].len);
		cl[n].fd = connect_nb();
		cl[n].want = d ? W_TOO_LONG : W_HANDLED;
		cl[n].op = strdup("sized");
		handled += !d;
		write_nb(cl[n].fd, cl[n].text, cl[n].len);
		shutdown(cl[n].fd, SHUT_WR);
	}
	serve_all(cl, n, handled);

	/* A client writing a byte every 20 ms held the control thread for
	 * as long as it kept writing: each wait was bounded, not the whole
	 * read. Nor may a client reading a large answer slowly. */
	slow_client(trickle, NULL, "a client writing slowly");
	slow_client(slow_read, "{\"op\":\"big\"}\n", "a client reading slowly");
	/* Worse, the answer's send() blocked until all of it was in the
	 * socket: an answer larger than the socket's buffer (a port_list of
	 * many ports) to a client that never read held it for good. */
	slow_client(no_read, "{\"op\":\"big\"}\n", "a client not reading");
}

int main(void)
{
	unsigned int seed = fuzz_env("API_SEED", 1);
	unsigned int rounds = fuzz_env("API_ROUNDS", 150);
	unsigned int clients = 0;
	char dir[] = "/tmp/kdp-api-fuzz-XXXXXX", err[256], cmd[64];

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sock_path, sizeof(sock_path), "%s/kdp.sock", dir);
	api = ctl_api_create(sock_path, stub, NULL, err, sizeof(err));
	if (api == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	test_cases();
	srand(seed);
	for (unsigned int r = 0; r < rounds; r++) {
		struct client cl[24];
		unsigned int n = 1 + (unsigned int)rand() % RTE_DIM(cl);
		unsigned int handled = 0;

		for (unsigned int i = 0; i < n; i++)
			handled += gen_client(&cl[i]);
		serve_all(cl, n, handled);
		clients += n;
	}
	printf("api fuzz: %u rounds, %u clients served, %u answered, %u "
	       "handled (seed %u)\n", rounds, clients, answered,
	       handled_total, seed);
	CHECK(handled_total > clients / 10 && answered > clients / 2);
	ctl_api_free(api);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	CHECK_DONE();
}
