/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pod-port API socket server (control/api.c) with a stub handler, and
 * the API's configuration keys. No EAL, no ports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/api.h"
#include "control/config.h"
#include "control/netlink.h"

static int failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fprintf(stderr, "\n");                               \
			failures++;                                          \
		}                                                            \
	} while (0)

static int calls;

/* Echoes the op back, so the test sees which request was handled. */
static cJSON *stub(void *arg, const cJSON *req)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
	cJSON *o = cJSON_CreateObject();

	(void)arg;
	calls++;
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddStringToObject(o, "echo",
				cJSON_IsString(op) ? op->valuestring : "?");
	return o;
}

static int client(const char *path, const char *req, int shut)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	if (req && write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	return fd;
}

/* Read the answer; "" when none. Closes @p fd. */
static void reply(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (fd >= 0 && n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	if (fd >= 0)
		close(fd);
}

static void test_server(const char *dir)
{
	char path[256], sub[200], err[256], buf[4096];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/run/kdp", dir);
	snprintf(path, sizeof(path), "%.200s/kdp.sock", sub);
	struct ctl_api *a = ctl_api_create(path, stub, NULL, err, sizeof(err));
	CHECK(a != NULL, "create: %s", err);
	if (a == NULL)
		return;
	CHECK(stat(sub, &st) == 0 && (st.st_mode & 0777) == 0700,
	      "directory mode %o", st.st_mode & 0777);
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	      (st.st_mode & 0777) == 0600, "socket mode %o", st.st_mode & 0777);

	/* A second server on a live socket is refused, not hijacked. */
	struct ctl_api *b = ctl_api_create(path, stub, NULL, err, sizeof(err));
	CHECK(b == NULL && errno == EADDRINUSE, "second server: %s", err);
	ctl_api_free(b);

	int fd = client(path, "{\"op\":\"status\"}", 1);
	ctl_api_poll(a);
	reply(fd, buf, sizeof(buf));
	CHECK(strstr(buf, "\"echo\":\"status\"") != NULL, "shutdown: %s", buf);

	/* A trailing newline ends the request too (no shutdown). */
	fd = client(path, "{\"op\":\"port_list\"}\n", 0);
	ctl_api_poll(a);
	reply(fd, buf, sizeof(buf));
	CHECK(strstr(buf, "\"echo\":\"port_list\"") != NULL, "newline: %s", buf);

	calls = 0;
	fd = client(path, "not json", 1);
	ctl_api_poll(a);
	reply(fd, buf, sizeof(buf));
	CHECK(calls == 0 && strstr(buf, "\"ok\":false") &&
	      strstr(buf, "not a JSON object"), "garbage: %s", buf);

	fd = client(path, "[1,2]", 1);
	ctl_api_poll(a);
	reply(fd, buf, sizeof(buf));
	CHECK(calls == 0 && strstr(buf, "not a JSON object"), "array: %s", buf);

	/* A silent client costs one bounded wait, then an error. */
	fd = client(path, NULL, 0);
	ctl_api_poll(a);
	shutdown(fd, SHUT_WR);
	reply(fd, buf, sizeof(buf));
	CHECK(calls == 0 && strstr(buf, "timed out"), "silent: %s", buf);

	/* Bounded work per poll. */
	int fds[CTL_API_PER_POLL + 2];
	for (int i = 0; i < CTL_API_PER_POLL + 2; i++)
		fds[i] = client(path, "{\"op\":\"x\"}", 1);
	calls = 0;
	ctl_api_poll(a);
	CHECK(calls == CTL_API_PER_POLL, "one poll served %d", calls);
	ctl_api_poll(a);
	CHECK(calls == CTL_API_PER_POLL + 2, "two polls served %d", calls);
	for (int i = 0; i < CTL_API_PER_POLL + 2; i++)
		reply(fds[i], buf, sizeof(buf));

	ctl_api_free(a);
	CHECK(access(path, F_OK) != 0, "socket removed on free");

	/* A stale socket file (no server) is replaced. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0, "stale bind");
	close(s);
	a = ctl_api_create(path, stub, NULL, err, sizeof(err));
	CHECK(a != NULL, "over a stale socket: %s", err);
	ctl_api_free(a);
	ctl_api_free(NULL);
}

static const char *base =
	"{\"node\":\"n\",\"datastore\":{\"type\":\"file\",\"path\":\"/d\"},"
	"\"uplink\":{\"devargs\":\"net_null0\"}%s}";

static struct ctl_config *parse(const char *extra, char *err, size_t len)
{
	char json[1024];

	snprintf(json, sizeof(json), base, extra);
	return ctl_config_parse(json, err, len);
}

static void test_config(void)
{
	char err[256];
	struct ctl_config *c = parse("", err, sizeof(err));

	CHECK(c && strcmp(c->api_socket, "/run/kdp/kdp.sock") == 0 &&
	      strcmp(c->vhost_dir, "/run/kdp/vhost") == 0 &&
	      strcmp(c->state_dir, "/var/lib/kdp") == 0 &&
	      c->max_api_ports == 110 && c->tap_native, "defaults");
	ctl_config_free(c);
	c = parse(",\"api_socket\":\"\",\"max_api_ports\":4", err, sizeof(err));
	CHECK(c && c->api_socket[0] == '\0' && c->max_api_ports == 4,
	      "API off: %s", c ? "" : err);
	ctl_config_free(c);
	c = parse(",\"api_socket\":7", err, sizeof(err));
	CHECK(c == NULL && strstr(err, "api_socket"), "bad api_socket: %s", err);
	c = parse(",\"state_dir\":\"\"", err, sizeof(err));
	CHECK(c == NULL && strstr(err, "state_dir"), "empty state_dir: %s", err);
	c = parse(",\"max_api_ports\":-1", err, sizeof(err));
	CHECK(c == NULL && strstr(err, "max_api_ports"), "bad max: %s", err);
}

static void test_names(void)
{
	CHECK(ctl_link_name_ok("eth0"), "eth0");
	CHECK(ctl_link_name_ok("a23456789012345"), "15 characters");
	CHECK(!ctl_link_name_ok("a234567890123456"), "16 characters");
	CHECK(!ctl_link_name_ok(""), "empty");
	CHECK(!ctl_link_name_ok(NULL), "NULL");
	CHECK(!ctl_link_name_ok("a/b"), "slash");
	CHECK(!ctl_link_name_ok("a b"), "space");
	CHECK(!ctl_link_name_ok(".."), "dot-dot");
}

int main(void)
{
	char dir[] = "/tmp/kdp-test-api-XXXXXX";

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_server(dir);
	test_config();
	test_names();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
